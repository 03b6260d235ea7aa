//! The security team's questions through the real binaries, on a fixture fleet: six machines
//! (copies of the `vm` fixture root, each its own machine), each running the real agent once.
//!
//! | host    | what it runs                        | status                  |
//! |---------|-------------------------------------|-------------------------|
//! | web-1   | Falcon, running; hears 3 devices    | protected               |
//! | web-2   | Falcon installed, stopped           | installed-not-running   |
//! | db-1    | nothing                             | missing                 |
//! | build-1 | ClamAV only (an AV, not an EDR)     | missing                 |
//! | kiosk-1 | nothing, excluded by an admin       | excluded                |
//! | old-1   | Falcon, running, but silent since   | agent-stale             |
//!
//! web-1's neighbour table holds web-2 (managed), a printer and a camera (unmanaged).

use std::path::{Path, PathBuf};
use std::time::Duration;

use census_e2e::{Collector, copy_tree, stderr, stdout};
use serde_json::Value;

const VM_ADDRESS: &str = "sys/devices/pci0000:00/0000:00:03.0/virtio0/net/ens3/address";
/// How long a report counts as fresh in this test's coverage policy.
const FRESH: Duration = Duration::from_secs(20);

const BASE: &str = "Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4+deb12u5\n";
const FALCON: &str =
    "Package: falcon-sensor\nStatus: install ok installed\nArchitecture: amd64\nVersion: 7.18.0-17106\n";
const CLAMAV: &str =
    "Package: clamav-daemon\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0.7+dfsg-1~deb12u1\n";

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[derive(Clone, Copy, PartialEq)]
enum Runs {
    Nothing,
    FalconRunning,
    FalconStopped,
    ClamAv,
}

/// Machine number `n` named `name`: its own MAC (52:54:00:00:00:0n), machine-id and an IPv6
/// address in 2001:db8:`net`::/64.
fn machine(dir: &Path, n: u8, name: &str, net: u8, runs: Runs) -> PathBuf {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent/testdata/roots/vm");
    let root = copy_tree(&fixtures, &dir.join(name));
    write(&root, VM_ADDRESS, &format!("{}\n", mac(n)));
    write(&root, "etc/machine-id", &format!("{:032x}\n", 0xc0ffee00 + u32::from(n)));
    write(&root, "etc/hostname", &format!("{name}\n"));
    write(&root, "proc/sys/kernel/hostname", &format!("{name}\n"));
    write(&root, "proc/net/if_inet6", &format!("20010db800{net:02x}0000000000000000000{n:x} 02 40 00 80 ens3\n"));
    let mut status = BASE.to_string();
    if matches!(runs, Runs::FalconRunning | Runs::FalconStopped) {
        status = format!("{status}\n{FALCON}");
        write(&root, "lib/systemd/system/falcon-sensor.service", "[Service]\nExecStart=/opt/CrowdStrike/falcond\n");
    }
    if runs == Runs::FalconRunning {
        let wants = root.join("etc/systemd/system/multi-user.target.wants");
        std::fs::create_dir_all(&wants).unwrap();
        std::os::unix::fs::symlink("/lib/systemd/system/falcon-sensor.service", wants.join("falcon-sensor.service"))
            .unwrap();
        write(&root, "proc/4242/comm", "falcon-sensor\n");
        write(&root, "proc/4242/cmdline", "/opt/CrowdStrike/falcon-sensor\0");
    }
    if runs == Runs::ClamAv {
        status = format!("{status}\n{CLAMAV}");
        write(&root, "proc/777/comm", "clamd\n");
        write(&root, "proc/777/cmdline", "/usr/sbin/clamd\0");
    }
    write(&root, "var/lib/dpkg/status", &status);
    root
}

fn mac(n: u8) -> String {
    format!("52:54:00:00:00:{n:02x}")
}

const PRINTER: &str = "3c:2a:f4:01:02:03";
const CAMERA: &str = "00:80:f0:0a:0b:0c";

struct Fleet {
    collector: Collector,
    dir: tempfile::TempDir,
    secret: String,
}

impl Fleet {
    fn run(&self, root: &Path) {
        let name = root.file_name().unwrap().to_string_lossy().to_string();
        let out = self.collector.agent_once(&self.dir.path().join(format!("state-{name}")), root, &self.secret);
        assert!(out.status.success(), "agent on {name}: {}", stderr(&out));
    }

