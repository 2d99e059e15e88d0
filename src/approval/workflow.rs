//! The state machine of a case:
//!
//! ```text
//! accepted ─承办→ undertaken ─审核→ reviewed ─批准→ approved ─办结→ completed
//!    │  ▲            │   ▲            │  └─不予许可→ denied
//!    │  └────退回────┘   └────退回────┘  (approved ─退回→ reviewed)
//!    ├─补正→ supplement ─补正完成→ (the state it left)
//!    └─(即办件) 办结→ completed              any open state ─撤回→ withdrawn
//! ```
//!
//! Every action names the case version it saw; a stale one is refused, so of two handlers
//! acting at once one wins and the other is told, and nothing of the loser is written. Each
//! action is checked against the state, the actor's role and the item's named persons
//! (事项 ↔ 人员), and is recorded in the trace with its opinion. Art. 45 periods (hearing,
//! testing, inspection, expert review) and 补正 pause the clock; the due dates are recomputed
//! when a pause ends.

use jiff::civil::Date;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;
use utoipa::ToSchema;

use super::calendar::{Calendar, CalendarError, Due, Pause};
use super::cases::{self, Case, MAX_OPINION};
use super::items::{self, Item};
use super::{joint, messages, multiline, short, ApprovalError, Step};
use crate::auth::{self, Role, User};
use crate::store::{Op, WriteTx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseKind {
    Hearing,
    Testing,
    Inspection,
    ExpertReview,
}

impl PauseKind {
    pub fn code(self) -> &'static str {
        match self {
            PauseKind::Hearing => "hearing",
            PauseKind::Testing => "testing",
            PauseKind::Inspection => "inspection",
            PauseKind::ExpertReview => "expert_review",
        }
    }

    pub fn parse(s: &str) -> Result<PauseKind, ApprovalError> {
        match s {
            "hearing" => Ok(PauseKind::Hearing),
            "testing" => Ok(PauseKind::Testing),
            "inspection" => Ok(PauseKind::Inspection),
            "expert_review" => Ok(PauseKind::ExpertReview),
            other => Err(ApprovalError::invalid(
                "pause",
                format!(
                    "暂停事由 \"{}\" 无效，可选: hearing（听证）、testing（检验检测）、inspection（现场勘查）、expert_review（专家评审）",
                    short(other)
                ),
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Undertake,
    Review,
    Approve,
    Complete,
    Deny,
    Return,
    Supplement,
    Resume,
    Withdraw,
    Pause(PauseKind),
    EndPause,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::Undertake => "undertake",
            Action::Review => "review",
            Action::Approve => "approve",
            Action::Complete => "complete",
            Action::Deny => "deny",
            Action::Return => "return",
            Action::Supplement => "supplement",
            Action::Resume => "resume",
            Action::Withdraw => "withdraw",
            Action::Pause(_) => "pause",
            Action::EndPause => "end_pause",
        }
    }

    pub fn parse(action: &str, pause: Option<&str>) -> Result<Action, ApprovalError> {
        Ok(match action.trim() {
            "undertake" => Action::Undertake,
            "review" => Action::Review,
            "approve" => Action::Approve,
            "complete" => Action::Complete,
            "deny" => Action::Deny,
            "return" => Action::Return,
            "supplement" => Action::Supplement,
            "resume" => Action::Resume,
            "withdraw" => Action::Withdraw,
            "pause" => Action::Pause(PauseKind::parse(pause.unwrap_or("").trim())?),
            "end_pause" => Action::EndPause,
            other => {
                return Err(ApprovalError::invalid(
                    "action",
                    format!(
                        "操作 \"{}\" 无效，可选: undertake, review, approve, complete, deny, return, supplement, resume, withdraw, pause, end_pause",
                        short(other)
                    ),
                ))
            }
        })
    }

    /// An opinion (or reason) is required: the applicant or the next handler must be told why.
    fn needs_opinion(self) -> bool {
        matches!(
            self,
            Action::Deny
                | Action::Return
                | Action::Supplement
                | Action::Withdraw
                | Action::Pause(_)
        )
    }
}

pub fn action_zh(action: &str) -> &'static str {
    match action {
        "accept" => "受理",
        "not_accept" => "不予受理",
        "undertake" => "承办",
        "review" => "审核",
        "approve" => "批准",
        "complete" => "办结",
        "deny" => "不予许可",
        "return" => "退回",
        "supplement" => "补正告知",
        "resume" => "补正完成",
        "withdraw" => "撤回",
        "pause" => "特别程序（暂停计时）",
        "end_pause" => "特别程序结束",
        "urge" => "催办",
        "subcase_done" => "联办部门办结",
        _ => "办理",
    }
}

/// An action on a case, as the API and the pages send it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct Transition {
    /// `undertake`, `review`, `approve`, `complete`, `deny`, `return`, `supplement`,
    /// `resume`, `withdraw`, `pause`, `end_pause`.
    pub action: String,
    /// The case version the actor saw.
    pub version: i64,
    #[serde(default)]
    pub opinion: String,
    /// Username of the next handler; the step's usual person when absent.
    #[serde(default)]
    pub assignee: Option<String>,
    /// For `pause`: `hearing`, `testing`, `inspection` or `expert_review`.
    #[serde(default)]
    pub pause: Option<String>,
}

