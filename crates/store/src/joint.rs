//! Joint reward and punishment, platform side: checks and their feedback, exceptions, batch
//! reviews and their result files, subscriptions, webhooks and alerts, and the statistics the
//! credit office reads.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::conn::{Backend, Row, Val, skip_locked};
use crate::{Store, StoreError};

/// A check as recorded.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "一次核查的记录。")]
pub struct CheckRow {
    pub check_id: i64,
    pub checked_at: DateTime<Utc>,
    pub actor: String,
    pub unit: Option<String>,
    // query, embedded, batch.
    /// 核查渠道：query（查询式）、embedded（嵌入式）、batch（批量审查）。
    pub channel: String,
    pub batch_id: Option<i64>,
    #[serde(skip)]
    pub subject_key: String,
    // Name and code (a person's ID masked).
    /// 主体名称和代码（自然人的身份证号码已脱敏）。
    pub subject_label: String,
    pub matter: String,
    pub verdict: String,
    // Measure ids that applied.
    /// 适用的措施编号。
    pub measures: Vec<String>,
    // Record ids of the list entries behind them.
    /// 适用措施所依据的名单记录编号。
    pub entries: Vec<String>,
    // Record ids whose hits an exception suppressed.
    /// 因例外标记而不计为命中的名单记录编号。
    pub suppressed: Vec<String>,
    pub rule_version: String,
    // The calling system's number for the matter (办件编号), when it gave one.
    /// 业务系统的办件编号（核查时提供的 reference；未提供为空）。
    pub reference: Option<String>,
}

