//! The office listener's pages: login, logout, 工作台, audit log.

use axum::extract::{Form, Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use minijinja::{context, Value};
use serde::{Deserialize, Serialize};

use super::accounts;
use super::api::{end_session, ApiQuery};
use super::error::PageError;
use super::guard::{self, Audited, Authed, Client};
use super::templates::render;
use super::{AppState, WebError};
use crate::auth::{self, audit, NewUser, Role, RoleGrant, Session};

impl AppState {
    /// Values every office page's layout needs.
    pub fn layout(&self, title: &str, session: Option<&Session>) -> Value {
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
            is_admin => user.is_some_and(|u| u.has(Role::Admin)),
            can_supervise => user.is_some_and(|u| u.has_any(crate::supervision::VIEWERS)),
            approval_staff => user.is_some_and(|u| u.has_any(crate::approval::api::STAFF)),
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
    // One trip to a reader thread for everything the page shows every user: each trip costs
    // two thread hand-offs, which dominate this page's time on a busy machine.
    let (roles, seq, user_count, todo) = st
        .store
        .read(move |c| -> Result<_, WebError> {
            let mut roles = Vec::new();
            for g in &user.roles {
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
            let mut todo: Vec<Value> = Vec::new();
            let office = crate::office::workbench::items(c, &user).map_err(WebError::from)?;
            todo.extend(office.iter().map(Value::from_serialize));
            let portal = crate::portal::staff::workbench(c, &user).map_err(WebError::from)?;
            todo.extend(portal.iter().map(Value::from_serialize));
            let supervision =
                crate::supervision::workbench::items(c, &user).map_err(WebError::from)?;
            todo.extend(supervision.iter().map(Value::from_serialize));
            let approval = crate::approval::workbench::items(c, &user).map_err(WebError::from)?;
            todo.extend(approval.iter().map(Value::from_serialize));
            Ok((roles, seq, users, todo))
        })
        .await?;
    // Only admins see the system status; nobody else pays for reading the backup dir.
    let (backup_status, drill_status) = if who.0.user.has(Role::Admin) {
        backup_summary(&st).await
    } else {
        (String::new(), String::new())
    };
    let (replication_status, replication_alarms) = if who.0.user.has(Role::Admin) {
        replication_summary(&st).await?
    } else {
        (String::new(), Vec::new())
    };
    Ok(render(
        "home.html",
        st.layout("工作台", Some(&who.0)),
        context! {
            roles, todo, backup_status, drill_status, replication_status, replication_alarms,
            site_id => st.site.site.id,
            schema_version => crate::store::schema_version(),
            change_seq => seq,
            user_count,
        },
    )?)
}

/// One line on the link upstream and the sites below, and every alarm: a replication failure
/// must show where the admin looks every day.
async fn replication_summary(st: &AppState) -> Result<(String, Vec<String>), WebError> {
    let site = st.site.clone();
    let status = st
        .store
        .read(move |c| crate::replication::status(c, &site))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let mut parts = Vec::new();
    match &status.sender {
        Some(s) => parts.push(format!(
            "上级已确认 {} / 本地 {}，积压 {} 条",
            s.acked_seq, status.local_seq, s.lag_changes
        )),
        None if status.tier != crate::site::Tier::Province => parts.push("未配置上级".into()),
        None => {}
    }
    if !status.children.is_empty() {
        parts.push(format!("下级站点 {} 个", status.children.len()));
    }
    Ok((parts.join("；"), status.alarms()))
}

async fn backup_summary(st: &AppState) -> (String, String) {
    let site = st.site.clone();
    let (backup_age, drill) = tokio::task::spawn_blocking(move || crate::backup::health(&site))
        .await
        .unwrap_or((None, None));
    let backup = match backup_age {
        Some(secs) if secs < 2 * 3600 => format!("{} 分钟前", secs / 60),
        Some(secs) => format!("{} 小时前（请检查备份定时任务）", secs / 3600),
        None => "还没有备份".into(),
    };
    let drill = match drill {
        Some(d) => format!(
            "{}，{}，用时 {:.1} 秒",
            crate::clock::show(&d.at),
            if d.ok { "成功" } else { "失败" },
            d.seconds
        ),
        None => "还没有做过恢复演练".into(),
    };
    (backup, drill)
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

#[derive(Deserialize, Serialize, Default)]
pub struct UserForm {
    username: String,
    display_name: String,
    role: String,
    department_id: i64,
    #[serde(default)]
    password: String,
}

/// What the users page shows after an action: a notice or an error, and the form to refill.
#[derive(Default)]
struct UsersOutcome {
    notice: Option<String>,
    error: Option<WebError>,
    form: Option<UserForm>,
}

async fn users_page(
    st: &AppState,
    who: &Authed,
    outcome: UsersOutcome,
) -> Result<Response, PageError> {
    who.require(&[Role::Admin])?;
    let (users, depts) = st
        .store
        .read(|c| -> Result<_, WebError> { Ok((auth::list_users(c)?, auth::list_departments(c)?)) })
        .await?;
    let dept_name = |id: i64| {
        depts
            .iter()
            .find(|d| d.id == id)
            .map_or_else(|| id.to_string(), |d| d.name.clone())
    };
    let users: Vec<Value> = users
        .iter()
        .map(|u| {
            let grants: Vec<String> = u
                .roles
                .iter()
                .map(|g| format!("{} · {}", g.role.name_zh(), dept_name(g.department_id)))
                .collect();
            context! { username => u.username, display_name => u.display_name,
            disabled => u.disabled, grants }
        })
        .collect();
    let departments: Vec<Value> = depts
        .iter()
        .map(|d| {
            let depth = std::iter::successors(d.parent_id, |p| {
                depts.iter().find(|x| x.id == *p).and_then(|x| x.parent_id)
            })
            .count();
            context! { id => d.id, label => format!("{}{}", "　".repeat(depth), d.name) }
        })
        .collect();
    let roles: Vec<(&str, &str)> = Role::ALL.iter().map(|r| (r.code(), r.name_zh())).collect();
    let status = outcome
        .error
        .as_ref()
        .map_or(axum::http::StatusCode::OK, WebError::status);
    let error = outcome.error.map(|e| e.describe().1);
    let html = render(
        "users.html",
        st.layout("用户管理", Some(&who.0)),
        context! { users, departments, roles, error, notice => outcome.notice,
        form => outcome.form, current => who.0.user.username },
    )?;
    Ok((status, html).into_response())
}

pub async fn users(State(st): State<AppState>, who: Authed) -> Result<Response, PageError> {
    users_page(&st, &who, UsersOutcome::default()).await
}

pub async fn add_user(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    let role = form
        .role
        .parse::<Role>()
        .map_err(|e| PageError(WebError::bad_request("invalid_input", e, "unknown role")))?;
    let generated = form.password.is_empty();
    let password = if generated {
        auth::generate_password()
    } else {
        form.password.clone()
    };
    let new = NewUser {
        username: form.username.trim().to_string(),
        display_name: form.display_name.clone(),
        roles: vec![RoleGrant {
            role,
            department_id: form.department_id,
        }],
    };
    let result = accounts::add_user(&st, &who, client, new, password.clone()).await;
    after_action(&st, &who, result, Some(form), |u| {
        if generated {
            format!(
                "已添加用户 {}，初始密码（只显示这一次）: {password}",
                u.username
            )
        } else {
            format!("已添加用户 {}", u.username)
        }
    })
    .await
}

pub async fn disable_user(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    Path(username): Path<String>,
) -> Result<Response, PageError> {
    let result = accounts::disable_user(&st, &who, client, username).await;
    after_action(&st, &who, result, None, |u| {
        format!("已停用用户 {}", u.username)
    })
    .await
}

pub async fn reset_password(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    Path(username): Path<String>,
) -> Result<Response, PageError> {
    let password = auth::generate_password();
    let result =
        accounts::set_password(&st, &who, client, username.clone(), password.clone(), None).await;
    after_action(&st, &who, result, None, |()| {
        format!("用户 {username} 的新密码（只显示这一次）: {password}")
    })
    .await
}

/// The users page after an account action: its notice, or its error with the form to refill.
/// A successful action has written its own audit row, so the response says so; a refused one
/// has not, and the guard records it from the response status.
async fn after_action<T>(
    st: &AppState,
    who: &Authed,
    result: Result<T, WebError>,
    form: Option<UserForm>,
    notice: impl FnOnce(T) -> String,
) -> Result<Response, PageError> {
    let (done, outcome) = match result {
        Ok(v) => (
            true,
            UsersOutcome {
                notice: Some(notice(v)),
                ..Default::default()
            },
        ),
        Err(e) => (
            false,
            UsersOutcome {
                error: Some(e),
                form,
                ..Default::default()
            },
        ),
    };
    let mut resp = users_page(st, who, outcome).await?;
    if done {
        resp.extensions_mut().insert(Audited);
    }
    Ok(resp)
}
