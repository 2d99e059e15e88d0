//! The approval part's pages under `/approval/`: the catalogue, acceptance at the window, the
//! work views, a case with its trace and actions, the intake queue, common opinions, and the
//! printable notices. Forms post back with the `_csrf` field; each successful post redirects
//! to the page that shows its result.

use axum::extract::{FromRequest, FromRequestParts, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::{context, Value};
use serde::Deserialize;

use super::api::{parse_view, read, write, CaseListQuery, STAFF};
use super::cases::{self, FeeIn, MaterialIn, NewCase};
use super::intake::{self, AcceptIntake};
use super::items::{
    self, BasisSpec, Catalogue, FeeSpec, HandlerSpec, ItemInput, JointSpec, MaterialSpec,
};
use super::workflow::{self, Transition};
use super::{joint, money, opinions, short, ApprovalError, Step};
use crate::auth::{self, Role, User};
use crate::store::WriteTx;
use crate::web::api::ApiQuery;
use crate::web::guard::{Audited, Authed, Client};
use crate::web::{render, AppState, PageError};

pub const TEMPLATES: &[(&str, &str)] = &[
    ("approval_cases.html", include_str!("templates/cases.html")),
    ("approval_case.html", include_str!("templates/case.html")),
    ("approval_items.html", include_str!("templates/items.html")),
    ("approval_item.html", include_str!("templates/item.html")),
    (
        "approval_accept.html",
        include_str!("templates/accept.html"),
    ),
    (
        "approval_intake.html",
        include_str!("templates/intake.html"),
    ),
    (
        "approval_application.html",
        include_str!("templates/application.html"),
    ),
    (
        "approval_opinions.html",
        include_str!("templates/opinions.html"),
    ),
    (
        "approval_notice.html",
        include_str!("templates/notice.html"),
    ),
];

pub fn pages() -> Router<AppState> {
    Router::new()
        .route(
            "/approval",
            get(|| async { Redirect::to("/approval/cases") }),
        )
        .route("/approval/cases", get(cases_page))
        .route("/approval/cases/{id}", get(case_page))
        .route("/approval/cases/{id}/act", post(act))
        .route("/approval/cases/{id}/urge", post(urge))
        .route("/approval/cases/{id}/subcases/{sub}/finish", post(finish))
        .route("/approval/cases/{id}/notice/{kind}", get(notice_page))
        .route("/approval/notice.css", get(notice_css))
        .route("/approval/accept", get(accept_page).post(accept))
        .route("/approval/items", get(items_page).post(save_item))
        .route("/approval/items/{code}", get(item_page))
        .route("/approval/catalogue", post(import_catalogue))
        .route("/approval/intake", get(intake_page))
        .route("/approval/intake/{id}", get(application_page))
        .route("/approval/intake/{id}/accept", post(accept_application))
        .route("/approval/intake/{id}/return", post(return_application))
        .route("/approval/opinions", get(opinions_page).post(add_opinion))
        .route("/approval/opinions/{id}/remove", post(remove_opinion))
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(PageError))]
struct PagePath<T>(T);

#[derive(FromRequest)]
#[from_request(via(axum::extract::Form), rejection(PageError))]
struct PageForm<T>(T);

/// The fields of a form whose names vary (materials, fees): (name, value) pairs.
type Fields = Vec<(String, String)>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn checked(f: &Fields, name: &str) -> bool {
    f.iter().any(|(k, v)| k == name && !v.is_empty())
}

async fn form_write<T, F>(
    st: &AppState,
    who: &Authed,
    client: Client,
    action: &'static str,
    object: String,
    f: F,
    to: impl FnOnce(&T) -> String,
) -> Result<Response, PageError>
where
    F: FnOnce(&mut WriteTx, &User) -> Result<T, ApprovalError> + Send + 'static,
    T: Send + 'static,
{
    let v = write(st, who, client, action, object, f).await?;
    let mut r = Redirect::to(&to(&v)).into_response();
    r.extensions_mut().insert(Audited);
    Ok(r)
}

fn page(
    st: &AppState,
    who: &Authed,
    name: &str,
    title: &str,
    ctx: Value,
) -> Result<Html<String>, PageError> {
    Ok(render(name, st.layout(title, Some(&who.0)), ctx)?)
}