/// The state an action leads to from `state`, or `None` when it is not legal there.
/// `Resume` leads back to the state the case left for 补正 (`resume_to`).
pub fn target(
    action: Action,
    state: &str,
    kind: &str,
    resume_to: Option<&str>,
) -> Option<&'static str> {
    let s = |x: &'static str| Some(x);
    match (action, state) {
        (Action::Undertake, "accepted") => s("undertaken"),
        (Action::Review, "undertaken") => s("reviewed"),
        (Action::Approve, "reviewed") => s("approved"),
        (Action::Complete, "approved") => s("completed"),
        (Action::Complete, "accepted") if kind == "immediate" => s("completed"),
        (Action::Deny, "reviewed") => s("denied"),
        (Action::Return, "undertaken") => s("accepted"),
        (Action::Return, "reviewed") => s("undertaken"),
        (Action::Return, "approved") => s("reviewed"),
        (Action::Supplement, "accepted" | "undertaken") => s("supplement"),
        (Action::Resume, "supplement") => match resume_to {
            Some("accepted") => s("accepted"),
            Some("undertaken") => s("undertaken"),
            _ => None,
        },
        (Action::Withdraw, "accepted" | "undertaken" | "reviewed" | "approved" | "supplement") => {
            s("withdrawn")
        }
        (Action::Pause(_) | Action::EndPause, "accepted") => s("accepted"),
        (Action::Pause(_) | Action::EndPause, "undertaken") => s("undertaken"),
        (Action::Pause(_) | Action::EndPause, "reviewed") => s("reviewed"),
        _ => None,
    }
}

/// The step whose person acts next in `state`.
pub fn next_step(state: &str) -> Option<Step> {
    match state {
        "accepted" => Some(Step::Undertake),
        "undertaken" => Some(Step::Review),
        "reviewed" => Some(Step::Approve),
        _ => None,
    }
}

/// Who may act on `step` of a case of `item` in department `dept`: the item's named persons
/// for the step, or else every active holder of the step's role (in `dept`, except the window).
pub fn candidates(
    conn: &Connection,
    item: &Item,
    step: Step,
    dept: i64,
) -> Result<Vec<i64>, ApprovalError> {
    let named = items::handlers_for(conn, item.id, step)?;
    if !named.is_empty() {
        return Ok(named);
    }
    let scope = (step != Step::Accept).then_some(dept);
    Ok(auth::users_with_role(conn, step.role(), scope)?)
}

pub fn may_act(
    conn: &Connection,
    user: &User,
    item: &Item,
    step: Step,
    dept: i64,
) -> Result<bool, ApprovalError> {
    Ok(user.has(step.role()) && candidates(conn, item, step, dept)?.contains(&user.id))
}

pub fn require_step(
    conn: &Connection,
    user: &User,
    item: &Item,
    step: Step,
    dept: i64,
) -> Result<(), ApprovalError> {
    if !user.has(step.role()) {
        return Err(ApprovalError::Forbidden(format!(
            "{}环节需要{}角色，您没有",
            step.label_zh(),
            step.role().name_zh()
        )));
    }
    if !candidates(conn, item, step, dept)?.contains(&user.id) {
        return Err(ApprovalError::Forbidden(format!(
            "您不是事项 {} 的{}人员（事项 ↔ 人员），不能办理此环节",
            item.short_name,
            step.label_zh()
        )));
    }
    Ok(())
}

