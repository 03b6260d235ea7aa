//! `census-agent neighbors`: the devices this host hears, from a capture file or a live,
//! receive-only capture, else from the kernel's neighbour tables.
//!
//! The live capture opens a pnet datalink channel (an `AF_PACKET` socket, promiscuous) and only
//! ever reads from it: the sending half is dropped unused, so discovery never transmits. A
//! blocking thread (never the async runtime) drains the socket, folds each frame into the
//! bounded table itself, then sleeps [`IDLE`]; the bounded queue is the socket's receive buffer,
//! where the kernel drops (and counts) what does not fit. Without
//! CAP_NET_RAW the channel cannot be opened, and the command falls back to what the kernel
//! already knows: IPv4 from `/proc/net/arp`, IPv6 from an `RTM_GETNEIGH` netlink dump, each
//! entry with protocol `kernel`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use census_discovery::oui::Oui;
use census_discovery::pcap::{self, Damage, LINKTYPE_ETHERNET, Record};
use census_discovery::table::{Counters, Limits, NeighborTable, mac_string, parse_mac};
use census_inventory::Neighbor;

use crate::render::Format;

/// How long a capture thread sleeps once it has read every frame waiting in the socket. Reading
/// in bursts this way costs two syscalls per frame and no wake-up per frame: blocking on each
/// frame instead cost 2.5% of a core at 2,000 frames/s (`bench/discovery.sh`). The socket
/// buffer holds what arrives meanwhile (the kernel counts what it cannot hold).
const IDLE: Duration = Duration::from_millis(50);
/// Largest frame read from a live capture (jumbo frames included).
const SNAPLEN: usize = 65_536;

/// What a run saw besides the table's own counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    /// Capture-file packets of another link type than Ethernet.
    pub other_linktype: u64,
    /// Damaged capture-file records.
    pub damaged: u64,
}

/// Replays a pcap or pcapng file into `table`, with the file's timestamps.
pub fn replay(path: &Path, table: &mut NeighborTable) -> anyhow::Result<Extra> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = pcap::Reader::new(io::BufReader::with_capacity(256 * 1024, file))
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut extra = Extra::default();
    while let Some(record) = reader.next_record().with_context(|| format!("cannot read {}", path.display()))? {
        match record {
            Record::Packet(p) if p.linktype == LINKTYPE_ETHERNET => table.ingest(p.data, "pcap", p.timestamp),
            Record::Packet(_) => extra.other_linktype += 1,
            Record::Damaged(d) => {
                extra.damaged += 1;
                if d != Damage::BadBlock {
                    tracing::warn!("{}: {}", path.display(), damage_text(d));
                }
            }
        }
    }
    Ok(extra)
}

fn damage_text(d: Damage) -> &'static str {
    match d {
        Damage::Truncated => "the file ends inside a record; read up to there",
        Damage::BadLength => "a record has an impossible length; read up to there",
        Damage::BadBlock => "an inconsistent block was skipped",
    }
}

/// Why a live capture did not run.
#[derive(Debug)]
pub enum CaptureError {
    /// EPERM/EACCES opening the socket: no CAP_NET_RAW.
    NotPermitted(io::Error),
    Other(anyhow::Error),
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn find_interface(name: &str) -> anyhow::Result<pnet_datalink::NetworkInterface> {
    pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == name)
        .with_context(|| format!("no such interface: {name}"))
}

