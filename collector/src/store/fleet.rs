//! The fleet model: assets (machines), the links from agents (keys) to assets, duplicates.
//!
//! An agent is a key; an asset is a machine. Each stored full inventory links its agent to an
//! asset ([`link`], in the transaction that applies the report), by these rules:
//!
//! 1. **Usable identifiers** are the values of the inventory's judged `identifiers` block that
//!    are not empty, not `generic` and not `inherited`: SMBIOS UUID, system serial, board
//!    serial, chassis serial, machine-id, and the MACs of physical links that are neither
//!    generic nor locally administered (`mac`). Locally administered MACs (`mac_local`) are
//!    kept too, but only to tell machines apart (rule 4); they never link. The host name is
//!    never evidence.
//! 2. **An agent already linked keeps its asset**; each inventory refreshes the identifiers it
//!    contributes to it. Only an admin moves it (merge, split).
//! 3. **An agent not yet linked** is compared with every asset (not merged away) that shares at
//!    least one usable identifier with it: the candidates. With no candidate it gets a new
//!    asset.
//! 4. **Each candidate is judged** ([`judge`]):
//!    - *contradicted* when both sides have an SMBIOS UUID or a system serial and the values
//!      differ: another machine;
//!    - *MACs differ* when both sides report MACs (`mac` or `mac_local`) and none is shared;
//!    - a candidate neither contradicted nor with differing MACs is the **same machine**
//!      (hardware evidence with agreeing or unknown MACs, or only shared MACs): re-installing
//!      on the same hardware, which brings a new key, continues the asset;
//!    - a contradicted candidate, or one whose MACs differ, is **another machine that copies
//!      this one's identity**: a suspected clone (typically a cloned VM: same machine-id and
//!      UUID, new MACs).
//! 5. **The strongest same-machine candidate wins** (score: UUID 8, system serial 4,
//!    machine-id 4, board serial 3, chassis serial 2, each shared MAC 2; ties go to the oldest
//!    asset). Every other candidate is flagged as a suspected duplicate of it (`also-matches`).
//! 6. **With no same-machine candidate but a clone candidate**, the agent gets a new asset whose
//!    `suspected_clone_of` names the strongest clone candidate, flagged `suspected-clone` with
//!    the evidence; other candidates are flagged `also-matches`.
//! 7. **Two agents claim one machine** when two unrevoked agents of one asset both reported
//!    within the freshness window and each reported after the other joined the asset (their
//!    reporting periods overlap). A re-install, whose old agent fell silent before the new one
//!    came, is not flagged; an old agent that keeps reporting is. Such assets are listed by
//!    `census duplicates`, never merged silently.
//! 8. **An admin resolves**: merging moves every agent and identifier of one asset into another
//!    (the merged one stays as a tombstone, state `merged`); splitting moves one agent (and its
//!    identifiers) to a new asset. Both write the audit log in the same transaction.

use std::collections::{BTreeMap, BTreeSet};

use census_inventory::{HostIdentifiers, Identifier, Inventory};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::admin::{Actor, AdminError, new_id};
use super::sqlite::db;
use super::sqlite_admin::audit;
use super::{Millis, StoreError, VerifiedReport, now_ms};

/// What kind of identifier a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    SmbiosUuid,
    SystemSerial,
    BoardSerial,
    ChassisSerial,
    MachineId,
    /// A permanent, globally unique MAC.
    Mac,
    /// A locally administered MAC: only tells machines apart.
    MacLocal,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::SmbiosUuid,
        Kind::SystemSerial,
        Kind::BoardSerial,
        Kind::ChassisSerial,
        Kind::MachineId,
        Kind::Mac,
        Kind::MacLocal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SmbiosUuid => "smbios_uuid",
            Kind::SystemSerial => "system_serial",
            Kind::BoardSerial => "board_serial",
            Kind::ChassisSerial => "chassis_serial",
            Kind::MachineId => "machine_id",
            Kind::Mac => "mac",
            Kind::MacLocal => "mac_local",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether a shared value of this kind links an agent to an asset.
    fn links(self) -> bool {
        self != Kind::MacLocal
    }

    fn is_mac(self) -> bool {
        matches!(self, Kind::Mac | Kind::MacLocal)
    }

    /// Weight of a shared value when candidates compete (rule 5).
    fn weight(self) -> u32 {
        match self {
            Kind::SmbiosUuid => 8,
            Kind::SystemSerial | Kind::MachineId => 4,
            Kind::BoardSerial => 3,
            Kind::ChassisSerial | Kind::Mac => 2,
            Kind::MacLocal => 0,
        }
    }
}

/// The usable identifiers of one agent or one asset (rule 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentifierSet {
    pub values: BTreeSet<(Kind, String)>,
}

impl IdentifierSet {
    pub fn from_identifiers(ids: &HostIdentifiers) -> Self {
        let mut values = BTreeSet::new();
        let mut judged = |kind: Kind, id: &Identifier| {
            let value = id.value.trim();
            if !value.is_empty() && !id.generic && !id.inherited {
                let value = if matches!(kind, Kind::SmbiosUuid | Kind::MachineId) {
                    value.to_ascii_lowercase()
                } else {
                    value.to_string()
                };
                values.insert((kind, value));
            }
        };
        judged(Kind::SmbiosUuid, &ids.smbios_uuid);
        judged(Kind::SystemSerial, &ids.system_serial);
        judged(Kind::BoardSerial, &ids.board_serial);
        judged(Kind::ChassisSerial, &ids.chassis_serial);
        judged(Kind::MachineId, &ids.machine_id);
        for m in &ids.macs {
            let mac = m.mac.trim().to_ascii_lowercase();
            if !mac.is_empty() && !m.generic {
                values.insert((if m.locally_administered { Kind::MacLocal } else { Kind::Mac }, mac));
            }
        }
        IdentifierSet { values }
    }

    /// The values that link (every kind but `mac_local`).
    pub fn linking(&self) -> impl Iterator<Item = &(Kind, String)> {
        self.values.iter().filter(|(k, _)| k.links())
    }

    fn of(&self, kind: Kind) -> BTreeSet<&str> {
        self.values.iter().filter(|(k, _)| *k == kind).map(|(_, v)| v.as_str()).collect()
    }

    fn macs(&self) -> BTreeSet<&str> {
        self.values.iter().filter(|(k, _)| k.is_mac()).map(|(_, v)| v.as_str()).collect()
    }
}

/// One identifier value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KindValue {
    pub kind: Kind,
    pub value: String,
}