impl CheckRow {
    /// Whether the check found something its department answers for (the pending list's
    /// `verdict <> 'clear'`): a clear check takes no feedback.
    pub fn owes_feedback(&self) -> bool {
        self.verdict != "clear"
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Feedback {
    pub check_id: i64,
    // applied, not_applicable, pending_review.
    /// 处理结果：applied（已采取措施）或 not_applicable（不适用）。
    pub outcome: String,
    pub measures: Vec<String>,
    pub reason: Option<String>,
    pub actor: String,
    pub unit: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckException {
    pub exception_id: i64,
    #[serde(skip)]
    pub subject_key: String,
    pub matter: String,
    pub record_id: String,
    // The entry's content hash when marked: the exception holds until the entry changes.
    /// 标记时该名单记录内容的散列值；记录内容变更后，该例外即不再适用。
    pub record_hash: String,
    pub reason: String,
    pub actor: String,
    pub unit: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// 撤销人（已撤销时）。
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
    /// 撤销理由（已撤销时）。
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_reason: Option<String>,
    // Whether it still suppresses its hit: not revoked, and the entry is as it was marked
    // (the service judges this against the entries in force; the store says true).
    /// 是否仍然有效：未撤销，且该名单记录内容未变更、仍在有效期内。
    pub in_effect: bool,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct BatchRow {
    pub batch_id: i64,
    pub created_at: DateTime<Utc>,
    pub actor: String,
    pub unit: Option<String>,
    pub matter: String,
    pub file_name: Option<String>,
    pub rows_read: i64,
    pub valid: i64,
    pub invalid: i64,
    pub duplicates: i64,
    // Codes checked: the valid ones the matter applies to.
    /// 实际核查的代码数：有效且事项适用于该类主体的代码。
    pub checked: i64,
    // Codes with a punishing or restricting verdict.
    /// 核查结论为惩戒、限制或审慎审核的代码数。
    pub hits: i64,
    // Codes with an incentive (red list).
    /// 适用守信激励措施的代码数。
    pub incentives: i64,
    // SM3 of the CSV result file, hex.
    /// 结果 CSV 文件的 SM3 摘要（十六进制）。
    pub result_digest: Option<String>,
    // SM2 signature (DER, hex) of `signed_message`, when the credit office keeps it signed.
    /// 对 `signed_message` 的 SM2 签名（DER 编码，十六进制）；仅在结果经签名时提供。
    pub signature: Option<String>,
    // The exact text signed (batch, matter, time, the result's SM3), when signed.
    /// 被签名的原文（批次、事项、时间和结果文件的 SM3 摘要）；仅在结果经签名时提供。
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_message: Option<String>,
    pub rule_version: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Subscription {
    pub unit: String,
    // A person's key is never given to a subscriber: keys are public in record ids, so a key
    // given back for an ID number sent would confirm the number.
    #[serde(skip)]
    pub subject_key: String,
    // How the unit tells its subjects apart (masked ID numbers look alike): see `refer`.
    /// 订阅引用：组织为其统一社会信用代码；自然人为本单位专用的引用（R开头的25位字符，同一单位对同一人始终相同，其他单位看到的不同，与公开的记录编号无关），与订阅结果、预警和推送中的 subscriber_ref 相同。
    pub subscriber_ref: String,
    // An organisation's USCC (a person's ID number is never given back).
    /// 组织的统一社会信用代码；自然人为空。
    pub code: Option<String>,
    pub label: String,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Webhook {
    pub unit: String,
    pub url: String,
    pub secret_sealed: Vec<u8>,
}

/// A unit's webhook as the credit office reads it: who set which address, when; no secret.
#[derive(Debug, Clone)]
pub struct WebhookSet {
    pub unit: String,
    pub url: String,
    pub actor: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Alert {
    pub alert_id: i64,
    pub created_at: DateTime<Utc>,
    pub unit: String,
    // Never given to a subscriber (a person's key would confirm an ID number): see `refer`.
    #[serde(skip)]
    pub subject_key: String,
    // Masked ID numbers collide: the ref says which subscribed subject the alert is about.
    /// 订阅引用：组织为其统一社会信用代码；自然人为本单位专用的引用（R开头，与订阅结果和订阅列表中的 subscriber_ref 相同）。
    pub subscriber_ref: String,
    // An organisation's USCC (a person's ID number is never given back).
    /// 组织的统一社会信用代码；自然人为空。
    pub code: Option<String>,
    pub subject_label: String,
    // listed, serious_penalty, exited …; legal_rep_… for an organisation's representative.
    /// 事件类型：listed（列入名单）、serious_penalty（受到严重失信行政处罚）、changed（名单信息变更）、revoked（撤销列入决定）、exited（移出名单）、penalty_ended（处罚信息停止公示）；订阅的组织因其法定代表人的名单变动而收到的，加前缀legal_rep_（如legal_rep_listed：法定代表人列入名单）；订阅的自然人因其任法定代表人的组织的名单变动而收到的，加前缀represented_org_（如represented_org_listed）。
    pub event: String,
    // The record's own id: a person's begins with the person's key.
    #[serde(skip)]
    pub record_id: String,
    // What the subscriber is told (see `refer`).
    /// 信用记录编号，可用于查询该记录；自然人的记录为本单位专用的引用（R开头），不含其主体键，不能用于查询（可凭所持身份证号码查询信用档案）。
    #[serde(rename = "record_id")]
    pub record_ref: String,
    pub class_code: String,
    pub detail: String,
    // pending, delivered, console (no webhook: shown in the console only), failed.
    /// 推送状态：pending（待推送）、delivered（已送达）、console（单位未设置推送地址，仅在平台控制台显示）、failed（推送失败）。
    pub delivery: String,
    pub attempts: i64,
    pub next_attempt: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub feedback: Option<String>,
    pub feedback_reason: Option<String>,
    pub feedback_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewAlert {
    pub event_seq: i64,
    pub unit: String,
    pub subject_key: String,
    pub subject_label: String,
    pub event: String,
    pub record_id: String,
    pub class_code: String,
    pub detail: String,
    pub delivery: String,
}

/// Per unit and matter: checks, hits, feedback, measures applied.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(description = "按单位和事项统计的核查次数、命中、反馈和措施采用情况。")]
pub struct CheckStats {
    pub unit: String,
    pub matter: String,
    pub checks: i64,
    // Checks that found a punishment measure (forbid, restrict, stricter review, supervise).
    /// 发现惩戒措施（禁止、限制、审慎审核、重点监管）的核查次数。
    pub hits: i64,
    // Checks that found only incentive measures (红名单).
    /// 仅发现激励措施（红名单）的核查次数。
    pub incentives: i64,
    // Feedback filed, on any check.
    /// 已提交的反馈数（不论核查是否发现措施）。
    pub feedback: i64,
    // Feedback filed on checks that found measures (hits and incentives): the checks that
    // call for it, so the feedback rate is this over hits + incentives.
    /// 对发现措施（惩戒或激励）的核查提交的反馈数；反馈率为该数除以 hits 与 incentives 之和。
    pub feedback_due: i64,
    pub applied: i64,
    // Codes checked by batch review (批量审查) — distinct valid codes the matter applies to —,
    // those with a punishment measure, and those with incentives only.
    /// 批量审查核查的代码数（去重后、事项适用的有效代码）；其中发现惩戒措施的见 batch_hits，仅适用激励措施的见 batch_incentives。
    pub batch_checked: i64,
    pub batch_hits: i64,
    pub batch_incentives: i64,
    // Checks run at the command line (`xinyong check`): nobody answers them, so they stay out
    // of the feedback rate.
    /// 是否为平台命令行（`xinyong check`）发起的核查：此类核查无需反馈，不计入反馈率。
    pub command_line: bool,
}

fn json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

fn list_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

const CHECK_COLUMNS: &str =
    "check_id, checked_at, actor, unit, channel, batch_id, subject_key, subject_label,
    matter, verdict, measures, entries, suppressed, rule_version, reference";

fn check_from(r: &Row) -> Result<CheckRow, StoreError> {
    Ok(CheckRow {
        check_id: r.i64(0)?,
        checked_at: r.time(1)?,
        actor: r.text(2)?,
        unit: r.opt_text(3)?,
        channel: r.text(4)?,
        batch_id: r.opt_i64(5)?,
        subject_key: r.text(6)?,
        subject_label: r.text(7)?,
        matter: r.text(8)?,
        verdict: r.text(9)?,
        measures: json_list(&r.text(10)?),
        entries: json_list(&r.text(11)?),
        suppressed: json_list(&r.text(12)?),
        rule_version: r.text(13)?,
        reference: r.opt_text(14)?,
    })
}

const ALERT_COLUMNS: &str = "alert_id, created_at, unit, subject_key, subject_label, event, record_id, class_code,
    detail, delivery, attempts, next_attempt, last_error, delivered_at, feedback, feedback_reason, feedback_at";

fn feedback_from(r: &Row) -> Result<Feedback, StoreError> {
    Ok(Feedback {
        check_id: r.i64(0)?,
        outcome: r.text(1)?,
        measures: json_list(&r.text(2)?),
        reason: r.opt_text(3)?,
        actor: r.text(4)?,
        unit: r.opt_text(5)?,
        at: r.time(6)?,
    })
}

/// A feedback outcome as the departments read it.
fn outcome_label(outcome: &str) -> &str {
    match outcome {
        "applied" => "已采取措施",
        "not_applicable" => "不适用",
        "noted" => "已知悉，无需措施",
        other => other,
    }
}

/// A time as the departments read it (Beijing time, to the minute).
fn beijing_minute(at: DateTime<Utc>) -> String {
    (at + chrono::Duration::hours(8))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// An organisation's code from its subject key (its USCC); a person's key (P…) gives none.
pub fn code_of(subject_key: &str) -> Option<String> {
    (!subject_key.starts_with('P')).then(|| subject_key.to_string())
}

impl Subscription {
    /// As the subscribing unit is told it: a person by the unit's own reference
    /// (`by(unit, key)`: `KeyRing::subscriber_ref`). Until then a person's ref is empty, never
    /// the key.
    pub fn refer(mut self, by: impl Fn(&str, &str) -> String) -> Self {
        self.subscriber_ref = by(&self.unit, &self.subject_key);
        self
    }
}

impl Alert {
    /// As the subscribing unit is told it: a person, and a person's record (whose id begins
    /// with the person's key — the legal representative's too), by the unit's own references.
    /// Until then they are empty, never the key.
    pub fn refer(mut self, by: impl Fn(&str, &str) -> String) -> Self {
        self.subscriber_ref = by(&self.unit, &self.subject_key);
        self.record_ref = by(&self.unit, &self.record_id);
        self
    }
}

/// An organisation's key or record id as it stands; a person's (P…) empty until `refer`.
fn shown_unreferred(key: &str) -> String {
    code_of(key).unwrap_or_default()
}

fn alert_from(r: &Row) -> Result<Alert, StoreError> {
    Ok(Alert {
        alert_id: r.i64(0)?,
        created_at: r.time(1)?,
        unit: r.text(2)?,
        code: code_of(&r.text(3)?),
        subscriber_ref: shown_unreferred(&r.text(3)?),
        subject_key: r.text(3)?,
        subject_label: r.text(4)?,
        event: r.text(5)?,
        record_ref: shown_unreferred(&r.text(6)?),
        record_id: r.text(6)?,
        class_code: r.text(7)?,
        detail: r.text(8)?,
        delivery: r.text(9)?,
        attempts: r.i64(10)?,
        next_attempt: r.opt_time(11)?,
        last_error: r.opt_text(12)?,
        delivered_at: r.opt_time(13)?,
        feedback: r.opt_text(14)?,
        feedback_reason: r.opt_text(15)?,
        feedback_at: r.opt_time(16)?,
    })
}

const BATCH_COLUMNS: &str =
    "batch_id, created_at, actor, unit, matter, file_name, rows_read, valid, invalid,
    duplicates, hits, result_digest, signature, rule_version, checked, incentives";

fn batch_from(r: &Row) -> Result<BatchRow, StoreError> {
    Ok(BatchRow {
        batch_id: r.i64(0)?,
        created_at: r.time(1)?,
        actor: r.text(2)?,
        unit: r.opt_text(3)?,
        matter: r.text(4)?,
        file_name: r.opt_text(5)?,
        rows_read: r.i64(6)?,
        valid: r.i64(7)?,
        invalid: r.i64(8)?,
        duplicates: r.i64(9)?,
        hits: r.i64(10)?,
        result_digest: r.opt_text(11)?,
        signature: r.opt_bytes(12)?.map(hex::encode),
        signed_message: None,
        rule_version: r.text(13)?,
        // Batches stored before migration 1008 checked every valid code they held.
        checked: r.opt_i64(14)?.map_or_else(|| r.i64(7), Ok)?,
        incentives: r.i64(15)?,
    })
}

impl Store {
    // ----- checks -----

    /// Records checks in one transaction; returns their ids in order.
    pub fn record_checks(&self, checks: &[CheckRow]) -> Result<Vec<i64>, StoreError> {
        if checks.is_empty() {
            return Ok(Vec::new());
        }
        self.write(|c| insert_checks(c, checks))
    }

    /// Records checks and their audit entries (object `check:<id>`) in one transaction.
    pub fn record_checks_audited(
        &self,
        checks: &[CheckRow],
        audit: &mut [crate::NewAuditEntry],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        if checks.is_empty() {
            return Ok(Vec::new());
        }
        if self.backend() == Backend::Postgres {
            // One statement for the group whatever its size: the checks, under ids taken ahead,
            // and the entries that name them (see `append_in_one_statement`). Four round trips
            // before (the lock with BEGIN; the checks, reading the chain's head; the entries;
            // COMMIT); measured at 1 M organisations, 32 connections, seven alternating pairs of
            // runs: 12,400 → 13,800 checks/s on average.
            let ids = self.take_check_ids(checks.len())?;
            name_checks(audit, &ids);
            let values: Vec<Val> = ids
                .iter()
                .zip(checks)
                .flat_map(|(&id, k)| std::iter::once(Val::Int(id)).chain(check_values(k)))
                .collect();
            self.append_in_one_statement(
                audit,
                now,
                &CHECKS_AND_ENTRIES_PG,
                &crate::columns_of(values, CHECK_PG_TYPES.len()),
            )?;
            return Ok(ids);
        }
        let key = self.audit_key();
        self.write(|c| {
            crate::platform::lock_audit(c)?;
            let ids = insert_checks(c, checks)?;
            name_checks(audit, &ids);
            crate::platform::audit_append_locked(c, key.as_ref(), audit, now)?;
            Ok(ids)
        })
    }

    pub fn check(&self, id: i64) -> Result<Option<CheckRow>, StoreError> {
        self.read(|c| {
            c.query_one(
                &format!("SELECT {CHECK_COLUMNS} FROM checks WHERE check_id = $1"),
                &[Val::Int(id)],
            )?
            .map(|r| check_from(&r))
            .transpose()
        })
    }

    /// A unit's checks (or all), newest first.
    pub fn checks(&self, unit: Option<&str>, limit: i64) -> Result<Vec<CheckRow>, StoreError> {
        self.checks_page(unit, false, None, limit)
    }

    /// The check `unit` recorded last under the calling system's number `reference` for the
    /// same subject and matter, if any: a retry is answered with it while its verdict holds.
    pub fn check_by_reference(
        &self,
        unit: &str,
        reference: &str,
        subject_key: &str,
        matter: &str,
    ) -> Result<Option<i64>, StoreError> {
        self.read(|c| {
            c.query_one(
                "SELECT MAX(check_id) FROM checks WHERE unit = $1 AND reference = $2
                    AND subject_key = $3 AND matter = $4",
                &[
                    unit.into(),
                    reference.into(),
                    subject_key.into(),
                    matter.into(),
                ],
            )?
            .map(|r| r.opt_i64(0))
            .transpose()
            .map(Option::flatten)
        })
    }

    /// A page of the single checks (newest first) of `unit` (every unit's for None) numbered
    /// below `before`; with `pending`, only those that found something (a verdict other than
    /// clear) and have no feedback yet — the officer's backlog.
    pub fn checks_page(
        &self,
        unit: Option<&str>,
        pending: bool,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<CheckRow>, StoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {CHECK_COLUMNS} FROM checks WHERE ($1 = '' OR unit = $1) AND channel <> 'batch'
                       AND check_id < $3
                       AND (NOT $4 OR (verdict <> 'clear'
                            AND NOT EXISTS (SELECT 1 FROM check_feedback f WHERE f.check_id = checks.check_id)))
                     ORDER BY check_id DESC LIMIT $2"
                ),
                &[
                    unit.unwrap_or("").into(),
                    Val::Int(limit),
                    Val::Int(before.unwrap_or(i64::MAX)),
                    Val::Bool(pending),
                ],
            )?
            .iter()
            .map(check_from)
            .collect()
        })
    }

    /// The feedback outcomes of the checks numbered `from..=to` (a page of a list), by check:
    /// one read instead of one per line.
    pub fn feedback_outcomes(
        &self,
        from: i64,
        to: i64,
    ) -> Result<std::collections::HashMap<i64, String>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT check_id, outcome FROM check_feedback WHERE check_id >= $1 AND check_id <= $2",
                &[Val::Int(from), Val::Int(to)],
            )?
            .iter()
            .map(|r| Ok((r.i64(0)?, r.text(1)?)))
            .collect()
        })
    }

    /// Records what the department did after a check; a check has one feedback. The same
    /// feedback sent again (a client retrying after a timeout) is no error: it returns what was
    /// stored and `false`; different feedback is refused, naming what was recorded.
    /// Records a check's feedback; with `audit`, its entry in the same transaction (outcome
    /// `unchanged` for the same feedback again).
    pub fn give_feedback(
        &self,
        f: &Feedback,
        audit: Option<&mut crate::NewAuditEntry>,
    ) -> Result<(Feedback, bool), StoreError> {
        self.write_audited(audit, |c, entry| {
            if let Some(r) = c.query_one(
                "SELECT check_id, outcome, measures, reason, actor, unit, at FROM check_feedback WHERE check_id = $1",
                &[Val::Int(f.check_id)],
            )? {
                let old = feedback_from(&r)?;
                let mut a = old.measures.clone();
                let mut b = f.measures.clone();
                a.sort();
                b.sort();
                if old.outcome == f.outcome && a == b && old.reason == f.reason {
                    crate::platform::changed(0, entry);
                    return Ok((old, false));
                }
                return Err(StoreError::Refused(format!(
                    "核查{}已于{}反馈为“{}”{}{}，不能更改",
                    f.check_id,
                    beijing_minute(old.at),
                    outcome_label(&old.outcome),
                    if old.measures.is_empty() {
                        String::new()
                    } else {
                        format!("（措施：{}）", old.measures.join("、"))
                    },
                    old.reason
                        .as_deref()
                        .map(|r| format!("，理由：{r}"))
                        .unwrap_or_default(),
                )));
            }
            c.execute(
                "INSERT INTO check_feedback (check_id, outcome, measures, reason, actor, unit, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    Val::Int(f.check_id),
                    f.outcome.as_str().into(),
                    list_json(&f.measures).into(),
                    f.reason.clone().into(),
                    f.actor.as_str().into(),
                    f.unit.clone().into(),
                    f.at.into(),
                ],
            )?;
            Ok((f.clone(), true))
        })
    }

