//! Network interfaces: link facts from sys/class/net, addresses from the kernel.
//!
//! Link facts (MAC, MTU, operstate, ifindex, speed, duplex) are files and come from the root.
//! IPv6 addresses are in proc/net/if_inet6; IPv4 addresses exist only behind getifaddrs(3), so
//! for the live root both families come from getifaddrs (through pnet), and for any other root
//! IPv6 comes from if_inet6 and the absence of IPv4 is stated in a warning.
//!
//! Kind, driver and permanent MAC come from sysfs evidence (see [`sysfs_kind`]): ARPHRD `type`,
//! `uevent` DEVTYPE, driver-owned entries (`bridge/`, `bonding/`, `phy80211`, `tun_flags`) and
//! the `device` link of a link with a parent device. sysfs cannot tell a veth, a macvlan or a
//! dummy from one another (none has a DEVTYPE or a parent); under any other root they are
//! `virtual` with no driver. On the live root the kernel's ethtool ioctl names the driver of
//! every link (`ethtool -i`), which gives those exact kinds, and the permanent MAC
//! (`ethtool -P`). Drivers are reported by module name, so the live and the file views agree:
//! the 8021q driver, which calls itself "802.1Q VLAN Support", is `8021q`.

use std::net::{IpAddr, Ipv6Addr};

use census_inventory::{Interface, Inventory, IpAddress, Route};

use super::{Source, Warnings};
use crate::host::Host;

pub struct Network;

impl Source for Network {
    fn name(&self) -> &'static str {
        "network"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        let names = match host.list_dir("sys/class/net") {
            Ok(n) => n,
            Err(e) => {
                w.push(format!("sys/class/net: {e}"));
                return;
            }
        };
        let ethtool = if host.is_live() { ethtool::Socket::open() } else { None };
        let mut links: Vec<(u32, Interface)> =
            names.into_iter().map(|name| link(host, name, ethtool.as_ref(), w)).collect();
        links.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
        let mut interfaces: Vec<Interface> = links.into_iter().map(|(_, i)| i).collect();

        let addresses = if host.is_live() {
            live_addresses()
        } else {
            w.push("ipv4 addresses are kernel state, not files: reported only when --root is /");
            match host.read_string("proc/net/if_inet6") {
                Ok(text) => parse_if_inet6(&text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => {
                    w.push(format!("proc/net/if_inet6: {e}"));
                    Vec::new()
                }
            }
        };
        for (name, address) in addresses {
            match interfaces.iter_mut().find(|i| i.name == name) {
                Some(iface) => iface.addresses.push(address),
                None => w.push(format!("address {} on {name:?}, which sys/class/net does not list", address.address)),
            }
        }
        inv.network.interfaces = interfaces;
        inv.network.default_routes = default_routes(host, w);
        let (servers, search) = resolvers(host, w);
        inv.network.dns_servers = servers;
        inv.network.dns_search = search;
    }
}

