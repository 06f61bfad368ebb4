//! A service under test: the real router on a real store (SQLite or PostgreSQL), an account, a
//! session and an API token for every role, and a few records to read.

#![allow(dead_code)]

pub mod webdriver;

use std::collections::HashMap;
use std::sync::Arc;

use auth::Role;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use server::{AppState, Config, Shared};
use tower::ServiceExt;

pub struct Harness {
    pub router: Router,
    pub state: Shared,
    pub tokens: HashMap<Role, String>,
    /// Session secret and CSRF token per role.
    pub sessions: HashMap<Role, (String, String)>,
    /// An organisation with a public penalty.
    pub org: String,
    /// A natural person's ID number with a public penalty.
    pub person: String,
    pub ts: testkit::TestStore,
    /// The service's clock, for tests that move time.
    pub clock: Arc<domain::clock::FixedClock>,
    /// The outbox spool's directory, removed with the harness.
    _outbox: Option<tempfile::TempDir>,
}

pub const UNIT: &str = "盐城市生态环境局";
pub const OTHER_UNIT: &str = "盐城市应急管理局";

pub fn penalty_csv(rows: &[(&str, &str, &str, &str)]) -> String {
    // (name, kind, code or ID, decision no)
    let mut s = String::from(
        "CF_XDR_MC,CF_XDR_LB,CF_XDR_SHXYM,CF_FRDB,CF_XDR_ZJLX,CF_XDR_ZJHM,CF_WSH,CF_WFXW,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_NR_FK,CF_JDRQ,CF_YXQ,CF_CFJG,CF_CFJGDM,CF_SJLY,CF_SJLYDM\n",
    );
    for (name, kind, code, no) in rows {
        let (uscc, rep, idt, id) = if *kind == "自然人" {
            ("", "", "身份证", *code)
        } else {
            (*code, "张三", "", "")
        };
        s.push_str(&format!(
            "{name},{kind},{uscc},{rep},{idt},{id},{no},超标排放,经查超标排放大气污染物,《中华人民共和国大气污染防治法》第九十九条,罚款,处罚款0.5万元,0.5,2026-06-01,2029-06-01,盐城市生态环境局,11320900001401484X,盐城市生态环境局,11320900001401484X\n"
        ));
    }
    s
}

/// The test financial institution's 统一社会信用代码.
pub const BANK: &str = "91320900MA3DDFT272";

pub fn harness_on(ts: testkit::TestStore, mut config: Config) -> Harness {
    // Reminders sent during a test go to a spool of its own, not into the working directory:
    // in a fresh directory, removed with the harness (a name made of the process id met the
    // spool an earlier process of the same id had left, and a test counted its lines too).
    let mut outbox_dir = None;
    if matches!(config.outbox, server::OutboxTarget::File(_)) {
        let dir = tempfile::Builder::new()
            .prefix("xinyong-test-outbox-")
            .tempdir()
            .unwrap();
        config.outbox = server::OutboxTarget::File(dir.path().join("outbox.jsonl"));
        outbox_dir = Some(dir);
    }
    let rules = Arc::new(rulebook::Rulebook::builtin().unwrap());
    let keys = Arc::new(testkit::keys());
    let fixed = Arc::new(testkit::clock_on("2026-06-10"));
    let clock: Arc<dyn domain::clock::Clock> = fixed.clone();
    let store = Arc::new(store::Store::open(&ts.spec).unwrap());
    let platform = Arc::new(store::Store::open_platform(&ts.spec).unwrap());
    // A few public records.
    let org = "91320900MA1MB4X50R".to_string();
    let person = "320902198503151234".to_string();
    let unit_code = rules.units.find(UNIT).unwrap().uscc.clone();
    let csv = penalty_csv(&[
        (
            "盐城市恒泰化工有限公司",
            "法人及非法人组织",
            &org,
            "盐环罚〔2026〕1号",
        ),
        ("王小明", "自然人", &person, "盐环罚〔2026〕2号"),
    ])
    .replace("11320900001401484X", &unit_code);
    ingest::Importer {
        store: &store,
        rules: &rules,
        keys: &keys,
        clock: clock.as_ref(),
    }
    .import_reader(
        Some("seed.csv".into()),
        ingest::Format::Csv,
        csv.as_bytes(),
        &ingest::ImportOptions {
            unit: UNIT.into(),
            class: "行政处罚".into(),
            actor: "test".into(),
            channel: store::Channel::File,
        },
        &|_| {},
    )
    .unwrap();
    let now = clock.now();
    let mut tokens = HashMap::new();
    let mut sessions = HashMap::new();
    for role in auth::ALL_ROLES {
        if role == Role::Public {
            continue;
        }
        let unit = role.needs_unit().then_some(UNIT);
        // A financial institution's account and token carry its own code (信易贷授权查询).
        let subject = if role == Role::Financial {
            Some(BANK)
        } else {
            role.needs_subject().then_some(org.as_str())
        };
        let hash = auth::hash_password("Testing2026pass").unwrap();
        let id = platform
            .create_account(
                &store::NewAccount {
                    username: role.as_str(),
                    display_name: role.label(),
                    role: role.as_str(),
                    unit,
                    subject_key: subject,
                    password_hash: &hash,
                    must_change: false,
                    created_by: "test",
                    at: now,
                },
                None,
            )
            .unwrap();
        let secret = auth::new_secret("xs").unwrap();
        platform
            .create_session(
                &auth::secret_hash(&secret),
                id,
                now,
                now + chrono::Duration::hours(1),
                None,
            )
            .unwrap();
        sessions.insert(role, (secret.clone(), auth::csrf_token(&keys, &secret)));
        let t = server::manage::create_token(
            &platform,
            &rules,
            &keys,
            &server::manage::TokenRequest {
                name: format!("t-{role}"),
                role,
                unit: unit.map(str::to_string),
                subject: subject.map(str::to_string),
                days: Some(30),
            },
            "test",
            now,
            None,
        )
        .unwrap();
        tokens.insert(role, t.token);
    }
    let state = AppState::new(store, platform, rules, keys, clock, config).expect("service state");
    let (router, state) = server::app(state);
    Harness {
        router,
        state,
        tokens,
        sessions,
        org,
        person,
        ts,
        clock: fixed,
        _outbox: outbox_dir,
    }
}

