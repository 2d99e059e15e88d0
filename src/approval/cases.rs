//! Cases (办件): acceptance at the window (or from the intake queue), receipt numbers, the
//! materials checklist and fees, and the read side: one case with its trace, and the work
//! views (待办, 已办, department, overdue).

use jiff::civil::Date;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::calendar::{Calendar, Pause};
use super::items::{self, Item};
use super::money::{self, Quantity};
use super::{ids, joint, line, messages, multiline, short, workflow, ApprovalError, Step};
use crate::auth::{Role, User};
use crate::store::{valid_hash, Op, WriteTx};

/// A day has at most this many receipts: the number has six digits.
const MAX_RECEIPTS_PER_DAY: i64 = 999_999;
pub const MAX_OPINION: usize = 2000;

pub const CLOSED_STATES: [&str; 4] = ["completed", "not_accepted", "denied", "withdrawn"];

pub fn state_zh(state: &str) -> &'static str {
    match state {
        "accepted" => "已受理",
        "undertaken" => "已承办",
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

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct MaterialIn {
    /// The item's material name.
    pub name: String,
    pub provided: bool,
    /// A scan of it, stored as a blob first.
    #[serde(default)]
    pub hash: Option<String>,
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub size: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct FeeIn {
    /// The item's fee name.
    pub name: String,
    /// A decimal as text, e.g. "2.5".
    pub quantity: String,
}

/// What the window clerk enters to accept (or refuse) an application.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct NewCase {
    pub item_code: String,
    /// `person` or `org`.
    pub applicant_kind: String,
    pub applicant_name: String,
    /// Resident ID (person) or unified social credit code (org).
    pub applicant_id_no: String,
    pub applicant_phone: String,
    #[serde(default)]
    pub materials: Vec<MaterialIn>,
    #[serde(default)]
    pub fees: Vec<FeeIn>,
    #[serde(default)]
    pub opinion: String,
    /// Username of the handler to undertake it; the item's first handler when absent.
    #[serde(default)]
    pub assignee: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Person {
    pub id: i64,
    pub username: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseMaterial {
    pub name: String,
    pub required: bool,
    pub provided: bool,
    pub hash: Option<String>,
    pub file_name: Option<String>,
    pub size: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseFee {
    pub name: String,
    pub unit_price_fen: i64,
    pub unit: String,
    pub quantity: String,
    pub amount_fen: i64,
}

/// One line of the trace (流程跟踪).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TraceStep {
    pub id: i64,
    pub action: String,
    pub label_zh: String,
    pub from_state: String,
    pub to_state: String,
    pub actor: Option<String>,
    pub actor_name: Option<String>,
    pub at: String,
    pub opinion: String,
    /// For a joint sub-case's step: its department.
    pub subcase_department: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PauseRow {
    pub id: i64,
    pub kind: String,
    pub kind_zh: String,
    pub reason: String,
    pub from_on: String,
    pub to_on: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Case {
    pub id: i64,
    pub receipt: String,
    pub item_id: i64,
    pub item_code: String,
    pub item_name: String,
    pub item_short_name: String,
    pub kind: String,
    pub kind_zh: String,
    pub department_id: i64,
    pub department_name: String,
    pub promised_days: i64,
    pub statutory_days: i64,
    pub applicant_kind: String,
    pub applicant_name: String,
    pub applicant_id_no: String,
    pub applicant_phone: String,
    /// `window` or `online`.
    pub channel: String,
    pub state: String,
    pub state_zh: String,
    pub clerk: Person,
    pub assignee: Option<Person>,
    pub accepted_at: String,
    pub accepted_on: String,
    pub due_on: String,
    pub statutory_due_on: String,
    pub due_provisional: bool,
    pub fee_total_fen: i64,
    pub closed_at: Option<String>,
    pub closed_on: Option<String>,
    pub used_days: Option<i64>,
    pub saved_days: Option<i64>,
    /// Name it when acting: a stale version is refused.
    pub version: i64,
    pub overdue: bool,
    pub closed: bool,
    /// The pause running now (补正 or an Art. 45 period).
    pub paused: Option<PauseRow>,
    pub item_location: String,
    pub item_contact_phone: String,
    pub materials: Vec<CaseMaterial>,
    pub fees: Vec<CaseFee>,
    pub steps: Vec<TraceStep>,
    pub subcases: Vec<joint::Subcase>,
    pub pauses: Vec<PauseRow>,
}

/// One line of a work view.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseSummary {
    pub id: i64,
    pub receipt: String,
    pub item_name: String,
    pub kind_zh: String,
    pub department_name: String,
    pub applicant_name: String,
    pub state: String,
    pub state_zh: String,
    pub assignee_name: Option<String>,
    pub accepted_on: String,
    pub due_on: String,
    pub due_provisional: bool,
    pub closed_on: Option<String>,
    pub overdue: bool,
    pub paused: bool,
    pub version: i64,
}

/// The fields a clerk's entry shares with an online application, checked.
pub(crate) struct Applicant {
    pub kind: String,
    pub name: String,
    pub id_no: String,
    pub phone: String,
}

pub(crate) fn check_applicant(
    kind: &str,
    name: &str,
    id_no: &str,
    phone: &str,
) -> Result<Applicant, ApprovalError> {
    let kind = kind.trim().to_string();
    let name = line("applicant_name", name, 100, true)?;
    let id_no = ids::applicant_id(&kind, id_no)
        .map_err(|e| ApprovalError::invalid("applicant_id_no", e))?;
    let phone = phone.trim().to_string();
    if !super::notify::valid_phone(&phone) {
        return Err(ApprovalError::invalid(
            "applicant_phone",
            format!(
                "手机号 \"{}\" 无效：应为 11 位中国大陆手机号，以 1 开头",
                short(&phone)
            ),
        ));
    }
    Ok(Applicant {
        kind,
        name,
        id_no,
        phone,
    })
}

fn allocate_receipt(tx: &mut WriteTx, today: Date) -> Result<String, ApprovalError> {
    let day = today.strftime("%Y%m%d").to_string();
    tx.exec(
        "INSERT INTO approval_receipts(day, last) VALUES (?1, 1)
         ON CONFLICT(day) DO UPDATE SET last = last + 1",
        [&day],
    )?;
    let last: i64 = tx.conn().query_row(
        "SELECT last FROM approval_receipts WHERE day = ?1",
        [&day],
        |r| r.get(0),
    )?;
    if last > MAX_RECEIPTS_PER_DAY {
        return Err(ApprovalError::Conflict(
            "今天的受理号已用完（每天最多 999999 件）".into(),
        ));
    }
    Ok(format!("{day}-{}-{last:06}", tx.site_id()))
}

fn check_materials(item: &Item, given: &[MaterialIn]) -> Result<Vec<CaseMaterial>, ApprovalError> {
    for g in given {
        if !item.materials.iter().any(|m| m.name == g.name.trim()) {
            return Err(ApprovalError::invalid(
                "materials",
                format!("事项没有材料 \"{}\"", short(&g.name)),
            ));
        }
    }
    let mut out = Vec::with_capacity(item.materials.len());
    for m in &item.materials {
        let g = given.iter().find(|g| g.name.trim() == m.name);
        let provided = g.is_some_and(|g| g.provided);
        let (hash, file_name, size) = match g.and_then(|g| g.hash.as_deref()) {
            Some(h) if !valid_hash(h) => {
                return Err(ApprovalError::invalid(
                    "materials",
                    format!("材料 \"{}\" 的文件编号不是 SHA-256", m.name),
                ))
            }
            Some(h) => {
                let g = g.expect("a hash comes with its material");
                let name = line(
                    "materials",
                    g.file_name.as_deref().unwrap_or("材料.pdf"),
                    120,
                    true,
                )?;
                (Some(h.to_string()), Some(name), g.size)
            }
            None => (None, None, None),
        };
        out.push(CaseMaterial {
            name: m.name.clone(),
            required: m.required,
            provided: provided || hash.is_some(),
            hash,
            file_name,
            size,
        });
    }
    Ok(out)
}

fn check_fees(item: &Item, given: &[FeeIn]) -> Result<Vec<CaseFee>, ApprovalError> {
    let mut out: Vec<CaseFee> = Vec::new();
    for g in given {
        let name = g.name.trim();
        let Some(f) = item.fees.iter().find(|f| f.name == name) else {
            return Err(ApprovalError::invalid(
                "fees",
                format!("事项没有收费项目 \"{}\"", short(name)),
            ));
        };
        if out.iter().any(|x| x.name == name) {
            return Err(ApprovalError::invalid(
                "fees",
                format!("收费项目 \"{name}\" 重复"),
            ));
        }
        let q = Quantity::parse(&g.quantity)
            .map_err(|e| ApprovalError::invalid("fees", format!("{name}：{e}")))?;
        let amount = money::amount(f.unit_price_fen, q)
            .map_err(|e| ApprovalError::invalid("fees", format!("{name}：{e}")))?;
        out.push(CaseFee {
            name: f.name.clone(),
            unit_price_fen: f.unit_price_fen,
            unit: f.unit.clone(),
            quantity: q.to_text(),
            amount_fen: amount,
        });
    }
    let total: i64 = out.iter().map(|f| f.amount_fen).sum();
    if total > money::MAX_FEN {
        return Err(ApprovalError::invalid("fees", "合计金额超过上限（1 亿元）"));
    }
    Ok(out)
}

/// The window clerk accepts an application (受理): it gets its receipt number and due dates and
/// goes to the handler. Every required material must be there.
pub fn accept(
    tx: &mut WriteTx,
    user: &User,
    new: &NewCase,
    today: Date,
) -> Result<Case, ApprovalError> {
    open(tx, user, new, today, "window", true)
}

/// The window clerk refuses an application (不予受理) with the reason; the case is closed at
/// once and its receipt number goes on the printed notice.
pub fn refuse(
    tx: &mut WriteTx,
    user: &User,
    new: &NewCase,
    today: Date,
) -> Result<Case, ApprovalError> {
    open(tx, user, new, today, "window", false)
}

pub(crate) fn open(
    tx: &mut WriteTx,
    user: &User,
    new: &NewCase,
    today: Date,
    channel: &str,
    accepted: bool,
) -> Result<Case, ApprovalError> {
    let item = items::get(tx.conn(), &new.item_code).map_err(|_| {
        ApprovalError::invalid(
            "item_code",
            format!("没有事项 \"{}\"", short(&new.item_code)),
        )
    })?;
    if !item.active {
        return Err(ApprovalError::invalid(
            "item_code",
            format!("事项 {} 已停用，不能受理", item.short_name),
        ));
    }
    workflow::require_step(tx.conn(), user, &item, Step::Accept, item.department_id)?;
    let a = check_applicant(
        &new.applicant_kind,
        &new.applicant_name,
        &new.applicant_id_no,
        &new.applicant_phone,
    )?;
    let materials = check_materials(&item, &new.materials)?;
    let fees = check_fees(&item, &new.fees)?;
    let opinion = multiline("opinion", &new.opinion, MAX_OPINION, !accepted)?;
    if accepted {
        let missing: Vec<&str> = materials
            .iter()
            .filter(|m| m.required && !m.provided)
            .map(|m| m.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(ApprovalError::invalid(
                "materials",
                format!(
                    "必需材料未收齐：{}。请一次性告知申请人补齐后再受理，或不予受理",
                    missing.join("、")
                ),
            ));
        }
    }
    let assignee = if accepted && item.kind != "immediate" {
        Some(workflow::pick_assignee(
            tx.conn(),
            &item,
            Step::Undertake,
            item.department_id,
            new.assignee.as_deref(),
            None,
        )?)
    } else if accepted {
        Some(user.id)
    } else {
        None
    };
    let cal = Calendar::load(tx.conn())?;
    let (due, statutory) =
        workflow::due_dates(&cal, today, item.promised_days, item.statutory_days, &[]);
    let receipt = allocate_receipt(tx, today)?;
    let now = tx.now().to_string();
    let state = if accepted { "accepted" } else { "not_accepted" };
    let fee_total: i64 = fees.iter().map(|f| f.amount_fen).sum();
    let today_s = today.to_string();
    let id = tx.insert(
        "INSERT INTO approval_cases(receipt, item_id, kind, department_id, promised_days,
                statutory_days, applicant_kind, applicant_name, applicant_id_no, applicant_phone,
                channel, state, clerk_id, assignee_id, accepted_at, accepted_on, due_on,
                statutory_due_on, due_provisional, fee_total_fen, closed_at, closed_on, used_days,
                saved_days, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21, ?22, ?23, ?24, ?15)",
        params![
            receipt,
            item.id,
            item.kind,
            item.department_id,
            item.promised_days,
            item.statutory_days,
            a.kind,
            a.name,
            a.id_no,
            a.phone,
            channel,
            state,
            user.id,
            assignee,
            now,
            today_s,
            due.date.to_string(),
            statutory.date.to_string(),
            due.provisional || statutory.provisional,
            fee_total,
            (!accepted).then_some(&now),
            (!accepted).then_some(&today_s),
            (!accepted).then_some(0),
            (!accepted).then_some(0),
        ],
    )?;
    for (i, m) in materials.iter().enumerate() {
        tx.exec(
            "INSERT INTO approval_case_materials(case_id, position, name, required, provided, hash, file_name, size)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![id, i, m.name, m.required, m.provided, m.hash, m.file_name, m.size],
        )?;
    }
    for (i, f) in fees.iter().enumerate() {
        tx.exec(
            "INSERT INTO approval_case_fees(case_id, position, name, unit_price_fen, unit, quantity, amount_fen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id, i, f.name, f.unit_price_fen, f.unit, f.quantity, f.amount_fen],
        )?;
    }
    let action = if accepted { "accept" } else { "not_accept" };
    tx.insert(
        "INSERT INTO approval_steps(case_id, action, from_state, to_state, actor_id, at, opinion)
         VALUES (?1, ?2, 'new', ?3, ?4, ?5, ?6)",
        params![id, action, state, user.id, now, opinion],
    )?;
    if accepted && item.kind == "joint" {
        joint::open_subcases(tx, id, &item, today, &cal)?;
    }
    let hashes: Vec<&str> = materials.iter().filter_map(|m| m.hash.as_deref()).collect();
    tx.change_with_blobs(
        "approval_case",
        &receipt,
        Op::Insert,
        &serde_json::json!({
            "receipt": receipt, "item_code": item.code, "state": state, "channel": channel,
            "applicant_kind": a.kind, "applicant_name": a.name, "applicant_id_no": a.id_no,
            "applicant_phone": a.phone, "clerk_id": user.id, "assignee_id": assignee,
            "accepted_on": today_s, "due_on": due.date.to_string(),
            "statutory_due_on": statutory.date.to_string(), "fee_total_fen": fee_total,
            "materials": materials, "fees": fees, "opinion": opinion,
        }),
        &hashes,
    )?;
    if accepted {
        messages::tell_assignee(tx, id);
    }
    get(tx.conn(), id)
}

fn person(conn: &Connection, id: i64) -> Result<Person, ApprovalError> {
    Ok(conn
        .prepare_cached("SELECT id, username, display_name FROM users WHERE id = ?1")?
        .query_row([id], |r| {
            Ok(Person {
                id: r.get(0)?,
                username: r.get(1)?,
                display_name: r.get(2)?,
            })
        })?)
}

pub fn pause_kind_zh(kind: &str) -> &'static str {
    match kind {
        "supplement" => "补正",
        "hearing" => "听证",
        "testing" => "检验检测",
        "inspection" => "现场勘查",
        "expert_review" => "专家评审",
        _ => "暂停",
    }
}

pub fn pauses(conn: &Connection, case_id: i64) -> Result<Vec<PauseRow>, ApprovalError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, kind, reason, from_on, to_on FROM approval_pauses WHERE case_id = ?1 ORDER BY id",
        )?
        .query_map([case_id], |r| {
            let kind: String = r.get(1)?;
            Ok(PauseRow {
                id: r.get(0)?,
                kind_zh: pause_kind_zh(&kind).into(),
                kind,
                reason: r.get(2)?,
                from_on: r.get(3)?,
                to_on: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// The intervals the clock skips: each ended pause covers the days after it began up to and
/// including the day it ended (the day of the request still counts, the clock resumes the day
/// after the applicant supplied).
pub fn clock_pauses(rows: &[PauseRow]) -> Vec<Pause> {
    rows.iter()
        .filter_map(|p| {
            let from: Date = p.from_on.parse().ok()?;
            let to: Date = p.to_on.as_deref()?.parse().ok()?;
            let from = from.tomorrow().ok()?;
            (from <= to).then_some(Pause { from, to })
        })
        .collect()
}

pub fn get(conn: &Connection, id: i64) -> Result<Case, ApprovalError> {
    let today = super::beijing_date(&crate::clock::now_utc()).to_string();
    let row = conn
        .prepare_cached(
            "SELECT c.id, c.receipt, c.item_id, i.code, i.name, i.short_name, c.kind,
                    c.department_id, d.name, c.promised_days, c.statutory_days, c.applicant_kind,
                    c.applicant_name, c.applicant_id_no, c.applicant_phone, c.channel, c.state,
                    c.clerk_id, c.assignee_id, c.accepted_at, c.accepted_on, c.due_on,
                    c.statutory_due_on, c.due_provisional, c.fee_total_fen, c.closed_at,
                    c.closed_on, c.used_days, c.saved_days, c.version, i.location, i.contact_phone
               FROM approval_cases c JOIN approval_items i ON i.id = c.item_id
               JOIN departments d ON d.id = c.department_id WHERE c.id = ?1",
        )?
        .query_row([id], |r| {
            let kind: String = r.get(6)?;
            let state: String = r.get(16)?;
            Ok((
                Case {
                    id: r.get(0)?,
                    receipt: r.get(1)?,
                    item_id: r.get(2)?,
                    item_code: r.get(3)?,
                    item_name: r.get(4)?,
                    item_short_name: r.get(5)?,
                    kind_zh: items::kind_zh(&kind).into(),
                    kind,
                    department_id: r.get(7)?,
                    department_name: r.get(8)?,
                    promised_days: r.get(9)?,
                    statutory_days: r.get(10)?,
                    applicant_kind: r.get(11)?,
                    applicant_name: r.get(12)?,
                    applicant_id_no: r.get(13)?,
                    applicant_phone: r.get(14)?,
                    channel: r.get(15)?,
                    state_zh: state_zh(&state).into(),
                    closed: CLOSED_STATES.contains(&state.as_str()),
                    state,
                    clerk: Person {
                        id: r.get(17)?,
                        username: String::new(),
                        display_name: String::new(),
                    },
                    assignee: None,
                    accepted_at: r.get(19)?,
                    accepted_on: r.get(20)?,
                    due_on: r.get(21)?,
                    statutory_due_on: r.get(22)?,
                    due_provisional: r.get(23)?,
                    fee_total_fen: r.get(24)?,
                    closed_at: r.get(25)?,
                    closed_on: r.get(26)?,
                    used_days: r.get(27)?,
                    saved_days: r.get(28)?,
                    version: r.get(29)?,
                    overdue: false,
                    paused: None,
                    item_location: r.get(30)?,
                    item_contact_phone: r.get(31)?,
                    materials: Vec::new(),
                    fees: Vec::new(),
                    steps: Vec::new(),
                    subcases: Vec::new(),
                    pauses: Vec::new(),
                },
                r.get::<_, Option<i64>>(18)?,
            ))
        })
        .optional()?;
    let (mut c, assignee) = row.ok_or_else(|| ApprovalError::NotFound(format!("办件 {id}")))?;
    c.clerk = person(conn, c.clerk.id)?;
    c.assignee = assignee.map(|a| person(conn, a)).transpose()?;
    c.materials = conn
        .prepare_cached(
            "SELECT name, required, provided, hash, file_name, size FROM approval_case_materials
              WHERE case_id = ?1 ORDER BY position",
        )?
        .query_map([id], |r| {
            Ok(CaseMaterial {
                name: r.get(0)?,
                required: r.get(1)?,
                provided: r.get(2)?,
                hash: r.get(3)?,
                file_name: r.get(4)?,
                size: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    c.fees = conn
        .prepare_cached(
            "SELECT name, unit_price_fen, unit, quantity, amount_fen FROM approval_case_fees
              WHERE case_id = ?1 ORDER BY position",
        )?
        .query_map([id], |r| {
            Ok(CaseFee {
                name: r.get(0)?,
                unit_price_fen: r.get(1)?,
                unit: r.get(2)?,
                quantity: r.get(3)?,
                amount_fen: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    c.steps = conn
        .prepare_cached(
            "SELECT s.id, s.action, s.from_state, s.to_state, u.username, u.display_name, s.at,
                    s.opinion, d.name
               FROM approval_steps s LEFT JOIN users u ON u.id = s.actor_id
               LEFT JOIN approval_subcases sc ON sc.id = s.subcase_id
               LEFT JOIN departments d ON d.id = sc.department_id
              WHERE s.case_id = ?1 ORDER BY s.id",
        )?
        .query_map([id], |r| {
            let action: String = r.get(1)?;
            Ok(TraceStep {
                id: r.get(0)?,
                label_zh: workflow::action_zh(&action).into(),
                action,
                from_state: r.get(2)?,
                to_state: r.get(3)?,
                actor: r.get(4)?,
                actor_name: r.get(5)?,
                at: r.get(6)?,
                opinion: r.get(7)?,
                subcase_department: r.get(8)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    c.subcases = joint::list(conn, id)?;
    c.pauses = pauses(conn, id)?;
    c.paused = c.pauses.iter().find(|p| p.to_on.is_none()).cloned();
    c.overdue = match &c.closed_on {
        Some(closed) => c.state != "not_accepted" && *closed > c.due_on,
        None => c.paused.is_none() && today > c.due_on,
    };
    Ok(c)
}

pub fn by_receipt(conn: &Connection, receipt: &str) -> Result<Case, ApprovalError> {
    let id: i64 = conn
        .query_row(
            "SELECT id FROM approval_cases WHERE receipt = ?1",
            [receipt.trim()],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| ApprovalError::NotFound(format!("受理号 {}", short(receipt))))?;
    get(conn, id)
}

/// Which cases a work view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// 待办: open cases waiting for the user (or an open joint sub-case of their department).
    Todo,
    /// 已办: cases the user acted on.
    Done,
    /// A head's view: the cases of the departments the user heads (or all, for leaders,
    /// supervisors and admins).
    Department,
}

/// The query of a work view: all given criteria must hold (组合查询); `receipt` alone is the
/// exact query (精确查询); `overdue` keeps only late cases.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct Query {
    pub receipt: Option<String>,
    /// Part of the applicant's name.
    pub applicant: Option<String>,
    pub item_code: Option<String>,
    pub state: Option<String>,
    /// Accepted on or after (YYYY-MM-DD).
    pub from: Option<String>,
    /// Accepted on or before (YYYY-MM-DD).
    pub to: Option<String>,
    pub overdue: Option<bool>,
    pub limit: Option<u32>,
}

fn opt(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

pub fn list(
    conn: &Connection,
    user: &User,
    scope: Scope,
    q: &Query,
) -> Result<Vec<CaseSummary>, ApprovalError> {
    let today = super::beijing_date(&crate::clock::now_utc()).to_string();
    let state = opt(&q.state);
    if let Some(s) = &state {
        if state_zh(s) == "未知" {
            return Err(ApprovalError::invalid(
                "state",
                format!("状态 \"{}\" 无效", short(s)),
            ));
        }
    }
    let from = opt(&q.from)
        .map(|d| super::parse_date("from", &d))
        .transpose()?;
    let to = opt(&q.to)
        .map(|d| super::parse_date("to", &d))
        .transpose()?;
    let all_departments = user.has_any(&[Role::Admin, Role::Leader, Role::Supervisor]);
    let heads: Vec<i64> = user
        .roles
        .iter()
        .filter(|g| g.role == Role::DeptHead)
        .map(|g| g.department_id)
        .collect();
    if scope == Scope::Department && !all_departments && heads.is_empty() {
        return Err(ApprovalError::Forbidden(
            "只有科室负责人、分管领导、监察人员或系统管理员可以查看部门办件".into(),
        ));
    }
    let handler_depts: Vec<i64> = user
        .roles
        .iter()
        .filter(|g| g.role == Role::Handler)
        .map(|g| g.department_id)
        .collect();
    let scope_sql = match scope {
        Scope::Todo => {
            "c.state NOT IN ('completed', 'not_accepted', 'denied', 'withdrawn') AND (c.assignee_id = ?1
              OR EXISTS (SELECT 1 FROM approval_subcases sc WHERE sc.case_id = c.id AND sc.state = 'open'
                 AND (sc.assignee_id = ?1 OR (sc.assignee_id IS NULL
                      AND sc.department_id IN (SELECT value FROM json_each(?2))))))"
        }
        Scope::Done => "EXISTS (SELECT 1 FROM approval_steps s WHERE s.case_id = c.id AND s.actor_id = ?1 AND s.action <> 'urge')",
        Scope::Department => {
            "(?3 OR c.department_id IN (SELECT value FROM json_each(?4))
              OR EXISTS (SELECT 1 FROM approval_subcases sc WHERE sc.case_id = c.id
                         AND sc.department_id IN (SELECT value FROM json_each(?4))))"
        }
    };
    let sql = format!(
        "SELECT c.id, c.receipt, i.short_name, c.kind, d.name, c.applicant_name, c.state,
                u.display_name, c.accepted_on, c.due_on, c.due_provisional, c.closed_on, c.version,
                EXISTS (SELECT 1 FROM approval_pauses p WHERE p.case_id = c.id AND p.to_on IS NULL) AS paused
           FROM approval_cases c JOIN approval_items i ON i.id = c.item_id
           JOIN departments d ON d.id = c.department_id
           LEFT JOIN users u ON u.id = c.assignee_id
          WHERE {scope_sql}
            AND (?5 IS NULL OR c.receipt = ?5)
            AND (?6 IS NULL OR instr(c.applicant_name, ?6) > 0)
            AND (?7 IS NULL OR i.code = ?7)
            AND (?8 IS NULL OR c.state = ?8)
            AND (?9 IS NULL OR c.accepted_on >= ?9)
            AND (?10 IS NULL OR c.accepted_on <= ?10)
            AND (NOT ?11 OR (c.state <> 'not_accepted' AND (
                   (c.closed_on IS NOT NULL AND c.closed_on > c.due_on)
                OR (c.closed_on IS NULL AND c.due_on < ?12
                    AND NOT EXISTS (SELECT 1 FROM approval_pauses p WHERE p.case_id = c.id AND p.to_on IS NULL)))))
          ORDER BY c.closed_on IS NOT NULL, c.due_on, c.id
          LIMIT ?13"
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(
            params![
                user.id,
                serde_json::to_string(&handler_depts).unwrap_or_default(),
                all_departments,
                serde_json::to_string(&heads).unwrap_or_default(),
                opt(&q.receipt),
                opt(&q.applicant),
                opt(&q.item_code),
                state,
                from.map(|d| d.to_string()),
                to.map(|d| d.to_string()),
                q.overdue.unwrap_or(false),
                today,
                q.limit.unwrap_or(200).clamp(1, 1000),
            ],
            |r| {
                let kind: String = r.get(3)?;
                let state: String = r.get(6)?;
                let due_on: String = r.get(9)?;
                let closed_on: Option<String> = r.get(11)?;
                let paused: bool = r.get(13)?;
                let overdue = match &closed_on {
                    Some(c) => state != "not_accepted" && *c > due_on,
                    None => !paused && today > due_on,
                };
                Ok(CaseSummary {
                    id: r.get(0)?,
                    receipt: r.get(1)?,
                    item_name: r.get(2)?,
                    kind_zh: items::kind_zh(&kind).into(),
                    department_name: r.get(4)?,
                    applicant_name: r.get(5)?,
                    state_zh: state_zh(&state).into(),
                    state,
                    assignee_name: r.get(7)?,
                    accepted_on: r.get(8)?,
                    due_on,
                    due_provisional: r.get(10)?,
                    closed_on,
                    overdue,
                    paused,
                    version: r.get(12)?,
                })
            },
        )?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Who may see a case: anyone who acted on it or must act, its department's staff and heads,
/// the window, leaders, supervisors and admins.
pub fn ensure_visible(conn: &Connection, user: &User, c: &Case) -> Result<(), ApprovalError> {
    if user.has_any(&[Role::Admin, Role::Leader, Role::Supervisor, Role::Clerk]) {
        return Ok(());
    }
    let depts: Vec<i64> = std::iter::once(c.department_id)
        .chain(c.subcases.iter().map(|s| s.department_id))
        .collect();
    if user.roles.iter().any(|g| depts.contains(&g.department_id)) {
        return Ok(());
    }
    if c.assignee.as_ref().is_some_and(|a| a.id == user.id) {
        return Ok(());
    }
    let acted: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM approval_steps WHERE case_id = ?1 AND actor_id = ?2)",
        )?
        .query_row(params![c.id, user.id], |r| r.get(0))?;
    if acted {
        Ok(())
    } else {
        Err(ApprovalError::Forbidden("您无权查看该办件".into()))
    }
}
