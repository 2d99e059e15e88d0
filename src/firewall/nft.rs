//! Talking to nftables, and the on-disk state that makes a pending change survive a crash or a
//! reboot: `saved.nft` (how to go back), `pending.json` (the deadline), `applied.*` (what was
//! loaded, to detect drift), `confirmed.nft` (what the boot unit loads).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::FirewallError;

/// The restore script that removes the govbox table (when none was loaded before).
pub const REMOVE: &str = "table inet govbox {}\ndelete table inet govbox\n";

pub fn nft(args: &[&str], stdin: Option<&str>) -> Result<String, FirewallError> {
    let mut child = Command::new("nft")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| FirewallError::Nft(format!("无法运行 nft ({e})：请安装 nftables 软件包")))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .map_err(|e| FirewallError::Nft(e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| FirewallError::Nft(e.to_string()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(FirewallError::Nft(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

/// The loaded govbox table as nft lists it, or None when there is none.
pub fn loaded() -> Result<Option<String>, FirewallError> {
    match nft(&["list", "table", "inet", "govbox"], None) {
        Ok(text) => Ok(Some(text)),
        Err(FirewallError::Nft(msg)) if msg.contains("No such file") => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn load(ruleset: &str) -> Result<(), FirewallError> {
    nft(&["-f", "-"], Some(ruleset)).map(|_| ())
}

pub fn check(ruleset: &str) -> Result<(), FirewallError> {
    nft(&["-c", "-f", "-"], Some(ruleset)).map(|_| ())
}

/// A script that puts the currently loaded govbox table back exactly, in one transaction.
pub fn restore_script() -> Result<String, FirewallError> {
    Ok(match loaded()? {
        Some(listing) => format!("{REMOVE}{listing}"),
        None => REMOVE.to_string(),
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pending {
    /// Unix seconds after which the saved ruleset is restored.
    pub deadline: u64,
    /// Identifies this apply, so a reverter from an older apply never touches a newer one.
    pub token: String,
}

pub struct State {
    pub dir: PathBuf,
}

impl State {
    pub fn new(dir: &Path) -> State {
        State {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn pending(&self) -> Result<Option<Pending>, FirewallError> {
        match std::fs::read(self.path("pending.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                FirewallError::Io(
                    self.path("pending.json").display().to_string(),
                    std::io::Error::other(e),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(FirewallError::Io(
                self.path("pending.json").display().to_string(),
                e,
            )),
        }
    }

    pub fn set_pending(&self, p: &Pending) -> Result<(), FirewallError> {
        let json = serde_json::to_vec(p).map_err(|e| FirewallError::Nft(e.to_string()))?;
        self.write("pending.json", &json)
    }

    pub fn clear_pending(&self) -> Result<(), FirewallError> {
        match std::fs::remove_file(self.path("pending.json")) {
            Ok(()) => self.sync_dir(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(FirewallError::Io(
                self.path("pending.json").display().to_string(),
                e,
            )),
        }
    }

    pub fn read(&self, name: &str) -> Result<Option<String>, FirewallError> {
        match std::fs::read_to_string(self.path(name)) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(FirewallError::Io(self.path(name).display().to_string(), e)),
        }
    }

    /// Written to a temporary name, fsynced, renamed, directory fsynced: after a crash the file
    /// is either the old one or the new one, never half of it.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), FirewallError> {
        let io = |e: std::io::Error| FirewallError::Io(self.path(name).display().to_string(), e);
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let tmp = self.path(&format!(".{name}.tmp"));
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, self.path(name)).map_err(io)?;
        self.sync_dir()
    }

    /// Held by every command that reads and then changes the pending apply, and by the reverter
    /// around each look at the deadline, so a `confirm` at the deadline and the revert never
    /// both happen.
    pub fn lock(&self) -> Result<nix::fcntl::Flock<std::fs::File>, FirewallError> {
        let path = self.path("state.lock");
        let io = |e: std::io::Error| FirewallError::Io(path.display().to_string(), e);
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| io(e.into()))
    }

    fn sync_dir(&self) -> Result<(), FirewallError> {
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| FirewallError::Io(self.dir.display().to_string(), e))
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}
