//! Flatpak applications and runtimes, system-wide and per user.
//!
//! Installations: the system one, `var/lib/flatpak` (location `system`), and each user's,
//! `home/USER/.local/share/flatpak` and `root/.local/share/flatpak` (location: the home as a
//! host path, `/home/USER`, `/root`). In each, a deployed ref `KIND/ID/ARCH/BRANCH` (KIND `app` or
//! `runtime`) is the directory `KIND/ID/ARCH/BRANCH/` whose `active` symlink names the deployed
//! commit's directory beside it.
//!
//! Rules:
//! - Symlinks are resolved inside the root ([`resolve`]), so `/home -> var/home` (Fedora
//!   Silverblue) works and nothing outside the root is read. An `active` that does not resolve to
//!   a directory beside it is a warning; a branch without `active` is not deployed and skipped.
//! - Name: `name=` of the `[Application]` or `[Runtime]` group of `active/metadata` (a GKeyFile,
//!   read up to [`MAX_METADATA`]). When that file is unreadable or has no name it is a warning,
//!   and the ref's directory ID is used.
//! - Version: the first `<release version="...">` (AppStream lists the newest first) of the
//!   AppStream file (ID = the ref's directory ID) in `active/files/share/`: `metainfo/ID.metainfo.xml`,
//!   `metainfo/ID.appdata.xml` or the older `appdata/ID.appdata.xml`, the first that exists, read
//!   up to [`MAX_METAINFO`] with quick-xml. Empty when there is none or it lists no release (many
//!   runtimes and extensions); a file that does not parse is a warning.
//! - arch = ARCH. The branch (`stable`, `beta`, `23.08`) is what the user chose to track, so it
//!   is the package's `selection` (as dpkg's selection or homebrew's requested/dependency): it is
//!   what tells apart two branches of one runtime installed side by side.
//! - purl: the purl spec has no flatpak type, so purl is empty.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use census_inventory::{Inventory, Package};
use quick_xml::events::Event;

use super::{Source, Warnings};
use crate::host::Host;

pub struct Flatpak;

/// Largest `metadata` file read (1 MiB; real ones are under 4 KiB).
pub const MAX_METADATA: u64 = 1024 * 1024;

/// Largest AppStream file read (16 MiB; translated descriptions make real ones up to a few
/// hundred KiB).
pub const MAX_METAINFO: u64 = 16 * 1024 * 1024;

impl Source for Flatpak {
    fn name(&self) -> &'static str {
        "flatpak"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        let mut installations = vec![("system".to_string(), "var/lib/flatpak".to_string())];
        // Every entry of home/: a home that is a symlink is resolved in the root like the rest.
        let homes = host.resolve(Path::new("home")).and_then(|home| {
            std::fs::read_dir(host.root().join(home))?.map(|e| e.map(|e| e.file_name())).collect::<io::Result<Vec<_>>>()
        });
        match homes {
            Ok(mut users) => {
                users.sort();
                for user in users {
                    let user = user.to_string_lossy();
                    installations.push((format!("/home/{user}"), format!("home/{user}/.local/share/flatpak")));
                }
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {}
            Err(e) => w.push(format!("home: {e}")),
        }
        installations.push(("/root".into(), "root/.local/share/flatpak".into()));

        let mut seen = HashSet::new();
        for (location, rel) in installations {
            let dir = match host.resolve(Path::new(&rel)) {
                Ok(d) => d,
                // No flatpak here (or `home/NAME` is a file): nothing to say.
                Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => continue,
                Err(e) => {
                    w.push(format!("{rel}: {e}"));
                    continue;
                }
            };
            if seen.insert(dir.clone()) {
                Installation { host, location: &location, shown: &rel, dir: &dir }.collect(inv, w);
            }
        }
    }
}

/// One flatpak installation: `shown` is its root-relative path for warnings, `dir` the same
/// with symlinks resolved.
struct Installation<'a> {
    host: &'a Host,
    location: &'a str,
    shown: &'a str,
    dir: &'a Path,
}

