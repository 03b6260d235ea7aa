//! What one host is: the domain types the agent's sources produce and the collector stores.
//!
//! These types know nothing of protobuf, files or the network. `census-proto` converts them
//! to and from the wire; the agent's sources fill them; the collector keeps them as JSON.
//! Unknown text values are empty strings and unknown numbers are 0, matching proto3 defaults,
//! so a round trip through the wire is exact. Every struct is `#[serde(default)]`: a document
//! stored before a field existed still reads, with the field empty.

use serde::{Deserialize, Serialize};

pub mod changes;
pub mod delta;
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
    /// The values that tell this machine apart from others, each judged for trust.
    pub identifiers: HostIdentifiers,
    /// Devices this host heard on its links (passive discovery; the agent never transmits).
    pub neighbors: Vec<Neighbor>,
    /// Ownership and tags the host's admin declared in the agent's configuration.
    pub declared: Declared,
    /// Endpoint security products found from the agent's catalog, keyed by catalog id.
    pub security_products: Vec<SecurityProduct>,
}

/// An endpoint security product (EDR, EPP, antivirus or security-relevant agent) the agent
/// found on the host by its catalog's evidence, keyed by the catalog id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityProduct {
    /// The catalog's id, e.g. `crowdstrike-falcon`.
    pub id: String,
    pub name: String,
    pub vendor: String,
    /// `edr`, `epp`, `av` or `visibility`.
    pub category: String,
    /// The version of the installed package that matched; empty when no package did.
    pub version: String,
    /// A package, install path or unit file of the product is present.
    pub installed: bool,
    /// A process of the product is running.
    pub running: bool,
    /// The state of its service unit: `enabled`, `disabled`, `masked`; empty when it has none.
    pub service: String,
    /// What matched, one line each (`package falcon-sensor 7.18.0`, `path /opt/...`,
    /// `process falcon-sensor`, `unit falcon-sensor.service enabled`), in catalog order.
    pub evidence: Vec<String>,
}

/// Ownership and tags declared in the agent's configuration (`[declared]` in agent.toml). The
/// collector keeps them apart from the values its admins set, which win.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Declared {
    pub owner: String,
    pub team: String,
    pub cost_centre: String,
    pub environment: String,
    /// Free tags, sorted by key, keys unique.
    pub tags: Vec<Tag>,
}

/// The longest ownership value, tag key or tag value, in bytes.
pub const MAX_LABEL_LEN: usize = 128;
/// The most tags one host may declare.
pub const MAX_DECLARED_TAGS: usize = 64;

/// Checks an ownership value or a tag value: at most [`MAX_LABEL_LEN`] bytes, no control
/// characters. The error names `what`.
pub fn check_label(what: &str, value: &str) -> Result<(), String> {
    if value.len() > MAX_LABEL_LEN {
        return Err(format!("{what} is longer than {MAX_LABEL_LEN} bytes"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{what} {value:?} has control characters"));
    }
    Ok(())
}

/// Checks a tag key: 1 to [`MAX_LABEL_LEN`] bytes of letters, digits and `- _ . : /`.
pub fn check_tag_key(key: &str) -> Result<(), String> {
    if key.is_empty()
        || key.len() > MAX_LABEL_LEN
        || !key.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c))
    {
        return Err(format!("tag key {key:?} must be 1 to {MAX_LABEL_LEN} letters, digits and - _ . : / only"));
    }
    Ok(())
}

impl Declared {
    /// Checks every value ([`check_label`], [`check_tag_key`]), and that there are at most
    /// [`MAX_DECLARED_TAGS`] tags, sorted by key with no key twice.
    pub fn check(&self) -> Result<(), String> {
        for (name, value) in self.fields() {
            check_label(name, value)?;
        }
        if self.tags.len() > MAX_DECLARED_TAGS {
            return Err(format!("{} tags, more than {MAX_DECLARED_TAGS}", self.tags.len()));
        }
        for t in &self.tags {
            check_tag_key(&t.key)?;
            check_label(&format!("tag {}", t.key), &t.value)?;
        }
        if let Some(w) = self.tags.windows(2).find(|w| w[0].key >= w[1].key) {
            return Err(format!("tags are not sorted by key with each key once (at {:?})", w[1].key));
        }
        Ok(())
    }

