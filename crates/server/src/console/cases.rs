//! The console's repair and objection pages: the subject's records with the application and
//! objection forms, the worklist of a unit (or of the credit office), a case with its pre-review,
//! history, evidence and the forms for what the viewer may do, and the statistics.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::workflow::{Action, CaseKind, CaseState, ConditionStatus};
use workflows::Upload;

use super::pages_impl::{check_csrf, fmt_time};
use super::{error_page, frame, render, see_other};
use crate::api::cases as api;
use crate::body::{ApiPath, ApiQuery};
use crate::context::Ctx;
use crate::error::ApiError;
use crate::{Shared, blocking, today};

/// The body limit of forms carrying evidence, from the rules in force: the files they allow, at
/// their largest, plus the fields (axum's default of 2 MB would refuse a file the rules accept).
pub fn evidence_limit(ev: &domain::workflow::EvidenceRules) -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(ev.max_bytes as usize * ev.max_files.max(1) + (1 << 20))
}

/// A subject as a list shows it: organisations from the name index in memory, the store only for
/// natural persons (name and masked ID).
fn subject_name(state: &Shared, key: &str) -> String {
    if let Some(e) = state.search.get(key) {
        return format!("{}（{key}）", e.name);
    }
    match state.store.subject(key) {
        Ok(Some(s)) => match s.id_masked {
            Some(m) if s.uscc.is_none() => format!("{}（{m}）", s.name),
            _ => format!("{}（{}）", s.name, s.uscc.unwrap_or_default()),
        },
        _ => key.chars().take(20).collect(),
    }
}

fn kind_label(k: &str, exit: bool) -> String {
    k.parse::<CaseKind>()
        .map(|k| k.label_of(exit).to_string())
        .unwrap_or_else(|_| k.to_string())
}

fn state_label(s: &str, exit: bool) -> String {
    s.parse::<CaseState>()
        .map(|s| s.label_of(exit).to_string())
        .unwrap_or_else(|_| s.to_string())
}

/// An application to leave a list early: a repair whose record is an entry of such a list.
fn is_exit(state: &Shared, c: &store::Case) -> bool {
    c.kind == CaseKind::Repair.as_str() && state.rules.workflows.list_exit.offers(&c.class_code)
}

/// A record as people name it: its class and document number (文书号); its id where it has none
/// or cannot be read.
pub(super) fn record_title(state: &Shared, record_id: &str) -> String {
    match state.store.record_head(record_id) {
        Ok(Some(h)) => {
            let t = titled(state, record_id, &h.class_code, &h.payload);
            match (t.ends_with(&format!("（{record_id}）")), h.decided_on) {
                // A record with no document number (a registration) is named by its date and
                // party, not by the hash that is its id.
                (true, Some(d)) => {
                    let class = t.split('（').next().unwrap_or_default();
                    format!("{class}（{}，{d}）", subject_name(state, &h.subject_key))
                }
                _ => t,
            }
        }
        _ => record_id.to_string(),
    }
}

/// `record_title` from the record's class and current payload.
fn titled(state: &Shared, record_id: &str, class_code: &str, payload: &str) -> String {
    let Some(class) = state.rules.catalog.class_by_code(class_code) else {
        return record_id.to_string();
    };
    let number = class
        .item_by_role(domain::catalog::Role::DecisionNo)
        .and_then(|item| {
            store::payload_items(payload)
                .into_iter()
                .find(|(code, _)| code.as_ref() == item.code)
                .map(|(_, v)| v.into_owned())
        })
        .filter(|v| !v.trim().is_empty());
    match number {
        Some(n) => format!("{} {n}", class.name),
        None => format!("{}（{record_id}）", class.name),
    }
}

