//! The approval part's JSON API under `/api/approval/`. Handlers are thin: parse, call one
//! domain function in a write transaction together with its audit row, answer.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Extension, Json};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::cases::{self, Case, CaseSummary, NewCase, Scope};
use super::intake::{self, AcceptIntake, Application, IntakeSummary};
use super::items::{self, Catalogue, ImportSummary, Item, ItemInput, ItemSummary};
use super::opinions::{self, Opinion};
use super::workflow::{self, Transition};
use super::{joint, short, ApprovalError};
use crate::auth::{self, Role, User};
use crate::store::{valid_hash, Blobs, WriteTx};
use crate::web::api::{ApiJson, ApiQuery};
use crate::web::guard::{Audited, Authed, Client};
use crate::web::{ApiError, AppState, ErrorBody, WebError};

/// The largest form, scan or catalogue document accepted.
pub const MAX_UPLOAD: usize = 20 << 20;
/// A whole catalogue as JSON: a few hundred items with their texts.
pub const MAX_CATALOGUE: usize = 4 << 20;

#[derive(OpenApi)]
#[openapi(
    paths(
        list_items, save_item, get_item, attach_item_file, item_file, export_catalogue, import_catalogue, upload,
        list_cases, accept_case, refuse_case, get_case, case_file, act_case, urge_case,
        finish_subcase, list_opinions, add_opinion, remove_opinion, list_intake, get_intake,
        accept_intake, return_intake, set_phone
    ),
    components(schemas(
        ItemSummary, Item, ItemInput, items::MaterialSpec, items::BasisSpec, items::FeeSpec,
        items::JointSpec, items::HandlerSpec, items::AttachFile, items::JointDept, items::ItemHandler, Catalogue,
        ImportSummary, Uploaded, CaseSummary, Case, NewCase, cases::MaterialIn, cases::FeeIn,
        cases::Person, cases::CaseMaterial, cases::CaseFee, cases::TraceStep, cases::PauseRow,
        joint::Subcase, Transition, UrgeRequest, FinishRequest, Opinion, OpinionsView,
        OpinionRequest, IntakeSummary, Application, intake::IntakeFile, AcceptIntake,
        ReturnRequest, PhoneRequest
    )),
    tags((name = "approval", description = "行政审批: catalogue, cases and their workflow, joint approval, intake, opinions"))
)]
pub struct ApprovalApi;

impl ApprovalApi {
    pub fn openapi_doc() -> utoipa::openapi::OpenApi {
        <ApprovalApi as OpenApi>::openapi()
    }
}

pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/api/approval/items", get(list_items).post(save_item)),
        ("/api/approval/items/{code}", get(get_item)),
        ("/api/approval/items/{code}/files", post(attach_item_file)),
        ("/api/approval/items/{code}/files/{hash}", get(item_file)),
        (
            "/api/approval/catalogue",
            get(export_catalogue)
                .post(import_catalogue)
                .layer(DefaultBodyLimit::max(MAX_CATALOGUE)),
        ),
        (
            "/api/approval/files",
            post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        ),
        ("/api/approval/cases", get(list_cases).post(accept_case)),
        ("/api/approval/cases/refuse", post(refuse_case)),
        ("/api/approval/cases/{id}", get(get_case)),
        ("/api/approval/cases/{id}/files/{hash}", get(case_file)),
        ("/api/approval/cases/{id}/actions", post(act_case)),
        ("/api/approval/cases/{id}/urge", post(urge_case)),
        (
            "/api/approval/cases/{id}/subcases/{sub}/finish",
            post(finish_subcase),
        ),
        (
            "/api/approval/opinions",
            get(list_opinions).post(add_opinion),
        ),
        ("/api/approval/opinions/{id}/remove", post(remove_opinion)),
        ("/api/approval/intake", get(list_intake)),
        ("/api/approval/intake/{id}", get(get_intake)),
        ("/api/approval/intake/{id}/accept", post(accept_intake)),
        ("/api/approval/intake/{id}/return", post(return_intake)),
        ("/api/approval/phone", post(set_phone)),
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
    F: FnOnce(&mut WriteTx, &User) -> Result<T, ApprovalError> + Send + 'static,
    T: Serialize + Send + 'static,
{
    let v = write(st, who, client, action, object, f).await?;
    Ok((Extension(Audited), Json(v)).into_response())
}

