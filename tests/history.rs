//! The change history through the real binaries: a fixture host installs, upgrades and removes
//! a package between agent runs, and `census host ID --history` and `census changes` show each
//! change with the report that carried it.

use census_e2e::{Collector, copy_tree, fixture_root, stderr};
use serde_json::Value;

/// (kind, action, subject, old, new, sequence) of each event.
fn events(rows: &Value) -> Vec<(String, String, String, String, String, u64)> {
    rows.as_array()
        .unwrap_or_else(|| panic!("not a list: {rows}"))
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_else(|| panic!("{k} in {e}")).to_string();
            (s("kind"), s("action"), s("subject"), s("old"), s("new"), e["sequence"].as_u64().unwrap())
        })
        .collect()
}

fn jq(version: &str) -> String {
    format!(
        "\nPackage: jq\nStatus: install ok installed\nPriority: optional\nSection: utils\nInstalled-Size: 102\n\
         Maintainer: ChangZhuo Chen <czchen@debian.org>\nArchitecture: amd64\nVersion: {version}\n\
         Description: lightweight and flexible command-line JSON processor\n"
    )
}

#[test]
fn installs_upgrades_and_removals_between_agent_runs_are_history() {
    let collector = Collector::start();
    let secret = collector.file("enroll-secret");
    let tmp = tempfile::tempdir().unwrap();
    let (state, root) = (tmp.path().join("state"), tmp.path().join("root"));
    copy_tree(&fixture_root(), &root);
    let status = root.join("var/lib/dpkg/status");
    let original = std::fs::read_to_string(&status).unwrap();

    // Runs the agent once and returns the sequence the collector applied last.
    let run = || -> u64 {
        let out = collector.agent_once(&state, &root, &secret);
        assert!(out.status.success(), "agent: {}", stderr(&out));
        let agents = collector.census_json(&["agents", "list"]);
        agents[0]["last_sequence"].as_u64().unwrap()
    };
    run();
    std::fs::write(&status, format!("{original}{}", jq("1.6-2.1"))).unwrap();
    let installed = run();
    std::fs::write(&status, format!("{original}{}", jq("1.7.1-3"))).unwrap();
    // A new interface in the same run: its own kind of event.
    let eth1 = root.join("sys/class/net/eth1");
    copy_tree(&root.join("sys/class/net/eth0"), &eth1);
    std::fs::write(eth1.join("address"), "52:54:00:ab:cd:ef\n").unwrap();
    std::fs::write(eth1.join("ifindex"), "3\n").unwrap();
    let upgraded = run();
    std::fs::write(&status, &original).unwrap();
    let removed = run();
    assert!(installed < upgraded && upgraded < removed, "{installed} {upgraded} {removed}");

    let e = |kind: &str, action: &str, subject: &str, old: &str, new: &str, seq: u64| {
        (kind.to_string(), action.to_string(), subject.to_string(), old.to_string(), new.to_string(), seq)
    };
    let software = [
        e("software", "installed", "jq:amd64 (dpkg)", "", "1.6-2.1", installed),
        e("software", "upgraded", "jq:amd64 (dpkg)", "1.6-2.1", "1.7.1-3", upgraded),
        e("software", "removed", "jq:amd64 (dpkg)", "1.7.1-3", "", removed),
    ];

    let history = events(&collector.census_json(&["host", "web-01", "--history"]));
    assert_eq!(
        history.first().map(|h| (h.0.as_str(), h.1.as_str())),
        Some(("agent", "first-inventory")),
        "{history:?}"
    );
    let only_software: Vec<_> = history.iter().filter(|h| h.0 == "software").cloned().collect();
    assert_eq!(only_software, software, "{history:?}");
    assert!(history.iter().any(|h| h.0 == "interface" && h.1 == "added" && h.2 == "eth1"), "{history:?}");

    assert_eq!(events(&collector.census_json(&["changes", "--since", "1h", "--kind", "software"])), software);
    let interfaces = events(&collector.census_json(&["changes", "--since", "1h", "--kind", "interface"]));
    assert!(!interfaces.is_empty() && interfaces.iter().all(|i| i.0 == "interface"), "{interfaces:?}");
    assert_eq!((interfaces[0].1.as_str(), interfaces[0].2.as_str(), interfaces[0].5), ("added", "eth1", upgraded));
    assert_eq!(events(&collector.census_json(&["changes", "--host", "web-01", "--kind", "software"])), software);

    // The table names the change; a bad kind or time is refused with the valid choices.
    let out = collector.census(&["changes", "--kind", "software"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.lines().any(|l| l.contains("upgraded") && l.contains("1.6-2.1") && l.contains("1.7.1-3")), "{table}");
    let out = collector.census(&["changes", "--kind", "packages"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim_end(),
        "census: server answered 400: kind \"packages\" is not one of: software, interface, address, hardware, os, \
         security, agent, lifecycle"
    );
    let out = collector.census(&["changes", "--since", "yesterday"]);
    assert_eq!(
        stderr(&out).trim_end(),
        "census: server answered 400: since \"yesterday\": not a duration (like 24h or 7d) or an RFC 3339 time"
    );
}
