//! 信易贷授权查询 over the API: a subject authorises a financial institution (by its 统一社会信用代码)
//! to read its credit file for a credit decision until a day it chooses, lists and withdraws its
//! authorisations; the institution lists those given to it. With one that holds, the
//! institution reads the subject's whole file (`GET /api/v1/subjects/{code}`) and its checks name
//! the person they are about; without, it sees what the public sees.

use auth::Role;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::api::Done;
use crate::body::{ApiJson, ApiPath};
use crate::context::{Ctx, audit, audit_entry, write_carrying};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{Shared, blocking, today};

/// What an authorisation is for: the only use a financial institution has of a credit file here.
pub const PURPOSE: &str = "授信融资";

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// 被授权金融机构的统一社会信用代码.
    pub institution: String,
    /// 授权截止日期（YYYY-MM-DD，自今日起不超过一年）.
    pub until: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Authorisations {
    pub authorisations: Vec<store::Authorisation>,
}

/// Whether the caller, a financial institution, holds an authorisation of `subject_key` today.
pub async fn institution_authorised(state: &Shared, ctx: &Ctx, subject_key: &str) -> bool {
    let p = &ctx.principal;
    let Some(institution) = p.subject_key.clone().filter(|_| p.role == Role::Financial) else {
        return false;
    };
    let (s, key, day) = (
        state.clone(),
        subject_key.to_string(),
        today(state.clock.now()),
    );
    blocking(move || Ok(s.platform.authorised(&key, &institution, PURPOSE, day)?))
        .await
        .unwrap_or(false)
}

/// What the trail says of a grant: what was typed, an ID number in it masked (a person's number
/// typed for the institution's code).
fn grant_detail(req: &GrantRequest) -> String {
    format!(
        "institution={} until={}",
        domain::ids::mask_ids_in(&req.institution),
        domain::ids::mask_ids_in(&req.until)
    )
}

fn grant(
    state: &Shared,
    ctx: &Ctx,
    req: &GrantRequest,
    carried: &mut store::NewAuditEntry,
) -> Result<store::Authorisation, ApiError> {
    let subject_key = ctx
        .principal
        .subject_key
        .clone()
        .ok_or(ApiError::Forbidden)?;
    let now = state.clock.now();
    let day = today(now);
    let institution =
        domain::ids::Uscc::parse(&domain::ids::normalize(&req.institution), &state.rules.ids)
            .map_err(|e| ApiError::Unprocessable(format!("金融机构统一社会信用代码无效：{e}")))?
            .0
            .as_str()
            .to_string();
    if institution == subject_key {
        return Err(ApiError::Unprocessable("不能授权给本主体自己".into()));
    }
    // Any valid code would do otherwise: a trading partner's, a government body's — and
    // whoever held an account under it would read the whole file.
    if !state
        .platform
        .financial_institution_known(&institution, now)?
    {
        return Err(ApiError::Unprocessable(format!(
            "{institution}不是已在本平台开通信易贷查询的金融机构，不能授权；请向贷款银行核对其统一社会信用代码"
        )));
    }
    let until = crate::api::files::parse_day(&req.until)?;
    let latest = domain::calendar::add_months(day, 12);
    if until < day || until > latest {
        return Err(ApiError::Unprocessable(format!(
            "授权截止日期应在今日（{day}）至{latest}之间（一年之内）"
        )));
    }
    // One authorisation of an institution at a time (the store refuses a second that would
    // hold alongside): withdrawing it then withdraws it all.
    let subject = state
        .store
        .subject(&subject_key)?
        .ok_or_else(|| ApiError::NotFound("平台尚无本主体的信用档案，无需授权".into()))?;
    let code = subject
        .uscc
        .clone()
        .or(subject.id_masked.clone())
        .unwrap_or_default();
    let label = format!("{}（{}）", subject.name, code);
    let id = state.platform.grant_authorisation(
        &store::NewAuthorisation {
            subject_key: &subject_key,
            subject_label: &label,
            institution: &institution,
            purpose: PURPOSE,
            granted_by: &ctx.principal.actor(),
            at: now,
            until,
        },
        day,
        Some(carried),
    )?;
    state
        .platform
        .authorisation(id)?
        .ok_or_else(|| ApiError::internal("authorisation not read back"))
}