fn show(t: &str) -> String {
    crate::clock::show(t)
}

fn staff(who: &Authed) -> Result<(), PageError> {
    Ok(who.require(STAFF)?)
}

// ---- work views ----

async fn cases_page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<CaseListQuery>,
) -> Result<Html<String>, PageError> {
    staff(&who)?;
    let view = q.view.clone().unwrap_or_else(|| "todo".into());
    let scope = parse_view(Some(&view))?;
    let query = cases::Query {
        receipt: q.receipt.clone(),
        applicant: q.applicant.clone(),
        item_code: q.item_code.clone(),
        state: q.state.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
        overdue: q.overdue,
        limit: q.limit,
    };
    let list = read(&st, &who, move |c, u| cases::list(c, u, scope, &query)).await?;
    let u = &who.0.user;
    page(
        &st,
        &who,
        "approval_cases.html",
        "行政审批",
        context! {
            list => Value::from_serialize(&list),
            view,
            q => context! {
                receipt => q.receipt, applicant => q.applicant, item_code => q.item_code,
                state => q.state, from => q.from, to => q.to, overdue => q.overdue.unwrap_or(false),
            },
            states => cases_states(),
            can_accept => u.has(Role::Clerk),
            is_head => u.has_any(&[Role::DeptHead, Role::Leader, Role::Supervisor, Role::Admin]),
            is_admin => u.has(Role::Admin),
        },
    )
}

fn cases_states() -> Vec<Value> {
    [
        "accepted",
        "undertaken",
        "reviewed",
        "approved",
        "supplement",
        "completed",
        "denied",
        "not_accepted",
        "withdrawn",
    ]
    .iter()
    .map(|s| context! { code => s, zh => cases::state_zh(s) })
    .collect()
}

fn action_label(a: workflow::Action) -> &'static str {
    match a {
        workflow::Action::Complete => "办结",
        workflow::Action::Pause(_) => "特别程序（暂停计时）",
        workflow::Action::EndPause => "结束特别程序",
        other => workflow::action_zh(other.code()),
    }
}

