//! Full-text search over published articles. SQLite FTS5 with the trigram tokenizer finds any
//! substring of 3+ characters, which suits Chinese without a word segmenter; 1–2 character
//! terms (most Chinese words are two characters) fall back to a substring scan of the same
//! index table. Only versions the public can see at `now` are answered.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::PortalError;
use crate::store::WriteTx;

pub const MAX_HITS: usize = 50;

#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub article_id: i64,
    pub title: String,
    pub published_at: String,
    pub column: String,
    pub snippet: String,
}

/// Indexes one published version (rowid = version id).
pub fn index(
    tx: &mut WriteTx,
    version_id: i64,
    title: &str,
    body: &str,
) -> Result<(), PortalError> {
    tx.exec(
        "INSERT INTO portal_fts(rowid, title, body) VALUES (?1, ?2, ?3)",
        params![version_id, title, body],
    )?;
    Ok(())
}

/// Whitespace-separated terms, each 1..=30 characters, at most 6.
pub fn terms(q: &str) -> Result<Vec<String>, PortalError> {
    let terms: Vec<String> = q.split_whitespace().map(str::to_string).collect();
    if terms.is_empty() {
        return Err(PortalError::invalid("q", "请输入要搜索的词"));
    }
    if terms.len() > 6 || terms.iter().any(|t| t.chars().count() > 30) {
        return Err(PortalError::invalid(
            "q",
            "搜索词最多 6 个，每个不超过 30 个字",
        ));
    }
    if terms.iter().any(|t| t.chars().any(char::is_control)) {
        return Err(PortalError::invalid("q", "搜索词含有控制字符"));
    }
    Ok(terms)
}

/// Published articles containing every term, best first when the index answers, newest first
/// when a short term makes it scan.
pub fn search(conn: &Connection, q: &str, now: &str) -> Result<Vec<Hit>, PortalError> {
    let terms = terms(q)?;
    let visible = super::articles::VISIBLE;
    let long: Vec<&String> = terms.iter().filter(|t| t.chars().count() >= 3).collect();
    let short: Vec<&String> = terms.iter().filter(|t| t.chars().count() < 3).collect();
    let mut sql = format!(
        "SELECT v.article_id, v.title, v.published_at, c.name, f.body
         FROM portal_fts f JOIN portal_versions v ON v.id = f.rowid
         JOIN portal_columns c ON c.id = v.column_id WHERE {visible}"
    );
    let mut values: Vec<rusqlite::types::Value> = vec![now.to_string().into()];
    if !long.is_empty() {
        // Each term as an FTS5 string (double quotes doubled): no query syntax gets through.
        let fts = long
            .iter()
            .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" AND ");
        values.push(fts.into());
        sql.push_str(&format!(" AND portal_fts MATCH ?{}", values.len()));
    }
    for t in &short {
        values.push(t.to_string().into());
        sql.push_str(&format!(
            " AND instr(f.title || ' ' || f.body, ?{}) > 0",
            values.len()
        ));
    }
    sql.push_str(if short.is_empty() {
        " ORDER BY f.rank"
    } else {
        " ORDER BY v.published_at DESC"
    });
    sql.push_str(&format!(" LIMIT {MAX_HITS}"));
    let first = terms[0].clone();
    Ok(conn
        .prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(values), |r| {
            let body: String = r.get(4)?;
            Ok(Hit {
                article_id: r.get(0)?,
                title: r.get(1)?,
                published_at: r.get(2)?,
                column: r.get(3)?,
                snippet: snippet(&body, &first),
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// About 60 characters of `body` around the first occurrence of `term`.
fn snippet(body: &str, term: &str) -> String {
    let chars: Vec<char> = body
        .chars()
        .filter(|c| !matches!(c, '#' | '*' | '>' | '|'))
        .collect();
    let text: String = chars.iter().collect();
    let at = text
        .find(term)
        .map(|byte| text[..byte].chars().count())
        .unwrap_or(0);
    let start = at.saturating_sub(20);
    let s: String = chars.iter().skip(start).take(60).collect();
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if start > 0 {
        format!("…{s}…")
    } else {
        format!("{s}…")
    }
}
