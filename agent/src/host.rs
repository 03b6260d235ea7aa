//! The injectable host: every file the agent reads goes through a [`Host`] rooted at `--root`.
//!
//! Architecture invariant: sources never open absolute paths themselves. Files come from the
//! root; kernel state that exists only behind a system call (IPv4 addresses via getifaddrs) is
//! read only when the root is the live `/`, and otherwise reported as a warning.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Component, Path, PathBuf};

/// Longest line a line-oriented parser is given (1 MiB); longer lines are skipped unread.
pub const MAX_LINE: usize = 1024 * 1024;

/// Symlinks followed while resolving one path under a non-live root, as Linux's limit.
const MAX_SYMLINKS: usize = 40;

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

    /// The path of `rel` under the root, with symlinks resolved inside the root (see
    /// [`Host::resolve`]); a missing path stays missing under the root. A path that cannot be
    /// resolved at all (a symlink loop) becomes one under the root that does not exist, so
    /// checks like `exists()` answer no rather than look outside the root.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.locate(rel).unwrap_or_else(|_| self.root.join(".census-unresolvable").join(rel.trim_start_matches('/')))
    }

    /// Where `rel` is on this machine: under the live root the kernel resolves paths itself;
    /// under any other root, symlinks are followed as if the root were `/`.
    fn locate(&self, rel: &str) -> io::Result<PathBuf> {
        let rel = rel.trim_start_matches('/');
        if self.live {
            return Ok(self.root.join(rel));
        }
        Ok(self.root.join(self.resolve_in_root(Path::new(rel), true)?))
    }

    /// Resolves the root-relative path `rel` as if the root were `/` (as `chroot` would): symlinks
    /// are followed, an absolute target starts again at the root and `..` stops at the root, so no
    /// path leaves it. Returns the root-relative path with no symlink in it; errors (kind NotFound
    /// for a missing component) name no path, the caller does.
    pub fn resolve(&self, rel: &Path) -> io::Result<PathBuf> {
        self.resolve_in_root(rel, false)
    }

    /// [`Host::resolve`]; with `missing_ok`, a missing component ends the resolution and the
    /// rest of `rel` is appended as written (nothing below a missing directory can be a link).
    fn resolve_in_root(&self, rel: &Path, missing_ok: bool) -> io::Result<PathBuf> {
        enum Part {
            Root,
            Parent,
            Name(OsString),
        }
        fn push(todo: &mut Vec<Part>, path: &Path) {
            for c in path.components().collect::<Vec<_>>().into_iter().rev() {
                match c {
                    Component::Prefix(_) | Component::RootDir => todo.push(Part::Root),
                    Component::CurDir => {}
                    Component::ParentDir => todo.push(Part::Parent),
                    Component::Normal(n) => todo.push(Part::Name(n.to_os_string())),
                }
            }
        }
        let mut todo = Vec::new();
        push(&mut todo, rel);
        let mut out = PathBuf::new();
        let mut links = 0;
        while let Some(part) = todo.pop() {
            match part {
                Part::Root => out = PathBuf::new(),
                Part::Parent => {
                    out.pop();
                }
                Part::Name(name) => {
                    out.push(name);
                    let full = self.root.join(&out);
                    let meta = match std::fs::symlink_metadata(&full) {
                        Ok(m) => m,
                        Err(e) if missing_ok && e.kind() == io::ErrorKind::NotFound => {
                            while let Some(rest) = todo.pop() {
                                match rest {
                                    Part::Root => out = PathBuf::new(),
                                    Part::Parent => {
                                        out.pop();
                                    }
                                    Part::Name(n) => out.push(n),
                                }
                            }
                            return Ok(out);
                        }
                        Err(e) => return Err(e),
                    };
                    if meta.file_type().is_symlink() {
                        links += 1;
                        if links > MAX_SYMLINKS {
                            return Err(io::Error::other("too many levels of symbolic links"));
                        }
                        let target = std::fs::read_link(&full)?;
                        out.pop();
                        push(&mut todo, &target);
                    }
                }
            }
        }
        Ok(out)
    }

    pub fn read(&self, rel: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.locate(rel)?)
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
        let f = File::open(self.locate(rel)?)?;
        let mut out = Vec::new();
        f.take(max + 1).read_to_end(&mut out)?;
        if out.len() as u64 > max {
            return Err(io::Error::new(io::ErrorKind::FileTooLarge, format!("larger than {max} bytes")));
        }
        Ok(out)
    }

    /// Opens `rel` for a caller that streams it with its own bounded reader (the pci.ids scan,
    /// whose byte-level line splitter is four times faster than [`Host::lines`]); symlinks are
    /// resolved inside the root as for every other read.
    pub fn open_file(&self, rel: &str) -> io::Result<File> {
        File::open(self.locate(rel)?)
    }

    /// Reads `rel` line by line in bounded memory (see [`BoundedLines`]).
    pub fn lines(&self, rel: &str) -> io::Result<BoundedLines<BufReader<File>>> {
        Ok(BoundedLines::new(BufReader::with_capacity(64 * 1024, File::open(self.locate(rel)?)?), MAX_LINE))
    }

    /// Whether `rel` is a directory (following symlinks inside the root).
    pub fn is_dir(&self, rel: &str) -> bool {
        std::fs::metadata(self.path(rel)).is_ok_and(|m| m.is_dir())
    }

    /// Names of the entries of directory `rel`, sorted; empty when it does not exist.
    pub fn list_dir(&self, rel: &str) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        let entries = match self.locate(rel).and_then(std::fs::read_dir) {
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
    use std::os::unix::fs::symlink;

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
    fn resolve_stays_in_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        symlink("/a", root.join("abs")).unwrap();
        symlink("../../../../a/b", root.join("a/up")).unwrap();
        let host = Host::open(root).unwrap();
        assert_eq!(host.resolve(Path::new("abs/b")).unwrap(), Path::new("a/b"));
        assert_eq!(host.resolve(Path::new("a/up/../b/./")).unwrap(), Path::new("a/b"));
        assert_eq!(host.resolve(Path::new("/../a")).unwrap(), Path::new("a"));
        assert_eq!(host.resolve(Path::new("a/nope")).unwrap_err().kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn absolute_symlinks_in_a_non_live_root_stay_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/os-release"), "ID=inside\n").unwrap();
        // An image whose os-release points at /etc/hostname: on the live machine that file
        // exists; under this root it must not be read from the live machine.
        symlink("/etc/hostname", root.join("etc/hostname-link")).unwrap();
        symlink("/etc/os-release", root.join("os-release")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        let host = Host::open(root).unwrap();
        assert_eq!(host.read_string("os-release").unwrap(), "ID=inside\n");
        assert_eq!(host.read("etc/hostname-link").unwrap_err().kind(), io::ErrorKind::NotFound);
        assert!(!host.path("etc/hostname-link").exists());
        let looped = host.read("loop").unwrap_err();
        assert_eq!(looped.to_string(), "too many levels of symbolic links");
    }

    #[test]
    fn slash_is_live() {
        assert!(Host::open(Path::new("/")).unwrap().is_live());
    }
}
