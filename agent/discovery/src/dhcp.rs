//! DHCPv4 (RFC 2131, options RFC 2132, FQDN RFC 4702): client messages (BOOTREQUEST from UDP
//! 68 to 67) describe the client; a server's BOOTREPLY (67 to 68) only tells that its sender is a
//! DHCP server (`role` = `dhcp-server`; the reply's fields describe the client, not the sender).
//!
//! The client is `chaddr` (when `htype` is Ethernet and it is a unicast MAC; the frame's source
//! otherwise) and, when set, `ciaddr`. Options: 12 host name and 81 FQDN → names, 60 →
//! `vendor_class`, 61 → `client_id` (hex), 50 → `requested_address`, 55 → `prl` (the parameter
//! request list in order, a common fingerprint: `1,3,6,15`). Option 52 (overload) is honoured:
//! after the options field, `file` and then `sname` are read as options, each once.

use crate::bounded::{MAX_TEXT, hex, is_unicast_mac, mac_from, push_attr, push_name, push_v4, text, v4_from};
use crate::dns::{Name, read_name};
use crate::{Observation, Protocol, Skip};

const MALFORMED: Skip = Skip::Malformed(Protocol::Dhcp);
const MAGIC: [u8; 4] = [99, 130, 83, 99];

/// Reads one DHCPv4 message (the UDP payload) into `obs`; `obs.mac` is replaced by `chaddr`.
pub fn parse(msg: &[u8], obs: &mut Observation) -> Result<(), Skip> {
    obs.protocol = Some(Protocol::Dhcp);
    if msg.len() < 240 || msg[236..240] != MAGIC {
        return Err(MALFORMED);
    }
    if msg[0] != 1 {
        return Err(Skip::Ignored);
    }
    let (htype, hlen) = (msg[1], msg[2]);
    if htype == 1
        && hlen == 6
        && let Some(mac) = mac_from(&msg[28..34]).filter(is_unicast_mac)
    {
        obs.mac = mac;
    }
    if let Some(ciaddr) = v4_from(&msg[12..16]) {
        push_v4(obs, ciaddr);
    }
    let overload = options(&msg[240..], true, obs)?;
    if overload & 1 != 0 {
        options(&msg[108..236], false, obs)?;
    }
    if overload & 2 != 0 {
        options(&msg[44..108], false, obs)?;
    }
    Ok(())
}

/// Reads a server's reply: the sender (frame source, IP source) serves DHCP.
pub fn parse_server(msg: &[u8], obs: &mut Observation) -> Result<(), Skip> {
    obs.protocol = Some(Protocol::Dhcp);
    if msg.len() < 240 || msg[236..240] != MAGIC {
        return Err(MALFORMED);
    }
    if msg[0] != 2 {
        return Err(Skip::Ignored);
    }
    push_attr(obs, "role", Some("dhcp-server".to_string()));
    Ok(())
}

/// Walks one options area; answers the overload value (option 52) when `main`.
fn options(mut area: &[u8], main: bool, obs: &mut Observation) -> Result<u8, Skip> {
    let mut overload = 0;
    // Every step consumes at least one byte, so the loop ends with the area.
    while let Some((&code, rest)) = area.split_first() {
        match code {
            0 => {
                area = rest;
                continue;
            }
            255 => break,
            _ => {}
        }
        let (&len, rest) = rest.split_first().ok_or(MALFORMED)?;
        let value = rest.get(..usize::from(len)).ok_or(MALFORMED)?;
        area = &rest[value.len()..];
        match code {
            12 => push_name(obs, text(value)),
            50 => {
                let ip = v4_from(value).ok_or(MALFORMED)?;
                push_attr(obs, "requested_address", Some(ip.to_string()));
            }
            52 if main => overload = *value.first().ok_or(MALFORMED)? & 3,
            55 => push_attr(obs, "prl", prl(value)),
            60 => push_attr(obs, "vendor_class", text(value)),
            61 => push_attr(obs, "client_id", hex(value)),
            81 => fqdn(value, obs)?,
            _ => {}
        }
    }
    Ok(overload)
}

