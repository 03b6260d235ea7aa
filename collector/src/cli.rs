//! The `census` fleet query CLI: an HTTP/1.1 client of the query API over TLS with a pinned CA.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde::de::DeserializeOwned;

use crate::api::{
    AgentReports, AgentRow, ApiError, AuditRow, CreateEnrollSecret, CreateToken, CreatedEnrollSecret, CreatedToken,
    EnrollSecretRow, HostRow, HostView, RevokeAgent, TokenRow,
};
use crate::store::{NeighborRow, SoftwareRow};
use census_inventory::text::Table;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("server url {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("ca file {path}: {reason}")]
    Ca { path: PathBuf, reason: String },
    #[error("cannot reach {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("{0}")]
    Server(String),
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

/// Where the server is and how to talk to it.
pub struct Client {
    url: String,
    host: String,
    port: u16,
    server_name: ServerName<'static>,
    token: String,
    tls: Arc<rustls::ClientConfig>,
}

impl Client {
    pub fn new(url: &str, token: &str, ca: &Path) -> Result<Self, CliError> {
        let bad = |reason: &str| CliError::Url { url: url.to_string(), reason: reason.to_string() };
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        if uri.scheme_str() != Some("https") {
            return Err(bad("must start with https:// (the collector only speaks TLS)"));
        }
        let host =
            uri.host().ok_or_else(|| bad("has no host"))?.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = uri.port_u16().unwrap_or(443);
        let server_name = ServerName::try_from(host.clone()).map_err(|_| bad("host is not a valid server name"))?;

        let ca_err = |reason: String| CliError::Ca { path: ca.to_path_buf(), reason };
        let pem = std::fs::read(ca).map_err(|e| ca_err(e.to_string()))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| ca_err(format!("not PEM: {e}")))?;
            roots.add(cert).map_err(|e| ca_err(format!("not a usable CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(ca_err("no certificate in it".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| CliError::Protocol(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { url: url.to_string(), host, port, server_name, token: token.to_string(), tls: Arc::new(tls) })
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.send(Method::GET, path, None).await
    }

    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, CliError> {
        let body = serde_json::to_vec(body).map_err(|e| CliError::Protocol(e.to_string()))?;
        self.send(Method::POST, path, Some(body)).await
    }

    pub(crate) async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.send(Method::DELETE, path, None).await
    }

    /// One request on a new connection; a JSON body when given. Any 2xx answer is decoded as `T`,
    /// anything else becomes the server's error message.
    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, CliError> {
        let connect = |reason: String| CliError::Connect { url: self.url.clone(), reason };
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| connect(e.to_string()))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| {
                let reason = e.to_string();
                if reason.contains("certificate") {
                    connect(format!("{reason} (is --ca / CENSUS_CA this collector's ca.pem?)"))
                } else {
                    connect(reason)
                }
            })?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| connect(e.to_string()))?;
        tokio::spawn(conn);
        let authority = if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, authority)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::ACCEPT, "application/json");
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| CliError::Protocol(e.to_string()))?;
        let response = sender.send_request(request).await.map_err(|e| connect(e.to_string()))?;
        let status = response.status();
        let body = response.into_body().collect().await.map_err(|e| connect(e.to_string()))?.to_bytes();
        if !status.is_success() {
            let detail = serde_json::from_slice::<ApiError>(&body)
                .map(|e| if e.matches.is_empty() { e.error } else { format!("{}: {}", e.error, e.matches.join(", ")) })
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).trim().to_string());
            return Err(CliError::Server(format!("server answered {}: {detail}", status.as_u16())));
        }
        serde_json::from_slice(&body).map_err(|e| CliError::Protocol(e.to_string()))
    }

    pub async fn hosts(&self) -> Result<Vec<HostRow>, CliError> {
        self.get("/api/v1/hosts").await
    }

    pub async fn host(&self, id: &str) -> Result<HostView, CliError> {
        self.get(&format!("/api/v1/hosts/{}", encode(id))).await
    }

    /// `GET /api/v1/hosts/{id}/sbom`: the host's CycloneDX 1.6 SBOM.
    pub async fn sbom(&self, id: &str) -> Result<serde_json::Value, CliError> {
        self.get(&format!("/api/v1/hosts/{}/sbom", encode(id))).await
    }

    pub async fn software(
        &self,
        name: &str,
        version: Option<&str>,
        source: Option<&str>,
    ) -> Result<Vec<SoftwareRow>, CliError> {
        let mut path = format!("/api/v1/software?name={}", encode(name));
        for (key, value) in [("version", version), ("source", source)] {
            if let Some(v) = value {
                path.push_str(&format!("&{key}={}", encode(v)));
            }
        }
        self.get(&path).await
    }
}

