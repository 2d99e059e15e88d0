//! Domain tests over a real SQLite store, without HTTP.

use super::testing::site;
use super::*;
use crate::auth::User;
use crate::store::Store;

fn define(s: &Store, code: &str, prefix: &str, steps: Vec<routes::StepSpec>) -> routes::DocType {
    let (c, p) = (code.to_string(), prefix.to_string());
    s.write_blocking(move |tx| routes::define_type(tx, &c, "测试公文", &p, &steps))
        .unwrap()
}

fn step(kind: &str, user: Option<&str>, group: Option<&str>, mode: &str) -> routes::StepSpec {
    routes::StepSpec {
        kind: kind.into(),
        user: user.map(Into::into),
        group: group.map(Into::into),
        mode: mode.into(),
    }
}

fn draft(s: &Store, u: &User, code: &str, title: &str) -> Result<documents::Document, OfficeError> {
    let u = u.clone();
    let new = documents::NewDocument {
        direction: "outgoing".into(),
        doc_type: code.into(),
        title: title.into(),
        body: format!("{title}的正文。"),
        ..Default::default()
    };
    s.write_blocking(move |tx| documents::create(tx, &u, &new))
}

fn sign(s: &Store, u: &User, id: i64) -> Result<routes::SignOutcome, OfficeError> {
    let u = u.clone();
    s.write_blocking(move |tx| routes::sign(tx, id, &u, "同意"))
}

fn group(s: &Store, name: &str, members: &[&str]) {
    let (n, m): (String, Vec<String>) =
        (name.into(), members.iter().map(|x| x.to_string()).collect());
    s.write_blocking(move |tx| groups::save(tx, &n, &m))
        .unwrap();
}

#[test]
fn numbers_are_sequential_per_type_and_year() {
    let (_d, s, u) = site(1);
    define(
        &s,
        "fw",
        "红政发",
        vec![step("办结", Some("u1"), None, "any")],
    );
    define(
        &s,
        "bf",
        "红政办发",
        vec![step("办结", Some("u1"), None, "any")],
    );
    let year = today().year();
    for i in 1..=3 {
        assert_eq!(
            draft(&s, &u[0], "fw", "甲").unwrap().number,
            format!("红政发〔{year}〕{i}号")
        );
    }
    assert_eq!(
        draft(&s, &u[0], "bf", "乙").unwrap().number,
        format!("红政办发〔{year}〕1号")
    );
    // A refused draft uses no number: the transaction rolls back with its counter.
    assert!(draft(&s, &u[0], "fw", "").is_err());
    assert_eq!(
        draft(&s, &u[0], "fw", "丙").unwrap().number,
        format!("红政发〔{year}〕4号")
    );
}

#[test]
fn classified_documents_are_refused_with_the_reason() {
    let (_d, s, u) = site(1);
    define(
        &s,
        "fw",
        "红政发",
        vec![step("办结", Some("u1"), None, "any")],
    );
    for level in ["秘密", "机密", "绝密", "机密★1年"] {
        let user = u[0].clone();
        let new = documents::NewDocument {
            direction: "incoming".into(),
            doc_type: "fw".into(),
            title: "来文".into(),
            source_unit: Some("市政府".into()),
            security: Some(level.into()),
            ..Default::default()
        };
        let e = s
            .write_blocking(move |tx| documents::create(tx, &user, &new))
            .unwrap_err();
        assert!(matches!(e, OfficeError::Classified(_)), "{level}: {e:?}");
        assert!(e.to_string().contains("不得在本系统处理"), "{e}");
    }
    assert!(documents::security_level(Some("内部")).is_ok());
    assert!(matches!(
        documents::security_level(Some("保密")),
        Err(OfficeError::Invalid { .. })
    ));
}

