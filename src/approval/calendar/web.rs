//! 节假日维护: the calendar's JSON API and its admin page. Thin: parse, check the role, call
//! the calendar's functions, audit in the same transaction.

use axum::extract::rejection::StringRejection;
use axum::extract::{Form, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Extension, Json, Router};
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::{
    add_day, check_day, import_notice, parse_date, parse_notice, remove_day, versions, weekday_zh,
    Calendar, CalendarError, DayKind, ImportSummary, NoticeVersion,
};
use crate::auth::{audit, Role};
use crate::web::api::{ApiJson, ApiQuery};
use crate::web::{
    render, ApiError, AppState, Audited, Authed, Client, ErrorBody, PageError, WebError,
};

impl From<CalendarError> for WebError {
    fn from(e: CalendarError) -> Self {
        match e {
            CalendarError::Invalid(zh) => {
                WebError::bad_request("invalid_input", zh, "invalid calendar input; see message")
            }
            CalendarError::TooLarge(_) => WebError::bad_request(
                "notice_too_large",
                e.to_string(),
                format!("notice file larger than {} bytes", super::MAX_NOTICE_BYTES),
            ),
            CalendarError::Conflict(zh) => WebError::Conflict(zh),
            CalendarError::NotFound(what) => WebError::NotFound(what),
            CalendarError::Store(e) => e.into(),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(get_year, import, add, remove, due),
    components(schemas(YearView, DayView, NoticeVersion, ImportSummary, NewDay, DueView))
)]
pub struct CalendarApi;

/// The calendar's JSON routes: (path, handlers).
pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/api/calendar/years/{year}", get(get_year)),
        ("/api/calendar/notices", post(import)),
        ("/api/calendar/days", post(add)),
        ("/api/calendar/days/{date}/remove", post(remove)),
        ("/api/calendar/due", get(due)),
    ]
}

/// The 节假日维护 pages.
pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/calendar", get(page))
        .route("/calendar/days", post(page_add))
        .route("/calendar/days/{date}/remove", post(page_remove))
        .route("/calendar/import", post(page_import))
        .route(
            "/static/calendar.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    include_str!("calendar.js"),
                )
            }),
        )
}

