//! Departments (a tree of 单位 and 科室) and users with department-scoped roles.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{AuthError, Role};
use crate::store::{Op, WriteTx};

pub const USERNAME_MAX: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeptKind {
    /// 单位: an organisation (the county government, a bureau).
    Unit,
    /// 科室: an office inside a unit.
    Office,
}

impl DeptKind {
    fn as_str(self) -> &'static str {
        match self {
            DeptKind::Unit => "unit",
            DeptKind::Office => "office",
        }
    }

    fn parse(s: &str) -> DeptKind {
        if s == "office" {
            DeptKind::Office
        } else {
            DeptKind::Unit
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Department {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub kind: DeptKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RoleGrant {
    #[schema(value_type = String, example = "clerk")]
    pub role: Role,
    pub department_id: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    pub roles: Vec<RoleGrant>,
}

impl User {
    pub fn has(&self, role: Role) -> bool {
        self.roles.iter().any(|g| g.role == role)
    }

    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has(*r))
    }

    /// `admin,clerk` — the roles as the audit log records them.
    pub fn role_codes(&self) -> String {
        let mut codes: Vec<&str> = self.roles.iter().map(|g| g.role.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        codes.join(",")
    }
}

pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<RoleGrant>,
}

pub fn validate_username(username: &str) -> Result<(), AuthError> {
    let ok = (2..=USERNAME_MAX).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && username.starts_with(|c: char| c.is_ascii_alphabetic());
    if ok {
        Ok(())
    } else {
        Err(AuthError::invalid(
            "username",
            "用户名须为 2–32 个英文字母、数字、下划线、连字符或点，以字母开头",
            "username must be 2-32 ASCII letters, digits, _ - or ., starting with a letter",
        ))
    }
}

pub fn create_department(
    tx: &mut WriteTx,
    name: &str,
    parent_id: Option<i64>,
    kind: DeptKind,
) -> Result<i64, AuthError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AuthError::invalid(
            "name",
            "部门名称不能为空，且不超过 64 个字",
            "department name must be 1-64 characters",
        ));
    }
    if let Some(p) = parent_id {
        department(tx.conn(), p)?;
    }
    let clash: Option<i64> = tx
        .conn()
        .query_row(
            "SELECT id FROM departments WHERE name = ?1 AND parent_id IS ?2",
            params![name, parent_id],
            |r| r.get(0),
        )
        .optional()?;
    if clash.is_some() {
        return Err(AuthError::Conflict(format!(
            "同一上级下已有部门 \"{name}\""
        )));
    }
    let now = tx.now().to_string();
    let id = tx.insert(
        "INSERT INTO departments(parent_id, name, kind, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![parent_id, name, kind.as_str(), now],
    )?;
    tx.change(
        "department",
        id,
        Op::Insert,
        &serde_json::json!({"id": id, "parent_id": parent_id, "name": name, "kind": kind}),
    )?;
    Ok(id)
}

pub fn department(conn: &Connection, id: i64) -> Result<Department, AuthError> {
    conn.prepare_cached("SELECT id, parent_id, name, kind FROM departments WHERE id = ?1")?
        .query_row([id], dept_row)
        .optional()?
        .ok_or_else(|| AuthError::NotFound(format!("部门 {id}")))
}

/// Departments in tree order: each parent before its children, siblings by name.
pub fn list_departments(conn: &Connection) -> Result<Vec<Department>, AuthError> {
    let mut stmt =
        conn.prepare("SELECT id, parent_id, name, kind FROM departments ORDER BY name")?;
    let all = stmt
        .query_map([], dept_row)?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(all.len());
    fn walk(all: &[Department], parent: Option<i64>, out: &mut Vec<Department>) {
        for d in all.iter().filter(|d| d.parent_id == parent) {
            out.push(d.clone());
            walk(all, Some(d.id), out);
        }
    }
    walk(&all, None, &mut out);
    Ok(out)
}

