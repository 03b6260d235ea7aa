//! Ownership and tags through the real binaries: values declared in the agent's configuration
//! file reach the collector's asset view marked `agent`, an admin's `census owner` and
//! `census tag` win over them while the declared value stays visible, a changed declaration
//! travels as a delta, and a bad configuration stops the agent before it sends anything.

use std::path::Path;

use census_e2e::{Collector, fixture_root, run, stderr, stdout};

/// Writes an agent configuration for `collector` with the `[declared]` section `declared`.
fn write_config(collector: &Collector, dir: &Path, declared: &str) -> String {
    let path = dir.join("agent.toml");
    let text = format!(
        "collector = {:?}\nca = {:?}\nenroll_secret = {:?}\nstate_dir = {:?}\nroot = {:?}\nlisten = false\n{declared}\n",
        collector.url,
        collector.ca(),
        collector.file("enroll-secret"),
        dir.join("agent").display().to_string(),
        fixture_root().display().to_string(),
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn agent_once(config: &str) -> std::process::Output {
    run("census-agent", &["run", "--once", "--config", config], &[("CENSUS_LOG", "warn")])
}

/// `(key, value, source, declared)` of each label in `list`.
fn labels(list: &serde_json::Value) -> Vec<(String, String, String, Option<String>)> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|l| {
            (
                l["key"].as_str().unwrap().to_string(),
                l["value"].as_str().unwrap().to_string(),
                l["source"].as_str().unwrap().to_string(),
                l["declared"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn label(key: &str, value: &str, source: &str, declared: Option<&str>) -> (String, String, String, Option<String>) {
    (key.into(), value.into(), source.into(), declared.map(str::to_string))
}

fn report_kinds(collector: &Collector) -> Vec<String> {
    let db = rusqlite::Connection::open(collector.data_dir.join("census.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    let mut stmt = db.prepare("SELECT kind FROM reports ORDER BY sequence").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn declared_values_reach_the_asset_and_admin_values_win() {
    let collector = Collector::start();
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(
        &collector,
        tmp.path(),
        "[declared]\nowner = \"alice\"\nenvironment = \"production\"\n[declared.tags]\npci = \"no\"\nzone = \"b\"\n",
    );
    let out = agent_once(&config);
    assert!(out.status.success(), "{}", stderr(&out));

    let hosts = collector.hosts_json();
    assert_eq!(hosts.len(), 1);
    let agent = hosts[0]["id"].as_str().unwrap().to_string();
    let asset = collector.census_json(&["assets", &agent]);
    assert_eq!(
        labels(&asset["ownership"]),
        [label("owner", "alice", "agent", None), label("environment", "production", "agent", None)],
        "{asset:#}"
    );
    assert_eq!(labels(&asset["tags"]), [label("pci", "no", "agent", None), label("zone", "b", "agent", None)]);
    assert_eq!(asset["ownership"][0]["set_by"], agent.as_str(), "a declared value names its agent");
    // A declared owner counts for owner coverage.
    assert_eq!(collector.census_json(&["fleet"])["owner_coverage"], 1.0);

    // The admin sets the owner and the pci tag: theirs win, the declaration stays visible.
    let asset_id = asset["asset_id"].as_str().unwrap().to_string();
    let out = collector.census(&["owner", &asset_id, "--owner", "bob"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = collector.census(&["tag", &asset_id, "pci=yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let asset = collector.census_json(&["assets", &asset_id]);
    assert_eq!(
        labels(&asset["ownership"]),
        [label("owner", "bob", "admin", Some("alice")), label("environment", "production", "agent", None)],
        "{asset:#}"
    );
    assert_eq!(labels(&asset["tags"]), [label("pci", "yes", "admin", Some("no")), label("zone", "b", "agent", None)]);
    let table = stdout(&collector.census(&["assets", &asset_id]));
    assert!(table.contains("bob (declared: alice)"), "{table}");
    assert!(table.contains("zone=b (agent)"), "{table}");

    // The host's admin changes the declaration: the next report is a delta carrying it.
    write_config(
        &collector,
        tmp.path(),
        "[declared]\nowner = \"carol\"\nteam = \"web\"\n[declared.tags]\nzone = \"c\"\n",
    );
    let out = agent_once(&config);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report_kinds(&collector), ["full", "delta"]);
    let asset = collector.census_json(&["assets", &asset_id]);
    assert_eq!(
        labels(&asset["ownership"]),
        [label("owner", "bob", "admin", Some("carol")), label("team", "web", "agent", None)],
        "{asset:#}"
    );
    assert_eq!(labels(&asset["tags"]), [label("pci", "yes", "admin", None), label("zone", "c", "agent", None)]);

    // Unchanged declaration: a heartbeat, nothing moves.
    let out = agent_once(&config);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report_kinds(&collector), ["full", "delta", "heartbeat"]);

    // Admin clears the owner: the declared one shows again.
    let out = collector.census(&["owner", &asset_id, "--owner", ""]);
    assert!(out.status.success(), "{}", stderr(&out));
    let asset = collector.census_json(&["assets", &asset_id]);
    assert_eq!(labels(&asset["ownership"])[0], label("owner", "carol", "agent", None), "{asset:#}");
}

#[test]
fn a_bad_configuration_is_refused_before_anything_is_sent() {
    let collector = Collector::start();
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("[declared]\nowner = \"a\\u0007b\"\n", "declared: owner"),
        ("[declared.tags]\n\"no spaces\" = \"x\"\n", "tag key \"no spaces\""),
        ("[declared]\nowners = \"x\"\n", "unknown field `owners`"),
        ("interval = \"soon\"\n", "interval: \"soon\" is not a duration"),
    ];
    for (declared, want) in cases {
        let config = write_config(&collector, tmp.path(), declared);
        let out = agent_once(&config);
        let err = stderr(&out);
        assert!(!out.status.success(), "{declared:?} was accepted");
        assert!(err.contains(&format!("config {config}")), "{declared:?}: {err}");
        assert!(err.contains(want), "{declared:?}: want {want:?} in {err}");
    }
    assert!(collector.hosts_json().is_empty(), "nothing was enrolled");

    // No configuration names a collector: one error that says where to give it.
    let empty = tmp.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let out = run("census-agent", &["run", "--once", "--config", &empty.display().to_string()], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no collector: give --collector URL"), "{}", stderr(&out));
}
