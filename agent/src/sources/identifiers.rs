//! The host identifiers block: the values a collector may use to tell one machine from another,
//! each judged for trust. Runs last: it reads what the firmware, os, platform and network
//! sources filled in, and reads no files itself.
//!
//! Rules:
//! - SMBIOS UUID and the system, chassis and board serials are `generic` when they are firmware
//!   placeholders ([`smbios::is_generic`], [`smbios::is_generic_uuid`]).
//! - Inside a container those four come from the host kernel's `/sys`: they are `inherited`,
//!   naming the host and not the container. The machine-id belongs to the container's own
//!   filesystem and is not inherited.
//! - machine-id is `generic` when it is not 32 hex digits or is all zeros (an image built
//!   without one, or systemd's "uninitialized").
//! - MACs: the permanent (burned-in) address of each physical or wireless interface, else its
//!   current one. `locally_administered` when the U/L bit (0x02 of the first octet) is set;
//!   `generic` when all zeros or a multicast address.

use census_discovery::table::parse_mac;
use census_inventory::{Identifier, Inventory, MacIdentifier};

use super::{Source, Warnings};
use crate::host::Host;
use crate::smbios;

pub struct Identifiers;

impl Source for Identifiers {
    fn name(&self) -> &'static str {
        "identifiers"
    }

    fn collect(&self, _host: &Host, inv: &mut Inventory, _w: &mut Warnings<'_>) {
        let inherited = !inv.os.container.is_empty();
        let dmi = &inv.hardware.dmi;
        let firmware = |value: &str, generic: fn(&str) -> bool| Identifier {
            value: value.to_string(),
            generic: !value.is_empty() && generic(value),
            inherited: inherited && !value.is_empty(),
        };
        let ids = &mut inv.identifiers;
        ids.smbios_uuid = firmware(&dmi.product_uuid.to_ascii_lowercase(), smbios::is_generic_uuid);
        ids.system_serial = firmware(&dmi.product_serial, smbios::is_generic);
        ids.chassis_serial = firmware(&dmi.chassis_serial, smbios::is_generic);
        ids.board_serial = firmware(&dmi.board_serial, smbios::is_generic);
        let machine_id = &inv.os.machine_id;
        ids.machine_id = Identifier {
            value: machine_id.clone(),
            generic: !machine_id.is_empty() && is_generic_machine_id(machine_id),
            inherited: false,
        };
        ids.macs = inv
            .network
            .interfaces
            .iter()
            .filter(|i| matches!(i.kind.as_str(), "physical" | "wireless"))
            .filter_map(|i| {
                let mac = if i.permanent_mac.is_empty() { &i.mac } else { &i.permanent_mac };
                let octets = parse_mac(mac)?;
                Some(MacIdentifier {
                    interface: i.name.clone(),
                    mac: mac.clone(),
                    locally_administered: octets[0] & 0x02 != 0,
                    generic: octets == [0; 6] || octets[0] & 0x01 != 0,
                })
            })
            .collect();
    }
}

/// True unless `id` is 32 hex digits, not all zeros.
pub fn is_generic_machine_id(id: &str) -> bool {
    id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) || id.bytes().all(|b| b == b'0')
}

#[cfg(test)]
mod tests {
    use super::*;
    use census_inventory::Interface;

    fn iface(name: &str, kind: &str, mac: &str, permanent: &str) -> Interface {
        Interface {
            name: name.into(),
            kind: kind.into(),
            mac: mac.into(),
            permanent_mac: permanent.into(),
            ..Interface::default()
        }
    }

    fn run(inv: &mut Inventory) {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::open(dir.path()).unwrap();
        let mut warnings = Vec::new();
        Identifiers.collect(&host, inv, &mut Warnings { source: "identifiers", out: &mut warnings });
        assert_eq!(warnings, vec![]);
    }

    #[test]
    fn placeholders_are_generic_and_real_values_are_not() {
        let mut inv = Inventory::default();
        inv.hardware.dmi.product_uuid = "03000200-0400-0500-0006-000700080009".into();
        inv.hardware.dmi.product_serial = "To Be Filled By O.E.M.".into();
        inv.hardware.dmi.chassis_serial = "Default string".into();
        inv.hardware.dmi.board_serial = "L1HF9AB01YK".into();
        inv.os.machine_id = "4c4c4544004d3510804bb4c04f564e32".into();
        run(&mut inv);
        let ids = &inv.identifiers;
        assert!(!ids.smbios_uuid.generic, "a real (if ugly) UUID");
        assert!(ids.system_serial.generic);
        assert!(ids.chassis_serial.generic);
        assert!(!ids.board_serial.generic);
        assert!(!ids.machine_id.generic);
        assert!(!ids.board_serial.inherited);

        inv.hardware.dmi.product_uuid = "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF".into();
        inv.os.machine_id = "uninitialized".into();
        run(&mut inv);
        assert!(inv.identifiers.smbios_uuid.generic);
        assert_eq!(inv.identifiers.smbios_uuid.value, "ffffffff-ffff-ffff-ffff-ffffffffffff");
        assert!(inv.identifiers.machine_id.generic);
    }

    #[test]
    fn container_values_from_the_host_are_inherited() {
        let mut inv = Inventory::default();
        inv.os.container = "docker".into();
        inv.hardware.dmi.product_uuid = "215f3a8d-47c6-b211-a85c-e3d4b90f2a17".into();
        inv.os.machine_id = "4c4c4544004d3510804bb4c04f564e32".into();
        run(&mut inv);
        assert!(inv.identifiers.smbios_uuid.inherited);
        assert!(!inv.identifiers.system_serial.inherited, "empty values are not flagged");
        assert!(!inv.identifiers.machine_id.inherited);
    }

    #[test]
    fn macs_of_physical_links_prefer_the_permanent_address() {
        let mut inv = Inventory::default();
        inv.network.interfaces = vec![
            iface("lo", "loopback", "00:00:00:00:00:00", ""),
            iface("eno1", "physical", "02:11:22:33:44:55", "3c:ec:ef:12:34:56"),
            iface("wlp0s20f3", "wireless", "de:ad:be:ef:00:01", ""),
            iface("docker0", "bridge", "02:42:ac:11:00:01", ""),
            iface("eth9", "physical", "00:00:00:00:00:00", ""),
            iface("eth10", "physical", "garbage", ""),
        ];
        run(&mut inv);
        let macs: Vec<_> = inv
            .identifiers
            .macs
            .iter()
            .map(|m| (m.interface.as_str(), m.mac.as_str(), m.locally_administered, m.generic))
            .collect();
        assert_eq!(
            macs,
            vec![
                ("eno1", "3c:ec:ef:12:34:56", false, false),
                ("wlp0s20f3", "de:ad:be:ef:00:01", true, false),
                ("eth9", "00:00:00:00:00:00", false, true),
            ]
        );
    }

    #[test]
    fn mac_parsing() {
        assert_eq!(parse_mac("3c:ec:ef:12:34:56"), Some([0x3c, 0xec, 0xef, 0x12, 0x34, 0x56]));
        assert_eq!(parse_mac("3c:ec:ef:12:34"), None);
        assert_eq!(parse_mac("3c:ec:ef:12:34:56:78"), None);
        assert_eq!(parse_mac("3c:ec:ef:12:34:5g"), None);
        assert_eq!(parse_mac(""), None);
    }
}
