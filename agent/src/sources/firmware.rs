//! Firmware view of the machine: BIOS, system, baseboard and chassis strings, processor sockets
//! and memory slots, from the raw SMBIOS table ([`crate::smbios`]) when the kernel exposes it and
//! it is readable, else from the subset `sys/class/dmi/id` offers to everyone.
//!
//! Values are reported as the firmware wrote them, placeholders included, so they compare with
//! `dmidecode`; judging them as identifiers is the `identifiers` source's job.

use std::io;

use census_inventory::{Dmi, Inventory, MemoryDevice, Processor};

use super::{Source, Warnings};
use crate::host::Host;
use crate::smbios::{self, MemorySize, Smbios};

pub struct Firmware;

impl Source for Firmware {
    fn name(&self) -> &'static str {
        "firmware"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        let (table, warnings) = smbios::read(host);
        let table_root_only = warnings.iter().any(|m| m.ends_with("is readable only by root"));
        let hw = &mut inv.hardware;
        match table {
            Some(table) => {
                warnings.into_iter().for_each(|m| w.push(m));
                hw.dmi = dmi_from_smbios(&table);
                hw.processors = table.processors.iter().map(processor).collect();
                hw.memory_devices = table.memory_devices.iter().map(memory_device).collect();
            }
            None => {
                // An unreadable table is expected without root: it shows up in `root_only`
                // rather than as a warning of its own.
                warnings.into_iter().filter(|_| !table_root_only).for_each(|m| w.push(m));
                hw.dmi = dmi_from_sysfs(host, w);
                if table_root_only {
                    hw.dmi.root_only.insert(0, "smbios_table".to_string());
                }
                if !hw.dmi.root_only.is_empty() {
                    w.push(format!("readable only by root: {}", hw.dmi.root_only.join(", ")));
                }
            }
        }
    }
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn id(v: &Option<smbios::Identifier>) -> String {
    v.as_ref().map(|i| i.value.clone()).unwrap_or_default()
}

/// The first type 0/1/2/3 structures, the way `sys/class/dmi/id` would show them.
pub fn dmi_from_smbios(t: &Smbios) -> Dmi {
    let bios = t.bios.clone().unwrap_or_default();
    let sys = t.system.clone().unwrap_or_default();
    let board = t.baseboards.first().cloned().unwrap_or_default();
    let chassis = t.chassis.first();
    Dmi {
        sys_vendor: text(&sys.manufacturer),
        product_name: text(&sys.product),
        product_version: text(&sys.version),
        product_serial: id(&sys.serial),
        product_uuid: id(&sys.uuid),
        product_sku: text(&sys.sku),
        product_family: text(&sys.family),
        board_vendor: text(&board.manufacturer),
        board_name: text(&board.product),
        board_serial: id(&board.serial),
        board_asset_tag: id(&board.asset_tag),
        bios_vendor: text(&bios.vendor),
        bios_version: text(&bios.version),
        bios_date: text(&bios.release_date),
        chassis_type: chassis.map(|c| c.kind_name.to_string()).unwrap_or_default(),
        chassis_vendor: chassis.map(|c| text(&c.manufacturer)).unwrap_or_default(),
        chassis_serial: chassis.map(|c| id(&c.serial)).unwrap_or_default(),
        chassis_asset_tag: chassis.map(|c| id(&c.asset_tag)).unwrap_or_default(),
        source: "smbios".to_string(),
        root_only: Vec::new(),
    }
}

fn processor(p: &smbios::Processor) -> Processor {
    Processor {
        socket: text(&p.socket),
        manufacturer: text(&p.manufacturer),
        version: text(&p.version),
        cores: p.core_count.map_or(0, u32::from),
        threads: p.thread_count.map_or(0, u32::from),
        max_speed_mhz: p.max_speed_mhz.map_or(0, u32::from),
    }
}

fn memory_device(m: &smbios::MemoryDevice) -> MemoryDevice {
    MemoryDevice {
        locator: text(&m.locator),
        bank: text(&m.bank_locator),
        size_bytes: match m.size {
            MemorySize::Bytes(b) => b,
            MemorySize::NotInstalled | MemorySize::Unknown => 0,
        },
        kind: m.kind_name.to_string(),
        form_factor: m.form_factor.to_string(),
        // What the slot runs at when the firmware says so, else what the module is rated for.
        speed_mts: m.configured_speed_mts.or(m.speed_mts).unwrap_or(0),
        manufacturer: text(&m.manufacturer),
        serial: id(&m.serial),
        part_number: text(&m.part_number),
    }
}

