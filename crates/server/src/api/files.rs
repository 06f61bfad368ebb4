//! Subjects' credit files and single records, as the caller may see them.

use auth::Role;
use axum::Json;
use axum::extract::State;
use domain::record::SubjectKind;
use serde::{Deserialize, Serialize};
use views::Audience;

use crate::body::{ApiJson, ApiPath, ApiQuery, LargeJson};
use crate::context::{Ctx, audit, audit_entry, audited_write, entry_first};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::{Shared, blocking, today};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOf {
    // The file as it stood at the end of this day (YYYY-MM-DD); default today. Only the subject
    // itself and officers who see whole files may ask for another day than today.
    /// 查看档案在该日日终时的状态（YYYY-MM-DD），默认当天；只有主体本人和可查看完整档案的工作人员可以指定其他日期。
    pub as_of: Option<String>,
}

/// What a caller sees of a subject's file: the whole file for officers who need it and for the
/// subject itself; what is public for everyone else.
pub fn audience(ctx: &Ctx, subject_key: &str) -> Audience {
    let p = &ctx.principal;
    if p.role.sees_full_files()
        || (p.role == Role::Subject && p.subject_key.as_deref() == Some(subject_key))
    {
        Audience::Full
    } else {
        Audience::Public
    }
}

pub fn parse_day(s: &str) -> Result<chrono::NaiveDate, ApiError> {
    use chrono::Datelike;
    let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        // Shaped right but no such day (2026-02-29) is said so, not called the wrong format.
        let b = s.trim().as_bytes();
        let shaped = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        // What was typed is repeated with any ID number in it masked (an error page echoed a
        // resident ID typed into a date box whole).
        let said = domain::ids::mask_ids_in(s.trim());
        ApiError::Unprocessable(if shaped {
            format!("“{said}”不是日历上存在的日期（格式YYYY-MM-DD无误，请核对月、日）")
        } else if said.is_empty() {
            "请填写日期（YYYY-MM-DD格式）".to_string()
        } else {
            format!("“{said}”不是YYYY-MM-DD格式的日期")
        })
    })?;
    // A year the platform's data can hold; far ones overflow the time arithmetic behind.
    if !(1900..=2199).contains(&d.year()) {
        return Err(ApiError::Unprocessable(format!(
            "日期“{s}”超出范围（1900-01-01至2199-12-31）"
        )));
    }
    Ok(d)
}

/// Loads a credit file for the caller; None when the caller may not learn that it exists.
pub async fn load_file(
    state: &Shared,
    ctx: &Ctx,
    code: String,
    as_of: Option<String>,
) -> ApiResult<views::CreditFile> {
    load_file_as(state, ctx, code, as_of, None, None).await
}

