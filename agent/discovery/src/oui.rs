//! IEEE MA-L (OUI) assignments: the organisation behind a MAC's first 24 bits.
//!
//! Reads the CSV the IEEE publishes and Debian ships in `ieee-data`
//! (`/usr/share/ieee-data/oui.csv`: `Registry,Assignment,Organization Name,Organization
//! Address`, quoted as CSV). Only MA-L rows are used; the finer MA-M and MA-S blocks (`mam.csv`,
//! `oui36.csv`) are not read, so a device from such a block is named by the MA-L holder of its
//! prefix, if any. Bounded: the file is refused over [`MAX_FILE`] bytes, at most [`MAX_ROWS`]
//! rows are kept, names are cut at [`MAX_NAME`] bytes, and bad rows are skipped and counted.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// Where Debian's `ieee-data` puts the MA-L list.
pub const DEFAULT_PATH: &str = "/usr/share/ieee-data/oui.csv";
/// Largest file read (the real one is about 3 MiB).
pub const MAX_FILE: u64 = 16 * 1024 * 1024;
/// Rows kept at most (the real file has about 33,000).
pub const MAX_ROWS: usize = 200_000;
/// Longest organisation name kept, in bytes.
pub const MAX_NAME: usize = 255;

/// 24-bit prefix → organisation.
#[derive(Debug, Clone, Default)]
pub struct Oui {
    map: HashMap<u32, Box<str>>,
    /// Rows skipped: not CSV, a short row, an assignment that is not 6 hex digits, an empty name,
    /// or past [`MAX_ROWS`].
    pub bad_rows: usize,
}

impl Oui {
    /// Reads `path`; refuses a file over [`MAX_FILE`] bytes.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let mut bytes = Vec::new();
        std::fs::File::open(path)?.take(MAX_FILE + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_FILE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!("{}: larger than {MAX_FILE} bytes", path.display()),
            ));
        }
        Ok(Self::parse(&bytes))
    }

    /// Parses the CSV text (with its header row).
    pub fn parse(bytes: &[u8]) -> Self {
        let mut oui = Self::default();
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(bytes);
        let mut record = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    oui.bad_rows += 1;
                    // A CSV error inside a record is recoverable; an I/O error (none on a slice)
                    // would repeat.
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        break;
                    }
                    continue;
                }
            }
            if oui.map.len() >= MAX_ROWS {
                oui.bad_rows += 1;
                continue;
            }
            match row(&record) {
                Some(Some((prefix, name))) => {
                    oui.map.insert(prefix, name.into());
                }
                Some(None) => {} // another registry (MA-M, MA-S, CID, IAB)
                None => oui.bad_rows += 1,
            }
        }
        oui
    }

    /// Number of prefixes known.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The organisation for `mac`; None when unknown, or when the MAC is locally administered
    /// (the 0x02 bit: randomised and virtual MACs name no vendor) or multicast.
    pub fn vendor(&self, mac: [u8; 6]) -> Option<&str> {
        if mac[0] & 0x03 != 0 {
            return None;
        }
        self.map.get(&u32::from_be_bytes([0, mac[0], mac[1], mac[2]])).map(|s| &**s)
    }
}

/// One row: `None` when bad, `Some(None)` when not an MA-L row.
fn row(record: &csv::ByteRecord) -> Option<Option<(u32, String)>> {
    let registry = record.get(0)?;
    let assignment = record.get(1)?;
    let name = record.get(2)?;
    if !registry.eq_ignore_ascii_case(b"MA-L") {
        return Some(None);
    }
    if assignment.len() != 6 {
        return None;
    }
    let prefix = u32::from_str_radix(std::str::from_utf8(assignment).ok()?, 16).ok()?;
    let name = String::from_utf8_lossy(name);
    let name: String = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || name.chars().any(char::is_control) {
        return None;
    }
    Some(Some((prefix, cut(name, MAX_NAME))))
}

