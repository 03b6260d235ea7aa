//! The storage conformance suite: every backend must pass all of it.

use census_inventory::{Inventory, OperatingSystem, Package};

use super::*;

use super::admin::{Actor, AdminError, NewEnrollSecret, sha256};

const SUITE_SECRET: &[u8] = b"suite secret";

/// Creates an enroll secret (once per store) and returns its digest.
async fn secret(
    store: &dyn Store,
    label: &str,
    text: &[u8],
    max_uses: Option<u64>,
    expires_at: Option<Millis>,
) -> Vec<u8> {
    let new = NewEnrollSecret { label: label.into(), secret_sha256: sha256(text), expires_at, max_uses };
    match store.create_enroll_secret(new, &Actor::collector()).await {
        Ok(_) | Err(AdminError::Conflict(_)) => sha256(text),
        Err(e) => panic!("create secret {label}: {e}"),
    }
}

fn new_agent(id: &str, key: u8, secret_sha256: Vec<u8>) -> NewAgent {
    NewAgent {
        agent_id: id.into(),
        public_key: vec![key; 32],
        hostname: format!("{id}-host"),
        agent_version: "0.1.0".into(),
        enrolled_at: 1_000,
        secret_sha256,
        source: "192.0.2.9".into(),
        client_cert_sha256: format!("cert-{id}"),
    }
}

pub async fn enroll_one(store: &dyn Store, id: &str) {
    let s = secret(store, "suite", SUITE_SECRET, None, None).await;
    store.enroll(new_agent(id, 7, s)).await.unwrap();
}