    pub fn feedback(&self, check_id: i64) -> Result<Option<Feedback>, StoreError> {
        self.read(|c| {
            c.query_one(
                "SELECT check_id, outcome, measures, reason, actor, unit, at FROM check_feedback WHERE check_id = $1",
                &[Val::Int(check_id)],
            )?
            .map(|r| feedback_from(&r))
            .transpose()
        })
    }

    /// Per unit and matter since `since`.
    pub fn check_stats(&self, since: DateTime<Utc>) -> Result<Vec<CheckStats>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT COALESCE(k.unit, ''), k.matter, COUNT(*),
                    CAST(CASE WHEN k.actor LIKE 'cli:%' THEN 1 ELSE 0 END AS BIGINT) AS cli,
                    CAST(SUM(CASE WHEN k.verdict IN ('forbid', 'restrict', 'review', 'supervise')
                        THEN 1 ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN k.verdict = 'incentive' THEN 1 ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN f.check_id IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN f.check_id IS NOT NULL AND k.verdict <> 'clear'
                        THEN 1 ELSE 0 END) AS BIGINT),
                    CAST(SUM(CASE WHEN f.outcome = 'applied' THEN 1 ELSE 0 END) AS BIGINT)
                 FROM checks k LEFT JOIN check_feedback f ON f.check_id = k.check_id
                 WHERE k.checked_at >= $1
                 GROUP BY COALESCE(k.unit, ''), k.matter, cli ORDER BY COUNT(*) DESC",
                &[since.into()],
            )?
            .iter()
            .map(|r| {
                Ok(CheckStats {
                    unit: r.text(0)?,
                    matter: r.text(1)?,
                    checks: r.i64(2)?,
                    command_line: r.i64(3)? == 1,
                    hits: r.i64(4)?,
                    incentives: r.i64(5)?,
                    feedback: r.i64(6)?,
                    feedback_due: r.i64(7)?,
                    applied: r.i64(8)?,
                    batch_checked: 0,
                    batch_hits: 0,
                    batch_incentives: 0,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
        })
        .and_then(|mut stats| {
            // Batch reviews count per unit and matter beside the single checks.
            let batches = self.read(|c| {
                c.query(
                    "SELECT COALESCE(unit, ''), matter, CAST(SUM(COALESCE(checked, valid)) AS BIGINT),
                        CAST(SUM(hits) AS BIGINT), CAST(SUM(incentives) AS BIGINT)
                     FROM batches WHERE created_at >= $1
                     GROUP BY COALESCE(unit, ''), matter",
                    &[since.into()],
                )
            })?;
            for r in batches {
                let (unit, matter) = (r.text(0)?, r.text(1)?);
                let (checked, hits, incentives) = (r.i64(2)?, r.i64(3)?, r.i64(4)?);
                match stats
                    .iter_mut()
                    .find(|s| s.unit == unit && s.matter == matter && !s.command_line)
                {
                    Some(s) => {
                        (s.batch_checked, s.batch_hits, s.batch_incentives) =
                            (checked, hits, incentives)
                    }
                    None => stats.push(CheckStats {
                        unit,
                        matter,
                        checks: 0,
                        hits: 0,
                        incentives: 0,
                        feedback: 0,
                        feedback_due: 0,
                        applied: 0,
                        batch_checked: checked,
                        batch_hits: hits,
                        batch_incentives: incentives,
                        command_line: false,
                    }),
                }
            }
            Ok(stats)
        })
    }

    // ----- exceptions -----

    /// Marks an exception; with `audit`, its entry in the same transaction (its detail names the
    /// exception and matter, after what the caller wrote there).
    pub fn create_exception(
        &self,
        e: &CheckException,
        audit: Option<&mut crate::NewAuditEntry>,
    ) -> Result<(i64, bool), StoreError> {
        self.write_audited(audit, |c, entry| {
            // The same hit set aside again by the same unit (a retried call, a form sent twice)
            // is the exception in force already: a second would outlive the first's revocation.
            if let Some(r) = c.query_one(
                "SELECT exception_id FROM check_exceptions
                 WHERE subject_key = $1 AND matter = $2 AND record_id = $3 AND record_hash = $4
                   AND COALESCE(unit, '') = COALESCE($5, '') AND revoked_at IS NULL
                 ORDER BY exception_id LIMIT 1",
                &[
                    e.subject_key.as_str().into(),
                    e.matter.as_str().into(),
                    e.record_id.as_str().into(),
                    e.record_hash.as_str().into(),
                    e.unit.clone().into(),
                ],
            )? {
                let id = r.i64(0)?;
                if let Some(entry) = entry {
                    entry.outcome = "unchanged".into();
                    entry.detail = Some(format!("exception={id} matter={} 已登记，未重复登记", e.matter));
                }
                return Ok((id, false));
            }
            let id = c.query_one(
                "INSERT INTO check_exceptions (subject_key, matter, record_id, record_hash, reason, actor, unit, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING exception_id",
                &[
                    e.subject_key.as_str().into(),
                    e.matter.as_str().into(),
                    e.record_id.as_str().into(),
                    e.record_hash.as_str().into(),
                    e.reason.as_str().into(),
                    e.actor.as_str().into(),
                    e.unit.clone().into(),
                    e.created_at.into(),
                ],
            )?
            .ok_or_else(|| StoreError::Decode("no exception id".into()))?
            .i64(0)?;
            if let Some(entry) = entry {
                let said = entry.detail.take().map(|d| format!(" {d}")).unwrap_or_default();
                entry.detail = Some(format!("exception={id} matter={}{said}", e.matter));
            }
            Ok((id, true))
        })
    }

    /// Revokes an exception; with `audit`, its entry in the same transaction.
    pub fn revoke_exception(
        &self,
        id: i64,
        by: &str,
        at: DateTime<Utc>,
        reason: &str,
        audit: Option<&mut crate::NewAuditEntry>,
    ) -> Result<(), StoreError> {
        self.write_audited(audit, |c, _| {
            let n = c.execute(
                "UPDATE check_exceptions SET revoked_at = $1, revoked_by = $2, revoke_reason = $4
                 WHERE exception_id = $3 AND revoked_at IS NULL",
                &[at.into(), by.into(), Val::Int(id), reason.into()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("例外{id}不存在或已撤销")));
            }
            Ok(())
        })
    }

    /// One exception, in force or revoked.
    pub fn exception_any(&self, id: i64) -> Result<Option<CheckException>, StoreError> {
        Ok(self
            .exceptions_where("exception_id = $1", &[Val::Int(id)])?
            .pop())
    }

    /// One exception in force.
    pub fn exception(&self, id: i64) -> Result<Option<CheckException>, StoreError> {
        Ok(self
            .exceptions_where("revoked_at IS NULL AND exception_id = $1", &[Val::Int(id)])?
            .pop())
    }

    /// How many exceptions there are, the newest and how many are revoked: changes when one
    /// is marked or revoked (what the list index's follower compares).
    pub fn exceptions_stamp(&self) -> Result<(i64, i64, i64), StoreError> {
        self.read(|c| {
            let r = c.query_one(
                "SELECT COUNT(*), MAX(exception_id), COUNT(revoked_at) FROM check_exceptions",
                &[],
            )?;
            match r {
                Some(r) => Ok((r.i64(0)?, r.i64(1)?, r.i64(2)?)),
                None => Ok((0, 0, 0)),
            }
        })
    }

    /// Exceptions in force (all subjects), for the check index.
    pub fn exceptions(&self, subject_key: Option<&str>) -> Result<Vec<CheckException>, StoreError> {
        self.exceptions_where(
            "revoked_at IS NULL AND ($1 = '' OR subject_key = $1)",
            &[subject_key.unwrap_or("").into()],
        )
    }

    /// Exceptions revoked since `since`, newest first at most `limit`, with who and why: a
    /// department reads what became of the ones it marked.
    pub fn exceptions_revoked_since(
        &self,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<CheckException>, StoreError> {
        let mut list = self.exceptions_where(
            "revoked_at IS NOT NULL AND revoked_at >= $1",
            &[since.into()],
        )?;
        list.reverse();
        list.truncate(limit.max(0) as usize);
        Ok(list)
    }

    /// Exceptions that meet `cond` (a fixed SQL condition on parameters from $1).
    fn exceptions_where(
        &self,
        cond: &str,
        params: &[Val],
    ) -> Result<Vec<CheckException>, StoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT exception_id, subject_key, matter, record_id, record_hash, reason, actor,
                        unit, created_at, revoked_at, revoked_by, revoke_reason
                     FROM check_exceptions WHERE {cond}
                     ORDER BY exception_id"
                ),
                params,
            )?
            .iter()
            .map(|r| {
                Ok(CheckException {
                    exception_id: r.i64(0)?,
                    subject_key: r.text(1)?,
                    matter: r.text(2)?,
                    record_id: r.text(3)?,
                    record_hash: r.text(4)?,
                    reason: r.text(5)?,
                    actor: r.text(6)?,
                    unit: r.opt_text(7)?,
                    created_at: r.time(8)?,
                    revoked_at: r.opt_time(9)?,
                    revoked_by: r.opt_text(10)?,
                    revoke_reason: r.opt_text(11)?,
                    in_effect: r.opt_time(9)?.is_none(),
                })
            })
            .collect()
        })
    }

    // ----- batches -----

    /// Stores a finished batch — its figures, its sealed result files and, when `sign` gives
    /// one, the platform's signature over a message naming the batch's id — with its audit
    /// entry (object `batch:<id>`) in the same transaction: a batch never stands without its
    /// entry, and an entry the trail refuses leaves no batch.
    pub fn store_batch(
        &self,
        b: &mut BatchRow,
        files: &[(&str, Vec<Vec<u8>>)],
        sign: impl FnOnce(i64) -> Option<(String, Vec<u8>)>,
        audit: Option<&mut crate::NewAuditEntry>,
    ) -> Result<i64, StoreError> {
        let (id, signed) = self.write_audited(audit, |c, entry| {
            let id = c
                .query_one(
                    "INSERT INTO batches (created_at, actor, unit, matter, file_name, rule_version,
                        rows_read, valid, invalid, duplicates, hits, result_digest, checked, incentives)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                     RETURNING batch_id",
                    &[
                        b.created_at.into(),
                        b.actor.as_str().into(),
                        b.unit.clone().into(),
                        b.matter.as_str().into(),
                        b.file_name.clone().into(),
                        b.rule_version.as_str().into(),
                        Val::Int(b.rows_read),
                        Val::Int(b.valid),
                        Val::Int(b.invalid),
                        Val::Int(b.duplicates),
                        Val::Int(b.hits),
                        b.result_digest.clone().into(),
                        Val::Int(b.checked),
                        Val::Int(b.incentives),
                    ],
                )?
                .ok_or_else(|| StoreError::Decode("no batch id".into()))?
                .i64(0)?;
            let signed = sign(id);
            if let Some((_, signature)) = &signed {
                c.execute(
                    "UPDATE batches SET signature = $1 WHERE batch_id = $2",
                    &[Val::Bytes(signature.clone()), Val::Int(id)],
                )?;
            }
            for (kind, chunks) in files {
                for (i, data) in chunks.iter().enumerate() {
                    c.execute(
                        "INSERT INTO batch_files (batch_id, kind, seq, data) VALUES ($1, $2, $3, $4)",
                        &[Val::Int(id), (*kind).into(), Val::Int(i as i64), Val::Bytes(data.clone())],
                    )?;
                }
            }
            if let Some(e) = entry {
                e.object = Some(format!("batch:{id}"));
            }
            Ok((id, signed))
        })?;
        b.batch_id = id;
        b.signature = signed.as_ref().map(|(_, s)| hex::encode(s));
        b.signed_message = signed.map(|(m, _)| m);
        Ok(id)
    }

    pub fn batch(&self, id: i64) -> Result<Option<BatchRow>, StoreError> {
        self.read(|c| {
            c.query_one(
                &format!("SELECT {BATCH_COLUMNS} FROM batches WHERE batch_id = $1"),
                &[Val::Int(id)],
            )?
            .map(|r| batch_from(&r))
            .transpose()
        })
    }

    /// Batches numbered below `before`, newest first: `unit`'s, or (with no unit) those `actor`
    /// made, or every one (neither).
    pub fn batches_page(
        &self,
        unit: Option<&str>,
        actor: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<BatchRow>, StoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {BATCH_COLUMNS} FROM batches WHERE ($1 = '' OR unit = $1)
                       AND ($2 = '' OR actor = $2) AND batch_id < $3
                     ORDER BY batch_id DESC LIMIT $4"
                ),
                &[
                    unit.unwrap_or("").into(),
                    actor.unwrap_or("").into(),
                    Val::Int(before.unwrap_or(i64::MAX)),
                    Val::Int(limit),
                ],
            )?
            .iter()
            .map(batch_from)
            .collect()
        })
    }

    pub fn batches(&self, unit: Option<&str>, limit: i64) -> Result<Vec<BatchRow>, StoreError> {
        self.read(|c| {
            c.query(
                &format!("SELECT {BATCH_COLUMNS} FROM batches WHERE ($1 = '' OR unit = $1) ORDER BY batch_id DESC LIMIT $2"),
                &[unit.unwrap_or("").into(), Val::Int(limit)],
            )?
            .iter()
            .map(batch_from)
            .collect()
        })
    }

    /// The sealed chunks of a batch's result file, in order.
    pub fn batch_file(&self, id: i64, kind: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT data FROM batch_files WHERE batch_id = $1 AND kind = $2 ORDER BY seq",
                &[Val::Int(id), kind.into()],
            )?
            .iter()
            .map(|r| r.bytes(0))
            .collect()
        })
    }

    // ----- subscriptions and webhooks -----

    /// Subscribes a unit to subjects; returns how many were new.
    /// Subscribes `unit` to the subjects; how many were new. With `audit`, its entry in the
    /// same transaction, its detail led by the counts (`added=… already=…`).
    pub fn subscribe(
        &self,
        unit: &str,
        subjects: &[(String, String)],
        note: Option<&str>,
        actor: &str,
        at: DateTime<Utc>,
        audit: Option<&mut crate::NewAuditEntry>,
    ) -> Result<usize, StoreError> {
        self.write_audited(audit, |c, entry| {
            let mut n = 0;
            for (key, label) in subjects {
                n += c.execute(
                    "INSERT INTO subscriptions (unit, subject_key, label, note, actor, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (unit, subject_key) DO NOTHING",
                    &[
                        unit.into(),
                        key.as_str().into(),
                        label.as_str().into(),
                        note.map(str::to_string).into(),
                        actor.into(),
                        at.into(),
                    ],
                )? as usize;
            }
            if let Some(e) = entry {
                let rest = e.detail.take().map(|d| format!(" {d}")).unwrap_or_default();
                e.detail = Some(format!("added={n} already={}{rest}", subjects.len() - n));
            }
            Ok(n)
        })
    }

    /// Ends `unit`'s subscription to a subject (`NotFound` when there is none); with `audit`,
    /// its entry in the same transaction.
    pub fn unsubscribe(
        &self,
        unit: &str,
        subject_key: &str,
        audit: Option<&mut crate::NewAuditEntry>,
    ) -> Result<(), StoreError> {
        self.write_audited(audit, |c, _| {
            let n = c.execute(
                "DELETE FROM subscriptions WHERE unit = $1 AND subject_key = $2",
                &[unit.into(), subject_key.into()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound("本单位未订阅该主体".into()));
            }
            Ok(())
        })
    }

    pub fn subscriptions(
        &self,
        unit: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Subscription>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT unit, subject_key, label, note, created_at FROM subscriptions WHERE unit = $1
                 ORDER BY created_at DESC, subject_key LIMIT $2 OFFSET $3",
                &[unit.into(), Val::Int(limit), Val::Int(offset)],
            )?
            .iter()
            .map(|r| {
                Ok(Subscription {
                    unit: r.text(0)?,
                    code: code_of(&r.text(1)?),
                    subscriber_ref: shown_unreferred(&r.text(1)?),
                    subject_key: r.text(1)?,
                    label: r.text(2)?,
                    note: r.opt_text(3)?,
                    created_at: r.time(4)?,
                })
            })
            .collect()
        })
    }

    /// Units subscribed to a subject, with the label they know it by and when they subscribed.
    pub fn subscribers(
        &self,
        subject_key: &str,
    ) -> Result<Vec<(String, String, DateTime<Utc>)>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT unit, label, created_at FROM subscriptions WHERE subject_key = $1 ORDER BY unit",
                &[subject_key.into()],
            )?
            .iter()
            .map(|r| Ok((r.text(0)?, r.text(1)?, r.time(2)?)))
            .collect()
        })
    }

    pub fn set_webhook(
        &self,
        unit: &str,
        url: &str,
        secret_sealed: &[u8],
        actor: &str,
        at: DateTime<Utc>,
        audit: Option<&mut crate::NewAuditEntry>,
    ) -> Result<(), StoreError> {
        self.write_audited(audit, |c, _| {
            c.execute(
                "INSERT INTO webhooks (unit, url, secret_sealed, actor, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (unit) DO UPDATE SET url = excluded.url, secret_sealed = excluded.secret_sealed,
                    actor = excluded.actor, created_at = excluded.created_at",
                &[unit.into(), url.into(), Val::Bytes(secret_sealed.to_vec()), actor.into(), at.into()],
            )?;
            // A unit that sets its address again has usually mended its receiver: the alerts
            // whose retries ran out are sent again, from the first attempt.
            c.execute(
                "UPDATE alerts SET delivery = 'pending', attempts = 0, next_attempt = $2, last_error = NULL
                 WHERE unit = $1 AND delivery = 'failed'",
                &[unit.into(), at.into()],
            )?;
            Ok(())
        })
    }

    /// Removes a unit's receiver: its alerts are shown in the console only from now on, those
    /// waiting to be sent or whose retries ran out too. Returns the address it had (None: it
    /// had none). With `audit`, its entry in the same transaction.
    pub fn remove_webhook(
        &self,
        unit: &str,
        audit: Option<&mut crate::NewAuditEntry>,
    ) -> Result<Option<String>, StoreError> {
        self.write_audited(audit, |c, _| {
            let Some(url) = c
                .query_one("SELECT url FROM webhooks WHERE unit = $1", &[unit.into()])?
                .map(|r| r.text(0))
                .transpose()?
            else {
                return Ok(None);
            };
            c.execute("DELETE FROM webhooks WHERE unit = $1", &[unit.into()])?;
            c.execute(
                "UPDATE alerts SET delivery = 'console', next_attempt = NULL
                 WHERE unit = $1 AND delivery IN ('pending', 'failed')",
                &[unit.into()],
            )?;
            Ok(Some(url))
        })
    }

    pub fn webhook(&self, unit: &str) -> Result<Option<Webhook>, StoreError> {
        self.read(|c| {
            c.query_one(
                "SELECT unit, url, secret_sealed FROM webhooks WHERE unit = $1",
                &[unit.into()],
            )?
            .map(|r| {
                Ok(Webhook {
                    unit: r.text(0)?,
                    url: r.text(1)?,
                    secret_sealed: r.bytes(2)?,
                })
            })
            .transpose()
        })
    }

    // ----- alerts -----

    /// Inserts alerts, ignoring any already made for the same unit and event; returns how many.
    pub fn insert_alerts(
        &self,
        alerts: &[NewAlert],
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        self.write(|c| {
            let mut n = 0;
            for a in alerts {
                n += c.execute(
                    "INSERT INTO alerts (event_seq, created_at, unit, subject_key, subject_label, event, record_id,
                        class_code, detail, delivery, next_attempt)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                     ON CONFLICT (unit, event_seq) DO NOTHING",
                    &[
                        Val::Int(a.event_seq),
                        at.into(),
                        a.unit.as_str().into(),
                        a.subject_key.as_str().into(),
                        a.subject_label.as_str().into(),
                        a.event.as_str().into(),
                        a.record_id.as_str().into(),
                        a.class_code.as_str().into(),
                        a.detail.as_str().into(),
                        a.delivery.as_str().into(),
                        if a.delivery == "pending" { at.into() } else { Val::Null },
                    ],
                )? as usize;
            }
            Ok(n)
        })
    }

    /// Alerts due for delivery now, oldest first, at most `per_unit` of each unit's (so that a
    /// unit with a backlog does not fill every claim while the others wait); each is claimed
    /// (its next attempt moved to `lease_until`) so that two replicas do not send it at once.
    pub fn claim_due_alerts(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        per_unit: i64,
    ) -> Result<Vec<Alert>, StoreError> {
        self.write(|c| {
            let lock = skip_locked(c);
            // The window is in a subquery: PostgreSQL takes no row locks at the level of a
            // window function, and the outer query locks the rows it returns.
            let due = c
                .query(
                    &format!(
                        "SELECT {ALERT_COLUMNS} FROM alerts WHERE alert_id IN (
                            SELECT alert_id FROM (
                                SELECT alert_id, next_attempt, ROW_NUMBER() OVER (PARTITION BY unit ORDER BY next_attempt, alert_id) AS n
                                FROM alerts WHERE delivery = 'pending' AND next_attempt <= $1) d
                            WHERE n <= $3 ORDER BY next_attempt, alert_id LIMIT $2)
                         AND delivery = 'pending' AND next_attempt <= $1
                         ORDER BY next_attempt, alert_id{lock}"
                    ),
                    &[now.into(), Val::Int(limit), Val::Int(per_unit)],
                )?
                .iter()
                .map(alert_from)
                .collect::<Result<Vec<_>, _>>()?;
            for a in &due {
                c.execute(
                    "UPDATE alerts SET next_attempt = $1 WHERE alert_id = $2",
                    &[lease_until.into(), Val::Int(a.alert_id)],
                )?;
            }
            Ok(due)
        })
    }

    /// Gives claimed alerts that were not sent back, due at `at`, their attempts unchanged (a
    /// delivery pass that ran out of time, or a receiver that failed earlier in the pass).
    pub fn release_alerts(&self, ids: &[i64], at: DateTime<Utc>) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.write(|c| {
            for id in ids {
                c.execute(
                    "UPDATE alerts SET next_attempt = $1 WHERE alert_id = $2 AND delivery = 'pending'",
                    &[at.into(), Val::Int(*id)],
                )?;
            }
            Ok(())
        })
    }

    /// Every unit's webhook address (never its secret), by unit.
    pub fn webhooks(&self) -> Result<Vec<WebhookSet>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT unit, url, actor, created_at FROM webhooks ORDER BY unit",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(WebhookSet {
                    unit: r.text(0)?,
                    url: r.text(1)?,
                    actor: r.text(2)?,
                    at: r.time(3)?,
                })
            })
            .collect()
        })
    }

    /// Records a delivery attempt: delivered, or failed with the next attempt (None: give up).
    pub fn alert_attempt(
        &self,
        id: i64,
        ok: bool,
        error: Option<&str>,
        next: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(|c| {
            let delivery = if ok {
                "delivered"
            } else if next.is_some() {
                "pending"
            } else {
                "failed"
            };
            c.execute(
                "UPDATE alerts SET attempts = attempts + 1, delivery = $1, last_error = $2, next_attempt = $3,
                    delivered_at = CASE WHEN $1 = 'delivered' THEN $4 ELSE delivered_at END
                 WHERE alert_id = $5",
                &[delivery.into(), error.map(str::to_string).into(), next.map_or(Val::Null, Val::from), at.into(), Val::Int(id)],
            )?;
            Ok(())
        })
    }

    pub fn alert(&self, id: i64) -> Result<Option<Alert>, StoreError> {
        self.read(|c| {
            c.query_one(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE alert_id = $1"),
                &[Val::Int(id)],
            )?
            .map(|r| alert_from(&r))
            .transpose()
        })
    }

    /// A unit's alerts (or all), newest first; `open` only those without feedback.
    pub fn alerts(
        &self,
        unit: Option<&str>,
        open: bool,
        limit: i64,
    ) -> Result<Vec<Alert>, StoreError> {
        self.alerts_page(unit, open, None, None, limit)
    }

    /// [`Store::alerts`] numbered below `before` (newest first: the next page back), or —
    /// with `after` — above it, oldest first (what came since the last one a system read).
    pub fn alerts_page(
        &self,
        unit: Option<&str>,
        open: bool,
        before: Option<i64>,
        after: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Alert>, StoreError> {
        let order = if after.is_some() { "ASC" } else { "DESC" };
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {ALERT_COLUMNS} FROM alerts WHERE ($1 = '' OR unit = $1) AND ($2 = 0 OR feedback IS NULL)
                       AND alert_id < $4 AND alert_id > $5
                     ORDER BY alert_id {order} LIMIT $3"
                ),
                &[
                    unit.unwrap_or("").into(),
                    Val::Int(open as i64),
                    Val::Int(limit),
                    Val::Int(before.unwrap_or(i64::MAX)),
                    Val::Int(after.unwrap_or(0)),
                ],
            )?
            .iter()
            .map(alert_from)
            .collect()
        })
    }

    /// Records a unit's answer to an alert; returns whether it was new. The same answer sent
    /// again (a retry after a timeout) is no error; a different one is refused, naming what was
    /// recorded.
    pub fn alert_feedback(
        &self,
        id: i64,
        outcome: &str,
        reason: Option<&str>,
        actor: &str,
        at: DateTime<Utc>,
        audit: Option<&mut crate::NewAuditEntry>,
    ) -> Result<bool, StoreError> {
        self.write_audited(audit, |c, entry| {
            let n = c.execute(
                "UPDATE alerts SET feedback = $1, feedback_reason = $2, feedback_actor = $3, feedback_at = $4
                 WHERE alert_id = $5 AND feedback IS NULL",
                &[outcome.into(), reason.map(str::to_string).into(), actor.into(), at.into(), Val::Int(id)],
            )?;
            if n > 0 {
                return Ok(true);
            }
            let Some(r) = c.query_one(
                "SELECT feedback, feedback_reason, feedback_at FROM alerts WHERE alert_id = $1",
                &[Val::Int(id)],
            )?
            else {
                return Err(StoreError::Refused(format!("预警{id}不存在")));
            };
            let (old, old_reason, old_at) = (r.opt_text(0)?, r.opt_text(1)?, r.opt_time(2)?);
            if old.as_deref() == Some(outcome) && old_reason.as_deref() == reason {
                crate::platform::changed(0, entry);
                return Ok(false);
            }
            Err(StoreError::Refused(format!(
                "预警{id}已于{}反馈为“{}”{}，不能更改",
                old_at.map(beijing_minute).unwrap_or_default(),
                outcome_label(old.as_deref().unwrap_or_default()),
                old_reason
                    .map(|r| format!("，说明：{r}"))
                    .unwrap_or_default(),
            )))
        })
    }
}

