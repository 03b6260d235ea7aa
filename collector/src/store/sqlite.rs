//! The embedded default backend: one SQLite file in the data directory.
//!
//! WAL journal with `synchronous = FULL`, so a commit is on disk before the report is
//! acknowledged. rusqlite is blocking: every call runs on tokio's blocking pool.

use std::path::Path;
use std::sync::{Arc, Mutex};

use census_inventory::Inventory;
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    AgentRecord, Applied, HostDetail, HostLookup, HostSummary, NeighborRow, NewAgent, ReportBody, SoftwareRow, Store,
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
    (8, include_str!("../../migrations/sqlite/0008_lifecycle.sql")),
    (9, include_str!("../../migrations/sqlite/0009_package_versions.sql")),
    (10, include_str!("../../migrations/sqlite/0010_storage.sql")),
    (11, include_str!("../../migrations/sqlite/0011_declared.sql")),
    (12, include_str!("../../migrations/sqlite/0012_host_packages_by_package.sql")),
    (13, include_str!("../../migrations/sqlite/0013_coverage.sql")),
    (14, include_str!("../../migrations/sqlite/0014_unmanaged_index.sql")),
    (15, include_str!("../../migrations/sqlite/0015_host_documents.sql")),
];

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// A second connection, read-only, for the work done before the writer's transaction
    /// ([`super::document::prepare`]); WAL lets it read while the writer writes.
    reader: Arc<Mutex<Connection>>,
    /// How long the applied-report log keeps a report (ms).
    report_retention_ms: i64,
    /// The group-commit writer (see [`writer`]).
    writer: std::sync::mpsc::Sender<ApplyJob>,
    /// Agents' report credentials (see [`Store::report_credentials`]).
    credentials: Arc<CredentialCache>,
}

/// Enrolled agents' keys, revocation and client certificate hashes, so checking a report's
/// signature needs no trip to the database. Enrollment and revocation forget an agent's entry
/// and bump `generation`; an entry read from the database while the generation moved is not
/// kept, so a lookup racing a change cannot leave the old record behind.
#[derive(Default)]
pub(super) struct CredentialCache {
    agents: std::sync::RwLock<std::collections::HashMap<String, Arc<AgentRecord>>>,
    generation: std::sync::atomic::AtomicU64,
}

impl CredentialCache {
    fn get(&self, agent_id: &str) -> Option<Arc<AgentRecord>> {
        self.agents.read().unwrap_or_else(|p| p.into_inner()).get(agent_id).cloned()
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn keep(&self, record: Arc<AgentRecord>, read_at: u64) {
        let mut agents = self.agents.write().unwrap_or_else(|p| p.into_inner());
        if self.generation() == read_at {
            agents.insert(record.agent_id.clone(), record);
        }
    }

    /// Forgets `agent_id` (call after the change is committed).
    pub(super) fn forget(&self, agent_id: &str) {
        let mut agents = self.agents.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        agents.remove(agent_id);
    }
}

/// Most reports applied in one transaction.
const MAX_BATCH: usize = 256;

/// One report waiting for the writer, with what was computed outside the lock.
struct ApplyJob {
    report: VerifiedReport,
    /// What the report leaves stored, as worked out before the transaction.
    prepared: super::document::Prepared,
    retention: i64,
    reply: tokio::sync::oneshot::Sender<Result<Applied, StoreError>>,
}

/// The group-commit writer: takes every report waiting (up to [`MAX_BATCH`]), applies each in
/// its own savepoint of one transaction, commits once, and only then answers each. A report
/// that is refused or fails rolls back to its savepoint alone; a failed commit fails them all.
/// One fsync then covers many reports, which is what lets the collector keep up with a fleet's
/// heartbeats while still acknowledging only what is on disk.
fn writer(conn: Arc<Mutex<Connection>>, jobs: std::sync::mpsc::Receiver<ApplyJob>) {
    let mut known = KnownVersions::default();
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let results = apply_batch(&mut guard, &mut batch, &mut known);
        drop(guard);
        for (job, result) in batch.into_iter().zip(results) {
            let _ = job.reply.send(result);
        }
    }
}

/// Package version ids `package_versions` is known to hold, so that a host reporting versions
/// the fleet already has binds and runs no `INSERT OR IGNORE` for them (about 800 statements
/// for a new host). Only the writer thread adds versions and nothing deletes them; ids written
/// in a transaction count as known once it commits. Forgets everything past
/// [`KnownVersions::MAX`] ids, which costs only the statements it saved.
#[derive(Default)]
struct KnownVersions {
    committed: std::collections::HashSet<i64>,
    /// Written (or found) in the open transaction.
    pending: Vec<i64>,
}

impl KnownVersions {
    const MAX: usize = 4 << 20;

    fn contains(&self, id: i64) -> bool {
        self.committed.contains(&id)
    }

