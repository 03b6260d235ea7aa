//! The query API (HTTP/JSON under `/api/v1`, Bearer API token) and its request and response
//! types, which the `census` CLI shares.
//!
//! Every route but `/healthz` needs a token from the store (`api_tokens`, kept as SHA-256). A
//! `reader` token may read (hosts, software, neighbours, agents, `/metrics`); an `admin` token
//! may also manage enroll secrets, tokens and agents and read the audit log. Each admin action
//! is written to the audit log with the token's name and the peer address, in the same
//! transaction as the change itself.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json};
use bytes::Bytes;
use census_inventory::Inventory;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::metrics::Metrics;
use crate::server::PeerAddr;
use crate::store::admin::{
    Actor, AdminError, AgentInfo, ApiToken, AppliedReport, AuditEntry, EnrollSecret, NewEnrollSecret, NewToken, Role,
    sha256,
};
use crate::store::{HostDetail, HostLookup, HostSummary, Millis, Store, now_ms};
use census_inventory::version::Constraint;

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
    /// The asset (machine) this agent is linked to (`census assets ID`).
    pub asset_id: Option<String>,
    pub inventory: Inventory,
}

/// Every error body: `{"error": "...", "matches": [...]}` (matches only when ambiguous).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<String>,
}

/// RFC 3339 text of a time, clamped to 0000..=9999 (RFC 3339 has four-digit years; an agent's
/// clock may say anything).
pub fn rfc3339(ms: Millis) -> String {
    const MAX_MS: i64 = 253_402_300_799_000; // 9999-12-31T23:59:59Z
    let t = UNIX_EPOCH + Duration::from_millis(ms.clamp(0, MAX_MS) as u64);
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
            asset_id: d.asset_id,
            inventory: d.inventory,
        }
    }
}

pub(crate) fn error(status: StatusCode, message: impl Into<String>, matches: Vec<String>) -> Response {
    (status, Json(ApiError { error: message.into(), matches })).into_response()
}

pub(crate) fn storage_error(e: crate::store::StoreError) -> Response {
    warn!(error = %e, "query failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "storage error", Vec::new())
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
    if let Err(r) = crate::api_coverage::check_params(&params, &["name", "version", "source"]) {
        return *r;
    }
    let Some(name) = params.get("name").filter(|n| !n.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "missing query parameter name", Vec::new());
    };
    let constraint = match params.get("version").filter(|v| !v.is_empty()).map(|v| Constraint::parse(v)) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => return error(StatusCode::BAD_REQUEST, e.to_string(), Vec::new()),
    };
    let source = params.get("source").filter(|s| !s.is_empty()).map(String::as_str);
    match store.software(name, source, constraint).await {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => storage_error(e),
    }
}

// ---- access control ----

pub const MISSING_TOKEN: &str = "missing Authorization: Bearer <token>";
pub const INVALID_TOKEN: &str = "token is not valid";

/// Who made a request, as the auth layer found it (a request extension for the handlers).
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    /// The peer address, or `unknown`.
    pub source: String,
}

impl Caller {
    pub(crate) fn actor(&self) -> Actor {
        Actor { name: self.name.clone(), source: self.source.clone() }
    }
}

#[derive(Clone)]
struct Auth {
    store: Arc<dyn Store>,
    needs: Role,
}

/// Admits a request whose Bearer token is in the store, valid, and of at least the role the
/// route needs. Unknown, revoked and expired tokens get the same answer, so a caller learns
/// nothing about which tokens exist.
async fn authenticate(State(auth): State<Auth>, mut request: Request, next: Next) -> Response {
    let source = request.extensions().get::<PeerAddr>().map(|p| p.0.to_string()).unwrap_or_else(|| "unknown".into());
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(presented) = presented else {
        return error(StatusCode::UNAUTHORIZED, MISSING_TOKEN, Vec::new());
    };
    let now = now_ms();
    let token = match auth.store.token_by_sha256(&sha256(presented), now).await {
        Ok(t) => t,
        Err(e) => return admin_error(e),
    };
    let token = match token {
        Some(t) if t.is_valid(now) => t,
        found => {
            let state = found.as_ref().map_or("unknown", |t| t.state(now));
            warn!(%source, token_state = state, path = %request.uri().path(), "api token refused");
            return error(StatusCode::UNAUTHORIZED, INVALID_TOKEN, Vec::new());
        }
    };
    if token.role < auth.needs {
        warn!(%source, token = token.name, path = %request.uri().path(), "reader token on an admin route");
        return error(
            StatusCode::FORBIDDEN,
            format!("this route needs an admin token; token {:?} is a {}", token.name, token.role.as_str()),
            Vec::new(),
        );
    }
    request.extensions_mut().insert(Caller { name: token.name, role: token.role, source });
    next.run(request).await
}

