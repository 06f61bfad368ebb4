//! The frame of every response: a request id (kept in a task-local for errors), security
//! headers, and the request's place in the metrics.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::Shared;
use crate::error::REQUEST_ID;

const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; \
         frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    // Not `no-referrer`: under it browsers send `Origin: null` with same-site form posts, and the
    // login's origin check then refuses every real browser. `same-origin` still sends nothing to
    // other sites.
    ("referrer-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    ),
    ("cross-origin-opener-policy", "same-origin"),
    ("strict-transport-security", "max-age=31536000"),
];

/// The paths search engines are told not to index or keep: natural persons' credit files, the
/// publicity columns, lists and open-data files (they name fined persons, and a copy would
/// outlive the record's window, its repair or its withdrawal), the API and the console. An
/// organisation's own page stays findable.
pub fn not_for_indexing(path: &str) -> bool {
    [
        "/subjects/P",
        "/publicity",
        "/lists",
        "/opendata",
        "/api/",
        "/console",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// What `/robots.txt` says: the same paths as [`not_for_indexing`].
pub const ROBOTS_TXT: &str = "User-agent: *\nDisallow: /subjects/P\nDisallow: /publicity\nDisallow: /lists\nDisallow: /opendata\nDisallow: /api/\nDisallow: /console\n";

/// The route a response answered, for the metrics.
#[derive(Debug, Clone)]
pub struct RouteLabel(pub String);

/// Counts a request in flight until dropped (a cancelled request is dropped too).
struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(n: &'a std::sync::atomic::AtomicUsize) -> InFlight<'a> {
        n.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        InFlight(n)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

pub async fn frame(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let request_id = hex::encode(crypto::random_bytes::<12>().unwrap_or_default());
    let started = Instant::now();
    let method = req.method().clone();
    let uri_path = req.uri().path().to_string();
    let counted = InFlight::enter(&state.in_flight);
    let mut resp = REQUEST_ID.scope(request_id.clone(), next.run(req)).await;
    drop(counted);
    // A page's address answers an error as a page: an unknown address, a bad page number, the
    // rate limit reached from a shared office network.
    if resp.status().as_u16() >= 400
        && crate::portal::answers_in_html(&uri_path)
        && resp
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
    {
        resp = crate::portal::as_page(resp).await;
    }
    let h = resp.headers_mut();
    for (k, v) in SECURITY_HEADERS {
        h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert(HeaderName::from_static("x-request-id"), v);
    }
    if !h.contains_key("cache-control") {
        h.insert("cache-control", HeaderValue::from_static("no-store"));
    }
    // A person's page, the API and the console are kept out of search engines: a copy there
    // would outlive the record's window, its repair or its withdrawal (robots.txt says so too).
    if not_for_indexing(&uri_path) {
        h.insert(
            HeaderName::from_static("x-robots-tag"),
            HeaderValue::from_static("noindex, nofollow, noarchive"),
        );
    }
    let label = resp
        .extensions()
        .get::<RouteLabel>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| {
            if uri_path.starts_with("/static/") {
                "/static/*".into()
            } else {
                "other".into()
            }
        });
    state.metrics.observe(
        method.as_str(),
        &label,
        resp.status().as_u16(),
        started.elapsed(),
    );
    resp
}
