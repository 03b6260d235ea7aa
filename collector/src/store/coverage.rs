//! What coverage and unmanaged-device queries read: rows derived from each host's inventory in
//! the transaction that stores it (`host_security`, `host_addresses`, the `managed_by` of each
//! neighbour sighting), the facts per asset that [`crate::coverage`] judges, and the coverage
//! exceptions admins set.
//!
//! A sighting is managed when its MAC is one of a host's interface MACs (current or permanent),
//! or one of its globally unique addresses is a host's address. Both directions are kept
//! current: a sighting is judged when it is written, and a host whose addresses change marks
//! (or releases) the sightings that match them.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use census_inventory::{Inventory, Neighbor, SecurityProduct};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::admin::{Actor, AdminError};
use super::sqlite::{SUMMARY_COLUMNS, summary};
use super::sqlite::{SqliteStore, db};
use super::sqlite_admin::audit;
use super::{HostSummary, Millis, NeighborRow, Sighting, StoreError};
use crate::coverage::{AssetFacts, Exception, ProductFact};

/// Keeps the derived rows of `agent_id` in step with its new inventory (`previous`: the one it
/// replaces, `None` for a first inventory). Sections that did not change are not touched.
pub(super) fn on_inventory(
    tx: &Transaction<'_>,
    agent_id: &str,
    previous: Option<&Inventory>,
    inv: &Inventory,
) -> rusqlite::Result<()> {
    if previous.map(|p| &p.security_products) != Some(&inv.security_products) {
        store_security(tx, agent_id, &inv.security_products)?;
    }
    if previous.map(|p| &p.network.interfaces) != Some(&inv.network.interfaces) {
        store_addresses(tx, agent_id, inv)?;
    }
    if previous.map(|p| &p.neighbors) != Some(&inv.neighbors) {
        store_neighbors(tx, agent_id, &inv.neighbors)?;
    }
    Ok(())
}

fn store_security(tx: &Transaction<'_>, agent_id: &str, products: &[SecurityProduct]) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM host_security WHERE agent_id = ?1")?.execute([agent_id])?;
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO host_security \
             (agent_id, product_id, name, vendor, category, version, installed, running, service) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for p in products {
        insert.execute(params![
            agent_id,
            p.id,
            p.name,
            p.vendor,
            p.category,
            p.version,
            p.installed,
            p.running,
            p.service
        ])?;
    }
    Ok(())
}

/// A MAC as the collector compares them: lower case; `None` for none at all.
fn mac_key(mac: &str) -> Option<String> {
    let m = mac.trim().to_ascii_lowercase();
    (!m.is_empty() && m != "00:00:00:00:00:00").then_some(m)
}

/// Whether `ip` names one machine wherever it is seen: public IPv4, and IPv6 global unicast
/// (2000::/3, documentation range aside) or unique local (fc00::/7). Private, shared (CGNAT),
/// link-local and documentation addresses repeat from site to site.
pub fn is_globally_unique(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let shared = v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64;
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || shared)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            let documentation = first == 0x2001 && v6.segments()[1] == 0x0db8;
            ((first & 0xe000) == 0x2000 && !documentation) || (first & 0xfe00) == 0xfc00
        }
    }
}

/// Every (kind, value) of `host_addresses` for an inventory: `mac` (current and permanent),
/// `addr` (each address but loopback) and `net` (the network of each address with a prefix,
/// link-local ones aside).
pub(super) fn address_rows(inv: &Inventory) -> BTreeSet<(&'static str, String)> {
    let mut out = BTreeSet::new();
    for i in &inv.network.interfaces {
        if i.kind == "loopback" {
            continue;
        }
        for mac in [&i.mac, &i.permanent_mac] {
            if let Some(m) = mac_key(mac) {
                out.insert(("mac", m));
            }
        }
        for a in &i.addresses {
            let Ok(ip) = a.address.parse::<IpAddr>() else { continue };
            if ip.is_loopback() || ip.is_unspecified() {
                continue;
            }
            out.insert(("addr", ip.to_string()));
            let link_local = match ip {
                IpAddr::V4(v4) => v4.is_link_local(),
                IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
            };
            let max = if ip.is_ipv4() { 32 } else { 128 };
            if !link_local
                && (1..=max).contains(&a.prefix_len)
                && let Ok(net) = ipnetwork::IpNetwork::new(ip, a.prefix_len as u8)
                && let Ok(net) = ipnetwork::IpNetwork::new(net.network(), net.prefix())
            {
                out.insert(("net", net.to_string()));
            }
        }
    }
    out
}

