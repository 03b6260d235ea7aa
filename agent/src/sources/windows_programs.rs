//! Windows installed programs ("Apps & features" / "Programs and Features"): the mapping from the
//! registry's Uninstall keys to packages, and a parser for regedit `.reg` exports that feeds it.
//!
//! On Windows the agent will read the same values with the registry API (a `#[cfg(windows)]`
//! source still to come, which needs a Windows host to build and test); it will fill a
//! [`RegExport`] from the API and call [`uninstall_packages`], so this mapping is the one both
//! share. Until then it is exercised with `.reg` fixtures exported by regedit
//! (`agent/testdata/windows/`). It is not in `SOURCES`: a Linux or macOS root has no registry.
//!
//! Keys read: every direct subkey of `...\Microsoft\Windows\CurrentVersion\Uninstall\` under
//! - `HKEY_LOCAL_MACHINE\SOFTWARE\` — the native view (64-bit programs on 64-bit Windows);
//! - `HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\` — the 32-bit view, arch `x86`;
//! - `HKEY_USERS\<SID>\Software\` (and `HKEY_CURRENT_USER\Software\`) — per-user installs.
//!
//! The native view's arch is left empty: the view alone does not tell x64 from arm64 from a
//! 32-bit Windows (the OS arch is in the inventory's `os`). Mapping: `DisplayName` (required:
//! keys without one are not shown by Windows and are skipped) → name, `DisplayVersion` → version,
//! `Publisher` → vendor, `InstallDate` (`YYYYMMDD`, local date) → midnight UTC of that day,
//! `EstimatedSize` (KiB) → bytes, the registry key → location, source `windows`. Skipped like
//! Windows skips them: `SystemComponent` = 1, and updates (`ParentKeyName` set, or `ReleaseType`
//! `Update`, `Hotfix` or `Security Update`). purl: the purl spec has no type for Windows
//! programs, so it is empty.
//!
//! `.reg` format: regedit writes "Windows Registry Editor Version 5.00" files in UTF-16LE with a
//! byte-order mark; "REGEDIT4" files are ANSI. Sections are `[KEY]` (`[-KEY]` deletes), values
//! `"Name"=DATA` or `@=DATA` (the default value) where DATA is `"string"` (with `\\` and `\"`
//! escapes), `dword:xxxxxxxx`, `hex:` or `hex(N):` comma-separated bytes continued over lines
//! ending in `\`, or `-` (delete). `hex(2)` (expandable string) and `hex(7)` (multi-string) hold
//! UTF-16LE text in version 5 files and ANSI text in REGEDIT4 files. Anything the parser cannot
//! read becomes a problem in [`RegExport::problems`] and is skipped; the rest is kept.

use std::collections::HashMap;

use census_inventory::Package;

use super::homebrew::days_from_civil;

/// Problems kept in [`RegExport::problems`]; past this, one last line counts the rest.
pub const MAX_PROBLEMS: usize = 100;

/// A registry value as regedit exports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegValue {
    /// REG_SZ: `"text"` or `hex(1):`.
    String(String),
    /// REG_EXPAND_SZ: `hex(2):`.
    ExpandString(String),
    /// REG_MULTI_SZ: `hex(7):`.
    MultiString(Vec<String>),
    /// REG_DWORD: `dword:` or a 4-byte `hex(4):`.
    Dword(u32),
    /// REG_QWORD: an 8-byte `hex(b):`.
    Qword(u64),
    /// REG_BINARY: `hex:` or `hex(3):`.
    Binary(Vec<u8>),
    /// Any other type `hex(N):` (or a DWORD/QWORD of the wrong length), as raw bytes.
    Other { kind: u32, data: Vec<u8> },
    /// `"Name"=-`: the value is deleted.
    Delete,
}

impl RegValue {
    /// The text of a REG_SZ or REG_EXPAND_SZ.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            RegValue::String(s) | RegValue::ExpandString(s) => Some(s),
            _ => None,
        }
    }

    /// The number in a REG_DWORD or REG_QWORD.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            RegValue::Dword(d) => Some(u64::from(*d)),
            RegValue::Qword(q) => Some(*q),
            _ => None,
        }
    }
}

/// One `[KEY]` section: its path as written and its values in order (name `""` is `@`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegKey {
    pub path: String,
    pub values: Vec<(String, RegValue)>,
}

