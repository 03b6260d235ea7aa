//! `collector.toml`: where to listen, TLS policy and every limit, each with a default that
//! suits a fleet of tens of thousands of agents on one machine.
//!
//! Command-line flags override the file. Unknown keys are an error, so a misspelt limit never
//! silently falls back to its default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollectorConfig {
    /// Address to listen on.
    pub listen: Option<SocketAddr>,
    /// Database, CA, secrets.
    pub data_dir: Option<PathBuf>,
    /// Extra names for the server certificate.
    pub tls_san: Vec<String>,
    /// Refuse report streams from connections without this agent's client certificate.
    pub require_client_cert: bool,
    /// Serve without TLS. Development only: refused unless `listen` is a loopback address.
    pub allow_plaintext_loopback: bool,
    pub limits: Limits,
    pub fleet: FleetConfig,
    /// Which assets must run which security products (`census coverage`).
    pub coverage: crate::coverage::CoveragePolicy,
}

/// The fleet model's settings (`[fleet]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetConfig {
    /// An asset none of whose agents reported for this long is stale.
    #[serde(deserialize_with = "duration")]
    pub stale_after: Duration,
    /// How often staleness and the fleet SLIs are evaluated.
    #[serde(deserialize_with = "duration")]
    pub evaluate_every: Duration,
    /// Tags every asset should carry (an admin tag key, or owner, team, cost_centre,
    /// environment); the tag-compliance SLI is the share of assets that carry all of them.
    pub required_tags: Vec<String>,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            stale_after: Duration::from_secs(7 * 86_400),
            evaluate_every: Duration::from_secs(60),
            required_tags: vec!["owner".into(), "environment".into()],
        }
    }
}

/// Every limit the collector enforces. When one fires it is counted in
/// `census_limit_hits_total{limit=...}` and the client gets an error naming it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest gRPC message (a signed report), in bytes.
    pub max_message_bytes: usize,
    /// Most items in one inventory list (packages, interfaces, neighbours, ...).
    pub max_section_items: usize,
    /// Longest string anywhere in an inventory, in bytes.
    pub max_string_bytes: usize,
    /// Reports one agent may send per minute, sustained ...
    pub reports_per_minute: u32,
    /// ... and in a burst (a spool flushed after an outage).
    pub report_burst: u32,
    /// Report streams open at once, over all agents.
    pub max_streams: usize,
    /// TCP connections open at once.
    pub max_connections: usize,
    /// HTTP/2 streams per connection.
    pub streams_per_connection: u32,
    /// Time a client has to complete the TLS handshake.
    #[serde(deserialize_with = "duration")]
    pub handshake_timeout: Duration,
    /// A report stream with no report for this long is closed; the agent reconnects.
    #[serde(deserialize_with = "duration")]
    pub idle_timeout: Duration,
    /// Time an HTTP/1 client has to send its request headers.
    #[serde(deserialize_with = "duration")]
    pub header_timeout: Duration,
    /// Enrollment attempts per source address per minute, sustained ...
    pub enrollments_per_minute: u32,
    /// ... and in a burst.
    pub enroll_burst: u32,
    /// How far in the future a report's collection time may be.
    #[serde(deserialize_with = "duration")]
    pub max_clock_skew: Duration,
    /// How old a report may be (it may have waited in an agent's spool).
    #[serde(deserialize_with = "duration")]
    pub max_report_age: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 16 * 1024 * 1024,
            max_section_items: 100_000,
            max_string_bytes: 4096,
            reports_per_minute: 60,
            report_burst: 200,
            max_streams: 20_000,
            max_connections: 20_000,
            streams_per_connection: 16,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(2 * 3600),
            header_timeout: Duration::from_secs(10),
            enrollments_per_minute: 10,
            enroll_burst: 20,
            max_clock_skew: Duration::from_secs(5 * 60),
            max_report_age: Duration::from_secs(30 * 86_400),
        }
    }
}

pub(crate) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}")))
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("config {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

impl CollectorConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read { path: path.to_path_buf(), reason: e.to_string() })?;
        let config: Self = toml::from_str(&text)
            .map_err(|e| ConfigError::Invalid { path: path.to_path_buf(), reason: e.message().to_string() })?;
        config.limits.check().map_err(|reason| ConfigError::Invalid { path: path.to_path_buf(), reason })?;
        if config.fleet.stale_after.is_zero() || config.fleet.evaluate_every.is_zero() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                reason: "fleet.stale_after and fleet.evaluate_every must be longer than zero".into(),
            });
        }
        config.coverage.check().map_err(|reason| ConfigError::Invalid { path: path.to_path_buf(), reason })?;
        Ok(config)
    }
}

impl Limits {
    /// Zero limits would refuse everything: say so at startup instead.
    pub fn check(&self) -> Result<(), String> {
        let counts = [
            ("max_message_bytes", self.max_message_bytes),
            ("max_section_items", self.max_section_items),
            ("max_string_bytes", self.max_string_bytes),
            ("reports_per_minute", self.reports_per_minute as usize),
            ("report_burst", self.report_burst as usize),
            ("max_streams", self.max_streams),
            ("max_connections", self.max_connections),
            ("streams_per_connection", self.streams_per_connection as usize),
            ("enrollments_per_minute", self.enrollments_per_minute as usize),
            ("enroll_burst", self.enroll_burst as usize),
        ];
        for (name, v) in counts {
            if v == 0 {
                return Err(format!("limits.{name} must be at least 1"));
            }
        }
        for (name, d) in [
            ("handshake_timeout", self.handshake_timeout),
            ("idle_timeout", self.idle_timeout),
            ("header_timeout", self.header_timeout),
        ] {
            if d.is_zero() {
                return Err(format!("limits.{name} must be longer than zero"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CollectorConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("collector.toml");
        std::fs::write(&p, text).unwrap();
        CollectorConfig::load(&p)
    }

    #[test]
    fn defaults_and_overrides() {
        let c = parse("listen = \"127.0.0.1:9443\"\n[limits]\nidle_timeout = \"90s\"\nreport_burst = 5\n").unwrap();
        assert_eq!(c.listen, Some("127.0.0.1:9443".parse().unwrap()));
        assert_eq!(c.limits.idle_timeout, Duration::from_secs(90));
        assert_eq!(c.limits.report_burst, 5);
        assert_eq!(c.limits.max_string_bytes, Limits::default().max_string_bytes);
        assert_eq!(parse("").unwrap(), CollectorConfig::default());
    }

    #[test]
    fn mistakes_are_named() {
        let e = parse("[limits]\nmax_strng_bytes = 1\n").unwrap_err().to_string();
        assert!(e.contains("unknown field `max_strng_bytes`"), "{e}");
        let e = parse("[limits]\nidle_timeout = \"soon\"\n").unwrap_err().to_string();
        assert!(e.contains("\"soon\""), "{e}");
        let e = parse("[limits]\nmax_streams = 0\n").unwrap_err().to_string();
        assert!(e.ends_with("limits.max_streams must be at least 1"), "{e}");
        let e = parse("[coverage]\ncategories = [\"firewall\"]\n").unwrap_err().to_string();
        assert!(e.contains("unknown category \"firewall\""), "{e}");
        let c = parse("[coverage]\nproducts = [\"crowdstrike-falcon\"]\nrequire = \"installed\"\n").unwrap();
        assert_eq!(c.coverage.require, crate::coverage::Require::Installed);
    }
}
