//! os-release(5) parsing: never a panic; keys are shell-style identifiers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for key in census_agent::sources::os::parse_os_release(&text).keys() {
        assert!(!key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }
});
