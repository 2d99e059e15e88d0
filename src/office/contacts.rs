//! The telephone directory (电话号码), by unit and office, searchable.

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use super::{line, OfficeError};
use crate::auth::User;
use crate::store::{Op, WriteTx};

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewContact {
    /// Department id or name.
    pub department: String,
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub office_phone: String,
    #[serde(default)]
    pub mobile: String,
    #[serde(default)]
    pub room: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: i64,
    pub department: String,
    pub name: String,
    pub title: String,
    pub office_phone: String,
    pub mobile: String,
    pub room: String,
}

fn phone(field: &'static str, v: &str) -> Result<String, OfficeError> {
    let v = line(field, v, 30, false)?;
    if !v
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | ' ' | '(' | ')' | '转'))
    {
        return Err(OfficeError::invalid(
            field,
            "电话号码只能包含数字、-、+、括号、空格和“转”",
        ));
    }
    Ok(v)
}

pub fn add(tx: &mut WriteTx, user: &User, c: &NewContact) -> Result<Contact, OfficeError> {
    super::require_manager(user)?;
    let department_id =
        crate::auth::find_department(tx.conn(), c.department.trim()).map_err(|_| {
            OfficeError::invalid(
                "department",
                format!("没有部门 \"{}\"", super::short(&c.department)),
            )
        })?;
    let name = line("name", &c.name, 40, true)?;
    let title = line("title", &c.title, 40, false)?;
    let office_phone = phone("office_phone", &c.office_phone)?;
    let mobile = phone("mobile", &c.mobile)?;
    if office_phone.is_empty() && mobile.is_empty() {
        return Err(OfficeError::invalid(
            "office_phone",
            "办公电话和手机至少填一个",
        ));
    }
    let room = line("room", &c.room, 40, false)?;
    let id = tx.insert(
        "INSERT INTO contacts(department_id, name, title, office_phone, mobile, room) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![department_id, name, title, office_phone, mobile, room],
    )?;
    super::change(
        tx,
        "contact",
        id,
        Op::Insert,
        &serde_json::json!({"department_id": department_id, "name": name, "title": title, "office_phone": office_phone, "mobile": mobile, "room": room}),
    )?;
    search(tx.conn(), "")?
        .into_iter()
        .find(|x| x.id == id)
        .ok_or_else(|| OfficeError::NotFound(format!("联系人 {id}")))
}

/// Contacts whose name, title, department, phone or room contains `q` (all when empty).
pub fn search(conn: &Connection, q: &str) -> Result<Vec<Contact>, OfficeError> {
    let q = line("q", q, 40, false)?;
    Ok(conn
        .prepare_cached(
            "SELECT c.id, d.name, c.name, c.title, c.office_phone, c.mobile, c.room
             FROM contacts c JOIN departments d ON d.id = c.department_id
             WHERE ?1 = '' OR instr(d.name || ' ' || c.name || ' ' || c.title || ' ' || c.office_phone || ' ' || c.mobile || ' ' || c.room, ?1) > 0
             ORDER BY d.id, c.id LIMIT 500",
        )?
        .query_map([q], |r| Ok(Contact { id: r.get(0)?, department: r.get(1)?, name: r.get(2)?, title: r.get(3)?, office_phone: r.get(4)?, mobile: r.get(5)?, room: r.get(6)? }))?
        .collect::<Result<_, _>>()?)
}
