//! What the OS runs on: a hypervisor, a container runtime, a cloud. Files only: no CPUID, no
//! metadata-service call, no network traffic.
//!
//! Rules (names as `systemd-detect-virt` prints them, so users can compare):
//! - Virtualization: DMI vendor/product/BIOS strings name the hypervisor; a `kvm-clock`
//!   clocksource turns a QEMU-branded machine into `kvm`; `sys/hypervisor/type` says `xen`;
//!   with no DMI at all, the cpuinfo `hypervisor` flag plus `virtio_mmio.device=` on the
//!   kernel command line is Firecracker; otherwise a `kvm-clock` clocksource is `kvm` and the
//!   flag alone is `vm-other`. (A Firecracker guest using PCI virtio, like this build machine,
//!   is `kvm`, as systemd-detect-virt also says.)
//! - Container: `/.dockerenv` (docker), `/run/.containerenv` (podman), `run/systemd/container`
//!   (written by nspawn, LXC and others), `container=` in PID 1's environment, PID 1's cgroup
//!   path (`/docker/`, `/lxc/`), and a kernel release naming Microsoft (WSL).
//! - Cloud: DMI strings only, the markers the providers document (Azure's chassis asset tag,
//!   Oracle's `OracleCloud.com`, ...). Reads `inventory.hardware` so it runs after the
//!   firmware and hardware sources.

use census_inventory::{Dmi, Inventory};

use super::{Source, Warnings};
use crate::host::Host;

pub struct Platform;

impl Source for Platform {
    fn name(&self) -> &'static str {
        "platform"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, _w: &mut Warnings<'_>) {
        let dmi = &inv.hardware.dmi;
        let hypervisor_flag = inv.hardware.cpu.flags.iter().any(|f| f == "hypervisor");
        inv.os.virtualization = virtualization(host, dmi, hypervisor_flag);
        inv.os.container = container(host, &inv.os.kernel);
        inv.os.cloud = cloud(dmi).to_string();
    }
}

/// The hypervisor from DMI strings, or `None` when they name none.
pub fn hypervisor_from_dmi(dmi: &Dmi) -> Option<&'static str> {
    // Checked in order against the vendor, product, board vendor and BIOS vendor strings.
    const MARKERS: &[(&str, &str)] = &[
        ("Amazon EC2", "amazon"),
        ("Google Compute Engine", "google"),
        ("KVM", "kvm"),
        ("QEMU", "qemu"),
        ("VMware", "vmware"),
        ("VMW", "vmware"),
        ("innotek GmbH", "oracle"),
        ("VirtualBox", "oracle"),
        ("Xen", "xen"),
        ("Bochs", "bochs"),
        ("Parallels", "parallels"),
        ("BHYVE", "bhyve"),
        ("Apple Virtualization", "apple"),
        ("Firecracker", "firecracker"),
    ];
    let fields = [&dmi.sys_vendor, &dmi.product_name, &dmi.board_vendor, &dmi.bios_vendor];
    for (marker, name) in MARKERS {
        if fields.iter().any(|f| f.starts_with(marker)) {
            return Some(name);
        }
    }
    // Hyper-V names the vendor and a generic product: both are needed.
    if dmi.sys_vendor == "Microsoft Corporation" && dmi.product_name == "Virtual Machine" {
        return Some("microsoft");
    }
    None
}

fn virtualization(host: &Host, dmi: &Dmi, hypervisor_flag: bool) -> String {
    let clocksources = host
        .read_value("sys/devices/system/clocksource/clocksource0/available_clocksource")
        .ok()
        .flatten()
        .unwrap_or_default();
    if let Some(name) = hypervisor_from_dmi(dmi) {
        if name == "qemu" && clocksources.split_whitespace().any(|c| c == "kvm-clock") {
            return "kvm".to_string();
        }
        return name.to_string();
    }
    if host.read_value("sys/hypervisor/type").ok().flatten().as_deref() == Some("xen") {
        return "xen".to_string();
    }
    let cmdline = host.read_value("proc/cmdline").ok().flatten().unwrap_or_default();
    let no_dmi = dmi.source.is_empty();
    if no_dmi && hypervisor_flag && cmdline.split_whitespace().any(|a| a.starts_with("virtio_mmio.device=")) {
        return "firecracker".to_string();
    }
    // The kernel registers kvm-clock only as a KVM guest.
    if clocksources.split_whitespace().any(|c| c == "kvm-clock") {
        return "kvm".to_string();
    }
    if hypervisor_flag { "vm-other".to_string() } else { String::new() }
}

