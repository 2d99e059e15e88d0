//! The sending end: reads the change log (and, at a county, what it received from its
//! townships) after what the upstream acknowledged, and ships it in bounded, compressed
//! batches. It only ever reads local data and writes its own bookkeeping, so the office never
//! waits for the link.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, Connection};
use serde_json::value::RawValue;

use super::pki::SiteTls;
use super::wire::{
    self, Acked, Batch, BlobAnswer, BlobQuery, Change, Hello, OriginChanges, Refusal, Reported,
};
use super::{stopped, ReplicationError};
use crate::site::{SiteConfig, Tier};
use crate::store::{self, Blobs, Store};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
const ZSTD_LEVEL: i32 = 3;
/// Rough JSON overhead of one change besides its payload, for the byte budget.
const CHANGE_OVERHEAD: usize = 96;

pub struct Sender {
    pub store: Store,
    pub site: Arc<SiteConfig>,
    pub tls: Arc<SiteTls>,
}

/// Ships changes until `stop` turns true. Failures back off exponentially with jitter up to
/// `upstream.retry_max_seconds`; success resets the backoff.
pub async fn run(s: Sender, mut stop: tokio::sync::watch::Receiver<bool>) {
    let up = s.site.upstream.clone();
    let max_backoff = Duration::from_secs(up.retry_max_seconds.into());
    let idle = Duration::from_secs(up.idle_seconds.into());
    let mut backoff = Duration::from_secs(1);
    let mut link: Option<Link> = None;
    let mut progress = Progress::default();
    loop {
        let result = async {
            if link.is_none() {
                link = Some(Link::connect(&s).await?);
            }
            let l = link.as_ref().expect("link set above");
            cycle(&s, l, &mut progress).await
        }
        .await;
        let wait = match result {
            Ok(true) => {
                backoff = Duration::from_secs(1);
                continue;
            }
            Ok(false) => {
                backoff = Duration::from_secs(1);
                progress = Progress::default();
                idle
            }
            Err(e) => {
                log::warn!("replication to upstream: {e}");
                record(&s.store, Err(e.to_string())).await;
                link = None;
                progress = Progress::default();
                let w = jitter(backoff);
                backoff = (backoff * 2).min(max_backoff);
                w
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped(&mut stop) => return,
        }
    }
}

/// Between half and all of `d`, so sites that lost the link together do not retry together.
fn jitter(d: Duration) -> Duration {
    let f: f64 = rand::random::<f64>() * 0.5 + 0.5;
    d.mul_f64(f)
}

/// Batches on the wire at once. With one, every batch would leave the link idle for a round
/// trip plus the upstream's apply time; with two, the next batch travels while the upstream
/// applies and acknowledges the previous one. The upstream applies batches in the order they
/// reach its single writer, and refuses one that does not follow what it holds, so a batch
/// that overtakes its predecessor is refused (and resent after a `hello`), never applied
/// out of order or twice.
const IN_FLIGHT: usize = 2;

/// What the last round leaves for the next: the upstream's last answer.
#[derive(Default)]
struct Progress {
    acked: Option<Acked>,
}

/// A batch on the wire; dropping it (on an error or a refusal) abandons the request.
struct InFlight {
    count: usize,
    answer: tokio::task::JoinHandle<Result<Acked, ReplicationError>>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.answer.abort();
    }
}

/// One round: learn what the upstream holds (unless the last answer told us), then keep up to
/// [`IN_FLIGHT`] batches on the wire until the log is drained. Returns whether there may be
/// more to send right away.
async fn cycle(s: &Sender, l: &Link, p: &mut Progress) -> Result<bool, ReplicationError> {
    let current = match p.acked.take() {
        Some(a) => a,
        None => {
            let (hw, reported) = s
                .store
                .read(|c| -> Result<_, ReplicationError> {
                    Ok((store::high_water(c)?, reported(c)?))
                })
                .await?;
            let a: Acked = l
                .post_json(
                    "hello",
                    &Hello {
                        high_water: hw,
                        reported,
                    },
                )
                .await?;
            after_hello(s, &a, hw).await?;
            a
        }
    };
    let mut after = current.acked.clone();
    let mut last = current;
    let mut more = true;
    let mut sent_any = false;
    let mut window = std::collections::VecDeque::<InFlight>::new();
    loop {
        while more && window.len() < IN_FLIGHT {
            let Some(built) = read_batch(s, after.clone()).await? else {
                more = false;
                break;
            };
            if !built.blobs.is_empty() {
                send_blobs(s, l, &built.blobs).await?;
            }
            for o in &built.batch.origins {
                if let Some(seq) = o.changes.last().map(|c| c.seq) {
                    after.insert(o.origin.clone(), seq);
                }
            }
            more = built.full;
            window.push_back(InFlight {
                count: built.count,
                answer: tokio::spawn(l.post_batch(built.packed)),
            });
        }
        let Some(mut flight) = window.pop_front() else {
            if !sent_any {
                record(&s.store, Ok(last.acked.clone())).await;
            }
            p.acked = Some(last);
            return Ok(false);
        };
        let answer = (&mut flight.answer)
            .await
            .map_err(|e| ReplicationError::Protocol(e.to_string()))?;
        match answer {
            Ok(a) => {
                log::debug!("replicated {} changes", flight.count);
                record(&s.store, Ok(a.acked.clone())).await;
                sent_any = true;
                last = a;
            }
            Err(ReplicationError::Stale { message, expected }) => {
                // The upstream holds less (or more) than we thought: start again from its word.
                log::warn!("upstream asked to resend: {message}");
                return Ok(!expected.is_empty());
            }
            Err(e) => return Err(e),
        }
    }
}

