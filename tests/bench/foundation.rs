//! Foundation benchmark, run on demand with `cargo bench --bench foundation`.
//!
//! Prints medians, each as a ratio against a peer measured in the same run:
//! - idle RSS of `govbox serve` against the 30 MiB goal;
//! - start to READY=1 (sd_notify) on an existing database against the bare cost of starting the
//!   binary (`govbox version`), and against the 300 ms goal;
//! - office home page (工作台) requests/s for a signed-in window clerk, the page's everyday user,
//!   against a minimal axum handler served by the same process on the same runtime (goal ≥ 0.3×).

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use govbox::auth::{self, DeptKind, NewUser, Role, RoleGrant};
use govbox::site::SiteConfig;
use govbox::store;
use govbox::web;

const ROUNDS: usize = 5;
const CONCURRENCY: usize = 32;
const LOAD_SECONDS: f64 = 2.0;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn site_file(dir: &std::path::Path) -> std::path::PathBuf {
    let text = format!(
        "[site]\nid = \"bench-county\"\nname = \"基准县\"\ntier = \"county\"\nparent = \"bench-province\"\n\
         [listen]\nportal = \"127.0.0.1:0\"\noffice = \"127.0.0.1:0\"\nreplication = \"127.0.0.1:0\"\n\
         [storage]\ndata_dir = \"{}\"\n",
        dir.join("data").display()
    );
    let path = dir.join("site.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts `govbox serve` with NOTIFY_SOCKET pointing at a socket of ours; returns the time to
/// READY=1, the child, and the socket (kept open so STOPPING=1 has somewhere to go).
fn start_until_ready(
    config: &std::path::Path,
    dir: &std::path::Path,
) -> (Duration, std::process::Child, UnixDatagram) {
    let sock_path = dir.join("notify.sock");
    let _ = std::fs::remove_file(&sock_path);
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let start = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_govbox"))
        .args(["serve", "--config"])
        .arg(config)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("GOVBOX_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    loop {
        match sock.recv(&mut buf) {
            Ok(n) if String::from_utf8_lossy(&buf[..n]).contains("READY=1") => {
                return (start.elapsed(), child, sock)
            }
            Ok(_) => {}
            Err(e) => {
                stop(child);
                panic!("no READY=1 within 30 s: {e}");
            }
        }
    }
}

fn stop(mut child: std::process::Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let _ = child.wait();
}

fn rss_kib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn process_benchmarks() {
    let dir = tempfile::tempdir().unwrap();
    let config = site_file(dir.path());
    // First start creates and migrates the database; the measured starts reuse it.
    let (_, first, _sock) = start_until_ready(&config, dir.path());
    stop(first);

    let mut ready = Vec::new();
    let mut exec = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let ok = Command::new(env!("CARGO_BIN_EXE_govbox"))
            .arg("version")
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success());
        exec.push(t.elapsed().as_secs_f64());
        let (took, child, _sock) = start_until_ready(&config, dir.path());
        ready.push(took.as_secs_f64());
        std::thread::sleep(Duration::from_secs(2));
        rss.push(rss_kib(child.id()));
        stop(child);
    }
    let rss = median(rss) / 1024.0;
    let ready = median(ready) * 1000.0;
    let exec = median(exec) * 1000.0;
    println!(
        "idle RSS of govbox serve: {rss:.1} MiB = {:.2}x the 30 MiB goal",
        rss / 30.0
    );
    println!(
        "start to READY on an existing db: {ready:.1} ms = {:.2}x bare process start ({exec:.1} ms), {:.2}x the 300 ms goal",
        ready / exec,
        ready / 300.0
    );
}

async fn load(url: String, cookie: Option<String>) -> f64 {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, url, cookie, done, stop) = (
            client.clone(),
            url.clone(),
            cookie.clone(),
            done.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let mut req = client.get(&url);
                if let Some(c) = &cookie {
                    req = req.header("cookie", c);
                }
                let r = req.send().await.unwrap();
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(LOAD_SECONDS)).await;
    stop.store(true, Ordering::Relaxed);
    let n = done.load(Ordering::Relaxed);
    let secs = start.elapsed().as_secs_f64();
    for t in tasks {
        let _ = t.await;
    }
    n as f64 / secs
}

fn throughput_benchmark() {
    let dir = tempfile::tempdir().unwrap();
    let config = site_file(dir.path());
    let site = SiteConfig::load(&config).unwrap();
    std::fs::create_dir_all(&site.storage.data_dir).unwrap();
    let store = store::open(&site.db_path(), &site.site.id).unwrap();
    let hash = auth::hash_password("bench-Password-1").unwrap();
    let (token, _) = store
        .write_blocking(move |tx| -> Result<_, auth::AuthError> {
            let d = auth::create_department(tx, "基准县人民政府", None, DeptKind::Unit)?;
            let id = auth::create_user(
                tx,
                &NewUser {
                    username: "bench".into(),
                    display_name: "基准".into(),
                    roles: vec![RoleGrant {
                        role: Role::Clerk,
                        department_id: d,
                    }],
                },
                &hash,
            )?;
            Ok(auth::session::create(tx, id, "127.0.0.1")?)
        })
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let state = web::AppState::new(store, std::sync::Arc::new(site));
        let office = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let minimal = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let office_url = format!("http://{}/", office.local_addr().unwrap());
        let minimal_url = format!("http://{}/", minimal.local_addr().unwrap());
        let app = web::office_router(state)
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(office, app).await });
        let bare = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(minimal, bare).await });
        let cookie = format!("govbox_session={token}");
        let mut ours = Vec::new();
        let mut peer = Vec::new();
        for _ in 0..ROUNDS {
            peer.push(load(minimal_url.clone(), None).await);
            ours.push(load(office_url.clone(), Some(cookie.clone())).await);
        }
        let (ours, peer) = (median(ours), median(peer));
        println!(
            "office home page, signed-in clerk: {ours:.0} req/s = {:.2}x a minimal axum handler ({peer:.0} req/s) in the same process (goal >= 0.3x)",
            ours / peer
        );
    });
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing: run only on demand.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    process_benchmarks();
    throughput_benchmark();
}
