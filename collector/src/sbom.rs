//! A CycloneDX 1.6 SBOM (JSON) of one host's software inventory, and its route
//! `GET /api/v1/hosts/{id}/sbom` (reader token; the host is looked up as `GET /api/v1/hosts/{id}`
//! does, with the same 404 and 409 answers).
//!
//! The BOM describes the host as it was at its stored inventory's collection time:
//!
//! - `metadata.component` is the machine: type `device` (`container` when the agent ran inside
//!   a container), named by its host name, with the operating system as a nested component of
//!   type `operating-system` (name = os id, e.g. `debian`; version = os version).
//! - `components` holds one component per installed package, in inventory order. Type
//!   `application` for sources that install self-contained applications (`macos-app`,
//!   `windows`, `snap`, `flatpak`); `library` for everything else: Python distributions, and the
//!   distribution and Homebrew packages, which mix libraries and programs that the name alone
//!   cannot tell apart (`library` is CycloneDX's default type, and what Syft and Trivy use for
//!   OS packages, so consumers treat these BOMs as they treat theirs).
//! - `bom-ref` is the package's purl when it has one that no earlier component took, otherwise
//!   a synthetic `pkg-N` (N its index, suffixed until unique): two copies of one package
//!   (multi-arch, two Python environments) share a purl but never a bom-ref.
//! - The vendor becomes `supplier.name`, the maintainer (packager) `publisher`. What CycloneDX
//!   has no field for goes into `properties` named `census:package:*` (source, arch,
//!   source_package, location, install_time as RFC 3339, installed_size_bytes, selection) and
//!   `census:host:*` / `census:os:*` on the host and OS components.
//! - `serialNumber` is a name-based UUID (RFC 9562 version 8, from SHA-256) over the rest of
//!   the document, so the same stored inventory gives the same serial number and any change in
//!   what the BOM says (a new collection time, another collector version) gives a new one.
//!
//! Every string comes from a host: none is trusted to be well-formed, and none can make this
//! panic. Versions are cut to the schema's 1024 characters (the full one is then kept as the
//! property `census:package:version`), and times outside years 1970 to 9999 are left out.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use census_inventory::Package;
use serde_json::{Map, Value, json};

use crate::api::{error, rfc3339, storage_error};
use crate::store::{HostDetail, HostLookup, Millis, Store};

/// The media type of the answer.
pub const CONTENT_TYPE: &str = "application/vnd.cyclonedx+json; version=1.6";

/// The schema's `maxLength` of a version string.
const MAX_VERSION_CHARS: usize = 1024;

/// 9999-12-31T23:59:59.999Z, the last instant RFC 3339 (and `api::rfc3339`) can write.
const MAX_TIME_MS: Millis = 253_402_300_799_999;

const HOST_REF: &str = "census:host";
const OS_REF: &str = "census:host:os";

pub fn reader_routes() -> axum::Router<Arc<dyn Store>> {
    axum::Router::new().route("/api/v1/hosts/{id}/sbom", get(host_sbom))
}

/// `GET /api/v1/hosts/{id}/sbom`.
async fn host_sbom(State(store): State<Arc<dyn Store>>, Path(id): Path<String>) -> Response {
    match store.host(&id).await {
        Ok(HostLookup::Found(d)) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], cyclonedx(&d).to_string()).into_response(),
        Ok(HostLookup::NotFound) => error(StatusCode::NOT_FOUND, format!("no host matches {id:?}"), Vec::new()),
        Ok(HostLookup::Ambiguous(ids)) => {
            error(StatusCode::CONFLICT, format!("{id:?} matches {} hosts", ids.len()), ids)
        }
        Err(e) => storage_error(e),
    }
}

