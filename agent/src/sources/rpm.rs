//! Red Hat family packages (Fedora, RHEL and its rebuilds, openSUSE, ...) from the rpm database.
//!
//! Where: the SQLite database `usr/lib/sysimage/rpm/rpmdb.sqlite` (Fedora 36+, openSUSE) is
//! tried first, then `var/lib/rpm/rpmdb.sqlite` (RHEL 9, Fedora 33-35). On Fedora 36+
//! `var/lib/rpm` is a symlink to the first. A path that resolves outside a root other than `/`
//! (an absolute symlink inside a mounted image) is refused with a warning: it would describe the
//! agent's own machine.
//!
//! SQLite is read in-process and strictly read-only: a `file:...?immutable=1` URI opened with
//! `SQLITE_OPEN_READ_ONLY`, so no lock, `-wal` or `-shm` file is created next to the database.
//! `immutable` also means a `-wal` file is not read; SQLite folds it into the database when rpm
//! closes it, so only a transaction running at that very moment is missed (on a live host, a
//! database changed while it is read may also fail with a warning). The rows of
//! `Packages(hnum, blob)` are streamed one at a time, and each blob is parsed by
//! [`parse_header`] in pure Rust.
//!
//! Header rules (rpm's `lib/header.c`): the blob is `il` (index entries) and `dl` (data bytes),
//! big-endian u32 each, then `il` 16-byte entries (tag, type, offset, count), then `dl` bytes of
//! data. As rpm, we refuse more than 0xffff entries, more than 0x0fffffff data bytes, blobs of
//! 256 MiB or more and blobs shorter than `8 + 16 * il + dl` (longer ones are read up to that
//! length). A first entry with a region tag (61 image, 62 signatures, 63 immutable) must point
//! at a 16-byte trailer inside the data that repeats the tag and gives the region's index size;
//! it is checked, never followed further. Every other entry must have a tag of at least 100, a
//! known type, a count of 1..=`dl`, an aligned offset inside the data, data that fits (strings
//! NUL-terminated inside the data area), and must not overlap the previous entry's data or the
//! region trailer. One bad entry makes the whole header unreadable, as it does for rpm. Entries
//! after the region (added at install time) replace region entries with the same tag.
//!
//! Fields: version is `EPOCH:VERSION-RELEASE`, the epoch only when the header has one (rpm
//! prints `(none)` otherwise, which is not epoch 0); `source_package` is the name of the source
//! rpm (`libwidget` for `libwidget-5.2-1.src.rpm`) when it differs from the name; maintainer is
//! the packager; installed size is LONGSIZE, else SIZE. The purl is
//! `pkg:rpm/<os-release ID>/<name>@<version>-<release>?arch=..&distro=..&epoch=..`, without a
//! namespace when os-release gave no ID. Packages are listed sorted by name, version and arch,
//! whatever the database's order.
//!
//! Skipped: `gpg-pubkey` entries. rpm records each imported signing key as such a
//! pseudo-package; they are keys, not installed software.
//!
//! Older databases, Berkeley DB (`Packages`) and NDB (`Packages.db`), in either directory, are
//! not parsed here. When there is no SQLite database but one of those, the agent runs the rpm
//! tool of its own machine, if there is one: `rpm --root ROOT --dbpath DIR --define
//! '_db_backend ...' -qa --queryformat ...`, stopped after 60 seconds, its output read line by
//! line in bounded memory. The explicit backend matters: an rpm that cannot read the format then
//! falls back to a dummy database instead of creating a new empty SQLite database in the root,
//! and listing no packages from a non-empty database is a warning. Without an rpm tool the
//! result is one warning naming the database.
//!
//! No rpm database at all (a Debian host) is silence. A database that cannot be opened is one
//! warning naming it; unreadable headers are counted and skipped, and what could be read is kept.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use census_inventory::{Inventory, OperatingSystem, Package};
use rusqlite::{Connection, OpenFlags};

use super::purl::{distro, purl};
use super::{Source, Warnings};
use crate::host::{BoundedLines, Host, Line, MAX_LINE};

pub struct Rpm;

/// SQLite databases, in the order they are tried.
const SQLITE_DBS: [&str; 2] = ["usr/lib/sysimage/rpm/rpmdb.sqlite", "var/lib/rpm/rpmdb.sqlite"];

/// A database format only the rpm tool reads.
struct Legacy {
    rel: &'static str,
    /// For messages: "berkeley db" or "ndb".
    kind: &'static str,
    /// `--dbpath`, relative to `--root`.
    dbpath: &'static str,
    /// `_db_backend` that reads it.
    backend: &'static str,
}

const LEGACY_DBS: [Legacy; 4] = [
    Legacy { rel: "usr/lib/sysimage/rpm/Packages.db", kind: "ndb", dbpath: "/usr/lib/sysimage/rpm", backend: "ndb" },
    Legacy {
        rel: "usr/lib/sysimage/rpm/Packages",
        kind: "berkeley db",
        dbpath: "/usr/lib/sysimage/rpm",
        backend: "bdb_ro",
    },
    Legacy { rel: "var/lib/rpm/Packages.db", kind: "ndb", dbpath: "/var/lib/rpm", backend: "ndb" },
    Legacy { rel: "var/lib/rpm/Packages", kind: "berkeley db", dbpath: "/var/lib/rpm", backend: "bdb_ro" },
];

/// How long the rpm tool may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// Pseudo-packages rpm makes of imported signing keys.
const GPG_PUBKEY: &str = "gpg-pubkey";

impl Source for Rpm {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn collect(&self, host: &Host, inv: &mut Inventory, w: &mut Warnings<'_>) {
        collect_with(host, inv, w, || Command::new("rpm"), TOOL_TIMEOUT);
    }
}

/// [`Rpm::collect`] with the rpm tool and its timeout injectable (for tests).
fn collect_with(
    host: &Host,
    inv: &mut Inventory,
    w: &mut Warnings<'_>,
    tool: impl FnOnce() -> Command,
    timeout: Duration,
) {
    let mut headers = Vec::new();
    let mut found = false;
    for rel in SQLITE_DBS {
        let Some(path) = locate(host, rel, w) else { continue };
        found = true;
        let mut skipped = 0usize;
        let result = each_header_blob(&path, |blob| match blob.map(parse_header) {
            Some(Ok(h)) => headers.push(h),
            _ => skipped += 1,
        });
        if let Err(e) = result {
            w.push(format!("{rel}: cannot read rpm database: {e}"));
        }
        if skipped > 0 {
            w.push(format!("{rel}: skipped {skipped} unreadable rpm {}", plural(skipped, "header")));
        }
        break;
    }
    if !found {
        for db in &LEGACY_DBS {
            let Some(path) = locate(host, db.rel, w) else { continue };
            headers = read_with_tool(tool(), host.root(), &path, db, timeout, w);
            break;
        }
    }
    let mut packages: Vec<Package> =
        headers.iter().filter(|h| h.name != GPG_PUBKEY).map(|h| to_package(h, &inv.os)).collect();
    packages.sort_by(|a, b| (&a.name, &a.version, &a.arch).cmp(&(&b.name, &b.version, &b.arch)));
    inv.software.extend(packages);
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { word.to_string() } else { format!("{word}s") }
}

/// The path of `rel` under the root when it exists there; absent is silence, anything else a
/// warning.
fn locate(host: &Host, rel: &str, w: &mut Warnings<'_>) -> Option<PathBuf> {
    match host.path(rel).canonicalize() {
        Ok(p) if !host.is_live() && !p.starts_with(host.root()) => {
            w.push(format!("{rel} resolves to {}, outside the root; not read", p.display()));
            None
        }
        Ok(p) => Some(p),
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => None,
        Err(e) => {
            w.push(format!("{rel}: {e}"));
            None
        }
    }
}

/// Largest blob handed to the parser: anything longer breaks rpm's own limits.
const MAX_BLOB: u64 = 8 + 16 * MAX_ENTRIES as u64 + MAX_DATA as u64;

/// Calls `f` with each row's header blob (`None` for a value that is not a blob or is too large),
/// one row at a time, from a SQLite rpm database opened read-only and immutable.
fn each_header_blob(path: &Path, mut f: impl FnMut(Option<&[u8]>)) -> rusqlite::Result<()> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(sqlite_uri(path), flags)?;
    // length() of a blob comes from the record header: an oversized blob is never loaded.
    let mut stmt = conn.prepare(
        "SELECT CASE WHEN typeof(blob) = 'blob' AND length(blob) <= ?1 THEN blob END FROM Packages ORDER BY hnum",
    )?;
    let mut rows = stmt.query([MAX_BLOB as i64])?;
    while let Some(row) = rows.next()? {
        f(row.get_ref(0)?.as_blob().ok());
    }
    Ok(())
}

