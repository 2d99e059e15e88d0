//! Joint approval (联办): one sub-case per auxiliary department, opened at acceptance and worked
//! in parallel, each with its own due date. The lead department decides (批准 / 不予许可) only
//! once every sub-case is done; the trace shows the sub-cases' steps with their departments.

use jiff::civil::Date;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

use super::calendar::{Calendar, Pause};
use super::cases::{self, Case, MAX_OPINION};
use super::items::Item;
use super::{messages, multiline, workflow, ApprovalError};
use crate::auth::{Role, User};
use crate::store::{Op, WriteTx};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Subcase {
    pub id: i64,
    pub department_id: i64,
    pub department_name: String,
    /// `open` or `done`.
    pub state: String,
    pub assignee_name: Option<String>,
    pub due_on: String,
    pub opinion: String,
    pub done_at: Option<String>,
    pub done_on: Option<String>,
    pub overdue: bool,
}

pub(crate) fn open_subcases(
    tx: &mut WriteTx,
    case_id: i64,
    item: &Item,
    accepted_on: Date,
    cal: &Calendar,
) -> Result<(), ApprovalError> {
    for j in &item.joint {
        let due = cal.add_working_days(accepted_on, j.days, &[]);
        tx.exec(
            "INSERT INTO approval_subcases(case_id, department_id, state, due_on) VALUES (?1, ?2, 'open', ?3)",
            params![case_id, j.department_id, due.date.to_string()],
        )?;
        messages::tell_department(tx, case_id, j.department_id);
    }
    Ok(())
}

