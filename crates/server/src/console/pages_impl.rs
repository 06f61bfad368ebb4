//! The console's pages and form actions.

use crate::body::ApiForm;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;

use super::{error_page, frame, message, render, see_other, session_cookie, with_cookie};
use crate::api::submissions::{
    import_body, rejections_file, visible_submission, withdraw_submission,
};
use crate::body::{ApiPath, ApiQuery};
use crate::context::{Ctx, append_entry, audit, audit_entry, write_carrying};
use crate::error::ApiError;
use crate::manage::{self, AccountRequest, TokenRequest};
use crate::{Shared, blocking, today};

const LOCK_AFTER: i64 = 5;
/// Days a password serves before its holder must change it at the next login.
pub(crate) const PASSWORD_MAX_AGE_DAYS: i64 = 90;
const LOCK_MINUTES: i64 = 15;
/// Failed logins from one client address (any names) before it waits out the window: enough
/// for an office behind one address to mistype, too few to lock more than a few accounts.
const ADDRESS_FAILURES: u32 = 20;
const ADDRESS_WINDOW_MINUTES: u64 = 15;
const ADDRESS_WINDOW: std::time::Duration =
    std::time::Duration::from_secs(ADDRESS_WINDOW_MINUTES * 60);

/// The forms' `csrf` fields default to empty, so that a form posted without one is refused
/// here (403, and recorded as a refusal, as a wrong one is) rather than by the form reader.
pub(super) fn check_csrf(ctx: &Ctx, token: &str) -> Result<(), ApiError> {
    match &ctx.session {
        Some(s) if !token.is_empty() && crypto_eq(&s.csrf, token) => Ok(()),
        // Said as what it most often is (a page left open across a new login), not as a role
        // without the right: the officer has the right and only needs a fresh page.
        _ => Err(ApiError::NotYours(
            "页面已过期或表单来源不正确：请刷新页面后重新提交".into(),
        )),
    }
}

fn crypto_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A form posted from another site is refused (login has no session to bind a token to yet).
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match headers.get("origin").and_then(|v| v.to_str().ok()) {
        None | Some("null") => headers.get("origin").is_none(),
        Some(o) => o.split("://").nth(1).is_some_and(|h| h == host),
    }
}

