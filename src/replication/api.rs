//! The aggregated view on the office listener's JSON API, for statistics across sites.

use axum::extract::{Path, State};
use axum::routing::{get, MethodRouter};
use axum::Json;
use utoipa::OpenApi;

use super::view::{self, EntityCount, ReplicaRow, RowQuery};
use crate::auth::Role;
use crate::web::api::ApiQuery;
use crate::web::{ApiError, AppState, Authed, ErrorBody};

/// Who may read other sites' data here: the people who report across sites.
const READERS: &[Role] = &[Role::Admin, Role::Leader, Role::Supervisor, Role::Auditor];

#[derive(OpenApi)]
#[openapi(
    paths(replica_counts, replica_rows),
    components(schemas(EntityCount, ReplicaRow))
)]
pub struct ReplicaApi;

pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/api/replicas", get(replica_counts)),
        ("/api/replicas/{entity}", get(replica_rows)),
    ]
}

/// Rows held of each entity, per site below.
#[utoipa::path(get, path = "/api/replicas", tag = "replication",
    responses((status = 200, body = Vec<EntityCount>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn replica_counts(
    State(st): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<EntityCount>>, ApiError> {
    who.require(READERS)?;
    Ok(Json(st.store.read(view::counts).await?))
}

/// One entity's rows across the sites below, one page.
#[utoipa::path(get, path = "/api/replicas/{entity}", tag = "replication",
    params(("entity" = String, Path, description = "e.g. `department`, `case`"), RowQuery),
    responses((status = 200, body = Vec<ReplicaRow>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn replica_rows(
    State(st): State<AppState>,
    who: Authed,
    Path(entity): Path<String>,
    ApiQuery(q): ApiQuery<RowQuery>,
) -> Result<Json<Vec<ReplicaRow>>, ApiError> {
    who.require(READERS)?;
    Ok(Json(
        st.store.read(move |c| view::rows(c, &entity, &q)).await?,
    ))
}
