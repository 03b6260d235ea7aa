//! The agents' side of the collector: `AgentService` (enrollment and the signed report stream).
//!
//! Architecture invariant: a report is stored only after its envelope's signature verifies with
//! the key the agent enrolled, its inner agent id matches the envelope, the agent is not
//! revoked, the connection's client certificate (when one is presented or required) is this
//! agent's, its time is inside the accepted window, it is within every size limit, and its
//! sequence was never applied. Anything else is answered with a `Reject` naming what is wrong
//! and stores nothing. The `Ack` is sent only after the store's transaction committed.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use census_inventory::Inventory;
use census_proto::signing::{self, PUBLIC_KEY_LEN, VerifyError};
use census_proto::v1::agent_service_server::AgentService;
use census_proto::v1::{
    Ack, CollectorMessage, EnrollRequest, EnrollResponse, Reject, RejectCode, SendFull, SignedReport,
    collector_message::Kind, report::Body,
};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tracing::{debug, info, warn};

use crate::config::Limits;
use crate::metrics::{Limit, Metrics};
use crate::server::{PeerAddr, PeerCert};
use crate::store::admin::sha256;
use crate::store::sqlite::short_hex;
use crate::store::{Applied, Millis, NewAgent, ReportBody, Store, StoreError, VerifiedReport};
use crate::tls::Ca;

const MAX_HOSTNAME_LEN: usize = 255;
/// How many rate-limiter checks between sweeps of idle keys (bounds their memory).
const SWEEP_EVERY: u64 = 4096;

/// A per-key rate limiter that forgets idle keys now and then.
struct RateLimit<K: Clone + std::hash::Hash + Eq> {
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU64,
}

impl<K: Clone + std::hash::Hash + Eq> RateLimit<K> {
    fn new(per_minute: u32, burst: u32) -> Self {
        let one = NonZeroU32::MIN;
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(one))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(one));
        Self { limiter: DefaultKeyedRateLimiter::keyed(quota), checks: AtomicU64::new(0) }
    }

    /// `Err(wait)` when `key` is over its quota.
    fn check(&self, key: &K) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.check_key(key).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Whole seconds to wait, at least one.
fn retry_secs(wait: Duration) -> u32 {
    u32::try_from(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).unwrap_or(u32::MAX).max(1)
}

pub struct Ingest {
    store: Arc<dyn Store>,
    ca: Arc<Ca>,
    metrics: Arc<Metrics>,
    limits: Limits,
    require_client_cert: bool,
    streams: Arc<Semaphore>,
    enroll_rate: RateLimit<IpAddr>,
    report_rate: Arc<RateLimit<String>>,
}

impl Ingest {
    pub fn new(
        store: Arc<dyn Store>,
        ca: Arc<Ca>,
        metrics: Arc<Metrics>,
        limits: Limits,
        require_client_cert: bool,
    ) -> Self {
        Self {
            streams: Arc::new(Semaphore::new(limits.max_streams)),
            enroll_rate: RateLimit::new(limits.enrollments_per_minute, limits.enroll_burst),
            report_rate: Arc::new(RateLimit::new(limits.reports_per_minute, limits.report_burst)),
            store,
            ca,
            metrics,
            limits,
            require_client_cert,
        }
    }
}

fn reject(sequence: u64, code: RejectCode, message: impl Into<String>) -> CollectorMessage {
    CollectorMessage {
        kind: Some(Kind::Reject(Reject {
            sequence,
            code: code as i32,
            message: message.into(),
            retry_after_seconds: 0,
        })),
    }
}

fn timestamp_ms(t: &prost_types::Timestamp) -> Millis {
    t.seconds.saturating_mul(1000).saturating_add(i64::from(t.nanos / 1_000_000))
}

