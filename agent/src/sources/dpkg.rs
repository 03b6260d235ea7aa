//! Debian packages from `var/lib/dpkg/status` and `var/lib/dpkg/status.d/`.
//!
//! Only packages dpkg considers installed count: status `installed`, or `triggers-awaited` /
//! `triggers-pending` (configured, with only triggers outstanding). `config-files`, `unpacked`,
//! `half-installed`, `half-configured` and `not-installed` entries are not installed software.
//! Held packages (want = hold) are installed and are kept, with `selection = "hold"`.
//!
//! Distroless images have no `status` file but one stanza per package in `status.d/` (files
//! ending in `.md5sums` are not stanzas). Those stanzas usually carry no `Status` field: a
//! stanza there without one is installed, since only installed packages are written there.
//!
//! Files are read line by line with bounded memory; a line longer than [`MAX_LINE`] makes its
//! stanza malformed (skipped and counted) without being held in memory.
//!
//! [`MAX_LINE`]: crate::host::MAX_LINE

use std::io;

use census_inventory::{Inventory, OperatingSystem, Package};

use super::{Source, Warnings, purl};
use crate::host::{Host, Line};

pub struct Dpkg;

const STATUS: &str = "var/lib/dpkg/status";
const STATUS_D: &str = "var/lib/dpkg/status.d";

impl Source for Dpkg {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        let mut found = Vec::new();
        match host.lines(STATUS) {
            Ok(lines) => read_file(STATUS, lines, StanzaKind::Status, &mut found, w),
            // Not a dpkg system, or a distroless one: status.d may still have packages.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => w.push(format!("{STATUS}: {e}")),
        }
        let names = match host.list_dir(STATUS_D) {
            Ok(n) => n,
            Err(e) => {
                w.push(format!("{STATUS_D}: {e}"));
                Vec::new()
            }
        };
        for name in names.iter().filter(|n| !n.ends_with(".md5sums") && !n.starts_with('.')) {
            let rel = format!("{STATUS_D}/{name}");
            match host.lines(&rel) {
                Ok(lines) => read_file(&rel, lines, StanzaKind::StatusD, &mut found, w),
                Err(e) if e.kind() == io::ErrorKind::IsADirectory => {}
                Err(e) => w.push(format!("{rel}: {e}")),
            }
        }
        for p in &mut found {
            p.purl = package_url(p, &inv.os);
        }
        inv.software.extend(found);
    }
}

fn read_file(
    rel: &str,
    lines: impl Iterator<Item = io::Result<Line>>,
    kind: StanzaKind,
    out: &mut Vec<Package>,
    w: &mut Warnings<'_>,
) {
    let mut read_error = None;
    let lines = lines.map_while(|l| l.map_err(|e| read_error = Some(e)).ok());
    let parsed = parse_lines(lines, kind);
    if let Some(e) = read_error {
        w.push(format!("{rel}: read stopped: {e}"));
    }
    if parsed.skipped > 0 {
        w.push(format!("{rel}: skipped {} malformed entries", parsed.skipped));
    }
    out.extend(parsed.packages);
}

/// `pkg:deb/<os id>/<name>@<version>?arch=..&distro=..&upstream=<source package>`.
fn package_url(p: &Package, os: &OperatingSystem) -> String {
    let namespace = if os.id.is_empty() { "debian" } else { os.id.as_str() };
    let distro = purl::distro(os);
    purl::purl(
        "deb",
        Some(namespace),
        &p.name,
        &p.version,
        &[("arch", &p.arch), ("distro", &distro), ("upstream", &p.source_package)],
    )
}

/// What [`parse_status`] found.
#[derive(Debug, Default)]
pub struct Parsed {
    pub packages: Vec<Package>,
    /// Stanzas without a Package, Version or valid Status field, or with an over-long line.
    pub skipped: usize,
}

/// Where a stanza comes from: `status` requires a Status field; `status.d` does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StanzaKind {
    Status,
    StatusD,
}

/// Parses a dpkg status file (deb822 stanzas) into installed packages.
pub fn parse_status(text: &str) -> Parsed {
    parse_lines(text.lines().map(|l| Line::Text(l.to_string())), StanzaKind::Status)
}

/// Parses deb822 stanzas from lines; memory is bounded by the longest line kept.
pub fn parse_lines(lines: impl Iterator<Item = Line>, kind: StanzaKind) -> Parsed {
    let mut parsed = Parsed::default();
    let mut stanza = Stanza::default();
    for line in lines {
        match line {
            Line::TooLong { .. } => stanza.broken = true,
            Line::Text(t) if t.trim().is_empty() => stanza.finish(kind, &mut parsed),
            Line::Text(t) => stanza.field(&t),
        }
    }
    stanza.finish(kind, &mut parsed);
    parsed
}

#[derive(Default)]
struct Stanza {
    package: Package,
    status: Option<String>,
    any: bool,
    broken: bool,
}

impl Stanza {
    fn field(&mut self, line: &str) {
        self.any = true;
        // Continuation lines (descriptions, conffiles) start with white space.
        if line.starts_with([' ', '\t']) {
            return;
        }
        let Some((key, value)) = line.split_once(':') else { return };
        let value = value.trim();
        let p = &mut self.package;
        match key {
            "Package" => p.name = value.to_string(),
            "Version" => p.version = value.to_string(),
            "Architecture" => p.arch = value.to_string(),
            "Maintainer" => p.maintainer = value.to_string(),
            // "Source: openssl (3.0.11-1)": the source package name, its version in parentheses.
            "Source" => p.source_package = value.split_whitespace().next().unwrap_or_default().to_string(),
            "Installed-Size" => p.installed_size_bytes = value.parse::<u64>().unwrap_or(0).saturating_mul(1024),
            "Status" => self.status = Some(value.to_string()),
            _ => {}
        }
    }

