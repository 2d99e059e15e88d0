//! The supervision pages under `/supervision/`: server-rendered, forms posting back with the
//! `_csrf` field, each successful post redirecting to the page that shows its result.

use axum::extract::{FromRequest, FromRequestParts, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::{context, Value};
use rusqlite::Connection;
use serde::Deserialize;

use super::api::{self, key, read, write, ComplaintRequest, ReportQuery};
use super::cards::{self, CardAction};
use super::evaluations::{self, Action};
use super::{charts, complaints, lights, reminders, stats, trace, Rules, SupervisionError};
use crate::web::api::ApiQuery;
use crate::web::guard::{Audited, Authed, Client};
use crate::web::{render, AppState, PageError};

/// This part's templates, registered with the web part's environment.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "supervision_cases.html",
        include_str!("templates/cases.html"),
    ),
    ("supervision_case.html", include_str!("templates/case.html")),
    (
        "supervision_cards.html",
        include_str!("templates/cards.html"),
    ),
    (
        "supervision_limits.html",
        include_str!("templates/limits.html"),
    ),
    (
        "supervision_complaints.html",
        include_str!("templates/complaints.html"),
    ),
    (
        "supervision_evaluations.html",
        include_str!("templates/evaluations.html"),
    ),
    (
        "supervision_stats.html",
        include_str!("templates/stats.html"),
    ),
    (
        "supervision_print.html",
        include_str!("templates/print.html"),
    ),
    (
        "supervision_charts.html",
        include_str!("templates/charts.html"),
    ),
    ("supervision_nav.html", include_str!("templates/nav.html")),
];

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/supervision", get(cases_page))
        .route("/supervision/cases/{receipt}", get(case_page))
        .route("/supervision/cases/{receipt}/remind", post(remind))
        .route("/supervision/cards", get(cards_page))
        .route("/supervision/cards/{id}", post(card_action))
        .route("/supervision/sweep", post(sweep))
        .route("/supervision/limits", get(limits_page))
        .route("/supervision/complaints", get(complaints_page))
        .route("/supervision/complaints/{number}", post(complaint_action))
        .route("/supervision/evaluations", get(evaluations_page))
        .route(
            "/supervision/evaluations/{receipt}",
            post(evaluation_action),
        )
        .route("/supervision/stats", get(stats_page))
        .route("/supervision/charts", get(charts_page))
        .route("/supervision/reminders/{id}/seen", post(reminder_seen))
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(PageError))]
struct PagePath<T>(T);

#[derive(FromRequest)]
#[from_request(via(axum::extract::Form), rejection(PageError))]
struct PageForm<T>(T);

fn page(
    st: &AppState,
    who: &Authed,
    name: &str,
    title: &str,
    ctx: Value,
) -> Result<Html<String>, PageError> {
    Ok(render(name, st.layout(title, Some(&who.0)), ctx)?)
}

fn redirect(to: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    r.extensions_mut().insert(Audited);
    r
}

fn rules(st: &AppState) -> Rules {
    Rules::from(&st.site.supervision)
}

/// Departments and items for the filter lists.
fn choices(c: &Connection) -> Result<(Value, Value), SupervisionError> {
    let depts: Vec<Value> = crate::auth::list_departments(c)?
        .into_iter()
        .map(|d| context! { id => d.id, name => d.name })
        .collect();
    let mut st = c.prepare_cached(
        "SELECT item_id, item_code, item_name FROM approval_case_facts GROUP BY item_id ORDER BY item_code",
    )?;
    let items: Vec<Value> = st
        .query_map([], |r| {
            Ok(
                context! { id => r.get::<_, i64>(0)?, code => r.get::<_, String>(1)?,
                name => r.get::<_, String>(2)? },
            )
        })?
        .collect::<Result<_, _>>()?;
    Ok((Value::from(depts), Value::from(items)))
}

async fn cases_page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(f): ApiQuery<lights::Filter>,
) -> Result<Html<String>, PageError> {
    let r = rules(&st);
    let q = f.clone();
    let (page_data, th, depts, items) = read(&st, &who, move |c, _| {
        let (p, th) = api::case_page(c, &r, &q)?;
        let (d, i) = choices(c)?;
        Ok((p, th, d, i))
    })
    .await?;
    let offset = f.offset.unwrap_or(0);
    let limit = f.limit.unwrap_or(100).clamp(1, 500);
    let next = (i64::from(offset) + i64::from(limit) < page_data.total).then(|| offset + limit);
    page(
        &st,
        &who,
        "supervision_cases.html",
        "电子监察",
        context! {
            page => page_data, f, depts, items, next, offset,
            states => super::facts::STATES.iter().map(|s| (s.to_string(), super::facts::state_zh(s))).collect::<Vec<_>>(),
            lights => lights::LIGHTS.iter().map(|l| (l.to_string(), lights::light_zh(l))).collect::<Vec<_>>(),
            today => th.today.to_string(),
            warn_days => st.site.supervision.warn_days,
            is_supervisor => who.0.user.has_any(super::SUPERVISORS),
        },
    )
}

