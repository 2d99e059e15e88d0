//! Administrative approval (行政审批): the item catalogue, cases and their workflow, the
//! working-day calendar of the legal clock, fees, and the SMS notifications.
//!
//! Domain functions take a connection or a [`WriteTx`] and plain values; the handlers in
//! [`api`] and [`pages`] only parse, call one of them together with the audit append, and answer.

pub mod api;
pub mod calendar;
pub mod cases;
pub mod demo;
pub mod error;
pub mod ids;
pub mod intake;
pub mod items;
pub mod joint;
pub mod messages;
pub mod money;
pub mod notify;
pub mod opinions;
pub mod pages;
pub mod workbench;
pub mod workflow;

pub use error::ApprovalError;

#[cfg(test)]
mod tests;

use jiff::civil::Date;

use crate::auth::Role;
use crate::store::WriteTx;

/// The steps of an item a user may be named for (事项 ↔ 人员), each done by one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Accept,
    Undertake,
    Review,
    Approve,
}

impl Step {
    pub const ALL: [Step; 4] = [Step::Accept, Step::Undertake, Step::Review, Step::Approve];

    pub fn code(self) -> &'static str {
        match self {
            Step::Accept => "accept",
            Step::Undertake => "undertake",
            Step::Review => "review",
            Step::Approve => "approve",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Step::Accept => "受理",
            Step::Undertake => "承办",
            Step::Review => "审核",
            Step::Approve => "批准",
        }
    }

    pub fn role(self) -> Role {
        match self {
            Step::Accept => Role::Clerk,
            Step::Undertake => Role::Handler,
            Step::Review => Role::Reviewer,
            Step::Approve => Role::Approver,
        }
    }

    pub fn parse(s: &str) -> Result<Step, ApprovalError> {
        Step::ALL
            .into_iter()
            .find(|st| st.code() == s || st.label_zh() == s)
            .ok_or_else(|| {
                ApprovalError::invalid(
                    "step",
                    format!(
                        "环节 \"{}\" 无效，可选: accept, undertake, review, approve",
                        short(s)
                    ),
                )
            })
    }
}

/// A trimmed single-line text of up to `max` characters; control characters refused.
pub fn line(
    field: &'static str,
    v: &str,
    max: usize,
    required: bool,
) -> Result<String, ApprovalError> {
    crate::text::line(v, max, required).map_err(|zh| ApprovalError::invalid(field, zh))
}

/// A multi-line text of up to `max` characters: line breaks and tabs allowed.
pub fn multiline(
    field: &'static str,
    v: &str,
    max: usize,
    required: bool,
) -> Result<String, ApprovalError> {
    crate::text::multiline(v, max, required).map_err(|zh| ApprovalError::invalid(field, zh))
}

/// At most 40 characters of untrusted input, for quoting it back in a message.
pub fn short(v: &str) -> String {
    v.chars().take(40).collect()
}

/// The Beijing calendar date of a stored UTC timestamp.
pub fn beijing_date(stored: &str) -> Date {
    crate::clock::parse_utc(stored)
        .unwrap_or_else(jiff::Timestamp::now)
        .to_zoned(crate::clock::shanghai())
        .date()
}

/// Today in Beijing, as the transaction sees it.
pub fn today(tx: &WriteTx) -> Date {
    beijing_date(tx.now())
}

pub fn parse_date(field: &'static str, v: &str) -> Result<Date, ApprovalError> {
    v.trim().parse::<Date>().map_err(|_| {
        ApprovalError::invalid(
            field,
            format!("日期 \"{}\" 无效，应为 YYYY-MM-DD", short(v)),
        )
    })
}
