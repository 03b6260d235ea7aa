//! Alpine packages from lib/apk/db/installed (apk-tools' installed database).
//!
//! The file is a list of blocks separated by blank lines; each line of a block is `K:value` with a
//! one-letter key. The keys read here: `P` name, `V` version, `A` arch, `I` installed size in
//! bytes, `m` maintainer, `o` origin (the source package). `t` is the *build* time, not the
//! install time, so `install_time` stays 0. Every other key (files, checksums, dependencies) is
//! ignored.
//!
//! Rules:
//! - Read line by line through [`Host::lines`]: the file lists every installed file, so it is big,
//!   and it is never held whole. A line longer than [`MAX_LINE`](crate::host::MAX_LINE) is
//!   skipped and counted; if it was the name or version, its block is malformed.
//! - A block without a name or version, or with a line that is not `K:value`, is malformed:
//!   skipped and counted, the rest is kept. A `P:` line in a block that already has a name starts
//!   a new block (a lost blank line must not merge two packages).
//! - purl: `pkg:apk/<os id>/<name>@<version>?arch=..&distro=..`. The purl spec makes the namespace
//!   (the vendor: alpine, postmarketos, wolfi...) required, so it is the os-release ID and the
//!   purl is left empty when that is unknown. The spec makes apk names lowercase.

use std::io;

use census_inventory::{Inventory, Package};

use super::purl::{distro, purl};
use super::{Source, Warnings};
use crate::host::{Host, Line};

pub struct Apk;

const INSTALLED: &str = "lib/apk/db/installed";

impl Source for Apk {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        let lines = match host.lines(INSTALLED) {
            Ok(l) => l,
            // Not an apk system: nothing to say.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(e) => return w.push(format!("{INSTALLED}: {e}")),
        };
        let parsed = parse_installed(lines);
        if let Some(e) = &parsed.error {
            w.push(format!("{INSTALLED}: read stopped early: {e}"));
        }
        if parsed.long_lines > 0 {
            w.push(format!("{INSTALLED}: skipped {} over-long lines", parsed.long_lines));
        }
        if parsed.skipped > 0 {
            w.push(format!("{INSTALLED}: skipped {} malformed entries", parsed.skipped));
        }
        let namespace = inv.os.id.to_lowercase();
        let distro = distro(&inv.os);
        for mut p in parsed.packages {
            if !namespace.is_empty() {
                let name = p.name.to_lowercase();
                p.purl = purl("apk", Some(&namespace), &name, &p.version, &[("arch", &p.arch), ("distro", &distro)]);
            }
            inv.software.push(p);
        }
    }
}

/// What [`parse_installed`] found.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Packages with at least a name and a version, in file order, without purls.
    pub packages: Vec<Package>,
    /// Malformed blocks (see the module rules).
    pub skipped: usize,
    /// Lines longer than the line limit, skipped unread.
    pub long_lines: usize,
    /// The read error that ended the file early, if any; what came before it is kept.
    pub error: Option<io::Error>,
}

/// Parses the lines of an apk installed database (as [`Host::lines`] yields them).
pub fn parse_installed(lines: impl Iterator<Item = io::Result<Line>>) -> Parsed {
    let mut parsed = Parsed::default();
    let mut block = Block::default();
    for line in lines {
        let text = match line {
            Ok(Line::Text(t)) => t,
            Ok(Line::TooLong { .. }) => {
                parsed.long_lines += 1;
                block.seen = true;
                continue;
            }
            Err(e) => {
                parsed.error = Some(e);
                break;
            }
        };
        if text.trim().is_empty() {
            block.finish(&mut parsed);
            continue;
        }
        let Some((key, value)) = split_line(&text) else {
            block.seen = true;
            block.bad = true;
            continue;
        };
        if key == 'P' && !block.package.name.is_empty() {
            block.finish(&mut parsed);
        }
        block.seen = true;
        let p = &mut block.package;
        match key {
            'P' => p.name = value.to_string(),
            'V' => p.version = value.to_string(),
            'A' => p.arch = value.to_string(),
            'I' => p.installed_size_bytes = value.parse().unwrap_or(0),
            'm' => p.maintainer = value.to_string(),
            'o' => p.source_package = value.to_string(),
            _ => {}
        }
    }
    block.finish(&mut parsed);
    parsed
}

/// `K:value` with a one-character key; the value trimmed.
fn split_line(line: &str) -> Option<(char, &str)> {
    let mut chars = line.chars();
    let key = chars.next()?;
    let rest = chars.as_str().strip_prefix(':')?;
    (!key.is_whitespace()).then_some((key, rest.trim()))
}

/// The block being read.
#[derive(Default)]
struct Block {
    package: Package,
    /// Any line seen since the last separator.
    seen: bool,
    /// A line that is not `K:value`.
    bad: bool,
}

