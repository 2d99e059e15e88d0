//! `govbox provision`: from a site file to a machine (or a directory tree) ready to boot as a
//! site. Everything that can be wrong with the input is checked before anything is written;
//! every step is idempotent and says whether it changed something.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid};

use crate::auth::{self, AuthError};
use crate::firewall::{self, FirewallError};
use crate::site::{ConfigError, SiteConfig};
use crate::store::StoreError;

const USER: &str = "govbox";

/// The units, embedded so that the binary alone can provision a machine.
const UNITS: &[(&str, &str)] = &[
    ("govbox.service", include_str!("../../units/govbox.service")),
    (
        "govbox-firewall.service",
        include_str!("../../units/govbox-firewall.service"),
    ),
    (
        "govbox-backup.service",
        include_str!("../../units/govbox-backup.service"),
    ),
    (
        "govbox-backup.timer",
        include_str!("../../units/govbox-backup.timer"),
    ),
    (
        "govbox-backup-drill.service",
        include_str!("../../units/govbox-backup-drill.service"),
    ),
    (
        "govbox-backup-drill.timer",
        include_str!("../../units/govbox-backup-drill.timer"),
    ),
    (
        "govbox-firstboot.service",
        include_str!("../../units/govbox-firstboot.service"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Firewall(#[from] FirewallError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}")]
    Failed(String),
}

impl ProvisionError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ProvisionError::Config(_) => 2,
            ProvisionError::Firewall(e) => e.exit_code(),
            ProvisionError::Auth(e) => e.exit_code(),
            _ => 1,
        }
    }
}

impl From<StoreError> for ProvisionError {
    fn from(e: StoreError) -> Self {
        ProvisionError::Auth(e.into())
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ProvisionError + '_ {
    move |e| ProvisionError::Io(path.display().to_string(), e)
}

/// What one run did: each step, and whether it changed anything.
#[derive(Default)]
pub struct Report {
    pub steps: Vec<(bool, String)>,
    /// The first admin's generated password, when this run created the admin without one given.
    pub admin_password: Option<String>,
}

impl Report {
    pub fn changed(&self) -> bool {
        self.steps.iter().any(|(c, _)| *c)
    }

