//! census-agent: reads the host through an injectable root, builds an [`Inventory`], and streams
//! signed reports to a collector.
//!
//! - [`host`]: the injectable root every source reads through.
//! - [`sources`]: the [`sources::Source`] trait and the static list of sources.
//! - [`catalog`]: the catalog of endpoint security products and the evidence that shows each.
//! - [`state`]: key, enrollment and sequence kept in the state directory.
//! - [`client`]: TLS channel, enrollment, the report stream.
//! - [`config`]: the configuration file (`run --config`).
//! - [`spool`]: the on-disk spool of reports not yet acknowledged.
//! - [`run`]: the agent loop (`census-agent run`).
//! - [`render`]: the `inventory` command's output.
//! - [`neighbors`]: the `neighbors` command (capture file, live capture, kernel tables).
//!
//! [`Inventory`]: census_inventory::Inventory

pub mod catalog;
pub mod client;
pub mod config;
pub mod host;
pub mod neighbors;
pub mod netlink;
pub mod render;
pub mod run;
pub mod smbios;
pub mod sources;
pub mod spool;
pub mod state;