impl RegKey {
    /// The value named `name` (case-insensitive, as in the registry); the last one written wins.
    pub fn get(&self, name: &str) -> Option<&RegValue> {
        self.values.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }
}

/// A parsed `.reg` file: its keys in first-seen order (a key written twice is one key) and what
/// could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegExport {
    pub keys: Vec<RegKey>,
    pub problems: Vec<String>,
}

impl RegExport {
    fn problem(&mut self, dropped: &mut usize, message: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(message);
        } else {
            *dropped += 1;
        }
    }
}

/// Parses a regedit export (UTF-16LE with BOM, UTF-8, or ANSI text).
pub fn parse_reg_export(bytes: &[u8]) -> RegExport {
    let mut out = RegExport::default();
    let mut dropped = 0usize;
    let text = decode(bytes, &mut out, &mut dropped);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).enumerate().peekable();

    // The header decides how hex(2)/hex(7) text is encoded.
    let mut wide = true;
    while let Some((_, line)) = lines.peek() {
        let line = line.trim();
        if line.is_empty() {
            lines.next();
            continue;
        }
        if line == "REGEDIT4" {
            wide = false;
            lines.next();
        } else if line.starts_with("Windows Registry Editor Version ") {
            lines.next();
        } else {
            out.problem(&mut dropped, "no regedit header".into());
        }
        break;
    }

    let mut index: HashMap<String, usize> = HashMap::new();
    // Where values go: `None` before the first key and inside `[-KEY]` or bad sections.
    let mut current: Option<usize> = None;
    let mut in_section = false;
    while let Some((n, line)) = lines.next() {
        let lineno = n + 1;
        let line = line.trim_start();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            in_section = true;
            current = None;
            let Some(end) = rest.rfind(']') else {
                out.problem(&mut dropped, format!("line {lineno}: key without closing ]"));
                continue;
            };
            let path = &rest[..end];
            if path.starts_with('-') || path.is_empty() {
                continue;
            }
            let slot = *index.entry(path.to_lowercase()).or_insert_with(|| {
                out.keys.push(RegKey { path: path.to_string(), values: Vec::new() });
                out.keys.len() - 1
            });
            current = Some(slot);
            continue;
        }
        if !line.starts_with('"') && !line.starts_with('@') {
            out.problem(&mut dropped, format!("line {lineno}: unrecognized line"));
            continue;
        }
        // A hex value continues over the following lines while a line ends with `\`.
        let mut logical = line.trim_end().to_string();
        while logical.ends_with('\\') && is_hex_value(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim()),
                None => break,
            }
        }
        match parse_value_line(&logical, wide) {
            Ok((name, value)) => match current {
                Some(k) => out.keys[k].values.push((name, value)),
                // Values of a deleted or malformed section are dropped with it.
                None if in_section => {}
                None => out.problem(&mut dropped, format!("line {lineno}: value outside any key")),
            },
            Err(e) => out.problem(&mut dropped, format!("line {lineno}: {e}")),
        }
    }
    if dropped > 0 {
        out.problems.push(format!("{dropped} more problems"));
    }
    out
}

/// Whether a value line's data (after `=`) is a `hex` list, the only data that continues.
fn is_hex_value(line: &str) -> bool {
    let Ok((_, rest)) = split_name(line) else { return false };
    rest.trim_start().strip_prefix('=').is_some_and(|d| d.trim_start().starts_with("hex"))
}

/// Decodes the file to text: UTF-16LE/BE by byte-order mark, else UTF-8, else ANSI (as Latin-1).
fn decode(bytes: &[u8], out: &mut RegExport, dropped: &mut usize) -> String {
    let utf16 = |body: &[u8], le: bool, out: &mut RegExport, dropped: &mut usize| {
        if body.len() % 2 == 1 {
            out.problem(dropped, "odd number of bytes in UTF-16 text, last byte dropped".into());
        }
        let units = body
            .chunks_exact(2)
            .map(|c| if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) });
        char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect::<String>()
    };
    if let Some(body) = bytes.strip_prefix(&[0xff, 0xfe]) {
        utf16(body, true, out, dropped)
    } else if let Some(body) = bytes.strip_prefix(&[0xfe, 0xff]) {
        utf16(body, false, out, dropped)
    } else {
        let body = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);
        match std::str::from_utf8(body) {
            Ok(s) => s.to_string(),
            Err(_) => body.iter().map(|&b| char::from(b)).collect(),
        }
    }
}