async fn case_page(
    State(st): State<AppState>,
    who: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Html<String>, PageError> {
    staff(&who)?;
    let (case, actions, mine, subs_mine) = read(&st, &who, move |c, u| {
        let case = cases::get(c, id)?;
        cases::ensure_visible(c, u, &case)?;
        let actions = workflow::available(c, u, &case)?;
        let mine = opinions::list(c, u.id)?;
        let subs: Vec<i64> = case
            .subcases
            .iter()
            .filter(|s| {
                s.state == "open"
                    && u.roles
                        .iter()
                        .any(|g| g.role == Role::Handler && g.department_id == s.department_id)
            })
            .map(|s| s.id)
            .collect();
        Ok((case, actions, mine, subs))
    })
    .await?;
    let steps: Vec<Value> = case
        .steps
        .iter()
        .map(|s| context! { at => show(&s.at), ..Value::from_serialize(s) })
        .collect();
    let actions: Vec<Value> = actions
        .iter()
        .map(|a| context! { code => a.code(), label => action_label(*a) })
        .collect();
    let mut picks: Vec<String> = opinions::SUGGESTED.iter().map(|s| s.to_string()).collect();
    picks.extend(mine.into_iter().map(|o| o.text));
    let u = &who.0.user;
    let notices = notice_kinds(&case.state, case.fee_total_fen > 0);
    page(
        &st,
        &who,
        "approval_case.html",
        &format!("办件 {}", case.receipt),
        context! {
            accepted_at => show(&case.accepted_at),
            fee_total => money::yuan(case.fee_total_fen),
            fees => case.fees.iter().map(|f| context! {
                unit_price => money::yuan(f.unit_price_fen), amount => money::yuan(f.amount_fen),
                ..Value::from_serialize(f)
            }).collect::<Vec<_>>(),
            c => Value::from_serialize(&case),
            steps, actions, picks, subs_mine,
            expert_review => items_expert(&st, &who, case.item_id).await?,
            can_urge => !case.closed && u.has_any(&[Role::DeptHead, Role::Leader, Role::Supervisor, Role::Admin, Role::Clerk]),
            notices,
        },
    )
}

async fn items_expert(st: &AppState, who: &Authed, item_id: i64) -> Result<bool, PageError> {
    Ok(read(st, who, move |c, _| {
        Ok(items::by_id(c, item_id)?.expert_review)
    })
    .await?)
}

/// The notices that apply to a case in `state`: (kind, title).
fn notice_kinds(state: &str, fees: bool) -> Vec<Value> {
    let mut v = Vec::new();
    let mut add = |k: &str, t: &str| v.push(context! { kind => k, title => t });
    match state {
        "not_accepted" => add("refusal", "不予受理通知书"),
        "supplement" => {
            add("acceptance", "受理通知书");
            add("supplement", "补正告知书");
        }
        "completed" | "denied" => {
            add("acceptance", "受理通知书");
            add("completion", "办结通知书");
        }
        _ => add("acceptance", "受理通知书"),
    }
    if fees && state != "not_accepted" {
        add("payment", "缴款通知书");
    }
    v
}

#[derive(Deserialize)]
struct ActForm {
    action: String,
    version: i64,
    #[serde(default)]
    opinion: String,
    #[serde(default)]
    pick: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    pause: String,
}

async fn act(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(id): PagePath<i64>,
    PageForm(f): PageForm<ActForm>,
) -> Result<Response, PageError> {
    let opinion = if f.opinion.trim().is_empty() {
        f.pick
    } else {
        f.opinion
    };
    let t = Transition {
        action: f.action,
        version: f.version,
        opinion,
        assignee: Some(f.assignee).filter(|a| !a.trim().is_empty()),
        pause: Some(f.pause).filter(|p| !p.is_empty()),
    };
    form_write(
        &st,
        &who,
        client,
        "approval.case.act",
        format!("approval_case:{id}"),
        move |tx, u| {
            let today = super::today(tx);
            workflow::act(tx, u, id, &t, today)
        },
        |c| format!("/approval/cases/{}", c.id),
    )
    .await
}

#[derive(Deserialize)]
struct NoteForm {
    #[serde(default)]
    opinion: String,
    #[serde(default)]
    pick: String,
    #[serde(default)]
    version: i64,
}

async fn urge(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(id): PagePath<i64>,
    PageForm(f): PageForm<NoteForm>,
) -> Result<Response, PageError> {
    form_write(
        &st,
        &who,
        client,
        "approval.case.urge",
        format!("approval_case:{id}"),
        move |tx, u| workflow::urge(tx, u, id, &f.opinion),
        |c| format!("/approval/cases/{}", c.id),
    )
    .await
}

async fn finish(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath((id, sub)): PagePath<(i64, i64)>,
    PageForm(f): PageForm<NoteForm>,
) -> Result<Response, PageError> {
    let opinion = if f.opinion.trim().is_empty() {
        f.pick
    } else {
        f.opinion
    };
    form_write(
        &st,
        &who,
        client,
        "approval.subcase.finish",
        format!("approval_case:{id}/{sub}"),
        move |tx, u| {
            let today = super::today(tx);
            joint::finish(tx, u, id, sub, f.version, &opinion, today)
        },
        |c| format!("/approval/cases/{}", c.id),
    )
    .await
}

/// The notices' print stylesheet: A4, plain, no navigation. A file of its own because the
/// content security policy refuses inline styles.
async fn notice_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("templates/notice.css"),
    )
        .into_response()
}

