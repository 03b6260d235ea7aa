//! Whole machines: `census-agent inventory --root` on the fixture trees of a laptop, a server, a
//! VM and a container, through the real binary. The firmware view is checked against what
//! `dmidecode --from-dump` prints for the same SMBIOS dump (the saved output in
//! `agent/testdata/smbios/*.txt` when dmidecode is not installed), and the judgements the
//! collector relies on (generic identifiers, virtualization, container, cloud) are checked by
//! value.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(rel)
}

fn inventory(machine: &str) -> Value {
    let root = testdata(&format!("roots/{machine}"));
    let out = Command::new(env!("CARGO_BIN_EXE_census-agent"))
        .args(["inventory", "--format", "json", "--root"])
        .arg(&root)
        .output()
        .expect("run census-agent");
    assert!(out.status.success(), "census-agent failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("inventory is JSON")
}

/// dmidecode's records: (type, key → value) in table order.
type Records = Vec<(u8, BTreeMap<String, String>)>;

/// `dmidecode --from-dump` on the machine's dump, or its saved output when dmidecode is absent.
fn dmidecode(dump: &str) -> Records {
    let bin = testdata(&format!("smbios/{dump}.bin"));
    let text = match Command::new("dmidecode").arg("--from-dump").arg(&bin).output() {
        Ok(o) if o.status.success() => String::from_utf8(o.stdout).expect("utf-8"),
        _ => {
            eprintln!("dmidecode is not installed: comparing with its saved output for {dump}");
            std::fs::read_to_string(testdata(&format!("smbios/{dump}.txt"))).unwrap()
        }
    };
    let mut records: Records = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Handle ") {
            let kind = rest.split("DMI type ").nth(1).and_then(|t| t.split(',').next()).unwrap();
            records.push((kind.parse().unwrap(), BTreeMap::new()));
        } else if let Some(field) = line.strip_prefix('\t').filter(|l| !l.starts_with('\t'))
            && let Some((key, value)) = field.split_once(": ")
            && let Some((_, map)) = records.last_mut()
        {
            map.insert(key.to_string(), value.to_string());
        }
    }
    records
}

fn first(records: &Records, kind: u8) -> BTreeMap<String, String> {
    records.iter().find(|(k, _)| *k == kind).map(|(_, m)| m.clone()).unwrap_or_default()
}

/// Our text for a dmidecode value: "Not Specified" is a string the table does not hold.
fn ours(dmidecode: Option<&String>) -> String {
    match dmidecode.map(String::as_str) {
        None | Some("Not Specified") => String::new(),
        Some(v) => v.to_string(),
    }
}

/// Equal, where dmidecode's "Not Specified" is either no string or firmware that wrote those
/// words (QEMU does).
fn same(ours_value: &str, dmidecode: Option<&String>) -> bool {
    ours_value == ours(dmidecode) || Some(ours_value) == dmidecode.map(String::as_str)
}

fn bytes(size: &str) -> u64 {
    let (n, unit) = size.split_once(' ').unwrap_or((size, ""));
    let Ok(n) = n.parse::<u64>() else { return 0 };
    n << match unit {
        "kB" => 10,
        "MB" => 20,
        "GB" => 30,
        "TB" => 40,
        _ => 0,
    }
}

