//! Explicit conversions between `census_inventory` domain types and census.v1 messages.
//!
//! Each pair is declared once with [`mirror!`], naming every field: a struct literal must be
//! complete, so a field added to one side and not named here is a compile error, and the
//! round-trip test below catches a field named but mistyped.

use census_inventory as inv;

use crate::v1;

/// Both `From` impls for a domain type and its message. Fields are listed by how they cross:
/// plain values are cloned, `msg` fields are optional submessages (absent reads as default),
/// `list` fields are repeated submessages, `opt` fields are submessages sent only when not
/// default (so an inventory without them encodes, and hashes, as it did before they existed).
macro_rules! mirror {
    ($inv:ty => $wire:ty { $($f:ident),* $(,)? } $(msg { $($m:ident),* $(,)? })? $(list { $($l:ident),* $(,)? })?
        $(opt { $($o:ident),* $(,)? })?) => {
        impl From<&$inv> for $wire {
            fn from(x: &$inv) -> Self {
                Self {
                    $($f: x.$f.clone(),)*
                    $($($m: Some((&x.$m).into()),)*)?
                    $($($l: x.$l.iter().map(Into::into).collect(),)*)?
                    $($($o: (x.$o != Default::default()).then(|| (&x.$o).into()),)*)?
                }
            }
        }
        impl From<$wire> for $inv {
            fn from(x: $wire) -> Self {
                Self {
                    $($f: x.$f,)*
                    $($($m: x.$m.map(Into::into).unwrap_or_default(),)*)?
                    $($($l: x.$l.into_iter().map(Into::into).collect(),)*)?
                    $($($o: x.$o.map(Into::into).unwrap_or_default(),)*)?
                }
            }
        }
    };
}

mirror!(inv::Inventory => v1::Inventory {} msg { os, hardware, network, identifiers } list { software, warnings, neighbors, security_products }
    opt { declared });
mirror!(inv::SecurityProduct => v1::SecurityProduct {
    id, name, vendor, category, version, installed, running, service, evidence,
});
mirror!(inv::Declared => v1::Declared { owner, team, cost_centre, environment } list { tags });
mirror!(inv::Tag => v1::Tag { key, value });
mirror!(inv::Neighbor => v1::Neighbor {
    mac, vendor, interface, vlans, ipv4, ipv6, names, protocols, first_seen, last_seen, kind_hint,
} list { attributes });
mirror!(inv::NeighborAttribute => v1::NeighborAttribute { key, value });
mirror!(inv::Warning => v1::Warning { source, message });
mirror!(inv::OperatingSystem => v1::OperatingSystem {
    name, version, id, pretty_name, kernel, arch, hostname, machine_id, boot_time, timezone, fqdn,
    virtualization, container, cloud,
});
mirror!(inv::Hardware => v1::Hardware { memory_total_bytes, tpm_version } msg { cpu, dmi }
    list { disks, memory_devices, processors, pci_devices, usb_devices, gpus, batteries });
