//! SMBIOS from the raw tables the kernel exposes: `sys/firmware/dmi/tables/smbios_entry_point`
//! and `sys/firmware/dmi/tables/DMI` (both readable only by root).
//!
//! Rules:
//! - The entry point is either the 31-byte SMBIOS 2.x one (`_SM_`, with the legacy `_DMI_`
//!   intermediate part), the 24-byte SMBIOS 3.x one (`_SM3_`) or a bare legacy `_DMI_` one. It
//!   gives the version and bounds the table: 2.x states the exact table length and structure
//!   count, 3.x a maximum size. Without an entry point the whole table is walked and the
//!   version is taken to be 2.6 or later (the UUID byte order).
//! - A structure is a 4-byte header (type, length, handle), the rest of its formatted area,
//!   then a string set ended by two NULs. The walk stops at type 127 (end of table), at the
//!   table's bound, at the entry point's structure count, or at the first structure that cannot
//!   be delimited (length below 4, formatted area past the end, no string-set terminator). What
//!   was decoded before stays; every stop short of the end is a warning. Each iteration moves
//!   forward by at least six bytes, so the walk ends.
//! - A string reference of 0 is "no string" (`None`, dmidecode's "Not Specified"); one past the
//!   set is a warning and `None`. Strings have control characters replaced by `.` as dmidecode
//!   prints them, invalid UTF-8 replaced, and surrounding whitespace trimmed.
//! - Fields a structure is too short to hold (older SMBIOS versions) are `None`.
//! - Values that identify a machine (system, baseboard, chassis and memory serials, asset tags,
//!   the system UUID) are [`Identifier`]s flagged `generic` when they are firmware placeholders
//!   ([`is_generic`], [`is_generic_uuid`]) and so identify nothing.
//! - Texts (UUID, chassis and memory type names, memory sizes and speeds) are the ones Debian's
//!   `dmidecode` prints, so the two can be compared.
//!
//! Warnings are lowercase, name the file, and are capped at [`MAX_WARNINGS`] (plus one line
//! counting the rest) so a hostile table cannot flood the report.

use std::fmt;
use std::io;

use crate::host::Host;

/// The entry point file under the root.
pub const ENTRY_POINT: &str = "sys/firmware/dmi/tables/smbios_entry_point";
/// The structure table file under the root.
pub const TABLE: &str = "sys/firmware/dmi/tables/DMI";
/// Largest table read (1 MiB; a 3.x table may state up to 4 GiB, real ones are a few KiB).
pub const MAX_TABLE: u64 = 1024 * 1024;
/// Largest entry point read; real ones are 24 or 31 bytes.
const MAX_ENTRY_POINT: u64 = 4096;
/// Warnings kept from one parse; the rest are counted in one more line.
pub const MAX_WARNINGS: usize = 32;

/// Which entry point format was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryPointKind {
    /// `_SM_`, SMBIOS 2.1 to 2.8 (31 bytes).
    Smbios2,
    /// `_SM3_`, SMBIOS 3.0 and later (24 bytes).
    Smbios3,
    /// A bare `_DMI_` (15 bytes), pre-SMBIOS-2.1 DMI.
    Legacy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPoint {
    pub kind: EntryPointKind,
    pub major: u8,
    pub minor: u8,
    /// The 3.x docrev; 0 for the others.
    pub docrev: u8,
    /// 2.x and legacy: the table's exact length. 3.x: its maximum size.
    pub table_len: u32,
    /// 2.x and legacy: the number of structures in the table.
    pub structure_count: Option<u16>,
    /// Physical address of the table as the firmware states it (not an offset in the DMI file).
    pub table_address: u64,
}

impl EntryPoint {
    /// True when the SMBIOS version is at least `major.minor`.
    pub fn at_least(&self, major: u8, minor: u8) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

/// A value that may identify the machine, and whether it is a firmware placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    pub value: String,
    /// True for placeholders ("To Be Filled By O.E.M.", "0000000000", an all-zero UUID, ...).
    pub generic: bool,
}

impl Identifier {
    pub fn new(value: String) -> Self {
        let generic = is_generic(&value);
        Self { value, generic }
    }

    fn uuid(value: String) -> Self {
        let generic = is_generic_uuid(&value);
        Self { value, generic }
    }
}

/// Type 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bios {
    pub vendor: Option<String>,
    pub version: Option<String>,
    pub release_date: Option<String>,
}

/// Type 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct System {
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub version: Option<String>,
    pub serial: Option<Identifier>,
    /// Lowercase 8-4-4-4-12 text as dmidecode prints it; from SMBIOS 2.6 on, the first three
    /// fields are stored little-endian and printed swapped.
    pub uuid: Option<Identifier>,
    pub sku: Option<String>,
    pub family: Option<String>,
}

/// Type 2.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseboard {
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub version: Option<String>,
    pub serial: Option<Identifier>,
    pub asset_tag: Option<Identifier>,
}

/// Type 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chassis {
    pub manufacturer: Option<String>,
    /// The type code without the lock bit.
    pub kind: u8,
    /// The type as dmidecode names it ("Notebook", "Rack Mount Chassis", "<OUT OF SPEC>").
    pub kind_name: &'static str,
    pub version: Option<String>,
    pub serial: Option<Identifier>,
    pub asset_tag: Option<Identifier>,
    pub sku: Option<String>,
}

/// Type 4.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Processor {
    pub socket: Option<String>,
    pub manufacturer: Option<String>,
    pub version: Option<String>,
    /// Status bit 6: a processor sits in the socket.
    pub populated: bool,
    /// Counts are `None` when absent or 0 (unknown); 2.5 byte fields, or the 3.0 word fields
    /// when the byte says 0xFF.
    pub core_count: Option<u16>,
    pub core_enabled: Option<u16>,
    pub thread_count: Option<u16>,
    /// Maximum speed in MHz; `None` when unknown (0).
    pub max_speed_mhz: Option<u16>,
}

/// The size of a memory device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemorySize {
    NotInstalled,
    Unknown,
    Bytes(u64),
}

impl fmt::Display for MemorySize {
    /// As dmidecode prints it: the largest unit, or the two largest units folded into the
    /// smaller one when both are non-zero ("16 GB", "1536 MB").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = match *self {
            Self::NotInstalled => return f.write_str("No Module Installed"),
            Self::Unknown => return f.write_str("Unknown"),
            Self::Bytes(b) => b,
        };
        const UNITS: [&str; 7] = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
        let chunk = |i: usize| if i == UNITS.len() - 1 { bytes >> (10 * i) } else { (bytes >> (10 * i)) & 1023 };
        let top = (0..UNITS.len()).rev().find(|&i| chunk(i) != 0).unwrap_or(0);
        if top > 0 && chunk(top - 1) != 0 {
            write!(f, "{} {}", (chunk(top) << 10) + chunk(top - 1), UNITS[top - 1])
        } else {
            write!(f, "{} {}", chunk(top), UNITS[top])
        }
    }
}

/// Type 17.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryDevice {
    pub locator: Option<String>,
    pub bank_locator: Option<String>,
    pub size: MemorySize,
    /// The memory type code (0, "<OUT OF SPEC>", when the structure is too short to hold one).
    pub kind: u8,
    /// The type as dmidecode names it ("DDR4", "Unknown", "<OUT OF SPEC>").
    pub kind_name: &'static str,
    /// The form factor as dmidecode names it ("DIMM", "SODIMM", "<OUT OF SPEC>").
    pub form_factor: &'static str,
    /// Maximum speed in MT/s; `None` when unknown.
    pub speed_mts: Option<u32>,
    /// Configured speed in MT/s; `None` when unknown.
    pub configured_speed_mts: Option<u32>,
    pub manufacturer: Option<String>,
    pub serial: Option<Identifier>,
    pub asset_tag: Option<Identifier>,
    pub part_number: Option<String>,
}