pub fn harness() -> Harness {
    harness_on(testkit::sqlite(), Config::default())
}

/// The same service on a fresh PostgreSQL schema (the sync client connects outside the async
/// runtime, as the server's pools do).
pub async fn pg_harness() -> Harness {
    tokio::task::spawn_blocking(|| harness_on(testkit::postgres(), Config::default()))
        .await
        .unwrap()
}

/// A penalty file from `rows` as `UNIT` sends it, its own code filled in.
pub fn unit_penalty_csv(state: &Shared, rows: &[(&str, &str, &str, &str)]) -> String {
    penalty_csv(rows).replace(
        "11320900001401484X",
        &state.rules.units.find(UNIT).unwrap().uscc,
    )
}

/// Imports `csv` as `unit` sends it (blocking: call it off the async workers).
pub fn import_csv(state: &Shared, unit: &str, class: &str, csv: &str) -> ingest::ImportSummary {
    ingest::Importer {
        store: &state.store,
        rules: &state.rules,
        keys: &state.keys,
        clock: state.clock.as_ref(),
    }
    .import_reader(
        None,
        ingest::Format::Csv,
        csv.as_bytes(),
        &ingest::ImportOptions {
            unit: unit.into(),
            class: class.into(),
            actor: "test".into(),
            channel: store::Channel::File,
        },
        &|_| {},
    )
    .unwrap()
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Token,
    Session,
}

impl Harness {
    /// An API token for `role` of another `unit` than the harness's.
    pub fn token_for(&self, role: Role, unit: &str) -> String {
        tokio::task::block_in_place(|| {
            server::manage::create_token(
                &self.state.platform,
                &self.state.rules,
                &self.state.keys,
                &server::manage::TokenRequest {
                    name: format!("{role} of {unit}"),
                    role,
                    unit: Some(unit.into()),
                    subject: None,
                    days: Some(1),
                },
                "test",
                self.state.clock.now(),
                None,
            )
        })
        .unwrap()
        .token
    }

    /// An account of the harness's unit made by the office, which must change its password at
    /// first login.
    pub fn new_account(&self, username: &str, role: Role) -> server::manage::CreatedAccount {
        tokio::task::block_in_place(|| {
            server::manage::create_account(
                &self.state.platform,
                &self.state.rules,
                &self.state.keys,
                &server::manage::AccountRequest {
                    username: username.into(),
                    display_name: username.into(),
                    role,
                    unit: Some(UNIT.into()),
                    subject: None,
                    password: None,
                },
                "test",
                self.state.clock.now(),
                None,
            )
        })
        .unwrap()
    }

