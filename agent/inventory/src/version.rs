//! Version ordering per ecosystem, and the constraints of `census software NAME --version`.
//!
//! - dpkg: deb-version(7): epoch, then upstream version and revision compared with dpkg's
//!   algorithm, where `~` sorts before everything, even the end (`1.0~rc1 < 1.0`).
//! - rpm: rpmvercmp (via the rpm-version crate), where `~` sorts before and `^` after the end
//!   (`1.0~rc1 < 1.0 < 1.0^git1 < 1.0.1`). As in rpm dependencies, a constraint without a
//!   release compares epoch and version only: `=3.0.7` holds for `3.0.7-27.el9`.
//! - everything else ("semver-ish"): a leading `v` and `+build` metadata are ignored; numbers
//!   compare numerically, words alphabetically (`alpha < beta < rc`), a number beats a word
//!   (`1.0.1 > 1.0rc1`), a pre-release word sorts before the end (`1.0-rc1 < 1.0`) while a
//!   post-release word (`post`, `p`, `pl`, `patch`, `r`) sorts after it, and a missing number
//!   counts as 0 (`1.0 = 1.0.0`).

use std::cmp::Ordering;

/// Which ordering rules a package's versions follow, from the package's `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Dpkg,
    Rpm,
    Generic,
}

impl Scheme {
    pub fn for_source(source: &str) -> Self {
        match source {
            "dpkg" => Scheme::Dpkg,
            "rpm" => Scheme::Rpm,
            _ => Scheme::Generic,
        }
    }
}

pub fn compare(scheme: Scheme, a: &str, b: &str) -> Ordering {
    match scheme {
        Scheme::Dpkg => dpkg_compare(a, b),
        Scheme::Rpm => rpm_version::Evr::parse(a).cmp(&rpm_version::Evr::parse(b)),
        Scheme::Generic => generic_compare(a, b),
    }
}

// ---- dpkg ------------------------------------------------------------------------------------

/// Splits `[epoch:]upstream[-revision]`.
fn dpkg_parts(v: &str) -> (&str, &str, &str) {
    let v = v.trim();
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => (e, r),
        _ => ("0", v),
    };
    let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
    (epoch, upstream, revision)
}

/// Compares digit strings of any length numerically.
fn numeric(a: &[u8], b: &[u8]) -> Ordering {
    let a = &a[a.iter().take_while(|&&c| c == b'0').count()..];
    let b = &b[b.iter().take_while(|&&c| c == b'0').count()..];
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

pub fn dpkg_compare(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = dpkg_parts(a);
    let (eb, ub, rb) = dpkg_parts(b);
    numeric(ea.as_bytes(), eb.as_bytes())
        .then_with(|| verrevcmp(ua.as_bytes(), ub.as_bytes()))
        .then_with(|| verrevcmp(ra.as_bytes(), rb.as_bytes()))
}

/// dpkg's character order in non-digit runs: `~` first, then the end and digits, then
/// letters, then everything else.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        let si = i;
        while digit(a, i) {
            i += 1;
        }
        let sj = j;
        while digit(b, j) {
            j += 1;
        }
        let n = numeric(&a[si.min(a.len())..i.min(a.len())], &b[sj.min(b.len())..j.min(b.len())]);
        if n != Ordering::Equal {
            return n;
        }
    }
    Ordering::Equal
}

// ---- semver-ish ----------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Num(&'a str),
    Word(String),
}

const POST_RELEASE: [&str; 5] = ["post", "p", "pl", "patch", "r"];

fn tokens(v: &str) -> Vec<Token<'_>> {
    let v = v.trim();
    let v = v.strip_prefix(['v', 'V']).filter(|r| r.starts_with(|c: char| c.is_ascii_digit())).unwrap_or(v);
    let v = v.split('+').next().unwrap_or_default();
    let mut out = Vec::new();
    let bytes = v.as_bytes();
    let mut k = 0;
    while k < bytes.len() {
        let start = k;
        if bytes[k].is_ascii_digit() {
            while k < bytes.len() && bytes[k].is_ascii_digit() {
                k += 1;
            }
            out.push(Token::Num(&v[start..k]));
        } else if bytes[k].is_ascii_alphabetic() {
            while k < bytes.len() && bytes[k].is_ascii_alphabetic() {
                k += 1;
            }
            out.push(Token::Word(v[start..k].to_ascii_lowercase()));
        } else {
            k += 1;
        }
    }
    out
}

