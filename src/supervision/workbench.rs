//! What supervision puts on the 工作台: cards to acknowledge or answer (the handler and the
//! department's head), unseen 催办 reminders, and for supervisors the open cards, complaints
//! and evaluation loops waiting for them.

use rusqlite::Connection;
use serde::Serialize;

use super::{cards, complaints, evaluations, reminders, SupervisionError};
use crate::auth::{Role, User};

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub label: String,
    pub href: String,
    pub alert: bool,
}

pub fn items(conn: &Connection, user: &User) -> Result<Vec<Item>, SupervisionError> {
    let mut out = Vec::new();
    let heads: Vec<i64> = user
        .roles
        .iter()
        .filter(|g| g.role == Role::DeptHead)
        .map(|g| g.department_id)
        .collect();
    for k in cards::open_for(conn, user.id, &heads)? {
        let todo = if k.state == "issued" {
            "请签收"
        } else if !k.advice.is_empty() && k.feedback.is_empty() {
            "请反馈监察建议书"
        } else {
            continue;
        };
        out.push(Item {
            label: format!(
                "{}：办件 {}，{} 起（{}）",
                k.colour_zh, k.receipt, k.due_on, todo
            ),
            href: format!("/supervision/cards#card-{}", k.id),
            alert: true,
        });
    }
    for r in reminders::unseen(conn, user.id)? {
        out.push(Item {
            label: format!("催办：{}（{}）", r.message, r.by),
            href: format!("/approval/cases/{}", r.case_id),
            alert: r.kind == "manual",
        });
    }
    if user.has_any(super::SUPERVISORS) {
        let open = cards::list(
            conn,
            &cards::Filter {
                state: Some("open".into()),
                ..Default::default()
            },
        )?;
        let issued = open.iter().filter(|k| k.state == "issued").count();
        if !open.is_empty() {
            out.push(Item {
                label: format!("未销牌的监察牌 {} 张（其中未签收 {issued} 张）", open.len()),
                href: "/supervision/cards".into(),
                alert: issued > 0,
            });
        }
        let c = complaints::list(
            conn,
            &complaints::Filter {
                state: Some("open".into()),
                ..Default::default()
            },
        )?;
        if !c.is_empty() {
            out.push(Item {
                label: format!("未办结的投诉 {} 件", c.len()),
                href: "/supervision/complaints".into(),
                alert: true,
            });
        }
        let e = evaluations::list(
            conn,
            &evaluations::Filter {
                only: Some("loop".into()),
                ..Default::default()
            },
        )?;
        if !e.is_empty() {
            out.push(Item {
                label: format!("差评整改未办结 {} 件", e.len()),
                href: "/supervision/evaluations".into(),
                alert: e.iter().any(|e| e.rectify_overdue),
            });
        }
    }
    Ok(out)
}
