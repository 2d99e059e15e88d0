//! Test fixtures for supervision: approval's items and cases written straight into approval's
//! tables, standing in for approval's own functions. Test code only: the supervision part
//! itself reads cases through the `approval_case_facts` view alone.

#![allow(dead_code)]

use rusqlite::{params, Connection};

pub struct Item {
    pub code: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub department_id: i64,
    pub promised_days: i64,
}

pub fn item(conn: &Connection, it: &Item) -> i64 {
    conn.execute(
        "INSERT INTO approval_items(code, name, short_name, kind, department_id, promised_days,
             statutory_days, created_at, updated_at)
         VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
        params![
            it.code,
            it.name,
            it.kind,
            it.department_id,
            it.promised_days,
            it.promised_days * 2
        ],
    )
    .unwrap();
    conn.last_insert_rowid()
}

#[derive(Clone)]
pub struct Case {
    pub receipt: String,
    pub item_id: i64,
    pub kind: &'static str,
    pub department_id: i64,
    pub applicant: String,
    pub channel: &'static str,
    pub state: &'static str,
    pub clerk_id: i64,
    pub assignee_id: Option<i64>,
    pub accepted_on: String,
    pub due_on: String,
    pub closed_on: Option<String>,
    pub saved_days: Option<i64>,
    /// An open 补正 pause from this day.
    pub paused_from: Option<String>,
}

pub fn case(conn: &Connection, c: &Case) -> i64 {
    let closed_at = c.closed_on.as_ref().map(|d| format!("{d}T02:00:00Z"));
    let used = c.saved_days.map(|s| 5 - s);
    conn.execute(
        "INSERT INTO approval_cases(receipt, item_id, kind, department_id, promised_days,
             statutory_days, applicant_kind, applicant_name, applicant_id_no, applicant_phone,
             channel, state, clerk_id, assignee_id, accepted_at, accepted_on, due_on,
             statutory_due_on, closed_at, closed_on, used_days, saved_days, updated_at)
         VALUES (?1, ?2, ?3, ?4, 5, 10, 'person', ?5, '110101199001011234', '13800000000',
             ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14, ?15, ?16, ?10)",
        params![
            c.receipt,
            c.item_id,
            c.kind,
            c.department_id,
            c.applicant,
            c.channel,
            c.state,
            c.clerk_id,
            c.assignee_id,
            format!("{}T01:00:00Z", c.accepted_on),
            c.accepted_on,
            c.due_on,
            closed_at,
            c.closed_on,
            used,
            c.saved_days
        ],
    )
    .unwrap();
    let id = conn.last_insert_rowid();
    if let Some(from) = &c.paused_from {
        conn.execute(
            "INSERT INTO approval_pauses(case_id, kind, from_on, started_at)
             VALUES (?1, 'supplement', ?2, ?3)",
            params![id, from, format!("{from}T03:00:00Z")],
        )
        .unwrap();
    }
    id
}

/// Closes a case the way approval would: state, closing day and saved days.
pub fn close(conn: &Connection, receipt: &str, state: &str, closed_on: &str) {
    conn.execute(
        "UPDATE approval_cases SET state = ?2, closed_on = ?3, closed_at = ?4, assignee_id = NULL,
             used_days = 0, saved_days = 0 WHERE receipt = ?1",
        params![receipt, state, closed_on, format!("{closed_on}T02:00:00Z")],
    )
    .unwrap();
}

/// The ids the hand-computed fixture uses.
#[derive(Clone, Copy)]
pub struct People {
    pub dept_a: i64,
    pub dept_b: i64,
    pub clerk: i64,
    pub handler_a: i64,
    pub handler_b: i64,
}

pub struct Fixture {
    pub item_a1: i64,
    pub item_a2: i64,
    pub item_b1: i64,
    pub item_b2: i64,
}

/// (count, item, state, accepted_on, due_on, closed_on, saved_days, paused)
type Group = (
    usize,
    char,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<i64>,
    bool,
);

