//! DNS names (RFC 1035 §4.1.4) and mDNS / DNS-SD messages (RFC 6762, RFC 6763).
//!
//! A hand-written, bounded reader: the records discovery wants are five types, and a DNS crate
//! would parse (and allocate) every record of every message. Names are read into a fixed
//! 255-byte buffer; a compression pointer must point strictly before the start of the label
//! run it interrupts (what every encoder does), so a walk always ends, and at most
//! [`MAX_POINTERS`] pointers are followed anyway.
//!
//! What one mDNS message tells about its sender: A/AAAA records owned by a `.local` name (the
//! name and the address), SRV targets (host names), PTR records that list service types
//! (`_services._dns-sd._udp.local`) or instances of a type (`_ipp._tcp.local`) → `service`,
//! reverse-mapping PTRs pointing at a `.local` name, and TXT `md`/`model`/`ty` keys → `model`.
//! Responses are read in all three record sections. A query's answer section holds *known
//! answers*, records the querier cached about other hosts, so a query is read only in its
//! authority section, where a probe proposes its own records.

use crate::bounded::{push_attr, push_name, push_v4, push_v6, text, v4_from, v6_from};
use crate::{Observation, Protocol, Skip};

/// Most compression pointers one name may follow.
pub const MAX_POINTERS: usize = 32;
/// Most records (questions included) read from one message; the rest are left unread.
pub const MAX_RECORDS: usize = 256;

/// A name in uncompressed wire form (length-prefixed labels, without the final zero).
#[derive(Clone)]
pub struct Name {
    wire: [u8; 255],
    len: u8,
}

/// Why a name could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// Past the end of the message.
    Truncated,
    /// A pointer loop or forward pointer, a reserved label type, or longer than 255 bytes.
    Invalid,
}

impl Default for Name {
    fn default() -> Self {
        Self { wire: [0; 255], len: 0 }
    }
}

impl Name {
    /// The labels, first to last.
    pub fn labels(&self) -> Labels<'_> {
        Labels { rest: &self.wire[..usize::from(self.len)] }
    }

    pub fn is_root(&self) -> bool {
        self.len == 0
    }

    /// The `n`-th label from the end (0 = last).
    fn label_from_end(&self, n: usize) -> Option<&[u8]> {
        let count = self.labels().count();
        self.labels().nth(count.checked_sub(n + 1)?)
    }

    /// True when the last labels are `suffix` (ASCII case-insensitive).
    pub fn ends_with(&self, suffix: &[&str]) -> bool {
        suffix
            .iter()
            .rev()
            .enumerate()
            .all(|(i, want)| self.label_from_end(i).is_some_and(|l| l.eq_ignore_ascii_case(want.as_bytes())))
    }

    /// Dotted text without the final dot, cleaned by [`crate::bounded`] rules.
    pub fn to_text(&self) -> Option<String> {
        let mut buf = [0u8; 255];
        let mut n = 0;
        for label in self.labels() {
            if n > 0 {
                buf[n] = b'.';
                n += 1;
            }
            buf[n..n + label.len()].copy_from_slice(label);
            n += label.len();
        }
        text(&buf[..n])
    }

    /// The DNS-SD service type a name belongs to: `_ipp._tcp` for `_ipp._tcp.local`,
    /// `Printer._ipp._tcp.local` or `_sub`-types of it.
    pub fn service_type(&self) -> Option<String> {
        if !self.ends_with(&["local"]) {
            return None;
        }
        let proto = self.label_from_end(1)?;
        let service = self.label_from_end(2)?;
        let proto_ok = proto.eq_ignore_ascii_case(b"_tcp") || proto.eq_ignore_ascii_case(b"_udp");
        if !proto_ok || service.len() < 2 || service[0] != b'_' {
            return None;
        }
        let mut s = Vec::with_capacity(service.len() + 5);
        s.extend_from_slice(service);
        s.push(b'.');
        s.extend(proto.iter().map(u8::to_ascii_lowercase));
        text(&s)
    }
}

/// Iterator over a [`Name`]'s labels.
pub struct Labels<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, rest) = self.rest.split_first()?;
        let (label, rest) = rest.split_at(usize::from(len).min(rest.len()));
        self.rest = rest;
        Some(label)
    }
}

