//! `census-agent`: parse the command line, set up logging, call the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use census_agent::config::FileConfig;
use census_agent::neighbors;
use census_agent::render::{self, Format};
use census_agent::run::{self, RunConfig};
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "census-agent",
    version,
    about = "census endpoint agent: inventory this host and report it to a collector"
)]
struct Cli {
    #[command(flatten)]
    log: census_cmd::LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print this host's inventory and exit.
    Inventory {
        /// Read the host's files under DIR instead of /.
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
        /// Security product catalog (TOML) to use instead of the one built into the agent.
        #[arg(long, value_name = "FILE")]
        security_catalog: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List the devices heard on the local network (passive: never transmits).
    ///
    /// From a capture file (--pcap), or a live receive-only capture (--interface) that needs
    /// CAP_NET_RAW; without it, the kernel's neighbour tables are shown instead. A summary of
    /// frames read, parsed and skipped goes to stderr.
    Neighbors {
        /// Replay a pcap or pcapng capture file.
        #[arg(long, value_name = "FILE", conflicts_with = "interface", required_unless_present = "interface")]
        pcap: Option<PathBuf>,
        /// Listen on this interface.
        #[arg(long, value_name = "IF")]
        interface: Option<String>,
        /// Seconds to listen with --interface.
        #[arg(long, value_name = "SECS", default_value_t = 30, requires = "interface", value_parser = clap::value_parser!(u64).range(1..=86_400))]
        duration: u64,
        /// IEEE OUI list (CSV, Debian's ieee-data) for vendor names; vendors stay empty without it.
        #[arg(long, value_name = "FILE", default_value = census_discovery::oui::DEFAULT_PATH)]
        oui: PathBuf,
        #[command(flatten)]
        limits: TableLimits,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Enroll with a collector and stream signed reports to it.
    ///
    /// Options come from the command line, then the environment, then the configuration file
    /// (--config), then the defaults shown here.
    Run(RunArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Configuration file (TOML; packages install /etc/census/agent.toml): every option
    /// below, and the ownership and tags this host declares ([declared]).
    #[arg(long, value_name = "FILE", env = "CENSUS_AGENT_CONFIG")]
    config: Option<PathBuf>,
    /// Collector URL, e.g. https://collector.example:8443.
    #[arg(long, value_name = "URL", env = "CENSUS_COLLECTOR")]
    collector: Option<String>,
    /// PEM file with the collector's CA certificate (the only CA trusted); needed unless
    /// --allow-plaintext.
    #[arg(long, value_name = "FILE", env = "CENSUS_CA")]
    ca: Option<PathBuf>,
    /// Talk plaintext HTTP to a development collector on a loopback address
    /// (`census-collector serve --allow-plaintext-loopback`). Refused for any other address.
    #[arg(long)]
    allow_plaintext: bool,
    /// Enroll secret; needed only until the agent is enrolled.
    #[arg(long, value_name = "SECRET", env = "CENSUS_ENROLL_SECRET", hide_env_values = true)]
    enroll_secret: Option<String>,
    /// Where the agent keeps its key and state [default: /var/lib/census-agent when it
    /// exists, else the per-user data directory].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Time between reports (a random 0-10% is added): a duration such as 30s, 15m, 1h,
    /// 1h30m or 500ms, or a bare number of seconds; from 100ms to 7d.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = run::parse_interval)]
    interval: Duration,
    /// Read the host's files under DIR instead of /.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    /// Collect one report, deliver it with whatever the spool kept from earlier runs, and
    /// exit; non-zero when anything was left undelivered (the spool keeps it for the next
    /// run). (Its neighbours are the kernel's neighbour tables: there is no time to listen.)
    #[arg(long)]
    once: bool,
    /// Do not listen for neighbouring devices. By default the agent listens, receive-only,
    /// on every up interface when it may (CAP_NET_RAW) and the root is /.
    #[arg(long)]
    no_listen: bool,
    /// Send a full inventory at least this often (a duration such as 24h or 7d, or a bare
    /// number of seconds; 0 sends every report in full). In between, reports carry only
    /// what changed since the last one (a delta), or are a small heartbeat when nothing
    /// did. A full inventory is also sent on first contact and when the collector asks.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = run::parse_full_every)]
    full_every: Duration,
    /// Security product catalog (TOML) to use instead of the one built into the agent.
    #[arg(long, value_name = "FILE")]
    security_catalog: Option<PathBuf>,
    #[command(flatten)]
    limits: TableLimits,
    #[command(flatten)]
    spool: SpoolLimits,
}

/// Bounds of the on-disk spool of reports the collector has not acknowledged yet
/// (`<state dir>/spool/`). Past a bound the oldest reports are coalesced into the newest full
/// inventory, with a warning.
#[derive(clap::Args)]
struct SpoolLimits {
    /// Reports kept in the spool at most.
    #[arg(long, value_name = "N", default_value_t = census_agent::spool::Limits::DEFAULT_MAX_REPORTS as u32, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    spool_max_reports: u32,
    /// Total size of the spool at most: bytes, or with a unit (KiB, MiB, GiB, kB, MB, GB). The
    /// newest report is kept even when it alone is larger.
    #[arg(long, value_name = "BYTES", default_value = "64MiB", value_parser = census_agent::spool::parse_size)]
    spool_max_bytes: u64,
}

/// Bounds of the neighbour table, so a flood of random MACs cannot grow it.
#[derive(clap::Args)]
struct TableLimits {
    /// Neighbours kept at most; the least recently seen is dropped for a new one.
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_neighbors: u32,
    /// Seconds a neighbour is kept after it was last heard.
    #[arg(long, value_name = "SECS", default_value_t = 86_400, value_parser = clap::value_parser!(u32).range(1..=31_536_000))]
    neighbor_max_age: u32,
}

impl TableLimits {
    fn limits(&self) -> census_discovery::table::Limits {
        census_discovery::table::Limits {
            max_entries: self.max_neighbors as usize,
            max_age_secs: i64::from(self.neighbor_max_age),
            ..Default::default()
        }
    }
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    cli.log.init();
    let given = |id: &str| {
        matches
            .subcommand_matches("run")
            .is_some_and(|m| matches!(m.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable)))
    };
    census_cmd::exit("census-agent", execute(cli.command, &given))
}

/// `census-agent run`'s options merged with its configuration file: a value given on the
/// command line or in the environment (`given`) wins over the file, which wins over the
/// default.
fn run_config(args: RunArgs, file: FileConfig, given: &dyn Fn(&str) -> bool) -> anyhow::Result<RunConfig> {
    fn pick<T>(flag: T, file: Option<T>, given: bool) -> T {
        if given { flag } else { file.unwrap_or(flag) }
    }
    let RunArgs {
        config: _,
        collector,
        ca,
        allow_plaintext,
        enroll_secret,
        state_dir,
        interval,
        root,
        once,
        no_listen,
        full_every,
        security_catalog,
        limits,
        spool,
    } = args;
    let collector = collector.or(file.collector).ok_or_else(|| {
        anyhow::anyhow!("no collector: give --collector URL, CENSUS_COLLECTOR, or `collector` in the config file")
    })?;
    let allow_plaintext = allow_plaintext || file.allow_plaintext.unwrap_or(false);
    let ca = ca.or(file.ca);
    if ca.is_none() && !allow_plaintext {
        anyhow::bail!("no CA certificate: give --ca FILE, CENSUS_CA, or `ca` in the config file");
    }
    let limits = TableLimits {
        max_neighbors: pick(limits.max_neighbors, file.max_neighbors, given("max_neighbors")),
        neighbor_max_age: pick(limits.neighbor_max_age, file.neighbor_max_age, given("neighbor_max_age")),
    };
    Ok(RunConfig {
        collector,
        ca: ca.unwrap_or_default(),
        allow_plaintext,
        enroll_secret: enroll_secret.or(file.enroll_secret),
        state_dir: state_dir.or(file.state_dir),
        interval: pick(interval, file.interval, given("interval")),
        root: pick(root, file.root, given("root")),
        once,
        listen: !no_listen && file.listen.unwrap_or(true),
        neighbor_limits: limits.limits(),
        spool_limits: census_agent::spool::Limits {
            max_reports: pick(spool.spool_max_reports, file.spool_max_reports, given("spool_max_reports")) as usize,
            max_bytes: pick(spool.spool_max_bytes, file.spool_max_bytes, given("spool_max_bytes")),
        },
        full_every: pick(full_every, file.full_every, given("full_every")),
        declared: file.declared,
        security_catalog: std::sync::Arc::new(catalog(security_catalog.or(file.security_catalog))?),
    })
}

/// The security product catalog at `path`, or the built-in one.
fn catalog(path: Option<PathBuf>) -> anyhow::Result<census_agent::catalog::Catalog> {
    Ok(match path {
        Some(path) => census_agent::catalog::Catalog::load(&path)?,
        None => census_agent::sources::builtin_catalog().clone(),
    })
}

fn execute(command: Command, given: &dyn Fn(&str) -> bool) -> anyhow::Result<()> {
    match command {
        Command::Inventory { root, security_catalog, format } => {
            let catalog = catalog(security_catalog)?;
            let host = census_agent::host::Host::open(&root)?;
            let inv = census_agent::sources::collect_with(&host, &catalog);
            census_cmd::print_stdout(&render::inventory(&inv, format))?;
            Ok(())
        }
        Command::Neighbors { pcap, interface, duration, oui, limits, format } => {
            let input = match (&pcap, &interface) {
                (Some(path), _) => neighbors::Input::Pcap(path),
                (None, Some(name)) => neighbors::Input::Interface { name, duration: Duration::from_secs(duration) },
                (None, None) => unreachable!("clap requires --pcap or --interface"),
            };
            neighbors::run(input, format, &oui, limits.limits())
        }
        Command::Run(args) => {
            let file = match &args.config {
                Some(path) => FileConfig::load(path)?,
                None => FileConfig::default(),
            };
            let cfg = run_config(args, file, given)?;
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(run::run(cfg, census_cmd::shutdown_signal()))?;
            Ok(())
        }
    }
}
