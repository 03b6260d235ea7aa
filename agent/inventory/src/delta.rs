//! Delta reports: what changed between two inventories of one host, and applying it.
//!
//! **Canonical form.** Every keyed list is ordered by its item key; items that share a key keep
//! their relative order (a stable sort), so the canonical form of a list is unique given the
//! list. Unkeyed lists (`warnings`, DNS servers and search domains, default routes, CPU flags,
//! the addresses of an interface, ...) keep their order: it means something (resolver order) or
//! they are part of a section that is replaced whole. The state hash (`census_proto::convert::
//! state_hash`) is SHA-256 of the protobuf encoding of the canonical form.
//!
//! **Keys** (chosen so that what normally changes in place is one item changing):
//!
//! | list | key |
//! |---|---|
//! | `software` | (source, name, arch, location): an upgrade changes one item |
//! | `neighbors` | mac |
//! | `security_products` | id |
//! | `network.interfaces` | name |
//! | `network.listening` | (protocol, address, port) |
//! | `hardware.disks` | name |
//! | `hardware.memory_devices` | (locator, bank) |
//! | `hardware.processors` | socket |
//! | `hardware.pci_devices`, `hardware.gpus` | address |
//! | `hardware.usb_devices` | bus_path |
//! | `hardware.batteries` | name |
//!
//! A key need not be unique (an rpm host may keep two `kernel` packages of one arch): all items
//! of one key form a *group*, and a delta replaces groups, never single items of a group.
//!
//! **Delta.** Scalar sections (`os`, `identifiers`, hardware's non-list fields, network's
//! unkeyed fields, `warnings`, `declared`) are present only when they changed and then replace the old
//! value whole. Each keyed list carries `upserts` (every item of each group that is new or
//! changed) and `removed` (one item per group that disappeared, with only its key fields set).
//!
//! [`apply`] is total: a removed key absent from the base, a key removed twice, or a key both
//! removed and upserted is an error, never a panic.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{
    Battery, Declared, Disk, Hardware, HostIdentifiers, Interface, Inventory, ListeningSocket, MemoryDevice, Neighbor,
    Network, OperatingSystem, Package, PciDevice, Processor, SecurityProduct, UsbDevice, Warning,
};

/// Changes to one keyed list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Changes<T> {
    /// Every item of each group (items sharing a key) that is new or changed; the group
    /// replaces the base's group of that key.
    pub upserts: Vec<T>,
    /// One item per group that is gone, only its key fields set.
    pub removed: Vec<T>,
}

impl<T> Default for Changes<T> {
    fn default() -> Self {
        Self { upserts: Vec::new(), removed: Vec::new() }
    }
}

impl<T> Changes<T> {
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty() && self.removed.is_empty()
    }
}

/// What changed between two inventories. `base_sha256` and `result_sha256` are the state hashes
/// of the inventory the delta applies to and of the one it produces; this module does not
/// compute them (see `census_proto::convert::state_hash`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InventoryDelta {
    pub base_sha256: Vec<u8>,
    pub result_sha256: Vec<u8>,
    pub os: Option<OperatingSystem>,
    pub identifiers: Option<HostIdentifiers>,
    /// Hardware's non-list fields (cpu, memory_total_bytes, dmi, tpm_version); its lists are
    /// empty here and ignored.
    pub hardware: Option<Hardware>,
    /// Network's unkeyed fields (default_routes, dns_servers, dns_search); `interfaces` and
    /// `listening` are empty here and ignored.
    pub network: Option<Network>,
    pub warnings: Option<Vec<Warning>>,
    pub declared: Option<Declared>,
    pub software: Changes<Package>,
    pub neighbors: Changes<Neighbor>,
    pub interfaces: Changes<Interface>,
    pub listening: Changes<ListeningSocket>,
    pub disks: Changes<Disk>,
    pub memory_devices: Changes<MemoryDevice>,
    pub processors: Changes<Processor>,
    pub pci_devices: Changes<PciDevice>,
    pub usb_devices: Changes<UsbDevice>,
    pub gpus: Changes<PciDevice>,
    pub batteries: Changes<Battery>,
    pub security_products: Changes<SecurityProduct>,
}

