//! Joint reward and punishment in the console: the check form and its result with feedback and
//! the embeddable snippet, alerts with their delivery state and feedback, batch review uploads
//! and result files, and the credit office's statistics.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use domain::measures::Verdict;

use super::pages_impl::{check_csrf, fmt_time};
use super::{error_page, frame, render, see_other};
use crate::api::joint as api;
use crate::body::{ApiJson, ApiPath};
use crate::context::{Ctx, audit, audit_entry, audited_write, write_carrying};
use crate::error::ApiError;
use crate::{Shared, blocking};

fn matters(state: &Shared, ctx: &Ctx) -> Vec<pages::ClassOption> {
    state
        .rules
        .measures
        .matters
        .iter()
        .filter(|m| ctx.principal.role != auth::Role::Financial || m.code == "JRSX")
        .map(|m| pages::ClassOption {
            value: m.code.clone(),
            label: m.name.clone(),
        })
        .collect()
}

fn matter_name(state: &Shared, code: &str) -> String {
    state
        .rules
        .measures
        .matter(code)
        .map_or(code.to_string(), |m| m.name.clone())
}

fn verdict_label(v: &str) -> String {
    Verdict::parse(v).map_or(v.to_string(), |v| v.label().to_string())
}

/// The form's fields, with repeated keys (checkboxes) kept.
fn form_fields(body: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Which checks the list shows: `?pending=1` only those still to answer (something found, no
/// feedback yet), `?before=N` the page after check N (the list had only the latest 50, and an
/// officer could not find the checks left unanswered).
#[derive(Debug, Default, serde::Deserialize)]
pub struct ChecksParams {
    #[serde(default)]
    pub pending: Option<String>,
    #[serde(default)]
    pub before: Option<i64>,
}

const CHECKS_PER_PAGE: i64 = 50;

fn checks_page_for(
    state: &Shared,
    ctx: &Ctx,
    code: String,
    matter: String,
    error: Option<String>,
    params: &ChecksParams,
) -> Result<pages::Checks, ApiError> {
    let unit = match ctx.principal.role {
        auth::Role::Admin => None,
        _ => api::organisation_of(&ctx.principal).ok(),
    };
    let pending = params.pending.as_deref().is_some_and(|p| p == "1");
    let rows = if unit.is_none() && ctx.principal.role != auth::Role::Admin {
        Vec::new()
    } else {
        state
            .platform
            .checks_page(unit.as_deref(), pending, params.before, CHECKS_PER_PAGE + 1)?
    };
    // One more than a page read: whether there is an earlier page.
    let more = rows.len() as i64 > CHECKS_PER_PAGE;
    let rows: Vec<_> = rows.into_iter().take(CHECKS_PER_PAGE as usize).collect();
    let filter = if pending { "pending=1&" } else { "" };
    let earlier = more
        .then(|| {
            rows.last()
                .map(|c| format!("/console/checks?{filter}before={}", c.check_id))
        })
        .flatten()
        .unwrap_or_default();
    let fed_back = match (rows.last(), rows.first()) {
        (Some(low), Some(high)) => state
            .platform
            .feedback_outcomes(low.check_id, high.check_id)?,
        _ => Default::default(),
    };
    let mut f = frame(ctx, "信用核查", "/console/checks");
    f.error = error;
    Ok(pages::Checks {
        frame: f,
        matters: matters(state, ctx),
        code,
        matter,
        financial: ctx.principal.role == auth::Role::Financial,
        pending,
        earlier,
        paged: params.before.is_some(),
        whose: if unit.is_none() {
            "各单位"
        } else {
            "本单位"
        }
        .into(),
        rows: rows
            .iter()
            .map(|c| {
                vec![
                    format!("/console/checks/{}", c.check_id),
                    c.check_id.to_string(),
                    fmt_time(c.checked_at),
                    c.subject_label.clone(),
                    matter_name(state, &c.matter),
                    verdict_label(&c.verdict),
                    // What the department said it did.
                    match fed_back.get(&c.check_id).map(String::as_str) {
                        Some("applied") => "已反馈：已采取措施".into(),
                        Some(_) => "已反馈：不适用".into(),
                        // A check that found nothing owes no answer (its page says so).
                        None if !c.owes_feedback() => "无需反馈".into(),
                        None => "未反馈".into(),
                    },
                ]
            })
            .collect(),
    })
}

pub async fn checks(
    State(state): State<Shared>,
    ctx: Ctx,
    crate::body::ApiQuery(q): crate::body::ApiQuery<ChecksParams>,
) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || checks_page_for(&s, &c, String::new(), String::new(), None, &q)).await;
    // The list names the subjects departments checked: a sensitive read (as GET /api/v1/checks).
    audit(
        &state,
        &ctx,
        "check.list",
        Some(ctx.principal.unit.clone().unwrap_or_else(|| "全部".into())),
        if r.is_ok() { "ok" } else { "failed" },
        None,
    )
    .await;
    match r {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn run(State(state): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    let f = form_fields(&body);
    if let Err(e) = check_csrf(&ctx, &field(&f, "csrf")) {
        return error_page(&ctx, e);
    }
    let (code, matter) = (field(&f, "code"), field(&f, "matter"));
    let req = api::CheckRequest {
        code: code.clone(),
        matter: matter.clone(),
        channel: Some("query".into()),
        reference: Some(field(&f, "reference")),
    };
    match api::run_check(&state, &ctx, req).await {
        Ok(r) => see_other(&format!("/console/checks/{}", r.check_id)),
        Err(e @ ApiError::Unprocessable(_)) => {
            let (s, c) = (state.clone(), ctx.clone());
            let msg = e.to_string();
            match blocking(move || {
                checks_page_for(&s, &c, code, matter, Some(msg), &ChecksParams::default())
            })
            .await
            {
                Ok(p) => render(StatusCode::UNPROCESSABLE_ENTITY, p),
                Err(e) => error_page(&ctx, e),
            }
        }
        Err(e) => error_page(&ctx, e),
    }
}

fn check_page_for(state: &Shared, ctx: &Ctx, id: i64) -> Result<pages::CheckPage, ApiError> {
    let c = api::visible_check(state, ctx, id)?;
    let fb = state.platform.feedback(id)?;
    let verdict = Verdict::parse(&c.verdict).unwrap_or(Verdict::Clear);
    // The entries as they stand now in the index (the check keeps their ids) — not for a
    // financial institution whose authorisation by the person has ended.
    let current = api::sees_current_state(state, &ctx.principal, &c)?;
    let now_entries = if current {
        api::entries_of_check(state, &c)
    } else {
        Vec::new()
    };
    let list_name = |code: &str| class_name(state, code);
    // An entry already set aside for this subject and matter, as it stands, is not offered for
    // another exception (marking it again only returned the one in force).
    let mut in_force = state.lists.exceptions(&c.subject_key, &c.matter);
    in_force.retain(|x| x.unit.is_none() || x.unit == ctx.principal.unit);
    let choice = |e: &joint::index::Entry| {
        (
            e.record_id.clone(),
            format!("{} {}", list_name(&e.class_code), e.decision_no),
        )
    };
    let entry_choices: Vec<(String, String)> = now_entries.iter().map(|(e, _)| choice(e)).collect();
    let except_choices: Vec<(String, String)> = now_entries
        .iter()
        .filter(|(e, _)| {
            !in_force.iter().any(|x| {
                x.record_id == e.record_id && joint::check::same_state(&x.record_hash, &e.hash)
            })
        })
        .map(|(e, _)| choice(e))
        .collect();
    let entries = c
        .entries
        .iter()
        .map(
            |rid| match now_entries.iter().find(|(e, _)| &e.record_id == rid) {
                // A penalty: its 处罚类别, fine and decision date in the first column, no list
                // validity or rectification.
                Some((e, via)) if e.penalty.is_some() => vec![
                    format!(
                        "{}（{}）",
                        list_name(&e.class_code),
                        e.penalty
                            .as_ref()
                            .map(joint::index::penalty_basis)
                            .unwrap_or_default()
                    ),
                    e.decision_no.clone(),
                    e.reason.clone(),
                    e.basis.clone(),
                    e.deciding_unit.clone(),
                    e.penalty
                        .as_ref()
                        .map(|p| p.decided_on.to_string())
                        .unwrap_or_default(),
                    String::new(),
                    String::new(),
                    via.label().into(),
                    if e.under_objection {
                        "异议处理中".into()
                    } else {
                        "受到行政处罚".into()
                    },
                ],
                Some((e, via)) => vec![
                    list_name(&e.class_code),
                    e.decision_no.clone(),
                    e.reason.clone(),
                    e.basis.clone(),
                    e.deciding_unit.clone(),
                    e.listed_on.map(|d| d.to_string()).unwrap_or_default(),
                    e.valid_to
                        .map(domain::record::day_shown)
                        .unwrap_or_else(|| "长期".into()),
                    e.rectify_by
                        .map(|d| crate::jobs::deadline_shown(state, d))
                        .unwrap_or_default(),
                    via.label().into(),
                    if e.under_objection {
                        "异议处理中".into()
                    } else {
                        "在列".into()
                    },
                ],
                None if !current => {
                    let mut row = vec![format!("记录{rid}")];
                    row.resize(9, String::new());
                    row.push("该自然人的授权已结束，不显示现状".into());
                    row
                }
                None => vec![
                    format!("记录{rid}（核查后已变更或移出）"),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    "已不在列".into(),
                ],
            },
        )
        .collect();
    let measures = c
        .measures
        .iter()
        .filter_map(|id| state.rules.measures.measure(id))
        .map(|m| pages::MeasureLine {
            id: m.id.clone(),
            name: m.name.clone(),
            effect: m.effect.label().into(),
            basis: m.basis_shown(),
            body: m.body.clone(),
            via: if current {
                api::measure_via(&c, m, &now_entries)
            } else {
                api::FOUND_AT_CHECK.to_string()
            },
        })
        .collect();
    // A subject on a list this matter rewards, with a record that withheld the reward (a
    // penalty, a punishing list): said so, not that the list has no measure here.
    let book = &state.rules.measures;
    let rewarding: Vec<&str> = book
        .measures
        .iter()
        .filter(|m| m.effect.is_incentive() && m.matters.iter().any(|x| x == &c.matter))
        .flat_map(|m| m.targets.iter().map(String::as_str))
        .collect();
    let found: Vec<_> = c
        .entries
        .iter()
        .filter_map(|rid| now_entries.iter().find(|(e, _)| &e.record_id == rid))
        .collect();
    let withheld = !c
        .measures
        .iter()
        .any(|id| book.measure(id).is_some_and(|m| m.effect.is_incentive()))
        && found
            .iter()
            .any(|(e, _)| rewarding.contains(&e.class_code.as_str()))
        && found
            .iter()
            .any(|(e, _)| !rewarding.contains(&e.class_code.as_str()));
    Ok(pages::CheckPage {
        frame: frame(ctx, "核查结果", "/console/checks"),
        id,
        withheld,
        subject: c.subject_label.clone(),
        matter: matter_name(state, &c.matter),
        // A case number is no place for an ID number: one written into it is masked.
        reference: c
            .reference
            .as_deref()
            .map(|r| domain::ids::mask_personal_in(r).into_owned())
            .unwrap_or_default(),
        verdict: verdict.label().into(),
        tone: match verdict {
            Verdict::Clear => "clear",
            Verdict::Incentive => "incentive",
            Verdict::Review | Verdict::Supervise => "review",
            Verdict::Forbid | Verdict::Restrict => "forbid",
        }
        .into(),
        at: fmt_time(c.checked_at),
        measures,
        entries,
        suppressed: c
            .suppressed
            .iter()
            .map(|rid| super::cases::record_title(state, rid))
            .collect(),
        // Measures by their names, the officer by name: what the department did, as it reads.
        feedback: fb.map(|f| {
            let measures: Vec<String> = f
                .measures
                .iter()
                .map(|id| {
                    state
                        .rules
                        .measures
                        .measure(id)
                        .map_or_else(|| id.clone(), |m| format!("{}（{id}）", m.name))
                })
                .collect();
            format!(
                "{}：{}{}（{}，{}）",
                if f.outcome == "applied" {
                    "已采取措施"
                } else {
                    "不适用"
                },
                measures.join("、"),
                // No measure listed (不适用): the reason alone, without a stray 「；」.
                f.reason
                    .map(|r| if measures.is_empty() {
                        r
                    } else {
                        format!("；{r}")
                    })
                    .unwrap_or_default(),
                super::pages_impl::actor_named(&state.platform, &f.actor),
                fmt_time(f.at)
            )
        }),
        can_feedback: crate::access::CHECKERS.contains(&ctx.principal.role),
        snippet: api::snippet(state, &c, current)?,
        entry_choices,
        except_choices,
        can_except: crate::access::OFFICERS.contains(&ctx.principal.role),
        can_decide: crate::access::LIST_DECIDERS.contains(&ctx.principal.role),
    })
}

/// The check's entry named in a form, if the check found it.
fn entry_of_check(c: &store::CheckRow, record_id: &str) -> Result<String, ApiError> {
    c.entries
        .iter()
        .find(|r| r.as_str() == record_id)
        .cloned()
        .ok_or_else(|| ApiError::NotFound("该次核查没有涉及这条名单记录".into()))
}

/// Marks one of the check's hits as a false positive for its subject and matter.
pub async fn exception(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> Response {
    let f = form_fields(&body);
    if let Err(e) = check_csrf(&ctx, &field(&f, "csrf")) {
        return error_page(&ctx, e);
    }
    let (s, c) = (state.clone(), ctx.clone());
    let (record_id, reason) = (field(&f, "record_id"), field(&f, "reason"));
    // Why, as for a revocation (ID and mobile numbers masked).
    let detail = Some(format!(
        "check={id} reason={}",
        domain::ids::mask_personal_in(reason.trim())
    ));
    let entry = audit_entry(
        &ctx,
        "exception.create",
        Some(record_id.clone()),
        "ok",
        detail,
    );
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        let k = api::visible_check(&s, &c, id)?;
        let rid = entry_of_check(&k, &record_id)?;
        api::mark_exception(&s, &c, &k.subject_key, &k.matter, &rid, &reason, carried)
    })
    .await;
    match r {
        Ok(e) => see_other(&format!("/console/checks/{id}?marked={}", e.exception_id)),
        Err(e) => error_page(&ctx, e),
    }
}

/// A deciding unit's change to one of the check's entries: rectification deadline, early exit,
/// revocation.
pub async fn list_action(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> Response {
    let f = form_fields(&body);
    if let Err(e) = check_csrf(&ctx, &field(&f, "csrf")) {
        return error_page(&ctx, e);
    }
    let req = api::ListActionRequest {
        action: field(&f, "action"),
        deadline: Some(field(&f, "deadline")),
        reason: field(&f, "reason"),
    };
    let record_id = field(&f, "record_id");
    let (s, c, rid, r2) = (state.clone(), ctx.clone(), record_id.clone(), req.clone());
    let r = blocking(move || {
        let k = api::visible_check(&s, &c, id)?;
        let rid = entry_of_check(&k, &rid)?;
        api::apply_list_action(&s, &c, &rid, &r2)
    })
    .await;
    super::lists::answer_list_action(
        &state,
        &ctx,
        record_id,
        &req,
        r,
        &format!("/console/checks/{id}"),
    )
    .await
}

#[derive(serde::Deserialize, Default)]
pub struct CheckPageParams {
    /// An exception just marked (after the form's redirect): said at the top of the page.
    pub marked: Option<i64>,
}

pub async fn check(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    crate::body::ApiQuery(q): crate::body::ApiQuery<CheckPageParams>,
) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || check_page_for(&s, &c, id)).await;
    // Reading a check again is a sensitive read, here as in the API.
    api::audit_check_read(&state, &ctx, id, r.is_ok(), "check.read").await;
    match r {
        Ok(mut p) => {
            if let Some(n) = q.marked {
                p.frame.flash = Some(format!(
                    "已登记例外（编号{n}）：本单位核查该主体该事项时，此条命中不再计入，直至该名单记录变更；可在“核查例外”页查看或撤销。"
                ));
            }
            render(StatusCode::OK, p)
        }
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn feedback(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> Response {
    let f = form_fields(&body);
    if let Err(e) = check_csrf(&ctx, &field(&f, "csrf")) {
        return error_page(&ctx, e);
    }
    let req = api::FeedbackRequest {
        outcome: field(&f, "outcome"),
        measures: f
            .iter()
            .filter(|(k, _)| k == "measures")
            .map(|(_, v)| v.clone())
            .collect(),
        reason: Some(field(&f, "reason")),
    };
    let (s, c) = (state.clone(), ctx.clone());
    let entry = api::feedback_entry(&ctx, id, &req.outcome);
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        api::file_feedback(&s, &c, id, &req, carried)
    })
    .await;
    match r {
        Ok(_) => see_other(&format!("/console/checks/{id}")),
        Err(e) => error_page(&ctx, e),
    }
}

fn delivery_label(d: &str) -> &'static str {
    match d {
        "delivered" => "已推送",
        "pending" => "待重试",
        "failed" => "推送失败",
        _ => "仅控制台",
    }
}