pub(super) fn fmt_time(t: chrono::DateTime<chrono::Utc>) -> String {
    domain::clock::beijing(t)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub(super) fn rate(a: u64, b: u64) -> String {
    if b == 0 {
        "-".into()
    } else {
        format!("{:.2}%", a as f64 * 100.0 / b as f64)
    }
}

pub(super) fn class_label(state: &Shared, code: &str) -> String {
    state
        .rules
        .catalog
        .class_by_code(code)
        .map_or(code.to_string(), |c| c.name.clone())
}

fn submission_row(state: &Shared, s: &store::Submission) -> pages::SubmissionRow {
    pages::SubmissionRow {
        id: s.submission_id,
        received: fmt_time(s.received_at),
        unit: s.source_unit.clone(),
        class: class_label(state, &s.class_code),
        file: s.file_name.clone().unwrap_or_default(),
        channel: match s.channel.as_str() {
            "api" => "接口",
            "case" => "信用修复申请（平台登记）",
            _ => "文件",
        }
        .into(),
        rows_read: s.counts.rows_read,
        accepted: s.counts.accepted,
        rejected: s.counts.rejected,
        intake_rate: rate(s.counts.accepted, s.counts.rows_read),
        status: if s.status == "withdrawn" {
            "已撤回"
        } else if s.counts.rows_read > 0 && s.counts.accepted == 0 && s.counts.unchanged == 0 {
            "全部退回"
        } else if s.counts.rejected > 0 {
            "部分入库"
        } else {
            "已入库"
        }
        .into(),
    }
}

#[derive(Deserialize)]
pub struct NextParam {
    pub next: Option<String>,
}

/// The cookie that carries the login form's token (double submit: the form's field must match
/// it, and only a page of this site can read it into the form).
pub const LOGIN_COOKIE: &str = "xy_login";

pub async fn login_form(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<NextParam>,
) -> Response {
    if ctx.principal.is_authenticated() {
        return see_other("/console");
    }
    let token = match crypto::random_hex(16) {
        Ok(t) => t,
        Err(e) => return error_page(&ctx, ApiError::internal(e)),
    };
    let page = render(
        StatusCode::OK,
        pages::Login {
            frame: frame(&ctx, "登录", ""),
            username: String::new(),
            next: q.next.unwrap_or_default(),
            login_csrf: token.clone(),
        },
    );
    with_cookie(page, login_cookie(&token, state.config.secure_cookies))
}

/// The login form's cookie for `token` (see [`LOGIN_COOKIE`]).
fn login_cookie(token: &str, secure: bool) -> String {
    format!(
        "{LOGIN_COOKIE}={token}; Path=/console/login; HttpOnly; SameSite=Strict; Max-Age=7200{}",
        if secure { "; Secure" } else { "" }
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
    pub next: Option<String>,
    #[serde(default)]
    pub login_csrf: String,
}

pub async fn login(
    State(state): State<Shared>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiForm(f): ApiForm<LoginForm>,
) -> Response {
    let token = f.login_csrf.clone();
    let fail = |ctx: &Ctx, status: StatusCode, msg: &str, username: &str, next: &str| {
        let mut fr = frame(ctx, "登录", "");
        fr.error = Some(msg.to_string());
        render(
            status,
            pages::Login {
                frame: fr,
                username: username.to_string(),
                next: next.to_string(),
                // The same token again: its cookie stands.
                login_csrf: token.clone(),
            },
        )
    };
    let next = f.next.clone().unwrap_or_default();
    if !same_origin(&headers) {
        return fail(
            &ctx,
            StatusCode::FORBIDDEN,
            "请求来源不正确",
            &f.username,
            &next,
        );
    }
    // The form's token must be the one its cookie carries: a form posted from another site
    // (login CSRF) has neither, one from a page left open past its cookie has no cookie.
    let cookie = crate::context::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if f.login_csrf.is_empty() || !crypto_eq(&cookie, &f.login_csrf) {
        // The form again with a fresh token, so that the next try from this page goes through.
        let fresh = crypto::random_hex(16).unwrap_or_default();
        let mut fr = frame(&ctx, "登录", "");
        fr.error = Some("登录页面已过期，请重新输入密码登录".into());
        let page = render(
            StatusCode::FORBIDDEN,
            pages::Login {
                frame: fr,
                username: f.username.clone(),
                next: next.clone(),
                login_csrf: fresh.clone(),
            },
        );
        return with_cookie(page, login_cookie(&fresh, state.config.secure_cookies));
    }
    let username = f.username.trim().to_string();
    // An address that failed too often waits, whatever name it tries now: no account is
    // counted against (or locked) by its tries meanwhile.
    let address = format!("ip{}", ctx.client);
    if let Some(wait) = state
        .login_failures
        .blocked(&address, ADDRESS_FAILURES, ADDRESS_WINDOW)
    {
        audit(
            &state,
            &ctx,
            "login",
            Some(format!("user:{username}")),
            "denied:address_throttled",
            Some(format!(
                "本地址{ADDRESS_WINDOW_MINUTES}分钟内登录失败已达{ADDRESS_FAILURES}次"
            )),
        )
        .await;
        let mut page = fail(
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            &format!("本机登录失败次数过多，请{}分钟后再试", wait.div_ceil(60)),
            &username,
            &next,
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&wait.to_string()) {
            page.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        return page;
    }
    let (s, u, pw) = (state.clone(), username.clone(), f.password.clone());
    let result = blocking(move || {
        let now = s.clock.now();
        let lock_until = now + chrono::Duration::minutes(LOCK_MINUTES);
        // Every failure costs one password check: the time does not tell an unknown name from a
        // locked or disabled account (nor does the message, below).
        // A name no account can have (control characters — PostgreSQL refuses a NUL in text —
        // or longer than any) is an unknown one, not a store error.
        let possible = u.chars().count() <= 64 && !u.chars().any(char::is_control);
        let found = if possible {
            s.platform.account_by_username(&u)?
        } else {
            None
        };
        let Some(a) = found else {
            auth::verify_password(&pw, "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000");
            return Ok(Err(Refused::UnknownUser));
        };
        // The attempt is counted before the password is checked, so that guesses sent at once
        // cannot all pass the limit.
        let attempt = if a.disabled_at.is_none() {
            Some(
                s.platform
                    .login_attempt(a.account_id, LOCK_AFTER, now, lock_until)?,
            )
        } else {
            None
        };
        let right = auth::verify_password(&pw, &a.password_hash);
        match attempt {
            None => return Ok(Err(Refused::Disabled)),
            Some(store::LoginAttempt::Locked) => {
                return Ok(Err(Refused::Locked {
                    until: a.locked_until,
                    right,
                }));
            }
            Some(store::LoginAttempt::Locking) if !right => {
                return Ok(Err(Refused::BadPassword {
                    locked_until: Some(lock_until),
                }));
            }
            Some(_) if !right => return Ok(Err(Refused::BadPassword { locked_until: None })),
            Some(_) => {}
        }
        s.platform.logged_in(a.account_id, s.clock.now())?;
        // A password older than the policy allows is changed before anything else (GB/T
        // 22239-2019 8.1.4.1 a): 身份鉴别信息…定期更换); one never set since the account was
        // made counts from then. Marked on the account, so that every page but the password's
        // stays closed until it is changed.
        let set_at = a.password_changed_at.unwrap_or(a.created_at);
        let expired = now - set_at > chrono::Duration::days(PASSWORD_MAX_AGE_DAYS);
        if expired && !a.must_change {
            s.platform.require_password_change(a.account_id)?;
        }
        let secret = auth::new_secret("xs").map_err(ApiError::internal)?;
        let expires = now + chrono::Duration::from_std(s.config.session_idle).unwrap_or_default();
        s.platform.create_session(&auth::secret_hash(&secret), a.account_id, now, expires, None)?;
        Ok(Ok((secret, a.must_change || expired, a.role, a.unit)))
    })
    .await;
    match result {
        Ok(Ok((secret, must, role, unit))) => {
            // The user who logged in is its actor (a search by actor finds their logins), with
            // the account's role and unit.
            let mut entry =
                audit_entry(&ctx, "login", Some(format!("user:{username}")), "ok", None);
            // The account marked to change its password (first login, reset, or 90 days) is
            // part of this entry: the login wrote it.
            if must {
                entry.detail = Some("须先修改密码（首次登录、已重置或已使用超过90天）".into());
            }
            entry.actor = format!("user:{username}");
            entry.role = role;
            entry.unit = unit;
            append_entry(&state, &ctx, entry).await;
            let to = if must {
                "/console/password".to_string()
            } else if next.starts_with("/console")
                && !next.starts_with("//")
                // Dot segments (and an encoded dot) would lead out of /console once resolved.
                && !next
                    .split(['?', '#'])
                    .next()
                    .unwrap_or_default()
                    .split('/')
                    .any(|seg| seg == ".." || seg == "." || seg.contains('%'))
                // A control character cannot go into a Location header (and CR/LF would split
                // it); a backslash is a slash to some browsers. Such a target is not ours.
                && !next.bytes().any(|b| b.is_ascii_control() || b == b'\\')
            {
                // Not ASCII (a unit's name in a query): percent-encoded, as a Location holds it.
                next.bytes()
                    .map(|b| {
                        if b.is_ascii() && b != b' ' {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect()
            } else {
                "/console".to_string()
            };
            with_cookie(
                see_other(&to),
                session_cookie(&secret, state.config.secure_cookies, false),
            )
        }
        Ok(Err(why)) => {
            state.login_failures.failed(&address, ADDRESS_WINDOW);
            // The trail keeps the real reason; the user reads the same message whatever it is
            // (no telling which names exist).
            audit(
                &state,
                &ctx,
                "login",
                Some(format!("user:{username}")),
                why.outcome(),
                Some(why.detail()),
            )
            .await;
            if let Refused::BadPassword {
                locked_until: Some(t),
            } = why
            {
                account_locked(&state, &ctx, &username, t).await;
            }
            fail(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                LOGIN_FAILED,
                &username,
                &next,
            )
        }
        Err(e) => error_page(&ctx, e),
    }
}

/// What a refused login shows, whatever the reason.
const LOGIN_FAILED: &str = "用户名或密码错误，或账号已锁定（连续错误5次锁定15分钟）";

/// Why a login was refused, for the audit trail only.
enum Refused {
    UnknownUser,
    /// With the time the account is locked until when this failure locked it.
    BadPassword {
        locked_until: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Whether the password given was right: a right one during the lock is its owner waiting,
    /// or a guess that found it.
    Locked {
        until: Option<chrono::DateTime<chrono::Utc>>,
        right: bool,
    },
    Disabled,
}

impl Refused {
    fn outcome(&self) -> &'static str {
        match self {
            Refused::UnknownUser => "denied:unknown_user",
            Refused::BadPassword { .. } => "denied:bad_password",
            Refused::Locked { .. } => "denied:locked",
            Refused::Disabled => "denied:disabled",
        }
    }

    fn detail(&self) -> String {
        match self {
            Refused::UnknownUser => "用户名不存在".into(),
            Refused::BadPassword { locked_until: None } => "密码错误".into(),
            Refused::BadPassword {
                locked_until: Some(t),
            } => format!(
                "密码错误，连续错误{LOCK_AFTER}次，账号锁定至{}",
                fmt_time(*t)
            ),
            Refused::Locked { until, right } => format!(
                "账号锁定中{}，所给密码{}",
                until
                    .map(|t| format!("（至{}）", fmt_time(t)))
                    .unwrap_or_default(),
                if *right { "正确" } else { "错误" }
            ),
            Refused::Disabled => "账号已停用".into(),
        }
    }
}

/// The moment an account gets locked by failed attempts, an entry of its own.
async fn account_locked(
    state: &Shared,
    ctx: &Ctx,
    username: &str,
    until: chrono::DateTime<chrono::Utc>,
) {
    audit(
        state,
        ctx,
        "account.locked",
        Some(format!("user:{username}")),
        "ok",
        Some(format!(
            "连续{LOCK_AFTER}次密码错误，锁定{LOCK_MINUTES}分钟，至{}",
            fmt_time(until)
        )),
    )
    .await;
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiForm(f): ApiForm<CsrfForm>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    if let Some(sess) = ctx.session.clone() {
        let s = state.clone();
        let _ = blocking(move || {
            Ok(s.platform
                .revoke_session(&auth::secret_hash(&sess.secret), s.clock.now())?)
        })
        .await;
    }
    audit(&state, &ctx, "logout", None, "ok", None).await;
    with_cookie(
        see_other("/console/login"),
        session_cookie("", state.config.secure_cookies, true),
    )
}

#[derive(Deserialize)]
pub struct HomeParams {
    /// The office's view narrowed to one unit's batches.
    #[serde(default)]
    pub unit: Option<String>,
    /// Batches numbered below this (the next page back).
    #[serde(default)]
    pub before: Option<i64>,
}

/// Batches the home page lists at a time.
const HOME_BATCHES: i64 = 50;
/// A new password may not be the current one or one of the ones before it, this many in all.
const PASSWORDS_REMEMBERED: i64 = 5;
/// 重错码 findings a unit's home page lists at most.
const UNIT_CONFLICTS_SHOWN: i64 = 20;

pub async fn home(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<HomeParams>,
) -> Response {
    let s = state.clone();
    let c = ctx.clone();
    let before = q.before;
    let r = blocking(move || {
        let unit_filter = q
            .unit
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_string);
        let p = &c.principal;
        let mut figures = Vec::new();
        let mut links = Vec::new();
        let mut upload = Vec::new();
        let mut conflicts = Vec::new();
        let fig = |l: &str, v: String| pages::Figure {
            label: l.into(),
            value: v,
        };
        let nav = |href: &str, label: &str| pages::NavItem {
            href: href.into(),
            label: label.into(),
            active: false,
        };
        let (heading, subs) = match p.role {
            auth::Role::Reporter | auth::Role::Reviewer => {
                let unit = p.unit.clone().unwrap_or_default();
                let q = s.store.quality_by_unit(Some(&unit))?;
                let c = q.first().map(|x| x.counts).unwrap_or_default();
                figures.push(fig(
                    "报送批次",
                    q.first().map_or(0, |x| x.submissions).to_string(),
                ));
                figures.push(fig("读取行数", c.rows_read.to_string()));
                figures.push(fig("入库", c.accepted.to_string()));
                figures.push(fig("退回", c.rejected.to_string()));
                figures.push(fig("入库率", rate(c.accepted, c.rows_read)));
                figures.push(fig("关联率", rate(c.linked, c.accepted)));
                // 重错码 the unit itself brought in: it is the one that can correct them.
                conflicts = super::monitoring::conflict_cells(
                    &s.store
                        .code_conflicts_of_unit(&unit, UNIT_CONFLICTS_SHOWN)?,
                );
                if p.role == auth::Role::Reporter
                    && let Some(u) = s.rules.units.find(&unit)
                {
                    upload = s
                        .rules
                        .catalog
                        .classes
                        .iter()
                        .filter(|k| u.may_report(k))
                        .map(|k| pages::ClassOption {
                            value: k.name.clone(),
                            label: k.name.clone(),
                        })
                        .collect();
                }
                (
                    format!("{unit} · 报送工作台"),
                    s.store
                        .submissions_before(Some(&unit), before, HOME_BATCHES)?,
                )
            }
            auth::Role::Admin => {
                let st = s.store.stats()?;
                figures.push(fig("信用主体", st.subjects.to_string()));
                figures.push(fig("现行记录", st.records.to_string()));
                figures.push(fig("报送批次", st.submissions.unwrap_or(0).to_string()));
                links.push(pages::NavItem {
                    href: "/console/accounts".into(),
                    label: "账号管理".into(),
                    active: false,
                });
                links.push(pages::NavItem {
                    href: "/console/tokens".into(),
                    label: "接口令牌".into(),
                    active: false,
                });
                // Any unit's history, page by page (the office looking into a unit that
                // reported late, or with many rejections): by its full name, or by part of it
                // or its county's (东台: every 东台 unit).
                let subs = match unit_filter.as_deref() {
                    Some(f) if s.rules.units.find(f).is_none() => {
                        let units: Vec<String> = s
                            .rules
                            .units
                            .units
                            .iter()
                            .filter(|u| {
                                u.name.contains(f)
                                    || s.rules
                                        .divisions
                                        .get(&u.division)
                                        .is_some_and(|d| d.name.contains(f))
                            })
                            .map(|u| u.name.clone())
                            .collect();
                        s.store
                            .submissions_of_before(&units, before, HOME_BATCHES)?
                    }
                    f => s.store.submissions_before(f, before, HOME_BATCHES)?,
                };
                ("信用办工作台".to_string(), subs)
            }
            auth::Role::Auditor => {
                let (seq, _) = s.platform.audit_head()?;
                figures.push(fig("审计日志条数", seq.to_string()));
                figures.push(fig(
                    "签名检查点",
                    s.platform.audit_checkpoint_count()?.to_string(),
                ));
                if let Some(last) = s.platform.audit_last_checkpoint()? {
                    figures.push(fig("最近检查点", fmt_time(last.at)));
                }
                links.push(pages::NavItem {
                    href: "/console/audit".into(),
                    label: "查询与校验审计日志".into(),
                    active: false,
                });
                ("安全审计".to_string(), Vec::new())
            }
            auth::Role::Subject => {
                // What a company or person comes to see: its records, what it may do about
                // them, and where its applications stand.
                let a = crate::api::cases::actor(&c)?;
                let mine = crate::api::cases::my_records_for(&s, &a)?;
                let open = crate::api::cases::cases_for(
                    &s,
                    &a,
                    &crate::api::cases::CasesQuery {
                        kind: None,
                        open: true,
                        overdue: false,
                    },
                )?;
                let count = |status: &str| {
                    mine.records
                        .iter()
                        .filter(|r| r.status == status)
                        .count()
                        .to_string()
                };
                figures.push(fig("公示中的记录", count("公示中")));
                figures.push(fig(
                    "今天可申请修复",
                    mine.records
                        .iter()
                        .filter(|r| r.may_apply)
                        .count()
                        .to_string(),
                ));
                figures.push(fig(
                    "异议处理中",
                    mine.records
                        .iter()
                        .filter(|r| r.under_objection)
                        .count()
                        .to_string(),
                ));
                figures.push(fig("办理中的申请", open.len().to_string()));
                links.push(pages::NavItem {
                    href: "/console/my/records".into(),
                    label: "查看我的信用记录、申请信用修复或提出异议".into(),
                    active: false,
                });
                links.push(pages::NavItem {
                    href: "/console/cases".into(),
                    label: "我的申请".into(),
                    active: false,
                });
                ("信用主体工作台".to_string(), Vec::new())
            }
            auth::Role::Deciding => {
                // What waits on the unit: applications to accept or decide, the late ones.
                let a = crate::api::cases::actor(&c)?;
                let count = |overdue: bool| -> Result<String, ApiError> {
                    Ok(crate::api::cases::cases_for(
                        &s,
                        &a,
                        &crate::api::cases::CasesQuery {
                            kind: None,
                            open: true,
                            overdue,
                        },
                    )?
                    .len()
                    .to_string())
                };
                figures.push(fig("办理中的修复和异议", count(false)?));
                figures.push(fig("已超过办理时限", count(true)?));
                links.push(nav("/console/cases", "信用修复工作台（受理、审核、决定）"));
                links.push(nav(
                    "/console/lists",
                    "本单位认定名单（限期整改、提前移出、撤销认定）",
                ));
                (
                    format!("{} · 认定单位工作台", p.unit.clone().unwrap_or_default()),
                    Vec::new(),
                )
            }
            auth::Role::Handling => {
                let unit = p.unit.clone().unwrap_or_default();
                // Alerts on the unit's subscribed subjects still owed an answer.
                let waiting = s.platform.alerts(Some(&unit), true, 1000)?.len();
                figures.push(fig(
                    "待反馈的预警",
                    if waiting >= 1000 {
                        "1000+".into()
                    } else {
                        waiting.to_string()
                    },
                ));
                links.push(nav("/console/checks", "信用核查（逢办必查）"));
                links.push(nav("/console/batches", "批量审查"));
                links.push(nav("/console/alerts", "预警与反馈"));
                (format!("{unit} · 核查工作台"), Vec::new())
            }
            auth::Role::Financial => {
                links.push(nav("/console/checks", "信用核查（授信融资）"));
                links.push(nav("/console/authorisations", "主体授权查询（信易贷）"));
                ("金融机构工作台".to_string(), Vec::new())
            }
            other => (format!("{}工作台", other.label()), Vec::new()),
        };
        let warnings = match p.role {
            auth::Role::Reporter | auth::Role::Reviewer => views::monitoring::warnings(
                &s.store,
                &s.rules,
                Some(p.unit.as_deref().unwrap_or_default()),
                today(s.clock.now()),
            )?,
            auth::Role::Admin => {
                views::monitoring::warnings(&s.store, &s.rules, None, today(s.clock.now()))?
            }
            _ => Vec::new(),
        };
        Ok(pages::Home {
            warnings: warnings.into_iter().map(|w| w.message).collect(),
            frame: frame(&c, "首页", "/console"),
            heading,
            figures,
            older: (subs.len() as i64 == HOME_BATCHES)
                .then(|| subs.last().map(|x| x.submission_id))
                .flatten(),
            unit_filter: if c.principal.role == auth::Role::Admin {
                Some(unit_filter.clone().unwrap_or_default())
            } else {
                None
            },
            submissions: subs.iter().map(|x| submission_row(&s, x)).collect(),
            // Only those who report, or oversee reporting, have submissions to list.
            shows_submissions: crate::access::UNIT_STAFF.contains(&c.principal.role),
            upload_classes: upload,
            links,
            conflicts,
        })
    })
    .await;
    match r {
        Ok(page) => render(StatusCode::OK, page),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn password_form(ctx: Ctx) -> Response {
    render(
        StatusCode::OK,
        pages::Password {
            frame: frame(&ctx, "修改密码", ""),
            forced: ctx.session.as_ref().is_some_and(|s| s.must_change),
            policy: auth::password_policy_text(),
            min_length: auth::MIN_PASSWORD,
        },
    )
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub csrf: String,
    pub current: String,
    pub new: String,
    pub repeat: String,
}

pub async fn change_password(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiForm(f): ApiForm<PasswordForm>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    let Some(sess) = ctx.session.clone() else {
        return error_page(&ctx, ApiError::Unauthenticated);
    };
    let s = state.clone();
    let mut carried = audit_entry(&ctx, "account.change_password", None, "ok", None);
    let r = blocking(move || {
        let a = s
            .platform
            .account(sess.account_id)?
            .ok_or(ApiError::Unauthenticated)?;
        // A wrong current password counts like a failed login: a taken-over session must not
        // guess the password at leisure.
        let now = s.clock.now();
        let lock_until = now + chrono::Duration::minutes(LOCK_MINUTES);
        let attempt = s
            .platform
            .login_attempt(a.account_id, LOCK_AFTER, now, lock_until)?;
        let right = auth::verify_password(&f.current, &a.password_hash);
        if attempt == store::LoginAttempt::Locked || !right {
            let locked =
                (attempt == store::LoginAttempt::Locking).then(|| (a.username.clone(), lock_until));
            return Ok(Err((
                "原密码不正确（连续错误5次将锁定账号15分钟）".to_string(),
                locked,
            )));
        }
        s.platform.login_succeeded(a.account_id)?;
        if f.new != f.repeat {
            return Ok(Err(("两次输入的新密码不一致".to_string(), None)));
        }
        if f.new == f.current {
            return Ok(Err(("新密码不能与原密码相同".to_string(), None)));
        }
        if let Err(e) = auth::check_password_policy(&a.username, &f.new) {
            return Ok(Err((e.to_string(), None)));
        }
        // Nor one of the last few: switching away and back would undo the periodic change.
        if s.platform
            .previous_password_hashes(a.account_id, PASSWORDS_REMEMBERED - 1)?
            .iter()
            .any(|h| auth::verify_password(&f.new, h))
        {
            return Ok(Err((
                format!("新密码不能与最近{PASSWORDS_REMEMBERED}次使用过的密码相同"),
                None,
            )));
        }
        let hash = auth::hash_password(&f.new).map_err(ApiError::internal)?;
        let now = s.clock.now();
        // Every session of the account ends with the old password (a stolen one too); this
        // browser gets a new one.
        s.platform
            .set_password(a.account_id, &hash, false, now, Some(&mut carried))?;
        let secret = auth::new_secret("xs").map_err(ApiError::internal)?;
        let expires = now + chrono::Duration::from_std(s.config.session_idle).unwrap_or_default();
        s.platform.create_session(
            &auth::secret_hash(&secret),
            a.account_id,
            now,
            expires,
            None,
        )?;
        Ok(Ok(secret))
    })
    .await;
    match r {
        Ok(Ok(secret)) => {
            // Its entry went with the new password.
            state.metrics.audit_written();
            with_cookie(
                message(
                    &ctx,
                    StatusCode::OK,
                    "密码已修改",
                    "新密码已生效，其他已登录的会话均已退出。",
                    Some("/console".into()),
                ),
                session_cookie(&secret, state.config.secure_cookies, false),
            )
        }
        Ok(Err((msg, locked))) => {
            audit(
                &state,
                &ctx,
                "account.change_password",
                None,
                "failed",
                Some(msg.clone()),
            )
            .await;
            if let Some((username, until)) = locked {
                account_locked(&state, &ctx, &username, until).await;
            }
            let mut fr = frame(&ctx, "修改密码", "");
            fr.error = Some(msg);
            render(
                StatusCode::UNPROCESSABLE_ENTITY,
                pages::Password {
                    frame: fr,
                    forced: ctx.session.as_ref().is_some_and(|s| s.must_change),
                    policy: auth::password_policy_text(),
                    min_length: auth::MIN_PASSWORD,
                },
            )
        }
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn upload(
    State(state): State<Shared>,
    ctx: Ctx,
    crate::body::ApiMultipart(mut mp): crate::body::ApiMultipart,
) -> Response {
    let mut csrf = String::new();
    let mut class = String::new();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return error_page(&ctx, ApiError::Unprocessable("没有收到文件".into())),
            Err(e) => return error_page(&ctx, crate::body::multipart_error(e)),
        };
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("class") => class = field.text().await.unwrap_or_default(),
            Some("file") => {
                if let Err(e) = check_csrf(&ctx, &csrf) {
                    return error_page(&ctx, e);
                }
                let name = crate::body::upload_name(field.file_name(), "upload.csv");
                let format = ingest::Format::from_path(std::path::Path::new(&name));
                let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
                let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                    rx.recv().await.map(|i| (i, rx))
                });
                let body = axum::body::Body::from_stream(stream);
                let mut field = field;
                let pump = async move {
                    loop {
                        match field.chunk().await {
                            Ok(Some(c)) => {
                                if tx.send(Ok(c)).await.is_err() {
                                    break;
                                }
                            }
                            Ok(None) => break,
                            Err(e) => {
                                // Over the upload limit: the importer answers 413, as the API does.
                                let msg = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                                    crate::body::TOO_LARGE.to_string()
                                } else {
                                    "上传未能完整接收（连接中断或超时）".to_string()
                                };
                                let _ = tx.send(Err(std::io::Error::other(msg))).await;
                                break;
                            }
                        }
                    }
                };
                let (result, ()) = tokio::join!(
                    import_body(
                        &state,
                        &ctx,
                        store::Channel::File,
                        class.clone(),
                        Some(name),
                        format,
                        body
                    ),
                    pump
                );
                return match result {
                    Ok(summary) => match (summary.submission_id, summary.duplicate_of) {
                        (Some(id), _) => see_other(&format!("/console/submissions/{id}")),
                        // The same file again: its earlier batch, saying so.
                        (None, Some(id)) => see_other(&format!(
                            "/console/submissions/{id}?duplicate=1&left={}",
                            summary.left_as_corrected
                        )),
                        (None, None) => see_other("/console"),
                    },
                    Err(e) => error_page(&ctx, e),
                };
            }
            _ => {}
        }
    }
}

#[derive(Deserialize)]
pub struct SubmissionParams {
    /// Set when the upload that led here was this batch's file again.
    #[serde(default)]
    pub duplicate: Option<u8>,
    /// With it, the records the repeat would have changed back (corrected since).
    #[serde(default)]
    pub left: Option<u64>,
}

pub async fn submission(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<SubmissionParams>,
) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let again = q.duplicate.is_some();
    let left = q.left.unwrap_or(0);
    let r = blocking(move || {
        let sub = visible_submission(&s, &c, id)?;
        let rejected = s.store.rejections_page(id, 0, 501)?;
        let more = rejected.len() > 500;
        let writer = matches!(
            c.principal.role,
            auth::Role::Reporter | auth::Role::Reviewer
        ) && c.principal.unit.as_deref() == Some(sub.source_unit.as_str());
        let can_withdraw = sub.status == "committed" && writer;
        // A commitment signed in a repair application is the subject's word: not the unit's
        // to withdraw, row by row either.
        let can_withdraw_records = writer && sub.channel != "case";
        let mut entries = s.store.submission_entries(id, 501)?;
        let more_accepted = entries.len() > 500;
        entries.truncate(500);
        let accepted_rows = accepted_entries(&s, &sub.class_code, &entries);
        Ok(pages::SubmissionPage {
            frame: frame(&c, &format!("报送批次{id}"), ""),
            s: submission_row(&s, &sub),
            digest: sub.digest.clone(),
            format: format_label(&sub.format),
            actor: actor_label(&sub.actor),
            created: sub.counts.created,
            corrected: sub.counts.corrected,
            unchanged: sub.counts.unchanged,
            linked: sub.counts.linked,
            suspect: sub.counts.suspect,
            on_time: sub.counts.on_time,
            rejected_rows: rejected
                .iter()
                .take(500)
                .map(|r| {
                    let (no, name) = crate::api::submissions::rejected_identity(
                        &s,
                        &sub.class_code,
                        &sub.header_map,
                        &r.raw_sealed,
                    );
                    pages::RejectedRow {
                        row_no: r.row_no,
                        decision_no: no.unwrap_or_default(),
                        subject_name: name.unwrap_or_default(),
                        reasons: ingest::rejects::reason_text(r),
                    }
                })
                .collect(),
            more_rejected: more,
            accepted_rows,
            more_accepted,
            can_withdraw,
            can_withdraw_records,
            notices: again
                .then(|| {
                    format!(
                        "刚才上传的文件与本批次（第{id}批）的文件完全相同（SM3摘要一致），未重复入库，数据没有任何变化{}；以下是本批次原来的处理结果",
                        if left > 0 {
                            format!("；其中{left}条记录此后已被更正或变更，本次重报不会恢复原内容，如确需恢复，请修改后重新报送")
                        } else {
                            String::new()
                        }
                    )
                })
                .into_iter()
                // A withdrawn batch says why, as its API reading does.
                .chain((sub.status == "withdrawn").then(|| {
                    format!(
                        "本批次已撤回：{}",
                        sub.status_reason.as_deref().unwrap_or("（未说明理由）")
                    )
                }))
                .chain(sub.notices.iter().cloned())
                .collect(),
            unknown_columns: sub.unknown_columns.join("、"),
        })
    })
    .await;
    match r {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn submission_rejections(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    match rejections_file(&state, &ctx, id).await {
        Ok(r) => r,
        Err(e) => error_page(&ctx, e),
    }
}

/// A batch's rows as its page lists them: the document number and party as stored (masked),
/// and what became of each record since.
fn accepted_entries(
    s: &Shared,
    class_code: &str,
    entries: &[store::SubmissionEntry],
) -> Vec<pages::AcceptedEntry> {
    use domain::catalog::Role as ItemRole;
    let class = s.rules.catalog.class_by_code(class_code);
    let code_of = |role| {
        class
            .and_then(|c| c.item_by_role(role))
            .map(|i| i.code.clone())
    };
    let (no_item, name_item) = (
        code_of(ItemRole::DecisionNo),
        code_of(ItemRole::SubjectName),
    );
    entries
        .iter()
        .map(|e| {
            let pairs = store::payload_pairs_on(&e.payload, e.decided_on);
            let value = |item: &Option<String>| {
                item.as_ref()
                    .and_then(|k| pairs.iter().find(|(p, _)| p == k))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let ended = matches!(
                e.now.as_str(),
                "withdrawn" | "repaired" | "exited" | "revoked" | "expired"
            );
            let now = match (e.now.as_str(), e.current) {
                ("withdrawn", _) => "已撤回",
                ("repaired", _) => "已信用修复",
                ("exited" | "revoked" | "expired", _) => "已移出名单",
                (_, true) => "现行",
                _ if e.restored => "撤回后已恢复（现行）",
                (_, false) => "已被此后的报送或变更更正",
            };
            pages::AcceptedEntry {
                row_no: e.row.row_no,
                record_id: e.row.record_id.clone(),
                decision_no: value(&no_item),
                subject: value(&name_item),
                change: if e.row.change == "corrected" {
                    "更正".into()
                } else {
                    "新增".into()
                },
                now: now.into(),
                withdrawable: (e.current || e.restored) && !ended,
                // (The store refuses what may not come back, saying why.)
                restorable: e.now == "withdrawn" && e.latest_before_end,
                id_note: if e.row.id_suspect {
                    e.row
                        .id_note
                        .clone()
                        .unwrap_or_else(|| "证件号码存疑".into())
                } else {
                    String::new()
                },
            }
        })
        .collect()
}

#[derive(Deserialize)]
pub struct RecordWithdrawForm {
    #[serde(default)]
    pub csrf: String,
    pub record_id: String,
    /// The batch page the form was on, to go back to.
    pub submission: Option<i64>,
    pub reason: String,
    /// Ticked: the decision itself was revoked or changed by law (a withdrawal form only).
    #[serde(default)]
    pub decision_revoked: Option<String>,
}

/// What a record's withdrawal or restoration from its batch's page answers: done, with the way
/// back to the batch, or the refusal.
fn record_changed<T>(
    ctx: &Ctx,
    r: Result<T, ApiError>,
    heading: &str,
    body: &str,
    submission: Option<i64>,
) -> Response {
    match r {
        Ok(_) => render(
            StatusCode::OK,
            pages::Message {
                frame: frame(ctx, heading, ""),
                heading: heading.into(),
                body: body.into(),
                link: Some(match submission {
                    Some(id) => (
                        format!("/console/submissions/{id}"),
                        format!("返回报送批次{id}"),
                    ),
                    None => ("/console/submissions".into(), "返回报送批次".into()),
                }),
                refresh_to: None,
            },
        ),
        Err(e) => error_page(ctx, e),
    }
}

/// A unit puts back a record it withdrew by mistake (from its batch's page; the API's
/// restoration, audited there).
pub async fn restore_record(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiForm(f): ApiForm<RecordWithdrawForm>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    let body = crate::api::files::Restore { reason: f.reason };
    let r = crate::api::files::restore_record(
        State(state.clone()),
        ctx.clone(),
        ApiPath(f.record_id.clone()),
        crate::body::ApiJson(body),
    )
    .await;
    record_changed(
        &ctx,
        r,
        "已恢复",
        "该记录增加了一个与撤回前内容相同的新版本，已恢复公示。",
        f.submission,
    )
}

/// Withdraws one record from its batch's page (the API's record withdrawal, audited there).
pub async fn withdraw_record(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiForm(f): ApiForm<RecordWithdrawForm>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    let body = crate::api::files::Withdraw {
        reason: f.reason,
        decision_revoked: f.decision_revoked.is_some(),
    };
    let r = crate::api::files::withdraw_record(
        State(state.clone()),
        ctx.clone(),
        ApiPath(f.record_id.clone()),
        crate::body::ApiJson(body),
    )
    .await;
    record_changed(
        &ctx,
        r,
        "已撤回",
        "该记录增加了一个撤回版本，已停止公示。",
        f.submission,
    )
}

#[derive(Deserialize)]
pub struct WithdrawForm {
    #[serde(default)]
    pub csrf: String,
    pub reason: String,
}

pub async fn withdraw(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiForm(f): ApiForm<WithdrawForm>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    match withdraw_submission(&state, &ctx, id, &f.reason).await {
        Ok(n) => message(
            &ctx,
            StatusCode::OK,
            "已撤回",
            &format!(
                "报送批次{id}写入的{}条记录各增加了一个撤回版本。{}",
                n.withdrawn,
                left_later(&n)
            ),
            None,
        ),
        Err(e) => error_page(&ctx, e),
    }
}

/// The records a batch withdrawal left because later batches corrected them, said to the clerk.
fn left_later(n: &store::BatchWithdrawal) -> String {
    if n.left_corrected_later == 0 {
        return String::new();
    }
    format!(
        "另有{}条本批次报送的记录此后已被批次{}更正，未随本批次撤回；如需撤回，请撤回相应批次或逐条撤回。",
        n.left_corrected_later,
        n.batches()
    )
}

/// The roles the credit office may make accounts (`for_accounts`) or tokens for (subjects',
/// admins' and the auditor's are made on the command line: `manage::office_may_create`; a
/// monitoring system has a token, no account).
fn role_options(for_accounts: bool) -> Vec<pages::ClassOption> {
    auth::ALL_ROLES
        .iter()
        .filter(|r| **r != auth::Role::Public && manage::office_may_create(**r).is_ok())
        .filter(|r| !(for_accounts && r.token_only()))
        .map(|r| pages::ClassOption {
            value: r.as_str().into(),
            label: r.label().into(),
        })
        .collect()
}

fn unit_names(state: &Shared) -> Vec<String> {
    state
        .rules
        .units
        .units
        .iter()
        .map(|u| u.name.clone())
        .collect()
}

async fn accounts_page(
    state: &Shared,
    ctx: &Ctx,
    created: Option<(String, String, String)>,
    error: Option<String>,
) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let accounts = s.platform.accounts()?;
        let own = c.principal.actor();
        let mut fr = frame(&c, "账号管理", "/console/accounts");
        fr.error = error;
        Ok(pages::Accounts {
            frame: fr,
            accounts: accounts
                .iter()
                .map(|a| pages::AccountRow {
                    id: a.account_id,
                    username: a.username.clone(),
                    name: a.display_name.clone(),
                    role: a
                        .role
                        .parse::<auth::Role>()
                        .map(|r| r.label().to_string())
                        .unwrap_or_else(|_| a.role.clone()),
                    unit: a.unit.clone().unwrap_or_default(),
                    subject: a.subject_key.clone().unwrap_or_default(),
                    // When and by whom (an account made on the command line says so).
                    created: format!(
                        "{}（{}）",
                        fmt_time(a.created_at),
                        actor_label(&a.created_by)
                    ),
                    status: match (a.disabled_at, a.locked_until.filter(|t| *t > s.clock.now())) {
                        (Some(t), _) => format!("已停用（{}）", fmt_time(t)),
                        (None, Some(t)) => format!("已锁定至{}", fmt_time(t)),
                        (None, None) if a.must_change => "正常（待首次修改密码）".into(),
                        (None, None) => "正常".into(),
                    },
                    // What a review of dormant accounts reads (等保: 多余的、过期的账户).
                    last_login: a.last_login_at.map_or_else(|| "从未登录".into(), fmt_time),
                    password_set: format!(
                        "{}{}",
                        domain::clock::beijing(a.password_changed_at.unwrap_or(a.created_at))
                            .format("%Y-%m-%d"),
                        if a.failed_logins > 0 {
                            format!("；连续输错{}次", a.failed_logins)
                        } else {
                            String::new()
                        }
                    ),
                    disabled: a.disabled_at.is_some(),
                    // Not one's own account: the office cannot stop itself working.
                    manageable: own != format!("user:{}", a.username)
                        && a.role
                            .parse::<auth::Role>()
                            .is_ok_and(|r| manage::office_may_manage(r).is_ok()),
                    resettable: a
                        .role
                        .parse::<auth::Role>()
                        .is_ok_and(manage::office_may_reset),
                    enableable: a.role.parse::<auth::Role>().is_ok_and(|r| {
                        r != auth::Role::Admin && manage::office_may_manage(r).is_ok()
                    }),
                })
                .collect(),
            roles: role_options(true),
            units: unit_names(&s),
            created,
        })
    })
    .await;
    // Who holds which powers: a sensitive read, here as in the API.
    audit(
        state,
        ctx,
        "account.list",
        None,
        if r.is_ok() { "ok" } else { "failed" },
        r.as_ref()
            .ok()
            .map(|p| format!("{}个账号", p.accounts.len())),
    )
    .await;
    match r {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(ctx, e),
    }
}

pub async fn accounts(State(state): State<Shared>, ctx: Ctx) -> Response {
    accounts_page(&state, &ctx, None, None).await
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    pub csrf: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub unit: Option<String>,
    pub subject: Option<String>,
}

pub async fn create_account(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiForm(f): ApiForm<AccountForm>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    let role = match f.role.parse::<auth::Role>() {
        Ok(r) => r,
        Err(e) => return accounts_page(&state, &ctx, None, Some(e)).await,
    };
    let req = AccountRequest {
        username: f.username.clone(),
        display_name: f.display_name,
        role,
        unit: f.unit.filter(|u| !u.is_empty()),
        subject: f.subject.filter(|u| !u.is_empty()),
        password: None,
    };
    let (s, actor, r2) = (state.clone(), ctx.principal.actor(), req.clone());
    let entry = audit_entry(
        &ctx,
        "account.create",
        Some(format!("account:{}", f.username)),
        "ok",
        // Whose account it is, as the API's entry says (a reviewer of the trail read only the
        // role).
        Some(format!(
            "role={role} unit={} subject={}",
            req.unit.as_deref().unwrap_or("-"),
            req.subject.as_deref().unwrap_or("-")
        )),
    );
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        manage::office_creates_account(&s, &r2, &actor, carried)
    })
    .await;
    match r {
        Ok(c) => {
            let made = (
                c.username,
                c.initial_password,
                "已创建，初始密码".to_string(),
            );
            accounts_page(&state, &ctx, Some(made), None).await
        }
        Err(e) => accounts_page(&state, &ctx, None, Some(e.to_string())).await,
    }
}