/// Whether `unit` has an account, or a live token of its system, that can work a case of
/// `kind`: a repair is its deciding officers', an objection its reporters' and reviewers'.
fn has_handler(
    accounts: &[store::Account],
    tokens: &[store::ApiToken],
    unit: &str,
    kind: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    let handlers: &[&str] = if kind == "repair" {
        &["deciding"]
    } else {
        &["reporter", "reviewer"]
    };
    accounts.iter().any(|a| {
        a.unit.as_deref() == Some(unit)
            && a.disabled_at.is_none()
            && handlers.contains(&a.role.as_str())
    }) || tokens.iter().any(|t| {
        t.unit.as_deref() == Some(unit)
            && t.revoked_at.is_none()
            && t.expires_at > now
            && handlers.contains(&t.role.as_str())
    })
}

fn case_line(state: &Shared, c: &store::Case, day: chrono::NaiveDate) -> pages::CaseLine {
    let exit = is_exit(state, c);
    pages::CaseLine {
        id: c.case_id,
        kind: kind_label(&c.kind, exit),
        // Named on the case's own page (`case_page`), not in lists: a lookup per line.
        record: String::new(),
        record_id: c.record_id.clone(),
        subject: subject_name(state, &c.subject_key),
        unit: c.unit.clone(),
        state: c
            .state
            .parse::<CaseState>()
            .map(|s| s.label_with_outcome(c.outcome.as_deref(), exit))
            .unwrap_or_else(|_| c.state.clone()),
        opened: fmt_time(c.opened_at),
        deadline: workflows::deadline_text(&state.rules.calendar, c.deadline),
        // The unit's clock stops while it waits for the applicant: say so rather than "—".
        step: match (&c.deadline_step, c.state.parse::<CaseState>()) {
            (Some(step), _) => step.clone(),
            (None, Ok(CaseState::AwaitingMaterials)) => {
                "办理时限暂停，待申请人补充材料后继续计算".into()
            }
            // Returned for correction: the applicant's turn, and no time limit set for it.
            (None, Ok(CaseState::Returned)) => {
                "已退回补正，待申请人补正后重新提交（补正不设时限，提交后重新计算受理时限）".into()
            }
            _ => String::new(),
        },
        overdue: c.deadline.is_some_and(|d| d < day),
        unattended: false,
    }
}

fn message_lines(list: Vec<store::Message>) -> Vec<pages::MessageLine> {
    list.into_iter()
        .map(|m| pages::MessageLine {
            at: fmt_time(m.created_at),
            title: m.title,
            body: m.body,
            case_id: m.case_id,
        })
        .collect()
}

