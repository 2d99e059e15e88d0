//! The office part's JSON API under `/api/office/`. Handlers are thin: parse, call one domain
//! function in a write transaction together with its audit row, answer.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Extension, Json};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::{
    archive, contacts, documents, duty, groups, mail, meetings, notices, routes, tasks, uploads,
    OfficeError,
};
use crate::auth::{audit, Role, User};
use crate::store::{Blobs, WriteTx};
use crate::web::api::{ApiJson, ApiQuery};
use crate::web::guard::{Audited, Authed, Client};
use crate::web::{ApiError, AppState, ErrorBody};

#[derive(OpenApi)]
#[openapi(
    paths(
        list_groups, save_group, list_doc_types, define_doc_type, upload, list_documents,
        create_document, get_document, sign_document, comment_document, urge_document,
        attach_document, archive_document, document_attachment, search_archive, list_mail,
        send_mail, save_draft, get_mail, move_mail, mail_attachment, mail_usage, set_quota,
        list_rooms, add_room, list_meetings, book_meeting, meeting_minutes, list_categories,
        add_category, list_notices, publish_notice, get_notice, list_contacts, add_contact,
        list_duty, assign_duty, list_tasks, create_task, report_task
    ),
    components(schemas(
        groups::Group, GroupRequest, routes::DocType, routes::StepSpec, DocTypeRequest,
        uploads::Upload, documents::NewDocument, documents::Document, documents::Summary,
        documents::Step, documents::Signer, documents::Comment, documents::Attachment,
        routes::SignOutcome, SignRequest, TextRequest, AttachRequest, ArchiveRequest,
        archive::Hit, mail::MailInput, mail::MailSummary, mail::Mail, mail::Usage, MoveRequest,
        QuotaRequest, meetings::Room, RoomRequest, meetings::NewMeeting, meetings::Meeting,
        notices::Category, NameRequest, notices::Notice, NoticeRequest, contacts::NewContact,
        contacts::Contact, duty::NewDuty, duty::Duty, tasks::NewTask, tasks::Task,
        tasks::Progress, ProgressRequest
    )),
    tags((name = "office", description = "办公自动化: documents, archive, mail, meetings, notices, contacts, duty, tasks"))
)]
pub struct OfficeApi;

impl OfficeApi {
    pub fn openapi_doc() -> utoipa::openapi::OpenApi {
        <OfficeApi as OpenApi>::openapi()
    }
}

pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/api/office/groups", get(list_groups).post(save_group)),
        (
            "/api/office/doc-types",
            get(list_doc_types).post(define_doc_type),
        ),
        (
            "/api/office/uploads",
            post(upload).layer(DefaultBodyLimit::max(uploads::MAX_UPLOAD)),
        ),
        (
            "/api/office/documents",
            get(list_documents).post(create_document),
        ),
        ("/api/office/documents/{id}", get(get_document)),
        ("/api/office/documents/{id}/sign", post(sign_document)),
        (
            "/api/office/documents/{id}/comments",
            post(comment_document),
        ),
        ("/api/office/documents/{id}/urge", post(urge_document)),
        (
            "/api/office/documents/{id}/attachments",
            post(attach_document),
        ),
        (
            "/api/office/documents/{id}/attachments/{hash}",
            get(document_attachment),
        ),
        ("/api/office/documents/{id}/archive", post(archive_document)),
        ("/api/office/archive", get(search_archive)),
        ("/api/office/mail", get(list_mail).post(send_mail)),
        ("/api/office/mail/drafts", post(save_draft)),
        ("/api/office/mail/usage", get(mail_usage)),
        ("/api/office/mail/quota", post(set_quota)),
        ("/api/office/mail/{id}", get(get_mail)),
        ("/api/office/mail/{id}/move", post(move_mail)),
        (
            "/api/office/mail/{id}/attachments/{hash}",
            get(mail_attachment),
        ),
        ("/api/office/rooms", get(list_rooms).post(add_room)),
        (
            "/api/office/meetings",
            get(list_meetings).post(book_meeting),
        ),
        ("/api/office/meetings/{id}/minutes", post(meeting_minutes)),
        (
            "/api/office/notice-categories",
            get(list_categories).post(add_category),
        ),
        (
            "/api/office/notices",
            get(list_notices).post(publish_notice),
        ),
        ("/api/office/notices/{id}", get(get_notice)),
        ("/api/office/contacts", get(list_contacts).post(add_contact)),
        ("/api/office/duty", get(list_duty).post(assign_duty)),
        ("/api/office/tasks", get(list_tasks).post(create_task)),
        ("/api/office/tasks/{id}/progress", post(report_task)),
    ]
}

