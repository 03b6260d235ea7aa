//! What changed between two inventories of one host, as semantic events: a package installed,
//! removed, upgraded or downgraded; an interface or address added or removed; hardware, OS or
//! firmware values changed. The collector stores each [`Change`] as one history event.
//!
//! Pure code over two inventories, linear in their size (packages are matched through a hash
//! map keyed by their identity).
//!
//! - **First inventory** (`old` is `None`): one `agent`/`first-inventory` event whose subject is
//!   the host name and whose `new` summarises the host; nothing per package, interface or disk
//!   (a host's first report would otherwise be hundreds of `installed` events that say nothing
//!   about change).
//! - **Software**: packages are identified by (source, name, arch, location); `location` is
//!   empty for system package databases, and tells apart copies that live side by side (a
//!   Python package in two site-packages, a per-user and a system flatpak). When an identity
//!   has exactly one copy before and after and the version differs, the event is `upgraded` or
//!   `downgraded` by the source's own ordering ([`crate::version::Scheme::for_source`]), or
//!   `changed` when the ordering calls the two spellings equal (`1.0` and `0:1.0` in dpkg).
//!   Otherwise (several copies, as rpm keeps several kernels) each version that went away is
//!   `removed` and each that came is `installed`, so a kernel update that keeps the old kernel is
//!   one `installed` event, not a misleading upgrade. The subject is `name:arch (source)`
//!   (`:arch` left out when empty, ` at LOCATION` appended when set); `old`/`new` are versions.
//! - **Interfaces** by name: `added`/`removed` (the value is `KIND MAC`), and `changed` for
//!   the `mac` or `kind` of a kept interface (subject `NAME mac` / `NAME kind`). State, MTU and
//!   speed are not history: they flap.
//! - **Addresses** per interface name (an interface that came or went counts as having had no
//!   addresses): `added`/`removed`, subject the interface, value `ADDRESS/PREFIX`.
//! - **Hardware**: `changed` for `cpu model`, `cpu logical`, `cpu cores`, `cpu sockets`,
//!   `memory total_bytes`, the DMI values `dmi sys_vendor`, `dmi product_name`,
//!   `dmi product_serial`, `dmi product_uuid`, `dmi board_serial`, `dmi bios_vendor`,
//!   `dmi bios_version`; disks by name: `added`/`removed` (subject `disk NAME`, value
//!   `MODEL SERIAL SIZE`), `changed` for `disk NAME serial` / `disk NAME size_bytes` /
//!   `disk NAME model`.
//! - **OS**: `changed` for `os pretty_name`, `os version`, `os kernel`, `os hostname`.
//! - **Security products** by catalog id: `appeared`/`disappeared` (subject `NAME (ID)`, value
//!   the product's state, e.g. `7.18.0; installed, running, service enabled`), and `changed`
//!   when its state changed (a sensor stopped, its service disabled, a new version).
//!
//! Changes come in a fixed order: agent, os, hardware, interface, address, software, security;
//! within a kind by subject.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::version::{Scheme, compare};
use crate::{Interface, Inventory, Package, SecurityProduct};

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Software,
    Interface,
    Address,
    Hardware,
    Os,
    Security,
    Agent,
    Lifecycle,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Software,
        Kind::Interface,
        Kind::Address,
        Kind::Hardware,
        Kind::Os,
        Kind::Security,
        Kind::Agent,
        Kind::Lifecycle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Software => "software",
            Kind::Interface => "interface",
            Kind::Address => "address",
            Kind::Hardware => "hardware",
            Kind::Os => "os",
            Kind::Security => "security",
            Kind::Agent => "agent",
            Kind::Lifecycle => "lifecycle",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// `software, interface, ...`: for error messages.
    pub fn names() -> String {
        Kind::ALL.map(Kind::as_str).join(", ")
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Installed,
    Removed,
    Upgraded,
    Downgraded,
    Changed,
    Added,
    Appeared,
    Disappeared,
    Linked,
    Unlinked,
    FirstInventory,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Installed => "installed",
            Action::Removed => "removed",
            Action::Upgraded => "upgraded",
            Action::Downgraded => "downgraded",
            Action::Changed => "changed",
            Action::Added => "added",
            Action::Appeared => "appeared",
            Action::Disappeared => "disappeared",
            Action::Linked => "linked",
            Action::Unlinked => "unlinked",
            Action::FirstInventory => "first-inventory",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One semantic change. `old` is empty for something new, `new` for something gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub kind: Kind,
    pub action: Action,
    pub subject: String,
    pub old: String,
    pub new: String,
}

