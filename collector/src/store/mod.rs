//! Storage: one trait, one implementation per backend, one conformance suite for all.
//!
//! Ingest and queries speak only to [`Store`]; SQLite ([`sqlite::SqliteStore`]) is the embedded
//! default and a PostgreSQL backend can follow without touching either.

use std::sync::Arc;

use census_inventory::Inventory;
use serde::Serialize;

pub mod admin;
pub mod coverage;
mod document;
pub mod fleet;
pub mod history;
pub mod lifecycle;
pub mod sqlite;
mod sqlite_admin;
#[cfg(test)]
pub(crate) mod suite;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

pub fn now_ms() -> Millis {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as Millis).unwrap_or(0)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("database: {0}")]
    Db(String),
    #[error("public key of agent {0} differs from the one it enrolled with")]
    KeyConflict(String),
    /// Enrollment refused: the message says why (unknown, revoked, expired or used-up secret,
    /// revoked agent) and is safe to show the client.
    #[error("{0}")]
    EnrollRefused(String),
}

#[derive(Debug, Clone)]
pub struct NewAgent {
    pub agent_id: String,
    pub public_key: Vec<u8>,
    pub hostname: String,
    pub agent_version: String,
    pub enrolled_at: Millis,
    /// SHA-256 of the enroll secret presented.
    pub secret_sha256: Vec<u8>,
    /// The peer address the enrollment came from.
    pub source: String,
    /// SHA-256 of the client certificate issued with this enrollment.
    pub client_cert_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    pub agent_id: String,
    pub public_key: Vec<u8>,
    pub last_sequence: u64,
    pub revoked: bool,
    /// SHA-256 of the client certificate issued at the last enrollment ("" before mTLS).
    pub client_cert_sha256: String,
}

/// A verified report, ready to apply.
#[derive(Debug, Clone)]
pub struct VerifiedReport {
    pub agent_id: String,
    pub sequence: u64,
    /// SHA-256 of the signed report bytes: a resent copy has the same digest.
    pub digest: Vec<u8>,
    /// Size of the signed report bytes.
    pub bytes: u64,
    pub agent_version: String,
    pub collected_at: Millis,
    pub received_at: Millis,
    pub body: ReportBody,
}

/// What a verified report carries.
#[derive(Debug, Clone)]
// A full inventory is the common body and moves once, into the store: boxing it buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum ReportBody {
    /// A full inventory: replaces the stored one.
    Full(Inventory),
    /// Changes to the stored inventory whose state hash is `delta.base_sha256`.
    Delta {
        delta: Box<census_inventory::delta::InventoryDelta>,
        /// `limits.max_section_items`, which the resulting inventory must keep too.
        max_section_items: usize,
    },
    /// Liveness only.
    Heartbeat,
}

impl ReportBody {
    /// The `reports.kind` column: `full`, `delta` or `heartbeat`.
    pub fn kind(&self) -> &'static str {
        match self {
            ReportBody::Full(_) => "full",
            ReportBody::Delta { .. } => "delta",
            ReportBody::Heartbeat => "heartbeat",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Durably stored.
    Stored,
    /// A heartbeat, durably stored, from an agent whose inventory the store does not hold (it
    /// lost it): the agent is to send a full inventory.
    StoredWithoutInventory,
    /// This sequence was applied before with the same bytes: acknowledged again, nothing
    /// changed.
    Duplicate,
    /// This sequence was applied before with other bytes: refused, nothing changed.
    Reused,
    /// Lower than the last applied sequence and never applied: refused, nothing changed.
    Stale { last: u64 },
    /// The agent was revoked: refused, nothing changed.
    Revoked,
    /// A delta whose base is not the stored state (`stored` is `None` when none is stored):
    /// refused, nothing changed; the agent is to send a full inventory.
    BaseMismatch { base: Vec<u8>, stored: Option<Vec<u8>> },
    /// A delta that does not apply to the stored state, or whose result is not the state it
    /// names, or is over a limit: refused, nothing changed.
    DeltaRefused(String),
}

/// One line of `census hosts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostSummary {
    pub id: String,
    pub hostname: String,
    pub os: String,
    pub os_id: String,
    pub os_version: String,
    pub kernel: String,
    pub arch: String,
    pub last_seen: Millis,
    pub package_count: u64,
    pub agent_version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostDetail {
    #[serde(flatten)]
    pub summary: HostSummary,
    pub machine_id: String,
    pub enrolled_at: Millis,
    pub sequence: u64,
    pub collected_at: Millis,
    /// The asset (machine) the agent is linked to, if any.
    pub asset_id: Option<String>,
    pub inventory: Inventory,
}

/// One installed copy of a package on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SoftwareRow {
    pub host_id: String,
    pub hostname: String,
    pub name: String,
    pub version: String,
    pub arch: String,
    pub source: String,
    pub purl: String,
    pub location: String,
}

/// How many of the agents that heard an unmanaged device its row names (the most recent ones);
/// a printer on a busy segment is heard by every host there.
pub const SEEN_BY_SHOWN: usize = 10;