    fn json(&self, args: &[&str]) -> Value {
        self.collector.census_json(args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.collector.census(args);
        assert!(out.status.success(), "census {args:?}: {}", stderr(&out));
        stdout(&out)
    }

    /// Host names `census hosts ARGS` lists.
    fn hosts(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec!["hosts"];
        all.extend(args);
        let rows = self.json(&all);
        rows.as_array().unwrap().iter().map(|h| h["hostname"].as_str().unwrap().to_string()).collect()
    }
}

fn counts(v: &Value) -> [u64; 7] {
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    [
        n("in_scope"),
        n("excluded"),
        n("denominator"),
        n("protected"),
        n("installed_not_running"),
        n("missing"),
        n("agent_stale"),
    ]
}

#[test]
fn the_fixture_fleet_answers_every_coverage_question() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("collector.toml");
    std::fs::write(&config, format!("[coverage]\nfresh_within = \"{}s\"\n", FRESH.as_secs())).unwrap();
    let collector = Collector::start_args(&["--config", &config.display().to_string()]);
    let secret = collector.file("enroll-secret");
    let fleet = Fleet { collector, dir, secret };
    let d = fleet.dir.path().to_path_buf();

    // old-1 reports, then stays silent past the freshness limit.
    fleet.run(&machine(&d, 6, "old-1", 2, Runs::FalconRunning));
    std::thread::sleep(FRESH + Duration::from_millis(500));

    let web1 = machine(&d, 1, "web-1", 1, Runs::FalconRunning);
    write(
        &web1,
        "proc/net/arp",
        &format!(
            "IP address       HW type     Flags       HW address            Mask     Device\n\
             192.0.2.21       0x1         0x2         {}     *        ens3\n\
             192.0.2.50       0x1         0x2         {PRINTER}     *        ens3\n\
             192.0.2.60       0x1         0x2         {CAMERA}     *        ens3\n\
             192.0.2.99       0x1         0x0         00:00:00:00:00:00     *        ens3\n",
            mac(2)
        ),
    );
    fleet.run(&web1);
    fleet.run(&machine(&d, 2, "web-2", 1, Runs::FalconStopped));
    fleet.run(&machine(&d, 3, "db-1", 2, Runs::Nothing));
    fleet.run(&machine(&d, 4, "build-1", 2, Runs::ClamAv));
    fleet.run(&machine(&d, 5, "kiosk-1", 2, Runs::Nothing));
    fleet.ok(&["owner", "web-1", "--owner", "alice", "--environment", "production"]);
    fleet.ok(&["owner", "web-2", "--owner", "alice"]);
    fleet.ok(&["owner", "db-1", "--owner", "bob"]);
    fleet.ok(&["tag", "db-1", "pci=yes"]);
    let excluded = fleet.json(&["coverage", "exclude", "kiosk-1", "--reason", "vendor-managed kiosk"]);
    assert!(excluded["asset_id"].is_string(), "{excluded}");

    // The summary: the denominator leaves the excluded kiosk out.
    let report = fleet.json(&["coverage"]);
    assert_eq!(counts(&report), [6, 1, 5, 1, 1, 2, 1], "{report:#}");
    assert!((report["coverage"].as_f64().unwrap() - 0.2).abs() < 1e-9);
    assert_eq!(report["policy"]["protected_by"], "any edr product, running");
    let table = fleet.ok(&["coverage"]);
    assert!(table.contains("coverage: 1 protected of 5 (20.0%); denominator = 6 in scope - 1 excluded"), "{table}");

