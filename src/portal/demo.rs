//! Demo content for `govbox demo`: the usual disclosure columns, articles published through
//! the whole review chain (a sensitive one through 办公室初审 too), a draft waiting for the
//! chief editor, banned words, and an answered consultation shown as FAQ.

use super::{articles, banned, columns, consult, PortalError};
use crate::auth::{self, User};
use crate::store::WriteTx;

fn who(tx: &WriteTx, username: &str) -> Result<User, PortalError> {
    let id = auth::user_id(tx.conn(), username)?;
    Ok(auth::user(tx.conn(), id)?)
}

fn dept(tx: &WriteTx, name: &str) -> Result<i64, PortalError> {
    Ok(auth::find_department(tx.conn(), name)?)
}

const COLUMNS: &[(&str, &str, &str, bool)] = &[
    ("tzgg", "通知公告", "notice", false),
    ("zcfg", "政策法规", "policy", false),
    ("zfwj", "政府文件", "policy", false),
    ("rsrm", "人事任免", "other", true),
    ("gzdt", "工作动态", "news", false),
    ("ldjh", "领导讲话", "news", true),
];

const ARTICLES: &[(&str, &str, &str)] = &[
    ("tzgg", "关于2026年元旦放假安排的通知",
     "根据国务院办公厅通知精神，现将2026年元旦放假安排通知如下：\n\n1. 1月1日放假，共1天。\n2. 节假日期间，各单位要妥善安排好值班和安全、保卫等工作。\n\n详见[县政府办公室](/columns/tzgg)。"),
    ("tzgg", "县行政服务中心窗口调整公告",
     "为方便群众办事，县行政服务中心自12月起增设**企业开办**综合窗口，营业执照、公章刻制、税务登记一窗办理。"),
    ("zcfg", "示例县优化营商环境若干措施",
     "## 总体要求\n\n坚持以企业和群众需求为导向，持续深化“放管服”改革。\n\n## 主要措施\n\n- 企业开办时间压缩至1个工作日内；\n- 工程建设项目审批时间压缩至60个工作日内；\n- 推行5G+政务服务。"),
    ("gzdt", "县政府召开冬季安全生产工作会议",
     "12月1日，县政府召开冬季安全生产工作会议，部署全县安全生产和森林防火工作。会议要求各乡镇、各部门压实责任，确保人民群众生命财产安全。"),
    ("ldjh", "在全县经济工作会议上的讲话",
     "同志们：\n\n今年以来，全县上下坚持稳中求进工作总基调，经济运行总体平稳、稳中有进。"),
];

pub fn seed(tx: &mut WriteTx) -> Result<(), PortalError> {
    let general = who(tx, "general_editor")?;
    let chief = who(tx, "chief_editor")?;
    let editor = who(tx, "editor")?;
    let leader = who(tx, "leader")?;
    let info = dept(tx, "信息公开科")?;
    let mut ids = Vec::new();
    for (code, name, kind, sensitive) in COLUMNS {
        let c = columns::create(
            tx,
            &general,
            &columns::NewColumn {
                code,
                name,
                department_id: info,
                kind,
                sensitive: *sensitive,
            },
        )?;
        ids.push((*code, c.id, *sensitive));
    }
    let land = dept(tx, "县自然资源局")?;
    columns::create(
        tx,
        &general,
        &columns::NewColumn {
            code: "zrzy",
            name: "自然资源",
            department_id: land,
            kind: "other",
            sensitive: false,
        },
    )?;
    banned::add(tx, &chief, "法轮功\n赌博网站\n代开发票")?;
    let today = crate::clock::show(tx.now())
        .chars()
        .take(10)
        .collect::<String>();
    for (code, title, body) in ARTICLES {
        let (_, column_id, sensitive) = ids
            .iter()
            .find(|(c, _, _)| c == code)
            .copied()
            .unwrap_or(("", 0, false));
        let id = articles::create(
            tx,
            &editor,
            column_id,
            &articles::Draft {
                title: (*title).into(),
                body: (*body).into(),
                source: "县政府办公室".into(),
                author: "信息公开科".into(),
                collected_on: today.clone(),
                collector: editor.display_name.clone(),
                publish_at: String::new(),
            },
        )?;
        articles::submit(tx, &editor, id)?;
        if sensitive {
            articles::approve(tx, &leader, id)?;
        }
        articles::approve(tx, &chief, id)?;
        articles::approve(tx, &general, id)?;
    }
    let waiting = articles::create(
        tx,
        &editor,
        ids[4].1,
        &articles::Draft {
            title: "县融媒体中心开展政务公开培训".into(),
            body: "11月28日，县融媒体中心组织各部门信息员开展政务公开业务培训。".into(),
            source: "县融媒体中心".into(),
            author: "信息公开科".into(),
            collected_on: today,
            collector: editor.display_name.clone(),
            publish_at: String::new(),
        },
    )?;
    articles::submit(tx, &editor, waiting)?;
    let service = dept(tx, "县行政服务中心")?;
    let asked = consult::ask(
        tx,
        &consult::Question {
            department_id: service,
            name: "张三".into(),
            phone: "13800000000".into(),
            subject: "营业执照办理需要哪些材料？".into(),
            question: "想开一家小超市，办营业执照需要带什么材料，多久能办好？".into(),
            consent: true,
        },
    )?;
    let c: i64 = tx.conn().query_row(
        "SELECT id FROM portal_consultations WHERE number = ?1",
        [&asked.number],
        |r| r.get(0),
    )?;
    consult::answer(
        tx,
        &general,
        c,
        "个体工商户登记需身份证、经营场所证明。材料齐全的，当场办结。",
        true,
    )?;
    Ok(())
}
