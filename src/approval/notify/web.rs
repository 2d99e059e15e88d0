//! 短信发送记录: the outbox for admins (JSON and a page), and a test message to check the
//! gateway end to end.

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Extension, Json, Router};
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::{enqueue, list, NotifyError, OutboxRow, Sms};
use crate::auth::{audit, Role};
use crate::web::api::{ApiJson, ApiQuery};
use crate::web::{
    render, ApiError, AppState, Audited, Authed, Client, ErrorBody, PageError, WebError,
};

impl From<NotifyError> for WebError {
    fn from(e: NotifyError) -> Self {
        match e {
            NotifyError::BadPhone(_)
            | NotifyError::BadText(_)
            | NotifyError::BadReference(_)
            | NotifyError::BadStatus(_) => WebError::bad_request(
                "invalid_input",
                e.to_string(),
                "invalid SMS input; see message",
            ),
            NotifyError::Gateway(m) => WebError::Internal(m),
            NotifyError::Store(e) => e.into(),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(list_outbox, send_test),
    components(schemas(OutboxRow, TestSms, Queued))
)]
pub struct SmsApi;

pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/api/sms", get(list_outbox)),
        ("/api/sms/test", post(send_test)),
    ]
}

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/sms", get(page))
        .route("/sms/test", post(page_test))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct OutboxQuery {
    /// `pending`, `sent` or `failed`; all when absent.
    pub status: Option<String>,
    /// 1–1000, default 200.
    pub limit: Option<u32>,
}

async fn rows(st: &AppState, who: &Authed, q: OutboxQuery) -> Result<Vec<OutboxRow>, WebError> {
    who.require(&[Role::Admin])?;
    let status = q.status.filter(|s| !s.is_empty());
    let limit = q.limit.unwrap_or(200);
    Ok(st
        .store
        .read(move |c| list(c, status.as_deref(), limit))
        .await?)
}

/// The SMS outbox, newest first: status, attempts and the last error. Admins only.
#[utoipa::path(get, path = "/api/sms", tag = "sms", params(OutboxQuery),
    responses((status = 200, body = Vec<OutboxRow>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_outbox(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> Result<Json<Vec<OutboxRow>>, ApiError> {
    Ok(Json(rows(&st, &who, q).await?))
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
pub struct TestSms {
    pub phone: String,
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct Queued {
    pub id: i64,
}

async fn queue_test(
    st: &AppState,
    who: &Authed,
    client: Client,
    t: &TestSms,
) -> Result<i64, WebError> {
    who.require(&[Role::Admin])?;
    let sms = Sms {
        phone: t.phone.trim().to_string(),
        text: t.text.clone(),
        reference: format!("test:{}", who.0.user.username),
    };
    let entry = who.entry(client, "sms.test", &format!("sms:{}", sms.phone), "");
    Ok(st
        .store
        .write(move |tx| -> Result<i64, NotifyError> {
            let id = enqueue(tx, &sms)?;
            audit::append(tx, &entry)?;
            Ok(id)
        })
        .await?)
}

/// Queues a test message to check the gateway; it is delivered like any other. Admins only.
#[utoipa::path(post, path = "/api/sms/test", tag = "sms", request_body = TestSms,
    responses((status = 201, body = Queued), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn send_test(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(t): ApiJson<TestSms>,
) -> Result<Response, ApiError> {
    let id = queue_test(&st, &who, client, &t).await?;
    Ok((StatusCode::CREATED, Extension(Audited), Json(Queued { id })).into_response())
}

#[derive(Serialize)]
struct RowView {
    #[serde(flatten)]
    row: OutboxRow,
    status_label: &'static str,
    created: String,
    sent: String,
}

async fn render_page(
    st: &AppState,
    who: &Authed,
    status: Option<String>,
    notice: Option<String>,
    error: Option<WebError>,
    form: Option<TestSms>,
) -> Result<Response, PageError> {
    let q = OutboxQuery {
        status: status.clone(),
        limit: Some(200),
    };
    let rows: Vec<RowView> = rows(st, who, q)
        .await?
        .into_iter()
        .map(|r| RowView {
            status_label: match r.status.as_str() {
                "sent" => "已发送",
                "failed" => "发送失败",
                _ => "待发送",
            },
            created: crate::clock::show(&r.created_at),
            sent: r
                .sent_at
                .as_deref()
                .map(crate::clock::show)
                .unwrap_or_default(),
            row: r,
        })
        .collect();
    let code = error.as_ref().map_or(StatusCode::OK, WebError::status);
    let error = error.map(|e| e.describe().1);
    let gateway = match (&st.site.sms.gateway, &st.site.sms.url) {
        (crate::site::SmsGateway::Http, Some(u)) => format!("HTTP 网关 {u}"),
        _ => "journal（只记录到日志，不实际发送）".to_string(),
    };
    let html = render(
        "sms.html",
        st.layout("短信发送记录", Some(&who.0)),
        context! { rows, notice, error, form, gateway, status },
    )?;
    Ok((code, html).into_response())
}

async fn page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> Result<Response, PageError> {
    render_page(
        &st,
        &who,
        q.status.filter(|s| !s.is_empty()),
        None,
        None,
        None,
    )
    .await
}

async fn page_test(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    Form(form): Form<TestSms>,
) -> Result<Response, PageError> {
    match queue_test(&st, &who, client, &form).await {
        Ok(id) => {
            let mut resp = render_page(
                &st,
                &who,
                None,
                Some(format!("测试短信已排队（编号 {id}），稍后刷新查看发送结果")),
                None,
                None,
            )
            .await?;
            resp.extensions_mut().insert(Audited);
            Ok(resp)
        }
        Err(e) => render_page(&st, &who, None, None, Some(e), Some(form)).await,
    }
}
