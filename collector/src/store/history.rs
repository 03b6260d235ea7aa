//! The change history: every change an applied report makes becomes an event.
//!
//! [`record`] runs inside the transaction that applies a report, with the agent's previous
//! stored inventory (`None` on its first) and the new one; the semantic differences come from
//! [`census_inventory::changes`] and are written to `events` (migration 6), one row each, with
//! the report's `received_at` as the event time and its sequence and `collected_at` as the
//! source. An agent's first inventory is one `agent`/`first-inventory` event, not one event per
//! package. Code elsewhere in the store (agent-to-asset links, lifecycle) adds its own events
//! with [`append_event`], inside its own transaction.

use census_inventory::Inventory;
use census_inventory::changes::{Action, Kind};
use rusqlite::{OptionalExtension, Transaction, params};

use super::sqlite::{SqliteStore, db};
use super::{Millis, StoreError, VerifiedReport};

/// Records the events between `previous` (`None` on an agent's first inventory) and `current`,
/// in the transaction that applies `report`.
pub(super) fn record(
    tx: &Transaction<'_>,
    report: &VerifiedReport,
    previous: Option<&Inventory>,
    current: &Inventory,
) -> rusqlite::Result<()> {
    for c in census_inventory::changes::changes(previous, current) {
        insert(
            tx,
            &report.agent_id,
            report.received_at,
            Some(report.collected_at),
            Some(report.sequence),
            c.kind,
            c.action,
            &c.subject,
            &c.old,
            &c.new,
        )?;
    }
    Ok(())
}

/// Adds one event in the caller's transaction (an agent linked to an asset, a lifecycle change).
/// `at` is when it happened (ms); `sequence` the report that caused it, `None` when no report
/// did (an admin's action). `old` is empty for something new, `new` for something gone.
#[allow(clippy::too_many_arguments)]
#[allow(dead_code)] // for the asset links and lifecycle changes, which call it from their own code
pub(crate) fn append_event(
    tx: &Transaction<'_>,
    agent_id: &str,
    at: Millis,
    sequence: Option<u64>,
    kind: Kind,
    action: Action,
    subject: &str,
    old: &str,
    new: &str,
) -> rusqlite::Result<()> {
    insert(tx, agent_id, at, None, sequence, kind, action, subject, old, new)
}

#[allow(clippy::too_many_arguments)]
fn insert(
    tx: &Transaction<'_>,
    agent_id: &str,
    at: Millis,
    collected_at: Option<Millis>,
    sequence: Option<u64>,
    kind: Kind,
    action: Action,
    subject: &str,
    old: &str,
    new: &str,
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO events (agent_id, at, collected_at, sequence, kind, action, subject, old, new) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    let sequence = sequence.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
    stmt.execute(params![agent_id, at, collected_at, sequence, kind.as_str(), action.as_str(), subject, old, new])?;
    Ok(())
}

/// One stored event, with the host name of its agent (from its latest inventory, else from its
/// enrollment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub agent_id: String,
    pub hostname: String,
    pub at: Millis,
    /// `None` when the event did not come from a report.
    pub collected_at: Option<Millis>,
    pub sequence: Option<u64>,
    pub kind: String,
    pub action: String,
    pub subject: String,
    pub old: String,
    pub new: String,
}

/// Which events a query wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events at or after this time (ms); 0 for all.
    pub since: Millis,
    /// Only these kinds; empty for all.
    pub kinds: Vec<Kind>,
    /// At most this many: the newest ones.
    pub limit: u32,
}

/// `census host ID --history`: the events of one host, or why there are none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostHistory {
    Found {
        agent_id: String,
        hostname: String,
        events: Vec<Event>,
    },
    NotFound,
    /// The query matched several agents: their ids.
    Ambiguous(Vec<String>),
}