    fn committed(&mut self) {
        if self.committed.len() + self.pending.len() > Self::MAX {
            self.committed.clear();
        }
        self.committed.extend(self.pending.drain(..));
    }
}

/// Applies the batch in one transaction. No report that is refused writes anything before it
/// is refused (`apply_in` checks first), so only an error midway needs undoing: the batch is
/// first applied without savepoints (a savepoint journals every page it touches), and only if
/// a report fails is it rolled back and applied again with a savepoint per report.
fn apply_batch(
    conn: &mut Connection,
    batch: &mut [ApplyJob],
    known: &mut KnownVersions,
) -> Vec<Result<Applied, StoreError>> {
    match apply_all(conn, batch, false, known) {
        Ok(results) => results,
        Err(_) => match apply_all(conn, batch, true, known) {
            Ok(results) => results,
            Err(e) => (0..batch.len()).map(|_| Err(StoreError::Db(e.to_string()))).collect(),
        },
    }
}

/// One attempt at the batch. Without savepoints, the first failing report fails the attempt
/// (rolled back); with them, it rolls back to its savepoint alone. A failed commit fails all.
/// What was prepared for a report is used by the first attempt only.
fn apply_all(
    conn: &mut Connection,
    batch: &mut [ApplyJob],
    savepoints: bool,
    known: &mut KnownVersions,
) -> Result<Vec<Result<Applied, StoreError>>, StoreError> {
    known.pending.clear();
    let tx = conn.transaction().map_err(db)?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch.iter_mut() {
        if savepoints {
            tx.execute_batch("SAVEPOINT report").map_err(db)?;
        }
        let pending = known.pending.len();
        let prepared = std::mem::take(&mut job.prepared);
        let result = apply_in(&tx, &job.report, prepared, job.retention, known);
        if savepoints {
            let keep = matches!(result, Ok(Applied::Stored | Applied::StoredWithoutInventory));
            if !keep {
                known.pending.truncate(pending);
            }
            let end = if keep { "RELEASE report" } else { "ROLLBACK TO report; RELEASE report" };
            tx.execute_batch(end).map_err(db)?;
        } else if let Err(e) = result {
            return Err(e);
        }
        results.push(result);
    }
    tx.commit().map_err(db)?;
    known.committed();
    Ok(results)
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
        // A page cache large enough that a batch of full reports does not spill pages to the WAL
        // before its commit, and savepoint journals kept in memory.
        conn.pragma_update(None, "cache_size", -128 * 1024).map_err(|e| open_err(e.to_string()))?;
        conn.pragma_update(None, "temp_store", "MEMORY").map_err(|e| open_err(e.to_string()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| open_err(e.to_string()))?;
        // The report path alone uses about 25 statements; rusqlite keeps 16 by default, and a
        // statement pushed out is parsed again on its next use.
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn).map_err(|e| open_err(format!("migration failed: {e}")))?;
        let reader = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_err(format!("cannot open a read connection: {e}")))?;
        reader.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| open_err(e.to_string()))?;
        // Fleet-wide queries read tens of megabytes: through a memory map the pages the WAL does
        // not hold cost no read() each (SQLite drops its page cache whenever the writer commits).
        reader.pragma_update(None, "mmap_size", 1_i64 << 30).map_err(|e| open_err(e.to_string()))?;
        reader.pragma_update(None, "cache_size", -64 * 1024).map_err(|e| open_err(e.to_string()))?;
        let retention = crate::config::Limits::default().max_report_age;
        let conn = Arc::new(Mutex::new(conn));
        let (writer_tx, jobs) = std::sync::mpsc::channel();
        let shared = conn.clone();
        std::thread::Builder::new()
            .name("census-sqlite-writer".into())
            .spawn(move || writer(shared, jobs))
            .map_err(|e| open_err(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            conn,
            reader: Arc::new(Mutex::new(reader)),
            report_retention_ms: retention.as_millis() as i64,
            writer: writer_tx,
            credentials: Arc::default(),
        })
    }

    /// Keeps applied-report records for `d` (the collector's `max_report_age`).
    pub fn with_report_retention(mut self, d: std::time::Duration) -> Self {
        self.report_retention_ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self
    }

    /// Hands a report and what was prepared for it to the writer; answers once it is committed.
    async fn submit(&self, report: VerifiedReport, prepared: super::document::Prepared) -> Result<Applied, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = ApplyJob { report, prepared, retention: self.report_retention_ms, reply };
        self.writer.send(job).map_err(|_| StoreError::Db("the writer thread stopped".into()))?;
        answer.await.map_err(|_| StoreError::Db("the writer thread stopped".into()))?
    }

    /// The report-credential cache, for admin actions that change an agent.
    pub(super) fn credentials(&self) -> &CredentialCache {
        &self.credentials
    }

    /// Runs `f` with the connection on the blocking pool.
    pub(super) async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.with_err(f).await
    }

    /// Runs `f` with the read-only connection on the blocking pool: for reads on the report
    /// path, which must not wait for the writer thread's batch (it holds `conn` while it
    /// applies one). WAL lets this connection see every committed transaction.
    pub(super) async fn with_reader<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || f(&reader.lock().unwrap_or_else(|poisoned| poisoned.into_inner())))
            .await
            .map_err(|e| StoreError::Db(format!("storage task failed: {e}")))?
    }

    /// [`Self::with`] for closures with their own error type (admin actions).
    pub(super) async fn with_err<T: Send + 'static, E: From<StoreError> + Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| E::from(StoreError::Db(format!("storage task failed: {e}"))))?
    }
}

