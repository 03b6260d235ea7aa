//! `census-agent neighbors` against the lab of agent/tests/lab/lab.sh: a bridge in a network
//! namespace with one namespace per device (lldpd sending LLDP and CDP, dnsmasq serving DHCP,
//! udhcpc asking with a hostname and a vendor class, avahi-daemon publishing an IPP printer, a
//! python3 NAS sending SSDP and NBNS, a VLAN-10 phone) and a sensor namespace that sends nothing.
//!
//! - `lab_pcap_agrees_with_tshark`: the recorded capture (agent/testdata/pcap/lab.pcap and its
//!   pcapng copy; agent/testdata/pcap/record.sh re-records them) read by the agent, against what
//!   tshark sees in it, per source MAC: IPv4 and IPv6 addresses, names, protocols, VLANs. tshark
//!   runs at test time when installed, else its saved output (lab.tshark.txt) stands in.
//! - `live_lab_finds_every_device`: as root, the lab built for real and the agent listening in
//!   the sensor namespace for 15 s: every device with its addresses, names and protocols.
//!
//! Only documentation addresses (192.0.2.0/24, 2001:db8:c1::/64) and link-local ones, only
//! inside the namespaces the lab creates, which are deleted (with every daemon) at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_census-agent");

fn lab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab")
}

fn pcap_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pcap")
}

fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool).arg(arg).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// What one MAC revealed: from tshark's view or from the agent's JSON.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Seen {
    ipv4: BTreeSet<String>,
    ipv6: BTreeSet<String>,
    names: BTreeSet<String>,
    protocols: BTreeSet<String>,
    vlans: BTreeSet<u64>,
}

/// A name as both sides can agree on it: lower case, without the trailing dot, the `.local`
/// of mDNS or the suffix tshark gives NetBIOS names (`<00>`, `<00> (Workstation/Redirector)`).
fn norm_name(name: &str) -> String {
    let mut n = name.trim().trim_end_matches('.').to_lowercase();
    if let Some(i) = n.find('<')
        && n.as_bytes().get(i + 3) == Some(&b'>')
    {
        n.truncate(i);
    }
    let n = n.trim_end();
    n.strip_suffix(".local").unwrap_or(n).to_string()
}

/// Our protocol names for tshark's `frame.protocols` entries (ICMPv6 is NDP only for types
/// 133-137; MLD, IGMP and plain UDP reveal nothing the agent reports).
fn protocols_of(layers: &[&str], icmpv6_types: &[u32]) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for layer in layers {
        let ours = match *layer {
            "arp" => "arp",
            "dhcp" => "dhcp",
            "dhcpv6" => "dhcpv6",
            "mdns" => "mdns",
            "lldp" => "lldp",
            "cdp" => "cdp",
            "ssdp" => "ssdp",
            "nbns" => "nbns",
            _ => continue,
        };
        set.insert(ours.to_string());
    }
    if layers.contains(&"icmpv6") && icmpv6_types.iter().any(|t| (133..=137).contains(t)) {
        set.insert("ndp".to_string());
    }
    set
}