impl Installation<'_> {
    fn collect(&self, inv: &mut Inventory, w: &mut Warnings<'_>) {
        for kind in ["app", "runtime"] {
            let mut refs = Vec::new();
            let kind_dir = self.dir.join(kind);
            let listed = subdirs(self.host, &kind_dir).and_then(|ids| {
                for id in ids {
                    for arch in subdirs(self.host, &kind_dir.join(&id))? {
                        for branch in subdirs(self.host, &kind_dir.join(&id).join(&arch))? {
                            refs.push([kind.into(), id.clone(), arch.clone(), branch]);
                        }
                    }
                }
                Ok(())
            });
            match listed {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => w.push(format!("{}/{kind}: {e}", self.shown)),
            }
            for r in refs {
                if let Some(p) = self.deployment(&r, w) {
                    inv.software.push(p);
                }
            }
        }
    }

    /// The package deployed for ref `[kind, id, arch, branch]`, if it is deployed.
    fn deployment(&self, r: &[OsString; 4], w: &mut Warnings<'_>) -> Option<Package> {
        let branch_dir: PathBuf = r.iter().fold(self.dir.to_path_buf(), |d, part| d.join(part));
        let [_, id, arch, branch] = r.clone().map(|s| s.to_string_lossy().into_owned());
        let shown = format!("{}/{}/{id}/{arch}/{branch}/active", self.shown, r[0].to_string_lossy());
        let active = branch_dir.join("active");
        let root = self.host.root();
        match std::fs::symlink_metadata(root.join(&active)) {
            Ok(m) if m.file_type().is_symlink() => {}
            Ok(_) => {
                w.push(format!("{shown}: not a symlink"));
                return None;
            }
            // Not deployed (being installed or removed).
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                w.push(format!("{shown}: {e}"));
                return None;
            }
        }
        let target = std::fs::read_link(root.join(&active)).map(|t| t.display().to_string()).unwrap_or_default();
        let deploy = match self.host.resolve(&active) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                w.push(format!("{shown}: points to {target}, which is missing"));
                return None;
            }
            Err(e) => {
                w.push(format!("{shown}: {e}"));
                return None;
            }
        };
        if deploy.parent() != Some(branch_dir.as_path()) || !root.join(&deploy).is_dir() {
            w.push(format!("{shown}: points to {target}, not a deployment of this ref"));
            return None;
        }

        let name = match self.read(&deploy.join("metadata"), MAX_METADATA) {
            Ok(bytes) => match parse_metadata(&String::from_utf8_lossy(&bytes)) {
                Some(m) => m.name,
                None => {
                    w.push(format!("{shown}/metadata: no name in an [Application] or [Runtime] group"));
                    id.clone()
                }
            },
            Err(e) => {
                w.push(format!("{shown}/metadata: {e}"));
                id.clone()
            }
        };

        let mut version = String::new();
        for file in [
            format!("metainfo/{id}.metainfo.xml"),
            format!("metainfo/{id}.appdata.xml"),
            format!("appdata/{id}.appdata.xml"),
        ] {
            let result = self.read(&deploy.join("files/share").join(&file), MAX_METAINFO);
            if matches!(&result, Err(e) if e.kind() == io::ErrorKind::NotFound) {
                continue;
            }
            match result.map(|xml| metainfo_version(&xml)) {
                Ok(Ok(v)) => version = v.unwrap_or_default(),
                Ok(Err(e)) => w.push(format!("{shown}/files/share/{file}: {e}")),
                Err(e) => w.push(format!("{shown}/files/share/{file}: {e}")),
            }
            break;
        }

        Some(Package {
            name,
            version,
            arch,
            source: "flatpak".into(),
            selection: branch,
            location: self.location.to_string(),
            ..Package::default()
        })
    }

    /// Reads the root-relative `rel` (symlinks resolved in the root) up to `max` bytes.
    fn read(&self, rel: &Path, max: u64) -> io::Result<Vec<u8>> {
        let path = self.host.resolve(rel)?;
        let rel = path.to_str().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "path is not UTF-8"))?;
        self.host.read_limited(rel, max)
    }
}

