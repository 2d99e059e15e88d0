//! Task supervision (督查督办): tasks with a due date, progress reports, overdue highlighted.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{line, multiline, user_by_name, OfficeError};
use crate::auth::{Role, User};
use crate::store::{Op, WriteTx};

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewTask {
    pub title: String,
    #[serde(default)]
    pub detail: String,
    pub assignee: String,
    /// `YYYY-MM-DD`.
    pub due_on: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Task {
    pub id: i64,
    pub title: String,
    pub detail: String,
    pub assignee: String,
    pub assignee_name: String,
    pub due_on: String,
    pub status: String,
    pub percent: i64,
    /// Still open after its due date.
    pub overdue: bool,
    pub progress: Vec<Progress>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub by: String,
    pub percent: i64,
    pub note: String,
    pub at: String,
}

/// Leaders, supervisors, department heads and admins set tasks.
pub fn create(tx: &mut WriteTx, user: &User, t: &NewTask) -> Result<Task, OfficeError> {
    if !user.has_any(&[Role::Admin, Role::Leader, Role::DeptHead, Role::Supervisor]) {
        return Err(OfficeError::Forbidden(
            "只有领导、科室负责人、监察人员或系统管理员可以交办督办事项".into(),
        ));
    }
    let title = line("title", &t.title, 200, true)?;
    let detail = multiline("detail", &t.detail, 10_000, false)?;
    let assignee = user_by_name(tx.conn(), "assignee", &t.assignee)?;
    let due = super::date("due_on", &t.due_on)?;
    if due < super::today() {
        return Err(OfficeError::invalid("due_on", "办结期限不能早于今天"));
    }
    let now = tx.now().to_string();
    let id = tx.insert(
        "INSERT INTO tasks(title, detail, assignee_id, created_by, due_on, status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6)",
        params![title, detail, assignee, user.id, due.to_string(), now],
    )?;
    super::change(
        tx,
        "task",
        id,
        Op::Insert,
        &serde_json::json!({"title": title, "detail": detail, "assignee_id": assignee, "created_by": user.id, "due_on": due.to_string()}),
    )?;
    get(tx.conn(), id)
}

/// The assignee reports progress; 100 closes the task.
pub fn report(
    tx: &mut WriteTx,
    user: &User,
    id: i64,
    percent: i64,
    note: &str,
) -> Result<Task, OfficeError> {
    let (assignee, status): (i64, String) = tx
        .conn()
        .query_row(
            "SELECT assignee_id, status FROM tasks WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| OfficeError::NotFound(format!("督办事项 {id}")))?;
    if assignee != user.id {
        return Err(OfficeError::Forbidden("只有承办人可以报告进展".into()));
    }
    if status == "done" {
        return Err(OfficeError::OutOfOrder("该督办事项已办结".into()));
    }
    if !(0..=100).contains(&percent) {
        return Err(OfficeError::invalid("percent", "进度应在 0 到 100 之间"));
    }
    let note = multiline("note", note, 2000, true)?;
    let now = tx.now().to_string();
    let pid = tx.insert("INSERT INTO task_progress(task_id, user_id, percent, note, at) VALUES (?1, ?2, ?3, ?4, ?5)", params![id, user.id, percent, note, now])?;
    if percent == 100 {
        tx.exec("UPDATE tasks SET status = 'done' WHERE id = ?1", [id])?;
    }
    super::change(
        tx,
        "task_progress",
        pid,
        Op::Insert,
        &serde_json::json!({"task_id": id, "percent": percent, "note": note}),
    )?;
    get(tx.conn(), id)
}

pub fn get(conn: &Connection, id: i64) -> Result<Task, OfficeError> {
    let today = super::today().to_string();
    let mut t = conn
        .query_row(
            "SELECT t.id, t.title, t.detail, u.username, u.display_name, t.due_on, t.status,
                    coalesce((SELECT percent FROM task_progress p WHERE p.task_id = t.id ORDER BY p.id DESC LIMIT 1), 0),
                    t.status = 'open' AND t.due_on < ?2
             FROM tasks t JOIN users u ON u.id = t.assignee_id WHERE t.id = ?1",
            params![id, today],
            |r| Ok(Task { id: r.get(0)?, title: r.get(1)?, detail: r.get(2)?, assignee: r.get(3)?, assignee_name: r.get(4)?,
                due_on: r.get(5)?, status: r.get(6)?, percent: r.get(7)?, overdue: r.get(8)?, progress: Vec::new() }),
        )
        .optional()?
        .ok_or_else(|| OfficeError::NotFound(format!("督办事项 {id}")))?;
    t.progress = conn
        .prepare_cached("SELECT u.display_name, p.percent, p.note, p.at FROM task_progress p JOIN users u ON u.id = p.user_id WHERE p.task_id = ?1 ORDER BY p.id")?
        .query_map([id], |r| Ok(Progress { by: r.get(0)?, percent: r.get(1)?, note: r.get(2)?, at: r.get(3)? }))?
        .collect::<Result<_, _>>()?;
    Ok(t)
}

/// Open tasks assigned to `user` or set by them (all open tasks for supervisors), overdue first.
pub fn list(conn: &Connection, user: &User) -> Result<Vec<Task>, OfficeError> {
    let all = user.has_any(&[Role::Admin, Role::Leader, Role::Supervisor]);
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM tasks WHERE ?2 OR assignee_id = ?1 OR created_by = ?1
             ORDER BY status = 'done', due_on, id LIMIT 500",
        )?
        .query_map(params![user.id, all], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.into_iter().map(|id| get(conn, id)).collect()
}