fn speed(text: Option<&String>) -> u64 {
    text.and_then(|t| t.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn assert_firmware_matches_dmidecode(inv: &Value, dump: &str) {
    let records = dmidecode(dump);
    let dmi = &inv["hardware"]["dmi"];
    assert_eq!(dmi["source"], "smbios", "{dump}");
    let s = |k: &str| dmi[k].as_str().unwrap().to_string();
    let (bios, system, board, chassis) =
        (first(&records, 0), first(&records, 1), first(&records, 2), first(&records, 3));
    for (ours_key, map, key) in [
        ("bios_vendor", &bios, "Vendor"),
        ("bios_version", &bios, "Version"),
        ("bios_date", &bios, "Release Date"),
        ("sys_vendor", &system, "Manufacturer"),
        ("product_name", &system, "Product Name"),
        ("product_version", &system, "Version"),
        ("product_serial", &system, "Serial Number"),
        ("product_sku", &system, "SKU Number"),
        ("product_family", &system, "Family"),
        ("board_vendor", &board, "Manufacturer"),
        ("board_name", &board, "Product Name"),
        ("board_serial", &board, "Serial Number"),
        ("board_asset_tag", &board, "Asset Tag"),
        ("chassis_vendor", &chassis, "Manufacturer"),
        ("chassis_type", &chassis, "Type"),
        ("chassis_serial", &chassis, "Serial Number"),
        ("chassis_asset_tag", &chassis, "Asset Tag"),
    ] {
        assert!(
            same(&s(ours_key), map.get(key)),
            "{dump}: {ours_key} {:?} vs dmidecode {key} {:?}",
            s(ours_key),
            map.get(key)
        );
    }
    let uuid = match s("product_uuid").as_str() {
        "00000000-0000-0000-0000-000000000000" => "Not Settable".to_string(),
        "ffffffff-ffff-ffff-ffff-ffffffffffff" => "Not Present".to_string(),
        other => other.to_string(),
    };
    assert_eq!(uuid, system["UUID"], "{dump}: uuid");

    let procs: Vec<&BTreeMap<String, String>> = records.iter().filter(|(k, _)| *k == 4).map(|(_, m)| m).collect();
    let ours_procs = inv["hardware"]["processors"].as_array().unwrap();
    assert_eq!(ours_procs.len(), procs.len(), "{dump}: processors");
    for (p, d) in ours_procs.iter().zip(procs) {
        assert!(same(p["socket"].as_str().unwrap(), d.get("Socket Designation")));
        assert!(same(p["version"].as_str().unwrap(), d.get("Version")));
        assert_eq!(p["cores"].as_u64().unwrap(), speed(d.get("Core Count")), "{dump}: cores");
        assert_eq!(p["threads"].as_u64().unwrap(), speed(d.get("Thread Count")), "{dump}: threads");
        assert_eq!(p["max_speed_mhz"].as_u64().unwrap(), speed(d.get("Max Speed")), "{dump}: max speed");
    }

    let slots: Vec<&BTreeMap<String, String>> = records.iter().filter(|(k, _)| *k == 17).map(|(_, m)| m).collect();
    let ours_slots = inv["hardware"]["memory_devices"].as_array().unwrap();
    assert_eq!(ours_slots.len(), slots.len(), "{dump}: memory slots");
    for (m, d) in ours_slots.iter().zip(slots) {
        let locator = ours(d.get("Locator"));
        assert_eq!(m["locator"].as_str().unwrap(), locator);
        assert!(same(m["bank"].as_str().unwrap(), d.get("Bank Locator")), "{locator}");
        assert_eq!(m["size_bytes"].as_u64().unwrap(), bytes(&d["Size"]), "{locator}: size");
        assert_eq!(m["kind"].as_str().unwrap(), d["Type"], "{locator}: type");
        assert_eq!(m["form_factor"].as_str().unwrap(), d["Form Factor"], "{locator}: form factor");
        if d["Size"] != "No Module Installed" {
            let configured = d.get("Configured Memory Speed").filter(|s| s.as_str() != "Unknown");
            assert_eq!(m["speed_mts"].as_u64().unwrap(), speed(configured.or(d.get("Speed"))), "{locator}: speed");
            assert!(same(m["manufacturer"].as_str().unwrap(), d.get("Manufacturer")), "{locator}");
            assert!(same(m["serial"].as_str().unwrap(), d.get("Serial Number")), "{locator}");
            assert!(same(m["part_number"].as_str().unwrap(), d.get("Part Number")), "{locator}");
        }
    }
}

fn id(inv: &Value, name: &str) -> (String, bool, bool) {
    let i = &inv["identifiers"][name];
    (i["value"].as_str().unwrap().to_string(), i["generic"].as_bool().unwrap(), i["inherited"].as_bool().unwrap())
}

/// (interface, mac, locally administered, generic) of each MAC identifier.
fn macs(inv: &Value) -> Vec<(String, String, bool, bool)> {
    inv["identifiers"]["macs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["interface"].as_str().unwrap().to_string(),
                m["mac"].as_str().unwrap().to_string(),
                m["locally_administered"].as_bool().unwrap(),
                m["generic"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn os(inv: &Value, key: &str) -> String {
    inv["os"][key].as_str().unwrap().to_string()
}

#[test]
fn laptop() {
    let inv = inventory("laptop");
    assert_firmware_matches_dmidecode(&inv, "laptop");
    assert_eq!(id(&inv, "system_serial"), ("PF1XK2QZ".into(), false, false));
    assert_eq!(id(&inv, "smbios_uuid"), ("215f3a8d-47c6-b211-a85c-e3d4b90f2a17".into(), false, false));
    assert_eq!(id(&inv, "machine_id"), ("8e1f0c5a3b7d4e29a6c2f1d0b9e8a7c6".into(), false, false));
    assert_eq!(inv["hardware"]["dmi"]["chassis_type"], "Notebook");
    assert_eq!((os(&inv, "virtualization"), os(&inv, "container"), os(&inv, "cloud")), Default::default());
    assert_eq!(os(&inv, "fqdn"), "pc-0231.corp.example.com");
    // The wired and Wi-Fi NICs; docker0 and its veth are software links and identify nothing.
    assert_eq!(
        macs(&inv),
        vec![
            ("enp0s31f6".into(), "8c:16:45:3a:7e:21".into(), false, false),
            ("wlp0s20f3".into(), "a4:c3:f0:5d:19:8b".into(), false, false),
        ]
    );
    assert_eq!(inv["hardware"]["tpm_version"], "2.0");
}

#[test]
fn server() {
    let inv = inventory("server");
    assert_firmware_matches_dmidecode(&inv, "server");
    assert_eq!(id(&inv, "system_serial"), ("7XK2QF2".into(), false, false));
    assert_eq!(id(&inv, "chassis_serial"), ("7XK2QF2".into(), false, false));
    assert!(inv["hardware"]["memory_devices"].as_array().unwrap().len() >= 12, "many DIMM slots");
    assert_eq!(inv["hardware"]["dmi"]["chassis_type"], "Rack Mount Chassis");
    assert_eq!(os(&inv, "virtualization"), "");
    assert_eq!(os(&inv, "fqdn"), "db-07.dc1.example.net");
    // Bonded: both slaves carry the bond's current MAC; their burned-in ones still differ.
    let links = inv["network"]["interfaces"].as_array().unwrap();
    let current = |name: &str| links.iter().find(|i| i["name"] == name).unwrap()["mac"].clone();
    assert_eq!(current("eno1"), current("eno2"));
    assert_eq!(
        macs(&inv),
        vec![
            ("eno1".into(), "3c:fd:fe:a1:b2:c0".into(), false, false),
            ("eno2".into(), "3c:fd:fe:a1:b2:c1".into(), false, false),
        ]
    );
}

#[test]
fn vm() {
    let inv = inventory("vm");
    assert_firmware_matches_dmidecode(&inv, "vm");
    // QEMU fills no serial and a zero chassis serial: nothing here identifies the machine.
    assert_eq!(id(&inv, "system_serial"), (String::new(), false, false));
    assert_eq!(id(&inv, "chassis_serial"), ("0000000000".into(), true, false));
    let (_, uuid_generic, _) = id(&inv, "smbios_uuid");
    assert!(uuid_generic, "an unset UUID is generic");
    assert_eq!(os(&inv, "virtualization"), "kvm", "QEMU DMI with kvm-clock");
    assert_eq!(os(&inv, "container"), "");
    assert_eq!(os(&inv, "fqdn"), "ci-runner-3.example.org", "a dotted hostname is its own fqdn");
}

#[test]
fn container() {
    let inv = inventory("container");
    let dmi = &inv["hardware"]["dmi"];
    assert_eq!(dmi["source"], "sysfs", "no raw table inside the container");
    assert_eq!(dmi["chassis_type"], "Rack Mount Chassis", "code 23 named as dmidecode names it");
    assert_eq!(os(&inv, "container"), "docker");
    // The host's identity shows through /sys: flagged, so the collector does not merge every
    // container on that host into one machine.
    assert_eq!(id(&inv, "smbios_uuid"), ("4c4c4544-0058-4b10-8032-b7c04f513532".into(), false, true));
    assert_eq!(id(&inv, "system_serial"), ("7XK2QF2".into(), false, true));
    assert_eq!(id(&inv, "machine_id"), (String::new(), false, false), "the image has no machine-id");
    assert_eq!(os(&inv, "fqdn"), "");
    assert!(inv["hardware"]["memory_devices"].as_array().unwrap().is_empty());
    assert_eq!(macs(&inv), vec![], "a container's veth end is not a machine identifier");
}

/// Without root, the kernel's mode-0400 DMI files (serials, UUID, asset tags) and the raw table
/// cannot be read: the report lists them in `root_only` with one warning and keeps the rest.
/// Runs the agent as `nobody` over a copy of the fixture files made root-only like the kernel
/// makes them; skips with a reason when not root or setpriv is missing.
#[test]
fn without_root_the_protected_dmi_fields_are_listed_not_guessed() {
    if !Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n")) {
        eprintln!("skipped: needs root to make files only root can read");
        return;
    }
    let Ok(setpriv) = which("setpriv") else {
        eprintln!("skipped: setpriv is not installed");
        return;
    };
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let src = testdata("roots/container/sys/class/dmi/id");
    let dst = dir.path().join("sys/class/dmi/id");
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let to = dst.join(&name);
        std::fs::copy(entry.path(), &to).unwrap();
        let secret = name.ends_with("_serial") || name.ends_with("_uuid") || name.ends_with("asset_tag");
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(if secret { 0o400 } else { 0o444 })).unwrap();
    }
    let tables = dir.path().join("sys/firmware/dmi/tables");
    std::fs::create_dir_all(&tables).unwrap();
    for name in ["DMI", "smbios_entry_point"] {
        std::fs::copy(testdata(&format!("roots/server/sys/firmware/dmi/tables/{name}")), tables.join(name)).unwrap();
        std::fs::set_permissions(tables.join(name), std::fs::Permissions::from_mode(0o400)).unwrap();
    }
    for d in [
        "sys",
        "sys/class",
        "sys/class/dmi",
        "sys/class/dmi/id",
        "sys/firmware",
        "sys/firmware/dmi",
        "sys/firmware/dmi/tables",
    ] {
        std::fs::set_permissions(dir.path().join(d), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = Command::new(setpriv)
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_census-agent"))
        .args(["inventory", "--format", "json", "--root"])
        .arg(dir.path())
        .env("HOME", dir.path())
        .output()
        .expect("run census-agent as nobody");
    assert!(out.status.success(), "census-agent as nobody failed: {}", String::from_utf8_lossy(&out.stderr));
    let inv: Value = serde_json::from_slice(&out.stdout).expect("inventory is JSON");
    let dmi = &inv["hardware"]["dmi"];
    assert_eq!(dmi["source"], "sysfs");
    assert_eq!(dmi["sys_vendor"], "Dell Inc.", "world-readable fields are still reported");
    assert_eq!(dmi["product_serial"], "");
    let root_only: Vec<&str> = dmi["root_only"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(
        root_only,
        [
            "smbios_table",
            "product_serial",
            "product_uuid",
            "board_serial",
            "board_asset_tag",
            "chassis_serial",
            "chassis_asset_tag"
        ]
    );
    let firmware_warnings: Vec<&Value> =
        inv["warnings"].as_array().unwrap().iter().filter(|w| w["source"] == "firmware").collect();
    assert_eq!(firmware_warnings.len(), 1, "one warning naming them all: {firmware_warnings:?}");
    assert_eq!(inv["identifiers"]["system_serial"]["value"], "");
}

fn which(tool: &str) -> Result<PathBuf, ()> {
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin"].iter().map(|d| Path::new(d).join(tool)).find(|p| p.exists()).ok_or(())
}
