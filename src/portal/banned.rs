//! The banned-words list (敏感词库): kept by the chief and general editors; a draft that
//! contains any of them cannot be submitted or published, and the refusal names the words.

use rusqlite::{params, Connection};

use super::{line, PortalError};
use crate::auth::{Role, User};
use crate::store::{Op, WriteTx};

pub const KEEPERS: &[Role] = &[Role::ChiefEditor, Role::GeneralEditor];

fn require_keeper(user: &User) -> Result<(), PortalError> {
    if user.has_any(KEEPERS) {
        Ok(())
    } else {
        Err(PortalError::Forbidden(
            "只有网站主编或总编可以维护禁用词".into(),
        ))
    }
}

/// Adds words (one per line or separated by commas); answers how many were new.
pub fn add(tx: &mut WriteTx, user: &User, text: &str) -> Result<usize, PortalError> {
    require_keeper(user)?;
    let words: Vec<&str> = text
        .split(['\n', ',', '，', '、'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() || words.len() > 500 {
        return Err(PortalError::invalid("words", "请填写 1 到 500 个禁用词"));
    }
    let now = tx.now().to_string();
    let mut added = 0;
    for w in words {
        let w = line("words", w, 30, true)?;
        added += tx.exec(
            "INSERT OR IGNORE INTO portal_banned_words(word, added_by, added_at) VALUES (?1, ?2, ?3)",
            params![w, user.id, now],
        )?;
        tx.change(
            "portal_banned_word",
            &w,
            Op::Insert,
            &serde_json::json!({"word": w}),
        )?;
    }
    Ok(added)
}

pub fn remove(tx: &mut WriteTx, user: &User, word: &str) -> Result<(), PortalError> {
    require_keeper(user)?;
    let n = tx.exec(
        "DELETE FROM portal_banned_words WHERE word = ?1",
        [word.trim()],
    )?;
    if n == 0 {
        return Err(PortalError::NotFound(format!(
            "禁用词 {}",
            super::short(word)
        )));
    }
    tx.change(
        "portal_banned_word",
        word.trim(),
        Op::Delete,
        &serde_json::json!({}),
    )?;
    Ok(())
}

pub fn list(conn: &Connection) -> Result<Vec<String>, PortalError> {
    Ok(conn
        .prepare_cached("SELECT word FROM portal_banned_words ORDER BY word")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// The banned words found in any of `texts`, ignoring case and the spaces people put between
/// characters to slip a word past a filter.
pub fn find(conn: &Connection, texts: &[&str]) -> Result<Vec<String>, PortalError> {
    let hay: String = texts
        .iter()
        .flat_map(|t| t.chars())
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    Ok(list(conn)?
        .into_iter()
        .filter(|w| {
            let needle: String = w
                .chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_lowercase)
                .collect();
            !needle.is_empty() && hay.contains(&needle)
        })
        .collect())
}

/// Refuses `texts` when they contain banned words, naming them.
pub fn check(conn: &Connection, texts: &[&str]) -> Result<(), PortalError> {
    let found = find(conn, texts)?;
    if found.is_empty() {
        Ok(())
    } else {
        Err(PortalError::Banned(found))
    }
}
