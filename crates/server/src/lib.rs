//! The platform service (axum). Every request gets a request id and security headers, is
//! counted in the metrics, is rate-limited per credential or address, and is checked against the
//! roles its endpoint declares before its handler runs. Writes and sensitive reads leave audit
//! entries; errors never show internals.
//!
//! - `api`: the JSON API under `/api/v1`, described by `/api/v1/openapi.json`;
//! - `console`: the server-rendered console (login, unit home, accounts, tokens, audit);
//! - `access`: the table of endpoints and the roles that may call them;
//! - `context`: who is calling (session cookie or API token) and from where;
//! - `limits`, `metrics`, `headers`: protection and observation.

pub mod access;
mod api;
mod body;
mod console;
pub mod context;
pub mod error;
mod headers;
pub mod jobs;
mod limits;
pub mod manage;
pub mod metrics;
pub mod openapi;
mod portal;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use audit::AuditLog;
use crypto::KeyRing;
use domain::clock::Clock;
use rulebook::Rulebook;
use store::Store;

pub use access::{ALL_ROLES, Endpoint};
/// The keyed digest of a subscription call's codes its audit entry carries (for recomputing it
/// from a list a department says it sent).
pub use api::joint::codes_digest;
pub use error::{ApiError, ApiResult};

/// Settings an operator may change at start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Requests per minute allowed per API token or logged-in account.
    pub rate_per_credential: u32,
    /// Requests per minute allowed per client address when not logged in.
    pub rate_per_address: u32,
    /// Largest JSON request body.
    pub max_json_bytes: usize,
    /// Largest submission (file or JSON records), streamed.
    pub max_submission_bytes: u64,
    /// Mark session cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// A session ends after this long without a request …
    pub session_idle: Duration,
    /// … and after this long in any case.
    pub session_max: Duration,
    /// Trust `X-Forwarded-For` from a reverse proxy for the client address (its last entry).
    pub trust_forwarded: bool,
    /// How often the audit chain is checkpointed (signed) at least.
    pub checkpoint_every: Duration,
    /// How often the whole audit chain is verified in the background (a checkpoint checks only
    /// the entries since the last one; a row changed below it would go unseen until an auditor
    /// verified by hand, while new checkpoints were signed over it).
    pub verify_every: Duration,
    /// The address departments reach this service at (links in webhook deliveries).
    pub public_url: String,
    /// Where reminders and decisions go by SMS/email (the outbox's sender).
    pub outbox: OutboxTarget,
    /// Run the scheduled jobs (reminders, escalation, alerts, the outbox) in this process. Off
    /// for an instance that only answers requests while another runs them; the jobs' leases
    /// keep two instances that both run them from doing the same job twice.
    pub run_jobs: bool,
    /// SM3 fingerprints of the platform's earlier signing keys, whose audit checkpoints
    /// verification accepts (after a key change); any other key is a break.
    pub trusted_audit_keys: Vec<String>,
    /// Allow webhook addresses on this machine itself (a test's receiver; never in service).
    pub webhooks_to_loopback: bool,
    /// The intranet CA that HTTPS webhook receivers' certificates are checked against (instead
    /// of the public roots): `serve --webhook-ca`.
    pub webhook_ca: Option<joint::alerts::WebhookCa>,
    /// A webhook request's whole time, answer included; a receiver that takes longer has not
    /// taken the alert, which is sent again.
    pub webhook_timeout: Duration,
    /// How long one jobs pass may spend delivering alerts (the rest go in the next pass): the
    /// same pass runs the repair scheduler and list expiry.
    pub webhook_pass_budget: Duration,
    /// How long an upload may pause between two pieces. A submission holds the store's writer
    /// while its body streams in: a sender that stalls must not hold every other unit's imports.
    pub body_idle: Duration,
}

/// The outbox's sender: a local spool file, or the government SMS/email gateway.
#[derive(Debug, Clone)]
pub enum OutboxTarget {
    /// Each message appended as a JSON line.
    File(std::path::PathBuf),
    /// POSTed as JSON with `Idempotency-Key`.
    Gateway(String),
}