/// What one table held. Everything decoded before a problem is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Smbios {
    pub entry_point: Option<EntryPoint>,
    /// The first type 0 structure.
    pub bios: Option<Bios>,
    /// The first type 1 structure.
    pub system: Option<System>,
    pub baseboards: Vec<Baseboard>,
    pub chassis: Vec<Chassis>,
    pub processors: Vec<Processor>,
    pub memory_devices: Vec<MemoryDevice>,
    /// Structures walked, of any type.
    pub structures: usize,
    /// True when the walk reached a type 127 structure.
    pub end_of_table: bool,
    /// Problems met, each naming its file; at most [`MAX_WARNINGS`] + 1.
    pub warnings: Vec<String>,
}

/// Reads and parses the raw tables under `host`'s root. `None` when the kernel exposes no table
/// (no warning: the caller falls back to `sys/class/dmi/id`) or it cannot be read (one warning,
/// "... is readable only by root" when permission is denied). The parse's warnings are moved
/// into the returned list.
pub fn read(host: &Host) -> (Option<Smbios>, Vec<String>) {
    let mut warnings = Vec::new();
    let table = match host.read_limited(TABLE, MAX_TABLE) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return (None, warnings),
        Err(e) => {
            warnings.push(read_error(TABLE, &e));
            return (None, warnings);
        }
    };
    let entry_point = match host.read_limited(ENTRY_POINT, MAX_ENTRY_POINT) {
        Ok(ep) => Some(ep),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            warnings.push(format!("{ENTRY_POINT} is missing: table read without its version and length"));
            None
        }
        Err(e) => {
            warnings.push(read_error(ENTRY_POINT, &e));
            None
        }
    };
    let mut smbios = parse(entry_point.as_deref(), &table);
    warnings.append(&mut smbios.warnings);
    (Some(smbios), warnings)
}

/// The warning for a file that exists but could not be read.
fn read_error(rel: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => format!("{rel} is readable only by root"),
        _ => format!("{rel}: {e}"),
    }
}

/// Parses an entry point (when there is one) and the structure table it describes. Never
/// panics; a malformed input gives what could be decoded plus warnings.
pub fn parse(entry_point: Option<&[u8]>, table: &[u8]) -> Smbios {
    let mut w = Warnings::default();
    let ep = entry_point.and_then(|ep| parse_entry_point(ep, &mut w));
    let mut out = Smbios::default();
    let limit = table_limit(ep.as_ref(), table.len(), &mut w);
    // UUID byte order: swapped from 2.6 on; no entry point means a modern table.
    let swap_uuid = ep.as_ref().is_none_or(|ep| ep.at_least(2, 6));
    let max_count = ep.as_ref().and_then(|ep| ep.structure_count).filter(|&n| n > 0);
    let table = &table[..limit];
    let mut off = 0;
    while off < table.len() {
        if max_count.is_some_and(|n| out.structures >= usize::from(n)) {
            break;
        }
        let Some(s) = Structure::at(table, off, &mut w) else { break };
        out.structures += 1;
        decode(&s, swap_uuid, &mut out, &mut w);
        if s.kind == 127 {
            out.end_of_table = true;
            break;
        }
        match s.next {
            Some(next) => off = next,
            None => break,
        }
    }
    out.entry_point = ep;
    out.warnings = w.finish();
    out
}

/// Splits a `dmidecode --dump-bin` file into the entry point and the table as the kernel
/// exposes them: the entry point at offset 0 (its stated length), the table at the offset its
/// address field holds (0x20 in dmidecode's dumps), as long as the entry point states (clipped
/// to the file). `None` when there is no known anchor or the address is outside the file.
pub fn split_dump(dump: &[u8]) -> Option<(&[u8], &[u8])> {
    let (ep_len, address, len) = if dump.starts_with(b"_SM3_") {
        (usize::from(*dump.get(6)?).max(0x18), le_u64(dump, 0x10)?, u64::from(le_u32(dump, 0x0C)?))
    } else if dump.starts_with(b"_SM_") {
        (usize::from(*dump.get(5)?).max(0x1F), u64::from(le_u32(dump, 0x18)?), u64::from(le_u16(dump, 0x16)?))
    } else if dump.starts_with(b"_DMI_") {
        (0x0F, u64::from(le_u32(dump, 0x08)?), u64::from(le_u16(dump, 0x06)?))
    } else {
        return None;
    };
    let ep = dump.get(..ep_len)?;
    let start = usize::try_from(address).ok().filter(|&a| a <= dump.len())?;
    let end = usize::try_from(address.saturating_add(len)).unwrap_or(usize::MAX).min(dump.len());
    Some((ep, &dump[start..end]))
}

/// True for values firmware writes when it has nothing real to say: empty or blank, the
/// well-known placeholders ("To Be Filled By O.E.M.", "Default string", "System Serial Number",
/// "Not Specified", "None", "0123456789", ...; compared ignoring case and surrounding
/// whitespace), and values made of one repeated character ("00000000", "XXXXXXX"; separators
/// `-`, `.`, `:`, `_` and spaces ignored).
pub fn is_generic(value: &str) -> bool {
    const PLACEHOLDERS: &[&str] = &[
        "to be filled by o.e.m.",
        "to be filled by o.e.m",
        "default string",
        "default",
        "system serial number",
        "chassis serial number",
        "base board serial number",
        "baseboard serial number",
        "serial number",
        "not specified",
        "not applicable",
        "not available",
        "not present",
        "not settable",
        "n/a",
        "na",
        "none",
        "unknown",
        "invalid",
        "oem",
        "o.e.m.",
        "0123456789",
        "123456789",
        "1234567890",
        "01234567890",
        "asset-1234567890",
        "asset tag",
        "no asset tag",
        "no asset information",
        "sys-1234567890",
        "chassis asset tag",
        "base board asset tag",
    ];
    let v = value.trim();
    if PLACEHOLDERS.iter().any(|p| v.eq_ignore_ascii_case(p)) {
        return true;
    }
    let mut significant = v.chars().filter(|c| !matches!(c, '-' | '.' | ':' | '_') && !c.is_whitespace());
    match significant.next() {
        None => true,
        Some(first) => significant.all(|c| c.eq_ignore_ascii_case(&first)),
    }
}

/// True for UUIDs that identify nothing: all zeros or all `F` (hex digits compared, separators
/// and case ignored), dmidecode's "Not Settable" and "Not Present", or text that is not 32 hex
/// digits.
pub fn is_generic_uuid(value: &str) -> bool {
    let digits: Vec<char> = value.chars().filter(|c| *c != '-' && !c.is_whitespace()).collect();
    if digits.len() != 32 || !digits.iter().all(char::is_ascii_hexdigit) {
        return true;
    }
    digits.iter().all(|&c| c == '0') || digits.iter().all(|c| c.eq_ignore_ascii_case(&'f'))
}

