//! Evaluations (一事一评, as in 好差评): one per case, five levels. A bad one (不满意 /
//! 非常不满意) opens the GB/T 39734 loop: follow-up contact, rectification within 15 working
//! days, the applicant's appeal and its review, each step recorded for supervisors to see.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{facts, multiline, SupervisionError};
use crate::approval::calendar::Calendar;
use crate::auth::User;
use crate::store::{Op, WriteTx};

/// Level 1 is best, 5 worst.
pub const LEVELS: [(u8, &str); 5] = [
    (1, "非常满意"),
    (2, "满意"),
    (3, "基本满意"),
    (4, "不满意"),
    (5, "非常不满意"),
];

/// Working days a department has to rectify after a bad rating (GB/T 39734).
pub const RECTIFY_DAYS: u32 = 15;

pub fn level_zh(level: u8) -> &'static str {
    LEVELS
        .iter()
        .find(|(l, _)| *l == level)
        .map_or("未知", |(_, n)| n)
}

pub fn is_bad(level: u8) -> bool {
    level >= 4
}

pub fn loop_state_zh(state: &str) -> &'static str {
    match state {
        "none" => "无需整改",
        "open" => "待回访",
        "contacted" => "已回访，整改中",
        "rectified" => "已整改",
        "appealed" => "申请人申诉中",
        "reviewed" => "申诉已复核",
        "closed" => "已办结",
        _ => "未知",
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Evaluation {
    pub id: i64,
    pub case_id: i64,
    pub receipt: String,
    pub department_id: i64,
    pub level: u8,
    pub level_zh: &'static str,
    pub reason: String,
    pub at: String,
    pub loop_state: String,
    pub loop_state_zh: &'static str,
    pub rectify_due_on: Option<String>,
    /// The loop is still running past its rectification date.
    pub rectify_overdue: bool,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Step {
    pub action: String,
    pub action_zh: &'static str,
    pub note: String,
    pub by: String,
    pub at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// 回访: a supervisor or the department contacted the applicant.
    Contact,
    /// 整改: the department reports what it changed.
    Rectify,
    /// 申诉: the applicant does not accept the rectification.
    Appeal,
    /// 复核: a supervisor reviews the appeal.
    Review,
    /// 办结.
    Close,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::Contact => "contact",
            Action::Rectify => "rectify",
            Action::Appeal => "appeal",
            Action::Review => "review",
            Action::Close => "close",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Action::Contact => "回访",
            Action::Rectify => "整改",
            Action::Appeal => "申诉",
            Action::Review => "复核",
            Action::Close => "办结",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        [
            Action::Contact,
            Action::Rectify,
            Action::Appeal,
            Action::Review,
            Action::Close,
        ]
        .into_iter()
        .find(|a| a.code() == s)
    }

    /// (states it may follow, state it leads to).
    fn transition(self) -> (&'static [&'static str], &'static str) {
        match self {
            Action::Contact => (&["open"], "contacted"),
            Action::Rectify => (&["contacted"], "rectified"),
            Action::Appeal => (&["rectified"], "appealed"),
            Action::Review => (&["appealed"], "reviewed"),
            Action::Close => (&["rectified", "reviewed"], "closed"),
        }
    }
}

/// Records the applicant's evaluation of case `receipt`: `level` 1 (非常满意) to 5
/// (非常不满意); `reason` is required for 4 and 5, which open the rectification loop.
pub fn submit(
    tx: &mut WriteTx,
    receipt: &str,
    level: u8,
    reason: &str,
) -> Result<Evaluation, SupervisionError> {
    if !(1..=5).contains(&level) {
        return Err(SupervisionError::invalid(
            "level",
            "评价等级只能是 1（非常满意）到 5（非常不满意）",
        ));
    }
    let reason = multiline("reason", reason, 2000, is_bad(level))?;
    let case = facts::by_receipt(tx.conn(), receipt.trim())?.ok_or_else(|| {
        SupervisionError::invalid(
            "receipt",
            format!("没有受理编号为 \"{}\" 的办件", super::short(receipt)),
        )
    })?;
    let taken: bool = tx.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM supervision_evaluations WHERE case_id = ?1)",
        [case.case_id],
        |r| r.get(0),
    )?;
    if taken {
        return Err(SupervisionError::Conflict(format!(
            "办件 {} 已经评价过：一事一评，不能重复评价",
            case.receipt
        )));
    }
    let now = tx.now().to_string();
    let day = super::beijing_day(&now);
    let (loop_state, due) = if is_bad(level) {
        let cal = Calendar::load(tx.conn())?;
        let today = super::date("at", &day)?;
        let due = cal.add_working_days(today, RECTIFY_DAYS, &[]).date;
        ("open", Some(due.to_string()))
    } else {
        ("none", None)
    };
    let id = tx.insert(
        "INSERT INTO supervision_evaluations(case_id, receipt, department_id, clerk_id, item_id,
             level, reason, at, on_day, loop_state, rectify_due_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            case.case_id,
            case.receipt,
            case.department_id,
            case.clerk_id,
            case.item_id,
            level,
            reason,
            now,
            day,
            loop_state,
            due
        ],
    )?;
    super::change(
        tx,
        "supervision_evaluation",
        &case.receipt,
        Op::Insert,
        &serde_json::json!({"id": id, "case_id": case.case_id, "level": level, "reason": reason,
            "at": now, "loop_state": loop_state, "rectify_due_on": due}),
    )?;
    get(tx.conn(), &case.receipt)
}

