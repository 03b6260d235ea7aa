//! The `census` fleet query CLI: an HTTP/1.1 client of the query API over TLS with a pinned CA.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde::de::DeserializeOwned;

use crate::api::{ApiError, HostRow, HostView};
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

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
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
        let request = Request::get(path)
            .header(header::HOST, authority)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::ACCEPT, "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| CliError::Protocol(e.to_string()))?;
        let response = sender.send_request(request).await.map_err(|e| connect(e.to_string()))?;
        let status = response.status();
        let body = response.into_body().collect().await.map_err(|e| connect(e.to_string()))?.to_bytes();
        if status != StatusCode::OK {
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
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(text: &str) -> String {
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

fn neighbor_cells(r: &NeighborRow) -> Vec<String> {
    let seen_by: Vec<String> = r.seen_by.iter().map(|s| format!("{} ({})", s.hostname, s.interface)).collect();
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

fn csv_text(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(header);
    for row in rows {
        let _ = w.write_record(&row);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn json_text<T: serde::Serialize>(v: &T) -> String {
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
            "id          {}\nlast seen   {}\ncollected   {} (report {})\nenrolled    {}\n{}",
            h.host.id,
            h.host.last_seen,
            h.collected_at,
            h.sequence,
            h.enrolled_at,
            census_inventory::text::inventory(&h.inventory)
        ),
    }
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
