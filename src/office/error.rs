//! The office part's one error type, and the one place it becomes an HTTP status and code.

use axum::http::StatusCode;

use crate::auth::AuthError;
use crate::store::StoreError;
use crate::web::WebError;

#[derive(Debug, thiserror::Error)]
pub enum OfficeError {
    #[error("{zh}（{field}）")]
    Invalid { field: &'static str, zh: String },
    #[error(
        "涉密公文（{0}）不得在本系统处理：秘密、机密、绝密文件请按保密规定在涉密网络或纸质渠道流转"
    )]
    Classified(String),
    #[error("找不到{0}")]
    NotFound(String),
    #[error("公文 {0} 已归档，归档库只读，不能再修改")]
    Archived(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    OutOfOrder(String),
    #[error("{0}")]
    Conflict(String),
    #[error("会议室在该时段已被预订：{0}")]
    RoomBusy(String),
    #[error("{who} 的邮箱空间不足：已用 {used} 字节，本邮件 {size} 字节，配额 {quota} 字节")]
    QuotaExceeded {
        who: String,
        used: i64,
        size: i64,
        quota: i64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("附件存储失败: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for OfficeError {
    fn from(e: rusqlite::Error) -> Self {
        OfficeError::Store(e.into())
    }
}

impl From<AuthError> for OfficeError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::NotFound(what) => OfficeError::NotFound(what),
            AuthError::Store(s) => OfficeError::Store(s),
            other => OfficeError::Conflict(other.to_string()),
        }
    }
}

impl OfficeError {
    pub fn invalid(field: &'static str, zh: impl Into<String>) -> OfficeError {
        OfficeError::Invalid {
            field,
            zh: zh.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            OfficeError::Invalid { .. } | OfficeError::Classified(_) => StatusCode::BAD_REQUEST,
            OfficeError::NotFound(_) => StatusCode::NOT_FOUND,
            OfficeError::Forbidden(_) => StatusCode::FORBIDDEN,
            OfficeError::Archived(_)
            | OfficeError::OutOfOrder(_)
            | OfficeError::Conflict(_)
            | OfficeError::RoomBusy(_) => StatusCode::CONFLICT,
            OfficeError::QuotaExceeded { .. } => StatusCode::INSUFFICIENT_STORAGE,
            OfficeError::Store(_) | OfficeError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code and an English message.
    pub fn code(&self) -> (&'static str, String) {
        match self {
            OfficeError::Invalid { field, .. } => ("invalid_input", format!("invalid {field}")),
            OfficeError::Classified(_) => (
                "classified",
                "classified documents do not belong on this system".into(),
            ),
            OfficeError::NotFound(_) => ("not_found", "not found".into()),
            OfficeError::Archived(_) => {
                ("archived", "the document is archived and read-only".into())
            }
            OfficeError::Forbidden(_) => ("forbidden", "not allowed for you".into()),
            OfficeError::OutOfOrder(_) => (
                "out_of_order",
                "not possible in the object's current state".into(),
            ),
            OfficeError::Conflict(_) => ("conflict", "conflicts with existing data".into()),
            OfficeError::RoomBusy(_) => (
                "room_busy",
                "the room is booked for an overlapping time".into(),
            ),
            OfficeError::QuotaExceeded { .. } => {
                ("quota_exceeded", "mailbox quota exceeded".into())
            }
            OfficeError::Store(_) | OfficeError::Io(_) => {
                ("internal", "internal error; it has been logged".into())
            }
        }
    }
}

impl From<OfficeError> for WebError {
    fn from(e: OfficeError) -> Self {
        let status = e.status();
        let (code, en) = e.code();
        match status {
            StatusCode::NOT_FOUND => match e {
                OfficeError::NotFound(what) => WebError::NotFound(what),
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