/// Names of the real subdirectories (not symlinks) of the root-relative, resolved `dir`, sorted.
fn subdirs(host: &Host, dir: &Path) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(host.root().join(dir))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            names.push(entry.file_name());
        }
    }
    names.sort();
    Ok(names)
}

/// Whether a ref is an application or a runtime (runtimes include extensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Application,
    Runtime,
}

/// What census reads of a deployment's `metadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub kind: Kind,
    /// Non-empty, trimmed, without control characters.
    pub name: String,
}

/// Reads `name=` from the `[Application]` or `[Runtime]` group of a flatpak `metadata` file
/// (GKeyFile syntax: `[group]` headers, `key=value` lines, `#` comments). The first of those
/// groups with a usable name counts; localised keys (`name[de]=`) are not the name.
pub fn parse_metadata(text: &str) -> Option<Metadata> {
    let mut kind = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(group) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            kind = match group {
                "Application" => Some(Kind::Application),
                "Runtime" => Some(Kind::Runtime),
                _ => None,
            };
            continue;
        }
        let (Some(kind), Some((key, value))) = (kind, line.split_once('=')) else { continue };
        let name = value.trim();
        if key.trim() == "name" && !name.is_empty() && !name.chars().any(char::is_control) {
            return Some(Metadata { kind, name: name.to_string() });
        }
    }
    None
}

