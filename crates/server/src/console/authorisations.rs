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
    let s = state.clone();
    let institutions = match crate::blocking(move || {
        Ok(s.platform.financial_institutions(s.clock.now())?)
    })
    .await
    {
        Ok(l) => l,
        Err(e) => return error_page(&ctx, e),
    };
    // An institution as people know it: its name, then its code.
    let named = |code: &str| match institutions.iter().find(|(c, _)| c == code) {
        Some((_, name)) => format!("{name}（{code}）"),
        None => code.to_string(),
    };
    // The subject sees who read its file and checked it under its authorisations (as a credit
    // report lists its 查询记录): the trail kept them for the auditor only.
    let reads = match (subject, ctx.principal.subject_key.clone()) {
        (true, Some(key)) => {
            let s = state.clone();
            match crate::blocking(move || read_by_institutions(&s, &key)).await {
                Ok(r) => r,
                Err(e) => return error_page(&ctx, e),
            }
        }
        _ => Vec::new(),
    };
    let reads = reads
        .into_iter()
        .map(|(at, code, how)| (fmt_time(at), named(&code), how))
        .collect();
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
                    institution: named(&a.institution),
                    purpose: a.purpose,
                    granted_at: fmt_time(a.granted_at),
                    until: a.until.to_string(),
                })
                .collect(),
            institutions: if subject {
                institutions.clone()
            } else {
                Vec::new()
            },
            reads,
        },
    )
}

/// How many of the latest reads and checks of a subject by institutions its page lists.
const READS_SHOWN: i64 = 100;

/// The reads of `key`'s file and the checks of it that financial institutions made (newest
/// first): when, which institution (its code), and what it did.
fn read_by_institutions(
    state: &Shared,
    key: &str,
) -> Result<Vec<(chrono::DateTime<chrono::Utc>, String, String)>, crate::error::ApiError> {
    let mut out = Vec::new();
    for action in ["subject.read_full", "check.create"] {
        let found = state.platform.audit_search(&store::AuditQuery {
            action: Some(action.into()),
            object: Some(key.to_string()),
            limit: READS_SHOWN,
            ..Default::default()
        })?;
        for e in found {
            let e = e.entry;
            if e.role != Role::Financial.as_str() || e.outcome != "ok" {
                continue;
            }
            let Some(code) = e
                .unit
                .as_deref()
                .and_then(|u| u.strip_prefix(crate::api::joint::FINANCIAL_PREFIX))
            else {
                continue;
            };
            let detail = e.detail.unwrap_or_default();
            let how = if action == "check.create" {
                let matter = detail
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("matter="))
                    .map(|m| {
                        state
                            .rules
                            .measures
                            .matter(m)
                            .map_or(m.to_string(), |x| x.name.clone())
                    })
                    .unwrap_or_default();
                format!("信用核查（{matter}）")
            } else {
                "查阅信用档案（授权查询，用于授信融资）".to_string()
            };
            out.push((e.at, code.to_string(), how));
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.0));
    out.truncate(READS_SHOWN as usize);
    Ok(out)
}

