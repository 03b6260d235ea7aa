//! DNS names, mDNS messages and NetBIOS name service packets (UDP payloads) →
//! `census_discovery::{dns, nbns}`: never a panic or a hang on compression loops, bounded
//! observations.
#![no_main]

use census_discovery::dns::{Name, read_name};
use census_discovery::{Observation, dns, nbns};
use libfuzzer_sys::fuzz_target;

#[path = "common/observation.rs"]
mod observation;
use observation::check;

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
