//! Site set-up: directories, database, first admin. `govbox demo` builds a whole demo site here.

pub mod demo;
mod system;

pub use system::{provision, ProvisionError, Report};

use std::path::Path;

use crate::auth::{self, AuthError, DeptKind, NewUser, Role, RoleGrant};
use crate::site::SiteConfig;
use crate::store::{self, Store};

/// Creates the data dir with owner-only permissions: it holds password hashes and sessions.
pub fn ensure_data_dir(site: &SiteConfig) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = &site.storage.data_dir;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750))
}

/// Opens the site database, creating it with the site's top department (its own government,
/// department 1) the first time, so the first admin can be added at once.
pub fn open_store(site: &SiteConfig) -> Result<Store, AuthError> {
    let store = store::open(&site.db_path(), &site.site.id)?;
    let top = format!("{}人民政府", site.site.name.trim_end_matches("人民政府"));
    store.write_blocking(move |tx| -> Result<(), AuthError> {
        let any: bool =
            tx.conn()
                .query_row("SELECT EXISTS(SELECT 1 FROM departments)", [], |r| r.get(0))?;
        if !any {
            auth::create_department(tx, &top, None, DeptKind::Unit)?;
        }
        Ok(())
    })?;
    Ok(store)
}

/// Creates the top department (the site's own government) and the admin, once. Returns false
/// when the site already had users, so a rerun changes nothing.
pub fn first_admin(store: &Store, password: &str) -> Result<bool, AuthError> {
    let has_users: bool = store.read_blocking(|c| -> Result<bool, AuthError> {
        Ok(c.query_row("SELECT EXISTS(SELECT 1 FROM users)", [], |r| r.get(0))?)
    })?;
    if has_users {
        return Ok(false);
    }
    auth::check_policy("admin", password)?;
    let hash = auth::hash_password(password)?;
    store.write_blocking(move |tx| -> Result<(), AuthError> {
        let root: i64 = tx.conn().query_row(
            "SELECT id FROM departments WHERE parent_id IS NULL ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )?;
        auth::create_user(
            tx,
            &NewUser {
                username: "admin".into(),
                display_name: "系统管理员".into(),
                roles: vec![RoleGrant {
                    role: Role::Admin,
                    department_id: root,
                }],
            },
            &hash,
        )?;
        auth::audit::append(
            tx,
            &auth::AuditEntry {
                actor: cli_actor(),
                roles: String::new(),
                action: "site.init".into(),
                object: "user:admin".into(),
                client: "local".into(),
                outcome: auth::Outcome::Ok,
                detail: String::new(),
            },
        )?;
        Ok(())
    })?;
    Ok(true)
}

/// The audit actor for commands run at the console: `cli:<login name>`.
pub fn cli_actor() -> String {
    let who = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "root".into());
    format!("cli:{who}")
}

pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