/// `file:` URI of `path` that opens it immutable; every byte outside a safe set is
/// percent-encoded, so `?`, `#`, `%` and non-UTF-8 names survive.
fn sqlite_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            uri.push(char::from(b));
        } else {
            let _ = write!(uri, "%{b:02X}");
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// Maps a parsed header to the inventory's package; `os` gives the purl namespace and distro.
pub fn to_package(h: &RpmHeader, os: &OperatingSystem) -> Package {
    let version_release = if h.release.is_empty() { h.version.clone() } else { format!("{}-{}", h.version, h.release) };
    let epoch = h.epoch.map(|e| e.to_string()).unwrap_or_default();
    let version = if epoch.is_empty() { version_release.clone() } else { format!("{epoch}:{version_release}") };
    let source_package = source_name(&h.source_rpm);
    Package {
        purl: purl(
            "rpm",
            Some(&os.id),
            &h.name,
            &version_release,
            &[("arch", &h.arch), ("epoch", &epoch), ("distro", &distro(os))],
        ),
        name: h.name.clone(),
        version,
        arch: h.arch.clone(),
        source: "rpm".into(),
        source_package: if source_package == h.name { String::new() } else { source_package.to_string() },
        maintainer: h.packager.clone(),
        vendor: h.vendor.clone(),
        install_time: h.install_time.map(i64::from).unwrap_or(0),
        installed_size_bytes: h.long_size.or(h.size.map(u64::from)).unwrap_or(0),
        ..Package::default()
    }
}

/// The package name in a source rpm file name: `libwidget-5.2-1.fc40.src.rpm` → `libwidget`.
/// A value not shaped `NAME-VERSION-RELEASE.src.rpm` (or `.nosrc.rpm`) is kept whole.
fn source_name(source_rpm: &str) -> &str {
    let Some(nvr) = source_rpm.strip_suffix(".src.rpm").or_else(|| source_rpm.strip_suffix(".nosrc.rpm")) else {
        return source_rpm;
    };
    let mut parts = nvr.rsplitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(_release), Some(_version), Some(name)) if !name.is_empty() => name,
        _ => source_rpm,
    }
}

// ---------------------------------------------------------------------------------------------
// Header blobs

/// The fields census reads from one rpm header. Strings are empty when the tag is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmHeader {
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<u32>,
    pub arch: String,
    pub vendor: String,
    pub packager: String,
    pub source_rpm: String,
    /// Unix seconds.
    pub install_time: Option<u32>,
    pub size: Option<u32>,
    pub long_size: Option<u64>,
}

/// Why a header blob was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("header of {len} bytes is shorter than the {need} bytes it declares")]
    Truncated { len: usize, need: u64 },
    #[error("header declares {0} index entries, more than 65535")]
    TooManyEntries(u32),
    #[error("header declares {0} data bytes, more than 268435455")]
    DataTooLarge(u32),
    #[error("header of {0} bytes reaches rpm's 256 MiB limit")]
    TooLarge(u64),
    #[error("header has no index entries")]
    NoEntries,
    #[error("header region: {0}")]
    BadRegion(&'static str),
    #[error("header entry {index} (tag {tag}, type {ty}, offset {offset}, count {count}): {reason}")]
    BadEntry { index: u32, tag: u32, ty: u32, offset: u32, count: u32, reason: &'static str },
    #[error("header has no {0}")]
    Missing(&'static str),
}

/// rpm's limit on index entries.
pub const MAX_ENTRIES: u32 = 0xffff;
/// rpm's limit on the data area.
pub const MAX_DATA: u32 = 0x0fff_ffff;
/// rpm's limit on a whole header.
const MAX_HEADER: u64 = 256 * 1024 * 1024;
/// rpm's limit on array counts (all types but binary).
const MAX_ARRAY: u32 = 0x000f_ffff;
const ENTRY_LEN: usize = 16;

const TAG_HEADERIMAGE: u32 = 61;
const TAG_HEADERSIGNATURES: u32 = 62;
const TAG_HEADERIMMUTABLE: u32 = 63;
/// Tags below this one are reserved for regions.
const TAG_HEADERI18NTABLE: u32 = 100;
const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_INSTALLTIME: u32 = 1008;
const TAG_SIZE: u32 = 1009;
const TAG_VENDOR: u32 = 1011;
const TAG_PACKAGER: u32 = 1015;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;
const TAG_LONGSIZE: u32 = 5009;

const TYPE_NULL: u32 = 0;
const TYPE_CHAR: u32 = 1;
const TYPE_INT8: u32 = 2;
const TYPE_INT16: u32 = 3;
const TYPE_INT32: u32 = 4;
const TYPE_INT64: u32 = 5;
const TYPE_STRING: u32 = 6;
const TYPE_BIN: u32 = 7;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// One index entry.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u32,
    ty: u32,
    offset: u32,
    count: u32,
}

impl Entry {
    /// The entry at byte `at` of `bytes` (the caller checked that 16 bytes are there).
    fn at(bytes: &[u8], at: usize) -> Self {
        Self { tag: be32(bytes, at), ty: be32(bytes, at + 4), offset: be32(bytes, at + 8), count: be32(bytes, at + 12) }
    }
}

/// Big-endian u32 at `at`; 0 past the end (callers check bounds first).
fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at.saturating_add(4)) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

fn be64(b: &[u8], at: usize) -> u64 {
    (u64::from(be32(b, at)) << 32) | u64::from(be32(b, at.saturating_add(4)))
}

/// Bytes per element, for fixed-size types.
fn type_size(ty: u32) -> Option<u32> {
    match ty {
        TYPE_NULL => Some(0),
        TYPE_CHAR | TYPE_INT8 | TYPE_BIN => Some(1),
        TYPE_INT16 => Some(2),
        TYPE_INT32 => Some(4),
        TYPE_INT64 => Some(8),
        _ => None,
    }
}

fn type_align(ty: u32) -> u32 {
    match ty {
        TYPE_INT16 => 2,
        TYPE_INT32 => 4,
        TYPE_INT64 => 8,
        _ => 1,
    }
}

/// Length of `count` NUL-terminated strings at the start of `bytes`, terminators included;
/// `None` when the data ends first. Never scans past `bytes`, and each round consumes a byte.
fn strings_len(bytes: &[u8], count: u32) -> Option<u32> {
    let mut pos = 0usize;
    for _ in 0..count {
        let nul = bytes.get(pos..)?.iter().position(|&b| b == 0)?;
        pos += nul + 1;
    }
    u32::try_from(pos).ok()
}

/// Bytes of data entry `e` uses, checked against the data area.
fn data_len(e: &Entry, data: &[u8]) -> Option<u32> {
    let rest = data.get(usize::try_from(e.offset).ok()?..)?;
    match e.ty {
        TYPE_STRING if e.count == 1 => strings_len(rest, 1),
        TYPE_STRING => None,
        TYPE_STRING_ARRAY | TYPE_I18NSTRING => strings_len(rest, e.count),
        ty => {
            let len = u64::from(type_size(ty)?) * u64::from(e.count);
            if len > rest.len() as u64 { None } else { u32::try_from(len).ok() }
        }
    }
}

/// The first NUL-terminated string at `offset` (already checked to be there), without the NUL.
fn first_string(data: &[u8], offset: u32) -> String {
    let rest = data.get(offset as usize..).unwrap_or_default();
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end]).into_owned()
}