/// [`load_file`], with the audience given when the caller's role alone does not decide it.
async fn load_file_as(
    state: &Shared,
    ctx: &Ctx,
    code: String,
    as_of: Option<String>,
    given: Option<Audience>,
    record: Option<&str>,
) -> ApiResult<views::CreditFile> {
    let now = state.clock.now();
    let day = match as_of {
        Some(s) => parse_day(&s)?,
        None => today(now),
    };
    let (key, named) = views::subject_key_named(&code, &state.rules, &state.keys, today(now))?;
    let mut aud = given.unwrap_or_else(|| audience(ctx, &key));
    // A financial institution the subject has authorised (信易贷授权查询) reads the whole file
    // as it stands today, asked for by the subject's key (its list of authorisations gives it):
    // not by an ID number, which could be guessed from a masked one a request at a time.
    let authorised = aud == Audience::Public
        && given.is_none()
        && day == today(now)
        && named != views::NamedBy::ResidentId
        && crate::api::authorisations::institution_authorised(state, ctx, &key).await;
    if authorised {
        aud = Audience::Authorised;
    }
    // A financial institution reads a natural person's credit information only as the person
    // authorised it (as its checks do): what anyone may read on the portal is no consent for a
    // lender to collect it in its own name. Refused and audited, unauthorised reads of persons
    // left no trace of the institution.
    if !authorised
        && given.is_none()
        && ctx.principal.role == Role::Financial
        && key.starts_with('P')
    {
        let refusal = ApiError::NotYours(
            "该自然人未授权本机构查询（信易贷授权查询）或授权已过期、已撤回，金融机构不能查阅其信用档案".into(),
        );
        audit(
            state,
            ctx,
            "subject.read",
            Some(key.clone()),
            "denied",
            Some(refusal.to_string()),
        )
        .await;
        return Err(refusal);
    }
    if aud == Audience::Public {
        if named == views::NamedBy::ResidentId {
            return Err(ApiError::Unprocessable(
                "为保护个人信息，不能按公民身份号码查询自然人；请使用信用档案链接中的主体键（P开头）"
                    .into(),
            ));
        }
        // An earlier day would show what has since been withdrawn, repaired or has left its
        // publicity window.
        if day != today(now) {
            return Err(ApiError::Unprocessable(
                "历史视图（as_of）仅向信用主体本人和有权限的工作人员提供".into(),
            ));
        }
    }
    // Read on this worker, not the blocking pool: PostgreSQL's read is driven on the runtime;
    // SQLite's is a function call of a few hundred microseconds, less than the two thread
    // hand-offs (and the allocations freed on another thread) of the pool.
    let file = state
        .store
        .subject_file_async(&key, views::end_of_day(day))
        .await?
        .map(|(subject, records)| views::file_of(&subject, &records, &state.rules, day, aud));
    let mut file = file.ok_or_else(|| ApiError::NotFound("没有找到该信用主体".into()))?;
    if aud != Audience::Public && ctx.principal.role.outside_staff() {
        views::staff_names_hidden(&mut file);
    }
    // The public does not learn that a natural person exists unless something about them is public.
    if aud == Audience::Public
        && file.subject.kind == SubjectKind::NaturalPerson
        && file.classes.is_empty()
    {
        return Err(ApiError::NotFound("没有找到该信用主体".into()));
    }
    // Nor of an organisation the register does not know, reported only in records its unit
    // withdrew (as the portal's page and search).
    if aud == Audience::Public && !file.subject.registered && file.classes.is_empty() {
        let (s, k) = (state.clone(), key.clone());
        if !blocking(move || Ok(s.store.reported_not_withdrawn(&k)?)).await? {
            return Err(ApiError::NotFound("没有找到该信用主体".into()));
        }
    }
    // One record asked for is audited as that record, found or not (a whole-file entry named
    // neither, and stood for reads that found nothing); a financial institution's reads of
    // records are on the trail even as the public sees them (what it read after an
    // authorisation ended was not).
    if let Some(id) = record
        && (aud != Audience::Public || ctx.principal.role == Role::Financial)
    {
        let found = file
            .classes
            .iter()
            .any(|c| c.records.iter().any(|r| r.record_id == id));
        audit(
            state,
            ctx,
            "record.read",
            Some(id.to_string()),
            if found { "ok" } else { "not_found" },
            Some(format!(
                "as_of={day}{}",
                match (aud, authorised) {
                    (_, true) => format!(" 授权查询（{}）", crate::api::authorisations::PURPOSE),
                    (Audience::Public, _) => " 仅公开信息".to_string(),
                    _ => String::new(),
                }
            )),
        )
        .await;
    } else if aud != Audience::Public {
        audit(
            state,
            ctx,
            "subject.read_full",
            Some(file.subject.key.clone()),
            "ok",
            Some(if authorised {
                format!(
                    "as_of={day} 授权查询（{}）",
                    crate::api::authorisations::PURPOSE
                )
            } else {
                format!("as_of={day}")
            }),
        )
        .await;
    }
    Ok(file)
}

