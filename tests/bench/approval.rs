//! Approval benchmark, run on demand with `cargo bench --bench approval`.
//!
//! 1. Throughput: cases accepted at the window and taken through the five-step workflow
//!    (受理 → 承办 → 审核 → 批准 → 办结: five transitions, each its own request and write
//!    transaction) over the real office router (session cookie, CSRF, guard, JSON, audit, change
//!    log, SMS outbox) with 8 concurrent clients, against raw rusqlite writing the same rows
//!    (case, materials, fee, receipt counter, trace step, change row and audit row per
//!    transition; one transaction per transition) on a connection of its own in the same run.
//!    The figure is API cases/s ÷ raw cases/s (goal ≥ 0.2×).
//! 2. Latency: p50 and p99 of one transition (承办 or 退回, alternating on each client's own
//!    case) under 32 concurrent clients.
//!
//! Medians of three rounds are printed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use govbox::approval::items::{self, FeeSpec, HandlerSpec, ItemInput, MaterialSpec};
use govbox::approval::ApprovalError;
use govbox::auth::{self, DeptKind, NewUser, Role, RoleGrant};
use govbox::site::SiteConfig;
use govbox::store;
use govbox::web;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const CASES_PER_ROUND: usize = 200;
const ROUNDS: usize = 3;
const API_CLIENTS: usize = 8;
const LATENCY_CLIENTS: usize = 32;
const TRANSITIONS_PER_CLIENT: usize = 40;

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

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn item() -> ItemInput {
    ItemInput {
        code: "BENCH-1".into(),
        name: "食品经营许可".into(),
        short_name: "食品经营许可".into(),
        kind: "promised".into(),
        department: "县市场监管局".into(),
        promised_days: 10,
        statutory_days: 20,
        online: true,
        active: true,
        materials: ["申请书", "营业执照复印件", "管理制度"]
            .iter()
            .map(|n| MaterialSpec {
                name: (*n).into(),
                required: true,
                ..MaterialSpec::default()
            })
            .collect(),
        fees: vec![FeeSpec {
            name: "工本费".into(),
            unit_price_fen: 1000,
            unit: "件".into(),
        }],
        handlers: vec![HandlerSpec {
            step: "undertake".into(),
            users: vec!["handler".into()],
        }],
        ..ItemInput::default()
    }
}

fn new_case(i: usize) -> Value {
    json!({
        "item_code": "BENCH-1", "applicant_kind": "person", "applicant_name": format!("申请人{i}"),
        "applicant_id_no": "11010519491231002X", "applicant_phone": "13912345678",
        "materials": [{"name": "申请书", "provided": true}, {"name": "营业执照复印件", "provided": true},
                      {"name": "管理制度", "provided": true}],
        "fees": [{"name": "工本费", "quantity": "1.5"}]
    })
}

struct Client {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Client {
    async fn post(&self, path: &str, body: &Value) -> (Duration, Value) {
        let t = Instant::now();
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {v}");
        (t.elapsed(), v)
    }

    async fn act(&self, id: i64, action: &str, version: i64) -> (Duration, i64) {
        let (d, v) = self
            .post(
                &format!("/api/approval/cases/{id}/actions"),
                &json!({"action": action, "version": version, "opinion": "同意"}),
            )
            .await;
        (d, v["version"].as_i64().unwrap())
    }
}

/// The raw baseline: the rows one case and its five transitions write, by hand.
struct Raw {
    conn: rusqlite::Connection,
    item_id: i64,
    users: [i64; 4],
    prev_hash: String,
    day: String,
    last: i64,
}

impl Raw {
    fn audit(tx: &rusqlite::Transaction, prev: &mut String, action: &str, object: &str) {
        let at = govbox::clock::now_utc();
        let hash = hex::encode(Sha256::digest(
            format!("{prev}{at}bench{action}{object}").as_bytes(),
        ));
        tx.execute(
            "INSERT INTO audit(at, actor, roles, action, object, client, outcome, detail, prev_hash, hash)
             VALUES (?1, 'bench', 'clerk', ?2, ?3, '127.0.0.1', 'ok', '', ?4, ?5)",
            rusqlite::params![at, action, object, prev.as_str(), hash],
        )
        .unwrap();
        *prev = hash;
    }