/// The UUID text dmidecode prints (lowercase); `swap` stores the first three fields
/// little-endian (SMBIOS 2.6 and later).
pub fn format_uuid(b: &[u8; 16], swap: bool) -> String {
    let order: [usize; 16] =
        if swap { [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15] } else { std::array::from_fn(|i| i) };
    let mut s = String::with_capacity(36);
    for (n, &i) in order.iter().enumerate() {
        if matches!(n, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{:02x}", b[i]));
    }
    s
}

/// The chassis type name dmidecode prints for `code` (lock bit removed).
pub fn chassis_type_name(code: u8) -> &'static str {
    const NAMES: [&str; 36] = [
        "Other",
        "Unknown",
        "Desktop",
        "Low Profile Desktop",
        "Pizza Box",
        "Mini Tower",
        "Tower",
        "Portable",
        "Laptop",
        "Notebook",
        "Hand Held",
        "Docking Station",
        "All In One",
        "Sub Notebook",
        "Space-saving",
        "Lunch Box",
        "Main Server Chassis",
        "Expansion Chassis",
        "Sub Chassis",
        "Bus Expansion Chassis",
        "Peripheral Chassis",
        "RAID Chassis",
        "Rack Mount Chassis",
        "Sealed-case PC",
        "Multi-system",
        "CompactPCI",
        "AdvancedTCA",
        "Blade",
        "Blade Enclosing",
        "Tablet",
        "Convertible",
        "Detachable",
        "IoT Gateway",
        "Embedded PC",
        "Mini PC",
        "Stick PC",
    ];
    usize::from(code & 0x7F).checked_sub(1).and_then(|i| NAMES.get(i)).copied().unwrap_or("<OUT OF SPEC>")
}

/// The memory type name dmidecode prints for `code`.
pub fn memory_type_name(code: u8) -> &'static str {
    const NAMES: [&str; 35] = [
        "Other",
        "Unknown",
        "DRAM",
        "EDRAM",
        "VRAM",
        "SRAM",
        "RAM",
        "ROM",
        "Flash",
        "EEPROM",
        "FEPROM",
        "EPROM",
        "CDRAM",
        "3DRAM",
        "SDRAM",
        "SGRAM",
        "RDRAM",
        "DDR",
        "DDR2",
        "DDR2 FB-DIMM",
        "Reserved",
        "Reserved",
        "Reserved",
        "DDR3",
        "FBD2",
        "DDR4",
        "LPDDR",
        "LPDDR2",
        "LPDDR3",
        "LPDDR4",
        "Logical non-volatile device",
        "HBM",
        "HBM2",
        "DDR5",
        "LPDDR5",
    ];
    usize::from(code).checked_sub(1).and_then(|i| NAMES.get(i)).copied().unwrap_or("<OUT OF SPEC>")
}

/// Bounded warning list.
#[derive(Default)]
struct Warnings {
    list: Vec<String>,
    dropped: usize,
}

impl Warnings {
    fn push(&mut self, message: String) {
        if self.list.len() < MAX_WARNINGS {
            self.list.push(message);
        } else {
            self.dropped += 1;
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.dropped > 0 {
            self.list.push(format!("{TABLE}: {} more warnings not shown", self.dropped));
        }
        self.list
    }
}

fn le_u16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off.checked_add(2)?)?.try_into().ok()?))
}

fn le_u32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off.checked_add(4)?)?.try_into().ok()?))
}

fn le_u64(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off.checked_add(8)?)?.try_into().ok()?))
}

/// 8-bit sum of `b` is zero.
fn checksum_ok(b: &[u8]) -> bool {
    b.iter().fold(0u8, |a, &x| a.wrapping_add(x)) == 0
}

fn parse_entry_point(ep: &[u8], w: &mut Warnings) -> Option<EntryPoint> {
    let short = |w: &mut Warnings, kind: &str, need: usize| {
        w.push(format!("{ENTRY_POINT}: {kind} entry point is {} bytes, shorter than {need}", ep.len()));
    };
    if ep.starts_with(b"_SM3_") {
        if ep.len() < 0x18 {
            short(w, "smbios 3", 0x18);
            return None;
        }
        let stated = usize::from(ep[6]);
        if stated < 0x18 || stated > ep.len() {
            w.push(format!("{ENTRY_POINT}: smbios 3 entry point states a length of {stated} bytes"));
        }
        if !checksum_ok(&ep[..stated.clamp(0x18, ep.len())]) {
            w.push(format!("{ENTRY_POINT}: smbios 3 entry point checksum is wrong"));
        }
        return Some(EntryPoint {
            kind: EntryPointKind::Smbios3,
            major: ep[7],
            minor: ep[8],
            docrev: ep[9],
            table_len: le_u32(ep, 0x0C)?,
            structure_count: None,
            table_address: le_u64(ep, 0x10)?,
        });
    }
    if ep.starts_with(b"_SM_") {
        if ep.len() < 0x1F {
            short(w, "smbios 2", 0x1F);
            return None;
        }
        // 0x1E is a known firmware mistake for 2.1 that dmidecode also accepts.
        let stated = usize::from(ep[5]);
        if !(0x1E..=ep.len()).contains(&stated) {
            w.push(format!("{ENTRY_POINT}: smbios 2 entry point states a length of {stated} bytes"));
        }
        if !checksum_ok(&ep[..stated.clamp(0x1E, ep.len())]) {
            w.push(format!("{ENTRY_POINT}: smbios 2 entry point checksum is wrong"));
        }
        if &ep[0x10..0x15] != b"_DMI_" || !checksum_ok(&ep[0x10..0x1F]) {
            w.push(format!("{ENTRY_POINT}: smbios 2 entry point has a bad _DMI_ part"));
        }
        return Some(EntryPoint {
            kind: EntryPointKind::Smbios2,
            major: ep[6],
            minor: ep[7],
            docrev: 0,
            table_len: u32::from(le_u16(ep, 0x16)?),
            structure_count: Some(le_u16(ep, 0x1C)?),
            table_address: u64::from(le_u32(ep, 0x18)?),
        });
    }
    if ep.starts_with(b"_DMI_") {
        if ep.len() < 0x0F {
            short(w, "dmi", 0x0F);
            return None;
        }
        if !checksum_ok(&ep[..0x0F]) {
            w.push(format!("{ENTRY_POINT}: dmi entry point checksum is wrong"));
        }
        return Some(EntryPoint {
            kind: EntryPointKind::Legacy,
            major: ep[0x0E] >> 4,
            minor: ep[0x0E] & 0x0F,
            docrev: 0,
            table_len: u32::from(le_u16(ep, 0x06)?),
            structure_count: Some(le_u16(ep, 0x0C)?),
            table_address: u64::from(le_u32(ep, 0x08)?),
        });
    }
    w.push(format!("{ENTRY_POINT}: no _SM3_, _SM_ or _DMI_ anchor; table walked without it"));
    None
}

/// How many bytes of the table to walk.
fn table_limit(ep: Option<&EntryPoint>, have: usize, w: &mut Warnings) -> usize {
    let Some(ep) = ep else { return have };
    let stated = usize::try_from(ep.table_len).unwrap_or(usize::MAX);
    if stated == 0 {
        if have > 0 {
            w.push(format!("{ENTRY_POINT}: states a table length of 0; the whole table is walked"));
        }
        return have;
    }
    if stated > have && ep.kind != EntryPointKind::Smbios3 {
        // 3.x states a maximum, so a shorter table is fine there.
        w.push(format!("{TABLE}: table is {have} bytes, the entry point states {stated}; table truncated"));
    }
    stated.min(have)
}

/// One structure, delimited.
struct Structure<'a> {
    kind: u8,
    handle: u16,
    /// The formatted area, header included.
    data: &'a [u8],
    strings: Vec<&'a [u8]>,
    /// Offset of the following structure; `None` when this one has no string-set terminator.
    next: Option<usize>,
}

