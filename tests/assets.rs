//! Agents and assets through the real binaries: an agent is a key, an asset is a machine. Each
//! agent runs on a fixture root with its own state directory (so its own key).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use census_e2e::{Collector, stderr, stdout};
use serde_json::Value;

fn roots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent/testdata/roots")
}

/// A copy of fixture root `name` in `dir`, changed by `edit` (path under the root, new content).
fn copy_root(dir: &Path, name: &str, copy: &str, edits: &[(&str, &str)]) -> PathBuf {
    let to = census_e2e::copy_tree(&roots().join(name), &dir.join(copy));
    for (path, content) in edits {
        std::fs::write(to.join(path), content).unwrap();
    }
    to
}

const VM_ADDRESS: &str = "sys/devices/pci0000:00/0000:00:03.0/virtio0/net/ens3/address";

struct Fleet<'a> {
    collector: &'a Collector,
    dir: &'a Path,
    secret: String,
}

impl Fleet<'_> {
    fn agent_ids(&self) -> BTreeSet<String> {
        let agents = self.collector.census_json(&["agents", "list"]);
        agents.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect()
    }

    /// Runs one agent once with state directory `state` on `root`; returns its id.
    fn run(&self, state: &str, root: &Path) -> String {
        let before = self.agent_ids();
        let out = self.collector.agent_once(&self.dir.join(state), root, &self.secret);
        assert!(out.status.success(), "agent {state}: {}", stderr(&out));
        let new: Vec<String> = self.agent_ids().difference(&before).cloned().collect();
        match new.as_slice() {
            [id] => id.clone(),
            // A known agent reporting again.
            [] => String::new(),
            more => panic!("{more:?}"),
        }
    }
}

fn asset_of<'a>(assets: &'a Value, agent: &str) -> &'a Value {
    assets
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agents"].as_array().unwrap().iter().any(|g| g["agent_id"] == agent))
        .unwrap_or_else(|| panic!("agent {agent} has no asset in {assets:#}"))
}

fn agents_of(asset: &Value) -> Vec<&str> {
    asset["agents"].as_array().unwrap().iter().map(|g| g["agent_id"].as_str().unwrap()).collect()
}

