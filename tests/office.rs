//! Office automation over HTTP against a real `govbox demo` process.

mod common;

use common::{error_code, Demo, Web, ADMIN_PW};
use serde_json::{json, Value};

async fn staff(demo: &Demo, user: &str) -> Web {
    let mut w = Web::new(&demo.office);
    let r = w.login(user, &demo.staff_password()).await;
    assert_eq!(r.status(), 200, "{user} signs in");
    w
}

async fn admin(demo: &Demo) -> Web {
    let mut w = Web::new(&demo.office);
    assert_eq!(w.login("admin", ADMIN_PW).await.status(), 200);
    w
}

async fn ok(r: reqwest::Response) -> Value {
    let status = r.status();
    let body = r.text().await.unwrap();
    assert!(status.is_success(), "HTTP {status}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// A one-step type whose only step is `user` signing 办结.
async fn one_step_type(admin: &Web, code: &str, prefix: &str, user: &str) {
    ok(admin
        .post(
            "/api/office/doc-types",
            json!({"code": code, "name": "测试", "prefix": prefix, "steps": [{"kind": "办结", "user": user}]}),
        )
        .await)
    .await;
}

#[tokio::test]
async fn fifty_concurrent_drafts_get_numbers_without_gap_or_duplicate() {
    let demo = Demo::start();
    let admin = admin(&demo).await;
    one_step_type(&admin, "conc", "并发", "clerk").await;
    let clerk = std::sync::Arc::new(staff(&demo, "clerk").await);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let c = clerk.clone();
        tasks.push(tokio::spawn(async move {
            let r = c
                .post(
                    "/api/office/documents",
                    json!({"direction": "outgoing", "doc_type": "conc", "title": format!("并发拟稿 {i}")}),
                )
                .await;
            ok(r).await["number"].as_str().unwrap().to_string()
        }));
    }
    let mut seqs = Vec::new();
    let year = jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .year();
    for t in tasks {
        let number = t.await.unwrap();
        let n = number
            .strip_prefix(&format!("并发〔{year}〕"))
            .and_then(|s| s.strip_suffix('号'))
            .unwrap_or_else(|| panic!("number format: {number}"));
        seqs.push(n.parse::<u32>().unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=50).collect::<Vec<u32>>(), "no gap, no duplicate");
}

/// Drafts a document of type `fw` (the demo's five-step route) and walks it to 办结.
async fn finished_document(demo: &Demo, title: &str) -> (i64, Web) {
    let clerk = staff(demo, "clerk").await;
    let d = ok(clerk
        .post(
            "/api/office/documents",
            json!({"direction": "outgoing", "doc_type": "fw", "title": title, "body": "正文：乡村公路养护经费安排。"}),
        )
        .await)
    .await;
    let id = d["id"].as_i64().unwrap();
    for (user, expect_done) in [
        ("dept_head", true),
        ("leader", true),
        ("reviewer", true),
        ("leader", false),
        ("dept_head", true),
        ("clerk", true),
    ] {
        let w = staff(demo, user).await;
        let r = ok(w
            .post(
                &format!("/api/office/documents/{id}/sign"),
                json!({"opinion": "同意"}),
            )
            .await)
        .await;
        assert_eq!(r["step_done"], expect_done, "{user}: {r}");
    }
    let d = ok(clerk.get(&format!("/api/office/documents/{id}")).await).await;
    assert_eq!(d["status"], "done");
    (id, clerk)
}

#[tokio::test]
async fn the_demo_route_signs_all_and_any_and_no_route_changes_an_archived_document() {
    let demo = Demo::start();
    let (id, clerk) = finished_document(&demo, "关于乡村公路养护的请示").await;
    let up = ok(clerk
        .http
        .post(format!("{}/api/office/uploads?name=plan.txt", demo.office))
        .header("x-csrf-token", clerk.csrf.clone().unwrap())
        .body("养护计划")
        .send()
        .await
        .unwrap())
    .await;
    let upload_id = up["id"].as_i64().unwrap();
    let year = jiff::Zoned::now().year();
    ok(clerk
        .post(
            &format!("/api/office/documents/{id}/archive"),
            json!({"year": year, "retention": "30年"}),
        )
        .await)
    .await;
    let before = ok(clerk.get(&format!("/api/office/documents/{id}")).await).await;
    assert_eq!(before["status"], "archived");
    let seq_before = ok(clerk.get("/healthz").await).await["change_seq"].clone();

    // Every mutating route that names a document, from the OpenAPI document itself, so a new
    // one cannot be added without being tried here.
    let doc: Value = clerk.get("/api/openapi.json").await.json().await.unwrap();
    let mut tried = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/office/documents/{id}") || item.get("post").is_none() {
            continue;
        }
        let body = match path.rsplit('/').next().unwrap() {
            "sign" => json!({"opinion": "再签"}),
            "comments" | "urge" => json!({"body": "改一下"}),
            "attachments" => json!({"upload_id": upload_id}),
            "archive" => json!({"year": 2020, "retention": "10年"}),
            other => panic!("untested mutating document route {path} ({other}): add it here"),
        };
        for who in ["clerk", "leader"] {
            let w = staff(&demo, who).await;
            let r = w
                .post(&path.replace("{id}", &id.to_string()), body.clone())
                .await;
            assert_eq!(r.status(), 409, "{who} {path}");
            assert_eq!(error_code(r).await, "archived", "{who} {path}");
        }
        tried.push(path.clone());
    }
    assert_eq!(tried.len(), 5, "{tried:?}");
    // The form routes of the pages, too.
    for action in ["sign", "comment", "urge", "archive"] {
        let r = clerk
            .http
            .post(format!("{}/office/documents/{id}/{action}", demo.office))
            .form(&[
                ("_csrf", clerk.csrf.clone().unwrap()),
                ("text", "x".into()),
                ("year", "2020".into()),
                ("retention", "10年".into()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409, "page {action}");
        assert!(
            r.text().await.unwrap().contains("已归档"),
            "page {action} says why"
        );
    }
    let other = staff(&demo, "handler").await;
    let after = ok(other.get(&format!("/api/office/documents/{id}")).await).await;
    assert_eq!(
        before, after,
        "reading an archived document leaves no mark either"
    );
    assert_eq!(
        ok(clerk.get("/healthz").await).await["change_seq"],
        seq_before,
        "no change row at all"
    );

    let hits = ok(other
        .get("/api/office/archive?q=%E5%85%AC%E8%B7%AF%E5%85%BB%E6%8A%A4")
        .await)
    .await;
    assert!(
        hits.as_array().unwrap().iter().any(|h| h["id"] == id),
        "公路养护 finds it: {hits}"
    );
    let hits = ok(other.get("/api/office/archive?q=%E5%85%BB").await).await;
    assert!(
        hits.as_array().unwrap().iter().any(|h| h["id"] == id),
        "one character finds it: {hits}"
    );
}

#[tokio::test]
async fn documents_refuse_classified_malformed_hostile_and_out_of_order_input() {
    let demo = Demo::start();
    let clerk = staff(&demo, "clerk").await;
    let base = json!({"direction": "incoming", "doc_type": "sw", "title": "来文", "source_unit": "市政府"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for level in ["秘密", "机密", "绝密"] {
        let r = clerk
            .post("/api/office/documents", with("security", json!(level)))
            .await;
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "classified");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("不得在本系统处理"),
            "{v}"
        );
    }
    for (body, field) in [
        (with("title", json!("")), "title"),
        (with("title", json!("长".repeat(201))), "title"),
        (with("title", json!("换行\u{7}标题")), "title"),
        (with("doc_type", json!("nope")), "doc_type"),
        (with("direction", json!("sideways")), "direction"),
        (with("urgency", json!("马上")), "urgency"),
        (with("received_on", json!("2026-13-45")), "received_on"),
        (with("received_on", json!("2999-01-01")), "received_on"),
        (with("source_unit", json!("")), "source_unit"),
        (with("attachments", json!([999999])), "attachments"),
    ] {
        let r = clerk.post("/api/office/documents", body.clone()).await;
        assert_eq!(r.status(), 400, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "invalid_input", "{body}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(field),
            "{field}: {v}"
        );
    }
    let r = clerk
        .http
        .post(format!("{}/api/office/documents", demo.office))
        .header("x-csrf-token", clerk.csrf.clone().unwrap())
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "invalid_json");
    let r = clerk
        .post(
            "/api/office/documents",
            with("body", json!("字".repeat(400_000))),
        )
        .await;
    assert_eq!(r.status(), 413, "over the 1 MiB body limit");
    let r = clerk
        .post_without_csrf("/api/office/documents", base.clone())
        .await;
    assert_eq!(error_code(r).await, "csrf");
    let seq = ok(clerk.get("/healthz").await).await["change_seq"].clone();

    // Hostile text is stored as text and shown escaped.
    let d = ok(clerk
        .post(
            "/api/office/documents",
            with("title", json!("<script>alert(1)</script>来文")),
        )
        .await)
    .await;
    let id = d["id"].as_i64().unwrap();
    assert_ne!(ok(clerk.get("/healthz").await).await["change_seq"], seq);
    let page = clerk
        .get(&format!("/office/documents/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("&lt;script&gt;alert(1)") && !page.contains("<script>alert"));

    // Out of order: the leader's step is second; the handler is not on this step; a second
    // signature by the clerk is refused; archiving before 办结 is refused.
    let leader = staff(&demo, "leader").await;
    let r = leader
        .post(&format!("/api/office/documents/{id}/sign"), json!({}))
        .await;
    assert_eq!(error_code(r).await, "out_of_order");
    ok(clerk
        .post(
            &format!("/api/office/documents/{id}/sign"),
            json!({"opinion": "拟请阅"}),
        )
        .await)
    .await;
    let r = clerk
        .post(&format!("/api/office/documents/{id}/sign"), json!({}))
        .await;
    assert_eq!(error_code(r).await, "out_of_order");
    let r = clerk
        .post(
            &format!("/api/office/documents/{id}/archive"),
            json!({"year": 2026, "retention": "永久"}),
        )
        .await;
    assert_eq!(error_code(r).await, "out_of_order");
    let r = clerk
        .post(
            &format!("/api/office/documents/{id}/archive"),
            json!({"year": 2026, "retention": "5年"}),
        )
        .await;
    assert_eq!(error_code(r).await, "invalid_input");
    let r = staff(&demo, "auditor")
        .await
        .get(&format!("/api/office/documents/{id}"))
        .await;
    assert_eq!(r.status(), 404, "not on the route: not visible");
    let r = clerk.get("/api/office/documents/abc").await;
    assert_eq!(error_code(r).await, "invalid_path");
    let r = clerk.get("/api/office/archive?q=").await;
    assert_eq!(error_code(r).await, "invalid_input");
    // Every refusal is audited.
    let audit = ok(admin(&demo)
        .await
        .get("/api/audit?action=POST&limit=200")
        .await)
    .await;
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["outcome"] == "refused" && r["object"] == "/api/office/documents"));
}

