//! 县长信箱: a citizen writes to the county head and gets a tracking number and a query code;
//! the reply is private unless the writer consented and the replier makes it public.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::consult::Submitted;
use super::{
    code_matches, hash_code, line, multiline, phone, query_code, tracking_number, PortalError,
};
use crate::auth::{Role, User};
use crate::store::{Op, WriteTx};

pub const REPLIERS: &[Role] = &[Role::Leader, Role::GeneralEditor];

#[derive(Debug, Clone, Deserialize)]
pub struct NewLetter {
    pub name: String,
    pub phone: String,
    pub subject: String,
    pub body: String,
    pub consent: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Letter {
    pub id: i64,
    pub number: String,
    pub name: String,
    pub phone: String,
    pub subject: String,
    pub body: String,
    pub consent: bool,
    pub sent_at: String,
    pub reply: Option<String>,
    pub replied_at: Option<String>,
    pub public: bool,
}

pub fn send(tx: &mut WriteTx, l: &NewLetter) -> Result<Submitted, PortalError> {
    let name = line("name", &l.name, 30, true)?;
    let phone = phone(&l.phone)?;
    let subject = line("subject", &l.subject, 60, true)?;
    let body = multiline("body", &l.body, 3000, true)?;
    let code = query_code();
    let now = tx.now().to_string();
    let id = tx.insert(
        "INSERT INTO portal_letters(number, code_hash, name, phone, subject, body, consent, sent_at)
         VALUES ('', ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![hash_code(&code), name, phone, subject, body, l.consent, now],
    )?;
    let number = tracking_number(tx, "XX", id);
    tx.exec(
        "UPDATE portal_letters SET number = ?2 WHERE id = ?1",
        params![id, number],
    )?;
    tx.change(
        "portal_letter",
        id,
        Op::Insert,
        &serde_json::json!({"number": number, "name": name, "phone": phone, "subject": subject,
            "body": body, "consent": l.consent, "sent_at": now}),
    )?;
    Ok(Submitted { number, code })
}

pub fn reply(
    tx: &mut WriteTx,
    user: &User,
    id: i64,
    text: &str,
    public: bool,
) -> Result<(), PortalError> {
    if !user.has_any(REPLIERS) {
        return Err(PortalError::Forbidden(
            "只有分管领导或网站总编可以答复县长信箱来信".into(),
        ));
    }
    let l = get(tx.conn(), id)?;
    if l.reply.is_some() {
        return Err(PortalError::OutOfOrder(format!(
            "来信 {} 已经答复过了",
            l.number
        )));
    }
    if public && !l.consent {
        return Err(PortalError::invalid(
            "public",
            "来信人不同意公开，答复只能本人查询",
        ));
    }
    let text = multiline("reply", text, 5000, true)?;
    super::banned::check(tx.conn(), &[&text])?;
    let now = tx.now().to_string();
    tx.exec(
        "UPDATE portal_letters SET reply = ?2, replied_by = ?3, replied_at = ?4, public = ?5 WHERE id = ?1",
        params![id, text, user.id, now, public],
    )?;
    tx.change(
        "portal_letter",
        id,
        Op::Update,
        &serde_json::json!({"reply": text, "replied_by": user.id, "replied_at": now, "public": public}),
    )?;
    Ok(())
}

const SELECT: &str = "SELECT id, number, name, phone, subject, body, consent, sent_at, reply,
    replied_at, public, code_hash FROM portal_letters";

fn map(r: &rusqlite::Row) -> rusqlite::Result<(Letter, String)> {
    Ok((
        Letter {
            id: r.get(0)?,
            number: r.get(1)?,
            name: r.get(2)?,
            phone: r.get(3)?,
            subject: r.get(4)?,
            body: r.get(5)?,
            consent: r.get(6)?,
            sent_at: r.get(7)?,
            reply: r.get(8)?,
            replied_at: r.get(9)?,
            public: r.get(10)?,
        },
        r.get(11)?,
    ))
}

pub fn get(conn: &Connection, id: i64) -> Result<Letter, PortalError> {
    conn.prepare_cached(&format!("{SELECT} WHERE id = ?1"))?
        .query_row([id], map)
        .optional()?
        .map(|(l, _)| l)
        .ok_or_else(|| PortalError::NotFound(format!("来信 {id}")))
}

/// The letter for a number and its code; `None` when either is wrong.
pub fn find(conn: &Connection, number: &str, code: &str) -> Result<Option<Letter>, PortalError> {
    let found = conn
        .prepare_cached(&format!("{SELECT} WHERE number = ?1"))?
        .query_row([number.trim()], map)
        .optional()?;
    Ok(found.filter(|(_, h)| code_matches(h, code)).map(|(l, _)| l))
}

pub fn inbox(conn: &Connection) -> Result<Vec<Letter>, PortalError> {
    Ok(conn
        .prepare_cached(&format!(
            "{SELECT} ORDER BY replied_at IS NOT NULL, sent_at LIMIT 500"
        ))?
        .query_map([], map)?
        .map(|r| r.map(|(l, _)| l))
        .collect::<Result<_, _>>()?)
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicLetter {
    pub number: String,
    pub subject: String,
    pub body: String,
    pub reply: String,
    pub sent_at: String,
    pub replied_at: String,
}

/// Replied letters made public, without the writer's name or phone.
pub fn public(conn: &Connection) -> Result<Vec<PublicLetter>, PortalError> {
    Ok(conn
        .prepare_cached(
            "SELECT number, subject, body, reply, sent_at, replied_at FROM portal_letters
             WHERE public = 1 AND consent = 1 AND reply IS NOT NULL ORDER BY replied_at DESC LIMIT 100",
        )?
        .query_map([], |r| {
            Ok(PublicLetter {
                number: r.get(0)?,
                subject: r.get(1)?,
                body: r.get(2)?,
                reply: r.get(3)?,
                sent_at: r.get(4)?,
                replied_at: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

pub fn unanswered_before(
    conn: &Connection,
    before: &str,
) -> Result<Vec<(String, String)>, PortalError> {
    Ok(conn
        .prepare_cached(
            "SELECT number, sent_at FROM portal_letters WHERE reply IS NULL AND sent_at < ?1 ORDER BY sent_at",
        )?
        .query_map([before], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?)
}
