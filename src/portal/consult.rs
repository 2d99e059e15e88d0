//! 网上咨询: a citizen asks a department; the department answers; with the asker's consent
//! the answer may be published as 便民问答 (FAQ). The asker follows it with the tracking
//! number and the query code given once at submission.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{
    code_matches, hash_code, line, multiline, phone, query_code, tracking_number, PortalError,
};
use crate::auth::{Role, User};
use crate::store::{Op, WriteTx};

#[derive(Debug, Clone, Deserialize)]
pub struct Question {
    pub department_id: i64,
    pub name: String,
    pub phone: String,
    pub subject: String,
    pub question: String,
    pub consent: bool,
}

/// The number and the query code of a submission; the code is shown once and stored hashed.
#[derive(Debug, Clone, Serialize)]
pub struct Submitted {
    pub number: String,
    pub code: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Consultation {
    pub id: i64,
    pub number: String,
    pub department: String,
    pub department_id: i64,
    pub name: String,
    pub phone: String,
    pub subject: String,
    pub question: String,
    pub consent: bool,
    pub asked_at: String,
    pub answer: Option<String>,
    pub answered_at: Option<String>,
    pub faq: bool,
}

/// Departments the public may address: the units (单位), not their inner offices.
pub fn departments(conn: &Connection) -> Result<Vec<(i64, String)>, PortalError> {
    Ok(crate::auth::list_departments(conn)?
        .into_iter()
        .filter(|d| d.kind == crate::auth::DeptKind::Unit)
        .map(|d| (d.id, d.name))
        .collect())
}

pub fn ask(tx: &mut WriteTx, q: &Question) -> Result<Submitted, PortalError> {
    if !departments(tx.conn())?
        .iter()
        .any(|(id, _)| *id == q.department_id)
    {
        return Err(PortalError::invalid("department_id", "请选择要咨询的部门"));
    }
    let name = line("name", &q.name, 30, true)?;
    let phone = phone(&q.phone)?;
    let subject = line("subject", &q.subject, 60, true)?;
    let question = multiline("question", &q.question, 2000, true)?;
    let code = query_code();
    let now = tx.now().to_string();
    let id = tx.insert(
        "INSERT INTO portal_consultations(number, code_hash, department_id, name, phone, subject,
            question, consent, asked_at) VALUES ('', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            hash_code(&code),
            q.department_id,
            name,
            phone,
            subject,
            question,
            q.consent,
            now
        ],
    )?;
    let number = tracking_number(tx, "ZX", id);
    tx.exec(
        "UPDATE portal_consultations SET number = ?2 WHERE id = ?1",
        params![id, number],
    )?;
    tx.change(
        "portal_consultation",
        id,
        Op::Insert,
        &serde_json::json!({"number": number, "department_id": q.department_id, "name": name,
            "phone": phone, "subject": subject, "question": question, "consent": q.consent,
            "asked_at": now}),
    )?;
    Ok(Submitted { number, code })
}

/// Whether `user` answers for `department_id`: the editors-in-chief for every department, a
/// department's own staff (department head, editor, handler) for theirs.
pub fn may_answer(user: &User, department_id: i64) -> bool {
    user.has_any(&[Role::ChiefEditor, Role::GeneralEditor])
        || user.roles.iter().any(|g| {
            g.department_id == department_id
                && matches!(
                    g.role,
                    Role::DeptHead | Role::Editor | Role::Handler | Role::Leader
                )
        })
}

pub fn answer(
    tx: &mut WriteTx,
    user: &User,
    id: i64,
    text: &str,
    faq: bool,
) -> Result<(), PortalError> {
    let c = get(tx.conn(), id)?;
    if !may_answer(user, c.department_id) {
        return Err(PortalError::Forbidden(format!(
            "只有{}的工作人员可以答复此咨询",
            c.department
        )));
    }
    if c.answer.is_some() {
        return Err(PortalError::OutOfOrder(format!(
            "咨询 {} 已经答复过了",
            c.number
        )));
    }
    if faq && !c.consent {
        return Err(PortalError::invalid(
            "faq",
            "咨询人不同意公开，不能列入便民问答",
        ));
    }
    let text = multiline("answer", text, 5000, true)?;
    super::banned::check(tx.conn(), &[&text])?;
    let now = tx.now().to_string();
    tx.exec(
        "UPDATE portal_consultations SET answer = ?2, answered_by = ?3, answered_at = ?4, faq = ?5 WHERE id = ?1",
        params![id, text, user.id, now, faq],
    )?;
    tx.change(
        "portal_consultation",
        id,
        Op::Update,
        &serde_json::json!({"answer": text, "answered_by": user.id, "answered_at": now, "faq": faq}),
    )?;
    Ok(())
}

