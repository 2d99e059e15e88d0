//! Rendered public pages kept in memory. A portal page changes only when content is published,
//! withdrawn or answered, yet citizens ask for the same few pages all day: rendering each request
//! from SQLite spent most of the portal's time. An entry is served while the store's write
//! generation is the one it was rendered under (any committed business change moves it) and for
//! at most [`MAX_AGE`], which bounds how late a scheduled publication shows and covers writes by
//! another process (the CLI) that this one does not see.
//!
//! Only what a content handler marked cacheable is kept: a `GET` answered 200 with an `ETag`
//! and no `Set-Cookie` (the forms set their token cookie, so they never enter). The size is
//! bounded in entries and bytes, so arbitrary query strings cannot grow it without limit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::web::AppState;

pub const MAX_AGE: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 2_000;
const MAX_BYTES: usize = 32 << 20;
/// Attachments and other large answers are streamed from their source, not kept here.
const MAX_BODY: usize = 256 << 10;

#[derive(Default)]
pub struct PageCache {
    pages: RwLock<Pages>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Default)]
struct Pages {
    map: HashMap<String, Page>,
    bytes: usize,
}

#[derive(Clone)]
struct Page {
    generation: u64,
    made: Instant,
    headers: HeaderMap,
    body: Bytes,
}

impl PageCache {
    /// Prometheus counters of how often a page came from memory.
    pub fn metrics(&self) -> String {
        format!(
            "# HELP govbox_portal_page_cache_total Portal GET requests answered from rendered pages kept in memory (hit) or by a handler (miss).\n\
             # TYPE govbox_portal_page_cache_total counter\n\
             govbox_portal_page_cache_total{{result=\"hit\"}} {}\n\
             govbox_portal_page_cache_total{{result=\"miss\"}} {}\n",
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed)
        )
    }

    fn get(&self, key: &str, generation: u64) -> Option<Page> {
        let pages = self.pages.read().unwrap_or_else(|p| p.into_inner());
        pages
            .map
            .get(key)
            .filter(|p| p.generation == generation && p.made.elapsed() < MAX_AGE)
            .cloned()
    }

    fn put(&self, key: String, page: Page) {
        let size = key.len() + page.body.len();
        let mut pages = self.pages.write().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = pages.map.remove(&key) {
            pages.bytes -= key.len() + old.body.len();
        }
        // Stale entries go first; if everything is fresh and the cache is full, an arbitrary
        // entry makes room, so a flood of distinct URLs costs the cache its hit rate, not memory.
        if pages.map.len() >= MAX_ENTRIES || pages.bytes + size > MAX_BYTES {
            let generation = page.generation;
            let Pages { map, bytes } = &mut *pages;
            map.retain(|k, p| {
                let keep = p.generation == generation && p.made.elapsed() < MAX_AGE;
                if !keep {
                    *bytes -= k.len() + p.body.len();
                }
                keep
            });
            while map.len() >= MAX_ENTRIES || *bytes + size > MAX_BYTES {
                let Some(k) = map.keys().next().cloned() else {
                    break;
                };
                if let Some(p) = map.remove(&k) {
                    *bytes -= k.len() + p.body.len();
                }
            }
        }
        pages.bytes += size;
        pages.map.insert(key, page);
    }
}