/// Per source MAC, what tshark's fields (agent/tests/lab/fields.sh) show, counting only frames
/// of a discovery protocol; with the time range of those frames (Unix seconds).
fn from_tshark(text: &str) -> (BTreeMap<String, Seen>, (f64, f64)) {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().expect("tshark output has a header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}"));
    let cols = [
        "frame.time_epoch",
        "eth.src",
        "vlan.id",
        "frame.protocols",
        "arp.src.hw_mac",
        "arp.src.proto_ipv4",
        "ip.src",
        "ipv6.src",
        "icmpv6.type",
        "dhcp.hw.mac_addr",
        "dhcp.option.hostname",
        "lldp.tlv.system.name",
        "cdp.deviceid",
        "nbns.name",
        "dns.resp.name",
    ]
    .map(col);
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut range = (f64::MAX, f64::MIN);
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        let get = |i: usize| -> Vec<&str> {
            fields.get(cols[i]).map(|f| f.split(';').filter(|v| !v.is_empty()).collect()).unwrap_or_default()
        };
        let layers: Vec<&str> = get(3).first().map(|p| p.split(':').collect()).unwrap_or_default();
        let types: Vec<u32> = get(8).iter().filter_map(|t| t.parse().ok()).collect();
        let protocols = protocols_of(&layers, &types);
        if protocols.is_empty() {
            continue;
        }
        let time: f64 = get(0)[0].parse().unwrap();
        range = (range.0.min(time), range.1.max(time));
        let mac = get(1)[0].to_lowercase();
        let entry = seen.entry(mac.clone()).or_default();
        entry.protocols.extend(protocols.iter().cloned());
        entry.vlans.extend(get(2).iter().map(|v| v.parse::<u64>().unwrap()));
        entry.ipv4.extend(get(6).iter().filter(|a| **a != "0.0.0.0").map(|a| a.to_string()));
        entry.ipv6.extend(get(7).iter().filter(|a| **a != "::").map(|a| a.to_string()));
        entry.names.extend(get(11).iter().chain(&get(12)).chain(&get(13)).map(|n| norm_name(n)));
        if protocols.contains("mdns") {
            // Host names: the owner names of its records, less services (`_ipp._tcp`, instances
            // `Name._ipp._tcp.local`) and reverse-lookup names.
            let hosts = get(14);
            let hosts = hosts.iter().filter(|n| n.ends_with(".local") && !n.contains("._") && !n.starts_with('_'));
            entry.names.extend(hosts.map(|n| norm_name(n)));
        }
        // ARP: the sender's address belongs to the sender's hardware address.
        for (hw, ip) in get(4).iter().zip(get(5)) {
            if ip != "0.0.0.0" {
                seen.entry(hw.to_lowercase()).or_default().ipv4.insert(ip.to_string());
            }
        }
        // DHCP: the hostname belongs to the client (chaddr), whoever sent the frame.
        if let Some(client) = get(9).first() {
            let names: Vec<String> = get(10).iter().map(|n| norm_name(n)).collect();
            seen.entry(client.to_lowercase()).or_default().names.extend(names);
        }
    }
    (seen, range)
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_string)).collect()
}

/// Per MAC, what the agent's JSON (an array of `census_inventory::Neighbor`) says.
fn from_agent(json: &Value) -> BTreeMap<String, (Seen, Value)> {
    let list = json.as_array().unwrap_or_else(|| panic!("neighbors JSON is not an array: {json}"));
    list.iter()
        .map(|n| {
            let seen = Seen {
                ipv4: strings(&n["ipv4"]),
                ipv6: strings(&n["ipv6"]),
                names: strings(&n["names"]).iter().map(|s| norm_name(s)).collect(),
                protocols: strings(&n["protocols"]),
                vlans: n["vlans"].as_array().into_iter().flatten().filter_map(Value::as_u64).collect(),
            };
            (n["mac"].as_str().unwrap_or_default().to_lowercase(), (seen, n.clone()))
        })
        .collect()
}

fn agent_json(args: &[&str]) -> Value {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "census-agent {} failed: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("census-agent {}: not JSON ({e}): {}", args.join(" "), String::from_utf8_lossy(&out.stdout))
    })
}

#[test]
fn lab_pcap_agrees_with_tshark() {
    let dir = pcap_dir();
    let pcap = dir.join("lab.pcap");
    let saved = std::fs::read_to_string(dir.join("lab.tshark.txt")).expect("agent/testdata/pcap/lab.tshark.txt");
    let text = if have("tshark", "-v") {
        let out = Command::new(lab_dir().join("fields.sh")).arg(&pcap).output().unwrap();
        assert!(out.status.success(), "fields.sh: {}", String::from_utf8_lossy(&out.stderr));
        eprintln!("lab pcap: comparing against tshark run now");
        String::from_utf8(out.stdout).unwrap()
    } else {
        eprintln!("lab pcap: tshark is not installed; comparing against its saved output lab.tshark.txt");
        saved.clone()
    };
    let (want, (t0, t1)) = from_tshark(&text);
    // The saved output is what tshark said when the capture was recorded: it must still hold.
    assert_eq!(from_tshark(&saved).0, want, "lab.tshark.txt differs from what tshark says now");
    assert!(want.len() >= 6, "the lab capture has {} devices: {want:#?}", want.len());
    for protocol in ["arp", "ndp", "dhcp", "mdns", "lldp", "cdp", "ssdp", "nbns"] {
        assert!(want.values().any(|s| s.protocols.contains(protocol)), "no {protocol} in the lab capture");
    }

    // Every disagreement, for both files, before failing.
    let mut problems = Vec::new();
    for file in ["lab.pcap", "lab.pcapng"] {
        let path = dir.join(file);
        let json = agent_json(&["neighbors", "--pcap", path.to_str().unwrap(), "--format", "json"]);
        let got = from_agent(&json);
        let got_macs: BTreeSet<&String> = got.keys().collect();
        let want_macs: BTreeSet<&String> = want.keys().collect();
        if got_macs != want_macs {
            problems.push(format!("{file}: the agent's MACs {got_macs:?}, tshark's {want_macs:?}"));
        }
        for (mac, w) in &want {
            let Some((g, raw)) = got.get(mac) else { continue };
            let mut differ = |what: &str, g: &dyn std::fmt::Debug, w: &dyn std::fmt::Debug, same: bool| {
                if !same {
                    problems.push(format!("{file}: {what} of {mac}: agent {g:?}, tshark {w:?}\n    {raw}"));
                }
            };
            differ("IPv4", &g.ipv4, &w.ipv4, g.ipv4 == w.ipv4);
            differ("IPv6", &g.ipv6, &w.ipv6, g.ipv6 == w.ipv6);
            differ("names", &g.names, &w.names, g.names == w.names);
            differ("protocols", &g.protocols, &w.protocols, g.protocols == w.protocols);
            differ("VLANs", &g.vlans, &w.vlans, g.vlans == w.vlans);
            let (first, last) = (raw["first_seen"].as_i64().unwrap_or(0), raw["last_seen"].as_i64().unwrap_or(0));
            let inside = first <= last && first >= t0.floor() as i64 && last <= t1.ceil() as i64;
            differ("first_seen..last_seen", &(first, last), &(t0, t1), inside);
        }
        eprintln!("lab pcap: {file}: the agent lists {} neighbours, tshark {}", got.len(), want.len());
    }
    assert!(problems.is_empty(), "the agent and tshark disagree:\n{}", problems.join("\n"));
}

