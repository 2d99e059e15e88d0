//! Server-rendered SVG charts: month-over-month and year-over-year trends, on-time rate per
//! department, cards per month. Plain SVG text, no script, so they print and work offline.

use std::collections::BTreeMap;
use std::fmt::Write;

use jiff::civil::Date;
use rusqlite::Connection;

use super::SupervisionError;

const W: f64 = 640.0;
const H: f64 = 260.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 36.0;

pub struct Series {
    pub name: String,
    pub colour: &'static str,
    pub values: Vec<f64>,
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

fn frame(out: &mut String, title: &str, max: f64, unit: &str) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{t}" class="chart"><title>{t}</title><text x="{LEFT}" y="20" font-size="14" font-weight="bold">{t}</text>"##,
        t = escape(title)
    );
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = H - BOTTOM - (H - BOTTOM - TOP) * f64::from(i) / 4.0;
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{lx}" y="{ty:.1}" font-size="10" text-anchor="end">{v}{unit}</text>"##,
            x2 = W - 10.0,
            lx = LEFT - 4.0,
            ty = y + 3.0,
            v = (v * 10.0).round() / 10.0
        );
    }
}

fn x_labels(out: &mut String, labels: &[String], step: f64, offset: f64) {
    let every = labels.len().div_ceil(12).max(1);
    for (i, l) in labels.iter().enumerate() {
        if i % every == 0 {
            let _ = write!(
                out,
                r##"<text x="{x:.1}" y="{y}" font-size="10" text-anchor="middle">{l}</text>"##,
                x = LEFT + step * i as f64 + offset,
                y = H - BOTTOM + 14.0,
                l = escape(l)
            );
        }
    }
}

fn legend(out: &mut String, series: &[Series]) {
    for (i, s) in series.iter().enumerate() {
        let x = W - 10.0 - 110.0 * (series.len() - i) as f64;
        let _ = write!(
            out,
            r##"<rect x="{x}" y="{y}" width="10" height="10" fill="{c}"/><text x="{tx}" y="{ty}" font-size="11">{n}</text>"##,
            y = H - 14.0,
            c = s.colour,
            tx = x + 14.0,
            ty = H - 5.0,
            n = escape(&s.name)
        );
    }
}

/// A line per series over `labels`.
pub fn lines(title: &str, labels: &[String], series: &[Series], unit: &str) -> String {
    let max = nice_max(
        series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0, f64::max),
    );
    let mut out = String::new();
    frame(&mut out, title, max, unit);
    let n = labels.len().max(2);
    let step = (W - LEFT - 20.0) / (n - 1) as f64;
    x_labels(&mut out, labels, step, 0.0);
    for s in series {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                format!(
                    "{:.1},{:.1}",
                    LEFT + step * i as f64,
                    H - BOTTOM - (H - BOTTOM - TOP) * v / max
                )
            })
            .collect();
        let _ = write!(
            out,
            r##"<polyline fill="none" stroke="{c}" stroke-width="2" points="{p}"><title>{n}</title></polyline>"##,
            c = s.colour,
            p = points.join(" "),
            n = escape(&s.name)
        );
        for (i, v) in s.values.iter().enumerate() {
            let _ = write!(
                out,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{c}"><title>{l} {n}: {v}</title></circle>"##,
                x = LEFT + step * i as f64,
                y = H - BOTTOM - (H - BOTTOM - TOP) * v / max,
                c = s.colour,
                l = escape(labels.get(i).map_or("", String::as_str)),
                n = escape(&s.name)
            );
        }
    }
    legend(&mut out, series);
    out.push_str("</svg>");
    out
}

/// Grouped bars: one group per label, one bar per series.
pub fn bars(
    title: &str,
    labels: &[String],
    series: &[Series],
    unit: &str,
    max: Option<f64>,
) -> String {
    let max = max.unwrap_or_else(|| {
        nice_max(
            series
                .iter()
                .flat_map(|s| s.values.iter().copied())
                .fold(0.0, f64::max),
        )
    });
    let mut out = String::new();
    frame(&mut out, title, max, unit);
    let n = labels.len().max(1);
    let group = (W - LEFT - 20.0) / n as f64;
    let bar = (group * 0.8 / series.len().max(1) as f64).min(40.0);
    x_labels(&mut out, labels, group, group / 2.0);
    for (k, s) in series.iter().enumerate() {
        for (i, v) in s.values.iter().enumerate() {
            let h = (H - BOTTOM - TOP) * v / max;
            let x = LEFT
                + group * i as f64
                + (group - bar * series.len() as f64) / 2.0
                + bar * k as f64;
            let _ = write!(
                out,
                r##"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{c}"><title>{l} {n}: {v}{unit}</title></rect>"##,
                y = H - BOTTOM - h,
                c = s.colour,
                l = escape(labels.get(i).map_or("", String::as_str)),
                n = escape(&s.name)
            );
        }
    }
    legend(&mut out, series);
    out.push_str("</svg>");
    out
}

/// `YYYY-MM` of the `n` months ending with `today`'s.
fn last_months(today: Date, n: usize) -> Vec<Date> {
    let mut m = today.first_of_month();
    let mut out = vec![m];
    for _ in 1..n {
        match m.yesterday() {
            Ok(d) => m = d.first_of_month(),
            Err(_) => break,
        }
        out.push(m);
    }
    out.reverse();
    out
}

fn label(m: Date) -> String {
    format!("{}-{:02}", m.year(), m.month())
}

