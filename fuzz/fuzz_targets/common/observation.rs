//! Shared by the discovery fuzz targets (included with `#[path]`; not a target itself).

use census_discovery::Observation;
use census_discovery::bounded::{MAX_ITEMS, MAX_TEXT};

/// What every observation keeps, whatever the bytes: bounded lists, clean bounded strings.
pub fn check(obs: &Observation) {
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
