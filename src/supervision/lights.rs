//! Lights (红黄绿灯): every open case is green, yellow (due within `warn_days` working days) or
//! red (overdue); a closed case is on time or late. Computed in SQL over the case-facts view,
//! so filtering a million cases by light is one query.

use jiff::civil::Date;
use rusqlite::types::Value;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::facts::{self, CaseFact};
use super::{Rules, SupervisionError};
use crate::approval::calendar::Calendar;

/// The two dates a light depends on: today, and the last due date that is still yellow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub today: Date,
    pub yellow_until: Date,
}

impl Thresholds {
    /// A due date is yellow while at most `warn_days` working days lie between today and it;
    /// the days up to the next working day after that (a weekend) count the same.
    pub fn new(cal: &Calendar, rules: &Rules, today: Date) -> Thresholds {
        let next = cal.add_working_days(today, rules.warn_days + 1, &[]).date;
        Thresholds {
            today,
            yellow_until: next.yesterday().unwrap_or(next),
        }
    }
}

/// The light as an SQL expression over `approval_case_facts`, with `?1` = today and `?2` =
/// the last yellow due date.
pub const LIGHT_SQL: &str =
    "CASE WHEN closed THEN (CASE WHEN closed_on <= due_on THEN 'ontime' ELSE 'late' END) \
     WHEN due_on < ?1 THEN 'red' WHEN due_on <= ?2 THEN 'yellow' ELSE 'green' END";

pub const LIGHTS: [&str; 5] = ["green", "yellow", "red", "ontime", "late"];

