//! Lifecycle, ownership, tags and the fleet SLIs over the API.
//!
//! - reader: `GET /api/v1/fleet` (the SLIs)
//! - admin: `POST /api/v1/assets/{id}/retire` `{"reason"}`, `POST /api/v1/assets/{id}/owner`
//!   `{"owner"?, "team"?, "cost_centre"?, "environment"?}`, `POST /api/v1/assets/{id}/tags`
//!   `{"set": {"key": "value"}, "remove": ["key"]}`

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::api::{Caller, admin_error, storage_error};
use crate::api_fleet::{bad_request, body};
use crate::config::FleetConfig;
use crate::store::lifecycle::OwnershipUpdate;
use crate::store::{Store, now_ms};

pub fn reader_routes() -> axum::Router<Arc<dyn Store>> {
    axum::Router::new().route("/api/v1/fleet", get(fleet))
}

pub fn admin_routes() -> axum::Router<Arc<dyn Store>> {
    axum::Router::new()
        .route("/api/v1/assets/{id}/retire", post(retire))
        .route("/api/v1/assets/{id}/owner", post(owner))
        .route("/api/v1/assets/{id}/tags", post(tags))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetireRequest {
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TagsRequest {
    pub set: BTreeMap<String, String>,
    pub remove: Vec<String>,
}

/// The answer to an admin change: the asset it changed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Changed {
    pub asset_id: String,
}

async fn fleet(State(store): State<Arc<dyn Store>>, cfg: Option<Extension<FleetConfig>>) -> Response {
    let cfg = cfg.map(|Extension(c)| c).unwrap_or_default();
    let stale_after = i64::try_from(cfg.stale_after.as_millis()).unwrap_or(i64::MAX);
    match store.fleet_slis(now_ms(), stale_after, &cfg.required_tags).await {
        Ok(slis) => Json(slis).into_response(),
        Err(e) => storage_error(e),
    }
}

fn changed(result: Result<String, crate::store::admin::AdminError>) -> Response {
    match result {
        Ok(asset_id) => Json(Changed { asset_id }).into_response(),
        Err(e) => admin_error(e),
    }
}

async fn retire(
    State(store): State<Arc<dyn Store>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let req: RetireRequest = match body(&bytes) {
        Ok(r) => r,
        Err(m) => return bad_request(m),
    };
    changed(store.retire(&id, &req.reason, &caller.actor()).await)
}

async fn owner(
    State(store): State<Arc<dyn Store>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let req: OwnershipUpdate = match body(&bytes) {
        Ok(r) => r,
        Err(m) => return bad_request(m),
    };
    changed(store.set_ownership(&id, req, &caller.actor()).await)
}

async fn tags(
    State(store): State<Arc<dyn Store>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let req: TagsRequest = match body(&bytes) {
        Ok(r) => r,
        Err(m) => return bad_request(m),
    };
    changed(store.set_tags(&id, req.set.into_iter().collect(), req.remove, &caller.actor()).await)
}
