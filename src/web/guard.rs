//! The office listener's request guard: loads the session, enforces CSRF on every
//! state-changing request, and makes sure every state-changing request leaves an audit row.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{json_error, PageError};
use super::{AppState, WebError};
use crate::auth::{self, session, AuditEntry, Outcome, Role, Session};

pub const SESSION_COOKIE: &str = "govbox_session";
/// Double-submit token of the login form, which has no session to bind a token to yet.
pub const LOGIN_COOKIE: &str = "govbox_login";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "_csrf";
/// Form bodies are read whole to find the token; nothing legitimate is near this size.
const FORM_LIMIT: usize = 1 << 20;

/// The peer address of the request.
#[derive(Clone, Copy, Debug)]
pub struct Client(pub IpAddr);

/// Set on a response whose handler wrote its own, more specific audit row.
#[derive(Clone, Copy, Debug)]
pub struct Audited;

/// The signed-in user; rejects with 401 (JSON) or a redirect to the login page.
pub struct Authed(pub Session);

impl<S: Send + Sync> FromRequestParts<S> for Authed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Session>() {
            Some(s) => Ok(Authed(s.clone())),
            None => Err(reject(parts.uri.path(), WebError::Unauthenticated)),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Client>()
            .copied()
            .ok_or_else(|| json_error(&WebError::Internal("client address missing".into())))
    }
}

impl Authed {
    /// The route's role check: the user must hold at least one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), WebError> {
        if self.0.user.has_any(roles) {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }

    pub fn entry(&self, client: Client, action: &str, object: &str, detail: &str) -> AuditEntry {
        AuditEntry {
            actor: self.0.user.username.clone(),
            roles: self.0.user.role_codes(),
            action: action.into(),
            object: object.into(),
            client: client.0.to_string(),
            outcome: Outcome::Ok,
            detail: detail.into(),
        }
    }
}

pub async fn office(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    let client = Client(peer.ip());
    let session = load_session(&st, req.headers()).await;
    req.extensions_mut().insert(client);
    if let Some(s) = &session {
        req.extensions_mut().insert(s.clone());
    }
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| path.clone(), |m| m.as_str().to_string());
    let resp = match check_csrf(session.as_ref(), req).await {
        Ok(req) => next.run(req).await,
        Err(e) => reject(&path, e),
    };
    if resp.extensions().get::<Audited>().is_none() {
        let status = resp.status();
        let outcome = if status.is_success() || status.is_redirection() {
            Outcome::Ok
        } else if status.is_client_error() {
            Outcome::Refused
        } else {
            Outcome::Failed
        };
        let entry = AuditEntry {
            actor: session
                .as_ref()
                .map_or_else(|| "anonymous".into(), |s| s.user.username.clone()),
            roles: session
                .as_ref()
                .map_or_else(String::new, |s| s.user.role_codes()),
            action: format!("{method} {route}"),
            object: path,
            client: client.0.to_string(),
            outcome,
            detail: format!("HTTP {}", status.as_u16()),
        };
        st.audit(entry).await;
    }
    resp
}

fn reject(path: &str, e: WebError) -> Response {
    if path.starts_with("/api/") {
        json_error(&e)
    } else {
        PageError(e).into_response()
    }
}

async fn load_session(st: &AppState, headers: &HeaderMap) -> Option<Session> {
    let token = cookie(headers, SESSION_COOKIE)?;
    let hash = session::token_hash(&token)?;
    // Taken before the read: a write committing meanwhile makes what is read stale at once.
    let commits = st.store.commits();
    if let Some(s) = st.sessions.get(&hash, commits) {
        return Some(s);
    }
    let found = st
        .store
        .read(move |c| session::lookup(c, &token))
        .await
        .unwrap_or_else(|e| {
            log::error!("session lookup failed: {e}");
            None
        });
    if let Some(s) = &found {
        if s.needs_touch() {
            let th = s.token_hash.clone();
            if let Err(e) = st.store.write(move |tx| session::touch(tx, &th)).await {
                log::warn!("session touch failed: {e}");
            }
        } else {
            st.sessions.put(s.clone(), commits);
        }
    }
    found
}

