//! Who is calling, from where, under which request id. The `resolve` middleware reads an API
//! token (`Authorization: Bearer …`) or a session cookie, applies the rate limit for that
//! credential (or for the client address), and leaves a [`Ctx`] for the handlers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use auth::{Credential, Principal, Role};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use store::NewAuditEntry;

use crate::error::{ApiError, current_request_id};
use crate::{Shared, blocking};

pub const SESSION_COOKIE: &str = "xy_session";

/// A logged-in browser session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub secret: String,
    pub account_id: i64,
    pub must_change: bool,
    pub csrf: String,
}

/// What every handler knows about its request.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub principal: Arc<Principal>,
    pub request_id: String,
    pub client: String,
    pub session: Option<SessionInfo>,
    /// The console page the request came from (its `Referer`, when it is one of ours): where an
    /// error page sends the user back to, to their form, rather than to the home page.
    pub back: Option<String>,
    /// Set when an audit entry of this request could not be written: the request is then
    /// answered 503 instead of its result (a read whose trail is lost is not served).
    pub audit_failed: Arc<std::sync::atomic::AtomicBool>,
    /// Set when a write's entry, due before it commits ([`entry_first`]), could not be written:
    /// the write was rolled back, and its 503 says so (not that it may have taken effect).
    pub write_undone: Arc<std::sync::atomic::AtomicBool>,
}

/// The console page a `Referer` names: its path and query on this site, nothing else (not
/// another site, not a path that leaves the console).
fn console_referer(headers: &axum::http::HeaderMap) -> Option<String> {
    let r = headers.get(header::REFERER)?.to_str().ok()?;
    let path = match r.split_once("://") {
        Some((_, rest)) => &rest[rest.find('/')?..],
        None => r,
    };
    (path.starts_with("/console")
        && !path.starts_with("//")
        && path.len() <= 2000
        && path
            .chars()
            .all(|c| c.is_ascii_graphic() && !"\"'<>\\`".contains(c)))
    .then(|| path.to_string())
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| ApiError::internal("request context missing"))
    }
}

/// When each token or session was last written back as used (at most once a minute).
#[derive(Default)]
pub struct Touched(Mutex<HashMap<String, Instant>>);

