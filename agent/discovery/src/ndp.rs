//! IPv6 neighbour discovery (RFC 4861): router solicitation (133), router advertisement (134),
//! neighbour solicitation (135) and advertisement (136).
//!
//! The device's MAC is the source link-layer address option (the target link-layer address
//! option of an advertisement), else the frame's source. Its addresses are the IPv6 source
//! (never `::`, the source of duplicate address detection) and an advertisement's target.
//! A router advertisement, or an advertisement with the router flag, adds `router` = `true`.
//! The RFC's receive checks that concern the packet's shape are kept (code 0, minimum length,
//! no zero-length option); hop limit and checksum are not, since nothing is trusted from
//! discovery beyond "someone said so".

use std::net::Ipv6Addr;

use crate::bounded::{is_unicast_mac, mac_from, push_attr, push_v6, v6_from};
use crate::{Observation, Protocol, Skip};

const MALFORMED: Skip = Skip::Malformed(Protocol::Ndp);

/// Reads one ICMPv6 message (header included) sent from `source` into `obs`.
pub fn parse(icmp: &[u8], source: Ipv6Addr, obs: &mut Observation) -> Result<(), Skip> {
    let (&kind, _) = icmp.split_first().ok_or(Skip::Truncated)?;
    // Fixed part (ICMPv6 header included) and the link-layer option that names the sender.
    let (fixed, lla_option) = match kind {
        133 => (8, 1),
        134 => (16, 1),
        135 => (24, 1),
        136 => (24, 2),
        _ => return Err(Skip::Ignored),
    };
    obs.protocol = Some(Protocol::Ndp);
    if icmp.len() < fixed || icmp[1] != 0 {
        return Err(MALFORMED);
    }
    push_v6(obs, source);
    if kind == 134 {
        push_attr(obs, "router", Some("true".to_owned()));
    }
    if kind == 136 {
        if icmp[4] & 0x80 != 0 {
            push_attr(obs, "router", Some("true".to_owned()));
        }
        if let Some(target) = v6_from(&icmp[8..24]) {
            push_v6(obs, target);
        }
    }
    let mut options = &icmp[fixed..];
    // Each option is at least eight bytes (a zero length is refused), so the loop ends.
    while !options.is_empty() {
        let len = usize::from(*options.get(1).ok_or(MALFORMED)?) * 8;
        if len == 0 {
            return Err(MALFORMED);
        }
        let option = options.get(..len).ok_or(MALFORMED)?;
        options = &options[len..];
        if option[0] == lla_option
            && let Some(mac) = mac_from(&option[2..8]).filter(is_unicast_mac)
        {
            obs.mac = mac;
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const HOST: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    pub(crate) fn link_local() -> Ipv6Addr {
        "fe80::5054:ff:fe12:3456".parse().unwrap()
    }

    /// ICMPv6 message: type, flags byte (offset 4), target, then one LLA option of `opt_type`.
    pub(crate) fn message(kind: u8, flags: u8, target: Option<Ipv6Addr>, opt_type: u8) -> Vec<u8> {
        let mut m = vec![kind, 0, 0, 0, flags, 0, 0, 0];
        if kind == 134 {
            m.extend_from_slice(&[0; 8]);
        }
        if let Some(t) = target {
            m.extend_from_slice(&t.octets());
        }
        m.extend_from_slice(&[opt_type, 1]);
        m.extend_from_slice(&HOST);
        m
    }

    fn run(m: &[u8], source: Ipv6Addr) -> Result<Observation, Skip> {
        let mut obs = Observation { mac: [2, 0, 0, 0, 0, 9], ..Default::default() };
        parse(m, source, &mut obs).map(|()| obs)
    }

    #[test]
    fn solicitations_and_advertisements() {
        let ll = link_local();
        let global: Ipv6Addr = "2001:db8::5054:ff:fe12:3456".parse().unwrap();
        let base = Observation { mac: HOST, protocol: Some(Protocol::Ndp), ipv6: vec![ll], ..Default::default() };
        assert_eq!(run(&message(133, 0, None, 1), ll).unwrap(), base);
        assert_eq!(run(&message(135, 0, Some(global), 1), ll).unwrap(), base);
        let router = Observation { attributes: vec![("router", "true".into())], ..base.clone() };
        assert_eq!(run(&message(134, 0, None, 1), ll).unwrap(), router);
        let na = run(&message(136, 0x60, Some(global), 2), global).unwrap();
        assert_eq!(na, Observation { ipv6: vec![global], ..base.clone() });
        let na = run(&message(136, 0xa0, Some(global), 2), ll).unwrap();
        assert_eq!(na, Observation { ipv6: vec![ll, global], ..router.clone() });
    }

    #[test]
    fn dad_has_no_address_and_keeps_the_frame_mac_without_option() {
        let mut m = message(135, 0, Some(link_local()), 1);
        m.truncate(24);
        let obs = run(&m, Ipv6Addr::UNSPECIFIED).unwrap();
        assert_eq!((obs.mac, obs.ipv6.len()), ([2, 0, 0, 0, 0, 9], 0));
        // A source LLA option in an NA is not the target option.
        let obs = run(&message(136, 0, Some(link_local()), 1), link_local()).unwrap();
        assert_eq!(obs.mac, [2, 0, 0, 0, 0, 9]);
    }

    #[test]
    fn malformed_and_other_icmp() {
        let ll = link_local();
        assert_eq!(run(&[128, 0, 0, 0, 0, 0, 0, 0], ll), Err(Skip::Ignored));
        assert_eq!(run(&[], ll), Err(Skip::Truncated));
        assert_eq!(run(&message(135, 0, Some(ll), 1)[..20], ll), Err(MALFORMED));
        let mut m = message(133, 0, None, 1);
        m[1] = 1;
        assert_eq!(run(&m, ll), Err(MALFORMED));
        let mut m = message(133, 0, None, 1);
        m[9] = 0; // option length 0
        assert_eq!(run(&m, ll), Err(MALFORMED));
        let mut m = message(133, 0, None, 1);
        m[9] = 2; // option past the end
        assert_eq!(run(&m, ll), Err(MALFORMED));
        let mut m = message(133, 0, None, 1);
        m.push(1); // a lone option type byte
        assert_eq!(run(&m, ll), Err(MALFORMED));
    }
}
