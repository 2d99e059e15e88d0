//! The supervision part's JSON API under `/api/supervision/`. Handlers are thin: parse, check
//! the role, call one domain function (writes together with their audit row), answer.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Extension, Json};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::cards::{self, Card, CardAction, SweepOutcome};
use super::complaints::{self, Complaint};
use super::evaluations::{self, Evaluation};
use super::lights::{self, LitCase, Page, Thresholds};
use super::reminders::{self, Reminder};
use super::stats::{self, Report, ScopeQuery, Table};
use super::trace::{self, TraceStep};
use super::{export, facts, Rules, SupervisionError};
use crate::approval::calendar::Calendar;
use crate::auth::User;
use crate::store::WriteTx;
use crate::web::api::{ApiJson, ApiQuery};
use crate::web::guard::{Audited, Authed, Client};
use crate::web::{ApiError, AppState, ErrorBody};

#[derive(OpenApi)]
#[openapi(
    paths(
        list_cases, get_case, remind_case, list_limits, list_cards, act_card, run_sweep,
        list_complaints, act_complaint, list_evaluations, evaluation_step, get_report,
        seen_reminder
    ),
    components(schemas(
        Page, LitCase, facts::CaseFact, lights::LightCounts, CaseDetail, TraceStep, Card,
        Reminder, RemindRequest, CardRequest, CardAction, SweepOutcome, Complaint,
        ComplaintRequest, Evaluation, evaluations::Step, evaluations::Action, StepRequest, Table,
        stats::Cell, Report
    )),
    tags((name = "supervision", description = "电子监察: lights, cards, reminders, complaints, evaluations, statistics"))
)]
pub struct SupervisionApi;

impl SupervisionApi {
    pub fn openapi_doc() -> utoipa::openapi::OpenApi {
        <SupervisionApi as OpenApi>::openapi()
    }
}

pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/api/supervision/cases", get(list_cases)),
        ("/api/supervision/cases/{receipt}", get(get_case)),
        ("/api/supervision/cases/{receipt}/remind", post(remind_case)),
        ("/api/supervision/limits/{view}", get(list_limits)),
        ("/api/supervision/cards", get(list_cards)),
        ("/api/supervision/cards/{id}", post(act_card)),
        ("/api/supervision/sweep", post(run_sweep)),
        ("/api/supervision/complaints", get(list_complaints)),
        ("/api/supervision/complaints/{number}", post(act_complaint)),
        ("/api/supervision/evaluations", get(list_evaluations)),
        (
            "/api/supervision/evaluations/{receipt}/steps",
            post(evaluation_step),
        ),
        ("/api/supervision/reports/{report}", get(get_report)),
        ("/api/supervision/reminders/{id}/seen", post(seen_reminder)),
    ]
}

/// Receipt and complaint numbers: letters, digits and `-`; anything else is refused before
/// any lookup.
pub fn key(field: &'static str, v: &str) -> Result<String, SupervisionError> {
    let v = v.trim();
    if v.is_empty() || v.len() > 40 || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(SupervisionError::invalid(
            field,
            format!(
                "编号 \"{}\" 格式不对：只能含字母、数字和 -",
                super::short(v)
            ),
        ));
    }
    Ok(v.to_string())
}

pub fn id(field: &'static str, v: &str) -> Result<i64, SupervisionError> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| SupervisionError::invalid(field, format!("\"{}\" 不是编号", super::short(v))))
}

pub async fn read<T, F>(st: &AppState, who: &Authed, f: F) -> Result<T, SupervisionError>
where
    F: FnOnce(&Connection, &User) -> Result<T, SupervisionError> + Send + 'static,
    T: Send + 'static,
{
    super::require_viewer(&who.0.user)?;
    let user = who.0.user.clone();
    st.store.read(move |c| f(c, &user)).await
}

pub use crate::web::guard::audited_write as write;

