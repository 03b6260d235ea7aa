//! Python distributions installed system-wide, from their metadata in the system site
//! directories.
//!
//! Site directories (each `python3*` entry matched here, so `python3`, `python3.11`, `python3.13t`):
//! `usr/lib/python3*/{site,dist}-packages`, `usr/lib64/python3*/{site,dist}-packages` and
//! `usr/local/lib/python3*/{site,dist}-packages`, in that order. Two of them that are the same
//! directory (`/usr/lib64` a symlink to `/usr/lib`) are read once, under the first name. Virtual
//! environments and per-user (`~/.local`) installs are not system-wide and are not read.
//!
//! Distributions: `NAME-VERSION.dist-info/METADATA` (wheels), `NAME.egg-info/PKG-INFO` and
//! `NAME-VERSION.egg-info` as a plain file (setuptools, distutils) — what `importlib.metadata`
//! finds in a directory. Their header block (RFC 822 style, up to the first blank line) is read
//! line by line in bounded memory; the description after it is not read. Continuation lines
//! (starting with white space) are folded into the field above. Fields: `Name`, `Version` (both
//! required: an entry without them is skipped with a warning), `Maintainer`/`Maintainer-email`,
//! else `Author`/`Author-email` → maintainer (`Name <email>`; setuptools' `UNKNOWN` is no value).
//! The first occurrence of a field counts, as in Python's `email` parser.
//!
//! Package: source `python` (its own source, so a Python distribution never merges with the OS
//! package that may have installed it), `location` = the site directory as a host path
//! (`/usr/lib/python3/dist-packages`), purl `pkg:pypi/NAME@VERSION` (the purl library normalises
//! the name). `install_time` is the metadata file's modification time: the install time for pip,
//! but for files unpacked by a system package manager (dpkg, rpm keep the archive's times) it is
//! the package build time. The same (normalised name, version, location) is kept once (Debian
//! ships some distributions both as `.dist-info` and `.egg-info`), the first in name order.

use std::collections::HashSet;
use std::io;
use std::time::UNIX_EPOCH;

use census_inventory::{Inventory, Package};

use super::purl::purl;
use super::{Source, Warnings};
use crate::host::{Host, Line};

pub struct Python;

/// Library directories whose `python3*` entries hold site directories.
const LIB_DIRS: &[&str] = &["usr/lib", "usr/lib64", "usr/local/lib"];
const SITE_DIRS: &[&str] = &["site-packages", "dist-packages"];

impl Source for Python {
    fn name(&self) -> &'static str {
        "python"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        let mut seen_dirs = HashSet::new();
        let mut seen = HashSet::new();
        for site in site_dirs(host, w) {
            // Read a directory reached under two names once.
            let real = std::fs::canonicalize(host.path(&site)).unwrap_or_else(|_| host.path(&site));
            if !seen_dirs.insert(real) {
                continue;
            }
            let location = format!("/{site}");
            for p in collect_site(host, &site, &location, w) {
                if seen.insert((normalize(&p.name), p.version.clone(), p.location.clone())) {
                    inv.software.push(p);
                }
            }
        }
    }
}

/// Site directories that exist under the root, in the documented order.
fn site_dirs(host: &Host, w: &mut Warnings<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for lib in LIB_DIRS {
        let entries = match host.list_dir(lib) {
            Ok(e) => e,
            Err(e) => {
                w.push(format!("{lib}: {e}"));
                continue;
            }
        };
        for entry in entries.iter().filter(|e| e.starts_with("python3")) {
            for site in SITE_DIRS {
                let rel = format!("{lib}/{entry}/{site}");
                if host.is_dir(&rel) {
                    out.push(rel);
                }
            }
        }
    }
    out
}

