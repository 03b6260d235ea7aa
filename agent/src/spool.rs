//! The agent's on-disk spool of signed reports the collector has not acknowledged yet.
//!
//! `<state_dir>/spool/` (mode 0700) holds one file per report, `<sequence, 20 digits>.report`
//! (mode 0600), with the encoded `census.v1.SignedReport`. Each file is written atomically
//! (`<name>.tmp`, fsync, rename, fsync of the directory), so a crash mid-write leaves either the
//! whole file or a `.tmp` leftover, which the next start removes. A report leaves the spool when
//! the collector acknowledged it (after its store committed) or refused it for good.
//!
//! The spool is bounded by a count and a size ([`Limits`], by default 100 reports and 64 MiB).
//! When a new report would exceed a bound, the oldest reports are removed (coalesced). The
//! report being added is never removed, even when it alone exceeds the size bound.
//!
//! Reports are full inventories, deltas and heartbeats. A delta applies only to the state the
//! report before it left at the collector, so removing a full or a delta breaks the chain of
//! the deltas after it. The rule kept here is the simplest correct one: when coalescing removes
//! a full or a delta, [`Spool::take_needs_full`] says so and the agent makes its next report a
//! full inventory. The deltas still spooled after the gap are refused by the collector with
//! `BASE_MISMATCH` (their base hash is not its state: nothing wrong is ever stored), and the
//! agent drops them ([`Spool::drop_chain`]) and sends a full inventory: self-healing either
//! way.
//!
//! Only the sequences and sizes live in memory; a report is read back from its file to send it.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use census_proto::v1::{Report, SignedReport};
use prost::Message;

/// The directory under the state directory that holds the spool.
pub const DIR_NAME: &str = "spool";
const EXTENSION: &str = "report";
const TMP_EXTENSION: &str = "tmp";

/// How much the spool holds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Reports kept at most (at least 1: the newest report is always kept).
    pub max_reports: usize,
    /// Total encoded size kept at most, in bytes. A single report larger than this is still
    /// kept, alone.
    pub max_bytes: u64,
}

impl Limits {
    pub const DEFAULT_MAX_REPORTS: usize = 100;
    pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_reports: Self::DEFAULT_MAX_REPORTS, max_bytes: Self::DEFAULT_MAX_BYTES }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("spool file {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("report {0} is not in the spool")]
    Missing(u64),
}

/// One spooled report: its encoded size and, only when its file could not be written, the
/// report itself (kept in memory so it is still delivered by this process).
#[derive(Debug)]
struct Entry {
    size: u64,
    kind: ReportKind,
    in_memory: Option<SignedReport>,
}

/// What a spooled report carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Full,
    Delta,
    Heartbeat,
}

impl ReportKind {
    /// The body of `report` (a report without a body counts as a heartbeat: it changes no state).
    pub fn of(report: &Report) -> Self {
        use census_proto::v1::report::Body;
        match report.body {
            Some(Body::Full(_) | Body::FullZstd(_)) => ReportKind::Full,
            Some(Body::Delta(_)) => ReportKind::Delta,
            Some(Body::Heartbeat(_)) | None => ReportKind::Heartbeat,
        }
    }

    fn of_signed(signed: &SignedReport) -> Self {
        Report::decode(signed.report.as_slice()).map(|r| Self::of(&r)).unwrap_or(ReportKind::Heartbeat)
    }
}

#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    limits: Limits,
    entries: BTreeMap<u64, Entry>,
    bytes: u64,
    /// Coalescing removed a full or a delta: the next report must be full.
    needs_full: bool,
}

