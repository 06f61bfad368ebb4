//! The console: server-rendered Chinese pages that work without JavaScript. Login with Argon2id
//! passwords and lockout, server-side sessions in a `SameSite=Strict; HttpOnly` cookie, a CSRF
//! token on every form, a forced password change after creation or reset, and role-aware pages:
//! each unit's home with its submissions, the credit office's accounts and tokens, the
//! auditor's trail.

pub(crate) mod articles;
mod authorisations;
mod cases;
mod joint;
mod lists;
mod monitoring;
mod pages_impl;

use axum::handler::Handler;
use axum::http::{Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use pages::{Frame, NavItem, Template};

use crate::Shared;
use crate::access::*;
use crate::context::Ctx;
use crate::error::ApiError;

pub fn routes(r: Routes, rules: &rulebook::Rulebook, max_submission_bytes: u64) -> Routes {
    let evidence = || cases::evidence_limit(&rules.workflows.evidence);
    // A unit's file uploaded in the console may be as large as one pushed through the API (the
    // default body limit of 2 MB cut files short); the form's other fields add little.
    let submission = axum::extract::DefaultBodyLimit::max(
        usize::try_from(max_submission_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(1 << 20),
    );
    r.page(
        Method::GET,
        "/console/login",
        EVERYONE,
        pages_impl::login_form,
    )
    .page(Method::POST, "/console/login", EVERYONE, pages_impl::login)
    .page(
        Method::POST,
        "/console/logout",
        SIGNED_IN,
        pages_impl::logout,
    )
    .page(Method::GET, "/console", SIGNED_IN, pages_impl::home)
    .page(
        Method::GET,
        "/console/my/records",
        SUBJECT,
        cases::my_records,
    )
    .page(
        Method::GET,
        "/console/contact",
        SIGNED_IN,
        cases::contact_form,
    )
    .page(
        Method::POST,
        "/console/contact",
        SIGNED_IN,
        cases::set_contact,
    )
    .page(
        Method::POST,
        "/console/my/repairs",
        SUBJECT,
        cases::apply.layer(evidence()),
    )
    .page(
        Method::POST,
        "/console/my/objections",
        OBJECTORS,
        cases::object.layer(evidence()),
    )
    .page(Method::GET, "/console/cases", CASE_READERS, cases::cases)
    .page(
        Method::GET,
        "/console/cases/stats",
        ADMIN_AUDITOR,
        cases::stats,
    )
    .page(
        Method::GET,
        "/console/cases/{id}",
        CASE_READERS,
        cases::case,
    )
    .page(
        Method::POST,
        "/console/cases/{id}/actions",
        CASE_ACTORS,
        cases::action.layer(evidence()),
    )
    .page(
        Method::GET,
        "/console/cases/{id}/files/{file}",
        CASE_FILE_READERS,
        cases::file,
    )
    .page(
        Method::GET,
        "/console/password",
        SIGNED_IN,
        pages_impl::password_form,
    )
    .page(
        Method::POST,
        "/console/password",
        SIGNED_IN,
        pages_impl::change_password,
    )
    .page(
        Method::POST,
        "/console/submissions",
        REPORTER,
        pages_impl::upload.layer(submission),
    )
    .page(
        Method::GET,
        "/console/submissions/{id}",
        UNIT_STAFF,
        pages_impl::submission,
    )
    .page(
        Method::GET,
        "/console/submissions/{id}/rejections.xlsx",
        UNIT_STAFF,
        pages_impl::submission_rejections,
    )
    .page(
        Method::POST,
        "/console/submissions/{id}/withdraw",
        UNIT_WRITERS,
        pages_impl::withdraw,
    )
    .page(
        Method::POST,
        "/console/records/withdraw",
        UNIT_WRITERS,
        pages_impl::withdraw_record,
    )
    .page(
        Method::POST,
        "/console/records/restore",
        UNIT_WRITERS,
        pages_impl::restore_record,
    )
    .page(
        Method::GET,
        "/console/accounts",
        ADMIN,
        pages_impl::accounts,
    )
    .page(
        Method::POST,
        "/console/accounts",
        ADMIN,
        pages_impl::create_account,
    )
    .page(
        Method::POST,
        "/console/accounts/{id}/disable",
        ADMIN,
        pages_impl::disable_account,
    )
    .page(
        Method::POST,
        "/console/accounts/{id}/enable",
        ADMIN,
        pages_impl::enable_account,
    )
    .page(
        Method::POST,
        "/console/accounts/{id}/reset",
        ADMIN,
        pages_impl::reset_account,
    )
    .page(Method::GET, "/console/lists", LIST_DECIDERS, lists::page)
    .page(
        Method::POST,
        "/console/lists/actions",
        LIST_DECIDERS,
        lists::act,
    )
    .page(Method::GET, "/console/quality", ADMIN, monitoring::quality)
    .page(
        Method::POST,
        "/console/quality/conflicts/review",
        ADMIN,
        monitoring::review_conflict,
    )
    .page(
        Method::GET,
        "/console/authorisations",
        AUTHORISATION_READERS,
        authorisations::page,
    )
    .page(
        Method::POST,
        "/console/authorisations",
        SUBJECT,
        authorisations::grant,
    )
    .page(
        Method::POST,
        "/console/authorisations/{id}/revoke",
        SUBJECT,
        authorisations::revoke,
    )
    .page(
        Method::GET,
        "/console/authorisations/{id}/file",
        FINANCIAL,
        authorisations::file,
    )
    .page(
        Method::GET,
        "/console/subjects",
        FILE_READERS,
        authorisations::subject_file,
    )
    .page(
        Method::POST,
        "/console/subjects",
        FILE_READERS,
        authorisations::subject_file_post,
    )
    .page(Method::GET, "/console/tokens", ADMIN, pages_impl::tokens)
    .page(
        Method::POST,
        "/console/tokens",
        ADMIN,
        pages_impl::create_token,
    )
    .page(
        Method::POST,
        "/console/tokens/{id}/revoke",
        ADMIN,
        pages_impl::revoke_token,
    )
    .page(
        Method::GET,
        "/console/audit",
        AUDITOR,
        pages_impl::audit_page,
    )
    .page(
        Method::POST,
        "/console/audit/verify",
        AUDITOR,
        pages_impl::audit_verify,
    )
    .page(
        Method::GET,
        "/console/monitoring",
        UNIT_STAFF,
        monitoring::monitoring,
    )
    .page(
        Method::GET,
        "/console/monitoring/records",
        UNIT_STAFF,
        monitoring::records,
    )
    .page(
        Method::GET,
        "/console/bulletin",
        ADMIN,
        monitoring::bulletin_page,
    )
    .page(
        Method::GET,
        "/console/bulletin.xlsx",
        ADMIN,
        monitoring::bulletin_xlsx,
    )
    .page(
        Method::POST,
        "/console/bulletin/issue",
        ADMIN,
        monitoring::issue_bulletin,
    )
    .page(
        Method::GET,
        "/console/bulletin/issued/{id}",
        ADMIN,
        monitoring::issued_bulletin,
    )
    .page(
        Method::GET,
        "/console/self-reports",
        UNIT_STAFF,
        monitoring::self_reports,
    )
    .page(
        Method::POST,
        "/console/self-reports",
        UNIT_WRITERS,
        monitoring::file_self_report,
    )
    .page(Method::GET, "/console/checks", CHECKERS, joint::checks)
    .page(Method::POST, "/console/checks", CHECKERS, joint::run)
    .page(
        Method::GET,
        "/console/checks/{id}",
        CHECK_READERS,
        joint::check,
    )
    .page(
        Method::POST,
        "/console/checks/{id}/feedback",
        CHECKERS,
        joint::feedback,
    )
    .page(
        Method::POST,
        "/console/checks/{id}/exception",
        OFFICERS,
        joint::exception,
    )
    .page(
        Method::POST,
        "/console/checks/{id}/list-action",
        LIST_DECIDERS,
        joint::list_action,
    )
    .page(Method::GET, "/console/alerts", ALERT_READERS, joint::alerts)
    .page(
        Method::POST,
        "/console/alerts/{id}/feedback",
        SUBSCRIBERS,
        joint::alert_feedback,
    )
    .page(
        Method::GET,
        "/console/subscriptions",
        SUBSCRIBERS,
        joint::subscriptions,
    )
    .page(
        Method::POST,
        "/console/subscriptions",
        SUBSCRIBERS,
        joint::subscribe.layer(axum::extract::DefaultBodyLimit::max(4 << 20)),
    )
    .page(
        Method::POST,
        "/console/subscriptions/remove",
        SUBSCRIBERS,
        joint::unsubscribe,
    )
    .page(
        Method::GET,
        "/console/exceptions",
        OFFICERS,
        joint::exceptions,
    )
    .page(Method::GET, "/console/measures", OFFICERS, joint::measures)
    .page(
        Method::POST,
        "/console/exceptions/{id}/revoke",
        OFFICERS,
        joint::revoke_exception,
    )
    .page(Method::GET, "/console/webhooks", ADMIN, joint::webhooks)
    .page(Method::POST, "/console/webhooks", ADMIN, joint::set_webhook)
    .page(
        Method::POST,
        "/console/webhooks/remove",
        ADMIN,
        joint::remove_webhook,
    )
    .page(
        Method::POST,
        "/console/webhooks/test",
        ADMIN,
        joint::test_webhook,
    )
    .page(Method::GET, "/console/batches", OFFICERS, joint::batches)
    .page(
        Method::POST,
        "/console/batches",
        OFFICERS,
        // A batch file of up to 1 M codes (the API's limit), with the form around it.
        joint::upload.layer(axum::extract::DefaultBodyLimit::max(
            crate::api::joint::MAX_BATCH_BYTES as usize + (1 << 20),
        )),
    )
    .page(
        Method::GET,
        "/console/batches/{id}/result.csv",
        OFFICERS,
        joint::batch_csv,
    )
    .page(
        Method::GET,
        "/console/batches/{id}/result.xlsx",
        OFFICERS,
        joint::batch_xlsx,
    )
    .page(
        Method::GET,
        "/console/batches/{id}/signed.txt",
        OFFICERS,
        joint::batch_signed_text,
    )
    .page(
        Method::GET,
        "/console/batches/{id}/signature.sig",
        OFFICERS,
        joint::batch_signature,
    )
    .page(Method::GET, "/console/joint", ADMIN_AUDITOR, joint::stats)
    .page(
        Method::GET,
        "/console/joint.xlsx",
        ADMIN_AUDITOR,
        joint::stats_xlsx,
    )
    .page(Method::GET, "/console/articles", ADMIN, articles::list)
    .page(Method::POST, "/console/articles", ADMIN, articles::create)
    .page(Method::GET, "/console/articles/{id}", ADMIN, articles::edit)
    .page(
        Method::POST,
        "/console/articles/{id}",
        ADMIN,
        articles::update,
    )
    .page(
        Method::POST,
        "/console/articles/{id}/publish",
        ADMIN,
        articles::publish,
    )
    .page(
        Method::POST,
        "/console/articles/{id}/withdraw",
        ADMIN,
        articles::withdraw,
    )
    .page(
        Method::POST,
        "/console/articles/{id}/attachments",
        ADMIN,
        // The form's own limit, with room for the multipart framing.
        articles::upload.layer(axum::extract::DefaultBodyLimit::max(
            articles::MAX_ATTACHMENT + (64 << 10),
        )),
    )
    .page(
        Method::GET,
        "/console/articles/{id}/attachments/{aid}",
        ADMIN,
        articles::attachment,
    )
    .page(
        Method::POST,
        "/console/articles/{id}/attachments/{aid}/remove",
        ADMIN,
        articles::remove_attachment,
    )
}

/// The menu a role sees.
pub fn frame(ctx: &Ctx, title: &str, active: &str) -> Frame {
    let p = &ctx.principal;
    let mut nav = vec![("/console", "首页")];
    match p.role {
        auth::Role::Admin => {
            nav.push(("/console/monitoring", "双公示监测"));
            nav.push(("/console/quality", "数据质量"));
            nav.push(("/console/joint", "联合奖惩"));
            nav.push(("/console/lists", "认定名单"));
            nav.push(("/console/subjects", "信用档案"));
            nav.push(("/console/checks", "信用核查"));
            nav.push(("/console/batches", "批量审查"));
            nav.push(("/console/alerts", "预警"));
            nav.push(("/console/webhooks", "预警推送地址"));
            nav.push(("/console/exceptions", "核查例外"));
            nav.push(("/console/measures", "措施清单"));
            nav.push(("/console/articles", "文章发布"));
            nav.push(("/console/cases", "修复与异议"));
            nav.push(("/console/cases/stats", "修复统计"));
            nav.push(("/console/accounts", "账号"));
            nav.push(("/console/tokens", "接口令牌"));
            nav.push(("/console/authorisations", "信易贷授权"));
        }
        auth::Role::Reporter | auth::Role::Reviewer => {
            nav.push(("/console/monitoring", "双公示监测"));
            nav.push(("/console/self-reports", "月度自报"));
            nav.push(("/console/cases", "异议处理"));
        }
        auth::Role::Handling | auth::Role::Deciding => {
            nav.push(("/console/subjects", "信用档案"));
            nav.push(("/console/checks", "信用核查"));
            nav.push(("/console/batches", "批量审查"));
            nav.push(("/console/alerts", "预警"));
            nav.push(("/console/subscriptions", "订阅主体"));
            nav.push(("/console/exceptions", "核查例外"));
            nav.push(("/console/measures", "措施清单"));
            if p.role == auth::Role::Deciding {
                nav.push(("/console/lists", "本单位认定名单"));
                nav.push(("/console/cases", "信用修复工作台"));
            }
        }
        auth::Role::Subject => {
            nav.push(("/console/my/records", "我的信用记录"));
            nav.push(("/console/cases", "我的申请"));
            nav.push(("/console/authorisations", "授权查询"));
        }
        auth::Role::Financial => {
            nav.push(("/console/checks", "信用核查"));
            nav.push(("/console/alerts", "预警"));
            nav.push(("/console/subscriptions", "订阅主体"));
            nav.push(("/console/authorisations", "授权查询"));
        }
        auth::Role::Auditor => {
            nav.push(("/console/audit", "审计日志"));
            nav.push(("/console/joint", "联合奖惩"));
            nav.push(("/console/cases/stats", "修复统计"));
        }
        _ => {}
    }
    if p.is_authenticated() {
        nav.push(("/console/contact", "联系方式"));
    }
    nav.push(("/api/v1/docs", "接口文档"));
    Frame {
        title: title.to_string(),
        user: p.is_authenticated().then(|| p.display_name.clone()),
        role_label: p.role.label().to_string(),
        unit: p.unit.clone(),
        csrf: ctx
            .session
            .as_ref()
            .map(|s| s.csrf.clone())
            .unwrap_or_default(),
        nav: if p.is_authenticated() {
            nav.into_iter()
                .map(|(h, l)| NavItem {
                    href: h.into(),
                    label: l.into(),
                    active: h == active,
                })
                .collect()
        } else {
            Vec::new()
        },
        flash: None,
        error: None,
    }
}

/// A page read that is audited: the entry (ok or failed), then the page or the error page.
pub async fn audited_page(
    state: &Shared,
    ctx: &Ctx,
    action: &str,
    object: Option<String>,
    page: Result<impl Template, ApiError>,
) -> Response {
    let outcome = if page.is_ok() { "ok" } else { "failed" };
    crate::context::audit(state, ctx, action, object, outcome, None).await;
    match page {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(ctx, e),
    }
}

pub fn render(status: StatusCode, t: impl Template) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

pub fn message(
    ctx: &Ctx,
    status: StatusCode,
    heading: &str,
    body: &str,
    refresh_to: Option<String>,
) -> Response {
    render(
        status,
        pages::Message {
            frame: frame(ctx, heading, ""),
            heading: heading.into(),
            body: body.into(),
            link: Some(("/console".into(), "返回首页".into())),
            refresh_to,
        },
    )
}

/// An error a console address answered as the API's JSON (a malformed number in the path, a
/// form the extractor refused before the handler ran), as a console page with the officer's
/// menu: the same status and headers, the message and request id.
pub async fn as_page(ctx: &Ctx, resp: Response) -> Response {
    let (parts, said) = crate::portal::error_said(resp).await;
    let page = message(ctx, parts.status, "操作未完成", &said, None);
    crate::portal::page_in(parts, page)
}

/// What a console page answers when the role table says no.
pub fn denied(_state: &Shared, ctx: &Ctx, e: &ApiError, path: &str) -> Response {
    match e {
        ApiError::Unauthenticated => {
            let next = if path.starts_with("/console") {
                path
            } else {
                "/console"
            };
            let to = format!("/console/login?next={}", urlencode(next));
            message(
                ctx,
                StatusCode::UNAUTHORIZED,
                "请先登录",
                "此页面需要登录后访问，正在转到登录页面。",
                Some(to),
            )
        }
        _ => message(
            ctx,
            StatusCode::FORBIDDEN,
            "无权访问",
            "当前角色无权访问此页面。",
            None,
        ),
    }
}

/// Console errors as pages, not JSON.
pub fn error_page(ctx: &Ctx, e: ApiError) -> Response {
    if let ApiError::Internal(detail) = &e {
        eprintln!(
            "{} ERROR request {}: {detail}",
            chrono::Utc::now().to_rfc3339(),
            ctx.request_id
        );
    }
    let status = e.status();
    let body = format!("{}（请求号 {}）", e, ctx.request_id);
    let mut resp = match &ctx.back {
        // Back to the form: the browser keeps what was typed in it.
        Some(back) => render(
            status,
            pages::Message {
                frame: frame(ctx, "操作未完成", ""),
                heading: "操作未完成".into(),
                body,
                link: Some((back.clone(), "返回上一页修改".into())),
                refresh_to: None,
            },
        ),
        None => message(ctx, status, "操作未完成", &body, None),
    };
    // Another's object hidden as not found is a refusal the access layer audits, here as in
    // the API.
    if matches!(e, ApiError::Concealed(_)) {
        resp.extensions_mut().insert(crate::error::Concealed);
    }
    resp
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A redirect after a form post (303: the browser fetches the target with GET).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The session cookie: a browser-session cookie (no Max-Age), gone when the browser closes — a
/// persistent one kept a shared office PC logged in for its 12 hours; the server still ends the
/// session after its idle time and its maximum. `expire` sends Max-Age=0 (logout).
pub fn session_cookie(secret: &str, secure: bool, expire: bool) -> String {
    format!(
        "{}={secret}; Path=/; HttpOnly; SameSite=Strict{}{}",
        crate::context::SESSION_COOKIE,
        if expire { "; Max-Age=0" } else { "" },
        if secure { "; Secure" } else { "" }
    )
}

pub fn with_cookie(mut resp: Response, cookie: String) -> Response {
    if let Ok(v) = header::HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