/// `Path` whose rejections are answered as [`ErrorBody`] like every other API error.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

pub use crate::web::guard::audited_write as write;

async fn write_json<T, F>(
    st: &AppState,
    who: &Authed,
    client: Client,
    action: &'static str,
    object: String,
    f: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(&mut WriteTx, &User) -> Result<T, OfficeError> + Send + 'static,
    T: Serialize + Send + 'static,
{
    let v = write(st, who, client, action, object, f).await?;
    Ok((Extension(Audited), Json(v)).into_response())
}

/// A write that happens on a read (a first read mark): audited only when it wrote.
pub async fn write_if<T, F>(
    st: &AppState,
    who: &Authed,
    client: Client,
    action: &'static str,
    object: String,
    f: F,
) -> Result<T, OfficeError>
where
    F: FnOnce(&mut WriteTx, &User) -> Result<(T, bool), OfficeError> + Send + 'static,
    T: Send + 'static,
{
    let user = who.0.user.clone();
    let entry = who.entry(client, action, &object, "");
    st.store
        .write(move |tx| -> Result<T, OfficeError> {
            let (v, wrote) = f(tx, &user)?;
            if wrote {
                audit::append(tx, &entry)?;
            }
            Ok(v)
        })
        .await
}

async fn read<T, F>(st: &AppState, who: &Authed, f: F) -> Result<Json<T>, ApiError>
where
    F: FnOnce(&Connection, &User) -> Result<T, OfficeError> + Send + 'static,
    T: Send + 'static,
{
    let user = who.0.user.clone();
    Ok(Json(st.store.read(move |c| f(c, &user)).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct GroupRequest {
    pub name: String,
    /// Usernames.
    pub members: Vec<String>,
}

#[utoipa::path(get, path = "/api/office/groups", tag = "office",
    responses((status = 200, body = [groups::Group]), (status = 401, body = ErrorBody)))]
async fn list_groups(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<groups::Group>>, ApiError> {
    read(&st, &who, |c, _| groups::list(c)).await
}

/// Creates a group or replaces its members. Managers only.
#[utoipa::path(post, path = "/api/office/groups", tag = "office", request_body = GroupRequest,
    responses((status = 200, body = groups::Group), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn save_group(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<GroupRequest>,
) -> Result<Response, ApiError> {
    super::require_manager(&who.0.user)?;
    let object = format!("group:{}", super::short(&req.name));
    write_json(
        &st,
        &who,
        client,
        "office.group.save",
        object,
        move |tx, _| groups::save(tx, &req.name, &req.members),
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct DocTypeRequest {
    pub code: String,
    pub name: String,
    /// The number prefix, e.g. 红政发 gives 红政发〔2026〕1号.
    pub prefix: String,
    pub steps: Vec<routes::StepSpec>,
}

#[utoipa::path(get, path = "/api/office/doc-types", tag = "office",
    responses((status = 200, body = [routes::DocType]), (status = 401, body = ErrorBody)))]
async fn list_doc_types(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<routes::DocType>>, ApiError> {
    read(&st, &who, |c, _| routes::list_types(c)).await
}

/// Defines a document type and its route. Admins only.
#[utoipa::path(post, path = "/api/office/doc-types", tag = "office", request_body = DocTypeRequest,
    responses((status = 200, body = routes::DocType), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn define_doc_type(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<DocTypeRequest>,
) -> Result<Response, ApiError> {
    who.require(&[Role::Admin])?;
    let object = format!("doc_type:{}", super::short(&req.code));
    write_json(
        &st,
        &who,
        client,
        "office.doc_type.define",
        object,
        move |tx, _| routes::define_type(tx, &req.code, &req.name, &req.prefix, &req.steps),
    )
    .await
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The file name to show.
    pub name: String,
}

/// Uploads one attachment as the raw request body (up to 20 MiB); answers its upload id.
/// Identical content is stored once.
#[utoipa::path(post, path = "/api/office/uploads", tag = "office", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = uploads::Upload), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn upload(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiQuery(q): ApiQuery<UploadQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let name = uploads::file_name(&q.name)?;
    let blobs = Blobs::new(&st.site.storage.data_dir);
    let hash = tokio::task::spawn_blocking(move || {
        uploads::store_bytes(&blobs, &body).map(|h| (h, body.len() as i64))
    })
    .await
    .map_err(|e| crate::web::WebError::Internal(e.to_string()))??;
    let object = format!("blob:{}", hash.0);
    write_json(&st, &who, client, "office.upload", object, move |tx, u| {
        uploads::record(tx, u.id, &hash.0, &name, hash.1)
    })
    .await
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DocListQuery {
    /// `to_sign` (default), `mine` or `open`.
    pub filter: Option<String>,
    pub doc_type: Option<String>,
}

pub fn parse_filter(f: Option<&str>) -> Result<documents::Filter, OfficeError> {
    match f.unwrap_or("to_sign") {
        "to_sign" => Ok(documents::Filter::ToSign),
        "mine" => Ok(documents::Filter::Mine),
        "open" => Ok(documents::Filter::Open),
        other => Err(OfficeError::invalid(
            "filter",
            format!(
                "\"{}\" 无效，可选: to_sign, mine, open",
                super::short(other)
            ),
        )),
    }
}

#[utoipa::path(get, path = "/api/office/documents", tag = "office", params(DocListQuery),
    responses((status = 200, body = [documents::Summary]), (status = 400, body = ErrorBody)))]
async fn list_documents(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<DocListQuery>,
) -> Result<Json<Vec<documents::Summary>>, ApiError> {
    let filter = parse_filter(q.filter.as_deref())?;
    read(&st, &who, move |c, u| {
        documents::list(c, u, filter, q.doc_type.as_deref())
    })
    .await
}

/// Registers an incoming document or drafts an outgoing one; it gets its number and enters
/// its type's route. Classified levels are refused.
#[utoipa::path(post, path = "/api/office/documents", tag = "office", request_body = documents::NewDocument,
    responses((status = 200, body = documents::Document), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_document(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<documents::NewDocument>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.document.create",
        "document:new".into(),
        move |tx, u| documents::create(tx, u, &req),
    )
    .await
}

/// One document with its route, signatures, comments, readers and urges; records that the
/// user has read it.
#[utoipa::path(get, path = "/api/office/documents/{id}", tag = "office", params(("id" = i64, Path)),
    responses((status = 200, body = documents::Document), (status = 404, body = ErrorBody)))]
async fn get_document(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<documents::Document>, ApiError> {
    Ok(Json(open_document(&st, &who, client, id).await?))
}

pub async fn open_document(
    st: &AppState,
    who: &Authed,
    client: Client,
    id: i64,
) -> Result<documents::Document, OfficeError> {
    write_if(
        st,
        who,
        client,
        "office.document.read",
        format!("document:{id}"),
        move |tx, u| {
            documents::ensure_visible(tx.conn(), id, u)?;
            let first = documents::mark_read(tx, id, u)?;
            Ok((documents::get(tx.conn(), id)?, first))
        },
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct SignRequest {
    #[serde(default)]
    pub opinion: String,
}

#[derive(Deserialize, ToSchema)]
pub struct TextRequest {
    #[serde(default)]
    pub body: String,
}

#[derive(Deserialize, ToSchema)]
pub struct AttachRequest {
    pub upload_id: i64,
}

#[derive(Deserialize, ToSchema)]
pub struct ArchiveRequest {
    pub year: i64,
    /// 永久, 30年 or 10年.
    pub retention: String,
}

/// Signs the current step (拟办/批办/承办/传阅/办结) with an opinion.
#[utoipa::path(post, path = "/api/office/documents/{id}/sign", tag = "office", params(("id" = i64, Path)), request_body = SignRequest,
    responses((status = 200, body = routes::SignOutcome), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn sign_document(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<SignRequest>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.document.sign",
        format!("document:{id}"),
        move |tx, u| routes::sign(tx, id, u, &req.opinion),
    )
    .await
}

#[utoipa::path(post, path = "/api/office/documents/{id}/comments", tag = "office", params(("id" = i64, Path)), request_body = TextRequest,
    responses((status = 200, body = documents::Comment), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn comment_document(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<TextRequest>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.document.comment",
        format!("document:{id}"),
        move |tx, u| documents::comment(tx, id, u, &req.body),
    )
    .await
}

/// Urges (催办) the current step's signers; the author and leaders may.
#[utoipa::path(post, path = "/api/office/documents/{id}/urge", tag = "office", params(("id" = i64, Path)), request_body = TextRequest,
    responses((status = 200, body = documents::Comment), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn urge_document(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<TextRequest>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.document.urge",
        format!("document:{id}"),
        move |tx, u| documents::urge(tx, id, u, &req.body),
    )
    .await
}

#[utoipa::path(post, path = "/api/office/documents/{id}/attachments", tag = "office", params(("id" = i64, Path)), request_body = AttachRequest,
    responses((status = 200, body = documents::Attachment), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn attach_document(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<AttachRequest>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.document.attach",
        format!("document:{id}"),
        move |tx, u| documents::attach(tx, id, u, req.upload_id),
    )
    .await
}

/// Archives (归档) a finished document into the read-only, searchable archive.
#[utoipa::path(post, path = "/api/office/documents/{id}/archive", tag = "office", params(("id" = i64, Path)), request_body = ArchiveRequest,
    responses((status = 200, body = archive::Hit), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn archive_document(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ArchiveRequest>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.document.archive",
        format!("document:{id}"),
        move |tx, u| archive::archive(tx, id, u, req.year, &req.retention),
    )
    .await
}

fn download(name: &str, bytes: Vec<u8>) -> Response {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
            ),
        ],
        bytes,
    )
        .into_response()
}

async fn blob_bytes(st: &AppState, hash: String) -> Result<Vec<u8>, ApiError> {
    let blobs = Blobs::new(&st.site.storage.data_dir);
    tokio::task::spawn_blocking(move || blobs.read(&hash))
        .await
        .map_err(|e| crate::web::WebError::Internal(e.to_string()))?
        .map_err(|e| ApiError::from(OfficeError::Io(e)))
}

#[utoipa::path(get, path = "/api/office/documents/{id}/attachments/{hash}", tag = "office",
    params(("id" = i64, Path), ("hash" = String, Path)),
    responses((status = 200, description = "The file"), (status = 404, body = ErrorBody)))]
