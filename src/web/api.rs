//! The office listener's JSON API. Handlers are thin: parse, check the role, call the part.
//!
//! Every route is listed once in [`routes`]; a unit test fails when one of them is missing from
//! the OpenAPI document, and an integration test calls every documented operation.

use axum::extract::{FromRequest, FromRequestParts, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::accounts;
use super::error::{ApiError, ErrorBody};
use super::guard::{self, Audited, Authed, Client};
use super::AppState;
use crate::auth::{self, audit, Department, DeptKind, NewUser, Role, RoleGrant, User};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "govbox office API",
        description = "JSON API of the office listener (政务内网). Errors are `ErrorBody` with a stable `code`."
    ),
    paths(
        healthz,
        login,
        logout,
        me,
        list_users,
        create_user,
        disable_user,
        set_password,
        list_departments,
        create_department,
        list_audit,
        openapi_json
    ),
    components(schemas(
        ErrorBody,
        User,
        RoleGrant,
        Department,
        DeptKind,
        audit::Row,
        LoginRequest,
        LoginResponse,
        CreateUserRequest,
        PasswordRequest,
        CreateDepartmentRequest,
        Health
    ))
)]
pub struct ApiDoc;

impl ApiDoc {
    /// The document as served at `/api/openapi.json`.
    pub fn openapi_doc() -> utoipa::openapi::OpenApi {
        let mut doc = <ApiDoc as OpenApi>::openapi();
        doc.merge(crate::replication::api::ReplicaApi::openapi());
        doc.merge(crate::approval::calendar::web::CalendarApi::openapi());
        doc.merge(crate::approval::notify::web::SmsApi::openapi());
        doc.merge(crate::office::api::OfficeApi::openapi_doc());
        doc.merge(crate::portal::api::PortalApi::openapi());
        doc.merge(crate::supervision::api::SupervisionApi::openapi_doc());
        doc.merge(crate::approval::api::ApprovalApi::openapi_doc());
        doc
    }
}

/// The office listener's JSON routes: (path, handlers). The only place they are registered.
pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    let mut r = vec![
        ("/healthz", get(healthz)),
        ("/api/openapi.json", get(openapi_json)),
        ("/api/login", post(login)),
        ("/api/logout", post(logout)),
        ("/api/me", get(me)),
        ("/api/users", get(list_users).post(create_user)),
        ("/api/users/{username}/disable", post(disable_user)),
        ("/api/users/{username}/password", post(set_password)),
        (
            "/api/departments",
            get(list_departments).post(create_department),
        ),
        ("/api/audit", get(list_audit)),
    ];
    r.extend(crate::replication::api::routes());
    r.extend(crate::approval::calendar::web::routes());
    r.extend(crate::approval::notify::web::routes());
    r.extend(crate::office::api::routes());
    r.extend(crate::supervision::api::routes());
    r.extend(crate::approval::api::routes());
    r.extend(crate::portal::api::routes());
    r
}

/// `Json` whose rejections are answered as [`ErrorBody`] like every other API error.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub site: String,
    pub tier: String,
    pub schema_version: u32,
    pub change_seq: i64,
}

/// Liveness and basic facts; 200 only when the database answers.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, body = Health), (status = 500, body = ErrorBody)))]
async fn healthz(State(st): State<AppState>) -> Result<Json<Health>, ApiError> {
    let seq = st.store.read(crate::store::high_water).await?;
    Ok(Json(Health {
        status: "ok".into(),
        site: st.site.site.id.clone(),
        tier: st.site.site.tier.as_str().into(),
        schema_version: crate::store::schema_version(),
        change_seq: seq,
    }))
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "system",
    responses((status = 200, description = "This document (OpenAPI 3.1)")))]
async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        ApiDoc::openapi_doc().to_pretty_json().unwrap_or_default(),
    )
        .into_response()
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub user: User,
    /// Send back as the `X-CSRF-Token` header on every state-changing request.
    pub csrf_token: String,
}

/// Signs in and sets the session cookie. Throttled per user and per address.
#[utoipa::path(post, path = "/api/login", tag = "session", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(st): State<AppState>,
    client: Client,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Response {
    match guard::sign_in(&st, req.username, req.password, client).await {
        Ok((user, token, csrf)) => (
            Extension(Audited),
            [(
                header::SET_COOKIE,
                guard::set_cookie(guard::SESSION_COOKIE, "/", Some(&token), st.secure_cookies),
            )],
            Json(LoginResponse {
                user,
                csrf_token: csrf,
            }),
        )
            .into_response(),
        Err(e) => (Extension(Audited), ApiError(e)).into_response(),
    }
}

/// Ends the session.
#[utoipa::path(post, path = "/api/logout", tag = "session",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn logout(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
) -> Result<Response, ApiError> {
    end_session(&st, &who, client).await?;
    Ok((
        StatusCode::NO_CONTENT,
        Extension(Audited),
        [(
            header::SET_COOKIE,
            guard::set_cookie(guard::SESSION_COOKIE, "/", None, st.secure_cookies),
        )],
    )
        .into_response())
}

