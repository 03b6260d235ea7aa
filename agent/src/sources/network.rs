//! Network interfaces: link facts from sys/class/net, addresses from the kernel.
//!
//! Link facts (MAC, MTU, operstate, ifindex) are files and come from the root. IPv6 addresses
//! are in proc/net/if_inet6; IPv4 addresses exist only behind getifaddrs(3), so for the live
//! root both families come from getifaddrs (through pnet), and for any other root IPv6 comes from
//! if_inet6 and the absence of IPv4 is stated in a warning.

use std::net::{IpAddr, Ipv6Addr};

use census_inventory::{Interface, Inventory, IpAddress};

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
    }
}

fn link(host: &Host, name: String) -> (u32, Interface) {
    let base = format!("sys/class/net/{name}");
    let read = |rel: &str| host.read_value(&format!("{base}/{rel}")).ok().flatten().unwrap_or_default();
    let mut mac = read("address").to_ascii_lowercase();
    if mac.chars().all(|c| c == '0' || c == ':') {
        mac.clear();
    }
    let iface =
        Interface { mac, mtu: read("mtu").parse().unwrap_or(0), state: read("operstate"), addresses: Vec::new(), name };
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
    }
}