fn event_label(e: &str) -> &'static str {
    match e {
        "listed" => "列入名单",
        "serious_penalty" => "严重失信处罚",
        "changed" => "名单变更",
        "exited" => "移出名单",
        "revoked" => "撤销列入决定",
        "penalty_ended" => "处罚停止公示",
        "legal_rep_listed" => "法定代表人列入名单",
        "legal_rep_changed" => "法定代表人名单变更",
        "legal_rep_exited" => "法定代表人移出名单",
        "legal_rep_revoked" => "法定代表人撤销列入决定",
        "represented_org_listed" => "所任法定代表人的组织列入名单",
        "represented_org_changed" => "所任法定代表人的组织名单变更",
        "represented_org_exited" => "所任法定代表人的组织移出名单",
        "represented_org_revoked" => "所任法定代表人的组织撤销列入决定",
        _ => "其他",
    }
}

pub async fn alerts(State(state): State<Shared>, ctx: Ctx) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let unit = match c.principal.role {
            auth::Role::Admin | auth::Role::Auditor => None,
            _ => Some(api::organisation_of(&c.principal)?),
        };
        let can = crate::access::SUBSCRIBERS.contains(&c.principal.role);
        let list = s.platform.alerts(unit.as_deref(), false, 200)?;
        let read = (unit.unwrap_or_else(|| "全部".into()), list.len());
        let page = pages::Alerts {
            frame: frame(&c, "触发式预警", "/console/alerts"),
            alerts: list
                .into_iter()
                .map(|a| pages::AlertLine {
                    id: a.alert_id,
                    at: fmt_time(a.created_at),
                    unit: unit_label(&a.unit),
                    subject: a.subject_label,
                    event: event_label(&a.event).into(),
                    detail: a.detail,
                    failed: a.delivery == "failed",
                    delivery: delivery_label(&a.delivery).into(),
                    attempts: a.attempts,
                    last_error: a.last_error.unwrap_or_default(),
                    feedback: a
                        .feedback
                        .map(|f| {
                            format!(
                                "{}{}",
                                if f == "applied" {
                                    "已采取措施"
                                } else {
                                    "已知悉"
                                },
                                a.feedback_reason
                                    .map(|r| format!("：{r}"))
                                    .unwrap_or_default()
                            )
                        })
                        .unwrap_or_default(),
                    can_feedback: can,
                })
                .collect(),
        };
        Ok((page, read))
    })
    .await;
    // Alerts name the subjects a department watches: a sensitive read, as over the API.
    if let Ok((_, (whose, n))) = &r {
        audit(
            &state,
            &ctx,
            "alert.list",
            Some(whose.clone()),
            "ok",
            Some(format!("rows={n}")),
        )
        .await;
    }
    match r.map(|(p, _)| p) {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn alert_feedback(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> Response {
    let f = form_fields(&body);
    if let Err(e) = check_csrf(&ctx, &field(&f, "csrf")) {
        return error_page(&ctx, e);
    }
    let req = api::AlertFeedbackRequest {
        outcome: field(&f, "outcome"),
        reason: Some(field(&f, "reason")),
    };
    let (s, c) = (state.clone(), ctx.clone());
    let entry = api::alert_feedback_entry(&ctx, id, &req.outcome);
    let r = write_carrying(&state, &ctx, entry, move |carried| {
        api::file_alert_feedback(&s, &c, id, &req, carried)
    })
    .await;
    match r {
        Ok(()) => see_other("/console/alerts"),
        Err(e) => error_page(&ctx, e),
    }
}

/// A signed batch's signature (DER), or the exact text it is over, as files for checking with
/// OpenSSL beside the platform's key (`/api/v1/platform-key`): the console said 已签名 and gave
/// no way to the signature.
pub async fn batch_signed_text(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    batch_signature_part(&state, &ctx, id, false).await
}

pub async fn batch_signature(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    batch_signature_part(&state, &ctx, id, true).await
}

async fn batch_signature_part(state: &Shared, ctx: &Ctx, id: i64, signature: bool) -> Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let b = api::visible_batch(&s, &c, id)?;
        let (Some(sig), Some(text)) = (b.signature.as_deref(), api::signed_text(&s, &b)) else {
            return Err(ApiError::NotFound(format!("批次{id}的审查结果未经签名")));
        };
        Ok(if signature {
            hex::decode(sig).unwrap_or_default()
        } else {
            text.into_bytes()
        })
    })
    .await;
    audit(
        state,
        ctx,
        "batch.signature",
        Some(format!("batch:{id}")),
        if r.is_ok() { "ok" } else { "failed" },
        Some(
            if signature {
                "SM2签名"
            } else {
                "签名原文"
            }
            .into(),
        ),
    )
    .await;
    match r {
        Ok(bytes) => {
            let (kind, name) = if signature {
                ("application/octet-stream", format!("batch-{id}.sig"))
            } else {
                ("text/plain; charset=utf-8", format!("batch-{id}.txt"))
            };
            (
                [
                    (header::CONTENT_TYPE, kind.to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => error_page(ctx, e),
    }
}

fn batches_page_for(state: &Shared, ctx: &Ctx) -> Result<pages::Batches, ApiError> {
    let unit = match ctx.principal.role {
        auth::Role::Admin | auth::Role::Auditor => None,
        _ => ctx.principal.unit.clone(),
    };
    let rows: Vec<Vec<String>> = state
        .platform
        .batches(unit.as_deref(), 50)?
        .into_iter()
        .map(|b| {
            vec![
                b.batch_id.to_string(),
                fmt_time(b.created_at),
                matter_name(state, &b.matter),
                b.file_name.unwrap_or_default(),
                b.rows_read.to_string(),
                b.valid.to_string(),
                b.invalid.to_string(),
                b.duplicates.to_string(),
                b.checked.to_string(),
                b.hits.to_string(),
                b.incentives.to_string(),
                if b.signature.is_some() {
                    "已签名".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    Ok(pages::Batches {
        frame: frame(ctx, "批量审查", "/console/batches"),
        matters: matters(state, ctx),
        signed: rows
            .iter()
            .any(|r| r.get(11).is_some_and(|c| !c.is_empty())),
        rows,
        can_sign: ctx.principal.role == auth::Role::Admin,
    })
}

#[derive(serde::Deserialize, Default)]
pub struct BatchesParams {
    /// A batch just reviewed (after the upload's redirect): said at the top of the page.
    pub done: Option<i64>,
}

pub async fn batches(
    State(state): State<Shared>,
    ctx: Ctx,
    crate::body::ApiQuery(q): crate::body::ApiQuery<BatchesParams>,
) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || batches_page_for(&s, &c)).await;
    audit(
        &state,
        &ctx,
        "batch.list",
        None,
        if r.is_ok() { "ok" } else { "failed" },
        None,
    )
    .await;
    match r {
        Ok(mut p) => {
            if let Some(n) = q.done {
                p.frame.flash = Some(format!(
                    "批量审查已完成（批次{n}）：结果文件可在下表下载，每行对应上传文件的一行。"
                ));
            }
            render(StatusCode::OK, p)
        }
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn upload(
    State(state): State<Shared>,
    ctx: Ctx,
    crate::body::ApiMultipart(mut mp): crate::body::ApiMultipart,
) -> Response {
    let (mut csrf, mut matter, mut sign) = (String::new(), String::new(), false);
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match mp.next_field().await {
            Ok(Some(f)) => match f.name() {
                Some("csrf") => csrf = f.text().await.unwrap_or_default(),
                Some("matter") => matter = f.text().await.unwrap_or_default(),
                Some("sign") => sign = f.text().await.unwrap_or_default() == "true",
                Some("file") => {
                    let name = crate::body::upload_name(f.file_name(), "codes.csv");
                    match f.bytes().await {
                        Ok(b) => file = Some((name, b.to_vec())),
                        Err(e) => return error_page(&ctx, crate::body::multipart_error(e)),
                    }
                }
                _ => {}
            },
            Ok(None) => break,
            Err(e) => return error_page(&ctx, crate::body::multipart_error(e)),
        }
    }
    if let Err(e) = check_csrf(&ctx, &csrf) {
        return error_page(&ctx, e);
    }
    let Some((name, bytes)) = file else {
        return error_page(&ctx, ApiError::Unprocessable("没有收到文件".into()));
    };
    if sign && ctx.principal.role != auth::Role::Admin {
        return error_page(&ctx, ApiError::Forbidden);
    }
    let (s, c) = (state.clone(), ctx.clone());
    let m = matter.clone();
    let mut entry = audit_entry(
        &ctx,
        "batch.create",
        None,
        "ok",
        Some(format!("matter={matter}")),
    );
    let mut carried = entry.clone();
    let r = blocking(move || {
        let xlsx = name.to_ascii_lowercase().ends_with(".xlsx");
        api::run_batch(
            &s,
            api::BatchJob {
                actor: &c.principal.actor(),
                unit: c.principal.unit.as_deref(),
                matter: &m,
                file_name: Some(name),
                bytes: &bytes,
                xlsx,
                sign,
            },
            &mut carried,
        )
    })
    .await;
    if let Err(e) = &r {
        entry.detail = Some(format!("matter={matter} {e}"));
    }
    audited_write(&state, &ctx, &r, entry).await;
    match r {
        Ok(b) => see_other(&format!("/console/batches?done={}", b.batch_id)),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn batch_csv(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    match api::batch_download(&state, &ctx, id, "csv").await {
        Ok(r) => r,
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn batch_xlsx(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
) -> Response {
    match api::batch_download(&state, &ctx, id, "xlsx").await {
        Ok(r) => r,
        Err(e) => error_page(&ctx, e),
    }
}

/// The columns of the checks table, on the page and in its workbook.
const STATS_HEADERS: [&str; 11] = [
    "单位",
    "事项",
    "核查次数",
    "命中惩戒",
    "适用激励",
    "已反馈",
    "采取措施",
    "反馈率（命中与激励中已反馈）",
    "批量审查（户）",
    "批量审查命中惩戒",
    "批量审查适用激励",
];

pub async fn stats(
    State(state): State<Shared>,
    ctx: Ctx,
    crate::body::ApiQuery(q): crate::body::ApiQuery<api::StatsParams>,
) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || stats_page(&s, &c, q.since)).await;
    api::audit_stats_read(&state, &ctx, r.as_ref().ok().map(|p| p.accumulated.len())).await;
    match r {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(&ctx, e),
    }
}

/// The statistics as a workbook: the figures, the checks by unit and matter, and (for the
/// office, not the auditor) the subjects of the 累计失信 warning.
pub async fn stats_xlsx(
    State(state): State<Shared>,
    ctx: Ctx,
    crate::body::ApiQuery(q): crate::body::ApiQuery<api::StatsParams>,
) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let p = stats_page(&s, &c, q.since)?;
        let bytes = stats_workbook(&p).map_err(ApiError::internal)?;
        Ok((p.since, p.accumulated.len(), bytes))
    })
    .await;
    api::audit_stats_read(&state, &ctx, r.as_ref().ok().map(|(_, n, _)| *n)).await;
    match r {
        Ok((since, _, bytes)) => {
            crate::attachment(crate::XLSX, &format!("joint-stats-{since}.xlsx"), bytes)
        }
        Err(e) => error_page(&ctx, e),
    }
}

fn stats_workbook(p: &pages::JointStatsPage) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let percent = rust_xlsxwriter::Format::new().set_num_format("0.0%");
    // Counts as numbers and rates as percentages, so that the office can sum and compare them.
    let put = |ws: &mut rust_xlsxwriter::Worksheet,
               row: u32,
               col: u16,
               v: &str|
     -> Result<(), rust_xlsxwriter::XlsxError> {
        if let Ok(n) = v.parse::<f64>() {
            ws.write_number(row, col, n)?;
        } else if let Some(n) = v.strip_suffix('%').and_then(|x| x.parse::<f64>().ok()) {
            ws.write_number_with_format(row, col, n / 100.0, &percent)?;
        } else {
            ws.write_string(row, col, v)?;
        }
        Ok(())
    };
    let ws = wb.add_worksheet();
    ws.set_name("核查情况")?;
    ws.write_string_with_format(0, 0, format!("联合奖惩统计（自{}起）", p.since), &bold)?;
    for (i, f) in p.summary.iter().enumerate() {
        let row = 1 + i as u32;
        ws.write_string(row, 0, &f.label)?;
        put(ws, row, 1, &f.value)?;
    }
    let top = 2 + p.summary.len() as u32;
    for (c, h) in p.headers.iter().enumerate() {
        ws.write_string_with_format(top, c as u16, h, &bold)?;
    }
    for (r, row) in p.rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            put(ws, top + 1 + r as u32, c as u16, v)?;
        }
    }
    ws.autofit();
    let ws = wb.add_worksheet();
    ws.set_name("累计失信预警")?;
    ws.write_string(0, 0, &p.rule)?;
    if p.names_withheld {
        ws.write_string(1, 0, "主体名单仅向市信用办显示。")?;
    } else {
        for (c, h) in ["主体", "统一社会信用代码或档案键", "失信记录数"]
            .iter()
            .enumerate()
        {
            ws.write_string_with_format(1, c as u16, *h, &bold)?;
        }
        for (r, a) in p.accumulated.iter().enumerate() {
            let row = 2 + r as u32;
            ws.write_string(row, 0, &a.subject)?;
            ws.write_string(row, 1, &a.key)?;
            ws.write_number(row, 2, a.records as f64)?;
        }
    }
    ws.autofit();
    wb.save_to_buffer()
}

fn stats_page(
    s: &Shared,
    c: &Ctx,
    since: Option<String>,
) -> Result<pages::JointStatsPage, ApiError> {
    {
        // From a day the office chooses (a month, a quarter); 30 days back by default.
        let since = since.filter(|d| !d.trim().is_empty());
        let st = api::joint_stats(s, since.as_deref())?;
        let pct = |a: i64, b: i64| {
            if b == 0 {
                "-".to_string()
            } else {
                format!("{:.1}%", a as f64 * 100.0 / b as f64)
            }
        };
        Ok(pages::JointStatsPage {
            since: st.since.to_string(),
            frame: frame(c, "联合奖惩统计", "/console/joint"),
            headers: STATS_HEADERS.iter().map(|h| h.to_string()).collect(),
            summary: vec![
                pages::Figure {
                    label: if since.is_some() {
                        format!("自{}起核查", st.since)
                    } else {
                        format!("近30天核查（自{}）", st.since)
                    },
                    value: st.total_checks.to_string(),
                },
                pages::Figure {
                    label: "命中惩戒措施".into(),
                    value: st.total_hits.to_string(),
                },
                pages::Figure {
                    label: "适用激励措施".into(),
                    value: st.total_incentives.to_string(),
                },
                pages::Figure {
                    label: "反馈率".into(),
                    value: st
                        .feedback_rate
                        .map_or("-".into(), |r| format!("{:.1}%", r * 100.0)),
                },
                pages::Figure {
                    label: "未反馈预警".into(),
                    value: st.alerts_open.to_string(),
                },
                pages::Figure {
                    label: "推送失败预警".into(),
                    value: st.alerts_failed.to_string(),
                },
                pages::Figure {
                    label: "推送重试中预警".into(),
                    value: st.alerts_retrying.to_string(),
                },
                pages::Figure {
                    label: "在列名单记录".into(),
                    value: st.entries.to_string(),
                },
            ],
            rows: st
                .checks
                .iter()
                .map(|k| {
                    vec![
                        if k.command_line {
                            "（命令行核查）".into()
                        } else if k.unit.is_empty() {
                            "（未归属单位）".into()
                        } else {
                            unit_label(&k.unit)
                        },
                        matter_name(s, &k.matter),
                        k.checks.to_string(),
                        k.hits.to_string(),
                        k.incentives.to_string(),
                        k.feedback.to_string(),
                        k.applied.to_string(),
                        if k.command_line {
                            "—".into()
                        } else {
                            pct(k.feedback_due, k.hits + k.incentives)
                        },
                        k.batch_checked.to_string(),
                        k.batch_hits.to_string(),
                        k.batch_incentives.to_string(),
                    ]
                })
                .collect(),
            // Named subjects are the officers' business, not the security auditor's (who reads
            // the figures and the trail).
            accumulated: st
                .accumulated
                .iter()
                .filter(|_| c.principal.role != auth::Role::Auditor)
                .map(|a| pages::AccumulatedLine {
                    subject: a.subject.clone(),
                    // A person's store key is no number anyone knows: named as a person's file.
                    key: if a.key.starts_with('P') {
                        "自然人（查看档案）".into()
                    } else {
                        a.key.clone()
                    },
                    // The console's page of the whole file (the API's address answers a
                    // browser's session as the public, in JSON).
                    file: format!("/console/subjects?code={}", a.key),
                    records: a.records,
                })
                .collect(),
            names_withheld: c.principal.role == auth::Role::Auditor,
            rule: if st.accumulated_total > st.accumulated.len() as i64 {
                format!(
                    "{}。共{}个主体达到预警条件，列出失信记录最多的{}个。",
                    st.accumulation_rule,
                    st.accumulated_total,
                    st.accumulated.len()
                )
            } else {
                format!(
                    "{}。共{}个主体达到预警条件。",
                    st.accumulation_rule, st.accumulated_total
                )
            },
        })
    }
}

/// A unit as people read it: a financial institution (kept under its code, being no source unit)
/// as 金融机构 and its code.
fn unit_label(unit: &str) -> String {
    match unit.strip_prefix(api::FINANCIAL_PREFIX) {
        Some(code) => format!("金融机构（{code}）"),
        None => unit.to_string(),
    }
}

// ----- subscriptions and exceptions -----

/// The subjects the unit watches, with the forms to add and remove them (the API's calls,
/// audited as there).
pub async fn subscriptions(State(state): State<Shared>, ctx: Ctx) -> Response {
    let r = api::subscriptions(
        State(state.clone()),
        ctx.clone(),
        crate::body::ApiQuery(api::PageParams {
            limit: Some(1000),
            offset: Some(0),
        }),
    )
    .await;
    match r {
        Ok(axum::Json(list)) => render(
            StatusCode::OK,
            pages::Subscriptions {
                frame: frame(&ctx, "订阅主体", "/console/subscriptions"),
                financial: ctx.principal.role == auth::Role::Financial,
                rows: list
                    .into_iter()
                    .map(|x| {
                        [
                            x.label,
                            x.subscriber_ref,
                            x.note.unwrap_or_default(),
                            fmt_time(x.created_at),
                            x.code.unwrap_or_default(),
                        ]
                    })
                    .collect(),
                max_codes: api::MAX_SUBSCRIBE_CODES,
            },
        ),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn subscribe(State(state): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    let f = form_fields(&body);
    if let Err(e) = check_csrf(&ctx, &field(&f, "csrf")) {
        return error_page(&ctx, e);
    }
    let codes: Vec<String> = field(&f, "codes")
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let note = Some(field(&f, "note")).filter(|n| !n.trim().is_empty());
    let r = api::subscribe(
        State(state.clone()),
        ctx.clone(),
        crate::body::ApiJson(api::SubscribeRequest { codes, note }),
    )
    .await;
    match r {
        Ok(axum::Json(done)) => {
            let mut body = format!("新订阅{}个主体，{}个此前已订阅。", done.added, done.already);
            if !done.invalid.is_empty() {
                body.push_str(&format!(
                    "以下{}个代码无效，未订阅：{}",
                    done.invalid.len(),
                    done.invalid.join("；")
                ));
            }
            render(
                StatusCode::OK,
                pages::Message {
                    frame: frame(&ctx, "订阅结果", "/console/subscriptions"),
                    heading: "订阅结果".into(),
                    body,
                    link: Some(("/console/subscriptions".into(), "返回订阅主体".into())),
                    refresh_to: None,
                },
            )
        }
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn unsubscribe(State(state): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    let f = form_fields(&body);
    if let Err(e) = check_csrf(&ctx, &field(&f, "csrf")) {
        return error_page(&ctx, e);
    }
    let r = api::unsubscribe(
        State(state.clone()),
        ctx.clone(),
        crate::body::ApiJson(api::UnsubscribeRequest {
            code: field(&f, "code"),
        }),
    )
    .await;
    match r {
        Ok(_) => see_other("/console/subscriptions"),
        Err(e) => error_page(&ctx, e),
    }
}

/// The exceptions the caller may see (its unit's and the credit office's; the office every
/// one), newest first, with whether each still holds and a button to revoke those it may.
#[derive(serde::Deserialize, Default)]
pub struct ExceptionsParams {
    /// An exception just revoked (after the form's redirect): said at the top of the page.
    pub revoked: Option<i64>,
}

pub async fn exceptions(
    State(state): State<Shared>,
    ctx: Ctx,
    crate::body::ApiQuery(q): crate::body::ApiQuery<ExceptionsParams>,
) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let p = &c.principal;
        let day = crate::today(s.clock.now());
        let mut list: Vec<store::CheckException> = s
            .platform
            .exceptions(None)?
            .into_iter()
            .filter(|e| api::exception_visible(p, e))
            .collect();
        list.sort_by_key(|e| std::cmp::Reverse(e.exception_id));
        list.truncate(500);
        // And those revoked in the last 90 days, with who and why: a unit learns what became
        // of the ones it marked (the credit office may revoke them).
        list.extend(
            s.platform
                .exceptions_revoked_since(s.clock.now() - chrono::Duration::days(90), 200)?
                .into_iter()
                .filter(|e| api::exception_visible(p, e)),
        );
        let rows = list
            .into_iter()
            .map(|e| {
                let subject = match store::code_of(&e.subject_key) {
                    Some(code) => {
                        let name = s.search.get(&e.subject_key).map(|x| x.name);
                        name.map_or(code.clone(), |n| format!("{n}（{code}）"))
                    }
                    None => "自然人（证件号码不显示）".into(),
                };
                pages::ExceptionLine {
                    id: e.exception_id,
                    subject,
                    matter: matter_name(&s, &e.matter),
                    entry: super::cases::record_title(&s, &e.record_id),
                    reason: domain::ids::mask_personal_in(&e.reason).into_owned(),
                    by: super::pages_impl::actor_label(&e.actor),
                    at: fmt_time(e.created_at),
                    state: if let Some(at) = e.revoked_at {
                        format!(
                            "已撤销（{}，{}：{}）",
                            fmt_time(at),
                            super::pages_impl::actor_label(e.revoked_by.as_deref().unwrap_or("")),
                            domain::ids::mask_personal_in(e.revoke_reason.as_deref().unwrap_or(""))
                        )
                    } else if api::exception_holds(&s, &e, day) {
                        "有效".into()
                    } else {
                        "已失效（名单记录已变更或不再有效）".into()
                    },
                    can_revoke: e.revoked_at.is_none() && api::may_revoke(p, &e),
                }
            })
            .collect::<Vec<_>>();
        Ok(rows)
    })
    .await;
    audit(
        &state,
        &ctx,
        "exception.list",
        None,
        if r.is_ok() { "ok" } else { "failed" },
        r.as_ref().ok().map(|l| format!("rows={}", l.len())),
    )
    .await;
    match r {
        Ok(rows) => render(
            StatusCode::OK,
            pages::Exceptions {
                frame: {
                    let mut f = frame(&ctx, "核查例外", "/console/exceptions");
                    f.flash = q.revoked.map(|n| {
                        format!("已撤销例外{n}：此后核查该主体该事项时，这条命中重新计入。")
                    });
                    f
                },
                rows,
            },
        ),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn revoke_exception(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    body: Bytes,
) -> Response {
    let f = form_fields(&body);
    if let Err(e) = check_csrf(&ctx, &field(&f, "csrf")) {
        return error_page(&ctx, e);
    }
    let req = api::RevokeRequest {
        reason: field(&f, "reason"),
    };
    match api::revoke_exception(State(state.clone()), ctx.clone(), ApiPath(id), ApiJson(req)).await
    {
        Ok(_) => see_other(&format!("/console/exceptions?revoked={id}")),
        Err(e) => error_page(&ctx, e),
    }
}

// ----- alert receivers (webhooks) -----

async fn webhooks_page(
    state: &Shared,
    ctx: &Ctx,
    created: Option<(String, String, String)>,
    tested: Option<String>,
) -> Response {
    match api::webhooks(State(state.clone()), ctx.clone()).await {
        Ok(axum::Json(list)) => render(
            StatusCode::OK,
            pages::Webhooks {
                frame: frame(ctx, "预警推送地址", "/console/webhooks"),
                rows: list
                    .into_iter()
                    .map(|w| {
                        (
                            unit_label(&w.unit),
                            w.url,
                            super::pages_impl::actor_label(&w.set_by),
                            fmt_time(w.set_at),
                        )
                    })
                    .collect(),
                units: state
                    .rules
                    .units
                    .units
                    .iter()
                    .map(|u| u.name.clone())
                    .collect(),
                created,
                tested,
            },
        ),
        Err(e) => error_page(ctx, e),
    }
}

/// The departments' alert receivers, for the credit office (the API's, in the console: an
/// administrator's session, no token of the office's own needed).
pub async fn webhooks(State(state): State<Shared>, ctx: Ctx) -> Response {
    webhooks_page(&state, &ctx, None, None).await
}

pub async fn set_webhook(State(state): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    let f = form_fields(&body);
    if let Err(e) = check_csrf(&ctx, &field(&f, "csrf")) {
        return error_page(&ctx, e);
    }
    let req = api::WebhookRequest {
        unit: field(&f, "unit"),
        url: field(&f, "url"),
    };
    match api::set_webhook(State(state.clone()), ctx.clone(), ApiJson(req)).await {
        Ok(axum::Json(w)) => {
            let made = (unit_label(&w.unit), w.url, w.secret);
            webhooks_page(&state, &ctx, Some(made), None).await
        }
        Err(e) => error_page(&ctx, e),
    }
}

/// A unit as the receivers' list names it: an institution as 金融机构（code）, whose code is
/// what names it.
fn listed_unit(typed: String) -> String {
    typed
        .strip_prefix("金融机构（")
        .and_then(|t| t.strip_suffix('）'))
        .map_or(typed.clone(), str::to_string)
}

/// The office removes a unit's receiver (its alerts then stay in the console).
pub async fn remove_webhook(State(state): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    let f = form_fields(&body);
    if let Err(e) = check_csrf(&ctx, &field(&f, "csrf")) {
        return error_page(&ctx, e);
    }
    let req = api::WebhookRemoveRequest {
        unit: listed_unit(field(&f, "unit")),
    };
    match api::remove_webhook(State(state.clone()), ctx.clone(), ApiJson(req)).await {
        Ok(axum::Json(r)) => {
            let said = format!(
                "已删除{}的预警接收地址{}；此后其预警只在控制台显示",
                unit_label(&r.unit),
                r.url.map(|u| format!("（{u}）")).unwrap_or_default()
            );
            webhooks_page(&state, &ctx, None, Some(said)).await
        }
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn test_webhook(State(state): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    let f = form_fields(&body);
    if let Err(e) = check_csrf(&ctx, &field(&f, "csrf")) {
        return error_page(&ctx, e);
    }
    let req = api::WebhookTestRequest {
        unit: listed_unit(field(&f, "unit")),
    };
    match api::test_webhook(State(state.clone()), ctx.clone(), ApiJson(req)).await {
        Ok(axum::Json(t)) => {
            let said = if t.delivered {
                format!(
                    "测试消息已送达{}（{}，HTTP {}）",
                    unit_label(&t.unit),
                    t.url,
                    t.status.unwrap_or(200)
                )
            } else {
                format!(
                    "测试消息未能送达{}（{}）：{}",
                    unit_label(&t.unit),
                    t.url,
                    t.error.unwrap_or_default()
                )
            };
            webhooks_page(&state, &ctx, None, Some(said)).await
        }
        Err(e) => error_page(&ctx, e),
    }
}

/// A catalog class by its name (a list's, as officers know it), or its code when unknown.
fn class_name(state: &Shared, code: &str) -> String {
    state
        .rules
        .catalog
        .class_by_code(code)
        .map_or(code.to_string(), |k| k.name.clone())
}

/// The measures book as loaded (措施清单): matters, measures with what triggers them, and the
/// 累计失信 rule — what the office and the departments check against, to read (it is data in
/// the repository, changed by a new release, not in the console).
pub async fn measures(State(state): State<Shared>, ctx: Ctx) -> Response {
    let book = &state.rules.measures;
    let list_name = |code: &str| class_name(&state, code);
    fn subject_label(s: &str) -> &str {
        match s {
            "organisation" => "法人和非法人组织",
            "individual_business" => "个体工商户",
            "natural_person" => "自然人",
            other => other,
        }
    }
    let matter_name = |code: &str| {
        book.matters
            .iter()
            .find(|m| m.code == code)
            .map_or(code.to_string(), |m| m.name.clone())
    };
    let matters = book
        .matters
        .iter()
        .map(|m| {
            vec![
                m.code.clone(),
                m.name.clone(),
                if m.subjects.is_empty() {
                    "全部".to_string()
                } else {
                    m.subjects
                        .iter()
                        .map(|s| subject_label(s))
                        .collect::<Vec<_>>()
                        .join("、")
                },
                if m.check_legal_rep { "是" } else { "否" }.to_string(),
            ]
        })
        .collect();
    let measures = book
        .measures
        .iter()
        .map(|m| {
            let mut trigger = Vec::new();
            let lists = |codes: &[String]| {
                codes
                    .iter()
                    .map(|c| list_name(c))
                    .collect::<Vec<_>>()
                    .join("、")
            };
            if !m.targets.is_empty() {
                trigger.push(format!("本主体列入{}", lists(&m.targets)));
            }
            if !m.legal_rep_targets.is_empty() {
                trigger.push(format!("法定代表人列入{}", lists(&m.legal_rep_targets)));
            }
            if !m.represented_targets.is_empty() {
                trigger.push(format!(
                    "所任法定代表人的组织列入{}",
                    lists(&m.represented_targets)
                ));
            }
            if let Some(p) = &m.penalty {
                let mut what = Vec::new();
                if !p.categories.is_empty() {
                    what.push(format!("处罚类别为{}", p.categories.join("、")));
                }
                if let Some(f) = &p.fine_at_least {
                    what.push(format!("罚款不低于{f}元"));
                }
                trigger.push(format!(
                    "{}年内受到行政处罚（{}）",
                    p.within_years,
                    what.join("或")
                ));
            }
            vec![
                m.id.clone(),
                m.name.clone(),
                m.kind.label().to_string(),
                m.effect.label().to_string(),
                m.matters
                    .iter()
                    .map(|c| matter_name(c))
                    .collect::<Vec<_>>()
                    .join("、"),
                trigger.join("；"),
                m.body.clone(),
                m.basis_shown(),
            ]
        })
        .collect();
    let a = &book.accumulation;
    render(
        StatusCode::OK,
        pages::MeasuresPage {
            frame: frame(&ctx, "措施清单", "/console/measures"),
            version: book.version.clone(),
            basis: book.basis.clone(),
            matters,
            measures,
            accumulation: format!(
                "{}年内{}类失信记录累计达到{}条的主体列入预警（依据：{}）。阈值随措施清单版本发布。",
                a.years,
                a.classes
                    .iter()
                    .map(|c| list_name(c))
                    .collect::<Vec<_>>()
                    .join("、"),
                a.threshold,
                a.basis
            ),
        },
    )
}
