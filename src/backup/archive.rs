//! The archive: `govbox.db` (an online snapshot), `blobs/<sha256>`, and `manifest.json` last,
//! in a tar stream compressed with zstd. Members are hashed while they are written, so the
//! data is read once.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::snapshot::Snapshot;
use super::BackupError;

pub const FORMAT: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const DB: &str = "govbox.db";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    pub site: String,
    pub tier: String,
    pub schema_version: u32,
    /// The change log's high-water seq in the snapshot: the backup holds every change up to it.
    pub seq: i64,
    pub created_at: String,
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Member {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// Hashes (when it has a hasher) and counts what passes through.
struct Hashing<R> {
    inner: R,
    hash: Option<Sha256>,
    size: u64,
}

impl<R> Hashing<R> {
    fn new(inner: R, hash: bool) -> Self {
        Hashing {
            inner,
            hash: hash.then(Sha256::new),
            size: 0,
        }
    }

    fn hex(self) -> String {
        self.hash
            .map(|h| hex::encode(h.finalize()))
            .unwrap_or_default()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hash {
            h.update(&buf[..n]);
        }
        self.size += n as u64;
        Ok(n)
    }
}

/// Writes the archive to `out` (already a temporary name) and returns its manifest: the
/// snapshot's pages, then the blobs, then the manifest. The compressed stream is also fed, as
/// it is written, to a reader on another thread that decompresses it and checks every member
/// against the manifest, as `backup verify` would: the archive is verified without being read
/// back from the disk, and its checks overlap with the compression.
pub fn write(
    out: &Path,
    level: i32,
    snapshot: &mut Snapshot,
    blobs: &[PathBuf],
    manifest: Manifest,
) -> Result<Manifest, BackupError> {
    let io = |e: io::Error| BackupError::io(out, e);
    let file = private_file(out).map_err(io)?;
    let (to_check, chunks) = std::sync::mpsc::sync_channel(64);
    std::thread::scope(|s| {
        let checker = s.spawn(|| {
            read_checked(
                out,
                Chunks {
                    rx: chunks,
                    cur: Vec::new(),
                    pos: 0,
                },
                None,
                Hashes::TrustFrameChecksum,
            )
        });
        let tee = Tee {
            file: BufWriter::with_capacity(1 << 20, file),
            checker: Some(to_check),
        };
        let written = write_members(tee, out, level, snapshot, blobs, manifest);
        let checked = checker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let (written, file) = written?;
        let checked = checked?;
        if checked != written {
            return Err(BackupError::bad(
                out,
                MANIFEST,
                "写入后读出的清单与写入的不一致".into(),
            ));
        }
        file.sync_all().map_err(io)?;
        Ok(written)
    })
}

/// The tar stream through zstd into `tee`. Ends the stream (so the checker sees its end) on
/// success and on failure alike.
fn write_members(
    tee: Tee,
    out: &Path,
    level: i32,
    snapshot: &mut Snapshot,
    blobs: &[PathBuf],
    mut manifest: Manifest,
) -> Result<(Manifest, File), BackupError> {
    let io = |e: io::Error| BackupError::io(out, e);
    let mut enc = zstd::Encoder::new(tee, level).map_err(io)?;
    // Compression on worker threads overlaps with reading and hashing on this one.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u32);
    enc.multithread(cores.max(2)).map_err(io)?;
    // XXH64 of the whole stream in the frame: every decompression (the checker's now, verify
    // and restore later) fails on a changed byte before any member is looked at.
    enc.include_checksum(true).map_err(io)?;
    // Whole megabytes into the compressor: each call into zstd's multithreaded stream takes
    // locks, and tar alone would hand it 8 KiB at a time.
    let mut tar = tar::Builder::new(BufWriter::with_capacity(1 << 20, enc));
    let mut add = |name: String, len: u64, from: &mut dyn Read| -> Result<Member, io::Error> {
        let mut reader = Hashing::new(from, true);
        let mut h = tar::Header::new_gnu();
        h.set_size(len);
        h.set_mode(0o600);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, &name, &mut reader)?;
        Ok(Member {
            path: name,
            size: reader.size,
            sha256: reader.hex(),
        })
    };
    let len = snapshot.len();
    let db = std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel(8);
        s.spawn(move || snapshot.send_pages(&tx));
        let mut pages = Chunks {
            rx,
            cur: Vec::new(),
            pos: 0,
        };
        add(DB.into(), len, &mut pages)
    })
    .map_err(|e| {
        if e.raw_os_error().is_some() {
            io(e)
        } else {
            BackupError::Changed(format!("{DB} ({e})"))
        }
    })?;
    manifest.members.push(db);
    for b in blobs {
        let name = format!(
            "blobs/{}",
            b.file_name().unwrap_or_default().to_string_lossy()
        );
        let f = File::open(b).map_err(|e| BackupError::io(b, e))?;
        let len = f.metadata().map_err(|e| BackupError::io(b, e))?.len();
        let m = add(name, len, &mut io::BufReader::with_capacity(1 << 20, f)).map_err(io)?;
        if m.size != len {
            return Err(BackupError::Changed(b.display().to_string()));
        }
        manifest.members.push(m);
    }
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| BackupError::io(out, io::Error::other(e)))?;
    let mut h = tar::Header::new_gnu();
    h.set_size(json.len() as u64);
    h.set_mode(0o600);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, MANIFEST, json.as_slice())
        .map_err(io)?;
    let enc = tar
        .into_inner()
        .map_err(io)?
        .into_inner()
        .map_err(|e| io(e.into_error()))?;
    let mut tee = enc.finish().map_err(io)?;
    tee.checker = None;
    let file = tee.file.into_inner().map_err(|e| io(e.into_error()))?;
    Ok((manifest, file))
}

