//! `site.toml`: the one file that makes a machine a township, county or province site.
//!
//! Parsed once into [`SiteConfig`]; every error names the file, the key and the fix, because the
//! person reading it is county IT staff at a console, not a developer.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Default location of the site file on an installed appliance.
pub const DEFAULT_CONFIG: &str = "/etc/govbox/site.toml";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub site: SiteSection,
    pub listen: ListenSection,
    pub storage: StorageSection,
    #[serde(default)]
    pub upstream: UpstreamSection,
    #[serde(default)]
    pub receiver: ReceiverSection,
    #[serde(default)]
    pub backup: BackupSection,
    #[serde(default)]
    pub firewall: crate::firewall::FirewallConfig,
    #[serde(default)]
    pub sms: SmsSection,
    #[serde(default)]
    pub portal: PortalSection,
    #[serde(default)]
    pub supervision: SupervisionSection,
}

/// Electronic supervision: the working-day periods of lights and cards, and how often the
/// card sweep runs.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SupervisionSection {
    /// An open case shows yellow when it is due within this many working days.
    #[serde(default = "supervision_warn_days")]
    pub warn_days: u32,
    /// A yellow card is issued when a case exceeds its promise by this many working days.
    #[serde(default = "supervision_yellow_days")]
    pub yellow_days: u32,
    /// A red card follows when the case is still open this many working days after its yellow.
    #[serde(default = "supervision_red_after_days")]
    pub red_after_days: u32,
    /// How often the service sweeps for due cards and reminders.
    #[serde(default = "supervision_sweep_interval_seconds")]
    pub sweep_interval_seconds: u32,
}

fn supervision_warn_days() -> u32 {
    1
}
fn supervision_yellow_days() -> u32 {
    1
}
fn supervision_red_after_days() -> u32 {
    2
}
fn supervision_sweep_interval_seconds() -> u32 {
    300
}

impl Default for SupervisionSection {
    fn default() -> Self {
        SupervisionSection {
            warn_days: supervision_warn_days(),
            yellow_days: supervision_yellow_days(),
            red_after_days: supervision_red_after_days(),
            sweep_interval_seconds: supervision_sweep_interval_seconds(),
        }
    }
}

/// The public portal's page furniture.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PortalSection {
    /// ICP filing number shown in every portal page's footer, e.g. "京ICP备12345678号".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icp: Option<String>,
}

/// How SMS notifications leave the site.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SmsSection {
    #[serde(default)]
    pub gateway: SmsGateway,
    /// `http://…` or `https://…` of the gateway (gateway = "http" only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// PEM of the CA that signed an `https` gateway's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// How long one POST may take before it counts as failed.
    #[serde(default = "sms_timeout_seconds")]
    pub timeout_seconds: u32,
    /// Longest wait between retries (backoff doubles from 1 s up to this, with jitter).
    #[serde(default = "sms_retry_max_seconds")]
    pub retry_max_seconds: u32,
    /// Attempts before a message is marked failed for an admin to see.
    #[serde(default = "sms_max_attempts")]
    pub max_attempts: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsGateway {
    /// Writes each message to the log instead of sending it.
    #[default]
    Journal,
    /// POSTs `{phone, text, reference, id}` as JSON to `url`; any 2xx is success.
    Http,
}

fn sms_timeout_seconds() -> u32 {
    10
}
fn sms_retry_max_seconds() -> u32 {
    600
}
fn sms_max_attempts() -> u32 {
    10
}

