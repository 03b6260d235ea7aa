//! Snaps: the active revision of each installed snap, from its mounted `meta/snap.yaml`.
//!
//! snapd mounts revision REV of snap instance NAME at `snap/NAME/REV` (Debian, Ubuntu) or
//! `var/lib/snapd/snap/NAME/REV` (Fedora, Arch...; often with `/snap` a symlink to it), and points
//! the symlink `NAME/current` at the active revision. Older revisions kept for rollback are not
//! active and are not reported.
//!
//! Rules:
//! - Symlinks are resolved inside the root ([`resolve`]): an absolute target starts again at the
//!   root, `..` stops there, so a hostile or foreign link never reads the agent's own host. A
//!   `current` that does not resolve to a directory beside it (the snap's own directory) is a
//!   warning, as is one pointing at a missing revision.
//! - Entries without `current` (`snap/bin`, `README`, a disabled snap) are skipped silently.
//! - From snap.yaml only top-level scalars are needed (`name`, `version`, `architectures`), so it
//!   is read by [`SnapYamlReader`], a line reader for top-level `key: value` scalars, instead of
//!   a YAML crate: no dependency, bounded memory (the file is read through [`BoundedLines`], one
//!   line of at most [`MAX_LINE`] at a time), nothing but the three keys is interpreted, and
//!   anything it does not understand (anchors, tags, multi-line flow collections) reads as absent
//!   rather than wrong.
//! - When snap.yaml is missing (an offline image whose squashfs files are not mounted) or lacks
//!   a name or version, that is one warning, and the snap is still reported: name from its
//!   instance directory (`NAME_KEY` for parallel installs), version empty.
//! - Reported: name and version from snap.yaml, arch = its architectures joined with `,` (empty
//!   when not listed), location = the revision's mount point (`/snap/NAME/REV`), installed size
//!   = the size of `var/lib/snapd/snaps/NAME_REV.snap` when present.
//! - purl: the purl spec has no snap type, so purl is empty.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;

use census_inventory::{Inventory, Package};

use super::{Source, Warnings};
use crate::host::{BoundedLines, Host, Line, MAX_LINE};

pub struct Snap;

/// Where snapd mounts snaps, in the order they are scanned.
const MOUNT_DIRS: [&str; 2] = ["snap", "var/lib/snapd/snap"];

/// Where snapd keeps the snap files it mounts.
const SNAP_FILES: &str = "var/lib/snapd/snaps";

impl Source for Snap {
    fn name(&self) -> &'static str {
        "snap"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        let mut scanned = HashSet::new();
        let mut instances = HashSet::new();
        for mount in MOUNT_DIRS {
            let dir = match host.resolve(Path::new(mount)) {
                Ok(d) => d,
                // Not a snap system (or not this layout): nothing to say.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    w.push(format!("{mount}: {e}"));
                    continue;
                }
            };
            // `/snap` is often a symlink to `/var/lib/snapd/snap`: scan that directory once.
            if !host.root().join(&dir).is_dir() || !scanned.insert(dir.clone()) {
                continue;
            }
            let names = match list(&host.root().join(&dir)) {
                Ok(n) => n,
                Err(e) => {
                    w.push(format!("{mount}: {e}"));
                    continue;
                }
            };
            for instance in names {
                if instances.contains(&instance) {
                    continue;
                }
                if let Some(p) = active_revision(host, mount, &dir, &instance, w) {
                    instances.insert(instance);
                    inv.software.push(p);
                }
            }
        }
    }
}

