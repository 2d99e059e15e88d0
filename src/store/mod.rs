//! SQLite: open (WAL, foreign keys, busy timeout), migrations, the write path, the change log.
//!
//! All writes go through one writer thread, one transaction each, via [`Store::write`]; the
//! closure gets a [`WriteTx`] that appends the change-log row in the same transaction. Reads go
//! to a few reader threads, each owning one `query_only` connection. SQLite never runs on the
//! async runtime, readers never wait for the writer (WAL), and the thread count stays fixed
//! under load instead of growing a blocking pool that fights over connections.

mod blobs;
mod lock;
pub(crate) mod migrate;
mod tx;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

pub use blobs::{valid_hash, Blobs};
pub use lock::DataDirLock;
pub use tx::{Op, WriteTx};

/// How long a statement waits for another process's write lock before it fails. Bounded so a
/// stuck CLI command cannot hang the office forever.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const READERS: usize = 4;

/// The schema version this binary writes.
pub fn schema_version() -> u32 {
    migrate::latest()
}

/// Opens (creating if needed) and migrates the site database.
pub fn open(db_path: &Path, site_id: &str) -> Result<Store, StoreError> {
    let mut conn = open_conn(db_path, false)?;
    migrate::apply(&mut conn)?;
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('site_id', ?1) ON CONFLICT(key) DO NOTHING",
        [site_id],
    )?;
    let stored: String =
        conn.query_row("SELECT value FROM meta WHERE key = 'site_id'", [], |r| {
            r.get(0)
        })?;
    if stored != site_id {
        return Err(StoreError::WrongSite {
            found: stored,
            configured: site_id.to_string(),
        });
    }
    // Every reader waits on the one channel itself: a job wakes exactly one of them.
    let (read_sender, read_receiver) = crossbeam_channel::unbounded::<ReadJob>();
    let mut readers = Vec::with_capacity(READERS);
    for i in 0..READERS {
        let conn = open_conn(db_path, true)?;
        let jobs = read_receiver.clone();
        let handle = std::thread::Builder::new()
            .name(format!("govbox-reader-{i}"))
            .spawn(move || reader_loop(conn, jobs))
            .map_err(|e| StoreError::Io("reader thread".into(), e))?;
        readers.push(handle);
    }
    let (sender, receiver) = mpsc::channel::<Job>();
    let site = site_id.to_string();
    let writer = std::thread::Builder::new()
        .name("govbox-writer".into())
        .spawn(move || writer_loop(conn, receiver, site))
        .map_err(|e| StoreError::Io("writer thread".into(), e))?;
    Ok(Store {
        inner: Arc::new(Inner {
            path: db_path.to_path_buf(),
            site_id: site_id.to_string(),
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            read_sender: Mutex::new(Some(read_sender)),
            readers: Mutex::new(readers),
            counters: Arc::new(tx::Counters::default()),
        }),
    })
}

/// Opens an existing database read-only without migrating it (inspection, verification).
pub fn open_read_only(db_path: &Path) -> Result<Connection, StoreError> {
    if !db_path.exists() {
        return Err(StoreError::Missing(db_path.display().to_string()));
    }
    let conn = Connection::open_with_flags(
        db_path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let found = migrate::current(&conn)?;
    if found > migrate::latest() {
        return Err(StoreError::TooNew {
            found,
            known: migrate::latest(),
        });
    }
    Ok(conn)
}

/// The highest change-log seq: what a backup records and what replication ships up to.
pub fn high_water(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM changes")?
        .query_row([], |r| r.get(0))?)
}

/// Makes the change log continue above `floor`, so no seq is handed out twice: after a restore
/// from an older backup, or when the upstream already holds seqs this database never had.
pub fn raise_seq_floor(conn: &Connection, floor: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('seq_floor', ?1)
         ON CONFLICT(key) DO UPDATE SET value = CAST(max(CAST(value AS INTEGER), ?1) AS TEXT)",
        [floor],
    )?;
    conn.execute(
        "UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = 'changes'",
        [floor],
    )?;
    conn.execute(
        "INSERT INTO sqlite_sequence(name, seq) SELECT 'changes', ?1
         WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'changes')",
        [floor],
    )?;
    Ok(())
}