fn store_addresses(tx: &Transaction<'_>, agent_id: &str, inv: &Inventory) -> rusqlite::Result<()> {
    let old: BTreeSet<(String, String)> = {
        let mut stmt = tx.prepare_cached("SELECT kind, value FROM host_addresses WHERE agent_id = ?1")?;
        stmt.query_map([agent_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?
    };
    let new: BTreeSet<(String, String)> = address_rows(inv).into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let mut delete =
        tx.prepare_cached("DELETE FROM host_addresses WHERE value = ?1 AND agent_id = ?2 AND kind = ?3")?;
    let removed: Vec<_> = old.difference(&new).collect();
    for (kind, value) in &removed {
        delete.execute(params![value, agent_id, kind])?;
    }
    let mut insert = tx.prepare_cached("INSERT INTO host_addresses (value, agent_id, kind) VALUES (?1, ?2, ?3)")?;
    let mut by_mac = tx.prepare_cached("UPDATE neighbors SET managed_by = ?2 WHERE mac = ?1 AND managed_by IS NULL")?;
    let mut by_addr = tx.prepare_cached(
        "UPDATE neighbors SET managed_by = ?2 WHERE managed_by IS NULL AND (mac, agent_id) IN \
            (SELECT mac, agent_id FROM neighbor_addresses WHERE address = ?1)",
    )?;
    for (kind, value) in new.difference(&old) {
        insert.execute(params![value, agent_id, kind])?;
        match kind.as_str() {
            "mac" => {
                by_mac.execute(params![value, agent_id])?;
            }
            "addr" => {
                by_addr.execute(params![value, agent_id])?;
            }
            _ => {}
        }
    }
    // A MAC or address this host no longer has may have been what made a sighting managed.
    if removed.iter().any(|(kind, _)| kind != "net") {
        let held: Vec<(String, String)> = {
            let mut stmt = tx.prepare_cached("SELECT mac, agent_id FROM neighbors WHERE managed_by = ?1")?;
            stmt.query_map([agent_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?
        };
        let mut set = tx.prepare_cached("UPDATE neighbors SET managed_by = ?3 WHERE mac = ?1 AND agent_id = ?2")?;
        for (mac, seen_by) in held {
            let manager = manager(tx, &mac, &seen_by)?;
            set.execute(params![mac, seen_by, manager])?;
        }
    }
    Ok(())
}

/// The host that a sighting (of `mac`, by `seen_by`) belongs to, if any.
fn manager(tx: &Transaction<'_>, mac: &str, seen_by: &str) -> rusqlite::Result<Option<String>> {
    let by_mac = tx
        .prepare_cached("SELECT agent_id FROM host_addresses WHERE value = ?1 AND kind = 'mac' LIMIT 1")?
        .query_row([mac], |r| r.get(0))
        .optional()?;
    if by_mac.is_some() {
        return Ok(by_mac);
    }
    tx.prepare_cached(
        "SELECT h.agent_id FROM neighbor_addresses n JOIN host_addresses h ON h.value = n.address AND h.kind = 'addr' \
         WHERE n.mac = ?1 AND n.agent_id = ?2 LIMIT 1",
    )?
    .query_row([mac, seen_by], |r| r.get(0))
    .optional()
}

fn store_neighbors(tx: &Transaction<'_>, agent_id: &str, neighbors: &[Neighbor]) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM neighbors WHERE agent_id = ?1")?.execute([agent_id])?;
    tx.prepare_cached("DELETE FROM neighbor_addresses WHERE agent_id = ?1")?.execute([agent_id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO neighbors (mac, agent_id, interface, first_seen, last_seen, document, managed_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (mac, agent_id) DO UPDATE SET interface = excluded.interface, \
             first_seen = excluded.first_seen, last_seen = excluded.last_seen, document = excluded.document, \
             managed_by = excluded.managed_by",
    )?;
    let mut address =
        tx.prepare_cached("INSERT OR IGNORE INTO neighbor_addresses (address, mac, agent_id) VALUES (?1, ?2, ?3)")?;
    for n in neighbors {
        let mac = mac_key(&n.mac).unwrap_or_else(|| n.mac.clone());
        for ip in n.ipv4.iter().chain(&n.ipv6) {
            if let Ok(ip) = ip.parse::<IpAddr>()
                && is_globally_unique(&ip)
            {
                address.execute(params![ip.to_string(), mac, agent_id])?;
            }
        }
        let document = serde_json::to_string(n).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        let managed_by = manager(tx, &mac, agent_id)?;
        insert.execute(params![mac, agent_id, n.interface, n.first_seen, n.last_seen, document, managed_by])?;
    }
    Ok(())
}

/// Schema 13: fills the derived rows for hosts stored before it.
pub(super) fn backfill(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let agents: Vec<String> = {
        let mut stmt = tx.prepare("SELECT agent_id FROM hosts ORDER BY agent_id")?;
        stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
    };
    // Addresses first, so that every sighting is judged against all of them.
    let mut inventories = Vec::with_capacity(agents.len());
    for agent in agents {
        let inv = match super::document::read(tx, &agent) {
            Ok(Some((inv, _))) => inv,
            Ok(None) => continue,
            Err(e) => {
                return Err(rusqlite::Error::ToSqlConversionFailure(Box::new(std::io::Error::other(e.to_string()))));
            }
        };
        store_security(tx, &agent, &inv.security_products)?;
        store_addresses(tx, &agent, &inv)?;
        inventories.push((agent, inv.neighbors));
    }
    for (agent, neighbors) in inventories {
        store_neighbors(tx, &agent, &neighbors)?;
    }
    Ok(())
}

/// Folds rows of (mac, agent, hostname, interface, last_seen, document, managed_by) ordered by
/// MAC into one [`NeighborRow`] per MAC.
pub(super) fn merge_sightings(rows: &mut rusqlite::Rows<'_>) -> Result<Vec<NeighborRow>, StoreError> {
    /// One MAC's sightings so far, and the first managing host among them.
    type Pending = (String, Vec<(Sighting, Neighbor)>, Option<String>);
    let mut out: Vec<NeighborRow> = Vec::new();
    let mut current: Option<Pending> = None;
    let finish = |out: &mut Vec<NeighborRow>, (mac, list, managed): Pending| {
        let mut row = NeighborRow::merge(mac, list);
        row.managed_by = managed;
        out.push(row);
    };
    while let Some(r) = rows.next().map_err(db)? {
        let mac: String = r.get(0).map_err(db)?;
        let sighting = Sighting {
            host_id: r.get(1).map_err(db)?,
            hostname: r.get(2).map_err(db)?,
            interface: r.get(3).map_err(db)?,
            last_seen: r.get(4).map_err(db)?,
        };
        let document: String = r.get(5).map_err(db)?;
        let managed: Option<String> = r.get(6).map_err(db)?;
        let neighbor = serde_json::from_str(&document).map_err(|e| StoreError::Db(e.to_string()))?;
        match &mut current {
            Some((m, list, by)) if *m == mac => {
                list.push((sighting, neighbor));
                if by.is_none() {
                    *by = managed;
                }
            }
            _ => {
                if let Some(done) = current.replace((mac, vec![(sighting, neighbor)], managed)) {
                    finish(&mut out, done);
                }
            }
        }
    }
    if let Some(done) = current {
        finish(&mut out, done);
    }
    Ok(out)
}

#[async_trait::async_trait]
pub trait CoverageStore {
    /// What coverage judges, for every asset that is not merged: its newest agent's host,
    /// products, ownership and tags (admin over declared), exception; the networks of its
    /// addresses when `networks`.
    async fn coverage_facts(&self, networks: bool) -> Result<Vec<AssetFacts>, StoreError>;
    /// Takes an asset out of the coverage policy, with a reason (until `expires_at`).
    async fn set_exception(
        &self,
        asset: &str,
        reason: &str,
        expires_at: Option<Millis>,
        actor: &Actor,
    ) -> Result<String, AdminError>;
    /// Puts an excepted asset back under the policy.
    async fn remove_exception(&self, asset: &str, actor: &Actor) -> Result<String, AdminError>;
    /// Devices heard by agents that no managed host is, by MAC; with `first_seen_since` (unix
    /// seconds), only those first heard since then.
    async fn unmanaged_neighbors(&self, first_seen_since: Option<i64>) -> Result<Vec<NeighborRow>, StoreError>;
    /// How many devices [`CoverageStore::unmanaged_neighbors`] lists, without reading them.
    async fn unmanaged_count(&self) -> Result<u64, StoreError>;
    /// `census hosts` with the filters a query can answer alone (every value a parameter).
    /// (host, its asset).
    async fn hosts_matching(&self, q: HostQuery) -> Result<Vec<(HostSummary, Option<String>)>, StoreError>;
}

/// What a security product filter asks of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductState {
    /// Installed (running or not).
    Installed,
    Running,
    /// Installed, not running.
    NotRunning,
    /// Neither installed nor running.
    Absent,
}

impl ProductState {
    pub const NAMES: &str = "installed, running, not-running, absent";

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "installed" => Self::Installed,
            "running" => Self::Running,
            "not-running" => Self::NotRunning,
            "absent" => Self::Absent,
            _ => return None,
        })
    }
}

/// The host filters answered in SQL; `None` and empty mean "any".
#[derive(Debug, Clone, Default)]
pub struct HostQuery {
    /// os-release ID, exact (case-insensitive).
    pub os: Option<String>,
    /// Lifecycle state of the host's asset.
    pub state: Option<String>,
    /// A MAC of one of its interfaces (current or permanent).
    pub mac: Option<String>,
    /// One of its addresses.
    pub ip: Option<IpAddr>,
    /// Any of its addresses inside this network.
    pub subnet: Option<ipnetwork::IpNetwork>,
    /// A security product (catalog id) and what it must be.
    pub product: Option<(String, ProductState)>,
}

type Declared = HashMap<String, Vec<(String, String, String)>>;

/// Unmanaged devices per MAC, from the unmanaged sightings' covering index alone: how many
/// agents heard it, first and last seen (`?1`: first seen since, or NULL); a MAC that any
/// sighting shows managed is left out.
const UNMANAGED_DEVICES: &str = "SELECT n.mac, COUNT(*), MIN(n.first_seen), MAX(n.last_seen) FROM neighbors n \
     WHERE n.managed_by IS NULL GROUP BY n.mac \
     HAVING (?1 IS NULL OR MIN(n.first_seen) >= ?1) AND NOT EXISTS \
        (SELECT 1 FROM neighbors m WHERE m.mac = n.mac AND m.managed_by IS NOT NULL)";

fn read_facts(conn: &Connection, networks: bool) -> rusqlite::Result<Vec<AssetFacts>> {
    // Three whole-table scans joined here: at fleet scale a scan and a hash join cost a tenth of
    // an index seek per asset and agent.
    let mut facts: Vec<AssetFacts> = Vec::new();
    let mut by_asset: HashMap<String, usize> = HashMap::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT asset_id, state, owner, team, environment FROM assets WHERE state IN ('active', 'stale', 'retired')",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let asset_id: String = r.get(0)?;
            by_asset.insert(asset_id.clone(), facts.len());
            facts.push(AssetFacts {
                asset_id,
                state: r.get(1)?,
                owner: r.get(2)?,
                team: r.get(3)?,
                environment: r.get(4)?,
                ..Default::default()
            });
        }
    }
    {
        // Each asset's newest agent (latest report, then lowest id).
        let mut stmt = conn.prepare_cached(
            "SELECT asset_id, agent_id, COALESCE(last_seen, 0), hostname FROM agents WHERE asset_id IS NOT NULL",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let Some(&i) = by_asset.get(r.get_ref(0)?.as_str()?) else { continue };
            let (agent_id, last_seen): (String, i64) = (r.get(1)?, r.get(2)?);
            let f = &mut facts[i];
            if !f.agent_id.is_empty()
                && (last_seen, std::cmp::Reverse(&agent_id)) <= (f.last_seen, std::cmp::Reverse(&f.agent_id))
            {
                continue;
            }
            (f.agent_id, f.last_seen, f.hostname) = (agent_id, last_seen, r.get(3)?);
        }
    }
    facts.retain(|f| !f.agent_id.is_empty());
    let by_asset: HashMap<String, usize> = facts.iter().enumerate().map(|(i, f)| (f.asset_id.clone(), i)).collect();
    let by_agent: HashMap<String, usize> = facts.iter().enumerate().map(|(i, f)| (f.agent_id.clone(), i)).collect();
    {
        // The host name and OS its newest agent reported.
        let mut stmt = conn.prepare_cached("SELECT agent_id, hostname, os_pretty, os_id FROM hosts")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            if let Some(&i) = by_agent.get(r.get_ref(0)?.as_str()?) {
                let f = &mut facts[i];
                (f.hostname, f.os, f.os_id) = (r.get(1)?, r.get(2)?, r.get(3)?);
            }
        }
    }
    // Admin tags, then what the newest agent declares where the admin set nothing.
    {
        let mut stmt = conn.prepare_cached("SELECT asset_id, key, value FROM asset_tags")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            if let Some(&i) = by_asset.get(r.get_ref(0)?.as_str()?) {
                facts[i].tags.push((r.get(1)?, r.get(2)?));
            }
        }
    }
    let mut declared: Declared = HashMap::new();
    {
        let mut stmt = conn.prepare_cached("SELECT agent_id, field, key, value FROM agent_declared")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let agent: String = r.get(0)?;
            if by_agent.contains_key(&agent) {
                declared.entry(agent).or_default().push((r.get(1)?, r.get(2)?, r.get(3)?));
            }
        }
    }
    for f in &mut facts {
        for (field, key, value) in declared.remove(&f.agent_id).unwrap_or_default() {
            match field.as_str() {
                "owner" if f.owner.is_empty() => f.owner = value,
                "team" if f.team.is_empty() => f.team = value,
                "environment" if f.environment.is_empty() => f.environment = value,
                "tag" if !f.tags.iter().any(|(k, _)| *k == key) => f.tags.push((key, value)),
                _ => {}
            }
        }
    }
    {
        let mut stmt = conn.prepare_cached(
            "SELECT agent_id, product_id, name, category, version, installed, running, service FROM host_security",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            if let Some(&i) = by_agent.get(r.get_ref(0)?.as_str()?) {
                facts[i].products.push(ProductFact {
                    id: r.get(1)?,
                    name: r.get(2)?,
                    category: r.get(3)?,
                    version: r.get(4)?,
                    installed: r.get(5)?,
                    running: r.get(6)?,
                    service: r.get(7)?,
                });
            }
        }
    }
    {
        let mut stmt =
            conn.prepare_cached("SELECT asset_id, reason, set_by, set_at, expires_at FROM coverage_exceptions")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            if let Some(&i) = by_asset.get(r.get_ref(0)?.as_str()?) {
                facts[i].exception =
                    Some(Exception { reason: r.get(1)?, set_by: r.get(2)?, set_at: r.get(3)?, expires_at: r.get(4)? });
            }
        }
    }
    if networks {
        let mut stmt = conn.prepare_cached("SELECT agent_id, value FROM host_addresses WHERE kind = 'net'")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            if let Some(&i) = by_agent.get(r.get_ref(0)?.as_str()?) {
                facts[i].networks.push(r.get(1)?);
            }
        }
    }
    Ok(facts)
}

