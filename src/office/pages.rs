//! The office part's pages under `/office/`: server-rendered, forms posting back with the
//! `_csrf` field, each successful post redirecting to the page that shows its result.

use axum::extract::{FromRequest, FromRequestParts, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::{context, Value};
use serde::{Deserialize, Serialize};

use super::api::{open_document, parse_filter, write, write_if};
use super::{
    archive, contacts, documents, duty, mail, meetings, notices, routes, tasks, OfficeError,
};
use crate::auth::{Role, User};
use crate::store::WriteTx;
use crate::web::api::ApiQuery;
use crate::web::guard::{Audited, Authed, Client};
use crate::web::{render, AppState, PageError};

/// This part's templates, registered with the web part's environment (they extend base.html).
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "office_documents.html",
        include_str!("templates/documents.html"),
    ),
    (
        "office_document.html",
        include_str!("templates/document.html"),
    ),
    (
        "office_doc_types.html",
        include_str!("templates/doc_types.html"),
    ),
    (
        "office_archive.html",
        include_str!("templates/archive.html"),
    ),
    ("office_mail.html", include_str!("templates/mail.html")),
    (
        "office_meetings.html",
        include_str!("templates/meetings.html"),
    ),
    (
        "office_notices.html",
        include_str!("templates/notices.html"),
    ),
    (
        "office_contacts.html",
        include_str!("templates/contacts.html"),
    ),
    ("office_duty.html", include_str!("templates/duty.html")),
    ("office_tasks.html", include_str!("templates/tasks.html")),
];

pub fn pages() -> Router<AppState> {
    Router::new()
        .route(
            "/office/documents",
            get(documents_page).post(create_document),
        )
        .route("/office/documents/{id}", get(document_page))
        .route("/office/documents/{id}/{action}", post(document_action))
        .route(
            "/office/doc-types",
            get(doc_types_page).post(define_doc_type),
        )
        .route("/office/groups", post(save_group))
        .route("/office/archive", get(archive_page))
        .route("/office/mail", get(mail_page).post(compose_mail))
        .route("/office/mail/{id}", get(mail_view))
        .route("/office/mail/{id}/move", post(move_mail))
        .route("/office/meetings", get(meetings_page).post(book_meeting))
        .route("/office/rooms", post(add_room))
        .route("/office/notices", get(notices_page).post(publish_notice))
        .route("/office/notices/{id}", get(notice_page))
        .route("/office/notice-categories", post(add_category))
        .route("/office/contacts", get(contacts_page).post(add_contact))
        .route("/office/duty", get(duty_page).post(assign_duty))
        .route("/office/tasks", get(tasks_page).post(create_task))
        .route("/office/tasks/{id}/progress", post(report_task))
}

/// `Path` whose rejections are answered with the error page.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(PageError))]
struct PagePath<T>(T);

/// `Form` whose rejections (a missing or malformed field) are answered with the error page.
#[derive(FromRequest)]
#[from_request(via(axum::extract::Form), rejection(PageError))]
struct PageForm<T>(T);

/// Runs a form's write with its audit row and redirects to where its result shows.
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
    F: FnOnce(&mut WriteTx, &User) -> Result<T, OfficeError> + Send + 'static,
    T: Send + 'static,
{
    let v = write(st, who, client, action, object, f).await?;
    let mut r = Redirect::to(&to(&v)).into_response();
    r.extensions_mut().insert(Audited);
    Ok(r)
}

async fn read<T, F>(st: &AppState, who: &Authed, f: F) -> Result<T, PageError>
where
    F: FnOnce(&rusqlite::Connection, &User) -> Result<T, OfficeError> + Send + 'static,
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