/// Marks a database just restored from a backup whose change log ends at `restored`: until the
/// upstream has been asked what it holds, changes written from now on may take seqs the
/// upstream already has from before the restore (the disk that held them died).
pub fn mark_restored(conn: &Connection, restored: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('restored_at_seq', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [restored],
    )?;
    Ok(())
}

/// Called with the highest seq of this site the upstream holds, at the first contact after a
/// restore. Changes written since the restore that collide with seqs the upstream already holds
/// move up above them, in order, so they are shipped instead of being taken for replays.
/// Returns how many moved.
pub fn settle_restore(conn: &Connection, upstream_holds: i64) -> Result<usize, StoreError> {
    let restored: Option<i64> = conn
        .query_row(
            "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'restored_at_seq'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let Some(restored) = restored else {
        return Ok(0);
    };
    let mut moved = 0;
    if upstream_holds > restored {
        let offset = upstream_holds - restored;
        // Through negative seqs: a direct shift would collide with itself half-way.
        moved = conn.execute(
            "UPDATE changes SET seq = -(seq + ?2) WHERE seq > ?1",
            [restored, offset],
        )?;
        conn.execute("UPDATE changes SET seq = -seq WHERE seq < 0", [])?;
        let top: i64 = conn.query_row("SELECT coalesce(max(seq), 0) FROM changes", [], |r| {
            r.get(0)
        })?;
        raise_seq_floor(conn, upstream_holds)?;
        conn.execute(
            "UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = 'changes'",
            [top],
        )?;
    }
    conn.execute("DELETE FROM meta WHERE key = 'restored_at_seq'", [])?;
    Ok(moved)
}

/// The seq below which this site's change log may have holes it cannot fill (see
/// [`raise_seq_floor`]).
pub fn seq_floor(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT coalesce(max(CAST(value AS INTEGER)), 0) FROM meta WHERE key = 'seq_floor'",
        [],
        |r| r.get(0),
    )?)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("数据库错误: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("数据库迁移 {0} 失败: {1}")]
    Migration(u32, rusqlite::Error),
    #[error("数据库的结构版本 {found} 比本程序认识的 {known} 新：请使用更新版本的 govbox，不要用旧版本打开新数据")]
    TooNew { found: u32, known: u32 },
    #[error("数据库属于站点 \"{found}\"，而配置文件写的是 \"{configured}\"：检查 site.toml 的 site.id 和 storage.data_dir")]
    WrongSite { found: String, configured: String },
    #[error("数据目录 {dir} 正被另一个 govbox 进程使用 (进程号 {holder})：同一站点只能运行一个服务，请先停止另一个 (systemctl stop govbox)")]
    Locked { dir: String, holder: String },
    #[error("找不到数据库 {0}：先运行 govbox provision 或 govbox serve 创建站点")]
    Missing(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("内部错误：写入了业务数据却没有记录变更 ({0})")]
    MissingChange(String),
    #[error("存储已关闭")]
    Closed,
}

type Job = Box<dyn FnOnce(&mut Connection) + Send>;
type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    site_id: String,
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    read_sender: Mutex<Option<crossbeam_channel::Sender<ReadJob>>>,
    readers: Mutex<Vec<JoinHandle<()>>>,
    counters: Arc<tx::Counters>,
}

impl Store {
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn site_id(&self) -> &str {
        &self.inner.site_id
    }

    /// Moves on with every committed transaction that recorded changes: a cache of what was
    /// read from the database is current while this is the number it was read under.
    pub fn generation(&self) -> u64 {
        self.inner.counters.changes.load(Ordering::Acquire)
    }

    /// Moves on with every committed write transaction, site-local bookkeeping (sessions, the
    /// audit chain) included: for caches of what such writes change.
    pub fn commits(&self) -> u64 {
        self.inner.counters.commits.load(Ordering::Acquire)
    }

