//! Capture files: classic pcap (both byte orders, microsecond and nanosecond magic) and pcapng
//! (section header, interface description, enhanced/simple/obsolete packet blocks, both byte
//! orders, per-interface link type, `if_tsresol` and `if_tsoffset`).
//!
//! Hand-written (about 250 lines) rather than the pcap-file crate: pcap-file 2.0 depends on
//! thiserror 1 while the workspace builds thiserror 2, so it would add a second copy.
//!
//! Bounded and total: a record or block over [`MAX_RECORD`] bytes is never allocated, every
//! length is checked before it is used, and the reader only moves forward, so it always ends.
//! A file whose start is not a capture is one [`Error`]; a damaged record inside an otherwise
//! valid file is a [`Record::Damaged`], and the reader stops when the damage loses its place
//! (a length it cannot trust) or skips the one block when the damage is inside it.

use std::io::{self, Read};

/// Largest record (classic) or block (pcapng) read; larger ones are damage.
pub const MAX_RECORD: usize = 256 * 1024;
/// Interfaces kept per pcapng section; further IDBs are damage.
pub const MAX_INTERFACES: usize = 1024;
/// LINKTYPE_ETHERNET: the only link type whose frames go to [`crate::frame::parse`].
pub const LINKTYPE_ETHERNET: u32 = 1;

/// Why a file is not readable as a capture at all.
#[derive(Debug)]
pub enum Error {
    Io(io::Error),
    Empty,
    /// The first four bytes are no pcap or pcapng magic.
    NotCapture([u8; 4]),
    /// The file ends inside its own header.
    TruncatedHeader,
    /// The pcapng section header is inconsistent (the named problem).
    BadSectionHeader(&'static str),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "{e}"),
            Self::Empty => f.write_str("empty file, not a pcap or pcapng capture"),
            Self::NotCapture(m) => write!(
                f,
                "not a pcap or pcapng capture (starts with {:02x} {:02x} {:02x} {:02x})",
                m[0], m[1], m[2], m[3]
            ),
            Self::TruncatedHeader => f.write_str("capture file ends inside its header"),
            Self::BadSectionHeader(why) => write!(f, "not a valid pcapng file: section header {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// What was wrong with one record of a readable file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The file ends inside a record (the reader stops).
    Truncated,
    /// A length the reader cannot trust: over [`MAX_RECORD`], under the minimum, not a multiple
    /// of 4, head and tail lengths differ, or a later section header is broken (the reader
    /// stops: it lost its place).
    BadLength,
    /// A block whose content is inconsistent (captured length beyond the block, an unknown
    /// interface, too many interfaces); skipped, reading goes on.
    BadBlock,
}

/// One packet: its time, its link type and its bytes (as captured, maybe cut at the snap length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Unix seconds.
    pub timestamp: i64,
    pub linktype: u32,
    pub data: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    Packet(Packet<'a>),
    Damaged(Damage),
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u32,
    /// Timestamp units per second (u128: `if_tsresol` may say up to 10^38 or 2^127).
    units: u128,
    offset: i64,
}

enum Format {
    /// Big-endian, nanosecond resolution, link type.
    Classic {
        big: bool,
        nanos: bool,
        linktype: u32,
    },
    Ng {
        big: bool,
        interfaces: Vec<Interface>,
    },
}

/// Reads records one at a time; the packet borrows the reader's buffer until the next call.
pub struct Reader<R> {
    inner: R,
    format: Format,
    buf: Vec<u8>,
    done: bool,
    /// The packet the last step left in `buf`: timestamp, link type, start, length.
    current: (i64, u32, usize, usize),
    /// The last timestamp seen, for simple packet blocks, which carry none.
    last_ts: i64,
}

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const OPB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

fn u16_at(b: &[u8], i: usize, big: bool) -> u16 {
    let v = [b[i], b[i + 1]];
    if big { u16::from_be_bytes(v) } else { u16::from_le_bytes(v) }
}

fn u32_at(b: &[u8], i: usize, big: bool) -> u32 {
    let v = [b[i], b[i + 1], b[i + 2], b[i + 3]];
    if big { u32::from_be_bytes(v) } else { u32::from_le_bytes(v) }
}

/// Reads until `buf` is full or the input ends; the number of bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<R: Read> Reader<R> {
    /// Reads the file header (classic) or the first section header (pcapng).
    pub fn new(mut inner: R) -> Result<Self, Error> {
        let mut head = [0u8; 24];
        let n = read_full(&mut inner, &mut head[..4])?;
        if n == 0 {
            return Err(Error::Empty);
        }
        if n < 4 {
            return Err(Error::TruncatedHeader);
        }
        let magic = [head[0], head[1], head[2], head[3]];
        let classic = match u32::from_le_bytes(magic) {
            0xA1B2_C3D4 => Some((false, false)),
            0xA1B2_3C4D => Some((false, true)),
            _ => match u32::from_be_bytes(magic) {
                0xA1B2_C3D4 => Some((true, false)),
                0xA1B2_3C4D => Some((true, true)),
                _ => None,
            },
        };
        if let Some((big, nanos)) = classic {
            if read_full(&mut inner, &mut head[4..])? < 20 {
                return Err(Error::TruncatedHeader);
            }
            // The upper 4 bits may carry FCS information.
            let linktype = u32_at(&head, 20, big) & 0x0FFF_FFFF;
            let format = Format::Classic { big, nanos, linktype };
            return Ok(Self { inner, format, buf: Vec::new(), done: false, current: (0, 0, 0, 0), last_ts: 0 });
        }
        if u32::from_le_bytes(magic) != SHB {
            return Err(Error::NotCapture(magic));
        }
        let format = Format::Ng { big: false, interfaces: Vec::new() };
        let mut reader = Self { inner, format, buf: Vec::new(), done: false, current: (0, 0, 0, 0), last_ts: 0 };
        match reader.section_header() {
            Ok(()) => Ok(reader),
            Err(Damage::Truncated) => Err(Error::TruncatedHeader),
            Err(Damage::BadLength) => Err(Error::BadSectionHeader("has a bad length")),
            Err(Damage::BadBlock) => Err(Error::BadSectionHeader("has no byte-order magic")),
        }
    }

    /// The next record; `Ok(None)` at the end (or after damage the reader cannot step over).
    pub fn next_record(&mut self) -> io::Result<Option<Record<'_>>> {
        if self.done {
            return Ok(None);
        }
        let result = match self.format {
            Format::Classic { big, nanos, linktype } => self.classic(big, nanos, linktype),
            Format::Ng { .. } => self.ng(),
        };
        match result {
            Ok(Some(())) => Ok(Some(self.packet())),
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(Step::Io(e)) => {
                self.done = true;
                Err(e)
            }
            Err(Step::Damage(d)) => {
                if d != Damage::BadBlock {
                    self.done = true;
                }
                Ok(Some(Record::Damaged(d)))
            }
        }
    }

