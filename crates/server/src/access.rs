//! Every endpoint declares the roles that may call it; [`check`] enforces the declaration before
//! the handler runs. Anonymous callers are 社会公众 (public); a protected endpoint answers them
//! 401, and a logged-in caller of the wrong role 403. Denials are audited.

use std::collections::HashMap;

use auth::Role;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};

use crate::Shared;
use crate::context::Ctx;
use crate::error::ApiError;

pub use auth::ALL_ROLES;

/// Everyone, logged in or not: people, not the systems that hold only a token (运维监控,
/// 共享交换系统), whose token reads their one endpoint and the service's own meta — a leaked one
/// must not read the public data at a system's rate limit.
pub const EVERYONE: &[Role] = &[
    Role::Public,
    Role::Subject,
    Role::Reporter,
    Role::Reviewer,
    Role::Deciding,
    Role::Handling,
    Role::Financial,
    Role::Admin,
    Role::Auditor,
];
/// Everyone and the systems: health, readiness, the platform's key, the API document.
pub const EVERYONE_AND_SYSTEMS: &[Role] = &ALL_ROLES;
/// Anyone logged in.
pub const SIGNED_IN: &[Role] = &[
    Role::Subject,
    Role::Reporter,
    Role::Reviewer,
    Role::Deciding,
    Role::Handling,
    Role::Financial,
    Role::Admin,
    Role::Auditor,
];
pub const ADMIN: &[Role] = &[Role::Admin];
pub const AUDITOR: &[Role] = &[Role::Auditor];
pub const ADMIN_AUDITOR: &[Role] = &[Role::Admin, Role::Auditor];
/// Who reads the Prometheus metrics: the credit office, the auditor, and the monitoring
/// system's own token.
pub const METRICS_READERS: &[Role] = &[Role::Admin, Role::Auditor, Role::Monitor];
/// Who takes the repair decisions shared with the provincial platform: the credit office, and
/// the exchange system's own token.
pub const SHARING_READERS: &[Role] = &[Role::Admin, Role::Exchange];
/// A unit's people and the credit office.
pub const UNIT_STAFF: &[Role] = &[Role::Reporter, Role::Reviewer, Role::Admin];
pub const UNIT_WRITERS: &[Role] = &[Role::Reporter, Role::Reviewer];
pub const REPORTER: &[Role] = &[Role::Reporter];
/// Who checks subjects before a matter (逢办必查) and reports back.
pub const CHECKERS: &[Role] = &[Role::Handling, Role::Deciding, Role::Financial, Role::Admin];
/// Who reads a recorded check (whom it named, what it found): those who check, and the credit
/// office — not the security auditor, who reads that it was made in the trail.
pub const CHECK_READERS: &[Role] = &[Role::Handling, Role::Deciding, Role::Financial, Role::Admin];
/// Officers: exceptions, batch reviews.
pub const OFFICERS: &[Role] = &[Role::Handling, Role::Deciding, Role::Admin];
pub const OFFICERS_AUDITOR: &[Role] = &[Role::Handling, Role::Deciding, Role::Admin, Role::Auditor];
/// Who changes a list entry after listing: the deciding unit, and the credit office.
pub const LIST_DECIDERS: &[Role] = &[Role::Deciding, Role::Admin];
/// Departments, and financial institutions (their borrowers), that subscribe to subjects and
/// receive alerts.
pub const SUBSCRIBERS: &[Role] = &[Role::Handling, Role::Deciding, Role::Financial];
/// Who reads alerts (whom they name): their units and the credit office, not the auditor.
pub const ALERT_READERS: &[Role] = &[Role::Handling, Role::Deciding, Role::Financial, Role::Admin];
/// Parties to repair and objection cases (the case itself narrows what each sees). Not the
/// security auditor: a case holds the applicant's statements and the units' working; the auditor
/// reads who did what to it in the trail (separation of duties, 三权分立).
pub const CASE_READERS: &[Role] = &[
    Role::Subject,
    Role::Deciding,
    Role::Reporter,
    Role::Reviewer,
    Role::Admin,
];
/// A case's evidence files (licences, bank slips, ID cards): the parties to it and the credit
/// office, not the security auditor — who reads the trail of who read them, not the files.
pub const CASE_FILE_READERS: &[Role] = CASE_ACTORS;
pub const CASE_ACTORS: &[Role] = &[
    Role::Subject,
    Role::Deciding,
    Role::Reporter,
    Role::Reviewer,
    Role::Admin,
];
pub const SUBJECT: &[Role] = &[Role::Subject];
/// The officers who read a credit file whole (`Role::sees_full_files`).
pub const FILE_READERS: &[Role] = &[Role::Deciding, Role::Handling, Role::Admin];
/// A financial institution (信易贷: the files subjects authorised it to read).
pub const FINANCIAL: &[Role] = &[Role::Financial];
/// Who lists 信易贷 authorisations: the subject its own, an institution those given to it, the
/// credit office all. Not the auditor: who asked which bank for credit, and why, is business
/// data (the trail's `authorisation.*` entries tell the auditor what was done).
pub const AUTHORISATION_READERS: &[Role] = &[Role::Subject, Role::Financial, Role::Admin];
/// A subject objects; a source unit opens an objection on its own record (主动异议).
pub const OBJECTORS: &[Role] = &[Role::Subject, Role::Reporter, Role::Reviewer];
/// The units that handle cases, and the credit office.
pub const CASE_HANDLERS: &[Role] = &[Role::Deciding, Role::Reporter, Role::Reviewer, Role::Admin];
/// Who may see an ID number in full.
pub const UNMASKERS: &[Role] = &[Role::Deciding, Role::Admin];

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    pub roles: &'static [Role],
    /// A console page (answers in HTML) rather than an API endpoint.
    pub console: bool,
}