/// Listens on `interface` for `duration`, receive only, folding what it hears into `table`.
pub fn capture(interface: &str, duration: Duration, table: &mut NeighborTable) -> Result<Extra, CaptureError> {
    let iface = find_interface(interface).map_err(CaptureError::Other)?;
    if let Some(mac) = iface.mac {
        // Our own outgoing frames are captured too; they do not describe a neighbour.
        table.ignore_mac(mac.octets());
    }
    let mut tap = match Tap::open(&iface) {
        Ok(tap) => tap,
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES)) => {
            return Err(CaptureError::NotPermitted(e));
        }
        Err(e) => {
            return Err(CaptureError::Other(anyhow::Error::new(e).context(format!("cannot capture on {interface}"))));
        }
    };
    // Frames are folded in on this thread as they are read: handing each one to another thread
    // cost two wake-ups per frame (3.5% of a core at 2,000 frames/s, against 0.03% for tcpdump).
    let deadline = Instant::now() + duration;
    while Instant::now() < deadline {
        match tap.next() {
            Ok(Some(frame)) => table.ingest(frame, interface, now_unix()),
            Ok(None) => std::thread::sleep(IDLE),
            Err(e) => {
                return Err(CaptureError::Other(
                    anyhow::Error::new(e).context(format!("capture on {interface} failed")),
                ));
            }
        }
    }
    Ok(Extra::default())
}

/// One `/proc/net/arp` line: (IPv4, MAC, device) for a complete entry.
pub fn parse_arp_line(line: &str) -> Option<(std::net::Ipv4Addr, [u8; 6], String)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let [ip, _hw, flags, mac, _mask, dev] = f.as_slice() else { return None };
    let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).ok()?;
    // ATF_COM: the entry is complete.
    if flags & 0x2 == 0 {
        return None;
    }
    let mac = parse_mac(mac)?;
    if mac == [0; 6] || mac[0] & 1 != 0 {
        return None;
    }
    Some((ip.parse().ok()?, mac, (*dev).to_string()))
}

/// The kernel's neighbour tables, optionally of one interface, as inventory neighbours.
/// Warnings (an unreadable table) go to `warnings`.
pub fn kernel_neighbors(interface: Option<&str>, oui: Option<&Oui>, warnings: &mut Vec<String>) -> Vec<Neighbor> {
    match crate::host::Host::open(Path::new("/")) {
        Ok(host) => kernel_neighbors_in(&host, interface, oui, warnings),
        Err(e) => {
            warnings.push(format!("cannot read /proc/net/arp: {e}"));
            Vec::new()
        }
    }
}

/// [`kernel_neighbors`] as `host` has them: its `proc/net/arp` (a fixture root's or a mounted
/// image's, where a missing table is silence), and the IPv6 neighbour cache only on the live
/// root (it exists only behind netlink).
pub fn kernel_neighbors_in(
    host: &crate::host::Host,
    interface: Option<&str>,
    oui: Option<&Oui>,
    warnings: &mut Vec<String>,
) -> Vec<Neighbor> {
    let now = now_unix();
    let mut by_mac: BTreeMap<[u8; 6], Neighbor> = BTreeMap::new();
    let entry = |by_mac: &mut BTreeMap<[u8; 6], Neighbor>, mac: [u8; 6], dev: &str| -> bool {
        if interface.is_some_and(|i| i != dev) {
            return false;
        }
        by_mac.entry(mac).or_insert_with(|| Neighbor {
            mac: mac_string(mac),
            vendor: oui.and_then(|o| o.vendor(mac)).unwrap_or_default().to_string(),
            interface: dev.to_string(),
            protocols: vec!["kernel".to_string()],
            first_seen: now,
            last_seen: now,
            ..Neighbor::default()
        });
        true
    };
    match host.lines("proc/net/arp") {
        Ok(lines) => {
            for line in lines.skip(1).take(100_000) {
                let Ok(crate::host::Line::Text(line)) = line else { continue };
                if let Some((ip, mac, dev)) = parse_arp_line(&line)
                    && entry(&mut by_mac, mac, &dev)
                    && let Some(n) = by_mac.get_mut(&mac)
                    && n.ipv4.len() < 16
                {
                    n.ipv4.push(ip.to_string());
                }
            }
        }
        Err(e) if !host.is_live() && e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => warnings.push(format!("cannot read /proc/net/arp: {e}")),
    }
    if !host.is_live() {
        return finish(by_mac);
    }
    match netlink::ipv6_neighbors() {
        Ok(list) => {
            let names: BTreeMap<u32, String> =
                pnet_datalink::interfaces().into_iter().map(|i| (i.index, i.name)).collect();
            for (ifindex, ip, mac, router) in list {
                let Some(dev) = names.get(&ifindex) else { continue };
                if mac == [0; 6] || mac[0] & 1 != 0 {
                    continue;
                }
                if entry(&mut by_mac, mac, dev)
                    && let Some(n) = by_mac.get_mut(&mac)
                {
                    if n.ipv6.len() < 16 {
                        n.ipv6.push(ip.to_string());
                    }
                    if router {
                        n.kind_hint = "router".to_string();
                    }
                }
            }
        }
        Err(e) => warnings.push(format!("cannot read the kernel's IPv6 neighbour table: {e}")),
    }
    finish(by_mac)
}