pub(crate) fn admin_error(e: AdminError) -> Response {
    match e {
        AdminError::Store(e) => storage_error(e),
        AdminError::Conflict(m) => error(StatusCode::CONFLICT, m, Vec::new()),
        AdminError::NotFound(m) => error(StatusCode::NOT_FOUND, m, Vec::new()),
        AdminError::Invalid(m) => error(StatusCode::BAD_REQUEST, m, Vec::new()),
        AdminError::Ambiguous { message, matches } => error(StatusCode::CONFLICT, message, matches),
    }
}

fn bad_request(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, message, Vec::new())
}

// ---- request and response types of the admin routes ----

/// `POST /api/v1/enroll-secrets`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEnrollSecret {
    pub label: String,
    /// A duration from now (`7d`, `12h`) or an RFC 3339 time; absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_uses: Option<u64>,
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    /// `reader` or `admin`.
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// `POST /api/v1/agents/{id}/revoke` (the body may be empty).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeAgent {
    #[serde(default)]
    pub reason: String,
}

fn rfc3339_opt(ms: Option<Millis>) -> Option<String> {
    ms.map(rfc3339)
}

/// One enroll secret in listings (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollSecretRow {
    pub id: String,
    pub label: String,
    /// `active`, `expired`, `exhausted` or `revoked`.
    pub state: String,
    pub uses: u64,
    pub max_uses: Option<u64>,
    pub expires_at: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub revoked_at: Option<String>,
}

impl EnrollSecretRow {
    fn new(s: EnrollSecret, now: Millis) -> Self {
        EnrollSecretRow {
            state: s.state(now).into(),
            id: s.id,
            label: s.label,
            uses: s.uses,
            max_uses: s.max_uses,
            expires_at: rfc3339_opt(s.expires_at),
            created_at: rfc3339(s.created_at),
            created_by: s.created_by,
            revoked_at: rfc3339_opt(s.revoked_at),
        }
    }
}

/// The answer to creating an enroll secret: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedEnrollSecret {
    #[serde(flatten)]
    pub row: EnrollSecretRow,
    pub secret: String,
}

/// One API token in listings (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// `active`, `expired` or `revoked`.
    pub state: String,
    pub expires_at: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl TokenRow {
    fn new(t: ApiToken, now: Millis) -> Self {
        TokenRow {
            state: t.state(now).into(),
            id: t.id,
            name: t.name,
            role: t.role,
            expires_at: rfc3339_opt(t.expires_at),
            created_at: rfc3339(t.created_at),
            created_by: t.created_by,
            last_used_at: rfc3339_opt(t.last_used_at),
            revoked_at: rfc3339_opt(t.revoked_at),
        }
    }
}

/// The answer to creating a token: the only time the token is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub row: TokenRow,
    pub token: String,
}

/// One agent, `GET /api/v1/agents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRow {
    pub id: String,
    pub hostname: String,
    /// `active` or `revoked`.
    pub state: String,
    pub agent_version: String,
    pub enrolled_at: String,
    /// The label of the enroll secret it enrolled with (empty when unknown).
    pub enroll_secret: String,
    pub enrolled_from: String,
    pub last_sequence: u64,
    /// Absent before the first report.
    pub last_seen: Option<String>,
    pub revoked_at: Option<String>,
    pub revoked_by: String,
    pub revoked_reason: String,
}

impl From<AgentInfo> for AgentRow {
    fn from(a: AgentInfo) -> Self {
        AgentRow {
            state: a.state().into(),
            id: a.id,
            hostname: a.hostname,
            agent_version: a.agent_version,
            enrolled_at: rfc3339(a.enrolled_at),
            enroll_secret: a.enroll_secret,
            enrolled_from: a.enrolled_from,
            last_sequence: a.last_sequence,
            last_seen: rfc3339_opt(a.last_seen),
            revoked_at: rfc3339_opt(a.revoked_at),
            revoked_by: a.revoked_by,
            revoked_reason: a.revoked_reason,
        }
    }
}

