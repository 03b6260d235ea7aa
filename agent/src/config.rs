//! The agent's configuration file (`census-agent run --config /etc/census/agent.toml`).
//!
//! TOML, every key optional; keys have the names of `census-agent run`'s options with `_` for
//! `-` (`full_every`, `spool_max_bytes`, `security_catalog`), plus `listen = false` for
//! `--no-listen` and the `[declared]` table. Precedence, highest first: the command line, the environment
//! (`CENSUS_COLLECTOR`, `CENSUS_CA`, `CENSUS_ENROLL_SECRET`), this file, the built-in defaults.
//! An unknown key, a value of the wrong type or out of range is an error naming the file and
//! the key: the agent does not start on a configuration it does not fully understand.
//!
//! `[declared]` holds the ownership and tags the host's admin declares: `owner`, `team`,
//! `cost_centre`, `environment` and a `[declared.tags]` table of free tags. They travel in
//! every inventory; the collector keeps them apart from what its admins set, which wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use census_inventory::{Declared, Tag};
use serde::Deserialize;

/// Where packages install the configuration file.
pub const DEFAULT_PATH: &str = "/etc/census/agent.toml";

/// A duration or size as TOML writes it: a bare integer (seconds, bytes) or text (`1h`, `64MiB`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Amount {
    Number(u64),
    Text(String),
}

impl Amount {
    fn text(&self) -> String {
        match self {
            Amount::Number(n) => n.to_string(),
            Amount::Text(t) => t.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    collector: Option<String>,
    ca: Option<PathBuf>,
    allow_plaintext: Option<bool>,
    enroll_secret: Option<String>,
    state_dir: Option<PathBuf>,
    interval: Option<Amount>,
    root: Option<PathBuf>,
    listen: Option<bool>,
    full_every: Option<Amount>,
    max_neighbors: Option<u32>,
    neighbor_max_age: Option<u32>,
    spool_max_reports: Option<u32>,
    spool_max_bytes: Option<Amount>,
    security_catalog: Option<PathBuf>,
    #[serde(default)]
    declared: RawDeclared,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeclared {
    #[serde(default)]
    owner: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    cost_centre: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

/// The file's values, checked; `None` where the file says nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileConfig {
    pub collector: Option<String>,
    pub ca: Option<PathBuf>,
    pub allow_plaintext: Option<bool>,
    pub enroll_secret: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub interval: Option<Duration>,
    pub root: Option<PathBuf>,
    pub listen: Option<bool>,
    pub full_every: Option<Duration>,
    pub max_neighbors: Option<u32>,
    pub neighbor_max_age: Option<u32>,
    pub spool_max_reports: Option<u32>,
    pub spool_max_bytes: Option<u64>,
    pub security_catalog: Option<PathBuf>,
    pub declared: Declared,
}

#[derive(Debug, thiserror::Error)]
#[error("config {path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

fn in_range(key: &str, v: Option<u32>, min: u32, max: u32) -> Result<Option<u32>, String> {
    match v {
        Some(n) if !(min..=max).contains(&n) => Err(format!("{key}: {n} is outside {min}..={max}")),
        other => Ok(other),
    }
}

fn amount<T>(key: &str, v: Option<Amount>, parse: fn(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    v.map(|a| parse(&a.text()).map_err(|e| format!("{key}: {e}"))).transpose()
}

/// A TOML error as one line: `line L, column C: MESSAGE` (the crate's own rendering spans
/// several lines, with a picture of the source).
pub(crate) fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
    match e.span() {
        Some(span) => {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

impl FileConfig {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let err = |message: String| ConfigError { path: path.display().to_string(), message };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Self::parse(&text).map_err(err)
    }

    /// Parses and checks a configuration's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: Raw = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        let d = raw.declared;
        let declared = Declared {
            owner: d.owner,
            team: d.team,
            cost_centre: d.cost_centre,
            environment: d.environment,
            tags: d.tags.into_iter().map(|(key, value)| Tag { key, value }).collect(),
        };
        declared.check().map_err(|e| format!("declared: {e}"))?;
        Ok(Self {
            collector: raw.collector,
            ca: raw.ca,
            allow_plaintext: raw.allow_plaintext,
            enroll_secret: raw.enroll_secret,
            state_dir: raw.state_dir,
            interval: amount("interval", raw.interval, crate::run::parse_interval)?,
            root: raw.root,
            listen: raw.listen,
            full_every: amount("full_every", raw.full_every, crate::run::parse_full_every)?,
            max_neighbors: in_range("max_neighbors", raw.max_neighbors, 1, 1_000_000)?,
            neighbor_max_age: in_range("neighbor_max_age", raw.neighbor_max_age, 1, 31_536_000)?,
            spool_max_reports: in_range("spool_max_reports", raw.spool_max_reports, 1, 1_000_000)?,
            spool_max_bytes: amount("spool_max_bytes", raw.spool_max_bytes, crate::spool::parse_size)?,
            security_catalog: raw.security_catalog,
            declared,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_parses() {
        let c = FileConfig::parse(
            r#"
            collector = "https://collector.example:8443"
            ca = "/etc/census/ca.pem"
            allow_plaintext = false
            enroll_secret = "s3cret"
            state_dir = "/var/lib/census-agent"
            interval = "30m"
            root = "/"
            listen = false
            full_every = 86400
            max_neighbors = 100
            neighbor_max_age = 3600
            spool_max_reports = 10
            spool_max_bytes = "1MiB"
            security_catalog = "/etc/census/security-products.toml"
            [declared]
            owner = "alice"
            environment = "production"
            [declared.tags]
            zone = "b"
            pci = "yes"
            "#,
        )
        .unwrap();
        assert_eq!(c.interval, Some(Duration::from_secs(1800)));
        assert_eq!(c.full_every, Some(Duration::from_secs(86_400)));
        assert_eq!(c.spool_max_bytes, Some(1 << 20));
        assert_eq!(c.listen, Some(false));
        assert_eq!(c.security_catalog.as_deref(), Some(Path::new("/etc/census/security-products.toml")));
        assert_eq!(c.declared.owner, "alice");
        let keys: Vec<&str> = c.declared.tags.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, ["pci", "zone"], "tags are sorted by key");
        assert_eq!(FileConfig::parse("").unwrap(), FileConfig::default());
    }

    #[test]
    fn bad_files_name_what_is_wrong() {
        let cases = [
            ("colector = \"x\"", "unknown field `colector`"),
            ("interval = \"soon\"", "interval: \"soon\" is not a duration"),
            ("interval = 99999999", "interval: \"99999999\" is outside"),
            ("max_neighbors = 0", "max_neighbors: 0 is outside 1..=1000000"),
            ("spool_max_bytes = \"3 parsecs\"", "spool_max_bytes: unknown size unit"),
            ("listen = \"no\"", "invalid type"),
            ("[declared]\nowner = \"a\\u0007b\"", "declared: owner \"a\\u{7}b\" has control characters"),
            ("[declared.tags]\n\"bad key\" = \"x\"", "declared: tag key \"bad key\""),
            ("[declared]\nshoe_size = \"44\"", "unknown field `shoe_size`"),
            ("collector = ", "line 1, column 13: "),
        ];
        for (text, want) in cases {
            let e = FileConfig::parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e:?} lacks {want:?}");
        }
    }

    #[test]
    fn a_missing_file_is_named() {
        let e = FileConfig::load(Path::new("/nonexistent/agent.toml")).unwrap_err().to_string();
        assert!(e.starts_with("config /nonexistent/agent.toml: "), "{e}");
    }
}