    /// Nothing declared.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The ownership fields by name: owner, team, cost_centre, environment.
    pub fn fields(&self) -> [(&'static str, &str); 4] {
        [
            ("owner", &self.owner),
            ("team", &self.team),
            ("cost_centre", &self.cost_centre),
            ("environment", &self.environment),
        ]
    }
}

/// One free tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A device heard on the local network, keyed by MAC.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Neighbor {
    /// Lower-case colon-separated.
    pub mac: String,
    /// IEEE OUI owner, when known.
    pub vendor: String,
    /// Interface it was heard on.
    pub interface: String,
    /// 802.1Q VLAN ids it was seen tagged with.
    pub vlans: Vec<u32>,
    pub ipv4: Vec<String>,
    pub ipv6: Vec<String>,
    /// Names it announced (DHCP hostname, mDNS host, LLDP system name, NetBIOS name), deduplicated.
    pub names: Vec<String>,
    /// Protocols it was heard speaking: arp, ndp, dhcp, dhcpv6, mdns, lldp, cdp, ssdp, nbns, or
    /// `kernel` for an entry only in the kernel's neighbour table.
    pub protocols: Vec<String>,
    /// Unix seconds.
    pub first_seen: i64,
    pub last_seen: i64,
    /// router, switch, printer, phone, access-point, media, computer, ... ; empty when unknown.
    pub kind_hint: String,
    /// Everything else it revealed, key and value (`vendor_class`, `service`, `system_description`,
    /// `port`, `capabilities`, `server`, `workgroup`, ...), sorted and deduplicated.
    pub attributes: Vec<NeighborAttribute>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(default)]
pub struct NeighborAttribute {
    pub key: String,
    pub value: String,
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
    /// Fully qualified name from the hostname or the hosts file (no DNS query); empty when
    /// the host has none.
    pub fqdn: String,
    /// Hypervisor, named as `systemd-detect-virt --vm` names it (`kvm`, `qemu`, `vmware`,
    /// `microsoft`, `xen`, `oracle`, `amazon`, `google`, ...); empty on bare metal.
    pub virtualization: String,
    /// Container runtime, as `systemd-detect-virt --container` names it (`docker`, `podman`,
    /// `lxc`, `systemd-nspawn`, `wsl`, ...); empty when not in a container.
    pub container: String,
    /// Cloud provider judged from DMI strings only (`aws`, `gcp`, `azure`, ...); empty when
    /// none is recognised.
    pub cloud: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hardware {
    pub cpu: Cpu,
    pub memory_total_bytes: u64,
    pub disks: Vec<Disk>,
    pub dmi: Dmi,
    /// SMBIOS type 17: one entry per memory slot, populated or not.
    pub memory_devices: Vec<MemoryDevice>,
    /// SMBIOS type 4: one entry per processor socket.
    pub processors: Vec<Processor>,
    pub pci_devices: Vec<PciDevice>,
    pub usb_devices: Vec<UsbDevice>,
    /// Display controllers among the PCI devices (class 0x03).
    pub gpus: Vec<PciDevice>,
    pub batteries: Vec<Battery>,
    /// TPM spec version (`2.0`, `1.2`); empty when the kernel shows no TPM.
    pub tpm_version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cpu {
    pub model: String,
    pub vendor: String,
    pub logical: u32,
    pub cores: u32,
    pub sockets: u32,
    /// The flags that matter to security and capacity questions (virtualisation, AES, AVX,
    /// SGX, ...), in cpuinfo's spelling, sorted; not the full list.
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Disk {
    pub name: String,
    pub model: String,
    pub size_bytes: u64,
    pub rotational: bool,
    pub removable: bool,
    pub serial: String,
    /// How the disk is attached: `nvme`, `sata`, `scsi`, `usb`, `virtio`, `mmc`, ...
    pub transport: String,
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
    pub product_sku: String,
    pub product_family: String,
    pub board_serial: String,
    pub board_asset_tag: String,
    pub chassis_vendor: String,
    pub chassis_serial: String,
    pub chassis_asset_tag: String,
    /// Where the values came from: `smbios` (the raw table), `sysfs` (`/sys/class/dmi/id`),
    /// or empty when neither was readable.
    pub source: String,
    /// Fields that exist but only root may read (serials and the UUID on most kernels).
    pub root_only: Vec<String>,
}

/// One memory slot (SMBIOS type 17). Texts are as dmidecode prints them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryDevice {
    /// Slot name (`DIMM_A1`, `ChannelA-DIMM0`).
    pub locator: String,
    pub bank: String,
    /// 0 for an empty slot.
    pub size_bytes: u64,
    /// `DDR4`, `LPDDR5`, `RAM`, ...
    pub kind: String,
    pub form_factor: String,
    /// MT/s; 0 when unknown.
    pub speed_mts: u32,
    pub manufacturer: String,
    pub serial: String,
    pub part_number: String,
}

/// One processor socket (SMBIOS type 4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Processor {
    pub socket: String,
    pub manufacturer: String,
    pub version: String,
    pub cores: u32,
    pub threads: u32,
    pub max_speed_mhz: u32,
}

/// A PCI function from `sys/bus/pci/devices`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PciDevice {
    /// Domain:bus:device.function, `0000:00:02.0`.
    pub address: String,
    /// 24-bit class code, `0x030000`.
    pub class: String,
    /// 4 lowercase hex digits each.
    pub vendor_id: String,
    pub device_id: String,
    /// Names from pci.ids when installed; empty otherwise.
    pub vendor_name: String,
    pub device_name: String,
    /// Bound kernel driver; empty when none.
    pub driver: String,
}

