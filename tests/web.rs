//! The real server on 127.0.0.1: sign-in, throttling, CSRF, listener isolation, the audit trail.

mod common;

use common::{error_code, govbox, text, Demo, Web, ADMIN_PW};
use serde_json::json;

#[tokio::test]
async fn login_good_bad_and_throttled() {
    let demo = Demo::start();
    let mut web = Web::new(&demo.office);
    let me = web.login("admin", ADMIN_PW).await;
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["user"]["username"], "admin");

    let mut other = Web::new(&demo.office);
    let bad = other.login("clerk", "wrong-password-1").await;
    assert_eq!(bad.status(), 401);
    assert_eq!(error_code(bad).await, "bad_credentials");
    let nobody = other.login("nobody", "wrong-password-1").await;
    assert_eq!(nobody.status(), 401);

    for _ in 0..4 {
        assert_eq!(other.login("clerk", "wrong-password-1").await.status(), 401);
    }
    let right_but_throttled = other.login("clerk", &demo.staff_password()).await;
    assert_eq!(right_but_throttled.status(), 429);
    assert!(right_but_throttled.headers().contains_key("retry-after"));
    assert_eq!(error_code(right_but_throttled).await, "throttled");
    // Another user from the same address is not locked by clerk's failures alone.
    assert_eq!(
        other
            .login("handler", &demo.staff_password())
            .await
            .status(),
        200
    );

    let unauth = Web::new(&demo.office).get("/api/me").await;
    assert_eq!(unauth.status(), 401);
    assert_eq!(error_code(unauth).await, "unauthenticated");
}

#[tokio::test]
async fn form_login_sets_a_strict_httponly_cookie_and_needs_its_form_token() {
    let demo = Demo::start();
    let web = Web::new(&demo.office);
    let page = web.get("/login").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let token = html
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let form = [("username", "admin"), ("password", ADMIN_PW)];
    let no_token = web
        .http
        .post(format!("{}/login", demo.office))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    let ok = web
        .http
        .post(format!("{}/login", demo.office))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PW),
            ("_csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    let cookie = ok
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("govbox_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let home = web.get("/").await;
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(html.contains("工作台") && html.contains("系统管理员"));

    let anonymous = Web::new(&demo.office).get("/").await;
    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()["location"], "/login");
}

#[tokio::test]
async fn state_change_without_csrf_token_is_refused_and_audited() {
    let demo = Demo::start();
    let mut web = Web::new(&demo.office);
    web.login("admin", ADMIN_PW).await;
    let before = demo.audit_count();
    let body = json!({"name": "测试科", "parent_id": 1, "kind": "office"});
    let r = web
        .post_without_csrf("/api/departments", body.clone())
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(error_code(r).await, "csrf");
    let mut wrong = web
        .http
        .post(format!("{}/api/departments", demo.office))
        .json(&body);
    wrong = wrong.header("x-csrf-token", "0".repeat(64));
    assert_eq!(wrong.send().await.unwrap().status(), 403);
    // A form post to a page route without the token is refused too.
    let form = web
        .http
        .post(format!("{}/logout", demo.office))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 403);
    assert_eq!(demo.audit_count(), before + 3);
    let list = web.get("/api/audit?outcome=refused&limit=3").await;
    let rows: serde_json::Value = list.json().await.unwrap();
    assert_eq!(rows[0]["actor"], "admin");
    assert_eq!(rows[0]["outcome"], "refused");
    // Nothing was created.
    let depts: serde_json::Value = web.get("/api/departments").await.json().await.unwrap();
    assert!(!depts
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["name"] == "测试科"));
    // With the token it works.
    assert_eq!(web.post("/api/departments", body).await.status(), 201);
}

