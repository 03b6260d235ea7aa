//! Asset lifecycle (active → stale → active, retired), ownership and tags, and the fleet SLIs.
//!
//! - **stale**: no report from any of the asset's agents for `stale_after` (default 7 days).
//!   Evaluated continuously by the collector ([`crate::lifecycle`]); the next report makes the
//!   asset active again.
//! - **retired**: an admin action with a reason. A retired asset that reports again stays
//!   retired but is flagged (`reported_after_retirement`), for a person to look at.
//!
//! Every transition is an event in the history (kind `lifecycle`), and every admin change an
//! audit row, in the transaction that makes it.

use census_inventory::changes::{Action, Kind};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::admin::{Actor, AdminError};
use super::sqlite::{SUMMARY_COLUMNS, SqliteStore, db, summary};
use super::sqlite_admin::audit;
use super::{HostSummary, Millis, StoreError};

/// Ownership fields an admin sets; `None` leaves a field as it is, `Some("")` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OwnershipUpdate {
    pub owner: Option<String>,
    pub team: Option<String>,
    pub cost_centre: Option<String>,
    pub environment: Option<String>,
}

/// The fleet's health, over assets that are not retired or merged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetSlis {
    pub assets: u64,
    pub active: u64,
    pub stale: u64,
    pub retired: u64,
    /// Age of each asset's latest report, in seconds.
    pub freshness_p50_seconds: f64,
    pub freshness_p95_seconds: f64,
    pub freshness_max_seconds: f64,
    /// Share of assets that reported within `stale_after`.
    pub fresh_ratio: f64,
    /// Share of assets with an owner.
    pub owner_coverage: f64,
    /// Share of assets flagged as a suspected duplicate or clone.
    pub duplicate_rate: f64,
    /// Share of assets carrying every required tag.
    pub tag_compliance: f64,
    pub required_tags: Vec<String>,
}

const OWNERSHIP_FIELDS: [&str; 4] = ["owner", "team", "cost_centre", "environment"];

/// One ownership value or tag of an asset, and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// `owner`, `team`, `cost_centre`, `environment`, or the tag's key.
    pub key: String,
    pub value: String,
    /// `admin` (set on the collector; wins) or `agent` (declared in the agent's config).
    pub source: String,
    /// The admin token's name for an admin tag, the agent's id for a declared value; empty for
    /// an admin-set ownership field (the audit log has who set it).
    #[serde(default)]
    pub set_by: String,
    /// What the agent declares, when an admin value overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<String>,
}

/// Replaces what `agent_id` declares with `declared` (called when its inventory's declared
/// section changed).
pub(super) fn store_declared(
    tx: &Transaction<'_>,
    agent_id: &str,
    declared: &census_inventory::Declared,
    at: Millis,
) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM agent_declared WHERE agent_id = ?1")?.execute([agent_id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO agent_declared (agent_id, field, key, value, declared_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (field, value) in declared.fields() {
        if !value.is_empty() {
            insert.execute(params![agent_id, field, "", value, at])?;
        }
    }
    for t in &declared.tags {
        insert.execute(params![agent_id, "tag", t.key, t.value, at])?;
    }
    Ok(())
}

/// What one asset's newest agent declares: (field, key, value, agent) rows.
type DeclaredRows = Vec<(String, String, String, String)>;

/// The declared rows of every asset's most recently seen agent (all assets when `asset` is
/// `None`), by asset.
fn declared_by_asset(
    conn: &rusqlite::Connection,
    asset: Option<&str>,
) -> rusqlite::Result<std::collections::HashMap<String, DeclaredRows>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.asset_id, d.field, d.key, d.value, d.agent_id FROM agent_declared d JOIN agents a USING (agent_id) \
         WHERE (?1 IS NULL OR a.asset_id = ?1) AND a.agent_id = (SELECT b.agent_id FROM agents b \
            WHERE b.asset_id = a.asset_id ORDER BY COALESCE(b.last_seen, 0) DESC, b.agent_id LIMIT 1) \
         ORDER BY d.field, d.key",
    )?;
    let mut out: std::collections::HashMap<String, DeclaredRows> = Default::default();
    let mut rows = stmt.query([asset])?;
    while let Some(r) = rows.next()? {
        out.entry(r.get(0)?).or_default().push((r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?));
    }
    Ok(out)
}

