//! How replication is doing, from the database alone: the sender's acknowledged seq and lag,
//! each site below a receiver, and the alarms a person must see.

use std::fmt::Write;

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use super::ReplicationError;
use crate::site::{SiteConfig, Tier};

#[derive(Debug, Serialize)]
pub struct Status {
    pub site: String,
    pub tier: Tier,
    pub local_seq: i64,
    pub sender: Option<SenderStatus>,
    pub children: Vec<ChildStatus>,
}

#[derive(Debug, Serialize)]
pub struct SenderStatus {
    pub upstream: String,
    pub acked_seq: i64,
    pub lag_changes: i64,
    /// Age of the oldest change the upstream does not have yet; 0 when caught up.
    pub lag_seconds: i64,
    /// Changes received from sites below that the upstream does not have yet.
    pub relay_pending: i64,
    pub last_ok_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ChildStatus {
    pub site: String,
    pub tier: String,
    pub via: String,
    pub last_seq: i64,
    pub reported_seq: i64,
    pub lag_changes: i64,
    pub last_contact: Option<String>,
    pub silent_seconds: Option<i64>,
    pub gaps: i64,
    /// Why a person should look, when they should.
    pub alarm: Option<String>,
}

pub fn status(conn: &Connection, site: &SiteConfig) -> Result<Status, ReplicationError> {
    let local_seq = crate::store::high_water(conn)?;
    let now = jiff::Timestamp::now();
    let age = |at: &Option<String>| {
        at.as_deref()
            .and_then(crate::clock::parse_utc)
            .map(|t| now.duration_since(t).as_secs().max(0))
    };
    let meta = |key: &str| -> Result<Option<String>, rusqlite::Error> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
    };
    let sender = match &site.upstream.url {
        None => None,
        Some(url) => {
            let acked: i64 = conn
                .query_row(
                    "SELECT acked_seq FROM repl_upstream WHERE origin_site = ?1",
                    [&site.site.id],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0);
            let oldest: Option<String> = conn
                .query_row(
                    "SELECT at FROM changes WHERE seq > ?1 ORDER BY seq LIMIT 1",
                    [acked],
                    |r| r.get(0),
                )
                .optional()?;
            let relay_pending: i64 = conn.query_row(
                "SELECT coalesce(sum(max(s.last_seq - coalesce(u.acked_seq, 0), 0)), 0)
                 FROM repl_sites s LEFT JOIN repl_upstream u ON u.origin_site = s.site_id",
                [],
                |r| r.get(0),
            )?;
            Some(SenderStatus {
                upstream: url.clone(),
                acked_seq: acked,
                lag_changes: (local_seq - acked).max(0),
                lag_seconds: age(&oldest).unwrap_or(0),
                relay_pending,
                last_ok_at: meta("repl.last_ok_at")?,
                last_error: meta("repl.last_error")?,
                last_error_at: meta("repl.last_error_at")?,
            })
        }
    };
    let silent_limit = i64::from(site.receiver.silent_alarm_minutes) * 60;
    let lag_limit = i64::from(site.receiver.lag_alarm_changes);
    let mut stmt = conn.prepare(
        "SELECT s.site_id, s.tier, s.via, s.last_seq, s.reported_seq, s.last_contact,
                (SELECT count(*) FROM repl_gaps g WHERE g.origin_site = s.site_id)
         FROM repl_sites s ORDER BY s.site_id",
    )?;
    let children = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, i64>(6)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(
            |(s, tier, via, last_seq, reported_seq, last_contact, gaps)| {
                let silent_seconds = age(&last_contact);
                let lag_changes = (reported_seq - last_seq).max(0);
                let alarm = if silent_seconds.is_none_or(|x| x > silent_limit) {
                    Some(format!(
                        "超过 {} 分钟没有收到站点 {s} 的联系",
                        site.receiver.silent_alarm_minutes
                    ))
                } else if lag_changes > lag_limit {
                    Some(format!("站点 {s} 积压 {lag_changes} 条变更未送达"))
                } else {
                    None
                };
                ChildStatus {
                    site: s,
                    tier,
                    via,
                    last_seq,
                    reported_seq,
                    lag_changes,
                    last_contact,
                    silent_seconds,
                    gaps,
                    alarm,
                }
            },
        )
        .collect();
    Ok(Status {
        site: site.site.id.clone(),
        tier: site.site.tier,
        local_seq,
        sender,
        children,
    })
}

impl Status {
    /// Alarms for the office workbench: a silent failure must not go unnoticed.
    pub fn alarms(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .children
            .iter()
            .filter_map(|c| c.alarm.clone())
            .collect();
        if let Some(s) = &self.sender {
            if s.last_ok_at.is_none() || s.last_error_at > s.last_ok_at {
                if let Some(e) = &s.last_error {
                    out.push(format!("向上级发送数据失败: {e}"));
                }
            }
        }
        out
    }

    /// Prometheus lines (gauges with a `site` label for each site below).
    pub fn metrics(&self) -> String {
        let mut out = String::new();
        let mut gauge = |name: &str, help: &str, rows: &[(Option<&str>, f64)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            for (label, v) in rows {
                match label {
                    Some(site) => {
                        let _ = writeln!(out, "{name}{{site=\"{site}\"}} {v}");
                    }
                    None => {
                        let _ = writeln!(out, "{name} {v}");
                    }
                }
            }
        };
        if let Some(s) = &self.sender {
            gauge(
                "govbox_replication_acked_seq",
                "Highest own seq the upstream acknowledged.",
                &[(None, s.acked_seq as f64)],
            );
            gauge(
                "govbox_replication_lag_changes",
                "Own changes the upstream does not have yet.",
                &[(None, s.lag_changes as f64)],
            );
            gauge(
                "govbox_replication_lag_seconds",
                "Age of the oldest own change the upstream does not have yet.",
                &[(None, s.lag_seconds as f64)],
            );
            gauge(
                "govbox_replication_relay_pending",
                "Changes received from below not yet forwarded upstream.",
                &[(None, s.relay_pending as f64)],
            );
            let ok = s.last_ok_at.is_some() && s.last_error_at <= s.last_ok_at;
            gauge(
                "govbox_replication_upstream_ok",
                "1 if the last exchange with the upstream succeeded.",
                &[(None, f64::from(u8::from(ok)))],
            );
        }
        if !self.children.is_empty() {
            let rows = |f: &dyn Fn(&ChildStatus) -> f64| -> Vec<(Option<&str>, f64)> {
                self.children
                    .iter()
                    .map(|c| (Some(c.site.as_str()), f(c)))
                    .collect()
            };
            gauge(
                "govbox_replication_child_last_seq",
                "Last seq received from each site below.",
                &rows(&|c| c.last_seq as f64),
            );
            gauge(
                "govbox_replication_child_lag_changes",
                "Changes a site below reported and this site has not received.",
                &rows(&|c| c.lag_changes as f64),
            );
            gauge(
                "govbox_replication_child_silent_seconds",
                "Seconds since each site below was last heard from.",
                &rows(&|c| c.silent_seconds.map_or(-1.0, |s| s as f64)),
            );
            gauge(
                "govbox_replication_child_alarm",
                "1 if a site below has been silent or lagging past the thresholds in site.toml.",
                &rows(&|c| f64::from(u8::from(c.alarm.is_some()))),
            );
        }
        out
    }
}
