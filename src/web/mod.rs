//! axum: the two listeners (portal, office), shared layers, templates, static assets, and the
//! server's life: READY, watchdog, graceful shutdown.

mod accounts;
pub mod api;
mod error;
pub mod guard;
mod metrics;
mod pages;
mod sessions;
mod templates;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::middleware::{from_fn_with_state, map_response};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;

pub use error::{ApiError, ErrorBody, PageError, WebError};
pub use guard::{Audited, Authed, Client};
pub use metrics::Metrics;
pub use templates::render;

use crate::auth::{AuditEntry, Throttle};
use crate::site::SiteConfig;
use crate::store::Store;

/// The office takes JSON and forms; uploads get their own, larger limits on their routes.
const OFFICE_BODY_LIMIT: usize = 1 << 20;
/// The portal takes short forms from the public.
const PORTAL_BODY_LIMIT: usize = 256 << 10;
/// A request that takes longer than this is answered 408 and its work dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long in-flight requests may take to finish after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub site: Arc<SiteConfig>,
    pub throttle: Arc<Throttle>,
    pub metrics: Arc<Metrics>,
    /// Set when the office is served over TLS, so cookies carry `Secure`.
    pub secure_cookies: bool,
    /// Flood limits of the portal's public forms.
    pub portal: Arc<crate::portal::Limits>,
    /// The portal's rendered pages.
    pub portal_pages: Arc<crate::portal::PageCache>,
    /// Sessions just read, for the office's next requests.
    pub sessions: Arc<sessions::SessionCache>,
}

impl AppState {
    pub fn new(store: Store, site: Arc<SiteConfig>) -> AppState {
        AppState {
            store,
            site,
            throttle: Arc::new(Throttle::default()),
            metrics: Arc::new(Metrics::default()),
            secure_cookies: false,
            portal: Arc::new(crate::portal::Limits::default()),
            portal_pages: Arc::new(crate::portal::PageCache::default()),
            sessions: Arc::new(sessions::SessionCache::default()),
        }
    }

    /// Appends an audit row on its own; a failure is logged, never shown to the requester.
    pub async fn audit(&self, entry: AuditEntry) {
        let r = self
            .store
            .write(move |tx| crate::auth::audit_alone(tx, &entry))
            .await;
        if let Err(e) = r {
            log::error!("audit append failed: {e}");
        }
    }
}

/// The office listener (internal zone): staff pages, the JSON API, health and metrics.
pub fn office_router(st: AppState) -> Router {
    let mut r = Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_page).post(pages::login_submit))
        .route("/logout", post(pages::logout))
        .route("/audit", get(pages::audit_page))
        .route("/users", get(pages::users).post(pages::add_user))
        .route("/users/{username}/disable", post(pages::disable_user))
        .route("/users/{username}/reset", post(pages::reset_password))
        .route("/metrics", get(metrics_text))
        .merge(crate::approval::calendar::web::pages())
        .merge(crate::approval::notify::web::pages());
    for (path, handlers) in api::routes() {
        r = r.route(path, handlers);
    }
    let r = r
        .merge(crate::office::pages::pages())
        .merge(crate::portal::staff::pages())
        .merge(crate::supervision::pages::pages())
        .merge(crate::approval::pages::pages())
        .fallback(not_found)
        .layer(from_fn_with_state(st.clone(), guard::office))
        .merge(static_routes());
    with_common(r, &st, "office", OFFICE_BODY_LIMIT).with_state(st)
}

/// The portal listener (external zone): public pages only; nothing of the office is routed here.
pub fn portal_router(st: AppState) -> Router {
    let r = crate::portal::routes()
        .layer(axum::middleware::from_fn(client_address))
        .layer(from_fn_with_state(st.clone(), crate::portal::cache::serve))
        .fallback(not_found)
        .merge(static_routes());
    with_common(r, &st, "portal", PORTAL_BODY_LIMIT).with_state(st)
}

fn static_routes() -> Router<AppState> {
    Router::new().route(
        "/static/app.css",
        get(|| async {
            (
                [
                    (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                    (header::CACHE_CONTROL, "public, max-age=3600"),
                ],
                templates::CSS,
            )
        }),
    )
}

/// Layers both listeners share, outermost first: metrics see every answer, including timeouts.
fn with_common(
    r: Router<AppState>,
    st: &AppState,
    listener: &'static str,
    body_limit: usize,
) -> Router<AppState> {
    r.layer(DefaultBodyLimit::max(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(map_response(security_headers))
        .layer(from_fn_with_state(
            (st.metrics.clone(), listener),
            metrics::record,
        ))
}

/// The portal has no guard; its handlers still need the peer address (flood limits, audit).
async fn client_address(
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    req.extensions_mut().insert(Client(peer.ip()));
    next.run(req).await
}

async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ));
    resp
}

async fn not_found(uri: Uri) -> Response {
    let e = WebError::NotFound(format!("页面 {}", uri.path()));
    if uri.path().starts_with("/api/") {
        ApiError(e).into_response()
    } else {
        PageError(e).into_response()
    }
}