pub async fn disable_account(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> Response {
    switch_account(state, ctx, id, &f.csrf, false).await
}

/// Enables a disabled account again (beside disabling, by the same rules).
pub async fn enable_account(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> Response {
    switch_account(state, ctx, id, &f.csrf, true).await
}

/// Disables or enables an account from the console, audited either way.
async fn switch_account(state: Shared, ctx: Ctx, id: i64, csrf: &str, enable: bool) -> Response {
    if let Err(e) = check_csrf(&ctx, csrf) {
        return error_page(&ctx, e);
    }
    let s = state.clone();
    let by = ctx.principal.clone();
    let action = if enable {
        "account.enable"
    } else {
        "account.disable"
    };
    let entry = audit_entry(&ctx, action, Some(format!("account:{id}")), "ok", None);
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        if enable {
            manage::enable_account(&s, id, Some(carried))
        } else {
            manage::disable_account(&s, id, &by, Some(carried))
        }
    })
    .await;
    match r {
        Ok(_) => see_other("/console/accounts"),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn reset_account(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    let s = state.clone();
    let entry = audit_entry(
        &ctx,
        "account.reset_password",
        Some(format!("account:{id}")),
        "ok",
        None,
    );
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        let a = s
            .platform
            .account(id)?
            .ok_or_else(|| ApiError::NotFound(format!("账号{id}不存在")))?;
        Ok((
            a.username,
            manage::reset_password(&s.platform, id, s.clock.now(), Some(carried))?,
        ))
    })
    .await;
    match r {
        Ok((user, pass)) => {
            let reset = (user, pass, "的密码已重置，临时密码".to_string());
            accounts_page(&state, &ctx, Some(reset), None).await
        }
        Err(e) => error_page(&ctx, e),
    }
}

