//! Explicit conversions between `census_inventory` domain types and census.v1 messages.
//!
//! Both directions are total and lossless for every field the wire carries; the round-trip test
//! below fails when a field is added to one side and forgotten here.

use census_inventory as inv;

use crate::v1;

impl From<&inv::Inventory> for v1::Inventory {
    fn from(i: &inv::Inventory) -> Self {
        v1::Inventory {
            os: Some((&i.os).into()),
            hardware: Some((&i.hardware).into()),
            network: Some(v1::Network {
                interfaces: i.network.interfaces.iter().map(Into::into).collect(),
                default_routes: i
                    .network
                    .default_routes
                    .iter()
                    .map(|r| v1::Route {
                        family: r.family.clone(),
                        gateway: r.gateway.clone(),
                        interface: r.interface.clone(),
                        metric: r.metric,
                    })
                    .collect(),
                dns_servers: i.network.dns_servers.clone(),
                dns_search: i.network.dns_search.clone(),
            }),
            software: i.software.iter().map(Into::into).collect(),
            warnings: i
                .warnings
                .iter()
                .map(|w| v1::Warning { source: w.source.clone(), message: w.message.clone() })
                .collect(),
        }
    }
}

impl From<v1::Inventory> for inv::Inventory {
    fn from(i: v1::Inventory) -> Self {
        inv::Inventory {
            os: i.os.map(Into::into).unwrap_or_default(),
            hardware: i.hardware.map(Into::into).unwrap_or_default(),
            network: i.network.map(Into::into).unwrap_or_default(),
            software: i.software.into_iter().map(Into::into).collect(),
            warnings: i.warnings.into_iter().map(|w| inv::Warning { source: w.source, message: w.message }).collect(),
        }
    }
}

impl From<v1::Network> for inv::Network {
    fn from(n: v1::Network) -> Self {
        inv::Network {
            interfaces: n.interfaces.into_iter().map(Into::into).collect(),
            default_routes: n
                .default_routes
                .into_iter()
                .map(|r| inv::Route { family: r.family, gateway: r.gateway, interface: r.interface, metric: r.metric })
                .collect(),
            dns_servers: n.dns_servers,
            dns_search: n.dns_search,
        }
    }
}

impl From<&inv::OperatingSystem> for v1::OperatingSystem {
    fn from(o: &inv::OperatingSystem) -> Self {
        v1::OperatingSystem {
            name: o.name.clone(),
            version: o.version.clone(),
            id: o.id.clone(),
            pretty_name: o.pretty_name.clone(),
            kernel: o.kernel.clone(),
            arch: o.arch.clone(),
            hostname: o.hostname.clone(),
            machine_id: o.machine_id.clone(),
            boot_time: o.boot_time,
            timezone: o.timezone.clone(),
        }
    }
}

impl From<v1::OperatingSystem> for inv::OperatingSystem {
    fn from(o: v1::OperatingSystem) -> Self {
        inv::OperatingSystem {
            name: o.name,
            version: o.version,
            id: o.id,
            pretty_name: o.pretty_name,
            kernel: o.kernel,
            arch: o.arch,
            hostname: o.hostname,
            machine_id: o.machine_id,
            boot_time: o.boot_time,
            timezone: o.timezone,
        }
    }
}

impl From<&inv::Hardware> for v1::Hardware {
    fn from(h: &inv::Hardware) -> Self {
        let c = &h.cpu;
        let d = &h.dmi;
        v1::Hardware {
            cpu: Some(v1::Cpu {
                model: c.model.clone(),
                vendor: c.vendor.clone(),
                logical: c.logical,
                cores: c.cores,
                sockets: c.sockets,
            }),
            memory_total_bytes: h.memory_total_bytes,
            disks: h
                .disks
                .iter()
                .map(|d| v1::Disk {
                    name: d.name.clone(),
                    model: d.model.clone(),
                    size_bytes: d.size_bytes,
                    rotational: d.rotational,
                    removable: d.removable,
                })
                .collect(),
            dmi: Some(v1::Dmi {
                sys_vendor: d.sys_vendor.clone(),
                product_name: d.product_name.clone(),
                product_version: d.product_version.clone(),
                product_serial: d.product_serial.clone(),
                product_uuid: d.product_uuid.clone(),
                board_vendor: d.board_vendor.clone(),
                board_name: d.board_name.clone(),
                bios_vendor: d.bios_vendor.clone(),
                bios_version: d.bios_version.clone(),
                bios_date: d.bios_date.clone(),
                chassis_type: d.chassis_type.clone(),
            }),
        }
    }
}

