//! Article bodies: a Markdown subset rendered with pulldown-cmark and cleaned with ammonia.
//!
//! Raw HTML in the source is shown as text, never passed through; the rendered HTML is then
//! cleaned to an allow-list (paragraphs, h2–h4, emphasis, lists, quotes, tables, code, links),
//! and links keep only http, https, mailto and site-relative URLs. Images are not part of the
//! subset: pictures are attachments.

use std::collections::HashSet;
use std::sync::OnceLock;

use pulldown_cmark::{Event, Options, Parser};

fn cleaner() -> &'static ammonia::Builder<'static> {
    static B: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    B.get_or_init(|| {
        let tags: HashSet<&str> = [
            "p",
            "h2",
            "h3",
            "h4",
            "strong",
            "em",
            "del",
            "ul",
            "ol",
            "li",
            "blockquote",
            "a",
            "code",
            "pre",
            "br",
            "hr",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
        ]
        .into_iter()
        .collect();
        let mut b = ammonia::Builder::empty();
        b.tags(tags)
            .add_tag_attributes("a", ["href"])
            .add_tag_attributes("ol", ["start"])
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            .url_relative(ammonia::UrlRelative::PassThrough)
            .link_rel(Some("noopener noreferrer"));
        b
    })
}

/// The safe HTML of a Markdown source.
pub fn render(source: &str) -> String {
    let parser = Parser::new_ext(
        source,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        other => other,
    });
    let mut html = String::with_capacity(source.len() * 2);
    pulldown_cmark::html::push_html(&mut html, parser);
    cleaner().clean(&html).to_string()
}

/// The site-relative link targets of rendered HTML (for the broken-link check).
pub fn internal_links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}
