//! SMS notifications: an outbox written in the business transaction, and a worker that
//! delivers it through the configured gateway.
//!
//! The outbox is site-local bookkeeping, never replicated: a township's messages are sent by
//! the township, never again by the county or province that receives its data.

pub mod web;
pub mod worker;

use crate::store::{StoreError, WriteTx};

/// A longer text is split by the carrier into many billable parts; nothing we send needs it.
pub const MAX_TEXT_CHARS: usize = 500;
const MAX_REFERENCE_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    pub phone: String,
    pub text: String,
    /// What the message is about (e.g. the receipt number), for tracing.
    pub reference: String,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("手机号 \"{0}\" 无效：应为 11 位中国大陆手机号，以 1 开头")]
    BadPhone(String),
    #[error("短信内容{0}")]
    BadText(String),
    #[error("短信关联编号{0}")]
    BadReference(String),
    #[error("状态 \"{0}\" 无效：只能是 pending、sent 或 failed")]
    BadStatus(String),
    #[error("短信网关配置有误: {0}")]
    Gateway(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for NotifyError {
    fn from(e: rusqlite::Error) -> Self {
        NotifyError::Store(e.into())
    }
}

/// Mainland mobile numbers: 11 digits, `1` then `3`–`9`.
pub fn valid_phone(phone: &str) -> bool {
    let b = phone.as_bytes();
    b.len() == 11
        && b.iter().all(u8::is_ascii_digit)
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
}

fn check(sms: &Sms) -> Result<(), NotifyError> {
    if !valid_phone(&sms.phone) {
        return Err(NotifyError::BadPhone(sms.phone.chars().take(20).collect()));
    }
    let chars = sms.text.chars().count();
    if sms.text.trim().is_empty() {
        return Err(NotifyError::BadText("不能为空".into()));
    }
    if chars > MAX_TEXT_CHARS {
        return Err(NotifyError::BadText(format!(
            "太长：{chars} 个字，最多 {MAX_TEXT_CHARS} 个字"
        )));
    }
    if sms.reference.chars().count() > MAX_REFERENCE_CHARS {
        return Err(NotifyError::BadReference(format!(
            "太长（最多 {MAX_REFERENCE_CHARS} 个字）"
        )));
    }
    if sms
        .reference
        .chars()
        .chain(sms.text.chars())
        .any(|c| c.is_control() && c != '\n')
    {
        return Err(NotifyError::BadText("含有控制字符".into()));
    }
    Ok(())
}

/// Queues `sms` in the caller's transaction and returns its outbox id. Never sends and never
/// waits on the gateway: the worker delivers it after the transaction commits.
pub fn enqueue(tx: &mut WriteTx, sms: &Sms) -> Result<i64, NotifyError> {
    check(sms)?;
    let now = tx.now().to_string();
    tx.local(
        "INSERT INTO sms_outbox(phone, text, reference, next_at, created_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        rusqlite::params![sms.phone, sms.text, sms.reference, now],
    )?;
    Ok(tx.conn().last_insert_rowid())
}

/// One outbox row as admins see it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OutboxRow {
    pub id: i64,
    pub phone: String,
    pub text: String,
    pub reference: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub last_error: String,
    pub created_at: String,
    pub next_at: String,
    pub sent_at: Option<String>,
}

const ROW_COLUMNS: &str =
    "id, phone, text, reference, status, attempts, last_error, created_at, next_at, sent_at";

fn row(r: &rusqlite::Row) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        phone: r.get(1)?,
        text: r.get(2)?,
        reference: r.get(3)?,
        status: r.get(4)?,
        attempts: r.get(5)?,
        last_error: r.get(6)?,
        created_at: r.get(7)?,
        next_at: r.get(8)?,
        sent_at: r.get(9)?,
    })
}

/// The outbox, newest first; `status` narrows to one status.
pub fn list(
    conn: &rusqlite::Connection,
    status: Option<&str>,
    limit: u32,
) -> Result<Vec<OutboxRow>, NotifyError> {
    if let Some(s) = status {
        if !["pending", "sent", "failed"].contains(&s) {
            return Err(NotifyError::BadStatus(s.chars().take(20).collect()));
        }
    }
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM sms_outbox WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(rusqlite::params![status, limit.clamp(1, 1000)], row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The pending message that is due first, if one is due at `now` (stored UTC form).
pub fn next_due(conn: &rusqlite::Connection, now: &str) -> Result<Option<OutboxRow>, NotifyError> {
    use rusqlite::OptionalExtension;
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM sms_outbox WHERE status = 'pending' AND next_at <= ?1
         ORDER BY next_at, id LIMIT 1"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([now], row)
        .optional()?)
}

/// When the earliest pending message falls due (a retry's time, or a message queued now).
pub fn next_pending_at(conn: &rusqlite::Connection) -> Result<Option<String>, NotifyError> {
    Ok(conn
        .prepare_cached("SELECT min(next_at) FROM sms_outbox WHERE status = 'pending'")?
        .query_row([], |r| r.get(0))?)
}

/// Records a delivered message; it is never sent again. The last error of earlier attempts is
/// kept for the admin to see why it took several.
pub fn mark_sent(tx: &mut WriteTx, id: i64) -> Result<(), NotifyError> {
    let now = tx.now().to_string();
    tx.local(
        "UPDATE sms_outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?2
         WHERE id = ?1 AND status = 'pending'",
        rusqlite::params![id, now],
    )?;
    Ok(())
}

/// Records a failed attempt: retried at `retry_at`, or marked failed once `max_attempts`
/// attempts have been made. Returns whether the message gave up.
pub fn mark_failed(
    tx: &mut WriteTx,
    id: i64,
    error: &str,
    retry_at: &str,
    max_attempts: u32,
) -> Result<bool, NotifyError> {
    let error: String = error.chars().take(500).collect();
    tx.local(
        "UPDATE sms_outbox SET attempts = attempts + 1, last_error = ?2, next_at = ?3,
                status = CASE WHEN attempts + 1 >= ?4 THEN 'failed' ELSE 'pending' END
         WHERE id = ?1 AND status = 'pending'",
        rusqlite::params![id, error, retry_at, max_attempts],
    )?;
    let status: String =
        tx.conn()
            .query_row("SELECT status FROM sms_outbox WHERE id = ?1", [id], |r| {
                r.get(0)
            })?;
    Ok(status == "failed")
}

/// Prometheus gauges of the outbox by status, so a dead gateway pages someone before
/// applicants complain.
pub fn metrics(conn: &rusqlite::Connection) -> Result<String, NotifyError> {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut stmt = conn.prepare_cached("SELECT count(*) FROM sms_outbox WHERE status = ?1")?;
    for (status, help) in [
        ("pending", "SMS waiting to be sent or retried."),
        ("failed", "SMS given up after sms.max_attempts; see /sms."),
    ] {
        let n: i64 = stmt.query_row([status], |r| r.get(0))?;
        let name = format!("govbox_sms_{status}");
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        let _ = writeln!(out, "{name} {n}");
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