/// A printable notice: plain A4 with the receipt number, dates, item, materials, fees and the
/// contact phone.
async fn notice_page(
    State(st): State<AppState>,
    who: Authed,
    PagePath((id, kind)): PagePath<(i64, String)>,
) -> Result<Html<String>, PageError> {
    staff(&who)?;
    let title = match kind.as_str() {
        "acceptance" => "受理通知书",
        "refusal" => "不予受理通知书",
        "supplement" => "补正告知书",
        "completion" => "办结通知书",
        "payment" => "缴款通知书",
        other => {
            return Err(ApprovalError::NotFound(format!("通知书 \"{}\"", short(other))).into())
        }
    };
    let case = read(&st, &who, move |c, u| {
        let case = cases::get(c, id)?;
        cases::ensure_visible(c, u, &case)?;
        Ok(case)
    })
    .await?;
    let applies = notice_kinds(&case.state, case.fee_total_fen > 0)
        .iter()
        .any(|v| {
            v.get_attr("kind")
                .ok()
                .and_then(|k| k.as_str().map(str::to_string))
                .as_deref()
                == Some(kind.as_str())
        });
    if !applies {
        return Err(ApprovalError::IllegalTransition(format!(
            "办件 {} 当前状态为“{}”，没有{}",
            case.receipt, case.state_zh, title
        ))
        .into());
    }
    let reason = match kind.as_str() {
        "refusal" => case.steps.first().map(|s| s.opinion.clone()),
        "supplement" => case
            .steps
            .iter()
            .rev()
            .find(|s| s.action == "supplement")
            .map(|s| s.opinion.clone()),
        "completion" => case.steps.last().map(|s| s.opinion.clone()),
        _ => None,
    };
    let printed_on = super::beijing_date(&crate::clock::now_utc()).to_string();
    Ok(render(
        "approval_notice.html",
        st.layout(title, Some(&who.0)),
        context! {
            kind, title, reason, printed_on,
            accepted_at => show(&case.accepted_at),
            fee_total => money::yuan(case.fee_total_fen),
            fees => case.fees.iter().map(|f| context! {
                unit_price => money::yuan(f.unit_price_fen), amount => money::yuan(f.amount_fen),
                ..Value::from_serialize(f)
            }).collect::<Vec<_>>(),
            c => Value::from_serialize(&case),
        },
    )?)
}

// ---- acceptance at the window ----

#[derive(Deserialize)]
struct AcceptQuery {
    item: Option<String>,
}

async fn accept_page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<AcceptQuery>,
) -> Result<Html<String>, PageError> {
    who.require(&[Role::Clerk])?;
    let code = q.item.filter(|c| !c.is_empty());
    let (list, item) = read(&st, &who, move |c, _| {
        let item = code.map(|code| items::get(c, &code)).transpose()?;
        Ok((items::list(c)?, item))
    })
    .await?;
    let active: Vec<_> = list.into_iter().filter(|i| i.active).collect();
    let fees: Vec<Value> = item
        .as_ref()
        .map(|i| {
            i.fees
                .iter()
                .map(|f| context! { unit_price => money::yuan(f.unit_price_fen), ..Value::from_serialize(f) })
                .collect()
        })
        .unwrap_or_default();
    page(
        &st,
        &who,
        "approval_accept.html",
        "窗口受理",
        context! {
            items => Value::from_serialize(&active),
            item => item.as_ref().map(Value::from_serialize),
            fees,
        },
    )
}

async fn accept(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let code = field(&f, "item_code").to_string();
    let c2 = code.clone();
    let item = read(&st, &who, move |c, _| items::get(c, &c2)).await?;
    let materials = item
        .materials
        .iter()
        .enumerate()
        .map(|(i, m)| MaterialIn {
            name: m.name.clone(),
            provided: checked(&f, &format!("m{i}")),
            ..MaterialIn::default()
        })
        .collect();
    let fees = item
        .fees
        .iter()
        .enumerate()
        .filter_map(|(i, fee)| {
            let q = field(&f, &format!("f{i}")).trim();
            (!q.is_empty() && q != "0").then(|| FeeIn {
                name: fee.name.clone(),
                quantity: q.to_string(),
            })
        })
        .collect();
    let new = NewCase {
        item_code: code.clone(),
        applicant_kind: field(&f, "applicant_kind").into(),
        applicant_name: field(&f, "applicant_name").into(),
        applicant_id_no: field(&f, "applicant_id_no").into(),
        applicant_phone: field(&f, "applicant_phone").into(),
        materials,
        fees,
        opinion: field(&f, "opinion").into(),
        assignee: Some(field(&f, "assignee").to_string()).filter(|a| !a.trim().is_empty()),
    };
    let refuse = field(&f, "decision") == "refuse";
    let action = if refuse {
        "approval.case.refuse"
    } else {
        "approval.case.accept"
    };
    form_write(
        &st,
        &who,
        client,
        action,
        format!("approval_item:{}", short(&code)),
        move |tx, u| {
            let today = super::today(tx);
            if refuse {
                cases::refuse(tx, u, &new, today)
            } else {
                cases::accept(tx, u, &new, today)
            }
        },
        |c| format!("/approval/cases/{}", c.id),
    )
    .await
}

