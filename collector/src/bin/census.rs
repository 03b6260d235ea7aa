//! `census`: fleet queries and administration against a collector's API.

use std::path::PathBuf;
use std::process::ExitCode;

use census_collector::api::{CreateEnrollSecret, CreateToken};
use census_collector::cli::{self, Client, Format};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "census", version, about = "census fleet queries and administration")]
struct Cli {
    /// Collector URL, e.g. https://collector.example:8443.
    #[arg(long, global = true, value_name = "URL", env = "CENSUS_SERVER")]
    server: Option<String>,
    /// API token (`census tokens create`; the first admin token is in the collector's data dir,
    /// `admin-token`).
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
    /// List hosts: id, host name, OS, last seen, package count. Filters combine (all must hold).
    Hosts {
        #[command(flatten)]
        filter: Box<HostFilterArgs>,
    },
    /// EDR coverage under the collector's policy (`[coverage]` in collector.toml): how many
    /// assets in scope are protected, with the denominator stated; per group with --by; the
    /// assets to act on with --gaps.
    #[command(args_conflicts_with_subcommands = true)]
    Coverage {
        /// Count per os, subnet, owner, team, environment, tag (each KEY=VALUE), tag:KEY or
        /// product.
        #[arg(long, value_name = "GROUP", conflicts_with_all = ["gaps", "status"])]
        by: Option<String>,
        /// List the assets to act on, worst first (missing, installed-not-running, agent-stale),
        /// with their owner.
        #[arg(long)]
        gaps: bool,
        /// List the assets with these statuses (comma-separated: protected,
        /// installed-not-running, missing, agent-stale, excluded; or all).
        #[arg(long, value_name = "STATUS", conflicts_with = "gaps")]
        status: Option<String>,
        #[command(subcommand)]
        action: Option<CoverageCommand>,
    },
    /// Fleet SLIs: assets by state, report freshness, owner coverage, duplicate rate, tag
    /// compliance against the collector's required tags.
    Fleet,
    /// Retire an asset (it leaves the SLIs; if it reports again it is flagged).
    Retire {
        #[arg(value_name = "ASSET")]
        asset: String,
        #[arg(long)]
        reason: String,
    },
    /// Set an asset's owner, team, cost centre or environment (admin-set values win over what
    /// an agent declares; an empty value clears one).
    Owner {
        #[arg(value_name = "ASSET")]
        asset: String,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        cost_centre: Option<String>,
        #[arg(long)]
        environment: Option<String>,
    },
    /// Set (KEY=VALUE) or remove (--remove KEY) an asset's tags.
    Tag {
        #[arg(value_name = "ASSET")]
        asset: String,
        #[arg(value_name = "KEY=VALUE")]
        set: Vec<String>,
        #[arg(long, value_name = "KEY")]
        remove: Vec<String>,
    },
    /// Show one host's inventory, by id, unique id prefix or unique host name.
    Host {
        #[arg(value_name = "ID")]
        id: String,
        /// Show the host's change history (every event, oldest first) instead of its inventory.
        #[arg(long)]
        history: bool,
    },
    /// Print one host's software inventory as a CycloneDX 1.6 SBOM (by id, unique id prefix or
    /// unique host name). Always JSON: --format does not apply.
    Sbom {
        #[arg(value_name = "ID")]
        id: String,
    },
    /// List changes across the fleet: software installed, removed, upgraded or downgraded;
    /// interfaces and addresses added or removed; hardware and OS changes; ... (oldest first).
    Changes {
        /// Only changes since this long ago (24h, 7d) or since this RFC 3339 time.
        #[arg(long, value_name = "WHEN", default_value = "24h")]
        since: String,
        /// Only these kinds (comma-separated): software, interface, address, hardware, os,
        /// security, agent, lifecycle.
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
        /// Only this host (id, unique id prefix or unique host name).
        #[arg(long, value_name = "ID")]
        host: Option<String>,
        /// At most this many, the newest.
        #[arg(long, value_name = "N", default_value_t = 1000)]
        limit: u32,
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
    Neighbors {
        /// Only devices that are no managed host: neither their MAC nor a globally unique
        /// address of theirs belongs to a host that reports to this collector.
        #[arg(long)]
        unmanaged: bool,
        /// Only devices first heard within this time (7d, 24h) or since this RFC 3339 time.
        #[arg(long, value_name = "WHEN")]
        new: Option<String>,
    },
    /// Assets (machines) and the agents (keys) that report for them: list them, show one (by
    /// asset id, or an agent's id, unique id prefix or unique host name), or merge and split
    /// them (admin token).
    #[command(args_conflicts_with_subcommands = true)]
    Assets {
        #[arg(value_name = "ID")]
        id: Option<String>,
        #[command(subcommand)]
        action: Option<AssetCommand>,
    },
    /// List suspected duplicates with their evidence: suspected clones, agents that matched two
    /// assets, and two agents claiming one machine.
    Duplicates {
        /// An agent still counts as reporting this long after its last report.
        #[arg(long, value_name = "DURATION", default_value = "24h")]
        window: String,
    },
    /// Enroll secrets, which agents present once to enroll (admin token).
    #[command(subcommand)]
    EnrollSecrets(SecretCommand),
    /// API tokens for this CLI and other clients (admin token).
    #[command(subcommand)]
    Tokens(TokenCommand),
    /// Enrolled agents: list, revoke, and the reports each one sent.
    #[command(subcommand)]
    Agents(AgentCommand),
    /// The audit log: every admin action with who, from where and when (admin token).
    Audit {
        /// Only entries since this long ago (24h, 7d) or since this RFC 3339 time.
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
    },
}

/// `census hosts` filters.
#[derive(clap::Args)]
struct HostFilterArgs {
    /// OS id as os-release names it (debian, ubuntu, rhel, ...).
    #[arg(long, value_name = "ID")]
    os: Option<String>,
    /// Lifecycle state of the host's asset: active, stale (silent past the collector's
    /// fleet.stale_after, 7 days by default) or retired.
    #[arg(long, value_name = "STATE")]
    state: Option<String>,
    /// Owner (admin-set, else declared by the agent).
    #[arg(long, value_name = "NAME")]
    owner: Option<String>,
    #[arg(long, value_name = "NAME")]
    team: Option<String>,
    #[arg(long, value_name = "NAME")]
    environment: Option<String>,
    /// A tag, KEY=VALUE or KEY (any value); repeat for several.
    #[arg(long, value_name = "TAG")]
    tag: Vec<String>,
    /// An address inside this network (CIDR).
    #[arg(long, value_name = "CIDR")]
    subnet: Option<String>,
    /// This IP address on one of its interfaces.
    #[arg(long, value_name = "ADDRESS")]
    ip: Option<String>,
    /// This MAC on one of its interfaces (current or permanent).
    #[arg(long, value_name = "MAC")]
    mac: Option<String>,
    /// Has this package (exact name) ...
    #[arg(long, value_name = "NAME")]
    software: Option<String>,
    /// ... in a version satisfying this ('<3', '>=1.1.1,<1.1.1w'); needs --software.
    #[arg(long, value_name = "CONSTRAINT", requires = "software")]
    version: Option<String>,
    /// Reports this security product (catalog id, e.g. crowdstrike-falcon) ...
    #[arg(long, value_name = "ID")]
    product: Option<String>,
    /// ... in this state: installed (the default), running, not-running or absent.
    #[arg(long, value_name = "STATE", requires = "product")]
    product_status: Option<String>,
    /// Coverage status under the policy: protected, installed-not-running, missing,
    /// agent-stale or excluded.
    #[arg(long, value_name = "STATUS")]
    coverage: Option<String>,
}

#[derive(Subcommand)]
enum CoverageCommand {
    /// Take an asset out of the coverage policy, with a reason (admin token).
    Exclude {
        /// Asset id, or an agent's id, unique id prefix or unique host name.
        #[arg(value_name = "ASSET")]
        asset: String,
        #[arg(long)]
        reason: String,
        /// For this long (30d) or until this RFC 3339 time [default: until `include`].
        #[arg(long, value_name = "WHEN")]
        expires: Option<String>,
    },
    /// Put an excluded asset back under the policy (admin token).
    Include {
        #[arg(value_name = "ASSET")]
        asset: String,
    },
}

#[derive(Subcommand)]
enum AssetCommand {
    /// Merge asset FROM into asset INTO: its agents and identifiers move, FROM is kept as merged.
    Merge {
        #[arg(value_name = "INTO")]
        into: String,
        #[arg(value_name = "FROM")]
        from: String,
    },
    /// Move one agent of an asset to a new asset of its own.
    Split {
        #[arg(value_name = "ASSET")]
        asset: String,
        /// The agent to move (id, unique id prefix or unique host name).
        #[arg(long, value_name = "AGENT")]
        agent: String,
    },
}

#[derive(Subcommand)]
enum SecretCommand {
    /// Create an enroll secret and print it (shown only this once).
    Create {
        /// A unique name for it, e.g. the rollout it is for.
        #[arg(long, value_name = "LABEL")]
        label: String,
        /// Valid for this long (7d, 12h) or until this RFC 3339 time [default: never expires].
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// How many agents may enroll with it [default: unlimited].
        #[arg(long, value_name = "N")]
        max_uses: Option<u64>,
    },
    /// List enroll secrets: state (active, expired, exhausted, revoked), uses, expiry.
    List,
    /// Revoke an enroll secret by id or label; agents already enrolled stay enrolled.
    Revoke {
        #[arg(value_name = "ID|LABEL")]
        id: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token and print it (shown only this once).
    Create {
        #[arg(value_name = "NAME")]
        name: String,
        /// reader: queries, agents and metrics; admin: also secrets, tokens, revocation, audit.
        #[arg(long, value_name = "ROLE")]
        role: String,
        /// Valid for this long (30d, 12h) or until this RFC 3339 time [default: never expires].
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// List API tokens: role, state (active, expired, revoked), expiry, last use.
    List,
    /// Revoke an API token by id or name.
    Revoke {
        #[arg(value_name = "ID|NAME")]
        id: String,
    },
}

#[derive(Subcommand)]
enum AgentCommand {
    /// List agents: id, host name, state, enrolment, last sequence applied, last seen.
    List,
    /// Revoke an agent (by id, unique id prefix or unique host name): its reports are refused.
    Revoke {
        #[arg(value_name = "ID")]
        id: String,
        /// Why, for the audit log and `agents list`.
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
    },
    /// List the reports applied from one agent, newest first.
    Reports {
        #[arg(value_name = "ID")]
        id: String,
        #[arg(long, value_name = "N", default_value_t = 20)]
        limit: u32,
    },
}

/// What a command prints: stdout, and a note for stderr (hints that must not end up in a
/// `$(...)` capture of stdout).
struct Printed {
    stdout: String,
    note: Option<String>,
}

impl From<String> for Printed {
    fn from(stdout: String) -> Self {
        Printed { stdout, note: None }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = execute(cli).and_then(|out| {
        census_cmd::print_stdout(&out.stdout)?;
        if let Some(note) = out.note {
            eprintln!("{note}");
        }
        Ok(())
    });
    census_cmd::exit("census", result)
}

fn execute(cli: Cli) -> anyhow::Result<Printed> {
    let server = cli.server.ok_or_else(|| anyhow::anyhow!("no server: pass --server URL or set CENSUS_SERVER"))?;
    let token = cli.token.ok_or_else(|| anyhow::anyhow!("no API token: pass --token or set CENSUS_TOKEN"))?;
    let ca = cli.ca.ok_or_else(|| anyhow::anyhow!("no CA certificate: pass --ca FILE or set CENSUS_CA"))?;
    let client = Client::new(&server, token.trim(), &ca)?;
    let format = cli.format;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        Ok(match cli.command {
            Command::Hosts { filter } => {
                let f = *filter;
                if let Some(v) = &f.version {
                    census_inventory::version::Constraint::parse(v)?;
                }
                let filter = census_collector::cli_coverage::HostFilter {
                    os: f.os,
                    state: f.state,
                    owner: f.owner,
                    team: f.team,
                    environment: f.environment,
                    tags: f.tag,
                    subnet: f.subnet,
                    ip: f.ip,
                    mac: f.mac,
                    software: f.software,
                    version: f.version,
                    product: f.product,
                    product_status: f.product_status,
                    coverage: f.coverage,
                };
                cli::render_hosts(&client.hosts_filtered(&filter).await?, format).into()
            }
            Command::Coverage { action: Some(CoverageCommand::Exclude { asset, reason, expires }), .. } => {
                let req = census_collector::api_coverage::ExceptionRequest { asset, reason, expires };
                cli::render_changed(&client.exclude(&req).await?, "excluded from coverage", format).into()
            }
            Command::Coverage { action: Some(CoverageCommand::Include { asset }), .. } => {
                cli::render_changed(&client.include(&asset).await?, "put back under coverage", format).into()
            }
            Command::Coverage { gaps, status, by, action: None } => {
                if gaps || status.is_some() {
                    let rows = client.coverage_assets(status.as_deref()).await?;
                    census_collector::cli_coverage::render_coverage_assets(&rows, format).into()
                } else {
                    census_collector::cli_coverage::render_coverage(&client.coverage(by.as_deref()).await?, format)
                        .into()
                }
            }
            Command::Fleet => cli::render_fleet(&client.fleet().await?, format).into(),
            Command::Retire { asset, reason } => {
                cli::render_changed(&client.retire(&asset, &reason).await?, "retired", format).into()
            }
            Command::Owner { asset, owner, team, cost_centre, environment } => {
                let update =
                    census_collector::store::lifecycle::OwnershipUpdate { owner, team, cost_centre, environment };
                cli::render_changed(&client.set_owner(&asset, &update).await?, "updated the owner of", format).into()
            }
            Command::Tag { asset, set, remove } => {
                let mut pairs = std::collections::BTreeMap::new();
                for kv in &set {
                    let (k, v) = kv.split_once('=').ok_or_else(|| anyhow::anyhow!("tag {kv:?} is not KEY=VALUE"))?;
                    pairs.insert(k.to_string(), v.to_string());
                }
                let req = census_collector::api_lifecycle::TagsRequest { set: pairs, remove };
                cli::render_changed(&client.set_tags(&asset, &req).await?, "tagged", format).into()
            }
            Command::Host { id, history: true } => {
                cli::render_events(&client.history(&id, None, None, None).await?, format).into()
            }
            Command::Host { id, history: false } => cli::render_host(&client.host(&id).await?, format).into(),
            Command::Sbom { id } => format!("{}\n", serde_json::to_string_pretty(&client.sbom(&id).await?)?).into(),
            Command::Changes { since, kind, host, limit } => {
                let (since, kind) = (Some(since.as_str()), kind.as_deref());
                let events = match host {
                    Some(id) => client.history(&id, since, kind, Some(limit)).await?,
                    None => client.changes(since, kind, Some(limit)).await?,
                };
                cli::render_events(&events, format).into()
            }
            Command::Software { name, version, source } => {
                if let Some(v) = &version {
                    census_inventory::version::Constraint::parse(v)?;
                }
                let rows = client.software(&name, version.as_deref(), source.as_deref()).await?;
                cli::render_software(&rows, format).into()
            }
            Command::Neighbors { unmanaged, new } => {
                let rows = client.neighbors_filtered(unmanaged, new.as_deref()).await?;
                if unmanaged {
                    census_collector::cli_coverage::render_unmanaged(&rows, format).into()
                } else {
                    cli::render_neighbors(&rows, format).into()
                }
            }
            Command::Assets { id: None, action: None } => cli::render_assets(&client.assets().await?, format).into(),
            Command::Assets { id: Some(id), .. } => cli::render_asset(&client.asset(&id).await?, format).into(),
            Command::Assets { action: Some(AssetCommand::Merge { into, from }), .. } => {
                cli::render_asset(&client.merge_assets(&into, &from).await?, format).into()
            }
            Command::Assets { action: Some(AssetCommand::Split { asset, agent }), .. } => {
                cli::render_asset(&client.split_asset(&asset, &agent).await?, format).into()
            }
            Command::Duplicates { window } => cli::render_duplicates(&client.duplicates(&window).await?, format).into(),
            Command::EnrollSecrets(SecretCommand::Create { label, expires, max_uses }) => {
                let created = client.create_enroll_secret(&CreateEnrollSecret { label, expires, max_uses }).await?;
                let note = format!(
                    "census: enroll secret {:?} ({}) created; it is shown only this once. Agents enroll with: \
                     census-agent run --collector {server} --ca ca.pem --enroll-secret SECRET",
                    created.row.label, created.row.id
                );
                Printed { stdout: cli::render_created_enroll_secret(&created, format), note: Some(note) }
            }
            Command::EnrollSecrets(SecretCommand::List) => {
                cli::render_enroll_secrets(&client.enroll_secrets().await?, format).into()
            }
            Command::EnrollSecrets(SecretCommand::Revoke { id }) => {
                let s = client.revoke_enroll_secret(&id).await?;
                match format {
                    Format::Table => cli::revoked_line("enroll secret", &s.label, &s.id),
                    _ => cli::render_enroll_secrets(&[s], format),
                }
                .into()
            }
            Command::Tokens(TokenCommand::Create { name, role, expires }) => {
                let created = client.create_token(&CreateToken { name, role, expires }).await?;
                let note = format!(
                    "census: {} token {:?} ({}) created; it is shown only this once. Use it with --token or \
                     CENSUS_TOKEN",
                    created.row.role.as_str(),
                    created.row.name,
                    created.row.id
                );
                Printed { stdout: cli::render_created_token(&created, format), note: Some(note) }
            }
            Command::Tokens(TokenCommand::List) => cli::render_tokens(&client.tokens().await?, format).into(),
            Command::Tokens(TokenCommand::Revoke { id }) => {
                let t = client.revoke_token(&id).await?;
                match format {
                    Format::Table => cli::revoked_line("token", &t.name, &t.id),
                    _ => cli::render_tokens(&[t], format),
                }
                .into()
            }
            Command::Agents(AgentCommand::List) => cli::render_agents(&client.agents().await?, format).into(),
            Command::Agents(AgentCommand::Revoke { id, reason }) => {
                let a = client.revoke_agent(&id, &reason).await?;
                match format {
                    Format::Table => cli::revoked_line("agent", &a.hostname, &a.id),
                    _ => cli::render_agents(&[a], format),
                }
                .into()
            }
            Command::Agents(AgentCommand::Reports { id, limit }) => {
                cli::render_agent_reports(&client.agent_reports(&id, limit).await?, format).into()
            }
            Command::Audit { since } => cli::render_audit(&client.audit(since.as_deref()).await?, format).into(),
        })
    })
}