fn name_checks(audit: &mut [crate::NewAuditEntry], ids: &[i64]) {
    for (e, id) in audit.iter_mut().zip(ids) {
        e.object = Some(format!("check:{id}"));
    }
}

const CHECK_INSERT_COLUMNS: &str = "checked_at, actor, unit, channel, batch_id, subject_key, \
    subject_label, matter, verdict, measures, entries, suppressed, rule_version, reference";

fn check_values(k: &CheckRow) -> [Val; 14] {
    [
        k.checked_at.into(),
        k.actor.as_str().into(),
        k.unit.clone().into(),
        k.channel.as_str().into(),
        k.batch_id.map_or(Val::Null, Val::Int),
        k.subject_key.as_str().into(),
        k.subject_label.as_str().into(),
        k.matter.as_str().into(),
        k.verdict.as_str().into(),
        list_json(&k.measures).into(),
        list_json(&k.entries).into(),
        list_json(&k.suppressed).into(),
        k.rule_version.as_str().into(),
        k.reference.clone().into(),
    ]
}

/// The column types of a check with its id, for a group written by `unnest`.
#[rustfmt::skip]
const CHECK_PG_TYPES: [&str; 15] = [
    "bigint", "timestamptz", "text", "text", "text", "bigint", "text", "text",
    "text", "text", "text", "text", "text", "text", "text",
];