/// Reads and compresses the batch that follows `acked` (on a reader thread).
async fn read_batch(
    s: &Sender,
    acked: BTreeMap<String, i64>,
) -> Result<Option<Built>, ReplicationError> {
    let own = s.site.site.id.clone();
    let limits = (
        s.site.upstream.batch_changes as usize,
        s.site.upstream.batch_bytes as usize,
    );
    let relays = s.site.site.tier == Tier::County;
    s.store
        .read(move |c| next_batch(c, &own, relays, acked, limits))
        .await
}

async fn send_blobs(s: &Sender, l: &Link, hashes: &[String]) -> Result<(), ReplicationError> {
    let missing: BlobAnswer = l
        .post_json(
            "blobs/missing",
            &BlobQuery {
                hashes: hashes.to_vec(),
            },
        )
        .await?;
    let blobs = Blobs::new(&s.site.storage.data_dir);
    for h in missing.missing {
        let b = blobs.clone();
        let hash = h.clone();
        let bytes = tokio::task::spawn_blocking(move || b.read(&hash))
            .await
            .map_err(|e| ReplicationError::Protocol(e.to_string()))?
            .map_err(|e| ReplicationError::Io(format!("blobs/{h}"), e))?;
        l.put_blob(&h, bytes).await?;
    }
    Ok(())
}

/// The upstream may hold more of our log than we do (we were restored from an older backup
/// while it kept receiving): continue above its seq so no seq is ever reused, and move changes
/// written since the restore above it too, or the upstream would take them for replays.
async fn after_hello(s: &Sender, a: &Acked, hw: i64) -> Result<(), ReplicationError> {
    let theirs = a.acked.get(&s.site.site.id).copied().unwrap_or(0);
    let moved = s
        .store
        .write(move |tx| -> Result<usize, ReplicationError> {
            let moved = store::settle_restore(tx.conn(), theirs)?;
            if theirs > hw {
                store::raise_seq_floor(tx.conn(), theirs)?;
            }
            Ok(moved)
        })
        .await?;
    if theirs > hw || moved > 0 {
        log::warn!(
            "upstream holds this site's changes up to {theirs}, this database only up to {hw}: \
             continuing above {theirs}, {moved} changes written since the restore renumbered"
        );
    }
    Ok(())
}

struct Built {
    batch: Batch,
    /// The batch as it goes on the wire.
    packed: Vec<u8>,
    blobs: Vec<String>,
    count: usize,
    /// The batch hit a limit: more is waiting.
    full: bool,
}

