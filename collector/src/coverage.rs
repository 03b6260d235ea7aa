//! EDR coverage: which assets the policy covers, what each one's status is, and the counts.
//!
//! The policy (`[coverage]` in `collector.toml`) names the assets in scope (by OS, environment,
//! tag and lifecycle state; every condition given must hold) and what protects one: any
//! product of the listed catalog ids or categories, running (or only installed, with
//! `require = "installed"`). Each asset in scope gets one status, decided in this order:
//!
//! 1. `excluded`: an admin made an exception for it, with a reason (until it expires);
//! 2. `agent-stale`: its newest agent has not reported within `fresh_within`, so what it runs
//!    now is unknown;
//! 3. `protected`: a satisfying product is running (installed, under `require = "installed"`);
//! 4. `installed-not-running`: a satisfying product is installed but none runs;
//! 5. `missing`: no satisfying product at all.
//!
//! Coverage is `protected / (in scope - excluded)`: an excluded asset is out of the
//! denominator, an agent-stale one counts against coverage (it cannot be shown protected).
//! Everything here is pure: the store gathers [`AssetFacts`], this module judges them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::store::Millis;

/// `[coverage]` in `collector.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoveragePolicy {
    /// In scope only when the OS id (os-release `ID`: debian, ubuntu, rhel, ...) is one of
    /// these; empty: any OS.
    pub os: Vec<String>,
    /// In scope only when the asset's environment is one of these; empty: any.
    pub environments: Vec<String>,
    /// In scope only when the asset carries every one of these tags: `KEY=VALUE`, or `KEY` for
    /// any value (admin tags and what agents declare, admin first).
    pub tags: Vec<String>,
    /// Lifecycle states in scope (active, stale, retired).
    pub states: Vec<String>,
    /// Catalog ids of the products that protect an asset ...
    pub products: Vec<String>,
    /// ... or any product of these categories (edr, epp, av, visibility).
    pub categories: Vec<String>,
    /// `running` (the default) or `installed`.
    pub require: Require,
    /// An asset whose newest agent has not reported for this long is `agent-stale`.
    #[serde(deserialize_with = "crate::config::duration")]
    pub fresh_within: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Require {
    Running,
    Installed,
}

impl Default for CoveragePolicy {
    fn default() -> Self {
        Self {
            os: Vec::new(),
            environments: Vec::new(),
            tags: Vec::new(),
            states: vec!["active".into(), "stale".into()],
            products: Vec::new(),
            categories: vec!["edr".into()],
            require: Require::Running,
            fresh_within: Duration::from_secs(86_400),
        }
    }
}

pub const CATEGORIES: [&str; 4] = ["edr", "epp", "av", "visibility"];

impl CoveragePolicy {
    /// Refuses a policy that cannot mean what its author wanted.
    pub fn check(&self) -> Result<(), String> {
        for s in &self.states {
            if !crate::store::lifecycle::STATES.contains(&s.as_str()) {
                return Err(format!("coverage.states: unknown state {s:?} (active, stale, retired)"));
            }
        }
        for c in &self.categories {
            if !CATEGORIES.contains(&c.as_str()) {
                return Err(format!("coverage.categories: unknown category {c:?} ({})", CATEGORIES.join(", ")));
            }
        }
        if self.products.is_empty() && self.categories.is_empty() {
            return Err("coverage: give products or categories, or no asset can ever be protected".into());
        }
        for t in &self.tags {
            if t.split('=').next().unwrap_or_default().trim().is_empty() {
                return Err(format!("coverage.tags: {t:?} is not KEY or KEY=VALUE"));
            }
        }
        if self.fresh_within.is_zero() {
            return Err("coverage.fresh_within must be more than 0".into());
        }
        Ok(())
    }

