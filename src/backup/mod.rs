//! Hot backups: create (online snapshot, blobs, manifest; tar + zstd; temporary name, fsync,
//! rename), verify, restore (verify first, keep the current data aside, swap atomically, never
//! reuse a seq), list, prune by retention, second-disk copies, restore drills.
//!
//! Bookkeeping (manifest copies, verification results, drills) lives in small JSON files next
//! to the archives, not in the database: it has to survive restoring that database.

mod archive;
mod pace;
mod retention;
mod snapshot;

pub use pace::GiveWay;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use archive::Manifest;
pub use retention::{keep as retention_keep, Policy};

use crate::site::SiteConfig;
use crate::store::{self, DataDirLock, StoreError};

const PREFIX: &str = "govbox-";
const SUFFIX: &str = ".tar.zst";
/// The lock verify and drill hold while they use a scratch directory in a backup directory.
const SCRATCH_LOCK: &str = ".govbox-scratch.lock";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("站点配置没有设置 storage.backup_dir，也没有给出 --to 目录。修正: 在 [storage] 中写 backup_dir = \"/srv/backup/govbox\"（第二块磁盘）")]
    NoBackupDir,
    #[error("{path}: {why}")]
    Io { path: String, why: String },
    #[error("归档 {archive} 校验失败，成员 {member}: {why}")]
    Bad {
        archive: String,
        member: String,
        why: String,
    },
    #[error("{0}")]
    Refused(String),
    #[error("{0} 在备份过程中被改动，请重试")]
    Changed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BackupError {
    pub fn exit_code(&self) -> u8 {
        match self {
            BackupError::NoBackupDir | BackupError::Refused(_) => 2,
            _ => 1,
        }
    }

    fn io(path: &Path, e: std::io::Error) -> BackupError {
        let why = if e.raw_os_error() == Some(28) {
            "磁盘空间不足：请清理该磁盘或运行 govbox backup prune，已有的备份没有改动".to_string()
        } else {
            e.to_string()
        };
        BackupError::Io {
            path: path.display().to_string(),
            why,
        }
    }

    fn bad(archive: &Path, member: &str, why: String) -> BackupError {
        BackupError::Bad {
            archive: archive.display().to_string(),
            member: member.to_string(),
            why,
        }
    }
}

impl From<rusqlite::Error> for BackupError {
    fn from(e: rusqlite::Error) -> Self {
        BackupError::Store(e.into())
    }
}