/// Applies the pending migrations in one transaction, so a database is never left between two
/// schemas; rows derived from stored documents (schema 13) are filled once all are applied.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    let tx = conn.transaction()?;
    let mut backfill = false;
    for (version, sql) in MIGRATIONS {
        let done: bool =
            tx.query_row("SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = ?1)", [version], |r| r.get(0))?;
        if done {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)", params![version, now_ms()])?;
        backfill |= *version == 13;
    }
    if backfill {
        super::coverage::backfill(&tx)?;
    }
    tx.commit()
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(super) const SUMMARY_COLUMNS: &str = "h.agent_id, h.hostname, h.os_pretty, h.os_id, h.os_version, h.kernel, h.arch, \
     COALESCE(a.last_seen, h.received_at), h.package_count, a.agent_version";

pub(super) fn summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<HostSummary> {
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

/// An enroll secret's id, label, expiry, use limit, uses and revocation time.
type SecretRow = (String, String, Option<i64>, Option<i64>, i64, Option<i64>);

impl SqliteStore {
    async fn enroll_in(&self, agent: NewAgent) -> Result<(), StoreError> {
        self.with(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            let now = now_ms();
            let secret: Option<SecretRow> = tx
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
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn enroll(&self, agent: NewAgent) -> Result<(), StoreError> {
        let agent_id = agent.agent_id.clone();
        let result = self.enroll_in(agent).await;
        self.credentials.forget(&agent_id);
        result
    }

    async fn report_credentials(&self, agent_id: &str) -> Result<Option<Arc<AgentRecord>>, StoreError> {
        if let Some(known) = self.credentials.get(agent_id) {
            return Ok(Some(known));
        }
        let read_at = self.credentials.generation();
        let Some(record) = self.agent(agent_id).await? else { return Ok(None) };
        let record = Arc::new(record);
        self.credentials.keep(record.clone(), read_at);
        Ok(Some(record))
    }

    async fn agent(&self, agent_id: &str) -> Result<Option<AgentRecord>, StoreError> {
        let agent_id = agent_id.to_string();
        self.with_reader(move |conn| {
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
        // Off the writer thread: what the report leaves stored (documents, a delta's result).
        let (report, prepared) = match report.body {
            ReportBody::Heartbeat => (report, super::document::Prepared::default()),
            _ => {
                let reader = self.reader.clone();
                tokio::task::spawn_blocking(move || {
                    let prepared = super::document::prepare(&reader, &report);
                    prepared.map(|p| (report, p))
                })
                .await
                .map_err(|e| StoreError::Db(format!("storage task failed: {e}")))??
            }
        };
        self.submit(report, prepared).await
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

    async fn software(
        &self,
        name: &str,
        source: Option<&str>,
        wanted: Option<census_inventory::version::Constraint>,
    ) -> Result<Vec<SoftwareRow>, StoreError> {
        use census_inventory::version::Scheme;
        let (name, source) = (name.to_string(), source.map(str::to_string));
        self.with_reader(move |conn| {
            let tx = conn.unchecked_transaction().map_err(db)?;
            // The versions first (a name has few), judged by the constraint, then the hosts of
            // the ones kept: the hosts of a version that does not match are never read.
            let versions: Vec<(i64, String, String, String, String, String, String)> = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT id, name, version, arch, source, purl, location FROM package_versions \
                         WHERE name = ?1 AND (?2 IS NULL OR source = ?2)",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map(params![name, source], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
                    })
                    .map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)?
            };
            let mut hosts = tx
                .prepare_cached(
                    "SELECT h.agent_id, h.hostname FROM host_packages hp \
                     JOIN host_keys k ON k.host_key = hp.host_key JOIN hosts h ON h.agent_id = k.agent_id \
                     WHERE hp.package_id = ?1",
                )
                .map_err(db)?;
            let mut out = Vec::new();
            for (id, name, version, arch, source, purl, location) in versions {
                if wanted.as_ref().is_some_and(|c| !c.matches(Scheme::for_source(&source), &version)) {
                    continue;
                }
                let mut rows = hosts.query([id]).map_err(db)?;
                while let Some(r) = rows.next().map_err(db)? {
                    out.push(SoftwareRow {
                        host_id: r.get(0).map_err(db)?,
                        hostname: r.get(1).map_err(db)?,
                        name: name.clone(),
                        version: version.clone(),
                        arch: arch.clone(),
                        source: source.clone(),
                        purl: purl.clone(),
                        location: location.clone(),
                    });
                }
            }
            out.sort_by(|a, b| {
                (&a.hostname, &a.host_id, &a.source, &a.arch, &a.version).cmp(&(
                    &b.hostname,
                    &b.host_id,
                    &b.source,
                    &b.arch,
                    &b.version,
                ))
            });
            Ok(out)
        })
        .await
    }

    async fn neighbors(&self) -> Result<Vec<NeighborRow>, StoreError> {
        self.with_reader(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT n.mac, n.agent_id, h.hostname, n.interface, n.last_seen, n.document, n.managed_by \
                     FROM neighbors n JOIN hosts h USING (agent_id) ORDER BY n.mac, h.hostname, n.agent_id",
                )
                .map_err(db)?;
            let mut rows = stmt.query([]).map_err(db)?;
            super::coverage::merge_sightings(&mut rows)
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
                "SELECT {SUMMARY_COLUMNS}, h.machine_id, a.enrolled_at, h.sequence, h.collected_at, d.document, d.inventory, a.asset_id \
                 FROM hosts h JOIN agents a USING (agent_id) JOIN host_documents d USING (agent_id) WHERE h.agent_id = ?1"
            );
            let detail = conn
                .query_row(&sql, [&ids[0]], |r| {
                    let doc: (Option<Vec<u8>>, String, Option<String>) = (r.get(14)?, r.get(15)?, r.get(16)?);
                    Ok((summary(r)?, r.get(10)?, r.get(11)?, r.get::<_, i64>(12)?, r.get(13)?, doc))
                })
                .map_err(db)?;
            let (summary, machine_id, enrolled_at, sequence, collected_at, (document, json, asset_id)) = detail;
            let inventory = super::document::decode(document.as_deref(), &json)
                .map_err(|e| StoreError::Db(format!("stored inventory: {e}")))?;
            Ok(HostLookup::Found(Box::new(HostDetail {
                summary,
                machine_id,
                enrolled_at,
                sequence: sequence.max(0) as u64,
                collected_at,
                asset_id,
                inventory,
            })))
        })
        .await
    }
}

