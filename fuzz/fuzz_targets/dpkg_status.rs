//! var/lib/dpkg/status as the agent parses it: never a panic, and every package it returns is
//! installed, named and versioned.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = census_agent::sources::dpkg::parse_status(&text);
    for p in &parsed.packages {
        assert!(!p.name.is_empty() && !p.version.is_empty());
        assert_eq!(p.source, "dpkg");
    }
});
