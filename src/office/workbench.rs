//! What the office part puts on the 工作台: documents to sign (urged ones marked), unread mail
//! and notices, today's meetings, open tasks (overdue marked).

use rusqlite::Connection;
use serde::Serialize;

use super::{documents, mail, meetings, notices, tasks, OfficeError};
use crate::auth::User;

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub label: String,
    pub href: String,
    /// Shown highlighted: urged, overdue or urgent.
    pub alert: bool,
}

pub fn items(conn: &Connection, user: &User) -> Result<Vec<Item>, OfficeError> {
    let mut out = Vec::new();
    for d in documents::list(conn, user, documents::Filter::ToSign, None)? {
        let urged: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM doc_urges WHERE doc_id = ?1)")?
            .query_row([d.id], |r| r.get(0))?;
        out.push(Item {
            label: format!(
                "待{}公文：{} {}{}",
                d.current_kind.as_deref().unwrap_or("签批"),
                d.number,
                d.title,
                if urged { "（已催办）" } else { "" }
            ),
            href: format!("/office/documents/{}", d.id),
            alert: urged || d.urgency != "普通",
        });
    }
    let unread = mail::unread_count(conn, user.id)?;
    if unread > 0 {
        out.push(Item {
            label: format!("未读邮件 {unread} 封"),
            href: "/office/mail".into(),
            alert: false,
        });
    }
    for n in notices::list(conn, user.id, true)? {
        out.push(Item {
            label: format!("未读公告：{}", n.title),
            href: format!("/office/notices/{}", n.id),
            alert: false,
        });
    }
    let today = super::today();
    let tz = crate::clock::shanghai();
    let start = today
        .to_zoned(tz.clone())
        .map(|z| crate::clock::format_utc(z.timestamp()))
        .unwrap_or_default();
    let end = today
        .tomorrow()
        .ok()
        .and_then(|d| d.to_zoned(tz).ok())
        .map(|z| crate::clock::format_utc(z.timestamp()));
    for m in meetings::upcoming(conn, user.id, &start, end.as_deref())? {
        out.push(Item {
            label: format!(
                "今日会议：{}–{} {}（{}）",
                &m.starts[11..16.min(m.starts.len())],
                m.ends.get(11..16).unwrap_or(""),
                m.title,
                m.room
            ),
            href: "/office/meetings".into(),
            alert: false,
        });
    }
    let now = crate::clock::now_utc();
    for m in meetings::unseen(conn, user.id, &now)? {
        out.push(Item {
            label: format!(
                "会议通知：{} {}（{}，{} 召集）",
                m.starts.get(..16).unwrap_or(&m.starts),
                m.title,
                m.room,
                m.organizer
            ),
            href: "/office/meetings".into(),
            alert: false,
        });
    }
    for t in tasks::list(conn, user)?
        .into_iter()
        .filter(|t| t.status == "open" && t.assignee == user.username)
    {
        out.push(Item {
            label: format!(
                "督办事项：{}，{} 到期{}",
                t.title,
                t.due_on,
                if t.overdue { "（已逾期）" } else { "" }
            ),
            href: "/office/tasks".into(),
            alert: t.overdue,
        });
    }
    Ok(out)
}