    /// Runs `f` in one immediate transaction on the writer thread and commits when it returns
    /// Ok; an Err rolls everything back, change rows included.
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut WriteTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, result) = mpsc::sync_channel(1);
        let counters = self.inner.counters.clone();
        self.submit(Box::new(move |conn| {
            let _ = reply.send(tx::run(conn, &counters, f));
        }))?;
        result.recv().map_err(|_| E::from(StoreError::Closed))?
    }

    /// [`Store::write_blocking`] for async callers: waits without holding a runtime thread.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut WriteTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, result) = tokio::sync::oneshot::channel();
        let counters = self.inner.counters.clone();
        self.submit(Box::new(move |conn| {
            let _ = reply.send(tx::run(conn, &counters, f));
        }))?;
        result.await.map_err(|_| E::from(StoreError::Closed))?
    }

    /// Runs `f` on a reader thread's connection (`query_only`, so a read path cannot write).
    pub fn read_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, result) = mpsc::sync_channel(1);
        self.submit_read(Box::new(move |conn| {
            let _ = reply.send(f(conn));
        }))?;
        result.recv().map_err(|_| E::from(StoreError::Closed))?
    }

    /// [`Store::read_blocking`] for async callers.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, result) = tokio::sync::oneshot::channel();
        self.submit_read(Box::new(move |conn| {
            let _ = reply.send(f(conn));
        }))?;
        result.await.map_err(|_| E::from(StoreError::Closed))?
    }

    /// Finishes queued writes, checkpoints the WAL and stops the writer. Later writes fail
    /// with [`StoreError::Closed`].
    pub fn close(&self) {
        drop(
            self.inner
                .read_sender
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
        for handle in self
            .inner
            .readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            let _ = handle.join();
        }
        drop(
            self.inner
                .sender
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
        if let Some(handle) = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = handle.join();
        }
    }

    fn submit(&self, job: Job) -> Result<(), StoreError> {
        let guard = self.inner.sender.lock().unwrap_or_else(|p| p.into_inner());
        let sender = guard.as_ref().ok_or(StoreError::Closed)?;
        sender.send(job).map_err(|_| StoreError::Closed)
    }
}

impl Store {
    fn submit_read(&self, job: ReadJob) -> Result<(), StoreError> {
        let guard = self
            .inner
            .read_sender
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let sender = guard.as_ref().ok_or(StoreError::Closed)?;
        sender.send(job).map_err(|_| StoreError::Closed)
    }
}

fn reader_loop(conn: Connection, jobs: crossbeam_channel::Receiver<ReadJob>) {
    while let Ok(job) = jobs.recv() {
        // One read transaction a job, not one a statement: the job's queries see one snapshot,
        // and the file lock and WAL read mark are taken and released once.
        if let Err(e) = conn.prepare_cached("BEGIN").and_then(|mut s| s.execute([])) {
            log::error!("starting a read transaction failed: {e}");
        }
        run_guarded(|| job(&conn));
        // Rollback rather than commit: it cannot be refused, and a reader has nothing to keep.
        if !conn.is_autocommit() {
            if let Err(e) = conn
                .prepare_cached("ROLLBACK")
                .and_then(|mut s| s.execute([]))
            {
                log::error!("ending a read transaction failed: {e}");
            }
        }
    }
}

/// A panicking job (a bug) must not take the thread, and with it every later read or write of
/// the site, down: the unwind rolls its transaction back and drops its reply channel, so its
/// caller gets [`StoreError::Closed`], and the thread takes the next job.
fn run_guarded(job: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
        log::error!("a database job panicked; its transaction was rolled back");
    }
}

fn writer_loop(mut conn: Connection, jobs: mpsc::Receiver<Job>, site: String) {
    while let Ok(job) = jobs.recv() {
        run_guarded(|| job(&mut conn));
    }
    if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
        log::warn!("site {site}: WAL checkpoint at close failed: {e}");
    }
}

/// Prepared statements each connection keeps.
const STATEMENT_CACHE: usize = 128;

