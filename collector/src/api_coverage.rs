//! The coverage and fleet-query routes of the API (see `api` for authentication and errors).
//!
//! Reader:
//! - `GET /api/v1/coverage[?by=os|subnet|owner|team|environment|tag|tag:KEY|product]`: counts
//!   and coverage under the collector's policy, with the denominator, per group when asked;
//! - `GET /api/v1/coverage/assets[?status=S,S...]`: each asset's status, worst first (default:
//!   the gaps, `missing`, `installed-not-running` and `agent-stale`; `all` for every status);
//! - `GET /api/v1/neighbors[?unmanaged=true][&new=7d]`;
//! - `GET /api/v1/hosts` filters: `os`, `state`, `owner`, `team`, `environment`, `tag`
//!   (KEY=VALUE or KEY), `subnet` (CIDR), `ip`, `mac`, `software` (+ `version` constraint),
//!   `product` (+ `product_status`), `coverage` (a status).
//!
//! Admin: `POST /api/v1/coverage/exceptions` `{"asset", "reason", "expires"}` and `DELETE
//! /api/v1/coverage/exceptions/{asset}`, each audited.
//!
//! Every query parameter is checked: an unknown one, or a bad value, is a 400 naming it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json};
use bytes::Bytes;
use census_inventory::version::Constraint;
use serde::{Deserialize, Serialize};

use crate::api::{Caller, HostRow, admin_error, storage_error};
use crate::api_fleet::{bad_request, body};
use crate::coverage::{CoveragePolicy, GroupBy, Status, count, list};
use crate::store::coverage::{HostQuery, ProductState};
use crate::store::{Store, now_ms};

pub fn reader_routes() -> axum::Router<Arc<dyn Store>> {
    axum::Router::new().route("/api/v1/coverage", get(coverage)).route("/api/v1/coverage/assets", get(coverage_assets))
}

pub fn admin_routes() -> axum::Router<Arc<dyn Store>> {
    axum::Router::new()
        .route("/api/v1/coverage/exceptions", post(exclude))
        .route("/api/v1/coverage/exceptions/{asset}", delete(include))
}

/// `POST /api/v1/coverage/exceptions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionRequest {
    pub asset: String,
    pub reason: String,
    /// For this long (30d) or until this RFC 3339 time; absent: until removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// Query parameters as axum decodes them.
pub type Params = HashMap<String, String>;

/// A 400 for the first parameter not in `known`.
pub(crate) fn check_params(params: &Params, known: &[&str]) -> Result<(), Box<Response>> {
    unknown_param(params, known).map_or(Ok(()), |m| Err(Box::new(bad_request(m))))
}

/// The message naming the first parameter (by name) not in `known`.
fn unknown_param(params: &Params, known: &[&str]) -> Option<String> {
    let mut names: Vec<&String> = params.keys().collect();
    names.sort();
    let k = names.into_iter().find(|k| !known.contains(&k.as_str()))?;
    Some(format!("unknown query parameter {k:?}: known are {}", known.join(", ")))
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn policy(ext: Option<Extension<CoveragePolicy>>) -> CoveragePolicy {
    ext.map(|Extension(p)| p).unwrap_or_default()
}

async fn coverage(
    State(store): State<Arc<dyn Store>>,
    ext: Option<Extension<CoveragePolicy>>,
    Query(params): Query<Params>,
) -> Response {
    if let Err(r) = check_params(&params, &["by"]) {
        return *r;
    }
    let by = match param(&params, "by").map(GroupBy::parse) {
        None => None,
        Some(Ok(b)) => Some(b),
        Some(Err(m)) => return bad_request(m),
    };
    match store.coverage_facts(by == Some(GroupBy::Subnet)).await {
        Ok(facts) => Json(count(&policy(ext), &facts, now_ms(), by.as_ref())).into_response(),
        Err(e) => storage_error(e),
    }
}

/// `status=a,b` as statuses; `all` for every one; absent: the gaps.
pub fn statuses(text: Option<&str>) -> Result<Vec<Status>, String> {
    let Some(text) = text else { return Ok(Status::ALL.into_iter().filter(|s| s.is_gap()).collect()) };
    if text == "all" {
        return Ok(Status::ALL.to_vec());
    }
    text.split(',')
        .map(|s| {
            Status::parse(s.trim()).ok_or_else(|| {
                let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown coverage status {:?}: one of {}, or all", s.trim(), names.join(", "))
            })
        })
        .collect()
}

async fn coverage_assets(
    State(store): State<Arc<dyn Store>>,
    ext: Option<Extension<CoveragePolicy>>,
    Query(params): Query<Params>,
) -> Response {
    if let Err(r) = check_params(&params, &["status"]) {
        return *r;
    }
    let wanted = match statuses(param(&params, "status")) {
        Ok(s) => s,
        Err(m) => return bad_request(m),
    };
    match store.coverage_facts(false).await {
        Ok(facts) => Json(list(&policy(ext), &facts, now_ms(), &wanted)).into_response(),
        Err(e) => storage_error(e),
    }
}

async fn exclude(State(store): State<Arc<dyn Store>>, Extension(caller): Extension<Caller>, bytes: Bytes) -> Response {
    let req: ExceptionRequest = match body(&bytes) {
        Ok(r) => r,
        Err(m) => return bad_request(m),
    };
    let expires = match req.expires.as_deref().map(|e| crate::api::parse_expires(e, now_ms())) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(m)) => return bad_request(m),
    };
    match store.set_exception(&req.asset, &req.reason, expires, &caller.actor()).await {
        Ok(asset_id) => Json(crate::api_lifecycle::Changed { asset_id }).into_response(),
        Err(e) => admin_error(e),
    }
}