async fn tokens_page(
    state: &Shared,
    ctx: &Ctx,
    new_secret: Option<String>,
    error: Option<String>,
) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let now = s.clock.now();
        let mut fr = frame(&c, "接口令牌", "/console/tokens");
        fr.error = error;
        Ok(pages::Tokens {
            frame: fr,
            tokens: s
                .platform
                .tokens()?
                .iter()
                .map(|t| pages::TokenRow {
                    id: t.token_id,
                    prefix: t.prefix.clone(),
                    name: t.name.clone(),
                    role: t
                        .role
                        .parse::<auth::Role>()
                        .map(|r| r.label().to_string())
                        .unwrap_or_else(|_| t.role.clone()),
                    // A financial institution's token: its code, which names the institution.
                    unit: t
                        .unit
                        .clone()
                        .or_else(|| t.subject_key.clone().filter(|_| t.role == "financial"))
                        .unwrap_or_default(),
                    expires: fmt_time(t.expires_at),
                    last_used: t
                        .last_used_at
                        .map(fmt_time)
                        .unwrap_or_else(|| "从未".into()),
                    status: if let Some(at) = t.revoked_at {
                        // When (who is on the trail: token.revoke, object token:<id>).
                        format!("已吊销（{}）", fmt_time(at))
                    } else if t.expires_at <= now {
                        "已过期".into()
                    } else {
                        "有效".into()
                    },
                    revoked: t.revoked_at.is_some(),
                    manageable: t
                        .role
                        .parse::<auth::Role>()
                        .is_ok_and(|r| manage::office_may_manage(r).is_ok()),
                })
                .collect(),
            roles: role_options(false),
            units: unit_names(&s),
            new_secret,
        })
    })
    .await;
    match r {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(ctx, e),
    }
}