#[tokio::test]
async fn mail_is_sanitised_deduplicated_and_held_to_quotas() {
    let demo = Demo::start();
    let leader = staff(&demo, "leader").await;
    let handler = staff(&demo, "handler").await;
    let upload = |w: &Web, bytes: &'static str| {
        let req = w
            .http
            .post(format!(
                "{}/api/office/uploads?name=%E6%9D%90%E6%96%99.txt",
                demo.office
            ))
            .header("x-csrf-token", w.csrf.clone().unwrap())
            .body(bytes);
        async move { ok(req.send().await.unwrap()).await }
    };
    let a = upload(&leader, "同一份材料").await;
    let b = upload(&leader, "同一份材料").await;
    assert_eq!(a["hash"], b["hash"], "same bytes, one blob");
    let blobs = std::fs::read_dir(demo.dir.join("data/blobs"))
        .unwrap()
        .filter(|e| {
            !e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(blobs, 1);
    let evil = r#"<p>请阅</p><script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">链接</a><p style="width:expression(alert(4))">样式</p>"#;
    let sent = ok(leader
        .post("/api/office/mail", json!({"to_users": ["handler"], "to_departments": ["登记注册科"], "subject": "材料", "body_html": evil, "attachments": [a["id"]]}))
        .await)
    .await;
    let body = sent["body_html"].as_str().unwrap();
    for bad in ["<script", "onerror", "javascript:", "expression", "style="] {
        assert!(!body.contains(bad), "{bad} in {body}");
    }
    let inbox = ok(handler.get("/api/office/mail?folder=inbox").await).await;
    let mine = inbox
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["subject"] == "材料")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let page = handler
        .get(&format!("/office/mail/{mine}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<p>请阅</p>") && !page.contains("alert("),
        "shown clean"
    );
    let m = ok(handler.get(&format!("/api/office/mail/{mine}")).await).await;
    let file = handler
        .get(&format!(
            "/api/office/mail/{mine}/attachments/{}",
            a["hash"].as_str().unwrap()
        ))
        .await;
    assert_eq!(file.text().await.unwrap(), "同一份材料");
    assert_eq!(m["attachments"].as_array().unwrap().len(), 1);
    let dept_head = staff(&demo, "dept_head").await;
    let theirs = ok(dept_head.get("/api/office/mail?folder=inbox").await).await;
    assert!(
        theirs
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["subject"] == "材料"),
        "department 登记注册科 reached"
    );
    let r = handler
        .get(&format!("/api/office/mail/{}", sent["id"]))
        .await;
    assert_eq!(r.status(), 404, "the sender's copy is not the recipient's");

    // Quota: handler gets a quota just above what they hold.
    let admin = admin(&demo).await;
    let usage = ok(handler.get("/api/office/mail/usage").await).await;
    let used = usage["used"].as_i64().unwrap();
    ok(admin
        .post(
            "/api/office/mail/quota",
            json!({"username": "handler", "bytes": used + 100}),
        )
        .await)
    .await;
    let r = handler
        .post(
            "/api/office/mail/quota",
            json!({"username": "handler", "bytes": 1 << 30}),
        )
        .await;
    assert_eq!(error_code(r).await, "forbidden");
    for bad in [
        json!({"username": "handler", "bytes": -1}),
        json!({"username": "nobody", "bytes": 10}),
        json!({"bytes": "lots"}),
    ] {
        let r = admin.post("/api/office/mail/quota", bad.clone()).await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    let before = ok(leader.get("/healthz").await).await["change_seq"].clone();
    let r = leader.post("/api/office/mail", json!({"to_users": ["handler", "reviewer"], "subject": "大附件", "body_html": "x".repeat(500)})).await;
    assert_eq!(r.status(), 507);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "quota_exceeded");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("李承办"),
        "names whose mailbox is full: {v}"
    );
    assert_eq!(
        ok(leader.get("/healthz").await).await["change_seq"],
        before,
        "nobody got it"
    );
    let reviewer = staff(&demo, "reviewer").await;
    let theirs = ok(reviewer.get("/api/office/mail").await).await;
    assert!(!theirs
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["subject"] == "大附件"));
    // Freeing space: trash then delete.
    ok(handler
        .post(
            &format!("/api/office/mail/{mine}/move"),
            json!({"action": "trash"}),
        )
        .await)
    .await;
    let r = handler
        .post(
            &format!("/api/office/mail/{mine}/move"),
            json!({"action": "burn"}),
        )
        .await;
    assert_eq!(error_code(r).await, "invalid_input");
    let u = ok(handler
        .post(
            &format!("/api/office/mail/{mine}/move"),
            json!({"action": "delete"}),
        )
        .await)
    .await;
    assert!(u["used"].as_i64().unwrap() < used);
    ok(leader
        .post(
            "/api/office/mail",
            json!({"to_users": ["handler"], "subject": "小", "body_html": "x".repeat(50)}),
        )
        .await)
    .await;
    // Malformed recipients.
    for bad in [
        json!({"to_users": ["nobody"], "subject": "x"}),
        json!({"subject": "x"}),
        json!({"to_groups": ["没有的组"], "subject": "x"}),
        json!({"to_users": ["handler"], "subject": "x", "body_html": "x".repeat(600 << 10)}),
    ] {
        let r = leader.post("/api/office/mail", bad.clone()).await;
        assert!(
            r.status() == 400 || r.status() == 413,
            "{}: {bad}",
            r.status()
        );
    }
}