async fn include(
    State(store): State<Arc<dyn Store>>,
    Extension(caller): Extension<Caller>,
    Path(asset): Path<String>,
) -> Response {
    match store.remove_exception(&asset, &caller.actor()).await {
        Ok(asset_id) => Json(crate::api_lifecycle::Changed { asset_id }).into_response(),
        Err(e) => admin_error(e),
    }
}

/// `GET /api/v1/neighbors`: every device the agents heard, by MAC, with who heard it;
/// `unmanaged=true` keeps the devices that are no managed host, `new=7d` those first heard
/// within that time.
pub(crate) async fn neighbors(State(store): State<Arc<dyn Store>>, Query(params): Query<Params>) -> Response {
    if let Err(r) = check_params(&params, &["unmanaged", "new"]) {
        return *r;
    }
    let unmanaged = match param(&params, "unmanaged") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return bad_request(format!("unmanaged: {other:?} is not true or false")),
    };
    let since = match param(&params, "new").map(|n| crate::api::parse_since(n, now_ms())) {
        None => None,
        Some(Ok(t)) => Some(t / 1000),
        Some(Err(m)) => return bad_request(format!("new: {m}")),
    };
    let rows = if unmanaged {
        store.unmanaged_neighbors(since).await
    } else {
        store.neighbors().await.map(|rows| match since {
            Some(s) => rows.into_iter().filter(|r| r.first_seen >= s).collect(),
            None => rows,
        })
    };
    match rows {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => storage_error(e),
    }
}

const HOST_PARAMS: [&str; 14] = [
    "os",
    "state",
    "owner",
    "team",
    "environment",
    "tag",
    "subnet",
    "ip",
    "mac",
    "software",
    "version",
    "product",
    "product_status",
    "coverage",
];

/// `census hosts` filters, parsed and checked.
#[derive(Debug, Clone, Default)]
pub struct HostFilters {
    /// What one SQL statement answers.
    pub query: HostQuery,
    pub software: Option<String>,
    pub version: Option<Constraint>,
    pub owner: Option<String>,
    pub team: Option<String>,
    pub environment: Option<String>,
    /// (key, value); `None`: any value.
    pub tags: Vec<(String, Option<String>)>,
    pub coverage: Option<Status>,
}