#[async_trait::async_trait]
impl CoverageStore for SqliteStore {
    async fn coverage_facts(&self, networks: bool) -> Result<Vec<AssetFacts>, StoreError> {
        self.with_reader(move |conn| {
            // One read transaction: every query sees the same commit.
            let tx = conn.unchecked_transaction().map_err(db)?;
            read_facts(&tx, networks).map_err(db)
        })
        .await
    }

    async fn set_exception(
        &self,
        asset: &str,
        reason: &str,
        expires_at: Option<Millis>,
        actor: &Actor,
    ) -> Result<String, AdminError> {
        if reason.trim().is_empty() {
            return Err(AdminError::Invalid("a coverage exception needs a reason".into()));
        }
        census_inventory::check_label("reason", reason).map_err(AdminError::Invalid)?;
        let (asset, reason, actor) = (asset.to_string(), reason.to_string(), actor.clone());
        self.with_err(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            let id = super::fleet::resolve_asset(&tx, &asset)?;
            let now = super::now_ms();
            tx.execute(
                "INSERT INTO coverage_exceptions (asset_id, reason, set_by, set_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (asset_id) DO UPDATE SET reason = excluded.reason, \
                 set_by = excluded.set_by, set_at = excluded.set_at, expires_at = excluded.expires_at",
                params![id, reason, actor.name, now, expires_at],
            )
            .map_err(db)?;
            let until = expires_at.map(crate::api::rfc3339).unwrap_or_else(|| "removed".into());
            audit(&tx, now, &actor, "coverage.exclude", &id, &format!("reason={reason:?} until={until}"))
                .map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(id)
        })
        .await
    }

    async fn remove_exception(&self, asset: &str, actor: &Actor) -> Result<String, AdminError> {
        let (asset, actor) = (asset.to_string(), actor.clone());
        self.with_err(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            let id = super::fleet::resolve_asset(&tx, &asset)?;
            let removed = tx.execute("DELETE FROM coverage_exceptions WHERE asset_id = ?1", [&id]).map_err(db)?;
            if removed == 0 {
                return Err(AdminError::NotFound(format!("asset {id} has no coverage exception")));
            }
            audit(&tx, super::now_ms(), &actor, "coverage.include", &id, "").map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(id)
        })
        .await
    }

    async fn unmanaged_neighbors(&self, first_seen_since: Option<i64>) -> Result<Vec<NeighborRow>, StoreError> {
        self.with_reader(move |conn| {
            let tx = conn.unchecked_transaction().map_err(db)?;
            let devices: Vec<(String, u64, i64, i64)> = {
                let mut stmt = tx.prepare_cached(&format!("{UNMANAGED_DEVICES} ORDER BY n.mac")).map_err(db)?;
                let rows = stmt
                    .query_map([first_seen_since], |r| {
                        Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64, r.get(2)?, r.get(3)?))
                    })
                    .map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)?
            };
            // Names, addresses and the agents listed come from the latest sightings.
            let mut latest = tx
                .prepare_cached(
                    "SELECT n.mac, n.agent_id, h.hostname, n.interface, n.last_seen, n.document, n.managed_by \
                     FROM neighbors n JOIN hosts h USING (agent_id) WHERE n.mac = ?1 AND n.managed_by IS NULL \
                     ORDER BY n.last_seen DESC, n.agent_id LIMIT ?2",
                )
                .map_err(db)?;
            let mut out = Vec::with_capacity(devices.len());
            for (mac, heard_by, first_seen, last_seen) in devices {
                let mut rows = latest.query(params![mac, super::SEEN_BY_SHOWN as i64]).map_err(db)?;
                for mut row in merge_sightings(&mut rows)? {
                    row.heard_by = heard_by;
                    row.first_seen = first_seen;
                    row.last_seen = last_seen;
                    row.seen_by.sort_by(|a, b| (&a.hostname, &a.host_id).cmp(&(&b.hostname, &b.host_id)));
                    out.push(row);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn unmanaged_count(&self) -> Result<u64, StoreError> {
        self.with_reader(|conn| {
            let sql = format!("SELECT COUNT(*) FROM ({UNMANAGED_DEVICES})");
            let n: i64 =
                conn.prepare_cached(&sql).and_then(|mut s| s.query_row([None::<i64>], |r| r.get(0))).map_err(db)?;
            Ok(n.max(0) as u64)
        })
        .await
    }

    async fn hosts_matching(&self, q: HostQuery) -> Result<Vec<(HostSummary, Option<String>)>, StoreError> {
        self.with_reader(move |conn| {
            let tx = conn.unchecked_transaction().map_err(db)?;
            // One fixed statement: each filter is a parameter that is NULL when not asked for.
            let (product, product_state) = match &q.product {
                Some((id, s)) => (Some(id.as_str()), Some(*s as i64)),
                None => (None, None),
            };
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS}, a.asset_id FROM hosts h JOIN agents a USING (agent_id) \
                 LEFT JOIN assets s ON s.asset_id = a.asset_id \
                 WHERE (?1 IS NULL OR lower(h.os_id) = lower(?1)) \
                   AND (?2 IS NULL OR s.state = ?2) \
                   AND (?3 IS NULL OR h.agent_id IN \
                        (SELECT agent_id FROM host_addresses WHERE value = lower(?3) AND kind = 'mac')) \
                   AND (?4 IS NULL OR h.agent_id IN \
                        (SELECT agent_id FROM host_addresses WHERE value = ?4 AND kind = 'addr')) \
                   AND (?5 IS NULL OR (?6 = {absent}) = NOT EXISTS (SELECT 1 FROM host_security p \
                        WHERE p.agent_id = h.agent_id AND p.product_id = ?5 AND (p.installed OR p.running) \
                          AND (?6 <> {running} OR p.running) AND (?6 <> {not_running} OR NOT p.running))) \
                 ORDER BY h.hostname, h.agent_id",
                absent = ProductState::Absent as i64,
                running = ProductState::Running as i64,
                not_running = ProductState::NotRunning as i64,
            );
            let ip = q.ip.map(|ip| ip.to_string());
            let mut stmt = tx.prepare_cached(&sql).map_err(db)?;
            let rows = stmt
                .query_map(params![q.os, q.state, q.mac, ip, product, product_state], |r| Ok((summary(r)?, r.get(10)?)))
                .map_err(db)?;
            let mut hosts = rows.collect::<Result<Vec<_>, _>>().map_err(db)?;
            if let Some(net) = q.subnet {
                let mut inside = std::collections::HashSet::new();
                let mut stmt =
                    tx.prepare_cached("SELECT agent_id, value FROM host_addresses WHERE kind = 'addr'").map_err(db)?;
                let mut rows = stmt.query([]).map_err(db)?;
                while let Some(r) = rows.next().map_err(db)? {
                    let value: String = r.get(1).map_err(db)?;
                    if value.parse::<IpAddr>().is_ok_and(|ip| net.contains(ip)) {
                        inside.insert(r.get::<_, String>(0).map_err(db)?);
                    }
                }
                hosts.retain(|(h, _)| inside.contains(&h.id));
            }
            Ok(hosts)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_addresses_unique_across_sites_identify_a_device() {
        let unique = |s: &str| is_globally_unique(&s.parse().unwrap());
        for yes in ["8.8.8.8", "2a00:1450::1", "fd12:3456:789a::1"] {
            assert!(unique(yes), "{yes}");
        }
        for no in [
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "100.64.1.1",
            "169.254.1.1",
            "192.0.2.7",
            "fe80::1",
            "2001:db8::1",
            "::1",
            "ff02::1",
        ] {
            assert!(!unique(no), "{no}");
        }
    }

    #[test]
    fn address_rows_name_macs_addresses_and_networks() {
        let mut inv = Inventory::default();
        inv.network.interfaces = vec![
            census_inventory::Interface {
                name: "lo".into(),
                kind: "loopback".into(),
                mac: "00:00:00:00:00:00".into(),
                addresses: vec![census_inventory::IpAddress {
                    address: "127.0.0.1".into(),
                    prefix_len: 8,
                    scope: "host".into(),
                }],
                ..Default::default()
            },
            census_inventory::Interface {
                name: "eth0".into(),
                kind: "physical".into(),
                mac: "AA:BB:CC:00:00:01".into(),
                permanent_mac: "aa:bb:cc:00:00:02".into(),
                addresses: vec![
                    census_inventory::IpAddress {
                        address: "192.0.2.10".into(),
                        prefix_len: 24,
                        scope: "global".into(),
                    },
                    census_inventory::IpAddress { address: "fe80::1".into(), prefix_len: 64, scope: "link".into() },
                    census_inventory::IpAddress {
                        address: "not an address".into(),
                        prefix_len: 64,
                        scope: String::new(),
                    },
                ],
                ..Default::default()
            },
        ];
        let rows: Vec<(&str, String)> = address_rows(&inv).into_iter().collect();
        let want: Vec<(&str, String)> = vec![
            ("addr", "192.0.2.10".into()),
            ("addr", "fe80::1".into()),
            ("mac", "aa:bb:cc:00:00:01".into()),
            ("mac", "aa:bb:cc:00:00:02".into()),
            ("net", "192.0.2.0/24".into()),
        ];
        assert_eq!(rows, want);
    }

    fn host(mac: &str, addrs: &[(&str, u32)], neighbors: Vec<Neighbor>) -> Inventory {
        let mut inv = Inventory::default();
        inv.network.interfaces = vec![census_inventory::Interface {
            name: "eth0".into(),
            kind: "physical".into(),
            mac: mac.into(),
            addresses: addrs
                .iter()
                .map(|(a, p)| census_inventory::IpAddress {
                    address: a.to_string(),
                    prefix_len: *p,
                    scope: String::new(),
                })
                .collect(),
            ..Default::default()
        }];
        inv.neighbors = neighbors;
        inv
    }

    fn heard(mac: &str, ips: &[&str]) -> Neighbor {
        Neighbor {
            mac: mac.into(),
            interface: "eth0".into(),
            ipv4: ips.iter().filter(|i| !i.contains(':')).map(|i| i.to_string()).collect(),
            ipv6: ips.iter().filter(|i| i.contains(':')).map(|i| i.to_string()).collect(),
            first_seen: 1_700_000_000,
            last_seen: 1_700_000_100,
            ..Default::default()
        }
    }

    async fn unmanaged(store: &SqliteStore) -> Vec<String> {
        store.unmanaged_neighbors(None).await.unwrap().into_iter().map(|r| r.mac).collect()
    }

    #[tokio::test]
    async fn sightings_follow_the_hosts_that_own_their_macs_and_addresses() {
        use crate::store::Store;
        use crate::store::suite::{enroll_one, report};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("census.db")).unwrap();
        for a in ["watcher", "laptop", "server"] {
            enroll_one(&store, a).await;
        }
        // The watcher hears a printer, the laptop (by MAC, before the laptop reports), and a
        // device at the server's public IPv6 address under a router's MAC.
        let sightings = vec![
            heard("3c:2a:f4:00:00:01", &["192.0.2.50"]),
            heard("aa:bb:cc:00:00:02", &["192.0.2.60"]),
            heard("00:00:5e:00:01:01", &["2a01:4f8::10"]),
        ];
        let watcher = host("aa:bb:cc:00:00:01", &[("192.0.2.10", 24)], sightings.clone());
        store.apply(report("watcher", 1, Some(watcher))).await.unwrap();
        assert_eq!(unmanaged(&store).await, ["00:00:5e:00:01:01", "3c:2a:f4:00:00:01", "aa:bb:cc:00:00:02"]);

        // The laptop reports (MAC in upper case): its sighting becomes managed at once.
        store.apply(report("laptop", 1, Some(host("AA:BB:CC:00:00:02", &[("192.0.2.60", 24)], vec![])))).await.unwrap();
        assert_eq!(unmanaged(&store).await, ["00:00:5e:00:01:01", "3c:2a:f4:00:00:01"]);
        let all = store.neighbors().await.unwrap();
        let laptop = all.iter().find(|r| r.mac == "aa:bb:cc:00:00:02").unwrap();
        assert_eq!(laptop.managed_by.as_deref(), Some("laptop"));

        // A private address shared with the printer's does not make it managed; a globally
        // unique one does.
        let server = host("aa:bb:cc:00:00:03", &[("192.0.2.50", 24), ("2a01:4f8::10", 64)], vec![]);
        store.apply(report("server", 1, Some(server))).await.unwrap();
        assert_eq!(unmanaged(&store).await, ["3c:2a:f4:00:00:01"]);

        // The server loses that address: the device is unmanaged again.
        let server = host("aa:bb:cc:00:00:03", &[("192.0.2.50", 24)], vec![]);
        store.apply(report("server", 2, Some(server))).await.unwrap();
        assert_eq!(unmanaged(&store).await, ["00:00:5e:00:01:01", "3c:2a:f4:00:00:01"]);

        // `new`: first heard since.
        assert!(store.unmanaged_neighbors(Some(1_700_000_001)).await.unwrap().is_empty());
        assert_eq!(store.unmanaged_neighbors(Some(1_700_000_000)).await.unwrap().len(), 2);

        // Host filters by MAC, address and subnet.
        let q = |q: HostQuery| {
            let store = store.clone();
            async move { store.hosts_matching(q).await.unwrap().into_iter().map(|(h, _)| h.id).collect::<Vec<_>>() }
        };
        assert_eq!(q(HostQuery { mac: Some("aa:bb:cc:00:00:02".into()), ..Default::default() }).await, ["laptop"]);
        assert_eq!(q(HostQuery { ip: Some("192.0.2.50".parse().unwrap()), ..Default::default() }).await, ["server"]);
        let net = Some("192.0.2.0/25".parse().unwrap());
        assert_eq!(q(HostQuery { subnet: net, ..Default::default() }).await.len(), 3);
    }

    #[tokio::test]
    async fn exceptions_need_a_reason_and_are_audited() {
        use crate::store::Store;
        use crate::store::admin::AdminStore;
        use crate::store::suite::{enroll_one, report};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("census.db")).unwrap();
        enroll_one(&store, "kiosk").await;
        let mut inv = Inventory::default();
        inv.os.hostname = "kiosk-01".into();
        store.apply(report("kiosk", 1, Some(inv))).await.unwrap();
        let alice = Actor { name: "alice".into(), source: "test".into() };
        let e = store.set_exception("kiosk-01", " ", None, &alice).await.unwrap_err();
        assert!(e.to_string().contains("needs a reason"), "{e}");
        let asset = store.set_exception("kiosk-01", "vendor appliance", None, &alice).await.unwrap();
        let facts = store.coverage_facts(false).await.unwrap();
        let f = facts.iter().find(|f| f.asset_id == asset).unwrap();
        assert_eq!(f.exception.as_ref().unwrap().reason, "vendor appliance");
        assert_eq!(f.hostname, "kiosk-01");
        store.remove_exception(&asset, &alice).await.unwrap();
        let e = store.remove_exception(&asset, &alice).await.unwrap_err();
        assert!(e.to_string().contains("has no coverage exception"), "{e}");
        let audit = store.list_audit(0, 100).await.unwrap();
        let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
        assert!(actions.contains(&"coverage.exclude") && actions.contains(&"coverage.include"), "{actions:?}");
    }

    #[tokio::test]
    async fn backfill_rebuilds_the_derived_rows_from_stored_documents() {
        use crate::store::Store;
        use crate::store::suite::{enroll_one, report};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("census.db")).unwrap();
        enroll_one(&store, "watcher").await;
        enroll_one(&store, "laptop").await;
        let mut watcher = host(
            "aa:bb:cc:00:00:01",
            &[("192.0.2.10", 24)],
            vec![heard("aa:bb:cc:00:00:02", &[]), heard("3c:2a:f4:00:00:01", &[])],
        );
        watcher.security_products =
            vec![SecurityProduct { id: "crowdstrike-falcon".into(), installed: true, ..Default::default() }];
        store.apply(report("watcher", 1, Some(watcher))).await.unwrap();
        store.apply(report("laptop", 1, Some(host("aa:bb:cc:00:00:02", &[], vec![])))).await.unwrap();
        let snapshot = |c: &Connection| -> (i64, i64, i64, Vec<Option<String>>) {
            let n = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
            let mut stmt = c.prepare("SELECT managed_by FROM neighbors ORDER BY mac").unwrap();
            let managed = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
            (
                n("SELECT COUNT(*) FROM host_security"),
                n("SELECT COUNT(*) FROM host_addresses"),
                n("SELECT COUNT(*) FROM neighbors"),
                managed,
            )
        };
        let (before, after) = store
            .with(move |c| {
                let before = snapshot(c);
                // As a database from before schema 13 has them: none of the derived rows.
                c.execute_batch(
                    "DELETE FROM host_security; DELETE FROM host_addresses; DELETE FROM neighbor_addresses; \
                     DELETE FROM neighbors;",
                )
                .map_err(db)?;
                let tx = c.transaction().map_err(db)?;
                backfill(&tx).map_err(db)?;
                tx.commit().map_err(db)?;
                Ok((before, snapshot(c)))
            })
            .await
            .unwrap();
        assert_eq!(before.0, 1);
        assert_eq!(before.3, [None, Some("laptop".to_string())]);
        assert_eq!(before, after);
    }

    #[tokio::test]
    async fn a_device_heard_by_many_lists_the_latest_and_counts_them_all() {
        use crate::store::Store;
        use crate::store::suite::{enroll_one, report};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("census.db")).unwrap();
        let n = crate::store::SEEN_BY_SHOWN + 2;
        for i in 0..n {
            let agent = format!("agent-{i:02}");
            enroll_one(&store, &agent).await;
            let mut printer = heard("3c:2a:f4:00:00:01", &["192.0.2.50"]);
            printer.first_seen = 1_700_000_000 + i as i64;
            printer.last_seen = 1_700_001_000 + i as i64;
            let mut inv = host(&format!("aa:bb:cc:00:01:{i:02x}"), &[], vec![printer]);
            inv.os.hostname = agent.clone();
            store.apply(report(&agent, 1, Some(inv))).await.unwrap();
        }
        let rows = store.unmanaged_neighbors(None).await.unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.heard_by, n as u64);
        assert_eq!((r.first_seen, r.last_seen), (1_700_000_000, 1_700_001_000 + n as i64 - 1));
        let shown: Vec<&str> = r.seen_by.iter().map(|s| s.hostname.as_str()).collect();
        assert_eq!(shown.len(), crate::store::SEEN_BY_SHOWN);
        assert_eq!(shown[0], "agent-02", "the latest ones, by host name: {shown:?}");
        assert_eq!(r.ipv4, ["192.0.2.50"]);
        // `new`: first heard since the first agent heard it, plus one second.
        assert!(store.unmanaged_neighbors(Some(1_700_000_001)).await.unwrap().is_empty());
        assert_eq!(store.unmanaged_count().await.unwrap(), 1);
    }
}
