//! Yellow and red cards (黄牌、红牌) and the sweep that issues them.
//!
//! A yellow card falls due `yellow_days` working days after a case's promise date, a red card
//! `red_after_days` working days after its yellow card; each is issued if the case was still
//! open on that day. The sweep runs on a timer in the service and decides from the facts
//! alone, never from when it happens to run: after downtime it issues exactly the cards that
//! fell due meanwhile, dated the day they fell due, and the `(case, colour)` key makes running
//! it again issue nothing twice.

use std::collections::HashMap;

use jiff::civil::Date;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{multiline, Rules, SupervisionError};
use crate::approval::calendar::Calendar;
use crate::auth::{Role, User};
use crate::store::{Op, WriteTx};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SweepOutcome {
    pub yellow: usize,
    pub red: usize,
    pub reminders: usize,
}

/// The last due date `d` whose `add_working_days(d, days)` is on or before `today`.
fn latest_start(cal: &Calendar, today: Date, days: u32) -> Date {
    let mut d = today;
    loop {
        if cal.add_working_days(d, days, &[]).date <= today {
            return d;
        }
        match d.yesterday() {
            Ok(y) => d = y,
            Err(_) => return d,
        }
    }
}

struct Candidate {
    case_id: i64,
    receipt: String,
    department_id: i64,
    assignee_id: Option<i64>,
    due_on: String,
    closed_on: Option<String>,
    yellow_on: Option<String>,
}

