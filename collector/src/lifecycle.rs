//! The collector's continuous lifecycle evaluation: every `evaluate_every`, assets silent for
//! `stale_after` become stale, and the fleet SLIs are recomputed for `/metrics`.
//!
//! Time comes from a [`Clock`] built on tokio's clock, so tests pause and advance it.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use crate::config::FleetConfig;
use crate::coverage::CoveragePolicy;
use crate::metrics::Metrics;
use crate::store::{Millis, Store};

/// Wall-clock milliseconds that advance with tokio's clock (which tests can pause).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start_ms: Millis,
    start: tokio::time::Instant,
}

impl Clock {
    pub fn new() -> Self {
        Self { start_ms: crate::store::now_ms(), start: tokio::time::Instant::now() }
    }

    pub fn now_ms(&self) -> Millis {
        self.start_ms.saturating_add(i64::try_from(self.start.elapsed().as_millis()).unwrap_or(i64::MAX))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

fn ms(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One evaluation: marks stale assets and refreshes the SLI gauges. Returns the assets marked.
pub async fn evaluate(store: &dyn Store, metrics: &Metrics, cfg: &FleetConfig, now: Millis) -> Vec<String> {
    let marked = match store.mark_stale(now, ms(cfg.stale_after)).await {
        Ok(m) => m,
        Err(e) => {
            warn!(error = %e, "stale evaluation failed");
            Vec::new()
        }
    };
    if !marked.is_empty() {
        info!(assets = marked.len(), "assets became stale");
    }
    match store.fleet_slis(now, ms(cfg.stale_after), &cfg.required_tags).await {
        Ok(slis) => metrics.set_fleet(&slis),
        Err(e) => warn!(error = %e, "fleet SLIs not computed"),
    }
    marked
}

/// Refreshes the coverage gauges (statuses under the policy, unmanaged devices).
pub async fn evaluate_coverage(store: &dyn Store, metrics: &Metrics, policy: &CoveragePolicy, now: Millis) {
    match store.coverage_facts(false).await {
        Ok(facts) => metrics.set_coverage(&crate::coverage::count(policy, &facts, now, None)),
        Err(e) => warn!(error = %e, "coverage not computed"),
    }
    match store.unmanaged_count().await {
        Ok(n) => metrics.set_unmanaged(n),
        Err(e) => warn!(error = %e, "unmanaged devices not counted"),
    }
}

/// Evaluates every `cfg.evaluate_every`, forever.
pub async fn run(store: Arc<dyn Store>, metrics: Arc<Metrics>, cfg: FleetConfig, policy: CoveragePolicy, clock: Clock) {
    let mut tick = tokio::time::interval(cfg.evaluate_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        evaluate(store.as_ref(), &metrics, &cfg, clock.now_ms()).await;
        evaluate_coverage(store.as_ref(), &metrics, &policy, clock.now_ms()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::admin::{Actor, NewEnrollSecret, sha256};
    use crate::store::history::EventFilter;
    use crate::store::sqlite::SqliteStore;
    use crate::store::{NewAgent, ReportBody, VerifiedReport};
    use census_inventory::changes::Kind;
    use census_inventory::{HostIdentifiers, Identifier, Inventory, OperatingSystem};

    const DAY: Duration = Duration::from_secs(86_400);

    async fn store_with_one_asset(dir: &std::path::Path, at: Millis) -> Arc<dyn Store> {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("db")).unwrap());
        let secret =
            NewEnrollSecret { label: "t".into(), secret_sha256: sha256("s"), expires_at: None, max_uses: None };
        store.create_enroll_secret(secret, &Actor::collector()).await.unwrap();
        store
            .enroll(NewAgent {
                agent_id: "a1".into(),
                public_key: vec![1; 32],
                hostname: "web-01".into(),
                agent_version: "0".into(),
                enrolled_at: at,
                secret_sha256: sha256("s"),
                source: "test".into(),
                client_cert_sha256: String::new(),
            })
            .await
            .unwrap();
        let inventory = Inventory {
            os: OperatingSystem { hostname: "web-01".into(), ..Default::default() },
            identifiers: HostIdentifiers {
                smbios_uuid: Identifier { value: "4c4c4544-0042-3510-8052-b4c04f4e3732".into(), ..Default::default() },
                ..Default::default()
            },
            ..Default::default()
        };
        report(&store, 1, at, Some(inventory)).await;
        store
    }

    async fn report(store: &Arc<dyn Store>, sequence: u64, at: Millis, inventory: Option<Inventory>) {
        let r = VerifiedReport {
            agent_id: "a1".into(),
            sequence,
            digest: sha256(format!("r{sequence}")),
            bytes: 10,
            agent_version: "0".into(),
            collected_at: at,
            received_at: at,
            body: match inventory {
                Some(inv) => ReportBody::Full(inv),
                None => ReportBody::Heartbeat,
            },
        };
        assert_eq!(store.apply(r).await.unwrap(), crate::store::Applied::Stored);
    }

    async fn state(store: &Arc<dyn Store>) -> String {
        store.assets().await.unwrap().remove(0).state
    }

    #[tokio::test(start_paused = true)]
    async fn silent_assets_go_stale_come_back_and_retired_ones_are_flagged() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::new();
        let store = store_with_one_asset(dir.path(), clock.now_ms()).await;
        let metrics = Arc::new(Metrics::new());
        let cfg = FleetConfig { evaluate_every: Duration::from_secs(60), ..FleetConfig::default() };
        let task = tokio::spawn(run(store.clone(), metrics.clone(), cfg, CoveragePolicy::default(), clock));

        tokio::time::sleep(6 * DAY).await;
        assert_eq!(state(&store).await, "active", "six silent days are not seven");
        tokio::time::sleep(DAY + Duration::from_secs(120)).await;
        assert_eq!(state(&store).await, "stale");
        let text = metrics.render();
        assert!(text.contains("census_fleet_assets{state=\"stale\"} 1"), "{text}");
        assert!(text.contains("census_fleet_sli_ratio{sli=\"fresh\"} 0.0"), "{text}");

        // A heartbeat brings it back.
        report(&store, 2, clock.now_ms(), None).await;
        assert_eq!(state(&store).await, "active");

        // Retired by an admin; reporting again flags it and leaves it retired.
        let asset = store.assets().await.unwrap().remove(0).asset_id;
        store.retire(&asset[..6], "decommissioned", &Actor::collector()).await.unwrap();
        report(&store, 3, clock.now_ms(), None).await;
        assert_eq!(state(&store).await, "retired");
        task.abort();

        let filter = EventFilter { since: 0, kinds: vec![Kind::Lifecycle], limit: 100 };
        // In recording order: the admin's retirement is stamped with the real clock, which the
        // paused test clock has run ahead of.
        let mut events = store.changes(filter).await.unwrap();
        events.sort_by_key(|e| e.id);
        let events: Vec<(String, String)> = events.into_iter().map(|e| (e.old, e.new)).collect();
        let expected =
            [("active", "stale"), ("stale", "active"), ("active", "retired"), ("retired", "reported-after-retirement")];
        assert_eq!(events, expected.map(|(a, b)| (a.to_string(), b.to_string())));
    }

    #[tokio::test]
    async fn ownership_tags_and_slis() {
        let dir = tempfile::tempdir().unwrap();
        let now = crate::store::now_ms();
        let store = store_with_one_asset(dir.path(), now).await;
        let asset = store.assets().await.unwrap().remove(0).asset_id;
        let admin = Actor { name: "ops".into(), source: "test".into() };
        let required = vec!["owner".to_string(), "environment".to_string(), "pci".to_string()];
        let stale_after = 7 * 86_400_000;
        let slis = store.fleet_slis(now, stale_after, &required).await.unwrap();
        assert_eq!((slis.assets, slis.active, slis.owner_coverage, slis.tag_compliance), (1, 1, 0.0, 0.0));
        assert_eq!((slis.fresh_ratio, slis.duplicate_rate), (1.0, 0.0));

        let update = crate::store::lifecycle::OwnershipUpdate {
            owner: Some("alice".into()),
            environment: Some("prod".into()),
            ..Default::default()
        };
        store.set_ownership(&asset, update, &admin).await.unwrap();
        let slis = store.fleet_slis(now, stale_after, &required).await.unwrap();
        assert_eq!((slis.owner_coverage, slis.tag_compliance), (1.0, 0.0), "pci is still missing");
        store.set_tags(&asset, vec![("pci".into(), "in-scope".into())], vec![], &admin).await.unwrap();
        let slis = store.fleet_slis(now, stale_after, &required).await.unwrap();
        assert_eq!(slis.tag_compliance, 1.0);
        store.set_tags(&asset, vec![], vec!["pci".into()], &admin).await.unwrap();
        assert_eq!(store.fleet_slis(now, stale_after, &required).await.unwrap().tag_compliance, 0.0);

        let bad = store.set_tags(&asset, vec![("bad key".into(), "x".into())], vec![], &admin).await.unwrap_err();
        assert_eq!(bad.to_string(), "tag key \"bad key\" must be 1 to 128 letters, digits and - _ . : / only");
        let none = store.retire(&asset, " ", &admin).await.unwrap_err();
        assert_eq!(none.to_string(), "retiring an asset needs a reason");
        let audit: Vec<String> = store.list_audit(0, 100).await.unwrap().into_iter().map(|e| e.action).collect();
        assert!(audit.iter().filter(|a| a.as_str() == "asset.tag").count() == 2, "{audit:?}");
        assert!(audit.contains(&"asset.owner".to_string()), "{audit:?}");
    }

    #[tokio::test]
    async fn declared_values_count_where_admins_set_none_and_admins_win() {
        let dir = tempfile::tempdir().unwrap();
        let now = crate::store::now_ms();
        let store = store_with_one_asset(dir.path(), now).await;
        let asset = store.assets().await.unwrap().remove(0).asset_id;
        let required = vec!["owner".to_string(), "environment".to_string(), "pci".to_string()];
        let stale_after = 7 * 86_400_000;
        let crate::store::HostLookup::Found(host) = store.host("a1").await.unwrap() else { panic!("a1 has a host") };
        let mut inv = host.inventory;
        inv.declared = census_inventory::Declared {
            owner: "bob".into(),
            environment: "dev".into(),
            tags: vec![census_inventory::Tag { key: "pci".into(), value: "no".into() }],
            ..Default::default()
        };
        report(&store, 2, now, Some(inv.clone())).await;
        let slis = store.fleet_slis(now, stale_after, &required).await.unwrap();
        assert_eq!((slis.owner_coverage, slis.tag_compliance), (1.0, 1.0));
        let labels = |a: &crate::store::fleet::Asset| {
            let show = |l: &crate::store::lifecycle::Label| {
                format!("{}={}:{}:{}:{}", l.key, l.value, l.source, l.set_by, l.declared.clone().unwrap_or_default())
            };
            (a.ownership.iter().map(show).collect::<Vec<_>>(), a.tags.iter().map(show).collect::<Vec<_>>())
        };
        let a = store.asset(&asset).await.unwrap();
        assert_eq!(
            labels(&a),
            (
                vec!["owner=bob:agent:a1:".into(), "environment=dev:agent:a1:".into()],
                vec!["pci=no:agent:a1:".to_string()]
            )
        );

        // An admin value wins and shows what the agent declares; clearing it shows the
        // declared value again.
        let admin = Actor { name: "ops".into(), source: "test".into() };
        let update =
            |owner: &str| crate::store::lifecycle::OwnershipUpdate { owner: Some(owner.into()), ..Default::default() };
        store.set_ownership(&asset, update("alice"), &admin).await.unwrap();
        store
            .set_tags(&asset, vec![("pci".into(), "yes".into()), ("zone".into(), "b".into())], vec![], &admin)
            .await
            .unwrap();
        let a = store.asset(&asset).await.unwrap();
        assert_eq!(
            labels(&a),
            (
                vec!["owner=alice:admin::bob".into(), "environment=dev:agent:a1:".into()],
                vec!["pci=yes:admin:ops:no".to_string(), "zone=b:admin:ops:".to_string()]
            )
        );
        store.set_ownership(&asset, update(""), &admin).await.unwrap();
        assert_eq!(labels(&store.asset(&asset).await.unwrap()).0[0], "owner=bob:agent:a1:");

        // The agent stops declaring: only the admin's tags remain.
        inv.declared = Default::default();
        report(&store, 3, now, Some(inv)).await;
        let a = store.asset(&asset).await.unwrap();
        assert_eq!(labels(&a), (vec![], vec!["pci=yes:admin:ops:".to_string(), "zone=b:admin:ops:".to_string()]));
        let slis = store.fleet_slis(now, stale_after, &required).await.unwrap();
        assert_eq!((slis.owner_coverage, slis.tag_compliance), (0.0, 0.0));
    }
}