impl Change {
    fn new(
        kind: Kind,
        action: Action,
        subject: impl Into<String>,
        old: impl Into<String>,
        new: impl Into<String>,
    ) -> Self {
        Change { kind, action, subject: subject.into(), old: old.into(), new: new.into() }
    }
}

/// The changes from `old` (`None`: this is the host's first inventory) to `new`.
pub fn changes(old: Option<&Inventory>, new: &Inventory) -> Vec<Change> {
    let Some(old) = old else {
        let summary = format!(
            "{}; {} packages, {} interfaces",
            if new.os.pretty_name.is_empty() { "unknown OS" } else { &new.os.pretty_name },
            new.software.len(),
            new.network.interfaces.len()
        );
        return vec![Change::new(Kind::Agent, Action::FirstInventory, new.os.hostname.clone(), "", summary)];
    };
    let mut out = Vec::new();
    os(old, new, &mut out);
    hardware(old, new, &mut out);
    interfaces(old, new, &mut out);
    software(&old.software, &new.software, &mut out);
    security(&old.security_products, &new.security_products, &mut out);
    out
}

/// A security product's state as one line: `VERSION; installed, running, service enabled`.
pub fn security_state(p: &SecurityProduct) -> String {
    let mut parts = vec![if p.installed { "installed" } else { "not installed" }];
    parts.push(if p.running { "running" } else { "not running" });
    let service = (!p.service.is_empty()).then(|| format!("service {}", p.service));
    let state = parts.into_iter().map(str::to_string).chain(service).collect::<Vec<_>>().join(", ");
    if p.version.is_empty() { state } else { format!("{}; {state}", p.version) }
}

fn security(old: &[SecurityProduct], new: &[SecurityProduct], out: &mut Vec<Change>) {
    let before: BTreeMap<&str, &SecurityProduct> = old.iter().map(|p| (p.id.as_str(), p)).collect();
    let after: BTreeMap<&str, &SecurityProduct> = new.iter().map(|p| (p.id.as_str(), p)).collect();
    let subject = |p: &SecurityProduct| format!("{} ({})", p.name, p.id);
    for id in before.keys().chain(after.keys()).copied().collect::<BTreeSet<&str>>() {
        match (before.get(id), after.get(id)) {
            (None, Some(p)) => {
                out.push(Change::new(Kind::Security, Action::Appeared, subject(p), "", security_state(p)))
            }
            (Some(p), None) => {
                out.push(Change::new(Kind::Security, Action::Disappeared, subject(p), security_state(p), ""))
            }
            (Some(a), Some(b)) => {
                let (was, is) = (security_state(a), security_state(b));
                if was != is {
                    out.push(Change::new(Kind::Security, Action::Changed, subject(b), was, is));
                }
            }
            (None, None) => {}
        }
    }
}

/// A `changed` event when `old != new`.
fn field<T: PartialEq + ToString>(out: &mut Vec<Change>, kind: Kind, subject: &str, old: &T, new: &T) {
    if old != new {
        out.push(Change::new(kind, Action::Changed, subject, old.to_string(), new.to_string()));
    }
}

fn os(old: &Inventory, new: &Inventory, out: &mut Vec<Change>) {
    let (a, b) = (&old.os, &new.os);
    field(out, Kind::Os, "os pretty_name", &a.pretty_name, &b.pretty_name);
    field(out, Kind::Os, "os version", &a.version, &b.version);
    field(out, Kind::Os, "os kernel", &a.kernel, &b.kernel);
    field(out, Kind::Os, "os hostname", &a.hostname, &b.hostname);
}