    fn packet(&self) -> Record<'_> {
        let (timestamp, linktype, start, len) = self.current;
        Record::Packet(Packet { timestamp, linktype, data: &self.buf[start..start + len] })
    }

    /// Reads `len` bytes into `buf[at..]`; damage when the file ends first.
    fn fill(&mut self, at: usize, len: usize) -> Result<(), Step> {
        self.buf.resize(at + len, 0);
        let n = read_full(&mut self.inner, &mut self.buf[at..]).map_err(Step::Io)?;
        if n < len { Err(Step::Damage(Damage::Truncated)) } else { Ok(()) }
    }

    fn classic(&mut self, big: bool, nanos: bool, linktype: u32) -> Result<Option<()>, Step> {
        let mut head = [0u8; 16];
        match read_full(&mut self.inner, &mut head).map_err(Step::Io)? {
            0 => return Ok(None),
            16 => {}
            _ => return Err(Step::Damage(Damage::Truncated)),
        }
        let secs = u32_at(&head, 0, big);
        let _frac = (u32_at(&head, 4, big), nanos);
        let incl = u32_at(&head, 8, big) as usize;
        if incl > MAX_RECORD {
            return Err(Step::Damage(Damage::BadLength));
        }
        self.buf.clear();
        self.fill(0, incl)?;
        self.current = (i64::from(secs), linktype, 0, incl);
        Ok(Some(()))
    }

    /// Reads a block's body after its type and length were read; the tail length must agree.
    fn block_body(&mut self, big: bool, len: u32) -> Result<(), Step> {
        let len = len as usize;
        if len < 12 || !len.is_multiple_of(4) || len > MAX_RECORD {
            return Err(Step::Damage(Damage::BadLength));
        }
        self.buf.clear();
        self.fill(0, len - 8)?;
        if u32_at(&self.buf, len - 12, big) as usize != len {
            return Err(Step::Damage(Damage::BadLength));
        }
        self.buf.truncate(len - 12);
        Ok(())
    }

    /// A section header block whose 4-byte type was already read.
    fn section_header(&mut self) -> Result<(), Damage> {
        let mut head = [0u8; 8];
        if read_full(&mut self.inner, &mut head).map_err(|_| Damage::Truncated)? < 8 {
            return Err(Damage::Truncated);
        }
        let big = match u32::from_le_bytes([head[4], head[5], head[6], head[7]]) {
            BYTE_ORDER_MAGIC => false,
            m if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
            _ => return Err(Damage::BadBlock),
        };
        let len = u32_at(&head, 0, big);
        if len < 28 {
            return Err(Damage::BadLength);
        }
        // The body after the byte-order magic: versions, section length, options, tail length.
        let len = len as usize;
        if !len.is_multiple_of(4) || len > MAX_RECORD {
            return Err(Damage::BadLength);
        }
        self.buf.clear();
        match self.fill(0, len - 12) {
            Ok(()) => {}
            Err(Step::Damage(d)) => return Err(d),
            Err(Step::Io(_)) => return Err(Damage::Truncated),
        }
        if u32_at(&self.buf, len - 16, big) as usize != len {
            return Err(Damage::BadLength);
        }
        self.format = Format::Ng { big, interfaces: Vec::new() };
        Ok(())
    }

    fn ng(&mut self) -> Result<Option<()>, Step> {
        loop {
            let mut head = [0u8; 8];
            let n = read_full(&mut self.inner, &mut head[..4]).map_err(Step::Io)?;
            if n == 0 {
                return Ok(None);
            }
            if n < 4 {
                return Err(Step::Damage(Damage::Truncated));
            }
            if u32::from_le_bytes([head[0], head[1], head[2], head[3]]) == SHB {
                // Inside a file, any damage to a section header loses the reader's place.
                self.section_header()
                    .map_err(|d| Step::Damage(if d == Damage::Truncated { d } else { Damage::BadLength }))?;
                continue;
            }
            let Format::Ng { big, .. } = self.format else { unreachable!("pcapng state") };
            if read_full(&mut self.inner, &mut head[4..]).map_err(Step::Io)? < 4 {
                return Err(Step::Damage(Damage::Truncated));
            }
            let kind = u32_at(&head, 0, big);
            self.block_body(big, u32_at(&head, 4, big))?;
            match kind {
                IDB => self.interface(big)?,
                EPB | OPB | SPB => return self.packet_block(kind, big).map(Some),
                _ => {}
            }
        }
    }

    fn interface(&mut self, big: bool) -> Result<(), Step> {
        let body = &self.buf;
        if body.len() < 8 {
            return Err(Step::Damage(Damage::BadBlock));
        }
        let mut iface = Interface { linktype: u32::from(u16_at(body, 0, big)), units: 1_000_000, offset: 0 };
        // Options: code, length, value padded to 4.
        let mut opts = &body[8..];
        while opts.len() >= 4 {
            let code = u16_at(opts, 0, big);
            let len = usize::from(u16_at(opts, 2, big));
            let Some(value) = opts.get(4..4 + len) else { break };
            match (code, value) {
                (0, _) => break,
                (9, [r]) => {
                    let exp = u32::from(r & 0x7F);
                    let units = if r & 0x80 == 0 { 10u128.checked_pow(exp) } else { 2u128.checked_pow(exp) };
                    iface.units = units.unwrap_or(1_000_000);
                }
                (14, v) if v.len() == 8 => {
                    let b: [u8; 8] = v.try_into().expect("8 bytes");
                    iface.offset = if big { i64::from_be_bytes(b) } else { i64::from_le_bytes(b) };
                }
                _ => {}
            }
            opts = opts.get((4 + len).next_multiple_of(4)..).unwrap_or(&[]);
        }
        let Format::Ng { interfaces, .. } = &mut self.format else { unreachable!("pcapng state") };
        if interfaces.len() >= MAX_INTERFACES {
            return Err(Step::Damage(Damage::BadBlock));
        }
        interfaces.push(iface);
        Ok(())
    }

    fn packet_block(&mut self, kind: u32, big: bool) -> Result<(), Step> {
        let body = &self.buf;
        let (iface, ts, start, caplen) = match kind {
            SPB if body.len() >= 4 => (0, None, 4, (u32_at(body, 0, big) as usize).min(body.len() - 4)),
            EPB if body.len() >= 20 => {
                let ts = (u64::from(u32_at(body, 4, big)) << 32) | u64::from(u32_at(body, 8, big));
                (u32_at(body, 0, big) as usize, Some(ts), 20, u32_at(body, 12, big) as usize)
            }
            OPB if body.len() >= 20 => {
                let ts = (u64::from(u32_at(body, 4, big)) << 32) | u64::from(u32_at(body, 8, big));
                (usize::from(u16_at(body, 0, big)), Some(ts), 20, u32_at(body, 12, big) as usize)
            }
            _ => return Err(Step::Damage(Damage::BadBlock)),
        };
        if caplen > body.len() - start {
            return Err(Step::Damage(Damage::BadBlock));
        }
        let Format::Ng { interfaces, .. } = &self.format else { unreachable!("pcapng state") };
        let Some(&iface) = interfaces.get(iface) else { return Err(Step::Damage(Damage::BadBlock)) };
        let secs = match ts {
            Some(t) => i64::try_from(u128::from(t) / iface.units).unwrap_or(i64::MAX).saturating_add(iface.offset),
            None => self.last_ts,
        };
        self.last_ts = secs;
        self.current = (secs, iface.linktype, start, caplen);
        Ok(())
    }
}

