//! Server-rendered pages: minijinja templates and the stylesheet, all embedded in the binary.

use std::sync::OnceLock;

use axum::http::StatusCode;
use axum::response::Html;
use minijinja::{context, Environment, Value};

use super::WebError;

pub const CSS: &str = include_str!("static/app.css");

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("home.html", include_str!("templates/home.html")),
    ("audit.html", include_str!("templates/audit.html")),
    ("users.html", include_str!("templates/users.html")),
    ("error.html", include_str!("templates/error.html")),
    (
        "calendar.html",
        include_str!("../approval/calendar/calendar.html"),
    ),
    ("sms.html", include_str!("../approval/notify/sms.html")),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES
            .iter()
            .chain(crate::office::pages::TEMPLATES)
            .chain(crate::portal::TEMPLATES)
            .chain(crate::supervision::pages::TEMPLATES)
            .chain(crate::approval::pages::TEMPLATES)
        {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("embedded template {name} does not parse: {e}"));
        }
        env
    })
}

/// Renders `name` with `ctx` merged over the layout's own values (`base`).
pub fn render(name: &str, base: Value, ctx: Value) -> Result<Html<String>, WebError> {
    let merged = context! { ..ctx, ..base };
    Ok(Html(env().get_template(name)?.render(merged)?))
}

pub fn error_page(status: StatusCode, message: &str) -> Html<String> {
    let title = match status {
        StatusCode::NOT_FOUND => "页面不存在",
        StatusCode::FORBIDDEN => "无权访问",
        StatusCode::TOO_MANY_REQUESTS => "请稍后再试",
        s if s.is_client_error() => "请求有误",
        _ => "服务器错误",
    };
    let rendered = env()
        .get_template("error.html")
        .and_then(|t| t.render(context! { title, message }));
    Html(rendered.unwrap_or_else(|_| message.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_escapes() {
        let _ = env();
        let html = error_page(StatusCode::NOT_FOUND, "<script>x</script>");
        assert!(html.0.contains("&lt;script&gt;"));
        assert!(html.0.contains("页面不存在"));
    }
}
