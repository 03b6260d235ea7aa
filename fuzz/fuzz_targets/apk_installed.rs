//! lib/apk/db/installed as the agent parses it: never a panic; every package it returns is named,
//! versioned and from apk; there are no more packages than `P:` lines, and no more over-long
//! lines than lines. Run with the real line limit and with a tiny one, so the skipping of long
//! lines is exercised too.
#![no_main]

use std::io::Cursor;

use census_agent::host::{BoundedLines, MAX_LINE};
use census_agent::sources::apk::parse_installed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|&b| b == b'\n').count();
    let name_lines = data.split(|&b| b == b'\n').filter(|l| l.starts_with(b"P:")).count();
    for limit in [MAX_LINE, 16] {
        let parsed = parse_installed(BoundedLines::new(Cursor::new(data), limit));
        assert!(parsed.error.is_none(), "reading memory cannot fail");
        assert!(parsed.packages.len() <= name_lines);
        assert!(parsed.long_lines <= lines);
        for p in &parsed.packages {
            assert!(!p.name.is_empty() && !p.version.is_empty());
            assert_eq!(p.name, p.name.trim());
            assert_eq!(p.version, p.version.trim());
            assert_eq!(p.source, "apk");
            assert_ne!(p.source_package, p.name);
            assert!(p.purl.is_empty() && p.install_time == 0);
        }
    }
});
