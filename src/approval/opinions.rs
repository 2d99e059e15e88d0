//! 常用意见: each user's saved opinions, offered by the opinion picker next to the defaults.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

use super::{line, ApprovalError};
use crate::auth::User;
use crate::store::{Op, WriteTx};

pub const MAX_PER_USER: i64 = 50;
const MAX_CHARS: usize = 200;

/// Offered to everyone, before their own.
pub const SUGGESTED: &[&str] = &[
    "材料齐全，符合法定形式，予以受理",
    "经审查，符合条件，拟同意",
    "同意",
    "情况属实，同意办理",
    "材料不全，请补正",
    "不符合法定条件，不予许可",
];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Opinion {
    pub id: i64,
    pub text: String,
}

pub fn list(conn: &Connection, user_id: i64) -> Result<Vec<Opinion>, ApprovalError> {
    Ok(conn
        .prepare_cached("SELECT id, text FROM approval_opinions WHERE user_id = ?1 ORDER BY id")?
        .query_map([user_id], |r| {
            Ok(Opinion {
                id: r.get(0)?,
                text: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

pub fn add(tx: &mut WriteTx, user: &User, text: &str) -> Result<Opinion, ApprovalError> {
    let text = line("text", text, MAX_CHARS, true)?;
    let (count, exists): (i64, bool) = tx.conn().query_row(
        "SELECT count(*), coalesce(max(text = ?2), 0) FROM approval_opinions WHERE user_id = ?1",
        params![user.id, text],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if exists {
        return Err(ApprovalError::Conflict(format!("常用意见“{text}”已存在")));
    }
    if count >= MAX_PER_USER {
        return Err(ApprovalError::Conflict(format!(
            "常用意见最多 {MAX_PER_USER} 条，请先删除不用的"
        )));
    }
    let id = tx.insert(
        "INSERT INTO approval_opinions(user_id, text) VALUES (?1, ?2)",
        params![user.id, text],
    )?;
    tx.change(
        "approval_opinion",
        id,
        Op::Insert,
        &serde_json::json!({"id": id, "user_id": user.id, "text": text}),
    )?;
    Ok(Opinion { id, text })
}

pub fn remove(tx: &mut WriteTx, user: &User, id: i64) -> Result<(), ApprovalError> {
    let owner: Option<i64> = tx
        .conn()
        .query_row(
            "SELECT user_id FROM approval_opinions WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    if owner != Some(user.id) {
        return Err(ApprovalError::NotFound(format!("常用意见 {id}")));
    }
    tx.exec("DELETE FROM approval_opinions WHERE id = ?1", [id])?;
    tx.change(
        "approval_opinion",
        id,
        Op::Delete,
        &serde_json::json!({"id": id}),
    )?;
    Ok(())
}
