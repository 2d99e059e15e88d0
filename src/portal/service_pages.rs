//! The portal's pages for 办事指南, 网上申报 and 网上投诉 (see [`super::services`]).

use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use minijinja::{context, Value};
use serde::Deserialize;

use super::public::{self, PageForm, PagePath};
use super::services::{self, Upload, MAX_APPLICATION_BYTES};
use super::{columns, PortalError};
use crate::approval::{intake, items};
use crate::auth::audit;
use crate::store::Blobs;
use crate::supervision::complaints;
use crate::web::guard::Client;
use crate::web::{render, AppState, PageError, WebError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/guides", get(guides_page))
        .route("/guides/{code}", get(guide_page))
        .route("/guides/files/{hash}", get(guide_file))
        .route(
            "/apply/{code}",
            get(apply_page)
                .post(apply_submit)
                .layer(DefaultBodyLimit::max(MAX_APPLICATION_BYTES)),
        )
        .route("/complaints", get(complaint_page).post(complaint_submit))
}

#[derive(Deserialize)]
struct GuideQuery {
    q: Option<String>,
}

async fn guides_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<GuideQuery>,
) -> Result<Response, PageError> {
    let text = q.q.unwrap_or_default();
    let t = text.clone();
    let (nav, list) = st
        .store
        .read(move |c| -> Result<_, PortalError> {
            Ok((columns::list(c)?, services::guides(c, &t)?))
        })
        .await?;
    let html = render(
        "portal_guides.html",
        public::layout(&st, "办事指南", &nav),
        context! { items => Value::from_serialize(&list), gq => text },
    )?;
    Ok(public::html_page(&headers, html, None))
}

async fn guide_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    PagePath(code): PagePath<String>,
) -> Result<Response, PageError> {
    let (nav, item) = st
        .store
        .read(move |c| -> Result<_, PortalError> {
            Ok((columns::list(c)?, services::guide(c, &code)?))
        })
        .await?;
    let fees: Vec<Value> = item
        .fees
        .iter()
        .map(|f| {
            context! { name => f.name, unit => f.unit,
            yuan => format!("{}.{:02}", f.unit_price_fen / 100, f.unit_price_fen % 100) }
        })
        .collect();
    let updated = item.updated_at.clone();
    let html = render(
        "portal_guide.html",
        public::layout(&st, &item.name, &nav),
        context! { it => Value::from_serialize(&item), fees },
    )?;
    Ok(public::html_page(&headers, html, Some(&updated)))
}

/// A blank form, example or basis document of an active item: nothing else is served.
async fn guide_file(
    State(st): State<AppState>,
    PagePath(hash): PagePath<String>,
) -> Result<Response, PageError> {
    let h = hash.clone();
    let name = st
        .store
        .read(move |c| items::public_file(c, &h))
        .await
        .map_err(WebError::from)?
        .ok_or_else(|| WebError::NotFound("文件".into()))?;
    let blobs = Blobs::new(&st.site.storage.data_dir);
    let bytes = tokio::task::spawn_blocking(move || blobs.read(&hash))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| WebError::Internal(format!("blob: {e}")))?;
    Ok((super::files::download_headers(&name), bytes).into_response())
}

#[derive(Default, serde::Serialize)]
struct ApplyForm {
    applicant_kind: String,
    applicant_name: String,
    applicant_id_no: String,
    applicant_phone: String,
    description: String,
}

async fn apply_form(
    st: &AppState,
    headers: &HeaderMap,
    code: String,
    form: ApplyForm,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (token, cookie) = public::form_token(headers);
    let (nav, item) = st
        .store
        .read(move |c| -> Result<_, PortalError> {
            Ok((columns::list(c)?, services::guide(c, &code)?))
        })
        .await?;
    if !item.online {
        return Err(WebError::NotFound(format!("事项 {} 的网上申报", item.name)).into());
    }
    let html = render(
        "portal_apply.html",
        public::layout(st, &format!("网上申报：{}", item.short_name), &nav),
        context! { token, it => Value::from_serialize(&item), error, f => Value::from_serialize(&form),
        max_mb => super::files::MAX_FILE >> 20 },
    )?;
    Ok(public::form_page(html, status, cookie))
}

async fn apply_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    PagePath(code): PagePath<String>,
) -> Result<Response, PageError> {
    apply_form(
        &st,
        &headers,
        code,
        ApplyForm::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// Reads the multipart form whole (bounded by the route's body limit): fields, and files named
/// `m<index of the material>`.
async fn read_multipart(
    mut mp: Multipart,
    item: &items::Item,
) -> Result<(String, ApplyForm, Vec<Upload>), WebError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            WebError::TooLarge
        } else {
            WebError::bad_request(
                "invalid_form",
                format!("表单内容有误: {}", e.body_text()),
                "bad multipart form",
            )
        }
    };
    let (mut token, mut f, mut uploads) = (String::new(), ApplyForm::default(), Vec::new());
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        if let Some(i) = name.strip_prefix('m').and_then(|i| i.parse::<usize>().ok()) {
            let file_name = field.file_name().unwrap_or("").to_string();
            let bytes = field.bytes().await.map_err(bad)?;
            if bytes.is_empty() && file_name.is_empty() {
                continue;
            }
            let material = item
                .materials
                .get(i)
                .map(|m| m.name.clone())
                .ok_or_else(|| {
                    WebError::bad_request("invalid_form", "没有这项申请材料", "unknown material")
                })?;
            uploads.push(Upload {
                material,
                file_name,
                bytes: bytes.to_vec(),
            });
            continue;
        }
        let text = field.text().await.map_err(bad)?;
        match name.as_str() {
            "_csrf" => token = text,
            "applicant_kind" => f.applicant_kind = text,
            "applicant_name" => f.applicant_name = text,
            "applicant_id_no" => f.applicant_id_no = text,
            "applicant_phone" => f.applicant_phone = text,
            "description" => f.description = text,
            _ => {}
        }
    }
    Ok((token, f, uploads))
}

