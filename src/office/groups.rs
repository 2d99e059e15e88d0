//! Named groups of users, used by route steps and mail recipients.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{line, user_by_name, OfficeError};
use crate::store::{Op, WriteTx};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub members: Vec<String>,
}

/// Creates a group, or replaces the members of the group of that name.
pub fn save(tx: &mut WriteTx, name: &str, members: &[String]) -> Result<Group, OfficeError> {
    let name = line("name", name, 40, true)?;
    if members.is_empty() || members.len() > 500 {
        return Err(OfficeError::invalid("members", "组成员应为 1 到 500 人"));
    }
    let mut ids = Vec::new();
    for m in members {
        let id = user_by_name(tx.conn(), "members", m)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let existing: Option<i64> = tx
        .conn()
        .query_row(
            "SELECT id FROM office_groups WHERE name = ?1",
            [&name],
            |r| r.get(0),
        )
        .optional()?;
    let now = tx.now().to_string();
    let (id, op) = match existing {
        Some(id) => {
            tx.exec("DELETE FROM office_group_members WHERE group_id = ?1", [id])?;
            (id, Op::Update)
        }
        None => (
            tx.insert(
                "INSERT INTO office_groups(name, created_at) VALUES (?1, ?2)",
                params![name, now],
            )?,
            Op::Insert,
        ),
    };
    for uid in &ids {
        tx.exec(
            "INSERT INTO office_group_members(group_id, user_id) VALUES (?1, ?2)",
            params![id, uid],
        )?;
    }
    super::change(
        tx,
        "office_group",
        id,
        op,
        &serde_json::json!({"name": name, "members": ids}),
    )?;
    get(tx.conn(), id)
}

pub fn get(conn: &Connection, id: i64) -> Result<Group, OfficeError> {
    let name: String = conn
        .query_row("SELECT name FROM office_groups WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?
        .ok_or_else(|| OfficeError::NotFound(format!("组 {id}")))?;
    let members = conn
        .prepare_cached(
            "SELECT u.username FROM office_group_members m JOIN users u ON u.id = m.user_id
             WHERE m.group_id = ?1 ORDER BY u.username",
        )?
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(Group { id, name, members })
}

pub fn list(conn: &Connection) -> Result<Vec<Group>, OfficeError> {
    let ids = conn
        .prepare_cached("SELECT id FROM office_groups ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    ids.into_iter().map(|id| get(conn, id)).collect()
}

pub fn by_name(conn: &Connection, field: &'static str, name: &str) -> Result<i64, OfficeError> {
    conn.query_row(
        "SELECT id FROM office_groups WHERE name = ?1",
        [name.trim()],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| OfficeError::invalid(field, format!("没有名为 \"{}\" 的组", super::short(name))))
}

/// The enabled members of a group.
pub fn member_ids(conn: &Connection, group_id: i64) -> Result<Vec<i64>, OfficeError> {
    Ok(conn
        .prepare_cached(
            "SELECT m.user_id FROM office_group_members m JOIN users u ON u.id = m.user_id
             WHERE m.group_id = ?1 AND u.disabled = 0 ORDER BY m.user_id",
        )?
        .query_map([group_id], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?)
}
