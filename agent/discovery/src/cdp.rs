//! Cisco Discovery Protocol (v1/v2), in an 802.3 frame to 01:00:0c:cc:cc:cc with LLC/SNAP
//! `aa aa 03`, OUI `00 00 0c`, protocol id 0x2000.
//!
//! TLVs (type, length including the four header bytes): device id → names, addresses and
//! management addresses → IPv4/IPv6 (management ones also `management_address`), port id →
//! `port`, capabilities → `capabilities`, software version → `system_description`, platform →
//! `platform`. A length under 4 is malformed (a length of 0 would never advance).

use crate::bounded::{push_attr, push_name, push_v4, push_v6, text, u16_at, v4_from, v6_from};
use crate::{Observation, Protocol, Skip};

const MALFORMED: Skip = Skip::Malformed(Protocol::Cdp);

const CAPABILITIES: [&str; 11] = [
    "router",
    "bridge",
    "source_route_bridge",
    "switch",
    "host",
    "igmp",
    "repeater",
    "phone",
    "remote",
    "cvta",
    "tpmr",
];

/// The LLC/SNAP header that carries CDP.
pub const SNAP: [u8; 8] = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00];

/// Reads one CDP packet (after the SNAP header: version, TTL, checksum, TLVs) into `obs`.
pub fn parse(pdu: &[u8], obs: &mut Observation) -> Result<(), Skip> {
    obs.protocol = Some(Protocol::Cdp);
    let mut tlvs = pdu.get(4..).ok_or(MALFORMED)?;
    if !matches!(pdu[0], 1 | 2) {
        return Err(MALFORMED);
    }
    while !tlvs.is_empty() {
        let kind = u16_at(tlvs, 0).ok_or(MALFORMED)?;
        let len = usize::from(u16_at(tlvs, 2).ok_or(MALFORMED)?);
        if len < 4 {
            return Err(MALFORMED);
        }
        let value = tlvs.get(4..len).ok_or(MALFORMED)?;
        tlvs = &tlvs[len..];
        match kind {
            0x0001 => push_name(obs, text(value)),
            0x0002 => addresses(value, false, obs)?,
            0x0003 => push_attr(obs, "port", text(value)),
            0x0004 => {
                let bits = u32::from_be_bytes(value.try_into().map_err(|_| MALFORMED)?);
                let names = crate::lldp::capabilities(bits as u16, &CAPABILITIES);
                push_attr(obs, "capabilities", names);
            }
            0x0005 => push_attr(obs, "system_description", text(value)),
            0x0006 => push_attr(obs, "platform", text(value)),
            0x0016 => addresses(value, true, obs)?,
            _ => {}
        }
    }
    Ok(())
}

