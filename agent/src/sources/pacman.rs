//! Arch Linux packages from the pacman local database, var/lib/pacman/local.
//!
//! Each installed package is a directory `<name>-<version>` holding a `desc` file (alpm-db-desc):
//! sections headed `%NAME%`, `%VERSION%`, ..., each followed by its value lines up to a blank
//! line. Read here: `%NAME%`, `%VERSION%` (with epoch, `1:2.3-4`), `%BASE%` (the package base a
//! split package was built from), `%ARCH%`, `%INSTALLDATE%` (unix seconds), `%SIZE%` (installed
//! bytes), `%PACKAGER%` and `%REASON%` (the install reason, as homebrew's selection: `0` or
//! absent, pacman's default, is `requested`; `1` is `dependency`; other values are kept as
//! written). Multi-line lists (`%DEPENDS%`, `%LICENSE%`...) are ignored.
//!
//! Rules:
//! - Entries of the local database that are not directories (`ALPM_DB_VERSION`, symlinks) are
//!   skipped silently; a package directory without a readable `desc` is one warning naming it.
//! - A `desc` larger than [`MAX_DESC`] is skipped with a warning (real ones are a few KiB).
//! - A `desc` without `%NAME%` or `%VERSION%` is a warning; other packages are kept. A repeated
//!   section: the first one counts. Unparseable dates and sizes are unknown (0).
//! - purl: `pkg:alpm/<os id>/<name>@<version>?arch=..&distro=..`. The purl spec makes the
//!   namespace (the vendor: arch, archarm, manjaro...) required, so it is the os-release ID and
//!   the purl is left empty when that is unknown. The spec makes alpm names lowercase.

use std::fmt;

use census_inventory::{Inventory, Package};

use super::purl::{distro, purl};
use super::{Source, Warnings};
use crate::host::Host;

pub struct Pacman;

const LOCAL: &str = "var/lib/pacman/local";

/// Largest `desc` file read (1 MiB).
pub const MAX_DESC: u64 = 1024 * 1024;

impl Source for Pacman {
    fn name(&self) -> &'static str {
        "pacman"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        // Empty when the database does not exist: not a pacman system, nothing to say.
        let entries = match host.list_dir(LOCAL) {
            Ok(e) => e,
            Err(e) => return w.push(format!("{LOCAL}: {e}")),
        };
        let namespace = inv.os.id.to_lowercase();
        let distro = distro(&inv.os);
        for entry in entries {
            let dir = format!("{LOCAL}/{entry}");
            // The entry itself, not what a symlink there points to.
            match std::fs::symlink_metadata(host.path(LOCAL).join(&entry)) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => continue,
                Err(e) => {
                    w.push(format!("{dir}: {e}"));
                    continue;
                }
            }
            let desc = format!("{dir}/desc");
            let bytes = match host.read_limited(&desc, MAX_DESC) {
                Ok(b) => b,
                Err(e) => {
                    w.push(format!("{desc}: {e}"));
                    continue;
                }
            };
            let mut p = match parse_desc(&String::from_utf8_lossy(&bytes)) {
                Ok(p) => p,
                Err(e) => {
                    w.push(format!("{desc}: {e}"));
                    continue;
                }
            };
            if !namespace.is_empty() {
                let name = p.name.to_lowercase();
                p.purl = purl("alpm", Some(&namespace), &name, &p.version, &[("arch", &p.arch), ("distro", &distro)]);
            }
            inv.software.push(p);
        }
    }
}

/// Why a `desc` file gave no package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescError {
    NoName,
    NoVersion,
}

impl fmt::Display for DescError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DescError::NoName => "no %NAME% value",
            DescError::NoVersion => "no %VERSION% value",
        })
    }
}

impl std::error::Error for DescError {}

