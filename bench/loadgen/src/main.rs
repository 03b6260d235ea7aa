//! `census-loadgen`: plays many agents against one collector, the way a fleet does.
//!
//! Every simulated agent has its own Ed25519 key and enrolls for real (with proof of
//! possession), then sends signed reports over real TLS streams: first a full inventory of about
//! `--packages` packages, then heartbeats. Reports go out over `--concurrency` connections, each
//! waiting for the collector's acknowledgement (sent after the commit) before its next report,
//! so the rate measured is the rate of durably stored reports.
//!
//! It prints one line per phase: reports, seconds, reports/s, and the ack latency p50/p99, and
//! the encoded sizes of a heartbeat and a full report.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use census_agent::client::{self, CollectorTarget, ReportStream};
use census_inventory::{HostIdentifiers, Identifier, Inventory, MacIdentifier, OperatingSystem, Package};
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
    /// Heartbeats each agent sends after its full report.
    #[arg(long, default_value_t = 20)]
    heartbeats: usize,
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

/// A plausible host: distinct identifiers per agent (so each is its own machine) and `packages`
/// packages with Debian-like names, versions and purls.
fn inventory(index: usize, packages: usize) -> Inventory {
    const STEMS: [&str; 16] = [
        "lib", "python3-", "golang-", "node-", "ruby-", "perl-", "fonts-", "x11-", "gir1.2-", "libgtk-", "openssl",
        "systemd", "util-", "kmod", "gcc-", "texlive-",
    ];
    let software = (0..packages)
        .map(|p| {
            let name = format!("{}{}-{p}", STEMS[p % STEMS.len()], ["core", "dev", "common", "data", "utils"][p % 5]);
            let version = format!("{}.{}.{}-{}+deb12u{}", 1 + p % 7, p % 23, p % 11, 1 + p % 3, p % 4);
            // Every field a dpkg inventory fills: source package, maintainer, size, install
            // time (a host's packages installed over a few years), selection.
            let source_package = name.rsplit_once('-').map_or(name.as_str(), |(stem, _)| stem).to_string();
            Package {
                purl: format!("pkg:deb/debian/{name}@{version}?arch=amd64&distro=debian-12"),
                maintainer: format!("Debian {} Maintainers <pkg-{source_package}@lists.debian.org>", STEMS[p % 7]),
                source_package,
                name,
                version,
                arch: "amd64".into(),
                source: "dpkg".into(),
                vendor: "Debian".into(),
                install_time: 1_600_000_000 + ((p as i64 * 7_919 + index as i64 * 104_729) % 100_000_000),
                installed_size_bytes: 1024 * (16 + (p as u64 * 2_654_435_761) % 40_000),
                selection: "install".into(),
                location: "/var/lib/dpkg/status".into(),
            }
        })
        .collect();
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
            macs: vec![MacIdentifier {
                interface: "eth0".into(),
                mac: format!("00:1b:21:{:02x}:{:02x}:{:02x}", (index >> 16) & 0xff, (index >> 8) & 0xff, index & 0xff),
                ..Default::default()
            }],
            ..Default::default()
        },
        software,
        ..Default::default()
    }
}

/// The delta that upgrades the first package of host `index`'s inventory, with both state
/// hashes, as an agent computes it.
fn one_package_delta(index: usize, packages: usize) -> census_inventory::delta::InventoryDelta {
    let before = inventory(index, packages);
    let mut after = before.clone();
    if let Some(p) = after.software.first_mut() {
        p.version.push_str("+1");
    }
    let mut d = census_inventory::delta::diff(&before, &after);
    d.base_sha256 = census_proto::convert::state_hash(&before).to_vec();
    d.result_sha256 = census_proto::convert::state_hash(&after).to_vec();
    d
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

/// Runs `make(agent)` for every agent over `concurrency` streams; returns the ack latencies.
async fn phase(
    name: &'static str,
    target: &CollectorTarget,
    agents: &Arc<Vec<SimAgent>>,
    concurrency: usize,
    make: impl Fn(&SimAgent) -> Vec<SignedReport> + Send + Sync + Clone + 'static,
) -> anyhow::Result<Phase> {
    // Every report is built and signed and every stream opened before the clock starts: the
    // phase measures the collector, not this program's signing (real agents sign on their own
    // machines).
    let mut ready = Vec::new();
    for w in 0..concurrency {
        let reports: Vec<SignedReport> = agents.iter().skip(w).step_by(concurrency).flat_map(&make).collect();
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
    Ok(Phase { name, latencies, elapsed: start.elapsed() })
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
    let full = move |a: &SimAgent| vec![report(a, 1, census_proto::convert::full_zstd(&inventory(a.index, packages)))];
    let sample_full = full(&agents[0]).remove(0);
    let sample_heartbeat = report(&agents[0], 2, Body::Heartbeat(Heartbeat {}));
    println!(
        "sizes on the wire (encoded SignedReport as the agent sends it; with the inventory uncompressed in brackets): \
         full report {} ({packages} packages), heartbeat {}",
        wire_size(&sample_full)?,
        wire_size(&sample_heartbeat)?
    );
    phase("full", &target, &agents, args.concurrency, full).await?.print();
    let heartbeats = args.heartbeats as u64;
    let beat = move |a: &SimAgent| (0..heartbeats).map(|i| report(a, 2 + i, Body::Heartbeat(Heartbeat {}))).collect();
    phase("heartbeat", &target, &agents, args.concurrency, beat).await?.print();
    // One package upgraded on every host: a delta against the full inventory stored above.
    let after = 2 + heartbeats;
    let delta = move |a: &SimAgent| vec![report(a, after, Body::Delta((&one_package_delta(a.index, packages)).into()))];
    let sample = delta(&agents[0]).remove(0);
    println!("sizes on the wire: one-package delta {}", wire_size(&sample)?);
    phase("delta", &target, &agents, args.concurrency, delta).await?.print();
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