/// Parses `GET /api/v1/hosts` query parameters; the message of the 400 answer names the first
/// parameter that is unknown or wrong.
pub fn parse_host_filters(params: &Params) -> Result<HostFilters, String> {
    if let Some(message) = unknown_param(params, &HOST_PARAMS) {
        return Err(message);
    }
    let p = |name| param(params, name);
    if let Some(state) = p("state")
        && !crate::store::lifecycle::STATES.contains(&state)
    {
        return Err(format!("unknown state {state:?}: one of {}", crate::store::lifecycle::STATES.join(", ")));
    }
    let mut q =
        HostQuery { os: p("os").map(str::to_string), state: p("state").map(str::to_string), ..Default::default() };
    if let Some(mac) = p("mac") {
        let hex: Vec<&str> = mac.split([':', '-']).collect();
        if hex.len() != 6 || hex.iter().any(|h| h.len() != 2 || !h.chars().all(|c| c.is_ascii_hexdigit())) {
            return Err(format!("mac: {mac:?} is not a MAC address (aa:bb:cc:dd:ee:ff)"));
        }
        q.mac = Some(hex.join(":").to_ascii_lowercase());
    }
    if let Some(ip) = p("ip") {
        q.ip = Some(ip.parse().map_err(|_| format!("ip: {ip:?} is not an IP address"))?);
    }
    if let Some(net) = p("subnet") {
        match net.parse::<ipnetwork::IpNetwork>() {
            Ok(n) if net.contains('/') => q.subnet = Some(n),
            _ => return Err(format!("subnet: {net:?} is not a network (192.0.2.0/24, 2001:db8::/32)")),
        }
    }
    match (p("product"), p("product_status")) {
        (Some(id), status) => {
            let state = match status {
                None => ProductState::Installed,
                Some(s) => ProductState::parse(s)
                    .ok_or_else(|| format!("product_status: {s:?} is not one of {}", ProductState::NAMES))?,
            };
            q.product = Some((id.to_string(), state));
        }
        (None, Some(_)) => return Err("product_status needs product".into()),
        (None, None) => {}
    }
    let version = p("version").map(Constraint::parse).transpose().map_err(|e| format!("version: {e}"))?;
    if version.is_some() && p("software").is_none() {
        return Err("version needs software (the package name it constrains)".into());
    }
    let coverage = match p("coverage") {
        None => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| statuses(Some(s)).err().unwrap_or_default())?),
    };
    let tags: Vec<(String, Option<String>)> = p("tag")
        .map(|list| {
            list.split(',')
                .map(|t| match t.split_once('=') {
                    Some((k, v)) => (k.trim().to_string(), Some(v.trim().to_string())),
                    None => (t.trim().to_string(), None),
                })
                .collect()
        })
        .unwrap_or_default();
    if tags.iter().any(|(k, _)| k.is_empty()) {
        return Err("tag: give KEY=VALUE or KEY".into());
    }
    Ok(HostFilters {
        query: q,
        software: p("software").map(str::to_string),
        version,
        owner: p("owner").map(str::to_string),
        team: p("team").map(str::to_string),
        environment: p("environment").map(str::to_string),
        tags,
        coverage,
    })
}

/// `GET /api/v1/hosts` with filters; each is parsed and checked before anything is read.
pub(crate) async fn list_hosts(
    State(store): State<Arc<dyn Store>>,
    ext: Option<Extension<CoveragePolicy>>,
    Query(params): Query<Params>,
) -> Response {
    let HostFilters { query: q, software, version: constraint, owner, team, environment, tags, coverage } =
        match parse_host_filters(&params) {
            Ok(f) => f,
            Err(m) => return bad_request(m),
        };
    let mut hosts = match store.hosts_matching(q).await {
        Ok(h) => h,
        Err(e) => return storage_error(e),
    };
    if let Some(name) = &software {
        let rows = match store.software(name, None, constraint).await {
            Ok(r) => r,
            Err(e) => return storage_error(e),
        };
        let with: HashSet<String> = rows.into_iter().map(|r| r.host_id).collect();
        hosts.retain(|(h, _)| with.contains(&h.id));
    }
    let (owner, team, environment) = (owner.as_deref(), team.as_deref(), environment.as_deref());
    if owner.is_some() || team.is_some() || environment.is_some() || !tags.is_empty() || coverage.is_some() {
        let facts = match store.coverage_facts(false).await {
            Ok(f) => f,
            Err(e) => return storage_error(e),
        };
        let policy = policy(ext);
        let now = now_ms();
        let keep: HashSet<&str> = facts
            .iter()
            .filter(|f| owner.is_none_or(|o| f.owner == o))
            .filter(|f| team.is_none_or(|t| f.team == t))
            .filter(|f| environment.is_none_or(|e| f.environment == e))
            .filter(|f| {
                tags.iter().all(|(k, v)| f.tags.iter().any(|(tk, tv)| tk == k && v.as_ref().is_none_or(|v| v == tv)))
            })
            .filter(|f| {
                coverage.is_none_or(|want| crate::coverage::evaluate(&policy, f, now).is_some_and(|c| c.status == want))
            })
            .map(|f| f.asset_id.as_str())
            .collect();
        // Asset-level facts apply to every host (agent) of the asset.
        hosts.retain(|(_, asset)| asset.as_deref().is_some_and(|a| keep.contains(a)));
    }
    Json(hosts.into_iter().map(|(h, _)| HostRow::from(h)).collect::<Vec<_>>()).into_response()
}