#[tokio::test]
async fn office_routes_are_not_on_the_portal_listener() {
    let demo = Demo::start();
    let portal = Web::new(&demo.portal);
    assert_eq!(portal.get("/").await.status(), 200);
    assert_eq!(portal.get("/static/app.css").await.status(), 200);
    for path in [
        "/login",
        "/audit",
        "/api/me",
        "/api/users",
        "/api/audit",
        "/api/openapi.json",
        "/metrics",
        "/healthz",
    ] {
        assert_eq!(
            portal.get(path).await.status(),
            404,
            "{path} reachable on the portal"
        );
    }
    let post = portal
        .post_without_csrf(
            "/api/login",
            json!({"username": "admin", "password": ADMIN_PW}),
        )
        .await;
    assert_eq!(post.status(), 404);
    let office = Web::new(&demo.office);
    assert_eq!(office.get("/healthz").await.status(), 200);
    let metrics = office.get("/metrics").await.text().await.unwrap();
    for name in [
        "govbox_http_requests_total{listener=\"office\",route=\"/healthz\",status=\"200\"}",
        "govbox_http_request_duration_seconds_bucket",
        "govbox_db_size_bytes",
        "govbox_change_seq",
    ] {
        assert!(metrics.contains(name), "metrics lack {name}");
    }
}