/// Reads the name at `pos` of `msg` into `name`; answers the position after it (after the first
/// pointer when it is compressed). With `pointers` false, a pointer is invalid and the end of
/// `msg` at a label boundary ends the name (a "partial" name, RFC 4702/4704 option encoding).
pub fn read_name(msg: &[u8], mut pos: usize, pointers: bool, name: &mut Name) -> Result<usize, NameError> {
    name.len = 0;
    let mut after = None;
    let mut hops = 0;
    // Start of the run of labels being read: a pointer must point before it.
    let mut run_start = pos;
    loop {
        let Some(&b) = msg.get(pos) else {
            return if !pointers && pos == msg.len() { Ok(pos) } else { Err(NameError::Truncated) };
        };
        match b & 0xc0 {
            0x00 if b == 0 => return Ok(after.unwrap_or(pos + 1)),
            0x00 => {
                let len = usize::from(b);
                let label = msg.get(pos + 1..pos + 1 + len).ok_or(NameError::Truncated)?;
                let at = usize::from(name.len);
                // 255 bytes in all, the final zero included.
                if at + 1 + len > 254 {
                    return Err(NameError::Invalid);
                }
                name.wire[at] = b;
                name.wire[at + 1..at + 1 + len].copy_from_slice(label);
                name.len = (at + 1 + len) as u8;
                pos += 1 + len;
            }
            0xc0 if pointers => {
                let lo = *msg.get(pos + 1).ok_or(NameError::Truncated)?;
                let target = usize::from(b & 0x3f) << 8 | usize::from(lo);
                after.get_or_insert(pos + 2);
                hops += 1;
                if hops > MAX_POINTERS || target >= run_start {
                    return Err(NameError::Invalid);
                }
                run_start = target;
                pos = target;
            }
            _ => return Err(NameError::Invalid),
        }
    }
}

const MALFORMED: Skip = Skip::Malformed(Protocol::Mdns);

const TYPE_A: u16 = 1;
const TYPE_PTR: u16 = 12;
const TYPE_TXT: u16 = 16;
const TYPE_AAAA: u16 = 28;
const TYPE_SRV: u16 = 33;

/// Reads one mDNS message (the UDP payload) into `obs`.
pub fn parse_mdns(msg: &[u8], obs: &mut Observation) -> Result<(), Skip> {
    obs.protocol = Some(Protocol::Mdns);
    let header = msg.get(..12).ok_or(MALFORMED)?;
    let flags = u16::from_be_bytes([header[2], header[3]]);
    let response = flags & 0x8000 != 0;
    // RFC 6762 §18.3: messages with another opcode are ignored; the sender is still heard.
    if (flags >> 11) & 0xf != 0 {
        return Ok(());
    }
    let count = |i: usize| usize::from(u16::from_be_bytes([header[i], header[i + 1]]));
    let (questions, answers, authority, additional) = (count(4), count(6), count(8), count(10));
    let mut pos = 12;
    let mut name = Name::default();
    let mut seen = 0;
    for _ in 0..questions {
        seen += 1;
        if seen > MAX_RECORDS {
            return Ok(());
        }
        pos = read_name(msg, pos, true, &mut name).map_err(|_| MALFORMED)?;
        pos += 4;
        if pos > msg.len() {
            return Err(MALFORMED);
        }
    }
    let sections = [(answers, response), (authority, true), (additional, response)];
    for (records, wanted) in sections {
        for _ in 0..records {
            seen += 1;
            if seen > MAX_RECORDS {
                return Ok(());
            }
            pos = read_name(msg, pos, true, &mut name).map_err(|_| MALFORMED)?;
            let fixed = msg.get(pos..pos + 10).ok_or(MALFORMED)?;
            let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
            let class = u16::from_be_bytes([fixed[2], fixed[3]]) & 0x7fff;
            let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
            let start = pos + 10;
            let end = start + rdlen;
            if end > msg.len() {
                return Err(MALFORMED);
            }
            if wanted && class == 1 {
                record(msg, rtype, &name, start, end, obs)?;
            }
            pos = end;
        }
    }
    Ok(())
}

