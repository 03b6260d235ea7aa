//! [`AdminStore`] for SQLite.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::admin::{
    Actor, AdminError, AdminStore, AgentInfo, ApiToken, AppliedReport, AuditEntry, EnrollSecret, NewEnrollSecret,
    NewToken, Role, new_id,
};
use super::sqlite::{SqliteStore, db};
use super::{Millis, StoreError, now_ms};

/// `last_used_at` is rewritten at most this often per token.
const TOUCH_INTERVAL_MS: Millis = 60_000;

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    v.max(0) as u64
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// Appends an audit row in the caller's transaction (every admin mutation writes one).
pub(super) fn audit(
    tx: &Transaction<'_>,
    at: Millis,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO audit_log (at, actor, source, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![at, actor.name, actor.source, action, target, detail],
    )?;
    Ok(())
}

const SECRET_COLUMNS: &str = "id, label, created_at, created_by, expires_at, max_uses, uses, revoked_at";

fn secret_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EnrollSecret> {
    Ok(EnrollSecret {
        id: r.get(0)?,
        label: r.get(1)?,
        created_at: r.get(2)?,
        created_by: r.get(3)?,
        expires_at: r.get(4)?,
        max_uses: r.get::<_, Option<i64>>(5)?.map(to_u64),
        uses: to_u64(r.get(6)?),
        revoked_at: r.get(7)?,
    })
}

const TOKEN_COLUMNS: &str = "id, name, role, created_at, created_by, expires_at, last_used_at, revoked_at";

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiToken> {
    let role: String = r.get(2)?;
    Ok(ApiToken {
        id: r.get(0)?,
        name: r.get(1)?,
        // The CHECK constraint admits only these two.
        role: Role::parse(&role).unwrap_or(Role::Reader),
        created_at: r.get(3)?,
        created_by: r.get(4)?,
        expires_at: r.get(5)?,
        last_used_at: r.get(6)?,
        revoked_at: r.get(7)?,
    })
}

const AGENT_COLUMNS: &str = "a.agent_id, a.hostname, a.agent_version, a.enrolled_at, COALESCE(s.label, ''), \
     a.enrolled_from, a.last_sequence, a.last_seen, a.revoked_at, a.revoked_by, a.revoked_reason";
const AGENT_FROM: &str = "agents a LEFT JOIN enroll_secrets s ON s.id = a.enroll_secret_id";

fn agent_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AgentInfo> {
    Ok(AgentInfo {
        id: r.get(0)?,
        hostname: r.get(1)?,
        agent_version: r.get(2)?,
        enrolled_at: r.get(3)?,
        enroll_secret: r.get(4)?,
        enrolled_from: r.get(5)?,
        last_sequence: to_u64(r.get(6)?),
        last_seen: r.get(7)?,
        revoked_at: r.get(8)?,
        revoked_by: r.get(9)?,
        revoked_reason: r.get(10)?,
    })
}