    fn finish(&mut self, kind: StanzaKind, parsed: &mut Parsed) {
        let stanza = std::mem::take(self);
        if !stanza.any && !stanza.broken {
            return;
        }
        match stanza.into_package(kind) {
            Entry::Installed(p) => parsed.packages.push(*p),
            Entry::NotInstalled => {}
            Entry::Malformed => parsed.skipped += 1,
        }
    }

    fn into_package(self, kind: StanzaKind) -> Entry {
        let mut p = self.package;
        if self.broken {
            return Entry::Malformed;
        }
        let want = match (self.status, kind) {
            (Some(status), _) => {
                let words: Vec<&str> = status.split_whitespace().collect();
                let [want, _flag, state] = words.as_slice() else { return Entry::Malformed };
                if !matches!(*state, "installed" | "triggers-awaited" | "triggers-pending") {
                    return Entry::NotInstalled;
                }
                want.to_string()
            }
            (None, StanzaKind::StatusD) => String::new(),
            (None, StanzaKind::Status) => return Entry::Malformed,
        };
        if p.name.is_empty() || p.version.is_empty() {
            return Entry::Malformed;
        }
        if p.source_package == p.name {
            p.source_package.clear();
        }
        p.source = "dpkg".into();
        p.selection = want;
        Entry::Installed(Box::new(p))
    }
}

enum Entry {
    Installed(Box<Package>),
    NotInstalled,
    Malformed,
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
    fn blank_lines_with_spaces_and_crlf_separate_stanzas() {
        let text = "Package: a\r\nStatus: install ok installed\r\nVersion: 1\r\n \r\nPackage: b\nStatus: install ok installed\nVersion: 2\n\n\n";
        let names: Vec<_> = parse_status(text).packages.into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn an_over_long_line_skips_only_its_stanza() {
        let lines = vec![
            Line::Text("Package: big".into()),
            Line::Text("Status: install ok installed".into()),
            Line::Text("Version: 1".into()),
            Line::TooLong { len: 2 << 30 },
            Line::Text(String::new()),
            Line::Text("Package: fine".into()),
            Line::Text("Status: install ok installed".into()),
            Line::Text("Version: 2".into()),
        ];
        let p = parse_lines(lines.into_iter(), StanzaKind::Status);
        assert_eq!(p.skipped, 1);
        assert_eq!(p.packages.len(), 1);
        assert_eq!(p.packages[0].name, "fine");
    }

    #[test]
    fn huge_line_in_a_real_file_keeps_memory_bounded_and_the_rest() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("var/lib/dpkg")).unwrap();
        let mut f = std::fs::File::create(dir.path().join(STATUS)).unwrap();
        write!(f, "Package: big\nStatus: install ok installed\nVersion: 1\nDescription: ").unwrap();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..8 {
            f.write_all(&chunk).unwrap();
        }
        write!(f, "\n\nPackage: fine\nStatus: install ok installed\nVersion: 2\nArchitecture: amd64\n").unwrap();
        drop(f);
        let (inv, warnings) = collect_one(&Dpkg, &Host::open(dir.path()).unwrap());
        assert_eq!(inv.software.len(), 1);
        assert_eq!(inv.software[0].name, "fine");
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].message, "var/lib/dpkg/status: skipped 1 malformed entries");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("var/lib/dpkg")).unwrap();
        let mut bytes = b"Package: caf\xe9\nStatus: install ok installed\nVersion: 1\xff\n".to_vec();
        bytes.extend_from_slice(b"\nPackage: ok\nStatus: install ok installed\nVersion: 2\n");
        std::fs::write(dir.path().join(STATUS), bytes).unwrap();
        let (inv, warnings) = collect_one(&Dpkg, &Host::open(dir.path()).unwrap());
        assert!(warnings.is_empty());
        let names: Vec<_> = inv.software.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["caf\u{fffd}", "ok"]);
    }

    #[test]
    fn debian_fixture() {
        let host = fixture("debian12");
        let mut inv = Inventory::default();
        let mut warnings = Vec::new();
        // The os source runs first in SOURCES; the purl's namespace and distro come from it.
        crate::sources::os::Os.collect(&host, &mut inv, &mut Warnings { source: "os", out: &mut warnings });
        Dpkg.collect(&host, &mut inv, &mut Warnings { source: "dpkg", out: &mut warnings });
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
        let purls: Vec<_> = inv.software.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(purls[2], "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc");
        assert_eq!(purls[4], "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12");
        assert_eq!(purls[5], "pkg:deb/debian/vim@2:9.0.1378-2?arch=amd64&distro=debian-12");
    }

    #[test]
    fn distroless_status_d() {
        let host = fixture("distroless");
        let (inv, warnings) = collect_one(&Dpkg, &host);
        assert_eq!(warnings, vec![]);
        let got: Vec<_> = inv.software.iter().map(|p| format!("{}={}", p.name, p.version)).collect();
        assert_eq!(got, ["base-files=12.4+deb12u5", "libssl3=3.0.11-1~deb12u2", "tzdata=2024a-0+deb12u1"]);
        assert!(inv.software.iter().all(|p| p.selection.is_empty() && p.source == "dpkg"));
    }

    #[test]
    fn no_dpkg_database_is_silent() {
        let dir = tempfile::tempdir().unwrap();
        let (inv, warnings) = collect_one(&Dpkg, &Host::open(dir.path()).unwrap());
        assert!(inv.software.is_empty());
        assert!(warnings.is_empty());
    }
}
