//! macOS application bundles, from each bundle's `Contents/Info.plist` (XML or binary plist).
//!
//! Where: `/Applications`, `/System/Applications` and each user's `~/Applications`
//! (`Users/*/Applications`), the `*.app` directories in them and in their sub-folders one level
//! down (`/Applications/Utilities/Terminal.app`, `/Applications/Microsoft Office/...`). A bundle
//! is not searched for nested bundles. iOS apps installed on Apple silicon keep their plist at
//! `WrappedBundle/Info.plist`, which is read when `Contents/Info.plist` is absent.
//!
//! Fields: name = `CFBundleDisplayName`, else `CFBundleName`, else the bundle directory name
//! without `.app` (values still holding an unexpanded build variable such as `$(PRODUCT_NAME)`
//! are ignored); version = `CFBundleShortVersionString`, else `CFBundleVersion`; `location` = the
//! bundle path as on the host (`/Applications/Safari.app`).
//!
//! Vendor: the second label of the reverse-DNS `CFBundleIdentifier` (`com.google.Chrome` →
//! `google`, `org.mozilla.firefox` → `mozilla`) when the identifier has at least three labels.
//! It is the vendor's domain label, not its legal name; identifiers under a code-hosting domain
//! (`io.github.user.app`) name the host, not the vendor, and give no vendor. The identifier
//! itself has no field of its own in [`Package`] and is not kept.
//!
//! A bundle whose Info.plist is missing, too large (over [`MAX_PLIST`]) or unreadable is still
//! reported, by its directory name, with a warning. purl: the purl spec has no type for macOS
//! application bundles, so it is empty.

use std::io::Cursor;

use census_inventory::{Inventory, Package};

use super::{Source, Warnings, list_visible, read_parsed};
use crate::host::Host;

pub struct MacosApps;

/// Largest Info.plist read (16 MiB).
pub const MAX_PLIST: u64 = 16 * 1024 * 1024;

/// Folders whose `*.app` (and one level of sub-folders) are applications.
const FIXED_ROOTS: &[&str] = &["Applications", "System/Applications"];

/// Second labels that name a code-hosting service rather than a vendor.
const HOSTING: &[&str] = &["github", "gitlab", "bitbucket", "sourceforge", "codeberg", "sr"];

impl Source for MacosApps {
    fn name(&self) -> &'static str {
        "macos-apps"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        let mut roots: Vec<String> = FIXED_ROOTS.iter().map(|r| r.to_string()).collect();
        for user in list_visible(host, "Users", w) {
            roots.push(format!("Users/{user}/Applications"));
        }
        for root in roots {
            for entry in list_visible(host, &root, w) {
                let rel = format!("{root}/{entry}");
                if !host.is_dir(&rel) {
                    continue;
                }
                if is_bundle(&entry) {
                    inv.software.push(read_app(host, &rel, w));
                    continue;
                }
                for inner in list_visible(host, &rel, w) {
                    let inner_rel = format!("{rel}/{inner}");
                    if is_bundle(&inner) && host.is_dir(&inner_rel) {
                        inv.software.push(read_app(host, &inner_rel, w));
                    }
                }
            }
        }
    }
}

fn is_bundle(name: &str) -> bool {
    name.len() > 4 && name.get(name.len() - 4..).is_some_and(|ext| ext.eq_ignore_ascii_case(".app"))
}

/// Reads one bundle at `rel` (under the root) into a package, warning about its plist.
fn read_app(host: &Host, rel: &str, w: &mut Warnings<'_>) -> Package {
    let dir_name = rel.rsplit('/').next().unwrap_or(rel);
    let location = format!("/{rel}");
    // iOS apps on Apple silicon keep their Info.plist in WrappedBundle/.
    let plist = format!("{rel}/Contents/Info.plist");
    let wrapped = format!("{rel}/WrappedBundle/Info.plist");
    let path = if !host.path(&plist).exists() && host.path(&wrapped).exists() { wrapped } else { plist };
    let missing = Some(format!("{rel}: no Contents/Info.plist"));
    let info = read_parsed(host, &path, MAX_PLIST, parse_info_plist, missing, w);
    app_package(dir_name, &location, info.as_ref())
}

