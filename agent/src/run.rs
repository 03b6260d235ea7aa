//! The agent loop: enroll once, then every interval (with jitter) collect an inventory, make
//! it a report, sign it, put it in the on-disk spool and deliver the spool, oldest first.
//!
//! Which report: a full inventory when the agent has no base (first contact, or the base was
//! dropped because the collector asked for a full one or a report it built on was lost), or
//! when `--full-every` has passed since the last full one; otherwise the delta against the base
//! (the last inventory spooled, kept in the state dir), or a heartbeat when nothing changed.
//! Deltas chain in spool order: each names the state hash of the one before, which the spool
//! delivers in order and the collector applies exactly once. When the collector's state is not
//! a delta's base (`BASE_MISMATCH`, or a `SendFull` message), the agent drops the deltas that
//! cannot apply, forgets its base and sends a full inventory at once.
//!
//! A report leaves the spool only when the collector acknowledged it (after its store
//! committed) or refused it for good, so nothing is lost while the collector is away: delivery
//! backs off exponentially, and inventories keep being collected on the interval schedule
//! (the spool's bounds coalesce the oldest). See [`crate::spool`].

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use census_proto::signing::AgentKey;
use census_proto::v1;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::client::{self, ClientError, CollectorTarget, RejectAction, ReportStream};
use crate::host::{Host, HostError};
use crate::spool::{self, ReportKind, Spool, SpoolError};
use crate::state::{StateDir, StateError};

#[derive(Debug, Clone)]
pub struct RunConfig {
    pub collector: String,
    pub ca: PathBuf,
    /// `collector` is a plaintext development collector on loopback (no `ca`).
    pub allow_plaintext: bool,
    pub enroll_secret: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub interval: Duration,
    pub root: PathBuf,
    pub once: bool,
    /// Listen for neighbours (live root only).
    pub listen: bool,
    pub neighbor_limits: census_discovery::table::Limits,
    /// Bounds of the spool of unacknowledged reports.
    pub spool_limits: spool::Limits,
    /// A full inventory at least this often (deltas and heartbeats in between); zero: always.
    pub full_every: Duration,
    /// Ownership and tags this host declares (the config file's `[declared]`), sent with
    /// every inventory.
    pub declared: census_inventory::Declared,
    /// The security product catalog (`--security-catalog`, else the built-in one).
    pub security_catalog: std::sync::Arc<crate::catalog::Catalog>,
}

/// The default `--full-every`.
pub const DEFAULT_FULL_EVERY: Duration = Duration::from_secs(86_400);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("inventory collection stopped unexpectedly")]
    Collect,
}

const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// The shortest `--interval` (short ones are for tests).
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// The longest `--interval`: a week.
pub const MAX_INTERVAL: Duration = Duration::from_secs(7 * 86_400);

struct Agent {
    cfg: RunConfig,
    target: CollectorTarget,
    host: Host,
    state: StateDir,
    key: AgentKey,
    /// Neighbour listening; `None` with `--once`, `--no-listen` or a root other than `/`.
    listener: Option<crate::neighbors::Listener>,
}

/// A connected, enrolled session with an open report stream.
struct Session {
    stream: ReportStream,
}

/// What one delivery of the spool did (it ends with the spool empty).
#[derive(Debug, Default)]
struct Delivered {
    acknowledged: usize,
    /// Reports the collector refused for good, dropped from the spool.
    refused: Vec<ClientError>,
    /// The collector needs a full inventory (a delta's base mismatch, or `SendFull`): the base
    /// is forgotten, and a report is to be collected now.
    full_requested: bool,
}

impl Agent {
    async fn connect(&self) -> Result<Session, RunError> {
        let read = |rel| self.host.read_value(rel).ok().flatten().filter(|h| !h.is_empty());
        let hostname = read("proc/sys/kernel/hostname").or_else(|| read("etc/hostname")).unwrap_or_default();
        let (mut client, agent_id) =
            client::open_session(&self.target, &self.state, &self.key, self.cfg.enroll_secret.as_deref(), &hostname)
                .await?;
        info!(agent_id, collector = self.cfg.collector, "connected");
        Ok(Session { stream: ReportStream::open(&mut client).await? })
    }