impl InventoryDelta {
    /// Nothing changed (the hashes are not looked at): a heartbeat says as much.
    pub fn is_empty(&self) -> bool {
        self.os.is_none()
            && self.identifiers.is_none()
            && self.hardware.is_none()
            && self.network.is_none()
            && self.warnings.is_none()
            && self.declared.is_none()
            && self.software.is_empty()
            && self.neighbors.is_empty()
            && self.interfaces.is_empty()
            && self.listening.is_empty()
            && self.disks.is_empty()
            && self.memory_devices.is_empty()
            && self.processors.is_empty()
            && self.pci_devices.is_empty()
            && self.usb_devices.is_empty()
            && self.gpus.is_empty()
            && self.batteries.is_empty()
            && self.security_products.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeltaError {
    #[error("{section}: removes {key}, which the base does not have")]
    NotInBase { section: &'static str, key: String },
    #[error("{section}: removes {key} twice")]
    RemovedTwice { section: &'static str, key: String },
    #[error("{section}: both removes and upserts {key}")]
    RemovedAndUpserted { section: &'static str, key: String },
}

/// An item of a keyed list.
pub trait Keyed: Clone + PartialEq {
    type Key: Ord + Clone + std::fmt::Debug;
    fn key(&self) -> Self::Key;
    /// The order of `key()`, without building the keys.
    fn cmp_key(&self, other: &Self) -> std::cmp::Ordering;
    /// A copy with only the key fields set (how a removal travels).
    fn key_only(&self) -> Self;
}

macro_rules! keyed {
    ($t:ty, $($f:ident),+) => {
        impl Keyed for $t {
            type Key = ($(keyed!(@ty $t, $f),)+);
            fn key(&self) -> Self::Key {
                ($(self.$f.clone(),)+)
            }
            fn cmp_key(&self, other: &Self) -> std::cmp::Ordering {
                std::cmp::Ordering::Equal$(.then_with(|| self.$f.cmp(&other.$f)))+
            }
            fn key_only(&self) -> Self {
                Self { $($f: self.$f.clone(),)+ ..Default::default() }
            }
        }
    };
    (@ty $t:ty, port) => { u32 };
    (@ty $t:ty, $f:ident) => { String };
}

keyed!(Package, source, name, arch, location);
keyed!(Neighbor, mac);
keyed!(SecurityProduct, id);
keyed!(Interface, name);
keyed!(ListeningSocket, protocol, address, port);
keyed!(Disk, name);
keyed!(MemoryDevice, locator, bank);
keyed!(Processor, socket);
keyed!(PciDevice, address);
keyed!(UsbDevice, bus_path);
keyed!(Battery, name);

fn groups<T: Keyed>(items: &[T]) -> BTreeMap<T::Key, Vec<T>> {
    let mut map: BTreeMap<T::Key, Vec<T>> = BTreeMap::new();
    for item in items {
        map.entry(item.key()).or_default().push(item.clone());
    }
    map
}

/// `items` ordered by key, items of one key in their original order.
pub fn sort_keyed<T: Keyed>(items: &mut [T]) {
    items.sort_by(T::cmp_key);
}

fn sorted<T: Keyed>(items: &[T]) -> bool {
    items.is_sorted_by(|a, b| a.cmp_key(b).is_le())
}

/// `[f(<borrow> inv.list), ...]` over every keyed list of an inventory: the one place that
/// names the lists canonical order covers.
macro_rules! keyed_lists {
    ($f:ident ($($borrow:tt)+) $inv:ident) => {
        [
            $f($($borrow)+ $inv.software),
            $f($($borrow)+ $inv.neighbors),
            $f($($borrow)+ $inv.network.interfaces),
            $f($($borrow)+ $inv.network.listening),
            $f($($borrow)+ $inv.hardware.disks),
            $f($($borrow)+ $inv.hardware.memory_devices),
            $f($($borrow)+ $inv.hardware.processors),
            $f($($borrow)+ $inv.hardware.pci_devices),
            $f($($borrow)+ $inv.hardware.usb_devices),
            $f($($borrow)+ $inv.hardware.gpus),
            $f($($borrow)+ $inv.hardware.batteries),
            $f($($borrow)+ $inv.security_products),
        ]
    };
}

/// Whether `inv` is in its canonical form already (as agents send it), checked without copying.
pub fn is_canonical(inv: &Inventory) -> bool {
    keyed_lists!(sorted(&) inv).into_iter().all(|ok| ok)
}

/// The canonical form of `inv`: every keyed list ordered by its key (stable).
pub fn canonical(inv: &Inventory) -> Inventory {
    let mut c = inv.clone();
    keyed_lists!(sort_keyed(&mut) c);
    c
}

fn diff_list<T: Keyed>(old: &[T], new: &[T]) -> Changes<T> {
    let (old, new) = (groups(old), groups(new));
    let mut changes = Changes::default();
    for (key, group) in &new {
        if old.get(key) != Some(group) {
            changes.upserts.extend(group.iter().cloned());
        }
    }
    for (key, group) in &old {
        if !new.contains_key(key) {
            changes.removed.push(group[0].key_only());
        }
    }
    changes
}

fn apply_list<T: Keyed>(section: &'static str, base: &[T], changes: &Changes<T>) -> Result<Vec<T>, DeltaError> {
    let mut map = groups(base);
    let mut removed = BTreeSet::new();
    for stub in &changes.removed {
        let key = stub.key();
        if map.remove(&key).is_none() {
            let key = format!("{key:?}");
            return Err(if removed.contains(&stub.key()) {
                DeltaError::RemovedTwice { section, key }
            } else {
                DeltaError::NotInBase { section, key }
            });
        }
        removed.insert(key);
    }
    let mut upserted: BTreeMap<T::Key, Vec<T>> = BTreeMap::new();
    for item in &changes.upserts {
        let key = item.key();
        if removed.contains(&key) {
            return Err(DeltaError::RemovedAndUpserted { section, key: format!("{key:?}") });
        }
        upserted.entry(key).or_default().push(item.clone());
    }
    map.extend(upserted);
    Ok(map.into_values().flatten().collect())
}

/// Hardware without its lists (the part a delta replaces whole).
fn hardware_scalars(h: &Hardware) -> Hardware {
    Hardware {
        cpu: h.cpu.clone(),
        memory_total_bytes: h.memory_total_bytes,
        dmi: h.dmi.clone(),
        tpm_version: h.tpm_version.clone(),
        ..Default::default()
    }
}

/// Network without its keyed lists (the part a delta replaces whole).
fn network_scalars(n: &Network) -> Network {
    Network {
        default_routes: n.default_routes.clone(),
        dns_servers: n.dns_servers.clone(),
        dns_search: n.dns_search.clone(),
        ..Default::default()
    }
}

fn changed<T: PartialEq + Clone>(old: &T, new: &T) -> Option<T> {
    (old != new).then(|| new.clone())
}

/// What turns `old` into `new` (hashes left empty for the caller to fill).
pub fn diff(old: &Inventory, new: &Inventory) -> InventoryDelta {
    let (oh, nh) = (&old.hardware, &new.hardware);
    InventoryDelta {
        base_sha256: Vec::new(),
        result_sha256: Vec::new(),
        os: changed(&old.os, &new.os),
        identifiers: changed(&old.identifiers, &new.identifiers),
        hardware: changed(&hardware_scalars(oh), &hardware_scalars(nh)),
        network: changed(&network_scalars(&old.network), &network_scalars(&new.network)),
        warnings: changed(&old.warnings, &new.warnings),
        declared: changed(&old.declared, &new.declared),
        software: diff_list(&old.software, &new.software),
        neighbors: diff_list(&old.neighbors, &new.neighbors),
        interfaces: diff_list(&old.network.interfaces, &new.network.interfaces),
        listening: diff_list(&old.network.listening, &new.network.listening),
        disks: diff_list(&oh.disks, &nh.disks),
        memory_devices: diff_list(&oh.memory_devices, &nh.memory_devices),
        processors: diff_list(&oh.processors, &nh.processors),
        pci_devices: diff_list(&oh.pci_devices, &nh.pci_devices),
        usb_devices: diff_list(&oh.usb_devices, &nh.usb_devices),
        gpus: diff_list(&oh.gpus, &nh.gpus),
        batteries: diff_list(&oh.batteries, &nh.batteries),
        security_products: diff_list(&old.security_products, &new.security_products),
    }
}

/// Applies `delta` to `base`. The result is in canonical form. The hashes are not checked
/// here (the caller compares them with the state hash of `base` and of the result).
pub fn apply(base: &Inventory, delta: &InventoryDelta) -> Result<Inventory, DeltaError> {
    let mut out = base.clone();
    if let Some(os) = &delta.os {
        out.os = os.clone();
    }
    if let Some(ids) = &delta.identifiers {
        out.identifiers = ids.clone();
    }
    if let Some(w) = &delta.warnings {
        out.warnings = w.clone();
    }
    if let Some(d) = &delta.declared {
        out.declared = d.clone();
    }
    if let Some(h) = &delta.hardware {
        let hw = &mut out.hardware;
        hw.cpu = h.cpu.clone();
        hw.memory_total_bytes = h.memory_total_bytes;
        hw.dmi = h.dmi.clone();
        hw.tpm_version = h.tpm_version.clone();
    }
    if let Some(n) = &delta.network {
        let net = &mut out.network;
        net.default_routes = n.default_routes.clone();
        net.dns_servers = n.dns_servers.clone();
        net.dns_search = n.dns_search.clone();
    }
    out.software = apply_list("software", &base.software, &delta.software)?;
    out.neighbors = apply_list("neighbors", &base.neighbors, &delta.neighbors)?;
    out.security_products = apply_list("security_products", &base.security_products, &delta.security_products)?;
    let (bn, bh) = (&base.network, &base.hardware);
    out.network.interfaces = apply_list("network.interfaces", &bn.interfaces, &delta.interfaces)?;
    out.network.listening = apply_list("network.listening", &bn.listening, &delta.listening)?;
    let hw = &mut out.hardware;
    hw.disks = apply_list("hardware.disks", &bh.disks, &delta.disks)?;
    hw.memory_devices = apply_list("hardware.memory_devices", &bh.memory_devices, &delta.memory_devices)?;
    hw.processors = apply_list("hardware.processors", &bh.processors, &delta.processors)?;
    hw.pci_devices = apply_list("hardware.pci_devices", &bh.pci_devices, &delta.pci_devices)?;
    hw.usb_devices = apply_list("hardware.usb_devices", &bh.usb_devices, &delta.usb_devices)?;
    hw.gpus = apply_list("hardware.gpus", &bh.gpus, &delta.gpus)?;
    hw.batteries = apply_list("hardware.batteries", &bh.batteries, &delta.batteries)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cpu, IpAddress};

    #[test]
    fn cmp_key_orders_as_the_keys_do_and_is_canonical_sees_order() {
        let mut items = vec![pkg("zlib", "1"), pkg("bash", "5"), pkg("bash", "4"), pkg("apt", "2")];
        items[1].arch = "arm64".into();
        items[3].source = "rpm".into();
        for a in &items {
            for b in &items {
                assert_eq!(a.cmp_key(b), a.key().cmp(&b.key()), "{a:?} {b:?}");
            }
        }
        let inv = Inventory { software: items, ..Default::default() };
        assert!(!is_canonical(&inv));
        let c = canonical(&inv);
        assert!(is_canonical(&c));
        let names: Vec<_> = c.software.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
        // Stable: the two bash versions (amd64 "4" sorts before arm64 "5" by arch) keep key order.
        assert_eq!(names, [("bash", "4"), ("bash", "5"), ("zlib", "1"), ("apt", "2")]);
    }

    fn pkg(name: &str, version: &str) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            arch: "amd64".into(),
            source: "dpkg".into(),
            purl: format!("pkg:deb/debian/{name}@{version}"),
            ..Default::default()
        }
    }

    fn iface(name: &str, addr: &str) -> Interface {
        Interface {
            name: name.into(),
            mac: "52:54:00:00:00:01".into(),
            mtu: 1500,
            addresses: vec![IpAddress { address: addr.into(), prefix_len: 24, scope: "global".into() }],
            ..Default::default()
        }
    }

    fn sock(port: u32, pid: u32) -> ListeningSocket {
        ListeningSocket { protocol: "tcp".into(), address: "0.0.0.0".into(), port, process: "p".into(), pid }
    }

    fn neighbor(mac: &str, last_seen: i64) -> Neighbor {
        Neighbor { mac: mac.into(), last_seen, ipv4: vec!["192.0.2.1".into()], ..Default::default() }
    }

    /// A handful of varied inventories, each a small step from the one before.
    fn fixtures() -> Vec<Inventory> {
        let base = Inventory {
            os: OperatingSystem { name: "Debian".into(), hostname: "web-01".into(), ..Default::default() },
            hardware: Hardware {
                cpu: Cpu { model: "Xeon".into(), logical: 4, ..Default::default() },
                memory_total_bytes: 1 << 30,
                disks: vec![Disk { name: "sda".into(), size_bytes: 10, ..Default::default() }],
                batteries: vec![Battery { name: "BAT0".into(), capacity_percent: 80, ..Default::default() }],
                pci_devices: vec![PciDevice { address: "0000:00:02.0".into(), ..Default::default() }],
                ..Default::default()
            },
            network: Network {
                interfaces: vec![iface("lo", "127.0.0.1"), iface("eth0", "192.0.2.10")],
                dns_servers: vec!["192.0.2.53".into()],
                listening: vec![sock(22, 10), sock(80, 11)],
                ..Default::default()
            },
            software: vec![pkg("zlib1g", "1.2"), pkg("openssl", "3.0.1"), pkg("bash", "5.2")],
            warnings: vec![Warning { source: "dpkg".into(), message: "m".into() }],
            neighbors: vec![neighbor("aa:bb:cc:00:00:01", 10)],
            security_products: vec![SecurityProduct {
                id: "osquery".into(),
                installed: true,
                running: true,
                service: "enabled".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut v = vec![Inventory::default(), base.clone()];
        let mut next = base.clone();
        next.software.push(pkg("curl", "8.0"));
        v.push(next.clone());
        next.software.retain(|p| p.name != "zlib1g");
        next.software[0].version = "3.0.2".into();
        v.push(next.clone());
        // Two installed copies of one key (rpm installonly kernels), then one of them goes.
        next.software.push(Package { source: "rpm".into(), ..pkg("kernel", "6.1") });
        next.software.push(Package { source: "rpm".into(), ..pkg("kernel", "6.2") });
        v.push(next.clone());
        next.software.retain(|p| p.version != "6.1");
        next.network.listening[0].pid = 99;
        next.network.interfaces.reverse();
        next.hardware.batteries[0].capacity_percent = 79;
        next.neighbors.push(neighbor("aa:bb:cc:00:00:02", 20));
        next.neighbors[0].last_seen = 30;
        next.security_products[0].running = false;
        next.security_products.insert(0, SecurityProduct { id: "clamav".into(), ..Default::default() });
        v.push(next.clone());
        next.os.kernel = "6.2".into();
        next.network.dns_servers.push("192.0.2.54".into());
        next.hardware.tpm_version = "2.0".into();
        next.warnings.clear();
        next.identifiers.machine_id.value = "abc".into();
        next.hardware.disks.clear();
        next.hardware.usb_devices.push(UsbDevice { bus_path: "1-2".into(), ..Default::default() });
        next.hardware.gpus.push(PciDevice { address: "0000:00:02.0".into(), ..Default::default() });
        next.hardware.memory_devices.push(MemoryDevice { locator: "A1".into(), ..Default::default() });
        next.hardware.processors.push(Processor { socket: "CPU0".into(), ..Default::default() });
        next.security_products.retain(|p| p.id != "osquery");
        v.push(next);
        v
    }

    #[test]
    fn apply_of_diff_gives_the_new_inventory_for_every_pair() {
        let all = fixtures();
        for (i, old) in all.iter().enumerate() {
            for (j, new) in all.iter().enumerate() {
                let d = diff(old, new);
                assert_eq!(d.is_empty(), canonical(old) == canonical(new), "{i}->{j}");
                let got = apply(old, &d).unwrap_or_else(|e| panic!("{i}->{j}: {e}"));
                assert_eq!(canonical(&got), canonical(new), "{i}->{j}");
                assert_eq!(got, canonical(&got), "apply returns the canonical form");
                // Applying to the canonical base works as well (the collector's stored copy).
                assert_eq!(apply(&canonical(old), &d).unwrap(), got, "{i}->{j}");
            }
        }
    }

    #[test]
    fn one_upgrade_is_one_upsert() {
        let old = Inventory { software: vec![pkg("a", "1"), pkg("b", "1")], ..Default::default() };
        let mut new = old.clone();
        new.software[1] = pkg("b", "2");
        let d = diff(&old, &new);
        assert_eq!(d.software.upserts, [pkg("b", "2")]);
        assert!(d.software.removed.is_empty());
        assert!(d.os.is_none() && d.hardware.is_none() && d.network.is_none());
        new.software.remove(0);
        let d = diff(&old, &new);
        let stub = Package { name: "a".into(), source: "dpkg".into(), arch: "amd64".into(), ..Default::default() };
        assert_eq!(d.software.removed, [stub]);
    }

    #[test]
    fn unchanged_is_empty_even_when_reordered() {
        let all = fixtures();
        let mut shuffled = all[2].clone();
        shuffled.software.reverse();
        shuffled.network.listening.reverse();
        assert!(diff(&all[2], &shuffled).is_empty());
        // Unkeyed lists keep their order: a reordered resolver list is a change.
        shuffled.network.dns_servers.push("192.0.2.1".into());
        shuffled.network.dns_servers.reverse();
        assert!(diff(&all[2], &shuffled).network.is_some());
    }

    #[test]
    fn bad_deltas_are_errors_not_panics() {
        let base = fixtures()[1].clone();
        let stub = |name: &str| Package { name: name.into(), ..pkg(name, "") }.key_only();
        let mut d = InventoryDelta::default();
        d.software.removed = vec![stub("nosuch")];
        assert!(matches!(apply(&base, &d), Err(DeltaError::NotInBase { section: "software", .. })));
        d.software.removed = vec![stub("bash"), stub("bash")];
        assert!(matches!(apply(&base, &d), Err(DeltaError::RemovedTwice { .. })), "{:?}", apply(&base, &d));
        d.software.removed = vec![stub("bash")];
        d.software.upserts = vec![pkg("bash", "9")];
        assert!(matches!(apply(&base, &d), Err(DeltaError::RemovedAndUpserted { .. })));
        let e = apply(&base, &d).unwrap_err().to_string();
        assert!(e.starts_with("software: both removes and upserts (\"dpkg\", \"bash\""), "{e}");
        // Duplicated upserts of one key are one group of two items, not an error.
        d.software.removed.clear();
        d.software.upserts = vec![pkg("bash", "9"), pkg("bash", "9")];
        assert_eq!(apply(&base, &d).unwrap().software.iter().filter(|p| p.name == "bash").count(), 2);
    }
}
