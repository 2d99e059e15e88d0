//! Online applications (网上申报) from the portal: the portal stores the uploaded files as blobs
//! and calls [`submit`]; a window clerk pre-reviews (预审) the queue and accepts an application
//! into a case or returns it with the reason; the applicant follows it with [`progress`]
//! ("外网受理、专网办理、外网反馈").

use jiff::civil::Date;
use rand::Rng;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::cases::{self, Case, FeeIn, MaterialIn, NewCase};
use super::{items, line, messages, multiline, short, workflow, ApprovalError};
use crate::auth::User;
use crate::store::{valid_hash, Op, WriteTx};

/// Files of one application: enough for any item's checklist.
pub const MAX_FILES: usize = 50;
/// The portal refuses larger uploads itself; a size above this is not from it.
pub const MAX_FILE_BYTES: i64 = 20 << 20;

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct IntakeFile {
    /// The item's material this file is for.
    pub name: String,
    pub hash: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct NewApplication {
    pub item_code: String,
    /// `person` or `org`.
    pub applicant_kind: String,
    pub applicant_name: String,
    pub applicant_id_no: String,
    pub applicant_phone: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub materials: Vec<IntakeFile>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Submitted {
    /// `WS<YYYYMMDD>-<site>-NNNNNN`.
    pub number: String,
    /// The 8-digit query code, shown to the applicant once; only its hash is stored.
    pub code: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicStep {
    pub at: String,
    pub label_zh: String,
}

/// What the applicant sees on the portal: no staff names.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Progress {
    pub number: String,
    pub item_name: String,
    pub submitted_at: String,
    pub state_zh: String,
    pub reason: Option<String>,
    pub receipt: Option<String>,
    pub case_state_zh: Option<String>,
    pub due_on: Option<String>,
    pub closed_on: Option<String>,
    pub outcome_zh: Option<String>,
    pub steps: Vec<PublicStep>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntakeSummary {
    pub id: i64,
    pub number: String,
    pub item_code: String,
    pub item_name: String,
    pub applicant_name: String,
    /// `pending`, `accepted` or `returned`.
    pub state: String,
    pub state_zh: String,
    pub submitted_at: String,
    pub files: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Application {
    pub id: i64,
    pub number: String,
    pub item_code: String,
    pub item_name: String,
    pub applicant_kind: String,
    pub applicant_name: String,
    pub applicant_id_no: String,
    pub applicant_phone: String,
    pub description: String,
    pub state: String,
    pub state_zh: String,
    pub reason: String,
    pub case_id: Option<i64>,
    pub submitted_at: String,
    pub decided_at: Option<String>,
    pub materials: Vec<IntakeFile>,
}

/// The clerk's pre-review decision to accept.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AcceptIntake {
    /// Materials checked as provided besides the uploaded ones (e.g. originals seen).
    #[serde(default)]
    pub provided: Vec<String>,
    #[serde(default)]
    pub fees: Vec<FeeIn>,
    #[serde(default)]
    pub opinion: String,
    #[serde(default)]
    pub assignee: Option<String>,
}

fn intake_state_zh(state: &str) -> &'static str {
    match state {
        "pending" => "待预审",
        "accepted" => "已受理",
        "returned" => "已退回",
        _ => "未知",
    }
}

fn code_hash(number: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{number}:{code}").as_bytes()))
}

/// Files an online application. Checks the item is active and online, the applicant's
/// identifier checksum and phone, and that each file is for one of the item's materials.
pub fn submit(tx: &mut WriteTx, app: &NewApplication) -> Result<Submitted, ApprovalError> {
    let item = items::get(tx.conn(), &app.item_code).map_err(|_| {
        ApprovalError::invalid(
            "item_code",
            format!("没有事项 \"{}\"", short(&app.item_code)),
        )
    })?;
    if !item.active || !item.online {
        return Err(ApprovalError::invalid(
            "item_code",
            format!("事项 {} 不接受网上申报，请到窗口办理", item.short_name),
        ));
    }
    let a = cases::check_applicant(
        &app.applicant_kind,
        &app.applicant_name,
        &app.applicant_id_no,
        &app.applicant_phone,
    )?;
    let description = multiline("description", &app.description, 5000, false)?;
    if app.materials.len() > MAX_FILES {
        return Err(ApprovalError::invalid(
            "materials",
            format!("最多上传 {MAX_FILES} 个文件"),
        ));
    }
    let mut files = Vec::with_capacity(app.materials.len());
    for f in &app.materials {
        let name = f.name.trim();
        if !item.materials.iter().any(|m| m.name == name) {
            return Err(ApprovalError::invalid(
                "materials",
                format!("事项没有材料 \"{}\"", short(name)),
            ));
        }
        if !valid_hash(&f.hash) {
            return Err(ApprovalError::invalid("materials", "文件编号不是 SHA-256"));
        }
        let file_name = line("materials", &f.file_name, 120, true)?;
        if file_name.contains(['/', '\\']) {
            return Err(ApprovalError::invalid(
                "materials",
                "文件名不能含有路径分隔符",
            ));
        }
        let content_type = line("materials", &f.content_type, 100, true)?;
        if !(1..=MAX_FILE_BYTES).contains(&f.size) {
            return Err(ApprovalError::invalid(
                "materials",
                format!("文件 {file_name} 的大小应在 1 字节到 {MAX_FILE_BYTES} 字节之间"),
            ));
        }
        files.push(IntakeFile {
            name: name.to_string(),
            hash: f.hash.clone(),
            file_name,
            content_type,
            size: f.size,
        });
    }
    let today = super::today(tx);
    let day = today.strftime("%Y%m%d").to_string();
    tx.exec(
        "INSERT INTO approval_intake_numbers(day, last) VALUES (?1, 1)
         ON CONFLICT(day) DO UPDATE SET last = last + 1",
        [&day],
    )?;
    let last: i64 = tx.conn().query_row(
        "SELECT last FROM approval_intake_numbers WHERE day = ?1",
        [&day],
        |r| r.get(0),
    )?;
    if last > 999_999 {
        return Err(ApprovalError::Conflict(
            "今天的申报编号已用完，请明天再试".into(),
        ));
    }
    let number = format!("WS{day}-{}-{last:06}", tx.site_id());
    let code = format!("{:08}", rand::thread_rng().gen_range(0..100_000_000u32));
    let now = tx.now().to_string();
    let id = tx.insert(
        "INSERT INTO approval_intake(number, code_hash, item_id, applicant_kind, applicant_name,
                applicant_id_no, applicant_phone, description, state, submitted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9)",
        params![
            number,
            code_hash(&number, &code),
            item.id,
            a.kind,
            a.name,
            a.id_no,
            a.phone,
            description,
            now
        ],
    )?;
    for (i, f) in files.iter().enumerate() {
        tx.exec(
            "INSERT INTO approval_intake_materials(intake_id, position, name, hash, file_name, content_type, size)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id, i, f.name, f.hash, f.file_name, f.content_type, f.size],
        )?;
    }
    let hashes: Vec<&str> = files.iter().map(|f| f.hash.as_str()).collect();
    // The query code's hash stays on the site: 10^8 codes are quickly tried offline.
    tx.change_with_blobs(
        "approval_intake",
        &number,
        Op::Insert,
        &serde_json::json!({
            "number": number, "item_code": item.code, "applicant_kind": a.kind,
            "applicant_name": a.name, "applicant_id_no": a.id_no, "applicant_phone": a.phone,
            "description": description, "materials": files, "submitted_at": now,
        }),
        &hashes,
    )?;
    Ok(Submitted { number, code })
}

struct IntakeRow {
    item_name: String,
    submitted_at: String,
    state: String,
    reason: String,
    case_id: Option<i64>,
    code_hash: String,
    decided_at: Option<String>,
}

/// The applicant's view of an application; `None` for an unknown number or a wrong code
/// (the two are not told apart).
pub fn progress(
    conn: &Connection,
    number: &str,
    code: &str,
) -> Result<Option<Progress>, ApprovalError> {
    let number = number.trim();
    let row = conn
        .prepare_cached(
            "SELECT i.short_name, a.submitted_at, a.state, a.reason, a.case_id, a.code_hash, a.decided_at
               FROM approval_intake a JOIN approval_items i ON i.id = a.item_id WHERE a.number = ?1",
        )?
        .query_row([number], |r| {
            Ok(IntakeRow {
                item_name: r.get(0)?,
                submitted_at: r.get(1)?,
                state: r.get(2)?,
                reason: r.get(3)?,
                case_id: r.get(4)?,
                code_hash: r.get(5)?,
                decided_at: r.get(6)?,
            })
        })
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let given = code_hash(number, code.trim());
    // Equal length hex; compare all of it so timing does not tell how much matched.
    let same = given
        .bytes()
        .zip(row.code_hash.bytes())
        .fold(given.len() == row.code_hash.len(), |ok, (a, b)| {
            ok & (a == b)
        });
    if !same {
        return Ok(None);
    }
    let mut steps = vec![PublicStep {
        at: row.submitted_at.clone(),
        label_zh: "网上申报已提交，等待窗口预审".into(),
    }];
    let mut p = Progress {
        number: number.to_string(),
        item_name: row.item_name,
        submitted_at: row.submitted_at,
        state_zh: intake_state_zh(&row.state).into(),
        reason: (row.state == "returned").then(|| row.reason.clone()),
        receipt: None,
        case_state_zh: None,
        due_on: None,
        closed_on: None,
        outcome_zh: None,
        steps: Vec::new(),
    };
    if row.state == "returned" {
        steps.push(PublicStep {
            at: row.decided_at.clone().unwrap_or_default(),
            label_zh: format!("预审未通过，已退回：{}", row.reason),
        });
    }
    if let Some(case_id) = row.case_id {
        let c = cases::get(conn, case_id)?;
        for s in &c.steps {
            let label = match s.action.as_str() {
                "accept" => format!("预审通过，已受理（受理号 {}）", c.receipt),
                "supplement" => format!("需要补正：{}", s.opinion),
                "deny" | "withdraw" => format!("{}：{}", s.label_zh, s.opinion),
                "pause" => "进入特别程序（不计入办理时限）".to_string(),
                // Internal back-and-forth and reminders are the office's business.
                "urge" | "return" => continue,
                _ => s.label_zh.clone(),
            };
            steps.push(PublicStep {
                at: s.at.clone(),
                label_zh: label,
            });
        }
        p.outcome_zh = match c.state.as_str() {
            "completed" => Some("准予许可".into()),
            "denied" => Some("不予许可".into()),
            "withdrawn" => Some("已撤回".into()),
            _ => None,
        };
        p.receipt = Some(c.receipt);
        p.case_state_zh = Some(c.state_zh);
        p.due_on = Some(c.due_on);
        p.closed_on = c.closed_on;
    }
    p.steps = steps;
    Ok(Some(p))
}

/// The pre-review queue: pending first, then the most recent decisions.
pub fn list(conn: &Connection, state: Option<&str>) -> Result<Vec<IntakeSummary>, ApprovalError> {
    if let Some(s) = state {
        if intake_state_zh(s) == "未知" {
            return Err(ApprovalError::invalid(
                "state",
                format!(
                    "状态 \"{}\" 无效，可选: pending, accepted, returned",
                    short(s)
                ),
            ));
        }
    }
    Ok(conn
        .prepare_cached(
            "SELECT a.id, a.number, i.code, i.short_name, a.applicant_name, a.state, a.submitted_at,
                    (SELECT count(*) FROM approval_intake_materials m WHERE m.intake_id = a.id)
               FROM approval_intake a JOIN approval_items i ON i.id = a.item_id
              WHERE (?1 IS NULL OR a.state = ?1)
              ORDER BY a.state <> 'pending', a.submitted_at DESC LIMIT 500",
        )?
        .query_map([state], |r| {
            let state: String = r.get(5)?;
            Ok(IntakeSummary {
                id: r.get(0)?,
                number: r.get(1)?,
                item_code: r.get(2)?,
                item_name: r.get(3)?,
                applicant_name: r.get(4)?,
                state_zh: intake_state_zh(&state).into(),
                state,
                submitted_at: r.get(6)?,
                files: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

pub fn get(conn: &Connection, id: i64) -> Result<Application, ApprovalError> {
    let mut a = conn
        .prepare_cached(
            "SELECT a.id, a.number, i.code, i.short_name, a.applicant_kind, a.applicant_name,
                    a.applicant_id_no, a.applicant_phone, a.description, a.state, a.reason,
                    a.case_id, a.submitted_at, a.decided_at
               FROM approval_intake a JOIN approval_items i ON i.id = a.item_id WHERE a.id = ?1",
        )?
        .query_row([id], |r| {
            let state: String = r.get(9)?;
            Ok(Application {
                id: r.get(0)?,
                number: r.get(1)?,
                item_code: r.get(2)?,
                item_name: r.get(3)?,
                applicant_kind: r.get(4)?,
                applicant_name: r.get(5)?,
                applicant_id_no: r.get(6)?,
                applicant_phone: r.get(7)?,
                description: r.get(8)?,
                state_zh: intake_state_zh(&state).into(),
                state,
                reason: r.get(10)?,
                case_id: r.get(11)?,
                submitted_at: r.get(12)?,
                decided_at: r.get(13)?,
                materials: Vec::new(),
            })
        })
        .optional()?
        .ok_or_else(|| ApprovalError::NotFound(format!("网上申请 {id}")))?;
    a.materials = conn
        .prepare_cached(
            "SELECT name, hash, file_name, content_type, size FROM approval_intake_materials
              WHERE intake_id = ?1 ORDER BY position",
        )?
        .query_map([id], |r| {
            Ok(IntakeFile {
                name: r.get(0)?,
                hash: r.get(1)?,
                file_name: r.get(2)?,
                content_type: r.get(3)?,
                size: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(a)
}

fn pending(conn: &Connection, id: i64) -> Result<Application, ApprovalError> {
    let a = get(conn, id)?;
    if a.state != "pending" {
        return Err(ApprovalError::IllegalTransition(format!(
            "网上申请 {} 已{}，不能再预审",
            a.number, a.state_zh
        )));
    }
    Ok(a)
}

/// Pre-review passed: the application becomes a case (channel `online`) in the same
/// transaction; the applicant is told the receipt number.
pub fn accept(
    tx: &mut WriteTx,
    user: &User,
    id: i64,
    d: &AcceptIntake,
    today: Date,
) -> Result<Case, ApprovalError> {
    let a = pending(tx.conn(), id)?;
    let mut materials: Vec<MaterialIn> = Vec::new();
    for f in &a.materials {
        if materials.iter().any(|m| m.name == f.name) {
            continue;
        }
        materials.push(MaterialIn {
            name: f.name.clone(),
            provided: true,
            hash: Some(f.hash.clone()),
            file_name: Some(f.file_name.clone()),
            size: Some(f.size),
        });
    }
    for name in &d.provided {
        if !materials.iter().any(|m| m.name == name.trim()) {
            materials.push(MaterialIn {
                name: name.trim().to_string(),
                provided: true,
                ..MaterialIn::default()
            });
        }
    }
    let new = NewCase {
        item_code: a.item_code.clone(),
        applicant_kind: a.applicant_kind.clone(),
        applicant_name: a.applicant_name.clone(),
        applicant_id_no: a.applicant_id_no.clone(),
        applicant_phone: a.applicant_phone.clone(),
        materials,
        fees: d.fees.clone(),
        opinion: if d.opinion.trim().is_empty() {
            "网上申报预审通过".into()
        } else {
            d.opinion.clone()
        },
        assignee: d.assignee.clone(),
    };
    let case = cases::open(tx, user, &new, today, "online", true)?;
    let now = tx.now().to_string();
    tx.exec(
        "UPDATE approval_intake SET state = 'accepted', case_id = ?2, decided_at = ?3, decided_by = ?4
          WHERE id = ?1 AND state = 'pending'",
        params![id, case.id, now, user.id],
    )?;
    tx.change(
        "approval_intake",
        &a.number,
        Op::Update,
        &serde_json::json!({"number": a.number, "state": "accepted", "receipt": case.receipt,
                            "decided_by": user.id, "decided_at": now}),
    )?;
    messages::tell_intake_accepted(tx, case.id, &a.number);
    Ok(case)
}

/// Pre-review failed: the application goes back to the applicant with the reason.
pub fn return_to_applicant(
    tx: &mut WriteTx,
    user: &User,
    id: i64,
    reason: &str,
) -> Result<Application, ApprovalError> {
    let a = pending(tx.conn(), id)?;
    let item = items::get(tx.conn(), &a.item_code)?;
    workflow::require_step(
        tx.conn(),
        user,
        &item,
        super::Step::Accept,
        item.department_id,
    )?;
    let reason = multiline("reason", reason, 1000, true)?;
    let now = tx.now().to_string();
    tx.exec(
        "UPDATE approval_intake SET state = 'returned', reason = ?2, decided_at = ?3, decided_by = ?4
          WHERE id = ?1 AND state = 'pending'",
        params![id, reason, now, user.id],
    )?;
    tx.change(
        "approval_intake",
        &a.number,
        Op::Update,
        &serde_json::json!({"number": a.number, "state": "returned", "reason": reason,
                            "decided_by": user.id, "decided_at": now}),
    )?;
    messages::tell_intake_returned(tx, &a.applicant_phone, &a.number, &a.item_name, &reason);
    get(tx.conn(), id)
}