    fn step(&mut self, changed: bool, what: String) {
        self.steps.push((changed, what));
    }
}

/// Provisions `root` ("/" for this machine) from `site_file`.
pub fn provision(
    site_file: &Path,
    root: &Path,
    admin_password: Option<String>,
) -> Result<Report, ProvisionError> {
    // All checks first: a bad file must leave nothing behind.
    let text = std::fs::read(site_file).map_err(io(site_file))?;
    let site = SiteConfig::load(site_file)?;
    if !site.firewall.is_empty() {
        let interfaces = (root == Path::new("/")).then(machine_interfaces).flatten();
        firewall::validate(&site, site_file, interfaces.as_deref())?;
    }
    if let Some(pw) = &admin_password {
        auth::check_policy("admin", pw)?;
    }
    let rooted = rooted_site(&site, root);

    let mut report = Report::default();
    let (uid, gid) = system_user(root, &site, &mut report)?;
    let root_ids = (Uid::from_raw(0), Gid::from_raw(0));
    let ours = (uid, gid);
    ensure_dir(&at(root, "/etc/govbox"), 0o755, root_ids, &mut report)?;
    ensure_dir(
        &at(root, &site.storage.pki_dir),
        0o750,
        (root_ids.0, gid),
        &mut report,
    )?;
    ensure_dir(&rooted.storage.data_dir, 0o750, ours, &mut report)?;
    for dir in rooted
        .storage
        .backup_dir
        .iter()
        .chain(rooted.backup.copy_dir.iter())
    {
        ensure_dir(dir, 0o750, ours, &mut report)?;
    }
    ensure_file(
        &at(root, "/etc/govbox/site.toml"),
        &text,
        0o640,
        (root_ids.0, gid),
        &mut report,
    )?;
    database(&rooted, root, admin_password, ours, &mut report)?;
    site_key(root, &site, gid, &mut report)?;
    units(root, &site, &mut report)?;
    if !site.firewall.is_empty() {
        let ruleset = firewall::render(&site, Path::new("/etc/govbox/site.toml"))?;
        let dir = rooted.storage.data_dir.join("firewall");
        ensure_dir(&dir, 0o700, root_ids, &mut report)?;
        ensure_file(
            &dir.join("confirmed.nft"),
            ruleset.as_bytes(),
            0o600,
            root_ids,
            &mut report,
        )?;
    }
    if root == Path::new("/") && report.changed() {
        let reloaded = std::process::Command::new("systemctl")
            .arg("daemon-reload")
            .status();
        if !reloaded.is_ok_and(|s| s.success()) {
            report.step(
                false,
                "systemctl daemon-reload 未成功（不在 systemd 下运行？）".into(),
            );
        }
    }
    Ok(report)
}

/// The site as seen from outside `root`: its paths prefixed with it.
fn rooted_site(site: &SiteConfig, root: &Path) -> SiteConfig {
    let mut s = site.clone();
    s.storage.data_dir = at(root, &site.storage.data_dir);
    s.storage.backup_dir = site.storage.backup_dir.as_ref().map(|p| at(root, p));
    s.backup.copy_dir = site.backup.copy_dir.as_ref().map(|p| at(root, p));
    s
}

fn at(root: &Path, abs: impl AsRef<Path>) -> PathBuf {
    root.join(abs.as_ref().strip_prefix("/").unwrap_or(abs.as_ref()))
}

fn machine_interfaces() -> Option<Vec<String>> {
    let read = std::fs::read_dir("/sys/class/net").ok()?;
    Some(
        read.flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
    )
}

/// The `govbox` system user: `useradd` on this machine, the passwd files under another root.
fn system_user(
    root: &Path,
    site: &SiteConfig,
    report: &mut Report,
) -> Result<(Uid, Gid), ProvisionError> {
    if root == Path::new("/") {
        if let Ok(Some(u)) = nix::unistd::User::from_name(USER) {
            report.step(false, format!("系统用户 {USER} 已存在"));
            return Ok((u.uid, u.gid));
        }
        let home = site.storage.data_dir.display().to_string();
        let st = std::process::Command::new("useradd")
            .args([
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
            ])
            .args(["--home-dir", &home, "--comment", "govbox appliance", USER])
            .status()
            .map_err(io(Path::new("useradd")))?;
        if !st.success() {
            return Err(ProvisionError::Failed(format!("useradd {USER} 失败")));
        }
        let u = nix::unistd::User::from_name(USER)
            .ok()
            .flatten()
            .ok_or_else(|| ProvisionError::Failed(format!("创建后仍找不到用户 {USER}")))?;
        report.step(true, format!("创建系统用户 {USER}"));
        return Ok((u.uid, u.gid));
    }
    let passwd = at(root, "/etc/passwd");
    let group = at(root, "/etc/group");
    let users = std::fs::read_to_string(&passwd).unwrap_or_default();
    if let Some(line) = users.lines().find(|l| l.split(':').next() == Some(USER)) {
        let f: Vec<&str> = line.split(':').collect();
        let (uid, gid) = (
            f.get(2).and_then(|v| v.parse().ok()),
            f.get(3).and_then(|v| v.parse().ok()),
        );
        if let (Some(uid), Some(gid)) = (uid, gid) {
            report.step(false, format!("系统用户 {USER} 已存在"));
            return Ok((Uid::from_raw(uid), Gid::from_raw(gid)));
        }
    }
    let groups = std::fs::read_to_string(&group).unwrap_or_default();
    let taken = |text: &str, id: u32| {
        text.lines()
            .any(|l| l.split(':').nth(2) == Some(id.to_string().as_str()))
    };
    let id = (100..1000u32)
        .rev()
        .find(|id| !taken(&users, *id) && !taken(&groups, *id))
        .ok_or_else(|| ProvisionError::Failed("没有空闲的系统用户编号".into()))?;
    std::fs::create_dir_all(at(root, "/etc")).map_err(io(root))?;
    let home = site.storage.data_dir.display();
    append_line(
        &passwd,
        &format!("{USER}:x:{id}:{id}:govbox appliance:{home}:/usr/sbin/nologin"),
    )?;
    append_line(&group, &format!("{USER}:x:{id}:"))?;
    let shadow = at(root, "/etc/shadow");
    if shadow.exists() {
        append_line(&shadow, &format!("{USER}:!:::::::"))?;
    }
    report.step(true, format!("创建系统用户 {USER} ({id})"));
    Ok((Uid::from_raw(id), Gid::from_raw(id)))
}

fn append_line(path: &Path, line: &str) -> Result<(), ProvisionError> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io(path))?;
    writeln!(f, "{line}").map_err(io(path))
}

fn ensure_dir(
    path: &Path,
    mode: u32,
    owner: (Uid, Gid),
    report: &mut Report,
) -> Result<(), ProvisionError> {
    let existed = path.is_dir();
    if !existed {
        std::fs::create_dir_all(path).map_err(io(path))?;
    }
    let fixed = ensure_meta(path, mode, owner)?;
    if !existed || fixed {
        report.step(true, format!("目录 {} ({mode:o})", path.display()));
    }
    Ok(())
}

/// Writes `bytes` (temporary name, fsync, rename) unless the file already holds them.
fn ensure_file(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: (Uid, Gid),
    report: &mut Report,
) -> Result<(), ProvisionError> {
    let same = std::fs::read(path).is_ok_and(|old| old == bytes);
    if !same {
        let tmp = path.with_extension("provision-tmp");
        std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))?;
    }
    let fixed = ensure_meta(path, mode, owner)?;
    if !same || fixed {
        report.step(true, format!("文件 {} ({mode:o})", path.display()));
    }
    Ok(())
}