/// The package for the active revision of `instance` under `dir` (the resolved `mount`).
fn active_revision(host: &Host, mount: &str, dir: &Path, instance: &OsString, w: &mut Warnings<'_>) -> Option<Package> {
    let instance_dir = dir.join(instance);
    let shown = format!("{mount}/{}", instance.to_string_lossy());
    // Only real directories are snaps (`README` is a file, a symlink is not snapd's).
    if !std::fs::symlink_metadata(host.root().join(&instance_dir)).is_ok_and(|m| m.is_dir()) {
        return None;
    }
    let current = instance_dir.join("current");
    match std::fs::symlink_metadata(host.root().join(&current)) {
        Ok(m) if m.file_type().is_symlink() => {}
        Ok(_) => {
            w.push(format!("{shown}/current: not a symlink"));
            return None;
        }
        // `snap/bin`, or a disabled snap.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => {
            w.push(format!("{shown}/current: {e}"));
            return None;
        }
    }
    let target = std::fs::read_link(host.root().join(&current)).map(|t| t.display().to_string()).unwrap_or_default();
    let revision_dir = match host.resolve(&current) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            w.push(format!("{shown}/current: points to {target}, which is missing"));
            return None;
        }
        Err(e) => {
            w.push(format!("{shown}/current: {e}"));
            return None;
        }
    };
    if revision_dir.parent() != Some(instance_dir.as_path()) || !host.root().join(&revision_dir).is_dir() {
        w.push(format!("{shown}/current: points to {target}, not a revision directory of the snap"));
        return None;
    }
    let revision = revision_dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let instance = instance.to_string_lossy().into_owned();
    let yaml_shown = format!("{shown}/{revision}/meta/snap.yaml");
    let yaml = match read_snap_yaml(host, &revision_dir.join("meta/snap.yaml")) {
        Ok((yaml, long_lines)) => {
            if long_lines > 0 {
                w.push(format!("{yaml_shown}: skipped {long_lines} over-long lines"));
            }
            let missing: Vec<&str> = [("name", yaml.name.is_none()), ("version", yaml.version.is_none())]
                .into_iter()
                .filter_map(|(field, absent)| absent.then_some(field))
                .collect();
            if !missing.is_empty() {
                w.push(format!("{yaml_shown}: no {}", missing.join(" or ")));
            }
            yaml
        }
        Err(e) => {
            w.push(format!("{yaml_shown}: {e}"));
            SnapYaml::default()
        }
    };
    // A parallel install `NAME_KEY` is an instance of snap NAME.
    let fallback_name = instance.split('_').next().unwrap_or_default().to_string();
    let size = host
        .resolve(&Path::new(SNAP_FILES).join(format!("{instance}_{revision}.snap")))
        .and_then(|f| std::fs::metadata(host.root().join(f)))
        .map(|m| if m.is_file() { m.len() } else { 0 })
        .unwrap_or(0);
    Some(Package {
        name: yaml.name.unwrap_or(fallback_name),
        version: yaml.version.unwrap_or_default(),
        arch: yaml.architectures.join(","),
        source: "snap".into(),
        installed_size_bytes: size,
        location: format!("/{mount}/{instance}/{revision}"),
        ..Package::default()
    })
}

/// Reads snap.yaml at the root-relative `rel` (symlinks resolved in the root) line by line.
/// Returns what was read and how many over-long lines were skipped.
fn read_snap_yaml(host: &Host, rel: &Path) -> io::Result<(SnapYaml, usize)> {
    let path = host.root().join(host.resolve(rel)?);
    let mut reader = SnapYamlReader::default();
    let mut long_lines = 0;
    for line in BoundedLines::new(BufReader::new(File::open(path)?), MAX_LINE) {
        match line? {
            Line::Text(t) => reader.line(&t),
            Line::TooLong { .. } => long_lines += 1,
        }
    }
    Ok((reader.finish(), long_lines))
}

/// Sorted names of the entries of directory `path`.
fn list(path: &Path) -> io::Result<Vec<OsString>> {
    let mut names = std::fs::read_dir(path)?.map(|e| e.map(|e| e.file_name())).collect::<io::Result<Vec<_>>>()?;
    names.sort();
    Ok(names)
}

