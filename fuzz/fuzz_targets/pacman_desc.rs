//! A pacman local-database `desc` file as the agent parses it: never a panic; a package is named
//! and versioned with one-line trimmed values, from pacman, with a selection.
#![no_main]

use census_agent::sources::pacman::parse_desc;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(p) = parse_desc(&text) else { return };
    assert!(!p.name.is_empty() && !p.version.is_empty());
    for field in [&p.name, &p.version, &p.arch, &p.source_package, &p.maintainer, &p.selection] {
        assert_eq!(field.as_str(), field.trim());
        // Lines end at `\n` only (a lone `\r` inside a line is data, as pacman reads it).
        assert!(!field.contains('\n'));
    }
    assert_eq!(p.source, "pacman");
    assert!(!p.selection.is_empty());
    assert_ne!(p.source_package, p.name);
    assert!(p.purl.is_empty());
});
