//! Security products through the real binaries: the agent finds an EDR sensor in a fixture
//! root by the built-in catalog (package, unit, process), the collector stores it, and the
//! sensor stopping and then being removed between runs become `security` history events. An
//! operator's own catalog replaces the built-in one; a broken catalog stops the agent with one
//! clear error.

use std::path::Path;

use census_e2e::{Collector, copy_tree, fixture_root, run, stderr, stdout};
use serde_json::Value;

const FALCON: &str = "\nPackage: falcon-sensor\nStatus: install ok installed\nPriority: optional\nSection: misc\n\
Installed-Size: 112000\nMaintainer: CrowdStrike <support@crowdstrike.com>\nArchitecture: amd64\nVersion: 7.18.0-17106\n\
Description: CrowdStrike Falcon sensor (fixture)\n";

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn link(root: &Path, rel: &str, target: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, path).unwrap();
}

/// Installs the Falcon sensor in `root`: its package, unit (enabled) and a running process.
fn install_falcon(root: &Path) {
    let status = root.join("var/lib/dpkg/status");
    let text = std::fs::read_to_string(&status).unwrap();
    std::fs::write(&status, format!("{text}{FALCON}")).unwrap();
    write(root, "lib/systemd/system/falcon-sensor.service", "[Service]\nExecStart=/opt/CrowdStrike/falcond\n");
    link(
        root,
        "etc/systemd/system/multi-user.target.wants/falcon-sensor.service",
        "/lib/systemd/system/falcon-sensor.service",
    );
    write(root, "proc/4242/comm", "falcon-sensor\n");
    write(root, "proc/4242/cmdline", "/opt/CrowdStrike/falcon-sensor\0");
}

/// The host's security products as the collector stores them.
fn products(collector: &Collector) -> Vec<Value> {
    let host = collector.census_json(&["host", "web-01"]);
    host["inventory"]["security_products"].as_array().cloned().unwrap_or_default()
}

/// (action, subject, old, new) of every `security` event.
fn security_events(collector: &Collector) -> Vec<(String, String, String, String)> {
    let rows = collector.census_json(&["changes", "--since", "1h", "--kind", "security"]);
    rows.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_string();
            (s("action"), s("subject"), s("old"), s("new"))
        })
        .collect()
}

#[test]
fn a_sensor_found_then_stopped_then_removed_is_stored_and_history() {
    let collector = Collector::start();
    let secret = collector.file("enroll-secret");
    let tmp = tempfile::tempdir().unwrap();
    let (state, root) = (tmp.path().join("state"), tmp.path().join("root"));
    copy_tree(&fixture_root(), &root);
    let once = || {
        let out = collector.agent_once(&state, &root, &secret);
        assert!(out.status.success(), "{}", stderr(&out));
    };

    once();
    assert_eq!(products(&collector), Vec::<Value>::new(), "the plain fixture has no security product");

    install_falcon(&root);
    once();
    let found = products(&collector);
    assert_eq!(found.len(), 1, "{found:#?}");
    let falcon = &found[0];
    assert_eq!(falcon["id"], "crowdstrike-falcon");
    assert_eq!(falcon["category"], "edr");
    assert_eq!(falcon["version"], "7.18.0-17106");
    assert_eq!((falcon["installed"].as_bool(), falcon["running"].as_bool()), (Some(true), Some(true)));
    assert_eq!(falcon["service"], "enabled");
    let evidence: Vec<&str> = falcon["evidence"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert!(evidence.contains(&"package falcon-sensor 7.18.0-17106"), "{evidence:?}");
    assert!(evidence.contains(&"process falcon-sensor"), "{evidence:?}");
    assert!(evidence.contains(&"unit falcon-sensor.service enabled"), "{evidence:?}");
    // The host's table shows it.
    let table = stdout(&collector.census(&["host", "web-01"]));
    assert!(table.lines().any(|l| l.contains("CrowdStrike Falcon") && l.contains("7.18.0-17106")), "{table}");

    // The sensor stops and its unit is disabled.
    std::fs::remove_dir_all(root.join("proc/4242")).unwrap();
    std::fs::remove_file(root.join("etc/systemd/system/multi-user.target.wants/falcon-sensor.service")).unwrap();
    once();
    let falcon = &products(&collector)[0];
    assert_eq!((falcon["installed"].as_bool(), falcon["running"].as_bool()), (Some(true), Some(false)));
    assert_eq!(falcon["service"], "disabled");

    // And is removed.
    let status = root.join("var/lib/dpkg/status");
    let text = std::fs::read_to_string(&status).unwrap();
    std::fs::write(&status, text.replace(FALCON, "")).unwrap();
    std::fs::remove_file(root.join("lib/systemd/system/falcon-sensor.service")).unwrap();
    once();
    assert_eq!(products(&collector), Vec::<Value>::new());

    let subject = "CrowdStrike Falcon (crowdstrike-falcon)".to_string();
    let running = "7.18.0-17106; installed, running, service enabled".to_string();
    let stopped = "7.18.0-17106; installed, not running, service disabled".to_string();
    assert_eq!(
        security_events(&collector),
        [
            ("appeared".to_string(), subject.clone(), String::new(), running.clone()),
            ("changed".to_string(), subject.clone(), running, stopped.clone()),
            ("disappeared".to_string(), subject, stopped, String::new()),
        ]
    );
}

#[test]
fn an_operator_catalog_replaces_the_built_in_one_and_a_broken_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    copy_tree(&fixture_root(), &root);
    install_falcon(&root);
    write(&root, "opt/acme/sensor/acmed", "");
    let catalog = tmp.path().join("catalog.toml");
    std::fs::write(
        &catalog,
        "version = 1\n[[product]]\nid = \"acme-sensor\"\nname = \"Acme Sensor\"\nvendor = \"Acme\"\n\
         category = \"epp\"\n[product.linux]\npaths = [\"/opt/acme/sensor/acmed\"]\n",
    )
    .unwrap();
    let (root_arg, catalog_arg) = (root.display().to_string(), catalog.display().to_string());
    let out = run(
        "census-agent",
        &["inventory", "--root", &root_arg, "--security-catalog", &catalog_arg, "--format", "json"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> =
        inv["security_products"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["acme-sensor"], "the operator's catalog replaces the built-in one");

    // The built-in catalog finds Falcon in the same root.
    let out = run("census-agent", &["inventory", "--root", &root_arg, "--format", "json"], &[]);
    let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(inv["security_products"][0]["id"], "crowdstrike-falcon");

    std::fs::write(&catalog, "version = 1\n[[product]]\nid = \"Bad Id\"\n").unwrap();
    let out = run("census-agent", &["inventory", "--root", &root_arg, "--security-catalog", &catalog_arg], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(&format!("security catalog {catalog_arg}")), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}