impl Config {
    /// How webhook deliveries (alerts and test pings) are made.
    pub fn webhooks(&self) -> joint::alerts::WebhookOptions {
        joint::alerts::WebhookOptions {
            loopback: self.webhooks_to_loopback,
            ca: self.webhook_ca.clone(),
            timeout: self.webhook_timeout,
            pass_budget: self.webhook_pass_budget,
            ..joint::alerts::WebhookOptions::default()
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rate_per_credential: 6000,
            rate_per_address: 600,
            max_json_bytes: 1 << 20,
            max_submission_bytes: 2 << 30,
            secure_cookies: false,
            session_idle: Duration::from_secs(30 * 60),
            session_max: Duration::from_secs(12 * 3600),
            trust_forwarded: false,
            // Entries after the last checkpoint could be rewritten unseen by whoever can write
            // the store: they are sealed within minutes.
            checkpoint_every: Duration::from_secs(5 * 60),
            verify_every: Duration::from_secs(6 * 3600),
            public_url: "http://127.0.0.1:8080".into(),
            outbox: OutboxTarget::File("xinyong-data/outbox.jsonl".into()),
            run_jobs: true,
            trusted_audit_keys: Vec::new(),
            webhooks_to_loopback: false,
            webhook_ca: None,
            webhook_timeout: Duration::from_secs(10),
            webhook_pass_budget: Duration::from_secs(30),
            body_idle: Duration::from_secs(30),
        }
    }
}

/// Everything a request may need.
pub struct AppState {
    pub store: Arc<Store>,
    pub platform: Arc<Store>,
    pub rules: Arc<Rulebook>,
    pub keys: Arc<KeyRing>,
    pub clock: Arc<dyn Clock>,
    pub audit: AuditLog,
    pub metrics: Arc<metrics::Metrics>,
    pub limiter: limits::RateLimiter,
    /// Failed logins per client address ([`limits::FailureWindow`]).
    pub login_failures: limits::FailureWindow,
    pub config: Config,
    pub endpoints: Vec<Endpoint>,
    pub touched: context::Touched,
    /// The portal's name search, rebuilt from the store at start and kept current.
    pub search: Arc<search::NameIndex>,
    /// The portal home's headline figures, recomputed in the background.
    pub figures: std::sync::RwLock<Vec<(String, String)>>,
    /// `GET /api/v1/stats` as the public may read it, recomputed with the figures.
    pub public_stats: std::sync::RwLock<Option<store::Stats>>,
    /// The red list's entries as its page shows them (those of subjects on a serious list set
    /// aside), counted with the home page's figures; -1 before the first count.
    pub red_shown: std::sync::atomic::AtomicI64,
    /// List entries in force, for checks (联合奖惩).
    pub lists: Arc<joint::ListIndex>,
    /// Checks are recorded in groups by one writer.
    pub checks: joint::CheckLog,
    /// Requests being handled (the audit and check writers commit a group once all of them
    /// are waiting in it).
    pub in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// The last day list expiry ran.
    pub expiry_day: std::sync::Mutex<Option<chrono::NaiveDate>>,
    /// When the list index was last rebuilt whole (the jobs do it hourly).
    pub index_built: std::sync::Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    /// API tokens recently read.
    pub tokens: context::TokenCache,
    /// Sends the outbox (SMS/email) for the repair and objection jobs.
    pub sender: Arc<dyn workflows::scheduler::Sender>,
    /// This process's name in the jobs table (leases).
    pub worker: String,
}

pub type Shared = Arc<AppState>;

/// How often the SQLite stores' WAL is copied back into the database off the request path.
/// Short passes: at 500 ms each pass copied and synced 40–60 ms of WAL, and commits that met one
/// stalled up to 57 ms; at 100 ms the longest stalls were 8–13 ms and the checks' p99 under wrk
/// 3.1–4.3 ms instead of 4.4–11 ms (1 M organisations; nine runs before, six after), for 2%
/// fewer checks/s.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// The WAL's size at which the checkpoint thread makes it start over (see
/// `Store::checkpoint_in_background`): about a second of checks under full load. (512 MiB, tried
/// with 500 ms passes, made the restarts rarer but each one longer, and the p99 no better.)
const WAL_RESTART_AT: u64 = 64 << 20;

