//! Talking to the collector: TLS with a pinned CA, enrollment, the signed report stream.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use census_inventory::Inventory;
use census_proto::signing::AgentKey;
use census_proto::v1::agent_service_client::AgentServiceClient;
use census_proto::v1::{self, CollectorMessage, EnrollRequest, Report, SignedReport, collector_message::Kind};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::state::{Enrollment, StateDir, StateError};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const ACK_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("collector url {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("ca file {path}: {source}")]
    Ca { path: PathBuf, source: std::io::Error },
    #[error("cannot reach collector at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("enrollment refused: {0}")]
    EnrollRefused(String),
    #[error("no enroll secret given and this agent is not enrolled with {0}")]
    NoSecret(String),
    #[error("collector {0}")]
    Rpc(String),
    #[error("report {sequence} rejected: {}: {message}", reject_code_text(*.code))]
    Rejected { sequence: u64, code: v1::RejectCode, message: String, retry_after_seconds: u32 },
    #[error("no acknowledgement for report {0} within {ACK_TIMEOUT:?}")]
    AckTimeout(u64),
    #[error("collector closed the stream before acknowledging report {0}")]
    StreamClosed(u64),
    #[error(transparent)]
    State(#[from] StateError),
}

impl ClientError {
    /// Rejections that mean "enroll again" (the collector no longer knows this agent).
    pub fn is_unknown_agent(&self) -> bool {
        matches!(self, ClientError::Rejected { code: v1::RejectCode::UnknownAgent, .. })
    }
}

/// Renders a gRPC status the way a person wants to read it.
fn status_text(s: &tonic::Status) -> String {
    let msg = s.message();
    let code = format!("{:?}", s.code()).to_lowercase();
    if msg.is_empty() { code } else { format!("{code}: {msg}") }
}

/// The deepest causes of a transport error, joined, without debug noise.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// Where the collector is and which CA the agent pins for it.
#[derive(Debug, Clone)]
pub struct CollectorTarget {
    pub url: String,
    host: String,
    /// Empty for a plaintext development collector.
    ca_pem: Vec<u8>,
}

impl CollectorTarget {
    /// Checks the URL (https only) and reads the CA file, before anything else happens.
    pub fn new(url: &str, ca: &Path) -> Result<Self, ClientError> {
        let bad_url = |reason: String| ClientError::Url { url: url.to_string(), reason };
        let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| bad_url(e.to_string()))?;
        if uri.scheme_str() != Some("https") {
            return Err(bad_url(
                "must start with https:// (plaintext only with --allow-plaintext, to a loopback development collector)"
                    .into(),
            ));
        }
        let host = uri.host().ok_or_else(|| bad_url("has no host".into()))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let ca_pem = std::fs::read(ca).map_err(|source| ClientError::Ca { path: ca.to_path_buf(), source })?;
        if !String::from_utf8_lossy(&ca_pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(ClientError::Ca {
                path: ca.to_path_buf(),
                source: std::io::Error::other("no PEM certificate in it"),
            });
        }
        Ok(Self { url: url.to_string(), host, ca_pem })
    }

    /// A plaintext (`http://`) collector on a loopback address, for development only: anything
    /// else is refused, so a typo cannot send reports unencrypted over a network.
    pub fn plaintext_loopback(url: &str) -> Result<Self, ClientError> {
        let bad_url = |reason: String| ClientError::Url { url: url.to_string(), reason };
        let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| bad_url(e.to_string()))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad_url("--allow-plaintext takes an http:// URL".into()));
        }
        let host = uri.host().ok_or_else(|| bad_url("has no host".into()))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return Err(bad_url(format!(
                "plaintext is allowed only to a loopback address, for development; {host} is not one"
            )));
        }
        Ok(Self { url: url.to_string(), host, ca_pem: Vec::new() })
    }

    pub fn is_plaintext(&self) -> bool {
        self.ca_pem.is_empty()
    }

    /// The collector's identity: SHA-256 of the pinned CA with white space removed.
    pub fn ca_sha256(&self) -> String {
        let compact: Vec<u8> = self.ca_pem.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
        ring::digest::digest(&ring::digest::SHA256, &compact).as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Opens a TLS channel to `url`, trusting only the CA in `ca`.
pub async fn connect(url: &str, ca: &Path) -> Result<AgentServiceClient<Channel>, ClientError> {
    connect_to(&CollectorTarget::new(url, ca)?).await
}

/// Opens a TLS channel to the target, trusting only its CA.
pub async fn connect_to(target: &CollectorTarget) -> Result<AgentServiceClient<Channel>, ClientError> {
    connect_with(target, None).await
}

/// Opens a channel to the target, trusting only its CA, presenting `identity` (the client
/// certificate the collector issued and the agent key) when given.
pub async fn connect_with(
    target: &CollectorTarget,
    identity: Option<Identity>,
) -> Result<AgentServiceClient<Channel>, ClientError> {
    let (url, host, pem) = (&target.url, target.host.clone(), target.ca_pem.clone());
    let bad_url = |reason: String| ClientError::Url { url: url.to_string(), reason };
    let mut endpoint = Endpoint::from_shared(url.to_string()).map_err(|e| bad_url(e.to_string()))?;
    if !target.is_plaintext() {
        let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)).domain_name(host);
        if let Some(identity) = identity {
            tls = tls.identity(identity);
        }
        endpoint = endpoint.tls_config(tls).map_err(|e| bad_url(error_chain(&e)))?;
    }
    let endpoint = endpoint.connect_timeout(CONNECT_TIMEOUT).tcp_keepalive(Some(Duration::from_secs(60)));
    let channel = endpoint.connect().await.map_err(|e| {
        let mut reason = error_chain(&e);
        if reason.contains("certificate") {
            reason.push_str(" (is --ca this collector's ca.pem?)");
        }
        ClientError::Connect { url: url.to_string(), reason }
    })?;
    Ok(AgentServiceClient::new(channel))
}

