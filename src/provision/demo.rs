//! `govbox demo`: a county site with departments, a user for every role and some content, on
//! loopback, so a new person sees a working appliance with one command.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::{first_admin, write_private};
use crate::auth::{self, AuthError, DeptKind, NewUser, Role, RoleGrant};
use crate::site::SiteConfig;
use crate::store::Store;

pub const SITE_ID: &str = "demo-county";
const LOGINS_FILE: &str = "demo-logins.txt";

pub struct DemoOptions {
    pub dir: PathBuf,
    pub portal: Option<SocketAddr>,
    pub office: Option<SocketAddr>,
    pub admin_password: Option<String>,
}

/// The demo's logins, shown at start.
pub struct Logins {
    pub admin_password: String,
    /// Shared by every other demo user, whose username is the role code.
    pub staff_password: String,
}

/// Writes (or reuses) `DIR/site.toml`, returning the site and whether it was new.
pub fn site_file(opts: &DemoOptions) -> Result<(SiteConfig, bool), crate::site::ConfigError> {
    let path = opts.dir.join("site.toml");
    let existing = path.exists();
    let mut site = if existing {
        SiteConfig::load(&path)?
    } else {
        let text = format!(
            "# govbox demo site, written by `govbox demo`.\n\
             [site]\nid = \"{SITE_ID}\"\nname = \"示例县\"\ntier = \"county\"\nparent = \"demo-province\"\n\n\
             [listen]\nportal = \"127.0.0.1:8080\"\noffice = \"127.0.0.1:8081\"\nreplication = \"127.0.0.1:0\"\n\n\
             [storage]\ndata_dir = \"{}\"\npki_dir = \"{}\"\nbackup_dir = \"{}\"\n\n\
             [portal]\nicp = \"示ICP备00000000号-1\"\n",
            opts.dir.join("data").display(),
            opts.dir.join("pki").display(),
            opts.dir.join("backups").display()
        );
        SiteConfig::parse(&path, &text)?
    };
    if let Some(p) = opts.portal {
        site.listen.portal = p;
    }
    if let Some(o) = opts.office {
        site.listen.office = o;
    }
    Ok((site, !existing))
}

/// Persists the site file as used (listen overrides included), so `--config DIR/site.toml`
/// points other commands at exactly this site.
pub fn save_site_file(
    dir: &Path,
    site: &SiteConfig,
    bound: (SocketAddr, SocketAddr),
) -> std::io::Result<()> {
    let mut s = site.clone();
    s.listen.portal = bound.0;
    s.listen.office = bound.1;
    let text = format!(
        "# govbox demo site, written by `govbox demo`.\n{}",
        toml::to_string(&s).map_err(std::io::Error::other)?
    );
    write_private(&dir.join("site.toml"), &text)
}

/// Seeds a new demo site, or on an existing one resets the admin password if one was given.
pub fn prepare(store: &Store, opts: &DemoOptions) -> Result<Logins, AuthError> {
    let logins_path = opts.dir.join(LOGINS_FILE);
    let saved = std::fs::read_to_string(&logins_path).ok();
    let mut logins = match saved.as_deref().and_then(parse_logins) {
        Some(l) => l,
        None => Logins {
            admin_password: auth::generate_password(),
            staff_password: auth::generate_password(),
        },
    };
    if let Some(pw) = &opts.admin_password {
        auth::check_policy("admin", pw)?;
        logins.admin_password = pw.clone();
    }
    if first_admin(store, &logins.admin_password)? {
        seed(store, &logins.staff_password)?;
    } else if let Some(pw) = &opts.admin_password {
        let hash = auth::hash_password(pw)?;
        store.write_blocking(move |tx| auth::set_password(tx, "admin", &hash))?;
    }
    let text = format!(
        "admin {}\nstaff {}\n",
        logins.admin_password, logins.staff_password
    );
    write_private(&logins_path, &text).map_err(|e| AuthError::Internal(e.to_string()))?;
    Ok(logins)
}

fn parse_logins(text: &str) -> Option<Logins> {
    let mut admin = None;
    let mut staff = None;
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("admin", pw)) => admin = Some(pw.to_string()),
            Some(("staff", pw)) => staff = Some(pw.to_string()),
            _ => {}
        }
    }
    Some(Logins {
        admin_password: admin?,
        staff_password: staff?,
    })
}

/// (role, display name, department index into DEPARTMENTS)
const STAFF: &[(Role, &str, usize)] = &[
    (Role::Clerk, "王窗口", 2),
    (Role::Handler, "李承办", 3),
    (Role::Reviewer, "赵审核", 3),
    (Role::Approver, "钱批准", 3),
    (Role::DeptHead, "孙科长", 4),
    (Role::Leader, "周副县长", 0),
    (Role::Supervisor, "吴监察", 5),
    (Role::Editor, "郑编辑", 1),
    (Role::ChiefEditor, "冯主编", 1),
    (Role::GeneralEditor, "陈总编", 1),
    (Role::Auditor, "褚审计", 5),
];

/// (name, kind, parent index; None = under the site's top department)
const DEPARTMENTS: &[(&str, DeptKind, Option<usize>)] = &[
    ("县政府办公室", DeptKind::Unit, None),
    ("信息公开科", DeptKind::Office, Some(0)),
    ("县行政服务中心", DeptKind::Unit, None),
    ("县市场监督管理局", DeptKind::Unit, None),
    ("登记注册科", DeptKind::Office, Some(3)),
    ("县纪委监委派驻监察室", DeptKind::Unit, None),
    ("县自然资源局", DeptKind::Unit, None),
];

fn seed(store: &Store, staff_password: &str) -> Result<(), AuthError> {
    let hash = auth::hash_password(staff_password)?;
    store.write_blocking(move |tx| -> Result<(), AuthError> {
        let root: i64 = tx.conn().query_row(
            "SELECT id FROM departments WHERE parent_id IS NULL ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )?;
        let mut ids: Vec<i64> = Vec::new();
        for (name, kind, parent) in DEPARTMENTS {
            let parent = parent.map_or(root, |i| ids[i]);
            ids.push(auth::create_department(tx, name, Some(parent), *kind)?);
        }
        for (role, name, dept) in STAFF {
            auth::create_user(
                tx,
                &NewUser {
                    username: role.code().into(),
                    display_name: (*name).into(),
                    roles: vec![RoleGrant {
                        role: *role,
                        department_id: ids[*dept],
                    }],
                },
                &hash,
            )?;
        }
        crate::office::demo::seed(tx).map_err(|e| AuthError::Internal(e.to_string()))?;
        crate::approval::demo::seed(tx, &hash).map_err(|e| AuthError::Internal(e.to_string()))?;
        crate::supervision::demo::seed(tx).map_err(|e| AuthError::Internal(e.to_string()))?;
        crate::portal::demo::seed(tx).map_err(|e| AuthError::Internal(e.to_string()))?;
        auth::audit::append(
            tx,
            &auth::AuditEntry {
                actor: super::cli_actor(),
                roles: String::new(),
                action: "demo.seed".into(),
                object: "site".into(),
                client: "local".into(),
                outcome: auth::Outcome::Ok,
                detail: format!("{} departments, {} users", DEPARTMENTS.len(), STAFF.len()),
            },
        )?;
        Ok(())
    })
}

/// The demo usernames other than admin, with their role names, in display order.
pub fn staff_logins() -> Vec<(String, &'static str)> {
    STAFF
        .iter()
        .map(|(r, _, _)| (r.code().to_string(), r.name_zh()))
        .collect()
}
