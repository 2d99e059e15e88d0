//! Unit tests of the approval domain: no HTTP, a real SQLite store per test.

use jiff::civil::{date, Date};

use super::calendar::{parse_notice, Calendar};
use super::cases::{self, FeeIn, MaterialIn, NewCase, Query, Scope};
use super::intake::{self, AcceptIntake, IntakeFile, NewApplication};
use super::items::{self, Catalogue, FeeSpec, HandlerSpec, ItemInput, JointSpec, MaterialSpec};
use super::workflow::{self, Action, PauseKind, Transition};
use super::{ids, joint, money, opinions, ApprovalError};
use crate::auth::{self, DeptKind, NewUser, Role, RoleGrant, User};
use crate::store::{self, Store};

const PERSON_ID: &str = "11010519491231002X";
const PERSON_ID_2: &str = "440524188001010014";
const ORG_ID: &str = "91350100M000100Y43";
const HASH: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

struct Fx {
    _dir: tempfile::TempDir,
    s: Store,
    clerk: User,
    handler: User,
    handler2: User,
    reviewer: User,
    approver: User,
    head: User,
    aux: User,
    aux2: User,
    admin: User,
    outsider: User,
}

fn grant(role: Role, department_id: i64) -> RoleGrant {
    RoleGrant {
        role,
        department_id,
    }
}

/// A site with a service centre, a lead department with its staff, two auxiliary departments
/// and three items: 即办件 `JB-1`, 承诺件 `CN-1` (named persons for each step), 联办件 `LB-1`.
fn fx() -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let s = store::open(&dir.path().join("govbox.db"), "t-site").unwrap();
    let users = s
        .write_blocking(|tx| -> Result<Vec<User>, ApprovalError> {
            let centre = auth::create_department(tx, "县政务服务中心", None, DeptKind::Unit)?;
            let lead = auth::create_department(tx, "县市场监管局", None, DeptKind::Unit)?;
            let fire = auth::create_department(tx, "县消防救援大队", None, DeptKind::Unit)?;
            let land = auth::create_department(tx, "县自然资源局", None, DeptKind::Unit)?;
            let specs: Vec<(&str, Vec<RoleGrant>)> = vec![
                ("clerk", vec![grant(Role::Clerk, centre)]),
                ("handler", vec![grant(Role::Handler, lead)]),
                ("handler2", vec![grant(Role::Handler, lead)]),
                ("reviewer", vec![grant(Role::Reviewer, lead)]),
                ("approver", vec![grant(Role::Approver, lead)]),
                ("head", vec![grant(Role::DeptHead, lead)]),
                ("aux", vec![grant(Role::Handler, fire)]),
                ("aux2", vec![grant(Role::Handler, land)]),
                ("admin", vec![grant(Role::Admin, centre)]),
                ("outsider", vec![grant(Role::Handler, fire)]),
            ];
            let mut out = Vec::new();
            for (name, roles) in specs {
                let id = auth::create_user(
                    tx,
                    &NewUser {
                        username: name.into(),
                        display_name: format!("{name}名"),
                        roles,
                    },
                    "x",
                )?;
                out.push(auth::user(tx.conn(), id)?);
            }
            auth::set_phone(tx, "handler", "13800000001")?;
            auth::set_phone(tx, "reviewer", "13800000002")?;
            let admin = out[8].clone();
            items::save(tx, &admin, &immediate_item())?;
            items::save(tx, &admin, &promised_item())?;
            items::save(tx, &admin, &joint_item())?;
            Ok(out)
        })
        .unwrap();
    let mut it = users.into_iter();
    let mut next = || it.next().unwrap();
    Fx {
        clerk: next(),
        handler: next(),
        handler2: next(),
        reviewer: next(),
        approver: next(),
        head: next(),
        aux: next(),
        aux2: next(),
        admin: next(),
        outsider: next(),
        _dir: dir,
        s,
    }
}

fn immediate_item() -> ItemInput {
    ItemInput {
        code: "JB-1".into(),
        name: "个体工商户名称变更登记".into(),
        short_name: "个体户名称变更".into(),
        kind: "immediate".into(),
        department: "县市场监管局".into(),
        promised_days: 0,
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
    }
}

fn promised_item() -> ItemInput {
    ItemInput {
        code: "CN-1".into(),
        name: "食品经营许可".into(),
        short_name: "食品经营许可".into(),
        kind: "promised".into(),
        department: "县市场监管局".into(),
        promised_days: 5,
        statutory_days: 20,
        expert_review: false,
        location: "政务服务中心 2 号窗口".into(),
        contact_phone: "0851-1234567".into(),
        online: true,
        active: true,
        materials: vec![
            MaterialSpec {
                name: "食品经营许可申请书".into(),
                required: true,
                blank_hash: Some(HASH.into()),
                blank_name: Some("申请书.docx".into()),
                ..Default::default()
            },
            MaterialSpec {
                name: "营业执照复印件".into(),
                required: true,
                ..Default::default()
            },
            MaterialSpec {
                name: "授权委托书".into(),
                required: false,
                ..Default::default()
            },
        ],
        fees: vec![
            FeeSpec {
                name: "证照工本费".into(),
                unit_price_fen: 1000,
                unit: "件".into(),
            },
            FeeSpec {
                name: "场地勘验费".into(),
                unit_price_fen: 333,
                unit: "平方米".into(),
            },
        ],
        handlers: vec![
            HandlerSpec {
                step: "undertake".into(),
                users: vec!["handler".into(), "handler2".into()],
            },
            HandlerSpec {
                step: "review".into(),
                users: vec!["reviewer".into()],
            },
        ],
        ..Default::default()
    }
}

fn joint_item() -> ItemInput {
    ItemInput {
        code: "LB-1".into(),
        name: "公众聚集场所投入使用营业前许可".into(),
        short_name: "公众聚集场所许可".into(),
        kind: "joint".into(),
        department: "县市场监管局".into(),
        promised_days: 10,
        statutory_days: 45,
        expert_review: true,
        online: true,
        active: true,
        materials: vec![MaterialSpec {
            name: "申请书".into(),
            required: true,
            ..Default::default()
        }],
        joint: vec![
            JointSpec {
                department: "县消防救援大队".into(),
                days: 5,
            },
            JointSpec {
                department: "县自然资源局".into(),
                days: 7,
            },
        ],
        ..Default::default()
    }
}

