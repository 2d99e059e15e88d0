use super::*;
use crate::auth::{self, DeptKind, NewUser, Role, RoleGrant, User};
use crate::store::{self, Store};

struct Site {
    _dir: tempfile::TempDir,
    s: Store,
    editor: User,
    other_editor: User,
    chief: User,
    general: User,
    leader: User,
    news: i64,
    speeches: i64,
    land: i64,
    dept: i64,
}

fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let s = store::open(&dir.path().join("govbox.db"), "t-site").unwrap();
    let (users, dept, land_dept) = s
        .write_blocking(|tx| -> Result<_, auth::AuthError> {
            let office = auth::create_department(tx, "县政府办公室", None, DeptKind::Unit)?;
            let land = auth::create_department(tx, "县自然资源局", None, DeptKind::Unit)?;
            let mut out = Vec::new();
            for (name, role, d) in [
                ("editor", Role::Editor, office),
                ("land_editor", Role::Editor, land),
                ("chief", Role::ChiefEditor, office),
                ("general", Role::GeneralEditor, office),
                ("leader", Role::Leader, office),
            ] {
                let id = auth::create_user(
                    tx,
                    &NewUser {
                        username: name.into(),
                        display_name: name.into(),
                        roles: vec![RoleGrant {
                            role,
                            department_id: d,
                        }],
                    },
                    "x",
                )?;
                out.push(auth::user(tx.conn(), id)?);
            }
            Ok((out, office, land))
        })
        .unwrap();
    let general = users[3].clone();
    let g = general.clone();
    let (news, speeches, land) = s
        .write_blocking(move |tx| -> Result<_, PortalError> {
            let mk = |tx: &mut WriteTx, code: &str, name: &str, d: i64, kind: &str, sensitive| {
                columns::create(
                    tx,
                    &g,
                    &columns::NewColumn {
                        code,
                        name,
                        department_id: d,
                        kind,
                        sensitive,
                    },
                )
                .map(|c| c.id)
            };
            Ok((
                mk(tx, "gzdt", "工作动态", dept, "news", false)?,
                mk(tx, "ldjh", "领导讲话", dept, "news", true)?,
                mk(tx, "zrzy", "自然资源", land_dept, "other", false)?,
            ))
        })
        .unwrap();
    Site {
        _dir: dir,
        s,
        editor: users[0].clone(),
        other_editor: users[1].clone(),
        chief: users[2].clone(),
        general,
        leader: users[4].clone(),
        news,
        speeches,
        land,
        dept,
    }
}

fn draft(title: &str, body: &str) -> articles::Draft {
    articles::Draft {
        title: title.into(),
        body: body.into(),
        source: "县政府办公室".into(),
        author: "信息科".into(),
        collected_on: "2026-11-30".into(),
        collector: "小李".into(),
        publish_at: String::new(),
    }
}

impl Site {
    fn w<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut WriteTx) -> Result<T, PortalError> + Send + 'static,
    ) -> Result<T, PortalError> {
        self.s.write_blocking(f)
    }

    fn r<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, PortalError> + Send + 'static,
    ) -> T {
        self.s.read_blocking(f).unwrap()
    }

    fn create(&self, column: i64, title: &str, body: &str) -> i64 {
        let (e, d) = (self.editor.clone(), draft(title, body));
        self.w(move |tx| articles::create(tx, &e, column, &d))
            .unwrap()
    }

    fn step(&self, who: &User, id: i64) -> Result<&'static str, PortalError> {
        let u = who.clone();
        self.w(move |tx| articles::approve(tx, &u, id))
    }

    fn submit(&self, id: i64) -> Result<&'static str, PortalError> {
        let e = self.editor.clone();
        self.w(move |tx| articles::submit(tx, &e, id))
    }

    /// Drafts and takes an article in a plain column through chief and general editor.
    fn publish(&self, title: &str, body: &str) -> i64 {
        let id = self.create(self.news, title, body);
        self.submit(id).unwrap();
        self.step(&self.chief.clone(), id).unwrap();
        self.step(&self.general.clone(), id).unwrap();
        id
    }

    fn visible(&self, id: i64) -> Option<articles::Public> {
        let now = crate::clock::now_utc();
        self.r(move |c| articles::visible(c, id, &now))
    }
}