/// Why an agent was judged to be, or to copy, an asset's machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Usable identifiers both sides report.
    pub shared: Vec<KindValue>,
    /// Hardware identifiers (SMBIOS UUID, system serial) both sides report with different values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicting: Vec<Kind>,
    /// Both sides report MACs and none is shared.
    #[serde(default)]
    pub macs_differ: bool,
    /// When `macs_differ`: the MACs of the agent, and of the asset it was compared with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub macs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_macs: Vec<String>,
}

impl Evidence {
    /// Rule 5's score.
    pub fn score(&self) -> u32 {
        self.shared.iter().map(|s| s.kind.weight()).sum()
    }

    /// One line for people: `shares machine_id 0f9e…, smbios_uuid …; MACs differ (a vs b)`.
    pub fn summary(&self) -> String {
        let shared: Vec<String> = self.shared.iter().map(|s| format!("{} {}", s.kind.as_str(), s.value)).collect();
        let mut text = format!("shares {}", shared.join(", "));
        if !self.conflicting.is_empty() {
            let kinds: Vec<&str> = self.conflicting.iter().map(|k| k.as_str()).collect();
            text.push_str(&format!("; {} differ", kinds.join(", ")));
        }
        if self.macs_differ {
            text.push_str(&format!("; MACs differ ({} vs {})", self.macs.join(" "), self.other_macs.join(" ")));
        }
        text
    }
}

/// An asset an unlinked agent shares at least one usable identifier with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub asset_id: String,
    /// Every identifier its agents reported.
    pub ids: IdentifierSet,
}

/// What one candidate is to the agent (rule 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing usable shared.
    Unrelated,
    SameMachine,
    /// Another machine with this one's identity.
    Clone,
}

/// The outcome for an agent not yet linked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    NewAsset,
    SameAsset { asset: String, evidence: Evidence, also: Vec<(String, Evidence)> },
    SuspectedClone { of: String, evidence: Evidence, also: Vec<(String, Evidence)> },
}

/// Rule 4 for one candidate.
pub fn judge(new: &IdentifierSet, other: &IdentifierSet) -> (Verdict, Evidence) {
    let shared: Vec<KindValue> = new
        .linking()
        .filter(|kv| other.values.contains(kv))
        .map(|(kind, value)| KindValue { kind: *kind, value: value.clone() })
        .collect();
    let mut evidence = Evidence { shared, ..Evidence::default() };
    if evidence.shared.is_empty() {
        return (Verdict::Unrelated, evidence);
    }
    for kind in [Kind::SmbiosUuid, Kind::SystemSerial] {
        let (a, b) = (new.of(kind), other.of(kind));
        if !a.is_empty() && !b.is_empty() && a.is_disjoint(&b) {
            evidence.conflicting.push(kind);
        }
    }
    let (a, b) = (new.macs(), other.macs());
    if !a.is_empty() && !b.is_empty() && a.is_disjoint(&b) {
        evidence.macs_differ = true;
        evidence.macs = a.into_iter().map(String::from).collect();
        evidence.other_macs = b.into_iter().map(String::from).collect();
    }
    let verdict =
        if evidence.conflicting.is_empty() && !evidence.macs_differ { Verdict::SameMachine } else { Verdict::Clone };
    (verdict, evidence)
}

/// Rules 3 to 6: `candidates` in order of age (oldest asset first).
pub fn decide(new: &IdentifierSet, candidates: &[Candidate]) -> Decision {
    let mut same = Vec::new();
    let mut clones = Vec::new();
    for c in candidates {
        match judge(new, &c.ids) {
            (Verdict::Unrelated, _) => {}
            (Verdict::SameMachine, e) => same.push((c.asset_id.clone(), e)),
            (Verdict::Clone, e) => clones.push((c.asset_id.clone(), e)),
        }
    }
    // Stable: among equal scores the oldest asset stays first.
    same.sort_by_key(|(_, e)| std::cmp::Reverse(e.score()));
    clones.sort_by_key(|(_, e)| std::cmp::Reverse(e.score()));
    if !same.is_empty() {
        let (asset, evidence) = same.remove(0);
        same.extend(clones);
        return Decision::SameAsset { asset, evidence, also: same };
    }
    if !clones.is_empty() {
        let (of, evidence) = clones.remove(0);
        return Decision::SuspectedClone { of, evidence, also: clones };
    }
    Decision::NewAsset
}

// ---- the link hook ----

/// Links the reporting agent to an asset by the inventory's host identifiers, in the
/// transaction that applies `report`.
pub(super) fn link(
    tx: &rusqlite::Transaction<'_>,
    report: &VerifiedReport,
    current: &Inventory,
) -> rusqlite::Result<()> {
    let ids = IdentifierSet::from_identifiers(&current.identifiers);
    let now = report.received_at;
    let agent = report.agent_id.as_str();
    let linked: Option<String> = tx
        .prepare_cached("SELECT asset_id FROM agents WHERE agent_id = ?1")?
        .query_row([agent], |r| r.get(0))
        .optional()?
        .flatten();
    let asset = match linked {
        Some(asset) => asset,
        None => {
            let candidates = candidates(tx, &ids)?;
            let (asset, how) = match decide(&ids, &candidates) {
                Decision::NewAsset => (create_asset(tx, now, "link", None)?, "new"),
                Decision::SameAsset { asset, also, .. } => {
                    flag_all(tx, &asset, &also, agent, now)?;
                    (asset, "same")
                }
                Decision::SuspectedClone { of, evidence, also } => {
                    let asset = create_asset(tx, now, "link", Some(&of))?;
                    flag(tx, &asset, &of, "suspected-clone", &evidence, agent, now)?;
                    flag_all(tx, &asset, &also, agent, now)?;
                    (asset, "clone")
                }
            };
            tx.execute(
                "UPDATE agents SET asset_id = ?2, asset_linked_at = ?3, asset_link = ?4 WHERE agent_id = ?1",
                params![agent, asset, now, how],
            )?;
            asset
        }
    };
    // Refresh what this agent contributes, keeping when each value was first seen.
    let mut first_seen: BTreeMap<(String, String), Millis> = BTreeMap::new();
    {
        let mut stmt =
            tx.prepare_cached("SELECT kind, value, first_seen FROM asset_identifiers WHERE agent_id = ?1")?;
        let rows = stmt.query_map([agent], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
        for row in rows {
            let (key, at) = row?;
            first_seen.insert(key, at);
        }
    }
    tx.prepare_cached("DELETE FROM asset_identifiers WHERE agent_id = ?1")?.execute([agent])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO asset_identifiers (asset_id, kind, value, agent_id, first_seen, last_seen) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (kind, value) in &ids.values {
        let first = first_seen.get(&(kind.as_str().to_string(), value.clone())).copied().unwrap_or(now);
        insert.execute(params![asset, kind.as_str(), value, agent, first, now])?;
    }
    Ok(())
}

/// Assets (not merged away) that share a linking identifier with `ids`, oldest first, with all
/// their identifiers.
fn candidates(tx: &Transaction<'_>, ids: &IdentifierSet) -> rusqlite::Result<Vec<Candidate>> {
    let mut found: BTreeMap<(Millis, String), ()> = BTreeMap::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT DISTINCT a.created_at, a.asset_id FROM asset_identifiers i JOIN assets a USING (asset_id) \
             WHERE i.kind = ?1 AND i.value = ?2 AND a.state != 'merged'",
        )?;
        for (kind, value) in ids.linking() {
            let rows = stmt.query_map(params![kind.as_str(), value], |r| Ok((r.get(0)?, r.get(1)?)))?;
            for row in rows {
                found.insert(row?, ());
            }
        }
    }
    let mut out = Vec::new();
    for (_, asset_id) in found.into_keys() {
        let ids = asset_identifier_set(tx, &asset_id)?;
        out.push(Candidate { asset_id, ids });
    }
    Ok(out)
}