fn new_case(code: &str) -> NewCase {
    let item = match code {
        "JB-1" => immediate_item(),
        "CN-1" => promised_item(),
        _ => joint_item(),
    };
    NewCase {
        item_code: code.into(),
        applicant_kind: "person".into(),
        applicant_name: "张三".into(),
        applicant_id_no: PERSON_ID.into(),
        applicant_phone: "13900000000".into(),
        materials: item
            .materials
            .iter()
            .map(|m| MaterialIn {
                name: m.name.clone(),
                provided: m.required,
                ..Default::default()
            })
            .collect(),
        fees: Vec::new(),
        opinion: String::new(),
        assignee: None,
    }
}

impl Fx {
    fn accept(&self, new: NewCase, on: Date) -> Result<cases::Case, ApprovalError> {
        let u = self.clerk.clone();
        self.s
            .write_blocking(move |tx| cases::accept(tx, &u, &new, on))
    }

    fn act(
        &self,
        who: &User,
        id: i64,
        action: &str,
        opinion: &str,
        on: Date,
    ) -> Result<cases::Case, ApprovalError> {
        let version = self.case(id).version;
        self.act_v(who, id, action, opinion, on, version)
    }

    fn act_v(
        &self,
        who: &User,
        id: i64,
        action: &str,
        opinion: &str,
        on: Date,
        version: i64,
    ) -> Result<cases::Case, ApprovalError> {
        let u = who.clone();
        let (pause, action) = match action.split_once(':') {
            Some((a, p)) => (Some(p.to_string()), a.to_string()),
            None => (None, action.to_string()),
        };
        let t = Transition {
            action,
            version,
            opinion: opinion.into(),
            assignee: None,
            pause,
        };
        self.s
            .write_blocking(move |tx| workflow::act(tx, &u, id, &t, on))
    }

    fn case(&self, id: i64) -> cases::Case {
        self.s.read_blocking(move |c| cases::get(c, id)).unwrap()
    }

    fn count(&self, sql: &'static str) -> i64 {
        self.s
            .read_blocking(move |c| {
                c.query_row(sql, [], |r| r.get::<_, i64>(0))
                    .map_err(ApprovalError::from)
            })
            .unwrap()
    }

    fn list(&self, who: &User, scope: Scope, q: Query) -> Vec<cases::CaseSummary> {
        let u = who.clone();
        self.s
            .read_blocking(move |c| cases::list(c, &u, scope, &q))
            .unwrap()
    }
}

const D: Date = date(2026, 3, 2);

// ---- identifiers and money ----

#[test]
fn resident_id_checksum_accepts_real_format_numbers_and_refuses_typos() {
    for ok in [PERSON_ID, PERSON_ID_2, "110101199003074477"] {
        assert!(ids::check_resident_id(ok).is_ok(), "{ok}");
    }
    assert!(ids::check_resident_id("110105194912310021")
        .unwrap_err()
        .contains("校验位"));
    assert!(ids::check_resident_id("11010519491331002X")
        .unwrap_err()
        .contains("出生日期"));
    assert!(ids::check_resident_id("1101051949123100")
        .unwrap_err()
        .contains("18 位"));
    assert!(ids::check_resident_id("11010519491231002x").is_err());
    assert!(ids::check_resident_id("1101051949123100２X").is_err());
    assert_eq!(
        ids::applicant_id("person", " 11010519491231002x ").unwrap(),
        PERSON_ID
    );
}

#[test]
fn credit_code_checksum_accepts_real_format_codes_and_refuses_typos() {
    for ok in [ORG_ID, "91110000802100433B"] {
        assert!(ids::check_credit_code(ok).is_ok(), "{ok}");
    }
    assert!(ids::check_credit_code("91350100M000100Y44")
        .unwrap_err()
        .contains("校验位"));
    assert!(ids::check_credit_code("91350100M000100I43")
        .unwrap_err()
        .contains("大写字母"));
    assert!(ids::check_credit_code("91350100M000100Y4")
        .unwrap_err()
        .contains("18 位"));
    assert!(ids::applicant_id("company", ORG_ID).is_err());
    assert!(ids::applicant_id("org", PERSON_ID).is_err());
}

#[test]
fn fee_arithmetic_with_decimals_is_exact_and_rounds_half_up() {
    let q = |s: &str| money::Quantity::parse(s).unwrap();
    assert_eq!(money::amount(333, q("2.5")).unwrap(), 833); // 832.5 → 833
    assert_eq!(money::amount(333, q("2.4")).unwrap(), 799); // 799.2 → 799
    assert_eq!(money::amount(1, q("0.5")).unwrap(), 1);
    assert_eq!(money::amount(1, q("0.4999")).unwrap(), 0);
    assert_eq!(
        money::amount(10, q("0.1")).unwrap() + money::amount(10, q("0.2")).unwrap(),
        3
    );
    assert_eq!(money::amount(1000, q("3")).unwrap(), 3000);
    assert_eq!(q("2.50").to_text(), "2.5");
    assert_eq!(q("007").to_text(), "7");
    for bad in [
        "", "-1", "1e3", "1.", ".5", "1.23456", "1,5", "abc", "99999999", "NaN",
    ] {
        assert!(money::Quantity::parse(bad).is_err(), "{bad:?}");
    }
    assert!(money::amount(money::MAX_FEN, q("2")).is_err());
    assert_eq!(money::parse_yuan("12.5").unwrap(), 1250);
    assert_eq!(money::parse_yuan("0.05").unwrap(), 5);
    assert!(money::parse_yuan("1.234").is_err());
    assert!(money::parse_yuan("-1").is_err());
    assert_eq!(money::yuan(123456), "1234.56");
    assert_eq!(money::yuan(5), "0.05");
}

// ---- the catalogue ----