const SELECT: &str = "SELECT c.id, c.number, d.name, c.department_id, c.name, c.phone, c.subject,
    c.question, c.consent, c.asked_at, c.answer, c.answered_at, c.faq, c.code_hash
    FROM portal_consultations c JOIN departments d ON d.id = c.department_id";

fn map(r: &rusqlite::Row) -> rusqlite::Result<(Consultation, String)> {
    Ok((
        Consultation {
            id: r.get(0)?,
            number: r.get(1)?,
            department: r.get(2)?,
            department_id: r.get(3)?,
            name: r.get(4)?,
            phone: r.get(5)?,
            subject: r.get(6)?,
            question: r.get(7)?,
            consent: r.get(8)?,
            asked_at: r.get(9)?,
            answer: r.get(10)?,
            answered_at: r.get(11)?,
            faq: r.get(12)?,
        },
        r.get(13)?,
    ))
}

pub fn get(conn: &Connection, id: i64) -> Result<Consultation, PortalError> {
    conn.prepare_cached(&format!("{SELECT} WHERE c.id = ?1"))?
        .query_row([id], map)
        .optional()?
        .map(|(c, _)| c)
        .ok_or_else(|| PortalError::NotFound(format!("咨询 {id}")))
}

/// The consultation for a number and its code; `None` when either is wrong (the caller
/// throttles), so a guesser cannot tell a wrong number from a wrong code.
pub fn find(
    conn: &Connection,
    number: &str,
    code: &str,
) -> Result<Option<Consultation>, PortalError> {
    let found = conn
        .prepare_cached(&format!("{SELECT} WHERE c.number = ?1"))?
        .query_row([number.trim()], map)
        .optional()?;
    Ok(found.filter(|(_, h)| code_matches(h, code)).map(|(c, _)| c))
}

/// The consultations `user` answers for: open ones first, oldest first.
pub fn inbox(conn: &Connection, user: &User) -> Result<Vec<Consultation>, PortalError> {
    Ok(conn
        .prepare_cached(&format!(
            "{SELECT} ORDER BY c.answered_at IS NOT NULL, c.asked_at LIMIT 500"
        ))?
        .query_map([], map)?
        .filter_map(Result::ok)
        .map(|(c, _)| c)
        .filter(|c| may_answer(user, c.department_id))
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct Faq {
    pub subject: String,
    pub question: String,
    pub answer: String,
    pub department: String,
    pub answered_at: String,
}

/// 便民问答: answered consultations published with consent, newest first. No names or phones.
pub fn faq(conn: &Connection) -> Result<Vec<Faq>, PortalError> {
    Ok(conn
        .prepare_cached(
            "SELECT c.subject, c.question, c.answer, d.name, c.answered_at
             FROM portal_consultations c JOIN departments d ON d.id = c.department_id
             WHERE c.faq = 1 AND c.consent = 1 AND c.answer IS NOT NULL
             ORDER BY c.answered_at DESC LIMIT 200",
        )?
        .query_map([], |r| {
            Ok(Faq {
                subject: r.get(0)?,
                question: r.get(1)?,
                answer: r.get(2)?,
                department: r.get(3)?,
                answered_at: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// Consultations asked before `before` and still unanswered (for the self-check).
pub fn unanswered_before(
    conn: &Connection,
    before: &str,
) -> Result<Vec<(String, String)>, PortalError> {
    Ok(conn
        .prepare_cached(
            "SELECT number, asked_at FROM portal_consultations
             WHERE answer IS NULL AND asked_at < ?1 ORDER BY asked_at",
        )?
        .query_map([before], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?)
}