impl<'a> Structure<'a> {
    /// The structure at `off` (< `table.len()`), or `None` with a warning when it cannot be
    /// delimited. A missing string-set terminator still gives the structure (strings up to the
    /// end of the table), with `next` `None`.
    fn at(table: &'a [u8], off: usize, w: &mut Warnings) -> Option<Self> {
        let rest = &table[off..];
        if rest.len() < 4 {
            w.push(format!("{TABLE}: {} stray bytes at offset {off:#x}, too few for a structure header", rest.len()));
            return None;
        }
        let (kind, len, handle) = (rest[0], usize::from(rest[1]), u16::from_le_bytes([rest[2], rest[3]]));
        if len < 4 {
            w.push(format!(
                "{TABLE}: structure type {kind} at offset {off:#x} has length {len}, below its 4-byte header"
            ));
            return None;
        }
        if len > rest.len() {
            w.push(format!(
                "{TABLE}: structure type {kind} at offset {off:#x} is {len} bytes, past the end of the table"
            ));
            return None;
        }
        let set = &rest[len..];
        let (area, next) = match set.windows(2).position(|p| p == [0, 0]) {
            Some(end) => (&set[..end], Some(off + len + end + 2)),
            None => {
                w.push(format!("{TABLE}: structure type {kind} at offset {off:#x} has no string-set terminator"));
                (set, None)
            }
        };
        // An empty string ends the set (a set that starts with a NUL holds nothing), as a
        // reader following the strings one after the other would see it.
        let strings = area.split(|&b| b == 0).take_while(|s| !s.is_empty()).collect();
        Some(Self { kind, handle, data: &rest[..len], strings, next })
    }

    fn byte(&self, off: usize) -> Option<u8> {
        self.data.get(off).copied()
    }

    fn word(&self, off: usize) -> Option<u16> {
        le_u16(self.data, off)
    }

    fn dword(&self, off: usize) -> Option<u32> {
        le_u32(self.data, off)
    }

    /// The string the byte at `off` refers to.
    fn string(&self, off: usize, w: &mut Warnings) -> Option<String> {
        let index = usize::from(self.byte(off)?);
        if index == 0 {
            return None;
        }
        match self.strings.get(index - 1) {
            Some(s) => Some(clean(s)),
            None => {
                w.push(format!(
                    "{TABLE}: structure type {} handle {:#06x} refers to string {index} of {}",
                    self.kind,
                    self.handle,
                    self.strings.len()
                ));
                None
            }
        }
    }

    fn identifier(&self, off: usize, w: &mut Warnings) -> Option<Identifier> {
        self.string(off, w).map(Identifier::new)
    }
}

/// A string as dmidecode prints it (control characters as `.`), trimmed.
fn clean(raw: &[u8]) -> String {
    let s: String = String::from_utf8_lossy(raw).chars().map(|c| if c.is_control() { '.' } else { c }).collect();
    s.trim().to_string()
}

fn decode(s: &Structure<'_>, swap_uuid: bool, out: &mut Smbios, w: &mut Warnings) {
    match s.kind {
        0 if out.bios.is_none() => {
            out.bios = Some(Bios { vendor: s.string(4, w), version: s.string(5, w), release_date: s.string(8, w) });
        }
        1 if out.system.is_none() => {
            let uuid = s.data.get(8..24).and_then(|b| <[u8; 16]>::try_from(b).ok());
            out.system = Some(System {
                manufacturer: s.string(4, w),
                product: s.string(5, w),
                version: s.string(6, w),
                serial: s.identifier(7, w),
                uuid: uuid.map(|b| Identifier::uuid(format_uuid(&b, swap_uuid))),
                sku: s.string(0x19, w),
                family: s.string(0x1A, w),
            });
        }
        2 => out.baseboards.push(Baseboard {
            manufacturer: s.string(4, w),
            product: s.string(5, w),
            version: s.string(6, w),
            serial: s.identifier(7, w),
            asset_tag: s.identifier(8, w),
        }),
        3 => {
            let kind = s.byte(5).unwrap_or(2) & 0x7F;
            // The SKU follows the contained elements: count at 0x13, record length at 0x14.
            let sku_at = match (s.byte(0x13), s.byte(0x14)) {
                (Some(n), Some(m)) => Some(0x15 + usize::from(n) * usize::from(m)),
                _ => None,
            };
            out.chassis.push(Chassis {
                manufacturer: s.string(4, w),
                kind,
                kind_name: chassis_type_name(kind),
                version: s.string(6, w),
                serial: s.identifier(7, w),
                asset_tag: s.identifier(8, w),
                sku: sku_at.and_then(|at| s.string(at, w)),
            });
        }
        4 => {
            // A byte count of 0xFF defers to the 3.0 word at `wide`; 0 means unknown.
            let count = |narrow: usize, wide: usize| -> Option<u16> {
                let n = s.byte(narrow)?;
                let v = if n == 0xFF { s.word(wide).unwrap_or(0xFF) } else { u16::from(n) };
                Some(v).filter(|&v| v != 0)
            };
            out.processors.push(Processor {
                socket: s.string(4, w),
                manufacturer: s.string(7, w),
                version: s.string(0x10, w),
                populated: s.byte(0x18).is_some_and(|b| b & 0x40 != 0),
                core_count: count(0x23, 0x2A),
                core_enabled: count(0x24, 0x2C),
                thread_count: count(0x25, 0x2E),
                max_speed_mhz: s.word(0x14).filter(|&v| v != 0),
            });
        }
        17 => out.memory_devices.push(memory_device(s, w)),
        _ => {}
    }
}

fn memory_device(s: &Structure<'_>, w: &mut Warnings) -> MemoryDevice {
    let size = match s.word(0x0C) {
        None | Some(0xFFFF) => MemorySize::Unknown,
        Some(0) => MemorySize::NotInstalled,
        Some(0x7FFF) if s.data.len() >= 0x20 => match s.dword(0x1C) {
            Some(mb) => MemorySize::Bytes(u64::from(mb & 0x7FFF_FFFF) << 20),
            None => MemorySize::Unknown,
        },
        Some(v) if v & 0x8000 != 0 => MemorySize::Bytes(u64::from(v & 0x7FFF) << 10),
        Some(v) => MemorySize::Bytes(u64::from(v) << 20),
    };
    // A word of 0xFFFF defers to the 3.3 dword at `wide`; 0 means unknown.
    let speed = |narrow: usize, wide: usize| -> Option<u32> {
        let v = s.word(narrow)?;
        let v = if v == 0xFFFF { s.dword(wide).filter(|&d| d != 0).unwrap_or(0xFFFF) } else { u32::from(v) };
        Some(v).filter(|&v| v != 0)
    };
    let kind = s.byte(0x12).unwrap_or(0);
    MemoryDevice {
        locator: s.string(0x10, w),
        bank_locator: s.string(0x11, w),
        size,
        kind,
        kind_name: memory_type_name(kind),
        form_factor: s.byte(0x0E).map_or("<OUT OF SPEC>", form_factor_name),
        speed_mts: speed(0x15, 0x54),
        configured_speed_mts: speed(0x20, 0x58),
        manufacturer: s.string(0x17, w),
        serial: s.identifier(0x18, w),
        asset_tag: s.identifier(0x19, w),
        part_number: s.string(0x1A, w),
    }
}

