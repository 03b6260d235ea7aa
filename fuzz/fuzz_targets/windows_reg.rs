//! A regedit `.reg` export (UTF-16LE or ANSI) as the agent parses it, mapped to installed
//! programs. Never a panic; problems stay capped; every program comes from a direct subkey of an
//! Uninstall key, is named, and carries the mapping's fixed fields.
#![no_main]

use census_agent::sources::windows_programs::{MAX_PROBLEMS, parse_reg_export, uninstall_packages};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let export = parse_reg_export(data);
    assert!(export.problems.len() <= MAX_PROBLEMS + 1);
    for key in &export.keys {
        assert!(!key.path.is_empty() && !key.path.starts_with('-'));
    }
    for p in uninstall_packages(&export) {
        assert!(!p.name.is_empty() && p.name.trim() == p.name);
        assert_eq!(p.source, "windows");
        assert!(matches!(p.arch.as_str(), "" | "x86"));
        assert!(p.install_time >= 0 && p.install_time % 86_400 == 0);
        assert!(p.installed_size_bytes % 1024 == 0);
        assert!(p.purl.is_empty());
        assert!(export.keys.iter().any(|k| k.path == p.location));
        let lower = p.location.to_ascii_lowercase();
        assert!(lower.contains("\\microsoft\\windows\\currentversion\\uninstall\\"), "{}", p.location);
    }
});