impl Default for SmsSection {
    fn default() -> Self {
        SmsSection {
            gateway: SmsGateway::Journal,
            url: None,
            ca_file: None,
            timeout_seconds: sms_timeout_seconds(),
            retry_max_seconds: sms_retry_max_seconds(),
            max_attempts: sms_max_attempts(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSection {
    pub id: String,
    pub name: String,
    pub tier: Tier,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Township,
    County,
    Province,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Township => "township",
            Tier::County => "county",
            Tier::Province => "province",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Tier::Township => "乡镇",
            Tier::County => "县级",
            Tier::Province => "省级",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ListenSection {
    pub portal: SocketAddr,
    pub office: SocketAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<SocketAddr>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    pub data_dir: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_dir: Option<PathBuf>,
    /// The site key, CSR, certificate and CA certificate.
    #[serde(default = "pki_dir")]
    pub pki_dir: PathBuf,
}

fn pki_dir() -> PathBuf {
    PathBuf::from("/etc/govbox/pki")
}

/// Where this site sends its change log (and, for a county, its townships'); absent `url`
/// means the site runs on its own.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSection {
    /// `https://ADDRESS:PORT` of the parent's replication listener. The parent is checked by
    /// its certificate naming `site.parent`, not by this address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Most changes in one batch.
    #[serde(default = "batch_changes")]
    pub batch_changes: u32,
    /// Most uncompressed bytes in one batch.
    #[serde(default = "batch_bytes")]
    pub batch_bytes: u32,
    /// Longest wait between retries after failures (backoff doubles up to this, with jitter).
    #[serde(default = "retry_max_seconds")]
    pub retry_max_seconds: u32,
    /// How often an idle sender looks for new changes (and tells the upstream it is alive).
    #[serde(default = "idle_seconds")]
    pub idle_seconds: u32,
}

/// Large enough that a slow, high-latency link spends its time sending, not waiting for acks.
fn batch_changes() -> u32 {
    5000
}
fn batch_bytes() -> u32 {
    4 << 20
}
fn retry_max_seconds() -> u32 {
    300
}
fn idle_seconds() -> u32 {
    5
}

impl Default for UpstreamSection {
    fn default() -> Self {
        UpstreamSection {
            url: None,
            batch_changes: batch_changes(),
            batch_bytes: batch_bytes(),
            retry_max_seconds: retry_max_seconds(),
            idle_seconds: idle_seconds(),
        }
    }
}

/// The receiving side (county, province): limits and when to raise an alarm about a child.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReceiverSection {
    /// Alarm when a site below has not been heard from for this long.
    #[serde(default = "silent_alarm_minutes")]
    pub silent_alarm_minutes: u32,
    /// Alarm when a site below reports this many changes not yet received.
    #[serde(default = "lag_alarm_changes")]
    pub lag_alarm_changes: u32,
    /// Largest request body (compressed) the listener takes.
    #[serde(default = "max_body_bytes")]
    pub max_body_bytes: u32,
    /// Requests per minute one client site may make.
    #[serde(default = "requests_per_minute")]
    pub requests_per_minute: u32,
}

fn silent_alarm_minutes() -> u32 {
    24 * 60
}
fn lag_alarm_changes() -> u32 {
    50_000
}
fn max_body_bytes() -> u32 {
    16 << 20
}
fn requests_per_minute() -> u32 {
    600
}

impl Default for ReceiverSection {
    fn default() -> Self {
        ReceiverSection {
            silent_alarm_minutes: silent_alarm_minutes(),
            lag_alarm_changes: lag_alarm_changes(),
            max_body_bytes: max_body_bytes(),
            requests_per_minute: requests_per_minute(),
        }
    }
}

/// Backups go to `storage.backup_dir`; these keys say how many to keep and where the second
/// copy goes.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackupSection {
    /// A second backup location (another disk, or a mounted share): every backup is copied
    /// there and verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_dir: Option<PathBuf>,
    #[serde(default = "keep_hourly")]
    pub keep_hourly: u32,
    #[serde(default = "keep_daily")]
    pub keep_daily: u32,
    #[serde(default = "keep_weekly")]
    pub keep_weekly: u32,
    #[serde(default = "keep_monthly")]
    pub keep_monthly: u32,
    /// zstd level, 1 (fastest) to 19 (smallest).
    #[serde(default = "zstd_level")]
    pub zstd_level: i32,
    /// Hours between scheduled backups: the hourly timer runs `backup create --if-due`, which
    /// skips until the newest backup is this old.
    #[serde(default = "interval_hours")]
    pub interval_hours: u32,
}

fn interval_hours() -> u32 {
    1
}

fn keep_hourly() -> u32 {
    24
}
fn keep_daily() -> u32 {
    7
}
fn keep_weekly() -> u32 {
    4
}
fn keep_monthly() -> u32 {
    12
}
fn zstd_level() -> i32 {
    3
}

impl Default for BackupSection {
    fn default() -> Self {
        BackupSection {
            copy_dir: None,
            keep_hourly: keep_hourly(),
            keep_daily: keep_daily(),
            keep_weekly: keep_weekly(),
            keep_monthly: keep_monthly(),
            zstd_level: zstd_level(),
            interval_hours: interval_hours(),
        }
    }
}

/// A site file that cannot be used, with enough context to fix it.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    /// Dotted key path such as `listen.office`; empty when the whole file is at fault.
    pub key: String,
    pub problem: String,
    pub fix: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(
                f,
                "{}: {}。修正: {}",
                self.file.display(),
                self.problem,
                self.fix
            )
        } else {
            write!(
                f,
                "{}: 配置项 `{}`: {}。修正: {}",
                self.file.display(),
                self.key,
                self.problem,
                self.fix
            )
        }
    }
}