    // Each status, worst first, with owner and why.
    let gaps = fleet.json(&["coverage", "--gaps"]);
    let rows: Vec<(&str, &str, &str)> = gaps
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["status"].as_str().unwrap(), a["hostname"].as_str().unwrap(), a["owner"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            ("missing", "build-1", ""),
            ("missing", "db-1", "bob"),
            ("installed-not-running", "web-2", "alice"),
            ("agent-stale", "old-1", ""),
        ]
    );
    let detail = |i: usize| gaps[i]["detail"].as_str().unwrap().to_string();
    assert_eq!(detail(0), "no edr product installed (has ClamAV, av)");
    assert_eq!(detail(1), "no edr product installed");
    assert_eq!(detail(2), "CrowdStrike Falcon (service disabled) installed, not running");
    assert!(detail(3).starts_with("no report for "), "{}", detail(3));
    let all = fleet.json(&["coverage", "--status", "protected,excluded"]);
    let all: Vec<(&str, &str)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["status"].as_str().unwrap(), a["hostname"].as_str().unwrap()))
        .collect();
    assert_eq!(all, [("protected", "web-1"), ("excluded", "kiosk-1")]);
    let kiosk = &fleet.json(&["coverage", "--status", "excluded"])[0];
    assert_eq!(kiosk["detail"], "excluded by admin: vendor-managed kiosk");

    // CSV for spreadsheets: a header and one row per asset.
    let csv = fleet.ok(&["coverage", "--gaps", "--format", "csv"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "status,asset_id,hostname,owner,team,environment,os,last_seen,detail,products,agent_id"
    );
    assert_eq!(lines.count(), 4, "{csv}");

    // Grouped.
    let groups = |by: &str| -> Vec<(String, [u64; 7])> {
        let r = fleet.json(&["coverage", "--by", by]);
        assert_eq!(counts(&r), [6, 1, 5, 1, 1, 2, 1], "totals stay the same grouped by {by}");
        r["groups"].as_array().unwrap().iter().map(|g| (g["group"].as_str().unwrap().to_string(), counts(g))).collect()
    };
    assert_eq!(
        groups("product"),
        [("(none)".to_string(), [3, 1, 2, 0, 0, 2, 0]), ("crowdstrike-falcon".to_string(), [3, 0, 3, 1, 1, 0, 1])]
    );
    assert_eq!(
        groups("subnet"),
        [
            ("2001:db8:2::/64".to_string(), [4, 1, 3, 0, 0, 2, 1]),
            ("2001:db8:1::/64".to_string(), [2, 0, 2, 1, 1, 0, 0])
        ]
    );
    assert_eq!(
        groups("owner"),
        [
            ("(none)".to_string(), [3, 1, 2, 0, 0, 1, 1]),
            ("alice".to_string(), [2, 0, 2, 1, 1, 0, 0]),
            ("bob".to_string(), [1, 0, 1, 0, 0, 1, 0])
        ]
    );
    let by_os = fleet.ok(&["coverage", "--by", "os", "--format", "csv"]);
    assert!(by_os.contains("Debian GNU/Linux 12 (bookworm),6,1,5,1,1,2,1,1/5,20.0"), "{by_os}");

    // Host filters.
    assert_eq!(fleet.hosts(&["--coverage", "missing"]), ["build-1", "db-1"]);
    assert_eq!(fleet.hosts(&["--product", "crowdstrike-falcon"]), ["old-1", "web-1", "web-2"]);
    assert_eq!(fleet.hosts(&["--product", "crowdstrike-falcon", "--product-status", "not-running"]), ["web-2"]);
    assert_eq!(
        fleet.hosts(&["--product", "crowdstrike-falcon", "--product-status", "absent"]),
        ["build-1", "db-1", "kiosk-1"]
    );
    assert_eq!(fleet.hosts(&["--software", "falcon-sensor", "--version", ">=7.18"]), ["old-1", "web-1", "web-2"]);
    assert_eq!(fleet.hosts(&["--software", "falcon-sensor", "--version", "<7"]), Vec::<String>::new());
    assert_eq!(fleet.hosts(&["--mac", &mac(2).to_uppercase()]), ["web-2"]);
    assert_eq!(fleet.hosts(&["--ip", "2001:db8:1::1"]), ["web-1"]);
    assert_eq!(fleet.hosts(&["--subnet", "2001:db8:1::/48"]), ["web-1", "web-2"]);
    assert_eq!(fleet.hosts(&["--owner", "alice", "--environment", "production"]), ["web-1"]);
    assert_eq!(fleet.hosts(&["--tag", "pci=yes", "--os", "debian"]), ["db-1"]);
    assert_eq!(fleet.hosts(&["--state", "active", "--coverage", "agent-stale"]), ["old-1"]);
    // A bad filter is one clear error, from the server.
    let out = fleet.collector.census(&["hosts", "--mac", "nope"]);
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        "census: server answered 400: mac: \"nope\" is not a MAC address (aa:bb:cc:dd:ee:ff)"
    );
    let out = fleet.collector.census(&["coverage", "--by", "colour"]);
    assert!(stderr(&out).contains("cannot group by \"colour\": one of os, subnet"), "{}", stderr(&out));

    // Unmanaged devices: web-2 is a managed host, the printer and the camera are not.
    let unmanaged = fleet.json(&["neighbors", "--unmanaged"]);
    let macs: Vec<&str> = unmanaged.as_array().unwrap().iter().map(|n| n["mac"].as_str().unwrap()).collect();
    assert_eq!(macs, [CAMERA, PRINTER]);
    for n in unmanaged.as_array().unwrap() {
        assert_eq!(n["seen_by"][0]["hostname"], "web-1", "{n}");
        assert!(n["managed_by"].is_null());
    }
    let all = fleet.json(&["neighbors"]);
    let web2 = all.as_array().unwrap().iter().find(|n| n["mac"] == mac(2)).expect("web-2 heard");
    assert!(web2["managed_by"].is_string(), "{web2}");
    assert_eq!(fleet.json(&["neighbors", "--unmanaged", "--new", "7d"]).as_array().unwrap().len(), 2);
    assert_eq!(fleet.json(&["neighbors", "--unmanaged", "--new", "2099-01-01T00:00:00Z"]), Value::Array(vec![]));
    let table = fleet.ok(&["neighbors", "--unmanaged"]);
    assert!(table.lines().next().unwrap().contains("FIRST SEEN"), "{table}");

    // The exception lifted: the kiosk is missing coverage again.
    fleet.ok(&["coverage", "include", "kiosk-1"]);
    assert_eq!(counts(&fleet.json(&["coverage"])), [6, 0, 6, 1, 1, 3, 1]);
}
