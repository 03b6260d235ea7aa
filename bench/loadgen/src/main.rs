//! `census-loadgen`: plays many agents against one collector, the way a fleet does.
//!
//! Every simulated agent has its own Ed25519 key and enrolls for real (with proof of
//! possession), then sends signed reports over real TLS streams: first a full inventory of about
//! `--packages` packages, then heartbeats, then a one-package delta. Reports go out over
//! `--concurrency` connections, each waiting for the collector's acknowledgement (sent after the
//! commit) before its next report, so the rate measured is the rate of durably stored reports.
//! The hosts are a plausible fleet for the fleet queries (openssl versions, security products,
//! networks, neighbours, declared owners): see [`Fleet`].
//!
//! It prints one line per phase: reports, seconds, reports/s, and the ack latency p50/p99, and
//! the encoded sizes of a heartbeat and a full report.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use census_agent::client::{self, CollectorTarget, ReportStream};
use census_inventory::{
    Declared, HostIdentifiers, Identifier, Interface, Inventory, IpAddress, MacIdentifier, Neighbor, NeighborAttribute,
    Network, OperatingSystem, Package, Route, SecurityProduct,
};
use census_proto::signing::AgentKey;
use census_proto::v1::{Heartbeat, Report, SignedReport, report::Body};
use clap::Parser;
use prost::Message;

#[derive(Parser, Debug, Clone)]
#[command(name = "census-loadgen", about = "Plays many census agents against one collector")]
struct Args {
    /// Collector URL.
    #[arg(long)]
    collector: String,
    /// The collector's CA certificate.
    #[arg(long)]
    ca: PathBuf,
    /// Enroll secret with enough uses for every agent.
    #[arg(long)]
    enroll_secret: String,
    /// Simulated agents (each its own key).
    #[arg(long, default_value_t = 1000)]
    agents: usize,
    /// Connections (report streams) used at once: agents reporting at the same moment.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Packages in each full inventory.
    #[arg(long, default_value_t = 800)]
    packages: usize,
    /// Heartbeats each agent sends after its full report (0: no heartbeat phase).
    #[arg(long, default_value_t = 20)]
    heartbeats: usize,
    /// Leave out the last phase (a one-package delta from every agent), e.g. to only populate
    /// a collector.
    #[arg(long)]
    no_delta: bool,
    /// Agents per round: each phase builds and signs the reports of this many agents, then
    /// sends them, round after round, so prebuilt reports (a full one is about 40 KB) stay
    /// bounded for a large fleet. A phase's time is the sum of its rounds' sending times.
    #[arg(long, default_value_t = 10_000)]
    round: usize,
}

struct SimAgent {
    key: AgentKey,
    index: usize,
}

fn identifier(value: String) -> Identifier {
    Identifier { value, ..Default::default() }
}

/// A report's size as the agent sends it: the encoded SignedReport (a full report's inventory
/// zstd-compressed inside it), and in brackets the size it would have with the inventory
/// uncompressed.
fn wire_size(report: &SignedReport) -> anyhow::Result<String> {
    let plain = Report::decode(report.report.as_slice())?;
    let uncompressed = match plain.body {
        Some(Body::FullZstd(bytes)) => {
            let inventory =
                census_proto::convert::inventory_from_zstd(&bytes, usize::MAX).map_err(anyhow::Error::msg)?;
            let unsigned = Report { body: Some(Body::Full(inventory)), ..plain }.encode_to_vec();
            SignedReport { report: unsigned, ..report.clone() }.encoded_len()
        }
        _ => report.encoded_len(),
    };
    Ok(format!("{} bytes [{uncompressed} bytes]", report.encoded_len()))
}

