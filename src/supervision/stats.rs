//! The six statistics reports, each by date range, department and item. Each is SQL over the
//! case-facts view (or supervision's own tables) with conditional sums, so a million cases
//! cost one scan; Rust only names the rows and adds the 合计 line.

use std::collections::BTreeMap;

use jiff::civil::Date;
use rusqlite::types::Value;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::{facts, SupervisionError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Report {
    /// 受理办理情况统计表
    Handling,
    /// 工作量统计
    Workload,
    /// 办结率统计
    Completion,
    /// 受理办理情况月份统计表
    Monthly,
    /// 投诉与评价统计
    Feedback,
    /// 人员考核评分
    Staff,
}

pub const REPORTS: [Report; 6] = [
    Report::Handling,
    Report::Workload,
    Report::Completion,
    Report::Monthly,
    Report::Feedback,
    Report::Staff,
];

impl Report {
    pub fn code(self) -> &'static str {
        match self {
            Report::Handling => "handling",
            Report::Workload => "workload",
            Report::Completion => "completion",
            Report::Monthly => "monthly",
            Report::Feedback => "feedback",
            Report::Staff => "staff",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Report::Handling => "受理办理情况统计表",
            Report::Workload => "工作量统计",
            Report::Completion => "办结率统计",
            Report::Monthly => "受理办理情况月份统计表",
            Report::Feedback => "投诉与评价统计",
            Report::Staff => "人员考核评分",
        }
    }

    pub fn parse(s: &str) -> Result<Report, SupervisionError> {
        REPORTS.into_iter().find(|r| r.code() == s).ok_or_else(|| {
            let known: Vec<&str> = REPORTS.iter().map(|r| r.code()).collect();
            SupervisionError::invalid(
                "report",
                format!(
                    "没有报表 \"{}\"，可选：{}",
                    super::short(s),
                    known.join("、")
                ),
            )
        })
    }

    pub fn headers(self) -> &'static [&'static str] {
        match self {
            Report::Handling => &[
                "部门",
                "受理数",
                "办结数",
                "当日办结",
                "按时办结",
                "提前办结",
                "超时办结",
                "在办数",
            ],
            Report::Workload => &[
                "部门",
                "受理数",
                "办结数",
                "提前办结",
                "提前办结率(%)",
                "超期件数",
                "按时办结率(%)",
                "节约工作日",
            ],
            Report::Completion => &["办件类型", "受理数", "超期未办结", "办结数", "办结率(%)"],
            Report::Monthly => &[
                "月份",
                "本月受理",
                "上月结转",
                "在办数",
                "本月办结",
                "即办件",
                "承诺件",
            ],
            Report::Feedback => &[
                "部门",
                "投诉件数",
                "投诉已办结",
                "投诉查实",
                "评价数",
                "非常满意",
                "满意",
                "基本满意",
                "不满意",
                "非常不满意",
                "满意率(%)",
                "整改中",
            ],
            Report::Staff => &[
                "人员",
                "黄牌",
                "红牌",
                "查实投诉",
                "差评",
                "非常满意评价",
                "考核得分",
            ],
        }
    }
}

/// The filters every report takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub from: Date,
    pub to: Date,
    pub department_id: Option<i64>,
    pub item_id: Option<i64>,
    /// The day "overdue" is measured against.
    pub today: Date,
}

/// The form of [`Scope`] a request carries.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
pub struct ScopeQuery {
    /// First day (YYYY-MM-DD); default the first of this month.
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD); default today.
    pub to: Option<String>,
    pub department_id: Option<i64>,
    pub item_id: Option<i64>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The longest range a report covers.
const MAX_DAYS: i32 = 3 * 366;

