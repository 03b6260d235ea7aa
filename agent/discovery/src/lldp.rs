//! LLDP (IEEE 802.1AB), EtherType 0x88cc.
//!
//! TLVs: chassis id → `chassis_id` (a MAC subtype as `aa:bb:..`, a network address as its
//! text, other subtypes as text); port id and port description → one `port` (`id` or
//! `id (description)`); system name → names; system description → `system_description`;
//! system capabilities → `capabilities` (the enabled ones, `bridge,router`); management
//! address → an address and `management_address`. The observation's MAC stays the frame's
//! source. The walk stops at the End TLV (or the end of the frame, padding included).

use crate::bounded::{mac_from, mac_text, push_attr, push_name, push_v4, push_v6, text, u16_at, v4_from, v6_from};
use crate::{Observation, Protocol, Skip};

const MALFORMED: Skip = Skip::Malformed(Protocol::Lldp);

/// 802.1AB Table 8-4, bit 0 first.
const CAPABILITIES: [&str; 11] =
    ["other", "repeater", "bridge", "wlan_ap", "router", "telephone", "docsis", "station", "cvlan", "svlan", "tpmr"];

/// Reads one LLDPDU (the Ethernet payload) into `obs`.
pub fn parse(mut pdu: &[u8], obs: &mut Observation) -> Result<(), Skip> {
    obs.protocol = Some(Protocol::Lldp);
    let mut port_id = None;
    let mut port_description = None;
    // Each TLV consumes its two-byte header at least, so the loop ends with the frame.
    while !pdu.is_empty() {
        let header = u16_at(pdu, 0).ok_or(MALFORMED)?;
        let (kind, len) = (header >> 9, usize::from(header & 0x1ff));
        let value = pdu.get(2..2 + len).ok_or(MALFORMED)?;
        pdu = &pdu[2 + len..];
        match kind {
            0 => break,
            1 => push_attr(obs, "chassis_id", id(value, 4, 5)?),
            2 => port_id = id(value, 3, 4)?,
            4 => port_description = text(value),
            5 => push_name(obs, text(value)),
            6 => push_attr(obs, "system_description", text(value)),
            7 => {
                let enabled = u16_at(value, 2).ok_or(MALFORMED)?;
                push_attr(obs, "capabilities", capabilities(enabled, &CAPABILITIES));
            }
            8 => management(value, obs)?,
            _ => {}
        }
    }
    let port = match (port_id, port_description) {
        (Some(id), Some(d)) if id != d => Some(format!("{id} ({d})")),
        (id, d) => id.or(d),
    };
    push_attr(obs, "port", port.and_then(|p| text(p.as_bytes())));
    Ok(())
}

/// A chassis or port id: subtype byte, then the id; `mac` and `addr` are the subtypes that
/// hold a MAC and a network address.
fn id(value: &[u8], mac: u8, addr: u8) -> Result<Option<String>, Skip> {
    let (&subtype, id) = value.split_first().ok_or(MALFORMED)?;
    if id.is_empty() {
        return Err(MALFORMED);
    }
    Ok(if subtype == mac {
        mac_from(id).map(|m| mac_text(&m)).or_else(|| crate::bounded::hex(id))
    } else if subtype == addr {
        address(id).map(|a| a.to_string()).or_else(|| crate::bounded::hex(id))
    } else {
        text(id)
    })
}

/// An IANA address family number (1 IPv4, 2 IPv6) then the address.
fn address(value: &[u8]) -> Option<std::net::IpAddr> {
    let (&family, addr) = value.split_first()?;
    match family {
        1 => v4_from(addr).map(Into::into),
        2 => v6_from(addr).map(Into::into),
        _ => None,
    }
}

/// The names of the set bits of `bits`, in bit order, joined by `,`.
pub(crate) fn capabilities(bits: u16, names: &[&str]) -> Option<String> {
    let list: Vec<&str> = names.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, n)| *n).collect();
    (!list.is_empty()).then(|| list.join(","))
}