mirror!(inv::Cpu => v1::Cpu { model, vendor, logical, cores, sockets, flags });
mirror!(inv::Disk => v1::Disk { name, model, size_bytes, rotational, removable, serial, transport });
mirror!(inv::Dmi => v1::Dmi {
    sys_vendor, product_name, product_version, product_serial, product_uuid, board_vendor, board_name,
    bios_vendor, bios_version, bios_date, chassis_type, product_sku, product_family, board_serial,
    board_asset_tag, chassis_vendor, chassis_serial, chassis_asset_tag, source, root_only,
});
mirror!(inv::MemoryDevice => v1::MemoryDevice {
    locator, bank, size_bytes, kind, form_factor, speed_mts, manufacturer, serial, part_number,
});
mirror!(inv::Processor => v1::Processor { socket, manufacturer, version, cores, threads, max_speed_mhz });
mirror!(inv::PciDevice => v1::PciDevice { address, class, vendor_id, device_id, vendor_name, device_name, driver });
mirror!(inv::UsbDevice => v1::UsbDevice { bus_path, vendor_id, product_id, vendor_name, product_name, serial });
mirror!(inv::Battery => v1::Battery {
    name, manufacturer, model, serial, technology, status, capacity_percent, health_percent, cycle_count,
});
mirror!(inv::Network => v1::Network { dns_servers, dns_search } list { interfaces, default_routes, listening });
mirror!(inv::Route => v1::Route { family, gateway, interface, metric });
mirror!(inv::ListeningSocket => v1::ListeningSocket { protocol, address, port, process, pid });
mirror!(inv::Interface => v1::NetworkInterface {
    name, mac, mtu, state, kind, permanent_mac, speed_mbps, duplex, driver,
} list { addresses });
mirror!(inv::IpAddress => v1::IpAddress { address, prefix_len, scope });
mirror!(inv::Package => v1::SoftwarePackage {
    name, version, arch, source, source_package, maintainer, installed_size_bytes, selection, vendor,
    install_time, purl, location,
});
mirror!(inv::Identifier => v1::Identifier { value, generic, inherited });
mirror!(inv::MacIdentifier => v1::MacIdentifier { interface, mac, locally_administered, generic });
mirror!(inv::HostIdentifiers => v1::HostIdentifiers {}
    msg { smbios_uuid, system_serial, chassis_serial, board_serial, machine_id } list { macs });

/// The state hash of an inventory: SHA-256 of the protobuf encoding of its canonical form
/// ([`inv::delta::canonical`]). prost encodes fields in number order and has no maps here, so
/// the encoding, and the hash, depend only on the inventory; the domain ⇄ wire round trip is
/// lossless, so the collector gets the agent's hash from its stored copy.
pub fn state_hash(inventory: &inv::Inventory) -> [u8; 32] {
    hash_encoding(&canonical_encoding(inventory))
}

/// The protobuf encoding of an inventory's canonical form: what [`state_hash`] hashes, and what
/// the collector stores (compressed), so one encoding gives both.
pub fn canonical_encoding(inventory: &inv::Inventory) -> Vec<u8> {
    use prost::Message;
    if inv::delta::is_canonical(inventory) {
        v1::Inventory::from(inventory).encode_to_vec()
    } else {
        v1::Inventory::from(&inv::delta::canonical(inventory)).encode_to_vec()
    }
}

/// A report body carrying `inventory` as agents send it: protobuf-encoded, one zstd frame
/// (`Report.full_zstd`). Compressing in memory fails only if zstd cannot allocate its
/// context; the inventory then goes uncompressed (`Report.full`).
pub fn full_zstd(inventory: &inv::Inventory) -> v1::report::Body {
    use prost::Message;
    let wire = v1::Inventory::from(inventory);
    match zstd::bulk::compress(&wire.encode_to_vec(), zstd::DEFAULT_COMPRESSION_LEVEL) {
        Ok(compressed) => v1::report::Body::FullZstd(compressed),
        Err(_) => v1::report::Body::Full(wire),
    }
}

/// The inventory in a `Report.full_zstd`, decompressed to at most `limit` bytes; the error says
/// what is wrong with the bytes.
pub fn inventory_from_zstd(bytes: &[u8], limit: usize) -> Result<v1::Inventory, String> {
    use prost::Message;
    use std::io::Read;
    let mut decoder = zstd::stream::read::Decoder::new(bytes).map_err(|e| format!("cannot start zstd: {e}"))?;
    let mut encoded = Vec::new();
    (&mut decoder)
        .take((limit as u64).saturating_add(1))
        .read_to_end(&mut encoded)
        .map_err(|e| format!("full_zstd is not a zstd frame: {e}"))?;
    if encoded.len() > limit {
        return Err(format!("full_zstd decompresses to more than {limit} bytes"));
    }
    v1::Inventory::decode(encoded.as_slice()).map_err(|e| format!("full_zstd does not hold an inventory: {e}"))
}

/// The state hash of a [`canonical_encoding`].
pub fn hash_encoding(encoding: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, encoding);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn to_wire<'a, T: 'a, W: From<&'a T>>(items: &'a [T]) -> Vec<W> {
    items.iter().map(Into::into).collect()
}