/// A list typed into one field: separated by commas (either width), 、 or whitespace.
fn names(s: &str) -> Vec<String> {
    s.split([',', '，', '、', ' ', '\n', '\t', '\r'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn show(t: &str) -> String {
    crate::clock::show(t)
}

#[derive(Deserialize)]
struct DocListForm {
    filter: Option<String>,
}

async fn documents_page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<DocListForm>,
) -> Result<Html<String>, PageError> {
    let filter = parse_filter(q.filter.as_deref())?;
    let f = q.filter.clone().unwrap_or_else(|| "to_sign".into());
    let (docs, types) = read(&st, &who, move |c, u| {
        Ok((documents::list(c, u, filter, None)?, routes::list_types(c)?))
    })
    .await?;
    let docs: Vec<Value> = docs
        .into_iter()
        .map(|d| context! { updated => show(&d.updated_at), ..Value::from_serialize(&d) })
        .collect();
    page(
        &st,
        &who,
        "office_documents.html",
        "公文",
        context! {
            docs, types => Value::from_serialize(&types), filter => f,
            urgencies => documents::URGENCIES, levels => documents::SECURITY_LEVELS,
        },
    )
}

#[derive(Deserialize)]
struct DocForm {
    direction: String,
    doc_type: String,
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    source_unit: String,
    #[serde(default)]
    original_number: String,
    #[serde(default)]
    received_on: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    security: String,
}

async fn create_document(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<DocForm>,
) -> Result<Response, PageError> {
    let new = documents::NewDocument {
        direction: f.direction,
        doc_type: f.doc_type,
        title: f.title,
        body: f.body,
        source_unit: Some(f.source_unit),
        original_number: Some(f.original_number),
        received_on: Some(f.received_on),
        urgency: Some(f.urgency).filter(|u| !u.is_empty()),
        security: Some(f.security).filter(|s| !s.is_empty()),
        attachments: Vec::new(),
    };
    form_write(
        &st,
        &who,
        client,
        "office.document.create",
        "document:new".into(),
        move |tx, u| documents::create(tx, u, &new),
        |d| format!("/office/documents/{}", d.id),
    )
    .await
}

#[derive(Serialize)]
struct StepView {
    position: i64,
    kind: String,
    mode: &'static str,
    label: String,
    done_at: Option<String>,
    signers: Vec<Value>,
}

async fn document_page(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(id): PagePath<i64>,
) -> Result<Html<String>, PageError> {
    let d = open_document(&st, &who, client, id).await?;
    let me = who.0.user.username.clone();
    let my_turn = d.status == "circulating"
        && d.steps.iter().any(|s| {
            s.position == d.current_step
                && s.signers
                    .iter()
                    .any(|x| x.username == me && x.signed_at.is_none())
        });
    let steps: Vec<StepView> = d
        .steps
        .iter()
        .map(|s| StepView {
            position: s.position,
            kind: s.kind.clone(),
            mode: if s.mode == "all" { "全部签" } else { "任一签" },
            label: s.label.clone(),
            done_at: s.done_at.as_deref().map(show),
            signers: s
                .signers
                .iter()
                .map(|x| context! { name => x.display_name, signed_at => x.signed_at.as_deref().map(show), opinion => x.opinion })
                .collect(),
        })
        .collect();
    let can_archive = d.status == "done"
        && (d.created_by == me || who.0.user.has_any(&[Role::Admin, Role::Clerk]));
    let can_urge = d.status == "circulating"
        && (d.created_by == me || who.0.user.has_any(&[Role::Admin, Role::Leader]));
    let comments: Vec<Value> = d
        .comments
        .iter()
        .map(|c| context! { name => c.display_name, body => c.body, at => show(&c.at) })
        .collect();
    let readers: Vec<Value> = d
        .readers
        .iter()
        .map(|c| context! { name => c.display_name, at => show(&c.at) })
        .collect();
    let urges: Vec<Value> = d
        .urges
        .iter()
        .map(|c| context! { name => c.display_name, body => c.body, at => show(&c.at) })
        .collect();
    let title = d.number.clone();
    page(
        &st,
        &who,
        "office_document.html",
        &title,
        context! {
            doc => Value::from_serialize(&d), steps, comments, readers, urges, my_turn, can_archive, can_urge,
            this_year => i64::from(super::today().year()), retentions => archive::RETENTIONS,
        },
    )
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    retention: String,
}

async fn document_action(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath((id, action)): PagePath<(i64, String)>,
    PageForm(f): PageForm<ActionForm>,
) -> Result<Response, PageError> {
    let object = format!("document:{id}");
    let back = move |_: &()| format!("/office/documents/{id}");
    match action.as_str() {
        "sign" => {
            form_write(
                &st,
                &who,
                client,
                "office.document.sign",
                object,
                move |tx, u| routes::sign(tx, id, u, &f.text).map(|_| ()),
                back,
            )
            .await
        }
        "comment" => {
            form_write(
                &st,
                &who,
                client,
                "office.document.comment",
                object,
                move |tx, u| documents::comment(tx, id, u, &f.text).map(|_| ()),
                back,
            )
            .await
        }
        "urge" => {
            form_write(
                &st,
                &who,
                client,
                "office.document.urge",
                object,
                move |tx, u| documents::urge(tx, id, u, &f.text).map(|_| ()),
                back,
            )
            .await
        }
        "archive" => {
            let year: i64 = f
                .year
                .trim()
                .parse()
                .map_err(|_| OfficeError::invalid("year", "归档年度应为四位数字"))?;
            form_write(
                &st,
                &who,
                client,
                "office.document.archive",
                object,
                move |tx, u| archive::archive(tx, id, u, year, &f.retention).map(|_| ()),
                back,
            )
            .await
        }
        other => Err(OfficeError::NotFound(format!("操作 {}", super::short(other))).into()),
    }
}

async fn doc_types_page(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Html<String>, PageError> {
    let (types, groups) = read(&st, &who, |c, _| {
        Ok((routes::list_types(c)?, super::groups::list(c)?))
    })
    .await?;
    page(
        &st,
        &who,
        "office_doc_types.html",
        "公文类型与流程",
        context! {
            types => Value::from_serialize(&types), groups => Value::from_serialize(&groups),
            admin => who.0.user.has(Role::Admin), manager => super::is_manager(&who.0.user),
        },
    )
}

/// One step per line: `<kind> user <username> [all|any]` or `<kind> group <name> [all|any]`.
fn parse_steps(text: &str) -> Result<Vec<routes::StepSpec>, OfficeError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, l)| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            let bad = || {
                OfficeError::invalid(
                    "steps",
                    format!("第 {} 行 \"{}\" 应为：步骤 user 用户名 [all|any] 或 步骤 group 组名 [all|any]", i + 1, super::short(l)),
                )
            };
            let (kind, who, name) = match parts.as_slice() {
                [k, w, n] | [k, w, n, _] => (*k, *w, *n),
                _ => return Err(bad()),
            };
            let mode = parts.get(3).copied().unwrap_or("any").to_string();
            let (user, group) = match who {
                "user" | "用户" => (Some(name.to_string()), None),
                "group" | "组" => (None, Some(name.to_string())),
                _ => return Err(bad()),
            };
            Ok(routes::StepSpec { kind: kind.to_string(), user, group, mode })
        })
        .collect()
}