    /// One line saying what is in scope and what protects an asset.
    pub fn describe(&self) -> PolicyView {
        let list = |v: &[String]| v.join(" or ");
        let mut scope = format!("{} assets", list(&self.states));
        if !self.os.is_empty() {
            scope.push_str(&format!(" running {}", list(&self.os)));
        }
        if !self.environments.is_empty() {
            scope.push_str(&format!(" in environment {}", list(&self.environments)));
        }
        if !self.tags.is_empty() {
            scope.push_str(&format!(" tagged {}", self.tags.join(" and ")));
        }
        let verb = match self.require {
            Require::Running => "running",
            Require::Installed => "installed",
        };
        PolicyView {
            scope,
            protected_by: format!("{}, {verb}", self.wanted()),
            fresh_within: humantime::format_duration(self.fresh_within).to_string(),
        }
    }

    /// What protects an asset, in words: "crowdstrike-falcon or any edr product".
    fn wanted(&self) -> String {
        let mut what = self.products.clone();
        if !self.categories.is_empty() {
            let any = if what.is_empty() { "any " } else { "any other " };
            what.push(format!("{any}{} product", self.categories.join("/")));
        }
        what.join(" or ")
    }

    fn satisfies(&self, p: &ProductFact) -> bool {
        self.products.contains(&p.id) || self.categories.contains(&p.category)
    }

    fn in_scope(&self, a: &AssetFacts) -> bool {
        let any = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x.eq_ignore_ascii_case(v));
        any(&self.states, &a.state)
            && any(&self.os, &a.os_id)
            && any(&self.environments, &a.environment)
            && self.tags.iter().all(|t| match t.split_once('=') {
                Some((k, v)) => a.tags.iter().any(|(tk, tv)| tk == k.trim() && tv == v.trim()),
                None => a.tags.iter().any(|(tk, _)| tk == t.trim()),
            })
    }
}

/// The policy as the answers state it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    pub scope: String,
    pub protected_by: String,
    pub fresh_within: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Worst first: the order `--gaps` lists them in.
    Missing,
    InstalledNotRunning,
    AgentStale,
    Protected,
    Excluded,
}

impl Status {
    pub const ALL: [Status; 5] =
        [Status::Protected, Status::InstalledNotRunning, Status::Missing, Status::AgentStale, Status::Excluded];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Protected => "protected",
            Status::InstalledNotRunning => "installed-not-running",
            Status::Missing => "missing",
            Status::AgentStale => "agent-stale",
            Status::Excluded => "excluded",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The statuses someone has to act on.
    pub fn is_gap(self) -> bool {
        matches!(self, Status::Missing | Status::InstalledNotRunning | Status::AgentStale)
    }
}

/// One security product as a host reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductFact {
    pub id: String,
    pub name: String,
    pub category: String,
    pub version: String,
    pub installed: bool,
    pub running: bool,
    pub service: String,
}

/// An admin's exception for one asset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exception {
    pub reason: String,
    pub set_by: String,
    pub set_at: Millis,
    pub expires_at: Option<Millis>,
}

/// What the store knows of one asset, read from its most recently seen agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetFacts {
    pub asset_id: String,
    /// Lifecycle state: active, stale, retired.
    pub state: String,
    pub agent_id: String,
    pub hostname: String,
    pub os: String,
    pub os_id: String,
    pub last_seen: Millis,
    /// Admin value, else what the agent declares.
    pub owner: String,
    pub team: String,
    pub environment: String,
    /// (key, value), admin tags over declared ones.
    pub tags: Vec<(String, String)>,
    pub products: Vec<ProductFact>,
    /// The networks (CIDR) its addresses are in; filled only when grouping by subnet.
    pub networks: Vec<String>,
    pub exception: Option<Exception>,
}

/// One asset's coverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetCoverage {
    pub asset_id: String,
    pub hostname: String,
    pub agent_id: String,
    pub status: Status,
    /// Why, in words: the product that is stopped, the age of the last report, the exception's
    /// reason.
    pub detail: String,
    pub os: String,
    pub state: String,
    pub owner: String,
    pub team: String,
    pub environment: String,
    /// RFC 3339.
    pub last_seen: String,
    /// The satisfying products the asset reports (installed or running).
    pub products: Vec<ProductFact>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exception: Option<Exception>,
}

