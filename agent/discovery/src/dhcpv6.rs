//! DHCPv6 client messages (RFC 8415), UDP 546 to 547.
//!
//! The client is the frame's source MAC. Top-level options: 1 client DUID → `client_id` (hex),
//! 39 client FQDN (RFC 4704, DNS wire form) → names, 16 vendor class (enterprise number, then
//! length-prefixed strings) → `vendor_class` (the strings joined by `,`).

use crate::bounded::{hex, push_attr, push_name, text, u16_at};
use crate::dns::{Name, read_name};
use crate::{Observation, Protocol, Skip};

const MALFORMED: Skip = Skip::Malformed(Protocol::Dhcpv6);

/// Reads one DHCPv6 message (the UDP payload) into `obs`.
pub fn parse(msg: &[u8], obs: &mut Observation) -> Result<(), Skip> {
    obs.protocol = Some(Protocol::Dhcpv6);
    let (&kind, _) = msg.split_first().ok_or(MALFORMED)?;
    // Solicit, Request, Confirm, Renew, Rebind, Release, Decline, Information-request.
    if !matches!(kind, 1 | 3..=6 | 8 | 9 | 11) {
        return Err(Skip::Ignored);
    }
    let mut area = msg.get(4..).ok_or(MALFORMED)?;
    // Every option takes at least four bytes, so the loop ends with the message.
    while !area.is_empty() {
        let code = u16_at(area, 0).ok_or(MALFORMED)?;
        let len = usize::from(u16_at(area, 2).ok_or(MALFORMED)?);
        let value = area.get(4..4 + len).ok_or(MALFORMED)?;
        area = &area[4 + len..];
        match code {
            1 => push_attr(obs, "client_id", hex(value)),
            16 => push_attr(obs, "vendor_class", vendor_class(value)?),
            39 => {
                // One flags byte, then the name.
                let raw = value.get(1..).ok_or(MALFORMED)?;
                let mut name = Name::default();
                read_name(raw, 0, false, &mut name).map_err(|_| MALFORMED)?;
                push_name(obs, name.to_text());
            }
            _ => {}
        }
    }
    Ok(())
}

fn vendor_class(value: &[u8]) -> Result<Option<String>, Skip> {
    let mut rest = value.get(4..).ok_or(MALFORMED)?;
    let mut joined = Vec::new();
    while !rest.is_empty() {
        let len = usize::from(u16_at(rest, 0).ok_or(MALFORMED)?);
        let data = rest.get(2..2 + len).ok_or(MALFORMED)?;
        rest = &rest[2 + len..];
        if joined.len() < crate::bounded::MAX_TEXT {
            if !joined.is_empty() {
                joined.push(b',');
            }
            joined.extend_from_slice(&data[..data.len().min(crate::bounded::MAX_TEXT)]);
        }
    }
    Ok(text(&joined))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn solicit() -> Vec<u8> {
        let mut m = vec![1, 0xab, 0xcd, 0xef];
        // Client identifier: DUID-LLT, Ethernet, time, MAC.
        m.extend_from_slice(&[0, 1, 0, 14, 0, 1, 0, 1, 0x2b, 0x3c, 0x4d, 0x5e, 0x3c, 0x22, 0xfb, 0x12, 0x34, 0x56]);
        // Elapsed time.
        m.extend_from_slice(&[0, 8, 0, 2, 0, 0]);
        // Vendor class: enterprise 311, "MSFT 5.0".
        m.extend_from_slice(&[0, 16, 0, 14, 0, 0, 1, 0x37, 0, 8]);
        m.extend_from_slice(b"MSFT 5.0");
        // Client FQDN: flags S, "laptop1.corp.example".
        m.extend_from_slice(&[0, 39, 0, 23, 1]);
        m.extend_from_slice(b"\x07laptop1\x04corp\x07example\x00");
        // IA_NA (not read).
        m.extend_from_slice(&[0, 3, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        m
    }

    fn v6(msg: &[u8]) -> Result<Observation, Skip> {
        let mut obs = Observation::default();
        parse(msg, &mut obs).map(|()| obs)
    }

    #[test]
    fn solicit_options() {
        assert_eq!(
            v6(&solicit()).unwrap(),
            Observation {
                protocol: Some(Protocol::Dhcpv6),
                names: vec!["laptop1.corp.example".into()],
                attributes: vec![
                    ("client_id", "000100012b3c4d5e3c22fb123456".into()),
                    ("vendor_class", "MSFT 5.0".into()),
                ],
                ..Default::default()
            }
        );
    }

    #[test]
    fn malformed_and_ignored() {
        assert_eq!(v6(&[]), Err(MALFORMED));
        assert_eq!(v6(&[1, 0, 0]), Err(MALFORMED));
        assert_eq!(v6(&[1, 0, 0, 0]).unwrap().protocol, Some(Protocol::Dhcpv6));
        assert_eq!(v6(&[1, 0, 0, 0, 0, 1, 0, 9, 1]), Err(MALFORMED));
        assert_eq!(v6(&[1, 0, 0, 0, 0, 1, 0]), Err(MALFORMED));
        assert_eq!(v6(&[1, 0, 0, 0, 0, 39, 0, 0]), Err(MALFORMED));
        assert_eq!(v6(&[1, 0, 0, 0, 0, 39, 0, 3, 0, 5, b'a']), Err(MALFORMED));
        assert_eq!(v6(&[1, 0, 0, 0, 0, 16, 0, 3, 0, 0, 1]), Err(MALFORMED));
        assert_eq!(v6(&[1, 0, 0, 0, 0, 16, 0, 7, 0, 0, 1, 0x37, 0, 9, b'x']), Err(MALFORMED));
        // Advertise and Reply come from servers; Relay-forward from relays.
        for kind in [2, 7, 12, 13] {
            assert_eq!(v6(&[kind, 0, 0, 0]), Err(Skip::Ignored));
        }
    }
}
