//! Flood limits of the public forms, per client address, kept in memory: form submissions in
//! a window, and wrong query codes (so receipt numbers and codes cannot be guessed in bulk).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Submissions (questions, letters, applications) one address may make per window.
pub const FORMS_PER_WINDOW: usize = 10;
pub const FORM_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Wrong query codes one address may try per window.
pub const WRONG_CODES_PER_WINDOW: usize = 10;
pub const CODE_WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Default)]
pub struct Limits {
    forms: Window,
    codes: Window,
}

#[derive(Default)]
struct Window {
    hits: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl Window {
    /// `Err(seconds to wait)` when `addr` already has `limit` hits within `span`.
    fn check(&self, addr: IpAddr, limit: usize, span: Duration) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        let Some(q) = map.get_mut(&addr) else {
            return Ok(());
        };
        while q.front().is_some_and(|t| now.duration_since(*t) > span) {
            q.pop_front();
        }
        if q.len() >= limit {
            let wait = span.saturating_sub(now.duration_since(q[q.len() - limit]));
            return Err(wait.as_secs().max(1));
        }
        Ok(())
    }

    fn hit(&self, addr: IpAddr, span: Duration) {
        let now = Instant::now();
        let mut map = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(addr).or_default().push_back(now);
        if map.len() > 100_000 {
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) <= span));
        }
    }
}

impl Limits {
    /// Counts one form submission; refuses when the address has submitted too often.
    pub fn form(&self, addr: IpAddr) -> Result<(), u64> {
        self.forms.check(addr, FORMS_PER_WINDOW, FORM_WINDOW)?;
        self.forms.hit(addr, FORM_WINDOW);
        Ok(())
    }

    /// Refuses a query when the address has given too many wrong codes.
    pub fn may_query(&self, addr: IpAddr) -> Result<(), u64> {
        self.codes.check(addr, WRONG_CODES_PER_WINDOW, CODE_WINDOW)
    }

    pub fn wrong_code(&self, addr: IpAddr) {
        self.codes.hit(addr, CODE_WINDOW);
    }
}
