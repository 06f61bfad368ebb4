//! Prometheus metrics, kept with atomics and rendered in the text exposition format at
//! `/metrics`: requests by route and status, latency histograms by route, ingestion counts,
//! and queue depths (audit writer, imports in progress).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; 13],
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Series>>,
    rate_limited: AtomicU64,
    pub rows_accepted: AtomicU64,
    pub rows_rejected: AtomicU64,
    pub submissions: AtomicU64,
    pub imports_running: AtomicU64,
    pub checks: AtomicU64,
    /// Audit entries that could not be written (their requests were answered 503).
    pub audit_failures: AtomicU64,
    /// The last audit append failed (`/readyz` says so until one succeeds).
    pub audit_failing: std::sync::atomic::AtomicBool,
    /// The last verification of the whole audit chain found a break.
    pub audit_chain_broken: std::sync::atomic::AtomicBool,
}

impl Metrics {
    /// An audit entry was written: `/readyz` is ready again if a failure had made it not.
    pub fn audit_written(&self) {
        // A load first: the hot path (every check) writes the flag only when it changes.
        if self.audit_failing.load(Ordering::Relaxed) {
            self.audit_failing.store(false, Ordering::SeqCst);
        }
    }

    /// Whether the last audit append failed (and none has been written since).
    pub fn audit_failing(&self) -> bool {
        self.audit_failing.load(Ordering::SeqCst)
    }

    /// Whether the last verification of the whole audit chain found a break (nothing is
    /// signed over it then).
    pub fn chain_broken(&self) -> bool {
        self.audit_chain_broken.load(Ordering::SeqCst)
    }

    /// Notes a verification of the whole chain (the service's own or an auditor's); returns
    /// whether a break was known before.
    pub fn chain_verified(&self, intact: bool) -> bool {
        self.audit_chain_broken.swap(!intact, Ordering::SeqCst)
    }

    /// An audit entry could not be written: counted, and `/readyz` says so.
    pub fn audit_lost(&self) {
        self.audit_failures.fetch_add(1, Ordering::Relaxed);
        self.audit_failing.store(true, Ordering::SeqCst);
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, took: Duration) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        let secs = took.as_secs_f64();
        if let Ok(mut l) = self.latency.lock() {
            let s = l.entry(route.to_string()).or_default();
            s.count += 1;
            s.sum += secs;
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    s.buckets[i] += 1;
                }
            }
        }
    }

    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition format.
    pub fn render(&self, audit_queue: usize, audit_written: u64, checks_queue: usize) -> String {
        let mut out = String::new();
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let _ = writeln!(
            out,
            "# HELP xinyong_http_requests_total HTTP requests by method, route and status."
        );
        let _ = writeln!(out, "# TYPE xinyong_http_requests_total counter");
        if let Ok(r) = self.requests.lock() {
            for ((m, route, status), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "xinyong_http_requests_total{{method=\"{m}\",route=\"{}\",status=\"{status}\"}} {n}",
                    esc(route)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP xinyong_http_request_duration_seconds Request latency by route."
        );
        let _ = writeln!(
            out,
            "# TYPE xinyong_http_request_duration_seconds histogram"
        );
        if let Ok(l) = self.latency.lock() {
            for (route, s) in l.iter() {
                let r = esc(route);
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "xinyong_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{b}\"}} {}",
                        s.buckets[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "xinyong_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}",
                    s.count
                );
                let _ = writeln!(
                    out,
                    "xinyong_http_request_duration_seconds_sum{{route=\"{r}\"}} {}",
                    s.sum
                );
                let _ = writeln!(
                    out,
                    "xinyong_http_request_duration_seconds_count{{route=\"{r}\"}} {}",
                    s.count
                );
            }
        }
        let counters = [
            (
                "xinyong_rate_limited_total",
                "Requests refused by the rate limit.",
                self.rate_limited.load(Ordering::Relaxed),
            ),
            (
                "xinyong_ingest_rows_accepted_total",
                "Rows accepted by submissions through the service.",
                self.rows_accepted.load(Ordering::Relaxed),
            ),
            (
                "xinyong_ingest_rows_rejected_total",
                "Rows rejected by submissions through the service.",
                self.rows_rejected.load(Ordering::Relaxed),
            ),
            (
                "xinyong_submissions_total",
                "Submissions received by the service.",
                self.submissions.load(Ordering::Relaxed),
            ),
            (
                "xinyong_checks_total",
                "Checks (信用核查) answered and recorded by this process.",
                self.checks.load(Ordering::Relaxed),
            ),
            (
                "xinyong_audit_append_failures_total",
                "Audit entries that could not be written; their requests were refused (503).",
                self.audit_failures.load(Ordering::Relaxed),
            ),
            (
                "xinyong_audit_entries_written_total",
                "Audit entries written by this process.",
                audit_written,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        }
        let gauges = [
            (
                "xinyong_audit_queue_depth",
                "Audit entries waiting to be committed.",
                audit_queue as u64,
            ),
            (
                "xinyong_checks_queue_depth",
                "Checks waiting to be committed with their audit entries.",
                checks_queue as u64,
            ),
            (
                "xinyong_audit_chain_broken",
                "1 when the last verification of the whole audit chain found a break (checkpoints are not signed then).",
                u64::from(self.audit_chain_broken.load(Ordering::Relaxed)),
            ),
            (
                "xinyong_imports_in_progress",
                "Submissions being imported now.",
                self.imports_running.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}