#[cfg(test)]
mod tests {
    use crate::api::test_api::{ADMIN, Api, READER};
    use axum::http::StatusCode;

    #[tokio::test]
    async fn bad_filters_and_unknown_fields_are_clear_400s() {
        let api = Api::new().await;
        for (uri, message) in [
            ("/api/v1/hosts?colour=red", "unknown query parameter \"colour\": known are os, state, owner"),
            ("/api/v1/hosts?software=openssl&version=%3C%3C%3C3", "version: "),
            ("/api/v1/hosts?version=%3C3", "version needs software"),
            ("/api/v1/hosts?mac=zz", "mac: \"zz\" is not a MAC address"),
            ("/api/v1/hosts?ip=1.2.3", "ip: \"1.2.3\" is not an IP address"),
            ("/api/v1/hosts?subnet=10.0.0.1", "subnet: \"10.0.0.1\" is not a network"),
            ("/api/v1/hosts?state=gone", "unknown state \"gone\""),
            ("/api/v1/hosts?product=x&product_status=sleeping", "product_status: \"sleeping\" is not one of"),
            ("/api/v1/hosts?product_status=running", "product_status needs product"),
            ("/api/v1/hosts?coverage=fine", "unknown coverage status \"fine\""),
            ("/api/v1/hosts?tag==x", "tag: give KEY=VALUE or KEY"),
            ("/api/v1/coverage?by=colour", "cannot group by \"colour\""),
            ("/api/v1/coverage?gaps=1", "unknown query parameter \"gaps\": known are by"),
            ("/api/v1/coverage/assets?status=ok", "unknown coverage status \"ok\""),
            ("/api/v1/neighbors?unmanaged=maybe", "unmanaged: \"maybe\" is not true or false"),
            ("/api/v1/neighbors?new=lately", "new: since \"lately\""),
        ] {
            let (status, body) = api.get(uri, Some(READER)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
            let error = body["error"].as_str().unwrap_or_default();
            assert!(error.starts_with(message), "{uri}: {error:?} does not start with {message:?}");
        }
        // Well-formed queries on an empty fleet answer.
        for uri in [
            "/api/v1/hosts?software=openssl&version=%3C3&os=debian&tag=pci%3Dyes&subnet=10.0.0.0%2F8",
            "/api/v1/coverage?by=tag:env",
            "/api/v1/coverage/assets?status=all",
            "/api/v1/neighbors?unmanaged=true&new=7d",
        ] {
            let (status, body) = api.get(uri, Some(READER)).await;
            assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        }
        let (_, body) = api.get("/api/v1/coverage", Some(READER)).await;
        assert_eq!((body["in_scope"].as_u64(), body["coverage"].as_f64()), (Some(0), Some(1.0)), "{body}");
    }

    #[tokio::test]
    async fn exceptions_are_for_admins_and_need_a_known_asset_and_a_reason() {
        let api = Api::new().await;
        let body = r#"{"asset": "nope", "reason": "appliance"}"#;
        let (status, _) = api.call("POST", "/api/v1/coverage/exceptions", Some(READER), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, answer) = api.call("POST", "/api/v1/coverage/exceptions", Some(ADMIN), body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("no asset or agent matches \"nope\""))
        );
        let bad = r#"{"asset": "nope", "reason": "x", "expires": "yesterday"}"#;
        let (status, answer) = api.call("POST", "/api/v1/coverage/exceptions", Some(ADMIN), bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let unknown = r#"{"asset": "nope", "reason": "x", "until": "7d"}"#;
        let (status, answer) = api.call("POST", "/api/v1/coverage/exceptions", Some(ADMIN), unknown).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(answer["error"].as_str().unwrap().contains("unknown field `until`"), "{answer}");
    }
}
