//! /proc/cpuinfo, /proc/meminfo and /proc/net/if_inet6 parsing: never a panic, sane results.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cpu = census_agent::sources::hardware::parse_cpuinfo(&text);
    assert!(cpu.cores <= cpu.logical.max(cpu.cores));
    let _ = census_agent::sources::hardware::parse_meminfo_total(&text);
    for (_, addr) in census_agent::sources::network::parse_if_inet6(&text) {
        assert!(addr.prefix_len <= 128);
        assert!(addr.address.parse::<std::net::Ipv6Addr>().is_ok());
    }
});