/// `s` cut to at most `max` bytes on a character boundary.
pub(crate) fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "Registry,Assignment,Organization Name,Organization Address
MA-L,002272,American Micro-Fuel Device Corp.,2181 Buchanan Loop Ferndale WA US 98248 
MA-L,00D0EF,IGT,9295 PROTOTYPE DRIVE RENO NV US 89511 
MA-L,3C5AB4,\"Google, Inc.\",\"1600 Amphitheatre Parkway Mountain View CA US 94043 \"
MA-L,a4c361,\"Apple,   Inc.\",1 Infinite Loop Cupertino CA US 95014 
MA-M,70B3D5000,Some Block,Somewhere
MA-L,XYZ123,Bad Hex,Nowhere
MA-L,00112,Short,Nowhere
MA-L,001122
MA-L,001123,,Empty name
MA-L,F4F5E8,\"Unterminated quote,Nowhere
";

    #[test]
    fn parses_ma_l_rows_and_counts_bad_ones() {
        let oui = Oui::parse(CSV.as_bytes());
        assert_eq!(oui.vendor([0x00, 0x22, 0x72, 1, 2, 3]), Some("American Micro-Fuel Device Corp."));
        assert_eq!(oui.vendor([0x00, 0xD0, 0xEF, 0, 0, 0]), Some("IGT"));
        assert_eq!(oui.vendor([0x3C, 0x5A, 0xB4, 9, 9, 9]), Some("Google, Inc."));
        assert_eq!(oui.vendor([0xA4, 0xC3, 0x61, 9, 9, 9]), Some("Apple, Inc."));
        assert_eq!(oui.vendor([0x70, 0xB3, 0xD5, 0, 0, 0]), None, "MA-M rows are not used");
        assert_eq!(oui.vendor([0x00, 0x11, 0x22, 0, 0, 0]), None);
        // bad hex, 5 digits, a short row, an empty name.
        assert_eq!(oui.bad_rows, 4, "{oui:?}");
        // An unterminated quote runs to the end of the file: one name, whitespace folded.
        assert_eq!(oui.vendor([0xF4, 0xF5, 0xE8, 0, 0, 0]), Some("Unterminated quote,Nowhere"));
        assert_eq!(oui.len(), 5);
    }

    #[test]
    fn locally_administered_and_multicast_macs_have_no_vendor() {
        let oui = Oui::parse(b"Registry,Assignment,Organization Name,Organization Address\nMA-L,020000,Nobody,X\nMA-L,010000,Multi,X\nMA-L,000000,Xerox,X\n");
        assert_eq!(oui.vendor([0x02, 0, 0, 1, 2, 3]), None);
        assert_eq!(oui.vendor([0x01, 0, 0, 1, 2, 3]), None);
        assert_eq!(oui.vendor([0x00, 0, 0, 1, 2, 3]), Some("Xerox"));
    }

    #[test]
    fn garbage_and_long_names_are_bounded() {
        let oui = Oui::parse(b"\xff\xfe\x00garbage\n\"\"\"\n,,,,\n");
        assert!(oui.is_empty());
        let long =
            format!("Registry,Assignment,Organization Name,Organization Address\nMA-L,001122,{},X\n", "é".repeat(300));
        let oui = Oui::parse(long.as_bytes());
        let name = oui.vendor([0, 0x11, 0x22, 0, 0, 0]).unwrap();
        assert!(name.len() <= MAX_NAME && name.len() >= MAX_NAME - 1);
    }

    #[test]
    fn missing_file_is_an_error() {
        assert!(Oui::load(Path::new("/nonexistent/oui.csv")).is_err());
    }

    /// The real Debian file, when ieee-data is installed.
    #[test]
    fn real_ieee_data_file_when_installed() {
        let Ok(oui) = Oui::load(Path::new(DEFAULT_PATH)) else {
            eprintln!("skipped: {DEFAULT_PATH} not installed (apt install ieee-data)");
            return;
        };
        assert!(oui.len() > 20_000, "{}", oui.len());
        assert!(oui.bad_rows < 10, "{}", oui.bad_rows);
        // 00:00:0C is Cisco's oldest block.
        assert!(oui.vendor([0, 0, 0x0C, 1, 2, 3]).is_some_and(|v| v.contains("Cisco")));
    }
}