fn finish(by_mac: BTreeMap<[u8; 6], Neighbor>) -> Vec<Neighbor> {
    let mut out: Vec<Neighbor> = by_mac.into_values().collect();
    for n in &mut out {
        n.ipv4.sort_by_key(|s| s.parse::<std::net::Ipv4Addr>().ok());
        n.ipv4.dedup();
        n.ipv6.sort_by_key(|s| s.parse::<std::net::Ipv6Addr>().ok());
        n.ipv6.dedup();
    }
    out
}

/// RTM_GETNEIGH: the kernel's IPv6 neighbour cache.
#[cfg(target_os = "linux")]
mod netlink {
    use std::io;
    use std::net::Ipv6Addr;

    const RTM_NEWNEIGH: u16 = 28;
    const RTM_GETNEIGH: u16 = 30;
    /// `struct ndmsg`: family, pad, pad, ifindex, state, flags, type.
    const NDMSG_LEN: usize = 12;
    const NDA_DST: u16 = 1;
    const NDA_LLADDR: u16 = 2;
    /// NUD_INCOMPLETE | NUD_FAILED | NUD_NOARP: no usable link-layer address.
    const NUD_UNUSABLE: u16 = 0x01 | 0x20 | 0x40;
    const NTF_ROUTER: u8 = 0x80;
    const MAX_READS: usize = 10_000;
    const MAX_ENTRIES: usize = 65_536;

    /// (ifindex, address, MAC, router flag) of each usable IPv6 neighbour.
    pub type Entry = (u32, Ipv6Addr, [u8; 6], bool);

    pub fn ipv6_neighbors() -> io::Result<Vec<Entry>> {
        let mut req = [0u8; NDMSG_LEN];
        req[0] = libc::AF_INET6 as u8;
        let mut out = Vec::new();
        crate::netlink::dump(libc::NETLINK_ROUTE, RTM_GETNEIGH, &req, MAX_READS, |kind, msg| {
            neighbor(kind, msg, &mut out)
        })?;
        Ok(out)
    }

    /// Adds the neighbours of one datagram of the dump; true at its end.
    #[cfg(test)]
    pub fn parse_dump(data: &[u8], out: &mut Vec<Entry>) -> io::Result<bool> {
        crate::netlink::walk(data, &mut |kind, msg: &[u8]| neighbor(kind, msg, out))
    }

