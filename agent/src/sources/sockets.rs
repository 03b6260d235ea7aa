//! Listening sockets: TCP sockets in LISTEN and unconnected (bound) UDP sockets, from
//! proc/net/{tcp,tcp6,udp,udp6}, each with the process that holds it.
//!
//! The owner of a socket is found as `ss -p` finds it: the socket's inode appears as the link
//! target `socket:[INODE]` of a descriptor in proc/PID/fd. A process whose fd directory the
//! agent may not read (another user's, when not root) is skipped, so its sockets have pid 0
//! and no process name. A socket held by several processes (inherited across fork, or passed
//! by systemd's socket activation) is reported once, with the lowest pid holding it. The walk
//! runs only when there is a socket to look for, stops when every one is found, and reads at
//! most [`MAX_FD_LINKS`] descriptors.
//!
//! Addresses in these files are the kernel's 32-bit words printed as host-order numbers, so
//! they are decoded with the native byte order: the files describe the machine that wrote them.
//!
//! On the live root, TCP listeners come from a LISTEN-only NETLINK_SOCK_DIAG dump (what `ss -lt`
//! does) instead of proc/net/tcp and tcp6: reading those files makes the kernel walk its whole
//! established-connection hash, which is sized by memory (262144 buckets and 1.2 ms per file
//! on a 23 GB machine, more on a large server, with no connection at all), while the LISTEN
//! dump walks only the listening hash. When the dump fails (no inet_diag, a sandbox), the files
//! are read. UDP tables are small and are always read from the files.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::ffi::OsStrExt;

use census_inventory::{Inventory, ListeningSocket};

use super::{Source, Warnings};
use crate::host::{Host, Line};

pub struct Sockets;

/// Lines read from one proc/net table at most (a busy server has one line per connection).
const MAX_LINES: usize = 1_000_000;
/// Descriptor links read at most while mapping sockets to processes.
pub const MAX_FD_LINKS: usize = 200_000;

const TCP_LISTEN: u8 = 0x0A;
/// TCP_CLOSE, the state of a UDP socket that is not connected.
const UDP_UNCONNECTED: u8 = 0x07;

/// The tables read, with their protocol.
const TABLES: [(&str, &str); 4] =
    [("proc/net/tcp", "tcp"), ("proc/net/tcp6", "tcp"), ("proc/net/udp", "udp"), ("proc/net/udp6", "udp")];

impl Source for Sockets {
    fn name(&self) -> &'static str {
        "sockets"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        let mut found: Vec<(&'static str, ProcSocket)> = Vec::new();
        for (rel, protocol) in TABLES {
            if host.is_live()
                && protocol == "tcp"
                && let Ok(listeners) = diag::tcp_listeners(rel.ends_with('6'))
            {
                found.extend(listeners.into_iter().map(|s| ("tcp", s)));
                continue;
            }
            read_table(host, rel, protocol, &mut found, w);
        }
        let wanted: HashSet<u64> = found.iter().map(|(_, s)| s.inode).filter(|&i| i != 0).collect();
        let owners = if wanted.is_empty() { HashMap::new() } else { owners(host, &wanted, w) };
        let mut names: HashMap<u32, String> = HashMap::new();
        let mut out: Vec<(&str, u16, IpAddr, u32, String)> = found
            .into_iter()
            .map(|(protocol, s)| {
                let pid = owners.get(&s.inode).copied().unwrap_or(0);
                let process = if pid == 0 {
                    String::new()
                } else {
                    names
                        .entry(pid)
                        .or_insert_with(|| {
                            host.read_value(&format!("proc/{pid}/comm")).ok().flatten().unwrap_or_default()
                        })
                        .clone()
                };
                (protocol, s.port, s.address, pid, process)
            })
            .collect();
        out.sort();
        out.dedup_by(|a, b| (a.0, a.1, a.2, a.3) == (b.0, b.1, b.2, b.3));
        inv.network.listening = out
            .into_iter()
            .map(|(protocol, port, address, pid, process)| ListeningSocket {
                protocol: protocol.to_string(),
                address: address.to_string(),
                port: port.into(),
                process,
                pid,
            })
            .collect();
    }
}