/// Every distribution in one site directory (`site` under the root, `location` on the host).
fn collect_site(host: &Host, site: &str, location: &str, w: &mut Warnings<'_>) -> Vec<Package> {
    let entries = match host.list_dir(site) {
        Ok(e) => e,
        Err(e) => {
            w.push(format!("{site}: {e}"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let rel = format!("{site}/{entry}");
        let lower = entry.to_ascii_lowercase();
        let meta_rel = if lower.ends_with(".dist-info") {
            format!("{rel}/METADATA")
        } else if lower.ends_with(".egg-info") {
            if host.is_dir(&rel) { format!("{rel}/PKG-INFO") } else { rel.clone() }
        } else {
            continue;
        };
        if let Some(p) = read_metadata(host, &meta_rel, location, w) {
            out.push(p);
        }
    }
    out
}

/// Reads one METADATA / PKG-INFO file into a package, warning about what is wrong with it.
fn read_metadata(host: &Host, rel: &str, location: &str, w: &mut Warnings<'_>) -> Option<Package> {
    let lines = match host.lines(rel) {
        Ok(l) => l,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let file = rel.rsplit('/').next().unwrap_or(rel);
            let dir = rel[..rel.len() - file.len()].trim_end_matches('/');
            w.push(format!("{dir}: no {file}"));
            return None;
        }
        Err(e) => {
            w.push(format!("{rel}: {e}"));
            return None;
        }
    };
    let mut read_error = None;
    let meta = parse_metadata_lines(lines.map_while(|l| l.map_err(|e| read_error = Some(e)).ok()));
    if let Some(e) = read_error {
        w.push(format!("{rel}: {e}"));
        return None;
    }
    if meta.too_long_lines > 0 {
        w.push(format!("{rel}: skipped {} header lines longer than 1 MiB", meta.too_long_lines));
    }
    let mut p = match metadata_package(&meta, location) {
        Ok(p) => p,
        Err(missing) => {
            w.push(format!("{rel}: no {missing}"));
            return None;
        }
    };
    p.install_time = std::fs::metadata(host.path(rel))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    Some(p)
}

/// The header fields of a METADATA / PKG-INFO file this source uses.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub name: String,
    pub version: String,
    pub author: String,
    pub author_email: String,
    pub maintainer: String,
    pub maintainer_email: String,
    /// Header lines skipped for being longer than the line limit.
    pub too_long_lines: usize,
}

impl Metadata {
    /// `Maintainer <Maintainer-email>`, else the same from Author; either part alone when only
    /// one is known. An email field already in `Name <email>` form is used as it is.
    pub fn maintainer(&self) -> String {
        let pick = |name: &str, email: &str| -> String {
            match (name.is_empty(), email.is_empty()) {
                (_, true) => name.to_string(),
                (true, false) => email.to_string(),
                (false, false) if email.contains('<') => email.to_string(),
                (false, false) => format!("{name} <{email}>"),
            }
        };
        let m = pick(&self.maintainer, &self.maintainer_email);
        if m.is_empty() { pick(&self.author, &self.author_email) } else { m }
    }
}

/// Parses METADATA text (see [`parse_metadata_lines`]).
pub fn parse_metadata(text: &str) -> Metadata {
    parse_metadata_lines(text.lines().map(|l| Line::Text(l.to_string())))
}

/// Parses the header block of a METADATA / PKG-INFO file, stopping at the first blank line (or
/// at a line that is not a header, as Python's `email` parser does).
pub fn parse_metadata_lines(lines: impl IntoIterator<Item = Line>) -> Metadata {
    let mut m = Metadata::default();
    // The field being read, and whether its continuation lines are kept.
    let mut current: Option<&'static str> = None;
    let mut first_line = true;
    for line in lines {
        let text = match line {
            Line::Text(t) => t,
            Line::TooLong { .. } => {
                m.too_long_lines += 1;
                current = None;
                continue;
            }
        };
        let text = if first_line { text.strip_prefix('\u{feff}').unwrap_or(&text).to_string() } else { text };
        first_line = false;
        if text.is_empty() {
            break;
        }
        if text.starts_with([' ', '\t']) {
            if let Some(field) = current {
                let folded = text.trim();
                let slot = field_slot(&mut m, field);
                if !folded.is_empty() {
                    if !slot.is_empty() {
                        slot.push(' ');
                    }
                    slot.push_str(folded);
                }
            }
            continue;
        }
        let Some((key, value)) = text.split_once(':') else { break };
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            break;
        }
        current = None;
        let Some(field) = FIELDS.iter().find(|f| f.eq_ignore_ascii_case(key)).copied() else { continue };
        let slot = field_slot(&mut m, field);
        // The first occurrence counts; a repeated field and its continuations are ignored.
        if slot.is_empty() {
            slot.push_str(value.trim());
            current = Some(field);
        }
    }
    for slot in [&mut m.author, &mut m.author_email, &mut m.maintainer, &mut m.maintainer_email] {
        if slot.eq_ignore_ascii_case("UNKNOWN") || slot.eq_ignore_ascii_case("None") {
            slot.clear();
        }
    }
    m
}

