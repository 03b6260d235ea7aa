//! The collector's data directory: database, CA, enroll secret and admin token, each a plainly
//! named file (`census.db`, `ca.pem`, `ca.key`, `enroll-secret`, `admin-token`).

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

pub const ENROLL_SECRET_FILE: &str = "enroll-secret";
pub const ADMIN_TOKEN_FILE: &str = "admin-token";
pub const DATABASE_FILE: &str = "census.db";
/// Where the packages put the data; used by default when it exists.
pub const PACKAGED_DATA_DIR: &str = "/var/lib/census-collector";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is empty")]
    Empty { path: PathBuf },
    #[error("no data directory given and no home directory to put one in")]
    NoDefault,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> DataDirError + '_ {
    move |source| DataDirError::Io { path: path.to_path_buf(), source }
}

pub fn default_path() -> Result<PathBuf, DataDirError> {
    if Path::new(PACKAGED_DATA_DIR).is_dir() {
        return Ok(PACKAGED_DATA_DIR.into());
    }
    directories::ProjectDirs::from("", "", "census-collector")
        .map(|d| d.data_dir().to_path_buf())
        .ok_or(DataDirError::NoDefault)
}

/// Creates `dir` (mode 0700) when absent.
pub fn ensure(dir: &Path) -> Result<(), DataDirError> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io_err(dir))
}

pub fn read_text(path: &Path) -> Result<String, DataDirError> {
    fs::read_to_string(path).map_err(io_err(path))
}

fn write_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), DataDirError> {
    census_cmd::write_atomic(path, bytes, mode).map_err(io_err(path))
}

/// Writes a secret file (mode 0600).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), DataDirError> {
    write_mode(path, bytes, 0o600)
}

/// Writes a file others may read (mode 0644), such as the CA certificate.
pub fn write_public(path: &Path, bytes: &[u8]) -> Result<(), DataDirError> {
    write_mode(path, bytes, 0o644)
}

/// Reads the secret in `path`, creating a random one on first run. Returns it and whether it
/// was created.
pub fn ensure_secret(path: &Path) -> Result<(String, bool), DataDirError> {
    match fs::read_to_string(path) {
        Ok(s) if s.trim().is_empty() => Err(DataDirError::Empty { path: path.to_path_buf() }),
        Ok(s) => Ok((s.trim().to_string(), false)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let secret = random_token();
            write_private(path, format!("{secret}\n").as_bytes())?;
            Ok((secret, true))
        }
        Err(e) => Err(io_err(path)(e)),
    }
}

/// 32 random bytes as lower-case hex.
pub fn random_token() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut b).expect("the system random source works");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Compares a presented secret with the expected one without leaking where they differ:
/// both are hashed first, so timing reveals nothing about the secret itself.
pub fn secret_matches(expected: &str, presented: &str) -> bool {
    let a = ring::digest::digest(&ring::digest::SHA256, expected.as_bytes());
    let b = ring::digest::digest(&ring::digest::SHA256, presented.as_bytes());
    a.as_ref() == b.as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn secret_created_once_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(ENROLL_SECRET_FILE);
        let (a, created) = ensure_secret(&p).unwrap();
        assert!(created);
        assert_eq!(a.len(), 64);
        let (b, created) = ensure_secret(&p).unwrap();
        assert!(!created);
        assert_eq!(a, b);
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(secret_matches(&a, &b));
        assert!(!secret_matches(&a, "wrong"));
    }

    #[test]
    fn empty_secret_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(ADMIN_TOKEN_FILE);
        fs::write(&p, "\n").unwrap();
        assert!(matches!(ensure_secret(&p), Err(DataDirError::Empty { .. })));
    }
}
