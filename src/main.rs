//! The `govbox` command: parse, call into a part, map its error to an exit code (0 ok,
//! 1 failure, 2 bad usage or bad input). Nothing else lives here.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use govbox::approval::calendar::{self, cli::CalendarCmd, CalendarError};
use govbox::approval::notify::{self, NotifyError};
use govbox::auth::{self, AuthError, NewUser, RoleGrant};
use govbox::provision::{self, demo};
use govbox::site::{self, ConfigError, SiteConfig};
use govbox::store::{self, DataDirLock, StoreError};
use govbox::supervision;
use govbox::web;
use govbox::{backup, firewall, replication};

#[derive(Parser)]
#[command(
    name = "govbox",
    version,
    about = "政务一体机 govbox: portal, office, approval, backup, replication, firewall"
)]
struct Cli {
    /// Site file.
    #[arg(long, global = true, env = "GOVBOX_CONFIG", default_value = site::DEFAULT_CONFIG)]
    config: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a demo county site on loopback with demo data, printing URLs and logins.
    Demo {
        /// Keep the site in DIR (reused by the next `demo --data DIR`); default: a temporary dir removed at exit.
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long)]
        portal: Option<SocketAddr>,
        #[arg(long)]
        office: Option<SocketAddr>,
        /// Password for `admin`; generated and printed when not given.
        #[arg(long)]
        admin_password: Option<String>,
    },
    /// Serve the site described by --config.
    Serve,
    /// Set up this machine (or a directory tree) as the site a site file describes: system
    /// user, directories, config, database and first admin, site key and CSR, units, firewall.
    Provision {
        /// The site file to provision from.
        #[arg(long)]
        site: PathBuf,
        /// Provision into this directory tree instead of the running system (image builds, tests).
        #[arg(long, default_value = "/")]
        root: PathBuf,
        /// The first admin's password (first line of the file); generated when not given.
        #[arg(long)]
        admin_password_file: Option<PathBuf>,
    },
    /// Validate the site file and exit.
    CheckConfig,
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCmd),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Hot backups: create, list, verify, restore, prune, drill.
    #[command(subcommand)]
    Backup(BackupCmd),
    /// The machine-room firewall (nftables table `inet govbox`).
    #[command(subcommand)]
    Firewall(firewall::FirewallCmd),
    /// The site CA (at the province): create it, sign site certificates.
    #[command(subcommand)]
    Ca(replication::CaCmd),
    /// This site's certificate: make the key and CSR, rotate, install the signed certificate.
    Enrol(replication::EnrolArgs),
    /// Replication to the upstream and from the sites below.
    #[command(subcommand)]
    Replication(replication::ReplicationCmd),
    /// The working-day calendar: holidays and make-up working days, due dates, notice import.
    /// Reads the site's calendar with an explicit --config, the shipped one otherwise.
    #[command(subcommand)]
    Calendar(CalendarCmd),
    /// Print the version and the schema version.
    Version,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user.
    Add {
        username: String,
        /// Display name (姓名).
        #[arg(long)]
        name: String,
        /// ROLE@DEPARTMENT (department id or exact name), repeatable; e.g. clerk@县行政服务中心.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Read the password from this file ('-' for standard input); generated and printed otherwise.
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// Mobile number for the approval to-do SMS (11 digits).
        #[arg(long)]
        phone: Option<String>,
    },
    /// Set a user's password (ends their sessions).
    Passwd {
        username: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// List users and their roles.
    List,
    /// Disable a user (ends their sessions).
    Disable { username: String },
}

#[derive(Subcommand)]
enum BackupCmd {
    /// Take a backup now (the site keeps serving).
    Create {
        /// Write it here instead of storage.backup_dir.
        #[arg(long)]
        to: Option<PathBuf>,
        /// Only if backup.interval_hours have passed since the newest backup (for the timer).
        #[arg(long)]
        if_due: bool,
    },
    /// Every backup and copy: size, seq, verification, and the last restore drill.
    List,
    /// Check every checksum and the database snapshot; exit 1 naming the first bad member.
    Verify { archive: PathBuf },
    /// Restore ARCHIVE as this site's data (stop the service first).
    Restore {
        archive: PathBuf,
        /// Accept an archive of another site id.
        #[arg(long)]
        force_site: bool,
    },
    /// Delete backups the retention policy does not keep.
    Prune {
        #[arg(long)]
        dry_run: bool,
    },
    /// Restore the newest backup into a scratch directory and record the time it took.
    Drill,
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Check the hash chain; exit 1 naming the first broken row.
    Verify,
}