fn hardware(old: &Inventory, new: &Inventory, out: &mut Vec<Change>) {
    let (a, b) = (&old.hardware, &new.hardware);
    let k = Kind::Hardware;
    field(out, k, "cpu model", &a.cpu.model, &b.cpu.model);
    field(out, k, "cpu logical", &a.cpu.logical, &b.cpu.logical);
    field(out, k, "cpu cores", &a.cpu.cores, &b.cpu.cores);
    field(out, k, "cpu sockets", &a.cpu.sockets, &b.cpu.sockets);
    field(out, k, "memory total_bytes", &a.memory_total_bytes, &b.memory_total_bytes);
    let (x, y) = (&a.dmi, &b.dmi);
    field(out, k, "dmi sys_vendor", &x.sys_vendor, &y.sys_vendor);
    field(out, k, "dmi product_name", &x.product_name, &y.product_name);
    field(out, k, "dmi product_serial", &x.product_serial, &y.product_serial);
    field(out, k, "dmi product_uuid", &x.product_uuid, &y.product_uuid);
    field(out, k, "dmi board_serial", &x.board_serial, &y.board_serial);
    field(out, k, "dmi bios_vendor", &x.bios_vendor, &y.bios_vendor);
    field(out, k, "dmi bios_version", &x.bios_version, &y.bios_version);

    let before: BTreeMap<&str, &crate::Disk> = a.disks.iter().map(|d| (d.name.as_str(), d)).collect();
    let after: BTreeMap<&str, &crate::Disk> = b.disks.iter().map(|d| (d.name.as_str(), d)).collect();
    let describe = |d: &crate::Disk| join_nonempty(&[&d.model, &d.serial, &d.size_bytes.to_string()]);
    let names: BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
    for name in names {
        let subject = format!("disk {name}");
        match (before.get(name), after.get(name)) {
            (None, Some(d)) => out.push(Change::new(k, Action::Added, subject, "", describe(d))),
            (Some(d), None) => out.push(Change::new(k, Action::Removed, subject, describe(d), "")),
            (Some(x), Some(y)) => {
                field(out, k, &format!("{subject} model"), &x.model, &y.model);
                field(out, k, &format!("{subject} serial"), &x.serial, &y.serial);
                field(out, k, &format!("{subject} size_bytes"), &x.size_bytes, &y.size_bytes);
            }
            (None, None) => {}
        }
    }
}

fn join_nonempty(parts: &[&str]) -> String {
    parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" ")
}

fn interfaces(old: &Inventory, new: &Inventory, out: &mut Vec<Change>) {
    let before: BTreeMap<&str, &Interface> = old.network.interfaces.iter().map(|i| (i.name.as_str(), i)).collect();
    let after: BTreeMap<&str, &Interface> = new.network.interfaces.iter().map(|i| (i.name.as_str(), i)).collect();
    let names: BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
    let describe = |i: &Interface| join_nonempty(&[&i.kind, &i.mac]);
    let mut addresses = Vec::new();
    for name in names {
        let (a, b) = (before.get(name).copied(), after.get(name).copied());
        match (a, b) {
            (None, Some(i)) => out.push(Change::new(Kind::Interface, Action::Added, name, "", describe(i))),
            (Some(i), None) => out.push(Change::new(Kind::Interface, Action::Removed, name, describe(i), "")),
            (Some(x), Some(y)) => {
                field(out, Kind::Interface, &format!("{name} mac"), &x.mac, &y.mac);
                field(out, Kind::Interface, &format!("{name} kind"), &x.kind, &y.kind);
            }
            (None, None) => {}
        }
        let set = |i: Option<&Interface>| -> BTreeSet<String> {
            i.map(|i| i.addresses.iter().map(|a| format!("{}/{}", a.address, a.prefix_len)).collect())
                .unwrap_or_default()
        };
        let (was, is) = (set(a), set(b));
        for gone in was.difference(&is) {
            addresses.push(Change::new(Kind::Address, Action::Removed, name, gone.clone(), ""));
        }
        for came in is.difference(&was) {
            addresses.push(Change::new(Kind::Address, Action::Added, name, "", came.clone()));
        }
    }
    out.extend(addresses);
}

/// What tells two installed packages apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct PackageKey<'a> {
    source: &'a str,
    name: &'a str,
    arch: &'a str,
    location: &'a str,
}

impl PackageKey<'_> {
    fn of(p: &Package) -> PackageKey<'_> {
        PackageKey { source: &p.source, name: &p.name, arch: &p.arch, location: &p.location }
    }

    fn subject(&self) -> String {
        let mut s = self.name.to_string();
        if !self.arch.is_empty() {
            s.push(':');
            s.push_str(self.arch);
        }
        if !self.source.is_empty() {
            s.push_str(&format!(" ({})", self.source));
        }
        if !self.location.is_empty() {
            s.push_str(&format!(" at {}", self.location));
        }
        s
    }
}

