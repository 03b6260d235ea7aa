//! The neighbour table: one bounded entry per source MAC, folded from [`Observation`]s.
//!
//! Bounds (all in [`Limits`]): at most `max_entries` entries (4096), each with at most 16 IPv4
//! and 16 IPv6 addresses, 16 names, 16 VLANs and 64 attributes, no name or value over 255 bytes,
//! and at most 4 KiB of names and values together. What does not fit is dropped and counted
//! ([`Counters::dropped_values`]). An entry not heard for `max_age_secs` (24 h) before the newest
//! timestamp seen expires.
//!
//! Eviction: when the table is full, a new MAC evicts the least recently seen entry. Entries
//! are indexed by `(last_seen, touch sequence)` in a `BTreeSet` beside the `HashMap`, so every
//! observation costs O(log n): a flood of random source MACs keeps the table at its cap and
//! costs each frame two map operations, never a scan. Expiry pops from the same index.
//!
//! Frames from multicast, broadcast or all-zero source MACs say nothing about a device and are
//! counted ([`Counters::bad_source`]), not kept.
//!
//! # Kind hints
//! Each observation may suggest a kind ([`kind_of`]); an entry keeps the strongest one heard,
//! in this order (a device's own claim about forwarding traffic beats what it offers):
//!
//! 1. `router`: LLDP/CDP capabilities naming a router; an NDP router advertisement (the
//!    `router` attribute); SSDP device type `InternetGatewayDevice`.
//! 2. `access-point`: LLDP/CDP capabilities naming a WLAN access point.
//! 3. `switch`: LLDP/CDP capabilities naming a bridge or switch.
//! 4. `printer`: mDNS services `_ipp`, `_ipps`, `_printer`, `_pdl-datastream`; SSDP `Printer`.
//! 5. `phone`: LLDP/CDP capabilities naming a telephone (and no router or access point: IP
//!    phones also say `bridge`); mDNS `_apple-mobdev`/`_apple-mobdev2` (iOS Wi-Fi sync); DHCP
//!    vendor class `android-dhcp-*`. `_companion-link` is not used: Macs, iPhones and Apple TVs all offer it.
//! 6. `computer`: DHCP or DHCPv6 vendor class `MSFT 5.0` (Windows); mDNS `_workstation`
//!    (avahi hosts).
//! 7. `media`: mDNS `_airplay`, `_raop`, `_googlecast`; SSDP `MediaRenderer`. Last, because
//!    Macs also offer AirPlay: a Mac that said `MSFT`-like or phone-like things is not media.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};

use census_inventory::{Neighbor, NeighborAttribute};

use crate::oui::{Oui, cut};
use crate::{Observation, Protocol, Skip};

/// The table's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_entries: usize,
    /// Seconds after its last observation that an entry expires (relative to the newest
    /// timestamp the table was given).
    pub max_age_secs: i64,
    pub max_ipv4: usize,
    pub max_ipv6: usize,
    pub max_names: usize,
    pub max_vlans: usize,
    pub max_attributes: usize,
    /// Longest name or attribute value kept, in bytes (longer ones are cut).
    pub max_value_len: usize,
    /// Bytes of names and attribute values one entry keeps at most.
    pub max_entry_text: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: 4096,
            max_age_secs: 24 * 3600,
            max_ipv4: 16,
            max_ipv6: 16,
            max_names: 16,
            max_vlans: 16,
            max_attributes: 64,
            max_value_len: 255,
            max_entry_text: 4096,
        }
    }
}

/// What happened to the frames and observations the table was given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames given to [`NeighborTable::ingest`].
    pub frames: u64,
    /// Frames `frame::parse` accepted.
    pub parsed: u64,
    pub truncated: u64,
    pub malformed: BTreeMap<Protocol, u64>,
    pub ignored: u64,
    /// Observations folded in (or refused for their source MAC).
    pub observations: u64,
    /// Observations from a multicast, broadcast or all-zero source MAC.
    pub bad_source: u64,
    /// Entries evicted because the table was full.
    pub evicted: u64,
    /// Entries (or late observations) older than the maximum age.
    pub expired: u64,
    /// Addresses, names, VLANs or attributes dropped at an entry's caps.
    pub dropped_values: u64,
}

