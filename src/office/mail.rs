//! Internal mail: a mailbox per user with inbox, sent, drafts and trash; recipients are users,
//! groups and departments; attachments are blobs shared by every copy; bodies are sanitised
//! HTML; every copy counts against its owner's quota.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{groups, line, sanitize, short, uploads, user_by_name, OfficeError};
use crate::auth::User;
use crate::store::{Op, WriteTx};

pub const FOLDERS: [&str; 4] = ["inbox", "sent", "drafts", "trash"];
/// A body larger than this is refused before it is cleaned.
pub const MAX_BODY: usize = 512 << 10;
const MAX_RECIPIENTS: usize = 500;

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct MailInput {
    /// Update this draft instead of starting a new message.
    #[serde(default)]
    pub draft_id: Option<i64>,
    #[serde(default)]
    pub to_users: Vec<String>,
    #[serde(default)]
    pub to_groups: Vec<String>,
    /// Department names or ids.
    #[serde(default)]
    pub to_departments: Vec<String>,
    pub subject: String,
    /// HTML; cleaned before it is stored.
    #[serde(default)]
    pub body_html: String,
    /// Upload ids.
    #[serde(default)]
    pub attachments: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MailSummary {
    /// The mailbox entry (use it for open, trash, restore, delete).
    pub id: i64,
    pub folder: String,
    pub sender: String,
    pub subject: String,
    pub size: i64,
    pub at: String,
    pub read: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Mail {
    pub id: i64,
    pub message_id: i64,
    pub folder: String,
    pub sender: String,
    pub sender_name: String,
    pub subject: String,
    pub body_html: String,
    pub size: i64,
    pub sent_at: Option<String>,
    pub recipients: Vec<String>,
    /// The recipients as given (usernames, group and department names), to edit a draft.
    pub to_users: Vec<String>,
    pub to_groups: Vec<String>,
    pub to_departments: Vec<String>,
    pub attachments: Vec<super::documents::Attachment>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Usage {
    pub used: i64,
    pub quota: i64,
}

pub fn default_quota(conn: &Connection) -> Result<i64, OfficeError> {
    let v: String = conn.query_row(
        "SELECT value FROM office_settings WHERE key = 'mail_quota_bytes'",
        [],
        |r| r.get(0),
    )?;
    Ok(v.parse().unwrap_or(50 << 20))
}

pub fn usage(conn: &Connection, user_id: i64) -> Result<Usage, OfficeError> {
    let used: i64 = conn.query_row(
        "SELECT coalesce(sum(m.size), 0) FROM mail_box b JOIN mail_messages m ON m.id = b.message_id WHERE b.user_id = ?1",
        [user_id],
        |r| r.get(0),
    )?;
    let own: Option<i64> = conn
        .query_row(
            "SELECT bytes FROM mail_quotas WHERE user_id = ?1",
            [user_id],
            |r| r.get(0),
        )
        .optional()?;
    let quota = match own {
        Some(q) => q,
        None => default_quota(conn)?,
    };
    Ok(Usage { used, quota })
}

/// Sets one user's quota, or (no username) the default for everyone without their own.
pub fn set_quota(tx: &mut WriteTx, username: Option<&str>, bytes: i64) -> Result<(), OfficeError> {
    if !(0..=(1i64 << 40)).contains(&bytes) {
        return Err(OfficeError::invalid(
            "bytes",
            "配额应在 0 到 1 TiB 之间（单位：字节）",
        ));
    }
    match username {
        Some(u) => {
            let id = user_by_name(tx.conn(), "username", u)?;
            tx.exec(
                "INSERT INTO mail_quotas(user_id, bytes) VALUES (?1, ?2) ON CONFLICT(user_id) DO UPDATE SET bytes = ?2",
                params![id, bytes],
            )?;
            super::change(
                tx,
                "mail_quota",
                id,
                Op::Update,
                &serde_json::json!({"bytes": bytes}),
            )
        }
        None => {
            tx.exec(
                "UPDATE office_settings SET value = ?1 WHERE key = 'mail_quota_bytes'",
                [bytes.to_string()],
            )?;
            super::change(
                tx,
                "office_setting",
                "mail_quota_bytes",
                Op::Update,
                &serde_json::json!({"value": bytes}),
            )
        }
    }
}

fn check_quota(conn: &Connection, user_id: i64, size: i64) -> Result<(), OfficeError> {
    let u = usage(conn, user_id)?;
    if u.used + size > u.quota {
        let who: String = conn.query_row(
            "SELECT display_name FROM users WHERE id = ?1",
            [user_id],
            |r| r.get(0),
        )?;
        return Err(OfficeError::QuotaExceeded {
            who,
            used: u.used,
            size,
            quota: u.quota,
        });
    }
    Ok(())
}

/// Saves a draft (`send` false) or sends (`send` true). Sending expands groups and departments
/// to people, puts a copy in every recipient's inbox and one in the sender's sent folder; a
/// recipient over quota stops the whole send, naming them, and nothing is written.
pub fn compose(
    tx: &mut WriteTx,
    user: &User,
    input: &MailInput,
    send: bool,
) -> Result<Mail, OfficeError> {
    let subject = line("subject", &input.subject, 200, send)?;
    if input.body_html.len() > MAX_BODY {
        return Err(OfficeError::invalid(
            "body_html",
            format!("正文不能超过 {} KiB", MAX_BODY >> 10),
        ));
    }
    let body = sanitize::clean_html(&input.body_html);
    if input.attachments.len() > 20 {
        return Err(OfficeError::invalid("attachments", "附件不能超过 20 个"));
    }
    let mut atts = Vec::new();
    for a in &input.attachments {
        let up = uploads::own(tx.conn(), user.id, *a)?;
        if !atts.iter().any(|x: &uploads::Upload| x.hash == up.hash) {
            atts.push(up);
        }
    }
    let targets = resolve_targets(tx.conn(), input)?;
    let recipients = expand(tx.conn(), &targets)?;
    if send && recipients.is_empty() {
        return Err(OfficeError::invalid(
            "to_users",
            "请至少指定一位收件人（用户、组或部门）",
        ));
    }
    let size = (subject.len() + body.len()) as i64 + atts.iter().map(|a| a.size).sum::<i64>();
    let now = tx.now().to_string();
    let message_id = match input.draft_id {
        Some(box_id) => {
            let (mid, folder): (i64, String) = tx
                .conn()
                .query_row(
                    "SELECT message_id, folder FROM mail_box WHERE id = ?1 AND user_id = ?2",
                    params![box_id, user.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .ok_or_else(|| OfficeError::NotFound(format!("草稿 {box_id}")))?;
            if folder != "drafts" {
                return Err(OfficeError::OutOfOrder(
                    "这封邮件已不是草稿，不能再修改".into(),
                ));
            }
            let old: i64 = tx.conn().query_row(
                "SELECT size FROM mail_messages WHERE id = ?1",
                [mid],
                |r| r.get(0),
            )?;
            check_quota(tx.conn(), user.id, size - old)?;
            tx.exec(
                "UPDATE mail_messages SET subject = ?2, body_html = ?3, size = ?4 WHERE id = ?1",
                params![mid, subject, body, size],
            )?;
            tx.exec("DELETE FROM mail_targets WHERE message_id = ?1", [mid])?;
            tx.exec("DELETE FROM mail_attachments WHERE message_id = ?1", [mid])?;
            mid
        }
        None => {
            check_quota(tx.conn(), user.id, size)?;
            let mid = tx.insert(
                "INSERT INTO mail_messages(sender_id, subject, body_html, size, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![user.id, subject, body, size, now],
            )?;
            tx.exec(
                "INSERT INTO mail_box(user_id, message_id, folder, read_at) VALUES (?1, ?2, 'drafts', ?3)",
                params![user.id, mid, now],
            )?;
            mid
        }
    };
    for (kind, id) in &targets {
        tx.exec(
            "INSERT OR IGNORE INTO mail_targets(message_id, kind, target_id) VALUES (?1, ?2, ?3)",
            params![message_id, kind, id],
        )?;
    }
    for a in &atts {
        tx.exec(
            "INSERT INTO mail_attachments(message_id, hash, name, size) VALUES (?1, ?2, ?3, ?4)",
            params![message_id, a.hash, a.name, a.size],
        )?;
    }
    if send {
        for r in &recipients {
            check_quota(tx.conn(), *r, size)?;
        }
        tx.exec(
            "UPDATE mail_messages SET sent_at = ?2 WHERE id = ?1",
            params![message_id, now],
        )?;
        tx.exec(
            "UPDATE mail_box SET folder = 'sent' WHERE message_id = ?1 AND user_id = ?2 AND folder = 'drafts'",
            params![message_id, user.id],
        )?;
        for r in &recipients {
            tx.exec(
                "INSERT INTO mail_box(user_id, message_id, folder) VALUES (?1, ?2, 'inbox')",
                params![r, message_id],
            )?;
        }
    }
    let hashes: Vec<&str> = atts.iter().map(|a| a.hash.as_str()).collect();
    tx.change_with_blobs(
        "mail_message",
        message_id,
        if input.draft_id.is_some() { Op::Update } else { Op::Insert },
        &serde_json::json!({"sender_id": user.id, "subject": subject, "body_html": body,
            "size": size, "targets": targets, "recipients": if send { recipients.clone() } else { Vec::new() },
            "sent": send, "attachments": atts.iter().map(|a| (&a.hash, &a.name, a.size)).collect::<Vec<_>>()}),
        &hashes,
    )?;
    let box_id: i64 = tx.conn().query_row(
        "SELECT id FROM mail_box WHERE message_id = ?1 AND user_id = ?2 AND folder IN ('drafts', 'sent')",
        params![message_id, user.id],
        |r| r.get(0),
    )?;
    get(tx.conn(), user.id, box_id)
}

fn resolve_targets(
    conn: &Connection,
    input: &MailInput,
) -> Result<Vec<(&'static str, i64)>, OfficeError> {
    if input.to_users.len() + input.to_groups.len() + input.to_departments.len() > MAX_RECIPIENTS {
        return Err(OfficeError::invalid(
            "to_users",
            format!("收件人不能超过 {MAX_RECIPIENTS} 个"),
        ));
    }
    let mut out = Vec::new();
    for u in &input.to_users {
        out.push(("user", user_by_name(conn, "to_users", u)?));
    }
    for g in &input.to_groups {
        out.push(("group", groups::by_name(conn, "to_groups", g)?));
    }
    for d in &input.to_departments {
        let id = crate::auth::find_department(conn, d.trim()).map_err(|_| {
            OfficeError::invalid("to_departments", format!("没有部门 \"{}\"", short(d)))
        })?;
        out.push(("department", id));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Every enabled person the targets name, once each.
fn expand(conn: &Connection, targets: &[(&'static str, i64)]) -> Result<Vec<i64>, OfficeError> {
    let mut ids = Vec::new();
    for (kind, id) in targets {
        match *kind {
            "user" => ids.push(*id),
            "group" => ids.extend(groups::member_ids(conn, *id)?),
            _ => ids.extend(
                conn.prepare_cached(
                    "SELECT DISTINCT r.user_id FROM user_roles r JOIN users u ON u.id = r.user_id
                     WHERE r.department_id = ?1 AND u.disabled = 0",
                )?
                .query_map([id], |r| r.get::<_, i64>(0))?
                .collect::<Result<Vec<_>, _>>()?,
            ),
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

pub fn list(
    conn: &Connection,
    user_id: i64,
    folder: &str,
) -> Result<Vec<MailSummary>, OfficeError> {
    if !FOLDERS.contains(&folder) {
        return Err(OfficeError::invalid(
            "folder",
            format!(
                "文件夹 \"{}\" 无效，可选: {}",
                short(folder),
                FOLDERS.join(", ")
            ),
        ));
    }
    Ok(conn
        .prepare_cached(
            "SELECT b.id, b.folder, u.display_name, m.subject, m.size, coalesce(m.sent_at, m.created_at), b.read_at IS NOT NULL
             FROM mail_box b JOIN mail_messages m ON m.id = b.message_id JOIN users u ON u.id = m.sender_id
             WHERE b.user_id = ?1 AND b.folder = ?2 ORDER BY b.id DESC LIMIT 500",
        )?
        .query_map(params![user_id, folder], |r| {
            Ok(MailSummary { id: r.get(0)?, folder: r.get(1)?, sender: r.get(2)?, subject: r.get(3)?, size: r.get(4)?, at: r.get(5)?, read: r.get(6)? })
        })?
        .collect::<Result<_, _>>()?)
}

pub fn unread_count(conn: &Connection, user_id: i64) -> Result<i64, OfficeError> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM mail_box WHERE user_id = ?1 AND folder = 'inbox' AND read_at IS NULL",
        )?
        .query_row([user_id], |r| r.get(0))?)
}

pub fn get(conn: &Connection, user_id: i64, box_id: i64) -> Result<Mail, OfficeError> {
    let mut m = conn
        .query_row(
            "SELECT b.id, b.message_id, b.folder, u.username, u.display_name, m.subject, m.body_html, m.size, m.sent_at
             FROM mail_box b JOIN mail_messages m ON m.id = b.message_id JOIN users u ON u.id = m.sender_id
             WHERE b.id = ?1 AND b.user_id = ?2",
            params![box_id, user_id],
            |r| {
                Ok(Mail { id: r.get(0)?, message_id: r.get(1)?, folder: r.get(2)?, sender: r.get(3)?, sender_name: r.get(4)?,
                    subject: r.get(5)?, body_html: r.get(6)?, size: r.get(7)?, sent_at: r.get(8)?, recipients: Vec::new(), to_users: Vec::new(), to_groups: Vec::new(),
                    to_departments: Vec::new(), attachments: Vec::new() })
            },
        )
        .optional()?
        .ok_or_else(|| OfficeError::NotFound(format!("邮件 {box_id}")))?;
    m.recipients = conn
        .prepare_cached(
            "SELECT CASE t.kind WHEN 'user' THEN (SELECT display_name FROM users WHERE id = t.target_id)
                                WHEN 'group' THEN '组:' || (SELECT name FROM office_groups WHERE id = t.target_id)
                                ELSE '部门:' || (SELECT name FROM departments WHERE id = t.target_id) END
             FROM mail_targets t WHERE t.message_id = ?1 ORDER BY t.kind, t.target_id",
        )?
        .query_map([m.message_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let named = |sql: &str| -> Result<Vec<String>, OfficeError> {
        Ok(conn
            .prepare_cached(sql)?
            .query_map([m.message_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    };
    m.to_users = named(
        "SELECT u.username FROM mail_targets t JOIN users u ON u.id = t.target_id
         WHERE t.message_id = ?1 AND t.kind = 'user' ORDER BY u.username",
    )?;
    m.to_groups = named(
        "SELECT g.name FROM mail_targets t JOIN office_groups g ON g.id = t.target_id
         WHERE t.message_id = ?1 AND t.kind = 'group' ORDER BY g.name",
    )?;
    m.to_departments = named(
        "SELECT d.name FROM mail_targets t JOIN departments d ON d.id = t.target_id
         WHERE t.message_id = ?1 AND t.kind = 'department' ORDER BY d.name",
    )?;
    m.attachments = conn
        .prepare_cached(
            "SELECT hash, name, size FROM mail_attachments WHERE message_id = ?1 ORDER BY name",
        )?
        .query_map([m.message_id], |r| {
            Ok(super::documents::Attachment {
                hash: r.get(0)?,
                name: r.get(1)?,
                size: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(m)
}

/// Opens a mail, marking it read the first time (the flag says whether this was it).
pub fn open(tx: &mut WriteTx, user_id: i64, box_id: i64) -> Result<(Mail, bool), OfficeError> {
    let m = get(tx.conn(), user_id, box_id)?;
    let unread: bool = tx.conn().query_row(
        "SELECT read_at IS NULL FROM mail_box WHERE id = ?1",
        [box_id],
        |r| r.get(0),
    )?;
    if unread {
        let now = tx.now().to_string();
        tx.exec(
            "UPDATE mail_box SET read_at = ?2 WHERE id = ?1",
            params![box_id, now],
        )?;
        super::change(
            tx,
            "mail_box",
            box_id,
            Op::Update,
            &serde_json::json!({"read_at": now}),
        )?;
    }
    Ok((m, unread))
}

/// Moves a mail to the trash, back out of it, or deletes it from the trash for good.
pub fn move_to(
    tx: &mut WriteTx,
    user_id: i64,
    box_id: i64,
    action: &str,
) -> Result<(), OfficeError> {
    let m = get(tx.conn(), user_id, box_id)?;
    match (action, m.folder.as_str()) {
        ("trash", "trash") => Err(OfficeError::OutOfOrder("邮件已在废件箱".into())),
        ("trash", _) => {
            tx.exec(
                "UPDATE mail_box SET from_folder = folder, folder = 'trash' WHERE id = ?1",
                [box_id],
            )?;
            super::change(
                tx,
                "mail_box",
                box_id,
                Op::Update,
                &serde_json::json!({"folder": "trash"}),
            )
        }
        ("restore", "trash") => {
            tx.exec("UPDATE mail_box SET folder = coalesce(from_folder, 'inbox'), from_folder = NULL WHERE id = ?1", [box_id])?;
            super::change(
                tx,
                "mail_box",
                box_id,
                Op::Update,
                &serde_json::json!({"folder": "restored"}),
            )
        }
        ("delete", "trash") => {
            tx.exec("DELETE FROM mail_box WHERE id = ?1", [box_id])?;
            super::change(tx, "mail_box", box_id, Op::Delete, &serde_json::json!({}))
        }
        ("restore" | "delete", _) => Err(OfficeError::OutOfOrder(
            "只有废件箱里的邮件可以恢复或彻底删除".into(),
        )),
        (other, _) => Err(OfficeError::invalid(
            "action",
            format!(
                "操作 \"{}\" 无效，可选: trash, restore, delete",
                short(other)
            ),
        )),
    }
}