fn asset_identifier_set(conn: &Connection, asset_id: &str) -> rusqlite::Result<IdentifierSet> {
    let mut stmt = conn.prepare_cached("SELECT kind, value FROM asset_identifiers WHERE asset_id = ?1")?;
    let rows = stmt.query_map([asset_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut values = BTreeSet::new();
    for row in rows {
        let (kind, value) = row?;
        if let Some(kind) = Kind::parse(&kind) {
            values.insert((kind, value));
        }
    }
    Ok(IdentifierSet { values })
}

fn create_asset(tx: &Transaction<'_>, now: Millis, by: &str, clone_of: Option<&str>) -> rusqlite::Result<String> {
    loop {
        let id = new_id();
        let taken: bool =
            tx.query_row("SELECT EXISTS(SELECT 1 FROM assets WHERE asset_id = ?1)", [&id], |r| r.get(0))?;
        if !taken {
            tx.execute(
                "INSERT INTO assets (asset_id, created_at, created_by, suspected_clone_of, state_since) \
                 VALUES (?1, ?2, ?3, ?4, ?2)",
                params![id, now, by, clone_of],
            )?;
            return Ok(id);
        }
    }
}

fn flag(
    tx: &Transaction<'_>,
    asset: &str,
    other: &str,
    reason: &str,
    evidence: &Evidence,
    agent: &str,
    now: Millis,
) -> rusqlite::Result<()> {
    if asset == other {
        return Ok(());
    }
    let evidence = serde_json::to_string(evidence).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    tx.execute(
        "INSERT INTO asset_duplicates (asset_id, other_id, reason, evidence, agent_id, detected_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (asset_id, other_id) DO UPDATE SET reason = excluded.reason, evidence = excluded.evidence, \
             agent_id = excluded.agent_id, detected_at = excluded.detected_at",
        params![asset, other, reason, evidence, agent, now],
    )?;
    Ok(())
}

fn flag_all(
    tx: &Transaction<'_>,
    asset: &str,
    others: &[(String, Evidence)],
    agent: &str,
    now: Millis,
) -> rusqlite::Result<()> {
    for (other, evidence) in others {
        flag(tx, asset, other, "also-matches", evidence, agent, now)?;
    }
    Ok(())
}

// ---- queries and admin actions ----

/// One agent of an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetAgent {
    pub agent_id: String,
    pub hostname: String,
    /// How it was linked: `new`, `same`, `clone`, `split` or `merge`.
    pub link: String,
    /// RFC 3339, UTC.
    pub linked_at: String,
    pub last_seen: Option<String>,
    pub revoked: bool,
}

/// One identifier of an asset, as one of its agents reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetIdentifier {
    pub kind: Kind,
    pub value: String,
    pub agent_id: String,
    pub first_seen: String,
    pub last_seen: String,
}

/// One asset (a machine), `GET /api/v1/assets[/{id}]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub asset_id: String,
    /// `active`; `merged` for an asset merged into `merged_into`.
    pub state: String,
    pub created_at: String,
    pub created_by: String,
    pub suspected_clone_of: Option<String>,
    pub merged_into: Option<String>,
    /// The newest agent's host name.
    pub hostname: String,
    /// The latest report of any of its agents.
    pub last_seen: Option<String>,
    /// Newest link first.
    pub agents: Vec<AssetAgent>,
    /// By kind, value, agent.
    pub identifiers: Vec<AssetIdentifier>,
    /// Owner, team, cost centre and environment, where set: by an admin, else as its newest
    /// agent declares.
    #[serde(default)]
    pub ownership: Vec<super::lifecycle::Label>,
    /// Admin tags and the tags its newest agent declares, by key; an admin tag wins.
    #[serde(default)]
    pub tags: Vec<super::lifecycle::Label>,
}

/// One suspected duplicate, `GET /api/v1/duplicates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duplicate {
    /// `suspected-clone`, `also-matches` (an agent matched both assets) or `concurrent-agents`
    /// (two agents claim one machine).
    pub reason: String,
    pub asset_id: String,
    /// The other asset; absent for `concurrent-agents`.
    pub other_asset_id: Option<String>,
    /// The agents concerned.
    pub agents: Vec<String>,
    /// What matched and what differed; absent for `concurrent-agents`.
    pub evidence: Option<Evidence>,
    /// One line for people.
    pub summary: String,
    pub detected_at: String,
}

/// How long an agent counts as reporting after its last report, for rule 7.
pub const DEFAULT_CLAIM_WINDOW_MS: Millis = 24 * 3600 * 1000;

