//! Every failure of a request becomes one of these, and is turned into a response here only:
//! JSON (a stable code plus Chinese and English messages) for `/api`, a page otherwise.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Serialize;

use crate::auth::AuthError;
use crate::store::StoreError;

#[derive(Debug)]
pub enum WebError {
    Unauthenticated,
    BadCredentials,
    Forbidden,
    AccountDisabled,
    Csrf,
    NotFound(String),
    BadRequest {
        code: &'static str,
        zh: String,
        en: String,
    },
    Conflict(String),
    Throttled(u64),
    TooLarge,
    UnsupportedMediaType,
    Internal(String),
    /// A part's own refusal, with the status and stable code that part chose for it.
    Domain {
        status: StatusCode,
        code: &'static str,
        zh: String,
        en: String,
    },
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `unauthenticated`, `bad_credentials`, `forbidden`,
    /// `account_disabled`, `csrf`, `not_found`, `invalid_input`, `weak_password`, `conflict`,
    /// `throttled`, `payload_too_large`, `internal`.
    pub code: String,
    pub message: String,
    pub message_en: String,
}

impl WebError {
    pub fn bad_request(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        WebError::BadRequest {
            code,
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            WebError::Unauthenticated | WebError::BadCredentials => StatusCode::UNAUTHORIZED,
            WebError::Forbidden | WebError::AccountDisabled | WebError::Csrf => {
                StatusCode::FORBIDDEN
            }
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Domain { status, .. } => *status,
        }
    }

    /// (code, Chinese, English). Internal details are logged, never shown.
    pub fn describe(&self) -> (&'static str, String, String) {
        match self {
            WebError::Unauthenticated => {
                ("unauthenticated", "请先登录".into(), "sign in first".into())
            }
            WebError::BadCredentials => (
                "bad_credentials",
                "用户名或密码错误".into(),
                "wrong username or password".into(),
            ),
            WebError::Forbidden => (
                "forbidden",
                "您的角色无权进行此操作".into(),
                "your roles do not allow this".into(),
            ),
            WebError::AccountDisabled => (
                "account_disabled",
                "该账号已停用，请联系系统管理员".into(),
                "this account is disabled; ask the administrator".into(),
            ),
            WebError::Csrf => (
                "csrf",
                "请求缺少有效的防伪令牌，请刷新页面后重试".into(),
                "missing or wrong CSRF token; reload the page and try again".into(),
            ),
            WebError::NotFound(what) => ("not_found", format!("找不到{what}"), "not found".into()),
            WebError::BadRequest { code, zh, en } | WebError::Domain { code, zh, en, .. } => {
                (code, zh.clone(), en.clone())
            }
            WebError::Conflict(zh) => (
                "conflict",
                zh.clone(),
                "conflicts with existing data".into(),
            ),
            WebError::Throttled(secs) => (
                "throttled",
                format!("登录失败次数过多，请 {secs} 秒后再试"),
                format!("too many failed sign-ins; try again in {secs} s"),
            ),
            WebError::TooLarge => (
                "payload_too_large",
                "提交的内容太大".into(),
                "request body too large".into(),
            ),
            WebError::UnsupportedMediaType => (
                "unsupported_media_type",
                "请以 JSON 格式提交 (Content-Type: application/json)".into(),
                "send JSON with Content-Type: application/json".into(),
            ),
            WebError::Internal(_) => (
                "internal",
                "服务器内部错误，已记录，请联系系统管理员".into(),
                "internal error; it has been logged".into(),
            ),
        }
    }

    fn log(&self) {
        if let WebError::Internal(detail) = self {
            log::error!("internal error: {detail}");
        }
    }
}

impl From<AuthError> for WebError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Invalid { field, zh, en } => {
                WebError::bad_request("invalid_input", format!("{zh}（{field}）"), format!("{en} ({field})"))
            }
            AuthError::WeakPassword(why) => WebError::bad_request(
                "weak_password",
                format!("密码不符合要求: {why}"),
                "password does not meet the policy (at least 10 characters, not the username, not a common password)",
            ),
            AuthError::Conflict(zh) => WebError::Conflict(zh),
            AuthError::NotFound(what) => WebError::NotFound(what),
            AuthError::BadCredentials => WebError::BadCredentials,
            AuthError::Disabled => WebError::AccountDisabled,
            AuthError::Throttled(secs) => WebError::Throttled(secs),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<crate::replication::ReplicationError> for WebError {
    fn from(e: crate::replication::ReplicationError) -> Self {
        use crate::replication::ReplicationError as R;
        match e {
            R::Protocol(zh) => WebError::bad_request("invalid_input", zh, "invalid input"),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<rusqlite::Error> for WebError {
    fn from(e: rusqlite::Error) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<axum::extract::rejection::JsonRejection> for WebError {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => WebError::TooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => WebError::UnsupportedMediaType,
            _ => WebError::bad_request(
                "invalid_json",
                format!("提交的 JSON 无法解析: {}", r.body_text()),
                format!("malformed JSON: {}", r.body_text()),
            ),
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for WebError {
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        WebError::bad_request(
            "invalid_query",
            format!("查询参数有误: {}", r.body_text()),
            format!("bad query parameters: {}", r.body_text()),
        )
    }
}

impl From<axum::extract::rejection::FormRejection> for WebError {
    fn from(r: axum::extract::rejection::FormRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return WebError::TooLarge;
        }
        WebError::bad_request(
            "invalid_form",
            format!("表单内容有误: {}", r.body_text()),
            format!("bad form: {}", r.body_text()),
        )
    }
}

impl From<axum::extract::rejection::PathRejection> for WebError {
    fn from(r: axum::extract::rejection::PathRejection) -> Self {
        WebError::bad_request(
            "invalid_path",
            format!("路径参数有误: {}", r.body_text()),
            format!("bad path parameter: {}", r.body_text()),
        )
    }
}

impl From<minijinja::Error> for WebError {
    fn from(e: minijinja::Error) -> Self {
        WebError::Internal(format!("template: {e:#}"))
    }
}

/// A JSON API failure.
pub struct ApiError(pub WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_error(&self.0)
    }
}

pub fn json_error(e: &WebError) -> Response {
    e.log();
    let (code, message, message_en) = e.describe();
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.into(),
            message,
            message_en,
        },
    };
    let mut resp = (e.status(), Json(body)).into_response();
    retry_after(e, &mut resp);
    resp
}

/// An HTML page failure: unauthenticated visitors go to the login page, others see a page.
pub struct PageError(pub WebError);

impl<E: Into<WebError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log();
        if matches!(e, WebError::Unauthenticated) {
            return Redirect::to("/login").into_response();
        }
        let (_, message, _) = e.describe();
        let html = super::templates::error_page(e.status(), &message);
        let mut resp = (e.status(), html).into_response();
        retry_after(&e, &mut resp);
        resp
    }
}

fn retry_after(e: &WebError, resp: &mut Response) {
    if let WebError::Throttled(secs) = e {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
}
