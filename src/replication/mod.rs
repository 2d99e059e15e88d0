//! Replication township → county → province: the site CA and enrolment, the sender, the
//! receiver and relay, and their status. See docs/replication-runbook.md.

pub mod api;
mod listener;
mod pki;
mod receiver;
mod sender;
mod status;
pub mod view;
mod wire;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::StatusCode;

pub use listener::ROUTES;
pub use pki::{csr_pem, identity_of, PkiFiles, SiteIdentity, SiteTls};
pub use status::{status, Status};

use crate::site::{SiteConfig, Tier};
use crate::store::{Blobs, Store, StoreError};

#[derive(Debug, clap::Subcommand)]
pub enum CaCmd {
    /// Create the site CA (once, at the province).
    Init {
        /// Directory for ca.key and ca.crt; keep it off the network and backed up.
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "govbox 站点证书颁发机构")]
        name: String,
    },
    /// Sign a site's CSR; the certificate names the site, its tier and its parent.
    Issue {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        csr: PathBuf,
        #[arg(long)]
        site: String,
        #[arg(long, value_parser = ["township", "county", "province"])]
        tier: String,
        /// The parent site's id (not for the province).
        #[arg(long)]
        parent: Option<String>,
        #[arg(long, default_value_t = pki::DEFAULT_DAYS)]
        days: u32,
        /// Where to write the certificate (PEM); standard output if absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
pub struct EnrolArgs {
    /// Install the certificate the CA signed (with --ca) instead of making a request.
    #[arg(long, requires = "ca")]
    pub install: Option<PathBuf>,
    /// The CA certificate (ca.crt) that signed it.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Start a rotation: a new key and CSR beside the current ones, which keep working until
    /// the new certificate is installed.
    #[arg(long, conflicts_with = "install")]
    pub new_key: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReplicationCmd {
    /// Acknowledged and local seq, lag, last error; each site below a receiver.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("数据库错误: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}")]
    Refused(String),
    #[error("证书问题: {0}")]
    BadCertificate(String),
    #[error("请求格式不对: {0}")]
    Protocol(String),
    #[error("请求过大: {0}")]
    TooLarge(String),
    #[error("拒绝: {0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    Stale {
        message: String,
        expected: BTreeMap<String, i64>,
    },
    #[error("站点 {0} 请求过于频繁，请稍后再试")]
    RateLimited(String),
    #[error("{0}")]
    NotFound(String),
    #[error("连接上级失败: {0}")]
    Link(String),
    #[error("{0}")]
    Upstream(String),
}

impl ReplicationError {
    /// The HTTP answer of the replication listener and its stable code.
    pub fn status(&self) -> (StatusCode, &'static str) {
        use ReplicationError as E;
        match self {
            E::Protocol(_) => (StatusCode::BAD_REQUEST, "malformed"),
            E::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            E::Forbidden(_) | E::BadCertificate(_) => (StatusCode::FORBIDDEN, "wrong_site"),
            E::Conflict(_) => (StatusCode::CONFLICT, "missing_blob"),
            E::Stale { .. } => (StatusCode::CONFLICT, "out_of_order"),
            E::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            E::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            E::Refused(_) => (StatusCode::BAD_REQUEST, "refused"),
            E::Store(_) | E::Sqlite(_) | E::Io(..) | E::Link(_) | E::Upstream(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            ReplicationError::Refused(_) | ReplicationError::BadCertificate(_) => 2,
            _ => 1,
        }
    }
}

/// `govbox ca ...`
pub fn ca(cmd: CaCmd) -> Result<(), ReplicationError> {
    match cmd {
        CaCmd::Init { dir, name } => {
            let cert = pki::ca_init(&dir, &name)?;
            println!("CA 已创建: {}", cert.display());
            println!("把 ca.crt 发给各站点；ca.key 只留在这里，离线保存并备份。");
            Ok(())
        }
        CaCmd::Issue {
            dir,
            csr,
            site,
            tier,
            parent,
            days,
            out,
        } => {
            let csr_pem = std::fs::read_to_string(&csr)
                .map_err(|e| ReplicationError::Io(csr.display().to_string(), e))?;
            let tier = match tier.as_str() {
                "township" => Tier::Township,
                "county" => Tier::County,
                _ => Tier::Province,
            };
            let pem = pki::ca_issue(
                &dir,
                pki::IssueRequest {
                    csr_pem: &csr_pem,
                    identity: SiteIdentity {
                        site: site.clone(),
                        tier,
                        parent: parent.unwrap_or_default(),
                    },
                    days,
                },
            )?;
            match out {
                Some(path) => {
                    pki::replace_file(&path, pem.as_bytes(), 0o644)?;
                    eprintln!(
                        "已为站点 {site} 签发证书: {}（有效 {days} 天）",
                        path.display()
                    );
                }
                None => print!("{pem}"),
            }
            Ok(())
        }
    }
}

/// `govbox enrol`: make (or rotate) the site key and CSR, or install the signed certificate.
pub fn enrol(site: &SiteConfig, args: EnrolArgs) -> Result<(), ReplicationError> {
    let files = PkiFiles::new(&site.storage.pki_dir);
    if let Some(cert) = args.install {
        let ca = args.ca.unwrap_or_default();
        let installed = enrol_install(site, &files, &cert, &ca)?;
        println!(
            "证书已安装: {}（站点 {}，{}，有效期还有 {} 天）。重启服务生效: systemctl restart govbox",
            files.cert().display(),
            installed.site,
            installed.tier.label_zh(),
            pki::days_left_file(&files.cert()).unwrap_or(0)
        );
        return Ok(());
    }
    let (key_path, csr_path) = if args.new_key {
        (files.next_key(), files.next_csr())
    } else {
        (files.key(), files.csr())
    };
    std::fs::create_dir_all(&files.dir)
        .map_err(|e| ReplicationError::Io(files.dir.display().to_string(), e))?;
    let key = match std::fs::read_to_string(&key_path) {
        Ok(pem) => rcgen::KeyPair::from_pem(&pem).map_err(|e| {
            ReplicationError::BadCertificate(format!("{}: {e}", key_path.display()))
        })?,
        Err(_) => {
            let key = rcgen::KeyPair::generate()
                .map_err(|e| ReplicationError::BadCertificate(e.to_string()))?;
            pki::replace_file(&key_path, key.serialize_pem().as_bytes(), 0o640)?;
            key
        }
    };
    let csr = pki::csr_pem(&key, &site.site.id, site.site.tier)?;
    pki::replace_file(&csr_path, csr.as_bytes(), 0o644)?;
    println!("证书请求: {}", csr_path.display());
    println!(
        "私钥留在本机 ({})，不要发出去。把证书请求交给签发方，在那里运行:",
        key_path.display()
    );
    println!(
        "  govbox ca issue --dir <CA 目录> --csr {} --site {} --tier {}{} --out {}.crt",
        csr_path.file_name().unwrap_or_default().to_string_lossy(),
        site.site.id,
        site.site.tier.as_str(),
        site.site
            .parent
            .as_deref()
            .map(|p| format!(" --parent {p}"))
            .unwrap_or_default(),
        site.site.id
    );
    println!(
        "然后在本机: govbox enrol --install {}.crt --ca ca.crt",
        site.site.id
    );
    Ok(())
}

/// Checks that the certificate was signed by `ca`, names this site as site.toml says, and
/// belongs to the current key or the rotation's new key; then installs it atomically.
fn enrol_install(
    site: &SiteConfig,
    files: &PkiFiles,
    cert: &Path,
    ca: &Path,
) -> Result<SiteIdentity, ReplicationError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let read =
        |p: &Path| std::fs::read(p).map_err(|e| ReplicationError::Io(p.display().to_string(), e));
    let cert_pem = read(cert)?;
    let ca_pem = read(ca)?;
    let cert_der = CertificateDer::from_pem_slice(&cert_pem)
        .map_err(|e| ReplicationError::BadCertificate(format!("{}: {e}", cert.display())))?;
    let ca_der = CertificateDer::from_pem_slice(&ca_pem)
        .map_err(|e| ReplicationError::BadCertificate(format!("{}: {e}", ca.display())))?;
    let id = pki::verify_site_cert(&ca_der, &cert_der)?;
    let want = SiteIdentity {
        site: site.site.id.clone(),
        tier: site.site.tier,
        parent: site.site.parent.clone().unwrap_or_default(),
    };
    if id != want {
        return Err(ReplicationError::Refused(format!(
            "证书写的是站点 {} ({}，上级 {:?})，而 site.toml 是 {} ({}，上级 {:?})：请重新签发",
            id.site,
            id.tier.as_str(),
            id.parent,
            want.site,
            want.tier.as_str(),
            want.parent
        )));
    }
    let cert_key = pki::public_key_of(&cert_der)?;
    let key_matches = |p: &Path| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|pem| rcgen::KeyPair::from_pem(&pem).ok())
            .is_some_and(|k| k.public_key_raw() == cert_key.as_slice())
    };
    if key_matches(&files.next_key()) {
        let next = std::fs::read(files.next_key())
            .map_err(|e| ReplicationError::Io(files.next_key().display().to_string(), e))?;
        pki::replace_file(&files.key(), &next, 0o640)?;
        let _ = std::fs::remove_file(files.next_key());
        let _ = std::fs::rename(files.next_csr(), files.csr());
    } else if !key_matches(&files.key()) {
        return Err(ReplicationError::Refused(format!(
            "证书与本机私钥 {} 不匹配：它是用别的证书请求签发的",
            files.key().display()
        )));
    }
    pki::replace_file(&files.ca(), &ca_pem, 0o644)?;
    pki::replace_file(&files.cert(), &cert_pem, 0o644)?;
    Ok(id)
}

