//! Office benchmark, run on demand with `cargo bench --bench office`.
//!
//! Full-text search over 100,000 archived documents (Chinese text, FTS5 trigram index):
//! p50 and p99 latency of `GET /api/office/archive?q=...` through the real office router (session
//! cookie, guard, JSON) against the same search run directly on a SQLite connection to the same
//! database in the same run. The figure is raw latency / API latency: 1.0 means HTTP adds
//! nothing, 0.5 (the goal) means the API takes at most twice as long as the bare query. A third
//! line times the same search through the store's reader threads without HTTP, to show where
//! the API's extra time goes.

use std::time::{Duration, Instant};

use govbox::auth::{self, DeptKind, NewUser, Role, RoleGrant};
use govbox::office::{archive, OfficeError};
use govbox::site::SiteConfig;
use govbox::store::{self, Op};
use govbox::web;
use rand::{Rng, SeedableRng};

const DOCUMENTS: usize = 100_000;
const QUERIES_PER_ROUND: usize = 300;
const ROUNDS: usize = 3;

/// Phrases of county government documents; titles and bodies are drawn from them.
const PHRASES: &[&str] = &[
    "森林防火",
    "秋粮收购",
    "安全生产",
    "防汛抗旱",
    "乡村振兴",
    "人居环境整治",
    "耕地保护",
    "义务教育",
    "医疗保障",
    "养老服务",
    "道路养护",
    "农村饮水安全",
    "招商引资",
    "营商环境",
    "信访工作",
    "疫情防控",
    "食品安全",
    "地质灾害",
    "河长制",
    "秸秆禁烧",
    "退役军人",
    "低保审核",
    "危房改造",
    "冬季取暖",
    "春耕生产",
    "扶贫资金",
    "财政预算",
    "审计整改",
    "政务公开",
    "便民服务",
    "统计调查",
    "人口普查",
    "征兵工作",
    "民兵整组",
    "消防安全",
    "燃气安全",
    "校园安全",
    "电信诈骗",
    "禁毒宣传",
    "法治宣传",
    "生态环境",
    "大气污染防治",
    "水土保持",
    "植树造林",
    "畜禽养殖",
    "动物防疫",
    "农机补贴",
    "高标准农田",
    "土地流转",
];
const SUFFIXES: &[&str] = &[
    "工作的通知",
    "实施方案",
    "情况的报告",
    "工作要点",
    "专项行动方案",
    "有关事项的函",
    "会议纪要",
    "考核办法",
];
const UNITS: &[&str] = &[
    "示例市人民政府办公室",
    "县应急管理局",
    "县农业农村局",
    "县教育局",
    "县卫生健康局",
    "县自然资源局",
];

