//! Articles and the three-level review (三级审查): an editor of the column's department drafts
//! (recording collection date, source, collector and intended publish time); sensitive columns
//! go to 办公室初审 (a leader of the government office) first; the chief editor (主编) reviews;
//! the general editor (总编) approves, which publishes a new version. Each level may send the
//! draft back with a reason. Nobody signs two levels of one draft, and nobody signs their own.
//!
//! The working copy is never public: the public reads only `portal_versions`, each published
//! version kept whole with who drafted and who signed it at each level. Revising a published
//! article starts a new draft while the public keeps seeing the last approved version.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::columns::{self, Column};
use super::files::{FileRef, MAX_FILES};
use super::{banned, line, markdown, multiline, short, PortalError};
use crate::auth::{Role, User};
use crate::store::{Op, WriteTx};

pub const TITLE_MAX: usize = 100;
pub const BODY_MAX: usize = 50_000;

/// What an editor fills in.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct Draft {
    pub title: String,
    /// Markdown (a safe subset).
    pub body: String,
    /// 来源, e.g. 县政府办公室.
    pub source: String,
    /// 作者.
    pub author: String,
    /// 采集日期 `YYYY-MM-DD`.
    pub collected_on: String,
    /// 采集人.
    pub collector: String,
    /// Intended publish time in Beijing time, `YYYY-MM-DDTHH:MM`; empty = when approved.
    #[serde(default)]
    pub publish_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Article {
    pub id: i64,
    pub column: String,
    pub column_id: i64,
    pub column_code: String,
    pub sensitive: bool,
    /// `draft`, `office`, `chief`, `general` or `published`.
    pub state: String,
    pub state_zh: &'static str,
    pub title: String,
    pub body: String,
    pub source: String,
    pub author: String,
    pub collected_on: String,
    pub collector: String,
    /// Stored UTC, if an intended time was given.
    pub publish_at: Option<String>,
    pub return_reason: Option<String>,
    pub created_by: String,
    pub updated_at: String,
    pub version: i64,
    pub files: Vec<FileRef>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Version {
    pub id: i64,
    pub version: i64,
    pub title: String,
    pub published_at: String,
    pub approved_at: String,
    pub drafted_by: String,
    pub office_by: Option<String>,
    pub chief_by: String,
    pub general_by: String,
}

pub fn state_zh(state: &str) -> &'static str {
    match state {
        "draft" => "草稿",
        "office" => "待办公室初审",
        "chief" => "待主编审核",
        "general" => "待总编审批",
        "published" => "已发布",
        _ => "未知",
    }
}

fn check_draft(d: &Draft) -> Result<(Draft, Option<String>), PortalError> {
    let collected = line("collected_on", &d.collected_on, 10, true)?;
    collected.parse::<jiff::civil::Date>().map_err(|_| {
        PortalError::invalid(
            "collected_on",
            format!("采集日期 \"{}\" 无效，应为 YYYY-MM-DD", short(&collected)),
        )
    })?;
    let publish_at = match d.publish_at.trim() {
        "" => None,
        t => {
            let dt = t.parse::<jiff::civil::DateTime>().map_err(|_| {
                PortalError::invalid(
                    "publish_at",
                    format!("拟发布时间 \"{}\" 无效，应为 YYYY-MM-DD HH:MM", short(t)),
                )
            })?;
            let ts = dt
                .to_zoned(crate::clock::shanghai())
                .map_err(|_| PortalError::invalid("publish_at", "拟发布时间无效"))?
                .timestamp();
            Some(crate::clock::format_utc(ts))
        }
    };
    Ok((
        Draft {
            title: line("title", &d.title, TITLE_MAX, true)?,
            body: multiline("body", &d.body, BODY_MAX, true)?,
            source: line("source", &d.source, 60, true)?,
            author: line("author", &d.author, 40, true)?,
            collected_on: collected,
            collector: line("collector", &d.collector, 40, true)?,
            publish_at: d.publish_at.trim().to_string(),
        },
        publish_at,
    ))
}

