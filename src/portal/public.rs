//! The portal listener's pages: everything here is public and read-only except the citizen
//! forms, which are protected by a double-submit CSRF token, a per-address flood limit and the
//! portal's small body limit. Content pages carry ETag and Last-Modified and answer 304.

use axum::extract::{FromRequest, FromRequestParts, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use minijinja::{context, Value};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{articles, columns, consult, letters, search, PortalError};
use crate::auth::audit;
use crate::store::Blobs;
use crate::web::guard::{self, Client};
use crate::web::{render, AppState, PageError, WebError};

/// The double-submit token of the public forms: this cookie must equal the `_csrf` field.
pub const FORM_COOKIE: &str = "govbox_portal";
pub const PER_PAGE: usize = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/columns/{code}", get(column_page))
        .route("/columns/{code}/feed.xml", get(feed))
        .route("/articles/{id}", get(article_page))
        .route("/files/{version}/{hash}", get(file))
        .route("/search", get(search_page))
        .route("/ask", get(ask_page).post(ask_submit))
        .route("/faq", get(faq_page))
        .route("/letters", get(letters_page).post(letter_submit))
        .route("/query", get(query_page).post(query_submit))
        .merge(super::service_pages::routes())
        .route(
            "/static/portal.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    super::CSS,
                )
            }),
        )
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(PageError))]
pub(super) struct PagePath<T>(pub T);

#[derive(FromRequest)]
#[from_request(via(axum::extract::Form), rejection(PageError))]
pub(super) struct PageForm<T>(pub T);

fn now() -> String {
    crate::clock::now_utc()
}

/// Values every portal page's layout needs.
pub(super) fn layout(st: &AppState, title: &str, nav: &[columns::Column]) -> Value {
    let nav: Vec<Value> = nav
        .iter()
        .map(|c| context! { code => c.code, name => c.name })
        .collect();
    context! {
        title,
        site_name => st.site.site.name,
        icp => st.site.portal.icp,
        nav,
        version => env!("CARGO_PKG_VERSION"),
    }
}

fn day(stored: &str) -> String {
    crate::clock::show(stored).chars().take(10).collect()
}

fn http_date(stored: &str) -> Option<String> {
    crate::clock::parse_utc(stored).map(|t| t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string())
}

/// A content page with validators: `ETag` (of the bytes) and `Last-Modified` (of the newest
/// content shown); a matching `If-None-Match` or `If-Modified-Since` gets 304.
fn cacheable(
    headers: &HeaderMap,
    content_type: &'static str,
    body: String,
    modified: Option<&str>,
) -> Response {
    let etag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(body.as_bytes()))[..20]
    );
    let last = modified.and_then(http_date);
    let not_modified = super::cache::not_modified(headers, &etag, last.as_deref());
    let mut h = vec![
        (header::ETAG, etag),
        (header::CACHE_CONTROL, "public, max-age=60".to_string()),
    ];
    if let Some(l) = last {
        h.push((header::LAST_MODIFIED, l));
    }
    let mut resp = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    for (k, v) in h {
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

pub(super) fn html_page(
    headers: &HeaderMap,
    html: Html<String>,
    modified: Option<&str>,
) -> Response {
    cacheable(headers, "text/html; charset=utf-8", html.0, modified)
}

async fn home(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let now = now();
    let (nav, blocks, last) = st
        .store
        .read(move |c| -> Result<_, PortalError> {
            let nav = columns::list(c)?;
            let mut blocks = Vec::new();
            for col in &nav {
                let (items, _) = articles::list_column(c, col.id, &now, 1, 6)?;
                let items: Vec<Value> = items
                    .iter()
                    .map(|i| context! { id => i.article_id, title => i.title, day => day(&i.published_at) })
                    .collect();
                blocks.push(context! { code => col.code, name => col.name, items });
            }
            Ok((nav, blocks, articles::last_published(c, None, &now)?))
        })
        .await?;
    let html = render(
        "portal_index.html",
        layout(&st, "首页", &nav),
        context! { blocks },
    )?;
    Ok(html_page(&headers, html, last.as_deref()))
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<usize>,
}

async fn column_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    PagePath(code): PagePath<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let page = q.page.unwrap_or(1).clamp(1, 10_000);
    let now = now();
    let (nav, column, items, total, last) = st
        .store
        .read(move |c| -> Result<_, PortalError> {
            let column = columns::by_code(c, &code)?;
            let (items, total) = articles::list_column(c, column.id, &now, page, PER_PAGE)?;
            let last = articles::last_published(c, Some(column.id), &now)?;
            Ok((columns::list(c)?, column, items, total, last))
        })
        .await?;
    let pages = total.div_ceil(PER_PAGE).max(1);
    if page > pages {
        return Err(WebError::NotFound(format!("第 {page} 页")).into());
    }
    let items: Vec<Value> = items
        .iter()
        .map(|i| context! { id => i.article_id, title => i.title, day => day(&i.published_at) })
        .collect();
    let html = render(
        "portal_column.html",
        layout(&st, &column.name, &nav),
        context! { column => Value::from_serialize(&column), items, page, pages, total,
        prev => (page > 1).then(|| page - 1), next => (page < pages).then(|| page + 1) },
    )?;
    Ok(html_page(&headers, html, last.as_deref()))
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An Atom feed of a column's newest 20 articles.
async fn feed(
    State(st): State<AppState>,
    headers: HeaderMap,
    PagePath(code): PagePath<String>,
) -> Result<Response, PageError> {
    let now = now();
    let (column, items) = st
        .store
        .read(move |c| -> Result<_, PortalError> {
            let column = columns::by_code(c, &code)?;
            let (items, _) = articles::list_column(c, column.id, &now, 1, 20)?;
            let mut full = Vec::new();
            for i in items {
                if let Some(p) = articles::visible(c, i.article_id, &now)? {
                    full.push(p);
                }
            }
            Ok((column, full))
        })
        .await?;
    let site = &st.site.site;
    let updated = items.first().map_or_else(
        || "1970-01-01T00:00:00Z".to_string(),
        |p| p.published_at.clone(),
    );
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"zh-CN\">\n\
         <title>{} - {}</title>\n<id>tag:{},2026:column/{}</id>\n<updated>{}</updated>\n\
         <link rel=\"self\" href=\"/columns/{}/feed.xml\"/>\n<link href=\"/columns/{}\"/>\n",
        xml(&column.name), xml(&site.name), site.id, xml(&column.code), updated,
        xml(&column.code), xml(&column.code)
    );
    for p in &items {
        x.push_str(&format!(
            "<entry>\n<title>{}</title>\n<id>tag:{},2026:article/{}</id>\n<link href=\"/articles/{}\"/>\n\
             <updated>{}</updated>\n<author><name>{}</name></author>\n<content type=\"html\">{}</content>\n</entry>\n",
            xml(&p.title), site.id, p.article_id, p.article_id, p.published_at, xml(&p.source), xml(&p.body_html)
        ));
    }
    x.push_str("</feed>\n");
    let last = items.first().map(|p| p.published_at.clone());
    Ok(cacheable(
        &headers,
        "application/atom+xml; charset=utf-8",
        x,
        last.as_deref(),
    ))
}