#[test]
fn editors_draft_only_in_their_departments_columns() {
    let t = site();
    let (other, d) = (t.other_editor.clone(), draft("标题", "正文"));
    let news = t.news;
    let e = t
        .w(move |tx| articles::create(tx, &other, news, &d))
        .unwrap_err();
    assert!(matches!(e, PortalError::Forbidden(_)), "{e}");
    let (chief, d) = (t.chief.clone(), draft("标题", "正文"));
    assert!(matches!(
        t.w(move |tx| articles::create(tx, &chief, news, &d)),
        Err(PortalError::Forbidden(_))
    ));
    let (other, d) = (t.other_editor.clone(), draft("自然资源公告", "正文"));
    let land = t.land;
    assert!(t
        .w(move |tx| articles::create(tx, &other, land, &d))
        .is_ok());
    let (e, d) = (t.editor.clone(), draft("越权", "正文"));
    assert!(matches!(
        t.w(move |tx| articles::create(tx, &e, land, &d)),
        Err(PortalError::Forbidden(_))
    ));
}

#[test]
fn nothing_is_public_before_the_general_editor_approves() {
    let t = site();
    let id = t.create(t.news, "县政府召开防汛会议", "会议部署防汛工作。");
    assert!(t.visible(id).is_none());
    // The general editor cannot skip the chief editor, nor the chief the submission.
    assert!(matches!(
        t.step(&t.chief, id),
        Err(PortalError::OutOfOrder(_))
    ));
    assert_eq!(t.submit(id).unwrap(), "chief");
    assert!(matches!(
        t.step(&t.general, id),
        Err(PortalError::Forbidden(_))
    ));
    assert!(matches!(
        t.step(&t.leader, id),
        Err(PortalError::Forbidden(_))
    ));
    // The editor cannot change it while it is under review.
    let (e, d) = (t.editor.clone(), draft("改标题", "改正文"));
    assert!(matches!(
        t.w(move |tx| articles::update(tx, &e, id, &d)),
        Err(PortalError::OutOfOrder(_))
    ));
    assert_eq!(t.step(&t.chief, id).unwrap(), "general");
    assert!(t.visible(id).is_none());
    let now = crate::clock::now_utc();
    assert!(t.r(move |c| search::search(c, "防汛会议", &now)).is_empty());
    assert_eq!(t.step(&t.general, id).unwrap(), "published");
    let p = t.visible(id).expect("public after approval");
    assert_eq!(p.title, "县政府召开防汛会议");
    let v = t.r(move |c| articles::versions(c, id));
    assert_eq!(v.len(), 1);
    assert_eq!(
        (
            v[0].drafted_by.as_str(),
            v[0].chief_by.as_str(),
            v[0].general_by.as_str()
        ),
        ("editor", "chief", "general")
    );
    assert_eq!(v[0].office_by, None);
}

#[test]
fn sensitive_columns_need_the_office_sign_off_first() {
    let t = site();
    let id = t.create(t.speeches, "在全县大会上的讲话", "同志们：");
    assert_eq!(t.submit(id).unwrap(), "office");
    assert!(matches!(
        t.step(&t.chief, id),
        Err(PortalError::Forbidden(_))
    ));
    assert_eq!(t.step(&t.leader, id).unwrap(), "chief");
    // The leader who signed 初审 cannot sign another level even holding that role.
    assert_eq!(t.step(&t.chief, id).unwrap(), "general");
    assert_eq!(t.step(&t.general, id).unwrap(), "published");
    let v = t.r(move |c| articles::versions(c, id));
    assert_eq!(v[0].office_by.as_deref(), Some("leader"));
}

