//! `census-collector`: parse the command line, set up logging, call the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use census_collector::server::{self, DEFAULT_LISTEN, ServeConfig};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "census-collector", version, about = "census collector: keeps the fleet inventory")]
struct Cli {
    #[command(flatten)]
    log: census_cmd::LogArgs,
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
    cli.log.init();
    let Command::Serve { listen, data_dir, tls_san } = cli.command;
    let config = ServeConfig { listen, data_dir, tls_san };
    let result = tokio::runtime::Runtime::new()
        .map_err(anyhow::Error::from)
        .and_then(|rt| Ok(rt.block_on(server::serve(config, census_cmd::shutdown_signal()))?));
    census_cmd::exit("census-collector", result)
}
