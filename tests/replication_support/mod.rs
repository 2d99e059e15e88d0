//! Sites for the replication tests: real `govbox serve` processes with certificates from a
//! real CA made by `govbox ca`, data written through the library as the office would, and
//! comparisons read straight from the SQLite files.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use govbox::store::{self, Op, StoreError};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_govbox")
}

pub fn run(args: &[&str]) -> String {
    let out = Command::new(bin())
        .args(args)
        .env("GOVBOX_LOG", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "govbox {args:?} failed: {text}");
    text
}

/// A CA directory made by `govbox ca init`.
pub struct Ca {
    pub dir: tempfile::TempDir,
}

impl Ca {
    pub fn new() -> Ca {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca");
        run(&["ca", "init", "--dir", ca.to_str().unwrap()]);
        Ca { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("ca")
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Site {
    pub id: String,
    pub tier: &'static str,
    pub dir: tempfile::TempDir,
    /// Where its replication listener listens (county, province).
    pub repl: Option<String>,
    pub child: Option<Child>,
    pub office: Option<String>,
    /// Runs the server inside this network namespace.
    pub netns: Option<String>,
}

impl Site {
    /// Writes the site file, makes the key and CSR with `govbox enrol`, has the CA sign it and
    /// installs it with `govbox enrol --install`.
    pub fn new(
        ca: &Ca,
        id: &str,
        tier: &'static str,
        parent: Option<&str>,
        repl: Option<String>,
        upstream: Option<String>,
    ) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let mut text = format!(
            "[site]\nid = \"{id}\"\nname = \"测试 {id}\"\ntier = \"{tier}\"\n{}\n\
             [listen]\nportal = \"127.0.0.1:0\"\noffice = \"127.0.0.1:0\"\n{}\n\
             [storage]\ndata_dir = \"{}\"\npki_dir = \"{}\"\n\n[receiver]\nsilent_alarm_minutes = 60\n",
            parent.map(|p| format!("parent = \"{p}\"")).unwrap_or_default(),
            repl.as_ref()
                .map(|a| format!("replication = \"{a}\""))
                .unwrap_or_default(),
            d.join("data").display(),
            d.join("pki").display(),
        );
        if let Some(url) = &upstream {
            text.push_str(&format!(
                "\n[upstream]\nurl = \"{url}\"\nidle_seconds = 1\nretry_max_seconds = 2\n"
            ));
        }
        std::fs::write(d.join("site.toml"), text).unwrap();
        let s = Site {
            id: id.into(),
            tier,
            dir,
            repl,
            child: None,
            office: None,
            netns: None,
        };
        run(&["enrol", "--config", &s.config()]);
        let crt = d.join("issued.crt");
        let mut issue = vec![
            "ca",
            "issue",
            "--dir",
            ca.path().to_str().unwrap(),
            "--csr",
            d.join("pki/site.csr").to_str().unwrap(),
            "--site",
            id,
            "--tier",
            tier,
            "--out",
            crt.to_str().unwrap(),
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        if let Some(p) = parent {
            issue.extend(["--parent".to_string(), p.to_string()]);
        }
        run(&issue.iter().map(String::as_str).collect::<Vec<_>>());
        run(&[
            "enrol",
            "--config",
            &s.config(),
            "--install",
            crt.to_str().unwrap(),
            "--ca",
            ca.path().join("ca.crt").to_str().unwrap(),
        ]);
        s
    }

    pub fn config(&self) -> String {
        self.dir.path().join("site.toml").display().to_string()
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("data/govbox.db")
    }

    pub fn pki(&self) -> PathBuf {
        self.dir.path().join("pki")
    }

    pub fn start(&mut self) {
        assert!(self.child.is_none());
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, bin()]);
                c
            }
            None => Command::new(bin()),
        };
        let mut child = cmd
            .args(["serve", "--config", &self.config()])
            .env("GOVBOX_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("{} did not start", self.id));
            if let Some(u) = line.strip_prefix("office: ") {
                self.office = Some(u.trim_end_matches('/').to_string());
            }
            let wants_repl = self.repl.is_some();
            if (!wants_repl && self.office.is_some()) || line.starts_with("replication: ") {
                break;
            }
        }
        self.child = Some(child);
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let _ = c.wait();
        }
    }

    /// Writes `n` business changes as the office would: departments added, some renamed, some
    /// removed, each with its change row in the same transaction.
    pub fn load(&self, n: usize, tag: &str) {
        load_into(&self.db(), &self.id, n, tag);
    }

    pub fn status(&self) -> serde_json::Value {
        let out = run(&[
            "replication",
            "status",
            "--json",
            "--config",
            &self.config(),
        ]);
        serde_json::from_str(&out).unwrap()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn load_into(db: &Path, site: &str, n: usize, tag: &str) {
    let st = store::open(db, site).unwrap();
    let mut done = 0;
    while done < n {
        let take = (n - done).min(500);
        let start = done;
        let tag = tag.to_string();
        st.write_blocking(move |tx| -> Result<(), StoreError> {
            for i in start..start + take {
                let name = format!("{tag}-{i}");
                let now = tx.now().to_string();
                let id = tx.insert(
                    "INSERT INTO departments(parent_id, name, kind, created_at)
                     VALUES (NULL, ?1, 'office', ?2)",
                    rusqlite::params![name, now],
                )?;
                tx.change("department", id, Op::Insert, &office_like(id, &name))?;
                if i % 10 == 3 {
                    let renamed = format!("{name}-改");
                    tx.exec(
                        "UPDATE departments SET name = ?1 WHERE id = ?2",
                        rusqlite::params![renamed, id],
                    )?;
                    tx.change(
                        "department",
                        id,
                        Op::Update,
                        &serde_json::json!({"id": id, "name": renamed}),
                    )?;
                }
                if i % 50 == 7 {
                    tx.exec("DELETE FROM departments WHERE id = ?1", [id])?;
                    tx.change("department", id, Op::Delete, &serde_json::json!({"id": id}))?;
                }
            }
            Ok(())
        })
        .unwrap();
        done += take;
    }
    st.close();
}

/// A payload shaped like an office record: a name, a resident id, a phone number, an address
/// and a note, varied the way real rows are (so compression figures are not flattered).
fn office_like(id: i64, name: &str) -> serde_json::Value {
    const SURNAMES: [&str; 8] = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵"];
    const GIVEN: [&str; 8] = ["建国", "秀英", "伟", "敏", "静", "磊", "婷", "强"];
    const ROADS: [&str; 6] = ["人民路", "解放街", "建设大道", "中山路", "新华街", "和平巷"];
    const NOTES: [&str; 5] = [
        "材料齐全，按期办结",
        "需补正营业执照复印件",
        "已电话告知申请人",
        "转交分管领导审批",
        "现场核查符合条件",
    ];
    let mut x = (id as u64)
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let mut next = |m: u64| {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 29;
        x % m
    };
    serde_json::json!({
        "id": id,
        "name": name,
        "contact": format!("{}{}", SURNAMES[next(8) as usize], GIVEN[next(8) as usize]),
        "resident_id": format!("4509{:014}", next(100_000_000_000_000)),
        "phone": format!("1{:010}", next(10_000_000_000)),
        "address": format!("{}{}号{}栋{}室", ROADS[next(6) as usize], next(300), next(20), next(1000)),
        "note": NOTES[next(5) as usize],
    })
}

pub type LogRow = (i64, String, String, String, String, String);

fn ro(db: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c
}

/// A site's own change log.
pub fn own_log(db: &Path) -> Vec<LogRow> {
    let c = ro(db);
    let mut s = c
        .prepare("SELECT seq, entity, key, op, payload, at FROM changes ORDER BY seq")
        .unwrap();
    s.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// What a receiver holds of `origin`'s log.
pub fn received_log(db: &Path, origin: &str) -> Vec<LogRow> {
    let c = ro(db);
    let mut s = c
        .prepare(
            "SELECT seq, entity, key, op, payload, at FROM received_changes
             WHERE origin_site = ?1 ORDER BY seq",
        )
        .unwrap();
    s.query_map([origin], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// The current rows a log folds to: what the receiver's aggregated view must show.
pub fn fold(log: &[LogRow]) -> BTreeMap<(String, String), String> {
    let mut m = BTreeMap::new();
    for (_, entity, key, op, payload, _) in log {
        if op == "delete" {
            m.remove(&(entity.clone(), key.clone()));
        } else {
            m.insert((entity.clone(), key.clone()), payload.clone());
        }
    }
    m
}

pub fn replica(db: &Path, origin: &str) -> BTreeMap<(String, String), String> {
    let c = ro(db);
    let mut s = c
        .prepare("SELECT entity, key, payload FROM replica_rows WHERE origin_site = ?1")
        .unwrap();
    s.query_map([origin], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

pub fn received_count(db: &Path, origin: &str) -> i64 {
    let c = ro(db);
    c.query_row(
        "SELECT count(*) FROM received_changes WHERE origin_site = ?1",
        [origin],
        |r| r.get(0),
    )
    .unwrap_or(0)
}

/// Waits until `receiver` holds exactly `origin`'s log, then checks the aggregated view too.
pub fn wait_converged(origin_db: &Path, origin: &str, receiver_db: &Path, limit: Duration) {
    let want = own_log(origin_db);
    let deadline = Instant::now() + limit;
    loop {
        let got = received_count(receiver_db, origin);
        if got as usize == want.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{origin}: receiver has {got} of {} changes after {limit:?}",
            want.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let got = received_log(receiver_db, origin);
    assert!(
        got == want,
        "{origin}: received log differs from the origin's"
    );
    assert!(
        replica(receiver_db, origin) == fold(&want),
        "{origin}: aggregated rows differ from the origin's current rows"
    );
}

/// A raw replication client holding some certificate, for what a well-behaved sender never
/// sends.
pub struct Peer {
    pub http: reqwest::Client,
    pub base: String,
}

impl Peer {
    pub fn new(identity_pem: Vec<u8>, ca_pem: &[u8], server: &Site) -> Peer {
        let addr: std::net::SocketAddr = server.repl.as_ref().unwrap().parse().unwrap();
        let mut b = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap())
            .resolve(&server.id, addr)
            .no_proxy()
            .timeout(Duration::from_secs(30));
        if !identity_pem.is_empty() {
            b = b.identity(reqwest::Identity::from_pem(&identity_pem).unwrap());
        }
        Peer {
            http: b.build().unwrap(),
            base: format!("https://{}:{}/replication/v1/", server.id, addr.port()),
        }
    }

    /// A client presenting `site`'s own certificate.
    pub fn as_site(site: &Site, server: &Site) -> Peer {
        let mut id = std::fs::read(site.pki().join("site.key")).unwrap();
        id.extend(std::fs::read(site.pki().join("site.crt")).unwrap());
        let ca = std::fs::read(site.pki().join("ca.crt")).unwrap();
        Peer::new(id, &ca, server)
    }

    /// POSTs `body` (zstd-compressed when asked); Err is a failure below HTTP (TLS refused).
    pub async fn post(
        &self,
        path: &str,
        body: Vec<u8>,
        zstd: bool,
    ) -> Result<(u16, serde_json::Value), String> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if zstd {
            req = req.header("content-encoding", "zstd");
        }
        let r = req.body(body).send().await.map_err(|e| format!("{e:?}"))?;
        let status = r.status().as_u16();
        let v = r.json().await.unwrap_or(serde_json::Value::Null);
        Ok((status, v))
    }

    pub async fn batch(&self, batch: &serde_json::Value) -> (u16, serde_json::Value) {
        let packed = zstd::bulk::compress(&serde_json::to_vec(batch).unwrap(), 3).unwrap();
        self.post("batch", packed, true).await.unwrap()
    }
}

/// A batch of `origin`'s changes `from..=to` (department inserts) continuing after `after`.
pub fn batch_of(origin: &str, after: i64, from: i64, to: i64) -> serde_json::Value {
    let changes: Vec<_> = (from..=to)
        .map(|seq| {
            serde_json::json!({
                "seq": seq, "entity": "department", "key": seq.to_string(), "op": "insert",
                "payload": {"id": seq, "name": format!("d{seq}")},
                "at": "2026-11-25T01:02:03.000Z"
            })
        })
        .collect();
    serde_json::json!({"origins": [{"origin": origin, "after": after, "changes": changes}]})
}

/// GET a page's text from a plain synchronous test.
pub fn blocking_get(url: &str) -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async { reqwest::get(url).await.unwrap().text().await.unwrap() })
}
