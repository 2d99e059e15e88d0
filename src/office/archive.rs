//! Archiving (归档) a finished document into the read-only archive, and full-text search over it.
//!
//! The index is SQLite FTS5 with the trigram tokenizer: any substring of 3+ characters matches,
//! which suits Chinese text without a word segmenter. Trigram cannot match a 1–2 character
//! query, so those fall back to a substring scan over the same index table.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::{documents, OfficeError};
use crate::auth::{Role, User};
use crate::store::{Op, WriteTx};

pub const RETENTIONS: [&str; 3] = ["永久", "30年", "10年"];
pub const MAX_HITS: usize = 100;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Hit {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub archive_year: i64,
    pub retention: String,
}

/// Archives a finished (办结) document: author, clerks (档案) and admins may.
pub fn archive(
    tx: &mut WriteTx,
    doc_id: i64,
    user: &User,
    year: i64,
    retention: &str,
) -> Result<Hit, OfficeError> {
    let retention = retention.trim();
    if !RETENTIONS.contains(&retention) {
        return Err(OfficeError::invalid(
            "retention",
            format!(
                "保管期限 \"{}\" 无效，可选: {}",
                super::short(retention),
                RETENTIONS.join("、")
            ),
        ));
    }
    let this_year = i64::from(super::today().year());
    if !(1949..=this_year).contains(&year) {
        return Err(OfficeError::invalid(
            "year",
            format!("归档年度 {year} 无效，应在 1949 到 {this_year} 之间"),
        ));
    }
    documents::ensure_mutable(tx.conn(), doc_id)?;
    documents::ensure_visible(tx.conn(), doc_id, user)?;
    let (status, author, number, title, body, source_unit): (
        String,
        i64,
        String,
        String,
        String,
        Option<String>,
    ) = tx.conn().query_row(
        "SELECT status, created_by, number, title, body, source_unit FROM documents WHERE id = ?1",
        [doc_id],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        },
    )?;
    if author != user.id && !user.has_any(&[Role::Admin, Role::Clerk]) {
        return Err(OfficeError::Forbidden(
            "只有拟稿/登记人、窗口（档案）人员或系统管理员可以归档".into(),
        ));
    }
    if status != "done" {
        return Err(OfficeError::OutOfOrder(format!(
            "公文 {number} 还在流转中，办结后才能归档"
        )));
    }
    let now = tx.now().to_string();
    tx.exec(
        "UPDATE documents SET status = 'archived', archive_year = ?2, retention = ?3, archived_at = ?4, updated_at = ?4 WHERE id = ?1",
        params![doc_id, year, retention, now],
    )?;
    index(tx, doc_id, &number, &title, &body, source_unit.as_deref())?;
    tx.change(
        "document_archive",
        doc_id,
        Op::Update,
        &serde_json::json!({"archive_year": year, "retention": retention, "archived_at": now}),
    )?;
    Ok(Hit {
        id: doc_id,
        number,
        title,
        archive_year: year,
        retention: retention.to_string(),
    })
}

/// Adds one archived document to the full-text index (rowid = document id).
pub fn index(
    tx: &mut WriteTx,
    doc_id: i64,
    number: &str,
    title: &str,
    body: &str,
    source_unit: Option<&str>,
) -> Result<(), OfficeError> {
    tx.exec(
        "INSERT INTO archive_fts(rowid, number, title, body, source_unit) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![doc_id, number, title, body, source_unit.unwrap_or("")],
    )?;
    Ok(())
}

/// The search terms of a query: whitespace-separated, each 1..=50 characters, at most 8.
pub fn terms(q: &str) -> Result<Vec<String>, OfficeError> {
    let terms: Vec<String> = q.split_whitespace().map(str::to_string).collect();
    if terms.is_empty() {
        return Err(OfficeError::invalid("q", "请输入要检索的词"));
    }
    if terms.len() > 8 || terms.iter().any(|t| t.chars().count() > 50) {
        return Err(OfficeError::invalid(
            "q",
            "检索词最多 8 个，每个不超过 50 个字",
        ));
    }
    if terms.iter().any(|t| t.chars().any(char::is_control)) {
        return Err(OfficeError::invalid("q", "检索词含有控制字符"));
    }
    Ok(terms)
}

/// Archived documents containing every term, best match first (bm25) when the index can
/// answer, newest first when it falls back to scanning.
pub fn search(conn: &Connection, q: &str, limit: usize) -> Result<Vec<Hit>, OfficeError> {
    let terms = terms(q)?;
    let limit = limit.clamp(1, MAX_HITS) as i64;
    let map = |r: &rusqlite::Row| {
        Ok(Hit {
            id: r.get(0)?,
            number: r.get(1)?,
            title: r.get(2)?,
            archive_year: r.get(3)?,
            retention: r.get(4)?,
        })
    };
    if terms.iter().all(|t| t.chars().count() >= 3) {
        // Each term as an FTS5 string (double quotes doubled), so no query syntax gets through.
        let fts_query = terms
            .iter()
            .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" AND ");
        return Ok(conn
            .prepare_cached(
                "SELECT d.id, d.number, d.title, d.archive_year, d.retention
                 FROM archive_fts f JOIN documents d ON d.id = f.rowid
                 WHERE archive_fts MATCH ?1 ORDER BY f.rank LIMIT ?2",
            )?
            .query_map(params![fts_query, limit], map)?
            .collect::<Result<_, _>>()?);
    }
    let mut sql = String::from(
        "SELECT d.id, d.number, d.title, d.archive_year, d.retention
         FROM archive_fts f JOIN documents d ON d.id = f.rowid WHERE 1",
    );
    for i in 0..terms.len() {
        sql.push_str(&format!(
            " AND instr(f.number || ' ' || f.title || ' ' || f.body || ' ' || f.source_unit, ?{}) > 0",
            i + 2
        ));
    }
    sql.push_str(" ORDER BY d.id DESC LIMIT ?1");
    let mut values: Vec<rusqlite::types::Value> = vec![limit.into()];
    values.extend(terms.into_iter().map(rusqlite::types::Value::from));
    Ok(conn
        .prepare(&sql)?
        .query_map(rusqlite::params_from_iter(values), map)?
        .collect::<Result<_, _>>()?)
}
