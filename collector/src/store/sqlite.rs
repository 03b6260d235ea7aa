//! The embedded default backend: one SQLite file in the data directory.
//!
//! WAL journal with `synchronous = FULL`, so a commit is on disk before the report is
//! acknowledged. rusqlite is blocking: every call runs on tokio's blocking pool.

use std::path::Path;
use std::sync::{Arc, Mutex};

use census_inventory::Inventory;
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    AgentRecord, Applied, HostDetail, HostLookup, HostSummary, NeighborRow, NewAgent, Sighting, SoftwareRow, Store,
    StoreError, VerifiedReport, now_ms,
};

/// Numbered migrations, applied in order, each once.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../../migrations/sqlite/0002_package_fields.sql")),
    (3, include_str!("../../migrations/sqlite/0003_neighbors.sql")),
    (4, include_str!("../../migrations/sqlite/0004_security.sql")),
    (5, include_str!("../../migrations/sqlite/0005_deltas.sql")),
    (6, include_str!("../../migrations/sqlite/0006_history.sql")),
    (7, include_str!("../../migrations/sqlite/0007_assets.sql")),
];

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// How long the applied-report log keeps a report (ms).
    report_retention_ms: i64,
}

pub(super) fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Db(e.to_string())
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open_err = |reason: String| StoreError::Open { path: path.display().to_string(), reason };
        let mut conn = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| open_err(e.to_string()))?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| open_err(e.to_string()))?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| open_err(e.to_string()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| open_err(e.to_string()))?;
        migrate(&mut conn).map_err(|e| open_err(format!("migration failed: {e}")))?;
        let retention = crate::config::Limits::default().max_report_age;
        Ok(Self { conn: Arc::new(Mutex::new(conn)), report_retention_ms: retention.as_millis() as i64 })
    }

    /// Keeps applied-report records for `d` (the collector's `max_report_age`).
    pub fn with_report_retention(mut self, d: std::time::Duration) -> Self {
        self.report_retention_ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(super) async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Db(format!("storage task failed: {e}")))?
    }
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    for (version, sql) in MIGRATIONS {
        let done: bool =
            conn.query_row("SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = ?1)", [version], |r| {
                r.get(0)
            })?;
        if done {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)", params![version, now_ms()])?;
        tx.commit()?;
    }
    Ok(())
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

const SUMMARY_COLUMNS: &str = "h.agent_id, h.hostname, h.os_pretty, h.os_id, h.os_version, h.kernel, h.arch, \
     COALESCE(a.last_seen, h.received_at), h.package_count, a.agent_version";

