//! Supervision over real HTTP against a real `govbox demo` process: the card sweep on its
//! timer across restarts, complaints and evaluations, and the reports' CSV and XLSX.

mod common;
mod supervision_support;

use std::path::Path;
use std::time::{Duration, Instant};

use calamine::{Data, Reader};
use common::{error_code, Demo, Web};
use govbox::approval::calendar::Calendar;
use jiff::civil::Date;
use rusqlite::Connection;
use supervision_support as fx;

fn today() -> Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap())
        .date()
}

/// The working day `n` working days before `today`.
fn working_days_ago(cal: &Calendar, today: Date, n: i64) -> Date {
    let mut d = today;
    loop {
        d = d.yesterday().unwrap();
        if cal.is_working_day(d) && cal.working_days_between(d, today, &[]) >= n {
            return d;
        }
    }
}

fn id_of(c: &Connection, sql: &str, name: &str) -> i64 {
    c.query_row(sql, [name], |r| r.get(0)).unwrap()
}

struct Seed {
    item: i64,
    dept: i64,
    clerk: i64,
    handler: i64,
}

fn seed(db: &Path) -> Seed {
    let c = Connection::open(db).unwrap();
    let dept = id_of(
        &c,
        "SELECT id FROM departments WHERE name = ?1",
        "县市场监督管理局",
    );
    let clerk = id_of(&c, "SELECT id FROM users WHERE username = ?1", "clerk");
    let handler = id_of(&c, "SELECT id FROM users WHERE username = ?1", "handler");
    let item = fx::item(
        &c,
        &fx::Item {
            code: "SJ-1",
            name: "食品经营许可",
            kind: "promised",
            department_id: dept,
            promised_days: 5,
        },
    );
    Seed {
        item,
        dept,
        clerk,
        handler,
    }
}

fn add_case(db: &Path, s: &Seed, receipt: &str, due: Date, closed: Option<Date>) {
    let c = Connection::open(db).unwrap();
    fx::case(
        &c,
        &fx::Case {
            receipt: receipt.into(),
            item_id: s.item,
            kind: "promised",
            department_id: s.dept,
            applicant: format!("申请人{receipt}"),
            channel: "window",
            state: if closed.is_some() {
                "completed"
            } else {
                "undertaken"
            },
            clerk_id: s.clerk,
            assignee_id: closed.is_none().then_some(s.handler),
            accepted_on: due.yesterday().unwrap().to_string(),
            due_on: due.to_string(),
            closed_on: closed.map(|d| d.to_string()),
            saved_days: closed.map(|_| 0),
            paused_from: None,
        },
    );
}

fn swept_at(db: &Path) -> Option<String> {
    let c = Connection::open(db).unwrap();
    c.query_row(
        "SELECT swept_at FROM supervision_sweeps WHERE name = 'cards'",
        [],
        |r| r.get(0),
    )
    .ok()
}

