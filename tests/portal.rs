//! The public portal over HTTP against a real `govbox demo` process: the staff side on the
//! office listener, the public side on the portal listener, and the wall between them.

mod common;

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

/// POSTs an HTML form with the session's CSRF token, as the staff pages do.
async fn form(w: &Web, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let mut all: Vec<(&str, &str)> = vec![("_csrf", w.csrf.as_deref().unwrap())];
    all.extend_from_slice(fields);
    w.http
        .post(format!("{}{path}", w.base))
        .form(&all)
        .send()
        .await
        .unwrap()
}

async fn status(w: &Web, path: &str) -> u16 {
    w.get(path).await.status().as_u16()
}

async fn body(w: &Web, path: &str) -> String {
    let r = w.get(path).await;
    assert_eq!(r.status(), 200, "GET {path}");
    r.text().await.unwrap()
}

/// The `_csrf` value in a page's form.
fn token(html: &str) -> String {
    html.split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a form token")
        .to_string()
}

fn between<'a>(html: &'a str, before: &str, after: &str) -> &'a str {
    html.split(before)
        .nth(1)
        .and_then(|r| r.split(after).next())
        .unwrap_or_else(|| panic!("{before} … {after} not in page"))
}

const DRAFT: &[(&str, &str)] = &[
    ("title", "全县秋冬季森林防火工作部署会召开"),
    ("body", "## 会议要求\n\n各乡镇要落实**森林防火**责任。"),
    ("source", "县应急管理局"),
    ("author", "信息公开科"),
    ("collected_on", "2026-11-30"),
    ("collector", "郑编辑"),
    ("publish_at", ""),
];

/// How many portal requests were answered from rendered pages in memory.
async fn cache_hits(demo: &Demo) -> u64 {
    let m = Web::new(&demo.office)
        .get("/metrics")
        .await
        .text()
        .await
        .unwrap();
    m.lines()
        .find_map(|l| l.strip_prefix("govbox_portal_page_cache_total{result=\"hit\"} "))
        .expect("cache counter in /metrics")
        .parse()
        .unwrap()
}