fn container(host: &Host, kernel: &str) -> String {
    if host.path(".dockerenv").exists() {
        return "docker".to_string();
    }
    if host.path("run/.containerenv").exists() {
        return "podman".to_string();
    }
    if let Ok(Some(name)) = host.read_value("run/systemd/container") {
        return normalise_container(&name);
    }
    // PID 1's environment is readable by root only; NUL-separated.
    if let Ok(env) = host.read_limited("proc/1/environ", 64 * 1024) {
        let found = env.split(|&b| b == 0).find_map(|var| var.strip_prefix(b"container="));
        if let Some(name) = found.filter(|n| !n.is_empty()) {
            return normalise_container(&String::from_utf8_lossy(name));
        }
    }
    if let Ok(cgroup) = host.read_limited("proc/1/cgroup", 64 * 1024) {
        let cgroup = String::from_utf8_lossy(&cgroup);
        if cgroup.contains("/docker/") || cgroup.contains("/docker-") {
            return "docker".to_string();
        }
        if cgroup.contains("/lxc/") || cgroup.contains("/lxc.payload") {
            return "lxc".to_string();
        }
    }
    let kernel = kernel.to_ascii_lowercase();
    if kernel.contains("microsoft") || kernel.contains("wsl") {
        return "wsl".to_string();
    }
    String::new()
}

/// `container=` values as `systemd-detect-virt` reports them.
fn normalise_container(value: &str) -> String {
    match value.trim() {
        "oci" => "docker".to_string(),
        other => other.chars().filter(|c| c.is_ascii_graphic()).take(32).collect(),
    }
}

