//! Administrative approval over HTTP against a real `govbox demo` process: the five steps, the
//! printable notices, refusals that change nothing, hostile and oversized input, concurrent
//! handlers, and kill -9 in the middle of transitions.

mod common;

use std::time::Duration;

use common::{error_code, Demo, Web, ADMIN_PW};
use serde_json::{json, Value};

async fn staff(demo: &Demo, user: &str) -> Web {
    let mut w = Web::new(&demo.office);
    let r = w.login(user, &demo.staff_password()).await;
    assert_eq!(r.status(), 200, "{user} signs in");
    w
}

async fn ok(r: reqwest::Response) -> Value {
    let status = r.status();
    let body = r.text().await.unwrap();
    assert!(status.is_success(), "HTTP {status}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn count(demo: &Demo, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open_with_flags(
        demo.db(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn food_case(name: &str, id_no: &str) -> Value {
    json!({
        "item_code": "CN-001",
        "applicant_kind": "person",
        "applicant_name": name,
        "applicant_id_no": id_no,
        "applicant_phone": "13912345678",
        "materials": [
            {"name": "食品经营许可申请书", "provided": true},
            {"name": "营业执照复印件", "provided": true},
            {"name": "食品安全管理制度", "provided": true}
        ],
        "fees": [{"name": "证照工本费", "quantity": "2.5"}]
    })
}

async fn act(web: &Web, id: i64, action: &str, version: i64, opinion: &str) -> reqwest::Response {
    web.post(
        &format!("/api/approval/cases/{id}/actions"),
        json!({"action": action, "version": version, "opinion": opinion}),
    )
    .await
}

#[tokio::test]
async fn a_case_goes_from_the_window_to_completion_with_its_trace_and_notices() {
    let demo = Demo::start();
    let clerk = staff(&demo, "clerk").await;
    let handler = staff(&demo, "handler").await;
    let reviewer = staff(&demo, "reviewer").await;
    let approver = staff(&demo, "approver").await;

    let c = ok(clerk
        .post(
            "/api/approval/cases",
            food_case("测试甲", "11010519491231002X"),
        )
        .await)
    .await;
    let id = c["id"].as_i64().unwrap();
    let receipt = c["receipt"].as_str().unwrap().to_string();
    assert!(receipt.contains("-demo-county-"), "{receipt}");
    assert_eq!(c["fee_total_fen"], 2500);
    assert_eq!(c["assignee"]["username"], "handler");
    let todo = ok(handler.get("/api/approval/cases?view=todo").await).await;
    assert!(todo.as_array().unwrap().iter().any(|x| x["id"] == id));

    // Out of order, wrong person, stale version: refused, nothing written.
    let steps_before = count(&demo, "SELECT count(*) FROM approval_steps");
    assert_eq!(
        error_code(act(&approver, id, "approve", 1, "").await).await,
        "illegal_transition"
    );
    assert_eq!(
        error_code(act(&reviewer, id, "undertake", 1, "").await).await,
        "forbidden"
    );
    assert_eq!(
        error_code(act(&handler, id, "undertake", 7, "").await).await,
        "stale_version"
    );
    assert_eq!(
        error_code(act(&handler, id, "fly", 1, "").await).await,
        "invalid_input"
    );
    assert_eq!(
        count(&demo, "SELECT count(*) FROM approval_steps"),
        steps_before
    );

    let c = ok(act(&handler, id, "undertake", 1, "材料齐全，拟同意").await).await;
    let c = ok(act(
        &reviewer,
        id,
        "review",
        c["version"].as_i64().unwrap(),
        "同意",
    )
    .await)
    .await;
    let c = ok(act(
        &approver,
        id,
        "approve",
        c["version"].as_i64().unwrap(),
        "批准",
    )
    .await)
    .await;
    let c = ok(act(
        &clerk,
        id,
        "complete",
        c["version"].as_i64().unwrap(),
        "已发证",
    )
    .await)
    .await;
    assert_eq!(c["state"], "completed");
    assert_eq!(c["saved_days"], 10);
    let trace: Vec<&str> = c["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        trace,
        ["accept", "undertake", "review", "approve", "complete"]
    );
    let done = ok(handler
        .get(&format!("/api/approval/cases?view=done&receipt={receipt}"))
        .await)
    .await;
    assert_eq!(done.as_array().unwrap().len(), 1);

    // The notices print with the receipt number; 补正告知书 does not apply to this case.
    for (kind, text) in [
        ("acceptance", "受理通知书"),
        ("completion", "准予许可"),
        ("payment", "25.00"),
    ] {
        let r = clerk
            .get(&format!("/approval/cases/{id}/notice/{kind}"))
            .await;
        assert_eq!(r.status(), 200, "{kind}");
        let html = r.text().await.unwrap();
        assert!(html.contains(&receipt) && html.contains(text), "{kind}");
        assert!(html.contains("/approval/notice.css"));
    }
    let r = clerk
        .get(&format!("/approval/cases/{id}/notice/supplement"))
        .await;
    assert_eq!(r.status(), 409);
    // Every step has its change row and its audit row.
    let changes = count(
        &demo,
        &format!(
            "SELECT count(*) FROM changes WHERE entity = 'approval_case' AND key = '{receipt}'"
        ),
    );
    assert_eq!(changes, 5);
    let audits = count(
        &demo,
        "SELECT count(*) FROM audit WHERE action LIKE 'approval.case.%' AND outcome = 'ok'",
    );
    assert!(audits >= 5, "{audits}");
}

#[tokio::test]
async fn hostile_malformed_and_oversized_input_is_refused_and_changes_nothing() {
    let demo = Demo::start();
    let clerk = staff(&demo, "clerk").await;
    let mut admin = Web::new(&demo.office);
    admin.login("admin", ADMIN_PW).await;
    let cases = count(&demo, "SELECT count(*) FROM approval_cases");
    let changes = count(&demo, "SELECT count(*) FROM changes");

    let bad_id = food_case("测试乙", "110105194912310021");
    let r = clerk.post("/api/approval/cases", bad_id).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("校验位"),
        "{v}"
    );

    let mut missing = food_case("测试丙", "11010519491231002X");
    missing["materials"] = json!([]);
    let r = clerk.post("/api/approval/cases", missing).await;
    assert_eq!(error_code(r).await, "invalid_input");

    let mut float = food_case("测试丁", "11010519491231002X");
    float["fees"] = json!([{"name": "证照工本费", "quantity": "1e3"}]);
    assert_eq!(clerk.post("/api/approval/cases", float).await.status(), 400);

    let r = clerk
        .http
        .post(format!("{}/api/approval/cases", demo.office))
        .header("x-csrf-token", clerk.csrf.clone().unwrap())
        .header("content-type", "application/json")
        .body("{\"item_code\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "invalid_json");

    let mut huge = food_case("x", "11010519491231002X");
    huge["opinion"] = json!("意".repeat(600_000));
    assert_eq!(clerk.post("/api/approval/cases", huge).await.status(), 413);
    let mut long = food_case("x", "11010519491231002X");
    long["opinion"] = json!("意".repeat(2001));
    assert_eq!(clerk.post("/api/approval/cases", long).await.status(), 400);

    let r = clerk
        .post_without_csrf("/api/approval/cases", food_case("x", "11010519491231002X"))
        .await;
    assert_eq!(r.status(), 403);
    // Not a clerk.
    let handler = staff(&demo, "handler").await;
    let r = handler
        .post("/api/approval/cases", food_case("x", "11010519491231002X"))
        .await;
    assert_eq!(error_code(r).await, "forbidden");
    // A file that was never uploaded.
    let mut ghost = food_case("x", "11010519491231002X");
    ghost["materials"][0]["hash"] = json!("ab".repeat(32));
    assert_eq!(clerk.post("/api/approval/cases", ghost).await.status(), 400);
    assert_eq!(count(&demo, "SELECT count(*) FROM approval_cases"), cases);
    assert_eq!(count(&demo, "SELECT count(*) FROM changes"), changes);

    // Paths and queries that cannot be right.
    for path in [
        "/api/approval/items/..%2F..%2Fetc",
        "/api/approval/cases/1/files/..%2Fgovbox.db",
        "/api/approval/cases?view=everything",
        "/api/approval/cases?from=yesterday&view=done",
        "/api/approval/cases/abc",
    ] {
        let s = clerk.get(path).await.status();
        assert_eq!(s, 400, "{path}");
    }
    // SQL in a filter is only text.
    let r = ok(clerk
        .get("/api/approval/cases?view=done&applicant=%27%20OR%201%3D1%20--")
        .await)
    .await;
    assert!(r.as_array().unwrap().is_empty());

    // Markup in a name is shown as text.
    let mut xss = food_case("<script>alert(1)</script>", "11010519491231002X");
    xss["fees"] = json!([]);
    let c = ok(clerk.post("/api/approval/cases", xss).await).await;
    let html = clerk
        .get(&format!("/approval/cases/{}", c["id"]))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(html.contains("&lt;script&gt;"));

    // A catalogue over the limit, and a broken one, import nothing.
    let items_before = count(&demo, "SELECT count(*) FROM approval_items");
    let big = json!({"format": 1, "items": [{"code": "X", "name": "名".repeat(1_500_000)}]});
    assert_eq!(
        admin.post("/api/approval/catalogue", big).await.status(),
        413
    );
    let mut cat = ok(admin.get("/api/approval/catalogue").await).await;
    let mut new_one = cat["items"][0].clone();
    new_one["code"] = json!("NEW-OK");
    let mut broken = cat["items"][1].clone();
    broken["code"] = json!("NEW-BAD");
    broken["statutory_days"] = json!(0);
    cat["items"].as_array_mut().unwrap().push(new_one);
    cat["items"].as_array_mut().unwrap().push(broken);
    let r = admin.post("/api/approval/catalogue", cat).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("NEW-BAD"),
        "{v}"
    );
    assert_eq!(
        count(&demo, "SELECT count(*) FROM approval_items"),
        items_before
    );
    let r = clerk
        .post("/api/approval/catalogue", json!({"format": 1, "items": []}))
        .await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn concurrent_handlers_one_wins_the_rest_get_a_conflict_and_nothing_is_half_written() {
    let demo = Demo::start();
    let clerk = staff(&demo, "clerk").await;
    let c = ok(clerk
        .post(
            "/api/approval/cases",
            food_case("并发", "110101199003074477"),
        )
        .await)
    .await;
    let id = c["id"].as_i64().unwrap();
    let receipt = c["receipt"].as_str().unwrap().to_string();
    let steps = count(&demo, "SELECT count(*) FROM approval_steps");
    let handler = std::sync::Arc::new(staff(&demo, "handler").await);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let h = handler.clone();
        tasks.push(tokio::spawn(async move {
            let r = act(&h, id, "undertake", 1, &format!("第 {i} 位")).await;
            let status = r.status().as_u16();
            (
                status,
                if status == 200 {
                    String::new()
                } else {
                    error_code(r).await
                },
            )
        }));
    }
    let mut wins = 0;
    for t in tasks {
        let (status, code) = t.await.unwrap();
        match status {
            200 => wins += 1,
            409 => assert_eq!(code, "stale_version"),
            other => panic!("unexpected {other} {code}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(
        count(&demo, "SELECT count(*) FROM approval_steps"),
        steps + 1
    );
    assert_eq!(
        count(
            &demo,
            &format!("SELECT version FROM approval_cases WHERE id = {id}")
        ),
        2
    );
    assert_eq!(
        count(
            &demo,
            &format!(
                "SELECT count(*) FROM changes WHERE entity = 'approval_case' AND key = '{receipt}'"
            )
        ),
        2
    );
}

#[tokio::test]
async fn joint_sub_cases_supplement_and_intake_over_http() {
    let demo = Demo::start();
    let clerk = staff(&demo, "clerk").await;
    let handler = staff(&demo, "handler").await;
    let reviewer = staff(&demo, "reviewer").await;
    let approver = staff(&demo, "approver").await;
    let land = staff(&demo, "land_handler").await;
    let c = ok(clerk
        .post(
            "/api/approval/cases",
            json!({"item_code": "LB-001", "applicant_kind": "org", "applicant_name": "联办测试有限公司",
                   "applicant_id_no": "91110000802100433B", "applicant_phone": "13812345678",
                   "materials": [{"name": "联办申请表", "provided": true}, {"name": "场地使用证明", "provided": true}]}),
        )
        .await)
    .await;
    let id = c["id"].as_i64().unwrap();
    let sub = c["subcases"][0]["id"].as_i64().unwrap();
    let todo = ok(land.get("/api/approval/cases").await).await;
    assert!(todo.as_array().unwrap().iter().any(|x| x["id"] == id));
    let c = ok(act(&handler, id, "undertake", 1, "").await).await;
    let c = ok(act(&reviewer, id, "review", c["version"].as_i64().unwrap(), "").await).await;
    let v = c["version"].as_i64().unwrap();
    assert_eq!(
        error_code(act(&approver, id, "approve", v, "").await).await,
        "illegal_transition"
    );
    let path = format!("/api/approval/cases/{id}/subcases/{sub}/finish");
    assert_eq!(
        error_code(
            handler
                .post(&path, json!({"version": v, "opinion": "同意"}))
                .await
        )
        .await,
        "forbidden"
    );
    let c = ok(land
        .post(&path, json!({"version": v, "opinion": "用地符合规划"}))
        .await)
    .await;
    let c = ok(act(&approver, id, "approve", c["version"].as_i64().unwrap(), "").await).await;
    assert_eq!(c["state"], "approved");

    // 补正 on a fresh case: the clock stops, the applicant is told, the window resumes.
    let c = ok(clerk
        .post(
            "/api/approval/cases",
            food_case("补正测试", "440524188001010014"),
        )
        .await)
    .await;
    let id = c["id"].as_i64().unwrap();
    assert_eq!(
        error_code(act(&handler, id, "supplement", 1, "").await).await,
        "invalid_input"
    );
    let c = ok(act(&handler, id, "supplement", 1, "营业执照复印件不清晰").await).await;
    assert_eq!(c["state"], "supplement");
    assert!(c["paused"].is_object());
    let notice = clerk
        .get(&format!("/approval/cases/{id}/notice/supplement"))
        .await
        .text()
        .await
        .unwrap();
    assert!(notice.contains("营业执照复印件不清晰"));
    let c = ok(act(&clerk, id, "resume", 2, "已补交").await).await;
    assert_eq!(c["state"], "accepted");
    assert_eq!(c["assignee"]["username"], "handler");

    // The pending online application of the demo is returned with a reason, once.
    let queue = ok(clerk.get("/api/approval/intake?state=pending").await).await;
    let app = queue[0]["id"].as_i64().unwrap();
    let r = ok(clerk
        .post(
            &format!("/api/approval/intake/{app}/return"),
            json!({"reason": "请上传变更登记申请书"}),
        )
        .await)
    .await;
    assert_eq!(r["state"], "returned");
    let r = clerk
        .post(
            &format!("/api/approval/intake/{app}/return"),
            json!({"reason": "again"}),
        )
        .await;
    assert_eq!(error_code(r).await, "illegal_transition");
    assert_eq!(
        count(
            &demo,
            "SELECT count(*) FROM sms_outbox WHERE text LIKE '%未通过预审%'"
        ),
        1
    );
}

/// Transitions running when the server is killed -9 are either whole or absent: every case's
/// version matches its trace, every step has its change row, receipt numbers have no gap.
#[tokio::test]
async fn kill_9_during_transitions_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start_in(dir.path());
    let clerk = std::sync::Arc::new(staff(&demo, "clerk").await);
    let handler = std::sync::Arc::new(staff(&demo, "handler").await);
    let reviewer = std::sync::Arc::new(staff(&demo, "reviewer").await);
    let mut ids = Vec::new();
    for i in 0..10 {
        let c = ok(clerk
            .post(
                "/api/approval/cases",
                food_case(&format!("断电{i}"), "11010519491231002X"),
            )
            .await)
        .await;
        ids.push(c["id"].as_i64().unwrap());
    }
    // Kill once some transitions have gone through, while the rest are in flight: a fixed delay
    // can pass before the first one lands on a busy machine.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (c, h, r) = (clerk.clone(), handler.clone(), reviewer.clone());
        let done = done.clone();
        let id = ids[i % ids.len()];
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let _ = c
                    .post(
                        "/api/approval/cases",
                        food_case("断电", "110101199003074477"),
                    )
                    .await;
            } else {
                let v = h.get(&format!("/api/approval/cases/{id}")).await;
                if let Ok(v) = v.json::<Value>().await {
                    let version = v["version"].as_i64().unwrap_or(1);
                    let (web, action) = if v["state"] == "accepted" {
                        (&h, "undertake")
                    } else {
                        (&r, "return")
                    };
                    let r = web
                        .post(
                            &format!("/api/approval/cases/{id}/actions"),
                            json!({"action": action, "version": version, "opinion": "断电测试"}),
                        )
                        .await;
                    if r.status().is_success() {
                        done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            }
        }));
    }
    let start = std::time::Instant::now();
    while done.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no transition went through"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    demo.signal(nix::sys::signal::Signal::SIGKILL);
    for t in tasks {
        let _ = t.await;
    }
    drop(demo);

    let conn = rusqlite::Connection::open(dir.path().join("data/govbox.db")).unwrap();
    let check = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let cases = check("SELECT count(*) FROM approval_cases");
    assert!(cases >= 10 + 8, "{cases}");
    assert!(check("SELECT count(*) FROM approval_steps WHERE opinion = '断电测试'") > 0);
    // Version = 1 + transitions recorded in the trace.
    assert_eq!(
        check(
            "SELECT count(*) FROM approval_cases c WHERE version <> 1 + (SELECT count(*) FROM approval_steps s
              WHERE s.case_id = c.id AND s.action NOT IN ('accept', 'not_accept', 'urge'))"
        ),
        0
    );
    // One change row per step.
    assert_eq!(
        check(
            "SELECT count(*) FROM approval_cases c WHERE (SELECT count(*) FROM approval_steps s WHERE s.case_id = c.id)
               <> (SELECT count(*) FROM changes ch WHERE ch.entity = 'approval_case' AND ch.key = c.receipt)"
        ),
        0
    );
    // Each day's receipt counter equals the cases of that day: no number lost or reused.
    assert_eq!(
        check(
            "SELECT count(*) FROM approval_receipts r WHERE r.last <> (SELECT count(*) FROM approval_cases c
              WHERE substr(c.receipt, 1, 8) = r.day)"
        ),
        0
    );
    assert_eq!(
        check("SELECT count(*) FROM approval_cases c WHERE NOT EXISTS (SELECT 1 FROM approval_steps s WHERE s.case_id = c.id)"),
        0
    );
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(conn);

    // The site comes back and the work goes on from the version on disk.
    let demo = Demo::start_in(dir.path());
    let handler = staff(&demo, "handler").await;
    let reviewer = staff(&demo, "reviewer").await;
    let c = ok(handler
        .get(&format!("/api/approval/cases/{}", ids[0]))
        .await)
    .await;
    let (web, action) = if c["state"] == "accepted" {
        (&handler, "undertake")
    } else {
        (&reviewer, "return")
    };
    let version = c["version"].as_i64().unwrap();
    let after = ok(act(web, ids[0], action, version, "恢复后继续").await).await;
    assert_eq!(after["version"], c["version"].as_i64().unwrap() + 1);
}