/// Adds the listening sockets of one proc/net table. An absent table (no IPv6) is silence;
/// unreadable and malformed lines are one warning for the file.
fn read_table(
    host: &Host,
    rel: &str,
    protocol: &'static str,
    out: &mut Vec<(&'static str, ProcSocket)>,
    w: &mut Warnings<'_>,
) {
    let lines = match host.lines(rel) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            w.push(format!("{rel}: {e}"));
            return;
        }
    };
    let mut malformed = 0usize;
    for (n, line) in lines.enumerate() {
        if n == MAX_LINES {
            w.push(format!("{rel}: stopped after {MAX_LINES} lines"));
            break;
        }
        let text = match line {
            Ok(Line::Text(t)) => t,
            Ok(Line::TooLong { .. }) => {
                malformed += 1;
                continue;
            }
            Err(e) => {
                w.push(format!("{rel}: {e}"));
                break;
            }
        };
        match parse_socket_line(&text) {
            Ok(Some(s)) if is_listening(protocol, &s) => out.push((protocol, s)),
            Ok(_) => {}
            Err(_) => malformed += 1,
        }
    }
    if malformed > 0 {
        w.push(format!("{rel}: {malformed} malformed lines skipped"));
    }
}

/// One socket line of proc/net/{tcp,tcp6,udp,udp6}.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcSocket {
    pub address: IpAddr,
    pub port: u16,
    /// True when the remote address and port are all zero (not connected).
    pub remote_unspecified: bool,
    /// The kernel's TCP state number (UDP reuses them: 07 unconnected, 01 connected).
    pub state: u8,
    /// 0 for a socket no longer tied to a file (TIME_WAIT).
    pub inode: u64,
}

/// Whether a socket of `protocol` waits for traffic: TCP in LISTEN, UDP unconnected.
pub fn is_listening(protocol: &str, s: &ProcSocket) -> bool {
    match protocol {
        "tcp" => s.state == TCP_LISTEN,
        "udp" => s.state == UDP_UNCONNECTED && s.remote_unspecified,
        _ => false,
    }
}

/// Parses one line of proc/net/{tcp,tcp6,udp,udp6}:
/// `sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...`
/// with addresses `HEXADDR:HEXPORT`. The header (and an empty line) is `Ok(None)`.
pub fn parse_socket_line(line: &str) -> Result<Option<ProcSocket>, &'static str> {
    let f: Vec<&str> = line.split_whitespace().take(10).collect();
    match f.first() {
        None => return Ok(None),
        Some(&"sl") => return Ok(None),
        Some(_) => {}
    }
    let [slot, local, remote, state, _queues, _timer, _retransmits, _uid, _timeout, inode] = f.as_slice() else {
        return Err("too few fields");
    };
    if !slot.ends_with(':') {
        return Err("no slot number");
    }
    let (address, port) = endpoint(local)?;
    let (remote_address, remote_port) = endpoint(remote)?;
    if state.len() != 2 {
        return Err("bad state");
    }
    Ok(Some(ProcSocket {
        address,
        port,
        remote_unspecified: remote_address.is_unspecified() && remote_port == 0,
        state: u8::from_str_radix(state, 16).map_err(|_| "bad state")?,
        inode: inode.parse().map_err(|_| "bad inode")?,
    }))
}

/// `HEXADDR:HEXPORT`: 8 hex digits (IPv4) or 32 (IPv6, four words), each word a host-order
/// number; the port is a plain hex number.
fn endpoint(text: &str) -> Result<(IpAddr, u16), &'static str> {
    let (addr, port) = text.split_once(':').ok_or("no port")?;
    if port.len() != 4 || !port.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("bad port");
    }
    let port = u16::from_str_radix(port, 16).map_err(|_| "bad port")?;
    if !addr.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("bad address");
    }
    let word = |i: usize| u32::from_str_radix(&addr[i * 8..i * 8 + 8], 16).map(u32::to_ne_bytes);
    let address = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0).map_err(|_| "bad address")?)),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i).map_err(|_| "bad address")?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return Err("bad address length"),
    };
    Ok((address, port))
}

