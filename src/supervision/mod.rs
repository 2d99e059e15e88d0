//! Electronic supervision (电子监察): every case's light, yellow and red cards, 催办 reminders,
//! complaints and evaluations, statistics with CSV/XLSX export, and SVG charts.
//!
//! Cases are read only through approval's view `approval_case_facts`. Domain functions take a
//! connection or a [`WriteTx`] and plain values; the handlers in [`api`] and [`pages`] only
//! parse, call one of them together with the audit append, and answer.

pub mod api;
pub mod cards;
pub mod charts;
pub mod complaints;
pub mod demo;
pub mod error;
pub mod evaluations;
pub mod export;
pub mod facts;
pub mod lights;
pub mod pages;
pub mod reminders;
pub mod stats;
pub mod trace;
pub mod workbench;
pub mod worker;

pub use error::SupervisionError;

#[cfg(test)]
mod tests;

use crate::auth::{Role, User};
use crate::site::SupervisionSection;
use crate::store::{Op, WriteTx};

/// Who sees the supervision pages: supervisors, leaders, the service centre's heads and admins.
pub const VIEWERS: &[Role] = &[Role::Supervisor, Role::Leader, Role::DeptHead, Role::Admin];

/// Who acts as supervisor: issues advice letters, handles complaints, runs the evaluation loop.
pub const SUPERVISORS: &[Role] = &[Role::Supervisor, Role::Admin];

pub fn require_viewer(user: &User) -> Result<(), SupervisionError> {
    if user.has_any(VIEWERS) {
        Ok(())
    } else {
        Err(SupervisionError::Forbidden(
            "只有监察人员、分管领导、科室负责人或系统管理员可以查看电子监察".into(),
        ))
    }
}

pub fn require_supervisor(user: &User) -> Result<(), SupervisionError> {
    if user.has_any(SUPERVISORS) {
        Ok(())
    } else {
        Err(SupervisionError::Forbidden(
            "只有监察人员或系统管理员可以办理此项".into(),
        ))
    }
}

/// The working-day periods supervision measures with, from `[supervision]` in site.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// An open case is yellow when due within this many working days.
    pub warn_days: u32,
    /// A yellow card falls due this many working days after the promise date.
    pub yellow_days: u32,
    /// A red card falls due this many working days after the yellow card, if still open.
    pub red_after_days: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules::from(&SupervisionSection::default())
    }
}

impl From<&SupervisionSection> for Rules {
    fn from(s: &SupervisionSection) -> Self {
        Rules {
            warn_days: s.warn_days,
            yellow_days: s.yellow_days,
            red_after_days: s.red_after_days,
        }
    }
}

/// A trimmed single-line text field of 1..=`max` characters (0 allowed when not `required`).
pub fn line(
    field: &'static str,
    v: &str,
    max: usize,
    required: bool,
) -> Result<String, SupervisionError> {
    crate::text::line(v, max, required).map_err(|zh| SupervisionError::invalid(field, zh))
}

/// A multi-line text of up to `max` characters: line breaks and tabs allowed.
pub fn multiline(
    field: &'static str,
    v: &str,
    max: usize,
    required: bool,
) -> Result<String, SupervisionError> {
    crate::text::multiline(v, max, required).map_err(|zh| SupervisionError::invalid(field, zh))
}

/// A calendar date `YYYY-MM-DD`.
pub fn date(field: &'static str, v: &str) -> Result<jiff::civil::Date, SupervisionError> {
    v.trim().parse::<jiff::civil::Date>().map_err(|_| {
        SupervisionError::invalid(
            field,
            format!("日期 \"{}\" 无效，应为 YYYY-MM-DD", short(v)),
        )
    })
}

/// Today in Beijing time.
pub fn today() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned(crate::clock::shanghai())
        .date()
}

/// The Beijing date of a stored UTC timestamp.
pub fn beijing_day(ts: &str) -> String {
    crate::clock::parse_utc(ts)
        .map(|t| t.to_zoned(crate::clock::shanghai()).date().to_string())
        .unwrap_or_else(|| today().to_string())
}

/// A number from a query string where an empty field (a form's "全部") means none.
pub fn opt_num<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
{
    use serde::Deserialize;
    match Option::<String>::deserialize(d)?.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("\"{}\" 不是数字", short(v)))),
    }
}

/// At most 40 characters of untrusted input, for quoting it back in a message.
pub fn short(v: &str) -> String {
    v.chars().take(40).collect()
}

/// Records the change row of a business write whose payload is the row as JSON.
pub fn change(
    tx: &mut WriteTx,
    entity: &str,
    key: impl std::fmt::Display,
    op: Op,
    payload: &impl serde::Serialize,
) -> Result<(), SupervisionError> {
    tx.change(entity, key, op, payload)?;
    Ok(())
}

/// A user's display name, or `—` for none; a deleted id shows as its number.
pub fn user_name(conn: &rusqlite::Connection, id: Option<i64>) -> String {
    match id {
        None => "—".into(),
        Some(id) => crate::auth::user(conn, id)
            .map(|u| u.display_name)
            .unwrap_or_else(|_| format!("#{id}")),
    }
}
