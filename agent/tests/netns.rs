//! The agent's network view inside network namespaces this test creates, against `ip -j` in
//! the same namespace: interfaces, every address with its prefix, default routes (v4 and v6),
//! interface kinds (`ip -d` linkinfo), drivers and permanent MACs (`ethtool -i`/`-P`, when
//! installed), and listening sockets (`ss -ltun`) with their process.
//! Only documentation addresses (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32) and loopback,
//! only inside the test's own namespaces, which are deleted at the end. Skips with a printed
//! reason when namespaces cannot be created (not root, no iproute2).

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// Deletes the namespaces when the test ends, however it ends.
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// A process started inside a namespace; killed when the test ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `tool args` inside namespace `ns`; None when the tool is not installed or fails.
fn in_ns(ns: &str, tool: &str, args: &[&str]) -> Option<String> {
    let out = Command::new("ip").args(["netns", "exec", ns, tool]).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// Our kind names for `ip -d` linkinfo kinds.
fn kind_of(link: &Value) -> String {
    match (link["linkinfo"]["info_kind"].as_str(), link["link_type"].as_str()) {
        (None, Some("loopback")) => "loopback",
        (None, _) => "physical",
        (Some("vxlan" | "geneve" | "wireguard" | "gre" | "ipip" | "sit"), _) => "tunnel",
        (Some(kind @ ("veth" | "bridge" | "macvlan" | "tun")), _) => kind,
        (Some(other), _) => panic!("no expectation for link kind {other}"),
    }
    .to_string()
}

/// Python listening on TCP 127.0.0.1 and [::1] and UDP 127.0.0.1 inside `ns`, once it said so.
const LISTENER: &str = "import socket, time
t4 = socket.socket(socket.AF_INET); t4.bind(('127.0.0.1', 18080)); t4.listen()
t6 = socket.socket(socket.AF_INET6); t6.bind(('::1', 18080)); t6.listen()
u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u4.bind(('127.0.0.1', 18053))
print('ready', flush=True)
time.sleep(600)
";

fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip: {e}"))?;
    if !out.status.success() {
        return Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ip(args).unwrap()).unwrap()
}

