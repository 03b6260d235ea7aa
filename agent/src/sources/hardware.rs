//! Hardware summary: CPU (proc/cpuinfo), memory (proc/meminfo), disks (sys/block), DMI fields
//! (sys/class/dmi/id).

use std::collections::BTreeSet;
use std::io;

use census_inventory::{Cpu, Disk, Dmi, Inventory};

use super::{Source, Warnings};
use crate::host::Host;

pub struct Hardware;

impl Source for Hardware {
    fn name(&self) -> &'static str {
        "hardware"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        let hw = &mut inv.hardware;
        match host.read_string("proc/cpuinfo") {
            Ok(text) => hw.cpu = parse_cpuinfo(&text),
            Err(e) => w.push(format!("proc/cpuinfo: {e}")),
        }
        match host.read_string("proc/meminfo") {
            Ok(text) => match parse_meminfo_total(&text) {
                Some(bytes) => hw.memory_total_bytes = bytes,
                None => w.push("proc/meminfo has no readable MemTotal line"),
            },
            Err(e) => w.push(format!("proc/meminfo: {e}")),
        }
        hw.disks = disks(host, w);
        hw.dmi = dmi(host, w);
    }
}

/// CPU model and counts from /proc/cpuinfo. Works for x86 (`model name`, `physical id`,
/// `core id`) and for ARM kernels that print `Model`/`Hardware` and no topology.
pub fn parse_cpuinfo(text: &str) -> Cpu {
    let mut cpu = Cpu::default();
    let mut packages = BTreeSet::new();
    let mut cores = BTreeSet::new();
    let mut physical: Option<String> = None;
    let mut fallback_model = String::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            physical = None;
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "processor" => cpu.logical = cpu.logical.saturating_add(1),
            "vendor_id" if cpu.vendor.is_empty() => cpu.vendor = value.to_string(),
            "model name" if cpu.model.is_empty() => cpu.model = value.to_string(),
            "Model" | "Hardware" | "cpu model" if fallback_model.is_empty() => fallback_model = value.to_string(),
            "physical id" => {
                packages.insert(value.to_string());
                physical = Some(value.to_string());
            }
            "core id" => {
                cores.insert((physical.clone().unwrap_or_default(), value.to_string()));
            }
            _ => {}
        }
    }
    if cpu.model.is_empty() {
        cpu.model = fallback_model;
    }
    cpu.sockets = if packages.is_empty() { u32::from(cpu.logical > 0) } else { count(packages.len()) };
    cpu.cores = if cores.is_empty() { cpu.logical } else { count(cores.len()) };
    cpu
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// MemTotal in bytes from /proc/meminfo (`MemTotal:  16318352 kB`).
pub fn parse_meminfo_total(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut parts = line["MemTotal:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") => value.checked_mul(1024),
        None => Some(value),
        Some(_) => None,
    }
}

/// Block devices backed by a device (loop, ram, zram and device-mapper nodes have no `device`
/// link and are not disks).
fn disks(host: &Host, w: &mut Warnings<'_>) -> Vec<Disk> {
    let names = match host.list_dir("sys/block") {
        Ok(n) => n,
        Err(e) => {
            w.push(format!("sys/block: {e}"));
            return Vec::new();
        }
    };
    let mut disks = Vec::new();
    for name in names {
        let base = format!("sys/block/{name}");
        if !host.path(&format!("{base}/device")).exists() {
            continue;
        }
        let read = |rel: &str| host.read_value(&format!("{base}/{rel}")).ok().flatten().unwrap_or_default();
        let sectors: u64 = read("size").parse().unwrap_or(0);
        disks.push(Disk {
            model: read("device/model"),
            // sys/block/*/size counts 512-byte sectors whatever the device's block size.
            size_bytes: sectors.saturating_mul(512),
            rotational: read("queue/rotational") == "1",
            removable: read("removable") == "1",
            name,
            ..Disk::default()
        });
    }
    disks
}

