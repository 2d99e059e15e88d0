//! Attachments of articles (and later of online applications): an allow-list of document and
//! picture types, checked by extension and by content, with the file name cleaned.
//!
//! Whatever was uploaded is served back only as `application/octet-stream` with
//! `Content-Disposition: attachment`, so even a file that slipped past the checks is downloaded,
//! never rendered by the browser. The checks still refuse HTML, SVG and executables, because
//! the person who downloads a file opens it.

use serde::{Deserialize, Serialize};

use super::PortalError;
use crate::store::Blobs;

/// The largest attachment accepted.
pub const MAX_FILE: usize = 10 << 20;
/// Attachments one article may carry.
pub const MAX_FILES: usize = 10;

/// Extensions accepted, with the type they are recorded as.
const ALLOWED: &[(&str, &str)] = &[
    ("pdf", "application/pdf"),
    ("ofd", "application/ofd"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("wps", "application/vnd.ms-works"),
    ("et", "application/vnd.ms-works"),
    ("txt", "text/plain"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("zip", "application/zip"),
];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct FileRef {
    pub hash: String,
    pub name: String,
    pub size: i64,
    pub content_type: String,
}

/// A file name safe to store and to offer in a download: the last path component only, no
/// control or reserved characters, no leading dots, at most 80 characters, with an allowed
/// extension. Answers the name and its recorded content type.
pub fn clean_name(raw: &str) -> Result<(String, &'static str), PortalError> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '|' | '?' | '*' | '\'' | ';' | '%' => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned
        .trim()
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    if cleaned.is_empty() {
        return Err(PortalError::invalid("file", "文件名不能为空"));
    }
    let (stem, ext) = cleaned
        .rsplit_once('.')
        .ok_or_else(|| PortalError::invalid("file", "文件名缺少扩展名"))?;
    let ext = ext.to_ascii_lowercase();
    let content_type = ALLOWED
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            PortalError::invalid(
                "file",
                format!(
                    "不接受 .{} 文件，可上传: {}",
                    super::short(&ext),
                    ALLOWED
                        .iter()
                        .map(|(e, _)| *e)
                        .collect::<Vec<_>>()
                        .join("、")
                ),
            )
        })?;
    let stem: String = stem.chars().take(72).collect();
    Ok((format!("{stem}.{ext}"), content_type))
}

/// Refuses content that is markup or a program whatever its name says.
pub fn check_content(bytes: &[u8]) -> Result<(), PortalError> {
    if bytes.is_empty() {
        return Err(PortalError::invalid("file", "文件是空的"));
    }
    if bytes.len() > MAX_FILE {
        return Err(PortalError::invalid(
            "file",
            format!("文件不能超过 {} MiB", MAX_FILE >> 20),
        ));
    }
    let executable = [
        &b"MZ"[..],
        b"\x7fELF",
        b"#!",
        b"\xca\xfe\xba\xbe",
        b"\xcf\xfa\xed\xfe",
    ]
    .iter()
    .any(|m| bytes.starts_with(m));
    if executable {
        return Err(PortalError::invalid("file", "不接受可执行程序"));
    }
    let head: String = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)])
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_lowercase();
    let markup = [
        "<!doctype",
        "<html",
        "<svg",
        "<?xml",
        "<script",
        "<body",
        "<head",
        "<iframe",
    ]
    .iter()
    .any(|m| head.starts_with(m) || head.contains(&format!("\n{m}")))
        || head.contains("<script");
    if markup {
        return Err(PortalError::invalid(
            "file",
            "不接受网页 (HTML) 或 SVG 文件",
        ));
    }
    Ok(())
}

/// Checks and stores one upload; the blob is written before any row refers to it.
pub fn store(blobs: &Blobs, raw_name: &str, bytes: &[u8]) -> Result<FileRef, PortalError> {
    let (name, content_type) = clean_name(raw_name)?;
    check_content(bytes)?;
    let hash = blobs.put(bytes)?;
    Ok(FileRef {
        hash,
        name,
        size: bytes.len() as i64,
        content_type: content_type.to_string(),
    })
}

/// Headers of a download: never inline, never sniffed, sandboxed if opened anyway.
pub fn download_headers(name: &str) -> [(axum::http::HeaderName, String); 4] {
    use axum::http::header;
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    [
        (header::CONTENT_TYPE, "application/octet-stream".into()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
        (
            header::CONTENT_SECURITY_POLICY,
            "sandbox; default-src 'none'".into(),
        ),
    ]
}
