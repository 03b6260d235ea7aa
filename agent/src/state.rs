//! The agent's state directory: its Ed25519 key, its enrollment, its last sequence number, and
//! the base of its delta reports (the last inventory it spooled, and when it last spooled a
//! full one).
//!
//! Files are written atomically (temporary file, fsync, rename, fsync of the directory) with
//! mode 0600 in a 0700 directory, so a crash mid-write leaves the previous valid file.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use census_proto::signing::{AgentKey, KeyError};
use serde::{Deserialize, Serialize};

const KEY_FILE: &str = "agent.key";
const ENROLLMENT_FILE: &str = "enrollment.json";
const SEQUENCE_FILE: &str = "sequence";
/// The last inventory spooled (full or through a delta), encoded `census.v1.Inventory`.
const BASE_FILE: &str = "base.inventory";
/// When the last full inventory was spooled, Unix milliseconds.
const LAST_FULL_FILE: &str = "last-full";
/// Where the packages put state; used by default when it exists.
pub const PACKAGED_STATE_DIR: &str = "/var/lib/census-agent";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state directory {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {source}")]
    Key { path: PathBuf, source: KeyError },
    #[error("{path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("no state directory given and no home directory to put one in")]
    NoDefault,
}

/// Which collector this agent enrolled with, and the id it was given. A collector is known by
/// its CA (the one the agent pins), not by its URL, which may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub agent_id: String,
    /// SHA-256 of the pinned CA file, white space removed, lower-case hex.
    pub collector_ca_sha256: String,
    /// The URL used at enrollment (for people reading the file).
    pub collector_url: String,
    /// The TLS client certificate the collector issued for this agent's key (PEM).
    #[serde(default)]
    pub client_certificate_pem: String,
}

pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// The default: the packaged directory when it exists, else the per-user data directory.
    pub fn default_path() -> Result<PathBuf, StateError> {
        if Path::new(PACKAGED_STATE_DIR).is_dir() {
            return Ok(PACKAGED_STATE_DIR.into());
        }
        directories::ProjectDirs::from("", "", "census-agent")
            .map(|d| d.data_dir().to_path_buf())
            .ok_or(StateError::NoDefault)
    }

    /// Opens `dir`, creating it with mode 0700 when absent.
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        let io_err = |source| StateError::Io { path: dir.to_path_buf(), source };
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io_err)?;
        if !dir.is_dir() {
            return Err(io_err(io::Error::other("not a directory")));
        }
        Ok(Self { dir: dir.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Loads the agent key, generating and storing one on first start.
    pub fn load_or_create_key(&self) -> Result<AgentKey, StateError> {
        let path = self.dir.join(KEY_FILE);
        match fs::read(&path) {
            Ok(bytes) => AgentKey::from_pkcs8(&bytes).map_err(|source| StateError::Key { path, source }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let key = AgentKey::generate().map_err(|source| StateError::Key { path: path.clone(), source })?;
                write_atomic(&path, key.pkcs8())?;
                Ok(key)
            }
            Err(source) => Err(StateError::Io { path, source }),
        }
    }

    pub fn enrollment(&self) -> Result<Option<Enrollment>, StateError> {
        let path = self.dir.join(ENROLLMENT_FILE);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StateError::Corrupt { path, reason: e.to_string() }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Io { path, source }),
        }
    }

    pub fn save_enrollment(&self, e: &Enrollment) -> Result<(), StateError> {
        let bytes = serde_json::to_vec_pretty(e).expect("enrollment serializes");
        write_atomic(&self.dir.join(ENROLLMENT_FILE), &bytes)
    }

    pub fn forget_enrollment(&self) -> Result<(), StateError> {
        let path = self.dir.join(ENROLLMENT_FILE);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StateError::Io { path, source: e }),
            _ => Ok(()),
        }
    }

    /// Reserves the next sequence number and stores it before it is used, so a number is
    /// never reused, even across a crash.
    pub fn next_sequence(&self) -> Result<u64, StateError> {
        let path = self.dir.join(SEQUENCE_FILE);
        let last = match fs::read_to_string(&path) {
            Ok(s) => s
                .trim()
                .parse::<u64>()
                .map_err(|e| StateError::Corrupt { path: path.clone(), reason: e.to_string() })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(source) => return Err(StateError::Io { path, source }),
        };
        let next = last
            .checked_add(1)
            .ok_or_else(|| StateError::Corrupt { path: path.clone(), reason: "sequence exhausted".into() })?;
        write_atomic(&path, format!("{next}\n").as_bytes())?;
        Ok(next)
    }
}