    /// A request with `token`, and a JSON body when given.
    pub async fn send_as(
        &self,
        token: &str,
        method: Method,
        uri: &str,
        body: Option<serde_json::Value>,
    ) -> Reply {
        let b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        let req = match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }

    /// Makes the platform store refuse every audit entry (`on`), or take them again.
    pub fn block_audit(&self, on: bool) {
        tokio::task::block_in_place(|| {
            self.state.platform.write(|c| {
                c.batch(if on {
                    "CREATE TRIGGER block_audit BEFORE INSERT ON audit_log
                     BEGIN SELECT RAISE(ABORT, 'blocked by test'); END"
                } else {
                    "DROP TRIGGER block_audit"
                })
            })
        })
        .unwrap()
    }

    /// The outcomes of the audit entries of `action` on `object`, newest first.
    pub fn outcomes(&self, action: &str, object: &str) -> Vec<String> {
        self.trail(action, object)
            .into_iter()
            .map(|a| a.entry.outcome)
            .collect()
    }

    /// Audit entries of `action` on `object`, newest first.
    pub fn trail(&self, action: &str, object: &str) -> Vec<store::StoredAudit> {
        tokio::task::block_in_place(|| {
            self.state.platform.audit_search(&store::AuditQuery {
                action: Some(action.into()),
                object: Some(object.into()),
                limit: 20,
                ..Default::default()
            })
        })
        .unwrap()
    }

    /// Moves the service's clock and gives every role a fresh session and token valid at the new
    /// time (the harness's expire an hour and 30 days after the start).
    pub async fn move_to(&mut self, t: chrono::DateTime<chrono::Utc>) {
        self.clock.set(t);
        let state = self.state.clone();
        let fresh = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for role in auth::ALL_ROLES {
                if role == Role::Public {
                    continue;
                }
                let acc = state
                    .platform
                    .account_by_username(role.as_str())
                    .unwrap()
                    .unwrap();
                let secret = auth::new_secret("xs").unwrap();
                state
                    .platform
                    .create_session(
                        &auth::secret_hash(&secret),
                        acc.account_id,
                        t,
                        t + chrono::Duration::hours(1),
                        None,
                    )
                    .unwrap();
                let csrf = auth::csrf_token(&state.keys, &secret);
                let tok = server::manage::create_token(
                    &state.platform,
                    &state.rules,
                    &state.keys,
                    &server::manage::TokenRequest {
                        name: format!("t2-{role}"),
                        role,
                        unit: acc.unit.clone(),
                        subject: acc.subject_key.clone(),
                        days: Some(30),
                    },
                    "test",
                    t,
                    None,
                )
                .unwrap();
                out.push((role, secret, csrf, tok.token));
            }
            out
        })
        .await
        .unwrap();
        for (role, secret, csrf, token) in fresh {
            self.sessions.insert(role, (secret, csrf));
            self.tokens.insert(role, token);
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A request as `role` (Public: no credentials), by token or by session.
    pub fn request(
        &self,
        method: Method,
        uri: &str,
        role: Role,
        via: Via,
    ) -> axum::http::request::Builder {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "localhost");
        if role != Role::Public {
            match via {
                Via::Token => {
                    b = b.header(
                        header::AUTHORIZATION,
                        format!("Bearer {}", self.tokens[&role]),
                    )
                }
                Via::Session => {
                    b = b.header(
                        header::COOKIE,
                        format!("xy_session={}", self.sessions[&role].0),
                    )
                }
            }
        }
        b
    }

    pub async fn get(&self, uri: &str, role: Role) -> Reply {
        let via = if uri.starts_with("/console") {
            Via::Session
        } else {
            Via::Token
        };
        self.send(
            self.request(Method::GET, uri, role, via)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn post_json(&self, uri: &str, role: Role, body: serde_json::Value) -> Reply {
        self.send(
            self.request(Method::POST, uri, role, Via::Token)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    pub async fn post_form(&self, uri: &str, role: Role, fields: &[(&str, &str)]) -> Reply {
        let csrf = self
            .sessions
            .get(&role)
            .map(|s| s.1.clone())
            .unwrap_or_default();
        let mut form: Vec<String> = vec![format!("csrf={csrf}")];
        form.extend(fields.iter().map(|(k, v)| format!("{k}={}", urlencode(v))));
        self.send(
            self.request(Method::POST, uri, role, Via::Session)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form.join("&")))
                .unwrap(),
        )
        .await
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
