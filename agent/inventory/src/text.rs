//! Plain-text rendering shared by `census-agent inventory` and `census host`.

use std::fmt::Write;

use crate::Inventory;

/// A left-aligned text table with a header row.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Self { header: header.into_iter().map(Into::into).collect(), rows: Vec::new() }
    }

    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(cell.chars().count());
                }
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let w = widths.get(i).copied().unwrap_or(0);
                let _ = write!(line, "{cell:<w$}  ");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Human units for a byte count (binary prefixes).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[u]) }
}

/// A whole inventory as sections of text.
pub fn inventory(inv: &Inventory) -> String {
    let mut out = String::new();
    let os = &inv.os;
    let hw = &inv.hardware;
    let _ = writeln!(out, "host        {}", if os.fqdn.is_empty() { &os.hostname } else { &os.fqdn });
    let _ = writeln!(out, "os          {} ({} {})", os.pretty_name, os.id, os.version);
    let _ = writeln!(out, "kernel      {} {}", os.kernel, os.arch);
    let _ = writeln!(out, "machine-id  {}", os.machine_id);
    let _ = writeln!(out, "timezone    {}", os.timezone);
    let platform: Vec<String> = [("vm", &os.virtualization), ("container", &os.container), ("cloud", &os.cloud)]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(
        out,
        "platform    {}",
        if platform.is_empty() { "bare metal".to_string() } else { platform.join(", ") }
    );
    let _ = writeln!(
        out,
        "cpu         {} ({} sockets, {} cores, {} threads)",
        hw.cpu.model, hw.cpu.sockets, hw.cpu.cores, hw.cpu.logical
    );
    let _ = writeln!(out, "memory      {}", bytes(hw.memory_total_bytes));
    if !hw.dmi.sys_vendor.is_empty() || !hw.dmi.product_name.is_empty() {
        let _ = writeln!(
            out,
            "system      {} {} (serial {})",
            hw.dmi.sys_vendor, hw.dmi.product_name, hw.dmi.product_serial
        );
    }
    if !hw.dmi.bios_vendor.is_empty() {
        let _ = writeln!(out, "bios        {} {} ({})", hw.dmi.bios_vendor, hw.dmi.bios_version, hw.dmi.bios_date);
    }
    let installed: Vec<_> = hw.memory_devices.iter().filter(|m| m.size_bytes > 0).collect();
    if !hw.memory_devices.is_empty() {
        let _ = writeln!(out, "dimms       {} of {} slots populated", installed.len(), hw.memory_devices.len());
    }
    for g in &hw.gpus {
        let _ = writeln!(out, "gpu         {} {} ({})", g.vendor_name, g.device_name, g.driver);
    }
    for b in &hw.batteries {
        let _ = writeln!(
            out,
            "battery     {} {} {}%, health {}%, {} cycles",
            b.name, b.status, b.capacity_percent, b.health_percent, b.cycle_count
        );
    }
    if !hw.tpm_version.is_empty() {
        let _ = writeln!(out, "tpm         {}", hw.tpm_version);
    }

    let mut ids = Table::new(["IDENTIFIER", "VALUE", "TRUST"]);
    let trust = |generic: bool, inherited: bool| match (generic, inherited) {
        (true, _) => "generic",
        (false, true) => "host's (container)",
        (false, false) => "ok",
    };
    let i = &inv.identifiers;
    for (name, id) in [
        ("smbios uuid", &i.smbios_uuid),
        ("system serial", &i.system_serial),
        ("chassis serial", &i.chassis_serial),
        ("board serial", &i.board_serial),
        ("machine-id", &i.machine_id),
    ] {
        if !id.value.is_empty() {
            ids.row([name.to_string(), id.value.clone(), trust(id.generic, id.inherited).to_string()]);
        }
    }
    for m in &i.macs {
        let t = if m.generic {
            "generic"
        } else if m.locally_administered {
            "locally administered"
        } else {
            "ok"
        };
        ids.row([format!("mac {}", m.interface), m.mac.clone(), t.to_string()]);
    }
    let _ = write!(out, "\n{}", ids.render());

    let mut disks = Table::new(["DISK", "MODEL", "SERIAL", "TRANSPORT", "SIZE", "ROTATIONAL", "REMOVABLE"]);
    for d in &hw.disks {
        disks.row([
            d.name.clone(),
            d.model.clone(),
            d.serial.clone(),
            d.transport.clone(),
            bytes(d.size_bytes),
            d.rotational.to_string(),
            d.removable.to_string(),
        ]);
    }
    let _ = write!(out, "\n{}", disks.render());

    let mut net = Table::new(["INTERFACE", "KIND", "MAC", "MTU", "SPEED", "STATE", "ADDRESSES"]);
    for i in &inv.network.interfaces {
        let addrs: Vec<String> = i.addresses.iter().map(|a| format!("{}/{}", a.address, a.prefix_len)).collect();
        let speed = if i.speed_mbps == 0 { String::new() } else { format!("{}M {}", i.speed_mbps, i.duplex) };
        net.row([
            i.name.clone(),
            i.kind.clone(),
            i.mac.clone(),
            i.mtu.to_string(),
            speed,
            i.state.clone(),
            addrs.join(" "),
        ]);
    }
    let _ = write!(out, "\n{}", net.render());
    for r in &inv.network.default_routes {
        let via = if r.gateway.is_empty() { String::new() } else { format!(" via {}", r.gateway) };
        let _ = writeln!(out, "default {}{via} dev {} metric {}", r.family, r.interface, r.metric);
    }
    if !inv.network.dns_servers.is_empty() {
        let _ =
            writeln!(out, "dns {} (search {})", inv.network.dns_servers.join(" "), inv.network.dns_search.join(" "));
    }

    if !inv.network.listening.is_empty() {
        let mut listen = Table::new(["LISTEN", "ADDRESS", "PORT", "PROCESS"]);
        for l in &inv.network.listening {
            let process = if l.pid == 0 { l.process.clone() } else { format!("{} ({})", l.process, l.pid) };
            listen.row([l.protocol.clone(), l.address.clone(), l.port.to_string(), process]);
        }
        let _ = write!(out, "\n{}", listen.render());
    }

    if !inv.security_products.is_empty() {
        let mut sec = Table::new(["SECURITY PRODUCT", "CATEGORY", "VERSION", "INSTALLED", "RUNNING", "SERVICE"]);
        for p in &inv.security_products {
            let yes_no = |b: bool| if b { "yes" } else { "no" };
            sec.row([
                p.name.clone(),
                p.category.clone(),
                p.version.clone(),
                yes_no(p.installed).into(),
                yes_no(p.running).into(),
                p.service.clone(),
            ]);
        }
        let _ = write!(out, "\n{}", sec.render());
    }

    let mut sw = Table::new(["PACKAGE", "VERSION", "ARCH", "SOURCE"]);
    for p in &inv.software {
        sw.row([p.name.clone(), p.version.clone(), p.arch.clone(), p.source.clone()]);
    }
    let _ = write!(out, "\n{} packages\n{}", inv.software.len(), sw.render());

    if !inv.warnings.is_empty() {
        let _ = writeln!(out, "\nwarnings");
        for w in &inv.warnings {
            let _ = writeln!(out, "  {}: {}", w.source, w.message);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(["A", "LONGER"]);
        t.row(["wide cell", "x"]);
        assert_eq!(t.render(), "A          LONGER\nwide cell  x\n");
    }

    #[test]
    fn byte_units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(8 * 1024 * 1024 * 1024), "8.0 GiB");
    }
}