/// Every part's error, each with its own exit code.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Firewall(#[from] firewall::FirewallError),
    #[error(transparent)]
    Backup(#[from] backup::BackupError),
    #[error(transparent)]
    Provision(#[from] provision::ProvisionError),
    #[error(transparent)]
    Replication(#[from] replication::ReplicationError),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error(transparent)]
    Notify(#[from] NotifyError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(String),
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Failure::Config(_) | Failure::Usage(_) => 2,
            Failure::Auth(e) => e.exit_code(),
            Failure::Firewall(e) => e.exit_code(),
            Failure::Backup(e) => e.exit_code(),
            Failure::Provision(e) => e.exit_code(),
            Failure::Replication(e) => e.exit_code(),
            Failure::Calendar(e) => e.exit_code(),
            Failure::Notify(NotifyError::Store(_)) => 1,
            Failure::Notify(_) => 2,
            Failure::Store(StoreError::TooNew { .. }) => 2,
            Failure::Store(_) | Failure::Io(_) => 1,
        }
    }
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    // Some commands fall back to built-in data when no site file was named at all.
    let config_given = matches.value_source("config") != Some(ValueSource::DefaultValue);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    init_logging();
    match run(cli, config_given) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli, config_given: bool) -> Result<(), Failure> {
    let config = cli.config;
    match cli.cmd {
        Cmd::Calendar(cmd) => {
            let needs_site = config_given || matches!(cmd, CalendarCmd::Import { .. });
            let site = if needs_site {
                Some(SiteConfig::load(&config)?)
            } else {
                None
            };
            Ok(calendar::cli::run(cmd, site.as_ref())?)
        }
        Cmd::Version => {
            println!(
                "govbox {} (schema {})",
                env!("CARGO_PKG_VERSION"),
                store::schema_version()
            );
            Ok(())
        }
        Cmd::CheckConfig => {
            let site = SiteConfig::load(&config)?;
            println!(
                "{}: 配置有效（站点 {}，{}）",
                config.display(),
                site.site.id,
                site.site.tier.label_zh()
            );
            Ok(())
        }
        Cmd::Serve => {
            let site = SiteConfig::load(&config)?;
            serve(site, |_, _| Ok(()))
        }
        Cmd::Provision {
            site,
            root,
            admin_password_file,
        } => {
            let password = match admin_password_file {
                Some(f) => Some(password_from(Some(&f))?.0),
                None => None,
            };
            let report = provision::provision(&site, &root, password)?;
            for (changed, what) in &report.steps {
                if *changed {
                    println!("  + {what}");
                }
            }
            if let Some(pw) = &report.admin_password {
                println!("首个管理员 admin 的初始密码（也保存在 /etc/govbox/initial-admin-password，登录后请修改）: {pw}");
            }
            if report.changed() {
                println!("站点已配置完成: {}", root.display());
            } else {
                println!("没有任何改动：站点已经是配置好的状态");
            }
            Ok(())
        }
        Cmd::Demo {
            data,
            portal,
            office,
            admin_password,
        } => run_demo(data, portal, office, admin_password),
        Cmd::User(cmd) => user(&config, cmd),
        Cmd::Backup(cmd) => {
            let site = SiteConfig::load(&config)?;
            backup_cmd(&site, cmd)
        }
        Cmd::Firewall(firewall::FirewallCmd::Watch { state_dir, token }) => {
            Ok(firewall::watch(&state_dir, &token)?)
        }
        Cmd::Firewall(cmd) => {
            let site = SiteConfig::load(&config)?;
            Ok(firewall::run(cmd, &site, &config)?)
        }
        Cmd::Ca(cmd) => Ok(replication::ca(cmd)?),
        Cmd::Enrol(args) => {
            let site = SiteConfig::load(&config)?;
            Ok(replication::enrol(&site, args)?)
        }
        Cmd::Replication(replication::ReplicationCmd::Status { json }) => {
            let site = SiteConfig::load(&config)?;
            Ok(replication::status_cmd(&site, json)?)
        }
        Cmd::Audit(AuditCmd::Verify) => {
            let site = SiteConfig::load(&config)?;
            let conn = store::open_read_only(&site.db_path())?;
            let rows = auth::verify_audit(&conn)?;
            println!("审计日志完整: {rows} 行，哈希链校验通过");
            Ok(())
        }
    }
}

/// Opens the site (creating its database if needed) under the data-dir lock and serves it.
/// `announce` runs once the listeners are bound, before serving starts.
fn serve(
    site: SiteConfig,
    announce: impl FnOnce(&SiteConfig, (SocketAddr, SocketAddr)) -> Result<(), Failure>,
) -> Result<(), Failure> {
    provision::ensure_data_dir(&site)
        .map_err(|e| Failure::Io(format!("{}: {e}", site.storage.data_dir.display())))?;
    let _lock = DataDirLock::acquire(&site.storage.data_dir)?;
    let store = provision::open_store(&site)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Io(format!("tokio: {e}")))?;
    rt.block_on(async move {
        let signals = web::Signals::install().map_err(|e| Failure::Io(format!("signals: {e}")))?;
        let bound = web::Bound::bind(&site).await.map_err(|(key, e)| {
            Failure::Io(format!(
                "无法监听 {key}: {e}。检查端口是否被占用，或修改站点配置中的监听地址"
            ))
        })?;
        let addrs = bound.addrs().map_err(|e| Failure::Io(e.to_string()))?;
        log::info!(
            "site {} serving: portal {} office {}",
            site.site.id,
            addrs.0,
            addrs.1
        );
        let site = std::sync::Arc::new(site);
        let replication = replication::prepare(&store, &site).await?;
        let sms = notify::worker::Worker::new(store.clone(), &site.sms)?;
        announce(&site, addrs)?;
        println!("portal: http://{}/", addrs.0);
        println!("office: http://{}/", addrs.1);
        if let Some(a) = replication.receiver_addr() {
            println!("replication: https://{a}/");
        }
        let state_store = store.clone();
        let supervision_cfg = site.supervision.clone();
        let state = web::AppState::new(store, site);
        web::serve(state, bound, signals, move |stop| {
            let mut tasks = replication.spawn(stop.clone());
            tasks.push(supervision::worker::spawn(
                state_store,
                &supervision_cfg,
                stop.clone(),
            ));
            tasks.push(sms.spawn(stop));
            tasks
        })
        .await
        .map_err(|e| Failure::Io(e.to_string()))
    })
}

