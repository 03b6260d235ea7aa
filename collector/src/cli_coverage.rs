//! The `census` client side of coverage, unmanaged devices and host filters.

use census_inventory::text::Table;

use crate::api::HostRow;
use crate::api_coverage::ExceptionRequest;
use crate::api_lifecycle::Changed;
use crate::cli::{CliError, Client, Format, csv_text, encode, json_text, neighbor_cells};
use crate::coverage::{AssetCoverage, Counts, CoverageReport};
use crate::store::NeighborRow;

/// `census hosts` filters, as query parameters (`None`: not asked).
#[derive(Debug, Clone, Default)]
pub struct HostFilter {
    pub os: Option<String>,
    pub state: Option<String>,
    pub owner: Option<String>,
    pub team: Option<String>,
    pub environment: Option<String>,
    /// KEY=VALUE or KEY, every one required.
    pub tags: Vec<String>,
    pub subnet: Option<String>,
    pub ip: Option<String>,
    pub mac: Option<String>,
    pub software: Option<String>,
    pub version: Option<String>,
    pub product: Option<String>,
    pub product_status: Option<String>,
    pub coverage: Option<String>,
}

fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = pairs.iter().filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(v)))).collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

impl Client {
    pub async fn hosts_filtered(&self, f: &HostFilter) -> Result<Vec<HostRow>, CliError> {
        let tags = (!f.tags.is_empty()).then(|| f.tags.join(","));
        let q = query(&[
            ("os", f.os.as_deref()),
            ("state", f.state.as_deref()),
            ("owner", f.owner.as_deref()),
            ("team", f.team.as_deref()),
            ("environment", f.environment.as_deref()),
            ("tag", tags.as_deref()),
            ("subnet", f.subnet.as_deref()),
            ("ip", f.ip.as_deref()),
            ("mac", f.mac.as_deref()),
            ("software", f.software.as_deref()),
            ("version", f.version.as_deref()),
            ("product", f.product.as_deref()),
            ("product_status", f.product_status.as_deref()),
            ("coverage", f.coverage.as_deref()),
        ]);
        self.get(&format!("/api/v1/hosts{q}")).await
    }

    pub async fn coverage(&self, by: Option<&str>) -> Result<CoverageReport, CliError> {
        self.get(&format!("/api/v1/coverage{}", query(&[("by", by)]))).await
    }

    /// Assets with these statuses (comma-separated, or `all`); `None`: the gaps.
    pub async fn coverage_assets(&self, status: Option<&str>) -> Result<Vec<AssetCoverage>, CliError> {
        self.get(&format!("/api/v1/coverage/assets{}", query(&[("status", status)]))).await
    }

    pub async fn exclude(&self, req: &ExceptionRequest) -> Result<Changed, CliError> {
        self.post("/api/v1/coverage/exceptions", req).await
    }

    pub async fn include(&self, asset: &str) -> Result<Changed, CliError> {
        self.delete(&format!("/api/v1/coverage/exceptions/{}", encode(asset))).await
    }

    pub async fn neighbors_filtered(&self, unmanaged: bool, new: Option<&str>) -> Result<Vec<NeighborRow>, CliError> {
        let q = query(&[("unmanaged", unmanaged.then_some("true")), ("new", new)]);
        self.get(&format!("/api/v1/neighbors{q}")).await
    }
}

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

const COUNT_COLUMNS: [&str; 9] = [
    "in_scope",
    "excluded",
    "denominator",
    "protected",
    "installed_not_running",
    "missing",
    "agent_stale",
    "coverage",
    "coverage_percent",
];

fn count_cells(c: &Counts) -> Vec<String> {
    vec![
        c.in_scope.to_string(),
        c.excluded.to_string(),
        c.denominator.to_string(),
        c.protected.to_string(),
        c.installed_not_running.to_string(),
        c.missing.to_string(),
        c.agent_stale.to_string(),
        format!("{}/{}", c.protected, c.denominator),
        format!("{:.1}", c.coverage * 100.0),
    ]
}

