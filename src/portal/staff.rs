//! Staff pages under `/cms/` on the office listener (behind the office guard: session, CSRF,
//! audit): drafting and the review chain, columns, banned words, answering consultations and
//! letters, and the self-check.

use axum::extract::{FromRequest, FromRequestParts, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::{context, Value};
use serde::Deserialize;

use super::{articles, banned, columns, consult, letters, selfcheck, PortalError};
use crate::auth::{Role, User};
use crate::store::WriteTx;
use crate::web::guard::{Audited, Authed, Client};
use crate::web::{render, AppState, PageError};

pub fn pages() -> Router<AppState> {
    Router::new()
        .route("/cms", get(home))
        .route("/cms/new", get(new_page))
        .route("/cms/articles", post(create))
        .route("/cms/articles/{id}", get(article_page).post(update))
        .route("/cms/articles/{id}/{action}", post(action))
        .route("/cms/columns", get(columns_page).post(add_column))
        .route("/cms/banned", get(banned_page).post(add_banned))
        .route("/cms/banned/remove", post(remove_banned))
        .route("/cms/inbox", get(inbox_page))
        .route("/cms/consultations/{id}/answer", post(answer))
        .route("/cms/letters/{id}/reply", post(reply))
        .route("/cms/check", get(check_page))
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(PageError))]
struct PagePath<T>(T);

#[derive(FromRequest)]
#[from_request(via(axum::extract::Form), rejection(PageError))]
struct PageForm<T>(T);

pub use crate::web::guard::audited_write as write;

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
    F: FnOnce(&mut WriteTx, &User) -> Result<T, PortalError> + Send + 'static,
    T: Send + 'static,
{
    let v = write(st, who, client, action, object, f).await?;
    let mut r = Redirect::to(&to(&v)).into_response();
    r.extensions_mut().insert(Audited);
    Ok(r)
}

