//! Supervision benchmark, run on demand with `cargo bench --bench supervision`.
//!
//! 1. Each of the six statistics reports over 1,000,000 generated cases (whole range, all
//!    departments), through `stats::run` over the case-facts view, against the equivalent
//!    hand-written SQL GROUP BY on the base tables in the same run. The figure is
//!    hand-written time / report time (goal ≥ 0.5: the report takes at most twice as long).
//!    The numbers of both are compared, so the figure is for the same answer.
//! 2. The card sweep over 1,000,000 open cases (goal < 2 s): the first sweep, which issues the
//!    cards of the overdue ones, and the steady sweep that finds nothing new.
//!
//! Medians of several runs. The cases are written straight into approval's tables by this
//! benchmark (test code), as the approval part would have left them.

use std::time::{Duration, Instant};

use govbox::approval::calendar::Calendar;
use govbox::auth::{self, DeptKind, NewUser, Role, RoleGrant};
use govbox::store::{self, Store};
use govbox::supervision::stats::{self, Cell, Report, Scope};
use govbox::supervision::{cards, Rules, SupervisionError};
use jiff::civil::{date, Date};
use rand::{Rng, SeedableRng};
use rusqlite::{params, Connection};

const CASES: usize = 1_000_000;
const DEPARTMENTS: i64 = 10;
const ITEMS: i64 = 20;
const RUNS: usize = 5;
const TODAY: Date = date(2026, 11, 30);
const FIRST: Date = date(2025, 1, 1);

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed());
    }
    (median(times), last.unwrap())
}

/// A site with departments, one clerk and one handler per department, and the items.
fn site(dir: &std::path::Path) -> (Store, Vec<i64>, Vec<i64>) {
    let s = store::open(&dir.join("govbox.db"), "bench").unwrap();
    let (depts, users) = s
        .write_blocking(|tx| -> Result<(Vec<i64>, Vec<i64>), auth::AuthError> {
            let mut depts = Vec::new();
            let mut users = Vec::new();
            for d in 0..DEPARTMENTS {
                let id = auth::create_department(tx, &format!("部门{d}"), None, DeptKind::Unit)?;
                depts.push(id);
                users.push(auth::create_user(
                    tx,
                    &NewUser {
                        username: format!("h{d}"),
                        display_name: format!("承办人{d}"),
                        roles: vec![RoleGrant {
                            role: Role::Handler,
                            department_id: id,
                        }],
                    },
                    "x",
                )?);
            }
            Ok((depts, users))
        })
        .unwrap();
    (s, depts, users)
}

fn kind_of(item: i64) -> (&'static str, i64) {
    match item % 5 {
        0 => ("immediate", 0),
        4 => ("joint", 10),
        _ => ("promised", 5 + (item % 3) * 5),
    }
}

