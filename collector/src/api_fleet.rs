//! The fleet routes of the query API (see `api` for authentication and error bodies).
//!
//! Reader: `GET /api/v1/assets`, `GET /api/v1/assets/{id}` (asset id, or an agent's id, unique
//! id prefix or unique host name), `GET /api/v1/duplicates[?window=24h]`.
//! Admin: `POST /api/v1/assets/merge` `{"into": ID, "from": ID}`, `POST /api/v1/assets/{id}/split`
//! `{"agent": ID}`; each is written to the audit log in the transaction that makes it.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::api::{Caller, admin_error, error};
use crate::store::admin::Actor;
use crate::store::fleet::DEFAULT_CLAIM_WINDOW_MS;
use crate::store::{Store, now_ms};

/// `POST /api/v1/assets/merge`: moves every agent of `from` into `into`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeAssets {
    pub into: String,
    pub from: String,
}

/// `POST /api/v1/assets/{id}/split`: moves `agent` to a new asset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitAsset {
    pub agent: String,
}

/// Routes any valid token may call.
pub fn reader_routes() -> axum::Router<Arc<dyn Store>> {
    axum::Router::new()
        .route("/api/v1/assets", get(list_assets))
        .route("/api/v1/assets/{id}", get(get_asset))
        .route("/api/v1/duplicates", get(duplicates))
}

/// Routes that need an admin token.
pub fn admin_routes() -> axum::Router<Arc<dyn Store>> {
    axum::Router::new()
        .route("/api/v1/assets/merge", post(merge_assets))
        .route("/api/v1/assets/{id}/split", post(split_asset))
}

pub(crate) fn bad_request(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, message, Vec::new())
}

fn actor(c: &Caller) -> Actor {
    Actor { name: c.name.clone(), source: c.source.clone() }
}

/// The JSON request body, or the message of a 400 answer.
pub(crate) fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("request body: {e}"))
}

fn required(what: &str, text: &str) -> Result<(), String> {
    if text.trim().is_empty() { Err(format!("{what} must not be empty")) } else { Ok(()) }
}

async fn list_assets(State(store): State<Arc<dyn Store>>) -> Response {
    match store.assets().await {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => admin_error(e),
    }
}

async fn get_asset(State(store): State<Arc<dyn Store>>, Path(id): Path<String>) -> Response {
    match store.asset(&id).await {
        Ok(a) => Json(a).into_response(),
        Err(e) => admin_error(e),
    }
}

/// `window`: how long after its last report an agent still counts as reporting (humantime,
/// default 24h).
async fn duplicates(
    State(store): State<Arc<dyn Store>>,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let window = match params.get("window").filter(|w| !w.is_empty()) {
        None => DEFAULT_CLAIM_WINDOW_MS,
        Some(text) => match humantime::parse_duration(text) {
            Ok(d) if !d.is_zero() => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            _ => return bad_request(format!("window {text:?} is not a duration (like 24h or 7d)")),
        },
    };
    match store.duplicates(now_ms(), window).await {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => admin_error(e),
    }
}

async fn merge_assets(
    State(store): State<Arc<dyn Store>>,
    Extension(caller): Extension<Caller>,
    bytes: Bytes,
) -> Response {
    let req: MergeAssets = match body(&bytes) {
        Ok(r) => r,
        Err(m) => return bad_request(m),
    };
    if let Err(m) = required("into", &req.into).and_then(|_| required("from", &req.from)) {
        return bad_request(m);
    }
    match store.merge_assets(&req.into, &req.from, &actor(&caller)).await {
        Ok(a) => {
            info!(actor = caller.name, source = caller.source, into = a.asset_id, from = req.from, "assets merged");
            Json(a).into_response()
        }
        Err(e) => admin_error(e),
    }
}

async fn split_asset(
    State(store): State<Arc<dyn Store>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let req: SplitAsset = match body(&bytes) {
        Ok(r) => r,
        Err(m) => return bad_request(m),
    };
    if let Err(m) = required("agent", &req.agent) {
        return bad_request(m);
    }
    match store.split_asset(&id, &req.agent, &actor(&caller)).await {
        Ok(a) => {
            info!(actor = caller.name, source = caller.source, asset = id, new_asset = a.asset_id, "asset split");
            (StatusCode::CREATED, Json(a)).into_response()
        }
        Err(e) => admin_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use crate::store::admin::{NewToken, Role, sha256};
    use crate::store::sqlite::SqliteStore;

    async fn call(
        router: &axum::Router,
        method: &str,
        uri: &str,
        token: &str,
        body: &str,
    ) -> (StatusCode, serde_json::Value) {
        let req = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(body.to_string()))
            .unwrap();
        let resp = router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
    }

    #[tokio::test]
    async fn fleet_routes_need_the_right_role_and_refuse_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("census.db")).unwrap());
        for (name, role) in [("root", Role::Admin), ("viewer", Role::Reader)] {
            let new = NewToken { name: name.into(), role, token_sha256: sha256(name), expires_at: None };
            store.create_token(new, &Actor::collector()).await.unwrap();
        }
        let router = crate::api::router(store.clone(), Arc::new(crate::metrics::Metrics::new()));
        for uri in ["/api/v1/assets", "/api/v1/duplicates"] {
            let (s, body) = call(&router, "GET", uri, "viewer", "").await;
            assert_eq!((s, body), (StatusCode::OK, serde_json::json!([])), "{uri}");
        }
        let (s, body) = call(&router, "GET", "/api/v1/assets/nope", "viewer", "").await;
        assert_eq!((s, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("no asset or agent matches \"nope\"")));
        let (s, body) = call(&router, "GET", "/api/v1/duplicates?window=soon", "viewer", "").await;
        assert_eq!(
            (s, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("window \"soon\" is not a duration (like 24h or 7d)"))
        );
        let merge = r#"{"into":"a","from":"b"}"#;
        let (s, _) = call(&router, "POST", "/api/v1/assets/merge", "viewer", merge).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = call(&router, "POST", "/api/v1/assets/x/split", "viewer", r#"{"agent":"a"}"#).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, body) = call(&router, "POST", "/api/v1/assets/merge", "root", merge).await;
        assert_eq!((s, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("no asset or agent matches \"a\"")));
        let (s, body) = call(&router, "POST", "/api/v1/assets/merge", "root", r#"{"into":"a"}"#).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(body["error"].as_str().unwrap().starts_with("request body: missing field `from`"), "{body}");
        let (s, body) = call(&router, "POST", "/api/v1/assets/x/split", "root", r#"{"agent":""}"#).await;
        assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("agent must not be empty")));
        // Nothing refused reached the audit log.
        let audit = store.list_audit(0, 100).await.unwrap();
        assert!(audit.iter().all(|a| !a.action.starts_with("asset.")));
    }
}