/// The middleware on the portal's routes: answers from the cache when it can, otherwise runs
/// the handler and keeps what it may.
pub async fn serve(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let key = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    // Read before the handler's read transaction starts: a commit during rendering then leaves
    // the entry under an old generation, and the next request renders again.
    let generation = st.store.generation();
    let cache = &st.portal_pages;
    if let Some(page) = cache.get(&key, generation) {
        cache.hits.fetch_add(1, Ordering::Relaxed);
        return answer(req.headers(), page);
    }
    cache.misses.fetch_add(1, Ordering::Relaxed);
    let conditional = req.headers().contains_key(header::IF_NONE_MATCH)
        || req.headers().contains_key(header::IF_MODIFIED_SINCE);
    let resp = next.run(req).await;
    if conditional
        || resp.status() != StatusCode::OK
        || !resp.headers().contains_key(header::ETAG)
        || resp.headers().contains_key(header::SET_COOKIE)
    {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            log::error!("portal page {key} could not be read for the cache: {e}");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    cache.put(
        key,
        Page {
            generation,
            made: Instant::now(),
            headers: parts.headers.clone(),
            body: body.clone(),
        },
    );
    Response::from_parts(parts, Body::from(body))
}

fn answer(request: &HeaderMap, page: Page) -> Response {
    let etag = page
        .headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let last = page
        .headers
        .get(header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok());
    if not_modified(request, etag, last) {
        let mut resp = StatusCode::NOT_MODIFIED.into_response();
        for name in [header::ETAG, header::LAST_MODIFIED, header::CACHE_CONTROL] {
            if let Some(v) = page.headers.get(&name) {
                resp.headers_mut().insert(name, v.clone());
            }
        }
        return resp;
    }
    let mut resp = Response::new(Body::from(page.body));
    *resp.headers_mut() = page.headers;
    resp
}

/// Whether the client's copy is current: a matching `If-None-Match` (weak or strong, or `*`), or
/// without one an `If-Modified-Since` equal to `Last-Modified`.
pub fn not_modified(request: &HeaderMap, etag: &str, last_modified: Option<&str>) -> bool {
    match request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(v) => v
            .split(',')
            .any(|t| t.trim().trim_start_matches("W/") == etag || t.trim() == "*"),
        None => match (
            last_modified,
            request
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok()),
        ) {
            (Some(l), Some(since)) => l == since,
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(generation: u64, body: &str) -> Page {
        Page {
            generation,
            made: Instant::now(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn an_entry_lives_only_under_its_generation_and_age() {
        let c = PageCache::default();
        c.put("/a".into(), page(3, "x"));
        assert!(c.get("/a", 3).is_some());
        assert!(c.get("/a", 4).is_none(), "a commit since rendering");
        assert!(c.get("/b", 3).is_none());
        let mut old = page(3, "y");
        old.made = Instant::now() - MAX_AGE;
        c.put("/a".into(), old);
        assert!(c.get("/a", 3).is_none(), "older than MAX_AGE");
    }

    #[test]
    fn distinct_urls_cannot_grow_it_past_its_bounds() {
        let c = PageCache::default();
        for i in 0..MAX_ENTRIES * 2 {
            c.put(format!("/search?q={i}"), page(1, "body"));
        }
        let p = c.pages.read().unwrap();
        assert!(p.map.len() <= MAX_ENTRIES);
        assert_eq!(
            p.bytes,
            p.map
                .iter()
                .map(|(k, v)| k.len() + v.body.len())
                .sum::<usize>()
        );
        drop(p);
        let big = "x".repeat(MAX_BODY);
        for i in 0..(MAX_BYTES / MAX_BODY) * 2 {
            c.put(format!("/p{i}"), page(1, &big));
        }
        assert!(c.pages.read().unwrap().bytes <= MAX_BYTES);
        assert!(c
            .get(&format!("/p{}", (MAX_BYTES / MAX_BODY) * 2 - 1), 1)
            .is_some());
    }

    #[test]
    fn stale_entries_make_room_before_fresh_ones() {
        let c = PageCache::default();
        for i in 0..MAX_ENTRIES - 1 {
            c.put(format!("/old{i}"), page(1, "o"));
        }
        c.put("/fresh".into(), page(2, "f"));
        c.put("/new".into(), page(2, "n"));
        assert!(c.get("/fresh", 2).is_some());
        assert!(c.get("/new", 2).is_some());
        assert_eq!(c.pages.read().unwrap().map.len(), 2);
    }

    #[test]
    fn validators_match_as_http_says() {
        let mut h = HeaderMap::new();
        assert!(!not_modified(
            &h,
            "\"e1\"",
            Some("Tue, 01 Dec 2026 10:00:00 GMT")
        ));
        h.insert(header::IF_NONE_MATCH, "W/\"e0\", \"e1\"".parse().unwrap());
        assert!(not_modified(&h, "\"e1\"", None));
        assert!(!not_modified(&h, "\"e2\"", None));
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_MODIFIED_SINCE,
            "Tue, 01 Dec 2026 10:00:00 GMT".parse().unwrap(),
        );
        assert!(not_modified(
            &h,
            "\"e\"",
            Some("Tue, 01 Dec 2026 10:00:00 GMT")
        ));
        assert!(!not_modified(&h, "\"e\"", None));
    }
}