impl AppState {
    pub fn new(
        store: Arc<Store>,
        platform: Arc<Store>,
        rules: Arc<Rulebook>,
        keys: Arc<KeyRing>,
        clock: Arc<dyn Clock>,
        config: Config,
    ) -> Result<AppState, store::StoreError> {
        // The audit chain is keyed from the key file (entries, and checks with theirs; the
        // platform store appends both). Another platform's key file is refused here too, not
        // only by `serve`: a service whose trail another key would sign must not start.
        platform.set_audit_key(keys.audit_chain_key())?;
        // Commits (audit entries, checks, imports) then never wait for a WAL copy and its fsync.
        for s in [&store, &platform] {
            if let Err(e) = s.checkpoint_in_background(CHECKPOINT_EVERY, WAL_RESTART_AT) {
                eprintln!("the SQLite WAL is checkpointed by the committing thread: {e}");
            }
        }
        let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let audit = AuditLog::start(platform.clone(), in_flight.clone());
        let search = Arc::new(search::NameIndex::build(&store).unwrap_or_else(|e| {
            eprintln!("search index could not be built: {e}");
            search::NameIndex::new()
        }));
        let lists = Arc::new(
            joint::ListIndex::build(&store, &platform, &rules).unwrap_or_else(|e| {
                eprintln!("list index could not be built: {e}");
                joint::ListIndex::new(&rules)
            }),
        );
        let checks = joint::CheckLog::start(platform.clone(), in_flight.clone());
        let inner: Arc<dyn workflows::scheduler::Sender> = match &config.outbox {
            OutboxTarget::File(path) => {
                Arc::new(workflows::scheduler::FileSender { path: path.clone() })
            }
            OutboxTarget::Gateway(url) => Arc::new(workflows::scheduler::HttpSender::new(url)),
        };
        let sender: Arc<dyn workflows::scheduler::Sender> = Arc::new(manage::ContactSender {
            inner,
            platform: platform.clone(),
            keys: keys.clone(),
        });
        let worker = format!(
            "{}-{}-{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "xinyong".into()),
            std::process::id(),
            crypto::random_hex(4).unwrap_or_default()
        );
        Ok(AppState {
            in_flight,
            sender,
            worker,
            lists,
            checks,
            expiry_day: std::sync::Mutex::new(None),
            index_built: std::sync::Mutex::new(Some(clock.now())),
            tokens: context::TokenCache::default(),
            store,
            platform,
            rules,
            keys,
            clock,
            audit,
            metrics: Arc::new(metrics::Metrics::default()),
            limiter: limits::RateLimiter::default(),
            login_failures: limits::FailureWindow::default(),
            config,
            endpoints: Vec::new(),
            touched: context::Touched::default(),
            search,
            figures: Default::default(),
            public_stats: Default::default(),
            red_shown: std::sync::atomic::AtomicI64::new(-1),
        })
    }
}

/// The day in Beijing of an instant.
pub fn today(t: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
    domain::clock::beijing(t).date_naive()
}

/// The MIME type of an XLSX workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A file to download (`file_name` in ASCII: a workbook, a CSV).
pub fn attachment(content_type: &str, file_name: &str, bytes: Vec<u8>) -> axum::response::Response {
    attachment_as(content_type, file_name, None, bytes)
}

/// A file to download under a Chinese name where the browser takes one (RFC 6266's
/// `filename*`), and `file_name` in ASCII where it does not.
pub fn attachment_as(
    content_type: &str,
    file_name: &str,
    shown: Option<&str>,
    bytes: Vec<u8>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let shown = shown
        .map(|s| format!("; filename*=UTF-8''{}", console::urlencode(s)))
        .unwrap_or_default();
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\"{shown}"),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// Runs blocking store work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

/// Builds the application: every route, its roles, and the layers around them.
pub fn app(state: AppState) -> (axum::Router, Shared) {
    let table = access::Routes::new().with_json_limit(state.config.max_json_bytes);
    let table = api::routes(table);
    let table = console::routes(table, &state.rules, state.config.max_submission_bytes);
    let table = portal::routes(table);
    let (router, endpoints) = table.finish();
    let mut state = state;
    state.endpoints = endpoints;
    let shared: Shared = Arc::new(state);
    // After every route (it applies to those registered before it): a page or API address
    // asked with another method is told so in Chinese, not answered with an empty 405.
    let router = router
        .method_not_allowed_fallback(api::meta::method_not_allowed)
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            access::check,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            context::resolve,
        ))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            headers::frame,
        ))
        .with_state(shared.clone());
    (router, shared)
}

/// How long in-flight requests may take to finish after the shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(60);