/// How every simulated host is made. Its index decides everything, so a host's inventory is the
/// same each time it is built in one run (the delta phase rebuilds it to diff against).
///
/// Hosts come in groups of [`GROUP`] consecutive indexes, each group on its own IPv4 /24
/// (10.g/256.g%256.0/24) and IPv6 /64 (2001:db8:g/256:g%256::/64) with a gateway, a printer and
/// a camera that no host is. Every host hears [`HOST_NEIGHBORS`] other hosts of its group (at
/// the MACs and addresses those hosts report, so the collector counts them managed) and its
/// group's three devices (unmanaged). Properties drawn per host, independently: openssl
/// 1.1.1w on 30% of hosts (3.0.15 on the rest); CrowdStrike Falcon running on 75%, installed
/// but stopped on 8%, only ClamAV running on 5%, no product on 12%; a declared owner and
/// environment on 60%.
#[derive(Debug, Clone, Copy)]
struct Fleet {
    /// Hosts in the fleet: a host hears only hosts that exist.
    agents: usize,
    /// Packages on each host.
    packages: usize,
    /// Unix seconds that neighbour sightings are dated back from (this run's start).
    epoch: i64,
}

/// Hosts per network.
const GROUP: usize = 250;
/// Other hosts of its network each host hears.
const HOST_NEIGHBORS: usize = 10;
const DAY: i64 = 86_400;
/// Teams that own hosts (declared in the agents' configuration).
const OWNERS: [&str; 6] = ["platform", "payments", "data", "web", "infra", "research"];
const FALCON_VERSION: &str = "7.18.0-17106";
const CLAMAV_VERSION: &str = "1.0.7+dfsg-1~deb12u1";

