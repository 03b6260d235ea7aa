//! Devices the kernel shows in sysfs: PCI functions (`sys/bus/pci/devices`, display controllers
//! also in `gpus`), USB devices (`sys/bus/usb/devices`), batteries (`sys/class/power_supply`)
//! and the TPM's spec version (`sys/class/tpm`).
//!
//! Names come from `pci.ids` / `usb.ids` when installed (`usr/share/misc`, `usr/share/hwdata`,
//! `usr/share`; compressed copies are not read). The files are 0.7–1.4 MB and read on every
//! inventory, so [`lookup_ids`] streams them, keeps only the ids present on this host and stops
//! once it has them all or has passed the largest vendor id wanted (the files are sorted).
//!
//! The TPM version: `tpm_version_major` (Linux 5.6+); else a `caps` file (TPM 1.x only: on the
//! class device in newer kernels, on its parent `device/` in older ones, under
//! `sys/class/misc/tpm0` before 4.0), whose `TCG version:` line is the version; else a `tpmrm0` resource manager (TPM 2.0
//! only) or a `tpm0` without `caps` means 2.0; else a `misc`-class `tpm0` means 1.2, since
//! kernels that registered the TPM as a misc device (before 4.0) had no TPM 2.0 drivers.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use census_inventory::{Battery, Inventory, PciDevice, UsbDevice};

use super::{Source, Warnings, list_visible};
use crate::host::{Host, MAX_LINE};

pub struct Devices;

impl Source for Devices {
    fn name(&self) -> &'static str {
        "devices"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        let hw = &mut inv.hardware;
        hw.pci_devices = pci_devices(host, w);
        hw.gpus = hw.pci_devices.iter().filter(|d| d.class.starts_with("0x03")).cloned().collect();
        hw.usb_devices = usb_devices(host, w);
        hw.batteries = batteries(host, w);
        hw.tpm_version = tpm_version(host, w);
    }
}

/// Where distributions install the id databases, in the order tried.
const PCI_IDS: [&str; 3] = ["usr/share/misc/pci.ids", "usr/share/hwdata/pci.ids", "usr/share/pci.ids"];
const USB_IDS: [&str; 3] = ["usr/share/misc/usb.ids", "usr/share/hwdata/usb.ids", "usr/share/usb.ids"];

/// Largest sysfs attribute read here; real ones are a few dozen bytes.
const MAX_VALUE: u64 = 4096;

/// A sysfs attribute, trimmed: `None` when absent; an unreadable one is a warning.
fn value(host: &Host, rel: &str, w: &mut Warnings<'_>) -> Option<String> {
    match host.read_limited(rel, MAX_VALUE) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).trim().to_string()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            w.push(format!("{rel}: {e}"));
            None
        }
    }
}

/// A hex attribute of at most `digits` digits, with or without `0x` (`0x8086`, `046d`).
fn hex(host: &Host, rel: &str, digits: usize, w: &mut Warnings<'_>) -> Option<u32> {
    let text = value(host, rel, w)?;
    let parsed = parse_hex(&text, digits);
    if parsed.is_none() {
        w.push(format!("{rel}: not a hex id: {:?}", text.chars().take(40).collect::<String>()));
    }
    parsed
}

