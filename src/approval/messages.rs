//! The SMS of the workflow: the person who must act next is told (item, applicant, due date);
//! the applicant is told when the case is closed or needs a supplement.
//!
//! Messages are queued in the transition's own transaction (so a rolled-back transition tells
//! nobody) and delivered later by the outbox worker. A message that cannot be queued (a staff
//! member without a phone, a malformed number) is skipped and logged: it never fails the
//! transition.

use rusqlite::{Connection, OptionalExtension};

use super::notify::{self, Sms};
use crate::auth;
use crate::store::WriteTx;

struct Facts {
    receipt: String,
    item: String,
    applicant: String,
    applicant_phone: String,
    assignee: Option<i64>,
    due_on: String,
    state: String,
    contact_phone: String,
}

fn facts(conn: &Connection, case_id: i64) -> Option<Facts> {
    conn.query_row(
        "SELECT c.receipt, i.short_name, c.applicant_name, c.applicant_phone, c.assignee_id,
                c.due_on, c.state, i.contact_phone
           FROM approval_cases c JOIN approval_items i ON i.id = c.item_id WHERE c.id = ?1",
        [case_id],
        |r| {
            Ok(Facts {
                receipt: r.get(0)?,
                item: r.get(1)?,
                applicant: r.get(2)?,
                applicant_phone: r.get(3)?,
                assignee: r.get(4)?,
                due_on: r.get(5)?,
                state: r.get(6)?,
                contact_phone: r.get(7)?,
            })
        },
    )
    .optional()
    .ok()
    .flatten()
}

fn send(tx: &mut WriteTx, phone: &str, text: String, reference: &str) {
    let sms = Sms {
        phone: phone.to_string(),
        text,
        reference: reference.to_string(),
    };
    if let Err(e) = notify::enqueue(tx, &sms) {
        log::warn!("approval SMS for {reference} not queued: {e}");
    }
}

fn staff_phone(conn: &Connection, user_id: i64) -> Option<String> {
    auth::phone(conn, user_id).ok().flatten()
}

/// The case's assignee: a new to-do.
pub fn tell_assignee(tx: &mut WriteTx, case_id: i64) {
    let Some(f) = facts(tx.conn(), case_id) else {
        return;
    };
    let Some(phone) = f.assignee.and_then(|a| staff_phone(tx.conn(), a)) else {
        return;
    };
    let text = format!(
        "【行政审批】您有新的待办：{}，申请人{}，受理号{}，承诺办结日期{}。",
        f.item, f.applicant, f.receipt, f.due_on
    );
    send(tx, &phone, text, &f.receipt);
}

/// The handlers of an auxiliary department: their sub-case of a joint case.
pub fn tell_department(tx: &mut WriteTx, case_id: i64, department_id: i64) {
    let Some(f) = facts(tx.conn(), case_id) else {
        return;
    };
    let users = auth::users_with_role(tx.conn(), auth::Role::Handler, Some(department_id))
        .unwrap_or_default();
    for u in users {
        if let Some(phone) = staff_phone(tx.conn(), u) {
            let text = format!(
                "【行政审批】联办待办：{}，申请人{}，受理号{}，请在承诺时限内提出配合意见。",
                f.item, f.applicant, f.receipt
            );
            send(tx, &phone, text, &f.receipt);
        }
    }
}

/// The current handler is reminded (催办).
pub fn tell_urge(tx: &mut WriteTx, case_id: i64, note: &str) {
    let Some(f) = facts(tx.conn(), case_id) else {
        return;
    };
    let Some(phone) = f.assignee.and_then(|a| staff_phone(tx.conn(), a)) else {
        return;
    };
    let note: String = note.chars().take(100).collect();
    let text = format!(
        "【催办】{}（申请人{}，受理号{}）承诺办结日期{}：{}",
        f.item, f.applicant, f.receipt, f.due_on, note
    );
    send(tx, &phone, text, &f.receipt);
}

/// The applicant: the case is closed (准予 or 不予许可).
pub fn tell_applicant_closed(tx: &mut WriteTx, case_id: i64) {
    let Some(f) = facts(tx.conn(), case_id) else {
        return;
    };
    let outcome = if f.state == "denied" {
        "不予许可，决定书请到窗口领取"
    } else {
        "已办结，请携带受理通知书和身份证件到窗口领取结果"
    };
    let text = format!(
        "【行政审批】{}您好，您申请的{}（受理号{}）{}。咨询电话{}。",
        f.applicant, f.item, f.receipt, outcome, f.contact_phone
    );
    send(tx, &f.applicant_phone, text, &f.receipt);
}

/// The applicant: materials must be supplemented (补正); the clock stops meanwhile.
pub fn tell_applicant_supplement(tx: &mut WriteTx, case_id: i64, reason: &str) {
    let Some(f) = facts(tx.conn(), case_id) else {
        return;
    };
    let reason: String = reason.chars().take(150).collect();
    let text = format!(
        "【行政审批】{}您好，您申请的{}（受理号{}）需要补正：{}。请到窗口补正，补正期间不计入办理时限。",
        f.applicant, f.item, f.receipt, reason
    );
    send(tx, &f.applicant_phone, text, &f.receipt);
}

/// The applicant of an online application that was returned at pre-review.
pub fn tell_intake_returned(tx: &mut WriteTx, phone: &str, number: &str, item: &str, reason: &str) {
    let reason: String = reason.chars().take(150).collect();
    let text = format!(
        "【行政审批】您的网上申请{}（{}）未通过预审：{}。可修改后重新申报。",
        number, item, reason
    );
    send(tx, phone, text, number);
}

/// The applicant of an online application accepted into a case.
pub fn tell_intake_accepted(tx: &mut WriteTx, case_id: i64, number: &str) {
    let Some(f) = facts(tx.conn(), case_id) else {
        return;
    };
    let text = format!(
        "【行政审批】您的网上申请{}（{}）已受理，受理号{}，承诺办结日期{}。",
        number, f.item, f.receipt, f.due_on
    );
    send(tx, &f.applicant_phone, text, number);
}
