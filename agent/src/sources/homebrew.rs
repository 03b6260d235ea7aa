//! Homebrew formulae and casks, read from the files under each Homebrew prefix. macOS and
//! Linuxbrew share the layout, so this source runs everywhere and is silent where there is no
//! prefix.
//!
//! Prefixes: `/opt/homebrew` (Apple silicon), `/usr/local` (Intel macOS),
//! `/home/linuxbrew/.linuxbrew`, and per-user `~/.linuxbrew` (`home/*/.linuxbrew`). A package's
//! `location` is its prefix as a host path (`/opt/homebrew`).
//!
//! - Formulae: every version directory `Cellar/NAME/VERSION/` is one installed package (several
//!   versions of one formula are several packages). VERSION is Homebrew's package version, with
//!   `_N` when the formula has a revision (`3.1.4_1`). The keg's `INSTALL_RECEIPT.json` gives the
//!   install time (`time`), the tap (`source.tap`), the arch (`arch`) and the selection:
//!   `installed_on_request` true is `requested`, false is `dependency`. A keg without a receipt
//!   (an interrupted install) is still reported from its directory, with a warning.
//! - Casks: every version directory `Caskroom/TOKEN/VERSION/` is one package, named by the token.
//!   Homebrew keeps the cask definition it installed from under
//!   `Caskroom/TOKEN/.metadata/VERSION/TIMESTAMP/Casks/TOKEN.json` (API installs) or `TOKEN.rb`
//!   (installs from a tap's Ruby source, which is not read). The newest TIMESTAMP (UTC,
//!   `YYYYMMDDhhmmss.mmm`) is the install time and the JSON's `tap` is the tap. Newer Homebrew also
//!   writes a cask receipt `Caskroom/TOKEN/.metadata/INSTALL_RECEIPT.json`; its `time`,
//!   `installed_on_request` and `source.tap` take precedence when present. Casks have no arch.
//!
//! purl: the `brew` type of the purl spec (namespace = tap, name lowercased with `@` encoded,
//! version = the package version with its `_N` revision): `pkg:brew/wget@1.21.4`,
//! `pkg:brew/homebrew/cask/firefox@120.0`. The default tap `homebrew/core` is left out, as the
//! spec allows. The purl is empty when the tap is unknown (no receipt, no cask JSON), because a
//! purl without namespace would claim `homebrew/core`.
//!
//! Receipts and cask JSON are read whole up to [`MAX_JSON`]; a larger file is skipped with a
//! warning and the package is kept from its directory.

use census_inventory::{Inventory, Package};
use serde_json::Value;

use super::purl::purl;
use super::{Source, Warnings, list_visible, read_parsed};
use crate::host::Host;

pub struct Homebrew;

/// Largest receipt or cask JSON read (16 MiB).
pub const MAX_JSON: u64 = 16 * 1024 * 1024;

/// Prefixes at fixed places; per-user `home/*/.linuxbrew` are added at run time.
const PREFIXES: &[&str] = &["opt/homebrew", "usr/local", "home/linuxbrew/.linuxbrew"];

impl Source for Homebrew {
    fn name(&self) -> &'static str {
        "homebrew"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        for prefix in prefixes(host, w) {
            collect_formulae(host, &prefix, inv, w);
            collect_casks(host, &prefix, inv, w);
        }
    }
}

/// The fixed prefixes, then each `home/USER/.linuxbrew` that is a directory, without repeats.
fn prefixes(host: &Host, w: &mut Warnings<'_>) -> Vec<String> {
    let mut out: Vec<String> = PREFIXES.iter().map(|p| p.to_string()).collect();
    for user in list_visible(host, "home", w) {
        let p = format!("home/{user}/.linuxbrew");
        if !out.contains(&p) && host.is_dir(&p) {
            out.push(p);
        }
    }
    out
}

