//! One signed report from the real agent to the real collector, read back through the real CLI.

use census_e2e::{Collector, fixture_root, run, stderr};

/// The package count of the fixture as the agent itself computes it.
fn fixture_package_count() -> usize {
    let root = fixture_root();
    let out = run("census-agent", &["inventory", "--format", "json", "--root", root.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let inv: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    inv["software"].as_array().unwrap().len()
}

#[test]
fn agent_report_arrives_with_its_exact_package_count() {
    let collector = Collector::start();
    let state = tempfile::tempdir().unwrap();
    assert!(collector.hosts_json().is_empty(), "a new collector has no hosts");

    let out = collector.agent_once(state.path(), &fixture_root(), &collector.file("enroll-secret"));
    assert!(out.status.success(), "census-agent run --once failed: {}", stderr(&out));

    let hosts = collector.hosts_json();
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    let host = &hosts[0];
    assert_eq!(host["hostname"], "web-01");
    assert_eq!(host["os"], "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(host["kernel"], "6.1.0-18-amd64");
    assert_eq!(host["package_count"], 6);
    assert_eq!(host["package_count"].as_u64().unwrap() as usize, fixture_package_count());

    // The agent id is derived from the key the agent stored, and `census host` shows it all.
    let id = host["id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    let out = collector.census(&["host", id, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let detail: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(detail["inventory"]["os"]["machine_id"], "5f3c1d7e9a2b4c6d8e0f1a2b3c4d5e6f");
    assert_eq!(detail["inventory"]["software"].as_array().unwrap().len(), 6);
    assert_eq!(detail["sequence"], 1);

    // A second report from the same agent, nothing having changed, is a heartbeat: the agent's
    // sequence moves on, the host keeps the inventory of report 1.
    let out = collector.agent_once(state.path(), &fixture_root(), "not-needed-once-enrolled");
    assert!(out.status.success(), "{}", stderr(&out));
    let hosts = collector.hosts_json();
    assert_eq!(hosts.len(), 1);
    let out = collector.census(&["host", "web-01", "--format", "json"]);
    let detail: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(detail["sequence"], 1);
    assert_eq!(latest_sequence(&collector), 2);

    // CSV and table outputs carry the same host.
    let csv = String::from_utf8(collector.census(&["hosts", "--format", "csv"]).stdout).unwrap();
    let lines: Vec<_> = csv.lines().collect();
    assert_eq!(lines[0], "id,hostname,os,kernel,arch,last_seen,package_count,agent_version");
    assert!(lines[1].starts_with(&format!("{id},web-01,")), "{csv}");
    let table = String::from_utf8(collector.census(&["hosts"]).stdout).unwrap();
    assert!(table.lines().nth(1).unwrap().contains("web-01"), "{table}");
}

#[test]
fn data_survives_a_collector_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("c");
    let state = tmp.path().join("agent");
    let first = Collector::start_in(&data);
    let out = first.agent_once(&state, &fixture_root(), &first.file("enroll-secret"));
    assert!(out.status.success(), "{}", stderr(&out));
    let ca = std::fs::read(data.join("ca.pem")).unwrap();
    drop(first);

    let second = Collector::start_in(&data);
    assert_eq!(std::fs::read(data.join("ca.pem")).unwrap(), ca, "the CA is kept, so agents keep trusting it");
    assert_eq!(second.hosts_json().len(), 1);
    // The agent, enrolled before the restart, reports again without its secret.
    let out = second.agent_once(&state, &fixture_root(), "");
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The last sequence the collector applied from the (one) agent (full, delta or heartbeat), or 0
/// before the first.
fn latest_sequence(collector: &Collector) -> u64 {
    let out = collector.census(&["agents", "list", "--format", "json"]);
    if !out.status.success() {
        return 0;
    }
    let agents: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    agents.as_array().and_then(|a| a.first()).and_then(|a| a["last_sequence"].as_u64()).unwrap_or(0)
}

fn wait_for_sequence(collector: &Collector, at_least: u64) -> u64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let seq = latest_sequence(collector);
        if seq >= at_least {
            return seq;
        }
        assert!(std::time::Instant::now() < deadline, "no report {at_least} within 30s (latest {seq})");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn running_agent_reports_every_interval_survives_a_collector_restart_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("c");
    let collector = Collector::start_in(&data);
    let listen = collector.listen_addr();
    let mut agent = std::process::Command::new(census_e2e::bin("census-agent"))
        .args(["run", "--interval", "1", "--collector", &collector.url, "--ca", &collector.ca()])
        .args(["--enroll-secret", &collector.file("enroll-secret"), "--state-dir"])
        .arg(tmp.path().join("agent"))
        .arg("--root")
        .arg(fixture_root())
        .env("CENSUS_LOG", "warn")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();

    wait_for_sequence(&collector, 2);
    // The collector goes away; the agent backs off and reconnects when it is back.
    drop(collector);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let collector = Collector::start_at(&data, &listen);
    let before = latest_sequence(&collector);
    wait_for_sequence(&collector, before + 1);

    let status = std::process::Command::new("kill").args(["-TERM", &agent.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let exit = loop {
        if let Some(s) = agent.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "agent did not stop within 10s of SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(exit.success(), "agent exit status after SIGTERM: {exit:?}");
}

#[test]
fn agent_enrolls_again_when_the_collector_lost_its_database() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("c");
    let state = tmp.path().join("agent");
    let collector = Collector::start_in(&data);
    let secret = collector.file("enroll-secret");
    assert!(collector.agent_once(&state, &fixture_root(), &secret).status.success());
    let listen = collector.listen_addr();
    drop(collector);
    for f in ["census.db", "census.db-wal", "census.db-shm"] {
        let _ = std::fs::remove_file(data.join(f));
    }

    let collector = Collector::start_at(&data, &listen);
    // Without a secret the agent cannot enroll again, and says so.
    let out = collector.agent_once(&state, &fixture_root(), "");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("rejected: unknown agent"), "{}", stderr(&out));
    // With it, the same key enrolls again and the report lands.
    let out = collector.agent_once(&state, &fixture_root(), &secret);
    assert!(out.status.success(), "{}", stderr(&out));
    let hosts = collector.hosts_json();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0]["hostname"], "web-01");

    // Lost again while the agent believes it is enrolled: one `--once` run with the secret
    // meets "unknown agent", enrolls again and resends within the same run.
    drop(collector);
    for f in ["census.db", "census.db-wal", "census.db-shm"] {
        let _ = std::fs::remove_file(data.join(f));
    }
    let collector = Collector::start_at(&data, &listen);
    let out = collector.agent_once(&state, &fixture_root(), &secret);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(collector.hosts_json().len(), 1);
}

#[test]
fn firmware_identifiers_and_platform_reach_the_collector_over_the_wire() {
    let collector = Collector::start();
    let state = tempfile::tempdir().unwrap();
    let root = fixture_root().parent().unwrap().join("laptop");
    let out = collector.agent_once(state.path(), &root, &collector.file("enroll-secret"));
    assert!(out.status.success(), "census-agent run --once failed: {}", stderr(&out));

    let out = collector.census(&["host", "pc-0231", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let detail: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let inv = &detail["inventory"];
    assert_eq!(inv["os"]["fqdn"], "pc-0231.corp.example.com");
    assert_eq!(inv["hardware"]["dmi"]["source"], "smbios");
    assert_eq!(inv["hardware"]["dmi"]["product_sku"], "LENOVO_MT_20QD_BU_Think_FM_ThinkPad X1 Carbon 7th");
    assert_eq!(inv["hardware"]["memory_devices"].as_array().unwrap().len(), 2);
    let ids = &inv["identifiers"];
    assert_eq!(ids["system_serial"]["value"], "PF1XK2QZ");
    assert_eq!(ids["system_serial"]["generic"], false);
    assert_eq!(ids["smbios_uuid"]["value"], "215f3a8d-47c6-b211-a85c-e3d4b90f2a17");
    assert_eq!(ids["machine_id"]["value"], "8e1f0c5a3b7d4e29a6c2f1d0b9e8a7c6");
}
