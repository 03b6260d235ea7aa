//! The injectable host: every file the agent reads goes through a [`Host`] rooted at `--root`.
//!
//! Architecture invariant: sources never open absolute paths themselves. Files come from the
//! root; kernel state that exists only behind a system call (IPv4 addresses via getifaddrs) is
//! read only when the root is the live `/`, and otherwise reported as a warning.

use std::io;
use std::path::{Path, PathBuf};

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
    fn slash_is_live() {
        assert!(Host::open(Path::new("/")).unwrap().is_live());
    }
}