#[test]
fn catalogue_validation_refuses_inconsistent_items_and_writes_nothing() {
    let f = fx();
    let before = f.count("SELECT count(*) FROM changes");
    let cases: Vec<(ItemInput, &str)> = vec![
        (
            ItemInput {
                promised_days: 3,
                ..immediate_item()
            },
            "承诺时限应为 0",
        ),
        (
            ItemInput {
                statutory_days: 2,
                ..promised_item()
            },
            "不能短于承诺时限",
        ),
        (
            ItemInput {
                joint: vec![],
                ..joint_item()
            },
            "至少要有一个配合部门",
        ),
        (
            ItemInput {
                statutory_days: 61,
                ..joint_item()
            },
            "第四十二条",
        ),
        (
            ItemInput {
                code: "bad code!".into(),
                ..promised_item()
            },
            "事项编码",
        ),
        (
            ItemInput {
                department: "不存在局".into(),
                ..promised_item()
            },
            "没有部门",
        ),
        (
            ItemInput {
                handlers: vec![HandlerSpec {
                    step: "review".into(),
                    users: vec!["handler".into()],
                }],
                ..promised_item()
            },
            "没有审核人角色",
        ),
        (
            ItemInput {
                materials: vec![MaterialSpec {
                    name: "x".into(),
                    required: true,
                    blank_hash: Some("../../etc/passwd".into()),
                    blank_name: Some("a".into()),
                    ..Default::default()
                }],
                ..promised_item()
            },
            "SHA-256",
        ),
        (
            ItemInput {
                fees: vec![FeeSpec {
                    name: "f".into(),
                    unit_price_fen: -1,
                    unit: "件".into(),
                }],
                ..promised_item()
            },
            "单价",
        ),
        (
            ItemInput {
                name: "a\u{0}b".into(),
                ..promised_item()
            },
            "控制字符",
        ),
    ];
    for (it, msg) in cases {
        let admin = f.admin.clone();
        let err =
            f.s.write_blocking(move |tx| items::save(tx, &admin, &it))
                .unwrap_err();
        assert!(err.to_string().contains(msg), "{err} lacks {msg}");
        assert_eq!(err.status(), 400);
    }
    let handler = f.handler.clone();
    let err =
        f.s.write_blocking(move |tx| items::save(tx, &handler, &promised_item()))
            .unwrap_err();
    assert_eq!(err.status(), 403);
    assert_eq!(f.count("SELECT count(*) FROM changes"), before);
}

#[test]
fn catalogue_exports_and_imports_whole_or_not_at_all() {
    let f = fx();
    let cat = f.s.read_blocking(items::export).unwrap();
    assert_eq!(cat.items.len(), 3);
    let cn = cat.items.iter().find(|i| i.code == "CN-1").unwrap();
    assert_eq!(cn.handlers.len(), 2);
    assert_eq!(cn.fees[1].unit_price_fen, 333);

    // Re-import of the export changes nothing but updates all three.
    let admin = f.admin.clone();
    let again = cat.clone();
    let sum =
        f.s.write_blocking(move |tx| items::import(tx, &admin, &again))
            .unwrap();
    assert_eq!((sum.created, sum.updated), (0, 3));
    let round = f.s.read_blocking(items::export).unwrap();
    assert_eq!(
        serde_json::to_value(&round).unwrap(),
        serde_json::to_value(&cat).unwrap()
    );

    // A new item followed by a broken one: neither is stored.
    let mut bad = cat.clone();
    bad.items.push(ItemInput {
        code: "NEW-1".into(),
        ..promised_item()
    });
    bad.items.push(ItemInput {
        code: "NEW-2".into(),
        statutory_days: 1,
        ..promised_item()
    });
    let admin = f.admin.clone();
    let err =
        f.s.write_blocking(move |tx| items::import(tx, &admin, &bad))
            .unwrap_err();
    assert!(err.to_string().contains("第 5 个事项（NEW-2）"), "{err}");
    assert!(f.s.read_blocking(|c| items::get(c, "NEW-1")).is_err());

    let dup = Catalogue {
        format: 1,
        items: vec![promised_item(), promised_item()],
    };
    let admin = f.admin.clone();
    let err =
        f.s.write_blocking(move |tx| items::import(tx, &admin, &dup))
            .unwrap_err();
    assert!(err.to_string().contains("重复"), "{err}");
}

#[test]
fn the_portal_sees_active_online_items_and_only_their_files() {
    let f = fx();
    let public = f.s.read_blocking(items::list_public).unwrap();
    assert_eq!(public.len(), 3);
    assert_eq!(
        f.s.read_blocking(|c| items::public_file(c, HASH))
            .unwrap()
            .as_deref(),
        Some("申请书.docx")
    );
    let admin = f.admin.clone();
    f.s.write_blocking(move |tx| {
        items::save(
            tx,
            &admin,
            &ItemInput {
                active: false,
                ..promised_item()
            },
        )?;
        items::save(
            tx,
            &admin,
            &ItemInput {
                online: false,
                ..joint_item()
            },
        )
    })
    .unwrap();
    let public = f.s.read_blocking(items::list_public).unwrap();
    assert_eq!(
        public.iter().map(|i| i.code.as_str()).collect::<Vec<_>>(),
        ["JB-1"]
    );
    assert_eq!(
        f.s.read_blocking(|c| items::public_file(c, HASH)).unwrap(),
        None
    );
    assert_eq!(
        f.s.read_blocking(|c| items::public_file(c, "../secret"))
            .unwrap(),
        None
    );
    let item = f.s.read_blocking(|c| items::get(c, "LB-1")).unwrap();
    assert_eq!(item.joint.len(), 2);
    assert!(!item.online);
}

// ---- acceptance and receipt numbers ----

#[test]
fn receipt_numbers_are_gap_free_per_beijing_day() {
    let f = fx();
    let a = f.accept(new_case("CN-1"), D).unwrap();
    assert_eq!(a.receipt, "20260302-t-site-000001");
    // A refused acceptance (bad ID) rolls its number back.
    let bad = NewCase {
        applicant_id_no: "110105194912310021".into(),
        ..new_case("CN-1")
    };
    assert_eq!(f.accept(bad, D).unwrap_err().status(), 400);
    let b = f.accept(new_case("CN-1"), D).unwrap();
    assert_eq!(b.receipt, "20260302-t-site-000002");
    let c = f.accept(new_case("CN-1"), date(2026, 3, 3)).unwrap();
    assert_eq!(c.receipt, "20260303-t-site-000001");
}

