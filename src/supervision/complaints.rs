//! Complaints (投诉) from the portal: submitted with a tracking number and a random query code
//! (stored hashed), shown to supervisors as red items until handled: assigned, replied, closed.

use rand::Rng;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{facts, line, multiline, SupervisionError};
use crate::auth::User;
use crate::store::{Op, WriteTx};

/// The categories a complaint is filed under; statistics count by them.
pub const CATEGORIES: [&str; 5] = ["服务态度", "办事效率", "廉洁自律", "政策执行", "其他"];

/// Query codes avoid 0/O and 1/I/L, which people misread from paper.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 8;

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct NewComplaint {
    /// One of [`CATEGORIES`].
    pub category: String,
    /// Whom or what the complaint is about (a department, a window, a person).
    pub target: String,
    pub name: String,
    /// Contact number: digits, optionally with `-` (landlines), 7 to 20 characters.
    pub phone: String,
    pub body: String,
    /// The receipt number of the case it concerns, if any.
    #[serde(default)]
    pub receipt: Option<String>,
}

/// What the complainant keeps: the tracking number and the query code (shown once).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Submitted {
    pub number: String,
    pub code: String,
}

/// What the complainant sees when querying with number and code.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComplaintProgress {
    pub number: String,
    pub category: String,
    pub state: String,
    pub state_zh: &'static str,
    pub submitted_at: String,
    /// The reply, once answered.
    pub reply: Option<String>,
    pub replied_at: Option<String>,
}

/// A complaint as supervisors see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Complaint {
    pub id: i64,
    pub number: String,
    pub category: String,
    pub target: String,
    pub name: String,
    pub phone: String,
    pub body: String,
    pub receipt: Option<String>,
    pub department_id: Option<i64>,
    pub state: String,
    pub state_zh: &'static str,
    pub assignee: Option<String>,
    pub reply: String,
    pub substantiated: Option<bool>,
    pub subject: Option<String>,
    pub submitted_at: String,
    pub replied_at: Option<String>,
    pub closed_at: Option<String>,
    /// Not handled yet: shown red.
    pub open: bool,
}

pub fn state_zh(state: &str) -> &'static str {
    match state {
        "received" => "已收到，待处理",
        "assigned" => "正在办理",
        "replied" => "已答复",
        "closed" => "已办结",
        _ => "未知",
    }
}