#[test]
fn sending_back_clears_the_sign_offs_and_records_the_reason() {
    let t = site();
    let id = t.create(t.speeches, "讲话稿", "正文");
    t.submit(id).unwrap();
    t.step(&t.leader, id).unwrap();
    let c = t.chief.clone();
    t.w(move |tx| articles::send_back(tx, &c, id, "数据需要核实"))
        .unwrap();
    let a = t.r(move |c| articles::get(c, id));
    assert_eq!(a.state, "draft");
    assert_eq!(a.return_reason.as_deref(), Some("数据需要核实"));
    // Back to the start: the office signs again.
    assert_eq!(t.submit(id).unwrap(), "office");
    let c = t.chief.clone();
    assert!(matches!(
        t.w(move |tx| articles::send_back(tx, &c, id, "")),
        Err(PortalError::Forbidden(_))
    ));
    let l = t.leader.clone();
    assert!(matches!(
        t.w(move |tx| articles::send_back(tx, &l, id, "  ")),
        Err(PortalError::Invalid {
            field: "reason",
            ..
        })
    ));
}

#[test]
fn a_revision_stays_private_until_approved_and_every_version_is_kept() {
    let t = site();
    let id = t.publish("第一版标题", "第一版正文");
    let e = t.editor.clone();
    t.w(move |tx| articles::revise(tx, &e, id)).unwrap();
    let (e, d) = (t.editor.clone(), draft("第二版标题", "第二版正文"));
    t.w(move |tx| articles::update(tx, &e, id, &d)).unwrap();
    t.submit(id).unwrap();
    assert_eq!(t.visible(id).unwrap().title, "第一版标题");
    t.step(&t.chief, id).unwrap();
    t.step(&t.general, id).unwrap();
    assert_eq!(t.visible(id).unwrap().title, "第二版标题");
    let v = t.r(move |c| articles::versions(c, id));
    assert_eq!(
        v.iter().map(|v| v.title.as_str()).collect::<Vec<_>>(),
        ["第二版标题", "第一版标题"]
    );
    // Search finds only what is public now.
    let now = crate::clock::now_utc();
    let hits = t.r(move |c| search::search(c, "第一版", &now));
    assert!(hits.is_empty(), "{hits:?}");
}

#[test]
fn an_intended_publish_time_in_the_future_keeps_it_private() {
    let t = site();
    let mut d = draft("明年的通知", "正文");
    d.publish_at = "2099-01-01T08:00".into();
    let (e, news) = (t.editor.clone(), t.news);
    let id = t.w(move |tx| articles::create(tx, &e, news, &d)).unwrap();
    t.submit(id).unwrap();
    t.step(&t.chief, id).unwrap();
    t.step(&t.general, id).unwrap();
    assert!(t.visible(id).is_none());
    let v = t.r(move |c| articles::versions(c, id));
    assert_eq!(v[0].published_at, "2099-01-01T00:00:00.000Z");
    // A revision scheduled for later leaves the current version public until then.
    let live = t.publish("现行版本", "正文");
    let e = t.editor.clone();
    t.w(move |tx| articles::revise(tx, &e, live)).unwrap();
    let mut later = draft("下一版本", "正文");
    later.publish_at = "2099-06-01T08:00".into();
    let e = t.editor.clone();
    t.w(move |tx| articles::update(tx, &e, live, &later))
        .unwrap();
    t.submit(live).unwrap();
    t.step(&t.chief, live).unwrap();
    t.step(&t.general, live).unwrap();
    assert_eq!(t.visible(live).unwrap().title, "现行版本");
    let mut bad = draft("x", "y");
    bad.publish_at = "明天".into();
    let e = t.editor.clone();
    assert!(matches!(
        t.w(move |tx| articles::create(tx, &e, news, &bad)),
        Err(PortalError::Invalid {
            field: "publish_at",
            ..
        })
    ));
}