/// Applies one verified report inside the writer's transaction (its own savepoint): revocation
/// and sequence checks, the applied-report log, inventory, packages, history, asset link and
/// lifecycle. The caller commits, or rolls the savepoint back for anything but `Stored*`.
fn apply_in(
    tx: &rusqlite::Transaction<'_>,
    report: &VerifiedReport,
    prepared: super::document::Prepared,
    retention: i64,
    known: &mut KnownVersions,
) -> Result<Applied, StoreError> {
    // Every statement of the report path is cached: parsing SQL would cost more than running
    // it for a heartbeat.
    let (last, revoked): (i64, bool) = tx
        .prepare_cached("SELECT last_sequence, revoked_at IS NOT NULL FROM agents WHERE agent_id = ?1")
        .and_then(|mut s| s.query_row([&report.agent_id], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(db)?;
    if revoked {
        return Ok(Applied::Revoked);
    }
    let seq = to_i64(report.sequence);
    let applied: Option<Vec<u8>> = tx
        .prepare_cached("SELECT digest FROM reports WHERE agent_id = ?1 AND sequence = ?2")
        .and_then(|mut s| s.query_row(params![report.agent_id, seq], |r| r.get(0)).optional())
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
    // The inventory this report leaves stored, with its document and state hash, and the
    // one it replaces; for a delta both are decided before anything is written, so a
    // refused delta stores nothing (no refusal writes anything: see `apply_batch`). What was
    // prepared is used only if the stored state is still the one it was worked out from.
    let super::document::Prepared { base, next, packages } = prepared;
    let (base, packages) = match base {
        Some(b) if b.is_current(tx, &report.agent_id).map_err(db)? => (Some(b), packages),
        _ => (None, None),
    };
    let base_inventory = |b| match b {
        super::document::Base::Absent => None,
        super::document::Base::Stored { inventory, .. } => Some(*inventory),
    };
    let (previous, next) = match &report.body {
        ReportBody::Full(inv) => {
            let encoded = match next {
                Some((_, encoded)) => encoded,
                None => super::document::encode(inv)?,
            };
            let previous = match base {
                Some(b) => base_inventory(b),
                None => super::document::read(tx, &report.agent_id)?.map(|(inv, _)| inv),
            };
            (previous, Some((inv.clone(), encoded)))
        }
        ReportBody::Delta { delta, max_section_items } => match (base, next) {
            (Some(b), Some((Some(result), encoded))) => (base_inventory(b), Some((result, encoded))),
            _ => match apply_delta(tx, &report.agent_id, delta, *max_section_items)? {
                Ok((previous, next)) => (Some(previous), Some(next)),
                Err(refused) => return Ok(refused),
            },
        },
        ReportBody::Heartbeat => (None, None),
    };
    let without_inventory = matches!(report.body, ReportBody::Heartbeat)
        && !tx
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM hosts WHERE agent_id = ?1)")
            .and_then(|mut s| s.query_row([&report.agent_id], |r| r.get(0)))
            .map_err(db)?;
    tx.prepare_cached("UPDATE agents SET last_sequence = ?2, last_seen = ?3, agent_version = ?4 WHERE agent_id = ?1")
        .and_then(|mut s| s.execute(params![report.agent_id, seq, report.received_at, report.agent_version]))
        .map_err(db)?;
    tx.prepare_cached(
        "INSERT INTO reports (agent_id, sequence, digest, kind, bytes, collected_at, received_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            report.agent_id,
            seq,
            report.digest,
            report.body.kind(),
            to_i64(report.bytes),
            report.collected_at,
            report.received_at
        ])
    })
    .map_err(db)?;
    // Now and then, forget applied reports older than the collector accepts anyway.
    if report.sequence.is_multiple_of(64) {
        tx.prepare_cached("DELETE FROM reports WHERE agent_id = ?1 AND received_at < ?2 AND sequence < ?3")
            .and_then(|mut s| s.execute(params![report.agent_id, report.received_at.saturating_sub(retention), seq]))
            .map_err(db)?;
    }
    if let Some((inv, encoded)) = &next {
        // `previous`: the state this report replaces, for the history, packages and asset links.
        let packages = packages
            .unwrap_or_else(|| package_changes(previous.as_ref().map(|p| p.software.as_slice()), &inv.software));
        store_inventory(tx, report, inv, encoded, &packages, known).map_err(db)?;
        if previous.as_ref().map(|p| &p.declared) != Some(&inv.declared) {
            super::lifecycle::store_declared(tx, &report.agent_id, &inv.declared, report.received_at).map_err(db)?;
        }
        super::coverage::on_inventory(tx, &report.agent_id, previous.as_ref(), inv).map_err(db)?;
        super::history::record(tx, report, previous.as_ref(), inv).map_err(db)?;
        super::fleet::link(tx, report, inv).map_err(db)?;
    }
    // Any report, heartbeats too, brings a stale asset back (or flags a retired one).
    super::lifecycle::on_report(tx, &report.agent_id, report.received_at, report.sequence).map_err(db)?;
    Ok(if without_inventory { Applied::StoredWithoutInventory } else { Applied::Stored })
}