pub fn light_zh(light: &str) -> &'static str {
    match light {
        "green" => "绿灯（正常）",
        "yellow" => "黄灯（临近到期）",
        "red" => "红灯（已超期）",
        "ontime" => "按时办结",
        "late" => "超期办结",
        _ => "未知",
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
pub struct Filter {
    /// `window` or `online` (受理地点: 窗口 or 网上).
    pub place: Option<String>,
    /// The receipt number, or its beginning.
    pub receipt: Option<String>,
    /// `immediate`, `promised` or `joint`.
    pub kind: Option<String>,
    /// A case state code, `open` or `closed`.
    pub state: Option<String>,
    #[serde(default, deserialize_with = "super::opt_num")]
    pub department_id: Option<i64>,
    /// Part of the applicant's name.
    pub applicant: Option<String>,
    /// The window clerk's user name.
    pub clerk: Option<String>,
    #[serde(default, deserialize_with = "super::opt_num")]
    pub item_id: Option<i64>,
    /// Accepted on or after (YYYY-MM-DD).
    pub from: Option<String>,
    /// Accepted on or before (YYYY-MM-DD).
    pub to: Option<String>,
    /// One of `green`, `yellow`, `red`, `ontime`, `late`.
    pub light: Option<String>,
    /// 1–500, default 100.
    #[serde(default, deserialize_with = "super::opt_num")]
    pub limit: Option<u32>,
    #[serde(default, deserialize_with = "super::opt_num")]
    pub offset: Option<u32>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Filter {
    /// The WHERE clause (after `1 = 1`) and its arguments, which start at `?3`.
    pub fn clause(&self, conn: &Connection) -> Result<(String, Vec<Value>), SupervisionError> {
        let mut sql = String::new();
        let mut args: Vec<Value> = Vec::new();
        let mut push = |sql: &mut String, cond: &str, v: Value| {
            args.push(v);
            sql.push_str(&cond.replace("?#", &format!("?{}", args.len() + 2)));
        };
        if let Some(p) = given(&self.place) {
            if !matches!(p, "window" | "online") {
                return Err(SupervisionError::invalid(
                    "place",
                    "受理地点只能是 window（窗口）或 online（网上）",
                ));
            }
            push(&mut sql, " AND channel = ?#", p.to_string().into());
        }
        if let Some(r) = given(&self.receipt) {
            let r = super::line("receipt", r, 40, true)?;
            push(&mut sql, " AND receipt >= ?#", Value::from(r.clone()));
            push(
                &mut sql,
                " AND receipt < ?#",
                format!("{r}\u{10FFFF}").into(),
            );
        }
        if let Some(k) = given(&self.kind) {
            if !matches!(k, "immediate" | "promised" | "joint") {
                return Err(SupervisionError::invalid(
                    "kind",
                    "办件类型只能是 immediate（即办件）、promised（承诺件）或 joint（联办件）",
                ));
            }
            push(&mut sql, " AND kind = ?#", k.to_string().into());
        }
        match given(&self.state) {
            None => {}
            Some("open") => sql.push_str(" AND closed = 0"),
            Some("closed") => sql.push_str(" AND closed = 1"),
            Some(s) if facts::STATES.contains(&s) => {
                push(&mut sql, " AND state = ?#", s.to_string().into())
            }
            Some(s) => {
                return Err(SupervisionError::invalid(
                    "state",
                    format!("办件状态 \"{}\" 无效", super::short(s)),
                ))
            }
        }
        if let Some(d) = self.department_id {
            push(&mut sql, " AND department_id = ?#", d.into());
        }
        if let Some(a) = given(&self.applicant) {
            let a = super::line("applicant", a, 50, true)?;
            push(&mut sql, " AND instr(applicant_name, ?#) > 0", a.into());
        }
        if let Some(c) = given(&self.clerk) {
            let id = crate::auth::user_id(conn, c).map_err(|_| {
                SupervisionError::invalid("clerk", format!("没有用户 \"{}\"", super::short(c)))
            })?;
            push(&mut sql, " AND clerk_id = ?#", id.into());
        }
        if let Some(i) = self.item_id {
            push(&mut sql, " AND item_id = ?#", i.into());
        }
        if let Some(d) = given(&self.from) {
            push(
                &mut sql,
                " AND accepted_on >= ?#",
                super::date("from", d)?.to_string().into(),
            );
        }
        if let Some(d) = given(&self.to) {
            push(
                &mut sql,
                " AND accepted_on <= ?#",
                super::date("to", d)?.to_string().into(),
            );
        }
        if let Some(l) = given(&self.light) {
            if !LIGHTS.contains(&l) {
                return Err(SupervisionError::invalid(
                    "light",
                    "灯色只能是 green、yellow、red、ontime 或 late",
                ));
            }
            push(
                &mut sql,
                &format!(" AND ({LIGHT_SQL}) = ?#"),
                l.to_string().into(),
            );
        }
        Ok((sql, args))
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LitCase {
    #[serde(flatten)]
    pub case: CaseFact,
    pub light: String,
    pub light_zh: &'static str,
    pub kind_zh: &'static str,
    pub state_zh: &'static str,
    /// Working days left until the promise date (negative: overdue by that many); open cases.
    pub days_left: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page {
    pub total: i64,
    pub counts: LightCounts,
    pub cases: Vec<LitCase>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct LightCounts {
    pub green: i64,
    pub yellow: i64,
    pub red: i64,
    pub ontime: i64,
    pub late: i64,
}

/// The cases matching `f`, overdue first, with the count of each light over all matches.
pub fn list(
    conn: &Connection,
    cal: &Calendar,
    th: &Thresholds,
    f: &Filter,
) -> Result<Page, SupervisionError> {
    let (clause, args) = f.clause(conn)?;
    let mut all: Vec<Value> = vec![
        th.today.to_string().into(),
        th.yellow_until.to_string().into(),
    ];
    all.extend(args);
    let mut counts = LightCounts::default();
    {
        let mut st = conn.prepare(&format!(
            "SELECT {LIGHT_SQL} AS light, count(*) FROM approval_case_facts WHERE 1 = 1{clause} GROUP BY light"
        ))?;
        let mut rows = st.query(rusqlite::params_from_iter(all.iter()))?;
        while let Some(r) = rows.next()? {
            let n: i64 = r.get(1)?;
            match r.get::<_, String>(0)?.as_str() {
                "green" => counts.green = n,
                "yellow" => counts.yellow = n,
                "red" => counts.red = n,
                "ontime" => counts.ontime = n,
                _ => counts.late = n,
            }
        }
    }
    let total = counts.green + counts.yellow + counts.red + counts.ontime + counts.late;
    let limit = f.limit.unwrap_or(100).clamp(1, 500);
    let offset = f.offset.unwrap_or(0);
    let mut st = conn.prepare(&format!(
        "SELECT {cols}, {LIGHT_SQL} AS light FROM approval_case_facts WHERE 1 = 1{clause}
          ORDER BY closed, due_on, case_id LIMIT {limit} OFFSET {offset}",
        cols = facts::COLUMNS
    ))?;
    let cases = st
        .query_map(rusqlite::params_from_iter(all.iter()), |r| {
            Ok((facts::from_row(r)?, r.get::<_, String>(22)?))
        })?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|(case, light)| lit(cal, th, case, light))
        .collect();
    Ok(Page {
        total,
        counts,
        cases,
    })
}

pub fn lit(cal: &Calendar, th: &Thresholds, case: CaseFact, light: String) -> LitCase {
    let days_left = if case.closed {
        None
    } else {
        case.due_on
            .parse::<Date>()
            .ok()
            .map(|d| cal.working_days_between(th.today, d, &[]))
    };
    LitCase {
        light_zh: light_zh(&light),
        kind_zh: facts::kind_zh(&case.kind),
        state_zh: facts::state_zh(&case.state),
        days_left,
        light,
        case,
    }
}

/// The light of one case.
pub fn of(th: &Thresholds, case: &CaseFact) -> &'static str {
    let today = th.today.to_string();
    let yellow = th.yellow_until.to_string();
    if case.closed {
        match &case.closed_on {
            Some(c) if c.as_str() <= case.due_on.as_str() => "ontime",
            _ => "late",
        }
    } else if case.due_on < today {
        "red"
    } else if case.due_on <= yellow {
        "yellow"
    } else {
        "green"
    }
}