#[test]
fn acceptance_checks_materials_fees_role_and_applicant() {
    let f = fx();
    let missing = NewCase {
        materials: vec![MaterialIn {
            name: "营业执照复印件".into(),
            provided: true,
            ..Default::default()
        }],
        ..new_case("CN-1")
    };
    let err = f.accept(missing, D).unwrap_err();
    assert!(err.to_string().contains("食品经营许可申请书"), "{err}");
    let bad_fee = NewCase {
        fees: vec![FeeIn {
            name: "场地勘验费".into(),
            quantity: "-2".into(),
        }],
        ..new_case("CN-1")
    };
    assert_eq!(f.accept(bad_fee, D).unwrap_err().status(), 400);
    let unknown = NewCase {
        fees: vec![FeeIn {
            name: "茶水费".into(),
            quantity: "1".into(),
        }],
        ..new_case("CN-1")
    };
    assert!(f
        .accept(unknown, D)
        .unwrap_err()
        .to_string()
        .contains("茶水费"));
    let bad_phone = NewCase {
        applicant_phone: "12345".into(),
        ..new_case("CN-1")
    };
    assert!(f
        .accept(bad_phone, D)
        .unwrap_err()
        .to_string()
        .contains("手机号"));
    let org = NewCase {
        applicant_kind: "org".into(),
        applicant_id_no: ORG_ID.into(),
        fees: vec![
            FeeIn {
                name: "证照工本费".into(),
                quantity: "1".into(),
            },
            FeeIn {
                name: "场地勘验费".into(),
                quantity: "120.5".into(),
            },
        ],
        ..new_case("CN-1")
    };
    let c = f.accept(org, D).unwrap();
    assert_eq!(c.fee_total_fen, 1000 + 40127); // 333 × 120.5 = 40126.5 → 40127
    assert_eq!(c.fees[1].quantity, "120.5");
    assert_eq!(c.state, "accepted");
    assert_eq!(c.assignee.as_ref().unwrap().username, "handler");
    assert_eq!(c.due_on, "2026-03-09");
    assert_eq!(f.count("SELECT count(*) FROM approval_cases"), 1);

    let h = f.handler.clone();
    let err =
        f.s.write_blocking(move |tx| cases::accept(tx, &h, &new_case("CN-1"), D))
            .unwrap_err();
    assert_eq!(err.status(), 403);
}

#[test]
fn not_accepting_closes_the_case_with_its_reason() {
    let f = fx();
    let u = f.clerk.clone();
    let mut new = new_case("CN-1");
    let without_reason = new.clone();
    let err =
        f.s.write_blocking(move |tx| cases::refuse(tx, &u, &without_reason, D))
            .unwrap_err();
    assert_eq!(err.status(), 400);
    new.opinion = "申请事项不属于本机关职权范围".into();
    let u = f.clerk.clone();
    let c =
        f.s.write_blocking(move |tx| cases::refuse(tx, &u, &new, D))
            .unwrap();
    assert_eq!(c.state, "not_accepted");
    assert!(c.closed);
    assert!(!c.overdue);
    assert_eq!(c.steps[0].opinion, "申请事项不属于本机关职权范围");
    let err = f.act(&f.handler, c.id, "undertake", "", D).unwrap_err();
    assert!(matches!(err, ApprovalError::IllegalTransition(_)));
}

// ---- the state machine ----

#[test]
fn every_legal_and_illegal_transition_of_the_table() {
    let states = [
        "accepted",
        "undertaken",
        "reviewed",
        "approved",
        "completed",
        "not_accepted",
        "supplement",
        "denied",
        "withdrawn",
    ];
    let actions = [
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
    ];
    let legal: &[(&str, &str, &str)] = &[
        ("undertake", "accepted", "undertaken"),
        ("review", "undertaken", "reviewed"),
        ("approve", "reviewed", "approved"),
        ("complete", "approved", "completed"),
        ("deny", "reviewed", "denied"),
        ("return", "undertaken", "accepted"),
        ("return", "reviewed", "undertaken"),
        ("return", "approved", "reviewed"),
        ("supplement", "accepted", "supplement"),
        ("supplement", "undertaken", "supplement"),
        ("resume", "supplement", "undertaken"),
        ("withdraw", "accepted", "withdrawn"),
        ("withdraw", "undertaken", "withdrawn"),
        ("withdraw", "reviewed", "withdrawn"),
        ("withdraw", "approved", "withdrawn"),
        ("withdraw", "supplement", "withdrawn"),
        ("pause", "accepted", "accepted"),
        ("pause", "undertaken", "undertaken"),
        ("pause", "reviewed", "reviewed"),
        ("end_pause", "accepted", "accepted"),
        ("end_pause", "undertaken", "undertaken"),
        ("end_pause", "reviewed", "reviewed"),
    ];
    let mut n_legal = 0;
    for s in states {
        for a in actions {
            let got = workflow::target(a, s, "promised", Some("undertaken"));
            let want = legal
                .iter()
                .find(|(la, ls, _)| *la == a.code() && *ls == s)
                .map(|l| l.2);
            assert_eq!(got, want, "{} from {s}", a.code());
            n_legal += usize::from(got.is_some());
        }
    }
    assert_eq!(n_legal, legal.len());
    // 即办件 may be completed straight from acceptance; others may not.
    assert_eq!(
        workflow::target(Action::Complete, "accepted", "immediate", None),
        Some("completed")
    );
    assert_eq!(
        workflow::target(Action::Complete, "accepted", "promised", None),
        None
    );
    assert_eq!(
        workflow::target(Action::Resume, "supplement", "promised", None),
        None
    );
}