/// Counts over one set of assets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Assets the policy applies to (excluded ones included).
    pub in_scope: u64,
    /// The denominator of `coverage`: in scope minus excluded.
    pub denominator: u64,
    pub protected: u64,
    pub installed_not_running: u64,
    pub missing: u64,
    pub agent_stale: u64,
    pub excluded: u64,
    /// protected / denominator, 0..1 (1 when the denominator is 0).
    pub coverage: f64,
}

impl Counts {
    fn add(&mut self, s: Status) {
        self.in_scope += 1;
        match s {
            Status::Protected => self.protected += 1,
            Status::InstalledNotRunning => self.installed_not_running += 1,
            Status::Missing => self.missing += 1,
            Status::AgentStale => self.agent_stale += 1,
            Status::Excluded => self.excluded += 1,
        }
        self.denominator = self.in_scope - self.excluded;
        self.coverage = if self.denominator == 0 { 1.0 } else { self.protected as f64 / self.denominator as f64 };
    }

    pub fn get(&self, s: Status) -> u64 {
        match s {
            Status::Protected => self.protected,
            Status::InstalledNotRunning => self.installed_not_running,
            Status::Missing => self.missing,
            Status::AgentStale => self.agent_stale,
            Status::Excluded => self.excluded,
        }
    }
}

/// `GET /api/v1/coverage`: the whole fleet's counts, and per group when asked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CoverageReport {
    pub policy: PolicyView,
    /// Assets known (not merged), in scope or not.
    pub assets: u64,
    /// Assets the policy does not apply to.
    pub out_of_scope: u64,
    #[serde(flatten)]
    pub totals: Counts,
    /// What `groups` is grouped by, when grouped.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub by: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub group: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// What `--by` accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    Os,
    Subnet,
    Owner,
    Team,
    Environment,
    /// Every `key=value` the asset carries.
    Tags,
    /// The value of one tag key.
    Tag(String),
    /// The satisfying product that decides the status.
    Product,
}

pub const GROUP_BY_HELP: &str = "os, subnet, owner, team, environment, tag, tag:KEY, product";

impl GroupBy {
    pub fn parse(text: &str) -> Result<GroupBy, String> {
        Ok(match text {
            "os" => GroupBy::Os,
            "subnet" => GroupBy::Subnet,
            "owner" => GroupBy::Owner,
            "team" => GroupBy::Team,
            "environment" => GroupBy::Environment,
            "tag" => GroupBy::Tags,
            "product" => GroupBy::Product,
            other => match other.strip_prefix("tag:") {
                Some(key) if !key.trim().is_empty() => GroupBy::Tag(key.trim().to_string()),
                _ => return Err(format!("cannot group by {other:?}: one of {GROUP_BY_HELP}")),
            },
        })
    }
}

const NONE: &str = "(none)";

fn or_none(v: &str) -> String {
    if v.is_empty() { NONE.to_string() } else { v.to_string() }
}

/// One asset's status and the satisfying product that decides it (running, else installed),
/// without building any text; `None` when the policy does not apply to it.
fn status_of<'a>(policy: &CoveragePolicy, a: &'a AssetFacts, now: Millis) -> Option<(Status, Option<&'a ProductFact>)> {
    if !policy.in_scope(a) {
        return None;
    }
    let satisfying = || a.products.iter().filter(|p| policy.satisfies(p));
    let deciding = satisfying().find(|p| p.running).or_else(|| satisfying().find(|p| p.installed));
    let fresh = i64::try_from(policy.fresh_within.as_millis()).unwrap_or(i64::MAX);
    let status = if a.exception.as_ref().is_some_and(|e| e.expires_at.is_none_or(|t| t > now)) {
        Status::Excluded
    } else if now.saturating_sub(a.last_seen) > fresh {
        Status::AgentStale
    } else if deciding.is_some_and(|p| p.running || (policy.require == Require::Installed && p.installed)) {
        Status::Protected
    } else if deciding.is_some_and(|p| p.installed) {
        Status::InstalledNotRunning
    } else {
        Status::Missing
    };
    Some((status, deciding))
}