/// Checks the region tag `first` and its trailer; returns the end of the region's data (the
/// trailer's end), or `None` when the header has no region (an old v3 header).
fn region_end(first: &Entry, data: &[u8], il: u32) -> Result<Option<u32>, HeaderError> {
    if !matches!(first.tag, TAG_HEADERIMAGE | TAG_HEADERSIGNATURES | TAG_HEADERIMMUTABLE) {
        return Ok(None);
    }
    if first.ty != TYPE_BIN || first.count != ENTRY_LEN as u32 {
        return Err(HeaderError::BadRegion("region tag is not a 16-byte binary entry"));
    }
    let trailer_end = u64::from(first.offset) + ENTRY_LEN as u64;
    if trailer_end > data.len() as u64 {
        return Err(HeaderError::BadRegion("region trailer lies outside the data"));
    }
    let trailer = Entry::at(data, first.offset as usize);
    // Some old packages carry the image tag in their signature trailer; rpm accepts that.
    let same_tag = trailer.tag == first.tag || (first.tag == TAG_HEADERSIGNATURES && trailer.tag == TAG_HEADERIMAGE);
    if !same_tag || trailer.ty != TYPE_BIN || trailer.count != ENTRY_LEN as u32 {
        return Err(HeaderError::BadRegion("region trailer does not match the region tag"));
    }
    // The trailer's offset is minus the size of the region's index entries.
    let index_bytes = -i64::from(trailer.offset as i32);
    if index_bytes <= 0 || index_bytes % ENTRY_LEN as i64 != 0 || index_bytes / ENTRY_LEN as i64 > i64::from(il) {
        return Err(HeaderError::BadRegion("region size does not fit the index"));
    }
    Ok(Some(trailer_end as u32))
}

/// Parses one header blob as stored in the rpm database (rpm's exported header, without the
/// 8-byte magic). Pure and bounded: it allocates only the strings it returns, which are copied
/// from `blob`, and each data byte is scanned at most once per entry that claims it.
pub fn parse_header(blob: &[u8]) -> Result<RpmHeader, HeaderError> {
    if blob.len() < 8 {
        return Err(HeaderError::Truncated { len: blob.len(), need: 8 });
    }
    let il = be32(blob, 0);
    let dl = be32(blob, 4);
    if il > MAX_ENTRIES {
        return Err(HeaderError::TooManyEntries(il));
    }
    if dl > MAX_DATA {
        return Err(HeaderError::DataTooLarge(dl));
    }
    let need = 8 + u64::from(il) * ENTRY_LEN as u64 + u64::from(dl);
    if need >= MAX_HEADER {
        return Err(HeaderError::TooLarge(need));
    }
    if (blob.len() as u64) < need {
        return Err(HeaderError::Truncated { len: blob.len(), need });
    }
    if il == 0 {
        return Err(HeaderError::NoEntries);
    }
    // Both fit: need <= blob.len().
    let index_end = 8 + il as usize * ENTRY_LEN;
    let index = &blob[8..index_end];
    let data = &blob[index_end..need as usize];

    let first = Entry::at(index, 0);
    let region = region_end(&first, data, il)?;
    let mut h = RpmHeader::default();
    let mut end = 0u32;
    for i in u32::from(region.is_some())..il {
        let e = Entry::at(index, i as usize * ENTRY_LEN);
        let bad =
            |reason| HeaderError::BadEntry { index: i, tag: e.tag, ty: e.ty, offset: e.offset, count: e.count, reason };
        if e.offset < end {
            return Err(bad("overlaps the previous entry's data"));
        }
        if e.tag < TAG_HEADERI18NTABLE {
            return Err(bad("region tag out of place"));
        }
        if e.ty > TYPE_I18NSTRING {
            return Err(bad("unknown type"));
        }
        if e.count == 0 || e.count > dl {
            return Err(bad("count out of range"));
        }
        if !e.offset.is_multiple_of(type_align(e.ty)) {
            return Err(bad("misaligned offset"));
        }
        if e.offset > dl {
            return Err(bad("offset past the data"));
        }
        if e.ty != TYPE_BIN && e.count > MAX_ARRAY {
            return Err(bad("array too long"));
        }
        let len = data_len(&e, data).ok_or_else(|| bad("data runs past the end"))?;
        if len == 0 {
            return Err(bad("no data"));
        }
        // offset <= dl and len <= dl - offset: no overflow.
        let e_end = e.offset + len;
        if let Some(r_end) = region
            && e_end > r_end - ENTRY_LEN as u32
            && e.offset < r_end
        {
            return Err(bad("overlaps the region trailer"));
        }
        end = e_end;

        let is_string = matches!(e.ty, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING);
        let off = e.offset as usize;
        match e.tag {
            TAG_NAME | TAG_VERSION | TAG_RELEASE | TAG_ARCH | TAG_VENDOR | TAG_PACKAGER | TAG_SOURCERPM => {
                if !is_string {
                    return Err(bad("expected a string"));
                }
                let s = first_string(data, e.offset);
                match e.tag {
                    TAG_NAME => h.name = s,
                    TAG_VERSION => h.version = s,
                    TAG_RELEASE => h.release = s,
                    TAG_ARCH => h.arch = s,
                    TAG_VENDOR => h.vendor = s,
                    TAG_PACKAGER => h.packager = s,
                    _ => h.source_rpm = s,
                }
            }
            TAG_EPOCH | TAG_INSTALLTIME | TAG_SIZE => {
                if e.ty != TYPE_INT32 {
                    return Err(bad("expected a 32-bit integer"));
                }
                let v = Some(be32(data, off));
                match e.tag {
                    TAG_EPOCH => h.epoch = v,
                    TAG_INSTALLTIME => h.install_time = v,
                    _ => h.size = v,
                }
            }
            TAG_LONGSIZE => {
                if e.ty != TYPE_INT64 {
                    return Err(bad("expected a 64-bit integer"));
                }
                h.long_size = Some(be64(data, off));
            }
            _ => {}
        }
    }
    for (value, what) in [(&h.name, "name"), (&h.version, "version"), (&h.release, "release")] {
        if value.is_empty() {
            return Err(HeaderError::Missing(what));
        }
    }
    Ok(h)
}

// ---------------------------------------------------------------------------------------------
// The rpm tool, for Berkeley DB and NDB databases

/// One line per package, tab-separated; absent tags print as empty fields.
pub const QUERY_FORMAT: &str = "%{NAME}\t%|EPOCH?{%{EPOCH}}:{}|\t%{VERSION}\t%{RELEASE}\t%|ARCH?{%{ARCH}}:{}|\t\
%|VENDOR?{%{VENDOR}}:{}|\t%|PACKAGER?{%{PACKAGER}}:{}|\t%|SOURCERPM?{%{SOURCERPM}}:{}|\t\
%|INSTALLTIME?{%{INSTALLTIME}}:{}|\t%|SIZE?{%{SIZE}}:{}|\t%|LONGSIZE?{%{LONGSIZE}}:{}|\n";

/// What [`parse_query_output`] found.
#[derive(Debug, Default)]
pub struct QueryOutput {
    pub headers: Vec<RpmHeader>,
    /// Lines that are too long, have the wrong number of fields or a malformed number.
    pub unreadable: usize,
}

/// Parses `rpm -qa --queryformat` output made with [`QUERY_FORMAT`], in bounded memory.
pub fn parse_query_output(reader: impl BufRead) -> QueryOutput {
    let mut out = QueryOutput::default();
    for line in BoundedLines::new(reader, MAX_LINE) {
        match line {
            Ok(Line::Text(text)) if text.is_empty() => {}
            Ok(Line::Text(text)) => match parse_query_line(&text) {
                Some(h) => out.headers.push(h),
                None => out.unreadable += 1,
            },
            Ok(Line::TooLong { .. }) => out.unreadable += 1,
            Err(_) => {
                out.unreadable += 1;
                break;
            }
        }
    }
    out
}

fn parse_query_line(line: &str) -> Option<RpmHeader> {
    let fields: Vec<&str> = line.splitn(12, '\t').collect();
    let [name, epoch, version, release, arch, vendor, packager, source_rpm, install_time, size, long_size] =
        fields.as_slice()
    else {
        return None;
    };
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    fn number<T: std::str::FromStr>(s: &str) -> Result<Option<T>, T::Err> {
        if s.is_empty() { Ok(None) } else { s.parse().map(Some) }
    }
    Some(RpmHeader {
        name: name.to_string(),
        version: version.to_string(),
        release: release.to_string(),
        epoch: number(epoch).ok()?,
        arch: arch.to_string(),
        vendor: vendor.to_string(),
        packager: packager.to_string(),
        source_rpm: source_rpm.to_string(),
        install_time: number(install_time).ok()?,
        size: number(size).ok()?,
        long_size: number(long_size).ok()?,
    })
}