/// A JSON route's body limit and what to tell a caller over it, put in the request's extensions
/// so that `ApiJson` names the limit in its 413.
#[derive(Debug, Clone, Copy)]
pub struct JsonLimit {
    pub bytes: usize,
    pub advice: &'static str,
}

/// What a JSON request over its limit is told, where its route says nothing of its own.
pub const JSON_ADVICE: &str = "请减少单次提交的内容后重试";

/// The router under construction and its table of endpoints.
pub struct Routes {
    router: Router<Shared>,
    endpoints: Vec<Endpoint>,
    /// The largest body an API handler's extractors read (JSON requests); handlers that stream
    /// a body (submissions, batches, evidence) read it themselves, under their own limits.
    json_limit: usize,
}

impl Routes {
    pub fn new() -> Self {
        Routes {
            router: Router::new(),
            endpoints: Vec::new(),
            json_limit: 1 << 20,
        }
    }

    /// Sets the body limit of the API's JSON requests (`Config::max_json_bytes`).
    pub fn with_json_limit(mut self, bytes: usize) -> Self {
        self.json_limit = bytes;
        self
    }

    fn add<H, T>(
        mut self,
        method: Method,
        path: &'static str,
        roles: &'static [Role],
        console: bool,
        limit: Option<JsonLimit>,
        handler: H,
    ) -> Self
    where
        H: Handler<T, Shared>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        let route = on(filter, handler);
        let route = if console {
            route
        } else {
            let limit = limit.unwrap_or(JsonLimit {
                bytes: self.json_limit,
                advice: JSON_ADVICE,
            });
            route
                .layer::<_, std::convert::Infallible>(axum::Extension(limit))
                .layer(axum::extract::DefaultBodyLimit::max(limit.bytes))
        };
        self.router = self.router.route(path, route);
        self.endpoints.push(Endpoint {
            method,
            path,
            roles,
            console,
        });
        self
    }

    pub fn api<H: Handler<T, Shared>, T: 'static>(
        self,
        method: Method,
        path: &'static str,
        roles: &'static [Role],
        h: H,
    ) -> Self {
        self.add(method, path, roles, false, None, h)
    }

    /// An API endpoint whose JSON body may be larger than the others' (never smaller than
    /// `Config::max_json_bytes`), with the advice its 413 gives.
    pub fn api_sized<H: Handler<T, Shared>, T: 'static>(
        self,
        method: Method,
        path: &'static str,
        roles: &'static [Role],
        bytes: usize,
        advice: &'static str,
        h: H,
    ) -> Self {
        let bytes = bytes.max(self.json_limit);
        self.add(
            method,
            path,
            roles,
            false,
            Some(JsonLimit { bytes, advice }),
            h,
        )
    }

    pub fn page<H: Handler<T, Shared>, T: 'static>(
        self,
        method: Method,
        path: &'static str,
        roles: &'static [Role],
        h: H,
    ) -> Self {
        self.add(method, path, roles, true, None, h)
    }

    /// Routes outside the role table (static files, the API page): anyone may fetch them.
    pub fn open(mut self, f: impl FnOnce(Router<Shared>) -> Router<Shared>) -> Self {
        self.router = f(self.router);
        self
    }

    pub fn finish(self) -> (Router<Shared>, Vec<Endpoint>) {
        (self.router, self.endpoints)
    }
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

/// The roles of the endpoint a request matched.
pub fn roles_of<'a>(
    endpoints: &'a [Endpoint],
    method: &Method,
    path: &str,
) -> Option<&'a Endpoint> {
    endpoints.iter().find(|e| {
        e.path == path
            && (e.method == method || (method == Method::HEAD && e.method == Method::GET))
    })
}