/// A backup as found on disk.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub size: u64,
    /// From the name: when it was taken.
    pub taken: jiff::Timestamp,
    pub manifest: Option<Manifest>,
    pub verified: Option<Verified>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verified {
    pub at: String,
    pub ok: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Drill {
    pub at: String,
    pub archive: String,
    pub ok: bool,
    /// Time to restore and open: the recovery time this site can expect.
    pub seconds: f64,
    pub error: Option<String>,
}

pub struct Created {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub copy: Option<PathBuf>,
}

/// Takes a backup while the site keeps serving; returns where it went. The snapshot passes
/// SQLite's integrity check, and the archive is decompressed and checked against its manifest
/// as it is written, before it gets its real name; its copy on the second disk is read back
/// and checked there.
pub fn create(site: &SiteConfig, to: Option<&Path>) -> Result<Created, BackupError> {
    let dest = to
        .map(Path::to_path_buf)
        .or_else(|| site.storage.backup_dir.clone())
        .ok_or(BackupError::NoBackupDir)?;
    std::fs::create_dir_all(&dest).map_err(|e| BackupError::io(&dest, e))?;
    let _lock = backup_lock(&dest)?;
    let _give_way = GiveWay::start(&site.storage.data_dir);
    clean_leftovers(&dest);
    let db = site.db_path();
    if !db.exists() {
        return Err(StoreError::Missing(db.display().to_string()).into());
    }
    let mut snapshot = snapshot::Snapshot::begin(&db)?;
    let (seq, schema) = (snapshot.seq, snapshot.schema);
    // Listed after the snapshot began: every blob a row of the snapshot names was written
    // before that row committed, so it is in the list.
    let blobs = list_blobs(&site.storage.data_dir.join("blobs"))?;
    let mut now = jiff::Timestamp::now();
    let mut name = archive_name(&site.site.id, now);
    while dest.join(&name).exists() {
        std::thread::sleep(std::time::Duration::from_millis(200));
        now = jiff::Timestamp::now();
        name = archive_name(&site.site.id, now);
    }
    let manifest = Manifest {
        format: archive::FORMAT,
        site: site.site.id.clone(),
        tier: site.site.tier.as_str().to_string(),
        schema_version: schema,
        seq,
        created_at: crate::clock::format_utc(now),
        members: Vec::new(),
    };
    let partial = dest.join(format!(".{name}.partial"));
    // The integrity check reads the snapshot once more, after the archive is written and
    // verified; the archive gets its real name only once both have passed.
    let written = archive::write(
        &partial,
        site.backup.zstd_level,
        &mut snapshot,
        &blobs,
        manifest,
    )
    .and_then(|m| snapshot.integrity_check().map(|()| m));
    drop(snapshot);
    let manifest = match written {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    let path = dest.join(&name);
    std::fs::rename(&partial, &path).map_err(|e| BackupError::io(&path, e))?;
    archive::sync_dir(&dest)?;
    write_json(&sidecar(&path, "manifest"), &manifest)?;
    record(&path, Ok(manifest.clone()))?;
    let copy = match &site.backup.copy_dir {
        Some(dir) => {
            let c = archive::copy_atomic(&path, dir)?;
            write_json(&sidecar(&c, "manifest"), &manifest)?;
            record(&c, archive::stream_verified(&c))?;
            Some(c)
        }
        None => None,
    };
    Ok(Created {
        path,
        manifest,
        copy,
    })
}

/// Makes this process background work for the rest of its life: SCHED_IDLE, so any office
/// request that wakes up takes the core at once (a nice level only shortens its wait), and the
/// I/O idle class. For the `backup create` command; threads started later inherit both.
pub fn run_in_background() {
    let param = nix::libc::sched_param { sched_priority: 0 };
    // SAFETY: plain syscalls on this process's own scheduling; lowering needs no privilege.
    unsafe {
        if nix::libc::sched_setscheduler(0, nix::libc::SCHED_IDLE, &param) != 0 {
            nix::libc::nice(10);
        }
        // IOPRIO_WHO_PROCESS, class IOPRIO_CLASS_IDLE (3) in the top bits.
        nix::libc::syscall(nix::libc::SYS_ioprio_set, 1, 0, 3 << 13);
    }
    // With autogroup scheduling (a desktop kernel's default) the scheduler first shares the CPU
    // between sessions, at equal weight, and only then applies SCHED_IDLE inside each: a
    // backup started from its own session would still get half the machine from the office.
    // The lowest weight for this process's group makes it yield there too. Absent without
    // autogroups (under systemd the unit's CPUWeight=idle does this job).
    let _ = std::fs::write("/proc/self/autogroup", "19");
}

/// Whether a scheduled backup is due: none yet, or the newest is `backup.interval_hours` old.
/// Five minutes of slack keep an hourly timer from skipping every other run.
pub fn due(site: &SiteConfig) -> Result<bool, BackupError> {
    let Some(dir) = &site.storage.backup_dir else {
        return Err(BackupError::NoBackupDir);
    };
    let newest = scan(dir)?.into_iter().map(|e| e.taken).max();
    let Some(newest) = newest else {
        return Ok(true);
    };
    let age = jiff::Timestamp::now().duration_since(newest).as_secs();
    Ok(age + 300 >= i64::from(site.backup.interval_hours) * 3600)
}

/// Figures for `/metrics` and the office: (newest backup age in seconds, last drill).
pub fn health(site: &SiteConfig) -> (Option<i64>, Option<Drill>) {
    let newest = site
        .storage
        .backup_dir
        .as_ref()
        .and_then(|d| scan(d).ok())
        .and_then(|v| v.into_iter().map(|e| e.taken).max())
        .map(|t| jiff::Timestamp::now().duration_since(t).as_secs());
    (newest, last_drill(site))
}

/// Checks every member and the snapshot; nothing is written outside a temporary directory.
pub fn verify(archive: &Path) -> Result<Manifest, BackupError> {
    let parent = archive.parent().unwrap_or(Path::new("."));
    let _in_use = scratch_lock(parent, nix::fcntl::FlockArg::LockShared);
    let scratch = tempfile::Builder::new()
        .prefix(".govbox-verify-")
        .tempdir_in(parent)
        .or_else(|_| tempfile::tempdir())
        .map_err(|e| BackupError::io(archive, e))?;
    archive::extract_verified(archive, scratch.path())
}

/// Verifies, then records the result beside the archive (for `list` and `prune`).
pub fn verify_and_record(archive: &Path) -> Result<Manifest, BackupError> {
    record(archive, verify(archive))
}

fn record(archive: &Path, result: Result<Manifest, BackupError>) -> Result<Manifest, BackupError> {
    let record = Verified {
        at: crate::clock::now_utc(),
        ok: result.is_ok(),
        error: result.as_ref().err().map(|e| e.to_string()),
    };
    write_json(&sidecar(archive, "verified"), &record)?;
    result
}

pub struct Restored {
    pub manifest: Manifest,
    pub aside: Option<PathBuf>,
    pub seq_floor: i64,
}

/// Restores `archive` as the site's data. Refuses while a server holds the data dir, another
/// site's archive unless `force_site`, and a schema newer than this binary.
pub fn restore(
    site: &SiteConfig,
    archive: &Path,
    force_site: bool,
) -> Result<Restored, BackupError> {
    let data = &site.storage.data_dir;
    let parent = data
        .parent()
        .ok_or_else(|| BackupError::Refused("数据目录不能是根目录".into()))?;
    std::fs::create_dir_all(parent).map_err(|e| BackupError::io(parent, e))?;
    let _lock = if data.exists() {
        Some(
            DataDirLock::acquire(data)
                .map_err(|e| BackupError::Refused(format!("{e}；恢复前必须停止服务"))),
        )
        .transpose()?
    } else {
        None
    };
    // Extracted on the data dir's own filesystem, so the final swap is a rename.
    let staging = tempfile::Builder::new()
        .prefix(".govbox-restore-")
        .tempdir_in(parent)
        .map_err(|e| BackupError::io(parent, e))?;
    let manifest = archive::extract_verified(archive, staging.path())?;
    if manifest.site != site.site.id && !force_site {
        return Err(BackupError::Refused(format!(
            "归档属于站点 \"{}\"，本站点是 \"{}\"：确认无误时加 --force-site",
            manifest.site, site.site.id
        )));
    }
    if manifest.schema_version > store::schema_version() {
        return Err(BackupError::Refused(format!(
            "归档的数据库结构版本 {} 比本程序认识的 {} 新：请用更新版本的 govbox 恢复",
            manifest.schema_version,
            store::schema_version()
        )));
    }
    let floor = seq_floor(&site.db_path())?.max(manifest.seq);
    {
        let conn = rusqlite::Connection::open(staging.path().join(archive::DB))?;
        // New changes continue above every seq this site ever handed out, so the upstream never
        // sees a seq twice. Sessions from the backup's time are dropped: everyone signs in again.
        let tx = conn.unchecked_transaction()?;
        store::raise_seq_floor(&tx, floor)?;
        store::mark_restored(&tx, floor)?;
        tx.execute("DELETE FROM sessions", [])?;
        tx.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'site_id'",
            [&site.site.id],
        )?;
        tx.commit()?;
    }
    let firewall_state = data.join("firewall");
    if firewall_state.is_dir() {
        copy_dir(&firewall_state, &staging.path().join("firewall"))?;
    }
    sync_tree(staging.path())?;
    let staged = staging.keep();
    let aside = if data.exists() {
        let aside = PathBuf::from(format!(
            "{}.pre-restore-{}",
            data.display(),
            jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ")
        ));
        nix::fcntl::renameat2(
            None,
            &staged,
            None,
            data,
            nix::fcntl::RenameFlags::RENAME_EXCHANGE,
        )
        .map_err(|e| BackupError::io(data, e.into()))?;
        std::fs::rename(&staged, &aside).map_err(|e| BackupError::io(&aside, e))?;
        Some(aside)
    } else {
        std::fs::rename(&staged, data).map_err(|e| BackupError::io(data, e))?;
        None
    };
    archive::sync_dir(parent)?;
    Ok(Restored {
        manifest,
        aside,
        seq_floor: floor,
    })
}

/// Every backup in the backup dir and the copy dir, newest first.
pub fn list(site: &SiteConfig) -> Result<Vec<Entry>, BackupError> {
    let mut out = Vec::new();
    for dir in locations(site) {
        out.extend(scan(&dir)?);
    }
    out.sort_by(|a, b| b.taken.cmp(&a.taken).then(a.path.cmp(&b.path)));
    Ok(out)
}

/// Deletes what the retention policy does not keep, in each location; never the newest
/// verified backup. Returns what was (or, dry, would be) deleted.
pub fn prune(site: &SiteConfig, dry_run: bool) -> Result<Vec<PathBuf>, BackupError> {
    let b = &site.backup;
    let policy = Policy {
        hourly: b.keep_hourly,
        daily: b.keep_daily,
        weekly: b.keep_weekly,
        monthly: b.keep_monthly,
    };
    let mut deleted = Vec::new();
    for dir in locations(site) {
        let _lock = if dry_run {
            None
        } else {
            Some(backup_lock(&dir)?)
        };
        let entries = scan(&dir)?;
        let times: Vec<jiff::Timestamp> = entries.iter().map(|e| e.taken).collect();
        let mut keep = retention::keep(&times, &policy);
        if let Some(i) = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.verified.as_ref().is_some_and(|v| v.ok))
            .max_by_key(|(_, e)| e.taken)
            .map(|(i, _)| i)
        {
            keep[i] = true;
        }
        for (e, k) in entries.iter().zip(keep) {
            if k {
                continue;
            }
            if !dry_run {
                for p in [
                    e.path.clone(),
                    sidecar(&e.path, "manifest"),
                    sidecar(&e.path, "verified"),
                ] {
                    match std::fs::remove_file(&p) {
                        Ok(()) => {}
                        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                        Err(err) => return Err(BackupError::io(&p, err)),
                    }
                }
            }
            deleted.push(e.path.clone());
        }
        if !dry_run {
            archive::sync_dir(&dir)?;
        }
    }
    Ok(deleted)
}