/// Runs the rpm tool on a database it alone can read, turning every problem into a warning.
fn read_with_tool(
    mut cmd: Command,
    root: &Path,
    path: &Path,
    db: &Legacy,
    timeout: Duration,
    w: &mut Warnings<'_>,
) -> Vec<RpmHeader> {
    let (kind, rel) = (db.kind, db.rel);
    cmd.arg("--root")
        .arg(root)
        .arg("--dbpath")
        .arg(db.dbpath)
        .arg("--define")
        .arg(format!("_db_backend {}", db.backend))
        .arg("-qa")
        .arg("--queryformat")
        .arg(QUERY_FORMAT)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            w.push(format!("{kind} rpm database at {rel} and no rpm tool to read it"));
            return Vec::new();
        }
        Err(e) => {
            w.push(format!("{kind} rpm database at {rel}: cannot run rpm: {e}"));
            return Vec::new();
        }
    };
    let run = run_bounded(child, timeout);
    let output = run.output.unwrap_or_default();
    let stderr = summary(&run.stderr);
    let with_stderr = |what: String| if stderr.is_empty() { what } else { format!("{what}: {stderr}") };
    match run.status {
        None => w.push(format!(
            "{kind} rpm database at {rel}: rpm did not finish within {} s and was stopped",
            timeout.as_secs_f32()
        )),
        Some(s) if !s.success() => w.push(with_stderr(format!("{kind} rpm database at {rel}: rpm -qa failed ({s})"))),
        Some(_) if run.output_lost => {
            w.push(format!("{kind} rpm database at {rel}: rpm output could not be read to its end"))
        }
        Some(_) => {
            let non_empty = std::fs::metadata(path).map(|m| m.len() > 0).unwrap_or(false);
            if output.headers.is_empty() && non_empty {
                w.push(with_stderr(format!("{kind} rpm database at {rel}: rpm listed no packages")));
            }
        }
    }
    if output.unreadable > 0 {
        let n = output.unreadable;
        w.push(format!("{rel}: skipped {n} unreadable {} of rpm output", plural(n, "line")));
    }
    output.headers
}

struct Run {
    /// `None` when the child was stopped at the timeout.
    status: Option<ExitStatus>,
    output: Option<QueryOutput>,
    /// The output reader did not finish (something else kept the pipe open).
    output_lost: bool,
    stderr: Vec<u8>,
}

/// Waits for `child` at most `timeout`, killing it then, while threads parse its stdout and keep
/// the first 4 KiB of its stderr.
fn run_bounded(mut child: Child, timeout: Duration) -> Run {
    let (out_tx, out_rx) = mpsc::channel();
    let (err_tx, err_rx) = mpsc::channel();
    // A thread that cannot be started leaves its pipe unread: the child then blocks and meets
    // the timeout.
    if let Some(stdout) = child.stdout.take() {
        let _ = std::thread::Builder::new().name("rpm-stdout".into()).spawn(move || {
            let _ = out_tx.send(parse_query_output(BufReader::with_capacity(64 * 1024, stdout)));
        });
    }
    if let Some(mut stderr) = child.stderr.take() {
        let _ = std::thread::Builder::new().name("rpm-stderr".into()).spawn(move || {
            let mut kept = Vec::new();
            let _ = (&mut stderr).take(4096).read_to_end(&mut kept);
            let _ = io::copy(&mut stderr, &mut io::sink());
            let _ = err_tx.send(kept);
        });
    }
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            // Timed out, or cannot tell: stop it.
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    // The pipes close when the child is gone, unless a process it started still holds them:
    // then give up on the rest rather than wait for it.
    let grace = Duration::from_secs(5);
    let output = out_rx.recv_timeout(grace).ok();
    let stderr = err_rx.recv_timeout(grace).unwrap_or_default();
    Run { output_lost: output.is_none() && status.is_some(), status, output, stderr }
}

/// rpm's error lines (or all its lines when none says `error:`) on one line, shortened.
fn summary(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let errors: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with("error:")).collect();
    let mut s = if errors.is_empty() { lines.join("; ") } else { errors.join("; ") };
    if s.chars().count() > 300 {
        s = s.chars().take(300).collect::<String>() + "...";
    }
    s
}

#[cfg(test)]
mod tests {
    use census_inventory::Warning;

    use super::*;
    use crate::sources::{collect_one, fixture, os::Os};

    const FEDORA: &str = "rpm-fedora40";
    const FEDORA_DB: &str = "usr/lib/sysimage/rpm/rpmdb.sqlite";

    /// Runs the os source (for the purl namespace and distro), then rpm with `tool`.
    fn run(host: &Host, tool: impl FnOnce() -> Command, timeout: Duration) -> (Inventory, Vec<Warning>) {
        let mut inv = Inventory::default();
        let mut os_warnings = Vec::new();
        Os.collect(host, &mut inv, &mut Warnings { source: "os", out: &mut os_warnings });
        let mut warnings = Vec::new();
        collect_with(host, &mut inv, &mut Warnings { source: "rpm", out: &mut warnings }, tool, timeout);
        (inv, warnings)
    }

    fn no_tool() -> Command {
        Command::new("/nonexistent/census-test-rpm")
    }

    /// A shell script standing in for rpm (run through sh, so no executable file is written).
    fn fake_rpm(script: &str) -> impl FnOnce() -> Command {
        let script = script.to_string();
        move || {
            let mut c = Command::new("sh");
            c.arg("-c").arg(script);
            c
        }
    }

    fn messages(warnings: &[Warning]) -> Vec<&str> {
        warnings.iter().map(|w| w.message.as_str()).collect()
    }

    fn rpm_tool_version() -> Result<String, String> {
        match Command::new("rpm").arg("--version").output() {
            Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
            Ok(o) => Err(format!("rpm --version failed ({})", o.status)),
            Err(e) => Err(format!("no rpm tool here ({e})")),
        }
    }

    /// The header blobs of the Fedora fixture, gpg-pubkey included.
    fn fixture_blobs() -> Vec<Vec<u8>> {
        let path = fixture(FEDORA).path(FEDORA_DB);
        let mut blobs = Vec::new();
        each_header_blob(&path, |b| blobs.push(b.unwrap().to_vec())).unwrap();
        blobs
    }

    /// A root holding a copy of the fixture database at `rel`.
    fn root_with_db(rel: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(fixture(FEDORA).path(FEDORA_DB), &dest).unwrap();
        dir
    }

    fn fedora_packages() -> Vec<Package> {
        let p = |name: &str, version: &str, arch: &str, install_time, size, purl: &str| Package {
            name: name.into(),
            version: version.into(),
            arch: arch.into(),
            source: "rpm".into(),
            install_time,
            installed_size_bytes: size,
            purl: purl.into(),
            ..Package::default()
        };
        vec![
            Package {
                maintainer: "Acme Builders <builders@acme.example>".into(),
                ..p(
                    "acme-agent",
                    "2:1.4.0-3.fc40",
                    "x86_64",
                    1714564800, // 2024-05-01 12:00:00 UTC
                    26,
                    "pkg:rpm/fedora/acme-agent@1.4.0-3.fc40?arch=x86_64&distro=fedora-40&epoch=2",
                )
            },
            Package {
                source_package: "libwidget".into(),
                vendor: "Widget Corp".into(),
                ..p(
                    "libwidget-tools",
                    "5.2~rc1-0.2.fc40",
                    "x86_64",
                    1714758310, // 2024-05-03 17:45:10 UTC
                    3000,
                    "pkg:rpm/fedora/libwidget-tools@5.2~rc1-0.2.fc40?arch=x86_64&distro=fedora-40",
                )
            },
            p(
                "snapshot-utils",
                "0.9^20240105git1a2b3c-1.fc40",
                "noarch",
                1714638600, // 2024-05-02 08:30:00 UTC
                9,
                "pkg:rpm/fedora/snapshot-utils@0.9%5E20240105git1a2b3c-1.fc40?arch=noarch&distro=fedora-40",
            ),
        ]
    }

    fn tree(root: &Path) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                out.push(format!("{} {}", path.strip_prefix(root).unwrap().display(), meta.len()));
                if meta.is_dir() {
                    walk(&path, root, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(root, root, &mut out);
        out.sort();
        out
    }

    #[test]
    fn fedora_fixture_every_field() {
        let host = fixture(FEDORA);
        let before = tree(host.root());
        let (inv, warnings) = run(&host, no_tool, TOOL_TIMEOUT);
        assert_eq!(warnings, vec![]);
        // gpg-pubkey (an imported key) is in the database and not in the inventory.
        assert_eq!(inv.software, fedora_packages());
        assert_eq!(tree(host.root()), before, "reading must not create -wal, -shm or lock files");
    }

    #[test]
    fn fixture_headers_parse_as_rpm_shows_them() {
        let headers: Vec<RpmHeader> = fixture_blobs().iter().map(|b| parse_header(b).unwrap()).collect();
        let names: Vec<&str> = headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["acme-agent", "snapshot-utils", "libwidget-tools", "gpg-pubkey"]);
        let acme = &headers[0];
        assert_eq!(acme.epoch, Some(2));
        assert_eq!(acme.source_rpm, "acme-agent-1.4.0-3.fc40.src.rpm");
        assert_eq!((acme.size, acme.long_size), (Some(26), None));
        assert_eq!(headers[2].source_rpm, "libwidget-5.2~rc1-0.2.fc40.src.rpm");
        let key = &headers[3];
        // rpm writes the literal "(none)" as the source rpm of an imported key.
        assert_eq!((key.arch.as_str(), key.source_rpm.as_str(), key.epoch), ("", "(none)", None));
    }

