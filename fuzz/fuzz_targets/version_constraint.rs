//! `census software --version` input and version ordering: a constraint parses or errors (never
//! a panic), and every scheme's comparison is reflexive and antisymmetric on arbitrary strings.
#![no_main]

use std::cmp::Ordering;

use census_inventory::version::{Constraint, Scheme, compare};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (left, right) = text.split_once('\n').unwrap_or((&text, ""));
    for scheme in [Scheme::Dpkg, Scheme::Rpm, Scheme::Generic] {
        assert_eq!(compare(scheme, left, left), Ordering::Equal, "{scheme:?} {left:?}");
        assert_eq!(compare(scheme, left, right), compare(scheme, right, left).reverse(), "{scheme:?} {left:?} {right:?}");
        if let Ok(c) = Constraint::parse(left) {
            let _ = c.matches(scheme, right);
        }
    }
});
