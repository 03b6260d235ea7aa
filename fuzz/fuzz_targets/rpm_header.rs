//! rpm header blobs (rows of the rpmdb.sqlite Packages table) as the agent parses them: never a
//! panic; an accepted header has a name, version and release, its strings hold no NUL and are
//! copies of blob bytes (so never more than the blob), and it maps to a package. The same bytes
//! also go through the parser of `rpm -qa --queryformat` output, the fallback for older
//! databases.
#![no_main]

use census_agent::sources::rpm::{parse_header, parse_query_output, to_package};
use census_inventory::OperatingSystem;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let os = OperatingSystem { id: "fedora".into(), version: "40".into(), ..Default::default() };
    if let Ok(h) = parse_header(data) {
        assert!(!h.name.is_empty() && !h.version.is_empty() && !h.release.is_empty());
        let strings = [&h.name, &h.version, &h.release, &h.arch, &h.vendor, &h.packager, &h.source_rpm];
        assert!(strings.iter().all(|s| !s.contains('\0')));
        // Each string is at most its bytes in the blob, grown by invalid UTF-8 replacement (3
        // bytes for 1): bounded by the blob either way.
        assert!(strings.iter().map(|s| s.len()).sum::<usize>() <= 3 * data.len());
        let p = to_package(&h, &os);
        assert_eq!(p.name, h.name);
        assert_eq!(p.source, "rpm");
        assert!(p.version.ends_with(&h.release));
    }
    let out = parse_query_output(data);
    for h in &out.headers {
        assert!(!h.name.is_empty() && !h.version.is_empty() && !h.release.is_empty());
        assert!(!h.name.contains('\t') && !h.name.contains('\n'));
        let _ = to_package(h, &os);
    }
});