pub async fn tokens(State(state): State<Shared>, ctx: Ctx) -> Response {
    // As GET /api/v1/tokens: a sensitive read.
    audit(&state, &ctx, "token.list", None, "ok", None).await;
    tokens_page(&state, &ctx, None, None).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub csrf: String,
    pub name: String,
    pub role: String,
    pub unit: Option<String>,
    /// A financial institution's own 统一社会信用代码.
    pub subject: Option<String>,
    pub days: u32,
}

pub async fn create_token(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiForm(f): ApiForm<TokenForm>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    let role = match f.role.parse::<auth::Role>() {
        Ok(r) => r,
        Err(e) => return tokens_page(&state, &ctx, None, Some(e)).await,
    };
    let req = TokenRequest {
        name: f.name.clone(),
        role,
        unit: f.unit.filter(|u| !u.is_empty()),
        subject: f.subject.filter(|s| !s.trim().is_empty()),
        days: Some(f.days),
    };
    let (s, actor, r2) = (state.clone(), ctx.principal.actor(), req.clone());
    let entry = audit_entry(
        &ctx,
        "token.create",
        None,
        "ok",
        Some(format!(
            "name={} role={role} unit={} subject={} days={}",
            f.name,
            req.unit.as_deref().unwrap_or("-"),
            req.subject.as_deref().unwrap_or("-"),
            f.days
        )),
    );
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        manage::office_creates_token(&s, &r2, &actor, carried)
    })
    .await;
    match r {
        Ok(t) => tokens_page(&state, &ctx, Some(t.token), None).await,
        Err(e) => tokens_page(&state, &ctx, None, Some(e.to_string())).await,
    }
}