fn run_demo(
    data: Option<PathBuf>,
    portal: Option<SocketAddr>,
    office: Option<SocketAddr>,
    admin_password: Option<String>,
) -> Result<(), Failure> {
    let temp;
    let dir = match data {
        Some(d) => d,
        None => {
            temp = tempfile::Builder::new()
                .prefix("govbox-demo-")
                .tempdir()
                .map_err(|e| Failure::Io(format!("临时目录: {e}")))?;
            temp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| Failure::Io(format!("{}: {e}", dir.display())))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| Failure::Io(format!("{}: {e}", dir.display())))?;
    let opts = demo::DemoOptions {
        dir: dir.clone(),
        portal,
        office,
        admin_password,
    };
    let (site, new) = demo::site_file(&opts)?;
    provision::ensure_data_dir(&site)
        .map_err(|e| Failure::Io(format!("{}: {e}", site.storage.data_dir.display())))?;
    let logins = {
        let _lock = DataDirLock::acquire(&site.storage.data_dir)?;
        let store = provision::open_store(&site)?;
        let logins = demo::prepare(&store, &opts);
        store.close();
        logins?
    };
    replication::demo_enrol(&site, &dir)?;
    serve(site, move |site, addrs| {
        demo::save_site_file(&dir, site, addrs)
            .map_err(|e| Failure::Io(format!("{}: {e}", dir.display())))?;
        println!(
            "govbox 演示站点{}（{}，{}）",
            if new { "已创建" } else { "已重新启动" },
            site.site.name,
            site.site.id
        );
        println!("  数据目录 data dir: {}", dir.display());
        println!("  站点配置 site file: {}", dir.join("site.toml").display());
        println!("  登录 logins (office):");
        println!("    admin  {}  系统管理员", logins.admin_password);
        for (name, role) in demo::staff_logins() {
            println!("    {name:<15} {}  {role}", logins.staff_password);
        }
        println!("  按 Ctrl-C 停止 (Ctrl-C to stop)");
        Ok(())
    })
}