/// The top-level scalars of a snap.yaml that census uses. Values are non-empty, trimmed and
/// free of control characters; anything else reads as absent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SnapYaml {
    pub name: Option<String>,
    pub version: Option<String>,
    pub architectures: Vec<String>,
}

/// Parses snap.yaml text (see [`SnapYamlReader`]).
pub fn parse_snap_yaml(text: &str) -> SnapYaml {
    let mut reader = SnapYamlReader::default();
    for line in text.lines() {
        reader.line(line);
    }
    reader.finish()
}

/// A line-at-a-time reader of top-level `key: value` scalars, enough for snap.yaml.
///
/// Understood: comments, plain, single- and double-quoted one-line scalars, `~`/`null`, and
/// `architectures` as a one-line flow sequence (`[amd64, arm64]`) or a block sequence (`- amd64`).
/// Indented lines belong to the key above and are skipped (so `apps:` entries named `name` are
/// not the snap's name), as are the continuation lines of a quoted scalar left open. The first
/// occurrence of a key counts; a second document (`---` after content, or `...`) ends reading.
#[derive(Debug, Default)]
pub struct SnapYamlReader {
    yaml: SnapYaml,
    /// The last top-level key was `architectures:` with its items on the following lines.
    in_architectures: bool,
    architectures_seen: bool,
    /// A quoted top-level scalar continues on the next lines, until this quote closes it.
    open_quote: Option<char>,
    started: bool,
    done: bool,
}

impl SnapYamlReader {
    pub fn line(&mut self, line: &str) {
        if self.done {
            return;
        }
        if let Some(q) = self.open_quote {
            if closing_quote(line, q).is_some() {
                self.open_quote = None;
            }
            return;
        }
        let t = line.trim_end();
        if t.is_empty() || t.trim_start().starts_with('#') {
            return;
        }
        if t == "..." || (t.starts_with("---") && (t.len() == 3 || t[3..].starts_with([' ', '\t']))) {
            self.done = self.started || t == "...";
            return;
        }
        self.started = true;
        let is_item = t == "-" || t.starts_with("- ");
        if t.starts_with([' ', '\t']) || is_item {
            let item = t.trim_start();
            if self.in_architectures
                && (item == "-" || item.starts_with("- "))
                && let Some(v) = scalar(&item[1..])
            {
                self.yaml.architectures.push(v);
            }
            return;
        }
        self.in_architectures = false;
        let Some((key, value)) = split_key(t) else { return };
        let v = value.trim_start();
        if let Some(q) = v.chars().next().filter(|c| matches!(c, '"' | '\''))
            && closing_quote(&v[1..], q).is_none()
        {
            self.open_quote = Some(q);
            return;
        }
        match key {
            "name" if self.yaml.name.is_none() => self.yaml.name = scalar(value),
            "version" if self.yaml.version.is_none() => self.yaml.version = scalar(value),
            "architectures" if !self.architectures_seen => {
                self.architectures_seen = true;
                if v.is_empty() || v.starts_with('#') {
                    self.in_architectures = true;
                } else {
                    self.yaml.architectures = flow_sequence(v);
                }
            }
            _ => {}
        }
    }

    pub fn finish(self) -> SnapYaml {
        self.yaml
    }
}

/// `key: value` (or `key:` alone) on a top-level line; quoted and complex keys are not read.
fn split_key(line: &str) -> Option<(&str, &str)> {
    if line.starts_with(['"', '\'', '?', '&', '!', '[', '{', '#']) {
        return None;
    }
    let colon = line
        .char_indices()
        .find(|&(i, c)| c == ':' && line[i + 1..].chars().next().is_none_or(|n| n == ' ' || n == '\t'))?
        .0;
    let key = line[..colon].trim_end();
    (!key.is_empty()).then_some((key, &line[colon + 1..]))
}

/// The byte index in `s` of the quote `q` that closes a scalar opened before `s`.
fn closing_quote(s: &str, q: char) -> Option<usize> {
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if q == '"' => {
                chars.next();
            }
            '\'' if q == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\'') => {
                chars.next();
            }
            c if c == q => return Some(i),
            _ => {}
        }
    }
    None
}