/// PostgreSQL: a group of checks and their audit entries in one statement (one text for every
/// group; prepared once per connection). The entries' parameters come first.
static CHECKS_AND_ENTRIES_PG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "WITH k AS (INSERT INTO checks (check_id, {CHECK_INSERT_COLUMNS})
                    SELECT * FROM unnest({}) WHERE {})
         {}",
        crate::unnest_params_from(&CHECK_PG_TYPES, crate::platform::AUDIT_PG_PARAMS + 1),
        crate::platform::AUDIT_HEAD_GUARD,
        *crate::platform::AUDIT_INSERT_GUARDED_PG
    )
});

/// How many check ids a server takes from the sequence at once: one round trip for several
/// groups (groups hold 3–30 checks under load). Across servers on one database ids then
/// follow time only roughly — lists "newest first" go by id — so the block is small: a quiet
/// server's unused ids are at most this many behind. A server that stops leaves a gap, as a
/// rolled-back insert does.
const CHECK_ID_BLOCK: usize = 64;

impl Store {
    /// PostgreSQL: `n` check ids, in ascending order, from those taken ahead.
    fn take_check_ids(&self, n: usize) -> Result<Vec<i64>, StoreError> {
        let mut pool = self.check_ids.lock().map_err(|_| StoreError::Poisoned)?;
        if pool.len() < n {
            let want = (n - pool.len()).max(CHECK_ID_BLOCK);
            let mut got: Vec<i64> = self
                .writer()?
                .query(
                    "SELECT nextval(pg_get_serial_sequence('checks', 'check_id'))
                     FROM generate_series(1, $1::bigint)",
                    &[Val::Int(want as i64)],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect::<Result<_, _>>()?;
            got.sort_unstable();
            pool.extend(got);
        }
        if pool.len() < n {
            return Err(StoreError::Decode("check ids missing".into()));
        }
        Ok(pool.drain(..n).collect())
    }
}

fn insert_checks(
    c: &mut dyn crate::conn::Conn,
    checks: &[CheckRow],
) -> Result<Vec<i64>, StoreError> {
    // Many rows per statement: a group of checks costs a few statements, not one each.
    const COLS: usize = CHECK_PG_TYPES.len() - 1;
    let mut ids = Vec::with_capacity(checks.len());
    let mut at = 0;
    for n in crate::multi_row_pieces(checks.len()) {
        let chunk = &checks[at..at + n];
        at += n;
        let mut sql = format!("INSERT INTO checks ({CHECK_INSERT_COLUMNS}) VALUES ");
        let mut params: Vec<Val> = Vec::with_capacity(chunk.len() * COLS);
        for (i, k) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for j in 0..COLS {
                if j > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", i * COLS + j + 1));
            }
            sql.push(')');
            params.extend(check_values(k));
        }
        sql.push_str(" RETURNING check_id");
        let mut got: Vec<i64> = c
            .query(&sql, &params)?
            .iter()
            .map(|r| r.i64(0))
            .collect::<Result<_, _>>()?;
        // Ids are given in insertion order by both stores' sequences; sort in case RETURNING
        // does not list them in that order.
        got.sort_unstable();
        if got.len() != chunk.len() {
            return Err(StoreError::Decode("check ids missing".into()));
        }
        ids.extend(got);
    }
    Ok(ids)
}
