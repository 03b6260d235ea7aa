//! LLDPDUs and CDP packets (Ethernet payloads) → `census_discovery::{lldp, cdp}`: TLV walks
//! end (a CDP length of 0 included), observations stay bounded.
#![no_main]

use census_discovery::{Observation, cdp, lldp};
use libfuzzer_sys::fuzz_target;

#[path = "common/observation.rs"]
mod observation;
use observation::check;

fuzz_target!(|data: &[u8]| {
    let mut obs = Observation::default();
    if lldp::parse(data, &mut obs).is_ok() {
        check(&obs);
    }
    let mut obs = Observation::default();
    if cdp::parse(data, &mut obs).is_ok() {
        check(&obs);
    }
});
