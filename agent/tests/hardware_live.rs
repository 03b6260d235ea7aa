//! The live host's PCI devices against `lspci`, the machine's own ground truth: every function
//! with its class, vendor and device ids and its bound driver. Skips with a printed reason where
//! `lspci` (pciutils) is missing or the machine shows no PCI bus (a container without `/sys`).

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

fn agent_inventory() -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_census-agent"))
        .args(["inventory", "--format", "json"])
        .output()
        .expect("run census-agent");
    assert!(out.status.success(), "census-agent failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("inventory is JSON")
}

/// (address, class as 4 hex digits, vendor, device, driver) as `lspci -Dnk` prints them:
/// `0000:00:02.0 0300: 8086:3ea0 (rev 02)` then indented lines, `Kernel driver in use: i915`.
fn parse_lspci(text: &str) -> BTreeSet<(String, String, String, String, String)> {
    let mut devices = Vec::new();
    for line in text.lines() {
        if let Some(detail) = line.strip_prefix('\t') {
            if let (Some(driver), Some(last)) = (detail.strip_prefix("Kernel driver in use: "), devices.last_mut()) {
                let (_, _, _, _, d): &mut (String, String, String, String, String) = last;
                *d = driver.trim().to_string();
            }
            continue;
        }
        let mut f = line.split_whitespace();
        let (Some(address), Some(class), Some(ids)) = (f.next(), f.next(), f.next()) else { continue };
        let Some((vendor, device)) = ids.split_once(':') else { continue };
        let class = class.trim_end_matches(':');
        devices.push((address.into(), class.into(), vendor.into(), device.into(), String::new()));
    }
    devices.into_iter().collect()
}

#[test]
fn inventory_has_exactly_the_pci_devices_lspci_shows() {
    if !std::path::Path::new("/sys/bus/pci/devices").is_dir() {
        eprintln!("skipped: this machine shows no PCI bus in /sys");
        return;
    }
    let out = match Command::new("lspci").arg("-Dnk").output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => panic!("lspci failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => {
            eprintln!("skipped: lspci is not available here ({e}); install pciutils");
            return;
        }
    };
    let expected = parse_lspci(&out);
    assert!(!expected.is_empty(), "lspci printed no device:\n{out}");

    let inv = agent_inventory();
    let pci = inv["hardware"]["pci_devices"].as_array().expect("pci_devices array");
    let s = |d: &Value, k: &str| d[k].as_str().unwrap_or_default().to_string();
    let got: BTreeSet<_> = pci
        .iter()
        .map(|d| {
            // Ours is the full 24-bit class `0x030000`; lspci -n prints class and subclass.
            let class = s(d, "class").get(2..6).unwrap_or_default().to_string();
            (s(d, "address"), class, s(d, "vendor_id"), s(d, "device_id"), s(d, "driver"))
        })
        .collect();
    assert_eq!(got.len(), pci.len(), "a PCI device was reported twice");
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}\nextra {extra:?}");

    let gpus = inv["hardware"]["gpus"].as_array().expect("gpus array");
    let display = expected.iter().filter(|d| d.1.starts_with("03")).count();
    assert_eq!(gpus.len(), display, "gpus are the display controllers (class 03)");
    eprintln!("pci: {} devices match lspci -Dnk ({display} display controllers)", got.len());
}

#[test]
fn lspci_output_is_parsed() {
    let text = "0000:00:00.0 0600: 8086:0d57\n\
                0000:00:02.0 0300: 8086:3ea0 (rev 02) (prog-if 00)\n\
                \tSubsystem: 17aa:2292\n\
                \tKernel driver in use: i915\n\
                \tKernel modules: i915\n";
    let got: Vec<_> = parse_lspci(text).into_iter().collect();
    let row = |a: &str, c: &str, v: &str, d: &str, k: &str| (a.into(), c.into(), v.into(), d.into(), k.into());
    assert_eq!(
        got,
        [row("0000:00:00.0", "0600", "8086", "0d57", ""), row("0000:00:02.0", "0300", "8086", "3ea0", "i915")]
    );
}