#[test]
fn a_promised_case_goes_through_five_steps_with_trace_and_saved_days() {
    let f = fx();
    let c = f.accept(new_case("CN-1"), D).unwrap();
    assert_eq!(c.version, 1);
    let c = f
        .act(&f.handler, c.id, "undertake", "材料齐全，拟同意", D)
        .unwrap();
    assert_eq!((c.state.as_str(), c.version), ("undertaken", 2));
    assert_eq!(c.assignee.as_ref().unwrap().username, "reviewer");
    let c = f
        .act(&f.reviewer, c.id, "review", "同意", date(2026, 3, 3))
        .unwrap();
    assert_eq!(c.assignee.as_ref().unwrap().username, "approver");
    let c = f
        .act(&f.approver, c.id, "approve", "批准", date(2026, 3, 3))
        .unwrap();
    assert_eq!(c.assignee.as_ref().unwrap().username, "clerk");
    let c = f
        .act(&f.clerk, c.id, "complete", "", date(2026, 3, 4))
        .unwrap();
    assert_eq!(c.state, "completed");
    assert!(c.assignee.is_none());
    assert_eq!(c.closed_on.as_deref(), Some("2026-03-04"));
    assert_eq!((c.used_days, c.saved_days), (Some(2), Some(3)));
    let trail: Vec<(&str, Option<&str>)> = c
        .steps
        .iter()
        .map(|s| (s.action.as_str(), s.actor.as_deref()))
        .collect();
    assert_eq!(
        trail,
        [
            ("accept", Some("clerk")),
            ("undertake", Some("handler")),
            ("review", Some("reviewer")),
            ("approve", Some("approver")),
            ("complete", Some("clerk")),
        ]
    );
    assert_eq!(c.steps[1].opinion, "材料齐全，拟同意");
    // The change log has one row per write; the view other parts read agrees.
    assert_eq!(
        f.count("SELECT count(*) FROM changes WHERE entity = 'approval_case'"),
        5
    );
    assert_eq!(f.count("SELECT closed FROM approval_case_facts"), 1);
    // Applicant told of completion; reviewer (has a phone) of the to-do; approver has none.
    assert_eq!(
        f.count(
            "SELECT count(*) FROM sms_outbox WHERE phone = '13900000000' AND text LIKE '%已办结%'"
        ),
        1
    );
    assert_eq!(
        f.count("SELECT count(*) FROM sms_outbox WHERE phone = '13800000002'"),
        1
    );
    assert_eq!(
        f.count("SELECT count(*) FROM sms_outbox WHERE phone = '13800000001'"),
        1
    );
}

#[test]
fn roles_and_named_persons_are_checked_and_refusals_change_nothing() {
    let f = fx();
    let c = f.accept(new_case("CN-1"), D).unwrap();
    let before = f.count("SELECT count(*) FROM changes");
    // A reviewer cannot undertake; an aux handler holds the role but not for this department
    // or item; the approver cannot review.
    for who in [&f.reviewer, &f.aux, &f.approver, &f.admin, &f.clerk] {
        let err = f.act(who, c.id, "undertake", "", D).unwrap_err();
        assert_eq!(err.status(), 403, "{}: {err}", who.username);
    }
    // handler2 is named for the step too, so may act although handler is the assignee.
    let c2 = f.act(&f.handler2, c.id, "undertake", "", D).unwrap();
    assert_eq!(c2.state, "undertaken");
    let err = f.act(&f.handler, c.id, "review", "", D).unwrap_err();
    assert_eq!(err.status(), 403);
    // Illegal in the state: approve before review.
    let err = f.act(&f.approver, c.id, "approve", "", D).unwrap_err();
    assert!(matches!(err, ApprovalError::IllegalTransition(_)), "{err}");
    assert_eq!(err.status(), 409);
    // Return and deny need a reason.
    let err = f.act(&f.reviewer, c.id, "return", "  ", D).unwrap_err();
    assert_eq!(err.status(), 400);
    assert_eq!(f.count("SELECT count(*) FROM changes"), before + 1);
    let c = f
        .act(&f.reviewer, c.id, "return", "缺少现场照片", D)
        .unwrap();
    assert_eq!(c.state, "accepted");
    // Goes back to whoever undertook it.
    assert_eq!(c.assignee.as_ref().unwrap().username, "handler2");
}

#[test]
fn two_handlers_at_once_one_wins_the_other_gets_a_conflict() {
    let f = fx();
    let c = f.accept(new_case("CN-1"), D).unwrap();
    let changes = f.count("SELECT count(*) FROM changes");
    let steps = f.count("SELECT count(*) FROM approval_steps");
    let s = std::sync::Arc::new(f);
    let mut threads = Vec::new();
    for who in [s.handler.clone(), s.handler2.clone()] {
        let s = s.clone();
        threads.push(std::thread::spawn(move || {
            s.act_v(&who, c.id, "undertake", &who.username, D, 1)
        }));
    }
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{results:?}");
    let loser = results.into_iter().find_map(Result::err).unwrap();
    assert!(
        matches!(loser, ApprovalError::Stale { seen: 1, now: 2 }),
        "{loser}"
    );
    assert_eq!(loser.status(), 409);
    assert_eq!(s.count("SELECT count(*) FROM changes"), changes + 1);
    assert_eq!(s.count("SELECT count(*) FROM approval_steps"), steps + 1);
    assert_eq!(s.case(c.id).version, 2);
}

#[test]
fn an_immediate_case_is_completed_at_the_window() {
    let f = fx();
    let c = f.accept(new_case("JB-1"), D).unwrap();
    assert_eq!(c.due_on, "2026-03-02");
    assert_eq!(c.assignee.as_ref().unwrap().username, "clerk");
    let c = f.act(&f.clerk, c.id, "complete", "当场办结", D).unwrap();
    assert_eq!((c.used_days, c.saved_days), (Some(0), Some(0)));
    assert!(!c.overdue);
}

#[test]
fn withdraw_and_deny_close_the_case() {
    let f = fx();
    let c = f.accept(new_case("CN-1"), D).unwrap();
    let err = f
        .act(&f.handler, c.id, "withdraw", "申请人撤回", D)
        .unwrap_err();
    assert_eq!(err.status(), 403);
    let c = f
        .act(&f.clerk, c.id, "withdraw", "申请人书面申请撤回", D)
        .unwrap();
    assert_eq!(c.state, "withdrawn");
    let d = f.accept(new_case("CN-1"), D).unwrap();
    f.act(&f.handler, d.id, "undertake", "", D).unwrap();
    f.act(&f.reviewer, d.id, "review", "", D).unwrap();
    let d = f
        .act(&f.approver, d.id, "deny", "不符合食品安全条件", D)
        .unwrap();
    assert_eq!(d.state, "denied");
    assert_eq!(
        f.count("SELECT count(*) FROM sms_outbox WHERE text LIKE '%不予许可%'"),
        1
    );
    for a in ["undertake", "withdraw", "complete", "resume"] {
        assert!(f.act(&f.clerk, d.id, a, "x", D).is_err());
    }
}

// ---- the clock ----

