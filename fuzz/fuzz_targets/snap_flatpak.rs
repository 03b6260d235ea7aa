//! The snap and flatpak readers on the same bytes: the snap.yaml top-level scalar reader, the
//! flatpak `metadata` GKeyFile reader and the AppStream release-version reader. Never a panic,
//! and every value they return is non-empty, trimmed and free of control characters.
#![no_main]

use census_agent::sources::flatpak::{metainfo_version, parse_metadata};
use census_agent::sources::snap::{SnapYamlReader, parse_snap_yaml};
use libfuzzer_sys::fuzz_target;

fn clean(v: &str) {
    assert!(!v.is_empty());
    assert_eq!(v, v.trim());
    assert!(!v.chars().any(char::is_control), "{v:?}");
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    let yaml = parse_snap_yaml(&text);
    for v in yaml.name.iter().chain(&yaml.version).chain(&yaml.architectures) {
        clean(v);
    }
    // Fed line by line by another splitter, the result is the same (`str::lines` and `split`
    // differ only around `\r`).
    let mut reader = SnapYamlReader::default();
    for line in text.split('\n') {
        reader.line(line.strip_suffix('\r').unwrap_or(line));
    }
    if !text.contains('\r') {
        assert_eq!(reader.finish(), yaml);
    }

    if let Some(m) = parse_metadata(&text) {
        clean(&m.name);
    }

    if let Ok(Some(v)) = metainfo_version(data) {
        clean(&v);
    }
});
