//! Replication benchmark, run on demand: `cargo bench --bench replication`.
//! Changes per round: GOVBOX_BENCH_CHANGES (default 50000).
//!
//! Prints medians of three rounds, each against a peer measured in the same run:
//! - changes per second end to end on loopback (township process → county process over mutual
//!   TLS, from "sender starts" to "county holds every change") against raw rusqlite inserts
//!   of the same rows into the receiver's tables, in transactions of 1000 (goal at
//!   least 0.5x);
//! - bytes on the wire per change (both directions, TLS and HTTP included) against the
//!   uncompressed JSON of the same changes (goal at most 0.3x);
//! - throughput over a link shaped to 2 Mbit/s with 100 ms round trip, against the link's
//!   capacity (goal at least 0.8x). The shaping is a userspace relay (delay line plus pacing),
//!   because this kernel has no netem. Each shaped round moves the same GOVBOX_BENCH_CHANGES
//!   changes (≈ 2 MB, ≈ 8 s at link rate), and its clock runs from the township's start, so
//!   process start, TCP and TLS handshakes and the first `hello` (≈ 0.4 s, four round trips)
//!   are counted against the link; with a transfer only half as long they alone cost 0.08x.

#[path = "../replication_support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ROUNDS: usize = 3;
const LINK_BITS_PER_SEC: f64 = 2_000_000.0;
const ONE_WAY: Duration = Duration::from_millis(50);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Bytes relayed in each direction.
#[derive(Default)]
struct Counted {
    up: AtomicU64,
    down: AtomicU64,
}

/// A TCP relay from a local port to `target`; with `shaped`, each direction is delayed by
/// [`ONE_WAY`] and paced to [`LINK_BITS_PER_SEC`].
fn relay(rt: &tokio::runtime::Runtime, target: String, shaped: bool) -> (u16, Arc<Counted>) {
    let counted = Arc::new(Counted::default());
    // One link: every connection shares each direction's capacity.
    let up_link = Arc::new(tokio::sync::Mutex::new(Instant::now()));
    let down_link = Arc::new(tokio::sync::Mutex::new(Instant::now()));
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let c = counted.clone();
    rt.spawn(async move {
        loop {
            let Ok((inbound, _)) = listener.accept().await else {
                return;
            };
            let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                continue;
            };
            let _ = inbound.set_nodelay(true);
            let _ = outbound.set_nodelay(true);
            let (ir, iw) = inbound.into_split();
            let (or, ow) = outbound.into_split();
            let c1 = c.clone();
            let c2 = c.clone();
            let shape_up = shaped.then(|| up_link.clone());
            let shape_down = shaped.then(|| down_link.clone());
            tokio::spawn(pump(ir, ow, shape_up, move |n| {
                c1.up.fetch_add(n, Ordering::Relaxed);
            }));
            tokio::spawn(pump(or, iw, shape_down, move |n| {
                c2.down.fetch_add(n, Ordering::Relaxed);
            }));
        }
    });
    (port, counted)
}

/// Copies one direction; with a link, each chunk first takes its turn on the shared link
/// (serialisation at the link rate), then arrives [`ONE_WAY`] later.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    link: Option<Arc<tokio::sync::Mutex<Instant>>>,
    count: impl Fn(u64) + Send + 'static,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due.into()).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 16 << 10];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                count(n as u64);
                let due = match &link {
                    Some(l) => {
                        let mut free_at = l.lock().await;
                        let start = (*free_at).max(Instant::now());
                        *free_at =
                            start + Duration::from_secs_f64(n as f64 * 8.0 / LINK_BITS_PER_SEC);
                        *free_at + ONE_WAY
                    }
                    None => Instant::now(),
                };
                let _ = tx.send((due, buf[..n].to_vec()));
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// The uncompressed JSON the changes would take on the wire.
fn json_bytes(log: &[LogRow]) -> u64 {
    log.iter()
        .map(|(seq, entity, key, op, payload, at)| {
            serde_json::to_vec(&serde_json::json!({
                "seq": seq, "entity": entity, "key": key, "op": op,
                "payload": serde_json::from_str::<serde_json::Value>(payload).unwrap(), "at": at
            }))
            .unwrap()
            .len() as u64
        })
        .sum()
}