/// The CycloneDX 1.6 BOM of `host`'s software inventory (see the module documentation).
pub fn cyclonedx(host: &HostDetail) -> Value {
    let mut used: HashSet<String> = [HOST_REF.to_string(), OS_REF.to_string()].into();
    let components: Vec<Value> =
        host.inventory.software.iter().enumerate().map(|(i, p)| package(p, bom_ref(p, i, &mut used))).collect();

    let mut metadata = Map::new();
    if let Some(t) = time_ms(host.collected_at) {
        metadata.insert("timestamp".into(), t.into());
    }
    metadata.insert("lifecycles".into(), json!([{ "phase": "operations" }]));
    metadata.insert(
        "tools".into(),
        json!({ "components": [{
            "type": "application",
            "name": "census-collector",
            "version": env!("CARGO_PKG_VERSION"),
        }] }),
    );
    metadata.insert("component".into(), machine(host));

    let mut bom = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": metadata,
        "components": components,
    });
    let serial = serial_number(&bom);
    if let Value::Object(fields) = &mut bom {
        fields.insert("serialNumber".into(), serial.into());
    }
    bom
}

/// `urn:uuid:` and a version 8 UUID from SHA-256 over the BOM without its serial number
/// (RFC 9562 section 5.8 and its appendix B.2 name-based example).
fn serial_number(bom: &Value) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"census.sbom.v1\0");
    ctx.update(bom.to_string().as_bytes());
    let digest = ctx.finish();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("urn:uuid:{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// The package's purl if it is usable and still free, else `pkg-I` (then `pkg-I-2`, ...).
fn bom_ref(p: &Package, index: usize, used: &mut HashSet<String>) -> String {
    // bom-refs starting with urn:cdx: would read as BOM-Links.
    if !p.purl.is_empty() && !p.purl.starts_with("urn:cdx:") && used.insert(p.purl.clone()) {
        return p.purl.clone();
    }
    let mut candidate = format!("pkg-{index}");
    let mut n = 1u64;
    while !used.insert(candidate.clone()) {
        n += 1;
        candidate = format!("pkg-{index}-{n}");
    }
    candidate
}

/// The CycloneDX component type of a package from `source` (see the module documentation).
fn component_type(source: &str) -> &'static str {
    match source {
        "macos-app" | "windows" | "snap" | "flatpak" => "application",
        _ => "library",
    }
}

fn package(p: &Package, bom_ref: String) -> Value {
    let mut c = Map::new();
    c.insert("type".into(), component_type(&p.source).into());
    c.insert("bom-ref".into(), bom_ref.into());
    c.insert("name".into(), p.name.clone().into());
    let version = clip(&p.version, MAX_VERSION_CHARS);
    if !version.is_empty() {
        c.insert("version".into(), version.into());
    }
    if !p.purl.is_empty() {
        c.insert("purl".into(), p.purl.clone().into());
    }
    if !p.vendor.is_empty() {
        c.insert("supplier".into(), json!({ "name": p.vendor }));
    }
    if !p.maintainer.is_empty() {
        c.insert("publisher".into(), p.maintainer.clone().into());
    }
    let mut props = Properties::default();
    props.add("census:package:source", &p.source);
    props.add("census:package:arch", &p.arch);
    props.add("census:package:source_package", &p.source_package);
    props.add("census:package:location", &p.location);
    if p.install_time > 0 {
        props.add_opt("census:package:install_time", p.install_time.checked_mul(1000).and_then(time_ms));
    }
    if p.installed_size_bytes > 0 {
        props.add("census:package:installed_size_bytes", &p.installed_size_bytes.to_string());
    }
    props.add("census:package:selection", &p.selection);
    if version.len() < p.version.len() {
        props.add("census:package:version", &p.version);
    }
    props.insert_into(&mut c);
    Value::Object(c)
}