fn collect_formulae(host: &Host, prefix: &str, inv: &mut Inventory, w: &mut Warnings<'_>) {
    let cellar = format!("{prefix}/Cellar");
    for name in list_visible(host, &cellar, w) {
        let formula_dir = format!("{cellar}/{name}");
        if !host.is_dir(&formula_dir) {
            continue;
        }
        for version in list_visible(host, &formula_dir, w) {
            let keg = format!("{formula_dir}/{version}");
            if !host.is_dir(&keg) {
                continue;
            }
            let receipt_path = format!("{keg}/INSTALL_RECEIPT.json");
            let missing = Some(format!("{keg}: no INSTALL_RECEIPT.json"));
            let receipt = read_parsed(host, &receipt_path, MAX_JSON, parse_receipt, missing, w);
            inv.software.push(formula_package(&name, &version, &format!("/{prefix}"), receipt.as_ref()));
        }
    }
}

fn collect_casks(host: &Host, prefix: &str, inv: &mut Inventory, w: &mut Warnings<'_>) {
    let caskroom = format!("{prefix}/Caskroom");
    for token in list_visible(host, &caskroom, w) {
        let cask_dir = format!("{caskroom}/{token}");
        if !host.is_dir(&cask_dir) {
            continue;
        }
        let versions: Vec<String> =
            list_visible(host, &cask_dir, w).into_iter().filter(|v| host.is_dir(&format!("{cask_dir}/{v}"))).collect();
        if versions.is_empty() {
            continue;
        }
        let receipt = read_json(host, &format!("{cask_dir}/.metadata/INSTALL_RECEIPT.json"), parse_receipt, w);
        for version in versions {
            let mut info = cask_metadata(host, &cask_dir, &token, &version, w);
            if let Some(r) = &receipt {
                if r.time > 0 {
                    info.time = r.time;
                }
                if !r.tap.is_empty() {
                    info.tap = r.tap.clone();
                }
                info.installed_on_request = r.installed_on_request.or(info.installed_on_request);
            }
            inv.software.push(cask_package(&token, &version, &format!("/{prefix}"), &info));
        }
    }
}

/// The newest `.metadata/VERSION/TIMESTAMP/` of a cask version: its time and, from
/// `Casks/TOKEN.json`, its tap.
fn cask_metadata(host: &Host, cask_dir: &str, token: &str, version: &str, w: &mut Warnings<'_>) -> Receipt {
    let meta = format!("{cask_dir}/.metadata/{version}");
    let newest = list_visible(host, &meta, w).into_iter().rev().find(|ts| parse_cask_timestamp(ts).is_some());
    let Some(ts) = newest else { return Receipt::default() };
    let json_path = format!("{meta}/{ts}/Casks/{token}.json");
    let mut info = read_json(host, &json_path, parse_cask_json, w).unwrap_or_default();
    info.time = parse_cask_timestamp(&ts).unwrap_or(0);
    info
}

/// Reads and parses a JSON file; `None` (silently) when it is absent, with a warning otherwise.
fn read_json(
    host: &Host,
    rel: &str,
    parse: fn(&[u8]) -> Result<Receipt, String>,
    w: &mut Warnings<'_>,
) -> Option<Receipt> {
    read_parsed(host, rel, MAX_JSON, parse, None, w)
}

/// What a formula receipt (or a cask receipt or cask JSON) says about an install.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Unix seconds; 0 when unknown.
    pub time: i64,
    /// `user/repo`, empty when unknown.
    pub tap: String,
    /// Formula receipts only (`arm64`, `x86_64`); empty when unknown.
    pub arch: String,
    pub installed_on_request: Option<bool>,
}