pub async fn revoke_token(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    let s = state.clone();
    let entry = audit_entry(
        &ctx,
        "token.revoke",
        Some(format!("token:{id}")),
        "ok",
        None,
    );
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        crate::manage::revoke_token_of_office(
            &s.platform,
            &s.tokens,
            id,
            s.clock.now(),
            Some(carried),
        )
    })
    .await;
    match r {
        Ok(_) => see_other("/console/tokens"),
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(Deserialize)]
pub struct AuditParams {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub object: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub before: Option<i64>,
}

async fn audit_view(
    state: &Shared,
    ctx: &Ctx,
    q: AuditParams,
    verification: Option<String>,
) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let (actor, action, object) = (
        q.actor.unwrap_or_default(),
        q.action.unwrap_or_default(),
        q.object.unwrap_or_default(),
    );
    let day = |d: &Option<String>, end: bool| match d.as_deref().map(str::trim) {
        Some(x) if !x.is_empty() => crate::api::trail::day_start(x, end).map(Some),
        _ => Ok(None),
    };
    let (from, to) = match (day(&q.from, false), day(&q.to, true)) {
        (Ok(Some(a)), Ok(Some(b))) if a > b => {
            return error_page(
                ctx,
                ApiError::Unprocessable("起始日期晚于截止日期：请调换“自”和“至”".into()),
            );
        }
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return error_page(ctx, e),
    };
    let query = store::AuditQuery {
        actor: Some(actor.clone()).filter(|x| !x.is_empty()),
        action: Some(action.clone()).filter(|x| !x.is_empty()),
        object: Some(object.clone()).filter(|x| !x.is_empty()),
        from,
        to,
        before: q.before,
        limit: 100,
    };
    let (from_s, to_s) = (
        q.from.unwrap_or_default().trim().to_string(),
        q.to.unwrap_or_default().trim().to_string(),
    );
    let r = blocking(move || {
        let rows = s.platform.audit_search(&query)?;
        let next_before = (rows.len() == 100)
            .then(|| rows.last().map(|r| r.entry.seq))
            .flatten();
        Ok(pages::Audit {
            frame: frame(&c, "审计日志", "/console/audit"),
            actor,
            action,
            actions: ACTION_LABELS
                .iter()
                .map(|(c, l)| (c.to_string(), l.to_string()))
                .collect(),
            object,
            from: from_s,
            to: to_s,
            rows: rows
                .iter()
                .map(|r| {
                    let e = &r.entry;
                    pages::AuditRow {
                        seq: e.seq,
                        at: domain::clock::beijing(e.at)
                            .format("%Y-%m-%d %H:%M:%S")
                            .to_string(),
                        actor: actor_label(&e.actor),
                        actor_code: e.actor.clone(),
                        role: match e.role.as_str() {
                            "system" => "平台".to_string(),
                            "operator" => "命令行操作员".to_string(),
                            r => r
                                .parse::<auth::Role>()
                                .map_or_else(|_| r.to_string(), |r| r.label().to_string()),
                        },
                        unit: e.unit.clone().unwrap_or_default(),
                        action: action_label(&e.action),
                        action_code: e.action.clone(),
                        object: e.object.clone().unwrap_or_default(),
                        outcome: outcome_label(&e.outcome),
                        request_id: e.request_id.clone().unwrap_or_default(),
                        client: e.client.clone().unwrap_or_default(),
                        detail: e
                            .detail
                            .as_deref()
                            .map(|d| domain::ids::mask_personal_in(d).into_owned())
                            .unwrap_or_default(),
                    }
                })
                .collect(),
            verification,
            next_before,
        })
    })
    .await;
    match r {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(ctx, e),
    }
}