impl Spool {
    /// Opens (creating, mode 0700) the spool in `dir` and loads what an earlier run left.
    ///
    /// Leftover `.tmp` files (a crash mid-write) are removed, and so are `.report` files that
    /// are not a valid signed report for the sequence in their name. Each removal, and the
    /// coalescing needed when the spool exceeds `limits` (smaller limits than the last run's),
    /// comes back as a warning for the caller to log. Only an unreadable directory is an error.
    pub fn open(dir: &Path, limits: Limits) -> Result<(Self, Vec<String>), SpoolError> {
        let io_err = |source| SpoolError::Io { path: dir.to_path_buf(), source };
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io_err)?;
        let meta = fs::metadata(dir).map_err(io_err)?;
        if !meta.is_dir() {
            return Err(io_err(io::Error::other("not a directory")));
        }
        if meta.permissions().mode() & 0o777 != 0o700 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err)?;
        }
        let limits = Limits { max_reports: limits.max_reports.max(1), ..limits };
        let mut spool = Self { dir: dir.to_path_buf(), limits, entries: BTreeMap::new(), bytes: 0, needs_full: false };
        let mut warnings = Vec::new();

        let mut names: Vec<_> = fs::read_dir(dir)
            .map_err(io_err)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(io_err)?;
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let name = name.to_string_lossy();
            if path.is_dir() {
                continue;
            }
            if name.ends_with(&format!(".{TMP_EXTENSION}")) {
                match fs::remove_file(&path) {
                    Ok(()) => warnings.push(format!(
                        "removed incomplete spool file {} (the agent stopped while writing it)",
                        path.display()
                    )),
                    Err(e) => warnings.push(format!("cannot remove incomplete spool file {}: {e}", path.display())),
                }
                continue;
            }
            let Some(stem) = name.strip_suffix(&format!(".{EXTENSION}")) else {
                warnings.push(format!("ignoring unexpected file {} in the spool", path.display()));
                continue;
            };
            let loaded = parse_sequence(stem)
                .ok_or_else(|| "its name is not a sequence number".to_string())
                .and_then(|sequence| read_report(&path, sequence).map(|(size, kind)| (sequence, size, kind)));
            match loaded {
                Ok((sequence, size, kind)) => {
                    spool.entries.insert(sequence, Entry { size, kind, in_memory: None });
                    spool.bytes += size;
                }
                Err(reason) => {
                    let removed = match fs::remove_file(&path) {
                        Ok(()) => "removed".to_string(),
                        Err(e) => format!("could not remove it: {e}"),
                    };
                    warnings.push(format!("spool file {} is not a valid report ({reason}); {removed}", path.display()));
                }
            }
        }
        if let Some(w) = spool.coalesce(None) {
            warnings.push(w);
        }
        Ok((spool, warnings))
    }

    /// Adds the report with `sequence` (the newest), then coalesces the oldest reports away
    /// while a bound is exceeded. Returns warnings: the coalescing, or a file that could not be
    /// written (the report is then kept in memory, so this process still delivers it).
    ///
    /// The file is written before anything older is removed, so a crash in between leaves one
    /// report too many (coalesced at the next start), never one too few.
    pub fn push(&mut self, sequence: u64, report: &SignedReport) -> Vec<String> {
        let bytes = report.encode_to_vec();
        let size = bytes.len() as u64;
        let mut warnings = Vec::new();
        let path = self.path_of(sequence);
        let in_memory = match census_cmd::write_atomic(&path, &bytes, 0o600) {
            Ok(()) => None,
            Err(e) => {
                warnings.push(format!(
                    "cannot write spool file {}: {e}; report {sequence} is kept in memory only until it is delivered",
                    path.display()
                ));
                Some(report.clone())
            }
        };
        let kind = ReportKind::of_signed(report);
        if let Some(old) = self.entries.insert(sequence, Entry { size, kind, in_memory }) {
            self.bytes -= old.size;
        }
        self.bytes += size;
        if let Some(w) = self.coalesce(Some(sequence)) {
            warnings.push(w);
        }
        warnings
    }

    /// Removes the oldest reports, never `keep`, until the spool is within its bounds.
    ///
    /// Removing a heartbeat loses nothing. Removing a full or a delta leaves the collector
    /// without a state the later deltas build on, so it sets `needs_full` (see the module
    /// comment for why that is enough). Folding deltas into their base instead would keep them
    /// applicable but means re-signing reports; a full inventory is simpler and as small as
    /// the folded result.
    fn coalesce(&mut self, keep: Option<u64>) -> Option<String> {
        let mut removed = Vec::new();
        let mut stateful = false;
        while self.entries.len() > self.limits.max_reports || self.bytes > self.limits.max_bytes {
            let Some(&oldest) = self.entries.keys().find(|&&s| Some(s) != keep) else { break };
            // Only the newest report may remain alone, whatever its size.
            if self.entries.len() == 1 {
                break;
            }
            if self.entries.get(&oldest).is_some_and(|e| e.kind != ReportKind::Heartbeat) {
                self.needs_full = true;
                stateful = true;
            }
            // A file that cannot be removed still leaves the accounting; the next start retries.
            let _ = self.remove(oldest);
            removed.push(oldest);
        }
        let (first, last) = (*removed.first()?, *removed.last()?);
        let which = if removed.len() == 1 {
            format!("1 oldest report (sequence {first})")
        } else {
            format!("{} oldest reports (sequences {first}-{last})", removed.len())
        };
        let what = if stateful {
            "away; the next report is a full inventory"
        } else {
            "away (heartbeats only: nothing is lost)"
        };
        Some(format!(
            "spool full ({} reports / {}): coalesced {which} {what}",
            self.limits.max_reports,
            human_bytes(self.limits.max_bytes)
        ))
    }

    /// Whether coalescing removed a full or a delta since the last call: the next report must
    /// then be a full inventory.
    pub fn take_needs_full(&mut self) -> bool {
        std::mem::take(&mut self.needs_full)
    }

    /// The kind of the spooled report `sequence`.
    pub fn kind(&self, sequence: u64) -> Option<ReportKind> {
        self.entries.get(&sequence).map(|e| e.kind)
    }

    /// After the collector refused the delta `sequence` (its base is not the collector's
    /// state): removes it and the deltas spooled after it up to the next full inventory, which
    /// cannot apply either. Returns the removed sequences and whether a full inventory is still
    /// spooled after them (then the chain goes on from it and no new full is needed).
    pub fn drop_chain(&mut self, sequence: u64) -> (Vec<u64>, bool) {
        let mut chain = vec![sequence];
        chain.extend(
            self.entries
                .range(sequence.saturating_add(1)..)
                .take_while(|(_, e)| e.kind != ReportKind::Full)
                .filter(|(_, e)| e.kind == ReportKind::Delta)
                .map(|(s, _)| *s),
        );
        for &s in &chain {
            let _ = self.remove(s);
        }
        let full_follows = self.entries.range(sequence..).any(|(_, e)| e.kind == ReportKind::Full);
        (chain, full_follows)
    }

    /// The oldest spooled sequence, the next to send.
    pub fn oldest(&self) -> Option<u64> {
        self.entries.keys().next().copied()
    }

    /// The spooled sequences, oldest first.
    pub fn sequences(&self) -> Vec<u64> {
        self.entries.keys().copied().collect()
    }

    /// The spooled reports, oldest first (each read back from its file).
    pub fn pending(&self) -> impl Iterator<Item = (u64, Result<SignedReport, SpoolError>)> + '_ {
        self.entries.keys().map(|&s| (s, self.load(s)))
    }

    /// Reads back the report with `sequence`.
    pub fn load(&self, sequence: u64) -> Result<SignedReport, SpoolError> {
        let entry = self.entries.get(&sequence).ok_or(SpoolError::Missing(sequence))?;
        if let Some(r) = &entry.in_memory {
            return Ok(r.clone());
        }
        let path = self.path_of(sequence);
        let bytes = fs::read(&path).map_err(|source| SpoolError::Io { path: path.clone(), source })?;
        SignedReport::decode(bytes.as_slice()).map_err(|e| SpoolError::Corrupt { path, reason: e.to_string() })
    }

    /// Forgets the report with `sequence` (acknowledged, or refused for good). Returns whether
    /// it was spooled. The entry is forgotten even when its file cannot be removed.
    pub fn remove(&mut self, sequence: u64) -> Result<bool, SpoolError> {
        let Some(entry) = self.entries.remove(&sequence) else { return Ok(false) };
        self.bytes -= entry.size;
        if entry.in_memory.is_some() {
            return Ok(true);
        }
        let path = self.path_of(sequence);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(SpoolError::Io { path, source: e }),
            _ => Ok(true),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total encoded size of the spooled reports.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, sequence: u64) -> PathBuf {
        self.dir.join(file_name(sequence))
    }
}