/// One applied report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    pub sequence: u64,
    /// `full` or `heartbeat`.
    pub kind: String,
    pub bytes: u64,
    /// SHA-256 of the signed report bytes, lower-case hex.
    pub digest: String,
    pub collected_at: String,
    pub received_at: String,
}

impl From<AppliedReport> for ReportRow {
    fn from(r: AppliedReport) -> Self {
        ReportRow {
            sequence: r.sequence,
            kind: r.kind,
            bytes: r.bytes,
            digest: r.digest.iter().map(|b| format!("{b:02x}")).collect(),
            collected_at: rfc3339(r.collected_at),
            received_at: rfc3339(r.received_at),
        }
    }
}

/// `GET /api/v1/agents/{id}/reports`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentReports {
    pub agent_id: String,
    pub hostname: String,
    pub reports: Vec<ReportRow>,
}

/// One audit entry, `GET /api/v1/audit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub source: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

impl From<AuditEntry> for AuditRow {
    fn from(a: AuditEntry) -> Self {
        AuditRow {
            id: a.id,
            at: rfc3339(a.at),
            actor: a.actor,
            source: a.source,
            action: a.action,
            target: a.target,
            detail: a.detail,
        }
    }
}

// ---- validation ----

pub const MAX_NAME_LEN: usize = 64;

/// A label or token name: 1 to 64 characters, no control characters, no surrounding spaces.
fn check_name(what: &str, text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if text.chars().count() > MAX_NAME_LEN {
        return Err(format!("{what} is longer than {MAX_NAME_LEN} characters"));
    }
    if text.chars().any(char::is_control) || text.trim() != text {
        return Err(format!("{what} {text:?} has control characters or surrounding spaces"));
    }
    Ok(())
}

/// `expires`: a duration from `now` (humantime: `7d`, `12h`, `90min`) or an RFC 3339 time,
/// which must be in the future.
pub(crate) fn parse_expires(text: &str, now: Millis) -> Result<Millis, String> {
    let at = if let Ok(d) = humantime::parse_duration(text) {
        now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    } else if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as Millis).unwrap_or(0)
    } else {
        return Err(format!("expires {text:?}: not a duration (like 7d or 12h) or an RFC 3339 time"));
    };
    if at <= now {
        return Err(format!("expires {text:?} is not in the future"));
    }
    Ok(at)
}

/// `since`: a duration back from `now` (`24h`) or an RFC 3339 time.
pub(crate) fn parse_since(text: &str, now: Millis) -> Result<Millis, String> {
    if let Ok(d) = humantime::parse_duration(text) {
        Ok(now.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
    } else if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        Ok(t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as Millis).unwrap_or(0))
    } else {
        Err(format!("since {text:?}: not a duration (like 24h or 7d) or an RFC 3339 time"))
    }
}

fn parse_limit(params: &std::collections::HashMap<String, String>, default: u32, max: u32) -> Result<u32, String> {
    match params.get("limit") {
        None => Ok(default),
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(format!("limit {text:?} is not a whole number from 1 to {max}")),
        },
    }
}

/// A JSON request body; an empty body is `T::default()` when `empty_ok`. The error is the message
/// for a 400 answer.
fn parse_body<T: serde::de::DeserializeOwned + Default>(body: &Bytes, empty_ok: bool) -> Result<T, String> {
    if empty_ok && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| format!("request body: {e}"))
}

// ---- reader routes: agents and metrics ----

async fn list_agents(State(store): State<Arc<dyn Store>>) -> Response {
    match store.list_agents().await {
        Ok(agents) => Json(agents.into_iter().map(AgentRow::from).collect::<Vec<_>>()).into_response(),
        Err(e) => admin_error(e),
    }
}

async fn agent_reports(
    State(store): State<Arc<dyn Store>>,
    Path(id): Path<String>,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let limit = match parse_limit(&params, 20, 1000) {
        Ok(l) => l,
        Err(m) => return bad_request(m),
    };
    match store.agent_reports(&id, limit).await {
        Ok((agent, reports)) => Json(AgentReports {
            agent_id: agent.id,
            hostname: agent.hostname,
            reports: reports.into_iter().map(ReportRow::from).collect(),
        })
        .into_response(),
        Err(e) => admin_error(e),
    }
}

pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

async fn metrics(State(metrics): State<Arc<Metrics>>) -> Response {
    ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], metrics.render()).into_response()
}