/// A well-spread number from a host's index and a salt (splitmix64), so that each property is
/// drawn independently of the others and of the index order.
fn mix(index: usize, salt: u64) -> u64 {
    let mut z = (index as u64 ^ salt.wrapping_mul(0xd1b5_4a32_d192_ed03)).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The percentile (0..100) host `index` falls in for the property `salt`.
fn percentile(index: usize, salt: u64) -> u64 {
    mix(index, salt) % 100
}

const SALT_OPENSSL: u64 = 1;
const SALT_SECURITY: u64 = 2;
const SALT_OWNER: u64 = 3;
const SALT_SEEN: u64 = 4;

fn mac_from(oui: [u8; 3], n: usize) -> String {
    let [a, b, c] = oui;
    format!("{a:02x}:{b:02x}:{c:02x}:{:02x}:{:02x}:{:02x}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

/// Host `index`'s eth0 MAC (an Intel OUI), as its interfaces and identifiers report it.
fn host_mac(index: usize) -> String {
    mac_from([0x00, 0x1b, 0x21], index)
}

/// The IPv4 and IPv6 address ending in `last` on `group`'s networks, as canonical text.
fn group_address(group: usize, last: usize) -> (String, String) {
    let (hi, lo) = (group / 256, group % 256);
    (format!("10.{hi}.{lo}.{last}"), format!("2001:db8:{hi:x}:{lo:x}::{last:x}"))
}

/// Host `index`'s addresses: hosts are .2 to .251 of their group (.1 is the gateway, .252 the
/// printer, .253 the camera).
fn host_address(index: usize) -> (String, String) {
    group_address(index / GROUP, 2 + index % GROUP)
}

/// One of the devices every host of a group hears and no host is.
struct Device {
    kind: &'static str,
    oui: [u8; 3],
    vendor: &'static str,
    last: usize,
    name: &'static str,
    protocols: &'static [&'static str],
    attributes: &'static [(&'static str, &'static str)],
}

const DEVICES: [Device; 3] = [
    Device {
        kind: "router",
        oui: [0x24, 0x5a, 0x4c],
        vendor: "Ubiquiti Inc.",
        last: 1,
        name: "gw",
        protocols: &["arp", "lldp", "ndp"],
        attributes: &[("capabilities", "router"), ("system_description", "EdgeRouter 4")],
    },
    Device {
        kind: "printer",
        oui: [0x3c, 0x2a, 0xf4],
        vendor: "Brother Industries, LTD.",
        last: 252,
        name: "printer",
        protocols: &["arp", "mdns", "ndp"],
        attributes: &[("service", "_ipp._tcp")],
    },
    Device {
        kind: "camera",
        oui: [0x44, 0x19, 0xb6],
        vendor: "Hangzhou Hikvision Digital Technology Co.,Ltd.",
        last: 253,
        name: "cam",
        protocols: &["arp", "ssdp"],
        attributes: &[("server", "Linux/3.10 UPnP/1.0 Hikvision")],
    },
];

/// Days since `device` of `group` was first heard: gateways long ago, printers over the last
/// months, and in one group in four a camera that arrived this week (`census neighbors --new 7d`).
fn device_age_days(device: &Device, group: usize) -> i64 {
    match device.kind {
        "router" => 400,
        "printer" => 30 + group as i64 % 90,
        _ if group.is_multiple_of(4) => 1 + (group as i64 / 4) % 6,
        _ => 20 + group as i64 % 40,
    }
}

fn security_product(id: &str, version: &str, running: bool, service: &str) -> SecurityProduct {
    let (name, vendor, category, package, process, unit) = match id {
        "crowdstrike-falcon" => {
            ("CrowdStrike Falcon", "CrowdStrike", "edr", "falcon-sensor", "falcon-sensor", "falcon-sensor.service")
        }
        _ => ("ClamAV", "Cisco Talos (open source)", "av", "clamav-daemon", "clamd", "clamav-daemon.service"),
    };
    let mut evidence = vec![format!("package {package} {version}"), format!("unit {unit} {service}")];
    if running {
        evidence.push(format!("process {process}"));
    }
    SecurityProduct {
        id: id.into(),
        name: name.into(),
        vendor: vendor.into(),
        category: category.into(),
        version: version.into(),
        installed: true,
        running,
        service: service.into(),
        evidence,
    }
}

/// A dpkg package as the agent reports it on Debian 12.
fn deb(name: &str, version: &str, source_package: &str, maintainer: &str, install_time: i64, size: u64) -> Package {
    Package {
        purl: format!("pkg:deb/debian/{name}@{version}?arch=amd64&distro=debian-12"),
        maintainer: maintainer.into(),
        source_package: source_package.into(),
        name: name.into(),
        version: version.into(),
        arch: "amd64".into(),
        source: "dpkg".into(),
        vendor: "Debian".into(),
        install_time,
        installed_size_bytes: size,
        selection: "install".into(),
        location: "/var/lib/dpkg/status".into(),
    }
}

fn address(address: &str, prefix_len: u32, scope: &str) -> IpAddress {
    IpAddress { address: address.into(), prefix_len, scope: scope.into() }
}

impl Fleet {
    /// Host `index`: distinct identifiers (so each is its own machine), `packages` packages
    /// with Debian-like names, versions and purls, and the properties drawn in [`Fleet`].
    fn inventory(&self, index: usize) -> Inventory {
        const STEMS: [&str; 16] = [
            "lib", "python3-", "golang-", "node-", "ruby-", "perl-", "fonts-", "x11-", "gir1.2-", "libgtk-", "openssl",
            "systemd", "util-", "kmod", "gcc-", "texlive-",
        ];
        let install_time = |p: usize| 1_600_000_000 + ((p as i64 * 7_919 + index as i64 * 104_729) % 100_000_000);
        let mut software: Vec<Package> = (0..self.packages)
            .map(|p| {
                let name =
                    format!("{}{}-{p}", STEMS[p % STEMS.len()], ["core", "dev", "common", "data", "utils"][p % 5]);
                let version = format!("{}.{}.{}-{}+deb12u{}", 1 + p % 7, p % 23, p % 11, 1 + p % 3, p % 4);
                // Every field a dpkg inventory fills: source package, maintainer, size, install
                // time (a host's packages installed over a few years), selection.
                let source_package = name.rsplit_once('-').map_or(name.as_str(), |(stem, _)| stem).to_string();
                let maintainer = format!("Debian {} Maintainers <pkg-{source_package}@lists.debian.org>", STEMS[p % 7]);
                deb(
                    &name,
                    &version,
                    &source_package,
                    &maintainer,
                    install_time(p),
                    1024 * (16 + (p as u64 * 2_654_435_761) % 40_000),
                )
            })
            .collect();

        // Security products, and the package each one's evidence names.
        let draw = percentile(index, SALT_SECURITY);
        let security_products = match draw {
            0..75 => vec![security_product("crowdstrike-falcon", FALCON_VERSION, true, "enabled")],
            75..83 => vec![security_product("crowdstrike-falcon", FALCON_VERSION, false, "disabled")],
            83..88 => vec![security_product("clamav", CLAMAV_VERSION, true, "enabled")],
            _ => Vec::new(),
        };
        // Named packages replace generated ones (from the 11th on), so a host keeps `packages`.
        let mut named = vec![{
            let version = if percentile(index, SALT_OPENSSL) < 30 { "1.1.1w-0+deb11u1" } else { "3.0.15-1~deb12u1" };
            deb(
                "openssl",
                version,
                "openssl",
                "Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>",
                install_time(10),
                2_236_416,
            )
        }];
        for p in &security_products {
            named.push(match p.id.as_str() {
                "crowdstrike-falcon" => deb(
                    "falcon-sensor",
                    FALCON_VERSION,
                    "falcon-sensor",
                    "CrowdStrike Inc.",
                    install_time(11),
                    180_355_072,
                ),
                _ => deb(
                    "clamav-daemon",
                    CLAMAV_VERSION,
                    "clamav",
                    "ClamAV Team <pkg-clamav-devel@lists.alioth.debian.org>",
                    install_time(11),
                    1_187_840,
                ),
            });
        }
        let n = software.len();
        for (i, package) in named.into_iter().enumerate() {
            let slot = if 10 + i < n { 10 + i } else { n.checked_sub(1 + i).unwrap_or(usize::MAX) };
            if let Some(s) = software.get_mut(slot) {
                *s = package;
            }
        }

        let mac = host_mac(index);
        let (ipv4, ipv6) = host_address(index);
        let group = index / GROUP;
        let (gateway, _) = group_address(group, 1);
        let interfaces = vec![
            Interface {
                name: "lo".into(),
                mac: "00:00:00:00:00:00".into(),
                mtu: 65_536,
                state: "unknown".into(),
                addresses: vec![address("127.0.0.1", 8, "host"), address("::1", 128, "host")],
                kind: "loopback".into(),
                ..Default::default()
            },
            Interface {
                name: "eth0".into(),
                mac: mac.clone(),
                mtu: 1500,
                state: "up".into(),
                addresses: vec![address(&ipv4, 24, "global"), address(&ipv6, 64, "global")],
                kind: "physical".into(),
                permanent_mac: mac.clone(),
                speed_mbps: 1000,
                duplex: "full".into(),
                driver: "e1000e".into(),
            },
        ];

        // Neighbours: the next hosts of its group (wrapping inside the group, only hosts that
        // exist), then the group's devices.
        let first = group * GROUP;
        let members = GROUP.min(self.agents.saturating_sub(first));
        let seen = |salt_extra: usize| self.epoch - (mix(index, SALT_SEEN + salt_extra as u64) % 900) as i64;
        let mut neighbors: Vec<Neighbor> = (1..=HOST_NEIGHBORS.min(members.saturating_sub(1)))
            .map(|k| {
                let other = first + (index - first + k) % members;
                let (v4, v6) = host_address(other);
                Neighbor {
                    mac: host_mac(other),
                    vendor: "Intel Corporate".into(),
                    interface: "eth0".into(),
                    ipv4: vec![v4],
                    ipv6: vec![v6],
                    names: vec![format!("load-{other:06}")],
                    protocols: vec!["arp".into(), "ndp".into()],
                    first_seen: self.epoch - (10 + (mix(other, SALT_SEEN) % 300) as i64) * DAY,
                    last_seen: seen(k),
                    kind_hint: "computer".into(),
                    attributes: Vec::new(),
                    ..Default::default()
                }
            })
            .collect();
        for (d, device) in DEVICES.iter().enumerate() {
            let (v4, v6) = group_address(group, device.last);
            neighbors.push(Neighbor {
                mac: mac_from(device.oui, group),
                vendor: device.vendor.into(),
                interface: "eth0".into(),
                ipv4: vec![v4],
                ipv6: vec![v6],
                names: vec![format!("{}-{group:03}", device.name)],
                protocols: device.protocols.iter().map(|p| p.to_string()).collect(),
                // Each host heard it at its own moment, within a day of its arrival.
                first_seen: self.epoch - device_age_days(device, group) * DAY + (index % GROUP) as i64 * 300,
                last_seen: seen(HOST_NEIGHBORS + d),
                kind_hint: device.kind.into(),
                attributes: device
                    .attributes
                    .iter()
                    .map(|(k, v)| NeighborAttribute { key: k.to_string(), value: v.to_string() })
                    .collect(),
                ..Default::default()
            });
        }

        let declared = if percentile(index, SALT_OWNER) < 60 {
            let pick = mix(index, SALT_OWNER + 100);
            Declared {
                owner: OWNERS[(pick % OWNERS.len() as u64) as usize].into(),
                environment: if (pick >> 8) % 10 < 7 { "production" } else { "staging" }.into(),
                ..Default::default()
            }
        } else {
            Declared::default()
        };

        Inventory {
            os: OperatingSystem {
                hostname: format!("load-{index:06}"),
                pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
                id: "debian".into(),
                version: "12".into(),
                kernel: "6.1.0-28-amd64".into(),
                arch: "x86_64".into(),
                machine_id: format!("{index:032x}"),
                ..Default::default()
            },
            identifiers: HostIdentifiers {
                smbios_uuid: identifier(format!("4c4c4544-0000-1000-8000-{index:012x}")),
                system_serial: identifier(format!("LOAD{index:08}")),
                machine_id: identifier(format!("{index:032x}")),
                macs: vec![MacIdentifier { interface: "eth0".into(), mac, ..Default::default() }],
                ..Default::default()
            },
            network: Network {
                interfaces,
                default_routes: vec![Route { family: "inet".into(), gateway, interface: "eth0".into(), metric: 100 }],
                ..Default::default()
            },
            software,
            neighbors,
            declared,
            security_products,
            ..Default::default()
        }
    }

    /// The delta that upgrades the first package of host `index`'s inventory, with both state
    /// hashes, as an agent computes it.
    fn one_package_delta(&self, index: usize) -> census_inventory::delta::InventoryDelta {
        let before = self.inventory(index);
        let mut after = before.clone();
        if let Some(p) = after.software.first_mut() {
            p.version.push_str("+1");
        }
        let mut d = census_inventory::delta::diff(&before, &after);
        d.base_sha256 = census_proto::convert::state_hash(&before).to_vec();
        d.result_sha256 = census_proto::convert::state_hash(&after).to_vec();
        d
    }
}

fn report(agent: &SimAgent, sequence: u64, body: Body) -> SignedReport {
    agent.key.sign(&Report {
        agent_id: agent.key.agent_id(),
        sequence,
        collected_at: Some(prost_types::Timestamp::from(SystemTime::now())),
        agent_version: "loadgen".into(),
        body: Some(body),
    })
}

struct Phase {
    name: &'static str,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Phase {
    fn print(&mut self) {
        self.latencies.sort();
        let pct = |p: f64| {
            let i = ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len().max(1)) - 1;
            self.latencies.get(i).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
        };
        let n = self.latencies.len();
        println!(
            "{:<11} {:>8} reports {:>8.2} s {:>10.0} reports/s   ack p50 {:>7.2} ms  p99 {:>7.2} ms",
            self.name,
            n,
            self.elapsed.as_secs_f64(),
            n as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99)
        );
    }
}