/// The same rows written straight into the receiver's tables with rusqlite, 1000 a transaction.
fn raw_inserts(log: &[LogRow]) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("govbox.db");
    govbox::store::open(&db, "c1").unwrap().close();
    let mut conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .unwrap();
    conn.execute(
        "INSERT INTO repl_sites(site_id, tier, parent, via, cert_pem, registered_at)
         VALUES ('t1', 'township', 'c1', 't1', '', '')",
        [],
    )
    .unwrap();
    let start = Instant::now();
    for chunk in log.chunks(1000) {
        let tx = conn.transaction().unwrap();
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO received_changes(origin_site, seq, entity, key, op, payload, at)
                     VALUES ('t1', ?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .unwrap();
            let mut up = tx
                .prepare_cached(
                    "INSERT INTO replica_rows(origin_site, entity, key, payload, seq, at)
                     VALUES ('t1', ?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(origin_site, entity, key)
                     DO UPDATE SET payload = excluded.payload, seq = excluded.seq, at = excluded.at",
                )
                .unwrap();
            for (seq, entity, key, op, payload, at) in chunk {
                ins.execute(rusqlite::params![seq, entity, key, op, payload, at])
                    .unwrap();
                up.execute(rusqlite::params![entity, key, payload, seq, at])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    log.len() as f64 / start.elapsed().as_secs_f64()
}

struct Round {
    changes_per_sec: f64,
    wire_bytes: u64,
    json_bytes: u64,
    log: Vec<LogRow>,
}

/// Loads `n` changes into a stopped township, then starts it and times until the county
/// holds them all. With `relay_shaped`, the link goes through a relay (counted, maybe shaped).
fn round(rt: &tokio::runtime::Runtime, n: usize, shaped: bool) -> Round {
    let ca = Ca::new();
    let c_addr = format!("127.0.0.1:{}", free_port());
    let mut county = Site::new(&ca, "c1", "county", Some("p1"), Some(c_addr.clone()), None);
    let (port, counted) = relay(rt, c_addr, shaped);
    let mut town = Site::new(
        &ca,
        "t1",
        "township",
        Some("c1"),
        None,
        Some(format!("https://127.0.0.1:{port}")),
    );
    town.load(n, "bench");
    let log = own_log(&town.db());
    county.start();
    let start = Instant::now();
    town.start();
    while received_count(&county.db(), "t1") < log.len() as i64 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = start.elapsed().as_secs_f64();
    town.kill9();
    county.kill9();
    Round {
        changes_per_sec: log.len() as f64 / took,
        wire_bytes: counted.up.load(Ordering::Relaxed) + counted.down.load(Ordering::Relaxed),
        json_bytes: json_bytes(&log),
        log,
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("GOVBOX_BENCH_CHANGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (mut e2e, mut raw, mut ratio, mut wire) = (vec![], vec![], vec![], vec![]);
    for i in 0..ROUNDS {
        let r = round(&rt, n, false);
        let peer = raw_inserts(&r.log);
        let per_change = r.wire_bytes as f64 / r.log.len() as f64;
        println!(
            "round {i}: {} changes, end to end {:.0}/s, raw inserts {:.0}/s, wire {:.1} B/change, JSON {:.1} B/change",
            r.log.len(),
            r.changes_per_sec,
            peer,
            per_change,
            r.json_bytes as f64 / r.log.len() as f64
        );
        e2e.push(r.changes_per_sec);
        raw.push(peer);
        ratio.push(r.changes_per_sec / peer);
        wire.push(r.wire_bytes as f64 / r.json_bytes as f64);
    }
    let mut shaped = vec![];
    for i in 0..ROUNDS {
        let r = round(&rt, n, true);
        let bytes_per_sec = r.changes_per_sec * r.wire_bytes as f64 / r.log.len() as f64;
        let of_link = bytes_per_sec * 8.0 / LINK_BITS_PER_SEC;
        println!(
            "shaped round {i}: {} changes at {:.0}/s, {:.0} kbit/s on a 2000 kbit/s link",
            r.log.len(),
            r.changes_per_sec,
            bytes_per_sec * 8.0 / 1000.0
        );
        shaped.push(of_link);
    }
    println!();
    println!(
        "end to end: {:.0} changes/s = {:.2}x raw rusqlite inserts ({:.0}/s) (goal >= 0.5x)",
        median(e2e),
        median(ratio),
        median(raw)
    );
    println!(
        "wire bytes per change: {:.2}x the uncompressed JSON (goal <= 0.3x)",
        median(wire)
    );
    println!(
        "2 Mbit/s, 100 ms RTT link: {:.2}x its capacity (goal >= 0.8x)",
        median(shaped)
    );
}