/// Issues every card and automatic reminder due on or before `today`, once.
pub fn sweep(
    tx: &mut WriteTx,
    cal: &Calendar,
    rules: &Rules,
    today: Date,
) -> Result<SweepOutcome, SupervisionError> {
    let mut out = SweepOutcome::default();
    let swept: Option<String> = tx
        .conn()
        .query_row(
            "SELECT swept_on FROM supervision_sweeps WHERE name = 'cards'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let last_due = latest_start(cal, today, rules.yellow_days);
    // A closed case can still be owed a card only if it closed on or after the day of the
    // last completed sweep: a card due before then was issued by that sweep.
    let closed_after = swept.clone().unwrap_or_default();
    let candidates: Vec<Candidate> = {
        let mut st = tx.conn().prepare_cached(
            "SELECT f.case_id, f.receipt, f.department_id, f.assignee_id, f.due_on, f.closed_on,
                    (SELECT k.due_on FROM supervision_cards k
                      WHERE k.case_id = f.case_id AND k.colour = 'yellow')
               FROM approval_case_facts f
              WHERE f.due_on <= ?1 AND f.paused = 0
                AND (f.closed = 0 OR f.closed_on >= ?2)
                AND NOT EXISTS (SELECT 1 FROM supervision_cards k
                                 WHERE k.case_id = f.case_id AND k.colour = 'red')",
        )?;
        let rows = st.query_map(params![last_due.to_string(), closed_after], |r| {
            Ok(Candidate {
                case_id: r.get(0)?,
                receipt: r.get(1)?,
                department_id: r.get(2)?,
                assignee_id: r.get(3)?,
                due_on: r.get(4)?,
                closed_on: r.get(5)?,
                yellow_on: r.get(6)?,
            })
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let mut notify = Notifier::default();
    let mut yellow_of: HashMap<String, Option<Date>> = HashMap::new();
    let mut red_of: HashMap<Date, Date> = HashMap::new();
    let today_s = today.to_string();
    for c in candidates {
        let yellow_on = match &c.yellow_on {
            Some(y) => y.clone(),
            None => {
                let Some(y) = *yellow_of.entry(c.due_on.clone()).or_insert_with(|| {
                    c.due_on
                        .parse::<Date>()
                        .ok()
                        .map(|d| cal.add_working_days(d, rules.yellow_days, &[]).date)
                }) else {
                    continue;
                };
                let y = y.to_string();
                if y > today_s || c.closed_on.as_deref().is_some_and(|cl| cl < y.as_str()) {
                    continue;
                }
                issue(tx, &mut notify, &c, "yellow", &y)?;
                out.yellow += 1;
                y
            }
        };
        let Ok(y) = yellow_on.parse::<Date>() else {
            continue;
        };
        let r = *red_of
            .entry(y)
            .or_insert_with(|| cal.add_working_days(y, rules.red_after_days, &[]).date);
        let r = r.to_string();
        if r > today_s || c.closed_on.as_deref().is_some_and(|cl| cl < r.as_str()) {
            continue;
        }
        issue(tx, &mut notify, &c, "red", &r)?;
        out.red += 1;
    }
    out.reminders = super::reminders::auto(tx, cal, rules, today)?;
    tx.local(
        "INSERT INTO supervision_sweeps(name, swept_on, swept_at) VALUES ('cards', ?1, ?2)
         ON CONFLICT(name) DO UPDATE SET swept_on = max(swept_on, excluded.swept_on),
             swept_at = excluded.swept_at",
        params![today_s, tx.now().to_string()],
    )?;
    Ok(out)
}

/// Who is told of a card by SMS: the handler, the heads and leaders of the case's department,
/// and every supervisor; each once, if a mobile number is set for them. Looked up once per
/// department and person in a sweep.
#[derive(Default)]
struct Notifier {
    by_department: HashMap<i64, Vec<String>>,
    by_user: HashMap<i64, Option<String>>,
}

impl Notifier {
    fn phone(&mut self, conn: &Connection, user: i64) -> Result<Option<String>, SupervisionError> {
        if let Some(p) = self.by_user.get(&user) {
            return Ok(p.clone());
        }
        let p = crate::auth::phone(conn, user)?;
        self.by_user.insert(user, p.clone());
        Ok(p)
    }

    fn phones(
        &mut self,
        conn: &Connection,
        c: &Candidate,
    ) -> Result<Vec<String>, SupervisionError> {
        if !self.by_department.contains_key(&c.department_id) {
            let mut ids =
                crate::auth::users_with_role(conn, Role::DeptHead, Some(c.department_id))?;
            ids.extend(crate::auth::users_with_role(
                conn,
                Role::Leader,
                Some(c.department_id),
            )?);
            ids.extend(crate::auth::users_with_role(conn, Role::Supervisor, None)?);
            let mut phones = Vec::new();
            for id in ids {
                if let Some(p) = self.phone(conn, id)? {
                    phones.push(p);
                }
            }
            self.by_department.insert(c.department_id, phones);
        }
        let mut out = self.by_department[&c.department_id].clone();
        if let Some(h) = c.assignee_id {
            if let Some(p) = self.phone(conn, h)? {
                out.push(p);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

fn issue(
    tx: &mut WriteTx,
    notify: &mut Notifier,
    c: &Candidate,
    colour: &str,
    due_on: &str,
) -> Result<(), SupervisionError> {
    let now = tx.now().to_string();
    let n = tx.exec(
        "INSERT OR IGNORE INTO supervision_cards(case_id, receipt, colour, department_id, handler_id,
             case_due_on, due_on, issued_at, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'issued')",
        params![
            c.case_id,
            c.receipt,
            colour,
            c.department_id,
            c.assignee_id,
            c.due_on,
            due_on,
            now
        ],
    )?;
    if n == 1 {
        let id = tx.conn().last_insert_rowid();
        super::change(
            tx,
            "supervision_card",
            id,
            Op::Insert,
            &serde_json::json!({"case_id": c.case_id, "receipt": c.receipt, "colour": colour,
                "department_id": c.department_id, "handler_id": c.assignee_id,
                "case_due_on": c.due_on, "due_on": due_on, "issued_at": now, "state": "issued"}),
        )?;
        let text = format!(
            "【电子监察】办件 {} 超过承诺期限（{}），{} 已发{}，请及时办理并签收。",
            c.receipt,
            c.due_on,
            due_on,
            colour_zh(colour)
        );
        for phone in notify.phones(tx.conn(), c)? {
            crate::approval::notify::enqueue(
                tx,
                &crate::approval::notify::Sms {
                    phone,
                    text: text.clone(),
                    reference: c.receipt.clone(),
                },
            )?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Card {
    pub id: i64,
    pub case_id: i64,
    pub receipt: String,
    pub colour: String,
    pub colour_zh: &'static str,
    pub department_id: i64,
    pub department: String,
    pub handler_id: Option<i64>,
    pub handler: String,
    pub case_due_on: String,
    /// The day the card fell due (its date).
    pub due_on: String,
    pub issued_at: String,
    pub state: String,
    pub state_zh: &'static str,
    pub advice: String,
    pub advice_at: Option<String>,
    pub feedback: String,
    pub feedback_at: Option<String>,
}

pub fn colour_zh(c: &str) -> &'static str {
    match c {
        "yellow" => "黄牌",
        "red" => "红牌",
        _ => "未知",
    }
}

pub fn state_zh(s: &str) -> &'static str {
    match s {
        "issued" => "已发牌",
        "acknowledged" => "已签收",
        "resolved" => "已销牌",
        _ => "未知",
    }
}

const SELECT: &str = "SELECT id, case_id, receipt, colour, department_id, handler_id, case_due_on,
        due_on, issued_at, state, advice, advice_at, feedback, feedback_at FROM supervision_cards";

fn from_row(conn: &Connection, r: &rusqlite::Row) -> rusqlite::Result<Card> {
    let colour: String = r.get(3)?;
    let state: String = r.get(9)?;
    let department_id: i64 = r.get(4)?;
    let handler_id: Option<i64> = r.get(5)?;
    Ok(Card {
        id: r.get(0)?,
        case_id: r.get(1)?,
        receipt: r.get(2)?,
        colour_zh: colour_zh(&colour),
        colour,
        department_id,
        department: crate::auth::department(conn, department_id)
            .map(|d| d.name)
            .unwrap_or_default(),
        handler_id,
        handler: super::user_name(conn, handler_id),
        case_due_on: r.get(6)?,
        due_on: r.get(7)?,
        issued_at: r.get(8)?,
        state_zh: state_zh(&state),
        state,
        advice: r.get(10)?,
        advice_at: r.get(11)?,
        feedback: r.get(12)?,
        feedback_at: r.get(13)?,
    })
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
pub struct Filter {
    /// `yellow` or `red`.
    pub colour: Option<String>,
    /// `issued`, `acknowledged`, `resolved`, or `open` (not resolved).
    pub state: Option<String>,
    #[serde(default, deserialize_with = "super::opt_num")]
    pub department_id: Option<i64>,
    pub receipt: Option<String>,
    /// Cards dated on or after (YYYY-MM-DD).
    pub from: Option<String>,
    pub to: Option<String>,
}

pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<Card>, SupervisionError> {
    let mut sql = format!("{SELECT} WHERE 1 = 1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut add = |sql: &mut String, cond: &str, v: rusqlite::types::Value| {
        args.push(v);
        sql.push_str(&cond.replace("?#", &format!("?{}", args.len())));
    };
    match f.colour.as_deref().map(str::trim) {
        None | Some("") => {}
        Some(c @ ("yellow" | "red")) => add(&mut sql, " AND colour = ?#", c.to_string().into()),
        Some(_) => {
            return Err(SupervisionError::invalid(
                "colour",
                "牌色只能是 yellow（黄牌）或 red（红牌）",
            ))
        }
    }
    match f.state.as_deref().map(str::trim) {
        None | Some("") => {}
        Some("open") => sql.push_str(" AND state <> 'resolved'"),
        Some(s @ ("issued" | "acknowledged" | "resolved")) => {
            add(&mut sql, " AND state = ?#", s.to_string().into())
        }
        Some(_) => {
            return Err(SupervisionError::invalid(
                "state",
                "状态只能是 open、issued、acknowledged 或 resolved",
            ))
        }
    }
    if let Some(d) = f.department_id {
        add(&mut sql, " AND department_id = ?#", d.into());
    }
    if let Some(r) = f
        .receipt
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        add(&mut sql, " AND receipt = ?#", r.to_string().into());
    }
    if let Some(d) = f.from.as_deref().filter(|d| !d.trim().is_empty()) {
        add(
            &mut sql,
            " AND due_on >= ?#",
            super::date("from", d)?.to_string().into(),
        );
    }
    if let Some(d) = f.to.as_deref().filter(|d| !d.trim().is_empty()) {
        add(
            &mut sql,
            " AND due_on <= ?#",
            super::date("to", d)?.to_string().into(),
        );
    }
    sql.push_str(" ORDER BY state = 'resolved', due_on DESC, id DESC LIMIT 1000");
    // A handful of filter combinations make all the distinct statements there are.
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(args), |r| from_row(conn, r))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The open cards `user_id` answers for as their case's handler or as head of one of `heads`:
/// the 工作台 asks on every load, so the filter is in SQL, not over every open card.
pub fn open_for(
    conn: &Connection,
    user_id: i64,
    heads: &[i64],
) -> Result<Vec<Card>, SupervisionError> {
    let heads = serde_json::to_string(heads).unwrap_or_else(|_| "[]".into());
    let mut st = conn.prepare_cached(&format!(
        "{SELECT} WHERE state <> 'resolved'
           AND (handler_id = ?1 OR department_id IN (SELECT value FROM json_each(?2)))
         ORDER BY due_on DESC, id DESC LIMIT 1000"
    ))?;
    let rows = st.query_map(rusqlite::params![user_id, heads], |r| from_row(conn, r))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn get(conn: &Connection, id: i64) -> Result<Card, SupervisionError> {
    conn.prepare_cached(&format!("{SELECT} WHERE id = ?1"))?
        .query_row([id], |r| from_row(conn, r))
        .optional()?
        .ok_or_else(|| SupervisionError::NotFound(format!("监察牌 {id}")))
}

/// The cards `user` may see: all for supervision's viewers, otherwise the ones they answer for
/// (their own cases, or their department's as its head).
pub fn visible(conn: &Connection, user: &User, f: &Filter) -> Result<Vec<Card>, SupervisionError> {
    let all = list(conn, f)?;
    if user.has_any(super::VIEWERS) {
        return Ok(all);
    }
    Ok(all.into_iter().filter(|k| may_answer(user, k)).collect())
}

/// The handler, a head of the case's department, or a supervisor may act on a card.
fn may_answer(user: &User, card: &Card) -> bool {
    user.has_any(super::SUPERVISORS)
        || card.handler_id == Some(user.id)
        || user
            .roles
            .iter()
            .any(|g| g.role == Role::DeptHead && g.department_id == card.department_id)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CardAction {
    /// 签收: the handler or department confirms it has seen the card.
    Acknowledge,
    /// 监察建议书: a supervisor writes the advice letter.
    Advice,
    /// 反馈: the department answers the advice letter.
    Feedback,
    /// 销牌: a supervisor closes the card once it is dealt with.
    Resolve,
}

/// Acts on a card; `text` is the advice letter or the feedback (ignored otherwise).
pub fn act(
    tx: &mut WriteTx,
    by: &User,
    id: i64,
    action: CardAction,
    text: &str,
) -> Result<Card, SupervisionError> {
    let card = get(tx.conn(), id)?;
    if card.state == "resolved" {
        return Err(SupervisionError::OutOfOrder(format!(
            "{} {} 已销牌，不能再办理",
            card.colour_zh, card.receipt
        )));
    }
    let now = tx.now().to_string();
    let (sql, payload) = match action {
        CardAction::Acknowledge => {
            if !may_answer(by, &card) {
                return Err(SupervisionError::Forbidden(
                    "只有承办人、所在科室负责人或监察人员可以签收".into(),
                ));
            }
            if card.state != "issued" {
                return Err(SupervisionError::OutOfOrder("此牌已经签收".into()));
            }
            (
                "UPDATE supervision_cards SET state = 'acknowledged', acknowledged_by = ?2, acknowledged_at = ?3 WHERE id = ?1",
                serde_json::json!({"state": "acknowledged", "acknowledged_by": by.id, "acknowledged_at": now}),
            )
        }
        CardAction::Advice => {
            super::require_supervisor(by)?;
            let text = multiline("advice", text, 5000, true)?;
            tx.exec(
                "UPDATE supervision_cards SET advice = ?2 WHERE id = ?1",
                params![id, text],
            )?;
            (
                "UPDATE supervision_cards SET advice_by = ?2, advice_at = ?3 WHERE id = ?1",
                serde_json::json!({"advice": text, "advice_by": by.id, "advice_at": now}),
            )
        }
        CardAction::Feedback => {
            if !may_answer(by, &card) {
                return Err(SupervisionError::Forbidden(
                    "只有承办人、所在科室负责人或监察人员可以反馈".into(),
                ));
            }
            if card.advice.is_empty() {
                return Err(SupervisionError::OutOfOrder(
                    "监察人员尚未下达监察建议书，无需反馈".into(),
                ));
            }
            let text = multiline("feedback", text, 5000, true)?;
            tx.exec(
                "UPDATE supervision_cards SET feedback = ?2 WHERE id = ?1",
                params![id, text],
            )?;
            (
                "UPDATE supervision_cards SET feedback_by = ?2, feedback_at = ?3,
                     state = CASE WHEN state = 'issued' THEN 'acknowledged' ELSE state END,
                     acknowledged_by = coalesce(acknowledged_by, ?2),
                     acknowledged_at = coalesce(acknowledged_at, ?3) WHERE id = ?1",
                serde_json::json!({"feedback": text, "feedback_by": by.id, "feedback_at": now}),
            )
        }
        CardAction::Resolve => {
            super::require_supervisor(by)?;
            if card.state != "acknowledged" {
                return Err(SupervisionError::OutOfOrder(
                    "此牌尚未签收，签收后才能销牌".into(),
                ));
            }
            if !card.advice.is_empty() && card.feedback.is_empty() {
                return Err(SupervisionError::OutOfOrder(
                    "监察建议书尚未反馈，反馈后才能销牌".into(),
                ));
            }
            (
                "UPDATE supervision_cards SET state = 'resolved', resolved_by = ?2, resolved_at = ?3 WHERE id = ?1",
                serde_json::json!({"state": "resolved", "resolved_by": by.id, "resolved_at": now}),
            )
        }
    };
    tx.exec(sql, params![id, by.id, now])?;
    super::change(tx, "supervision_card", id, Op::Update, &payload)?;
    get(tx.conn(), id)
}