    fn neighbor(kind: u16, msg: &[u8], out: &mut Vec<Entry>) {
        if kind != RTM_NEWNEIGH || msg.len() < NDMSG_LEN || msg[0] != libc::AF_INET6 as u8 {
            return;
        }
        let ifindex = u32::from_ne_bytes([msg[4], msg[5], msg[6], msg[7]]);
        let state = u16::from_ne_bytes([msg[8], msg[9]]);
        let flags = msg[10];
        let (mut dst, mut lladdr) = (None, None);
        let mut attrs = &msg[NDMSG_LEN..];
        while attrs.len() >= 4 {
            let alen = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
            let atype = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3FFF;
            if alen < 4 || alen > attrs.len() {
                break;
            }
            let value = &attrs[4..alen];
            match (atype, value.len()) {
                (NDA_DST, 16) => dst = <[u8; 16]>::try_from(value).ok().map(Ipv6Addr::from),
                (NDA_LLADDR, 6) => lladdr = <[u8; 6]>::try_from(value).ok(),
                _ => {}
            }
            attrs = attrs.get(alen.next_multiple_of(4)..).unwrap_or(&[]);
        }
        if let (Some(ip), Some(mac)) = (dst, lladdr)
            && state & NUD_UNUSABLE == 0
            && state != 0
            && out.len() < MAX_ENTRIES
        {
            out.push((ifindex, ip, mac, flags & NTF_ROUTER != 0));
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod netlink {
    pub fn ipv6_neighbors() -> std::io::Result<Vec<(u32, std::net::Ipv6Addr, [u8; 6], bool)>> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
}

/// The one-line summary printed on stderr.
pub fn summary(c: &Counters, extra: &Extra, neighbors: usize) -> String {
    let skipped = c.skipped() + extra.other_linktype;
    let mut s = format!(
        "neighbors: frames={} parsed={} skipped={} (truncated={} ignored={} other-linktype={}",
        c.frames + extra.other_linktype,
        c.parsed,
        skipped,
        c.truncated,
        c.ignored,
        extra.other_linktype
    );
    for (p, n) in &c.malformed {
        let _ = write!(s, " malformed-{}={n}", p.name());
    }
    let _ = write!(
        s,
        ") damaged-records={} bad-source={} evicted={} neighbours={neighbors}",
        extra.damaged, c.bad_source, c.evicted
    );
    s
}

fn dash(s: String) -> String {
    if s.is_empty() { "-".to_string() } else { s }
}

/// The neighbours as a table or JSON.
pub fn render(neighbors: &[Neighbor], format: Format) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(neighbors).expect("neighbours serialize");
            s.push('\n');
            s
        }
        Format::Table => {
            let header = ["MAC", "VENDOR", "IPS", "NAMES", "PROTOCOLS", "KIND"].map(String::from);
            let rows: Vec<[String; 6]> = neighbors
                .iter()
                .map(|n| {
                    let ips: Vec<&str> = n.ipv4.iter().chain(&n.ipv6).map(String::as_str).collect();
                    [
                        n.mac.clone(),
                        dash(n.vendor.clone()),
                        dash(ips.join(",")),
                        dash(n.names.join(",")),
                        dash(n.protocols.join(",")),
                        dash(n.kind_hint.clone()),
                    ]
                })
                .collect();
            let mut widths = header.clone().map(|h| h.chars().count());
            for row in &rows {
                for (w, cell) in widths.iter_mut().zip(row) {
                    *w = (*w).max(cell.chars().count());
                }
            }
            let mut out = String::new();
            for row in std::iter::once(&header).chain(&rows) {
                let mut line = String::new();
                for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                    if i + 1 == row.len() {
                        line.push_str(cell);
                    } else {
                        let _ = write!(line, "{cell:<w$}  ");
                    }
                }
                out.push_str(line.trim_end());
                out.push('\n');
            }
            out
        }
    }
}

/// Background listening for the `run` loop: one receive-only capture thread per interface that
/// is up, not loopback and has a MAC, all folding into one shared table that each report
/// snapshots. Interfaces that appear later are not listened on until the agent restarts. When
/// capture is not permitted (no CAP_NET_RAW), reports carry the kernel's neighbour tables and a
/// warning instead.
pub struct Listener {
    table: Arc<Mutex<NeighborTable>>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    oui: Option<Oui>,
    warnings: Arc<Mutex<Vec<String>>>,
    not_permitted: Arc<AtomicBool>,
}

impl Listener {
    pub fn start(oui_path: &Path, limits: Limits) -> Self {
        let mut listener = Listener {
            table: Arc::new(Mutex::new(NeighborTable::new(limits))),
            stop: Arc::default(),
            threads: Vec::new(),
            oui: Oui::load(oui_path).ok(),
            warnings: Arc::default(),
            not_permitted: Arc::default(),
        };
        let interfaces = pnet_datalink::interfaces()
            .into_iter()
            .filter(|i| i.is_up() && !i.is_loopback() && i.mac.is_some_and(|m| m.octets() != [0; 6]));
        for iface in interfaces {
            let (table, stop) = (listener.table.clone(), listener.stop.clone());
            let (warnings, not_permitted) = (listener.warnings.clone(), listener.not_permitted.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("listen-{}", iface.name))
                .spawn(move || listen(&iface, &table, &stop, &warnings, &not_permitted));
            match spawned {
                Ok(handle) => listener.threads.push(handle),
                Err(e) => listener
                    .warnings
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(format!("cannot start a listener thread: {e}")),
            }
        }
        listener
    }