async fn document_attachment(
    State(st): State<AppState>,
    who: Authed,
    ApiPath((id, hash)): ApiPath<(i64, String)>,
) -> Result<Response, ApiError> {
    let h = hash.clone();
    let Json(name) = read(&st, &who, move |c, u| {
        documents::ensure_visible(c, id, u)?;
        documents::get(c, id)?
            .attachments
            .into_iter()
            .find(|a| a.hash == h)
            .map(|a| a.name)
            .ok_or_else(|| OfficeError::NotFound(format!("附件 {}", super::short(&h))))
    })
    .await?;
    Ok(download(&name, blob_bytes(&st, hash).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct SearchQuery {
    /// Words to find (all must occur); 3+ characters use the index, shorter ones a scan.
    pub q: String,
    /// At most 100; default 20.
    pub limit: Option<usize>,
}

/// Full-text search of the archive.
#[utoipa::path(get, path = "/api/office/archive", tag = "office", params(SearchQuery),
    responses((status = 200, body = [archive::Hit]), (status = 400, body = ErrorBody)))]
async fn search_archive(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<Vec<archive::Hit>>, ApiError> {
    read(&st, &who, move |c, _| {
        archive::search(c, &q.q, q.limit.unwrap_or(20))
    })
    .await
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct FolderQuery {
    /// inbox (default), sent, drafts, trash.
    pub folder: Option<String>,
}

#[utoipa::path(get, path = "/api/office/mail", tag = "office", params(FolderQuery),
    responses((status = 200, body = [mail::MailSummary]), (status = 400, body = ErrorBody)))]
async fn list_mail(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<FolderQuery>,
) -> Result<Json<Vec<mail::MailSummary>>, ApiError> {
    read(&st, &who, move |c, u| {
        mail::list(c, u.id, q.folder.as_deref().unwrap_or("inbox"))
    })
    .await
}

/// Sends a mail (a new one, or the draft named by `draft_id`).
#[utoipa::path(post, path = "/api/office/mail", tag = "office", request_body = mail::MailInput,
    responses((status = 200, body = mail::Mail), (status = 400, body = ErrorBody), (status = 507, body = ErrorBody)))]