fn inventory(hostname: &str, packages: usize) -> Inventory {
    Inventory {
        os: OperatingSystem { hostname: hostname.into(), pretty_name: "Debian 12".into(), ..Default::default() },
        software: (0..packages)
            .map(|i| Package {
                name: format!("pkg{i}"),
                version: "1".into(),
                source: "dpkg".into(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

pub fn report(id: &str, sequence: u64, inv: Option<Inventory>) -> VerifiedReport {
    let digest = sha256(format!("{id}/{sequence}").as_bytes());
    VerifiedReport {
        agent_id: id.into(),
        sequence,
        digest,
        bytes: 100,
        agent_version: "0.1.0".into(),
        collected_at: 2_000,
        received_at: 3_000 + sequence as i64,
        body: inv.map_or(super::ReportBody::Heartbeat, super::ReportBody::Full),
    }
}

pub async fn run_all(store: &dyn Store) {
    enrollment_is_idempotent_per_key(store).await;
    enroll_secrets_are_checked_and_counted(store).await;
    revoked_agents_are_refused(store).await;
    sequences_apply_once_in_order(store).await;
    latest_inventory_replaces_the_previous(store).await;
    heartbeat_updates_only_liveness(store).await;
    lookup_by_id_prefix_and_hostname(store).await;
    software_by_name_and_source(store).await;
    neighbors_merge_across_agents_and_follow_each_report(store).await;
}

async fn neighbors_merge_across_agents_and_follow_each_report(store: &dyn Store) {
    use census_inventory::{Neighbor, NeighborAttribute};
    let printer = |ip: &str, seen: i64, protocol: &str| Neighbor {
        mac: "3c:2a:f4:01:02:03".into(),
        vendor: "Brother Industries, LTD.".into(),
        interface: "eth0".into(),
        ipv4: vec![ip.into()],
        names: vec!["BRN3C2AF4010203".into()],
        protocols: vec![protocol.into()],
        first_seen: seen,
        last_seen: seen + 60,
        kind_hint: "printer".into(),
        attributes: vec![NeighborAttribute { key: "service".into(), value: "_ipp._tcp".into() }],
        ..Default::default()
    };
    let router = Neighbor { mac: "00:00:5e:00:53:01".into(), protocols: vec!["arp".into()], ..Default::default() };
    for id in ["nb-a", "nb-b"] {
        enroll_one(store, id).await;
    }
    let with = |host: &str, neighbors: Vec<Neighbor>| Inventory { neighbors, ..inventory(host, 0) };
    store.apply(report("nb-a", 1, Some(with("alpha", vec![printer("192.0.2.40", 100, "arp"), router])))).await.unwrap();
    store.apply(report("nb-b", 1, Some(with("bravo", vec![printer("192.0.2.41", 50, "mdns")])))).await.unwrap();

    let rows = store.neighbors().await.unwrap();
    let ours: Vec<_> = rows.iter().filter(|r| r.mac == "3c:2a:f4:01:02:03" || r.mac == "00:00:5e:00:53:01").collect();
    assert_eq!(ours.len(), 2, "one row per MAC: {rows:?}");
    let p = ours.iter().find(|r| r.mac == "3c:2a:f4:01:02:03").unwrap();
    assert_eq!(p.ipv4, vec!["192.0.2.40", "192.0.2.41"]);
    assert_eq!(p.protocols, vec!["arp", "mdns"]);
    assert_eq!(p.names, vec!["BRN3C2AF4010203"], "the same name once");
    assert_eq!((p.first_seen, p.last_seen), (50, 160));
    assert_eq!(p.kind_hint, "printer");
    let by: Vec<&str> = p.seen_by.iter().map(|s| s.hostname.as_str()).collect();
    assert_eq!(by, vec!["alpha", "bravo"]);

    // The next full report from alpha no longer hears the printer: only bravo's sighting stays.
    store.apply(report("nb-a", 2, Some(with("alpha", vec![])))).await.unwrap();
    let rows = store.neighbors().await.unwrap();
    let p = rows.iter().find(|r| r.mac == "3c:2a:f4:01:02:03").unwrap();
    assert_eq!(p.seen_by.len(), 1);
    assert_eq!(p.seen_by[0].hostname, "bravo");
    assert_eq!(p.ipv4, vec!["192.0.2.41"]);
    assert!(rows.iter().all(|r| r.mac != "00:00:5e:00:53:01"), "alpha's router sighting went with its report");
}

async fn software_by_name_and_source(store: &dyn Store) {
    let pkg = |name: &str, version: &str, source: &str| Package {
        name: name.into(),
        version: version.into(),
        source: source.into(),
        arch: "amd64".into(),
        purl: format!("pkg:x/{name}@{version}"),
        location: "/here".into(),
        ..Default::default()
    };
    for (id, host, packages) in [
        ("sw1", "alpha", vec![pkg("openssl", "3.0.11-1", "dpkg"), pkg("openssl", "3.1.0", "python")]),
        ("sw2", "beta", vec![pkg("openssl", "1:3.0.7-27.el9", "rpm"), pkg("curl", "8.0", "rpm")]),
    ] {
        enroll_one(store, id).await;
        let mut inv = inventory(host, 0);
        inv.software = packages;
        store.apply(report(id, 1, Some(inv))).await.unwrap();
    }
    let all = store.software("openssl", None, None).await.unwrap();
    let got: Vec<_> = all.iter().map(|r| (r.hostname.as_str(), r.source.as_str(), r.version.as_str())).collect();
    assert_eq!(got, [("alpha", "dpkg", "3.0.11-1"), ("alpha", "python", "3.1.0"), ("beta", "rpm", "1:3.0.7-27.el9")]);
    assert_eq!(all[0].purl, "pkg:x/openssl@3.0.11-1");
    assert_eq!(all[0].location, "/here");
    assert_eq!(store.software("openssl", Some("rpm"), None).await.unwrap().len(), 1);
    assert!(store.software("OpenSSL", None, None).await.unwrap().is_empty(), "names match exactly");
    assert!(store.software("' OR 1=1 --", None, None).await.unwrap().is_empty());
}

async fn enrollment_is_idempotent_per_key(store: &dyn Store) {
    enroll_one(store, "a1").await;
    enroll_one(store, "a1").await;
    let rec = store.agent("a1").await.unwrap().unwrap();
    assert_eq!(rec.public_key, vec![7; 32]);
    assert_eq!(rec.last_sequence, 0);
    assert_eq!(rec.client_cert_sha256, "cert-a1");
    assert!(!rec.revoked);
    let suite = sha256(SUITE_SECRET);
    assert!(matches!(store.enroll(new_agent("a1", 8, suite.clone())).await, Err(StoreError::KeyConflict(_))));
    assert_eq!(store.agent("nobody").await.unwrap(), None);
}

async fn enroll_secrets_are_checked_and_counted(store: &dyn Store) {
    let refused = |r: Result<(), StoreError>| match r {
        Err(StoreError::EnrollRefused(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(
        refused(store.enroll(new_agent("e0", 1, sha256(b"no such secret"))).await),
        "enroll secret is not valid"
    );
    let once = secret(store, "once", b"once secret", Some(1), None).await;
    store.enroll(new_agent("e1", 1, once.clone())).await.unwrap();
    // The same agent enrolling again uses nothing; a second agent finds it used up.
    store.enroll(new_agent("e1", 1, once.clone())).await.unwrap();
    assert_eq!(
        refused(store.enroll(new_agent("e2", 2, once)).await),
        "enroll secret \"once\" is used up (1 of 1 enrollments)"
    );
    let expired = secret(store, "old", b"old secret", None, Some(1_000)).await;
    let m = refused(store.enroll(new_agent("e3", 3, expired)).await);
    assert_eq!(m, "enroll secret \"old\" expired at 1970-01-01T00:00:01Z");
    let revoked = secret(store, "gone", b"gone secret", None, None).await;
    store.revoke_enroll_secret("gone", &Actor::collector()).await.unwrap();
    assert_eq!(refused(store.enroll(new_agent("e4", 4, revoked)).await), "enroll secret \"gone\" was revoked");
    for id in ["e0", "e2", "e3", "e4"] {
        assert_eq!(store.agent(id).await.unwrap(), None, "a refused enrollment stores no agent");
    }
    let uses: Vec<(String, u64)> =
        store.list_enroll_secrets().await.unwrap().into_iter().map(|s| (s.label, s.uses)).collect();
    assert!(uses.contains(&("once".into(), 1)) && uses.contains(&("old".into(), 0)), "{uses:?}");
}

async fn revoked_agents_are_refused(store: &dyn Store) {
    enroll_one(store, "rv1").await;
    assert_eq!(store.apply(report("rv1", 1, Some(inventory("rv1", 1)))).await.unwrap(), Applied::Stored);
    store.revoke_agent("rv1", "laptop stolen", &Actor::collector()).await.unwrap();
    assert!(store.agent("rv1").await.unwrap().unwrap().revoked);
    assert_eq!(store.apply(report("rv1", 2, Some(inventory("rv1", 5)))).await.unwrap(), Applied::Revoked);
    let s = sha256(SUITE_SECRET);
    match store.enroll(new_agent("rv1", 7, s)).await {
        Err(StoreError::EnrollRefused(m)) => assert!(m.starts_with("agent rv1 was revoked"), "{m}"),
        other => panic!("a revoked key enrolled again: {other:?}"),
    }
    assert_eq!(store.agent("rv1").await.unwrap().unwrap().last_sequence, 1);
}

async fn sequences_apply_once_in_order(store: &dyn Store) {
    enroll_one(store, "s1").await;
    assert_eq!(store.apply(report("s1", 5, Some(inventory("s1", 3)))).await.unwrap(), Applied::Stored);
    assert_eq!(store.apply(report("s1", 5, Some(inventory("s1", 9)))).await.unwrap(), Applied::Duplicate);
    assert_eq!(store.apply(report("s1", 4, Some(inventory("s1", 9)))).await.unwrap(), Applied::Stale { last: 5 });
    let mut other = report("s1", 5, Some(inventory("s1", 9)));
    other.digest = sha256(b"other bytes");
    assert_eq!(store.apply(other).await.unwrap(), Applied::Reused);
    // An older sequence that was applied is still a duplicate, not stale.
    assert_eq!(store.apply(report("s1", 6, None)).await.unwrap(), Applied::Stored);
    assert_eq!(store.apply(report("s1", 5, None)).await.unwrap(), Applied::Duplicate);
    let host = store.hosts().await.unwrap().into_iter().find(|h| h.id == "s1").unwrap();
    assert_eq!(host.package_count, 3, "neither the duplicate nor the stale report changed anything");
    assert_eq!(store.agent("s1").await.unwrap().unwrap().last_sequence, 6);
}

async fn latest_inventory_replaces_the_previous(store: &dyn Store) {
    enroll_one(store, "r1").await;
    store.apply(report("r1", 1, Some(inventory("r1", 10)))).await.unwrap();
    store.apply(report("r1", 2, Some(inventory("r1-renamed", 4)))).await.unwrap();
    let HostLookup::Found(d) = store.host("r1").await.unwrap() else { panic!("r1 not found") };
    assert_eq!(d.summary.hostname, "r1-renamed");
    assert_eq!(d.summary.package_count, 4);
    assert_eq!(d.inventory.software.len(), 4);
    assert_eq!(d.sequence, 2);
}

async fn heartbeat_updates_only_liveness(store: &dyn Store) {
    enroll_one(store, "h1").await;
    store.apply(report("h1", 1, Some(inventory("h1", 2)))).await.unwrap();
    assert_eq!(store.apply(report("h1", 2, None)).await.unwrap(), Applied::Stored);
    let h = store.hosts().await.unwrap().into_iter().find(|h| h.id == "h1").unwrap();
    assert_eq!(h.package_count, 2);
    assert_eq!(h.last_seen, 3_002);
    // An agent that only ever sent heartbeats is not a host yet.
    enroll_one(store, "h2").await;
    store.apply(report("h2", 1, None)).await.unwrap();
    assert!(store.hosts().await.unwrap().iter().all(|h| h.id != "h2"));
}

async fn lookup_by_id_prefix_and_hostname(store: &dyn Store) {
    for id in ["abcd1111", "abcd2222"] {
        enroll_one(store, id).await;
        store.apply(report(id, 1, Some(inventory(&format!("host-{id}"), 1)))).await.unwrap();
    }
    assert!(matches!(store.host("abcd1111").await.unwrap(), HostLookup::Found(_)));
    assert!(matches!(store.host("abcd1").await.unwrap(), HostLookup::Found(_)));
    assert_eq!(store.host("abcd").await.unwrap(), HostLookup::Ambiguous(vec!["abcd1111".into(), "abcd2222".into()]));
    assert!(matches!(store.host("host-abcd2222").await.unwrap(), HostLookup::Found(_)));
    assert_eq!(store.host("zzzz").await.unwrap(), HostLookup::NotFound);
    assert_eq!(store.host("%").await.unwrap(), HostLookup::NotFound, "wildcards in a query match nothing");
    assert_eq!(store.host("abc%").await.unwrap(), HostLookup::NotFound, "wildcards in a query match nothing");
}