    /// The neighbours heard so far (or the kernel's tables when capture is not permitted), and
    /// the warnings met since the last call.
    pub fn snapshot(&self) -> (Vec<Neighbor>, Vec<String>) {
        let mut warnings = std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|p| p.into_inner()));
        if self.not_permitted.load(Ordering::Relaxed) {
            warnings.push("listening needs CAP_NET_RAW: neighbours are the kernel's neighbour tables".to_string());
            return (kernel_neighbors(None, self.oui.as_ref(), &mut warnings), warnings);
        }
        let table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        (table.snapshot(self.oui.as_ref()), warnings)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A receive-only capture on one interface that keeps 802.1Q tags.
///
/// pnet's channel sets the socket up (bind, promiscuous, non-blocking) on a socket made here
/// with `PACKET_AUXDATA` on; frames are then read here with `recvmsg`, because the kernel takes
/// a VLAN tag out of the frame and hands it over only in that control message, which pnet's
/// `recvfrom` never reads. The tag is put back where it was, so the parsers see the frame as it
/// was on the wire. The pnet sender is dropped at once: discovery never transmits.
struct Tap {
    fd: libc::c_int,
    /// Owns the socket (closes it on drop).
    _rx: Box<dyn pnet_datalink::DataLinkReceiver>,
    buf: Vec<u8>,
    frame: Vec<u8>,
}

impl Tap {
    fn open(iface: &pnet_datalink::NetworkInterface) -> io::Result<Self> {
        let protocol = i32::from((libc::ETH_P_ALL as u16).to_be());
        // SAFETY: plain socket(2) call; the result is checked before use.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, protocol) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let on: libc::c_int = 1;
        // SAFETY: `on` outlives the call and the length passed is its size.
        let set = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_PACKET,
                libc::PACKET_AUXDATA,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if set != 0 {
            let e = io::Error::last_os_error();
            // SAFETY: `fd` is ours and not yet handed to pnet.
            unsafe { libc::close(fd) };
            return Err(e);
        }
        let config = pnet_datalink::Config {
            read_timeout: Some(Duration::ZERO),
            promiscuous: true,
            socket_fd: Some(fd),
            ..Default::default()
        };
        // On error pnet has closed `fd`.
        let rx = match pnet_datalink::channel(iface, config)? {
            pnet_datalink::Channel::Ethernet(_tx, rx) => rx,
            _ => return Err(io::Error::other("not an Ethernet channel")),
        };
        Ok(Tap { fd, _rx: rx, buf: vec![0; SNAPLEN], frame: Vec::with_capacity(SNAPLEN + 4) })
    }

    /// The next waiting frame, or `None` when none is waiting (the socket is non-blocking).
    fn next(&mut self) -> io::Result<Option<&[u8]>> {
        let mut iov = libc::iovec { iov_base: self.buf.as_mut_ptr().cast(), iov_len: self.buf.len() };
        // Room for one tpacket_auxdata control message, 8-byte aligned.
        let mut control = [0u64; 8];
        // SAFETY: an all-zero msghdr is valid; the pointers set below stay valid for the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: `msg` describes `self.buf` and `control`, both live and writable.
        let n = unsafe { libc::recvmsg(self.fd, &mut msg, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        let len = (n as usize).min(self.buf.len());
        let mut tag: Option<(u16, u16)> = None;
        // SAFETY: CMSG_FIRSTHDR/CMSG_NXTHDR walk the control buffer the kernel filled, bounded by
        // `msg_controllen`; the auxdata is read unaligned from inside that buffer.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::SOL_PACKET && (*cmsg).cmsg_type == libc::PACKET_AUXDATA {
                    let aux: libc::tpacket_auxdata = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    if aux.tp_status & libc::TP_STATUS_VLAN_VALID != 0 {
                        let tpid = if aux.tp_status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
                            aux.tp_vlan_tpid
                        } else {
                            0x8100
                        };
                        tag = Some((tpid, aux.tp_vlan_tci));
                    }
                }
                cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
            }
        }
        match tag {
            Some((tpid, tci)) if len >= 12 => {
                self.frame.clear();
                self.frame.extend_from_slice(&self.buf[..12]);
                self.frame.extend_from_slice(&tpid.to_be_bytes());
                self.frame.extend_from_slice(&tci.to_be_bytes());
                self.frame.extend_from_slice(&self.buf[12..len]);
                Ok(Some(&self.frame))
            }
            _ => Ok(Some(&self.buf[..len])),
        }
    }
}

