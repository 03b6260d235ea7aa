//! The fleet query API's parameters (`census hosts` filters, `census coverage --by` and
//! `--status`), as a client sends them: every input parses or is refused with a message, never
//! a panic; what parses keeps its meaning (a parsed MAC is six lower-case hex pairs).
#![no_main]

use census_collector::api_coverage::{Params, parse_host_filters, statuses};
use census_collector::coverage::GroupBy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // A query string: key=value pairs separated by '&' (already percent-decoded).
    let params: Params = text
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match parse_host_filters(&params) {
        Ok(f) => {
            if let Some(mac) = &f.query.mac {
                assert_eq!(mac.len(), 17, "{mac:?}");
                assert!(mac.chars().all(|c| c == ':' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{mac:?}");
            }
            assert!(f.version.is_none() || f.software.is_some());
        }
        Err(message) => assert!(!message.is_empty()),
    }
    for value in params.values() {
        let _ = GroupBy::parse(value);
        let _ = statuses(Some(value));
    }
});
