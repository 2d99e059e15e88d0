//! The duty roster (值班): who is on the day or night shift of a date, and how to reach them.

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use super::{line, user_by_name, OfficeError};
use crate::auth::User;
use crate::store::{Op, WriteTx};

pub const SHIFTS: [&str; 2] = ["白班", "夜班"];

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewDuty {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// 白班 or 夜班.
    pub shift: String,
    pub username: String,
    pub phone: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Duty {
    pub day: String,
    pub shift: String,
    pub username: String,
    pub display_name: String,
    pub phone: String,
}

pub fn assign(tx: &mut WriteTx, user: &User, d: &NewDuty) -> Result<Duty, OfficeError> {
    super::require_manager(user)?;
    let day = super::date("day", &d.day)?.to_string();
    let shift = d.shift.trim();
    if !SHIFTS.contains(&shift) {
        return Err(OfficeError::invalid(
            "shift",
            format!("班次应为 {}", SHIFTS.join(" 或 ")),
        ));
    }
    let uid = user_by_name(tx.conn(), "username", &d.username)?;
    let phone = line("phone", &d.phone, 30, true)?;
    let n = tx.exec(
        "INSERT INTO duty_roster(day, shift, user_id, phone) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        params![day, shift, uid, phone],
    )?;
    if n == 0 {
        return Err(OfficeError::Conflict(format!(
            "{} 已排在 {day} {shift}",
            d.username.trim()
        )));
    }
    super::change(
        tx,
        "duty",
        format!("{day}/{shift}/{uid}"),
        Op::Insert,
        &serde_json::json!({"phone": phone}),
    )?;
    let rows = roster(tx.conn(), &day, &day)?;
    rows.into_iter()
        .find(|r| r.shift == shift && r.username == d.username.trim())
        .ok_or_else(|| OfficeError::NotFound("值班记录".into()))
}

/// The roster between two dates (inclusive).
pub fn roster(conn: &Connection, from: &str, to: &str) -> Result<Vec<Duty>, OfficeError> {
    Ok(conn
        .prepare_cached(
            "SELECT d.day, d.shift, u.username, u.display_name, d.phone FROM duty_roster d JOIN users u ON u.id = d.user_id
             WHERE d.day BETWEEN ?1 AND ?2 ORDER BY d.day, d.shift DESC, u.username LIMIT 1000",
        )?
        .query_map(params![from, to], |r| Ok(Duty { day: r.get(0)?, shift: r.get(1)?, username: r.get(2)?, display_name: r.get(3)?, phone: r.get(4)? }))?
        .collect::<Result<_, _>>()?)
}