impl Block {
    fn finish(&mut self, parsed: &mut Parsed) {
        let block = std::mem::take(self);
        if !block.seen {
            return;
        }
        let mut p = block.package;
        if block.bad || p.name.is_empty() || p.version.is_empty() {
            parsed.skipped += 1;
            return;
        }
        if p.source_package == p.name {
            p.source_package.clear();
        }
        p.source = "apk".into();
        parsed.packages.push(p);
    }
}

/// Runs the `os` source first, as [`super::collect`] does, so purls get their namespace and
/// distro from the fixture's os-release (for tests).
#[cfg(test)]
pub(crate) fn collect_after_os(source: &dyn Source, host: &Host) -> (Inventory, Vec<census_inventory::Warning>) {
    let (os, _) = super::collect_one(&super::os::Os, host);
    let mut inv = Inventory { os: os.os, ..Inventory::default() };
    let mut warnings = Vec::new();
    source.collect(host, &mut inv, &mut Warnings { source: source.name(), out: &mut warnings });
    (inv, warnings)
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Cursor, Read};

    use super::*;
    use crate::host::{BoundedLines, MAX_LINE};
    use crate::sources::{collect_one, fixture};

    fn parse(text: &[u8]) -> Parsed {
        parse_installed(BoundedLines::new(Cursor::new(text.to_vec()), MAX_LINE))
    }

    fn names(p: &Parsed) -> Vec<String> {
        p.packages.iter().map(|p| format!("{}={}", p.name, p.version)).collect()
    }

    #[test]
    fn fields() {
        let p = parse(
            b"C:Q1abc=\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\nS:1700000\nI:4 288 512\nT:Crypto library\n\
              o:openssl\nm:Ariadne Conill <ariadne@dereferenced.org>\nt:1706712000\nF:lib\nR:libcrypto.so.3\n\n\
              P:busybox\nV:1.36.1-r15\nI:946176\no:busybox\n",
        );
        assert_eq!(p.skipped, 0);
        assert_eq!(names(&p), ["libcrypto3=3.1.4-r5", "busybox=1.36.1-r15"]);
        let c = &p.packages[0];
        assert_eq!(c.arch, "x86_64");
        assert_eq!(c.installed_size_bytes, 0, "a size that is not a number is unknown");
        assert_eq!(c.source_package, "openssl");
        assert_eq!(c.maintainer, "Ariadne Conill <ariadne@dereferenced.org>");
        assert_eq!(c.install_time, 0, "t: is the build time");
        assert_eq!(c.source, "apk");
        assert_eq!(c.purl, "");
        let b = &p.packages[1];
        assert_eq!(b.installed_size_bytes, 946176);
        assert_eq!(b.source_package, "", "origin equal to the name is not repeated");
        assert_eq!(b.arch, "");
    }

    #[test]
    fn malformed_blocks_are_counted_and_the_rest_kept() {
        let p = parse(
            b"\n\n\
              P:no-version\nA:x86_64\n\n\
              V:1.0-r0\nA:x86_64\n\n\
              P:garbled\nV:1-r0\nthis is not a field\n\n\
              P:empty-version\nV:\n\n\
              P:ok\nV:2-r0\n\r\n  \n\
              P:truncated\nV:3-r",
        );
        assert_eq!(p.skipped, 4);
        assert_eq!(names(&p), ["ok=2-r0", "truncated=3-r"]);
        assert!(p.error.is_none());
    }

    #[test]
    fn a_missing_blank_line_does_not_merge_packages() {
        let p = parse(b"P:a\nV:1-r0\nA:x86_64\nP:b\nV:2-r0\n");
        assert_eq!(names(&p), ["a=1-r0", "b=2-r0"]);
        assert_eq!(p.packages[1].arch, "");
    }

    #[test]
    fn long_lines_are_skipped_without_losing_the_block() {
        let mut text = b"P:big\nV:1-r0\nR:".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE + 1));
        text.extend_from_slice(b"\nA:aarch64\n\nP:small\nV:1-r1\n\nP:lost-version\nV:");
        text.extend(std::iter::repeat_n(b'9', MAX_LINE + 1));
        let p = parse(&text);
        assert_eq!(p.long_lines, 2);
        assert_eq!(names(&p), ["big=1-r0", "small=1-r1"]);
        assert_eq!(p.packages[0].arch, "aarch64");
        assert_eq!(p.skipped, 1, "the block whose version was too long");
    }

    #[test]
    fn invalid_utf8_and_odd_bytes_do_not_panic() {
        let p = parse(b"P:caf\xc3\xa9\nV:1\xff-r0\n\n\xff:\n\xc3\n:\n\0\0\0\n\nP:\xe2\x82\nV:1\n");
        assert_eq!(p.packages[0].name, "caf\u{e9}");
        assert_eq!(p.packages[0].version, "1\u{fffd}-r0");
        assert_eq!(p.packages[1].name, "\u{fffd}");
        assert_eq!(p.skipped, 1);
    }

    /// A reader that fails after its first bytes: what came before is kept.
    struct FailingReader(Cursor<Vec<u8>>);

    impl Read for FailingReader {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(io::Error::other("device gone")),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn a_read_error_keeps_what_came_before() {
        let reader = BufReader::with_capacity(8, FailingReader(Cursor::new(b"P:a\nV:1-r0\n\nP:b\nV:2-r0\n".to_vec())));
        let p = parse_installed(BoundedLines::new(reader, MAX_LINE));
        assert_eq!(names(&p), ["a=1-r0", "b=2-r0"]);
        assert_eq!(p.error.unwrap().to_string(), "device gone");
    }

    #[test]
    fn alpine_fixture() {
        let (inv, warnings) = collect_after_os(&Apk, &fixture("alpine-3.19"));
        assert_eq!(warnings, vec![]);
        let p = &inv.software;
        assert_eq!(p.len(), 4);
        let expected = [
            (
                "musl",
                "1.2.4_git20230717-r4",
                "",
                "Timo Teräs <timo.teras@iki.fi>",
                622592,
                "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1",
            ),
            (
                "busybox",
                "1.36.1-r15",
                "",
                "Sören Tempel <soeren+alpine@soeren-tempel.net>",
                946176,
                "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1",
            ),
            (
                "alpine-baselayout-data",
                "3.4.3-r2",
                "alpine-baselayout",
                "Natanael Copa <ncopa@alpinelinux.org>",
                77824,
                "pkg:apk/alpine/alpine-baselayout-data@3.4.3-r2?arch=x86_64&distro=alpine-3.19.1",
            ),
            (
                "libcrypto3",
                "3.1.4-r5",
                "openssl",
                "Ariadne Conill <ariadne@dereferenced.org>",
                4292608,
                "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1",
            ),
        ];
        for (p, (name, version, origin, maintainer, size, purl)) in p.iter().zip(expected) {
            let want = Package {
                name: name.into(),
                version: version.into(),
                arch: "x86_64".into(),
                source: "apk".into(),
                source_package: origin.into(),
                maintainer: maintainer.into(),
                installed_size_bytes: size,
                purl: purl.into(),
                ..Package::default()
            };
            assert_eq!(p, &want);
        }
    }

    #[test]
    fn no_os_id_means_no_purl() {
        let (inv, warnings) = collect_one(&Apk, &fixture("alpine-3.19"));
        assert_eq!(warnings, vec![]);
        assert_eq!(inv.software.len(), 4);
        assert!(inv.software.iter().all(|p| p.purl.is_empty()));
    }

    #[test]
    fn uppercase_names_are_lowercased_in_the_purl_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("lib/apk/db")).unwrap();
        std::fs::write(dir.path().join(INSTALLED), "P:py3-PyYAML\nV:6.0.1-r1\nA:armv7\n").unwrap();
        let host = Host::open(dir.path()).unwrap();
        let mut inv = Inventory::default();
        inv.os.id = "postmarketos".into();
        inv.os.version = "v23.12".into();
        let mut warnings = Vec::new();
        Apk.collect(&host, &mut inv, &mut Warnings { source: "apk", out: &mut warnings });
        assert_eq!(warnings, vec![]);
        assert_eq!(inv.software[0].name, "py3-PyYAML");
        assert_eq!(
            inv.software[0].purl,
            "pkg:apk/postmarketos/py3-pyyaml@6.0.1-r1?arch=armv7&distro=postmarketos-v23.12"
        );
    }

    #[test]
    fn problems_are_one_warning_each_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("lib/apk/db")).unwrap();
        let mut text = b"P:a\nV:1-r0\n\nP:b\n\nP:c\n\nM:".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        std::fs::write(dir.path().join(INSTALLED), text).unwrap();
        let (inv, warnings) = collect_one(&Apk, &Host::open(dir.path()).unwrap());
        assert_eq!(inv.software.len(), 1);
        let messages: Vec<_> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            messages,
            ["lib/apk/db/installed: skipped 1 over-long lines", "lib/apk/db/installed: skipped 3 malformed entries"]
        );
        assert!(warnings.iter().all(|w| w.source == "apk"));
    }

    #[test]
    fn a_database_that_is_a_directory_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(INSTALLED)).unwrap();
        let (inv, warnings) = collect_one(&Apk, &Host::open(dir.path()).unwrap());
        assert!(inv.software.is_empty());
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].message.starts_with("lib/apk/db/installed: "), "{warnings:?}");
    }

    #[test]
    fn no_apk_database_is_silent() {
        let dir = tempfile::tempdir().unwrap();
        let (inv, warnings) = collect_one(&Apk, &Host::open(dir.path()).unwrap());
        assert!(inv.software.is_empty());
        assert!(warnings.is_empty());
    }
}