/// Restores the newest backup into a scratch directory and opens it with this binary; records
/// how long it took and whether it worked.
pub fn drill(site: &SiteConfig) -> Result<Drill, BackupError> {
    let dir = site
        .storage
        .backup_dir
        .clone()
        .ok_or(BackupError::NoBackupDir)?;
    let newest = scan(&dir)?
        .into_iter()
        .max_by_key(|e| e.taken)
        .ok_or_else(|| {
            BackupError::Refused(format!(
                "{} 中还没有备份：先运行 govbox backup create",
                dir.display()
            ))
        })?;
    // Drills run in office hours too; the time recorded is then the time with the office
    // served first, longer than a restore of a stopped site takes.
    let _give_way = GiveWay::start(&site.storage.data_dir);
    let start = Instant::now();
    let result = (|| -> Result<(), BackupError> {
        let _in_use = scratch_lock(&dir, nix::fcntl::FlockArg::LockShared);
        let scratch = tempfile::Builder::new()
            .prefix(".govbox-drill-")
            .tempdir_in(&dir)
            .map_err(|e| BackupError::io(&dir, e))?;
        archive::extract_verified(&newest.path, scratch.path())?;
        let conn = store::open_read_only(&scratch.path().join(archive::DB))?;
        conn.query_row("SELECT count(*) FROM users", [], |r| r.get::<_, i64>(0))?;
        Ok(())
    })();
    let drill = Drill {
        at: crate::clock::now_utc(),
        archive: newest.path.display().to_string(),
        ok: result.is_ok(),
        seconds: start.elapsed().as_secs_f64(),
        error: result.err().map(|e| e.to_string()),
    };
    let path = dir.join("drills.json");
    let mut all: Vec<Drill> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    all.push(drill.clone());
    let from = all.len().saturating_sub(50);
    write_json(&path, &all[from..].to_vec())?;
    Ok(drill)
}

