//! Notices (事件公告) in categories kept by managers, with read receipts.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{line, multiline, OfficeError};
use crate::auth::User;
use crate::store::{Op, WriteTx};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Category {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Notice {
    pub id: i64,
    pub category: String,
    pub title: String,
    pub body: String,
    pub author: String,
    pub published_at: String,
    /// Whether the requesting user has read it.
    pub read: bool,
    /// How many people have read it.
    pub readers: i64,
}

pub fn add_category(tx: &mut WriteTx, user: &User, name: &str) -> Result<Category, OfficeError> {
    super::require_manager(user)?;
    let name = line("name", name, 30, true)?;
    let exists: bool = tx.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM notice_categories WHERE name = ?1)",
        [&name],
        |r| r.get(0),
    )?;
    if exists {
        return Err(OfficeError::Conflict(format!("已有公告类别 {name}")));
    }
    let id = tx.insert("INSERT INTO notice_categories(name) VALUES (?1)", [&name])?;
    super::change(
        tx,
        "notice_category",
        id,
        Op::Insert,
        &serde_json::json!({"name": name}),
    )?;
    Ok(Category { id, name })
}

pub fn categories(conn: &Connection) -> Result<Vec<Category>, OfficeError> {
    Ok(conn
        .prepare_cached("SELECT id, name FROM notice_categories ORDER BY id")?
        .query_map([], |r| {
            Ok(Category {
                id: r.get(0)?,
                name: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

pub fn publish(
    tx: &mut WriteTx,
    user: &User,
    category_id: i64,
    title: &str,
    body: &str,
) -> Result<Notice, OfficeError> {
    super::require_manager(user)?;
    let title = line("title", title, 200, true)?;
    let body = multiline("body", body, 50_000, true)?;
    let ok: bool = tx.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM notice_categories WHERE id = ?1)",
        [category_id],
        |r| r.get(0),
    )?;
    if !ok {
        return Err(OfficeError::invalid(
            "category_id",
            format!("没有公告类别 {category_id}"),
        ));
    }
    let now = tx.now().to_string();
    let id = tx.insert(
        "INSERT INTO notices(category_id, title, body, author_id, published_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![category_id, title, body, user.id, now],
    )?;
    super::change(
        tx,
        "notice",
        id,
        Op::Insert,
        &serde_json::json!({"category_id": category_id, "title": title, "body": body, "author_id": user.id}),
    )?;
    get(tx.conn(), user.id, id)
}

pub fn get(conn: &Connection, user_id: i64, id: i64) -> Result<Notice, OfficeError> {
    conn.query_row(
        "SELECT n.id, c.name, n.title, n.body, u.display_name, n.published_at,
                EXISTS (SELECT 1 FROM notice_reads r WHERE r.notice_id = n.id AND r.user_id = ?2),
                (SELECT count(*) FROM notice_reads r WHERE r.notice_id = n.id)
         FROM notices n JOIN notice_categories c ON c.id = n.category_id JOIN users u ON u.id = n.author_id WHERE n.id = ?1",
        params![id, user_id],
        |r| Ok(Notice { id: r.get(0)?, category: r.get(1)?, title: r.get(2)?, body: r.get(3)?, author: r.get(4)?,
            published_at: r.get(5)?, read: r.get(6)?, readers: r.get(7)? }),
    )
    .optional()?
    .ok_or_else(|| OfficeError::NotFound(format!("公告 {id}")))
}

pub fn list(
    conn: &Connection,
    user_id: i64,
    unread_only: bool,
) -> Result<Vec<Notice>, OfficeError> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT n.id FROM notices n WHERE ?2 = 0 OR NOT EXISTS (SELECT 1 FROM notice_reads r WHERE r.notice_id = n.id AND r.user_id = ?1)
             ORDER BY n.id DESC LIMIT 200",
        )?
        .query_map(params![user_id, unread_only], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.into_iter().map(|id| get(conn, user_id, id)).collect()
}

/// Opens a notice and records the read receipt the first time (the flag says whether this was it).
pub fn read(tx: &mut WriteTx, user: &User, id: i64) -> Result<(Notice, bool), OfficeError> {
    let before = get(tx.conn(), user.id, id)?;
    if before.read {
        return Ok((before, false));
    }
    let now = tx.now().to_string();
    tx.exec(
        "INSERT INTO notice_reads(notice_id, user_id, at) VALUES (?1, ?2, ?3)",
        params![id, user.id, now],
    )?;
    super::change(
        tx,
        "notice_read",
        format!("{id}/{}", user.id),
        Op::Insert,
        &serde_json::json!({"at": now}),
    )?;
    Ok((get(tx.conn(), user.id, id)?, true))
}

/// Who has read a notice, with when (the receipt list).
pub fn receipts(conn: &Connection, id: i64) -> Result<Vec<(String, String)>, OfficeError> {
    Ok(conn
        .prepare_cached("SELECT u.display_name, r.at FROM notice_reads r JOIN users u ON u.id = r.user_id WHERE r.notice_id = ?1 ORDER BY r.at")?
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?)
}