/// The machine as `metadata.component`, with its operating system nested.
fn machine(host: &HostDetail) -> Value {
    let os = &host.inventory.os;
    let mut c = Map::new();
    c.insert("type".into(), if os.container.is_empty() { "device" } else { "container" }.into());
    c.insert("bom-ref".into(), HOST_REF.into());
    let name = if host.summary.hostname.is_empty() { &host.summary.id } else { &host.summary.hostname };
    c.insert("name".into(), name.clone().into());

    let os_name = if os.id.is_empty() { &os.name } else { &os.id };
    if !os_name.is_empty() || !os.version.is_empty() {
        let mut o = Map::new();
        o.insert("type".into(), "operating-system".into());
        o.insert("bom-ref".into(), OS_REF.into());
        o.insert("name".into(), os_name.clone().into());
        let version = clip(&os.version, MAX_VERSION_CHARS);
        if !version.is_empty() {
            o.insert("version".into(), version.into());
        }
        if !os.pretty_name.is_empty() {
            o.insert("description".into(), os.pretty_name.clone().into());
        }
        let mut props = Properties::default();
        props.add("census:os:kernel", &os.kernel);
        props.add("census:os:arch", &os.arch);
        props.insert_into(&mut o);
        c.insert("components".into(), json!([o]));
    }

    let mut props = Properties::default();
    props.add("census:host:agent_id", &host.summary.id);
    props.add("census:host:machine_id", &host.machine_id);
    props.add("census:host:fqdn", &os.fqdn);
    props.add("census:host:asset_id", host.asset_id.as_deref().unwrap_or(""));
    props.add("census:host:virtualization", &os.virtualization);
    props.add("census:host:container", &os.container);
    props.add("census:host:cloud", &os.cloud);
    props.insert_into(&mut c);
    Value::Object(c)
}

/// CycloneDX `properties`, leaving out empty values.
#[derive(Default)]
struct Properties(Vec<Value>);

impl Properties {
    fn add(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.0.push(json!({ "name": name, "value": value }));
        }
    }

    fn add_opt(&mut self, name: &str, value: Option<String>) {
        if let Some(v) = value {
            self.add(name, &v);
        }
    }

    fn insert_into(self, component: &mut Map<String, Value>) {
        if !self.0.is_empty() {
            component.insert("properties".into(), Value::Array(self.0));
        }
    }
}

/// RFC 3339 of a time in unix ms, if it is after the epoch and before year 10000.
fn time_ms(ms: Millis) -> Option<String> {
    (1..=MAX_TIME_MS).contains(&ms).then(|| rfc3339(ms))
}