#[test]
fn calendar_edges_of_the_legal_clock() {
    let cal = Calendar::shipped();
    // Accepted the day before the 2026 Spring Festival break: the make-up Saturday counts.
    let (due, _) = workflow::due_dates(&cal, date(2026, 2, 13), 3, 20, &[]);
    assert_eq!(due.date, date(2026, 2, 25));
    assert!(!due.provisional);
    // A make-up Sunday (2026-01-04) is a working day.
    let (due, _) = workflow::due_dates(&cal, date(2025, 12, 31), 1, 1, &[]);
    assert_eq!(due.date, date(2026, 1, 4));
    // A due date reaching into 2027 (no notice shipped) is provisional.
    let (due, _) = workflow::due_dates(&cal, date(2026, 12, 28), 5, 5, &[]);
    assert!(due.provisional);
}

#[test]
fn a_supplement_pause_spanning_the_national_day_holiday() {
    let f = fx();
    let c = f.accept(new_case("CN-1"), date(2026, 9, 28)).unwrap();
    // 9-29, 9-30, 10-8, 10-9, 10-10 (make-up Saturday).
    assert_eq!(c.due_on, "2026-10-10");
    let c = f
        .act(
            &f.handler,
            c.id,
            "supplement",
            "请补交营业执照副本",
            date(2026, 9, 29),
        )
        .unwrap();
    assert_eq!(c.state, "supplement");
    assert!(c.assignee.is_none());
    assert!(c.paused.is_some());
    assert_eq!(
        f.count(
            "SELECT count(*) FROM sms_outbox WHERE phone = '13900000000' AND text LIKE '%补正%'"
        ),
        1
    );
    // While waiting for the applicant nothing but resume or withdraw is possible.
    let err = f
        .act(&f.handler, c.id, "undertake", "", date(2026, 10, 8))
        .unwrap_err();
    assert!(matches!(err, ApprovalError::IllegalTransition(_)));
    let c = f
        .act(&f.clerk, c.id, "resume", "已补交", date(2026, 10, 9))
        .unwrap();
    assert_eq!(c.state, "accepted");
    assert_eq!(c.assignee.as_ref().unwrap().username, "handler");
    assert!(c.paused.is_none());
    // Counted: 9-29, then 10-10, 10-12, 10-13, 10-14.
    assert_eq!(c.due_on, "2026-10-14");
    f.act(&f.handler, c.id, "undertake", "", date(2026, 10, 12))
        .unwrap();
    f.act(&f.reviewer, c.id, "review", "", date(2026, 10, 12))
        .unwrap();
    f.act(&f.approver, c.id, "approve", "", date(2026, 10, 13))
        .unwrap();
    let c = f
        .act(&f.clerk, c.id, "complete", "", date(2026, 10, 13))
        .unwrap();
    // 9-29, 10-10, 10-12, 10-13: the paused days are not used.
    assert_eq!((c.used_days, c.saved_days), (Some(4), Some(1)));
}

#[test]
fn art45_periods_pause_the_clock_and_block_the_case_until_they_end() {
    let f = fx();
    let c = f.accept(new_case("CN-1"), D).unwrap();
    let err = f
        .act(&f.handler, c.id, "pause:expert_review", "专家评审", D)
        .unwrap_err();
    assert!(err.to_string().contains("不需要专家评审"), "{err}");
    let err = f.act(&f.handler, c.id, "pause:party", "x", D).unwrap_err();
    assert_eq!(err.status(), 400);
    let c = f
        .act(&f.handler, c.id, "pause:inspection", "现场勘查", D)
        .unwrap();
    assert_eq!(c.paused.as_ref().unwrap().kind, "inspection");
    assert_eq!(c.state, "accepted");
    let err = f.act(&f.handler, c.id, "undertake", "", D).unwrap_err();
    assert!(err.to_string().contains("现场勘查"), "{err}");
    let err = f
        .act(&f.handler, c.id, "pause:hearing", "听证", D)
        .unwrap_err();
    assert_eq!(err.status(), 409);
    // 3-2 accepted, paused 3-3..3-9: the five days start again on 3-10.
    let c = f
        .act(&f.handler, c.id, "end_pause", "", date(2026, 3, 9))
        .unwrap();
    assert_eq!(c.due_on, "2026-03-16");
    let err = f.act(&f.handler, c.id, "end_pause", "", D).unwrap_err();
    assert_eq!(err.status(), 409);
}

#[test]
fn provisional_due_dates_firm_up_when_the_notice_is_imported() {
    let f = fx();
    let c = f.accept(new_case("CN-1"), date(2026, 12, 30)).unwrap();
    assert!(c.due_provisional);
    // Weekends only: 12-31, 1-1, 1-4, 1-5, 1-6.
    assert_eq!(c.due_on, "2027-01-06");
    let notice = parse_notice(
        r#"{"year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知",
            "version": "test", "effective": "2026-11-01",
            "days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]}"#,
    )
    .unwrap();
    let sum =
        f.s.write_blocking(move |tx| super::calendar::import_notice(tx, &notice, "admin"))
            .unwrap();
    assert_eq!(sum.recomputed, 1);
    let c = f.case(c.id);
    assert!(!c.due_provisional);
    assert_eq!(c.due_on, "2027-01-07");
}

// ---- joint approval ----

#[test]
fn joint_cases_wait_for_every_auxiliary_department() {
    let f = fx();
    let c = f.accept(new_case("LB-1"), D).unwrap();
    assert_eq!(c.subcases.len(), 2);
    let fire = c
        .subcases
        .iter()
        .find(|s| s.department_name == "县消防救援大队")
        .unwrap();
    assert_eq!(fire.due_on, "2026-03-09");
    let land = c
        .subcases
        .iter()
        .find(|s| s.department_name == "县自然资源局")
        .unwrap();
    assert_eq!(land.due_on, "2026-03-11");
    let (fire_id, land_id) = (fire.id, land.id);
    // The aux handler sees the sub-case in the to-do.
    let todo = f.list(&f.aux, Scope::Todo, Query::default());
    assert_eq!(todo.len(), 1);
    f.act(&f.handler, c.id, "undertake", "", D).unwrap();
    f.act(&f.reviewer, c.id, "review", "", D).unwrap();
    let err = f.act(&f.approver, c.id, "approve", "", D).unwrap_err();
    assert!(err.to_string().contains("县消防救援大队"), "{err}");
    let finish = |who: &User, sub: i64, version: i64| {
        let u = who.clone();
        f.s.write_blocking(move |tx| joint::finish(tx, &u, c.id, sub, version, "符合消防要求", D))
    };
    let v = f.case(c.id).version;
    assert_eq!(finish(&f.aux2, fire_id, v).unwrap_err().status(), 403);
    assert_eq!(finish(&f.aux, fire_id, v - 1).unwrap_err().status(), 409);
    finish(&f.aux, fire_id, v).unwrap();
    assert_eq!(finish(&f.aux, fire_id, v + 1).unwrap_err().status(), 409);
    let err = f.act(&f.approver, c.id, "deny", "x", D).unwrap_err();
    assert!(err.to_string().contains("县自然资源局"), "{err}");
    finish(&f.aux2, land_id, v + 1).unwrap();
    let c = f.act(&f.approver, c.id, "approve", "", D).unwrap();
    assert_eq!(c.state, "approved");
    let subs: Vec<_> = c
        .steps
        .iter()
        .filter_map(|s| s.subcase_department.clone())
        .collect();
    assert_eq!(subs.len(), 2);
    // The statutory due date stays in view.
    assert_eq!(c.statutory_days, 45);
    assert!(c.statutory_due_on > c.due_on);
}