/// Queries over the history. Events come oldest first; when more than `limit` match, the
/// newest `limit` are returned.
#[async_trait::async_trait]
pub trait HistoryStore: Send + Sync + 'static {
    /// The events of one host, by agent id, unique id prefix (4+ characters) or unique host
    /// name.
    async fn host_history(&self, host: &str, filter: EventFilter) -> Result<HostHistory, StoreError>;
    /// The events of every host.
    async fn changes(&self, filter: EventFilter) -> Result<Vec<Event>, StoreError>;
}

const EVENT_SELECT: &str = "SELECT e.id, e.agent_id, COALESCE(h.hostname, a.hostname, ''), e.at, e.collected_at, \
     e.sequence, e.kind, e.action, e.subject, e.old, e.new \
     FROM events e LEFT JOIN hosts h ON h.agent_id = e.agent_id LEFT JOIN agents a ON a.agent_id = e.agent_id";

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        id: r.get(0)?,
        agent_id: r.get(1)?,
        hostname: r.get(2)?,
        at: r.get(3)?,
        collected_at: r.get(4)?,
        sequence: r.get::<_, Option<i64>>(5)?.map(|s| s.max(0) as u64),
        kind: r.get(6)?,
        action: r.get(7)?,
        subject: r.get(8)?,
        old: r.get(9)?,
        new: r.get(10)?,
    })
}

/// `,software,os,` for the `instr` test in the queries; empty for every kind.
fn kinds_param(kinds: &[Kind]) -> String {
    if kinds.is_empty() {
        return String::new();
    }
    let mut s = String::from(",");
    for k in kinds {
        s.push_str(k.as_str());
        s.push(',');
    }
    s
}

/// Runs an event query (`?1` since, `?2` kinds, `?3` limit, `?4` agent if the SQL names it),
/// newest first in SQL, returned oldest first.
fn query_events(
    conn: &rusqlite::Connection,
    sql: &str,
    filter: &EventFilter,
    agent_id: Option<&str>,
) -> rusqlite::Result<Vec<Event>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let kinds = kinds_param(&filter.kinds);
    let rows = match agent_id {
        Some(id) => stmt.query_map(params![filter.since, kinds, filter.limit, id], event_row)?,
        None => stmt.query_map(params![filter.since, kinds, filter.limit], event_row)?,
    };
    let mut events = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    events.reverse();
    Ok(events)
}

const FILTER: &str = "e.at >= ?1 AND (?2 = '' OR instr(?2, ',' || e.kind || ',') > 0)";
const NEWEST: &str = "ORDER BY e.at DESC, e.id DESC LIMIT ?3";