    /// Collects an inventory (with its neighbours), makes it a full, delta or heartbeat report,
    /// signs it (which reserves its sequence durably) and spools it. Returns the sequence.
    async fn collect_and_spool(&self, spool: &mut Spool) -> Result<u64, RunError> {
        let (host, catalog) = (self.host.clone(), self.cfg.security_catalog.clone());
        let mut inventory = tokio::task::spawn_blocking(move || crate::sources::collect_with(&host, &catalog))
            .await
            .map_err(|_| RunError::Collect)?;
        self.add_neighbors(&mut inventory);
        inventory.declared = self.cfg.declared.clone();
        let now = now_ms();
        let base = self.state.base().unwrap_or_else(|e| {
            warn!(error = %e, "delta base unreadable; sending a full inventory");
            None
        });
        let (body, kind) = report_body(base.as_ref(), &inventory, self.full_due(now));
        let signed = client::sign_report(&self.state, &self.key, body)?;
        let sequence = sequence_of(&signed);
        for w in spool.push(sequence, &signed) {
            warn!("{w}");
        }
        // The base moves once the report is spooled. A crash between the two leaves the old
        // base: the next delta names a state the collector does not hold, is refused with
        // BASE_MISMATCH, and a full inventory follows.
        let saved = match kind {
            ReportKind::Full => self.state.save_base(&inventory).and_then(|()| self.state.save_last_full_ms(now)),
            ReportKind::Delta => self.state.save_base(&inventory),
            ReportKind::Heartbeat => Ok(()),
        };
        if let Err(e) = saved {
            warn!(error = %e, "delta base not saved; the next report is a full inventory");
            self.forget_base();
        }
        // Coalescing removed a full or a delta the collector never got: the deltas after it
        // cannot apply, so the next report is full (unless this one is).
        if spool.take_needs_full() && kind != ReportKind::Full {
            self.forget_base();
        }
        debug!(sequence, kind = ?kind, spooled = spool.len(), "report spooled");
        Ok(sequence)
    }

    /// Whether `--full-every` has passed since the last full inventory (or the clock went back).
    fn full_due(&self, now: i64) -> bool {
        let every = i64::try_from(self.cfg.full_every.as_millis()).unwrap_or(i64::MAX);
        self.state.last_full_ms().is_none_or(|last| last > now || now.saturating_sub(last) >= every)
    }

    /// Drops the delta base: the next report is a full inventory.
    fn forget_base(&self) {
        if let Err(e) = self.state.forget_base() {
            warn!(error = %e, "cannot remove the delta base");
        }
    }