/// Admin values win over declared ones, key by key. `admin`: (key, value, set_by), empty
/// values meaning unset.
fn merge_labels(admin: Vec<(String, String, String)>, declared: &[(&str, &str, &str)]) -> Vec<Label> {
    let mut out: Vec<Label> = admin
        .into_iter()
        .filter(|(_, v, _)| !v.is_empty())
        .map(|(key, value, set_by)| {
            let declared = declared.iter().find(|(k, _, _)| *k == key).map(|(_, v, _)| v.to_string());
            Label { key, value, source: "admin".into(), set_by, declared }
        })
        .collect();
    for (key, value, agent) in declared {
        if !out.iter().any(|l| l.key == *key) {
            let (key, value, set_by) = (key.to_string(), value.to_string(), agent.to_string());
            out.push(Label { key, value, source: "agent".into(), set_by, declared: None });
        }
    }
    out
}

/// An asset's ownership fields (in [`OWNERSHIP_FIELDS`] order) and tags (by key), admin values
/// over declared ones.
pub(super) fn labels(conn: &rusqlite::Connection, asset_id: &str) -> rusqlite::Result<(Vec<Label>, Vec<Label>)> {
    let fields: [String; 4] = conn.query_row(
        "SELECT owner, team, cost_centre, environment FROM assets WHERE asset_id = ?1",
        [asset_id],
        |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
    )?;
    let admin_tags: Vec<(String, String, String)> = conn
        .prepare_cached("SELECT key, value, set_by FROM asset_tags WHERE asset_id = ?1 ORDER BY key")?
        .query_map([asset_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let declared = declared_by_asset(conn, Some(asset_id))?.remove(asset_id).unwrap_or_default();
    let pick = |tags: bool| -> Vec<(&str, &str, &str)> {
        declared
            .iter()
            .filter(|(f, ..)| (f == "tag") == tags)
            .map(|(f, k, v, a)| (if tags { k.as_str() } else { f.as_str() }, v.as_str(), a.as_str()))
            .collect()
    };
    let admin_fields = OWNERSHIP_FIELDS.iter().zip(fields).map(|(f, v)| (f.to_string(), v, String::new())).collect();
    let mut ownership = merge_labels(admin_fields, &pick(false));
    ownership.sort_by_key(|l| OWNERSHIP_FIELDS.iter().position(|f| *f == l.key));
    let mut tags = merge_labels(admin_tags, &pick(true));
    tags.sort_by(|a, b| a.key.cmp(&b.key));
    Ok((ownership, tags))
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 { 1.0 } else { part as f64 / whole as f64 }
}

/// The asset `query` names: exact id, or a unique id prefix of 4+ characters, else the asset of
/// the agent it names (exact id, unique id prefix or unique host name).
fn resolve(tx: &Transaction<'_>, query: &str) -> Result<String, AdminError> {
    let mut ids: Vec<String> = {
        let mut stmt = tx.prepare_cached("SELECT asset_id FROM assets WHERE asset_id = ?1").map_err(db)?;
        stmt.query_map([query], |r| r.get(0)).map_err(db)?.collect::<Result<_, _>>().map_err(db)?
    };
    if ids.is_empty() && query.len() >= 4 {
        let mut stmt = tx
            .prepare_cached("SELECT asset_id FROM assets WHERE substr(asset_id, 1, length(?1)) = ?1 ORDER BY asset_id")
            .map_err(db)?;
        ids = stmt.query_map([query], |r| r.get(0)).map_err(db)?.collect::<Result<_, _>>().map_err(db)?;
    }
    match ids.len() {
        // Else the asset of the agent the query names (id, id prefix or host name).
        0 => super::fleet::resolve_asset(tx, query),
        1 => Ok(ids.remove(0)),
        n => Err(AdminError::Ambiguous { message: format!("{query:?} matches {n} assets"), matches: ids }),
    }
}

/// The agent whose history carries the asset's lifecycle events: its most recent one.
fn latest_agent(tx: &Transaction<'_>, asset_id: &str) -> rusqlite::Result<Option<String>> {
    tx.query_row(
        "SELECT agent_id FROM agents WHERE asset_id = ?1 ORDER BY COALESCE(last_seen, 0) DESC LIMIT 1",
        [asset_id],
        |r| r.get(0),
    )
    .optional()
}

fn transition(
    tx: &Transaction<'_>,
    asset_id: &str,
    from: &str,
    to: &str,
    at: Millis,
    sequence: Option<u64>,
) -> rusqlite::Result<()> {
    tx.execute("UPDATE assets SET state = ?2, state_since = ?3 WHERE asset_id = ?1", params![asset_id, to, at])?;
    if let Some(agent) = latest_agent(tx, asset_id)? {
        super::history::append_event(tx, &agent, at, sequence, Kind::Lifecycle, Action::Changed, asset_id, from, to)?;
    }
    Ok(())
}

/// Called in the transaction that applies a report from an agent linked to an asset: a stale
/// asset is active again; a retired one is flagged.
pub(super) fn on_report(tx: &Transaction<'_>, agent_id: &str, at: Millis, sequence: u64) -> rusqlite::Result<()> {
    let row: Option<(String, String)> = tx
        .prepare_cached(
            "SELECT s.asset_id, s.state FROM agents a JOIN assets s USING (asset_id) WHERE a.agent_id = ?1",
        )?
        .query_row([agent_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        Some((asset, state)) if state == "stale" => transition(tx, &asset, "stale", "active", at, Some(sequence)),
        Some((asset, state)) if state == "retired" => {
            let first = tx.execute(
                "UPDATE assets SET reported_after_retirement = ?2 WHERE asset_id = ?1 AND reported_after_retirement IS NULL",
                params![asset, at],
            )?;
            if first == 1 {
                super::history::append_event(
                    tx,
                    agent_id,
                    at,
                    Some(sequence),
                    Kind::Lifecycle,
                    Action::Changed,
                    &asset,
                    "retired",
                    "reported-after-retirement",
                )?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Lifecycle, ownership and tags.
#[async_trait::async_trait]
pub trait LifecycleStore: Send + Sync + 'static {
    /// Marks stale every active asset none of whose agents reported since `now - stale_after`.
    /// Returns the assets it marked.
    async fn mark_stale(&self, now: Millis, stale_after: Millis) -> Result<Vec<String>, StoreError>;
    async fn retire(&self, asset: &str, reason: &str, actor: &Actor) -> Result<String, AdminError>;
    async fn set_ownership(&self, asset: &str, update: OwnershipUpdate, actor: &Actor) -> Result<String, AdminError>;
    /// Sets `set` (key, value) and removes `remove` keys among the asset's admin tags.
    async fn set_tags(
        &self,
        asset: &str,
        set: Vec<(String, String)>,
        remove: Vec<String>,
        actor: &Actor,
    ) -> Result<String, AdminError>;
    async fn fleet_slis(
        &self,
        now: Millis,
        stale_after: Millis,
        required_tags: &[String],
    ) -> Result<FleetSlis, StoreError>;
    /// `census hosts --state S`: the hosts whose asset is in lifecycle state `state`.
    async fn hosts_in_state(&self, state: &str) -> Result<Vec<HostSummary>, StoreError>;
}

/// The lifecycle states `census hosts --state` accepts.
pub const STATES: [&str; 3] = ["active", "stale", "retired"];

fn check_text(what: &str, value: &str) -> Result<(), AdminError> {
    census_inventory::check_label(what, value).map_err(AdminError::Invalid)
}

#[async_trait::async_trait]
impl LifecycleStore for SqliteStore {
    async fn mark_stale(&self, now: Millis, stale_after: Millis) -> Result<Vec<String>, StoreError> {
        self.with_err(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            let cutoff = now.saturating_sub(stale_after);
            let stale: Vec<String> = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT s.asset_id FROM assets s JOIN agents a USING (asset_id) WHERE s.state = 'active' \
                         GROUP BY s.asset_id HAVING MAX(COALESCE(a.last_seen, 0)) < ?1",
                    )
                    .map_err(db)?;
                stmt.query_map([cutoff], |r| r.get(0)).map_err(db)?.collect::<Result<_, _>>().map_err(db)?
            };
            for asset in &stale {
                transition(&tx, asset, "active", "stale", now, None).map_err(db)?;
            }
            tx.commit().map_err(db)?;
            Ok(stale)
        })
        .await
    }

    async fn retire(&self, asset: &str, reason: &str, actor: &Actor) -> Result<String, AdminError> {
        if reason.trim().is_empty() {
            return Err(AdminError::Invalid("retiring an asset needs a reason".into()));
        }
        check_text("reason", reason)?;
        let (asset, reason, actor) = (asset.to_string(), reason.to_string(), actor.clone());
        self.with_err(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            let id = resolve(&tx, &asset)?;
            let state: String =
                tx.query_row("SELECT state FROM assets WHERE asset_id = ?1", [&id], |r| r.get(0)).map_err(db)?;
            if state == "retired" {
                return Err(AdminError::Conflict(format!("asset {id} is already retired")));
            }
            let now = super::now_ms();
            transition(&tx, &id, &state, "retired", now, None).map_err(db)?;
            tx.execute("UPDATE assets SET retired_reason = ?2 WHERE asset_id = ?1", params![id, reason]).map_err(db)?;
            audit(&tx, now, &actor, "asset.retire", &id, &format!("reason={reason:?}")).map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(id)
        })
        .await
    }

    async fn set_ownership(&self, asset: &str, update: OwnershipUpdate, actor: &Actor) -> Result<String, AdminError> {
        let fields = [&update.owner, &update.team, &update.cost_centre, &update.environment];
        for (name, value) in OWNERSHIP_FIELDS.iter().zip(fields) {
            if let Some(v) = value {
                check_text(name, v)?;
            }
        }
        if fields.iter().all(|f| f.is_none()) {
            return Err(AdminError::Invalid("nothing to set: give an owner, team, cost centre or environment".into()));
        }
        let (asset, actor) = (asset.to_string(), actor.clone());
        self.with_err(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            let id = resolve(&tx, &asset)?;
            let values = [update.owner, update.team, update.cost_centre, update.environment];
            let mut detail = Vec::new();
            for (name, value) in OWNERSHIP_FIELDS.iter().zip(values) {
                if let Some(v) = value {
                    // The column name comes from the fixed list above, never from input.
                    tx.execute(&format!("UPDATE assets SET {name} = ?2 WHERE asset_id = ?1"), params![id, v])
                        .map_err(db)?;
                    detail.push(format!("{name}={v:?}"));
                }
            }
            audit(&tx, super::now_ms(), &actor, "asset.owner", &id, &detail.join(" ")).map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(id)
        })
        .await
    }

    async fn set_tags(
        &self,
        asset: &str,
        set: Vec<(String, String)>,
        remove: Vec<String>,
        actor: &Actor,
    ) -> Result<String, AdminError> {
        if set.is_empty() && remove.is_empty() {
            return Err(AdminError::Invalid("nothing to change: give KEY=VALUE or --remove KEY".into()));
        }
        for (k, v) in &set {
            census_inventory::check_tag_key(k).map_err(AdminError::Invalid)?;
            check_text("tag value", v)?;
        }
        let (asset, actor) = (asset.to_string(), actor.clone());
        self.with_err(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            let id = resolve(&tx, &asset)?;
            let now = super::now_ms();
            let mut detail = Vec::new();
            for (k, v) in &set {
                tx.execute(
                    "INSERT INTO asset_tags (asset_id, key, value, set_by, set_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (asset_id, key) DO UPDATE SET value = excluded.value, set_by = excluded.set_by, \
                     set_at = excluded.set_at",
                    params![id, k, v, actor.name, now],
                )
                .map_err(db)?;
                detail.push(format!("{k}={v:?}"));
            }
            for k in &remove {
                tx.execute("DELETE FROM asset_tags WHERE asset_id = ?1 AND key = ?2", params![id, k]).map_err(db)?;
                detail.push(format!("-{k}"));
            }
            audit(&tx, now, &actor, "asset.tag", &id, &detail.join(" ")).map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(id)
        })
        .await
    }

    async fn hosts_in_state(&self, state: &str) -> Result<Vec<HostSummary>, StoreError> {
        let state = state.to_string();
        self.with(move |conn| {
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS} FROM hosts h JOIN agents a USING (agent_id) \
                 JOIN assets s ON s.asset_id = a.asset_id WHERE s.state = ?1 ORDER BY h.hostname, h.agent_id"
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
            let rows = stmt.query_map([&state], summary).map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        })
        .await
    }

    async fn fleet_slis(
        &self,
        now: Millis,
        stale_after: Millis,
        required_tags: &[String],
    ) -> Result<FleetSlis, StoreError> {
        let required = required_tags.to_vec();
        self.with(move |conn| {
            let mut slis = FleetSlis { required_tags: required.clone(), ..Default::default() };
            // What each asset's newest agent declares counts where an admin set nothing.
            let declared = declared_by_asset(conn, None).map_err(db)?;
            let mut ages: Vec<f64> = Vec::new();
            let (mut owned, mut duplicates, mut compliant, mut fresh) = (0u64, 0u64, 0u64, 0u64);
            let mut stmt = conn
                .prepare_cached(
                    "SELECT s.asset_id, s.state, s.owner, s.team, s.cost_centre, s.environment, \
                     (SELECT MAX(COALESCE(a.last_seen, 0)) FROM agents a WHERE a.asset_id = s.asset_id), \
                     s.suspected_clone_of IS NOT NULL OR EXISTS (SELECT 1 FROM asset_duplicates d \
                        WHERE d.asset_id = s.asset_id OR d.other_id = s.asset_id), \
                     (SELECT group_concat(key, char(31)) FROM asset_tags t WHERE t.asset_id = s.asset_id) \
                     FROM assets s WHERE s.state IN ('active', 'stale', 'retired')",
                )
                .map_err(db)?;
            let mut rows = stmt.query([]).map_err(db)?;
            while let Some(r) = rows.next().map_err(db)? {
                let state: String = r.get(1).map_err(db)?;
                if state == "retired" {
                    slis.retired += 1;
                    continue;
                }
                slis.assets += 1;
                if state == "stale" {
                    slis.stale += 1;
                } else {
                    slis.active += 1;
                }
                let asset_id: String = r.get(0).map_err(db)?;
                let declared = declared.get(&asset_id).map(Vec::as_slice).unwrap_or_default();
                let mut ownership: [String; 4] =
                    [r.get(2).map_err(db)?, r.get(3).map_err(db)?, r.get(4).map_err(db)?, r.get(5).map_err(db)?];
                for (value, name) in ownership.iter_mut().zip(OWNERSHIP_FIELDS) {
                    if value.is_empty()
                        && let Some((.., v, _)) = declared.iter().find(|(f, ..)| f == name)
                    {
                        *value = v.clone();
                    }
                }
                let last: Option<i64> = r.get(6).map_err(db)?;
                let age = now.saturating_sub(last.unwrap_or(0)).max(0);
                ages.push(age as f64 / 1000.0);
                if age < stale_after {
                    fresh += 1;
                }
                if !ownership[0].is_empty() {
                    owned += 1;
                }
                if r.get::<_, bool>(7).map_err(db)? {
                    duplicates += 1;
                }
                let tags: Option<String> = r.get(8).map_err(db)?;
                let tags: Vec<&str> = tags.as_deref().map(|t| t.split('\u{1f}').collect()).unwrap_or_default();
                let has = |key: &str| match OWNERSHIP_FIELDS.iter().position(|f| *f == key) {
                    Some(i) => !ownership[i].is_empty(),
                    None => tags.contains(&key) || declared.iter().any(|(f, k, ..)| f == "tag" && k == key),
                };
                if required.iter().all(|k| has(k)) {
                    compliant += 1;
                }
            }
            ages.sort_by(f64::total_cmp);
            let pct = |p: f64| {
                if ages.is_empty() {
                    0.0
                } else {
                    ages[((ages.len() as f64 * p).ceil() as usize).clamp(1, ages.len()) - 1]
                }
            };
            slis.freshness_p50_seconds = pct(0.5);
            slis.freshness_p95_seconds = pct(0.95);
            slis.freshness_max_seconds = ages.last().copied().unwrap_or(0.0);
            slis.fresh_ratio = ratio(fresh, slis.assets);
            slis.owner_coverage = ratio(owned, slis.assets);
            slis.duplicate_rate = if slis.assets == 0 { 0.0 } else { ratio(duplicates, slis.assets) };
            slis.tag_compliance = ratio(compliant, slis.assets);
            Ok(slis)
        })
        .await
    }
}