// ---- views, urge, opinions ----

#[test]
fn work_views_todo_done_department_and_overdue() {
    let f = fx();
    let a = f.accept(new_case("CN-1"), date(2026, 1, 5)).unwrap();
    let today = super::beijing_date(&crate::clock::now_utc());
    let b = f
        .accept(
            NewCase {
                applicant_name: "李四".into(),
                ..new_case("CN-1")
            },
            today,
        )
        .unwrap();
    f.act(&f.handler, b.id, "undertake", "", today).unwrap();
    let todo = f.list(&f.handler, Scope::Todo, Query::default());
    assert_eq!(todo.iter().map(|c| c.id).collect::<Vec<_>>(), [a.id]);
    assert!(todo[0].overdue);
    let done = f.list(&f.handler, Scope::Done, Query::default());
    assert_eq!(done.iter().map(|c| c.id).collect::<Vec<_>>(), [b.id]);
    let exact = f.list(
        &f.clerk,
        Scope::Done,
        Query {
            receipt: Some(b.receipt.clone()),
            ..Default::default()
        },
    );
    assert_eq!(exact.len(), 1);
    let combined = f.list(
        &f.clerk,
        Scope::Done,
        Query {
            applicant: Some("李".into()),
            item_code: Some("CN-1".into()),
            from: Some("2026-01-06".into()),
            state: Some("undertaken".into()),
            ..Default::default()
        },
    );
    assert_eq!(combined.len(), 1);
    let overdue = f.list(
        &f.head,
        Scope::Department,
        Query {
            overdue: Some(true),
            ..Default::default()
        },
    );
    assert_eq!(overdue.iter().map(|c| c.id).collect::<Vec<_>>(), [a.id]);
    assert_eq!(
        f.list(&f.head, Scope::Department, Query::default()).len(),
        2
    );
    let handler = f.handler.clone();
    let err =
        f.s.read_blocking(move |c| cases::list(c, &handler, Scope::Department, &Query::default()))
            .unwrap_err();
    assert_eq!(err.status(), 403);
    let clerk = f.clerk.clone();
    let err =
        f.s.read_blocking(move |c| {
            cases::list(
                c,
                &clerk,
                Scope::Done,
                &Query {
                    state: Some("lost".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap_err();
    assert_eq!(err.status(), 400);
    // Visibility: a handler of an unrelated department may not open the case.
    let (outsider, ca) = (f.outsider.clone(), f.case(a.id));
    assert!(f
        .s
        .read_blocking(move |c| cases::ensure_visible(c, &outsider, &ca))
        .is_err());
}

#[test]
fn urging_reminds_the_handler_without_making_their_form_stale() {
    let f = fx();
    let c = f.accept(new_case("CN-1"), D).unwrap();
    let u = f.handler.clone();
    assert_eq!(
        f.s.write_blocking(move |tx| workflow::urge(tx, &u, c.id, ""))
            .unwrap_err()
            .status(),
        403
    );
    let u = f.head.clone();
    let after =
        f.s.write_blocking(move |tx| workflow::urge(tx, &u, c.id, "群众反映急需"))
            .unwrap();
    assert_eq!(after.version, c.version);
    assert_eq!(after.steps.last().unwrap().action, "urge");
    assert_eq!(
        f.count("SELECT count(*) FROM sms_outbox WHERE phone = '13800000001' AND text LIKE '【催办】%群众反映急需'"),
        1
    );
    f.act(&f.handler, c.id, "undertake", "", D).unwrap();
}

#[test]
fn common_opinions_are_per_user() {
    let f = fx();
    let u = f.handler.clone();
    let o =
        f.s.write_blocking(move |tx| opinions::add(tx, &u, "经现场核查，情况属实"))
            .unwrap();
    let u = f.handler.clone();
    let err =
        f.s.write_blocking(move |tx| opinions::add(tx, &u, " 经现场核查，情况属实 "))
            .unwrap_err();
    assert_eq!(err.status(), 409);
    let other = f.reviewer.clone();
    assert_eq!(
        f.s.write_blocking(move |tx| opinions::remove(tx, &other, o.id))
            .unwrap_err()
            .status(),
        404
    );
    let id = f.handler.id;
    assert_eq!(
        f.s.read_blocking(move |c| opinions::list(c, id))
            .unwrap()
            .len(),
        1
    );
    let u = f.handler.clone();
    f.s.write_blocking(move |tx| opinions::remove(tx, &u, o.id))
        .unwrap();
    assert!(f
        .s
        .read_blocking(move |c| opinions::list(c, id))
        .unwrap()
        .is_empty());
}

// ---- online intake ----

fn application() -> NewApplication {
    NewApplication {
        item_code: "CN-1".into(),
        applicant_kind: "org".into(),
        applicant_name: "某某餐饮有限公司".into(),
        applicant_id_no: ORG_ID.into(),
        applicant_phone: "13700000000".into(),
        description: "新开业餐厅".into(),
        materials: vec![
            IntakeFile {
                name: "食品经营许可申请书".into(),
                hash: HASH.into(),
                file_name: "申请书.pdf".into(),
                content_type: "application/pdf".into(),
                size: 1000,
            },
            IntakeFile {
                name: "营业执照复印件".into(),
                hash: "b".repeat(64),
                file_name: "执照.jpg".into(),
                content_type: "image/jpeg".into(),
                size: 2000,
            },
        ],
    }
}

#[test]
fn online_applications_are_pre_reviewed_into_cases_and_followed_by_code() {
    let f = fx();
    let sub =
        f.s.write_blocking(|tx| intake::submit(tx, &application()))
            .unwrap();
    assert!(
        sub.number.starts_with("WS") && sub.number.ends_with("-t-site-000001"),
        "{}",
        sub.number
    );
    assert_eq!(sub.code.len(), 8);
    assert!(sub.code.bytes().all(|b| b.is_ascii_digit()));
    // The code's hash is not in the change log.
    assert_eq!(
        f.count("SELECT count(*) FROM changes WHERE entity = 'approval_intake' AND payload LIKE '%code_hash%'"),
        0
    );
    let (n, code) = (sub.number.clone(), sub.code.clone());
    let p =
        f.s.read_blocking(move |c| intake::progress(c, &n, &code))
            .unwrap()
            .unwrap();
    assert_eq!(p.state_zh, "待预审");
    let n = sub.number.clone();
    assert!(f
        .s
        .read_blocking(move |c| intake::progress(c, &n, "00000000"))
        .unwrap()
        .is_none());
    assert!(f
        .s
        .read_blocking(|c| intake::progress(c, "WS-nope", "1"))
        .unwrap()
        .is_none());

    let queue =
        f.s.read_blocking(|c| intake::list(c, Some("pending")))
            .unwrap();
    assert_eq!(queue.len(), 1);
    let id = queue[0].id;
    let u = f.clerk.clone();
    let case =
        f.s.write_blocking(move |tx| intake::accept(tx, &u, id, &AcceptIntake::default(), D))
            .unwrap();
    assert_eq!(case.channel, "online");
    assert_eq!(case.materials[0].hash.as_deref(), Some(HASH));
    let u = f.clerk.clone();
    let err =
        f.s.write_blocking(move |tx| intake::return_to_applicant(tx, &u, id, "x"))
            .unwrap_err();
    assert_eq!(err.status(), 409);
    f.act(&f.handler, case.id, "supplement", "申请书未盖章", D)
        .unwrap();
    let (n, code) = (sub.number.clone(), sub.code.clone());
    let p =
        f.s.read_blocking(move |c| intake::progress(c, &n, &code))
            .unwrap()
            .unwrap();
    assert_eq!(p.receipt.as_deref(), Some(case.receipt.as_str()));
    assert_eq!(p.case_state_zh.as_deref(), Some("补正中"));
    let labels: Vec<&str> = p.steps.iter().map(|s| s.label_zh.as_str()).collect();
    assert!(
        labels.iter().any(|l| l.contains("申请书未盖章")),
        "{labels:?}"
    );
    // No staff names anywhere in what the applicant sees.
    let json = serde_json::to_string(&p).unwrap();
    assert!(
        !json.contains("handler") && !json.contains("clerk"),
        "{json}"
    );
}

#[test]
fn bad_online_applications_are_refused_and_returned_ones_say_why() {
    let f = fx();
    let bad: Vec<(NewApplication, &str)> = vec![
        (
            NewApplication {
                applicant_id_no: "91350100M000100Y44".into(),
                ..application()
            },
            "校验位",
        ),
        (
            NewApplication {
                applicant_phone: "110".into(),
                ..application()
            },
            "手机号",
        ),
        (
            NewApplication {
                item_code: "NOPE".into(),
                ..application()
            },
            "没有事项",
        ),
        (
            NewApplication {
                materials: vec![IntakeFile {
                    hash: "zz".into(),
                    ..application().materials[0].clone()
                }],
                ..application()
            },
            "SHA-256",
        ),
        (
            NewApplication {
                materials: vec![IntakeFile {
                    name: "别的".into(),
                    ..application().materials[0].clone()
                }],
                ..application()
            },
            "没有材料",
        ),
        (
            NewApplication {
                materials: vec![IntakeFile {
                    size: 0,
                    ..application().materials[0].clone()
                }],
                ..application()
            },
            "大小",
        ),
    ];
    for (app, msg) in bad {
        let err =
            f.s.write_blocking(move |tx| intake::submit(tx, &app))
                .unwrap_err();
        assert!(err.to_string().contains(msg), "{err} lacks {msg}");
    }
    let admin = f.admin.clone();
    f.s.write_blocking(move |tx| {
        items::save(
            tx,
            &admin,
            &ItemInput {
                online: false,
                ..promised_item()
            },
        )
    })
    .unwrap();
    let err =
        f.s.write_blocking(|tx| intake::submit(tx, &application()))
            .unwrap_err();
    assert!(err.to_string().contains("不接受网上申报"), "{err}");
    assert_eq!(f.count("SELECT count(*) FROM approval_intake"), 0);

    let sub =
        f.s.write_blocking(|tx| {
            intake::submit(
                tx,
                &NewApplication {
                    item_code: "JB-1".into(),
                    materials: vec![],
                    ..application()
                },
            )
        })
        .unwrap();
    let id = f.s.read_blocking(|c| intake::list(c, None)).unwrap()[0].id;
    // Missing required materials: accepting is refused, returning works.
    let u = f.clerk.clone();
    assert!(f
        .s
        .write_blocking(move |tx| intake::accept(tx, &u, id, &AcceptIntake::default(), D))
        .is_err());
    let u = f.clerk.clone();
    f.s.write_blocking(move |tx| intake::return_to_applicant(tx, &u, id, "未上传变更登记申请书"))
        .unwrap();
    let p =
        f.s.read_blocking(move |c| intake::progress(c, &sub.number, &sub.code))
            .unwrap()
            .unwrap();
    assert_eq!(p.reason.as_deref(), Some("未上传变更登记申请书"));
    assert_eq!(p.state_zh, "已退回");
}

#[test]
fn staff_phone_is_validated_and_optional() {
    let f = fx();
    let err =
        f.s.write_blocking(|tx| auth::set_phone(tx, "approver", "12345"))
            .unwrap_err();
    assert!(err.to_string().contains("手机号"));
    let id = f.approver.id;
    assert_eq!(
        f.s.read_blocking(move |c| auth::phone(c, id)).unwrap(),
        None
    );
    f.s.write_blocking(|tx| auth::set_phone(tx, "approver", "13600000000"))
        .unwrap();
    assert_eq!(
        f.s.read_blocking(move |c| auth::phone(c, id))
            .unwrap()
            .as_deref(),
        Some("13600000000")
    );
}
