//! Attachments: the bytes go to the blob store (deduplicated by SHA-256); a row records who
//! uploaded them under what name, and documents, mail and meeting minutes refer to that row.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{line, OfficeError};
use crate::store::{Blobs, Op, WriteTx};

/// The largest attachment accepted.
pub const MAX_UPLOAD: usize = 20 << 20;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Upload {
    pub id: i64,
    pub hash: String,
    pub name: String,
    pub size: i64,
}

/// Checks an attachment's file name: no path, no control characters.
pub fn file_name(name: &str) -> Result<String, OfficeError> {
    let name = line("name", name, 120, true)?;
    if name.contains(['/', '\\']) || name == "." || name == ".." {
        return Err(OfficeError::invalid("name", "文件名不能包含路径"));
    }
    Ok(name)
}

/// Stores the bytes (outside the transaction: a blob without a row is harmless, a row without
/// its blob is not).
pub fn store_bytes(blobs: &Blobs, bytes: &[u8]) -> Result<String, OfficeError> {
    if bytes.is_empty() {
        return Err(OfficeError::invalid("body", "附件是空的"));
    }
    if bytes.len() > MAX_UPLOAD {
        return Err(OfficeError::invalid(
            "body",
            format!("附件不能超过 {} MiB", MAX_UPLOAD >> 20),
        ));
    }
    Ok(blobs.put(bytes)?)
}

pub fn record(
    tx: &mut WriteTx,
    user_id: i64,
    hash: &str,
    name: &str,
    size: i64,
) -> Result<Upload, OfficeError> {
    let name = file_name(name)?;
    let now = tx.now().to_string();
    let id = tx.insert(
        "INSERT INTO office_uploads(hash, name, size, uploaded_by, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![hash, name, size, user_id, now],
    )?;
    tx.change_with_blobs(
        "office_upload",
        id,
        Op::Insert,
        &serde_json::json!({"hash": hash, "name": name, "size": size, "uploaded_by": user_id}),
        &[hash],
    )?;
    Ok(Upload {
        id,
        hash: hash.to_string(),
        name,
        size,
    })
}

/// An upload the user made (nobody attaches someone else's upload by guessing its id).
pub fn own(conn: &Connection, user_id: i64, id: i64) -> Result<Upload, OfficeError> {
    conn.query_row(
        "SELECT id, hash, name, size FROM office_uploads WHERE id = ?1 AND uploaded_by = ?2",
        params![id, user_id],
        |r| {
            Ok(Upload {
                id: r.get(0)?,
                hash: r.get(1)?,
                name: r.get(2)?,
                size: r.get(3)?,
            })
        },
    )
    .optional()?
    .ok_or_else(|| OfficeError::invalid("attachments", format!("没有您上传的附件 {id}")))
}