async fn apply_submit(
    State(st): State<AppState>,
    headers: HeaderMap,
    client: Client,
    PagePath(code): PagePath<String>,
    mp: Multipart,
) -> Result<Response, PageError> {
    let c = code.clone();
    let item = st.store.read(move |conn| services::guide(conn, &c)).await?;
    let (token, form, uploads) = read_multipart(mp, &item).await?;
    public::check_token(&headers, &token)?;
    st.portal
        .form(client.0)
        .map_err(|s| public::throttled(s, "提交太频繁"))?;
    let blobs = Blobs::new(&st.site.storage.data_dir);
    let it = item.clone();
    let stored =
        tokio::task::spawn_blocking(move || services::store_uploads(&blobs, &it, &uploads))
            .await
            .map_err(|e| WebError::Internal(e.to_string()))?;
    let materials = match stored {
        Ok(m) => m,
        Err(e) if e.status().is_client_error() => {
            let status = e.status();
            return apply_form(&st, &headers, code, form, Some(e.to_string()), status).await;
        }
        Err(e) => return Err(e.into()),
    };
    let app = intake::NewApplication {
        item_code: item.code.clone(),
        applicant_kind: form.applicant_kind.clone(),
        applicant_name: form.applicant_name.clone(),
        applicant_id_no: form.applicant_id_no.clone(),
        applicant_phone: form.applicant_phone.clone(),
        description: form.description.clone(),
        materials,
    };
    let addr = client.0.to_string();
    let r = st
        .store
        .write(move |tx| -> Result<_, PortalError> {
            let s = services::apply(tx, &app)?;
            audit::append(
                tx,
                &super::public_entry(&addr, "portal.apply", &format!("intake:{}", s.number)),
            )?;
            Ok(s)
        })
        .await;
    match r {
        Ok(s) => public::receipt(&st, "网上申报", "申报已提交，等待预审", s.number, s.code).await,
        Err(e) if e.status().is_client_error() => {
            let status = e.status();
            apply_form(&st, &headers, code, form, Some(e.to_string()), status).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default, serde::Serialize)]
struct ComplaintForm {
    #[serde(default)]
    _csrf: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    receipt: String,
}

async fn complaint_form(
    st: &AppState,
    headers: &HeaderMap,
    form: ComplaintForm,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (token, cookie) = public::form_token(headers);
    let nav = st.store.read(columns::list).await?;
    let html = render(
        "portal_complaint.html",
        public::layout(st, "网上投诉", &nav),
        context! { token, error, f => Value::from_serialize(&form), categories => complaints::CATEGORIES },
    )?;
    Ok(public::form_page(html, status, cookie))
}

async fn complaint_page(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    complaint_form(
        &st,
        &headers,
        ComplaintForm::default(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn complaint_submit(
    State(st): State<AppState>,
    headers: HeaderMap,
    client: Client,
    PageForm(form): PageForm<ComplaintForm>,
) -> Result<Response, PageError> {
    public::check_token(&headers, &form._csrf)?;
    st.portal
        .form(client.0)
        .map_err(|s| public::throttled(s, "提交太频繁"))?;
    let c = complaints::NewComplaint {
        category: form.category.clone(),
        target: form.target.clone(),
        name: form.name.clone(),
        phone: form.phone.clone(),
        body: form.body.clone(),
        receipt: Some(form.receipt.trim().to_string()).filter(|r| !r.is_empty()),
    };
    let addr = client.0.to_string();
    let r = st
        .store
        .write(move |tx| -> Result<_, PortalError> {
            let s = complaints::submit(tx, &c)?;
            audit::append(
                tx,
                &super::public_entry(
                    &addr,
                    "portal.complaint",
                    &format!("complaint:{}", s.number),
                ),
            )?;
            Ok(s)
        })
        .await;
    match r {
        Ok(s) => public::receipt(&st, "网上投诉", "投诉已提交", s.number, s.code).await,
        Err(e) if e.status().is_client_error() => {
            let status = e.status();
            complaint_form(&st, &headers, form, Some(e.to_string()), status).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The applicant's or complainant's view for the progress query, or `None` when the number
/// or the code is wrong.
pub fn lookup(
    conn: &rusqlite::Connection,
    number: &str,
    code: &str,
) -> Result<Option<Value>, PortalError> {
    if number.starts_with("WS") {
        return Ok(intake::progress(conn, number, code)?.map(|p| {
            let steps: Vec<Value> = p
                .steps
                .iter()
                .map(|s| context! { at => crate::clock::show(&s.at), label => s.label_zh })
                .collect();
            context! {
                kind => "网上申报", number => p.number, subject => p.item_name,
                asked => crate::clock::show(&p.submitted_at), state => p.state_zh,
                reason => p.reason, receipt => p.receipt, case_state => p.case_state_zh,
                due_on => p.due_on, closed_on => p.closed_on, outcome => p.outcome_zh, steps,
            }
        }));
    }
    if number.starts_with("TS") {
        return Ok(complaints::progress(conn, number, code)?.map(|p| {
            context! {
                kind => "网上投诉", number => p.number, subject => p.category,
                asked => crate::clock::show(&p.submitted_at), state => p.state_zh,
                answer => p.reply, answered => p.replied_at.as_deref().map(crate::clock::show),
            }
        }));
    }
    Ok(None)
}