/// The `version` of the first `<release>` element of an AppStream metainfo/appdata document:
/// `Ok(None)` when there is none or it is empty; an error when the XML is malformed before it.
/// The value is trimmed and has no control characters (else it counts as none).
pub fn metainfo_version(xml: &[u8]) -> Result<Option<String>, quick_xml::Error> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    loop {
        match reader.read_event()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "release" => {
                for attr in e.attributes() {
                    let attr = attr?;
                    if attr.key.local_name().as_ref() == "version" {
                        let v = attr.normalized_value(quick_xml::XmlVersion::Implicit1_0)?;
                        let v = v.trim();
                        let usable = !v.is_empty() && !v.chars().any(char::is_control);
                        return Ok(usable.then(|| v.to_string()));
                    }
                }
                // A release without a version: the next one is not the newest, so stop here.
                return Ok(None);
            }
            Event::Eof => return Ok(None),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;
    use crate::sources::{collect_one, fixture};

    #[test]
    fn metadata_groups() {
        let m = parse_metadata(
            "# comment\n[Context]\nname=not-this\n\n[Application]\nname[de]=Feuerfuchs\n name = org.mozilla.firefox \n\
             runtime=org.freedesktop.Platform/x86_64/23.08\n[Runtime]\nname=later\n",
        )
        .unwrap();
        assert_eq!(m, Metadata { kind: Kind::Application, name: "org.mozilla.firefox".into() });
        let m = parse_metadata("[Runtime]\r\nname=org.freedesktop.Platform\r\n").unwrap();
        assert_eq!(m, Metadata { kind: Kind::Runtime, name: "org.freedesktop.Platform".into() });
        for text in ["", "name=x\n", "[Application]\nname=\n", "[Application\nname=x\n", "[Extension x]\nname=x\n"] {
            assert_eq!(parse_metadata(text), None, "{text:?}");
        }
        assert_eq!(parse_metadata("[Application]\nname=\u{1}\n[Runtime]\nname=ok\n").unwrap().name, "ok");
    }

    #[test]
    fn first_release_version() {
        let xml = br#"<?xml version="1.0"?>
<!-- <release version="comment"/> -->
<component type="desktop-application"><id>x</id>
  <releases>
    <release date="2024-01-01" version=" 1.2&amp;3 "><description><p>new</p></description></release>
    <release version="1.1"/>
  </releases>
</component>"#;
        assert_eq!(metainfo_version(xml).unwrap().as_deref(), Some("1.2&3"));
        assert_eq!(metainfo_version(b"<component><releases/></component>").unwrap(), None);
        assert_eq!(metainfo_version(b"<c><release date='x'/><release version='2'/></c>").unwrap(), None);
        assert_eq!(metainfo_version(b"<c><release version=''/></c>").unwrap(), None);
        assert_eq!(metainfo_version(b"").unwrap(), None);
        assert!(metainfo_version(b"<c><release date='1' date='2' version='3'/></c>").is_err());
        assert!(metainfo_version(b"<c><release version='&bogus;'/></c>").is_err());
        assert!(metainfo_version(b"<c></d>").is_err());
        // Only what comes before the first release must parse.
        assert_eq!(metainfo_version(b"<c><release version='3'/></d>").unwrap().as_deref(), Some("3"));
        assert_eq!(metainfo_version(b"<c><release version='\xff'/></c>").ok().flatten(), None);
    }

    #[test]
    fn linux_apps_fixture() {
        let (inv, warnings) = collect_one(&Flatpak, &fixture("linux-apps"));
        assert_eq!(warnings, vec![]);
        let pkg = |name: &str, version: &str, branch: &str, location: &str| Package {
            name: name.into(),
            version: version.into(),
            arch: "x86_64".into(),
            source: "flatpak".into(),
            selection: branch.into(),
            location: location.into(),
            ..Package::default()
        };
        assert_eq!(
            inv.software,
            [
                pkg("org.mozilla.firefox", "125.0.2", "stable", "system"),
                pkg("org.freedesktop.Platform", "23.08.18", "23.08", "system"),
                pkg("org.freedesktop.Platform.GL.default", "", "23.08", "system"),
                pkg("org.gnome.Calculator", "46.1", "stable", "/home/alice"),
            ]
        );
    }

    /// Deploys `kind/id/arch/branch` under installation `inst` with `metadata`, returning the
    /// deployment directory.
    fn deploy(inst: &Path, r: &str, metadata: Option<&str>) -> PathBuf {
        let branch = inst.join(r);
        let commit = branch.join("0123abcd");
        std::fs::create_dir_all(&commit).unwrap();
        symlink("0123abcd", branch.join("active")).unwrap();
        if let Some(m) = metadata {
            std::fs::write(commit.join("metadata"), m).unwrap();
        }
        commit
    }

    #[test]
    fn silverblue_homes_and_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("var/home/bob")).unwrap();
        std::fs::create_dir_all(root.join("var/roothome")).unwrap();
        symlink("var/home", root.join("home")).unwrap();
        symlink("var/roothome", root.join("root")).unwrap();
        let bob = root.join("var/home/bob/.local/share/flatpak");
        let c = deploy(&bob, "app/org.gnome.Maps/aarch64/beta", Some("[Application]\nname=org.gnome.Maps\n"));
        std::fs::create_dir_all(c.join("files/share/metainfo")).unwrap();
        std::fs::write(c.join("files/share/metainfo/org.gnome.Maps.metainfo.xml"), "<c><release version='46.rc'/></c>")
            .unwrap();
        let roots = root.join("var/roothome/.local/share/flatpak");
        deploy(&roots, "runtime/org.kde.Platform/aarch64/6.6", Some("[Runtime]\nname=org.kde.Platform\n"));
        // A branch without `active` is not deployed.
        std::fs::create_dir_all(roots.join("runtime/org.kde.Sdk/aarch64/6.6")).unwrap();
        let (inv, warnings) = collect_one(&Flatpak, &Host::open(root).unwrap());
        assert_eq!(warnings, vec![]);
        let got: Vec<_> = inv
            .software
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.arch.as_str(), p.selection.as_str(), p.location.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("org.gnome.Maps", "46.rc", "aarch64", "beta", "/home/bob"),
                ("org.kde.Platform", "", "aarch64", "6.6", "/root"),
            ]
        );
    }

    #[test]
    fn broken_deployments_are_warnings_and_keep_what_is_readable() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let sys = root.join("var/lib/flatpak");
        // metadata is a directory: reported under its ref ID.
        let c = deploy(&sys, "app/org.example.DirMeta/x86_64/stable", None);
        std::fs::create_dir(c.join("metadata")).unwrap();
        // metadata too large.
        let c = deploy(&sys, "app/org.example.Huge/x86_64/stable", None);
        std::fs::write(c.join("metadata"), vec![b'#'; MAX_METADATA as usize + 1]).unwrap();
        // No name, and an AppStream file that does not parse.
        let c = deploy(&sys, "app/org.example.NoName/x86_64/stable", Some("[Application]\nruntime=x\n"));
        std::fs::create_dir_all(c.join("files/share/appdata")).unwrap();
        std::fs::write(c.join("files/share/appdata/org.example.NoName.appdata.xml"), "<c><oops></c>").unwrap();
        // `active` leaving the ref, pointing at nothing, or not a symlink.
        let branch = sys.join("app/org.example.Escape/x86_64/stable");
        std::fs::create_dir_all(&branch).unwrap();
        symlink("../../../../../../../../etc", branch.join("active")).unwrap();
        std::fs::create_dir(root.join("etc")).unwrap();
        let branch = sys.join("app/org.example.Gone/x86_64/stable");
        std::fs::create_dir_all(&branch).unwrap();
        symlink("deadbeef", branch.join("active")).unwrap();
        let branch = sys.join("runtime/org.example.Plain/x86_64/1");
        std::fs::create_dir_all(branch.join("active")).unwrap();
        // A file in home/ is not a home; a home that is a symlink is followed inside the root.
        std::fs::create_dir_all(root.join("home")).unwrap();
        std::fs::write(root.join("home/README"), "").unwrap();
        let c = deploy(&root.join("data/carol/.local/share/flatpak"), "app/org.example.Carol/x86_64/stable", None);
        std::fs::write(c.join("metadata"), "[Application]\nname=org.example.Carol\n").unwrap();
        symlink("/data/carol", root.join("home/carol")).unwrap();
        // A user's flatpak directory leading out of the root.
        std::fs::create_dir_all(root.join("home/eve/.local/share")).unwrap();
        symlink("/home/eve/.local/share/flatpak", root.join("home/eve/.local/share/flatpak")).unwrap();
        let (inv, warnings) = collect_one(&Flatpak, &Host::open(root).unwrap());
        let names: Vec<_> = inv.software.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
        assert_eq!(
            names,
            [
                ("org.example.DirMeta", ""),
                ("org.example.Huge", ""),
                ("org.example.NoName", ""),
                ("org.example.Carol", "")
            ]
        );
        assert_eq!(inv.software[3].location, "/home/carol");
        let messages: Vec<_> = warnings.iter().map(|w| w.message.as_str()).collect();
        let a = "var/lib/flatpak/app";
        let expected_prefixes = [
            format!("{a}/org.example.DirMeta/x86_64/stable/active/metadata: "),
            format!(
                "{a}/org.example.Escape/x86_64/stable/active: points to ../../../../../../../../etc, not a deployment of this ref"
            ),
            format!("{a}/org.example.Gone/x86_64/stable/active: points to deadbeef, which is missing"),
            format!("{a}/org.example.Huge/x86_64/stable/active/metadata: larger than 1048576 bytes"),
            format!(
                "{a}/org.example.NoName/x86_64/stable/active/metadata: no name in an [Application] or [Runtime] group"
            ),
            format!("{a}/org.example.NoName/x86_64/stable/active/files/share/appdata/org.example.NoName.appdata.xml: "),
            "var/lib/flatpak/runtime/org.example.Plain/x86_64/1/active: not a symlink".to_string(),
            "home/eve/.local/share/flatpak: too many levels of symbolic links".to_string(),
        ];
        assert_eq!(messages.len(), expected_prefixes.len(), "{messages:#?}");
        for (m, p) in messages.iter().zip(&expected_prefixes) {
            assert!(m.starts_with(p.as_str()), "{m:?} does not start with {p:?}");
        }
    }

    #[test]
    fn no_flatpak_is_silent() {
        let dir = tempfile::tempdir().unwrap();
        let (inv, warnings) = collect_one(&Flatpak, &Host::open(dir.path()).unwrap());
        assert!(inv.software.is_empty());
        assert!(warnings.is_empty());
    }
}
