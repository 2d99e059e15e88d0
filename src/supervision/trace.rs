//! A case's trace as a picture: each step on a time line with who and how many working days
//! it took. The steps are approval's trace (its public `cases::by_receipt`), the promise date,
//! supervision's own reminders and cards, and where the case stands now.

use std::fmt::Write;

use jiff::civil::Date;
use rusqlite::Connection;
use serde::Serialize;

use super::charts::escape;
use super::facts::{self, CaseFact};
use super::{cards, reminders, SupervisionError};
use crate::approval::calendar::Calendar;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TraceStep {
    pub label: String,
    pub who: String,
    /// Beijing date.
    pub on: String,
    /// Working days since the step before.
    pub days: i64,
    /// `step`, `due`, `reminder`, `yellow`, `red`, `closed`, `open`.
    pub kind: &'static str,
}

pub fn steps(
    conn: &Connection,
    cal: &Calendar,
    case: &CaseFact,
    today: Date,
) -> Result<Vec<TraceStep>, SupervisionError> {
    let mut raw: Vec<(String, u8, String, String, &'static str)> = Vec::new();
    let approval = crate::approval::cases::by_receipt(conn, &case.receipt)?;
    for (i, s) in approval.steps.iter().enumerate() {
        let who = s.actor_name.clone().unwrap_or_default();
        let label = match &s.subcase_department {
            Some(d) => format!("{}（{d}）", s.label_zh),
            None => s.label_zh.clone(),
        };
        // The acceptance counts from the acceptance day the case carries, which is what the
        // promise is measured from.
        let on = if i == 0 {
            case.accepted_on.clone()
        } else {
            super::beijing_day(&s.at)
        };
        raw.push((on, 0, label, who, "step"));
    }
    if raw.is_empty() {
        raw.push((
            case.accepted_on.clone(),
            0,
            format!("受理（{}）", facts::kind_zh(&case.kind)),
            super::user_name(conn, Some(case.clerk_id)),
            "step",
        ));
    }
    raw.push((
        case.due_on.clone(),
        3,
        "承诺办结期限".into(),
        String::new(),
        "due",
    ));
    for r in reminders::list(conn, Some(&case.receipt))? {
        raw.push((
            super::beijing_day(&r.at),
            1,
            if r.kind == "auto" {
                "自动催办".into()
            } else {
                "人工催办".into()
            },
            format!("{} → {}", r.by, r.handler),
            "reminder",
        ));
    }
    let f = cards::Filter {
        receipt: Some(case.receipt.clone()),
        ..Default::default()
    };
    for k in cards::list(conn, &f)? {
        let kind = if k.colour == "red" { "red" } else { "yellow" };
        raw.push((
            k.due_on.clone(),
            2,
            format!("{}（{}）", k.colour_zh, k.state_zh),
            k.handler.clone(),
            kind,
        ));
    }
    match &case.closed_on {
        Some(_) if !approval.steps.is_empty() => {}
        Some(c) => raw.push((
            c.clone(),
            4,
            facts::state_zh(&case.state).to_string(),
            String::new(),
            "closed",
        )),
        None => raw.push((
            today.to_string(),
            4,
            format!("当前：{}", facts::state_zh(&case.state)),
            super::user_name(conn, case.assignee_id),
            "open",
        )),
    }
    raw.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut prev: Option<Date> = None;
    Ok(raw
        .into_iter()
        .map(|(on, _, label, who, kind)| {
            let d = on.parse::<Date>().ok();
            let days = match (prev, d) {
                (Some(p), Some(d)) => cal.working_days_between(p, d, &[]),
                _ => 0,
            };
            if d.is_some() {
                prev = d;
            }
            TraceStep {
                label,
                who,
                on,
                days,
                kind,
            }
        })
        .collect())
}

fn colour(kind: &str) -> &'static str {
    match kind {
        "due" => "#7f8c8d",
        "reminder" => "#2980b9",
        "yellow" => "#d4a017",
        "red" => "#c0392b",
        "closed" => "#2e8b57",
        "open" => "#8e44ad",
        _ => "#1f5fa8",
    }
}

pub fn svg(case: &CaseFact, steps: &[TraceStep]) -> String {
    let n = steps.len().max(1);
    let gap = 130.0;
    let w = 60.0 + gap * n as f64;
    let h = 170.0;
    let y = 85.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" role="img" aria-label="办件 {r} 流程图" class="trace"><title>办件 {r} 流程图</title><line x1="30" x2="{x2}" y1="{y}" y2="{y}" stroke="#999" stroke-width="2"/>"##,
        r = escape(&case.receipt),
        x2 = w - 30.0
    );
    for (i, s) in steps.iter().enumerate() {
        let x = 60.0 + gap * i as f64;
        let c = colour(s.kind);
        let _ = write!(
            out,
            r##"<g class="step step-{k}"><circle cx="{x}" cy="{y}" r="9" fill="{c}"/><text x="{x}" y="{ly}" font-size="12" text-anchor="middle" font-weight="bold">{l}</text><text x="{x}" y="{dy}" font-size="11" text-anchor="middle">{on}</text><text x="{x}" y="{wy}" font-size="11" text-anchor="middle">{who}</text>"##,
            k = s.kind,
            ly = y - 40.0,
            dy = y + 28.0,
            wy = y + 44.0,
            l = escape(&s.label),
            on = escape(&s.on),
            who = escape(&s.who)
        );
        if i > 0 {
            let _ = write!(
                out,
                r##"<text x="{mx}" y="{ty}" font-size="10" text-anchor="middle" fill="#555">{d} 个工作日</text>"##,
                mx = x - gap / 2.0,
                ty = y - 8.0,
                d = s.days
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}
