//! The outage path through the real binaries: the agent spools what the collector has not
//! acknowledged, resends it after reconnecting, survives `kill -9` at any moment with a valid
//! spool, and keeps its spool bounded by coalescing the oldest reports.
//!
//! "Stored" is read from the collector's log of applied reports, the SQLite table `reports`
//! (primary key (agent_id, sequence), so a report is applied at most once), opened read-only
//! beside the running collector (WAL mode).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use census_e2e::{AgentProcess, Collector, agent_run_args, fixture_root, stderr, wait_until};
use census_proto::v1::{Report, SignedReport};
use prost::Message;

const WAIT: Duration = Duration::from_secs(30);

/// `(sequence, received_at)` of every report the collector applied for `agent_id`, by sequence.
fn stored(data_dir: &Path, agent_id: &str) -> Vec<(u64, i64)> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let db = rusqlite::Connection::open_with_flags(data_dir.join("census.db"), flags).expect("open census.db");
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let mut stmt =
        db.prepare("SELECT sequence, received_at FROM reports WHERE agent_id = ?1 ORDER BY sequence").unwrap();
    stmt.query_map([agent_id], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn stored_sequences(data_dir: &Path, agent_id: &str) -> Vec<u64> {
    stored(data_dir, agent_id).into_iter().map(|(s, _)| s).collect()
}

/// The last sequence the agent reserved (its `sequence` state file), 0 before the first.
fn reserved(state: &Path) -> u64 {
    std::fs::read_to_string(state.join("sequence")).map(|s| s.trim().parse().unwrap()).unwrap_or(0)
}

fn spool_dir(state: &Path) -> PathBuf {
    state.join("spool")
}

/// The spool's file names, sorted (empty when the directory does not exist yet).
fn spool_files(state: &Path) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(spool_dir(state)) else { return Vec::new() };
    let mut names: Vec<_> = dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Checks every spool file: a `.tmp` leftover of an interrupted write, or a `.report` that
/// decodes as a SignedReport whose report carries the sequence in the file name. Returns the
/// sequences of the `.report` files.
fn check_spool(state: &Path) -> Vec<u64> {
    let mut sequences = Vec::new();
    for name in spool_files(state) {
        if name.ends_with(".tmp") {
            continue;
        }
        let stem = name.strip_suffix(".report").unwrap_or_else(|| panic!("unexpected spool file {name}"));
        assert_eq!(stem.len(), 20, "{name}");
        let sequence: u64 = stem.parse().unwrap_or_else(|_| panic!("spool file {name} is not named by a sequence"));
        let path = spool_dir(state).join(&name);
        // The file may be removed (acknowledged) between listing and reading.
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let signed = SignedReport::decode(bytes.as_slice()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!signed.signature.is_empty(), "{name} has no signature");
        let report = Report::decode(signed.report.as_slice()).unwrap_or_else(|e| panic!("{name}: report: {e}"));
        assert_eq!(report.sequence, sequence, "{name}");
        sequences.push(sequence);
    }
    sequences
}

fn spool_sequences(state: &Path) -> Vec<u64> {
    check_spool(state)
}

/// The agent id the agent stored at enrollment.
fn agent_id(state: &Path) -> String {
    let text = std::fs::read_to_string(state.join("enrollment.json")).expect("enrollment.json");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["agent_id"].as_str().unwrap().to_string()
}

fn wait_for_enrollment(state: &Path, agent: &AgentProcess) -> String {
    wait_until("agent enrolled", WAIT, || state.join("enrollment.json").exists(), || agent.stderr());
    agent_id(state)
}

fn spawn_agent(collector_url: &str, ca: &str, secret: &str, state: &Path, root: &Path, extra: &[&str]) -> AgentProcess {
    let args = agent_run_args(collector_url, ca, secret, state, root, extra);
    AgentProcess::spawn(&args, "warn", &state.with_extension("log"))
}

#[test]
fn a_collector_killed_while_an_agent_streams_gets_every_report_once_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, state) = (tmp.path().join("c"), tmp.path().join("agent"));
    let collector = Collector::start_in(&data);
    let (url, ca, secret, listen) =
        (collector.url.clone(), collector.ca(), collector.file("enroll-secret"), collector.listen_addr());
    let mut agent = spawn_agent(&url, &ca, &secret, &state, &fixture_root(), &["--interval", "300ms"]);
    let id = wait_for_enrollment(&state, &agent);
    wait_until("3 reports stored", WAIT, || stored(&data, &id).len() >= 3, || agent.stderr());

    // kill -9: no clean close of the stream, possibly a report in flight.
    drop(collector);
    let before = reserved(&state);
    std::thread::sleep(Duration::from_secs(2));
    wait_until(
        "the agent spools while the collector is down",
        WAIT,
        || reserved(&state) >= before + 3 && spool_sequences(&state).len() >= 2,
        || agent.stderr(),
    );
    let spooled_in_outage = spool_sequences(&state);
    let collector = Collector::start_at(&data, &listen);
    let at_restart = reserved(&state);
    wait_until(
        "the spool drained and 3 more reports arrived",
        WAIT,
        || spool_files(&state).is_empty() && stored(&data, &id).last().is_some_and(|&(s, _)| s >= at_restart + 3),
        || format!("spool {:?}\n{}", spool_files(&state), agent.stderr()),
    );
    let exit = agent.terminate(Duration::from_secs(10));
    assert!(exit.success(), "agent exit after SIGTERM: {exit:?}\n{}", agent.stderr());

    let n = reserved(&state);
    let rows = stored(&data, &id);
    let sequences: Vec<u64> = rows.iter().map(|&(s, _)| s).collect();
    // SIGTERM may interrupt a delivery: what is not stored is still in the spool.
    let spooled = spool_sequences(&state);
    let m = sequences.len() as u64;
    assert_eq!(sequences, (1..=m).collect::<Vec<_>>(), "stored without a gap from 1 (nothing lost)");
    let all: BTreeSet<u64> = sequences.iter().chain(&spooled).copied().collect();
    assert_eq!(all, (1..=n).collect(), "every reserved sequence is stored or still spooled; spool {spooled:?}");
    assert!(m >= at_restart + 3, "{m} stored, {at_restart} reserved at the restart");
    for pair in rows.windows(2) {
        assert!(pair[0].1 <= pair[1].1, "report {} was received after report {}: {rows:?}", pair[0].0, pair[1].0);
    }
    eprintln!("{n} reserved, {m} stored, spooled during the outage {spooled_in_outage:?}, left spooled {spooled:?}");
    drop(collector);
}