/// Memory form factor names (SMBIOS 7.18.1) as dmidecode 3.4 prints them.
pub fn form_factor_name(code: u8) -> &'static str {
    const NAMES: [&str; 16] = [
        "Other",
        "Unknown",
        "SIMM",
        "SIP",
        "Chip",
        "DIP",
        "ZIP",
        "Proprietary Card",
        "DIMM",
        "TSOP",
        "Row Of Chips",
        "RIMM",
        "SODIMM",
        "SRIMM",
        "FB-DIMM",
        "Die",
    ];
    code.checked_sub(1).and_then(|i| NAMES.get(usize::from(i))).copied().unwrap_or("<OUT OF SPEC>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    /// The dumps made by agent/testdata/smbios/make_dumps.py, each with dmidecode's output.
    const FIXTURES: [&str; 4] = ["laptop", "server", "vm", "names"];

    fn testdata(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/smbios").join(name)
    }

    fn load(name: &str) -> (Vec<u8>, Vec<u8>) {
        let dump = std::fs::read(testdata(&format!("{name}.bin"))).unwrap();
        let (ep, table) = split_dump(&dump).expect("a dump with a known anchor");
        (ep.to_vec(), table.to_vec())
    }

    /// dmidecode's records: (type, key/value lines of the record's first level).
    fn dmidecode_records(text: &str) -> Vec<(u8, BTreeMap<String, String>)> {
        let mut out: Vec<(u8, BTreeMap<String, String>)> = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("Handle ") {
                let kind = rest.split("DMI type ").nth(1).and_then(|t| t.split(',').next()).unwrap();
                out.push((kind.parse().unwrap(), BTreeMap::new()));
            } else if let (Some(body), Some(last)) = (line.strip_prefix('\t'), out.last_mut()) {
                if body.starts_with('\t') {
                    continue;
                }
                if let Some((k, v)) = body.split_once(':') {
                    last.1.insert(k.to_string(), v.trim().to_string());
                }
            }
        }
        out
    }

    fn text(v: &Option<String>) -> String {
        v.clone().unwrap_or_else(|| "Not Specified".to_string())
    }

    fn id_text(v: &Option<Identifier>) -> String {
        v.as_ref().map(|i| i.value.clone()).unwrap_or_else(|| "Not Specified".to_string())
    }

    fn count_text(v: Option<u16>) -> Option<String> {
        v.map(|n| n.to_string())
    }

    fn speed_text(v: Option<u32>) -> String {
        v.map(|n| format!("{n} MT/s")).unwrap_or_else(|| "Unknown".to_string())
    }

    /// Key/value lines of one record; `None` for a line dmidecode must not print.
    type Lines = Vec<(&'static str, Option<String>)>;

    /// Our decode, as the dmidecode lines it should equal: (type, lines).
    fn expected_lines(s: &Smbios) -> Vec<(u8, Lines)> {
        let mut out = Vec::new();
        if let Some(b) = &s.bios {
            out.push((
                0,
                vec![
                    ("Vendor", Some(text(&b.vendor))),
                    ("Version", Some(text(&b.version))),
                    ("Release Date", Some(text(&b.release_date))),
                ],
            ));
        }
        if let Some(sys) = &s.system {
            let uuid = sys.uuid.as_ref().map(|u| match u.value.as_str() {
                "00000000-0000-0000-0000-000000000000" => "Not Settable".to_string(),
                "ffffffff-ffff-ffff-ffff-ffffffffffff" => "Not Present".to_string(),
                v => v.to_string(),
            });
            out.push((
                1,
                vec![
                    ("Manufacturer", Some(text(&sys.manufacturer))),
                    ("Product Name", Some(text(&sys.product))),
                    ("Version", Some(text(&sys.version))),
                    ("Serial Number", Some(id_text(&sys.serial))),
                    ("UUID", uuid),
                    ("SKU Number", Some(text(&sys.sku))),
                    ("Family", Some(text(&sys.family))),
                ],
            ));
        }
        for b in &s.baseboards {
            out.push((
                2,
                vec![
                    ("Manufacturer", Some(text(&b.manufacturer))),
                    ("Product Name", Some(text(&b.product))),
                    ("Version", Some(text(&b.version))),
                    ("Serial Number", Some(id_text(&b.serial))),
                    ("Asset Tag", Some(id_text(&b.asset_tag))),
                ],
            ));
        }
        for c in &s.chassis {
            out.push((
                3,
                vec![
                    ("Manufacturer", Some(text(&c.manufacturer))),
                    ("Type", Some(c.kind_name.to_string())),
                    ("Version", Some(text(&c.version))),
                    ("Serial Number", Some(id_text(&c.serial))),
                    ("Asset Tag", Some(id_text(&c.asset_tag))),
                    ("SKU Number", Some(text(&c.sku))),
                ],
            ));
        }
        for p in &s.processors {
            out.push((
                4,
                vec![
                    ("Socket Designation", Some(text(&p.socket))),
                    ("Manufacturer", Some(text(&p.manufacturer))),
                    ("Version", Some(text(&p.version))),
                    ("Core Count", count_text(p.core_count)),
                    ("Core Enabled", count_text(p.core_enabled)),
                    ("Thread Count", count_text(p.thread_count)),
                    ("Max Speed", Some(p.max_speed_mhz.map_or("Unknown".to_string(), |v| format!("{v} MHz")))),
                ],
            ));
        }
        for m in &s.memory_devices {
            // dmidecode prints only the slot's identity for an empty slot.
            let installed = m.size != MemorySize::NotInstalled;
            let when = |v: String| installed.then_some(v);
            out.push((
                17,
                vec![
                    ("Locator", Some(text(&m.locator))),
                    ("Bank Locator", Some(text(&m.bank_locator))),
                    ("Size", Some(m.size.to_string())),
                    ("Type", Some(m.kind_name.to_string())),
                    ("Form Factor", Some(m.form_factor.to_string())),
                    ("Speed", when(speed_text(m.speed_mts))),
                    ("Manufacturer", when(text(&m.manufacturer))),
                    ("Serial Number", when(id_text(&m.serial))),
                    ("Asset Tag", when(id_text(&m.asset_tag))),
                    ("Part Number", when(text(&m.part_number))),
                    ("Configured Memory Speed", when(speed_text(m.configured_speed_mts))),
                ],
            ));
        }
        out
    }

    /// Every line we expect is printed by dmidecode with the same value; every line we expect
    /// absent is absent. Records are matched in table order per type.
    fn assert_matches_dmidecode(s: &Smbios, dmidecode: &str) {
        let records = dmidecode_records(dmidecode);
        let mut checked = 0;
        for kind in [0u8, 1, 2, 3, 4, 17] {
            let theirs: Vec<_> = records.iter().filter(|(k, _)| *k == kind).map(|(_, m)| m).collect();
            let ours: Vec<_> = expected_lines(s).into_iter().filter(|(k, _)| *k == kind).map(|(_, l)| l).collect();
            assert_eq!(ours.len(), theirs.len(), "number of type {kind} records");
            for (lines, map) in ours.iter().zip(&theirs) {
                for (key, value) in lines {
                    // Configured speed exists only from 2.7 on; dmidecode omits it before.
                    let absent_field = *key == "Configured Memory Speed"
                        && !map.contains_key(*key)
                        && value.as_deref() == Some("Unknown");
                    if !absent_field {
                        assert_eq!(map.get(*key), value.as_ref(), "type {kind} {key}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 20, "only {checked} fields compared");
    }

    #[test]
    fn fixtures_equal_saved_dmidecode_output() {
        for name in FIXTURES {
            let (ep, table) = load(name);
            let s = parse(Some(&ep), &table);
            assert!(s.warnings.is_empty(), "{name}: {:?}", s.warnings);
            assert!(s.end_of_table, "{name}");
            let saved = std::fs::read_to_string(testdata(&format!("{name}.txt"))).unwrap();
            assert_matches_dmidecode(&s, &saved);
        }
    }

    #[test]
    fn fixtures_equal_live_dmidecode() {
        let probe = std::process::Command::new("dmidecode").arg("--version").output();
        if !probe.is_ok_and(|o| o.status.success()) {
            println!("skipped: dmidecode is not installed");
            return;
        }
        for name in FIXTURES {
            let out = std::process::Command::new("dmidecode")
                .arg("--from-dump")
                .arg(testdata(&format!("{name}.bin")))
                .env("LC_ALL", "C")
                .output()
                .unwrap();
            assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
            let (ep, table) = load(name);
            assert_matches_dmidecode(&parse(Some(&ep), &table), &String::from_utf8_lossy(&out.stdout));
        }
    }

    #[test]
    fn laptop_fields() {
        let (ep, table) = load("laptop");
        let s = parse(Some(&ep), &table);
        let ep = s.entry_point.as_ref().unwrap();
        assert_eq!((ep.kind, ep.major, ep.minor, ep.structure_count), (EntryPointKind::Smbios3, 3, 3, None));
        let sys = s.system.as_ref().unwrap();
        assert_eq!(sys.serial, Some(Identifier { value: "PF1XK2QZ".into(), generic: false }));
        assert_eq!(sys.uuid.as_ref().unwrap().value, "215f3a8d-47c6-b211-a85c-e3d4b90f2a17");
        assert!(!sys.uuid.as_ref().unwrap().generic);
        assert_eq!(s.chassis[0].kind_name, "Notebook");
        assert_eq!(s.processors[0].thread_count, Some(8));
        assert_eq!(s.memory_devices.len(), 2);
        assert_eq!(s.memory_devices[0].size, MemorySize::Bytes(8 << 30));
        assert_eq!(s.memory_devices[0].kind_name, "DDR4");
        assert_eq!(s.memory_devices[0].speed_mts, Some(2667));
        assert_eq!(s.memory_devices[0].configured_speed_mts, Some(2400));
        assert_eq!(s.memory_devices[1].size, MemorySize::NotInstalled);
        assert!(s.memory_devices[1].serial.as_ref().unwrap().generic);
    }

    #[test]
    fn server_fields() {
        let (ep, table) = load("server");
        let s = parse(Some(&ep), &table);
        let ep = s.entry_point.as_ref().unwrap();
        assert_eq!((ep.kind, ep.major, ep.minor), (EntryPointKind::Smbios2, 2, 8));
        assert_eq!(usize::from(ep.structure_count.unwrap()), s.structures);
        assert_eq!(s.chassis[0].kind_name, "Rack Mount Chassis");
        assert_eq!(s.processors.len(), 2);
        assert_eq!(s.memory_devices.len(), 12);
        let installed: Vec<_> = s.memory_devices.iter().filter(|m| m.size != MemorySize::NotInstalled).collect();
        assert_eq!(installed.len(), 8);
        // 64 GiB does not fit the 15-bit field: the extended size holds it.
        assert_eq!(installed[7].size, MemorySize::Bytes(64 << 30));
        assert!(installed.iter().all(|m| !m.serial.as_ref().unwrap().generic));
        assert!(!s.baseboards[0].serial.as_ref().unwrap().generic);
        assert!(!s.system.as_ref().unwrap().uuid.as_ref().unwrap().generic);
        assert_eq!(s.system.as_ref().unwrap().version, None);
    }

    #[test]
    fn vm_values_are_generic() {
        let (ep, table) = load("vm");
        let s = parse(Some(&ep), &table);
        let sys = s.system.as_ref().unwrap();
        assert_eq!(sys.serial, None);
        assert!(sys.uuid.as_ref().unwrap().generic);
        let board = &s.baseboards[0];
        assert!(board.serial.as_ref().unwrap().generic && board.asset_tag.as_ref().unwrap().generic);
        assert_eq!(s.chassis[0].serial, Some(Identifier { value: "0000000000".into(), generic: true }));
        assert!(s.chassis[0].asset_tag.as_ref().unwrap().generic);
        assert_eq!(s.processors[0].core_count, Some(2));
        assert_eq!(s.memory_devices[0].size, MemorySize::Bytes(2 << 30));
        assert_eq!(s.memory_devices[0].configured_speed_mts, None);
    }

    /// A structure: header, formatted bytes after it, strings.
    fn st(kind: u8, handle: u16, formatted: &[u8], strings: &[&str]) -> Vec<u8> {
        let mut v = vec![kind, u8::try_from(4 + formatted.len()).unwrap()];
        v.extend_from_slice(&handle.to_le_bytes());
        v.extend_from_slice(formatted);
        for s in strings {
            v.extend_from_slice(s.as_bytes());
            v.push(0);
        }
        if strings.is_empty() {
            v.push(0);
        }
        v.push(0);
        v
    }

    fn bios(vendor: &str) -> Vec<u8> {
        st(0, 0, &[1, 0, 0, 0, 0, 0], &[vendor])
    }

    fn end() -> Vec<u8> {
        st(127, 0xFFFF, &[], &[])
    }

    fn sm2(table_len: u16, count: u16, major: u8, minor: u8) -> Vec<u8> {
        let mut ep = b"_SM_\0\x1f".to_vec();
        ep.extend_from_slice(&[major, minor, 0, 0, 0, 0, 0, 0, 0, 0]);
        ep.extend_from_slice(b"_DMI_\0");
        ep.extend_from_slice(&table_len.to_le_bytes());
        ep.extend_from_slice(&0x20u32.to_le_bytes());
        ep.extend_from_slice(&count.to_le_bytes());
        ep.push((major << 4) | minor);
        let fix = |b: &[u8]| 0u8.wrapping_sub(b.iter().fold(0u8, |a, &x| a.wrapping_add(x)));
        ep[0x15] = fix(&ep[0x10..0x1F]);
        ep[4] = fix(&ep);
        ep
    }

    fn sm3(max: u32) -> Vec<u8> {
        let mut ep = b"_SM3_\0\x18\x03\x02\x00\x01\x00".to_vec();
        ep.extend_from_slice(&max.to_le_bytes());
        ep.extend_from_slice(&0x20u64.to_le_bytes());
        ep[5] = 0u8.wrapping_sub(ep.iter().fold(0u8, |a, &x| a.wrapping_add(x)));
        ep
    }

    fn has(s: &Smbios, needle: &str) -> bool {
        s.warnings.iter().any(|w| w.contains(needle))
    }

    #[test]
    fn truncated_table_keeps_what_came_before() {
        let mut table = bios("Acme");
        let whole = [table.clone(), bios("Second"), end()].concat();
        table.extend_from_slice(&whole[table.len()..table.len() + 5]);
        let s = parse(Some(&sm2(u16::try_from(whole.len()).unwrap(), 3, 2, 8)), &table);
        assert_eq!(s.bios.as_ref().unwrap().vendor.as_deref(), Some("Acme"));
        assert_eq!(s.structures, 1);
        assert!(has(&s, "entry point states"), "{:?}", s.warnings);
        assert!(has(&s, "past the end of the table"), "{:?}", s.warnings);
    }

    #[test]
    fn stated_length_shorter_than_file_bounds_the_walk() {
        let one = bios("Acme");
        let table = [one.clone(), bios("Other"), end()].concat();
        let s = parse(Some(&sm2(u16::try_from(one.len()).unwrap(), 0, 2, 8)), &table);
        assert_eq!(s.structures, 1);
        assert!(!s.end_of_table);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn structure_count_bounds_the_walk() {
        let table = [bios("Acme"), bios("Other"), end()].concat();
        let s = parse(Some(&sm2(u16::try_from(table.len()).unwrap(), 1, 2, 8)), &table);
        assert_eq!(s.structures, 1);
    }

    #[test]
    fn entry_point_problems() {
        let table = [bios("Acme"), end()].concat();
        // Too short for its anchor.
        let s = parse(Some(&b"_SM3_\0\x18"[..]), &table);
        assert!(s.entry_point.is_none() && has(&s, "shorter than 24"));
        assert_eq!(s.bios.as_ref().unwrap().vendor.as_deref(), Some("Acme"));
        // Unknown anchor.
        let s = parse(Some(&b"garbage entry point....."[..]), &table);
        assert!(has(&s, "no _SM3_, _SM_ or _DMI_ anchor") && s.end_of_table);
        // Bad checksum.
        let mut ep = sm3(u32::try_from(table.len()).unwrap());
        ep[5] ^= 1;
        let s = parse(Some(&ep), &table);
        assert!(has(&s, "checksum is wrong") && s.end_of_table);
        // A 3.x maximum beyond the file is fine: it is a maximum.
        let s = parse(Some(&sm3(1 << 30)), &table);
        assert!(s.warnings.is_empty() && s.end_of_table, "{:?}", s.warnings);
        // A stated length of zero.
        let s = parse(Some(&sm2(0, 0, 2, 8)), &table);
        assert!(has(&s, "length of 0") && s.end_of_table);
    }

    #[test]
    fn dump_with_table_address_outside_the_file() {
        let mut dump = sm3(64);
        dump[0x10] = 0xF0;
        assert!(split_dump(&dump).is_none());
        assert!(split_dump(b"_SM_").is_none());
        assert!(split_dump(b"nothing").is_none());
    }

    #[test]
    fn structure_length_below_header() {
        let mut table = bios("Acme");
        table.extend_from_slice(&[4, 2, 0, 0, 0, 0]);
        table.extend(bios("Never"));
        let s = parse(None, &table);
        assert_eq!(s.structures, 1);
        assert!(has(&s, "has length 2, below its 4-byte header"), "{:?}", s.warnings);
        for len in 0..4 {
            let s = parse(None, &[1, len, 0, 0, 0, 0, 0, 0]);
            assert_eq!(s.structures, 0);
            assert_eq!(s.warnings.len(), 1);
        }
    }

    #[test]
    fn structure_length_past_the_end() {
        let table = [bios("Acme"), vec![1, 0x1B, 0, 1, 1, 2, 3]].concat();
        let s = parse(None, &table);
        assert_eq!(s.structures, 1);
        assert!(s.system.is_none());
        assert!(has(&s, "past the end of the table"));
    }

    #[test]
    fn stray_bytes_after_the_last_structure() {
        let table = [bios("Acme"), vec![0, 0]].concat();
        let s = parse(None, &table);
        assert!(has(&s, "2 stray bytes"));
        assert_eq!(s.structures, 1);
    }

    #[test]
    fn strings_without_terminator() {
        // Type 2 whose string set ends with the table: "Board\0Serial" and no double NUL.
        let mut table = vec![2, 8, 0x10, 0, 1, 0, 0, 2];
        table.extend_from_slice(b"Board\0Serial");
        let s = parse(None, &table);
        assert_eq!(s.structures, 1);
        assert!(has(&s, "no string-set terminator"));
        let b = &s.baseboards[0];
        assert_eq!(b.manufacturer.as_deref(), Some("Board"));
        assert_eq!(b.serial.as_ref().unwrap().value, "Serial");
        // A single trailing NUL is no terminator either.
        let s = parse(None, &[0, 4, 0, 0, 0]);
        assert!(has(&s, "no string-set terminator") && s.structures == 1);
        // Nothing after the formatted area at all.
        let s = parse(None, &[0, 4, 0, 0]);
        assert!(has(&s, "no string-set terminator") && s.structures == 1);
    }

    #[test]
    fn string_index_past_the_set() {
        // Type 1 with manufacturer 1 (present) and product 5 (past the single string).
        let table = [st(1, 1, &[1, 5, 0, 0], &["Acme"]), end()].concat();
        let s = parse(None, &table);
        let sys = s.system.unwrap();
        assert_eq!(sys.manufacturer.as_deref(), Some("Acme"));
        assert_eq!(sys.product, None);
        assert!(sys.uuid.is_none(), "a 2.0-size structure has no uuid");
        assert!(s.warnings.iter().any(|w| w.contains("refers to string 5 of 1")), "{:?}", s.warnings);
        assert!(s.end_of_table);
    }

    #[test]
    fn empty_string_ends_the_set() {
        // The set is "\0Acme\0\0": it starts with a NUL, so string 1 does not exist.
        let mut table = vec![0, 5, 0, 0, 1, 0];
        table.extend_from_slice(b"Acme\0\0");
        table.extend(end());
        let s = parse(None, &table);
        assert_eq!(s.bios.as_ref().unwrap().vendor, None);
        assert!(has(&s, "refers to string 1 of 0"), "{:?}", s.warnings);
        assert!(s.end_of_table);
    }

    #[test]
    fn warnings_are_capped() {
        let mut table = Vec::new();
        for h in 0..100u16 {
            table.extend(st(2, h, &[9, 9, 9, 9, 9], &[]));
        }
        let s = parse(None, &table);
        assert_eq!(s.baseboards.len(), 100);
        assert_eq!(s.warnings.len(), MAX_WARNINGS + 1);
        assert!(s.warnings.last().unwrap().contains("468 more warnings not shown"), "{:?}", s.warnings.last());
    }

    #[test]
    fn control_characters_and_whitespace_in_strings() {
        let table = [st(0, 0, &[1, 2, 0, 0, 3], &["  Ac\x01me  ", "v\x7f1", "\u{e9}t\u{e9}"]), end()].concat();
        let bios = parse(None, &table).bios.unwrap();
        assert_eq!(bios.vendor.as_deref(), Some("Ac.me"));
        assert_eq!(bios.version.as_deref(), Some("v.1"));
        assert_eq!(bios.release_date.as_deref(), Some("\u{e9}t\u{e9}"));
    }

    #[test]
    fn uuid_byte_order_follows_the_version() {
        let bytes: [u8; 16] = std::array::from_fn(|i| u8::try_from(i).unwrap() + 1);
        let mut formatted = vec![0, 0, 0, 0];
        formatted.extend_from_slice(&bytes);
        let table = [st(1, 1, &formatted, &[]), end()].concat();
        let uuid = |ep: Option<&[u8]>| parse(ep, &table).system.unwrap().uuid.unwrap().value;
        let len = u16::try_from(table.len()).unwrap();
        assert_eq!(uuid(Some(&sm2(len, 0, 2, 5))), "01020304-0506-0708-090a-0b0c0d0e0f10");
        assert_eq!(uuid(Some(&sm2(len, 0, 2, 6))), "04030201-0605-0807-090a-0b0c0d0e0f10");
        assert_eq!(uuid(None), "04030201-0605-0807-090a-0b0c0d0e0f10");
    }

    #[test]
    fn processor_counts_use_the_3_0_fields_when_the_byte_is_ff() {
        let mut f = vec![0u8; 0x30 - 4];
        f[0x18 - 4] = 0x41;
        f[0x23 - 4..0x26 - 4].copy_from_slice(&[0xFF, 0xFF, 0xFF]);
        f[0x2A - 4..0x2C - 4].copy_from_slice(&300u16.to_le_bytes());
        f[0x2C - 4..0x2E - 4].copy_from_slice(&280u16.to_le_bytes());
        f[0x2E - 4..0x30 - 4].copy_from_slice(&600u16.to_le_bytes());
        let p = &parse(None, &st(4, 4, &f, &[])).processors[0];
        assert_eq!(
            (p.core_count, p.core_enabled, p.thread_count, p.populated),
            (Some(300), Some(280), Some(600), true)
        );
        // 2.5 layout: bytes only; 0 is unknown.
        let p = &parse(None, &st(4, 4, &[0u8; 0x28 - 4], &[])).processors[0];
        assert_eq!((p.core_count, p.populated), (None, false));
    }

    #[test]
    fn memory_sizes_and_speeds() {
        let dev = |size: u16, ext: u32, speed: u16, ext_speed: u32, len: usize| {
            let mut f = vec![0u8; len - 4];
            f[0x0C - 4..0x0E - 4].copy_from_slice(&size.to_le_bytes());
            f[0x12 - 4] = 0x22;
            f[0x15 - 4..0x17 - 4].copy_from_slice(&speed.to_le_bytes());
            if len >= 0x20 {
                f[0x1C - 4..0x20 - 4].copy_from_slice(&ext.to_le_bytes());
            }
            if len >= 0x5C {
                f[0x54 - 4..0x58 - 4].copy_from_slice(&ext_speed.to_le_bytes());
            }
            parse(None, &st(17, 0x11, &f, &[])).memory_devices.remove(0)
        };
        assert_eq!(dev(0, 0, 0, 0, 0x28).size.to_string(), "No Module Installed");
        assert_eq!(dev(0xFFFF, 0, 0, 0, 0x28).size.to_string(), "Unknown");
        assert_eq!(dev(0x8000 | 512, 0, 0, 0, 0x28).size.to_string(), "512 kB");
        assert_eq!(dev(1536, 0, 0, 0, 0x28).size.to_string(), "1536 MB");
        assert_eq!(dev(0x7FFF, 131072, 0, 0, 0x28).size.to_string(), "128 GB");
        assert_eq!(dev(0x7FFF, 0, 0, 0, 0x1C).size, MemorySize::Bytes(0x7FFF << 20));
        let d = dev(16384, 0, 0xFFFF, 8800, 0x5C);
        assert_eq!((d.speed_mts, d.kind_name), (Some(8800), "DDR5"));
        assert_eq!(dev(16384, 0, 0, 0, 0x28).speed_mts, None);
        assert_eq!(dev(16384, 0, 0xFFFF, 0, 0x28).speed_mts, Some(0xFFFF));
        assert_eq!(MemorySize::Bytes(0).to_string(), "0 bytes");
        assert_eq!(MemorySize::Bytes(u64::MAX).to_string(), "16383 PB");
    }

    #[test]
    fn names_fixture_covers_every_code() {
        let (ep, table) = load("names");
        let s = parse(Some(&ep), &table);
        assert_eq!((s.chassis.len(), s.memory_devices.len()), (0x26, 0x26));
        assert_eq!(s.chassis[0x16].kind_name, "Rack Mount Chassis");
        assert_eq!(s.memory_devices[0x21].kind_name, "DDR5");
    }

    #[test]
    fn type_names() {
        assert_eq!(chassis_type_name(0x0A), "Notebook");
        assert_eq!(chassis_type_name(0x17 | 0x80), "Rack Mount Chassis");
        assert_eq!(chassis_type_name(0), "<OUT OF SPEC>");
        assert_eq!(chassis_type_name(0x7F), "<OUT OF SPEC>");
        assert_eq!(memory_type_name(0x1A), "DDR4");
        assert_eq!(memory_type_name(0xFF), "<OUT OF SPEC>");
    }

    #[test]
    fn generic_values() {
        for v in [
            "To Be Filled By O.E.M.",
            "To be filled by O.E.M.",
            "Default string",
            "System Serial Number",
            "Not Specified",
            "None",
            "0123456789",
            "123456789",
            "Chassis Serial Number",
            "Base Board Serial Number",
            "00000000",
            "XXXXXXX",
            "xxXX",
            "0000-0000",
            "",
            "   ",
            "\t",
            "  not specified ",
        ] {
            assert!(is_generic(v), "{v:?}");
        }
        for v in ["PF1XK2QZ", "7XK2QF2", "0000000001", "L1HF9AB01YK", "VMware-56 4d", "A0", "Acme"] {
            assert!(!is_generic(v), "{v:?}");
        }
    }

    #[test]
    fn generic_uuids() {
        for v in [
            "00000000-0000-0000-0000-000000000000",
            "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "Not Settable",
            "",
            "0000",
        ] {
            assert!(is_generic_uuid(v), "{v:?}");
        }
        assert!(!is_generic_uuid("215f3a8d-47c6-b211-a85c-e3d4b90f2a17"));
        assert!(!is_generic_uuid("00000000-0000-0000-0000-000000000001"));
    }

    #[test]
    fn read_from_a_root() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::open(dir.path()).unwrap();
        // No tables: nothing, silently.
        assert_eq!(read(&host), (None, Vec::new()));
        let tables = dir.path().join("sys/firmware/dmi/tables");
        std::fs::create_dir_all(&tables).unwrap();
        let (ep, table) = load("laptop");
        std::fs::write(tables.join("DMI"), &table).unwrap();
        // Table without entry point: parsed, one warning.
        let (s, w) = read(&host);
        assert!(s.unwrap().end_of_table);
        assert_eq!(w, vec![format!("{ENTRY_POINT} is missing: table read without its version and length")]);
        std::fs::write(tables.join("smbios_entry_point"), &ep).unwrap();
        let (s, w) = read(&host);
        let s = s.unwrap();
        assert!(w.is_empty() && s.warnings.is_empty(), "{w:?}");
        assert_eq!(s.chassis[0].kind_name, "Notebook");
        // Malformed: partial result, warnings naming the file.
        std::fs::write(tables.join("DMI"), &table[..100]).unwrap();
        let (s, w) = read(&host);
        assert!(s.unwrap().bios.is_some());
        assert!(!w.is_empty() && w.iter().all(|m| m.starts_with("sys/firmware/dmi/tables/")), "{w:?}");
        // Larger than the cap: one warning, no data.
        std::fs::write(tables.join("DMI"), vec![0u8; usize::try_from(MAX_TABLE).unwrap() + 1]).unwrap();
        let (s, w) = read(&host);
        assert!(s.is_none());
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with(TABLE), "{w:?}");
    }

    #[test]
    fn permission_denied_names_root() {
        let e = io::Error::from(io::ErrorKind::PermissionDenied);
        assert_eq!(read_error(TABLE, &e), "sys/firmware/dmi/tables/DMI is readable only by root");
        let e = io::Error::other("boom");
        assert_eq!(read_error(TABLE, &e), "sys/firmware/dmi/tables/DMI: boom");
    }

    #[test]
    fn empty_and_tiny_inputs_do_not_panic() {
        for table in [&[][..], &[0], &[127, 4, 0], &[127, 4, 0, 0, 0, 0]] {
            let s = parse(None, table);
            assert!(s.structures <= table.len() / 4);
        }
        assert!(parse(Some(&[]), &[]).warnings.iter().any(|w| w.contains("anchor")));
    }
}