/// Default routes from proc/net/route (IPv4, main table) and proc/net/ipv6_route.
fn default_routes(host: &Host, w: &mut Warnings<'_>) -> Vec<Route> {
    let mut routes = Vec::new();
    for (rel, parse) in
        [("proc/net/route", parse_ipv4_routes as fn(&str) -> Vec<Route>), ("proc/net/ipv6_route", parse_ipv6_routes)]
    {
        match host.read_limited(rel, 16 * 1024 * 1024) {
            Ok(bytes) => routes.extend(parse(&String::from_utf8_lossy(&bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => w.push(format!("{rel}: {e}")),
        }
    }
    routes
}

const RTF_UP: u32 = 0x0001;
const RTF_GATEWAY: u32 = 0x0002;
const RTF_REJECT: u32 = 0x0200;

/// Default routes (destination and mask 0) from /proc/net/route, whose addresses are hex in the
/// kernel's (little-endian) byte order. Routes that are not up are left out.
pub fn parse_ipv4_routes(text: &str) -> Vec<Route> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [iface, dest, gateway, flags, _refcnt, _use, metric, mask, ..] = f.as_slice() else { continue };
        let hex = |v: &str| u32::from_str_radix(v, 16).ok();
        let (Some(dest), Some(gw), Some(flags), Some(mask)) = (hex(dest), hex(gateway), hex(flags), hex(mask)) else {
            continue;
        };
        if dest != 0 || mask != 0 || flags & RTF_UP == 0 || flags & RTF_REJECT != 0 {
            continue;
        }
        let gateway = if flags & RTF_GATEWAY != 0 {
            // The kernel prints the network-order word as a host-order number.
            std::net::Ipv4Addr::from(u32::from_be(gw)).to_string()
        } else {
            String::new()
        };
        out.push(Route {
            family: "inet".into(),
            gateway,
            interface: iface.to_string(),
            metric: metric.parse().unwrap_or(0),
        });
    }
    out
}

/// Default routes (::/0) from /proc/net/ipv6_route: `dest plen src splen nexthop metric refcnt
/// use flags iface`, all hex. Reject routes (the kernel's unreachable ::/0 on lo) are left out.
pub fn parse_ipv6_routes(text: &str) -> Vec<Route> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [dest, plen, _src, _splen, nexthop, metric, _refcnt, _use, flags, iface] = f.as_slice() else { continue };
        let (Ok(dest), Ok(plen), Ok(nexthop), Ok(metric), Ok(flags)) = (
            u128::from_str_radix(dest, 16),
            u8::from_str_radix(plen, 16),
            u128::from_str_radix(nexthop, 16),
            u32::from_str_radix(metric, 16),
            u32::from_str_radix(flags, 16),
        ) else {
            continue;
        };
        if dest != 0 || plen != 0 || flags & RTF_UP == 0 || flags & RTF_REJECT != 0 {
            continue;
        }
        let gateway = if nexthop != 0 { Ipv6Addr::from(nexthop).to_string() } else { String::new() };
        out.push(Route { family: "inet6".into(), gateway, interface: iface.to_string(), metric });
    }
    out
}

/// Name servers and search domains. When resolv.conf only points at systemd-resolved's local
/// stub (127.0.0.53/54), the upstream servers in run/systemd/resolve/resolv.conf are reported.
fn resolvers(host: &Host, w: &mut Warnings<'_>) -> (Vec<String>, Vec<String>) {
    let read = |rel: &str, w: &mut Warnings<'_>| match host.read_limited(rel, 1024 * 1024) {
        Ok(b) => Some(parse_resolv_conf(&String::from_utf8_lossy(&b))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            w.push(format!("{rel}: {e}"));
            None
        }
    };
    let Some((servers, search)) = read("etc/resolv.conf", w) else { return Default::default() };
    let stub = !servers.is_empty() && servers.iter().all(|s| s == "127.0.0.53" || s == "127.0.0.54");
    if stub && let Some(upstream) = read("run/systemd/resolve/resolv.conf", w) {
        return upstream;
    }
    (servers, search)
}

/// `nameserver ADDR` and `search DOMAIN...` (or `domain DOMAIN`) lines of resolv.conf(5); the
/// last search/domain line wins, as in the resolver.
pub fn parse_resolv_conf(text: &str) -> (Vec<String>, Vec<String>) {
    let mut servers = Vec::new();
    let mut search = Vec::new();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or_default();
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(addr) = words.next().filter(|a| a.parse::<std::net::IpAddr>().is_ok()) {
                    servers.push(addr.to_string());
                }
            }
            Some("search" | "domain") => search = words.map(str::to_string).collect(),
            _ => {}
        }
    }
    (servers, search)
}