#[test]
fn user_add_takes_a_phone_for_the_to_do_sms_and_refuses_a_bad_one_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = Demo::start_in(dir.path());
    assert!(demo.stop().success());
    let pw = dir.path().join("pw.txt");
    std::fs::write(&pw, "tall-Cedar-Lake-93\n").unwrap();
    let add = |name: &str, phone: &str| {
        common::govbox(&[
            "user",
            "add",
            name,
            "--name",
            "测试",
            "--role",
            "handler@登记注册科",
            "--phone",
            phone,
            "--password-file",
            pw.to_str().unwrap(),
            "--config",
            &demo.config_str(),
        ])
    };
    let o = add("phone_ok", "13811112222");
    assert!(o.status.success(), "{}", common::text(&o));
    assert_eq!(
        count(
            &demo,
            "SELECT count(*) FROM users WHERE username = 'phone_ok' AND phone = '13811112222'"
        ),
        1
    );
    let o = add("phone_bad", "911");
    assert_eq!(o.status.code(), Some(2), "{}", common::text(&o));
    assert!(common::text(&o).contains("手机号"));
    assert_eq!(
        count(
            &demo,
            "SELECT count(*) FROM users WHERE username = 'phone_bad'"
        ),
        0
    );
}

#[tokio::test]
async fn blank_forms_are_uploaded_attached_and_downloaded() {
    let demo = Demo::start();
    let mut admin = Web::new(&demo.office);
    admin.login("admin", ADMIN_PW).await;
    let bytes = "食品经营许可申请书（空白表）".repeat(100).into_bytes();
    let up: Value = admin
        .http
        .post(format!(
            "{}/api/approval/files?name=申请书.docx",
            demo.office
        ))
        .header("x-csrf-token", admin.csrf.clone().unwrap())
        .body(bytes.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hash = up["hash"].as_str().unwrap().to_string();
    assert_eq!(up["size"], bytes.len());
    let path = "/api/approval/items/CN-001/files";
    for (body, status) in [
        (
            json!({"slot": "blank", "position": 99, "hash": hash, "name": "a.docx"}),
            400,
        ),
        (
            json!({"slot": "cover", "position": 0, "hash": hash, "name": "a.docx"}),
            400,
        ),
        (
            json!({"slot": "blank", "position": 0, "hash": "cd".repeat(32), "name": "a.docx"}),
            400,
        ),
        (
            json!({"slot": "blank", "position": 0, "hash": hash, "name": "../a.docx"}),
            400,
        ),
    ] {
        assert_eq!(admin.post(path, body).await.status(), status);
    }
    let clerk = staff(&demo, "clerk").await;
    let r = clerk
        .post(
            path,
            json!({"slot": "blank", "position": 0, "hash": hash, "name": "申请书.docx"}),
        )
        .await;
    assert_eq!(r.status(), 403);
    let item = ok(admin
        .post(
            path,
            json!({"slot": "blank", "position": 0, "hash": hash, "name": "申请书.docx"}),
        )
        .await)
    .await;
    assert_eq!(item["materials"][0]["blank_name"], "申请书.docx");
    let r = clerk
        .get(&format!("/api/approval/items/CN-001/files/{hash}"))
        .await;
    assert_eq!(r.status(), 200);
    assert!(r
        .headers()
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("attachment"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), bytes);
    // The item edit page offers the upload and the file.
    let html = admin
        .get("/approval/items/CN-001")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("/approval/approval.js") && html.contains("申请书.docx"));
    let r = admin.get("/approval/approval.js").await;
    assert_eq!(r.status(), 200);
    // The change that replicates the item names the blob, so it goes upstream first.
    assert_eq!(
        count(
            &demo,
            &format!("SELECT count(*) FROM changes WHERE entity = 'approval_item' AND key = 'CN-001' AND blobs LIKE '%{hash}%'")
        ),
        1
    );
}