/// A one-line scalar value; `None` for empty, null, block scalars, collections, anchors, aliases,
/// tags, anything malformed, or a value with control characters.
fn scalar(value: &str) -> Option<String> {
    let v = value.trim();
    let (text, rest) = match v.chars().next()? {
        '"' => {
            let end = closing_quote(&v[1..], '"')? + 1;
            (unescape_double(&v[1..end])?, &v[end + 1..])
        }
        '\'' => {
            let end = closing_quote(&v[1..], '\'')? + 1;
            (v[1..end].replace("''", "'"), &v[end + 1..])
        }
        '|' | '>' | '[' | '{' | ']' | '}' | '&' | '*' | '!' | '%' | '@' | '`' | '#' | ',' => return None,
        _ => {
            let plain = match v.find(" #").or_else(|| v.find("\t#")) {
                Some(i) => v[..i].trim_end(),
                None => v,
            };
            if matches!(plain, "~" | "null" | "Null" | "NULL") {
                return None;
            }
            (plain.to_string(), "")
        }
    };
    let rest = rest.trim_start();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return None;
    }
    let text = text.trim();
    (!text.is_empty() && !text.chars().any(char::is_control)).then(|| text.to_string())
}

/// The escapes of a YAML double-quoted scalar a version or name could hold; others are refused.
fn unescape_double(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            ' ' => ' ',
            _ => return None,
        });
    }
    Some(out)
}

