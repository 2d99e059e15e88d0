//! Time is stored in UTC and shown in Asia/Shanghai.
//!
//! China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact for every
//! date this system stores and needs no time-zone database on the appliance.

use jiff::tz::{self, TimeZone};
use jiff::Timestamp;

/// Now, as stored: RFC 3339 in UTC with milliseconds, so text order is time order.
pub fn now_utc() -> String {
    format_utc(Timestamp::now())
}

pub fn format_utc(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub fn parse_utc(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

pub fn shanghai() -> TimeZone {
    TimeZone::fixed(tz::offset(8))
}

/// A stored UTC time as office staff read it: `2026-11-24 22:03:05` in Beijing time.
pub fn show(stored: &str) -> String {
    match parse_utc(stored) {
        Some(ts) => ts
            .to_zoned(shanghai())
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => stored.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_time_round_trips_and_shows_in_beijing_time() {
        let ts: Timestamp = "2026-11-24T15:03:05.250Z".parse().unwrap();
        let stored = format_utc(ts);
        assert_eq!(stored, "2026-11-24T15:03:05.250Z");
        assert_eq!(show(&stored), "2026-11-24 23:03:05");
        assert_eq!(show("garbage"), "garbage");
    }
}
