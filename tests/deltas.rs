//! Delta reports through the real binaries: the first report is full, an unchanged host sends
//! heartbeats, a package installed or removed travels as a delta that the collector applies,
//! and a collector whose copy does not match the agent's base gets a full inventory again.
//! `wire_sizes` measures (and prints) what each kind of report costs.

use std::io::Write;
use std::path::{Path, PathBuf};

use census_e2e::{Collector, copy_tree, fixture_root, stderr};
use census_proto::signing::AgentKey;
use census_proto::v1;
use prost::Message;

const STANZA: &str = "\nPackage: deltapkg\nStatus: install ok installed\nPriority: optional\nSection: utils\n\
Installed-Size: 120\nMaintainer: Census Tests <tests@example.org>\nArchitecture: amd64\nVersion: 1.2.3-1\n\
Description: a package installed by the delta test\n";

/// A writable copy of the debian12 fixture root.
fn copy_of_fixture(dir: &Path) -> PathBuf {
    copy_tree(&fixture_root(), &dir.join("root"))
}

fn status_file(root: &Path) -> PathBuf {
    root.join("var/lib/dpkg/status")
}

fn install(root: &Path) {
    let mut f = std::fs::OpenOptions::new().append(true).open(status_file(root)).unwrap();
    f.write_all(STANZA.as_bytes()).unwrap();
}

fn uninstall(root: &Path) {
    let text = std::fs::read_to_string(status_file(root)).unwrap();
    std::fs::write(status_file(root), text.replace(STANZA, "")).unwrap();
}

fn db(collector: &Collector) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(collector.data_dir.join("census.db")).expect("open census.db");
    db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    db
}

