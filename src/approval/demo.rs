//! Demo content for `govbox demo`: four items (one of each kind, one joint, one not online),
//! cases in several states (one overdue, one waiting for a supplement, one joint with an open
//! sub-case, one refused, one completed), a pending online application, and a handler of the
//! auxiliary department. Uses the demo users, whose usernames are role codes.

use jiff::civil::Date;

use super::cases::{self, FeeIn, MaterialIn, NewCase};
use super::intake::{self, NewApplication};
use super::items::{self, FeeSpec, HandlerSpec, ItemInput, JointSpec, MaterialSpec};
use super::workflow::{self, Transition};
use super::ApprovalError;
use crate::auth::{self, NewUser, Role, RoleGrant, User};
use crate::store::WriteTx;

fn who(tx: &WriteTx, username: &str) -> Result<User, ApprovalError> {
    let id = auth::user_id(tx.conn(), username)?;
    Ok(auth::user(tx.conn(), id)?)
}

fn material(name: &str, required: bool) -> MaterialSpec {
    MaterialSpec {
        name: name.into(),
        required,
        ..MaterialSpec::default()
    }
}

fn handlers() -> Vec<HandlerSpec> {
    [
        ("undertake", "handler"),
        ("review", "reviewer"),
        ("approve", "approver"),
    ]
    .iter()
    .map(|(s, u)| HandlerSpec {
        step: (*s).into(),
        users: vec![(*u).into()],
    })
    .collect()
}

fn catalogue() -> Vec<ItemInput> {
    let dept = "登记注册科".to_string();
    let base = ItemInput {
        department: dept.clone(),
        location: "县行政服务中心一楼 3 号窗口".into(),
        contact_phone: "0851-8322 1234".into(),
        online: true,
        active: true,
        handlers: handlers(),
        ..ItemInput::default()
    };
    vec![
        ItemInput {
            code: "JB-001".into(),
            name: "个体工商户变更登记".into(),
            short_name: "个体户变更登记".into(),
            kind: "immediate".into(),
            promised_days: 0,
            statutory_days: 15,
            conditions: "已依法登记的个体工商户，登记事项发生变化".into(),
            process: "窗口受理、当场审核、当场办结".into(),
            materials: vec![
                material("个体工商户变更登记申请书", true),
                material("经营者身份证", true),
            ],
            ..base.clone()
        },
        ItemInput {
            code: "CN-001".into(),
            name: "食品经营许可（新办）".into(),
            short_name: "食品经营许可".into(),
            kind: "promised".into(),
            promised_days: 10,
            statutory_days: 20,
            conditions: "有与经营的食品品种、数量相适应的经营场所和设备设施".into(),
            process: "受理、承办（含现场核查）、审核、批准、办结".into(),
            materials: vec![
                material("食品经营许可申请书", true),
                material("营业执照复印件", true),
                material("食品安全管理制度", true),
                material("授权委托书", false),
            ],
            basis: vec![items::BasisSpec {
                name: "《中华人民共和国食品安全法》".into(),
                article: "第三十五条".into(),
                ..items::BasisSpec::default()
            }],
            fees: vec![FeeSpec {
                name: "证照工本费".into(),
                unit_price_fen: 1000,
                unit: "件".into(),
            }],
            ..base.clone()
        },
        ItemInput {
            code: "CN-002".into(),
            name: "户外广告设施设置许可".into(),
            short_name: "户外广告许可".into(),
            kind: "promised".into(),
            promised_days: 5,
            statutory_days: 20,
            online: false,
            materials: vec![material("设置申请表", true), material("设计效果图", true)],
            fees: vec![FeeSpec {
                name: "占用公共空间费".into(),
                unit_price_fen: 1250,
                unit: "平方米".into(),
            }],
            ..base.clone()
        },
        ItemInput {
            code: "LB-001".into(),
            name: "餐饮企业开办联办（食品经营许可与建设用地核查）".into(),
            short_name: "餐饮开办联办".into(),
            kind: "joint".into(),
            promised_days: 10,
            statutory_days: 45,
            expert_review: true,
            materials: vec![material("联办申请表", true), material("场地使用证明", true)],
            joint: vec![JointSpec {
                department: "县自然资源局".into(),
                days: 5,
            }],
            ..base
        },
    ]
}

fn applicant(code: &str, name: &str, id_no: &str, materials: &[&str]) -> NewCase {
    NewCase {
        item_code: code.into(),
        applicant_kind: if id_no.len() == 18 && id_no.starts_with('9') {
            "org".into()
        } else {
            "person".into()
        },
        applicant_name: name.into(),
        applicant_id_no: id_no.into(),
        applicant_phone: "13912345678".into(),
        materials: materials
            .iter()
            .map(|m| MaterialIn {
                name: (*m).into(),
                provided: true,
                ..MaterialIn::default()
            })
            .collect(),
        ..NewCase::default()
    }
}