pub async fn end_session(st: &AppState, who: &Authed, client: Client) -> Result<(), ApiError> {
    let th = who.0.token_hash.clone();
    let entry = who.entry(
        client,
        "logout",
        &format!("user:{}", who.0.user.username),
        "",
    );
    st.store
        .write(move |tx| -> Result<(), crate::store::StoreError> {
            auth::session::end(tx, &th)?;
            audit::append(tx, &entry).map(|_| ())
        })
        .await?;
    Ok(())
}

/// The signed-in user and the session's CSRF token.
#[utoipa::path(get, path = "/api/me", tag = "session",
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody)))]
async fn me(who: Authed) -> Json<LoginResponse> {
    Json(LoginResponse {
        user: who.0.user.clone(),
        csrf_token: who.0.csrf.clone(),
    })
}

/// All users with their roles. Admins only.
#[utoipa::path(get, path = "/api/users", tag = "users",
    responses((status = 200, body = Vec<User>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_users(State(st): State<AppState>, who: Authed) -> Result<Json<Vec<User>>, ApiError> {
    who.require(&[Role::Admin])?;
    Ok(Json(st.store.read(auth::list_users).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateUserRequest {
    pub username: String,
    pub display_name: String,
    /// At least 10 characters, not containing the username, not a common password.
    pub password: String,
    pub roles: Vec<RoleGrant>,
}

/// Creates a user. Admins only.
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = CreateUserRequest,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_user(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> Result<Response, ApiError> {
    let new = NewUser {
        username: req.username,
        display_name: req.display_name,
        roles: req.roles,
    };
    let user = accounts::add_user(&st, &who, client, new, req.password).await?;
    Ok((StatusCode::CREATED, Extension(Audited), Json(user)).into_response())
}

/// Disables a user and ends their sessions. Admins only.
#[utoipa::path(post, path = "/api/users/{username}/disable", tag = "users",
    params(("username" = String, Path)),
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn disable_user(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    let user = accounts::disable_user(&st, &who, client, username).await?;
    Ok((Extension(Audited), Json(user)).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordRequest {
    pub password: String,
    /// Required when changing one's own password.
    pub current_password: Option<String>,
}

/// Sets a password: admins for anyone, every user for themselves (with the current password).
/// Ends the user's sessions.
#[utoipa::path(post, path = "/api/users/{username}/password", tag = "users",
    params(("username" = String, Path)), request_body = PasswordRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_password(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    Path(username): Path<String>,
    ApiJson(req): ApiJson<PasswordRequest>,
) -> Result<Response, ApiError> {
    accounts::set_password(
        &st,
        &who,
        client,
        username,
        req.password,
        req.current_password,
    )
    .await?;
    Ok((StatusCode::NO_CONTENT, Extension(Audited)).into_response())
}

/// Departments in tree order (parents before children).
#[utoipa::path(get, path = "/api/departments", tag = "departments",
    responses((status = 200, body = Vec<Department>), (status = 401, body = ErrorBody)))]
async fn list_departments(
    State(st): State<AppState>,
    _who: Authed,
) -> Result<Json<Vec<Department>>, ApiError> {
    Ok(Json(st.store.read(auth::list_departments).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateDepartmentRequest {
    pub name: String,
    pub parent_id: Option<i64>,
    pub kind: DeptKind,
}

/// Creates a department. Admins only.
#[utoipa::path(post, path = "/api/departments", tag = "departments", request_body = CreateDepartmentRequest,
    responses((status = 201, body = Department), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_department(
    State(st): State<AppState>,
    who: Authed,
    client: Client,
    ApiJson(req): ApiJson<CreateDepartmentRequest>,
) -> Result<Response, ApiError> {
    who.require(&[Role::Admin])?;
    let entry = who.entry(
        client,
        "department.add",
        &format!("department:{}", req.name),
        "",
    );
    let dept = st
        .store
        .write(move |tx| -> Result<Department, auth::AuthError> {
            let id = auth::create_department(tx, &req.name, req.parent_id, req.kind)?;
            audit::append(tx, &entry)?;
            auth::department(tx.conn(), id)
        })
        .await?;
    Ok((StatusCode::CREATED, Extension(Audited), Json(dept)).into_response())
}

/// The audit log, newest first. Admins and auditors only.
#[utoipa::path(get, path = "/api/audit", tag = "audit", params(audit::Filter),
    responses((status = 200, body = Vec<audit::Row>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_audit(
    State(st): State<AppState>,
    who: Authed,
    ApiQuery(filter): ApiQuery<audit::Filter>,
) -> Result<Json<Vec<audit::Row>>, ApiError> {
    who.require(&[Role::Admin, Role::Auditor])?;
    Ok(Json(st.store.read(move |c| audit::list(c, &filter)).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_openapi_document() {
        let doc = ApiDoc::openapi_doc();
        let json = serde_json::to_value(&doc).unwrap();
        assert!(json["openapi"].as_str().unwrap().starts_with("3.1"));
        for (path, _) in routes() {
            assert!(
                doc.paths.paths.contains_key(path),
                "route {path} is missing from the OpenAPI document: add its handler to ApiDoc"
            );
        }
        assert_eq!(
            doc.paths.paths.len(),
            routes().len(),
            "documented paths without a route"
        );
    }
}