fn open_conn(db_path: &Path, reader: bool) -> Result<Connection, StoreError> {
    if let Some(dir) = db_path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io(dir.display().to_string(), e))?;
    }
    let conn = Connection::open_with_flags(
        db_path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // rusqlite keeps 16 by default; one 工作台 request alone uses about a dozen cached
    // statements across the parts, so with the session lookup and other pages they would evict
    // each other and every request would parse and plan its SQL again.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;",
    )?;
    if reader {
        conn.execute_batch("PRAGMA query_only = ON;")?;
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir.path().join("govbox.db"), "t-site").unwrap();
        (dir, store)
    }

    #[test]
    fn a_business_write_without_its_change_row_is_rolled_back() {
        let (_dir, store) = temp_store();
        let r: Result<(), StoreError> = store.write_blocking(|tx| {
            tx.exec(
                "INSERT INTO departments(name, kind, created_at) VALUES ('x', 'unit', ?1)",
                [tx.now().to_string()],
            )?;
            Ok(())
        });
        assert!(matches!(r, Err(StoreError::MissingChange(_))));
        let n: i64 = store
            .read_blocking(|c| {
                c.query_row("SELECT count(*) FROM departments", [], |r| r.get(0))
                    .map_err(StoreError::from)
            })
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn change_rows_commit_with_their_business_row_or_not_at_all() {
        let (_dir, store) = temp_store();
        store
            .write_blocking(|tx| -> Result<(), StoreError> {
                let id = tx.insert(
                    "INSERT INTO departments(name, kind, created_at) VALUES ('x', 'unit', ?1)",
                    [tx.now().to_string()],
                )?;
                tx.change(
                    "department",
                    id,
                    Op::Insert,
                    &serde_json::json!({"name": "x"}),
                )?;
                Ok(())
            })
            .unwrap();
        let failed: Result<(), StoreError> = store.write_blocking(|tx| {
            let id = tx.insert(
                "INSERT INTO departments(name, kind, created_at) VALUES ('y', 'unit', ?1)",
                [tx.now().to_string()],
            )?;
            tx.change(
                "department",
                id,
                Op::Insert,
                &serde_json::json!({"name": "y"}),
            )?;
            Err(StoreError::Closed)
        });
        assert!(failed.is_err());
        let (deps, seq) = store
            .read_blocking(|c| -> Result<(i64, i64), StoreError> {
                let d = c.query_row("SELECT count(*) FROM departments", [], |r| r.get(0))?;
                Ok((d, high_water(c)?))
            })
            .unwrap();
        assert_eq!((deps, seq), (1, 1));
    }

    #[test]
    fn a_panicking_write_rolls_back_and_the_writer_lives_on() {
        let (_dir, store) = temp_store();
        let r: Result<(), StoreError> = store.write_blocking(|tx| {
            tx.insert(
                "INSERT INTO departments(name, kind, created_at) VALUES ('x', 'unit', ?1)",
                [tx.now().to_string()],
            )?;
            panic!("bug in a write closure");
        });
        assert!(matches!(r, Err(StoreError::Closed)));
        let r: Result<i64, StoreError> = store.write_blocking(|tx| {
            let id = tx.insert(
                "INSERT INTO departments(name, kind, created_at) VALUES ('y', 'unit', ?1)",
                [tx.now().to_string()],
            )?;
            tx.change("department", id, Op::Insert, &serde_json::json!({}))?;
            Ok(id)
        });
        assert!(r.is_ok(), "the writer still works");
        let names: Vec<String> = store
            .read_blocking(|c| -> Result<Vec<String>, StoreError> {
                let mut st = c.prepare("SELECT name FROM departments")?;
                let v = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
                Ok(v)
            })
            .unwrap();
        assert_eq!(names, vec!["y".to_string()]);
    }

    #[test]
    fn readers_cannot_write() {
        let (_dir, store) = temp_store();
        let r = store.read_blocking(|c| {
            c.execute("INSERT INTO meta(key, value) VALUES ('a', 'b')", [])
                .map_err(StoreError::from)
        });
        assert!(r.is_err());
    }

    #[test]
    fn database_of_another_site_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("govbox.db");
        open(&path, "site-a").unwrap().close();
        assert!(matches!(
            open(&path, "site-b"),
            Err(StoreError::WrongSite { .. })
        ));
    }

    #[test]
    fn second_lock_on_a_data_dir_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = DataDirLock::acquire(dir.path()).unwrap();
        let second = DataDirLock::acquire(dir.path());
        match second {
            Err(StoreError::Locked { holder, .. }) => {
                assert_eq!(holder, std::process::id().to_string())
            }
            _ => panic!("second lock must be refused"),
        }
    }
}