impl Touched {
    fn due(&self, key: &str) -> bool {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match m.get(key) {
            Some(t) if now.duration_since(*t).as_secs() < 60 => false,
            _ => {
                if m.len() > 100_000 {
                    m.clear();
                }
                m.insert(key.to_string(), now);
                true
            }
        }
    }
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn client_address(state: &Shared, req: &Request) -> String {
    if state.config.trust_forwarded
        && let Some(ip) = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(forwarded_client)
    {
        return ip.to_string();
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The client address in an `X-Forwarded-For` value: the last entry, the one the trusted
/// proxy in front of us appended. The entries before it are whatever the client sent, so
/// taking the first would let anyone choose the address the audit trail records and the
/// rate limit counts.
fn forwarded_client(value: &str) -> Option<std::net::IpAddr> {
    value.rsplit(',').next()?.trim().parse().ok()
}

enum Resolved {
    Principal(Principal, Option<SessionInfo>),
    BadToken,
    /// A token the platform issued, revoked or expired since (its id, and what its holder is
    /// told: only whoever holds the secret learns that it was one of ours).
    Lapsed(i64, &'static str),
}

/// API tokens as recently read from the store, so that a system calling thousands of times a
/// second costs one lookup every few seconds. A token revoked through this process is dropped at
/// once; another replica's revocation takes effect within [`TOKEN_TTL`].
#[derive(Default)]
pub struct TokenCache(Mutex<HashMap<Vec<u8>, (Instant, store::ApiToken)>>);

pub const TOKEN_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl TokenCache {
    fn get(&self, hash: &[u8]) -> Option<store::ApiToken> {
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.get(hash)
            .filter(|(at, _)| at.elapsed() < TOKEN_TTL)
            .map(|(_, t)| t.clone())
    }
    fn put(&self, hash: Vec<u8>, t: store::ApiToken) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 10_000 {
            m.clear();
        }
        m.insert(hash, (Instant::now(), t));
    }
    /// Forgets every cached token (after a revocation).
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

fn from_token(state: &Shared, secret: &str) -> Result<Resolved, ApiError> {
    let hash = auth::secret_hash(secret);
    let t = match state.tokens.get(&hash) {
        Some(t) => t,
        None => {
            let Some(t) = state.platform.token_by_hash(&hash)? else {
                return Ok(Resolved::BadToken);
            };
            state.tokens.put(hash, t.clone());
            t
        }
    };
    let (resolved, touch) = token_principal(state, t);
    if let Some(id) = touch {
        state.platform.touch_token(id, state.clock.now())?;
    }
    Ok(resolved)
}

/// Who a token speaks for, if it is still good; and the token to mark as used, when due.
fn token_principal(state: &Shared, t: store::ApiToken) -> (Resolved, Option<i64>) {
    let now = state.clock.now();
    if t.revoked_at.is_some() {
        return (
            Resolved::Lapsed(t.token_id, "令牌已撤销，请联系信用办重新签发"),
            None,
        );
    }
    if t.expires_at <= now {
        return (
            Resolved::Lapsed(t.token_id, "令牌已过期，请联系信用办重新签发"),
            None,
        );
    }
    let Ok(role) = t.role.parse::<Role>() else {
        return (
            Resolved::Lapsed(t.token_id, "令牌已失效，请联系信用办重新签发"),
            None,
        );
    };
    let touch = state
        .touched
        .due(&format!("t{}", t.token_id))
        .then_some(t.token_id);
    let principal = Principal {
        role,
        credential: Credential::Token {
            token_id: t.token_id,
            name: t.name.clone(),
        },
        display_name: t.name,
        unit: t.unit,
        subject_key: t.subject_key,
    };
    (Resolved::Principal(principal, None), touch)
}

fn from_session(
    state: &Shared,
    secret: &str,
) -> Result<Option<(Principal, SessionInfo)>, ApiError> {
    let hash = auth::secret_hash(secret);
    let Some(s) = state.platform.session(&hash)? else {
        return Ok(None);
    };
    let now = state.clock.now();
    let idle = chrono::Duration::from_std(state.config.session_idle).unwrap_or_default();
    let max = chrono::Duration::from_std(state.config.session_max).unwrap_or_default();
    if s.revoked || s.expires_at <= now || s.last_seen + idle <= now || s.created_at + max <= now {
        return Ok(None);
    }
    let Some(a) = state.platform.account(s.account_id)? else {
        return Ok(None);
    };
    let Ok(role) = a.role.parse::<Role>() else {
        return Ok(None);
    };
    if a.disabled_at.is_some() {
        return Ok(None);
    }
    if state.touched.due(&format!("s{}", hex::encode(&hash[..8]))) {
        let expires = (now + idle).min(s.created_at + max);
        state.platform.touch_session(&hash, now, expires)?;
    }
    let info = SessionInfo {
        secret: secret.to_string(),
        account_id: a.account_id,
        must_change: a.must_change,
        csrf: auth::csrf_token(&state.keys, secret),
    };
    Ok(Some((
        Principal {
            role,
            credential: Credential::Session {
                account_id: a.account_id,
                username: a.username.clone(),
            },
            display_name: a.display_name,
            unit: a.unit,
            subject_key: a.subject_key,
        },
        info,
    )))
}

/// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive,
/// RFC 7235); `None` for any other scheme, an empty token or a value that is not visible ASCII.
fn bearer_token(v: &header::HeaderValue) -> Option<&str> {
    let v = v.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A request refused here (before the access check) is counted under its route in the metrics,
/// not as "other".
fn labelled(req: &Request, mut resp: Response) -> Response {
    if let Some(m) = req.extensions().get::<axum::extract::MatchedPath>() {
        resp.extensions_mut()
            .insert(crate::headers::RouteLabel(m.as_str().to_string()));
    }
    resp
}

pub async fn resolve(State(state): State<Shared>, mut req: Request, next: Next) -> Response {
    let client = client_address(&state, &req);
    // A credential the API cannot read is refused, not taken for the public's request: a
    // client that meant to authenticate must learn that it did not.
    let (bearer, unreadable) = match req.headers().get(header::AUTHORIZATION) {
        None => (None, false),
        Some(v) => {
            let t = bearer_token(v);
            (t.map(str::to_string), t.is_none())
        }
    };
    // Browser sessions are for the console; the API takes tokens only (no cookie-borne writes,
    // so no cross-site request forgery against the API).
    let session_secret = if req.uri().path().starts_with("/api/") {
        None
    } else {
        cookie(req.headers(), SESSION_COOKIE)
    };
    let s = state.clone();
    // Its public prefix (tokens are listed by it), for the trail if it is refused; of a string
    // that is no token of ours, nothing.
    let prefix: Option<String> = bearer
        .as_deref()
        .filter(|t| {
            t.strip_prefix("xy_")
                .is_some_and(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .map(|t| t[..9].to_string());
    let cached = bearer
        .as_deref()
        .and_then(|t| state.tokens.get(&auth::secret_hash(t)));
    let resolved = if unreadable {
        Ok(Resolved::BadToken)
    } else if bearer.is_none() && session_secret.is_none() {
        // The public: nothing to look up.
        Ok(Resolved::Principal(Principal::anonymous(), None))
    } else if let Some(t) = cached {
        // A token read a moment ago: no trip to a blocking thread; marking it used (a store
        // write, every few minutes) goes to one in the background.
        let (resolved, touch) = token_principal(&state, t);
        if let Some(id) = touch {
            let s = state.clone();
            tokio::task::spawn_blocking(move || {
                if let Err(e) = s.platform.touch_token(id, s.clock.now()) {
                    eprintln!("token {id}: could not record its use: {e}");
                }
            });
        }
        Ok(resolved)
    } else {
        blocking(move || {
            if let Some(t) = bearer {
                return from_token(&s, &t);
            }
            if let Some(sec) = session_secret
                && let Some((p, info)) = from_session(&s, &sec)?
            {
                return Ok(Resolved::Principal(p, Some(info)));
            }
            Ok(Resolved::Principal(Principal::anonymous(), None))
        })
        .await
    };
    // A refused credential is limited as the public is, by address (an unknown token cost a
    // store lookup, and a flood of them must meet the limit), then refused.
    let mut lapsed = None;
    let mut why = None;
    let (principal, session, refused) = match resolved {
        Ok(Resolved::Principal(p, s)) => (p, s, false),
        Ok(Resolved::BadToken) => (Principal::anonymous(), None, true),
        Ok(Resolved::Lapsed(id, message)) => {
            lapsed = Some(id);
            why = Some(message);
            (Principal::anonymous(), None, true)
        }
        Err(e) => return labelled(&req, e.into_response()),
    };
    // Rate limits: per credential when there is one, else per address. A system's token (运维
    // 监控, 共享交换系统) is for its one endpoint: elsewhere — the public pages — it counts as
    // its address does, not at a credential's rate.
    let system = principal.role.token_only();
    let (key, per_minute) = match &principal.credential {
        Credential::Token { token_id, .. } if !system => {
            (format!("t{token_id}"), state.config.rate_per_credential)
        }
        Credential::Session { account_id, .. } => {
            (format!("a{account_id}"), state.config.rate_per_credential)
        }
        _ => (format!("ip{client}"), state.config.rate_per_address),
    };
    // Health probes (the load balancer's, often from one address) are not counted: a busy
    // public must not make the service look down.
    let probe = matches!(req.uri().path(), "/healthz" | "/readyz");
    let taken = if probe {
        Ok(())
    } else {
        state.limiter.take(&key, per_minute)
    };
    if let Err(wait) = taken {
        state.metrics.rate_limited();
        return labelled(&req, ApiError::TooMany(wait).into_response());
    }
    // A revoked, expired or unknown token used again is something the auditor must see, by the
    // route (a path can hold an ID number) and the token's public prefix; ten a minute from an
    // address at most, so that a flood of bad tokens does not flood the trail.
    // A token the platform issued is recorded on a quota of its own, ten a minute (replayed
    // after revocation, it must not hide behind a flood of junk, nor flood the trail itself);
    // others, ten a minute per address.
    let quota = match lapsed {
        Some(id) => format!("lapsed{id}"),
        None => format!("refused{client}"),
    };
    if refused && state.limiter.take(&quota, 10).is_ok() {
        let route = req
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map_or("?", |m| m.as_str())
            .to_string();
        let ctx = Ctx {
            principal: Arc::new(Principal::anonymous()),
            request_id: current_request_id(),
            client: client.clone(),
            session: None,
            back: None,
            audit_failed: Arc::default(),
            write_undone: Arc::default(),
        };
        // A token the platform issued is the object (a search for token:<id> finds its use
        // after revocation); the route goes in the detail.
        let asked = format!("{} {route}", req.method());
        let (object, detail) = match (lapsed, prefix) {
            (Some(id), _) => (
                format!("token:{id}"),
                format!("{asked}：令牌已撤销、已过期或已失效"),
            ),
            (None, Some(p)) => (asked, format!("token={p}…")),
            (None, None) => (asked, "不是本平台格式的令牌".into()),
        };
        audit(
            &state,
            &ctx,
            "auth.refused",
            Some(object),
            "denied:unauthenticated",
            Some(detail),
        )
        .await;
    }
    if refused {
        let e = why.map_or(ApiError::Unauthenticated, ApiError::TokenLapsed);
        return labelled(&req, e.into_response());
    }
    let back = console_referer(req.headers());
    let audit_failed: Arc<std::sync::atomic::AtomicBool> = Arc::default();
    req.extensions_mut().insert(Ctx {
        principal: Arc::new(principal),
        request_id: current_request_id(),
        client,
        session,
        back,
        audit_failed: audit_failed.clone(),
        write_undone: Arc::default(),
    });
    let resp = next.run(req).await;
    // Every write and every sensitive read leaves an entry: one whose entry was lost is not
    // answered with its result (a write may have taken effect; the message says to look first).
    if audit_failed.load(std::sync::atomic::Ordering::SeqCst) {
        return crate::error::ApiError::Unavailable(
            "审计日志写入失败，本次请求的结果不予返回；如为写入操作，可能已经生效，请先查询再重试。请联系运维人员".into(),
        )
        .into_response();
    }
    resp
}

/// How the trail's unit column names a subject acting for itself (its key: a person's is no
/// ID number).
pub const SUBJECT_PREFIX: &str = "信用主体:";

/// The audit entry of this request.
pub fn audit_entry(
    ctx: &Ctx,
    action: &str,
    object: Option<String>,
    outcome: &str,
    detail: Option<String>,
) -> NewAuditEntry {
    let p = &ctx.principal;
    NewAuditEntry {
        at: None,
        actor: p.actor(),
        role: p.role.as_str().into(),
        // A financial institution is named by its code (it has no unit): the subjects it read
        // are shown who read them.
        // A subject acting for itself by its key: a token made without a name said nothing
        // of whose it was.
        unit: p.unit.clone().or_else(|| match (p.role, &p.subject_key) {
            (auth::Role::Financial, Some(code)) => {
                Some(format!("{}{code}", crate::api::joint::FINANCIAL_PREFIX))
            }
            (auth::Role::Subject, Some(key)) if !key.is_empty() => {
                Some(format!("{SUBJECT_PREFIX}{key}"))
            }
            _ => None,
        }),
        action: action.into(),
        object,
        outcome: outcome.into(),
        request_id: Some(ctx.request_id.clone()),
        client: Some(ctx.client.clone()),
        detail,
    }
}

/// Appends an audit entry for this request. A failure is logged, counted, makes `/readyz` say
/// so, and marks the request, which is then answered 503 (fail closed).
pub async fn audit(
    state: &Shared,
    ctx: &Ctx,
    action: &str,
    object: Option<String>,
    outcome: &str,
    detail: Option<String>,
) {
    append_entry(
        state,
        ctx,
        audit_entry(ctx, action, object, outcome, detail),
    )
    .await;
}

/// After a write that carried its entry in its own transaction (`Store::write_audited`): one
/// that stood has its entry; one that failed wrote nothing, and the failure is recorded as
/// such, on its own, with why (what the caller was told, ID and mobile numbers masked): a
/// refused bulletin or article said only its month or id.
pub async fn audited_write<T, E: std::fmt::Display>(
    state: &Shared,
    ctx: &Ctx,
    result: &Result<T, E>,
    mut entry: NewAuditEntry,
) {
    let e = match result {
        Ok(_) => {
            state.metrics.audit_written();
            return;
        }
        Err(e) => e,
    };
    // Undone because the trail refused its entry: a second one would be refused too.
    if ctx.write_undone.load(std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    entry.outcome = "failed".into();
    let why = domain::ids::mask_personal_in(&e.to_string()).into_owned();
    entry.detail = Some(match entry.detail.take() {
        Some(d) if !d.is_empty() => format!("{d} refused={why}"),
        _ => format!("refused={why}"),
    });
    append_entry(state, ctx, entry).await;
}

/// Runs a write that carries its audit entry into its own transaction (`f` hands it to the
/// store: `Store::write_audited`) on a blocking thread, and records it as failed on its own when
/// the write fails (see [`audited_write`]).
pub async fn write_carrying<T: Send + 'static>(
    state: &Shared,
    ctx: &Ctx,
    entry: NewAuditEntry,
    f: impl FnOnce(&mut NewAuditEntry) -> Result<T, crate::error::ApiError> + Send + 'static,
) -> Result<T, crate::error::ApiError> {
    let mut carried = entry.clone();
    let r = crate::blocking(move || f(&mut carried)).await;
    audited_write(state, ctx, &r, entry).await;
    r
}

/// For a write whose audit trail is in another store (`store::BeforeCommit`): the step that
/// writes its entry before it commits, blocking (on the write's own thread). A failure is
/// counted as a lost entry (the request answers 503: nothing was changed) and rolls the write
/// back.
pub fn entry_first(
    state: &Shared,
    ctx: &Ctx,
    entry: NewAuditEntry,
) -> impl Fn() -> Result<(), store::StoreError> + Send + use<> {
    let (state, ctx) = (state.clone(), ctx.clone());
    move || record_first(&state, &ctx, entry.clone())
}

/// Writes an entry now, blocking (see [`entry_first`]).
pub fn record_first(
    state: &Shared,
    ctx: &Ctx,
    entry: NewAuditEntry,
) -> Result<(), store::StoreError> {
    match state.audit.record_blocking(entry) {
        Ok(_) => {
            state.metrics.audit_written();
            Ok(())
        }
        Err(e) => {
            eprintln!(
                "{} ERROR audit entry refused before commit, request {}: {e}",
                chrono::Utc::now().to_rfc3339(),
                ctx.request_id
            );
            state.metrics.audit_lost();
            ctx.write_undone
                .store(true, std::sync::atomic::Ordering::SeqCst);
            Err(store::StoreError::AuditUnwritten(e.to_string()))
        }
    }
}

/// Appends an entry for this request (see [`audit`]).
pub async fn append_entry(state: &Shared, ctx: &Ctx, entry: NewAuditEntry) {
    use std::sync::atomic::Ordering;
    match state.audit.record(entry).await {
        Ok(_) => state.metrics.audit_written(),
        Err(e) => {
            eprintln!(
                "{} ERROR audit append failed for request {}: {e}",
                chrono::Utc::now().to_rfc3339(),
                ctx.request_id
            );
            state.metrics.audit_lost();
            ctx.audit_failed.store(true, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{console_referer, forwarded_client};

    #[test]
    fn an_error_page_goes_back_only_to_our_console() {
        let back = |r: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert(axum::http::header::REFERER, r.parse().unwrap());
            console_referer(&h)
        };
        assert_eq!(
            back("https://credit.example/console/checks/5?x=1").as_deref(),
            Some("/console/checks/5?x=1")
        );
        assert_eq!(
            back("/console/cases/2").as_deref(),
            Some("/console/cases/2")
        );
        for other in [
            "https://evil.example/",
            "https://credit.example/api/v1/me",
            "//evil.example/console",
            "javascript:alert(1)",
            "https://credit.example/console/a\"onmouseover=x",
        ] {
            assert_eq!(back(other), None, "{other}");
        }
    }

    #[test]
    fn the_client_is_the_address_the_proxy_appended() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().ok();
        assert_eq!(forwarded_client("203.0.113.7"), ip("203.0.113.7"));
        assert_eq!(forwarded_client("6.6.6.6, 203.0.113.7"), ip("203.0.113.7"));
        assert_eq!(forwarded_client("6.6.6.6,2001:db8::1"), ip("2001:db8::1"));
        assert_eq!(forwarded_client("6.6.6.6, not-an-address"), None);
        assert_eq!(forwarded_client(""), None);
    }
}