/// Parses one local-database `desc` file into a package (without purl).
pub fn parse_desc(text: &str) -> Result<Package, DescError> {
    let mut p = Package { source: "pacman".into(), ..Package::default() };
    let mut seen: Vec<&str> = Vec::new();
    // The section whose first value line is awaited; `None` between sections and after a value.
    let mut awaiting: Option<&str> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            awaiting = None;
            continue;
        }
        if let Some(section) = header(line) {
            awaiting = (!seen.contains(&section)).then_some(section);
            seen.push(section);
            continue;
        }
        let Some(section) = awaiting.take() else { continue };
        match section {
            "NAME" => p.name = line.to_string(),
            "VERSION" => p.version = line.to_string(),
            "BASE" => p.source_package = line.to_string(),
            "ARCH" => p.arch = line.to_string(),
            "INSTALLDATE" => p.install_time = line.parse().unwrap_or(0),
            "SIZE" => p.installed_size_bytes = line.parse().unwrap_or(0),
            "PACKAGER" => p.maintainer = line.to_string(),
            "REASON" => p.selection = line.to_string(),
            _ => {}
        }
    }
    p.selection = match p.selection.as_str() {
        "" | "0" => "requested".into(),
        "1" => "dependency".into(),
        _ => p.selection,
    };
    if p.name.is_empty() {
        return Err(DescError::NoName);
    }
    if p.version.is_empty() {
        return Err(DescError::NoVersion);
    }
    if p.source_package == p.name {
        p.source_package.clear();
    }
    Ok(p)
}