/// Resolves a department given by id or by exact name (as typed on the command line).
pub fn find_department(conn: &Connection, id_or_name: &str) -> Result<i64, AuthError> {
    if let Ok(id) = id_or_name.parse::<i64>() {
        return Ok(department(conn, id)?.id);
    }
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM departments WHERE name = ?1")?
        .query_map([id_or_name], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    match ids.as_slice() {
        [id] => Ok(*id),
        [] => Err(AuthError::NotFound(format!("部门 \"{id_or_name}\""))),
        _ => Err(AuthError::invalid(
            "department",
            "有多个同名部门，请改用部门编号",
            "several departments have that name; use the id",
        )),
    }
}

pub fn create_user(tx: &mut WriteTx, new: &NewUser, password_hash: &str) -> Result<i64, AuthError> {
    validate_username(&new.username)?;
    let display = new.display_name.trim();
    if display.is_empty() || display.chars().count() > 32 {
        return Err(AuthError::invalid(
            "display_name",
            "姓名不能为空，且不超过 32 个字",
            "display name must be 1-32 characters",
        ));
    }
    if new.roles.is_empty() {
        return Err(AuthError::invalid(
            "roles",
            "至少要给用户一个角色",
            "a user needs at least one role",
        ));
    }
    let exists: Option<i64> = tx
        .conn()
        .query_row(
            "SELECT id FROM users WHERE username = ?1 COLLATE NOCASE",
            [&new.username],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_some() {
        return Err(AuthError::Conflict(format!(
            "用户名 \"{}\" 已存在",
            new.username
        )));
    }
    for g in &new.roles {
        department(tx.conn(), g.department_id)?;
    }
    let now = tx.now().to_string();
    let id = tx.insert(
        "INSERT INTO users(username, display_name, password_hash, created_at, password_set_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![new.username, display, password_hash, now],
    )?;
    for g in &new.roles {
        tx.exec(
            "INSERT OR IGNORE INTO user_roles(user_id, role, department_id) VALUES (?1, ?2, ?3)",
            params![id, g.role.code(), g.department_id],
        )?;
    }
    // The hash stays on the site: replicating it would spread every password guessable offline.
    tx.change(
        "user",
        id,
        Op::Insert,
        &serde_json::json!({"id": id, "username": new.username, "display_name": display,
                            "disabled": false, "roles": new.roles}),
    )?;
    Ok(id)
}

pub fn set_password(
    tx: &mut WriteTx,
    username: &str,
    password_hash: &str,
) -> Result<i64, AuthError> {
    let id = user_id(tx.conn(), username)?;
    let now = tx.now().to_string();
    tx.exec(
        "UPDATE users SET password_hash = ?1, password_set_at = ?2 WHERE id = ?3",
        params![password_hash, now, id],
    )?;
    tx.change(
        "user",
        id,
        Op::Update,
        &serde_json::json!({"id": id, "password_set_at": now}),
    )?;
    // A changed password ends every session: the old one may be why it was changed.
    tx.local("DELETE FROM sessions WHERE user_id = ?1", [id])?;
    Ok(id)
}

pub fn disable_user(tx: &mut WriteTx, username: &str) -> Result<i64, AuthError> {
    let id = user_id(tx.conn(), username)?;
    tx.exec("UPDATE users SET disabled = 1 WHERE id = ?1", [id])?;
    tx.change(
        "user",
        id,
        Op::Update,
        &serde_json::json!({"id": id, "disabled": true}),
    )?;
    tx.local("DELETE FROM sessions WHERE user_id = ?1", [id])?;
    Ok(id)
}

pub fn user_id(conn: &Connection, username: &str) -> Result<i64, AuthError> {
    conn.query_row(
        "SELECT id FROM users WHERE username = ?1 COLLATE NOCASE",
        [username],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| AuthError::NotFound(format!("用户 \"{username}\"")))
}

pub fn user(conn: &Connection, id: i64) -> Result<User, AuthError> {
    let (username, display_name, disabled): (String, String, bool) = conn
        .prepare_cached("SELECT username, display_name, disabled FROM users WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?
        .ok_or_else(|| AuthError::NotFound(format!("用户 {id}")))?;
    Ok(User {
        id,
        username,
        display_name,
        disabled,
        roles: grants(conn, id)?,
    })
}

pub fn list_users(conn: &Connection) -> Result<Vec<User>, AuthError> {
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM users ORDER BY username")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.into_iter().map(|id| user(conn, id)).collect()
}

/// (user id, password hash, disabled) for a login attempt; None when there is no such user.
pub fn login_record(
    conn: &Connection,
    username: &str,
) -> Result<Option<(i64, String, bool)>, AuthError> {
    Ok(conn
        .query_row(
            "SELECT id, password_hash, disabled FROM users WHERE username = ?1 COLLATE NOCASE",
            [username],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?)
}

fn grants(conn: &Connection, user_id: i64) -> Result<Vec<RoleGrant>, AuthError> {
    let mut stmt = conn.prepare_cached(
        "SELECT role, department_id FROM user_roles WHERE user_id = ?1 ORDER BY role, department_id",
    )?;
    let rows = stmt.query_map([user_id], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (role, department_id) = row?;
        // A role this binary does not know (written by a newer one) grants nothing here.
        if let Ok(role) = role.parse() {
            out.push(RoleGrant {
                role,
                department_id,
            });
        }
    }
    Ok(out)
}

fn dept_row(r: &rusqlite::Row) -> rusqlite::Result<Department> {
    Ok(Department {
        id: r.get(0)?,
        parent_id: r.get(1)?,
        name: r.get(2)?,
        kind: DeptKind::parse(&r.get::<_, String>(3)?),
    })
}

/// Active users holding `role`, in `department` when given; by id.
pub fn users_with_role(
    conn: &Connection,
    role: Role,
    department: Option<i64>,
) -> Result<Vec<i64>, AuthError> {
    Ok(conn
        .prepare_cached(
            "SELECT DISTINCT u.id FROM users u JOIN user_roles r ON r.user_id = u.id
              WHERE r.role = ?1 AND (?2 IS NULL OR r.department_id = ?2) AND u.disabled = 0
              ORDER BY u.id",
        )?
        .query_map(params![role.code(), department], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// Sets (or, with an empty string, clears) the mobile number the user is told on by SMS.
pub fn set_phone(tx: &mut WriteTx, username: &str, phone: &str) -> Result<i64, AuthError> {
    let phone = phone.trim();
    if !phone.is_empty() && !crate::approval::notify::valid_phone(phone) {
        return Err(AuthError::invalid(
            "phone",
            "手机号应为 11 位中国大陆手机号，以 1 开头",
            "phone must be an 11-digit mainland mobile number",
        ));
    }
    let id = user_id(tx.conn(), username)?;
    tx.exec(
        "UPDATE users SET phone = ?1 WHERE id = ?2",
        params![phone, id],
    )?;
    tx.change(
        "user",
        id,
        Op::Update,
        &serde_json::json!({"id": id, "phone": phone}),
    )?;
    Ok(id)
}

/// The user's mobile number, when one is set.
pub fn phone(conn: &Connection, id: i64) -> Result<Option<String>, AuthError> {
    let p: Option<String> = conn
        .prepare_cached("SELECT phone FROM users WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(p.filter(|p| !p.is_empty()))
}