/// The last recorded drill, if any.
pub fn last_drill(site: &SiteConfig) -> Option<Drill> {
    let dir = site.storage.backup_dir.as_ref()?;
    let all: Vec<Drill> =
        serde_json::from_slice(&std::fs::read(dir.join("drills.json")).ok()?).ok()?;
    all.last().cloned()
}

fn locations(site: &SiteConfig) -> Vec<PathBuf> {
    site.storage
        .backup_dir
        .iter()
        .chain(site.backup.copy_dir.iter())
        .filter(|d| d.is_dir())
        .cloned()
        .collect()
}

fn scan(dir: &Path) -> Result<Vec<Entry>, BackupError> {
    let mut out = Vec::new();
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(BackupError::io(dir, e)),
    };
    for item in read.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        let Some(taken) = taken_from_name(&name) else {
            continue;
        };
        let path = item.path();
        let size = item.metadata().map(|m| m.len()).unwrap_or(0);
        let read_json = |kind: &str| std::fs::read(sidecar(&path, kind)).ok();
        out.push(Entry {
            manifest: read_json("manifest").and_then(|b| serde_json::from_slice(&b).ok()),
            verified: read_json("verified").and_then(|b| serde_json::from_slice(&b).ok()),
            path,
            size,
            taken,
        });
    }
    Ok(out)
}

fn archive_name(site: &str, t: jiff::Timestamp) -> String {
    format!("{PREFIX}{site}-{}{SUFFIX}", t.strftime("%Y%m%dT%H%M%SZ"))
}

