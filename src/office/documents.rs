//! Documents (公文): incoming registration (收文) and outgoing drafting (发文), attachments,
//! comments, read marks and urging. Circulation is in [`super::routes`], the archive in
//! [`super::archive`].

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{line, multiline, numbering, routes, short, uploads, OfficeError};
use crate::auth::{Role, User};
use crate::store::{Op, WriteTx};

pub const URGENCIES: [&str; 3] = ["普通", "加急", "特急"];
/// The only security levels this system handles; anything classified stays off it.
pub const SECURITY_LEVELS: [&str; 2] = ["公开", "内部"];
const CLASSIFIED: [&str; 3] = ["秘密", "机密", "绝密"];

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewDocument {
    /// `incoming` (收文登记) or `outgoing` (发文拟稿).
    pub direction: String,
    /// The document type's code; its route and number prefix apply.
    pub doc_type: String,
    pub title: String,
    #[serde(default)]
    pub body: String,
    /// Incoming only: the sending unit, its number on the paper and the date received.
    #[serde(default)]
    pub source_unit: Option<String>,
    #[serde(default)]
    pub original_number: Option<String>,
    #[serde(default)]
    pub received_on: Option<String>,
    /// 普通, 加急 or 特急.
    #[serde(default)]
    pub urgency: Option<String>,
    /// 公开 or 内部; 秘密, 机密 and 绝密 are refused.
    #[serde(default)]
    pub security: Option<String>,
    /// Upload ids (from `POST /api/office/uploads`).
    #[serde(default)]
    pub attachments: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Signer {
    pub username: String,
    pub display_name: String,
    pub signed_at: Option<String>,
    pub opinion: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Step {
    pub position: i64,
    pub kind: String,
    pub mode: String,
    pub label: String,
    pub done_at: Option<String>,
    pub signers: Vec<Signer>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Comment {
    pub username: String,
    pub display_name: String,
    pub body: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Attachment {
    pub hash: String,
    pub name: String,
    pub size: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub direction: String,
    pub urgency: String,
    pub status: String,
    pub current_kind: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Document {
    pub id: i64,
    pub direction: String,
    pub doc_type: String,
    pub number: String,
    pub title: String,
    pub body: String,
    pub source_unit: Option<String>,
    pub original_number: Option<String>,
    pub received_on: Option<String>,
    pub urgency: String,
    pub security: String,
    /// `circulating`, `done` (办结) or `archived` (归档, read-only).
    pub status: String,
    pub current_step: i64,
    pub created_by: String,
    pub created_at: String,
    pub archive_year: Option<i64>,
    pub retention: Option<String>,
    pub steps: Vec<Step>,
    pub comments: Vec<Comment>,
    pub attachments: Vec<Attachment>,
    /// Who has opened it, with when.
    pub readers: Vec<Comment>,
    pub urges: Vec<Comment>,
}

/// Checks a security level: classified ones are refused with the reason.
pub fn security_level(v: Option<&str>) -> Result<String, OfficeError> {
    let v = v.unwrap_or("内部").trim();
    if let Some(c) = CLASSIFIED.iter().find(|c| v.contains(**c)) {
        return Err(OfficeError::Classified((*c).to_string()));
    }
    SECURITY_LEVELS
        .iter()
        .find(|l| **l == v)
        .map(|l| l.to_string())
        .ok_or_else(|| {
            OfficeError::invalid(
                "security",
                format!(
                    "密级 \"{}\" 无效，本系统只处理: {}",
                    short(v),
                    SECURITY_LEVELS.join("、")
                ),
            )
        })
}

pub fn create(tx: &mut WriteTx, user: &User, new: &NewDocument) -> Result<Document, OfficeError> {
    let security = security_level(new.security.as_deref())?;
    let direction = match new.direction.trim() {
        "incoming" | "收文" => "incoming",
        "outgoing" | "发文" => "outgoing",
        other => {
            return Err(OfficeError::invalid(
                "direction",
                format!(
                    "\"{}\" 无效，应为 incoming（收文）或 outgoing（发文）",
                    short(other)
                ),
            ))
        }
    };
    let title = line("title", &new.title, 200, true)?;
    let body = multiline("body", &new.body, 100_000, false)?;
    let urgency = new.urgency.as_deref().unwrap_or("普通").trim().to_string();
    if !URGENCIES.contains(&urgency.as_str()) {
        return Err(OfficeError::invalid(
            "urgency",
            format!(
                "缓急 \"{}\" 无效，可选: {}",
                short(&urgency),
                URGENCIES.join("、")
            ),
        ));
    }
    let (source_unit, original_number, received_on) = if direction == "incoming" {
        let unit = line(
            "source_unit",
            new.source_unit.as_deref().unwrap_or(""),
            100,
            true,
        )?;
        let orig = line(
            "original_number",
            new.original_number.as_deref().unwrap_or(""),
            60,
            false,
        )?;
        let received = match new.received_on.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(d) => super::date("received_on", d)?,
            None => super::today(),
        };
        if received > super::today() {
            return Err(OfficeError::invalid("received_on", "收文日期不能晚于今天"));
        }
        (
            Some(unit),
            Some(orig).filter(|o| !o.is_empty()),
            Some(received.to_string()),
        )
    } else {
        (None, None, None)
    };
    if new.attachments.len() > 50 {
        return Err(OfficeError::invalid("attachments", "附件不能超过 50 个"));
    }
    let (type_id, prefix) = routes::type_by_code(tx.conn(), &new.doc_type)?;
    let year = i32::from(super::today().year());
    let seq = numbering::allocate(tx, type_id, year)?;
    let number = numbering::format(&prefix, year, seq);
    let now = tx.now().to_string();
    let id = tx.insert(
        "INSERT INTO documents(direction, type_id, year, seq, number, title, body, source_unit,
             original_number, received_on, urgency, security, status, current_step, created_by,
             created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'circulating', 1, ?13, ?14, ?14)",
        params![direction, type_id, year, seq, number, title, body, source_unit, original_number,
            received_on, urgency, security, user.id, now],
    )?;
    tx.change(
        "document",
        id,
        Op::Insert,
        &serde_json::json!({"direction": direction, "type_id": type_id, "number": number,
            "title": title, "body": body, "source_unit": source_unit,
            "original_number": original_number, "received_on": received_on,
            "urgency": urgency, "security": security, "created_by": user.id}),
    )?;
    routes::instantiate(tx, id, type_id)?;
    for upload in &new.attachments {
        attach(tx, id, user, *upload)?;
    }
    get(tx.conn(), id)
}

/// Refuses any change to an archived document, naming it.
pub fn ensure_mutable(conn: &Connection, doc_id: i64) -> Result<(), OfficeError> {
    let (status, number): (String, String) = conn
        .query_row(
            "SELECT status, number FROM documents WHERE id = ?1",
            [doc_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| OfficeError::NotFound(format!("公文 {doc_id}")))?;
    if status == "archived" {
        return Err(OfficeError::Archived(number));
    }
    Ok(())
}

pub fn attach(
    tx: &mut WriteTx,
    doc_id: i64,
    user: &User,
    upload_id: i64,
) -> Result<Attachment, OfficeError> {
    ensure_mutable(tx.conn(), doc_id)?;
    ensure_visible(tx.conn(), doc_id, user)?;
    let up = uploads::own(tx.conn(), user.id, upload_id)?;
    let now = tx.now().to_string();
    tx.exec(
        "INSERT INTO doc_attachments(doc_id, hash, name, size, at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(doc_id, hash) DO NOTHING",
        params![doc_id, up.hash, up.name, up.size, now],
    )?;
    tx.change_with_blobs(
        "doc_attachment",
        format!("{doc_id}/{}", up.hash),
        Op::Insert,
        &serde_json::json!({"name": up.name, "size": up.size}),
        &[up.hash.as_str()],
    )?;
    Ok(Attachment {
        hash: up.hash,
        name: up.name,
        size: up.size,
    })
}

pub fn comment(
    tx: &mut WriteTx,
    doc_id: i64,
    user: &User,
    body: &str,
) -> Result<Comment, OfficeError> {
    let body = multiline("body", body, 2000, true)?;
    ensure_mutable(tx.conn(), doc_id)?;
    ensure_visible(tx.conn(), doc_id, user)?;
    let now = tx.now().to_string();
    let id = tx.insert(
        "INSERT INTO doc_comments(doc_id, user_id, body, at) VALUES (?1, ?2, ?3, ?4)",
        params![doc_id, user.id, body, now],
    )?;
    super::change(
        tx,
        "doc_comment",
        id,
        Op::Insert,
        &serde_json::json!({"doc_id": doc_id, "user_id": user.id, "body": body}),
    )?;
    Ok(Comment {
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        body,
        at: now,
    })
}

/// Reminds the current step's signers; only the author and leaders may urge.
pub fn urge(
    tx: &mut WriteTx,
    doc_id: i64,
    user: &User,
    message: &str,
) -> Result<Comment, OfficeError> {
    let message = line(
        "message",
        if message.trim().is_empty() {
            "请尽快办理"
        } else {
            message
        },
        200,
        true,
    )?;
    ensure_mutable(tx.conn(), doc_id)?;
    let (status, author): (String, i64) = tx.conn().query_row(
        "SELECT status, created_by FROM documents WHERE id = ?1",
        [doc_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if author != user.id && !user.has_any(&[Role::Admin, Role::Leader]) {
        return Err(OfficeError::Forbidden(
            "只有拟稿/登记人或领导可以催办".into(),
        ));
    }
    if status != "circulating" {
        return Err(OfficeError::OutOfOrder("公文已办结，无需催办".into()));
    }
    let now = tx.now().to_string();
    let id = tx.insert(
        "INSERT INTO doc_urges(doc_id, user_id, message, at) VALUES (?1, ?2, ?3, ?4)",
        params![doc_id, user.id, message, now],
    )?;
    super::change(
        tx,
        "doc_urge",
        id,
        Op::Insert,
        &serde_json::json!({"doc_id": doc_id, "user_id": user.id, "message": message}),
    )?;
    Ok(Comment {
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        body: message,
        at: now,
    })
}

/// Records that `user` opened the document and returns true the first time. An archived
/// document is left exactly as it was archived, so opening it records nothing.
pub fn mark_read(tx: &mut WriteTx, doc_id: i64, user: &User) -> Result<bool, OfficeError> {
    let first: bool = tx.conn().query_row(
        "SELECT EXISTS (SELECT 1 FROM documents WHERE id = ?1 AND status <> 'archived')
            AND NOT EXISTS (SELECT 1 FROM doc_reads WHERE doc_id = ?1 AND user_id = ?2)",
        params![doc_id, user.id],
        |r| r.get(0),
    )?;
    if !first {
        return Ok(false);
    }
    let now = tx.now().to_string();
    tx.exec(
        "INSERT INTO doc_reads(doc_id, user_id, at) VALUES (?1, ?2, ?3)",
        params![doc_id, user.id, now],
    )?;
    super::change(
        tx,
        "doc_read",
        format!("{doc_id}/{}", user.id),
        Op::Insert,
        &serde_json::json!({"at": now}),
    )?;
    Ok(true)
}

/// Who may see a document: its author, anyone on its route, admins and leaders; once archived,
/// every member of staff (the archive is the office's shared, searchable memory).
pub fn can_view(conn: &Connection, doc_id: i64, user: &User) -> Result<bool, OfficeError> {
    if user.has_any(&[Role::Admin, Role::Leader]) {
        return Ok(true);
    }
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM documents WHERE id = ?1 AND (created_by = ?2 OR status = 'archived'))
             OR EXISTS (SELECT 1 FROM doc_signers WHERE doc_id = ?1 AND user_id = ?2)",
        params![doc_id, user.id],
        |r| r.get(0),
    )?)
}

pub fn ensure_visible(conn: &Connection, doc_id: i64, user: &User) -> Result<(), OfficeError> {
    if can_view(conn, doc_id, user)? {
        Ok(())
    } else {
        Err(OfficeError::NotFound(format!("公文 {doc_id}")))
    }
}

pub fn get(conn: &Connection, id: i64) -> Result<Document, OfficeError> {
    let mut d = conn
        .query_row(
            "SELECT d.direction, t.code, d.number, d.title, d.body, d.source_unit, d.original_number,
                    d.received_on, d.urgency, d.security, d.status, d.current_step, u.username,
                    d.created_at, d.archive_year, d.retention
             FROM documents d JOIN doc_types t ON t.id = d.type_id JOIN users u ON u.id = d.created_by
             WHERE d.id = ?1",
            [id],
            |r| {
                Ok(Document {
                    id,
                    direction: r.get(0)?,
                    doc_type: r.get(1)?,
                    number: r.get(2)?,
                    title: r.get(3)?,
                    body: r.get(4)?,
                    source_unit: r.get(5)?,
                    original_number: r.get(6)?,
                    received_on: r.get(7)?,
                    urgency: r.get(8)?,
                    security: r.get(9)?,
                    status: r.get(10)?,
                    current_step: r.get(11)?,
                    created_by: r.get(12)?,
                    created_at: r.get(13)?,
                    archive_year: r.get(14)?,
                    retention: r.get(15)?,
                    steps: Vec::new(),
                    comments: Vec::new(),
                    attachments: Vec::new(),
                    readers: Vec::new(),
                    urges: Vec::new(),
                })
            },
        )
        .optional()?
        .ok_or_else(|| OfficeError::NotFound(format!("公文 {id}")))?;
    let mut steps: Vec<Step> = conn
        .prepare_cached("SELECT position, kind, mode, label, done_at FROM doc_steps WHERE doc_id = ?1 ORDER BY position")?
        .query_map([id], |r| {
            Ok(Step { position: r.get(0)?, kind: r.get(1)?, mode: r.get(2)?, label: r.get(3)?, done_at: r.get(4)?, signers: Vec::new() })
        })?
        .collect::<Result<_, _>>()?;
    for s in &mut steps {
        s.signers = conn
            .prepare_cached(
                "SELECT u.username, u.display_name, s.signed_at, s.opinion FROM doc_signers s
                 JOIN users u ON u.id = s.user_id WHERE s.doc_id = ?1 AND s.position = ?2 ORDER BY u.username",
            )?
            .query_map(params![id, s.position], |r| {
                Ok(Signer { username: r.get(0)?, display_name: r.get(1)?, signed_at: r.get(2)?, opinion: r.get(3)? })
            })?
            .collect::<Result<_, _>>()?;
    }
    d.steps = steps;
    let people = |sql: &str| -> Result<Vec<Comment>, OfficeError> {
        Ok(conn
            .prepare_cached(sql)?
            .query_map([id], |r| {
                Ok(Comment {
                    username: r.get(0)?,
                    display_name: r.get(1)?,
                    body: r.get(2)?,
                    at: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    };
    d.comments = people("SELECT u.username, u.display_name, c.body, c.at FROM doc_comments c JOIN users u ON u.id = c.user_id WHERE c.doc_id = ?1 ORDER BY c.id")?;
    d.readers = people("SELECT u.username, u.display_name, '', r.at FROM doc_reads r JOIN users u ON u.id = r.user_id WHERE r.doc_id = ?1 ORDER BY r.at")?;
    d.urges = people("SELECT u.username, u.display_name, g.message, g.at FROM doc_urges g JOIN users u ON u.id = g.user_id WHERE g.doc_id = ?1 ORDER BY g.id")?;
    d.attachments = conn
        .prepare_cached(
            "SELECT hash, name, size FROM doc_attachments WHERE doc_id = ?1 ORDER BY at, name",
        )?
        .query_map([id], |r| {
            Ok(Attachment {
                hash: r.get(0)?,
                name: r.get(1)?,
                size: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(d)
}

/// Which documents a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Waiting for the user's signature now.
    ToSign,
    /// Registered or drafted by the user.
    Mine,
    /// Everything the user may see that is not yet archived.
    Open,
}

pub fn list(
    conn: &Connection,
    user: &User,
    filter: Filter,
    doc_type: Option<&str>,
) -> Result<Vec<Summary>, OfficeError> {
    let everyone = user.has_any(&[Role::Admin, Role::Leader]);
    let cond = match filter {
        Filter::ToSign => "EXISTS (SELECT 1 FROM doc_signers s WHERE s.doc_id = d.id AND s.position = d.current_step AND s.user_id = ?1 AND s.signed_at IS NULL) AND d.status = 'circulating'",
        Filter::Mine => "d.created_by = ?1 AND d.status <> 'archived'",
        Filter::Open if everyone => "d.status <> 'archived' AND ?1 = ?1",
        Filter::Open => "d.status <> 'archived' AND (d.created_by = ?1 OR EXISTS (SELECT 1 FROM doc_signers s WHERE s.doc_id = d.id AND s.user_id = ?1))",
    };
    let sql = format!(
        "SELECT d.id, d.number, d.title, d.direction, d.urgency, d.status, st.kind, d.updated_at
         FROM documents d JOIN doc_types t ON t.id = d.type_id
         LEFT JOIN doc_steps st ON st.doc_id = d.id AND st.position = d.current_step AND d.status = 'circulating'
         WHERE {cond} AND (?2 IS NULL OR t.code = ?2) ORDER BY d.id DESC LIMIT 500"
    );
    // One of four texts, so caching it spares the workbench a parse and plan per request.
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(params![user.id, doc_type], |r| {
            Ok(Summary {
                id: r.get(0)?,
                number: r.get(1)?,
                title: r.get(2)?,
                direction: r.get(3)?,
                urgency: r.get(4)?,
                status: r.get(5)?,
                current_kind: r.get(6)?,
                updated_at: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}