fn payload(tx: &WriteTx, id: i64) -> Result<serde_json::Value, PortalError> {
    let a = get(tx.conn(), id)?;
    Ok(serde_json::json!({
        "column_id": a.column_id, "state": a.state, "title": a.title, "body": a.body,
        "source": a.source, "author": a.author, "collected_on": a.collected_on,
        "collector": a.collector, "publish_at": a.publish_at, "return_reason": a.return_reason,
        "version": a.version, "files": a.files,
    }))
}

fn record(tx: &mut WriteTx, id: i64, op: Op) -> Result<(), PortalError> {
    let p = payload(tx, id)?;
    let hashes: Vec<String> = p["files"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["hash"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let refs: Vec<&str> = hashes.iter().map(String::as_str).collect();
    tx.change_with_blobs("portal_article", id, op, &p, &refs)?;
    Ok(())
}

/// Starts a draft in `column_id`; only an editor of the column's department may.
pub fn create(
    tx: &mut WriteTx,
    user: &User,
    column_id: i64,
    d: &Draft,
) -> Result<i64, PortalError> {
    let column = columns::get(tx.conn(), column_id)?;
    if !columns::may_draft(user, &column) {
        return Err(PortalError::Forbidden(format!(
            "只有{}的栏目编辑可以在“{}”栏目起草",
            column.department, column.name
        )));
    }
    let (d, publish_at) = check_draft(d)?;
    let now = tx.now().to_string();
    let id = tx.insert(
        "INSERT INTO portal_articles(column_id, state, title, body, source, author, collected_on,
            collector, publish_at, created_by, created_at, updated_at)
         VALUES (?1, 'draft', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
        params![
            column_id,
            d.title,
            d.body,
            d.source,
            d.author,
            d.collected_on,
            d.collector,
            publish_at,
            user.id,
            now
        ],
    )?;
    record(tx, id, Op::Insert)?;
    Ok(id)
}

fn state_and_column(conn: &Connection, id: i64) -> Result<(String, Column, i64), PortalError> {
    let (state, column_id, created_by): (String, i64, i64) = conn
        .query_row(
            "SELECT state, column_id, created_by FROM portal_articles WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| PortalError::NotFound(format!("稿件 {id}")))?;
    Ok((state, columns::get(conn, column_id)?, created_by))
}

fn editable(conn: &Connection, user: &User, id: i64) -> Result<Column, PortalError> {
    let (state, column, _) = state_and_column(conn, id)?;
    if !columns::may_draft(user, &column) {
        return Err(PortalError::Forbidden(format!(
            "只有{}的栏目编辑可以修改此稿件",
            column.department
        )));
    }
    if state != "draft" {
        return Err(PortalError::OutOfOrder(format!(
            "稿件{}，不能修改；请先退回或修订",
            state_zh(&state)
        )));
    }
    Ok(column)
}

pub fn update(tx: &mut WriteTx, user: &User, id: i64, d: &Draft) -> Result<(), PortalError> {
    editable(tx.conn(), user, id)?;
    let (d, publish_at) = check_draft(d)?;
    let now = tx.now().to_string();
    tx.exec(
        "UPDATE portal_articles SET title = ?2, body = ?3, source = ?4, author = ?5,
            collected_on = ?6, collector = ?7, publish_at = ?8, updated_at = ?9 WHERE id = ?1",
        params![
            id,
            d.title,
            d.body,
            d.source,
            d.author,
            d.collected_on,
            d.collector,
            publish_at,
            now
        ],
    )?;
    record(tx, id, Op::Update)
}

/// Attaches a stored file to a draft.
pub fn attach(tx: &mut WriteTx, user: &User, id: i64, f: &FileRef) -> Result<(), PortalError> {
    editable(tx.conn(), user, id)?;
    let count: i64 = tx.conn().query_row(
        "SELECT count(*) FROM portal_article_files WHERE article_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    if count as usize >= MAX_FILES {
        return Err(PortalError::invalid(
            "file",
            format!("每篇稿件最多 {MAX_FILES} 个附件"),
        ));
    }
    tx.exec(
        "INSERT OR REPLACE INTO portal_article_files(article_id, hash, name, size, content_type)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, f.hash, f.name, f.size, f.content_type],
    )?;
    tx.exec(
        "UPDATE portal_articles SET updated_at = ?2 WHERE id = ?1",
        params![id, tx.now().to_string()],
    )?;
    record(tx, id, Op::Update)
}

pub fn detach(tx: &mut WriteTx, user: &User, id: i64, hash: &str) -> Result<(), PortalError> {
    editable(tx.conn(), user, id)?;
    let n = tx.exec(
        "DELETE FROM portal_article_files WHERE article_id = ?1 AND hash = ?2",
        params![id, hash],
    )?;
    if n == 0 {
        return Err(PortalError::NotFound(format!("附件 {}", short(hash))));
    }
    record(tx, id, Op::Update)
}

/// The editor submits the draft: to 办公室初审 for a sensitive column, else to the chief editor.
/// Banned words refuse it, naming them.
pub fn submit(tx: &mut WriteTx, user: &User, id: i64) -> Result<&'static str, PortalError> {
    let column = editable(tx.conn(), user, id)?;
    let (title, body): (String, String) = tx.conn().query_row(
        "SELECT title, body FROM portal_articles WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    banned::check(tx.conn(), &[&title, &body])?;
    let next = if column.sensitive { "office" } else { "chief" };
    tx.exec(
        "UPDATE portal_articles SET state = ?2, return_reason = NULL, office_by = NULL,
            chief_by = NULL, updated_at = ?3 WHERE id = ?1",
        params![id, next, tx.now().to_string()],
    )?;
    record(tx, id, Op::Update)?;
    Ok(next)
}

struct Signers {
    created_by: i64,
    office_by: Option<i64>,
    chief_by: Option<i64>,
}

fn signers(conn: &Connection, id: i64) -> Result<Signers, PortalError> {
    Ok(conn.query_row(
        "SELECT created_by, office_by, chief_by FROM portal_articles WHERE id = ?1",
        [id],
        |r| {
            Ok(Signers {
                created_by: r.get(0)?,
                office_by: r.get(1)?,
                chief_by: r.get(2)?,
            })
        },
    )?)
}

/// The role that signs a draft in `state`, and what the level is called.
fn level(state: &str) -> Option<(Role, &'static str)> {
    match state {
        "office" => Some((Role::Leader, "办公室初审（分管领导）")),
        "chief" => Some((Role::ChiefEditor, "主编审核")),
        "general" => Some((Role::GeneralEditor, "总编审批")),
        _ => None,
    }
}

fn require_signer(conn: &Connection, user: &User, id: i64) -> Result<String, PortalError> {
    let (state, _, _) = state_and_column(conn, id)?;
    let (role, name) = level(&state).ok_or_else(|| {
        PortalError::OutOfOrder(format!("稿件{}，没有待审环节", state_zh(&state)))
    })?;
    if !user.has(role) {
        return Err(PortalError::Forbidden(format!(
            "稿件{}：{}须由{}签署",
            state_zh(&state),
            name,
            role.name_zh()
        )));
    }
    let s = signers(conn, id)?;
    if s.created_by == user.id || s.office_by == Some(user.id) || s.chief_by == Some(user.id) {
        return Err(PortalError::Forbidden(
            "同一人不能既起草又审核，也不能签署同一稿件的两级审查".into(),
        ));
    }
    Ok(state)
}

/// Signs the current level. At the last level (总编) this publishes: a new version is written
/// and indexed, public from the intended publish time (or now).
pub fn approve(tx: &mut WriteTx, user: &User, id: i64) -> Result<&'static str, PortalError> {
    let state = require_signer(tx.conn(), user, id)?;
    let now = tx.now().to_string();
    let next = match state.as_str() {
        "office" => {
            tx.exec(
                "UPDATE portal_articles SET state = 'chief', office_by = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, user.id, now],
            )?;
            "chief"
        }
        "chief" => {
            tx.exec(
                "UPDATE portal_articles SET state = 'general', chief_by = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, user.id, now],
            )?;
            "general"
        }
        _ => {
            publish(tx, user, id)?;
            "published"
        }
    };
    record(tx, id, Op::Update)?;
    Ok(next)
}

fn publish(tx: &mut WriteTx, user: &User, id: i64) -> Result<(), PortalError> {
    let a = get(tx.conn(), id)?;
    banned::check(tx.conn(), &[&a.title, &a.body])?;
    let s = signers(tx.conn(), id)?;
    let chief_by = s
        .chief_by
        .ok_or_else(|| PortalError::OutOfOrder("稿件还没有经过主编审核".into()))?;
    if a.sensitive && s.office_by.is_none() {
        return Err(PortalError::OutOfOrder(
            "敏感栏目的稿件须先经办公室初审".into(),
        ));
    }
    let now = tx.now().to_string();
    let published_at = a
        .publish_at
        .clone()
        .filter(|t| *t > now)
        .unwrap_or_else(|| now.clone());
    let version = a.version + 1;
    let html = markdown::render(&a.body);
    let files =
        serde_json::to_string(&a.files).map_err(|e| PortalError::Conflict(e.to_string()))?;
    let vid = tx.insert(
        "INSERT INTO portal_versions(article_id, version, column_id, title, body_html, body_text,
            source, author, collected_on, collector, files, published_at, approved_at,
            drafted_by, office_by, chief_by, general_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        params![
            id,
            version,
            a.column_id,
            a.title,
            html,
            a.body,
            a.source,
            a.author,
            a.collected_on,
            a.collector,
            files,
            published_at,
            now,
            s.created_by,
            s.office_by,
            chief_by,
            user.id
        ],
    )?;
    super::search::index(tx, vid, &a.title, &a.body)?;
    // The latest approval wins: every earlier version, also one still waiting for its own
    // intended time, gives way when this one goes public.
    let superseded = tx.exec(
        "UPDATE portal_versions SET superseded_at = ?3
         WHERE article_id = ?1 AND id <> ?2 AND (superseded_at IS NULL OR superseded_at > ?3)",
        params![id, vid, published_at],
    )?;
    if superseded > 0 {
        tx.change(
            "portal_version_superseded",
            id,
            Op::Update,
            &serde_json::json!({"article_id": id, "by_version": version, "superseded_at": published_at}),
        )?;
    }
    tx.exec(
        "UPDATE portal_articles SET state = 'published', version = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, version, now],
    )?;
    let hashes: Vec<&str> = a.files.iter().map(|f| f.hash.as_str()).collect();
    tx.change_with_blobs(
        "portal_version",
        vid,
        Op::Insert,
        &serde_json::json!({"article_id": id, "version": version, "column_id": a.column_id,
            "title": a.title, "body_html": html, "body_text": a.body, "source": a.source,
            "author": a.author, "collected_on": a.collected_on, "collector": a.collector,
            "files": a.files, "published_at": published_at, "approved_at": now,
            "drafted_by": s.created_by, "office_by": s.office_by, "chief_by": chief_by,
            "general_by": user.id}),
        &hashes,
    )?;
    Ok(())
}

/// The signer of the current level sends the draft back to its editor with a reason.
pub fn send_back(tx: &mut WriteTx, user: &User, id: i64, reason: &str) -> Result<(), PortalError> {
    require_signer(tx.conn(), user, id)?;
    let reason = multiline("reason", reason, 500, true)?;
    tx.exec(
        "UPDATE portal_articles SET state = 'draft', return_reason = ?2, office_by = NULL,
            chief_by = NULL, updated_at = ?3 WHERE id = ?1",
        params![id, reason, tx.now().to_string()],
    )?;
    record(tx, id, Op::Update)
}

/// Starts a new draft of a published article; the published version stays public meanwhile.
pub fn revise(tx: &mut WriteTx, user: &User, id: i64) -> Result<(), PortalError> {
    let (state, column, _) = state_and_column(tx.conn(), id)?;
    if !columns::may_draft(user, &column) {
        return Err(PortalError::Forbidden(format!(
            "只有{}的栏目编辑可以修订此稿件",
            column.department
        )));
    }
    if state != "published" {
        return Err(PortalError::OutOfOrder(format!(
            "稿件{}，不需要修订",
            state_zh(&state)
        )));
    }
    tx.exec(
        "UPDATE portal_articles SET state = 'draft', return_reason = NULL, office_by = NULL,
            chief_by = NULL, updated_at = ?2 WHERE id = ?1",
        params![id, tx.now().to_string()],
    )?;
    record(tx, id, Op::Update)
}

pub fn get(conn: &Connection, id: i64) -> Result<Article, PortalError> {
    let mut a = conn
        .prepare_cached(
            "SELECT a.id, c.name, c.id, c.code, c.sensitive, a.state, a.title, a.body, a.source,
                a.author, a.collected_on, a.collector, a.publish_at, a.return_reason,
                u.display_name, a.updated_at, a.version
             FROM portal_articles a JOIN portal_columns c ON c.id = a.column_id
             JOIN users u ON u.id = a.created_by WHERE a.id = ?1",
        )?
        .query_row([id], |r| {
            let state: String = r.get(5)?;
            Ok(Article {
                id: r.get(0)?,
                column: r.get(1)?,
                column_id: r.get(2)?,
                column_code: r.get(3)?,
                sensitive: r.get(4)?,
                state_zh: state_zh(&state),
                state,
                title: r.get(6)?,
                body: r.get(7)?,
                source: r.get(8)?,
                author: r.get(9)?,
                collected_on: r.get(10)?,
                collector: r.get(11)?,
                publish_at: r.get(12)?,
                return_reason: r.get(13)?,
                created_by: r.get(14)?,
                updated_at: r.get(15)?,
                version: r.get(16)?,
                files: Vec::new(),
            })
        })
        .optional()?
        .ok_or_else(|| PortalError::NotFound(format!("稿件 {id}")))?;
    a.files = conn
        .prepare_cached(
            "SELECT hash, name, size, content_type FROM portal_article_files WHERE article_id = ?1 ORDER BY name",
        )?
        .query_map([id], |r| {
            Ok(FileRef {
                hash: r.get(0)?,
                name: r.get(1)?,
                size: r.get(2)?,
                content_type: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(a)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub id: i64,
    pub column: String,
    pub title: String,
    pub state: String,
    pub state_zh: &'static str,
    pub updated_at: String,
    /// Whether this user can act on it now (edit/submit, or sign the current level).
    pub mine_to_act: bool,
}

/// The articles a user works with: drafts of their departments' columns, and every article
/// waiting at a level they sign.
pub fn queue(conn: &Connection, user: &User) -> Result<Vec<Summary>, PortalError> {
    let rows: Vec<(i64, String, String, String, String, i64, i64)> = conn
        .prepare_cached(
            "SELECT a.id, c.name, a.title, a.state, a.updated_at, c.department_id, a.created_by
             FROM portal_articles a JOIN portal_columns c ON c.id = a.column_id
             ORDER BY a.updated_at DESC LIMIT 500",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let editor_of = |dept: i64| {
        user.roles
            .iter()
            .any(|g| g.role == Role::Editor && g.department_id == dept)
    };
    let reviewer = user.has_any(&[Role::Leader, Role::ChiefEditor, Role::GeneralEditor]);
    Ok(rows
        .into_iter()
        .filter(|(_, _, _, _, _, dept, _)| editor_of(*dept) || reviewer)
        .map(|(id, column, title, state, updated_at, dept, by)| {
            let mine_to_act = match level(&state) {
                Some((role, _)) => user.has(role) && by != user.id,
                None => state == "draft" && editor_of(dept),
            };
            Summary {
                id,
                column,
                title,
                state_zh: state_zh(&state),
                state,
                updated_at,
                mine_to_act,
            }
        })
        .collect())
}

/// Every published version of an article, newest first, with its signers.
pub fn versions(conn: &Connection, id: i64) -> Result<Vec<Version>, PortalError> {
    Ok(conn
        .prepare_cached(
            "SELECT v.id, v.version, v.title, v.published_at, v.approved_at, d.display_name,
                o.display_name, c.display_name, g.display_name
             FROM portal_versions v JOIN users d ON d.id = v.drafted_by
             LEFT JOIN users o ON o.id = v.office_by JOIN users c ON c.id = v.chief_by
             JOIN users g ON g.id = v.general_by
             WHERE v.article_id = ?1 ORDER BY v.version DESC",
        )?
        .query_map([id], |r| {
            Ok(Version {
                id: r.get(0)?,
                version: r.get(1)?,
                title: r.get(2)?,
                published_at: r.get(3)?,
                approved_at: r.get(4)?,
                drafted_by: r.get(5)?,
                office_by: r.get(6)?,
                chief_by: r.get(7)?,
                general_by: r.get(8)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// A published version as the public sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Public {
    pub version_id: i64,
    pub article_id: i64,
    pub column_id: i64,
    pub title: String,
    pub body_html: String,
    pub source: String,
    pub author: String,
    pub published_at: String,
    pub files: Vec<FileRef>,
}

/// The condition that a version row `v` is the one the public sees at `?1` (now): its publish
/// time has come and no later approved version has taken its place.
pub const VISIBLE: &str =
    "v.published_at <= ?1 AND (v.superseded_at IS NULL OR v.superseded_at > ?1)";

fn map_public(r: &rusqlite::Row) -> rusqlite::Result<Public> {
    let files: String = r.get(8)?;
    Ok(Public {
        version_id: r.get(0)?,
        article_id: r.get(1)?,
        column_id: r.get(2)?,
        title: r.get(3)?,
        body_html: r.get(4)?,
        source: r.get(5)?,
        author: r.get(6)?,
        published_at: r.get(7)?,
        files: serde_json::from_str(&files).unwrap_or_default(),
    })
}

const PUBLIC_COLS: &str = "v.id, v.article_id, v.column_id, v.title, v.body_html, v.source,
    v.author, v.published_at, v.files";

/// The article as published at `now`, if it is public at all.
pub fn visible(conn: &Connection, id: i64, now: &str) -> Result<Option<Public>, PortalError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {PUBLIC_COLS} FROM portal_versions v WHERE v.article_id = ?2 AND {VISIBLE}"
        ))?
        .query_row(params![now, id], map_public)
        .optional()?)
}

/// A version by id if it is the public one at `now` (for attachments).
pub fn visible_version(
    conn: &Connection,
    vid: i64,
    now: &str,
) -> Result<Option<Public>, PortalError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {PUBLIC_COLS} FROM portal_versions v WHERE v.id = ?2 AND {VISIBLE}"
        ))?
        .query_row(params![now, vid], map_public)
        .optional()?)
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub article_id: i64,
    pub title: String,
    pub published_at: String,
    pub column_id: i64,
}

/// One page (1-based) of a column's public articles, newest first, and the total count.
pub fn list_column(
    conn: &Connection,
    column_id: i64,
    now: &str,
    page: usize,
    per_page: usize,
) -> Result<(Vec<Item>, usize), PortalError> {
    let total: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM portal_versions v WHERE v.column_id = ?2 AND {VISIBLE}"
        ))?
        .query_row(params![now, column_id], |r| r.get(0))?;
    let offset = (page.max(1) - 1) * per_page;
    let items = conn
        .prepare_cached(&format!(
            "SELECT v.article_id, v.title, v.published_at, v.column_id FROM portal_versions v
             WHERE v.column_id = ?2 AND {VISIBLE}
             ORDER BY v.published_at DESC, v.id DESC LIMIT ?3 OFFSET ?4"
        ))?
        .query_map(
            params![now, column_id, per_page as i64, offset as i64],
            |r| {
                Ok(Item {
                    article_id: r.get(0)?,
                    title: r.get(1)?,
                    published_at: r.get(2)?,
                    column_id: r.get(3)?,
                })
            },
        )?
        .collect::<Result<_, _>>()?;
    Ok((items, total as usize))
}

/// When the public content last changed (the newest visible publish time), for Last-Modified.
pub fn last_published(
    conn: &Connection,
    column_id: Option<i64>,
    now: &str,
) -> Result<Option<String>, PortalError> {
    // One statement per form: `?2 IS NULL OR column_id = ?2` would keep either index from being used.
    Ok(match column_id {
        Some(id) => conn
            .prepare_cached(
                "SELECT max(published_at) FROM portal_versions
                 WHERE column_id = ?2 AND published_at <= ?1",
            )?
            .query_row(params![now, id], |r| r.get(0))?,
        None => conn
            .prepare_cached(
                "SELECT max(published_at) FROM portal_versions WHERE published_at <= ?1",
            )?
            .query_row(params![now], |r| r.get(0))?,
    })
}
