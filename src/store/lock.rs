//! One server per data dir: an exclusive flock held for the life of the process.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use super::StoreError;

/// Released by the kernel when the process ends, however it ends, so a kill -9 never leaves a
/// stale lock behind.
pub struct DataDirLock {
    _lock: Flock<File>,
}

impl DataDirLock {
    pub fn acquire(data_dir: &Path) -> Result<DataDirLock, StoreError> {
        let path = data_dir.join("govbox.lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| StoreError::Io(path.display().to_string(), e))?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((mut file, _)) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(StoreError::Locked {
                    dir: data_dir.display().to_string(),
                    holder: holder.trim().to_string(),
                });
            }
        };
        let pid = std::process::id().to_string();
        let written = lock
            .set_len(0)
            .and_then(|_| lock.rewind())
            .and_then(|_| lock.write_all(pid.as_bytes()));
        written.map_err(|e| StoreError::Io(path.display().to_string(), e))?;
        Ok(DataDirLock { _lock: lock })
    }
}