// ---- the catalogue ----

async fn items_page(State(st): State<AppState>, who: Authed) -> Result<Html<String>, PageError> {
    staff(&who)?;
    let list = read(&st, &who, |c, _| items::list(c)).await?;
    page(
        &st,
        &who,
        "approval_items.html",
        "事项目录",
        context! {
            list => Value::from_serialize(&list),
            is_admin => who.0.user.has(Role::Admin),
        },
    )
}

async fn item_page(
    State(st): State<AppState>,
    who: Authed,
    PagePath(code): PagePath<String>,
) -> Result<Html<String>, PageError> {
    who.require(&[Role::Admin])?;
    let (item, depts) = read(&st, &who, move |c, _| {
        let item = if code == "new" {
            None
        } else {
            Some(items::get(c, &code)?)
        };
        Ok((item, auth::list_departments(c)?))
    })
    .await?;
    let lines = |v: Vec<String>| v.join("\n");
    let (materials, basis, fees, joint, handlers) = match &item {
        Some(i) => (
            lines(
                i.materials
                    .iter()
                    .map(|m| format!("{}|{}", m.name, if m.required { "必需" } else { "可选" }))
                    .collect(),
            ),
            lines(
                i.basis
                    .iter()
                    .map(|b| format!("{}|{}", b.name, b.article))
                    .collect(),
            ),
            lines(
                i.fees
                    .iter()
                    .map(|f| format!("{}|{}|{}", f.name, money::yuan(f.unit_price_fen), f.unit))
                    .collect(),
            ),
            lines(
                i.joint
                    .iter()
                    .map(|j| format!("{}|{}", j.department_name, j.days))
                    .collect(),
            ),
            Step::ALL
                .iter()
                .map(|s| {
                    let users: Vec<&str> = i
                        .handlers
                        .iter()
                        .filter(|h| h.step == s.code())
                        .map(|h| h.username.as_str())
                        .collect();
                    (s.code(), users.join(", "))
                })
                .collect::<Vec<_>>(),
        ),
        None => (
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            Step::ALL
                .iter()
                .map(|s| (s.code(), String::new()))
                .collect(),
        ),
    };
    page(
        &st,
        &who,
        "approval_item.html",
        "事项",
        context! {
            item => item.as_ref().map(Value::from_serialize),
            depts => depts.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
            materials, basis, fees, joint,
            handlers => handlers.into_iter().map(|(s, u)| context! {
                step => s, label => Step::parse(s).map(|x| x.label_zh()).unwrap_or(""), users => u,
            }).collect::<Vec<_>>(),
        },
    )
}

fn split_line(l: &str) -> Vec<String> {
    l.split(['|', '｜']).map(|p| p.trim().to_string()).collect()
}

