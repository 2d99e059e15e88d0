//! `govbox calendar`: show a year, compute a due date, import a notice file.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::{
    import_notice, parse_date, parse_notice, Calendar, CalendarError, Pause, MAX_NOTICE_BYTES,
};
use crate::auth::{self, AuditEntry, Outcome};
use crate::site::SiteConfig;
use crate::store::{self, StoreError};

#[derive(Debug, clap::Subcommand)]
pub enum CalendarCmd {
    /// List a year's holidays on weekdays and make-up working days on weekends.
    Show {
        /// Default: this year (Beijing time).
        #[arg(long)]
        year: Option<i16>,
    },
    /// Print the day on which DAYS working days after FROM have elapsed (FROM itself not
    /// counted). A provisional date (a year without a notice on the way) gets a second line.
    Due {
        /// The acceptance date, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Working days to add (0–3650).
        #[arg(long)]
        days: u32,
        /// A paused interval FROM..TO (inclusive, YYYY-MM-DD..YYYY-MM-DD), repeatable.
        #[arg(long = "pause")]
        pauses: Vec<String>,
    },
    /// Import a notice file (JSON, see docs/operator-guide.md) into the site's calendar.
    Import {
        /// The notice file; '-' for standard input.
        file: PathBuf,
    },
}

/// Longest limit the legal clock meets is months; ten years means a typo.
const MAX_DAYS: u32 = 3650;

/// Runs `cmd` against the site's calendar when `site` is given, the shipped one otherwise
/// (import always needs a site).
pub fn run(cmd: CalendarCmd, site: Option<&SiteConfig>) -> Result<(), CalendarError> {
    match cmd {
        CalendarCmd::Show { year } => {
            let year = year.unwrap_or_else(|| {
                jiff::Zoned::now()
                    .with_time_zone(crate::clock::shanghai())
                    .year()
            });
            print!("{}", show_text(&calendar(site)?, year));
            Ok(())
        }
        CalendarCmd::Due { from, days, pauses } => {
            let from =
                parse_date(&from).map_err(|e| CalendarError::Invalid(format!("--from: {e}")))?;
            if days > MAX_DAYS {
                return Err(CalendarError::Invalid(format!(
                    "--days {days} 太大（最多 {MAX_DAYS} 个工作日）"
                )));
            }
            let pauses = pauses
                .iter()
                .map(|p| parse_pause(p))
                .collect::<Result<Vec<_>, _>>()?;
            let due = calendar(site)?.add_working_days(from, days, &pauses);
            println!("{}", due.date);
            if due.provisional {
                println!("(provisional) 途经尚未载入放假通知的年份，导入该年通知后请重新计算");
            }
            Ok(())
        }
        CalendarCmd::Import { file } => {
            let site = site.ok_or_else(|| {
                CalendarError::Invalid("导入需要站点配置: --config /etc/govbox/site.toml".into())
            })?;
            let text = read_limited(&file)?;
            let notice = parse_notice(&text)?;
            let db = site.db_path();
            if !db.exists() {
                return Err(StoreError::Missing(db.display().to_string()).into());
            }
            let store = store::open(&db, &site.site.id)?;
            let by = crate::provision::cli_actor();
            let entry = AuditEntry {
                actor: by.clone(),
                roles: String::new(),
                action: "calendar.import".into(),
                object: format!("calendar:{}", notice.year),
                client: "local".into(),
                outcome: Outcome::Ok,
                detail: format!("version {}", notice.version),
            };
            let result = store.write_blocking(move |tx| {
                let sum = import_notice(tx, &notice, &by)?;
                auth::audit::append(tx, &entry)?;
                Ok::<_, CalendarError>(sum)
            });
            store.close();
            let sum = result?;
            println!(
                "已导入 {} 年放假通知（版本 {}，{} 个特殊日期）{}",
                sum.year,
                sum.version,
                sum.days,
                sum.replaced
                    .map(|v| format!("，取代版本 {v}"))
                    .unwrap_or_default()
            );
            if sum.recomputed > 0 {
                println!("已重新计算 {} 件在办办件的办结期限", sum.recomputed);
            }
            Ok(())
        }
    }
}

