//! The portal part's one error type, and the one place it becomes an HTTP status and code.

use axum::http::StatusCode;

use crate::auth::AuthError;
use crate::store::StoreError;
use crate::web::WebError;

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("{zh}（{field}）")]
    Invalid { field: &'static str, zh: String },
    #[error("内容含有禁用词：{}。请修改后再提交", .0.join("、"))]
    Banned(Vec<String>),
    #[error("找不到{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    OutOfOrder(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{what}，请 {secs} 秒后再试")]
    Throttled { what: &'static str, secs: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("附件存储失败: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for PortalError {
    fn from(e: rusqlite::Error) -> Self {
        PortalError::Store(e.into())
    }
}

impl From<AuthError> for PortalError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::NotFound(what) => PortalError::NotFound(what),
            AuthError::Store(s) => PortalError::Store(s),
            other => PortalError::Conflict(other.to_string()),
        }
    }
}

impl From<crate::approval::ApprovalError> for PortalError {
    fn from(e: crate::approval::ApprovalError) -> Self {
        use crate::approval::ApprovalError as A;
        match e {
            A::Invalid { field, zh } => PortalError::Invalid { field, zh },
            A::NotFound(what) => PortalError::NotFound(what),
            A::Store(s) => PortalError::Store(s),
            A::Io(e) => PortalError::Io(e),
            other => PortalError::Conflict(other.to_string()),
        }
    }
}

impl From<crate::supervision::SupervisionError> for PortalError {
    fn from(e: crate::supervision::SupervisionError) -> Self {
        use crate::supervision::SupervisionError as S;
        match e {
            S::Invalid { field, zh } => PortalError::Invalid { field, zh },
            S::NotFound(what) => PortalError::NotFound(what),
            S::Store(s) => PortalError::Store(s),
            other => PortalError::Conflict(other.to_string()),
        }
    }
}

impl PortalError {
    pub fn invalid(field: &'static str, zh: impl Into<String>) -> PortalError {
        PortalError::Invalid {
            field,
            zh: zh.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            PortalError::Invalid { .. } | PortalError::Banned(_) => StatusCode::BAD_REQUEST,
            PortalError::NotFound(_) => StatusCode::NOT_FOUND,
            PortalError::Forbidden(_) => StatusCode::FORBIDDEN,
            PortalError::OutOfOrder(_) | PortalError::Conflict(_) => StatusCode::CONFLICT,
            PortalError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            PortalError::Store(_) | PortalError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code and an English message.
    pub fn code(&self) -> (&'static str, String) {
        match self {
            PortalError::Invalid { field, .. } => ("invalid_input", format!("invalid {field}")),
            PortalError::Banned(words) => (
                "banned_words",
                format!("the text contains {} banned word(s)", words.len()),
            ),
            PortalError::NotFound(_) => ("not_found", "not found".into()),
            PortalError::Forbidden(_) => ("forbidden", "not allowed for you".into()),
            PortalError::OutOfOrder(_) => (
                "out_of_order",
                "not possible in the article's current state".into(),
            ),
            PortalError::Conflict(_) => ("conflict", "conflicts with existing data".into()),
            PortalError::Throttled { secs, .. } => (
                "throttled",
                format!("too many requests; try again in {secs} s"),
            ),
            PortalError::Store(_) | PortalError::Io(_) => {
                ("internal", "internal error; it has been logged".into())
            }
        }
    }
}

impl From<PortalError> for WebError {
    fn from(e: PortalError) -> Self {
        let status = e.status();
        let (code, en) = e.code();
        match e {
            PortalError::NotFound(what) => WebError::NotFound(what),
            e if status == StatusCode::INTERNAL_SERVER_ERROR => WebError::Internal(e.to_string()),
            e => WebError::Domain {
                status,
                code,
                zh: e.to_string(),
                en,
            },
        }
    }
}