/// Queries and admin actions over assets.
#[async_trait::async_trait]
pub trait FleetStore: Send + Sync + 'static {
    /// Every asset not merged away, by newest agent's host name.
    async fn assets(&self) -> Result<Vec<Asset>, AdminError>;
    /// An asset by exact id, else the asset of the agent with this exact id, unique id prefix
    /// (4+ characters) or unique host name. A merged asset is found too (its state says so).
    async fn asset(&self, query: &str) -> Result<Asset, AdminError>;
    /// Suspected duplicates at `now`: the flags made when agents were linked (rules 5 and 6)
    /// between assets still active, and assets whose agents claim one machine (rule 7) within
    /// `window_ms`.
    async fn duplicates(&self, now: Millis, window_ms: Millis) -> Result<Vec<Duplicate>, AdminError>;
    /// Moves every agent and identifier of `from` into `into`; `from` stays as state `merged`.
    /// Returns `into`.
    async fn merge_assets(&self, into: &str, from: &str, actor: &Actor) -> Result<Asset, AdminError>;
    /// Moves `agent` (and its identifiers) from `asset` to a new asset, which is returned.
    async fn split_asset(&self, asset: &str, agent: &str, actor: &Actor) -> Result<Asset, AdminError>;
}

fn rfc3339(ms: Millis) -> String {
    crate::api::rfc3339(ms)
}

fn load_asset(conn: &Connection, asset_id: &str) -> Result<Option<Asset>, StoreError> {
    let head = conn
        .query_row(
            "SELECT asset_id, state, created_at, created_by, suspected_clone_of, merged_into FROM assets \
             WHERE asset_id = ?1",
            [asset_id],
            |r| {
                Ok(Asset {
                    asset_id: r.get(0)?,
                    state: r.get(1)?,
                    created_at: rfc3339(r.get(2)?),
                    created_by: r.get(3)?,
                    suspected_clone_of: r.get(4)?,
                    merged_into: r.get(5)?,
                    hostname: String::new(),
                    last_seen: None,
                    agents: Vec::new(),
                    identifiers: Vec::new(),
                    ownership: Vec::new(),
                    tags: Vec::new(),
                })
            },
        )
        .optional()
        .map_err(db)?;
    let Some(mut asset) = head else { return Ok(None) };
    let mut stmt = conn
        .prepare_cached(
            "SELECT g.agent_id, COALESCE(h.hostname, g.hostname), g.asset_link, \
             COALESCE(g.asset_linked_at, g.enrolled_at), g.last_seen, g.revoked_at IS NOT NULL \
             FROM agents g LEFT JOIN hosts h USING (agent_id) WHERE g.asset_id = ?1 \
             ORDER BY g.asset_linked_at DESC, g.agent_id",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([asset_id], |r| {
            let last: Option<Millis> = r.get(4)?;
            Ok((
                AssetAgent {
                    agent_id: r.get(0)?,
                    hostname: r.get(1)?,
                    link: r.get(2)?,
                    linked_at: rfc3339(r.get(3)?),
                    last_seen: last.map(rfc3339),
                    revoked: r.get(5)?,
                },
                last,
            ))
        })
        .map_err(db)?;
    let mut newest: Option<Millis> = None;
    for row in rows {
        let (agent, last) = row.map_err(db)?;
        newest = newest.max(last);
        asset.agents.push(agent);
    }
    asset.last_seen = newest.map(rfc3339);
    asset.hostname = asset.agents.first().map(|a| a.hostname.clone()).unwrap_or_default();
    let mut stmt = conn
        .prepare_cached(
            "SELECT kind, value, agent_id, first_seen, last_seen FROM asset_identifiers WHERE asset_id = ?1 \
             ORDER BY kind, value, agent_id",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([asset_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get::<_, Millis>(3)?, r.get::<_, Millis>(4)?))
        })
        .map_err(db)?;
    for row in rows {
        let (kind, value, agent_id, first, last) = row.map_err(db)?;
        let Some(kind) = Kind::parse(&kind) else { continue };
        asset.identifiers.push(AssetIdentifier {
            kind,
            value,
            agent_id,
            first_seen: rfc3339(first),
            last_seen: rfc3339(last),
        });
    }
    asset.identifiers.sort_by(|a, b| (a.kind, &a.value, &a.agent_id).cmp(&(b.kind, &b.value, &b.agent_id)));
    (asset.ownership, asset.tags) = super::lifecycle::labels(conn, asset_id).map_err(db)?;
    Ok(Some(asset))
}

/// Rows of `sql` (one text column) with `query` bound as ?1.
fn ids(conn: &Connection, sql: &str, query: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let rows = stmt.query_map([query], |r| r.get(0)).map_err(db)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db)
}

