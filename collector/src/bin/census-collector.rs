//! `census-collector`: parse the command line, set up logging, call the library.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use census_collector::config::CollectorConfig;
use census_collector::server::{self, DEFAULT_CONFIG, ServeConfig};
use clap::{Parser, Subcommand};

/// Fleet-wide queries and the report writer allocate and free millions of small values per call;
/// glibc's allocator spent half of a coverage query consolidating and unlinking chunks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        /// Settings file (TOML: listen, data_dir, tls_san, require_client_cert, [limits]);
        /// flags override it [default: /etc/census/collector.toml when it exists].
        #[arg(long, value_name = "FILE", env = "CENSUS_COLLECTOR_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on; port 0 picks a free port [default: [::]:8443].
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Database, CA, enroll secret and admin token live here [default:
        /// /var/lib/census-collector when it exists, else the per-user data directory].
        #[arg(long, value_name = "DIR", env = "CENSUS_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Another DNS name or IP address agents use to reach this collector (repeatable).
        #[arg(long, value_name = "NAME")]
        tls_san: Vec<String>,
        /// Refuse report streams from connections that do not present the client certificate
        /// the collector issued to that agent at enrollment (mutual TLS).
        #[arg(long)]
        require_client_cert: bool,
        /// Serve plaintext HTTP instead of TLS. Development only: refused unless --listen is a
        /// loopback address.
        #[arg(long)]
        allow_plaintext_loopback: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.log.init();
    let Command::Serve { config, listen, data_dir, tls_san, require_client_cert, allow_plaintext_loopback } =
        cli.command;
    let result = (|| {
        let file = match config {
            Some(path) => CollectorConfig::load(&path)?,
            None if Path::new(DEFAULT_CONFIG).exists() => CollectorConfig::load(Path::new(DEFAULT_CONFIG))?,
            None => CollectorConfig::default(),
        };
        let mut config = ServeConfig::from_file(file);
        if let Some(listen) = listen {
            config.listen = listen;
        }
        if data_dir.is_some() {
            config.data_dir = data_dir;
        }
        config.tls_san.extend(tls_san);
        config.require_client_cert |= require_client_cert;
        config.allow_plaintext_loopback |= allow_plaintext_loopback;
        let rt = tokio::runtime::Runtime::new()?;
        Ok(rt.block_on(server::serve(config, census_cmd::shutdown_signal()))?)
    })();
    census_cmd::exit("census-collector", result)
}
