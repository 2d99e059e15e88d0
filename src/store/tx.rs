//! The write transaction and its change-log rows.

use std::fmt::Display;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, Params, Transaction, TransactionBehavior};
use serde::Serialize;

use super::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Insert,
    Update,
    Delete,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }
}

/// One write transaction. Business rows are written with [`WriteTx::exec`] or
/// [`WriteTx::insert`] and described with [`WriteTx::change`]; a transaction that wrote business
/// rows but recorded no change is refused at commit, because replication and backup would
/// silently miss it. Site-local bookkeeping that is never replicated (sessions, the audit
/// chain) goes through [`WriteTx::local`].
pub struct WriteTx<'c> {
    tx: Transaction<'c>,
    origin: &'c str,
    now: String,
    business_writes: usize,
    changes: usize,
    first_write: Option<String>,
}

/// What caches of the database compare against: each moves on after a commit.
#[derive(Default)]
pub(super) struct Counters {
    /// Commits that recorded changes.
    pub changes: AtomicU64,
    /// Every commit.
    pub commits: AtomicU64,
}

/// Runs `f` in one immediate transaction; after the commit moves the counters on, so whoever
/// reads a counter first and then the database never pairs the new number with the old data.
pub(super) fn run<T, E, F>(conn: &mut Connection, counters: &Counters, f: F) -> Result<T, E>
where
    F: FnOnce(&mut WriteTx) -> Result<T, E>,
    E: From<StoreError>,
{
    let origin: String = conn
        .query_row("SELECT value FROM meta WHERE key = 'site_id'", [], |r| {
            r.get(0)
        })
        .map_err(StoreError::from)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::from)?;
    let mut wtx = WriteTx {
        tx,
        origin: &origin,
        now: crate::clock::now_utc(),
        business_writes: 0,
        changes: 0,
        first_write: None,
    };
    let value = f(&mut wtx)?;
    if wtx.business_writes > 0 && wtx.changes == 0 {
        let what = wtx.first_write.take().unwrap_or_default();
        return Err(StoreError::MissingChange(what).into());
    }
    let changed = wtx.changes > 0;
    wtx.tx.commit().map_err(StoreError::from)?;
    if changed {
        counters.changes.fetch_add(1, Ordering::Release);
    }
    counters.commits.fetch_add(1, Ordering::Release);
    Ok(value)
}

impl WriteTx<'_> {
    /// For reads inside the transaction. Writing through it bypasses the change log: don't.
    pub fn conn(&self) -> &Connection {
        &self.tx
    }

    /// The transaction's timestamp (UTC, stored form): every row of one write shares it.
    pub fn now(&self) -> &str {
        &self.now
    }

    /// This site's id, the `origin_site` of every change it records.
    pub fn site_id(&self) -> &str {
        self.origin
    }

    /// A business write; returns the number of rows changed.
    pub fn exec<P: Params>(&mut self, sql: &str, params: P) -> Result<usize, StoreError> {
        self.note_write(sql);
        Ok(self.tx.execute(sql, params)?)
    }

    /// A business insert; returns the new rowid.
    pub fn insert<P: Params>(&mut self, sql: &str, params: P) -> Result<i64, StoreError> {
        self.note_write(sql);
        self.tx.execute(sql, params)?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Appends the change-log row describing this transaction's business write; returns its seq.
    pub fn change(
        &mut self,
        entity: &str,
        key: impl Display,
        op: Op,
        payload: &impl Serialize,
    ) -> Result<i64, StoreError> {
        self.change_with_blobs(entity, key, op, payload, &[])
    }

    /// [`WriteTx::change`] for a row that refers to blobs (by hash, already stored): replication
    /// sends them upstream before the change.
    pub fn change_with_blobs(
        &mut self,
        entity: &str,
        key: impl Display,
        op: Op,
        payload: &impl Serialize,
        blobs: &[&str],
    ) -> Result<i64, StoreError> {
        if let Some(bad) = blobs.iter().find(|h| !super::valid_hash(h)) {
            return Err(StoreError::MissingChange(format!(
                "{entity}: blob reference {bad:?} is not a SHA-256"
            )));
        }
        let payload = serde_json::to_string(payload)
            .map_err(|e| StoreError::MissingChange(format!("payload of {entity}: {e}")))?;
        self.tx.execute(
            "INSERT INTO changes(origin_site, entity, key, op, payload, at, blobs)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                self.origin,
                entity,
                key.to_string(),
                op.as_str(),
                payload,
                self.now,
                blobs.join(" ")
            ],
        )?;
        self.changes += 1;
        Ok(self.tx.last_insert_rowid())
    }

    /// A write to site-local bookkeeping that is not replicated.
    pub fn local<P: Params>(&mut self, sql: &str, params: P) -> Result<usize, StoreError> {
        Ok(self.tx.prepare_cached(sql)?.execute(params)?)
    }

    fn note_write(&mut self, sql: &str) {
        self.business_writes += 1;
        if self.first_write.is_none() {
            self.first_write = Some(sql.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
}