pub async fn read<T, F>(st: &AppState, who: &Authed, f: F) -> Result<T, ApprovalError>
where
    F: FnOnce(&Connection, &User) -> Result<T, ApprovalError> + Send + 'static,
    T: Send + 'static,
{
    let user = who.0.user.clone();
    st.store.read(move |c| f(c, &user)).await
}

async fn read_json<T, F>(st: &AppState, who: &Authed, f: F) -> Result<Json<T>, ApiError>
where
    F: FnOnce(&Connection, &User) -> Result<T, ApprovalError> + Send + 'static,
    T: Send + 'static,
{
    Ok(Json(read(st, who, f).await?))
}

/// Staff who work cases or run the catalogue; the rest of the office does not see approval.
pub const STAFF: &[Role] = &[
    Role::Admin,
    Role::Clerk,
    Role::Handler,
    Role::Reviewer,
    Role::Approver,
    Role::DeptHead,
    Role::Leader,
    Role::Supervisor,
];

fn staff(who: &Authed) -> Result<(), ApiError> {
    Ok(who.require(STAFF)?)
}

/// An item code from a path, refused before any lookup when it cannot be one.
fn path_code(code: &str) -> Result<String, ApprovalError> {
    let ok = !code.is_empty()
        && code.len() <= 40
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(code.to_string())
    } else {
        Err(ApprovalError::invalid(
            "code",
            format!("事项编码 \"{}\" 无效", short(code)),
        ))
    }
}

fn path_hash(hash: &str) -> Result<String, ApprovalError> {
    if valid_hash(hash) {
        Ok(hash.to_string())
    } else {
        Err(ApprovalError::invalid("hash", "文件编号不是 SHA-256"))
    }
}

pub fn download(name: &str, bytes: Vec<u8>) -> Response {
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

pub async fn blob_bytes(st: &AppState, hash: String) -> Result<Vec<u8>, ApprovalError> {
    let blobs = Blobs::new(&st.site.storage.data_dir);
    tokio::task::spawn_blocking(move || blobs.read(&hash))
        .await
        .map_err(|e| ApprovalError::Io(std::io::Error::other(e.to_string())))?
        .map_err(ApprovalError::Io)
}

/// Every blob named must be stored already: an item or case must never point at nothing.
pub fn check_blobs(st: &AppState, hashes: &[String]) -> Result<(), ApprovalError> {
    let blobs = Blobs::new(&st.site.storage.data_dir);
    match hashes.iter().find(|h| valid_hash(h) && !blobs.has(h)) {
        Some(h) => Err(ApprovalError::invalid(
            "hash",
            format!("文件 {} 尚未上传", short(h)),
        )),
        None => Ok(()),
    }
}

// ---- catalogue ----

#[utoipa::path(get, path = "/api/approval/items", tag = "approval",
    responses((status = 200, body = [ItemSummary]), (status = 401, body = ErrorBody)))]