async fn read<T, F>(st: &AppState, who: &Authed, f: F) -> Result<T, PageError>
where
    F: FnOnce(&rusqlite::Connection, &User) -> Result<T, PortalError> + Send + 'static,
    T: Send + 'static,
{
    let user = who.0.user.clone();
    Ok(st.store.read(move |c| f(c, &user)).await?)
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

const STAFF: &[Role] = &[
    Role::Editor,
    Role::ChiefEditor,
    Role::GeneralEditor,
    Role::Leader,
    Role::DeptHead,
    Role::Handler,
    Role::Admin,
];

async fn home(State(st): State<AppState>, who: Authed) -> Result<Html<String>, PageError> {
    who.require(STAFF)?;
    let (queue, cols) = read(&st, &who, |c, u| {
        let cols: Vec<Value> = columns::list(c)?
            .iter()
            .map(|col| context! { may_draft => columns::may_draft(u, col), ..Value::from_serialize(col) })
            .collect();
        Ok((articles::queue(c, u)?, cols))
    })
    .await?;
    let queue: Vec<Value> = queue
        .iter()
        .map(|a| context! { updated => show(&a.updated_at), ..Value::from_serialize(a) })
        .collect();
    let u = &who.0.user;
    page(
        &st,
        &who,
        "cms_home.html",
        "网站管理",
        context! {
            queue, columns => cols,
            keeps_words => u.has_any(banned::KEEPERS),
            runs_site => u.has_any(&[Role::GeneralEditor, Role::Admin]),
        },
    )
}

#[derive(Deserialize)]
struct NewQuery {
    column: i64,
}

async fn new_page(
    State(st): State<AppState>,
    who: Authed,
    Query(q): Query<NewQuery>,
) -> Result<Response, PageError> {
    let column = read(&st, &who, move |c, u| {
        let col = columns::get(c, q.column)?;
        if !columns::may_draft(u, &col) {
            return Err(PortalError::Forbidden(format!(
                "只有{}的栏目编辑可以在“{}”栏目起草",
                col.department, col.name
            )));
        }
        Ok(col)
    })
    .await?;
    let today = crate::clock::show(&crate::clock::now_utc())
        .chars()
        .take(10)
        .collect::<String>();
    let draft = articles::Draft {
        source: column.department.clone(),
        collected_on: today,
        collector: who.0.user.display_name.clone(),
        ..Default::default()
    };
    Ok(page(&st, &who, "cms_article.html", "起草稿件", context! {
        new => true, column => Value::from_serialize(&column), d => Value::from_serialize(&draft),
        editable => true,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct DraftForm {
    #[serde(default)]
    column_id: i64,
    title: String,
    body: String,
    source: String,
    author: String,
    collected_on: String,
    collector: String,
    #[serde(default)]
    publish_at: String,
}

impl DraftForm {
    fn draft(&self) -> articles::Draft {
        articles::Draft {
            title: self.title.clone(),
            body: self.body.clone(),
            source: self.source.clone(),
            author: self.author.clone(),
            collected_on: self.collected_on.clone(),
            collector: self.collector.clone(),
            publish_at: self.publish_at.clone(),
        }
    }
}

async fn create(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<DraftForm>,
) -> Result<Response, PageError> {
    let d = f.draft();
    let column = f.column_id;
    form_write(
        &st,
        &who,
        client,
        "portal.draft",
        format!("column:{column}"),
        move |tx, u| articles::create(tx, u, column, &d),
        |id| format!("/cms/articles/{id}"),
    )
    .await
}

async fn update(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(id): PagePath<i64>,
    PageForm(f): PageForm<DraftForm>,
) -> Result<Response, PageError> {
    let d = f.draft();
    form_write(
        &st,
        &who,
        client,
        "portal.edit",
        format!("article:{id}"),
        move |tx, u| articles::update(tx, u, id, &d),
        move |_| format!("/cms/articles/{id}"),
    )
    .await
}

async fn article_page(
    State(st): State<AppState>,
    who: Authed,
    PagePath(id): PagePath<i64>,
) -> Result<Html<String>, PageError> {
    who.require(STAFF)?;
    let (a, versions, column) = read(&st, &who, move |c, _| {
        let a = articles::get(c, id)?;
        let col = columns::get(c, a.column_id)?;
        Ok((a, articles::versions(c, id)?, col))
    })
    .await?;
    let u = &who.0.user;
    let editor = columns::may_draft(u, &column);
    let signer = match a.state.as_str() {
        "office" => u.has(Role::Leader),
        "chief" => u.has(Role::ChiefEditor),
        "general" => u.has(Role::GeneralEditor),
        _ => false,
    };
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| context! { published => show(&v.published_at), approved => show(&v.approved_at), ..Value::from_serialize(v) })
        .collect();
    let publish_at_local = a
        .publish_at
        .as_deref()
        .map(|t| {
            show(t)
                .replace(' ', "T")
                .chars()
                .take(16)
                .collect::<String>()
        })
        .unwrap_or_default();
    let preview = super::markdown::render(&a.body);
    let d = articles::Draft {
        title: a.title.clone(),
        body: a.body.clone(),
        source: a.source.clone(),
        author: a.author.clone(),
        collected_on: a.collected_on.clone(),
        collector: a.collector.clone(),
        publish_at: publish_at_local,
    };
    let state = a.state.clone();
    page(
        &st,
        &who,
        "cms_article.html",
        &a.title,
        context! {
            new => false, a => Value::from_serialize(&a), d => Value::from_serialize(&d),
            column => Value::from_serialize(&column), versions, preview,
            editable => editor && state == "draft", can_revise => editor && state == "published",
            signer, updated => show(&a.updated_at),
        },
    )
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    reason: String,
}

async fn action(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath((id, action)): PagePath<(i64, String)>,
    PageForm(f): PageForm<ActionForm>,
) -> Result<Response, PageError> {
    let back = move |_: &()| format!("/cms/articles/{id}");
    let object = format!("article:{id}");
    match action.as_str() {
        "submit" => {
            form_write(
                &st,
                &who,
                client,
                "portal.submit",
                object,
                move |tx, u| articles::submit(tx, u, id).map(|_| ()),
                back,
            )
            .await
        }
        "approve" => {
            form_write(
                &st,
                &who,
                client,
                "portal.approve",
                object,
                move |tx, u| articles::approve(tx, u, id).map(|_| ()),
                back,
            )
            .await
        }
        "return" => {
            form_write(
                &st,
                &who,
                client,
                "portal.return",
                object,
                move |tx, u| articles::send_back(tx, u, id, &f.reason),
                back,
            )
            .await
        }
        "revise" => {
            form_write(
                &st,
                &who,
                client,
                "portal.revise",
                object,
                move |tx, u| articles::revise(tx, u, id),
                back,
            )
            .await
        }
        other => {
            Err(crate::web::WebError::NotFound(format!("操作 {}", super::short(other))).into())
        }
    }
}

async fn columns_page(State(st): State<AppState>, who: Authed) -> Result<Html<String>, PageError> {
    who.require(&[Role::GeneralEditor, Role::Admin])?;
    let (cols, depts) = read(&st, &who, |c, _| {
        let depts: Vec<(i64, String)> = crate::auth::list_departments(c)?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect();
        Ok((columns::list(c)?, depts))
    })
    .await?;
    page(
        &st,
        &who,
        "cms_columns.html",
        "栏目设置",
        context! {
            columns => Value::from_serialize(&cols), depts, kinds => columns::KINDS,
        },
    )
}

#[derive(Deserialize)]
struct ColumnForm {
    code: String,
    name: String,
    department_id: i64,
    kind: String,
    sensitive: Option<String>,
}

async fn add_column(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<ColumnForm>,
) -> Result<Response, PageError> {
    let object = format!("column:{}", super::short(&f.code));
    form_write(
        &st,
        &who,
        client,
        "portal.column",
        object,
        move |tx, u| {
            columns::create(
                tx,
                u,
                &columns::NewColumn {
                    code: &f.code,
                    name: &f.name,
                    department_id: f.department_id,
                    kind: &f.kind,
                    sensitive: f.sensitive.is_some(),
                },
            )
        },
        |_| "/cms/columns".into(),
    )
    .await
}

async fn banned_page(State(st): State<AppState>, who: Authed) -> Result<Html<String>, PageError> {
    who.require(banned::KEEPERS)?;
    let words = read(&st, &who, |c, _| banned::list(c)).await?;
    page(&st, &who, "cms_banned.html", "禁用词", context! { words })
}

#[derive(Deserialize)]
struct WordsForm {
    words: String,
}

async fn add_banned(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<WordsForm>,
) -> Result<Response, PageError> {
    form_write(
        &st,
        &who,
        client,
        "portal.banned.add",
        "banned_words".into(),
        move |tx, u| banned::add(tx, u, &f.words),
        |_| "/cms/banned".into(),
    )
    .await
}

#[derive(Deserialize)]
struct WordForm {
    word: String,
}

async fn remove_banned(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<WordForm>,
) -> Result<Response, PageError> {
    let object = format!("banned_word:{}", super::short(&f.word));
    form_write(
        &st,
        &who,
        client,
        "portal.banned.remove",
        object,
        move |tx, u| banned::remove(tx, u, &f.word),
        |_| "/cms/banned".into(),
    )
    .await
}

async fn inbox_page(State(st): State<AppState>, who: Authed) -> Result<Html<String>, PageError> {
    who.require(STAFF)?;
    let replies_letters = who.0.user.has_any(letters::REPLIERS);
    let (qs, ls) = read(&st, &who, move |c, u| {
        let ls = if replies_letters {
            letters::inbox(c)?
        } else {
            Vec::new()
        };
        Ok((consult::inbox(c, u)?, ls))
    })
    .await?;
    let qs: Vec<Value> = qs
        .iter()
        .map(|q| context! { asked => show(&q.asked_at), ..Value::from_serialize(q) })
        .collect();
    let ls: Vec<Value> = ls
        .iter()
        .map(|l| context! { sent => show(&l.sent_at), ..Value::from_serialize(l) })
        .collect();
    page(
        &st,
        &who,
        "cms_inbox.html",
        "咨询与来信",
        context! { qs, ls, replies_letters },
    )
}

#[derive(Deserialize)]
struct AnswerForm {
    text: String,
    publish: Option<String>,
}

async fn answer(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(id): PagePath<i64>,
    PageForm(f): PageForm<AnswerForm>,
) -> Result<Response, PageError> {
    form_write(
        &st,
        &who,
        client,
        "portal.answer",
        format!("consultation:{id}"),
        move |tx, u| consult::answer(tx, u, id, &f.text, f.publish.is_some()),
        |_| "/cms/inbox".into(),
    )
    .await
}

async fn reply(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(id): PagePath<i64>,
    PageForm(f): PageForm<AnswerForm>,
) -> Result<Response, PageError> {
    form_write(
        &st,
        &who,
        client,
        "portal.reply",
        format!("letter:{id}"),
        move |tx, u| letters::reply(tx, u, id, &f.text, f.publish.is_some()),
        |_| "/cms/inbox".into(),
    )
    .await
}

async fn check_page(State(st): State<AppState>, who: Authed) -> Result<Html<String>, PageError> {
    who.require(&[Role::GeneralEditor, Role::ChiefEditor, Role::Admin])?;
    let now = crate::clock::now_utc();
    let findings = read(&st, &who, move |c, _| selfcheck::run(c, &now)).await?;
    page(
        &st,
        &who,
        "cms_check.html",
        "网站自查",
        context! { findings => Value::from_serialize(&findings) },
    )
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TodoItem {
    pub label: String,
    pub href: String,
    pub alert: bool,
}

/// What the portal puts on the 工作台: drafts to sign at my level, drafts sent back to me,
/// unanswered consultations and letters I answer for.
pub fn workbench(conn: &rusqlite::Connection, user: &User) -> Result<Vec<TodoItem>, PortalError> {
    let mut out: Vec<TodoItem> = articles::queue(conn, user)?
        .into_iter()
        .filter(|a| a.mine_to_act && a.state != "draft")
        .map(|a| TodoItem {
            label: format!("网站稿件{}：{}", a.state_zh, a.title),
            href: format!("/cms/articles/{}", a.id),
            alert: false,
        })
        .collect();
    let open = consult::inbox(conn, user)?
        .iter()
        .filter(|q| q.answer.is_none())
        .count();
    if open > 0 {
        out.push(TodoItem {
            label: format!("待答复网上咨询 {open} 件"),
            href: "/cms/inbox".into(),
            alert: false,
        });
    }
    if user.has_any(letters::REPLIERS) {
        let open = letters::inbox(conn)?
            .iter()
            .filter(|l| l.reply.is_none())
            .count();
        if open > 0 {
            out.push(TodoItem {
                label: format!("待答复县长信箱来信 {open} 件"),
                href: "/cms/inbox".into(),
                alert: false,
            });
        }
    }
    Ok(out)
}