pub async fn audit_page(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> Response {
    // What the auditor looked for is on the trail too.
    let asked = crate::api::trail::search_asked(&[
        ("actor", &q.actor),
        ("action", &q.action),
        ("object", &q.object),
        ("from", &q.from),
        ("to", &q.to),
    ]);
    audit(&state, &ctx, "audit.search", None, "ok", asked).await;
    audit_view(&state, &ctx, q, None).await
}

pub async fn audit_verify(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiForm(f): ApiForm<CsrfForm>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, &f.csrf) {
        return error_page(&ctx, e);
    }
    let s = state.clone();
    let r = blocking(move || {
        Ok(audit::verify(
            &s.platform,
            &s.keys,
            &s.config.trusted_audit_keys,
        )?)
    })
    .await;
    // The background verification's finding follows what the auditor just saw.
    if let Ok(v) = &r {
        state.metrics.chain_verified(v.ok());
    }
    let text = match &r {
        Ok(v) if v.ok() => format!(
            "校验通过：{}条日志，{}个签名检查点，哈希链完整。{}",
            v.entries,
            v.checkpoints,
            match &v.anchor_warning {
                Some(w) => format!("{w}。"),
                None => format!(
                    "与库外锚点相符（{}个，至第{}条）。",
                    v.anchors, v.anchored_upto
                ),
            }
        ),
        Ok(v) => format!(
            "发现断点：{}",
            v.first_break
                .as_ref()
                .map(|b| format!("第{}条，{}", b.seq, b.reason))
                .unwrap_or_default()
        ),
        Err(e) => format!("校验失败：{e}"),
    };
    audit(
        &state,
        &ctx,
        "audit.verify",
        None,
        if r.as_ref().is_ok_and(|v| v.ok()) {
            "ok"
        } else {
            "failed"
        },
        Some(text.clone()),
    )
    .await;
    let _ = today(state.clock.now());
    audit_view(
        &state,
        &ctx,
        AuditParams {
            actor: None,
            action: None,
            object: None,
            from: None,
            to: None,
            before: None,
        },
        Some(text),
    )
    .await
}

