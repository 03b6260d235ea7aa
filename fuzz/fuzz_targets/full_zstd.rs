//! A full report's compressed inventory (`Report.full_zstd`) as the collector reads it: any
//! bytes decompress within the limit or give an error, and an inventory that decodes converts
//! to the domain model and back. Never a panic, never more than the limit in memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    const LIMIT: usize = 1 << 20;
    if let Ok(wire) = census_proto::convert::inventory_from_zstd(data, LIMIT) {
        let inv: census_inventory::Inventory = wire.into();
        let census_proto::v1::report::Body::FullZstd(again) = census_proto::convert::full_zstd(&inv) else {
            panic!("an inventory compresses in memory");
        };
        let back: census_inventory::Inventory =
            census_proto::convert::inventory_from_zstd(&again, usize::MAX).expect("its own compression reads back").into();
        assert_eq!(back, inv);
    }
});