/// The first `max` characters of `s`.
fn clip(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{HostSummary, ReportBody, VerifiedReport, now_ms};
    use census_inventory::Inventory;

    fn pkg(name: &str, version: &str, source: &str, purl: &str) -> Package {
        Package {
            name: name.into(),
            version: version.into(),
            arch: "amd64".into(),
            source: source.into(),
            purl: purl.into(),
            ..Default::default()
        }
    }

    fn host(software: Vec<Package>) -> HostDetail {
        let mut inventory = Inventory::default();
        inventory.os.hostname = "web-01".into();
        inventory.os.id = "debian".into();
        inventory.os.version = "12".into();
        inventory.os.pretty_name = "Debian GNU/Linux 12 (bookworm)".into();
        inventory.software = software;
        HostDetail {
            summary: HostSummary {
                id: "0123456789abcdef0123456789abcdef".into(),
                hostname: "web-01".into(),
                os: "Debian GNU/Linux 12 (bookworm)".into(),
                os_id: "debian".into(),
                os_version: "12".into(),
                kernel: String::new(),
                arch: "x86_64".into(),
                last_seen: 1_767_225_600_000,
                package_count: inventory.software.len() as u64,
                agent_version: "0.1.0".into(),
            },
            machine_id: String::new(),
            enrolled_at: 1_767_225_000_000,
            sequence: 3,
            collected_at: 1_767_225_600_000,
            asset_id: None,
            inventory,
        }
    }

    fn refs(bom: &Value) -> Vec<String> {
        bom["components"].as_array().unwrap().iter().map(|c| c["bom-ref"].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn one_component_per_package_with_its_fields() {
        let mut openssl = pkg("openssl", "3.0.11-1~deb12u2", "dpkg", "pkg:deb/debian/openssl@3.0.11-1~deb12u2");
        openssl.maintainer = "Debian OpenSSL Team".into();
        openssl.install_time = 1_700_000_000;
        openssl.installed_size_bytes = 2048;
        let mut requests = pkg("requests", "2.31.0", "python", "pkg:pypi/requests@2.31.0");
        requests.vendor = "Kenneth Reitz".into();
        requests.location = "/usr/lib/python3/dist-packages".into();
        let bom = cyclonedx(&host(vec![openssl, requests, pkg("Firefox", "121.0", "flatpak", "")]));

        assert_eq!(bom["bomFormat"], "CycloneDX");
        assert_eq!(bom["specVersion"], "1.6");
        assert_eq!(bom["version"], 1);
        assert_eq!(bom["metadata"]["timestamp"], "2026-01-01T00:00:00Z");
        assert_eq!(bom["metadata"]["tools"]["components"][0]["name"], "census-collector");
        let machine = &bom["metadata"]["component"];
        assert_eq!((machine["type"].as_str(), machine["name"].as_str()), (Some("device"), Some("web-01")));
        let os = &machine["components"][0];
        assert_eq!(
            (os["type"].as_str(), os["name"].as_str(), os["version"].as_str()),
            (Some("operating-system"), Some("debian"), Some("12"))
        );

        let components = bom["components"].as_array().unwrap();
        assert_eq!(components.len(), 3);
        let [openssl, requests, firefox] = [&components[0], &components[1], &components[2]];
        assert_eq!(openssl["type"], "library");
        assert_eq!(openssl["bom-ref"], "pkg:deb/debian/openssl@3.0.11-1~deb12u2");
        assert_eq!(openssl["purl"], openssl["bom-ref"]);
        assert_eq!(openssl["publisher"], "Debian OpenSSL Team");
        let props = |c: &Value| -> Vec<(String, String)> {
            c["properties"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p["name"].as_str().unwrap().into(), p["value"].as_str().unwrap().into()))
                .collect()
        };
        let prop = |n: &str, v: &str| (n.to_string(), v.to_string());
        assert_eq!(
            props(openssl),
            [
                prop("census:package:source", "dpkg"),
                prop("census:package:arch", "amd64"),
                prop("census:package:install_time", "2023-11-14T22:13:20Z"),
                prop("census:package:installed_size_bytes", "2048"),
            ]
        );
        assert_eq!(requests["type"], "library");
        assert_eq!(requests["supplier"]["name"], "Kenneth Reitz");
        assert!(props(requests).contains(&prop("census:package:location", "/usr/lib/python3/dist-packages")));
        assert_eq!(firefox["type"], "application");
        assert_eq!(firefox["bom-ref"], "pkg-2");
        assert!(firefox.get("purl").is_none());
    }

    #[test]
    fn duplicate_purls_give_unique_bom_refs() {
        let purl = "pkg:deb/debian/libc6@2.36-9?arch=amd64";
        let bom = cyclonedx(&host(vec![
            pkg("libc6", "2.36-9", "dpkg", purl),
            pkg("libc6", "2.36-9", "dpkg", purl),
            // Purls that look like the synthetic refs, or the host's, or a BOM-Link.
            pkg("x", "1", "dpkg", "pkg-1"),
            pkg("y", "1", "dpkg", "pkg-3"),
            pkg("z", "1", "dpkg", HOST_REF),
            pkg("w", "1", "dpkg", "urn:cdx:0/1#x"),
            pkg("v", "1", "dpkg", ""),
        ]));
        assert_eq!(refs(&bom), [purl, "pkg-1", "pkg-2", "pkg-3", "pkg-4", "pkg-5", "pkg-6"]);
        let bom = cyclonedx(&host(vec![pkg("a", "1", "dpkg", "pkg-1"), pkg("b", "1", "dpkg", "pkg-1")]));
        assert_eq!(refs(&bom), ["pkg-1", "pkg-1-2"]);
        // Both copies keep the purl itself.
        assert_eq!(bom["components"][1]["purl"], "pkg-1");
    }

    #[test]
    fn same_inventory_same_serial_number() {
        let software = || vec![pkg("bash", "5.2", "dpkg", "pkg:deb/debian/bash@5.2")];
        let a = cyclonedx(&host(software()));
        let serial = a["serialNumber"].as_str().unwrap();
        assert_eq!(serial, cyclonedx(&host(software()))["serialNumber"].as_str().unwrap());
        assert_eq!(a, cyclonedx(&host(software())));
        // urn:uuid:, lower-case hex 8-4-4-4-12, version 8, variant 10.
        let uuid = serial.strip_prefix("urn:uuid:").unwrap();
        let groups: Vec<&str> = uuid.split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(uuid.chars().all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)), "{uuid}");
        assert!(groups[2].starts_with('8') && "89ab".contains(&groups[3][..1]), "{uuid}");

        let mut upgraded = host(vec![pkg("bash", "5.3", "dpkg", "pkg:deb/debian/bash@5.3")]);
        assert_ne!(cyclonedx(&upgraded)["serialNumber"], a["serialNumber"]);
        upgraded.inventory.software = software();
        upgraded.collected_at += 1000;
        assert_ne!(cyclonedx(&upgraded)["serialNumber"], a["serialNumber"], "a new collection is a new BOM");
    }

    #[test]
    fn empty_inventory_is_still_a_bom() {
        let mut h = host(Vec::new());
        h.inventory = Inventory::default();
        h.summary.hostname = String::new();
        let bom = cyclonedx(&h);
        assert_eq!(bom["components"], json!([]));
        assert_eq!(bom["bomFormat"], "CycloneDX");
        assert!(bom["serialNumber"].as_str().unwrap().starts_with("urn:uuid:"));
        let machine = &bom["metadata"]["component"];
        assert_eq!(machine["name"], h.summary.id.as_str(), "no host name: the agent id");
        assert!(machine.get("components").is_none(), "no OS known: no OS component");
    }

    #[test]
    fn hostile_strings_and_times_do_not_panic() {
        let mut odd = pkg("\u{0}\n\"é", &"é".repeat(5000), "dpkg", "\u{feff}");
        odd.install_time = i64::MAX;
        let mut negative = pkg("n", "", "", "");
        negative.install_time = -5;
        let mut h = host(vec![odd, negative]);
        h.collected_at = i64::MAX;
        let bom = cyclonedx(&h);
        assert!(bom["metadata"].get("timestamp").is_none());
        let c = &bom["components"][0];
        assert_eq!(c["version"].as_str().unwrap().chars().count(), MAX_VERSION_CHARS);
        let names: Vec<&str> =
            c["properties"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["census:package:source", "census:package:arch", "census:package:version"]);
        assert!(bom["components"][1].get("version").is_none());
        assert!(bom["components"][1].get("properties").unwrap().as_array().unwrap().len() == 1);
        h.collected_at = -1;
        assert!(cyclonedx(&h)["metadata"].get("timestamp").is_none());
    }

    #[tokio::test]
    async fn route_answers_like_get_host() {
        use crate::api::test_api::{Api, READER};
        let api = Api::new().await;
        let ids = ["0123456789abcdef", "0123456789abcdee"];
        for (n, id) in ids.iter().enumerate() {
            crate::store::suite::enroll_one(api.store.as_ref(), id).await;
            let mut inv = Inventory::default();
            inv.os.hostname = format!("web-0{n}");
            inv.software = vec![pkg("bash", "5.2", "dpkg", "pkg:deb/debian/bash@5.2")];
            let now = now_ms();
            let report = VerifiedReport {
                agent_id: id.to_string(),
                sequence: 1,
                digest: vec![1],
                bytes: 1,
                agent_version: "0.1.0".into(),
                collected_at: now - 1000,
                received_at: now,
                body: ReportBody::Full(inv),
            };
            api.store.apply(report).await.unwrap();
        }

        let (status, content_type, body) = api.raw("GET", "/api/v1/hosts/web-01/sbom", Some(READER), "").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(content_type, CONTENT_TYPE);
        let bom: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(bom["metadata"]["component"]["name"], "web-01");
        assert_eq!(bom["components"][0]["bom-ref"], "pkg:deb/debian/bash@5.2");

        let (status, body) = api.get("/api/v1/hosts/nothing/sbom", Some(READER)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"], "no host matches \"nothing\"");
        let (status, body) = api.get("/api/v1/hosts/0123456789abcde/sbom", Some(READER)).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["matches"].as_array().unwrap().len(), 2, "{body}");
        let (status, _) = api.get("/api/v1/hosts/web-01/sbom", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}
