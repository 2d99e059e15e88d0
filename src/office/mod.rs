//! Office automation (办公自动化): documents and their circulation, the archive, notices,
//! meetings, internal mail, contacts, the duty roster and task supervision.
//!
//! Domain functions take a connection or a [`WriteTx`] and plain values; the handlers in
//! [`api`] and [`pages`] only parse, call one of them together with the audit append, and answer.

pub mod api;
pub mod archive;
pub mod contacts;
pub mod demo;
pub mod documents;
pub mod duty;
pub mod error;
pub mod groups;
pub mod mail;
pub mod meetings;
pub mod notices;
pub mod numbering;
pub mod pages;
pub mod routes;
pub mod sanitize;
pub mod tasks;
pub mod uploads;
pub mod workbench;

pub use error::OfficeError;

#[cfg(test)]
mod tests;

use crate::auth::{Role, User};
use crate::store::{Op, WriteTx};

/// Roles that run the office's shared settings: document types, rooms, notice categories,
/// groups, contacts, the duty roster.
pub const MANAGERS: &[Role] = &[Role::Admin, Role::Leader, Role::DeptHead];

pub fn is_manager(user: &User) -> bool {
    user.has_any(MANAGERS)
}

pub fn require_manager(user: &User) -> Result<(), OfficeError> {
    if is_manager(user) {
        Ok(())
    } else {
        Err(OfficeError::Forbidden(
            "只有系统管理员、分管领导或科室负责人可以维护此项".into(),
        ))
    }
}

/// A trimmed single-line text field of 1..=`max` characters (0 allowed when not `required`).
/// Control characters are refused: they have no business in a title and hide things in logs.
pub fn line(
    field: &'static str,
    v: &str,
    max: usize,
    required: bool,
) -> Result<String, OfficeError> {
    crate::text::line(v, max, required).map_err(|zh| OfficeError::invalid(field, zh))
}

/// A multi-line text of up to `max` characters: line breaks and tabs allowed, other control
/// characters refused.
pub fn multiline(
    field: &'static str,
    v: &str,
    max: usize,
    required: bool,
) -> Result<String, OfficeError> {
    crate::text::multiline(v, max, required).map_err(|zh| OfficeError::invalid(field, zh))
}

/// A calendar date `YYYY-MM-DD`.
pub fn date(field: &'static str, v: &str) -> Result<jiff::civil::Date, OfficeError> {
    v.trim().parse::<jiff::civil::Date>().map_err(|_| {
        OfficeError::invalid(
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

/// At most 40 characters of untrusted input, for quoting it back in a message.
pub fn short(v: &str) -> String {
    v.chars().take(40).collect()
}

/// The user id of `username`, or an error naming the field and the name.
pub fn user_by_name(
    conn: &rusqlite::Connection,
    field: &'static str,
    username: &str,
) -> Result<i64, OfficeError> {
    crate::auth::user_id(conn, username.trim())
        .map_err(|_| OfficeError::invalid(field, format!("没有用户 \"{}\"", short(username))))
}

/// Records the change row of a business write whose payload is the row as JSON.
pub fn change(
    tx: &mut WriteTx,
    entity: &str,
    key: impl std::fmt::Display,
    op: Op,
    payload: &impl serde::Serialize,
) -> Result<(), OfficeError> {
    tx.change(entity, key, op, payload)?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::auth::{self, DeptKind, NewUser, Role, RoleGrant, User};
    use crate::store::{self, Store};

    /// A site with users `u1`..`u{n}` (handlers) and `boss` (leader, a manager).
    pub fn site(n: usize) -> (tempfile::TempDir, Store, Vec<User>) {
        let dir = tempfile::tempdir().unwrap();
        let s = store::open(&dir.path().join("govbox.db"), "t-site").unwrap();
        let users = s
            .write_blocking(move |tx| -> Result<Vec<User>, auth::AuthError> {
                let d = auth::create_department(tx, "县政府办公室", None, DeptKind::Unit)?;
                let mut out = Vec::new();
                for i in 0..=n {
                    let (name, role) = if i == n {
                        ("boss".to_string(), Role::Leader)
                    } else {
                        (format!("u{}", i + 1), Role::Handler)
                    };
                    let id = auth::create_user(
                        tx,
                        &NewUser {
                            username: name.clone(),
                            display_name: name,
                            roles: vec![RoleGrant {
                                role,
                                department_id: d,
                            }],
                        },
                        "x",
                    )?;
                    out.push(auth::user(tx.conn(), id)?);
                }
                Ok(out)
            })
            .unwrap();
        (dir, s, users)
    }
}