/// The metric label for a reject code.
fn outcome(code: RejectCode) -> &'static str {
    match code {
        RejectCode::Unspecified => "rejected",
        RejectCode::BadSignature => "bad_signature",
        RejectCode::UnknownAgent => "unknown_agent",
        RejectCode::Malformed => "malformed",
        RejectCode::AgentMismatch => "agent_mismatch",
        RejectCode::StaleSequence => "stale_sequence",
        RejectCode::Revoked => "revoked",
        RejectCode::ClockSkew => "clock_skew",
        RejectCode::LimitExceeded => "limit_exceeded",
        RejectCode::RateLimited => "rate_limited",
        RejectCode::SequenceReused => "sequence_reused",
        RejectCode::ClientCertificate => "client_certificate",
        RejectCode::BaseMismatch => "base_mismatch",
    }
}

/// What the stream handler needs to judge one report.
pub struct ReportCheck<'a> {
    pub store: &'a dyn Store,
    pub limits: &'a Limits,
    pub metrics: &'a Metrics,
    /// SHA-256 (hex) of the connection's verified client certificate, if it presented one.
    pub peer_cert: Option<&'a str>,
    pub require_client_cert: bool,
    report_rate: Option<&'a RateLimit<String>>,
}

impl<'a> ReportCheck<'a> {
    /// Checks without a report rate limit (tests and tools).
    pub fn new(store: &'a dyn Store, limits: &'a Limits, metrics: &'a Metrics) -> Self {
        Self { store, limits, metrics, peer_cert: None, require_client_cert: false, report_rate: None }
    }
}

/// Verifies and applies one signed report. `Err` means storage failed: nothing was acknowledged
/// and the stream is ended so the agent retries later.
pub async fn handle_report(check: &ReportCheck<'_>, signed: SignedReport) -> Result<CollectorMessage, StoreError> {
    Ok(handle_report_asking(check, signed).await?.0)
}

/// [`handle_report`], plus whether to ask the agent for a full inventory (`SendFull`, sent
/// before the answer): a heartbeat from an agent whose inventory this collector does not hold.
pub async fn handle_report_asking(
    check: &ReportCheck<'_>,
    signed: SignedReport,
) -> Result<(CollectorMessage, bool), StoreError> {
    let (answer, send_full) = judge(check, signed).await?;
    match &answer.kind {
        Some(Kind::Ack(ack)) => check.metrics.report(if ack.duplicate { "duplicate" } else { "stored" }),
        Some(Kind::Reject(r)) => check.metrics.report(outcome(RejectCode::try_from(r.code).unwrap_or_default())),
        Some(Kind::SendFull(_)) | None => {}
    }
    Ok((answer, send_full))
}

async fn judge(check: &ReportCheck<'_>, signed: SignedReport) -> Result<(CollectorMessage, bool), StoreError> {
    let mut send_full = false;
    let answer = judge_report(check, signed, &mut send_full).await?;
    Ok((answer, send_full))
}

