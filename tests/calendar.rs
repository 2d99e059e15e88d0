//! The working-day calendar through the real binary: `govbox calendar`, and 节假日维护 over
//! HTTP against a running `govbox demo`.

mod common;

use common::{error_code, govbox, Demo, Web, ADMIN_PW};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn notice_2027(version: &str, days: &str) -> String {
    format!(
        r#"{{"year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知", "version": "{version}",
            "effective": "2026-11-10", "days": [{days}]}}"#
    )
}

const NEW_YEAR_2027: &str = r#"{"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
    {"date": "2027-01-04", "kind": "holiday", "name": "元旦"}"#;

fn changes(demo: &Demo) -> i64 {
    let conn = rusqlite::Connection::open_with_flags(
        demo.db(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn cli_due_and_show_on_the_shipped_calendar() {
    let o = govbox(&["calendar", "due", "--from", "2026-02-13", "--days", "3"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&o), "2026-02-25\n");

    let o = govbox(&["calendar", "due", "--from", "2026-09-18", "--days", "1"]);
    assert_eq!(stdout(&o), "2026-09-20\n", "make-up Sunday counts");

    let o = govbox(&[
        "calendar",
        "due",
        "--from",
        "2026-09-28",
        "--days",
        "3",
        "--pause",
        "2026-09-30..2026-10-09",
    ]);
    assert_eq!(stdout(&o), "2026-10-12\n");

    let o = govbox(&["calendar", "due", "--from", "2026-12-25", "--days", "10"]);
    assert!(o.status.success());
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("2027-01-08"));
    assert!(lines.next().unwrap().starts_with("(provisional)"));

    let o = govbox(&["calendar", "show", "--year", "2026"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.contains("2026-09-20\t星期日\t调休上班"), "{out}");
    assert!(out.contains("2026-02-16\t星期一\t放假\t春节"), "{out}");
    assert!(
        !out.contains("2026-02-15"),
        "weekends off are not listed: {out}"
    );
}

#[test]
fn cli_bad_input_exits_2_naming_the_problem() {
    for (args, needle) in [
        (
            vec!["calendar", "due", "--from", "2026-02-30", "--days", "3"],
            "2026-02-30",
        ),
        (
            vec!["calendar", "due", "--from", "13/02/2026", "--days", "3"],
            "13/02/2026",
        ),
        (
            vec!["calendar", "due", "--from", "2026-02-13", "--days", "-1"],
            "-1",
        ),
        (
            vec!["calendar", "due", "--from", "2026-02-13", "--days", "99999"],
            "99999",
        ),
        (
            vec![
                "calendar",
                "due",
                "--from",
                "2026-02-13",
                "--days",
                "3",
                "--pause",
                "2026-03-01",
            ],
            "--pause",
        ),
        (
            vec![
                "calendar",
                "due",
                "--from",
                "2026-02-13",
                "--days",
                "3",
                "--pause",
                "2026-03-05..2026-03-01",
            ],
            "结束日期早于开始日期",
        ),
        (vec!["calendar", "show", "--year", "twenty"], "twenty"),
        (
            vec![
                "calendar",
                "import",
                "/nonexistent/notice.json",
                "--config",
                "/nonexistent/site.toml",
            ],
            "site.toml",
        ),
    ] {
        let o = govbox(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn a_site_database_not_yet_upgraded_is_named_not_misread() {
    let demo_dir = tempfile::tempdir().unwrap();
    let mut demo = Demo::start_in(demo_dir.path());
    assert!(demo.stop().success());
    let conn = rusqlite::Connection::open(demo.db()).unwrap();
    // As if written by the binary before the calendar's migration, whatever its number.
    conn.execute_batch(&format!(
        "DROP TABLE calendar_days; DROP TABLE calendar_notices; PRAGMA user_version = {};",
        govbox::store::schema_version() - 1
    ))
    .unwrap();
    drop(conn);
    let o = govbox(&[
        "calendar",
        "show",
        "--year",
        "2026",
        "--config",
        &demo.config_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("先启动一次服务"),
        "{o:?}"
    );
}

#[tokio::test]
async fn importing_2027_makes_due_dates_final_over_http_and_cli() {
    let demo = Demo::start();
    let config = demo.config_str();
    let due = |from: &str, days: &str| {
        govbox(&[
            "calendar", "due", "--config", &config, "--from", from, "--days", days,
        ])
    };
    let o = due("2026-12-25", "10");
    assert_eq!(stdout(&o).lines().next(), Some("2027-01-08"));
    assert!(stdout(&o).contains("(provisional)"));

    let mut web = Web::new(&demo.office);
    web.login("admin", ADMIN_PW).await;
    let r = web
        .http
        .post(format!("{}/api/calendar/notices", demo.office))
        .header("x-csrf-token", web.csrf.clone().unwrap())
        .header("content-type", "application/json")
        .body(notice_2027("v1", NEW_YEAR_2027))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let sum: serde_json::Value = r.json().await.unwrap();
    assert_eq!(sum["year"], 2027);
    assert_eq!(sum["days"], 2);

    // The CLI reads the running site's database read-only and sees the import.
    let o = due("2026-12-25", "10");
    assert_eq!(stdout(&o), "2027-01-12\n");
    let v: serde_json::Value = web
        .get("/api/calendar/due?from=2026-12-25&days=10")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v,
        serde_json::json!({"date": "2027-01-12", "provisional": false})
    );

    // A corrected notice imported from the shell while the server runs replaces it.
    let file = demo.dir.join("notice-2027-v2.json");
    std::fs::write(
        &file,
        notice_2027(
            "v2",
            r#"{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}"#,
        ),
    )
    .unwrap();
    let o = govbox(&[
        "calendar",
        "import",
        file.to_str().unwrap(),
        "--config",
        &config,
    ]);
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).contains("取代版本 v1"), "{}", stdout(&o));
    let year: serde_json::Value = web
        .get("/api/calendar/years/2027")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(year["version"], "v2");
    assert_eq!(year["from_site"], true);
    assert_eq!(year["days"].as_array().unwrap().len(), 1);
    let versions = year["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["version"], "v1");
    assert_eq!(versions[1]["current"], false);
    assert_eq!(stdout(&due("2026-12-25", "10")), "2027-01-11\n");

    // From standard input too.
    let mut child = std::process::Command::new(common::bin())
        .args(["calendar", "import", "-", "--config", &config])
        .env("GOVBOX_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        notice_2027("v3", NEW_YEAR_2027).as_bytes(),
    )
    .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&due("2026-12-25", "10")), "2027-01-12\n");

    // Importing the same file again is refused by the CLI, exit 2, nothing written.
    let before = changes(&demo);
    let o = govbox(&[
        "calendar",
        "import",
        file.to_str().unwrap(),
        "--config",
        &config,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("v2"));
    assert_eq!(changes(&demo), before);
}

#[tokio::test]
async fn hostile_imports_are_refused_whole_naming_the_date() {
    let demo = Demo::start();
    let mut web = Web::new(&demo.office);
    web.login("admin", ADMIN_PW).await;
    let before = changes(&demo);
    let big = format!(
        "{}{}",
        notice_2027("big", NEW_YEAR_2027),
        " ".repeat(70 * 1024)
    );
    let cases = [
        (
            notice_2027(
                "a",
                r#"{"date": "2027-02-29", "kind": "holiday", "name": "x"}"#,
            ),
            "2027-02-29",
        ),
        (
            notice_2027(
                "b",
                r#"{"date": "2026-12-31", "kind": "holiday", "name": "x"}"#,
            ),
            "2026-12-31",
        ),
        (
            notice_2027(
                "c",
                r#"{"date": "2027-01-05", "kind": "workday", "name": "x"}"#,
            ),
            "2027-01-05",
        ),
        (
            notice_2027(
                "d",
                r#"{"date": "2027-01-02", "kind": "holiday", "name": "x"}"#,
            ),
            "2027-01-02",
        ),
        (
            notice_2027(
                "e",
                r#"{"date": "2027-01-04", "kind": "holiday", "name": "x"}, {"date": "2027-01-04", "kind": "holiday", "name": "y"}"#,
            ),
            "重复",
        ),
        (
            notice_2027(
                "f",
                r#"{"date": "2027-01-04", "kind": "holiday", "name": "<script>"}, 5"#,
            ),
            "JSON",
        ),
        ("[]".to_string(), "JSON"),
        (big, "太大"),
    ];
    for (body, needle) in cases {
        let r = web
            .http
            .post(format!("{}/api/calendar/notices", demo.office))
            .header("x-csrf-token", web.csrf.clone().unwrap())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{needle}");
        let v: serde_json::Value = r.json().await.unwrap();
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{msg} should name {needle}");
    }
    // Not UTF-8, and over the listener's body limit: JSON errors too.
    let r = web
        .http
        .post(format!("{}/api/calendar/notices", demo.office))
        .header("x-csrf-token", web.csrf.clone().unwrap())
        .body(vec![0xff_u8, 0xfe, 0x00])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "invalid_body");
    let r = web
        .http
        .post(format!("{}/api/calendar/notices", demo.office))
        .header("x-csrf-token", web.csrf.clone().unwrap())
        .body(vec![b' '; 2 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "payload_too_large");
    assert_eq!(changes(&demo), before, "nothing written");

    // The CLI refuses a file from the shell the same way, exit 2.
    let file = demo.dir.join("bad.json");
    std::fs::write(
        &file,
        notice_2027(
            "g",
            r#"{"date": "2027-01-09", "kind": "holiday", "name": "x"}"#,
        ),
    )
    .unwrap();
    let o = govbox(&[
        "calendar",
        "import",
        file.to_str().unwrap(),
        "--config",
        &demo.config_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("2027-01-09"));
    std::fs::write(&file, " ".repeat(70 * 1024)).unwrap();
    let o = govbox(&[
        "calendar",
        "import",
        file.to_str().unwrap(),
        "--config",
        &demo.config_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("太大"));
    assert_eq!(changes(&demo), before);
}

#[tokio::test]
async fn maintenance_page_round_trip_as_admin_and_refusal_for_others() {
    let demo = Demo::start();
    let mut web = Web::new(&demo.office);
    web.login("admin", ADMIN_PW).await;
    let csrf = web.csrf.clone().unwrap();
    let page = web.get("/calendar?year=2026").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("节假日维护") && html.contains("2026-02-14") && html.contains("系统内置")
    );

    let form = |pairs: Vec<(&'static str, String)>, path: &str| {
        web.http
            .post(format!("{}{path}", demo.office))
            .form(&pairs)
            .send()
    };
    let r = form(
        vec![
            ("_csrf", csrf.clone()),
            ("date", "2026-03-02".into()),
            ("kind", "holiday".into()),
            ("name", "本县调整".into()),
        ],
        "/calendar/days",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("已添加 2026-03-02") && html.contains("本站导入或调整"),
        "{html}"
    );
    let o = govbox(&[
        "calendar",
        "due",
        "--config",
        &demo.config_str(),
        "--from",
        "2026-02-27",
        "--days",
        "2",
    ]);
    assert_eq!(
        stdout(&o),
        "2026-03-03\n",
        "27 Feb Fri; 28 Sat make-up (1); 2 Mar off; 3 Mar (2)"
    );

    // A holiday on a weekend is refused on the page with the date named, the form kept.
    let r = form(
        vec![
            ("_csrf", csrf.clone()),
            ("date", "2026-03-07".into()),
            ("kind", "holiday".into()),
            ("name", "周末".into()),
        ],
        "/calendar/days",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("2026-03-07 是星期六"), "{html}");

    // Paste-import through the page.
    let r = form(
        vec![
            ("_csrf", csrf.clone()),
            ("text", notice_2027("v1", NEW_YEAR_2027)),
        ],
        "/calendar/import",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("已导入 2027 年放假通知"));

    let r = form(
        vec![("_csrf", csrf.clone())],
        "/calendar/days/2026-03-02/remove",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let o = govbox(&[
        "calendar",
        "due",
        "--config",
        &demo.config_str(),
        "--from",
        "2026-02-27",
        "--days",
        "2",
    ]);
    assert_eq!(stdout(&o), "2026-03-02\n");

    // Without the CSRF token nothing happens.
    let r = web
        .http
        .post(format!("{}/calendar/days/2026-02-14/remove", demo.office))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Every change left an audit row.
    let conn = rusqlite::Connection::open_with_flags(
        demo.db(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let audited: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit WHERE action IN ('calendar.day.add', 'calendar.day.remove', 'calendar.import') AND outcome = 'ok'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 3);

    // A clerk may read the calendar but not maintain it.
    let mut clerk = Web::new(&demo.office);
    clerk.login("clerk", &demo.staff_password()).await;
    assert_eq!(clerk.get("/api/calendar/years/2026").await.status(), 200);
    assert_eq!(clerk.get("/calendar").await.status(), 403);
    let r = clerk
        .post(
            "/api/calendar/days",
            serde_json::json!({"date": "2026-03-04", "kind": "holiday", "name": "x"}),
        )
        .await;
    assert_eq!(error_code(r).await, "forbidden");
    let r = clerk
        .post(
            "/api/calendar/days/2026-02-14/remove",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = clerk
        .http
        .post(format!("{}/api/calendar/notices", demo.office))
        .header("x-csrf-token", clerk.csrf.clone().unwrap())
        .body(notice_2027("v9", NEW_YEAR_2027))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The JSON API's add and remove, with malformed input.
    let r = web
        .post(
            "/api/calendar/days",
            serde_json::json!({"date": "2026-03-04", "kind": "holiday", "name": "临时"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["days"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["date"] == "2026-03-04"));
    let r = web
        .post(
            "/api/calendar/days",
            serde_json::json!({"date": "2026-03-04", "kind": "holiday", "name": "again"}),
        )
        .await;
    assert_eq!(error_code(r).await, "conflict");
    let r = web
        .post(
            "/api/calendar/days",
            serde_json::json!({"date": "2026-13-01", "kind": "holiday", "name": "x"}),
        )
        .await;
    assert_eq!(error_code(r).await, "invalid_input");
    let r = web
        .post("/api/calendar/days", serde_json::json!({"date": 5}))
        .await;
    assert_eq!(r.status(), 400);
    let r = web
        .post(
            "/api/calendar/days/2026-03-05/remove",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(error_code(r).await, "not_found");
    let r = web
        .post(
            "/api/calendar/days/2026-03-04/remove",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(web.get("/api/calendar/years/99999").await.status(), 400);
    assert_eq!(
        web.get("/api/calendar/due?from=2026-02-13&days=x")
            .await
            .status(),
        400
    );
}