/// `[a, "b", c]` on one line; an unclosed or nested sequence reads as empty.
fn flow_sequence(value: &str) -> Vec<String> {
    let v = value.trim();
    let Some(inner) = v.strip_prefix('[') else { return Vec::new() };
    let Some(end) = inner.find(']') else { return Vec::new() };
    let rest = inner[end + 1..].trim_start();
    let inner = &inner[..end];
    if inner.contains(['[', '{']) || !(rest.is_empty() || rest.starts_with('#')) {
        return Vec::new();
    }
    inner.split(',').filter_map(scalar).collect()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;
    use crate::sources::{collect_one, fixture};

    #[test]
    fn top_level_scalars() {
        let y = parse_snap_yaml(
            "name: core22\nversion: '20240111'\nsummary: Runtime environment based on Ubuntu 22.04\n\
             description: |\n  name: not-this\n  version: 0\narchitectures:\n- amd64\ntype: base\n",
        );
        assert_eq!(y.name.as_deref(), Some("core22"));
        assert_eq!(y.version.as_deref(), Some("20240111"));
        assert_eq!(y.architectures, ["amd64"]);
    }

    #[test]
    fn quoting_comments_and_nesting() {
        let y = parse_snap_yaml(
            "---\n# a comment\napps:\n  firefox:\n    name: nested\n    command: firefox.launcher\n\
             name: \"fire\\\"fox\" # trailing\nversion: 1.10 # plain, kept as written\n\
             architectures: [amd64, 'arm64', \"armhf\"]\nname: second-wins-not\n",
        );
        assert_eq!(y.name.as_deref(), Some("fire\"fox"));
        assert_eq!(y.version.as_deref(), Some("1.10"));
        assert_eq!(y.architectures, ["amd64", "arm64", "armhf"]);
    }

    #[test]
    fn what_is_not_understood_reads_as_absent() {
        for text in [
            "name:\nversion: ~\n",
            "name: |\n  foo\nversion: >\n  1\n",
            "name: &anchor foo\nversion: *alias\n",
            "name: !!str foo\nversion: {a: 1}\n",
            "name: \"unclosed\nversion: 1\n",
            "name: 'it''s' junk\nversion: \"\\x41\"\n",
            "name: \"\\t\"\nversion: \" \"\n",
            "\"name\": quoted-key\nversion:1\n",
            "name: a\n---\nversion: 2\n",
        ] {
            let y = parse_snap_yaml(text);
            assert_eq!(y.version, None, "{text:?}");
            assert!(y.name.is_none() || y.name.as_deref() == Some("a"), "{text:?}");
        }
        let y = parse_snap_yaml("summary: \"multi\n  name: inside-the-quote\n  still\"\nname: real\nversion: '1'\n");
        assert_eq!((y.name.as_deref(), y.version.as_deref()), (Some("real"), Some("1")));
        let y = parse_snap_yaml("name: 'it''s'\nversion: \"1 \\\" 2\"\narchitectures: [amd64\n  , arm64]\n");
        assert_eq!((y.name.as_deref(), y.version.as_deref()), (Some("it's"), Some("1 \" 2")));
        assert!(y.architectures.is_empty(), "a multi-line flow sequence is not read");
        let y = parse_snap_yaml("architectures:\n  - all\n  -\n  - [x]\nbase: core22\n- stray\n");
        assert_eq!(y.architectures, ["all"]);
    }

    #[test]
    fn invalid_utf8_and_crlf() {
        let text = String::from_utf8_lossy(b"name: sn\xffap\r\nversion: 1.0\r\n");
        let y = parse_snap_yaml(&text);
        assert_eq!(y.name.as_deref(), Some("sn\u{fffd}ap"));
        assert_eq!(y.version.as_deref(), Some("1.0"));
    }

    #[test]
    fn ubuntu_fixture() {
        let (inv, warnings) = collect_one(&Snap, &fixture("linux-apps"));
        assert_eq!(warnings, vec![]);
        let want = [
            Package {
                name: "core22".into(),
                version: "20240111".into(),
                arch: "amd64".into(),
                source: "snap".into(),
                installed_size_bytes: 64,
                location: "/snap/core22/1122".into(),
                ..Package::default()
            },
            Package {
                name: "firefox".into(),
                version: "124.0.2-1".into(),
                arch: "amd64".into(),
                source: "snap".into(),
                installed_size_bytes: 0,
                location: "/snap/firefox/4090".into(),
                ..Package::default()
            },
        ];
        assert_eq!(inv.software, want);
    }

    fn snap(root: &Path, mount: &str, instance: &str, rev: &str, yaml: &str) {
        let meta = root.join(mount).join(instance).join(rev).join("meta");
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(meta.join("snap.yaml"), yaml).unwrap();
    }

    #[test]
    fn var_lib_snapd_layout_with_a_snap_symlink_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let m = "var/lib/snapd/snap";
        snap(root, m, "hello-world", "29", "name: hello-world\nversion: 6.4\narchitectures: [all]\n");
        snap(root, m, "hello-world_beta", "x1", "name: hello-world\nversion: 6.5\n");
        symlink("29", root.join(m).join("hello-world/current")).unwrap();
        // Absolute, as snapd writes on some systems: resolved inside the root.
        symlink("/var/lib/snapd/snap/hello-world_beta/x1", root.join(m).join("hello-world_beta/current")).unwrap();
        symlink("/var/lib/snapd/snap", root.join("snap")).unwrap();
        std::fs::create_dir_all(root.join(SNAP_FILES)).unwrap();
        std::fs::write(root.join(SNAP_FILES).join("hello-world_29.snap"), [0u8; 4096]).unwrap();
        let (inv, warnings) = collect_one(&Snap, &Host::open(root).unwrap());
        assert_eq!(warnings, vec![]);
        let got: Vec<_> = inv
            .software
            .iter()
            .map(|p| {
                (p.name.as_str(), p.version.as_str(), p.arch.as_str(), p.location.as_str(), p.installed_size_bytes)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("hello-world", "6.4", "all", "/snap/hello-world/29", 4096),
                ("hello-world", "6.5", "", "/snap/hello-world_beta/x1", 0),
            ]
        );
    }

    #[test]
    fn bad_current_links_are_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for name in ["escape", "abs-escape", "missing", "sibling", "loop", "not-link", "file-rev", "good"] {
            snap(root, "snap", name, "1", &format!("name: {name}\nversion: 1\n"));
        }
        snap(root, "snap", "other", "1", "name: other\nversion: 1\n");
        symlink("../../../../../../etc", root.join("snap/escape/current")).unwrap();
        symlink("/etc", root.join("snap/abs-escape/current")).unwrap();
        symlink("7", root.join("snap/missing/current")).unwrap();
        symlink("../other/1", root.join("snap/sibling/current")).unwrap();
        symlink("current", root.join("snap/loop/current")).unwrap();
        std::fs::create_dir(root.join("snap/not-link/current")).unwrap();
        std::fs::write(root.join("snap/file-rev/2"), "").unwrap();
        symlink("2", root.join("snap/file-rev/current")).unwrap();
        symlink("1", root.join("snap/good/current")).unwrap();
        std::fs::create_dir_all(root.join("etc/meta")).unwrap();
        std::fs::write(root.join("etc/meta/snap.yaml"), "name: evil\nversion: 1\n").unwrap();
        let (inv, warnings) = collect_one(&Snap, &Host::open(root).unwrap());
        let names: Vec<_> = inv.software.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["good"]);
        let messages: Vec<_> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "snap/abs-escape/current: points to /etc, not a revision directory of the snap",
                "snap/escape/current: points to ../../../../../../etc, not a revision directory of the snap",
                "snap/file-rev/current: points to 2, not a revision directory of the snap",
                "snap/loop/current: too many levels of symbolic links",
                "snap/missing/current: points to 7, which is missing",
                "snap/not-link/current: not a symlink",
                "snap/sibling/current: points to ../other/1, not a revision directory of the snap",
            ]
        );
    }

    #[test]
    fn unreadable_snap_yaml_still_reports_the_snap() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Not mounted: the revision directory is empty.
        std::fs::create_dir_all(root.join("snap/lxd/27037")).unwrap();
        symlink("27037", root.join("snap/lxd/current")).unwrap();
        // The metadata file is a directory.
        std::fs::create_dir_all(root.join("snap/dir-yaml/1/meta/snap.yaml")).unwrap();
        symlink("1", root.join("snap/dir-yaml/current")).unwrap();
        // No version, and a line over the limit.
        let mut text = b"name: big\nsummary: ".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE + 1));
        text.extend_from_slice(b"\narchitectures:\n - arm64\n - amd64\n");
        std::fs::create_dir_all(root.join("snap/big_x/3/meta")).unwrap();
        std::fs::write(root.join("snap/big_x/3/meta/snap.yaml"), text).unwrap();
        symlink("3", root.join("snap/big_x/current")).unwrap();
        let (inv, warnings) = collect_one(&Snap, &Host::open(root).unwrap());
        let got: Vec<_> = inv
            .software
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.arch.as_str(), p.location.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("big", "", "arm64,amd64", "/snap/big_x/3"),
                ("dir-yaml", "", "", "/snap/dir-yaml/1"),
                ("lxd", "", "", "/snap/lxd/27037")
            ]
        );
        let messages: Vec<_> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert_eq!(messages[0], "snap/big_x/3/meta/snap.yaml: skipped 1 over-long lines");
        assert_eq!(messages[1], "snap/big_x/3/meta/snap.yaml: no version");
        assert!(messages[2].starts_with("snap/dir-yaml/1/meta/snap.yaml: "), "{messages:?}");
        assert!(messages[3].starts_with("snap/lxd/27037/meta/snap.yaml: "), "{messages:?}");
    }

    #[test]
    fn no_snaps_is_silent() {
        let dir = tempfile::tempdir().unwrap();
        let (inv, warnings) = collect_one(&Snap, &Host::open(dir.path()).unwrap());
        assert!(inv.software.is_empty());
        assert!(warnings.is_empty());
    }
}
