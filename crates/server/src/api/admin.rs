//! Accounts and API tokens, for the credit office.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use store::{Account, ApiToken};

use crate::body::{ApiJson, ApiPath};
use crate::context::{Ctx, audit, audit_entry, write_carrying};
use crate::error::{ApiResult, ErrorBody};
use crate::manage::{self, AccountRequest, CreatedAccount, CreatedToken, TokenRequest};
use crate::{Shared, blocking};

#[utoipa::path(get, path = "/api/v1/accounts", summary = "列出账号", tag = "账号", security(("token" = [])),
    responses((status = 200, description = "账号", body = Vec<Account>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list_accounts(State(state): State<Shared>, ctx: Ctx) -> ApiResult<Json<Vec<Account>>> {
    let s = state.clone();
    let accounts = blocking(move || Ok(s.platform.accounts()?)).await?;
    // Who holds which powers, with their units and subjects: a sensitive read.
    audit(
        &state,
        &ctx,
        "account.list",
        None,
        "ok",
        Some(format!("{}个账号", accounts.len())),
    )
    .await;
    Ok(Json(accounts))
}

#[utoipa::path(post, path = "/api/v1/accounts", summary = "创建账号", tag = "账号", security(("token" = [])), request_body = AccountRequest,
    responses((status = 201, description = "已创建；初始密码只显示这一次", body = CreatedAccount),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create_account(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiJson(req): ApiJson<AccountRequest>,
) -> ApiResult<(StatusCode, Json<CreatedAccount>)> {
    let (s, actor, r2) = (state.clone(), ctx.principal.actor(), req.clone());
    let entry = audit_entry(
        &ctx,
        "account.create",
        Some(format!("account:{}", req.username)),
        "ok",
        Some(format!(
            "role={} unit={}",
            req.role,
            req.unit.as_deref().unwrap_or("-")
        )),
    );
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        manage::office_creates_account(&s, &r2, &actor, carried)
    })
    .await;
    Ok((StatusCode::CREATED, Json(r?)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Done {
    pub ok: bool,
}

#[utoipa::path(post, path = "/api/v1/accounts/{id}/disable", summary = "停用账号", tag = "账号", security(("token" = [])),
    params(("id" = i64, Path, description = "账号编号")),
    responses((status = 200, description = "已停用，其会话全部失效（ok 为 false：该账号此前已停用）", body = Done),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "不能停用自己正在使用的账号或最后一个在用的管理员账号", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn disable_account(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Done>> {
    let s = state.clone();
    let by = ctx.principal.clone();
    let entry = audit_entry(
        &ctx,
        "account.disable",
        Some(format!("account:{id}")),
        "ok",
        None,
    );
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        manage::disable_account(&s, id, &by, Some(carried))
    })
    .await;
    r.map(|ok| Json(Done { ok }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NewPassword {
    // Shown once; must be changed at next login.
    /// 新的初始密码，仅显示一次；下次登录时须修改。
    pub initial_password: String,
}

#[utoipa::path(post, path = "/api/v1/accounts/{id}/password", summary = "重置账号密码", tag = "账号", security(("token" = [])),
    params(("id" = i64, Path, description = "账号编号")),
    responses((status = 200, description = "已重置", body = NewPassword),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn reset_password(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<NewPassword>> {
    let s = state.clone();
    let entry = audit_entry(
        &ctx,
        "account.reset_password",
        Some(format!("account:{id}")),
        "ok",
        None,
    );
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        manage::reset_password(&s.platform, id, s.clock.now(), Some(carried))
    })
    .await;
    r.map(|p| {
        Json(NewPassword {
            initial_password: p,
        })
    })
}

#[utoipa::path(get, path = "/api/v1/tokens", summary = "列出接口令牌", tag = "账号", security(("token" = [])),
    responses((status = 200, description = "接口令牌（不含密钥）", body = Vec<ApiToken>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list_tokens(State(state): State<Shared>, ctx: Ctx) -> ApiResult<Json<Vec<ApiToken>>> {
    let s = state.clone();
    let tokens = blocking(move || Ok(s.platform.tokens()?)).await?;
    // Which systems hold which powers: a sensitive read, as the accounts are.
    audit(
        &state,
        &ctx,
        "token.list",
        None,
        "ok",
        Some(format!("{}个令牌", tokens.len())),
    )
    .await;
    Ok(Json(tokens))
}

#[utoipa::path(post, path = "/api/v1/tokens", summary = "创建接口令牌", tag = "账号", security(("token" = [])), request_body = TokenRequest,
    responses((status = 201, description = "已创建；令牌只显示这一次", body = CreatedToken),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn create_token(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiJson(req): ApiJson<TokenRequest>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let (s, actor, r2) = (state.clone(), ctx.principal.actor(), req.clone());
    let entry = audit_entry(
        &ctx,
        "token.create",
        None,
        "ok",
        Some(format!(
            "name={} role={} unit={} days={}",
            req.name,
            req.role,
            req.unit.as_deref().unwrap_or("-"),
            req.days.map_or_else(|| "-".to_string(), |d| d.to_string())
        )),
    );
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        manage::office_creates_token(&s, &r2, &actor, carried)
    })
    .await;
    Ok((StatusCode::CREATED, Json(r?)))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", summary = "吊销接口令牌", tag = "账号", security(("token" = [])),
    params(("id" = i64, Path, description = "令牌编号")),
    responses((status = 200, description = "已吊销（ok 为 false：该令牌此前已吊销，本次未作更改）", body = Done),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Done>> {
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
    r.map(|ok| Json(Done { ok }))
}
