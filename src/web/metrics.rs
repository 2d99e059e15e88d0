//! Prometheus text for `/metrics`: requests by route and status, a latency histogram per route,
//! plus gauges the caller supplies (database size, change-log high-water seq).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Upper bounds in seconds; chosen around what a person notices on a page load.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(&'static str, String, u16), u64>,
    latency: BTreeMap<(&'static str, String), Histogram>,
}

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    pub fn observe(&self, listener: &'static str, route: String, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *m.requests
            .entry((listener, route.clone(), status))
            .or_default() += 1;
        let h = m.latency.entry((listener, route)).or_default();
        h.count += 1;
        h.sum += secs;
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.buckets[i] += 1;
            }
        }
    }

    /// The exposition text; `gauges` are (name, help, value) added by the caller.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP govbox_http_requests_total HTTP requests by listener, route and status."
        );
        let _ = writeln!(out, "# TYPE govbox_http_requests_total counter");
        for ((listener, route, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "govbox_http_requests_total{{listener=\"{listener}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        let _ = writeln!(
            out,
            "# HELP govbox_http_request_duration_seconds Request latency by listener and route."
        );
        let _ = writeln!(out, "# TYPE govbox_http_request_duration_seconds histogram");
        for ((listener, route), h) in &m.latency {
            let labels = format!("listener=\"{listener}\",route=\"{}\"", escape(route));
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "govbox_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                    h.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "govbox_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "govbox_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "govbox_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Records every request. Unmatched paths share one label so a scanner cannot grow the table.
pub async fn record(
    State((metrics, listener)): State<(std::sync::Arc<Metrics>, &'static str)>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let start = Instant::now();
    let resp = next.run(req).await;
    metrics.observe(listener, route, resp.status().as_u16(), start.elapsed());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histogram_and_gauges() {
        let m = Metrics::default();
        m.observe("office", "/".into(), 200, Duration::from_millis(3));
        m.observe("office", "/".into(), 200, Duration::from_millis(300));
        let text = m.render(&[("govbox_change_seq", "High-water seq.", 7.0)]);
        assert!(text.contains(
            "govbox_http_requests_total{listener=\"office\",route=\"/\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"0.5\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(text.contains("govbox_change_seq 7"));
    }
}
