//! The public site (政务外网门户): disclosure columns and articles under a three-level review,
//! full-text search, Atom feeds, consultations and their FAQ, the county head's mailbox, and the
//! website self-check.
//!
//! Staff work (drafting, review, banned words, answers, the self-check) is on the office
//! listener under `/cms/` ([`staff`], [`api`]); the portal listener only routes [`public`].
//! Domain functions take a connection or a [`WriteTx`] and plain values.

pub mod api;
pub mod articles;
pub mod banned;
pub mod cache;
pub mod columns;
pub mod consult;
pub mod demo;
pub mod error;
pub mod files;
pub mod letters;
pub mod limits;
pub mod markdown;
pub mod public;
pub mod search;
pub mod selfcheck;
pub mod service_pages;
pub mod services;
pub mod staff;

pub use cache::PageCache;
pub use error::PortalError;
pub use limits::Limits;

#[cfg(test)]
mod tests;

use sha2::{Digest, Sha256};

use crate::store::WriteTx;

/// This part's templates, registered with the web part's environment.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("portal_base.html", include_str!("templates/base.html")),
    ("portal_index.html", include_str!("templates/index.html")),
    ("portal_column.html", include_str!("templates/column.html")),
    (
        "portal_article.html",
        include_str!("templates/article.html"),
    ),
    ("portal_search.html", include_str!("templates/search.html")),
    ("portal_ask.html", include_str!("templates/ask.html")),
    ("portal_faq.html", include_str!("templates/faq.html")),
    (
        "portal_letters.html",
        include_str!("templates/letters.html"),
    ),
    ("portal_query.html", include_str!("templates/query.html")),
    (
        "portal_receipt.html",
        include_str!("templates/receipt.html"),
    ),
    ("portal_guides.html", include_str!("templates/guides.html")),
    ("portal_guide.html", include_str!("templates/guide.html")),
    ("portal_apply.html", include_str!("templates/apply.html")),
    (
        "portal_complaint.html",
        include_str!("templates/complaint.html"),
    ),
    ("cms_home.html", include_str!("templates/cms_home.html")),
    (
        "cms_article.html",
        include_str!("templates/cms_article.html"),
    ),
    (
        "cms_columns.html",
        include_str!("templates/cms_columns.html"),
    ),
    ("cms_banned.html", include_str!("templates/cms_banned.html")),
    ("cms_inbox.html", include_str!("templates/cms_inbox.html")),
    ("cms_check.html", include_str!("templates/cms_check.html")),
];

pub const CSS: &str = include_str!("static/portal.css");

pub use public::routes;

/// A trimmed single-line text of 1..=`max` characters (0 allowed when not `required`), without
/// control characters.
pub fn line(
    field: &'static str,
    v: &str,
    max: usize,
    required: bool,
) -> Result<String, PortalError> {
    crate::text::line(v, max, required).map_err(|zh| PortalError::invalid(field, zh))
}

/// A multi-line text of up to `max` characters: line breaks and tabs allowed.
pub fn multiline(
    field: &'static str,
    v: &str,
    max: usize,
    required: bool,
) -> Result<String, PortalError> {
    crate::text::multiline(v, max, required).map_err(|zh| PortalError::invalid(field, zh))
}

/// A mainland mobile (11 digits starting with 1) or a landline with area code.
pub fn phone(v: &str) -> Result<String, PortalError> {
    let p: String = v
        .trim()
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .collect();
    let mobile = p.len() == 11 && p.starts_with('1');
    let landline = (10..=12).contains(&p.len()) && p.starts_with('0');
    if !(mobile || landline) || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PortalError::invalid(
            "phone",
            "请填写 11 位手机号码或带区号的固定电话",
        ));
    }
    Ok(p)
}

/// At most 40 characters of untrusted input, for quoting it back in a message.
pub fn short(v: &str) -> String {
    v.chars().take(40).collect()
}

/// A random 8-digit query code, shown once; only its hash is stored.
pub fn query_code() -> String {
    use rand::Rng;
    format!("{:08}", rand::thread_rng().gen_range(0..100_000_000u32))
}

pub fn hash_code(code: &str) -> String {
    hex::encode(Sha256::digest(code.trim().as_bytes()))
}

/// Compares a given code with a stored hash in constant time.
pub fn code_matches(stored_hash: &str, given: &str) -> bool {
    crate::auth::session::csrf_matches(stored_hash, &hash_code(given))
}

/// A tracking number `<prefix><YYYYMMDD><id, 6 digits>`, dated in Beijing time.
pub fn tracking_number(tx: &WriteTx, prefix: &str, id: i64) -> String {
    let date = crate::clock::parse_utc(tx.now())
        .map(|t| t.to_zoned(crate::clock::shanghai()).date())
        .map(|d| d.strftime("%Y%m%d").to_string())
        .unwrap_or_default();
    format!("{prefix}{date}{id:06}")
}

/// The audit entry of an anonymous citizen's action, identified by address only.
pub fn public_entry(client: &str, action: &str, object: &str) -> crate::auth::AuditEntry {
    crate::auth::AuditEntry {
        actor: "public".into(),
        roles: String::new(),
        action: action.into(),
        object: object.into(),
        client: client.into(),
        outcome: crate::auth::Outcome::Ok,
        detail: String::new(),
    }
}
