//! Users, roles, departments, sessions, password hashing, login throttling, the audit log.
//!
//! Free of HTTP: the web part calls these with a connection or a write transaction.

pub mod audit;
mod password;
mod roles;
pub mod session;
mod throttle;
mod users;

use rusqlite::Connection;

pub use audit::{Entry as AuditEntry, Outcome};
pub use password::{check_policy, generate as generate_password, hash as hash_password};
pub use roles::Role;
pub use session::Session;
pub use throttle::Throttle;
pub use users::{
    create_department, create_user, department, disable_user, find_department, list_departments,
    list_users, phone, set_password, set_phone, user, user_id, users_with_role, validate_username,
    Department, DeptKind, NewUser, RoleGrant, User,
};

use crate::store::{StoreError, WriteTx};

/// Checks a login. Unknown users cost the same argon2 work as known ones, so timing does not
/// tell which usernames exist. Call off the async runtime.
pub fn authenticate(conn: &Connection, username: &str, password: &str) -> Result<User, AuthError> {
    let record = users::login_record(conn, username)?;
    let Some((id, stored, disabled)) = record else {
        let _ = password::verify(password, DUMMY_HASH);
        return Err(AuthError::BadCredentials);
    };
    if !password::verify(password, &stored) {
        return Err(AuthError::BadCredentials);
    }
    if disabled {
        return Err(AuthError::Disabled);
    }
    users::user(conn, id)
}

/// Appends one audit row in its own transaction (for refusals and failures, which have no
/// business write to ride along with).
pub fn audit_alone(tx: &mut WriteTx, entry: &AuditEntry) -> Result<(), StoreError> {
    audit::append(tx, entry).map(|_| ())
}

pub fn verify_audit(conn: &Connection) -> Result<u64, AuthError> {
    audit::verify(conn)
}

/// A valid argon2id hash of a random string, for constant-time refusal of unknown users.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2m8x8oH0G9YkU9m3v6tq0Y2m3vnHn0mJ4c1qf3b5o2k";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{zh} ({field})")]
    Invalid {
        field: &'static str,
        zh: &'static str,
        en: &'static str,
    },
    #[error("密码不符合要求: {0}")]
    WeakPassword(String),
    #[error("{0}")]
    Conflict(String),
    #[error("找不到{0}")]
    NotFound(String),
    #[error("用户名或密码错误")]
    BadCredentials,
    #[error("该账号已停用，请联系系统管理员")]
    Disabled,
    #[error("登录失败次数过多，请 {0} 秒后再试")]
    Throttled(u64),
    #[error("审计日志第 {id} 行校验失败: {reason}")]
    AuditBroken { id: i64, reason: String },
    #[error("内部错误: {0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for AuthError {
    fn from(e: rusqlite::Error) -> Self {
        AuthError::Store(e.into())
    }
}

impl AuthError {
    pub fn invalid(field: &'static str, zh: &'static str, en: &'static str) -> AuthError {
        AuthError::Invalid { field, zh, en }
    }

