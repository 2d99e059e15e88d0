//! SMS notifications: an outbox written in the business transaction, and a worker that
//! delivers it through the configured gateway.
//!
//! The outbox is site-local bookkeeping, never replicated: a township's messages are sent by
//! the township, never again by the county or province that receives its data.

use crate::store::{StoreError, WriteTx};

/// A longer text is split by the carrier into many billable parts; nothing we send needs it.
pub const MAX_TEXT_CHARS: usize = 500;
const MAX_REFERENCE_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    pub phone: String,
    pub text: String,
    /// What the message is about (e.g. the receipt number), for tracing.
    pub reference: String,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("手机号 \"{0}\" 无效：应为 11 位中国大陆手机号，以 1 开头")]
    BadPhone(String),
    #[error("短信内容{0}")]
    BadText(String),
    #[error("短信关联编号{0}")]
    BadReference(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for NotifyError {
    fn from(e: rusqlite::Error) -> Self {
        NotifyError::Store(e.into())
    }
}

/// Mainland mobile numbers: 11 digits, `1` then `3`–`9`.
pub fn valid_phone(phone: &str) -> bool {
    let b = phone.as_bytes();
    b.len() == 11
        && b.iter().all(u8::is_ascii_digit)
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
}

fn check(sms: &Sms) -> Result<(), NotifyError> {
    if !valid_phone(&sms.phone) {
        return Err(NotifyError::BadPhone(sms.phone.chars().take(20).collect()));
    }
    let chars = sms.text.chars().count();
    if sms.text.trim().is_empty() {
        return Err(NotifyError::BadText("不能为空".into()));
    }
    if chars > MAX_TEXT_CHARS {
        return Err(NotifyError::BadText(format!(
            "太长：{chars} 个字，最多 {MAX_TEXT_CHARS} 个字"
        )));
    }
    if sms.reference.chars().count() > MAX_REFERENCE_CHARS {
        return Err(NotifyError::BadReference(format!(
            "太长（最多 {MAX_REFERENCE_CHARS} 个字）"
        )));
    }
    if sms
        .reference
        .chars()
        .chain(sms.text.chars())
        .any(|c| c.is_control() && c != '\n')
    {
        return Err(NotifyError::BadText("含有控制字符".into()));
    }
    Ok(())
}

/// Queues `sms` in the caller's transaction and returns its outbox id. Never sends and never
/// waits on the gateway: the worker delivers it after the transaction commits.
pub fn enqueue(tx: &mut WriteTx, sms: &Sms) -> Result<i64, NotifyError> {
    check(sms)?;
    let now = tx.now().to_string();
    tx.local(
        "INSERT INTO sms_outbox(phone, text, reference, next_at, created_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        rusqlite::params![sms.phone, sms.text, sms.reference, now],
    )?;
    Ok(tx.conn().last_insert_rowid())
}