impl SiteConfig {
    /// Reads, parses and validates a site file.
    pub fn load(path: &Path) -> Result<SiteConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            key: String::new(),
            problem: format!("无法读取站点配置文件 ({e})"),
            fix: "检查路径和权限；示例见 provisioning/examples/".into(),
        })?;
        Self::parse(path, &text)
    }

    /// Parses and validates site-file text; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<SiteConfig, ConfigError> {
        let de = toml::Deserializer::new(text);
        let cfg: SiteConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let parent = e.path().to_string();
            let inner = e.into_inner();
            let message = inner.message().to_string();
            let key = key_of(&parent, &message);
            ConfigError {
                file: path.to_path_buf(),
                problem: problem_zh(&message),
                fix: fix_for(&key, &message),
                key,
            }
        })?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let err = |key: &str, problem: String| ConfigError {
            file: path.to_path_buf(),
            key: key.to_string(),
            fix: fix_for(key, ""),
            problem,
        };
        if !valid_site_id(&self.site.id) {
            return Err(err(
                "site.id",
                format!("站点标识 \"{}\" 不合法", self.site.id),
            ));
        }
        if self.site.name.trim().is_empty() || self.site.name.chars().count() > 64 {
            return Err(err(
                "site.name",
                "站点名称不能为空，且不超过 64 个字".into(),
            ));
        }
        match (self.site.tier, &self.site.parent) {
            (Tier::Province, Some(_)) => {
                return Err(err(
                    "site.parent",
                    "省级站点没有上级，不应设置 parent".into(),
                ))
            }
            (Tier::Township | Tier::County, None) => {
                return Err(err(
                    "site.parent",
                    format!("{}站点必须写明上级站点标识", self.site.tier.label_zh()),
                ))
            }
            (_, Some(p)) if !valid_site_id(p) => {
                return Err(err("site.parent", format!("上级站点标识 \"{p}\" 不合法")))
            }
            (_, Some(p)) if p == &self.site.id => {
                return Err(err("site.parent", "上级站点不能是本站点".into()))
            }
            _ => {}
        }
        if self.site.tier != Tier::Township && self.listen.replication.is_none() {
            return Err(err(
                "listen.replication",
                format!(
                    "{}站点接收下级数据，必须设置复制监听地址",
                    self.site.tier.label_zh()
                ),
            ));
        }
        let mut seen: Vec<(&str, SocketAddr)> = Vec::new();
        let listeners = [
            ("listen.portal", Some(self.listen.portal)),
            ("listen.office", Some(self.listen.office)),
            ("listen.replication", self.listen.replication),
        ];
        for (key, addr) in listeners {
            let Some(addr) = addr else { continue };
            if addr.port() != 0 {
                if let Some((other, _)) = seen.iter().find(|(_, a)| a.port() == addr.port()) {
                    return Err(err(key, format!("端口 {} 与 `{other}` 重复", addr.port())));
                }
            }
            seen.push((key, addr));
        }
        if !self.storage.data_dir.is_absolute() {
            return Err(err("storage.data_dir", "数据目录必须是绝对路径".into()));
        }
        if let Some(b) = &self.storage.backup_dir {
            if !b.is_absolute() {
                return Err(err("storage.backup_dir", "备份目录必须是绝对路径".into()));
            }
            if b.starts_with(&self.storage.data_dir) {
                return Err(err(
                    "storage.backup_dir",
                    "备份目录不能位于数据目录之内（数据盘损坏时备份会一起丢失）".into(),
                ));
            }
        }
        if let Some(c) = &self.backup.copy_dir {
            if !c.is_absolute() {
                return Err(err("backup.copy_dir", "第二备份目录必须是绝对路径".into()));
            }
            if c.starts_with(&self.storage.data_dir)
                || self.storage.backup_dir.as_deref() == Some(c.as_path())
            {
                return Err(err(
                    "backup.copy_dir",
                    "第二备份目录必须与数据目录、备份目录不同（最好在另一块磁盘上）".into(),
                ));
            }
        }
        self.validate_replication(&err)?;
        self.validate_sms(&err)?;
        self.validate_portal(&err)?;
        self.validate_supervision(&err)?;
        if !(1..=168).contains(&self.backup.interval_hours) {
            return Err(err(
                "backup.interval_hours",
                "备份间隔须在 1 到 168 小时之间".into(),
            ));
        }
        if !(1..=19).contains(&self.backup.zstd_level) {
            return Err(err("backup.zstd_level", "压缩级别须在 1 到 19 之间".into()));
        }
        if self.backup.keep_hourly
            + self.backup.keep_daily
            + self.backup.keep_weekly
            + self.backup.keep_monthly
            == 0
        {
            return Err(err(
                "backup.keep_daily",
                "保留策略不能全部为 0（那样会删光所有备份）".into(),
            ));
        }
        Ok(())
    }

    fn validate_replication(
        &self,
        err: &dyn Fn(&str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let up = &self.upstream;
        if let Some(url) = &up.url {
            if self.site.tier == Tier::Province {
                return Err(err("upstream.url", "省级站点没有上级，不发送数据".into()));
            }
            let ok = url
                .strip_prefix("https://")
                .map(|rest| rest.trim_end_matches('/'))
                .is_some_and(|hp| {
                    hp.rsplit_once(':').is_some_and(|(h, p)| {
                        !h.is_empty() && !h.contains('/') && p.parse::<u16>().is_ok_and(|p| p > 0)
                    })
                });
            if !ok {
                return Err(err(
                    "upstream.url",
                    format!("{url:?} 不是 https://地址:端口 的形式"),
                ));
            }
        }
        if !(1..=10_000).contains(&up.batch_changes) {
            return Err(err(
                "upstream.batch_changes",
                "每批变更数须在 1 到 10000 之间".into(),
            ));
        }
        if !((64 << 10)..=(32 << 20)).contains(&up.batch_bytes) {
            return Err(err(
                "upstream.batch_bytes",
                "每批字节数须在 65536 到 33554432 之间".into(),
            ));
        }
        if !(1..=3600).contains(&up.retry_max_seconds) {
            return Err(err(
                "upstream.retry_max_seconds",
                "重试间隔上限须在 1 到 3600 秒之间".into(),
            ));
        }
        if !(1..=3600).contains(&up.idle_seconds) {
            return Err(err(
                "upstream.idle_seconds",
                "空闲检查间隔须在 1 到 3600 秒之间".into(),
            ));
        }
        let rc = &self.receiver;
        if rc.silent_alarm_minutes == 0 {
            return Err(err("receiver.silent_alarm_minutes", "须大于 0".into()));
        }
        if !((1 << 20)..=(256 << 20)).contains(&rc.max_body_bytes)
            || rc.max_body_bytes < up.batch_bytes
        {
            return Err(err(
                "receiver.max_body_bytes",
                "须在 1 MiB 到 256 MiB 之间，且不小于 upstream.batch_bytes".into(),
            ));
        }
        if rc.requests_per_minute == 0 {
            return Err(err("receiver.requests_per_minute", "须大于 0".into()));
        }
        if !self.storage.pki_dir.is_absolute() {
            return Err(err("storage.pki_dir", "须是绝对路径".into()));
        }
        Ok(())
    }

    fn validate_portal(
        &self,
        err: &dyn Fn(&str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        if let Some(icp) = &self.portal.icp {
            let ok = icp.contains("ICP") && icp.contains('备') && icp.chars().count() <= 40;
            if !ok || icp.chars().any(char::is_control) {
                return Err(err("portal.icp", format!("{icp:?} 不像 ICP 备案号")));
            }
        }
        Ok(())
    }

    fn validate_supervision(
        &self,
        err: &dyn Fn(&str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let s = &self.supervision;
        if s.warn_days > 30 {
            return Err(err(
                "supervision.warn_days",
                "预警天数须在 0 到 30 个工作日之间".into(),
            ));
        }
        if !(1..=30).contains(&s.yellow_days) {
            return Err(err(
                "supervision.yellow_days",
                "黄牌天数须在 1 到 30 个工作日之间".into(),
            ));
        }
        if !(1..=30).contains(&s.red_after_days) {
            return Err(err(
                "supervision.red_after_days",
                "红牌天数须在 1 到 30 个工作日之间".into(),
            ));
        }
        if !(10..=86_400).contains(&s.sweep_interval_seconds) {
            return Err(err(
                "supervision.sweep_interval_seconds",
                "发牌检查间隔须在 10 到 86400 秒之间".into(),
            ));
        }
        Ok(())
    }

    fn validate_sms(&self, err: &dyn Fn(&str, String) -> ConfigError) -> Result<(), ConfigError> {
        let sms = &self.sms;
        match (sms.gateway, &sms.url) {
            (SmsGateway::Http, None) => {
                return Err(err(
                    "sms.url",
                    "gateway = \"http\" 时必须写短信网关地址".into(),
                ))
            }
            (SmsGateway::Journal, Some(_)) => {
                return Err(err(
                    "sms.url",
                    "gateway = \"journal\" 只记录日志、不发送，不应设置 url".into(),
                ))
            }
            (SmsGateway::Http, Some(url)) => {
                let rest = url
                    .strip_prefix("http://")
                    .or_else(|| url.strip_prefix("https://"));
                let host_ok = rest.is_some_and(|r| {
                    let host = r.split('/').next().unwrap_or("");
                    !host.is_empty() && !host.contains(char::is_whitespace)
                });
                if !host_ok {
                    return Err(err(
                        "sms.url",
                        format!("{url:?} 不是 http:// 或 https:// 开头的地址"),
                    ));
                }
                if url.starts_with("http://") && sms.ca_file.is_some() {
                    return Err(err("sms.ca_file", "只有 https 网关才需要 ca_file".into()));
                }
            }
            (SmsGateway::Journal, None) => {}
        }
        if sms.ca_file.as_ref().is_some_and(|p| !p.is_absolute()) {
            return Err(err("sms.ca_file", "须是绝对路径".into()));
        }
        if !(1..=120).contains(&sms.timeout_seconds) {
            return Err(err("sms.timeout_seconds", "须在 1 到 120 秒之间".into()));
        }
        if !(1..=86_400).contains(&sms.retry_max_seconds) {
            return Err(err(
                "sms.retry_max_seconds",
                "须在 1 到 86400 秒之间".into(),
            ));
        }
        if !(1..=1000).contains(&sms.max_attempts) {
            return Err(err("sms.max_attempts", "须在 1 到 1000 次之间".into()));
        }
        Ok(())
    }

    pub fn db_path(&self) -> PathBuf {
        self.storage.data_dir.join("govbox.db")
    }
}

/// Site ids appear in receipt numbers, file names and certificates, so they stay plain ASCII.
pub fn valid_site_id(id: &str) -> bool {
    let len_ok = (2..=32).contains(&id.len());
    let first_ok = id
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    len_ok
        && first_ok
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.ends_with('-')
}

/// serde reports missing and unknown fields against the enclosing table; name the field itself.
fn key_of(parent: &str, message: &str) -> String {
    let field = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    match (parent, field) {
        (".", Some(f)) | ("", Some(f)) => f.to_string(),
        (p, Some(f)) if p == f || p.ends_with(&format!(".{f}")) => p.to_string(),
        (p, Some(f)) => format!("{p}.{f}"),
        (".", None) => String::new(),
        (p, None) => p.to_string(),
    }
}

fn problem_zh(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or(message).trim();
    if message.starts_with("unknown field") {
        format!("未知的配置项 ({first_line})")
    } else if message.starts_with("missing field") {
        format!("缺少必填的配置项 ({first_line})")
    } else if message.contains("invalid type") {
        format!("类型不对 ({first_line})")
    } else if message.contains("socket address") {
        format!("地址格式不对 ({first_line})")
    } else if message.contains("unknown variant") {
        format!("取值不在允许范围内 ({first_line})")
    } else {
        format!("无法解析 ({first_line})")
    }
}

fn fix_for(key: &str, message: &str) -> String {
    if message.starts_with("unknown field") {
        return "删除该项或检查拼写；允许的配置项见 provisioning/examples/ 中的示例".into();
    }
    let fix = match key {
        "site.id" | "site.parent" => {
            "写 2–32 个小写字母、数字或连字符，以字母或数字开头，例如 \"hx-county\""
        }
        "site.name" => "写站点的中文名称，例如 \"红星县\"",
        "site.tier" => "取 \"township\"、\"county\" 或 \"province\" 之一",
        "listen.portal" | "listen.office" | "listen.replication" => {
            "写成带引号的 \"IP:端口\"，例如 \"0.0.0.0:8443\"；各监听端口互不相同"
        }
        "storage.data_dir" => "写绝对路径，例如 \"/var/lib/govbox\"",
        "storage.backup_dir" => "写第二块磁盘上的绝对路径，例如 \"/srv/backup/govbox\"",
        "storage.pki_dir" => "写绝对路径，默认 \"/etc/govbox/pki\"",
        "upstream.url" => "写上级复制接收端的地址，例如 \"https://198.18.0.10:8443\"；省级站点不写",
        "upstream.batch_changes" => "写 1 到 10000 之间的整数，默认 5000",
        "upstream.batch_bytes" => "写 65536 到 33554432 之间的整数，默认 4194304",
        "upstream.retry_max_seconds" | "upstream.idle_seconds" => "写 1 到 3600 之间的秒数",
        "receiver.silent_alarm_minutes"
        | "receiver.lag_alarm_changes"
        | "receiver.max_body_bytes"
        | "receiver.requests_per_minute" => "写正整数，默认值见 provisioning/examples/county.toml",
        "backup.copy_dir" => "写另一块磁盘上的绝对路径，例如 \"/mnt/backup2/govbox\"",
        "backup.zstd_level" => "写 1 到 19 之间的整数，默认 3",
        "backup.interval_hours" => "写 1 到 168 之间的整数，默认 1（每小时）",
        "backup.keep_hourly"
        | "backup.keep_daily"
        | "backup.keep_weekly"
        | "backup.keep_monthly" => "写非负整数，例如 keep_daily = 7",
        "sms.gateway" => "取 \"journal\"（只记日志，默认）或 \"http\"",
        "sms.url" => {
            "gateway = \"http\" 时写网关地址，例如 \"http://10.20.0.9:8088/sms\"；journal 时不写"
        }
        "sms.ca_file" => "https 网关时写其 CA 证书 (PEM) 的绝对路径",
        "sms.timeout_seconds" => "写 1 到 120 之间的秒数，默认 10",
        "sms.retry_max_seconds" => "写 1 到 86400 之间的秒数，默认 600",
        "sms.max_attempts" => "写 1 到 1000 之间的次数，默认 10",
        "portal.icp" => "写工信部备案号，例如 \"京ICP备12345678号\"；没有备案时不写",
        "site" | "listen" | "storage" => "补上这一节，示例见 provisioning/examples/",
        _ => "对照 provisioning/examples/ 中的示例修改",
    };
    fix.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[site]
id = "hx-county"
name = "红星县"
tier = "county"
parent = "gx-province"

[listen]
portal = "0.0.0.0:8080"
office = "10.1.0.5:8081"
replication = "0.0.0.0:8443"

[storage]
data_dir = "/var/lib/govbox"
backup_dir = "/srv/backup/govbox"
"#;

    fn parse(text: &str) -> Result<SiteConfig, ConfigError> {
        SiteConfig::parse(Path::new("/etc/govbox/site.toml"), text)
    }

    #[test]
    fn good_file_parses() {
        let cfg = parse(GOOD).unwrap();
        assert_eq!(cfg.site.tier, Tier::County);
        assert_eq!(cfg.listen.office.port(), 8081);
        assert_eq!(cfg.db_path(), Path::new("/var/lib/govbox/govbox.db"));
    }

    #[test]
    fn errors_name_the_key() {
        let cases: &[(&str, &str, &str)] = &[
            ("tier = \"county\"", "tier = \"city\"", "site.tier"),
            (
                "office = \"10.1.0.5:8081\"",
                "office = \"10.1.0.5\"",
                "listen.office",
            ),
            (
                "office = \"10.1.0.5:8081\"",
                "office = 8081",
                "listen.office",
            ),
            ("id = \"hx-county\"", "id = \"HX County\"", "site.id"),
            ("id = \"hx-county\"", "", "site.id"),
            ("[storage]", "[storage]\ncolour = 1", "storage.colour"),
            ("parent = \"gx-province\"", "", "site.parent"),
            ("replication = \"0.0.0.0:8443\"", "", "listen.replication"),
            (
                "portal = \"0.0.0.0:8080\"",
                "portal = \"0.0.0.0:8081\"",
                "listen.office",
            ),
            ("\"/var/lib/govbox\"", "\"var/lib\"", "storage.data_dir"),
            (
                "\"/srv/backup/govbox\"",
                "\"/var/lib/govbox/bk\"",
                "storage.backup_dir",
            ),
        ];
        for (from, to, key) in cases {
            let text = GOOD.replacen(from, to, 1);
            let e = parse(&text).expect_err(&format!("{from} -> {to} must fail"));
            assert_eq!(&e.key, key, "{from} -> {to}: {e}");
            let shown = e.to_string();
            assert!(shown.contains("/etc/govbox/site.toml"), "{shown}");
            assert!(shown.contains("修正"), "{shown}");
        }
    }

    #[test]
    fn shipped_examples_are_valid() {
        let examples = [
            (
                include_str!("../provisioning/examples/township.toml"),
                Tier::Township,
            ),
            (
                include_str!("../provisioning/examples/county.toml"),
                Tier::County,
            ),
            (
                include_str!("../provisioning/examples/province.toml"),
                Tier::Province,
            ),
        ];
        for (text, tier) in examples {
            assert_eq!(parse(text).unwrap().site.tier, tier);
        }
    }

    #[test]
    fn supervision_section_defaults_and_errors_name_the_key() {
        let cfg = parse(GOOD).unwrap();
        assert_eq!(cfg.supervision, SupervisionSection::default());
        assert_eq!(
            (cfg.supervision.yellow_days, cfg.supervision.red_after_days),
            (1, 2)
        );
        let set = parse(&format!("{GOOD}\n[supervision]\nred_after_days = 3\n")).unwrap();
        assert_eq!(set.supervision.red_after_days, 3);
        for (line, key) in [
            ("yellow_days = 0", "supervision.yellow_days"),
            ("red_after_days = 31", "supervision.red_after_days"),
            ("warn_days = 99", "supervision.warn_days"),
            (
                "sweep_interval_seconds = 1",
                "supervision.sweep_interval_seconds",
            ),
            ("colour = 1", "supervision.colour"),
        ] {
            let e = parse(&format!("{GOOD}\n[supervision]\n{line}\n")).unwrap_err();
            assert_eq!(e.key, key, "{line}: {e}");
        }
    }

    #[test]
    fn province_has_no_parent() {
        let text = GOOD
            .replace("tier = \"county\"", "tier = \"province\"")
            .replace("id = \"hx-county\"", "id = \"gx-province\"");
        assert_eq!(parse(&text).unwrap_err().key, "site.parent");
    }

    #[test]
    fn section_missing_is_named() {
        let text = GOOD.split("[storage]").next().unwrap();
        assert_eq!(parse(text).unwrap_err().key, "storage");
    }

    #[test]
    fn portal_icp_is_checked_and_named() {
        let ok = format!("{GOOD}\n[portal]\nicp = \"桂ICP备12345678号-1\"\n");
        assert_eq!(
            parse(&ok).unwrap().portal.icp.as_deref(),
            Some("桂ICP备12345678号-1")
        );
        let bad = format!("{GOOD}\n[portal]\nicp = \"12345\"\n");
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.key, "portal.icp");
        assert!(e.to_string().contains("备案号"), "{e}");
        let unknown = format!("{GOOD}\n[portal]\nicpp = \"x\"\n");
        assert_eq!(parse(&unknown).unwrap_err().key, "portal.icpp");
    }
}