/// The person `step` goes to: the one asked for (who must be a candidate), else whoever did it
/// last on this case (a return goes back to them), else the first candidate.
pub fn pick_assignee(
    conn: &Connection,
    item: &Item,
    step: Step,
    dept: i64,
    requested: Option<&str>,
    previous: Option<i64>,
) -> Result<i64, ApprovalError> {
    let cands = candidates(conn, item, step, dept)?;
    if let Some(name) = requested.map(str::trim).filter(|n| !n.is_empty()) {
        let id = auth::user_id(conn, name).map_err(|_| {
            ApprovalError::invalid("assignee", format!("没有用户 \"{}\"", short(name)))
        })?;
        if !cands.contains(&id) {
            return Err(ApprovalError::invalid(
                "assignee",
                format!("用户 {} 不能办理{}环节", short(name), step.label_zh()),
            ));
        }
        return Ok(id);
    }
    if let Some(p) = previous.filter(|p| cands.contains(p)) {
        return Ok(p);
    }
    cands.first().copied().ok_or_else(|| {
        ApprovalError::Conflict(format!(
            "事项 {} 没有可以办理{}环节的人员：请在事项目录中指定，或给有关人员{}角色",
            item.short_name,
            step.label_zh(),
            step.role().name_zh()
        ))
    })
}

/// The promise and statutory due dates of a case accepted on `accepted_on`.
pub fn due_dates(
    cal: &Calendar,
    accepted_on: Date,
    promised_days: u32,
    statutory_days: u32,
    pauses: &[Pause],
) -> (Due, Due) {
    (
        cal.add_working_days(accepted_on, promised_days, pauses),
        cal.add_working_days(accepted_on, statutory_days, pauses),
    )
}

struct Row {
    id: i64,
    receipt: String,
    item_id: i64,
    kind: String,
    department_id: i64,
    state: String,
    clerk_id: i64,
    version: i64,
    accepted_on: String,
    promised_days: u32,
    statutory_days: u32,
}

fn load(conn: &Connection, id: i64) -> Result<Row, ApprovalError> {
    conn.prepare_cached(
        "SELECT id, receipt, item_id, kind, department_id, state, clerk_id, version, accepted_on,
                promised_days, statutory_days FROM approval_cases WHERE id = ?1",
    )?
    .query_row([id], |r| {
        Ok(Row {
            id: r.get(0)?,
            receipt: r.get(1)?,
            item_id: r.get(2)?,
            kind: r.get(3)?,
            department_id: r.get(4)?,
            state: r.get(5)?,
            clerk_id: r.get(6)?,
            version: r.get(7)?,
            accepted_on: r.get(8)?,
            promised_days: r.get(9)?,
            statutory_days: r.get(10)?,
        })
    })
    .optional()?
    .ok_or_else(|| ApprovalError::NotFound(format!("办件 {id}")))
}

fn last_actor(conn: &Connection, case_id: i64, action: &str) -> Result<Option<i64>, ApprovalError> {
    Ok(conn
        .prepare_cached(
            "SELECT actor_id FROM approval_steps WHERE case_id = ?1 AND action = ?2 AND subcase_id IS NULL
              ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![case_id, action], |r| r.get(0))
        .optional()?
        .flatten())
}

fn resume_state(conn: &Connection, case_id: i64) -> Result<Option<String>, ApprovalError> {
    Ok(conn
        .prepare_cached(
            "SELECT from_state FROM approval_steps WHERE case_id = ?1 AND action = 'supplement'
              ORDER BY id DESC LIMIT 1",
        )?
        .query_row([case_id], |r| r.get(0))
        .optional()?)
}

