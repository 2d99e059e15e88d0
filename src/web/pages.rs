//! The office listener's pages: login, logout, 工作台, audit log.

use axum::extract::{Form, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use minijinja::{context, Value};
use serde::{Deserialize, Serialize};

use super::api::{end_session, ApiQuery};
use super::error::PageError;
use super::guard::{self, Audited, Authed, Client};
use super::templates::render;
use super::{AppState, WebError};
use crate::auth::{self, audit, Role, Session};

impl AppState {
    /// Values every office page's layout needs.
    fn layout(&self, title: &str, session: Option<&Session>) -> Value {
        let user = session.map(|s| &s.user);
        context! {
            title,
            zone => "office",
            site_name => self.site.site.name,
            tier_label => self.site.site.tier.label_zh(),
            version => env!("CARGO_PKG_VERSION"),
            user => user.map(|u| context!{ username => u.username, display_name => u.display_name }),
            csrf => session.map(|s| s.csrf.clone()),
            can_audit => user.is_some_and(|u| u.has_any(&[Role::Admin, Role::Auditor])),
        }
    }
}

pub async fn login_page(
    State(st): State<AppState>,
    session: Option<Extension<Session>>,
) -> Response {
    if session.is_some() {
        return Redirect::to("/").into_response();
    }
    login_form(&st, "", None, axum::http::StatusCode::OK)
}

fn login_form(
    st: &AppState,
    username: &str,
    error: Option<String>,
    status: axum::http::StatusCode,
) -> Response {
    let token = auth::session::random_token();
    let page = render(
        "login.html",
        st.layout("登录", None),
        context! { login_csrf => token, username, error },
    );
    match page {
        Ok(html) => (
            status,
            [(
                header::SET_COOKIE,
                guard::set_cookie(
                    guard::LOGIN_COOKIE,
                    "/login",
                    Some(&token),
                    st.secure_cookies,
                ),
            )],
            html,
        )
            .into_response(),
        Err(e) => PageError(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

pub async fn login_submit(
    State(st): State<AppState>,
    client: Client,
    Form(form): Form<LoginForm>,
) -> Response {
    let username = form.username.trim().to_string();
    let mut resp = match guard::sign_in(&st, username.clone(), form.password, client).await {
        Ok((_, token, _)) => {
            let mut r = Redirect::to("/").into_response();
            let h = r.headers_mut();
            h.append(
                header::SET_COOKIE,
                guard::set_cookie(guard::SESSION_COOKIE, "/", Some(&token), st.secure_cookies),
            );
            h.append(
                header::SET_COOKIE,
                guard::set_cookie(guard::LOGIN_COOKIE, "/login", None, st.secure_cookies),
            );
            r
        }
        Err(e) => {
            let (_, message, _) = e.describe();
            login_form(&st, &username, Some(message), e.status())
        }
    };
    resp.extensions_mut().insert(Audited);
    resp
}

pub async fn logout(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
) -> Result<Response, PageError> {
    end_session(&st, &who, client)
        .await
        .map_err(|e| PageError(e.0))?;
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        guard::set_cookie(guard::SESSION_COOKIE, "/", None, st.secure_cookies),
    );
    r.extensions_mut().insert(Audited);
    Ok(r)
}

#[derive(Serialize)]
struct GrantView {
    role: &'static str,
    department: String,
}

pub async fn home(State(st): State<AppState>, who: Authed) -> Result<Html<String>, PageError> {
    let user = who.0.user.clone();
    let is_admin = user.has(Role::Admin);
    let grants = user.roles.clone();
    let (roles, seq, user_count) = st
        .store
        .read(move |c| -> Result<_, WebError> {
            let mut roles = Vec::new();
            for g in &grants {
                let department = auth::department(c, g.department_id)
                    .map(|d| d.name)
                    .unwrap_or_default();
                roles.push(GrantView {
                    role: g.role.name_zh(),
                    department,
                });
            }
            let seq = crate::store::high_water(c)?;
            let users: i64 = c
                .prepare_cached("SELECT count(*) FROM users")?
                .query_row([], |r| r.get(0))?;
            Ok((roles, seq, users))
        })
        .await?;
    let todo: Vec<Value> = Vec::new();
    Ok(render(
        "home.html",
        st.layout("工作台", Some(&who.0)),
        context! {
            roles, todo, is_admin,
            site_id => st.site.site.id,
            schema_version => crate::store::schema_version(),
            change_seq => seq,
            user_count,
        },
    )?)
}

#[derive(Serialize)]
struct AuditView {
    id: i64,
    at: String,
    actor: String,
    roles: String,
    action: String,
    object: String,
    client: String,
    outcome: String,
    outcome_label: &'static str,
    detail: String,
}

pub async fn audit_page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(filter): ApiQuery<audit::Filter>,
) -> Result<Html<String>, PageError> {
    who.require(&[Role::Admin, Role::Auditor])?;
    let mut f = filter.clone();
    f.limit = Some(f.limit.unwrap_or(50).min(200));
    let limit = f.limit.unwrap_or(50) as usize;
    let q = f.clone();
    let rows = st.store.read(move |c| audit::list(c, &q)).await?;
    let older = (rows.len() == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten()
        .map(|before| {
            let mut next = f.clone();
            next.before = Some(before);
            format!("/audit?{}", query_string(&next))
        });
    let rows: Vec<AuditView> = rows
        .into_iter()
        .map(|r| AuditView {
            outcome_label: match r.outcome.as_str() {
                "ok" => "成功",
                "refused" => "拒绝",
                _ => "失败",
            },
            at: crate::clock::show(&r.at),
            id: r.id,
            actor: r.actor,
            roles: r.roles,
            action: r.action,
            object: r.object,
            client: r.client,
            outcome: r.outcome,
            detail: r.detail,
        })
        .collect();
    Ok(render(
        "audit.html",
        st.layout("审计日志", Some(&who.0)),
        context! { rows, older, f => context!{
        actor => filter.actor, action => filter.action, outcome => filter.outcome,
        from => filter.from, to => filter.to } },
    )?)
}

fn query_string(f: &audit::Filter) -> String {
    let pairs: Vec<(&str, String)> = [
        ("actor", f.actor.clone()),
        ("action", f.action.clone()),
        ("outcome", f.outcome.clone()),
        ("from", f.from.clone()),
        ("to", f.to.clone()),
        ("before", f.before.map(|b| b.to_string())),
        ("limit", f.limit.map(|l| l.to_string())),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
    .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}
