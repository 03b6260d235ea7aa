//! `pci.ids` / `usb.ids` → `sources::devices::lookup_ids`: never a panic; only wanted ids get
//! names, trimmed; the result does not depend on how the reader splits the bytes, nor on
//! whether the lines come through a reader or one by one.
#![no_main]

use std::collections::BTreeSet;
use std::io::BufReader;

use census_agent::sources::devices::{IdNames, IdsScan, WantedIds, lookup_ids, lookup_ids_in};
use libfuzzer_sys::fuzz_target;

fn check(names: &IdNames, wanted: &WantedIds) {
    for (vendor, name) in &names.vendors {
        assert!(wanted.contains_key(vendor), "{vendor:04x} was not asked for");
        assert_eq!(name.trim(), name);
    }
    for ((vendor, device), name) in &names.devices {
        assert!(wanted.get(vendor).is_some_and(|d| d.contains(device)), "{vendor:04x}:{device:04x}");
        assert_eq!(name.trim(), name);
    }
}

fuzz_target!(|data: &[u8]| {
    // Ids asked for: a fixed few (as a PCI and a USB host would) plus pairs from the input's
    // first bytes, so the fuzzer can steer them towards ids its text defines.
    let mut wanted = WantedIds::new();
    wanted.insert(0x8086, BTreeSet::from([0x1572, 0x3ea0]));
    wanted.insert(0x1d6b, BTreeSet::from([0x0002]));
    wanted.insert(0x0001, BTreeSet::new());
    for pair in data.get(..16).unwrap_or_default().chunks_exact(4) {
        let vendor = u16::from_be_bytes([pair[0], pair[1]]);
        wanted.entry(vendor).or_default().insert(u16::from_be_bytes([pair[2], pair[3]]));
    }

    let names = lookup_ids_in(data, &wanted);
    check(&names, &wanted);
    for capacity in [1, 3, 64] {
        let split = lookup_ids(BufReader::with_capacity(capacity, data), &wanted).expect("a slice never fails");
        assert_eq!(split, names, "buffer of {capacity}");
    }
    let mut scan = IdsScan::new(&wanted);
    for line in data.split(|&b| b == b'\n') {
        if !scan.line(line) {
            break;
        }
    }
    assert_eq!(scan.finish(), names, "line by line");
    assert_eq!(lookup_ids_in(data, &WantedIds::new()), IdNames::default());
});