/// Splits `"Name"...` or `@...` into the name and what follows it.
fn split_name(line: &str) -> Result<(String, &str), String> {
    if let Some(rest) = line.strip_prefix('@') {
        return Ok((String::new(), rest));
    }
    let rest = line.strip_prefix('"').ok_or("value name must be quoted")?;
    let (name, after) = unquote(rest).ok_or("unterminated value name")?;
    Ok((name, after))
}

/// Reads a quoted string's body (after its opening quote) up to the closing quote, undoing
/// regedit's escapes; returns it and the text after the closing quote.
fn unquote(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                // Wine's regedit writes newlines and NULs as escapes.
                Some((_, 'n')) => out.push('\n'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, '0')) => out.push('\0'),
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => return None,
            },
            _ => out.push(c),
        }
    }
    None
}

/// Parses one logical value line (continuations joined) into its name and value.
fn parse_value_line(line: &str, wide: bool) -> Result<(String, RegValue), String> {
    let (name, rest) = split_name(line)?;
    let data = rest.trim_start().strip_prefix('=').ok_or("missing = after value name")?.trim();
    Ok((name, parse_data(data, wide)?))
}

fn parse_data(data: &str, wide: bool) -> Result<RegValue, String> {
    if let Some(rest) = data.strip_prefix('"') {
        let (s, after) = unquote(rest).ok_or("unterminated string")?;
        if !after.trim().is_empty() {
            return Err("text after string".into());
        }
        return Ok(RegValue::String(s));
    }
    if data == "-" {
        return Ok(RegValue::Delete);
    }
    if let Some(hex) = data.strip_prefix("dword:") {
        let hex = hex.trim();
        if hex.is_empty() || hex.len() > 8 {
            return Err(format!("bad dword {hex:?}"));
        }
        return u32::from_str_radix(hex, 16).map(RegValue::Dword).map_err(|_| format!("bad dword {hex:?}"));
    }
    if let Some(rest) = data.strip_prefix("hex") {
        let (kind, list) = if let Some(r) = rest.strip_prefix('(') {
            let (k, l) = r.split_once("):").ok_or("bad hex type")?;
            let kind = u32::from_str_radix(k.trim(), 16).map_err(|_| format!("bad hex type {k:?}"))?;
            (kind, l)
        } else {
            (3, rest.strip_prefix(':').ok_or("bad hex value")?)
        };
        return Ok(typed(kind, hex_bytes(list)?, wide));
    }
    Err("unrecognized value data".into())
}

/// `aa,bb,...` (spaces allowed, a trailing comma allowed) as bytes.
fn hex_bytes(list: &str) -> Result<Vec<u8>, String> {
    let list = list.trim();
    let list = list.strip_suffix(',').unwrap_or(list);
    if list.is_empty() {
        return Ok(Vec::new());
    }
    list.split(',')
        .map(|t| {
            let t = t.trim();
            if t.is_empty() || t.len() > 2 {
                return Err(format!("bad hex byte {t:?}"));
            }
            u8::from_str_radix(t, 16).map_err(|_| format!("bad hex byte {t:?}"))
        })
        .collect()
}

/// The value of registry type `kind` from its bytes.
fn typed(kind: u32, data: Vec<u8>, wide: bool) -> RegValue {
    match kind {
        1 => RegValue::String(first_string(&text_of(&data, wide))),
        2 => RegValue::ExpandString(first_string(&text_of(&data, wide))),
        3 => RegValue::Binary(data),
        4 if data.len() == 4 => RegValue::Dword(u32::from_le_bytes([data[0], data[1], data[2], data[3]])),
        7 => {
            let text = text_of(&data, wide);
            let mut items: Vec<String> = text.split('\0').map(str::to_string).collect();
            // The list ends with an empty string (a double NUL); drop the trailing empties.
            while items.last().is_some_and(String::is_empty) {
                items.pop();
            }
            RegValue::MultiString(items)
        }
        0xb if data.len() == 8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&data);
            RegValue::Qword(u64::from_le_bytes(b))
        }
        _ => RegValue::Other { kind, data },
    }
}