/// The answer to one report; sets `send_full` when the agent is to send a full inventory.
async fn judge_report(
    check: &ReportCheck<'_>,
    signed: SignedReport,
    send_full: &mut bool,
) -> Result<CollectorMessage, StoreError> {
    let agent_id = signed.agent_id.clone();
    let digest = sha256(&signed.report);
    let size = signed.report.len() as u64;
    // Until the signature holds nothing inside the report is trusted, not even its sequence:
    // rejects before that point carry sequence 0 ("the report in flight").
    let Some(agent) = check.store.report_credentials(&agent_id).await? else {
        warn!(agent_id, "report from unknown agent");
        return Ok(reject(0, RejectCode::UnknownAgent, format!("agent {agent_id} is not enrolled")));
    };
    let report = match signing::verify(&signed, &agent.public_key) {
        Ok(r) => r,
        Err(e) => {
            warn!(agent_id, error = %e, "report refused");
            let code = match e {
                VerifyError::BadSignature | VerifyError::PublicKeyLength(_) => RejectCode::BadSignature,
                VerifyError::Malformed(_) => RejectCode::Malformed,
                VerifyError::AgentMismatch { .. } => RejectCode::AgentMismatch,
            };
            return Ok(reject(0, code, e.to_string()));
        }
    };
    let sequence = report.sequence;
    if agent.revoked {
        warn!(agent_id, sequence, "report from a revoked agent refused");
        return Ok(reject(sequence, RejectCode::Revoked, format!("agent {agent_id} was revoked")));
    }
    match check.peer_cert {
        Some(cert) if cert != agent.client_cert_sha256 => {
            warn!(agent_id, sequence, "client certificate of another agent");
            return Ok(reject(
                sequence,
                RejectCode::ClientCertificate,
                format!("the connection's client certificate was not issued to agent {agent_id}"),
            ));
        }
        None if check.require_client_cert => {
            return Ok(reject(
                sequence,
                RejectCode::ClientCertificate,
                "mutual TLS is required: connect with the client certificate issued at enrollment",
            ));
        }
        _ => {}
    }
    if let Some(rate) = check.report_rate
        && let Err(wait) = rate.check(&agent_id)
    {
        check.metrics.limit_hit(Limit::ReportRate);
        let secs = retry_secs(wait);
        warn!(agent_id, sequence, retry_in = secs, "report rate limit");
        let mut answer = reject(
            sequence,
            RejectCode::RateLimited,
            format!(
                "more than {} reports a minute (burst {}) from agent {agent_id}: retry in {secs} s",
                check.limits.reports_per_minute, check.limits.report_burst
            ),
        );
        if let Some(Kind::Reject(r)) = &mut answer.kind {
            r.retry_after_seconds = secs;
        }
        return Ok(answer);
    }
    if sequence == 0 {
        return Ok(reject(sequence, RejectCode::Malformed, "sequence numbers start at 1"));
    }
    let Some(collected) = report.collected_at.as_ref() else {
        return Ok(reject(sequence, RejectCode::Malformed, "report has no collected_at time"));
    };
    let collected_at = timestamp_ms(collected);
    let received_at = crate::store::now_ms();
    if let Some(message) = outside_window(collected_at, received_at, check.limits) {
        warn!(agent_id, sequence, message, "report time outside the window");
        return Ok(reject(sequence, RejectCode::ClockSkew, message));
    }
    let body = match report.body {
        Some(Body::Full(inv)) => ReportBody::Full(inv.into()),
        Some(Body::FullZstd(bytes)) => {
            match census_proto::convert::inventory_from_zstd(&bytes, check.limits.max_message_bytes) {
                Ok(inv) => ReportBody::Full(inv.into()),
                Err(message) => return Ok(reject(sequence, RejectCode::Malformed, message)),
            }
        }
        Some(Body::Delta(delta)) => {
            ReportBody::Delta { delta: Box::new(delta.into()), max_section_items: check.limits.max_section_items }
        }
        Some(Body::Heartbeat(_)) => ReportBody::Heartbeat,
        None => return Ok(reject(sequence, RejectCode::Malformed, "report has no body")),
    };
    let over = match &body {
        ReportBody::Full(inv) => within_limits(inv, check.limits),
        // Each list and string of the delta itself; the store checks the resulting lists.
        ReportBody::Delta { delta, .. } => within_limits_of(delta.as_ref(), check.limits),
        ReportBody::Heartbeat => Ok(()),
    };
    if let Err((limit, message)) = over {
        check.metrics.limit_hit(limit);
        warn!(agent_id, sequence, message, "report over a limit");
        return Ok(reject(sequence, RejectCode::LimitExceeded, message));
    }
    let declared = match &body {
        ReportBody::Full(inv) => Some(&inv.declared),
        ReportBody::Delta { delta, .. } => delta.declared.as_ref(),
        ReportBody::Heartbeat => None,
    };
    if let Some(Err(message)) = declared.map(census_inventory::Declared::check) {
        warn!(agent_id, sequence, message, "declared ownership or tags refused");
        return Ok(reject(sequence, RejectCode::Malformed, format!("declared: {message}")));
    }
    let verified = VerifiedReport {
        agent_id: agent_id.clone(),
        sequence,
        digest,
        bytes: size,
        agent_version: report.agent_version,
        collected_at,
        received_at,
        body,
    };
    Ok(match check.store.apply(verified).await? {
        Applied::Stored => {
            info!(agent_id, sequence, "report stored");
            CollectorMessage { kind: Some(Kind::Ack(Ack { sequence, duplicate: false })) }
        }
        Applied::StoredWithoutInventory => {
            info!(agent_id, sequence, "heartbeat stored; no inventory held for this agent: asking for a full one");
            *send_full = true;
            CollectorMessage { kind: Some(Kind::Ack(Ack { sequence, duplicate: false })) }
        }
        Applied::Duplicate => {
            debug!(agent_id, sequence, "duplicate report acknowledged");
            CollectorMessage { kind: Some(Kind::Ack(Ack { sequence, duplicate: true })) }
        }
        Applied::Reused => {
            warn!(agent_id, sequence, "sequence reused with other content");
            reject(
                sequence,
                RejectCode::SequenceReused,
                format!("sequence {sequence} was applied before with different content"),
            )
        }
        Applied::Stale { last } => {
            warn!(agent_id, sequence, last, "stale sequence refused");
            reject(
                sequence,
                RejectCode::StaleSequence,
                format!("sequence {sequence} is below the last applied {last} and was never applied"),
            )
        }
        Applied::Revoked => reject(sequence, RejectCode::Revoked, format!("agent {agent_id} was revoked")),
        Applied::BaseMismatch { base, stored } => {
            let stored = stored.as_deref().map_or_else(|| "none".to_string(), short_hex);
            let message = format!(
                "delta {sequence} applies to state {}, but the collector holds state {stored}: send a full inventory",
                short_hex(&base)
            );
            warn!(agent_id, sequence, message, "delta base mismatch");
            reject(sequence, RejectCode::BaseMismatch, message)
        }
        Applied::DeltaRefused(reason) => {
            warn!(agent_id, sequence, reason, "delta refused");
            reject(sequence, RejectCode::BaseMismatch, format!("delta {sequence} refused: {reason}"))
        }
    })
}

