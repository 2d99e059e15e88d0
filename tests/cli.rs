//! The `govbox` command line: site-file validation, the data-dir lock, the audit chain check,
//! user management, and a clean stop on SIGTERM.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{govbox, text, wait_timeout, Demo};

const GOOD: &str = r#"
[site]
id = "hx-township"
name = "红星镇"
tier = "township"
parent = "hx-county"

[listen]
portal = "127.0.0.1:0"
office = "127.0.0.1:0"

[storage]
data_dir = "DATA"
"#;

#[test]
fn bad_site_files_exit_2_naming_file_and_key() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let good = GOOD.replace("DATA", data.to_str().unwrap());
    let cases: &[(&str, &str, &str)] = &[
        ("tier = \"township\"", "tier = \"village\"", "site.tier"),
        (
            "office = \"127.0.0.1:0\"",
            "office = \"localhost\"",
            "listen.office",
        ),
        (
            "office = \"127.0.0.1:0\"",
            "office = [1, 2]",
            "listen.office",
        ),
        ("id = \"hx-township\"", "id = \"红星\"", "site.id"),
        ("parent = \"hx-county\"", "", "site.parent"),
        ("[storage]", "[storage]\nsize = 3", "storage.size"),
        (
            "[listen]",
            "[listen]\nadmin = \"0.0.0.0:1\"",
            "listen.admin",
        ),
        (
            "name = \"红星镇\"",
            "name = \"红星镇\"\nname = \"again\"",
            "",
        ),
        ("[site]", "[sitee]", "sitee"),
        ("[upstream]", "", ""),
    ];
    for (i, (from, to, key)) in cases.iter().enumerate() {
        if !good.contains(from) {
            continue;
        }
        let path = temp.path().join(format!("case{i}.toml"));
        std::fs::write(&path, good.replacen(from, to, 1)).unwrap();
        for cmd in ["check-config", "serve"] {
            let out = govbox(&[cmd, "--config", path.to_str().unwrap()]);
            let shown = text(&out);
            assert_eq!(out.status.code(), Some(2), "{cmd} {from} -> {to}: {shown}");
            assert!(
                shown.contains(path.to_str().unwrap()),
                "file not named: {shown}"
            );
            assert!(
                shown.contains(&format!("`{key}")),
                "key {key} not named: {shown}"
            );
            assert!(shown.contains("修正"), "no fix given: {shown}");
        }
    }
    assert!(!data.exists(), "a bad site file must not create anything");
    let missing = govbox(&["check-config", "--config", "/nonexistent/site.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    let path = temp.path().join("good.toml");
    std::fs::write(&path, &good).unwrap();
    let ok = govbox(&["check-config", "--config", path.to_str().unwrap()]);
    assert!(ok.status.success(), "{}", text(&ok));
    let usage = govbox(&["frobnicate"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn a_second_server_on_the_same_data_dir_exits_with_a_clear_message() {
    let demo = Demo::start();
    let out = govbox(&["serve", "--config", &demo.config_str()]);
    assert_eq!(out.status.code(), Some(1));
    let shown = text(&out);
    assert!(shown.contains("正被另一个 govbox 进程使用"), "{shown}");
    assert!(
        shown.contains(&demo.child.id().to_string()),
        "holder pid not named: {shown}"
    );
}

#[test]
fn an_altered_audit_row_is_named_by_audit_verify() {
    let mut demo = Demo::start();
    assert!(demo.stop().success());
    let cfg = demo.config_str();
    let ok = govbox(&["audit", "verify", "--config", &cfg]);
    assert!(ok.status.success(), "{}", text(&ok));
    let conn = rusqlite::Connection::open(demo.db()).unwrap();
    assert!(
        conn.execute("UPDATE audit SET outcome = 'refused' WHERE id = 2", [])
            .is_err(),
        "the append-only trigger must refuse edits"
    );
    conn.execute_batch(
        "DROP TRIGGER audit_no_update; UPDATE audit SET detail = 'nothing happened' WHERE id = 2;",
    )
    .unwrap();
    drop(conn);
    let broken = govbox(&["audit", "verify", "--config", &cfg]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(text(&broken).contains("第 2 行"), "{}", text(&broken));
}

#[test]
fn user_commands_add_list_passwd_disable() {
    let mut demo = Demo::start();
    assert!(demo.stop().success());
    let cfg = demo.config_str();
    let pwfile = demo.dir.join("pw.txt");
    std::fs::write(&pwfile, "Spring-Rain-2026\n").unwrap();
    let add = govbox(&[
        "user",
        "add",
        "xiaoli",
        "--name",
        "小李",
        "--role",
        "clerk@县行政服务中心",
        "--role",
        "handler@1",
        "--password-file",
        pwfile.to_str().unwrap(),
        "--config",
        &cfg,
    ]);
    assert!(add.status.success(), "{}", text(&add));
    let again = govbox(&[
        "user", "add", "xiaoli", "--name", "小李", "--role", "clerk@1", "--config", &cfg,
    ]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    let bad_role = govbox(&[
        "user", "add", "x2", "--name", "x", "--role", "king@1", "--config", &cfg,
    ]);
    assert_eq!(bad_role.status.code(), Some(2));
    assert!(text(&bad_role).contains("未知角色"));
    let bad_dept = govbox(&[
        "user",
        "add",
        "x3",
        "--name",
        "x",
        "--role",
        "clerk@不存在",
        "--config",
        &cfg,
    ]);
    assert_eq!(bad_dept.status.code(), Some(2));
    std::fs::write(&pwfile, "short\n").unwrap();
    let weak = govbox(&[
        "user",
        "passwd",
        "xiaoli",
        "--password-file",
        pwfile.to_str().unwrap(),
        "--config",
        &cfg,
    ]);
    assert_eq!(weak.status.code(), Some(2));
    let generated = govbox(&["user", "passwd", "xiaoli", "--config", &cfg]);
    assert!(generated.status.success());
    assert!(text(&generated).contains("初始密码"));
    let list = govbox(&["user", "list", "--config", &cfg]);
    let listed = text(&list);
    assert!(
        listed.contains("xiaoli\t小李\t正常\tclerk@县行政服务中心,handler@示例县人民政府"),
        "{listed}"
    );
    let off = govbox(&["user", "disable", "xiaoli", "--config", &cfg]);
    assert!(off.status.success());
    assert!(text(&govbox(&["user", "list", "--config", &cfg])).contains("xiaoli\t小李\t停用"));
    assert_eq!(
        govbox(&["user", "disable", "ghost", "--config", &cfg])
            .status
            .code(),
        Some(2)
    );
    let verify = govbox(&["audit", "verify", "--config", &cfg]);
    assert!(verify.status.success(), "{}", text(&verify));
}

/// A request in flight when SIGTERM arrives is answered; then the process exits 0.
#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    let mut demo = Demo::start();
    let addr = demo.office.trim_start_matches("http://").to_string();
    let body = format!(
        "{{\"username\": \"admin\", \"password\": \"{}\"}}",
        common::ADMIN_PW
    );
    let (head, tail) = body.split_at(10);
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST /api/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    )
    .unwrap();
    s.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    demo.signal(nix::sys::signal::Signal::SIGTERM);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        demo.child.try_wait().unwrap().is_none(),
        "exited with a request in flight"
    );
    s.write_all(tail.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("csrf_token"));
    let status = wait_timeout(&mut demo.child, Duration::from_secs(30)).expect("did not exit");
    assert!(status.success());
    assert!(
        TcpStream::connect(&addr).is_err(),
        "still listening after stop"
    );
    let verify = govbox(&["audit", "verify", "--config", &demo.config_str()]);
    assert!(verify.status.success(), "{}", text(&verify));
}

#[test]
fn a_newer_database_is_refused() {
    let mut demo = Demo::start();
    assert!(demo.stop().success());
    let conn = rusqlite::Connection::open(demo.db()).unwrap();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let out = govbox(&["serve", "--config", &demo.config_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("999"), "{}", text(&out));
    let v = govbox(&["version"]);
    assert!(text(&v).contains("schema"));
}