/// A financial institution reads the file a subject authorised it to (信易贷), in the console:
/// the records in force that may be shared with it, as the API gives them, each read audited.
pub async fn file(State(state): State<Shared>, ctx: Ctx, ApiPath(id): ApiPath<i64>) -> Response {
    let rows = match api::read_visible(&state, &ctx).await {
        Ok(r) => r,
        Err(e) => return error_page(&ctx, e),
    };
    let day = today(state.clock.now());
    let Some(a) = rows.into_iter().find(|a| a.auth_id == id) else {
        return error_page(
            &ctx,
            crate::error::ApiError::NotFound(format!("授权{id}不存在")),
        );
    };
    if !a.holds_on(day) {
        let refusal = crate::error::ApiError::Conflict(format!(
            "授权{id}已撤回或已到期，不能查阅该主体的信用档案"
        ));
        // A refused read of a subject's file is on the trail with the subject it was of, as
        // the API's refusals are (the list page's entry named neither).
        crate::context::audit(
            &state,
            &ctx,
            "subject.read",
            Some(a.subject_key.clone()),
            "denied",
            Some(format!("authorisation={id} {refusal}")),
        )
        .await;
        return error_page(&ctx, refusal);
    }
    let f = match crate::api::files::load_file(&state, &ctx, a.subject_key.clone(), None).await {
        Ok(f) => f,
        Err(e) => return error_page(&ctx, e),
    };
    render(
        StatusCode::OK,
        pages::AuthorisedFile {
            frame: frame(&ctx, "信易贷授权查询", "/console/authorisations"),
            name: f.subject.name.clone(),
            code: f
                .subject
                .uscc
                .clone()
                .or(f.subject.id_masked.clone())
                .unwrap_or_default(),
            kind: f.subject.kind_label.to_string(),
            as_of: f.as_of.to_string(),
            until: a.until.to_string(),
            classes: file_classes(&f, false),
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

#[derive(serde::Deserialize, Default)]
pub struct SubjectQuery {
    #[serde(default)]
    pub code: String,
}

/// 信用档案查询 for the officers who read files whole (认定单位, 核查部门, 市信用办): the file
/// the API gives them, as a page, each read audited by the API's own path.
pub async fn subject_file(
    State(state): State<Shared>,
    ctx: Ctx,
    crate::body::ApiQuery(q): crate::body::ApiQuery<SubjectQuery>,
) -> Response {
    let code = q.code.trim().to_string();
    // An ID number in the address is not looked up: the form posts it (below), and a link to a
    // file names the subject's key. The number is not said back either.
    if matches!(domain::ids::mask_ids_in(&code), std::borrow::Cow::Owned(_)) {
        let mut fr = frame(&ctx, "信用档案查询", "/console/subjects");
        fr.error = Some(
            "公民身份号码请在下方查询框中输入后提交，不要写在网址中（网址会留在浏览器历史和访问日志里）"
                .into(),
        );
        return render(
            StatusCode::OK,
            pages::SubjectFilePage {
                frame: fr,
                code: String::new(),
                file: None,
            },
        );
    }
    show_file(&state, &ctx, code).await
}

/// The lookup form posts the code: an ID number in the address stayed in the browser's history
/// and in every proxy's access log. (A link to a file names the subject's key, never a number.)
pub async fn subject_file_post(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiForm(f): ApiForm<HashMap<String, String>>,
) -> Response {
    if let Err(e) = check_csrf(&ctx, f.get("csrf").map_or("", String::as_str)) {
        return error_page(&ctx, e);
    }
    let code = f.get("code").map_or("", String::as_str).trim().to_string();
    show_file(&state, &ctx, code).await
}

async fn show_file(state: &Shared, ctx: &Ctx, code: String) -> Response {
    let state = state.clone();
    let ctx = ctx.clone();
    let page = |file| {
        render(
            StatusCode::OK,
            pages::SubjectFilePage {
                frame: frame(&ctx, "信用档案查询", "/console/subjects"),
                code: domain::ids::mask_ids_in(&code).into_owned(),
                file,
            },
        )
    };
    if code.is_empty() {
        return page(None);
    }
    let f = match crate::api::files::load_file(&state, &ctx, code.clone(), None).await {
        Ok(f) => f,
        Err(e) => return error_page(&ctx, e),
    };
    let id = &f.subject;
    page(Some(pages::FileView {
        name: id.name.clone(),
        code: id.uscc.clone().or(id.id_masked.clone()).unwrap_or_default(),
        kind: id.kind_label.to_string(),
        division: id.division_name.clone().unwrap_or_default(),
        note: id.id_note.clone().unwrap_or_default(),
        classes: file_classes(&f, true),
    }))
}

/// Whether a record's publication ended otherwise than by its window.
fn ended(s: domain::record::RecordStatus) -> bool {
    use domain::record::RecordStatus::*;
    matches!(s, Repaired | Withdrawn | Exited | Revoked)
}

/// A file's classes and records as the console shows them; with `versions`, each record's
/// history (who, when, why) for the officers who read files whole.
fn file_classes(f: &views::CreditFile, versions: bool) -> Vec<pages::FileClass> {
    f.classes
        .iter()
        .map(|c| pages::FileClass {
            name: c.name.clone(),
            sharing: c.sharing.to_string(),
            records: c
                .records
                .iter()
                .map(|r| pages::FileRecord {
                    id: r.record_id.clone(),
                    status: r.status_label.to_string(),
                    unit: r.source_unit.clone(),
                    decided: r.decided_on.map(|d| d.to_string()).unwrap_or_default(),
                    // A record repaired, withdrawn or off its list has no window left: its old
                    // end read as if it were published until then (公示截止2028 on a repaired
                    // penalty), as the subject's own page already knew.
                    ends: r
                        .public_ends
                        .filter(|_| !ended(r.status))
                        .map(domain::record::day_shown)
                        .unwrap_or_default(),
                    repairable: r
                        .repairable_from
                        .filter(|_| !ended(r.status))
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    under_objection: r.under_objection,
                    items: r
                        .items
                        .iter()
                        .filter(|i| !i.value.trim().is_empty())
                        .map(|i| (i.name.to_string(), i.shown().into_owned()))
                        .collect(),
                    versions: r
                        .versions
                        .iter()
                        .filter(|_| versions)
                        .map(|v| {
                            (
                                v.version_no.to_string(),
                                v.change_label.to_string(),
                                v.recorded_at.clone(),
                                super::pages_impl::actor_label(&v.actor),
                                v.reason.clone().unwrap_or_default(),
                            )
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}