/// What an Info.plist says about its bundle; empty strings where it says nothing usable.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
    pub identifier: String,
}

/// Parses Info.plist bytes (XML or binary). The top level must be a dictionary.
pub fn parse_info_plist(bytes: &[u8]) -> Result<AppInfo, String> {
    let value = plist::Value::from_reader(Cursor::new(bytes)).map_err(|e| format!("invalid plist: {e}"))?;
    let dict = value.as_dictionary().ok_or("plist is not a dictionary")?;
    let text = |key: &str| -> String {
        let s = match dict.get(key) {
            Some(plist::Value::String(s)) => s.trim().to_string(),
            // Some bundles write numbers where strings belong (CFBundleVersion = 42).
            Some(plist::Value::Integer(i)) => i.to_string(),
            Some(plist::Value::Real(r)) if r.is_finite() => r.to_string(),
            _ => String::new(),
        };
        if s.starts_with("$(") || s.starts_with("${") { String::new() } else { s }
    };
    let first = |keys: &[&str]| keys.iter().map(|k| text(k)).find(|s| !s.is_empty()).unwrap_or_default();
    Ok(AppInfo {
        name: first(&["CFBundleDisplayName", "CFBundleName"]),
        version: first(&["CFBundleShortVersionString", "CFBundleVersion"]),
        identifier: text("CFBundleIdentifier"),
    })
}

/// The package for the bundle directory `dir_name` (`Safari.app`) at host path `location`.
pub fn app_package(dir_name: &str, location: &str, info: Option<&AppInfo>) -> Package {
    let fallback = if is_bundle(dir_name) { &dir_name[..dir_name.len() - 4] } else { dir_name };
    let info = info.cloned().unwrap_or_default();
    let name = if info.name.is_empty() { fallback.to_string() } else { info.name };
    Package {
        name,
        version: info.version,
        source: "macos-app".into(),
        vendor: vendor_from_identifier(&info.identifier),
        location: location.to_string(),
        ..Package::default()
    }
}

/// The vendor label of a reverse-DNS bundle identifier (see the module doc); empty when there is
/// none.
pub fn vendor_from_identifier(identifier: &str) -> String {
    let labels: Vec<&str> = identifier.split('.').collect();
    if labels.len() < 3 || labels.iter().take(2).any(|l| l.is_empty()) {
        return String::new();
    }
    let label = labels[1].to_ascii_lowercase();
    if HOSTING.contains(&label.as_str()) || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return String::new();
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{collect_one, fixture};

    fn show(p: &Package) -> String {
        format!("{} | {} | {} | {}", p.location, p.name, p.version, p.vendor)
    }

    #[test]
    fn fixture_apps_xml_and_binary() {
        let (inv, warnings) = collect_one(&MacosApps, &fixture("macos-sonoma"));
        let got: Vec<String> = inv.software.iter().map(show).collect();
        assert_eq!(
            got,
            [
                "/Applications/Firefox.app | Firefox | 120.0 | mozilla",
                "/Applications/Google Chrome.app | Google Chrome | 119.0.6045.159 | google",
                "/Applications/Sunbeam.app | Sunbeam | 3.2 | ",
                "/Applications/Utilities/Stats.app | Stats | 2.9.20 | exelban",
                "/Applications/Xcode.app | Xcode | 15.0.1 | apple",
                "/Applications/broken.app | broken |  | ",
                "/Applications/empty.app | empty |  | ",
                "/System/Applications/Calculator.app | Calculator | 11.0 | apple",
                "/System/Applications/Utilities/Terminal.app | Terminal | 2.14 | apple",
                "/Users/alice/Applications/Game.app | Tiny Game | 1.4.2 | example",
            ]
        );
        assert!(inv.software.iter().all(|p| p.source == "macos-app" && p.purl.is_empty()));
        let messages: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages[0].starts_with("Applications/broken.app/Contents/Info.plist: invalid plist: "),
            "{}",
            messages[0]
        );
        assert_eq!(messages[1], "Applications/empty.app: no Contents/Info.plist");
    }

    #[test]
    fn fixture_has_both_plist_encodings() {
        let host = fixture("macos-sonoma");
        let xml = host.read("Applications/Firefox.app/Contents/Info.plist").unwrap();
        let binary = host.read("System/Applications/Calculator.app/Contents/Info.plist").unwrap();
        assert!(xml.starts_with(b"<?xml"));
        assert!(binary.starts_with(b"bplist00"));
    }

    #[test]
    fn plist_fields_and_fallbacks() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
  <key>CFBundleName</key><string>Short</string>
  <key>CFBundleDisplayName</key><string>$(PRODUCT_NAME)</string>
  <key>CFBundleVersion</key><integer>42</integer>
  <key>CFBundleIdentifier</key><string>io.github.someone.tool</string>