#[async_trait::async_trait]
impl HistoryStore for SqliteStore {
    async fn host_history(&self, host: &str, filter: EventFilter) -> Result<HostHistory, StoreError> {
        let host = host.to_string();
        self.with(move |conn| {
            // Exact id, then a unique id prefix of 4+ characters, then the host name of the latest
            // inventory, then the one given at enrollment.
            let mut steps = vec!["SELECT agent_id FROM agents WHERE agent_id = ?1"];
            if host.chars().count() >= 4 {
                steps.push("SELECT agent_id FROM agents WHERE substr(agent_id, 1, length(?1)) = ?1 ORDER BY agent_id");
            }
            steps.push("SELECT agent_id FROM hosts WHERE hostname = ?1 ORDER BY agent_id");
            steps.push("SELECT agent_id FROM agents WHERE hostname = ?1 ORDER BY agent_id");
            let mut ids: Vec<String> = Vec::new();
            for sql in steps {
                let mut stmt = conn.prepare_cached(sql).map_err(db)?;
                ids = stmt.query_map([&host], |r| r.get(0)).map_err(db)?.collect::<Result<_, _>>().map_err(db)?;
                if !ids.is_empty() {
                    break;
                }
            }
            let agent_id = match ids.len() {
                0 => return Ok(HostHistory::NotFound),
                1 => ids.remove(0),
                _ => return Ok(HostHistory::Ambiguous(ids)),
            };
            let hostname: String = conn
                .query_row(
                    "SELECT COALESCE(h.hostname, a.hostname) FROM agents a LEFT JOIN hosts h USING (agent_id) \
                     WHERE a.agent_id = ?1",
                    [&agent_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?
                .unwrap_or_default();
            let sql = format!("{EVENT_SELECT} WHERE e.agent_id = ?4 AND {FILTER} {NEWEST}");
            let events = query_events(conn, &sql, &filter, Some(&agent_id)).map_err(db)?;
            Ok(HostHistory::Found { agent_id, hostname, events })
        })
        .await
    }

    async fn changes(&self, filter: EventFilter) -> Result<Vec<Event>, StoreError> {
        self.with(move |conn| {
            let sql = format!("{EVENT_SELECT} WHERE {FILTER} {NEWEST}");
            query_events(conn, &sql, &filter, None).map_err(db)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Applied, ReportBody, Store};
    use census_inventory::{Interface, IpAddress, Package};

    fn inventory(packages: &[(&str, &str)]) -> Inventory {
        let mut inv = Inventory::default();
        inv.os.hostname = "web-01".into();
        inv.os.pretty_name = "Debian GNU/Linux 12 (bookworm)".into();
        inv.software = packages
            .iter()
            .map(|(name, version)| Package {
                name: name.to_string(),
                version: version.to_string(),
                arch: "amd64".into(),
                source: "dpkg".into(),
                ..Default::default()
            })
            .collect();
        inv
    }

    fn report(sequence: u64, inventory: Option<Inventory>) -> VerifiedReport {
        VerifiedReport {
            agent_id: "0123456789abcdef".into(),
            sequence,
            digest: vec![sequence as u8],
            bytes: 100,
            agent_version: "0.1.0".into(),
            collected_at: 1_000 * sequence as i64,
            received_at: 1_000 * sequence as i64 + 5,
            body: match inventory {
                Some(inv) => ReportBody::Full(inv),
                None => ReportBody::Heartbeat,
            },
        }
    }

    fn all() -> EventFilter {
        EventFilter { since: 0, kinds: Vec::new(), limit: 1000 }
    }

    /// (sequence, kind, action, subject, old, new).
    type Summary<'a> = (Option<u64>, &'a str, &'a str, &'a str, &'a str, &'a str);

    fn summary(events: &[Event]) -> Vec<Summary<'_>> {
        events
            .iter()
            .map(|e| {
                (e.sequence, e.kind.as_str(), e.action.as_str(), e.subject.as_str(), e.old.as_str(), e.new.as_str())
            })
            .collect()
    }

    #[tokio::test]
    async fn applied_reports_become_events_and_queries_filter_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("census.db")).unwrap();
        crate::store::suite::enroll_one(&store, "0123456789abcdef").await;
        let base = [("bash", "5.2.15-2+b2"), ("openssl", "3.0.11-1~deb12u2")];
        let mut with_net = inventory(&base);
        with_net.network.interfaces = vec![Interface {
            name: "eth0".into(),
            kind: "physical".into(),
            addresses: vec![IpAddress { address: "10.0.0.5".into(), prefix_len: 24, ..Default::default() }],
            ..Default::default()
        }];
        let steps = [
            Some(inventory(&base)),
            Some(inventory(&[base[0], base[1], ("jq", "1.6-2.1")])),
            None, // a heartbeat changes nothing
            Some(inventory(&[base[0], base[1], ("jq", "1.7.1-3")])),
            Some(inventory(&base)),
            Some(inventory(&base)), // the same again: no events
            Some(with_net),
        ];
        for (i, inv) in steps.into_iter().enumerate() {
            assert_eq!(store.apply(report(i as u64 + 1, inv)).await.unwrap(), Applied::Stored);
        }
        // A duplicate records nothing either.
        assert_eq!(store.apply(report(7, None)).await.unwrap(), Applied::Duplicate);

        let HostHistory::Found { agent_id, hostname, events } = store.host_history("web-01", all()).await.unwrap()
        else {
            panic!("web-01 not found");
        };
        assert_eq!((agent_id.as_str(), hostname.as_str()), ("0123456789abcdef", "web-01"));
        assert_eq!(
            summary(&events),
            [
                (
                    Some(1),
                    "agent",
                    "first-inventory",
                    "web-01",
                    "",
                    "Debian GNU/Linux 12 (bookworm); 2 packages, 0 interfaces"
                ),
                (Some(2), "software", "installed", "jq:amd64 (dpkg)", "", "1.6-2.1"),
                (Some(4), "software", "upgraded", "jq:amd64 (dpkg)", "1.6-2.1", "1.7.1-3"),
                (Some(5), "software", "removed", "jq:amd64 (dpkg)", "1.7.1-3", ""),
                (Some(7), "interface", "added", "eth0", "", "physical"),
                (Some(7), "address", "added", "eth0", "", "10.0.0.5/24"),
            ]
        );
        assert_eq!((events[1].at, events[1].collected_at), (2_005, Some(2_000)));
        assert_eq!(events[1].hostname, "web-01");

        // Filters: kinds, since, limit (the newest), and the same through every way of naming the host.
        let only = |kinds: &[Kind]| EventFilter { kinds: kinds.to_vec(), ..all() };
        let changes = store.changes(only(&[Kind::Software])).await.unwrap();
        assert_eq!(changes.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["installed", "upgraded", "removed"]);
        let changes = store.changes(only(&[Kind::Interface, Kind::Address])).await.unwrap();
        assert_eq!(changes.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["interface", "address"]);
        let changes = store.changes(EventFilter { since: 4_005, ..all() }).await.unwrap();
        assert_eq!(changes.iter().map(|e| e.sequence).collect::<Vec<_>>(), [Some(4), Some(5), Some(7), Some(7)]);
        let changes = store.changes(EventFilter { limit: 2, ..all() }).await.unwrap();
        assert_eq!(changes.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["interface", "address"]);
        for query in ["0123456789abcdef", "0123", "web-01"] {
            let found = store.host_history(query, only(&[Kind::Agent])).await.unwrap();
            assert!(matches!(&found, HostHistory::Found { events, .. } if events.len() == 1), "{query}: {found:?}");
        }
        assert_eq!(store.host_history("nope", all()).await.unwrap(), HostHistory::NotFound);
        assert_eq!(store.host_history("012", all()).await.unwrap(), HostHistory::NotFound);
    }

