//! Hardware summary: CPU (proc/cpuinfo), memory (proc/meminfo), disks (sys/block). DMI is the
//! `firmware` source's, PCI/USB/batteries/TPM the `devices` source's.
//!
//! Disks: the serial comes from `device/serial` (NVMe controllers and subsystems, MMC cards),
//! else the disk's own `serial` (virtio-blk), else SCSI VPD page 0x80 (`device/vpd_pg80`, which
//! libata also answers for SATA disks). `device/wwid` is not used: it is a world-wide name
//! (`naa.…`, `t10.ATA  <model> <serial>`, `eui.…`), another kind of identifier whose format
//! differs by transport, and it would make one disk's serial change with the kernel version.
//! The transport is judged from where the kernel put the disk in `sys/devices`.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use census_inventory::{Cpu, Disk, Inventory};

use super::{Source, Warnings};
use crate::host::Host;

pub struct Hardware;

impl Source for Hardware {
    fn name(&self) -> &'static str {
        "hardware"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        let hw = &mut inv.hardware;
        // A 256-CPU host's cpuinfo is about 400 KiB.
        match host.read_limited("proc/cpuinfo", 16 * 1024 * 1024) {
            Ok(bytes) => hw.cpu = parse_cpuinfo(&String::from_utf8_lossy(&bytes)),
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
    }
}

/// The CPU flags reported in [`Cpu::flags`], in cpuinfo's spelling (x86 `flags` and
/// `vmx flags`, ARM `Features`): virtualisation, memory encryption and enclaves, crypto and
/// vector extensions, and the page protections that security baselines ask about. Sorted.
pub const INTERESTING_FLAGS: &[&str] = &[
    "aes",     // AES-NI (x86), AES instructions (ARM)
    "asimd",   // ARM NEON
    "atomics", // ARM LSE atomics
    "avx",
    "avx2",
    "avx512f",
    "crc32",      // ARM CRC32
    "ept",        // Intel extended page tables (in `vmx flags` since Linux 5.8)
    "hypervisor", // running under a hypervisor
    "lm",         // 64-bit long mode
    "npt",        // AMD nested page tables
    "nx",
    "pclmulqdq",
    "pmull", // ARM polynomial multiply
    "rdrand",
    "rdseed",
    "sev",
    "sev_es",
    "sev_snp",
    "sgx",
    "sha1",   // ARM
    "sha2",   // ARM
    "sha3",   // ARM
    "sha512", // ARM
    "sha_ni", // x86 SHA extensions
    "smap",
    "smep",
    "smx", // Intel TXT
    "sve",
    "sve2",
    "svm", // AMD-V
    "tme", // Intel total memory encryption
    "vmx", // Intel VT-x
];

/// CPU model, counts and [`INTERESTING_FLAGS`] from /proc/cpuinfo. Works for x86 (`model name`,
/// `physical id`, `core id`, `flags`) and for ARM kernels that print `Model`/`Hardware`,
/// `Features` and no topology. Flags come from the first line of each kind only: every
/// processor block repeats them.
pub fn parse_cpuinfo(text: &str) -> Cpu {
    let mut cpu = Cpu::default();
    let mut packages = BTreeSet::new();
    let mut cores = BTreeSet::new();
    let mut physical: Option<String> = None;
    let mut fallback_model = String::new();
    let mut flags = BTreeSet::new();
    let (mut seen_flags, mut seen_vmx_flags) = (false, false);
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
            "flags" | "Features" if !seen_flags => {
                seen_flags = true;
                flags.extend(interesting(value));
            }
            "vmx flags" if !seen_vmx_flags => {
                seen_vmx_flags = true;
                flags.extend(interesting(value));
            }
            _ => {}
        }
    }
    cpu.flags = flags.into_iter().map(str::to_string).collect();
    if cpu.model.is_empty() {
        cpu.model = fallback_model;
    }
    cpu.sockets = if packages.is_empty() { u32::from(cpu.logical > 0) } else { count(packages.len()) };
    cpu.cores = if cores.is_empty() { cpu.logical } else { count(cores.len()) };
    cpu
}

/// The words of a flags line that are in [`INTERESTING_FLAGS`], as the list's own `&'static str`.
fn interesting(value: &str) -> impl Iterator<Item = &'static str> + '_ {
    value.split_whitespace().filter_map(|f| INTERESTING_FLAGS.binary_search(&f).ok().map(|i| INTERESTING_FLAGS[i]))
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
            serial: disk_serial(host, &base, w),
            transport: transport(host, &base),
            name,
        });
    }
    disks
}