impl ScopeQuery {
    pub fn scope(&self, today: Date) -> Result<Scope, SupervisionError> {
        let from = match given(&self.from) {
            Some(d) => super::date("from", d)?,
            None => today.first_of_month(),
        };
        let to = match given(&self.to) {
            Some(d) => super::date("to", d)?,
            None => today,
        };
        if to < from {
            return Err(SupervisionError::invalid("to", "结束日期不能早于开始日期"));
        }
        if (to - from).get_days() > MAX_DAYS {
            return Err(SupervisionError::invalid(
                "to",
                "统计区间最长三年，请缩短日期范围",
            ));
        }
        Ok(Scope {
            from,
            to,
            department_id: self.department_id,
            item_id: self.item_id,
            today,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A percentage rounded to one decimal.
    Rate(f64),
}

impl Cell {
    fn rate(num: i64, den: i64) -> Cell {
        if den == 0 {
            Cell::Text("—".into())
        } else {
            Cell::Rate((num as f64 * 1000.0 / den as f64).round() / 10.0)
        }
    }

    /// The cell as text, exactly as the CSV carries it.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Rate(r) => format!("{r:.1}"),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Table {
    pub report: Report,
    pub title: String,
    pub subtitle: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

pub fn run(conn: &Connection, report: Report, s: &Scope) -> Result<Table, SupervisionError> {
    let rows = match report {
        Report::Handling => handling(conn, s)?,
        Report::Workload => workload(conn, s)?,
        Report::Completion => completion(conn, s)?,
        Report::Monthly => monthly(conn, s)?,
        Report::Feedback => feedback(conn, s)?,
        Report::Staff => staff(conn, s)?,
    };
    let mut subtitle = format!("统计区间：{} 至 {}", s.from, s.to);
    if let Some(d) = s.department_id {
        subtitle.push_str(&format!("；部门：{}", department_name(conn, d)));
    }
    if let Some(i) = s.item_id {
        subtitle.push_str(&format!("；事项编号 {i}"));
    }
    Ok(Table {
        report,
        title: report.title().into(),
        subtitle,
        headers: report.headers().iter().map(|h| h.to_string()).collect(),
        rows,
    })
}

fn department_name(conn: &Connection, id: i64) -> String {
    crate::auth::department(conn, id)
        .map(|d| d.name)
        .unwrap_or_else(|_| format!("部门 {id}"))
}

/// `WHERE` over the view for the scope: accepted in range, department, item. Arguments from ?1.
fn case_scope(s: &Scope) -> (String, Vec<Value>) {
    let mut sql = "accepted_on >= ?1 AND accepted_on <= ?2".to_string();
    let mut args: Vec<Value> = vec![s.from.to_string().into(), s.to.to_string().into()];
    if let Some(d) = s.department_id {
        args.push(d.into());
        sql.push_str(&format!(" AND department_id = ?{}", args.len()));
    }
    if let Some(i) = s.item_id {
        args.push(i.into());
        sql.push_str(&format!(" AND item_id = ?{}", args.len()));
    }
    (sql, args)
}

/// Runs `sql` (first column the group key, the rest integer sums) into rows of numbers.
fn grouped(
    conn: &Connection,
    sql: &str,
    args: &[Value],
) -> Result<Vec<(Value, Vec<i64>)>, SupervisionError> {
    let mut st = conn.prepare(sql)?;
    let n = st.column_count();
    let rows = st.query_map(rusqlite::params_from_iter(args.iter()), |r| {
        let key: Value = r.get(0)?;
        let mut v = Vec::with_capacity(n - 1);
        for i in 1..n {
            v.push(r.get::<_, Option<i64>>(i)?.unwrap_or(0));
        }
        Ok((key, v))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn total(rows: &[(String, Vec<i64>)]) -> Vec<i64> {
    let width = rows.first().map_or(0, |r| r.1.len());
    let mut t = vec![0; width];
    for (_, v) in rows {
        for (a, b) in t.iter_mut().zip(v) {
            *a += b;
        }
    }
    t
}

fn by_department(
    conn: &Connection,
    rows: Vec<(Value, Vec<i64>)>,
) -> Result<Vec<(String, Vec<i64>)>, SupervisionError> {
    let names: BTreeMap<i64, String> = crate::auth::list_departments(conn)?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    Ok(rows
        .into_iter()
        .map(|(k, v)| {
            let name = match k {
                Value::Integer(id) => names
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| format!("部门 {id}")),
                _ => "未关联办件".to_string(),
            };
            (name, v)
        })
        .collect())
}

fn with_total(
    rows: Vec<(String, Vec<i64>)>,
    shape: impl Fn(&[i64]) -> Vec<Cell>,
) -> Vec<Vec<Cell>> {
    let t = total(&rows);
    let mut out: Vec<Vec<Cell>> = rows
        .iter()
        .map(|(k, v)| {
            let mut row = vec![Cell::Text(k.clone())];
            row.extend(shape(v));
            row
        })
        .collect();
    if !t.is_empty() {
        let mut row = vec![Cell::Text("合计".into())];
        row.extend(shape(&t));
        out.push(row);
    }
    out
}

fn ints(v: &[i64]) -> Vec<Cell> {
    v.iter().map(|n| Cell::Int(*n)).collect()
}

/// The SQL of 受理办理情况统计表; public so the benchmark runs the same text by hand.
pub fn handling_sql(clause: &str) -> String {
    format!(
        "SELECT department_id, count(*),
                sum(state = 'completed'),
                sum(state = 'completed' AND closed_on = accepted_on),
                sum(state = 'completed' AND closed_on <= due_on),
                sum(state = 'completed' AND closed_on < due_on),
                sum(state = 'completed' AND closed_on > due_on),
                sum(closed = 0)
           FROM approval_case_facts WHERE {clause}
          GROUP BY department_id ORDER BY department_id"
    )
}

fn handling(conn: &Connection, s: &Scope) -> Result<Vec<Vec<Cell>>, SupervisionError> {
    let (clause, args) = case_scope(s);
    let rows = grouped(conn, &handling_sql(&clause), &args)?;
    Ok(with_total(by_department(conn, rows)?, ints))
}

fn workload(conn: &Connection, s: &Scope) -> Result<Vec<Vec<Cell>>, SupervisionError> {
    let (clause, mut args) = case_scope(s);
    args.push(s.today.to_string().into());
    let today = args.len();
    let sql = format!(
        "SELECT department_id, count(*),
                sum(state = 'completed'),
                sum(state = 'completed' AND closed_on < due_on),
                sum(state = 'completed' AND closed_on > due_on) + sum(closed = 0 AND due_on < ?{today}),
                sum(state = 'completed' AND closed_on <= due_on),
                sum(CASE WHEN state = 'completed' AND saved_days > 0 THEN saved_days ELSE 0 END)
           FROM approval_case_facts WHERE {clause}
          GROUP BY department_id ORDER BY department_id"
    );
    let rows = grouped(conn, &sql, &args)?;
    Ok(with_total(by_department(conn, rows)?, |v| {
        let (accepted, completed, early, overdue, within, saved) =
            (v[0], v[1], v[2], v[3], v[4], v[5]);
        vec![
            Cell::Int(accepted),
            Cell::Int(completed),
            Cell::Int(early),
            Cell::rate(early, completed),
            Cell::Int(overdue),
            Cell::rate(within, completed),
            Cell::Int(saved),
        ]
    }))
}

fn completion(conn: &Connection, s: &Scope) -> Result<Vec<Vec<Cell>>, SupervisionError> {
    let (clause, mut args) = case_scope(s);
    args.push(s.today.to_string().into());
    let today = args.len();
    let sql = format!(
        "SELECT kind, count(*), sum(closed = 0 AND due_on < ?{today}), sum(state = 'completed')
           FROM approval_case_facts WHERE {clause}
          GROUP BY kind"
    );
    let found = grouped(conn, &sql, &args)?;
    let rows: Vec<(String, Vec<i64>)> = ["immediate", "promised", "joint"]
        .iter()
        .filter_map(|k| {
            found
                .iter()
                .find(|(key, _)| matches!(key, Value::Text(t) if t == k))
                .map(|(_, v)| (facts::kind_zh(k).to_string(), v.clone()))
        })
        .collect();
    Ok(with_total(rows, |v| {
        vec![
            Cell::Int(v[0]),
            Cell::Int(v[1]),
            Cell::Int(v[2]),
            Cell::rate(v[2], v[0]),
        ]
    }))
}

/// The months the range touches, each as (label, first day, last day) clipped to the range.
fn months(s: &Scope) -> Vec<(String, Date, Date)> {
    let mut out = Vec::new();
    let mut m = s.from.first_of_month();
    while m <= s.to {
        let last = m.last_of_month();
        out.push((
            format!("{}-{:02}", m.year(), m.month()),
            m.max(s.from),
            last.min(s.to),
        ));
        match last.tomorrow() {
            Ok(n) => m = n,
            Err(_) => break,
        }
    }
    out
}

/// Flows per month from two grouped scans (acceptances, closures), stocks from them: a case
/// is carried into a month when accepted before it and not closed before it, in progress at
/// its end when accepted and not closed by then (a case never closes before it is accepted).
fn monthly(conn: &Connection, s: &Scope) -> Result<Vec<Vec<Cell>>, SupervisionError> {
    let mut extra = String::new();
    let mut args: Vec<Value> = vec![s.from.to_string().into(), s.to.to_string().into()];
    if let Some(d) = s.department_id {
        args.push(d.into());
        extra.push_str(&format!(" AND department_id = ?{}", args.len()));
    }
    if let Some(i) = s.item_id {
        args.push(i.into());
        extra.push_str(&format!(" AND item_id = ?{}", args.len()));
    }
    let accepted = grouped(
        conn,
        &format!(
            "SELECT substr(accepted_on, 1, 7), count(*), sum(kind = 'immediate'), sum(kind <> 'immediate')
               FROM approval_case_facts WHERE accepted_on >= ?1 AND accepted_on <= ?2{extra} GROUP BY 1"
        ),
        &args,
    )?;
    let closed = grouped(
        conn,
        &format!(
            "SELECT substr(closed_on, 1, 7), count(*), sum(state = 'completed')
               FROM approval_case_facts WHERE closed_on >= ?1 AND closed_on <= ?2{extra} GROUP BY 1"
        ),
        &args,
    )?;
    let before: (i64, i64) = conn.query_row(
        &format!(
            "SELECT (SELECT count(*) FROM approval_case_facts WHERE accepted_on < ?1 AND ?2 = ?2{extra}),
                    (SELECT count(*) FROM approval_case_facts WHERE closed_on < ?1 AND ?2 = ?2{extra})"
        ),
        rusqlite::params_from_iter(args.iter()),
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let month_of = |rows: &[(Value, Vec<i64>)], label: &str| -> Vec<i64> {
        rows.iter()
            .find(|(k, _)| matches!(k, Value::Text(t) if t == label))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| vec![0; 3])
    };
    let (mut accepted_so_far, mut closed_so_far) = before;
    let mut out = Vec::new();
    let mut sums = [0i64; 4];
    let mut first_carried = None;
    let mut last_open = 0;
    for (label, _, _) in months(s) {
        let a = month_of(&accepted, &label);
        let c = month_of(&closed, &label);
        let carried = accepted_so_far - closed_so_far;
        accepted_so_far += a[0];
        closed_so_far += c[0];
        let open = accepted_so_far - closed_so_far;
        first_carried.get_or_insert(carried);
        last_open = open;
        let row = [a[0], carried, open, c[1], a[1], a[2]];
        for (sum, v) in sums.iter_mut().zip([row[0], row[3], row[4], row[5]]) {
            *sum += v;
        }
        let mut cells = vec![Cell::Text(label)];
        cells.extend(ints(&row));
        out.push(cells);
    }
    // Carried and in progress are stocks, not flows: the total takes the first month's
    // carried and the last month's in progress.
    if let Some(carried) = first_carried {
        out.push(vec![
            Cell::Text("合计".into()),
            Cell::Int(sums[0]),
            Cell::Int(carried),
            Cell::Int(last_open),
            Cell::Int(sums[1]),
            Cell::Int(sums[2]),
            Cell::Int(sums[3]),
        ]);
    }
    Ok(out)
}

fn feedback(conn: &Connection, s: &Scope) -> Result<Vec<Vec<Cell>>, SupervisionError> {
    let mut args: Vec<Value> = vec![s.from.to_string().into(), s.to.to_string().into()];
    let mut c_extra = String::new();
    let mut e_extra = String::new();
    if let Some(d) = s.department_id {
        args.push(d.into());
        c_extra.push_str(&format!(" AND department_id = ?{}", args.len()));
        e_extra.push_str(&format!(" AND department_id = ?{}", args.len()));
    }
    if let Some(i) = s.item_id {
        args.push(i.into());
        c_extra.push_str(&format!(
            " AND receipt IN (SELECT receipt FROM approval_case_facts WHERE item_id = ?{})",
            args.len()
        ));
        e_extra.push_str(&format!(" AND item_id = ?{}", args.len()));
    }
    let sql = format!(
        "SELECT department_id, sum(c), sum(cc), sum(cs), sum(e), sum(l1), sum(l2), sum(l3), sum(l4),
                sum(l5), sum(lp)
           FROM (SELECT department_id, 1 AS c, state = 'closed' AS cc, coalesce(substantiated, 0) AS cs,
                        0 AS e, 0 AS l1, 0 AS l2, 0 AS l3, 0 AS l4, 0 AS l5, 0 AS lp
                   FROM supervision_complaints
                  WHERE submitted_on >= ?1 AND submitted_on <= ?2{c_extra}
                 UNION ALL
                 SELECT department_id, 0, 0, 0, 1, level = 1, level = 2, level = 3, level = 4,
                        level = 5, loop_state NOT IN ('none', 'closed')
                   FROM supervision_evaluations
                  WHERE on_day >= ?1 AND on_day <= ?2{e_extra})
          GROUP BY department_id ORDER BY department_id IS NULL, department_id"
    );
    let rows = grouped(conn, &sql, &args)?;
    Ok(with_total(by_department(conn, rows)?, |v| {
        let mut cells = ints(&v[..9]);
        cells.push(Cell::rate(v[4] + v[5] + v[6], v[3]));
        cells.push(Cell::Int(v[9]));
        cells
    }))
}

/// Points off 100 per yellow card, red card, substantiated complaint and bad evaluation.
pub const PENALTY: [i64; 4] = [2, 5, 5, 3];

fn staff(conn: &Connection, s: &Scope) -> Result<Vec<Vec<Cell>>, SupervisionError> {
    let mut args: Vec<Value> = vec![s.from.to_string().into(), s.to.to_string().into()];
    let mut dept = String::new();
    if let Some(d) = s.department_id {
        args.push(d.into());
        dept = format!(" AND department_id = ?{}", args.len());
    }
    let item = match s.item_id {
        Some(i) => {
            args.push(i.into());
            let n = args.len();
            (
                format!(" AND receipt IN (SELECT receipt FROM approval_case_facts WHERE item_id = ?{n})"),
                format!(" AND item_id = ?{n}"),
            )
        }
        None => (String::new(), String::new()),
    };
    let sql = format!(
        "SELECT who, sum(y), sum(r), sum(c), sum(b), sum(g)
           FROM (SELECT handler_id AS who, colour = 'yellow' AS y, colour = 'red' AS r, 0 AS c,
                        0 AS b, 0 AS g
                   FROM supervision_cards
                  WHERE handler_id IS NOT NULL AND due_on >= ?1 AND due_on <= ?2{dept}{ci}
                 UNION ALL
                 SELECT subject_id, 0, 0, 1, 0, 0 FROM supervision_complaints
                  WHERE subject_id IS NOT NULL AND substantiated = 1
                    AND submitted_on >= ?1 AND submitted_on <= ?2{dept}{ci}
                 UNION ALL
                 SELECT clerk_id, 0, 0, 0, level >= 4, level = 1 FROM supervision_evaluations
                  WHERE on_day >= ?1 AND on_day <= ?2{dept}{ei})
          GROUP BY who ORDER BY who",
        ci = item.0,
        ei = item.1
    );
    let rows = grouped(conn, &sql, &args)?;
    let mut out = Vec::new();
    for (who, v) in rows {
        let Value::Integer(id) = who else { continue };
        let penalty: i64 = v.iter().zip(PENALTY).map(|(n, p)| n * p).sum();
        let mut row = vec![Cell::Text(super::user_name(conn, Some(id)))];
        row.extend(ints(&v));
        row.push(Cell::Int((100 - penalty).max(0)));
        out.push(row);
    }
    Ok(out)
}