async fn metrics_text(State(st): State<AppState>) -> Result<Response, ApiError> {
    let path = st.store.path().to_path_buf();
    let seq = st.store.read(crate::store::high_water).await?;
    let db_bytes: u64 = ["", "-wal"]
        .iter()
        .filter_map(|suffix| {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            std::fs::metadata(p).ok().map(|m| m.len())
        })
        .sum();
    let site = st.site.clone();
    let (newest, drill) = tokio::task::spawn_blocking(move || crate::backup::health(&site))
        .await
        .unwrap_or((None, None));
    let mut gauges = vec![
        (
            "govbox_db_size_bytes",
            "Size of the site database and its WAL.",
            db_bytes as f64,
        ),
        (
            "govbox_change_seq",
            "High-water seq of the change log.",
            seq as f64,
        ),
        (
            "govbox_schema_version",
            "Schema version of the site database.",
            f64::from(crate::store::schema_version()),
        ),
    ];
    if let Some(age) = newest {
        gauges.push((
            "govbox_backup_newest_age_seconds",
            "Age of the newest backup.",
            age as f64,
        ));
    }
    if let Some(d) = &drill {
        let age = crate::clock::parse_utc(&d.at).map_or(0.0, |t| {
            jiff::Timestamp::now().duration_since(t).as_secs_f64()
        });
        gauges.push((
            "govbox_backup_drill_ok",
            "1 if the last restore drill succeeded.",
            f64::from(u8::from(d.ok)),
        ));
        gauges.push((
            "govbox_backup_drill_age_seconds",
            "Age of the last restore drill.",
            age,
        ));
        gauges.push((
            "govbox_backup_drill_duration_seconds",
            "Time the last restore drill took (RTO).",
            d.seconds,
        ));
    }
    let site = st.site.clone();
    let replication = st
        .store
        .read(move |c| crate::replication::status(c, &site))
        .await
        .map(|s| s.metrics())
        .unwrap_or_else(|e| {
            log::error!("replication status for /metrics: {e}");
            String::new()
        });
    let sms = st
        .store
        .read(crate::approval::notify::metrics)
        .await
        .unwrap_or_else(|e| {
            log::error!("sms outbox for /metrics: {e}");
            String::new()
        });
    let mut body = st.metrics.render(&gauges);
    body.push_str(&replication);
    body.push_str(&sms);
    body.push_str(&st.portal_pages.metrics());
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

/// Listeners bound before serving starts, so the caller can print the real addresses.
pub struct Bound {
    pub portal: TcpListener,
    pub office: TcpListener,
}

impl Bound {
    pub async fn bind(site: &SiteConfig) -> Result<Bound, (String, std::io::Error)> {
        let bind = |key: &'static str, addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|e| (format!("{key} = \"{addr}\""), e))
        };
        Ok(Bound {
            portal: bind("listen.portal", site.listen.portal).await?,
            office: bind("listen.office", site.listen.office).await?,
        })
    }

    pub fn addrs(&self) -> std::io::Result<(SocketAddr, SocketAddr)> {
        Ok((self.portal.local_addr()?, self.office.local_addr()?))
    }
}

/// Serves both listeners until SIGTERM or SIGINT, telling systemd READY, WATCHDOG and STOPPING
/// when it is listening. In-flight requests finish; then the store is closed cleanly.
/// `background` starts the site's other long-running tasks (replication); they are given the
/// stop signal and awaited, within the grace period, before the store closes.
pub async fn serve(
    st: AppState,
    bound: Bound,
    mut signals: Signals,
    background: impl FnOnce(tokio::sync::watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>>,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let tasks = background(stop_rx.clone());
    let until_stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let portal = axum::serve(
        bound.portal,
        portal_router(st.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(until_stop(stop_rx.clone()));
    let office = axum::serve(
        bound.office,
        office_router(st.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(until_stop(stop_rx));
    let portal = tokio::spawn(async move { portal.await });
    let office = tokio::spawn(async move { office.await });

    notify(&[sd_notify::NotifyState::Ready]);
    let watchdog = tokio::spawn(watchdog(st.clone()));
    signals.recv().await;
    log::info!("stopping: finishing requests in flight");
    notify(&[sd_notify::NotifyState::Stopping]);
    watchdog.abort();
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        let _ = portal.await;
        let _ = office.await;
        for t in tasks {
            let _ = t.await;
        }
    })
    .await;
    if drained.is_err() {
        log::warn!("requests still running after {SHUTDOWN_GRACE:?}; stopping anyway");
    }
    let store = st.store.clone();
    let _ = tokio::task::spawn_blocking(move || store.close()).await;
    log::info!("stopped");
    Ok(())
}

fn notify(state: &[sd_notify::NotifyState]) {
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        if let Err(e) = sd_notify::notify(false, state) {
            log::warn!("sd_notify failed: {e}");
        }
    }
}

/// Pings the systemd watchdog only while the database still answers, so a wedged writer or
/// pool gets the service restarted instead of silently hanging.
async fn watchdog(st: AppState) {
    let mut usec = 0u64;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return;
    }
    let every = Duration::from_micros(usec / 2);
    loop {
        tokio::time::sleep(every).await;
        let alive = st.store.read(crate::store::high_water).await.is_ok();
        if alive {
            notify(&[sd_notify::NotifyState::Watchdog]);
        } else {
            log::error!("database did not answer; withholding watchdog ping");
        }
    }
}

/// SIGTERM and SIGINT handlers, installed before the listeners are announced so that a stop
/// request arriving during start-up is a clean stop, not the default kill.
pub struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Must be called inside the runtime.
    pub fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