/// One lab device: what it is configured to reveal.
struct Device {
    label: &'static str,
    mac: &'static str,
    ipv4: &'static [&'static str],
    ipv6: &'static [&'static str],
    names: &'static [&'static str],
    protocols: &'static [&'static str],
    /// An attribute key and a part of its value.
    attributes: &'static [(&'static str, &'static str)],
}

/// The devices of agent/tests/lab/lab.sh (its header has the same table). IPv6 link-local
/// addresses are the kernel's EUI-64 ones.
const DEVICES: &[Device] = &[
    Device {
        label: "router (lldpd)",
        mac: "02:c1:00:00:00:01",
        ipv4: &["192.0.2.1"],
        ipv6: &["2001:db8:c1::1", "fe80::c1:ff:fe00:1"],
        names: &["lab-router"],
        protocols: &["arp", "ndp", "lldp", "cdp"],
        attributes: &[],
    },
    Device {
        label: "DHCP server (dnsmasq)",
        mac: "02:c1:00:00:00:02",
        ipv4: &["192.0.2.2"],
        ipv6: &["2001:db8:c1::2", "fe80::c1:ff:fe00:2"],
        names: &[],
        protocols: &["arp", "ndp", "dhcp"],
        attributes: &[],
    },
    Device {
        label: "laptop (udhcpc)",
        mac: "02:c1:00:00:00:03",
        ipv4: &["192.0.2.100"],
        ipv6: &["2001:db8:c1::3", "fe80::c1:ff:fe00:3"],
        names: &["lab-laptop"],
        protocols: &["arp", "ndp", "dhcp"],
        attributes: &[("vendor_class", "census-lab-client")],
    },
    Device {
        label: "printer (avahi-daemon)",
        mac: "02:c1:00:00:00:04",
        ipv4: &["192.0.2.4"],
        ipv6: &["2001:db8:c1::4", "fe80::c1:ff:fe00:4"],
        names: &["lab-printer"],
        protocols: &["arp", "ndp", "mdns"],
        attributes: &[("service", "_ipp._tcp")],
    },
    Device {
        label: "NAS (SSDP, NBNS)",
        mac: "02:c1:00:00:00:05",
        ipv4: &["192.0.2.5"],
        ipv6: &["2001:db8:c1::5", "fe80::c1:ff:fe00:5"],
        names: &["lab-nas"],
        protocols: &["arp", "ndp", "ssdp", "nbns"],
        attributes: &[("server", "census-lab-nas")],
    },
    Device {
        label: "phone on VLAN 10",
        mac: "02:c1:00:00:00:0a",
        ipv4: &["192.0.2.10"],
        ipv6: &[],
        names: &[],
        protocols: &["arp"],
        attributes: &[],
    },
];