async fn list_items(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<ItemSummary>>, ApiError> {
    staff(&who)?;
    read_json(&st, &who, |c, _| items::list(c)).await
}

/// Creates an item or replaces the one with the same code. Admins only; the files it names must
/// be uploaded first (`POST /api/approval/files`).
#[utoipa::path(post, path = "/api/approval/items", tag = "approval", request_body = ItemInput,
    responses((status = 200, body = Item), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn save_item(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<ItemInput>,
) -> Result<Response, ApiError> {
    items::require_admin(&who.0.user)?;
    check_blobs(&st, &req.blob_hashes())?;
    let object = format!("approval_item:{}", short(&req.code));
    write_json(
        &st,
        &who,
        client,
        "approval.item.save",
        object,
        move |tx, u| items::save(tx, u, &req),
    )
    .await
}

#[utoipa::path(get, path = "/api/approval/items/{code}", tag = "approval", params(("code" = String, Path)),
    responses((status = 200, body = Item), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_item(
    State(st): State<AppState>,
    who: Authed,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Item>, ApiError> {
    staff(&who)?;
    let code = path_code(&code)?;
    read_json(&st, &who, move |c, _| items::get(c, &code)).await
}

/// Attaches an uploaded file to an item as a material's blank form or example, or a basis
/// document. Admins only.
#[utoipa::path(post, path = "/api/approval/items/{code}/files", tag = "approval", params(("code" = String, Path)),
    request_body = items::AttachFile,
    responses((status = 200, body = Item), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn attach_item_file(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(code): ApiPath<String>,
    ApiJson(req): ApiJson<items::AttachFile>,
) -> Result<Response, ApiError> {
    items::require_admin(&who.0.user)?;
    let code = path_code(&code)?;
    path_hash(req.hash.trim())?;
    check_blobs(&st, &[req.hash.trim().to_string()])?;
    write_json(
        &st,
        &who,
        client,
        "approval.item.attach",
        format!("approval_item:{code}"),
        move |tx, u| items::attach(tx, u, &code, &req),
    )
    .await
}

/// A blank form, example or basis document of an item.
#[utoipa::path(get, path = "/api/approval/items/{code}/files/{hash}", tag = "approval",
    params(("code" = String, Path), ("hash" = String, Path)),
    responses((status = 200, description = "The file"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn item_file(
    State(st): State<AppState>,
    who: Authed,
    ApiPath((code, hash)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    staff(&who)?;
    let code = path_code(&code)?;
    let hash = path_hash(&hash)?;
    let h = hash.clone();
    let name = read(&st, &who, move |c, _| {
        let it = items::get(c, &code)?;
        let found = it
            .materials
            .iter()
            .flat_map(|m| {
                [
                    (m.blank_hash.as_ref(), m.blank_name.as_ref()),
                    (m.example_hash.as_ref(), m.example_name.as_ref()),
                ]
            })
            .chain(
                it.basis
                    .iter()
                    .map(|b| (b.doc_hash.as_ref(), b.doc_name.as_ref())),
            )
            .find_map(|(hh, n)| (hh == Some(&h)).then(|| n.cloned().unwrap_or_default()));
        found.ok_or_else(|| ApprovalError::NotFound(format!("文件 {}", short(&h))))
    })
    .await?;
    Ok(download(&name, blob_bytes(&st, hash).await?))
}

/// The whole catalogue in the import format. Admins only.
#[utoipa::path(get, path = "/api/approval/catalogue", tag = "approval",
    responses((status = 200, body = Catalogue), (status = 403, body = ErrorBody)))]
async fn export_catalogue(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<Catalogue>, ApiError> {
    items::require_admin(&who.0.user)?;
    read_json(&st, &who, |c, _| items::export(c)).await
}

/// Imports a whole catalogue (up to 4 MiB): every item is created or replaced, or, when one is
/// wrong, nothing is and the error names it. Admins only.
#[utoipa::path(post, path = "/api/approval/catalogue", tag = "approval", request_body = Catalogue,
    responses((status = 200, body = ImportSummary), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn import_catalogue(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<Catalogue>,
) -> Result<Response, ApiError> {
    items::require_admin(&who.0.user)?;
    let hashes: Vec<String> = req.items.iter().flat_map(ItemInput::blob_hashes).collect();
    check_blobs(&st, &hashes)?;
    write_json(
        &st,
        &who,
        client,
        "approval.catalogue.import",
        format!("approval_catalogue:{}", req.items.len()),
        move |tx, u| items::import(tx, u, &req),
    )
    .await
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The file name to keep.
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    pub hash: String,
    pub name: String,
    pub size: i64,
}

/// Stores one file (the raw body, up to 20 MiB): a blank form, example, basis document or a
/// scanned material. Answers its hash, to name in an item or case.
#[utoipa::path(post, path = "/api/approval/files", tag = "approval", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Uploaded), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn upload(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<UploadQuery>,
    body: Bytes,
) -> Result<Json<Uploaded>, ApiError> {
    staff(&who)?;
    let name = super::line("name", &q.name, 120, true)?;
    if name.contains(['/', '\\']) || name == "." || name == ".." {
        return Err(ApprovalError::invalid("name", "文件名不能包含路径").into());
    }
    if body.is_empty() {
        return Err(ApprovalError::invalid("body", "文件是空的").into());
    }
    let blobs = Blobs::new(&st.site.storage.data_dir);
    let size = body.len() as i64;
    let hash = tokio::task::spawn_blocking(move || blobs.put(&body))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(ApprovalError::Io)?;
    Ok(Json(Uploaded { hash, name, size }))
}

// ---- cases ----

#[derive(Deserialize, utoipa::IntoParams)]
pub struct CaseListQuery {
    /// `todo` 待办 (default), `done` 已办 or `department` (heads).
    pub view: Option<String>,
    pub receipt: Option<String>,
    pub applicant: Option<String>,
    pub item_code: Option<String>,
    pub state: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Only late cases (open past the due date, or closed after it).
    pub overdue: Option<bool>,
    pub limit: Option<u32>,
}

pub fn parse_view(v: Option<&str>) -> Result<Scope, ApprovalError> {
    match v.unwrap_or("todo") {
        "todo" => Ok(Scope::Todo),
        "done" => Ok(Scope::Done),
        "department" => Ok(Scope::Department),
        other => Err(ApprovalError::invalid(
            "view",
            format!("\"{}\" 无效，可选: todo, done, department", short(other)),
        )),
    }
}

/// A work view: 待办, 已办 or the department's cases, with the exact (receipt), combined
/// (all criteria) and overdue queries.
#[utoipa::path(get, path = "/api/approval/cases", tag = "approval", params(CaseListQuery),
    responses((status = 200, body = [CaseSummary]), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_cases(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<CaseListQuery>,
) -> Result<Json<Vec<CaseSummary>>, ApiError> {
    staff(&who)?;
    let scope = parse_view(q.view.as_deref())?;
    let query = cases::Query {
        receipt: q.receipt,
        applicant: q.applicant,
        item_code: q.item_code,
        state: q.state,
        from: q.from,
        to: q.to,
        overdue: q.overdue,
        limit: q.limit,
    };
    read_json(&st, &who, move |c, u| cases::list(c, u, scope, &query)).await
}

fn case_blobs(st: &AppState, new: &NewCase) -> Result<(), ApprovalError> {
    let hashes: Vec<String> = new
        .materials
        .iter()
        .filter_map(|m| m.hash.clone())
        .collect();
    check_blobs(st, &hashes)
}

/// The window accepts (受理) an application: receipt number, due dates, to the handler.
#[utoipa::path(post, path = "/api/approval/cases", tag = "approval", request_body = NewCase,
    responses((status = 200, body = Case), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn accept_case(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<NewCase>,
) -> Result<Response, ApiError> {
    case_blobs(&st, &req)?;
    let object = format!("approval_item:{}", short(&req.item_code));
    write_json(
        &st,
        &who,
        client,
        "approval.case.accept",
        object,
        move |tx, u| {
            let today = super::today(tx);
            cases::accept(tx, u, &req, today)
        },
    )
    .await
}

/// The window refuses (不予受理) an application; `opinion` is the reason on the notice.
#[utoipa::path(post, path = "/api/approval/cases/refuse", tag = "approval", request_body = NewCase,
    responses((status = 200, body = Case), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn refuse_case(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<NewCase>,
) -> Result<Response, ApiError> {
    case_blobs(&st, &req)?;
    let object = format!("approval_item:{}", short(&req.item_code));
    write_json(
        &st,
        &who,
        client,
        "approval.case.refuse",
        object,
        move |tx, u| {
            let today = super::today(tx);
            cases::refuse(tx, u, &req, today)
        },
    )
    .await
}

/// One case with its materials, fees, sub-cases, pauses and full trace (流程跟踪).
#[utoipa::path(get, path = "/api/approval/cases/{id}", tag = "approval", params(("id" = i64, Path)),
    responses((status = 200, body = Case), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_case(
    State(st): State<AppState>,
    who: Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Case>, ApiError> {
    staff(&who)?;
    read_json(&st, &who, move |c, u| {
        let case = cases::get(c, id)?;
        cases::ensure_visible(c, u, &case)?;
        Ok(case)
    })
    .await
}

/// A scanned material of a case.
#[utoipa::path(get, path = "/api/approval/cases/{id}/files/{hash}", tag = "approval",
    params(("id" = i64, Path), ("hash" = String, Path)),
    responses((status = 200, description = "The file"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn case_file(
    State(st): State<AppState>,
    who: Authed,
    ApiPath((id, hash)): ApiPath<(i64, String)>,
) -> Result<Response, ApiError> {
    staff(&who)?;
    let hash = path_hash(&hash)?;
    let h = hash.clone();
    let name = read(&st, &who, move |c, u| {
        let case = cases::get(c, id)?;
        cases::ensure_visible(c, u, &case)?;
        case.materials
            .into_iter()
            .find(|m| m.hash.as_deref() == Some(h.as_str()))
            .map(|m| m.file_name.unwrap_or_default())
            .ok_or_else(|| ApprovalError::NotFound(format!("材料 {}", short(&h))))
    })
    .await?;
    Ok(download(&name, blob_bytes(&st, hash).await?))
}

/// Takes one action on a case (承办, 审核, 批准, 办结, 不予许可, 退回, 补正, 补正完成, 撤回, Art. 45
/// pause and its end), naming the version seen: 409 `stale_version` when someone acted first,
/// 409 `illegal_transition` when the state does not allow it.
#[utoipa::path(post, path = "/api/approval/cases/{id}/actions", tag = "approval", params(("id" = i64, Path)), request_body = Transition,
    responses((status = 200, body = Case), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn act_case(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<Transition>,
) -> Result<Response, ApiError> {
    let action = match req.action.as_str() {
        "undertake" => "approval.case.undertake",
        "review" => "approval.case.review",
        "approve" => "approval.case.approve",
        "complete" => "approval.case.complete",
        "deny" => "approval.case.deny",
        "return" => "approval.case.return",
        "supplement" => "approval.case.supplement",
        "resume" => "approval.case.resume",
        "withdraw" => "approval.case.withdraw",
        "pause" => "approval.case.pause",
        "end_pause" => "approval.case.end_pause",
        _ => "approval.case.act",
    };
    write_json(
        &st,
        &who,
        client,
        action,
        format!("approval_case:{id}"),
        move |tx, u| {
            let today = super::today(tx);
            workflow::act(tx, u, id, &req, today)
        },
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct UrgeRequest {
    #[serde(default)]
    pub opinion: String,
}

/// 催办: reminds the current handler (by SMS when they have a phone). Heads, leaders,
/// supervisors, the window and admins.
#[utoipa::path(post, path = "/api/approval/cases/{id}/urge", tag = "approval", params(("id" = i64, Path)), request_body = UrgeRequest,
    responses((status = 200, body = Case), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn urge_case(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<UrgeRequest>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "approval.case.urge",
        format!("approval_case:{id}"),
        move |tx, u| workflow::urge(tx, u, id, &req.opinion),
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct FinishRequest {
    pub version: i64,
    pub opinion: String,
}

/// An auxiliary department finishes its joint sub-case with its opinion.
#[utoipa::path(post, path = "/api/approval/cases/{id}/subcases/{sub}/finish", tag = "approval",
    params(("id" = i64, Path), ("sub" = i64, Path)), request_body = FinishRequest,
    responses((status = 200, body = Case), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn finish_subcase(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath((id, sub)): ApiPath<(i64, i64)>,
    ApiJson(req): ApiJson<FinishRequest>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "approval.subcase.finish",
        format!("approval_case:{id}/{sub}"),
        move |tx, u| {
            let today = super::today(tx);
            joint::finish(tx, u, id, sub, req.version, &req.opinion, today)
        },
    )
    .await
}

// ---- opinions ----

#[derive(Serialize, ToSchema)]
pub struct OpinionsView {
    /// The user's own.
    pub mine: Vec<Opinion>,
    /// Offered to everyone.
    pub suggested: Vec<String>,
}

#[utoipa::path(get, path = "/api/approval/opinions", tag = "approval",
    responses((status = 200, body = OpinionsView)))]
async fn list_opinions(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<OpinionsView>, ApiError> {
    read_json(&st, &who, |c, u| {
        Ok(OpinionsView {
            mine: opinions::list(c, u.id)?,
            suggested: opinions::SUGGESTED.iter().map(|s| s.to_string()).collect(),
        })
    })
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct OpinionRequest {
    pub text: String,
}

/// Saves a common opinion (常用意见) of the user's own.
#[utoipa::path(post, path = "/api/approval/opinions", tag = "approval", request_body = OpinionRequest,
    responses((status = 200, body = Opinion), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add_opinion(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<OpinionRequest>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "approval.opinion.add",
        "approval_opinion:new".into(),
        move |tx, u| opinions::add(tx, u, &req.text),
    )
    .await
}

#[utoipa::path(post, path = "/api/approval/opinions/{id}/remove", tag = "approval", params(("id" = i64, Path)),
    responses((status = 200, description = "Removed"), (status = 404, body = ErrorBody)))]
async fn remove_opinion(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "approval.opinion.remove",
        format!("approval_opinion:{id}"),
        move |tx, u| opinions::remove(tx, u, id).map(|_| serde_json::json!({"removed": id})),
    )
    .await
}

// ---- intake ----

#[derive(Deserialize, utoipa::IntoParams)]
pub struct IntakeQuery {
    /// `pending`, `accepted` or `returned`; all when absent.
    pub state: Option<String>,
}

fn require_window(who: &Authed) -> Result<(), ApiError> {
    Ok(who.require(&[Role::Clerk, Role::Admin, Role::Supervisor])?)
}

/// The pre-review queue (预审) of online applications.
#[utoipa::path(get, path = "/api/approval/intake", tag = "approval", params(IntakeQuery),
    responses((status = 200, body = [IntakeSummary]), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_intake(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(q): ApiQuery<IntakeQuery>,
) -> Result<Json<Vec<IntakeSummary>>, ApiError> {
    require_window(&who)?;
    read_json(&st, &who, move |c, _| {
        intake::list(c, q.state.as_deref().filter(|s| !s.is_empty()))
    })
    .await
}

#[utoipa::path(get, path = "/api/approval/intake/{id}", tag = "approval", params(("id" = i64, Path)),
    responses((status = 200, body = Application), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_intake(
    State(st): State<AppState>,
    who: Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Application>, ApiError> {
    require_window(&who)?;
    read_json(&st, &who, move |c, _| intake::get(c, id)).await
}

/// Pre-review passed: the application becomes a case.
#[utoipa::path(post, path = "/api/approval/intake/{id}/accept", tag = "approval", params(("id" = i64, Path)), request_body = AcceptIntake,
    responses((status = 200, body = Case), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn accept_intake(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<AcceptIntake>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "approval.intake.accept",
        format!("approval_intake:{id}"),
        move |tx, u| {
            let today = super::today(tx);
            intake::accept(tx, u, id, &req, today)
        },
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct ReturnRequest {
    pub reason: String,
}

/// Pre-review failed: the application goes back to the applicant with the reason.
#[utoipa::path(post, path = "/api/approval/intake/{id}/return", tag = "approval", params(("id" = i64, Path)), request_body = ReturnRequest,
    responses((status = 200, body = Application), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn return_intake(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ReturnRequest>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "approval.intake.return",
        format!("approval_intake:{id}"),
        move |tx, u| intake::return_to_applicant(tx, u, id, &req.reason),
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct PhoneRequest {
    /// Whose number; the signed-in user when absent. Others' only for admins.
    #[serde(default)]
    pub username: Option<String>,
    /// 11-digit mobile number; empty clears it (then no to-do SMS is sent).
    pub phone: String,
}

/// Sets the mobile number the approval to-do SMS go to.
#[utoipa::path(post, path = "/api/approval/phone", tag = "approval", request_body = PhoneRequest,
    responses((status = 200, description = "Set"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn set_phone(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<PhoneRequest>,
) -> Result<Response, ApiError> {
    let me = who.0.user.username.clone();
    let target = req.username.clone().unwrap_or_else(|| me.clone());
    if !target.eq_ignore_ascii_case(&me) {
        who.require(&[Role::Admin])?;
    }
    write_json(
        &st,
        &who,
        client,
        "approval.phone.set",
        format!("user:{}", short(&target)),
        move |tx, _| {
            auth::set_phone(tx, &target, &req.phone)?;
            Ok(serde_json::json!({"username": target, "phone": req.phone.trim()}))
        },
    )
    .await
}