/// One step of the loop for a bad rating. `by` is the staff member recording it; `None` when
/// the applicant appeals from the portal.
pub fn step(
    tx: &mut WriteTx,
    by: Option<&User>,
    receipt: &str,
    action: Action,
    note: &str,
) -> Result<Evaluation, SupervisionError> {
    match (by, action) {
        (None, Action::Appeal) => {}
        (None, _) => {
            return Err(SupervisionError::Forbidden(
                "申请人只能提出申诉，其他环节由工作人员办理".into(),
            ))
        }
        (Some(u), Action::Contact | Action::Review | Action::Close) => {
            super::require_supervisor(u)?
        }
        (Some(u), Action::Rectify | Action::Appeal) => super::require_viewer(u)?,
    }
    let note = multiline("note", note, 2000, true)?;
    let (id, state): (i64, String) = tx
        .conn()
        .query_row(
            "SELECT id, loop_state FROM supervision_evaluations WHERE receipt = ?1",
            [receipt.trim()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| {
            SupervisionError::NotFound(format!("办件 {} 的评价", super::short(receipt)))
        })?;
    let (from, to) = action.transition();
    if !from.contains(&state.as_str()) {
        return Err(SupervisionError::OutOfOrder(format!(
            "评价当前为“{}”，不能{}",
            loop_state_zh(&state),
            action.zh()
        )));
    }
    let now = tx.now().to_string();
    let by_id = by.map(|u| u.id);
    tx.exec(
        "UPDATE supervision_evaluations SET loop_state = ?1 WHERE id = ?2",
        params![to, id],
    )?;
    let step_id = tx.insert(
        "INSERT INTO supervision_evaluation_steps(evaluation_id, action, note, by_id, at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, action.code(), note, by_id, now],
    )?;
    super::change(
        tx,
        "supervision_evaluation_step",
        step_id,
        Op::Insert,
        &serde_json::json!({"evaluation_id": id, "action": action.code(), "note": note,
            "by_id": by_id, "at": now, "loop_state": to}),
    )?;
    get(tx.conn(), receipt.trim())
}

const SELECT: &str = "SELECT id, case_id, receipt, department_id, level, reason, at, loop_state,
        rectify_due_on FROM supervision_evaluations";

fn from_row(conn: &Connection, r: &rusqlite::Row) -> rusqlite::Result<Evaluation> {
    let id: i64 = r.get(0)?;
    let level: u8 = r.get(4)?;
    let loop_state: String = r.get(7)?;
    let due: Option<String> = r.get(8)?;
    let today = super::today().to_string();
    let rectify_overdue = matches!(loop_state.as_str(), "open" | "contacted")
        && due.as_deref().is_some_and(|d| d < today.as_str());
    let mut st = conn.prepare_cached(
        "SELECT action, note, by_id, at FROM supervision_evaluation_steps
          WHERE evaluation_id = ?1 ORDER BY id",
    )?;
    let steps = st
        .query_map([id], |s| {
            let action: String = s.get(0)?;
            let by: Option<i64> = s.get(2)?;
            Ok(Step {
                action_zh: Action::parse(&action).map_or("未知", Action::zh),
                action,
                note: s.get(1)?,
                by: by.map_or_else(|| "申请人".into(), |b| super::user_name(conn, Some(b))),
                at: s.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Evaluation {
        id,
        case_id: r.get(1)?,
        receipt: r.get(2)?,
        department_id: r.get(3)?,
        level,
        level_zh: level_zh(level),
        reason: r.get(5)?,
        at: r.get(6)?,
        loop_state_zh: loop_state_zh(&loop_state),
        loop_state,
        rectify_due_on: due,
        rectify_overdue,
        steps,
    })
}

pub fn get(conn: &Connection, receipt: &str) -> Result<Evaluation, SupervisionError> {
    conn.prepare_cached(&format!("{SELECT} WHERE receipt = ?1"))?
        .query_row([receipt], |r| from_row(conn, r))
        .optional()?
        .ok_or_else(|| SupervisionError::NotFound(format!("办件 {} 的评价", super::short(receipt))))
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
pub struct Filter {
    /// `bad` (不满意 and 非常不满意), `loop` (loop still running), or all when absent.
    pub only: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    #[serde(default, deserialize_with = "super::opt_num")]
    pub department_id: Option<i64>,
}

pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<Evaluation>, SupervisionError> {
    let mut sql = format!("{SELECT} WHERE 1 = 1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    match f.only.as_deref().map(str::trim) {
        None | Some("") => {}
        Some("bad") => sql.push_str(" AND level >= 4"),
        Some("loop") => sql.push_str(" AND loop_state NOT IN ('none', 'closed')"),
        Some(other) => {
            return Err(SupervisionError::invalid(
                "only",
                format!("筛选 \"{}\" 无效：只能是 bad 或 loop", super::short(other)),
            ))
        }
    }
    if let Some(d) = f.from.as_deref().filter(|d| !d.trim().is_empty()) {
        args.push(super::date("from", d)?.to_string().into());
        sql.push_str(&format!(" AND on_day >= ?{}", args.len()));
    }
    if let Some(d) = f.to.as_deref().filter(|d| !d.trim().is_empty()) {
        args.push(super::date("to", d)?.to_string().into());
        sql.push_str(&format!(" AND on_day <= ?{}", args.len()));
    }
    if let Some(d) = f.department_id {
        args.push(d.into());
        sql.push_str(&format!(" AND department_id = ?{}", args.len()));
    }
    sql.push_str(" ORDER BY loop_state IN ('none', 'closed'), id DESC LIMIT 1000");
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(args), |r| from_row(conn, r))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
