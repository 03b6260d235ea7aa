//! Endpoint security products (EDR, EPP, antivirus, security-relevant agents), found by the
//! evidence the catalog ([`crate::catalog`]) names for Linux: installed packages (any package
//! source, so this runs after them), install paths, systemd units and running processes.
//!
//! - **installed**: a package, a path or a unit file of the product is present. `version` is
//!   the first matching package's version.
//! - **running**: a process matches. A bare name matches a process's `comm` (which the kernel
//!   cuts to 15 bytes), the file name of its `argv[0]` or of its executable; an absolute path
//!   matches its executable (`proc/PID/exe`, readable with root or CAP_SYS_PTRACE) or `argv[0]`.
//! - **service**: `masked` when a unit is linked to /dev/null in /etc or /run, `enabled` when a
//!   unit has a link in a `*.wants` or `*.requires` directory of /etc/systemd/system, else
//!   `disabled`; empty when the product has no unit file.
//!
//! A product is reported when it is installed or running; each match is one line of
//! `evidence`. Process tables of other users that cannot be read are skipped silently, as `ps`
//! does; a `proc` that cannot be listed at all is a warning.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use census_inventory::{Inventory, SecurityProduct};

use super::{Source, Warnings};
use crate::catalog::{Catalog, Evidence, Product};
use crate::host::Host;

/// Processes read at most (a host has far fewer; this bounds a hostile proc).
const MAX_PROCESSES: usize = 100_000;
/// Bytes of `proc/PID/cmdline` read at most (argv[0] is all that is used).
const MAX_CMDLINE: u64 = 4096;
/// Where systemd keeps unit files, most specific first.
const UNIT_DIRS: [&str; 4] =
    ["etc/systemd/system", "run/systemd/system", "usr/lib/systemd/system", "lib/systemd/system"];
/// Directories that hold the links of enabled units.
const ENABLE_DIRS: [&str; 2] = ["etc/systemd/system", "usr/lib/systemd/system"];

/// The security-product source over one catalog.
pub struct Security<'a>(pub &'a Catalog);

/// One running process, as far as it could be read.
#[derive(Debug, Default)]
struct Process {
    comm: String,
    argv0: String,
    exe: String,
}

impl Source for Security<'_> {
    fn name(&self) -> &'static str {
        "security"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        let processes = processes(host, w);
        let enabled = enabled_units(host);
        let mut found: Vec<SecurityProduct> =
            self.0.products.iter().filter_map(|p| detect(host, p, &p.linux, inv, &processes, &enabled)).collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        inv.security_products = found;
    }
}

fn detect(
    host: &Host,
    product: &Product,
    rules: &Evidence,
    inv: &Inventory,
    processes: &[Process],
    enabled: &BTreeSet<String>,
) -> Option<SecurityProduct> {
    let mut evidence = Vec::new();
    let mut version = String::new();
    let mut installed = false;
    for name in &rules.packages {
        if let Some(p) = inv.software.iter().find(|p| &p.name == name) {
            installed = true;
            if version.is_empty() {
                version = p.version.clone();
            }
            evidence.push(format!("package {} {}", p.name, p.version));
        }
    }
    for path in &rules.paths {
        if std::fs::symlink_metadata(host.path(path)).is_ok() {
            installed = true;
            evidence.push(format!("path {path}"));
        }
    }
    let mut states = Vec::new();
    for unit in &rules.units {
        if let Some(state) = unit_state(host, unit, enabled) {
            installed = true;
            evidence.push(format!("unit {unit} {state}"));
            states.push(state);
        }
    }
    let mut running = false;
    for rule in &rules.processes {
        if processes.iter().any(|p| matches(rule, p)) {
            running = true;
            evidence.push(format!("process {rule}"));
        }
    }
    if !installed && !running {
        return None;
    }
    let service = ["enabled", "masked", "disabled"].into_iter().find(|s| states.contains(s)).unwrap_or_default();
    Some(SecurityProduct {
        id: product.id.clone(),
        name: product.name.clone(),
        vendor: product.vendor.clone(),
        category: product.category.as_str().to_string(),
        version,
        installed,
        running,
        service: service.to_string(),
        evidence,
    })
}