</dict></plist>"#;
        let info = parse_info_plist(xml).unwrap();
        assert_eq!(
            info,
            AppInfo { name: "Short".into(), version: "42".into(), identifier: "io.github.someone.tool".into() }
        );
        let p = app_package("Tool.app", "/Applications/Tool.app", Some(&info));
        assert_eq!((p.name.as_str(), p.vendor.as_str()), ("Short", ""));
        let bare = app_package("Bare.app", "/Applications/Bare.app", None);
        assert_eq!((bare.name.as_str(), bare.version.as_str()), ("Bare", ""));
    }

    #[test]
    fn corrupt_plists_are_errors_not_panics() {
        assert!(parse_info_plist(b"").is_err());
        assert!(parse_info_plist(b"bplist00\xff\xff\xff").is_err());
        assert!(parse_info_plist(b"<?xml version=\"1.0\"?><plist><dict><key>A</key>").is_err());
        assert_eq!(
            parse_info_plist(b"<?xml version=\"1.0\"?><plist><array/></plist>").unwrap_err(),
            "plist is not a dictionary"
        );
        assert!(parse_info_plist(&[0xff; 64]).is_err());
    }

    #[test]
    fn vendors() {
        assert_eq!(vendor_from_identifier("com.apple.Safari"), "apple");
        assert_eq!(vendor_from_identifier("org.mozilla.firefox"), "mozilla");
        assert_eq!(vendor_from_identifier("com.Microsoft.VSCode"), "microsoft");
        assert_eq!(vendor_from_identifier("com.apple"), "", "two labels: no product, no vendor");
        assert_eq!(vendor_from_identifier("io.github.user.app"), "");
        assert_eq!(vendor_from_identifier("com..app"), "");
        assert_eq!(vendor_from_identifier("com.ex ample.app"), "");
        assert_eq!(vendor_from_identifier(""), "");
    }

    #[test]
    fn oversized_plist_is_skipped_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let contents = dir.path().join("Applications/Huge.app/Contents");
        std::fs::create_dir_all(&contents).unwrap();
        std::fs::File::create(contents.join("Info.plist")).unwrap().set_len(MAX_PLIST + 1).unwrap();
        let (inv, warnings) = collect_one(&MacosApps, &Host::open(dir.path()).unwrap());
        assert_eq!(inv.software.len(), 1);
        assert_eq!(inv.software[0].name, "Huge");
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            warnings[0].message,
            format!("Applications/Huge.app/Contents/Info.plist: larger than {MAX_PLIST} bytes")
        );
    }

    #[test]
    fn no_applications_is_silent() {
        let dir = tempfile::tempdir().unwrap();
        let (inv, warnings) = collect_one(&MacosApps, &Host::open(dir.path()).unwrap());
        assert!(inv.software.is_empty());
        assert!(warnings.is_empty());
        let (inv, warnings) = collect_one(&MacosApps, &fixture("debian12"));
        assert!(inv.software.is_empty());
        assert!(warnings.is_empty());
    }
}