async fn article_page(
    State(st): State<AppState>,
    headers: HeaderMap,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let now = now();
    let (nav, column, a) = st
        .store
        .read(move |c| -> Result<_, PortalError> {
            let a = articles::visible(c, id, &now)?
                .ok_or_else(|| PortalError::NotFound(format!("文章 {id}")))?;
            Ok((columns::list(c)?, columns::get(c, a.column_id)?, a))
        })
        .await?;
    let files: Vec<Value> = a
        .files
        .iter()
        .map(|f| context! { hash => f.hash, name => f.name, kb => (f.size + 1023) / 1024 })
        .collect();
    let html = render(
        "portal_article.html",
        layout(&st, &a.title, &nav),
        context! { a => Value::from_serialize(&a), column => Value::from_serialize(&column),
        published => crate::clock::show(&a.published_at), files },
    )?;
    Ok(html_page(&headers, html, Some(&a.published_at)))
}

/// An attachment of a public version: only files that version lists, always as a download.
async fn file(
    State(st): State<AppState>,
    PagePath((vid, hash)): PagePath<(i64, String)>,
) -> Result<Response, PageError> {
    let now = now();
    let h = hash.clone();
    let name = st
        .store
        .read(move |c| -> Result<_, PortalError> {
            let v = articles::visible_version(c, vid, &now)?;
            Ok(v.and_then(|v| v.files.into_iter().find(|f| f.hash == h))
                .map(|f| f.name))
        })
        .await?
        .ok_or_else(|| WebError::NotFound("附件".into()))?;
    let blobs = Blobs::new(&st.site.storage.data_dir);
    let bytes = tokio::task::spawn_blocking(move || blobs.read(&hash))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| WebError::Internal(format!("blob: {e}")))?;
    Ok((super::files::download_headers(&name), bytes).into_response())
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn search_page(
    State(st): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let text = q.q.unwrap_or_default();
    let now = now();
    let t = text.clone();
    let (nav, result) = st
        .store
        .read(move |c| -> Result<_, PortalError> {
            let result = if t.trim().is_empty() {
                None
            } else {
                Some(search::search(c, &t, &now))
            };
            Ok((columns::list(c)?, result))
        })
        .await?;
    let (hits, error, status) = match result {
        None => (Vec::new(), None, StatusCode::OK),
        Some(Ok(h)) => (h, None, StatusCode::OK),
        Some(Err(e)) => (Vec::new(), Some(e.to_string()), e.status()),
    };
    let hits: Vec<Value> = hits
        .iter()
        .map(|h| {
            context! { id => h.article_id, title => h.title, column => h.column,
            day => day(&h.published_at), snippet => h.snippet }
        })
        .collect();
    let html = render(
        "portal_search.html",
        layout(&st, "站内搜索", &nav),
        context! { q => text, hits, error, searched => !text.trim().is_empty() },
    )?;
    Ok((status, html).into_response())
}

