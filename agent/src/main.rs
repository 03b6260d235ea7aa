//! `census-agent`: parse the command line, set up logging, call the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use census_agent::render::{self, Format};
use census_agent::run::{self, RunConfig};
use clap::{Parser, Subcommand};

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
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Enroll with a collector and stream signed reports to it.
    Run {
        /// Collector URL, e.g. https://collector.example:8443.
        #[arg(long, value_name = "URL", env = "CENSUS_COLLECTOR")]
        collector: String,
        /// PEM file with the collector's CA certificate (the only CA trusted).
        #[arg(long, value_name = "FILE", env = "CENSUS_CA")]
        ca: PathBuf,
        /// Enroll secret; needed only until the agent is enrolled.
        #[arg(long, value_name = "SECRET", env = "CENSUS_ENROLL_SECRET", hide_env_values = true)]
        enroll_secret: Option<String>,
        /// Where the agent keeps its key and state [default: /var/lib/census-agent when it
        /// exists, else the per-user data directory].
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// Seconds between reports (a random 0-10% is added).
        #[arg(long, value_name = "SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=604_800))]
        interval: u64,
        /// Read the host's files under DIR instead of /.
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
        /// Send one report, wait for its acknowledgement and exit.
        #[arg(long)]
        once: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.log.init();
    census_cmd::exit("census-agent", execute(cli.command))
}

fn execute(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Inventory { root, format } => {
            let host = census_agent::host::Host::open(&root)?;
            let inv = census_agent::sources::collect(&host);
            census_cmd::print_stdout(&render::inventory(&inv, format))?;
            Ok(())
        }
        Command::Run { collector, ca, enroll_secret, state_dir, interval, root, once } => {
            let cfg = RunConfig {
                collector,
                ca,
                enroll_secret,
                state_dir,
                interval: Duration::from_secs(interval),
                root,
                once,
            };
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(run::run(cfg, census_cmd::shutdown_signal()))?;
            Ok(())
        }
    }
}