enum Step {
    Io(io::Error),
    Damage(Damage),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w16(out: &mut Vec<u8>, v: u16, big: bool) {
        out.extend_from_slice(&if big { v.to_be_bytes() } else { v.to_le_bytes() });
    }

    fn w32(out: &mut Vec<u8>, v: u32, big: bool) {
        out.extend_from_slice(&if big { v.to_be_bytes() } else { v.to_le_bytes() });
    }

    /// A classic pcap file with records (seconds, fraction, bytes).
    fn classic(big: bool, nanos: bool, linktype: u32, records: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut f = Vec::new();
        w32(&mut f, if nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 }, big);
        w16(&mut f, 2, big);
        w16(&mut f, 4, big);
        w32(&mut f, 0, big);
        w32(&mut f, 0, big);
        w32(&mut f, 65535, big);
        w32(&mut f, linktype, big);
        for (secs, frac, data) in records {
            w32(&mut f, *secs, big);
            w32(&mut f, *frac, big);
            w32(&mut f, data.len() as u32, big);
            w32(&mut f, data.len() as u32, big);
            f.extend_from_slice(data);
        }
        f
    }

    fn block(kind: u32, body: &[u8], big: bool) -> Vec<u8> {
        let mut padded = body.to_vec();
        padded.resize(body.len().next_multiple_of(4), 0);
        let len = padded.len() as u32 + 12;
        let mut b = Vec::new();
        w32(&mut b, kind, big);
        w32(&mut b, len, big);
        b.extend_from_slice(&padded);
        w32(&mut b, len, big);
        b
    }

    fn shb(big: bool) -> Vec<u8> {
        let mut body = Vec::new();
        w32(&mut body, BYTE_ORDER_MAGIC, big);
        w16(&mut body, 1, big);
        w16(&mut body, 0, big);
        body.extend_from_slice(&[0xFF; 8]); // section length unknown
        block(SHB, &body, big)
    }

    /// An IDB with an optional if_tsresol byte.
    fn idb(linktype: u16, tsresol: Option<u8>, big: bool) -> Vec<u8> {
        let mut body = Vec::new();
        w16(&mut body, linktype, big);
        w16(&mut body, 0, big);
        w32(&mut body, 0, big);
        if let Some(r) = tsresol {
            w16(&mut body, 9, big);
            w16(&mut body, 1, big);
            body.extend_from_slice(&[r, 0, 0, 0]);
            w32(&mut body, 0, big); // opt_endofopt
        }
        block(IDB, &body, big)
    }

    fn epb(iface: u32, ts: u64, data: &[u8], big: bool) -> Vec<u8> {
        let mut body = Vec::new();
        w32(&mut body, iface, big);
        w32(&mut body, (ts >> 32) as u32, big);
        w32(&mut body, ts as u32, big);
        w32(&mut body, data.len() as u32, big);
        w32(&mut body, data.len() as u32, big);
        body.extend_from_slice(data);
        block(EPB, &body, big)
    }

    fn spb(data: &[u8], big: bool) -> Vec<u8> {
        let mut body = Vec::new();
        w32(&mut body, data.len() as u32, big);
        body.extend_from_slice(data);
        block(SPB, &body, big)
    }

    #[derive(Debug, PartialEq)]
    enum Got {
        P(i64, u32, Vec<u8>),
        D(Damage),
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Got>, Error> {
        let mut r = Reader::new(bytes)?;
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(match rec {
                Record::Packet(p) => Got::P(p.timestamp, p.linktype, p.data.to_vec()),
                Record::Damaged(d) => Got::D(d),
            });
            assert!(out.len() < 10_000, "reader does not end");
        }
        Ok(out)
    }

    #[test]
    fn classic_both_byte_orders_and_resolutions() {
        for big in [false, true] {
            for nanos in [false, true] {
                let f = classic(big, nanos, 1, &[(1_700_000_000, 999, b"abc"), (1_700_000_001, 0, b"")]);
                let got = read_all(&f).unwrap();
                assert_eq!(
                    got,
                    [Got::P(1_700_000_000, 1, b"abc".to_vec()), Got::P(1_700_000_001, 1, vec![])],
                    "big {big} nanos {nanos}"
                );
            }
        }
        // FCS bits above the link type are masked off.
        let got = read_all(&classic(false, false, 0x1000_0001 | 0x0400_0000, &[(5, 0, b"x")])).unwrap();
        assert_eq!(got, [Got::P(5, 0x0400_0001, b"x".to_vec())]);
    }

    #[test]
    fn classic_damage_is_counted_and_stops() {
        let mut f = classic(false, false, 1, &[(1, 0, b"abcd"), (2, 0, b"efgh")]);
        f.truncate(f.len() - 2);
        assert_eq!(read_all(&f).unwrap(), [Got::P(1, 1, b"abcd".to_vec()), Got::D(Damage::Truncated)]);
        // A record header cut short.
        let f = classic(false, false, 1, &[(1, 0, b"abcd")]);
        let mut g = f.clone();
        g.extend_from_slice(&[1, 2, 3]);
        assert_eq!(read_all(&g).unwrap(), [Got::P(1, 1, b"abcd".to_vec()), Got::D(Damage::Truncated)]);
        // An absurd length is never allocated.
        let mut g = f.clone();
        g.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0]);
        g.extend_from_slice(&[0; 64]);
        assert_eq!(read_all(&g).unwrap(), [Got::P(1, 1, b"abcd".to_vec()), Got::D(Damage::BadLength)]);
        // Header only: no packets.
        assert_eq!(read_all(&classic(true, true, 1, &[])).unwrap(), []);
    }

    #[test]
    fn not_a_capture_is_one_clear_error() {
        assert!(matches!(read_all(b""), Err(Error::Empty)));
        assert!(matches!(read_all(b"\xd4\xc3"), Err(Error::TruncatedHeader)));
        let e = read_all(b"hello world, not a capture").unwrap_err();
        assert_eq!(e.to_string(), "not a pcap or pcapng capture (starts with 68 65 6c 6c)");
        let f = classic(false, false, 1, &[]);
        assert!(matches!(read_all(&f[..20]), Err(Error::TruncatedHeader)));
        // pcapng: no byte-order magic, bad lengths, cut short.
        let mut s = shb(false);
        s[8] ^= 0xFF;
        assert!(read_all(&s).unwrap_err().to_string().contains("byte-order magic"));
        let mut s = shb(false);
        s[4] = 13;
        assert!(read_all(&s).unwrap_err().to_string().contains("bad length"));
        let s = shb(true);
        assert!(matches!(read_all(&s[..20]), Err(Error::TruncatedHeader)));
        let mut s = shb(false);
        s[4..8].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
        assert!(read_all(&s).is_err());
    }

    #[test]
    fn pcapng_both_byte_orders_with_resolutions_and_link_types() {
        for big in [false, true] {
            let mut f = shb(big);
            f.extend(idb(1, None, big)); // microseconds
            f.extend(idb(113, Some(9), big)); // Linux SLL, nanoseconds
            f.extend(idb(1, Some(0x80 | 10), big)); // 2^-10 s
            f.extend(block(4, &[0; 8], big)); // a name resolution block, skipped
            f.extend(epb(0, 1_700_000_000_123_456, b"frame0", big));
            f.extend(epb(1, 1_700_000_001_000_000_001, b"sll", big));
            f.extend(epb(2, 1_700_000_002 << 10, b"pow2", big));
            f.extend(spb(b"simple", big));
            let got = read_all(&f).unwrap();
            assert_eq!(
                got,
                [
                    Got::P(1_700_000_000, 1, b"frame0".to_vec()),
                    Got::P(1_700_000_001, 113, b"sll".to_vec()),
                    Got::P(1_700_000_002, 1, b"pow2".to_vec()),
                    Got::P(1_700_000_002, 1, b"simple".to_vec()),
                ],
                "big {big}"
            );
        }
    }

    #[test]
    fn pcapng_new_section_resets_interfaces_and_byte_order() {
        let mut f = shb(false);
        f.extend(idb(1, None, false));
        f.extend(epb(0, 3_000_000, b"a", false));
        f.extend(shb(true));
        f.extend(epb(0, 4_000_000, b"no interface yet", true));
        f.extend(idb(1, None, true));
        f.extend(epb(0, 5_000_000, b"b", true));
        assert_eq!(
            read_all(&f).unwrap(),
            [Got::P(3, 1, b"a".to_vec()), Got::D(Damage::BadBlock), Got::P(5, 1, b"b".to_vec())]
        );
    }

    #[test]
    fn pcapng_damaged_blocks() {
        let good = |f: &mut Vec<u8>| f.extend(epb(0, 7_000_000, b"ok", false));
        let mut base = shb(false);
        base.extend(idb(1, None, false));

        // Captured length beyond the block: that block skipped, the next one read.
        let mut f = base.clone();
        let mut bad = epb(0, 1, b"abcd", false);
        bad[20..24].copy_from_slice(&100u32.to_le_bytes());
        f.extend(bad);
        good(&mut f);
        assert_eq!(read_all(&f).unwrap(), [Got::D(Damage::BadBlock), Got::P(7, 1, b"ok".to_vec())]);

        // Block lengths: under 12, not a multiple of 4, absurd, head and tail differ.
        for len in [8u32, 14, 0x0100_0000] {
            let mut f = base.clone();
            let mut bad = epb(0, 1, b"abcd", false);
            bad[4..8].copy_from_slice(&len.to_le_bytes());
            f.extend(bad);
            good(&mut f);
            assert_eq!(read_all(&f).unwrap(), [Got::D(Damage::BadLength)], "len {len}");
        }
        let mut f = base.clone();
        let mut bad = epb(0, 1, b"abcd", false);
        let n = bad.len();
        bad[n - 4] ^= 4;
        f.extend(bad);
        assert_eq!(read_all(&f).unwrap(), [Got::D(Damage::BadLength)]);

        // Cut anywhere inside the last block: truncated, never a panic.
        let mut f = base.clone();
        good(&mut f);
        let whole = f.len();
        good(&mut f);
        for cut in whole + 1..f.len() {
            assert_eq!(
                read_all(&f[..cut]).unwrap(),
                [Got::P(7, 1, b"ok".to_vec()), Got::D(Damage::Truncated)],
                "cut {cut}"
            );
        }
    }

    #[test]
    fn every_prefix_and_byte_flip_ends_without_panic() {
        let mut f = shb(true);
        f.extend(idb(1, Some(9), true));
        f.extend(epb(0, 1, b"0123456789", true));
        f.extend(spb(b"xyz", true));
        let c = classic(false, true, 1, &[(1, 2, b"0123456789"), (3, 4, b"ab")]);
        for file in [f, c] {
            for cut in 0..file.len() {
                let _ = read_all(&file[..cut]);
            }
            for i in 0..file.len() {
                for bit in [0x01, 0x80] {
                    let mut g = file.clone();
                    g[i] ^= bit;
                    let _ = read_all(&g);
                }
            }
        }
    }
}