/// The 50 cases of the hand-computed statistics (see `stats` tests for the expected tables;
/// "today" there is 2026-11-30). Items: A1 承诺件 and A2 即办件 of department A, B1 承诺件 and
/// B2 联办件 of department B.
pub const GROUPS: [Group; 16] = [
    (
        8,
        'a',
        "completed",
        "2026-11-02",
        "2026-11-09",
        Some("2026-11-05"),
        Some(2),
        false,
    ),
    (
        4,
        'a',
        "completed",
        "2026-11-03",
        "2026-11-10",
        Some("2026-11-10"),
        Some(0),
        false,
    ),
    (
        3,
        'a',
        "completed",
        "2026-11-04",
        "2026-11-11",
        Some("2026-11-13"),
        Some(-2),
        false,
    ),
    (
        6,
        'i',
        "completed",
        "2026-11-16",
        "2026-11-16",
        Some("2026-11-16"),
        Some(0),
        false,
    ),
    (
        3,
        'a',
        "undertaken",
        "2026-11-20",
        "2026-11-27",
        None,
        None,
        false,
    ),
    (
        2,
        'a',
        "accepted",
        "2026-11-25",
        "2026-12-02",
        None,
        None,
        false,
    ),
    (
        2,
        'a',
        "not_accepted",
        "2026-11-06",
        "2026-11-13",
        Some("2026-11-06"),
        None,
        false,
    ),
    (
        2,
        'a',
        "completed",
        "2026-10-26",
        "2026-11-02",
        Some("2026-11-03"),
        Some(-1),
        false,
    ),
    (
        5,
        'b',
        "completed",
        "2026-11-02",
        "2026-11-16",
        Some("2026-11-12"),
        Some(2),
        false,
    ),
    (
        4,
        'j',
        "completed",
        "2026-11-09",
        "2026-11-19",
        Some("2026-11-24"),
        Some(-3),
        false,
    ),
    (
        3,
        'b',
        "reviewed",
        "2026-11-10",
        "2026-11-24",
        None,
        None,
        false,
    ),
    (
        2,
        'b',
        "supplement",
        "2026-11-23",
        "2026-12-07",
        None,
        None,
        true,
    ),
    (
        2,
        'j',
        "undertaken",
        "2026-11-26",
        "2026-11-30",
        None,
        None,
        false,
    ),
    (
        2,
        'b',
        "withdrawn",
        "2026-11-11",
        "2026-11-25",
        Some("2026-11-18"),
        None,
        false,
    ),
    (
        1,
        'b',
        "completed",
        "2026-10-20",
        "2026-11-03",
        Some("2026-11-02"),
        Some(1),
        false,
    ),
    (
        1,
        'b',
        "approved",
        "2026-10-28",
        "2026-11-11",
        None,
        None,
        false,
    ),
];

pub fn fifty(conn: &Connection, p: &People) -> Fixture {
    let f = Fixture {
        item_a1: item(
            conn,
            &Item {
                code: "A1",
                name: "食品经营许可",
                kind: "promised",
                department_id: p.dept_a,
                promised_days: 5,
            },
        ),
        item_a2: item(
            conn,
            &Item {
                code: "A2",
                name: "个体工商户登记",
                kind: "immediate",
                department_id: p.dept_a,
                promised_days: 0,
            },
        ),
        item_b1: item(
            conn,
            &Item {
                code: "B1",
                name: "建设用地规划许可",
                kind: "promised",
                department_id: p.dept_b,
                promised_days: 10,
            },
        ),
        item_b2: item(
            conn,
            &Item {
                code: "B2",
                name: "不动产登记联办",
                kind: "joint",
                department_id: p.dept_b,
                promised_days: 8,
            },
        ),
    };
    let mut n = 0;
    for (g, (count, which, state, accepted, due, closed, saved, paused)) in
        GROUPS.iter().enumerate()
    {
        let (item_id, kind, dept, handler) = match which {
            'a' => (f.item_a1, "promised", p.dept_a, p.handler_a),
            'i' => (f.item_a2, "immediate", p.dept_a, p.handler_a),
            'b' => (f.item_b1, "promised", p.dept_b, p.handler_b),
            _ => (f.item_b2, "joint", p.dept_b, p.handler_b),
        };
        for _ in 0..*count {
            n += 1;
            case(
                conn,
                &Case {
                    receipt: format!("{}-t-{n:06}", accepted.replace('-', "")),
                    item_id,
                    kind,
                    department_id: dept,
                    applicant: format!("申请人{}组{n}", g + 1),
                    channel: if n % 2 == 0 { "online" } else { "window" },
                    state,
                    clerk_id: p.clerk,
                    assignee_id: closed.is_none().then_some(handler),
                    accepted_on: accepted.to_string(),
                    due_on: due.to_string(),
                    closed_on: closed.map(str::to_string),
                    saved_days: *saved,
                    paused_from: paused.then(|| "2026-11-24".to_string()),
                },
            );
        }
    }
    f
}