/// Writes to the archive file and hands a copy of each piece to the checker. When the checker
/// has stopped (it found a fault, which it reports when joined), the file is still written.
struct Tee {
    file: BufWriter<File>,
    checker: Option<std::sync::mpsc::SyncSender<io::Result<Vec<u8>>>>,
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write_all(buf)?;
        if let Some(tx) = &self.checker {
            if tx.send(Ok(buf.to_vec())).is_err() {
                self.checker = None;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// A stream handed over in pieces from another thread (the checker's side of [`Tee`], the
/// archive's side of the snapshot's pages): it ends when the sender is dropped.
struct Chunks {
    rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for Chunks {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(next) => {
                    self.cur = next?;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Only these names may appear; anything else (`..`, absolute paths, odd names) is refused
/// before a byte of it is written.
fn safe_name(path: &Path) -> Option<String> {
    let parts: Vec<&str> = path
        .components()
        .map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [name] if *name == DB || *name == MANIFEST => Some(name.to_string()),
        ["blobs", hash] if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(format!("blobs/{hash}"))
        }
        _ => None,
    }
}

/// Extracts `archive` into `into` (an empty directory), checking every member against the
/// manifest, and the snapshot with SQLite's integrity check. Returns the manifest.
pub fn extract_verified(archive: &Path, into: &Path) -> Result<Manifest, BackupError> {
    let manifest = read_checked(archive, open(archive)?, Some(into), Hashes::Check)?;
    check_snapshot(archive, &into.join(DB), &manifest)?;
    Ok(manifest)
}

/// Reads the whole archive and checks every member against the manifest, writing nothing.
/// For a copy of an archive that was verified as it was written: the checksums prove the
/// copy's bytes are the original's.
pub fn stream_verified(archive: &Path) -> Result<Manifest, BackupError> {
    read_checked(archive, open(archive)?, None, Hashes::Check)
}

fn open(archive: &Path) -> Result<File, BackupError> {
    File::open(archive).map_err(|e| BackupError::io(archive, e))
}

/// SQLite's integrity check of a database file.
pub fn integrity_check(db: &Path) -> Result<(), BackupError> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    check_integrity(&conn, db)
}

/// SQLite's integrity check over `conn`'s database (named `db` in the error).
pub fn check_integrity(conn: &rusqlite::Connection, db: &Path) -> Result<(), BackupError> {
    let result: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if result == "ok" {
        Ok(())
    } else {
        Err(BackupError::bad(
            db,
            DB,
            format!("完整性检查失败: {result}"),
        ))
    }
}

/// Whether reading an archive recomputes every member's SHA-256.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hashes {
    Check,
    /// Only while writing: the bytes the hashes were computed from are the ones compressed,
    /// and zstd's frame checksum proves the stream decompresses to exactly them.
    TrustFrameChecksum,
}

/// Checks the archive read from `file` (named `archive` in errors), extracting into `into`.
fn read_checked(
    archive: &Path,
    file: impl Read,
    into: Option<&Path>,
    hashes: Hashes,
) -> Result<Manifest, BackupError> {
    let dec = zstd::Decoder::new(file)
        .map_err(|e| BackupError::bad(archive, "-", format!("不是 zstd 压缩的归档 ({e})")))?;
    let mut tar = tar::Archive::new(dec);
    let mut seen: Vec<Member> = Vec::new();
    let mut manifest: Option<Manifest> = None;
    let entries = tar
        .entries()
        .map_err(|e| BackupError::bad(archive, "-", format!("无法读取 ({e})")))?;
    let mut current = String::from("-");
    for entry in entries {
        let mut entry = entry
            .map_err(|e| BackupError::bad(archive, &current, format!("归档被截断或损坏 ({e})")))?;
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        current = shown.clone();
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(BackupError::bad(
                archive,
                &shown,
                "不是普通文件（链接、设备或目录），拒绝".into(),
            ));
        }
        let name = std::str::from_utf8(&raw)
            .ok()
            .and_then(|s| safe_name(Path::new(s)))
            .ok_or_else(|| {
                BackupError::bad(archive, &shown, "成员路径不安全或不属于备份".into())
            })?;
        if seen.iter().any(|m| m.path == name) || (manifest.is_some()) {
            return Err(BackupError::bad(
                archive,
                &shown,
                "成员重复，或出现在清单之后".into(),
            ));
        }
        if name == MANIFEST {
            let mut text = Vec::new();
            entry
                .by_ref()
                .take(1 << 24)
                .read_to_end(&mut text)
                .map_err(|e| {
                    BackupError::bad(archive, &shown, format!("归档被截断或损坏 ({e})"))
                })?;
            manifest =
                Some(serde_json::from_slice(&text).map_err(|e| {
                    BackupError::bad(archive, MANIFEST, format!("清单无法解析 ({e})"))
                })?);
            continue;
        }
        let mut reader = Hashing::new(&mut entry, hashes == Hashes::Check);
        match into {
            Some(into) => {
                let dest = into.join(&name);
                if let Some(dir) = dest.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| BackupError::io(dir, e))?;
                }
                let out = File::create(&dest).map_err(|e| BackupError::io(&dest, e))?;
                let mut writer = BufWriter::new(out);
                io::copy(&mut reader, &mut writer).map_err(|e| {
                    if e.raw_os_error() == Some(28) {
                        BackupError::io(&dest, e)
                    } else {
                        BackupError::bad(archive, &shown, format!("归档被截断或损坏 ({e})"))
                    }
                })?;
                let file = writer
                    .into_inner()
                    .map_err(|e| BackupError::io(&dest, e.into_error()))?;
                file.sync_all().map_err(|e| BackupError::io(&dest, e))?;
            }
            None => {
                io::copy(&mut reader, &mut io::sink()).map_err(|e| {
                    BackupError::bad(archive, &shown, format!("归档被截断或损坏 ({e})"))
                })?;
            }
        }
        let size = reader.size;
        seen.push(Member {
            path: name,
            size,
            sha256: reader.hex(),
        });
    }
    let manifest = manifest
        .ok_or_else(|| BackupError::bad(archive, MANIFEST, "缺少清单（归档不完整）".into()))?;
    if manifest.format != FORMAT {
        return Err(BackupError::bad(
            archive,
            MANIFEST,
            format!("未知的归档格式版本 {}", manifest.format),
        ));
    }
    for m in &manifest.members {
        let got = seen.iter().find(|s| s.path == m.path);
        match got {
            None => {
                return Err(BackupError::bad(
                    archive,
                    &m.path,
                    "清单中列出，但归档里没有".into(),
                ))
            }
            Some(g) if g.size != m.size || (hashes == Hashes::Check && g.sha256 != m.sha256) => {
                return Err(BackupError::bad(
                    archive,
                    &m.path,
                    "大小或 SHA-256 与清单不符（数据已损坏）".into(),
                ))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = seen
        .iter()
        .find(|s| !manifest.members.iter().any(|m| m.path == s.path))
    {
        return Err(BackupError::bad(
            archive,
            &extra.path,
            "归档里有清单未列出的成员".into(),
        ));
    }
    if !manifest.members.iter().any(|m| m.path == DB) {
        return Err(BackupError::bad(archive, DB, "缺少数据库快照".into()));
    }
    Ok(manifest)
}

fn check_snapshot(archive: &Path, db: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let bad = |why: String| BackupError::bad(archive, DB, why);
    integrity_check(db).map_err(|e| bad(e.to_string()))?;
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| bad(format!("无法打开 ({e})")))?;
    let (site, seq, schema): (String, i64, u32) = conn
        .query_row(
            "SELECT (SELECT value FROM meta WHERE key = 'site_id'),
                    (SELECT coalesce(max(seq), 0) FROM changes),
                    (SELECT user_version FROM pragma_user_version)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(|e| bad(format!("不是 govbox 数据库 ({e})")))?;
    if site != manifest.site || seq != manifest.seq || schema != manifest.schema_version {
        return Err(bad(format!(
            "快照（站点 {site}，序号 {seq}，结构版本 {schema}）与清单不符"
        )));
    }
    Ok(())
}

/// Archives hold password hashes and every record of the site: owner-only.
fn private_file(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

pub fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| BackupError::io(dir, e))
}

/// Copies with a temporary name, fsync and rename, so the copy is whole or absent.
pub fn copy_atomic(from: &Path, to_dir: &Path) -> Result<PathBuf, BackupError> {
    let name = from.file_name().unwrap_or_default();
    let dest = to_dir.join(name);
    let tmp = to_dir.join(format!(".{}.partial", name.to_string_lossy()));
    let io = |e: io::Error| BackupError::io(&dest, e);
    std::fs::create_dir_all(to_dir).map_err(io)?;
    let result = (|| {
        let mut src = File::open(from).map_err(|e| BackupError::io(from, e))?;
        let mut out = private_file(&tmp).map_err(io)?;
        io::copy(&mut src, &mut out).map_err(io)?;
        out.flush().map_err(io)?;
        out.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &dest).map_err(io)?;
        sync_dir(to_dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|_| dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_member_names_are_safe() {
        assert_eq!(
            safe_name(Path::new("govbox.db")).as_deref(),
            Some("govbox.db")
        );
        let blob = format!("blobs/{}", "a".repeat(64));
        assert_eq!(safe_name(Path::new(&blob)).as_deref(), Some(blob.as_str()));
        for bad in [
            "../govbox.db",
            "/etc/passwd",
            "blobs/../govbox.db",
            "blobs/x",
            "x/govbox.db",
            "./govbox.db",
            "",
        ] {
            assert_eq!(safe_name(Path::new(bad)), None, "{bad}");
        }
    }
}