fn parse_hex(text: &str, digits: usize) -> Option<u32> {
    let hex = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or(text);
    if hex.is_empty() || hex.len() > digits || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

/// A non-negative decimal attribute; a negative one (some drivers' "unknown") is `None`
/// silently, anything else that is not a number is a warning.
fn number(host: &Host, rel: &str, w: &mut Warnings<'_>) -> Option<u64> {
    let text = value(host, rel, w)?;
    match text.parse::<i64>() {
        Ok(n) => u64::try_from(n).ok(),
        Err(_) => {
            w.push(format!("{rel}: not a number: {:?}", text.chars().take(40).collect::<String>()));
            None
        }
    }
}

fn id16(v: Option<u32>) -> Option<u16> {
    v.and_then(|v| u16::try_from(v).ok())
}

fn pci_devices(host: &Host, w: &mut Warnings<'_>) -> Vec<PciDevice> {
    let mut devices = Vec::new();
    let mut ids = Vec::new();
    for name in list_visible(host, "sys/bus/pci/devices", w) {
        let base = format!("sys/bus/pci/devices/{name}");
        let vendor = id16(hex(host, &format!("{base}/vendor"), 4, w));
        let device = id16(hex(host, &format!("{base}/device"), 4, w));
        let class = hex(host, &format!("{base}/class"), 6, w);
        let driver = host
            .resolve(Path::new(&format!("{base}/driver")))
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        ids.push((vendor, device));
        devices.push(PciDevice {
            address: name,
            class: class.map(|c| format!("0x{c:06x}")).unwrap_or_default(),
            vendor_id: vendor.map(|v| format!("{v:04x}")).unwrap_or_default(),
            device_id: device.map(|d| format!("{d:04x}")).unwrap_or_default(),
            driver,
            ..PciDevice::default()
        });
    }
    let names = names_for(host, &PCI_IDS, &ids, w);
    for (d, (vendor, device)) in devices.iter_mut().zip(ids) {
        let Some(vendor) = vendor else { continue };
        d.vendor_name = names.vendors.get(&vendor).cloned().unwrap_or_default();
        if let Some(device) = device {
            d.device_name = names.devices.get(&(vendor, device)).cloned().unwrap_or_default();
        }
    }
    devices
}

/// USB devices: `sys/bus/usb/devices` also lists interfaces (`1-4:1.0`) and root hubs (`usb1`),
/// which are left out, as is an entry without `idVendor`.
fn usb_devices(host: &Host, w: &mut Warnings<'_>) -> Vec<UsbDevice> {
    let mut devices = Vec::new();
    let mut ids = Vec::new();
    let mut strings = Vec::new();
    for name in list_visible(host, "sys/bus/usb/devices", w) {
        if name.contains(':') || name.starts_with("usb") {
            continue;
        }
        let base = format!("sys/bus/usb/devices/{name}");
        if !host.path(&format!("{base}/idVendor")).exists() {
            continue;
        }
        let vendor = id16(hex(host, &format!("{base}/idVendor"), 4, w));
        let product = id16(hex(host, &format!("{base}/idProduct"), 4, w));
        let manufacturer = value(host, &format!("{base}/manufacturer"), w).unwrap_or_default();
        let product_string = value(host, &format!("{base}/product"), w).unwrap_or_default();
        ids.push((vendor, product));
        strings.push((manufacturer, product_string));
        devices.push(UsbDevice {
            bus_path: name,
            vendor_id: vendor.map(|v| format!("{v:04x}")).unwrap_or_default(),
            product_id: product.map(|p| format!("{p:04x}")).unwrap_or_default(),
            serial: value(host, &format!("{base}/serial"), w).unwrap_or_default(),
            ..UsbDevice::default()
        });
    }
    let names = names_for(host, &USB_IDS, &ids, w);
    for ((d, (vendor, product)), (manufacturer, product_string)) in devices.iter_mut().zip(ids).zip(strings) {
        let vendor_name = vendor.and_then(|v| names.vendors.get(&v)).filter(|n| !n.is_empty());
        let product_name = vendor.zip(product).and_then(|ids| names.devices.get(&ids)).filter(|n| !n.is_empty());
        d.vendor_name = vendor_name.cloned().unwrap_or(manufacturer);
        d.product_name = product_name.cloned().unwrap_or(product_string);
    }
    devices
}

/// Names for `ids` from the first id database found among `candidates`; nothing is opened when
/// no id is wanted, and a host without the database gets no names and no warning.
fn names_for(host: &Host, candidates: &[&str], ids: &[(Option<u16>, Option<u16>)], w: &mut Warnings<'_>) -> IdNames {
    let mut wanted = WantedIds::new();
    for (vendor, device) in ids {
        if let Some(vendor) = vendor {
            let devices = wanted.entry(*vendor).or_default();
            devices.extend(*device);
        }
    }
    if wanted.is_empty() {
        return IdNames::default();
    }
    for rel in candidates {
        // Host::lines() would do, but makes a String of each of pci.ids' 36,000 lines: 2.5 ms
        // for the whole file on the bench machine, against 0.5 ms for lookup_ids' own bounded
        // splitting of a 64 KiB buffer.
        let scan = host.open_file(rel).and_then(|f| lookup_ids(BufReader::with_capacity(64 * 1024, f), &wanted));
        match scan {
            Ok(names) => return names,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                w.push(format!("{rel}: {e}"));
                return IdNames::default();
            }
        }
    }
    IdNames::default()
}

/// Ids to look up in a `pci.ids` / `usb.ids` file: vendor id → device ids.
pub type WantedIds = BTreeMap<u16, BTreeSet<u16>>;

/// What [`lookup_ids`] found: vendor names, and device names by (vendor, device).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IdNames {
    pub vendors: BTreeMap<u16, String>,
    pub devices: BTreeMap<(u16, u16), String>,
}

/// Looks up `wanted` in a `pci.ids` / `usb.ids` file read from `reader`, in bounded memory:
/// a line longer than [`MAX_LINE`] is skipped unread, like [`crate::host::BoundedLines`] does,
/// but lines are not copied unless they carry a wanted id. See [`IdsScan`] for the format and
/// the early stop. A read error is returned even when some names were found.
pub fn lookup_ids<R: BufRead>(mut reader: R, wanted: &WantedIds) -> io::Result<IdNames> {
    let mut scan = IdsScan::new(wanted);
    // The part of a line that began in an earlier buffer; `too_long` once it passed MAX_LINE.
    let mut carry: Vec<u8> = Vec::new();
    let mut too_long = false;
    let mut more = !wanted.is_empty();
    while more {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            if !carry.is_empty() && !too_long {
                scan.line(&carry);
            }
            break;
        }
        let len = chunk.len();
        let mut start = 0;
        while let Some(i) = find_newline(&chunk[start..]) {
            let line = &chunk[start..start + i];
            start += i + 1;
            if carry.is_empty() && !too_long {
                more = scan.line(line);
            } else {
                if !too_long && carry.len() + line.len() <= MAX_LINE {
                    carry.extend_from_slice(line);
                    more = scan.line(&carry);
                }
                carry.clear();
                too_long = false;
            }
            if !more {
                break;
            }
        }
        if more && !too_long {
            let rest = &chunk[start..];
            if carry.len() + rest.len() <= MAX_LINE {
                carry.extend_from_slice(rest);
            } else {
                carry = Vec::new();
                too_long = true;
            }
        }
        reader.consume(len);
    }
    Ok(scan.finish())
}