#[derive(Deserialize)]
struct DocTypeForm {
    code: String,
    name: String,
    prefix: String,
    steps: String,
}

async fn define_doc_type(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<DocTypeForm>,
) -> Result<Response, PageError> {
    who.require(&[Role::Admin])?;
    let steps = parse_steps(&f.steps)?;
    form_write(
        &st,
        &who,
        client,
        "office.doc_type.define",
        format!("doc_type:{}", super::short(&f.code)),
        move |tx, _| routes::define_type(tx, &f.code, &f.name, &f.prefix, &steps).map(|_| ()),
        |_| "/office/doc-types".into(),
    )
    .await
}

#[derive(Deserialize)]
struct GroupForm {
    name: String,
    members: String,
}

async fn save_group(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<GroupForm>,
) -> Result<Response, PageError> {
    super::require_manager(&who.0.user)?;
    let members = names(&f.members);
    form_write(
        &st,
        &who,
        client,
        "office.group.save",
        format!("group:{}", super::short(&f.name)),
        move |tx, _| super::groups::save(tx, &f.name, &members).map(|_| ()),
        |_| "/office/doc-types".into(),
    )
    .await
}

#[derive(Deserialize)]
struct SearchForm {
    q: Option<String>,
}

async fn archive_page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<SearchForm>,
) -> Result<Html<String>, PageError> {
    let query = q.q.unwrap_or_default();
    let term = query.clone();
    let hits = if query.trim().is_empty() {
        Vec::new()
    } else {
        read(&st, &who, move |c, _| {
            archive::search(c, &term, archive::MAX_HITS)
        })
        .await?
    };
    page(
        &st,
        &who,
        "office_archive.html",
        "档案检索",
        context! { q => query, hits => Value::from_serialize(&hits), searched => !query.trim().is_empty() },
    )
}