// ---- admin routes ----

async fn list_enroll_secrets(State(store): State<Arc<dyn Store>>) -> Response {
    let now = now_ms();
    match store.list_enroll_secrets().await {
        Ok(rows) => Json(rows.into_iter().map(|s| EnrollSecretRow::new(s, now)).collect::<Vec<_>>()).into_response(),
        Err(e) => admin_error(e),
    }
}

async fn create_enroll_secret(
    State(store): State<Arc<dyn Store>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let req: CreateEnrollSecret = match parse_body(&body, false) {
        Ok(r) => r,
        Err(m) => return bad_request(m),
    };
    let now = now_ms();
    if let Err(m) = check_name("label", &req.label) {
        return bad_request(m);
    }
    let expires_at = match req.expires.as_deref().map(|e| parse_expires(e, now)).transpose() {
        Ok(e) => e,
        Err(m) => return bad_request(m),
    };
    if req.max_uses == Some(0) {
        return bad_request("max_uses must be at least 1");
    }
    let secret = crate::datadir::random_token();
    let new = NewEnrollSecret { label: req.label, secret_sha256: sha256(&secret), expires_at, max_uses: req.max_uses };
    match store.create_enroll_secret(new, &caller.actor()).await {
        Ok(s) => {
            info!(actor = caller.name, source = caller.source, label = s.label, id = s.id, "enroll secret created");
            let body = CreatedEnrollSecret { row: EnrollSecretRow::new(s, now), secret };
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Err(e) => admin_error(e),
    }
}

async fn revoke_enroll_secret(
    State(store): State<Arc<dyn Store>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    match store.revoke_enroll_secret(&id, &caller.actor()).await {
        Ok(s) => {
            info!(actor = caller.name, source = caller.source, label = s.label, id = s.id, "enroll secret revoked");
            Json(EnrollSecretRow::new(s, now_ms())).into_response()
        }
        Err(e) => admin_error(e),
    }
}

async fn list_tokens(State(store): State<Arc<dyn Store>>) -> Response {
    let now = now_ms();
    match store.list_tokens().await {
        Ok(rows) => Json(rows.into_iter().map(|t| TokenRow::new(t, now)).collect::<Vec<_>>()).into_response(),
        Err(e) => admin_error(e),
    }
}

async fn create_token(
    State(store): State<Arc<dyn Store>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let req: CreateToken = match parse_body(&body, false) {
        Ok(r) => r,
        Err(m) => return bad_request(m),
    };
    let now = now_ms();
    if let Err(m) = check_name("name", &req.name) {
        return bad_request(m);
    }
    let Some(role) = Role::parse(&req.role) else {
        return bad_request(format!("role {:?} is not reader or admin", req.role));
    };
    let expires_at = match req.expires.as_deref().map(|e| parse_expires(e, now)).transpose() {
        Ok(e) => e,
        Err(m) => return bad_request(m),
    };
    let token = crate::datadir::random_token();
    let new = NewToken { name: req.name, role, token_sha256: sha256(&token), expires_at };
    match store.create_token(new, &caller.actor()).await {
        Ok(t) => {
            info!(
                actor = caller.name,
                source = caller.source,
                name = t.name,
                role = role.as_str(),
                "api token created"
            );
            (StatusCode::CREATED, Json(CreatedToken { row: TokenRow::new(t, now), token })).into_response()
        }
        Err(e) => admin_error(e),
    }
}

async fn revoke_token(
    State(store): State<Arc<dyn Store>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    match store.revoke_token(&id, &caller.actor()).await {
        Ok(t) => {
            info!(actor = caller.name, source = caller.source, name = t.name, id = t.id, "api token revoked");
            Json(TokenRow::new(t, now_ms())).into_response()
        }
        Err(e) => admin_error(e),
    }
}

async fn revoke_agent(
    State(store): State<Arc<dyn Store>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let req: RevokeAgent = match parse_body(&body, true) {
        Ok(r) => r,
        Err(m) => return bad_request(m),
    };
    if req.reason.chars().count() > 1024 {
        return bad_request("reason is longer than 1024 characters");
    }
    match store.revoke_agent(&id, &req.reason, &caller.actor()).await {
        Ok(a) => {
            info!(actor = caller.name, source = caller.source, agent_id = a.id, "agent revoked");
            Json(AgentRow::from(a)).into_response()
        }
        Err(e) => admin_error(e),
    }
}

async fn audit_log(
    State(store): State<Arc<dyn Store>>,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let since = match params.get("since").filter(|s| !s.is_empty()).map(|s| parse_since(s, now_ms())).transpose() {
        Ok(s) => s.unwrap_or(0),
        Err(m) => return bad_request(m),
    };
    let limit = match parse_limit(&params, 1000, 10_000) {
        Ok(l) => l,
        Err(m) => return bad_request(m),
    };
    match store.list_audit(since, limit).await {
        Ok(rows) => Json(rows.into_iter().map(AuditRow::from).collect::<Vec<_>>()).into_response(),
        Err(e) => admin_error(e),
    }
}

/// The API: `/healthz` open, reader routes, admin routes.
pub fn router(store: Arc<dyn Store>, metrics_registry: Arc<Metrics>) -> axum::Router {
    let auth = |needs: Role| Auth { store: store.clone(), needs };
    let reader = axum::Router::new()
        .route("/api/v1/hosts", get(crate::api_coverage::list_hosts))
        .route("/api/v1/hosts/{id}", get(get_host))
        .route("/api/v1/software", get(software))
        .route("/api/v1/neighbors", get(crate::api_coverage::neighbors))
        .route("/api/v1/agents", get(list_agents))
        .route("/api/v1/agents/{id}/reports", get(agent_reports))
        .merge(crate::api_fleet::reader_routes())
        .merge(crate::api_history::reader_routes())
        .merge(crate::api_lifecycle::reader_routes())
        .merge(crate::api_coverage::reader_routes())
        .merge(crate::sbom::reader_routes())
        .with_state(store.clone())
        .merge(axum::Router::new().route("/metrics", get(metrics)).with_state(metrics_registry))
        .layer(middleware::from_fn_with_state(auth(Role::Reader), authenticate));
    let admin = axum::Router::new()
        .route("/api/v1/enroll-secrets", get(list_enroll_secrets).post(create_enroll_secret))
        .route("/api/v1/enroll-secrets/{id}", delete(revoke_enroll_secret))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
        .route("/api/v1/agents/{id}/revoke", post(revoke_agent))
        .route("/api/v1/audit", get(audit_log))
        .merge(crate::api_fleet::admin_routes())
        .merge(crate::api_history::admin_routes())
        .merge(crate::api_lifecycle::admin_routes())
        .merge(crate::api_coverage::admin_routes())
        .with_state(store.clone())
        .layer(middleware::from_fn_with_state(auth(Role::Admin), authenticate));
    axum::Router::new().route("/healthz", get(|| async { "ok\n" })).merge(reader).merge(admin)
}

/// A router over a fresh store with an admin token (`ADMIN`, named root) and a reader token
/// (`READER`, named grafana), for the API modules' tests.
#[cfg(test)]
pub(crate) mod test_api {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    pub(crate) const ADMIN: &str = "admin-secret-text";
    pub(crate) const READER: &str = "reader-secret-text";

    pub(crate) struct Api {
        _dir: tempfile::TempDir,
        pub(crate) store: Arc<dyn Store>,
        pub(crate) router: axum::Router,
    }

    impl Api {
        pub(crate) async fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store: Arc<dyn Store> =
                Arc::new(crate::store::sqlite::SqliteStore::open(&dir.path().join("db")).unwrap());
            let boot = Actor::collector();
            for (name, role, text) in [("root", Role::Admin, ADMIN), ("grafana", Role::Reader, READER)] {
                let new = NewToken { name: name.into(), role, token_sha256: sha256(text), expires_at: None };
                store.create_token(new, &boot).await.unwrap();
            }
            let router = router(store.clone(), Arc::new(Metrics::new()));
            Api { _dir: dir, store, router }
        }

        pub(crate) async fn raw(
            &self,
            method: &str,
            uri: &str,
            token: Option<&str>,
            body: &str,
        ) -> (StatusCode, String, String) {
            let mut req = http::Request::builder().method(method).uri(uri);
            if let Some(t) = token {
                req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
            }
            let resp = self.router.clone().oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
            let status = resp.status();
            let content_type =
                resp.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            (status, content_type, String::from_utf8_lossy(&body).into_owned())
        }

        pub(crate) async fn call(
            &self,
            method: &str,
            uri: &str,
            token: Option<&str>,
            body: &str,
        ) -> (StatusCode, serde_json::Value) {
            let (status, _, body) = self.raw(method, uri, token, body).await;
            (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
        }

        pub(crate) async fn get(&self, uri: &str, token: Option<&str>) -> (StatusCode, serde_json::Value) {
            self.call("GET", uri, token, "").await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_api::{ADMIN, Api, READER};

    #[tokio::test]
    async fn software_query_errors_are_json_with_status() {
        let api = Api::new().await;
        let (s, body) = api.get("/api/v1/software", Some(READER)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "missing query parameter name");
        let (s, body) = api.get("/api/v1/software?name=openssl&version=%3C", Some(READER)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "version constraint \"<\": no version after the operator in \"<\"");
        let (s, body) = api.get("/api/v1/software?name=openssl&version=%3C3.0.7", Some(ADMIN)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body, serde_json::json!([]));
        let (s, body) = api.get("/api/v1/software?name=openssl&versoin=1", Some(READER)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "unknown query parameter \"versoin\": known are name, version, source");
    }

    const READER_ROUTES: [&str; 10] = [
        "/api/v1/hosts",
        "/api/v1/hosts/x",
        "/api/v1/software?name=x",
        "/api/v1/neighbors",
        "/api/v1/agents",
        "/api/v1/agents/x/reports",
        "/metrics",
        "/api/v1/coverage",
        "/api/v1/coverage/assets",
        "/api/v1/hosts/x/sbom",
    ];
    const ADMIN_ROUTES: [(&str, &str); 10] = [
        ("GET", "/api/v1/enroll-secrets"),
        ("POST", "/api/v1/enroll-secrets"),
        ("DELETE", "/api/v1/enroll-secrets/x"),
        ("GET", "/api/v1/tokens"),
        ("POST", "/api/v1/tokens"),
        ("DELETE", "/api/v1/tokens/x"),
        ("POST", "/api/v1/agents/x/revoke"),
        ("GET", "/api/v1/audit"),
        ("POST", "/api/v1/coverage/exceptions"),
        ("DELETE", "/api/v1/coverage/exceptions/x"),
    ];

    #[tokio::test]
    async fn every_route_needs_a_valid_token_and_admin_routes_an_admin_one() {
        let api = Api::new().await;
        let (s, _, body) = api.raw("GET", "/healthz", None, "").await;
        assert_eq!((s, body.as_str()), (StatusCode::OK, "ok\n"));
        let all = READER_ROUTES.iter().map(|r| ("GET", *r)).chain(ADMIN_ROUTES);
        for (method, route) in all.clone() {
            let (s, body) = api.call(method, route, None, "").await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {route}");
            assert_eq!(body["error"], "missing Authorization: Bearer <token>", "{method} {route}");
            let (s, body) = api.call(method, route, Some(""), "").await;
            assert_eq!(body["error"], "missing Authorization: Bearer <token>", "{method} {route}");
            let (s2, body) = api.call(method, route, Some("wrong"), "").await;
            assert_eq!(s, s2);
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {route}");
            assert_eq!(body["error"], "token is not valid", "{method} {route}");
        }
        for route in READER_ROUTES {
            let (s, _) = api.get(route, Some(READER)).await;
            assert!(s != StatusCode::UNAUTHORIZED && s != StatusCode::FORBIDDEN, "{route}: {s}");
        }
        for (method, route) in ADMIN_ROUTES {
            let (s, body) = api.call(method, route, Some(READER), "").await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{method} {route}");
            assert_eq!(body["error"], "this route needs an admin token; token \"grafana\" is a reader");
            let (s, _) = api.call(method, route, Some(ADMIN), "").await;
            assert!(s != StatusCode::UNAUTHORIZED && s != StatusCode::FORBIDDEN, "{method} {route}: {s}");
        }
        // A revoked or expired token is refused with the same words as an unknown one.
        api.store.revoke_token("grafana", &Actor::collector()).await.unwrap();
        let expired = NewToken {
            name: "old".into(),
            role: Role::Admin,
            token_sha256: sha256("old-text"),
            expires_at: Some(now_ms() - 1),
        };
        api.store.create_token(expired, &Actor::collector()).await.unwrap();
        for token in [READER, "old-text"] {
            let (s, body) = api.get("/api/v1/hosts", Some(token)).await;
            assert_eq!((s, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("token is not valid")));
        }
    }

    #[tokio::test]
    async fn metrics_are_openmetrics_text() {
        let api = Api::new().await;
        let (s, content_type, body) = api.raw("GET", "/metrics", Some(READER), "").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
        assert!(body.contains("census_open_streams 0"), "{body}");
    }

    #[tokio::test]
    async fn enroll_secrets_are_created_once_listed_without_secret_and_revoked() {
        let api = Api::new().await;
        let (s, created) = api
            .call("POST", "/api/v1/enroll-secrets", Some(ADMIN), r#"{"label":"rollout","expires":"7d","max_uses":5}"#)
            .await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        let secret = created["secret"].as_str().unwrap().to_string();
        assert_eq!(secret.len(), 64);
        assert_eq!(created["label"], "rollout");
        assert_eq!(created["state"], "active");
        assert_eq!(created["max_uses"], 5);
        assert_eq!(created["uses"], 0);
        assert_eq!(created["created_by"], "root");
        assert!(created["expires_at"].as_str().unwrap().ends_with('Z'));

        let (s, list) = api.get("/api/v1/enroll-secrets", Some(ADMIN)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert!(!list.to_string().contains(&secret));
        assert!(list[0].get("secret").is_none());

        let (s, body) = api.call("DELETE", "/api/v1/enroll-secrets/rollout", Some(ADMIN), "").await;
        assert_eq!((s, body["state"].as_str()), (StatusCode::OK, Some("revoked")));
        let (s, body) = api.call("DELETE", "/api/v1/enroll-secrets/rollout", Some(ADMIN), "").await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(
            body["error"],
            format!("enroll secret \"rollout\" ({}) is already revoked", created["id"].as_str().unwrap())
        );
        let (s, body) = api.call("DELETE", "/api/v1/enroll-secrets/nope", Some(ADMIN), "").await;
        assert_eq!(
            (s, body["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("no enroll secret has id or label \"nope\""))
        );

        let (_, audit) = api.get("/api/v1/audit", Some(ADMIN)).await;
        assert!(!audit.to_string().contains(&secret), "{audit}");
        let actions: Vec<_> = audit.as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["token.create", "token.create", "enroll-secret.create", "enroll-secret.revoke"]);
        assert_eq!(audit[2]["actor"], "root");
        assert_eq!(audit[2]["source"], "unknown");
        assert_eq!(audit[2]["target"], "rollout");
    }

    #[tokio::test]
    async fn bad_admin_input_is_refused_with_clear_messages() {
        let api = Api::new().await;
        let long = "x".repeat(65);
        let cases = [
            (
                "/api/v1/enroll-secrets",
                r#"{"label":""}"#.to_string(),
                StatusCode::BAD_REQUEST,
                "label must not be empty",
            ),
            (
                "/api/v1/enroll-secrets",
                format!(r#"{{"label":"{long}"}}"#),
                StatusCode::BAD_REQUEST,
                "label is longer than 64 characters",
            ),
            (
                "/api/v1/enroll-secrets",
                r#"{"label":" x"}"#.into(),
                StatusCode::BAD_REQUEST,
                "label \" x\" has control characters or surrounding spaces",
            ),
            (
                "/api/v1/enroll-secrets",
                r#"{"label":"a","max_uses":0}"#.into(),
                StatusCode::BAD_REQUEST,
                "max_uses must be at least 1",
            ),
            (
                "/api/v1/enroll-secrets",
                r#"{"label":"a","expires":"soon"}"#.into(),
                StatusCode::BAD_REQUEST,
                "expires \"soon\": not a duration (like 7d or 12h) or an RFC 3339 time",
            ),
            (
                "/api/v1/enroll-secrets",
                r#"{"label":"a","expires":"2001-01-01T00:00:00Z"}"#.into(),
                StatusCode::BAD_REQUEST,
                "expires \"2001-01-01T00:00:00Z\" is not in the future",
            ),
            (
                "/api/v1/tokens",
                r#"{"name":"ci","role":"owner"}"#.into(),
                StatusCode::BAD_REQUEST,
                "role \"owner\" is not reader or admin",
            ),
            (
                "/api/v1/tokens",
                r#"{"name":"","role":"reader"}"#.into(),
                StatusCode::BAD_REQUEST,
                "name must not be empty",
            ),
            (
                "/api/v1/tokens",
                r#"{"name":"root","role":"reader"}"#.into(),
                StatusCode::CONFLICT,
                "a token named \"root\" already exists",
            ),
        ];
        for (route, body, status, message) in cases {
            let (s, answer) = api.call("POST", route, Some(ADMIN), &body).await;
            assert_eq!((s, answer["error"].as_str()), (status, Some(message)), "{body}");
        }
        let (s, answer) = api.call("POST", "/api/v1/enroll-secrets", Some(ADMIN), r#"{"label":"a","max_use":1}"#).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(answer["error"].as_str().unwrap().starts_with("request body: unknown field `max_use`"), "{answer}");
        let (s, _) = api.call("POST", "/api/v1/enroll-secrets", Some(ADMIN), r#"{"label":"a"}"#).await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, answer) = api.call("POST", "/api/v1/enroll-secrets", Some(ADMIN), r#"{"label":"a"}"#).await;
        assert_eq!(
            (s, answer["error"].as_str()),
            (StatusCode::CONFLICT, Some("an enroll secret labelled \"a\" already exists"))
        );
        let (s, answer) = api.get("/api/v1/audit?since=yesterday", Some(ADMIN)).await;
        assert_eq!(
            (s, answer["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("since \"yesterday\": not a duration (like 24h or 7d) or an RFC 3339 time"))
        );
        let (s, answer) = api.get("/api/v1/agents/x/reports?limit=0", Some(READER)).await;
        assert_eq!(
            (s, answer["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("limit \"0\" is not a whole number from 1 to 1000"))
        );
        // Nothing of the refused requests reached the audit log.
        let (_, audit) = api.get("/api/v1/audit?since=1h", Some(ADMIN)).await;
        assert_eq!(audit.as_array().unwrap().len(), 3, "{audit}");
    }

    #[tokio::test]
    async fn tokens_created_by_an_admin_work_until_revoked() {
        let api = Api::new().await;
        let (s, created) =
            api.call("POST", "/api/v1/tokens", Some(ADMIN), r#"{"name":"ci","role":"reader","expires":"1h"}"#).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        let token = created["token"].as_str().unwrap().to_string();
        assert_eq!((created["role"].as_str(), created["state"].as_str()), (Some("reader"), Some("active")));
        let (s, _) = api.get("/api/v1/hosts", Some(&token)).await;
        assert_eq!(s, StatusCode::OK);
        let (_, list) = api.get("/api/v1/tokens", Some(ADMIN)).await;
        assert!(!list.to_string().contains(&token));
        let ci = list.as_array().unwrap().iter().find(|t| t["name"] == "ci").unwrap();
        assert!(ci["last_used_at"].is_string(), "{ci}");
        let (s, body) =
            api.call("DELETE", &format!("/api/v1/tokens/{}", created["id"].as_str().unwrap()), Some(ADMIN), "").await;
        assert_eq!((s, body["state"].as_str()), (StatusCode::OK, Some("revoked")));
        let (s, body) = api.get("/api/v1/hosts", Some(&token)).await;
        assert_eq!((s, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("token is not valid")));
    }

    #[tokio::test]
    async fn agents_are_listed_and_revoked_with_a_reason() {
        let api = Api::new().await;
        crate::store::suite::enroll_one(api.store.as_ref(), "0123456789abcdef").await;
        let (s, list) = api.get("/api/v1/agents", Some(READER)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(list[0]["id"], "0123456789abcdef");
        assert_eq!(list[0]["state"], "active");
        assert_eq!(list[0]["last_seen"], serde_json::Value::Null);
        let (s, body) =
            api.call("POST", "/api/v1/agents/0123/revoke", Some(ADMIN), r#"{"reason":"decommissioned"}"#).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!((body["state"].as_str(), body["revoked_by"].as_str()), (Some("revoked"), Some("root")));
        assert_eq!(body["revoked_reason"], "decommissioned");
        let (s, body) = api.call("POST", "/api/v1/agents/0123/revoke", Some(ADMIN), "").await;
        assert_eq!(
            (s, body["error"].as_str()),
            (StatusCode::CONFLICT, Some("agent 0123456789abcdef (0123456789abcdef-host) is already revoked"))
        );
        let (s, body) = api.call("POST", "/api/v1/agents/zzzz/revoke", Some(ADMIN), "").await;
        assert_eq!((s, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("no agent matches \"zzzz\"")));
        let (s, body) = api.get("/api/v1/agents/0123/reports", Some(READER)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body["agent_id"], "0123456789abcdef");
        assert_eq!(body["reports"], serde_json::json!([]));
    }
}