/// The next batch after the upstream's acknowledged seqs: this site's own changes first, then
/// (at a county) each township's, bounded in count and bytes.
fn next_batch(
    conn: &Connection,
    own: &str,
    relays: bool,
    acked: BTreeMap<String, i64>,
    (max_changes, max_bytes): (usize, usize),
) -> Result<Option<Built>, ReplicationError> {
    let mut budget = Budget {
        changes: max_changes,
        bytes: max_bytes,
        full: false,
    };
    let mut origins = Vec::new();
    let mut blobs = Vec::new();
    let mut certs = BTreeMap::new();
    let reported = if relays {
        reported(conn)?
    } else {
        BTreeMap::new()
    };
    let after = acked.get(own).copied().unwrap_or(0);
    let changes = read_changes(
        conn,
        "SELECT seq, entity, key, op, payload, at, blobs FROM changes
         WHERE seq > ?1 AND origin_site = ?2 ORDER BY seq LIMIT ?3",
        own,
        after,
        &mut budget,
        &mut blobs,
    )?;
    if let Some(first) = changes.first() {
        let skip_to = if first.seq > after + 1 {
            let floor = store::seq_floor(conn)?;
            if floor < first.seq - 1 {
                return Err(ReplicationError::Protocol(format!(
                    "本站变更日志缺少 {} 到 {}，又没有恢复记录：数据库可能被改动过，请联系技术支持",
                    after + 1,
                    first.seq - 1
                )));
            }
            Some(first.seq - 1)
        } else {
            None
        };
        origins.push(OriginChanges {
            origin: own.to_string(),
            after,
            skip_to,
            changes,
        });
    }
    if relays {
        let mut stmt = conn.prepare_cached(
            "SELECT site_id, cert_pem, last_seq FROM repl_sites ORDER BY site_id",
        )?;
        let sites = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (site, cert, last_seq) in sites {
            let after = acked.get(&site).copied().unwrap_or(0);
            if after >= last_seq || budget.changes == 0 || budget.bytes == 0 {
                if after < last_seq {
                    budget.full = true;
                }
                continue;
            }
            let changes = read_changes(
                conn,
                "SELECT seq, entity, key, op, payload, at, blobs FROM received_changes
                 WHERE seq > ?1 AND origin_site = ?2 ORDER BY seq LIMIT ?3",
                &site,
                after,
                &mut budget,
                &mut blobs,
            )?;
            let Some(first) = changes.first() else {
                continue;
            };
            let skip_to = if first.seq > after + 1 {
                let declared: bool = conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM repl_gaps WHERE origin_site = ?1
                       AND from_seq <= ?2 AND to_seq >= ?3)",
                    params![site, after + 1, first.seq - 1],
                    |r| r.get(0),
                )?;
                if !declared {
                    return Err(ReplicationError::Protocol(format!(
                        "收到的站点 {site} 的变更缺少 {} 到 {}",
                        after + 1,
                        first.seq - 1
                    )));
                }
                Some(first.seq - 1)
            } else {
                None
            };
            certs.insert(site.clone(), cert);
            origins.push(OriginChanges {
                origin: site,
                after,
                skip_to,
                changes,
            });
        }
    }
    if origins.is_empty() {
        return Ok(None);
    }
    blobs.sort();
    blobs.dedup();
    let count = origins.iter().map(|o| o.changes.len()).sum();
    let batch = Batch {
        certs,
        reported,
        origins,
    };
    let (packed, _) = wire::encode(&batch, ZSTD_LEVEL)?;
    Ok(Some(Built {
        batch,
        packed,
        blobs,
        count,
        full: budget.full,
    }))
}

/// What this relay knows of the sites below it.
fn reported(conn: &Connection) -> Result<BTreeMap<String, Reported>, ReplicationError> {
    let mut stmt =
        conn.prepare_cached("SELECT site_id, reported_seq, last_contact FROM repl_sites")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Reported {
                    seq: r.get(1)?,
                    last_contact: r.get(2)?,
                },
            ))
        })?
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    Ok(rows)
}

struct Budget {
    changes: usize,
    bytes: usize,
    full: bool,
}

fn read_changes(
    conn: &Connection,
    sql: &str,
    origin: &str,
    after: i64,
    budget: &mut Budget,
    blobs: &mut Vec<String>,
) -> Result<Vec<Change>, ReplicationError> {
    let mut out = Vec::new();
    if budget.changes == 0 || budget.bytes == 0 {
        return Ok(out);
    }
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params![after, origin, budget.changes as i64 + 1])?;
    while let Some(r) = rows.next()? {
        let payload: String = r.get(4)?;
        let size = payload.len() + CHANGE_OVERHEAD;
        if budget.changes == 0 || (size > budget.bytes && !out.is_empty()) {
            budget.full = true;
            break;
        }
        let refs: String = r.get(6)?;
        let refs: Vec<String> = refs.split_whitespace().map(str::to_string).collect();
        blobs.extend(refs.iter().cloned());
        out.push(Change {
            seq: r.get(0)?,
            entity: r.get(1)?,
            key: r.get(2)?,
            op: r.get(3)?,
            payload: RawValue::from_string(payload)
                .map_err(|e| ReplicationError::Protocol(format!("本地变更内容不是 JSON: {e}")))?,
            at: r.get(5)?,
            blobs: refs,
        });
        budget.changes -= 1;
        budget.bytes = budget.bytes.saturating_sub(size);
    }
    Ok(out)
}