fn per_month(
    conn: &Connection,
    sql: &str,
    from: Date,
    to: Date,
) -> Result<BTreeMap<String, Vec<f64>>, SupervisionError> {
    let mut st = conn.prepare(sql)?;
    let n = st.column_count();
    let rows = st.query_map([from.to_string(), to.to_string()], |r| {
        let k: String = r.get(0)?;
        let mut v = Vec::new();
        for i in 1..n {
            v.push(r.get::<_, Option<i64>>(i)?.unwrap_or(0) as f64);
        }
        Ok((k, v))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Accepted and completed per month over the last twelve months.
pub fn month_over_month(conn: &Connection, today: Date) -> Result<String, SupervisionError> {
    let months = last_months(today, 12);
    let from = months[0];
    let accepted = per_month(
        conn,
        "SELECT substr(accepted_on, 1, 7), count(*) FROM approval_case_facts
          WHERE accepted_on >= ?1 AND accepted_on <= ?2 GROUP BY 1",
        from,
        today,
    )?;
    let completed = per_month(
        conn,
        "SELECT substr(closed_on, 1, 7), count(*) FROM approval_case_facts
          WHERE state = 'completed' AND closed_on >= ?1 AND closed_on <= ?2 GROUP BY 1",
        from,
        today,
    )?;
    let labels: Vec<String> = months.iter().map(|m| label(*m)).collect();
    let get = |map: &BTreeMap<String, Vec<f64>>, l: &String| map.get(l).map_or(0.0, |v| v[0]);
    Ok(lines(
        "月度趋势（环比）：受理与办结件数",
        &labels,
        &[
            Series {
                name: "受理".into(),
                colour: "#1f5fa8",
                values: labels.iter().map(|l| get(&accepted, l)).collect(),
            },
            Series {
                name: "办结".into(),
                colour: "#2e8b57",
                values: labels.iter().map(|l| get(&completed, l)).collect(),
            },
        ],
        "",
    ))
}

/// Accepted per month of this year against the same month last year.
pub fn year_over_year(conn: &Connection, today: Date) -> Result<String, SupervisionError> {
    let year = today.year();
    let from = Date::new(year - 1, 1, 1).map_err(|e| SupervisionError::Calendar(e.to_string()))?;
    let accepted = per_month(
        conn,
        "SELECT substr(accepted_on, 1, 7), count(*) FROM approval_case_facts
          WHERE accepted_on >= ?1 AND accepted_on <= ?2 GROUP BY 1",
        from,
        today,
    )?;
    let labels: Vec<String> = (1..=12).map(|m| format!("{m}月")).collect();
    let series = |y: i16, colour| Series {
        name: format!("{y}年"),
        colour,
        values: (1..=12)
            .map(|m| accepted.get(&format!("{y}-{m:02}")).map_or(0.0, |v| v[0]))
            .collect(),
    };
    Ok(bars(
        "同比：各月受理件数",
        &labels,
        &[series(year - 1, "#9aa9bd"), series(year, "#1f5fa8")],
        "",
        None,
    ))
}

/// On-time completion rate per department for cases accepted in the range.
pub fn on_time_by_department(
    conn: &Connection,
    from: Date,
    to: Date,
) -> Result<String, SupervisionError> {
    let names: BTreeMap<i64, String> = crate::auth::list_departments(conn)?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    let mut st = conn.prepare(
        "SELECT department_id, sum(state = 'completed' AND closed_on <= due_on), sum(state = 'completed')
           FROM approval_case_facts WHERE accepted_on >= ?1 AND accepted_on <= ?2
          GROUP BY department_id ORDER BY department_id",
    )?;
    let rows: Vec<(i64, i64, i64)> = st
        .query_map([from.to_string(), to.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    let labels: Vec<String> = rows
        .iter()
        .map(|(d, _, _)| names.get(d).cloned().unwrap_or_else(|| format!("部门 {d}")))
        .collect();
    let values = rows
        .iter()
        .map(|(_, ok, all)| {
            if *all == 0 {
                0.0
            } else {
                (*ok as f64 * 1000.0 / *all as f64).round() / 10.0
            }
        })
        .collect();
    Ok(bars(
        "各部门按时办结率",
        &labels,
        &[Series {
            name: "按时办结率".into(),
            colour: "#2e8b57",
            values,
        }],
        "%",
        Some(100.0),
    ))
}

/// Yellow and red cards per month over the last twelve months, by the day each fell due.
pub fn cards_per_month(conn: &Connection, today: Date) -> Result<String, SupervisionError> {
    let months = last_months(today, 12);
    let counts = per_month(
        conn,
        "SELECT substr(due_on, 1, 7), sum(colour = 'yellow'), sum(colour = 'red')
           FROM supervision_cards WHERE due_on >= ?1 AND due_on <= ?2 GROUP BY 1",
        months[0],
        today,
    )?;
    let labels: Vec<String> = months.iter().map(|m| label(*m)).collect();
    let col = |i: usize| -> Vec<f64> {
        labels
            .iter()
            .map(|l| counts.get(l).map_or(0.0, |v| v[i]))
            .collect()
    };
    Ok(bars(
        "每月发牌数",
        &labels,
        &[
            Series {
                name: "黄牌".into(),
                colour: "#d4a017",
                values: col(0),
            },
            Series {
                name: "红牌".into(),
                colour: "#c0392b",
                values: col(1),
            },
        ],
        "",
        None,
    ))
}
