//! The office and portal pages in a real headless Chromium, driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`, installed by tests/run.sh).

mod common;
mod supervision_support;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Demo, ADMIN_PW};
use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    child: Child,
    http: reqwest::Client,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

/// chromedriver runs in its own process group with the browsers it starts, so killing the
/// group on drop leaves nothing behind, also when a test fails half-way.
impl Drop for Driver {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver) must be installed");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--disable-quic",
                         "--window-size=1280,900",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_string();
        Driver {
            child,
            http,
            base,
            session,
            _profile: profile,
        }
    }

    /// Ends the WebDriver session, which closes the browser cleanly.
    async fn quit(self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("WebDriver {path}: {v}");
        }
        v["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn title(&self) -> String {
        self.call(reqwest::Method::GET, "/title", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Waits (bounded) for a navigation started by a click to land on the page titled `want`.
    async fn wait_title(&self, want: &str) {
        let mut seen = String::new();
        for _ in 0..100 {
            seen = self.title().await;
            if seen == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected the page {want:?}, still on {seen:?}");
    }

    /// Waits (bounded) for an element to appear and returns its text.
    async fn wait_text(&self, css: &str) -> String {
        let script =
            format!("const e = document.querySelector({css:?}); return e ? e.innerText : null");
        for _ in 0..100 {
            if let Value::String(text) = self.eval(&script).await {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never appeared");
    }

    async fn eval(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// Saves a screenshot under target/ so a person can look at what the test saw.
    async fn screenshot(&self, name: &str) {
        use base64_decode::decode;
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = decode(b64.as_str().unwrap());
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// Base64 (standard alphabet) for screenshots; ten lines do not justify a crate.
mod base64_decode {
    pub fn decode(s: &str) -> Vec<u8> {
        let val = |c: u8| match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            _ => 63,
        };
        let bytes: Vec<u8> = s
            .bytes()
            .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
            .collect();
        let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
        for chunk in bytes.chunks(4) {
            let n = chunk.iter().enumerate().fold(0u32, |acc, (i, c)| {
                acc | (u32::from(val(*c)) << (18 - 6 * i))
            });
            out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
        }
        out
    }
}

#[tokio::test]
async fn staff_sign_in_see_the_workbench_and_sign_out_in_a_real_browser() {
    let demo = Demo::start();
    let b = Driver::start().await;

    b.go(&format!("{}/", demo.office)).await;
    assert_eq!(
        b.title().await,
        "登录 - 示例县",
        "anonymous visitors land on the login page"
    );
    b.type_into("input[name=username]", "admin").await;
    b.type_into("input[name=password]", "wrong-password-9")
        .await;
    b.click("button[type=submit]").await;
    assert_eq!(b.wait_text(".error").await, "用户名或密码错误");

    b.type_into("input[name=password]", ADMIN_PW).await;
    b.click("button[type=submit]").await;
    b.wait_title("工作台 - 示例县").await;
    let header_colour = b
        .eval("return getComputedStyle(document.querySelector('header.top')).backgroundColor")
        .await;
    assert_eq!(
        header_colour, "rgb(31, 78, 140)",
        "the stylesheet is served and applied"
    );
    b.screenshot("office-workbench").await;

    b.click("nav a[href='/audit']").await;
    b.wait_title("审计日志 - 示例县").await;
    let first_action = b
        .eval("return document.querySelector('table.grid tbody tr td:nth-child(5)').innerText")
        .await;
    assert_eq!(
        first_action, "login",
        "the newest audit row is this sign-in"
    );

    // A phone-sized window must not need sideways scrolling on the workbench.
    b.go(&format!("{}/", demo.office)).await;
    b.resize(375, 740).await;
    let overflow = b
        .eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        .await;
    assert_eq!(overflow, 0);
    b.screenshot("office-workbench-phone").await;

    b.click("nav button[type=submit]").await;
    b.wait_title("登录 - 示例县").await;
    b.go(&format!("{}/", demo.office)).await;
    assert_eq!(b.title().await, "登录 - 示例县", "signed out for real");
    b.quit().await;
}

#[tokio::test]
async fn the_portal_home_page_renders_in_a_real_browser() {
    let demo = Demo::start();
    let b = Driver::start().await;
    b.go(&format!("{}/", demo.portal)).await;
    assert_eq!(b.title().await, "首页 - 示例县");
    let blocks = b
        .eval("return document.querySelectorAll('section.block').length")
        .await;
    assert_eq!(blocks, 7, "one block per demo column");
    let lang = b.eval("return document.documentElement.lang").await;
    assert_eq!(lang, "zh-CN");
    let footer = b.wait_text("footer.site").await;
    assert!(footer.contains("示ICP备00000000号-1"), "{footer}");
    // Keyboard users get the skip link first; it is visible when focused.
    b.eval("document.querySelector('a.skip').focus()").await;
    let left = b
        .eval("return document.querySelector('a.skip').getBoundingClientRect().left >= 0")
        .await;
    assert_eq!(left, true);
    b.screenshot("portal-home").await;
    b.resize(375, 740).await;
    let overflow = b
        .eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        .await;
    assert_eq!(
        overflow, 0,
        "readable on a phone without sideways scrolling"
    );
    b.screenshot("portal-home-phone").await;
    b.quit().await;
}

#[tokio::test]
async fn an_admin_maintains_the_holiday_calendar_and_tests_sms_in_a_real_browser() {
    let demo = Demo::start();
    let b = Driver::start().await;
    b.go(&format!("{}/login", demo.office)).await;
    b.type_into("input[name=username]", "admin").await;
    b.type_into("input[name=password]", ADMIN_PW).await;
    b.click("button[type=submit]").await;
    b.wait_title("工作台 - 示例县").await;

    b.click("nav a[href='/calendar']").await;
    b.wait_title("节假日维护 - 示例县").await;
    b.go(&format!("{}/calendar?year=2026", demo.office)).await;
    let rows = b
        .eval("return document.querySelectorAll('#special-days tbody tr').length")
        .await;
    assert_eq!(
        rows, 25,
        "the shipped 2026 notice: 19 weekdays off, 6 weekends worked"
    );

    // The date picker's typing is locale-dependent; set its value as the picker would.
    b.eval("document.querySelector('input[name=date]').value = '2026-03-02'")
        .await;
    b.type_into("input[name=name]", "本县调整").await;
    b.click("form[action='/calendar/days'] button[type=submit]")
        .await;
    assert_eq!(
        b.wait_text(".notice").await,
        "已添加 2026-03-02（本县调整）"
    );
    let row = b
        .eval("return [...document.querySelectorAll('#special-days tbody tr')].map(r => r.innerText).find(t => t.startsWith('2026-03-02'))")
        .await;
    assert!(
        row.as_str().unwrap().contains("星期一") && row.as_str().unwrap().contains("放假"),
        "{row}"
    );
    b.screenshot("calendar-2026").await;

    // A holiday on a Saturday is refused, naming the date.
    b.eval("document.querySelector('input[name=date]').value = '2026-03-07'")
        .await;
    b.type_into("input[name=name]", "周末").await;
    b.click("form[action='/calendar/days'] button[type=submit]")
        .await;
    let err = b.wait_text(".error").await;
    assert!(err.contains("2026-03-07 是星期六"), "{err}");

    b.go(&format!("{}/calendar?year=2026", demo.office)).await;
    b.click("form[action='/calendar/days/2026-03-02/remove'] button")
        .await;
    let notice = b.wait_text(".notice").await;
    assert!(notice.starts_with("已删除 2026-03-02"), "{notice}");

    // Import a notice file chosen in the file picker.
    let file = demo.dir.join("2027.json");
    std::fs::write(
        &file,
        r#"{"year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知", "version": "v1",
            "effective": "2026-11-10", "days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]}"#,
    )
    .unwrap();
    b.type_into("#notice-file", file.to_str().unwrap()).await;
    for _ in 0..50 {
        let v = b
            .eval("return document.querySelector('textarea[name=text]').value")
            .await;
        if v.as_str().is_some_and(|t| t.contains("2027")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.click("form[action='/calendar/import'] button[type=submit]")
        .await;
    // The page before the import showed a notice too: wait for the new one.
    let mut notice = String::new();
    for _ in 0..50 {
        notice = b.wait_text(".notice").await;
        if notice.starts_with("已导入") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(notice.starts_with("已导入 2027 年放假通知"), "{notice}");
    let version = b
        .eval("return document.querySelector('#versions tbody tr td').innerText")
        .await;
    assert_eq!(version, "v1");

    // Readable on a phone without sideways scrolling.
    b.resize(375, 740).await;
    let overflow = b
        .eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        .await;
    assert_eq!(overflow, 0);
    b.resize(1280, 900).await;

    b.click("nav a[href='/sms']").await;
    b.wait_title("短信发送记录 - 示例县").await;
    b.type_into("input[name=phone]", "13800138000").await;
    b.click("form[action='/sms/test'] button[type=submit]")
        .await;
    let notice = b.wait_text(".notice").await;
    assert!(notice.starts_with("测试短信已排队"), "{notice}");
    let mut status = String::new();
    for _ in 0..50 {
        b.go(&format!("{}/sms", demo.office)).await;
        status = b.wait_text("#outbox tbody tr td:nth-child(5)").await;
        if status == "已发送" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, "已发送", "the journal gateway delivers to the log");
    b.quit().await;
}

impl Driver {
    async fn sign_in(&self, office: &str, user: &str, password: &str) {
        self.go(&format!("{office}/login")).await;
        self.type_into("input[name=username]", user).await;
        self.type_into("input[name=password]", password).await;
        self.click("button[type=submit]").await;
        self.wait_title("工作台 - 示例县").await;
    }

    async fn sign_out(&self) {
        self.click("nav button[type=submit]").await;
        self.wait_title("登录 - 示例县").await;
    }

    /// Waits (bounded) until `script` returns true.
    async fn wait_until(&self, script: &str) {
        for _ in 0..100 {
            if self.eval(script).await == Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never true: {script}");
    }
}

#[tokio::test]
async fn one_document_goes_its_whole_route_to_the_archive_in_a_real_browser() {
    let demo = Demo::start();
    let staff = demo.staff_password();
    let b = Driver::start().await;
    let o = demo.office.clone();

    b.sign_in(&o, "clerk", &staff).await;
    b.click("nav a[href='/office/documents']").await;
    b.wait_title("公文 - 示例县").await;
    b.type_into(
        "#new-document input[name=title]",
        "关于冬季道路除冰保畅的通知",
    )
    .await;
    b.type_into("#new-document textarea[name=body]", "各乡镇：入冬以来……")
        .await;
    b.click("#new-document button[type=submit]").await;
    b.wait_until("return document.title.startsWith('示政发〔')")
        .await;
    let number = b.wait_text("#doc-number").await;
    let url = b
        .eval("return location.href")
        .await
        .as_str()
        .unwrap()
        .to_string();
    b.screenshot("office-document-drafted").await;
    b.sign_out().await;

    // 拟办 dept_head, 批办 leader, 承办 any one of handler/reviewer, 传阅 all of leader and
    // dept_head, 办结 clerk: each signs in their own session, on the page.
    let route = [
        ("dept_head", 1, "拟请领导批示"),
        ("leader", 2, "同意"),
        ("reviewer", 3, "已安排"),
        ("leader", 3, "已阅"),
        ("dept_head", 4, "已阅"),
        ("clerk", 5, "办结"),
    ];
    for (user, done_steps, opinion) in route {
        b.sign_in(&o, user, &staff).await;
        let todo = b.wait_text("#todo").await;
        assert!(
            todo.contains(&number),
            "{user} sees it on the workbench: {todo}"
        );
        b.go(&url).await;
        b.type_into("#sign-form textarea[name=text]", opinion).await;
        b.click("#sign-form button[type=submit]").await;
        b.wait_until(&format!(
            "return document.querySelectorAll('#steps > li.done').length == {done_steps} && !document.querySelector('#sign-form')"
        ))
        .await;
        b.sign_out().await;
    }

    b.sign_in(&o, "clerk", &staff).await;
    b.go(&url).await;
    assert_eq!(b.wait_text("#doc-status").await, "已办结");
    let readers = b.wait_text("#readers").await;
    for name in ["孙科长", "周副县长", "赵审核", "王窗口"] {
        assert!(readers.contains(name), "{name} read it: {readers}");
    }
    b.click("#archive-form button[type=submit]").await;
    b.wait_until("return document.querySelector('#doc-status').innerText.startsWith('已归档')")
        .await;
    let no_forms = b
        .eval("return document.querySelectorAll('main form').length")
        .await;
    assert_eq!(no_forms, 0, "an archived document offers no action");
    b.screenshot("office-document-archived").await;

    b.click("nav a[href='/office/archive']").await;
    b.wait_title("档案检索 - 示例县").await;
    b.type_into("input[name=q]", "除冰").await;
    b.click("main form button[type=submit]").await;
    let hits = b.wait_text("#hits").await;
    assert!(hits.contains(&number), "two characters find it: {hits}");
    b.screenshot("office-archive-search").await;
    b.quit().await;
}

#[tokio::test]
async fn a_supervisor_filters_cases_by_light_and_opens_a_trace_in_a_real_browser() {
    let temp = tempfile::tempdir().unwrap();
    let mut demo = Demo::start_in(temp.path());
    demo.stop();
    {
        let c = rusqlite::Connection::open(demo.db()).unwrap();
        let id = |sql: &str, name: &str| -> i64 { c.query_row(sql, [name], |r| r.get(0)).unwrap() };
        let dept = "SELECT id FROM departments WHERE name = ?1";
        let user = "SELECT id FROM users WHERE username = ?1";
        supervision_support::fifty(
            &c,
            &supervision_support::People {
                dept_a: id(dept, "县市场监督管理局"),
                dept_b: id(dept, "县自然资源局"),
                clerk: id(user, "clerk"),
                handler_a: id(user, "handler"),
                handler_b: id(user, "reviewer"),
            },
        );
    }
    let demo = Demo::start_in(temp.path());
    let staff = demo.staff_password();
    let mut web = common::Web::new(&demo.office);
    web.login("supervisor", &staff).await;
    let api: Value = web
        .get("/api/supervision/cases?light=red")
        .await
        .json()
        .await
        .unwrap();
    let red = api["total"].as_i64().unwrap();
    assert!(red > 0);
    let all: Value = web
        .get("/api/supervision/cases")
        .await
        .json()
        .await
        .unwrap();
    let all = all["total"].as_i64().unwrap();
    assert!(all >= 50, "the 50 fixture cases and approval's demo cases");
    let report: Value = web
        .get("/api/supervision/reports/handling?from=2026-10-01&to=2026-11-30")
        .await
        .json()
        .await
        .unwrap();
    let accepted = report["rows"].as_array().unwrap().last().unwrap()[1].clone();

    let b = Driver::start().await;
    b.go(&format!("{}/login", demo.office)).await;
    b.type_into("input[name=username]", "supervisor").await;
    b.type_into("input[name=password]", &staff).await;
    b.click("button[type=submit]").await;
    b.wait_title("工作台 - 示例县").await;
    b.click("a[href='/supervision']").await;
    b.wait_title("电子监察 - 示例县").await;
    assert_eq!(b.wait_text("#n-total").await, all.to_string());
    assert_eq!(b.wait_text("#n-red").await, red.to_string());
    b.screenshot("supervision-view").await;

    // Filter: red lights of one department.
    b.eval(
        "document.querySelector('select[name=light]').value = 'red';
         const d = document.querySelector('select[name=department_id]');
         d.value = [...d.options].find(o => o.text === '县自然资源局').value; return null",
    )
    .await;
    b.click("#case-filters button[type=submit]").await;
    for _ in 0..100 {
        let n = b
            .eval("const e = document.querySelector('#n-total'); return location.search.includes('light=red') && e ? e.innerText : null")
            .await;
        if n.as_str().is_some_and(|n| n != all.to_string()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = b
        .eval(
            "return [...document.querySelectorAll('#cases tbody tr')].map(r => r.className + '|' + r.cells[2].innerText)",
        )
        .await;
    let rows = rows.as_array().unwrap();
    assert!(!rows.is_empty());
    for r in rows {
        let r = r.as_str().unwrap();
        assert!(r.starts_with("row-red|"), "{r}");
        assert!(
            r.contains("建设用地规划许可") || r.contains("不动产登记联办"),
            "{r}"
        );
    }

    // A case's trace is a picture: one node per step, the last one where it stands now.
    b.click("#cases tbody tr a").await;
    let steps = b.wait_text("#trace").await;
    assert!(steps.contains("受理"), "{steps}");
    let nodes = b
        .eval("return document.querySelectorAll('#trace svg g.step').length")
        .await;
    assert!(nodes.as_i64().unwrap() >= 3, "{nodes}");
    let last = b
        .eval("const g = document.querySelectorAll('#trace svg g.step'); return g[g.length - 1].getAttribute('class')")
        .await;
    assert_eq!(last, "step step-open");
    b.screenshot("supervision-trace").await;

    // Statistics and charts render server-side.
    b.go(&format!(
        "{}/supervision/stats?report=handling&from=2026-10-01&to=2026-11-30",
        demo.office
    ))
    .await;
    let total = b
        .eval("const r = [...document.querySelectorAll('#report tbody tr')].pop(); return r.cells[0].innerText + '|' + r.cells[1].innerText")
        .await;
    assert_eq!(total, format!("合计|{accepted}"));
    b.go(&format!("{}/supervision/charts", demo.office)).await;
    let charts = b
        .eval("return document.querySelectorAll('#charts svg').length")
        .await;
    assert_eq!(charts, 4);
    b.screenshot("supervision-charts").await;
    b.quit().await;
}

#[tokio::test]
async fn a_case_is_accepted_at_the_window_and_completed_in_a_real_browser() {
    let demo = Demo::start();
    let staff = demo.staff_password();
    let b = Driver::start().await;
    let o = demo.office.clone();

    b.sign_in(&o, "clerk", &staff).await;
    b.click("nav a[href='/approval/cases']").await;
    b.wait_title("行政审批 - 示例县").await;
    b.click("a[href='/approval/accept']").await;
    b.wait_title("窗口受理 - 示例县").await;
    b.eval("document.querySelector('#item-pick').value = 'CN-001'; return true")
        .await;
    b.click("main form button[type=submit]").await;
    b.wait_until("return !!document.querySelector('#accept-form')")
        .await;
    b.type_into("#accept-form input[name=applicant_name]", "浏览器测试人")
        .await;
    b.type_into(
        "#accept-form input[name=applicant_id_no]",
        "11010519491231002X",
    )
    .await;
    b.type_into("#accept-form input[name=applicant_phone]", "13912345678")
        .await;
    // The application form is scanned at the window: uploaded when chosen, ticked by itself.
    let scan = demo.dir.join("申请书扫描件.pdf");
    std::fs::write(&scan, b"%PDF-1.4 scanned application form").unwrap();
    b.type_into(
        "#accept-form input[data-material='0']",
        scan.to_str().unwrap(),
    )
    .await;
    b.wait_until("return document.querySelector('#scan-0').innerText.startsWith('已上传')")
        .await;
    for m in ["m1", "m2"] {
        b.click(&format!("#accept-form input[name={m}]")).await;
    }
    b.eval("document.querySelector('#accept-form input[name=f0]').value = '1'; return true")
        .await;
    b.click("#accept-form button[value=accept]").await;
    b.wait_until("return document.title.startsWith('办件 ')")
        .await;
    let receipt = b.wait_text("#receipt").await;
    assert!(receipt.contains("-demo-county-"), "{receipt}");
    assert_eq!(b.wait_text("#state").await, "已受理");
    let scan_link = b
        .eval("return [...document.querySelectorAll('main a')].some(a => a.innerText == '申请书扫描件.pdf')")
        .await;
    assert_eq!(scan_link, Value::Bool(true), "the scan is on the case");
    let url = b
        .eval("return location.href")
        .await
        .as_str()
        .unwrap()
        .to_string();

    // The printable acceptance notice (受理通知书), A4 print stylesheet, with the receipt.
    let notice = b
        .eval("return document.querySelector('a.notice-link[href$=\"/notice/acceptance\"]').href")
        .await
        .as_str()
        .unwrap()
        .to_string();
    b.go(&notice).await;
    assert_eq!(b.wait_text("#notice-title").await, "受理通知书");
    assert_eq!(b.wait_text("#notice-receipt").await, receipt);
    b.wait_until(
        "return [...document.styleSheets].some(s => [...s.cssRules].some(r => r.cssText.toLowerCase().includes('size: a4')))",
    )
    .await;
    b.screenshot("approval-acceptance-notice").await;
    b.sign_out_from(&o).await;

    for (user, action, state) in [
        ("handler", "undertake", "已承办"),
        ("reviewer", "review", "已审核"),
        ("approver", "approve", "已批准"),
        ("clerk", "complete", "已办结"),
    ] {
        b.sign_in(&o, user, &staff).await;
        let todo = b.wait_text("#todo").await;
        assert!(
            todo.contains(&receipt),
            "{user} sees it on the workbench: {todo}"
        );
        b.go(&url).await;
        b.eval("const p = document.querySelector('#pick'); p.selectedIndex = 3; return true")
            .await;
        b.click(&format!("#actions button[value={action}]")).await;
        b.wait_until(&format!(
            "return document.querySelector('#state') && document.querySelector('#state').innerText == '{state}'"
        ))
        .await;
        b.sign_out().await;
    }
    b.sign_in(&o, "clerk", &staff).await;
    b.go(&url).await;
    let trace = b.wait_text("#trace").await;
    for label in ["受理", "承办", "审核", "批准", "办结"] {
        assert!(trace.contains(label), "{label} in the trace: {trace}");
    }
    assert!(
        trace.contains("同意"),
        "the picked opinion is recorded: {trace}"
    );
    b.screenshot("approval-case-completed").await;
    b.quit().await;
}

impl Driver {
    /// Signs out from a page without the office navigation (a printable notice).
    async fn sign_out_from(&self, office: &str) {
        self.go(&format!("{office}/")).await;
        self.wait_title("工作台 - 示例县").await;
        self.sign_out().await;
    }
}

#[tokio::test]
async fn an_admin_attaches_a_blank_form_to_an_item_in_a_real_browser() {
    let demo = Demo::start();
    let b = Driver::start().await;
    let file = demo.dir.join("申请书空白表.txt");
    std::fs::write(&file, "食品经营许可申请书\n申请人：______\n").unwrap();
    b.sign_in(&demo.office, "admin", ADMIN_PW).await;
    b.go(&format!("{}/approval/items/CN-001", demo.office))
        .await;
    b.type_into(
        "#item-files input[data-slot=blank][data-position='0']",
        file.to_str().unwrap(),
    )
    .await;
    b.wait_until(
        "return [...document.querySelectorAll('#item-files a')].some(a => a.innerText == '申请书空白表.txt')",
    )
    .await;
    b.screenshot("approval-item-files").await;
    b.quit().await;
}

#[tokio::test]
async fn an_article_is_published_through_the_three_review_levels_in_a_real_browser() {
    let demo = Demo::start();
    let staff = demo.staff_password();
    let b = Driver::start().await;
    let o = demo.office.clone();

    b.sign_in(&o, "editor", &staff).await;
    b.click("nav a[href='/cms']").await;
    b.wait_title("网站管理 - 示例县").await;
    b.click("#new-gzdt").await;
    b.wait_title("起草稿件 - 示例县").await;
    b.type_into("#draft input[name=title]", "县图书馆冬季开放时间调整")
        .await;
    b.type_into(
        "#draft textarea[name=body]",
        "自12月起，县图书馆开放时间调整为**9:00至17:00**。",
    )
    .await;
    b.type_into("#draft input[name=author]", "郑编辑").await;
    b.click("#draft button[type=submit]").await;
    b.wait_title("县图书馆冬季开放时间调整 - 示例县").await;
    let url = b
        .eval("return location.href")
        .await
        .as_str()
        .unwrap()
        .to_string();
    let id = url.rsplit('/').next().unwrap().to_string();
    assert_eq!(b.wait_text("#preview strong").await, "9:00至17:00");
    b.click("#submit").await;
    b.wait_until("return document.querySelector('#state').innerText == '待主编审核'")
        .await;
    b.sign_out().await;

    let public = format!("{}/articles/{id}", demo.portal);
    for (user, after) in [("chief_editor", "待总编审批"), ("general_editor", "已发布")] {
        b.go(&public).await;
        assert_eq!(
            b.title().await,
            "页面不存在",
            "not public before {user} signs"
        );
        b.sign_in(&o, user, &staff).await;
        let todo = b.wait_text("#todo").await;
        assert!(
            todo.contains("县图书馆冬季开放时间调整"),
            "{user}'s workbench: {todo}"
        );
        b.click(&format!("#todo a[href='/cms/articles/{id}']"))
            .await;
        b.wait_title("县图书馆冬季开放时间调整 - 示例县").await;
        b.click("#approve").await;
        b.wait_until(&format!(
            "return document.querySelector('#state').innerText == '{after}'"
        ))
        .await;
        b.sign_out().await;
    }
    b.go(&public).await;
    b.wait_title("县图书馆冬季开放时间调整 - 示例县").await;
    assert_eq!(b.wait_text("article .body strong").await, "9:00至17:00");
    b.screenshot("portal-article").await;
    b.go(&format!("{}/columns/gzdt", demo.portal)).await;
    let list = b.wait_text("ul.list").await;
    assert!(list.contains("县图书馆冬季开放时间调整"), "{list}");
    b.quit().await;
}

#[tokio::test]
async fn a_citizen_asks_and_follows_the_answer_with_the_query_code_in_a_real_browser() {
    let demo = Demo::start();
    let staff = demo.staff_password();
    let b = Driver::start().await;
    let p = demo.portal.clone();

    b.go(&format!("{p}/")).await;
    b.click("nav a[href='/ask']").await;
    b.wait_title("网上咨询 - 示例县").await;
    b.eval("const s = document.querySelector('#department_id'); s.selectedIndex = 1")
        .await;
    b.type_into("#name", "钱七").await;
    b.type_into("#phone", "13700001111").await;
    b.type_into("#subject", "新生儿落户").await;
    b.type_into("#question", "孩子出生后多久内要办理户口登记？")
        .await;
    b.click("main form button[type=submit]").await;
    b.wait_title("网上咨询 - 示例县").await;
    let number = b.wait_text("#number").await;
    let code = b.wait_text("#code").await;
    assert!(
        number.starts_with("ZX") && code.len() == 8,
        "{number} {code}"
    );
    b.screenshot("portal-receipt").await;

    b.go(&format!("{p}/query")).await;
    b.type_into("#number", &number).await;
    b.type_into("#code", "00000000").await;
    b.click("main form button[type=submit]").await;
    assert_eq!(
        b.wait_text(".error").await,
        "编号或查询码不正确，请核对后再试"
    );
    b.type_into("#code", &code).await;
    b.click("main form button[type=submit]").await;
    let result = b.wait_text(".result").await;
    assert!(result.contains("办理中"), "{result}");

    b.sign_in(&demo.office, "general_editor", &staff).await;
    b.go(&format!("{}/cms/inbox", demo.office)).await;
    b.type_into(
        "section.card textarea[name=text]",
        "出生后一个月内到户籍派出所办理。",
    )
    .await;
    b.click("section.card form button[type=submit]").await;
    b.wait_title("咨询与来信 - 示例县").await;

    b.go(&format!("{p}/query")).await;
    b.type_into("#number", &number).await;
    b.type_into("#code", &code).await;
    b.click("main form button[type=submit]").await;
    let result = b.wait_text(".result .answer").await;
    assert_eq!(result, "出生后一个月内到户籍派出所办理。");
    b.screenshot("portal-query").await;
    b.quit().await;
}

#[tokio::test]
async fn a_citizen_applies_online_with_files_and_follows_progress_in_a_real_browser() {
    let demo = Demo::start();
    let b = Driver::start().await;
    let p = demo.portal.clone();
    let files = tempfile::tempdir().unwrap();
    let form = files.path().join("登记申请书.pdf");
    std::fs::write(&form, b"%PDF-1.4 application form").unwrap();
    let id_card = files.path().join("身份证.png");
    std::fs::write(&id_card, b"\x89PNG\r\n\x1a\n picture").unwrap();

    b.go(&format!("{p}/")).await;
    b.click("nav a[href='/guides']").await;
    b.wait_title("办事指南 - 示例县").await;
    b.click("a[href='/guides/JB-001']").await;
    b.wait_title("个体工商户变更登记 - 示例县").await;
    let materials = b.wait_text("#materials").await;
    assert!(materials.contains("经营者身份证"), "{materials}");
    b.click("#apply").await;
    b.wait_title("网上申报：个体户变更登记 - 示例县").await;
    b.type_into("#applicant_name", "周九").await;
    b.type_into("#applicant_id_no", "11010519491231002X").await;
    b.type_into("#applicant_phone", "13600003333").await;
    b.type_into("#m0", &form.display().to_string()).await;
    b.type_into("#m1", &id_card.display().to_string()).await;
    b.click("main form button[type=submit]").await;
    b.wait_title("网上申报 - 示例县").await;
    let number = b.wait_text("#number").await;
    let code = b.wait_text("#code").await;
    assert!(number.starts_with("WS"), "{number}");
    b.screenshot("portal-application-receipt").await;

    b.click("a[href='/query']").await;
    b.wait_title("办理进度查询 - 示例县").await;
    b.type_into("#number", &number).await;
    b.type_into("#code", &code).await;
    b.click("main form button[type=submit]").await;
    assert_eq!(b.wait_text("#result-state").await, "待预审");
    let steps = b.wait_text("#result-steps").await;
    assert!(steps.contains("网上申报已提交"), "{steps}");
    b.screenshot("portal-application-progress").await;
    b.quit().await;
}
