//! /proc/cpuinfo, /proc/meminfo, /proc/stat, /proc/net/if_inet6, /proc/net/route,
//! /proc/net/ipv6_route, /proc/net/{tcp,tcp6,udp,udp6} and resolv.conf parsing: never a panic,
//! sane results.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cpu = census_agent::sources::hardware::parse_cpuinfo(&text);
    assert!(cpu.cores <= cpu.logical.max(cpu.cores));
    let _ = census_agent::sources::hardware::parse_meminfo_total(&text);
    let _ = census_agent::sources::os::parse_boot_time(&text);
    for r in census_agent::sources::network::parse_ipv4_routes(&text) {
        assert!(r.gateway.is_empty() || r.gateway.parse::<std::net::Ipv4Addr>().is_ok());
    }
    for r in census_agent::sources::network::parse_ipv6_routes(&text) {
        assert!(r.gateway.is_empty() || r.gateway.parse::<std::net::Ipv6Addr>().is_ok());
    }
    let (servers, _) = census_agent::sources::network::parse_resolv_conf(&text);
    assert!(servers.iter().all(|s| s.parse::<std::net::IpAddr>().is_ok()));
    for (_, addr) in census_agent::sources::network::parse_if_inet6(&text) {
        assert!(addr.prefix_len <= 128);
        assert!(addr.address.parse::<std::net::Ipv6Addr>().is_ok());
    }
    for line in text.lines() {
        if let Ok(Some(s)) = census_agent::sources::sockets::parse_socket_line(line) {
            // The address round-trips through its text form; a listener is recognised only in
            // the states the kernel uses for it.
            assert_eq!(s.address.to_string().parse::<std::net::IpAddr>().ok(), Some(s.address));
            if census_agent::sources::sockets::is_listening("tcp", &s) {
                assert_eq!(s.state, 0x0A);
            }
            if census_agent::sources::sockets::is_listening("udp", &s) {
                assert!(s.state == 0x07 && s.remote_unspecified);
            }
        }
    }
    let _ = census_agent::sources::sockets::socket_inode(data);
});
