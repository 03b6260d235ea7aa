//! Whole Ethernet frames → `census_discovery::frame::parse`: never a panic, at most one
//! bounded observation, nothing appended on a skip.
#![no_main]

use census_discovery::frame;
use libfuzzer_sys::fuzz_target;

#[path = "common/observation.rs"]
mod observation;
use observation::check;

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
