//! The audit log: append-only, each row hash-chained to the one before it.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::AuthError;
use crate::store::{StoreError, WriteTx};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Refused,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }
}

/// Who did what to which object, from where, and how it ended.
#[derive(Debug, Clone)]
pub struct Entry {
    pub actor: String,
    pub roles: String,
    pub action: String,
    pub object: String,
    pub client: String,
    pub outcome: Outcome,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Row {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub roles: String,
    pub action: String,
    pub object: String,
    pub client: String,
    pub outcome: String,
    pub detail: String,
    pub hash: String,
}

/// Filters for browsing; every field narrows, `None` means any.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    /// Inclusive lower bound, UTC RFC 3339 or a date `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Exclusive upper bound, UTC RFC 3339 or a date `YYYY-MM-DD`.
    pub to: Option<String>,
    /// Only rows with an id below this (paging backwards from the newest).
    pub before: Option<i64>,
    pub limit: Option<u32>,
}

pub fn append(tx: &mut WriteTx, e: &Entry) -> Result<i64, StoreError> {
    let prev: Option<(i64, String)> = tx
        .conn()
        .query_row(
            "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (id, prev_hash) = match prev {
        Some((id, hash)) => (id + 1, hash),
        None => (1, GENESIS.to_string()),
    };
    let at = tx.now().to_string();
    let outcome = e.outcome.as_str();
    let hash = chain_hash(
        &prev_hash,
        &[
            &id.to_string(),
            &at,
            &e.actor,
            &e.roles,
            &e.action,
            &e.object,
            &e.client,
            outcome,
            &e.detail,
        ],
    );
    tx.local(
        "INSERT INTO audit(id, at, actor, roles, action, object, client, outcome, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![id, at, e.actor, e.roles, e.action, e.object, e.client, outcome, e.detail, prev_hash, hash],
    )?;
    Ok(id)
}

/// Walks the whole chain; the error names the first row whose content or link does not match.
pub fn verify(conn: &Connection) -> Result<u64, AuthError> {
    let mut stmt = conn.prepare(
        "SELECT id, at, actor, roles, action, object, client, outcome, detail, prev_hash, hash
         FROM audit ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let mut expected_prev = GENESIS.to_string();
    let mut expected_id = 1i64;
    let mut count = 0u64;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let fields: Vec<String> = (1..9).map(|i| r.get(i)).collect::<Result<_, _>>()?;
        let prev_hash: String = r.get(9)?;
        let hash: String = r.get(10)?;
        if id != expected_id {
            return Err(AuthError::AuditBroken {
                id: expected_id,
                reason: format!("缺少该行（下一行是 {id}）"),
            });
        }
        if prev_hash != expected_prev {
            return Err(AuthError::AuditBroken {
                id,
                reason: "与上一行的链接不符".into(),
            });
        }
        let mut parts: Vec<&str> = vec![];
        let id_text = id.to_string();
        parts.push(&id_text);
        parts.extend(fields.iter().map(String::as_str));
        if chain_hash(&prev_hash, &parts) != hash {
            return Err(AuthError::AuditBroken {
                id,
                reason: "内容与其哈希不符（该行被改动过）".into(),
            });
        }
        expected_prev = hash;
        expected_id += 1;
        count += 1;
    }
    Ok(count)
}

pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<Row>, AuthError> {
    let limit = f.limit.unwrap_or(100).clamp(1, 1000);
    let from = f.from.as_deref().map(bound);
    let to = f.to.as_deref().map(bound);
    let mut stmt = conn.prepare(
        "SELECT id, at, actor, roles, action, object, client, outcome, detail, hash FROM audit
         WHERE (?1 IS NULL OR actor = ?1)
           AND (?2 IS NULL OR action LIKE ?2 || '%')
           AND (?3 IS NULL OR outcome = ?3)
           AND (?4 IS NULL OR at >= ?4)
           AND (?5 IS NULL OR at < ?5)
           AND (?6 IS NULL OR id < ?6)
         ORDER BY id DESC LIMIT ?7",
    )?;
    let rows = stmt
        .query_map(
            params![
                blank_none(&f.actor),
                blank_none(&f.action),
                blank_none(&f.outcome),
                from,
                to,
                f.before,
                limit
            ],
            |r| {
                Ok(Row {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    roles: r.get(3)?,
                    action: r.get(4)?,
                    object: r.get(5)?,
                    client: r.get(6)?,
                    outcome: r.get(7)?,
                    detail: r.get(8)?,
                    hash: r.get(9)?,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn blank_none(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A bare date means midnight UTC of that day, so `from=2026-11-01&to=2026-12-01` is November.
fn bound(v: &str) -> String {
    if v.len() == 10 {
        format!("{v}T00:00:00.000Z")
    } else {
        v.to_string()
    }
}

/// Fields are length-prefixed so that moving text from one field to the next changes the hash.
fn chain_hash(prev: &str, fields: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    for f in fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}