fn list_field(v: &str) -> Vec<String> {
    v.split([',', '，', '、', ' ', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn number(field: &'static str, v: &str) -> Result<u32, ApprovalError> {
    v.trim()
        .parse()
        .map_err(|_| ApprovalError::invalid(field, format!("\"{}\" 不是非负整数", short(v))))
}

/// The item form: one line per material (名称|必需), basis (名称|条款), fee (名称|单价元|单位)
/// and joint department (部门|工作日). Files already attached to a material of the same name
/// are kept.
fn item_from_form(f: &Fields, existing: Option<&items::Item>) -> Result<ItemInput, ApprovalError> {
    let lines = |name: &str| -> Vec<Vec<String>> {
        field(f, name)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(split_line)
            .collect()
    };
    let mut materials = Vec::new();
    for p in lines("materials") {
        let name = p[0].clone();
        let required = !matches!(
            p.get(1).map(String::as_str),
            Some("可选" | "否" | "optional")
        );
        let old = existing.and_then(|i| i.materials.iter().find(|m| m.name == name));
        materials.push(MaterialSpec {
            name,
            required,
            blank_hash: old.and_then(|m| m.blank_hash.clone()),
            blank_name: old.and_then(|m| m.blank_name.clone()),
            example_hash: old.and_then(|m| m.example_hash.clone()),
            example_name: old.and_then(|m| m.example_name.clone()),
        });
    }
    let basis = lines("basis")
        .into_iter()
        .map(|p| {
            let old = existing.and_then(|i| i.basis.iter().find(|b| b.name == p[0]));
            BasisSpec {
                name: p[0].clone(),
                article: p.get(1).cloned().unwrap_or_default(),
                doc_hash: old.and_then(|b| b.doc_hash.clone()),
                doc_name: old.and_then(|b| b.doc_name.clone()),
            }
        })
        .collect();
    let mut fees = Vec::new();
    for p in lines("fees") {
        if p.len() != 3 {
            return Err(ApprovalError::invalid(
                "fees",
                format!(
                    "收费项目 \"{}\" 应写成 名称|单价（元）|单位",
                    short(&p.join("|"))
                ),
            ));
        }
        let price = money::parse_yuan(&p[1])
            .map_err(|e| ApprovalError::invalid("fees", format!("{}：{e}", p[0])))?;
        fees.push(FeeSpec {
            name: p[0].clone(),
            unit_price_fen: price,
            unit: p[2].clone(),
        });
    }
    let mut joint = Vec::new();
    for p in lines("joint") {
        let days = number("joint", p.get(1).map(String::as_str).unwrap_or(""))?;
        joint.push(JointSpec {
            department: p[0].clone(),
            days,
        });
    }
    let handlers = Step::ALL
        .iter()
        .map(|s| HandlerSpec {
            step: s.code().into(),
            users: list_field(field(f, &format!("h_{}", s.code()))),
        })
        .filter(|h| !h.users.is_empty())
        .collect();
    Ok(ItemInput {
        code: field(f, "code").into(),
        name: field(f, "name").into(),
        short_name: field(f, "short_name").into(),
        kind: field(f, "kind").into(),
        department: field(f, "department").into(),
        promised_days: number("promised_days", field(f, "promised_days"))?,
        statutory_days: number("statutory_days", field(f, "statutory_days"))?,
        expert_review: checked(f, "expert_review"),
        conditions: field(f, "conditions").into(),
        process: field(f, "process").into(),
        location: field(f, "location").into(),
        contact_phone: field(f, "contact_phone").into(),
        online: checked(f, "online"),
        active: checked(f, "active"),
        materials,
        basis,
        fees,
        joint,
        handlers,
    })
}

async fn save_item(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let code = field(&f, "code").trim().to_string();
    form_write(
        &st,
        &who,
        client,
        "approval.item.save",
        format!("approval_item:{}", short(&code)),
        move |tx, u| {
            let existing = items::get(tx.conn(), &code).ok();
            let input = item_from_form(&f, existing.as_ref())?;
            items::save(tx, u, &input)
        },
        |i| format!("/approval/items/{}", i.code),
    )
    .await
}

#[derive(Deserialize)]
struct ImportForm {
    catalogue: String,
}

async fn import_catalogue(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<ImportForm>,
) -> Result<Response, PageError> {
    who.require(&[Role::Admin])?;
    let cat: Catalogue = serde_json::from_str(&f.catalogue).map_err(|e| {
        ApprovalError::invalid(
            "catalogue",
            format!(
                "不是有效的事项目录 JSON（第 {} 行第 {} 列）",
                e.line(),
                e.column()
            ),
        )
    })?;
    let hashes: Vec<String> = cat.items.iter().flat_map(ItemInput::blob_hashes).collect();
    super::api::check_blobs(&st, &hashes)?;
    form_write(
        &st,
        &who,
        client,
        "approval.catalogue.import",
        format!("approval_catalogue:{}", cat.items.len()),
        move |tx, u| items::import(tx, u, &cat),
        |_| "/approval/items".to_string(),
    )
    .await
}

// ---- the intake queue ----

async fn intake_page(State(st): State<AppState>, who: Authed) -> Result<Html<String>, PageError> {
    who.require(&[Role::Clerk, Role::Admin, Role::Supervisor])?;
    let list = read(&st, &who, |c, _| intake::list(c, None)).await?;
    let list: Vec<Value> = list
        .iter()
        .map(|a| context! { submitted => show(&a.submitted_at), ..Value::from_serialize(a) })
        .collect();
    page(
        &st,
        &who,
        "approval_intake.html",
        "网上申报预审",
        context! { list },
    )
}

async fn application_page(
    State(st): State<AppState>,
    who: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Html<String>, PageError> {
    who.require(&[Role::Clerk, Role::Admin, Role::Supervisor])?;
    let (a, item) = read(&st, &who, move |c, _| {
        let a = intake::get(c, id)?;
        let item = items::get(c, &a.item_code)?;
        Ok((a, item))
    })
    .await?;
    let uploaded: Vec<&str> = a.materials.iter().map(|m| m.name.as_str()).collect();
    let checklist: Vec<Value> = item
        .materials
        .iter()
        .map(|m| context! { name => m.name, required => m.required, uploaded => uploaded.contains(&m.name.as_str()) })
        .collect();
    let fees: Vec<Value> = item
        .fees
        .iter()
        .map(|f| context! { unit_price => money::yuan(f.unit_price_fen), ..Value::from_serialize(f) })
        .collect();
    page(
        &st,
        &who,
        "approval_application.html",
        &format!("网上申请 {}", a.number),
        context! {
            submitted => show(&a.submitted_at),
            a => Value::from_serialize(&a), checklist, fees,
        },
    )
}

async fn accept_application(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(id): PagePath<i64>,
    PageForm(f): PageForm<Fields>,
) -> Result<Response, PageError> {
    let a = read(&st, &who, move |c, _| {
        let a = intake::get(c, id)?;
        items::get(c, &a.item_code)
    })
    .await?;
    let provided = a
        .materials
        .iter()
        .enumerate()
        .filter(|(i, _)| checked(&f, &format!("m{i}")))
        .map(|(_, m)| m.name.clone())
        .collect();
    let fees = a
        .fees
        .iter()
        .enumerate()
        .filter_map(|(i, fee)| {
            let q = field(&f, &format!("f{i}")).trim();
            (!q.is_empty() && q != "0").then(|| FeeIn {
                name: fee.name.clone(),
                quantity: q.to_string(),
            })
        })
        .collect();
    let d = AcceptIntake {
        provided,
        fees,
        opinion: field(&f, "opinion").into(),
        assignee: None,
    };
    form_write(
        &st,
        &who,
        client,
        "approval.intake.accept",
        format!("approval_intake:{id}"),
        move |tx, u| {
            let today = super::today(tx);
            intake::accept(tx, u, id, &d, today)
        },
        |c| format!("/approval/cases/{}", c.id),
    )
    .await
}

#[derive(Deserialize)]
struct ReasonForm {
    reason: String,
}

async fn return_application(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(id): PagePath<i64>,
    PageForm(f): PageForm<ReasonForm>,
) -> Result<Response, PageError> {
    form_write(
        &st,
        &who,
        client,
        "approval.intake.return",
        format!("approval_intake:{id}"),
        move |tx, u| intake::return_to_applicant(tx, u, id, &f.reason),
        |_| "/approval/intake".to_string(),
    )
    .await
}

// ---- common opinions ----

async fn opinions_page(State(st): State<AppState>, who: Authed) -> Result<Html<String>, PageError> {
    let mine = read(&st, &who, |c, u| opinions::list(c, u.id)).await?;
    page(
        &st,
        &who,
        "approval_opinions.html",
        "常用意见",
        context! { mine => Value::from_serialize(&mine), suggested => opinions::SUGGESTED },
    )
}

#[derive(Deserialize)]
struct OpinionForm {
    text: String,
}

async fn add_opinion(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<OpinionForm>,
) -> Result<Response, PageError> {
    form_write(
        &st,
        &who,
        client,
        "approval.opinion.add",
        "approval_opinion:new".into(),
        move |tx, u| opinions::add(tx, u, &f.text),
        |_| "/approval/opinions".to_string(),
    )
    .await
}

async fn remove_opinion(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    form_write(
        &st,
        &who,
        client,
        "approval.opinion.remove",
        format!("approval_opinion:{id}"),
        move |tx, u| opinions::remove(tx, u, id),
        |_| "/approval/opinions".to_string(),
    )
    .await
}
