//! The history routes of the query API (see `api` for authentication and error bodies).
//!
//! - `GET /api/v1/hosts/{id}/history?since=&kind=&limit=`: one host's events (by id, unique id
//!   prefix or unique host name); `since` absent: all of them.
//! - `GET /api/v1/changes?since=24h&kind=software&limit=`: every host's events; `since`
//!   defaults to 24h.
//!
//! `since` is a duration back from now (`24h`, `7d`) or an RFC 3339 time; `kind` one kind or
//! several separated by commas; `limit` 1 to 10000 (default 1000), keeping the newest. Events
//! come oldest first.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use census_inventory::changes::Kind;
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::api::{error, parse_since, rfc3339};
use crate::api_fleet::bad_request;
use crate::store::history::{Event, EventFilter, HostHistory};
use crate::store::{Store, now_ms};

/// The default and largest `limit`.
pub const DEFAULT_LIMIT: u32 = 1000;
pub const MAX_LIMIT: u32 = 10_000;
/// `GET /api/v1/changes` without `since`.
pub const DEFAULT_CHANGES_SINCE: &str = "24h";

/// One event, as both history routes answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    pub id: i64,
    /// When the collector received the report that made the change (RFC 3339, UTC).
    pub at: String,
    pub host_id: String,
    pub hostname: String,
    /// software, interface, address, hardware, os, security, agent, lifecycle.
    pub kind: String,
    /// installed, removed, upgraded, downgraded, changed, added, appeared, disappeared, linked,
    /// unlinked, first-inventory.
    pub action: String,
    pub subject: String,
    pub old: String,
    pub new: String,
    /// The source report's sequence; absent when the event did not come from a report.
    pub sequence: Option<u64>,
    /// When the agent collected that report.
    pub collected_at: Option<String>,
}

impl From<Event> for EventRow {
    fn from(e: Event) -> Self {
        EventRow {
            id: e.id,
            at: rfc3339(e.at),
            host_id: e.agent_id,
            hostname: e.hostname,
            kind: e.kind,
            action: e.action,
            subject: e.subject,
            old: e.old,
            new: e.new,
            sequence: e.sequence,
            collected_at: e.collected_at.map(rfc3339),
        }
    }
}

/// `kind`: one kind or several, comma-separated.
fn parse_kinds(text: &str) -> Result<Vec<Kind>, String> {
    let mut kinds = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match Kind::parse(part) {
            Some(k) if !kinds.contains(&k) => kinds.push(k),
            Some(_) => {}
            None => return Err(format!("kind {part:?} is not one of: {}", Kind::names())),
        }
    }
    Ok(kinds)
}

/// The filter of a history request; the error is the message for a 400 answer.
fn parse_filter(params: &HashMap<String, String>, default_since: Option<&str>) -> Result<EventFilter, String> {
    let now = now_ms();
    let since = match params.get("since").map(String::as_str).filter(|s| !s.is_empty()).or(default_since) {
        Some(text) => parse_since(text, now)?,
        None => 0,
    };
    let kinds = parse_kinds(params.get("kind").map(String::as_str).unwrap_or(""))?;
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(format!("limit {text:?} is not a whole number from 1 to {MAX_LIMIT}")),
        },
    };
    Ok(EventFilter { since, kinds, limit })
}