fn prl(value: &[u8]) -> Option<String> {
    let mut s = String::with_capacity(value.len() * 4);
    for (i, code) in value.iter().enumerate() {
        if s.len() + 4 > MAX_TEXT {
            break;
        }
        if i > 0 {
            s.push(',');
        }
        s.push_str(&code.to_string());
    }
    (!s.is_empty()).then_some(s)
}

/// RFC 4702: flags, two RCODE bytes, then the name: DNS wire form when flag E (0x04) is set,
/// ASCII otherwise (deprecated but sent).
fn fqdn(value: &[u8], obs: &mut Observation) -> Result<(), Skip> {
    let flags = *value.first().ok_or(MALFORMED)?;
    let raw = value.get(3..).ok_or(MALFORMED)?;
    if flags & 0x04 != 0 {
        let mut name = Name::default();
        read_name(raw, 0, false, &mut name).map_err(|_| MALFORMED)?;
        push_name(obs, name.to_text());
    } else {
        push_name(obs, text(raw).map(|s| s.trim_end_matches('.').to_owned()).filter(|s| !s.is_empty()));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    pub(crate) const CLIENT: [u8; 6] = [0x3c, 0x22, 0xfb, 0x12, 0x34, 0x56];

    #[test]
    fn a_server_reply_names_its_sender_a_dhcp_server() {
        let mut reply = request(&[53, 1, 2, 255]);
        reply[0] = 2;
        let mut obs = Observation { mac: [2, 0, 0, 0, 0, 1], ..Observation::default() };
        parse_server(&reply, &mut obs).unwrap();
        assert_eq!(obs.mac, [2, 0, 0, 0, 0, 1], "the sender, not chaddr");
        assert_eq!(obs.attributes, vec![("role", "dhcp-server".to_string())]);
        assert_eq!(obs.protocol, Some(Protocol::Dhcp));
        assert!(obs.names.is_empty());
        let mut obs = Observation::default();
        assert_eq!(parse_server(&request(&[255]), &mut obs), Err(Skip::Ignored), "a request is not a reply");
        assert_eq!(parse_server(&reply[..100], &mut obs), Err(MALFORMED));
    }

    /// A BOOTREQUEST with the given options (end option not added).
    pub(crate) fn request(options: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; 240];
        m[0] = 1;
        m[1] = 1;
        m[2] = 6;
        m[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        m[28..34].copy_from_slice(&CLIENT);
        m[236..240].copy_from_slice(&MAGIC);
        m.extend_from_slice(options);
        m
    }

    fn dhcp(msg: &[u8]) -> Result<Observation, Skip> {
        let mut obs = Observation { mac: [2, 0, 0, 0, 0, 1], ..Default::default() };
        parse(msg, &mut obs).map(|()| obs)
    }

    pub(crate) const DISCOVER_OPTIONS: &[u8] = &[
        53, 1, 1, // DHCPDISCOVER
        61, 7, 1, 0x3c, 0x22, 0xfb, 0x12, 0x34, 0x56, // client id
        50, 4, 192, 168, 1, 57, // requested address
        12, 7, b'l', b'a', b'p', b't', b'o', b'p', b'1', // host name
        60, 8, b'M', b'S', b'F', b'T', b' ', b'5', b'.', b'0', // vendor class
        55, 4, 1, 3, 6, 15, // parameter request list
        0, 0, // pad
        81, 16, 0x05, 0, 0, 7, b'l', b'a', b'p', b't', b'o', b'p', b'1', 3, b'l', b'a', b'n', 0, // FQDN
        255, 0, 0, 0,
    ];

    #[test]
    fn discover() {
        let obs = dhcp(&request(DISCOVER_OPTIONS)).unwrap();
        assert_eq!(
            obs,
            Observation {
                mac: CLIENT,
                protocol: Some(Protocol::Dhcp),
                names: vec!["laptop1".into(), "laptop1.lan".into()],
                attributes: vec![
                    ("client_id", "013c22fb123456".into()),
                    ("requested_address", "192.168.1.57".into()),
                    ("vendor_class", "MSFT 5.0".into()),
                    ("prl", "1,3,6,15".into()),
                ],
                ..Default::default()
            }
        );
    }

    #[test]
    fn renew_with_ciaddr_and_ascii_fqdn() {
        let mut m = request(&[81, 9, 0, 0, 0, b'p', b'c', b'.', b'l', b'a', b'n', 255]);
        m[12..16].copy_from_slice(&[10, 0, 0, 8]);
        let obs = dhcp(&m).unwrap();
        assert_eq!(obs.ipv4, [Ipv4Addr::new(10, 0, 0, 8)]);
        assert_eq!(obs.names, ["pc.lan"]);
    }

    #[test]
    fn options_end_at_255_or_the_buffer_and_pad_is_skipped() {
        // Nothing after 255 is read, not even a broken option.
        let obs = dhcp(&request(&[0, 0, 12, 1, b'a', 255, 12, 200])).unwrap();
        assert_eq!(obs.names, ["a"]);
        // No end option: the end of the buffer ends the options.
        assert_eq!(dhcp(&request(&[12, 1, b'b'])).unwrap().names, ["b"]);
        // Only pad.
        assert!(dhcp(&request(&[0; 300])).unwrap().names.is_empty());
    }

    #[test]
    fn overload_reads_file_then_sname_once() {
        let mut m = request(&[52, 1, 3, 255]);
        m[108..113].copy_from_slice(&[12, 3, b'f', b'i', b'l']);
        m[113] = 255;
        // sname carries another overload option, which is not followed again.
        m[44..52].copy_from_slice(&[52, 1, 3, 12, 3, b's', b'n', b'm']);
        let obs = dhcp(&m).unwrap();
        assert_eq!(obs.names, ["fil", "snm"]);
    }

    #[test]
    fn malformed_and_ignored() {
        assert_eq!(dhcp(&request(&[12, 10, b'a'])), Err(MALFORMED));
        assert_eq!(dhcp(&request(&[12])), Err(MALFORMED));
        assert_eq!(dhcp(&request(&[50, 3, 1, 2, 3])), Err(MALFORMED));
        assert_eq!(dhcp(&request(&[81, 2, 4, 0])), Err(MALFORMED));
        assert_eq!(dhcp(&request(&[81, 5, 4, 0, 0, 9, b'a'])), Err(MALFORMED));
        assert_eq!(dhcp(&request(&[52, 0])), Err(MALFORMED));
        assert_eq!(dhcp(&request(&[])[..239]), Err(MALFORMED));
        let mut bad_magic = request(&[]);
        bad_magic[236] = 0;
        assert_eq!(dhcp(&bad_magic), Err(MALFORMED));
        let mut reply = request(&[]);
        reply[0] = 2;
        assert_eq!(dhcp(&reply), Err(Skip::Ignored));
        // Overloaded file with a broken option.
        let mut m = request(&[52, 1, 1]);
        m[108..110].copy_from_slice(&[12, 200]);
        assert_eq!(dhcp(&m), Err(MALFORMED));
    }

    #[test]
    fn chaddr_that_is_not_a_device_keeps_the_frame_source() {
        let mut m = request(&[]);
        m[28..34].copy_from_slice(&[0xff; 6]);
        assert_eq!(dhcp(&m).unwrap().mac, [2, 0, 0, 0, 0, 1]);
        let mut m = request(&[]);
        m[1] = 6; // IEEE 802 token ring
        assert_eq!(dhcp(&m).unwrap().mac, [2, 0, 0, 0, 0, 1]);
    }
}
