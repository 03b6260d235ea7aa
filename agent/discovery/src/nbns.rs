//! NetBIOS name service (RFC 1001/1002, UDP 137).
//!
//! Names come from the resource records of registrations and refreshes (requests) and of
//! positive responses (NB records, and the name table of a node status response). A query or a
//! release tells only that the sender exists. A name is the first label of the RR name, 32
//! characters `A`-`P` that decode ("first-level encoding") to 15 name bytes and a suffix byte.
//! Unique names with suffix 0x00 (workstation) or 0x20 (server) are the host's names; group
//! names with suffix 0x00, 0x1C, 0x1E and unique ones with 0x1B/0x1D carry the workgroup or
//! domain → `workgroup`. Other suffixes (0x03 messenger also names the logged-on user) are left
//! alone.

use crate::bounded::{push_attr, push_name, push_v4, text, u16_at, v4_from};
use crate::dns::{Name, read_name};
use crate::{Observation, Protocol, Skip};

const MALFORMED: Skip = Skip::Malformed(Protocol::Nbns);
/// Most records read from one message.
const MAX_RECORDS: usize = 64;

const TYPE_NB: u16 = 0x20;
const TYPE_NBSTAT: u16 = 0x21;

/// Decodes a first-level encoded NetBIOS name: (name, suffix).
pub fn decode_name(label: &[u8]) -> Option<([u8; 15], u8)> {
    if label.len() != 32 {
        return None;
    }
    let mut raw = [0u8; 16];
    for (i, pair) in label.chunks_exact(2).enumerate() {
        let (hi, lo) = (pair[0].wrapping_sub(b'A'), pair[1].wrapping_sub(b'A'));
        if hi > 15 || lo > 15 {
            return None;
        }
        raw[i] = hi << 4 | lo;
    }
    let mut name = [0u8; 15];
    name.copy_from_slice(&raw[..15]);
    Some((name, raw[15]))
}

/// Records one NetBIOS name with its suffix and group flag.
fn record_name(obs: &mut Observation, name: &[u8; 15], suffix: u8, group: bool) {
    // Padding is spaces (and NULs from some stacks); '*' is the wildcard of node status.
    let end = name.iter().rposition(|&b| b != b' ' && b != 0).map_or(0, |i| i + 1);
    let name = &name[..end];
    if name.is_empty() || name[0] == b'*' {
        return;
    }
    match (group, suffix) {
        (false, 0x00 | 0x20) => push_name(obs, text(name)),
        (true, 0x00 | 0x1c | 0x1e) | (false, 0x1b | 0x1d) => push_attr(obs, "workgroup", text(name)),
        _ => {}
    }
}

/// Reads one name service packet (the UDP payload) into `obs`.
pub fn parse(msg: &[u8], obs: &mut Observation) -> Result<(), Skip> {
    obs.protocol = Some(Protocol::Nbns);
    let header = msg.get(..12).ok_or(MALFORMED)?;
    let flags = u16::from_be_bytes([header[2], header[3]]);
    let response = flags & 0x8000 != 0;
    let opcode = (flags >> 11) & 0xf;
    let rcode = flags & 0xf;
    let count = |i: usize| usize::from(u16::from_be_bytes([header[i], header[i + 1]]));
    let questions = count(4);
    let records = count(6) + count(8) + count(10);
    // Registration (5), refresh (8, 9 in practice), multi-homed registration (15) requests, and
    // positive responses to queries (0) and registrations: their records are the sender's.
    let names_are_senders =
        if response { rcode == 0 && matches!(opcode, 0 | 5) } else { matches!(opcode, 5 | 8 | 9 | 15) };
    let mut pos = 12;
    let mut name = Name::default();
    for _ in 0..questions.min(MAX_RECORDS) {
        pos = read_name(msg, pos, true, &mut name).map_err(|_| MALFORMED)?;
        first_label(&name)?;
        pos += 4;
        if pos > msg.len() {
            return Err(MALFORMED);
        }
    }
    if questions > MAX_RECORDS {
        return Ok(());
    }
    for _ in 0..records.min(MAX_RECORDS) {
        pos = read_name(msg, pos, true, &mut name).map_err(|_| MALFORMED)?;
        let fixed = msg.get(pos..pos + 10).ok_or(MALFORMED)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let rdata = msg.get(pos + 10..pos + 10 + rdlen).ok_or(MALFORMED)?;
        pos += 10 + rdlen;
        if !names_are_senders {
            continue;
        }
        match rtype {
            TYPE_NB => {
                let (nb_name, suffix) = first_label(&name)?;
                // RFC 1002 §4.2.1.3: NB_FLAGS (G bit 0x8000) + IPv4 address, repeated. A
                // registration's additional record may also be empty-ish; take what is whole.
                if !rdata.len().is_multiple_of(6) {
                    return Err(MALFORMED);
                }
                let mut group = false;
                for entry in rdata.chunks_exact(6) {
                    group |= entry[0] & 0x80 != 0;
                    if let Some(ip) = v4_from(&entry[2..]) {
                        push_v4(obs, ip);
                    }
                }
                record_name(obs, &nb_name, suffix, group);
            }
            TYPE_NBSTAT if response => node_status(rdata, obs)?,
            _ => {}
        }
    }
    Ok(())
}