impl Client {
    pub async fn neighbors(&self) -> Result<Vec<NeighborRow>, CliError> {
        self.get("/api/v1/neighbors").await
    }

    pub async fn create_enroll_secret(&self, req: &CreateEnrollSecret) -> Result<CreatedEnrollSecret, CliError> {
        self.post("/api/v1/enroll-secrets", req).await
    }

    pub async fn enroll_secrets(&self) -> Result<Vec<EnrollSecretRow>, CliError> {
        self.get("/api/v1/enroll-secrets").await
    }

    pub async fn revoke_enroll_secret(&self, id_or_label: &str) -> Result<EnrollSecretRow, CliError> {
        self.delete(&format!("/api/v1/enroll-secrets/{}", encode(id_or_label))).await
    }

    pub async fn create_token(&self, req: &CreateToken) -> Result<CreatedToken, CliError> {
        self.post("/api/v1/tokens", req).await
    }

    pub async fn tokens(&self) -> Result<Vec<TokenRow>, CliError> {
        self.get("/api/v1/tokens").await
    }

    pub async fn revoke_token(&self, id_or_name: &str) -> Result<TokenRow, CliError> {
        self.delete(&format!("/api/v1/tokens/{}", encode(id_or_name))).await
    }

    pub async fn agents(&self) -> Result<Vec<AgentRow>, CliError> {
        self.get("/api/v1/agents").await
    }

    pub async fn revoke_agent(&self, id: &str, reason: &str) -> Result<AgentRow, CliError> {
        self.post(&format!("/api/v1/agents/{}/revoke", encode(id)), &RevokeAgent { reason: reason.to_string() }).await
    }

    pub async fn agent_reports(&self, id: &str, limit: u32) -> Result<AgentReports, CliError> {
        self.get(&format!("/api/v1/agents/{}/reports?limit={limit}", encode(id))).await
    }

