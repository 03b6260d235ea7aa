//! The agent loop: enroll once, then sign and send a full report every interval (with jitter),
//! reconnecting with exponential backoff when the collector is unreachable.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use census_proto::signing::AgentKey;
use tracing::{info, warn};

use crate::client::{self, ClientError, CollectorTarget, ReportStream};
use crate::host::{Host, HostError};
use crate::state::{StateDir, StateError};

#[derive(Debug, Clone)]
pub struct RunConfig {
    pub collector: String,
    pub ca: PathBuf,
    pub enroll_secret: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub interval: Duration,
    pub root: PathBuf,
    pub once: bool,
    /// Listen for neighbours (live root only).
    pub listen: bool,
    pub neighbor_limits: census_discovery::table::Limits,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("inventory collection stopped unexpectedly")]
    Collect,
}

const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(300);

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

impl Agent {
    async fn connect(&self) -> Result<Session, RunError> {
        let mut client = client::connect_to(&self.target).await?;
        let read = |rel| self.host.read_value(rel).ok().flatten().filter(|h| !h.is_empty());
        let hostname = read("proc/sys/kernel/hostname").or_else(|| read("etc/hostname")).unwrap_or_default();
        let agent_id = client::ensure_enrolled(
            &mut client,
            &self.state,
            &self.key,
            &self.target,
            self.cfg.enroll_secret.as_deref(),
            &hostname,
        )
        .await?;
        info!(agent_id, collector = self.cfg.collector, "connected");
        Ok(Session { stream: ReportStream::open(&mut client).await? })
    }

    async fn report(&self, session: &mut Session) -> Result<u64, RunError> {
        let host = self.host.clone();
        let mut inventory =
            tokio::task::spawn_blocking(move || crate::sources::collect(&host)).await.map_err(|_| RunError::Collect)?;
        self.add_neighbors(&mut inventory);
        let signed = client::sign_full_report(&self.state, &self.key, &inventory)?;
        let ack = session.stream.send(signed).await.inspect_err(|e| {
            if e.is_unknown_agent() {
                // The collector lost or revoked our enrollment: enroll again on the next attempt.
                let _ = self.state.forget_enrollment();
            }
        })?;
        Ok(ack.sequence)
    }
}

impl Agent {
    /// What was heard since start; with `--once` on the live root, the kernel's neighbour
    /// tables (there is no time to listen).
    fn add_neighbors(&self, inventory: &mut census_inventory::Inventory) {
        let (neighbors, warnings) = match &self.listener {
            Some(listener) => listener.snapshot(),
            None if self.cfg.listen && self.cfg.once && self.host.is_live() => {
                let mut warnings = Vec::new();
                let oui = census_discovery::oui::Oui::load(Path::new(census_discovery::oui::DEFAULT_PATH)).ok();
                (crate::neighbors::kernel_neighbors(None, oui.as_ref(), &mut warnings), warnings)
            }
            None => return,
        };
        inventory.neighbors = neighbors;
        inventory.warnings.extend(
            warnings.into_iter().map(|message| census_inventory::Warning { source: "neighbors".into(), message }),
        );
    }
}

/// Runs the agent until `shutdown` completes (or after one acknowledged report with `once`).
pub async fn run(cfg: RunConfig, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
    // Check every argument before touching the state directory.
    let target = CollectorTarget::new(&cfg.collector, &cfg.ca)?;
    let host = Host::open(&cfg.root)?;
    let state_dir = match &cfg.state_dir {
        Some(d) => d.clone(),
        None => StateDir::default_path()?,
    };
    let state = StateDir::open(&state_dir)?;
    let key = state.load_or_create_key()?;
    info!(agent_id = key.agent_id(), state_dir = %state_dir.display(), root = %host.root().display(), "agent starting");
    let listener = (cfg.listen && !cfg.once && host.is_live()).then(|| {
        crate::neighbors::Listener::start(Path::new(census_discovery::oui::DEFAULT_PATH), cfg.neighbor_limits)
    });
    let agent = Agent { cfg, target, host, state, key, listener };

    if agent.cfg.once {
        let mut session = agent.connect().await?;
        let sequence = match agent.report(&mut session).await {
            // The collector lost this agent (a new database behind the same CA): enroll again
            // and resend, once.
            Err(RunError::Client(e)) if e.is_unknown_agent() && agent.cfg.enroll_secret.is_some() => {
                warn!(error = %e, "collector does not know this agent; enrolling again");
                session = agent.connect().await?;
                agent.report(&mut session).await?
            }
            other => other?,
        };
        info!(sequence, "report acknowledged");
        session.stream.close().await;
        return Ok(());
    }

    tokio::pin!(shutdown);
    let mut backoff = BACKOFF_START;
    let mut session: Option<Session> = None;
    loop {
        let wait = match cycle(&agent, &mut session).await {
            Ok(sequence) => {
                info!(sequence, "report acknowledged");
                backoff = BACKOFF_START;
                with_jitter(agent.cfg.interval)
            }
            Err(e) => {
                warn!(error = %e, retry_in = ?backoff, "report not delivered");
                session = None;
                let wait = with_jitter(backoff);
                backoff = (backoff * 2).min(BACKOFF_MAX);
                wait
            }
        };
        tokio::select! {
            _ = &mut shutdown => {
                info!("shutting down");
                return Ok(());
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

async fn cycle(agent: &Agent, session: &mut Option<Session>) -> Result<u64, RunError> {
    if session.is_none() {
        *session = Some(agent.connect().await?);
    }
    agent.report(session.as_mut().expect("session just set")).await
}

/// `d` plus up to 10% random jitter, so a fleet restarted together does not report in lockstep.
fn with_jitter(d: Duration) -> Duration {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 4];
    let r = ring::rand::SystemRandom::new().fill(&mut b).map(|_| u32::from_le_bytes(b)).unwrap_or(0);
    let max = d.as_millis() as u64 / 10;
    d + Duration::from_millis(if max == 0 { 0 } else { u64::from(r) % max })
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
}