/// The reports of `agents` for each of `concurrency` streams (agent i on stream i mod
/// concurrency), built on every core.
fn build(
    agents: &[SimAgent],
    concurrency: usize,
    make: &(impl Fn(&SimAgent) -> Vec<SignedReport> + Sync),
) -> Vec<Vec<SignedReport>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut lists: Vec<Vec<SignedReport>> = vec![Vec::new(); concurrency];
    std::thread::scope(|s| {
        let per = concurrency.div_ceil(threads);
        for (t, part) in lists.chunks_mut(per).enumerate() {
            s.spawn(move || {
                for (i, list) in part.iter_mut().enumerate() {
                    *list = agents.iter().skip(t * per + i).step_by(concurrency).flat_map(make).collect();
                }
            });
        }
    });
    lists
}

/// Runs `make(agent)` for every agent over `concurrency` streams, `round` agents at a time;
/// returns the ack latencies.
async fn phase(
    name: &'static str,
    target: &CollectorTarget,
    agents: &[SimAgent],
    concurrency: usize,
    round: usize,
    make: impl Fn(&SimAgent) -> Vec<SignedReport> + Send + Sync,
) -> anyhow::Result<Phase> {
    let mut total = Phase { name, latencies: Vec::new(), elapsed: Duration::ZERO };
    for agents in agents.chunks(round.max(1)) {
        let lists = tokio::task::block_in_place(|| build(agents, concurrency, &make));
        let part = send(target, lists).await?;
        total.latencies.extend(part.0);
        total.elapsed += part.1;
    }
    Ok(total)
}

