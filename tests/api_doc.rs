//! The OpenAPI document describes the server that is running, and docs/api.md describes it too.

mod common;

use common::{Demo, Web, ADMIN_PW};

fn operations(doc: &serde_json::Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.push((method.to_string(), path.clone()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let demo = Demo::start();
    let mut web = Web::new(&demo.office);
    web.login("admin", ADMIN_PW).await;
    let doc: serde_json::Value = web.get("/api/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let ops = operations(&doc);
    assert!(ops.len() >= 12, "{ops:?}");
    // Logout last: it ends the session the other calls use.
    let (last, rest): (Vec<_>, Vec<_>) = ops.into_iter().partition(|(_, p)| p == "/api/logout");
    for (method, path) in rest.into_iter().chain(last) {
        let url = path.replace("{username}", "clerk");
        let r = match method.as_str() {
            "get" => web.get(&url).await,
            _ => web.post(&url, serde_json::json!({})).await,
        };
        let s = r.status().as_u16();
        assert!(
            s != 404 && s != 405,
            "{method} {path} documented but answered {s}"
        );
    }
}

/// The unit test in `web::api` compares paths only; a method added to a documented path would
/// slip past it. The router names the methods it serves on a path in the `Allow` header of its
/// 405 answer, so ask every documented path with a method nobody serves.
#[tokio::test]
async fn every_served_method_is_documented() {
    let demo = Demo::start();
    let mut web = Web::new(&demo.office);
    web.login("admin", ADMIN_PW).await;
    let doc = serde_json::to_value(govbox::web::api::ApiDoc::openapi_doc()).unwrap();
    let mut documented: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (method, path) in operations(&doc) {
        documented
            .entry(path)
            .or_default()
            .push(method.to_uppercase());
    }
    let probe = reqwest::Method::from_bytes(b"PROBE").unwrap();
    for (path, mut want) in documented {
        let url = format!("{}{}", demo.office, path.replace(['{', '}'], ""));
        let r = web
            .http
            .request(probe.clone(), &url)
            .header("x-csrf-token", web.csrf.clone().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405, "{path}");
        let allow = r
            .headers()
            .get("allow")
            .unwrap_or_else(|| panic!("{path}: 405 without Allow"))
            .to_str()
            .unwrap()
            .to_string();
        let mut served: Vec<String> = allow
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| m != "HEAD")
            .collect();
        served.sort();
        want.sort();
        assert_eq!(
            served, want,
            "{path}: served methods differ from the OpenAPI document"
        );
    }
}

#[test]
fn docs_api_md_lists_every_operation() {
    let doc = serde_json::to_value(govbox::web::api::ApiDoc::openapi_doc()).unwrap();
    let md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md")).unwrap();
    for (method, path) in operations(&doc) {
        let line = format!("`{} {}`", method.to_uppercase(), path);
        assert!(md.contains(&line), "docs/api.md does not describe {line}");
    }
}

#[test]
fn docs_api_md_lists_every_replication_route() {
    let md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md")).unwrap();
    for (method, path) in govbox::replication::ROUTES {
        let line = format!("`{method} {path}`");
        assert!(md.contains(&line), "docs/api.md does not describe {line}");
    }
}
