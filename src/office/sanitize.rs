//! Mail bodies are HTML written by staff (or pasted from anywhere): they are cleaned with
//! `ammonia` (an allow-list HTML5 sanitiser built on html5ever) before they are stored, so
//! what is stored is already safe to show.
//!
//! Allowed: ammonia's default set of formatting tags and attributes, and http, https and
//! mailto links. Removed: scripts and other active elements, every `on*` event handler,
//! `javascript:`/`data:`/`vbscript:` URLs, and every `style` attribute and element (which is how
//! CSS `expression()` and `url(javascript:...)` would get in).

use std::sync::OnceLock;

fn cleaner() -> &'static ammonia::Builder<'static> {
    static B: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    B.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.url_schemes(["http", "https", "mailto"].into_iter().collect())
            .link_rel(Some("noopener noreferrer"));
        b
    })
}

pub fn clean_html(html: &str) -> String {
    cleaner().clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_tags_are_removed_with_their_content() {
        let out = clean_html("<p>通知</p><script>alert('x')</script><SCRIPT src=//evil></SCRIPT>");
        assert_eq!(out, "<p>通知</p>");
    }

    #[test]
    fn event_handlers_are_removed() {
        let out = clean_html(
            r#"<img src="a.png" onerror="alert(1)"><b onclick='x()' OnMouseOver=y>粗</b>"#,
        );
        assert!(!out.to_lowercase().contains("onerror"), "{out}");
        assert!(!out.to_lowercase().contains("onclick"), "{out}");
        assert!(!out.to_lowercase().contains("onmouseover"), "{out}");
        assert!(out.contains("<b>粗</b>"), "{out}");
    }

    #[test]
    fn javascript_urls_are_removed() {
        for evil in [
            r#"<a href="javascript:alert(1)">点</a>"#,
            r#"<a href="JaVaScRiPt:alert(1)">点</a>"#,
            r#"<a href=" &#106;avascript:alert(1)">点</a>"#,
            r#"<a href="vbscript:x">点</a>"#,
            r#"<a href="data:text/html,<script>x</script>">点</a>"#,
        ] {
            let out = clean_html(evil);
            assert!(!out.to_lowercase().contains("script:"), "{evil} -> {out}");
            assert!(!out.contains("data:"), "{evil} -> {out}");
            assert!(out.contains("点"), "{out}");
        }
        let ok = clean_html(r#"<a href="https://www.gov.cn/">国务院</a>"#);
        assert!(ok.contains(r#"href="https://www.gov.cn/""#), "{ok}");
    }

    #[test]
    fn css_expressions_are_removed() {
        let out = clean_html(
            r#"<p style="width: expression(alert(1)); background: url(javascript:x)">文</p><style>p{x:expression(alert(2))}</style>"#,
        );
        assert!(!out.contains("expression"), "{out}");
        assert!(!out.contains("style"), "{out}");
        assert_eq!(out, "<p>文</p>");
    }

    #[test]
    fn frames_objects_and_forms_are_removed() {
        let out = clean_html(
            r#"<iframe src="x"></iframe><object data="x"></object><form action="x"><input></form><svg onload=x></svg>正文"#,
        );
        assert_eq!(out, "正文");
    }
}