fn software(old: &[Package], new: &[Package], out: &mut Vec<Change>) {
    // Versions per identity, before and after. Most identities have one copy.
    let mut map: HashMap<PackageKey<'_>, (Vec<&str>, Vec<&str>)> = HashMap::with_capacity(new.len().max(old.len()));
    for p in old {
        map.entry(PackageKey::of(p)).or_default().0.push(&p.version);
    }
    for p in new {
        map.entry(PackageKey::of(p)).or_default().1.push(&p.version);
    }
    let mut found: Vec<(PackageKey<'_>, Change)> = Vec::new();
    for (key, (was, is)) in map {
        if was == is {
            continue;
        }
        let push = |found: &mut Vec<_>, action, old: &str, new: &str| {
            found.push((key, Change::new(Kind::Software, action, key.subject(), old, new)));
        };
        if let ([a], [b]) = (was.as_slice(), is.as_slice()) {
            let action = match compare(Scheme::for_source(key.source), a, b) {
                Ordering::Less => Action::Upgraded,
                Ordering::Greater => Action::Downgraded,
                Ordering::Equal => Action::Changed,
            };
            push(&mut found, action, a, b);
            continue;
        }
        // Several copies (or none on one side): what went away and what came, as multisets.
        let mut remaining: Vec<&str> = is.clone();
        for v in &was {
            match remaining.iter().position(|x| x == v) {
                Some(i) => {
                    remaining.swap_remove(i);
                }
                None => push(&mut found, Action::Removed, v, ""),
            }
        }
        let mut kept: Vec<&str> = was.clone();
        for v in &is {
            match kept.iter().position(|x| x == v) {
                Some(i) => {
                    kept.swap_remove(i);
                }
                None => push(&mut found, Action::Installed, "", v),
            }
        }
    }
    found.sort_by(|(ka, a), (kb, b)| {
        (ka.name, ka.arch, ka.source, ka.location, a.action, &a.old, &a.new).cmp(&(
            kb.name,
            kb.arch,
            kb.source,
            kb.location,
            b.action,
            &b.old,
            &b.new,
        ))
    });
    out.extend(found.into_iter().map(|(_, c)| c));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cpu, Disk, IpAddress, Network};

    fn pkg(source: &str, name: &str, version: &str, arch: &str) -> Package {
        Package {
            source: source.into(),
            name: name.into(),
            version: version.into(),
            arch: arch.into(),
            ..Default::default()
        }
    }

    fn inv(packages: Vec<Package>) -> Inventory {
        let mut i = Inventory { software: packages, ..Default::default() };
        i.os.hostname = "web-01".into();
        i.os.pretty_name = "Debian GNU/Linux 12 (bookworm)".into();
        i
    }

    fn c(kind: Kind, action: Action, subject: &str, old: &str, new: &str) -> Change {
        Change::new(kind, action, subject, old, new)
    }

    #[test]
    fn first_inventory_is_one_event() {
        let new = inv(vec![pkg("dpkg", "bash", "5.2", "amd64"), pkg("dpkg", "vim", "2:9.0", "amd64")]);
        assert_eq!(
            changes(None, &new),
            [c(
                Kind::Agent,
                Action::FirstInventory,
                "web-01",
                "",
                "Debian GNU/Linux 12 (bookworm); 2 packages, 0 interfaces"
            )]
        );
    }

    #[test]
    fn security_products_appear_change_and_disappear() {
        let falcon = SecurityProduct {
            id: "crowdstrike-falcon".into(),
            name: "CrowdStrike Falcon".into(),
            version: "7.18.0".into(),
            installed: true,
            running: true,
            service: "enabled".into(),
            ..Default::default()
        };
        let clam =
            SecurityProduct { id: "clamav".into(), name: "ClamAV".into(), installed: true, ..Default::default() };
        let mut a = inv(vec![]);
        a.security_products = vec![clam.clone()];
        let mut b = a.clone();
        b.security_products = vec![falcon.clone()];
        let (s, f) = (Kind::Security, "CrowdStrike Falcon (crowdstrike-falcon)");
        assert_eq!(
            changes(Some(&a), &b),
            [
                c(s, Action::Disappeared, "ClamAV (clamav)", "installed, not running", ""),
                c(s, Action::Appeared, f, "", "7.18.0; installed, running, service enabled"),
            ]
        );
        let mut stopped = b.clone();
        stopped.security_products[0].running = false;
        stopped.security_products[0].service = "disabled".into();
        assert_eq!(
            changes(Some(&b), &stopped),
            [c(
                s,
                Action::Changed,
                f,
                "7.18.0; installed, running, service enabled",
                "7.18.0; installed, not running, service disabled"
            )]
        );
        // Evidence alone (another process of the same sensor) is not history.
        let mut more = b.clone();
        more.security_products[0].evidence.push("process falcond".into());
        assert_eq!(changes(Some(&b), &more), []);
    }

    #[test]
    fn same_inventory_has_no_changes() {
        let a = inv(vec![pkg("dpkg", "bash", "5.2", "amd64")]);
        assert_eq!(changes(Some(&a), &a.clone()), []);
    }

    #[test]
    fn install_remove_upgrade_downgrade() {
        let old = inv(vec![
            pkg("dpkg", "bash", "5.2.15-2+b2", "amd64"),
            pkg("dpkg", "curl", "7.88.1-10", "amd64"),
            pkg("dpkg", "openssl", "3.0.11-1~deb12u2", "amd64"),
            pkg("rpm", "zlib", "1.2.13-5.el9", "x86_64"),
        ]);
        let new = inv(vec![
            pkg("dpkg", "bash", "5.2.15-2+b2", "amd64"),
            pkg("dpkg", "openssl", "3.0.11-1", "amd64"),
            pkg("rpm", "zlib", "1.2.13-4.el9", "x86_64"),
            pkg("python", "requests", "2.31.0", ""),
        ]);
        assert_eq!(
            changes(Some(&old), &new),
            [
                c(Kind::Software, Action::Removed, "curl:amd64 (dpkg)", "7.88.1-10", ""),
                // dpkg: ~ sorts before the end, so this is an upgrade.
                c(Kind::Software, Action::Upgraded, "openssl:amd64 (dpkg)", "3.0.11-1~deb12u2", "3.0.11-1"),
                c(Kind::Software, Action::Installed, "requests (python)", "", "2.31.0"),
                c(Kind::Software, Action::Downgraded, "zlib:x86_64 (rpm)", "1.2.13-5.el9", "1.2.13-4.el9"),
            ]
        );
    }

    #[test]
    fn epochs_decide_the_direction() {
        let old =
            inv(vec![pkg("dpkg", "vim", "2:9.0.1378-2", "amd64"), pkg("rpm", "openssl", "1:3.0.7-27.el9", "x86_64")]);
        let new = inv(vec![pkg("dpkg", "vim", "9.1.0-1", "amd64"), pkg("rpm", "openssl", "1:3.0.7-28.el9", "x86_64")]);
        assert_eq!(
            changes(Some(&old), &new),
            [
                c(Kind::Software, Action::Upgraded, "openssl:x86_64 (rpm)", "1:3.0.7-27.el9", "1:3.0.7-28.el9"),
                c(Kind::Software, Action::Downgraded, "vim:amd64 (dpkg)", "2:9.0.1378-2", "9.1.0-1"),
            ]
        );
        // The same version spelt differently is a change, not an upgrade.
        let old = inv(vec![pkg("dpkg", "tzdata", "2024a-0", "all")]);
        let new = inv(vec![pkg("dpkg", "tzdata", "0:2024a-0", "all")]);
        assert_eq!(
            changes(Some(&old), &new),
            [c(Kind::Software, Action::Changed, "tzdata:all (dpkg)", "2024a-0", "0:2024a-0")]
        );
    }

    #[test]
    fn identity_is_source_name_arch_and_location() {
        // Multi-arch: the i386 copy is its own package.
        let old = inv(vec![pkg("dpkg", "libc6", "2.36-9", "amd64")]);
        let new = inv(vec![pkg("dpkg", "libc6", "2.36-9", "amd64"), pkg("dpkg", "libc6", "2.36-9", "i386")]);
        assert_eq!(
            changes(Some(&old), &new),
            [c(Kind::Software, Action::Installed, "libc6:i386 (dpkg)", "", "2.36-9")]
        );
        // A Python package in a second site-packages is a new install there, not an upgrade.
        let mut venv = pkg("python", "requests", "2.32.0", "");
        venv.location = "/srv/app/venv".into();
        let old = inv(vec![pkg("python", "requests", "2.31.0", "")]);
        let new = inv(vec![pkg("python", "requests", "2.31.0", ""), venv]);
        assert_eq!(
            changes(Some(&old), &new),
            [c(Kind::Software, Action::Installed, "requests (python) at /srv/app/venv", "", "2.32.0")]
        );
        // Same name from another source: a remove and an install.
        let old = inv(vec![pkg("dpkg", "jq", "1.6", "amd64")]);
        let new = inv(vec![pkg("snap", "jq", "1.6", "amd64")]);
        assert_eq!(
            changes(Some(&old), &new),
            [
                c(Kind::Software, Action::Removed, "jq:amd64 (dpkg)", "1.6", ""),
                c(Kind::Software, Action::Installed, "jq:amd64 (snap)", "", "1.6"),
            ]
        );
    }

    #[test]
    fn several_copies_are_installs_and_removals() {
        // rpm keeps several kernels: a new one beside the old is an install, not an upgrade.
        let k = |v: &str| pkg("rpm", "kernel-core", v, "x86_64");
        let old = inv(vec![k("5.14.0-362.el9"), k("5.14.0-427.el9")]);
        let new = inv(vec![k("5.14.0-427.el9"), k("5.14.0-503.el9")]);
        assert_eq!(
            changes(Some(&old), &new),
            [
                c(Kind::Software, Action::Installed, "kernel-core:x86_64 (rpm)", "", "5.14.0-503.el9"),
                c(Kind::Software, Action::Removed, "kernel-core:x86_64 (rpm)", "5.14.0-362.el9", ""),
            ]
        );
        let new = inv(vec![k("5.14.0-362.el9"), k("5.14.0-427.el9"), k("5.14.0-503.el9")]);
        assert_eq!(
            changes(Some(&old), &new),
            [c(Kind::Software, Action::Installed, "kernel-core:x86_64 (rpm)", "", "5.14.0-503.el9")]
        );
    }

    fn iface(name: &str, kind: &str, mac: &str, addrs: &[(&str, u32)]) -> Interface {
        Interface {
            name: name.into(),
            kind: kind.into(),
            mac: mac.into(),
            state: "up".into(),
            addresses: addrs
                .iter()
                .map(|(a, p)| IpAddress { address: a.to_string(), prefix_len: *p, scope: "global".into() })
                .collect(),
            ..Default::default()
        }
    }

    fn with_net(interfaces: Vec<Interface>) -> Inventory {
        let mut i = inv(vec![]);
        i.network = Network { interfaces, ..Default::default() };
        i
    }

    #[test]
    fn interfaces_and_addresses() {
        let old = with_net(vec![
            iface("lo", "loopback", "", &[("127.0.0.1", 8)]),
            iface("eth0", "physical", "52:54:00:12:34:56", &[("10.0.0.5", 24), ("fe80::1", 64)]),
            iface("docker0", "bridge", "02:42:ac:11:00:01", &[("172.17.0.1", 16)]),
        ]);
        let mut eth0 = iface("eth0", "physical", "52:54:00:12:34:57", &[("10.0.0.6", 24), ("fe80::1", 64)]);
        eth0.state = "down".into(); // state is not history
        eth0.mtu = 9000;
        let new = with_net(vec![
            iface("lo", "loopback", "", &[("127.0.0.1", 8)]),
            eth0,
            iface("wg0", "tunnel", "", &[("10.9.0.1", 24)]),
        ]);
        assert_eq!(
            changes(Some(&old), &new),
            [
                c(Kind::Interface, Action::Removed, "docker0", "bridge 02:42:ac:11:00:01", ""),
                c(Kind::Interface, Action::Changed, "eth0 mac", "52:54:00:12:34:56", "52:54:00:12:34:57"),
                c(Kind::Interface, Action::Added, "wg0", "", "tunnel"),
                c(Kind::Address, Action::Removed, "docker0", "172.17.0.1/16", ""),
                c(Kind::Address, Action::Removed, "eth0", "10.0.0.5/24", ""),
                c(Kind::Address, Action::Added, "eth0", "", "10.0.0.6/24"),
                c(Kind::Address, Action::Added, "wg0", "", "10.9.0.1/24"),
            ]
        );
        // A prefix change is a different address.
        let old = with_net(vec![iface("eth0", "physical", "m", &[("10.0.0.5", 24)])]);
        let new = with_net(vec![iface("eth0", "virtual", "m", &[("10.0.0.5", 16)])]);
        assert_eq!(
            changes(Some(&old), &new),
            [
                c(Kind::Interface, Action::Changed, "eth0 kind", "physical", "virtual"),
                c(Kind::Address, Action::Removed, "eth0", "10.0.0.5/24", ""),
                c(Kind::Address, Action::Added, "eth0", "", "10.0.0.5/16"),
            ]
        );
    }

    #[test]
    fn hardware_and_os() {
        let mut old = inv(vec![]);
        old.hardware.cpu = Cpu { model: "Xeon E5".into(), logical: 4, cores: 2, sockets: 1, ..Default::default() };
        old.hardware.memory_total_bytes = 8 << 30;
        old.hardware.dmi.product_serial = "ABC123".into();
        old.hardware.dmi.bios_version = "1.0.2".into();
        old.hardware.disks = vec![
            Disk {
                name: "sda".into(),
                model: "QEMU HARDDISK".into(),
                serial: "S1".into(),
                size_bytes: 100,
                ..Default::default()
            },
            Disk { name: "sdb".into(), model: "Old".into(), serial: "S2".into(), size_bytes: 50, ..Default::default() },
        ];
        old.os.kernel = "6.1.0-17-amd64".into();
        let mut new = old.clone();
        new.hardware.cpu.logical = 8;
        new.hardware.cpu.cores = 4;
        new.hardware.memory_total_bytes = 16 << 30;
        new.hardware.dmi.product_serial = "XYZ789".into();
        new.hardware.dmi.bios_version = "1.1.0".into();
        new.hardware.disks[0].serial = "S9".into();
        new.hardware.disks[1] =
            Disk { name: "nvme0n1".into(), model: "Samsung".into(), size_bytes: 500, ..Default::default() };
        new.os.kernel = "6.1.0-18-amd64".into();
        new.os.pretty_name = "Debian GNU/Linux 12.5 (bookworm)".into();
        assert_eq!(
            changes(Some(&old), &new),
            [
                c(
                    Kind::Os,
                    Action::Changed,
                    "os pretty_name",
                    "Debian GNU/Linux 12 (bookworm)",
                    "Debian GNU/Linux 12.5 (bookworm)"
                ),
                c(Kind::Os, Action::Changed, "os kernel", "6.1.0-17-amd64", "6.1.0-18-amd64"),
                c(Kind::Hardware, Action::Changed, "cpu logical", "4", "8"),
                c(Kind::Hardware, Action::Changed, "cpu cores", "2", "4"),
                c(Kind::Hardware, Action::Changed, "memory total_bytes", "8589934592", "17179869184"),
                c(Kind::Hardware, Action::Changed, "dmi product_serial", "ABC123", "XYZ789"),
                c(Kind::Hardware, Action::Changed, "dmi bios_version", "1.0.2", "1.1.0"),
                c(Kind::Hardware, Action::Added, "disk nvme0n1", "", "Samsung 500"),
                c(Kind::Hardware, Action::Changed, "disk sda serial", "S1", "S9"),
                c(Kind::Hardware, Action::Removed, "disk sdb", "Old S2 50", ""),
            ]
        );
    }

    #[test]
    fn kinds_parse_and_name_themselves() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("packages"), None);
        assert_eq!(Kind::names(), "software, interface, address, hardware, os, security, agent, lifecycle");
        assert_eq!(Action::FirstInventory.to_string(), "first-inventory");
    }

    #[test]
    fn many_packages_stay_linear() {
        let old: Vec<Package> = (0..20_000).map(|i| pkg("dpkg", &format!("p{i}"), "1.0-1", "amd64")).collect();
        let mut new = old.clone();
        new[7].version = "1.0-2".into();
        let (old, new) = (inv(old), inv(new));
        let start = std::time::Instant::now();
        let found = changes(Some(&old), &new);
        assert_eq!(found, [c(Kind::Software, Action::Upgraded, "p7:amd64 (dpkg)", "1.0-1", "1.0-2")]);
        assert!(start.elapsed() < std::time::Duration::from_secs(2), "{:?}", start.elapsed());
    }
}