fn user(config: &Path, cmd: UserCmd) -> Result<(), Failure> {
    let site = SiteConfig::load(config)?;
    if !site.db_path().exists() {
        return Err(StoreError::Missing(site.db_path().display().to_string()).into());
    }
    let store = provision::open_store(&site)?;
    let result = user_with(&store, cmd);
    store.close();
    result
}

fn user_with(store: &store::Store, cmd: UserCmd) -> Result<(), Failure> {
    let audit = |action: &str, object: String| auth::AuditEntry {
        actor: provision::cli_actor(),
        roles: String::new(),
        action: action.into(),
        object,
        client: "local".into(),
        outcome: auth::Outcome::Ok,
        detail: String::new(),
    };
    match cmd {
        UserCmd::List => {
            let users = store.read_blocking(auth::list_users)?;
            let depts = store.read_blocking(auth::list_departments)?;
            let dept_name = |id: i64| {
                depts
                    .iter()
                    .find(|d| d.id == id)
                    .map_or_else(|| id.to_string(), |d| d.name.clone())
            };
            for u in users {
                let roles: Vec<String> = u
                    .roles
                    .iter()
                    .map(|g| format!("{}@{}", g.role.code(), dept_name(g.department_id)))
                    .collect();
                println!(
                    "{}\t{}\t{}\t{}",
                    u.username,
                    u.display_name,
                    if u.disabled { "停用" } else { "正常" },
                    roles.join(",")
                );
            }
            Ok(())
        }
        UserCmd::Disable { username } => {
            let entry = audit("user.disable", format!("user:{username}"));
            store.write_blocking(move |tx| -> Result<(), AuthError> {
                auth::disable_user(tx, &username)?;
                auth::audit::append(tx, &entry)?;
                Ok(())
            })?;
            println!("已停用");
            Ok(())
        }
        UserCmd::Passwd {
            username,
            password_file,
        } => {
            let (password, generated) = password_from(password_file.as_deref())?;
            auth::check_policy(&username, &password)?;
            let hash = auth::hash_password(&password)?;
            let entry = audit("user.passwd", format!("user:{username}"));
            store.write_blocking(move |tx| -> Result<(), AuthError> {
                auth::set_password(tx, &username, &hash)?;
                auth::audit::append(tx, &entry)?;
                Ok(())
            })?;
            print_password(generated, &password);
            Ok(())
        }
        UserCmd::Add {
            username,
            name,
            roles,
            password_file,
            phone,
        } => {
            auth::validate_username(&username)?;
            let mut grants = Vec::new();
            for spec in &roles {
                let (role, dept) = spec.split_once('@').ok_or_else(|| {
                    Failure::Usage(format!(
                        "--role {spec}: 写成 角色@部门，例如 clerk@县行政服务中心"
                    ))
                })?;
                let role = role
                    .parse()
                    .map_err(|e: String| Failure::Usage(format!("--role {spec}: {e}")))?;
                let dept = dept.to_string();
                let department_id =
                    store.read_blocking(move |c| auth::find_department(c, &dept))?;
                grants.push(RoleGrant {
                    role,
                    department_id,
                });
            }
            let (password, generated) = password_from(password_file.as_deref())?;
            auth::check_policy(&username, &password)?;
            let hash = auth::hash_password(&password)?;
            let entry = audit("user.add", format!("user:{username}"));
            let new = NewUser {
                username,
                display_name: name,
                roles: grants,
            };
            store.write_blocking(move |tx| -> Result<(), AuthError> {
                auth::create_user(tx, &new, &hash)?;
                if let Some(p) = &phone {
                    auth::set_phone(tx, &new.username, p)?;
                }
                auth::audit::append(tx, &entry)?;
                Ok(())
            })?;
            println!("已添加用户");
            print_password(generated, &password);
            Ok(())
        }
    }
}

