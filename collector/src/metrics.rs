//! The collector's Prometheus metrics (`GET /metrics`, reader token).
//!
//! Every limit that fires counts in `census_limit_hits_total{limit}`, so an operator sees a
//! flood, a slow-client attack or a misconfigured fleet before users do.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Which limit fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    MessageSize,
    SectionItems,
    StringLength,
    ReportRate,
    Streams,
    Connections,
    HandshakeTimeout,
    IdleTimeout,
    EnrollRate,
}

impl Limit {
    pub fn name(self) -> &'static str {
        match self {
            Limit::MessageSize => "message_size",
            Limit::SectionItems => "section_items",
            Limit::StringLength => "string_length",
            Limit::ReportRate => "report_rate",
            Limit::Streams => "streams",
            Limit::Connections => "connections",
            Limit::HandshakeTimeout => "handshake_timeout",
            Limit::IdleTimeout => "idle_timeout",
            Limit::EnrollRate => "enroll_rate",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LimitLabel {
    limit: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct QuantileLabel {
    quantile: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SliLabel {
    sli: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

pub struct Metrics {
    registry: Registry,
    fleet_assets: Family<StateLabel, Gauge>,
    fleet_freshness: Family<QuantileLabel, Gauge<f64, AtomicU64>>,
    fleet_ratios: Family<SliLabel, Gauge<f64, AtomicU64>>,
    limit_hits: Family<LimitLabel, Counter>,
    reports: Family<OutcomeLabel, Counter>,
    enrollments: Family<OutcomeLabel, Counter>,
    open_streams: Gauge,
    coverage_assets: Family<StatusLabel, Gauge>,
    coverage_ratio: Gauge<f64, AtomicU64>,
    unmanaged: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("census");
        let limit_hits = Family::<LimitLabel, Counter>::default();
        registry.register("limit_hits", "Times a configured limit refused or cut off a client", limit_hits.clone());
        let reports = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "reports",
            "Signed reports received, by outcome (stored, duplicate, or the reject code)",
            reports.clone(),
        );
        let enrollments = Family::<OutcomeLabel, Counter>::default();
        registry.register("enrollments", "Enrollment attempts, by outcome", enrollments.clone());
        let open_streams = Gauge::default();
        registry.register("open_streams", "Agent report streams open now", open_streams.clone());
        let fleet_assets = Family::<StateLabel, Gauge>::default();
        registry.register("fleet_assets", "Assets by lifecycle state", fleet_assets.clone());
        let fleet_freshness = Family::<QuantileLabel, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "fleet_freshness_seconds",
            "Age of each asset's latest report, by quantile over the fleet",
            fleet_freshness.clone(),
        );
        let fleet_ratios = Family::<SliLabel, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "fleet_sli_ratio",
            "Fleet SLIs as shares of assets: fresh, owner_coverage, duplicate_rate, tag_compliance",
            fleet_ratios.clone(),
        );
        let coverage_assets = Family::<StatusLabel, Gauge>::default();
        registry.register(
            "coverage_assets",
            "Assets in the coverage policy's scope, by status (protected, installed-not-running, missing, \
             agent-stale, excluded)",
            coverage_assets.clone(),
        );
        let coverage_ratio = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "coverage_ratio",
            "Protected assets over assets in scope and not excluded",
            coverage_ratio.clone(),
        );
        let unmanaged = Gauge::default();
        registry.register(
            "unmanaged_devices",
            "Devices agents heard whose MAC and addresses belong to no managed host",
            unmanaged.clone(),
        );
        Self {
            registry,
            fleet_assets,
            fleet_freshness,
            fleet_ratios,
            limit_hits,
            reports,
            enrollments,
            open_streams,
            coverage_assets,
            coverage_ratio,
            unmanaged,
        }
    }

    pub fn limit_hit(&self, limit: Limit) {
        self.limit_hits.get_or_create(&LimitLabel { limit: limit.name() }).inc();
    }

    pub fn report(&self, outcome: &'static str) {
        self.reports.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    pub fn enrollment(&self, outcome: &'static str) {
        self.enrollments.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    pub fn open_streams(&self) -> &Gauge {
        &self.open_streams
    }

    /// Publishes the fleet SLIs (set by the lifecycle evaluation).
    pub fn set_fleet(&self, s: &crate::store::lifecycle::FleetSlis) {
        for (state, n) in [("active", s.active), ("stale", s.stale), ("retired", s.retired)] {
            self.fleet_assets.get_or_create(&StateLabel { state }).set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        for (quantile, v) in
            [("0.5", s.freshness_p50_seconds), ("0.95", s.freshness_p95_seconds), ("1", s.freshness_max_seconds)]
        {
            self.fleet_freshness.get_or_create(&QuantileLabel { quantile }).set(v);
        }
        for (sli, v) in [
            ("fresh", s.fresh_ratio),
            ("owner_coverage", s.owner_coverage),
            ("duplicate_rate", s.duplicate_rate),
            ("tag_compliance", s.tag_compliance),
        ] {
            self.fleet_ratios.get_or_create(&SliLabel { sli }).set(v);
        }
    }

    /// Publishes the coverage counts (set by the lifecycle evaluation).
    pub fn set_coverage(&self, r: &crate::coverage::CoverageReport) {
        for s in crate::coverage::Status::ALL {
            let n = i64::try_from(r.totals.get(s)).unwrap_or(i64::MAX);
            self.coverage_assets.get_or_create(&StatusLabel { status: s.as_str() }).set(n);
        }
        self.coverage_ratio.set(r.totals.coverage);
    }

    pub fn set_unmanaged(&self, n: u64) {
        self.unmanaged.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_labels() {
        let m = Metrics::new();
        m.limit_hit(Limit::EnrollRate);
        m.limit_hit(Limit::EnrollRate);
        m.report("stored");
        let text = m.render();
        assert!(text.contains("census_limit_hits_total{limit=\"enroll_rate\"} 2"), "{text}");
        assert!(text.contains("census_reports_total{outcome=\"stored\"} 1"), "{text}");
        assert!(text.contains("census_open_streams 0"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[tokio::test]
    async fn coverage_gauges_follow_the_evaluation() {
        use crate::store::Store;
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("db")).unwrap();
        for (agent, running) in [("a1", true), ("a2", false)] {
            crate::store::suite::enroll_one(&store, agent).await;
            let mut inv = census_inventory::Inventory::default();
            inv.os.hostname = agent.into();
            inv.security_products = vec![census_inventory::SecurityProduct {
                id: "crowdstrike-falcon".into(),
                category: "edr".into(),
                installed: true,
                running,
                ..Default::default()
            }];
            inv.neighbors = vec![census_inventory::Neighbor { mac: "3c:2a:f4:01:02:03".into(), ..Default::default() }];
            store.apply(crate::store::suite::report(agent, 1, Some(inv))).await.unwrap();
        }
        let m = Metrics::new();
        let policy = crate::coverage::CoveragePolicy::default();
        // The reports were received at 3001 ms (suite::report): evaluate a minute later.
        crate::lifecycle::evaluate_coverage(&store, &m, &policy, 63_001).await;
        let text = m.render();
        assert!(text.contains("census_coverage_assets{status=\"protected\"} 1"), "{text}");
        assert!(text.contains("census_coverage_assets{status=\"installed-not-running\"} 1"), "{text}");
        assert!(text.contains("census_coverage_assets{status=\"missing\"} 0"), "{text}");
        assert!(text.contains("census_coverage_ratio 0.5"), "{text}");
        assert!(text.contains("census_unmanaged_devices 1"), "{text}");
    }
}