#[derive(Deserialize)]
struct FolderForm {
    folder: Option<String>,
}

fn folder_label(f: &str) -> &'static str {
    match f {
        "inbox" => "收件箱",
        "sent" => "已发送",
        "drafts" => "草稿箱",
        _ => "废件箱",
    }
}

async fn mail_page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<FolderForm>,
) -> Result<Html<String>, PageError> {
    let folder = q.folder.unwrap_or_else(|| "inbox".into());
    let f = folder.clone();
    let (list, usage) = read(&st, &who, move |c, u| {
        Ok((mail::list(c, u.id, &f)?, mail::usage(c, u.id)?))
    })
    .await?;
    let list: Vec<Value> = list
        .into_iter()
        .map(|m| context! { at => show(&m.at), ..Value::from_serialize(&m) })
        .collect();
    let folders: Vec<Value> = mail::FOLDERS
        .iter()
        .map(|f| context! { code => f, label => folder_label(f) })
        .collect();
    page(
        &st,
        &who,
        "office_mail.html",
        "内部邮件",
        context! {
            list, folders, folder_label => folder_label(&folder), folder,
            used_kib => usage.used / 1024, quota_mib => usage.quota >> 20,
        },
    )
}

async fn mail_view(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(id): PagePath<i64>,
) -> Result<Html<String>, PageError> {
    let m = write_if(
        &st,
        &who,
        client,
        "office.mail.read",
        format!("mail:{id}"),
        move |tx, u| mail::open(tx, u.id, id),
    )
    .await?;
    let sent = m.sent_at.as_deref().map(show);
    page(
        &st,
        &who,
        "office_mail.html",
        &m.subject.clone(),
        context! { mail => Value::from_serialize(&m), sent, folder_label => folder_label(&m.folder) },
    )
}

#[derive(Deserialize)]
struct MailForm {
    #[serde(default)]
    to_users: String,
    #[serde(default)]
    to_groups: String,
    #[serde(default)]
    to_departments: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body_html: String,
    #[serde(default)]
    draft_id: Option<i64>,
    /// `send` or `draft`.
    action: String,
}

async fn compose_mail(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<MailForm>,
) -> Result<Response, PageError> {
    let send = match f.action.as_str() {
        "send" => true,
        "draft" => false,
        other => {
            return Err(OfficeError::invalid(
                "action",
                format!("\"{}\" 无效，应为 send 或 draft", super::short(other)),
            )
            .into())
        }
    };
    let input = mail::MailInput {
        draft_id: f.draft_id,
        to_users: names(&f.to_users),
        to_groups: names(&f.to_groups),
        to_departments: names(&f.to_departments),
        subject: f.subject,
        body_html: f.body_html,
        attachments: Vec::new(),
    };
    let (action, to) = if send {
        ("office.mail.send", "/office/mail?folder=sent")
    } else {
        ("office.mail.draft", "/office/mail?folder=drafts")
    };
    form_write(
        &st,
        &who,
        client,
        action,
        "mail:new".into(),
        move |tx, u| mail::compose(tx, u, &input, send).map(|_| ()),
        |_| to.to_string(),
    )
    .await
}

#[derive(Deserialize)]
struct MoveForm {
    action: String,
}

