//! Network interfaces: link facts from sys/class/net, addresses from the kernel.
//!
//! Link facts (MAC, MTU, operstate, ifindex) are files and come from the root. IPv6 addresses
//! are in proc/net/if_inet6; IPv4 addresses exist only behind getifaddrs(3), so for the live
//! root both families come from getifaddrs (through pnet), and for any other root IPv6 comes from
//! if_inet6 and the absence of IPv4 is stated in a warning.

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
        let mut links: Vec<(u32, Interface)> = names.into_iter().map(|name| link(host, name)).collect();
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

fn link(host: &Host, name: String) -> (u32, Interface) {
    let base = format!("sys/class/net/{name}");
    let read = |rel: &str| host.read_value(&format!("{base}/{rel}")).ok().flatten().unwrap_or_default();
    let mut mac = read("address").to_ascii_lowercase();
    if mac.chars().all(|c| c == '0' || c == ':') {
        mac.clear();
    }
    let iface = Interface {
        mac,
        mtu: read("mtu").parse().unwrap_or(0),
        state: read("operstate"),
        addresses: Vec::new(),
        name,
        ..Interface::default()
    };
    (read("ifindex").parse().unwrap_or(u32::MAX), iface)
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
}
