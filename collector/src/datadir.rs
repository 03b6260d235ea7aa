//! The collector's data directory: database, CA, enroll secret and admin token, each a plainly
//! named file (`census.db`, `ca.pem`, `ca.key`, `enroll-secret`, `admin-token`).
//!
//! The two secret files only seed the database: [`bootstrap`] imports them on a first run (the
//! enroll secret as label `initial`, the admin token as token `admin`), and once the database
//! holds enroll secrets or tokens it alone decides, so a revoked initial secret stays revoked.

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
    #[error("bootstrap: {0}")]
    Bootstrap(#[from] crate::store::admin::AdminError),
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

/// The label of the enroll secret imported from [`ENROLL_SECRET_FILE`].
pub const INITIAL_SECRET_LABEL: &str = "initial";
/// The name of the admin token imported from [`ADMIN_TOKEN_FILE`].
pub const INITIAL_TOKEN_NAME: &str = "admin";

/// What [`bootstrap`] did, for the startup printout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bootstrap {
    /// The enroll secret file was imported (and created first, when absent).
    pub enroll_secret_imported: bool,
    /// The admin token file was imported (and created first, when absent).
    pub admin_token_imported: bool,
}

/// Seeds an empty store from the data directory: with no enroll secret at all, the
/// `enroll-secret` file (created with a random secret when absent) becomes secret `initial`;
/// with no API token at all, the `admin-token` file becomes admin token `admin`. Both are
/// recorded in the audit log with actor `collector`. Once the store holds any, the files are not
/// read.
pub async fn bootstrap(dir: &Path, store: &dyn crate::store::Store) -> Result<Bootstrap, DataDirError> {
    use crate::store::admin::{Actor, AdminError, NewEnrollSecret, NewToken, Role, sha256};
    let mut done = Bootstrap { enroll_secret_imported: false, admin_token_imported: false };
    if store.list_enroll_secrets().await?.is_empty() {
        let (secret, _) = ensure_secret(&dir.join(ENROLL_SECRET_FILE))?;
        let new = NewEnrollSecret {
            label: INITIAL_SECRET_LABEL.into(),
            secret_sha256: sha256(&secret),
            expires_at: None,
            max_uses: None,
        };
        match store.create_enroll_secret(new, &Actor::collector()).await {
            // Another collector on the same database got there first.
            Ok(_) | Err(AdminError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        done.enroll_secret_imported = true;
    }
    if store.list_tokens().await?.is_empty() {
        let (token, _) = ensure_secret(&dir.join(ADMIN_TOKEN_FILE))?;
        let new = NewToken {
            name: INITIAL_TOKEN_NAME.into(),
            role: Role::Admin,
            token_sha256: sha256(&token),
            expires_at: None,
        };
        match store.create_token(new, &Actor::collector()).await {
            Ok(_) | Err(AdminError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        done.admin_token_imported = true;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn bootstrap_imports_the_files_once() {
        use crate::store::admin::{Actor, AdminStore, sha256};
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join(DATABASE_FILE)).unwrap();
        let done = bootstrap(dir.path(), &store).await.unwrap();
        assert!(done.enroll_secret_imported && done.admin_token_imported);
        let secret = read_text(&dir.path().join(ENROLL_SECRET_FILE)).unwrap();
        let token = read_text(&dir.path().join(ADMIN_TOKEN_FILE)).unwrap();

        let secrets = store.list_enroll_secrets().await.unwrap();
        assert_eq!(secrets.len(), 1);
        assert_eq!((secrets[0].label.as_str(), secrets[0].created_by.as_str()), ("initial", "collector"));
        let t = store.token_by_sha256(&sha256(token.trim()), crate::store::now_ms()).await.unwrap().unwrap();
        assert_eq!((t.name.as_str(), t.role.as_str(), t.created_by.as_str()), ("admin", "admin", "collector"));
        let audit = store.list_audit(0, 10).await.unwrap();
        let actions: Vec<_> = audit.iter().map(|a| (a.actor.as_str(), a.action.as_str())).collect();
        assert_eq!(actions, [("collector", "enroll-secret.create"), ("collector", "token.create")]);
        assert!(audit.iter().all(|a| !a.detail.contains(secret.trim()) && !a.detail.contains(token.trim())));

        // Revoked, the initial secret stays revoked; the files are not read again, even when gone.
        store.revoke_enroll_secret("initial", &Actor::collector()).await.unwrap();
        fs::remove_file(dir.path().join(ENROLL_SECRET_FILE)).unwrap();
        let done = bootstrap(dir.path(), &store).await.unwrap();
        assert!(!done.enroll_secret_imported && !done.admin_token_imported);
        assert!(!dir.path().join(ENROLL_SECRET_FILE).exists());
        assert_eq!(store.list_enroll_secrets().await.unwrap()[0].state(crate::store::now_ms()), "revoked");
        assert_eq!(store.list_tokens().await.unwrap().len(), 1);
    }

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
    }

    #[test]
    fn empty_secret_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(ADMIN_TOKEN_FILE);
        fs::write(&p, "\n").unwrap();
        assert!(matches!(ensure_secret(&p), Err(DataDirError::Empty { .. })));
    }
}
