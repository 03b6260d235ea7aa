//! Neighbours travel the whole path: a signed report carrying the devices an agent heard, the
//! real collector storing them per agent, and `census neighbors` merging them by MAC with the
//! hosts that heard each one.

use std::path::Path;

use census_agent::client::{self, ReportStream};
use census_agent::host::Host;
use census_e2e::{Collector, fixture_root, stderr};
use census_inventory::{Neighbor, NeighborAttribute};
use census_proto::signing::AgentKey;
use census_proto::v1::{Report, report::Body};

fn printer(ip: &str, protocol: &str, seen: i64) -> Neighbor {
    Neighbor {
        mac: "3c:2a:f4:01:02:03".into(),
        vendor: "Brother Industries, LTD.".into(),
        interface: "eth0".into(),
        ipv4: vec![ip.into()],
        names: vec!["BRN3C2AF4010203".into()],
        protocols: vec![protocol.into()],
        first_seen: seen,
        last_seen: seen + 30,
        kind_hint: "printer".into(),
        attributes: vec![NeighborAttribute { key: "service".into(), value: "_ipp._tcp".into() }],
        ..Default::default()
    }
}

async fn report_as(collector: &Collector, hostname: &str, neighbors: Vec<Neighbor>) {
    let mut grpc = client::connect(&collector.url, Path::new(&collector.ca())).await.unwrap();
    let key = AgentKey::generate().unwrap();
    grpc.enroll(collector.enroll_request(&key, hostname)).await.expect("enrollment");
    let mut inventory = census_agent::sources::collect(&Host::open(&fixture_root()).unwrap());
    inventory.os.hostname = hostname.into();
    inventory.neighbors = neighbors;
    let report = Report {
        agent_id: key.agent_id(),
        sequence: 1,
        collected_at: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
        agent_version: "test".into(),
        body: Some(Body::Full((&inventory).into())),
    };
    let mut stream = ReportStream::open(&mut grpc).await.unwrap();
    stream.send(key.sign(&report)).await.expect("report acknowledged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neighbors_heard_by_two_agents_are_one_device_with_both_sightings() {
    let collector = Collector::start();
    report_as(&collector, "alpha", vec![printer("192.0.2.40", "arp", 1_700_000_000)]).await;
    report_as(&collector, "bravo", vec![printer("192.0.2.40", "mdns", 1_700_000_100)]).await;

    let out = collector.census(&["neighbors", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let p = &rows[0];
    assert_eq!(p["mac"], "3c:2a:f4:01:02:03");
    assert_eq!(p["ipv4"], serde_json::json!(["192.0.2.40"]));
    assert_eq!(p["protocols"], serde_json::json!(["arp", "mdns"]));
    assert_eq!(p["first_seen"], 1_700_000_000);
    assert_eq!(p["last_seen"], 1_700_000_130);
    let by: Vec<&str> = p["seen_by"].as_array().unwrap().iter().map(|s| s["hostname"].as_str().unwrap()).collect();
    assert_eq!(by, vec!["alpha", "bravo"]);

    let table = String::from_utf8(collector.census(&["neighbors"]).stdout).unwrap();
    let line = table.lines().nth(1).unwrap();
    assert!(
        line.contains("3c:2a:f4:01:02:03") && line.contains("printer") && line.contains("alpha (eth0), bravo (eth0)"),
        "{table}"
    );
}

/// Deletes the namespaces it names on drop.
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = std::process::Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn ip(args: &[&str]) -> bool {
    std::process::Command::new("ip").args(args).status().is_ok_and(|s| s.success())
}

/// A running agent, listening as `run` does by default, reports the device it heard to a
/// collector, all inside two network namespaces this test creates: the agent's (with the
/// collector on its loopback) and a peer's, joined by a veth pair. The peer's only traffic is
/// what makes its kernel ARP for a documentation address.
#[test]
fn a_running_agent_reports_the_neighbours_it_hears() {
    let pid = std::process::id();
    let (agent_ns, peer_ns) = (format!("ce-agent-{pid}"), format!("ce-peer-{pid}"));
    if !ip(&["netns", "add", &agent_ns]) {
        eprintln!("skipped: cannot create network namespaces (needs root)");
        return;
    }
    let _cleanup = Namespaces(vec![agent_ns.clone(), peer_ns.clone()]);
    assert!(ip(&["netns", "add", &peer_ns]));
    assert!(ip(&[
        "link", "add", "ce-a", "netns", &agent_ns, "type", "veth", "peer", "name", "ce-p", "netns", &peer_ns
    ]));
    assert!(ip(&["-n", &peer_ns, "link", "set", "ce-p", "address", "02:ce:00:00:00:02"]));
    for (ns, dev) in [(&agent_ns, "ce-a"), (&agent_ns, "lo"), (&peer_ns, "ce-p")] {
        assert!(ip(&["-n", ns, "link", "set", dev, "up"]));
    }
    assert!(ip(&["-n", &peer_ns, "addr", "add", "192.0.2.77/24", "dev", "ce-p"]));

    let collector = Collector::start_in_netns(&agent_ns);
    let state = tempfile::tempdir().unwrap();
    let mut agent = collector
        .command("census-agent")
        .args(["run", "--interval", "1", "--collector", &collector.url, "--ca", &collector.ca(), "--state-dir"])
        .arg(state.path())
        .args(["--enroll-secret", &collector.file("enroll-secret")])
        .env("CENSUS_LOG", "warn")
        .spawn()
        .expect("start census-agent run");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let found = loop {
        // The peer's kernel ARPs for an address nobody has: a broadcast the agent hears.
        let _ = std::process::Command::new("ip")
            .args(["netns", "exec", &peer_ns, "bash", "-c", "echo > /dev/udp/192.0.2.99/9"])
            .stderr(std::process::Stdio::null())
            .status();
        let out = collector.census(&["neighbors", "--format", "json"]);
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        // The peer may be heard first by its IPv6 neighbour discovery, with no IPv4 yet: wait
        // for the report that carries its ARP.
        let hit = rows.as_array().and_then(|r| {
            r.iter()
                .find(|n| n["mac"] == "02:ce:00:00:00:02" && n["ipv4"] == serde_json::json!(["192.0.2.77"]))
                .cloned()
        });
        if hit.is_some() || std::time::Instant::now() > deadline {
            break hit;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let _ = agent.kill();
    let _ = agent.wait();
    let n = found.expect("the peer's MAC and address reached the collector within 30 s");
    assert_eq!(n["ipv4"], serde_json::json!(["192.0.2.77"]));
    let protocols = n["protocols"].as_array().unwrap();
    assert!(protocols.contains(&serde_json::json!("arp")), "{protocols:?}");
    assert_eq!(n["seen_by"][0]["interface"], "ce-a");
}