#[test]
fn agents_link_to_assets_by_hardware_not_by_key_or_host_name() {
    let collector = Collector::start();
    let tmp = tempfile::tempdir().unwrap();
    let fleet = Fleet { collector: &collector, dir: tmp.path(), secret: collector.file("enroll-secret") };

    // Re-install on the same hardware: a new key, the same identifiers.
    let laptop_old = fleet.run("laptop-old", &roots().join("laptop"));
    let laptop_new = fleet.run("laptop-new", &roots().join("laptop"));
    // A container sharing its host's DMI data (flagged inherited).
    let server = fleet.run("server", &roots().join("server"));
    let container = fleet.run("container", &roots().join("container"));
    // Another machine with the laptop's host name.
    let namesake = copy_root(
        tmp.path(),
        "debian12",
        "namesake",
        &[("etc/hostname", "pc-0231\n"), ("proc/sys/kernel/hostname", "pc-0231\n")],
    );
    let namesake = fleet.run("namesake", &namesake);
    // A VM, its clone (same machine-id, generic UUID, a new MAC), and another VM from the same
    // template (same generic serials, its own machine-id and MAC).
    let vm = fleet.run("vm", &roots().join("vm"));
    let clone = copy_root(tmp.path(), "vm", "vm-clone", &[(VM_ADDRESS, "52:54:00:aa:bb:cc\n")]);
    let clone = fleet.run("vm-clone", &clone);
    let other = copy_root(
        tmp.path(),
        "vm",
        "vm-other",
        &[(VM_ADDRESS, "52:54:00:12:34:56\n"), ("etc/machine-id", "7d3a9e1c5b2f48d6a0c4e8f1b3d5a7c9\n")],
    );
    let other = fleet.run("vm-other", &other);

    // `census hosts` still lists each agent.
    assert_eq!(collector.hosts_json().len(), 8);
    let assets = collector.census_json(&["assets"]);
    assert_eq!(assets.as_array().unwrap().len(), 7, "{assets:#}");

    let laptop = asset_of(&assets, &laptop_old);
    assert_eq!(agents_of(laptop), [laptop_new.as_str(), laptop_old.as_str()], "newest first");
    assert_eq!(laptop["hostname"], "pc-0231");
    let shown = collector.census_json(&["assets", &laptop_old]);
    assert_eq!(shown["asset_id"], laptop["asset_id"]);
    // Each agent's host page names its asset.
    for agent in [&laptop_old, &laptop_new] {
        assert_eq!(collector.census_json(&["host", agent])["asset_id"], laptop["asset_id"], "{agent}");
    }
    let kinds: BTreeSet<&str> =
        shown["identifiers"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["board_serial", "chassis_serial", "mac", "machine_id", "smbios_uuid", "system_serial"].into());

    let server_asset = asset_of(&assets, &server);
    let container_asset = asset_of(&assets, &container);
    assert_ne!(server_asset["asset_id"], container_asset["asset_id"]);
    assert_eq!(container_asset["identifiers"], serde_json::json!([]), "inherited values are not kept");

    let namesake_asset = asset_of(&assets, &namesake);
    assert_ne!(namesake_asset["asset_id"], laptop["asset_id"]);
    assert_eq!(namesake_asset["hostname"], "pc-0231");

    let vm_asset = asset_of(&assets, &vm);
    let clone_asset = asset_of(&assets, &clone);
    let other_asset = asset_of(&assets, &other);
    assert_ne!(clone_asset["asset_id"], vm_asset["asset_id"]);
    assert_eq!(clone_asset["suspected_clone_of"], vm_asset["asset_id"]);
    assert_ne!(other_asset["asset_id"], vm_asset["asset_id"]);
    assert_eq!(other_asset["suspected_clone_of"], Value::Null, "a generic serial links nothing");
    // The VM's generic UUID and serials are not kept; its locally administered MAC is, as mac_local.
    let vm_ids: Vec<(&str, &str)> = vm_asset["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["kind"].as_str().unwrap(), i["value"].as_str().unwrap()))
        .collect();
    assert_eq!(vm_ids, [("machine_id", "0f9e8d7c6b5a49382716051a2b3c4d5e"), ("mac_local", "52:54:00:6b:3c:5e")]);

    // The clone is the one suspected duplicate, with its evidence; the re-install is not one.
    let dups = collector.census_json(&["duplicates"]);
    assert_eq!(dups.as_array().unwrap().len(), 1, "{dups:#}");
    let d = &dups[0];
    assert_eq!((d["reason"].as_str(), &d["asset_id"]), (Some("suspected-clone"), &clone_asset["asset_id"]));
    assert_eq!(d["other_asset_id"], vm_asset["asset_id"]);
    assert_eq!(d["agents"], serde_json::json!([clone]));
    let e = &d["evidence"];
    assert_eq!(e["shared"], serde_json::json!([{"kind": "machine_id", "value": "0f9e8d7c6b5a49382716051a2b3c4d5e"}]));
    assert_eq!((e["macs_differ"].as_bool(), &e["macs"]), (Some(true), &serde_json::json!(["52:54:00:aa:bb:cc"])));
    assert_eq!(e["other_macs"], serde_json::json!(["52:54:00:6b:3c:5e"]));
    let table = stdout(&collector.census(&["duplicates"]));
    assert!(table.starts_with("REASON "), "{table}");
    assert!(
        table.contains("suspected-clone") && table.contains("MACs differ (52:54:00:aa:bb:cc vs 52:54:00:6b:3c:5e)")
    );
    let csv = stdout(&collector.census(&["duplicates", "--format", "csv"]));
    assert!(csv.starts_with("reason,asset_id,other_asset_id,agents,detected_at,summary\n"), "{csv}");
    let table = stdout(&collector.census(&["assets"]));
    assert!(table.starts_with("ASSET "), "{table}");

    // The old laptop agent reports again: two agents claim one machine.
    assert_eq!(fleet.run("laptop-old", &roots().join("laptop")), "");
    let dups = collector.census_json(&["duplicates"]);
    let claim = dups.as_array().unwrap().iter().find(|d| d["reason"] == "concurrent-agents").expect("a claim");
    assert_eq!(claim["asset_id"], laptop["asset_id"]);
    assert_eq!(claim["agents"], serde_json::json!([laptop_old, laptop_new]));
    assert!(claim["summary"].as_str().unwrap().starts_with("2 agents claim one machine"), "{claim}");
    // Revoking the old key (the usual end of a re-install) ends the claim.
    assert!(collector.census(&["agents", "revoke", &laptop_old]).status.success());
    let dups = collector.census_json(&["duplicates"]);
    assert!(dups.as_array().unwrap().iter().all(|d| d["reason"] != "concurrent-agents"), "{dups:#}");
}

#[test]
fn an_admin_merges_and_splits_assets_and_the_audit_log_says_so() {
    let collector = Collector::start();
    let tmp = tempfile::tempdir().unwrap();
    let fleet = Fleet { collector: &collector, dir: tmp.path(), secret: collector.file("enroll-secret") };
    let vm = fleet.run("vm", &roots().join("vm"));
    let clone_root = copy_root(tmp.path(), "vm", "vm-clone", &[(VM_ADDRESS, "52:54:00:aa:bb:cc\n")]);
    let clone = fleet.run("vm-clone", &clone_root);
    let assets = collector.census_json(&["assets"]);
    let (into, from) = (
        asset_of(&assets, &vm)["asset_id"].as_str().unwrap().to_string(),
        asset_of(&assets, &clone)["asset_id"].as_str().unwrap().to_string(),
    );

    // Merge: one asset with both agents; the suspicion is resolved.
    let merged = collector.census_json(&["assets", "merge", &into, &from]);
    assert_eq!(merged["asset_id"], into.as_str());
    assert_eq!(agents_of(&merged), [clone.as_str(), vm.as_str()]);
    let assets = collector.census_json(&["assets"]);
    assert_eq!(assets.as_array().unwrap().len(), 1, "{assets:#}");
    assert_eq!(collector.census_json(&["duplicates"]), serde_json::json!([]));
    let tomb = collector.census_json(&["assets", &from]);
    assert_eq!((tomb["state"].as_str(), tomb["merged_into"].as_str()), (Some("merged"), Some(into.as_str())));
    let out = collector.census(&["assets", "merge", &into, &from]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).trim_end(), format!("census: server answered 409: asset {from} was merged into {into}"));

    // Split the clone's agent back out: a new asset of its own, kept on its next report.
    let split = collector.census_json(&["assets", "split", &into, "--agent", &clone]);
    let new = split["asset_id"].as_str().unwrap().to_string();
    assert_ne!(new, into);
    assert_eq!(agents_of(&split), [clone.as_str()]);
    assert_eq!(split["agents"][0]["link"], "split");
    assert_eq!(fleet.run("vm-clone", &clone_root), "");
    assert_eq!(collector.census_json(&["assets", &clone])["asset_id"], new.as_str());
    assert_eq!(collector.census_json(&["assets"]).as_array().unwrap().len(), 2);
    let out = collector.census(&["assets", "split", &new, "--agent", &clone]);
    assert_eq!(
        stderr(&out).trim_end(),
        format!("census: server answered 409: agent {clone} is the only agent of asset {new}: nothing to split")
    );

    let audit = collector.census_json(&["audit"]);
    let fleet_entries: Vec<(&str, &str, &str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"].as_str().unwrap().starts_with("asset."))
        .map(|a| {
            (
                a["actor"].as_str().unwrap(),
                a["action"].as_str().unwrap(),
                a["target"].as_str().unwrap(),
                a["detail"].as_str().unwrap(),
            )
        })
        .collect();
    let merge_detail = format!("from={from} agents={clone}");
    let split_detail = format!("agent={clone} new_asset={new}");
    assert_eq!(
        fleet_entries,
        [
            ("admin", "asset.merge", into.as_str(), merge_detail.as_str()),
            ("admin", "asset.split", into.as_str(), split_detail.as_str()),
        ]
    );
}