/// `(sequence, kind)` of every report the collector applied, in order.
fn kinds(collector: &Collector) -> Vec<(u64, String)> {
    let db = db(collector);
    let mut stmt = db.prepare("SELECT sequence, kind FROM reports ORDER BY sequence").unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

fn last_kind(collector: &Collector) -> String {
    kinds(collector).last().expect("a report").1.clone()
}

fn packages(collector: &Collector) -> Vec<String> {
    let out = collector.census(&["host", "web-01", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let detail: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names: Vec<String> = detail["inventory"]["software"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn full_then_heartbeat_then_deltas_and_a_full_again_after_a_base_mismatch() {
    let collector = Collector::start();
    let secret = collector.file("enroll-secret");
    let tmp = tempfile::tempdir().unwrap();
    let (root, state) = (copy_of_fixture(tmp.path()), tmp.path().join("agent"));
    let once = || {
        let out = collector.agent_once(&state, &root, &secret);
        assert!(out.status.success(), "{}", stderr(&out));
        out
    };

    once();
    assert_eq!(kinds(&collector), [(1, "full".to_string())]);
    let before = packages(&collector);
    assert!(!before.contains(&"deltapkg".to_string()));

    once();
    assert_eq!(last_kind(&collector), "heartbeat");
    assert_eq!(packages(&collector), before);

    install(&root);
    once();
    assert_eq!(last_kind(&collector), "delta");
    let with: Vec<String> = packages(&collector);
    assert!(with.contains(&"deltapkg".to_string()), "{with:?}");
    assert_eq!(with.len(), before.len() + 1);

    uninstall(&root);
    once();
    assert_eq!(last_kind(&collector), "delta");
    assert_eq!(packages(&collector), before);

    // The collector's copy no longer matches the agent's base: the next delta is refused with
    // BASE_MISMATCH, stores nothing, and the agent sends a full inventory in the same run.
    db(&collector).execute("UPDATE host_documents SET state_sha256 = zeroblob(32)", []).unwrap();
    install(&root);
    let out = once();
    let log = stderr(&out);
    assert!(log.contains("delta base mismatch"), "{log}");
    assert!(log.contains("but the collector holds state 00000000"), "{log}");
    let all = kinds(&collector);
    let (last_seq, last) = all.last().unwrap().clone();
    assert_eq!(last, "full", "{all:?}");
    // The refused delta (the sequence before the full) was never recorded.
    assert!(all.iter().all(|(s, _)| *s != last_seq - 1), "{all:?}");
    assert!(packages(&collector).contains(&"deltapkg".to_string()));

    // And the chain goes on from the new full inventory.
    uninstall(&root);
    once();
    assert_eq!(last_kind(&collector), "delta");
    assert_eq!(packages(&collector), before);
}

#[test]
fn a_collector_that_lost_its_database_gets_a_full_inventory() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, state) = (copy_of_fixture(tmp.path()), tmp.path().join("agent"));
    let data = tmp.path().join("collector");
    let collector = Collector::start_in(&data);
    let secret = collector.file("enroll-secret");
    assert!(collector.agent_once(&state, &root, &secret).status.success());
    assert_eq!(last_kind(&collector), "full");
    // Same CA and secret, new database: the agent enrolls again (unknown agent) and its delta
    // has no base there.
    let listen = collector.listen_addr();
    drop(collector);
    for f in ["census.db", "census.db-wal", "census.db-shm"] {
        let _ = std::fs::remove_file(data.join(f));
    }
    let collector = Collector::start_at(&data, &listen);
    install(&root);
    let out = collector.agent_once(&state, &root, &secret);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("but the collector holds state none"), "{}", stderr(&out));
    assert_eq!(last_kind(&collector), "full");
    assert!(packages(&collector).contains(&"deltapkg".to_string()));
}

/// Size of `data` compressed with `tool -c` (gzip or zstd, default levels).
fn signed(key: &AgentKey, sequence: u64, body: v1::report::Body) -> Vec<u8> {
    key.sign(&v1::Report {
        agent_id: key.agent_id(),
        sequence,
        collected_at: Some(prost_types::Timestamp { seconds: 1_800_000_000, nanos: 123_000_000 }),
        agent_version: "0.1.0".into(),
        body: Some(body),
    })
    .encode_to_vec()
}

/// The encoded `SignedReport` (what one gRPC message carries, plus its 5-byte length prefix) of
/// a heartbeat, a one-package delta and a full inventory of the debian12 fixture with this
/// machine's dpkg database (about 800 packages) when it has one, as the agent sends it
/// (`full_zstd`) and uncompressed. Run with `--nocapture` to see the figures.
#[test]
fn wire_sizes() {
    use census_inventory::delta;
    use census_proto::convert::state_hash;
    let tmp = tempfile::tempdir().unwrap();
    let root = copy_of_fixture(tmp.path());
    let live = Path::new("/var/lib/dpkg/status");
    if live.is_file() {
        std::fs::copy(live, status_file(&root)).unwrap();
    }
    let host = census_agent::host::Host::open(&root).unwrap();
    let old = census_agent::sources::collect(&host);
    install(&root);
    let new = census_agent::sources::collect(&host);
    let key = AgentKey::generate().unwrap();

    let heartbeat = signed(&key, 1_000_001, v1::report::Body::Heartbeat(v1::Heartbeat {}));
    let mut d = delta::diff(&old, &new);
    d.base_sha256 = state_hash(&old).to_vec();
    d.result_sha256 = state_hash(&new).to_vec();
    assert_eq!(d.software.upserts.len(), 1);
    let one = signed(&key, 1_000_002, v1::report::Body::Delta((&d).into()));
    let raw = signed(&key, 1_000_003, v1::report::Body::Full((&new).into()));
    let sent = signed(&key, 1_000_003, census_proto::convert::full_zstd(&new));
    eprintln!(
        "wire sizes (encoded SignedReport; the gRPC frame adds 5 bytes): packages {}, heartbeat {} B, \
         one-package delta {} B, full {} B as sent (full_zstd), {} B uncompressed",
        new.software.len(),
        heartbeat.len(),
        one.len(),
        sent.len(),
        raw.len(),
    );
    assert!(heartbeat.len() + 5 < 200, "{}", heartbeat.len());
    assert!(one.len() + 5 < 1024, "{}", one.len());
    assert!(sent.len() < raw.len() / 3, "{} of {}", sent.len(), raw.len());
    if new.software.len() >= 700 {
        assert!(sent.len() + 5 < 40 * 1024, "{}", sent.len());
    }
}