    /// 2 for input the operator can correct, 1 for failures.
    pub fn exit_code(&self) -> u8 {
        match self {
            AuthError::Invalid { .. }
            | AuthError::WeakPassword(_)
            | AuthError::Conflict(_)
            | AuthError::NotFound(_)
            | AuthError::Store(StoreError::TooNew { .. }) => 2,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store;

    fn site() -> (tempfile::TempDir, store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = store::open(&dir.path().join("govbox.db"), "t-site").unwrap();
        (dir, s)
    }

    fn entry(action: &str) -> AuditEntry {
        AuditEntry {
            actor: "admin".into(),
            roles: "admin".into(),
            action: action.into(),
            object: "user:1".into(),
            client: "127.0.0.1".into(),
            outcome: Outcome::Ok,
            detail: String::new(),
        }
    }

    #[test]
    fn dummy_hash_is_a_real_hash() {
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn user_lifecycle_and_login() {
        let (_d, s) = site();
        let hash = hash_password("river-Stone-42").unwrap();
        s.write_blocking(move |tx| -> Result<(), AuthError> {
            let county = create_department(tx, "红星县人民政府", None, DeptKind::Unit)?;
            let office = create_department(tx, "办公室", Some(county), DeptKind::Office)?;
            let new = NewUser {
                username: "zhang".into(),
                display_name: "张三".into(),
                roles: vec![
                    RoleGrant {
                        role: Role::Clerk,
                        department_id: office,
                    },
                    RoleGrant {
                        role: Role::Auditor,
                        department_id: county,
                    },
                ],
            };
            create_user(tx, &new, &hash)?;
            assert!(matches!(
                create_user(tx, &new, &hash),
                Err(AuthError::Conflict(_))
            ));
            Ok(())
        })
        .unwrap();
        let u = s
            .read_blocking(|c| authenticate(c, "ZHANG", "river-Stone-42"))
            .unwrap();
        assert!(u.has(Role::Clerk) && u.has(Role::Auditor) && !u.has(Role::Admin));
        assert_eq!(u.role_codes(), "auditor,clerk");
        let bad = s.read_blocking(|c| authenticate(c, "zhang", "wrong-Stone-42"));
        assert!(matches!(bad, Err(AuthError::BadCredentials)));
        let nobody = s.read_blocking(|c| authenticate(c, "nobody", "river-Stone-42"));
        assert!(matches!(nobody, Err(AuthError::BadCredentials)));
        s.write_blocking(|tx| disable_user(tx, "zhang")).unwrap();
        let off = s.read_blocking(|c| authenticate(c, "zhang", "river-Stone-42"));
        assert!(matches!(off, Err(AuthError::Disabled)));
        let seq = s.read_blocking(store::high_water).unwrap();
        assert_eq!(seq, 4, "two departments, one user, one disable");
    }

    #[test]
    fn departments_list_in_tree_order() {
        let (_d, s) = site();
        s.write_blocking(|tx| -> Result<(), AuthError> {
            let a = create_department(tx, "乙县政府", None, DeptKind::Unit)?;
            create_department(tx, "甲局", None, DeptKind::Unit)?;
            create_department(tx, "办公室", Some(a), DeptKind::Office)?;
            assert!(create_department(tx, "办公室", Some(a), DeptKind::Office).is_err());
            assert!(create_department(tx, "x", Some(999), DeptKind::Office).is_err());
            Ok(())
        })
        .unwrap();
        let names: Vec<String> = s
            .read_blocking(list_departments)
            .unwrap()
            .into_iter()
            .map(|d| d.name)
            .collect();
        let child = names.iter().position(|n| n == "办公室").unwrap();
        let parent = names.iter().position(|n| n == "乙县政府").unwrap();
        assert_eq!(child, parent + 1);
    }

    #[test]
    fn audit_chain_verifies_and_detects_tampering() {
        let (dir, s) = site();
        for a in ["user.add", "user.disable", "login"] {
            let e = entry(a);
            s.write_blocking(move |tx| audit_alone(tx, &e)).unwrap();
        }
        assert_eq!(s.read_blocking(verify_audit).unwrap(), 3);
        let rows = s
            .read_blocking(|c| {
                audit::list(
                    c,
                    &audit::Filter {
                        action: Some("user.".into()),
                        ..Default::default()
                    },
                )
            })
            .unwrap();
        assert_eq!(rows.len(), 2);
        s.close();
        let conn = Connection::open(dir.path().join("govbox.db")).unwrap();
        assert!(conn
            .execute("UPDATE audit SET actor = 'x' WHERE id = 2", [])
            .is_err());
        assert!(conn.execute("DELETE FROM audit WHERE id = 2", []).is_err());
        conn.execute_batch(
            "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'mallory' WHERE id = 2;",
        )
        .unwrap();
        match verify_audit(&conn) {
            Err(AuthError::AuditBroken { id, .. }) => assert_eq!(id, 2),
            other => panic!("tampering not detected: {other:?}"),
        }
    }

    #[test]
    fn sessions_expire_and_end() {
        let (_d, s) = site();
        let hash = hash_password("river-Stone-42").unwrap();
        let (token, csrf) = s
            .write_blocking(move |tx| -> Result<_, AuthError> {
                let d = create_department(tx, "县政府", None, DeptKind::Unit)?;
                let id = create_user(
                    tx,
                    &NewUser {
                        username: "li".into(),
                        display_name: "李四".into(),
                        roles: vec![RoleGrant {
                            role: Role::Handler,
                            department_id: d,
                        }],
                    },
                    &hash,
                )?;
                Ok(session::create(tx, id, "127.0.0.1")?)
            })
            .unwrap();
        let t1 = token.clone();
        let sess = s
            .read_blocking(move |c| session::lookup(c, &t1))
            .unwrap()
            .unwrap();
        assert_eq!(sess.csrf, csrf);
        assert!(session::csrf_matches(&csrf, &sess.csrf));
        assert!(!session::csrf_matches(&csrf, &session::random_token()));
        assert!(s
            .read_blocking(|c| session::lookup(c, "nonsense"))
            .unwrap()
            .is_none());
        let th = sess.token_hash.clone();
        s.write_blocking(move |tx| -> Result<(), StoreError> {
            tx.local(
                "UPDATE sessions SET last_seen = '2000-01-01T00:00:00.000Z' WHERE token_hash = ?1",
                [&th],
            )?;
            Ok(())
        })
        .unwrap();
        let t2 = token.clone();
        assert!(s
            .read_blocking(move |c| session::lookup(c, &t2))
            .unwrap()
            .is_none());
        let th = sess.token_hash.clone();
        s.write_blocking(move |tx| session::end(tx, &th)).unwrap();
        assert!(s
            .read_blocking(move |c| session::lookup(c, &token))
            .unwrap()
            .is_none());
    }
}