/// Management address TLV: address string length (family byte + address), family, address,
/// then interface numbering and an OID, which are not read.
fn management(value: &[u8], obs: &mut Observation) -> Result<(), Skip> {
    let (&len, rest) = value.split_first().ok_or(MALFORMED)?;
    let addr = rest.get(..usize::from(len)).ok_or(MALFORMED)?;
    if len < 2 {
        return Err(MALFORMED);
    }
    match address(addr) {
        Some(std::net::IpAddr::V4(a)) => {
            push_v4(obs, a);
            push_attr(obs, "management_address", Some(a.to_string()));
        }
        Some(std::net::IpAddr::V6(a)) => {
            push_v6(obs, a);
            push_attr(obs, "management_address", Some(a.to_string()));
        }
        None if addr[0] == 6 => push_attr(obs, "management_address", mac_from(&addr[1..]).map(|m| mac_text(&m))),
        None => {}
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    pub(crate) fn tlv(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut v = (kind << 9 | value.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(value);
        v
    }

    /// A switch port's LLDPDU, with End TLV and padding.
    pub(crate) fn switch_pdu() -> Vec<u8> {
        let mut p = Vec::new();
        p.extend(tlv(1, &[4, 0x00, 0x1e, 0xbd, 0x11, 0x22, 0x33]));
        p.extend(tlv(2, b"\x05Gi1/0/24"));
        p.extend(tlv(3, &[0, 120]));
        p.extend(tlv(4, b"uplink to core"));
        p.extend(tlv(5, b"sw-floor2"));
        p.extend(tlv(6, b"Cisco IOS Software, C2960X\r\n"));
        p.extend(tlv(7, &[0, 0x14, 0, 0x04])); // bridge+router capable, bridge enabled
        p.extend(tlv(8, &[5, 1, 10, 0, 0, 2, 2, 0, 0, 0, 1, 0]));
        p.extend(tlv(127, &[0x00, 0x80, 0xc2, 1, 0, 10]));
        p.extend(tlv(0, &[]));
        p.extend_from_slice(&[0; 10]);
        p
    }

    fn run(p: &[u8]) -> Result<Observation, Skip> {
        let mut obs = Observation::default();
        parse(p, &mut obs).map(|()| obs)
    }

    #[test]
    fn switch_port() {
        assert_eq!(
            run(&switch_pdu()).unwrap(),
            Observation {
                protocol: Some(Protocol::Lldp),
                ipv4: vec![Ipv4Addr::new(10, 0, 0, 2)],
                names: vec!["sw-floor2".into()],
                attributes: vec![
                    ("chassis_id", "00:1e:bd:11:22:33".into()),
                    ("system_description", "Cisco IOS Software, C2960X".into()),
                    ("capabilities", "bridge".into()),
                    ("management_address", "10.0.0.2".into()),
                    ("port", "Gi1/0/24 (uplink to core)".into()),
                ],
                ..Default::default()
            }
        );
    }

    #[test]
    fn other_id_subtypes_and_ipv6_management() {
        let mut p = tlv(1, &[5, 2, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
        p.extend(tlv(2, &[3, 0x00, 0x1e, 0xbd, 0x11, 0x22, 0x34]));
        p.extend(tlv(8, &[17, 2, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 1, 0, 0, 0, 0, 0]));
        let obs = run(&p).unwrap();
        assert_eq!(obs.ipv6, ["2001:db8::7".parse::<std::net::Ipv6Addr>().unwrap()]);
        assert_eq!(
            obs.attributes,
            [
                ("chassis_id", "2001:db8::7".to_owned()),
                ("management_address", "2001:db8::7".to_owned()),
                ("port", "00:1e:bd:11:22:34".to_owned()),
            ]
        );
        // Locally assigned chassis id: text.
        let obs = run(&tlv(1, b"\x07rack4-pdu")).unwrap();
        assert_eq!(obs.attributes, [("chassis_id", "rack4-pdu".to_owned())]);
    }

    #[test]
    fn malformed() {
        // TLV length past the frame.
        let mut p = tlv(5, b"name");
        p[1] = 200;
        assert_eq!(run(&p), Err(MALFORMED));
        // Half a TLV header.
        assert_eq!(run(&[0x02]), Err(MALFORMED));
        // Empty chassis id; capabilities too short; management address length past its TLV.
        assert_eq!(run(&tlv(1, &[4])), Err(MALFORMED));
        assert_eq!(run(&tlv(7, &[0, 4])), Err(MALFORMED));
        assert_eq!(run(&tlv(8, &[9, 1, 10])), Err(MALFORMED));
        // Nothing at all is an empty but valid PDU.
        assert_eq!(run(&[]).unwrap().protocol, Some(Protocol::Lldp));
    }
}