/// Sets mode and owner where they differ; true when it changed something.
fn ensure_meta(path: &Path, mode: u32, (uid, gid): (Uid, Gid)) -> Result<bool, ProvisionError> {
    let meta = std::fs::metadata(path).map_err(io(path))?;
    let mut changed = false;
    if meta.mode() & 0o7777 != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io(path))?;
        changed = true;
    }
    if meta.uid() != uid.as_raw() || meta.gid() != gid.as_raw() {
        nix::unistd::chown(path, Some(uid), Some(gid)).map_err(|e| io(path)(e.into()))?;
        changed = true;
    }
    Ok(changed)
}

fn database(
    site: &SiteConfig,
    root: &Path,
    password: Option<String>,
    owner: (Uid, Gid),
    report: &mut Report,
) -> Result<(), ProvisionError> {
    let existed = site.db_path().exists();
    let store = super::open_store(site)?;
    let (password, generated) = match password {
        Some(p) => (p, false),
        None => (auth::generate_password(), true),
    };
    let created = super::first_admin(&store, &password);
    store.close();
    let created = created?;
    if !existed {
        report.step(true, format!("数据库 {}", site.db_path().display()));
    }
    if created {
        report.step(true, "首个管理员 admin".into());
        if generated {
            let file = at(root, "/etc/govbox/initial-admin-password");
            super::write_private(&file, &format!("{password}\n")).map_err(io(&file))?;
            report.admin_password = Some(password);
        }
    }
    for entry in std::fs::read_dir(&site.storage.data_dir)
        .map_err(io(&site.storage.data_dir))?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("govbox.") {
            let path = entry.path();
            let mode = std::fs::metadata(&path).map_err(io(&path))?.mode() & 0o7777;
            ensure_meta(&path, mode & 0o770, owner)?;
        }
    }
    Ok(())
}

/// The site's private key stays on the site; the CSR goes to whoever issues its certificate.
fn site_key(
    root: &Path,
    site: &SiteConfig,
    gid: Gid,
    report: &mut Report,
) -> Result<(), ProvisionError> {
    let key_path = at(root, site.storage.pki_dir.join("site.key"));
    let csr_path = at(root, site.storage.pki_dir.join("site.csr"));
    let owner = (Uid::from_raw(0), gid);
    let failed = |e: rcgen::Error| ProvisionError::Failed(format!("密钥/证书请求: {e}"));
    let key = match std::fs::read_to_string(&key_path) {
        Ok(pem) => rcgen::KeyPair::from_pem(&pem).map_err(failed)?,
        Err(_) => {
            let key = rcgen::KeyPair::generate().map_err(failed)?;
            ensure_file(
                &key_path,
                key.serialize_pem().as_bytes(),
                0o640,
                owner,
                report,
            )?;
            key
        }
    };
    ensure_meta(&key_path, 0o640, owner)?;
    if !csr_path.exists() {
        let csr = crate::replication::csr_pem(&key, &site.site.id, site.site.tier)
            .map_err(|e| ProvisionError::Failed(format!("证书请求: {e}")))?;
        ensure_file(&csr_path, csr.as_bytes(), 0o644, owner, report)?;
    }
    Ok(())
}

fn units(root: &Path, site: &SiteConfig, report: &mut Report) -> Result<(), ProvisionError> {
    let dir = at(root, "/etc/systemd/system");
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let root_ids = (Uid::from_raw(0), Gid::from_raw(0));
    for (name, text) in UNITS {
        ensure_file(&dir.join(name), text.as_bytes(), 0o644, root_ids, report)?;
    }
    // The service may write only the site's own directories.
    let writable: Vec<String> = std::iter::once(&site.storage.data_dir)
        .chain(site.storage.backup_dir.iter())
        .chain(site.backup.copy_dir.iter())
        .map(|p| p.display().to_string())
        .collect();
    let dropin = dir.join("govbox.service.d");
    std::fs::create_dir_all(&dropin).map_err(io(&dropin))?;
    let paths = format!(
        "# Written by `govbox provision` from site.toml.\n[Service]\nReadWritePaths=\nReadWritePaths={}\n",
        writable.join(" ")
    );
    ensure_file(
        &dropin.join("paths.conf"),
        paths.as_bytes(),
        0o644,
        root_ids,
        report,
    )?;
    let mut wanted = vec![
        ("multi-user.target.wants", "govbox.service"),
        ("timers.target.wants", "govbox-backup.timer"),
        ("timers.target.wants", "govbox-backup-drill.timer"),
    ];
    if !site.firewall.is_empty() {
        wanted.push(("sysinit.target.wants", "govbox-firewall.service"));
    }
    for (target, unit) in wanted {
        let link = dir.join(target).join(unit);
        let want = PathBuf::from("/etc/systemd/system").join(unit);
        if std::fs::read_link(&link).is_ok_and(|t| t == want) {
            continue;
        }
        std::fs::create_dir_all(dir.join(target)).map_err(io(&dir))?;
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&want, &link).map_err(io(&link))?;
        report.step(true, format!("启用 {unit}"));
    }
    Ok(())
}