async fn move_mail(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(id): PagePath<i64>,
    PageForm(f): PageForm<MoveForm>,
) -> Result<Response, PageError> {
    form_write(
        &st,
        &who,
        client,
        "office.mail.move",
        format!("mail:{id}"),
        move |tx, u| mail::move_to(tx, u.id, id, f.action.trim()),
        |_| "/office/mail?folder=trash".into(),
    )
    .await
}

async fn meetings_page(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
) -> Result<Html<String>, PageError> {
    write_if(
        &st,
        &who,
        client,
        "office.meeting.seen",
        "meetings".into(),
        |tx, u| Ok(((), meetings::mark_seen(tx, u.id)?)),
    )
    .await?;
    let now = crate::clock::now_utc();
    let (rooms, mine, all) = read(&st, &who, move |c, u| {
        Ok((
            meetings::rooms(c)?,
            meetings::upcoming(c, u.id, &now, None)?,
            meetings::room_schedule(c, &now)?,
        ))
    })
    .await?;
    page(
        &st,
        &who,
        "office_meetings.html",
        "会议",
        context! {
            rooms => Value::from_serialize(&rooms), mine => Value::from_serialize(&mine), all => Value::from_serialize(&all),
            manager => super::is_manager(&who.0.user),
        },
    )
}

#[derive(Deserialize)]
struct MeetingForm {
    room_id: i64,
    title: String,
    starts: String,
    ends: String,
    #[serde(default)]
    participants: String,
}

async fn book_meeting(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<MeetingForm>,
) -> Result<Response, PageError> {
    let m = meetings::NewMeeting {
        room_id: f.room_id,
        title: f.title,
        starts: f.starts,
        ends: f.ends,
        participants: names(&f.participants),
    };
    form_write(
        &st,
        &who,
        client,
        "office.meeting.book",
        format!("room:{}", m.room_id),
        move |tx, u| meetings::book(tx, u, &m).map(|_| ()),
        |_| "/office/meetings".into(),
    )
    .await
}

#[derive(Deserialize)]
struct RoomForm {
    name: String,
    #[serde(default)]
    location: String,
    capacity: i64,
}

async fn add_room(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<RoomForm>,
) -> Result<Response, PageError> {
    super::require_manager(&who.0.user)?;
    form_write(
        &st,
        &who,
        client,
        "office.room.add",
        format!("room:{}", super::short(&f.name)),
        move |tx, _| meetings::add_room(tx, &f.name, &f.location, f.capacity).map(|_| ()),
        |_| "/office/meetings".into(),
    )
    .await
}

async fn notices_page(State(st): State<AppState>, who: Authed) -> Result<Html<String>, PageError> {
    let (list, cats) = read(&st, &who, |c, u| {
        Ok((notices::list(c, u.id, false)?, notices::categories(c)?))
    })
    .await?;
    let list: Vec<Value> = list
        .into_iter()
        .map(|n| context! { at => show(&n.published_at), ..Value::from_serialize(&n) })
        .collect();
    page(
        &st,
        &who,
        "office_notices.html",
        "公告",
        context! { list, cats => Value::from_serialize(&cats), manager => super::is_manager(&who.0.user) },
    )
}

async fn notice_page(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(id): PagePath<i64>,
) -> Result<Html<String>, PageError> {
    let n = write_if(
        &st,
        &who,
        client,
        "office.notice.read",
        format!("notice:{id}"),
        move |tx, u| notices::read(tx, u, id),
    )
    .await?;
    let receipts: Vec<Value> = read(&st, &who, move |c, _| notices::receipts(c, id))
        .await?
        .into_iter()
        .map(|(name, at)| context! { name, at => show(&at) })
        .collect();
    let at = show(&n.published_at);
    page(
        &st,
        &who,
        "office_notices.html",
        &n.title.clone(),
        context! { notice => Value::from_serialize(&n), at, receipts },
    )
}

#[derive(Deserialize)]
struct NoticeForm {
    category_id: i64,
    title: String,
    body: String,
}

async fn publish_notice(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<NoticeForm>,
) -> Result<Response, PageError> {
    form_write(
        &st,
        &who,
        client,
        "office.notice.publish",
        "notice:new".into(),
        move |tx, u| notices::publish(tx, u, f.category_id, &f.title, &f.body),
        |n| format!("/office/notices/{}", n.id),
    )
    .await
}