pub async fn my_records(State(state): State<Shared>, ctx: Ctx) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let a = api::actor(&c)?;
        let mine = api::my_records_for(&s, &a)?;
        let day = today(s.clock.now());
        // Each record's versions as the subject's own file gives them — when, what changed,
        // why; staff named by their unit — as officers read them (the subject saw 已修复 and
        // nothing of who changed what).
        let mut history: std::collections::HashMap<String, Vec<(String, String, String)>> =
            match s.store.subject_file(&mine.subject_key, None)? {
                Some((subject, records)) => {
                    let mut f =
                        views::file_of(&subject, &records, &s.rules, day, views::Audience::Full);
                    views::staff_names_hidden(&mut f);
                    f.classes
                        .into_iter()
                        .flat_map(|c| c.records)
                        .map(|r| {
                            let versions = r
                                .versions
                                .into_iter()
                                .map(|v| {
                                    (
                                        v.recorded_at,
                                        v.change_label.to_string(),
                                        v.reason.unwrap_or_default(),
                                    )
                                })
                                .collect();
                            (r.record_id, versions)
                        })
                        .collect()
                }
                None => Default::default(),
            };
        let cases = api::cases_for(
            &s,
            &a,
            &api::CasesQuery {
                kind: None,
                open: false,
                overdue: false,
            },
        )?;
        Ok(pages::MyRecordsPage {
            frame: frame(&c, "我的信用记录", "/console/my/records"),
            commitment: mine.commitment,
            measures: mine
                .measures
                .into_iter()
                .map(|m| pages::MyMeasureLine {
                    matter: m.matter,
                    measure: m.measure,
                    effect: m.effect,
                    body: m.body,
                    basis: m.basis,
                    because: m.because.join("；"),
                })
                .collect(),
            records: mine
                .records
                .into_iter()
                .map(|r| pages::MyRecordLine {
                    items: r
                        .items
                        .iter()
                        .map(|i| (i.name.clone(), i.value.clone()))
                        .collect(),
                    in_force: r.in_force,
                    history: history.remove(&r.record_id).unwrap_or_default(),
                    penalty: r.class_code == "CF",
                    list_exit: s.rules.workflows.list_exit.offers(&r.class_code),
                    exit_elsewhere: r.exit_elsewhere.clone().unwrap_or_default(),
                    record_id: r.record_id,
                    // A record with no key items is titled by its class: said once.
                    title: if r.title == r.class {
                        String::new()
                    } else {
                        r.title
                    },
                    class: r.class,
                    unit: r.deciding_unit,
                    decided_on: r.decided_on.map(|d| d.to_string()).unwrap_or_default(),
                    repairable_from: match r.repairable_from {
                        Some(d) => d.to_string(),
                        None if r.in_force => "—".into(),
                        None => String::new(),
                    },
                    public_ends: r
                        .public_ends
                        .map(domain::record::day_shown)
                        .unwrap_or_default(),
                    // With the day it ended (已修复 alone left the subject asking since when).
                    status: match r.ended_on {
                        Some(d) => format!("{}（{d}）", r.status),
                        None => r.status,
                    },
                    objection: r.under_objection,
                    may_apply: r.may_apply,
                    missing: r.missing,
                    open_repair: r.open_repair,
                    open_objection: r.open_objection,
                })
                .collect(),
            messages: message_lines(api::messages_for(&s, &c)?),
            cases: cases.iter().map(|k| case_line(&s, k, day)).collect(),
        })
    })
    .await;
    // Named by the subject, as the API's read of the same records is.
    let subject = ctx.principal.subject_key.clone();
    super::audited_page(&state, &ctx, "cases.my_records", subject, r).await
}

/// The fields of a multipart form; files (field `file`) are read whole, bounded by the
/// evidence size limit.
async fn form(
    state: &Shared,
    mut mp: Multipart,
) -> Result<(Vec<(String, String)>, Vec<Upload>), ApiError> {
    let limit = state.rules.workflows.evidence.max_bytes as usize;
    let max_files = state.rules.workflows.evidence.max_files;
    let mut fields = Vec::new();
    let mut files = Vec::new();
    while let Some(mut f) = mp
        .next_field()
        .await
        .map_err(crate::body::multipart_error)?
    {
        let name = f.name().unwrap_or_default().to_string();
        if name == "file" {
            if files.len() >= max_files {
                return Err(ApiError::Unprocessable(format!(
                    "证明材料最多{max_files}个文件"
                )));
            }
            // An empty file input sends no name: nothing chosen.
            let file_name = match f.file_name() {
                Some(n) if !n.is_empty() => crate::body::upload_name(Some(n), "证明材料"),
                _ => String::new(),
            };
            let mut bytes = Vec::new();
            while let Some(chunk) = f.chunk().await.map_err(crate::body::multipart_error)? {
                if bytes.len() + chunk.len() > limit {
                    return Err(ApiError::Unprocessable(format!(
                        "证明材料“{file_name}”超过{}MB上限",
                        limit / 1048576
                    )));
                }
                bytes.extend_from_slice(&chunk);
            }
            // A form submitted without choosing a file sends an empty part.
            if !file_name.is_empty() && !bytes.is_empty() {
                files.push(Upload {
                    name: file_name,
                    bytes,
                });
            }
        } else {
            let v = f.text().await.map_err(crate::body::multipart_error)?;
            fields.push((name, v));
        }
    }
    Ok((fields, files))
}

