//! The agent's network view inside network namespaces this test creates, against `ip -j` in
//! the same namespace: interfaces, every address with its prefix, default routes (v4 and v6).
//! Only documentation addresses (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32), only inside
//! the test's own namespaces, which are deleted at the end. Skips with a printed reason when
//! namespaces cannot be created (not root, no iproute2).

use std::collections::BTreeSet;
use std::process::Command;

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
    eprintln!(
        "netns: {} interfaces, {} addresses, {} default routes match ip -j",
        got_names.len(),
        got_addrs.len(),
        got_routes.len()
    );
}