/// Why `collected_at` is outside the window the collector accepts, if it is.
fn outside_window(collected_at: Millis, now: Millis, limits: &Limits) -> Option<String> {
    let skew = i64::try_from(limits.max_clock_skew.as_millis()).unwrap_or(i64::MAX);
    let age = i64::try_from(limits.max_report_age.as_millis()).unwrap_or(i64::MAX);
    // Whole days past a day (humantime would say "1month 13h" for 31 days).
    let human = |ms: i64| match ms.max(0) / 1000 {
        s if s >= 86_400 => format!("{} days", s / 86_400),
        s => humantime::format_duration(Duration::from_secs(s as u64)).to_string(),
    };
    if collected_at > now.saturating_add(skew) {
        return Some(format!(
            "collected_at {} is {} ahead of the collector's clock (limits.max_clock_skew is {})",
            crate::api::rfc3339(collected_at),
            human(collected_at - now),
            humantime::format_duration(limits.max_clock_skew)
        ));
    }
    if collected_at < now.saturating_sub(age) {
        return Some(format!(
            "collected_at {} is {} old (limits.max_report_age is {})",
            crate::api::rfc3339(collected_at),
            human(now.saturating_sub(collected_at)),
            humantime::format_duration(limits.max_report_age)
        ));
    }
    None
}

/// Checks every list's length and every string's size in the inventory. The error names the
/// first offending field by its path, e.g. `software[812].name`.
pub fn within_limits(inv: &Inventory, limits: &Limits) -> Result<(), (Limit, String)> {
    within_limits_of(inv, limits)
}

/// [`within_limits`] for any serializable report part (a delta's lists and strings).
pub fn within_limits_of<T: serde::Serialize>(part: &T, limits: &Limits) -> Result<(), (Limit, String)> {
    crate::limits::check(part, limits)
}

type MessageStream = Pin<Box<dyn Stream<Item = Result<CollectorMessage, Status>> + Send>>;