/// Writes the items and `CASES` cases; `open_only` makes every case open (for the sweep).
fn generate(db: &std::path::Path, depts: &[i64], users: &[i64], open_only: bool) {
    let mut c = Connection::open(db).unwrap();
    c.pragma_update(None, "synchronous", "OFF").unwrap();
    let tx = c.transaction().unwrap();
    for i in 0..ITEMS {
        let (kind, days) = kind_of(i);
        tx.execute(
            "INSERT INTO approval_items(id, code, name, short_name, kind, department_id, promised_days,
                 statutory_days, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')",
            params![i + 1, format!("SX{i:03}"), format!("事项{i}"), kind,
                depts[(i % DEPARTMENTS) as usize], days, days * 2],
        )
        .unwrap();
    }
    let cal = Calendar::shipped();
    let span = i64::from((TODAY - FIRST).get_days());
    let days: Vec<Date> = (0..=span)
        .map(|d| FIRST.checked_add(jiff::Span::new().days(d)).unwrap())
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(39734);
    {
        let mut st = tx
            .prepare(
                "INSERT INTO approval_cases(receipt, item_id, kind, department_id, promised_days,
                     statutory_days, applicant_kind, applicant_name, applicant_id_no, applicant_phone,
                     channel, state, clerk_id, assignee_id, accepted_at, accepted_on, due_on,
                     statutory_due_on, closed_at, closed_on, used_days, saved_days, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'person', ?7, '', '13800000000', ?8, ?9, ?10, ?11,
                     ?12, ?13, ?14, ?14, ?15, ?16, ?17, ?18, ?12)",
            )
            .unwrap();
        for n in 0..CASES {
            let item = rng.gen_range(0..ITEMS);
            let (kind, promised) = kind_of(item);
            let dept = depts[(item % DEPARTMENTS) as usize];
            let handler = users[(item % DEPARTMENTS) as usize];
            let accepted_i = if open_only {
                rng.gen_range(span - 40..=span)
            } else {
                rng.gen_range(0..=span)
            };
            let accepted = days[accepted_i as usize];
            let due = cal.add_working_days(accepted, promised as u32, &[]).date;
            let roll: f64 = rng.gen();
            let close_after = rng.gen_range(0..=promised * 2);
            let closed_i = accepted_i + close_after * 7 / 5;
            let (state, closed) = if open_only || closed_i > span {
                ("undertaken", None)
            } else if roll < 0.90 {
                ("completed", Some(days[closed_i as usize]))
            } else if roll < 0.95 {
                ("not_accepted", Some(accepted))
            } else if roll < 0.97 {
                ("withdrawn", Some(days[closed_i as usize]))
            } else {
                ("undertaken", None)
            };
            let saved = closed.map(|c| {
                if c <= due {
                    cal.working_days_between(c, due, &[])
                } else {
                    -cal.working_days_between(due, c, &[])
                }
            });
            st.execute(params![
                format!("{}-bench-{n:07}", accepted.to_string().replace('-', "")),
                item + 1,
                kind,
                dept,
                promised,
                promised * 2,
                format!("申请人{}", n % 5000),
                if n % 3 == 0 { "online" } else { "window" },
                state,
                users[0],
                closed.is_none().then_some(handler),
                format!("{accepted}T01:00:00Z"),
                accepted.to_string(),
                due.to_string(),
                closed.map(|c| format!("{c}T08:00:00Z")),
                closed.map(|c| c.to_string()),
                saved.map(|s| promised - s),
                saved,
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    c.execute_batch("ANALYZE").unwrap();
}

/// Complaints and evaluations for the feedback and staff reports, written as supervision would.
fn feedback_rows(db: &std::path::Path, depts: &[i64], users: &[i64]) {
    let mut c = Connection::open(db).unwrap();
    let tx = c.transaction().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for n in 0..20_000 {
        let d = depts[n % depts.len()];
        let day = FIRST
            .checked_add(jiff::Span::new().days(rng.gen_range(0..690)))
            .unwrap();
        tx.execute(
            "INSERT INTO supervision_complaints(number, code_hash, category, target, name, phone,
                 body, department_id, state, substantiated, subject_id, submitted_at, submitted_on)
             VALUES (?1, '', '办事效率', '窗口', '某', '13800000000', '投诉', ?2, ?3, ?4, ?5, ?6, ?7)",
            params![format!("TS-{n}"), d, if n % 3 == 0 { "received" } else { "closed" },
                (n % 3 != 0).then_some(i64::from(n % 2 == 0)), (n % 2 == 0).then_some(users[n % users.len()]),
                format!("{day}T02:00:00Z"), day.to_string()],
        )
        .unwrap();
    }
    tx.execute(
        "INSERT INTO supervision_evaluations(case_id, receipt, department_id, clerk_id, item_id, level,
             reason, at, on_day, loop_state, rectify_due_on)
         SELECT case_id, receipt, department_id, coalesce(assignee_id, clerk_id), item_id,
                1 + abs(case_id * 7919) % 5, '', accepted_at, accepted_on,
                CASE WHEN 1 + abs(case_id * 7919) % 5 >= 4 THEN 'open' ELSE 'none' END, NULL
           FROM approval_case_facts WHERE case_id % 5 = 0",
        [],
    )
    .unwrap();
    tx.commit().unwrap();
}

fn ints(rows: &[Vec<Cell>], cols: usize) -> Vec<Vec<i64>> {
    rows.iter()
        .filter(|r| !matches!(&r[0], Cell::Text(t) if t == "合计"))
        .map(|r| {
            r[1..=cols]
                .iter()
                .map(|c| match c {
                    Cell::Int(n) => *n,
                    _ => -1,
                })
                .collect()
        })
        .collect()
}

fn raw(c: &Connection, sql: &str, args: &[String]) -> Vec<Vec<i64>> {
    let mut st = c.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map(rusqlite::params_from_iter(args), |r| {
        (1..n)
            .map(|i| r.get::<_, Option<i64>>(i).map(|v| v.unwrap_or(0)))
            .collect()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

const CLOSED: &str = "state IN ('completed', 'not_accepted', 'denied', 'withdrawn')";

/// The hand-written GROUP BY of each report over the base tables, and how many leading
/// columns of the report (after its name) it is compared with.
fn hand_written(report: Report) -> (String, usize) {
    let w = "accepted_on >= ?1 AND accepted_on <= ?2";
    match report {
        Report::Handling => (
            format!(
                "SELECT department_id, count(*), sum(state = 'completed'),
                        sum(state = 'completed' AND closed_on = accepted_on),
                        sum(state = 'completed' AND closed_on <= due_on),
                        sum(state = 'completed' AND closed_on < due_on),
                        sum(state = 'completed' AND closed_on > due_on), sum(NOT {CLOSED})
                   FROM approval_cases WHERE {w} GROUP BY department_id ORDER BY department_id"
            ),
            7,
        ),
        Report::Workload => (
            format!(
                "SELECT department_id, count(*), sum(state = 'completed'),
                        sum(state = 'completed' AND closed_on < due_on),
                        sum(state = 'completed' AND closed_on > due_on) + sum(NOT {CLOSED} AND due_on < ?3)
                   FROM approval_cases WHERE {w} GROUP BY department_id ORDER BY department_id"
            ),
            5,
        ),
        Report::Completion => (
            format!(
                "SELECT kind, count(*), sum(NOT {CLOSED} AND due_on < ?3), sum(state = 'completed')
                   FROM approval_cases WHERE {w} GROUP BY kind
                  ORDER BY CASE kind WHEN 'immediate' THEN 0 WHEN 'promised' THEN 1 ELSE 2 END"
            ),
            3,
        ),
        Report::Monthly => (
            format!(
                "SELECT substr(accepted_on, 1, 7), count(*) FROM approval_cases WHERE {w}
                  GROUP BY 1 ORDER BY 1"
            ),
            1,
        ),
        Report::Feedback => (
            "SELECT department_id, sum(c), sum(cc), sum(cs), sum(e), sum(l1) FROM (
                 SELECT department_id, count(*) AS c, sum(state = 'closed') AS cc,
                        sum(coalesce(substantiated, 0)) AS cs, 0 AS e, 0 AS l1
                   FROM supervision_complaints WHERE submitted_on >= ?1 AND submitted_on <= ?2
                  GROUP BY department_id
                 UNION ALL
                 SELECT department_id, 0, 0, 0, count(*), sum(level = 1) FROM supervision_evaluations
                  WHERE on_day >= ?1 AND on_day <= ?2 GROUP BY department_id)
              GROUP BY department_id ORDER BY department_id"
                .into(),
            5,
        ),
        Report::Staff => (
            "SELECT who, sum(y), sum(r), sum(c), sum(b) FROM (
                 SELECT handler_id AS who, sum(colour = 'yellow') AS y, sum(colour = 'red') AS r,
                        0 AS c, 0 AS b
                   FROM supervision_cards WHERE handler_id IS NOT NULL AND due_on >= ?1 AND due_on <= ?2
                  GROUP BY handler_id
                 UNION ALL
                 SELECT subject_id, 0, 0, count(*), 0 FROM supervision_complaints
                  WHERE subject_id IS NOT NULL AND substantiated = 1 AND submitted_on >= ?1
                    AND submitted_on <= ?2 GROUP BY subject_id
                 UNION ALL
                 SELECT clerk_id, 0, 0, 0, sum(level >= 4) FROM supervision_evaluations
                  WHERE on_day >= ?1 AND on_day <= ?2 GROUP BY clerk_id)
              GROUP BY who ORDER BY who"
                .into(),
            4,
        ),
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (s, depts, users) = site(dir.path());
    let db = dir.path().join("govbox.db");
    let t = Instant::now();
    generate(&db, &depts, &users, false);
    feedback_rows(&db, &depts, &users);
    println!(
        "generated {CASES} cases, 20,000 complaints and 200,000 evaluations in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // The cards the staff report counts.
    let (sweep, o) = time(1, || {
        s.write_blocking(|tx| {
            let cal = Calendar::load(tx.conn())?;
            cards::sweep(tx, &cal, &Rules::default(), TODAY)
        })
        .unwrap()
    });
    println!(
        "card sweep over {CASES} cases (mostly closed): {} yellow, {} red in {:.2} s",
        o.yellow,
        o.red,
        sweep.as_secs_f64()
    );
    let scope = Scope {
        from: FIRST,
        to: TODAY,
        department_id: None,
        item_id: None,
        today: TODAY,
    };
    let conn = Connection::open(&db).unwrap();
    let args = [FIRST.to_string(), TODAY.to_string(), TODAY.to_string()];
    println!("report                  report s   hand SQL s   ratio (goal ≥ 0.5)");
    for report in stats::REPORTS {
        let sc = scope.clone();
        let (ours, table) = time(RUNS, || {
            let sc = sc.clone();
            s.read_blocking(move |c| -> Result<_, SupervisionError> { stats::run(c, report, &sc) })
                .unwrap()
        });
        let (sql, cols) = hand_written(report);
        let used: Vec<String> = args[..if sql.contains("?3") { 3 } else { 2 }].to_vec();
        let (hand, expected) = time(RUNS, || raw(&conn, &sql, &used));
        let got = ints(&table.rows, cols);
        let got: Vec<Vec<i64>> = if report == Report::Workload {
            got.iter().map(|r| vec![r[0], r[1], r[2], r[4]]).collect()
        } else {
            got
        };
        let expected: Vec<Vec<i64>> = if report == Report::Workload {
            expected
        } else {
            expected.iter().map(|r| r[..cols].to_vec()).collect()
        };
        let got: Vec<Vec<i64>> = got
            .iter()
            .map(|r| r[..expected[0].len()].to_vec())
            .collect();
        assert_eq!(
            got,
            expected,
            "{} differs from the hand-written SQL",
            report.title()
        );
        println!(
            "{:<24}{:>8.3}{:>13.3}{:>10.2}",
            report.code(),
            ours.as_secs_f64(),
            hand.as_secs_f64(),
            hand.as_secs_f64() / ours.as_secs_f64()
        );
    }
    s.close();
    drop(conn);

    let dir = tempfile::tempdir().unwrap();
    let (s, depts, users) = site(dir.path());
    let db = dir.path().join("govbox.db");
    generate(&db, &depts, &users, true);
    let (first, o) = time(1, || {
        s.write_blocking(|tx| {
            let cal = Calendar::load(tx.conn())?;
            cards::sweep(tx, &cal, &Rules::default(), TODAY)
        })
        .unwrap()
    });
    println!(
        "card sweep over {CASES} open cases, first run: {} yellow, {} red, {} reminders in {:.2} s (goal < 2 s)",
        o.yellow,
        o.red,
        o.reminders,
        first.as_secs_f64()
    );
    let (steady, o) = time(RUNS, || {
        s.write_blocking(|tx| {
            let cal = Calendar::load(tx.conn())?;
            cards::sweep(tx, &cal, &Rules::default(), TODAY)
        })
        .unwrap()
    });
    assert_eq!((o.yellow, o.red, o.reminders), (0, 0, 0), "nothing twice");
    println!(
        "card sweep over {CASES} open cases, steady (nothing new): {:.2} s median of {RUNS} (goal < 2 s)",
        steady.as_secs_f64()
    );
    s.close();
}
