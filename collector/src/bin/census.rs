//! `census`: fleet queries against a collector's API.

use std::path::PathBuf;
use std::process::ExitCode;

use census_collector::cli::{self, Client, Format};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "census", version, about = "census fleet queries")]
struct Cli {
    /// Collector URL, e.g. https://collector.example:8443.
    #[arg(long, global = true, value_name = "URL", env = "CENSUS_SERVER")]
    server: Option<String>,
    /// Admin API token (the collector's data dir holds it in `admin-token`).
    #[arg(long, global = true, value_name = "TOKEN", env = "CENSUS_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// PEM file with the collector's CA certificate (its data dir holds it in `ca.pem`).
    #[arg(long, global = true, value_name = "FILE", env = "CENSUS_CA")]
    ca: Option<PathBuf>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List hosts: id, host name, OS, last seen, package count.
    Hosts,
    /// Show one host's inventory, by id, unique id prefix or unique host name.
    Host {
        #[arg(value_name = "ID")]
        id: String,
    },
    /// List the hosts that have a package (exact name), with its versions.
    Software {
        #[arg(value_name = "NAME")]
        name: String,
        /// Only versions satisfying this, compared by each package manager's own rules:
        /// '<3.0.7', '>=1.1.1,<1.1.1w', '=2.0', '!=1.0' ("<<" and ">>" are dpkg's < and >).
        #[arg(long, value_name = "CONSTRAINT")]
        version: Option<String>,
        /// Only packages from this source: dpkg, rpm, apk, pacman, snap, flatpak, homebrew,
        /// macos-app, windows, python.
        #[arg(long, value_name = "SOURCE")]
        source: Option<String>,
    },
    /// List the devices agents heard on their networks (passive discovery), by MAC, with the
    /// hosts that heard them.
    Neighbors,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = execute(cli).and_then(|out| Ok(census_cmd::print_stdout(&out)?));
    census_cmd::exit("census", result)
}

fn execute(cli: Cli) -> anyhow::Result<String> {
    let server = cli.server.ok_or_else(|| anyhow::anyhow!("no server: pass --server URL or set CENSUS_SERVER"))?;
    let token = cli.token.ok_or_else(|| anyhow::anyhow!("no admin token: pass --token or set CENSUS_TOKEN"))?;
    let ca = cli.ca.ok_or_else(|| anyhow::anyhow!("no CA certificate: pass --ca FILE or set CENSUS_CA"))?;
    let client = Client::new(&server, token.trim(), &ca)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        Ok(match cli.command {
            Command::Hosts => cli::render_hosts(&client.hosts().await?, cli.format),
            Command::Host { id } => cli::render_host(&client.host(&id).await?, cli.format),
            Command::Software { name, version, source } => {
                if let Some(v) = &version {
                    census_inventory::version::Constraint::parse(v)?;
                }
                let rows = client.software(&name, version.as_deref(), source.as_deref()).await?;
                cli::render_software(&rows, cli.format)
            }
            Command::Neighbors => cli::render_neighbors(&client.neighbors().await?, cli.format),
        })
    })
}