/// `<sequence, 20 zero-padded digits>.report`: names sort as numbers do.
pub fn file_name(sequence: u64) -> String {
    format!("{sequence:020}.{EXTENSION}")
}

fn parse_sequence(stem: &str) -> Option<u64> {
    if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok().filter(|&s| s > 0)
}

/// Checks that `path` holds a signed report whose inner sequence is `sequence`; returns its size
/// and kind.
fn read_report(path: &Path, sequence: u64) -> Result<(u64, ReportKind), String> {
    let bytes = fs::read(path).map_err(|e| e.to_string())?;
    let signed = SignedReport::decode(bytes.as_slice()).map_err(|e| format!("not a signed report: {e}"))?;
    if signed.signature.is_empty() || signed.agent_id.is_empty() {
        return Err("not a signed report: no signature or agent id".into());
    }
    let report = Report::decode(signed.report.as_slice()).map_err(|e| format!("its report does not decode: {e}"))?;
    if report.sequence != sequence {
        return Err(format!("it holds sequence {}, not {sequence}", report.sequence));
    }
    Ok((bytes.len() as u64, ReportKind::of(&report)))
}

/// `64 MiB`, `512 KiB`, `1000 bytes`: the largest binary unit that divides `n` exactly.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if n >= size && n.is_multiple_of(size) {
            return format!("{} {unit}", n / size);
        }
    }
    format!("{n} bytes")
}