    /// Sends every spooled report, oldest first, each after the previous one's answer.
    ///
    /// An acknowledged report leaves the spool, and so does one refused for good (with a
    /// warning). "Unknown agent" forgets the enrollment and, with an enroll secret, enrolls
    /// again and resends (once per delivery). Anything else (a transport failure, a refusal
    /// worth retrying) stops the delivery with the rest kept in the spool.
    async fn deliver(&self, spool: &mut Spool, session: &mut Option<Session>) -> Result<Delivered, RunError> {
        let mut done = Delivered::default();
        // The collector may have closed a stream kept idle since the last delivery: its first
        // failure earns one immediate reconnect before it counts.
        let mut idle_session = session.is_some();
        let mut reenrolled = false;
        while let Some(sequence) = spool.oldest() {
            let report = match spool.load(sequence) {
                Ok(r) => r,
                Err(e) => {
                    warn!(sequence, error = %e, "spooled report cannot be read; dropped");
                    forget(spool, sequence);
                    continue;
                }
            };
            let open = match session {
                Some(s) => s,
                None => session.insert(self.connect().await?),
            };
            let result = match open.stream.send(report.clone()).await {
                Err(e) if idle_session && reject_code(&e).is_none() => {
                    debug!(error = %e, "idle stream failed; reconnecting");
                    *session = None;
                    session.insert(self.connect().await?).stream.send(report).await
                }
                r => r,
            };
            idle_session = false;
            if session.as_mut().is_some_and(|s| s.stream.take_full_requested()) {
                info!("the collector asked for a full inventory");
                self.forget_base();
                done.full_requested = true;
            }
            let e = match result {
                Ok(ack) => {
                    info!(sequence, duplicate = ack.duplicate, "report acknowledged");
                    forget(spool, sequence);
                    done.acknowledged += 1;
                    continue;
                }
                Err(e) => e,
            };
            let Some(code) = reject_code(&e) else {
                // Transport failure: the stream is unusable.
                *session = None;
                return Err(e.into());
            };
            match RejectAction::for_code(code) {
                RejectAction::Drop => {
                    warn!(sequence, reason = %e, "collector refused the report for good; dropped from the spool");
                    // The collector lacks the state a dropped full or delta made: deltas built
                    // on it would be refused, so the next report is full.
                    if spool.kind(sequence) != Some(ReportKind::Heartbeat) {
                        self.forget_base();
                    }
                    forget(spool, sequence);
                    done.refused.push(e);
                }
                RejectAction::SendFull => {
                    let (dropped, full_follows) = spool.drop_chain(sequence);
                    warn!(reason = %e, ?dropped, "the collector cannot apply this delta; dropped it and the deltas after it");
                    if !full_follows {
                        self.forget_base();
                        done.full_requested = true;
                    }
                }
                RejectAction::Reenroll => {
                    // The collector lost or revoked our enrollment: enroll again (the same key)
                    // and resend, once per delivery.
                    let _ = self.state.forget_enrollment();
                    *session = None;
                    if reenrolled || self.cfg.enroll_secret.is_none() {
                        return Err(e.into());
                    }
                    warn!(error = %e, "collector does not know this agent; enrolling again");
                    reenrolled = true;
                }
                RejectAction::Retry => return Err(e.into()),
            }
        }
        Ok(done)
    }

    /// What was heard since start; with `--once`, the kernel's neighbour tables (there is no
    /// time to listen): the live kernel's, or under another root its `proc/net/arp`.
    fn add_neighbors(&self, inventory: &mut census_inventory::Inventory) {
        let (neighbors, warnings) = match &self.listener {
            Some(listener) => listener.snapshot(),
            None if self.cfg.listen && self.cfg.once => {
                let mut warnings = Vec::new();
                let oui = census_discovery::oui::Oui::load(Path::new(census_discovery::oui::DEFAULT_PATH)).ok();
                (crate::neighbors::kernel_neighbors_in(&self.host, None, oui.as_ref(), &mut warnings), warnings)
            }
            None => return,
        };
        inventory.neighbors = neighbors;
        inventory.warnings.extend(
            warnings.into_iter().map(|message| census_inventory::Warning { source: "neighbors".into(), message }),
        );
    }
}

/// Removes `sequence` from the spool; a file that cannot be removed is only a warning (it is
/// sent again after a restart, and the collector acknowledges it as a duplicate).
fn forget(spool: &mut Spool, sequence: u64) {
    if let Err(e) = spool.remove(sequence) {
        warn!(sequence, error = %e, "cannot remove the spooled report");
    }
}

fn reject_code(e: &ClientError) -> Option<v1::RejectCode> {
    match e {
        ClientError::Rejected { code, .. } => Some(*code),
        _ => None,
    }
}