#[derive(Deserialize)]
struct NameForm {
    name: String,
}

async fn add_category(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<NameForm>,
) -> Result<Response, PageError> {
    form_write(
        &st,
        &who,
        client,
        "office.notice_category.add",
        format!("notice_category:{}", super::short(&f.name)),
        move |tx, u| notices::add_category(tx, u, &f.name).map(|_| ()),
        |_| "/office/notices".into(),
    )
    .await
}

#[derive(Deserialize)]
struct QueryForm {
    q: Option<String>,
}

async fn contacts_page(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<QueryForm>,
) -> Result<Html<String>, PageError> {
    let query = q.q.unwrap_or_default();
    let term = query.clone();
    let (list, depts) = read(&st, &who, move |c, _| {
        Ok((
            contacts::search(c, &term)?,
            crate::auth::list_departments(c)?,
        ))
    })
    .await?;
    let depts: Vec<String> = depts.into_iter().map(|d| d.name).collect();
    page(
        &st,
        &who,
        "office_contacts.html",
        "通讯录",
        context! { q => query, list => Value::from_serialize(&list), depts, manager => super::is_manager(&who.0.user) },
    )
}

async fn add_contact(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<contacts::NewContact>,
) -> Result<Response, PageError> {
    form_write(
        &st,
        &who,
        client,
        "office.contact.add",
        format!("contact:{}", super::short(&f.name)),
        move |tx, u| contacts::add(tx, u, &f).map(|_| ()),
        |_| "/office/contacts".into(),
    )
    .await
}

async fn duty_page(State(st): State<AppState>, who: Authed) -> Result<Html<String>, PageError> {
    let from = super::today();
    let to = from.checked_add(jiff::Span::new().days(13)).unwrap_or(from);
    let today = from.to_string();
    let list = read(&st, &who, move |c, _| {
        duty::roster(c, &from.to_string(), &to.to_string())
    })
    .await?;
    page(
        &st,
        &who,
        "office_duty.html",
        "值班安排",
        context! { list => Value::from_serialize(&list), today, shifts => duty::SHIFTS, manager => super::is_manager(&who.0.user) },
    )
}

async fn assign_duty(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<duty::NewDuty>,
) -> Result<Response, PageError> {
    form_write(
        &st,
        &who,
        client,
        "office.duty.assign",
        format!("duty:{}", super::short(&f.day)),
        move |tx, u| duty::assign(tx, u, &f).map(|_| ()),
        |_| "/office/duty".into(),
    )
    .await
}

async fn tasks_page(State(st): State<AppState>, who: Authed) -> Result<Html<String>, PageError> {
    let list = read(&st, &who, tasks::list).await?;
    let can_create =
        who.0
            .user
            .has_any(&[Role::Admin, Role::Leader, Role::DeptHead, Role::Supervisor]);
    page(
        &st,
        &who,
        "office_tasks.html",
        "督查督办",
        context! { list => Value::from_serialize(&list), can_create, me => who.0.user.username.clone() },
    )
}

async fn create_task(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PageForm(f): PageForm<tasks::NewTask>,
) -> Result<Response, PageError> {
    form_write(
        &st,
        &who,
        client,
        "office.task.create",
        "task:new".into(),
        move |tx, u| tasks::create(tx, u, &f).map(|_| ()),
        |_| "/office/tasks".into(),
    )
    .await
}

#[derive(Deserialize)]
struct ProgressForm {
    percent: i64,
    note: String,
}

async fn report_task(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    PagePath(id): PagePath<i64>,
    PageForm(f): PageForm<ProgressForm>,
) -> Result<Response, PageError> {
    form_write(
        &st,
        &who,
        client,
        "office.task.progress",
        format!("task:{id}"),
        move |tx, u| tasks::report(tx, u, id, f.percent, &f.note).map(|_| ()),
        |_| "/office/tasks".into(),
    )
    .await
}