/// The audit actions as the auditor reads them (code, words): the trail's entries are labelled
/// by it, and the audit page's search offers it as a choice.
pub(crate) const ACTION_LABELS: &[(&str, &str)] = &[
    ("access.denied", "越权访问被拒"),
    ("login", "登录"),
    ("logout", "退出登录"),
    ("account.change_password", "修改密码"),
    ("account.contact", "设置联系方式"),
    ("account.create", "创建账号"),
    ("account.disable", "停用账号"),
    ("account.enable", "启用账号"),
    ("account.locked", "账号被锁定"),
    ("account.reset_password", "重置密码"),
    ("token.create", "创建接口令牌"),
    ("token.revoke", "吊销接口令牌"),
    ("token.list", "查看接口令牌列表"),
    ("audit.checkpoint", "签署审计检查点"),
    ("audit.search", "查询审计日志"),
    ("audit.verify", "校验审计日志"),
    ("subject.read_full", "查看完整信用档案"),
    ("subject.read", "查阅信用档案（未授权，已拒绝）"),
    ("subject.unmask", "查看完整证件号码"),
    ("submission.create", "报送数据"),
    ("submission.withdraw", "撤回报送批次"),
    ("submission.export_rejections", "下载退回数据"),
    ("record.read", "查看单条记录及其版本"),
    ("record.withdraw", "撤回记录"),
    ("opendata.download", "下载开放数据"),
    ("check.create", "联合奖惩核查"),
    ("check.read", "查看核查记录"),
    ("check.snippet", "查看核查结果片段"),
    ("check.feedback", "反馈核查处理结果"),
    ("exception.create", "登记核查例外"),
    ("exception.list", "查询核查例外"),
    ("exception.revoke", "撤销核查例外"),
    ("batch.create", "批量审查"),
    ("batch.download", "下载批量审查结果"),
    ("batch.list", "查看批量审查批次列表"),
    ("batch.signature", "下载批量审查结果的签名"),
    ("article.detach", "删除文章附件"),
    ("list.action", "名单变更"),
    ("subscription.create", "订阅主体"),
    ("subscription.remove", "取消订阅"),
    ("webhook.set", "设置推送地址"),
    ("alert.feedback", "反馈预警处理结果"),
    ("repair.apply", "申请信用修复"),
    ("objection.create", "提出异议"),
    ("case.action", "办理修复或异议"),
    ("case.read", "查看修复或异议"),
    ("cases.list", "查看办件列表"),
    ("cases.my_records", "查看本主体记录"),
    ("worklist.read", "查看修复工作台"),
    ("article.create", "新建文章"),
    ("article.update", "修改文章"),
    ("article.publish", "发布文章"),
    ("article.withdraw", "撤下文章"),
    ("article.attach", "上传附件"),
    ("bulletin.view", "查看月通报"),
    ("bulletin.export", "导出月通报"),
    ("monitoring.records", "查看双公示监测明细"),
    ("self_report.file", "填报自报数"),
    ("bulletin.issue", "印发月通报"),
    ("auth.refused", "登录被拒"),
    ("authorisation.grant", "授权金融机构查询"),
    ("authorisation.revoke", "撤回信易贷授权"),
    ("case.escalate", "督办逾期办件"),
    ("cases.escalate", "扫描逾期办件（定时任务）"),
    ("case.file.read", "查看证明材料"),
    ("case.file.upload", "上传证明材料"),
    ("case.forward", "转送认定单位"),
    ("objection.forward", "转送异议"),
    ("case.remind", "发送办理提醒"),
    ("case.share", "共享修复结果"),
    ("commitment.lapse", "申请未获准或撤回，承诺终止"),
    ("repair.scan", "扫描可修复记录"),
    ("repair.share", "共享修复结果（定时任务）"),
    ("list.expire", "名单到期移出"),
    ("quality.read", "查看数据质量"),
    ("records.decision_keys", "补记决定书键"),
    ("sharing.feed.read", "读取省级共享数据"),
    ("account.list", "查看账号列表"),
    ("alert.list", "查看预警"),
    ("check.list", "查看核查列表"),
    ("authorisation.list", "查看信易贷授权"),
    ("joint.stats", "查看联合奖惩统计"),
    ("lists.unit_view", "查看本单位认定名单"),
    ("subscription.list", "查看订阅主体"),
    ("webhook.list", "查看推送地址"),
    ("webhook.test", "测试推送地址"),
    ("audit.resumed", "审计日志恢复写入"),
    ("quality.conflict_review", "核查重错码"),
];

/// An audit action as the auditor reads it; the code stays beside it (and is what the search
/// field takes).
fn action_label(code: &str) -> String {
    ACTION_LABELS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or_else(|| code.to_string(), |(_, l)| l.to_string())
}

/// Who acted, in words: an account by its user name, a system by its token's name.
pub(crate) fn actor_label(actor: &str) -> String {
    if let Some(u) = actor.strip_prefix("user:") {
        u.to_string()
    } else if let Some(t) = actor.strip_prefix("token:") {
        let name = t.split_once(':').map_or(t, |(_, n)| n);
        format!("接口令牌“{name}”")
    } else if let Some(c) = actor.strip_prefix("cli:") {
        format!("命令行（{c}）")
    } else if actor == "anonymous" {
        "社会公众（未登录）".into()
    } else if actor == "demo" {
        "演示数据生成".into()
    } else if let Some(job) = actor.strip_prefix("system:") {
        match job {
            "forward" => "平台（自动转送）".into(),
            _ => "平台（自动任务）".into(),
        }
    } else {
        actor.to_string()
    }
}

/// [`actor_label`] with an account's name as people know it: 张三（xzsp-check）. For lines an
/// official reads as a record of who did what (a check's feedback, an issued bulletin).
pub(crate) fn actor_named(platform: &store::Store, actor: &str) -> String {
    if let Some(u) = actor.strip_prefix("user:")
        && let Ok(Some(a)) = platform.account_by_username(u)
        && a.display_name != u
    {
        return format!("{}（{u}）", a.display_name);
    }
    actor_label(actor)
}

/// A kept submission's format, as its unit would name it.
fn format_label(format: &str) -> String {
    match format {
        "csv-utf-8" => "CSV，UTF-8编码".into(),
        "csv-gb18030" => "CSV，GB18030编码".into(),
        "xlsx" => "XLSX".into(),
        "json" => "JSON".into(),
        "jsonl" => "JSON Lines".into(),
        other => other.to_uppercase(),
    }
}

fn outcome_label(outcome: &str) -> String {
    let (head, why) = outcome.split_once(':').unwrap_or((outcome, ""));
    let why = match why {
        "" => String::new(),
        "bad_credentials" => "：用户名、密码或令牌错误".into(),
        "unknown_user" => "：用户名不存在".into(),
        "bad_password" => "：密码错误".into(),
        "locked" => "：账号锁定中".into(),
        "address_throttled" => "：本地址登录失败过多，暂停登录".into(),
        "disabled" => "：账号已停用".into(),
        "forbidden" => "：角色无权".into(),
        "not_found" => "：对象不存在或无权知道".into(),
        "refused" => "：被拒绝".into(),
        "unauthenticated" => "：未登录".into(),
        "broken" => "：校验不通过".into(),
        "bad_request" => "：请求格式有误".into(),
        "unprocessable" => "：内容不符合要求".into(),
        "conflict" => "：与现有状态冲突".into(),
        "too_large" => "：内容过大".into(),
        "too_many_requests" => "：请求过于频繁".into(),
        "unsupported_media_type" => "：文件类型不支持".into(),
        "busy" => "：系统忙或审计日志不可写".into(),
        "internal" => "：系统内部错误".into(),
        other => format!("（{other}）"),
    };
    match head {
        "ok" => "成功".into(),
        "unchanged" => "未改变".into(),
        "repeat" => "重复报送，未入库".into(),
        "failed" => format!("失败{why}"),
        "denied" => format!("拒绝{why}"),
        _ => outcome.to_string(),
    }
}