/// A linked agent by exact id, unique id prefix (4+ characters) or unique host name (enrolled or
/// reported), of `asset` when given.
fn resolve_agent(conn: &Connection, query: &str, asset: Option<&str>) -> Result<String, AdminError> {
    let mut steps = vec!["agent_id = ?1"];
    if query.chars().count() >= 4 {
        steps.push("substr(agent_id, 1, length(?1)) = ?1");
    }
    steps.push("(hostname = ?1 OR agent_id IN (SELECT agent_id FROM hosts WHERE hostname = ?1))");
    for cond in steps {
        let sql = format!(
            "SELECT agent_id FROM agents WHERE {cond} AND asset_id IS NOT NULL AND (?2 IS NULL OR asset_id = ?2) \
             ORDER BY agent_id"
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
        let found: Vec<String> =
            stmt.query_map(params![query, asset], |r| r.get(0)).map_err(db)?.collect::<Result<_, _>>().map_err(db)?;
        match found.len() {
            0 => continue,
            1 => return Ok(found.into_iter().next().unwrap_or_default()),
            n => {
                return Err(AdminError::Ambiguous { message: format!("{query:?} matches {n} agents"), matches: found });
            }
        }
    }
    Err(AdminError::NotFound(match asset {
        Some(a) => format!("no agent of asset {a} matches {query:?}"),
        None => format!("no asset or agent matches {query:?}"),
    }))
}

/// An asset by exact id, else the asset of the agent the query names.
pub(super) fn resolve_asset(conn: &Connection, query: &str) -> Result<String, AdminError> {
    if let Some(id) = ids(conn, "SELECT asset_id FROM assets WHERE asset_id = ?1", query)?.pop() {
        return Ok(id);
    }
    let agent = resolve_agent(conn, query, None)?;
    let asset: String =
        conn.query_row("SELECT asset_id FROM agents WHERE agent_id = ?1", [&agent], |r| r.get(0)).map_err(db)?;
    Ok(asset)
}

fn active(conn: &Connection, asset: &str) -> Result<(), AdminError> {
    let merged: Option<String> = conn
        .query_row("SELECT merged_into FROM assets WHERE asset_id = ?1", [asset], |r| r.get(0))
        .map_err(|e| AdminError::Store(db(e)))?;
    match merged {
        Some(into) => Err(AdminError::Conflict(format!("asset {asset} was merged into {into}"))),
        None => Ok(()),
    }
}

fn agent_ids(conn: &Connection, asset: &str) -> Result<Vec<String>, StoreError> {
    ids(conn, "SELECT agent_id FROM agents WHERE asset_id = ?1 ORDER BY asset_linked_at DESC, agent_id", asset)
}

#[async_trait::async_trait]
impl FleetStore for super::sqlite::SqliteStore {
    async fn assets(&self) -> Result<Vec<Asset>, AdminError> {
        Ok(self
            .with(|conn| {
                let all = ids(conn, "SELECT asset_id FROM assets WHERE state != 'merged' AND ?1 = ?1", "")?;
                let mut out = Vec::new();
                for id in all {
                    if let Some(a) = load_asset(conn, &id)? {
                        out.push(a);
                    }
                }
                out.sort_by(|a, b| (&a.hostname, &a.asset_id).cmp(&(&b.hostname, &b.asset_id)));
                Ok(out)
            })
            .await?)
    }

    async fn asset(&self, query: &str) -> Result<Asset, AdminError> {
        let query = query.to_string();
        self.with(move |conn| {
            let id = match resolve_asset(conn, &query) {
                Ok(id) => id,
                Err(e) => return Ok(Err(e)),
            };
            Ok(load_asset(conn, &id)?.ok_or_else(|| AdminError::NotFound(format!("no asset matches {query:?}"))))
        })
        .await?
    }

    async fn duplicates(&self, now: Millis, window_ms: Millis) -> Result<Vec<Duplicate>, AdminError> {
        Ok(self
            .with(move |conn| {
                let mut out = Vec::new();
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT d.reason, d.asset_id, d.other_id, d.agent_id, d.evidence, d.detected_at \
                         FROM asset_duplicates d JOIN assets a ON a.asset_id = d.asset_id \
                         JOIN assets o ON o.asset_id = d.other_id \
                         WHERE a.state != 'merged' AND o.state != 'merged' ORDER BY d.detected_at, d.asset_id",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, Millis>(5)?,
                        ))
                    })
                    .map_err(db)?;
                for row in rows {
                    let (reason, asset_id, other, agent, evidence, at) = row.map_err(db)?;
                    let evidence: Evidence = serde_json::from_str(&evidence).unwrap_or_default();
                    let what = if reason == "suspected-clone" { "suspected clone of" } else { "also matches" };
                    out.push(Duplicate {
                        summary: format!("asset {asset_id} {what} asset {other}: {}", evidence.summary()),
                        reason,
                        asset_id,
                        other_asset_id: Some(other),
                        agents: vec![agent],
                        evidence: Some(evidence),
                        detected_at: rfc3339(at),
                    });
                }
                drop(stmt);
                // Rule 7: unrevoked agents of one asset whose reporting periods overlap.
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT g.asset_id, g.agent_id, COALESCE(h.hostname, g.hostname), g.asset_linked_at, \
                             g.last_seen \
                         FROM agents g JOIN assets a USING (asset_id) LEFT JOIN hosts h USING (agent_id) \
                         WHERE a.state != 'merged' AND g.revoked_at IS NULL AND g.last_seen >= ?1 \
                             AND g.asset_linked_at IS NOT NULL \
                         ORDER BY g.asset_id, g.asset_linked_at, g.agent_id",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map([now.saturating_sub(window_ms)], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, Millis>(3)?,
                            r.get::<_, Millis>(4)?,
                        ))
                    })
                    .map_err(db)?;
                let mut by_asset: BTreeMap<String, Vec<(String, String, Millis, Millis)>> = BTreeMap::new();
                for row in rows {
                    let (asset, agent, host, linked, last) = row.map_err(db)?;
                    by_asset.entry(asset).or_default().push((agent, host, linked, last));
                }
                for (asset, agents) in by_asset {
                    // Ordered by link time: an earlier agent that reported after a later one
                    // joined overlaps it.
                    let mut claiming: BTreeSet<usize> = BTreeSet::new();
                    let mut since = Millis::MAX;
                    for (i, a) in agents.iter().enumerate() {
                        for (j, b) in agents.iter().enumerate().skip(i + 1) {
                            if a.3 > b.2 {
                                claiming.extend([i, j]);
                                since = since.min(b.2);
                            }
                        }
                    }
                    if claiming.is_empty() {
                        continue;
                    }
                    let named: Vec<String> =
                        claiming.iter().map(|i| format!("{} ({})", agents[*i].0, agents[*i].1)).collect();
                    out.push(Duplicate {
                        reason: "concurrent-agents".into(),
                        summary: format!(
                            "{} agents claim one machine, asset {asset}: {}",
                            claiming.len(),
                            named.join(", ")
                        ),
                        asset_id: asset,
                        other_asset_id: None,
                        agents: claiming.iter().map(|i| agents[*i].0.clone()).collect(),
                        evidence: None,
                        detected_at: rfc3339(since),
                    });
                }
                Ok(out)
            })
            .await?)
    }

    async fn merge_assets(&self, into: &str, from: &str, actor: &Actor) -> Result<Asset, AdminError> {
        let (into, from, actor) = (into.to_string(), from.to_string(), actor.clone());
        self.with(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            let resolved = (|| {
                let into = resolve_asset(&tx, &into)?;
                let from = resolve_asset(&tx, &from)?;
                if into == from {
                    return Err(AdminError::Conflict(format!("cannot merge asset {into} into itself")));
                }
                active(&tx, &into)?;
                active(&tx, &from)?;
                Ok((into, from))
            })();
            let (into, from) = match resolved {
                Ok(pair) => pair,
                Err(e) => return Ok(Err(e)),
            };
            let moved = agent_ids(&tx, &from)?;
            let now = now_ms();
            let steps = [
                "UPDATE agents SET asset_id = ?1, asset_link = 'merge' WHERE asset_id = ?2",
                "UPDATE asset_identifiers SET asset_id = ?1 WHERE asset_id = ?2",
                "DELETE FROM asset_duplicates WHERE (asset_id = ?1 AND other_id = ?2) OR (asset_id = ?2 AND other_id = ?1)",
                "UPDATE OR IGNORE asset_duplicates SET asset_id = ?1 WHERE asset_id = ?2",
                "UPDATE OR IGNORE asset_duplicates SET other_id = ?1 WHERE other_id = ?2",
                "DELETE FROM asset_duplicates WHERE asset_id = ?2 OR other_id = ?2",
                "UPDATE assets SET suspected_clone_of = NULL WHERE asset_id = ?1 AND suspected_clone_of = ?2",
                "UPDATE assets SET suspected_clone_of = ?1 WHERE suspected_clone_of = ?2",
            ];
            for sql in steps {
                tx.execute(sql, params![into, from]).map_err(db)?;
            }
            tx.execute(
                "UPDATE assets SET state = 'merged', state_since = ?3, merged_into = ?1, suspected_clone_of = NULL \
                 WHERE asset_id = ?2",
                params![into, from, now],
            )
            .map_err(db)?;
            audit(&tx, now_ms(), &actor, "asset.merge", &into, &format!("from={from} agents={}", moved.join(",")))
                .map_err(db)?;
            let asset = load_asset(&tx, &into)?;
            tx.commit().map_err(db)?;
            Ok(asset.ok_or_else(|| AdminError::NotFound(format!("asset {into} vanished"))))
        })
        .await?
    }

    async fn split_asset(&self, asset: &str, agent: &str, actor: &Actor) -> Result<Asset, AdminError> {
        let (asset, agent, actor) = (asset.to_string(), agent.to_string(), actor.clone());
        self.with(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            let resolved = (|| {
                let asset = resolve_asset(&tx, &asset)?;
                active(&tx, &asset)?;
                let agent = resolve_agent(&tx, &agent, Some(&asset))?;
                if agent_ids(&tx, &asset)?.len() < 2 {
                    return Err(AdminError::Conflict(format!(
                        "agent {agent} is the only agent of asset {asset}: nothing to split"
                    )));
                }
                Ok((asset, agent))
            })();
            let (asset, agent) = match resolved {
                Ok(pair) => pair,
                Err(e) => return Ok(Err(e)),
            };
            let now = now_ms();
            let new = create_asset(&tx, now, &actor.name, None).map_err(db)?;
            tx.execute(
                "UPDATE agents SET asset_id = ?2, asset_linked_at = ?3, asset_link = 'split' WHERE agent_id = ?1",
                params![agent, new, now],
            )
            .map_err(db)?;
            tx.execute("UPDATE asset_identifiers SET asset_id = ?2 WHERE agent_id = ?1", params![agent, new])
                .map_err(db)?;
            audit(&tx, now_ms(), &actor, "asset.split", &asset, &format!("agent={agent} new_asset={new}"))
                .map_err(db)?;
            let created = load_asset(&tx, &new)?;
            tx.commit().map_err(db)?;
            Ok(created.ok_or_else(|| AdminError::NotFound(format!("asset {new} vanished"))))
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use census_inventory::{Identifier, MacIdentifier};

    use super::super::sqlite::SqliteStore;
    use super::super::{Store, admin::AdminStore};
    use super::*;

    fn id(value: &str) -> Identifier {
        Identifier { value: value.into(), ..Identifier::default() }
    }

    fn mac(value: &str) -> MacIdentifier {
        let first = u8::from_str_radix(&value[..2], 16).unwrap();
        MacIdentifier {
            interface: "eth0".into(),
            mac: value.into(),
            locally_administered: first & 2 != 0,
            generic: false,
        }
    }

    const UUID: &str = "4c4c4544-0058-4b10-8032-b7c04f513532";
    const MID: &str = "b2c4e6a8d0f21436587a9cbedf012345";

    /// A server: UUID, serials, machine-id, two permanent MACs.
    fn server() -> HostIdentifiers {
        HostIdentifiers {
            smbios_uuid: id(UUID),
            system_serial: id("7XK2QF2"),
            chassis_serial: id("7XK2QF2"),
            board_serial: id(".7XK2QF2.CNFCP0095H01MT."),
            machine_id: id(MID),
            macs: vec![mac("3c:fd:fe:a1:b2:c0"), mac("3c:fd:fe:a1:b2:c1")],
        }
    }

    fn set(ids: &HostIdentifiers) -> IdentifierSet {
        IdentifierSet::from_identifiers(ids)
    }

    fn candidate(asset: &str, ids: &HostIdentifiers) -> Candidate {
        Candidate { asset_id: asset.into(), ids: set(ids) }
    }

    fn kinds(e: &Evidence) -> Vec<Kind> {
        e.shared.iter().map(|s| s.kind).collect()
    }

    #[test]
    fn generic_and_inherited_values_are_not_usable() {
        let mut ids = server();
        ids.system_serial = Identifier { value: "To Be Filled By O.E.M.".into(), generic: true, inherited: false };
        ids.smbios_uuid.inherited = true;
        ids.macs.push(MacIdentifier { generic: true, ..mac("00:00:00:00:00:00") });
        ids.macs.push(mac("52:54:00:6b:3c:5e"));
        let s = set(&ids);
        let got: Vec<(Kind, &str)> = s.values.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            got,
            [
                (Kind::BoardSerial, ".7XK2QF2.CNFCP0095H01MT."),
                (Kind::ChassisSerial, "7XK2QF2"),
                (Kind::MachineId, MID),
                (Kind::Mac, "3c:fd:fe:a1:b2:c0"),
                (Kind::Mac, "3c:fd:fe:a1:b2:c1"),
                (Kind::MacLocal, "52:54:00:6b:3c:5e"),
            ]
        );
        assert!(s.linking().all(|(k, _)| *k != Kind::MacLocal));
    }

    #[test]
    fn reinstall_on_the_same_hardware_continues_the_asset() {
        // Same identifiers, or a new machine-id (a fresh OS install) on the same hardware.
        let mut reinstalled = server();
        reinstalled.machine_id = id("0123456789abcdef0123456789abcdef");
        for new in [server(), reinstalled] {
            match decide(&set(&new), &[candidate("a1", &server())]) {
                Decision::SameAsset { asset, evidence, also } => {
                    assert_eq!(asset, "a1");
                    assert!(kinds(&evidence).contains(&Kind::SmbiosUuid), "{evidence:?}");
                    assert!(also.is_empty());
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_cloned_vm_with_new_macs_is_a_new_asset_flagged_as_clone() {
        let vm = HostIdentifiers {
            smbios_uuid: id("9a1b2c3d-0000-4000-8000-0000000000aa"),
            machine_id: id("0f9e8d7c6b5a49382716051a2b3c4d5e"),
            macs: vec![mac("52:54:00:6b:3c:5e")],
            ..HostIdentifiers::default()
        };
        let clone = HostIdentifiers { macs: vec![mac("52:54:00:aa:bb:cc")], ..vm.clone() };
        match decide(&set(&clone), &[candidate("vm", &vm)]) {
            Decision::SuspectedClone { of, evidence, also } => {
                assert_eq!(of, "vm");
                assert_eq!(kinds(&evidence), [Kind::SmbiosUuid, Kind::MachineId]);
                assert!(evidence.macs_differ);
                assert_eq!(
                    (evidence.macs.as_slice(), evidence.other_macs.as_slice()),
                    (&["52:54:00:aa:bb:cc".to_string()][..], &["52:54:00:6b:3c:5e".to_string()][..])
                );
                assert!(evidence.summary().contains("MACs differ (52:54:00:aa:bb:cc vs 52:54:00:6b:3c:5e)"));
                assert!(also.is_empty());
            }
            other => panic!("{other:?}"),
        }
        // A copy whose hypervisor gave it a new UUID but kept the machine-id: still a clone.
        let clone = HostIdentifiers { smbios_uuid: id("11111111-2222-4333-8444-555555555555"), ..vm.clone() };
        match decide(&set(&clone), &[candidate("vm", &vm)]) {
            Decision::SuspectedClone { evidence, .. } => assert_eq!(evidence.conflicting, [Kind::SmbiosUuid]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn containers_sharing_the_host_dmi_stay_distinct() {
        let mut container = server();
        for i in [&mut container.smbios_uuid, &mut container.system_serial, &mut container.chassis_serial] {
            i.inherited = true;
        }
        container.board_serial.inherited = true;
        container.machine_id = id("");
        container.macs.clear();
        assert!(set(&container).values.is_empty());
        assert_eq!(decide(&set(&container), &[candidate("host", &server())]), Decision::NewAsset);
    }

    #[test]
    fn a_generic_serial_links_nothing() {
        let generic = Identifier { value: "To Be Filled By O.E.M.".into(), generic: true, inherited: false };
        let a = HostIdentifiers { system_serial: generic.clone(), machine_id: id(MID), ..Default::default() };
        let b = HostIdentifiers {
            system_serial: generic,
            machine_id: id("0123456789abcdef0123456789abcdef"),
            ..Default::default()
        };
        assert_eq!(decide(&set(&b), &[candidate("a", &a)]), Decision::NewAsset);
    }

    #[test]
    fn macs_alone_link_but_locally_administered_ones_do_not() {
        let old = HostIdentifiers { macs: vec![mac("8c:16:45:3a:7e:21")], ..Default::default() };
        let new = HostIdentifiers {
            machine_id: id(MID),
            macs: vec![mac("8c:16:45:3a:7e:21"), mac("a4:c3:f0:5d:19:8b")],
            ..Default::default()
        };
        assert!(matches!(decide(&set(&new), &[candidate("a", &old)]), Decision::SameAsset { .. }));
        let old = HostIdentifiers { macs: vec![mac("02:16:45:3a:7e:21")], ..Default::default() };
        let new = HostIdentifiers { macs: vec![mac("02:16:45:3a:7e:21")], ..Default::default() };
        assert_eq!(decide(&set(&new), &[candidate("a", &old)]), Decision::NewAsset);
    }

    #[test]
    fn hardware_evidence_links_when_macs_are_unknown_on_one_side() {
        let no_macs = HostIdentifiers { macs: Vec::new(), ..server() };
        assert!(matches!(decide(&set(&no_macs), &[candidate("a", &server())]), Decision::SameAsset { .. }));
        assert!(matches!(decide(&set(&server()), &[candidate("a", &no_macs)]), Decision::SameAsset { .. }));
    }

    #[test]
    fn a_usb_nic_moved_to_another_machine_does_not_link_it() {
        // A shared universal MAC, but the UUIDs differ.
        let other = HostIdentifiers {
            smbios_uuid: id("215f3a8d-47c6-b211-a85c-e3d4b90f2a17"),
            macs: vec![mac("3c:fd:fe:a1:b2:c0")],
            ..Default::default()
        };
        assert!(matches!(decide(&set(&other), &[candidate("a", &server())]), Decision::SuspectedClone { .. }));
    }

    #[test]
    fn several_candidates_pick_the_strongest_and_flag_the_rest() {
        let weak = HostIdentifiers { machine_id: id(MID), ..Default::default() };
        let strong = HostIdentifiers { smbios_uuid: id(UUID), system_serial: id("7XK2QF2"), ..Default::default() };
        let candidates = [candidate("old-weak", &weak), candidate("strong", &strong)];
        match decide(&set(&server()), &candidates) {
            Decision::SameAsset { asset, also, .. } => {
                assert_eq!(asset, "strong");
                assert_eq!(also.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(), ["old-weak"]);
            }
            other => panic!("{other:?}"),
        }
        // Equal evidence: the oldest asset (first candidate) wins.
        let candidates = [candidate("older", &weak), candidate("newer", &weak)];
        match decide(&set(&weak), &candidates) {
            Decision::SameAsset { asset, also, .. } => {
                assert_eq!(asset, "older");
                assert_eq!(also[0].0, "newer");
            }
            other => panic!("{other:?}"),
        }
    }

    // ---- store ----

    fn inventory(hostname: &str, ids: HostIdentifiers) -> Inventory {
        let mut inv = Inventory::default();
        inv.os.hostname = hostname.into();
        inv.identifiers = ids;
        inv
    }

    fn report(agent: &str, sequence: u64, at: Millis, inv: Inventory) -> VerifiedReport {
        VerifiedReport {
            agent_id: agent.into(),
            sequence,
            digest: super::super::admin::sha256(format!("{agent}/{sequence}")),
            bytes: 100,
            agent_version: "0.1.0".into(),
            collected_at: at,
            received_at: at,
            body: super::super::ReportBody::Full(inv),
        }
    }

    async fn send(store: &SqliteStore, agent: &str, sequence: u64, at: Millis, inv: Inventory) {
        let applied = store.apply(report(agent, sequence, at, inv)).await.unwrap();
        assert_eq!(applied, crate::store::Applied::Stored);
    }

    fn asset_of<'a>(assets: &'a [Asset], agent: &str) -> &'a Asset {
        assets.iter().find(|a| a.agents.iter().any(|g| g.agent_id == agent)).expect("agent has an asset")
    }

    fn alice() -> Actor {
        Actor { name: "alice".into(), source: "192.0.2.7:5555".into() }
    }

    #[tokio::test]
    async fn store_links_agents_flags_duplicates_and_merges_and_splits() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("census.db")).unwrap();
        for agent in ["old0", "new0", "clone0", "same0", "box0"] {
            crate::store::suite::enroll_one(&store, agent).await;
        }
        let vm_clone = HostIdentifiers { macs: vec![mac("3c:fd:fe:00:00:01")], ..server() };
        let other_box = HostIdentifiers {
            machine_id: id("0123456789abcdef0123456789abcdef"),
            macs: vec![mac("8c:16:45:3a:7e:21")],
            ..Default::default()
        };
        send(&store, "old0", 1, 10_000, inventory("db-07", server())).await;
        // Re-install: new key, same identifiers, after the old agent fell silent.
        send(&store, "new0", 1, 20_000, inventory("db-07", server())).await;
        send(&store, "new0", 2, 21_000, inventory("db-07", server())).await;
        send(&store, "clone0", 1, 30_000, inventory("db-07-copy", vm_clone)).await;
        // Same host name, other machine.
        send(&store, "same0", 1, 40_000, inventory("db-07", other_box)).await;
        // No identifiers at all (a container): its own asset.
        send(&store, "box0", 1, 50_000, inventory("ctr", HostIdentifiers::default())).await;

        let assets = store.assets().await.unwrap();
        assert_eq!(assets.len(), 4, "{assets:#?}");
        let main = asset_of(&assets, "old0");
        assert_eq!(main.agents.iter().map(|a| a.agent_id.as_str()).collect::<Vec<_>>(), ["new0", "old0"]);
        assert_eq!(main.agents.iter().map(|a| a.link.as_str()).collect::<Vec<_>>(), ["same", "new"]);
        assert_eq!(main.hostname, "db-07");
        let clone = asset_of(&assets, "clone0");
        assert_eq!(clone.suspected_clone_of.as_deref(), Some(main.asset_id.as_str()));
        assert_ne!(asset_of(&assets, "same0").asset_id, main.asset_id);
        assert!(asset_of(&assets, "box0").identifiers.is_empty());
        // Lookup by asset id, by agent id prefix and by host name.
        assert_eq!(store.asset(&main.asset_id).await.unwrap().asset_id, main.asset_id);
        assert_eq!(store.asset("clone").await.unwrap().asset_id, clone.asset_id);
        assert_eq!(store.asset("ctr").await.unwrap().agents[0].agent_id, "box0");
        assert!(matches!(store.asset("db-07").await.unwrap_err(), AdminError::Ambiguous { .. }));

        // The re-install is not a duplicate; the clone is, with its evidence.
        let dups = store.duplicates(60_000, DEFAULT_CLAIM_WINDOW_MS).await.unwrap();
        assert_eq!(dups.len(), 1, "{dups:#?}");
        assert_eq!((dups[0].reason.as_str(), dups[0].asset_id.as_str()), ("suspected-clone", clone.asset_id.as_str()));
        assert_eq!(dups[0].other_asset_id.as_deref(), Some(main.asset_id.as_str()));
        assert!(dups[0].evidence.as_ref().unwrap().macs_differ);
        assert!(dups[0].summary.contains("machine_id b2c4e6a8d0f21436587a9cbedf012345"), "{}", dups[0].summary);

        // The old agent reports again: two agents claim one machine.
        send(&store, "old0", 2, 61_000, inventory("db-07", server())).await;
        let dups = store.duplicates(62_000, DEFAULT_CLAIM_WINDOW_MS).await.unwrap();
        let claim = dups.iter().find(|d| d.reason == "concurrent-agents").expect("a claim");
        assert_eq!(claim.asset_id, main.asset_id);
        assert_eq!(claim.agents, ["old0", "new0"]);
        // Once one falls silent past the window, it no longer counts.
        let later = 61_000 + DEFAULT_CLAIM_WINDOW_MS + 1;
        assert!(
            store
                .duplicates(later, DEFAULT_CLAIM_WINDOW_MS)
                .await
                .unwrap()
                .iter()
                .all(|d| d.reason != "concurrent-agents")
        );

        // Merge the clone into the main asset: one asset, the flag resolved, audited.
        let merged = store.merge_assets(&main.asset_id, &clone.asset_id, &alice()).await.unwrap();
        assert_eq!(merged.agents.len(), 3);
        assert!(store.duplicates(62_000, 1).await.unwrap().is_empty());
        assert_eq!(store.assets().await.unwrap().len(), 3);
        let tomb = store.asset(&clone.asset_id).await.unwrap();
        assert_eq!((tomb.state.as_str(), tomb.merged_into.as_deref()), ("merged", Some(main.asset_id.as_str())));
        let err = store.merge_assets(&main.asset_id, &clone.asset_id, &alice()).await.unwrap_err();
        assert_eq!(err.to_string(), format!("asset {} was merged into {}", clone.asset_id, main.asset_id));
        let err = store.merge_assets(&main.asset_id, "old0", &alice()).await.unwrap_err();
        assert_eq!(err.to_string(), format!("cannot merge asset {} into itself", main.asset_id));

        // Split the clone's agent back out; it stays there with its next report.
        let split = store.split_asset(&main.asset_id, "clone0", &alice()).await.unwrap();
        assert_eq!(split.agents[0].agent_id, "clone0");
        assert_eq!(split.agents[0].link, "split");
        assert!(split.identifiers.iter().all(|i| i.agent_id == "clone0") && !split.identifiers.is_empty());
        send(
            &store,
            "clone0",
            2,
            70_000,
            inventory("db-07-copy", HostIdentifiers { macs: vec![mac("3c:fd:fe:00:00:01")], ..server() }),
        )
        .await;
        assert_eq!(store.asset("clone0").await.unwrap().asset_id, split.asset_id);
        let err = store.split_asset(&split.asset_id, "clone0", &alice()).await.unwrap_err();
        assert!(err.to_string().contains("is the only agent of asset"), "{err}");
        let err = store.split_asset(&split.asset_id, "box0", &alice()).await.unwrap_err();
        assert_eq!(err.to_string(), format!("no agent of asset {} matches \"box0\"", split.asset_id));

        let audit = store.list_audit(0, 100).await.unwrap();
        let fleet: Vec<_> = audit
            .iter()
            .filter(|a| a.action.starts_with("asset."))
            .map(|a| (a.action.as_str(), a.actor.as_str()))
            .collect();
        assert_eq!(fleet, [("asset.merge", "alice"), ("asset.split", "alice")]);
        let merge = audit.iter().find(|a| a.action == "asset.merge").unwrap();
        assert_eq!(merge.target, main.asset_id);
        assert_eq!(merge.detail, format!("from={} agents=clone0", clone.asset_id));
    }
}