fn backup_cmd(site: &SiteConfig, cmd: BackupCmd) -> Result<(), Failure> {
    match cmd {
        BackupCmd::Create { to, if_due } => {
            if if_due && !backup::due(site)? {
                println!(
                    "距上次备份不足 {} 小时，本次跳过",
                    site.backup.interval_hours
                );
                return Ok(());
            }
            backup::run_in_background();
            let c = backup::create(site, to.as_deref())?;
            println!(
                "备份完成: {}（变更序号 {}，已校验）",
                c.path.display(),
                c.manifest.seq
            );
            if let Some(copy) = c.copy {
                println!("第二份: {}（已校验）", copy.display());
            }
        }
        BackupCmd::List => {
            let entries = backup::list(site)?;
            match &site.storage.backup_dir {
                None => println!(
                    "本站点没有配置 storage.backup_dir，定时备份和恢复演练无处可用。修正: 在 [storage] 中写 backup_dir = \"/srv/backup/govbox\"（第二块磁盘）"
                ),
                Some(dir) if entries.is_empty() => println!(
                    "{} 中还没有备份（govbox backup create）",
                    dir.display()
                ),
                Some(_) => {}
            }
            for e in entries {
                let verified = match &e.verified {
                    Some(v) if v.ok => format!("已校验 {}", govbox::clock::show(&v.at)),
                    Some(v) => format!("校验失败 {}", govbox::clock::show(&v.at)),
                    None => "未校验".into(),
                };
                let seq = e
                    .manifest
                    .as_ref()
                    .map_or_else(|| "?".into(), |m| m.seq.to_string());
                println!(
                    "{}\t{} 字节\t序号 {seq}\t{verified}",
                    e.path.display(),
                    e.size
                );
            }
            match backup::last_drill(site) {
                Some(d) => println!(
                    "最近一次恢复演练: {}，{}，用时 {:.1} 秒",
                    govbox::clock::show(&d.at),
                    if d.ok { "成功" } else { "失败" },
                    d.seconds
                ),
                None => println!("还没有做过恢复演练（govbox backup drill）"),
            }
        }
        BackupCmd::Verify { archive } => {
            let m = backup::verify_and_record(&archive)?;
            println!(
                "归档完整: 站点 {}，变更序号 {}，{} 个成员，数据库完整性检查通过",
                m.site,
                m.seq,
                m.members.len()
            );
        }
        BackupCmd::Restore {
            archive,
            force_site,
        } => {
            let r = backup::restore(site, &archive, force_site)?;
            println!("已恢复到变更序号 {} 的状态", r.manifest.seq);
            if let Some(aside) = r.aside {
                println!("原来的数据保存在: {}", aside.display());
            }
            println!(
                "新的变更将从序号 {} 之后继续。现在可以启动服务。",
                r.seq_floor
            );
        }
        BackupCmd::Prune { dry_run } => {
            let gone = backup::prune(site, dry_run)?;
            let verb = if dry_run { "将删除" } else { "已删除" };
            for p in &gone {
                println!("{verb}: {}", p.display());
            }
            println!("{verb} {} 个备份", gone.len());
        }
        BackupCmd::Drill => {
            let d = backup::drill(site)?;
            println!(
                "恢复演练{}: {}，用时 {:.1} 秒",
                if d.ok { "成功" } else { "失败" },
                d.archive,
                d.seconds
            );
            if let Some(e) = d.error {
                return Err(Failure::Io(e));
            }
        }
    }
    Ok(())
}

/// (password, generated?) from a file, standard input, or a fresh random one.
fn password_from(file: Option<&Path>) -> Result<(String, bool), Failure> {
    let Some(file) = file else {
        return Ok((auth::generate_password(), true));
    };
    let mut text = String::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::Usage(format!("标准输入: {e}")))?;
    } else {
        text = std::fs::read_to_string(file)
            .map_err(|e| Failure::Usage(format!("--password-file {}: {e}", file.display())))?;
    }
    let pw = text.lines().next().unwrap_or("").to_string();
    Ok((pw, false))
}

fn print_password(generated: bool, password: &str) {
    if generated {
        println!("初始密码（只显示这一次）: {password}");
    }
}

/// journald when the service runs under systemd with its output connected to the journal,
/// stderr otherwise. `GOVBOX_LOG` sets the level (default info).
fn init_logging() {
    let level = std::env::var("GOVBOX_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(log::LevelFilter::Info);
    if systemd_journal_logger::connected_to_journal() {
        if let Ok(logger) = systemd_journal_logger::JournalLog::new() {
            if logger.install().is_ok() {
                log::set_max_level(level);
                return;
            }
        }
    }
    env_logger::Builder::new()
        .filter_level(level)
        .parse_env("GOVBOX_LOG")
        .init();
}