/// For `govbox demo`: a CA of its own in `demo_dir/ca` and a certificate for the site from it,
/// so the demo's replication listener serves and a demo township can be enrolled against the
/// same CA. Does nothing when the site already has a certificate, and nothing outside
/// `demo_dir`: a reused site file that leaves `storage.pki_dir` at its default must not have a
/// demo key written over a real site's `/etc/govbox/pki`.
pub fn demo_enrol(site: &SiteConfig, demo_dir: &Path) -> Result<(), ReplicationError> {
    let files = PkiFiles::new(&site.storage.pki_dir);
    if files.cert().exists() {
        return Ok(());
    }
    if !files.dir.starts_with(demo_dir) {
        eprintln!(
            "注意: storage.pki_dir = \"{}\" 不在演示目录里，演示不在那里生成证书；站点间复制不启用",
            files.dir.display()
        );
        return Ok(());
    }
    let ca_dir = demo_dir.join("ca");
    let ca_dir = ca_dir.as_path();
    if !ca_dir.join("ca.crt").exists() {
        pki::ca_init(ca_dir, "govbox 演示 CA")?;
    }
    std::fs::create_dir_all(&files.dir)
        .map_err(|e| ReplicationError::Io(files.dir.display().to_string(), e))?;
    let key = rcgen::KeyPair::generate()
        .map_err(|e| ReplicationError::BadCertificate(format!("site.key: {e}")))?;
    let cert = pki::ca_issue(
        ca_dir,
        pki::IssueRequest {
            csr_pem: &csr_pem(&key, &site.site.id, site.site.tier)?,
            identity: SiteIdentity {
                site: site.site.id.clone(),
                tier: site.site.tier,
                parent: site.site.parent.clone().unwrap_or_default(),
            },
            days: pki::DEFAULT_DAYS,
        },
    )?;
    let ca = std::fs::read(ca_dir.join("ca.crt"))
        .map_err(|e| ReplicationError::Io(ca_dir.display().to_string(), e))?;
    pki::replace_file(&files.key(), key.serialize_pem().as_bytes(), 0o600)?;
    pki::replace_file(&files.ca(), &ca, 0o644)?;
    pki::replace_file(&files.cert(), cert.as_bytes(), 0o644)
}