fn link(host: &Host, name: String, ethtool: Option<&ethtool::Socket>, w: &mut Warnings<'_>) -> (u32, Interface) {
    let base = format!("sys/class/net/{name}");
    // Attributes whose absence is normal; a read error is a warning naming the file.
    let mut read_warn = |rel: &str| match host.read_value(&format!("{base}/{rel}")) {
        Ok(v) => v.unwrap_or_default(),
        Err(e) => {
            w.push(format!("{base}/{rel}: {e}"));
            String::new()
        }
    };
    let arphrd = read_warn("type").parse::<u32>().ok();
    let uevent = read_warn("uevent");
    let assign_type = read_warn("addr_assign_type");
    let entries = host.list_dir(&base).unwrap_or_else(|e| {
        w.push(format!("{base}: {e}"));
        Vec::new()
    });
    // Attributes the kernel refuses to read for a link that is down or has no such notion
    // (speed: EINVAL) mean "unknown", not a problem worth a warning.
    let read = |rel: &str| host.read_value(&format!("{base}/{rel}")).ok().flatten().unwrap_or_default();
    let mut mac = read("address").to_ascii_lowercase();
    if mac.chars().all(|c| c == '0' || c == ':') {
        mac.clear();
    }
    let has = |entry: &str| entries.binary_search_by(|e| e.as_str().cmp(entry)).is_ok();
    let devtype = uevent.lines().find_map(|l| l.strip_prefix("DEVTYPE=")).unwrap_or_default();
    let mut kind = sysfs_kind(arphrd, devtype, has);

    let mut driver = match kind {
        "physical" | "wireless" => device_driver(host, &base),
        _ => sysfs_driver(devtype, has).to_string(),
    };
    let mut permanent_mac = match read("bonding_slave/perm_hwaddr") {
        slave if !slave.is_empty() => normal_mac(&slave),
        _ if assign_type == "0" => mac.clone(),
        _ => String::new(),
    };
    if let Some(sock) = ethtool {
        if let Some(live) = sock.driver(&name) {
            driver = module_name(&live).to_string();
            if !matches!(kind, "loopback" | "wireless")
                && let Some(exact) = driver_kind(&driver)
            {
                kind = exact;
            }
        }
        if let Some(perm) = sock.permanent_mac(&name) {
            permanent_mac = perm;
        }
    }

    let speed_mbps = read("speed").parse::<i64>().ok().filter(|&s| s > 0).and_then(|s| u32::try_from(s).ok());
    let duplex = match read("duplex").as_str() {
        d @ ("full" | "half") => d.to_string(),
        _ => String::new(),
    };
    let iface = Interface {
        mac,
        mtu: read("mtu").parse().unwrap_or(0),
        state: read("operstate"),
        addresses: Vec::new(),
        kind: kind.to_string(),
        permanent_mac,
        speed_mbps: speed_mbps.unwrap_or(0),
        duplex,
        driver,
        name,
    };
    (read("ifindex").parse().unwrap_or(u32::MAX), iface)
}

/// ARPHRD types of IP-in-IP, IPv6-in-IPv6, SIT, GRE and IPv6-GRE tunnels.
const ARPHRD_TUNNELS: [u32; 5] = [768, 769, 776, 778, 823];
const ARPHRD_LOOPBACK: u32 = 772;
/// ARPHRD_NONE: a link without a link layer (tun, wireguard).
const ARPHRD_NONE: u32 = 65534;

/// The kind of a link from what its sysfs directory shows: the ARPHRD `type`, the `uevent`
/// DEVTYPE, and `has(entry)` for entries only one driver creates. A link with a parent device
/// and no more exact kind is `physical`; anything else is `virtual`, which is what a veth, a
/// macvlan or a dummy look like here.
pub fn sysfs_kind(arphrd: Option<u32>, devtype: &str, has: impl Fn(&str) -> bool) -> &'static str {
    if arphrd == Some(ARPHRD_LOOPBACK) {
        return "loopback";
    }
    match devtype {
        "bridge" => return "bridge",
        "bond" => return "bond",
        "vlan" => return "vlan",
        "wlan" | "wwan" => return "wireless",
        "vxlan" | "geneve" | "wireguard" | "bareudp" | "gtp" | "l2tpeth" => return "tunnel",
        _ => {}
    }
    if has("bridge") {
        "bridge"
    } else if has("bonding") {
        "bond"
    } else if has("wireless") || has("phy80211") {
        "wireless"
    } else if has("tun_flags") {
        "tun"
    } else if arphrd.is_some_and(|t| ARPHRD_TUNNELS.contains(&t) || t == ARPHRD_NONE) {
        "tunnel"
    } else if has("device") {
        "physical"
    } else {
        "virtual"
    }
}