/// Serves until `shutdown` resolves; in-flight requests finish first. Signs an audit checkpoint
/// at least every `checkpoint_every` and once more on the way out.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (router, shared) = app(state);
    let ticker = tokio::spawn(checkpoints(shared.clone()));
    let refresher = tokio::spawn(portal::keep_current(shared.clone()));
    let lists = tokio::spawn(jobs::follow_lists(shared.clone()));
    let joint_jobs = shared
        .config
        .run_jobs
        .then(|| tokio::spawn(jobs::run(shared.clone())));
    // In-flight requests get `SHUTDOWN_GRACE` to finish once the signal comes; one that is
    // still running then (a stalled upload) is abandoned, and its submission rolls back whole.
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .into_future();
    let result = tokio::select! {
        r = server => r,
        _ = async {
            let _ = stop_rx.wait_for(|stopping| *stopping).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            eprintln!("停止：{}秒后仍有请求未完成，不再等待（未完成的报送整批不保存）", SHUTDOWN_GRACE.as_secs());
            Ok(())
        }
    };
    ticker.abort();
    refresher.abort();
    lists.abort();
    if let Some(j) = joint_jobs {
        j.abort();
    }
    let s = shared.clone();
    // Not over a trail found broken (a signature would vouch for it).
    if s.metrics.chain_broken() {
        eprintln!("停止时未签署审计检查点：审计日志链已发现断裂");
    } else if let Ok(Err(e)) =
        tokio::task::spawn_blocking(move || audit::checkpoint(&s.platform, &s.keys, s.clock.now()))
            .await
    {
        eprintln!("停止时未签署审计检查点：{e}");
    }
    result
}

async fn checkpoints(state: Shared) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    let mut verified: Option<std::time::Instant> = None;
    loop {
        tick.tick().await;
        let s = state.clone();
        let verify = verified.is_none_or(|t| t.elapsed() >= s.config.verify_every);
        if verify {
            verified = Some(std::time::Instant::now());
        }
        let _ = tokio::task::spawn_blocking(move || {
            if verify {
                verify_trail(&s);
            }
            // Nothing is signed over a trail found broken: a signature would vouch for it.
            if s.metrics.chain_broken() {
                return;
            }
            let every = chrono::Duration::from_std(s.config.checkpoint_every)
                .unwrap_or(chrono::Duration::days(1));
            if audit::checkpoint_due(&s.platform, s.clock.now(), every).unwrap_or(false)
                && let Err(e) = audit::checkpoint(&s.platform, &s.keys, s.clock.now())
            {
                // A chain refused for signing stays unsigned; `audit verify` names the break.
                eprintln!("未签署审计检查点：{e}");
            }
        })
        .await;
    }
}

/// Verifies the whole audit chain and notes the result: a break is logged, counted in
/// `/metrics` (`xinyong_audit_chain_broken`), written to the trail as the platform's own step,
/// and stops checkpoint signing until a verification passes again. Returns whether it held.
pub fn verify_trail(state: &Shared) -> bool {
    let started = std::time::Instant::now();
    let v = match audit::verify(
        &state.platform,
        &state.keys,
        &state.config.trusted_audit_keys,
    ) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("审计日志核验未能完成：{e}");
            return !state.metrics.chain_broken();
        }
    };
    let ok = v.ok();
    let was_broken = state.metrics.chain_verified(ok);
    // The whole chain is read at start: the operator (and the benchmark, which measures the
    // service after it) learns when that is done.
    if ok {
        eprintln!(
            "审计日志核验通过：{}条，{}个检查点，用时{:.1}秒",
            v.entries,
            v.checkpoints,
            started.elapsed().as_secs_f64()
        );
    }
    if let Some(b) = v.first_break.as_ref().filter(|_| !ok) {
        eprintln!(
            "{} ERROR 审计日志链断裂（第{}条）：{}；暂停签署检查点，请安全审计员核验",
            chrono::Utc::now().to_rfc3339(),
            b.seq,
            b.reason
        );
        // Once per break found, not every pass.
        if !was_broken {
            let entry = store::NewAuditEntry {
                at: None,
                actor: "system:audit".into(),
                role: "system".into(),
                unit: None,
                action: "audit.verify".into(),
                object: Some(format!("audit:{}", b.seq)),
                outcome: "failed:broken".into(),
                request_id: None,
                client: None,
                detail: Some(b.reason.clone()),
            };
            if let Err(e) = state.audit.record_blocking(entry) {
                eprintln!("audit append failed for the verification's finding: {e}");
            }
        }
    }
    ok
}