impl Counters {
    /// Frames that gave nothing, whatever the reason.
    pub fn skipped(&self) -> u64 {
        self.truncated + self.ignored + self.malformed.values().sum::<u64>()
    }

    pub fn count_skip(&mut self, skip: Skip) {
        match skip {
            Skip::Truncated => self.truncated += 1,
            Skip::Malformed(p) => *self.malformed.entry(p).or_default() += 1,
            Skip::Ignored => self.ignored += 1,
        }
    }
}

/// A device kind; the order is the strength (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Router,
    AccessPoint,
    Switch,
    Printer,
    Phone,
    Computer,
    Media,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Router => "router",
            Self::AccessPoint => "access-point",
            Self::Switch => "switch",
            Self::Printer => "printer",
            Self::Phone => "phone",
            Self::Computer => "computer",
            Self::Media => "media",
        }
    }
}

/// The kind one attribute suggests, heard over `protocol` (rules in the module documentation).
pub fn kind_of(protocol: Option<Protocol>, key: &str, value: &str) -> Option<Kind> {
    let lower = value.to_ascii_lowercase();
    match (protocol, key) {
        (Some(Protocol::Lldp | Protocol::Cdp), "capabilities") => {
            if lower.contains("router") {
                Some(Kind::Router)
            } else if lower.contains("wlan") || lower.contains("access point") || lower.contains("access-point") {
                Some(Kind::AccessPoint)
            } else if lower.contains("phone") {
                // IP phones announce `bridge,telephone` (their PC port): the phone is the news.
                Some(Kind::Phone)
            } else if lower.contains("bridge") || lower.contains("switch") {
                Some(Kind::Switch)
            } else {
                None
            }
        }
        (Some(Protocol::Ndp), "router") => (!matches!(lower.trim(), "" | "0" | "no" | "false")).then_some(Kind::Router),
        (Some(Protocol::Mdns), "service") => {
            // "_ipp._tcp.local", "Office._ipp._tcp.local", "_ipp": any label counts.
            lower.split('.').find_map(|label| match label {
                "_ipp" | "_ipps" | "_printer" | "_pdl-datastream" => Some(Kind::Printer),
                "_apple-mobdev" | "_apple-mobdev2" => Some(Kind::Phone),
                "_workstation" => Some(Kind::Computer),
                "_airplay" | "_raop" | "_googlecast" => Some(Kind::Media),
                _ => None,
            })
        }
        (Some(Protocol::Ssdp), "device_type") => {
            if lower.contains(":internetgatewaydevice:") || lower.ends_with("internetgatewaydevice") {
                Some(Kind::Router)
            } else if lower.contains(":printer:") {
                Some(Kind::Printer)
            } else if lower.contains(":mediarenderer:") {
                Some(Kind::Media)
            } else {
                None
            }
        }
        (Some(Protocol::Dhcp | Protocol::Dhcpv6), "vendor_class") => {
            if lower.starts_with("msft 5.0") {
                Some(Kind::Computer)
            } else if lower.starts_with("android-dhcp-") {
                Some(Kind::Phone)
            } else {
                None
            }
        }
        _ => None,
    }
}