/// Parses a size: plain bytes (`65536`), or a number with a unit: `KiB`, `MiB`, `GiB` (also
/// `K`, `M`, `G`), or the decimal `kB`, `MB`, `GB`; case-insensitive, a space is allowed.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: u64 = num.parse().map_err(|_| format!("{s:?} is not a size (e.g. 67108864, 64MiB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => return Err(format!("unknown size unit {other:?} (use B, KiB, MiB, GiB, kB, MB or GB)")),
    };
    num.checked_mul(mult).ok_or_else(|| format!("{s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use census_proto::signing::AgentKey;

    fn report(key: &AgentKey, sequence: u64, padding: usize) -> SignedReport {
        key.sign(&Report {
            agent_id: key.agent_id(),
            sequence,
            collected_at: None,
            agent_version: "x".repeat(padding),
            body: Some(census_proto::v1::report::Body::Heartbeat(Default::default())),
        })
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut v: Vec<_> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn reports_survive_a_reopen_in_sequence_order_with_modes_0600_and_0700() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state").join(DIR_NAME);
        let key = AgentKey::generate().unwrap();
        let (mut spool, warnings) = Spool::open(&dir, Limits::default()).unwrap();
        assert!(warnings.is_empty() && spool.is_empty());
        // Out of order on purpose: 10 must still come after 9 (names are zero-padded).
        for s in [9, 10, 2] {
            assert!(spool.push(s, &report(&key, s, 10)).is_empty());
        }
        assert_eq!(spool.sequences(), [2, 9, 10]);
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        for f in files(&dir) {
            assert!(f.len() == 27 && f.ends_with(".report"), "{f}");
            assert_eq!(fs::metadata(dir.join(&f)).unwrap().permissions().mode() & 0o777, 0o600, "{f}");
        }
        let bytes = spool.bytes();

        let (mut spool, warnings) = Spool::open(&dir, Limits::default()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(spool.sequences(), [2, 9, 10]);
        assert_eq!(spool.bytes(), bytes);
        let pending: Vec<_> = spool.pending().map(|(s, r)| (s, r.unwrap())).collect();
        assert_eq!(pending.len(), 3);
        for (s, r) in &pending {
            // Ed25519 signatures are deterministic, so the same report signs to the same bytes.
            assert_eq!(*r, report(&key, *s, 10));
            assert_eq!(Report::decode(r.report.as_slice()).unwrap().sequence, *s);
        }
        assert!(spool.remove(2).unwrap());
        assert!(!spool.remove(2).unwrap());
        assert_eq!(spool.oldest(), Some(9));
        assert_eq!(files(&dir), [file_name(9), file_name(10)]);
        let (spool, _) = Spool::open(&dir, Limits::default()).unwrap();
        assert_eq!(spool.sequences(), [9, 10]);
    }

    #[test]
    fn a_tmp_leftover_is_removed_with_a_warning() {
        let tmp = tempfile::tempdir().unwrap();
        let key = AgentKey::generate().unwrap();
        let (mut spool, _) = Spool::open(tmp.path(), Limits::default()).unwrap();
        spool.push(1, &report(&key, 1, 0));
        // A crash mid-write leaves the temporary file of write_atomic, possibly truncated.
        let full = report(&key, 2, 0).encode_to_vec();
        fs::write(tmp.path().join(format!("{}.tmp", file_name(2).trim_end_matches(".report"))), &full[..5]).unwrap();
        let (spool, warnings) = Spool::open(tmp.path(), Limits::default()).unwrap();
        assert_eq!(spool.sequences(), [1]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("removed incomplete spool file"), "{warnings:?}");
        assert_eq!(files(tmp.path()), [file_name(1)]);
    }

    #[test]
    fn corrupt_or_misnamed_files_are_removed_with_a_warning_not_a_panic() {
        let tmp = tempfile::tempdir().unwrap();
        let key = AgentKey::generate().unwrap();
        let (mut spool, _) = Spool::open(tmp.path(), Limits::default()).unwrap();
        spool.push(1, &report(&key, 1, 0));
        fs::write(tmp.path().join(file_name(2)), b"\xff\xff\xff garbage").unwrap();
        fs::write(tmp.path().join(file_name(3)), b"").unwrap();
        // A valid report under another sequence's name.
        fs::write(tmp.path().join(file_name(4)), report(&key, 5, 0).encode_to_vec()).unwrap();
        fs::write(tmp.path().join("notanumber.report"), report(&key, 6, 0).encode_to_vec()).unwrap();
        fs::write(tmp.path().join("README"), b"hello").unwrap();
        let (spool, warnings) = Spool::open(tmp.path(), Limits::default()).unwrap();
        assert_eq!(spool.sequences(), [1]);
        let text = warnings.join("\n");
        assert_eq!(warnings.len(), 5, "{text}");
        assert_eq!(text.matches("is not a valid report").count(), 4, "{text}");
        assert!(text.contains("holds sequence 5, not 4"), "{text}");
        assert!(text.contains("ignoring unexpected file"), "{text}");
        assert_eq!(files(tmp.path()), [file_name(1), "README".to_string()]);
    }

    #[test]
    fn the_count_bound_coalesces_the_oldest_and_keeps_the_newest() {
        let tmp = tempfile::tempdir().unwrap();
        let key = AgentKey::generate().unwrap();
        let limits = Limits { max_reports: 3, max_bytes: Limits::DEFAULT_MAX_BYTES };
        let (mut spool, _) = Spool::open(tmp.path(), limits).unwrap();
        for s in 1..=3 {
            assert!(spool.push(s, &report(&key, s, 0)).is_empty());
        }
        let w = spool.push(4, &report(&key, 4, 0));
        assert_eq!(
            w,
            [
                "spool full (3 reports / 64 MiB): coalesced 1 oldest report (sequence 1) away (heartbeats only: nothing is lost)"
            ]
        );
        assert_eq!(spool.sequences(), [2, 3, 4]);
        assert_eq!(files(tmp.path()), [file_name(2), file_name(3), file_name(4)]);

        // A smaller bound at the next start coalesces at once.
        let (spool, w) = Spool::open(tmp.path(), Limits { max_reports: 1, ..limits }).unwrap();
        assert_eq!(spool.sequences(), [4]);
        assert_eq!(
            w,
            [
                "spool full (1 reports / 64 MiB): coalesced 2 oldest reports (sequences 2-3) away (heartbeats only: nothing is lost)"
            ]
        );
        assert_eq!(files(tmp.path()), [file_name(4)]);
    }

    #[test]
    fn the_size_bound_coalesces_the_oldest_but_never_the_report_pushed() {
        let tmp = tempfile::tempdir().unwrap();
        let key = AgentKey::generate().unwrap();
        let one = report(&key, 1, 1000).encode_to_vec().len() as u64;
        let limits = Limits { max_reports: 100, max_bytes: 3 * one + 10 };
        let (mut spool, _) = Spool::open(tmp.path(), limits).unwrap();
        for s in 1..=3 {
            assert!(spool.push(s, &report(&key, s, 1000)).is_empty());
        }
        assert_eq!(spool.bytes(), 3 * one);
        let w = spool.push(4, &report(&key, 4, 1000));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("coalesced 1 oldest report (sequence 1)"), "{w:?}");
        assert!(w[0].contains(&format!("{} bytes", 3 * one + 10)), "{w:?}");
        assert_eq!(spool.sequences(), [2, 3, 4]);
        assert!(spool.bytes() <= limits.max_bytes);

        // A report larger than the whole bound replaces everything and is kept alone.
        let w = spool.push(5, &report(&key, 5, 5000));
        assert!(w[0].contains("coalesced 3 oldest reports (sequences 2-4)"), "{w:?}");
        assert_eq!(spool.sequences(), [5]);
        assert_eq!(files(tmp.path()), [file_name(5)]);
        assert!(spool.bytes() > limits.max_bytes);
    }

    fn with_body(key: &AgentKey, sequence: u64, body: census_proto::v1::report::Body) -> SignedReport {
        key.sign(&Report {
            agent_id: key.agent_id(),
            sequence,
            collected_at: None,
            agent_version: String::new(),
            body: Some(body),
        })
    }

    #[test]
    fn coalescing_a_full_or_delta_asks_for_a_full_report_and_broken_chains_are_dropped() {
        use census_proto::v1::report::Body;
        let tmp = tempfile::tempdir().unwrap();
        let key = AgentKey::generate().unwrap();
        let full = |s| with_body(&key, s, Body::Full(Default::default()));
        let delta = |s| with_body(&key, s, Body::Delta(Default::default()));
        let limits = Limits { max_reports: 3, max_bytes: Limits::DEFAULT_MAX_BYTES };
        let (mut spool, _) = Spool::open(tmp.path(), limits).unwrap();
        spool.push(1, &full(1));
        spool.push(2, &report(&key, 2, 0));
        spool.push(3, &delta(3));
        assert!(!spool.take_needs_full());
        assert_eq!(spool.kind(1), Some(ReportKind::Full));
        assert_eq!(spool.kind(2), Some(ReportKind::Heartbeat));
        let w = spool.push(4, &delta(4));
        assert!(w[0].ends_with("coalesced 1 oldest report (sequence 1) away; the next report is a full inventory"));
        assert!(spool.take_needs_full());
        assert!(!spool.take_needs_full(), "taken once");
        // Kinds survive a reopen.
        let (mut spool, _) = Spool::open(tmp.path(), Limits::default()).unwrap();
        assert_eq!(spool.kind(3), Some(ReportKind::Delta));
        spool.push(5, &report(&key, 5, 0));
        spool.push(6, &full(6));
        spool.push(7, &delta(7));
        // Delta 3 is refused: 3 and 4 go (heartbeat 5 stays), the chain resumes at full 6.
        assert_eq!(spool.drop_chain(3), (vec![3, 4], true));
        assert_eq!(spool.sequences(), [2, 5, 6, 7]);
        // Delta 7 is refused: nothing full after it.
        assert_eq!(spool.drop_chain(7), (vec![7], false));
        assert_eq!(spool.sequences(), [2, 5, 6]);
    }

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("67108864"), Ok(64 << 20));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64 mib"), Ok(64 << 20));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("2MB"), Ok(2_000_000));
        assert_eq!(parse_size("100B"), Ok(100));
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("1.5MiB").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert!(parse_size("99999999999999GiB").is_err());
        assert_eq!(human_bytes(64 << 20), "64 MiB");
        assert_eq!(human_bytes(1536), "1536 bytes");
        assert_eq!(human_bytes(2048), "2 KiB");
    }
}
