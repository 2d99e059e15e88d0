//! 催办 reminders: automatic once per case and promise date when its light turns yellow, and
//! by hand from a supervisor. They show on the handler's 工作台 until seen.

use jiff::civil::Date;
use rusqlite::{params, Connection};
use serde::Serialize;

use super::lights::Thresholds;
use super::{facts, line, Rules, SupervisionError};
use crate::approval::calendar::Calendar;
use crate::auth::User;
use crate::store::{Op, WriteTx};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reminder {
    pub id: i64,
    pub case_id: i64,
    pub receipt: String,
    pub kind: String,
    pub handler: String,
    pub case_due_on: String,
    pub message: String,
    pub by: String,
    pub at: String,
    pub seen: bool,
}

/// The automatic reminders due today: open cases, not paused, whose promise date is within
/// the warning period. Returns how many were new.
pub fn auto(
    tx: &mut WriteTx,
    cal: &Calendar,
    rules: &Rules,
    today: Date,
) -> Result<usize, SupervisionError> {
    let th = Thresholds::new(cal, rules, today);
    let due: Vec<(i64, String, Option<i64>, String)> = {
        let mut st = tx.conn().prepare_cached(
            "SELECT f.case_id, f.receipt, f.assignee_id, f.due_on FROM approval_case_facts f
              WHERE f.closed = 0 AND f.paused = 0 AND f.due_on >= ?1 AND f.due_on <= ?2
                AND NOT EXISTS (SELECT 1 FROM supervision_reminders m
                                 WHERE m.kind = 'auto' AND m.case_id = f.case_id
                                   AND m.case_due_on = f.due_on)",
        )?;
        let rows = st.query_map(
            params![th.today.to_string(), th.yellow_until.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        rows.collect::<Result<_, _>>()?
    };
    let mut n = 0;
    for (case_id, receipt, handler, due_on) in due {
        let message = format!("办件 {receipt} 将于 {due_on} 到期，请抓紧办理");
        if insert(
            tx, case_id, &receipt, "auto", handler, &due_on, &message, None,
        )?
        .is_some()
        {
            n += 1;
        }
    }
    Ok(n)
}

#[allow(clippy::too_many_arguments)]
fn insert(
    tx: &mut WriteTx,
    case_id: i64,
    receipt: &str,
    kind: &str,
    handler: Option<i64>,
    due_on: &str,
    message: &str,
    by: Option<i64>,
) -> Result<Option<i64>, SupervisionError> {
    let now = tx.now().to_string();
    let n = tx.exec(
        "INSERT OR IGNORE INTO supervision_reminders(case_id, receipt, kind, handler_id, case_due_on,
             message, by_id, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![case_id, receipt, kind, handler, due_on, message, by, now],
    )?;
    if n == 1 {
        let id = tx.conn().last_insert_rowid();
        super::change(
            tx,
            "supervision_reminder",
            id,
            Op::Insert,
            &serde_json::json!({"case_id": case_id, "receipt": receipt, "kind": kind,
                "handler_id": handler, "case_due_on": due_on, "message": message, "by_id": by,
                "at": now}),
        )?;
        return Ok(Some(id));
    }
    Ok(None)
}

/// A supervisor urges the handler of an open case.
pub fn manual(
    tx: &mut WriteTx,
    by: &User,
    receipt: &str,
    message: &str,
) -> Result<Reminder, SupervisionError> {
    super::require_viewer(by)?;
    let message = line("message", message, 200, true)?;
    let case = facts::by_receipt(tx.conn(), receipt.trim())?
        .ok_or_else(|| SupervisionError::NotFound(format!("办件 {}", super::short(receipt))))?;
    if case.closed {
        return Err(SupervisionError::OutOfOrder(format!(
            "办件 {} 已办结，无需催办",
            case.receipt
        )));
    }
    let id = insert(
        tx,
        case.case_id,
        &case.receipt,
        "manual",
        case.assignee_id,
        &case.due_on,
        &message,
        Some(by.id),
    )?
    .ok_or_else(|| SupervisionError::Conflict("催办未能记录".into()))?;
    get(tx.conn(), id)
}

const SELECT: &str =
    "SELECT id, receipt, kind, handler_id, case_due_on, message, by_id, at, seen_at,
        case_id FROM supervision_reminders";

fn from_row(conn: &Connection, r: &rusqlite::Row) -> rusqlite::Result<Reminder> {
    let by: Option<i64> = r.get(6)?;
    Ok(Reminder {
        id: r.get(0)?,
        receipt: r.get(1)?,
        kind: r.get(2)?,
        handler: super::user_name(conn, r.get(3)?),
        case_due_on: r.get(4)?,
        message: r.get(5)?,
        by: by.map_or_else(|| "系统".into(), |b| super::user_name(conn, Some(b))),
        at: r.get(7)?,
        seen: r.get::<_, Option<String>>(8)?.is_some(),
        case_id: r.get(9)?,
    })
}

pub fn get(conn: &Connection, id: i64) -> Result<Reminder, SupervisionError> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE id = ?1"))?
        .query_row([id], |r| from_row(conn, r))?)
}

/// Reminders of one case, or the newest 500 of all when `receipt` is `None`.
pub fn list(conn: &Connection, receipt: Option<&str>) -> Result<Vec<Reminder>, SupervisionError> {
    let rows = match receipt {
        Some(r) => conn
            .prepare(&format!("{SELECT} WHERE receipt = ?1 ORDER BY id DESC"))?
            .query_map([r], |r| from_row(conn, r))?
            .collect::<Result<Vec<_>, _>>()?,
        None => conn
            .prepare(&format!("{SELECT} ORDER BY id DESC LIMIT 500"))?
            .query_map([], |r| from_row(conn, r))?
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(rows)
}

/// The reminders `user` has not seen yet.
pub fn unseen(conn: &Connection, user_id: i64) -> Result<Vec<Reminder>, SupervisionError> {
    let rows = conn
        .prepare_cached(&format!(
            "{SELECT} WHERE handler_id = ?1 AND seen_at IS NULL ORDER BY id DESC LIMIT 50"
        ))?
        .query_map([user_id], |r| from_row(conn, r))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The handler marks a reminder seen; it leaves the 工作台.
pub fn mark_seen(tx: &mut WriteTx, by: &User, id: i64) -> Result<(), SupervisionError> {
    let now = tx.now().to_string();
    let n = tx.exec(
        "UPDATE supervision_reminders SET seen_at = ?1 WHERE id = ?2 AND handler_id = ?3 AND seen_at IS NULL",
        params![now, id, by.id],
    )?;
    if n == 0 {
        return Err(SupervisionError::NotFound(format!("待阅的催办 {id}")));
    }
    super::change(
        tx,
        "supervision_reminder",
        id,
        Op::Update,
        &serde_json::json!({"seen_at": now}),
    )
}
