//! DNS names, mDNS messages and NetBIOS name service packets (UDP payloads) →
//! `census_discovery::{dns, nbns}`: never a panic or a hang on compression loops, bounded
//! observations.
#![no_main]

use census_discovery::bounded::{MAX_ITEMS, MAX_TEXT};
use census_discovery::dns::{Name, read_name};
use census_discovery::{Observation, dns, nbns};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut obs = Observation::default();
    if dns::parse_mdns(data, &mut obs).is_ok() {
        check(&obs);
    }
    let mut obs = Observation::default();
    if nbns::parse(data, &mut obs).is_ok() {
        check(&obs);
    }
    let mut name = Name::default();
    for pointers in [true, false] {
        if let Ok(after) = read_name(data, 0, pointers, &mut name) {
            assert!(after <= data.len());
            assert!(name.labels().map(|l| l.len() + 1).sum::<usize>() < 255);
            let _ = (name.to_text(), name.service_type());
        }
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