/// Writes how the last round went, for `replication status`, /metrics and the workbench.
async fn record(store: &Store, outcome: Result<BTreeMap<String, i64>, String>) {
    let r = store
        .write(move |tx| -> Result<(), store::StoreError> {
            let now = tx.now().to_string();
            match outcome {
                Ok(acked) => {
                    for (origin, seq) in acked {
                        tx.local(
                            "INSERT INTO repl_upstream(origin_site, acked_seq) VALUES (?1, ?2)
                             ON CONFLICT(origin_site) DO UPDATE SET acked_seq = excluded.acked_seq",
                            params![origin, seq],
                        )?;
                    }
                    set_meta(tx, "repl.last_ok_at", &now)?;
                }
                Err(e) => {
                    set_meta(tx, "repl.last_error", &e)?;
                    set_meta(tx, "repl.last_error_at", &now)?;
                }
            }
            Ok(())
        })
        .await;
    if let Err(e) = r {
        log::error!("recording replication state: {e}");
    }
}

fn set_meta(tx: &mut store::WriteTx, key: &str, value: &str) -> Result<(), store::StoreError> {
    tx.local(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// An HTTPS client for the upstream: our CA only, our site certificate, and the upstream's
/// certificate must name `site.parent` whatever address it is reached at.
struct Link {
    http: reqwest::Client,
    base: String,
}

impl Link {
    async fn connect(s: &Sender) -> Result<Link, ReplicationError> {
        let url = s
            .site
            .upstream
            .url
            .as_deref()
            .ok_or_else(|| ReplicationError::Refused("没有配置 upstream.url".into()))?;
        let parent = s
            .site
            .site
            .parent
            .clone()
            .ok_or_else(|| ReplicationError::Refused("没有配置 site.parent".into()))?;
        let hostport = url.trim_start_matches("https://").trim_end_matches('/');
        let addr: SocketAddr = tokio::net::lookup_host(hostport)
            .await
            .map_err(|e| ReplicationError::Link(format!("解析 {hostport}: {e}")))?
            .next()
            .ok_or_else(|| ReplicationError::Link(format!("解析 {hostport}: 没有地址")))?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(s.tls.client_config()?)
            .resolve(&parent, addr)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .tcp_nodelay(true)
            .no_proxy()
            .build()
            .map_err(|e| ReplicationError::Link(format!("HTTPS 客户端: {e}")))?;
        Ok(Link {
            http,
            base: format!("https://{parent}:{}/replication/v1/", addr.port()),
        })
    }

    async fn post_json<T: serde::Serialize, R: for<'de> serde::Deserialize<'de>>(
        &self,
        path: &str,
        body: &T,
    ) -> Result<R, ReplicationError> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .map_err(link_err)?;
        read_answer(resp).await
    }

    /// The request as a future of its own, so it can travel while the next batch is read.
    fn post_batch(
        &self,
        packed: Vec<u8>,
    ) -> impl std::future::Future<Output = Result<Acked, ReplicationError>> + Send + 'static {
        let req = self
            .http
            .post(format!("{}batch", self.base))
            .header("content-type", "application/json")
            .header("content-encoding", "zstd")
            .body(packed);
        async move { read_answer(req.send().await.map_err(link_err)?).await }
    }

    async fn put_blob(&self, hash: &str, bytes: Vec<u8>) -> Result<(), ReplicationError> {
        let resp = self
            .http
            .put(format!("{}blobs/{hash}", self.base))
            .body(bytes)
            .send()
            .await
            .map_err(link_err)?;
        if resp.status().is_success() {
            Ok(())
        } else {
            read_answer::<serde_json::Value>(resp).await.map(|_| ())
        }
    }
}

fn link_err(e: reqwest::Error) -> ReplicationError {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    ReplicationError::Link(msg)
}

async fn read_answer<R: for<'de> serde::Deserialize<'de>>(
    resp: reqwest::Response,
) -> Result<R, ReplicationError> {
    let status = resp.status();
    let body = resp.bytes().await.map_err(link_err)?;
    if status.is_success() {
        return serde_json::from_slice(&body)
            .map_err(|e| ReplicationError::Protocol(format!("上级的回答无法解析: {e}")));
    }
    let refusal: Option<Refusal> = serde_json::from_slice(&body).ok();
    match refusal {
        Some(r) if status == reqwest::StatusCode::CONFLICT && r.expected.is_some() => {
            Err(ReplicationError::Stale {
                message: r.message,
                expected: r.expected.unwrap_or_default(),
            })
        }
        Some(r) => Err(ReplicationError::Upstream(format!(
            "上级拒绝 ({status}, {}): {}",
            r.code, r.message
        ))),
        None => Err(ReplicationError::Upstream(format!(
            "上级回答 {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))),
    }
}
