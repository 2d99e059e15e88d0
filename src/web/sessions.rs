//! Signed-in sessions kept in memory for a moment, so a page view costs one trip to a reader
//! thread, not two. An entry is used only while no write transaction has committed since it
//! was read (a logout, a disabled user, a changed password or role all commit one) and for at
//! most [`SessionCache::TTL`], which bounds how long a change made by another process (the
//! `govbox user` commands) takes to be seen.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::Session;

/// Beyond this many sessions the cache starts over: an office has a few hundred.
const MAX_ENTRIES: usize = 4096;

#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    session: Session,
    commits: u64,
    read_at: Instant,
}

impl SessionCache {
    pub const TTL: Duration = Duration::from_secs(2);

    /// The session of `token_hash`, if it was read under `commits` less than [`Self::TTL`] ago
    /// and needs no touch.
    pub fn get(&self, token_hash: &str, commits: u64) -> Option<Session> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = entries.get(token_hash)?;
        (e.commits == commits && e.read_at.elapsed() < Self::TTL && !e.session.needs_touch())
            .then(|| e.session.clone())
    }

    /// Keeps `session`, read from the database after the store's commit count was `commits`.
    pub fn put(&self, session: Session, commits: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.commits == commits && e.read_at.elapsed() < Self::TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            session.token_hash.clone(),
            Entry {
                session,
                commits,
                read_at: Instant::now(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Role, RoleGrant, User};

    fn session(token_hash: &str, last_seen: &str) -> Session {
        Session {
            token_hash: token_hash.into(),
            user: User {
                id: 1,
                username: "u".into(),
                display_name: "用户".into(),
                disabled: false,
                roles: vec![RoleGrant {
                    role: Role::Clerk,
                    department_id: 1,
                }],
            },
            csrf: "c".into(),
            last_seen: last_seen.into(),
        }
    }

    #[test]
    fn an_entry_lives_until_the_next_commit_or_the_ttl() {
        let cache = SessionCache::default();
        let now = crate::clock::now_utc();
        cache.put(session("a", &now), 7);
        assert!(cache.get("a", 7).is_some());
        assert!(cache.get("a", 8).is_none(), "a commit since the read");
        assert!(cache.get("b", 7).is_none());
        cache.entries.lock().unwrap().get_mut("a").unwrap().read_at -= SessionCache::TTL;
        assert!(cache.get("a", 7).is_none(), "older than the TTL");
    }

    #[test]
    fn a_session_due_for_a_touch_is_read_again() {
        let cache = SessionCache::default();
        cache.put(session("a", "2000-01-01T00:00:00.000Z"), 1);
        assert!(cache.get("a", 1).is_none());
    }

    #[test]
    fn a_full_cache_drops_what_is_stale_then_starts_over() {
        let cache = SessionCache::default();
        let now = crate::clock::now_utc();
        for i in 0..MAX_ENTRIES {
            cache.put(session(&i.to_string(), &now), 1);
        }
        cache.put(session("new", &now), 2);
        let entries = cache.entries.lock().unwrap();
        assert_eq!(entries.len(), 1, "every entry read under 1 was stale");
        drop(entries);
        for i in 0..MAX_ENTRIES {
            cache.put(session(&i.to_string(), &now), 2);
        }
        assert!(cache.entries.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