    pub async fn audit(&self, since: Option<&str>) -> Result<Vec<AuditRow>, CliError> {
        match since {
            Some(s) => self.get(&format!("/api/v1/audit?since={}", encode(s))).await,
            None => self.get("/api/v1/audit").await,
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

const SOFTWARE_COLUMNS: [&str; 8] = ["host_id", "hostname", "name", "version", "arch", "source", "purl", "location"];

fn software_cells(r: &SoftwareRow) -> Vec<String> {
    vec![
        r.host_id.clone(),
        r.hostname.clone(),
        r.name.clone(),
        r.version.clone(),
        r.arch.clone(),
        r.source.clone(),
        r.purl.clone(),
        r.location.clone(),
    ]
}

pub fn render_software(rows: &[SoftwareRow], format: Format) -> String {
    match format {
        Format::Json => json_text(&rows),
        Format::Csv => csv_text(&SOFTWARE_COLUMNS, rows.iter().map(software_cells)),
        Format::Table => {
            let mut t = Table::new(["HOST ID", "HOSTNAME", "NAME", "VERSION", "ARCH", "SOURCE"]);
            for r in rows {
                t.row(software_cells(r).into_iter().take(6));
            }
            t.render()
        }
    }
}

const NEIGHBOR_COLUMNS: [&str; 10] =
    ["mac", "vendor", "kind", "ipv4", "ipv6", "names", "protocols", "first_seen", "last_seen", "seen_by"];

pub(crate) fn neighbor_cells(r: &NeighborRow) -> Vec<String> {
    let mut seen_by: Vec<String> = r.seen_by.iter().map(|s| format!("{} ({})", s.hostname, s.interface)).collect();
    let more = r.heard_by.saturating_sub(r.seen_by.len() as u64);
    if more > 0 {
        seen_by.push(format!("and {more} more"));
    }
    vec![
        r.mac.clone(),
        r.vendor.clone(),
        r.kind_hint.clone(),
        r.ipv4.join(" "),
        r.ipv6.join(" "),
        r.names.join(" "),
        r.protocols.join(" "),
        crate::api::rfc3339(r.first_seen.saturating_mul(1000)),
        crate::api::rfc3339(r.last_seen.saturating_mul(1000)),
        seen_by.join(", "),
    ]
}

pub fn render_neighbors(rows: &[NeighborRow], format: Format) -> String {
    match format {
        Format::Json => json_text(&rows),
        Format::Csv => csv_text(&NEIGHBOR_COLUMNS, rows.iter().map(neighbor_cells)),
        Format::Table => {
            let mut t = Table::new(["MAC", "VENDOR", "KIND", "IPV4", "NAMES", "PROTOCOLS", "LAST SEEN", "SEEN BY"]);
            for r in rows {
                let c = neighbor_cells(r);
                t.row([&c[0], &c[1], &c[2], &c[3], &c[5], &c[6], &c[8], &c[9]].map(|s| s.to_string()));
            }
            t.render()
        }
    }
}

pub(crate) fn csv_text(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(header);
    for row in rows {
        let _ = w.write_record(&row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

pub(crate) fn json_text<T: serde::Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("serializes");
    s.push('\n');
    s
}

const HOST_COLUMNS: [&str; 8] =
    ["id", "hostname", "os", "kernel", "arch", "last_seen", "package_count", "agent_version"];

fn host_cells(h: &HostRow) -> Vec<String> {
    vec![
        h.id.clone(),
        h.hostname.clone(),
        h.os.clone(),
        h.kernel.clone(),
        h.arch.clone(),
        h.last_seen.clone(),
        h.package_count.to_string(),
        h.agent_version.clone(),
    ]
}

pub fn render_hosts(hosts: &[HostRow], format: Format) -> String {
    match format {
        Format::Json => json_text(&hosts),
        Format::Csv => csv_text(&HOST_COLUMNS, hosts.iter().map(host_cells)),
        Format::Table => {
            let mut t = Table::new(["ID", "HOSTNAME", "OS", "LAST SEEN", "PACKAGES"]);
            for h in hosts {
                t.row([
                    h.id.clone(),
                    h.hostname.clone(),
                    h.os.clone(),
                    h.last_seen.clone(),
                    h.package_count.to_string(),
                ]);
            }
            t.render()
        }
    }
}

/// One host. CSV lists its software packages, one row each (what spreadsheets want of a host).
pub fn render_host(h: &HostView, format: Format) -> String {
    match format {
        Format::Json => json_text(h),
        Format::Csv => csv_text(
            &["host_id", "hostname", "name", "version", "arch", "source"],
            h.inventory.software.iter().map(|p| {
                vec![
                    h.host.id.clone(),
                    h.host.hostname.clone(),
                    p.name.clone(),
                    p.version.clone(),
                    p.arch.clone(),
                    p.source.clone(),
                ]
            }),
        ),
        Format::Table => format!(
            "id          {}\nasset       {}\nlast seen   {}\ncollected   {} (report {})\nenrolled    {}\n{}",
            h.host.id,
            h.asset_id.as_deref().unwrap_or("none"),
            h.host.last_seen,
            h.collected_at,
            h.sequence,
            h.enrolled_at,
            census_inventory::text::inventory(&h.inventory)
        ),
    }
}

fn or_never(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "never".into())
}

/// Renders rows as JSON, CSV (`columns` + every cell) or a table (`table` picks the columns
/// shown, by index into the cells).
fn render_rows<T: serde::Serialize>(
    rows: &[T],
    format: Format,
    columns: &[&str],
    table: &[(&str, usize)],
    cells: impl Fn(&T) -> Vec<String>,
) -> String {
    match format {
        Format::Json => json_text(&rows),
        Format::Csv => csv_text(columns, rows.iter().map(&cells)),
        Format::Table => {
            let mut t = Table::new(table.iter().map(|(h, _)| *h));
            for r in rows {
                let c = cells(r);
                t.row(table.iter().map(|(_, i)| c[*i].clone()));
            }
            t.render()
        }
    }
}

fn uses_text(uses: u64, max: Option<u64>) -> String {
    match max {
        Some(m) => format!("{uses}/{m}"),
        None => format!("{uses}/unlimited"),
    }
}

const SECRET_COLUMNS: [&str; 9] =
    ["id", "label", "state", "uses", "max_uses", "expires_at", "created_at", "created_by", "revoked_at"];

fn secret_cells(s: &EnrollSecretRow) -> Vec<String> {
    vec![
        s.id.clone(),
        s.label.clone(),
        s.state.clone(),
        s.uses.to_string(),
        s.max_uses.map(|m| m.to_string()).unwrap_or_default(),
        s.expires_at.clone().unwrap_or_default(),
        s.created_at.clone(),
        s.created_by.clone(),
        s.revoked_at.clone().unwrap_or_default(),
    ]
}

pub fn render_enroll_secrets(rows: &[EnrollSecretRow], format: Format) -> String {
    if format == Format::Table {
        let mut t = Table::new(["ID", "LABEL", "STATE", "USES", "EXPIRES", "CREATED", "CREATED BY"]);
        for s in rows {
            t.row([
                s.id.clone(),
                s.label.clone(),
                s.state.clone(),
                uses_text(s.uses, s.max_uses),
                or_never(&s.expires_at),
                s.created_at.clone(),
                s.created_by.clone(),
            ]);
        }
        return t.render();
    }
    render_rows(rows, format, &SECRET_COLUMNS, &[], secret_cells)
}

/// A new enroll secret: the secret alone on stdout in table format (so `$(census enroll-secrets
/// create ...)` captures it), the whole answer in JSON and CSV.
pub fn render_created_enroll_secret(c: &CreatedEnrollSecret, format: Format) -> String {
    match format {
        Format::Table => format!("{}\n", c.secret),
        Format::Json => json_text(c),
        Format::Csv => {
            let mut columns = SECRET_COLUMNS.to_vec();
            columns.push("secret");
            let mut cells = secret_cells(&c.row);
            cells.push(c.secret.clone());
            csv_text(&columns, std::iter::once(cells))
        }
    }
}

const TOKEN_COLUMNS: [&str; 9] =
    ["id", "name", "role", "state", "expires_at", "created_at", "created_by", "last_used_at", "revoked_at"];

fn token_cells(t: &TokenRow) -> Vec<String> {
    vec![
        t.id.clone(),
        t.name.clone(),
        t.role.as_str().to_string(),
        t.state.clone(),
        t.expires_at.clone().unwrap_or_default(),
        t.created_at.clone(),
        t.created_by.clone(),
        t.last_used_at.clone().unwrap_or_default(),
        t.revoked_at.clone().unwrap_or_default(),
    ]
}

pub fn render_tokens(rows: &[TokenRow], format: Format) -> String {
    if format == Format::Table {
        let mut t = Table::new(["ID", "NAME", "ROLE", "STATE", "EXPIRES", "CREATED BY", "LAST USED"]);
        for r in rows {
            t.row([
                r.id.clone(),
                r.name.clone(),
                r.role.as_str().to_string(),
                r.state.clone(),
                or_never(&r.expires_at),
                r.created_by.clone(),
                or_never(&r.last_used_at),
            ]);
        }
        return t.render();
    }
    render_rows(rows, format, &TOKEN_COLUMNS, &[], token_cells)
}

/// A new token: the token alone on stdout in table format, the whole answer in JSON and CSV.
pub fn render_created_token(c: &CreatedToken, format: Format) -> String {
    match format {
        Format::Table => format!("{}\n", c.token),
        Format::Json => json_text(c),
        Format::Csv => {
            let mut columns = TOKEN_COLUMNS.to_vec();
            columns.push("token");
            let mut cells = token_cells(&c.row);
            cells.push(c.token.clone());
            csv_text(&columns, std::iter::once(cells))
        }
    }
}

const AGENT_COLUMNS: [&str; 12] = [
    "id",
    "hostname",
    "state",
    "agent_version",
    "enrolled_at",
    "enroll_secret",
    "enrolled_from",
    "last_sequence",
    "last_seen",
    "revoked_at",
    "revoked_by",
    "revoked_reason",
];

fn agent_cells(a: &AgentRow) -> Vec<String> {
    vec![
        a.id.clone(),
        a.hostname.clone(),
        a.state.clone(),
        a.agent_version.clone(),
        a.enrolled_at.clone(),
        a.enroll_secret.clone(),
        a.enrolled_from.clone(),
        a.last_sequence.to_string(),
        a.last_seen.clone().unwrap_or_default(),
        a.revoked_at.clone().unwrap_or_default(),
        a.revoked_by.clone(),
        a.revoked_reason.clone(),
    ]
}

pub fn render_agents(rows: &[AgentRow], format: Format) -> String {
    if format == Format::Table {
        let mut t = Table::new(["ID", "HOSTNAME", "STATE", "ENROLLED", "SECRET", "LAST SEQ", "LAST SEEN"]);
        for a in rows {
            t.row([
                a.id.clone(),
                a.hostname.clone(),
                a.state.clone(),
                a.enrolled_at.clone(),
                a.enroll_secret.clone(),
                a.last_sequence.to_string(),
                or_never(&a.last_seen),
            ]);
        }
        return t.render();
    }
    render_rows(rows, format, &AGENT_COLUMNS, &[], agent_cells)
}

const REPORT_COLUMNS: [&str; 7] = ["agent_id", "sequence", "kind", "bytes", "digest", "collected_at", "received_at"];

pub fn render_agent_reports(r: &AgentReports, format: Format) -> String {
    let cells = |x: &crate::api::ReportRow| {
        vec![
            r.agent_id.clone(),
            x.sequence.to_string(),
            x.kind.clone(),
            x.bytes.to_string(),
            x.digest.clone(),
            x.collected_at.clone(),
            x.received_at.clone(),
        ]
    };
    match format {
        Format::Json => json_text(r),
        _ => render_rows(
            &r.reports,
            format,
            &REPORT_COLUMNS,
            &[("SEQUENCE", 1), ("KIND", 2), ("BYTES", 3), ("COLLECTED", 5), ("RECEIVED", 6)],
            cells,
        ),
    }
}

const AUDIT_COLUMNS: [&str; 7] = ["id", "at", "actor", "source", "action", "target", "detail"];

pub fn render_audit(rows: &[AuditRow], format: Format) -> String {
    render_rows(
        rows,
        format,
        &AUDIT_COLUMNS,
        &[("AT", 1), ("ACTOR", 2), ("SOURCE", 3), ("ACTION", 4), ("TARGET", 5), ("DETAIL", 6)],
        |a| {
            vec![
                a.id.to_string(),
                a.at.clone(),
                a.actor.clone(),
                a.source.clone(),
                a.action.clone(),
                a.target.clone(),
                a.detail.clone(),
            ]
        },
    )
}

/// What a revoke command prints in table format.
pub fn revoked_line(what: &str, name: &str, id: &str) -> String {
    format!("revoked {what} {name:?} ({id})\n")
}

// ---- assets and duplicates (the fleet model) ----

impl Client {
    pub async fn assets(&self) -> Result<Vec<crate::store::fleet::Asset>, CliError> {
        self.get("/api/v1/assets").await
    }

    pub async fn asset(&self, id: &str) -> Result<crate::store::fleet::Asset, CliError> {
        self.get(&format!("/api/v1/assets/{}", encode(id))).await
    }

    pub async fn duplicates(&self, window: &str) -> Result<Vec<crate::store::fleet::Duplicate>, CliError> {
        self.get(&format!("/api/v1/duplicates?window={}", encode(window))).await
    }

    pub async fn merge_assets(&self, into: &str, from: &str) -> Result<crate::store::fleet::Asset, CliError> {
        let req = crate::api_fleet::MergeAssets { into: into.to_string(), from: from.to_string() };
        self.post("/api/v1/assets/merge", &req).await
    }

    pub async fn split_asset(&self, asset: &str, agent: &str) -> Result<crate::store::fleet::Asset, CliError> {
        let req = crate::api_fleet::SplitAsset { agent: agent.to_string() };
        self.post(&format!("/api/v1/assets/{}/split", encode(asset)), &req).await
    }
}

const ASSET_COLUMNS: [&str; 8] =
    ["asset_id", "state", "hostname", "agents", "last_seen", "created_at", "suspected_clone_of", "merged_into"];

fn asset_cells(a: &crate::store::fleet::Asset) -> Vec<String> {
    let agents: Vec<&str> = a.agents.iter().map(|g| g.agent_id.as_str()).collect();
    vec![
        a.asset_id.clone(),
        a.state.clone(),
        a.hostname.clone(),
        agents.join(" "),
        a.last_seen.clone().unwrap_or_default(),
        a.created_at.clone(),
        a.suspected_clone_of.clone().unwrap_or_default(),
        a.merged_into.clone().unwrap_or_default(),
    ]
}

/// `census assets`: one row per asset; the table counts the agents (newest listed in JSON/CSV first).
pub fn render_assets(rows: &[crate::store::fleet::Asset], format: Format) -> String {
    if format == Format::Table {
        let mut t = Table::new(["ASSET", "STATE", "HOSTNAME", "AGENTS", "LAST SEEN", "CLONE OF"]);
        for a in rows {
            t.row([
                a.asset_id.clone(),
                a.state.clone(),
                a.hostname.clone(),
                a.agents.len().to_string(),
                or_never(&a.last_seen),
                a.suspected_clone_of.clone().unwrap_or_default(),
            ]);
        }
        return t.render();
    }
    render_rows(rows, format, &ASSET_COLUMNS, &[], asset_cells)
}

/// `census assets ID`: the asset, its agents (newest first) and identifiers. CSV lists its
/// agents, one row each.
pub fn render_asset(a: &crate::store::fleet::Asset, format: Format) -> String {
    match format {
        Format::Json => json_text(a),
        Format::Csv => csv_text(
            &["asset_id", "agent_id", "hostname", "link", "linked_at", "last_seen", "revoked"],
            a.agents.iter().map(|g| {
                vec![
                    a.asset_id.clone(),
                    g.agent_id.clone(),
                    g.hostname.clone(),
                    g.link.clone(),
                    g.linked_at.clone(),
                    g.last_seen.clone().unwrap_or_default(),
                    g.revoked.to_string(),
                ]
            }),
        ),
        Format::Table => {
            let mut out = format!(
                "asset       {}\nstate       {}\ncreated     {} by {}\nlast seen   {}\n",
                a.asset_id,
                a.state,
                a.created_at,
                a.created_by,
                or_never(&a.last_seen)
            );
            if let Some(of) = &a.suspected_clone_of {
                out.push_str(&format!("clone of    {of} (suspected; see census duplicates)\n"));
            }
            if let Some(into) = &a.merged_into {
                out.push_str(&format!("merged into {into}\n"));
            }
            // Ownership and tags: `value (agent)` for a declared one, `value (declared: x)` when
            // an admin value overrides what the agent declares.
            let label = |l: &crate::store::lifecycle::Label| match (&l.declared, l.source.as_str()) {
                (Some(d), _) => format!("{} (declared: {d})", l.value),
                (None, "agent") => format!("{} (agent)", l.value),
                _ => l.value.clone(),
            };
            for l in &a.ownership {
                out.push_str(&format!("{:<12}{}\n", l.key.replace('_', " "), label(l)));
            }
            if !a.tags.is_empty() {
                let tags: Vec<String> = a.tags.iter().map(|t| format!("{}={}", t.key, label(t))).collect();
                out.push_str(&format!("tags        {}\n", tags.join(", ")));
            }
            let mut t = Table::new(["AGENT", "HOSTNAME", "LINK", "LINKED", "LAST SEEN", "REVOKED"]);
            for g in &a.agents {
                t.row([
                    g.agent_id.clone(),
                    g.hostname.clone(),
                    g.link.clone(),
                    g.linked_at.clone(),
                    or_never(&g.last_seen),
                    if g.revoked { "yes" } else { "no" }.to_string(),
                ]);
            }
            out.push('\n');
            out.push_str(&t.render());
            let mut t = Table::new(["KIND", "VALUE", "AGENT", "LAST SEEN"]);
            for i in &a.identifiers {
                t.row([i.kind.as_str().to_string(), i.value.clone(), i.agent_id.clone(), i.last_seen.clone()]);
            }
            out.push('\n');
            out.push_str(&t.render());
            out
        }
    }
}

const DUPLICATE_COLUMNS: [&str; 6] = ["reason", "asset_id", "other_asset_id", "agents", "detected_at", "summary"];

/// `census duplicates`: each suspected duplicate with its evidence.
pub fn render_duplicates(rows: &[crate::store::fleet::Duplicate], format: Format) -> String {
    render_rows(
        rows,
        format,
        &DUPLICATE_COLUMNS,
        &[("REASON", 0), ("ASSET", 1), ("OTHER", 2), ("AGENTS", 3), ("EVIDENCE", 5)],
        |d| {
            vec![
                d.reason.clone(),
                d.asset_id.clone(),
                d.other_asset_id.clone().unwrap_or_default(),
                d.agents.join(" "),
                d.detected_at.clone(),
                d.summary.clone(),
            ]
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> HostRow {
        HostRow {
            id: "ab12".into(),
            hostname: "web, \"01\"".into(),
            os: "Debian GNU/Linux 12 (bookworm)".into(),
            kernel: "6.1".into(),
            arch: "x86_64".into(),
            last_seen: "2026-11-22T04:00:00Z".into(),
            package_count: 6,
            agent_version: "0.1.0".into(),
        }
    }

    #[test]
    fn csv_quotes_and_has_a_header() {
        let out = render_hosts(&[row()], Format::Csv);
        assert_eq!(
            out,
            "id,hostname,os,kernel,arch,last_seen,package_count,agent_version\n\
             ab12,\"web, \"\"01\"\"\",Debian GNU/Linux 12 (bookworm),6.1,x86_64,2026-11-22T04:00:00Z,6,0.1.0\n"
        );
    }

    #[test]
    fn json_round_trips() {
        let out = render_hosts(&[row()], Format::Json);
        let back: Vec<HostRow> = serde_json::from_str(&out).unwrap();
        assert_eq!(back, vec![row()]);
    }

    #[test]
    fn table_has_header_and_row() {
        let out = render_hosts(&[row()], Format::Table);
        let lines: Vec<_> = out.lines().collect();
        assert!(lines[0].starts_with("ID    HOSTNAME"), "{out}");
        assert!(lines[1].starts_with("ab12  web, \"01\""), "{out}");
    }

    #[test]
    fn plain_http_and_missing_ca_are_clear_errors() {
        let e = Client::new("http://127.0.0.1:1", "t", Path::new("/nope")).err().unwrap();
        assert!(e.to_string().contains("must start with https://"), "{e}");
        let e = Client::new("https://127.0.0.1:1", "t", Path::new("/nope/ca.pem")).err().unwrap();
        assert!(e.to_string().starts_with("ca file /nope/ca.pem: "), "{e}");
    }
}

// ---- the change history ----

impl Client {
    /// `GET /api/v1/hosts/{id}/history`: one host's events, oldest first.
    pub async fn history(
        &self,
        id: &str,
        since: Option<&str>,
        kind: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<crate::api_history::EventRow>, CliError> {
        self.get(&history_path(&format!("/api/v1/hosts/{}/history", encode(id)), since, kind, limit)).await
    }

    /// `GET /api/v1/changes`: every host's events, oldest first.
    pub async fn changes(
        &self,
        since: Option<&str>,
        kind: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<crate::api_history::EventRow>, CliError> {
        self.get(&history_path("/api/v1/changes", since, kind, limit)).await
    }
}

fn history_path(base: &str, since: Option<&str>, kind: Option<&str>, limit: Option<u32>) -> String {
    let limit = limit.map(|l| l.to_string());
    let query: Vec<String> = [("since", since), ("kind", kind), ("limit", limit.as_deref())]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(v))))
        .collect();
    if query.is_empty() { base.to_string() } else { format!("{base}?{}", query.join("&")) }
}

const EVENT_COLUMNS: [&str; 11] =
    ["id", "at", "host_id", "hostname", "kind", "action", "subject", "old", "new", "sequence", "collected_at"];

fn event_cells(e: &crate::api_history::EventRow) -> Vec<String> {
    vec![
        e.id.to_string(),
        e.at.clone(),
        e.host_id.clone(),
        e.hostname.clone(),
        e.kind.clone(),
        e.action.clone(),
        e.subject.clone(),
        e.old.clone(),
        e.new.clone(),
        e.sequence.map(|s| s.to_string()).unwrap_or_default(),
        e.collected_at.clone().unwrap_or_default(),
    ]
}

/// `census host ID --history` and `census changes`: one event a row, oldest first.
pub fn render_events(rows: &[crate::api_history::EventRow], format: Format) -> String {
    render_rows(
        rows,
        format,
        &EVENT_COLUMNS,
        &[
            ("AT", 1),
            ("HOSTNAME", 3),
            ("KIND", 4),
            ("ACTION", 5),
            ("SUBJECT", 6),
            ("OLD", 7),
            ("NEW", 8),
            ("REPORT", 9),
        ],
        event_cells,
    )
}

#[cfg(test)]
mod history_tests {
    use super::*;
    use crate::api_history::EventRow;

    fn event() -> EventRow {
        EventRow {
            id: 7,
            at: "2026-11-22T04:00:00Z".into(),
            host_id: "ab12".into(),
            hostname: "web-01".into(),
            kind: "software".into(),
            action: "upgraded".into(),
            subject: "jq:amd64 (dpkg)".into(),
            old: "1.6-2.1".into(),
            new: "1.7.1-3".into(),
            sequence: Some(4),
            collected_at: Some("2026-11-22T03:59:59Z".into()),
        }
    }

    #[test]
    fn events_render_as_table_csv_and_json() {
        let table = render_events(&[event()], Format::Table);
        let lines: Vec<_> = table.lines().collect();
        assert!(lines[0].starts_with("AT "), "{table}");
        assert!(lines[0].trim_end().ends_with("REPORT"), "{table}");
        assert!(lines[1].contains("upgraded") && lines[1].contains("jq:amd64 (dpkg)"), "{table}");
        assert_eq!(
            render_events(&[event()], Format::Csv),
            "id,at,host_id,hostname,kind,action,subject,old,new,sequence,collected_at\n\
             7,2026-11-22T04:00:00Z,ab12,web-01,software,upgraded,jq:amd64 (dpkg),1.6-2.1,1.7.1-3,4,2026-11-22T03:59:59Z\n"
        );
        let back: Vec<EventRow> = serde_json::from_str(&render_events(&[event()], Format::Json)).unwrap();
        assert_eq!(back, [event()]);
    }

    #[test]
    fn history_paths_encode_their_query() {
        assert_eq!(history_path("/api/v1/changes", None, None, None), "/api/v1/changes");
        assert_eq!(
            history_path("/api/v1/changes", Some("2026-01-01T00:00:00Z"), Some("software,os"), Some(5)),
            "/api/v1/changes?since=2026-01-01T00%3A00%3A00Z&kind=software%2Cos&limit=5"
        );
    }
}

// ---- Lifecycle, ownership, tags and the fleet SLIs.

impl Client {
    /// `census hosts [--state S]`.
    pub async fn hosts_in(&self, state: Option<&str>) -> Result<Vec<HostRow>, CliError> {
        match state {
            None => self.hosts().await,
            Some(s) => self.get(&format!("/api/v1/hosts?state={}", encode(s))).await,
        }
    }

    pub async fn fleet(&self) -> Result<crate::store::lifecycle::FleetSlis, CliError> {
        self.get("/api/v1/fleet").await
    }

    pub async fn retire(&self, asset: &str, reason: &str) -> Result<crate::api_lifecycle::Changed, CliError> {
        let req = crate::api_lifecycle::RetireRequest { reason: reason.to_string() };
        self.post(&format!("/api/v1/assets/{}/retire", encode(asset)), &req).await
    }

    pub async fn set_owner(
        &self,
        asset: &str,
        update: &crate::store::lifecycle::OwnershipUpdate,
    ) -> Result<crate::api_lifecycle::Changed, CliError> {
        self.post(&format!("/api/v1/assets/{}/owner", encode(asset)), update).await
    }

    pub async fn set_tags(
        &self,
        asset: &str,
        req: &crate::api_lifecycle::TagsRequest,
    ) -> Result<crate::api_lifecycle::Changed, CliError> {
        self.post(&format!("/api/v1/assets/{}/tags", encode(asset)), req).await
    }
}

/// One line saying what an admin change did, or its JSON.
pub fn render_changed(c: &crate::api_lifecycle::Changed, verb: &str, format: Format) -> String {
    match format {
        Format::Json => json_text(c),
        Format::Csv => csv_text(&["asset_id"], std::iter::once(vec![c.asset_id.clone()])),
        Format::Table => format!("{verb} asset {}\n", c.asset_id),
    }
}

pub fn render_fleet(s: &crate::store::lifecycle::FleetSlis, format: Format) -> String {
    let pct = |v: f64| format!("{:.1}%", v * 100.0);
    let rows = [
        ("assets", s.assets.to_string()),
        ("active", s.active.to_string()),
        ("stale", s.stale.to_string()),
        ("retired", s.retired.to_string()),
        ("freshness_p50_seconds", format!("{:.0}", s.freshness_p50_seconds)),
        ("freshness_p95_seconds", format!("{:.0}", s.freshness_p95_seconds)),
        ("freshness_max_seconds", format!("{:.0}", s.freshness_max_seconds)),
        ("fresh", pct(s.fresh_ratio)),
        ("owner_coverage", pct(s.owner_coverage)),
        ("duplicate_rate", pct(s.duplicate_rate)),
        ("tag_compliance", format!("{} (required: {})", pct(s.tag_compliance), s.required_tags.join(", "))),
    ];
    match format {
        Format::Json => json_text(s),
        Format::Csv => csv_text(&["sli", "value"], rows.iter().map(|(k, v)| vec![k.to_string(), v.clone()])),
        Format::Table => {
            let mut t = Table::new(["SLI", "VALUE"]);
            for (k, v) in rows {
                t.row([k.to_string(), v]);
            }
            t.render()
        }
    }
}
