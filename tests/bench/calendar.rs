//! Calendar and SMS outbox benchmark, run on demand with `cargo bench --bench calendar`.
//!
//! Prints medians of 5 rounds, each as a ratio against a peer measured in the same run:
//! - due dates per second (`Calendar::add_working_days`, 20 working days with a pause) against
//!   the same arithmetic looking each day up in SQLite (what a table-driven version would do);
//! - `Calendar::load` (the site's calendar, with an imported notice) per second against the
//!   cheapest read of the same tables (one `count(*)`), since approval loads it per request;
//! - SMS `enqueue` through the store's write path (one transaction each) against raw rusqlite
//!   inserts of the same rows, one transaction each.

use std::time::Instant;

use govbox::approval::calendar::{self, Calendar, Pause};
use govbox::approval::notify::{self, Sms};
use jiff::civil::Date;
use rusqlite::{params, Connection};

const ROUNDS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn rate(n: usize, f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    n as f64 / t.elapsed().as_secs_f64()
}

fn starts(n: usize) -> Vec<Date> {
    let first: Date = "2026-01-01".parse().unwrap();
    (0..n)
        .map(|i| {
            first
                .checked_add(jiff::Span::new().days((i % 330) as i64))
                .unwrap()
        })
        .collect()
}

/// The peer: the same counting rule, each day's kind read from SQLite.
fn due_by_sql(conn: &Connection, start: Date, days: u32, pause: &Pause) -> Date {
    let mut stmt = conn
        .prepare_cached("SELECT kind FROM calendar_days WHERE date = ?1")
        .unwrap();
    let mut d = start;
    let mut left = days;
    while left > 0 {
        d = d.tomorrow().unwrap();
        let kind: Option<String> = stmt.query_row([d.to_string()], |r| r.get(0)).ok();
        let working = match kind.as_deref() {
            Some("holiday") => false,
            Some(_) => true,
            None => !calendar::is_weekend(d),
        };
        if working && !(pause.from <= d && d <= pause.to) {
            left -= 1;
        }
    }
    d
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("govbox.db");
    let store = govbox::store::open(&db, "bench-county").unwrap();
    // The site's own copy of 2026, as after an edit in 节假日维护.
    let day = calendar::SpecialDay {
        date: "2026-03-02".parse().unwrap(),
        kind: calendar::DayKind::Holiday,
        name: "本地调整".into(),
    };
    store
        .write_blocking(move |tx| calendar::add_day(tx, &day, "bench"))
        .unwrap();
    let conn = Connection::open(&db).unwrap();
    let cal = Calendar::load(&conn).unwrap();
    let pause = Pause {
        from: "2026-02-10".parse().unwrap(),
        to: "2026-02-20".parse().unwrap(),
    };
    let n = 20_000;
    let s = starts(n);
    for (a, b) in s.iter().take(500).map(|d| {
        (
            cal.add_working_days(*d, 20, &[pause]).date,
            due_by_sql(&conn, *d, 20, &pause),
        )
    }) {
        assert_eq!(a, b, "both ways agree");
    }

    let (mut due_ours, mut due_peer, mut load_ours, mut load_peer, mut enq_ours, mut enq_peer) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for round in 0..ROUNDS {
        due_ours.push(rate(n, || {
            for d in &s {
                std::hint::black_box(cal.add_working_days(*d, 20, &[pause]));
            }
        }));
        let m = 2_000;
        due_peer.push(rate(m, || {
            for d in s.iter().take(m) {
                std::hint::black_box(due_by_sql(&conn, *d, 20, &pause));
            }
        }));
        let loads = 2_000;
        load_ours.push(rate(loads, || {
            for _ in 0..loads {
                std::hint::black_box(Calendar::load(&conn).unwrap());
            }
        }));
        load_peer.push(rate(loads, || {
            let mut stmt = conn
                .prepare_cached("SELECT count(*) FROM calendar_days")
                .unwrap();
            for _ in 0..loads {
                std::hint::black_box(stmt.query_row([], |r| r.get::<_, i64>(0)).unwrap());
            }
        }));
        let msgs = 1_000;
        enq_ours.push(rate(msgs, || {
            for i in 0..msgs {
                let sms = Sms {
                    phone: "13800138000".into(),
                    text: format!("您的办件已办结 {round}-{i}"),
                    reference: format!("20261125-bench-county-{i:06}"),
                };
                store
                    .write_blocking(move |tx| notify::enqueue(tx, &sms))
                    .unwrap();
            }
        }));
        let mut raw = Connection::open(&db).unwrap();
        raw.pragma_update(None, "synchronous", "NORMAL").unwrap();
        enq_peer.push(rate(msgs, || {
            for i in 0..msgs {
                let tx = raw.transaction().unwrap();
                tx.execute(
                    "INSERT INTO sms_outbox(phone, text, reference, next_at, created_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                    params![
                        "13800138000",
                        format!("您的办件已办结 raw {round}-{i}"),
                        format!("20261125-bench-county-{i:06}"),
                        "2026-11-25T00:00:00.000Z"
                    ],
                )
                .unwrap();
                tx.commit().unwrap();
            }
        }));
    }
    let (a, b) = (median(due_ours), median(due_peer));
    println!(
        "due dates (20 working days, 1 pause): {a:.0}/s; per-day SQLite lookup {b:.0}/s; ratio {:.1}×",
        a / b
    );
    let (a, b) = (median(load_ours), median(load_peer));
    println!(
        "Calendar::load from the site database: {a:.0}/s ({:.0} µs each); one count(*) {b:.0}/s; ratio {:.2}×",
        1e6 / a,
        a / b
    );
    let (a, b) = (median(enq_ours), median(enq_peer));
    println!(
        "sms enqueue via the write path: {a:.0}/s; raw rusqlite insert+commit {b:.0}/s; ratio {:.2}×",
        a / b
    );
    store.close();
}