fn summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<HostSummary> {
    Ok(HostSummary {
        id: row.get(0)?,
        hostname: row.get(1)?,
        os: row.get(2)?,
        os_id: row.get(3)?,
        os_version: row.get(4)?,
        kernel: row.get(5)?,
        arch: row.get(6)?,
        last_seen: row.get(7)?,
        package_count: row.get::<_, i64>(8)?.max(0) as u64,
        agent_version: row.get(9)?,
    })
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn enroll(&self, agent: NewAgent) -> Result<(), StoreError> {
        self.with(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            let now = now_ms();
            let secret: Option<(String, String, Option<i64>, Option<i64>, i64, Option<i64>)> = tx
                .query_row(
                    "SELECT id, label, expires_at, max_uses, uses, revoked_at FROM enroll_secrets \
                     WHERE secret_sha256 = ?1",
                    [&agent.secret_sha256],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
                )
                .optional()
                .map_err(db)?;
            let Some((secret_id, label, expires_at, max_uses, uses, revoked_at)) = secret else {
                return Err(StoreError::EnrollRefused("enroll secret is not valid".into()));
            };
            if revoked_at.is_some() {
                return Err(StoreError::EnrollRefused(format!("enroll secret {label:?} was revoked")));
            }
            if let Some(at) = expires_at.filter(|at| *at <= now) {
                return Err(StoreError::EnrollRefused(format!(
                    "enroll secret {label:?} expired at {}",
                    crate::api::rfc3339(at)
                )));
            }
            let existing: Option<(Vec<u8>, Option<i64>)> = tx
                .query_row("SELECT public_key, revoked_at FROM agents WHERE agent_id = ?1", [&agent.agent_id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(db)?;
            match existing {
                Some((key, _)) if key != agent.public_key => return Err(StoreError::KeyConflict(agent.agent_id)),
                Some((_, Some(_))) => {
                    return Err(StoreError::EnrollRefused(format!(
                        "agent {} was revoked; a revoked key cannot enrol again (a new key enrols as a new agent)",
                        agent.agent_id
                    )));
                }
                Some(_) => {
                    tx.execute(
                        "UPDATE agents SET hostname = ?2, agent_version = ?3, client_cert_sha256 = ?4 \
                         WHERE agent_id = ?1",
                        params![agent.agent_id, agent.hostname, agent.agent_version, agent.client_cert_sha256],
                    )
                    .map_err(db)?;
                }
                None => {
                    if let Some(max) = max_uses.filter(|max| uses >= *max) {
                        return Err(StoreError::EnrollRefused(format!(
                            "enroll secret {label:?} is used up ({uses} of {max} enrollments)"
                        )));
                    }
                    tx.execute(
                        "INSERT INTO agents (agent_id, public_key, hostname, agent_version, enrolled_at, \
                         enroll_secret_id, enrolled_from, client_cert_sha256) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        params![
                            agent.agent_id,
                            agent.public_key,
                            agent.hostname,
                            agent.agent_version,
                            agent.enrolled_at,
                            secret_id,
                            agent.source,
                            agent.client_cert_sha256
                        ],
                    )
                    .map_err(db)?;
                    tx.execute("UPDATE enroll_secrets SET uses = uses + 1 WHERE id = ?1", [&secret_id]).map_err(db)?;
                }
            }
            tx.commit().map_err(db)
        })
        .await
    }

    async fn agent(&self, agent_id: &str) -> Result<Option<AgentRecord>, StoreError> {
        let agent_id = agent_id.to_string();
        self.with(move |conn| {
            conn.query_row(
                "SELECT agent_id, public_key, last_sequence, revoked_at IS NOT NULL, client_cert_sha256 \
                 FROM agents WHERE agent_id = ?1",
                [&agent_id],
                |r| {
                    Ok(AgentRecord {
                        agent_id: r.get(0)?,
                        public_key: r.get(1)?,
                        last_sequence: r.get::<_, i64>(2)?.max(0) as u64,
                        revoked: r.get(3)?,
                        client_cert_sha256: r.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(db)
        })
        .await
    }

    async fn apply(&self, report: VerifiedReport) -> Result<Applied, StoreError> {
        let document = match &report.inventory {
            Some(inv) => Some(serde_json::to_string(inv).map_err(|e| StoreError::Db(e.to_string()))?),
            None => None,
        };
        let retention = self.report_retention_ms;
        self.with(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            let (last, revoked): (i64, bool) = tx
                .query_row(
                    "SELECT last_sequence, revoked_at IS NOT NULL FROM agents WHERE agent_id = ?1",
                    [&report.agent_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(db)?;
            if revoked {
                return Ok(Applied::Revoked);
            }
            let seq = to_i64(report.sequence);
            let applied: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT digest FROM reports WHERE agent_id = ?1 AND sequence = ?2",
                    params![report.agent_id, seq],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            match applied {
                Some(digest) if digest == report.digest => return Ok(Applied::Duplicate),
                Some(_) => return Ok(Applied::Reused),
                None => {}
            }
            let last = last.max(0) as u64;
            if report.sequence <= last {
                return Ok(Applied::Stale { last });
            }
            tx.execute(
                "UPDATE agents SET last_sequence = ?2, last_seen = ?3, agent_version = ?4 WHERE agent_id = ?1",
                params![report.agent_id, seq, report.received_at, report.agent_version],
            )
            .map_err(db)?;
            tx.execute(
                "INSERT INTO reports (agent_id, sequence, digest, kind, bytes, collected_at, received_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    report.agent_id,
                    seq,
                    report.digest,
                    if report.inventory.is_some() { "full" } else { "heartbeat" },
                    to_i64(report.bytes),
                    report.collected_at,
                    report.received_at
                ],
            )
            .map_err(db)?;
            // Now and then, forget applied reports older than the collector accepts anyway.
            if report.sequence.is_multiple_of(64) {
                tx.execute(
                    "DELETE FROM reports WHERE agent_id = ?1 AND received_at < ?2 AND sequence < ?3",
                    params![report.agent_id, report.received_at.saturating_sub(retention), seq],
                )
                .map_err(db)?;
            }
            if let (Some(inv), Some(doc)) = (&report.inventory, &document) {
                // The state this report replaces, for the history and the asset links.
                let previous = previous_inventory(&tx, &report.agent_id).map_err(db)?;
                store_inventory(&tx, &report, inv, doc).map_err(db)?;
                super::history::record(&tx, &report, previous.as_ref(), inv).map_err(db)?;
                super::fleet::link(&tx, &report, inv).map_err(db)?;
            }
            tx.commit().map_err(db)?;
            Ok(Applied::Stored)
        })
        .await
    }

    async fn hosts(&self) -> Result<Vec<HostSummary>, StoreError> {
        self.with(|conn| {
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS} FROM hosts h JOIN agents a USING (agent_id) ORDER BY h.hostname, h.agent_id"
            );
            let mut stmt = conn.prepare(&sql).map_err(db)?;
            let rows = stmt.query_map([], summary).map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        })
        .await
    }

    async fn software(&self, name: &str, source: Option<&str>) -> Result<Vec<SoftwareRow>, StoreError> {
        let (name, source) = (name.to_string(), source.map(str::to_string));
        self.with(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT p.agent_id, h.hostname, p.name, p.version, p.arch, p.source, p.purl, p.location \
                     FROM packages p JOIN hosts h USING (agent_id) \
                     WHERE p.name = ?1 AND (?2 IS NULL OR p.source = ?2) \
                     ORDER BY h.hostname, p.agent_id, p.source, p.arch, p.version",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map(params![name, source], |r| {
                    Ok(SoftwareRow {
                        host_id: r.get(0)?,
                        hostname: r.get(1)?,
                        name: r.get(2)?,
                        version: r.get(3)?,
                        arch: r.get(4)?,
                        source: r.get(5)?,
                        purl: r.get(6)?,
                        location: r.get(7)?,
                    })
                })
                .map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        })
        .await
    }

    async fn neighbors(&self) -> Result<Vec<NeighborRow>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT n.mac, n.agent_id, h.hostname, n.interface, n.last_seen, n.document \
                     FROM neighbors n JOIN hosts h USING (agent_id) ORDER BY n.mac, h.hostname, n.agent_id",
                )
                .map_err(db)?;
            let mut rows = stmt.query([]).map_err(db)?;
            let mut out: Vec<NeighborRow> = Vec::new();
            let mut current: Option<(String, Vec<(Sighting, census_inventory::Neighbor)>)> = None;
            while let Some(r) = rows.next().map_err(db)? {
                let mac: String = r.get(0).map_err(db)?;
                let sighting = Sighting {
                    host_id: r.get(1).map_err(db)?,
                    hostname: r.get(2).map_err(db)?,
                    interface: r.get(3).map_err(db)?,
                    last_seen: r.get(4).map_err(db)?,
                };
                let document: String = r.get(5).map_err(db)?;
                let neighbor = serde_json::from_str(&document).map_err(|e| StoreError::Db(e.to_string()))?;
                match &mut current {
                    Some((m, list)) if *m == mac => list.push((sighting, neighbor)),
                    _ => {
                        if let Some((m, list)) = current.replace((mac, vec![(sighting, neighbor)])) {
                            out.push(NeighborRow::merge(m, list));
                        }
                    }
                }
            }
            if let Some((m, list)) = current {
                out.push(NeighborRow::merge(m, list));
            }
            Ok(out)
        })
        .await
    }

    async fn host(&self, query: &str) -> Result<HostLookup, StoreError> {
        let query = query.to_string();
        self.with(move |conn| {
            // Exact id first, then a unique id prefix of 4+ characters, then a unique host name.
            let mut steps = vec!["SELECT agent_id FROM hosts WHERE agent_id = ?1"];
            if query.chars().count() >= 4 {
                steps.push("SELECT agent_id FROM hosts WHERE substr(agent_id, 1, length(?1)) = ?1 ORDER BY agent_id");
            }
            steps.push("SELECT agent_id FROM hosts WHERE hostname = ?1 ORDER BY agent_id");
            let mut ids: Vec<String> = Vec::new();
            for sql in steps {
                let mut stmt = conn.prepare(sql).map_err(db)?;
                ids = stmt.query_map([&query], |r| r.get(0)).map_err(db)?.collect::<Result<_, _>>().map_err(db)?;
                if !ids.is_empty() {
                    break;
                }
            }
            match ids.len() {
                0 => return Ok(HostLookup::NotFound),
                1 => {}
                _ => return Ok(HostLookup::Ambiguous(ids)),
            }
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS}, h.machine_id, a.enrolled_at, h.sequence, h.collected_at, h.inventory \
                 FROM hosts h JOIN agents a USING (agent_id) WHERE h.agent_id = ?1"
            );
            let detail = conn
                .query_row(&sql, [&ids[0]], |r| {
                    let doc: String = r.get(14)?;
                    Ok((summary(r)?, r.get(10)?, r.get(11)?, r.get::<_, i64>(12)?, r.get(13)?, doc))
                })
                .map_err(db)?;
            let (summary, machine_id, enrolled_at, sequence, collected_at, doc) = detail;
            let inventory: Inventory =
                serde_json::from_str(&doc).map_err(|e| StoreError::Db(format!("stored inventory: {e}")))?;
            Ok(HostLookup::Found(Box::new(HostDetail {
                summary,
                machine_id,
                enrolled_at,
                sequence: sequence.max(0) as u64,
                collected_at,
                inventory,
            })))
        })
        .await
    }
}