/// `census coverage [--by X]`: a summary (the policy, the denominator and the count of each
/// status), then one row per group. CSV: one row per group, or one `all` row.
pub fn render_coverage(r: &CoverageReport, format: Format) -> String {
    let t = &r.totals;
    match format {
        Format::Json => json_text(r),
        Format::Csv => {
            let by = r.by.clone().unwrap_or_else(|| "all".into());
            let mut header = vec![by.as_str()];
            header.extend(COUNT_COLUMNS);
            let rows: Vec<Vec<String>> = if r.groups.is_empty() {
                vec![std::iter::once("all".to_string()).chain(count_cells(t)).collect()]
            } else {
                r.groups
                    .iter()
                    .map(|g| std::iter::once(g.group.clone()).chain(count_cells(&g.counts)).collect())
                    .collect()
            };
            csv_text(&header, rows.into_iter())
        }
        Format::Table => {
            let mut out = format!(
                "policy: {} must have {} (no report for {}: agent-stale)\n\
                 coverage: {} protected of {} ({}); denominator = {} in scope - {} excluded; {} of {} assets out of scope\n\n",
                r.policy.scope,
                r.policy.protected_by,
                r.policy.fresh_within,
                t.protected,
                t.denominator,
                pct(t.coverage),
                t.in_scope,
                t.excluded,
                r.out_of_scope,
                r.assets,
            );
            let mut table = Table::new(["STATUS", "ASSETS", "SHARE"]);
            for s in crate::coverage::Status::ALL {
                let n = t.get(s);
                let share = if s == crate::coverage::Status::Excluded || t.denominator == 0 {
                    "-".to_string()
                } else {
                    pct(n as f64 / t.denominator as f64)
                };
                table.row([s.as_str().to_string(), n.to_string(), share]);
            }
            out.push_str(&table.render());
            if let Some(by) = &r.by {
                out.push('\n');
                let mut table = Table::new([
                    by.to_uppercase().as_str(),
                    "IN SCOPE",
                    "PROTECTED",
                    "NOT RUNNING",
                    "MISSING",
                    "AGENT STALE",
                    "EXCLUDED",
                    "COVERAGE",
                ]);
                for g in &r.groups {
                    let c = &g.counts;
                    table.row([
                        g.group.clone(),
                        c.in_scope.to_string(),
                        c.protected.to_string(),
                        c.installed_not_running.to_string(),
                        c.missing.to_string(),
                        c.agent_stale.to_string(),
                        c.excluded.to_string(),
                        format!("{} ({}/{})", pct(c.coverage), c.protected, c.denominator),
                    ]);
                }
                out.push_str(&table.render());
            }
            out
        }
    }
}

const ASSET_COLUMNS: [&str; 11] = [
    "status",
    "asset_id",
    "hostname",
    "owner",
    "team",
    "environment",
    "os",
    "last_seen",
    "detail",
    "products",
    "agent_id",
];

fn asset_cells(a: &AssetCoverage) -> Vec<String> {
    let products: Vec<String> = a
        .products
        .iter()
        .map(|p| {
            let state = if p.running { "running" } else { "not running" };
            format!("{} {} ({state})", p.id, p.version)
        })
        .collect();
    vec![
        a.status.as_str().to_string(),
        a.asset_id.clone(),
        a.hostname.clone(),
        a.owner.clone(),
        a.team.clone(),
        a.environment.clone(),
        a.os.clone(),
        a.last_seen.clone(),
        a.detail.clone(),
        products.join("; "),
        a.agent_id.clone(),
    ]
}

/// `census coverage --gaps` / `--status S`: one asset per row, worst first.
pub fn render_coverage_assets(rows: &[AssetCoverage], format: Format) -> String {
    match format {
        Format::Json => json_text(&rows),
        Format::Csv => csv_text(&ASSET_COLUMNS, rows.iter().map(asset_cells)),
        Format::Table => {
            let mut t = Table::new(["STATUS", "ASSET", "HOSTNAME", "OWNER", "LAST SEEN", "DETAIL"]);
            for a in rows {
                let c = asset_cells(a);
                let owner = if c[3].is_empty() { "-".to_string() } else { c[3].clone() };
                t.row([c[0].clone(), c[1].clone(), c[2].clone(), owner, c[7].clone(), c[8].clone()]);
            }
            t.render()
        }
    }
}

/// `census neighbors --unmanaged`: the devices no managed host is, with who heard them.
pub fn render_unmanaged(rows: &[NeighborRow], format: Format) -> String {
    match format {
        Format::Json => json_text(&rows),
        Format::Csv => crate::cli::render_neighbors(rows, format),
        Format::Table => {
            let mut t = Table::new(["MAC", "VENDOR", "KIND", "IPV4", "NAMES", "FIRST SEEN", "LAST SEEN", "SEEN BY"]);
            for r in rows {
                let c = neighbor_cells(r);
                t.row([&c[0], &c[1], &c[2], &c[3], &c[5], &c[7], &c[8], &c[9]].map(|s| s.to_string()));
            }
            t.render()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_encoded_query_parameters() {
        assert_eq!(query(&[("a", None)]), "");
        assert_eq!(
            query(&[("software", Some("openssl")), ("version", Some("<3.0,>=1")), ("x", None)]),
            "?software=openssl&version=%3C3.0%2C%3E%3D1"
        );
    }
}
