//! What the collector does with bytes from the network: decode a SignedReport, verify it against
//! an enrolled key, and (as an agent holding a valid key could send any report) decode a Report
//! and convert its inventory to the domain model and JSON. Never a panic.
#![no_main]

use census_proto::v1::{Report, SignedReport, report::Body};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(signed) = SignedReport::decode(data) {
        let _ = census_proto::signing::verify(&signed, &[7u8; 32]);
        let _ = census_proto::signing::verify(&signed, &signed.report);
    }
    if let Ok(report) = Report::decode(data)
        && let Some(Body::Full(inv)) = report.body
    {
        let inv: census_inventory::Inventory = inv.into();
        let json = serde_json::to_string(&inv).expect("inventory serializes");
        let back: census_inventory::Inventory = serde_json::from_str(&json).expect("and reads back");
        assert_eq!(back, inv);
    }
});
