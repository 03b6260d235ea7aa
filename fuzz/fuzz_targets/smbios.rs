//! SMBIOS raw tables → `smbios::parse`: never a panic, no NUL or control character in a decoded
//! string, counts bounded by the table size, warnings capped.
#![no_main]

use census_agent::smbios::{self, Identifier, MAX_WARNINGS, Smbios};
use libfuzzer_sys::fuzz_target;

fn check_str(s: &Option<String>) {
    if let Some(s) = s {
        assert!(!s.chars().any(char::is_control), "{s:?}");
        assert_eq!(s.trim(), s);
    }
}

fn check_id(i: &Option<Identifier>) {
    if let Some(i) = i {
        check_str(&Some(i.value.clone()));
        if i.value.is_empty() {
            assert!(i.generic);
        }
    }
}

fn check(s: &Smbios, table_len: usize) {
    // Every structure takes at least its 4-byte header.
    assert!(s.structures <= table_len / 4, "{} structures in {table_len} bytes", s.structures);
    let decoded = usize::from(s.bios.is_some())
        + usize::from(s.system.is_some())
        + s.baseboards.len()
        + s.chassis.len()
        + s.processors.len()
        + s.memory_devices.len();
    assert!(decoded <= s.structures);
    assert!(s.warnings.len() <= MAX_WARNINGS + 1);
    if let Some(b) = &s.bios {
        [&b.vendor, &b.version, &b.release_date].into_iter().for_each(check_str);
    }
    if let Some(sys) = &s.system {
        [&sys.manufacturer, &sys.product, &sys.version, &sys.sku, &sys.family].into_iter().for_each(check_str);
        check_id(&sys.serial);
        if let Some(u) = &sys.uuid {
            assert_eq!(u.value.len(), 36);
            assert_eq!(u.generic, smbios::is_generic_uuid(&u.value));
        }
    }
    for b in &s.baseboards {
        [&b.manufacturer, &b.product, &b.version].into_iter().for_each(check_str);
        [&b.serial, &b.asset_tag].into_iter().for_each(check_id);
    }
    for c in &s.chassis {
        [&c.manufacturer, &c.version, &c.sku].into_iter().for_each(check_str);
        [&c.serial, &c.asset_tag].into_iter().for_each(check_id);
        assert!(c.kind < 0x80);
    }
    for p in &s.processors {
        [&p.socket, &p.manufacturer, &p.version].into_iter().for_each(check_str);
        assert!(p.core_count != Some(0) && p.thread_count != Some(0));
    }
    for m in &s.memory_devices {
        [&m.locator, &m.bank_locator, &m.manufacturer, &m.part_number].into_iter().for_each(check_str);
        [&m.serial, &m.asset_tag].into_iter().for_each(check_id);
        assert!(!m.size.to_string().is_empty());
    }
}

fuzz_target!(|data: &[u8]| {
    // As a dmidecode --dump-bin file.
    if let Some((ep, table)) = smbios::split_dump(data) {
        check(&smbios::parse(Some(ep), table), table.len());
    }
    // As a table alone.
    check(&smbios::parse(None, data), data.len());
    // The first byte says how much of the rest is an entry point.
    if let Some((&cut, rest)) = data.split_first() {
        let (ep, table) = rest.split_at(usize::from(cut).min(rest.len()));
        check(&smbios::parse(Some(ep), table), table.len());
    }
});
