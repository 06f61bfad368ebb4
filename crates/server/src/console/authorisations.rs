//! The console's 信易贷授权查询: a subject grants and withdraws authorisations for financial
//! institutions; an institution sees those given to it.

use std::collections::HashMap;

use auth::Role;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::pages_impl::{check_csrf, fmt_time};
use super::{error_page, frame, render, see_other};
use crate::api::authorisations as api;
use crate::body::{ApiForm, ApiPath};
use crate::context::Ctx;
use crate::{Shared, today};

pub async fn page(State(state): State<Shared>, ctx: Ctx) -> Response {
    let rows = match api::read_visible(&state, &ctx).await {
        Ok(r) => r,
        Err(e) => return error_page(&ctx, e),
    };
    let day = today(state.clock.now());
    let subject = ctx.principal.role == Role::Subject;
    render(
        StatusCode::OK,
        pages::AuthorisationsPage {
            frame: frame(&ctx, "信易贷授权查询", "/console/authorisations"),
            subject,
            institution: ctx.principal.role == Role::Financial,
            default_until: (day + chrono::Duration::days(90)).to_string(),
            rows: rows
                .into_iter()
                .map(|a| pages::AuthorisationRow {
                    id: a.auth_id,
                    active: a.holds_on(day),
                    status: if a.revoked_at.is_some() {
                        "已撤回".into()
                    } else if a.holds_on(day) {
                        "有效".into()
                    } else {
                        "已到期".into()
                    },
                    subject: a.subject_label,
                    subject_key: a.subject_key,
                    institution: a.institution,
                    purpose: a.purpose,
                    granted_at: fmt_time(a.granted_at),
                    until: a.until.to_string(),
                })
                .collect(),
        },
    )
}

pub async fn grant(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiForm(f): ApiForm<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    if let Err(e) = check_csrf(&ctx, &get("csrf")) {
        return error_page(&ctx, e);
    }
    let req = api::GrantRequest {
        institution: get("institution"),
        until: get("until"),
    };
    match api::grant_audited(&state, &ctx, req).await {
        Ok(_) => see_other("/console/authorisations"),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn revoke(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiForm(f): ApiForm<HashMap<String, String>>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, f.get("csrf").map_or("", String::as_str)) {
        return error_page(&ctx, e);
    }
    match api::withdraw(&state, &ctx, id).await {
        Ok(()) => see_other("/console/authorisations"),
        Err(e) => error_page(&ctx, e),
    }
}