/// One device heard on the network, merged over every agent that heard it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct NeighborRow {
    pub mac: String,
    pub vendor: String,
    pub kind_hint: String,
    pub ipv4: Vec<String>,
    pub ipv6: Vec<String>,
    pub names: Vec<String>,
    pub protocols: Vec<String>,
    /// Unix seconds, over all sightings.
    pub first_seen: i64,
    pub last_seen: i64,
    pub attributes: Vec<census_inventory::NeighborAttribute>,
    /// Which agents heard it, by host name (for unmanaged devices: the
    /// [`SEEN_BY_SHOWN`] that heard it last).
    pub seen_by: Vec<Sighting>,
    /// How many agents heard it.
    #[serde(default)]
    pub heard_by: u64,
    /// The managed host (agent id) whose MAC or globally unique address it has; `None`: an
    /// unmanaged device.
    #[serde(default)]
    pub managed_by: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Sighting {
    pub host_id: String,
    pub hostname: String,
    pub interface: String,
    pub last_seen: i64,
}

impl NeighborRow {
    /// Folds the sightings of one MAC (in host-name order) into one row: addresses, names,
    /// protocols and attributes united, earliest first and latest last seen, the first vendor
    /// and kind hint an agent knew.
    pub fn merge(mac: String, sightings: Vec<(Sighting, census_inventory::Neighbor)>) -> Self {
        fn union(into: &mut Vec<String>, from: &[String]) {
            for v in from {
                if !into.contains(v) {
                    into.push(v.clone());
                }
            }
        }
        let mut row = NeighborRow { mac, first_seen: i64::MAX, ..Default::default() };
        for (sighting, n) in sightings {
            if row.vendor.is_empty() {
                row.vendor = n.vendor.clone();
            }
            if row.kind_hint.is_empty() {
                row.kind_hint = n.kind_hint.clone();
            }
            union(&mut row.ipv4, &n.ipv4);
            union(&mut row.ipv6, &n.ipv6);
            union(&mut row.names, &n.names);
            union(&mut row.protocols, &n.protocols);
            for a in n.attributes {
                if !row.attributes.contains(&a) {
                    row.attributes.push(a);
                }
            }
            row.first_seen = row.first_seen.min(n.first_seen);
            row.last_seen = row.last_seen.max(n.last_seen);
            row.seen_by.push(sighting);
        }
        row.heard_by = row.seen_by.len() as u64;
        if row.first_seen == i64::MAX {
            row.first_seen = 0;
        }
        row.attributes.sort();
        row
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostLookup {
    Found(Box<HostDetail>),
    NotFound,
    /// The query matched several hosts: their ids.
    Ambiguous(Vec<String>),
}

#[async_trait::async_trait]
pub trait Store:
    admin::AdminStore
    + coverage::CoverageStore
    + fleet::FleetStore
    + history::HistoryStore
    + lifecycle::LifecycleStore
    + Send
    + Sync
    + 'static
{
    /// Records an agent and its key, given a valid enroll secret (known, not revoked, not
    /// expired, not used up), whose use count it increments, in one transaction. Enrolling the
    /// same id with the same key again updates the host name, version and client certificate and
    /// uses nothing; with another key, or when the agent was revoked, it is refused.
    async fn enroll(&self, agent: NewAgent) -> Result<(), StoreError>;
    async fn agent(&self, agent_id: &str) -> Result<Option<AgentRecord>, StoreError>;
    /// What checking a report needs of its agent (key, revocation, client certificate), from a
    /// cache where the backend keeps one: the report path asks this once per report. A stale
    /// `revoked = false` is harmless, because [`Store::apply`] checks revocation again.
    async fn report_credentials(&self, agent_id: &str) -> Result<Option<Arc<AgentRecord>>, StoreError> {
        Ok(self.agent(agent_id).await?.map(Arc::new))
    }
    /// Applies a verified report in one transaction: revocation and sequence checks, the
    /// applied-report log, inventory, packages. Log rows older than the backend's retention
    /// (the collector's `max_report_age`: older reports are refused anyway) are pruned now and
    /// then.
    async fn apply(&self, report: VerifiedReport) -> Result<Applied, StoreError>;
    /// Hosts that have sent at least one full inventory, by host name.
    async fn hosts(&self) -> Result<Vec<HostSummary>, StoreError>;
    /// Every installed copy of the package named exactly `name` (optionally from one package
    /// source, optionally only versions satisfying `version` under the package's own ordering)
    /// on every host, by host name.
    async fn software(
        &self,
        name: &str,
        source: Option<&str>,
        version: Option<census_inventory::version::Constraint>,
    ) -> Result<Vec<SoftwareRow>, StoreError>;
    /// A host by exact id, unique id prefix (4+ characters) or unique host name.
    async fn host(&self, query: &str) -> Result<HostLookup, StoreError>;
    /// Every device the agents heard, by MAC, each with the agents that heard it.
    async fn neighbors(&self) -> Result<Vec<NeighborRow>, StoreError>;
}