/// `socket:[INODE]`, the link target of a socket descriptor.
pub fn socket_inode(target: &[u8]) -> Option<u64> {
    let digits = target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The lowest pid holding each wanted socket inode, from proc/PID/fd links under the root.
fn owners(host: &Host, wanted: &HashSet<u64>, w: &mut Warnings<'_>) -> HashMap<u64, u32> {
    let mut owners = HashMap::new();
    let Ok(entries) = std::fs::read_dir(host.path("proc")) else { return owners };
    let mut pids: Vec<u32> =
        entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).filter(|&p| p != 0).collect();
    pids.sort_unstable();
    let mut budget = MAX_FD_LINKS;
    for pid in pids {
        // Unreadable (another user's process) or gone: skipped without a word, as ss does.
        let Ok(fds) = std::fs::read_dir(host.path(&format!("proc/{pid}/fd"))) else { continue };
        for fd in fds.flatten() {
            if budget == 0 {
                w.push(format!("stopped mapping sockets to processes after {MAX_FD_LINKS} descriptors"));
                return owners;
            }
            budget -= 1;
            // The link is read, never followed: its target is only a name.
            let Ok(target) = std::fs::read_link(fd.path()) else { continue };
            if let Some(inode) = socket_inode(target.as_os_str().as_bytes())
                && wanted.contains(&inode)
            {
                owners.entry(inode).or_insert(pid);
                if owners.len() == wanted.len() {
                    return owners;
                }
            }
        }
    }
    owners
}

/// NETLINK_SOCK_DIAG: the kernel's socket tables of the caller's network namespace.
#[cfg(target_os = "linux")]
mod diag {
    use std::io;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use super::{ProcSocket, TCP_LISTEN};
    use crate::netlink;

    const NETLINK_SOCK_DIAG: libc::c_int = 4;
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    /// `struct inet_diag_msg`: family, state, timer, retrans, sockid (48), expires, rqueue,
    /// wqueue, uid, inode.
    const DIAG_MSG_LEN: usize = 72;
    /// Datagrams read at most for one dump (each holds up to 32 KiB of messages).
    const MAX_READS: usize = 100_000;

    /// TCP sockets in LISTEN of one family (IPv6 when `v6`).
    pub fn tcp_listeners(v6: bool) -> io::Result<Vec<ProcSocket>> {
        let family = if v6 { libc::AF_INET6 } else { libc::AF_INET } as u8;
        // inet_diag_req_v2 {family, protocol, ext, pad, states, sockid (zero)}.
        let mut req = [0u8; 56];
        req[0] = family;
        req[1] = libc::IPPROTO_TCP as u8;
        req[4..8].copy_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
        let mut out = Vec::new();
        netlink::dump(NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, &req, MAX_READS, |kind, msg| {
            socket(kind, msg, family, &mut out)
        })?;
        Ok(out)
    }

    /// Adds the sockets of one datagram of a sock_diag dump; true at its end (NLMSG_DONE).
    #[cfg(test)]
    pub fn parse_dump(data: &[u8], family: u8, out: &mut Vec<ProcSocket>) -> io::Result<bool> {
        netlink::walk(data, &mut |kind, msg: &[u8]| socket(kind, msg, family, out))
    }

    fn socket(kind: u16, msg: &[u8], family: u8, out: &mut Vec<ProcSocket>) {
        if kind != SOCK_DIAG_BY_FAMILY || msg.len() < DIAG_MSG_LEN || msg[0] != family {
            return;
        }
        let src = &msg[8..24];
        let address = if family == libc::AF_INET as u8 {
            IpAddr::V4(Ipv4Addr::new(src[0], src[1], src[2], src[3]))
        } else {
            let mut b = [0u8; 16];
            b.copy_from_slice(src);
            IpAddr::V6(Ipv6Addr::from(b))
        };
        out.push(ProcSocket {
            address,
            port: u16::from_be_bytes([msg[4], msg[5]]),
            remote_unspecified: true,
            state: msg[1],
            inode: u32::from_ne_bytes([msg[68], msg[69], msg[70], msg[71]]).into(),
        });
    }
}

/// Other systems: the files only.
#[cfg(not(target_os = "linux"))]
mod diag {
    pub fn tcp_listeners(_v6: bool) -> std::io::Result<Vec<super::ProcSocket>> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::collect_one;
    use std::os::unix::fs::symlink;

