//! 政府网站检查指标: what a website inspection would fail, checked over what the public sees.
//! Columns not updated in time (news 2 weeks, notices and policies 6 months), blank columns,
//! consultations and letters unanswered for more than 3 months, and internal links in published
//! articles that lead nowhere.

use rusqlite::Connection;
use serde::Serialize;

use super::{articles, columns, consult, letters, markdown, PortalError};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Finding {
    /// `column_stale`, `column_blank`, `consultation_overdue`, `letter_overdue`,
    /// `guide_incomplete`, `broken_link`.
    pub kind: String,
    pub what: String,
    pub detail: String,
}

fn days_before(now: &str, days: i64) -> String {
    let ts = crate::clock::parse_utc(now).unwrap_or_else(jiff::Timestamp::now);
    crate::clock::format_utc(ts - jiff::SignedDuration::from_hours(24 * days))
}

pub fn run(conn: &Connection, now: &str) -> Result<Vec<Finding>, PortalError> {
    let mut out = Vec::new();
    for c in columns::list(conn)? {
        let last = articles::last_published(conn, Some(c.id), now)?;
        let limit = match c.kind.as_str() {
            "news" => Some((14, "两周")),
            "notice" | "policy" => Some((183, "六个月")),
            _ => None,
        };
        match (last, limit) {
            (None, _) => out.push(Finding {
                kind: "column_blank".into(),
                what: format!("栏目“{}”", c.name),
                detail: "空白栏目：还没有发布任何内容".into(),
            }),
            (Some(last), Some((days, label))) if last < days_before(now, days) => {
                out.push(Finding {
                    kind: "column_stale".into(),
                    what: format!("栏目“{}”", c.name),
                    detail: format!(
                        "超过{label}未更新（最近一次发布 {}）",
                        crate::clock::show(&last)
                    ),
                })
            }
            _ => {}
        }
    }
    let overdue = days_before(now, 90);
    for (number, at) in consult::unanswered_before(conn, &overdue)? {
        out.push(Finding {
            kind: "consultation_overdue".into(),
            what: format!("咨询 {number}"),
            detail: format!("{} 提交，超过 3 个月未答复", crate::clock::show(&at)),
        });
    }
    for (number, at) in letters::unanswered_before(conn, &overdue)? {
        out.push(Finding {
            kind: "letter_overdue".into(),
            what: format!("来信 {number}"),
            detail: format!("{} 来信，超过 3 个月未答复", crate::clock::show(&at)),
        });
    }
    out.extend(guides_incomplete(conn)?);
    out.extend(broken_links(conn, now)?);
    Ok(out)
}

/// Service guides missing what an inspection checks: materials, legal basis, process, where to
/// go and whom to call.
fn guides_incomplete(conn: &Connection) -> Result<Vec<Finding>, PortalError> {
    let mut out = Vec::new();
    for s in crate::approval::items::list_public(conn)? {
        let it = crate::approval::items::get(conn, &s.code)?;
        let missing: Vec<&str> = [
            (it.materials.is_empty(), "申请材料"),
            (it.basis.is_empty(), "设定依据"),
            (it.process.trim().is_empty(), "办理流程"),
            (it.location.trim().is_empty(), "办理地点"),
            (it.contact_phone.trim().is_empty(), "咨询电话"),
        ]
        .into_iter()
        .filter_map(|(gap, what)| gap.then_some(what))
        .collect();
        if !missing.is_empty() {
            out.push(Finding {
                kind: "guide_incomplete".into(),
                what: format!("办事指南“{}”", it.name),
                detail: format!("缺少{}", missing.join("、")),
            });
        }
    }
    Ok(out)
}

/// Internal links (`/…`) in public articles that the portal would answer with 404.
fn broken_links(conn: &Connection, now: &str) -> Result<Vec<Finding>, PortalError> {
    let rows: Vec<(i64, String, String)> = conn
        .prepare_cached(&format!(
            "SELECT v.article_id, v.title, v.body_html FROM portal_versions v WHERE {}",
            articles::VISIBLE
        ))?
        .query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (id, title, html) in rows {
        for link in markdown::internal_links(&html) {
            if !resolves(conn, &link, now)? {
                out.push(Finding {
                    kind: "broken_link".into(),
                    what: format!("文章“{title}”（{id}）"),
                    detail: format!("站内链接 {link} 打不开"),
                });
            }
        }
    }
    Ok(out)
}

fn resolves(conn: &Connection, link: &str, now: &str) -> Result<bool, PortalError> {
    let path = link.split(['?', '#']).next().unwrap_or("");
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    Ok(match segs.as_slice() {
        [""]
        | ["search"]
        | ["faq"]
        | ["ask"]
        | ["letters"]
        | ["query"]
        | ["guides"]
        | ["complaints"] => true,
        ["guides", code] | ["apply", code] => {
            crate::approval::items::get(conn, code).is_ok_and(|it| it.active)
        }
        ["articles", id] => match id.parse::<i64>() {
            Ok(id) => articles::visible(conn, id, now)?.is_some(),
            Err(_) => false,
        },
        ["columns", code] | ["columns", code, "feed.xml"] => columns::by_code(conn, code).is_ok(),
        _ => false,
    })
}