fn first_label(name: &Name) -> Result<([u8; 15], u8), Skip> {
    name.labels().next().and_then(decode_name).ok_or(MALFORMED)
}

/// RFC 1002 §4.2.18: NUM_NAMES, then 18 bytes per name (16 name bytes, NAME_FLAGS), then
/// statistics (unit id first) that are not read.
fn node_status(rdata: &[u8], obs: &mut Observation) -> Result<(), Skip> {
    let (&n, rest) = rdata.split_first().ok_or(MALFORMED)?;
    let table = rest.get(..usize::from(n) * 18).ok_or(MALFORMED)?;
    for entry in table.chunks_exact(18) {
        let mut name = [0u8; 15];
        name.copy_from_slice(&entry[..15]);
        let group = u16_at(entry, 16).is_some_and(|f| f & 0x8000 != 0);
        record_name(obs, &name, entry[15], group);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dns::tests::Msg;
    use std::net::Ipv4Addr;

    /// The encoded RR name of a NetBIOS name and suffix (no scope).
    pub(crate) fn nb_name(name: &str, suffix: u8) -> Vec<u8> {
        let mut raw = [b' '; 16];
        raw[..name.len()].copy_from_slice(name.as_bytes());
        raw[15] = suffix;
        let mut v = vec![32];
        for b in raw {
            v.push(b'A' + (b >> 4));
            v.push(b'A' + (b & 0xf));
        }
        v.push(0);
        v
    }

    fn nbns(msg: &[u8]) -> Result<Observation, Skip> {
        let mut obs = Observation::default();
        parse(msg, &mut obs).map(|()| obs)
    }

    #[test]
    fn encoding() {
        // RFC 1001 §14.1: "FRED" → EGFCEFEECACACACACACACACACACACACA (suffix 0x20 → CA).
        assert_eq!(&nb_name("FRED", 0x20)[1..33], b"EGFCEFEECACACACACACACACACACACACA");
        assert_eq!(decode_name(b"EGFCEFEECACACACACACACACACACACACA").unwrap().1, 0x20);
        assert_eq!(decode_name(b"EGFCEFEECACACACACACACACACACACACQ"), None);
        assert_eq!(decode_name(b"EGFC"), None);
    }

    /// A broadcast registration: question + additional NB record pointing back at it.
    pub(crate) fn registration(name: &str, suffix: u8, group: bool, ip: [u8; 4]) -> Vec<u8> {
        let mut rdata = vec![if group { 0x80 } else { 0 }, 0];
        rdata.extend_from_slice(&ip);
        Msg::new(0x2910, [1, 0, 0, 1]).question(&nb_name(name, suffix), TYPE_NB).rr(&[0xc0, 12], TYPE_NB, &rdata).bytes
    }

    #[test]
    fn registrations() {
        let obs = nbns(&registration("DESKTOP-7Q2", 0x00, false, [192, 168, 1, 23])).unwrap();
        assert_eq!(
            obs,
            Observation {
                protocol: Some(Protocol::Nbns),
                ipv4: vec![Ipv4Addr::new(192, 168, 1, 23)],
                names: vec!["DESKTOP-7Q2".into()],
                ..Default::default()
            }
        );
        let obs = nbns(&registration("WORKGROUP", 0x00, true, [192, 168, 1, 23])).unwrap();
        assert_eq!(obs.attributes, [("workgroup", "WORKGROUP".to_owned())]);
        assert!(obs.names.is_empty());
        // Messenger names (0x03) are not host names.
        assert!(nbns(&registration("ALICE", 0x03, false, [192, 168, 1, 23])).unwrap().names.is_empty());
    }

    #[test]
    fn queries_name_nobody() {
        let msg = Msg::new(0x0110, [1, 0, 0, 0]).question(&nb_name("FILESRV", 0x20), TYPE_NB).bytes;
        assert_eq!(nbns(&msg).unwrap(), Observation { protocol: Some(Protocol::Nbns), ..Default::default() });
    }

    #[test]
    fn positive_query_response_and_node_status() {
        let msg = Msg::new(0x8500, [0, 1, 0, 0]).rr(&nb_name("FILESRV", 0x20), TYPE_NB, &[0x60, 0, 10, 0, 0, 7]).bytes;
        let obs = nbns(&msg).unwrap();
        assert_eq!((obs.names, obs.ipv4), (vec!["FILESRV".to_owned()], vec![Ipv4Addr::new(10, 0, 0, 7)]));

        let mut table = vec![3u8];
        for (name, suffix, flags) in [("NAS", 0x00u8, 0x0400u16), ("NAS", 0x20, 0x0400), ("HOME", 0x00, 0x8400)] {
            let mut raw = [b' '; 15];
            raw[..name.len()].copy_from_slice(name.as_bytes());
            table.extend_from_slice(&raw);
            table.push(suffix);
            table.extend_from_slice(&flags.to_be_bytes());
        }
        table.extend_from_slice(&[0x00, 0x11, 0x32, 0xaa, 0xbb, 0xcc]);
        let msg =
            Msg::new(0x8400, [0, 1, 0, 0]).rr(&nb_name("*\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 0), TYPE_NBSTAT, &table).bytes;
        let obs = nbns(&msg).unwrap();
        assert_eq!(obs.names, ["NAS"]);
        assert_eq!(obs.attributes, [("workgroup", "HOME".to_owned())]);
    }

    #[test]
    fn malformed() {
        assert_eq!(nbns(&[0; 11]), Err(MALFORMED));
        // A short (non-32-byte) first label.
        let msg = Msg::new(0x2910, [1, 0, 0, 0]).question(b"\x04FRED\x00", TYPE_NB).bytes;
        assert_eq!(nbns(&msg), Err(MALFORMED));
        // Characters outside A-P.
        let mut name = nb_name("FRED", 0);
        name[1] = b'Z';
        let msg = Msg::new(0x2910, [1, 0, 0, 0]).question(&name, TYPE_NB).bytes;
        assert_eq!(nbns(&msg), Err(MALFORMED));
        // NB rdata not a multiple of six; rdlength past the end; node status count past rdata.
        let msg = Msg::new(0x8500, [0, 1, 0, 0]).rr(&nb_name("A", 0), TYPE_NB, &[0, 0, 10, 0, 0]).bytes;
        assert_eq!(nbns(&msg), Err(MALFORMED));
        let mut msg = registration("A", 0, false, [10, 0, 0, 1]);
        msg.pop();
        assert_eq!(nbns(&msg), Err(MALFORMED));
        let msg = Msg::new(0x8400, [0, 1, 0, 0]).rr(&nb_name("*", 0), TYPE_NBSTAT, &[2, 0, 0]).bytes;
        assert_eq!(nbns(&msg), Err(MALFORMED));
        // Compression loop.
        let msg = Msg::new(0x2910, [1, 0, 0, 0]).question(&[0xc0, 12], TYPE_NB).bytes;
        assert_eq!(nbns(&msg), Err(MALFORMED));
    }
}
