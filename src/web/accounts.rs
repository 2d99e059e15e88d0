//! Account administration shared by the JSON API and the office pages: each action checks the
//! role, hashes off the runtime, writes and audits in one transaction.

use super::guard::{Authed, Client};
use super::{AppState, WebError};
use crate::auth::{self, audit, AuthError, NewUser, Role, User};

pub async fn add_user(
    st: &AppState,
    who: &Authed,
    client: Client,
    new: NewUser,
    password: String,
) -> Result<User, WebError> {
    who.require(&[Role::Admin])?;
    auth::validate_username(&new.username)?;
    auth::check_policy(&new.username, &password)?;
    let hash = hash_off_runtime(password).await?;
    let entry = who.entry(client, "user.add", &format!("user:{}", new.username), "");
    Ok(st
        .store
        .write(move |tx| -> Result<User, AuthError> {
            let id = auth::create_user(tx, &new, &hash)?;
            audit::append(tx, &entry)?;
            auth::user(tx.conn(), id)
        })
        .await?)
}

pub async fn disable_user(
    st: &AppState,
    who: &Authed,
    client: Client,
    username: String,
) -> Result<User, WebError> {
    who.require(&[Role::Admin])?;
    if username.eq_ignore_ascii_case(&who.0.user.username) {
        return Err(WebError::bad_request(
            "invalid_input",
            "不能停用自己的账号",
            "you cannot disable your own account",
        ));
    }
    let entry = who.entry(client, "user.disable", &format!("user:{username}"), "");
    Ok(st
        .store
        .write(move |tx| -> Result<User, AuthError> {
            let id = auth::disable_user(tx, &username)?;
            audit::append(tx, &entry)?;
            auth::user(tx.conn(), id)
        })
        .await?)
}

/// Sets `username`'s password. Users may set their own when they give the current one;
/// admins may set anyone's. Ends the user's sessions.
pub async fn set_password(
    st: &AppState,
    who: &Authed,
    client: Client,
    username: String,
    password: String,
    current: Option<String>,
) -> Result<(), WebError> {
    if username.eq_ignore_ascii_case(&who.0.user.username) {
        let current = current.unwrap_or_default();
        let name = username.clone();
        st.store
            .read(move |c| auth::authenticate(c, &name, &current))
            .await
            .map_err(|_| WebError::BadCredentials)?;
    } else {
        who.require(&[Role::Admin])?;
    }
    auth::check_policy(&username, &password)?;
    let hash = hash_off_runtime(password).await?;
    let entry = who.entry(client, "user.passwd", &format!("user:{username}"), "");
    st.store
        .write(move |tx| -> Result<(), AuthError> {
            auth::set_password(tx, &username, &hash)?;
            audit::append(tx, &entry)?;
            Ok(())
        })
        .await?;
    Ok(())
}

/// argon2 costs tens of milliseconds by design; it must not stall a runtime worker.
async fn hash_off_runtime(password: String) -> Result<String, WebError> {
    tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(WebError::from)
}
