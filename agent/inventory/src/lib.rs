//! What one host is: the domain types the agent's sources produce and the collector stores.
//!
//! These types know nothing of protobuf, files or the network. `census-proto` converts them
//! to and from the wire; the agent's sources fill them; the collector keeps them as JSON.
//! Unknown text values are empty strings and unknown numbers are 0, matching proto3 defaults,
//! so a round trip through the wire is exact. Every struct is `#[serde(default)]`: a document
//! stored before a field existed still reads, with the field empty.

use serde::{Deserialize, Serialize};

pub mod text;
pub mod version;

/// A full inventory of one host. JSON top-level keys: `os`, `hardware`, `network`,
/// `software`, `warnings`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Inventory {
    pub os: OperatingSystem,
    pub hardware: Hardware,
    pub network: Network,
    pub software: Vec<Package>,
    pub warnings: Vec<Warning>,
}

/// A problem a source met while reading the host. The rest of the report still stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Warning {
    pub source: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OperatingSystem {
    pub name: String,
    pub version: String,
    pub id: String,
    pub pretty_name: String,
    pub kernel: String,
    pub arch: String,
    pub hostname: String,
    pub machine_id: String,
    /// Unix seconds; 0 when unknown.
    pub boot_time: i64,
    /// IANA zone name (`Europe/Berlin`); empty when unknown.
    pub timezone: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hardware {
    pub cpu: Cpu,
    pub memory_total_bytes: u64,
    pub disks: Vec<Disk>,
    pub dmi: Dmi,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cpu {
    pub model: String,
    pub vendor: String,
    pub logical: u32,
    pub cores: u32,
    pub sockets: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Disk {
    pub name: String,
    pub model: String,
    pub size_bytes: u64,
    pub rotational: bool,
    pub removable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Dmi {
    pub sys_vendor: String,
    pub product_name: String,
    pub product_version: String,
    pub product_serial: String,
    pub product_uuid: String,
    pub board_vendor: String,
    pub board_name: String,
    pub bios_vendor: String,
    pub bios_version: String,
    pub bios_date: String,
    pub chassis_type: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Network {
    pub interfaces: Vec<Interface>,
    /// Default routes of the main table, IPv4 and IPv6.
    pub default_routes: Vec<Route>,
    /// Name servers and search domains from resolv.conf (the upstream servers when the file
    /// points at systemd-resolved's local stub).
    pub dns_servers: Vec<String>,
    pub dns_search: Vec<String>,
}

/// A default route: where traffic with no more specific route goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Route {
    /// `inet` or `inet6`.
    pub family: String,
    /// Next hop; empty for a route without a gateway (a point-to-point link).
    pub gateway: String,
    pub interface: String,
    pub metric: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Interface {
    pub name: String,
    pub mac: String,
    pub mtu: u32,
    pub state: String,
    pub addresses: Vec<IpAddress>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IpAddress {
    pub address: String,
    pub prefix_len: u32,
    pub scope: String,
}

/// One installed package, normalised across package managers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Package {
    pub name: String,
    /// The full version as the package manager prints it, with epoch and release/revision where
    /// the format has them (dpkg `1:2.3-4`, rpm `1:2.3-4.el9`).
    pub version: String,
    pub arch: String,
    /// Which database reported it: dpkg, rpm, apk, pacman, snap, flatpak, homebrew, macos-app,
    /// windows, python.
    pub source: String,
    /// Source package, when it differs from name.
    pub source_package: String,
    pub maintainer: String,
    pub vendor: String,
    /// Unix seconds; 0 when unknown.
    pub install_time: i64,
    /// Bytes; 0 when unknown.
    pub installed_size_bytes: u64,
    /// dpkg selection state (install, hold, ...); empty when the format has none.
    pub selection: String,
    /// Package URL (purl spec), empty when the ecosystem has no purl type.
    pub purl: String,
    /// Where it is installed, when that tells installs apart (a per-user flatpak's home, a
    /// Python site-packages directory); empty for system package databases.
    pub location: String,
}