/// Sends each list of reports on its own stream; returns the ack latencies and the time from
/// the first send to the last ack.
async fn send(target: &CollectorTarget, lists: Vec<Vec<SignedReport>>) -> anyhow::Result<(Vec<Duration>, Duration)> {
    // Every report is built and signed and every stream opened before the clock starts: the
    // phase measures the collector, not this program's signing (real agents sign on their own
    // machines).
    let mut ready = Vec::new();
    for reports in lists {
        let target = target.clone();
        ready.push(tokio::spawn(async move {
            let grpc = client::connect_to(&target).await?;
            anyhow::Ok((grpc, reports))
        }));
    }
    let mut streams = Vec::new();
    for r in ready {
        streams.push(r.await??);
    }
    let start = Instant::now();
    let mut workers = Vec::new();
    for (mut grpc, reports) in streams {
        workers.push(tokio::spawn(async move {
            let mut stream = ReportStream::open(&mut grpc).await?;
            let mut latencies = Vec::with_capacity(reports.len());
            for r in reports {
                let t = Instant::now();
                stream.send(r).await.context("report not acknowledged")?;
                latencies.push(t.elapsed());
            }
            stream.close().await;
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await??);
    }
    Ok((latencies, start.elapsed()))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let target = CollectorTarget::new(&args.collector, &args.ca)?;
    let agents: Vec<SimAgent> = (0..args.agents)
        .map(|index| Ok(SimAgent { key: AgentKey::generate()?, index }))
        .collect::<anyhow::Result<_>>()?;
    let agents = Arc::new(agents);

    // Enrollment, over the same number of connections.
    let start = Instant::now();
    let mut enrolls = Vec::new();
    for w in 0..args.concurrency {
        let (agents, target, secret) = (agents.clone(), target.clone(), args.enroll_secret.clone());
        enrolls.push(tokio::spawn(async move {
            let mut grpc = client::connect_to(&target).await?;
            for a in agents.iter().skip(w).step_by(args.concurrency) {
                let hostname = format!("load-{:06}", a.index);
                grpc.enroll(census_proto::v1::EnrollRequest {
                    enroll_secret: secret.clone(),
                    public_key: a.key.public_key().to_vec(),
                    proof: a.key.enrollment_proof(&hostname),
                    hostname,
                    agent_version: "loadgen".into(),
                })
                .await
                .context("enrollment refused")?;
            }
            anyhow::Ok(())
        }));
    }
    for e in enrolls {
        e.await??;
    }
    println!("enrolled {} agents in {:.2} s", args.agents, start.elapsed().as_secs_f64());

    let packages = args.packages;
    let epoch = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH)?.as_secs() as i64;
    let fleet = Fleet { agents: args.agents, packages, epoch };
    let full = move |a: &SimAgent| vec![report(a, 1, census_proto::convert::full_zstd(&fleet.inventory(a.index)))];
    let sample_full = full(&agents[0]).remove(0);
    let sample_heartbeat = report(&agents[0], 2, Body::Heartbeat(Heartbeat {}));
    println!(
        "sizes on the wire (encoded SignedReport as the agent sends it; with the inventory uncompressed in brackets): \
         full report {} ({packages} packages), heartbeat {}",
        wire_size(&sample_full)?,
        wire_size(&sample_heartbeat)?
    );
    let (concurrency, round) = (args.concurrency, args.round);
    phase("full", &target, &agents, concurrency, round, full).await?.print();
    let heartbeats = args.heartbeats as u64;
    if heartbeats > 0 {
        let beat =
            move |a: &SimAgent| (0..heartbeats).map(|i| report(a, 2 + i, Body::Heartbeat(Heartbeat {}))).collect();
        phase("heartbeat", &target, &agents, concurrency, round, beat).await?.print();
    }
    if args.no_delta {
        return Ok(());
    }
    // One package upgraded on every host: a delta against the full inventory stored above.
    let after = 2 + heartbeats;
    let delta = move |a: &SimAgent| vec![report(a, after, Body::Delta((&fleet.one_package_delta(a.index)).into()))];
    let sample = delta(&agents[0]).remove(0);
    println!("sizes on the wire: one-package delta {}", wire_size(&sample)?);
    phase("delta", &target, &agents, concurrency, round, delta).await?.print();
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build();
    let result = rt.map_err(anyhow::Error::from).and_then(|rt| rt.block_on(run(args)));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("census-loadgen: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLEET: Fleet = Fleet { agents: 1_000, packages: 800, epoch: 1_800_000_000 };

    #[test]
    fn hosts_hear_their_neighbours_as_those_report_themselves() {
        for index in [0, 9, 249, 250, 999] {
            let inv = FLEET.inventory(index);
            assert_eq!(inv.software.len(), 800);
            assert_eq!(inv.software.iter().filter(|p| p.name == "openssl").count(), 1);
            assert_eq!(inv.neighbors.len(), HOST_NEIGHBORS + DEVICES.len());
            let hosts: Vec<&Neighbor> = inv.neighbors.iter().filter(|n| n.kind_hint == "computer").collect();
            assert_eq!(hosts.len(), HOST_NEIGHBORS);
            for n in hosts {
                let other: usize = n.names[0].trim_start_matches("load-").parse().unwrap();
                assert_ne!(other, index);
                assert_eq!(other / GROUP, index / GROUP);
                let eth0 = &FLEET.inventory(other).network.interfaces[1];
                assert_eq!(n.mac, eth0.mac);
                let addrs: Vec<&str> = eth0.addresses.iter().map(|a| a.address.as_str()).collect();
                assert_eq!(addrs, [n.ipv4[0].as_str(), n.ipv6[0].as_str()]);
            }
            for d in inv.neighbors.iter().filter(|n| n.kind_hint != "computer") {
                assert!(!d.mac.starts_with("00:1b:21"), "{}", d.mac);
            }
        }
        // The last, partial group hears only hosts that exist.
        let small = Fleet { agents: 253, ..FLEET };
        let inv = small.inventory(251);
        assert_eq!(inv.neighbors.iter().filter(|n| n.kind_hint == "computer").count(), 2);
        assert!(inv.neighbors.iter().all(|n| n.names[0] != "load-000253"));
    }

    #[test]
    fn properties_are_spread_as_documented() {
        let n = 5_000;
        let hosts: Vec<Inventory> = (0..n).map(|i| FLEET.inventory(i)).collect();
        let percent = |f: fn(&Inventory) -> bool| hosts.iter().filter(|inv| f(inv)).count() * 100 / n;
        let old_openssl: fn(&Inventory) -> bool =
            |inv| inv.software.iter().any(|p| p.name == "openssl" && p.version.starts_with("1."));
        assert!((27..=33).contains(&percent(old_openssl)));
        let falcon_running: fn(&Inventory) -> bool =
            |inv| inv.security_products.iter().any(|p| p.id == "crowdstrike-falcon" && p.running);
        assert!((72..=78).contains(&percent(falcon_running)));
        assert!((57..=63).contains(&percent(|inv| !inv.declared.owner.is_empty())));
    }

    #[test]
    fn the_delta_leads_from_the_full_inventory_to_the_upgraded_one() {
        let d = FLEET.one_package_delta(7);
        assert_eq!(d.base_sha256, census_proto::convert::state_hash(&FLEET.inventory(7)).to_vec());
        assert_ne!(d.base_sha256, d.result_sha256);
    }
}
