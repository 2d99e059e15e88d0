//! Login sessions: a random token in an HttpOnly cookie, its SHA-256 in the database.

use std::time::Duration;

use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::{users, AuthError, User};
use crate::store::{StoreError, WriteTx};

/// Signed out after this long without a request.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// Signed out after this long whatever happens, so a forgotten office PC does not stay signed in.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 3600);
/// `last_seen` is refreshed at most this often, so reading a page is not a write.
pub const TOUCH_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub user: User,
    pub csrf: String,
    pub last_seen: String,
}

impl Session {
    pub fn needs_touch(&self) -> bool {
        age(&self.last_seen).is_none_or(|a| a > TOUCH_EVERY)
    }
}

/// A new session for `user_id`; returns (cookie token, CSRF token).
pub fn create(
    tx: &mut WriteTx,
    user_id: i64,
    client: &str,
) -> Result<(String, String), StoreError> {
    let token = random_token();
    let csrf = random_token();
    let now = tx.now().to_string();
    let idle_cutoff = cutoff(IDLE);
    let absolute_cutoff = cutoff(ABSOLUTE);
    tx.local(
        "DELETE FROM sessions WHERE last_seen < ?1 OR created_at < ?2",
        params![idle_cutoff, absolute_cutoff],
    )?;
    tx.local(
        "INSERT INTO sessions(token_hash, user_id, csrf, created_at, last_seen, client)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
        params![hash_token(&token), user_id, csrf, now, client],
    )?;
    Ok((token, csrf))
}

/// The live session for a cookie token: None when unknown, expired or the user is disabled.
pub fn lookup(conn: &Connection, token: &str) -> Result<Option<Session>, AuthError> {
    let Some(token_hash) = token_hash(token) else {
        return Ok(None);
    };
    let row: Option<(i64, String, String, String)> = conn
        .prepare_cached(
            "SELECT user_id, csrf, created_at, last_seen FROM sessions WHERE token_hash = ?1",
        )?
        .query_row([&token_hash], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((user_id, csrf, created_at, last_seen)) = row else {
        return Ok(None);
    };
    let expired =
        age(&last_seen).is_none_or(|a| a > IDLE) || age(&created_at).is_none_or(|a| a > ABSOLUTE);
    if expired {
        return Ok(None);
    }
    let user = users::user(conn, user_id)?;
    if user.disabled {
        return Ok(None);
    }
    Ok(Some(Session {
        token_hash,
        user,
        csrf,
        last_seen,
    }))
}

pub fn touch(tx: &mut WriteTx, token_hash: &str) -> Result<(), StoreError> {
    let now = tx.now().to_string();
    tx.local(
        "UPDATE sessions SET last_seen = ?1 WHERE token_hash = ?2",
        params![now, token_hash],
    )?;
    Ok(())
}

pub fn end(tx: &mut WriteTx, token_hash: &str) -> Result<(), StoreError> {
    tx.local("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
    Ok(())
}

/// Compares in constant time, so the CSRF check leaks nothing through timing.
pub fn csrf_matches(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database keys a cookie token's session by; None for what cannot be a token.
pub fn token_hash(token: &str) -> Option<String> {
    (token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hash_token(token))
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn age(stored: &str) -> Option<Duration> {
    let then = crate::clock::parse_utc(stored)?;
    let secs = jiff::Timestamp::now().duration_since(then).as_secs_f64();
    Some(Duration::from_secs_f64(secs.max(0.0)))
}

fn cutoff(d: Duration) -> String {
    let now = jiff::Timestamp::now();
    let then = now
        .checked_sub(jiff::SignedDuration::try_from(d).unwrap_or_default())
        .unwrap_or(now);
    crate::clock::format_utc(then)
}