    // Real lines from /proc/net/tcp and tcp6 of an x86-64 host (little-endian words).
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   107        0 8515 1 00000000a1d9e467 100 0 0 10 0
   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1117 1 0000000016113ef3 100 0 0 10 0
   9: 0100007F:1111 0100007F:DFC0 06 00000000:00000000 03:00000573 00000000     0        0 0 3 00000000ebd035fc
  10: 0100007F:B0D8 0100007F:1111 01 00000000:00000000 00:00000000 00000000   106        0 5658 1 000000006ed9d166 20 4 30 11 -1
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1111 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 5567 1 000000001069f345 100 0 0 10 0
   1: B80D0120000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7001 1 000000001069f345 100 0 0 10 0
";
    const UDP: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  562: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 2001 2 0000000000000000 0
  700: 0A0200C0:D431 010200C0:0035 01 00000000:00000000 00:00000000 00000000  1000        0 2002 2 0000000000000000 0
";

    #[cfg(target_endian = "little")]
    #[test]
    fn tcp_lines_v4_and_v6() {
        let parse = |t: &str| -> Vec<ProcSocket> { t.lines().filter_map(|l| parse_socket_line(l).unwrap()).collect() };
        let v4 = parse(TCP);
        assert_eq!(v4.len(), 4);
        assert_eq!(v4[0].address, IpAddr::from([127, 0, 0, 1]));
        assert_eq!((v4[0].port, v4[0].state, v4[0].inode), (3306, TCP_LISTEN, 8515));
        assert!(v4[0].remote_unspecified);
        assert_eq!((v4[1].address.to_string(), v4[1].port), ("0.0.0.0".into(), 2024));
        let listening: Vec<u16> = v4.iter().filter(|s| is_listening("tcp", s)).map(|s| s.port).collect();
        assert_eq!(listening, [3306, 2024], "TIME_WAIT and ESTABLISHED are not listening");
        let v6 = parse(TCP6);
        assert_eq!((v6[0].address.to_string(), v6[0].port), ("::1".into(), 4369));
        assert_eq!((v6[1].address.to_string(), v6[1].port), ("2001:db8::1".into(), 80));
        let udp = parse(UDP);
        assert_eq!((udp[0].address.to_string(), udp[0].port), ("127.0.0.53".into(), 53));
        assert!(is_listening("udp", &udp[0]));
        assert!(!is_listening("udp", &udp[1]), "a connected UDP socket waits for nobody");
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        for line in [
            "   0: 0100007F:0CEA",
            "   0: 0100007F:0CEA 00000000:0000 0A 0 0 0 107 0",
            "   0: 0100007G:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 107 0 8515",
            "   0: 0100007F:0CEAA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 107 0 8515",
            "   0: 0100007F:+CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 107 0 8515",
            "   0: 01007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 107 0 8515",
            "   0: 0100007F:0CEA 00000000:0000 ZZ 00000000:00000000 00:00000000 00000000 107 0 8515",
            "   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 107 0 -1",
            "   0: é0100007F:0CE 00000000:0000 0A 00000000:00000000 00:00000000 00000000 107 0 1",
            "   0: 0000000000000000000000000100000é:1111 00000000:0000 0A a b c d e 5",
            "0 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 107 0 8515",
        ] {
            assert!(parse_socket_line(line).is_err(), "{line}");
        }
        assert_eq!(parse_socket_line(""), Ok(None));
    }

    #[test]
    fn socket_links() {
        assert_eq!(socket_inode(b"socket:[8515]"), Some(8515));
        for bad in [&b"socket:[]"[..], b"socket:[12", b"pipe:[8515]", b"socket:[+1]", b"/dev/null"] {
            assert_eq!(socket_inode(bad), None);
        }
    }

