//! What the collector does with a delta report from an enrolled agent: decode the delta, apply
//! it to a stored inventory, hash the result. The applier must be total: bad keys and
//! duplicates are errors, never a panic. Input: 2 bytes (big-endian length n), n bytes of a
//! `census.v1.Inventory` (the base; default when it does not decode), the rest an
//! `InventoryDelta`. A delta that applies must also round-trip: diff(base, result) applied to
//! the base gives the result again.
#![no_main]

use census_inventory::delta;
use census_proto::v1;
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let (n, rest) = match data {
        [a, b, rest @ ..] => (usize::from(u16::from_be_bytes([*a, *b])).min(rest.len()), rest),
        _ => return,
    };
    let (base, delta) = rest.split_at(n);
    let base: census_inventory::Inventory = v1::Inventory::decode(base).unwrap_or_default().into();
    let Ok(wire) = v1::InventoryDelta::decode(delta) else { return };
    let d: delta::InventoryDelta = wire.into();
    let _ = census_proto::convert::state_hash(&base);
    if let Ok(result) = delta::apply(&base, &d) {
        assert_eq!(delta::canonical(&result), result, "apply returns the canonical form");
        let hash = census_proto::convert::state_hash(&result);
        let again = delta::apply(&base, &delta::diff(&base, &result)).expect("a computed diff applies");
        assert_eq!(census_proto::convert::state_hash(&again), hash);
    }
});