const FIELDS: &[&str] = &["Name", "Version", "Author", "Author-email", "Maintainer", "Maintainer-email"];

fn field_slot<'a>(m: &'a mut Metadata, field: &str) -> &'a mut String {
    match field {
        "Name" => &mut m.name,
        "Version" => &mut m.version,
        "Author" => &mut m.author,
        "Author-email" => &mut m.author_email,
        "Maintainer" => &mut m.maintainer,
        _ => &mut m.maintainer_email,
    }
}

/// The package for parsed metadata found in site directory `location`; `Err` names the missing
/// required field.
pub fn metadata_package(meta: &Metadata, location: &str) -> Result<Package, &'static str> {
    if meta.name.is_empty() {
        return Err("Name");
    }
    if meta.version.is_empty() {
        return Err("Version");
    }
    Ok(Package {
        name: meta.name.clone(),
        version: meta.version.clone(),
        source: "python".into(),
        maintainer: meta.maintainer(),
        purl: purl("pypi", None, &meta.name, &meta.version, &[]),
        location: location.to_string(),
        ..Package::default()
    })
}

/// PEP 503 normalised name: lowercase, runs of `-`, `_`, `.` as one `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;
    use std::process::Command;

    use super::*;
    use crate::host::BoundedLines;
    use crate::sources::{collect_one, fixture};

    fn show(p: &Package) -> String {
        format!("{} | {}={} | {} | {}", p.location, p.name, p.version, p.maintainer, p.purl)
    }

    #[test]
    fn fixture_two_site_dirs() {
        let (inv, warnings) = collect_one(&Python, &fixture("python-debian"));
        let got: Vec<String> = inv.software.iter().map(show).collect();
        assert_eq!(
            got,
            [
                "/usr/lib/python3/dist-packages | PyYAML=6.0 | Kirill Simonov <xi@resolvent.net> | pkg:pypi/pyyaml@6.0",
                "/usr/lib/python3/dist-packages | cryptography=38.0.4 | The Python Cryptographic Authority and individual contributors <cryptography-dev@python.org> | pkg:pypi/cryptography@38.0.4",
                "/usr/lib/python3/dist-packages | python-apt=2.6.0 | APT Development Team <deity@lists.debian.org> | pkg:pypi/python-apt@2.6.0",
                "/usr/lib/python3/dist-packages | six=1.16.0 | Benjamin Peterson <benjamin@python.org> | pkg:pypi/six@1.16.0",
                "/usr/local/lib/python3.11/dist-packages | Django_Rest=3.14.0 | Tom Christie <tom@tomchristie.com> | pkg:pypi/django-rest@3.14.0",
                "/usr/local/lib/python3.11/dist-packages | caf=0.1 | Jos\u{fffd} Garc\u{fffd}a | pkg:pypi/caf@0.1",
                "/usr/local/lib/python3.11/dist-packages | requests=2.31.0 | Kenneth Reitz <me@kennethreitz.org> | pkg:pypi/requests@2.31.0",
            ]
        );
        assert!(inv.software.iter().all(|p| p.source == "python" && p.install_time > 0));
        let messages: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "usr/lib/python3/dist-packages/broken-1.0.dist-info: no METADATA",
                "usr/lib/python3/dist-packages/noversion-1.0.dist-info/METADATA: no Version",
            ]
        );
    }

    #[test]
    fn metadata_fields_and_continuations() {
        let m = parse_metadata(
            "\u{feff}Metadata-Version: 2.1\n\
             Name: Example.Pkg\n\
             version:  1.0.post1  \n\
             Author: Ada\n\
             \x20 Lovelace\n\
             Author-email: ada@example.org\n\
             Name: Second-Name-Ignored\n\
             Classifier: Topic :: Utilities\n\
             \n\
             Name: in-the-description\n",
        );
        assert_eq!(m.name, "Example.Pkg");
        assert_eq!(m.version, "1.0.post1");
        assert_eq!(m.maintainer(), "Ada Lovelace <ada@example.org>");
        let p = metadata_package(&m, "/usr/lib/python3/dist-packages").unwrap();
        assert_eq!(p.purl, "pkg:pypi/example.pkg@1.0.post1");

        let m = parse_metadata(
            "Name: x\nVersion: 1\nAuthor: UNKNOWN\nAuthor-email: UNKNOWN\nMaintainer-email: Team <t@x.org>\n",
        );
        assert_eq!(m.maintainer(), "Team <t@x.org>");
        let m = parse_metadata("Name: x\nVersion: 1\nAuthor-email: \"A B\" <ab@x.org>, c@x.org\nMaintainer: M\n");
        assert_eq!(m.maintainer(), "M");
        let m = parse_metadata("Name: x\nVersion: 1\nAuthor-email: a@x.org\n");
        assert_eq!(m.maintainer(), "a@x.org");
        // A line that is not a header ends the headers, as in Python's email parser.
        let m = parse_metadata("Name: x\nnot a header\nVersion: 1\n");
        assert_eq!((m.name.as_str(), m.version.as_str()), ("x", ""));
        // White space on its own is a continuation, not the blank line.
        let m = parse_metadata("Name: x\n   \nVersion: 2\n");
        assert_eq!(m.version, "2");
    }

    #[test]
    fn missing_fields_and_bad_input() {
        assert_eq!(metadata_package(&parse_metadata("Version: 1\n"), "/x"), Err("Name"));
        assert_eq!(metadata_package(&parse_metadata("Name: a\n"), "/x"), Err("Version"));
        assert_eq!(metadata_package(&parse_metadata(""), "/x"), Err("Name"));
        let lossy = String::from_utf8_lossy(b"Name: caf\xe9\nVersion: 1\xff\n").into_owned();
        let m = parse_metadata(&lossy);
        assert_eq!((m.name.as_str(), m.version.as_str()), ("caf\u{fffd}", "1\u{fffd}"));
        // Long lines are skipped and counted, the rest still read.
        let text = format!("Name: a\nSummary: {}\nVersion: 3\n", "x".repeat(100));
        let m = parse_metadata_lines(BoundedLines::new(io::Cursor::new(text), 50).map(Result::unwrap));
        assert_eq!((m.name.as_str(), m.version.as_str(), m.too_long_lines), ("a", "3", 1));
    }

    #[test]
    fn lines_over_one_mib_are_skipped_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let info = dir.path().join("usr/lib/python3.12/site-packages/big-1.0.dist-info");
        std::fs::create_dir_all(&info).unwrap();
        let huge = "x".repeat(crate::host::MAX_LINE + 10);
        // One long header line (skipped, counted) and one in the description (never read).
        let text = format!("Metadata-Version: 2.1\nName: big\nSummary: {huge}\nVersion: 1.0\n\n{huge}\n");
        std::fs::write(info.join("METADATA"), text).unwrap();
        let (inv, warnings) = collect_one(&Python, &Host::open(dir.path()).unwrap());
        assert_eq!(inv.software.len(), 1);
        assert_eq!((inv.software[0].name.as_str(), inv.software[0].version.as_str()), ("big", "1.0"));
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            warnings[0].message,
            "usr/lib/python3.12/site-packages/big-1.0.dist-info/METADATA: skipped 1 header lines longer than 1 MiB"
        );
    }

    #[test]
    fn names_normalise() {
        assert_eq!(normalize("Django_Rest"), "django-rest");
        assert_eq!(normalize("lazr.restfulclient"), "lazr-restfulclient");
        assert_eq!(normalize("A--b__c..D"), "a-b-c-d");
        assert_eq!(normalize("_x"), "x");
    }

    #[test]
    fn symlinked_lib64_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("usr/lib/python3.12/site-packages/attrs-23.1.0.dist-info");
        std::fs::create_dir_all(&site).unwrap();
        std::fs::write(site.join("METADATA"), "Metadata-Version: 2.1\nName: attrs\nVersion: 23.1.0\n").unwrap();
        std::os::unix::fs::symlink("lib", dir.path().join("usr/lib64")).unwrap();
        let (inv, warnings) = collect_one(&Python, &Host::open(dir.path()).unwrap());
        assert!(warnings.is_empty(), "{warnings:?}");
        let got: Vec<String> = inv.software.iter().map(show).collect();
        assert_eq!(got, ["/usr/lib/python3.12/site-packages | attrs=23.1.0 |  | pkg:pypi/attrs@23.1.0"]);
    }

    #[test]
    fn no_python_is_silent() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("usr/lib/python3.11")).unwrap();
        std::fs::create_dir_all(dir.path().join("usr/lib/x86_64-linux-gnu")).unwrap();
        let (inv, warnings) = collect_one(&Python, &Host::open(dir.path()).unwrap());
        assert!(inv.software.is_empty());
        assert!(warnings.is_empty());
        let (inv, warnings) = collect_one(&Python, &fixture("debian12"));
        assert!(inv.software.is_empty());
        assert!(warnings.is_empty());
    }

    /// What Python's own importlib.metadata lists in the same system site directories, as
    /// (name, version, location), read in the same order and with the same symlink rule.
    const GROUND_TRUTH: &str = r#"