/// `govbox replication status`
pub fn status_cmd(site: &SiteConfig, json: bool) -> Result<(), ReplicationError> {
    let conn = crate::store::open_read_only(&site.db_path())?;
    let st = status(&conn, site)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&st)
                .map_err(|e| ReplicationError::Protocol(e.to_string()))?
        );
        return Ok(());
    }
    println!(
        "站点 {} ({})，本地变更序号 {}",
        st.site,
        st.tier.label_zh(),
        st.local_seq
    );
    match pki::days_left_file(&PkiFiles::new(&site.storage.pki_dir).cert()) {
        Some(d) if d < 30 => {
            println!("站点证书还有 {d} 天过期：现在就轮换 (govbox enrol --new-key)")
        }
        Some(d) => println!("站点证书还有 {d} 天过期"),
        None => println!("未安装站点证书（govbox enrol）"),
    }
    match &st.sender {
        None => println!("上级: 未配置 (upstream.url)"),
        Some(s) => {
            println!("上级: {}", s.upstream);
            println!(
                "  已确认序号 {}，积压 {} 条，最旧未送达 {} 秒",
                s.acked_seq, s.lag_changes, s.lag_seconds
            );
            if s.relay_pending > 0 {
                println!("  待转发下级变更 {} 条", s.relay_pending);
            }
            println!(
                "  最近成功: {}",
                s.last_ok_at
                    .as_deref()
                    .map_or("从未".into(), crate::clock::show)
            );
            if let Some(e) = &s.last_error {
                println!(
                    "  最近错误 ({}): {e}",
                    s.last_error_at
                        .as_deref()
                        .map_or(String::new(), crate::clock::show)
                );
            }
        }
    }
    if !st.children.is_empty() {
        println!("下级站点:");
        for c in &st.children {
            println!(
                "  {} ({}，经 {}): 已收到 {}，对方报告 {}，积压 {}，最近联系 {}{}{}",
                c.site,
                c.tier,
                c.via,
                c.last_seq,
                c.reported_seq,
                c.lag_changes,
                c.last_contact
                    .as_deref()
                    .map_or("从未".into(), crate::clock::show),
                if c.gaps > 0 {
                    format!("，缺失区间 {} 段", c.gaps)
                } else {
                    String::new()
                },
                c.alarm
                    .as_deref()
                    .map(|a| format!("  ⚠ {a}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// The background work of a serving site: the sender (if an upstream is configured) and the
/// receiver (if this tier receives). Missing certificates leave the office running and are
/// reported loudly, since enrolment usually happens after the first start.
pub struct Running {
    pub receiver: Option<(
        tokio::net::TcpListener,
        axum::Router,
        Arc<rustls::ServerConfig>,
    )>,
    pub sender: Option<sender::Sender>,
}

pub async fn prepare(store: &Store, site: &Arc<SiteConfig>) -> Result<Running, ReplicationError> {
    let wants_sender = site.upstream.url.is_some();
    let wants_receiver = site.site.tier != Tier::Township && site.listen.replication.is_some();
    if !wants_sender && !wants_receiver {
        return Ok(Running {
            receiver: None,
            sender: None,
        });
    }
    let tls = match SiteTls::load(&PkiFiles::new(&site.storage.pki_dir)) {
        Ok(t) => Arc::new(t),
        Err(e) => {
            log::error!("replication disabled: {e}");
            return Ok(Running {
                receiver: None,
                sender: None,
            });
        }
    };
    if tls.days_left() < 30 {
        log::warn!(
            "site certificate expires in {} days: rotate it (govbox enrol --new-key)",
            tls.days_left()
        );
    }
    let receiver = match (wants_receiver, site.listen.replication) {
        (true, Some(addr)) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| ReplicationError::Io(format!("listen.replication = \"{addr}\""), e))?;
            let r = receiver::Receiver {
                site_id: site.site.id.clone(),
                tier: site.site.tier,
                ca: tls.ca.clone(),
                blobs: Blobs::new(&site.storage.data_dir),
            };
            let app = listener::router(
                store.clone(),
                r,
                site.receiver.max_body_bytes as usize,
                site.receiver.requests_per_minute,
            );
            Some((listener, app, tls.server_config()?))
        }
        _ => None,
    };
    let sender = wants_sender.then(|| sender::Sender {
        store: store.clone(),
        site: site.clone(),
        tls: tls.clone(),
    });
    Ok(Running { receiver, sender })
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

impl Running {
    /// Starts the tasks; they end when `stop` turns true.
    pub fn spawn(
        self,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        if let Some((listener, app, tls)) = self.receiver {
            if let Ok(a) = listener.local_addr() {
                log::info!("replication receiver on {a}");
            }
            tasks.push(tokio::spawn(listener::serve(
                listener,
                tls,
                app,
                stop.clone(),
            )));
        }
        if let Some(s) = self.sender {
            tasks.push(tokio::spawn(sender::run(s, stop)));
        }
        tasks
    }

    pub fn receiver_addr(&self) -> Option<std::net::SocketAddr> {
        self.receiver
            .as_ref()
            .and_then(|(l, _, _)| l.local_addr().ok())
    }
}