#[test]
fn all_must_sign_waits_for_everyone_and_any_one_signs_does_not() {
    let (_d, s, u) = site(4);
    group(&s, "班子", &["u2", "u3"]);
    group(&s, "科员", &["u3", "u4"]);
    define(
        &s,
        "fw",
        "红政发",
        vec![
            step("拟办", Some("u1"), None, "any"),
            step("批办", None, Some("班子"), "all"),
            step("承办", None, Some("科员"), "any"),
            step("办结", Some("u1"), None, "any"),
        ],
    );
    let d = draft(&s, &u[0], "fw", "关于防汛").unwrap();
    assert!(
        matches!(sign(&s, &u[1], d.id), Err(OfficeError::OutOfOrder(_))),
        "u2 is on a later step"
    );
    assert!(
        matches!(sign(&s, &u[4], d.id), Err(OfficeError::Forbidden(_))),
        "boss is not on the route"
    );
    assert!(sign(&s, &u[0], d.id).unwrap().step_done);
    assert!(matches!(
        sign(&s, &u[0], d.id),
        Err(OfficeError::Forbidden(_) | OfficeError::OutOfOrder(_))
    ));
    let first = sign(&s, &u[1], d.id).unwrap();
    assert_eq!(first.kind, "批办");
    assert!(!first.step_done, "all must sign: one of two is not enough");
    assert!(
        matches!(sign(&s, &u[1], d.id), Err(OfficeError::OutOfOrder(_))),
        "signed twice"
    );
    assert!(sign(&s, &u[2], d.id).unwrap().step_done);
    let any = sign(&s, &u[3], d.id).unwrap();
    assert_eq!(any.kind, "承办");
    assert!(any.step_done, "any one signs");
    assert!(
        matches!(sign(&s, &u[2], d.id), Err(OfficeError::Forbidden(_))),
        "the step is over for the others"
    );
    let last = sign(&s, &u[0], d.id).unwrap();
    assert!(last.route_done);
    let doc = s.read_blocking(move |c| documents::get(c, d.id)).unwrap();
    assert_eq!(doc.status, "done");
    assert!(doc.steps.iter().all(|s| s.done_at.is_some()));
    for first in [true, false] {
        let w = u[1].clone();
        assert_eq!(
            s.write_blocking(move |tx| documents::mark_read(tx, d.id, &w))
                .unwrap(),
            first
        );
    }
    let doc = s.read_blocking(move |c| documents::get(c, d.id)).unwrap();
    assert_eq!(doc.readers.len(), 1);
}

#[test]
fn routes_must_follow_the_canonical_order() {
    let (_d, s, _u) = site(1);
    for steps in [
        vec![
            step("批办", Some("u1"), None, "any"),
            step("拟办", Some("u1"), None, "any"),
            step("办结", Some("u1"), None, "any"),
        ],
        vec![step("拟办", Some("u1"), None, "any")],
        vec![step("审核", Some("u1"), None, "any")],
        vec![step("办结", Some("u1"), Some("x"), "any")],
        vec![step("办结", Some("nobody"), None, "any")],
        vec![step("办结", Some("u1"), None, "some")],
        Vec::new(),
    ] {
        let r = s.write_blocking(move |tx| routes::define_type(tx, "fw", "发文", "红政发", &steps));
        assert!(
            matches!(r, Err(OfficeError::Invalid { field: "steps", .. })),
            "{r:?}"
        );
    }
    let r = s.write_blocking(|tx| {
        routes::define_type(
            tx,
            "fw",
            "发文",
            "红〔政〕发",
            &[step("办结", Some("u1"), None, "any")],
        )
    });
    assert!(matches!(
        r,
        Err(OfficeError::Invalid {
            field: "prefix",
            ..
        })
    ));
}

fn finished(s: &Store, u: &User, title: &str) -> i64 {
    let d = draft(s, u, "fw", title).unwrap();
    sign(s, u, d.id).unwrap();
    d.id
}

fn archive_doc(s: &Store, u: &User, id: i64) -> Result<archive::Hit, OfficeError> {
    let u = u.clone();
    s.write_blocking(move |tx| archive::archive(tx, id, &u, i64::from(today().year()), "永久"))
}

type Attempt = Box<dyn FnOnce(&mut crate::store::WriteTx) -> Result<(), OfficeError> + Send>;

