//! The online snapshot: one read transaction on the site database, held while the archive is
//! written, whose pages are read through SQLite (`sqlite_dbpage`) straight into the archive.
//! With WAL the site keeps writing meanwhile and the pages are those of the moment the
//! transaction began. Nothing is copied to a scratch file first: that copy was a whole extra
//! write and read of the database.
//!
//! `sqlite_dbpage` is compiled into the bundled SQLite through `LIBSQLITE3_FLAGS` in
//! `.cargo/config.toml`.

use std::io;
use std::path::Path;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::BackupError;
use crate::store;

/// Pages handed over at a time: large enough that the hand-over's cost vanishes, small enough
/// to stay in the CPU's cache on its way to the hasher and the compressor.
const BATCH: u64 = 64;

pub struct Snapshot {
    conn: Connection,
    db: std::path::PathBuf,
    page_size: u64,
    pages: u64,
    pub seq: i64,
    pub schema: u32,
}

impl Snapshot {
    /// Opens `db` read-only and begins the read transaction the snapshot is.
    pub fn begin(db: &Path) -> Result<Snapshot, BackupError> {
        let conn = open(db)?;
        conn.execute_batch("BEGIN")?;
        // The first read starts the transaction; everything after sees the same database.
        let (page_size, pages, schema): (u64, u64, u32) = conn.query_row(
            "SELECT (SELECT page_size FROM pragma_page_size),
                    (SELECT page_count FROM pragma_page_count),
                    (SELECT user_version FROM pragma_user_version)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let seq = store::high_water(&conn)?;
        conn.query_row("SELECT count(*) FROM sqlite_dbpage WHERE pgno = 1", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| {
            BackupError::Refused(format!(
                "本程序编译时没有启用 SQLite 的 sqlite_dbpage，无法做在线快照 ({e})：请用源码中的 .cargo/config.toml 重新编译"
            ))
        })?;
        Ok(Snapshot {
            conn,
            db: db.to_path_buf(),
            page_size,
            pages,
            seq,
            schema,
        })
    }

    /// The snapshot's size in bytes, as it will be in the archive.
    pub fn len(&self) -> u64 {
        self.page_size * self.pages
    }

    /// Sends the snapshot's bytes in order, [`BATCH`] pages a piece, until done, an error (sent
    /// as the last piece) or the receiver hangs up. Page 1 is marked as a rollback-journal
    /// database (header bytes 18 and 19), as SQLite's own backup writes it, so the archived file
    /// opens anywhere, even read-only, without a WAL beside it.
    ///
    /// One scan of `sqlite_dbpage` (it answers ranges of pages only by scanning from the
    /// start), run on a thread of its own so the pages are read while the previous ones are
    /// hashed and compressed.
    pub fn send_pages(&self, to: &SyncSender<io::Result<Vec<u8>>>) {
        if let Err(e) = self.pages_into(to) {
            let _ = to.send(Err(e));
        }
    }

    fn pages_into(&self, to: &SyncSender<io::Result<Vec<u8>>>) -> io::Result<()> {
        let piece = (BATCH * self.page_size) as usize;
        let mut stmt = self
            .conn
            .prepare("SELECT pgno, data FROM sqlite_dbpage")
            .map_err(io::Error::other)?;
        let mut rows = stmt.query([]).map_err(io::Error::other)?;
        let mut buf = Vec::with_capacity(piece);
        let mut expect = 1u64;
        while let Some(row) = rows.next().map_err(io::Error::other)? {
            let pgno: u64 = row.get(0).map_err(io::Error::other)?;
            let data = row
                .get_ref(1)
                .map_err(io::Error::other)?
                .as_blob()
                .map_err(io::Error::other)?;
            if pgno != expect || data.len() as u64 != self.page_size || pgno > self.pages {
                return Err(io::Error::other(format!(
                    "page {pgno} of the snapshot is not what page {expect} should be"
                )));
            }
            buf.extend_from_slice(data);
            if pgno == 1 && buf.len() >= 20 {
                buf[18] = 1;
                buf[19] = 1;
            }
            expect += 1;
            if buf.len() >= piece {
                let full = std::mem::replace(&mut buf, Vec::with_capacity(piece));
                if to.send(Ok(full)).is_err() {
                    return Ok(());
                }
            }
        }
        if expect != self.pages + 1 {
            return Err(io::Error::other(format!(
                "the snapshot ends at page {} of {}",
                expect - 1,
                self.pages
            )));
        }
        if !buf.is_empty() {
            let _ = to.send(Ok(buf));
        }
        Ok(())
    }

    /// SQLite's integrity check of the snapshot, inside its own read transaction: exactly the
    /// pages the archive holds. (A second connection cannot be put on the same snapshot in
    /// general: SQLite hands out snapshots only once the WAL has been written since the last
    /// checkpoint, and a quiet site's WAL is empty.)
    pub fn integrity_check(&self) -> Result<(), BackupError> {
        super::archive::check_integrity(&self.conn, &self.db)
    }
}

fn open(db: &Path) -> Result<Connection, BackupError> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    // The snapshot is read twice (archive, integrity check); mapped, neither pass copies every
    // page through a read() call. A read error then ends the process instead of failing the
    // call, which for a backup leaves only a `.partial` file the next run removes.
    conn.execute_batch("PRAGMA mmap_size = 2147418112;")?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_stays_as_it_began_while_the_site_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("govbox.db");
        store::open(&db, "snap-site").unwrap().close();
        let w = Connection::open(&db).unwrap();
        w.execute_batch(
            "PRAGMA journal_mode = WAL;
             INSERT INTO changes(origin_site, entity, key, op, payload, at)
             VALUES ('snap-site', 't', 'a', 'insert', '{}', '2026-12-01T00:00:00.000Z');",
        )
        .unwrap();
        let mut snap = Snapshot::begin(&db).unwrap();
        let seq = snap.seq;
        // Writes after the snapshot began, enough to move pages and grow the file.
        let payload = "x".repeat(3000);
        for i in 0..200 {
            w.execute(
                "INSERT INTO changes(origin_site, entity, key, op, payload, at)
                 VALUES ('snap-site', 't', ?1, 'insert', ?2, '2026-12-01T00:00:00.000Z')",
                rusqlite::params![i.to_string(), payload],
            )
            .unwrap();
        }
        w.execute_batch("PRAGMA wal_checkpoint(PASSIVE);").unwrap();
        snap.integrity_check().unwrap();
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        let bytes: Vec<u8> = std::thread::scope(|s| {
            let snap = &mut snap;
            s.spawn(move || snap.send_pages(&tx));
            rx.into_iter().flat_map(|p| p.unwrap()).collect()
        });
        assert_eq!(bytes.len() as u64, snap.len());
        assert_eq!((bytes[18], bytes[19]), (1, 1), "a rollback-journal file");
        let copy = dir.path().join("copy.db");
        std::fs::write(&copy, &bytes).unwrap();
        let c = Connection::open_with_flags(&copy, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let got: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(got, "ok");
        assert_eq!(
            store::high_water(&c).unwrap(),
            seq,
            "none of the later writes"
        );
    }
}
