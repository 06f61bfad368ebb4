//! 本单位认定名单: a deciding unit's list entries (those it reported, ended ones too) with the
//! actions it may take on them — 限期整改, 提前移出, 撤销认定 — without a 逢办必查 check to reach
//! them (a check made only to manage an entry counted as a department's check owed feedback).
//! The credit office picks the unit.

use auth::Role;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::catalog::Role as ItemRole;

use super::pages_impl::check_csrf;
use super::{error_page, frame, render, see_other};
use crate::api::joint as api;
use crate::body::ApiQuery;
use crate::context::{Ctx, audit};
use crate::error::ApiError;
use crate::{Shared, blocking, today};

/// How many entries of each list the page shows, newest decision first.
const SHOWN: i64 = 300;

#[derive(Debug, serde::Deserialize)]
pub struct UnitParam {
    pub unit: Option<String>,
    /// The action just recorded (after the form's redirect): said at the top of the page.
    pub done: Option<String>,
}

/// What the page says after an action went through (the action's code, not free text: the
/// address cannot be made to print anything else).
fn done_flash(done: Option<&str>) -> Option<String> {
    let label = match done? {
        "rectify" => "限期整改",
        "exit" => "提前移出",
        "revoke" => "撤销认定",
        "expire" => "到期移出",
        _ => return None,
    };
    Some(format!(
        "已记录：{label}。名单记录已生成新版本，门户公示与联合奖惩核查即时按新状态执行。"
    ))
}

/// Which unit's entries the caller manages: its own; the credit office's choice.
fn unit_of(state: &Shared, ctx: &Ctx, asked: Option<&str>) -> Result<Option<String>, ApiError> {
    match ctx.principal.role {
        Role::Admin => Ok(asked
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| {
                state
                    .rules
                    .units
                    .find(u)
                    .map(|x| x.name.clone())
                    .ok_or_else(|| ApiError::Unprocessable(format!("没有名为“{u}”的单位")))
            })
            .transpose()?),
        _ => Ok(Some(ctx.principal.unit.clone().ok_or(ApiError::Forbidden)?)),
    }
}

pub async fn page(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<UnitParam>,
) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let unit = unit_of(&s, &c, q.unit.as_deref())?;
        let day = today(s.clock.now());
        let classes = s.lists.lists();
        let heads = match &unit {
            Some(u) => s.store.unit_heads(u, &classes, SHOWN)?,
            None => Vec::new(),
        };
        let rows = heads
            .iter()
            .map(|h| {
                let class = s.rules.catalog.class_by_code(&h.class_code);
                let pairs = store::payload_pairs(&h.payload);
                let item = |role: ItemRole| {
                    class
                        .and_then(|c| c.item_by_role(role))
                        .and_then(|it| pairs.iter().find(|(k, _)| *k == it.code))
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                let change: domain::record::ChangeKind = h
                    .change
                    .parse()
                    .unwrap_or(domain::record::ChangeKind::Created);
                let in_force = !change.ends() && h.public_ends.is_none_or(|e| e >= day);
                pages::UnitListRow {
                    record_id: h.record_id.clone(),
                    list: class.map(|c| c.name.clone()).unwrap_or_default(),
                    subject: item(ItemRole::SubjectName),
                    decision_no: class
                        .and_then(|c| c.key.first())
                        .and_then(|k| pairs.iter().find(|(p, _)| p == k))
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default(),
                    listed_on: h.decided_on.map(|d| d.to_string()).unwrap_or_default(),
                    ends: h
                        .public_ends
                        .map(domain::record::day_shown)
                        .unwrap_or_default(),
                    rectify_by: pairs
                        .iter()
                        .find(|(k, _)| k == "MD_ZGQX")
                        .map(|(_, v)| match v.parse::<chrono::NaiveDate>() {
                            Ok(d) => crate::jobs::deadline_shown(&s, d),
                            Err(_) => v.clone(),
                        })
                        .unwrap_or_default(),
                    status: if in_force
                        && h.class_code == domain::lists::RED_LIST
                        && s.lists.entries(&h.subject_key).iter().any(|e| {
                            domain::lists::RED_SUSPENDED_BY.contains(&e.class_code.as_str())
                                && e.in_force(day)
                        }) {
                        // As the file says it: a red entry of a subject now on a serious list
                        // gives no incentive (it read as plain 在列).
                        "在列（暂停激励：同时列入严重失信主体名单）".to_string()
                    } else if in_force {
                        "在列".to_string()
                    } else if change.ends() {
                        change.label().to_string()
                    } else {
                        "已到期".to_string()
                    },
                    // A revocation may follow an exit (the decision itself was wrong); nothing
                    // follows a withdrawal or a revocation.
                    actionable: in_force
                        || matches!(
                            change,
                            domain::record::ChangeKind::Exited
                                | domain::record::ChangeKind::Expired
                        ),
                    in_force,
                    // A red-list entry punishes nothing: nothing to rectify.
                    rectifiable: in_force
                        && class
                            .is_some_and(|c| c.list_type != Some(domain::catalog::ListType::Red)),
                }
            })
            .collect();
        Ok(pages::UnitLists {
            frame: {
                let mut f = frame(&c, "本单位认定名单", "/console/lists");
                f.flash = done_flash(q.done.as_deref());
                f
            },
            office: c.principal.role == Role::Admin,
            unit: unit.clone().unwrap_or_default(),
            units: s.rules.units.units.iter().map(|u| u.name.clone()).collect(),
            rows,
            limit: SHOWN,
            today: day.to_string(),
        })
    })
    .await;
    // The entries name persons and companies a unit listed: a sensitive read, whoever reads it.
    if let Ok(p) = &r
        && !p.unit.is_empty()
    {
        audit(
            &state,
            &ctx,
            "lists.unit_view",
            Some(p.unit.clone()),
            "ok",
            Some(format!("{}条", p.rows.len())),
        )
        .await;
    }
    match r {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(&ctx, e),
    }
}

