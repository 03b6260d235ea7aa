//! Ethernet frames (802.1Q and QinQ tags included) to observations.
//!
//! One frame gives at most one [`Observation`], about its sender. Dispatch:
//!
//! | frame | parser |
//! |---|---|
//! | EtherType 0x0806 | [`crate::arp`] |
//! | EtherType 0x88cc | [`crate::lldp`] |
//! | 802.3 length + SNAP `00000c`/0x2000 to 01:00:0c:cc:cc:cc | [`crate::cdp`] |
//! | IPv6, ICMPv6 133-136 | [`crate::ndp`] |
//! | UDP 68 → 67 (IPv4) | [`crate::dhcp`] |
//! | UDP 546 → 547 (IPv6) | [`crate::dhcpv6`] |
//! | UDP 5353 (either port) | [`crate::dns::parse_mdns`] |
//! | UDP 137 (either port) | [`crate::nbns`] |
//! | UDP 1900 (either port) | [`crate::ssdp`] |
//!
//! Everything else is [`Skip::Ignored`], unicast talkers included: ARP and NDP already tie
//! addresses to MACs, and recording every TCP peer would fill the table with hosts behind the
//! router (seen with the router's MAC). For the UDP protocols the IP source address is the
//! sender's and is recorded (0.0.0.0, `::`, multicast and broadcast never are). IP fragments
//! are ignored: the discovery messages that matter fit one frame.
//!
//! The VLAN is the innermost non-zero VLAN id (0 only marks a priority tag). A frame whose
//! source MAC is a group address or all zero cannot name a device and is ignored. Headers
//! shorter than they must be are [`Skip::Truncated`]; a payload broken inside its protocol is
//! [`Skip::Malformed`]. On an error nothing is appended to `out`.

use std::net::IpAddr;

use etherparse::{Ethernet2Slice, IpSlice, SingleVlanSlice, UdpSlice};

use crate::bounded::{is_unicast_mac, push_v4, push_v6};
use crate::{Observation, Skip, arp, cdp, dhcp, dhcpv6, dns, lldp, nbns, ndp, ssdp};

/// Most VLAN tags read before a frame is ignored (two is QinQ; a third is seen in carrier
/// networks).
pub const MAX_VLAN_TAGS: usize = 4;

const CDP_DESTINATION: [u8; 6] = [0x01, 0x00, 0x0c, 0xcc, 0xcc, 0xcc];

/// Parses one Ethernet II / 802.3 frame (without FCS), appending what it reveals to `out`.
pub fn parse(frame: &[u8], out: &mut Vec<Observation>) -> Result<(), Skip> {
    let eth = Ethernet2Slice::from_slice_without_fcs(frame).map_err(|_| Skip::Truncated)?;
    let source = eth.source();
    if !is_unicast_mac(&source) {
        return Err(Skip::Ignored);
    }
    let mut ether_type = eth.ether_type().0;
    let mut payload = eth.payload_slice();
    let mut vlan = None;
    let mut tags = 0;
    while matches!(ether_type, 0x8100 | 0x88a8 | 0x9100) {
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return Err(Skip::Ignored);
        }
        let tag = SingleVlanSlice::from_slice(payload).map_err(|_| Skip::Truncated)?;
        let id = tag.vlan_identifier().value();
        if id != 0 {
            vlan = Some(id);
        }
        ether_type = tag.ether_type().0;
        payload = tag.payload_slice();
    }
    let mut obs = Observation { mac: source, vlan, ..Observation::default() };
    match ether_type {
        0x0806 => arp::parse(payload, &mut obs)?,
        0x88cc => lldp::parse(payload, &mut obs)?,
        0x0800 | 0x86dd => ip(payload, &mut obs)?,
        len @ ..=1500 => {
            // 802.3: the field is the length of the LLC data; the rest is padding.
            let data = payload.get(..usize::from(len)).ok_or(Skip::Truncated)?;
            let pdu = data.strip_prefix(&cdp::SNAP[..]).ok_or(Skip::Ignored)?;
            if eth.destination() != CDP_DESTINATION {
                return Err(Skip::Ignored);
            }
            cdp::parse(pdu, &mut obs)?;
        }
        _ => return Err(Skip::Ignored),
    }
    out.push(obs);
    Ok(())
}