/// Judges one asset; `None` when the policy does not apply to it.
pub fn evaluate(policy: &CoveragePolicy, a: &AssetFacts, now: Millis) -> Option<AssetCoverage> {
    let (status, _) = status_of(policy, a, now)?;
    Some(judged(policy, a, now, status))
}

/// An asset's coverage once its status is known: the satisfying products and why, in words.
fn judged(policy: &CoveragePolicy, a: &AssetFacts, now: Millis, status: Status) -> AssetCoverage {
    let products: Vec<ProductFact> = a.products.iter().filter(|p| policy.satisfies(p)).cloned().collect();
    let exception = a.exception.as_ref().filter(|e| e.expires_at.is_none_or(|t| t > now));
    let detail = match status {
        Status::Excluded => {
            let e = exception.cloned().unwrap_or_default();
            format!("excluded by {}: {}", e.set_by, e.reason)
        }
        Status::AgentStale => {
            let age = now.saturating_sub(a.last_seen);
            let ago = humantime::format_duration(Duration::from_secs((age / 1000).max(0) as u64));
            format!("no report for {ago} (limit {})", humantime::format_duration(policy.fresh_within))
        }
        Status::Protected => {
            let verb = if policy.require == Require::Installed { "installed" } else { "running" };
            let names: Vec<&str> =
                products.iter().filter(|p| p.running || p.installed).map(|p| p.name.as_str()).collect();
            format!("{} {verb}", names.join(", "))
        }
        Status::InstalledNotRunning => {
            let stopped: Vec<String> =
                products
                    .iter()
                    .filter(|p| p.installed)
                    .map(|p| {
                        if p.service.is_empty() {
                            p.name.clone()
                        } else {
                            format!("{} (service {})", p.name, p.service)
                        }
                    })
                    .collect();
            format!("{} installed, not running", stopped.join(", "))
        }
        Status::Missing => {
            let others: Vec<String> = a.products.iter().map(|p| format!("{}, {}", p.name, p.category)).collect();
            let has = if others.is_empty() { String::new() } else { format!(" (has {})", others.join("; ")) };
            format!("no {} installed{has}", policy.wanted().trim_start_matches("any "))
        }
    };
    AssetCoverage {
        asset_id: a.asset_id.clone(),
        hostname: a.hostname.clone(),
        agent_id: a.agent_id.clone(),
        status,
        detail,
        os: a.os.clone(),
        state: a.state.clone(),
        owner: a.owner.clone(),
        team: a.team.clone(),
        environment: a.environment.clone(),
        last_seen: crate::api::rfc3339(a.last_seen),
        products,
        exception: exception.cloned(),
    }
}

/// The groups an asset belongs to under `by` (at least one); `deciding`: the satisfying
/// product its status comes from.
fn groups_of(by: &GroupBy, a: &AssetFacts, deciding: Option<&ProductFact>) -> Vec<String> {
    let tag = |key: &str| a.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default();
    let mut out: Vec<String> = match by {
        GroupBy::Os => vec![if a.os.is_empty() { a.os_id.clone() } else { a.os.clone() }],
        GroupBy::Subnet => a.networks.clone(),
        GroupBy::Owner => vec![a.owner.clone()],
        GroupBy::Team => vec![a.team.clone()],
        GroupBy::Environment => vec![a.environment.clone()],
        GroupBy::Tags => a.tags.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        GroupBy::Tag(key) => vec![tag(key)],
        GroupBy::Product => vec![deciding.map(|p| p.id.clone()).unwrap_or_default()],
    };
    out.retain(|g| !g.is_empty());
    out.sort();
    out.dedup();
    if out.is_empty() {
        out.push(NONE.to_string());
    }
    out.into_iter().map(|g| or_none(&g)).collect()
}

/// Judges every asset: the report (counts, per group when `by` is given) and each asset's
/// coverage, worst status first, then by host name.
pub fn assess(
    policy: &CoveragePolicy,
    facts: &[AssetFacts],
    now: Millis,
    by: Option<&GroupBy>,
) -> (CoverageReport, Vec<AssetCoverage>) {
    (count(policy, facts, now, by), list(policy, facts, now, &Status::ALL))
}

