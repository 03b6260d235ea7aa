//! `census sbom HOST`: fixture hosts report through the real agent, and each host's CycloneDX
//! 1.6 SBOM is checked here and validated with cyclonedx-python-lib's strict JSON validator
//! (`tests/tools/validate_cyclonedx.py`).
//!
//! The validator is Python: `CENSUS_CYCLONEDX_PYTHON`, else `/opt/census-ci/venv/bin/python3`
//! when present, else `python3`. Without it the validation is skipped with a printed reason,
//! unless `CENSUS_REQUIRE_CYCLONEDX=1` (as in `.ci/run`), which makes that a failure.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use census_e2e::{Collector, stderr, stdout};

const INSTALL: &str = "python3 -m venv /opt/census-ci/venv && \
                       /opt/census-ci/venv/bin/pip install 'cyclonedx-python-lib[json-validation]'";

fn root(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent/testdata/roots").join(name)
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/validate_cyclonedx.py")
}

fn python() -> String {
    if let Some(p) = std::env::var_os("CENSUS_CYCLONEDX_PYTHON").filter(|p| !p.is_empty()) {
        return p.to_string_lossy().into_owned();
    }
    let venv = "/opt/census-ci/venv/bin/python3";
    if Path::new(venv).exists() { venv.to_string() } else { "python3".to_string() }
}

/// The validator's Python and its version line, or why it cannot be used.
fn validator() -> Result<(String, String), String> {
    let python = python();
    let out =
        Command::new(&python).arg(script()).arg("--check").output().map_err(|e| format!("cannot run {python}: {e}"))?;
    if out.status.success() {
        Ok((python, stdout(&out).trim().to_string()))
    } else {
        Err(format!("{python}: {}", stderr(&out).trim()))
    }
}

fn validate(python: &str, bom: &serde_json::Value, dir: &Path, name: &str) -> Output {
    let path = dir.join(format!("{name}.cdx.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(bom).unwrap()).unwrap();
    Command::new(python).arg(script()).arg(&path).output().unwrap()
}

fn sbom(collector: &Collector, id: &str) -> serde_json::Value {
    let out = collector.census(&["sbom", id]);
    assert!(out.status.success(), "census sbom {id}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("census sbom {id}: {e}: {}", stdout(&out)))
}

#[test]
fn census_sbom_is_a_valid_cyclonedx_bom() {
    let collector = Collector::start();
    let secret = collector.file("enroll-secret");
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = ["debian12", "python-debian", "linux-apps"];
    for name in fixtures {
        let out = collector.agent_once(&tmp.path().join(name), &root(name), &secret);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
    }
    let hosts = collector.hosts_json();
    assert_eq!(hosts.len(), fixtures.len());

    let mut boms = Vec::new();
    for host in &hosts {
        let id = host["id"].as_str().unwrap();
        let hostname = host["hostname"].as_str().unwrap();
        let bom = sbom(&collector, id);
        assert_eq!(bom["bomFormat"], "CycloneDX");
        assert_eq!(bom["specVersion"], "1.6");
        assert!(bom["serialNumber"].as_str().unwrap().starts_with("urn:uuid:"), "{}", bom["serialNumber"]);
        assert_eq!(bom["metadata"]["component"]["type"], "device");
        // A host without a name is named by its agent id.
        let name = if hostname.is_empty() { id } else { hostname };
        assert_eq!(bom["metadata"]["component"]["name"], name);
        assert!(bom["metadata"]["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(bom["metadata"]["tools"]["components"][0]["name"], "census-collector");
        let components = bom["components"].as_array().unwrap();
        assert_eq!(components.len() as u64, host["package_count"].as_u64().unwrap(), "{hostname}");
        let refs: HashSet<&str> = components.iter().map(|c| c["bom-ref"].as_str().unwrap()).collect();
        assert_eq!(refs.len(), components.len(), "{hostname}: bom-refs are unique");
        // The same stored inventory gives the same BOM, serial number included.
        assert_eq!(sbom(&collector, id), bom, "{hostname}");
        boms.push((name.to_string(), bom));
    }

    let (_, web01) = boms.iter().find(|(h, _)| h == "web-01").expect("web-01 reported");
    assert_eq!(web01["metadata"]["component"]["components"][0]["type"], "operating-system");
    assert_eq!(web01["metadata"]["component"]["components"][0]["name"], "debian");
    let openssl = web01["components"].as_array().unwrap().iter().find(|c| c["name"] == "openssl").unwrap();
    assert_eq!(openssl["version"], "3.0.11-1~deb12u2");
    assert_eq!(openssl["bom-ref"], openssl["purl"]);
    assert!(openssl["purl"].as_str().unwrap().starts_with("pkg:deb/debian/openssl@3.0.11-1~deb12u2"));
    let props = openssl["properties"].as_array().unwrap();
    assert!(props.contains(&serde_json::json!({"name": "census:package:source", "value": "dpkg"})), "{openssl}");
    let python_packages = boms
        .iter()
        .flat_map(|(_, b)| b["components"].as_array().unwrap())
        .filter(|c| c["purl"].as_str().is_some_and(|p| p.starts_with("pkg:pypi/")))
        .count();
    assert!(python_packages > 0, "the python-debian fixture has Python packages");

    // Errors are the API's: an unknown host is one line and exit code 1.
    let out = collector.census(&["sbom", "no-such-host"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("404: no host matches \"no-such-host\""), "{}", stderr(&out));

    let (python, version) = match validator() {
        Ok(found) => found,
        Err(why) if std::env::var("CENSUS_REQUIRE_CYCLONEDX").as_deref() == Ok("1") => {
            panic!("CENSUS_REQUIRE_CYCLONEDX=1 but the CycloneDX validator is missing: {why} (install with: {INSTALL})")
        }
        Err(why) => {
            eprintln!("skipping: CycloneDX validation: {why} (install with: {INSTALL})");
            return;
        }
    };
    eprintln!("validating with {version} ({python})");
    for (hostname, bom) in &boms {
        let out = validate(&python, bom, tmp.path(), hostname);
        assert!(out.status.success(), "{hostname}: the validator refused the BOM:\n{}", stderr(&out));
    }

    // The validator refuses what it should, so the checks above are not vacuous.
    let mut no_format = web01.clone();
    no_format.as_object_mut().unwrap().remove("bomFormat");
    let out = validate(&python, &no_format, tmp.path(), "no-format");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("'bomFormat' is a required property"), "{}", stderr(&out));
    let mut duplicate = web01.clone();
    let first = duplicate["components"][0]["bom-ref"].clone();
    duplicate["components"][1]["bom-ref"] = first;
    let out = validate(&python, &duplicate, tmp.path(), "duplicate-ref");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("duplicate bom-ref"), "{}", stderr(&out));
    let mut bad_type = web01.clone();
    bad_type["components"][0]["type"] = "package".into();
    let out = validate(&python, &bad_type, tmp.path(), "bad-type");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}