/// Returns this agent's id with the target collector, enrolling first when needed.
pub async fn ensure_enrolled(
    client: &mut AgentServiceClient<Channel>,
    state: &StateDir,
    key: &AgentKey,
    target: &CollectorTarget,
    secret: Option<&str>,
    hostname: &str,
) -> Result<String, ClientError> {
    let ca_sha256 = target.ca_sha256();
    if let Some(e) = state.enrollment()?
        && e.collector_ca_sha256 == ca_sha256
        && e.agent_id == key.agent_id()
    {
        return Ok(e.agent_id);
    }
    let secret = secret.filter(|s| !s.is_empty()).ok_or_else(|| ClientError::NoSecret(target.url.clone()))?;
    let response = client
        .enroll(EnrollRequest {
            enroll_secret: secret.to_string(),
            public_key: key.public_key().to_vec(),
            hostname: hostname.to_string(),
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
            proof: key.enrollment_proof(hostname),
        })
        .await
        .map_err(|s| match s.code() {
            tonic::Code::Unauthenticated | tonic::Code::PermissionDenied | tonic::Code::InvalidArgument => {
                ClientError::EnrollRefused(s.message().to_string())
            }
            _ => ClientError::Rpc(status_text(&s)),
        })?
        .into_inner();
    if response.agent_id != key.agent_id() {
        return Err(ClientError::EnrollRefused(format!(
            "collector assigned id {} but this key's id is {}",
            response.agent_id,
            key.agent_id()
        )));
    }
    state.save_enrollment(&Enrollment {
        agent_id: response.agent_id.clone(),
        collector_ca_sha256: ca_sha256,
        collector_url: target.url.clone(),
        client_certificate_pem: response.client_certificate_pem,
    })?;
    Ok(response.agent_id)
}

/// The TLS client identity for this agent: the certificate the collector issued at enrollment
/// and the agent's own key. `None` before enrollment or from a collector that issued none.
pub fn identity(state: &StateDir, key: &AgentKey, target: &CollectorTarget) -> Result<Option<Identity>, ClientError> {
    let Some(e) = state.enrollment()? else { return Ok(None) };
    if e.client_certificate_pem.is_empty() || e.collector_ca_sha256 != target.ca_sha256() || target.is_plaintext() {
        return Ok(None);
    }
    let key_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", key.pkcs8().to_vec()));
    Ok(Some(Identity::from_pem(e.client_certificate_pem, key_pem)))
}

/// Connects (presenting the client certificate when this agent has one), enrolls when needed,
/// and after a fresh enrollment reconnects with the newly issued certificate. Returns the
/// client and the agent id.
pub async fn open_session(
    target: &CollectorTarget,
    state: &StateDir,
    key: &AgentKey,
    secret: Option<&str>,
    hostname: &str,
) -> Result<(AgentServiceClient<Channel>, String), ClientError> {
    let cert = |state: &StateDir| state.enrollment().map(|e| e.map(|e| e.client_certificate_pem));
    let before = cert(state)?;
    let mut client = connect_with(target, identity(state, key, target)?).await?;
    let agent_id = ensure_enrolled(&mut client, state, key, target, secret, hostname).await?;
    // A fresh enrollment issued a new certificate: present it from now on.
    if cert(state)? != before
        && let Some(id) = identity(state, key, target)?
    {
        client = connect_with(target, Some(id)).await?;
    }
    Ok((client, agent_id))
}

/// Builds and signs the next full report, reserving its sequence number in the state dir.
pub fn sign_full_report(state: &StateDir, key: &AgentKey, inventory: &Inventory) -> Result<SignedReport, StateError> {
    sign_report(state, key, census_proto::convert::full_zstd(inventory))
}

