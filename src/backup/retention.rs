//! Which backups to keep: the newest of each of the last N hours, days, ISO weeks and months
//! (in Beijing time, as the office counts days), the union of the four.

use jiff::Timestamp;

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

#[derive(Clone, Copy)]
enum Period {
    Hour,
    Day,
    Week,
    Month,
}

impl Period {
    /// The period a time falls in, in Beijing time: equal keys, same period.
    fn key(self, t: &Timestamp) -> String {
        let z = t.to_zoned(crate::clock::shanghai());
        match self {
            Period::Hour => z.strftime("%Y%m%d%H").to_string(),
            Period::Day => z.strftime("%Y%m%d").to_string(),
            Period::Week => {
                let w = z.date().iso_week_date();
                format!("{}W{}", w.year(), w.week())
            }
            Period::Month => z.strftime("%Y%m").to_string(),
        }
    }
}

/// `keep[i]` says whether the backup taken at `times[i]` is kept.
pub fn keep(times: &[Timestamp], p: &Policy) -> Vec<bool> {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|a, b| times[*b].cmp(&times[*a]));
    let mut keep = vec![false; times.len()];
    let rules = [
        (p.hourly, Period::Hour),
        (p.daily, Period::Day),
        (p.weekly, Period::Week),
        (p.monthly, Period::Month),
    ];
    for (count, period) in rules {
        let mut last: Option<String> = None;
        let mut taken = 0;
        for &i in &order {
            if taken >= count {
                break;
            }
            let k = period.key(&times[i]);
            if last.as_ref() != Some(&k) {
                keep[i] = true;
                taken += 1;
                last = Some(k);
            }
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn hourly_backups_over_forty_days() {
        // One backup an hour from 2026-10-01 to 2026-11-09 (UTC).
        let start = ts("2026-10-01T00:30:00Z");
        let times: Vec<Timestamp> = (0..40 * 24)
            .map(|h| {
                start
                    .checked_add(jiff::SignedDuration::from_hours(h))
                    .unwrap()
            })
            .collect();
        let p = Policy {
            hourly: 24,
            daily: 7,
            weekly: 4,
            monthly: 12,
        };
        let keep = keep(&times, &p);
        let kept: Vec<&Timestamp> = times
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(t, _)| t)
            .collect();
        let newest = times.last().unwrap();
        assert!(keep[times.len() - 1], "the newest is always kept");
        // The last 24 hours are all kept.
        assert!(times[times.len() - 24..]
            .iter()
            .zip(&keep[times.len() - 24..])
            .all(|(_, k)| *k));
        // Never more than hourly + daily + weekly + monthly.
        assert!(kept.len() <= 24 + 7 + 4 + 12);
        // A month boundary (in Beijing time) keeps October's last backup: 2026-10-31T15:30Z is
        // 23:30 on the 31st in Beijing.
        assert!(kept.contains(&&ts("2026-10-31T15:30:00Z")));
        // Four weeks and "the newest of each month" reach back to late October only: nothing
        // from the first week of October is kept.
        assert!(!kept.iter().any(|t| **t < ts("2026-10-08T00:00:00Z")));
        assert!(kept.iter().all(|t| *t <= newest));
        let days: std::collections::BTreeSet<String> = kept
            .iter()
            .map(|t| {
                t.to_zoned(crate::clock::shanghai())
                    .strftime("%Y%m%d")
                    .to_string()
            })
            .collect();
        assert!(days.len() >= 7, "seven days are represented: {days:?}");
        let months: std::collections::BTreeSet<String> = kept
            .iter()
            .map(|t| {
                t.to_zoned(crate::clock::shanghai())
                    .strftime("%Y%m")
                    .to_string()
            })
            .collect();
        assert_eq!(months.len(), 2, "October and November");
    }

    #[test]
    fn zero_counts_keep_nothing_of_that_kind() {
        let times = [ts("2026-11-01T00:00:00Z"), ts("2026-11-02T00:00:00Z")];
        let p = Policy {
            hourly: 0,
            daily: 1,
            weekly: 0,
            monthly: 0,
        };
        assert_eq!(keep(&times, &p), vec![false, true]);
    }
}