fn rules(st: &AppState) -> Rules {
    Rules::from(&st.site.supervision)
}

fn audited<T: Serialize>(status: StatusCode, v: T) -> Response {
    (status, Extension(Audited), Json(v)).into_response()
}

pub fn case_page(
    c: &Connection,
    rules: &Rules,
    f: &lights::Filter,
) -> Result<(Page, Thresholds), SupervisionError> {
    let cal = Calendar::load(c)?;
    let th = Thresholds::new(&cal, rules, super::today());
    Ok((lights::list(c, &cal, &th, f)?, th))
}

/// The supervision view: cases with their light, filtered; the count of each light over all
/// matches. Supervisors, leaders, department heads, admins.
#[utoipa::path(get, path = "/api/supervision/cases", tag = "supervision", params(lights::Filter),
    responses((status = 200, body = Page), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_cases(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(f): ApiQuery<lights::Filter>,
) -> Result<Json<Page>, ApiError> {
    let r = rules(&st);
    Ok(Json(
        read(&st, &who, move |c, _| Ok(case_page(c, &r, &f)?.0)).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    pub case: LitCase,
    pub trace: Vec<TraceStep>,
    pub cards: Vec<Card>,
    pub reminders: Vec<Reminder>,
    pub evaluation: Option<Evaluation>,
}

pub fn case_detail(
    c: &Connection,
    rules: &Rules,
    receipt: &str,
) -> Result<CaseDetail, SupervisionError> {
    let case = facts::by_receipt(c, receipt)?
        .ok_or_else(|| SupervisionError::NotFound(format!("办件 {receipt}")))?;
    let cal = Calendar::load(c)?;
    let today = super::today();
    let th = Thresholds::new(&cal, rules, today);
    let trace = trace::steps(c, &cal, &case, today)?;
    let light = lights::of(&th, &case).to_string();
    let f = cards::Filter {
        receipt: Some(case.receipt.clone()),
        ..Default::default()
    };
    let evaluation = match evaluations::get(c, &case.receipt) {
        Ok(e) => Some(e),
        Err(SupervisionError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    Ok(CaseDetail {
        cards: cards::list(c, &f)?,
        reminders: reminders::list(c, Some(&case.receipt))?,
        trace,
        evaluation,
        case: lights::lit(&cal, &th, case, light),
    })
}

/// One case: its light, trace (each step, who, working days), cards, reminders, evaluation.
#[utoipa::path(get, path = "/api/supervision/cases/{receipt}", tag = "supervision",
    params(("receipt" = String, Path, description = "受理编号")),
    responses((status = 200, body = CaseDetail), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_case(
    State(st): State<AppState>,
    who: Authed,
    axum::extract::Path(receipt): axum::extract::Path<String>,
) -> Result<Json<CaseDetail>, ApiError> {
    let receipt = key("receipt", &receipt)?;
    let r = rules(&st);
    Ok(Json(
        read(&st, &who, move |c, _| case_detail(c, &r, &receipt)).await?,
    ))
}

#[derive(Debug, Deserialize, Serialize, ToSchema, Default)]
pub struct RemindRequest {
    pub message: String,
}

/// 催办: urges the handler of an open case; it shows on the handler's 工作台.
#[utoipa::path(post, path = "/api/supervision/cases/{receipt}/remind", tag = "supervision",
    params(("receipt" = String, Path, description = "受理编号")), request_body = RemindRequest,
    responses((status = 201, body = Reminder), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn remind_case(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    axum::extract::Path(receipt): axum::extract::Path<String>,
    ApiJson(req): ApiJson<RemindRequest>,
) -> Result<Response, ApiError> {
    let receipt = key("receipt", &receipt)?;
    let object = format!("case:{receipt}");
    let r = write(
        &st,
        &who,
        client,
        "supervision.remind",
        object,
        move |tx, u| reminders::manual(tx, u, &receipt, &req.message),
    )
    .await?;
    Ok(audited(StatusCode::CREATED, r))
}

/// The three time-limit views: `business` (业务办理时限: open cases whose clock runs),
/// `supplement` (补交告知时限: waiting for the applicant's supplement), `special` (特别程序时限:
/// paused for hearing, testing, inspection or expert review).
pub fn limits(c: &Connection, rules: &Rules, view: &str) -> Result<Vec<LitCase>, SupervisionError> {
    let cond = match view {
        "business" => "closed = 0 AND paused = 0",
        "supplement" => "closed = 0 AND state = 'supplement'",
        "special" => "closed = 0 AND paused = 1 AND state <> 'supplement'",
        other => {
            return Err(SupervisionError::invalid(
                "view",
                format!(
                    "时限视图 \"{}\" 无效：只能是 business、supplement 或 special",
                    super::short(other)
                ),
            ))
        }
    };
    let cal = Calendar::load(c)?;
    let th = Thresholds::new(&cal, rules, super::today());
    let mut st = c.prepare(&format!(
        "SELECT {cols}, {light} FROM approval_case_facts WHERE {cond}
          ORDER BY due_on, statutory_due_on, case_id LIMIT 500",
        cols = facts::COLUMNS,
        light = lights::LIGHT_SQL
    ))?;
    let rows = st
        .query_map(
            rusqlite::params![th.today.to_string(), th.yellow_until.to_string()],
            |r| Ok((facts::from_row(r)?, r.get::<_, String>(22)?)),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|(case, light)| lights::lit(&cal, &th, case, light))
        .collect())
}

/// A time-limit view (`business`, `supplement` or `special`), nearest due first, up to 500.
#[utoipa::path(get, path = "/api/supervision/limits/{view}", tag = "supervision",
    params(("view" = String, Path, description = "business | supplement | special")),
    responses((status = 200, body = Vec<LitCase>), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn list_limits(
    State(st): State<AppState>,
    who: Authed,
    axum::extract::Path(view): axum::extract::Path<String>,
) -> Result<Json<Vec<LitCase>>, ApiError> {
    let r = rules(&st);
    Ok(Json(
        read(&st, &who, move |c, _| limits(c, &r, &view)).await?,
    ))
}

/// Yellow and red cards, open ones first: all of them for supervision's viewers, the ones they
/// answer for to handlers and department heads.
#[utoipa::path(get, path = "/api/supervision/cards", tag = "supervision", params(cards::Filter),
    responses((status = 200, body = Vec<Card>), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn list_cards(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(f): ApiQuery<cards::Filter>,
) -> Result<Json<Vec<Card>>, ApiError> {
    let user = who.0.user.clone();
    Ok(Json(
        st.store.read(move |c| cards::visible(c, &user, &f)).await?,
    ))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct CardRequest {
    pub action: CardAction,
    /// The advice letter (advice) or the feedback (feedback).
    #[serde(default)]
    pub text: String,
}

/// Acts on a card: `acknowledge` (handler, department head), `advice` (监察建议书,
/// supervisor), `feedback` (handler, department head), `resolve` (supervisor).
#[utoipa::path(post, path = "/api/supervision/cards/{id}", tag = "supervision",
    params(("id" = i64, Path)), request_body = CardRequest,
    responses((status = 200, body = Card), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn act_card(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    axum::extract::Path(card): axum::extract::Path<String>,
    ApiJson(req): ApiJson<CardRequest>,
) -> Result<Response, ApiError> {
    let card = id("id", &card)?;
    let k = write(
        &st,
        &who,
        client,
        "supervision.card",
        format!("card:{card}"),
        move |tx, u| cards::act(tx, u, card, req.action, &req.text),
    )
    .await?;
    Ok(audited(StatusCode::OK, k))
}

/// Runs the card sweep now (it also runs on its timer). Supervisors and admins.
#[utoipa::path(post, path = "/api/supervision/sweep", tag = "supervision",
    responses((status = 200, body = SweepOutcome), (status = 403, body = ErrorBody)))]
async fn run_sweep(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
) -> Result<Response, ApiError> {
    super::require_supervisor(&who.0.user)?;
    let r = rules(&st);
    let today = super::today();
    let o = write(
        &st,
        &who,
        client,
        "supervision.sweep",
        "cards".into(),
        move |tx, _| {
            let cal = Calendar::load(tx.conn())?;
            cards::sweep(tx, &cal, &r, today)
        },
    )
    .await?;
    Ok(audited(StatusCode::OK, o))
}

/// Complaints from the portal, open ones first.
#[utoipa::path(get, path = "/api/supervision/complaints", tag = "supervision",
    params(complaints::Filter),
    responses((status = 200, body = Vec<Complaint>), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn list_complaints(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(f): ApiQuery<complaints::Filter>,
) -> Result<Json<Vec<Complaint>>, ApiError> {
    Ok(Json(
        read(&st, &who, move |c, _| complaints::list(c, &f)).await?,
    ))
}

#[derive(Debug, Deserialize, Serialize, ToSchema, Default)]
pub struct ComplaintRequest {
    /// `assign`, `reply` or `close`.
    pub action: String,
    /// assign: the user name to hand it to.
    #[serde(default)]
    pub assignee: String,
    /// reply: the answer the complainant sees.
    #[serde(default)]
    pub text: String,
    /// close: whether it was justified (查实).
    #[serde(default)]
    pub substantiated: bool,
    /// close: the user name of the staff member it concerned, if any.
    #[serde(default)]
    pub subject: String,
}

pub fn complaint_action(
    tx: &mut WriteTx,
    u: &User,
    number: &str,
    req: &ComplaintRequest,
) -> Result<Complaint, SupervisionError> {
    match req.action.as_str() {
        "assign" => complaints::assign(tx, u, number, &req.assignee),
        "reply" => complaints::reply(tx, u, number, &req.text),
        "close" => complaints::close(tx, u, number, req.substantiated, Some(req.subject.as_str())),
        other => Err(SupervisionError::invalid(
            "action",
            format!(
                "操作 \"{}\" 无效：只能是 assign、reply 或 close",
                super::short(other)
            ),
        )),
    }
}

/// Handles a complaint: `assign` (supervisor), `reply` (supervisor or the assignee),
/// `close` (supervisor, after a reply).
#[utoipa::path(post, path = "/api/supervision/complaints/{number}", tag = "supervision",
    params(("number" = String, Path, description = "投诉编号")), request_body = ComplaintRequest,
    responses((status = 200, body = Complaint), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn act_complaint(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    axum::extract::Path(number): axum::extract::Path<String>,
    ApiJson(req): ApiJson<ComplaintRequest>,
) -> Result<Response, ApiError> {
    let number = key("number", &number)?;
    let object = format!("complaint:{number}");
    let c = write(
        &st,
        &who,
        client,
        "supervision.complaint",
        object,
        move |tx, u| complaint_action(tx, u, &number, &req),
    )
    .await?;
    Ok(audited(StatusCode::OK, c))
}

/// Evaluations (一事一评), running rectification loops first.
#[utoipa::path(get, path = "/api/supervision/evaluations", tag = "supervision",
    params(evaluations::Filter),
    responses((status = 200, body = Vec<Evaluation>), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn list_evaluations(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(f): ApiQuery<evaluations::Filter>,
) -> Result<Json<Vec<Evaluation>>, ApiError> {
    Ok(Json(
        read(&st, &who, move |c, _| evaluations::list(c, &f)).await?,
    ))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct StepRequest {
    pub action: evaluations::Action,
    pub note: String,
}

/// One step of a bad rating's loop: `contact`, `rectify`, `appeal` (recorded by staff for the
/// applicant), `review`, `close`.
#[utoipa::path(post, path = "/api/supervision/evaluations/{receipt}/steps", tag = "supervision",
    params(("receipt" = String, Path, description = "受理编号")), request_body = StepRequest,
    responses((status = 200, body = Evaluation), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn evaluation_step(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    axum::extract::Path(receipt): axum::extract::Path<String>,
    ApiJson(req): ApiJson<StepRequest>,
) -> Result<Response, ApiError> {
    let receipt = key("receipt", &receipt)?;
    let object = format!("evaluation:{receipt}");
    let e = write(
        &st,
        &who,
        client,
        "supervision.evaluation",
        object,
        move |tx, u| evaluations::step(tx, Some(u), &receipt, req.action, &req.note),
    )
    .await?;
    Ok(audited(StatusCode::OK, e))
}

#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
pub struct ReportQuery {
    /// First day (YYYY-MM-DD); default the first of this month.
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD); default today.
    pub to: Option<String>,
    #[serde(default, deserialize_with = "super::opt_num")]
    pub department_id: Option<i64>,
    #[serde(default, deserialize_with = "super::opt_num")]
    pub item_id: Option<i64>,
    /// `json` (default), `csv` or `xlsx`.
    pub format: Option<String>,
}

impl ReportQuery {
    pub fn scope(&self) -> ScopeQuery {
        ScopeQuery {
            from: self.from.clone(),
            to: self.to.clone(),
            department_id: self.department_id,
            item_id: self.item_id,
        }
    }
}

pub fn report_table(
    c: &Connection,
    report: &str,
    q: &ScopeQuery,
) -> Result<Table, SupervisionError> {
    let report = Report::parse(report)?;
    let scope = q.scope(super::today())?;
    stats::run(c, report, &scope)
}

/// A statistics report (`handling`, `workload`, `completion`, `monthly`, `feedback`,
/// `staff`) by date range, department and item; as JSON, CSV or XLSX.
#[utoipa::path(get, path = "/api/supervision/reports/{report}", tag = "supervision",
    params(("report" = String, Path), ReportQuery),
    responses((status = 200, body = Table), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn get_report(
    State(st): State<AppState>,
    who: Authed,
    axum::extract::Path(report): axum::extract::Path<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    let format = q.format.clone().unwrap_or_else(|| "json".into());
    if !matches!(format.as_str(), "json" | "csv" | "xlsx") {
        return Err(SupervisionError::invalid("format", "格式只能是 json、csv 或 xlsx").into());
    }
    let scope = q.scope();
    let t = read(&st, &who, move |c, _| report_table(c, &report, &scope)).await?;
    Ok(download(&t, &format)?)
}

pub fn download(t: &Table, format: &str) -> Result<Response, SupervisionError> {
    let (from, to) = t
        .subtitle
        .strip_prefix("统计区间：")
        .and_then(|s| s.get(..24))
        .and_then(|s| s.split_once(" 至 "))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap_or_default();
    let (body, mime, ext) = match format {
        "csv" => (export::csv(t), "text/csv; charset=utf-8", "csv"),
        "xlsx" => (
            export::xlsx(t)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        _ => return Ok(Json(t.clone()).into_response()),
    };
    let name = export::file_name(t, &from, &to, ext);
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"report.{ext}\"; filename*=UTF-8''{name}"),
            ),
        ],
        body,
    )
        .into_response())
}

/// The handler marks a 催办 reminder seen.
#[utoipa::path(post, path = "/api/supervision/reminders/{id}/seen", tag = "supervision",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn seen_reminder(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    axum::extract::Path(rid): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let rid = id("id", &rid)?;
    write(
        &st,
        &who,
        client,
        "supervision.reminder_seen",
        format!("reminder:{rid}"),
        move |tx, u| reminders::mark_seen(tx, u, rid),
    )
    .await?;
    Ok((StatusCode::NO_CONTENT, Extension(Audited)).into_response())
}