/// The assets whose status is one of `wanted`, worst first, then by host name; only those get
/// their text built.
pub fn list(policy: &CoveragePolicy, facts: &[AssetFacts], now: Millis, wanted: &[Status]) -> Vec<AssetCoverage> {
    let mut assets: Vec<AssetCoverage> = facts
        .iter()
        .filter_map(|a| match status_of(policy, a, now) {
            Some((status, _)) if wanted.contains(&status) => Some(judged(policy, a, now, status)),
            _ => None,
        })
        .collect();
    assets.sort_by(|a, b| a.status.cmp(&b.status).then_with(|| a.hostname.cmp(&b.hostname)));
    assets
}

/// The counts alone (what `census coverage` prints): no asset's text is built.
pub fn count(policy: &CoveragePolicy, facts: &[AssetFacts], now: Millis, by: Option<&GroupBy>) -> CoverageReport {
    let mut report = CoverageReport { policy: policy.describe(), assets: facts.len() as u64, ..Default::default() };
    let mut groups: BTreeMap<String, Counts> = BTreeMap::new();
    for a in facts {
        let Some((status, deciding)) = status_of(policy, a, now) else {
            report.out_of_scope += 1;
            continue;
        };
        report.totals.add(status);
        if let Some(by) = by {
            for g in groups_of(by, a, deciding) {
                groups.entry(g).or_default().add(status);
            }
        }
    }
    report.totals.add_none();
    report.by = by.map(|b| match b {
        GroupBy::Os => "os".to_string(),
        GroupBy::Subnet => "subnet".into(),
        GroupBy::Owner => "owner".into(),
        GroupBy::Team => "team".into(),
        GroupBy::Environment => "environment".into(),
        GroupBy::Tags => "tag".into(),
        GroupBy::Tag(k) => format!("tag:{k}"),
        GroupBy::Product => "product".into(),
    });
    // Groups with the most assets to act on first; "(none)" where it falls.
    let mut groups: Vec<Group> = groups.into_iter().map(|(group, counts)| Group { group, counts }).collect();
    groups.sort_by(|a, b| {
        let gaps = |c: &Counts| c.missing + c.installed_not_running + c.agent_stale;
        gaps(&b.counts).cmp(&gaps(&a.counts)).then_with(|| a.group.cmp(&b.group))
    });
    report.groups = groups;
    report
}

