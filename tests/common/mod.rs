//! Shared by the integration tests: a real `govbox` process on 127.0.0.1 ephemeral ports with a
//! temporary data dir, and a small HTTP client that keeps its own cookies.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const ADMIN_PW: &str = "river-Stone-42";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_govbox")
}

/// Runs `govbox ARGS` to completion.
pub fn govbox(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env("GOVBOX_LOG", "warn")
        .output()
        .expect("run govbox")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A running `govbox demo --data DIR`.
pub struct Demo {
    pub dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    pub child: Child,
    pub portal: String,
    pub office: String,
    pub stdout: Vec<String>,
}

impl Demo {
    pub fn start() -> Demo {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_path_buf();
        let mut d = Demo::start_in(&dir);
        d._temp = Some(temp);
        d
    }

    pub fn start_in(dir: &Path) -> Demo {
        let mut child = Command::new(bin())
            .args(["demo", "--data"])
            .arg(dir)
            .args([
                "--portal",
                "127.0.0.1:0",
                "--office",
                "127.0.0.1:0",
                "--admin-password",
                ADMIN_PW,
            ])
            .env("GOVBOX_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn govbox demo");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        let (mut portal, mut office) = (None, None);
        while portal.is_none() || office.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("demo did not start; output so far: {lines:?}"));
            if let Some(u) = line.strip_prefix("portal: ") {
                portal = Some(u.trim_end_matches('/').to_string());
            }
            if let Some(u) = line.strip_prefix("office: ") {
                office = Some(u.trim_end_matches('/').to_string());
            }
            lines.push(line);
        }
        Demo {
            dir: dir.to_path_buf(),
            _temp: None,
            child,
            portal: portal.unwrap(),
            office: office.unwrap(),
            stdout: lines,
        }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join("site.toml")
    }

    pub fn config_str(&self) -> String {
        self.config().display().to_string()
    }

    pub fn db(&self) -> PathBuf {
        self.dir.join("data/govbox.db")
    }

    /// The password every demo user other than admin shares.
    pub fn staff_password(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("demo-logins.txt")).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("staff "))
            .unwrap()
            .to_string()
    }

    /// SIGTERM, then wait; returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        wait_timeout(&mut self.child, Duration::from_secs(30)).expect("govbox did not stop")
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, sig).unwrap();
    }

    pub fn audit_count(&self) -> i64 {
        let conn = rusqlite::Connection::open_with_flags(
            self.db(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        conn.query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
            .unwrap()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// An HTTP client with its own cookie jar, plus the CSRF token once signed in.
pub struct Web {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: Option<String>,
}

impl Web {
    pub fn new(base: &str) -> Web {
        Web {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_string(),
            csrf: None,
        }
    }

    pub async fn login(&mut self, user: &str, pw: &str) -> reqwest::Response {
        let r = self
            .http
            .post(format!("{}/api/login", self.base))
            .json(&serde_json::json!({"username": user, "password": pw}))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            let body: serde_json::Value = r.json().await.unwrap();
            self.csrf = Some(body["csrf_token"].as_str().unwrap().to_string());
            return self.get("/api/me").await;
        }
        r
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// POST JSON with the session's CSRF token.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = &self.csrf {
            req = req.header("x-csrf-token", t);
        }
        req.send().await.unwrap()
    }

    pub async fn post_without_csrf(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

/// The `error.code` of a JSON error response.
pub async fn error_code(r: reqwest::Response) -> String {
    let v: serde_json::Value = r.json().await.expect("JSON error body");
    assert!(v["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert!(v["error"]["message_en"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    v["error"]["code"].as_str().unwrap().to_string()
}