#[derive(Debug, Clone)]
struct Entry {
    interface: String,
    first_seen: i64,
    last_seen: i64,
    /// The touch sequence in the age index key.
    touch: u64,
    ipv4: Vec<Ipv4Addr>,
    ipv6: Vec<Ipv6Addr>,
    names: Vec<String>,
    protocols: Vec<Protocol>,
    vlans: Vec<u16>,
    attributes: Vec<(&'static str, String)>,
    text: usize,
    kind: Option<Kind>,
}

/// The bounded table; see the module documentation.
#[derive(Debug, Clone)]
pub struct NeighborTable {
    limits: Limits,
    entries: HashMap<[u8; 6], Entry>,
    /// `(last_seen, touch, mac)`: the first is the least recently seen.
    by_age: BTreeSet<(i64, u64, [u8; 6])>,
    touches: u64,
    newest: i64,
    own: Vec<[u8; 6]>,
    counters: Counters,
    scratch: Vec<Observation>,
}

impl Default for NeighborTable {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, value: T, cap: usize, dropped: &mut u64) {
    if list.contains(&value) {
        return;
    }
    if list.len() >= cap {
        *dropped += 1;
        return;
    }
    list.push(value);
}

/// Parses `aa:bb:cc:dd:ee:ff` (one or two hex digits per octet, either case), the inverse of
/// [`mac_string`].
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The MAC as reports write it: lower-case, colon-separated.
pub fn mac_string(mac: [u8; 6]) -> String {
    let [a, b, c, d, e, f] = mac;
    format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
}

impl NeighborTable {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            entries: HashMap::new(),
            by_age: BTreeSet::new(),
            touches: 0,
            newest: i64::MIN,
            own: Vec::new(),
            counters: Counters::default(),
            scratch: Vec::new(),
        }
    }

    /// Never records `mac` (the capturing host's own interface, whose outgoing frames a
    /// capture also sees).
    pub fn ignore_mac(&mut self, mac: [u8; 6]) {
        if !self.own.contains(&mac) {
            self.own.push(mac);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Counts a frame the caller skipped itself (for example for its link type), so that the
    /// frame total stays whole. Prefer [`NeighborTable::ingest`] for Ethernet frames.
    pub fn count_skipped_frame(&mut self, skip: Skip) {
        self.counters.frames += 1;
        self.counters.count_skip(skip);
    }

    /// Parses one Ethernet frame heard on `interface` at `now_unix` and folds in what it says.
    pub fn ingest(&mut self, frame: &[u8], interface: &str, now_unix: i64) {
        self.counters.frames += 1;
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        match crate::frame::parse(frame, &mut scratch) {
            Ok(()) => {
                self.counters.parsed += 1;
                for obs in scratch.drain(..) {
                    self.observe(obs, interface, now_unix);
                }
            }
            Err(skip) => self.counters.count_skip(skip),
        }
        scratch.clear();
        self.scratch = scratch;
    }

    /// Folds one observation into the entry of its MAC, creating (and maybe evicting) one.
    pub fn observe(&mut self, obs: Observation, interface: &str, now_unix: i64) {
        self.counters.observations += 1;
        let mac = obs.mac;
        if mac[0] & 0x01 != 0 || mac == [0; 6] {
            self.counters.bad_source += 1;
            return;
        }
        if self.own.contains(&mac) {
            return;
        }
        if now_unix > self.newest {
            self.newest = now_unix;
            self.expire();
        }
        let oldest_allowed = self.newest.saturating_sub(self.limits.max_age_secs);
        if now_unix < oldest_allowed {
            self.counters.expired += 1;
            return;
        }
        self.touches += 1;
        let touch = self.touches;
        let entry = match self.entries.get_mut(&mac) {
            Some(e) => {
                self.by_age.remove(&(e.last_seen, e.touch, mac));
                e.first_seen = e.first_seen.min(now_unix);
                e.last_seen = e.last_seen.max(now_unix);
                e.touch = touch;
                self.by_age.insert((e.last_seen, touch, mac));
                e
            }
            None => {
                if self.entries.len() >= self.limits.max_entries.max(1)
                    && let Some((_, _, old)) = self.by_age.pop_first()
                {
                    self.entries.remove(&old);
                    self.counters.evicted += 1;
                }
                self.by_age.insert((now_unix, touch, mac));
                self.entries.entry(mac).or_insert(Entry {
                    interface: cut(interface.to_string(), self.limits.max_value_len),
                    first_seen: now_unix,
                    last_seen: now_unix,
                    touch,
                    ipv4: Vec::new(),
                    ipv6: Vec::new(),
                    names: Vec::new(),
                    protocols: Vec::new(),
                    vlans: Vec::new(),
                    attributes: Vec::new(),
                    text: 0,
                    kind: None,
                })
            }
        };
        merge(entry, obs, &self.limits, &mut self.counters.dropped_values);
    }

    /// Drops entries last seen more than the maximum age before the newest timestamp.
    fn expire(&mut self) {
        let oldest_allowed = self.newest.saturating_sub(self.limits.max_age_secs);
        while let Some(&(seen, _, mac)) = self.by_age.first() {
            if seen >= oldest_allowed {
                break;
            }
            self.by_age.pop_first();
            self.entries.remove(&mac);
            self.counters.expired += 1;
        }
    }

    /// The entries as inventory neighbours, sorted by MAC, with vendors from `oui`.
    pub fn snapshot(&self, oui: Option<&Oui>) -> Vec<Neighbor> {
        let mut macs: Vec<&[u8; 6]> = self.entries.keys().collect();
        macs.sort();
        macs.into_iter()
            .map(|mac| {
                let e = &self.entries[mac];
                let mut ipv4 = e.ipv4.clone();
                ipv4.sort();
                let mut ipv6 = e.ipv6.clone();
                ipv6.sort();
                let mut vlans: Vec<u32> = e.vlans.iter().map(|&v| u32::from(v)).collect();
                vlans.sort();
                let mut protocols = e.protocols.clone();
                protocols.sort();
                let mut attributes: Vec<NeighborAttribute> = e
                    .attributes
                    .iter()
                    .map(|(k, v)| NeighborAttribute { key: (*k).to_string(), value: v.clone() })
                    .collect();
                attributes.sort();
                attributes.dedup();
                Neighbor {
                    mac: mac_string(*mac),
                    vendor: oui.and_then(|o| o.vendor(*mac)).unwrap_or_default().to_string(),
                    interface: e.interface.clone(),
                    vlans,
                    ipv4: ipv4.iter().map(ToString::to_string).collect(),
                    ipv6: ipv6.iter().map(ToString::to_string).collect(),
                    names: e.names.clone(),
                    protocols: protocols.iter().map(|p| p.name().to_string()).collect(),
                    first_seen: e.first_seen,
                    last_seen: e.last_seen,
                    kind_hint: e.kind.map(Kind::name).unwrap_or_default().to_string(),
                    attributes,
                }
            })
            .collect()
    }
}

/// A name or value as kept: trimmed, cut, without control characters; None when empty.
fn clean(s: &str, max: usize) -> Option<String> {
    let s: String = s.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let s = cut(s, max);
    let s = s.trim_end();
    (!s.is_empty()).then(|| s.to_string())
}

fn merge(e: &mut Entry, obs: Observation, limits: &Limits, dropped: &mut u64) {
    if let Some(p) = obs.protocol
        && !e.protocols.contains(&p)
    {
        e.protocols.push(p);
    }
    if let Some(v) = obs.vlan {
        push_unique(&mut e.vlans, v, limits.max_vlans, dropped);
    }
    for ip in obs.ipv4 {
        if !ip.is_unspecified() && !ip.is_broadcast() && !ip.is_multicast() {
            push_unique(&mut e.ipv4, ip, limits.max_ipv4, dropped);
        }
    }
    for ip in obs.ipv6 {
        if !ip.is_unspecified() && !ip.is_multicast() {
            push_unique(&mut e.ipv6, ip, limits.max_ipv6, dropped);
        }
    }
    for name in obs.names {
        let Some(name) = clean(&name, limits.max_value_len) else { continue };
        if e.names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            continue;
        }
        if e.names.len() >= limits.max_names || e.text + name.len() > limits.max_entry_text {
            *dropped += 1;
            continue;
        }
        e.text += name.len();
        e.names.push(name);
    }
    for (key, value) in obs.attributes {
        if let Some(kind) = kind_of(obs.protocol, key, &value) {
            e.kind = Some(e.kind.map_or(kind, |k| k.min(kind)));
        }
        let Some(value) = clean(&value, limits.max_value_len) else { continue };
        if e.attributes.iter().any(|(k, v)| *k == key && *v == value) {
            continue;
        }
        if e.attributes.len() >= limits.max_attributes || e.text + value.len() > limits.max_entry_text {
            *dropped += 1;
            continue;
        }
        e.text += value.len();
        e.attributes.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(mac: [u8; 6], protocol: Protocol) -> Observation {
        Observation { mac, protocol: Some(protocol), ..Default::default() }
    }

    const A: [u8; 6] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
    const B: [u8; 6] = [0x3c, 0x5a, 0xb4, 0x00, 0x00, 0x01];

    #[test]
    fn merges_and_dedupes_one_device() {
        let mut t = NeighborTable::default();
        let mut o = obs(A, Protocol::Arp);
        o.ipv4 = vec![Ipv4Addr::new(192, 0, 2, 7), Ipv4Addr::new(192, 0, 2, 7), Ipv4Addr::UNSPECIFIED];
        t.observe(o, "eth0", 100);
        let mut o = obs(A, Protocol::Dhcp);
        o.ipv4 = vec![Ipv4Addr::new(192, 0, 2, 3)];
        o.names = vec!["printer-1".into(), " PRINTER-1 ".into(), "".into(), "lab\u{7}pc".into()];
        o.attributes = vec![("vendor_class", "MSFT 5.0".into()), ("vendor_class", "MSFT 5.0".into())];
        o.vlan = Some(10);
        t.observe(o, "eth1", 50);
        let mut o = obs(A, Protocol::Ndp);
        o.ipv6 = vec!["fe80::1".parse().unwrap(), "ff02::1".parse().unwrap()];
        o.vlan = Some(10);
        t.observe(o, "eth0", 200);
        let snap = t.snapshot(None);
        assert_eq!(snap.len(), 1);
        let n = &snap[0];
        assert_eq!(n.mac, "00:11:22:33:44:55");
        assert_eq!(n.interface, "eth0");
        assert_eq!(n.ipv4, ["192.0.2.3", "192.0.2.7"]);
        assert_eq!(n.ipv6, ["fe80::1"]);
        assert_eq!(n.names, ["printer-1", "lab pc"]);
        assert_eq!(n.protocols, ["arp", "ndp", "dhcp"]);
        assert_eq!(n.vlans, [10]);
        assert_eq!((n.first_seen, n.last_seen), (50, 200));
        assert_eq!(n.kind_hint, "computer");
        assert_eq!(n.attributes, [NeighborAttribute { key: "vendor_class".into(), value: "MSFT 5.0".into() }]);
    }

    #[test]
    fn group_and_zero_source_macs_and_own_mac_are_not_kept() {
        let mut t = NeighborTable::default();
        t.ignore_mac(B);
        for mac in [[0xff; 6], [0x01, 0x00, 0x5e, 0, 0, 1], [0x33, 0x33, 0, 0, 0, 1], [0; 6], B] {
            t.observe(obs(mac, Protocol::Arp), "eth0", 1);
        }
        assert!(t.is_empty());
        assert_eq!(t.counters().bad_source, 4);
        assert_eq!(t.counters().observations, 5);
    }

    #[test]
    fn caps_per_entry() {
        let mut t = NeighborTable::default();
        let mut o = obs(A, Protocol::Mdns);
        o.ipv4 = (0..40).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
        o.ipv6 = (0..40u16).map(|i| Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i)).collect();
        o.names = (0..40).map(|i| format!("name{i}")).collect();
        o.attributes = (0..200).map(|i| ("service", format!("svc{i}"))).collect();
        o.attributes.push(("server", "x".repeat(1000)));
        t.observe(o, "eth0", 1);
        let n = &t.snapshot(None)[0];
        assert_eq!((n.ipv4.len(), n.ipv6.len(), n.names.len(), n.attributes.len()), (16, 16, 16, 64));
        assert!(t.counters().dropped_values > 100);
        // The long value came after the cap: dropped, not cut in.
        assert!(n.attributes.iter().all(|a| a.value.len() <= 255));

        let mut t = NeighborTable::default();
        let mut o = obs(A, Protocol::Lldp);
        o.attributes = vec![("system_description", "é".repeat(1000))];
        o.names = (0..40).map(|i| format!("{i}{}", "n".repeat(300))).collect();
        t.observe(o, "eth0", 1);
        let n = &t.snapshot(None)[0];
        assert!(n.names.iter().all(|s| s.len() <= 255));
        let text: usize =
            n.names.iter().map(String::len).sum::<usize>() + n.attributes.iter().map(|a| a.value.len()).sum::<usize>();
        assert!(text <= 4096, "{text}");
    }

    #[test]
    fn full_table_evicts_least_recently_seen() {
        let mut t = NeighborTable::new(Limits { max_entries: 3, ..Limits::default() });
        let mac = |i: u8| [0, 0, 0, 0, 0, i];
        t.observe(obs(mac(1), Protocol::Arp), "e", 10);
        t.observe(obs(mac(2), Protocol::Arp), "e", 11);
        t.observe(obs(mac(3), Protocol::Arp), "e", 12);
        t.observe(obs(mac(1), Protocol::Arp), "e", 13); // 1 is fresh again; 2 is the oldest
        t.observe(obs(mac(4), Protocol::Arp), "e", 14);
        let macs: Vec<String> = t.snapshot(None).into_iter().map(|n| n.mac).collect();
        assert_eq!(macs, ["00:00:00:00:00:01", "00:00:00:00:00:03", "00:00:00:00:00:04"]);
        assert_eq!(t.counters().evicted, 1);
        // Same timestamps: the one touched first goes first.
        t.observe(obs(mac(3), Protocol::Arp), "e", 14);
        t.observe(obs(mac(5), Protocol::Arp), "e", 14);
        let macs: Vec<String> = t.snapshot(None).into_iter().map(|n| n.mac).collect();
        assert_eq!(macs, ["00:00:00:00:00:03", "00:00:00:00:00:04", "00:00:00:00:00:05"]);
    }

    #[test]
    fn old_entries_expire() {
        let mut t = NeighborTable::new(Limits { max_age_secs: 100, ..Limits::default() });
        t.observe(obs(A, Protocol::Arp), "e", 1000);
        t.observe(obs(B, Protocol::Arp), "e", 1050);
        t.observe(obs(B, Protocol::Arp), "e", 1101);
        assert_eq!(t.len(), 1, "A expired");
        t.observe(obs(A, Protocol::Arp), "e", 900); // late and too old
        assert_eq!(t.len(), 1);
        assert_eq!(t.counters().expired, 2);
        t.observe(obs(A, Protocol::Arp), "e", 1090); // late but within the window
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn random_mac_flood_stays_at_the_cap_and_fast() {
        let mut t = NeighborTable::default();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let start = std::time::Instant::now();
        const N: usize = 100_000;
        for i in 0..N {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = x.to_le_bytes();
            let mut o = obs([b[0] & 0xFE, b[1], b[2], b[3], b[4], b[5]], Protocol::Arp);
            o.ipv4 = vec![Ipv4Addr::from(b[6] as u32)];
            t.observe(o, "eth0", 1_700_000_000 + (i / 1000) as i64);
            assert!(t.len() <= 4096);
        }
        let took = start.elapsed();
        assert_eq!(t.len(), 4096);
        assert_eq!(t.by_age.len(), 4096);
        assert!(t.counters().evicted >= (N - 4096 - 10) as u64);
        eprintln!("{N} random-MAC observations in {took:?} ({:.0}/s)", N as f64 / took.as_secs_f64());
        // Generous even for an unoptimised build on a loaded machine.
        assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    }

    #[test]
    fn kind_rules() {
        use Protocol::*;
        let k = |p, key, v: &str| kind_of(Some(p), key, v).map(Kind::name);
        assert_eq!(k(Lldp, "capabilities", "Bridge, Router"), Some("router"));
        assert_eq!(k(Lldp, "capabilities", "bridge,wlan-access-point"), Some("access-point"));
        assert_eq!(k(Lldp, "capabilities", "Bridge"), Some("switch"));
        assert_eq!(k(Cdp, "capabilities", "Switch IGMP"), Some("switch"));
        assert_eq!(k(Lldp, "capabilities", "bridge,wlan_ap"), Some("access-point"));
        assert_eq!(k(Lldp, "capabilities", "bridge,telephone"), Some("phone"));
        assert_eq!(k(Cdp, "capabilities", "host,phone"), Some("phone"));
        assert_eq!(k(Cdp, "capabilities", "router,switch,igmp"), Some("router"));
        assert_eq!(k(Lldp, "capabilities", "station"), None);
        assert_eq!(k(Dhcpv6, "vendor_class", "MSFT 5.0"), Some("computer"));
        assert_eq!(k(Mdns, "service", "_ipp._tcp"), Some("printer"));
        assert_eq!(k(Ndp, "router", "true"), Some("router"));
        assert_eq!(k(Ndp, "router", "false"), None);
        assert_eq!(k(Dhcp, "router", "192.0.2.1"), None, "a DHCP server names the router, it may not be one");
        assert_eq!(k(Mdns, "service", "_ipp._tcp.local"), Some("printer"));
        assert_eq!(k(Mdns, "service", "Office Printer._pdl-datastream._tcp.local"), Some("printer"));
        assert_eq!(k(Mdns, "service", "_googlecast._tcp.local"), Some("media"));
        assert_eq!(k(Mdns, "service", "_apple-mobdev2._tcp.local"), Some("phone"));
        assert_eq!(k(Mdns, "service", "_companion-link._tcp.local"), None);
        assert_eq!(k(Mdns, "service", "_workstation._tcp.local"), Some("computer"));
        assert_eq!(k(Mdns, "service", "_ippx._tcp.local"), None);
        assert_eq!(k(Ssdp, "device_type", "urn:schemas-upnp-org:device:InternetGatewayDevice:1"), Some("router"));
        assert_eq!(k(Ssdp, "device_type", "urn:schemas-upnp-org:device:MediaRenderer:1"), Some("media"));
        assert_eq!(k(Ssdp, "device_type", "urn:schemas-upnp-org:device:Basic:1"), None);
        assert_eq!(k(Dhcp, "vendor_class", "MSFT 5.0"), Some("computer"));
        assert_eq!(k(Dhcp, "vendor_class", "android-dhcp-13"), Some("phone"));
        assert_eq!(k(Dhcp, "vendor_class", "dhcpcd-9.4.1:Linux"), None);
        assert_eq!(kind_of(None, "capabilities", "Router"), None);

        // The strongest kind heard wins, whatever the order.
        let mut t = NeighborTable::default();
        let mut o = obs(A, Mdns);
        o.attributes = vec![("service", "_airplay._tcp.local".into())];
        t.observe(o, "e", 1);
        assert_eq!(t.snapshot(None)[0].kind_hint, "media");
        let mut o = obs(A, Lldp);
        o.attributes = vec![("capabilities", "Bridge".into())];
        t.observe(o, "e", 2);
        let mut o = obs(A, Mdns);
        o.attributes = vec![("service", "_ipp._tcp.local".into())];
        t.observe(o, "e", 3);
        assert_eq!(t.snapshot(None)[0].kind_hint, "switch");
    }

    #[test]
    fn snapshot_sorted_with_vendor_and_counters() {
        let oui =
            Oui::parse(b"Registry,Assignment,Organization Name,Organization Address\nMA-L,3C5AB4,\"Google, Inc.\",X\n");
        let mut t = NeighborTable::default();
        t.observe(obs(B, Protocol::Mdns), "e", 1);
        t.observe(obs(A, Protocol::Arp), "e", 1);
        t.observe(obs([0x3e, 0x5a, 0xb4, 0, 0, 1], Protocol::Arp), "e", 1); // locally administered
        let snap = t.snapshot(Some(&oui));
        assert_eq!(
            snap.iter().map(|n| n.mac.as_str()).collect::<Vec<_>>(),
            ["00:11:22:33:44:55", "3c:5a:b4:00:00:01", "3e:5a:b4:00:00:01"]
        );
        assert_eq!(snap.iter().map(|n| n.vendor.as_str()).collect::<Vec<_>>(), ["", "Google, Inc.", ""]);

        t.ingest(&[0u8; 10], "e", 5);
        t.count_skipped_frame(Skip::Malformed(Protocol::Lldp));
        let c = t.counters();
        assert_eq!(c.frames, 2);
        assert_eq!(c.parsed + c.skipped(), 2);
        assert_eq!(c.malformed.get(&Protocol::Lldp), Some(&1));
    }
}
