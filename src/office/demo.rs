//! Demo content for `govbox demo`: document types with their routes, documents at several
//! stages (one archived), a notice, a room with today's meeting, mail, contacts, a duty shift
//! and a supervised task. Uses the demo users, whose usernames are role codes.

use super::routes::StepSpec;
use super::{
    archive, documents, duty, groups, mail, meetings, notices, routes, tasks, OfficeError,
};
use crate::auth::{self, User};
use crate::store::WriteTx;

fn who(tx: &WriteTx, username: &str) -> Result<User, OfficeError> {
    let id = auth::user_id(tx.conn(), username)?;
    Ok(auth::user(tx.conn(), id)?)
}

fn step(kind: &str, user: Option<&str>, group: Option<&str>, mode: &str) -> StepSpec {
    StepSpec {
        kind: kind.into(),
        user: user.map(Into::into),
        group: group.map(Into::into),
        mode: mode.into(),
    }
}

pub fn seed(tx: &mut WriteTx) -> Result<(), OfficeError> {
    groups::save(tx, "县政府领导", &["leader".into(), "dept_head".into()])?;
    groups::save(tx, "承办科室", &["handler".into(), "reviewer".into()])?;
    routes::define_type(
        tx,
        "fw",
        "县政府发文",
        "示政发",
        &[
            step("拟办", Some("dept_head"), None, "any"),
            step("批办", Some("leader"), None, "any"),
            step("承办", None, Some("承办科室"), "any"),
            step("传阅", None, Some("县政府领导"), "all"),
            step("办结", Some("clerk"), None, "any"),
        ],
    )?;
    routes::define_type(
        tx,
        "sw",
        "收文",
        "示收",
        &[
            step("拟办", Some("clerk"), None, "any"),
            step("批办", Some("leader"), None, "any"),
            step("承办", Some("handler"), None, "any"),
            step("办结", Some("clerk"), None, "any"),
        ],
    )?;
    let clerk = who(tx, "clerk")?;
    let leader = who(tx, "leader")?;
    let handler = who(tx, "handler")?;
    documents::create(
        tx,
        &clerk,
        &documents::NewDocument {
            direction: "outgoing".into(),
            doc_type: "fw".into(),
            title: "关于做好今冬明春森林防火工作的通知".into(),
            body: "各乡镇人民政府、县直各单位：\n为切实做好今冬明春森林防火工作，现就有关事项通知如下……".into(),
            urgency: Some("加急".into()),
            ..Default::default()
        },
    )?;
    let incoming = documents::create(
        tx,
        &clerk,
        &documents::NewDocument {
            direction: "incoming".into(),
            doc_type: "sw".into(),
            title: "市政府办公室关于开展安全生产大检查的通知".into(),
            body: "请各县（区）于月底前完成自查并报送检查情况。".into(),
            source_unit: Some("示例市人民政府办公室".into()),
            original_number: Some("示市政办发〔2026〕18号".into()),
            ..Default::default()
        },
    )?;
    routes::sign(tx, incoming.id, &clerk, "拟请分管领导阅批。")?;
    let done = documents::create(
        tx,
        &clerk,
        &documents::NewDocument {
            direction: "incoming".into(),
            doc_type: "sw".into(),
            title: "关于秋粮收购工作的通知".into(),
            body: "做好秋粮收购，确保农民售粮顺畅。".into(),
            source_unit: Some("示例市粮食和物资储备局".into()),
            ..Default::default()
        },
    )?;
    routes::sign(tx, done.id, &clerk, "拟请阅办。")?;
    routes::sign(tx, done.id, &leader, "同意，请承办。")?;
    routes::sign(tx, done.id, &handler, "已落实。")?;
    routes::sign(tx, done.id, &clerk, "办结。")?;
    archive::archive(
        tx,
        done.id,
        &clerk,
        i64::from(super::today().year()),
        "10年",
    )?;

    let cat = notices::add_category(tx, &leader, "通知公告")?;
    notices::publish(
        tx,
        &leader,
        cat.id,
        "关于元旦放假安排的通知",
        "元旦放假一天，请各科室安排好值班。",
    )?;
    let room = meetings::add_room(tx, "第一会议室", "办公楼三楼", 30)?;
    let today = super::today();
    meetings::book(
        tx,
        &leader,
        &meetings::NewMeeting {
            room_id: room.id,
            title: "森林防火工作调度会".into(),
            starts: format!("{today} 15:00"),
            ends: format!("{today} 16:00"),
            participants: vec!["dept_head".into(), "handler".into(), "clerk".into()],
        },
    )?;
    mail::compose(
        tx,
        &leader,
        &mail::MailInput {
            to_users: vec!["handler".into()],
            to_groups: vec!["县政府领导".into()],
            subject: "请准备调度会材料".into(),
            body_html: "<p>请于下午会前准备<b>森林防火</b>工作汇报材料。</p>".into(),
            ..Default::default()
        },
        true,
    )?;
    let admin = who(tx, "admin")?;
    for (name, title, phone) in [
        ("周副县长", "副县长", "0000-1234501"),
        ("孙科长", "科长", "0000-1234502"),
        ("王窗口", "窗口人员", "0000-1234503"),
    ] {
        super::contacts::add(
            tx,
            &admin,
            &super::contacts::NewContact {
                department: "县政府办公室".into(),
                name: name.into(),
                title: title.into(),
                office_phone: phone.into(),
                ..Default::default()
            },
        )?;
    }
    duty::assign(
        tx,
        &admin,
        &duty::NewDuty {
            day: today.to_string(),
            shift: "夜班".into(),
            username: "dept_head".into(),
            phone: "0000-1234502".into(),
        },
    )?;
    tasks::create(
        tx,
        &leader,
        &tasks::NewTask {
            title: "报送森林防火隐患排查台账".into(),
            detail: "各承办科室汇总本辖区排查情况。".into(),
            assignee: "handler".into(),
            due_on: today.to_string(),
        },
    )?;
    Ok(())
}
