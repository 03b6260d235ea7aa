//! The query API (HTTP/JSON under `/api/v1`, Bearer admin token) and its response types, which
//! the `census` CLI decodes.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use census_inventory::Inventory;
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::datadir::secret_matches;
use crate::store::{HostDetail, HostLookup, HostSummary, Millis, SoftwareRow, Store};
use census_inventory::version::{Constraint, Scheme};

/// One row of `GET /api/v1/hosts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRow {
    pub id: String,
    pub hostname: String,
    pub os: String,
    pub kernel: String,
    pub arch: String,
    /// RFC 3339, UTC.
    pub last_seen: String,
    pub package_count: u64,
    pub agent_version: String,
}

/// `GET /api/v1/hosts/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostView {
    #[serde(flatten)]
    pub host: HostRow,
    pub machine_id: String,
    pub enrolled_at: String,
    pub sequence: u64,
    pub collected_at: String,
    pub inventory: Inventory,
}

/// Every error body: `{"error": "...", "matches": [...]}` (matches only when ambiguous).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<String>,
}

pub fn rfc3339(ms: Millis) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

impl From<HostSummary> for HostRow {
    fn from(s: HostSummary) -> Self {
        HostRow {
            id: s.id,
            hostname: s.hostname,
            os: s.os,
            kernel: s.kernel,
            arch: s.arch,
            last_seen: rfc3339(s.last_seen),
            package_count: s.package_count,
            agent_version: s.agent_version,
        }
    }
}

impl From<HostDetail> for HostView {
    fn from(d: HostDetail) -> Self {
        HostView {
            host: d.summary.into(),
            machine_id: d.machine_id,
            enrolled_at: rfc3339(d.enrolled_at),
            sequence: d.sequence,
            collected_at: rfc3339(d.collected_at),
            inventory: d.inventory,
        }
    }
}

fn error(status: StatusCode, message: impl Into<String>, matches: Vec<String>) -> Response {
    (status, Json(ApiError { error: message.into(), matches })).into_response()
}

fn storage_error(e: crate::store::StoreError) -> Response {
    warn!(error = %e, "query failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "storage error", Vec::new())
}

async fn list_hosts(State(store): State<Arc<dyn Store>>) -> Response {
    match store.hosts().await {
        Ok(hosts) => Json(hosts.into_iter().map(HostRow::from).collect::<Vec<_>>()).into_response(),
        Err(e) => storage_error(e),
    }
}

async fn get_host(State(store): State<Arc<dyn Store>>, Path(id): Path<String>) -> Response {
    match store.host(&id).await {
        Ok(HostLookup::Found(d)) => Json(HostView::from(*d)).into_response(),
        Ok(HostLookup::NotFound) => error(StatusCode::NOT_FOUND, format!("no host matches {id:?}"), Vec::new()),
        Ok(HostLookup::Ambiguous(ids)) => {
            error(StatusCode::CONFLICT, format!("{id:?} matches {} hosts", ids.len()), ids)
        }
        Err(e) => storage_error(e),
    }
}

/// `GET /api/v1/software?name=N[&version=CONSTRAINT][&source=S]`: the hosts that have package
/// `N`, optionally only versions satisfying the constraint under each package's own ordering
/// rules (dpkg, rpm, semver-ish).
async fn software(
    State(store): State<Arc<dyn Store>>,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let Some(name) = params.get("name").filter(|n| !n.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "missing query parameter name", Vec::new());
    };
    let constraint = match params.get("version").filter(|v| !v.is_empty()).map(|v| Constraint::parse(v)) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => return error(StatusCode::BAD_REQUEST, e.to_string(), Vec::new()),
    };
    let source = params.get("source").filter(|s| !s.is_empty()).map(String::as_str);
    match store.software(name, source).await {
        Ok(rows) => {
            let rows: Vec<SoftwareRow> = rows
                .into_iter()
                .filter(|r| constraint.as_ref().is_none_or(|c| c.matches(Scheme::for_source(&r.source), &r.version)))
                .collect();
            Json(rows).into_response()
        }
        Err(e) => storage_error(e),
    }
}

/// `GET /api/v1/neighbors`: every device the agents heard, by MAC, with who heard it.
async fn neighbors(State(store): State<Arc<dyn Store>>) -> Response {
    match store.neighbors().await {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => storage_error(e),
    }
}

async fn require_token(State(token): State<Arc<String>>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(t) if secret_matches(&token, t) => next.run(request).await,
        Some(_) => error(StatusCode::UNAUTHORIZED, "admin token is not valid", Vec::new()),
        None => error(StatusCode::UNAUTHORIZED, "missing Authorization: Bearer <admin token>", Vec::new()),
    }
}

pub fn router(store: Arc<dyn Store>, admin_token: String) -> axum::Router {
    let api = axum::Router::new()
        .route("/api/v1/hosts", get(list_hosts))
        .route("/api/v1/hosts/{id}", get(get_host))
        .route("/api/v1/software", get(software))
        .route("/api/v1/neighbors", get(neighbors))
        .with_state(store)
        .layer(middleware::from_fn_with_state(Arc::new(admin_token), require_token));
    axum::Router::new().route("/healthz", get(|| async { "ok\n" })).merge(api)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn call(uri: &str, token: Option<&str>) -> (StatusCode, serde_json::Value) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(crate::store::sqlite::SqliteStore::open(&dir.path().join("db")).unwrap());
        let mut req = http::Request::get(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let resp = router(store, "secret".into()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
    }

    #[tokio::test]
    async fn software_query_errors_are_json_with_status() {
        let (s, body) = call("/api/v1/software?name=openssl", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "missing Authorization: Bearer <admin token>");
        let (s, body) = call("/api/v1/software", Some("secret")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "missing query parameter name");
        let (s, body) = call("/api/v1/software?name=openssl&version=%3C", Some("secret")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "version constraint \"<\": no version after the operator in \"<\"");
        let (s, body) = call("/api/v1/software?name=openssl&version=%3C3.0.7", Some("secret")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body, serde_json::json!([]));
    }
}