/// The collector's `retry_after_seconds`, when a refusal asks for a specific wait.
fn retry_after(e: &RunError) -> Option<Duration> {
    match e {
        RunError::Client(ClientError::Rejected { retry_after_seconds, .. }) if *retry_after_seconds > 0 => {
            Some(Duration::from_secs(u64::from(*retry_after_seconds)))
        }
        _ => None,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The report for `inventory`: full when there is no base or one is due; else the delta from
/// `base` (with both state hashes), or a heartbeat when nothing changed.
fn report_body(
    base: Option<&census_inventory::Inventory>,
    inventory: &census_inventory::Inventory,
    full_due: bool,
) -> (v1::report::Body, ReportKind) {
    use census_proto::convert::state_hash;
    match base {
        Some(base) if !full_due => {
            let mut delta = census_inventory::delta::diff(base, inventory);
            if delta.is_empty() {
                return (v1::report::Body::Heartbeat(v1::Heartbeat {}), ReportKind::Heartbeat);
            }
            delta.base_sha256 = state_hash(base).to_vec();
            delta.result_sha256 = state_hash(inventory).to_vec();
            (v1::report::Body::Delta((&delta).into()), ReportKind::Delta)
        }
        _ => (census_proto::convert::full_zstd(inventory), ReportKind::Full),
    }
}

fn sequence_of(signed: &v1::SignedReport) -> u64 {
    use prost::Message;
    v1::Report::decode(signed.report.as_slice()).map(|r| r.sequence).unwrap_or_default()
}

/// Runs the agent until `shutdown` completes. With `once`: collect one report, deliver the
/// whole spool and return; an error when anything was not delivered (the spool keeps it for
/// the next run) or was refused.
pub async fn run(cfg: RunConfig, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
    // Check every argument before touching the state directory.
    let target = if cfg.allow_plaintext {
        CollectorTarget::plaintext_loopback(&cfg.collector)?
    } else {
        CollectorTarget::new(&cfg.collector, &cfg.ca)?
    };
    let host = Host::open(&cfg.root)?;
    let state_dir = match &cfg.state_dir {
        Some(d) => d.clone(),
        None => StateDir::default_path()?,
    };
    let state = StateDir::open(&state_dir)?;
    let key = state.load_or_create_key()?;
    info!(agent_id = key.agent_id(), state_dir = %state_dir.display(), root = %host.root().display(), "agent starting");
    let (mut spool, warnings) = Spool::open(&state.path().join(spool::DIR_NAME), cfg.spool_limits)?;
    for w in warnings {
        warn!("{w}");
    }
    info!(reports = spool.len(), bytes = spool.bytes(), dir = %spool.dir().display(), "spool loaded");
    let listener = (cfg.listen && !cfg.once && host.is_live()).then(|| {
        crate::neighbors::Listener::start(Path::new(census_discovery::oui::DEFAULT_PATH), cfg.neighbor_limits)
    });
    let agent = Agent { cfg, target, host, state, key, listener };
    let mut session: Option<Session> = None;

    if spool.take_needs_full() {
        // Opening coalesced away a full or a delta (smaller bounds than the last run's).
        agent.forget_base();
    }
    if agent.cfg.once {
        agent.collect_and_spool(&mut spool).await?;
        let mut result = agent.deliver(&mut spool, &mut session).await;
        // The collector needs a full inventory: send it in this run (once).
        if let Ok(first) = &mut result
            && first.full_requested
        {
            agent.collect_and_spool(&mut spool).await?;
            let refused = std::mem::take(&mut first.refused);
            let acknowledged = first.acknowledged;
            result = agent.deliver(&mut spool, &mut session).await.map(|mut second| {
                second.refused.splice(0..0, refused);
                second.acknowledged += acknowledged;
                second
            });
        }
        if let Some(s) = session {
            s.stream.close().await;
        }
        if !spool.is_empty() {
            warn!(reports = spool.len(), "reports not delivered; the spool keeps them for the next run");
        }
        let done = result?;
        debug!(acknowledged = done.acknowledged, "spool delivered");
        return match done.refused.into_iter().next_back() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        };
    }

    tokio::pin!(shutdown);
    let mut backoff = BACKOFF_START;
    let mut next_collect = Instant::now();
    // Reports an earlier run left are delivered before the first collection.
    let mut next_delivery = (!spool.is_empty()).then(Instant::now);
    loop {
        if next_delivery.is_some_and(|t| t <= Instant::now()) {
            let result = tokio::select! {
                _ = &mut shutdown => break,
                r = agent.deliver(&mut spool, &mut session) => r,
            };
            match result {
                Ok(done) => {
                    backoff = BACKOFF_START;
                    next_delivery = None;
                    if done.full_requested {
                        next_collect = Instant::now();
                    }
                }
                Err(e) => {
                    let wait = retry_after(&e).unwrap_or_else(|| {
                        let wait = with_jitter(backoff);
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                        wait
                    });
                    warn!(error = %e, retry_in = ?wait, spooled = spool.len(), "report not delivered");
                    next_delivery = Some(Instant::now() + wait);
                }
            }
            continue;
        }
        if next_collect <= Instant::now() {
            // New inventories follow the interval, whatever the delivery's backoff.
            let result = tokio::select! {
                _ = &mut shutdown => break,
                r = agent.collect_and_spool(&mut spool) => r,
            };
            if let Err(e) = result {
                warn!(error = %e, "report not collected");
            }
            next_collect = Instant::now() + with_jitter(agent.cfg.interval);
            // Deliver at once, unless a backoff is running.
            next_delivery.get_or_insert_with(Instant::now);
            continue;
        }
        let wake = next_delivery.map_or(next_collect, |d| d.min(next_collect));
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
    info!(spooled = spool.len(), "shutting down");
    if let Some(s) = session {
        s.stream.close().await;
    }
    Ok(())
}

/// `d` plus up to 10% random jitter, so a fleet restarted together does not report in lockstep.
fn with_jitter(d: Duration) -> Duration {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 4];
    let r = ring::rand::SystemRandom::new().fill(&mut b).map(|_| u32::from_le_bytes(b)).unwrap_or(0);
    let max = d.as_millis() as u64 / 10;
    d + Duration::from_millis(if max == 0 { 0 } else { u64::from(r) % max })
}

/// Parses `--interval`: a bare number is seconds (`3600`); otherwise a duration such as `30s`,
/// `500ms`, `15m`, `1h`, `1h 30m` or `2d` (humantime's units).
/// Between [`MIN_INTERVAL`] and [`MAX_INTERVAL`].
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < MIN_INTERVAL || d > MAX_INTERVAL {
        return Err(format!("{s:?} is outside 100ms..7d"));
    }
    Ok(d)
}

