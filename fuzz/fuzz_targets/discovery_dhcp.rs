//! DHCPv4 and DHCPv6 client messages (UDP payloads) → `census_discovery::{dhcp, dhcpv6}`:
//! option walks end, overload is followed once, observations stay bounded.
#![no_main]

use census_discovery::bounded::{MAX_ITEMS, MAX_TEXT};
use census_discovery::{Observation, dhcp, dhcpv6};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut obs = Observation { mac: [2, 0, 0, 0, 0, 1], ..Observation::default() };
    if dhcp::parse(data, &mut obs).is_ok() {
        check(&obs);
        assert!(obs.mac[0] & 1 == 0 && obs.mac != [0; 6]);
    }
    let mut obs = Observation::default();
    if dhcpv6::parse(data, &mut obs).is_ok() {
        check(&obs);
    }
});

/// What every observation keeps, whatever the bytes: bounded lists, clean bounded strings.
fn check(obs: &Observation) {
    assert!(obs.protocol.is_some());
    assert!(obs.names.len() <= MAX_ITEMS && obs.attributes.len() <= MAX_ITEMS);
    assert!(obs.ipv4.len() <= MAX_ITEMS && obs.ipv6.len() <= MAX_ITEMS);
    let strings = obs.names.iter().chain(obs.attributes.iter().map(|(_, v)| v));
    for s in strings {
        assert!(!s.is_empty() && s.len() <= MAX_TEXT, "{s:?}");
        assert!(!s.chars().any(char::is_control), "{s:?}");
    }
    assert!(obs.ipv4.iter().all(|a| !a.is_unspecified() && !a.is_multicast() && !a.is_broadcast()));
    assert!(obs.ipv6.iter().all(|a| !a.is_unspecified() && !a.is_multicast()));
}
