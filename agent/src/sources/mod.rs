//! One way to add a unit of collection: implement [`Source`] in its own file, add it to
//! [`SOURCES`]. Its tests sit beside it and run against fixture roots in `agent/testdata/`.

use census_inventory::{Inventory, Warning};

use crate::catalog::Catalog;
use crate::host::Host;

pub mod apk;
pub mod devices;
pub mod dpkg;
pub mod firmware;
pub mod flatpak;
pub mod hardware;
pub mod homebrew;
pub mod identifiers;
pub mod macos_apps;
pub mod network;
pub mod os;
pub mod pacman;
pub mod platform;
pub mod purl;
pub mod python;
pub mod rpm;
pub mod security;
pub mod snap;
pub mod sockets;
pub mod windows_programs;

/// Collects warnings for one source.
pub struct Warnings<'a> {
    source: &'static str,
    out: &'a mut Vec<Warning>,
}

impl Warnings<'_> {
    pub fn push(&mut self, message: impl Into<String>) {
        self.out.push(Warning { source: self.source.to_string(), message: message.into() });
    }
}

/// A reader of one part of the host.
///
/// `collect` fills its part of the inventory with whatever it could read. Anything it could not
/// read becomes a warning; it never fails the whole inventory and never panics on host data.
pub trait Source: Sync {
    /// Stable short name, used to attribute warnings.
    fn name(&self) -> &'static str;
    fn collect(&self, host: &Host, inventory: &mut Inventory, warnings: &mut Warnings<'_>);
}

/// Reads `rel` (at most `max` bytes) and parses it. A read or parse problem becomes one warning
/// naming the file; an absent file pushes `if_missing` when given, and is silence otherwise.
pub(crate) fn read_parsed<T, E: std::fmt::Display>(
    host: &Host,
    rel: &str,
    max: u64,
    parse: impl FnOnce(&[u8]) -> Result<T, E>,
    if_missing: Option<String>,
    w: &mut Warnings<'_>,
) -> Option<T> {
    match host.read_limited(rel, max) {
        Ok(bytes) => parse(&bytes).map_err(|e| w.push(format!("{rel}: {e}"))).ok(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(message) = if_missing {
                w.push(message);
            }
            None
        }
        Err(e) => {
            w.push(format!("{rel}: {e}"));
            None
        }
    }
}

/// Visible (not dot-prefixed) entries of directory `rel`, sorted; a directory that does not
/// exist is nothing, one that cannot be listed is a warning.
pub(crate) fn list_visible(host: &Host, rel: &str, w: &mut Warnings<'_>) -> Vec<String> {
    match host.list_dir(rel) {
        Ok(names) => names.into_iter().filter(|n| !n.starts_with('.')).collect(),
        Err(e) => {
            w.push(format!("{rel}: {e}"));
            Vec::new()
        }
    }
}

/// Every source, in the order they run. `os` runs first: package sources read `inventory.os`
/// for their purl `distro` qualifier. `platform` reads what `hardware` and `firmware` found;
/// `identifiers` reads what `os`, `firmware`, `platform` and `network` found.
pub static SOURCES: &[&dyn Source] = &[
    &os::Os,
    &hardware::Hardware,
    &firmware::Firmware,
    &devices::Devices,
    &platform::Platform,
    &network::Network,
    &sockets::Sockets,
    &identifiers::Identifiers,
    &dpkg::Dpkg,
    &rpm::Rpm,
    &apk::Apk,
    &pacman::Pacman,
    &snap::Snap,
    &flatpak::Flatpak,
    &homebrew::Homebrew,
    &macos_apps::MacosApps,
    &python::Python,
];

/// Runs every source against `host`, security products from the built-in catalog.
pub fn collect(host: &Host) -> Inventory {
    collect_with(host, builtin_catalog())
}

/// The catalog shipped with the agent, parsed once.
pub fn builtin_catalog() -> &'static Catalog {
    static BUILTIN: std::sync::LazyLock<Catalog> = std::sync::LazyLock::new(Catalog::builtin);
    &BUILTIN
}

/// Runs every source against `host`, then [`security::Security`] over `catalog` (it reads the
/// packages the others found).
pub fn collect_with(host: &Host, catalog: &Catalog) -> Inventory {
    let mut inventory = Inventory::default();
    let mut warnings = Vec::new();
    let security = security::Security(catalog);
    for source in SOURCES.iter().copied().chain([&security as &dyn Source]) {
        let mut w = Warnings { source: source.name(), out: &mut warnings };
        source.collect(host, &mut inventory, &mut w);
    }
    inventory.warnings = warnings;
    inventory
}

/// Runs one source, returning what it filled and its warnings (for tests).
#[cfg(test)]
pub(crate) fn collect_one(source: &dyn Source, host: &Host) -> (Inventory, Vec<Warning>) {
    let mut inventory = Inventory::default();
    let mut warnings = Vec::new();
    source.collect(host, &mut inventory, &mut Warnings { source: source.name(), out: &mut warnings });
    (inventory, warnings)
}

/// Opens a fixture root from `agent/testdata/roots/NAME` (for tests).
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> Host {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/roots").join(name);
    Host::open(&path).unwrap()
}