pub fn list(conn: &Connection, case_id: i64) -> Result<Vec<Subcase>, ApprovalError> {
    let today = super::beijing_date(&crate::clock::now_utc()).to_string();
    Ok(conn
        .prepare_cached(
            "SELECT s.id, s.department_id, d.name, s.state, u.display_name, s.due_on, s.opinion,
                    s.done_at, s.done_on
               FROM approval_subcases s JOIN departments d ON d.id = s.department_id
               LEFT JOIN users u ON u.id = s.assignee_id
              WHERE s.case_id = ?1 ORDER BY d.name",
        )?
        .query_map([case_id], |r| {
            let state: String = r.get(3)?;
            let due_on: String = r.get(5)?;
            let done_on: Option<String> = r.get(8)?;
            let overdue = match &done_on {
                Some(d) => *d > due_on,
                None => state == "open" && today > due_on,
            };
            Ok(Subcase {
                id: r.get(0)?,
                department_id: r.get(1)?,
                department_name: r.get(2)?,
                state,
                assignee_name: r.get(4)?,
                due_on,
                opinion: r.get(6)?,
                done_at: r.get(7)?,
                done_on,
                overdue,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// The names of the departments whose sub-case is still open.
pub fn open_departments(conn: &Connection, case_id: i64) -> Result<Vec<String>, ApprovalError> {
    Ok(conn
        .prepare_cached(
            "SELECT d.name FROM approval_subcases s JOIN departments d ON d.id = s.department_id
              WHERE s.case_id = ?1 AND s.state = 'open' ORDER BY d.name",
        )?
        .query_map([case_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// A handler of the auxiliary department finishes its sub-case with its opinion. Bumps the
/// case's version like every action on it.
pub fn finish(
    tx: &mut WriteTx,
    user: &User,
    case_id: i64,
    subcase_id: i64,
    version: i64,
    opinion: &str,
    today: Date,
) -> Result<Case, ApprovalError> {
    let (receipt, state, seen): (String, String, i64) = tx
        .conn()
        .query_row(
            "SELECT receipt, state, version FROM approval_cases WHERE id = ?1",
            [case_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| ApprovalError::NotFound(format!("办件 {case_id}")))?;
    workflow::check_version(version, seen)?;
    let (dept, sub_state): (i64, String) = tx
        .conn()
        .query_row(
            "SELECT department_id, state FROM approval_subcases WHERE id = ?1 AND case_id = ?2",
            params![subcase_id, case_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| ApprovalError::NotFound(format!("联办子件 {subcase_id}")))?;
    if !user
        .roles
        .iter()
        .any(|g| g.role == Role::Handler && g.department_id == dept)
    {
        return Err(ApprovalError::Forbidden(
            "只有该配合部门的承办人可以办结联办子件".into(),
        ));
    }
    if sub_state != "open" {
        return Err(ApprovalError::IllegalTransition(
            "该联办子件已经办结".into(),
        ));
    }
    if !["accepted", "undertaken", "reviewed"].contains(&state.as_str()) {
        return Err(ApprovalError::IllegalTransition(format!(
            "办件 {receipt} 当前状态为“{}”，配合部门不能办结",
            cases::state_zh(&state)
        )));
    }
    let opinion = multiline("opinion", opinion, MAX_OPINION, true)?;
    let now = tx.now().to_string();
    let today_s = today.to_string();
    tx.exec(
        "UPDATE approval_subcases SET state = 'done', assignee_id = ?2, opinion = ?3, done_at = ?4, done_on = ?5
          WHERE id = ?1 AND state = 'open'",
        params![subcase_id, user.id, opinion, now, today_s],
    )?;
    let changed = tx.exec(
        "UPDATE approval_cases SET version = version + 1, updated_at = ?3 WHERE id = ?1 AND version = ?2",
        params![case_id, version, now],
    )?;
    if changed != 1 {
        return Err(ApprovalError::Stale {
            seen: version,
            now: seen + 1,
        });
    }
    let step_id = tx.insert(
        "INSERT INTO approval_steps(case_id, subcase_id, action, from_state, to_state, actor_id, at, opinion)
         VALUES (?1, ?2, 'subcase_done', 'open', 'done', ?3, ?4, ?5)",
        params![case_id, subcase_id, user.id, now, opinion],
    )?;
    tx.change(
        "approval_case",
        &receipt,
        Op::Update,
        &serde_json::json!({"receipt": receipt, "step_id": step_id, "action": "subcase_done",
                            "subcase_id": subcase_id, "department_id": dept,
                            "actor_id": user.id, "opinion": opinion, "version": version + 1}),
    )?;
    cases::get(tx.conn(), case_id)
}

/// A withdrawn case's open sub-cases end with it.
pub(crate) fn close_open(tx: &mut WriteTx, case_id: i64, today: Date) -> Result<(), ApprovalError> {
    let now = tx.now().to_string();
    tx.exec(
        "UPDATE approval_subcases SET state = 'done', opinion = '申请人已撤回', done_at = ?2, done_on = ?3
          WHERE case_id = ?1 AND state = 'open'",
        params![case_id, now, today.to_string()],
    )?;
    Ok(())
}

/// Recomputes the due dates of a case's open sub-cases; whether any changed.
pub(crate) fn recompute(
    tx: &mut WriteTx,
    case_id: i64,
    accepted_on: Date,
    cal: &Calendar,
    pauses: &[Pause],
) -> Result<bool, ApprovalError> {
    let subs: Vec<(i64, u32, String)> = tx
        .conn()
        .prepare_cached(
            "SELECT s.id, j.days, s.due_on FROM approval_subcases s
               JOIN approval_cases c ON c.id = s.case_id
               JOIN approval_item_joint j ON j.item_id = c.item_id AND j.department_id = s.department_id
              WHERE s.case_id = ?1 AND s.state = 'open'",
        )?
        .query_map([case_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut any = false;
    for (id, days, due_on) in subs {
        let due = cal
            .add_working_days(accepted_on, days, pauses)
            .date
            .to_string();
        if due != due_on {
            tx.exec(
                "UPDATE approval_subcases SET due_on = ?2 WHERE id = ?1",
                params![id, due],
            )?;
            any = true;
        }
    }
    Ok(any)
}