    /// A root with proc/net tables and two processes, one sharing a socket with its child.
    #[cfg(target_endian = "little")]
    #[test]
    fn sockets_map_to_the_lowest_pid_holding_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("proc/net")).unwrap();
        std::fs::write(root.join("proc/net/tcp"), TCP).unwrap();
        std::fs::write(root.join("proc/net/tcp6"), TCP6).unwrap();
        std::fs::write(root.join("proc/net/udp"), format!("{UDP}  9: garbage\n")).unwrap();
        for (pid, comm, links) in [
            (812u32, "mariadbd", &[("3", "socket:[8515]"), ("4", "/dev/null")][..]),
            (900, "mariadbd", &[("5", "socket:[8515]")]),
            (77, "epmd", &[("3", "socket:[5567]"), ("4", "pipe:[99]")]),
        ] {
            let fd = root.join(format!("proc/{pid}/fd"));
            std::fs::create_dir_all(&fd).unwrap();
            std::fs::write(root.join(format!("proc/{pid}/comm")), format!("{comm}\n")).unwrap();
            for (n, target) in links {
                symlink(target, fd.join(n)).unwrap();
            }
        }
        let (inv, warnings) = collect_one(&Sockets, &Host::open(root).unwrap());
        let got: Vec<_> = inv
            .network
            .listening
            .iter()
            .map(|s| (s.protocol.as_str(), s.address.as_str(), s.port, s.process.as_str(), s.pid))
            .collect();
        assert_eq!(
            got,
            [
                ("tcp", "2001:db8::1", 80, "", 0),
                ("tcp", "0.0.0.0", 2024, "", 0),
                ("tcp", "127.0.0.1", 3306, "mariadbd", 812),
                ("tcp", "::1", 4369, "epmd", 77),
                ("udp", "127.0.0.53", 53, "", 0),
            ]
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].message, "proc/net/udp: 1 malformed lines skipped");
    }

    #[test]
    fn no_tables_is_silence() {
        let dir = tempfile::tempdir().unwrap();
        let (inv, warnings) = collect_one(&Sockets, &Host::open(dir.path()).unwrap());
        assert!(inv.network.listening.is_empty());
        assert!(warnings.is_empty());
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn fixture_roots() {
        let listening = |root: &str| {
            let (inv, warnings) = collect_one(&Sockets, &crate::sources::fixture(root));
            assert!(warnings.is_empty(), "{root}: {warnings:?}");
            inv.network.listening.iter().map(|s| format!("{}/{}:{}", s.protocol, s.address, s.port)).collect::<Vec<_>>()
        };
        // The established connection and the TIME_WAIT one are not listening.
        assert_eq!(listening("container"), ["tcp/0.0.0.0:80", "tcp/:::80"]);
        assert_eq!(
            listening("laptop"),
            [
                "tcp/127.0.0.53:53",
                "tcp/127.0.0.1:631",
                "tcp/::1:631",
                "udp/127.0.0.53:53",
                "udp/0.0.0.0:5353",
                "udp/:::5353"
            ]
        );
        assert_eq!(
            listening("server"),
            ["tcp/0.0.0.0:22", "tcp/:::22", "tcp/127.0.0.1:9090", "udp/127.0.0.1:323", "udp/::1:323"]
        );
    }

    /// The netlink dump and the proc file agree on the live host's TCP listeners.
    #[cfg(target_os = "linux")]
    #[test]
    fn netlink_listeners_equal_proc_net_tcp() {
        for (v6, rel) in [(false, "/proc/net/tcp"), (true, "/proc/net/tcp6")] {
            let Ok(text) = std::fs::read_to_string(rel) else { continue };
            let from_file: std::collections::BTreeSet<_> = text
                .lines()
                .filter_map(|l| parse_socket_line(l).ok().flatten())
                .filter(|s| is_listening("tcp", s))
                .map(|s| (s.address, s.port, s.inode))
                .collect();
            let Ok(dump) = diag::tcp_listeners(v6) else {
                eprintln!("skipped: no sock_diag here");
                return;
            };
            let from_netlink: std::collections::BTreeSet<_> =
                dump.iter().map(|s| (s.address, s.port, s.inode)).collect();
            assert_eq!(from_netlink, from_file, "{rel}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn netlink_dump_parsing_is_bounded() {
        let mut out = Vec::new();
        assert!(diag::parse_dump(&[0xff; 15], 2, &mut out).is_ok_and(|done| !done));
        let mut msg = vec![0u8; 16];
        msg[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(diag::parse_dump(&msg, 2, &mut out).is_err(), "a length beyond the datagram");
        msg[0..4].copy_from_slice(&16u32.to_ne_bytes());
        msg[4..6].copy_from_slice(&3u16.to_ne_bytes());
        assert!(diag::parse_dump(&msg, 2, &mut out).unwrap());
        assert!(out.is_empty());
    }
}