#[utoipa::path(post, path = "/api/v1/authorisations", summary = "授权金融机构查询本主体信用档案", tag = "信易贷授权", security(("token" = [])),
    request_body = GrantRequest,
    responses((status = 201, description = "已授权：该金融机构在截止日期前可查询本主体现行有效的信用记录（授信融资），包括不向社会公示、仅依授权共享的信息", body = store::Authorisation),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create_authorisation(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiJson(req): ApiJson<GrantRequest>,
) -> ApiResult<(StatusCode, Json<store::Authorisation>)> {
    let a = grant_audited(&state, &ctx, req).await?;
    Ok((StatusCode::CREATED, Json(a)))
}

/// Grants the caller's authorisation (API and console alike), audited whatever the outcome.
pub(crate) async fn grant_audited(
    state: &Shared,
    ctx: &Ctx,
    req: GrantRequest,
) -> Result<store::Authorisation, ApiError> {
    let (s, c) = (state.clone(), ctx.clone());
    let entry = audit_entry(
        ctx,
        "authorisation.grant",
        None,
        "ok",
        Some(grant_detail(&req)),
    );
    write_carrying(state, ctx, entry, move |carried| {
        grant(&s, &c, &req, carried)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/authorisations", summary = "查询信易贷授权", tag = "信易贷授权", security(("token" = [])),
    responses((status = 200, description = "信用主体：本主体给出的授权；金融机构：给予本机构的授权；市信用办：全部（最近500条）；安全审计员不可查看", body = Authorisations),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list_authorisations(
    State(state): State<Shared>,
    ctx: Ctx,
) -> ApiResult<Json<Authorisations>> {
    let authorisations = read_visible(&state, &ctx).await?;
    Ok(Json(Authorisations { authorisations }))
}

/// Who granted or withdrew an authorisation, as an institution is told.
const SUBJECT_ITSELF: &str = "信用主体本人";

/// [`visible`], read for the caller (API and console alike) and audited: the list names the
/// persons and companies that authorised a lender.
pub(crate) async fn read_visible(
    state: &Shared,
    ctx: &Ctx,
) -> Result<Vec<store::Authorisation>, ApiError> {
    let (s, p) = (state.clone(), ctx.principal.clone());
    let mut rows = blocking(move || visible(&s, &p)).await?;
    // Only the subject grants and withdraws: an institution is told so, not the login or token
    // of whoever acted for it (staff names are hidden from those outside the platform).
    if ctx.principal.role == Role::Financial {
        for a in &mut rows {
            a.granted_by = SUBJECT_ITSELF.into();
            if a.revoked_by.is_some() {
                a.revoked_by = Some(SUBJECT_ITSELF.into());
            }
        }
    }
    audit(
        state,
        ctx,
        "authorisation.list",
        None,
        "ok",
        Some(format!("{}条", rows.len())),
    )
    .await;
    Ok(rows)
}

/// The authorisations `p` may see (API and console alike): a subject its own, an institution
/// those given to it (an account or token without its code none), the credit office all; the
/// newest 500.
pub(crate) fn visible(
    state: &Shared,
    p: &auth::Principal,
) -> Result<Vec<store::Authorisation>, ApiError> {
    Ok(match (p.role, &p.subject_key) {
        (Role::Subject, Some(k)) => state.platform.authorisations(Some(k), None, 500)?,
        (Role::Financial, Some(k)) => state.platform.authorisations(None, Some(k), 500)?,
        (Role::Admin, _) => state.platform.authorisations(None, None, 500)?,
        _ => Vec::new(),
    })
}

#[utoipa::path(post, path = "/api/v1/authorisations/{id}/revoke", summary = "撤回信易贷授权", tag = "信易贷授权", security(("token" = [])),
    params(("id" = i64, Path, description = "授权编号")),
    responses((status = 200, description = "已撤回：该金融机构即时起只能看到公开信息", body = Done),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn revoke_authorisation(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Done>> {
    withdraw(&state, &ctx, id).await?;
    Ok(Json(Done { ok: true }))
}

/// Withdraws the caller's authorisation `id` (the subject's own, still holding), audited with
/// the institution it named.
pub(crate) async fn withdraw(state: &Shared, ctx: &Ctx, id: i64) -> Result<(), ApiError> {
    let (s, c) = (state.clone(), ctx.clone());
    let entry = audit_entry(
        ctx,
        "authorisation.revoke",
        Some(format!("authorisation:{id}")),
        "ok",
        None,
    );
    write_carrying(state, ctx, entry, move |carried| {
        let key = c.principal.subject_key.clone().ok_or(ApiError::Forbidden)?;
        let institution = s
            .platform
            .authorisation(id)?
            .filter(|a| a.subject_key == key)
            .map(|a| a.institution)
            .unwrap_or_default();
        carried.detail = Some(format!("institution={institution}"));
        let now = s.clock.now();
        s.platform.revoke_authorisation(
            id,
            &key,
            &c.principal.actor(),
            now,
            today(now),
            Some(carried),
        )?;
        Ok(())
    })
    .await
}
