//! Columns (栏目): each owned by a department, whose editors alone draft in it. A sensitive
//! column (leaders' speeches, personnel, major decisions) needs 办公室初审 before review.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{line, short, PortalError};
use crate::auth::{Role, User};
use crate::store::{Op, WriteTx};

/// Column kinds and how the self-check judges their freshness.
pub const KINDS: [(&str, &str); 4] = [
    ("news", "动态类（两周内应更新）"),
    ("notice", "通知公告类（半年内应更新）"),
    ("policy", "政策文件类（半年内应更新）"),
    ("other", "其他（不应为空）"),
];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Column {
    pub id: i64,
    /// The URL name: `/columns/{code}`.
    pub code: String,
    pub name: String,
    pub department_id: i64,
    pub department: String,
    /// `news`, `notice`, `policy` or `other`.
    pub kind: String,
    pub sensitive: bool,
}

pub struct NewColumn<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub department_id: i64,
    pub kind: &'a str,
    pub sensitive: bool,
}

/// Adds a column; the general editor (总编) runs the site's structure.
pub fn create(tx: &mut WriteTx, user: &User, c: &NewColumn) -> Result<Column, PortalError> {
    if !user.has_any(&[Role::GeneralEditor, Role::Admin]) {
        return Err(PortalError::Forbidden(
            "只有网站总编或系统管理员可以设置栏目".into(),
        ));
    }
    let code = line("code", c.code, 32, true)?;
    if !code
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(PortalError::invalid(
            "code",
            "栏目代码只能包含小写字母、数字和 -",
        ));
    }
    let name = line("name", c.name, 20, true)?;
    if !KINDS.iter().any(|(k, _)| *k == c.kind) {
        return Err(PortalError::invalid(
            "kind",
            format!(
                "栏目类型 \"{}\" 无效，可选 news、notice、policy、other",
                short(c.kind)
            ),
        ));
    }
    crate::auth::department(tx.conn(), c.department_id)
        .map_err(|_| PortalError::invalid("department_id", "没有这个部门"))?;
    let taken: Option<i64> = tx
        .conn()
        .query_row(
            "SELECT id FROM portal_columns WHERE code = ?1 OR name = ?2",
            params![code, name],
            |r| r.get(0),
        )
        .optional()?;
    if taken.is_some() {
        return Err(PortalError::Conflict(format!(
            "栏目代码 {code} 或名称 {name} 已被使用"
        )));
    }
    let position: i64 = tx.conn().query_row(
        "SELECT coalesce(max(position), 0) + 1 FROM portal_columns",
        [],
        |r| r.get(0),
    )?;
    let now = tx.now().to_string();
    let id = tx.insert(
        "INSERT INTO portal_columns(code, name, department_id, kind, sensitive, position, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![code, name, c.department_id, c.kind, c.sensitive, position, now],
    )?;
    tx.change(
        "portal_column",
        id,
        Op::Insert,
        &serde_json::json!({"code": code, "name": name, "department_id": c.department_id,
            "kind": c.kind, "sensitive": c.sensitive, "position": position}),
    )?;
    get(tx.conn(), id)
}

const SELECT: &str = "SELECT c.id, c.code, c.name, c.department_id, d.name, c.kind, c.sensitive
    FROM portal_columns c JOIN departments d ON d.id = c.department_id";

fn map(r: &rusqlite::Row) -> rusqlite::Result<Column> {
    Ok(Column {
        id: r.get(0)?,
        code: r.get(1)?,
        name: r.get(2)?,
        department_id: r.get(3)?,
        department: r.get(4)?,
        kind: r.get(5)?,
        sensitive: r.get(6)?,
    })
}

pub fn list(conn: &Connection) -> Result<Vec<Column>, PortalError> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} ORDER BY c.position, c.id"))?
        .query_map([], map)?
        .collect::<Result<_, _>>()?)
}

pub fn get(conn: &Connection, id: i64) -> Result<Column, PortalError> {
    conn.prepare_cached(&format!("{SELECT} WHERE c.id = ?1"))?
        .query_row([id], map)
        .optional()?
        .ok_or_else(|| PortalError::NotFound(format!("栏目 {id}")))
}

pub fn by_code(conn: &Connection, code: &str) -> Result<Column, PortalError> {
    conn.prepare_cached(&format!("{SELECT} WHERE c.code = ?1"))?
        .query_row([code], map)
        .optional()?
        .ok_or_else(|| PortalError::NotFound(format!("栏目 {}", short(code))))
}

/// Whether `user` may draft in `column`: an editor (栏目编辑) of the owning department.
pub fn may_draft(user: &User, column: &Column) -> bool {
    user.roles
        .iter()
        .any(|g| g.role == Role::Editor && g.department_id == column.department_id)
}