pub fn generic_compare(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (tokens(a), tokens(b));
    for k in 0..ta.len().max(tb.len()) {
        let o = match (ta.get(k), tb.get(k)) {
            (Some(Token::Num(x)), Some(Token::Num(y))) => numeric(x.as_bytes(), y.as_bytes()),
            (Some(Token::Word(x)), Some(Token::Word(y))) => x.cmp(y),
            (Some(Token::Num(_)), Some(Token::Word(_))) => Ordering::Greater,
            (Some(Token::Word(_)), Some(Token::Num(_))) => Ordering::Less,
            // A missing number is 0: 1.0 = 1.0.0, 1.0 < 1.0.1.
            (None, Some(Token::Num(y))) => numeric(b"0", y.as_bytes()),
            (Some(Token::Num(x)), None) => numeric(x.as_bytes(), b"0"),
            (None, Some(Token::Word(w))) => post_or_pre(w).reverse(),
            (Some(Token::Word(w)), None) => post_or_pre(w),
            (None, None) => Ordering::Equal,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// How a version continuing with word `w` compares to one that ends there.
fn post_or_pre(w: &str) -> Ordering {
    if POST_RELEASE.contains(&w) { Ordering::Greater } else { Ordering::Less }
}

// ---- constraints -----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
}

/// One or more comparisons, all of which must hold: `<3.0.7`, `>=1.1.1,<1.1.1w`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    clauses: Vec<(Op, String)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("version constraint {input:?}: {reason}")]
pub struct ConstraintError {
    pub input: String,
    pub reason: String,
}

impl Constraint {
    pub fn parse(input: &str) -> Result<Self, ConstraintError> {
        let err = |reason: String| ConstraintError { input: input.to_string(), reason };
        let mut clauses = Vec::new();
        for part in input.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(err("empty comparison (expected e.g. <3.0.7 or >=1.0,<2.0)".into()));
            }
            let (op, rest) = [
                ("<=", Op::Le),
                (">=", Op::Ge),
                ("==", Op::Eq),
                ("!=", Op::Ne),
                ("<<", Op::Lt),
                (">>", Op::Gt),
                ("<", Op::Lt),
                (">", Op::Gt),
                ("=", Op::Eq),
            ]
            .iter()
            .find_map(|(text, op)| part.strip_prefix(text).map(|rest| (*op, rest)))
            .unwrap_or((Op::Eq, part));
            let version = rest.trim();
            if version.is_empty() {
                return Err(err(format!("no version after the operator in {part:?}")));
            }
            if version.contains(char::is_whitespace) || version.starts_with(['<', '>', '=', '!']) {
                return Err(err(format!("{version:?} is not a version")));
            }
            clauses.push((op, version.to_string()));
        }
        Ok(Self { clauses })
    }

    /// Whether `version` (of a package whose versions follow `scheme`) satisfies every clause.
    pub fn matches(&self, scheme: Scheme, version: &str) -> bool {
        self.clauses.iter().all(|(op, wanted)| {
            let installed = match scheme {
                // rpm dependency rule: a constraint without a release ignores the release.
                Scheme::Rpm if !wanted.contains('-') => version.split_once('-').map_or(version, |(v, _)| v),
                _ => version,
            };
            let o = compare(scheme, installed, wanted);
            match op {
                Op::Lt => o == Ordering::Less,
                Op::Le => o != Ordering::Greater,
                Op::Eq => o == Ordering::Equal,
                Op::Ne => o != Ordering::Equal,
                Op::Ge => o != Ordering::Less,
                Op::Gt => o == Ordering::Greater,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn check(scheme: Scheme, cases: &[(&str, &str, Ordering)]) {
        for (a, b, want) in cases {
            assert_eq!(compare(scheme, a, b), *want, "{scheme:?}: {a} vs {b}");
            assert_eq!(compare(scheme, b, a), want.reverse(), "{scheme:?}: {b} vs {a}");
        }
    }

    #[test]
    fn dpkg_ordering() {
        check(
            Scheme::Dpkg,
            &[
                ("1.0~rc1", "1.0", Less),
                ("1.0~rc1", "1.0~rc2", Less),
                ("1.0~~", "1.0~", Less),
                ("1.0", "1.0+b1", Less),
                ("1.0", "1.0.1", Less),
                ("1:0.9", "2.0", Greater),
                ("0:1.0", "1.0", Equal),
                ("2.36-9+deb12u4", "2.36-9+deb12u10", Less),
                ("3.0.11-1~deb12u2", "3.0.11-1", Less),
                ("3.0.11-1~deb12u2", "3.0.11", Greater),
                ("1.0a", "1.0", Greater),
                ("1.0a", "1.0+", Less),
                ("1.2-3", "1.2-3", Equal),
                ("1.01", "1.1", Equal),
                ("99999999999999999999999", "99999999999999999999998", Greater),
                ("2:9.0.1378-2", "2:9.0.1378-10", Less),
                ("1.2.3-a-b", "1.2.3-a-c", Less),
            ],
        );
    }

    #[test]
    fn rpm_ordering() {
        check(
            Scheme::Rpm,
            &[
                ("1.0~rc1", "1.0", Less),
                ("1.0^git1", "1.0", Greater),
                ("1.0^git1", "1.0.1", Less),
                ("1.0~rc1^git1", "1.0~rc1", Greater),
                ("1:1.0-1", "2.0-1", Greater),
                ("3.0.7-27.el9", "3.0.7-28.el9", Less),
                ("1.0a", "1.0", Greater),
                ("1.0-1.fc40", "1.0-1.fc40", Equal),
            ],
        );
    }

    #[test]
    fn generic_ordering() {
        check(
            Scheme::Generic,
            &[
                ("1.0", "1.0.0", Equal),
                ("v1.2.3", "1.2.3", Equal),
                ("1.2.3+build.5", "1.2.3", Equal),
                ("1.0-rc1", "1.0", Less),
                ("1.0.0-alpha", "1.0.0-beta", Less),
                ("1.0.0-beta", "1.0.0-rc.1", Less),
                ("1.0rc1", "1.0.1", Less),
                ("1.10", "1.9", Greater),
                ("2.0.post1", "2.0", Greater),
                ("1.2.3-r1", "1.2.3-r0", Greater),
                ("2024.1", "2023.12", Greater),
            ],
        );
    }

    #[test]
    fn constraints() {
        let c = Constraint::parse("<3.0.7").unwrap();
        assert!(c.matches(Scheme::Dpkg, "3.0.2-0ubuntu1.10"));
        assert!(!c.matches(Scheme::Dpkg, "3.0.7-1"));
        assert!(c.matches(Scheme::Dpkg, "3.0.7~rc1-1"));
        assert!(!c.matches(Scheme::Rpm, "3.0.7-27.el9"), "release ignored: 3.0.7 is not < 3.0.7");
        assert!(Constraint::parse("=3.0.7").unwrap().matches(Scheme::Rpm, "3.0.7-27.el9"));
        assert!(!Constraint::parse("=3.0.7-26.el9").unwrap().matches(Scheme::Rpm, "3.0.7-27.el9"));
        assert!(Constraint::parse("1:1.0").unwrap().matches(Scheme::Rpm, "1:1.0-3"));
        let range = Constraint::parse(">=1.1.1, <1.1.1w").unwrap();
        assert!(range.matches(Scheme::Dpkg, "1.1.1n-0+deb11u5"));
        assert!(!range.matches(Scheme::Dpkg, "1.1.1w-0+deb11u1"));
        assert!(Constraint::parse("!=2.0").unwrap().matches(Scheme::Generic, "2.0.1"));
        assert!(Constraint::parse("<<2").unwrap().matches(Scheme::Dpkg, "1.9"));
        assert!(Constraint::parse("2.0").unwrap().matches(Scheme::Generic, "2.0.0"));
    }

    #[test]
    fn bad_constraints_name_the_problem() {
        for (input, reason) in [
            ("<", "no version after the operator in \"<\""),
            ("", "empty comparison (expected e.g. <3.0.7 or >=1.0,<2.0)"),
            (">=1.0,", "empty comparison (expected e.g. <3.0.7 or >=1.0,<2.0)"),
            ("<=>1", "\">1\" is not a version"),
            ("< 1 2", "\"1 2\" is not a version"),
        ] {
            assert_eq!(Constraint::parse(input).unwrap_err().reason, reason, "{input:?}");
        }
    }
}