fn step(
    tx: &mut WriteTx,
    user: &User,
    id: i64,
    action: &str,
    opinion: &str,
    on: Date,
) -> Result<(), ApprovalError> {
    let version = cases::get(tx.conn(), id)?.version;
    workflow::act(
        tx,
        user,
        id,
        &Transition {
            action: action.into(),
            version,
            opinion: opinion.into(),
            ..Transition::default()
        },
        on,
    )?;
    Ok(())
}

/// Seeds the approval demo; `password_hash` is the demo staff password's, for the extra user.
pub fn seed(tx: &mut WriteTx, password_hash: &str) -> Result<(), ApprovalError> {
    let land = auth::find_department(tx.conn(), "县自然资源局")?;
    auth::create_user(
        tx,
        &NewUser {
            username: "land_handler".into(),
            display_name: "何配合".into(),
            roles: vec![RoleGrant {
                role: Role::Handler,
                department_id: land,
            }],
        },
        password_hash,
    )?;
    for (u, p) in [
        ("clerk", "13800000001"),
        ("handler", "13800000002"),
        ("reviewer", "13800000003"),
        ("approver", "13800000004"),
    ] {
        auth::set_phone(tx, u, p)?;
    }
    let admin = who(tx, "admin")?;
    for it in catalogue() {
        items::save(tx, &admin, &it)?;
    }
    let clerk = who(tx, "clerk")?;
    let handler = who(tx, "handler")?;
    let reviewer = who(tx, "reviewer")?;
    let approver = who(tx, "approver")?;
    let today = super::today(tx);
    let days_ago = |n: i64| {
        today
            .checked_sub(jiff::Span::new().days(n))
            .unwrap_or(today)
    };
    let food = ["食品经营许可申请书", "营业执照复印件", "食品安全管理制度"];

    let late = cases::accept(
        tx,
        &clerk,
        &applicant("CN-001", "示例县老街小吃店", "91350100M000100Y43", &food),
        days_ago(30),
    )?;
    step(
        tx,
        &handler,
        late.id,
        "undertake",
        "现场核查通过",
        days_ago(20),
    )?;
    let done = cases::accept(
        tx,
        &clerk,
        &applicant("CN-001", "张三", "11010519491231002X", &food),
        days_ago(6),
    )?;
    step(
        tx,
        &handler,
        done.id,
        "undertake",
        "材料齐全，现场核查符合要求",
        days_ago(5),
    )?;
    step(
        tx,
        &reviewer,
        done.id,
        "review",
        "经审查，符合条件，拟同意",
        days_ago(4),
    )?;
    step(tx, &approver, done.id, "approve", "同意", days_ago(4))?;
    step(tx, &clerk, done.id, "complete", "已发证", days_ago(3))?;
    let approved = cases::accept(
        tx,
        &clerk,
        &applicant("CN-001", "李四", "440524188001010014", &food),
        days_ago(3),
    )?;
    step(
        tx,
        &handler,
        approved.id,
        "undertake",
        "符合要求",
        days_ago(2),
    )?;
    step(tx, &reviewer, approved.id, "review", "同意", days_ago(1))?;
    step(tx, &approver, approved.id, "approve", "同意", today)?;
    let reviewing = cases::accept(
        tx,
        &clerk,
        &applicant("CN-001", "王五", "110101199003074477", &food),
        days_ago(1),
    )?;
    step(tx, &handler, reviewing.id, "undertake", "拟同意", today)?;
    cases::accept(
        tx,
        &clerk,
        &applicant("CN-001", "赵六", "11010519491231002X", &food),
        today,
    )?;
    let ad = cases::accept(
        tx,
        &clerk,
        &NewCase {
            fees: vec![FeeIn {
                name: "占用公共空间费".into(),
                quantity: "2.5".into(),
            }],
            ..applicant(
                "CN-002",
                "示例县新华书店",
                "91110000802100433B",
                &["设置申请表", "设计效果图"],
            )
        },
        days_ago(2),
    )?;
    step(
        tx,
        &handler,
        ad.id,
        "supplement",
        "设计效果图未标注尺寸，请补交标注尺寸的效果图",
        days_ago(1),
    )?;
    cases::refuse(
        tx,
        &clerk,
        &NewCase {
            opinion: "申请事项依法不需要取得行政许可".into(),
            ..applicant("JB-001", "孙七", "440524188001010014", &[])
        },
        today,
    )?;
    cases::accept(
        tx,
        &clerk,
        &applicant(
            "LB-001",
            "示例县好味道餐饮有限公司",
            "91350100M000100Y43",
            &["联办申请表", "场地使用证明"],
        ),
        today,
    )?;
    intake::submit(
        tx,
        &NewApplication {
            item_code: "JB-001".into(),
            applicant_kind: "person".into(),
            applicant_name: "周八".into(),
            applicant_id_no: "110101199003074477".into(),
            applicant_phone: "13712345678".into(),
            description: "字号变更".into(),
            materials: Vec::new(),
        },
    )?;
    // The seeded history is not news: nobody is texted about it.
    tx.local("DELETE FROM sms_outbox WHERE status = 'pending'", [])?;
    Ok(())
}
