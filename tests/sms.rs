//! SMS delivery through the real server to a real loopback HTTP gateway started here, which
//! records what it got and can fail or hang on the first requests.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{error_code, Demo, Web, ADMIN_PW};

#[derive(Default)]
struct Script {
    /// Answer 500 to this many requests first.
    fail_first: usize,
    /// Then hang (answer nothing) on this many, for `hang`.
    hang_first: usize,
    hang: Duration,
    /// Every request: when, and its JSON body.
    got: Vec<(Instant, serde_json::Value)>,
}

/// The numbers the tests send to.
const TEST_PHONES: [&str; 2] = ["13800138000", "13900139000"];

/// A loopback gateway on its own thread.
struct Gateway {
    url: String,
    script: Arc<Mutex<Script>>,
}

impl Gateway {
    fn start(script: Script) -> Gateway {
        Gateway::start_on(TcpListener::bind("127.0.0.1:0").unwrap(), script)
    }

    fn start_on(listener: TcpListener, script: Script) -> Gateway {
        let url = format!("http://{}/sms", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(script));
        let shared = script.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let shared = shared.clone();
                std::thread::spawn(move || answer(conn, &shared));
            }
        });
        Gateway { url, script }
    }

    fn requests(&self) -> Vec<(Instant, serde_json::Value)> {
        self.script.lock().unwrap().got.clone()
    }
}

fn answer(conn: std::net::TcpStream, script: &Mutex<Script>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    // The demo's own messages (cards its supervision sweep issues at start, for instance) are
    // delivered and left out of the script: each test scripts only the numbers it sends to.
    if !TEST_PHONES.contains(&body["phone"].as_str().unwrap_or_default()) {
        let mut conn = conn;
        let _ = write!(
            conn,
            "HTTP/1.1 200 X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
        );
        return;
    }
    let (n, status, hang) = {
        let mut s = script.lock().unwrap();
        s.got.push((Instant::now(), body));
        let n = s.got.len();
        let status = if n <= s.fail_first { 500 } else { 200 };
        let hang = (n > s.fail_first && n <= s.fail_first + s.hang_first).then_some(s.hang);
        (n, status, hang)
    };
    if let Some(h) = hang {
        std::thread::sleep(h);
        return;
    }
    let mut conn = conn;
    let _ = write!(
        conn,
        "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\nx-request: {n}\r\n\r\nok"
    );
}

/// A demo site in `dir` whose SMS go to `url`.
fn site_with_gateway(dir: &Path, url: &str, extra: &str) {
    let text = format!(
        "[site]\nid = \"demo-county\"\nname = \"示例县\"\ntier = \"county\"\nparent = \"demo-province\"\n\n\
         [listen]\nportal = \"127.0.0.1:0\"\noffice = \"127.0.0.1:0\"\nreplication = \"127.0.0.1:0\"\n\n\
         [storage]\ndata_dir = \"{}\"\npki_dir = \"{}\"\n\n\
         [sms]\ngateway = \"http\"\nurl = \"{url}\"\ntimeout_seconds = 1\nretry_max_seconds = 8\n{extra}",
        dir.join("data").display(),
        dir.join("pki").display()
    );
    std::fs::write(dir.join("site.toml"), text).unwrap();
}

async fn admin(demo: &Demo) -> Web {
    let mut web = Web::new(&demo.office);
    web.login("admin", ADMIN_PW).await;
    web
}

