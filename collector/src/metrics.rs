//! The collector's Prometheus metrics (`GET /metrics`, reader token).
//!
//! Every limit that fires counts in `census_limit_hits_total{limit}`, so an operator sees a
//! flood, a slow-client attack or a misconfigured fleet before users do.

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
struct OutcomeLabel {
    outcome: &'static str,
}

pub struct Metrics {
    registry: Registry,
    limit_hits: Family<LimitLabel, Counter>,
    reports: Family<OutcomeLabel, Counter>,
    enrollments: Family<OutcomeLabel, Counter>,
    open_streams: Gauge,
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
        Self { registry, limit_hits, reports, enrollments, open_streams }
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
}
