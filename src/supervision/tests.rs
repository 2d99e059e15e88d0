use jiff::civil::{date, Date};

use super::cards::{self, CardAction};
use super::complaints::{self, NewComplaint};
use super::evaluations::{self, Action};
use super::stats::{self, Cell, Report, Scope};
use super::{lights, reminders, Rules, SupervisionError};
use crate::approval::calendar::Calendar;
use crate::auth::{self, DeptKind, NewUser, Role, RoleGrant, User};
use crate::store::{self, Store};

#[path = "../../tests/supervision_support/mod.rs"]
mod fixture;

pub(crate) struct Site {
    pub _dir: tempfile::TempDir,
    pub store: Store,
    pub people: fixture::People,
    pub sup: User,
    pub head_a: User,
    pub handler_a: User,
    pub clerk: User,
}

pub(crate) fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let s = store::open(&dir.path().join("govbox.db"), "t").unwrap();
    let ids = s
        .write_blocking(|tx| -> Result<Vec<i64>, auth::AuthError> {
            let a = auth::create_department(tx, "县市场监督管理局", None, DeptKind::Unit)?;
            let b = auth::create_department(tx, "县自然资源局", None, DeptKind::Unit)?;
            let mut ids = vec![a, b];
            for (name, display, role, dept) in [
                ("clerk", "王窗口", Role::Clerk, a),
                ("ha", "李承办", Role::Handler, a),
                ("hb", "张承办", Role::Handler, b),
                ("sup", "吴监察", Role::Supervisor, a),
                ("heada", "孙科长", Role::DeptHead, a),
            ] {
                ids.push(auth::create_user(
                    tx,
                    &NewUser {
                        username: name.into(),
                        display_name: display.into(),
                        roles: vec![RoleGrant {
                            role,
                            department_id: dept,
                        }],
                    },
                    "x",
                )?);
            }
            Ok(ids)
        })
        .unwrap();
    let user = |id| s.read_blocking(move |c| auth::user(c, id)).unwrap();
    Site {
        people: fixture::People {
            dept_a: ids[0],
            dept_b: ids[1],
            clerk: ids[2],
            handler_a: ids[3],
            handler_b: ids[4],
        },
        clerk: user(ids[2]),
        handler_a: user(ids[3]),
        sup: user(ids[5]),
        head_a: user(ids[6]),
        store: s,
        _dir: dir,
    }
}

impl Site {
    /// Test-only writes straight into approval's tables, standing in for approval.
    pub fn approval<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> T + Send + 'static,
    ) -> T {
        self.store
            .write_blocking(move |tx| -> Result<T, SupervisionError> { Ok(f(tx.conn())) })
            .unwrap()
    }

    pub fn fifty(&self) -> fixture::Fixture {
        let p = self.people;
        self.approval(move |c| fixture::fifty(c, &p))
    }

    fn sweep(&self, today: Date) -> cards::SweepOutcome {
        self.store
            .write_blocking(move |tx| {
                let cal = Calendar::load(tx.conn())?;
                cards::sweep(tx, &cal, &Rules::default(), today)
            })
            .unwrap()
    }
}

const TODAY: Date = date(2026, 11, 30);

fn nov() -> Scope {
    Scope {
        from: date(2026, 11, 1),
        to: date(2026, 11, 30),
        department_id: None,
        item_id: None,
        today: TODAY,
    }
}

fn table(s: &Site, r: Report, scope: Scope) -> Vec<Vec<String>> {
    s.store
        .read_blocking(move |c| stats::run(c, r, &scope))
        .unwrap()
        .rows
        .iter()
        .map(|row| row.iter().map(Cell::text).collect())
        .collect()
}