/// While the audit trail cannot be written, a write is not begun: most writes append their
/// entry after the write (answered 503 when it is lost, but the write stands), so that a failing
/// trail would let writes through untraced. The first write after a failure appends an entry of
/// its own first (`audit.resumed`); when that is written the trail works again and the write
/// goes on, else it is refused before it starts. Costs nothing while the trail works.
async fn writable(state: &Shared, ctx: &Ctx, method: &Method, route: &str) -> Result<(), ApiError> {
    // Logging out only ends access: a session on a shared terminal must be endable whatever
    // the trail's state (its own entry is tried after, as every request's is).
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || route == "/console/logout"
        || !state.metrics.audit_failing()
    {
        return Ok(());
    }
    let probe = crate::context::audit_entry(
        ctx,
        "audit.resumed",
        Some(format!("{method} {route}")),
        "ok",
        Some("审计日志写入失败后，写操作执行前确认审计日志可以写入".into()),
    );
    match state.audit.record(probe).await {
        Ok(_) => {
            state.metrics.audit_written();
            Ok(())
        }
        Err(e) => {
            eprintln!(
                "{} ERROR audit still failing, write refused before it began (request {}): {e}",
                chrono::Utc::now().to_rfc3339(),
                ctx.request_id
            );
            state.metrics.audit_lost();
            Err(ApiError::Unavailable(
                "审计日志暂时无法写入，本次写操作未执行（没有任何数据被修改）；请稍后重试，或联系运维人员".into(),
            ))
        }
    }
}

pub async fn check(State(state): State<Shared>, ctx: Ctx, req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let label = crate::headers::RouteLabel(path.clone());
    let Some(ep) = roles_of(&state.endpoints, req.method(), &path) else {
        // Static files and the API page are open; everything else must be in the table.
        let mut resp = next.run(req).await;
        resp.extensions_mut().insert(label);
        return resp;
    };
    let role = ctx.principal.role;
    if ep.roles.contains(&role) {
        // A session whose password must change (new account, or reset by the credit office)
        // reaches only the password page and logout, whatever else it asks for: a session left
        // from before a reset must not keep its powers.
        if ctx.session.as_ref().is_some_and(|s| s.must_change)
            && ep.path.starts_with("/console")
            && !matches!(ep.path, "/console/password" | "/console/logout")
        {
            let mut resp = axum::response::Redirect::to("/console/password").into_response();
            resp.extensions_mut().insert(label);
            return resp;
        }
        let method = req.method().clone();
        if let Err(refused) = writable(&state, &ctx, &method, ep.path).await {
            let mut resp = refused.into_response();
            resp.extensions_mut().insert(label);
            return resp;
        }
        let mut resp = next.run(req).await;
        // A console address refused before its handler ran (a malformed id in the path) answers
        // as a console page, with the officer's menu, not the portal's.
        if ep.path.starts_with("/console")
            && resp.status().as_u16() >= 400
            && resp
                .headers()
                .get("content-type")
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
        {
            resp = crate::console::as_page(&ctx, resp).await;
        }
        // A request its handler refused (a console form's missing CSRF token, an action the
        // officer may not take; another unit's submission, answered 404 so as not to say it
        // exists) is in the trail by its route, as a refusal at the door is: a unit probing
        // another's data is seen.
        let status = resp.status();
        let concealed = resp.extensions().get::<crate::error::Concealed>().is_some();
        let refused = status == axum::http::StatusCode::FORBIDDEN || concealed;
        if refused {
            crate::context::audit(
                &state,
                &ctx,
                "access.denied",
                Some(format!("{method} {}", ep.path)),
                if status == axum::http::StatusCode::FORBIDDEN {
                    "denied:refused"
                } else {
                    "denied:not_found"
                },
                None,
            )
            .await;
        }
        resp.extensions_mut().insert(label);
        return resp;
    }
    let denied = if ctx.principal.is_authenticated() {
        ApiError::Forbidden
    } else {
        ApiError::Unauthenticated
    };
    // The route's template, not the path as sent: a path can hold a resident ID number
    // (/api/v1/subjects/{code}/id-number), and the trail keeps what it is given for ever.
    crate::context::audit(
        &state,
        &ctx,
        "access.denied",
        Some(format!("{} {}", req.method(), ep.path)),
        if matches!(denied, ApiError::Forbidden) {
            "denied:forbidden"
        } else {
            "denied:unauthenticated"
        },
        None,
    )
    .await;
    if ep.console {
        return crate::console::denied(&state, &ctx, &denied, req.uri().path()).into_response();
    }
    denied.into_response()
}

/// Endpoint table lookups for tests and the OpenAPI check.
pub fn table(endpoints: &[Endpoint]) -> HashMap<(String, String), &'static [Role]> {
    endpoints
        .iter()
        .map(|e| ((e.method.to_string(), e.path.to_string()), e.roles))
        .collect()
}