    #[tokio::test]
    async fn other_code_appends_events_in_its_own_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("census.db")).unwrap();
        crate::store::suite::enroll_one(&store, "0123456789abcdef").await;
        store
            .with(|conn| {
                let tx = conn.transaction().map_err(db)?;
                append_event(
                    &tx,
                    "0123456789abcdef",
                    42,
                    None,
                    Kind::Lifecycle,
                    Action::Changed,
                    "lifecycle",
                    "active",
                    "retired",
                )
                .map_err(db)?;
                tx.commit().map_err(db)
            })
            .await
            .unwrap();
        let events = store.changes(EventFilter { since: 0, kinds: vec![Kind::Lifecycle], limit: 10 }).await.unwrap();
        assert_eq!(summary(&events), [(None, "lifecycle", "changed", "lifecycle", "active", "retired")]);
        // Before its first inventory, the agent is known by its enrollment host name.
        assert_eq!((events[0].collected_at, events[0].hostname.as_str()), (None, "0123456789abcdef-host"));
        // Two agents with one host name are ambiguous.
        crate::store::suite::enroll_one(&store, "fedcba9876543210").await;
        for id in ["0123456789abcdef", "fedcba9876543210"] {
            let mut r = report(1, Some(inventory(&[])));
            r.agent_id = id.into();
            store.apply(r).await.unwrap();
        }
        assert_eq!(
            store.host_history("web-01", EventFilter { since: 0, kinds: vec![], limit: 10 }).await.unwrap(),
            HostHistory::Ambiguous(vec!["0123456789abcdef".into(), "fedcba9876543210".into()])
        );
    }
}