fn from_wire<T, W: Into<T>>(items: Vec<W>) -> Vec<T> {
    items.into_iter().map(Into::into).collect()
}

impl From<&inv::delta::InventoryDelta> for v1::InventoryDelta {
    fn from(d: &inv::delta::InventoryDelta) -> Self {
        Self {
            base_sha256: d.base_sha256.clone(),
            result_sha256: d.result_sha256.clone(),
            os: d.os.as_ref().map(Into::into),
            identifiers: d.identifiers.as_ref().map(Into::into),
            hardware: d.hardware.as_ref().map(Into::into),
            network: d.network.as_ref().map(Into::into),
            warnings: d.warnings.as_ref().map(|w| v1::Warnings { items: to_wire(w) }),
            declared: d.declared.as_ref().map(Into::into),
            software_upserts: to_wire(&d.software.upserts),
            software_removed: to_wire(&d.software.removed),
            neighbor_upserts: to_wire(&d.neighbors.upserts),
            neighbor_removed: to_wire(&d.neighbors.removed),
            interface_upserts: to_wire(&d.interfaces.upserts),
            interface_removed: to_wire(&d.interfaces.removed),
            listening_upserts: to_wire(&d.listening.upserts),
            listening_removed: to_wire(&d.listening.removed),
            disk_upserts: to_wire(&d.disks.upserts),
            disk_removed: to_wire(&d.disks.removed),
            memory_device_upserts: to_wire(&d.memory_devices.upserts),
            memory_device_removed: to_wire(&d.memory_devices.removed),
            processor_upserts: to_wire(&d.processors.upserts),
            processor_removed: to_wire(&d.processors.removed),
            pci_device_upserts: to_wire(&d.pci_devices.upserts),
            pci_device_removed: to_wire(&d.pci_devices.removed),
            usb_device_upserts: to_wire(&d.usb_devices.upserts),
            usb_device_removed: to_wire(&d.usb_devices.removed),
            gpu_upserts: to_wire(&d.gpus.upserts),
            gpu_removed: to_wire(&d.gpus.removed),
            battery_upserts: to_wire(&d.batteries.upserts),
            battery_removed: to_wire(&d.batteries.removed),
            security_product_upserts: to_wire(&d.security_products.upserts),
            security_product_removed: to_wire(&d.security_products.removed),
        }
    }
}

