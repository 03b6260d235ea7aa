//! census-collector: keeps the fleet inventory and answers fleet queries.
//!
//! - [`server`]: the one TLS listener (gRPC for agents + HTTP/JSON API).
//! - [`ingest`]: `AgentService`: enrollment, signature and sequence checks, acks.
//! - [`store`]: the [`store::Store`] trait and its SQLite backend.
//! - [`metrics`]: Prometheus counters, limit hits among them.
//! - [`api`]: the query API and its response types.
//! - [`sbom`]: a host's software inventory as a CycloneDX SBOM.
//! - [`cli`]: the `census` command (an HTTP client of the API).
//! - [`config`]: `collector.toml`, every limit and its default.
//! - [`tls`], [`datadir`]: first-run CA, secrets and the data directory.

pub mod api;
pub mod api_coverage;
pub mod api_fleet;
pub mod api_history;
pub mod api_lifecycle;
pub mod cli;
pub mod cli_coverage;
pub mod config;
pub mod coverage;
pub mod datadir;
pub mod ingest;
pub mod lifecycle;
pub mod limits;
pub mod metrics;
pub mod sbom;
pub mod server;
pub mod store;
pub mod tls;