#[derive(Serialize, ToSchema)]
pub struct DayView {
    pub date: String,
    pub weekday: &'static str,
    /// `holiday` (a weekday off) or `workday` (a weekend worked, 调休上班).
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct YearView {
    pub year: i16,
    /// Whether the year has a notice at all; without one, due dates into it are provisional.
    pub has_notice: bool,
    /// Whether the notice in force is the site's own (imported or edited) rather than shipped.
    pub from_site: bool,
    pub source: Option<String>,
    pub version: Option<String>,
    pub effective: Option<String>,
    pub days: Vec<DayView>,
    /// The site's imported versions, newest first.
    pub versions: Vec<NoticeVersion>,
}

fn check_year(year: i16) -> Result<i16, WebError> {
    if (1900..=9999).contains(&year) {
        Ok(year)
    } else {
        Err(CalendarError::Invalid(format!("年份 {year} 无效")).into())
    }
}

async fn year_view(st: &AppState, year: i16) -> Result<YearView, WebError> {
    let year = check_year(year)?;
    st.store
        .read(move |c| -> Result<YearView, CalendarError> {
            let cal = Calendar::load(c)?;
            let versions = versions(c, year)?;
            let n = cal.notice(year);
            Ok(YearView {
                year,
                has_notice: n.is_some(),
                from_site: versions.iter().any(|v| v.current),
                source: n.map(|n| n.source.clone()),
                version: n.map(|n| n.version.clone()),
                effective: n.map(|n| n.effective.to_string()),
                days: n
                    .map(|n| {
                        n.days
                            .iter()
                            .map(|d| DayView {
                                date: d.date.to_string(),
                                weekday: weekday_zh(d.date),
                                kind: d.kind.as_str(),
                                kind_label: d.kind.label_zh(),
                                name: d.name.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                versions,
            })
        })
        .await
        .map_err(WebError::from)
}

/// A year's holidays and make-up working days, and the site's versions of its notice.
#[utoipa::path(get, path = "/api/calendar/years/{year}", tag = "calendar",
    params(("year" = i16, Path)),
    responses((status = 200, body = YearView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn get_year(
    State(st): State<AppState>,
    _who: Authed,
    Path(year): Path<String>,
) -> Result<Json<YearView>, ApiError> {
    let year = year
        .parse::<i16>()
        .map_err(|_| CalendarError::Invalid(format!("年份 \"{}\" 无效", clip(&year))))?;
    Ok(Json(year_view(&st, year).await?))
}

async fn import_text(
    st: &AppState,
    who: &Authed,
    client: Client,
    text: String,
) -> Result<ImportSummary, WebError> {
    who.require(&[Role::Admin])?;
    let notice = parse_notice(&text)?;
    let entry = who.entry(
        client,
        "calendar.import",
        &format!("calendar:{}", notice.year),
        &format!("version {}", notice.version),
    );
    let by = who.0.user.username.clone();
    Ok(st
        .store
        .write(move |tx| -> Result<_, CalendarError> {
            let sum = import_notice(tx, &notice, &by)?;
            audit::append(tx, &entry)?;
            Ok(sum)
        })
        .await?)
}

/// Imports a notice file (the body, JSON as in docs/operator-guide.md) as the current version
/// of its year. Admins only. Malformed, hostile or oversized files are refused whole.
#[utoipa::path(post, path = "/api/calendar/notices", tag = "calendar",
    request_body(content = String, content_type = "application/json",
        description = "The notice file: {year, source, version, effective, days: [{date, kind, name}]}"),
    responses((status = 201, body = ImportSummary), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn import(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    body: Result<String, StringRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => WebError::TooLarge,
        _ => WebError::bad_request(
            "invalid_body",
            format!("通知文件无法读取（须为 UTF-8 文本）: {}", r.body_text()),
            format!("unreadable body (must be UTF-8 text): {}", r.body_text()),
        ),
    })?;
    let sum = import_text(&st, &who, client, body).await?;
    Ok((StatusCode::CREATED, Extension(Audited), Json(sum)).into_response())
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
pub struct NewDay {
    /// YYYY-MM-DD
    pub date: String,
    /// `holiday` (a weekday off) or `workday` (a weekend worked).
    pub kind: String,
    pub name: String,
}

async fn add_one(
    st: &AppState,
    who: &Authed,
    client: Client,
    day: &NewDay,
) -> Result<(), WebError> {
    who.require(&[Role::Admin])?;
    let date = parse_date(&day.date)?;
    let kind = DayKind::parse(&day.kind)?;
    let day = check_day(date.year(), date, kind, &day.name)?;
    let entry = who.entry(
        client,
        "calendar.day.add",
        &format!("calendar:{date}"),
        &format!("{} {}", kind.as_str(), day.name),
    );
    let by = who.0.user.username.clone();
    st.store
        .write(move |tx| -> Result<(), CalendarError> {
            add_day(tx, &day, &by)?;
            audit::append(tx, &entry)?;
            Ok(())
        })
        .await?;
    Ok(())
}

async fn remove_one(
    st: &AppState,
    who: &Authed,
    client: Client,
    date: &str,
) -> Result<(), WebError> {
    who.require(&[Role::Admin])?;
    let date = parse_date(date)?;
    let entry = who.entry(
        client,
        "calendar.day.remove",
        &format!("calendar:{date}"),
        "",
    );
    let by = who.0.user.username.clone();
    st.store
        .write(move |tx| -> Result<(), CalendarError> {
            remove_day(tx, date, &by)?;
            audit::append(tx, &entry)?;
            Ok(())
        })
        .await?;
    Ok(())
}

/// Adds one holiday (on a weekday) or make-up working day (on a weekend) to its year. Admins only.
#[utoipa::path(post, path = "/api/calendar/days", tag = "calendar", request_body = NewDay,
    responses((status = 201, body = YearView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(day): ApiJson<NewDay>,
) -> Result<Response, ApiError> {
    add_one(&st, &who, client, &day).await?;
    let view = year_view(&st, parse_date(&day.date)?.year()).await?;
    Ok((StatusCode::CREATED, Extension(Audited), Json(view)).into_response())
}

/// Removes one special day: the date becomes an ordinary weekday or weekend. Admins only.
#[utoipa::path(post, path = "/api/calendar/days/{date}/remove", tag = "calendar",
    params(("date" = String, Path, description = "YYYY-MM-DD")),
    responses((status = 200, body = YearView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    Path(date): Path<String>,
) -> Result<Response, ApiError> {
    remove_one(&st, &who, client, &date).await?;
    let view = year_view(&st, parse_date(&date)?.year()).await?;
    Ok((Extension(Audited), Json(view)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DueQuery {
    /// The acceptance date, YYYY-MM-DD (not counted).
    pub from: String,
    /// Working days to add.
    pub days: u32,
}

#[derive(Serialize, ToSchema)]
pub struct DueView {
    pub date: String,
    /// A year on the way has no notice loaded: recompute after importing it.
    pub provisional: bool,
}

/// The due date: `days` working days after `from` on the site's calendar.
#[utoipa::path(get, path = "/api/calendar/due", tag = "calendar", params(DueQuery),
    responses((status = 200, body = DueView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn due(
    State(st): State<AppState>,
    _who: Authed,
    ApiQuery(q): ApiQuery<DueQuery>,
) -> Result<Json<DueView>, ApiError> {
    let from = parse_date(&q.from)?;
    if q.days > 3650 {
        return Err(
            CalendarError::Invalid(format!("工作日数 {} 太大（最多 3650）", q.days)).into(),
        );
    }
    let due = st
        .store
        .read(move |c| Calendar::load(c).map(|cal| cal.add_working_days(from, q.days, &[])))
        .await
        .map_err(WebError::from)?;
    Ok(Json(DueView {
        date: due.date.to_string(),
        provisional: due.provisional,
    }))
}

fn clip(s: &str) -> String {
    s.chars().take(20).collect()
}

#[derive(Deserialize)]
pub struct YearQuery {
    year: Option<i16>,
}

#[derive(Deserialize)]
pub struct ImportForm {
    text: String,
}

/// What the page shows after an action.
#[derive(Default)]
struct Outcome {
    notice: Option<String>,
    error: Option<WebError>,
    form: Option<NewDay>,
    text: Option<String>,
}

async fn render_page(
    st: &AppState,
    who: &Authed,
    year: i16,
    outcome: Outcome,
) -> Result<Response, PageError> {
    who.require(&[Role::Admin])?;
    let view = year_view(st, year).await?;
    let status = outcome
        .error
        .as_ref()
        .map_or(StatusCode::OK, WebError::status);
    let error = outcome.error.map(|e| e.describe().1);
    let html = render(
        "calendar.html",
        st.layout("节假日维护", Some(&who.0)),
        context! { view, error, notice => outcome.notice, form => outcome.form,
        text => outcome.text, prev => year - 1, next => year + 1 },
    )?;
    Ok((status, html).into_response())
}

fn this_year() -> i16 {
    jiff::Zoned::now()
        .with_time_zone(crate::clock::shanghai())
        .year()
}

async fn page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> Result<Response, PageError> {
    let year = check_year(q.year.unwrap_or_else(this_year))?;
    render_page(&st, &who, year, Outcome::default()).await
}

/// The page after an action: the year it touched, a notice, or the error and the input to fix.
async fn after(
    st: &AppState,
    who: &Authed,
    year: i16,
    result: Result<String, WebError>,
    form: Option<NewDay>,
    text: Option<String>,
) -> Result<Response, PageError> {
    let done = result.is_ok();
    let outcome = match result {
        Ok(notice) => Outcome {
            notice: Some(notice),
            ..Outcome::default()
        },
        Err(e) => Outcome {
            error: Some(e),
            form,
            text,
            ..Outcome::default()
        },
    };
    let mut resp = render_page(st, who, year, outcome).await?;
    if done {
        resp.extensions_mut().insert(Audited);
    }
    Ok(resp)
}

/// The year a possibly bad date belongs to, for the page to come back to.
fn year_of(date: &str) -> i16 {
    parse_date(date).map_or_else(|_| this_year(), |d| d.year())
}

async fn page_add(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    Form(form): Form<NewDay>,
) -> Result<Response, PageError> {
    let result = add_one(&st, &who, client, &form)
        .await
        .map(|()| format!("已添加 {}（{}）", form.date, form.name.trim()));
    after(&st, &who, year_of(&form.date), result, Some(form), None).await
}

async fn page_remove(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    Path(date): Path<String>,
) -> Result<Response, PageError> {
    let result = remove_one(&st, &who, client, &date)
        .await
        .map(|()| format!("已删除 {date}，该日恢复为普通的工作日或周末"));
    after(&st, &who, year_of(&date), result, None, None).await
}

async fn page_import(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    Form(form): Form<ImportForm>,
) -> Result<Response, PageError> {
    match import_text(&st, &who, client, form.text.clone()).await {
        Ok(sum) => {
            let notice = format!(
                "已导入 {} 年放假通知（版本 {}，{} 个特殊日期）{}",
                sum.year,
                sum.version,
                sum.days,
                sum.replaced
                    .as_ref()
                    .map(|v| format!("，取代版本 {v}"))
                    .unwrap_or_default()
            );
            after(&st, &who, sum.year, Ok(notice), None, None).await
        }
        Err(e) => after(&st, &who, this_year(), Err(e), None, Some(form.text)).await,
    }
}
