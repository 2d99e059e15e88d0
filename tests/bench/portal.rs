//! Portal benchmark, run on demand with `cargo bench --bench portal`.
//!
//! Requests/s and p99 latency under 64 concurrent connections of an article page and of a
//! column list page against the stylesheet, a static file served from memory by the same server
//! in the same run. The pages are rendered from SQLite through the store's reader threads and a
//! template, then served from the portal's page cache until the content changes or the entry is
//! older than `portal::cache::MAX_AGE`; the run prints how many requests rendered. The figure is
//! page req/s ÷ static req/s (goal ≥ 0.5×); medians of 3 rounds of 2 s each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use govbox::auth::{self, DeptKind, NewUser, Role, RoleGrant, User};
use govbox::portal::{articles, columns, PortalError};
use govbox::site::SiteConfig;
use govbox::store;
use govbox::web;

const CONCURRENCY: usize = 64;
const LOAD_SECONDS: f64 = 2.0;
const ROUNDS: usize = 3;
const ARTICLES: usize = 2_000;

/// One measured page: per round, requests/s, p99 latency and the ratio to the static file.
struct Row {
    name: &'static str,
    rps: Vec<f64>,
    p99_ms: Vec<f64>,
    ratio: Vec<f64>,
}

impl Row {
    fn new(name: &'static str) -> Row {
        Row {
            name,
            rps: Vec::new(),
            p99_ms: Vec::new(),
            ratio: Vec::new(),
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn site_file(dir: &std::path::Path) -> std::path::PathBuf {
    let text = format!(
        "[site]\nid = \"bench-county\"\nname = \"基准县\"\ntier = \"county\"\nparent = \"bench-province\"\n\
         [listen]\nportal = \"127.0.0.1:0\"\noffice = \"127.0.0.1:0\"\nreplication = \"127.0.0.1:0\"\n\
         [storage]\ndata_dir = \"{}\"\n[portal]\nicp = \"基ICP备00000000号\"\n",
        dir.join("data").display()
    );
    let path = dir.join("site.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Publishes `ARTICLES` articles through the whole review chain, in batches.
fn fill(store: &store::Store) -> i64 {
    let (editor, chief, general, column) = store
        .write_blocking(|tx| -> Result<(User, User, User, i64), PortalError> {
            let d = auth::create_department(tx, "基准县人民政府办公室", None, DeptKind::Unit)?;
            let mut users = Vec::new();
            for (name, role) in [
                ("editor", Role::Editor),
                ("chief", Role::ChiefEditor),
                ("general", Role::GeneralEditor),
            ] {
                let id = auth::create_user(
                    tx,
                    &NewUser {
                        username: name.into(),
                        display_name: name.into(),
                        roles: vec![RoleGrant {
                            role,
                            department_id: d,
                        }],
                    },
                    "unused",
                )?;
                users.push(auth::user(tx.conn(), id)?);
            }
            let c = columns::create(
                tx,
                &users[2],
                &columns::NewColumn {
                    code: "gzdt",
                    name: "工作动态",
                    department_id: d,
                    kind: "news",
                    sensitive: false,
                },
            )?;
            Ok((users[0].clone(), users[1].clone(), users[2].clone(), c.id))
        })
        .unwrap();
    let body = "## 会议要求\n\n各乡镇、各部门要认真落实**森林防火**和安全生产责任，\
                加强值班值守，确保人民群众生命财产安全。\n\n- 落实责任\n- 加强巡查\n- 及时报告\n"
        .repeat(6);
    for start in (0..ARTICLES).step_by(200) {
        let (e, c, g, b) = (editor.clone(), chief.clone(), general.clone(), body.clone());
        store
            .write_blocking(move |tx| -> Result<(), PortalError> {
                for i in start..start + 200 {
                    let id = articles::create(
                        tx,
                        &e,
                        column,
                        &articles::Draft {
                            title: format!("县政府召开第{i}次冬季安全生产工作会议"),
                            body: b.clone(),
                            source: "县政府办公室".into(),
                            author: "信息公开科".into(),
                            collected_on: "2026-11-30".into(),
                            collector: "郑编辑".into(),
                            publish_at: String::new(),
                        },
                    )?;
                    articles::submit(tx, &e, id)?;
                    articles::approve(tx, &c, id)?;
                    articles::approve(tx, &g, id)?;
                }
                Ok(())
            })
            .unwrap();
    }
    column
}

/// Requests/s and p99 latency of `urls` (taken round-robin) under `CONCURRENCY` connections.
async fn load(urls: Arc<Vec<String>>) -> (f64, Duration) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY {
        let (client, urls, stop, latencies) = (
            client.clone(),
            urls.clone(),
            stop.clone(),
            latencies.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut i = worker;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = client.get(&urls[i % urls.len()]).send().await.unwrap();
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await.unwrap();
                mine.push(t.elapsed());
                i += CONCURRENCY;
            }
            latencies.lock().unwrap().extend(mine);
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(LOAD_SECONDS)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let secs = start.elapsed().as_secs_f64();
    let mut l = std::mem::take(&mut *latencies.lock().unwrap());
    l.sort_unstable();
    let p99 = l[((l.len() as f64 - 1.0) * 0.99).round() as usize];
    (l.len() as f64 / secs, p99)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = site_file(dir.path());
    let site = SiteConfig::load(&config).unwrap();
    std::fs::create_dir_all(&site.storage.data_dir).unwrap();
    let store = store::open(&site.db_path(), &site.site.id).unwrap();
    let t = Instant::now();
    let _column = fill(&store);
    println!(
        "published {ARTICLES} articles through the three-level review in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let state = web::AppState::new(store, Arc::new(site));
        let pages = state.portal_pages.clone();
        let portal = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", portal.local_addr().unwrap());
        let app = web::portal_router(state)
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(portal, app).await });
        let css = Arc::new(vec![format!("{base}/static/app.css")]);
        let article = Arc::new((1..=200).map(|i| format!("{base}/articles/{}", i * 7)).collect::<Vec<_>>());
        let list = Arc::new((1..=20).map(|p| format!("{base}/columns/gzdt?page={p}")).collect::<Vec<_>>());
        load(css.clone()).await;
        let mut rows = [Row::new("article page"), Row::new("list page")];
        let mut static_rps = Vec::new();
        let mut static_p99 = Vec::new();
        for round in 0..ROUNDS {
            let (s, s99) = load(css.clone()).await;
            static_rps.push(s);
            static_p99.push(s99.as_secs_f64() * 1e3);
            for (k, urls) in [article.clone(), list.clone()].into_iter().enumerate() {
                let (r, p99) = load(urls).await;
                rows[k].rps.push(r);
                rows[k].p99_ms.push(p99.as_secs_f64() * 1e3);
                rows[k].ratio.push(r / s);
            }
            println!(
                "round {round}: static {s:.0} req/s; article {:.0} req/s; list {:.0} req/s",
                rows[0].rps[round], rows[1].rps[round]
            );
        }
        println!(
            "portal under {CONCURRENCY} connections, medians of {ROUNDS} rounds of {LOAD_SECONDS} s:\n  \
             static file (/static/app.css): {:.0} req/s, p99 {:.1} ms",
            median(static_rps),
            median(static_p99)
        );
        println!(
            "  rendered by a handler (cache misses) and served from memory (hits):\n{}",
            pages.metrics().lines().filter(|l| !l.starts_with('#')).map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
        );
        for r in rows {
            println!(
                "  {}: {:.0} req/s, p99 {:.1} ms = {:.2}x the static file (goal >= 0.5x)",
                r.name,
                median(r.rps),
                median(r.p99_ms),
                median(r.ratio)
            );
        }
    });
}