async fn send_mail(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<mail::MailInput>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.mail.send",
        "mail:new".into(),
        move |tx, u| mail::compose(tx, u, &req, true),
    )
    .await
}

/// Saves a draft (a new one, or updates `draft_id`).
#[utoipa::path(post, path = "/api/office/mail/drafts", tag = "office", request_body = mail::MailInput,
    responses((status = 200, body = mail::Mail), (status = 400, body = ErrorBody), (status = 507, body = ErrorBody)))]
async fn save_draft(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<mail::MailInput>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.mail.draft",
        "mail:draft".into(),
        move |tx, u| mail::compose(tx, u, &req, false),
    )
    .await
}

/// Opens a mail of one's own mailbox and marks it read.
#[utoipa::path(get, path = "/api/office/mail/{id}", tag = "office", params(("id" = i64, Path)),
    responses((status = 200, body = mail::Mail), (status = 404, body = ErrorBody)))]
async fn get_mail(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<mail::Mail>, ApiError> {
    Ok(Json(
        write_if(
            &st,
            &who,
            client,
            "office.mail.read",
            format!("mail:{id}"),
            move |tx, u| mail::open(tx, u.id, id),
        )
        .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct MoveRequest {
    /// trash, restore (out of the trash) or delete (from the trash, for good).
    pub action: String,
}

#[utoipa::path(post, path = "/api/office/mail/{id}/move", tag = "office", params(("id" = i64, Path)), request_body = MoveRequest,
    responses((status = 200, body = mail::Usage), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn move_mail(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<MoveRequest>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.mail.move",
        format!("mail:{id}"),
        move |tx, u| {
            mail::move_to(tx, u.id, id, req.action.trim())?;
            mail::usage(tx.conn(), u.id)
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/office/mail/{id}/attachments/{hash}", tag = "office",
    params(("id" = i64, Path), ("hash" = String, Path)),
    responses((status = 200, description = "The file"), (status = 404, body = ErrorBody)))]
async fn mail_attachment(
    State(st): State<AppState>,
    who: Authed,
    ApiPath((id, hash)): ApiPath<(i64, String)>,
) -> Result<Response, ApiError> {
    let h = hash.clone();
    let Json(name) = read(&st, &who, move |c, u| {
        mail::get(c, u.id, id)?
            .attachments
            .into_iter()
            .find(|a| a.hash == h)
            .map(|a| a.name)
            .ok_or_else(|| OfficeError::NotFound(format!("附件 {}", super::short(&h))))
    })
    .await?;
    Ok(download(&name, blob_bytes(&st, hash).await?))
}

#[utoipa::path(get, path = "/api/office/mail/usage", tag = "office",
    responses((status = 200, body = mail::Usage)))]
async fn mail_usage(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<mail::Usage>, ApiError> {
    read(&st, &who, |c, u| mail::usage(c, u.id)).await
}

#[derive(Deserialize, ToSchema)]
pub struct QuotaRequest {
    /// Omit to set the default for everyone without their own quota.
    pub username: Option<String>,
    pub bytes: i64,
}

/// Sets a mailbox quota. Admins only.
#[utoipa::path(post, path = "/api/office/mail/quota", tag = "office", request_body = QuotaRequest,
    responses((status = 200, body = mail::Usage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn set_quota(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<QuotaRequest>,
) -> Result<Response, ApiError> {
    who.require(&[Role::Admin])?;
    let object = format!(
        "mail_quota:{}",
        req.username
            .as_deref()
            .map_or("default".to_string(), super::short)
    );
    write_json(
        &st,
        &who,
        client,
        "office.mail.quota",
        object,
        move |tx, u| {
            mail::set_quota(tx, req.username.as_deref(), req.bytes)?;
            let id = match &req.username {
                Some(n) => super::user_by_name(tx.conn(), "username", n)?,
                None => u.id,
            };
            mail::usage(tx.conn(), id)
        },
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct RoomRequest {
    pub name: String,
    #[serde(default)]
    pub location: String,
    pub capacity: i64,
}

#[utoipa::path(get, path = "/api/office/rooms", tag = "office", responses((status = 200, body = [meetings::Room])))]
async fn list_rooms(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<meetings::Room>>, ApiError> {
    read(&st, &who, |c, _| meetings::rooms(c)).await
}

/// Adds a meeting room. Managers only.
#[utoipa::path(post, path = "/api/office/rooms", tag = "office", request_body = RoomRequest,
    responses((status = 200, body = meetings::Room), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add_room(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<RoomRequest>,
) -> Result<Response, ApiError> {
    super::require_manager(&who.0.user)?;
    write_json(
        &st,
        &who,
        client,
        "office.room.add",
        format!("room:{}", super::short(&req.name)),
        move |tx, _| meetings::add_room(tx, &req.name, &req.location, req.capacity),
    )
    .await
}

/// The user's meetings from now on.
#[utoipa::path(get, path = "/api/office/meetings", tag = "office", responses((status = 200, body = [meetings::Meeting])))]
async fn list_meetings(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<meetings::Meeting>>, ApiError> {
    read(&st, &who, |c, u| {
        meetings::upcoming(c, u.id, &crate::clock::now_utc(), None)
    })
    .await
}

/// Books a room; an overlapping booking is refused (409 `room_busy`), back-to-back is fine.
#[utoipa::path(post, path = "/api/office/meetings", tag = "office", request_body = meetings::NewMeeting,
    responses((status = 200, body = meetings::Meeting), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn book_meeting(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<meetings::NewMeeting>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.meeting.book",
        format!("room:{}", req.room_id),
        move |tx, u| meetings::book(tx, u, &req),
    )
    .await
}

/// Attaches the minutes (an upload) to a meeting; the organiser only.
#[utoipa::path(post, path = "/api/office/meetings/{id}/minutes", tag = "office", params(("id" = i64, Path)), request_body = AttachRequest,
    responses((status = 200, body = meetings::Meeting), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn meeting_minutes(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<AttachRequest>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.meeting.minutes",
        format!("meeting:{id}"),
        move |tx, u| meetings::set_minutes(tx, u, id, req.upload_id),
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct NameRequest {
    pub name: String,
}

#[utoipa::path(get, path = "/api/office/notice-categories", tag = "office", responses((status = 200, body = [notices::Category])))]
async fn list_categories(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<notices::Category>>, ApiError> {
    read(&st, &who, |c, _| notices::categories(c)).await
}

/// Adds a notice category. Managers only.
#[utoipa::path(post, path = "/api/office/notice-categories", tag = "office", request_body = NameRequest,
    responses((status = 200, body = notices::Category), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add_category(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<NameRequest>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.notice_category.add",
        format!("notice_category:{}", super::short(&req.name)),
        move |tx, u| notices::add_category(tx, u, &req.name),
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct NoticeRequest {
    pub category_id: i64,
    pub title: String,
    pub body: String,
}

#[utoipa::path(get, path = "/api/office/notices", tag = "office", responses((status = 200, body = [notices::Notice])))]
async fn list_notices(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<notices::Notice>>, ApiError> {
    read(&st, &who, |c, u| notices::list(c, u.id, false)).await
}

/// Publishes a notice. Managers only.
#[utoipa::path(post, path = "/api/office/notices", tag = "office", request_body = NoticeRequest,
    responses((status = 200, body = notices::Notice), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn publish_notice(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<NoticeRequest>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.notice.publish",
        "notice:new".into(),
        move |tx, u| notices::publish(tx, u, req.category_id, &req.title, &req.body),
    )
    .await
}

/// Opens a notice, recording the read receipt.
#[utoipa::path(get, path = "/api/office/notices/{id}", tag = "office", params(("id" = i64, Path)),
    responses((status = 200, body = notices::Notice), (status = 404, body = ErrorBody)))]
async fn get_notice(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<notices::Notice>, ApiError> {
    Ok(Json(
        write_if(
            &st,
            &who,
            client,
            "office.notice.read",
            format!("notice:{id}"),
            move |tx, u| notices::read(tx, u, id),
        )
        .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ContactQuery {
    pub q: Option<String>,
}

#[utoipa::path(get, path = "/api/office/contacts", tag = "office", params(ContactQuery),
    responses((status = 200, body = [contacts::Contact]), (status = 400, body = ErrorBody)))]
async fn list_contacts(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<ContactQuery>,
) -> Result<Json<Vec<contacts::Contact>>, ApiError> {
    read(&st, &who, move |c, _| {
        contacts::search(c, q.q.as_deref().unwrap_or(""))
    })
    .await
}

/// Adds a directory entry. Managers only.
#[utoipa::path(post, path = "/api/office/contacts", tag = "office", request_body = contacts::NewContact,
    responses((status = 200, body = contacts::Contact), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn add_contact(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<contacts::NewContact>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.contact.add",
        format!("contact:{}", super::short(&req.name)),
        move |tx, u| contacts::add(tx, u, &req),
    )
    .await
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DutyQuery {
    /// `YYYY-MM-DD`; default today.
    pub from: Option<String>,
    /// `YYYY-MM-DD`; default a week after `from`.
    pub to: Option<String>,
}

#[utoipa::path(get, path = "/api/office/duty", tag = "office", params(DutyQuery),
    responses((status = 200, body = [duty::Duty]), (status = 400, body = ErrorBody)))]
async fn list_duty(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<DutyQuery>,
) -> Result<Json<Vec<duty::Duty>>, ApiError> {
    let from = match q.from.as_deref() {
        Some(f) => super::date("from", f)?,
        None => super::today(),
    };
    let to = match q.to.as_deref() {
        Some(t) => super::date("to", t)?,
        None => from.checked_add(jiff::Span::new().days(7)).unwrap_or(from),
    };
    read(&st, &who, move |c, _| {
        duty::roster(c, &from.to_string(), &to.to_string())
    })
    .await
}

/// Puts someone on a shift. Managers only.
#[utoipa::path(post, path = "/api/office/duty", tag = "office", request_body = duty::NewDuty,
    responses((status = 200, body = duty::Duty), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn assign_duty(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<duty::NewDuty>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.duty.assign",
        format!("duty:{}", super::short(&req.day)),
        move |tx, u| duty::assign(tx, u, &req),
    )
    .await
}

#[utoipa::path(get, path = "/api/office/tasks", tag = "office", responses((status = 200, body = [tasks::Task])))]
async fn list_tasks(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<tasks::Task>>, ApiError> {
    read(&st, &who, tasks::list).await
}

/// Sets a supervised task (督办). Leaders, department heads, supervisors, admins.
#[utoipa::path(post, path = "/api/office/tasks", tag = "office", request_body = tasks::NewTask,
    responses((status = 200, body = tasks::Task), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_task(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<tasks::NewTask>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.task.create",
        "task:new".into(),
        move |tx, u| tasks::create(tx, u, &req),
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct ProgressRequest {
    pub percent: i64,
    pub note: String,
}

/// The assignee reports progress; 100 closes the task.
#[utoipa::path(post, path = "/api/office/tasks/{id}/progress", tag = "office", params(("id" = i64, Path)), request_body = ProgressRequest,
    responses((status = 200, body = tasks::Task), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn report_task(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ProgressRequest>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "office.task.progress",
        format!("task:{id}"),
        move |tx, u| tasks::report(tx, u, id, req.percent, &req.note),
    )
    .await
}