/// The driver of a virtual link when sysfs shows something only that driver creates; empty
/// otherwise (a veth, macvlan or dummy leaves no trace of its driver in sysfs).
fn sysfs_driver(devtype: &str, has: impl Fn(&str) -> bool) -> &'static str {
    match devtype {
        "bridge" => return "bridge",
        "bond" => return "bonding",
        "vlan" => return "8021q",
        "vxlan" => return "vxlan",
        "geneve" => return "geneve",
        "wireguard" => return "wireguard",
        _ => {}
    }
    if has("bridge") {
        "bridge"
    } else if has("bonding") {
        "bonding"
    } else if has("tun_flags") {
        "tun"
    } else {
        ""
    }
}

/// The exact kind a driver name (as the ethtool ioctl reports it) stands for.
pub fn driver_kind(driver: &str) -> Option<&'static str> {
    Some(match driver {
        "veth" => "veth",
        "macvlan" | "macvtap" => "macvlan",
        "bridge" => "bridge",
        "bonding" => "bond",
        "8021q" => "vlan",
        "dummy" => "dummy",
        "tun" => "tun",
        "vxlan" | "geneve" | "wireguard" | "ip_gre" | "ip6_gre" | "ipip" | "sit" | "ip6_tunnel" | "ip_vti"
        | "ip6_vti" | "bareudp" | "gtp" => "tunnel",
        _ => return None,
    })
}

/// A driver's module name: the 8021q driver answers ethtool with its description.
fn module_name(driver: &str) -> &str {
    match driver {
        "802.1Q VLAN Support" => "8021q",
        other => other,
    }
}