/// The form token: the visitor's existing one, or a new one set as a cookie.
pub(super) fn form_token(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match guard::cookie(headers, FORM_COOKIE).filter(|t| t.len() == 64) {
        Some(t) => (t, None),
        None => {
            let t = crate::auth::session::random_token();
            let c = guard::set_cookie(FORM_COOKIE, "/", Some(&t), false);
            (t, Some(c))
        }
    }
}

pub(super) fn check_token(headers: &HeaderMap, given: &str) -> Result<(), WebError> {
    match guard::cookie(headers, FORM_COOKIE) {
        Some(expected) if crate::auth::session::csrf_matches(&expected, given) => Ok(()),
        _ => Err(WebError::Csrf),
    }
}

/// A form page: never cached (it carries the visitor's token), with the cookie when new.
pub(super) fn form_page(
    html: Html<String>,
    status: StatusCode,
    cookie: Option<HeaderValue>,
) -> Response {
    let mut r = (status, html).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(c) = cookie {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}

pub(super) fn throttled(secs: u64, what: &'static str) -> WebError {
    PortalError::Throttled { what, secs }.into()
}

#[derive(Deserialize, Default, serde::Serialize)]
struct AskForm {
    #[serde(default)]
    _csrf: String,
    #[serde(default)]
    department_id: i64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    question: String,
    consent: Option<String>,
}

async fn ask_form(
    st: &AppState,
    headers: &HeaderMap,
    form: AskForm,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (token, cookie) = form_token(headers);
    let (nav, depts) = st
        .store
        .read(|c| -> Result<_, PortalError> { Ok((columns::list(c)?, consult::departments(c)?)) })
        .await?;
    let html = render(
        "portal_ask.html",
        layout(st, "网上咨询", &nav),
        context! { token, depts, error, f => Value::from_serialize(&form) },
    )?;
    Ok(form_page(html, status, cookie))
}

async fn ask_page(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    ask_form(&st, &headers, AskForm::default(), None, StatusCode::OK).await
}

async fn ask_submit(
    State(st): State<AppState>,
    headers: HeaderMap,
    client: Client,
    PageForm(form): PageForm<AskForm>,
) -> Result<Response, PageError> {
    check_token(&headers, &form._csrf)?;
    st.portal
        .form(client.0)
        .map_err(|s| throttled(s, "提交太频繁"))?;
    let q = consult::Question {
        department_id: form.department_id,
        name: form.name.clone(),
        phone: form.phone.clone(),
        subject: form.subject.clone(),
        question: form.question.clone(),
        consent: form.consent.is_some(),
    };
    let addr = client.0.to_string();
    let r = st
        .store
        .write(move |tx| -> Result<_, PortalError> {
            let s = consult::ask(tx, &q)?;
            audit::append(
                tx,
                &super::public_entry(&addr, "portal.ask", &format!("consultation:{}", s.number)),
            )?;
            Ok(s)
        })
        .await;
    match r {
        Ok(s) => receipt(&st, "网上咨询", "咨询已提交", s.number, s.code).await,
        Err(e) if e.status().is_client_error() => {
            let status = e.status();
            ask_form(&st, &headers, form, Some(e.to_string()), status).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn receipt(
    st: &AppState,
    title: &str,
    heading: &str,
    number: String,
    code: String,
) -> Result<Response, PageError> {
    let nav = st.store.read(columns::list).await?;
    let html = render(
        "portal_receipt.html",
        layout(st, title, &nav),
        context! { heading, number, code },
    )?;
    Ok(form_page(html, StatusCode::OK, None))
}

async fn faq_page(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let (nav, faq) = st
        .store
        .read(|c| -> Result<_, PortalError> { Ok((columns::list(c)?, consult::faq(c)?)) })
        .await?;
    let last = faq.first().map(|f| f.answered_at.clone());
    let items: Vec<Value> = faq
        .iter()
        .map(|f| context! { day => day(&f.answered_at), ..Value::from_serialize(f) })
        .collect();
    let html = render(
        "portal_faq.html",
        layout(&st, "便民问答", &nav),
        context! { items },
    )?;
    Ok(html_page(&headers, html, last.as_deref()))
}

#[derive(Deserialize, Default, serde::Serialize)]
struct LetterForm {
    #[serde(default)]
    _csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    consent: Option<String>,
}

async fn letter_form(
    st: &AppState,
    headers: &HeaderMap,
    form: LetterForm,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (token, cookie) = form_token(headers);
    let (nav, public) = st
        .store
        .read(|c| -> Result<_, PortalError> { Ok((columns::list(c)?, letters::public(c)?)) })
        .await?;
    let public: Vec<Value> = public
        .iter()
        .map(|l| context! { day => day(&l.replied_at), ..Value::from_serialize(l) })
        .collect();
    let html = render(
        "portal_letters.html",
        layout(st, "县长信箱", &nav),
        context! { token, public, error, f => Value::from_serialize(&form) },
    )?;
    Ok(form_page(html, status, cookie))
}

async fn letters_page(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    letter_form(&st, &headers, LetterForm::default(), None, StatusCode::OK).await
}

async fn letter_submit(
    State(st): State<AppState>,
    headers: HeaderMap,
    client: Client,
    PageForm(form): PageForm<LetterForm>,
) -> Result<Response, PageError> {
    check_token(&headers, &form._csrf)?;
    st.portal
        .form(client.0)
        .map_err(|s| throttled(s, "提交太频繁"))?;
    let l = letters::NewLetter {
        name: form.name.clone(),
        phone: form.phone.clone(),
        subject: form.subject.clone(),
        body: form.body.clone(),
        consent: form.consent.is_some(),
    };
    let addr = client.0.to_string();
    let r = st
        .store
        .write(move |tx| -> Result<_, PortalError> {
            let s = letters::send(tx, &l)?;
            audit::append(
                tx,
                &super::public_entry(&addr, "portal.letter", &format!("letter:{}", s.number)),
            )?;
            Ok(s)
        })
        .await;
    match r {
        Ok(s) => receipt(&st, "县长信箱", "来信已收到", s.number, s.code).await,
        Err(e) if e.status().is_client_error() => {
            let status = e.status();
            letter_form(&st, &headers, form, Some(e.to_string()), status).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default, serde::Serialize)]
struct QueryForm {
    #[serde(default)]
    _csrf: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    code: String,
}

async fn query_form(
    st: &AppState,
    headers: &HeaderMap,
    number: &str,
    result: Option<Value>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (token, cookie) = form_token(headers);
    let nav = st.store.read(columns::list).await?;
    let html = render(
        "portal_query.html",
        layout(st, "办理进度查询", &nav),
        context! { token, number, result, error },
    )?;
    Ok(form_page(html, status, cookie))
}

async fn query_page(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    query_form(&st, &headers, "", None, None, StatusCode::OK).await
}

/// Looks up a consultation (ZX…), a letter (XX…), an online application (WS…) or a complaint
/// (TS…) by its number and query code. A wrong
/// number and a wrong code look the same, and both count against the address.
async fn query_submit(
    State(st): State<AppState>,
    headers: HeaderMap,
    client: Client,
    PageForm(form): PageForm<QueryForm>,
) -> Result<Response, PageError> {
    check_token(&headers, &form._csrf)?;
    if let Err(secs) = st.portal.may_query(client.0) {
        let e = PortalError::Throttled {
            what: "查询码错误次数过多",
            secs,
        };
        return query_form(
            &st,
            &headers,
            &form.number,
            None,
            Some(e.to_string()),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
    }
    let number = form.number.trim().to_string();
    let code = form.code.trim().to_string();
    let n = number.clone();
    let found = st
        .store
        .read(move |c| -> Result<Option<Value>, PortalError> {
            if n.starts_with("ZX") {
                Ok(consult::find(c, &n, &code)?.map(|q| context! {
                    kind => "网上咨询", number => q.number, subject => q.subject,
                    asked => crate::clock::show(&q.asked_at), department => q.department,
                    answer => q.answer, answered => q.answered_at.as_deref().map(crate::clock::show),
                }))
            } else if n.starts_with("XX") {
                Ok(letters::find(c, &n, &code)?.map(|l| context! {
                    kind => "县长信箱", number => l.number, subject => l.subject,
                    asked => crate::clock::show(&l.sent_at), department => "县长信箱",
                    answer => l.reply, answered => l.replied_at.as_deref().map(crate::clock::show),
                }))
            } else {
                super::service_pages::lookup(c, &n, &code)
            }
        })
        .await?;
    match found {
        Some(v) => query_form(&st, &headers, &number, Some(v), None, StatusCode::OK).await,
        None => {
            st.portal.wrong_code(client.0);
            query_form(
                &st,
                &headers,
                &number,
                None,
                Some("编号或查询码不正确，请核对后再试".into()),
                StatusCode::NOT_FOUND,
            )
            .await
        }
    }
}