fn record(msg: &[u8], rtype: u16, owner: &Name, start: usize, end: usize, obs: &mut Observation) -> Result<(), Skip> {
    let rdata = &msg[start..end];
    match rtype {
        TYPE_A | TYPE_AAAA => {
            if !owner.ends_with(&["local"]) {
                return Ok(());
            }
            if rtype == TYPE_A {
                push_v4(obs, v4_from(rdata).ok_or(MALFORMED)?);
            } else {
                push_v6(obs, v6_from(rdata).ok_or(MALFORMED)?);
            }
            push_name(obs, owner.to_text());
        }
        TYPE_PTR => {
            let mut target = Name::default();
            let after = read_name(msg, start, true, &mut target).map_err(|_| MALFORMED)?;
            if after != end {
                return Err(MALFORMED);
            }
            if owner.ends_with(&["_services", "_dns-sd", "_udp", "local"]) {
                push_attr(obs, "service", target.service_type());
            } else if let Some(service) = owner.service_type() {
                push_attr(obs, "service", Some(service));
            } else if (owner.ends_with(&["in-addr", "arpa"]) || owner.ends_with(&["ip6", "arpa"]))
                && target.ends_with(&["local"])
            {
                push_name(obs, target.to_text());
            }
        }
        TYPE_SRV => {
            if rdata.len() < 7 {
                return Err(MALFORMED);
            }
            let mut target = Name::default();
            let after = read_name(msg, start + 6, true, &mut target).map_err(|_| MALFORMED)?;
            if after != end {
                return Err(MALFORMED);
            }
            push_attr(obs, "service", owner.service_type());
            if target.ends_with(&["local"]) {
                push_name(obs, target.to_text());
            }
        }
        TYPE_TXT => {
            let Some(service) = owner.service_type() else { return Ok(()) };
            push_attr(obs, "service", Some(service));
            let mut rest = rdata;
            while let Some((&len, tail)) = rest.split_first() {
                let entry = tail.get(..usize::from(len)).ok_or(MALFORMED)?;
                rest = &tail[entry.len()..];
                let Some(eq) = entry.iter().position(|&b| b == b'=') else { continue };
                let key = &entry[..eq];
                if [&b"md"[..], b"model", b"ty"].iter().any(|k| key.eq_ignore_ascii_case(k)) {
                    push_attr(obs, "model", text(&entry[eq + 1..]));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Test helper: a name in wire form (`"a.b"` → `1a1b0`).
#[cfg(test)]
pub(crate) fn wire(name: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        v.push(label.len() as u8);
        v.extend_from_slice(label.as_bytes());
    }
    v.push(0);
    v
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// A DNS message builder for tests.
    pub(crate) struct Msg {
        pub bytes: Vec<u8>,
    }

    impl Msg {
        pub fn new(flags: u16, counts: [u16; 4]) -> Self {
            let mut bytes = vec![0, 0];
            bytes.extend_from_slice(&flags.to_be_bytes());
            for c in counts {
                bytes.extend_from_slice(&c.to_be_bytes());
            }
            Self { bytes }
        }
        pub fn question(mut self, name: &[u8], qtype: u16) -> Self {
            self.bytes.extend_from_slice(name);
            self.bytes.extend_from_slice(&qtype.to_be_bytes());
            self.bytes.extend_from_slice(&1u16.to_be_bytes());
            self
        }
        pub fn rr(mut self, name: &[u8], rtype: u16, rdata: &[u8]) -> Self {
            self.bytes.extend_from_slice(name);
            self.bytes.extend_from_slice(&rtype.to_be_bytes());
            self.bytes.extend_from_slice(&0x8001u16.to_be_bytes());
            self.bytes.extend_from_slice(&120u32.to_be_bytes());
            self.bytes.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            self.bytes.extend_from_slice(rdata);
            self
        }
    }

    fn name_at(msg: &[u8], pos: usize) -> Result<(String, usize), NameError> {
        let mut n = Name::default();
        let after = read_name(msg, pos, true, &mut n)?;
        Ok((n.to_text().unwrap_or_default(), after))
    }

    #[test]
    fn names_plain_and_compressed() {
        let mut msg = vec![0u8; 12];
        msg.extend_from_slice(&wire("printer.local"));
        let second = msg.len();
        msg.extend_from_slice(b"\x03www\xc0\x14"); // www + pointer to "local" (offset 20)
        assert_eq!(name_at(&msg, 12), Ok(("printer.local".into(), 27)));
        assert_eq!(name_at(&msg, second), Ok(("www.local".into(), second + 6)));
        assert_eq!(name_at(&[0], 0), Ok((String::new(), 1)));
    }

    #[test]
    fn compression_loops_and_bad_labels_are_refused() {
        // A pointer to itself.
        let mut msg = vec![0u8; 12];
        msg.extend_from_slice(&[0xc0, 12]);
        assert_eq!(name_at(&msg, 12), Err(NameError::Invalid));
        // Two pointers to each other.
        let mut msg = vec![0u8; 12];
        msg.extend_from_slice(&[0xc0, 14, 0xc0, 12]);
        assert_eq!(name_at(&msg, 12), Err(NameError::Invalid));
        assert_eq!(name_at(&msg, 14), Err(NameError::Invalid));
        // A label then a pointer back to that label.
        let mut msg = vec![0u8; 12];
        msg.extend_from_slice(&[1, b'a', 0xc0, 12]);
        assert_eq!(name_at(&msg, 12), Err(NameError::Invalid));
        // Forward pointer.
        let msg = [0xc0, 2, 0];
        assert_eq!(name_at(&msg, 0), Err(NameError::Invalid));
        // Reserved label types 0x40 and 0x80.
        assert_eq!(name_at(&[0x41, b'a', 0], 0), Err(NameError::Invalid));
        assert_eq!(name_at(&[0x81, b'a', 0], 0), Err(NameError::Invalid));
        // Label past the end, pointer cut in half, no final zero.
        assert_eq!(name_at(&[5, b'a'], 0), Err(NameError::Truncated));
        assert_eq!(name_at(&[0xc0], 0), Err(NameError::Truncated));
        assert_eq!(name_at(&[1, b'a'], 0), Err(NameError::Truncated));
        // Longer than 255 bytes in all.
        let mut long = Vec::new();
        for _ in 0..5 {
            long.push(63);
            long.extend_from_slice(&[b'x'; 63]);
        }
        long.push(0);
        assert_eq!(name_at(&long, 0), Err(NameError::Invalid));
        // Exactly 255: 3 x 63-byte labels + one 61-byte label + final zero.
        let mut max = Vec::new();
        for len in [63usize, 63, 63, 61] {
            max.push(len as u8);
            max.extend(std::iter::repeat_n(b'x', len));
        }
        max.push(0);
        assert_eq!(max.len(), 255);
        assert!(name_at(&max, 0).is_ok());
    }

    #[test]
    fn pointer_chain_over_the_hop_limit_is_refused() {
        // offset 0: the root; offset 1+2k: a pointer to the previous pointer (or to 0).
        let mut msg = vec![0u8];
        for k in 0..40usize {
            let target = if k == 0 { 0 } else { 1 + 2 * (k - 1) };
            msg.extend_from_slice(&[0xc0, target as u8]);
        }
        let last = msg.len() - 2;
        assert_eq!(name_at(&msg, last), Err(NameError::Invalid));
        let ok = 1 + 2 * (MAX_POINTERS - 1);
        assert_eq!(name_at(&msg, ok), Ok((String::new(), ok + 2)));
    }

    #[test]
    fn partial_names_without_pointers() {
        let mut n = Name::default();
        assert_eq!(read_name(b"\x04host\x03lan", 0, false, &mut n), Ok(9));
        assert_eq!(n.to_text().as_deref(), Some("host.lan"));
        assert_eq!(read_name(b"\x04host\xc0\x00", 0, false, &mut n), Err(NameError::Invalid));
        assert_eq!(read_name(b"\x04ho", 0, false, &mut n), Err(NameError::Truncated));
    }

    fn mdns(msg: &[u8]) -> Result<Observation, Skip> {
        let mut obs = Observation::default();
        parse_mdns(msg, &mut obs).map(|()| obs)
    }

    #[test]
    fn response_with_host_service_and_txt() {
        let host = wire("Office-Printer.local");
        let instance = wire("Office Printer._ipp._tcp.local");
        let mut srv = vec![0, 0, 0, 0, 0x02, 0x77];
        srv.extend_from_slice(&host);
        let txt = b"\x09txtvers=1\x15ty=Brother HL-L2350DW\x0bpdl=app/pdf";
        let msg = Msg::new(0x8400, [0, 3, 0, 4])
            .rr(&wire("_services._dns-sd._udp.local"), TYPE_PTR, &wire("_ipp._tcp.local"))
            .rr(&wire("_ipp._tcp.local"), TYPE_PTR, &instance)
            .rr(&instance, TYPE_SRV, &srv)
            .rr(&instance, TYPE_TXT, txt)
            .rr(&host, TYPE_A, &[192, 168, 1, 40])
            .rr(&host, TYPE_AAAA, &Ipv6Addr::new(0xfe80, 0, 0, 0, 0x21b, 0x21ff, 0xfe0a, 0xb0c).octets())
            .rr(&wire("40.1.168.192.in-addr.arpa"), TYPE_PTR, &host);
        let obs = mdns(&msg.bytes).unwrap();
        assert_eq!(
            obs,
            Observation {
                protocol: Some(Protocol::Mdns),
                ipv4: vec![Ipv4Addr::new(192, 168, 1, 40)],
                ipv6: vec!["fe80::21b:21ff:fe0a:b0c".parse().unwrap()],
                names: vec!["Office-Printer.local".into()],
                attributes: vec![("service", "_ipp._tcp".into()), ("model", "Brother HL-L2350DW".into())],
                ..Default::default()
            }
        );
    }

    #[test]
    fn query_known_answers_are_not_the_senders_but_probes_are() {
        let other = wire("other.local");
        let msg = Msg::new(0, [1, 1, 1, 0]).question(&wire("mine.local"), 255).rr(&other, TYPE_A, &[10, 0, 0, 9]).rr(
            &wire("mine.local"),
            TYPE_A,
            &[10, 0, 0, 5],
        );
        let obs = mdns(&msg.bytes).unwrap();
        assert_eq!(obs.names, ["mine.local"]);
        assert_eq!(obs.ipv4, [Ipv4Addr::new(10, 0, 0, 5)]);
    }

    #[test]
    fn non_local_names_and_other_classes_are_skipped() {
        let msg = Msg::new(0x8400, [0, 1, 0, 0]).rr(&wire("www.example.com"), TYPE_A, &[1, 2, 3, 4]);
        assert_eq!(mdns(&msg.bytes).unwrap().names, Vec::<String>::new());
    }

    #[test]
    fn compressed_response() {
        // "host.local" at 12 in the answer, the AAAA owner points to it.
        let mut msg = Msg::new(0x8400, [0, 2, 0, 0]).rr(&wire("host.local"), TYPE_A, &[10, 1, 2, 3]);
        msg = msg.rr(&[0xc0, 12], TYPE_AAAA, &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        let obs = mdns(&msg.bytes).unwrap();
        assert_eq!(obs.names, ["host.local"]);
        assert_eq!(obs.ipv6, ["2001:db8::1".parse::<Ipv6Addr>().unwrap()]);
    }

    #[test]
    fn malformed_messages() {
        assert_eq!(mdns(&[0; 11]), Err(MALFORMED));
        // Compression loop in an answer owner.
        let msg = Msg::new(0x8400, [0, 1, 0, 0]).rr(&[0xc0, 12], TYPE_A, &[1, 2, 3, 4]);
        assert_eq!(mdns(&msg.bytes), Err(MALFORMED));
        // Two pointers to each other.
        let msg = Msg::new(0x8400, [0, 1, 0, 0]).rr(&[0xc0, 14, 0xc0, 12], TYPE_A, &[1, 2, 3, 4]);
        assert_eq!(mdns(&msg.bytes), Err(MALFORMED));
        // rdlength past the end.
        let mut msg = Msg::new(0x8400, [0, 1, 0, 0]).rr(&wire("h.local"), TYPE_A, &[1, 2, 3, 4]).bytes;
        msg.truncate(msg.len() - 1);
        assert_eq!(mdns(&msg), Err(MALFORMED));
        // A record of the wrong size.
        let msg = Msg::new(0x8400, [0, 1, 0, 0]).rr(&wire("h.local"), TYPE_A, &[1, 2, 3]);
        assert_eq!(mdns(&msg.bytes), Err(MALFORMED));
        // Counts that promise more than the message holds.
        let msg = Msg::new(0x8400, [0, 65535, 0, 0]);
        assert_eq!(mdns(&msg.bytes), Err(MALFORMED));
        // TXT string past rdata.
        let msg = Msg::new(0x8400, [0, 1, 0, 0]).rr(&wire("x._ipp._tcp.local"), TYPE_TXT, b"\x09md=a");
        assert_eq!(mdns(&msg.bytes), Err(MALFORMED));
        // PTR target that does not fill rdata.
        let mut rdata = wire("a.local");
        rdata.push(0);
        let msg = Msg::new(0x8400, [0, 1, 0, 0]).rr(&wire("_ipp._tcp.local"), TYPE_PTR, &rdata);
        assert_eq!(mdns(&msg.bytes), Err(MALFORMED));
    }

    #[test]
    fn record_cap_stops_reading_without_error() {
        let mut msg = Msg::new(0x8400, [0, 1000, 0, 0]);
        for i in 0..1000u32 {
            msg = msg.rr(&wire(&format!("h{i}.local")), TYPE_A, &(0x0a00_0000 + i).to_be_bytes());
        }
        let obs = mdns(&msg.bytes).unwrap();
        assert_eq!(obs.names.len(), crate::bounded::MAX_ITEMS);
        assert_eq!(obs.ipv4.len(), crate::bounded::MAX_ITEMS);
    }

    #[test]
    fn service_types() {
        let mut n = Name::default();
        for (name, want) in [
            ("_printer._sub._ipp._tcp.local", Some("_ipp._tcp")),
            ("My TV._airplay._TCP.local", Some("_airplay._tcp")),
            ("_tcp.local", None),
            ("x._tcp.local", None),
            ("_ipp._tcp.example", None),
        ] {
            read_name(&wire(name), 0, false, &mut n).unwrap();
            assert_eq!(n.service_type().as_deref(), want, "{name}");
        }
    }
}
