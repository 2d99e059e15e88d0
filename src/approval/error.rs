//! The approval part's one error type, and the one place it becomes an HTTP status and code.

use axum::http::StatusCode;

use super::calendar::CalendarError;
use crate::auth::AuthError;
use crate::store::StoreError;
use crate::web::WebError;

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("{zh}（{field}）")]
    Invalid { field: &'static str, zh: String },
    #[error("找不到{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    /// The action is not legal in the case's current state.
    #[error("{0}")]
    IllegalTransition(String),
    /// Someone else acted on the case since the caller read it.
    #[error("办件已被他人处理（您看到的是第 {seen} 版，现在是第 {now} 版），请刷新后重试")]
    Stale { seen: i64, now: i64 },
    #[error("{0}")]
    Conflict(String),
    #[error("上传的文件太大（{0} 字节），上限 {1} 字节")]
    TooLarge(usize, usize),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("文件存储失败: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for ApprovalError {
    fn from(e: rusqlite::Error) -> Self {
        ApprovalError::Store(e.into())
    }
}

impl From<AuthError> for ApprovalError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::NotFound(what) => ApprovalError::NotFound(what),
            AuthError::Store(s) => ApprovalError::Store(s),
            AuthError::Invalid { field, zh, .. } => ApprovalError::invalid(field, zh),
            other => ApprovalError::Conflict(other.to_string()),
        }
    }
}

impl From<CalendarError> for ApprovalError {
    fn from(e: CalendarError) -> Self {
        match e {
            CalendarError::Store(s) => ApprovalError::Store(s),
            CalendarError::NotFound(what) => ApprovalError::NotFound(what),
            other => ApprovalError::Conflict(other.to_string()),
        }
    }
}

impl ApprovalError {
    pub fn invalid(field: &'static str, zh: impl Into<String>) -> ApprovalError {
        ApprovalError::Invalid {
            field,
            zh: zh.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApprovalError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApprovalError::NotFound(_) => StatusCode::NOT_FOUND,
            ApprovalError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApprovalError::IllegalTransition(_)
            | ApprovalError::Stale { .. }
            | ApprovalError::Conflict(_) => StatusCode::CONFLICT,
            ApprovalError::TooLarge(..) => StatusCode::PAYLOAD_TOO_LARGE,
            ApprovalError::Store(_) | ApprovalError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code and an English message.
    pub fn code(&self) -> (&'static str, String) {
        match self {
            ApprovalError::Invalid { field, .. } => ("invalid_input", format!("invalid {field}")),
            ApprovalError::NotFound(_) => ("not_found", "not found".into()),
            ApprovalError::Forbidden(_) => ("forbidden", "not allowed for you".into()),
            ApprovalError::IllegalTransition(_) => (
                "illegal_transition",
                "the action is not possible in the case's current state".into(),
            ),
            ApprovalError::Stale { seen, now } => (
                "stale_version",
                format!("the case changed (version {seen} seen, now {now}); reload and retry"),
            ),
            ApprovalError::Conflict(_) => ("conflict", "conflicts with existing data".into()),
            ApprovalError::TooLarge(..) => ("too_large", "the upload is too large".into()),
            ApprovalError::Store(_) | ApprovalError::Io(_) => {
                ("internal", "internal error; it has been logged".into())
            }
        }
    }
}

impl From<ApprovalError> for WebError {
    fn from(e: ApprovalError) -> Self {
        let status = e.status();
        let (code, en) = e.code();
        match status {
            StatusCode::NOT_FOUND => match e {
                ApprovalError::NotFound(what) => WebError::NotFound(what),
                other => WebError::NotFound(other.to_string()),
            },
            StatusCode::INTERNAL_SERVER_ERROR => WebError::Internal(e.to_string()),
            _ => WebError::Domain {
                status,
                code,
                zh: e.to_string(),
                en,
            },
        }
    }
}
