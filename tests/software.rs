//! "Which hosts run X at version Y?": fixture hosts report through the real agent, and
//! `census software` answers with each ecosystem's own version ordering.

use std::path::{Path, PathBuf};

use census_e2e::{Collector, stderr};

fn root(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent/testdata/roots").join(name)
}

fn software(collector: &Collector, args: &[&str]) -> Vec<(String, String, String)> {
    let mut full = vec!["software"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--format", "json"]);
    let out = collector.census(&full);
    assert!(out.status.success(), "census {full:?}: {}", stderr(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    rows.iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            (s("hostname"), s("version"), s("arch"))
        })
        .collect()
}

#[test]
fn which_hosts_run_x_at_version_y() {
    let collector = Collector::start();
    let secret = collector.file("enroll-secret");
    let tmp = tempfile::tempdir().unwrap();
    for name in ["debian12", "distroless", "rpm-fedora40", "alpine-3.19"] {
        let out = collector.agent_once(&tmp.path().join(name), &root(name), &secret);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
    }

    let t = |h: &str, v: &str, a: &str| (h.to_string(), v.to_string(), a.to_string());
    // web-01 has openssl 3.0.11-1~deb12u2; the distroless host has only libssl3.
    assert_eq!(software(&collector, &["openssl"]), [t("web-01", "3.0.11-1~deb12u2", "amd64")]);
    // dpkg ordering: ~ sorts before the end, so 3.0.11-1~deb12u2 < 3.0.11-1.
    assert_eq!(software(&collector, &["openssl", "--version", "<3.0.11-1"]).len(), 1);
    assert!(software(&collector, &["openssl", "--version", ">=3.0.11-1"]).is_empty());
    assert!(software(&collector, &["openssl", "--version", "<3.0.7"]).is_empty());
    // Multi-arch: both copies of libc6 are reported.
    assert_eq!(
        software(&collector, &["libc6", "--version", "=2.36-9+deb12u4"]),
        [t("web-01", "2.36-9+deb12u4", "amd64"), t("web-01", "2.36-9+deb12u4", "i386")]
    );
    // Epochs count: vim 2:9.0 is newer than any 9.x without one.
    assert_eq!(software(&collector, &["vim", "--version", ">9.9"]).len(), 1);
    // base-files is on both hosts; the distroless one came from status.d.
    assert_eq!(software(&collector, &["base-files", "--source", "dpkg"]).len(), 2);
    assert!(software(&collector, &["base-files", "--source", "rpm"]).is_empty());

    // rpm ordering on a database written by the real rpm: ^ sorts after the base version and
    // before the next one, ~ before the base, and the epoch outranks everything.
    let one = |args: &[&str]| software(&collector, args).len();
    assert_eq!(one(&["snapshot-utils", "--version", ">0.9"]), 1, "0.9^20240105git > 0.9");
    assert_eq!(one(&["snapshot-utils", "--version", "<0.9.1"]), 1, "0.9^20240105git < 0.9.1");
    assert_eq!(one(&["libwidget-tools", "--version", "<5.2"]), 1, "5.2~rc1 < 5.2");
    assert_eq!(one(&["acme-agent", "--version", "<1.5"]), 0, "2:1.4.0 is newer than 1.5");
    assert_eq!(one(&["acme-agent", "--version", "=2:1.4.0"]), 1, "no release given: any release matches");
    assert_eq!(software(&collector, &["acme-agent"]), [t("build-02", "2:1.4.0-3.fc40", "x86_64")]);
    // apk versions follow the semver-ish order: 3.1.4-r5 is below 3.1.5 and above 3.1.4-r4.
    assert_eq!(one(&["libcrypto3", "--version", "<3.1.5"]), 1);
    assert_eq!(one(&["libcrypto3", "--version", ">3.1.4-r4"]), 1);
    assert_eq!(one(&["libcrypto3", "--source", "apk"]), 1);

    // CSV carries the purl.
    let out = collector.census(&["software", "openssl", "--format", "csv"]);
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(
        csv.lines().nth(1).unwrap().contains("pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"),
        "{csv}"
    );

    // A bad constraint is one clear line, before anything is asked of the server.
    let out = collector.census(&["software", "openssl", "--version", "<"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).trim(), "census: version constraint \"<\": no version after the operator in \"<\"");
}