impl Counts {
    /// Makes an empty count's coverage 1 (nothing in scope is not a gap).
    fn add_none(&mut self) {
        if self.in_scope == 0 {
            self.coverage = 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;

    fn falcon(installed: bool, running: bool) -> ProductFact {
        ProductFact {
            id: "crowdstrike-falcon".into(),
            name: "CrowdStrike Falcon".into(),
            category: "edr".into(),
            version: "7.10".into(),
            installed,
            running,
            service: if running { "enabled".into() } else { "disabled".into() },
        }
    }

    fn asset(name: &str, products: Vec<ProductFact>) -> AssetFacts {
        AssetFacts {
            asset_id: format!("a-{name}"),
            state: "active".into(),
            agent_id: format!("agent-{name}"),
            hostname: name.into(),
            os: "Debian GNU/Linux 12 (bookworm)".into(),
            os_id: "debian".into(),
            last_seen: NOW - 60_000,
            products,
            ..Default::default()
        }
    }

    #[test]
    fn each_status_is_decided_in_order() {
        let policy = CoveragePolicy::default();
        let mut stale = asset("stale", vec![falcon(true, true)]);
        stale.last_seen = NOW - 3 * 86_400_000;
        let mut excluded = asset("excluded", vec![]);
        excluded.exception =
            Some(Exception { reason: "appliance".into(), set_by: "alice".into(), set_at: NOW, expires_at: None });
        let mut expired = asset("expired", vec![]);
        expired.exception =
            Some(Exception { reason: "old".into(), set_by: "alice".into(), set_at: 0, expires_at: Some(NOW - 1) });
        let av = ProductFact {
            id: "clamav".into(),
            category: "av".into(),
            running: true,
            installed: true,
            ..falcon(true, true)
        };
        let facts = vec![
            asset("ok", vec![falcon(true, true)]),
            asset("stopped", vec![falcon(true, false)]),
            asset("none", vec![av]),
            stale,
            excluded,
            expired,
        ];
        let (report, assets) = assess(&policy, &facts, NOW, None);
        let status = |h: &str| assets.iter().find(|a| a.hostname == h).unwrap().status;
        assert_eq!(status("ok"), Status::Protected);
        assert_eq!(status("stopped"), Status::InstalledNotRunning);
        assert_eq!(status("none"), Status::Missing, "an AV is not an EDR");
        assert_eq!(status("stale"), Status::AgentStale);
        assert_eq!(status("excluded"), Status::Excluded);
        assert_eq!(status("expired"), Status::Missing, "an expired exception no longer applies");
        let t = &report.totals;
        assert_eq!((t.in_scope, t.excluded, t.denominator, t.protected), (6, 1, 5, 1));
        assert_eq!((t.missing, t.installed_not_running, t.agent_stale), (2, 1, 1));
        assert!((t.coverage - 0.2).abs() < 1e-9);
        // Worst first.
        let order: Vec<_> = assets.iter().map(|a| a.status).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
        assert!(assets.iter().find(|a| a.hostname == "stopped").unwrap().detail.contains("service disabled"));
    }

    #[test]
    fn scope_and_installed_requirement() {
        let policy = CoveragePolicy {
            os: vec!["debian".into()],
            environments: vec!["production".into()],
            tags: vec!["pci=yes".into(), "team-a".into()],
            require: Require::Installed,
            ..Default::default()
        };
        let mut inside = asset("inside", vec![falcon(true, false)]);
        inside.environment = "production".into();
        inside.tags = vec![("pci".into(), "yes".into()), ("team-a".into(), String::new())];
        let mut wrong_tag = inside.clone();
        wrong_tag.hostname = "wrong".into();
        wrong_tag.tags[0].1 = "no".into();
        let mut retired = inside.clone();
        retired.hostname = "retired".into();
        retired.state = "retired".into();
        let (report, assets) = assess(&policy, &[inside, wrong_tag, retired], NOW, None);
        assert_eq!(report.out_of_scope, 2);
        assert_eq!(assets.len(), 1);
        assert_eq!(assets[0].status, Status::Protected, "installed is enough under require = installed");
    }

    #[test]
    fn groups_count_an_asset_in_each_of_its_groups() {
        let mut a = asset("a", vec![falcon(true, true)]);
        a.networks = vec!["10.0.0.0/24".into(), "2001:db8::/64".into()];
        let b = asset("b", vec![]);
        let (report, _) = assess(&CoveragePolicy::default(), &[a.clone(), b.clone()], NOW, Some(&GroupBy::Subnet));
        let names: Vec<_> = report.groups.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(names, ["(none)", "10.0.0.0/24", "2001:db8::/64"]);
        assert_eq!(report.totals.in_scope, 2);
        let (report, _) = assess(&CoveragePolicy::default(), &[a, b], NOW, Some(&GroupBy::Product));
        let g: Vec<_> =
            report.groups.iter().map(|g| (g.group.as_str(), g.counts.protected, g.counts.missing)).collect();
        assert_eq!(g, [("(none)", 0, 1), ("crowdstrike-falcon", 1, 0)]);
    }

    #[test]
    fn bad_policies_and_group_names_are_refused() {
        let bad = CoveragePolicy { categories: vec!["firewall".into()], ..Default::default() };
        assert!(bad.check().unwrap_err().contains("firewall"));
        let none = CoveragePolicy { categories: vec![], ..Default::default() };
        assert!(none.check().is_err());
        assert!(CoveragePolicy::default().check().is_ok());
        assert!(GroupBy::parse("colour").unwrap_err().contains("os, subnet"));
        assert_eq!(GroupBy::parse("tag:env").unwrap(), GroupBy::Tag("env".into()));
    }
}
