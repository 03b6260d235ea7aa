//! The operator's files the agent reads: its configuration (`FileConfig::parse`) and a
//! security product catalog (`Catalog::parse`). The first byte picks the parser. Never a panic;
//! a catalog that parses holds only well-formed products.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    if which % 2 == 0 {
        let _ = census_agent::config::FileConfig::parse(&text);
    } else if let Ok(catalog) = census_agent::catalog::Catalog::parse(&text) {
        assert!(!catalog.products.is_empty() && catalog.products.len() <= census_agent::catalog::MAX_PRODUCTS);
        assert!(catalog.products.iter().all(|p| !p.id.is_empty() && !p.name.is_empty()));
    }
});