/// The id of a package version: the first 8 bytes of SHA-256 over its fields, each followed by
/// a 0 byte. Computed, so writing a host's packages needs no lookups; a collision between two
/// distinct versions has a probability near n²/2⁶⁵ (about 10⁻⁸ for ten million versions).
pub(super) fn package_id(p: &census_inventory::Package) -> i64 {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let size = p.installed_size_bytes.to_string();
    for field in [
        &p.name,
        &p.version,
        &p.arch,
        &p.source,
        &p.source_package,
        &p.maintainer,
        &size,
        &p.selection,
        &p.vendor,
        &p.purl,
        &p.location,
    ] {
        ctx.update(field.as_bytes());
        ctx.update(&[0]);
    }
    let digest = ctx.finish();
    i64::from_be_bytes(digest.as_ref()[..8].try_into().expect("a SHA-256 digest has 8 bytes"))
}

/// What brings a host's `host_packages` from the packages it has now to the ones it reports.
#[derive(Default)]
pub(super) struct PackageChanges {
    /// Versions the host no longer has.
    remove: Vec<i64>,
    /// (id, index in the reported list, whether the host did not have it): versions added, or
    /// whose install time changed.
    upsert: Vec<(i64, usize, bool)>,
}

/// The changes from `previous` (the stored inventory's packages; `None`: a host stored for the
/// first time) to `software`: an unchanged host has none.
pub(super) fn package_changes(
    previous: Option<&[census_inventory::Package]>,
    software: &[census_inventory::Package],
) -> PackageChanges {
    use std::collections::HashMap;
    let current: HashMap<i64, i64> =
        previous.unwrap_or_default().iter().map(|p| (package_id(p), p.install_time)).collect();
    let mut changes = PackageChanges::default();
    let mut wanted = std::collections::HashSet::with_capacity(software.len());
    for (i, p) in software.iter().enumerate() {
        let id = package_id(p);
        if !wanted.insert(id) {
            continue;
        }
        match current.get(&id) {
            Some(t) if *t == p.install_time => {}
            had => changes.upsert.push((id, i, had.is_none())),
        }
    }
    changes.remove = current.into_keys().filter(|id| !wanted.contains(id)).collect();
    changes
}

