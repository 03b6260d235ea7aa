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
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, global = true, default_value = "info", env = "CENSUS_LOG")]
    log_level: tracing::Level,
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
    tracing_subscriber::fmt()
        .with_max_level(cli.log_level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("census-agent: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn execute(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Inventory { root, format } => {
            let host = census_agent::host::Host::open(&root)?;
            let inv = census_agent::sources::collect(&host);
            print!("{}", render::inventory(&inv, format));
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
            rt.block_on(run::run(cfg, shutdown_signal()))?;
            Ok(())
        }
    }
}

/// The error and those of its causes whose text it does not already contain, on one line.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line = format!("{line}: {text}");
        }
    }
    line
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
