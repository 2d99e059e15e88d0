//! Numbered migrations embedded in the binary; the schema version is SQLite's `user_version`.

use rusqlite::Connection;

use super::StoreError;

/// Each entry is (version, SQL). Versions are consecutive from 1; a migration is never edited
/// once released, only followed by a new one.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("migrations/0001_foundation.sql")),
    (2, include_str!("migrations/0002_replication.sql")),
    (3, include_str!("migrations/0003_calendar_sms.sql")),
    (4, include_str!("migrations/0004_office.sql")),
    (5, include_str!("migrations/0005_approval.sql")),
    (6, include_str!("migrations/0006_portal.sql")),
    (7, include_str!("migrations/0007_supervision.sql")),
];

/// The schema version this binary writes.
pub fn latest() -> u32 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

pub fn current(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Brings the database to [`latest`], each migration in its own transaction so a crash leaves
/// the database at a whole version. Refuses a database written by a newer binary: running old
/// code on a newer schema is how data gets silently mangled after a botched downgrade.
pub fn apply(conn: &mut Connection) -> Result<u32, StoreError> {
    let found = current(conn)?;
    if found > latest() {
        return Err(StoreError::TooNew {
            found,
            known: latest(),
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Migration(*version, e))?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        log::info!("database migrated to schema version {version}");
    }
    Ok(latest())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive() {
        for (i, (v, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*v as usize, i + 1);
        }
    }

    #[test]
    fn applies_once_and_refuses_newer() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(apply(&mut conn).unwrap(), latest());
        assert_eq!(apply(&mut conn).unwrap(), latest());
        conn.pragma_update(None, "user_version", latest() + 1)
            .unwrap();
        assert!(matches!(apply(&mut conn), Err(StoreError::TooNew { .. })));
    }
}