/// Parses an `INSTALL_RECEIPT.json` (formula or cask). Only a JSON object is a receipt; missing
/// or mistyped fields are unknown, not errors.
pub fn parse_receipt(bytes: &[u8]) -> Result<Receipt, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(obj) = value else { return Err("not a JSON object".into()) };
    let source = obj.get("source");
    Ok(Receipt {
        time: obj.get("time").map(unix_time).unwrap_or(0),
        tap: source.and_then(|s| s.get("tap")).and_then(Value::as_str).unwrap_or_default().trim().to_string(),
        arch: obj.get("arch").and_then(Value::as_str).unwrap_or_default().trim().to_string(),
        installed_on_request: obj.get("installed_on_request").and_then(Value::as_bool),
    })
}

/// Parses the cask JSON Homebrew keeps in `.metadata` (the API's cask definition): its tap.
pub fn parse_cask_json(bytes: &[u8]) -> Result<Receipt, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(obj) = value else { return Err("not a JSON object".into()) };
    Ok(Receipt {
        tap: obj.get("tap").and_then(Value::as_str).unwrap_or_default().trim().to_string(),
        ..Receipt::default()
    })
}

/// A receipt `time`: integer or float seconds; anything else (null, negative) is unknown.
fn unix_time(v: &Value) -> i64 {
    let t = v.as_i64().or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)).unwrap_or(0);
    t.max(0)
}

/// A `.metadata` timestamp directory name, `YYYYMMDDhhmmss.mmm` in UTC, as unix seconds.
pub fn parse_cask_timestamp(ts: &str) -> Option<i64> {
    let digits = ts.split_once('.').map_or(ts, |(d, _)| d);
    if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| digits[r].parse::<i64>().ok();
    let (y, mo, d, h, mi, s) = (n(0..4)?, n(4..6)?, n(6..8)?, n(8..10)?, n(10..12)?, n(12..14)?);
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d)? * 86_400 + h * 3600 + mi * 60 + s)
}

/// Days since 1970-01-01 of a valid proleptic Gregorian date (year 1970..=9999), else `None`.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> Option<i64> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1970..=9999).contains(&y) || d < 1 || d > days_in_month {
        return None;
    }
    // Howard Hinnant's days_from_civil, with the year starting in March.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The package for formula `name` at keg `version` under `prefix` (a host path).
pub fn formula_package(name: &str, version: &str, prefix: &str, receipt: Option<&Receipt>) -> Package {
    let r = receipt.cloned().unwrap_or_default();
    Package {
        name: name.to_string(),
        version: version.to_string(),
        arch: r.arch.clone(),
        source: "homebrew".into(),
        install_time: r.time,
        selection: selection(r.installed_on_request),
        purl: brew_purl(&r.tap, name, version),
        location: prefix.to_string(),
        ..Package::default()
    }
}

/// The package for cask `token` at `version` under `prefix` (a host path).
pub fn cask_package(token: &str, version: &str, prefix: &str, info: &Receipt) -> Package {
    Package {
        name: token.to_string(),
        version: version.to_string(),
        source: "homebrew".into(),
        install_time: info.time,
        selection: selection(info.installed_on_request),
        purl: brew_purl(&info.tap, token, version),
        location: prefix.to_string(),
        ..Package::default()
    }
}

fn selection(on_request: Option<bool>) -> String {
    match on_request {
        Some(true) => "requested".into(),
        Some(false) => "dependency".into(),
        None => String::new(),
    }
}