fn strs(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[test]
fn statistics_equal_the_hand_computed_fixture() {
    let s = site();
    s.fifty();
    assert_eq!(
        table(&s, Report::Handling, nov()),
        strs(&[
            &["县市场监督管理局", "28", "21", "6", "18", "8", "3", "5"],
            &["县自然资源局", "18", "9", "0", "5", "5", "4", "7"],
            &["合计", "46", "30", "6", "23", "13", "7", "12"],
        ])
    );
    assert_eq!(
        table(&s, Report::Workload, nov()),
        strs(&[
            &[
                "县市场监督管理局",
                "28",
                "21",
                "8",
                "38.1",
                "6",
                "85.7",
                "16"
            ],
            &["县自然资源局", "18", "9", "5", "55.6", "7", "55.6", "10"],
            &["合计", "46", "30", "13", "43.3", "13", "76.7", "26"],
        ])
    );
    assert_eq!(
        table(&s, Report::Completion, nov()),
        strs(&[
            &["即办件", "6", "0", "6", "100.0"],
            &["承诺件", "34", "6", "20", "58.8"],
            &["联办件", "6", "0", "4", "66.7"],
            &["合计", "46", "6", "30", "65.2"],
        ])
    );
    let oct_nov = Scope {
        from: date(2026, 10, 1),
        ..nov()
    };
    assert_eq!(
        table(&s, Report::Monthly, oct_nov),
        strs(&[
            &["2026-10", "4", "0", "4", "0", "0", "4"],
            &["2026-11", "46", "4", "13", "33", "6", "40"],
            &["合计", "50", "0", "13", "33", "6", "44"],
        ])
    );
    let only_b = Scope {
        department_id: Some(s.people.dept_b),
        ..nov()
    };
    assert_eq!(
        table(&s, Report::Handling, only_b),
        strs(&[
            &["县自然资源局", "18", "9", "0", "5", "5", "4", "7"],
            &["合计", "18", "9", "0", "5", "5", "4", "7"],
        ])
    );
    let f = s.fifty_items();
    let only_a2 = Scope {
        item_id: Some(f),
        ..nov()
    };
    assert_eq!(
        table(&s, Report::Completion, only_a2),
        strs(&[
            &["即办件", "6", "0", "6", "100.0"],
            &["合计", "6", "0", "6", "100.0"]
        ])
    );
}

impl Site {
    /// The id of item A2 (即办件) of the fixture.
    fn fifty_items(&self) -> i64 {
        self.store
            .read_blocking(|c| -> Result<i64, SupervisionError> {
                Ok(c.query_row(
                    "SELECT item_id FROM approval_case_facts WHERE item_code = 'A2' LIMIT 1",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap()
    }
}

#[test]
fn the_sweep_issues_each_card_once_dated_when_due() {
    let s = site();
    s.fifty();
    let first = s.sweep(TODAY);
    assert_eq!((first.yellow, first.red), (16, 8));
    let again = s.sweep(TODAY);
    assert_eq!((again.yellow, again.red, again.reminders), (0, 0, 0));
    let all = s
        .store
        .read_blocking(|c| cards::list(c, &cards::Filter::default()))
        .unwrap();
    assert_eq!(all.len(), 24);
    let dated = |colour: &str, case_due: &str| -> Vec<String> {
        let mut v: Vec<String> = all
            .iter()
            .filter(|k| k.colour == colour && k.case_due_on == case_due)
            .map(|k| k.due_on.clone())
            .collect();
        v.dedup();
        v
    };
    assert_eq!(dated("yellow", "2026-11-19"), ["2026-11-20"]);
    assert_eq!(dated("red", "2026-11-19"), ["2026-11-24"]);
    assert_eq!(dated("yellow", "2026-11-27"), ["2026-11-30"]);
    assert!(dated("red", "2026-11-27").is_empty());
    assert_eq!(dated("red", "2026-11-11"), ["2026-11-16"]);
    // The cases closed before their card fell due, or paused, got none.
    assert!(all.iter().all(|k| k.case_due_on != "2026-11-13"));
    assert!(all.iter().all(|k| k.case_due_on != "2026-12-07"));
    // The yellow-light cases due today were reminded once.
    assert_eq!(first.reminders, 2);
    let changes: i64 = s
        .store
        .read_blocking(|c| -> Result<i64, SupervisionError> {
            Ok(c.query_row(
                "SELECT count(*) FROM changes WHERE entity = 'supervision_card'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(changes, 24, "one change row per card");
}

fn one_case(s: &Site, receipt: &str, accepted: &str, due: &str) {
    let p = s.people;
    let (receipt, accepted, due) = (receipt.to_string(), accepted.to_string(), due.to_string());
    s.approval(move |c| {
        let item = c
            .query_row("SELECT id FROM approval_items WHERE code = 'H1'", [], |r| {
                r.get(0)
            })
            .unwrap_or_else(|_| {
                fixture::item(
                    c,
                    &fixture::Item {
                        code: "H1",
                        name: "节日事项",
                        kind: "promised",
                        department_id: p.dept_a,
                        promised_days: 3,
                    },
                )
            });
        fixture::case(
            c,
            &fixture::Case {
                receipt,
                item_id: item,
                kind: "promised",
                department_id: p.dept_a,
                applicant: "节日申请人".into(),
                channel: "window",
                state: "undertaken",
                clerk_id: p.clerk,
                assignee_id: Some(p.handler_a),
                accepted_on: accepted,
                due_on: due,
                closed_on: None,
                saved_days: None,
                paused_from: None,
            },
        );
    });
}

fn cards_of(s: &Site, receipt: &str) -> Vec<(String, String)> {
    let f = cards::Filter {
        receipt: Some(receipt.into()),
        ..Default::default()
    };
    let mut v: Vec<(String, String)> = s
        .store
        .read_blocking(move |c| cards::list(c, &f))
        .unwrap()
        .into_iter()
        .map(|k| (k.colour, k.due_on))
        .collect();
    v.sort();
    v
}

#[test]
fn cards_across_the_national_day_holiday_and_its_make_up_saturday() {
    let s = site();
    // Due Wed 30 Sep 2026: 1–7 Oct are off (holidays and a weekend), Thu 8 Oct is the first
    // working day after, Sat 10 Oct a make-up working day.
    one_case(&s, "H-1", "2026-09-25", "2026-09-30");
    for day in 1..=7 {
        s.sweep(date(2026, 10, day));
        assert!(cards_of(&s, "H-1").is_empty(), "no card on 10-{day:02}");
    }
    s.sweep(date(2026, 10, 8));
    assert_eq!(
        cards_of(&s, "H-1"),
        [("yellow".into(), "2026-10-08".into())]
    );
    s.sweep(date(2026, 10, 9));
    assert_eq!(cards_of(&s, "H-1").len(), 1);
    s.sweep(date(2026, 10, 10));
    assert_eq!(
        cards_of(&s, "H-1"),
        [
            ("red".into(), "2026-10-10".into()),
            ("yellow".into(), "2026-10-08".into())
        ]
    );
    // Switched off over the holiday: one sweep later issues both, dated when due.
    one_case(&s, "H-2", "2026-09-25", "2026-09-30");
    s.sweep(date(2026, 10, 12));
    assert_eq!(
        cards_of(&s, "H-2"),
        [
            ("red".into(), "2026-10-10".into()),
            ("yellow".into(), "2026-10-08".into())
        ]
    );
    // Due Fri 18 Sep: the make-up Sunday 20 Sep is the next working day.
    one_case(&s, "H-3", "2026-09-14", "2026-09-18");
    s.sweep(date(2026, 9, 20));
    assert_eq!(
        cards_of(&s, "H-3"),
        [("yellow".into(), "2026-09-20".into())]
    );
}

#[test]
fn a_case_closed_after_the_last_sweep_still_gets_the_card_it_was_owed() {
    let s = site();
    one_case(&s, "C-1", "2026-11-02", "2026-11-05");
    s.sweep(date(2026, 11, 5));
    s.approval(|c| fixture::close(c, "C-1", "completed", "2026-11-09"));
    // Down from Fri 6 Nov to Tue 10 Nov: the yellow of Fri 6 Nov was owed (still open then),
    // the red of Tue 10 Nov was not (closed on Mon 9 Nov).
    s.sweep(date(2026, 11, 10));
    assert_eq!(
        cards_of(&s, "C-1"),
        [("yellow".into(), "2026-11-06".into())]
    );
}

#[test]
fn card_states_advice_letter_and_feedback() {
    let s = site();
    one_case(&s, "K-1", "2026-11-02", "2026-11-05");
    s.sweep(date(2026, 11, 6));
    let id = s
        .store
        .read_blocking(|c| cards::list(c, &cards::Filter::default()))
        .unwrap()[0]
        .id;
    let seen_by = |who: &User| {
        let who = who.clone();
        s.store
            .read_blocking(move |c| cards::visible(c, &who, &cards::Filter::default()))
            .unwrap()
            .len()
    };
    assert_eq!(
        (seen_by(&s.handler_a), seen_by(&s.head_a), seen_by(&s.clerk)),
        (1, 1, 0)
    );
    let act = |who: &User, a: CardAction, text: &str| {
        let (who, text) = (who.clone(), text.to_string());
        s.store
            .write_blocking(move |tx| cards::act(tx, &who, id, a, &text))
    };
    assert!(matches!(
        act(&s.clerk, CardAction::Acknowledge, ""),
        Err(SupervisionError::Forbidden(_))
    ));
    assert!(matches!(
        act(&s.sup, CardAction::Resolve, ""),
        Err(SupervisionError::OutOfOrder(_))
    ));
    assert!(matches!(
        act(&s.head_a, CardAction::Feedback, "已整改"),
        Err(SupervisionError::OutOfOrder(_))
    ));
    let k = act(
        &s.sup,
        CardAction::Advice,
        "请于三个工作日内办结并说明超期原因",
    )
    .unwrap();
    assert_eq!(k.state, "issued");
    assert!(matches!(
        act(&s.sup, CardAction::Advice, "  "),
        Err(SupervisionError::Invalid {
            field: "advice",
            ..
        })
    ));
    let k = act(&s.handler_a, CardAction::Acknowledge, "").unwrap();
    assert_eq!(k.state, "acknowledged");
    assert!(matches!(
        act(&s.sup, CardAction::Resolve, ""),
        Err(SupervisionError::OutOfOrder(_))
    ));
    let k = act(&s.head_a, CardAction::Feedback, "已约谈承办人，办件已办结").unwrap();
    assert_eq!(k.feedback, "已约谈承办人，办件已办结");
    assert!(matches!(
        act(&s.handler_a, CardAction::Resolve, ""),
        Err(SupervisionError::Forbidden(_))
    ));
    let k = act(&s.sup, CardAction::Resolve, "").unwrap();
    assert_eq!(k.state, "resolved");
    assert!(matches!(
        act(&s.sup, CardAction::Advice, "再次"),
        Err(SupervisionError::OutOfOrder(_))
    ));
}

#[test]
fn lights_by_sql_match_lights_by_rust() {
    let s = site();
    s.fifty();
    let cal = Calendar::shipped();
    let th = lights::Thresholds::new(&cal, &Rules::default(), TODAY);
    assert_eq!(th.yellow_until, date(2026, 12, 1));
    let page = s
        .store
        .read_blocking(move |c| {
            lights::list(
                c,
                &cal,
                &th,
                &lights::Filter {
                    limit: Some(500),
                    ..Default::default()
                },
            )
        })
        .unwrap();
    assert_eq!(page.total, 50);
    let c = &page.counts;
    assert_eq!((c.green, c.yellow, c.red), (4, 2, 7));
    // Closed: on time g1 8, g2 4, g4 6, g7 2, g9 5, g14 2, g15 1; late g3 3, g8 2, g10 4.
    assert_eq!((c.ontime, c.late), (28, 9));
    for case in &page.cases {
        assert_eq!(
            case.light,
            lights::of(&th, &case.case),
            "{}",
            case.case.receipt
        );
    }
    let red_b = lights::Filter {
        light: Some("red".into()),
        department_id: Some(s.people.dept_b),
        ..Default::default()
    };
    let cal = Calendar::shipped();
    let page = s
        .store
        .read_blocking(move |c| lights::list(c, &cal, &th, &red_b))
        .unwrap();
    assert_eq!(page.total, 4);
    assert_eq!(page.cases[0].days_left, Some(-13));
    let bad = lights::Filter {
        light: Some("purple".into()),
        ..Default::default()
    };
    let cal = Calendar::shipped();
    let e = s
        .store
        .read_blocking(move |c| lights::list(c, &cal, &th, &bad))
        .unwrap_err();
    assert!(matches!(
        e,
        SupervisionError::Invalid { field: "light", .. }
    ));
}

fn complaint(receipt: Option<&str>) -> NewComplaint {
    NewComplaint {
        category: "办事效率".into(),
        target: "县市场监督管理局窗口".into(),
        name: "刘女士".into(),
        phone: "13912345678".into(),
        body: "材料齐全却被要求多跑一次".into(),
        receipt: receipt.map(str::to_string),
    }
}

fn change_count(s: &Site) -> i64 {
    s.store.read_blocking(store::high_water).unwrap()
}

#[test]
fn complaints_from_submission_to_closing() {
    let s = site();
    s.fifty();
    let first = s
        .store
        .read_blocking(|c| -> Result<String, SupervisionError> {
            Ok(c.query_row(
                "SELECT receipt FROM approval_case_facts ORDER BY case_id LIMIT 1",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    let c = complaint(Some(&first));
    let sub = s
        .store
        .write_blocking(move |tx| complaints::submit(tx, &c))
        .unwrap();
    assert!(sub.number.starts_with("TS") && sub.number.ends_with("-t-0001"));
    assert_eq!(sub.code.len(), 8);
    let (n, code) = (sub.number.clone(), sub.code.clone());
    let p = s
        .store
        .read_blocking(move |c| complaints::progress(c, &n, &code))
        .unwrap()
        .unwrap();
    assert_eq!(p.state_zh, "已收到，待处理");
    assert_eq!(p.reply, None);
    let n = sub.number.clone();
    assert!(s
        .store
        .read_blocking(move |c| complaints::progress(c, &n, "WRONG123"))
        .unwrap()
        .is_none());
    assert!(s
        .store
        .read_blocking(|c| complaints::progress(c, "TS00000000-t-9999", "ABCDEFGH"))
        .unwrap()
        .is_none());
    let second = complaint(None);
    let sub2 = s
        .store
        .write_blocking(move |tx| complaints::submit(tx, &second))
        .unwrap();
    assert!(sub2.number.ends_with("-t-0002"));

    let number = sub.number.clone();
    let sup = s.sup.clone();
    let c = s
        .store
        .write_blocking(move |tx| complaints::assign(tx, &sup, &number, "heada"))
        .unwrap();
    assert_eq!(c.state, "assigned");
    assert_eq!(c.department_id, Some(s.people.dept_a));
    let number = sub.number.clone();
    let sup = s.sup.clone();
    assert!(matches!(
        s.store
            .write_blocking(move |tx| complaints::close(tx, &sup, &number, true, None)),
        Err(SupervisionError::OutOfOrder(_))
    ));
    let number = sub.number.clone();
    let clerk = s.clerk.clone();
    assert!(matches!(
        s.store
            .write_blocking(move |tx| complaints::reply(tx, &clerk, &number, "答复")),
        Err(SupervisionError::Forbidden(_))
    ));
    let number = sub.number.clone();
    let head = s.head_a.clone();
    s.store
        .write_blocking(move |tx| {
            complaints::reply(tx, &head, &number, "经核查，已对窗口人员批评教育")
        })
        .unwrap();
    let number = sub.number.clone();
    let sup = s.sup.clone();
    let c = s
        .store
        .write_blocking(move |tx| complaints::close(tx, &sup, &number, true, Some("clerk")))
        .unwrap();
    assert_eq!((c.state.as_str(), c.substantiated), ("closed", Some(true)));
    let (n, code) = (sub.number.clone(), sub.code.to_lowercase());
    let p = s
        .store
        .read_blocking(move |c| complaints::progress(c, &n, &code))
        .unwrap()
        .unwrap();
    assert_eq!(p.reply.as_deref(), Some("经核查，已对窗口人员批评教育"));
    let open = s
        .store
        .read_blocking(|c| {
            complaints::list(
                c,
                &complaints::Filter {
                    state: Some("open".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap();
    assert_eq!(open.len(), 1);
    assert!(open[0].open);
}

#[test]
fn bad_complaints_are_refused_and_change_nothing() {
    let s = site();
    let before = change_count(&s);
    let cases: Vec<(NewComplaint, &str)> = vec![
        (
            NewComplaint {
                category: "乱收费".into(),
                ..complaint(None)
            },
            "category",
        ),
        (
            NewComplaint {
                target: " ".into(),
                ..complaint(None)
            },
            "target",
        ),
        (
            NewComplaint {
                phone: "call me".into(),
                ..complaint(None)
            },
            "phone",
        ),
        (
            NewComplaint {
                body: "字".repeat(5001),
                ..complaint(None)
            },
            "body",
        ),
        (
            NewComplaint {
                name: "刘\u{7}".into(),
                ..complaint(None)
            },
            "name",
        ),
        (complaint(Some("NO-SUCH-CASE")), "receipt"),
    ];
    for (c, field) in cases {
        let e = s
            .store
            .write_blocking(move |tx| complaints::submit(tx, &c))
            .unwrap_err();
        match e {
            SupervisionError::Invalid { field: f, .. } => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(change_count(&s), before);
}

#[test]
fn evaluations_one_per_case_and_the_loop_for_a_bad_one() {
    let s = site();
    s.fifty();
    let receipts: Vec<String> = s
        .store
        .read_blocking(|c| -> Result<Vec<String>, SupervisionError> {
            let mut st =
                c.prepare("SELECT receipt FROM approval_case_facts ORDER BY case_id LIMIT 2")?;
            let v = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            Ok(v)
        })
        .unwrap();
    let good = receipts[0].clone();
    let e = s
        .store
        .write_blocking(move |tx| evaluations::submit(tx, &good, 1, ""))
        .unwrap();
    assert_eq!((e.level_zh, e.loop_state.as_str()), ("非常满意", "none"));
    let good = receipts[0].clone();
    assert!(matches!(
        s.store
            .write_blocking(move |tx| evaluations::submit(tx, &good, 2, "")),
        Err(SupervisionError::Conflict(_))
    ));
    let bad = receipts[1].clone();
    assert!(matches!(
        s.store
            .write_blocking(move |tx| evaluations::submit(tx, &bad, 5, " ")),
        Err(SupervisionError::Invalid {
            field: "reason",
            ..
        })
    ));
    let bad = receipts[1].clone();
    assert!(matches!(
        s.store
            .write_blocking(move |tx| evaluations::submit(tx, &bad, 6, "x")),
        Err(SupervisionError::Invalid { field: "level", .. })
    ));
    let bad = receipts[1].clone();
    let e = s
        .store
        .write_blocking(move |tx| evaluations::submit(tx, &bad, 5, "窗口态度差"))
        .unwrap();
    assert_eq!(e.loop_state, "open");
    let today = super::today();
    let due = Calendar::shipped()
        .add_working_days(today, 15, &[])
        .date
        .to_string();
    assert_eq!(e.rectify_due_on.as_deref(), Some(due.as_str()));

    let step = |by: Option<&User>, a: Action, note: &str| {
        let (by, r, note) = (by.cloned(), receipts[1].clone(), note.to_string());
        s.store
            .write_blocking(move |tx| evaluations::step(tx, by.as_ref(), &r, a, &note))
    };
    assert!(matches!(
        step(Some(&s.sup), Action::Rectify, "先整改"),
        Err(SupervisionError::OutOfOrder(_))
    ));
    assert!(matches!(
        step(None, Action::Contact, "申请人自己回访"),
        Err(SupervisionError::Forbidden(_))
    ));
    step(Some(&s.sup), Action::Contact, "已电话回访申请人").unwrap();
    step(Some(&s.head_a), Action::Rectify, "已对窗口人员培训").unwrap();
    step(None, Action::Appeal, "不接受整改结果").unwrap();
    step(Some(&s.sup), Action::Review, "复核：整改到位").unwrap();
    let e = step(Some(&s.sup), Action::Close, "办结").unwrap();
    assert_eq!(e.loop_state, "closed");
    let actions: Vec<&str> = e.steps.iter().map(|st| st.action_zh).collect();
    assert_eq!(actions, ["回访", "整改", "申诉", "复核", "办结"]);
    assert_eq!(e.steps[2].by, "申请人");
}

#[test]
fn feedback_and_staff_reports_count_cards_complaints_and_evaluations() {
    let s = site();
    s.fifty();
    s.sweep(TODAY);
    // Two evaluations on department A cases (clerk 王窗口): one very good, one bad.
    let receipts: Vec<String> = s
        .store
        .read_blocking(|c| -> Result<Vec<String>, SupervisionError> {
            let mut st =
                c.prepare("SELECT receipt FROM approval_case_facts ORDER BY case_id LIMIT 2")?;
            let v = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            Ok(v)
        })
        .unwrap();
    let (r0, r1) = (receipts[0].clone(), receipts[1].clone());
    let sup = s.sup.clone();
    s.store
        .write_blocking(move |tx| -> Result<(), SupervisionError> {
            evaluations::submit(tx, &r0, 1, "")?;
            evaluations::submit(tx, &r1, 4, "等待时间长")?;
            let sub = complaints::submit(tx, &complaint(Some(&r1)))?;
            complaints::reply(tx, &sup, &sub.number, "已核实")?;
            complaints::close(tx, &sup, &sub.number, true, Some("clerk"))?;
            complaints::submit(tx, &complaint(None))?;
            Ok(())
        })
        .unwrap();
    let today = super::today();
    let scope = Scope {
        from: today,
        to: today,
        department_id: None,
        item_id: None,
        today,
    };
    assert_eq!(
        table(&s, Report::Feedback, scope.clone()),
        strs(&[
            &[
                "县市场监督管理局",
                "1",
                "1",
                "1",
                "2",
                "1",
                "0",
                "0",
                "1",
                "0",
                "50.0",
                "1"
            ],
            &[
                "未关联办件",
                "1",
                "0",
                "0",
                "0",
                "0",
                "0",
                "0",
                "0",
                "0",
                "—",
                "0"
            ],
            &["合计", "2", "1", "1", "2", "1", "0", "0", "1", "0", "50.0", "1"],
        ])
    );
    // Cards dated in November: handler A has the yellows of the 3 cases due 27 Nov (the cards
    // of closed cases fell to no one: they have no assignee); handler B the yellows and reds
    // of the 3 cases due 24 Nov and the one due 11 Nov.
    let nov_staff = Scope { ..nov() };
    let rows = table(&s, Report::Staff, nov_staff);
    assert_eq!(
        rows,
        strs(&[
            &["李承办", "3", "0", "0", "0", "0", "94"],
            &["张承办", "4", "4", "0", "0", "0", "72"],
        ])
    );
    let rows = table(&s, Report::Staff, scope);
    assert_eq!(rows, strs(&[&["王窗口", "0", "0", "1", "1", "1", "92"]]));
}

#[test]
fn manual_reminders_reach_the_handler_until_seen() {
    let s = site();
    one_case(&s, "R-1", "2026-11-02", "2026-12-30");
    let sup = s.sup.clone();
    let r = s
        .store
        .write_blocking(move |tx| reminders::manual(tx, &sup, "R-1", "请尽快办理"))
        .unwrap();
    let id = s.handler_a.id;
    assert_eq!(
        s.store
            .read_blocking(move |c| reminders::unseen(c, id))
            .unwrap()
            .len(),
        1
    );
    let ha = s.handler_a.clone();
    s.store
        .write_blocking(move |tx| reminders::mark_seen(tx, &ha, r.id))
        .unwrap();
    assert!(s
        .store
        .read_blocking(move |c| reminders::unseen(c, id))
        .unwrap()
        .is_empty());
    let sup = s.sup.clone();
    assert!(matches!(
        s.store
            .write_blocking(move |tx| reminders::manual(tx, &sup, "NOPE", "x")),
        Err(SupervisionError::NotFound(_))
    ));
}

#[test]
fn a_card_is_sent_by_sms_to_those_with_a_phone_once() {
    let s = site();
    s.store
        .write_blocking(|tx| -> Result<(), SupervisionError> {
            auth::set_phone(tx, "ha", "13900000001")?;
            auth::set_phone(tx, "heada", "13900000002")?;
            auth::set_phone(tx, "sup", "13900000003")?;
            Ok(())
        })
        .unwrap();
    one_case(&s, "S-1", "2026-11-02", "2026-11-05");
    s.sweep(date(2026, 11, 6));
    s.sweep(date(2026, 11, 6));
    let sms = s
        .store
        .read_blocking(|c| -> Result<Vec<(String, String)>, SupervisionError> {
            let mut st = c.prepare("SELECT phone, text FROM sms_outbox ORDER BY phone")?;
            let v = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(v)
        })
        .unwrap();
    let phones: Vec<&str> = sms.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(phones, ["13900000001", "13900000002", "13900000003"]);
    assert!(
        sms[0].1.contains("S-1") && sms[0].1.contains("黄牌"),
        "{}",
        sms[0].1
    );
}
