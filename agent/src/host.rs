//! The injectable host: every file the agent reads goes through a [`Host`] rooted at `--root`.
//!
//! Architecture invariant: sources never open absolute paths themselves. Files come from the
//! root; kernel state that exists only behind a system call (IPv4 addresses via getifaddrs) is
//! read only when the root is the live `/`, and otherwise reported as a warning.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Longest line a line-oriented parser is given (1 MiB); longer lines are skipped unread.
pub const MAX_LINE: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("root {path}: {source}")]
    Root { path: PathBuf, source: io::Error },
    #[error("root {0} is not a directory")]
    NotADirectory(PathBuf),
}

/// A host as seen through a filesystem root.
#[derive(Debug, Clone)]
pub struct Host {
    root: PathBuf,
    live: bool,
}

impl Host {
    /// Opens `root`, which must be a readable directory. It is the live host when it resolves to `/`.
    pub fn open(root: &Path) -> Result<Self, HostError> {
        let canonical = root.canonicalize().map_err(|source| HostError::Root { path: root.to_path_buf(), source })?;
        if !canonical.is_dir() {
            return Err(HostError::NotADirectory(root.to_path_buf()));
        }
        std::fs::read_dir(&canonical).map_err(|source| HostError::Root { path: root.to_path_buf(), source })?;
        let live = canonical == Path::new("/");
        Ok(Self { root: canonical, live })
    }

    /// True when the root is `/`, so system calls describe the same machine as the files.
    pub fn is_live(&self) -> bool {
        self.live
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `rel` (written without a leading `/`) under the root.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    pub fn read(&self, rel: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.path(rel))
    }

    /// Reads a text file; invalid UTF-8 is replaced rather than failing the read.
    pub fn read_string(&self, rel: &str) -> io::Result<String> {
        self.read(rel).map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// Reads a one-value file (sysfs, procfs) and trims it. `Ok(None)` when the file is absent.
    pub fn read_value(&self, rel: &str) -> io::Result<Option<String>> {
        match self.read_string(rel) {
            Ok(s) => Ok(Some(s.trim().to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads `rel` whole, refusing files larger than `max` bytes (error kind `FileTooLarge`),
    /// so a hostile file cannot make the agent allocate without bound.
    pub fn read_limited(&self, rel: &str, max: u64) -> io::Result<Vec<u8>> {
        let f = File::open(self.path(rel))?;
        let mut out = Vec::new();
        f.take(max + 1).read_to_end(&mut out)?;
        if out.len() as u64 > max {
            return Err(io::Error::new(io::ErrorKind::FileTooLarge, format!("larger than {max} bytes")));
        }
        Ok(out)
    }

    /// Reads `rel` line by line in bounded memory (see [`BoundedLines`]).
    pub fn lines(&self, rel: &str) -> io::Result<BoundedLines<BufReader<File>>> {
        Ok(BoundedLines::new(BufReader::with_capacity(64 * 1024, File::open(self.path(rel))?), MAX_LINE))
    }

    /// Names of the entries of directory `rel`, sorted; empty when it does not exist.
    pub fn list_dir(&self, rel: &str) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        let entries = match std::fs::read_dir(self.path(rel)) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(names),
            Err(e) => return Err(e),
        };
        for entry in entries {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }
}

/// One line from [`BoundedLines`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// The line without its `\n` (and `\r`), invalid UTF-8 replaced.
    Text(String),
    /// A line longer than the limit: skipped without being kept in memory.
    TooLong { len: u64 },
}

/// Splits a reader into lines holding at most `max` bytes of any line in memory.
pub struct BoundedLines<R> {
    reader: R,
    max: usize,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> BoundedLines<R> {
    pub fn new(reader: R, max: usize) -> Self {
        Self { reader, max, buf: Vec::new(), done: false }
    }
}

impl<R: BufRead> Iterator for BoundedLines<R> {
    type Item = io::Result<Line>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.buf.clear();
        let mut len: u64 = 0;
        let mut too_long = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if chunk.is_empty() {
                self.done = true;
                if len == 0 {
                    return None;
                }
                break;
            }
            let (take, end) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            len += take as u64;
            if !too_long && self.buf.len() + take <= self.max {
                self.buf.extend_from_slice(&chunk[..take]);
            } else if !too_long {
                too_long = true;
                self.buf = Vec::new();
            }
            self.reader.consume(if end { take + 1 } else { take });
            if end {
                break;
            }
        }
        if too_long {
            return Some(Ok(Line::TooLong { len }));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Some(Ok(Line::Text(String::from_utf8_lossy(&self.buf).into_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_root_is_a_clear_error() {
        let err = Host::open(Path::new("/definitely/not/here")).unwrap_err();
        assert!(err.to_string().starts_with("root /definitely/not/here: "), "{err}");
    }

    #[test]
    fn file_root_is_refused() {
        let f = tempfile::NamedTempFile::new().unwrap();
        assert!(matches!(Host::open(f.path()), Err(HostError::NotADirectory(_))));
    }

    #[test]
    fn paths_stay_under_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let host = Host::open(dir.path()).unwrap();
        assert!(!host.is_live());
        assert_eq!(host.path("/etc/os-release"), host.root().join("etc/os-release"));
        assert_eq!(host.read_value("etc/nothing").unwrap(), None);
        assert!(host.list_dir("sys/block").unwrap().is_empty());
    }

    #[test]
    fn bounded_lines_skip_long_lines_and_keep_the_rest() {
        let mut text = format!("short\r\n{}\nafter\n", "x".repeat(100)).into_bytes();
        text.extend_from_slice(b"\xff\nlast");
        let lines: Vec<Line> = BoundedLines::new(io::Cursor::new(text), 10).map(Result::unwrap).collect();
        assert_eq!(
            lines,
            [
                Line::Text("short".into()),
                Line::TooLong { len: 100 },
                Line::Text("after".into()),
                Line::Text("\u{fffd}".into()),
                Line::Text("last".into()),
            ]
        );
    }

    #[test]
    fn bounded_lines_across_small_buffers() {
        let reader = BufReader::with_capacity(3, io::Cursor::new(b"abcdefgh\nij\n".to_vec()));
        let lines: Vec<Line> = BoundedLines::new(reader, 8).map(Result::unwrap).collect();
        assert_eq!(lines, [Line::Text("abcdefgh".into()), Line::Text("ij".into())]);
    }

    #[test]
    fn read_limited_refuses_large_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"12345").unwrap();
        let host = Host::open(dir.path()).unwrap();
        assert_eq!(host.read_limited("f", 5).unwrap(), b"12345");
        assert_eq!(host.read_limited("f", 4).unwrap_err().kind(), io::ErrorKind::FileTooLarge);
    }

    #[test]
    fn slash_is_live() {
        assert!(Host::open(Path::new("/")).unwrap().is_live());
    }
}
