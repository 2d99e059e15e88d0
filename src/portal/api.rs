//! The portal part's JSON API under `/api/portal/` on the office listener: the review chain,
//! attachments, banned words and the self-check, for scripts and for uploading attachments.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::staff::write;
use super::{articles, banned, columns, files, selfcheck, PortalError};
use crate::auth::{Role, User};
use crate::store::{Blobs, WriteTx};
use crate::web::api::{ApiJson, ApiQuery};
use crate::web::guard::{Audited, Authed, Client};
use crate::web::{ApiError, AppState, ErrorBody, WebError};

#[derive(OpenApi)]
#[openapi(
    paths(list_columns, list_articles, create_article, get_article, upload_file, review,
        list_banned, add_banned, self_check),
    components(schemas(columns::Column, articles::Draft, articles::Article, articles::Summary,
        articles::Version, files::FileRef, NewArticle, ArticleDetail, ReviewRequest, ReviewOutcome,
        WordsRequest, Added, selfcheck::Finding)),
    tags((name = "portal", description = "政务外网门户: articles and their three-level review, banned words, self-check"))
)]
pub struct PortalApi;

pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/api/portal/columns", get(list_columns)),
        (
            "/api/portal/articles",
            get(list_articles).post(create_article),
        ),
        ("/api/portal/articles/{id}", get(get_article)),
        (
            "/api/portal/articles/{id}/files",
            post(upload_file).layer(DefaultBodyLimit::max(files::MAX_FILE)),
        ),
        ("/api/portal/articles/{id}/review", post(review)),
        (
            "/api/portal/banned-words",
            get(list_banned).post(add_banned),
        ),
        ("/api/portal/check", get(self_check)),
    ]
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
struct ApiPath<T>(T);

async fn write_json<T, F>(
    st: &AppState,
    who: &Authed,
    client: Client,
    action: &'static str,
    object: String,
    f: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(&mut WriteTx, &User) -> Result<T, PortalError> + Send + 'static,
    T: Serialize + Send + 'static,
{
    let v = write(st, who, client, action, object, f).await?;
    Ok((Extension(Audited), Json(v)).into_response())
}

const STAFF: &[Role] = &[
    Role::Editor,
    Role::ChiefEditor,
    Role::GeneralEditor,
    Role::Leader,
    Role::Admin,
];

#[utoipa::path(get, path = "/api/portal/columns", tag = "portal",
    responses((status = 200, body = [columns::Column]), (status = 401, body = ErrorBody)))]
async fn list_columns(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<columns::Column>>, ApiError> {
    who.require(STAFF)?;
    Ok(Json(st.store.read(columns::list).await?))
}

#[utoipa::path(get, path = "/api/portal/articles", tag = "portal",
    responses((status = 200, body = [articles::Summary]), (status = 401, body = ErrorBody)))]