impl StateDir {
    /// The last inventory spooled, the base of the next delta; `None` when there is none (or
    /// it was dropped: the next report is then full). A file that does not decode is `Corrupt`.
    pub fn base(&self) -> Result<Option<census_inventory::Inventory>, StateError> {
        use prost::Message;
        let path = self.dir.join(BASE_FILE);
        match fs::read(&path) {
            Ok(bytes) => census_proto::v1::Inventory::decode(bytes.as_slice())
                .map(|inv| Some(inv.into()))
                .map_err(|e| StateError::Corrupt { path, reason: e.to_string() }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Io { path, source }),
        }
    }

    /// Stores `inventory` as the base of the next delta (atomically, mode 0600).
    pub fn save_base(&self, inventory: &census_inventory::Inventory) -> Result<(), StateError> {
        use prost::Message;
        write_atomic(&self.dir.join(BASE_FILE), &census_proto::v1::Inventory::from(inventory).encode_to_vec())
    }

    /// Drops the base: the next report is a full inventory.
    pub fn forget_base(&self) -> Result<(), StateError> {
        let path = self.dir.join(BASE_FILE);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StateError::Io { path, source: e }),
            _ => Ok(()),
        }
    }

    /// When the last full inventory was spooled (Unix ms); `None` when never, or unreadable.
    pub fn last_full_ms(&self) -> Option<i64> {
        fs::read_to_string(self.dir.join(LAST_FULL_FILE)).ok()?.trim().parse().ok()
    }

    pub fn save_last_full_ms(&self, at: i64) -> Result<(), StateError> {
        write_atomic(&self.dir.join(LAST_FULL_FILE), format!("{at}\n").as_bytes())
    }
}

/// Writes a state file atomically with mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    census_cmd::write_atomic(path, bytes, 0o600).map_err(|source| StateError::Io { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn key_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(&dir.path().join("s")).unwrap();
        let a = state.load_or_create_key().unwrap();
        let b = state.load_or_create_key().unwrap();
        assert_eq!(a.agent_id(), b.agent_id());
        let mode = fs::metadata(state.path().join(KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(state.path()).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }

    #[test]
    fn corrupt_key_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(KEY_FILE), b"garbage").unwrap();
        let err = StateDir::open(dir.path()).unwrap().load_or_create_key().err().unwrap();
        assert!(err.to_string().contains("agent.key: agent key is not a valid ed25519"), "{err}");
    }

    #[test]
    fn sequence_strictly_increases_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateDir::open(dir.path()).unwrap();
        assert_eq!(s.next_sequence().unwrap(), 1);
        assert_eq!(s.next_sequence().unwrap(), 2);
        let s = StateDir::open(dir.path()).unwrap();
        assert_eq!(s.next_sequence().unwrap(), 3);
    }

    #[test]
    fn base_round_trips_with_mode_0600_and_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateDir::open(dir.path()).unwrap();
        assert_eq!(s.base().unwrap(), None);
        assert_eq!(s.last_full_ms(), None);
        let inv = census_inventory::Inventory {
            software: vec![census_inventory::Package { name: "a".into(), ..Default::default() }],
            ..Default::default()
        };
        s.save_base(&inv).unwrap();
        s.save_last_full_ms(1234).unwrap();
        assert_eq!(s.base().unwrap(), Some(inv));
        assert_eq!(s.last_full_ms(), Some(1234));
        let mode = fs::metadata(s.path().join(BASE_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        s.forget_base().unwrap();
        assert_eq!(s.base().unwrap(), None);
        s.forget_base().unwrap();
        fs::write(s.path().join(BASE_FILE), b"\xff\xff").unwrap();
        assert!(matches!(s.base(), Err(StateError::Corrupt { .. })));
    }

    #[test]
    fn enrollment_round_trip_and_forget() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateDir::open(dir.path()).unwrap();
        assert_eq!(s.enrollment().unwrap(), None);
        let e = Enrollment {
            agent_id: "ab".into(),
            collector_ca_sha256: "00".into(),
            collector_url: "https://c:1".into(),
            client_certificate_pem: String::new(),
        };
        s.save_enrollment(&e).unwrap();
        assert_eq!(s.enrollment().unwrap(), Some(e));
        s.forget_enrollment().unwrap();
        assert_eq!(s.enrollment().unwrap(), None);
        s.forget_enrollment().unwrap();
    }
}