impl From<v1::Hardware> for inv::Hardware {
    fn from(h: v1::Hardware) -> Self {
        let c = h.cpu.unwrap_or_default();
        let d = h.dmi.unwrap_or_default();
        inv::Hardware {
            cpu: inv::Cpu { model: c.model, vendor: c.vendor, logical: c.logical, cores: c.cores, sockets: c.sockets },
            memory_total_bytes: h.memory_total_bytes,
            disks: h
                .disks
                .into_iter()
                .map(|d| inv::Disk {
                    name: d.name,
                    model: d.model,
                    size_bytes: d.size_bytes,
                    rotational: d.rotational,
                    removable: d.removable,
                })
                .collect(),
            dmi: inv::Dmi {
                sys_vendor: d.sys_vendor,
                product_name: d.product_name,
                product_version: d.product_version,
                product_serial: d.product_serial,
                product_uuid: d.product_uuid,
                board_vendor: d.board_vendor,
                board_name: d.board_name,
                bios_vendor: d.bios_vendor,
                bios_version: d.bios_version,
                bios_date: d.bios_date,
                chassis_type: d.chassis_type,
            },
        }
    }
}

impl From<&inv::Interface> for v1::NetworkInterface {
    fn from(i: &inv::Interface) -> Self {
        v1::NetworkInterface {
            name: i.name.clone(),
            mac: i.mac.clone(),
            mtu: i.mtu,
            state: i.state.clone(),
            addresses: i
                .addresses
                .iter()
                .map(|a| v1::IpAddress { address: a.address.clone(), prefix_len: a.prefix_len, scope: a.scope.clone() })
                .collect(),
        }
    }
}

impl From<v1::NetworkInterface> for inv::Interface {
    fn from(i: v1::NetworkInterface) -> Self {
        inv::Interface {
            name: i.name,
            mac: i.mac,
            mtu: i.mtu,
            state: i.state,
            addresses: i
                .addresses
                .into_iter()
                .map(|a| inv::IpAddress { address: a.address, prefix_len: a.prefix_len, scope: a.scope })
                .collect(),
        }
    }
}

impl From<&inv::Package> for v1::SoftwarePackage {
    fn from(p: &inv::Package) -> Self {
        v1::SoftwarePackage {
            name: p.name.clone(),
            version: p.version.clone(),
            arch: p.arch.clone(),
            source: p.source.clone(),
            source_package: p.source_package.clone(),
            maintainer: p.maintainer.clone(),
            installed_size_bytes: p.installed_size_bytes,
            selection: p.selection.clone(),
            vendor: p.vendor.clone(),
            install_time: p.install_time,
            purl: p.purl.clone(),
            location: p.location.clone(),
        }
    }
}

impl From<v1::SoftwarePackage> for inv::Package {
    fn from(p: v1::SoftwarePackage) -> Self {
        inv::Package {
            name: p.name,
            version: p.version,
            arch: p.arch,
            source: p.source,
            source_package: p.source_package,
            maintainer: p.maintainer,
            installed_size_bytes: p.installed_size_bytes,
            selection: p.selection,
            vendor: p.vendor,
            install_time: p.install_time,
            purl: p.purl,
            location: p.location,
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
            },
            hardware: inv::Hardware {
                cpu: inv::Cpu { model: "Xeon".into(), vendor: "GenuineIntel".into(), logical: 8, cores: 4, sockets: 1 },
                memory_total_bytes: 17_179_869_184,
                disks: vec![inv::Disk {
                    name: "sda".into(),
                    model: "SSD".into(),
                    size_bytes: 512,
                    rotational: true,
                    removable: true,
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
                },
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
                }],
                default_routes: vec![inv::Route {
                    family: "inet6".into(),
                    gateway: "fe80::1".into(),
                    interface: "eth0".into(),
                    metric: 1024,
                }],
                dns_servers: vec!["192.0.2.53".into()],
                dns_search: vec!["example.org".into()],
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
        }
    }

    #[test]
    fn inventory_round_trips_through_the_wire() {
        let original = full();
        let wire = v1::Inventory::from(&original);
        assert_eq!(inv::Inventory::from(wire), original);
    }

    #[test]
    fn missing_submessages_become_defaults() {
        assert_eq!(inv::Inventory::from(v1::Inventory::default()), inv::Inventory::default());
    }
}