fn calendar(site: Option<&SiteConfig>) -> Result<Calendar, CalendarError> {
    match site {
        Some(site) => {
            let conn = store::open_read_only(&site.db_path())?;
            let found: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if found < store::schema_version() {
                // Read-only opens never migrate; the tables may not exist yet.
                return Err(CalendarError::Invalid(format!(
                    "站点数据库的结构版本 {found} 比本程序的 {} 旧：先启动一次服务完成升级 (systemctl restart govbox)",
                    store::schema_version()
                )));
            }
            Calendar::load(&conn)
        }
        None => Ok(Calendar::shipped()),
    }
}

fn read_limited(file: &Path) -> Result<String, CalendarError> {
    let name = file.display().to_string();
    let io = |e: std::io::Error| CalendarError::Invalid(format!("{name}: {e}"));
    let mut bytes = Vec::new();
    let limit = MAX_NOTICE_BYTES as u64 + 1;
    if file == Path::new("-") {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(io)?;
    } else {
        std::fs::File::open(file)
            .map_err(io)?
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(io)?;
    }
    if bytes.len() > MAX_NOTICE_BYTES {
        return Err(CalendarError::TooLarge(bytes.len()));
    }
    String::from_utf8(bytes).map_err(|_| CalendarError::Invalid(format!("{name}: 不是 UTF-8 文本")))
}

/// `YYYY-MM-DD..YYYY-MM-DD`, from not after to.
pub fn parse_pause(s: &str) -> Result<Pause, CalendarError> {
    let bad = |why: String| CalendarError::Invalid(format!("--pause {s}: {why}"));
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| bad("应写成 开始日期..结束日期，例如 2026-02-01..2026-02-10".into()))?;
    let from = parse_date(a).map_err(|e| bad(e.to_string()))?;
    let to = parse_date(b).map_err(|e| bad(e.to_string()))?;
    if to < from {
        return Err(bad("结束日期早于开始日期".into()));
    }
    Ok(Pause { from, to })
}

/// The year's special days, one a line: date, weekday, 放假/调休上班, name.
pub fn show_text(cal: &Calendar, year: i16) -> String {
    let mut out = String::new();
    let Some(n) = cal.notice(year) else {
        let _ = writeln!(
            out,
            "{year} 年没有载入放假通知：只按周末计算，据此算出的期限都是暂定的。导入通知: govbox calendar import FILE"
        );
        return out;
    };
    let _ = writeln!(
        out,
        "{year} 年: {}（版本 {}，{} 生效）",
        n.source, n.version, n.effective
    );
    for d in &n.days {
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}",
            d.date,
            super::weekday_zh(d.date),
            d.kind.label_zh(),
            d.name
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_parse_strictly() {
        let p = parse_pause("2026-02-01..2026-02-10").unwrap();
        assert_eq!(
            (p.from.to_string(), p.to.to_string()),
            ("2026-02-01".into(), "2026-02-10".into())
        );
        assert!(
            parse_pause("2026-02-01..2026-02-01").is_ok(),
            "a one-day pause"
        );
        for (bad, needle) in [
            ("2026-02-01", "开始日期..结束日期"),
            ("2026-02-10..2026-02-01", "早于"),
            ("2026-02-01..2026-02-30", "2026-02-30"),
            ("..2026-02-01", "\"\""),
            ("2026-02-01...2026-02-03", ".2026-02-03"),
        ] {
            let e = parse_pause(bad).unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains("--pause"), "{bad}: {e}");
        }
    }

    #[test]
    fn show_lists_only_the_exceptions_or_says_there_is_no_notice() {
        let cal = Calendar::shipped();
        let text = show_text(&cal, 2025);
        assert_eq!(text.lines().count(), 1 + 23);
        assert!(text.starts_with("2025 年: 国务院办公厅关于2025年部分节假日安排的通知"));
        assert!(text.contains("2025-01-26\t星期日\t调休上班\t春节调休上班\n"));
        assert!(show_text(&cal, 2031).contains("没有载入放假通知"));
    }
}