    #[test]
    fn parse_matches_the_rpm_tool() {
        let version = match rpm_tool_version() {
            Ok(v) => v,
            Err(why) => return println!("skipped: {why}"),
        };
        // A copy: rpm opens the database read-write and leaves -wal and -shm files.
        let root = root_with_db("var/lib/rpm/rpmdb.sqlite");
        let fmt = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{VENDOR}\\t%{PACKAGER}\\t%{SOURCERPM}\\t\
                   %{INSTALLTIME}\\t%{SIZE}\\n";
        let out = Command::new("rpm")
            .arg("--root")
            .arg(root.path())
            .args(["--dbpath", "/var/lib/rpm", "--define", "_db_backend sqlite", "-qa", "--queryformat", fmt])
            .env("LC_ALL", "C")
            .output()
            .unwrap();
        assert!(out.status.success(), "{version}: {}", String::from_utf8_lossy(&out.stderr));
        let mut theirs: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(String::from).collect();
        let none = |s: &str| if s.is_empty() { "(none)".to_string() } else { s.to_string() };
        let num = |n: Option<u32>| n.map_or("(none)".to_string(), |n| n.to_string());
        let mut ours: Vec<String> = fixture_blobs()
            .iter()
            .map(|b| {
                let h = parse_header(b).unwrap();
                [
                    h.name,
                    num(h.epoch),
                    h.version,
                    h.release,
                    none(&h.arch),
                    none(&h.vendor),
                    none(&h.packager),
                    none(&h.source_rpm),
                    num(h.install_time),
                    num(h.size),
                ]
                .join("\t")
            })
            .collect();
        theirs.sort();
        ours.sort();
        assert_eq!(ours.len(), 4);
        assert_eq!(ours, theirs, "compared with {version}");
    }