#[test]
fn bad_drafts_are_refused_naming_the_field() {
    let t = site();
    let news = t.news;
    for (d, field) in [
        (draft("", "正文"), "title"),
        (draft(&"长".repeat(101), "正文"), "title"),
        (draft("标题\u{7}", "正文"), "title"),
        (draft("标题", ""), "body"),
        (
            articles::Draft {
                collected_on: "2026-13-40".into(),
                ..draft("标题", "正文")
            },
            "collected_on",
        ),
    ] {
        let e = t.editor.clone();
        match t.w(move |tx| articles::create(tx, &e, news, &d)) {
            Err(PortalError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    let n: i64 =
        t.r(|c| Ok(c.query_row("SELECT count(*) FROM portal_articles", [], |r| r.get(0))?));
    assert_eq!(n, 0);
}

#[test]
fn banned_words_block_submission_and_name_the_words() {
    let t = site();
    let c = t.chief.clone();
    assert_eq!(
        t.w(move |tx| banned::add(tx, &c, "赌博网站\n代开发票，Casino"))
            .unwrap(),
        3
    );
    let e = t.editor.clone();
    assert!(matches!(
        t.w(move |tx| banned::add(tx, &e, "随便")),
        Err(PortalError::Forbidden(_))
    ));
    let id = t.create(
        t.news,
        "提醒",
        "谨防代 开 发 票诈骗，远离CASINO和赌博网站。",
    );
    match t.submit(id) {
        Err(PortalError::Banned(words)) => {
            assert_eq!(words.len(), 3, "{words:?}");
            let msg = PortalError::Banned(words).to_string();
            assert!(
                msg.contains("赌博网站") && msg.contains("代开发票"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.r(move |c| articles::get(c, id)).state, "draft");
    let (e, d) = (t.editor.clone(), draft("提醒", "谨防诈骗。"));
    t.w(move |tx| articles::update(tx, &e, id, &d)).unwrap();
    assert_eq!(t.submit(id).unwrap(), "chief");
    // A word added while the draft waits still stops its publication.
    let c = t.chief.clone();
    t.w(move |tx| banned::add(tx, &c, "诈骗")).unwrap();
    t.step(&t.chief, id).unwrap();
    assert!(matches!(
        t.step(&t.general, id),
        Err(PortalError::Banned(_))
    ));
    let g = t.general.clone();
    t.w(move |tx| banned::remove(tx, &g, "诈骗")).unwrap();
    assert_eq!(t.step(&t.general, id).unwrap(), "published");
}

#[test]
fn chinese_search_finds_words_of_every_length() {
    let t = site();
    let a = t.publish(
        "关于2026年元旦放假安排的通知",
        "元旦放假1天，各单位做好值班安排。",
    );
    let b = t.publish("推进5G基站建设", "全县新建5G基站120座，覆盖所有乡镇。");
    let c = t.publish("冬季安全生产会议", "部署森林防火和安全生产工作。");
    let find = |q: &str| -> Vec<i64> {
        let (q, now) = (q.to_string(), crate::clock::now_utc());
        let mut ids: Vec<i64> = t
            .r(move |c| search::search(c, &q, &now))
            .iter()
            .map(|h| h.article_id)
            .collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(find("安全生产"), [c]);
    assert_eq!(find("森林防火"), [c]);
    assert_eq!(find("放假"), [a]);
    assert_eq!(find("安排"), [a]);
    assert_eq!(find("雪"), Vec::<i64>::new());
    assert_eq!(find("5G"), [b]);
    assert_eq!(find("2026年"), [a]);
    assert_eq!(find("120座"), [b]);
    assert_eq!(find("基站 乡镇"), [b]);
    assert_eq!(find("会"), [c]);
    assert_eq!(find("通知 5G"), Vec::<i64>::new());
    // FTS syntax is data, not query language.
    assert_eq!(find("\"安全 OR 放假\""), Vec::<i64>::new());
    assert_eq!(find("NEAR(安全"), Vec::<i64>::new());
    let now = crate::clock::now_utc();
    assert!(matches!(
        t.s.read_blocking(move |c| search::search(c, "   ", &now)),
        Err(PortalError::Invalid { field: "q", .. })
    ));
}

#[test]
fn markdown_is_a_safe_subset() {
    let html = markdown::render(
        "## 标题\n\n**粗**和[链接](https://www.gov.cn/)及[站内](/columns/tzgg)\n\n<script>alert(1)</script>\n\n[坏](javascript:alert(1)) <img src=x onerror=alert(1)> ![图](http://x/a.png)\n\n<a href=\"x\" onclick=\"y\">z</a>",
    );
    assert!(html.contains("<h2>标题</h2>"), "{html}");
    assert!(html.contains("<strong>粗</strong>"), "{html}");
    assert!(html.contains("href=\"https://www.gov.cn/\""), "{html}");
    assert!(html.contains("href=\"/columns/tzgg\""), "{html}");
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.to_lowercase().contains("javascript:"), "{html}");
    assert!(!html.contains("onclick=\"y\">"), "{html}");
    assert!(!html.contains("<a href=\"x\""), "{html}");
    assert!(
        html.contains("&lt;script&gt;"),
        "raw HTML shows as text: {html}"
    );
    assert_eq!(markdown::internal_links(&html), ["/columns/tzgg"]);
}

#[test]
fn hostile_file_names_and_contents_are_refused_or_cleaned() {
    assert_eq!(files::clean_name("通知.PDF").unwrap().0, "通知.pdf");
    assert_eq!(
        files::clean_name("../../etc/passwd.txt").unwrap().0,
        "passwd.txt"
    );
    assert_eq!(
        files::clean_name("C:\\Users\\a\\表.xlsx").unwrap().0,
        "表.xlsx"
    );
    assert_eq!(
        files::clean_name("a\"; filename=evil.exe;.pdf").unwrap().0,
        "a__ filename=evil.exe_.pdf"
    );
    assert_eq!(files::clean_name("...hidden.txt").unwrap().0, "hidden.txt");
    assert_eq!(files::clean_name("a\r\nb.txt").unwrap().0, "ab.txt");
    for bad in [
        "page.html",
        "logo.svg",
        "setup.exe",
        "x.pdf.exe",
        "run.sh",
        "noext",
        "",
        "..",
        "a.htm",
    ] {
        assert!(files::clean_name(bad).is_err(), "{bad}");
    }
    assert!(files::check_content(b"%PDF-1.7 ...").is_ok());
    for bad in [
        &b"<!DOCTYPE html><p>x"[..],
        b"  <html><body>x",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
        b"<?xml version=\"1.0\"?><svg><script>alert(1)</script></svg>",
        b"\xef\xbb\xbf<script>alert(1)</script>",
        b"MZ\x90\x00\x03",
        b"\x7fELF\x02\x01",
        b"#!/bin/sh\nrm -rf /",
        b"",
    ] {
        assert!(
            files::check_content(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    assert!(files::check_content(&vec![b'a'; files::MAX_FILE + 1]).is_err());
}

#[test]
fn consultations_are_found_only_with_their_code_and_faq_needs_consent() {
    let t = site();
    let dept = t.dept;
    let ask = move |consent| consult::Question {
        department_id: dept,
        name: "张三".into(),
        phone: "138-0000-0000".into(),
        subject: "营业执照".into(),
        question: "需要什么材料？".into(),
        consent,
    };
    let q = ask(true);
    let s = t.w(move |tx| consult::ask(tx, &q)).unwrap();
    assert!(s.number.starts_with("ZX") && s.code.len() == 8, "{s:?}");
    let (n, c) = (s.number.clone(), s.code.clone());
    assert!(t.r(move |x| consult::find(x, &n, &c)).is_some());
    let n = s.number.clone();
    let wrong = if s.code == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    assert!(t.r(move |x| consult::find(x, &n, wrong)).is_none());
    let c = s.code.clone();
    assert!(t
        .r(move |x| consult::find(x, "ZX20260101999999", &c))
        .is_none());
    let stored: String = t.r(|c| {
        Ok(
            c.query_row("SELECT code_hash FROM portal_consultations", [], |r| {
                r.get(0)
            })?,
        )
    });
    assert_ne!(stored, s.code);
    let mut bad = ask(false);
    bad.phone = "12345".into();
    assert!(matches!(
        t.w(move |tx| consult::ask(tx, &bad)),
        Err(PortalError::Invalid { field: "phone", .. })
    ));
    let mut bad = ask(false);
    bad.department_id = 9999;
    assert!(matches!(
        t.w(move |tx| consult::ask(tx, &bad)),
        Err(PortalError::Invalid {
            field: "department_id",
            ..
        })
    ));
    let private = ask(false);
    let p = t.w(move |tx| consult::ask(tx, &private)).unwrap();
    let pid: i64 = {
        let n = p.number.clone();
        t.r(move |c| {
            Ok(c.query_row(
                "SELECT id FROM portal_consultations WHERE number = ?1",
                [n],
                |r| r.get(0),
            )?)
        })
    };
    // Another department's editor may not answer; without consent there is no FAQ.
    let o = t.other_editor.clone();
    assert!(matches!(
        t.w(move |tx| consult::answer(tx, &o, pid, "答复", false)),
        Err(PortalError::Forbidden(_))
    ));
    let e = t.editor.clone();
    assert!(matches!(
        t.w(move |tx| consult::answer(tx, &e, pid, "答复", true)),
        Err(PortalError::Invalid { field: "faq", .. })
    ));
    let e = t.editor.clone();
    t.w(move |tx| consult::answer(tx, &e, pid, "私下答复", false))
        .unwrap();
    let e = t.editor.clone();
    t.w(move |tx| consult::answer(tx, &e, pid - 1, "带身份证和经营场所证明。", true))
        .unwrap();
    let faq = t.r(consult::faq);
    assert_eq!(faq.len(), 1);
    assert_eq!(faq[0].answer, "带身份证和经营场所证明。");
    let e = t.editor.clone();
    assert!(matches!(
        t.w(move |tx| consult::answer(tx, &e, pid, "再答", false)),
        Err(PortalError::OutOfOrder(_))
    ));
}

#[test]
fn letters_are_replied_by_leaders_and_public_only_with_consent() {
    let t = site();
    let l = letters::NewLetter {
        name: "李四".into(),
        phone: "0771-1234567".into(),
        subject: "路灯不亮".into(),
        body: "村口路灯坏了三个月。".into(),
        consent: true,
    };
    let s = t.w(move |tx| letters::send(tx, &l)).unwrap();
    assert!(s.number.starts_with("XX"));
    let id: i64 = t.r(|c| Ok(c.query_row("SELECT id FROM portal_letters", [], |r| r.get(0))?));
    let e = t.editor.clone();
    assert!(matches!(
        t.w(move |tx| letters::reply(tx, &e, id, "已修好", true)),
        Err(PortalError::Forbidden(_))
    ));
    assert!(t.r(letters::public).is_empty());
    let l = t.leader.clone();
    t.w(move |tx| letters::reply(tx, &l, id, "已安排维修。", true))
        .unwrap();
    let public = t.r(letters::public);
    assert_eq!(public.len(), 1);
    let (n, c) = (s.number.clone(), s.code.clone());
    let found = t.r(move |x| letters::find(x, &n, &c)).unwrap();
    assert_eq!(found.reply.as_deref(), Some("已安排维修。"));
}

#[test]
fn self_check_flags_blank_stale_unanswered_and_broken_links() {
    let t = site();
    let id = t.publish(
        "动态",
        "见[通知](/columns/gzdt)、[旧文](/articles/999)和[坏栏目](/columns/nope)。",
    );
    let now = crate::clock::now_utc();
    let findings = t.r(move |c| selfcheck::run(c, &now));
    let kinds: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.kind.as_str(), f.what.as_str()))
        .collect();
    assert!(
        kinds.contains(&("column_blank", "栏目“领导讲话”")),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("column_blank", "栏目“自然资源”")),
        "{kinds:?}"
    );
    assert!(
        !kinds.iter().any(|(_, w)| *w == "栏目“工作动态”"),
        "{kinds:?}"
    );
    let broken: Vec<&str> = findings
        .iter()
        .filter(|f| f.kind == "broken_link")
        .map(|f| f.detail.as_str())
        .collect();
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(broken.iter().any(|d| d.contains("/articles/999")));
    assert!(broken.iter().any(|d| d.contains("/columns/nope")));
    // Three weeks later the news column is stale; a question from four months ago is overdue.
    let later = crate::clock::format_utc(
        jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 21),
    );
    let dept = t.dept;
    t.w(move |tx| {
        consult::ask(
            tx,
            &consult::Question {
                department_id: dept,
                name: "王五".into(),
                phone: "13900000000".into(),
                subject: "问".into(),
                question: "问题".into(),
                consent: false,
            },
        )
    })
    .unwrap();
    let findings = t.r(move |c| selfcheck::run(c, &later));
    assert!(findings
        .iter()
        .any(|f| f.kind == "column_stale" && f.what == "栏目“工作动态”"));
    assert!(!findings.iter().any(|f| f.kind == "consultation_overdue"));
    let much_later = crate::clock::format_utc(
        jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 120),
    );
    let findings = t.r(move |c| selfcheck::run(c, &much_later));
    assert!(findings.iter().any(|f| f.kind == "consultation_overdue"));
    let _ = id;
}

#[test]
fn flood_limits_count_per_address() {
    let l = Limits::default();
    let a: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let b: std::net::IpAddr = "10.0.0.2".parse().unwrap();
    for _ in 0..limits::FORMS_PER_WINDOW {
        l.form(a).unwrap();
    }
    assert!(l.form(a).unwrap_err() > 0);
    assert!(l.form(b).is_ok());
    for _ in 0..limits::WRONG_CODES_PER_WINDOW {
        l.may_query(a).unwrap();
        l.wrong_code(a);
    }
    assert!(l.may_query(a).is_err());
    assert!(l.may_query(b).is_ok());
}

mod applications {
    use super::*;
    use crate::approval::items::{ItemInput, MaterialSpec};
    use crate::approval::{intake, items, workflow};
    use crate::store::Blobs;

    struct Fx {
        dir: tempfile::TempDir,
        s: Store,
        clerk: User,
    }

    fn fx() -> Fx {
        let dir = tempfile::tempdir().unwrap();
        let s = store::open(&dir.path().join("govbox.db"), "t-site").unwrap();
        let clerk = s
            .write_blocking(|tx| -> Result<User, PortalError> {
                let centre = auth::create_department(tx, "县政务服务中心", None, DeptKind::Unit)?;
                auth::create_department(tx, "县市场监管局", None, DeptKind::Unit)?;
                let mk = |tx: &mut WriteTx, name: &str, role| -> Result<User, PortalError> {
                    let id = auth::create_user(
                        tx,
                        &NewUser {
                            username: name.into(),
                            display_name: name.into(),
                            roles: vec![RoleGrant {
                                role,
                                department_id: centre,
                            }],
                        },
                        "x",
                    )?;
                    Ok(auth::user(tx.conn(), id)?)
                };
                let admin = mk(tx, "admin", Role::Admin)?;
                let clerk = mk(tx, "clerk", Role::Clerk)?;
                items::save(
                    tx,
                    &admin,
                    &ItemInput {
                        code: "JB-1".into(),
                        name: "个体工商户名称变更登记".into(),
                        short_name: "个体户名称变更".into(),
                        kind: "immediate".into(),
                        department: "县市场监管局".into(),
                        statutory_days: 15,
                        contact_phone: "0851-1234567".into(),
                        online: true,
                        active: true,
                        materials: vec![MaterialSpec {
                            name: "变更登记申请书".into(),
                            required: true,
                            ..Default::default()
                        }],
                        ..Default::default()
                    },
                )?;
                Ok(clerk)
            })
            .unwrap();
        Fx { dir, s, clerk }
    }

    fn application(materials: Vec<intake::IntakeFile>) -> intake::NewApplication {
        intake::NewApplication {
            item_code: "JB-1".into(),
            applicant_kind: "person".into(),
            applicant_name: "张三".into(),
            applicant_id_no: "11010519491231002X".into(),
            applicant_phone: "13800001111".into(),
            description: "店名变更".into(),
            materials,
        }
    }

    #[test]
    fn an_application_goes_through_intake_and_its_case_completes_visible_with_the_code() {
        let f = fx();
        let blobs = Blobs::new(f.dir.path());
        let item = f.s.read_blocking(|c| services::guide(c, "JB-1")).unwrap();
        let files = services::store_uploads(
            &blobs,
            &item,
            &[services::Upload {
                material: "变更登记申请书".into(),
                file_name: "C:\\fakepath\\申请书.pdf".into(),
                bytes: b"%PDF-1.4 application".to_vec(),
            }],
        )
        .unwrap();
        assert_eq!(files[0].file_name, "申请书.pdf");
        assert!(blobs.has(&files[0].hash));
        let app = application(files);
        let sub =
            f.s.write_blocking(move |tx| services::apply(tx, &app))
                .unwrap();
        let progress = |code: &str| {
            let (n, c) = (sub.number.clone(), code.to_string());
            f.s.read_blocking(move |x| intake::progress(x, &n, &c))
                .unwrap()
        };
        assert_eq!(progress(&sub.code).unwrap().state_zh, "待预审");
        let wrong = if sub.code == "00000000" {
            "00000001"
        } else {
            "00000000"
        };
        assert!(progress(wrong).is_none());

        let queue =
            f.s.read_blocking(|c| intake::list(c, Some("pending")))
                .unwrap();
        let (id, clerk) = (queue[0].id, f.clerk.clone());
        let today = jiff::civil::date(2026, 3, 2);
        let case =
            f.s.write_blocking(move |tx| {
                intake::accept(tx, &clerk, id, &intake::AcceptIntake::default(), today)
            })
            .unwrap();
        let p = progress(&sub.code).unwrap();
        assert_eq!(p.receipt.as_deref(), Some(case.receipt.as_str()));
        let clerk = f.clerk.clone();
        let t = workflow::Transition {
            action: "complete".into(),
            version: case.version,
            opinion: "准予变更".into(),
            assignee: None,
            pause: None,
        };
        let cid = case.id;
        f.s.write_blocking(move |tx| workflow::act(tx, &clerk, cid, &t, today))
            .unwrap();
        let p = progress(&sub.code).unwrap();
        assert!(p.closed_on.is_some(), "{p:?}");
        assert!(
            p.case_state_zh
                .as_deref()
                .is_some_and(|s| s.contains("办结")),
            "{p:?}"
        );
        // What the portal's query page shows for it.
        let (n, c) = (sub.number.clone(), sub.code.clone());
        let shown =
            f.s.read_blocking(move |x| service_pages::lookup(x, &n, &c))
                .unwrap()
                .unwrap();
        assert_eq!(shown.get_attr("receipt").unwrap().to_string(), case.receipt);
        assert!(shown
            .get_attr("closed_on")
            .unwrap()
            .to_string()
            .starts_with("2026-"));
    }

    #[test]
    fn an_application_with_a_hostile_file_stores_nothing() {
        let f = fx();
        let blobs = Blobs::new(f.dir.path());
        let item = f.s.read_blocking(|c| services::guide(c, "JB-1")).unwrap();
        let good = services::Upload {
            material: "变更登记申请书".into(),
            file_name: "申请书.pdf".into(),
            bytes: b"%PDF-1.4 good".to_vec(),
        };
        for bad in [
            (
                "申请书.pdf",
                b"<svg onload=alert(1)>".to_vec(),
                "变更登记申请书",
            ),
            ("申请书.html", b"hello".to_vec(), "变更登记申请书"),
            ("申请书.pdf", b"MZ\x90\x00".to_vec(), "变更登记申请书"),
            ("申请书.pdf", b"%PDF".to_vec(), "不存在的材料"),
        ] {
            let uploads = [
                services::Upload {
                    material: good.material.clone(),
                    file_name: good.file_name.clone(),
                    bytes: good.bytes.clone(),
                },
                services::Upload {
                    material: bad.2.into(),
                    file_name: bad.0.into(),
                    bytes: bad.1,
                },
            ];
            let e = services::store_uploads(&blobs, &item, &uploads).unwrap_err();
            assert!(
                matches!(
                    e,
                    PortalError::Invalid {
                        field: "materials",
                        ..
                    }
                ),
                "{e}"
            );
        }
        assert!(!f.dir.path().join("blobs").exists(), "nothing stored");
        let many: Vec<services::Upload> = (0..=services::MAX_APPLICATION_FILES)
            .map(|i| services::Upload {
                material: good.material.clone(),
                file_name: format!("{i}.pdf"),
                bytes: good.bytes.clone(),
            })
            .collect();
        assert!(services::store_uploads(&blobs, &item, &many).is_err());
        // A hash the portal did not store is not accepted as a material.
        let mut app = application(vec![intake::IntakeFile {
            name: "变更登记申请书".into(),
            hash: "../../etc/passwd".into(),
            file_name: "x.pdf".into(),
            content_type: "application/pdf".into(),
            size: 1,
        }]);
        app.applicant_id_no = "11010519491231002X".into();
        assert!(f
            .s
            .write_blocking(move |tx| services::apply(tx, &app))
            .is_err());
    }
}