impl From<v1::InventoryDelta> for inv::delta::InventoryDelta {
    fn from(d: v1::InventoryDelta) -> Self {
        use inv::delta::Changes;
        Self {
            base_sha256: d.base_sha256,
            result_sha256: d.result_sha256,
            os: d.os.map(Into::into),
            identifiers: d.identifiers.map(Into::into),
            hardware: d.hardware.map(Into::into),
            network: d.network.map(Into::into),
            warnings: d.warnings.map(|w| from_wire(w.items)),
            declared: d.declared.map(Into::into),
            software: Changes { upserts: from_wire(d.software_upserts), removed: from_wire(d.software_removed) },
            neighbors: Changes { upserts: from_wire(d.neighbor_upserts), removed: from_wire(d.neighbor_removed) },
            interfaces: Changes { upserts: from_wire(d.interface_upserts), removed: from_wire(d.interface_removed) },
            listening: Changes { upserts: from_wire(d.listening_upserts), removed: from_wire(d.listening_removed) },
            disks: Changes { upserts: from_wire(d.disk_upserts), removed: from_wire(d.disk_removed) },
            memory_devices: Changes {
                upserts: from_wire(d.memory_device_upserts),
                removed: from_wire(d.memory_device_removed),
            },
            processors: Changes { upserts: from_wire(d.processor_upserts), removed: from_wire(d.processor_removed) },
            pci_devices: Changes { upserts: from_wire(d.pci_device_upserts), removed: from_wire(d.pci_device_removed) },
            usb_devices: Changes { upserts: from_wire(d.usb_device_upserts), removed: from_wire(d.usb_device_removed) },
            gpus: Changes { upserts: from_wire(d.gpu_upserts), removed: from_wire(d.gpu_removed) },
            batteries: Changes { upserts: from_wire(d.battery_upserts), removed: from_wire(d.battery_removed) },
            security_products: Changes {
                upserts: from_wire(d.security_product_upserts),
                removed: from_wire(d.security_product_removed),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field set to a distinct non-default value, so a dropped field shows up.
    fn full() -> inv::Inventory {
        inv::Inventory {
            os: inv::OperatingSystem {
                name: "Debian GNU/Linux".into(),
                version: "12".into(),
                id: "debian".into(),
                pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
                kernel: "6.1.0-18-amd64".into(),
                arch: "x86_64".into(),
                hostname: "web-1".into(),
                machine_id: "0123abcd".into(),
                boot_time: 1_700_000_000,
                timezone: "Europe/Berlin".into(),
                fqdn: "web-1.example.org".into(),
                virtualization: "kvm".into(),
                container: "docker".into(),
                cloud: "aws".into(),
            },
            hardware: inv::Hardware {
                cpu: inv::Cpu {
                    model: "Xeon".into(),
                    vendor: "GenuineIntel".into(),
                    logical: 8,
                    cores: 4,
                    sockets: 1,
                    flags: vec!["aes".into()],
                },
                memory_total_bytes: 17_179_869_184,
                disks: vec![inv::Disk {
                    name: "sda".into(),
                    model: "SSD".into(),
                    size_bytes: 512,
                    rotational: true,
                    removable: true,
                    serial: "S1".into(),
                    transport: "sata".into(),
                }],
                dmi: inv::Dmi {
                    sys_vendor: "a".into(),
                    product_name: "b".into(),
                    product_version: "c".into(),
                    product_serial: "d".into(),
                    product_uuid: "e".into(),
                    board_vendor: "f".into(),
                    board_name: "g".into(),
                    bios_vendor: "h".into(),
                    bios_version: "i".into(),
                    bios_date: "j".into(),
                    chassis_type: "k".into(),
                    product_sku: "l".into(),
                    product_family: "m".into(),
                    board_serial: "n".into(),
                    board_asset_tag: "o".into(),
                    chassis_vendor: "p".into(),
                    chassis_serial: "q".into(),
                    chassis_asset_tag: "r".into(),
                    source: "smbios".into(),
                    root_only: vec!["product_serial".into()],
                },
                memory_devices: vec![inv::MemoryDevice {
                    locator: "DIMM_A1".into(),
                    bank: "BANK 0".into(),
                    size_bytes: 1 << 34,
                    kind: "DDR4".into(),
                    form_factor: "DIMM".into(),
                    speed_mts: 3200,
                    manufacturer: "Samsung".into(),
                    serial: "1234".into(),
                    part_number: "M393".into(),
                }],
                processors: vec![inv::Processor {
                    socket: "CPU0".into(),
                    manufacturer: "Intel".into(),
                    version: "Xeon".into(),
                    cores: 20,
                    threads: 40,
                    max_speed_mhz: 4000,
                }],
                pci_devices: vec![pci()],
                usb_devices: vec![inv::UsbDevice {
                    bus_path: "1-2".into(),
                    vendor_id: "046d".into(),
                    product_id: "c52b".into(),
                    vendor_name: "Logitech, Inc.".into(),
                    product_name: "Unifying Receiver".into(),
                    serial: "X".into(),
                }],
                gpus: vec![pci()],
                batteries: vec![inv::Battery {
                    name: "BAT0".into(),
                    manufacturer: "SMP".into(),
                    model: "5B10W13930".into(),
                    serial: "123".into(),
                    technology: "Li-poly".into(),
                    status: "Discharging".into(),
                    capacity_percent: 80,
                    health_percent: 91,
                    cycle_count: 120,
                }],
                tpm_version: "2.0".into(),
            },
            network: inv::Network {
                interfaces: vec![inv::Interface {
                    name: "eth0".into(),
                    mac: "52:54:00:12:34:56".into(),
                    mtu: 1500,
                    state: "up".into(),
                    addresses: vec![inv::IpAddress {
                        address: "2001:db8::1".into(),
                        prefix_len: 64,
                        scope: "global".into(),
                    }],
                    kind: "physical".into(),
                    permanent_mac: "52:54:00:12:34:57".into(),
                    speed_mbps: 1000,
                    duplex: "full".into(),
                    driver: "e1000e".into(),
                }],
                default_routes: vec![inv::Route {
                    family: "inet6".into(),
                    gateway: "fe80::1".into(),
                    interface: "eth0".into(),
                    metric: 1024,
                }],
                dns_servers: vec!["192.0.2.53".into()],
                dns_search: vec!["example.org".into()],
                listening: vec![inv::ListeningSocket {
                    protocol: "tcp".into(),
                    address: "::".into(),
                    port: 22,
                    process: "sshd".into(),
                    pid: 712,
                }],
            },
            software: vec![inv::Package {
                name: "openssl".into(),
                version: "3.0.11-1~deb12u2".into(),
                arch: "amd64".into(),
                source: "dpkg".into(),
                source_package: "openssl-src".into(),
                maintainer: "Debian OpenSSL Team".into(),
                installed_size_bytes: 2048,
                selection: "hold".into(),
                vendor: "Debian".into(),
                install_time: 1_700_000_000,
                purl: "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12".into(),
                location: "/usr/lib/python3/dist-packages".into(),
            }],
            warnings: vec![inv::Warning { source: "dpkg".into(), message: "m".into() }],
            neighbors: vec![inv::Neighbor {
                mac: "3c:2a:f4:01:02:03".into(),
                vendor: "Brother Industries, LTD.".into(),
                interface: "eth0".into(),
                vlans: vec![100],
                ipv4: vec!["192.0.2.40".into()],
                ipv6: vec!["fe80::3e2a:f4ff:fe01:203".into()],
                names: vec!["BRN3C2AF4010203".into()],
                protocols: vec!["arp".into(), "mdns".into()],
                first_seen: 1_700_000_000,
                last_seen: 1_700_000_600,
                kind_hint: "printer".into(),
                attributes: vec![inv::NeighborAttribute { key: "service".into(), value: "_ipp._tcp".into() }],
            }],
            security_products: vec![inv::SecurityProduct {
                id: "crowdstrike-falcon".into(),
                name: "CrowdStrike Falcon".into(),
                vendor: "CrowdStrike".into(),
                category: "edr".into(),
                version: "7.18.0".into(),
                installed: true,
                running: true,
                service: "enabled".into(),
                evidence: vec!["package falcon-sensor 7.18.0".into(), "process falcon-sensor".into()],
            }],
            identifiers: inv::HostIdentifiers {
                smbios_uuid: inv::Identifier { value: "u".into(), generic: true, inherited: true },
                system_serial: inv::Identifier { value: "s".into(), generic: false, inherited: true },
                chassis_serial: inv::Identifier { value: "c".into(), generic: true, inherited: false },
                board_serial: inv::Identifier { value: "b".into(), generic: false, inherited: false },
                machine_id: inv::Identifier { value: "0123abcd".into(), generic: false, inherited: false },
                macs: vec![inv::MacIdentifier {
                    interface: "eth0".into(),
                    mac: "52:54:00:12:34:57".into(),
                    locally_administered: true,
                    generic: false,
                }],
            },
            declared: inv::Declared {
                owner: "alice".into(),
                team: "web".into(),
                cost_centre: "cc-7".into(),
                environment: "production".into(),
                tags: vec![inv::Tag { key: "pci".into(), value: "yes".into() }],
            },
        }
    }

    fn pci() -> inv::PciDevice {
        inv::PciDevice {
            address: "0000:00:02.0".into(),
            class: "0x030000".into(),
            vendor_id: "8086".into(),
            device_id: "9a49".into(),
            vendor_name: "Intel Corporation".into(),
            device_name: "TigerLake-LP GT2 [Iris Xe Graphics]".into(),
            driver: "i915".into(),
        }
    }

    #[test]
    fn inventory_round_trips_through_the_wire() {
        let original = full();
        let wire = v1::Inventory::from(&original);
        assert_eq!(inv::Inventory::from(wire), original);
    }

    #[test]
    fn delta_round_trips_through_the_wire_and_applies() {
        let old = full();
        let mut new = full();
        new.software[0].version = "3.0.12".into();
        new.software.push(inv::Package { name: "curl".into(), ..new.software[0].clone() });
        new.neighbors.clear();
        new.os.kernel = "6.2".into();
        new.hardware.tpm_version = "1.2".into();
        new.network.dns_servers.clear();
        new.network.listening[0].pid = 1;
        new.warnings.clear();
        new.hardware.batteries[0].capacity_percent = 1;
        new.declared.tags.clear();
        let mut d = inv::delta::diff(&old, &new);
        d.base_sha256 = state_hash(&old).to_vec();
        d.result_sha256 = state_hash(&new).to_vec();
        let back = inv::delta::InventoryDelta::from(v1::InventoryDelta::from(&d));
        assert_eq!(back, d);
        let applied = inv::delta::apply(&old, &back).unwrap();
        assert_eq!(state_hash(&applied).to_vec(), d.result_sha256);
        // An empty warnings list is "replace with nothing", not "unchanged".
        assert_eq!(back.warnings, Some(vec![]));
        // A cleared declared section travels as present and empty.
        let mut cleared = inv::delta::diff(&old, &inv::Inventory { declared: Default::default(), ..old.clone() });
        cleared = inv::delta::InventoryDelta::from(v1::InventoryDelta::from(&cleared));
        assert_eq!(cleared.declared, Some(inv::Declared::default()));
    }

    #[test]
    fn an_inventory_without_declared_values_encodes_as_before_they_existed() {
        let mut inv = full();
        inv.declared = inv::Declared::default();
        assert_eq!(v1::Inventory::from(&inv).declared, None);
        inv.declared.owner = "bob".into();
        assert!(v1::Inventory::from(&inv).declared.is_some());
    }

    #[test]
    fn state_hash_ignores_keyed_order_but_not_content() {
        let mut a = full();
        a.software.push(inv::Package { name: "aaa".into(), ..a.software[0].clone() });
        let mut b = a.clone();
        b.software.reverse();
        assert_eq!(state_hash(&a), state_hash(&b));
        b.software[0].version = "9".into();
        assert_ne!(state_hash(&a), state_hash(&b));
        // Unkeyed lists keep their order.
        let mut c = a.clone();
        c.network.dns_servers.push("192.0.2.1".into());
        let mut d = c.clone();
        d.network.dns_servers.reverse();
        assert_ne!(state_hash(&c), state_hash(&d));
    }

    #[test]
    fn full_zstd_round_trips_and_bad_bytes_are_named() {
        let inventory = full();
        let v1::report::Body::FullZstd(bytes) = full_zstd(&inventory) else { panic!("not compressed") };
        let back = inventory_from_zstd(&bytes, 1 << 20).unwrap();
        assert_eq!(inv::Inventory::from(back), inventory);

        let err = inventory_from_zstd(b"not zstd at all", 1 << 20).unwrap_err();
        assert!(err.starts_with("full_zstd is not a zstd frame"), "{err}");
        let plain = {
            use prost::Message;
            v1::Inventory::from(&inventory).encode_to_vec()
        };
        let err = inventory_from_zstd(&bytes, plain.len() - 1).unwrap_err();
        assert_eq!(err, format!("full_zstd decompresses to more than {} bytes", plain.len() - 1));
        // A frame of bytes that are not an Inventory.
        let junk = zstd::bulk::compress(&[0xff; 64], 3).unwrap();
        let err = inventory_from_zstd(&junk, 1 << 20).unwrap_err();
        assert!(err.starts_with("full_zstd does not hold an inventory"), "{err}");
    }

    #[test]
    fn missing_submessages_become_defaults() {
        assert_eq!(inv::Inventory::from(v1::Inventory::default()), inv::Inventory::default());
    }
}
