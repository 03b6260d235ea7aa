//! ARP over Ethernet for IPv4 (RFC 826).
//!
//! The device is the sender: its hardware address (the frame's source when the sender field
//! is not a unicast MAC) and its protocol address, unless that is 0.0.0.0 (an ARP probe, RFC
//! 5227, whose target is only a candidate address and is not recorded). Requests, replies and
//! gratuitous ARP are read alike.

use crate::bounded::{is_unicast_mac, mac_from, push_v4, v4_from};
use crate::{Observation, Protocol, Skip};

/// Reads one ARP packet (the Ethernet payload) into `obs`.
pub fn parse(packet: &[u8], obs: &mut Observation) -> Result<(), Skip> {
    let packet = packet.get(..28).ok_or(Skip::Truncated)?;
    // htype Ethernet, ptype IPv4, hlen 6, plen 4; anything else is not about IPv4 neighbours.
    if packet[..6] != [0, 1, 8, 0, 6, 4] {
        return Err(Skip::Ignored);
    }
    let op = u16::from_be_bytes([packet[6], packet[7]]);
    if op != 1 && op != 2 {
        return Err(Skip::Malformed(Protocol::Arp));
    }
    obs.protocol = Some(Protocol::Arp);
    if let Some(mac) = mac_from(&packet[8..14]).filter(is_unicast_mac) {
        obs.mac = mac;
    }
    if let Some(ip) = v4_from(&packet[14..18]) {
        push_v4(obs, ip);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    pub(crate) const SENDER: [u8; 6] = [0x00, 0x1b, 0x21, 0x0a, 0x0b, 0x0c];

    pub(crate) fn arp(op: u16, sender_ip: [u8; 4], target_ip: [u8; 4]) -> Vec<u8> {
        let mut p = vec![0, 1, 8, 0, 6, 4];
        p.extend_from_slice(&op.to_be_bytes());
        p.extend_from_slice(&SENDER);
        p.extend_from_slice(&sender_ip);
        p.extend_from_slice(&[0; 6]);
        p.extend_from_slice(&target_ip);
        p
    }

    fn run(p: &[u8]) -> Result<Observation, Skip> {
        let mut obs = Observation { mac: [2, 0, 0, 0, 0, 9], ..Default::default() };
        parse(p, &mut obs).map(|()| obs)
    }

    #[test]
    fn request_reply_probe_gratuitous() {
        let want = Observation {
            mac: SENDER,
            protocol: Some(Protocol::Arp),
            ipv4: vec![Ipv4Addr::new(192, 168, 1, 10)],
            ..Default::default()
        };
        assert_eq!(run(&arp(1, [192, 168, 1, 10], [192, 168, 1, 1])).unwrap(), want);
        assert_eq!(run(&arp(2, [192, 168, 1, 10], [192, 168, 1, 1])).unwrap(), want);
        assert_eq!(run(&arp(1, [192, 168, 1, 10], [192, 168, 1, 10])).unwrap(), want);
        // Probe: the MAC but no address.
        let probe = run(&arp(1, [0, 0, 0, 0], [192, 168, 1, 10])).unwrap();
        assert_eq!(probe, Observation { ipv4: vec![], ..want });
    }

    #[test]
    fn short_foreign_and_odd() {
        assert_eq!(run(&arp(1, [10, 0, 0, 1], [10, 0, 0, 2])[..27]), Err(Skip::Truncated));
        let mut p = arp(1, [10, 0, 0, 1], [10, 0, 0, 2]);
        p[1] = 6;
        assert_eq!(run(&p), Err(Skip::Ignored));
        assert_eq!(run(&arp(9, [10, 0, 0, 1], [10, 0, 0, 2])), Err(Skip::Malformed(Protocol::Arp)));
        let mut p = arp(2, [10, 0, 0, 1], [10, 0, 0, 2]);
        p[8..14].copy_from_slice(&[0; 6]);
        assert_eq!(run(&p).unwrap().mac, [2, 0, 0, 0, 0, 9]);
    }
}