/// `%KEY%` → `KEY`.
fn header(line: &str) -> Option<&str> {
    let key = line.strip_prefix('%')?.strip_suffix('%')?;
    (!key.is_empty() && key.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::apk::collect_after_os;
    use crate::sources::{collect_one, fixture};

    #[test]
    fn fields() {
        let p = parse_desc(
            "%NAME%\ncontainers-common\n\n%VERSION%\n1:0.47.4-4\n\n%BASE%\ncontainers-common-base\n\n\
             %DESC%\nConfiguration files\n\n%ARCH%\nx86_64\n\n%BUILDDATE%\n1700000000\n\n\
             %INSTALLDATE%\n1700000100\n\n%PACKAGER%\nBartłomiej Piotrowski <bpiotrowski@archlinux.org>\n\n\
             %SIZE%\n158337\n\n%REASON%\n1\n\n%LICENSE%\nApache-2.0\n\n%DEPENDS%\nglibc\nzlib\n\n",
        )
        .unwrap();
        let want = Package {
            name: "containers-common".into(),
            version: "1:0.47.4-4".into(),
            arch: "x86_64".into(),
            source: "pacman".into(),
            source_package: "containers-common-base".into(),
            maintainer: "Bartłomiej Piotrowski <bpiotrowski@archlinux.org>".into(),
            install_time: 1700000100,
            installed_size_bytes: 158337,
            selection: "dependency".into(),
            ..Package::default()
        };
        assert_eq!(p, want);
    }

    #[test]
    fn edge_cases() {
        assert_eq!(parse_desc(""), Err(DescError::NoName));
        assert_eq!(parse_desc("%NAME%\n\n%VERSION%\n1-1\n"), Err(DescError::NoName), "empty value");
        assert_eq!(parse_desc("%NAME%\nfoo\n"), Err(DescError::NoVersion));
        assert_eq!(parse_desc("%NAME%\nfoo\n\n%VERSION%"), Err(DescError::NoVersion), "truncated file");
        // No blank lines, CRLF, stray text, a repeated section, bad numbers.
        let p = parse_desc(
            "stray\r\n%NAME%\r\nfoo\r\nbar\r\n%VERSION%\r\n2-1\r\n%NAME%\r\nother\r\n\
             %SIZE%\r\n-5\r\n%INSTALLDATE%\r\nyesterday\r\n%ARCH%\r\n%BASE%\r\n",
        )
        .unwrap();
        assert_eq!((p.name.as_str(), p.version.as_str()), ("foo", "2-1"));
        assert_eq!((p.installed_size_bytes, p.install_time), (0, 0));
        assert_eq!(p.arch, "", "a header is not a value");
        assert_eq!(p.source_package, "");
        assert_eq!(p.selection, "requested", "no %REASON% is pacman's default, explicit");
        assert_eq!(parse_desc("%NAME%\na\n%VERSION%\n1\n%REASON%\n7\n").unwrap().selection, "7");
        // Invalid UTF-8 arrives replaced; base equal to the name is not repeated.
        let text = String::from_utf8_lossy(b"%NAME%\nna\xffme\n\n%VERSION%\n1\n\n%BASE%\nna\xffme\n");
        let p = parse_desc(&text).unwrap();
        assert_eq!(p.name, "na\u{fffd}me");
        assert_eq!(p.source_package, "");
    }

    #[test]
    fn a_lone_carriage_return_is_part_of_the_value() {
        // Found by the pacman_desc fuzz target: lines end at `\n` only, as pacman reads them.
        let p = parse_desc("%NAME%\nca\n\n%VERSION%\n202\r8-1\r\n").unwrap();
        assert_eq!(p.version, "202\r8-1");
    }

    #[test]
    fn arch_fixture() {
        let (inv, warnings) = collect_after_os(&Pacman, &fixture("arch-rolling"));
        assert_eq!(warnings, vec![]);
        let want = [
            Package {
                name: "ca-certificates".into(),
                version: "20240618-1".into(),
                arch: "any".into(),
                source: "pacman".into(),
                maintainer: "Jan Alexander Steffens (heftig) <heftig@archlinux.org>".into(),
                install_time: 1719734400,
                installed_size_bytes: 0,
                selection: "requested".into(),
                purl: "pkg:alpm/arch/ca-certificates@20240618-1?arch=any&distro=arch".into(),
                ..Package::default()
            },
            Package {
                name: "glibc".into(),
                version: "2.39-1".into(),
                arch: "x86_64".into(),
                source: "pacman".into(),
                maintainer: "Frederik Schwan <freswa@archlinux.org>".into(),
                install_time: 1707388800,
                installed_size_bytes: 48750530,
                selection: "dependency".into(),
                purl: "pkg:alpm/arch/glibc@2.39-1?arch=x86_64&distro=arch".into(),
                ..Package::default()
            },
            Package {
                name: "systemd-libs".into(),
                version: "255.4-2".into(),
                arch: "x86_64".into(),
                source: "pacman".into(),
                source_package: "systemd".into(),
                maintainer: "Christian Hesse <eworm@archlinux.org>".into(),
                install_time: 1710979200,
                installed_size_bytes: 2424938,
                selection: "dependency".into(),
                purl: "pkg:alpm/arch/systemd-libs@255.4-2?arch=x86_64&distro=arch".into(),
                ..Package::default()
            },
        ];
        assert_eq!(inv.software, want);
    }

    #[test]
    fn broken_entries_are_one_warning_each_and_the_rest_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join(LOCAL);
        std::fs::create_dir_all(&local).unwrap();
        std::fs::write(local.join("ALPM_DB_VERSION"), "9\n").unwrap();
        let mk = |name: &str, desc: &[u8]| {
            std::fs::create_dir(local.join(name)).unwrap();
            std::fs::write(local.join(name).join("desc"), desc).unwrap();
        };
        mk("good-1-1", b"%NAME%\nGood\n\n%VERSION%\n1-1\n\n%ARCH%\nany\n");
        mk("nameless-1-1", b"%VERSION%\n1-1\n");
        mk("huge-1-1", &vec![b'%'; MAX_DESC as usize + 1]);
        std::fs::create_dir(local.join("no-desc-1-1")).unwrap();
        std::fs::create_dir_all(local.join("desc-is-dir-1-1/desc")).unwrap();
        std::os::unix::fs::symlink("/etc", local.join("link-1-1")).unwrap();
        let host = Host::open(dir.path()).unwrap();
        let mut inv = Inventory::default();
        inv.os.id = "manjaro".into();
        inv.os.version = "24.0.1".into();
        let mut warnings = Vec::new();
        Pacman.collect(&host, &mut inv, &mut Warnings { source: "pacman", out: &mut warnings });
        assert_eq!(inv.software.len(), 1);
        assert_eq!(inv.software[0].purl, "pkg:alpm/manjaro/good@1-1?arch=any&distro=manjaro-24.0.1");
        let messages: Vec<_> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages[0].starts_with("var/lib/pacman/local/desc-is-dir-1-1/desc: "), "{messages:?}");
        assert_eq!(messages[1], "var/lib/pacman/local/huge-1-1/desc: larger than 1048576 bytes");
        assert_eq!(messages[2], "var/lib/pacman/local/nameless-1-1/desc: no %NAME% value");
        assert!(messages[3].starts_with("var/lib/pacman/local/no-desc-1-1/desc: "), "{messages:?}");
    }

    #[test]
    fn no_pacman_database_is_silent() {
        let dir = tempfile::tempdir().unwrap();
        let (inv, warnings) = collect_one(&Pacman, &Host::open(dir.path()).unwrap());
        assert!(inv.software.is_empty());
        assert!(warnings.is_empty());
    }
}