/// The cloud provider DMI strings name; "" when none.
pub fn cloud(dmi: &Dmi) -> &'static str {
    let vendor = dmi.sys_vendor.as_str();
    let lower = |s: &str| s.to_ascii_lowercase();
    if vendor == "Amazon EC2"
        || dmi.bios_vendor == "Amazon EC2"
        || lower(&dmi.bios_version).contains("amazon")
        || lower(&dmi.product_version).contains("amazon")
    {
        "aws"
    } else if vendor == "Google" || dmi.product_name == "Google Compute Engine" {
        "gcp"
    } else if vendor == "Microsoft Corporation" && dmi.chassis_asset_tag == "7783-7084-3265-9085-8269-3286-77" {
        "azure"
    } else if dmi.chassis_asset_tag == "OracleCloud.com" {
        "oracle"
    } else if vendor == "DigitalOcean" {
        "digitalocean"
    } else if vendor == "Hetzner" {
        "hetzner"
    } else if vendor == "Alibaba Cloud" || dmi.product_name == "Alibaba Cloud ECS" {
        "alibaba"
    } else if vendor == "Tencent Cloud" {
        "tencent"
    } else if vendor == "Vultr" {
        "vultr"
    } else if vendor == "Scaleway" {
        "scaleway"
    } else if dmi.product_name == "OpenStack Nova" || dmi.product_name == "OpenStack Compute" {
        "openstack"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn dmi(vendor: &str, product: &str) -> Dmi {
        Dmi { sys_vendor: vendor.into(), product_name: product.into(), source: "sysfs".into(), ..Dmi::default() }
    }

    #[test]
    fn hypervisors_from_dmi() {
        for (vendor, product, want) in [
            ("QEMU", "Standard PC (Q35 + ICH9, 2009)", Some("qemu")),
            ("VMware, Inc.", "VMware Virtual Platform", Some("vmware")),
            ("innotek GmbH", "VirtualBox", Some("oracle")),
            ("Microsoft Corporation", "Virtual Machine", Some("microsoft")),
            ("Microsoft Corporation", "Surface Laptop 5", None),
            ("Xen", "HVM domU", Some("xen")),
            ("Amazon EC2", "m6i.large", Some("amazon")),
            ("Google", "Google Compute Engine", Some("google")),
            ("LENOVO", "20QDS3E200", None),
        ] {
            assert_eq!(hypervisor_from_dmi(&dmi(vendor, product)), want, "{vendor} {product}");
        }
    }

    #[test]
    fn clouds_from_dmi() {
        assert_eq!(cloud(&dmi("Amazon EC2", "m6i.large")), "aws");
        let old_ec2 = Dmi { sys_vendor: "Xen".into(), bios_version: "4.11.amazon".into(), ..Dmi::default() };
        assert_eq!(cloud(&old_ec2), "aws");
        assert_eq!(cloud(&dmi("Google", "Google Compute Engine")), "gcp");
        let azure = Dmi {
            chassis_asset_tag: "7783-7084-3265-9085-8269-3286-77".into(),
            ..dmi("Microsoft Corporation", "Virtual Machine")
        };
        assert_eq!(cloud(&azure), "azure");
        assert_eq!(cloud(&dmi("Microsoft Corporation", "Virtual Machine")), "", "on-premises Hyper-V");
        assert_eq!(cloud(&dmi("QEMU", "Standard PC (i440FX + PIIX, 1996)")), "");
        assert_eq!(cloud(&dmi("Hetzner", "vServer")), "hetzner");
    }

    fn root_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Host) {
        let dir = tempfile::tempdir().unwrap();
        for (rel, content) in files {
            let path = dir.path().join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
        let host = Host::open(dir.path()).unwrap();
        (dir, host)
    }

    #[test]
    fn kvm_clock_makes_qemu_kvm_and_firecracker_has_no_dmi() {
        let (_d, host) = root_with(&[(
            "sys/devices/system/clocksource/clocksource0/available_clocksource",
            "kvm-clock tsc acpi_pm \n",
        )]);
        assert_eq!(virtualization(&host, &dmi("QEMU", "Standard PC"), true), "kvm");
        let (_d, host) = root_with(&[("proc/cmdline", "console=ttyS0 reboot=k virtio_mmio.device=4K@0xd0000000:5\n")]);
        assert_eq!(virtualization(&host, &Dmi::default(), true), "firecracker");
        assert_eq!(virtualization(&host, &Dmi::default(), false), "", "no hypervisor flag: bare metal");
        let (_d, host) = root_with(&[
            ("sys/devices/system/clocksource/clocksource0/available_clocksource", "tsc kvm-clock \n"),
            ("proc/cmdline", "console=ttyS0 reboot=k panic=1\n"),
        ]);
        assert_eq!(virtualization(&host, &Dmi::default(), true), "kvm", "firecracker with PCI virtio");
        let (_d, host) = root_with(&[]);
        assert_eq!(virtualization(&host, &Dmi::default(), true), "vm-other");
        let (_d, host) = root_with(&[("sys/hypervisor/type", "xen\n")]);
        assert_eq!(virtualization(&host, &Dmi::default(), true), "xen");
    }

    #[test]
    fn containers() {
        let (_d, host) = root_with(&[(".dockerenv", "")]);
        assert_eq!(container(&host, "6.1.0"), "docker");
        let (_d, host) = root_with(&[("run/.containerenv", "engine=\"podman-4.9\"\n")]);
        assert_eq!(container(&host, "6.1.0"), "podman");
        let (_d, host) = root_with(&[("run/systemd/container", "systemd-nspawn\n")]);
        assert_eq!(container(&host, "6.1.0"), "systemd-nspawn");
        let (_d, host) = root_with(&[("proc/1/environ", "PATH=/bin\0container=lxc\0HOME=/\0")]);
        assert_eq!(container(&host, "6.1.0"), "lxc");
        let (_d, host) = root_with(&[("proc/1/cgroup", "12:pids:/docker/0123abcd\n0::/\n")]);
        assert_eq!(container(&host, "6.1.0"), "docker");
        let (_d, host) = root_with(&[("proc/1/cgroup", "0::/init.scope\n")]);
        assert_eq!(container(&host, "5.15.153.1-microsoft-standard-WSL2"), "wsl");
        assert_eq!(container(&host, "6.1.0-18-amd64"), "");
    }
}