    fn change(tx: &rusqlite::Transaction, receipt: &str, op: &str, payload: &Value) {
        tx.execute(
            "INSERT INTO changes(origin_site, entity, key, op, payload, at, blobs)
             VALUES ('bench-raw', 'approval_case', ?1, ?2, ?3, ?4, '')",
            rusqlite::params![receipt, op, payload.to_string(), govbox::clock::now_utc()],
        )
        .unwrap();
    }

    fn one_case(&mut self, i: usize) {
        let now = govbox::clock::now_utc();
        let tx = self.conn.transaction().unwrap();
        tx.execute(
            "INSERT INTO approval_receipts(day, last) VALUES (?1, 1)
             ON CONFLICT(day) DO UPDATE SET last = last + 1",
            [&self.day],
        )
        .unwrap();
        self.last += 1;
        let receipt = format!("{}-bench-raw-{:06}", self.day, self.last);
        tx.execute(
            "INSERT INTO approval_cases(receipt, item_id, kind, department_id, promised_days, statutory_days,
                applicant_kind, applicant_name, applicant_id_no, applicant_phone, channel, state, clerk_id,
                assignee_id, accepted_at, accepted_on, due_on, statutory_due_on, fee_total_fen, updated_at)
             VALUES (?1, ?2, 'promised', 1, 10, 20, 'person', ?3, '11010519491231002X', '13912345678',
                'window', 'accepted', ?4, ?5, ?6, '2026-12-02', '2026-12-16', '2026-12-30', 1500, ?6)",
            rusqlite::params![receipt, self.item_id, format!("申请人{i}"), self.users[0], self.users[1], now],
        )
        .unwrap();
        let id = tx.last_insert_rowid();
        for (p, name) in ["申请书", "营业执照复印件", "管理制度"].iter().enumerate() {
            tx.execute(
                "INSERT INTO approval_case_materials(case_id, position, name, required, provided) VALUES (?1, ?2, ?3, 1, 1)",
                rusqlite::params![id, p, name],
            )
            .unwrap();
        }
        tx.execute(
            "INSERT INTO approval_case_fees(case_id, position, name, unit_price_fen, unit, quantity, amount_fen)
             VALUES (?1, 0, '工本费', 1000, '件', '1.5', 1500)",
            [id],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO approval_steps(case_id, action, from_state, to_state, actor_id, at, opinion)
             VALUES (?1, 'accept', 'new', 'accepted', ?2, ?3, '')",
            rusqlite::params![id, self.users[0], now],
        )
        .unwrap();
        Self::change(
            &tx,
            &receipt,
            "insert",
            &json!({"receipt": receipt, "state": "accepted"}),
        );
        Self::audit(&tx, &mut self.prev_hash, "approval.case.accept", &receipt);
        tx.commit().unwrap();
        let steps = [
            ("undertake", "accepted", "undertaken", 2),
            ("review", "undertaken", "reviewed", 3),
            ("approve", "reviewed", "approved", 0),
            ("complete", "approved", "completed", -1),
        ];
        for (version, (action, from, to, next)) in steps.iter().enumerate() {
            let now = govbox::clock::now_utc();
            let tx = self.conn.transaction().unwrap();
            let assignee = (*next >= 0).then(|| self.users[*next as usize]);
            let n = tx
                .execute(
                    "UPDATE approval_cases SET state = ?3, assignee_id = ?4, version = version + 1, updated_at = ?5
                      WHERE id = ?1 AND version = ?2",
                    rusqlite::params![id, version as i64 + 1, to, assignee, now],
                )
                .unwrap();
            assert_eq!(n, 1);
            tx.execute(
                "INSERT INTO approval_steps(case_id, action, from_state, to_state, actor_id, at, opinion)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, '同意')",
                rusqlite::params![id, action, from, to, self.users[1], now],
            )
            .unwrap();
            Self::change(
                &tx,
                &receipt,
                "update",
                &json!({"action": action, "from": from, "to": to}),
            );
            Self::audit(&tx, &mut self.prev_hash, action, &receipt);
            tx.commit().unwrap();
        }
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
    let names = ["clerk", "handler", "reviewer", "approver"];
    let sessions = store
        .write_blocking(
            move |tx| -> Result<Vec<(String, String, i64)>, ApprovalError> {
                let d = auth::create_department(tx, "县市场监管局", None, DeptKind::Unit)?;
                let admin = auth::create_user(
                    tx,
                    &NewUser {
                        username: "admin".into(),
                        display_name: "管理员".into(),
                        roles: vec![RoleGrant {
                            role: Role::Admin,
                            department_id: d,
                        }],
                    },
                    "unused",
                )?;
                let mut out = Vec::new();
                for (name, role) in
                    names
                        .iter()
                        .zip([Role::Clerk, Role::Handler, Role::Reviewer, Role::Approver])
                {
                    let id = auth::create_user(
                        tx,
                        &NewUser {
                            username: (*name).into(),
                            display_name: (*name).into(),
                            roles: vec![RoleGrant {
                                role,
                                department_id: d,
                            }],
                        },
                        "unused",
                    )?;
                    auth::set_phone(tx, name, "13800000000")?;
                    let (token, csrf) = auth::session::create(tx, id, "127.0.0.1")?;
                    out.push((token, csrf, id));
                }
                let admin = auth::user(tx.conn(), admin)?;
                items::save(tx, &admin, &item())?;
                Ok(out)
            },
        )
        .unwrap();