async fn list_articles(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<articles::Summary>>, ApiError> {
    who.require(STAFF)?;
    let u = who.0.user.clone();
    Ok(Json(st.store.read(move |c| articles::queue(c, &u)).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewArticle {
    pub column_id: i64,
    #[serde(flatten)]
    pub draft: articles::Draft,
}

#[utoipa::path(post, path = "/api/portal/articles", tag = "portal", request_body = NewArticle,
    responses((status = 200, body = ArticleDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_article(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<NewArticle>,
) -> Result<Response, ApiError> {
    let object = format!("column:{}", req.column_id);
    write_json(&st, &who, client, "portal.draft", object, move |tx, u| {
        let id = articles::create(tx, u, req.column_id, &req.draft)?;
        detail(tx.conn(), id)
    })
    .await
}

#[derive(Serialize, ToSchema)]
pub struct ArticleDetail {
    pub article: articles::Article,
    /// Every published version, newest first, with who signed it.
    pub versions: Vec<articles::Version>,
}

fn detail(c: &rusqlite::Connection, id: i64) -> Result<ArticleDetail, PortalError> {
    Ok(ArticleDetail {
        article: articles::get(c, id)?,
        versions: articles::versions(c, id)?,
    })
}

#[utoipa::path(get, path = "/api/portal/articles/{id}", tag = "portal", params(("id" = i64, Path)),
    responses((status = 200, body = ArticleDetail), (status = 404, body = ErrorBody)))]
async fn get_article(
    State(st): State<AppState>,
    who: Authed,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ArticleDetail>, ApiError> {
    who.require(STAFF)?;
    Ok(Json(st.store.read(move |c| detail(c, id)).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct FileQuery {
    /// The file name to show.
    pub name: String,
}

/// Attaches one file (the raw request body, up to 10 MiB) to a draft. Only document and picture
/// types are accepted; HTML, SVG and programs are refused whatever their name.
#[utoipa::path(post, path = "/api/portal/articles/{id}/files", tag = "portal",
    params(("id" = i64, Path), FileQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = files::FileRef), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn upload_file(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<FileQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let blobs = Blobs::new(&st.site.storage.data_dir);
    let f = tokio::task::spawn_blocking(move || files::store(&blobs, &q.name, &body))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    write_json(
        &st,
        &who,
        client,
        "portal.attach",
        format!("article:{id}"),
        move |tx, u| {
            articles::attach(tx, u, id, &f)?;
            Ok(f)
        },
    )
    .await
}

#[derive(Deserialize, ToSchema)]
pub struct ReviewRequest {
    /// `submit` (editor), `approve` (the signer of the current level), `return` (the signer,
    /// with `reason`) or `revise` (editor, on a published article).
    pub action: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewOutcome {
    /// The article's state afterwards.
    pub state: String,
}

#[utoipa::path(post, path = "/api/portal/articles/{id}/review", tag = "portal", params(("id" = i64, Path)),
    request_body = ReviewRequest,
    responses((status = 200, body = ReviewOutcome), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn review(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> Result<Response, ApiError> {
    let action: &'static str = match req.action.as_str() {
        "submit" => "portal.submit",
        "approve" => "portal.approve",
        "return" => "portal.return",
        "revise" => "portal.revise",
        _ => {
            return Err(PortalError::invalid(
                "action",
                "操作应为 submit、approve、return 或 revise",
            )
            .into())
        }
    };
    write_json(
        &st,
        &who,
        client,
        action,
        format!("article:{id}"),
        move |tx, u| {
            match req.action.as_str() {
                "submit" => {
                    articles::submit(tx, u, id)?;
                }
                "approve" => {
                    articles::approve(tx, u, id)?;
                }
                "return" => articles::send_back(tx, u, id, &req.reason)?,
                _ => articles::revise(tx, u, id)?,
            }
            Ok(ReviewOutcome {
                state: articles::get(tx.conn(), id)?.state,
            })
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/portal/banned-words", tag = "portal",
    responses((status = 200, body = [String]), (status = 403, body = ErrorBody)))]
async fn list_banned(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<String>>, ApiError> {
    who.require(STAFF)?;
    Ok(Json(st.store.read(banned::list).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct WordsRequest {
    /// One word a line, or separated by commas.
    pub words: String,
}

#[derive(Serialize, ToSchema)]
pub struct Added {
    pub added: usize,
}

#[utoipa::path(post, path = "/api/portal/banned-words", tag = "portal", request_body = WordsRequest,
    responses((status = 200, body = Added), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn add_banned(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<WordsRequest>,
) -> Result<Response, ApiError> {
    write_json(
        &st,
        &who,
        client,
        "portal.banned.add",
        "banned_words".into(),
        move |tx, u| {
            Ok(Added {
                added: banned::add(tx, u, &req.words)?,
            })
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/portal/check", tag = "portal",
    responses((status = 200, body = [selfcheck::Finding]), (status = 403, body = ErrorBody)))]
async fn self_check(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<selfcheck::Finding>>, ApiError> {
    who.require(&[Role::GeneralEditor, Role::ChiefEditor, Role::Admin])?;
    let now = crate::clock::now_utc();
    Ok(Json(st.store.read(move |c| selfcheck::run(c, &now)).await?))
}