/// Writes `changes` to `host_packages` for `agent_id` (under its `host_keys` number, given on
/// its first packages); a version new to the fleet is added to `package_versions` once.
fn store_packages(
    tx: &rusqlite::Transaction<'_>,
    agent_id: &str,
    software: &[census_inventory::Package],
    changes: &PackageChanges,
    known: &mut KnownVersions,
) -> rusqlite::Result<()> {
    if changes.remove.is_empty() && changes.upsert.is_empty() {
        return Ok(());
    }
    let host: i64 = match tx
        .prepare_cached("SELECT host_key FROM host_keys WHERE agent_id = ?1")?
        .query_row([agent_id], |r| r.get(0))
        .optional()?
    {
        Some(key) => key,
        None => {
            tx.prepare_cached("INSERT INTO host_keys (agent_id) VALUES (?1)")?.execute([agent_id])?;
            tx.last_insert_rowid()
        }
    };
    let mut delete = tx.prepare_cached("DELETE FROM host_packages WHERE package_id = ?1 AND host_key = ?2")?;
    for id in &changes.remove {
        delete.execute(params![id, host])?;
    }
    let mut version = tx.prepare_cached(
        "INSERT OR IGNORE INTO package_versions (id, name, version, arch, source, source_package, maintainer, \
             installed_size, selection, vendor, purl, location) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    let mut link = tx.prepare_cached(
        "INSERT INTO host_packages (package_id, host_key, install_time) VALUES (?1, ?2, ?3) \
         ON CONFLICT (package_id, host_key) DO UPDATE SET install_time = excluded.install_time",
    )?;
    for &(id, i, new) in &changes.upsert {
        let p = &software[i];
        if new && !known.contains(id) {
            known.pending.push(id);
            version.execute(params![
                id,
                p.name,
                p.version,
                p.arch,
                p.source,
                p.source_package,
                p.maintainer,
                to_i64(p.installed_size_bytes),
                p.selection,
                p.vendor,
                p.purl,
                p.location,
            ])?;
        }
        link.execute(params![id, host, p.install_time])?;
    }
    Ok(())
}

/// What [`apply_delta`] comes to: the stored inventory and the result with its document, or the
/// refusal.
type DeltaOutcome = Result<(Inventory, (Inventory, super::document::Encoded)), Applied>;

/// Applies `delta` to the agent's stored inventory inside the transaction: `Ok((stored,
/// (result, its document)))`, or why it is refused (the stored state is not the delta's base,
/// the delta does not apply, its result is not the state it names or is over a limit).
fn apply_delta(
    tx: &rusqlite::Transaction<'_>,
    agent_id: &str,
    delta: &census_inventory::delta::InventoryDelta,
    max_section_items: usize,
) -> Result<DeltaOutcome, StoreError> {
    let mismatch = |stored| Applied::BaseMismatch { base: delta.base_sha256.clone(), stored };
    // Compare before reading the document, so a stale delta costs little.
    match super::document::stored_hash(tx, agent_id).map_err(db)? {
        None => return Ok(Err(mismatch(None))),
        Some(Some(h)) if h != delta.base_sha256 => return Ok(Err(mismatch(Some(h)))),
        _ => {}
    }
    // A host stored before state hashes were kept gets its hash now.
    let Some((base, hash)) = super::document::read(tx, agent_id)? else { return Ok(Err(mismatch(None))) };
    if hash != delta.base_sha256 {
        return Ok(Err(mismatch(Some(hash))));
    }
    Ok(super::document::delta_result(&base, delta, max_section_items)?.map(|next| (base, next)))
}