async fn queue(web: &Web, phone: &str) -> i64 {
    let r = web
        .post(
            "/api/sms/test",
            serde_json::json!({"phone": phone, "text": "您的办件 20261125-demo-county-000001 已办结"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn outbox(web: &Web) -> Vec<serde_json::Value> {
    web.get("/api/sms")
        .await
        .json::<Vec<serde_json::Value>>()
        .await
        .unwrap()
}

async fn wait_for(web: &Web, id: i64, status: &str, limit: Duration) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let rows = outbox(web).await;
        if let Some(r) = rows.iter().find(|r| r["id"] == id && r["status"] == status) {
            return r.clone();
        }
        assert!(start.elapsed() < limit, "sms {id} not {status}: {rows:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn retries_grow_and_the_message_arrives_once() {
    let gw = Gateway::start(Script {
        fail_first: 3,
        ..Script::default()
    });
    let dir = tempfile::tempdir().unwrap();
    site_with_gateway(dir.path(), &gw.url, "");
    let demo = Demo::start_in(dir.path());
    let web = admin(&demo).await;
    let id = queue(&web, "13800138000").await;
    let row = wait_for(&web, id, "sent", Duration::from_secs(30)).await;
    assert_eq!(row["attempts"], 4);
    assert!(row["last_error"].as_str().unwrap().contains("500"), "{row}");

    // Nothing more arrives for it once it was acknowledged.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = gw.requests();
    assert_eq!(got.len(), 4, "{got:?}");
    for (_, body) in &got {
        assert_eq!(body["id"], id);
        assert_eq!(body["phone"], "13800138000");
        assert_eq!(body["reference"], "test:admin");
        assert!(body["text"].as_str().unwrap().contains("已办结"));
    }
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].0 - w[0].0).collect();
    // Backoff steps of 1, 2 and 4 s, each between half and all of its step (plus polling).
    assert!(gaps[0] >= Duration::from_millis(450), "{gaps:?}");
    assert!(gaps[2] > gaps[0], "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(1950), "{gaps:?}");
}

#[tokio::test]
async fn a_hanging_gateway_times_out_and_does_not_block_writes() {
    let gw = Gateway::start(Script {
        hang_first: 1,
        hang: Duration::from_secs(6),
        ..Script::default()
    });
    let dir = tempfile::tempdir().unwrap();
    site_with_gateway(dir.path(), &gw.url, "");
    let demo = Demo::start_in(dir.path());
    let web = admin(&demo).await;
    let id = queue(&web, "13800138000").await;
    // While the gateway hangs, business writes go through at once.
    while gw.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let start = Instant::now();
    let r = web
        .post(
            "/api/departments",
            serde_json::json!({"name": "短信测试科", "parent_id": null, "kind": "unit"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let second = queue(&web, "13900139000").await;
    assert!(
        start.elapsed() < Duration::from_millis(800),
        "{:?}",
        start.elapsed()
    );

    let row = wait_for(&web, id, "sent", Duration::from_secs(20)).await;
    assert_eq!(row["attempts"], 2);
    assert!(
        row["last_error"]
            .as_str()
            .unwrap()
            .contains("1 秒内没有答复"),
        "{row}"
    );
    wait_for(&web, second, "sent", Duration::from_secs(20)).await;
}

#[tokio::test]
async fn a_down_gateway_keeps_messages_until_restart_and_then_delivers_them_once() {
    // Reserve a port, then leave it closed: the gateway is down.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/sms");
    let dir = tempfile::tempdir().unwrap();
    site_with_gateway(dir.path(), &url, "");
    let mut demo = Demo::start_in(dir.path());
    let web = admin(&demo).await;
    let id = queue(&web, "13800138000").await;
    let start = Instant::now();
    loop {
        let rows = outbox(&web).await;
        let r = rows.iter().find(|r| r["id"] == id).unwrap();
        assert_eq!(r["status"], "pending");
        if r["attempts"].as_i64().unwrap() >= 2 {
            assert!(
                r["last_error"].as_str().unwrap().contains("无法连接"),
                "{r}"
            );
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(demo.stop().success());

    let gw = Gateway::start_on(
        TcpListener::bind(("127.0.0.1", port)).unwrap(),
        Script::default(),
    );
    let demo = Demo::start_in(dir.path());
    let web = admin(&demo).await;
    wait_for(&web, id, "sent", Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let got = gw.requests();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1["id"], id);
}

#[tokio::test]
async fn after_max_attempts_a_message_is_failed_and_shown_to_admins_only() {
    let gw = Gateway::start(Script {
        fail_first: usize::MAX,
        ..Script::default()
    });
    let dir = tempfile::tempdir().unwrap();
    site_with_gateway(dir.path(), &gw.url, "max_attempts = 2\n");
    let demo = Demo::start_in(dir.path());
    let web = admin(&demo).await;
    let id = queue(&web, "13800138000").await;
    let row = wait_for(&web, id, "failed", Duration::from_secs(20)).await;
    assert_eq!(row["attempts"], 2);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(gw.requests().len(), 2, "no attempt after giving up");

    let html = web.get("/sms?status=failed").await.text().await.unwrap();
    assert!(html.contains("发送失败") && html.contains("HTTP 500") && html.contains("13800138000"));
    let failed: Vec<serde_json::Value> = web
        .get("/api/sms?status=failed")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    let metrics = web.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("govbox_sms_failed 1\n"), "{metrics}");
    assert!(metrics.contains("govbox_sms_pending 0\n"), "{metrics}");
    assert_eq!(
        error_code(web.get("/api/sms?status=bogus").await).await,
        "invalid_input"
    );

    let mut clerk = Web::new(&demo.office);
    clerk.login("clerk", &demo.staff_password()).await;
    assert_eq!(clerk.get("/sms").await.status(), 403);
    assert_eq!(error_code(clerk.get("/api/sms").await).await, "forbidden");
    let r = clerk
        .post(
            "/api/sms/test",
            serde_json::json!({"phone": "13800138000", "text": "x"}),
        )
        .await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn bad_messages_are_refused_and_nothing_is_queued() {
    let demo = Demo::start();
    let web = admin(&demo).await;
    // The demo's own messages (its supervision sweep's cards) may already be there.
    let ids =
        |rows: Vec<serde_json::Value>| rows.iter().map(|r| r["id"].clone()).collect::<Vec<_>>();
    let before = ids(outbox(&web).await);
    for (body, needle) in [
        (serde_json::json!({"phone": "12345", "text": "x"}), "12345"),
        (
            serde_json::json!({"phone": "23800138000", "text": "x"}),
            "23800138000",
        ),
        (
            serde_json::json!({"phone": "13800138000", "text": "字".repeat(501)}),
            "501",
        ),
        (
            serde_json::json!({"phone": "13800138000", "text": "  "}),
            "不能为空",
        ),
        (
            serde_json::json!({"phone": "13800138000", "text": "a\u{0007}b"}),
            "控制字符",
        ),
    ] {
        let r = web.post("/api/sms/test", body).await;
        assert_eq!(r.status(), 400);
        let v: serde_json::Value = r.json().await.unwrap();
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{msg} should name {needle}");
    }
    let r = web
        .post("/api/sms/test", serde_json::json!({"phone": 5}))
        .await;
    assert_eq!(error_code(r).await, "invalid_json");
    assert_eq!(ids(outbox(&web).await), before, "nothing queued");

    // The page form refuses the same way and keeps the input.
    let r = web
        .http
        .post(format!("{}/sms/test", demo.office))
        .form(&[
            ("_csrf", web.csrf.clone().unwrap()),
            ("phone", "110".to_string()),
            ("text", "测试".to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("手机号 &quot;110&quot; 无效") || html.contains("手机号 \"110\" 无效"),
        "{html}"
    );

    // With the default journal gateway a good message is "sent" to the log.
    let id = queue(&web, "13800138000").await;
    wait_for(&web, id, "sent", Duration::from_secs(10)).await;
}