#[utoipa::path(get, path = "/api/v1/subjects/{code}", summary = "查询信用档案", tag = "信用档案",
    params(("code" = String, Path, description = "统一社会信用代码、主体键（P开头），或公民身份号码（公众不可按身份号码查询）"), AsOf),
    responses(
        (status = 200, description = "信用档案（按调用者可见范围）", body = views::CreditFile),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn subject(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(code): ApiPath<String>,
    ApiQuery(q): ApiQuery<AsOf>,
) -> ApiResult<LargeJson<views::CreditFile>> {
    load_file(&state, &ctx, code, q.as_of).await.map(LargeJson)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct IdNumber {
    pub subject_key: String,
    pub id_type: String,
    // In full: every such read is audited.
    /// 完整的证件号码；每次查看均记入审计日志。
    pub id_number: String,
}

#[utoipa::path(get, path = "/api/v1/subjects/{code}/id-number", summary = "查看完整证件号码（留痕）", tag = "信用档案", security(("token" = [])),
    params(("code" = String, Path, description = "公民身份号码（或主体键）")),
    responses(
        (status = 200, description = "完整证件号码（敏感读取，留痕）", body = IdNumber),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn id_number(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(code): ApiPath<String>,
) -> ApiResult<Json<IdNumber>> {
    let (s, c) = (state.clone(), ctx.clone());
    let now = state.clock.now();
    // The subject asked for, also when refused: the trail says whose number was sought.
    let asked = views::subject_key(&code, &state.rules, &state.keys, today(now)).ok();
    let r = blocking(move || {
        let key = views::subject_key(&code, &s.rules, &s.keys, today(now))?;
        // A deciding unit's officer sees the number of a person its unit reported on (to handle
        // a repair or an objection), not of anyone else; the credit office sees every one.
        if c.principal.role != auth::Role::Admin
            && !c
                .principal
                .unit
                .as_deref()
                .map(|u| s.store.unit_reported_on(u, &key))
                .transpose()?
                .unwrap_or(false)
        {
            return Err(ApiError::Concealed("没有找到该信用主体".into()));
        }
        let subject = s
            .store
            .subject(&key)?
            .ok_or_else(|| ApiError::NotFound("没有找到该信用主体".into()))?;
        let sealed = subject
            .id_sealed
            .ok_or_else(|| ApiError::NotFound("该主体没有证件号码".into()))?;
        let plain = s.keys.decrypt(&sealed).map_err(ApiError::internal)?;
        Ok(IdNumber {
            subject_key: key,
            id_type: subject.id_type.unwrap_or_default(),
            id_number: String::from_utf8(plain).map_err(ApiError::internal)?,
        })
    })
    .await;
    let outcome = if r.is_ok() { "ok" } else { "failed" };
    audit(&state, &ctx, "subject.unmask", asked, outcome, None).await;
    r.map(Json)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RecordDetail {
    pub subject_key: String,
    pub class_code: String,
    pub record: views::RecordView,
}

#[utoipa::path(get, path = "/api/v1/records/{id}", summary = "查询一条记录及其版本", tag = "信用档案",
    params(("id" = String, Path, description = "记录编号（主体键-记录键）"), AsOf),
    responses(
        (status = 200, description = "记录及其版本", body = RecordDetail),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn record(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AsOf>,
) -> ApiResult<Json<RecordDetail>> {
    // A signed-in caller's read of a record is on the trail whatever it found: one of an id
    // that is no record's, or of a code that is no subject's, left no entry.
    let signed_in = ctx.principal.role != Role::Public;
    let tried = || {
        domain::ids::mask_personal_in(&id)
            .chars()
            .take(120)
            .collect::<String>()
    };
    let Some((subject_key, _)) = store::parse_record_id(&id) else {
        if signed_in {
            audit(
                &state,
                &ctx,
                "record.read",
                Some(tried()),
                "not_found",
                None,
            )
            .await;
        }
        return Err(ApiError::NotFound("没有这条记录".into()));
    };
    // A source unit's reporters and reviewers see the records their unit reported as they
    // stand (withdrawn ones and those of classes not made public included), to confirm what
    // the platform holds of their reports.
    let p = &ctx.principal;
    let own = match (&p.role, &p.unit) {
        (Role::Reporter | Role::Reviewer, Some(unit)) => {
            let (s, rid) = (state.clone(), id.clone());
            blocking(move || Ok(s.store.record_head(&rid)?))
                .await?
                .is_some_and(|h| h.source_unit == *unit)
        }
        _ => false,
    };
    let file = match load_file_as(
        &state,
        &ctx,
        subject_key.clone(),
        q.as_of,
        own.then_some(Audience::Full),
        Some(&id),
    )
    .await
    {
        Ok(f) => f,
        Err(e) => {
            // Refused before the file was read (a code that is no subject's, a subject not
            // found): said so; the refusals that audit themselves (a bank and a person) are
            // 403s and not entered twice.
            if signed_in && matches!(e, ApiError::Unprocessable(_) | ApiError::NotFound(_)) {
                let outcome = if matches!(e, ApiError::NotFound(_)) {
                    "not_found"
                } else {
                    "refused"
                };
                audit(&state, &ctx, "record.read", Some(tried()), outcome, None).await;
            }
            return Err(e);
        }
    };
    for class in file.classes {
        if let Some(r) = class.records.into_iter().find(|r| r.record_id == id) {
            return Ok(Json(RecordDetail {
                subject_key,
                class_code: class.code,
                record: r,
            }));
        }
    }
    Err(ApiError::NotFound("没有这条记录".into()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Withdraw {
    // Why, for the record's history.
    /// 撤回理由，记入该记录的变更历史。
    pub reason: String,
    // The decision itself was revoked or changed by law: still counted as reported.
    /// 为 true 表示该决定已被依法撤销或变更（复议、诉讼撤销或自行纠正）：记录停止公示，但该决定仍计入双公示上报数（理由前加“决定已被依法撤销或变更：”）。仅用于撤回单条记录。
    #[serde(default)]
    pub decision_revoked: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Withdrawn {
    /// 撤回的记录数。
    pub withdrawn: u64,
    // A batch's records that a later batch corrected: left, that batch's to withdraw.
    /// 整批撤回时：本批次写入、此后已被其他批次更正而未随本批次撤回的记录数（撤回单条记录时为0）。
    pub left_corrected_later: u64,
    /// 更正了上述记录的批次号。
    pub corrected_by: Vec<i64>,
}

pub fn reason(r: &str) -> Result<String, ApiError> {
    let r = r.trim();
    if r.is_empty() || r.chars().count() > 500 {
        return Err(ApiError::Unprocessable(
            "撤回原因不能为空，且不超过500字".into(),
        ));
    }
    Ok(r.to_string())
}

#[utoipa::path(post, path = "/api/v1/records/{id}/withdraw", summary = "撤回一条记录", tag = "报送", security(("token" = [])),
    params(("id" = String, Path, description = "记录编号")), request_body = Withdraw,
    responses(
        (status = 200, description = "已撤回（新增撤回版本）", body = Withdrawn),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn withdraw_record(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Withdraw>,
) -> ApiResult<Json<Withdrawn>> {
    let mut why = reason(&body.reason)?;
    if body.decision_revoked {
        why = format!("{}{why}", store::REVOKED_REASON);
    }
    let unit = ctx.principal.unit.clone().ok_or(ApiError::Forbidden)?;
    let entry = audit_entry(
        &ctx,
        "record.withdraw",
        Some(id.clone()),
        "ok",
        Some(body.reason),
    );
    let (s, c, rid, e) = (state.clone(), ctx.clone(), id, entry.clone());
    let r = blocking(move || {
        let w = store::Withdrawal {
            unit: &unit,
            actor: &c.principal.actor(),
            reason: &why,
            at: s.clock.now(),
        };
        // Its entry goes in before it commits (see `entry_first`).
        s.store
            .withdraw_record_then(&rid, &w, &entry_first(&s, &c, e))?;
        crate::api::submissions::refresh_checks(&s);
        Ok(Withdrawn {
            withdrawn: 1,
            left_corrected_later: 0,
            corrected_by: Vec::new(),
        })
    })
    .await;
    audited_write(&state, &ctx, &r, entry).await;
    r.map(Json)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Restore {
    // Why, for the record's history.
    /// 恢复理由（如“误撤回”），记入该记录的变更历史。
    pub reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Restored {
    /// 恢复的记录编号。
    pub record_id: String,
}

#[utoipa::path(post, path = "/api/v1/records/{id}/restore", summary = "恢复误撤回的记录", tag = "报送",
    description = "本单位撤回有误时，恢复该记录：增加一个与撤回前内容相同的新版本（变更类型为 corrected，理由以“撤回有误，恢复原记录：”开头），恢复公示和双公示统计。异议核实后撤销的记录、因文书号写法不同由平台撤回的记录不能恢复（409）。",
    security(("token" = [])),
    params(("id" = String, Path, description = "记录编号")), request_body = Restore,
    responses(
        (status = 200, description = "已恢复（新增版本）", body = Restored),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "记录未被撤回，或不能恢复（说明原因）", body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn restore_record(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Restore>,
) -> ApiResult<Json<Restored>> {
    let why = reason(&body.reason)
        .map_err(|_| ApiError::Unprocessable("恢复理由不能为空，且不超过500字".into()))?;
    let unit = ctx.principal.unit.clone().ok_or(ApiError::Forbidden)?;
    let entry = audit_entry(
        &ctx,
        "record.restore",
        Some(id.clone()),
        "ok",
        Some(body.reason),
    );
    let (s, c, rid, e) = (state.clone(), ctx.clone(), id, entry.clone());
    let r = blocking(move || {
        let w = store::Withdrawal {
            unit: &unit,
            actor: &c.principal.actor(),
            reason: &why,
            at: s.clock.now(),
        };
        s.store
            .restore_record_then(&rid, &w, &entry_first(&s, &c, e))?;
        crate::api::submissions::refresh_checks(&s);
        Ok(Restored { record_id: rid })
    })
    .await;
    audited_write(&state, &ctx, &r, entry).await;
    r.map(Json)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ByDecision {
    // The decision's document number as the unit wrote it (full-width forms and the year's
    // brackets read as the platform keys them).
    /// 决定文书号（如“盐环罚〔2026〕12号”；全角半角、年份括号写法、“第”字与序号前补零按平台规则归一）。
    pub decision_no: String,
    // Required for the credit office (whose unit's records to look in).
    /// 信用办查询时须指明报送单位；信源单位只查本单位的记录。
    pub unit: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionRecords {
    pub decision_no: String,
    pub unit: String,
    // The records of that decision (one per party), any state — withdrawn ones too.
    /// 该决定对应的记录编号（一份决定有多个当事人时为多条），含已撤回的记录。
    pub record_ids: Vec<String>,
}

/// A unit's own records by the document number it knows them by: what a system that lost a
/// submission's answer (or only re-sent unchanged rows, which are counted, not listed) needs to
/// withdraw or check one. Only the 行政许可 and 行政处罚 classes are keyed by their decision.
#[utoipa::path(get, path = "/api/v1/records", summary = "按决定文书号查询本单位报送的记录编号", tag = "报送", security(("token" = [])),
    params(ByDecision),
    responses(
        (status = 200, description = "本单位以该文书号报送的行政许可、行政处罚记录编号（可能为空；年份括号写法、“第”字、序号前补零不同的视为同一文书号；有现行记录时不列已撤回的）", body = DecisionRecords),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn records_by_decision(
    State(state): State<Shared>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<ByDecision>,
) -> ApiResult<Json<DecisionRecords>> {
    let unit = match (ctx.principal.role, &ctx.principal.unit, q.unit) {
        (Role::Admin, _, Some(u)) => state
            .rules
            .units
            .find(&u)
            .map(|u| u.name.clone())
            .ok_or_else(|| ApiError::Unprocessable(format!("报送单位“{u}”不在信源单位名录中")))?,
        (Role::Admin, _, None) => {
            return Err(ApiError::Unprocessable(
                "信用办查询须以unit参数指明报送单位".into(),
            ));
        }
        (_, Some(own), _) => own.clone(),
        _ => return Err(ApiError::Forbidden),
    };
    let no = q.decision_no.trim().to_string();
    if no.is_empty() || no.chars().count() > 200 {
        return Err(ApiError::Unprocessable(
            "decision_no：请填写决定文书号（200字以内）".into(),
        ));
    }
    let (s, u, n) = (state.clone(), unit.clone(), no.clone());
    let record_ids = blocking(move || unit_records_of_decision(&s, &u, &n)).await?;
    Ok(Json(DecisionRecords {
        decision_no: no,
        unit,
        record_ids,
    }))
}

/// A unit's records of the decision a document number names, in the classes keyed by their
/// decision (行政许可, 行政处罚): those in force when there are any, else any state.
pub fn unit_records_of_decision(
    state: &Shared,
    unit: &str,
    decision_no: &str,
) -> Result<Vec<String>, ApiError> {
    // The number as typed, and with its year bracketed the other way: 盐环罚[2026]12号 finds the
    // record now reported as 盐环罚（2026）12号 too (the one written 〔2026〕 may be withdrawn).
    let mut found = Vec::new();
    for class in &state.rules.monitoring.classes {
        let keys = [
            domain::monitoring::decision_key(class, &[decision_no]),
            domain::monitoring::decision_key_written_otherwise(class, &[decision_no]),
            domain::monitoring::decision_key_as_written(class, &[decision_no]),
        ];
        for key in keys.iter().flatten() {
            for id in state.store.records_of_decision(unit, class, key)? {
                if !found.contains(&id) {
                    found.push(id);
                }
            }
        }
    }
    // The other writing adds a record only where it is the one in force: a number re-sent with
    // its brackets changed withdrew the first, which is not a second party of the decision.
    if found.len() > 1 {
        let mut live = Vec::new();
        for id in &found {
            if state
                .store
                .record_head(id)?
                .is_some_and(|h| h.change != "withdrawn")
            {
                live.push(id.clone());
            }
        }
        if !live.is_empty() {
            found = live;
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::parse_day;

    #[test]
    fn a_day_that_does_not_exist_is_told_apart_from_a_wrong_format() {
        assert!(parse_day("2026-02-28").is_ok());
        let no_day = parse_day("2026-02-29").unwrap_err().to_string();
        assert!(no_day.contains("不是日历上存在的日期"), "{no_day}");
        let shape = parse_day("2026/02/01").unwrap_err().to_string();
        assert!(shape.contains("不是YYYY-MM-DD格式"), "{shape}");
    }
}