/// Parses `--full-every`: like `--interval` (`24h`, `7d`, a bare number of seconds); `0` sends
/// every report as a full inventory. At most a year.
pub fn parse_full_every(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d > Duration::from_secs(366 * 86_400) {
        return Err(format!("{s:?} is longer than a year"));
    }
    Ok(d)
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let text = s.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map(Duration::from_secs).map_err(|_| format!("{s:?} is too large"));
    }
    humantime::parse_duration(text).map_err(|e| format!("{s:?} is not a duration (e.g. 3600, 30s, 500ms, 1h): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..100 {
            let d = with_jitter(Duration::from_secs(100));
            assert!(d >= Duration::from_secs(100) && d < Duration::from_secs(110), "{d:?}");
        }
        assert_eq!(with_jitter(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn intervals_are_seconds_or_durations_within_bounds() {
        let secs = Duration::from_secs;
        assert_eq!(parse_interval("3600"), Ok(secs(3600)));
        assert_eq!(parse_interval("1"), Ok(secs(1)));
        assert_eq!(parse_interval("30s"), Ok(secs(30)));
        assert_eq!(parse_interval("1h"), Ok(secs(3600)));
        assert_eq!(parse_interval("1h 30m"), Ok(secs(5400)));
        assert_eq!(parse_interval("1h30m"), Ok(secs(5400)));
        assert_eq!(parse_interval("2 days"), Ok(secs(172_800)));
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("100ms"), Ok(MIN_INTERVAL));
        assert_eq!(parse_interval("7d"), Ok(MAX_INTERVAL));
        assert_eq!(parse_interval("1.5h"), Ok(secs(5400)));
        for bad in ["0", "99ms", "8d", "", "h", "10 parsecs", "-1", "1h x", "99999999999999999999h"] {
            assert!(parse_interval(bad).is_err(), "{bad:?}");
        }
    }

    fn fixture_inventories() -> Vec<(String, census_inventory::Inventory)> {
        let roots = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/roots");
        let mut names: Vec<_> =
            std::fs::read_dir(&roots).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let inv = crate::sources::collect(&Host::open(&roots.join(&name)).unwrap());
                (name, inv)
            })
            .collect()
    }

    #[test]
    fn deltas_between_any_two_fixture_hosts_apply_to_the_same_state() {
        use census_inventory::delta;
        use census_proto::convert::state_hash;
        let all = fixture_inventories();
        assert!(all.len() >= 5, "{}", all.len());
        for (a, old) in &all {
            for (b, new) in &all {
                let (body, kind) = report_body(Some(old), new, false);
                if a == b {
                    assert_eq!(kind, ReportKind::Heartbeat, "{a}");
                    continue;
                }
                assert_eq!(kind, ReportKind::Delta, "{a}->{b}");
                let v1::report::Body::Delta(wire) = body else { panic!("{a}->{b}: not a delta") };
                let d = delta::InventoryDelta::from(wire);
                assert_eq!(d.base_sha256, state_hash(old).to_vec());
                let got = delta::apply(old, &d).unwrap_or_else(|e| panic!("{a}->{b}: {e}"));
                assert_eq!(got, delta::canonical(new), "{a}->{b}");
                assert_eq!(state_hash(&got).to_vec(), d.result_sha256, "{a}->{b}");
            }
        }
    }

    #[test]
    fn the_report_is_full_without_a_base_or_when_due_else_delta_or_heartbeat() {
        let (_, inv) = fixture_inventories().into_iter().find(|(n, _)| n == "debian12").unwrap();
        assert_eq!(report_body(None, &inv, false).1, ReportKind::Full);
        assert_eq!(report_body(Some(&inv), &inv, true).1, ReportKind::Full);
        assert_eq!(report_body(Some(&inv), &inv, false).1, ReportKind::Heartbeat);
        let mut upgraded = inv.clone();
        upgraded.software[0].version.push_str("+1");
        let (body, kind) = report_body(Some(&inv), &upgraded, false);
        assert_eq!(kind, ReportKind::Delta);
        let v1::report::Body::Delta(d) = body else { panic!("not a delta") };
        assert_eq!(d.software_upserts.len(), 1);
        assert!(d.software_removed.is_empty() && d.os.is_none() && d.hardware.is_none());
    }

    #[test]
    fn full_every_takes_durations_and_zero() {
        assert_eq!(parse_full_every("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_full_every("0"), Ok(Duration::ZERO));
        assert_eq!(parse_full_every("90"), Ok(Duration::from_secs(90)));
        assert!(parse_full_every("400d").is_err());
        assert!(parse_full_every("soon").is_err());
    }

    #[test]
    fn a_refusal_with_retry_after_sets_the_wait() {
        let rejected = |code, retry_after_seconds| {
            RunError::Client(ClientError::Rejected { sequence: 3, code, message: "m".into(), retry_after_seconds })
        };
        assert_eq!(retry_after(&rejected(v1::RejectCode::RateLimited, 7)), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&rejected(v1::RejectCode::RateLimited, 0)), None);
        assert_eq!(retry_after(&RunError::Collect), None);
    }
}