fn ip(packet: &[u8], obs: &mut Observation) -> Result<(), Skip> {
    let ip = IpSlice::from_slice(packet).map_err(|_| Skip::Truncated)?;
    let payload = ip.payload();
    if payload.fragmented {
        return Err(Skip::Ignored);
    }
    let source = ip.source_addr();
    match (payload.ip_number.0, source) {
        (17, _) => udp(payload.payload, source, obs),
        (58, IpAddr::V6(source)) => ndp::parse(payload.payload, source, obs),
        _ => Err(Skip::Ignored),
    }
}

fn udp(datagram: &[u8], source: IpAddr, obs: &mut Observation) -> Result<(), Skip> {
    let udp = UdpSlice::from_slice(datagram).map_err(|_| Skip::Truncated)?;
    let (from, to) = (udp.source_port(), udp.destination_port());
    let parser: fn(&[u8], &mut Observation) -> Result<(), Skip> = match (from, to, source) {
        (68, 67, IpAddr::V4(_)) => dhcp::parse,
        (67, 68, IpAddr::V4(_)) => dhcp::parse_server,
        (546, 547, IpAddr::V6(_)) => dhcpv6::parse,
        (5353, _, _) | (_, 5353, _) => dns::parse_mdns,
        (137, _, _) | (_, 137, _) => nbns::parse,
        (1900, _, _) | (_, 1900, _) => ssdp::parse,
        _ => return Err(Skip::Ignored),
    };
    match source {
        IpAddr::V4(a) => push_v4(obs, a),
        IpAddr::V6(a) => push_v6(obs, a),
    }
    parser(udp.payload(), obs)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{Protocol, arp, cdp, dhcp, dhcpv6, lldp, nbns, ndp, ssdp};
    use std::net::{Ipv4Addr, Ipv6Addr};

    pub(crate) const SRC: [u8; 6] = [0x00, 0x1b, 0x21, 0x0a, 0x0b, 0x0c];
    const BCAST: [u8; 6] = [0xff; 6];

    /// An Ethernet II frame with VLAN tags (outermost first; 0x88a8 for the outer of two).
    pub(crate) fn ethernet(dst: [u8; 6], src: [u8; 6], vlans: &[u16], ether_type: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = dst.to_vec();
        f.extend_from_slice(&src);
        for (i, vid) in vlans.iter().enumerate() {
            let tpid: u16 = if i == 0 && vlans.len() > 1 { 0x88a8 } else { 0x8100 };
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&(0x2000 | vid).to_be_bytes()); // PCP 1
        }
        f.extend_from_slice(&ether_type.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn udp_header(from: u16, to: u16, payload: &[u8]) -> Vec<u8> {
        let mut u = from.to_be_bytes().to_vec();
        u.extend_from_slice(&to.to_be_bytes());
        u.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(payload);
        u
    }

    pub(crate) fn ipv4(src: [u8; 4], dst: [u8; 4], protocol: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&(20 + payload.len() as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x40, 0, 1, protocol, 0, 0]);
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(payload);
        p
    }

    pub(crate) fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, next: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        p.extend_from_slice(&[next, 255]);
        p.extend_from_slice(&src.octets());
        p.extend_from_slice(&dst.octets());
        p.extend_from_slice(payload);
        p
    }

    pub(crate) fn udp4(src: [u8; 4], dst: [u8; 4], from: u16, to: u16, payload: &[u8]) -> Vec<u8> {
        ethernet([1, 0, 0x5e, 0, 0, 0xfb], SRC, &[], 0x0800, &ipv4(src, dst, 17, &udp_header(from, to, payload)))
    }

    pub(crate) fn udp6(src: Ipv6Addr, dst: Ipv6Addr, from: u16, to: u16, payload: &[u8]) -> Vec<u8> {
        ethernet([0x33, 0x33, 0, 0, 0, 0xfb], SRC, &[], 0x86dd, &ipv6(src, dst, 17, &udp_header(from, to, payload)))
    }

    pub(crate) fn cdp_frame(pdu: &[u8]) -> Vec<u8> {
        let mut f = CDP_DESTINATION.to_vec();
        f.extend_from_slice(&SRC);
        f.extend_from_slice(&((cdp::SNAP.len() + pdu.len()) as u16).to_be_bytes());
        f.extend_from_slice(&cdp::SNAP);
        f.extend_from_slice(pdu);
        f
    }

    fn one(frame: &[u8]) -> Result<Observation, Skip> {
        let mut out = Vec::new();
        parse(frame, &mut out)?;
        assert_eq!(out.len(), 1);
        Ok(out.pop().unwrap())
    }

    fn ll() -> Ipv6Addr {
        "fe80::21b:21ff:fe0a:b0c".parse().unwrap()
    }

    /// One frame of every kind, for the throughput example and the fuzz seeds.
    pub fn samples() -> Vec<(&'static str, Vec<u8>)> {
        let mdns = crate::dns::tests::Msg::new(0x8400, [0, 1, 0, 0])
            .rr(&crate::dns::wire("nas.local"), 1, &[192, 168, 1, 20])
            .bytes;
        vec![
            ("arp", ethernet(BCAST, SRC, &[], 0x0806, &arp::tests::arp(1, [192, 168, 1, 10], [192, 168, 1, 1]))),
            ("arp_vlan", ethernet(BCAST, SRC, &[20], 0x0806, &arp::tests::arp(2, [10, 0, 0, 5], [10, 0, 0, 1]))),
            ("arp_qinq", ethernet(BCAST, SRC, &[100, 20], 0x0806, &arp::tests::arp(2, [10, 0, 0, 5], [10, 0, 0, 1]))),
            (
                "ndp_na",
                ethernet(
                    [0x33, 0x33, 0, 0, 0, 1],
                    SRC,
                    &[],
                    0x86dd,
                    &ipv6(ll(), "ff02::1".parse().unwrap(), 58, &ndp::tests::message(136, 0xa0, Some(ll()), 2)),
                ),
            ),
            ("dhcp", udp4([0; 4], [255; 4], 68, 67, &dhcp::tests::request(dhcp::tests::DISCOVER_OPTIONS))),
            ("dhcpv6", udp6(ll(), "ff02::1:2".parse().unwrap(), 546, 547, &dhcpv6::tests::solicit())),
            ("mdns", udp4([192, 168, 1, 20], [224, 0, 0, 251], 5353, 5353, &mdns)),
            (
                "nbns",
                udp4(
                    [192, 168, 1, 23],
                    [192, 168, 1, 255],
                    137,
                    137,
                    &nbns::tests::registration("DESKTOP-7Q2", 0, false, [192, 168, 1, 23]),
                ),
            ),
            ("lldp", ethernet([0x01, 0x80, 0xc2, 0, 0, 0x0e], SRC, &[], 0x88cc, &lldp::tests::switch_pdu())),
            ("cdp", cdp_frame(&cdp::tests::switch_pdu())),
            ("ssdp", udp4([192, 168, 1, 50], [239, 255, 255, 250], 1900, 1900, ssdp::tests::NOTIFY)),
        ]
    }

    /// The fuzz seeds in `fuzz/seeds/discovery_*` are these test builders' frames, and stay so:
    /// this fails when they drift. `CENSUS_WRITE_SEEDS=1 cargo test -p census-discovery
    /// fuzz_seeds` rewrites them.
    #[test]
    fn fuzz_seeds_match_the_test_frames() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
        let mut seeds: Vec<(&str, String, Vec<u8>)> =
            samples().into_iter().map(|(name, frame)| ("discovery_frame", name.to_string(), frame)).collect();
        let mdns = samples()[6].1[42..].to_vec();
        seeds.push(("discovery_dns", "mdns".into(), mdns));
        seeds.push((
            "discovery_dns",
            "nbns".into(),
            nbns::tests::registration("DESKTOP-7Q2", 0, false, [192, 168, 1, 23]),
        ));
        seeds.push(("discovery_dhcp", "dhcp".into(), dhcp::tests::request(dhcp::tests::DISCOVER_OPTIONS)));
        seeds.push(("discovery_dhcp", "dhcpv6".into(), dhcpv6::tests::solicit()));
        seeds.push(("discovery_lldp_cdp", "lldp".into(), lldp::tests::switch_pdu()));
        seeds.push(("discovery_lldp_cdp", "cdp".into(), cdp::tests::switch_pdu()));
        let write = std::env::var_os("CENSUS_WRITE_SEEDS").is_some();
        for (target, name, bytes) in seeds {
            let path = root.join(target).join(&name);
            if write {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &bytes).unwrap();
            } else {
                let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(on_disk, bytes, "{} drifted from its test frame", path.display());
            }
        }
    }

    #[test]
    fn every_sample_parses() {
        for (name, frame) in samples() {
            assert!(one(&frame).is_ok(), "{name}");
        }
    }

    #[test]
    fn arp_untagged_vlan_and_qinq() {
        let want = Observation {
            mac: arp::tests::SENDER,
            protocol: Some(Protocol::Arp),
            ipv4: vec![Ipv4Addr::new(10, 0, 0, 5)],
            ..Default::default()
        };
        let body = arp::tests::arp(2, [10, 0, 0, 5], [10, 0, 0, 1]);
        assert_eq!(one(&ethernet(BCAST, SRC, &[], 0x0806, &body)), Ok(want.clone()));
        assert_eq!(
            one(&ethernet(BCAST, SRC, &[20], 0x0806, &body)),
            Ok(Observation { vlan: Some(20), ..want.clone() })
        );
        assert_eq!(
            one(&ethernet(BCAST, SRC, &[100, 20], 0x0806, &body)),
            Ok(Observation { vlan: Some(20), ..want.clone() })
        );
        // A priority tag (VLAN 0) inside an S-tag: the S-tag's VLAN.
        assert_eq!(
            one(&ethernet(BCAST, SRC, &[100, 0], 0x0806, &body)),
            Ok(Observation { vlan: Some(100), ..want.clone() })
        );
        assert_eq!(one(&ethernet(BCAST, SRC, &[0], 0x0806, &body)), Ok(want.clone()));
        // Minimum-size frame padding after ARP is fine.
        let mut padded = ethernet(BCAST, SRC, &[], 0x0806, &body);
        padded.extend_from_slice(&[0; 18]);
        assert_eq!(one(&padded), Ok(want));
    }

    #[test]
    fn too_many_tags_bad_source_and_other_ethertypes() {
        let body = arp::tests::arp(2, [10, 0, 0, 5], [10, 0, 0, 1]);
        assert_eq!(one(&ethernet(BCAST, SRC, &[1, 2, 3, 4, 5], 0x0806, &body)), Err(Skip::Ignored));
        assert_eq!(one(&ethernet(BCAST, [1, 0, 0x5e, 0, 0, 1], &[], 0x0806, &body)), Err(Skip::Ignored));
        assert_eq!(one(&ethernet(BCAST, [0; 6], &[], 0x0806, &body)), Err(Skip::Ignored));
        assert_eq!(one(&ethernet(BCAST, SRC, &[], 0x88f7, &body)), Err(Skip::Ignored)); // PTP
        assert_eq!(one(&ethernet(BCAST, SRC, &[], 0x0600, &body)), Err(Skip::Ignored));
        // 802.3 LLC that is not CDP (spanning tree).
        let mut stp = [0x01, 0x80, 0xc2, 0, 0, 0].to_vec();
        stp.extend_from_slice(&SRC);
        stp.extend_from_slice(&[0, 7, 0x42, 0x42, 0x03, 0, 0, 0, 0]);
        assert_eq!(one(&stp), Err(Skip::Ignored));
    }

    #[test]
    fn truncated_headers() {
        let full = udp4([192, 168, 1, 20], [224, 0, 0, 251], 5353, 5353, &[0; 12]);
        assert_eq!(one(&full[..13]), Err(Skip::Truncated)); // Ethernet
        assert_eq!(one(&ethernet(BCAST, SRC, &[20], 0x8100, &[0, 20])), Err(Skip::Truncated)); // VLAN
        assert_eq!(one(&ethernet(BCAST, SRC, &[], 0x0806, &[0, 1, 8, 0])), Err(Skip::Truncated)); // ARP
        assert_eq!(one(&full[..14 + 19]), Err(Skip::Truncated)); // IPv4 header
        assert_eq!(one(&full[..14 + 20 + 7]), Err(Skip::Truncated)); // IPv4 total length, UDP
        // UDP length beyond the IP payload.
        let mut bad_udp = full.clone();
        bad_udp[14 + 20 + 5] = 200;
        assert_eq!(one(&bad_udp), Err(Skip::Truncated));
        let v6 = udp6(ll(), "ff02::fb".parse().unwrap(), 5353, 5353, &[0; 12]);
        assert_eq!(one(&v6[..14 + 39]), Err(Skip::Truncated));
        assert_eq!(one(&v6[..v6.len() - 1]), Err(Skip::Truncated));
        let cdp = cdp_frame(&cdp::tests::switch_pdu());
        assert_eq!(one(&cdp[..cdp.len() - 1]), Err(Skip::Truncated)); // 802.3 length
        for frame in samples().into_iter().map(|(_, f)| f) {
            for len in 0..frame.len() {
                let mut out = Vec::new();
                if parse(&frame[..len], &mut out).is_err() {
                    assert!(out.is_empty());
                }
            }
        }
    }

    #[test]
    fn other_ip_traffic_is_ignored() {
        // TCP, unrelated UDP, ICMPv6 echo, a fragment of an mDNS datagram.
        let tcp = ethernet(SRC, SRC, &[], 0x0800, &ipv4([10, 0, 0, 1], [10, 0, 0, 2], 6, &[0; 20]));
        assert_eq!(one(&tcp), Err(Skip::Ignored));
        assert_eq!(one(&udp4([10, 0, 0, 1], [10, 0, 0, 2], 40000, 53, &[0; 12])), Err(Skip::Ignored));
        let echo = ethernet(SRC, SRC, &[], 0x86dd, &ipv6(ll(), ll(), 58, &[128, 0, 0, 0, 0, 1, 0, 1]));
        assert_eq!(one(&echo), Err(Skip::Ignored));
        let mut frag = udp4([192, 168, 1, 20], [224, 0, 0, 251], 5353, 5353, &[0; 12]);
        frag[14 + 6] = 0x20; // more fragments
        assert_eq!(one(&frag), Err(Skip::Ignored));
        // DHCPv4 ports over IPv6, server replies.
        assert_eq!(one(&udp6(ll(), ll(), 68, 67, &[0; 240])), Err(Skip::Ignored));
        let reply = udp4([10, 0, 0, 1], [255; 4], 67, 68, &dhcp::tests::request(&[]));
        assert_eq!(one(&reply), Err(Skip::Ignored));
    }

    #[test]
    fn ndp_in_a_frame() {
        let obs = one(&samples()[3].1).unwrap();
        assert_eq!(
            obs,
            Observation {
                mac: ndp::tests::HOST,
                protocol: Some(Protocol::Ndp),
                ipv6: vec![ll()],
                attributes: vec![("router", "true".into())],
                ..Default::default()
            }
        );
    }

    #[test]
    fn udp_protocols_record_the_ip_source() {
        let obs = one(&samples()[6].1).unwrap();
        assert_eq!(
            obs,
            Observation {
                mac: SRC,
                protocol: Some(Protocol::Mdns),
                ipv4: vec![Ipv4Addr::new(192, 168, 1, 20)],
                names: vec!["nas.local".into()],
                ..Default::default()
            }
        );
        let obs = one(&udp6(ll(), "ff02::c".parse().unwrap(), 50000, 1900, ssdp::tests::M_SEARCH)).unwrap();
        assert_eq!(
            obs,
            Observation { mac: SRC, protocol: Some(Protocol::Ssdp), ipv6: vec![ll()], ..Default::default() }
        );
        let obs = one(&samples()[5].1).unwrap();
        assert_eq!((obs.mac, obs.protocol, obs.ipv6), (SRC, Some(Protocol::Dhcpv6), vec![ll()]));
        assert_eq!(obs.names, ["laptop1.corp.example"]);
        // DHCPv4 from 0.0.0.0: chaddr is the device, no address.
        let obs = one(&samples()[4].1).unwrap();
        assert_eq!((obs.mac, obs.ipv4.len()), (dhcp::tests::CLIENT, 0));
        let obs = one(&samples()[7].1).unwrap();
        assert_eq!((obs.names, obs.ipv4), (vec!["DESKTOP-7Q2".to_owned()], vec![Ipv4Addr::new(192, 168, 1, 23)]));
    }

    #[test]
    fn dhcp_in_a_qinq_frame_and_nbns_in_a_vlan() {
        let udp = udp_header(68, 67, &dhcp::tests::request(dhcp::tests::DISCOVER_OPTIONS));
        let frame = ethernet(BCAST, SRC, &[100, 20], 0x0800, &ipv4([0; 4], [255; 4], 17, &udp));
        assert_eq!(
            one(&frame).unwrap(),
            Observation {
                mac: dhcp::tests::CLIENT,
                protocol: Some(Protocol::Dhcp),
                vlan: Some(20),
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
        let msg = nbns::tests::registration("WORKGROUP", 0x1e, true, [192, 168, 1, 23]);
        let udp = udp_header(137, 137, &msg);
        let frame = ethernet(BCAST, SRC, &[30], 0x0800, &ipv4([192, 168, 1, 23], [192, 168, 1, 255], 17, &udp));
        assert_eq!(
            one(&frame).unwrap(),
            Observation {
                mac: SRC,
                protocol: Some(Protocol::Nbns),
                vlan: Some(30),
                ipv4: vec![Ipv4Addr::new(192, 168, 1, 23)],
                attributes: vec![("workgroup", "WORKGROUP".into())],
                ..Default::default()
            }
        );
    }

    #[test]
    fn lldp_and_cdp_frames_keep_the_frame_source() {
        let obs =
            one(&ethernet([0x01, 0x80, 0xc2, 0, 0, 0x0e], SRC, &[7], 0x88cc, &lldp::tests::switch_pdu())).unwrap();
        assert_eq!((obs.mac, obs.vlan, obs.names), (SRC, Some(7), vec!["sw-floor2".to_owned()]));
        let mut cdp = cdp_frame(&cdp::tests::switch_pdu());
        cdp.extend_from_slice(&[0; 20]); // padding after the 802.3 length
        let obs = one(&cdp).unwrap();
        assert_eq!((obs.mac, obs.protocol), (SRC, Some(Protocol::Cdp)));
        assert_eq!(obs.names, ["sw-core-1.example.net"]);
        // CDP's SNAP header to another destination is not CDP.
        let mut other = cdp_frame(&cdp::tests::switch_pdu());
        other[5] = 0xcd;
        assert_eq!(one(&other), Err(Skip::Ignored));
    }

    #[test]
    fn malformed_payloads_name_their_protocol() {
        let mut lldp = lldp::tests::switch_pdu();
        lldp[1] = 0xff;
        assert_eq!(one(&ethernet(BCAST, SRC, &[], 0x88cc, &lldp)), Err(Skip::Malformed(Protocol::Lldp)));
        let loop_msg = [0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12];
        let frame = udp4([192, 168, 1, 20], [224, 0, 0, 251], 5353, 5353, &loop_msg);
        assert_eq!(one(&frame), Err(Skip::Malformed(Protocol::Mdns)));
        let frame = udp4([0; 4], [255; 4], 68, 67, &dhcp::tests::request(&[12, 9, b'x']));
        assert_eq!(one(&frame), Err(Skip::Malformed(Protocol::Dhcp)));
        let frame = cdp_frame(&[2, 180, 0, 0, 0, 1, 0, 0]);
        assert_eq!(one(&frame), Err(Skip::Malformed(Protocol::Cdp)));
    }
}