#[tokio::test]
async fn every_mutating_call_writes_one_audit_row_and_the_chain_verifies() {
    let demo = Demo::start();
    let mut web = Web::new(&demo.office);
    let mut count = demo.audit_count();
    let mut expect_one_more = |what: &str| {
        let now = demo.audit_count();
        assert_eq!(now, count + 1, "{what} must add exactly one audit row");
        count = now;
    };
    web.login("admin", ADMIN_PW).await;
    expect_one_more("login");
    let r = web
        .post(
            "/api/departments",
            json!({"name": "农业农村局", "parent_id": 1, "kind": "unit"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let dept: serde_json::Value = r.json().await.unwrap();
    expect_one_more("department add");
    let r = web
        .post(
            "/api/users",
            json!({"username": "liu", "display_name": "刘六", "password": "Rice-field-2026",
                   "roles": [{"role": "handler", "department_id": dept["id"]}]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    expect_one_more("user add");
    let weak = web
        .post(
            "/api/users",
            json!({"username": "wu", "display_name": "吴", "password": "123",
                   "roles": [{"role": "handler", "department_id": 1}]}),
        )
        .await;
    assert_eq!(weak.status(), 400);
    assert_eq!(error_code(weak).await, "weak_password");
    expect_one_more("refused user add");
    let dup = web
        .post(
            "/api/users",
            json!({"username": "LIU", "display_name": "刘", "password": "Rice-field-2027",
                   "roles": [{"role": "handler", "department_id": 1}]}),
        )
        .await;
    assert_eq!(dup.status(), 409);
    expect_one_more("duplicate user add");
    let r = web
        .post(
            "/api/users/liu/password",
            json!({"password": "Wheat-field-2026"}),
        )
        .await;
    assert_eq!(r.status(), 204);
    expect_one_more("password set");
    let mut liu = Web::new(&demo.office);
    assert_eq!(liu.login("liu", "Wheat-field-2026").await.status(), 200);
    expect_one_more("liu login");
    let forbidden = liu.post("/api/users/clerk/disable", json!({})).await;
    assert_eq!(forbidden.status(), 403);
    assert_eq!(error_code(forbidden).await, "forbidden");
    expect_one_more("forbidden disable");
    assert_eq!(
        web.post("/api/users/liu/disable", json!({})).await.status(),
        200
    );
    expect_one_more("disable");
    assert_eq!(
        liu.get("/api/me").await.status(),
        401,
        "disabling ends sessions"
    );
    assert_eq!(web.post("/api/logout", json!({})).await.status(), 204);
    expect_one_more("logout");
    assert_eq!(web.get("/api/me").await.status(), 401);

    let out = govbox(&["audit", "verify", "--config", &demo.config_str()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("校验通过"));
}

#[tokio::test]
async fn auditors_browse_the_log_and_others_cannot() {
    let demo = Demo::start();
    let mut auditor = Web::new(&demo.office);
    assert_eq!(
        auditor
            .login("auditor", &demo.staff_password())
            .await
            .status(),
        200
    );
    let page = auditor.get("/audit?action=login&outcome=ok").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("审计日志") && html.contains("auditor"));
    let rows: serde_json::Value = auditor
        .get("/api/audit?actor=auditor&action=login")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    let bad = auditor.get("/api/audit?limit=many").await;
    assert_eq!(bad.status(), 400);
    assert_eq!(error_code(bad).await, "invalid_query");

    let mut clerk = Web::new(&demo.office);
    clerk.login("clerk", &demo.staff_password()).await;
    assert_eq!(clerk.get("/api/audit").await.status(), 403);
    assert_eq!(clerk.get("/audit").await.status(), 403);
    // The product offers no way to change the log: no route takes a write to it.
    let del = clerk
        .http
        .delete(format!("{}/api/audit", demo.office))
        .header("x-csrf-token", clerk.csrf.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 405);
}

#[tokio::test]
async fn malformed_oversized_and_hostile_json_get_clear_errors() {
    let demo = Demo::start();
    let mut web = Web::new(&demo.office);
    web.login("admin", ADMIN_PW).await;
    let csrf = web.csrf.clone().unwrap();
    let raw = |body: Vec<u8>, ct: &'static str| {
        web.http
            .post(format!("{}/api/departments", demo.office))
            .header("x-csrf-token", csrf.clone())
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = raw(b"{\"name\": ".to_vec(), "application/json")
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "invalid_json");
    let r = raw(
        b"{\"name\": 5, \"kind\": \"unit\"}".to_vec(),
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400, "a wrong type is bad input");
    assert_eq!(error_code(r).await, "invalid_json");
    let r = raw(b"name=x".to_vec(), "text/plain").await.unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(error_code(r).await, "unsupported_media_type");
    let big = format!(
        "{{\"name\": \"{}\", \"kind\": \"unit\"}}",
        "x".repeat(2 << 20)
    );
    // From a client of its own: the server refuses the body without reading it and closes that
    // connection, which must not be one a later request of this test reuses.
    let mut lone = Web::new(&demo.office);
    lone.login("admin", ADMIN_PW).await;
    let r = lone
        .http
        .post(format!("{}/api/departments", demo.office))
        .header("x-csrf-token", lone.csrf.clone().unwrap())
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(error_code(r).await, "payload_too_large");
    let r = web
        .post(
            "/api/departments",
            json!({"name": "", "parent_id": null, "kind": "unit"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "invalid_input");
    let r = web
        .post(
            "/api/departments",
            json!({"name": "<script>alert(1)</script>", "parent_id": 999, "kind": "unit"}),
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = web
        .post("/api/users", json!({"username": "../../etc", "display_name": "x", "password": "Rice-field-2026", "roles": []}))
        .await;
    assert_eq!(error_code(r).await, "invalid_input");
    let r = web.get("/api/nothing-here").await;
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "not_found");
}

#[tokio::test]
async fn demo_reuses_its_data_dir() {
    let temp = tempfile::tempdir().unwrap();
    let mut first = Demo::start_in(temp.path());
    assert!(first.stdout.iter().any(|l| l.contains("已创建")));
    let staff = first.staff_password();
    assert!(first.stop().success());
    let second = Demo::start_in(temp.path());
    assert!(second.stdout.iter().any(|l| l.contains("已重新启动")));
    assert_eq!(second.staff_password(), staff);
    let mut web = Web::new(&second.office);
    assert_eq!(web.login("supervisor", &staff).await.status(), 200);
    let users: Vec<serde_json::Value> = {
        let mut admin = Web::new(&second.office);
        admin.login("admin", ADMIN_PW).await;
        admin.get("/api/users").await.json().await.unwrap()
    };
    assert_eq!(
        users.len(),
        13,
        "admin, one user per other role and the approval demo's auxiliary handler, not seeded twice"
    );
}

#[tokio::test]
async fn a_demo_makes_its_certificate_in_its_own_dir_and_never_outside_it() {
    let temp = tempfile::tempdir().unwrap();
    let own = temp.path().join("own");
    let mut demo = Demo::start_in(&own);
    assert!(own.join("pki/site.crt").is_file());
    assert!(own.join("ca/ca.crt").is_file());
    assert!(demo.stop().success());

    // A hand-written site file reused by the demo, its pki_dir elsewhere (as the default,
    // /etc/govbox/pki, is): the demo serves, and writes no key there.
    let reused = temp.path().join("reused");
    let elsewhere = temp.path().join("etc-govbox/pki");
    std::fs::create_dir(&reused).unwrap();
    std::fs::write(
        reused.join("site.toml"),
        format!(
            "[site]\nid = \"demo-county\"\nname = \"示例县\"\ntier = \"county\"\nparent = \"demo-province\"\n\n\
             [listen]\nportal = \"127.0.0.1:0\"\noffice = \"127.0.0.1:0\"\nreplication = \"127.0.0.1:0\"\n\n\
             [storage]\ndata_dir = \"{}\"\npki_dir = \"{}\"\n",
            reused.join("data").display(),
            elsewhere.display()
        ),
    )
    .unwrap();
    let demo = Demo::start_in(&reused);
    let mut web = Web::new(&demo.office);
    assert_eq!(web.login("admin", ADMIN_PW).await.status(), 200);
    assert!(
        !temp.path().join("etc-govbox").exists(),
        "the demo wrote into {}",
        elsewhere.display()
    );
}

#[tokio::test]
async fn admins_manage_accounts_from_the_users_page() {
    let demo = Demo::start();
    let mut admin = Web::new(&demo.office);
    admin.login("admin", ADMIN_PW).await;
    let csrf = admin.csrf.clone().unwrap();
    let page = admin.get("/users").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("窗口人员"));
    let form = |extra: &[(&str, &str)]| {
        let mut f = vec![
            ("_csrf", csrf.as_str()),
            ("username", "zhouqi"),
            ("display_name", "周七"),
            ("role", "clerk"),
            ("department_id", "1"),
        ];
        f.extend_from_slice(extra);
        f.into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    let before = demo.audit_count();
    let weak = admin
        .http
        .post(format!("{}/users", demo.office))
        .form(&form(&[("password", "123")]))
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), 400);
    assert!(weak.text().await.unwrap().contains("密码不符合要求"));
    assert_eq!(demo.audit_count(), before + 1, "a refused add is audited");
    let added = admin
        .http
        .post(format!("{}/users", demo.office))
        .form(&form(&[("password", "")]))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let html = added.text().await.unwrap();
    let password = html
        .split("初始密码（只显示这一次）: ")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("generated password shown once")
        .to_string();
    assert_eq!(demo.audit_count(), before + 2);
    let mut zhou = Web::new(&demo.office);
    assert_eq!(zhou.login("zhouqi", &password).await.status(), 200);
    assert_eq!(
        zhou.get("/users").await.status(),
        403,
        "only admins manage accounts"
    );

    let reset = admin
        .http
        .post(format!("{}/users/zhouqi/reset", demo.office))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(reset
        .text()
        .await
        .unwrap()
        .contains("新密码（只显示这一次）"));
    assert_eq!(
        zhou.get("/api/me").await.status(),
        401,
        "a reset ends the user's sessions"
    );
    let disabled = admin
        .http
        .post(format!("{}/users/zhouqi/disable", demo.office))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(disabled.text().await.unwrap().contains("已停用用户 zhouqi"));
    assert_eq!(
        demo.audit_count(),
        before + 5,
        "weak, add, sign-in, reset, disable"
    );
    let verify = govbox(&["audit", "verify", "--config", &demo.config_str()]);
    assert!(verify.status.success(), "{}", text(&verify));
}

/// Sessions are kept in memory for a moment; a user disabled by another process (the CLI)
/// is still signed out within that moment, and one disabled through the office at once.
#[tokio::test]
async fn a_user_disabled_from_the_command_line_is_signed_out_within_seconds() {
    let demo = Demo::start();
    let mut clerk = Web::new(&demo.office);
    assert_eq!(
        clerk.login("clerk", &demo.staff_password()).await.status(),
        200
    );
    assert_eq!(clerk.get("/api/me").await.status(), 200);
    assert_eq!(clerk.get("/api/me").await.status(), 200);
    let out = govbox(&["user", "disable", "clerk", "--config", &demo.config_str()]);
    assert!(out.status.success(), "{}", text(&out));
    let start = std::time::Instant::now();
    while clerk.get("/api/me").await.status() == 200 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(3),
            "still signed in 3 s after the disable"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut handler = Web::new(&demo.office);
    handler.login("handler", &demo.staff_password()).await;
    assert_eq!(handler.get("/api/me").await.status(), 200);
    let mut admin = Web::new(&demo.office);
    admin.login("admin", ADMIN_PW).await;
    assert_eq!(
        admin
            .post("/api/users/handler/disable", json!({}))
            .await
            .status(),
        200
    );
    assert_eq!(
        handler.get("/api/me").await.status(),
        401,
        "disabled through the office: at once"
    );
}