fn storage_error(e: crate::store::StoreError) -> Response {
    warn!(error = %e, "history query failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "storage error", Vec::new())
}

async fn host_history(
    State(store): State<Arc<dyn Store>>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let filter = match parse_filter(&params, None) {
        Ok(f) => f,
        Err(m) => return bad_request(m),
    };
    match store.host_history(&id, filter).await {
        Ok(HostHistory::Found { events, .. }) => {
            Json(events.into_iter().map(EventRow::from).collect::<Vec<_>>()).into_response()
        }
        Ok(HostHistory::NotFound) => error(StatusCode::NOT_FOUND, format!("no host matches {id:?}"), Vec::new()),
        Ok(HostHistory::Ambiguous(ids)) => {
            error(StatusCode::CONFLICT, format!("{id:?} matches {} hosts", ids.len()), ids)
        }
        Err(e) => storage_error(e),
    }
}

async fn changes(State(store): State<Arc<dyn Store>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let filter = match parse_filter(&params, Some(DEFAULT_CHANGES_SINCE)) {
        Ok(f) => f,
        Err(m) => return bad_request(m),
    };
    match store.changes(filter).await {
        Ok(events) => Json(events.into_iter().map(EventRow::from).collect::<Vec<_>>()).into_response(),
        Err(e) => storage_error(e),
    }
}

/// Routes any valid token may call.
pub fn reader_routes() -> axum::Router<Arc<dyn Store>> {
    axum::Router::new().route("/api/v1/hosts/{id}/history", get(host_history)).route("/api/v1/changes", get(changes))
}

/// Routes that need an admin token.
pub fn admin_routes() -> axum::Router<Arc<dyn Store>> {
    axum::Router::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ReportBody, VerifiedReport};
    use axum::body::Body;
    use census_inventory::{Inventory, Package};
    use tower::ServiceExt;

    const AGENT: &str = "0123456789abcdef";

    /// The shared test router, read with the reader token.
    struct Api(crate::api::test_api::Api);

    impl Api {
        async fn new() -> Self {
            Api(crate::api::test_api::Api::new().await)
        }

        async fn get(&self, uri: &str) -> (StatusCode, serde_json::Value) {
            self.0.get(uri, Some(crate::api::test_api::READER)).await
        }

        /// Applies report `sequence` with the given dpkg packages, received now.
        async fn report(&self, sequence: u64, packages: &[(&str, &str)]) {
            let mut inv = Inventory::default();
            inv.os.hostname = "web-01".into();
            inv.software = packages
                .iter()
                .map(|(n, v)| Package {
                    name: n.to_string(),
                    version: v.to_string(),
                    arch: "amd64".into(),
                    source: "dpkg".into(),
                    ..Default::default()
                })
                .collect();
            let now = now_ms();
            let report = VerifiedReport {
                agent_id: AGENT.into(),
                sequence,
                digest: vec![sequence as u8],
                bytes: 1,
                agent_version: "0.1.0".into(),
                collected_at: now - 1000,
                received_at: now,
                body: ReportBody::Full(inv),
            };
            self.0.store.apply(report).await.unwrap();
        }
    }

    fn actions(body: &serde_json::Value) -> Vec<(String, String)> {
        body.as_array()
            .unwrap_or_else(|| panic!("not a list: {body}"))
            .iter()
            .map(|e| (e["kind"].as_str().unwrap().to_string(), e["action"].as_str().unwrap().to_string()))
            .collect()
    }

    #[tokio::test]
    async fn history_and_changes_list_events_with_filters() {
        let api = Api::new().await;
        crate::store::suite::enroll_one(api.0.store.as_ref(), AGENT).await;
        api.report(1, &[("bash", "5.2")]).await;
        api.report(2, &[("bash", "5.2"), ("jq", "1.6")]).await;
        api.report(3, &[("bash", "5.3"), ("jq", "1.6")]).await;

        let (s, body) = api.get("/api/v1/hosts/web-01/history").await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let pair = |k: &str, a: &str| (k.to_string(), a.to_string());
        assert_eq!(
            actions(&body),
            [pair("agent", "first-inventory"), pair("software", "installed"), pair("software", "upgraded")]
        );
        let upgraded = &body[2];
        assert_eq!(upgraded["subject"], "bash:amd64 (dpkg)");
        assert_eq!((upgraded["old"].as_str(), upgraded["new"].as_str()), (Some("5.2"), Some("5.3")));
        assert_eq!(upgraded["sequence"], 3);
        assert_eq!((upgraded["host_id"].as_str(), upgraded["hostname"].as_str()), (Some(AGENT), Some("web-01")));
        assert!(upgraded["at"].as_str().unwrap().ends_with('Z'), "{upgraded}");
        assert!(upgraded["collected_at"].as_str().unwrap().ends_with('Z'), "{upgraded}");

        let (s, body) = api.get("/api/v1/changes?since=1h&kind=software").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(actions(&body), [pair("software", "installed"), pair("software", "upgraded")]);
        let (_, body) = api.get("/api/v1/changes?kind=software,agent&limit=2").await;
        assert_eq!(actions(&body), [pair("software", "installed"), pair("software", "upgraded")]);
        let (_, body) = api.get("/api/v1/changes?kind=interface").await;
        assert_eq!(body, serde_json::json!([]));
        // The future holds nothing; an old RFC 3339 time holds everything.
        let (_, body) = api.get("/api/v1/changes?since=2999-01-01T00:00:00Z").await;
        assert_eq!(body, serde_json::json!([]));
        let (_, body) = api.get("/api/v1/hosts/0123/history?since=2001-01-01T00:00:00Z&kind=agent").await;
        assert_eq!(actions(&body), [pair("agent", "first-inventory")]);
    }

    #[tokio::test]
    async fn bad_history_requests_get_clear_messages() {
        let api = Api::new().await;
        crate::store::suite::enroll_one(api.0.store.as_ref(), AGENT).await;
        let kinds = "software, interface, address, hardware, os, security, agent, lifecycle";
        let cases = [
            (
                "/api/v1/changes?since=yesterday",
                StatusCode::BAD_REQUEST,
                "since \"yesterday\": not a duration (like 24h or 7d) or an RFC 3339 time".to_string(),
            ),
            (
                "/api/v1/changes?kind=packages",
                StatusCode::BAD_REQUEST,
                format!("kind \"packages\" is not one of: {kinds}"),
            ),
            (
                "/api/v1/hosts/web-01/history?kind=software,nics",
                StatusCode::BAD_REQUEST,
                format!("kind \"nics\" is not one of: {kinds}"),
            ),
            (
                "/api/v1/changes?limit=0",
                StatusCode::BAD_REQUEST,
                "limit \"0\" is not a whole number from 1 to 10000".to_string(),
            ),
            ("/api/v1/hosts/nope/history", StatusCode::NOT_FOUND, "no host matches \"nope\"".to_string()),
        ];
        for (uri, status, message) in cases {
            let (s, body) = api.get(uri).await;
            assert_eq!((s, body["error"].as_str()), (status, Some(message.as_str())), "{uri}");
        }
        // Known by its enrollment before any report: found, with no events.
        let (s, body) = api.get(&format!("/api/v1/hosts/{AGENT}/history")).await;
        assert_eq!((s, body), (StatusCode::OK, serde_json::json!([])));
        // Without a token: refused like every other route.
        let req = http::Request::builder().uri("/api/v1/changes").body(Body::empty()).unwrap();
        assert_eq!(api.0.router.clone().oneshot(req).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
}