/// The basename of the parent device's `driver` link (the link itself is read, not followed).
fn device_driver(host: &Host, base: &str) -> String {
    if !host.is_dir(&format!("{base}/device")) {
        return String::new();
    }
    let link = host.path(&format!("{base}/device")).join("driver");
    std::fs::read_link(link)
        .ok()
        .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// Lower-case `aa:bb:..`; empty when all zero.
fn normal_mac(mac: &str) -> String {
    let mac = mac.trim().to_ascii_lowercase();
    if mac.chars().all(|c| c == '0' || c == ':') { String::new() } else { mac }
}

/// The ethtool ioctl (SIOCETHTOOL), which answers for the caller's network namespace.
#[cfg(target_os = "linux")]
mod ethtool {
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixDatagram;

    const SIOCETHTOOL: u32 = 0x8946;
    const ETHTOOL_GDRVINFO: u32 = 0x03;
    const ETHTOOL_GPERMADDR: u32 = 0x20;
    const IFNAMSIZ: usize = 16;
    /// Longest hardware address the kernel knows (MAX_ADDR_LEN).
    const MAX_ADDR_LEN: usize = 32;
    /// `struct ethtool_drvinfo` is 196 bytes: cmd, driver[32], version[32], fw_version[32],
    /// bus_info[32], erom_version[32], reserved2[12], five u32.
    const DRVINFO_WORDS: usize = 49;

    /// `struct ifreq` with `ifr_data` (40 bytes on 64-bit targets, like the kernel's).
    #[repr(C)]
    struct IfReq {
        name: [u8; IFNAMSIZ],
        data: *mut u32,
        _pad: [u8; 16],
    }

    /// Any socket carries device ioctls to its namespace; an unbound Unix datagram socket
    /// needs no unsafe code to create and binds no port.
    pub struct Socket(UnixDatagram);

    impl Socket {
        pub fn open() -> Option<Self> {
            UnixDatagram::unbound().ok().map(Self)
        }

        /// Runs the ethtool command in `buf[0]` on link `name`; false when the kernel refuses.
        fn ioctl(&self, name: &str, buf: &mut [u32]) -> bool {
            let bytes = name.as_bytes();
            if bytes.is_empty() || bytes.len() >= IFNAMSIZ || bytes.contains(&0) {
                return false;
            }
            let mut ifr = IfReq { name: [0; IFNAMSIZ], data: buf.as_mut_ptr(), _pad: [0; 16] };
            ifr.name[..bytes.len()].copy_from_slice(bytes);
            // SAFETY: `ifr` is a live, writable `struct ifreq` with a NUL-terminated name, and
            // `ifr.data` points at `buf`, which outlives the call and is u32-aligned. The
            // kernel writes at most the size of the struct of the command in buf[0]; both
            // callers pass a buffer of that size (GPERMADDR: the header plus the MAX_ADDR_LEN
            // bytes announced in its `size` field).
            unsafe { libc::ioctl(self.0.as_raw_fd(), SIOCETHTOOL as _, &mut ifr) == 0 }
        }

        /// ETHTOOL_GDRVINFO's driver name (`ethtool -i`).
        pub fn driver(&self, name: &str) -> Option<String> {
            let mut buf = [0u32; DRVINFO_WORDS];
            buf[0] = ETHTOOL_GDRVINFO;
            if !self.ioctl(name, &mut buf) {
                return None;
            }
            let bytes: Vec<u8> = buf[1..9].iter().flat_map(|w| w.to_ne_bytes()).collect();
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            Some(String::from_utf8_lossy(&bytes[..end]).into_owned()).filter(|d| !d.is_empty())
        }

        /// ETHTOOL_GPERMADDR (`ethtool -P`): empty when the link has none (all zero).
        pub fn permanent_mac(&self, name: &str) -> Option<String> {
            let mut buf = [0u32; 2 + MAX_ADDR_LEN / 4];
            buf[0] = ETHTOOL_GPERMADDR;
            buf[1] = MAX_ADDR_LEN as u32;
            if !self.ioctl(name, &mut buf) {
                return None;
            }
            let len = (buf[1] as usize).min(MAX_ADDR_LEN);
            let bytes: Vec<u8> = buf[2..].iter().flat_map(|w| w.to_ne_bytes()).take(len).collect();
            if bytes.iter().all(|&b| b == 0) {
                return Some(String::new());
            }
            Some(bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"))
        }
    }
}

/// Other systems have no SIOCETHTOOL: sysfs evidence only.
#[cfg(not(target_os = "linux"))]
mod ethtool {
    pub struct Socket;

    impl Socket {
        pub fn open() -> Option<Self> {
            None
        }
        pub fn driver(&self, _name: &str) -> Option<String> {
            None
        }
        pub fn permanent_mac(&self, _name: &str) -> Option<String> {
            None
        }
    }
}

/// Every address of the live host's network namespace, by interface name.
fn live_addresses() -> Vec<(String, IpAddress)> {
    let mut out = Vec::new();
    for iface in pnet_datalink::interfaces() {
        // IPv4 addresses with a label ("eth0:1") belong to the interface before the colon.
        let name = iface.name.split(':').next().unwrap_or_default().to_string();
        for net in iface.ips {
            let ip = net.ip();
            out.push((
                name.clone(),
                IpAddress { address: ip.to_string(), prefix_len: net.prefix().into(), scope: scope_of(ip).into() },
            ));
        }
    }
    out
}

/// The scope `ip addr` prints for an address the kernel gave no explicit scope.
pub fn scope_of(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => "host",
        IpAddr::V4(v4) if v4.is_link_local() => "link",
        IpAddr::V4(_) => "global",
        IpAddr::V6(v6) if v6.is_loopback() => "host",
        IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => "link",
        IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfec0 => "site",
        IpAddr::V6(_) => "global",
    }
}

/// Parses /proc/net/if_inet6: `address(32 hex) ifindex prefix_len scope flags name`, all hex.
/// Malformed lines are skipped.
pub fn parse_if_inet6(text: &str) -> Vec<(String, IpAddress)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [addr, _index, prefix, scope, _flags, name] = f.as_slice() else { continue };
        if addr.len() != 32 {
            continue;
        }
        let (Ok(bits), Ok(prefix), Ok(scope)) =
            (u128::from_str_radix(addr, 16), u8::from_str_radix(prefix, 16), u8::from_str_radix(scope, 16))
        else {
            continue;
        };
        if prefix > 128 {
            continue;
        }
        let scope = match scope & 0xf0 {
            0x10 => "host",
            0x20 => "link",
            0x40 => "site",
            _ => "global",
        };
        out.push((
            name.to_string(),
            IpAddress { address: Ipv6Addr::from(bits).to_string(), prefix_len: prefix.into(), scope: scope.into() },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{collect_one, fixture};

    #[test]
    fn if_inet6_lines() {
        let text = "fe800000000000005054fffe123456 02 40 20 80     eth0\n\
                    20010db8000000000000000000000001 02 40 00 00     eth0\n\
                    00000000000000000000000000000001 01 80 10 80       lo\n\
                    zz 01 80 10 80 lo\n\
                    00000000000000000000000000000001 01 ff 10 80 lo\n";
        let got = parse_if_inet6(text);
        assert_eq!(got.len(), 2, "the short, non-hex and prefix>128 lines are skipped");
        assert_eq!(
            got[0],
            ("eth0".into(), IpAddress { address: "2001:db8::1".into(), prefix_len: 64, scope: "global".into() })
        );
        assert_eq!(got[1], ("lo".into(), IpAddress { address: "::1".into(), prefix_len: 128, scope: "host".into() }));
    }

    #[test]
    fn ipv4_default_routes() {
        let text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
                    eth0\t000200C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n\
                    wg0\t00000000\t00000000\t0001\t0\t0\t50\t00000000\t0\t0\t0\n\
                    bad\tzz\n";
        let r = parse_ipv4_routes(text);
        assert_eq!(
            r,
            [
                Route { family: "inet".into(), gateway: "192.0.2.1".into(), interface: "eth0".into(), metric: 100 },
                Route { family: "inet".into(), gateway: String::new(), interface: "wg0".into(), metric: 50 },
            ]
        );
    }

    #[test]
    fn ipv6_default_routes_skip_reject_and_non_default() {
        let text = "\
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00450003     eth0
20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
garbage line
";
        assert_eq!(
            parse_ipv6_routes(text),
            [Route { family: "inet6".into(), gateway: "fe80::1".into(), interface: "eth0".into(), metric: 1024 }]
        );
    }

    #[test]
    fn resolv_conf() {
        let (s, d) = parse_resolv_conf(
            "# generated\nnameserver 192.0.2.53\nnameserver 2001:db8::53 # v6\nnameserver not-an-ip\ndomain a.example\nsearch corp.example lab.example\noptions edns0\n",
        );
        assert_eq!(s, ["192.0.2.53", "2001:db8::53"]);
        assert_eq!(d, ["corp.example", "lab.example"]);
    }

    #[test]
    fn systemd_resolved_stub_reports_upstream_servers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::create_dir_all(dir.path().join("run/systemd/resolve")).unwrap();
        std::fs::write(dir.path().join("etc/resolv.conf"), "nameserver 127.0.0.53\nsearch lan\n").unwrap();
        std::fs::write(dir.path().join("run/systemd/resolve/resolv.conf"), "nameserver 192.0.2.1\nsearch lan\n")
            .unwrap();
        let host = Host::open(dir.path()).unwrap();
        let mut warnings = Vec::new();
        let got = resolvers(&host, &mut Warnings { source: "network", out: &mut warnings });
        assert_eq!(got, (vec!["192.0.2.1".to_string()], vec!["lan".to_string()]));
        assert!(warnings.is_empty());
    }

    #[test]
    fn scopes() {
        assert_eq!(scope_of("127.0.0.1".parse().unwrap()), "host");
        assert_eq!(scope_of("169.254.1.1".parse().unwrap()), "link");
        assert_eq!(scope_of("192.0.2.1".parse().unwrap()), "global");
        assert_eq!(scope_of("fe80::1".parse().unwrap()), "link");
        assert_eq!(scope_of("2001:db8::1".parse().unwrap()), "global");
    }

    #[test]
    fn debian_fixture() {
        let (inv, warnings) = collect_one(&Network, &fixture("debian12"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].message.starts_with("ipv4 addresses are kernel state"));
        let ifaces = &inv.network.interfaces;
        let names: Vec<_> = ifaces.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["lo", "eth0"], "ordered by ifindex");
        assert_eq!(ifaces[0].mac, "", "loopback has no MAC");
        let eth0 = &ifaces[1];
        assert_eq!(eth0.mac, "52:54:00:12:34:56");
        assert_eq!(eth0.mtu, 1500);
        assert_eq!(eth0.state, "up");
        let addrs: Vec<_> =
            eth0.addresses.iter().map(|a| (a.address.as_str(), a.prefix_len, a.scope.as_str())).collect();
        assert_eq!(addrs, [("fe80::5054:ff:fe12:3456", 64, "link"), ("2001:db8:10::5", 64, "global")]);
        let routes: Vec<_> =
            inv.network.default_routes.iter().map(|r| (r.family.as_str(), r.gateway.as_str())).collect();
        assert_eq!(routes, [("inet", "192.0.2.1"), ("inet6", "fe80::1")]);
        assert_eq!(inv.network.dns_servers, ["192.0.2.53"]);
        assert_eq!(inv.network.dns_search, ["example.org"]);
    }

    /// (name, kind, driver, permanent MAC, speed, duplex) of one interface.
    type Facts = (String, String, String, String, u32, String);

    fn link_facts(root: &str) -> (Vec<Facts>, Vec<String>) {
        let (inv, warnings) = collect_one(&Network, &fixture(root));
        let facts = inv
            .network
            .interfaces
            .into_iter()
            .map(|i| (i.name, i.kind, i.driver, i.permanent_mac, i.speed_mbps, i.duplex))
            .collect();
        let warnings = warnings.into_iter().map(|w| w.message).filter(|m| !m.starts_with("ipv4 addresses")).collect();
        (facts, warnings)
    }

    fn row(name: &str, kind: &str, driver: &str, perm: &str, speed: u32, duplex: &str) -> Facts {
        (name.into(), kind.into(), driver.into(), perm.into(), speed, duplex.into())
    }

    #[test]
    fn laptop_fixture_links() {
        let (facts, warnings) = link_facts("laptop");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            facts,
            [
                row("lo", "loopback", "", "", 0, ""),
                // Cable out: the driver reports speed -1 and duplex "unknown".
                row("enp0s31f6", "physical", "e1000e", "8c:16:45:3a:7e:21", 0, ""),
                // Wi-Fi has no speed or duplex file (cfg80211 answers EOPNOTSUPP).
                row("wlp0s20f3", "wireless", "iwlwifi", "a4:c3:f0:5d:19:8b", 0, ""),
                row("docker0", "bridge", "bridge", "", 10000, ""),
                // A veth: sysfs shows nothing that tells it apart from a macvlan or a dummy.
                row("vethb1c2d3e", "virtual", "", "", 10000, "full"),
            ]
        );
    }

    #[test]
    fn server_fixture_bond_vlan_bridge() {
        let (facts, warnings) = link_facts("server");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            facts,
            [
                row("lo", "loopback", "", "", 0, ""),
                // Bond slaves carry the bond's MAC; their own is bonding_slave/perm_hwaddr.
                row("eno1", "physical", "i40e", "3c:fd:fe:a1:b2:c0", 10000, "full"),
                row("eno2", "physical", "i40e", "3c:fd:fe:a1:b2:c1", 10000, "full"),
                row("bond0", "bond", "bonding", "", 20000, "full"),
                row("bond0.100", "vlan", "8021q", "", 20000, "full"),
                row("br0", "bridge", "bridge", "", 20000, ""),
            ]
        );
        let (inv, _) = collect_one(&Network, &fixture("server"));
        assert!(inv.network.interfaces[1..].iter().all(|i| i.mac == "3c:fd:fe:a1:b2:c0"));
    }

    #[test]
    fn vm_and_container_fixtures() {
        let (facts, warnings) = link_facts("vm");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            facts,
            [row("lo", "loopback", "", "", 0, ""), row("ens3", "physical", "virtio_net", "52:54:00:6b:3c:5e", 0, "")]
        );
        let (facts, warnings) = link_facts("container");
        assert!(warnings.is_empty(), "{warnings:?}");
        // The container's end of a veth: no parent device, a Docker-set (not permanent) MAC.
        assert_eq!(facts, [row("lo", "loopback", "", "", 0, ""), row("eth0", "virtual", "", "", 10000, "full")]);
    }

    #[test]
    fn netkinds_fixture_every_kind_sysfs_can_tell() {
        let (facts, warnings) = link_facts("netkinds");
        let kinds: Vec<(&str, &str, &str)> = facts.iter().map(|f| (f.0.as_str(), f.1.as_str(), f.2.as_str())).collect();
        assert_eq!(
            kinds,
            [
                ("lo", "loopback", ""),
                // dummy, veth and macvlan have no DEVTYPE and no parent: exact only live.
                ("dummy0", "virtual", ""),
                ("veth0", "virtual", ""),
                ("veth1", "virtual", ""),
                ("mv0", "virtual", ""),
                ("vx0", "tunnel", "vxlan"),
                ("tun0", "tun", "tun"),
                ("wg0", "tunnel", "wireguard"),
                ("tunl0", "tunnel", ""),
                ("gre0", "tunnel", ""),
                ("sit0", "tunnel", ""),
                ("ip6tnl0", "tunnel", ""),
                ("wwan0", "wireless", ""),
                ("odd0", "virtual", ""),
                ("big0", "virtual", ""),
                ("bad0", "virtual", ""),
            ]
        );
        assert!(facts.iter().all(|f| f.3.is_empty() || f.0 == "big0"), "no all-zero permanent MACs: {facts:?}");
        let odd = &facts[13];
        assert_eq!((odd.4, odd.5.as_str()), (0, ""), "speed and duplex that are not values are unknown");
        let big = &facts[14];
        assert_eq!((big.4, big.5.as_str()), (0, "half"), "a speed beyond u32 is unknown");
        assert_eq!(warnings, ["sys/class/net/bad0/uevent: Is a directory (os error 21)"]);
    }

    #[test]
    fn kinds_from_sysfs_evidence() {
        let none = |_: &str| false;
        assert_eq!(sysfs_kind(Some(772), "", none), "loopback");
        assert_eq!(sysfs_kind(Some(1), "bond", none), "bond");
        assert_eq!(sysfs_kind(Some(1), "wlan", |e| e == "device"), "wireless");
        assert_eq!(sysfs_kind(Some(65534), "", |e| e == "tun_flags"), "tun");
        assert_eq!(sysfs_kind(Some(65534), "", none), "tunnel");
        assert_eq!(sysfs_kind(Some(823), "", none), "tunnel");
        assert_eq!(sysfs_kind(Some(1), "", |e| e == "bonding"), "bond");
        assert_eq!(sysfs_kind(Some(1), "", |e| e == "phy80211" || e == "device"), "wireless");
        assert_eq!(sysfs_kind(Some(1), "", |e| e == "device"), "physical");
        assert_eq!(sysfs_kind(None, "macsec", none), "virtual");
        assert_eq!(driver_kind("veth"), Some("veth"));
        assert_eq!(driver_kind(module_name("802.1Q VLAN Support")), Some("vlan"));
        assert_eq!(driver_kind("macvtap"), Some("macvlan"));
        assert_eq!(driver_kind("e1000e"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn ethtool_ioctl_refuses_bad_names_and_answers_for_lo() {
        let sock = ethtool::Socket::open().unwrap();
        assert_eq!(sock.driver("a\0b"), None);
        assert_eq!(sock.driver("name-longer-than-15"), None);
        assert_eq!(sock.driver("census-no-such"), None);
        // lo exists in every namespace and has no hardware address.
        assert_eq!(sock.permanent_mac("lo"), Some(String::new()));
    }
}