/// One action on one entry of the unit's lists; the same rules as the API's
/// (`POST /api/v1/lists/{id}/actions`): only the unit the entry names as deciding, or the
/// credit office.
pub async fn act(State(state): State<Shared>, ctx: Ctx, body: Bytes) -> Response {
    let f: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |n: &str| {
        f.iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if let Err(e) = check_csrf(&ctx, &field("csrf")) {
        return error_page(&ctx, e);
    }
    let req = api::ListActionRequest {
        action: field("action"),
        deadline: Some(field("deadline")),
        reason: field("reason"),
    };
    let record_id = field("record_id");
    let back = match field("unit") {
        u if u.is_empty() => "/console/lists".to_string(),
        u => format!("/console/lists?unit={}", super::urlencode(&u)),
    };
    let (s, c, rid, r2) = (state.clone(), ctx.clone(), record_id.clone(), req.clone());
    let r = blocking(move || {
        if r2.reason.trim().is_empty() {
            return Err(ApiError::Unprocessable("请填写理由".into()));
        }
        api::apply_list_action(&s, &c, &rid, &r2)
    })
    .await;
    answer_list_action(&state, &ctx, record_id, &req, r, &back).await
}

/// A list action's entry in the trail (done, or asked for and refused) and the page after it.
pub(super) async fn answer_list_action(
    state: &Shared,
    ctx: &Ctx,
    record_id: String,
    req: &api::ListActionRequest,
    r: Result<(domain::lists::ListAction, Vec<String>), ApiError>,
    back: &str,
) -> Response {
    let (r, notes) = match r {
        Ok((a, notes)) => (Ok(a), notes),
        Err(e) => (Err(e), Vec::new()),
    };
    api::audit_list_action(state, ctx, &record_id, &r, req).await;
    match r {
        // What the platform made of the date (moved off a day off, counted without a year's
        // holiday notice) is said before going back, not left to be noticed in the list.
        Ok(a) if !notes.is_empty() => render(
            StatusCode::OK,
            pages::Message {
                frame: frame(ctx, "已记录", ""),
                heading: format!("已记录：{}", a.label()),
                body: notes.join("；"),
                link: Some((back.to_string(), "返回".into())),
                refresh_to: None,
            },
        ),
        // Back to the page, which says what was recorded.
        Ok(_) if back.starts_with("/console/lists") => see_other(&format!(
            "{back}{}done={}",
            if back.contains('?') { "&" } else { "?" },
            req.action
        )),
        Ok(_) => see_other(back),
        Err(e) => error_page(ctx, e),
    }
}
