//! Storage for administration: enroll secrets, API tokens, the audit log, agent listing and
//! revocation. A separate trait so the agents' ingest path ([`super::Store`]) stays small;
//! every backend implements both.
//!
//! Secrets and tokens reach the store only as SHA-256 digests of their text; the plaintext is
//! shown once by the API that made it and never stored. Every mutation writes its audit row in
//! the same transaction, so an action is recorded exactly when it happened.

use serde::{Deserialize, Serialize};

use super::{Millis, StoreError};

/// Who does an admin action, and from where (for the audit log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The API token's name, or `collector` for what the collector does itself at startup.
    pub name: String,
    /// The peer address of the request, or `local`.
    pub source: String,
}

impl Actor {
    /// The collector itself (bootstrap at startup).
    pub fn collector() -> Self {
        Actor { name: "collector".into(), source: "local".into() }
    }
}

/// What an API token may do. An admin token may do everything a reader token may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Reader,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "reader" => Some(Role::Reader),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A duplicate label or name, or an object already revoked.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    /// The request itself is wrong (a bad value): the message says what.
    #[error("{0}")]
    Invalid(String),
    /// The query matched several objects: their ids.
    #[error("{message}")]
    Ambiguous { message: String, matches: Vec<String> },
}

#[derive(Debug, Clone)]
pub struct NewEnrollSecret {
    pub label: String,
    pub secret_sha256: Vec<u8>,
    pub expires_at: Option<Millis>,
    pub max_uses: Option<u64>,
}

/// One enroll secret, without the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollSecret {
    pub id: String,
    pub label: String,
    pub created_at: Millis,
    pub created_by: String,
    pub expires_at: Option<Millis>,
    pub max_uses: Option<u64>,
    pub uses: u64,
    pub revoked_at: Option<Millis>,
}

impl EnrollSecret {
    /// `revoked`, `expired`, `exhausted` (no uses left) or `active`, at `now`.
    pub fn state(&self, now: Millis) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at.is_some_and(|e| e <= now) {
            "expired"
        } else if self.max_uses.is_some_and(|m| self.uses >= m) {
            "exhausted"
        } else {
            "active"
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub token_sha256: Vec<u8>,
    pub expires_at: Option<Millis>,
}

/// One API token, without the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: Millis,
    pub created_by: String,
    pub expires_at: Option<Millis>,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

impl ApiToken {
    /// `revoked`, `expired` or `active`, at `now`.
    pub fn state(&self, now: Millis) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at.is_some_and(|e| e <= now) {
            "expired"
        } else {
            "active"
        }
    }

    pub fn is_valid(&self, now: Millis) -> bool {
        self.state(now) == "active"
    }
}

/// One agent as administration sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentInfo {
    pub id: String,
    pub hostname: String,
    pub agent_version: String,
    pub enrolled_at: Millis,
    /// The label of the enroll secret it enrolled with; empty when unknown.
    pub enroll_secret: String,
    pub enrolled_from: String,
    pub last_sequence: u64,
    pub last_seen: Option<Millis>,
    pub revoked_at: Option<Millis>,
    pub revoked_by: String,
    pub revoked_reason: String,
}

impl AgentInfo {
    pub fn state(&self) -> &'static str {
        if self.revoked_at.is_some() { "revoked" } else { "active" }
    }
}

/// One applied report of an agent (from the log of applied reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedReport {
    pub sequence: u64,
    pub kind: String,
    pub bytes: u64,
    pub digest: Vec<u8>,
    pub collected_at: Millis,
    pub received_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Millis,
    pub actor: String,
    pub source: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// A short random id for a new secret or token (8 lower-case hex characters).
pub fn new_id() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 4];
    ring::rand::SystemRandom::new().fill(&mut b).expect("the system random source works");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// SHA-256 of a secret's or token's text: the only form in which the store keeps it.
pub fn sha256(bytes: impl AsRef<[u8]>) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes.as_ref()).as_ref().to_vec()
}

#[async_trait::async_trait]
pub trait AdminStore: Send + Sync + 'static {
    /// Adds an enroll secret; a label already taken is a [`AdminError::Conflict`].
    async fn create_enroll_secret(&self, new: NewEnrollSecret, actor: &Actor) -> Result<EnrollSecret, AdminError>;
    /// Every enroll secret, oldest first.
    async fn list_enroll_secrets(&self) -> Result<Vec<EnrollSecret>, AdminError>;
    /// Revokes the secret with this id, else this label.
    async fn revoke_enroll_secret(&self, id_or_label: &str, actor: &Actor) -> Result<EnrollSecret, AdminError>;

    /// Adds an API token; a name already taken is a [`AdminError::Conflict`].
    async fn create_token(&self, new: NewToken, actor: &Actor) -> Result<ApiToken, AdminError>;
    /// Every API token, oldest first.
    async fn list_tokens(&self) -> Result<Vec<ApiToken>, AdminError>;
    /// Revokes the token with this id, else this name.
    async fn revoke_token(&self, id_or_name: &str, actor: &Actor) -> Result<ApiToken, AdminError>;
    /// The token whose text hashes to `sha256`, valid or not. When it is valid at `now`, its
    /// `last_used_at` is brought up to `now` if it is more than a minute old (one write per token
    /// per minute at most, not one per request).
    async fn token_by_sha256(&self, sha256: &[u8], now: Millis) -> Result<Option<ApiToken>, AdminError>;

    /// Every enrolled agent, by host name.
    async fn list_agents(&self) -> Result<Vec<AgentInfo>, AdminError>;
    /// Revokes an agent by exact id, unique id prefix (4+ characters) or unique host name.
    async fn revoke_agent(&self, query: &str, reason: &str, actor: &Actor) -> Result<AgentInfo, AdminError>;
    /// An agent's applied reports, newest first, at most `limit`; the agent is found as in
    /// [`AdminStore::revoke_agent`] and returned with them.
    async fn agent_reports(&self, query: &str, limit: u32) -> Result<(AgentInfo, Vec<AppliedReport>), AdminError>;

    /// Records an action that has no row of its own to change (each mutation above records
    /// its own).
    async fn append_audit(&self, actor: &Actor, action: &str, target: &str, detail: &str) -> Result<(), AdminError>;
    /// Audit entries at or after `since`, oldest first; the newest `limit` of them.
    async fn list_audit(&self, since: Millis, limit: u32) -> Result<Vec<AuditEntry>, AdminError>;
}
