//! The working-day calendar: weekends, the official holidays and make-up working days (调休)
//! of each year's 国务院办公厅 notice, and the working-day arithmetic of the legal clock
//! (行政许可法 Art. 82: limits count working days only).
//!
//! The 2025 and 2026 schedules ship in the binary. A site imports later notices (or corrected
//! ones) into its database; a year's current notice in the database replaces the shipped one.
//! A due date that reaches into a year without any notice is only provisional: weekends are
//! known, holidays are not.

pub mod cli;
pub mod web;

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use jiff::civil::{Date, Weekday};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::store::{Op, StoreError, WriteTx};

/// A notice file larger than this is refused unread: a whole year is a few kilobytes.
pub const MAX_NOTICE_BYTES: usize = 64 << 10;
/// More special days than a year has days is not a notice.
const MAX_DAYS: usize = 366;
const MAX_TEXT: usize = 200;
const MAX_NAME: usize = 50;

const SHIPPED: &[&str] = &[
    include_str!("data/2025.json"),
    include_str!("data/2026.json"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayKind {
    /// An official day off that falls on a weekday.
    Holiday,
    /// A make-up working day (调休上班) that falls on a weekend.
    Workday,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            DayKind::Holiday => "放假",
            DayKind::Workday => "调休上班",
        }
    }

    pub fn parse(s: &str) -> Result<DayKind, CalendarError> {
        match s {
            "holiday" => Ok(DayKind::Holiday),
            "workday" => Ok(DayKind::Workday),
            other => Err(CalendarError::Invalid(format!(
                "类型 \"{}\" 无效：只能是 holiday（工作日放假）或 workday（周末调休上班）",
                clip(other)
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialDay {
    pub date: Date,
    pub kind: DayKind,
    pub name: String,
}

/// One year's official schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub year: i16,
    /// e.g. 国务院办公厅关于2026年部分节假日安排的通知
    pub source: String,
    /// Tells versions of one year apart (a document number, or a date).
    pub version: String,
    pub effective: Date,
    /// Sorted by date.
    pub days: Vec<SpecialDay>,
}

/// A closed range of dates whose working days are not counted (补正, or a period Art. 45
/// excludes: hearing, testing, inspection, expert review).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    pub from: Date,
    pub to: Date,
}

impl Pause {
    fn contains(&self, d: Date) -> bool {
        self.from <= d && d <= self.to
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub date: Date,
    /// A day on the way lies in a year whose notice is not loaded: recompute after importing it.
    pub provisional: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("{0}")]
    Invalid(String),
    #[error("通知文件太大（{0} 字节），上限 {MAX_NOTICE_BYTES} 字节")]
    TooLarge(usize),
    #[error("{0}")]
    Conflict(String),
    #[error("找不到{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for CalendarError {
    fn from(e: rusqlite::Error) -> Self {
        CalendarError::Store(e.into())
    }
}

impl CalendarError {
    /// Bad input is the operator's to fix (2); a database failure is ours (1).
    pub fn exit_code(&self) -> u8 {
        match self {
            CalendarError::Store(_) => 1,
            _ => 2,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Calendar {
    notices: BTreeMap<i16, Notice>,
    special: HashMap<Date, DayKind>,
}

impl Calendar {
    /// The official 2025 and 2026 schedules embedded in the binary.
    pub fn shipped() -> Calendar {
        static SHIPPED_CAL: OnceLock<Calendar> = OnceLock::new();
        SHIPPED_CAL
            .get_or_init(|| {
                let notices = SHIPPED
                    .iter()
                    .map(|text| parse_notice(text).expect("the shipped holiday notices are valid"));
                Calendar::from_notices(notices)
            })
            .clone()
    }

    /// The site's calendar: the shipped schedules, each year replaced by the site's current
    /// notice for it when there is one.
    pub fn load(conn: &Connection) -> Result<Calendar, CalendarError> {
        let shipped = Calendar::shipped();
        let mut notices = shipped.notices;
        for n in current_notices(conn)? {
            notices.insert(n.year, n);
        }
        Ok(Calendar::from_notices(notices.into_values()))
    }

    fn from_notices(notices: impl IntoIterator<Item = Notice>) -> Calendar {
        let notices: BTreeMap<i16, Notice> = notices.into_iter().map(|n| (n.year, n)).collect();
        let special = notices
            .values()
            .flat_map(|n| n.days.iter().map(|d| (d.date, d.kind)))
            .collect();
        Calendar { notices, special }
    }

    pub fn is_working_day(&self, d: Date) -> bool {
        match self.special.get(&d) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !is_weekend(d),
        }
    }

    pub fn has_notice(&self, year: i16) -> bool {
        self.notices.contains_key(&year)
    }

    /// The notice in force for `year`, shipped or imported.
    pub fn notice(&self, year: i16) -> Option<&Notice> {
        self.notices.get(&year)
    }

    /// The day on which `days` working days after `start` have elapsed; counting starts the day
    /// after `start` (the acceptance day itself is not counted); 0 days → `start`. Working days
    /// inside any pause are skipped.
    pub fn add_working_days(&self, start: Date, days: u32, pauses: &[Pause]) -> Due {
        let mut d = start;
        let mut left = days;
        let mut provisional = false;
        while left > 0 {
            let Ok(next) = d.tomorrow() else {
                // The end of representable time: nothing sensible lies beyond, say so.
                return Due {
                    date: d,
                    provisional: true,
                };
            };
            d = next;
            provisional |= !self.has_notice(d.year());
            if self.counts(d, pauses) {
                left -= 1;
            }
        }
        Due {
            date: d,
            provisional,
        }
    }

    /// Working days in (from, to], minus those inside pauses; negative when to < from.
    pub fn working_days_between(&self, from: Date, to: Date, pauses: &[Pause]) -> i64 {
        let (lo, hi, sign) = if to >= from {
            (from, to, 1)
        } else {
            (to, from, -1)
        };
        let count = lo
            .series(jiff::Span::new().days(1))
            .skip(1)
            .take_while(|d| *d <= hi)
            .filter(|d| self.counts(*d, pauses))
            .count();
        sign * count as i64
    }

    fn counts(&self, d: Date, pauses: &[Pause]) -> bool {
        self.is_working_day(d) && !pauses.iter().any(|p| p.contains(d))
    }
}

pub fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

pub fn weekday_zh(d: Date) -> &'static str {
    match d.weekday() {
        Weekday::Monday => "星期一",
        Weekday::Tuesday => "星期二",
        Weekday::Wednesday => "星期三",
        Weekday::Thursday => "星期四",
        Weekday::Friday => "星期五",
        Weekday::Saturday => "星期六",
        Weekday::Sunday => "星期日",
    }
}

/// The import file, JSON: `{"year", "source", "version", "effective": "YYYY-MM-DD", "days":
/// [{"date": "YYYY-MM-DD", "kind": "holiday"|"workday", "name"}]}`. Only weekdays off and
/// weekends worked are listed: weekends off and weekdays worked are the default.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeFile {
    year: i64,
    source: String,
    version: String,
    effective: String,
    days: Vec<DayFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DayFile {
    date: String,
    kind: String,
    name: String,
}

/// Parses and checks a notice file (format above); every error names the offending value.
pub fn parse_notice(text: &str) -> Result<Notice, CalendarError> {
    if text.len() > MAX_NOTICE_BYTES {
        return Err(CalendarError::TooLarge(text.len()));
    }
    let file: NoticeFile = serde_json::from_str(text).map_err(|e| {
        CalendarError::Invalid(format!(
            "通知文件不是有效的 JSON（第 {} 行第 {} 列）: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let year = i16::try_from(file.year)
        .ok()
        .filter(|y| (1900..=9999).contains(y))
        .ok_or_else(|| CalendarError::Invalid(format!("年份 {} 无效", file.year)))?;
    let source = text_field("source（通知名称）", &file.source, MAX_TEXT)?;
    let version = text_field("version（版本）", &file.version, MAX_TEXT)?;
    let effective = parse_date(&file.effective)?;
    if file.days.len() > MAX_DAYS {
        return Err(CalendarError::Invalid(format!(
            "通知列出了 {} 天，超过一年的天数",
            file.days.len()
        )));
    }
    let mut days = Vec::with_capacity(file.days.len());
    for d in &file.days {
        let date = parse_date(&d.date)?;
        let kind = DayKind::parse(&d.kind)?;
        days.push(check_day(year, date, kind, &d.name)?);
    }
    days.sort_by_key(|d| d.date);
    if let Some(w) = days.windows(2).find(|w| w[0].date == w[1].date) {
        return Err(CalendarError::Invalid(format!(
            "日期 {} 重复出现",
            w[0].date
        )));
    }
    Ok(Notice {
        year,
        source,
        version,
        effective,
        days,
    })
}

/// Checks one special day against the notice's year and the day of the week.
pub fn check_day(
    year: i16,
    date: Date,
    kind: DayKind,
    name: &str,
) -> Result<SpecialDay, CalendarError> {
    if date.year() != year {
        return Err(CalendarError::Invalid(format!(
            "日期 {date} 不在通知的年份 {year} 年内"
        )));
    }
    match (kind, is_weekend(date)) {
        (DayKind::Holiday, true) => Err(CalendarError::Invalid(format!(
            "{date} 是{}，本来就休息，不能列为放假日（只列出落在工作日的放假日）",
            weekday_zh(date)
        ))),
        (DayKind::Workday, false) => Err(CalendarError::Invalid(format!(
            "{date} 是{}，本来就上班，不能列为调休上班日（只列出落在周末的上班日）",
            weekday_zh(date)
        ))),
        _ => Ok(SpecialDay {
            date,
            kind,
            name: text_field(&format!("{date} 的名称"), name, MAX_NAME)?,
        }),
    }
}

/// A strict `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, CalendarError> {
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let bad = || CalendarError::Invalid(format!("日期 \"{}\" 无效，应写成 YYYY-MM-DD", clip(s)));
    if !shaped {
        return Err(bad());
    }
    s.parse::<Date>().map_err(|_| bad())
}

fn text_field(what: &str, s: &str, max: usize) -> Result<String, CalendarError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(CalendarError::Invalid(format!("{what}不能为空")));
    }
    if t.chars().count() > max {
        return Err(CalendarError::Invalid(format!(
            "{what}太长（最多 {max} 个字）"
        )));
    }
    if t.chars().any(char::is_control) {
        return Err(CalendarError::Invalid(format!("{what}含有控制字符")));
    }
    Ok(t.to_string())
}

/// Enough of a hostile value to recognise it in an error message.
fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    pub notice_id: i64,
    pub year: i16,
    pub version: String,
    pub days: usize,
    /// The version it replaced as the year's current one, if the site had one.
    pub replaced: Option<String>,
    /// Open approval cases whose due dates moved with the new calendar.
    pub recomputed: usize,
}

/// One stored version of a year's notice.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoticeVersion {
    pub id: i64,
    pub year: i16,
    pub version: String,
    pub source: String,
    pub effective: String,
    pub imported_at: String,
    pub imported_by: String,
    pub current: bool,
    pub days: i64,
}

#[derive(Serialize)]
struct NoticeChange<'a> {
    id: i64,
    year: i16,
    version: &'a str,
    source: &'a str,
    effective: String,
    imported_at: &'a str,
    imported_by: &'a str,
    current: bool,
    days: Vec<DayChange<'a>>,
}

#[derive(Serialize)]
struct DayChange<'a> {
    notice_id: i64,
    date: String,
    kind: &'static str,
    name: &'a str,
}

/// Makes `notice` the current one for its year, keeping the versions before it. Refuses a
/// version already imported for the year and a notice older than the current one.
pub fn import_notice(
    tx: &mut WriteTx,
    notice: &Notice,
    by: &str,
) -> Result<ImportSummary, CalendarError> {
    let exists: Option<i64> = tx
        .conn()
        .query_row(
            "SELECT id FROM calendar_notices WHERE year = ?1 AND version = ?2",
            params![notice.year, notice.version],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_some() {
        return Err(CalendarError::Conflict(format!(
            "{} 年的通知版本 \"{}\" 已经导入过",
            notice.year, notice.version
        )));
    }
    let current: Option<(i64, String, String)> = tx
        .conn()
        .query_row(
            "SELECT id, version, effective FROM calendar_notices WHERE year = ?1 AND current = 1",
            [notice.year],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let effective = notice.effective.to_string();
    if let Some((id, version, eff)) = &current {
        if *eff > effective {
            return Err(CalendarError::Conflict(format!(
                "{} 年已有更新的通知（版本 \"{version}\"，{eff} 生效），不能用 {effective} 生效的旧通知替换它",
                notice.year
            )));
        }
        tx.exec(
            "UPDATE calendar_notices SET current = 0 WHERE id = ?1",
            [id],
        )?;
        tx.change(
            "calendar_notice",
            id,
            Op::Update,
            &serde_json::json!({ "id": id, "current": false }),
        )?;
    }
    let id = insert_notice(tx, notice, by)?;
    let recomputed = crate::approval::workflow::recompute_due_dates(tx)?;
    Ok(ImportSummary {
        notice_id: id,
        year: notice.year,
        version: notice.version.clone(),
        days: notice.days.len(),
        replaced: current.map(|c| c.1),
        recomputed,
    })
}

fn insert_notice(tx: &mut WriteTx, notice: &Notice, by: &str) -> Result<i64, CalendarError> {
    let now = tx.now().to_string();
    let effective = notice.effective.to_string();
    let id = tx.insert(
        "INSERT INTO calendar_notices(year, version, source, effective, imported_at, imported_by, current)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)",
        params![notice.year, notice.version, notice.source, effective, now, by],
    )?;
    let mut days = Vec::with_capacity(notice.days.len());
    for d in &notice.days {
        tx.exec(
            "INSERT INTO calendar_days(notice_id, date, kind, name) VALUES (?1, ?2, ?3, ?4)",
            params![id, d.date.to_string(), d.kind.as_str(), d.name],
        )?;
        days.push(DayChange {
            notice_id: id,
            date: d.date.to_string(),
            kind: d.kind.as_str(),
            name: &d.name,
        });
    }
    tx.change(
        "calendar_notice",
        id,
        Op::Insert,
        &NoticeChange {
            id,
            year: notice.year,
            version: &notice.version,
            source: &notice.source,
            effective,
            imported_at: &now,
            imported_by: by,
            current: true,
            days,
        },
    )?;
    Ok(id)
}

/// The id of the site's current notice for `year`, copying the shipped one into the database
/// first when the site has none, so a local edit starts from the official schedule.
fn editable_notice(tx: &mut WriteTx, year: i16, by: &str) -> Result<i64, CalendarError> {
    let found: Option<i64> = tx
        .conn()
        .query_row(
            "SELECT id FROM calendar_notices WHERE year = ?1 AND current = 1",
            [year],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    match Calendar::shipped().notice(year) {
        Some(n) => insert_notice(tx, n, by),
        None => Err(CalendarError::NotFound(format!(
            " {year} 年的放假通知：请先导入该年的通知，再调整单日"
        ))),
    }
}

/// Adds one special day to its year's current notice.
pub fn add_day(tx: &mut WriteTx, day: &SpecialDay, by: &str) -> Result<i64, CalendarError> {
    let day = check_day(day.date.year(), day.date, day.kind, &day.name)?;
    let notice_id = editable_notice(tx, day.date.year(), by)?;
    let date = day.date.to_string();
    let existing: Option<String> = tx
        .conn()
        .query_row(
            "SELECT name FROM calendar_days WHERE notice_id = ?1 AND date = ?2",
            params![notice_id, date],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(name) = existing {
        return Err(CalendarError::Conflict(format!(
            "{date} 已经列为“{name}”：先删除再添加"
        )));
    }
    tx.exec(
        "INSERT INTO calendar_days(notice_id, date, kind, name) VALUES (?1, ?2, ?3, ?4)",
        params![notice_id, date, day.kind.as_str(), day.name],
    )?;
    tx.change(
        "calendar_day",
        format!("{notice_id}/{date}"),
        Op::Insert,
        &DayChange {
            notice_id,
            date: date.clone(),
            kind: day.kind.as_str(),
            name: &day.name,
        },
    )?;
    crate::approval::workflow::recompute_due_dates(tx)?;
    Ok(notice_id)
}

/// Removes one special day from its year's current notice: the date becomes an ordinary
/// weekday or weekend again.
pub fn remove_day(tx: &mut WriteTx, date: Date, by: &str) -> Result<i64, CalendarError> {
    let notice_id = editable_notice(tx, date.year(), by)?;
    let d = date.to_string();
    let n = tx.exec(
        "DELETE FROM calendar_days WHERE notice_id = ?1 AND date = ?2",
        params![notice_id, d],
    )?;
    if n == 0 {
        return Err(CalendarError::NotFound(format!(
            "特殊日期 {d}：它不是放假日或调休上班日"
        )));
    }
    tx.change(
        "calendar_day",
        format!("{notice_id}/{d}"),
        Op::Delete,
        &serde_json::json!({ "notice_id": notice_id, "date": d }),
    )?;
    crate::approval::workflow::recompute_due_dates(tx)?;
    Ok(notice_id)
}

/// Every version the site imported for `year`, newest first.
pub fn versions(conn: &Connection, year: i16) -> Result<Vec<NoticeVersion>, CalendarError> {
    let mut stmt = conn.prepare_cached(
        "SELECT n.id, n.year, n.version, n.source, n.effective, n.imported_at, n.imported_by,
                n.current, (SELECT count(*) FROM calendar_days d WHERE d.notice_id = n.id)
         FROM calendar_notices n WHERE n.year = ?1 ORDER BY n.id DESC",
    )?;
    let rows = stmt
        .query_map([year], |r| {
            Ok(NoticeVersion {
                id: r.get(0)?,
                year: r.get(1)?,
                version: r.get(2)?,
                source: r.get(3)?,
                effective: r.get(4)?,
                imported_at: r.get(5)?,
                imported_by: r.get(6)?,
                current: r.get(7)?,
                days: r.get(8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn current_notices(conn: &Connection) -> Result<Vec<Notice>, CalendarError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, year, version, source, effective FROM calendar_notices WHERE current = 1",
    )?;
    let heads = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i16>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut days_stmt = conn.prepare_cached(
        "SELECT date, kind, name FROM calendar_days WHERE notice_id = ?1 ORDER BY date",
    )?;
    let mut out = Vec::with_capacity(heads.len());
    for (id, year, version, source, effective) in heads {
        let raw = days_stmt
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut days = Vec::with_capacity(raw.len());
        for (date, kind, name) in raw {
            days.push(SpecialDay {
                date: parse_date(&date)?,
                kind: DayKind::parse(&kind)?,
                name,
            });
        }
        out.push(Notice {
            year,
            source,
            version,
            effective: parse_date(&effective)?,
            days,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