/// Reads the `sys/class/dmi/id` attributes. The kernel makes the serials, the UUID and the
/// asset tags mode 0400; those land in `root_only` when unreadable.
fn dmi_from_sysfs(host: &Host, w: &mut Warnings<'_>) -> Dmi {
    let mut dmi = Dmi::default();
    if !host.is_dir("sys/class/dmi/id") {
        return dmi;
    }
    let mut root_only = Vec::new();
    let fields: [(&str, &mut String); 18] = [
        ("sys_vendor", &mut dmi.sys_vendor),
        ("product_name", &mut dmi.product_name),
        ("product_version", &mut dmi.product_version),
        ("product_serial", &mut dmi.product_serial),
        ("product_uuid", &mut dmi.product_uuid),
        ("product_sku", &mut dmi.product_sku),
        ("product_family", &mut dmi.product_family),
        ("board_vendor", &mut dmi.board_vendor),
        ("board_name", &mut dmi.board_name),
        ("board_serial", &mut dmi.board_serial),
        ("board_asset_tag", &mut dmi.board_asset_tag),
        ("bios_vendor", &mut dmi.bios_vendor),
        ("bios_version", &mut dmi.bios_version),
        ("bios_date", &mut dmi.bios_date),
        ("chassis_vendor", &mut dmi.chassis_vendor),
        ("chassis_type", &mut dmi.chassis_type),
        ("chassis_serial", &mut dmi.chassis_serial),
        ("chassis_asset_tag", &mut dmi.chassis_asset_tag),
    ];
    for (name, slot) in fields {
        match host.read_value(&format!("sys/class/dmi/id/{name}")) {
            Ok(v) => *slot = v.unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => root_only.push(name.to_string()),
            Err(e) => w.push(format!("sys/class/dmi/id/{name}: {e}")),
        }
    }
    // The kernel prints the chassis type code; name it as dmidecode does (lock bit cleared).
    if let Ok(code) = dmi.chassis_type.parse::<u8>() {
        dmi.chassis_type = smbios::chassis_type_name(code & 0x7F).to_string();
    }
    dmi.source = "sysfs".to_string();
    dmi.root_only = root_only;
    dmi
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{collect_one, fixture};

    #[test]
    fn sysfs_fallback_on_debian_fixture() {
        let (inv, warnings) = collect_one(&Firmware, &fixture("debian12"));
        assert_eq!(warnings, vec![]);
        let dmi = inv.hardware.dmi;
        assert_eq!(dmi.source, "sysfs");
        assert_eq!(dmi.sys_vendor, "QEMU");
        assert_eq!(dmi.product_serial, "VM-0042");
        assert_eq!(dmi.product_uuid, "3f2a8b1c-5d4e-4f60-9a7b-1c2d3e4f5a6b");
        assert!(dmi.root_only.is_empty());
        assert!(inv.hardware.memory_devices.is_empty(), "sysfs has no memory slots");
    }

    #[test]
    fn no_dmi_at_all_is_silent_and_empty() {
        let dir = tempfile::tempdir().unwrap();
        let (inv, warnings) = collect_one(&Firmware, &Host::open(dir.path()).unwrap());
        assert_eq!(warnings, vec![]);
        assert_eq!(inv.hardware.dmi, Dmi::default());
    }

    #[test]
    fn truncated_table_keeps_what_was_decoded() {
        let dump = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/smbios/laptop.bin")).unwrap();
        let (ep, table) = smbios::split_dump(&dump).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let tables = dir.path().join("sys/firmware/dmi/tables");
        std::fs::create_dir_all(&tables).unwrap();
        std::fs::write(tables.join("smbios_entry_point"), ep).unwrap();
        // Cut inside the first structure after type 1.
        std::fs::write(tables.join("DMI"), &table[..120]).unwrap();
        let (inv, warnings) = collect_one(&Firmware, &Host::open(dir.path()).unwrap());
        assert_eq!(inv.hardware.dmi.bios_vendor, "LENOVO");
        assert_eq!(inv.hardware.dmi.source, "smbios");
        assert!(!warnings.is_empty(), "a cut table is a warning");
    }
}