/// The id of the column with `code`, from the staff API.
async fn column_id(w: &Web, code: &str) -> i64 {
    let cols = ok(w.get("/api/portal/columns").await).await;
    cols.as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn publishing_through_the_three_levels_on_the_staff_pages() {
    let demo = Demo::start();
    let public = Web::new(&demo.portal);
    let editor = staff(&demo, "editor").await;
    let chief = staff(&demo, "chief_editor").await;
    let general = staff(&demo, "general_editor").await;
    let news = column_id(&editor, "gzdt").await;
    let news_s = news.to_string();
    let mut fields = vec![("column_id", news_s.as_str())];
    fields.extend_from_slice(DRAFT);
    let r = form(&editor, "/cms/articles", &fields).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = to.rsplit('/').next().unwrap().parse().unwrap();
    let public_url = format!("/articles/{id}");
    assert_eq!(status(&public, &public_url).await, 404);

    // The chief editor cannot sign a draft that was not submitted; the editor submits.
    let r = form(&chief, &format!("/cms/articles/{id}/approve"), &[]).await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        form(&editor, &format!("/cms/articles/{id}/submit"), &[])
            .await
            .status(),
        303
    );
    assert!(body(&editor, &to).await.contains("待主编审核"));
    // The editor cannot sign, nor can the general editor skip the chief.
    assert_eq!(
        form(&editor, &format!("/cms/articles/{id}/approve"), &[])
            .await
            .status(),
        403
    );
    assert_eq!(
        form(&general, &format!("/cms/articles/{id}/approve"), &[])
            .await
            .status(),
        403
    );
    assert_eq!(
        form(&chief, &format!("/cms/articles/{id}/approve"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(status(&public, &public_url).await, 404);
    let page = public
        .get("/search?q=%E6%A3%AE%E6%9E%97%E9%98%B2%E7%81%AB")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains("部署会召开"),
        "not searchable before approval"
    );
    // The column page and the feed are now kept in memory; publishing must not leave the old
    // copies served.
    let hits = cache_hits(&demo).await;
    for _ in 0..2 {
        assert!(!body(&public, "/columns/gzdt").await.contains(&public_url));
        assert!(!body(&public, "/columns/gzdt/feed.xml")
            .await
            .contains(&public_url));
    }
    assert!(
        cache_hits(&demo).await >= hits + 2,
        "second reads from memory"
    );
    assert_eq!(
        form(&general, &format!("/cms/articles/{id}/approve"), &[])
            .await
            .status(),
        303
    );
    let page = public
        .get("/search?q=%E6%A3%AE%E6%9E%97%E9%98%B2%E7%81%AB")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("部署会召开"), "searchable once published");

    let page = body(&public, &public_url).await;
    assert!(page.contains("全县秋冬季森林防火工作部署会召开"));
    assert!(page.contains("<strong>森林防火</strong>"));
    let staff_page = body(&general, &to).await;
    assert!(staff_page.contains("已发布"));
    assert!(
        staff_page.contains("冯主编") && staff_page.contains("陈总编"),
        "signers kept"
    );
    assert!(body(&public, "/columns/gzdt").await.contains(&public_url));
    assert!(body(&public, "/columns/gzdt/feed.xml")
        .await
        .contains(&public_url));
    // Every step left its audit row.
    let general_roles = demo.audit_count();
    assert!(general_roles > 0);
}

#[tokio::test]
async fn sensitive_columns_wait_for_the_office_and_banned_words_are_named() {
    let demo = Demo::start();
    let editor = staff(&demo, "editor").await;
    let chief = staff(&demo, "chief_editor").await;
    let leader = staff(&demo, "leader").await;
    let speeches = column_id(&editor, "ldjh").await;
    let mut d = json!({"column_id": speeches, "title": "在乡村振兴推进会上的讲话", "body": "同志们：要远离赌 博 网站。",
        "source": "县政府办公室", "author": "周副县长", "collected_on": "2026-11-29", "collector": "郑编辑"});
    let a = ok(editor.post("/api/portal/articles", d.clone()).await).await;
    let id = a["article"]["id"].as_i64().unwrap();
    let r = editor
        .post(
            &format!("/api/portal/articles/{id}/review"),
            json!({"action": "submit"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "banned_words");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("赌博网站"),
        "{v}"
    );
    // Another department's column is refused to this editor.
    d["column_id"] = json!(column_id(&editor, "zrzy").await);
    let r = editor.post("/api/portal/articles", d).await;
    assert_eq!(error_code(r).await, "forbidden");

    let r = form(&editor, &format!("/cms/articles/{id}"), DRAFT).await;
    assert_eq!(r.status(), 303);
    let path = format!("/api/portal/articles/{id}/review");
    let r = editor.post(&path, json!({"action": "submit"})).await;
    assert_eq!(ok(r).await["state"], "office");
    let r = chief.post(&path, json!({"action": "approve"})).await;
    assert_eq!(error_code(r).await, "forbidden");
    let r = leader.post(&path, json!({"action": "approve"})).await;
    assert_eq!(ok(r).await["state"], "chief");
    let r = chief
        .post(
            &format!("/api/portal/articles/{id}/review"),
            json!({"action": "return", "reason": "标题再斟酌"}),
        )
        .await;
    assert_eq!(ok(r).await["state"], "draft");
    let detail = ok(editor.get(&format!("/api/portal/articles/{id}")).await).await;
    assert_eq!(detail["article"]["return_reason"], "标题再斟酌");
    assert_eq!(detail["versions"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn no_office_route_page_or_data_is_reachable_on_the_portal() {
    let demo = Demo::start();
    let public = Web::new(&demo.portal);
    let mut admin = Web::new(&demo.office);
    assert_eq!(admin.login("admin", ADMIN_PW).await.status(), 200);
    let doc: Value = admin.get("/api/openapi.json").await.json().await.unwrap();
    let general = staff(&demo, "general_editor").await;
    let mut paths: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    paths.extend(
        [
            "/login",
            "/logout",
            "/audit",
            "/users",
            "/metrics",
            "/calendar",
            "/sms",
            "/cms",
            "/cms/new?column=1",
            "/cms/articles/1",
            "/cms/banned",
            "/cms/inbox",
            "/cms/check",
            "/cms/columns",
            "/office/documents",
            "/office/archive",
            "/office/mail",
            "/office/notices",
            "/api/openapi.json",
            "/healthz",
        ]
        .map(String::from),
    );
    assert!(paths.len() > 60, "{}", paths.len());
    // The office session cookie means nothing on the portal.
    let cookie = format!("govbox_session={}", "0".repeat(64));
    for p in &paths {
        let url = format!(
            "{}{}",
            demo.portal,
            p.replace("{id}", "1")
                .replace("{username}", "admin")
                .replace("{hash}", "0")
        );
        let g = public
            .http
            .get(&url)
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(g.status(), 404, "GET {p} on the portal");
        let b = public
            .http
            .post(&url)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(
            matches!(b.status().as_u16(), 404 | 405),
            "POST {p} on the portal: {}",
            b.status()
        );
    }
    // The demo's draft waiting for the chief editor is nowhere on the portal.
    let waiting = "县融媒体中心开展政务公开培训";
    for p in [
        "/",
        "/columns/gzdt",
        "/columns/gzdt/feed.xml",
        "/search?q=%E6%94%BF%E5%8A%A1%E5%85%AC%E5%BC%80%E5%9F%B9%E8%AE%AD",
    ] {
        let page = body(&public, p).await;
        assert!(!page.contains(waiting), "{p} shows an unapproved draft");
    }
    let staff_side = body(&general, "/cms").await;
    assert!(
        staff_side.contains(waiting),
        "the draft exists on the office side"
    );
    // Only published articles have public ids; drafts' ids answer 404.
    let queue = ok(general.get("/api/portal/articles").await).await;
    let draft_id = queue
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == waiting)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    assert_eq!(status(&public, &format!("/articles/{draft_id}")).await, 404);
    // Staff pages show names and phones of askers; the public FAQ does not.
    let faq = body(&public, "/faq").await;
    assert!(faq.contains("营业执照") && !faq.contains("13800000000") && !faq.contains("张三"));
}

#[tokio::test]
async fn public_forms_need_their_token_are_limited_and_answer_with_the_code() {
    let demo = Demo::start();
    let citizen = Web::new(&demo.portal);
    let page = body(&citizen, "/ask").await;
    let t = token(&page);
    let dept = between(
        &page,
        "<option value=\"\">请选择</option>\n    <option value=\"",
        "\"",
    )
    .to_string();
    let ask = |tok: String, subject: &'static str| {
        let dept = dept.clone();
        let http = citizen.http.clone();
        let url = format!("{}/ask", citizen.base);
        async move {
            http.post(url)
                .form(&[
                    ("_csrf", tok.as_str()),
                    ("department_id", dept.as_str()),
                    ("name", "赵六"),
                    ("phone", "13912345678"),
                    ("subject", subject),
                    ("question", "社保卡丢了怎么补办？"),
                    ("consent", "1"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // No token, a wrong token, a token from another visitor: refused, nothing stored.
    let stranger = reqwest::Client::new();
    let r = stranger
        .post(format!("{}/ask", demo.portal))
        .form(&[("_csrf", t.as_str()), ("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(ask("f".repeat(64), "错误令牌").await.status(), 403);
    assert_eq!(ask(String::new(), "没有令牌").await.status(), 403);
    // Oversized: the portal's body limit answers before anything is parsed. On a connection of
    // its own: the server stops reading the body and closes it, which the client may see as a
    // broken pipe before it reads the 413.
    let huge = "字".repeat(100_000);
    let r = reqwest::Client::new()
        .post(format!("{}/ask", demo.portal))
        .form(&[("_csrf", t.as_str()), ("question", huge.as_str())])
        .send()
        .await;
    assert!(
        r.as_ref().map_or(true, |r| r.status() == 413),
        "over the request limit: {r:?}"
    );
    // A bad phone is named and the form comes back filled in.
    let r = citizen
        .http
        .post(format!("{}/ask", demo.portal))
        .form(&[
            ("_csrf", t.as_str()),
            ("department_id", dept.as_str()),
            ("name", "赵六"),
            ("phone", "12"),
            ("subject", "社保卡"),
            ("question", "怎么补办？"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let again = r.text().await.unwrap();
    assert!(
        again.contains("手机号码") && again.contains("value=\"赵六\""),
        "{again}"
    );

    let r = ask(t.clone(), "社保卡补办").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let receipt = r.text().await.unwrap();
    let number = between(&receipt, "<strong id=\"number\">", "<").to_string();
    let code = between(&receipt, "<strong id=\"code\">", "<").to_string();
    assert!(number.starts_with("ZX") && code.len() == 8);

    // The clerk's answer shows with the right code only.
    let general = staff(&demo, "general_editor").await;
    let inbox = body(&general, "/cms/inbox").await;
    assert!(inbox.contains(&number));
    let qid = between(&inbox, "/cms/consultations/", "/answer").to_string();
    let r = form(
        &general,
        &format!("/cms/consultations/{qid}/answer"),
        &[("text", "携带身份证到县社保中心窗口补办。")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let query = |n: String, c: String| {
        let http = citizen.http.clone();
        let url = format!("{}/query", citizen.base);
        let tok = t.clone();
        async move {
            http.post(url)
                .form(&[
                    ("_csrf", tok.as_str()),
                    ("number", n.as_str()),
                    ("code", c.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = query(number.clone(), code.clone()).await;
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("携带身份证到县社保中心窗口补办。"));
    let wrong = if code == "12345678" {
        "87654321"
    } else {
        "12345678"
    };
    for i in 0..10 {
        let (n, c) = if i % 2 == 0 {
            (number.clone(), wrong.to_string())
        } else {
            (format!("ZX20260101{i:06}"), code.clone())
        };
        let r = query(n, c).await;
        assert_eq!(r.status(), 404, "guess {i}");
        assert!(!r.text().await.unwrap().contains("携带身份证"));
    }
    // Throttled now, even with the right code, from this address.
    let r = query(number.clone(), code.clone()).await;
    assert_eq!(r.status(), 429);
    assert!(!r.text().await.unwrap().contains("携带身份证"));

    // Flood: 10 submissions per address per window, refused ones included; two were made above.
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(ask(t.clone(), "重复提交").await.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        8,
        "{statuses:?}"
    );
    assert_eq!(*statuses.last().unwrap(), 429);
    // Letters share the limit.
    let lt = token(&body(&citizen, "/letters").await);
    let r = citizen
        .http
        .post(format!("{}/letters", demo.portal))
        .form(&[
            ("_csrf", lt.as_str()),
            ("name", "赵六"),
            ("phone", "13912345678"),
            ("subject", "路灯"),
            ("body", "修路灯"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
}

#[tokio::test]
async fn attachments_are_checked_and_served_only_as_downloads() {
    let demo = Demo::start();
    let editor = staff(&demo, "editor").await;
    let chief = staff(&demo, "chief_editor").await;
    let general = staff(&demo, "general_editor").await;
    let public = Web::new(&demo.portal);
    let news = column_id(&editor, "tzgg").await;
    let a = ok(editor
        .post("/api/portal/articles", json!({"column_id": news, "title": "关于征求意见的公告", "body": "见附件。",
            "source": "县政府办公室", "author": "信息公开科", "collected_on": "2026-11-30", "collector": "郑编辑"}))
        .await)
    .await;
    let id = a["article"]["id"].as_i64().unwrap();
    let upload = |name: &str, bytes: Vec<u8>| {
        let url = format!("{}/api/portal/articles/{id}/files", editor.base);
        editor
            .http
            .post(url)
            .query(&[("name", name)])
            .header("x-csrf-token", editor.csrf.clone().unwrap())
            .header("content-type", "application/octet-stream")
            .body(bytes)
    };
    for (name, bytes) in [
        (
            "公告.html",
            b"<html><script>alert(1)</script></html>".to_vec(),
        ),
        ("图.svg", b"<svg onload=alert(1)></svg>".to_vec()),
        ("setup.exe", b"MZ\x90\x00".to_vec()),
        (
            "伪装.pdf",
            b"<!DOCTYPE html><script>alert(1)</script>".to_vec(),
        ),
        ("伪装.pdf", b"\x7fELF\x02\x01\x01".to_vec()),
        ("x.pdf.exe", b"%PDF-1.4".to_vec()),
        ("空.pdf", Vec::new()),
    ] {
        let r = upload(name, bytes).send().await.unwrap();
        assert_eq!(r.status(), 400, "{name}");
    }
    let r = upload("大.pdf", vec![b'%'; (10 << 20) + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let f = ok(upload("../../征求意见稿\".pdf", b"%PDF-1.7 demo".to_vec())
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(f["name"], "征求意见稿_.pdf");
    let hash = f["hash"].as_str().unwrap().to_string();
    let detail = ok(editor.get(&format!("/api/portal/articles/{id}")).await).await;
    assert_eq!(detail["article"]["files"].as_array().unwrap().len(), 1);

    for (w, action) in [
        (&editor, "submit"),
        (&chief, "approve"),
        (&general, "approve"),
    ] {
        ok(w.post(
            &format!("/api/portal/articles/{id}/review"),
            json!({"action": action}),
        )
        .await)
        .await;
    }
    let page = body(&public, &format!("/articles/{id}")).await;
    let href = format!("/files/{}", between(&page, "href=\"/files/", "\""));
    assert!(href.ends_with(&hash));
    let r = public.get(&href).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "application/octet-stream");
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .contains("filename*=UTF-8''"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"%PDF-1.7 demo");
    // A blob not attached to this public version is not served, whatever its hash.
    let other = href.replace(&hash, &"a".repeat(64));
    assert_eq!(status(&public, &other).await, 404);
    assert_eq!(status(&public, "/files/1/..%2F..%2Fgovbox.db").await, 404);
}

#[tokio::test]
async fn content_pages_are_cacheable_accessible_and_carry_the_icp_number() {
    let demo = Demo::start();
    let public = Web::new(&demo.portal);
    for p in ["/", "/columns/tzgg", "/articles/1", "/faq"] {
        let r = public.get(p).await;
        assert_eq!(r.status(), 200, "{p}");
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let last = r.headers()["last-modified"].to_str().unwrap().to_string();
        let html = r.text().await.unwrap();
        assert!(html.contains("示ICP备00000000号-1"), "{p}: footer");
        assert!(html.contains("<html lang=\"zh-CN\">") && html.contains("name=\"viewport\""));
        assert!(
            html.contains("<main id=\"main\"") && html.contains("href=\"#main\""),
            "skip link"
        );
        assert!(
            !html.contains("http://") && !html.contains("https://") || p != "/",
            "no third-party resources"
        );
        let r = public
            .http
            .get(format!("{}{p}", demo.portal))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{p}");
        let r = public
            .http
            .get(format!("{}{p}", demo.portal))
            .header("if-modified-since", &last)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{p}");
        // The same validators from memory.
        let r = public
            .http
            .get(format!("{}{p}", demo.portal))
            .header("if-none-match", format!("W/{etag}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{p}: weak match");
        assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
        let again = public.get(p).await;
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag, "{p}");
        assert!(
            again.headers().contains_key("x-content-type-options"),
            "{p}: security headers on a page from memory"
        );
        assert_eq!(again.text().await.unwrap(), html, "{p}: same bytes");
    }
    // A form page carries its own token cookie: never kept, so two visitors never share one.
    let a = public.get("/ask").await;
    let b = public.get("/ask").await;
    assert_ne!(
        a.headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_string()),
        b.headers()
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_string())
    );
    // Every form field has a label.
    for p in ["/ask", "/letters", "/query"] {
        let html = body(&public, p).await;
        for id in html
            .split(" id=\"")
            .skip(1)
            .filter_map(|r| r.split('"').next())
        {
            if ["main", "q"].contains(&id) {
                continue;
            }
            if html.contains(&format!("<input id=\"{id}\""))
                || html.contains(&format!("<textarea id=\"{id}\""))
                || html.contains(&format!("<select id=\"{id}\""))
                || html.contains(&format!("type=\"checkbox\" id=\"{id}\""))
            {
                assert!(
                    html.contains(&format!("for=\"{id}\"")),
                    "{p}: #{id} has no label"
                );
            }
        }
    }
    let r = public.get("/columns/tzgg/feed.xml").await;
    assert_eq!(
        r.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let feed = r.text().await.unwrap();
    assert!(
        feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\"") && feed.contains("<entry>")
    );
    assert_eq!(status(&public, "/columns/nope").await, 404);
    assert_eq!(status(&public, "/columns/tzgg?page=999").await, 404);
    assert_eq!(status(&public, "/articles/abc").await, 400);
    let r = public.get("/search?q=%E6%94%BE%E5%81%87").await;
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("关于2026年元旦放假安排的通知"));
}

/// A multipart application for the demo's item JB-001 (个体工商户变更登记, 即办件).
fn application(token: &str, files: Vec<(&str, &'static str, Vec<u8>)>) -> reqwest::multipart::Form {
    let mut f = reqwest::multipart::Form::new()
        .text("_csrf", token.to_string())
        .text("applicant_kind", "person")
        .text("applicant_name", "孙八")
        .text("applicant_id_no", "11010519491231002X")
        .text("applicant_phone", "13800002222")
        .text("description", "开一家小超市");
    for (field, name, bytes) in files {
        f = f.part(
            field.to_string(),
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        );
    }
    f
}

#[tokio::test]
async fn service_guides_online_application_and_complaints_answer_with_their_codes() {
    let demo = Demo::start();
    let citizen = Web::new(&demo.portal);
    let list = body(&citizen, "/guides?q=%E4%B8%AA%E4%BD%93").await;
    assert!(list.contains("/guides/JB-001"), "searchable by name");
    let none = body(&citizen, "/guides?q=%E4%B8%8D%E5%AD%98%E5%9C%A8").await;
    assert!(!none.contains("/guides/JB-001"));
    let guide = body(&citizen, "/guides/CN-001").await;
    for part in [
        "食品经营许可申请书",
        "《中华人民共和国食品安全法》",
        "县行政服务中心一楼 3 号窗口",
        "0851-8322 1234",
        "法定 20 个工作日",
        "证照工本费：10.00 元/件",
    ] {
        assert!(guide.contains(part), "guide shows {part}");
    }
    assert_eq!(status(&citizen, "/guides/NOPE").await, 404);
    assert_eq!(
        status(&citizen, &format!("/guides/files/{}", "a".repeat(64))).await,
        404
    );

    let form = body(&citizen, "/apply/JB-001").await;
    let t = token(&form);
    let post = |f: reqwest::multipart::Form| {
        citizen
            .http
            .post(format!("{}/apply/JB-001", demo.portal))
            .multipart(f)
            .send()
    };
    // Without the visitor's token: refused before anything is stored.
    let r = reqwest::Client::new()
        .post(format!("{}/apply/JB-001", demo.portal))
        .multipart(application(&t, vec![("m0", "a.pdf", b"%PDF-1.4".to_vec())]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    for (name, bytes) in [
        ("申请书.html", b"<p>hi</p>".to_vec()),
        (
            "申请书.pdf",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec(),
        ),
        ("申请书.exe", b"MZ\x90\x00".to_vec()),
    ] {
        let r = post(application(&t, vec![("m0", name, bytes)]))
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{name}");
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("个体工商户变更登记申请书："),
            "{name}: the material is named"
        );
    }
    let blobs = demo.dir.join("data/blobs");
    let before = std::fs::read_dir(&blobs).map(|d| d.count()).unwrap_or(0);
    let r = post(application(
        &t,
        vec![("m0", "大.pdf", vec![b'%'; (10 << 20) + 1])],
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 400, "over the per-file limit");
    assert_eq!(
        std::fs::read_dir(&blobs).map(|d| d.count()).unwrap_or(0),
        before,
        "nothing stored"
    );
    // On a connection of its own: the server stops reading an oversized body and closes it.
    let r = reqwest::Client::new()
        .post(format!("{}/apply/JB-001", demo.portal))
        .multipart(application(
            &t,
            vec![("m0", "大.pdf", vec![b'%'; 40 << 20])],
        ))
        .send()
        .await;
    assert!(
        r.map_or(true, |r| r.status() == 413),
        "over the request limit"
    );

    let r = post(application(
        &t,
        vec![
            ("m0", "../申请书.pdf", b"%PDF-1.4 ok".to_vec()),
            ("m1", "身份证.jpg", b"\xff\xd8\xff\xe0 jpeg".to_vec()),
        ],
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let receipt = r.text().await.unwrap();
    let number = between(&receipt, "<strong id=\"number\">", "<").to_string();
    let code = between(&receipt, "<strong id=\"code\">", "<").to_string();
    assert!(number.starts_with("WS"), "{number}");
    let query = |n: &str, c: &str| {
        citizen
            .http
            .post(format!("{}/query", demo.portal))
            .form(&[("_csrf", t.as_str()), ("number", n), ("code", c)])
            .send()
    };
    let page = query(&number, &code).await.unwrap().text().await.unwrap();
    assert!(
        page.contains("待预审") && page.contains("个体户变更登记"),
        "{page}"
    );

    let cform = body(&citizen, "/complaints").await;
    let ct = token(&cform);
    let r = citizen
        .http
        .post(format!("{}/complaints", demo.portal))
        .form(&[
            ("_csrf", ct.as_str()),
            ("category", "办事效率"),
            ("target", "县行政服务中心 3 号窗口"),
            ("name", "孙八"),
            ("phone", "13800002222"),
            ("body", "排队两小时无人办理。"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let receipt = r.text().await.unwrap();
    let cnumber = between(&receipt, "<strong id=\"number\">", "<").to_string();
    let ccode = between(&receipt, "<strong id=\"code\">", "<").to_string();
    assert!(cnumber.starts_with("TS"), "{cnumber}");
    let page = query(&cnumber, &ccode).await.unwrap().text().await.unwrap();
    assert!(
        page.contains("网上投诉") && page.contains("办事效率"),
        "{page}"
    );
    let r = citizen
        .http
        .post(format!("{}/complaints", demo.portal))
        .form(&[
            ("_csrf", ct.as_str()),
            ("category", "随便"),
            ("target", "x"),
            ("name", "x"),
            ("phone", "13800002222"),
            ("body", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Guessed codes for an application: refused alike, then throttled even for the right one.
    for i in 0..10 {
        let guess = format!("{:08}", 10_000_000 + i);
        let r = query(&number, if guess == code { "99999999" } else { &guess })
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    let r = query(&number, &code).await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(!r.text().await.unwrap().contains("个体户变更登记"));
}
