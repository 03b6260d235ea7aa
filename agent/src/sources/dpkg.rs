//! Debian packages from var/lib/dpkg/status.
//!
//! Only packages dpkg considers installed count: status `installed`, or `triggers-awaited` /
//! `triggers-pending` (configured, with only triggers outstanding). `config-files`, `unpacked`,
//! `half-installed`, `half-configured` and `not-installed` entries are not installed software.
//! Held packages (want = hold) are installed and are kept, with `selection = "hold"`.

use std::io;

use census_inventory::{Inventory, Package};

use super::{Source, Warnings};
use crate::host::Host;

pub struct Dpkg;

const STATUS: &str = "var/lib/dpkg/status";

impl Source for Dpkg {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        let bytes = match host.read(STATUS) {
            Ok(b) => b,
            // Not a dpkg system: nothing to say.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(e) => return w.push(format!("{STATUS}: {e}")),
        };
        let text = String::from_utf8_lossy(&bytes);
        let parsed = parse_status(&text);
        if parsed.skipped > 0 {
            w.push(format!("{STATUS}: skipped {} malformed entries", parsed.skipped));
        }
        inv.software.extend(parsed.packages);
    }
}

/// What [`parse_status`] found.
#[derive(Debug, Default)]
pub struct Parsed {
    pub packages: Vec<Package>,
    /// Stanzas without a Package, Version or valid Status field.
    pub skipped: usize,
}

/// Parses a dpkg status file (deb822 stanzas) into installed packages.
pub fn parse_status(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for stanza in text.split("\n\n") {
        if stanza.trim().is_empty() {
            continue;
        }
        match stanza_to_package(stanza) {
            Entry::Installed(p) => parsed.packages.push(p),
            Entry::NotInstalled => {}
            Entry::Malformed => parsed.skipped += 1,
        }
    }
    parsed
}

enum Entry {
    Installed(Package),
    NotInstalled,
    Malformed,
}

fn stanza_to_package(stanza: &str) -> Entry {
    let mut p = Package { source: "dpkg".into(), ..Package::default() };
    let mut status = None;
    for line in stanza.lines() {
        // Continuation lines (descriptions, conffiles) start with white space.
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match key {
            "Package" => p.name = value.to_string(),
            "Version" => p.version = value.to_string(),
            "Architecture" => p.arch = value.to_string(),
            "Maintainer" => p.maintainer = value.to_string(),
            // "Source: openssl (3.0.11-1)": the source package name, its version in parentheses.
            "Source" => p.source_package = value.split_whitespace().next().unwrap_or_default().to_string(),
            "Installed-Size" => p.installed_size_bytes = value.parse::<u64>().unwrap_or(0).saturating_mul(1024),
            "Status" => status = Some(value.to_string()),
            _ => {}
        }
    }
    let Some(status) = status else { return Entry::Malformed };
    let words: Vec<&str> = status.split_whitespace().collect();
    let [want, _flag, state] = words.as_slice() else { return Entry::Malformed };
    if !matches!(*state, "installed" | "triggers-awaited" | "triggers-pending") {
        return Entry::NotInstalled;
    }
    if p.name.is_empty() || p.version.is_empty() {
        return Entry::Malformed;
    }
    if p.source_package == p.name {
        p.source_package.clear();
    }
    p.selection = want.to_string();
    Entry::Installed(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{collect_one, fixture};

    #[test]
    fn states_and_fields() {
        let text = "\
Package: openssl
Status: install ok installed
Installed-Size: 2250
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Architecture: amd64
Source: openssl-src (3.0.11-1)
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit
 This package contains the openssl binary.

Package: removed-but-configured
Status: deinstall ok config-files
Version: 1.0

Package: held
Status: hold ok installed
Architecture: all
Version: 2:1.2-3

Package: half
Status: install reinstreq half-installed
Version: 1

Package: pending
Status: install ok triggers-pending
Architecture: i386
Version: 5

Package: no-status
Version: 1

Status: install ok installed
Version: 1
";
        let p = parse_status(text);
        assert_eq!(p.skipped, 2);
        let names: Vec<_> = p.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["openssl", "held", "pending"]);
        let o = &p.packages[0];
        assert_eq!(o.version, "3.0.11-1~deb12u2");
        assert_eq!(o.arch, "amd64");
        assert_eq!(o.source_package, "openssl-src");
        assert_eq!(o.installed_size_bytes, 2250 * 1024);
        assert_eq!(o.selection, "install");
        assert_eq!(o.source, "dpkg");
        assert_eq!(p.packages[1].selection, "hold");
        assert_eq!(p.packages[1].version, "2:1.2-3");
    }

    #[test]
    fn debian_fixture() {
        let (inv, warnings) = collect_one(&Dpkg, &fixture("debian12"));
        assert_eq!(warnings, vec![]);
        let got: Vec<_> = inv.software.iter().map(|p| format!("{}:{}={}", p.name, p.arch, p.version)).collect();
        assert_eq!(
            got,
            [
                "base-files:amd64=12.4+deb12u5",
                "bash:amd64=5.2.15-2+b2",
                "libc6:amd64=2.36-9+deb12u4",
                "libc6:i386=2.36-9+deb12u4",
                "openssl:amd64=3.0.11-1~deb12u2",
                "vim:amd64=2:9.0.1378-2",
            ]
        );
    }

    #[test]
    fn no_dpkg_database_is_silent() {
        let dir = tempfile::tempdir().unwrap();
        let (inv, warnings) = collect_one(&Dpkg, &Host::open(dir.path()).unwrap());
        assert!(inv.software.is_empty());
        assert!(warnings.is_empty());
    }
}