#[test]
fn archived_documents_cannot_be_changed() {
    let (dir, s, u) = site(1);
    define(
        &s,
        "fw",
        "红政发",
        vec![step("办结", Some("u1"), None, "any")],
    );
    let open = draft(&s, &u[0], "fw", "未办结").unwrap();
    assert!(
        matches!(
            archive_doc(&s, &u[0], open.id),
            Err(OfficeError::OutOfOrder(_))
        ),
        "only finished ones"
    );
    let id = finished(&s, &u[0], "关于乡村道路养护");
    archive_doc(&s, &u[0], id).unwrap();
    let before = s.read_blocking(move |c| documents::get(c, id)).unwrap();
    let up = {
        let bytes = b"attachment".to_vec();
        let hash = crate::store::Blobs::new(dir.path()).put(&bytes).unwrap();
        let uid = u[0].id;
        s.write_blocking(move |tx| uploads::record(tx, uid, &hash, "a.txt", 10))
            .unwrap()
            .id
    };
    let who = u[0].clone();
    let attempts: Vec<(&str, Attempt)> = vec![
        (
            "sign",
            Box::new({
                let w = who.clone();
                move |tx| routes::sign(tx, id, &w, "x").map(|_| ())
            }),
        ),
        (
            "comment",
            Box::new({
                let w = who.clone();
                move |tx| documents::comment(tx, id, &w, "x").map(|_| ())
            }),
        ),
        (
            "urge",
            Box::new({
                let w = who.clone();
                move |tx| documents::urge(tx, id, &w, "x").map(|_| ())
            }),
        ),
        (
            "attach",
            Box::new({
                let w = who.clone();
                move |tx| documents::attach(tx, id, &w, up).map(|_| ())
            }),
        ),
        (
            "archive",
            Box::new({
                let w = who.clone();
                move |tx| archive::archive(tx, id, &w, 2020, "10年").map(|_| ())
            }),
        ),
    ];
    for (name, f) in attempts {
        let r = s.write_blocking(f);
        assert!(matches!(r, Err(OfficeError::Archived(_))), "{name}: {r:?}");
    }
    let w = who.clone();
    assert!(
        !s.write_blocking(move |tx| documents::mark_read(tx, id, &w))
            .unwrap(),
        "reading records nothing"
    );
    let after = s.read_blocking(move |c| documents::get(c, id)).unwrap();
    assert_eq!(
        serde_json::to_value(&before).unwrap(),
        serde_json::to_value(&after).unwrap()
    );
    // The database refuses too, for a code path that forgets to ask.
    s.close();
    let conn = rusqlite::Connection::open(dir.path().join("govbox.db")).unwrap();
    for sql in [
        "UPDATE documents SET title = 'x' WHERE id = ?1",
        "DELETE FROM documents WHERE id = ?1",
        "UPDATE doc_steps SET done_at = NULL WHERE doc_id = ?1",
        "UPDATE doc_signers SET opinion = 'x' WHERE doc_id = ?1",
        "INSERT INTO doc_comments(doc_id, user_id, body, at) VALUES (?1, 1, 'x', 'now')",
        "INSERT INTO doc_urges(doc_id, user_id, message, at) VALUES (?1, 1, 'x', 'now')",
        "INSERT INTO doc_attachments(doc_id, hash, name, size, at) VALUES (?1, 'h', 'n', 1, 'now')",
    ] {
        let e = conn.execute(sql, [id]).unwrap_err();
        assert!(e.to_string().contains("read-only"), "{sql}: {e}");
    }
}

