//! A Python METADATA / PKG-INFO file as the agent parses it, whole and through the bounded line
//! reader. Never a panic; a package has a trimmed name and version on one line each, and a pypi
//! purl or none.
#![no_main]

use std::io::Cursor;

use census_agent::host::BoundedLines;
use census_agent::sources::python::{metadata_package, normalize, parse_metadata, parse_metadata_lines};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let whole = parse_metadata(&text);
    assert_eq!(whole.too_long_lines, 0);
    // A small line limit exercises the skipped-line path.
    let bounded = parse_metadata_lines(BoundedLines::new(Cursor::new(data), 64).map_while(Result::ok));
    for meta in [&whole, &bounded] {
        match metadata_package(meta, "/usr/lib/python3/dist-packages") {
            Ok(p) => {
                for field in [&p.name, &p.version] {
                    assert!(!field.is_empty() && field.trim() == field.as_str() && !field.contains('\n'));
                }
                assert_eq!(p.source, "python");
                assert!(p.purl.is_empty() || p.purl.starts_with("pkg:pypi/"), "{}", p.purl);
                let n = normalize(&p.name);
                assert!(!n.contains(['_', '.']) && !n.chars().any(|c| c.is_ascii_uppercase()));
            }
            Err(missing) => assert!(missing == "Name" || missing == "Version"),
        }
    }
});
