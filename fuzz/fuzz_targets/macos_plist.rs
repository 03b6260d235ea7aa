//! An application's Info.plist (XML or binary) as the agent parses it, mapped to a package.
//! Never a panic; the package always has a name, its own source and location, and a vendor that
//! is a lowercase domain label or nothing.
#![no_main]

use census_agent::sources::macos_apps::{app_package, parse_info_plist, vendor_from_identifier};
use libfuzzer_sys::fuzz_target;

fn check_vendor(v: &str) {
    assert!(v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{v:?}");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = parse_info_plist(data) {
        let p = app_package("Fuzz.app", "/Applications/Fuzz.app", Some(&info));
        assert!(!p.name.is_empty());
        assert!(info.name.is_empty() || p.name == info.name);
        assert_eq!(p.version, info.version);
        assert_eq!(p.source, "macos-app");
        assert_eq!(p.location, "/Applications/Fuzz.app");
        assert!(p.purl.is_empty());
        check_vendor(&p.vendor);
    }
    check_vendor(&vendor_from_identifier(&String::from_utf8_lossy(data)));
});