fn taken_from_name(name: &str) -> Option<jiff::Timestamp> {
    let stem = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let time = stem.rsplit('-').next()?;
    jiff::fmt::strtime::parse("%Y%m%dT%H%M%SZ", time)
        .ok()?
        .to_datetime()
        .ok()?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

fn sidecar(archive: &Path, kind: &str) -> PathBuf {
    let mut s = archive.as_os_str().to_owned();
    s.push(format!(".{kind}.json"));
    PathBuf::from(s)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), BackupError> {
    let bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| BackupError::io(path, std::io::Error::other(e)))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    let result = (|| {
        std::fs::write(&tmp, &bytes)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(BackupError::io(path, e));
    }
    archive::sync_dir(dir)
}

fn list_blobs(dir: &Path) -> Result<Vec<PathBuf>, BackupError> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(r) => r
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(BackupError::io(dir, e)),
    };
    out.sort();
    Ok(out)
}

/// One backup at a time per directory. A flock, so a crashed backup never leaves it held.
fn backup_lock(dir: &Path) -> Result<nix::fcntl::Flock<std::fs::File>, BackupError> {
    let path = dir.join(".govbox-backup.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| BackupError::io(&path, e))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock).map_err(|_| {
        BackupError::Refused(format!(
            "{} 中正在进行另一个备份操作，请稍后再试",
            dir.display()
        ))
    })
}

/// Removes what a crashed backup left: partial archives and staging directories. Safe because
/// the caller holds the directory's backup lock. Scratch directories of verify and drill (which
/// do not take that lock) go only while none is running: a drill reading into its directory
/// must not fail because the hourly backup started.
fn clean_leftovers(dir: &Path) {
    // Held until the loop is done, so no drill starts into a directory about to be removed.
    let idle = scratch_lock(dir, nix::fcntl::FlockArg::LockExclusiveNonblock);
    let scratch_idle = idle.is_some();
    if let Ok(read) = std::fs::read_dir(dir) {
        for e in read.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && (name.ends_with(".partial") || name.ends_with(".tmp")) {
                let _ = std::fs::remove_file(e.path());
            } else if name.starts_with(".govbox-staging-")
                || (scratch_idle
                    && (name.starts_with(".govbox-verify-") || name.starts_with(".govbox-drill-")))
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Held shared by verify and drill from before their scratch directory exists until it is
/// gone; `create` takes it exclusively to clean up. None when `dir` is not writable, in which
/// case no scratch directory is made there either.
fn scratch_lock(dir: &Path, arg: nix::fcntl::FlockArg) -> Option<nix::fcntl::Flock<std::fs::File>> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(SCRATCH_LOCK))
        .ok()?;
    nix::fcntl::Flock::lock(f, arg).ok()
}

/// The highest seq this site has handed out: from its current database, if there is one.
fn seq_floor(db: &Path) -> Result<i64, BackupError> {
    if !db.exists() {
        return Ok(0);
    }
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let floor: i64 = c.query_row(
        "SELECT max(
            (SELECT coalesce(max(seq), 0) FROM changes),
            (SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'changes'),
            (SELECT coalesce(max(CAST(value AS INTEGER)), 0) FROM meta WHERE key = 'seq_floor'))",
        [],
        |r| r.get(0),
    )?;
    Ok(floor)
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), BackupError> {
    std::fs::create_dir_all(to).map_err(|e| BackupError::io(to, e))?;
    for e in std::fs::read_dir(from)
        .map_err(|e| BackupError::io(from, e))?
        .flatten()
    {
        if e.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::copy(e.path(), to.join(e.file_name()))
                .map_err(|err| BackupError::io(&e.path(), err))?;
        }
    }
    Ok(())
}

fn sync_tree(dir: &Path) -> Result<(), BackupError> {
    for e in std::fs::read_dir(dir)
        .map_err(|e| BackupError::io(dir, e))?
        .flatten()
    {
        let p = e.path();
        if p.is_dir() {
            sync_tree(&p)?;
        } else {
            std::fs::File::open(&p)
                .and_then(|f| f.sync_all())
                .map_err(|err| BackupError::io(&p, err))?;
        }
    }
    archive::sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_time() {
        let t: jiff::Timestamp = "2026-11-24T15:00:12Z".parse().unwrap();
        let name = archive_name("hx-county", t);
        assert_eq!(name, "govbox-hx-county-20261124T150012Z.tar.zst");
        assert_eq!(taken_from_name(&name), Some(t));
        assert_eq!(taken_from_name("govbox-x.tar.zst.partial"), None);
        assert_eq!(taken_from_name("notes.txt"), None);
    }
}
