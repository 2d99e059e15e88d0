use super::*;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

#[test]
fn shipped_notices_parse_and_hold_the_official_dates() {
    let cal = Calendar::shipped();
    assert!(cal.has_notice(2025) && cal.has_notice(2026) && !cal.has_notice(2027));
    for (day, working) in [
        ("2026-01-01", false),
        ("2026-01-02", false),
        ("2026-01-03", false),
        ("2026-01-04", true),
        ("2026-02-14", true),
        ("2026-02-15", false),
        ("2026-02-23", false),
        ("2026-02-24", true),
        ("2026-02-28", true),
        ("2026-05-09", true),
        ("2026-09-20", true),
        ("2026-10-07", false),
        ("2026-10-08", true),
        ("2026-10-10", true),
        ("2025-01-26", true),
        ("2025-02-04", false),
        ("2025-10-08", false),
        ("2025-10-11", true),
        ("2025-06-02", false),
    ] {
        assert_eq!(cal.is_working_day(d(day)), working, "{day}");
    }
}

#[test]
fn accepted_the_day_before_the_2026_spring_festival_break() {
    let cal = Calendar::shipped();
    // Fri 13 Feb accepted; Sat 14 (make-up) is day 1; 15–23 off; 24 and 25 are days 2 and 3.
    let due = cal.add_working_days(d("2026-02-13"), 3, &[]);
    assert_eq!(
        due,
        Due {
            date: d("2026-02-25"),
            provisional: false
        }
    );
    assert_eq!(
        cal.add_working_days(d("2026-02-13"), 0, &[]).date,
        d("2026-02-13")
    );
    assert_eq!(
        cal.add_working_days(d("2026-02-13"), 1, &[]).date,
        d("2026-02-14")
    );
}

#[test]
fn a_make_up_sunday_counts_as_working() {
    let cal = Calendar::shipped();
    // Accepted Sat 3 Jan 2026 (a holiday); Sun 4 Jan is a make-up working day.
    assert_eq!(
        cal.add_working_days(d("2026-01-03"), 1, &[]).date,
        d("2026-01-04")
    );
    assert_eq!(
        cal.add_working_days(d("2026-09-18"), 1, &[]).date,
        d("2026-09-20")
    );
    assert_eq!(
        cal.working_days_between(d("2026-09-18"), d("2026-09-21"), &[]),
        2
    );
}

#[test]
fn a_supplement_pause_spanning_a_holiday() {
    let cal = Calendar::shipped();
    // Accepted Mon 28 Sep 2026; paused 30 Sep – 9 Oct (over the National Day break);
    // counted: 29 Sep (1), then 10 Oct Sat make-up (2), 12 Oct (3).
    let pause = [Pause {
        from: d("2026-09-30"),
        to: d("2026-10-09"),
    }];
    assert_eq!(
        cal.add_working_days(d("2026-09-28"), 3, &pause).date,
        d("2026-10-12")
    );
    assert_eq!(
        cal.add_working_days(d("2026-09-28"), 3, &[]).date,
        d("2026-10-08")
    );
    assert_eq!(
        cal.working_days_between(d("2026-09-28"), d("2026-10-12"), &pause),
        3
    );
}

#[test]
fn due_in_a_year_without_a_notice_is_provisional() {
    let cal = Calendar::shipped();
    let due = cal.add_working_days(d("2026-12-25"), 10, &[]);
    assert!(due.provisional);
    assert_eq!(due.date.year(), 2027);
    assert!(!cal.add_working_days(d("2026-12-01"), 5, &[]).provisional);
}

#[test]
fn working_days_between_is_signed_and_excludes_the_start() {
    let cal = Calendar::shipped();
    assert_eq!(
        cal.working_days_between(d("2026-02-13"), d("2026-02-25"), &[]),
        3
    );
    assert_eq!(
        cal.working_days_between(d("2026-02-25"), d("2026-02-13"), &[]),
        -3
    );
    assert_eq!(
        cal.working_days_between(d("2026-02-13"), d("2026-02-13"), &[]),
        0
    );
    // A Monday to the Friday of an ordinary week.
    assert_eq!(
        cal.working_days_between(d("2026-03-02"), d("2026-03-06"), &[]),
        4
    );
}

