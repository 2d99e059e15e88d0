//! Reading cases through approval's read contract, the view `approval_case_facts`.

use rusqlite::{Connection, OptionalExtension, Row};
use serde::Serialize;

use super::SupervisionError;

/// One case as supervision sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseFact {
    pub case_id: i64,
    pub receipt: String,
    pub item_id: i64,
    pub item_code: String,
    pub item_name: String,
    pub kind: String,
    pub department_id: i64,
    pub applicant_name: String,
    pub channel: String,
    pub clerk_id: i64,
    pub assignee_id: Option<i64>,
    pub state: String,
    pub closed: bool,
    pub accepted_at: String,
    pub accepted_on: String,
    pub promised_days: i64,
    pub due_on: String,
    pub statutory_due_on: String,
    pub closed_on: Option<String>,
    pub used_days: Option<i64>,
    pub saved_days: Option<i64>,
    pub paused: bool,
}

pub const COLUMNS: &str = "case_id, receipt, item_id, item_code, item_name, kind, department_id, \
     applicant_name, channel, clerk_id, assignee_id, state, closed, accepted_at, accepted_on, \
     promised_days, due_on, statutory_due_on, closed_on, used_days, saved_days, paused";

pub fn from_row(r: &Row) -> rusqlite::Result<CaseFact> {
    Ok(CaseFact {
        case_id: r.get(0)?,
        receipt: r.get(1)?,
        item_id: r.get(2)?,
        item_code: r.get(3)?,
        item_name: r.get(4)?,
        kind: r.get(5)?,
        department_id: r.get(6)?,
        applicant_name: r.get(7)?,
        channel: r.get(8)?,
        clerk_id: r.get(9)?,
        assignee_id: r.get(10)?,
        state: r.get(11)?,
        closed: r.get(12)?,
        accepted_at: r.get(13)?,
        accepted_on: r.get(14)?,
        promised_days: r.get(15)?,
        due_on: r.get(16)?,
        statutory_due_on: r.get(17)?,
        closed_on: r.get(18)?,
        used_days: r.get(19)?,
        saved_days: r.get(20)?,
        paused: r.get(21)?,
    })
}

pub fn by_receipt(conn: &Connection, receipt: &str) -> Result<Option<CaseFact>, SupervisionError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM approval_case_facts WHERE receipt = ?1"
        ))?
        .query_row([receipt], from_row)
        .optional()?)
}

pub fn by_id(conn: &Connection, case_id: i64) -> Result<Option<CaseFact>, SupervisionError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM approval_case_facts WHERE case_id = ?1"
        ))?
        .query_row([case_id], from_row)
        .optional()?)
}

/// 即办件 / 承诺件 / 联办件.
pub fn kind_zh(kind: &str) -> &'static str {
    match kind {
        "immediate" => "即办件",
        "promised" => "承诺件",
        "joint" => "联办件",
        _ => "其他",
    }
}

pub fn state_zh(state: &str) -> &'static str {
    match state {
        "accepted" => "已受理",
        "undertaken" => "承办中",
        "reviewed" => "已审核",
        "approved" => "已批准",
        "completed" => "已办结",
        "not_accepted" => "不予受理",
        "supplement" => "补正中",
        "denied" => "不予许可",
        "withdrawn" => "已撤回",
        _ => "未知",
    }
}

pub const STATES: [&str; 9] = [
    "accepted",
    "undertaken",
    "reviewed",
    "approved",
    "completed",
    "not_accepted",
    "supplement",
    "denied",
    "withdrawn",
];