/// Builds and signs the next report with `body` (full, delta or heartbeat), reserving its
/// sequence number in the state dir.
pub fn sign_report(state: &StateDir, key: &AgentKey, body: v1::report::Body) -> Result<SignedReport, StateError> {
    let report = Report {
        agent_id: key.agent_id(),
        sequence: state.next_sequence()?,
        collected_at: Some(prost_types::Timestamp::from(SystemTime::now())),
        agent_version: env!("CARGO_PKG_VERSION").to_string(),
        body: Some(body),
    };
    Ok(key.sign(&report))
}

/// An open report stream.
pub struct ReportStream {
    tx: mpsc::Sender<SignedReport>,
    responses: tonic::Streaming<CollectorMessage>,
    /// The collector sent `SendFull` (read with [`ReportStream::take_full_requested`]).
    full_requested: bool,
}

impl ReportStream {
    pub async fn open(client: &mut AgentServiceClient<Channel>) -> Result<Self, ClientError> {
        let (tx, rx) = mpsc::channel(4);
        let responses = client.stream(ReceiverStream::new(rx)).await.map_err(|s| ClientError::Rpc(status_text(&s)))?;
        Ok(Self { tx, responses: responses.into_inner(), full_requested: false })
    }

    /// Whether the collector asked for a full inventory since the last call.
    pub fn take_full_requested(&mut self) -> bool {
        std::mem::take(&mut self.full_requested)
    }

    /// Sends `report` and waits for the collector's answer to its sequence.
    pub async fn send(&mut self, report: SignedReport) -> Result<v1::Ack, ClientError> {
        let sequence = decode_sequence(&report);
        self.tx.send(report).await.map_err(|_| ClientError::StreamClosed(sequence))?;
        let wait = async {
            while let Some(msg) = self.responses.next().await {
                let msg = msg.map_err(|s| ClientError::Rpc(status_text(&s)))?;
                match msg.kind {
                    Some(Kind::Ack(ack)) if ack.sequence == sequence => return Ok(ack),
                    Some(Kind::SendFull(_)) => self.full_requested = true,
                    Some(Kind::Reject(r)) if r.sequence == sequence || r.sequence == 0 => {
                        let code = v1::RejectCode::try_from(r.code).unwrap_or(v1::RejectCode::Unspecified);
                        return Err(ClientError::Rejected {
                            sequence,
                            code,
                            message: r.message,
                            retry_after_seconds: r.retry_after_seconds,
                        });
                    }
                    _ => continue,
                }
            }
            Err(ClientError::StreamClosed(sequence))
        };
        tokio::time::timeout(ACK_TIMEOUT, wait).await.map_err(|_| ClientError::AckTimeout(sequence))?
    }
}

impl ReportStream {
    /// Ends the stream cleanly: no more reports, then wait briefly for the collector to close.
    pub async fn close(self) {
        let ReportStream { tx, mut responses, .. } = self;
        drop(tx);
        let drain = async { while let Some(Ok(_)) = responses.next().await {} };
        let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
    }
}

fn decode_sequence(r: &SignedReport) -> u64 {
    use prost::Message;
    Report::decode(r.report.as_slice()).map(|r| r.sequence).unwrap_or_default()
}

fn reject_code_text(code: v1::RejectCode) -> &'static str {
    use v1::RejectCode as C;
    match code {
        C::BadSignature => "bad signature",
        C::UnknownAgent => "unknown agent",
        C::Malformed => "malformed report",
        C::AgentMismatch => "agent mismatch",
        C::StaleSequence => "stale sequence",
        C::Revoked => "agent revoked",
        C::ClockSkew => "timestamp outside the accepted window",
        C::LimitExceeded => "limit exceeded",
        C::RateLimited => "rate limited",
        C::SequenceReused => "sequence reused",
        C::ClientCertificate => "client certificate",
        C::BaseMismatch => "delta base mismatch",
        C::Unspecified => "rejected",
    }
}

/// What the agent does with a report the collector refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectAction {
    /// Resending the same bytes can never succeed: drop the report (with a warning).
    Drop,
    /// The collector does not know this agent: enrol again, then resend.
    Reenroll,
    /// Keep the report and try again later.
    Retry,
    /// A delta the collector cannot apply to its copy: drop it (and the deltas chained on it)
    /// and send a full inventory.
    SendFull,
}

impl RejectAction {
    pub fn for_code(code: v1::RejectCode) -> Self {
        use v1::RejectCode as C;
        match code {
            C::BadSignature
            | C::Malformed
            | C::AgentMismatch
            | C::StaleSequence
            | C::ClockSkew
            | C::LimitExceeded
            | C::SequenceReused => RejectAction::Drop,
            C::UnknownAgent => RejectAction::Reenroll,
            C::BaseMismatch => RejectAction::SendFull,
            // Revoked: an admin may restore the agent by re-enrolling it; its reports are kept
            // (bounded by the spool) rather than thrown away.
            C::Revoked | C::RateLimited | C::ClientCertificate | C::Unspecified => RejectAction::Retry,
        }
    }
}
