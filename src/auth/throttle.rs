//! Login throttling per user and per client address.
//!
//! Kept in memory: a restart forgets failures, which costs a guesser a restart per few tries,
//! while a database-backed counter would turn every failed login into a write.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const PER_USER: usize = 5;
pub const PER_ADDRESS: usize = 20;

#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    /// `Err(wait)` when the user or the address has failed too often within the window.
    pub fn check(&self, username: &str, client: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = Duration::ZERO;
        for (key, limit) in [
            (user_key(username), PER_USER),
            (addr_key(client), PER_ADDRESS),
        ] {
            if let Some(q) = map.get_mut(&key) {
                while q.front().is_some_and(|t| now.duration_since(*t) > WINDOW) {
                    q.pop_front();
                }
                if q.len() >= limit {
                    let oldest = q[q.len() - limit];
                    wait = wait.max(WINDOW.saturating_sub(now.duration_since(oldest)));
                }
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.max(Duration::from_secs(1)))
        }
    }

    pub fn failed(&self, username: &str, client: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for key in [user_key(username), addr_key(client)] {
            map.entry(key).or_default().push_back(now);
        }
        if map.len() > 100_000 {
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) <= WINDOW));
        }
    }

    /// A successful login clears the user's failures, not the address's: one right password
    /// must not reset a guesser working through many accounts from one place.
    pub fn succeeded(&self, username: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&user_key(username));
    }
}

fn user_key(username: &str) -> String {
    format!("u:{}", username.to_lowercase())
}

fn addr_key(client: &str) -> String {
    format!("a:{client}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_locked_after_limit_and_cleared_by_success() {
        let t = Throttle::default();
        for _ in 0..PER_USER {
            assert!(t.check("zhang", "10.0.0.1").is_ok());
            t.failed("zhang", "10.0.0.1");
        }
        assert!(t.check("zhang", "10.0.0.2").is_err());
        assert!(t.check("li", "10.0.0.2").is_ok());
        t.succeeded("zhang");
        assert!(t.check("zhang", "10.0.0.2").is_ok());
    }

    #[test]
    fn address_locked_across_users() {
        let t = Throttle::default();
        for i in 0..PER_ADDRESS {
            t.failed(&format!("user{i}"), "10.0.0.9");
        }
        let wait = t.check("someone-new", "10.0.0.9").unwrap_err();
        assert!(wait <= WINDOW && wait >= Duration::from_secs(1));
        assert!(t.check("someone-new", "10.0.0.8").is_ok());
    }
}