async fn case_page(
    State(st): State<AppState>,
    who: Authed,
    PagePath(receipt): PagePath<String>,
) -> Result<Html<String>, PageError> {
    let receipt = key("receipt", &receipt)?;
    let r = rules(&st);
    let detail = read(&st, &who, move |c, _| api::case_detail(c, &r, &receipt)).await?;
    let picture = trace::svg(&detail.case.case, &detail.trace);
    let title = format!("办件 {}", detail.case.case.receipt);
    page(
        &st,
        &who,
        "supervision_case.html",
        &title,
        context! { d => detail, picture => Value::from_safe_string(picture) },
    )
}

#[derive(Deserialize)]
struct RemindForm {
    message: String,
}

async fn remind(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(receipt): PagePath<String>,
    PageForm(form): PageForm<RemindForm>,
) -> Result<Response, PageError> {
    let receipt = key("receipt", &receipt)?;
    let (object, to) = (
        format!("case:{receipt}"),
        format!("/supervision/cases/{receipt}"),
    );
    write(
        &st,
        &who,
        client,
        "supervision.remind",
        object,
        move |tx, u| reminders::manual(tx, u, &receipt, &form.message),
    )
    .await?;
    Ok(redirect(&to))
}

async fn cards_page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(f): ApiQuery<cards::Filter>,
) -> Result<Html<String>, PageError> {
    let q = f.clone();
    let user = who.0.user.clone();
    let (list, depts) = st
        .store
        .read(move |c| -> Result<_, SupervisionError> {
            Ok((cards::visible(c, &user, &q)?, choices(c)?.0))
        })
        .await?;
    let me = who.0.user.id;
    page(
        &st,
        &who,
        "supervision_cards.html",
        "黄牌红牌",
        context! { cards => list, f, depts, me,
        is_supervisor => who.0.user.has_any(super::SUPERVISORS) },
    )
}

#[derive(Deserialize)]
struct CardForm {
    action: String,
    #[serde(default)]
    text: String,
}

async fn card_action(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(id): PagePath<String>,
    PageForm(form): PageForm<CardForm>,
) -> Result<Response, PageError> {
    let id = api::id("id", &id)?;
    let action = match form.action.as_str() {
        "acknowledge" => CardAction::Acknowledge,
        "advice" => CardAction::Advice,
        "feedback" => CardAction::Feedback,
        "resolve" => CardAction::Resolve,
        _ => {
            return Err(SupervisionError::invalid("action", "未知的操作").into());
        }
    };
    write(
        &st,
        &who,
        client,
        "supervision.card",
        format!("card:{id}"),
        move |tx, u| cards::act(tx, u, id, action, &form.text),
    )
    .await?;
    Ok(redirect(&format!("/supervision/cards#card-{id}")))
}

async fn sweep(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
) -> Result<Response, PageError> {
    super::require_supervisor(&who.0.user)?;
    let r = rules(&st);
    let today = super::today();
    write(
        &st,
        &who,
        client,
        "supervision.sweep",
        "cards".into(),
        move |tx, _| {
            let cal = crate::approval::calendar::Calendar::load(tx.conn())?;
            cards::sweep(tx, &cal, &r, today)
        },
    )
    .await?;
    Ok(redirect("/supervision/cards"))
}

#[derive(Deserialize)]
struct LimitsQuery {
    view: Option<String>,
}

async fn limits_page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<LimitsQuery>,
) -> Result<Html<String>, PageError> {
    let view = q.view.unwrap_or_else(|| "business".into());
    let r = rules(&st);
    let v = view.clone();
    let rows = read(&st, &who, move |c, _| api::limits(c, &r, &v)).await?;
    let title = match view.as_str() {
        "supplement" => "补交告知时限",
        "special" => "特别程序时限",
        _ => "业务办理时限",
    };
    page(
        &st,
        &who,
        "supervision_limits.html",
        title,
        context! { rows, view, heading => title },
    )
}

async fn complaints_page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(f): ApiQuery<complaints::Filter>,
) -> Result<Html<String>, PageError> {
    let q = f.clone();
    let list = read(&st, &who, move |c, _| complaints::list(c, &q)).await?;
    page(
        &st,
        &who,
        "supervision_complaints.html",
        "投诉处理",
        context! { complaints => list, f, categories => complaints::CATEGORIES.to_vec(),
        is_supervisor => who.0.user.has_any(super::SUPERVISORS) },
    )
}

#[derive(Deserialize)]
struct ComplaintForm {
    action: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    text: String,
    substantiated: Option<String>,
    #[serde(default)]
    subject: String,
}