/// A USB device from `sys/bus/usb/devices` (interfaces and root hubs' ports excluded).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UsbDevice {
    /// Kernel name, `1-2.1`.
    pub bus_path: String,
    pub vendor_id: String,
    pub product_id: String,
    /// From usb.ids when installed, else the device's own strings.
    pub vendor_name: String,
    pub product_name: String,
    pub serial: String,
}

/// A battery from `sys/class/power_supply`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Battery {
    pub name: String,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    /// `Li-ion`, `Li-poly`, ...
    pub technology: String,
    /// `Charging`, `Discharging`, `Full`, `Not charging`, `Unknown`.
    pub status: String,
    /// Charge now, percent.
    pub capacity_percent: u32,
    /// Full-charge capacity over design capacity, percent; 0 when unknown.
    pub health_percent: u32,
    pub cycle_count: u32,
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
    /// TCP sockets in LISTEN and bound UDP sockets.
    pub listening: Vec<ListeningSocket>,
}

/// A socket waiting for traffic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListeningSocket {
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Local address (`0.0.0.0`, `::`, `127.0.0.1`).
    pub address: String,
    pub port: u32,
    /// Owning process's command name, when the agent may read it; empty otherwise.
    pub process: String,
    /// 0 when unknown.
    pub pid: u32,
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
    /// `physical`, `wireless`, `loopback`, `bridge`, `bond`, `vlan`, `veth`, `macvlan`,
    /// `tunnel`, `tun`, `dummy`, or `virtual` when nothing more exact is known.
    pub kind: String,
    /// The burned-in MAC; empty when the link has none or it cannot be read.
    pub permanent_mac: String,
    /// Link speed in Mb/s; 0 when unknown or down.
    pub speed_mbps: u32,
    /// `full`, `half`, or empty when unknown.
    pub duplex: String,
    pub driver: String,
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

/// A value that may identify a machine, judged for trust.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Identifier {
    pub value: String,
    /// A placeholder that identifies nothing ("To Be Filled By O.E.M.", an all-zero UUID).
    pub generic: bool,
    /// Read inside a container: it is the host's value, not this container's.
    pub inherited: bool,
}

/// A MAC address offered as an identifier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MacIdentifier {
    pub interface: String,
    pub mac: String,
    /// The U/L bit is set: assigned by software, so it can change or repeat across clones.
    pub locally_administered: bool,
    /// All zeros, or a multicast address: identifies nothing.
    pub generic: bool,
}

/// Everything that tells machines apart. An unset value has an empty `value`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HostIdentifiers {
    pub smbios_uuid: Identifier,
    pub system_serial: Identifier,
    pub chassis_serial: Identifier,
    pub board_serial: Identifier,
    pub machine_id: Identifier,
    /// Permanent MACs of physical (and wireless) interfaces.
    pub macs: Vec<MacIdentifier>,
}