/// Whether process `p` is one that `rule` (a bare name or an absolute path) names.
fn matches(rule: &str, p: &Process) -> bool {
    if rule.starts_with('/') {
        return p.exe == rule || p.argv0 == rule;
    }
    let file_name = |s: &str| s.rsplit('/').next().unwrap_or_default() == rule;
    // The kernel keeps the first 15 bytes of the name in comm (cut at a character boundary here).
    let cut = rule.char_indices().map(|(i, c)| i + c.len_utf8()).take_while(|&end| end <= 15).last().unwrap_or(0);
    p.comm == rule || (rule.len() > 15 && p.comm == rule[..cut]) || file_name(&p.argv0) || file_name(&p.exe)
}

/// `masked`, `enabled` or `disabled` when a unit file named `unit` exists; `None` otherwise.
fn unit_state(host: &Host, unit: &str, enabled: &BTreeSet<String>) -> Option<&'static str> {
    let mut present = false;
    for dir in UNIT_DIRS {
        // The directory is resolved inside the root; the unit's own link is read, not followed.
        let path = host.path(dir).join(unit);
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.file_type().is_symlink() && std::fs::read_link(&path).is_ok_and(|t| t == Path::new("/dev/null")) {
            return Some("masked");
        }
        present = true;
    }
    present.then_some(if enabled.contains(unit) { "enabled" } else { "disabled" })
}

/// Names of the units linked from a `*.wants` or `*.requires` directory.
fn enabled_units(host: &Host) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for dir in ENABLE_DIRS {
        let Ok(entries) = std::fs::read_dir(host.path(dir)) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !(name.ends_with(".wants") || name.ends_with(".requires")) {
                continue;
            }
            let Ok(links) = std::fs::read_dir(entry.path()) else { continue };
            out.extend(links.flatten().map(|l| l.file_name().to_string_lossy().into_owned()));
        }
    }
    out
}