fn hash_code(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

fn phone(v: &str) -> Result<String, SupervisionError> {
    let v = v.trim();
    let ok = (7..=20).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && v.bytes().filter(u8::is_ascii_digit).count() >= 7;
    if ok {
        Ok(v.to_string())
    } else {
        Err(SupervisionError::invalid(
            "phone",
            format!(
                "联系电话 \"{}\" 无效：应为手机号或带区号的固定电话",
                super::short(v)
            ),
        ))
    }
}

/// Files a complaint. The query code is returned once and stored only as its SHA-256.
pub fn submit(tx: &mut WriteTx, c: &NewComplaint) -> Result<Submitted, SupervisionError> {
    let category = c.category.trim();
    if !CATEGORIES.contains(&category) {
        return Err(SupervisionError::invalid(
            "category",
            format!("投诉类别只能是：{}", CATEGORIES.join("、")),
        ));
    }
    let target = line("target", &c.target, 100, true)?;
    let name = line("name", &c.name, 50, true)?;
    let phone = phone(&c.phone)?;
    let body = multiline("body", &c.body, 5000, true)?;
    let receipt = match c.receipt.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => Some(line("receipt", r, 40, true)?),
    };
    let department_id = match &receipt {
        None => None,
        Some(r) => Some(
            facts::by_receipt(tx.conn(), r)?
                .ok_or_else(|| {
                    SupervisionError::invalid(
                        "receipt",
                        format!("没有受理编号为 \"{}\" 的办件", super::short(r)),
                    )
                })?
                .department_id,
        ),
    };
    let now = tx.now().to_string();
    let day = super::beijing_day(&now);
    let last: i64 = tx
        .conn()
        .query_row(
            "SELECT last FROM supervision_complaint_numbers WHERE day = ?1",
            [&day],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    tx.exec(
        "INSERT INTO supervision_complaint_numbers(day, last) VALUES (?1, ?2)
         ON CONFLICT(day) DO UPDATE SET last = excluded.last",
        params![day, last + 1],
    )?;
    let number = format!(
        "TS{}-{}-{:04}",
        day.replace('-', ""),
        tx.site_id(),
        last + 1
    );
    let mut rng = rand::rngs::OsRng;
    let code: String = (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    let id = tx.insert(
        "INSERT INTO supervision_complaints(number, code_hash, category, target, name, phone, body,
             receipt, department_id, state, submitted_at, submitted_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'received', ?10, ?11)",
        params![
            number,
            hash_code(&code),
            category,
            target,
            name,
            phone,
            body,
            receipt,
            department_id,
            now,
            day
        ],
    )?;
    super::change(
        tx,
        "supervision_complaint",
        &number,
        Op::Insert,
        &serde_json::json!({"id": id, "category": category, "target": target, "receipt": receipt,
            "department_id": department_id, "state": "received", "submitted_at": now}),
    )?;
    Ok(Submitted { number, code })
}

/// The progress of complaint `number` for whoever holds its query code; `None` when the number
/// is unknown or the code does not match (the two are not told apart).
pub fn progress(
    conn: &Connection,
    number: &str,
    code: &str,
) -> Result<Option<ComplaintProgress>, SupervisionError> {
    let row = conn
        .prepare_cached(
            "SELECT code_hash, category, state, submitted_at, reply, replied_at
               FROM supervision_complaints WHERE number = ?1",
        )?
        .query_row([number.trim()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })
        .optional()?;
    let Some((hash, category, state, submitted_at, reply, replied_at)) = row else {
        return Ok(None);
    };
    let given = hash_code(&code.trim().to_ascii_uppercase());
    if !crate::auth::session::csrf_matches(&hash, &given) {
        return Ok(None);
    }
    let answered = matches!(state.as_str(), "replied" | "closed");
    Ok(Some(ComplaintProgress {
        number: number.trim().to_string(),
        category,
        state_zh: state_zh(&state),
        state,
        submitted_at,
        reply: answered.then_some(reply),
        replied_at: if answered { replied_at } else { None },
    }))
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
pub struct Filter {
    /// `open` (not closed), `closed`, or a state code; all when absent.
    pub state: Option<String>,
    pub category: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

const SELECT: &str =
    "SELECT id, number, category, target, name, phone, body, receipt, department_id,
        state, assignee_id, reply, substantiated, subject_id, submitted_at, replied_at, closed_at
   FROM supervision_complaints";

fn from_row(conn: &Connection, r: &rusqlite::Row) -> rusqlite::Result<Complaint> {
    let state: String = r.get(9)?;
    let assignee: Option<i64> = r.get(10)?;
    let subject: Option<i64> = r.get(13)?;
    Ok(Complaint {
        id: r.get(0)?,
        number: r.get(1)?,
        category: r.get(2)?,
        target: r.get(3)?,
        name: r.get(4)?,
        phone: r.get(5)?,
        body: r.get(6)?,
        receipt: r.get(7)?,
        department_id: r.get(8)?,
        state_zh: state_zh(&state),
        open: state != "closed",
        state,
        assignee: assignee.map(|a| super::user_name(conn, Some(a))),
        reply: r.get(11)?,
        substantiated: r.get::<_, Option<i64>>(12)?.map(|v| v == 1),
        subject: subject.map(|a| super::user_name(conn, Some(a))),
        submitted_at: r.get(14)?,
        replied_at: r.get(15)?,
        closed_at: r.get(16)?,
    })
}

/// Complaints, open ones first, newest first.
pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<Complaint>, SupervisionError> {
    let mut sql = format!("{SELECT} WHERE 1 = 1");
    let mut args: Vec<String> = Vec::new();
    match f.state.as_deref().map(str::trim) {
        None | Some("") => {}
        Some("open") => sql.push_str(" AND state <> 'closed'"),
        Some(s @ ("received" | "assigned" | "replied" | "closed")) => {
            args.push(s.to_string());
            sql.push_str(&format!(" AND state = ?{}", args.len()));
        }
        Some(other) => {
            return Err(SupervisionError::invalid(
                "state",
                format!(
                    "状态 \"{}\" 无效：只能是 open、received、assigned、replied 或 closed",
                    super::short(other)
                ),
            ))
        }
    }
    if let Some(c) = f
        .category
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        args.push(c.to_string());
        sql.push_str(&format!(" AND category = ?{}", args.len()));
    }
    if let Some(d) = f.from.as_deref().filter(|d| !d.trim().is_empty()) {
        args.push(super::date("from", d)?.to_string());
        sql.push_str(&format!(" AND submitted_on >= ?{}", args.len()));
    }
    if let Some(d) = f.to.as_deref().filter(|d| !d.trim().is_empty()) {
        args.push(super::date("to", d)?.to_string());
        sql.push_str(&format!(" AND submitted_on <= ?{}", args.len()));
    }
    sql.push_str(" ORDER BY state = 'closed', id DESC LIMIT 1000");
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(args.iter()), |r| {
        from_row(conn, r)
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn get(conn: &Connection, number: &str) -> Result<Complaint, SupervisionError> {
    conn.prepare_cached(&format!("{SELECT} WHERE number = ?1"))?
        .query_row([number], |r| from_row(conn, r))
        .optional()?
        .ok_or_else(|| SupervisionError::NotFound(format!("投诉 {}", super::short(number))))
}

fn current_state(tx: &WriteTx, number: &str) -> Result<(i64, String), SupervisionError> {
    tx.conn()
        .query_row(
            "SELECT id, state FROM supervision_complaints WHERE number = ?1",
            [number],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| SupervisionError::NotFound(format!("投诉 {}", super::short(number))))
}

/// Hands the complaint to a staff member to look into.
pub fn assign(
    tx: &mut WriteTx,
    by: &User,
    number: &str,
    assignee: &str,
) -> Result<Complaint, SupervisionError> {
    super::require_supervisor(by)?;
    let (id, state) = current_state(tx, number)?;
    if state == "closed" {
        return Err(SupervisionError::OutOfOrder(format!(
            "投诉 {number} 已办结，不能再交办"
        )));
    }
    let who = crate::auth::user_id(tx.conn(), assignee.trim()).map_err(|_| {
        SupervisionError::invalid(
            "assignee",
            format!("没有用户 \"{}\"", super::short(assignee)),
        )
    })?;
    let now = tx.now().to_string();
    tx.exec(
        "UPDATE supervision_complaints SET assignee_id = ?1, assigned_at = ?2,
             state = CASE WHEN state = 'received' THEN 'assigned' ELSE state END
         WHERE id = ?3",
        params![who, now, id],
    )?;
    super::change(
        tx,
        "supervision_complaint",
        number,
        Op::Update,
        &serde_json::json!({"assignee_id": who, "assigned_at": now}),
    )?;
    get(tx.conn(), number)
}

/// Answers the complainant; the reply is what the portal shows.
pub fn reply(
    tx: &mut WriteTx,
    by: &User,
    number: &str,
    text: &str,
) -> Result<Complaint, SupervisionError> {
    let (id, state) = current_state(tx, number)?;
    let assignee: Option<i64> = tx.conn().query_row(
        "SELECT assignee_id FROM supervision_complaints WHERE id = ?1",
        [id],
        |r| r.get(0),
    )?;
    if !by.has_any(super::SUPERVISORS) && assignee != Some(by.id) {
        return Err(SupervisionError::Forbidden(
            "只有监察人员或受交办人可以答复此投诉".into(),
        ));
    }
    if state == "closed" {
        return Err(SupervisionError::OutOfOrder(format!(
            "投诉 {number} 已办结，不能再答复"
        )));
    }
    let text = multiline("reply", text, 5000, true)?;
    let now = tx.now().to_string();
    tx.exec(
        "UPDATE supervision_complaints SET reply = ?1, replied_at = ?2, state = 'replied' WHERE id = ?3",
        params![text, now, id],
    )?;
    super::change(
        tx,
        "supervision_complaint",
        number,
        Op::Update,
        &serde_json::json!({"state": "replied", "reply": text, "replied_at": now}),
    )?;
    get(tx.conn(), number)
}

/// Closes an answered complaint, recording whether it was justified and whom it concerned.
pub fn close(
    tx: &mut WriteTx,
    by: &User,
    number: &str,
    substantiated: bool,
    subject: Option<&str>,
) -> Result<Complaint, SupervisionError> {
    super::require_supervisor(by)?;
    let (id, state) = current_state(tx, number)?;
    if state != "replied" {
        return Err(SupervisionError::OutOfOrder(format!(
            "投诉 {number} 尚未答复（当前：{}），答复后才能办结",
            state_zh(&state)
        )));
    }
    let subject = match subject.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(crate::auth::user_id(tx.conn(), s).map_err(|_| {
            SupervisionError::invalid("subject", format!("没有用户 \"{}\"", super::short(s)))
        })?),
    };
    let now = tx.now().to_string();
    tx.exec(
        "UPDATE supervision_complaints SET state = 'closed', closed_at = ?1, substantiated = ?2,
             subject_id = ?3 WHERE id = ?4",
        params![now, i64::from(substantiated), subject, id],
    )?;
    super::change(
        tx,
        "supervision_complaint",
        number,
        Op::Update,
        &serde_json::json!({"state": "closed", "closed_at": now, "substantiated": substantiated,
            "subject_id": subject}),
    )?;
    get(tx.conn(), number)
}
