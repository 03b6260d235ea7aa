//! Whole Ethernet frames → `census_discovery::frame::parse`: never a panic, at most one
//! bounded observation, nothing appended on a skip.
#![no_main]

use census_discovery::bounded::{MAX_ITEMS, MAX_TEXT};
use census_discovery::{Observation, frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    match frame::parse(data, &mut out) {
        Ok(()) => {
            assert_eq!(out.len(), 1);
            check(&out[0]);
            assert!(out[0].mac[0] & 1 == 0 && out[0].mac != [0; 6]);
        }
        Err(_) => assert!(out.is_empty()),
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