    // The raw baseline's own database, same schema and pragmas, same item and users.
    let raw_path = dir.path().join("raw.db");
    let raw_store = store::open(&raw_path, "bench-raw").unwrap();
    raw_store
        .write_blocking(move |tx| -> Result<(), ApprovalError> {
            let d = auth::create_department(tx, "县市场监管局", None, DeptKind::Unit)?;
            let admin = auth::create_user(
                tx,
                &NewUser {
                    username: "admin".into(),
                    display_name: "管理员".into(),
                    roles: vec![RoleGrant {
                        role: Role::Admin,
                        department_id: d,
                    }],
                },
                "unused",
            )?;
            for (name, role) in
                names
                    .iter()
                    .zip([Role::Clerk, Role::Handler, Role::Reviewer, Role::Approver])
            {
                auth::create_user(
                    tx,
                    &NewUser {
                        username: (*name).into(),
                        display_name: (*name).into(),
                        roles: vec![RoleGrant {
                            role,
                            department_id: d,
                        }],
                    },
                    "unused",
                )?;
            }
            let admin = auth::user(tx.conn(), admin)?;
            items::save(tx, &admin, &item())?;
            Ok(())
        })
        .unwrap();
    raw_store.close();
    let conn = rusqlite::Connection::open(&raw_path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )
    .unwrap();
    let item_id: i64 = conn
        .query_row("SELECT id FROM approval_items", [], |r| r.get(0))
        .unwrap();
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM users WHERE username <> 'admin' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut raw = Raw {
        conn,
        item_id,
        users: [ids[0], ids[1], ids[2], ids[3]],
        prev_hash: "0".repeat(64),
        day: "20261202".into(),
        last: 0,
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let state = web::AppState::new(store.clone(), Arc::new(site));
        let office = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", office.local_addr().unwrap());
        let app = web::office_router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(office, app).await });
        let http = reqwest::Client::new();
        let clients: Arc<Vec<Client>> = Arc::new(
            sessions
                .iter()
                .map(|(token, csrf, _)| Client {
                    http: http.clone(),
                    base: base.clone(),
                    cookie: format!("govbox_session={token}"),
                    csrf: csrf.clone(),
                })
                .collect(),
        );
        let one_case = |clients: Arc<Vec<Client>>, i: usize| async move {
            let (_, c) = clients[0].post("/api/approval/cases", &new_case(i)).await;
            let id = c["id"].as_i64().unwrap();
            let mut v = c["version"].as_i64().unwrap();
            for (who, action) in [(1, "undertake"), (2, "review"), (3, "approve"), (0, "complete")] {
                v = clients[who].act(id, action, v).await.1;
            }
        };
        // Warm both paths.
        for i in 0..10 {
            one_case(clients.clone(), i).await;
            raw.one_case(i);
        }
        let (mut api_rates, mut raw_rates, mut ratios) = (vec![], vec![], vec![]);
        for round in 0..ROUNDS {
            let t = Instant::now();
            let mut tasks = Vec::new();
            for w in 0..API_CLIENTS {
                let clients = clients.clone();
                tasks.push(tokio::spawn(async move {
                    for i in (w..CASES_PER_ROUND).step_by(API_CLIENTS) {
                        one_case(clients.clone(), i).await;
                    }
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
            let api = CASES_PER_ROUND as f64 / t.elapsed().as_secs_f64();
            let t = Instant::now();
            for i in 0..CASES_PER_ROUND {
                raw.one_case(i);
            }
            let rawr = CASES_PER_ROUND as f64 / t.elapsed().as_secs_f64();
            println!(
                "round {round}: API {api:.1} cases/s ({:.0} transitions/s), raw rusqlite {rawr:.1} cases/s, ratio {:.2}x",
                api * 5.0,
                api / rawr
            );
            api_rates.push(api);
            raw_rates.push(rawr);
            ratios.push(api / rawr);
        }
        println!(
            "cases accepted and taken through five transitions, medians of {ROUNDS} rounds x {CASES_PER_ROUND} cases:\n  \
             API ({API_CLIENTS} clients) {:.1} cases/s ({:.0} transitions/s); raw rusqlite {:.1} cases/s\n  \
             ratio API/raw: {:.2}x (goal >= 0.2x)",
            median(api_rates.clone()),
            median(api_rates) * 5.0,
            median(raw_rates),
            median(ratios)
        );

        // Latency under 32 concurrent clients: each works its own case, 承办 then 退回.
        let mut p50s = Vec::new();
        let mut p99s = Vec::new();
        for round in 0..ROUNDS {
            let mut own = Vec::new();
            for i in 0..LATENCY_CLIENTS {
                let (_, c) = clients[0].post("/api/approval/cases", &new_case(i)).await;
                own.push(c["id"].as_i64().unwrap());
            }
            let mut tasks = Vec::new();
            for id in own {
                let clients = clients.clone();
                tasks.push(tokio::spawn(async move {
                    let mut v = 1;
                    let mut lat = Vec::with_capacity(TRANSITIONS_PER_CLIENT);
                    for k in 0..TRANSITIONS_PER_CLIENT {
                        let (who, action) = if k % 2 == 0 { (1, "undertake") } else { (2, "return") };
                        let (d, nv) = clients[who].act(id, action, v).await;
                        v = nv;
                        lat.push(d);
                    }
                    lat
                }));
            }
            let mut all = Vec::new();
            for task in tasks {
                all.extend(task.await.unwrap());
            }
            let (p50, p99) = (percentile(all.clone(), 0.5), percentile(all.clone(), 0.99));
            println!(
                "round {round}: one transition under {LATENCY_CLIENTS} clients: p50 {:.1} ms, p99 {:.1} ms ({} transitions)",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                all.len()
            );
            p50s.push(p50.as_secs_f64() * 1e3);
            p99s.push(p99.as_secs_f64() * 1e3);
        }
        println!(
            "one transition under {LATENCY_CLIENTS} concurrent clients, medians of {ROUNDS} rounds: p50 {:.1} ms, p99 {:.1} ms",
            median(p50s),
            median(p99s)
        );
        let n = store
            .read(|c| -> Result<i64, ApprovalError> {
                Ok(c.query_row("SELECT count(*) FROM approval_cases WHERE state = 'completed'", [], |r| r.get(0))?)
            })
            .await
            .unwrap();
        assert_eq!(n as usize, 10 + ROUNDS * CASES_PER_ROUND);
    });
}