/// A posted form with its CSRF token checked (a password that must change is held at the
/// door, `access::check`); otherwise the page to answer with.
/// A form refused before it is read whole (too many or too large files, a broken upload) is an
/// attempted write of `action` too: on the trail as failed, with why.
async fn checked_form(
    state: &Shared,
    ctx: &Ctx,
    mp: Multipart,
    action: &str,
) -> Result<(Vec<(String, String)>, Vec<Upload>), Response> {
    let (fields, files) = match form(state, mp).await {
        Ok(f) => f,
        Err(e) => {
            let entry = crate::context::audit_entry(
                ctx,
                action,
                None,
                "failed",
                Some(format!("refused={e}")),
            );
            crate::context::append_entry(state, ctx, entry).await;
            return Err(error_page(ctx, e));
        }
    };
    check_csrf(ctx, &field(&fields, "csrf")).map_err(|e| error_page(ctx, e))?;
    Ok((fields, files))
}

fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

pub async fn apply(
    State(state): State<Shared>,
    ctx: Ctx,
    crate::body::ApiMultipart(mp): crate::body::ApiMultipart,
) -> Response {
    let (fields, files) = match checked_form(&state, &ctx, mp, "repair.apply").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    match api::apply(
        &state,
        &ctx,
        field(&fields, "record_id"),
        field(&fields, "commitment") == "yes",
        field(&fields, "statement"),
        files,
    )
    .await
    {
        Ok(c) => see_other(&format!("/console/cases/{}", c.case_id)),
        Err(e) => error_page(&ctx, e),
    }
}

/// What a unit's staff type to name their own record: its id, or the decision's 文书号 (what
/// they know it by), looked up among the unit's records of the monitored classes (行政许可,
/// 行政处罚).
fn own_record(state: &Shared, ctx: &Ctx, typed: &str) -> Result<String, ApiError> {
    if store::parse_record_id(typed).is_some() {
        return Ok(typed.to_string());
    }
    let Some(unit) = ctx.principal.unit.as_deref() else {
        return Ok(typed.to_string());
    };
    let mut found = crate::api::files::unit_records_of_decision(state, unit, typed)?;
    match found.len() {
        0 => Err(ApiError::NotFound(format!(
            "本单位没有记录编号或文书号为“{typed}”的记录：请核对后重新输入（记录编号见主体信用档案）"
        ))),
        1 => Ok(found.remove(0)),
        n => Err(ApiError::Unprocessable(format!(
            "文书号“{typed}”对应{n}条记录（一份决定有多个当事人）：请输入其中一条的记录编号：{}",
            found.join("、")
        ))),
    }
}