/// One interface's capture thread: reads until `stop`, sleeping [`IDLE`] whenever the socket is
/// empty.
fn listen(
    iface: &pnet_datalink::NetworkInterface,
    table: &Mutex<NeighborTable>,
    stop: &AtomicBool,
    warnings: &Mutex<Vec<String>>,
    not_permitted: &AtomicBool,
) {
    let warn = |m: String| warnings.lock().unwrap_or_else(|p| p.into_inner()).push(m);
    let mut tap = match Tap::open(iface) {
        Ok(tap) => tap,
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES)) => {
            not_permitted.store(true, Ordering::Relaxed);
            return;
        }
        Err(e) => return warn(format!("cannot listen on {}: {e}", iface.name)),
    };
    if let Some(mac) = iface.mac {
        table.lock().unwrap_or_else(|p| p.into_inner()).ignore_mac(mac.octets());
    }
    while !stop.load(Ordering::Relaxed) {
        match tap.next() {
            Ok(Some(frame)) => table.lock().unwrap_or_else(|p| p.into_inner()).ingest(frame, &iface.name, now_unix()),
            Ok(None) => std::thread::sleep(IDLE),
            Err(e) => return warn(format!("listening on {} stopped: {e}", iface.name)),
        }
    }
}

/// Where `neighbors` reads frames from.
pub enum Input<'a> {
    Pcap(&'a Path),
    Interface { name: &'a str, duration: Duration },
}

/// The `neighbors` command: reads, prints the neighbours on stdout and the summary on stderr.
pub fn run(input: Input<'_>, format: Format, oui_path: &Path, limits: Limits) -> anyhow::Result<()> {
    let oui = match Oui::load(oui_path) {
        Ok(o) => Some(o),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            tracing::debug!("{}: not found; vendors are not named", oui_path.display());
            None
        }
        Err(e) => {
            tracing::warn!("cannot read {}: {e}; vendors are not named", oui_path.display());
            None
        }
    };
    let mut table = NeighborTable::new(limits);
    let (neighbors, extra) = match input {
        Input::Pcap(path) => {
            if !path.exists() {
                bail!("{}: no such file", path.display());
            }
            let extra = replay(path, &mut table)?;
            (table.snapshot(oui.as_ref()), extra)
        }
        Input::Interface { name, duration } => match capture(name, duration, &mut table) {
            Ok(extra) => (table.snapshot(oui.as_ref()), extra),
            Err(CaptureError::Other(e)) => return Err(e),
            Err(CaptureError::NotPermitted(e)) => {
                eprintln!(
                    "census-agent: warning: capture on {name} needs CAP_NET_RAW ({e}); \
                     showing the kernel's neighbour tables instead"
                );
                let mut warnings = Vec::new();
                let list = kernel_neighbors(Some(name), oui.as_ref(), &mut warnings);
                for w in warnings {
                    eprintln!("census-agent: warning: {w}");
                }
                (list, Extra::default())
            }
        },
    };
    census_cmd::print_stdout(&render(&neighbors, format))?;
    eprintln!("{}", summary(table.counters(), &extra, neighbors.len()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(parse_mac("aa:BB:0c:d:ee:ff"), Some([0xaa, 0xbb, 0x0c, 0x0d, 0xee, 0xff]));
        assert_eq!(parse_mac("aa:bb:cc:dd:ee"), None);
        assert_eq!(parse_mac("aa:bb:cc:dd:ee:ff:00"), None);
        assert_eq!(parse_mac("aa:bb:cc:dd:ee:fff"), None);
        assert_eq!(parse_mac("aa:bb:cc:dd:ee:"), None);
    }

    #[test]
    fn proc_net_arp_lines() {
        assert_eq!(
            parse_arp_line("192.0.2.1        0x1         0x2         52:54:00:12:34:56     *        eth0"),
            Some(("192.0.2.1".parse().unwrap(), [0x52, 0x54, 0, 0x12, 0x34, 0x56], "eth0".into()))
        );
        // Incomplete entries and header lines are skipped.
        assert_eq!(
            parse_arp_line("192.0.2.9        0x1         0x0         00:00:00:00:00:00     *        eth0"),
            None
        );
        assert_eq!(
            parse_arp_line("IP address       HW type     Flags       HW address            Mask     Device"),
            None
        );
        assert_eq!(parse_arp_line("garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn netlink_neigh_dump_parsing() {
        // One RTM_NEWNEIGH: ndmsg (AF_INET6, ifindex 3, NUD_REACHABLE, NTF_ROUTER) + NDA_DST + NDA_LLADDR.
        let mut msg = vec![libc::AF_INET6 as u8, 0, 0, 0];
        msg.extend(3u32.to_ne_bytes());
        msg.extend(0x02u16.to_ne_bytes());
        msg.extend([0x80, 1]);
        msg.extend(20u16.to_ne_bytes());
        msg.extend(1u16.to_ne_bytes());
        msg.extend("fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        msg.extend(10u16.to_ne_bytes());
        msg.extend(2u16.to_ne_bytes());
        msg.extend([2, 0, 0, 0, 0, 1, 0, 0]);
        let mut dump = ((16 + msg.len()) as u32).to_ne_bytes().to_vec();
        dump.extend(28u16.to_ne_bytes());
        dump.extend([0; 10]);
        dump.extend(&msg);
        let mut done = 16u32.to_ne_bytes().to_vec();
        done.extend(3u16.to_ne_bytes());
        done.extend([0; 10]);
        let mut out = Vec::new();
        assert!(!netlink::parse_dump(&dump, &mut out).unwrap());
        assert_eq!(out, [(3, "fe80::1".parse().unwrap(), [2, 0, 0, 0, 0, 1], true)]);
        assert!(netlink::parse_dump(&done, &mut out).unwrap());
        // Cut anywhere: an error or a partial answer, never a panic.
        for cut in 0..dump.len() {
            let _ = netlink::parse_dump(&dump[..cut], &mut Vec::new());
        }
    }

    #[test]
    fn the_live_kernel_tables_can_be_read() {
        let mut warnings = Vec::new();
        let list = kernel_neighbors(None, None, &mut warnings);
        assert!(list.iter().all(|n| n.protocols == ["kernel"]));
        eprintln!("{} kernel neighbours; warnings {warnings:?}", list.len());
    }

    #[test]
    fn table_rendering() {
        let n = Neighbor {
            mac: "00:11:22:33:44:55".into(),
            vendor: "Cisco Systems, Inc".into(),
            ipv4: vec!["192.0.2.1".into()],
            ipv6: vec!["fe80::1".into()],
            protocols: vec!["arp".into(), "ndp".into()],
            kind_hint: "router".into(),
            ..Neighbor::default()
        };
        let text = render(&[n], Format::Table);
        assert_eq!(
            text,
            "MAC                VENDOR              IPS                NAMES  PROTOCOLS  KIND\n\
             00:11:22:33:44:55  Cisco Systems, Inc  192.0.2.1,fe80::1  -      arp,ndp    router\n"
        );
        assert_eq!(render(&[], Format::Json), "[]\n");
    }
}