fn pick<'a>(rng: &mut impl Rng, list: &[&'a str]) -> &'a str {
    list[rng.gen_range(0..list.len())]
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn site_file(dir: &std::path::Path) -> std::path::PathBuf {
    let text = format!(
        "[site]\nid = \"bench-county\"\nname = \"基准县\"\ntier = \"county\"\nparent = \"bench-province\"\n\
         [listen]\nportal = \"127.0.0.1:0\"\noffice = \"127.0.0.1:0\"\nreplication = \"127.0.0.1:0\"\n\
         [storage]\ndata_dir = \"{}\"\n",
        dir.join("data").display()
    );
    let path = dir.join("site.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Fills the archive: documents rows already archived plus their index rows, in batches, each
/// batch one transaction with one change row (the data's shape, not the write path, is what
/// this benchmark is about).
fn fill(store: &store::Store, user_id: i64) {
    let type_id: i64 = store
        .write_blocking(|tx| -> Result<i64, OfficeError> {
            let id = tx.insert(
                "INSERT INTO doc_types(code, name, prefix, created_at) VALUES ('jz', '基准', '基政发', ?1)",
                [tx.now().to_string()],
            )?;
            tx.change("doc_type", id, Op::Insert, &"bench")?;
            Ok(id)
        })
        .unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(6);
    let batch = 5_000;
    for start in (0..DOCUMENTS).step_by(batch) {
        let docs: Vec<(String, String, String)> = (start..start + batch)
            .map(|_| {
                let title = format!(
                    "关于{}和{}{}",
                    pick(&mut rng, PHRASES),
                    pick(&mut rng, PHRASES),
                    pick(&mut rng, SUFFIXES)
                );
                let body: String = (0..12)
                    .map(|_| format!("{}，", pick(&mut rng, PHRASES)))
                    .collect::<String>()
                    + "请各单位认真贯彻落实。";
                (title, body, pick(&mut rng, UNITS).to_string())
            })
            .collect();
        store
            .write_blocking(move |tx| -> Result<(), OfficeError> {
                for (i, (title, body, unit)) in docs.iter().enumerate() {
                    let seq = (start + i + 1) as i64;
                    let number = format!("基政发〔2025〕{seq}号");
                    let now = tx.now().to_string();
                    let id = tx.insert(
                        "INSERT INTO documents(direction, type_id, year, seq, number, title, body, source_unit,
                             urgency, security, status, current_step, created_by, created_at, updated_at,
                             archive_year, retention, archived_at)
                         VALUES ('incoming', ?1, 2025, ?2, ?3, ?4, ?5, ?6, '普通', '内部', 'archived', 1, ?7, ?8, ?8, 2025, '10年', ?8)",
                        rusqlite::params![type_id, seq, number, title, body, unit, user_id, now],
                    )?;
                    archive::index(tx, id, &number, title, body, Some(unit))?;
                }
                tx.change("bench_fill", start, Op::Insert, &docs.len())?;
                Ok(())
            })
            .unwrap();
    }
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
    let (user_id, token) = store
        .write_blocking(|tx| -> Result<_, auth::AuthError> {
            let d = auth::create_department(tx, "基准县人民政府", None, DeptKind::Unit)?;
            let id = auth::create_user(
                tx,
                &NewUser {
                    username: "bench".into(),
                    display_name: "基准".into(),
                    roles: vec![RoleGrant {
                        role: Role::Clerk,
                        department_id: d,
                    }],
                },
                "unused",
            )?;
            Ok((id, auth::session::create(tx, id, "127.0.0.1")?.0))
        })
        .unwrap();
    let t = Instant::now();
    fill(&store, user_id);
    println!(
        "filled {DOCUMENTS} archived documents in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Queries: single phrases, two phrases, a number, and two-character (fallback scan) terms
    // are measured separately below, since the goal is about the index.
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let queries: Vec<String> = (0..QUERIES_PER_ROUND)
        .map(|i| match i % 3 {
            0 => pick(&mut rng, PHRASES).to_string(),
            1 => format!("{} {}", pick(&mut rng, PHRASES), pick(&mut rng, SUFFIXES)),
            _ => format!("基政发〔2025〕{}号", rng.gen_range(1..=DOCUMENTS)),
        })
        .collect();
    let raw_conn = store::open_read_only(&site.db_path()).unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let pool = store.clone();
        let state = web::AppState::new(store, std::sync::Arc::new(site));
        let office = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", office.local_addr().unwrap());
        let app = web::office_router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(office, app).await });
        let client = reqwest::Client::new();
        let cookie = format!("govbox_session={token}");
        let api = |q: String| {
            let req = client
                .get(format!("{base}/api/office/archive"))
                .query(&[("q", q.as_str()), ("limit", "20")])
                .header("cookie", cookie.clone());
            async move {
                let t = Instant::now();
                let r = req.send().await.unwrap();
                assert_eq!(r.status(), 200);
                let hits: serde_json::Value = r.json().await.unwrap();
                (t.elapsed(), hits.as_array().map_or(0, Vec::len))
            }
        };
        let raw = |q: &str| {
            let t = Instant::now();
            let hits = archive::search(&raw_conn, q, 20).unwrap();
            (t.elapsed(), hits.len())
        };
        // Warm both paths (page cache, prepared statements).
        for q in queries.iter().take(30) {
            raw(q);
            api(q.clone()).await;
        }
        let (mut p50s, mut p99s, mut api50, mut api99, mut raw50, mut raw99) = (vec![], vec![], vec![], vec![], vec![], vec![]);
        for round in 0..ROUNDS {
            let (mut a, mut r) = (Vec::new(), Vec::new());
            let (mut found_a, mut found_r) = (0, 0);
            for q in &queries {
                let (d, n) = raw(q);
                r.push(d);
                found_r += n;
                let (d, n) = api(q.clone()).await;
                a.push(d);
                found_a += n;
            }
            assert_eq!(found_a, found_r, "both paths find the same");
            let (a50, a99, r50, r99) = (percentile(a.clone(), 0.5), percentile(a, 0.99), percentile(r.clone(), 0.5), percentile(r, 0.99));
            println!(
                "round {round}: API p50 {:.2} ms p99 {:.2} ms; raw FTS5 p50 {:.2} ms p99 {:.2} ms ({found_r} hits)",
                a50.as_secs_f64() * 1e3, a99.as_secs_f64() * 1e3, r50.as_secs_f64() * 1e3, r99.as_secs_f64() * 1e3
            );
            p50s.push(r50.as_secs_f64() / a50.as_secs_f64());
            p99s.push(r99.as_secs_f64() / a99.as_secs_f64());
            api50.push(a50.as_secs_f64() * 1e3);
            api99.push(a99.as_secs_f64() * 1e3);
            raw50.push(r50.as_secs_f64() * 1e3);
            raw99.push(r99.as_secs_f64() * 1e3);
        }
        println!(
            "archive full-text search over {DOCUMENTS} documents, medians of {ROUNDS} rounds x {QUERIES_PER_ROUND} queries:\n  \
             API p50 {:.2} ms, p99 {:.2} ms; raw FTS5 p50 {:.2} ms, p99 {:.2} ms\n  \
             ratio raw/API latency: p50 {:.2}x, p99 {:.2}x (goal >= 0.5x)",
            median(api50), median(api99), median(raw50), median(raw99), median(p50s), median(p99s)
        );
        // Where the API's extra time goes: the same search through the store's reader threads
        // (the hop every request makes, twice: session, then search), without HTTP.
        let mut hop = Vec::new();
        for q in &queries {
            let q = q.clone();
            let t = Instant::now();
            pool.read(move |c| archive::search(c, &q, 20)).await.unwrap();
            hop.push(t.elapsed());
        }
        println!(
            "  same search via the store's reader pool, no HTTP: p50 {:.2} ms, p99 {:.2} ms",
            percentile(hop.clone(), 0.5).as_secs_f64() * 1e3,
            percentile(hop, 0.99).as_secs_f64() * 1e3
        );
        let (mut short_a, mut short_r) = (Vec::new(), Vec::new());
        for q in ["防火", "秸秆", "审计", "安全", "河长"] {
            short_r.push(raw(q).0);
            short_a.push(api(q.to_string()).await.0);
        }
        println!(
            "  two-character queries (scan fallback, not indexed): API p50 {:.1} ms, raw p50 {:.1} ms",
            percentile(short_a, 0.5).as_secs_f64() * 1e3,
            percentile(short_r, 0.5).as_secs_f64() * 1e3
        );
    });
}