/// The first 8 hex digits of a hash (how messages name a state).
pub fn short_hex(hash: &[u8]) -> String {
    hash.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

fn store_inventory(
    tx: &rusqlite::Transaction<'_>,
    report: &VerifiedReport,
    inv: &Inventory,
    encoded: &super::document::Encoded,
    packages: &PackageChanges,
    known: &mut KnownVersions,
) -> rusqlite::Result<()> {
    let os = &inv.os;
    tx.prepare_cached(
        "INSERT INTO hosts (agent_id, hostname, os_pretty, os_id, os_version, kernel, arch, machine_id, sequence, \
             collected_at, received_at, package_count) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
         ON CONFLICT (agent_id) DO UPDATE SET hostname = excluded.hostname, os_pretty = excluded.os_pretty, \
             os_id = excluded.os_id, os_version = excluded.os_version, kernel = excluded.kernel, \
             arch = excluded.arch, machine_id = excluded.machine_id, sequence = excluded.sequence, \
             collected_at = excluded.collected_at, received_at = excluded.received_at, \
             package_count = excluded.package_count",
    )?
    .execute(params![
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
    ])?;
    tx.prepare_cached(
        "INSERT INTO host_documents (agent_id, state_sha256, inventory, document) VALUES (?1, ?2, '', ?3) \
         ON CONFLICT (agent_id) DO UPDATE SET state_sha256 = excluded.state_sha256, inventory = '', \
             document = excluded.document",
    )?
    .execute(params![report.agent_id, encoded.hash, encoded.document])?;

    store_packages(tx, &report.agent_id, &inv.software, packages, known)?;
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

    #[test]
    fn host_package_links_survive_the_move_to_a_package_first_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("census.db");
        let mut conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
            .unwrap();
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v < 12) {
            let tx = conn.transaction().unwrap();
            tx.execute_batch(sql).unwrap();
            tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, 0)", [version]).unwrap();
            tx.commit().unwrap();
        }
        let links = [("agent-b", 7_i64, 100_i64), ("agent-a", 7, 200), ("agent-a", -3, 300)];
        for (agent, package, time) in links {
            conn.execute(
                "INSERT INTO host_packages (agent_id, package_id, install_time) VALUES (?1, ?2, ?3)",
                params![agent, package, time],
            )
            .unwrap();
        }
        drop(conn);
        drop(SqliteStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT hp.package_id, k.agent_id, hp.install_time FROM host_packages hp \
                 JOIN host_keys k USING (host_key) ORDER BY hp.package_id, k.agent_id",
            )
            .unwrap();
        let rows: Vec<(i64, String, i64)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
        assert_eq!(rows, [(-3, "agent-a".into(), 300), (7, "agent-a".into(), 200), (7, "agent-b".into(), 100)]);
        let indexes: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'host_packages'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 0, "one tree: the primary key only");
    }

    #[tokio::test]
    async fn a_database_from_before_schema_13_gets_its_documents_moved_and_coverage_rows_filled() {
        use census_inventory::{Inventory, SecurityProduct};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("census.db");
        let mut conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
            .unwrap();
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v < 13) {
            let tx = conn.transaction().unwrap();
            tx.execute_batch(sql).unwrap();
            tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, 0)", [version]).unwrap();
            tx.commit().unwrap();
        }
        let mut inv = Inventory::default();
        inv.os.hostname = "old-host".into();
        inv.security_products =
            vec![SecurityProduct { id: "crowdstrike-falcon".into(), installed: true, ..Default::default() }];
        let encoded = super::super::document::encode(&inv).unwrap();
        conn.execute(
            "INSERT INTO agents (agent_id, public_key, hostname, agent_version, enrolled_at) VALUES ('a1', x'00', 'old-host', '0', 1)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO hosts (agent_id, hostname, os_pretty, os_id, os_version, kernel, arch, machine_id, sequence, \
                 collected_at, received_at, package_count, inventory, document, state_sha256) \
             VALUES ('a1', 'old-host', '', '', '', '', '', '', 1, 1, 1, 0, '', ?1, ?2)",
            params![encoded.document, encoded.hash],
        )
        .unwrap();
        drop(conn);
        let store = SqliteStore::open(&path).unwrap();
        let HostLookup::Found(host) = store.host("old-host").await.unwrap() else { panic!("host not found") };
        assert_eq!(host.inventory, inv);
        let conn = Connection::open(&path).unwrap();
        let n = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(n("SELECT COUNT(*) FROM host_security WHERE agent_id = 'a1'"), 1);
        assert_eq!(n("SELECT COUNT(*) FROM host_documents"), 1);
        assert_eq!(n("SELECT COUNT(*) FROM pragma_table_info('hosts') WHERE name IN ('document', 'inventory')"), 0);
        assert_eq!(n("SELECT MAX(version) FROM schema_migrations"), MIGRATIONS.len() as i64);
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

    #[tokio::test]
    async fn package_versions_are_stored_once_for_the_fleet() {
        use census_inventory::{Inventory, Package};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("census.db")).unwrap();
        let pkg = |name: &str, version: &str| Package {
            name: name.into(),
            version: version.into(),
            source: "dpkg".into(),
            ..Default::default()
        };
        let inv = |packages: Vec<Package>| Inventory { software: packages, ..Default::default() };
        for (id, seq) in [("p1", 1), ("p2", 1)] {
            crate::store::suite::enroll_one(&store, id).await;
            let r = crate::store::suite::report(id, seq, Some(inv(vec![pkg("curl", "8.0"), pkg("jq", "1.6")])));
            store.apply(r).await.unwrap();
        }
        let count = |sql: &'static str| {
            let store = store.clone();
            async move { store.with(move |c| c.query_row(sql, [], |r| r.get::<_, i64>(0)).map_err(db)).await.unwrap() }
        };
        assert_eq!(count("SELECT COUNT(*) FROM package_versions").await, 2, "one row per version, not per host");
        assert_eq!(count("SELECT COUNT(*) FROM host_packages").await, 4);
        // p1 upgrades jq: one link replaced, one version added; curl untouched.
        let r = crate::store::suite::report("p1", 2, Some(inv(vec![pkg("curl", "8.0"), pkg("jq", "1.7")])));
        store.apply(r).await.unwrap();
        assert_eq!(count("SELECT COUNT(*) FROM package_versions").await, 3);
        assert_eq!(count("SELECT COUNT(*) FROM host_packages").await, 4);
        let rows = store.software("jq", None, None).await.unwrap();
        let got: Vec<_> = rows.iter().map(|r| (r.host_id.as_str(), r.version.as_str())).collect();
        assert_eq!(got, [("p1", "1.7"), ("p2", "1.6")]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_reports_share_commits_and_each_gets_its_own_answer() {
        use crate::store::suite::{enroll_one, report};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("census.db")).unwrap();
        let ids: Vec<String> = (0..40).map(|i| format!("batch{i:02}")).collect();
        for id in &ids {
            enroll_one(&store, id).await;
        }
        // Each agent sends sequence 1 twice and then 1 again with other bytes, all at once: in
        // whatever batches they land, exactly one copy is stored, the rest answered for what they
        // are, and a refusal rolls back nothing but itself.
        let mut tasks = Vec::new();
        for id in &ids {
            for copy in 0..3 {
                let (store, id) = (store.clone(), id.clone());
                tasks.push(tokio::spawn(async move {
                    let mut r = report(&id, 1, None);
                    if copy == 2 {
                        r.digest = vec![copy];
                    }
                    (id, copy, store.apply(r).await.unwrap())
                }));
            }
        }
        let mut outcomes = std::collections::BTreeMap::<String, Vec<Applied>>::new();
        for t in tasks {
            let (id, _, applied) = t.await.unwrap();
            outcomes.entry(id).or_default().push(applied);
        }
        for (id, answers) in outcomes {
            let stored =
                answers.iter().filter(|a| matches!(a, Applied::Stored | Applied::StoredWithoutInventory)).count();
            assert_eq!(stored, 1, "{id}: {answers:?}");
            assert!(answers.iter().all(|a| !matches!(a, Applied::Stale { .. })), "{id}: {answers:?}");
            assert_eq!(store.agent(&id).await.unwrap().unwrap().last_sequence, 1);
        }
    }

    #[tokio::test]
    async fn work_prepared_on_a_state_that_changed_since_is_redone_in_the_transaction() {
        use crate::store::suite::{enroll_one, report};
        use census_inventory::{Inventory, Package};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("census.db")).unwrap();
        enroll_one(&store, "a").await;
        let with = |names: &[&str]| Inventory {
            software: names
                .iter()
                .map(|n| Package { name: n.to_string(), version: "1".into(), ..Default::default() })
                .collect(),
            ..Default::default()
        };
        let prepare = |r: &VerifiedReport| super::super::document::prepare(&store.reader, r).unwrap();
        let packages = |store: SqliteStore| async move {
            store
                .with(|c| {
                    let mut s = c
                        .prepare("SELECT p.name FROM host_packages h JOIN package_versions p ON p.id = h.package_id ORDER BY 1")
                        .map_err(db)?;
                    s.query_map([], |r| r.get::<_, String>(0)).map_err(db)?.collect::<Result<Vec<_>, _>>().map_err(db)
                })
                .await
                .unwrap()
        };
        assert_eq!(store.apply(report("a", 1, Some(with(&["bash"])))).await.unwrap(), Applied::Stored);

        // A delta bash -> bash+curl, worked out while the stored state is [bash] ...
        let mut delta = census_inventory::delta::diff(&with(&["bash"]), &with(&["bash", "curl"]));
        delta.base_sha256 = census_proto::convert::state_hash(&with(&["bash"])).to_vec();
        delta.result_sha256 = census_proto::convert::state_hash(&with(&["bash", "curl"])).to_vec();
        let delta_report = VerifiedReport {
            body: ReportBody::Delta { delta: Box::new(delta), max_section_items: 100 },
            ..report("a", 3, None)
        };
        let stale_delta = prepare(&delta_report);
        assert!(stale_delta.next.is_some(), "prepared against the state it read");
        // ... and a full report [bash, vim] worked out against [bash] too ...
        let full = report("a", 4, Some(with(&["bash", "vim"])));
        let stale_full = prepare(&full);
        // ... then another report changes the stored state before either reaches the writer.
        assert_eq!(store.apply(report("a", 2, Some(with(&["zsh"])))).await.unwrap(), Applied::Stored);

        // The delta's base is gone: refused as the writer sees it, not stored as prepared.
        let answer = store.submit(delta_report, stale_delta).await.unwrap();
        assert!(matches!(answer, Applied::BaseMismatch { .. }), "{answer:?}");
        assert_eq!(packages(store.clone()).await, ["zsh"]);
        // The full report is stored, its package rows worked out from [zsh], not from [bash].
        assert_eq!(store.submit(full, stale_full).await.unwrap(), Applied::Stored);
        assert_eq!(packages(store.clone()).await, ["bash", "vim"]);
    }

    #[test]
    fn unopenable_path_is_a_clear_error() {
        let err = SqliteStore::open(Path::new("/no/such/dir/census.db")).err().unwrap();
        assert!(err.to_string().starts_with("database /no/such/dir/census.db: "), "{err}");
    }
}
