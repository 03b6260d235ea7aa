//! Homebrew files as the agent parses them: an INSTALL_RECEIPT.json or a cask's `.metadata`
//! JSON, mapped to a package. Never a panic; the package keeps the name, version and prefix it
//! was given, and its purl, when there is one, is a `brew` purl.
#![no_main]

use census_agent::sources::homebrew::{
    brew_purl, cask_package, formula_package, parse_cask_json, parse_cask_timestamp, parse_receipt,
};
use libfuzzer_sys::fuzz_target;

fn check(p: &census_inventory::Package, name: &str, version: &str) {
    assert_eq!((p.name.as_str(), p.version.as_str()), (name, version));
    assert_eq!(p.source, "homebrew");
    assert_eq!(p.location, "/opt/homebrew");
    assert!(p.install_time >= 0);
    assert!(matches!(p.selection.as_str(), "" | "requested" | "dependency"));
    assert!(p.purl.is_empty() || p.purl.starts_with("pkg:brew/"), "{}", p.purl);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = parse_receipt(data) {
        check(&formula_package("openssl@3", "3.2.0_1", "/opt/homebrew", Some(&r)), "openssl@3", "3.2.0_1");
        check(&cask_package("firefox", "120.0", "/opt/homebrew", &r), "firefox", "120.0");
    }
    if let Ok(r) = parse_cask_json(data) {
        assert_eq!((r.time, r.arch.as_str(), r.installed_on_request), (0, "", None));
        check(&cask_package("firefox", "latest", "/opt/homebrew", &r), "firefox", "latest");
    }
    // Directory names and taps come from the host too.
    let text = String::from_utf8_lossy(data);
    if let Some(t) = parse_cask_timestamp(&text) {
        assert!(t >= 0);
    }
    let (tap, rest) = text.split_once('\n').unwrap_or((&text, "wget"));
    let purl = brew_purl(tap, rest, "1.0");
    assert!(purl.is_empty() || purl.starts_with("pkg:brew/"));
});