fn peer_ip<T>(request: &Request<T>) -> IpAddr {
    request
        .extensions()
        .get::<PeerAddr>()
        .map(|p| p.0.ip())
        .or_else(|| request.remote_addr().map(|a| a.ip()))
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

#[tonic::async_trait]
impl AgentService for Ingest {
    async fn enroll(&self, request: Request<EnrollRequest>) -> Result<Response<EnrollResponse>, Status> {
        let ip = peer_ip(&request);
        if let Err(wait) = self.enroll_rate.check(&ip) {
            self.metrics.limit_hit(Limit::EnrollRate);
            self.metrics.enrollment("rate_limited");
            warn!(%ip, "enrollment rate limit");
            return Err(Status::resource_exhausted(format!(
                "too many enrollment attempts from {ip}: retry in {} s",
                retry_secs(wait)
            )));
        }
        let req = request.into_inner();
        if req.public_key.len() != PUBLIC_KEY_LEN {
            self.metrics.enrollment("invalid");
            return Err(Status::invalid_argument(format!(
                "public key must be {PUBLIC_KEY_LEN} bytes, got {}",
                req.public_key.len()
            )));
        }
        if req.hostname.len() > MAX_HOSTNAME_LEN {
            self.metrics.enrollment("invalid");
            return Err(Status::invalid_argument(format!("hostname longer than {MAX_HOSTNAME_LEN} bytes")));
        }
        if !signing::verify_enrollment_proof(&req.public_key, &req.hostname, &req.proof) {
            self.metrics.enrollment("invalid");
            warn!(%ip, "enrollment without proof of key possession");
            return Err(Status::invalid_argument("enrollment proof does not verify with the public key"));
        }
        let agent_id = signing::agent_id_for(&req.public_key);
        let cert = self.ca.client_certificate(&agent_id, &req.public_key).map_err(|e| {
            warn!(error = %e, "client certificate not issued");
            Status::internal("client certificate could not be issued")
        })?;
        let agent = NewAgent {
            agent_id: agent_id.clone(),
            public_key: req.public_key,
            hostname: req.hostname,
            agent_version: req.agent_version,
            enrolled_at: crate::store::now_ms(),
            secret_sha256: sha256(req.enroll_secret.as_bytes()),
            source: ip.to_string(),
            client_cert_sha256: cert.sha256,
        };
        if let Err(e) = self.store.enroll(agent).await {
            self.metrics.enrollment("refused");
            warn!(%ip, agent_id, error = %e, "enrollment refused");
            return Err(match e {
                StoreError::EnrollRefused(m) if m == "enroll secret is not valid" => Status::unauthenticated(m),
                StoreError::EnrollRefused(m) => Status::permission_denied(m),
                StoreError::KeyConflict(_) => Status::already_exists(e.to_string()),
                _ => Status::unavailable("enrollment could not be stored"),
            });
        }
        self.metrics.enrollment("enrolled");
        info!(agent_id, %ip, "agent enrolled");
        Ok(Response::new(EnrollResponse { agent_id, client_certificate_pem: cert.pem }))
    }

    type StreamStream = MessageStream;

    async fn stream(&self, request: Request<Streaming<SignedReport>>) -> Result<Response<Self::StreamStream>, Status> {
        let peer_cert = request.extensions().get::<PeerCert>().and_then(|c| c.0.clone());
        if self.require_client_cert && peer_cert.is_none() {
            return Err(Status::unauthenticated(
                "mutual TLS is required: connect with the client certificate issued at enrollment",
            ));
        }
        let Ok(permit) = self.streams.clone().try_acquire_owned() else {
            self.metrics.limit_hit(Limit::Streams);
            warn!(limit = self.limits.max_streams, "report stream limit reached");
            return Err(Status::resource_exhausted(format!(
                "too many report streams open (limits.max_streams is {}): retry later",
                self.limits.max_streams
            )));
        };
        let mut inbound = request.into_inner();
        let (store, metrics, limits) = (self.store.clone(), self.metrics.clone(), self.limits.clone());
        let (report_rate, require) = (self.report_rate.clone(), self.require_client_cert);
        let (tx, rx) = mpsc::channel::<Result<CollectorMessage, Status>>(8);
        tokio::spawn(async move {
            let _permit = permit;
            metrics.open_streams().inc();
            let check = ReportCheck {
                store: store.as_ref(),
                limits: &limits,
                metrics: &metrics,
                peer_cert: peer_cert.as_deref(),
                require_client_cert: require,
                report_rate: Some(&report_rate),
            };
            loop {
                let item = match tokio::time::timeout(limits.idle_timeout, inbound.next()).await {
                    Err(_) => {
                        metrics.limit_hit(Limit::IdleTimeout);
                        let idle = humantime::format_duration(limits.idle_timeout);
                        debug!(%idle, "closing an idle report stream");
                        let _ = tx
                            .send(Err(Status::deadline_exceeded(format!(
                                "no report for {idle} (limits.idle_timeout): closing the stream"
                            ))))
                            .await;
                        break;
                    }
                    Ok(None) => break,
                    Ok(Some(item)) => item,
                };
                let signed = match item {
                    Ok(s) => s,
                    Err(status) => {
                        if status.code() == tonic::Code::OutOfRange {
                            metrics.limit_hit(Limit::MessageSize);
                            warn!(error = %status.message(), "oversize report refused");
                            let _ = tx.send(Err(Status::out_of_range(status.message().to_string()))).await;
                        } else {
                            debug!(error = %status.message(), "report stream ended by the agent");
                        }
                        break;
                    }
                };
                let answer = match handle_report_asking(&check, signed).await {
                    Ok((msg, send_full)) => {
                        // Before the answer, so the agent has it when its send returns.
                        let ask = CollectorMessage {
                            kind: Some(Kind::SendFull(SendFull {
                                reason: "the collector holds no inventory of this agent".into(),
                            })),
                        };
                        if send_full && tx.send(Ok(ask)).await.is_err() {
                            break;
                        }
                        Ok(msg)
                    }
                    Err(e) => {
                        warn!(error = %e, "report not stored");
                        Err(Status::unavailable("report could not be stored; retry later"))
                    }
                };
                let fatal = answer.is_err();
                if tx.send(answer).await.is_err() || fatal {
                    break;
                }
            }
            metrics.open_streams().dec();
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use census_inventory::Package;

    #[test]
    fn limits_name_the_offending_field() {
        let limits = Limits { max_section_items: 3, max_string_bytes: 8, ..Limits::default() };
        let pkg = |name: &str| Package { name: name.into(), ..Default::default() };
        let mut inv = Inventory { software: vec![pkg("a"), pkg("b")], ..Default::default() };
        assert_eq!(within_limits(&inv, &limits), Ok(()));
        inv.software[1].name = "123456789".into();
        assert_eq!(
            within_limits(&inv, &limits),
            Err((Limit::StringLength, "software[1].name is 9 bytes; limits.max_string_bytes is 8".into()))
        );
        inv.software = (0..4).map(|_| pkg("x")).collect();
        assert_eq!(
            within_limits(&inv, &limits),
            Err((Limit::SectionItems, "software has 4 items; limits.max_section_items is 3".into()))
        );
    }

    #[test]
    fn window_refuses_future_and_old_times() {
        let limits = Limits::default();
        let now = 1_800_000_000_000;
        assert_eq!(outside_window(now, now, &limits), None);
        assert_eq!(outside_window(now + 60_000, now, &limits), None);
        let ahead = outside_window(now + 3_600_000, now, &limits).unwrap();
        assert!(ahead.ends_with("is 1h ahead of the collector's clock (limits.max_clock_skew is 5m)"), "{ahead}");
        let old = outside_window(now - 31 * 86_400_000, now, &limits).unwrap();
        assert!(old.ends_with("is 31 days old (limits.max_report_age is 30days)"), "{old}");
    }

    #[test]
    fn rate_limit_allows_the_burst_then_says_when() {
        let rate = RateLimit::<String>::new(60, 3);
        let key = "a".to_string();
        for _ in 0..3 {
            assert_eq!(rate.check(&key), Ok(()));
        }
        let wait = rate.check(&key).unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert_eq!(retry_secs(wait), 1);
        assert_eq!(rate.check(&"b".to_string()), Ok(()), "keys are independent");
    }
}