/// Registry string bytes as text: UTF-16LE in version 5 exports, ANSI (UTF-8 or Latin-1) in
/// REGEDIT4 ones. An odd trailing byte of UTF-16 is dropped.
fn text_of(data: &[u8], wide: bool) -> String {
    if wide {
        let units = data.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
        char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
    } else {
        match std::str::from_utf8(data) {
            Ok(s) => s.to_string(),
            Err(_) => data.iter().map(|&b| char::from(b)).collect(),
        }
    }
}

/// A REG_SZ's text up to its terminating NUL.
fn first_string(text: &str) -> String {
    text.split('\0').next().unwrap_or_default().to_string()
}

/// Which view of the Uninstall key a path is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Native,
    Wow64,
}

/// `Some(view)` when `path` is a direct subkey of an Uninstall key this mapping reads.
fn uninstall_view(path: &str) -> Option<View> {
    let segs: Vec<&str> = path.split('\\').collect();
    let hive = segs.first()?.to_ascii_uppercase();
    let rest = match hive.as_str() {
        "HKEY_LOCAL_MACHINE" | "HKLM" | "HKEY_CURRENT_USER" | "HKCU" => &segs[1..],
        "HKEY_USERS" | "HKU" if segs.len() > 1 && !segs[1].is_empty() => &segs[2..],
        _ => return None,
    };
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let (view, tail) = match rest {
        [software, wow, tail @ ..] if eq(software, "SOFTWARE") && eq(wow, "WOW6432Node") => (View::Wow64, tail),
        [software, tail @ ..] if eq(software, "SOFTWARE") => (View::Native, tail),
        _ => return None,
    };
    match tail {
        [a, b, c, d, sub]
            if !sub.is_empty()
                && eq(a, "Microsoft")
                && eq(b, "Windows")
                && eq(c, "CurrentVersion")
                && eq(d, "Uninstall") =>
        {
            Some(view)
        }
        _ => None,
    }
}

/// The installed programs an export's Uninstall keys describe (see the module doc).
pub fn uninstall_packages(export: &RegExport) -> Vec<Package> {
    export.keys.iter().filter_map(|key| uninstall_package(key, uninstall_view(&key.path)?)).collect()
}

fn uninstall_package(key: &RegKey, view: View) -> Option<Package> {
    let text = |name: &str| key.get(name).and_then(RegValue::as_text).map(str::trim).unwrap_or_default();
    let name = text("DisplayName");
    if name.is_empty() {
        return None;
    }
    if key.get("SystemComponent").and_then(RegValue::as_u64).is_some_and(|v| v != 0) {
        return None;
    }
    if !text("ParentKeyName").is_empty()
        || ["Update", "Hotfix", "Security Update"].iter().any(|t| text("ReleaseType").eq_ignore_ascii_case(t))
    {
        return None;
    }
    let version = match key.get("DisplayVersion") {
        Some(RegValue::Dword(d)) => d.to_string(),
        Some(v) => v.as_text().unwrap_or_default().trim().to_string(),
        None => String::new(),
    };
    Some(Package {
        name: name.to_string(),
        version,
        arch: if view == View::Wow64 { "x86".into() } else { String::new() },
        source: "windows".into(),
        vendor: text("Publisher").to_string(),
        install_time: install_date(text("InstallDate")).unwrap_or(0),
        installed_size_bytes: key.get("EstimatedSize").and_then(RegValue::as_u64).unwrap_or(0).saturating_mul(1024),
        location: key.path.clone(),
        ..Package::default()
    })
}