/// The open pause of a case: (id, kind).
fn open_pause(conn: &Connection, case_id: i64) -> Result<Option<(i64, String)>, ApprovalError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, kind FROM approval_pauses WHERE case_id = ?1 AND to_on IS NULL",
        )?
        .query_row([case_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Refuses a stale version before anything else is looked at.
pub(crate) fn check_version(seen: i64, now: i64) -> Result<(), ApprovalError> {
    if seen != now {
        return Err(ApprovalError::Stale { seen, now });
    }
    Ok(())
}

/// The steps whose people may take `action` in `state`.
fn actors(action: Action, state: &str, resume_to: Option<&str>) -> Vec<Step> {
    match (action, state) {
        (Action::Complete, "accepted") | (Action::Withdraw, _) => vec![Step::Accept],
        (Action::Complete | Action::Return, "approved") => vec![Step::Accept, Step::Approve],
        (Action::Resume, _) => {
            let mut v = vec![Step::Accept];
            v.extend(resume_to.and_then(next_step));
            v
        }
        (_, s) => next_step(s).into_iter().collect(),
    }
}

/// Takes one action on a case on `today` (Beijing date); returns the case as it now is.
pub fn act(
    tx: &mut WriteTx,
    user: &User,
    case_id: i64,
    t: &Transition,
    today: Date,
) -> Result<Case, ApprovalError> {
    let action = Action::parse(&t.action, t.pause.as_deref())?;
    let row = load(tx.conn(), case_id)?;
    check_version(t.version, row.version)?;
    let resume_to = if row.state == "supplement" {
        resume_state(tx.conn(), row.id)?
    } else {
        None
    };
    let Some(to) = target(action, &row.state, &row.kind, resume_to.as_deref()) else {
        return Err(ApprovalError::IllegalTransition(format!(
            "办件 {} 当前状态为“{}”，不能{}",
            row.receipt,
            cases::state_zh(&row.state),
            action_zh(action.code())
        )));
    };
    let item = items::by_id(tx.conn(), row.item_id)?;
    let steps = actors(action, &row.state, resume_to.as_deref());
    let mut allowed = false;
    for s in &steps {
        if may_act(tx.conn(), user, &item, *s, row.department_id)? {
            allowed = true;
            break;
        }
    }
    if !allowed {
        let who: Vec<String> = steps
            .iter()
            .map(|s| format!("{}人员（{}）", s.label_zh(), s.role().name_zh()))
            .collect();
        return Err(ApprovalError::Forbidden(format!(
            "只有事项 {} 的{}可以{}",
            item.short_name,
            who.join("或"),
            action_zh(action.code())
        )));
    }
    let opinion = multiline("opinion", &t.opinion, MAX_OPINION, action.needs_opinion())?;
    let pause = open_pause(tx.conn(), row.id)?;
    match (&pause, action) {
        (Some((_, kind)), a)
            if kind != "supplement" && !matches!(a, Action::EndPause | Action::Withdraw) =>
        {
            return Err(ApprovalError::IllegalTransition(format!(
                "办件 {} 正在{}（暂停计时），请先结束特别程序",
                row.receipt,
                cases::pause_kind_zh(kind)
            )));
        }
        (Some(_), Action::Pause(_)) => unreachable!("an open pause refuses a second one above"),
        (None, Action::EndPause) => {
            return Err(ApprovalError::IllegalTransition(format!(
                "办件 {} 没有进行中的特别程序",
                row.receipt
            )));
        }
        _ => {}
    }
    if let Action::Pause(PauseKind::ExpertReview) = action {
        if !item.expert_review {
            return Err(ApprovalError::invalid(
                "pause",
                format!("事项 {} 不需要专家评审", item.short_name),
            ));
        }
    }
    if matches!(action, Action::Approve | Action::Deny) && row.kind == "joint" {
        let open = joint::open_departments(tx.conn(), row.id)?;
        if !open.is_empty() {
            return Err(ApprovalError::IllegalTransition(format!(
                "联办部门尚未全部办结（{}），牵头部门不能作出决定",
                open.join("、")
            )));
        }
    }

    let accepted_on: Date = row
        .accepted_on
        .parse()
        .map_err(|_| ApprovalError::Conflict(format!("办件 {} 的受理日期有误", row.receipt)))?;
    let today_s = today.to_string();
    let now = tx.now().to_string();
    let closes = cases::CLOSED_STATES.contains(&to);

    match action {
        Action::Supplement | Action::Pause(_) => {
            let kind = match action {
                Action::Pause(k) => k.code(),
                _ => "supplement",
            };
            tx.exec(
                "INSERT INTO approval_pauses(case_id, kind, reason, from_on, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![row.id, kind, opinion, today_s, now],
            )?;
        }
        Action::Resume | Action::EndPause | Action::Withdraw => {
            if let Some((pid, _)) = &pause {
                tx.exec(
                    "UPDATE approval_pauses SET to_on = ?2, ended_at = ?3 WHERE id = ?1",
                    params![pid, today_s, now],
                )?;
            }
        }
        _ => {}
    }

    let assignee: Option<i64> = if closes || to == "supplement" {
        None
    } else if to == "approved" {
        Some(row.clerk_id)
    } else if matches!(action, Action::Pause(_) | Action::EndPause) {
        tx.conn().query_row(
            "SELECT assignee_id FROM approval_cases WHERE id = ?1",
            [row.id],
            |r| r.get(0),
        )?
    } else {
        let step = next_step(to).expect("an open, unpaused state has a next step");
        let previous = if action == Action::Resume {
            last_actor(tx.conn(), row.id, "supplement")?
        } else {
            last_actor(tx.conn(), row.id, step.code())?
        };
        Some(pick_assignee(
            tx.conn(),
            &item,
            step,
            row.department_id,
            t.assignee.as_deref(),
            previous,
        )?)
    };

    let pauses = cases::clock_pauses(&cases::pauses(tx.conn(), row.id)?);
    let cal = Calendar::load(tx.conn())?;
    let (due, statutory) = due_dates(
        &cal,
        accepted_on,
        row.promised_days,
        row.statutory_days,
        &pauses,
    );
    let (used, saved) = if closes {
        let used = cal.working_days_between(accepted_on, today, &pauses);
        (Some(used), Some(i64::from(row.promised_days) - used))
    } else {
        (None, None)
    };
    let changed = tx.exec(
        "UPDATE approval_cases SET state = ?3, assignee_id = ?4, due_on = ?5, statutory_due_on = ?6,
                due_provisional = ?7, closed_at = ?8, closed_on = ?9, used_days = ?10,
                saved_days = ?11, version = version + 1, updated_at = ?12
          WHERE id = ?1 AND version = ?2",
        params![
            row.id,
            row.version,
            to,
            assignee,
            due.date.to_string(),
            statutory.date.to_string(),
            due.provisional || statutory.provisional,
            closes.then_some(&now),
            closes.then_some(&today_s),
            used,
            saved,
            now
        ],
    )?;
    if changed != 1 {
        return Err(ApprovalError::Stale {
            seen: t.version,
            now: row.version + 1,
        });
    }
    if row.kind == "joint" {
        match action {
            Action::Withdraw => joint::close_open(tx, row.id, today)?,
            Action::Resume | Action::EndPause => {
                joint::recompute(tx, row.id, accepted_on, &cal, &pauses)?;
            }
            _ => {}
        }
    }
    let step_id = tx.insert(
        "INSERT INTO approval_steps(case_id, action, from_state, to_state, actor_id, at, opinion)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![row.id, action.code(), row.state, to, user.id, now, opinion],
    )?;
    tx.change(
        "approval_case",
        &row.receipt,
        Op::Update,
        &serde_json::json!({
            "receipt": row.receipt, "step_id": step_id, "action": action.code(),
            "pause": match action { Action::Pause(k) => Some(k.code()), _ => None },
            "from": row.state, "to": to, "actor_id": user.id, "opinion": opinion,
            "assignee_id": assignee, "version": row.version + 1,
            "due_on": due.date.to_string(), "statutory_due_on": statutory.date.to_string(),
            "closed_on": closes.then_some(&today_s), "used_days": used, "saved_days": saved,
        }),
    )?;
    match to {
        "completed" | "denied" => messages::tell_applicant_closed(tx, row.id),
        "supplement" => messages::tell_applicant_supplement(tx, row.id, &opinion),
        _ if assignee.is_some() && !matches!(action, Action::Pause(_) | Action::EndPause) => {
            messages::tell_assignee(tx, row.id)
        }
        _ => {}
    }
    cases::get(tx.conn(), row.id)
}

/// 催办: a head, leader, supervisor or the window reminds the case's current handler. Not a
/// transition: the version stays, so the handler's open form is not made stale.
pub fn urge(
    tx: &mut WriteTx,
    user: &User,
    case_id: i64,
    note: &str,
) -> Result<Case, ApprovalError> {
    if !user.has_any(&[
        Role::DeptHead,
        Role::Leader,
        Role::Supervisor,
        Role::Admin,
        Role::Clerk,
    ]) {
        return Err(ApprovalError::Forbidden(
            "只有科室负责人、分管领导、监察人员、窗口人员或系统管理员可以催办".into(),
        ));
    }
    let row = load(tx.conn(), case_id)?;
    if cases::CLOSED_STATES.contains(&row.state.as_str()) {
        return Err(ApprovalError::IllegalTransition(format!(
            "办件 {} 已{}，无需催办",
            row.receipt,
            cases::state_zh(&row.state)
        )));
    }
    let note = multiline("opinion", note, 500, false)?;
    let note = if note.is_empty() {
        "请抓紧办理".to_string()
    } else {
        note
    };
    let now = tx.now().to_string();
    let step_id = tx.insert(
        "INSERT INTO approval_steps(case_id, action, from_state, to_state, actor_id, at, opinion)
         VALUES (?1, 'urge', ?2, ?2, ?3, ?4, ?5)",
        params![row.id, row.state, user.id, now, note],
    )?;
    tx.change(
        "approval_case",
        &row.receipt,
        Op::Update,
        &serde_json::json!({"receipt": row.receipt, "step_id": step_id, "action": "urge",
                            "actor_id": user.id, "opinion": note}),
    )?;
    messages::tell_urge(tx, row.id, &note);
    cases::get(tx.conn(), row.id)
}

/// Recomputes the due dates of every open case and joint sub-case from the calendar now in
/// the database: called where holiday notices and days are imported or edited, so a
/// provisional due date becomes a firm one. Returns how many cases changed.
pub fn recompute_due_dates(tx: &mut WriteTx) -> Result<usize, CalendarError> {
    recompute(tx).map_err(|e| match e {
        ApprovalError::Store(s) => CalendarError::Store(s),
        other => CalendarError::Conflict(other.to_string()),
    })
}

fn recompute(tx: &mut WriteTx) -> Result<usize, ApprovalError> {
    let cal = Calendar::load(tx.conn())?;
    struct Open {
        id: i64,
        receipt: String,
        accepted_on: String,
        promised: u32,
        statutory: u32,
        due_on: String,
        stat_on: String,
        provisional: bool,
    }
    let open: Vec<Open> = tx
        .conn()
        .prepare(
            "SELECT id, receipt, accepted_on, promised_days, statutory_days, due_on,
                    statutory_due_on, due_provisional
               FROM approval_cases
              WHERE state NOT IN ('completed', 'not_accepted', 'denied', 'withdrawn')",
        )?
        .query_map([], |r| {
            Ok(Open {
                id: r.get(0)?,
                receipt: r.get(1)?,
                accepted_on: r.get(2)?,
                promised: r.get(3)?,
                statutory: r.get(4)?,
                due_on: r.get(5)?,
                stat_on: r.get(6)?,
                provisional: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut changed = 0;
    for Open {
        id,
        receipt,
        accepted_on,
        promised,
        statutory,
        due_on,
        stat_on,
        provisional: prov,
    } in open
    {
        let Ok(accepted) = accepted_on.parse::<Date>() else {
            continue;
        };
        let pauses = cases::clock_pauses(&cases::pauses(tx.conn(), id)?);
        let (due, stat) = due_dates(&cal, accepted, promised, statutory, &pauses);
        let provisional = due.provisional || stat.provisional;
        let subs = joint::recompute(tx, id, accepted, &cal, &pauses)?;
        if !subs
            && due.date.to_string() == due_on
            && stat.date.to_string() == stat_on
            && provisional == prov
        {
            continue;
        }
        tx.exec(
            "UPDATE approval_cases SET due_on = ?2, statutory_due_on = ?3, due_provisional = ?4
              WHERE id = ?1",
            params![id, due.date.to_string(), stat.date.to_string(), provisional],
        )?;
        tx.change(
            "approval_case",
            &receipt,
            Op::Update,
            &serde_json::json!({"receipt": receipt, "action": "recompute_due",
                                "due_on": due.date.to_string(),
                                "statutory_due_on": stat.date.to_string(),
                                "due_provisional": provisional}),
        )?;
        changed += 1;
    }
    Ok(changed)
}

/// The actions `user` may take on `case` now, for the page to offer (the domain still checks
/// each one when taken).
pub fn available(
    conn: &Connection,
    user: &User,
    case: &Case,
) -> Result<Vec<Action>, ApprovalError> {
    let item = items::by_id(conn, case.item_id)?;
    let resume_to = if case.state == "supplement" {
        resume_state(conn, case.id)?
    } else {
        None
    };
    let art45 = case.paused.as_ref().is_some_and(|p| p.kind != "supplement");
    let mut out = Vec::new();
    for a in [
        Action::Undertake,
        Action::Review,
        Action::Approve,
        Action::Complete,
        Action::Deny,
        Action::Return,
        Action::Supplement,
        Action::Resume,
        Action::Withdraw,
        Action::Pause(PauseKind::Hearing),
        Action::EndPause,
    ] {
        if target(a, &case.state, &case.kind, resume_to.as_deref()).is_none() {
            continue;
        }
        let blocked = match a {
            Action::EndPause => !art45,
            Action::Withdraw => false,
            _ => art45,
        };
        if blocked {
            continue;
        }
        let mut ok = false;
        for s in actors(a, &case.state, resume_to.as_deref()) {
            if may_act(conn, user, &item, s, case.department_id)? {
                ok = true;
                break;
            }
        }
        if ok {
            out.push(a);
        }
    }
    Ok(out)
}