fn dmi(host: &Host, w: &mut Warnings<'_>) -> Dmi {
    let mut dmi = Dmi::default();
    let mut root_only = Vec::new();
    let fields: [(&str, &mut String); 11] = [
        ("sys_vendor", &mut dmi.sys_vendor),
        ("product_name", &mut dmi.product_name),
        ("product_version", &mut dmi.product_version),
        ("product_serial", &mut dmi.product_serial),
        ("product_uuid", &mut dmi.product_uuid),
        ("board_vendor", &mut dmi.board_vendor),
        ("board_name", &mut dmi.board_name),
        ("bios_vendor", &mut dmi.bios_vendor),
        ("bios_version", &mut dmi.bios_version),
        ("bios_date", &mut dmi.bios_date),
        ("chassis_type", &mut dmi.chassis_type),
    ];
    for (name, slot) in fields {
        match host.read_value(&format!("sys/class/dmi/id/{name}")) {
            Ok(v) => *slot = v.unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => root_only.push(name),
            Err(e) => w.push(format!("sys/class/dmi/id/{name}: {e}")),
        }
    }
    if !root_only.is_empty() {
        w.push(format!("dmi fields readable only by root: {}", root_only.join(", ")));
    }
    dmi
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{collect_one, fixture};

    #[test]
    fn x86_topology() {
        let mut text = String::new();
        for (p, phys, core) in [(0, 0, 0), (1, 0, 1), (2, 1, 0), (3, 1, 1), (4, 0, 0), (5, 0, 1)] {
            text += &format!(
                "processor\t: {p}\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R)\nphysical id\t: {phys}\ncore id\t\t: {core}\n\n"
            );
        }
        let cpu = parse_cpuinfo(&text);
        assert_eq!((cpu.logical, cpu.cores, cpu.sockets), (6, 4, 2));
        assert_eq!(cpu.model, "Intel(R) Xeon(R)");
        assert_eq!(cpu.vendor, "GenuineIntel");
    }

    #[test]
    fn arm_without_topology() {
        let text = "processor\t: 0\nBogoMIPS\t: 108.00\n\nprocessor\t: 1\nBogoMIPS\t: 108.00\n\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n";
        let cpu = parse_cpuinfo(text);
        assert_eq!((cpu.logical, cpu.cores, cpu.sockets), (2, 2, 1));
        assert_eq!(cpu.model, "BCM2835");
    }

    #[test]
    fn meminfo() {
        assert_eq!(parse_meminfo_total("MemTotal:       16318352 kB\nMemFree: 1 kB\n"), Some(16_318_352 * 1024));
        assert_eq!(parse_meminfo_total("MemFree: 1 kB\n"), None);
        assert_eq!(parse_meminfo_total("MemTotal: lots kB\n"), None);
        assert_eq!(parse_meminfo_total("MemTotal: 99999999999999999 kB\n"), None);
    }

    #[test]
    fn debian_fixture() {
        let (inv, warnings) = collect_one(&Hardware, &fixture("debian12"));
        assert_eq!(warnings, vec![]);
        let hw = inv.hardware;
        assert_eq!(hw.cpu.model, "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz");
        assert_eq!((hw.cpu.logical, hw.cpu.cores, hw.cpu.sockets), (4, 2, 1));
        assert_eq!(hw.memory_total_bytes, 8_148_376 * 1024);
        assert_eq!(hw.disks.len(), 1, "loop0 has no device link and is not a disk");
        assert_eq!(hw.disks[0].name, "sda");
        assert_eq!(hw.disks[0].model, "QEMU HARDDISK");
        assert_eq!(hw.disks[0].size_bytes, 41_943_040 * 512);
        assert!(hw.disks[0].rotational);
        assert!(!hw.disks[0].removable);
        assert_eq!(hw.dmi.sys_vendor, "QEMU");
        assert_eq!(hw.dmi.product_serial, "VM-0042");
        assert_eq!(hw.dmi.product_uuid, "3f2a8b1c-5d4e-4f60-9a7b-1c2d3e4f5a6b");
    }
}
