//! Package URLs (purl spec) for package sources, so inventories join with vulnerability
//! databases such as OSV. `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS`.

use census_inventory::OperatingSystem;

/// Builds a purl; empty when a part is invalid for the spec (never a panic on host data).
pub fn purl(ty: &str, namespace: Option<&str>, name: &str, version: &str, qualifiers: &[(&str, &str)]) -> String {
    let build = || -> Result<String, packageurl::Error> {
        let mut p = packageurl::PackageUrl::new(ty, name)?;
        if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
            p.with_namespace(ns)?;
        }
        if !version.is_empty() {
            p.with_version(version)?;
        }
        for (k, v) in qualifiers {
            if !v.is_empty() {
                p.add_qualifier(*k, *v)?;
            }
        }
        Ok(p.to_string())
    };
    build().unwrap_or_default()
}

/// The `distro` qualifier from os-release: `ID-VERSION_ID` (`debian-12`, `fedora-40`), or the
/// ID alone for rolling distributions without a VERSION_ID.
pub fn distro(os: &OperatingSystem) -> String {
    match (os.id.as_str(), os.version.as_str()) {
        ("", _) => String::new(),
        (id, "") => id.to_string(),
        (id, v) => format!("{id}-{v}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb_example_from_the_spec() {
        assert_eq!(
            purl("deb", Some("debian"), "openssl", "3.0.11-1", &[("distro", "debian-12"), ("arch", "amd64")]),
            "pkg:deb/debian/openssl@3.0.11-1?arch=amd64&distro=debian-12"
        );
    }

    #[test]
    fn epoch_colon_and_plus_are_encoded() {
        assert_eq!(purl("deb", Some("debian"), "vim", "2:9.0.1378-2", &[]), "pkg:deb/debian/vim@2:9.0.1378-2");
        assert_eq!(
            purl("deb", Some("debian"), "libstdc++6", "12.2.0-14", &[]),
            "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14"
        );
    }

    #[test]
    fn pypi_names_are_normalised_and_empty_parts_skipped() {
        assert_eq!(purl("pypi", None, "Django_Rest", "3.0", &[("arch", "")]), "pkg:pypi/django-rest@3.0");
        assert_eq!(purl("deb", None, "", "1", &[]), "", "an invalid purl is empty, not a panic");
    }

    #[test]
    fn distro_qualifier() {
        let os = OperatingSystem { id: "debian".into(), version: "12".into(), ..Default::default() };
        assert_eq!(distro(&os), "debian-12");
        let arch = OperatingSystem { id: "arch".into(), ..Default::default() };
        assert_eq!(distro(&arch), "arch");
        assert_eq!(distro(&OperatingSystem::default()), "");
    }
}