/// `pkg:brew/[TAP/]NAME@VERSION`, the default tap `homebrew/core` left out; empty when the tap
/// is unknown or not `user/repo`.
pub fn brew_purl(tap: &str, name: &str, version: &str) -> String {
    let tap = tap.to_ascii_lowercase();
    let mut parts = tap.split('/');
    let valid = matches!((parts.next(), parts.next(), parts.next()), (Some(u), Some(r), None) if !u.is_empty() && !r.is_empty());
    if !valid {
        return String::new();
    }
    let namespace = (tap != "homebrew/core").then_some(tap.as_str());
    purl("brew", namespace, &name.to_lowercase(), version, &[])
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::sources::{collect_one, fixture};

    fn keys(packages: &[Package]) -> HashSet<(String, String, String)> {
        packages.iter().map(|p| (p.name.clone(), p.version.clone(), p.location.clone())).collect()
    }

    fn show(p: &Package) -> String {
        format!(
            "{} {}={} [{}] t={} [{}] {}",
            p.location, p.name, p.version, p.arch, p.install_time, p.selection, p.purl
        )
    }

    #[test]
    fn fixture_formulae_and_casks() {
        let (inv, warnings) = collect_one(&Homebrew, &fixture("homebrew-macos"));
        assert_eq!(warnings, vec![]);
        let got: Vec<String> = inv.software.iter().map(show).collect();
        assert_eq!(
            got,
            [
                "/opt/homebrew openssl@3=3.1.4 [arm64] t=1699000000 [dependency] pkg:brew/openssl%403@3.1.4",
                "/opt/homebrew openssl@3=3.2.0_1 [arm64] t=1702000000 [dependency] pkg:brew/openssl%403@3.2.0_1",
                "/opt/homebrew wget=1.21.4 [arm64] t=1700470000 [requested] pkg:brew/wget@1.21.4",
                "/opt/homebrew firefox=120.0 [] t=1700482500 [requested] pkg:brew/homebrew/cask/firefox@120.0",
                "/opt/homebrew iterm2=3.4.22 [] t=1700000000 [] pkg:brew/homebrew/cask/iterm2@3.4.22",
                "/opt/homebrew xquartz=2.8.5 [] t=1685620800 [] ",
            ]
        );
        assert!(inv.software.iter().all(|p| p.source == "homebrew"));
        assert_eq!(keys(&inv.software).len(), inv.software.len());
    }

    #[test]
    fn linuxbrew_prefixes_and_unknown_taps() {
        let (inv, warnings) = collect_one(&Homebrew, &fixture("homebrew-linux"));
        let got: Vec<String> = inv.software.iter().map(show).collect();
        assert_eq!(
            got,
            [
                "/home/linuxbrew/.linuxbrew jq=1.7.1 [x86_64] t=1701000000 [requested] pkg:brew/jq@1.7.1",
                "/home/linuxbrew/.linuxbrew mytool=0.3 [x86_64] t=1701000500 [requested] pkg:brew/acme/tools/mytool@0.3",
                "/home/linuxbrew/.linuxbrew norecipt=2.0 [] t=0 [] ",
                "/home/alice/.linuxbrew broken=1.0 [] t=0 [] ",
                "/home/alice/.linuxbrew hello=2.12.1 [] t=0 [] ",
                "/home/alice/.linuxbrew editor-app=1.0 [] t=1704164645 [] ",
            ]
        );
        assert_eq!(
            warnings.iter().map(|w| w.message.as_str()).collect::<Vec<_>>(),
            [
                "home/linuxbrew/.linuxbrew/Cellar/norecipt/2.0: no INSTALL_RECEIPT.json",
                "home/alice/.linuxbrew/Cellar/broken/1.0/INSTALL_RECEIPT.json: invalid JSON: EOF while parsing a value at line 3 column 0",
                "home/alice/.linuxbrew/Cellar/hello/2.12.1/INSTALL_RECEIPT.json: not a JSON object",
                "home/alice/.linuxbrew/Caskroom/editor-app/.metadata/1.0/20240102030405.123/Casks/editor-app.json: invalid JSON: expected value at line 1 column 1",
            ]
        );
        assert!(warnings.iter().all(|w| w.source == "homebrew"));
    }

    #[test]
    fn receipt_fields() {
        let r = parse_receipt(
            br#"{"time": 1700470000.5, "installed_on_request": false, "arch": "arm64",
                 "source": {"tap": "Homebrew/core", "versions": {"stable": "1.0"}}}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            Receipt {
                time: 1700470000,
                tap: "Homebrew/core".into(),
                arch: "arm64".into(),
                installed_on_request: Some(false)
            }
        );
        // Old receipts: time null, no arch, no source.
        let old = parse_receipt(br#"{"time": null, "installed_on_request": "yes", "source": 3}"#).unwrap();
        assert_eq!(old, Receipt::default());
        assert_eq!(parse_receipt(br#"{"time": -5}"#).unwrap().time, 0);
        assert_eq!(parse_receipt(br#"{"time": 1e300}"#).unwrap().time, i64::MAX);
        assert!(parse_receipt(b"[1, 2]").unwrap_err().contains("not a JSON object"));
        assert!(parse_receipt(b"{\"time\": ").unwrap_err().starts_with("invalid JSON"));
        assert!(parse_receipt(b"\xff\xfe").is_err());
    }

    #[test]
    fn purls_follow_the_brew_type() {
        assert_eq!(brew_purl("homebrew/core", "SQLite", "3.43.2"), "pkg:brew/sqlite@3.43.2");
        assert_eq!(brew_purl("homebrew/core", "postgresql@12", "12.17_1"), "pkg:brew/postgresql%4012@12.17_1");
        assert_eq!(brew_purl("homebrew/cask", "firefox", "120.0"), "pkg:brew/homebrew/cask/firefox@120.0");
        assert_eq!(brew_purl("Some-Org/Some-Tap", "app", "1.2.3"), "pkg:brew/some-org/some-tap/app@1.2.3");
        assert_eq!(brew_purl("", "wget", "1"), "", "unknown tap: no purl");
        assert_eq!(brew_purl("a/b/c", "wget", "1"), "");
        assert_eq!(brew_purl("/b", "wget", "1"), "");
    }

    #[test]
    fn cask_timestamps_are_utc() {
        assert_eq!(parse_cask_timestamp("20231120121456.789"), Some(1700482496));
        assert_eq!(parse_cask_timestamp("19700101000000"), Some(0));
        assert_eq!(parse_cask_timestamp("20240229000000.000"), Some(1709164800));
        assert_eq!(parse_cask_timestamp("20230229000000.000"), None, "not a leap year");
        assert_eq!(parse_cask_timestamp("2023112012145"), None);
        assert_eq!(parse_cask_timestamp("2023112012145x.1"), None);
        assert_eq!(parse_cask_timestamp("20231120251456"), None);
        assert_eq!(parse_cask_timestamp("２０２３"), None);
    }

    #[test]
    fn oversized_receipt_is_skipped_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let keg = dir.path().join("opt/homebrew/Cellar/big/1.0");
        std::fs::create_dir_all(&keg).unwrap();
        let f = std::fs::File::create(keg.join("INSTALL_RECEIPT.json")).unwrap();
        f.set_len(MAX_JSON + 1).unwrap();
        let (inv, warnings) = collect_one(&Homebrew, &Host::open(dir.path()).unwrap());
        assert_eq!(inv.software.len(), 1, "the keg is kept from its directory");
        assert_eq!(inv.software[0].name, "big");
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            warnings[0].message,
            format!("opt/homebrew/Cellar/big/1.0/INSTALL_RECEIPT.json: larger than {MAX_JSON} bytes")
        );
    }

    #[test]
    fn no_homebrew_is_silent() {
        let dir = tempfile::tempdir().unwrap();
        // A Linux-looking root with /usr/local and homes but no Homebrew.
        std::fs::create_dir_all(dir.path().join("usr/local/bin")).unwrap();
        std::fs::create_dir_all(dir.path().join("home/bob")).unwrap();
        let (inv, warnings) = collect_one(&Homebrew, &Host::open(dir.path()).unwrap());
        assert!(inv.software.is_empty());
        assert!(warnings.is_empty());
    }

    #[test]
    fn debian_fixture_has_no_homebrew() {
        let (inv, warnings) = collect_one(&Homebrew, &fixture("debian12"));
        assert!(inv.software.is_empty());
        assert!(warnings.is_empty());
    }
}