/// Lets the request through when it carries the right token, in the `X-CSRF-Token` header or
/// the `_csrf` field of a urlencoded form. `/api/login` is exempt: it only takes
/// `application/json`, which a cross-site form cannot send without a CORS preflight.
async fn check_csrf(session: Option<&Session>, req: Request) -> Result<Request, WebError> {
    let path = req.uri().path();
    if path == "/api/login" {
        return Ok(req);
    }
    let expected = if path == "/login" {
        cookie(req.headers(), LOGIN_COOKIE).ok_or(WebError::Csrf)?
    } else {
        session.ok_or(WebError::Unauthenticated)?.csrf.clone()
    };
    let header_token = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(given) = header_token {
        return if session::csrf_matches(&expected, &given) {
            Ok(req)
        } else {
            Err(WebError::Csrf)
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(WebError::Csrf);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| WebError::TooLarge)?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let given = fields
        .iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.as_str())
        .ok_or(WebError::Csrf)?;
    if !session::csrf_matches(&expected, given) {
        return Err(WebError::Csrf);
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// `Set-Cookie` for a session token; `None` clears it. `Secure` is set when the office is
/// served over TLS so the cookie never travels in clear text.
pub fn set_cookie(name: &str, path: &str, value: Option<&str>, secure: bool) -> HeaderValue {
    let mut c = match value {
        Some(v) => format!("{name}={v}; Path={path}; HttpOnly; SameSite=Strict"),
        None => format!("{name}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// One sign-in attempt, throttled and audited whatever its outcome.
pub async fn sign_in(
    st: &AppState,
    username: String,
    password: String,
    client: Client,
) -> Result<(auth::User, String, String), WebError> {
    let client_text = client.0.to_string();
    let attempt = |outcome, detail: String| AuditEntry {
        actor: username.clone(),
        roles: String::new(),
        action: "login".into(),
        object: format!("user:{username}"),
        client: client_text.clone(),
        outcome,
        detail,
    };
    if username.is_empty() || username.len() > 64 || password.len() > 1024 {
        st.audit(attempt(Outcome::Refused, "malformed".into()))
            .await;
        return Err(WebError::BadCredentials);
    }
    if let Err(wait) = st.throttle.check(&username, &client_text) {
        st.audit(attempt(Outcome::Refused, "throttled".into()))
            .await;
        return Err(WebError::Throttled(wait.as_secs()));
    }
    let name = username.clone();
    let checked = st
        .store
        .read(move |c| auth::authenticate(c, &name, &password))
        .await;
    let user = match checked {
        Ok(u) => u,
        Err(e) => {
            if matches!(
                e,
                auth::AuthError::BadCredentials | auth::AuthError::Disabled
            ) {
                st.throttle.failed(&username, &client_text);
            }
            st.audit(attempt(Outcome::Refused, e.to_string())).await;
            return Err(e.into());
        }
    };
    st.throttle.succeeded(&username);
    let mut ok = attempt(Outcome::Ok, String::new());
    ok.roles = user.role_codes();
    let user_id = user.id;
    let (token, csrf) = st
        .store
        .write(move |tx| -> Result<_, WebError> {
            let pair = session::create(tx, user_id, &ok.client)?;
            auth::audit::append(tx, &ok)?;
            Ok(pair)
        })
        .await?;
    Ok((user, token, csrf))
}

/// Runs `f` in one write transaction together with the audit row of the action, so an action
/// and its audit entry commit or roll back as one. Every part's handlers write through this.
pub async fn audited_write<T, E, F>(
    st: &super::AppState,
    who: &Authed,
    client: Client,
    action: &'static str,
    object: String,
    f: F,
) -> Result<T, E>
where
    F: FnOnce(&mut crate::store::WriteTx, &crate::auth::User) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<crate::store::StoreError> + Send + 'static,
{
    let user = who.0.user.clone();
    let entry = who.entry(client, action, &object, "");
    st.store
        .write(move |tx| -> Result<T, E> {
            let v = f(tx, &user)?;
            crate::auth::audit::append(tx, &entry)?;
            Ok(v)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_parsing_finds_the_named_cookie() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; govbox_session=abc"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&h, "missing"), None);
        let set = set_cookie(SESSION_COOKIE, "/", Some("t"), true);
        let set = set.to_str().unwrap();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Secure")
        );
    }
}
