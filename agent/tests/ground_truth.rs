//! The live host's inventory against the machine's own ground truth: `dpkg-query` for packages
//! and `ip -j addr` for addresses. These are the only agent tests tied to the build machine, on
//! purpose; each skips with a printed reason where its reference tool is missing.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

fn agent_inventory() -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_census-agent"))
        .args(["inventory", "--format", "json"])
        .output()
        .expect("run census-agent");
    assert!(out.status.success(), "census-agent failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("inventory is JSON")
}

fn tool(cmd: &str, args: &[&str]) -> Option<String> {
    match Command::new(cmd).args(args).output() {
        Ok(o) if o.status.success() => Some(String::from_utf8(o.stdout).expect("utf-8")),
        Ok(o) => panic!("{cmd} failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => {
            eprintln!("skipped: {cmd} is not available here ({e})");
            None
        }
    }
}

#[test]
fn inventory_has_exactly_the_packages_dpkg_query_reports_installed() {
    if !std::path::Path::new("/var/lib/dpkg/status").exists() {
        eprintln!("skipped: this machine has no dpkg database");
        return;
    }
    // ${db:Status-Abbrev} is want, status, error flag ("ii ", "hi ", "rc "). Installed software:
    // status i (installed), W (triggers-awaited) or t (triggers-pending).
    let Some(out) = tool("dpkg-query", &["-W", "-f", "${Package}\t${Architecture}\t${Version}\t${db:Status-Abbrev}\n"])
    else {
        return;
    };
    let expected: BTreeSet<(String, String, String)> = out
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let status = f[3].chars().nth(1)?;
            matches!(status, 'i' | 'W' | 't').then(|| (f[0].to_string(), f[1].to_string(), f[2].to_string()))
        })
        .collect();
    assert!(!expected.is_empty(), "dpkg-query reported no installed packages");

    let inv = agent_inventory();
    let software = inv["software"].as_array().expect("software array");
    let got: Vec<(String, String, String)> = software
        .iter()
        .filter(|p| p["source"] == "dpkg")
        .map(|p| {
            (
                p["name"].as_str().unwrap().into(),
                p["arch"].as_str().unwrap().into(),
                p["version"].as_str().unwrap().into(),
            )
        })
        .collect();
    let got_set: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(got.len(), got_set.len(), "a package was reported twice");
    let missing: Vec<_> = expected.difference(&got_set).collect();
    let extra: Vec<_> = got_set.difference(&expected).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}\nextra {extra:?}");
    eprintln!("dpkg: {} packages match dpkg-query", got.len());
}

#[test]
fn inventory_has_every_address_ip_shows_with_its_prefix() {
    let Some(out) = tool("ip", &["-j", "addr"]) else { return };
    let ip: Value = serde_json::from_str(&out).expect("ip -j addr is JSON");
    let mut expected = BTreeSet::new();
    for link in ip.as_array().expect("array of links") {
        let name = link["ifname"].as_str().unwrap().to_string();
        for a in link["addr_info"].as_array().into_iter().flatten() {
            let prefix = a["prefixlen"].as_u64().unwrap();
            expected.insert((name.clone(), a["local"].as_str().unwrap().to_string(), prefix));
        }
    }

    let inv = agent_inventory();
    let mut got = BTreeSet::new();
    for iface in inv["network"]["interfaces"].as_array().expect("interfaces") {
        let name = iface["name"].as_str().unwrap().to_string();
        for a in iface["addresses"].as_array().unwrap() {
            got.insert((name.clone(), a["address"].as_str().unwrap().to_string(), a["prefix_len"].as_u64().unwrap()));
        }
    }
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}\nextra {extra:?}");
    let links: BTreeSet<_> = ip.as_array().unwrap().iter().map(|l| l["ifname"].as_str().unwrap().to_string()).collect();
    let ifaces: BTreeSet<_> = inv["network"]["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(links, ifaces, "interface names differ from ip's");
    eprintln!("network: {} addresses on {} interfaces match ip -j addr", got.len(), ifaces.len());
}

#[test]
fn unreadable_root_is_one_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_census-agent"))
        .args(["inventory", "--root", "/no/such/root"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim(), "census-agent: root /no/such/root: No such file or directory (os error 2)");
}

#[test]
fn unknown_format_is_rejected_by_the_parser() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_census-agent")).args(["inventory", "--format", "yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'yaml' for '--format"));
}

#[test]
fn inventory_has_the_default_routes_ip_shows() {
    let mut want = BTreeSet::new();
    for (family, flag) in [("inet", "-4"), ("inet6", "-6")] {
        let Some(out) = tool("ip", &["-j", flag, "route", "show", "default"]) else { return };
        let routes: Value = serde_json::from_str(&out).expect("ip -j route is JSON");
        for r in routes.as_array().expect("array of routes") {
            want.insert((
                family.to_string(),
                r["gateway"].as_str().unwrap_or_default().to_string(),
                r["dev"].as_str().unwrap_or_default().to_string(),
                r["metric"].as_u64().unwrap_or(0),
            ));
        }
    }
    let inv = agent_inventory();
    let got: BTreeSet<_> = inv["network"]["default_routes"]
        .as_array()
        .expect("default_routes")
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            (s("family"), s("gateway"), s("interface"), r["metric"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(got, want);
    eprintln!("routes: {} default routes match ip -j route", got.len());
}