/// The first `\n` in `bytes`, eight bytes at a time. A byte-by-byte search was most of the
/// cost of a scan: 1.0 ms for the whole of pci.ids on the bench machine, 0.5 ms this way (the
/// rest is per-line work: pci.ids has 36,000 lines of 37 bytes on average).
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const NEWLINES: u64 = u64::from_ne_bytes([b'\n'; 8]);
    let mut words = bytes.chunks_exact(8);
    let mut offset = 0;
    for word in words.by_ref() {
        let mut le = [0; 8];
        le.copy_from_slice(word);
        // A byte of `v` is 0 where the word has '\n'; the lowest flagged byte is the first one
        // (a borrow can only flag bytes above a true zero).
        let v = u64::from_le_bytes(le) ^ NEWLINES;
        let zeros = v.wrapping_sub(ONES) & !v & HIGHS;
        if zeros != 0 {
            return Some(offset + (zeros.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    words.remainder().iter().position(|&b| b == b'\n').map(|i| offset + i)
}

/// [`lookup_ids`] over a whole file in memory (tests, fuzzing).
pub fn lookup_ids_in(bytes: &[u8], wanted: &WantedIds) -> IdNames {
    lookup_ids(bytes, wanted).unwrap_or_default()
}

/// The state of one look-up, fed line by line (without the `\n`). Vendor lines are
/// `vvvv  Name`, device lines `\tdddd  Name` under them; subsystem lines (two tabs), comments
/// and blank lines are skipped. The first top-level line that is not a vendor line (the
/// `C 00  ...` class lists, usb.ids' `AT`, `HID`, ... sections) ends the vendor list. The scan
/// stops as soon as every wanted name is found, or at the first vendor id above the largest one
/// wanted, since the files are sorted by vendor. An unsorted or damaged file can only cost
/// names; the first entry for an id wins.
pub struct IdsScan<'w> {
    wanted: &'w WantedIds,
    last: Option<u16>,
    missing: usize,
    current: Option<(u16, &'w BTreeSet<u16>)>,
    names: IdNames,
}

impl<'w> IdsScan<'w> {
    pub fn new(wanted: &'w WantedIds) -> Self {
        let missing = wanted.len() + wanted.values().map(BTreeSet::len).sum::<usize>();
        Self { wanted, last: wanted.keys().next_back().copied(), missing, current: None, names: IdNames::default() }
    }

    /// Takes one line; false once the scan needs no more.
    pub fn line(&mut self, line: &[u8]) -> bool {
        let Some(last) = self.last else { return false };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match line.first() {
            None | Some(b'#') => true,
            Some(b'\t') => {
                let Some((vendor, devices)) = self.current else { return true };
                let rest = &line[1..];
                match id_line(rest) {
                    Some((id, text)) if devices.contains(&id) && !self.names.devices.contains_key(&(vendor, id)) => {
                        self.names.devices.insert((vendor, id), name(text));
                        self.found()
                    }
                    _ => true,
                }
            }
            Some(_) => {
                let Some((id, text)) = id_line(line).filter(|(id, _)| *id <= last) else { return false };
                self.current = self.wanted.get(&id).map(|devices| (id, devices));
                if self.current.is_some() && !self.names.vendors.contains_key(&id) {
                    self.names.vendors.insert(id, name(text));
                    return self.found();
                }
                true
            }
        }
    }

    fn found(&mut self) -> bool {
        self.missing -= 1;
        self.missing > 0
    }

    pub fn finish(self) -> IdNames {
        self.names
    }
}

/// `abcd  Name` → (0xabcd, b"  Name"): four hex digits, then white space before the name. A
/// line starting with a tab (a subsystem line under a device) is not one.
fn id_line(line: &[u8]) -> Option<(u16, &[u8])> {
    let [a, b, c, d, sep, name @ ..] = line else { return None };
    if !sep.is_ascii_whitespace() {
        return None;
    }
    let mut id = 0u16;
    for digit in [a, b, c, d] {
        id = id << 4 | u16::try_from(char::from(*digit).to_digit(16)?).ok()?;
    }
    Some((id, name))
}

fn name(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}

/// Batteries of the machine: `type` Battery, not `scope` Device (a mouse's or a headset's
/// battery), not `present` 0 (an empty second bay).
fn batteries(host: &Host, w: &mut Warnings<'_>) -> Vec<Battery> {
    let mut batteries = Vec::new();
    for name in list_visible(host, "sys/class/power_supply", w) {
        let base = format!("sys/class/power_supply/{name}");
        let attr = |w: &mut Warnings<'_>, a: &str| value(host, &format!("{base}/{a}"), w).unwrap_or_default();
        if attr(w, "type") != "Battery" || attr(w, "scope") == "Device" || attr(w, "present") == "0" {
            continue;
        }
        let num = |w: &mut Warnings<'_>, a: &str| number(host, &format!("{base}/{a}"), w);
        // Energy (µWh) or charge (µAh), whichever pair the driver reports with a design value.
        let mut health = 0;
        for (full, design) in [("energy_full", "energy_full_design"), ("charge_full", "charge_full_design")] {
            if let (Some(full), Some(design)) = (num(w, full), num(w, design)) {
                health = percent(full, design);
            }
            if health > 0 {
                break;
            }
        }
        batteries.push(Battery {
            manufacturer: attr(w, "manufacturer"),
            model: attr(w, "model_name"),
            serial: attr(w, "serial_number"),
            technology: attr(w, "technology"),
            status: attr(w, "status"),
            capacity_percent: num(w, "capacity").map_or(0, clamp),
            health_percent: health,
            cycle_count: num(w, "cycle_count").map_or(0, clamp),
            name,
        });
    }
    batteries
}

/// `part` over `whole` in percent, rounded; 0 (unknown) when `whole` is 0.
fn percent(part: u64, whole: u64) -> u32 {
    if whole == 0 {
        return 0;
    }
    let p = (u128::from(part) * 100 + u128::from(whole) / 2) / u128::from(whole);
    u32::try_from(p).unwrap_or(u32::MAX)
}

fn clamp(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The TPM spec version (`2.0`, `1.2`), or empty when the kernel shows no TPM; see the module
/// documentation for the order of the clues.
fn tpm_version(host: &Host, w: &mut Warnings<'_>) -> String {
    const MAJOR: &str = "sys/class/tpm/tpm0/tpm_version_major";
    let major = value(host, MAJOR, w);
    match major.as_deref() {
        Some("2") => return "2.0".to_string(),
        Some("1") | None => {}
        Some(other) => {
            w.push(format!("{MAJOR}: unknown version {:?}", other.chars().take(40).collect::<String>()));
            return String::new();
        }
    }
    for caps in ["sys/class/tpm/tpm0/caps", "sys/class/tpm/tpm0/device/caps", "sys/class/misc/tpm0/device/caps"] {
        match host.read_limited(caps, MAX_VALUE) {
            Ok(text) => return tcg_version(&String::from_utf8_lossy(&text)).unwrap_or("1.2").to_string(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            // Only TPM 1.x chips have `caps`; one that fails to answer is still one.
            Err(e) => {
                w.push(format!("{caps}: {e}"));
                return "1.2".to_string();
            }
        }
    }
    if major.is_some() {
        return "1.2".to_string();
    }
    if host.path("sys/class/tpmrm/tpmrm0").exists() || host.path("sys/class/tpm/tpm0").exists() {
        return "2.0".to_string();
    }
    if host.path("sys/class/misc/tpm0").exists() {
        return "1.2".to_string();
    }
    String::new()
}

/// `TCG version: 1.2` from a TPM 1.x `caps` file.
fn tcg_version(caps: &str) -> Option<&str> {
    let v = caps.lines().find_map(|l| l.trim().strip_prefix("TCG version:"))?.trim();
    let (major, minor) = v.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
    (digits(major) && digits(minor)).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{collect_one, fixture};

    fn pci(address: &str, class: &str, ids: (&str, &str), names: (&str, &str), driver: &str) -> PciDevice {
        PciDevice {
            address: address.into(),
            class: class.into(),
            vendor_id: ids.0.into(),
            device_id: ids.1.into(),
            vendor_name: names.0.into(),
            device_name: names.1.into(),
            driver: driver.into(),
        }
    }

    fn usb(bus_path: &str, ids: (&str, &str), names: (&str, &str), serial: &str) -> UsbDevice {
        UsbDevice {
            bus_path: bus_path.into(),
            vendor_id: ids.0.into(),
            product_id: ids.1.into(),
            vendor_name: names.0.into(),
            product_name: names.1.into(),
            serial: serial.into(),
        }
    }

    const INTEL: &str = "Intel Corporation";

    #[test]
    fn laptop_fixture() {
        let (inv, warnings) = collect_one(&Devices, &fixture("laptop"));
        assert_eq!(warnings, vec![]);
        let hw = inv.hardware;
        let igpu =
            pci("0000:00:02.0", "0x030000", ("8086", "3ea0"), (INTEL, "WhiskeyLake-U GT2 [UHD Graphics 620]"), "i915");
        assert_eq!(
            hw.pci_devices,
            [
                pci("0000:00:00.0", "0x060000", ("8086", "3e34"), (INTEL, "Coffee Lake HOST and DRAM Controller"), ""),
                igpu.clone(),
                pci(
                    "0000:00:14.0",
                    "0x0c0330",
                    ("8086", "9ded"),
                    (INTEL, "Cannon Point-LP USB 3.1 xHCI Controller"),
                    "xhci_hcd"
                ),
                pci(
                    "0000:00:14.3",
                    "0x028000",
                    ("8086", "9df0"),
                    (INTEL, "Cannon Point-LP CNVi [Wireless-AC]"),
                    "iwlwifi"
                ),
                pci(
                    "0000:00:1d.0",
                    "0x060400",
                    ("8086", "9db0"),
                    (INTEL, "Cannon Point-LP PCI Express Root Port #9"),
                    "pcieport"
                ),
                pci("0000:00:1f.6", "0x020000", ("8086", "15bd"), (INTEL, "Ethernet Connection (6) I219-LM"), "e1000e"),
                pci(
                    "0000:3d:00.0",
                    "0x010802",
                    ("144d", "a808"),
                    ("Samsung Electronics Co Ltd", "NVMe SSD Controller SM981/PM981/PM983"),
                    "nvme"
                ),
            ]
        );
        assert_eq!(hw.gpus, [igpu]);
        // usb1, usb2 (root hubs) and the interfaces (1-4:1.0, ...) are not devices.
        assert_eq!(
            hw.usb_devices,
            [
                // No strings of its own: both names from usb.ids.
                usb("1-10", ("8087", "0aaa"), ("Intel Corp.", "Bluetooth 9460/9560 Jefferson Peak (JfP)"), ""),
                // usb.ids knows the vendor, not this camera: the product name is the device's own.
                usb("1-4", ("04f2", "b67c"), ("Chicony Electronics Co., Ltd", "Integrated Camera"), "0001"),
                usb(
                    "1-9",
                    ("06cb", "00bd"),
                    ("Synaptics, Inc.", "Prometheus MIS Touch Fingerprint Reader"),
                    "4a1d7e0f2c35"
                ),
            ]
        );
        // AC (Mains) and the mouse's battery (scope Device) are left out.
        assert_eq!(
            hw.batteries,
            [Battery {
                name: "BAT0".into(),
                manufacturer: "SMP".into(),
                model: "01AV494".into(),
                serial: "1243".into(),
                technology: "Li-poly".into(),
                status: "Discharging".into(),
                capacity_percent: 81,
                // 45123000 / 57000000 = 79.16 %
                health_percent: 79,
                cycle_count: 214,
            }]
        );
        assert_eq!(hw.tpm_version, "2.0");
    }

    #[test]
    fn server_fixture() {
        let (inv, warnings) = collect_one(&Devices, &fixture("server"));
        assert_eq!(warnings, vec![]);
        let hw = inv.hardware;
        let aspeed = "ASPEED Technology, Inc.";
        let vga = pci("0000:03:00.0", "0x030000", ("1a03", "2000"), (aspeed, "ASPEED Graphics Family"), "ast");
        let root_port = (INTEL, "Sky Lake-E PCI Express Root Port A");
        let x710 = (INTEL, "Ethernet Controller X710 for 10GbE SFP+");
        assert_eq!(
            hw.pci_devices,
            [
                pci("0000:00:00.0", "0x060000", ("8086", "2020"), (INTEL, "Sky Lake-E DMI3 Registers"), ""),
                pci(
                    "0000:00:17.0",
                    "0x010601",
                    ("8086", "a182"),
                    (INTEL, "C620 Series Chipset Family SATA Controller [AHCI mode]"),
                    "ahci"
                ),
                pci(
                    "0000:00:1c.0",
                    "0x060400",
                    ("8086", "a190"),
                    (INTEL, "C620 Series Chipset Family PCI Express Root Port #1"),
                    "pcieport"
                ),
                pci("0000:02:00.0", "0x060400", ("1a03", "1150"), (aspeed, "AST1150 PCI-to-PCI Bridge"), ""),
                vga.clone(),
                pci("0000:17:00.0", "0x060400", ("8086", "2030"), root_port, "pcieport"),
                pci("0000:18:00.0", "0x020000", ("8086", "1572"), x710, "i40e"),
                pci("0000:18:00.1", "0x020000", ("8086", "1572"), x710, "i40e"),
                pci("0000:5d:00.0", "0x060400", ("8086", "2030"), root_port, "pcieport"),
                pci(
                    "0000:5e:00.0",
                    "0x010802",
                    ("8086", "0a54"),
                    (INTEL, "NVMe Datacenter SSD [3DNAND, Beta Rock Controller]"),
                    "nvme"
                ),
            ]
        );
        assert_eq!(hw.gpus, [vga]);
        assert!(hw.usb_devices.is_empty());
        assert!(hw.batteries.is_empty());
        assert_eq!(hw.tpm_version, "1.2");
    }

    #[test]
    fn vm_fixture_without_id_databases() {
        let (inv, warnings) = collect_one(&Devices, &fixture("vm"));
        assert_eq!(warnings, vec![], "no pci.ids is no names, not a warning");
        let hw = inv.hardware;
        let no = ("", "");
        let vga = pci("0000:00:02.0", "0x030000", ("1234", "1111"), no, "bochs-drm");
        assert_eq!(
            hw.pci_devices,
            [
                pci("0000:00:00.0", "0x060000", ("8086", "1237"), no, ""),
                pci("0000:00:01.0", "0x060100", ("8086", "7000"), no, ""),
                pci("0000:00:01.1", "0x010180", ("8086", "7010"), no, "ata_piix"),
                pci("0000:00:01.2", "0x0c0300", ("8086", "7020"), no, "uhci_hcd"),
                vga.clone(),
                pci("0000:00:03.0", "0x020000", ("1af4", "1000"), no, "virtio-pci"),
                pci("0000:00:04.0", "0x010000", ("1af4", "1001"), no, "virtio-pci"),
            ]
        );
        assert_eq!(hw.gpus, [vga]);
        assert!(hw.usb_devices.is_empty(), "only the root hub: {:?}", hw.usb_devices);
        assert!(hw.batteries.is_empty());
        assert_eq!(hw.tpm_version, "");
    }

    #[test]
    fn container_fixture_sees_nothing() {
        let (inv, warnings) = collect_one(&Devices, &fixture("container"));
        assert_eq!(warnings, vec![]);
        let hw = inv.hardware;
        assert!(hw.pci_devices.is_empty() && hw.gpus.is_empty() && hw.usb_devices.is_empty());
        assert!(hw.batteries.is_empty());
        assert_eq!(hw.tpm_version, "");
    }

    fn wanted(ids: &[(u16, &[u16])]) -> WantedIds {
        ids.iter().map(|(v, d)| (*v, d.iter().copied().collect())).collect()
    }

    const IDS: &str = "# comment\n\
        \n\
        0001  First Vendor\n\
        \t0001  First device\n\
        \t\t0002 0003  A subsystem\n\
        \t0002  Second device\n\
        10EC  Realtek\n\
        \t8168  RTL8111/8168\n\
        8086  Intel Corporation\n\
        \t1572  Ethernet Controller X710 for 10GbE SFP+\n\
        ffff  Illegal Vendor ID\n\
        \n\
        C 00  Unclassified device\n\
        \t00  Non-VGA unclassified device\n";

    #[test]
    fn ids_found_missing_vendor_missing_device() {
        let names = lookup_ids_in(
            IDS.as_bytes(),
            &wanted(&[(0x0001, &[0x0002, 0x0003]), (0x10ec, &[0x8168]), (0x4242, &[0x0001]), (0x8086, &[])]),
        );
        let vendors: Vec<(u16, &str)> = names.vendors.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(vendors, [(0x0001, "First Vendor"), (0x10ec, "Realtek"), (0x8086, "Intel Corporation")]);
        let devices: Vec<((u16, u16), &str)> = names.devices.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(devices, [((0x0001, 0x0002), "Second device"), ((0x10ec, 0x8168), "RTL8111/8168")]);
    }

    #[test]
    fn ids_subsystem_lines_and_class_sections_are_not_devices() {
        // 0002:0003 appears only as a subsystem; class 00 is not vendor 0x0000.
        let names = lookup_ids_in(IDS.as_bytes(), &wanted(&[(0x0000, &[0x0000]), (0x0002, &[0x0003])]));
        assert_eq!(names, IdNames::default());
        // The class list ends the vendor list: nothing after "C 00" is a vendor.
        let text = format!("{IDS}abcd  After the classes\n");
        assert_eq!(lookup_ids_in(text.as_bytes(), &wanted(&[(0xabcd, &[])])), IdNames::default());
    }

    #[test]
    fn ids_truncated_and_non_utf8() {
        let cut = &IDS.as_bytes()[..IDS.find("\t8168").unwrap() + 3];
        let names = lookup_ids_in(cut, &wanted(&[(0x10ec, &[0x8168]), (0x8086, &[0x1572])]));
        assert_eq!(names.vendors.get(&0x10ec).map(String::as_str), Some("Realtek"));
        assert!(names.devices.is_empty() && !names.vendors.contains_key(&0x8086));
        let names = lookup_ids_in(b"8086  Intel \xff Corp\n\t1572  X\xc3", &wanted(&[(0x8086, &[0x1572])]));
        assert_eq!(names.vendors[&0x8086], "Intel \u{fffd} Corp");
        assert_eq!(names.devices[&(0x8086, 0x1572)], "X\u{fffd}");
        for bytes in [&b""[..], b"\n\n\t\t\t", b"8086", b"8086 ", b"80\xff6  X\n", b"\t1572  Y\n"] {
            assert_eq!(lookup_ids_in(bytes, &wanted(&[(0x8086, &[0x1572])])).devices.len(), 0, "{bytes:?}");
        }
    }

    #[test]
    fn ids_first_entry_wins() {
        let names = lookup_ids_in(b"0001  A\n\t0001  a\n0001  B\n\t0001  b\n", &wanted(&[(1, &[1])]));
        assert_eq!((names.vendors[&1].as_str(), names.devices[&(1, 1)].as_str()), ("A", "a"));
    }

    #[test]
    fn find_newline_agrees_with_a_plain_search() {
        for len in 0..40 {
            for at in 0..=len {
                let mut bytes: Vec<u8> = (0..len).map(|i| [b'a', 0x0b, 0x09, 0x8a, 0xff][i % 5]).collect();
                if at < len {
                    bytes[at] = b'\n';
                    if at + 3 < len {
                        bytes[at + 3] = b'\n';
                    }
                }
                let want = bytes.iter().position(|&b| b == b'\n');
                assert_eq!(find_newline(&bytes), want, "{bytes:?}");
            }
        }
    }

    /// Feeds IDS line by line: what was found and how many lines the scan took.
    fn lines_taken(wanted: &WantedIds) -> (IdNames, usize) {
        let mut scan = IdsScan::new(wanted);
        let taken = IDS.lines().take_while(|l| scan.line(l.as_bytes())).count() + 1;
        (scan.finish(), taken)
    }

    #[test]
    fn ids_scan_stops_early() {
        // Everything found on line 6 ("\t0002  Second device").
        let (names, taken) = lines_taken(&wanted(&[(0x0001, &[0x0002])]));
        assert_eq!((names.devices.len(), taken), (1, 6));
        // 0x0001:0x0009 is not there: the scan stops at the next vendor, 10EC (line 7).
        let (names, taken) = lines_taken(&wanted(&[(0x0001, &[0x0009])]));
        assert_eq!((names.vendors.len(), taken), (1, 7));
        // A vendor that is not there: the scan stops at the first id above it (ffff, line 11).
        assert_eq!(lines_taken(&wanted(&[(0xfffe, &[])])), (IdNames::default(), 11));
        // A device that is not there under the last vendor: the class list stops it (line 13).
        let (names, taken) = lines_taken(&wanted(&[(0xffff, &[0x0001])]));
        assert_eq!((names.vendors.len(), names.devices.len(), taken), (1, 0, 13));
        // Nothing wanted, nothing read.
        assert_eq!(lines_taken(&WantedIds::new()), (IdNames::default(), 1));
    }

    /// A reader that fails: what comes after the bytes given.
    struct Broken;
    impl io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("read past the end"))
        }
    }

    #[test]
    fn ids_reader_stops_reading_and_reports_errors() {
        let reader = |bytes: &'static [u8]| BufReader::with_capacity(5, io::Read::chain(bytes, Broken));
        // Found before the end: the broken rest is never read.
        let names = lookup_ids(reader(IDS.as_bytes()), &wanted(&[(0x10ec, &[0x8168])])).unwrap();
        assert_eq!(names.devices[&(0x10ec, 0x8168)], "RTL8111/8168");
        // A read error before the scan is done is the caller's to report.
        let err = lookup_ids(reader(&IDS.as_bytes()[..40]), &wanted(&[(0x8086, &[])])).unwrap_err();
        assert_eq!(err.to_string(), "read past the end");
    }

    #[test]
    fn ids_reader_across_small_buffers_and_over_long_lines() {
        let mut text = b"0001  A\r\n\t0001  a".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        text.extend_from_slice(b"\n\t0002  b\n0003  ".to_vec().as_slice());
        text.extend(std::iter::repeat_n(b'y', MAX_LINE + 10));
        text.extend_from_slice(b"\n0004  D\n\t0004  d");
        let want = wanted(&[(1, &[1, 2]), (3, &[]), (4, &[4])]);
        for capacity in [3, 7, 64 * 1024] {
            let names = lookup_ids(BufReader::with_capacity(capacity, text.as_slice()), &want).unwrap();
            let vendors: Vec<(u16, &str)> = names.vendors.iter().map(|(k, v)| (*k, v.as_str())).collect();
            // The two long lines are skipped whole: no 0001:0001, no vendor 0003.
            assert_eq!(vendors, [(1, "A"), (4, "D")], "capacity {capacity}");
            let devices: Vec<((u16, u16), &str)> = names.devices.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_eq!(devices, [((1, 2), "b"), ((4, 4), "d")], "capacity {capacity}");
        }
    }

    /// A temporary root holding `files` (parents created).
    fn root_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Host) {
        let dir = tempfile::tempdir().unwrap();
        for (rel, content) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        let host = Host::open(dir.path()).unwrap();
        (dir, host)
    }

    fn messages(warnings: &[census_inventory::Warning]) -> Vec<&str> {
        warnings.iter().map(|w| w.message.as_str()).collect()
    }

    #[test]
    fn garbage_ids_are_empty_fields_and_warnings() {
        let pci_dev = "sys/bus/pci/devices/0000:00:01.0";
        let (_d, host) = root_with(&[
            (&format!("{pci_dev}/vendor"), "garbage\n"),
            (&format!("{pci_dev}/device"), "0x12345\n"),
            (&format!("{pci_dev}/class"), "0xzz\n"),
            ("sys/bus/pci/devices/0000:00:02.0/vendor", "0x8086\n"),
            ("sys/bus/pci/devices/0000:00:02.0/device", "0x1572\n"),
            ("sys/bus/pci/devices/0000:00:02.0/class", "0x030000\n"),
            ("sys/bus/usb/devices/1-1/idVendor", "zzzz\n"),
            ("sys/bus/usb/devices/1-1/idProduct", "\u{0}\u{1}\n"),
            ("sys/bus/usb/devices/1-1/product", "Gadget\n"),
            ("sys/bus/usb/devices/1-2/product", "no idVendor: not a device\n"),
            ("usr/share/hwdata/pci.ids", "8086  Intel Corporation\n\t1572  X710\n"),
        ]);
        let (inv, warnings) = collect_one(&Devices, &host);
        assert_eq!(
            messages(&warnings),
            [
                "sys/bus/pci/devices/0000:00:01.0/vendor: not a hex id: \"garbage\"",
                "sys/bus/pci/devices/0000:00:01.0/device: not a hex id: \"0x12345\"",
                "sys/bus/pci/devices/0000:00:01.0/class: not a hex id: \"0xzz\"",
                "sys/bus/usb/devices/1-1/idVendor: not a hex id: \"zzzz\"",
                "sys/bus/usb/devices/1-1/idProduct: not a hex id: \"\\0\\u{1}\"",
            ]
        );
        let hw = inv.hardware;
        assert_eq!(
            hw.pci_devices,
            [
                pci("0000:00:01.0", "", ("", ""), ("", ""), ""),
                // Names from usr/share/hwdata when usr/share/misc has none.
                pci("0000:00:02.0", "0x030000", ("8086", "1572"), ("Intel Corporation", "X710"), ""),
            ]
        );
        assert_eq!(hw.gpus.len(), 1);
        assert_eq!(hw.usb_devices, [usb("1-1", ("", ""), ("", "Gadget"), "")]);
    }

    #[test]
    fn an_unreadable_ids_file_is_a_warning() {
        let (dir, host) = root_with(&[
            ("sys/bus/pci/devices/0000:00:02.0/vendor", "0x8086\n"),
            ("sys/bus/pci/devices/0000:00:02.0/device", "0x1572\n"),
        ]);
        std::fs::create_dir_all(dir.path().join("usr/share/misc/pci.ids")).unwrap();
        let (inv, warnings) = collect_one(&Devices, &host);
        assert_eq!(messages(&warnings), ["usr/share/misc/pci.ids: Is a directory (os error 21)"]);
        assert_eq!(inv.hardware.pci_devices[0].vendor_name, "");
    }

    #[test]
    fn odd_battery_values() {
        let b = "sys/class/power_supply";
        let (_d, host) = root_with(&[
            (&format!("{b}/BAT0/type"), "Battery\n"),
            (&format!("{b}/BAT0/capacity"), "lots\n"),
            (&format!("{b}/BAT0/energy_full"), "45123000\n"),
            (&format!("{b}/BAT0/energy_full_design"), "0\n"),
            (&format!("{b}/BAT0/cycle_count"), "-1\n"),
            (&format!("{b}/BAT1/type"), "Battery\n"),
            (&format!("{b}/BAT1/charge_full"), "99999999999999999999999\n"),
            (&format!("{b}/BAT1/charge_full_design"), "4000000\n"),
            (&format!("{b}/BAT1/capacity"), "4294967296\n"),
            (&format!("{b}/BAT2/type"), "Battery\n"),
            (&format!("{b}/BAT2/present"), "0\n"),
            (&format!("{b}/BAT3/type"), "Battery\n"),
            (&format!("{b}/BAT3/charge_full"), "3100000\n"),
            (&format!("{b}/BAT3/charge_full_design"), "4000000\n"),
            (&format!("{b}/BAT3/capacity"), "100\n"),
            (&format!("{b}/ucsi-source-psy-USBC000:001/type"), "USB\n"),
        ]);
        let (inv, warnings) = collect_one(&Devices, &host);
        assert_eq!(
            messages(&warnings),
            [
                "sys/class/power_supply/BAT0/capacity: not a number: \"lots\"",
                "sys/class/power_supply/BAT1/charge_full: not a number: \"99999999999999999999999\"",
            ]
        );
        let got: Vec<(&str, u32, u32, u32)> = inv
            .hardware
            .batteries
            .iter()
            .map(|b| (b.name.as_str(), b.capacity_percent, b.health_percent, b.cycle_count))
            .collect();
        // Design 0 is no health (not a division by zero); -1 cycles is "unknown".
        assert_eq!(got, [("BAT0", 0, 0, 0), ("BAT1", u32::MAX, 0, 0), ("BAT3", 100, 78, 0)]);
    }

    #[test]
    fn tpm_versions_from_every_clue() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("sys/class/tpm/tpm0/tpm_version_major", "2\n")], "2.0"),
            (&[("sys/class/tpm/tpm0/tpm_version_major", "1\n")], "1.2"),
            (
                &[("sys/class/tpm/tpm0/tpm_version_major", "1\n"), ("sys/class/tpm/tpm0/caps", "TCG version: 1.1\n")],
                "1.1",
            ),
            (&[("sys/class/tpm/tpm0/device/caps", "Manufacturer: 0x53544d20\nTCG version: 1.2\n")], "1.2"),
            (&[("sys/class/tpm/tpm0/device/caps", "TCG version: garbage\n")], "1.2"),
            (&[("sys/class/misc/tpm0/device/caps", "TCG version: 1.2\n")], "1.2"),
            (&[("sys/class/misc/tpm0/dev", "10:224\n")], "1.2"),
            (&[("sys/class/tpmrm/tpmrm0/dev", "253:65536\n")], "2.0"),
            (&[("sys/class/tpm/tpm0/dev", "10:224\n")], "2.0"),
            (&[("sys/class/tpm/.keep", "")], ""),
        ];
        for (files, want) in cases {
            let (_d, host) = root_with(files);
            let (inv, warnings) = collect_one(&Devices, &host);
            assert_eq!(warnings, vec![], "{files:?}");
            assert_eq!(inv.hardware.tpm_version, *want, "{files:?}");
        }
        let (_d, host) = root_with(&[("sys/class/tpm/tpm0/tpm_version_major", "7\n")]);
        let (inv, warnings) = collect_one(&Devices, &host);
        assert_eq!(messages(&warnings), ["sys/class/tpm/tpm0/tpm_version_major: unknown version \"7\""]);
        assert_eq!(inv.hardware.tpm_version, "");
    }
}