/// A tiny xorshift generator (seeded from the clock) for the kill delays.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
        Self(t ^ u64::from(std::process::id()) << 32 | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// What this test can and cannot guarantee: it kills the agent at 8 random moments of a
/// 100 ms collect / sign / spool / send / acknowledge cycle. Writing one spool file of the
/// biggest fixture (`server`, about 13 KB) takes microseconds of that cycle, so a kill inside
/// `write_atomic` is possible but unlikely on any given run; the kills mostly land between
/// reserving a sequence and spooling it, while sending, or between an acknowledgement and the
/// removal of its file. To exercise the crash-mid-write recovery every time, the test also
/// leaves a truncated `.tmp` file exactly as an interrupted write would, and checks that the
/// next start removes it and says so. The unit tests in `agent/src/spool.rs` cover the same
/// recovery without processes.
#[test]
fn an_agent_killed_at_random_moments_keeps_a_valid_spool_and_nothing_is_applied_twice() {
    let collector = Collector::start();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("agent");
    let root = fixture_root().parent().unwrap().join("server");
    let (url, ca, secret) = (collector.url.clone(), collector.ca(), collector.file("enroll-secret"));
    let args = ["--interval", "100ms"];

    // Enrolled and streaming before the first kill.
    let mut agent = spawn_agent(&url, &ca, &secret, &state, &root, &args);
    let id = wait_for_enrollment(&state, &agent);
    wait_until("a first report stored", WAIT, || !stored(&collector.data_dir, &id).is_empty(), || agent.stderr());

    let mut rng = Rng::new();
    let mut seen_spooled = BTreeSet::new();
    let mut tmp_leftovers = 0;
    for round in 0..8 {
        std::thread::sleep(Duration::from_millis(50 + rng.below(351)));
        agent.kill9();
        let files = spool_files(&state);
        tmp_leftovers += files.iter().filter(|f| f.ends_with(".tmp")).count();
        seen_spooled.extend(check_spool(&state));
        if round == 3 {
            // What a kill inside write_atomic leaves: the temporary file, cut short.
            let next = reserved(&state) + 1;
            let planted = spool_dir(&state).join(format!("{next:020}.tmp"));
            std::fs::write(&planted, b"\x0a\x20half a rep").unwrap();
        }
        agent = spawn_agent(&url, &ca, &secret, &state, &root, &args);
    }
    agent.kill9();
    seen_spooled.extend(check_spool(&state));

    // A last run that collects once more and then idles: it drains the spool.
    let before = reserved(&state);
    let mut agent = spawn_agent(&url, &ca, &secret, &state, &root, &["--interval", "1h"]);
    wait_until(
        "the spool drained",
        WAIT,
        || {
            reserved(&state) > before
                && spool_files(&state).is_empty()
                && stored(&collector.data_dir, &id).last().is_some_and(|&(s, _)| s == reserved(&state))
        },
        || format!("spool {:?}\n{}", spool_files(&state), agent.stderr()),
    );
    let exit = agent.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{exit:?}");
    let log = agent.stderr();
    assert!(log.contains("removed incomplete spool file"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(spool_files(&state).is_empty(), "{:?}", spool_files(&state));

    let n = reserved(&state);
    // Ordered by the time the collector applied them: sequences strictly increase, so no
    // acknowledged report was applied again (the primary key also forbids a second row).
    let mut rows = stored(&collector.data_dir, &id);
    rows.sort_by_key(|&(s, at)| (at, s));
    for pair in rows.windows(2) {
        assert!(pair[0].0 < pair[1].0, "applied out of order: {rows:?}");
    }
    let stored_set: BTreeSet<u64> = rows.iter().map(|&(s, _)| s).collect();
    assert_eq!(stored_set.last(), Some(&n));
    // Every report that reached the spool was delivered. A reserved sequence may be missing:
    // a kill after the sequence file was written but before the report's spool file was
    // (collecting, signing, or inside the write) leaves a gap, which is acceptable: the report
    // never existed durably, and the next one is a full inventory anyway.
    let lost: Vec<_> = seen_spooled.difference(&stored_set).collect();
    assert!(lost.is_empty(), "spooled but never stored: {lost:?}");
    let gaps: Vec<u64> = (1..=n).filter(|s| !stored_set.contains(s)).collect();
    for s in &gaps {
        assert!(!seen_spooled.contains(s), "sequence {s} was spooled but is not stored");
    }
    eprintln!(
        "{n} sequences reserved, {} stored, gaps {gaps:?}, {} seen spooled after kills, {tmp_leftovers} real .tmp leftovers",
        stored_set.len(),
        seen_spooled.len()
    );
}

#[test]
fn a_full_spool_coalesces_the_oldest_and_keeps_the_newest() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, state) = (tmp.path().join("c"), tmp.path().join("agent"));
    let collector = Collector::start_in(&data);
    let (url, ca, secret, listen) =
        (collector.url.clone(), collector.ca(), collector.file("enroll-secret"), collector.listen_addr());
    // Enrolled, with report 1 stored; then nothing listens on the collector's port.
    let out = collector.agent_once(&state, &fixture_root(), &secret);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = agent_id(&state);
    drop(collector);

    // Every report a full inventory (`--full-every 0`), as after a long outage with changes:
    // coalescing then drops whole states, and the newest must survive.
    let args = ["--interval", "200ms", "--spool-max-reports", "3", "--full-every", "0"];
    let mut agent = spawn_agent(&url, &ca, &secret, &state, &fixture_root(), &args);
    wait_until(
        "the spool coalesced",
        WAIT,
        || reserved(&state) >= 7 && agent.stderr().contains("coalesced"),
        || agent.stderr(),
    );
    let exit = agent.terminate(Duration::from_secs(10));
    assert!(exit.success(), "{exit:?}");
    let log = agent.stderr();
    assert!(log.contains("spool full (3 reports / 64 MiB): coalesced 1 oldest report (sequence "), "{log}");
    assert!(log.contains("away; the next report is a full inventory"), "{log}");

    let n = reserved(&state);
    assert_eq!(spool_files(&state).len(), 3, "{:?}", spool_files(&state));
    assert_eq!(spool_sequences(&state), [n - 2, n - 1, n], "the newest reports survive");

    // The collector is back where the agent expects it; one more run delivers the spool, oldest
    // first, then its own report.
    let collector = Collector::start_at(&data, &listen);
    let out = collector.agent_once(&state, &fixture_root(), "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(spool_files(&state).is_empty(), "{:?}", spool_files(&state));
    assert_eq!(reserved(&state), n + 1);
    assert_eq!(stored_sequences(&data, &id), [1, n - 2, n - 1, n, n + 1]);

    let out = collector.census(&["host", "web-01", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let detail: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Report n+1 (this run, nothing changed) is a heartbeat; the host's inventory is the newest
    // full one from the spool.
    assert_eq!(detail["sequence"], n, "the newest full inventory is the host's latest");
}
