//! The public site (政务外网门户). For now its home page; disclosure, service guides, online
//! application, progress query, consultation and complaints are added by the portal issue.

use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use minijinja::context;

use crate::web::{render, AppState, PageError};

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

async fn home(State(st): State<AppState>) -> Result<Html<String>, PageError> {
    let sections = [
        ("政务公开", "通知公告、政策法规、政府文件"),
        ("办事指南", "事项的材料、依据、时限和收费"),
        ("网上申报", "在线提交申请，凭受理编号查询进度"),
        ("咨询投诉", "向政府部门咨询、投诉和建议"),
    ];
    let layout = context! {
        title => "首页",
        zone => "portal",
        site_name => st.site.site.name,
        tier_label => st.site.site.tier.label_zh(),
        version => env!("CARGO_PKG_VERSION"),
    };
    Ok(render("portal_home.html", layout, context! { sections })?)
}