    #[test]
    fn older_location_and_no_os_release() {
        let root = root_with_db("var/lib/rpm/rpmdb.sqlite");
        let (inv, warnings) = run(&Host::open(root.path()).unwrap(), no_tool, TOOL_TIMEOUT);
        assert_eq!(warnings, vec![]);
        let purls: Vec<&str> = inv.software.iter().map(|p| p.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:rpm/acme-agent@1.4.0-3.fc40?arch=x86_64&epoch=2",
                "pkg:rpm/libwidget-tools@5.2~rc1-0.2.fc40?arch=x86_64",
                "pkg:rpm/snapshot-utils@0.9%5E20240105git1a2b3c-1.fc40?arch=noarch",
            ],
            "without an os-release ID the purl has no namespace"
        );
    }

    #[test]
    fn root_path_with_uri_characters() {
        let parent = tempfile::tempdir().unwrap();
        let root = parent.path().join("a b?c#d%20e&f=g");
        let dest = root.join(FEDORA_DB);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(fixture(FEDORA).path(FEDORA_DB), &dest).unwrap();
        let (inv, warnings) = collect_one(&Rpm, &Host::open(&root).unwrap());
        assert_eq!(warnings, vec![]);
        assert_eq!(inv.software.len(), 3);
        assert_eq!(sqlite_uri(Path::new("/x y/%?#é")), "file:/x%20y/%25%3F%23%C3%A9?immutable=1");
    }

    #[test]
    fn absolute_symlink_is_resolved_inside_the_root() {
        // var/lib/rpm -> /<elsewhere>/rpm: as in a chroot, the absolute target is looked up under
        // the root, where it does not exist, so the database elsewhere on this machine is not read.
        let elsewhere = root_with_db("rpm/rpmdb.sqlite");
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("var/lib")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join("rpm"), root.path().join("var/lib/rpm")).unwrap();
        let (inv, warnings) = collect_one(&Rpm, &Host::open(root.path()).unwrap());
        assert!(inv.software.is_empty());
        assert_eq!(warnings, vec![]);
    }

    #[test]
    fn corrupt_database_is_one_warning() {
        let root = tempfile::tempdir().unwrap();
        let db = root.path().join("var/lib/rpm/rpmdb.sqlite");
        std::fs::create_dir_all(db.parent().unwrap()).unwrap();
        let mut x: u32 = 0x2545_f491;
        let noise: Vec<u8> = (0..8192)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        std::fs::write(&db, &noise).unwrap();
        let host = Host::open(root.path()).unwrap();
        let (inv, warnings) = collect_one(&Rpm, &host);
        assert!(inv.software.is_empty());
        assert_eq!(messages(&warnings), ["var/lib/rpm/rpmdb.sqlite: cannot read rpm database: file is not a database"]);

        // An empty file is an empty SQLite database without the table.
        std::fs::write(&db, b"").unwrap();
        let (inv, warnings) = collect_one(&Rpm, &host);
        assert!(inv.software.is_empty());
        assert_eq!(
            messages(&warnings),
            ["var/lib/rpm/rpmdb.sqlite: cannot read rpm database: no such table: Packages"]
        );

        // Cut short: whatever SQLite makes of it, no panic, and every warning names the file.
        let whole = std::fs::read(fixture(FEDORA).path(FEDORA_DB)).unwrap();
        for len in [100, 512, 4096, whole.len() / 2, whole.len() - 512] {
            std::fs::write(&db, &whole[..len]).unwrap();
            let (_, warnings) = collect_one(&Rpm, &host);
            assert!(!warnings.is_empty(), "cut at {len}");
            assert!(warnings.iter().all(|w| w.message.starts_with("var/lib/rpm/rpmdb.sqlite: ")), "{warnings:?}");
        }
        assert!(!root.path().join("var/lib/rpm/rpmdb.sqlite-wal").exists());
    }

    #[test]
    fn bad_rows_are_counted_and_skipped() {
        let root = tempfile::tempdir().unwrap();
        let db = root.path().join(FEDORA_DB);
        std::fs::create_dir_all(db.parent().unwrap()).unwrap();
        {
            let conn = Connection::open(&db).unwrap();
            conn.execute_batch("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
                .unwrap();
            let mut blobs = fixture_blobs();
            let mut cut = blobs[0].clone();
            cut.truncate(cut.len() - 1);
            blobs.insert(1, cut);
            blobs.insert(2, b"\0\0\0\x01\0\0\0\x10garbage".to_vec());
            for b in &blobs {
                conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [b]).unwrap();
            }
            conn.execute("INSERT INTO Packages (blob) VALUES ('text, not a blob')", []).unwrap();
        }
        let (inv, warnings) = run(&Host::open(root.path()).unwrap(), no_tool, TOOL_TIMEOUT);
        assert_eq!(messages(&warnings), [format!("{FEDORA_DB}: skipped 3 unreadable rpm headers")]);
        let names: Vec<&str> = inv.software.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["acme-agent", "libwidget-tools", "snapshot-utils"]);
    }

    #[test]
    fn no_rpm_database_is_silent() {
        let (inv, warnings) = run(&fixture("debian12"), no_tool, TOOL_TIMEOUT);
        assert!(inv.software.is_empty());
        assert_eq!(warnings, vec![]);
    }

    #[test]
    fn sqlite_wins_over_older_formats() {
        let root = root_with_db("var/lib/rpm/rpmdb.sqlite");
        std::fs::write(root.path().join("var/lib/rpm/Packages"), b"old berkeley db").unwrap();
        let (inv, warnings) = run(&Host::open(root.path()).unwrap(), no_tool, TOOL_TIMEOUT);
        assert_eq!(warnings, vec![], "the rpm tool is not needed");
        assert_eq!(inv.software.len(), 3);
    }

    // ---- older formats through the rpm tool

    fn legacy_root(rel: &str) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"not read by census itself").unwrap();
        root
    }

    #[test]
    fn older_format_without_rpm_tool_is_one_warning() {
        for (rel, message) in [
            ("var/lib/rpm/Packages", "berkeley db rpm database at var/lib/rpm/Packages and no rpm tool to read it"),
            (
                "usr/lib/sysimage/rpm/Packages.db",
                "ndb rpm database at usr/lib/sysimage/rpm/Packages.db and no rpm tool to read it",
            ),
        ] {
            let root = legacy_root(rel);
            let (inv, warnings) = run(&Host::open(root.path()).unwrap(), no_tool, TOOL_TIMEOUT);
            assert!(inv.software.is_empty());
            assert_eq!(messages(&warnings), [message]);
        }
    }

    #[test]
    fn rpm_tool_gets_root_dbpath_backend_and_format() {
        let root = legacy_root("var/lib/rpm/Packages.db");
        let args = root.path().join("args");
        let tool = move || {
            let mut c = Command::new("sh");
            c.arg("-c").arg(r#"printf '%s\n' "$@" > "$ARGS_FILE""#).arg("rpm").env("ARGS_FILE", &args);
            c
        };
        let host = Host::open(root.path()).unwrap();
        let (_, warnings) = run(&host, tool, TOOL_TIMEOUT);
        assert_eq!(messages(&warnings), ["ndb rpm database at var/lib/rpm/Packages.db: rpm listed no packages"]);
        let got = std::fs::read_to_string(root.path().join("args")).unwrap();
        let want = format!(
            "--root\n{}\n--dbpath\n/var/lib/rpm\n--define\n_db_backend ndb\n-qa\n--queryformat\n{QUERY_FORMAT}\n",
            host.root().display()
        );
        assert_eq!(got, want);
    }

    #[test]
    fn rpm_tool_output_is_mapped_and_bad_lines_counted() {
        let root = legacy_root("var/lib/rpm/Packages");
        let script = r#"
            printf 'bash\t\t5.1.8\t9.el9\tx86_64\tRed Hat, Inc.\tRed Hat, Inc. <http://bugzilla.redhat.com/bugzilla>\tbash-5.1.8-9.el9.src.rpm\t1700000000\t7738634\t7738634\n'
            printf 'gpg-pubkey\t\tfd431d51\t4ae0493b\t\t\tRed Hat, Inc. (release key 2) <security@redhat.com>\t\t1700000001\t0\t0\n'
            printf 'openssl-libs\t1\t3.0.7\t27.el9\tx86_64\t\t\topenssl-3.0.7-27.el9.src.rpm\t\t\t\n'
            printf 'short\tline\n'
            printf 'badnum\t\t1\t1\tx86_64\t\t\t\tyesterday\t1\t1\n'
            printf '\n'
        "#;
        let (inv, warnings) = run(&Host::open(root.path()).unwrap(), fake_rpm(script), TOOL_TIMEOUT);
        assert_eq!(messages(&warnings), ["var/lib/rpm/Packages: skipped 2 unreadable lines of rpm output"]);
        assert_eq!(
            inv.software,
            [
                Package {
                    name: "bash".into(),
                    version: "5.1.8-9.el9".into(),
                    arch: "x86_64".into(),
                    source: "rpm".into(),
                    maintainer: "Red Hat, Inc. <http://bugzilla.redhat.com/bugzilla>".into(),
                    vendor: "Red Hat, Inc.".into(),
                    install_time: 1700000000,
                    installed_size_bytes: 7738634,
                    purl: "pkg:rpm/bash@5.1.8-9.el9?arch=x86_64".into(),
                    ..Package::default()
                },
                Package {
                    name: "openssl-libs".into(),
                    version: "1:3.0.7-27.el9".into(),
                    arch: "x86_64".into(),
                    source: "rpm".into(),
                    source_package: "openssl".into(),
                    purl: "pkg:rpm/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1".into(),
                    ..Package::default()
                },
            ]
        );
    }

    #[test]
    fn rpm_tool_failure_keeps_its_error() {
        let root = legacy_root("var/lib/rpm/Packages");
        let script = "echo 'warning: Found bdb_ro Packages database' >&2; \
                      echo 'error: cannot open Packages database in /x/var/lib/rpm' >&2; exit 1";
        let (inv, warnings) = run(&Host::open(root.path()).unwrap(), fake_rpm(script), TOOL_TIMEOUT);
        assert!(inv.software.is_empty());
        assert_eq!(
            messages(&warnings),
            ["berkeley db rpm database at var/lib/rpm/Packages: rpm -qa failed (exit status: 1): \
                 error: cannot open Packages database in /x/var/lib/rpm"]
        );
    }

    #[test]
    fn rpm_tool_is_stopped_at_the_timeout() {
        let root = legacy_root("var/lib/rpm/Packages");
        let script = "printf 'early\\t\\t1\\t1\\tnoarch\\t\\t\\t\\t\\t\\t\\n'; exec sleep 30";
        let start = Instant::now();
        let (inv, warnings) = run(&Host::open(root.path()).unwrap(), fake_rpm(script), Duration::from_secs(2));
        assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
        assert_eq!(
            messages(&warnings),
            ["berkeley db rpm database at var/lib/rpm/Packages: rpm did not finish within 2 s and was stopped"]
        );
        let names: Vec<&str> = inv.software.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["early"], "what was read before the timeout is kept");
    }

    #[test]
    fn centos7_berkeley_db_fixture() {
        let host = fixture("rpm-centos7");
        let (inv, warnings) = run(&host, || Command::new("rpm"), TOOL_TIMEOUT);
        match rpm_tool_version() {
            Ok(version) => {
                assert_eq!(warnings, vec![], "{version}");
                let want: Vec<Package> = fedora_packages()
                    .into_iter()
                    .map(|mut p| {
                        p.purl = p.purl.replace("pkg:rpm/fedora/", "pkg:rpm/centos/").replace("fedora-40", "centos-7");
                        p
                    })
                    .collect();
                assert_eq!(inv.software, want, "{version}");
            }
            Err(why) => {
                println!("rpm tool: {why}");
                assert!(inv.software.is_empty());
                assert_eq!(
                    messages(&warnings),
                    ["berkeley db rpm database at var/lib/rpm/Packages and no rpm tool to read it"]
                );
            }
        }
        assert_eq!(tree(host.root()).len(), 6, "{:?}", tree(host.root()));
    }

    #[test]
    fn query_output_lines() {
        let long = format!("{}\tx\n", "n".repeat(MAX_LINE + 1));
        let text = format!(
            "a\t0\t1\t2\t\t\t\t\t\t\t\n{long}a\t-1\t1\t2\t\t\t\t\t\t\t\n\ta\t1\t2\t\t\t\t\t\t\t\nb\t\t1\t\t\t\t\t\t\t\t\n"
        );
        let out = parse_query_output(io::Cursor::new(text));
        assert_eq!(out.unreadable, 4, "too long, negative epoch, no name, no release");
        assert_eq!(out.headers.len(), 1);
        assert_eq!(out.headers[0].epoch, Some(0));
        assert_eq!(to_package(&out.headers[0], &OperatingSystem::default()).version, "0:1-2");
    }

    // ---- mapping

    #[test]
    fn version_source_package_size_and_purl() {
        let os = OperatingSystem { id: "rhel".into(), version: "9.4".into(), ..Default::default() };
        let h = RpmHeader {
            name: "kernel-core".into(),
            version: "5.14.0".into(),
            release: "427.el9".into(),
            epoch: Some(0),
            arch: "x86_64".into(),
            source_rpm: "kernel-5.14.0-427.el9.src.rpm".into(),
            size: Some(1),
            long_size: Some(5_000_000_000),
            ..Default::default()
        };
        let p = to_package(&h, &os);
        assert_eq!(p.version, "0:5.14.0-427.el9", "epoch 0 is an epoch");
        assert_eq!(p.source_package, "kernel");
        assert_eq!(p.installed_size_bytes, 5_000_000_000, "LONGSIZE wins over SIZE");
        assert_eq!(p.purl, "pkg:rpm/rhel/kernel-core@5.14.0-427.el9?arch=x86_64&distro=rhel-9.4&epoch=0");
        assert_eq!(p.install_time, 0);

        assert_eq!(source_name("libwidget-5.2~rc1-0.2.fc40.src.rpm"), "libwidget");
        assert_eq!(source_name("pkg-with-dashes-1.0-1.nosrc.rpm"), "pkg-with-dashes");
        assert_eq!(source_name("odd-1.src.rpm"), "odd-1.src.rpm", "no release: kept whole");
        assert_eq!(source_name("something"), "something");
        assert_eq!(source_name(""), "");
    }

    // ---- hand-made headers

    /// Builds header blobs: entries point into a data area built alongside.
    #[derive(Default, Clone)]
    struct Hdr {
        entries: Vec<[u32; 4]>,
        data: Vec<u8>,
        /// Region tag and trailer offset, once sealed.
        region: Option<(u32, u32)>,
    }

    impl Hdr {
        fn package() -> Self {
            Self::default().string(TAG_NAME, "pkg").string(TAG_VERSION, "1.0").string(TAG_RELEASE, "1")
        }
        fn entry(mut self, tag: u32, ty: u32, offset: u32, count: u32) -> Self {
            self.entries.push([tag, ty, offset, count]);
            self
        }
        fn align(&mut self, n: usize) {
            while !self.data.len().is_multiple_of(n) {
                self.data.push(0);
            }
        }
        fn here(&self) -> u32 {
            self.data.len() as u32
        }
        fn strings(mut self, tag: u32, ty: u32, items: &[&str]) -> Self {
            let off = self.here();
            for s in items {
                self.data.extend_from_slice(s.as_bytes());
                self.data.push(0);
            }
            self.entry(tag, ty, off, items.len() as u32)
        }
        fn string(self, tag: u32, s: &str) -> Self {
            self.strings(tag, TYPE_STRING, &[s])
        }
        fn int32(mut self, tag: u32, v: u32) -> Self {
            self.align(4);
            let off = self.here();
            self.data.extend_from_slice(&v.to_be_bytes());
            self.entry(tag, TYPE_INT32, off, 1)
        }
        fn int64(mut self, tag: u32, v: u64) -> Self {
            self.align(8);
            let off = self.here();
            self.data.extend_from_slice(&v.to_be_bytes());
            self.entry(tag, TYPE_INT64, off, 1)
        }
        fn raw(mut self, bytes: &[u8]) -> Self {
            self.data.extend_from_slice(bytes);
            self
        }
        /// Closes the region over the entries so far; later entries are dribbles.
        fn seal(mut self, tag: u32) -> Self {
            let ril = self.entries.len() as i32 + 1;
            let off = self.here();
            for v in [tag, TYPE_BIN, (-ril * 16) as u32, 16] {
                self.data.extend_from_slice(&v.to_be_bytes());
            }
            self.region = Some((tag, off));
            self
        }
        fn build(&self) -> Vec<u8> {
            let mut entries = Vec::new();
            if let Some((tag, off)) = self.region {
                entries.push([tag, TYPE_BIN, off, 16]);
            }
            entries.extend_from_slice(&self.entries);
            let mut out = Vec::new();
            out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
            out.extend_from_slice(&(self.data.len() as u32).to_be_bytes());
            for e in &entries {
                for v in e {
                    out.extend_from_slice(&v.to_be_bytes());
                }
            }
            out.extend_from_slice(&self.data);
            out
        }
        fn parse(&self) -> Result<RpmHeader, HeaderError> {
            parse_header(&self.build())
        }
    }

    fn bad_entry(r: Result<RpmHeader, HeaderError>) -> &'static str {
        match r {
            Err(HeaderError::BadEntry { reason, .. }) => reason,
            other => panic!("expected a bad entry, got {other:?}"),
        }
    }

    fn bad_region(r: Result<RpmHeader, HeaderError>) -> &'static str {
        match r {
            Err(HeaderError::BadRegion(reason)) => reason,
            other => panic!("expected a bad region, got {other:?}"),
        }
    }

    #[test]
    fn hand_made_header_with_every_field() {
        let h = Hdr::package()
            .int32(TAG_EPOCH, 7)
            .int32(TAG_INSTALLTIME, 1)
            .int32(TAG_SIZE, 10)
            .strings(TAG_VENDOR, TYPE_I18NSTRING, &["Vendor", "Vendeur"])
            .strings(TAG_PACKAGER, TYPE_STRING_ARRAY, &["Packager <p@example.org>"])
            .string(TAG_ARCH, "aarch64")
            .string(TAG_SOURCERPM, "pkg-1.0-1.src.rpm")
            .int64(TAG_LONGSIZE, 1 << 40)
            .seal(TAG_HEADERIMMUTABLE)
            // Added at install time, after the region: replaces the region's INSTALLTIME.
            .int32(TAG_INSTALLTIME, 1714564800);
        let want = RpmHeader {
            name: "pkg".into(),
            version: "1.0".into(),
            release: "1".into(),
            epoch: Some(7),
            arch: "aarch64".into(),
            vendor: "Vendor".into(),
            packager: "Packager <p@example.org>".into(),
            source_rpm: "pkg-1.0-1.src.rpm".into(),
            install_time: Some(1714564800),
            size: Some(10),
            long_size: Some(1 << 40),
        };
        assert_eq!(h.parse(), Ok(want.clone()));
        // Bytes after the declared length are not part of the header.
        let mut longer = h.build();
        longer.extend_from_slice(b"trailing");
        assert_eq!(parse_header(&longer), Ok(want));
        // An old v3 header has no region at all.
        assert_eq!(Hdr::package().parse().unwrap().name, "pkg");
        // Unknown tags of every type are checked and ignored.
        let mut h = Hdr::package();
        h.align(2);
        let at = h.here();
        let h = h.raw(&[1, 0, 0, 2]).entry(1100, TYPE_CHAR, at, 1).entry(1101, TYPE_INT16, at + 2, 1);
        assert_eq!(h.parse().unwrap().version, "1.0");
    }

    #[test]
    fn empty_short_and_huge_declarations() {
        assert_eq!(parse_header(&[]), Err(HeaderError::Truncated { len: 0, need: 8 }));
        assert_eq!(parse_header(&[0; 7]), Err(HeaderError::Truncated { len: 7, need: 8 }));
        assert_eq!(parse_header(&[0; 8]), Err(HeaderError::NoEntries));
        let head = |il: u32, dl: u32| [il.to_be_bytes(), dl.to_be_bytes()].concat();
        assert_eq!(parse_header(&head(0x1_0000, 0)), Err(HeaderError::TooManyEntries(0x1_0000)));
        assert_eq!(parse_header(&head(u32::MAX, u32::MAX)), Err(HeaderError::TooManyEntries(u32::MAX)));
        assert_eq!(parse_header(&head(1, 0x1000_0000)), Err(HeaderError::DataTooLarge(0x1000_0000)));
        assert_eq!(parse_header(&head(0xffff, 0x0fff_ffff)), Err(HeaderError::TooLarge(8 + 0xffff * 16 + 0x0fff_ffff)));
        assert_eq!(parse_header(&head(0xffff, 0)), Err(HeaderError::Truncated { len: 8, need: 8 + 0xffff * 16 }));
        assert_eq!(parse_header(&head(1, 0x0f00_0000)), Err(HeaderError::Truncated { len: 8, need: 24 + 0x0f00_0000 }));
        assert_eq!(Hdr::default().string(TAG_NAME, "pkg").parse(), Err(HeaderError::Missing("version")));
        assert_eq!(Hdr::default().string(TAG_VERSION, "1").parse(), Err(HeaderError::Missing("name")));
        let no_release = Hdr::default().string(TAG_NAME, "pkg").string(TAG_VERSION, "1").string(TAG_RELEASE, "");
        assert_eq!(no_release.parse(), Err(HeaderError::Missing("release")));
    }

    #[test]
    fn every_cut_of_a_real_header_is_refused() {
        for blob in fixture_blobs() {
            assert!(parse_header(&blob).is_ok());
            for len in 0..blob.len() {
                assert!(parse_header(&blob[..len]).is_err(), "cut at {len} of {}", blob.len());
            }
            // A data length one short makes the last entries run past the data.
            let mut shorter = blob.clone();
            let dl = be32(&blob, 4) - 1;
            shorter[4..8].copy_from_slice(&dl.to_be_bytes());
            assert!(parse_header(&shorter).is_err());
        }
    }

    #[test]
    fn entries_are_checked_against_the_data() {
        let pkg = Hdr::package();
        let dl = pkg.here();
        assert_eq!(bad_entry(pkg.clone().entry(1100, TYPE_CHAR, dl + 1, 1).parse()), "offset past the data");
        assert_eq!(bad_entry(pkg.clone().entry(1100, TYPE_BIN, 0xffff_fff0, 1).parse()), "offset past the data");
        assert_eq!(bad_entry(pkg.clone().entry(1100, TYPE_BIN, dl, 1).parse()), "data runs past the end");
        assert_eq!(bad_entry(pkg.clone().entry(1100, TYPE_BIN, dl, 0xffff_ffff).parse()), "count out of range");
        assert_eq!(bad_entry(pkg.clone().entry(1100, TYPE_BIN, dl, 0).parse()), "count out of range");
        assert_eq!(bad_entry(pkg.clone().entry(1100, 10, dl, 1).parse()), "unknown type");
        assert_eq!(bad_entry(pkg.clone().entry(1100, 0xffff_ffff, dl, 1).parse()), "unknown type");
        assert_eq!(bad_entry(pkg.clone().raw(&[0]).entry(1100, TYPE_NULL, dl, 1).parse()), "no data");
        // 12 bytes of data: three INT32 fit, four do not.
        let mut ints = Hdr::package();
        ints.align(8);
        let at = ints.here();
        let ints = ints.raw(&[0; 12]);
        assert!(ints.clone().entry(1100, TYPE_INT32, at, 3).parse().is_ok());
        assert_eq!(bad_entry(ints.clone().entry(1100, TYPE_INT32, at, 4).parse()), "data runs past the end");
        assert_eq!(bad_entry(ints.clone().entry(1100, TYPE_INT32, at + 1, 1).parse()), "misaligned offset");
        assert_eq!(bad_entry(ints.clone().entry(1100, TYPE_INT64, at + 4, 1).parse()), "misaligned offset");
        // A string without its NUL at the end of the data.
        let unterminated = Hdr::package().raw(b"abc").entry(TAG_ARCH, TYPE_STRING, dl, 1);
        assert_eq!(bad_entry(unterminated.parse()), "data runs past the end");
        let mut name_cut = Hdr::default().string(TAG_NAME, "pkg");
        name_cut.data.pop();
        assert_eq!(bad_entry(name_cut.parse()), "data runs past the end");
        // Three strings claimed, two present; a STRING must have count 1.
        let arr = Hdr::package().strings(TAG_VENDOR, TYPE_STRING_ARRAY, &["a", "b"]);
        let mut three = arr.clone();
        three.entries.last_mut().unwrap()[3] = 3;
        assert_eq!(bad_entry(three.parse()), "data runs past the end");
        let two = Hdr::package().raw(b"a\0b\0").entry(TAG_ARCH, TYPE_STRING, dl, 2);
        assert_eq!(bad_entry(two.parse()), "data runs past the end");
        // Overlapping and out-of-order entries, as rpm refuses them.
        assert_eq!(
            bad_entry(pkg.clone().entry(TAG_ARCH, TYPE_STRING, 0, 1).parse()),
            "overlaps the previous entry's data"
        );
        // Our tags with the wrong type.
        assert_eq!(bad_entry(Hdr::package().int32(TAG_ARCH, 1).parse()), "expected a string");
        assert_eq!(bad_entry(Hdr::package().string(TAG_EPOCH, "1").parse()), "expected a 32-bit integer");
        assert_eq!(bad_entry(Hdr::package().int32(TAG_LONGSIZE, 1).parse()), "expected a 64-bit integer");
        assert_eq!(bad_entry(Hdr::package().int64(TAG_SIZE, 1).parse()), "expected a 32-bit integer");
    }

    #[test]
    fn region_tags_are_checked_not_followed() {
        let sealed = Hdr::package().seal(TAG_HEADERIMMUTABLE);
        assert!(sealed.parse().is_ok());
        let blob = sealed.build();
        let with_region_entry = |tag: u32, ty: u32, offset: u32, count: u32| {
            let mut b = blob.clone();
            for (i, v) in [tag, ty, offset, count].into_iter().enumerate() {
                b[8 + 4 * i..12 + 4 * i].copy_from_slice(&v.to_be_bytes());
            }
            parse_header(&b)
        };
        let trailer = sealed.region.unwrap().1;
        assert!(with_region_entry(TAG_HEADERIMMUTABLE, TYPE_BIN, trailer, 16).is_ok());
        let outside = "region trailer lies outside the data";
        assert_eq!(bad_region(with_region_entry(TAG_HEADERIMMUTABLE, TYPE_BIN, trailer + 1, 16)), outside);
        assert_eq!(bad_region(with_region_entry(TAG_HEADERIMMUTABLE, TYPE_BIN, 0xffff_fff0, 16)), outside);
        assert_eq!(bad_region(with_region_entry(TAG_HEADERIMMUTABLE, TYPE_BIN, u32::MAX, 16)), outside);
        let not_bin = "region tag is not a 16-byte binary entry";
        assert_eq!(bad_region(with_region_entry(TAG_HEADERIMMUTABLE, TYPE_STRING, trailer, 16)), not_bin);
        assert_eq!(bad_region(with_region_entry(TAG_HEADERIMMUTABLE, TYPE_BIN, trailer, 15)), not_bin);
        let mismatch = "region trailer does not match the region tag";
        assert_eq!(bad_region(with_region_entry(TAG_HEADERIMAGE, TYPE_BIN, trailer, 16)), mismatch);
        // Pointing the region tag at other data makes that data its "trailer".
        assert_eq!(bad_region(with_region_entry(TAG_HEADERIMMUTABLE, TYPE_BIN, 0, 16)), mismatch);

        // Trailer sizes: not a multiple of 16, larger than the index, zero, positive.
        let with_trailer_size = |size: i32| {
            let mut h = Hdr::package().seal(TAG_HEADERSIGNATURES);
            let at = h.region.unwrap().1 as usize + 8;
            h.data[at..at + 4].copy_from_slice(&(-size).to_be_bytes());
            h.parse()
        };
        assert!(with_trailer_size(4 * 16).is_ok());
        assert!(with_trailer_size(16).is_ok(), "a region may cover fewer entries than the index");
        let size = "region size does not fit the index";
        for bad in [4 * 16 + 1, 5 * 16, 0, -16, i32::MIN + 1] {
            assert_eq!(bad_region(with_trailer_size(bad)), size, "{bad}");
        }
        let mut min = Hdr::package().seal(TAG_HEADERSIGNATURES);
        let at = min.region.unwrap().1 as usize + 8;
        min.data[at..at + 4].copy_from_slice(&i32::MIN.to_be_bytes());
        assert_eq!(bad_region(min.parse()), size);

        // Old signature headers carry the image tag in their trailer.
        let mut sig = Hdr::package().seal(TAG_HEADERSIGNATURES);
        let at = sig.region.unwrap().1 as usize;
        sig.data[at..at + 4].copy_from_slice(&TAG_HEADERIMAGE.to_be_bytes());
        assert!(sig.parse().is_ok());

        // A region tag anywhere but first, and data over the trailer.
        let late = Hdr::package().entry(TAG_HEADERIMMUTABLE, TYPE_BIN, 0, 16);
        assert_eq!(bad_entry(late.parse()), "overlaps the previous entry's data");
        let late = Hdr::package().raw(&[0; 16]).entry(TAG_HEADERIMMUTABLE, TYPE_BIN, sealed.here(), 16);
        assert_eq!(bad_entry(late.parse()), "region tag out of place");
        let over = Hdr::package().seal(TAG_HEADERIMMUTABLE);
        let trailer = over.region.unwrap().1;
        let over = over.entry(1100, TYPE_BIN, trailer + 4, 4);
        assert_eq!(bad_entry(over.parse()), "overlaps the region trailer");
    }

    #[test]
    fn hostile_counts_fail_fast_without_big_allocations() {
        // 65535 entries all claiming a million strings in 1 MiB without a NUL: the first entry
        // scans the data once and fails; nothing is sized from the counts.
        let mut h = Hdr::default().raw(&vec![b'x'; 1 << 20]);
        for i in 0..0xffff {
            h = h.entry(1000 + i, TYPE_STRING_ARRAY, 0, 0xf_ffff);
        }
        let start = Instant::now();
        assert_eq!(bad_entry(h.parse()), "data runs past the end");
        assert!(start.elapsed() < Duration::from_secs(5));
        // Every entry pointing at the same string: refused at the second one.
        let mut h = Hdr::package();
        for _ in 0..1000 {
            h = h.entry(1100, TYPE_STRING, 0, 1);
        }
        assert_eq!(bad_entry(h.parse()), "overlaps the previous entry's data");
        // Accepted strings are copies of blob bytes, never more.
        for blob in fixture_blobs() {
            let h = parse_header(&blob).unwrap();
            let strings = [&h.name, &h.version, &h.release, &h.arch, &h.vendor, &h.packager, &h.source_rpm];
            assert!(strings.iter().map(|s| s.len()).sum::<usize>() <= blob.len());
            assert!(strings.iter().all(|s| !s.contains('\0')));
        }
    }
}