/// Runs agent/tests/lab/lab.sh.
fn lab(args: &[&str]) -> Result<(), String> {
    let out = Command::new(lab_dir().join("lab.sh")).args(args).output().map_err(|e| format!("lab.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!("lab.sh {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

/// Takes the lab down (daemons, then namespaces) when the test ends, however it ends.
struct Lab {
    tag: String,
    dir: tempfile::TempDir,
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Err(e) = lab(&["down", &self.tag, self.dir.path().to_str().unwrap()]) {
            eprintln!("lab down: {e}");
        }
    }
}

/// The agent inside the sensor namespace; killed if the test ends before it does.
struct Process(Option<Child>);

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn live_lab_finds_every_device() {
    let missing: Vec<&str> = [
        ("ip", "-V"),
        ("python3", "--version"),
        ("lldpd", "-v"),
        ("dnsmasq", "--version"),
        ("udhcpc", "--help"),
        ("avahi-daemon", "--version"),
    ]
    .into_iter()
    .filter(|(tool, arg)| !have(tool, arg))
    .map(|(tool, _)| tool)
    .collect();
    if !missing.is_empty() {
        eprintln!("skipped: the lab needs {} (not installed)", missing.join(", "));
        return;
    }
    let tag = format!("t{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let dir_str = dir.path().to_str().unwrap().to_string();
    // `net` takes itself down when a step fails, so a refusal leaves nothing behind.
    if let Err(e) = lab(&["net", &tag, &dir_str]) {
        eprintln!("skipped: cannot build the lab's network namespaces ({e}); this test needs root");
        return;
    }
    let _lab = Lab { tag: tag.clone(), dir };
    let sensor = format!("cl-sensor-{tag}");

    let started = Instant::now();
    let agent = Command::new("ip")
        .args(["netns", "exec", &sensor, BIN, "neighbors", "--interface", "eth0", "--duration", "15"])
        .args(["--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut agent = Process(Some(agent));
    // Let the agent open its capture before the devices come up.
    std::thread::sleep(Duration::from_millis(700));
    lab(&["start", &tag, &dir_str]).unwrap();
    while started.elapsed() < Duration::from_secs(13) {
        std::thread::sleep(Duration::from_secs(3));
        lab(&["poke", &tag]).unwrap();
    }
    let out = agent.0.take().unwrap().wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "census-agent neighbors --interface failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    let got = from_agent(&json);

    // Every disagreement before failing.
    let mut problems = Vec::new();
    let want_macs: BTreeSet<String> = DEVICES.iter().map(|d| d.mac.to_string()).collect();
    let got_macs: BTreeSet<String> = got.keys().cloned().collect();
    if got_macs != want_macs {
        problems.push(format!("the agent's MACs {got_macs:?}, the lab's {want_macs:?}"));
    }
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    for d in DEVICES {
        let Some((g, raw)) = got.get(d.mac) else { continue };
        let mut differ = |what: &str, g: &dyn std::fmt::Debug, w: &dyn std::fmt::Debug, same: bool| {
            if !same {
                problems.push(format!("{what} of the {} ({}): agent {g:?}, lab {w:?}\n    {raw}", d.label, d.mac));
            }
        };
        let (ipv4, ipv6, names, protocols) = (set(d.ipv4), set(d.ipv6), set(d.names), set(d.protocols));
        differ("IPv4", &g.ipv4, &ipv4, g.ipv4 == ipv4);
        differ("IPv6", &g.ipv6, &ipv6, g.ipv6 == ipv6);
        differ("names", &g.names, &names, g.names == names);
        differ("protocols", &g.protocols, &protocols, g.protocols == protocols);
        // The kernel hands a live reader the 802.1Q tag out of band (PACKET_AUXDATA); the agent
        // puts it back, so only the tagged phone has a VLAN.
        let vlans: BTreeSet<u64> = if d.mac == "02:c1:00:00:00:0a" { [10].into() } else { BTreeSet::new() };
        differ("VLANs", &g.vlans, &vlans, g.vlans == vlans);
        differ("interface", &raw["interface"], &"eth0", raw["interface"] == "eth0");
        for (key, part) in d.attributes {
            let found = raw["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["key"] == *key && a["value"].as_str().is_some_and(|v| v.contains(part)));
            differ("attributes", &raw["attributes"], &format!("{key} with {part:?}"), found);
        }
    }
    assert!(problems.is_empty(), "the agent missed what the lab's devices revealed:\n{}", problems.join("\n"));
    eprintln!("live lab: all {} devices found in {:.0?}", DEVICES.len(), started.elapsed());
}