/// The one row whose `key_column` equals `query`, tried for each column in order.
fn find_one<T>(
    conn: &Connection,
    table: &str,
    columns: &str,
    keys: &[&str],
    query: &str,
    row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>, StoreError> {
    for key in keys {
        let sql = format!("SELECT {columns} FROM {table} WHERE {key} = ?1");
        if let Some(found) = conn.query_row(&sql, [query], row).optional().map_err(db)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// An agent by exact id, then unique id prefix (4+ characters), then unique host name.
fn resolve_agent(conn: &Connection, query: &str) -> Result<String, AdminError> {
    let mut steps = vec!["SELECT agent_id FROM agents WHERE agent_id = ?1"];
    if query.chars().count() >= 4 {
        steps.push("SELECT agent_id FROM agents WHERE substr(agent_id, 1, length(?1)) = ?1 ORDER BY agent_id");
    }
    steps.push("SELECT agent_id FROM agents WHERE hostname = ?1 ORDER BY agent_id");
    for sql in steps {
        let mut stmt = conn.prepare_cached(sql).map_err(db)?;
        let ids: Vec<String> =
            stmt.query_map([query], |r| r.get(0)).map_err(db)?.collect::<Result<_, _>>().map_err(db)?;
        match ids.len() {
            0 => continue,
            1 => return Ok(ids.into_iter().next().unwrap_or_default()),
            n => return Err(AdminError::Ambiguous { message: format!("{query:?} matches {n} agents"), matches: ids }),
        }
    }
    Err(AdminError::NotFound(format!("no agent matches {query:?}")))
}

fn agent_by_id(conn: &Connection, id: &str) -> Result<AgentInfo, StoreError> {
    let sql = format!("SELECT {AGENT_COLUMNS} FROM {AGENT_FROM} WHERE a.agent_id = ?1");
    conn.query_row(&sql, [id], agent_row).map_err(db)
}

/// A time in an audit detail: RFC 3339, UTC, seconds.
fn time_text(ms: Millis) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

fn optional_detail(parts: &[(&str, Option<String>)]) -> String {
    parts.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}"))).collect::<Vec<_>>().join(" ")
}

#[async_trait::async_trait]
impl AdminStore for SqliteStore {
    async fn create_enroll_secret(&self, new: NewEnrollSecret, actor: &Actor) -> Result<EnrollSecret, AdminError> {
        let actor = actor.clone();
        self.with(move |conn| {
            let now = now_ms();
            let secret = EnrollSecret {
                id: new_id(),
                label: new.label,
                created_at: now,
                created_by: actor.name.clone(),
                expires_at: new.expires_at,
                max_uses: new.max_uses,
                uses: 0,
                revoked_at: None,
            };
            let tx = conn.transaction().map_err(db)?;
            let inserted = tx.execute(
                "INSERT INTO enroll_secrets (id, label, secret_sha256, created_at, created_by, expires_at, max_uses) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    secret.id,
                    secret.label,
                    new.secret_sha256,
                    secret.created_at,
                    secret.created_by,
                    secret.expires_at,
                    secret.max_uses.map(to_i64)
                ],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) => {
                    return Ok(Err(AdminError::Conflict(format!(
                        "an enroll secret labelled {:?} already exists",
                        secret.label
                    ))));
                }
                other => other.map_err(db)?,
            };
            let detail = optional_detail(&[
                ("id", Some(secret.id.clone())),
                ("expires_at", secret.expires_at.map(time_text)),
                ("max_uses", secret.max_uses.map(|m| m.to_string())),
            ]);
            audit(&tx, now, &actor, "enroll-secret.create", &secret.label, &detail).map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(Ok(secret))
        })
        .await?
    }

    async fn list_enroll_secrets(&self) -> Result<Vec<EnrollSecret>, AdminError> {
        Ok(self
            .with(|conn| {
                let sql = format!("SELECT {SECRET_COLUMNS} FROM enroll_secrets ORDER BY created_at, rowid");
                let mut stmt = conn.prepare(&sql).map_err(db)?;
                let rows = stmt.query_map([], secret_row).map_err(db)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(db)
            })
            .await?)
    }

    async fn revoke_enroll_secret(&self, id_or_label: &str, actor: &Actor) -> Result<EnrollSecret, AdminError> {
        let (query, actor) = (id_or_label.to_string(), actor.clone());
        self.with(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            let Some(mut secret) =
                find_one(&tx, "enroll_secrets", SECRET_COLUMNS, &["id", "label"], &query, secret_row)?
            else {
                return Ok(Err(AdminError::NotFound(format!("no enroll secret has id or label {query:?}"))));
            };
            if secret.revoked_at.is_some() {
                return Ok(Err(AdminError::Conflict(format!(
                    "enroll secret {:?} ({}) is already revoked",
                    secret.label, secret.id
                ))));
            }
            let now = now_ms();
            tx.execute("UPDATE enroll_secrets SET revoked_at = ?2 WHERE id = ?1", params![secret.id, now])
                .map_err(db)?;
            let detail = format!("id={} uses={}", secret.id, secret.uses);
            audit(&tx, now, &actor, "enroll-secret.revoke", &secret.label, &detail).map_err(db)?;
            tx.commit().map_err(db)?;
            secret.revoked_at = Some(now);
            Ok(Ok(secret))
        })
        .await?
    }

    async fn create_token(&self, new: NewToken, actor: &Actor) -> Result<ApiToken, AdminError> {
        let actor = actor.clone();
        self.with(move |conn| {
            let now = now_ms();
            let token = ApiToken {
                id: new_id(),
                name: new.name,
                role: new.role,
                created_at: now,
                created_by: actor.name.clone(),
                expires_at: new.expires_at,
                last_used_at: None,
                revoked_at: None,
            };
            let tx = conn.transaction().map_err(db)?;
            let inserted = tx.execute(
                "INSERT INTO api_tokens (id, name, role, token_sha256, created_at, created_by, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    token.id,
                    token.name,
                    token.role.as_str(),
                    new.token_sha256,
                    token.created_at,
                    token.created_by,
                    token.expires_at
                ],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) => {
                    return Ok(Err(AdminError::Conflict(format!("a token named {:?} already exists", token.name))));
                }
                other => other.map_err(db)?,
            };
            let detail = optional_detail(&[
                ("id", Some(token.id.clone())),
                ("role", Some(token.role.as_str().to_string())),
                ("expires_at", token.expires_at.map(time_text)),
            ]);
            audit(&tx, now, &actor, "token.create", &token.name, &detail).map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(Ok(token))
        })
        .await?
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>, AdminError> {
        Ok(self
            .with(|conn| {
                let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, name");
                let mut stmt = conn.prepare(&sql).map_err(db)?;
                let rows = stmt.query_map([], token_row).map_err(db)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(db)
            })
            .await?)
    }

    async fn revoke_token(&self, id_or_name: &str, actor: &Actor) -> Result<ApiToken, AdminError> {
        let (query, actor) = (id_or_name.to_string(), actor.clone());
        self.with(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            let Some(mut token) = find_one(&tx, "api_tokens", TOKEN_COLUMNS, &["id", "name"], &query, token_row)?
            else {
                return Ok(Err(AdminError::NotFound(format!("no token has id or name {query:?}"))));
            };
            if token.revoked_at.is_some() {
                return Ok(Err(AdminError::Conflict(format!(
                    "token {:?} ({}) is already revoked",
                    token.name, token.id
                ))));
            }
            let now = now_ms();
            tx.execute("UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1", params![token.id, now]).map_err(db)?;
            let detail = format!("id={} role={}", token.id, token.role.as_str());
            audit(&tx, now, &actor, "token.revoke", &token.name, &detail).map_err(db)?;
            tx.commit().map_err(db)?;
            token.revoked_at = Some(now);
            Ok(Ok(token))
        })
        .await?
    }

    async fn token_by_sha256(&self, sha256: &[u8], now: Millis) -> Result<Option<ApiToken>, AdminError> {
        let sha256 = sha256.to_vec();
        Ok(self
            .with(move |conn| {
                let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_sha256 = ?1");
                let Some(mut token) = conn.query_row(&sql, [&sha256], token_row).optional().map_err(db)? else {
                    return Ok(None);
                };
                if token.is_valid(now) && token.last_used_at.is_none_or(|t| t <= now - TOUCH_INTERVAL_MS) {
                    conn.execute("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1", params![token.id, now])
                        .map_err(db)?;
                    token.last_used_at = Some(now);
                }
                Ok(Some(token))
            })
            .await?)
    }

    async fn list_agents(&self) -> Result<Vec<AgentInfo>, AdminError> {
        Ok(self
            .with(|conn| {
                let sql = format!("SELECT {AGENT_COLUMNS} FROM {AGENT_FROM} ORDER BY a.hostname, a.agent_id");
                let mut stmt = conn.prepare(&sql).map_err(db)?;
                let rows = stmt.query_map([], agent_row).map_err(db)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(db)
            })
            .await?)
    }

    async fn revoke_agent(&self, query: &str, reason: &str, actor: &Actor) -> Result<AgentInfo, AdminError> {
        let (query, reason, actor) = (query.to_string(), reason.to_string(), actor.clone());
        let revoked = self
            .with(move |conn| {
                let tx = conn.transaction().map_err(db)?;
                let id = match resolve_agent(&tx, &query) {
                    Ok(id) => id,
                    Err(AdminError::Store(e)) => return Err(e),
                    Err(e) => return Ok(Err(e)),
                };
                let agent = agent_by_id(&tx, &id)?;
                if agent.revoked_at.is_some() {
                    return Ok(Err(AdminError::Conflict(format!(
                        "agent {} ({}) is already revoked",
                        agent.id, agent.hostname
                    ))));
                }
                let now = now_ms();
                tx.execute(
                    "UPDATE agents SET revoked_at = ?2, revoked_by = ?3, revoked_reason = ?4 WHERE agent_id = ?1",
                    params![id, now, actor.name, reason],
                )
                .map_err(db)?;
                let detail = format!("hostname={:?} reason={:?}", agent.hostname, reason);
                audit(&tx, now, &actor, "agent.revoke", &id, &detail).map_err(db)?;
                let agent = agent_by_id(&tx, &id)?;
                tx.commit().map_err(db)?;
                Ok(Ok(agent))
            })
            .await?;
        if let Ok(agent) = &revoked {
            self.credentials().forget(&agent.id);
        }
        revoked
    }

    async fn agent_reports(&self, query: &str, limit: u32) -> Result<(AgentInfo, Vec<AppliedReport>), AdminError> {
        let query = query.to_string();
        self.with(move |conn| {
            let id = match resolve_agent(conn, &query) {
                Ok(id) => id,
                Err(AdminError::Store(e)) => return Err(e),
                Err(e) => return Ok(Err(e)),
            };
            let agent = agent_by_id(conn, &id)?;
            let mut stmt = conn
                .prepare_cached(
                    "SELECT sequence, kind, bytes, digest, collected_at, received_at FROM reports \
                     WHERE agent_id = ?1 ORDER BY sequence DESC LIMIT ?2",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map(params![id, limit], |r| {
                    Ok(AppliedReport {
                        sequence: to_u64(r.get(0)?),
                        kind: r.get(1)?,
                        bytes: to_u64(r.get(2)?),
                        digest: r.get(3)?,
                        collected_at: r.get(4)?,
                        received_at: r.get(5)?,
                    })
                })
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?;
            Ok(Ok((agent, rows)))
        })
        .await?
    }

    async fn append_audit(&self, actor: &Actor, action: &str, target: &str, detail: &str) -> Result<(), AdminError> {
        let (actor, action, target, detail) =
            (actor.clone(), action.to_string(), target.to_string(), detail.to_string());
        Ok(self
            .with(move |conn| {
                let tx = conn.transaction().map_err(db)?;
                audit(&tx, now_ms(), &actor, &action, &target, &detail).map_err(db)?;
                tx.commit().map_err(db)
            })
            .await?)
    }

    async fn list_audit(&self, since: Millis, limit: u32) -> Result<Vec<AuditEntry>, AdminError> {
        Ok(self
            .with(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id, at, actor, source, action, target, detail FROM audit_log \
                         WHERE at >= ?1 ORDER BY id DESC LIMIT ?2",
                    )
                    .map_err(db)?;
                let mut rows = stmt
                    .query_map(params![since, limit], |r| {
                        Ok(AuditEntry {
                            id: r.get(0)?,
                            at: r.get(1)?,
                            actor: r.get(2)?,
                            source: r.get(3)?,
                            action: r.get(4)?,
                            target: r.get(5)?,
                            detail: r.get(6)?,
                        })
                    })
                    .map_err(db)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(db)?;
                rows.reverse();
                Ok(rows)
            })
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::super::admin::sha256;
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("census.db")).unwrap();
        (dir, store)
    }

    fn alice() -> Actor {
        Actor { name: "alice".into(), source: "192.0.2.7:5555".into() }
    }

    fn secret(label: &str) -> NewEnrollSecret {
        NewEnrollSecret { label: label.into(), secret_sha256: sha256(label), expires_at: None, max_uses: None }
    }

    fn token(name: &str, role: Role) -> NewToken {
        NewToken { name: name.into(), role, token_sha256: sha256(format!("text of {name}")), expires_at: None }
    }

    #[tokio::test]
    async fn enroll_secrets_create_list_revoke_with_audit() {
        let (_dir, store) = store();
        let created = store
            .create_enroll_secret(
                NewEnrollSecret { max_uses: Some(3), expires_at: Some(now_ms() + 60_000), ..secret("rollout") },
                &alice(),
            )
            .await
            .unwrap();
        assert_eq!(created.id.len(), 8);
        assert_eq!(created.created_by, "alice");
        assert_eq!(created.state(now_ms()), "active");
        assert_eq!(created.state(now_ms() + 120_000), "expired");
        store.create_enroll_secret(secret("other"), &alice()).await.unwrap();

        let err = store.create_enroll_secret(secret("rollout"), &alice()).await.unwrap_err();
        assert!(matches!(&err, AdminError::Conflict(m) if m == "an enroll secret labelled \"rollout\" already exists"));
        // The same secret text under another label is refused too (the digest is unique).
        let err = store
            .create_enroll_secret(NewEnrollSecret { label: "again".into(), ..secret("rollout") }, &alice())
            .await
            .unwrap_err();
        assert!(matches!(err, AdminError::Conflict(_)), "{err}");

        let list = store.list_enroll_secrets().await.unwrap();
        assert_eq!(list.iter().map(|s| s.label.as_str()).collect::<Vec<_>>(), ["rollout", "other"]);
        assert_eq!(list[0], created);

        // By label, then by id.
        let revoked = store.revoke_enroll_secret("rollout", &alice()).await.unwrap();
        assert_eq!(revoked.id, created.id);
        assert_eq!(revoked.state(now_ms()), "revoked");
        let other = &list[1];
        store.revoke_enroll_secret(&other.id, &alice()).await.unwrap();
        let err = store.revoke_enroll_secret(&other.id, &alice()).await.unwrap_err();
        assert_eq!(err.to_string(), format!("enroll secret \"other\" ({}) is already revoked", other.id));
        let err = store.revoke_enroll_secret("nope", &alice()).await.unwrap_err();
        assert!(matches!(&err, AdminError::NotFound(m) if m == "no enroll secret has id or label \"nope\""));

        let audit = store.list_audit(0, 100).await.unwrap();
        let actions: Vec<_> = audit.iter().map(|a| (a.action.as_str(), a.target.as_str())).collect();
        assert_eq!(
            actions,
            [
                ("enroll-secret.create", "rollout"),
                ("enroll-secret.create", "other"),
                ("enroll-secret.revoke", "rollout"),
                ("enroll-secret.revoke", "other"),
            ]
        );
        assert!(audit.iter().all(|a| a.actor == "alice" && a.source == "192.0.2.7:5555"));
        let expires = time_text(created.expires_at.unwrap());
        assert_eq!(audit[0].detail, format!("id={} expires_at={expires} max_uses=3", created.id));
        assert!(expires.ends_with('Z'), "{expires}");
    }

    #[tokio::test]
    async fn exhausted_secret_state() {
        let s = EnrollSecret {
            id: "x".into(),
            label: "l".into(),
            created_at: 0,
            created_by: "a".into(),
            expires_at: None,
            max_uses: Some(2),
            uses: 2,
            revoked_at: None,
        };
        assert_eq!(s.state(1), "exhausted");
        assert_eq!(EnrollSecret { uses: 1, ..s.clone() }.state(1), "active");
        assert_eq!(EnrollSecret { revoked_at: Some(1), expires_at: Some(0), ..s }.state(1), "revoked");
    }

    #[tokio::test]
    async fn tokens_authenticate_touch_and_revoke() {
        let (_dir, store) = store();
        let reader = store.create_token(token("grafana", Role::Reader), &alice()).await.unwrap();
        let err = store.create_token(token("grafana", Role::Admin), &alice()).await.unwrap_err();
        assert_eq!(err.to_string(), "a token named \"grafana\" already exists");
        assert!(matches!(err, AdminError::Conflict(_)));

        let sha = sha256("text of grafana");
        assert!(store.token_by_sha256(&sha256("wrong"), 1_000).await.unwrap().is_none());
        let t = store.token_by_sha256(&sha, 1_000_000).await.unwrap().unwrap();
        assert_eq!((t.name.as_str(), t.role, t.last_used_at), ("grafana", Role::Reader, Some(1_000_000)));
        // Touched at most once a minute.
        let t = store.token_by_sha256(&sha, 1_030_000).await.unwrap().unwrap();
        assert_eq!(t.last_used_at, Some(1_000_000));
        let t = store.token_by_sha256(&sha, 1_060_000).await.unwrap().unwrap();
        assert_eq!(t.last_used_at, Some(1_060_000));
        assert_eq!(store.list_tokens().await.unwrap()[0].last_used_at, Some(1_060_000));

        // Expired tokens are found (so the caller can say no) but not touched.
        let expiring = NewToken { expires_at: Some(5_000_000), ..token("ci", Role::Admin) };
        store.create_token(expiring, &alice()).await.unwrap();
        let t = store.token_by_sha256(&sha256("text of ci"), 6_000_000).await.unwrap().unwrap();
        assert_eq!((t.state(6_000_000), t.last_used_at), ("expired", None));

        let revoked = store.revoke_token(&reader.id, &alice()).await.unwrap();
        assert_eq!(revoked.name, "grafana");
        let t = store.token_by_sha256(&sha, 2_000_000).await.unwrap().unwrap();
        assert!(!t.is_valid(2_000_000));
        assert_eq!(t.state(2_000_000), "revoked");
        let err = store.revoke_token("grafana", &alice()).await.unwrap_err();
        assert_eq!(err.to_string(), format!("token \"grafana\" ({}) is already revoked", reader.id));
        let err = store.revoke_token("nobody", &alice()).await.unwrap_err();
        assert_eq!(err.to_string(), "no token has id or name \"nobody\"");

        let audit = store.list_audit(0, 100).await.unwrap();
        let actions: Vec<_> = audit.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(actions, ["token.create", "token.create", "token.revoke"]);
        assert_eq!(audit[0].detail, format!("id={} role=reader", reader.id));
    }

    #[tokio::test]
    async fn agents_list_revoke_and_reports() {
        let (_dir, store) = store();
        for id in ["abcd0001", "abcd0002", "ffff0003"] {
            crate::store::suite::enroll_one(&store, id).await;
        }
        let s = store.create_enroll_secret(secret("initial"), &alice()).await.unwrap();
        store
            .with(move |conn| {
                conn.execute(
                    "UPDATE agents SET enroll_secret_id = ?1, enrolled_from = '192.0.2.9:4000' \
                     WHERE agent_id = 'ffff0003'",
                    [&s.id],
                )
                .map_err(db)?;
                for seq in 1..=3 {
                    conn.execute(
                        "INSERT INTO reports (agent_id, sequence, digest, kind, bytes, collected_at, received_at) \
                         VALUES ('ffff0003', ?1, x'00ff', 'full', 100, ?2, ?3)",
                        params![seq, 1000 + seq, 2000 + seq],
                    )
                    .map_err(db)?;
                }
                Ok(())
            })
            .await
            .unwrap();

        let agents = store.list_agents().await.unwrap();
        assert_eq!(agents.len(), 3);
        let f = agents.iter().find(|a| a.id == "ffff0003").unwrap();
        assert_eq!(
            (f.hostname.as_str(), f.enroll_secret.as_str(), f.enrolled_from.as_str(), f.state()),
            ("ffff0003-host", "initial", "192.0.2.9:4000", "active")
        );
        assert_eq!((f.enrolled_at, f.last_sequence, f.last_seen), (1_000, 0, None));

        let err = store.revoke_agent("abcd", "", &alice()).await.unwrap_err();
        match err {
            AdminError::Ambiguous { message, matches } => {
                assert_eq!(message, "\"abcd\" matches 2 agents");
                assert_eq!(matches, ["abcd0001", "abcd0002"]);
            }
            other => panic!("{other}"),
        }
        let err = store.revoke_agent("abc", "", &alice()).await.unwrap_err();
        assert_eq!(err.to_string(), "no agent matches \"abc\"");
        let err = store.revoke_agent("nope", "", &alice()).await.unwrap_err();
        assert!(matches!(err, AdminError::NotFound(_)));

        let revoked = store.revoke_agent("ffff", "stolen laptop", &alice()).await.unwrap();
        assert_eq!(revoked.id, "ffff0003");
        assert_eq!(revoked.state(), "revoked");
        assert_eq!((revoked.revoked_by.as_str(), revoked.revoked_reason.as_str()), ("alice", "stolen laptop"));
        let err = store.revoke_agent("ffff0003", "", &alice()).await.unwrap_err();
        assert_eq!(err.to_string(), "agent ffff0003 (ffff0003-host) is already revoked");
        // By unique host name.
        store.revoke_agent("abcd0001-host", "", &alice()).await.unwrap();

        let (agent, reports) = store.agent_reports("ffff0003-host", 2).await.unwrap();
        assert_eq!(agent.id, "ffff0003");
        assert_eq!(reports.iter().map(|r| r.sequence).collect::<Vec<_>>(), [3, 2]);
        assert_eq!(
            (reports[0].kind.as_str(), reports[0].bytes, reports[0].digest.as_slice()),
            ("full", 100, &[0, 255][..])
        );
        assert!(store.agent_reports("abcd0002", 10).await.unwrap().1.is_empty());

        let audit = store.list_audit(0, 100).await.unwrap();
        let last = &audit[audit.len() - 2];
        assert_eq!((last.action.as_str(), last.target.as_str()), ("agent.revoke", "ffff0003"));
        assert_eq!(last.detail, "hostname=\"ffff0003-host\" reason=\"stolen laptop\"");
        // The ingest path still sees a revoked agent (refusing it is ingest's decision).
        assert!(store.agent("ffff0003").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn audit_since_and_limit() {
        let (_dir, store) = store();
        for i in 0..5 {
            store.append_audit(&alice(), "test.action", &format!("t{i}"), "").await.unwrap();
        }
        let all = store.list_audit(0, 100).await.unwrap();
        assert_eq!(all.len(), 5);
        // The newest `limit`, oldest first.
        let last_two = store.list_audit(0, 2).await.unwrap();
        assert_eq!(last_two.iter().map(|a| a.target.as_str()).collect::<Vec<_>>(), ["t3", "t4"]);
        assert!(store.list_audit(now_ms() + 60_000, 100).await.unwrap().is_empty());
        assert_eq!(store.list_audit(all[0].at, 100).await.unwrap().len(), 5);
    }
}
