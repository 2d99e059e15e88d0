//! Attachments as files under `<data_dir>/blobs/`, named by the SHA-256 of their content.
//!
//! A blob is written under a temporary name, fsynced and renamed, so a crash never leaves a
//! file whose name does not match its bytes. Writing the same content twice stores it once.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct Blobs {
    dir: PathBuf,
}

impl Blobs {
    pub fn new(data_dir: &Path) -> Blobs {
        Blobs {
            dir: data_dir.join("blobs"),
        }
    }

    /// Stores `bytes` and returns their hash.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let hash = hex::encode(Sha256::digest(bytes));
        self.put_as(&hash, bytes)?;
        Ok(hash)
    }

    /// Stores `bytes` under `hash`, refusing bytes that do not hash to it (an upload that was
    /// cut short or tampered with).
    pub fn put_checked(&self, hash: &str, bytes: &[u8]) -> std::io::Result<()> {
        if !valid_hash(hash) || hex::encode(Sha256::digest(bytes)) != hash {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "附件内容与其 SHA-256 不符",
            ));
        }
        self.put_as(hash, bytes)
    }

    pub fn has(&self, hash: &str) -> bool {
        valid_hash(hash) && self.dir.join(hash).is_file()
    }

    pub fn read(&self, hash: &str) -> std::io::Result<Vec<u8>> {
        if !valid_hash(hash) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "不是 SHA-256",
            ));
        }
        std::fs::read(self.dir.join(hash))
    }

    fn put_as(&self, hash: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.dir.join(hash);
        if path.is_file() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".incoming-")
            .tempfile_in(&self.dir)?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        std::fs::File::open(&self.dir)?.sync_all()
    }
}

pub fn valid_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_addressed_and_checked() {
        let d = tempfile::tempdir().unwrap();
        let b = Blobs::new(d.path());
        let h = b.put(b"hello").unwrap();
        assert!(b.has(&h));
        assert_eq!(b.put(b"hello").unwrap(), h);
        assert_eq!(b.read(&h).unwrap(), b"hello");
        let other = hex::encode(Sha256::digest(b"other"));
        assert!(b.put_checked(&other, b"not other").is_err());
        assert!(!b.has(&other));
        assert!(!b.has("../etc/passwd"));
        assert!(b.read("../../etc/passwd").is_err());
    }
}