/// The agent's latest stored inventory, if it sent one.
fn previous_inventory(tx: &rusqlite::Transaction<'_>, agent_id: &str) -> rusqlite::Result<Option<Inventory>> {
    let doc: Option<String> =
        tx.query_row("SELECT inventory FROM hosts WHERE agent_id = ?1", [agent_id], |r| r.get(0)).optional()?;
    doc.map(|d| {
        serde_json::from_str(&d)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
    })
    .transpose()
}

fn store_inventory(
    tx: &rusqlite::Transaction<'_>,
    report: &VerifiedReport,
    inv: &Inventory,
    document: &str,
) -> rusqlite::Result<()> {
    let os = &inv.os;
    tx.execute(
        "INSERT INTO hosts (agent_id, hostname, os_pretty, os_id, os_version, kernel, arch, machine_id, sequence, \
             collected_at, received_at, package_count, inventory) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
         ON CONFLICT (agent_id) DO UPDATE SET hostname = excluded.hostname, os_pretty = excluded.os_pretty, \
             os_id = excluded.os_id, os_version = excluded.os_version, kernel = excluded.kernel, \
             arch = excluded.arch, machine_id = excluded.machine_id, sequence = excluded.sequence, \
             collected_at = excluded.collected_at, received_at = excluded.received_at, \
             package_count = excluded.package_count, inventory = excluded.inventory",
        params![
            report.agent_id,
            os.hostname,
            os.pretty_name,
            os.id,
            os.version,
            os.kernel,
            os.arch,
            os.machine_id,
            to_i64(report.sequence),
            report.collected_at,
            report.received_at,
            to_i64(inv.software.len() as u64),
            document,
        ],
    )?;
    tx.execute("DELETE FROM neighbors WHERE agent_id = ?1", [&report.agent_id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO neighbors (mac, agent_id, interface, first_seen, last_seen, document) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (mac, agent_id) DO UPDATE SET interface = excluded.interface, \
             first_seen = excluded.first_seen, last_seen = excluded.last_seen, document = excluded.document",
    )?;
    for n in &inv.neighbors {
        let document = serde_json::to_string(n).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        insert.execute(params![n.mac, report.agent_id, n.interface, n.first_seen, n.last_seen, document])?;
    }
    drop(insert);
    tx.execute("DELETE FROM packages WHERE agent_id = ?1", [&report.agent_id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO packages (agent_id, name, version, arch, source, source_package, maintainer, installed_size, \
             selection, vendor, install_time, purl, location) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for p in &inv.software {
        insert.execute(params![
            report.agent_id,
            p.name,
            p.version,
            p.arch,
            p.source,
            p.source_package,
            p.maintainer,
            to_i64(p.installed_size_bytes),
            p.selection,
            p.vendor,
            p.install_time,
            p.purl,
            p.location,
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("census.db")).unwrap();
        crate::store::suite::run_all(&store).await;
    }

    #[tokio::test]
    async fn reopening_keeps_data_and_does_not_rerun_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("census.db");
        let store = SqliteStore::open(&path).unwrap();
        crate::store::suite::enroll_one(&store, "reopen").await;
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        assert!(store.agent("reopen").await.unwrap().is_some());
    }

    #[test]
    fn unopenable_path_is_a_clear_error() {
        let err = SqliteStore::open(Path::new("/no/such/dir/census.db")).err().unwrap();
        assert!(err.to_string().starts_with("database /no/such/dir/census.db: "), "{err}");
    }
}