import glob, importlib.metadata as m, os
seen = set()
for base in ("/usr/lib", "/usr/lib64", "/usr/local/lib"):
    for d in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        if not d.startswith("python3"):
            continue
        for sub in ("site-packages", "dist-packages"):
            p = os.path.join(base, d, sub)
            if not os.path.isdir(p) or os.path.realpath(p) in seen:
                continue
            seen.add(os.path.realpath(p))
            for dist in m.distributions(path=[p]):
                name, version = dist.metadata["Name"], dist.metadata["Version"]
                if name and version:
                    print(name.strip(), version.strip(), p, sep="\t")
"#;

    /// On the live host, this source finds exactly what Python finds (one per name, version and
    /// site directory). Skipped, with the reason printed, where there is no usable python3.
    #[test]
    fn live_host_matches_importlib_metadata() {
        let output = match Command::new("python3").arg("-c").arg(GROUND_TRUTH).output() {
            Ok(o) if o.status.success() => o,
            Ok(o) => {
                println!("skipped: python3 failed: {}", String::from_utf8_lossy(&o.stderr));
                return;
            }
            Err(e) => {
                println!("skipped: no python3 to compare with ({e})");
                return;
            }
        };
        let python: BTreeSet<(String, String, String)> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| {
                let mut f = l.split('\t');
                Some((normalize(f.next()?), f.next()?.to_string(), f.next()?.to_string()))
            })
            .collect();
        let (inv, _) = collect_one(&Python, &Host::open(Path::new("/")).unwrap());
        let ours: BTreeSet<(String, String, String)> =
            inv.software.iter().map(|p| (normalize(&p.name), p.version.clone(), p.location.clone())).collect();
        assert_eq!(ours.len(), inv.software.len(), "duplicates were reported");
        println!("python3 lists {} distributions, this source {}", python.len(), ours.len());
        assert_eq!(ours, python);
    }
}