/// Starts the demo and waits for the sweep it runs at start-up to finish.
fn start_and_wait_for_sweep(dir: &Path) -> Demo {
    let db = dir.join("data/govbox.db");
    let before = if db.exists() { swept_at(&db) } else { None };
    let demo = Demo::start_in(dir);
    let t = Instant::now();
    while swept_at(&db) == before {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no sweep after start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    demo
}

fn cards(db: &Path) -> Vec<(String, String, String)> {
    let c = Connection::open(db).unwrap();
    let mut st = c
        .prepare(
            "SELECT receipt, colour, due_on FROM supervision_cards WHERE receipt LIKE 'SJ-%'
              ORDER BY receipt, colour",
        )
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn card_changes(db: &Path) -> i64 {
    let c = Connection::open(db).unwrap();
    c.query_row(
        "SELECT count(*) FROM changes WHERE entity = 'supervision_card'
          AND json_extract(payload, '$.receipt') LIKE 'SJ-%'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn cards_are_issued_exactly_once_across_restarts_dated_when_due() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let db = dir.join("data/govbox.db");
    let mut demo = Demo::start_in(dir);
    demo.stop();
    let cal = Calendar::shipped();
    let today = today();
    let s = seed(&db);
    let add = |d: Date, n: u32| cal.add_working_days(d, n, &[]).date;
    // Switched off while these fell due: A and D long overdue (yellow and red), B two
    // working days overdue, C not yet due.
    let due_a = working_days_ago(&cal, today, 10);
    let due_b = working_days_ago(&cal, today, 2);
    let due_c = add(today, 5);
    let due_d = working_days_ago(&cal, today, 12);
    add_case(&db, &s, "SJ-A", due_a, None);
    add_case(&db, &s, "SJ-B", due_b, None);
    add_case(&db, &s, "SJ-C", due_c, None);
    add_case(&db, &s, "SJ-D", due_d, None);
    let mut expected = vec![
        ("SJ-A".to_string(), "red".to_string(), add(add(due_a, 1), 2)),
        ("SJ-A".into(), "yellow".into(), add(due_a, 1)),
        ("SJ-D".into(), "yellow".into(), add(due_d, 1)),
        ("SJ-D".into(), "red".into(), add(add(due_d, 1), 2)),
    ];
    let b_yellow = add(due_b, 1);
    if b_yellow <= today {
        expected.push(("SJ-B".into(), "yellow".into(), b_yellow));
    }
    if add(b_yellow, 2) <= today {
        expected.push(("SJ-B".into(), "red".into(), add(b_yellow, 2)));
    }
    expected.sort();
    let expected_rows = |e: &[(String, String, Date)]| -> Vec<(String, String, String)> {
        let mut v: Vec<_> = e
            .iter()
            .map(|(r, c, d)| (r.clone(), c.clone(), d.to_string()))
            .collect();
        v.sort();
        v
    };

    for round in 0..3 {
        let mut demo = start_and_wait_for_sweep(dir);
        assert_eq!(cards(&db), expected_rows(&expected), "round {round}");
        demo.stop();
    }
    // D was finally completed, and another case fell due while the site was off once more.
    {
        let c = Connection::open(&db).unwrap();
        fx::close(&c, "SJ-D", "completed", &today.to_string());
    }
    let due_e = working_days_ago(&cal, today, 6);
    add_case(&db, &s, "SJ-E", due_e, None);
    expected.push(("SJ-E".into(), "yellow".into(), add(due_e, 1)));
    expected.push(("SJ-E".into(), "red".into(), add(add(due_e, 1), 2)));
    for round in 3..5 {
        let mut demo = start_and_wait_for_sweep(dir);
        assert_eq!(cards(&db), expected_rows(&expected), "round {round}");
        demo.stop();
    }
    assert_eq!(card_changes(&db), expected.len() as i64);
}

async fn signed_in(demo: &Demo, user: &str) -> Web {
    let mut web = Web::new(&demo.office);
    let r = web.login(user, &demo.staff_password()).await;
    assert_eq!(r.status(), 200, "login {user}");
    web
}

fn site_id(db: &Path) -> String {
    let c = Connection::open(db).unwrap();
    c.query_row("SELECT value FROM meta WHERE key = 'site_id'", [], |r| {
        r.get(0)
    })
    .unwrap()
}

/// An XLSX cell against the CSV's text: numbers compare as numbers, the rest as text.
fn same_cell(csv: &str, x: &Data) -> bool {
    match x {
        Data::Empty => csv.is_empty(),
        Data::String(s) => s == csv,
        Data::Float(f) => csv.parse::<f64>().is_ok_and(|c| c == *f),
        Data::Int(i) => csv.parse::<i64>().is_ok_and(|c| c == *i),
        _ => false,
    }
}

fn csv_rows(body: &str) -> Vec<Vec<String>> {
    let body = body
        .strip_prefix('\u{feff}')
        .expect("CSV starts with a BOM");
    body.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn complaints_evaluations_and_reports_over_http() {
    use govbox::supervision::{complaints, evaluations};
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let db = dir.join("data/govbox.db");
    let mut demo = Demo::start_in(dir);
    demo.stop();
    let s = seed(&db);
    let cal = Calendar::shipped();
    let today = today();
    let due = working_days_ago(&cal, today, 3);
    add_case(&db, &s, "SJ-H1", due, Some(due));
    add_case(&db, &s, "SJ-H2", working_days_ago(&cal, today, 1), None);
    let demo = Demo::start_in(dir);
    // The portal's side goes through the library, as the portal part calls it.
    let store = govbox::store::open(&db, &site_id(&db)).unwrap();
    let sup = signed_in(&demo, "supervisor").await;
    let handler = signed_in(&demo, "handler").await;

    let sub = store
        .write_blocking(|tx| {
            complaints::submit(
                tx,
                &complaints::NewComplaint {
                    category: "服务态度".into(),
                    target: "县市场监督管理局窗口".into(),
                    name: "刘女士".into(),
                    phone: "0571-88886666".into(),
                    body: "窗口人员态度生硬".into(),
                    receipt: Some("SJ-H1".into()),
                },
            )
        })
        .unwrap();
    let list: serde_json::Value = sup
        .get("/api/supervision/complaints?state=open")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["number"], sub.number.as_str());
    assert_eq!(list[0]["open"], true);
    assert_eq!(
        error_code(handler.get("/api/supervision/complaints").await).await,
        "forbidden"
    );
    let path = format!("/api/supervision/complaints/{}", sub.number);
    let r = handler
        .post(
            &path,
            serde_json::json!({"action": "reply", "text": "已整改"}),
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = sup
        .post(
            &path,
            serde_json::json!({"action": "assign", "assignee": "handler"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = handler
        .post(
            &path,
            serde_json::json!({"action": "reply", "text": "已对窗口人员批评教育"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = sup.post(&path, serde_json::json!({"action": "zap"})).await;
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("操作"));
    let r = sup
        .post(
            "/api/supervision/complaints/x%7By",
            serde_json::json!({"action": "reply", "text": "x"}),
        )
        .await;
    assert_eq!(error_code(r).await, "invalid_input");
    let r = sup
        .post(
            &path,
            serde_json::json!({"action": "close", "substantiated": true, "subject": "clerk"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let (n, code) = (sub.number.clone(), sub.code.clone());
    let p = store
        .read_blocking(move |c| complaints::progress(c, &n, &code))
        .unwrap()
        .unwrap();
    assert_eq!(p.reply.as_deref(), Some("已对窗口人员批评教育"));

    // A bad rating and its loop.
    store
        .write_blocking(|tx| evaluations::submit(tx, "SJ-H1", 5, "多次往返"))
        .unwrap();
    let steps = "/api/supervision/evaluations/SJ-H1/steps";
    let r = sup
        .post(steps, serde_json::json!({"action": "rectify", "note": "x"}))
        .await;
    assert_eq!(error_code(r).await, "out_of_order");
    let r = sup
        .post(
            steps,
            serde_json::json!({"action": "contact", "note": "已电话回访"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["loop_state"], "contacted");
    let r = sup
        .post(steps, serde_json::json!({"action": "contact", "note": ""}))
        .await;
    assert_eq!(error_code(r).await, "invalid_input");

    // A manual reminder reaches the handler's 工作台.
    let r = sup
        .post(
            "/api/supervision/cases/SJ-H2/remind",
            serde_json::json!({"message": "请今天办结"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let home = handler.get("/").await.text().await.unwrap();
    assert!(home.contains("催办：请今天办结"), "{home}");

    // The case view and its trace picture.
    let page = sup
        .get("/supervision/cases/SJ-H2")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<svg") && page.contains("人工催办"), "{page}");
    assert_eq!(handler.get("/supervision").await.status(), 403);

    // Reports: XLSX read back equals the CSV cell for cell.
    let q = format!(
        "from={}&to={today}&item_id={}",
        today.first_of_month().min(due.yesterday().unwrap()),
        s.item
    );
    for report in [
        "handling",
        "workload",
        "completion",
        "monthly",
        "feedback",
        "staff",
    ] {
        let csv = sup
            .get(&format!("/api/supervision/reports/{report}?{q}&format=csv"))
            .await;
        assert_eq!(csv.status(), 200, "{report}");
        assert!(csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let csv = csv_rows(&csv.text().await.unwrap());
        let xlsx = sup
            .get(&format!(
                "/api/supervision/reports/{report}?{q}&format=xlsx"
            ))
            .await;
        assert_eq!(xlsx.status(), 200);
        let bytes = xlsx.bytes().await.unwrap();
        let mut wb: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let range = wb.worksheet_range_at(0).unwrap().unwrap();
        let rows: Vec<Vec<Data>> = range
            .rows()
            .map(|r| {
                let mut v = r.to_vec();
                while v.last().is_some_and(|d| *d == Data::Empty) {
                    v.pop();
                }
                v
            })
            .collect();
        assert_eq!(rows.len(), csv.len(), "{report}");
        for (x, c) in rows.iter().zip(&csv) {
            assert_eq!(x.len(), c.len(), "{report}: {x:?} vs {c:?}");
            for (xc, cc) in x.iter().zip(c) {
                assert!(same_cell(cc, xc), "{report}: XLSX {xc:?} vs CSV {cc:?}");
            }
        }
        assert!(csv.len() >= 3, "{report}: title, range and headers");
    }
    let handling = csv_rows(
        &sup.get(&format!("/api/supervision/reports/handling?{q}&format=csv"))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(handling[2][0], "部门");
    assert_eq!(handling[3][..3], ["县市场监督管理局", "2", "1"]);
    let r = sup
        .get("/api/supervision/reports/handling?from=2026-13-01&format=csv")
        .await;
    assert_eq!(error_code(r).await, "invalid_input");
    let r = sup.get("/api/supervision/reports/nope").await;
    assert_eq!(error_code(r).await, "invalid_input");
    store.close();
}

#[tokio::test]
async fn the_demo_cases_of_approval_are_supervised_with_their_trace() {
    let demo = Demo::start();
    let sup = signed_in(&demo, "supervisor").await;
    let page: serde_json::Value = sup
        .get("/api/supervision/cases?state=open&limit=500")
        .await
        .json()
        .await
        .unwrap();
    assert!(page["total"].as_i64().unwrap() > 0, "{page}");
    let receipt = page["cases"][0]["receipt"].as_str().unwrap().to_string();
    let d: serde_json::Value = sup
        .get(&format!("/api/supervision/cases/{receipt}"))
        .await
        .json()
        .await
        .unwrap();
    let labels: Vec<&str> = d["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    // Approval's own trace: its first step is the acceptance, by the window clerk.
    assert!(labels[0].contains("受理"), "{labels:?}");
    assert_eq!(d["trace"][0]["who"], "王窗口");
    assert!(labels.contains(&"承诺办结期限"), "{labels:?}");
    // The demo's own complaint and bad evaluation wait for the supervisor.
    let complaints: serde_json::Value = sup
        .get("/api/supervision/complaints?state=open")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(complaints.as_array().unwrap().len(), 1, "{complaints}");
    let loops: serde_json::Value = sup
        .get("/api/supervision/evaluations?only=loop")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(loops[0]["loop_state"], "contacted", "{loops}");
    let home = sup.get("/").await.text().await.unwrap();
    assert!(home.contains("未办结的投诉 1 件"), "{home}");
    // The overdue demo case got its yellow card at start-up.
    let cards: serde_json::Value = sup
        .get("/api/supervision/cards")
        .await
        .json()
        .await
        .unwrap();
    let overdue: Vec<&serde_json::Value> = page["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["light"] == "red")
        .collect();
    for c in &overdue {
        let has_card = cards
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["receipt"] == c["receipt"] && k["colour"] == "yellow");
        let cal = Calendar::shipped();
        let due: Date = c["due_on"].as_str().unwrap().parse().unwrap();
        let yellow_due = cal.add_working_days(due, 1, &[]).date;
        assert_eq!(
            has_card,
            yellow_due <= today() && c["paused"] == false,
            "{c}"
        );
    }
}
