//! What the approval part puts on the 工作台: the cases waiting for the user (overdue and
//! urged ones marked) and, for the window, the online applications waiting for pre-review.

use rusqlite::Connection;
use serde::Serialize;

use super::cases::{self, Query, Scope};
use super::{intake, ApprovalError};
use crate::auth::{Role, User};

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub label: String,
    pub href: String,
    pub alert: bool,
}

pub fn items(conn: &Connection, user: &User) -> Result<Vec<Item>, ApprovalError> {
    if !user.has_any(super::api::STAFF) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let todo = cases::list(
        conn,
        user,
        Scope::Todo,
        &Query {
            limit: Some(50),
            ..Query::default()
        },
    )?;
    for c in todo {
        out.push(Item {
            label: format!(
                "待办审批：{} {}（{}，{}，承诺 {} 办结）{}",
                c.receipt,
                c.item_name,
                c.applicant_name,
                c.state_zh,
                c.due_on,
                if c.overdue { " 已逾期" } else { "" }
            ),
            href: format!("/approval/cases/{}", c.id),
            alert: c.overdue,
        });
    }
    if user.has(Role::Clerk) {
        let pending = intake::list(conn, Some("pending"))?.len();
        if pending > 0 {
            out.push(Item {
                label: format!("网上申报待预审 {pending} 件"),
                href: "/approval/intake".into(),
                alert: false,
            });
        }
    }
    Ok(out)
}