#[test]
fn archive_search_finds_chinese_text_of_any_length() {
    let (_d, s, u) = site(1);
    define(
        &s,
        "fw",
        "红政发",
        vec![step("办结", Some("u1"), None, "any")],
    );
    let a = finished(&s, &u[0], "关于加强冬季森林防火工作的通知");
    let b = finished(&s, &u[0], "关于做好秋粮收购工作的通知");
    let c = finished(&s, &u[0], "防汛抗旱应急预案");
    for id in [a, b, c] {
        archive_doc(&s, &u[0], id).unwrap();
    }
    let not_archived = draft(&s, &u[0], "fw", "森林防火未归档稿").unwrap().id;
    let find = |q: &str| -> Vec<i64> {
        let q = q.to_string();
        let mut ids: Vec<i64> = s
            .read_blocking(move |c| archive::search(c, &q, 20))
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(find("森林防火"), vec![a]);
    assert_eq!(find("工作的通知"), vec![a, b]);
    assert_eq!(find("秋粮收购 通知"), vec![b]);
    assert_eq!(find("防"), vec![a, c], "one character: the fallback scan");
    assert_eq!(find("防汛"), vec![c], "two characters: the fallback scan");
    assert_eq!(
        find("通知 秋粮"),
        vec![b],
        "a short and a long term together"
    );
    assert!(!find("森林防火").contains(&not_archived));
    assert_eq!(find("红政发"), vec![a, b, c], "the number is indexed");
    assert!(
        find("\"森林\" OR 防火*").is_empty(),
        "query syntax is taken literally"
    );
    for bad in ["", "   ", &"长".repeat(51)] {
        let q = bad.to_string();
        assert!(matches!(
            s.read_blocking(move |c| archive::search(c, &q, 20)),
            Err(OfficeError::Invalid { field: "q", .. })
        ));
    }
}

fn mail_input(to: &[&str], subject: &str, body: &str) -> mail::MailInput {
    mail::MailInput {
        to_users: to.iter().map(|x| x.to_string()).collect(),
        subject: subject.into(),
        body_html: body.into(),
        ..Default::default()
    }
}

fn send(s: &Store, u: &User, input: mail::MailInput) -> Result<mail::Mail, OfficeError> {
    let u = u.clone();
    s.write_blocking(move |tx| mail::compose(tx, &u, &input, true))
}

#[test]
fn mail_is_cleaned_delivered_and_counted_against_quotas() {
    let (_d, s, u) = site(3);
    group(&s, "科员", &["u2", "u3"]);
    let m = send(
        &s,
        &u[0],
        mail::MailInput {
            to_groups: vec!["科员".into()],
            ..mail_input(
                &["u2"],
                "周例会",
                "<p onclick=x()>请参加</p><script>alert(1)</script>",
            )
        },
    )
    .unwrap();
    assert_eq!(m.body_html, "<p>请参加</p>");
    let (u2, u3) = (u[1].id, u[2].id);
    let inbox = |id: i64| {
        s.read_blocking(move |c| mail::list(c, id, "inbox"))
            .unwrap()
    };
    assert_eq!(inbox(u2).len(), 1, "u2 named twice gets one copy");
    assert_eq!(inbox(u3).len(), 1);
    assert_eq!(
        s.read_blocking(move |c| mail::unread_count(c, u2)).unwrap(),
        1
    );
    let size = m.size;
    s.write_blocking(move |tx| mail::set_quota(tx, Some("u3"), size * 2))
        .unwrap();
    send(
        &s,
        &u[0],
        mail_input(
            &["u3"],
            "周例会",
            "<p onclick=x()>请参加</p><script>alert(1)</script>",
        ),
    )
    .unwrap();
    let before = s.read_blocking(crate::store::high_water).unwrap();
    let e = send(
        &s,
        &u[0],
        mail_input(&["u2", "u3"], "周例会", "<p>请参加</p>"),
    )
    .unwrap_err();
    assert!(matches!(e, OfficeError::QuotaExceeded { .. }), "{e:?}");
    assert!(e.to_string().contains("u3"), "names who is full: {e}");
    assert_eq!(
        s.read_blocking(crate::store::high_water).unwrap(),
        before,
        "nothing half-written"
    );
    assert_eq!(inbox(u2).len(), 1, "u2 did not get it either");
    // Emptying the trash frees space.
    let first = inbox(u3)[0].id;
    s.write_blocking(move |tx| mail::move_to(tx, u3, first, "trash"))
        .unwrap();
    assert!(matches!(
        s.write_blocking(move |tx| mail::move_to(tx, u3, first, "trash")),
        Err(OfficeError::OutOfOrder(_))
    ));
    s.write_blocking(move |tx| mail::move_to(tx, u3, first, "restore"))
        .unwrap();
    assert!(
        matches!(
            s.write_blocking(move |tx| mail::move_to(tx, u3, first, "delete")),
            Err(OfficeError::OutOfOrder(_))
        ),
        "delete only from the trash"
    );
    s.write_blocking(move |tx| mail::move_to(tx, u3, first, "trash"))
        .unwrap();
    s.write_blocking(move |tx| mail::move_to(tx, u3, first, "delete"))
        .unwrap();
    send(
        &s,
        &u[0],
        mail_input(&["u2", "u3"], "周例会", "<p>请参加</p>"),
    )
    .unwrap();
    // Someone else's mailbox entry is not found.
    assert!(matches!(
        s.read_blocking(move |c| mail::get(c, u2, first)),
        Err(OfficeError::NotFound(_))
    ));
}

#[test]
fn drafts_become_sent_mail() {
    let (_d, s, u) = site(2);
    let me = u[0].clone();
    let d = s
        .write_blocking({
            let me = me.clone();
            move |tx| mail::compose(tx, &me, &mail_input(&[], "", "草稿"), false)
        })
        .unwrap();
    assert_eq!(d.folder, "drafts");
    assert!(
        send(
            &s,
            &u[0],
            mail::MailInput {
                draft_id: Some(d.id),
                ..mail_input(&[], "通知", "正文")
            }
        )
        .is_err(),
        "no recipient"
    );
    let sent = send(
        &s,
        &u[0],
        mail::MailInput {
            draft_id: Some(d.id),
            ..mail_input(&["u2"], "通知", "正文")
        },
    )
    .unwrap();
    assert_eq!(sent.folder, "sent");
    assert!(matches!(
        send(
            &s,
            &u[0],
            mail::MailInput {
                draft_id: Some(d.id),
                ..mail_input(&["u2"], "通知", "正文")
            }
        ),
        Err(OfficeError::OutOfOrder(_))
    ));
    let uid = me.id;
    assert!(s
        .read_blocking(move |c| mail::list(c, uid, "drafts"))
        .unwrap()
        .is_empty());
}

#[test]
fn room_bookings_may_touch_but_not_overlap() {
    let (_d, s, u) = site(2);
    let room = s
        .write_blocking(|tx| meetings::add_room(tx, "第一会议室", "三楼", 30))
        .unwrap();
    let book = |from: &str, to: &str| {
        let m = meetings::NewMeeting {
            room_id: room.id,
            title: "例会".into(),
            starts: from.into(),
            ends: to.into(),
            participants: vec!["u2".into()],
        };
        let who = u[0].clone();
        s.write_blocking(move |tx| meetings::book(tx, &who, &m))
    };
    let m = book("2030-05-06 09:00", "2030-05-06 10:00").unwrap();
    assert_eq!(m.starts, "2030-05-06 09:00:00");
    assert_eq!(m.participants.len(), 2);
    book("2030-05-06 10:00", "2030-05-06 11:00").expect("back-to-back after");
    book("2030-05-06 08:00", "2030-05-06 09:00").expect("back-to-back before");
    for (a, b) in [
        ("2030-05-06 09:30", "2030-05-06 09:45"),
        ("2030-05-06 08:30", "2030-05-06 09:01"),
        ("2030-05-06 10:59", "2030-05-06 12:00"),
        ("2030-05-06 07:00", "2030-05-06 12:00"),
    ] {
        assert!(
            matches!(book(a, b), Err(OfficeError::RoomBusy(_))),
            "{a}–{b}"
        );
    }
    assert!(matches!(
        book("2030-05-06 12:00", "2030-05-06 12:00"),
        Err(OfficeError::Invalid { .. })
    ));
    assert!(matches!(
        book("2030-05-06 25:00", "2030-05-06 26:00"),
        Err(OfficeError::Invalid { .. })
    ));
    assert!(matches!(
        book("2030-05-06 12:00", "2030-05-08 12:00"),
        Err(OfficeError::Invalid { .. })
    ));
}

#[test]
fn the_workbench_gathers_what_waits() {
    let (_d, s, u) = site(2);
    define(
        &s,
        "fw",
        "红政发",
        vec![
            step("批办", Some("u2"), None, "any"),
            step("办结", Some("u1"), None, "any"),
        ],
    );
    let d = draft(&s, &u[0], "fw", "关于秋季征兵").unwrap();
    let who = u[0].clone();
    s.write_blocking(move |tx| documents::urge(tx, d.id, &who, ""))
        .unwrap();
    send(&s, &u[0], mail_input(&["u2"], "材料", "请阅")).unwrap();
    let boss = u[2].clone();
    let t = tasks::NewTask {
        title: "报送统计表".into(),
        detail: String::new(),
        assignee: "u2".into(),
        due_on: today().to_string(),
    };
    s.write_blocking(move |tx| tasks::create(tx, &boss, &t))
        .unwrap();
    let u2 = u[1].clone();
    let items = s.read_blocking(move |c| workbench::items(c, &u2)).unwrap();
    let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
    assert!(
        labels
            .iter()
            .any(|l| l.contains("待批办公文") && l.contains("已催办")),
        "{labels:?}"
    );
    assert!(
        labels.iter().any(|l| l.contains("未读邮件 1 封")),
        "{labels:?}"
    );
    assert!(
        labels.iter().any(|l| l.contains("报送统计表")),
        "{labels:?}"
    );
    let room = s
        .write_blocking(|tx| meetings::add_room(tx, "会议室", "", 10))
        .unwrap();
    let boss = u[2].clone();
    let m = meetings::NewMeeting {
        room_id: room.id,
        title: "征兵动员会".into(),
        starts: "2031-01-06 09:00".into(),
        ends: "2031-01-06 10:00".into(),
        participants: vec!["u2".into()],
    };
    s.write_blocking(move |tx| meetings::book(tx, &boss, &m))
        .unwrap();
    let u2 = u[1].clone();
    let labels = |who: User| -> Vec<String> {
        s.read_blocking(move |c| workbench::items(c, &who))
            .unwrap()
            .into_iter()
            .map(|i| i.label)
            .collect()
    };
    assert!(
        labels(u2.clone())
            .iter()
            .any(|l| l.contains("会议通知：2031-01-06 09:00 征兵动员会")),
        "the invitation is the notification"
    );
    let id = u2.id;
    assert!(s
        .write_blocking(move |tx| meetings::mark_seen(tx, id))
        .unwrap());
    assert!(!s
        .write_blocking(move |tx| meetings::mark_seen(tx, id))
        .unwrap());
    assert!(
        !labels(u2).iter().any(|l| l.contains("会议通知")),
        "seen: gone"
    );
    let u1 = u[0].clone();
    assert!(
        s.read_blocking(move |c| workbench::items(c, &u1))
            .unwrap()
            .is_empty(),
        "nothing waits for u1 yet"
    );
}

#[test]
fn tasks_report_progress_and_show_overdue() {
    let (_d, s, u) = site(1);
    let boss = u[1].clone();
    let t = tasks::NewTask {
        title: "整改".into(),
        detail: String::new(),
        assignee: "u1".into(),
        due_on: "2001-01-01".into(),
    };
    assert!(matches!(
        s.write_blocking({
            let b = boss.clone();
            move |tx| tasks::create(tx, &b, &t)
        }),
        Err(OfficeError::Invalid {
            field: "due_on",
            ..
        })
    ));
    let t = tasks::NewTask {
        title: "整改".into(),
        detail: String::new(),
        assignee: "u1".into(),
        due_on: today().to_string(),
    };
    let task = s
        .write_blocking({
            let b = boss.clone();
            move |tx| tasks::create(tx, &b, &t)
        })
        .unwrap();
    assert!(!task.overdue);
    let id = task.id;
    assert!(matches!(
        s.write_blocking({
            let b = boss.clone();
            move |tx| tasks::report(tx, &b, id, 50, "x")
        }),
        Err(OfficeError::Forbidden(_))
    ));
    let w = u[0].clone();
    assert!(matches!(
        s.write_blocking({
            let w = w.clone();
            move |tx| tasks::report(tx, &w, id, 101, "x")
        }),
        Err(OfficeError::Invalid { .. })
    ));
    let done = s
        .write_blocking({
            let w = w.clone();
            move |tx| tasks::report(tx, &w, id, 100, "已完成")
        })
        .unwrap();
    assert_eq!(done.status, "done");
    assert!(matches!(
        s.write_blocking(move |tx| tasks::report(tx, &w, id, 100, "x")),
        Err(OfficeError::OutOfOrder(_))
    ));
    // Overdue is computed against today: a task due yesterday that is still open.
    let s2 = s.clone();
    s2.write_blocking(move |tx| -> Result<(), OfficeError> {
        tx.exec("INSERT INTO tasks(title, detail, assignee_id, created_by, due_on, status, created_at) VALUES ('旧', '', ?1, ?1, '2001-01-01', 'open', 'x')", [boss.id])?;
        tx.change("task", "old", crate::store::Op::Insert, &())?;
        Ok(())
    })
    .unwrap();
    let b = u[1].clone();
    let list = s.read_blocking(move |c| tasks::list(c, &b)).unwrap();
    assert!(list.iter().any(|t| t.title == "旧" && t.overdue));
}