/// Every process under `proc` with its comm, argv[0] and executable, as far as each is readable.
fn processes(host: &Host, w: &mut Warnings<'_>) -> Vec<Process> {
    let proc = host.path("proc");
    let entries = match std::fs::read_dir(&proc) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            w.push(format!("proc: cannot list processes: {e}"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.is_empty() || !name.as_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        if out.len() == MAX_PROCESSES {
            w.push(format!("stopped reading processes after {MAX_PROCESSES}"));
            break;
        }
        let pid = name.to_string_lossy();
        let comm = host.read_value(&format!("proc/{pid}/comm")).ok().flatten().unwrap_or_default();
        let argv0 = host
            .read_limited(&format!("proc/{pid}/cmdline"), MAX_CMDLINE)
            .ok()
            .map(|b| String::from_utf8_lossy(b.split(|&c| c == 0).next().unwrap_or_default()).into_owned())
            .unwrap_or_default();
        // The link is read, never followed: under a fixture root its target is only a name.
        let exe = std::fs::read_link(entry.path().join("exe"))
            .map(|t| t.to_string_lossy().trim_end_matches(" (deleted)").to_string())
            .unwrap_or_default();
        if comm.is_empty() && argv0.is_empty() && exe.is_empty() {
            continue;
        }
        out.push(Process { comm, argv0, exe });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Category;
    use crate::sources::collect_one;
    use census_inventory::Package;

    fn product(id: &str, linux: Evidence) -> Product {
        Product {
            id: id.into(),
            name: id.to_uppercase(),
            vendor: "V".into(),
            category: Category::Edr,
            linux,
            macos: Evidence::default(),
            windows: Evidence::default(),
        }
    }

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// A root with processes, units and install paths of a few products.
    fn root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let write = |rel: &str, text: &[u8]| {
            std::fs::create_dir_all(r.join(rel).parent().unwrap()).unwrap();
            std::fs::write(r.join(rel), text).unwrap();
        };
        let link = |rel: &str, target: &str| {
            std::fs::create_dir_all(r.join(rel).parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, r.join(rel)).unwrap();
        };
        // A running sensor with a long name (comm is cut to 15 bytes) and its enabled unit.
        write("proc/100/comm", b"sentinelone-age\n");
        write("proc/100/cmdline", b"/opt/sentinelone/bin/sentinelone-agent\0--run\0");
        link("proc/100/exe", "/opt/sentinelone/bin/sentinelone-agent");
        write("opt/sentinelone/bin/sentinelctl", b"");
        write("usr/lib/systemd/system/sentinelone.service", b"[Service]\n");
        link(
            "etc/systemd/system/multi-user.target.wants/sentinelone.service",
            "/usr/lib/systemd/system/sentinelone.service",
        );
        // An installed sensor whose unit is disabled and which does not run.
        write("lib/systemd/system/falcon-sensor.service", b"[Service]\n");
        // A generic process name that only the full path may match.
        write("proc/200/comm", b"pmd\n");
        write("proc/200/cmdline", b"pmd\0");
        link("proc/200/exe", "/usr/sbin/pmd");
        // A masked unit.
        write("lib/systemd/system/mdatp.service", b"[Service]\n");
        link("etc/systemd/system/mdatp.service", "/dev/null");
        // A process with nothing readable but its number.
        std::fs::create_dir_all(r.join("proc/300")).unwrap();
        dir
    }

    #[test]
    fn reports_installed_running_and_service_state_with_evidence() {
        let dir = root();
        let host = Host::open(dir.path()).unwrap();
        let catalog = Catalog {
            products: vec![
                product(
                    "sentinelone",
                    Evidence {
                        paths: list(&["/opt/sentinelone/bin/sentinelctl"]),
                        processes: list(&["sentinelone-agent"]),
                        units: list(&["sentinelone.service"]),
                        ..Default::default()
                    },
                ),
                product(
                    "crowdstrike-falcon",
                    Evidence {
                        packages: list(&["falcon-sensor"]),
                        processes: list(&["falcon-sensor"]),
                        units: list(&["falcon-sensor.service"]),
                        ..Default::default()
                    },
                ),
                product("cortex-xdr", Evidence { processes: list(&["/opt/traps/bin/pmd"]), ..Default::default() }),
                product("mdatp", Evidence { units: list(&["mdatp.service"]), ..Default::default() }),
                product("absent", Evidence { paths: list(&["/opt/absent"]), ..Default::default() }),
            ],
        };
        let mut inv = Inventory::default();
        inv.software.push(Package { name: "falcon-sensor".into(), version: "7.18.0-1".into(), ..Default::default() });
        let mut warnings = Vec::new();
        Security(&catalog).collect(&host, &mut inv, &mut Warnings { source: "security", out: &mut warnings });
        assert!(warnings.is_empty(), "{warnings:?}");
        let ids: Vec<&str> = inv.security_products.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["crowdstrike-falcon", "mdatp", "sentinelone"], "sorted by id; pmd alone is not Cortex");

        let falcon = &inv.security_products[0];
        assert_eq!((falcon.installed, falcon.running, falcon.service.as_str()), (true, false, "disabled"));
        assert_eq!(falcon.version, "7.18.0-1");
        assert_eq!(falcon.evidence, ["package falcon-sensor 7.18.0-1", "unit falcon-sensor.service disabled"]);
        assert_eq!(falcon.category, "edr");

        let mdatp = &inv.security_products[1];
        assert_eq!((mdatp.installed, mdatp.running, mdatp.service.as_str()), (true, false, "masked"));

        let s1 = &inv.security_products[2];
        assert_eq!((s1.installed, s1.running, s1.service.as_str()), (true, true, "enabled"));
        assert_eq!(
            s1.evidence,
            ["path /opt/sentinelone/bin/sentinelctl", "unit sentinelone.service enabled", "process sentinelone-agent"]
        );
        assert!(s1.version.is_empty());
    }

    #[test]
    fn a_path_rule_matches_the_executable_and_a_name_its_cut_comm() {
        let p = Process { comm: "sentinelone-age".into(), argv0: "sentinelone-agent".into(), exe: String::new() };
        assert!(matches("sentinelone-agent", &p));
        let only_comm = Process { comm: "sentinelone-age".into(), ..Default::default() };
        assert!(matches("sentinelone-agent", &only_comm), "comm is the name cut to 15 bytes");
        assert!(!matches("sentinelone-age-x", &Process { comm: "sentinelone-ag".into(), ..Default::default() }));
        let pmd = Process { comm: "pmd".into(), argv0: "pmd".into(), exe: "/opt/traps/bin/pmd".into() };
        assert!(matches("/opt/traps/bin/pmd", &pmd));
        assert!(!matches("/opt/traps/bin/pmd", &Process { comm: "pmd".into(), ..Default::default() }));
    }

    #[test]
    fn the_builtin_catalog_finds_nothing_on_a_plain_fixture() {
        let catalog = Catalog::builtin();
        let (inv, warnings) = collect_one(&Security(&catalog), &crate::sources::fixture("debian12"));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(inv.security_products, []);
    }
}
