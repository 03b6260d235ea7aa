//! `census-collector`: parse the command line, set up logging, call the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use census_collector::server::{self, DEFAULT_LISTEN, ServeConfig};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "census-collector", version, about = "census collector: keeps the fleet inventory")]
struct Cli {
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, global = true, default_value = "info", env = "CENSUS_LOG")]
    log_level: tracing::Level,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve agents (gRPC) and fleet queries (HTTP/JSON) on one TLS port.
    Serve {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// Database, CA, enroll secret and admin token live here [default:
        /// /var/lib/census-collector when it exists, else the per-user data directory].
        #[arg(long, value_name = "DIR", env = "CENSUS_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Another DNS name or IP address agents use to reach this collector (repeatable).
        #[arg(long, value_name = "NAME")]
        tls_san: Vec<String>,
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
    let Command::Serve { listen, data_dir, tls_san } = cli.command;
    let result = tokio::runtime::Runtime::new()
        .map_err(anyhow::Error::from)
        .and_then(|rt| Ok(rt.block_on(server::serve(ServeConfig { listen, data_dir, tls_san }, shutdown_signal()))?));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("census-collector: {}", one_line(&e));
            ExitCode::FAILURE
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
    let Ok(mut term) = signal(SignalKind::terminate()) else { return std::future::pending().await };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
