//! The replication listener: HTTPS with client certificates from our CA only, the four
//! replication routes and nothing else, a rate limit per client site.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Extension, Json, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::receiver::{Client, Receiver};
use super::wire::{self, Batch, BlobAnswer, BlobQuery, Hello, Refusal};
use super::{pki, stopped, ReplicationError};
use crate::store::Store;

/// Every route of the replication listener, for the API document and its test.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/replication/v1/hello"),
    ("POST", "/replication/v1/batch"),
    ("POST", "/replication/v1/blobs/missing"),
    ("PUT", "/replication/v1/blobs/{hash}"),
];

/// Blobs are attachments, not compressed JSON: their own, larger limit.
const MAX_BLOB: usize = 256 << 20;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Clone)]
struct Ctx {
    store: Store,
    receiver: Arc<Receiver>,
    limiter: Arc<Limiter>,
}

pub fn router(store: Store, receiver: Receiver, max_body: usize, per_minute: u32) -> Router {
    let ctx = Ctx {
        store,
        receiver: Arc::new(receiver),
        limiter: Arc::new(Limiter::new(per_minute)),
    };
    Router::new()
        .route("/replication/v1/hello", post(hello))
        .route("/replication/v1/batch", post(batch))
        .route("/replication/v1/blobs/missing", post(missing_blobs))
        .route(
            "/replication/v1/blobs/{hash}",
            put(put_blob).layer(DefaultBodyLimit::max(MAX_BLOB)),
        )
        .fallback(|| async {
            refuse(ReplicationError::NotFound("复制接口上没有这个地址".into()))
        })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(ctx)
}

/// Accepts TLS connections until `stop` turns true. A handshake that fails (no certificate,
/// another CA, expired) never reaches a route; it is logged with the peer address.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    log::warn!("replication accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => return,
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            match connection(acceptor, tcp, peer, app).await {
                Err(Refused::Handshake(e)) => {
                    log::warn!("replication connection from {peer} refused: {e}")
                }
                // A peer that hangs up mid-request is the link dropping, not news.
                Err(Refused::Later(e)) => log::debug!("replication connection from {peer}: {e}"),
                Ok(()) => {}
            }
        });
    }
}

enum Refused {
    Handshake(String),
    Later(String),
}

async fn connection(
    acceptor: TlsAcceptor,
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
) -> Result<(), Refused> {
    let _ = tcp.set_nodelay(true);
    let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
        .await
        .map_err(|_| Refused::Handshake("TLS handshake timed out".into()))?
        .map_err(|e| Refused::Handshake(format!("TLS handshake: {e}")))?;
    let der = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .cloned()
        .ok_or(Refused::Handshake("no client certificate".into()))?;
    let identity = pki::identity_of(&der).map_err(|e| Refused::Handshake(e.to_string()))?;
    let cert_pem = pem_of(&der);
    log::debug!("replication connection from {peer}: site {}", identity.site);
    let client = Client { identity, cert_pem };
    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let app = app.clone().layer(Extension(client.clone()));
        async move { app.oneshot(req.map(axum::body::Body::new)).await }
    });
    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(tls), svc)
        .await
        .map_err(|e| Refused::Later(e.to_string()))
}

fn pem_of(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()))
}

async fn hello(
    State(ctx): State<Ctx>,
    Extension(client): Extension<Client>,
    Json(body): Json<Hello>,
) -> Response {
    if let Err(e) = ctx.limiter.check(&client.identity.site) {
        return refuse(e);
    }
    let receiver = ctx.receiver.clone();
    let r = ctx
        .store
        .write(move |tx| receiver.hello(tx, &client, &body))
        .await;
    answer(r)
}

async fn batch(
    State(ctx): State<Ctx>,
    Extension(client): Extension<Client>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let site = client.identity.site.clone();
    if let Err(e) = ctx.limiter.check(&site) {
        return refuse(e);
    }
    let zstd = headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes() == b"zstd");
    let decoded = tokio::task::spawn_blocking(move || wire::decode::<Batch>(&body, zstd)).await;
    let batch = match decoded {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            log::warn!("replication batch from {site} refused: {e}");
            return refuse(e);
        }
        Err(e) => return refuse(ReplicationError::Protocol(format!("解码: {e}"))),
    };
    let receiver = ctx.receiver.clone();
    let r = ctx
        .store
        .write(move |tx| receiver.apply(tx, &client, &batch))
        .await;
    if let Err(e) = &r {
        log::warn!("replication batch from {site} refused: {e}");
    }
    answer(r)
}

async fn missing_blobs(
    State(ctx): State<Ctx>,
    Extension(client): Extension<Client>,
    Json(q): Json<BlobQuery>,
) -> Response {
    if let Err(e) = ctx.limiter.check(&client.identity.site) {
        return refuse(e);
    }
    let receiver = ctx.receiver.clone();
    let r = tokio::task::spawn_blocking(move || receiver.missing_blobs(&q.hashes))
        .await
        .unwrap_or_else(|e| Err(ReplicationError::Protocol(e.to_string())));
    answer(r.map(|missing| BlobAnswer { missing }))
}

async fn put_blob(
    State(ctx): State<Ctx>,
    Extension(client): Extension<Client>,
    Path(hash): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(e) = ctx.limiter.check(&client.identity.site) {
        return refuse(e);
    }
    let blobs = ctx.receiver.blobs.clone();
    let r = tokio::task::spawn_blocking(move || blobs.put_checked(&hash, &body))
        .await
        .map_err(|e| ReplicationError::Protocol(e.to_string()))
        .and_then(|r| {
            r.map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => ReplicationError::Protocol(e.to_string()),
                _ => ReplicationError::Io("blobs".into(), e),
            })
        });
    match r {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            log::warn!("blob from {} refused: {e}", client.identity.site);
            refuse(e)
        }
    }
}

fn answer<T: serde::Serialize>(r: Result<T, ReplicationError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => refuse(e),
    }
}

fn refuse(e: ReplicationError) -> Response {
    let (status, code) = e.status();
    let expected = match &e {
        ReplicationError::Stale { expected, .. } => Some(expected.clone()),
        _ => None,
    };
    (
        status,
        Json(Refusal {
            code: code.into(),
            message: e.to_string(),
            expected,
        }),
    )
        .into_response()
}

/// A token bucket per client site: a runaway or hostile child cannot keep the writer busy.
struct Limiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Limiter {
    fn new(per_minute: u32) -> Limiter {
        Limiter {
            per_minute: f64::from(per_minute),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn check(&self, site: &str) -> Result<(), ReplicationError> {
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let (tokens, at) = b.entry(site.to_string()).or_insert((self.per_minute, now));
        let refill = now.duration_since(*at).as_secs_f64() * self.per_minute / 60.0;
        *tokens = (*tokens + refill).min(self.per_minute);
        *at = now;
        if *tokens < 1.0 {
            return Err(ReplicationError::RateLimited(site.to_string()));
        }
        *tokens -= 1.0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_refuses_past_the_rate() {
        let l = Limiter::new(3);
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_err());
        assert!(l.check("b").is_ok());
    }
}