pub async fn object(
    State(state): State<Shared>,
    ctx: Ctx,
    crate::body::ApiMultipart(mp): crate::body::ApiMultipart,
) -> Response {
    let (fields, files) = match checked_form(&state, &ctx, mp, "objection.create").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let typed = field(&fields, "record_id");
    let (s, c) = (state.clone(), ctx.clone());
    let record_id = match blocking(move || own_record(&s, &c, &typed)).await {
        Ok(id) => id,
        Err(e) => return error_page(&ctx, e),
    };
    match api::object(&state, &ctx, record_id, field(&fields, "reason"), files).await {
        Ok(c) => see_other(&format!("/console/cases/{}", c.case_id)),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn cases(
    State(state): State<Shared>,
    ctx: Ctx,
    crate::body::ApiQuery(q): crate::body::ApiQuery<api::WorklistQuery>,
) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let from = i64::from(q.reminders_from);
    let r = blocking(move || {
        let a = api::actor(&c)?;
        let day = today(s.clock.now());
        let is_subject = c.principal.role == auth::Role::Subject;
        let (reminders, total, open) = if is_subject {
            (
                Vec::new(),
                0,
                api::cases_for(
                    &s,
                    &a,
                    &api::CasesQuery {
                        kind: None,
                        open: true,
                        overdue: false,
                    },
                )?,
            )
        } else {
            let w = api::worklist_from(&s, &a, from)?;
            (w.reminders, w.reminders_total, w.open)
        };
        let shown = reminders.len() as i64;
        let recent = api::cases_for(
            &s,
            &a,
            &api::CasesQuery {
                kind: None,
                open: false,
                overdue: false,
            },
        )?;
        Ok(pages::CasesPage {
            frame: frame(&c, "信用修复与异议", "/console/cases"),
            heading: if is_subject {
                "我的申请".into()
            } else {
                "信用修复与异议工作台".into()
            },
            reminders: reminders
                .into_iter()
                .map(|m| {
                    let missing =
                        serde_json::from_str::<domain::workflow::Eligibility>(&m.pre_review)
                            .map(|e| e.missing().join("；"))
                            .unwrap_or_default();
                    pages::ReminderLine {
                        subject: subject_name(&s, &m.subject_key),
                        record: titled(&s, &m.record_id, &m.class_code, &m.payload),
                        record_id: m.record_id,
                        unit: m.unit,
                        from: m.repairable_from.to_string(),
                        missing,
                    }
                })
                .collect(),
            reminders_total: total,
            reminders_first: from + 1,
            reminders_last: from + shown,
            reminders_prev: (from > 0).then(|| (from - api::REMINDERS_SHOWN).max(0)),
            reminders_next: (from + shown < total).then_some(from + shown),
            // The office sees in its list which open cases no one at their unit can work (the
            // warning stood only on each case's own page).
            open: {
                let office = c.principal.role == auth::Role::Admin;
                let (accounts, tokens) = if office {
                    (s.platform.accounts()?, s.platform.tokens()?)
                } else {
                    (Vec::new(), Vec::new())
                };
                let now = s.clock.now();
                open.iter()
                    .map(|k| pages::CaseLine {
                        unattended: office
                            && k.deadline.is_some()
                            && !has_handler(&accounts, &tokens, &k.unit, &k.kind, now),
                        ..case_line(&s, k, day)
                    })
                    .collect()
            },
            recent: recent
                .iter()
                .filter(|k| !k.state.parse::<CaseState>().is_ok_and(|x| x.is_open()))
                .take(100)
                .map(|k| case_line(&s, k, day))
                .collect(),
            messages: message_lines(api::messages_for(&s, &c)?),
            can_object: matches!(
                c.principal.role,
                auth::Role::Reporter | auth::Role::Reviewer
            ),
        })
    })
    .await;
    super::audited_page(&state, &ctx, "cases.list", None, r).await
}

pub async fn case(State(state): State<Shared>, ctx: Ctx, ApiPath(id): ApiPath<i64>) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let a = api::actor(&c)?;
        let now = s.clock.now();
        let v = api::casework(&s).view(&a, id, now)?;
        let day = today(now);
        let k = &v.case;
        let may = c.principal.role != auth::Role::Auditor;
        let exit = is_exit(&s, k);
        // An open case sent to a unit that has no account to act on it would only run late:
        // the credit office, which cannot act in the unit's place, is told to open one.
        let unattended = (c.principal.role == auth::Role::Admin
            && v.case.deadline.is_some()
            && !has_handler(
                &s.platform.accounts()?,
                &s.platform.tokens()?,
                &k.unit,
                &k.kind,
                now,
            ))
        .then(|| {
            format!(
                "{}在平台上没有可办理此申请的{}账号，该申请无人办理将会逾期：请在“账号”页为其开通，并通知该单位",
                k.unit,
                if k.kind == "repair" { "认定单位经办人" } else { "信息员或审核员" }
            )
        });
        Ok(pages::CasePage {
            frame: frame(&c, &format!("申请{id}"), "/console/cases"),
            case: pages::CaseLine {
                record: record_title(&s, &k.record_id),
                ..case_line(&s, k, day)
            },
            kind_code: k.kind.clone(),
            reason: k.reason.clone(),
            commitment: k.commitment.clone().unwrap_or_default(),
            record_label: v.record_label.clone().unwrap_or_default(),
            decision: match (&k.outcome, &k.decided_on) {
                (Some(o), Some(d)) => format!(
                    "{}（{d}）{}",
                    state_label(o, exit),
                    k.decision_reason
                        .as_ref()
                        .filter(|r| !r.is_empty())
                        .map(|r| format!("：{r}"))
                        .unwrap_or_default()
                ),
                _ => String::new(),
            },
            answer_due: k.answer_due.map(|d| d.to_string()).unwrap_or_default(),
            // In the words of what was confirmed (a penalty performed, a list entry's behaviour
            // corrected).
            performed: match (k.performed, v.pre_review.as_ref()) {
                (Some(true), Some(e)) if !e.confirm.is_empty() => {
                    format!("认定单位已确认{}", e.confirm)
                }
                (Some(true), _) => "认定单位已确认履行完毕".into(),
                (Some(false), _) => "认定单位确认尚不满足（未履行完毕或未纠正到位）".into(),
                (None, _) => String::new(),
            },
            conditions: v
                .pre_review
                .as_ref()
                .map(|e| {
                    e.conditions
                        .iter()
                        .map(|x| pages::ConditionLine {
                            name: x.name.clone(),
                            status: match x.status {
                                ConditionStatus::Met => "满足",
                                ConditionStatus::Missing => "不满足",
                                ConditionStatus::Pending => "待认定单位确认",
                            }
                            .into(),
                            met: x.status == ConditionStatus::Met,
                            detail: x.detail.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            events: v
                .events
                .iter()
                .map(|e| pages::EventLine {
                    at: fmt_time(e.at),
                    action: e
                        .action
                        .parse::<Action>()
                        .map(|a| a.label_of(exit).to_string())
                        .unwrap_or_else(|_| match e.action.as_str() {
                            // The platform's step when the record itself ended (withdrawn by
                            // its unit, or off its list): no officer's action.
                            "end" => "记录变更，申请终结".to_string(),
                            other => other.to_string(),
                        }),
                    state: state_label(&e.to_state, exit),
                    // The applicant's view names offices already (`Casework::view`).
                    actor: if c.principal.role == auth::Role::Subject {
                        e.actor.clone()
                    } else {
                        super::pages_impl::actor_label(&e.actor)
                    },
                    note: e.note.clone().unwrap_or_default(),
                })
                .collect(),
            files: v
                .files
                .iter()
                .map(|f| pages::FileLine {
                    id: f.file_id,
                    name: f.name.clone(),
                    size: super::articles::size_label(f.byte_size),
                    digest: f.digest.clone(),
                    at: fmt_time(f.at),
                })
                .collect(),
            unattended,
            actions: if may {
                v.actions
                    .iter()
                    .filter_map(|a| a.parse::<Action>().ok())
                    // Forwarding and sharing are the platform's jobs.
                    .filter(|a| !matches!(a, Action::Forward | Action::Share))
                    .map(|a| pages::ActionForm {
                        action: a.as_str().into(),
                        label: a.label_of(exit).into(),
                        needs_reason: a.needs_reason(),
                        performed: if k.kind == "repair"
                            && matches!(a, Action::Accept | Action::Approve)
                        {
                            v.pre_review
                                .as_ref()
                                .map(|e| e.confirm.clone())
                                .filter(|c| !c.is_empty())
                                .unwrap_or_else(|| {
                                    "已履行行政处罚决定（含缴纳罚款）、消除不良影响".into()
                                })
                        } else {
                            String::new()
                        },
                        files: a == Action::Supplement,
                    })
                    .collect()
            } else {
                Vec::new()
            },
        })
    })
    .await;
    super::audited_page(&state, &ctx, "case.read", Some(format!("case:{id}")), r).await
}

pub async fn action(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    crate::body::ApiMultipart(mp): crate::body::ApiMultipart,
) -> Response {
    let (fields, files) = match checked_form(&state, &ctx, mp, "case.action").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let req = api::CaseActionRequest {
        action: field(&fields, "action"),
        reason: field(&fields, "reason"),
        performed: (field(&fields, "performed") == "yes").then_some(true),
    };
    // Supplementary files commit with the step, or not at all.
    match api::act(&state, &ctx, id, req, files).await {
        Ok(_) => see_other(&format!("/console/cases/{id}")),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn file(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath((id, file)): ApiPath<(i64, i64)>,
) -> Response {
    match api::file_response(&state, &ctx, id, file).await {
        Ok(r) => r,
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn stats(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<api::StatsQuery>,
) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    let r = blocking(move || {
        let st = api::stats_for(&s, &q)?;
        Ok(pages::CaseStatsPage {
            frame: frame(&c, "修复与异议统计", "/console/cases/stats"),
            from: st.from.to_string(),
            to: st.to.to_string(),
            rows: st
                .rows
                .iter()
                .map(|r| {
                    vec![
                        r.month.clone(),
                        r.unit.clone(),
                        kind_label(&r.kind, false),
                        r.applications.to_string(),
                        r.approved.to_string(),
                        r.rejected.to_string(),
                        r.cancelled.to_string(),
                        r.ended.to_string(),
                        r.open.to_string(),
                        r.avg_days.clone(),
                        r.max_days.to_string(),
                        r.late_steps.to_string(),
                        r.overdue_now.to_string(),
                    ]
                })
                .collect(),
            outbox: st
                .outbox
                .iter()
                .map(|(k, n)| {
                    format!(
                        "{}{n}",
                        match k.as_str() {
                            "pending" => "待发送",
                            "sent" => "已发送",
                            // No telephone number or address on file: nothing was attempted.
                            "unaddressed" => "未登记联系方式",
                            _ => "发送失败",
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join("，"),
        })
    })
    .await;
    match r {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(&ctx, e),
    }
}

fn mask_phone(p: &str) -> String {
    let c: Vec<char> = p.chars().collect();
    if c.len() < 7 {
        return "***".into();
    }
    format!(
        "{}****{}",
        c[..3].iter().collect::<String>(),
        c[c.len() - 4..].iter().collect::<String>()
    )
}

fn mask_email(e: &str) -> String {
    match e.split_once('@') {
        Some((u, d)) => format!("{}***@{d}", u.chars().next().unwrap_or('*')),
        None => "***".into(),
    }
}

fn contact_page_for(state: &Shared, ctx: &Ctx) -> Result<pages::ContactPage, ApiError> {
    let id = ctx.principal.account_id().ok_or(ApiError::Forbidden)?;
    let (phone, email) = state.platform.account_contact(id)?.unwrap_or((None, None));
    let open = |s: Option<Vec<u8>>| {
        s.and_then(|b| state.keys.decrypt(&b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default()
    };
    let (phone, email) = (open(phone), open(email));
    Ok(pages::ContactPage {
        frame: frame(ctx, "联系方式", "/console/contact"),
        phone: if phone.is_empty() {
            phone
        } else {
            mask_phone(&phone)
        },
        email: if email.is_empty() {
            email
        } else {
            mask_email(&email)
        },
    })
}

pub async fn contact_form(State(state): State<Shared>, ctx: Ctx) -> Response {
    let (s, c) = (state.clone(), ctx.clone());
    match blocking(move || contact_page_for(&s, &c)).await {
        Ok(p) => render(StatusCode::OK, p),
        Err(e) => error_page(&ctx, e),
    }
}

pub async fn set_contact(
    State(state): State<Shared>,
    ctx: Ctx,
    crate::body::ApiForm(f): crate::body::ApiForm<std::collections::HashMap<String, String>>,
) -> Response {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    if let Err(e) = check_csrf(&ctx, &get("csrf")) {
        return error_page(&ctx, e);
    }
    let (s, c) = (state.clone(), ctx.clone());
    // An empty field keeps what is registered; the box clears both.
    let clear = get("clear") == "yes";
    let field = |k: &str| {
        let v = get(k);
        if clear {
            Some(String::new())
        } else {
            Some(v).filter(|v| !v.trim().is_empty())
        }
    };
    let (phone, email) = (field("phone"), field("email"));
    let r = blocking(move || {
        let id = c.principal.account_id().ok_or(ApiError::Forbidden)?;
        crate::manage::set_contact(&s.platform, &s.keys, id, phone.as_deref(), email.as_deref())
    })
    .await;
    crate::context::audit(
        &state,
        &ctx,
        "account.contact",
        None,
        if r.is_ok() { "ok" } else { "failed" },
        None,
    )
    .await;
    match r {
        Ok(()) => see_other("/console/contact"),
        Err(e) => error_page(&ctx, e),
    }
}