async fn complaint_action(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(number): PagePath<String>,
    PageForm(form): PageForm<ComplaintForm>,
) -> Result<Response, PageError> {
    let number = key("number", &number)?;
    let req = ComplaintRequest {
        action: form.action,
        assignee: form.assignee,
        text: form.text,
        substantiated: form.substantiated.is_some(),
        subject: form.subject,
    };
    let (object, to) = (
        format!("complaint:{number}"),
        format!("/supervision/complaints#c-{number}"),
    );
    write(
        &st,
        &who,
        client,
        "supervision.complaint",
        object,
        move |tx, u| api::complaint_action(tx, u, &number, &req),
    )
    .await?;
    Ok(redirect(&to))
}

async fn evaluations_page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(f): ApiQuery<evaluations::Filter>,
) -> Result<Html<String>, PageError> {
    let q = f.clone();
    let list = read(&st, &who, move |c, _| evaluations::list(c, &q)).await?;
    page(
        &st,
        &who,
        "supervision_evaluations.html",
        "评价与整改",
        context! { evaluations => list, f },
    )
}

#[derive(Deserialize)]
struct StepForm {
    action: String,
    note: String,
}

async fn evaluation_action(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(receipt): PagePath<String>,
    PageForm(form): PageForm<StepForm>,
) -> Result<Response, PageError> {
    let receipt = key("receipt", &receipt)?;
    let action = Action::parse(&form.action)
        .ok_or_else(|| SupervisionError::invalid("action", "未知的整改环节"))?;
    let (object, to) = (
        format!("evaluation:{receipt}"),
        format!("/supervision/evaluations#e-{receipt}"),
    );
    write(
        &st,
        &who,
        client,
        "supervision.evaluation",
        object,
        move |tx, u| evaluations::step(tx, Some(u), &receipt, action, &form.note),
    )
    .await?;
    Ok(redirect(&to))
}

#[derive(Deserialize, Default)]
struct StatsQuery {
    report: Option<String>,
    from: Option<String>,
    to: Option<String>,
    department_id: Option<String>,
    item_id: Option<String>,
    print: Option<String>,
}

fn opt_id(field: &'static str, v: &Option<String>) -> Result<Option<i64>, SupervisionError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => api::id(field, s).map(Some),
    }
}

async fn stats_page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Response, PageError> {
    let report = q.report.clone().unwrap_or_else(|| "handling".into());
    let rq = ReportQuery {
        from: q.from.clone(),
        to: q.to.clone(),
        department_id: opt_id("department_id", &q.department_id)?,
        item_id: opt_id("item_id", &q.item_id)?,
        format: None,
    };
    let scope = rq.scope();
    let r = report.clone();
    let (table, depts, items) = read(&st, &who, move |c, _| {
        let t = api::report_table(c, &r, &scope)?;
        let (d, i) = choices(c)?;
        Ok((t, d, i))
    })
    .await?;
    let query = serde_urlencoded::to_string([
        ("from", q.from.clone().unwrap_or_default()),
        ("to", q.to.clone().unwrap_or_default()),
        ("department_id", q.department_id.clone().unwrap_or_default()),
        ("item_id", q.item_id.clone().unwrap_or_default()),
    ])
    .unwrap_or_default();
    let reports: Vec<(String, &str)> = stats::REPORTS
        .iter()
        .map(|r| (r.code().to_string(), r.title()))
        .collect();
    let ctx = context! { table, reports, report, query, depts, items,
    from => q.from, to => q.to, department_id => q.department_id, item_id => q.item_id };
    let name = if q.print.is_some() {
        "supervision_print.html"
    } else {
        "supervision_stats.html"
    };
    Ok(page(&st, &who, name, "统计报表", ctx)?.into_response())
}

#[derive(Deserialize, Default)]
struct ChartsQuery {
    from: Option<String>,
    to: Option<String>,
}

async fn charts_page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<ChartsQuery>,
) -> Result<Html<String>, PageError> {
    let today = super::today();
    let scope = stats::ScopeQuery {
        from: q.from.clone(),
        to: q.to.clone(),
        department_id: None,
        item_id: None,
    }
    .scope(today)?;
    let svgs = read(&st, &who, move |c, _| {
        Ok(vec![
            charts::month_over_month(c, today)?,
            charts::year_over_year(c, today)?,
            charts::on_time_by_department(c, scope.from, scope.to)?,
            charts::cards_per_month(c, today)?,
        ])
    })
    .await?;
    let charts: Vec<Value> = svgs.into_iter().map(Value::from_safe_string).collect();
    page(
        &st,
        &who,
        "supervision_charts.html",
        "统计图表",
        context! { charts, from => q.from, to => q.to },
    )
}

async fn reminder_seen(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(id): PagePath<String>,
) -> Result<Response, PageError> {
    let id = api::id("id", &id)?;
    write(
        &st,
        &who,
        client,
        "supervision.reminder_seen",
        format!("reminder:{id}"),
        move |tx, u| reminders::mark_seen(tx, u, id),
    )
    .await?;
    Ok(redirect("/"))
}