/// The disk's serial: `device/serial` (NVMe, MMC), the disk's `serial` (virtio-blk), then SCSI
/// VPD page 0x80 (`device/vpd_pg80`, SCSI, SAS and libata's SATA). Empty when none has one.
fn disk_serial(host: &Host, base: &str, w: &mut Warnings<'_>) -> String {
    for rel in ["device/serial", "serial"] {
        let path = format!("{base}/{rel}");
        match host.read_limited(&path, 4096) {
            Ok(bytes) => {
                let serial = clean_serial(&bytes);
                if !serial.is_empty() {
                    return serial;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => w.push(format!("{path}: {e}")),
        }
    }
    let path = format!("{base}/device/vpd_pg80");
    match host.read_limited(&path, 4096) {
        Ok(bytes) => parse_vpd_pg80(&bytes).unwrap_or_default(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            w.push(format!("{path}: {e}"));
            String::new()
        }
    }
}

/// Printable ASCII of a serial, trimmed; control and non-ASCII bytes are dropped.
fn clean_serial(bytes: &[u8]) -> String {
    let text: String = bytes.iter().filter(|b| b.is_ascii_graphic() || **b == b' ').map(|&b| char::from(b)).collect();
    text.trim().to_string()
}

/// The unit serial number of SCSI VPD page 0x80: a 4-byte header (peripheral type, page code
/// 0x80, big-endian length) then that many bytes of ASCII, padded with spaces. `None` for
/// another page or an empty serial; a length past the end is cut to what is there.
pub fn parse_vpd_pg80(bytes: &[u8]) -> Option<String> {
    let [_, 0x80, hi, lo, rest @ ..] = bytes else { return None };
    let len = usize::from(u16::from_be_bytes([*hi, *lo]));
    let serial = clean_serial(&rest[..len.min(rest.len())]);
    (!serial.is_empty()).then_some(serial)
}

/// How the disk is attached, from the path of its `sys/devices` directory (`sys/block/NAME` is
/// a link into it): `nvme`, `usb`, `virtio`, `mmc`, `sata`, `xen`, `scsi`; empty when the path
/// says nothing (an old kernel whose `sys/block` entries are directories).
fn transport(host: &Host, base: &str) -> String {
    let Ok(resolved) = host.resolve(Path::new(base)) else { return String::new() };
    let path = format!("/{}/", resolved.to_string_lossy());
    let kind = if path.contains("/nvme") {
        "nvme"
    } else if path.contains("/usb") {
        "usb"
    } else if path.contains("/virtio") {
        "virtio"
    } else if path.contains("/mmc_host/") {
        "mmc"
    } else if path.contains("/ata") {
        "sata"
    } else if path.contains("/vbd-") {
        "xen"
    } else if path.contains("/target") || host.path(&format!("{base}/device/scsi_level")).exists() {
        "scsi"
    } else {
        ""
    };
    kind.to_string()
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
    fn interesting_flags_are_sorted_for_binary_search() {
        assert!(INTERESTING_FLAGS.windows(2).all(|w| w[0] < w[1]), "{INTERESTING_FLAGS:?}");
    }

    #[test]
    fn flags_from_the_first_lines_only_kept_sorted_and_deduplicated() {
        let text = "processor\t: 0\nflags\t\t: vmx sse aes avx2 aes lm nx fpu\nvmx flags\t: vnmi ept vpid\n\n\
                    processor\t: 1\nflags\t\t: sgx hypervisor\nvmx flags\t: unrestricted_guest\n";
        assert_eq!(parse_cpuinfo(text).flags, ["aes", "avx2", "ept", "lm", "nx", "vmx"]);
        let arm = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics cpuid sve\n";
        assert_eq!(parse_cpuinfo(arm).flags, ["aes", "asimd", "atomics", "crc32", "pmull", "sha1", "sha2", "sve"]);
        assert!(parse_cpuinfo("flags:\nFeatures\n").flags.is_empty());
    }

    fn disk(name: &str, model: &str, sectors: u64, rotational: bool, serial: &str, transport: &str) -> Disk {
        Disk {
            name: name.into(),
            model: model.into(),
            size_bytes: sectors * 512,
            rotational,
            removable: false,
            serial: serial.into(),
            transport: transport.into(),
        }
    }

    #[test]
    fn laptop_fixture() {
        let (inv, warnings) = collect_one(&Hardware, &fixture("laptop"));
        assert_eq!(warnings, vec![]);
        let hw = inv.hardware;
        assert_eq!(hw.cpu.model, "Intel(R) Core(TM) i7-8665U CPU @ 1.90GHz");
        assert_eq!((hw.cpu.logical, hw.cpu.cores, hw.cpu.sockets), (8, 4, 1));
        let flags = ["aes", "avx", "avx2", "ept", "lm", "nx", "pclmulqdq", "rdrand", "rdseed", "sgx", "smap", "smep"];
        assert_eq!(hw.cpu.flags, [&flags[..], &["smx", "vmx"]].concat());
        assert_eq!(hw.memory_total_bytes, 15_962_956 * 1024);
        assert_eq!(
            hw.disks,
            [disk("nvme0n1", "SAMSUNG MZVLB512HBJQ-000L7", 1_000_215_216, false, "S4EMNX0N123456", "nvme")]
        );
    }

    #[test]
    fn server_fixture() {
        let (inv, warnings) = collect_one(&Hardware, &fixture("server"));
        assert_eq!(warnings, vec![]);
        let hw = inv.hardware;
        assert_eq!(hw.cpu.model, "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz");
        assert_eq!((hw.cpu.logical, hw.cpu.cores, hw.cpu.sockets), (8, 4, 2));
        let flags = ["aes", "avx", "avx2", "avx512f", "ept", "lm", "nx", "pclmulqdq", "rdrand", "rdseed", "smap"];
        assert_eq!(hw.cpu.flags, [&flags[..], &["smep", "smx", "vmx"]].concat());
        assert_eq!(hw.memory_total_bytes, 263_785_544 * 1024);
        assert_eq!(
            hw.disks,
            [
                disk("nvme0n1", "INTEL SSDPE2KX010T8", 1_953_525_168, false, "PHLJ9123004H1P0FGN", "nvme"),
                // Serials from VPD page 0x80, one right-aligned and one left-aligned in its field.
                disk("sda", "ST2000NM0008-2F3", 3_907_029_168, true, "ZFL0A1B2", "sata"),
                disk("sdb", "ST2000NM0008-2F3", 3_907_029_168, true, "ZFL0C3D4", "sata"),
            ]
        );
    }

    #[test]
    fn vm_fixture() {
        let (inv, warnings) = collect_one(&Hardware, &fixture("vm"));
        assert_eq!(warnings, vec![]);
        let hw = inv.hardware;
        assert_eq!(hw.cpu.model, "Intel Xeon Processor (Skylake, IBRS)");
        assert_eq!((hw.cpu.logical, hw.cpu.cores, hw.cpu.sockets), (2, 2, 1));
        let flags = ["aes", "avx", "avx2", "avx512f", "hypervisor", "lm", "nx", "pclmulqdq", "rdrand", "rdseed"];
        assert_eq!(hw.cpu.flags, [&flags[..], &["smap", "smep"]].concat());
        assert_eq!(hw.memory_total_bytes, 4_025_536 * 1024);
        // virtio-blk has no model, and this VM gives its disk no serial (an empty `serial`).
        assert_eq!(hw.disks, [disk("vda", "", 41_943_040, true, "", "virtio")]);
    }

    #[test]
    fn container_fixture() {
        let (inv, warnings) = collect_one(&Hardware, &fixture("container"));
        assert_eq!(warnings, vec![]);
        let hw = inv.hardware;
        assert_eq!((hw.cpu.logical, hw.cpu.cores, hw.cpu.sockets), (8, 4, 2));
        assert_eq!(hw.memory_total_bytes, 263_785_544 * 1024);
        assert!(hw.disks.is_empty());
    }

    #[test]
    fn vpd_page_0x80() {
        assert_eq!(parse_vpd_pg80(b"\x00\x80\x00\x08  S3Z1 \n").as_deref(), Some("S3Z1"));
        assert_eq!(parse_vpd_pg80(b"\x00\x80\x00\x04ABCDEFGH").as_deref(), Some("ABCD"), "length is kept");
        assert_eq!(parse_vpd_pg80(b"\x00\x80\xff\xffAB").as_deref(), Some("AB"), "length past the end");
        assert_eq!(parse_vpd_pg80(b"\x00\x80\x00\x04\xff\x00A\x07").as_deref(), Some("A"), "non-ASCII dropped");
        assert_eq!(parse_vpd_pg80(b"\x00\x83\x00\x04ABCD"), None, "another page");
        assert_eq!(parse_vpd_pg80(b"\x00\x80\x00\x04    "), None, "blank");
        assert_eq!(parse_vpd_pg80(b"\x00\x80\x00"), None, "short header");
        assert_eq!(parse_vpd_pg80(b""), None);
    }

    /// A root with `sys/block/NAME` linked to `sys/devices/PATH`, which has a `device` directory
    /// and `files`, and a minimal `proc`.
    type FakeDisk<'a> = (&'a str, &'a str, &'a [(&'a str, &'a [u8])]);

    fn disk_root(disks: &[FakeDisk<'_>]) -> (tempfile::TempDir, Host) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sys/block")).unwrap();
        std::fs::create_dir_all(dir.path().join("proc")).unwrap();
        std::fs::write(dir.path().join("proc/cpuinfo"), "processor\t: 0\n").unwrap();
        std::fs::write(dir.path().join("proc/meminfo"), "MemTotal: 1024 kB\n").unwrap();
        for (name, path, files) in disks {
            let disk = dir.path().join("sys/devices").join(path);
            std::fs::create_dir_all(disk.join("device")).unwrap();
            for (rel, content) in *files {
                std::fs::write(disk.join(rel), content).unwrap();
            }
            std::os::unix::fs::symlink(format!("../devices/{path}"), dir.path().join("sys/block").join(name)).unwrap();
        }
        let host = Host::open(dir.path()).unwrap();
        (dir, host)
    }

    #[test]
    fn transports_from_the_device_path() {
        let (_d, host) = disk_root(&[
            ("mmcblk0", "platform/fe340000.mmc/mmc_host/mmc0/mmc0:aaaa/block/mmcblk0", &[]),
            ("sda", "pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sda", &[]),
            ("sdb", "pci0000:00/0000:00:03.0/virtio0/host0/target0:0:0/0:0:0:0/block/sdb", &[]),
            ("sdc", "pci0000:00/0000:00:1f.2/0000:02:00.0/host2/target2:2:0/2:2:0:0/block/sdc", &[]),
            (
                "sdd",
                "vmbus/f8b3781b/host3/rport/block/sdd",
                &[(
                    "device/scsi_level",
                    b"7
",
                )],
            ),
            ("sde", "platform/somewhere/block/sde", &[]),
            ("xvda", "vbd-51712/block/xvda", &[]),
        ]);
        let (inv, warnings) = collect_one(&Hardware, &host);
        assert_eq!(warnings, vec![]);
        let got: Vec<(&str, &str)> =
            inv.hardware.disks.iter().map(|d| (d.name.as_str(), d.transport.as_str())).collect();
        assert_eq!(
            got,
            [
                ("mmcblk0", "mmc"),
                ("sda", "usb"),
                ("sdb", "virtio"),
                ("sdc", "scsi"),
                ("sdd", "scsi"),
                ("sde", ""),
                ("xvda", "xen")
            ]
        );
    }

    #[test]
    fn serial_sources_in_order() {
        let (_d, host) = disk_root(&[
            // A blank device/serial falls through to the disk's own serial.
            ("vda", "pci0000:00/0000:00:04.0/virtio1/block/vda", &[("device/serial", b"  \n"), ("serial", b"vol-42")]),
            (
                "sda",
                "pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda",
                &[("device/vpd_pg80", b"\x00\x80\x00\x02XY"), ("device/wwid", b"naa.5000c500a1b2c3d4")],
            ),
            (
                "sdb",
                "pci0000:00/0000:00:17.0/ata2/host1/target1:0:0/1:0:0:0/block/sdb",
                &[("device/vpd_pg80", b"\xff")],
            ),
            ("mmcblk0", "platform/mmc_host/mmc0/mmc0:0001/block/mmcblk0", &[("device/serial", b"0x8a3c12f9\n")]),
        ]);
        let (inv, warnings) = collect_one(&Hardware, &host);
        assert_eq!(warnings, vec![]);
        let got: Vec<(&str, &str)> = inv.hardware.disks.iter().map(|d| (d.name.as_str(), d.serial.as_str())).collect();
        assert_eq!(got, [("mmcblk0", "0x8a3c12f9"), ("sda", "XY"), ("sdb", ""), ("vda", "vol-42")]);
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
    }
}