fn notice_json(days: &str) -> String {
    format!(
        r#"{{"year":2027,"source":"国务院办公厅关于2027年部分节假日安排的通知","version":"v1","effective":"2026-11-01","days":[{days}]}}"#
    )
}

#[test]
fn parse_rejects_hostile_notices_naming_the_problem() {
    let cases = [
        (
            notice_json(r#"{"date":"2027-02-30","kind":"holiday","name":"x"}"#),
            "2027-02-30",
        ),
        (
            notice_json(r#"{"date":"2028-01-03","kind":"holiday","name":"x"}"#),
            "2028-01-03",
        ),
        (
            notice_json(r#"{"date":"2027-01-02","kind":"holiday","name":"元旦"}"#),
            "星期六",
        ),
        (
            notice_json(r#"{"date":"2027-01-04","kind":"workday","name":"x"}"#),
            "星期一",
        ),
        (
            notice_json(
                r#"{"date":"2027-01-04","kind":"holiday","name":"x"},{"date":"2027-01-04","kind":"holiday","name":"y"}"#,
            ),
            "重复",
        ),
        (
            notice_json(r#"{"date":"2027-01-04","kind":"off","name":"x"}"#),
            "off",
        ),
        (
            notice_json(r#"{"date":"2027-01-04","kind":"holiday","name":" "}"#),
            "名称",
        ),
        (
            notice_json(r#"{"date":"2027/01/04","kind":"holiday","name":"x"}"#),
            "2027/01/04",
        ),
        ("{not json".to_string(), "JSON"),
        (r#"{"year":2027}"#.to_string(), "JSON"),
    ];
    for (text, needle) in cases {
        let e = parse_notice(&text).unwrap_err().to_string();
        assert!(e.contains(needle), "{e} should mention {needle}");
    }
    let big = " ".repeat(MAX_NOTICE_BYTES + 1);
    assert!(matches!(
        parse_notice(&big),
        Err(CalendarError::TooLarge(_))
    ));
    let ok = parse_notice(&notice_json(
        r#"{"date":"2027-01-04","kind":"holiday","name":"元旦"},{"date":"2027-01-02","kind":"workday","name":"调休"}"#,
    ))
    .unwrap();
    assert_eq!(ok.days[0].date, d("2027-01-02"));
}

fn store() -> (tempfile::TempDir, crate::store::Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = crate::store::open(&dir.path().join("govbox.db"), "t-site").unwrap();
    (dir, s)
}

fn count(s: &crate::store::Store, sql: &'static str) -> i64 {
    s.read_blocking(move |c| -> Result<i64, StoreError> { Ok(c.query_row(sql, [], |r| r.get(0))?) })
        .unwrap()
}

#[test]
fn importing_a_notice_makes_a_provisional_due_date_final_and_keeps_versions() {
    let (_d, s) = store();
    let load = |s: &crate::store::Store| s.read_blocking(Calendar::load).unwrap();
    let before = load(&s).add_working_days(d("2026-12-25"), 10, &[]);
    assert!(before.provisional);
    assert_eq!(before.date, d("2027-01-08"));

    let v1 = parse_notice(&notice_json(
        r#"{"date":"2027-01-01","kind":"holiday","name":"元旦"},{"date":"2027-01-04","kind":"holiday","name":"元旦"}"#,
    ))
    .unwrap();
    let sum = s
        .write_blocking(move |tx| import_notice(tx, &v1, "admin"))
        .unwrap();
    assert_eq!((sum.year, sum.days, sum.replaced.clone()), (2027, 2, None));
    let after = load(&s).add_working_days(d("2026-12-25"), 10, &[]);
    assert_eq!(
        after,
        Due {
            date: d("2027-01-12"),
            provisional: false
        }
    );

    // The same version again is refused and writes nothing.
    let changes = count(&s, "SELECT count(*) FROM changes");
    let again = parse_notice(&notice_json("")).unwrap();
    let e = s
        .write_blocking(move |tx| import_notice(tx, &again, "admin"))
        .unwrap_err();
    assert!(matches!(e, CalendarError::Conflict(_)), "{e}");
    assert_eq!(count(&s, "SELECT count(*) FROM changes"), changes);

    // A newer version replaces the days; the old one stays in the history.
    let v2 = parse_notice(&notice_json("").replace("\"v1\"", "\"v2\"")).unwrap();
    let sum = s
        .write_blocking(move |tx| import_notice(tx, &v2, "admin"))
        .unwrap();
    assert_eq!(sum.replaced.as_deref(), Some("v1"));
    assert!(load(&s).is_working_day(d("2027-01-04")));
    let vs = s.read_blocking(|c| versions(c, 2027)).unwrap();
    assert_eq!(vs.len(), 2);
    assert!(vs[0].current && vs[0].version == "v2" && !vs[1].current && vs[1].days == 2);

    // An older notice cannot replace a newer one.
    let old = parse_notice(
        &notice_json("")
            .replace("\"v1\"", "\"v0\"")
            .replace("2026-11-01", "2026-10-01"),
    )
    .unwrap();
    let e = s
        .write_blocking(move |tx| import_notice(tx, &old, "admin"))
        .unwrap_err();
    assert!(e.to_string().contains("v2"), "{e}");
}

#[test]
fn single_day_edits_start_from_the_shipped_notice_and_are_logged() {
    let (_d, s) = store();
    let extra = SpecialDay {
        date: d("2026-03-02"),
        kind: DayKind::Holiday,
        name: "本地调整".into(),
    };
    let changes = count(&s, "SELECT count(*) FROM changes");
    s.write_blocking(move |tx| add_day(tx, &extra, "admin"))
        .unwrap();
    let cal = s.read_blocking(Calendar::load).unwrap();
    assert!(!cal.is_working_day(d("2026-03-02")));
    // The rest of the official schedule is still there.
    assert!(cal.is_working_day(d("2026-02-14")) && !cal.is_working_day(d("2026-02-16")));
    assert_eq!(count(&s, "SELECT count(*) FROM changes"), changes + 2);

    s.write_blocking(|tx| remove_day(tx, d("2026-02-14"), "admin"))
        .unwrap();
    assert!(!s
        .read_blocking(Calendar::load)
        .unwrap()
        .is_working_day(d("2026-02-14")));

    let e = s
        .write_blocking(|tx| remove_day(tx, d("2026-03-03"), "admin"))
        .unwrap_err();
    assert!(matches!(e, CalendarError::NotFound(_)), "{e}");
    let dup = SpecialDay {
        date: d("2026-02-16"),
        kind: DayKind::Holiday,
        name: "x".into(),
    };
    let e = s
        .write_blocking(move |tx| add_day(tx, &dup, "admin"))
        .unwrap_err();
    assert!(e.to_string().contains("春节"), "{e}");
    let weekend = SpecialDay {
        date: d("2026-03-07"),
        kind: DayKind::Holiday,
        name: "x".into(),
    };
    let e = s
        .write_blocking(move |tx| add_day(tx, &weekend, "admin"))
        .unwrap_err();
    assert!(e.to_string().contains("2026-03-07"), "{e}");
    let no_notice = SpecialDay {
        date: d("2028-03-01"),
        kind: DayKind::Holiday,
        name: "x".into(),
    };
    let e = s
        .write_blocking(move |tx| add_day(tx, &no_notice, "admin"))
        .unwrap_err();
    assert!(e.to_string().contains("2028"), "{e}");
}