#[tokio::test]
async fn rooms_take_back_to_back_bookings_but_not_overlapping_ones() {
    let demo = Demo::start();
    let leader = staff(&demo, "leader").await;
    let room = ok(leader
        .post(
            "/api/office/rooms",
            json!({"name": "小会议室", "location": "二楼", "capacity": 8}),
        )
        .await)
    .await;
    let book = |from: &str, to: &str| {
        leader.post("/api/office/meetings", json!({"room_id": room["id"], "title": "碰头会", "starts": from, "ends": to, "participants": ["handler"]}))
    };
    ok(book("2031-03-02 09:00", "2031-03-02 10:00").await).await;
    ok(book("2031-03-02 10:00", "2031-03-02 11:00").await).await;
    ok(book("2031-03-02 08:00", "2031-03-02 09:00").await).await;
    let r = book("2031-03-02 09:30", "2031-03-02 10:30").await;
    assert_eq!(r.status(), 409);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "room_busy");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("碰头会"),
        "{v}"
    );
    for (a, b) in [
        ("2031-03-02 11:00", "2031-03-02 10:00"),
        ("明天", "后天"),
        ("2031-03-02 12:00", "2031-03-04 12:00"),
    ] {
        let r = book(a, b).await;
        assert_eq!(error_code(r).await, "invalid_input", "{a}–{b}");
    }
    let r = staff(&demo, "handler")
        .await
        .post("/api/office/rooms", json!({"name": "私人", "capacity": 2}))
        .await;
    assert_eq!(error_code(r).await, "forbidden");
    let r = leader
        .post(
            "/api/office/rooms",
            json!({"name": "小会议室", "capacity": 2}),
        )
        .await;
    assert_eq!(error_code(r).await, "conflict");
    let mine = ok(staff(&demo, "handler")
        .await
        .get("/api/office/meetings")
        .await)
    .await;
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .filter(|m| m["title"] == "碰头会")
            .count()
            == 3,
        "participants see it"
    );
    let handler = staff(&demo, "handler").await;
    let home = handler.get("/").await.text().await.unwrap();
    assert!(
        home.contains("会议通知：2031-03-02 08:00 碰头会"),
        "invited: notified on the workbench"
    );
    assert_eq!(handler.get("/office/meetings").await.status(), 200);
    let home = handler.get("/").await.text().await.unwrap();
    assert!(
        !home.contains("会议通知：2031"),
        "seen: no longer a notification"
    );
}

