//! The supervision part's one error type, and the one place it becomes an HTTP status and code.

use axum::http::StatusCode;

use crate::approval::calendar::CalendarError;
use crate::approval::notify::NotifyError;
use crate::auth::AuthError;
use crate::store::StoreError;
use crate::web::WebError;

#[derive(Debug, thiserror::Error)]
pub enum SupervisionError {
    #[error("{zh}（{field}）")]
    Invalid { field: &'static str, zh: String },
    #[error("找不到{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    OutOfOrder(String),
    #[error("{0}")]
    Conflict(String),
    #[error("工作日历: {0}")]
    Calendar(String),
    #[error("导出失败: {0}")]
    Export(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for SupervisionError {
    fn from(e: rusqlite::Error) -> Self {
        SupervisionError::Store(e.into())
    }
}

impl From<AuthError> for SupervisionError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::NotFound(what) => SupervisionError::NotFound(what),
            AuthError::Store(s) => SupervisionError::Store(s),
            other => SupervisionError::Conflict(other.to_string()),
        }
    }
}

impl From<crate::approval::ApprovalError> for SupervisionError {
    fn from(e: crate::approval::ApprovalError) -> Self {
        use crate::approval::ApprovalError as A;
        match e {
            A::NotFound(what) => SupervisionError::NotFound(what),
            A::Store(s) => SupervisionError::Store(s),
            other => SupervisionError::Conflict(other.to_string()),
        }
    }
}

impl From<CalendarError> for SupervisionError {
    fn from(e: CalendarError) -> Self {
        match e {
            CalendarError::Store(s) => SupervisionError::Store(s),
            other => SupervisionError::Calendar(other.to_string()),
        }
    }
}

impl From<NotifyError> for SupervisionError {
    fn from(e: NotifyError) -> Self {
        match e {
            NotifyError::Store(s) => SupervisionError::Store(s),
            other => SupervisionError::Conflict(other.to_string()),
        }
    }
}

impl SupervisionError {
    pub fn invalid(field: &'static str, zh: impl Into<String>) -> SupervisionError {
        SupervisionError::Invalid {
            field,
            zh: zh.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            SupervisionError::Invalid { .. } => StatusCode::BAD_REQUEST,
            SupervisionError::NotFound(_) => StatusCode::NOT_FOUND,
            SupervisionError::Forbidden(_) => StatusCode::FORBIDDEN,
            SupervisionError::OutOfOrder(_) | SupervisionError::Conflict(_) => StatusCode::CONFLICT,
            SupervisionError::Calendar(_)
            | SupervisionError::Export(_)
            | SupervisionError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code and an English message.
    pub fn code(&self) -> (&'static str, String) {
        match self {
            SupervisionError::Invalid { field, .. } => {
                ("invalid_input", format!("invalid {field}"))
            }
            SupervisionError::NotFound(_) => ("not_found", "not found".into()),
            SupervisionError::Forbidden(_) => ("forbidden", "not allowed for you".into()),
            SupervisionError::OutOfOrder(_) => (
                "out_of_order",
                "not possible in the object's current state".into(),
            ),
            SupervisionError::Conflict(_) => ("conflict", "conflicts with existing data".into()),
            SupervisionError::Calendar(_)
            | SupervisionError::Export(_)
            | SupervisionError::Store(_) => {
                ("internal", "internal error; it has been logged".into())
            }
        }
    }

    /// CLI exit code: bad input is the operator's to fix (2), anything else ours (1).
    pub fn exit_code(&self) -> u8 {
        match self {
            SupervisionError::Invalid { .. }
            | SupervisionError::NotFound(_)
            | SupervisionError::OutOfOrder(_)
            | SupervisionError::Conflict(_) => 2,
            _ => 1,
        }
    }
}

impl From<SupervisionError> for WebError {
    fn from(e: SupervisionError) -> Self {
        let status = e.status();
        let (code, en) = e.code();
        match status {
            StatusCode::NOT_FOUND => match e {
                SupervisionError::NotFound(what) => WebError::NotFound(what),
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