#[test]
fn network_view_equals_ip_inside_a_test_namespace() {
    let pid = std::process::id();
    let (a, b) = (format!("census-t{pid}a"), format!("census-t{pid}b"));
    if let Err(e) = ip(&["netns", "add", &a]) {
        eprintln!("skipped: cannot create a network namespace ({e}); this test needs root and iproute2");
        return;
    }
    let _guard = Namespaces(vec![a.clone(), b.clone()]);
    let setup: &[&[&str]] = &[
        &["netns", "add", &b],
        &["link", "add", "v0", "netns", &a, "type", "veth", "peer", "name", "v1", "netns", &b],
        &["-n", &a, "link", "add", "br0", "type", "bridge"],
        &["-n", &a, "link", "add", "mv0", "link", "v0", "type", "macvlan", "mode", "bridge"],
        &["-n", &a, "link", "add", "vx0", "type", "vxlan", "id", "42", "dstport", "4789", "dev", "v0"],
        &["-n", &a, "tuntap", "add", "dev", "tun0", "mode", "tun"],
        &["-n", &a, "link", "set", "lo", "up"],
        &["-n", &a, "link", "set", "v0", "up"],
        &["-n", &a, "link", "set", "br0", "up"],
        &["-n", &b, "link", "set", "v1", "up"],
        &["-n", &a, "addr", "add", "192.0.2.10/24", "dev", "v0"],
        &["-n", &a, "addr", "add", "192.0.2.11/24", "dev", "v0"],
        &["-n", &a, "addr", "add", "2001:db8:1::10/64", "dev", "v0", "nodad"],
        &["-n", &a, "addr", "add", "198.51.100.1/25", "dev", "br0"],
        &["-n", &a, "addr", "add", "2001:db8:2::1/56", "dev", "br0", "nodad"],
        &["-n", &a, "route", "add", "default", "via", "192.0.2.1", "dev", "v0", "metric", "100"],
        &["-n", &a, "-6", "route", "add", "default", "via", "2001:db8:1::1", "dev", "v0", "metric", "200"],
    ];
    for args in setup {
        ip(args).unwrap();
    }

    // A listener inside the namespace, started by its absolute path so its command name is
    // python3 (a pyenv shim would exec a python3.x).
    let python = std::path::Path::new("/usr/bin/python3");
    let listener = if python.exists() {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &a, "/usr/bin/python3", "-c", LISTENER])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut ready).unwrap();
        let process = Process(child);
        assert_eq!(ready.trim(), "ready", "the listener did not start");
        Some(process)
    } else {
        eprintln!("listening sockets not checked: no /usr/bin/python3");
        None
    };

    let out = Command::new("ip")
        .args(["netns", "exec", &a, env!("CARGO_BIN_EXE_census-agent"), "inventory", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let inv: Value = serde_json::from_slice(&out.stdout).unwrap();

    // Interfaces and addresses.
    let links = json(&["-n", &a, "-j", "addr"]);
    let mut want_names = BTreeSet::new();
    let mut want_addrs = BTreeSet::new();
    for link in links.as_array().unwrap() {
        let name = link["ifname"].as_str().unwrap().to_string();
        want_names.insert(name.clone());
        for addr in link["addr_info"].as_array().into_iter().flatten() {
            want_addrs.insert((
                name.clone(),
                addr["local"].as_str().unwrap().to_string(),
                addr["prefixlen"].as_u64().unwrap(),
            ));
        }
    }
    let mut got_names = BTreeSet::new();
    let mut got_addrs = BTreeSet::new();
    for iface in inv["network"]["interfaces"].as_array().unwrap() {
        let name = iface["name"].as_str().unwrap().to_string();
        got_names.insert(name.clone());
        for addr in iface["addresses"].as_array().unwrap() {
            got_addrs.insert((
                name.clone(),
                addr["address"].as_str().unwrap().to_string(),
                addr["prefix_len"].as_u64().unwrap(),
            ));
        }
    }
    assert_eq!(got_names, want_names);
    assert_eq!(got_addrs, want_addrs);
    assert!(got_addrs.contains(&("br0".into(), "2001:db8:2::1".into(), 56)), "{got_addrs:?}");

    // Default routes, both families.
    let mut want_routes = BTreeSet::new();
    for (family, flag) in [("inet", "-4"), ("inet6", "-6")] {
        for r in json(&["-n", &a, "-j", flag, "route", "show", "default"]).as_array().unwrap() {
            want_routes.insert((
                family.to_string(),
                r["gateway"].as_str().unwrap_or_default().to_string(),
                r["dev"].as_str().unwrap().to_string(),
                r["metric"].as_u64().unwrap_or(0),
            ));
        }
    }
    let got_routes: BTreeSet<_> = inv["network"]["default_routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            (s("family"), s("gateway"), s("interface"), r["metric"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(got_routes, want_routes);
    assert_eq!(got_routes.len(), 2, "{got_routes:?}");

    // Kinds against ip -d linkinfo; drivers and permanent MACs against ethtool.
    let ifaces = inv["network"]["interfaces"].as_array().unwrap();
    let field = |name: &str, key: &str| -> String {
        let iface = ifaces.iter().find(|i| i["name"] == name).unwrap();
        iface[key].as_str().unwrap().to_string()
    };
    let details = json(&["-n", &a, "-d", "-j", "link", "show"]);
    let want_kinds: BTreeMap<String, String> =
        details.as_array().unwrap().iter().map(|l| (l["ifname"].as_str().unwrap().to_string(), kind_of(l))).collect();
    let got_kinds: BTreeMap<String, String> =
        want_kinds.keys().map(|name| (name.clone(), field(name, "kind"))).collect();
    assert_eq!(got_kinds, want_kinds);
    for kind in ["loopback", "veth", "bridge", "macvlan", "tunnel", "tun"] {
        assert!(got_kinds.values().any(|k| k == kind), "no {kind} link in {got_kinds:?}");
    }
    if have("ethtool") {
        for name in want_kinds.keys() {
            let perm = in_ns(&a, "ethtool", &["-P", name]).unwrap();
            let perm = perm.trim().strip_prefix("Permanent address: ").unwrap();
            let perm = if perm == "not set" || perm.chars().all(|c| c == '0' || c == ':') { "" } else { perm };
            assert_eq!(field(name, "permanent_mac"), perm, "permanent MAC of {name}");
            // ethtool -i fails for links without driver information (lo).
            let driver = in_ns(&a, "ethtool", &["-i", name])
                .and_then(|t| t.lines().find_map(|l| l.strip_prefix("driver: ").map(str::to_string)))
                .unwrap_or_default();
            let driver = if driver == "802.1Q VLAN Support" { "8021q".to_string() } else { driver };
            assert_eq!(field(name, "driver"), driver, "driver of {name}");
        }
    } else {
        eprintln!("drivers and permanent MACs not checked: ethtool is not installed");
    }

    // Listening sockets against ss, with the listener's process.
    let mut sockets = 0;
    if let Some(listener) = &listener {
        let ss = in_ns(&a, "ss", &["-H", "-ltun"]).expect("ss -H -ltun");
        let want: BTreeSet<(String, String, u64)> = ss
            .lines()
            .map(|line| {
                let cols: Vec<&str> = line.split_whitespace().collect();
                let (addr, port) = cols[4].rsplit_once(':').unwrap();
                let addr = addr.trim_start_matches('[').trim_end_matches(']');
                let addr = addr.split('%').next().unwrap();
                let addr = if addr == "*" { "::" } else { addr };
                (cols[0].to_string(), addr.to_string(), port.parse().unwrap())
            })
            .collect();
        let listening = inv["network"]["listening"].as_array().unwrap();
        let got: BTreeSet<(String, String, u64)> = listening
            .iter()
            .map(|s| {
                (
                    s["protocol"].as_str().unwrap().into(),
                    s["address"].as_str().unwrap().into(),
                    s["port"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, want);
        let expected: BTreeSet<(String, String, u64)> =
            [("tcp", "127.0.0.1", 18080), ("tcp", "::1", 18080), ("udp", "127.0.0.1", 18053)]
                .into_iter()
                .map(|(p, a, n)| (p.to_string(), a.to_string(), n))
                .collect();
        assert_eq!(got, expected);
        for s in listening {
            assert_eq!(s["process"], "python3", "{s}");
            assert_eq!(s["pid"].as_u64().unwrap(), u64::from(listener.0.id()), "{s}");
        }
        sockets = got.len();
    }
    eprintln!(
        "netns: {} interfaces (kinds), {} addresses, {} default routes, {} listening sockets match ip -j and ss",
        got_names.len(),
        got_addrs.len(),
        got_routes.len(),
        sockets
    );
}