/// `YYYYMMDD` as unix seconds at midnight UTC; `None` when it is not a valid date.
pub fn install_date(s: &str) -> Option<i64> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().ok();
    Some(days_from_civil(n(0..4)?, n(4..6)?, n(6..8)?)? * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/windows");

    fn utf16_reg(text: &str) -> Vec<u8> {
        let mut out = vec![0xff, 0xfe];
        for u in text.replace('\n', "\r\n").encode_utf16() {
            out.extend_from_slice(&u.to_le_bytes());
        }
        out
    }

    fn show(p: &Package) -> String {
        format!(
            "{} | {} | {} | {} | t={} | {} | {}",
            p.name, p.version, p.arch, p.vendor, p.install_time, p.installed_size_bytes, p.location
        )
    }

    const UNINSTALL: &str = r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall";
    const WOW: &str = r"HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall";
    const USER: &str =
        r"HKEY_USERS\S-1-5-21-3623811015-3361044348-30300820-1013\Software\Microsoft\Windows\CurrentVersion\Uninstall";

    #[test]
    fn utf16_export_fixture() {
        let bytes = std::fs::read(format!("{TESTDATA}/uninstall-utf16.reg")).unwrap();
        assert_eq!(&bytes[..2], [0xff, 0xfe], "the fixture is UTF-16LE with a BOM, as regedit writes");
        let export = parse_reg_export(&bytes);
        assert_eq!(export.problems, Vec::<String>::new());
        let got: Vec<String> = uninstall_packages(&export).iter().map(show).collect();
        assert_eq!(
            got,
            [
                format!(r"7-Zip 23.01 (x64) | 23.01 |  | Igor Pavlov | t=0 | 5543936 | {UNINSTALL}\7-Zip"),
                format!(
                    r"Git | 2.43.0 |  | The Git Development Community | t=1700524800 | 316082176 | {UNINSTALL}\Git_is1"
                ),
                format!(
                    r"Microsoft Visual C++ 2022 X64 Minimum Runtime - 14.38.33130 | 14.38.33130 |  | Microsoft Corporation | t=1704412800 | 2330624 | {UNINSTALL}\{{F1B0FB3A-E0EA-47A6-9383-3650655403B0}}"
                ),
                format!(
                    r"Adobe Acrobat Reader DC | 23.006.20380 | x86 | Adobe Systems Incorporated | t=1697328000 | 678211584 | {WOW}\{{AC76BA86-7AD7-1033-7B44-AC0F074E4100}}"
                ),
                format!(r"Notepad++ (32-bit x86) | 8.6 | x86 | Notepad++ Team | t=0 | 4771840 | {WOW}\Notepad++"),
                format!(
                    r"Microsoft Visual Studio Code (User) | 1.85.1 |  | Microsoft Corporation | t=1702512000 | 377736192 | {USER}\{{771FD6B0-FA20-440A-A002-3B3BAC16DC50}}_is1"
                ),
                format!(r"Spotify | 1.2.26.1187.g36b715a1 |  | Spotify AB | t=0 | 0 | {USER}\Spotify"),
            ]
        );
        assert!(uninstall_packages(&export).iter().all(|p| p.source == "windows" && p.purl.is_empty()));
        // The values the mapping does not use are parsed too.
        let vc = export.keys.iter().find(|k| k.path.ends_with("{F1B0FB3A-E0EA-47A6-9383-3650655403B0}")).unwrap();
        assert_eq!(
            vc.get("ModifyPath"),
            Some(&RegValue::ExpandString(r"MsiExec.exe /X{F1B0FB3A-E0EA-47A6-9383-3650655403B0}".into()))
        );
        assert_eq!(vc.get("Version"), Some(&RegValue::Dword(0x0e26_8162)));
        assert_eq!(
            vc.get("Dependents"),
            Some(&RegValue::MultiString(vec!["VC,redist.x64,amd64,14.38,bundle".into(), "Dependent 2".into()]))
        );
        assert_eq!(vc.get("Cookie"), Some(&RegValue::Binary(vec![0xde, 0xad, 0xbe, 0xef])));
        let seven = export.keys.iter().find(|k| k.path.ends_with(r"\7-Zip")).unwrap();
        assert_eq!(
            seven.get("UninstallString").and_then(RegValue::as_text),
            Some(r#""C:\Program Files\7-Zip\Uninstall.exe""#)
        );
        let adobe = export.keys.iter().find(|k| k.path.contains("AC76BA86")).unwrap();
        assert_eq!(adobe.get(""), Some(&RegValue::String("Acrobat Reader".into())), "@ is the default value");
    }

    #[test]
    fn regedit4_ansi_fixture() {
        let bytes = std::fs::read(format!("{TESTDATA}/uninstall-regedit4.reg")).unwrap();
        let export = parse_reg_export(&bytes);
        assert_eq!(export.problems, Vec::<String>::new());
        let got: Vec<String> = uninstall_packages(&export).iter().map(show).collect();
        assert_eq!(
            got,
            [format!(r"Café Tools | 1.0 |  | Ünïcode Söftware | t=946684800 | 1024 | {UNINSTALL}\CafeTools")]
        );
        let key = &export.keys[0];
        assert_eq!(key.get("InstallLocation"), Some(&RegValue::ExpandString(r"%ProgramFiles%\Café".into())));
        assert_eq!(key.get("Paths"), Some(&RegValue::MultiString(vec!["a".into(), "b".into()])));
    }

    #[test]
    fn values_and_escapes() {
        let export = parse_reg_export(&utf16_reg(
            "Windows Registry Editor Version 5.00\n\n[HKEY_CURRENT_USER\\X]\n\
             \"Quote\"=\"say \\\"hi\\\" to C:\\\\\"\n\
             \"Name \\\"q\\\"\"=dword:0000002a\n\
             @=\"default\"\n\
             \"Q\"=hex(b):01,00,00,00,00,00,00,00\n\
             \"D4\"=hex(4):2a,00,00,00\n\
             \"BE\"=hex(5):00,00,00,2a\n\
             \"None\"=hex(0):\n\
             \"Gone\"=-\n\
             \"Sz\"=hex(1):41,00,00,00\n\
             \"Spaced\" = \"ok\"\n",
        ));
        assert_eq!(export.problems, Vec::<String>::new());
        let k = &export.keys[0];
        assert_eq!(k.get("quote"), Some(&RegValue::String(r#"say "hi" to C:\"#.into())));
        assert_eq!(k.get(r#"Name "q""#), Some(&RegValue::Dword(42)));
        assert_eq!(k.get(""), Some(&RegValue::String("default".into())));
        assert_eq!(k.get("Q"), Some(&RegValue::Qword(1)));
        assert_eq!(k.get("D4"), Some(&RegValue::Dword(42)));
        assert_eq!(k.get("BE"), Some(&RegValue::Other { kind: 5, data: vec![0, 0, 0, 42] }));
        assert_eq!(k.get("None"), Some(&RegValue::Other { kind: 0, data: vec![] }));
        assert_eq!(k.get("Gone"), Some(&RegValue::Delete));
        assert_eq!(k.get("Sz"), Some(&RegValue::String("A".into())));
        assert_eq!(k.get("Spaced"), Some(&RegValue::String("ok".into())));
    }

    #[test]
    fn truncated_and_malformed_exports() {
        // Odd UTF-16 byte count: the last byte is dropped, the rest kept.
        let mut bytes = utf16_reg(&format!(
            "Windows Registry Editor Version 5.00\n\n[{UNINSTALL}\\A]\n\"DisplayName\"=\"App A\"\n"
        ));
        bytes.push(0x41);
        let export = parse_reg_export(&bytes);
        assert_eq!(export.problems, ["odd number of bytes in UTF-16 text, last byte dropped"]);
        assert_eq!(uninstall_packages(&export)[0].name, "App A");

        let export = parse_reg_export(
            format!(
                "Windows Registry Editor Version 5.00\n\
                 \"Early\"=\"before any key\"\n\
                 [{UNINSTALL}\\B]\n\
                 \"DisplayName\"=\"App B\n\
                 \"DisplayName\"=\"App B2\"\n\
                 \"Bin\"=hex:zz,01\n\
                 \"Bin2\"=hex:0100\n\
                 \"Dw\"=dword:123456789\n\
                 \"Dw2\"=dword:xyz\n\
                 \"Ty\"=hex(q):00\n\
                 \"NoEq\" \"x\"\n\
                 \"Bare\"=text\n\
                 \"Tail\"=\"a\" b\n\
                 \"Unterminated name=1\n\
                 garbage line\n\
                 [HKEY_LOCAL_MACHINE\\no-close\n\
                 \"Lost\"=\"dropped with its section\"\n\
                 [-{UNINSTALL}\\Deleted]\n\
                 \"Also\"=\"dropped\"\n\
                 [{UNINSTALL}\\C]\n\
                 \"DisplayName\"=hex(2):41,00,\\\n"
            )
            .as_bytes(),
        );
        assert_eq!(
            export.problems,
            [
                "line 2: value outside any key",
                "line 4: unterminated string",
                "line 6: bad hex byte \"zz\"",
                "line 7: bad hex byte \"0100\"",
                "line 8: bad dword \"123456789\"",
                "line 9: bad dword \"xyz\"",
                "line 10: bad hex type \"q\"",
                "line 11: missing = after value name",
                "line 12: unrecognized value data",
                "line 13: text after string",
                "line 14: unterminated value name",
                "line 15: unrecognized line",
                "line 16: key without closing ]",
            ]
        );
        let names: Vec<String> = uninstall_packages(&export).into_iter().map(|p| p.name).collect();
        // A hex list continued past the end of the file keeps what it had.
        assert_eq!(names, ["App B2", "A"]);

        assert_eq!(parse_reg_export(b"").keys, vec![]);
        assert_eq!(parse_reg_export(b"[HKEY_USERS\\x]\n").problems, ["no regedit header"]);
        // An unpaired surrogate becomes U+FFFD; the line is then not a header nor anything else.
        assert_eq!(
            parse_reg_export(&[0xff, 0xfe, 0x00, 0xd8, 0x41, 0x00]).problems,
            ["no regedit header", "line 1: unrecognized line"]
        );
    }

    #[test]
    fn problems_are_capped() {
        let text = format!("REGEDIT4\n{}", "junk\n".repeat(MAX_PROBLEMS + 7));
        let export = parse_reg_export(text.as_bytes());
        assert_eq!(export.problems.len(), MAX_PROBLEMS + 1);
        assert_eq!(export.problems.last().unwrap(), "7 more problems");
    }

    #[test]
    fn repeated_keys_merge_and_only_direct_subkeys_count() {
        let export = parse_reg_export(
            format!(
                "REGEDIT4\n\n[{UNINSTALL}\\App]\n\"DisplayName\"=\"First\"\n\
                 [{UNINSTALL}\\App\\Sub]\n\"DisplayName\"=\"Nested\"\n\
                 [{UNINSTALL}]\n\"DisplayName\"=\"The key itself\"\n\
                 [HKEY_LOCAL_MACHINE\\SOFTWARE\\Vendor\\Uninstall\\X]\n\"DisplayName\"=\"Elsewhere\"\n\
                 [HKEY_CLASSES_ROOT\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Y]\n\"DisplayName\"=\"Wrong hive\"\n\
                 [{UNINSTALL}\\APP]\n\"DisplayVersion\"=dword:00000007\n\
                 [HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Short]\n\"DisplayName\"=\"Short\"\n\
                 [HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Mine]\n\"DisplayName\"=\"Mine\"\n"
            )
            .as_bytes(),
        );
        // `...\APP` is `...\App` again (registry names are case-insensitive): one key, merged.
        assert_eq!(export.keys.len(), 7);
        let got: Vec<String> =
            uninstall_packages(&export).iter().map(|p| format!("{}={}", p.name, p.version)).collect();
        assert_eq!(got, ["First=7", "Short=", "Mine="]);
    }

    #[test]
    fn skipped_entries() {
        let export = parse_reg_export(
            format!(
                "REGEDIT4\n[{UNINSTALL}\\a]\n\"DisplayName\"=\"Sys\"\n\"SystemComponent\"=dword:00000001\n\
                 [{UNINSTALL}\\b]\n\"DisplayName\"=\"Upd\"\n\"ParentKeyName\"=\"OperatingSystem\"\n\
                 [{UNINSTALL}\\c]\n\"DisplayName\"=\"Hot\"\n\"ReleaseType\"=\"hotfix\"\n\
                 [{UNINSTALL}\\d]\n\"DisplayName\"=\"   \"\n\
                 [{UNINSTALL}\\e]\n\"DisplayName\"=\"Kept\"\n\"SystemComponent\"=dword:00000000\n\"ReleaseType\"=\"Product\"\n\"ParentKeyName\"=\"\"\n"
            )
            .as_bytes(),
        );
        let names: Vec<String> = uninstall_packages(&export).into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["Kept"]);
    }

    #[test]
    fn install_dates() {
        assert_eq!(install_date("19700101"), Some(0));
        assert_eq!(install_date("20231121"), Some(1_700_524_800));
        assert_eq!(install_date("20240229"), Some(1_709_164_800));
        assert_eq!(install_date("20231301"), None);
        assert_eq!(install_date("20230230"), None);
        assert_eq!(install_date("2023-11-21"), None);
        assert_eq!(install_date("1/2/2023"), None);
        assert_eq!(install_date(""), None);
        assert_eq!(install_date("00000000"), None);
    }

    #[test]
    fn empty_export_gives_nothing() {
        let export = parse_reg_export(&utf16_reg("Windows Registry Editor Version 5.00\n\n"));
        assert_eq!(export, RegExport::default());
        assert!(uninstall_packages(&export).is_empty());
    }
}
