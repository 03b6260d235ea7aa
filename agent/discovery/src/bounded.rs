//! The bounds every discovery parser keeps, and the helpers that keep them.
//!
//! One frame adds at most [`MAX_ITEMS`] names, attributes, IPv4 and IPv6 addresses each to its
//! [`Observation`], and every string is at most [`MAX_TEXT`] bytes of UTF-8 without control
//! characters. Whatever a frame says past that is dropped, not an error.

use crate::Observation;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Most names, attributes, IPv4 or IPv6 addresses one frame adds (each list on its own).
pub const MAX_ITEMS: usize = 64;
/// Longest string kept, in bytes (cut at a character boundary).
pub const MAX_TEXT: usize = 255;

/// Lossy UTF-8 with control characters removed, trimmed, cut to [`MAX_TEXT`] bytes; `None`
/// when nothing is left.
pub(crate) fn text(bytes: &[u8]) -> Option<String> {
    // The common case: printable ASCII, copied once.
    if bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        let trimmed = bytes[..bytes.len().min(MAX_TEXT)].trim_ascii();
        // Printable ASCII is UTF-8.
        return (!trimmed.is_empty()).then(|| String::from_utf8_lossy(trimmed).into_owned());
    }
    // Four bytes per character at most: never decode more than can be kept.
    let bytes = &bytes[..bytes.len().min(MAX_TEXT * 4)];
    let lossy = String::from_utf8_lossy(bytes);
    let mut s = String::with_capacity(lossy.len().min(MAX_TEXT));
    for c in lossy.chars() {
        if c.is_control() {
            continue;
        }
        if s.len() + c.len_utf8() > MAX_TEXT {
            break;
        }
        s.push(c);
    }
    let trimmed = s.trim();
    if trimmed.is_empty() {
        None
    } else if trimmed.len() == s.len() {
        Some(s)
    } else {
        Some(trimmed.to_owned())
    }
}

/// Lower-case hex of at most `MAX_TEXT / 2` bytes.
pub(crate) fn hex(bytes: &[u8]) -> Option<String> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let bytes = &bytes[..bytes.len().min(MAX_TEXT / 2)];
    if bytes.is_empty() {
        return None;
    }
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    Some(s)
}

/// `aa:bb:cc:dd:ee:ff`.
pub(crate) fn mac_text(mac: &[u8; 6]) -> String {
    let [a, b, c, d, e, f] = *mac;
    format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
}

/// A MAC that can name one device: not all zero, not a group address.
pub(crate) fn is_unicast_mac(mac: &[u8; 6]) -> bool {
    mac[0] & 1 == 0 && *mac != [0; 6]
}

/// Six bytes as a MAC, when there are exactly six.
pub(crate) fn mac_from(bytes: &[u8]) -> Option<[u8; 6]> {
    bytes.try_into().ok()
}

pub(crate) fn push_name(obs: &mut Observation, name: Option<String>) {
    let Some(name) = name else { return };
    if obs.names.len() < MAX_ITEMS && !obs.names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
        obs.names.push(name);
    }
}

pub(crate) fn push_attr(obs: &mut Observation, key: &'static str, value: Option<String>) {
    let Some(value) = value else { return };
    if obs.attributes.len() < MAX_ITEMS && !obs.attributes.iter().any(|(k, v)| *k == key && *v == value) {
        obs.attributes.push((key, value));
    }
}

/// Keeps a unicast, specified address.
pub(crate) fn push_v4(obs: &mut Observation, addr: Ipv4Addr) {
    if addr.is_unspecified() || addr.is_broadcast() || addr.is_multicast() {
        return;
    }
    if obs.ipv4.len() < MAX_ITEMS && !obs.ipv4.contains(&addr) {
        obs.ipv4.push(addr);
    }
}

/// Keeps a unicast, specified address.
pub(crate) fn push_v6(obs: &mut Observation, addr: Ipv6Addr) {
    if addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() {
        return;
    }
    if obs.ipv6.len() < MAX_ITEMS && !obs.ipv6.contains(&addr) {
        obs.ipv6.push(addr);
    }
}

pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn v4_from(bytes: &[u8]) -> Option<Ipv4Addr> {
    <[u8; 4]>::try_from(bytes).ok().map(Ipv4Addr::from)
}

pub(crate) fn v6_from(bytes: &[u8]) -> Option<Ipv6Addr> {
    <[u8; 16]>::try_from(bytes).ok().map(Ipv6Addr::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_strips_controls_trims_and_cuts() {
        assert_eq!(text(b"  a\x00b\x1bc\r\n "), Some("abc".to_owned()));
        assert_eq!(text(b"\x00\x01 "), None);
        assert_eq!(text(b"caf\xc3\xa9\xff"), Some("caf\u{e9}\u{fffd}".to_owned()));
        let long = "\u{e9}".repeat(300);
        let cut = text(long.as_bytes()).unwrap();
        assert_eq!(cut.len(), 254);
        assert!(text(&[b'x'; 10_000]).unwrap().len() == MAX_TEXT);
    }

    #[test]
    fn hex_and_mac() {
        assert_eq!(hex(&[0x01, 0xab]), Some("01ab".to_owned()));
        assert_eq!(hex(&[]), None);
        assert_eq!(hex(&[0; 1000]).unwrap().len(), 254);
        assert_eq!(mac_text(&[0, 0x1b, 0x21, 0xa, 0xb, 0xff]), "00:1b:21:0a:0b:ff");
        assert!(is_unicast_mac(&[2, 0, 0, 0, 0, 1]));
        assert!(!is_unicast_mac(&[1, 0, 0x5e, 0, 0, 1]));
        assert!(!is_unicast_mac(&[0; 6]));
    }

    #[test]
    fn pushes_are_capped_and_deduplicated() {
        let mut obs = Observation::default();
        for i in 0..200u32 {
            push_name(&mut obs, Some(format!("n{i}")));
            push_attr(&mut obs, "k", Some(format!("{i}")));
            push_v4(&mut obs, Ipv4Addr::from(0x0a00_0001 + i));
            push_v6(&mut obs, Ipv6Addr::from(0xfe80_0000_0000_0000_0000_0000_0000_0001 + u128::from(i)));
        }
        assert_eq!((obs.names.len(), obs.attributes.len(), obs.ipv4.len(), obs.ipv6.len()), (64, 64, 64, 64));
        let mut obs = Observation::default();
        push_name(&mut obs, Some("Host".into()));
        push_name(&mut obs, Some("host".into()));
        push_v4(&mut obs, Ipv4Addr::UNSPECIFIED);
        push_v4(&mut obs, Ipv4Addr::BROADCAST);
        push_v6(&mut obs, Ipv6Addr::UNSPECIFIED);
        assert_eq!(obs.names, ["Host"]);
        assert!(obs.ipv4.is_empty() && obs.ipv6.is_empty());
    }
}