#[tokio::test]
async fn the_workbench_gathers_what_waits_for_each_user() {
    let demo = Demo::start();
    let dept_head = staff(&demo, "dept_head").await;
    let home = dept_head.get("/").await.text().await.unwrap();
    assert!(
        home.contains("待拟办公文") && home.contains("森林防火工作的通知"),
        "document to sign"
    );
    assert!(
        home.contains("今日会议") && home.contains("森林防火工作调度会"),
        "today's meeting"
    );
    assert!(
        home.contains("未读邮件 1 封"),
        "unread mail (sent to their group)"
    );
    assert!(home.contains("未读公告：关于元旦放假安排的通知"));
    let handler = staff(&demo, "handler").await;
    let home = handler.get("/").await.text().await.unwrap();
    assert!(
        home.contains("督办事项：报送森林防火隐患排查台账"),
        "task due"
    );
    // Reading the notice clears it from the workbench and leaves a receipt.
    let notices = ok(handler.get("/api/office/notices").await).await;
    let n = &notices[0];
    let read = ok(handler
        .get(&format!("/api/office/notices/{}", n["id"]))
        .await)
    .await;
    assert_eq!(read["read"], true);
    assert_eq!(read["readers"], 1);
    let home = handler.get("/").await.text().await.unwrap();
    assert!(!home.contains("未读公告"));
    // The other pages render for staff.
    for page in [
        "/office/documents",
        "/office/documents?filter=open",
        "/office/archive?q=%E7%A7%8B%E7%B2%AE",
        "/office/mail",
        "/office/meetings",
        "/office/notices",
        "/office/contacts?q=%E5%91%A8",
        "/office/duty",
        "/office/tasks",
    ] {
        let r = handler.get(page).await;
        assert_eq!(r.status(), 200, "{page}");
    }
    let archive = handler
        .get("/office/archive?q=%E7%A7%8B%E7%B2%AE")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        archive.contains("关于秋粮收购工作的通知"),
        "the demo's archived document is found"
    );
    let r = handler.get("/office/documents?filter=everything").await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn the_smaller_parts_refuse_bad_input_and_enforce_their_order() {
    let demo = Demo::start();
    let leader = staff(&demo, "leader").await;
    let handler = staff(&demo, "handler").await;
    let admin = admin(&demo).await;
    let expect = |r: reqwest::Response, code: &'static str, what: &'static str| async move {
        assert_eq!(error_code(r).await, code, "{what}");
    };

    // Groups and document types.
    expect(
        leader
            .post("/api/office/groups", json!({"name": "空组", "members": []}))
            .await,
        "invalid_input",
        "empty group",
    )
    .await;
    expect(
        leader
            .post(
                "/api/office/groups",
                json!({"name": "组", "members": ["nobody"]}),
            )
            .await,
        "invalid_input",
        "unknown member",
    )
    .await;
    expect(
        handler
            .post(
                "/api/office/groups",
                json!({"name": "组", "members": ["handler"]}),
            )
            .await,
        "forbidden",
        "not a manager",
    )
    .await;
    expect(
        leader
            .post(
                "/api/office/doc-types",
                json!({"code": "x", "name": "x", "prefix": "x", "steps": []}),
            )
            .await,
        "forbidden",
        "admins only",
    )
    .await;
    expect(admin.post("/api/office/doc-types", json!({"code": "x", "name": "x", "prefix": "示政发", "steps": [{"kind": "办结", "user": "clerk"}]})).await, "conflict", "prefix taken").await;
    expect(admin.post("/api/office/doc-types", json!({"code": "x y", "name": "x", "prefix": "新", "steps": [{"kind": "办结", "user": "clerk"}]})).await, "invalid_input", "code").await;

    // Uploads.
    let raw = |name: &str, body: Vec<u8>| {
        handler
            .http
            .post(format!("{}/api/office/uploads", demo.office))
            .query(&[("name", name)])
            .header("x-csrf-token", handler.csrf.clone().unwrap())
            .body(body)
            .send()
    };
    expect(
        raw("a.txt", Vec::new()).await.unwrap(),
        "invalid_input",
        "empty upload",
    )
    .await;
    expect(
        raw("../../etc/passwd", b"x".to_vec()).await.unwrap(),
        "invalid_input",
        "path in name",
    )
    .await;
    let r = raw("big.bin", vec![0u8; (20 << 20) + 1]).await.unwrap();
    assert_eq!(r.status(), 413, "over 20 MiB");

    // Notices.
    let cat = ok(leader
        .post("/api/office/notice-categories", json!({"name": "紧急通知"}))
        .await)
    .await;
    expect(
        leader
            .post("/api/office/notice-categories", json!({"name": "紧急通知"}))
            .await,
        "conflict",
        "duplicate category",
    )
    .await;
    expect(
        handler
            .post("/api/office/notice-categories", json!({"name": "我的"}))
            .await,
        "forbidden",
        "category by staff",
    )
    .await;
    expect(
        handler
            .post(
                "/api/office/notices",
                json!({"category_id": cat["id"], "title": "x", "body": "x"}),
            )
            .await,
        "forbidden",
        "notice by staff",
    )
    .await;
    expect(
        leader
            .post(
                "/api/office/notices",
                json!({"category_id": 9999, "title": "x", "body": "x"}),
            )
            .await,
        "invalid_input",
        "unknown category",
    )
    .await;
    expect(
        leader
            .post(
                "/api/office/notices",
                json!({"category_id": cat["id"], "title": "", "body": "x"}),
            )
            .await,
        "invalid_input",
        "empty title",
    )
    .await;
    let n = ok(leader
        .post(
            "/api/office/notices",
            json!({"category_id": cat["id"], "title": "<b>停电</b>通知", "body": "今晚停电"}),
        )
        .await)
    .await;
    let page = handler
        .get(&format!("/office/notices/{}", n["id"]))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("&lt;b&gt;停电"), "shown as text");
    assert!(
        page.contains("阅读回执（1 人）"),
        "the receipt is recorded and shown"
    );

    // Contacts.
    expect(
        leader
            .post(
                "/api/office/contacts",
                json!({"department": "县政府办公室", "name": "张三", "office_phone": "call me"}),
            )
            .await,
        "invalid_input",
        "phone",
    )
    .await;
    expect(
        leader
            .post(
                "/api/office/contacts",
                json!({"department": "不存在的局", "name": "张三", "mobile": "13800000000"}),
            )
            .await,
        "invalid_input",
        "department",
    )
    .await;
    expect(
        leader
            .post(
                "/api/office/contacts",
                json!({"department": "县政府办公室", "name": "张三"}),
            )
            .await,
        "invalid_input",
        "no phone",
    )
    .await;
    ok(leader.post("/api/office/contacts", json!({"department": "县自然资源局", "name": "郑测绘", "title": "科员", "mobile": "138 0000 0001"})).await).await;
    let found = ok(handler
        .get("/api/office/contacts?q=%E8%87%AA%E7%84%B6%E8%B5%84%E6%BA%90")
        .await)
    .await;
    assert_eq!(found.as_array().unwrap().len(), 1, "found by unit: {found}");

    // Duty roster.
    expect(
        leader
            .post(
                "/api/office/duty",
                json!({"day": "2026-02-30", "shift": "白班", "username": "handler", "phone": "1"}),
            )
            .await,
        "invalid_input",
        "date",
    )
    .await;
    expect(
        leader
            .post(
                "/api/office/duty",
                json!({"day": "2030-01-02", "shift": "午班", "username": "handler", "phone": "1"}),
            )
            .await,
        "invalid_input",
        "shift",
    )
    .await;
    ok(leader
        .post(
            "/api/office/duty",
            json!({"day": "2030-01-02", "shift": "白班", "username": "handler", "phone": "1"}),
        )
        .await)
    .await;
    expect(
        leader
            .post(
                "/api/office/duty",
                json!({"day": "2030-01-02", "shift": "白班", "username": "handler", "phone": "1"}),
            )
            .await,
        "conflict",
        "twice",
    )
    .await;
    let roster = ok(handler
        .get("/api/office/duty?from=2030-01-01&to=2030-01-03")
        .await)
    .await;
    assert_eq!(roster.as_array().unwrap().len(), 1);
    expect(
        handler.get("/api/office/duty?from=yesterday").await,
        "invalid_input",
        "from",
    )
    .await;

    // Tasks.
    expect(
        handler
            .post(
                "/api/office/tasks",
                json!({"title": "x", "assignee": "handler", "due_on": "2030-01-01"}),
            )
            .await,
        "forbidden",
        "task by staff",
    )
    .await;
    expect(
        leader
            .post(
                "/api/office/tasks",
                json!({"title": "x", "assignee": "handler", "due_on": "2001-01-01"}),
            )
            .await,
        "invalid_input",
        "past due",
    )
    .await;
    expect(
        leader
            .post(
                "/api/office/tasks",
                json!({"title": "x", "assignee": "ghost", "due_on": "2030-01-01"}),
            )
            .await,
        "invalid_input",
        "assignee",
    )
    .await;
    let t = ok(leader
        .post(
            "/api/office/tasks",
            json!({"title": "核查台账", "assignee": "handler", "due_on": "2030-01-01"}),
        )
        .await)
    .await;
    let path = format!("/api/office/tasks/{}/progress", t["id"]);
    expect(
        leader
            .post(&path, json!({"percent": 50, "note": "x"}))
            .await,
        "forbidden",
        "not the assignee",
    )
    .await;
    expect(
        handler
            .post(&path, json!({"percent": 150, "note": "x"}))
            .await,
        "invalid_input",
        "percent",
    )
    .await;
    expect(
        handler
            .post(&path, json!({"percent": 50, "note": ""}))
            .await,
        "invalid_input",
        "note",
    )
    .await;
    ok(handler
        .post(&path, json!({"percent": 100, "note": "已核查"}))
        .await)
    .await;
    expect(
        handler
            .post(&path, json!({"percent": 100, "note": "again"}))
            .await,
        "out_of_order",
        "after done",
    )
    .await;

    // Meeting minutes: the organiser attaches an upload; others may not.
    let room = ok(leader
        .post(
            "/api/office/rooms",
            json!({"name": "纪要室", "capacity": 5}),
        )
        .await)
    .await;
    let m = ok(leader.post("/api/office/meetings", json!({"room_id": room["id"], "title": "周例会", "starts": "2030-01-02 09:00", "ends": "2030-01-02 10:00"})).await).await;
    let up = ok(leader
        .http
        .post(format!(
            "{}/api/office/uploads?name=minutes.txt",
            demo.office
        ))
        .header("x-csrf-token", leader.csrf.clone().unwrap())
        .body("纪要")
        .send()
        .await
        .unwrap())
    .await;
    let path = format!("/api/office/meetings/{}/minutes", m["id"]);
    expect(
        handler.post(&path, json!({"upload_id": up["id"]})).await,
        "forbidden",
        "not the organiser",
    )
    .await;
    let with = ok(leader.post(&path, json!({"upload_id": up["id"]})).await).await;
    assert_eq!(with["minutes"]["name"], "minutes.txt");
    expect(
        leader.post(&path, json!({"upload_id": 987654})).await,
        "invalid_input",
        "someone else's or no upload",
    )
    .await;

    // A page form with a missing field answers the error page, not a bare 422.
    let r = leader
        .http
        .post(format!("{}/office/meetings", demo.office))
        .form(&[("_csrf", leader.csrf.clone().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("表单内容有误"));
}

#[tokio::test]
async fn a_draft_saved_on_the_page_is_edited_and_sent_from_it() {
    let demo = Demo::start();
    let leader = staff(&demo, "leader").await;
    let form = |fields: Vec<(&'static str, String)>| {
        let mut all = vec![("_csrf", leader.csrf.clone().unwrap())];
        all.extend(fields);
        leader
            .http
            .post(format!("{}/office/mail", demo.office))
            .form(&all)
            .send()
    };
    let r = form(vec![
        ("to_users", "handler, reviewer".into()),
        ("subject", "草稿主题".into()),
        ("body_html", "<p>初稿</p>".into()),
        ("action", "draft".into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let drafts = ok(leader.get("/api/office/mail?folder=drafts").await).await;
    let id = drafts[0]["id"].as_i64().unwrap();
    let page = leader
        .get(&format!("/office/mail/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"edit-draft\"") && page.contains("value=\"handler, reviewer\""),
        "the draft opens for editing"
    );
    let r = form(vec![
        ("draft_id", id.to_string()),
        ("to_users", "handler".into()),
        ("subject", "定稿主题".into()),
        ("body_html", "<p>定稿</p>".into()),
        ("action", "send".into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    assert!(ok(leader.get("/api/office/mail?folder=drafts").await)
        .await
        .as_array()
        .unwrap()
        .is_empty());
    let handler = staff(&demo, "handler").await;
    let inbox = ok(handler.get("/api/office/mail").await).await;
    assert!(inbox
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["subject"] == "定稿主题"));
    let reviewer = staff(&demo, "reviewer").await;
    let inbox = ok(reviewer.get("/api/office/mail").await).await;
    assert!(
        !inbox
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["subject"] == "定稿主题"),
        "removed from the recipients before sending"
    );
    let r = form(vec![
        ("to_users", "handler".into()),
        ("subject", "x".into()),
        ("action", "shout".into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("send 或 draft"));
}

#[tokio::test]
async fn admins_define_types_and_routes_on_the_page() {
    let demo = Demo::start();
    let admin = admin(&demo).await;
    let post = |w: &Web, path: &str, fields: Vec<(&'static str, &'static str)>| {
        let mut all = vec![("_csrf", w.csrf.clone().unwrap())];
        all.extend(fields.into_iter().map(|(k, v)| (k, v.to_string())));
        w.http
            .post(format!("{}{path}", demo.office))
            .form(&all)
            .send()
    };
    let r = post(
        &admin,
        "/office/groups",
        vec![("name", "办公室"), ("members", "clerk，handler")],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let r = post(
        &admin,
        "/office/doc-types",
        vec![
            ("code", "qs"),
            ("name", "请示"),
            ("prefix", "示政请"),
            (
                "steps",
                "拟办 user dept_head\n批办 group 办公室 all\n\n办结 user clerk",
            ),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let page = admin.get("/office/doc-types").await.text().await.unwrap();
    assert!(
        page.contains("示政请〔年份〕N号") && page.contains("组 办公室（全部签）"),
        "listed with its route"
    );
    let types = ok(admin.get("/api/office/doc-types").await).await;
    let qs = types
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "qs")
        .unwrap();
    assert_eq!(qs["steps"][1]["mode"], "all");
    for (steps, says) in [
        ("拟办 dept_head", "第 1 行"),
        ("拟办 someone dept_head", "第 1 行"),
        ("办结 user clerk\n拟办 user clerk", "不能排在"),
        ("拟办 user clerk", "最后一步应为 办结"),
    ] {
        let r = post(
            &admin,
            "/office/doc-types",
            vec![
                ("code", "bad"),
                ("name", "坏"),
                ("prefix", "坏"),
                ("steps", steps),
            ],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 400, "{steps}");
        assert!(
            r.text().await.unwrap().contains(says),
            "{steps}: says {says}"
        );
    }
    let clerk = staff(&demo, "clerk").await;
    let r = post(
        &clerk,
        "/office/doc-types",
        vec![
            ("code", "x"),
            ("name", "x"),
            ("prefix", "x"),
            ("steps", "办结 user clerk"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let r = post(
        &clerk,
        "/office/groups",
        vec![("name", "x"), ("members", "clerk")],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    assert!(!ok(admin.get("/api/office/doc-types").await)
        .await
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["code"] == "bad" || t["code"] == "x"));
}
