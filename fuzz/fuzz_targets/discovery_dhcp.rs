//! DHCPv4 and DHCPv6 client messages (UDP payloads) → `census_discovery::{dhcp, dhcpv6}`:
//! option walks end, overload is followed once, observations stay bounded.
#![no_main]

use census_discovery::{Observation, dhcp, dhcpv6};
use libfuzzer_sys::fuzz_target;

#[path = "common/observation.rs"]
mod observation;
use observation::check;

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