/// Address list: count (4 bytes), then per address protocol type (1 NLPID, 2 802.2), protocol
/// length, protocol, address length (2 bytes), address. NLPID 0xcc is IPv4; 802.2 with
/// ethertype 0x86dd is IPv6.
fn addresses(value: &[u8], management: bool, obs: &mut Observation) -> Result<(), Skip> {
    let count = value.get(..4).ok_or(MALFORMED)?;
    let count = u32::from_be_bytes(count.try_into().map_err(|_| MALFORMED)?);
    let mut rest = &value[4..];
    // At least five bytes per address: the count cannot make this loop longer than the TLV.
    for _ in 0..count {
        if rest.is_empty() {
            return Err(MALFORMED);
        }
        let plen = usize::from(*rest.get(1).ok_or(MALFORMED)?);
        let proto = rest.get(2..2 + plen).ok_or(MALFORMED)?;
        let alen = usize::from(u16_at(rest, 2 + plen).ok_or(MALFORMED)?);
        let addr = rest.get(4 + plen..4 + plen + alen).ok_or(MALFORMED)?;
        rest = &rest[4 + plen + alen..];
        let text = if proto == [0xcc] {
            v4_from(addr).map(|a| {
                push_v4(obs, a);
                a.to_string()
            })
        } else if proto.len() == 8 && proto[6..] == [0x86, 0xdd] {
            v6_from(addr).map(|a| {
                push_v6(obs, a);
                a.to_string()
            })
        } else {
            None
        };
        if management {
            push_attr(obs, "management_address", text);
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    pub(crate) fn tlv(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut v = kind.to_be_bytes().to_vec();
        v.extend_from_slice(&(value.len() as u16 + 4).to_be_bytes());
        v.extend_from_slice(value);
        v
    }

    pub(crate) fn switch_pdu() -> Vec<u8> {
        let mut p = vec![2, 180, 0x12, 0x34];
        p.extend(tlv(1, b"sw-core-1.example.net"));
        p.extend(tlv(2, &[0, 0, 0, 1, 1, 1, 0xcc, 0, 4, 10, 1, 1, 1]));
        p.extend(tlv(3, b"GigabitEthernet1/0/1"));
        p.extend(tlv(4, &[0, 0, 0, 0x29])); // router, switch, igmp
        p.extend(tlv(5, b"Cisco IOS Software, Version 15.2(4)E10"));
        p.extend(tlv(6, b"cisco WS-C3750X-48P"));
        let mut v6 = vec![0, 0, 0, 1, 2, 8, 0xaa, 0xaa, 3, 0, 0, 0, 0x86, 0xdd, 0, 16];
        v6.extend_from_slice(&"2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        p.extend(tlv(0x16, &v6));
        p.extend(tlv(0x0a, &[0, 1])); // native VLAN, not read
        p
    }

    fn run(p: &[u8]) -> Result<Observation, Skip> {
        let mut obs = Observation::default();
        parse(p, &mut obs).map(|()| obs)
    }

    #[test]
    fn switch() {
        assert_eq!(
            run(&switch_pdu()).unwrap(),
            Observation {
                protocol: Some(Protocol::Cdp),
                ipv4: vec![Ipv4Addr::new(10, 1, 1, 1)],
                ipv6: vec!["2001:db8::1".parse().unwrap()],
                names: vec!["sw-core-1.example.net".into()],
                attributes: vec![
                    ("port", "GigabitEthernet1/0/1".into()),
                    ("capabilities", "router,switch,igmp".into()),
                    ("system_description", "Cisco IOS Software, Version 15.2(4)E10".into()),
                    ("platform", "cisco WS-C3750X-48P".into()),
                    ("management_address", "2001:db8::1".into()),
                ],
                ..Default::default()
            }
        );
    }

    #[test]
    fn malformed() {
        // TLV length 0 (and 1..3) must not loop.
        for len in 0..4u8 {
            assert_eq!(run(&[2, 180, 0, 0, 0, 1, 0, len, b'x']), Err(MALFORMED));
        }
        // Length past the end; half a header; wrong version; short header.
        assert_eq!(run(&[2, 180, 0, 0, 0, 1, 0, 9, b'x']), Err(MALFORMED));
        assert_eq!(run(&[2, 180, 0, 0, 0, 1, 0]), Err(MALFORMED));
        assert_eq!(run(&[9, 180, 0, 0]), Err(MALFORMED));
        assert_eq!(run(&[2, 180, 0]), Err(MALFORMED));
        // Address count larger than the list; address length past the TLV; odd capabilities.
        assert_eq!(
            run(&[vec![2, 180, 0, 0], tlv(2, &[0, 0, 0, 2, 1, 1, 0xcc, 0, 4, 10, 1, 1, 1])].concat()),
            Err(MALFORMED)
        );
        assert_eq!(run(&[vec![2, 180, 0, 0], tlv(2, &[0, 0, 0, 1, 1, 1, 0xcc, 0, 9, 10])].concat()), Err(MALFORMED));
        assert_eq!(run(&[vec![2, 180, 0, 0], tlv(2, &[0xff, 0xff, 0xff, 0xff])].concat()), Err(MALFORMED));
        assert_eq!(run(&[vec![2, 180, 0, 0], tlv(4, &[0, 1])].concat()), Err(MALFORMED));
    }
}
