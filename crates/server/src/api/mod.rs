//! The JSON API under `/api/v1`. Every route is registered here with the roles that may call it.

mod admin;
pub mod authorisations;
pub mod cases;
pub mod files;
pub mod joint;
pub(crate) mod meta;
pub mod submissions;
pub(crate) mod trail;

use axum::http::Method;

use crate::access::*;

pub use admin::*;
pub use files::*;
pub use meta::*;
pub use submissions::*;
pub use trail::*;

pub fn routes(r: Routes) -> Routes {
    r.api(Method::GET, "/healthz", EVERYONE_AND_SYSTEMS, meta::healthz)
        .api(
            Method::GET,
            "/api/v1/platform-key",
            EVERYONE_AND_SYSTEMS,
            meta::platform_key,
        )
        .api(Method::GET, "/readyz", EVERYONE_AND_SYSTEMS, meta::readyz)
        .api(Method::GET, "/metrics", METRICS_READERS, meta::metrics)
        .api(
            Method::GET,
            "/api/v1/openapi.json",
            EVERYONE_AND_SYSTEMS,
            meta::openapi,
        )
        .api(Method::GET, "/api/v1/me", SIGNED_IN, meta::me)
        .api(Method::GET, "/api/v1/catalog", EVERYONE, meta::catalog)
        .api(Method::GET, "/api/v1/units", EVERYONE, meta::units)
        .api(Method::GET, "/api/v1/stats", EVERYONE, meta::stats)
        .api(
            Method::GET,
            "/api/v1/subjects/{code}",
            EVERYONE,
            files::subject,
        )
        .api(
            Method::GET,
            "/api/v1/subjects/{code}/id-number",
            UNMASKERS,
            files::id_number,
        )
        .api(
            Method::GET,
            "/api/v1/records",
            UNIT_STAFF,
            files::records_by_decision,
        )
        .api(Method::GET, "/api/v1/records/{id}", EVERYONE, files::record)
        .api(
            Method::POST,
            "/api/v1/records/{id}/withdraw",
            UNIT_WRITERS,
            files::withdraw_record,
        )
        .api(
            Method::POST,
            "/api/v1/records/{id}/restore",
            UNIT_WRITERS,
            files::restore_record,
        )
        .api(
            Method::POST,
            "/api/v1/submissions",
            REPORTER,
            submissions::create,
        )
        .api(
            Method::GET,
            "/api/v1/submissions",
            UNIT_STAFF,
            submissions::list,
        )
        .api(
            Method::GET,
            "/api/v1/submissions/{id}",
            UNIT_STAFF,
            submissions::detail,
        )
        .api(
            Method::GET,
            "/api/v1/submissions/{id}/rejections.xlsx",
            UNIT_STAFF,
            submissions::rejections_xlsx,
        )
        .api(
            Method::POST,
            "/api/v1/submissions/{id}/withdraw",
            UNIT_WRITERS,
            submissions::withdraw,
        )
        .api(
            Method::GET,
            "/api/v1/quality",
            UNIT_STAFF,
            submissions::quality,
        )
        .api(Method::GET, "/api/v1/accounts", ADMIN, admin::list_accounts)
        .api(
            Method::POST,
            "/api/v1/accounts",
            ADMIN,
            admin::create_account,
        )
        .api(
            Method::POST,
            "/api/v1/accounts/{id}/disable",
            ADMIN,
            admin::disable_account,
        )
        .api(
            Method::POST,
            "/api/v1/accounts/{id}/password",
            ADMIN,
            admin::reset_password,
        )
        .api(Method::GET, "/api/v1/tokens", ADMIN, admin::list_tokens)
        .api(Method::POST, "/api/v1/tokens", ADMIN, admin::create_token)
        .api(
            Method::DELETE,
            "/api/v1/tokens/{id}",
            ADMIN,
            admin::revoke_token,
        )
        .api(Method::GET, "/api/v1/matters", EVERYONE, joint::matters)
        .api(
            Method::POST,
            "/api/v1/checks",
            CHECKERS,
            joint::create_check,
        )
        .api(
            Method::GET,
            "/api/v1/checks",
            CHECK_READERS,
            joint::list_checks,
        )
        .api(
            Method::GET,
            "/api/v1/checks/{id}",
            CHECK_READERS,
            joint::get_check,
        )
        .api(
            Method::POST,
            "/api/v1/checks/{id}/feedback",
            CHECKERS,
            joint::feedback,
        )
        .api(
            Method::GET,
            "/api/v1/checks/{id}/snippet",
            CHECK_READERS,
            joint::check_snippet,
        )
        .api(
            Method::POST,
            "/api/v1/lists/{id}/actions",
            LIST_DECIDERS,
            joint::list_action,
        )
        .api(
            Method::POST,
            "/api/v1/exceptions",
            OFFICERS,
            joint::create_exception,
        )
        .api(
            Method::GET,
            "/api/v1/exceptions",
            OFFICERS,
            joint::list_exceptions,
        )
        .api(
            Method::POST,
            "/api/v1/exceptions/{id}/revoke",
            OFFICERS,
            joint::revoke_exception,
        )
        .api(
            Method::POST,
            "/api/v1/batches",
            OFFICERS,
            joint::create_batch,
        )
        .api(
            Method::GET,
            "/api/v1/batches",
            OFFICERS_AUDITOR,
            joint::list_batches,
        )
        .api(
            Method::GET,
            "/api/v1/batches/{id}",
            OFFICERS_AUDITOR,
            joint::get_batch,
        )
        .api(
            Method::GET,
            "/api/v1/batches/{id}/result.csv",
            OFFICERS,
            joint::batch_csv,
        )
        .api(
            Method::GET,
            "/api/v1/batches/{id}/result.xlsx",
            OFFICERS,
            joint::batch_xlsx,
        )
        .api_sized(
            Method::POST,
            "/api/v1/subscriptions",
            SUBSCRIBERS,
            joint::SUBSCRIBE_MAX_BYTES,
            "每次最多100000个代码，请拆分后分批订阅",
            joint::subscribe,
        )
        .api(
            Method::GET,
            "/api/v1/subscriptions",
            SUBSCRIBERS,
            joint::subscriptions,
        )
        .api(
            Method::POST,
            "/api/v1/subscriptions/remove",
            SUBSCRIBERS,
            joint::unsubscribe,
        )
        .api(Method::POST, "/api/v1/webhooks", ADMIN, joint::set_webhook)
        .api(
            Method::POST,
            "/api/v1/webhooks/remove",
            ADMIN,
            joint::remove_webhook,
        )
        // Who may set a receiver may see where it points and try it; never its secret.
        .api(Method::GET, "/api/v1/webhooks", ADMIN, joint::webhooks)
        .api(
            Method::POST,
            "/api/v1/webhooks/test",
            ADMIN,
            joint::test_webhook,
        )
        .api(Method::GET, "/api/v1/alerts", ALERT_READERS, joint::alerts)
        .api(
            Method::POST,
            "/api/v1/alerts/{id}/feedback",
            SUBSCRIBERS,
            joint::alert_feedback,
        )
        .api(
            Method::GET,
            "/api/v1/joint/stats",
            ADMIN_AUDITOR,
            joint::stats,
        )
        .api(
            Method::GET,
            "/api/v1/my/records",
            SUBJECT,
            cases::my_records,
        )
        .api(
            Method::POST,
            "/api/v1/repairs",
            SUBJECT,
            cases::create_repair,
        )
        .api(
            Method::POST,
            "/api/v1/objections",
            OBJECTORS,
            cases::create_objection,
        )
        .api(
            Method::POST,
            "/api/v1/authorisations",
            SUBJECT,
            authorisations::create_authorisation,
        )
        .api(
            Method::GET,
            "/api/v1/authorisations",
            AUTHORISATION_READERS,
            authorisations::list_authorisations,
        )
        .api(
            Method::POST,
            "/api/v1/authorisations/{id}/revoke",
            SUBJECT,
            authorisations::revoke_authorisation,
        )
        .api(
            Method::GET,
            "/api/v1/cases",
            CASE_READERS,
            cases::list_cases,
        )
        .api(
            Method::GET,
            "/api/v1/cases/stats",
            ADMIN_AUDITOR,
            cases::stats,
        )
        .api(
            Method::GET,
            "/api/v1/cases/{id}",
            CASE_READERS,
            cases::get_case,
        )
        .api(
            Method::POST,
            "/api/v1/cases/{id}/actions",
            CASE_ACTORS,
            cases::case_action,
        )
        .api(
            Method::POST,
            "/api/v1/cases/{id}/files",
            CASE_ACTORS,
            cases::upload_file,
        )
        .api(
            Method::GET,
            "/api/v1/cases/{id}/files/{file}",
            CASE_FILE_READERS,
            cases::get_file,
        )
        .api(
            Method::GET,
            "/api/v1/worklist",
            CASE_HANDLERS,
            cases::worklist,
        )
        .api(Method::GET, "/api/v1/messages", SIGNED_IN, cases::messages)
        .api(
            Method::GET,
            "/api/v1/sharing/feed",
            SHARING_READERS,
            cases::sharing_feed,
        )
        .api(Method::GET, "/api/v1/audit", AUDITOR, trail::search)
        .api(Method::GET, "/api/v1/audit/verify", AUDITOR, trail::verify)
        .api(
            Method::POST,
            "/api/v1/audit/checkpoints",
            ADMIN_AUDITOR,
            trail::checkpoint,
        )
        .open(|router| {
            router
                .route("/api/v1/docs", axum::routing::get(meta::docs))
                .route("/static/{*path}", axum::routing::get(meta::static_file))
                .fallback(meta::not_found)
                .method_not_allowed_fallback(meta::method_not_allowed)
        })
}

/// A page's size and start as asked, refused when out of range (a negative or zero size was
/// quietly read as one row, a negative start as the first).
pub fn page_of(
    limit: Option<i64>,
    offset: Option<i64>,
    default: i64,
    max: i64,
) -> Result<(i64, i64), crate::error::ApiError> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(crate::error::ApiError::Unprocessable(format!(
            "limit（每页条数）应在1–{max}之间"
        )));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(crate::error::ApiError::Unprocessable(
            "offset（起始位置）不能为负数".into(),
        ));
    }
    Ok((limit, offset))
}
