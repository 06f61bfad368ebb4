//! The jobs the server polls (every few seconds, any number of replicas on PostgreSQL): each pass
//! enqueues the periodic jobs of the day (reminder scan) and hour (escalation) — unique by kind
//! and key, so a second replica or a restart adds nothing — then claims due jobs with a lease,
//! runs them, and delivers the outbox through the configured [`Sender`].
//!
//! Delivery is at least once toward the gateway only if a sender dies between sending and
//! recording the send; every message carries its dedupe key (`Idempotency-Key`) so the gateway
//! drops such a repeat. Within the platform nothing is sent twice: a row is leased to one sender.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use domain::workflow::{Action, CaseKind, CaseState};
use serde::Serialize;
use store::{NewJob, NewMessage, OutboxMessage, SideEffects, StoreError};

use crate::{Actor, CaseError, Casework, day_of};

pub const SCAN: &str = "repair.scan";
pub const ESCALATE: &str = "cases.escalate";
pub const FORWARD: &str = "objection.forward";
pub const SHARE: &str = "repair.share";
/// Ends the commitment of an application that ended without a repair (the store enqueues it
/// too, when a record's withdrawal ends the application).
pub const LAPSE: &str = store::COMMITMENT_LAPSE;

/// How long a claimed job or outbox row is held before another runner may take it.
const LEASE_MINUTES: i64 = 5;
/// Attempts before a job or a message is given up (and shown as failed).
const MAX_ATTEMPTS: i64 = 8;
/// Outbox rows claimed at once: with the gateway's 10 s timeout a batch ends well within the lease.
const OUTBOX_BATCH: i64 = 20;

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Nobody to send it to (the reason says why); not retried.
    NoAddress(String),
}

/// Sends an email or SMS. Implementations: [`FileSender`] (a local spool, the default),
/// [`HttpSender`] (the government SMS/email gateway); the server puts a resolver in front that
/// turns `subject:<key>` into the phone numbers its accounts left.
pub trait Sender: Send + Sync {
    fn send(&self, m: &OutboxMessage) -> Result<Delivery, String>;
}

/// Appends each message as one JSON line to a file (for a platform without a gateway, and for
/// operators to see what would be sent).
pub struct FileSender {
    pub path: PathBuf,
}

impl Sender for FileSender {
    fn send(&self, m: &OutboxMessage) -> Result<Delivery, String> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        let line = serde_json::to_string(m).map_err(|e| e.to_string())?;
        writeln!(f, "{line}").map_err(|e| e.to_string())?;
        Ok(Delivery::Sent)
    }
}

/// Posts each message as JSON to a gateway URL with `Idempotency-Key: <dedupe>`; any 2xx is sent.
pub struct HttpSender {
    pub url: String,
    agent: ureq::Agent,
}

impl HttpSender {
    pub fn new(url: &str) -> Self {
        HttpSender {
            url: url.to_string(),
            agent: ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(10)))
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into(),
        }
    }
}

impl Sender for HttpSender {
    fn send(&self, m: &OutboxMessage) -> Result<Delivery, String> {
        let body = serde_json::to_string(m).map_err(|e| e.to_string())?;
        let r = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", &m.dedupe)
            .send(body.as_bytes())
            .map_err(|e| format!("网关不可达：{e}"))?;
        if r.status().is_success() {
            Ok(Delivery::Sent)
        } else {
            Err(format!("网关返回{}", r.status().as_u16()))
        }
    }
}

/// A step the platform took on its own (no one's request): the runner's caller writes each to
/// the audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformStep {
    pub action: &'static str,
    pub object: String,
    pub detail: String,
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct TickReport {
    pub jobs_run: usize,
    pub jobs_failed: usize,
    pub reminders: usize,
    pub escalated: usize,
    pub sent: usize,
    pub send_failures: usize,
    /// Messages with nobody to send to.
    pub unaddressed: usize,
}

/// One runner (one per server process; its id names it in the jobs table).
pub struct Scheduler<'a> {
    pub work: Casework<'a>,
    pub sender: &'a dyn Sender,
    pub worker: &'a str,
    /// Told of each step the runner takes on its own as soon as the step has committed (the
    /// server writes it to the audit trail), so that a failure later in the pass loses none.
    pub trail: &'a dyn Fn(&PlatformStep),
}

fn backoff(attempts: i64) -> chrono::Duration {
    chrono::Duration::minutes(match attempts {
        ..=1 => 1,
        2 => 5,
        3 => 15,
        _ => 60,
    })
}

impl Scheduler<'_> {
    /// One pass: periodic jobs enqueued, due jobs run, the outbox delivered.
    pub fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, StoreError> {
        self.enqueue_periodic(now)?;
        self.run_due(now, TickReport::default())
    }

    /// Enqueues the day's reminder scan and the hour's escalation (once each, whoever comes first).
    pub fn enqueue_periodic(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let store = self.work.store;
        let today = day_of(now);
        let hour = domain::clock::beijing(now).hour();
        for (kind, key) in [
            (SCAN, today.to_string()),
            (ESCALATE, format!("{today}T{hour:02}")),
        ] {
            store.enqueue_job(
                &NewJob {
                    kind,
                    key,
                    payload: String::new(),
                    run_at: now,
                },
                now,
            )?;
        }
        Ok(())
    }

    /// One pass's work, minus enqueueing (see [`Scheduler::tick`]).
    fn run_due(&self, now: DateTime<Utc>, mut r: TickReport) -> Result<TickReport, StoreError> {
        let store = self.work.store;
        let lease = now + chrono::Duration::minutes(LEASE_MINUTES);
        for job in store.claim_jobs(self.worker, now, lease, 50)? {
            // Each step is told to the trail as it commits, inside the job: a failure later in
            // the job leaves the earlier ones in the trail (the retry will not redo them).
            let done = match job.kind.as_str() {
                SCAN => self.scan(&job, now).map(|n| r.reminders += n),
                ESCALATE => self.escalate(&job, now).map(|n| r.escalated += n),
                FORWARD => self.forward(&job, now),
                SHARE => self.share(&job, now),
                LAPSE => self.lapse(&job, now),
                other => Err(CaseError::Invalid(format!("unknown job kind {other}"))),
            };
            match done {
                Ok(()) => r.jobs_run += 1,
                Err(e) => {
                    r.jobs_failed += 1;
                    let retry = (job.attempts < MAX_ATTEMPTS).then(|| now + backoff(job.attempts));
                    store.fail_job(job.job_id, self.worker, &e.to_string(), retry)?;
                }
            }
        }
        for m in store.claim_outbox(self.worker, now, lease, OUTBOX_BATCH)? {
            match self.sender.send(&m) {
                Ok(Delivery::Sent) => {
                    r.sent += 1;
                    store.outbox_result(m.outbox_id, self.worker, None, None, now)?;
                }
                Ok(Delivery::NoAddress(why)) => {
                    r.unaddressed += 1;
                    store.outbox_unaddressed(m.outbox_id, self.worker, &why, now)?;
                }
                Err(e) => {
                    r.send_failures += 1;
                    let next = (m.attempts < MAX_ATTEMPTS).then(|| now + backoff(m.attempts));
                    store.outbox_result(m.outbox_id, self.worker, Some(&e), next, now)?;
                }
            }
        }
        Ok(r)
    }

    fn finish(&self, job: &store::Job, now: DateTime<Utc>) -> Result<(), CaseError> {
        self.work
            .store
            .finish_job(job.job_id, self.worker, now, |_| Ok(()))?;
        Ok(())
    }

    /// 闹铃式: records whose minimum period ended get a reminder to the subject (console and
    /// SMS) and a pre-reviewed item on the deciding unit's worklist — once per record.
    fn scan(&self, job: &store::Job, now: DateTime<Utc>) -> Result<usize, CaseError> {
        let w = &self.work;
        let today = day_of(now);
        let mut made = 0;
        let mut per_unit: std::collections::BTreeMap<String, usize> = Default::default();
        // Every penalty repairable by today and not yet reminded (late reports included); one
        // that cannot be pre-reviewed is skipped and logged, not allowed to stop the others.
        let mut after: Option<store::RecordHead> = None;
        loop {
            let due = w.store.due_reminders(today, after.as_ref(), 500)?;
            if due.is_empty() {
                break;
            }
            after = due.last().cloned();
            for head in &due {
                let unit = w.deciding_unit(head);
                let pre = match w.pre_review(head, false, None, today) {
                    Ok(p) => p,
                    Err(e) => {
                        eprintln!("reminder for {} skipped: {e}", head.record_id);
                        continue;
                    }
                };
                let pre_json = serde_json::to_string(&pre).unwrap_or_default();
                let what = w.record_name(head);
                let from = head
                    .repairable_from
                    .map(|d| d.to_string())
                    .unwrap_or_default();
                // Market regulation has no minimum period (SAMR Order 45): say when, not why.
                let market = head.regime.as_deref() == Some(w.rules.publicity.market.id.as_str());
                let because = if market {
                    ""
                } else {
                    "的最短公示期已满"
                };
                let mut fx = SideEffects::default();
                w.notify_subject(
                    &head.subject_key,
                    "您的失信记录已可申请信用修复".into(),
                    format!(
                        "{what}{because}，自{from}起可申请信用修复。登录信用平台后在“我的信用记录”页面在线申请（信用中国（江苏盐城）各页底部有入口），签署信用修复承诺即可，无需跑腿。"
                    ),
                    &head.record_id,
                    format!("remind:{}", head.record_id),
                    &mut fx,
                    &["sms"],
                );
                if w.store.remind(head, &unit, &pre_json, &fx, now)? {
                    made += 1;
                    *per_unit.entry(unit).or_default() += 1;
                }
            }
        }
        for (unit, n) in per_unit {
            w.store.remind_unit(
                &NewMessage {
                    to_kind: "unit",
                    to_key: unit.clone(),
                    title: "可修复记录提醒".into(),
                    body: format!(
                        "本单位认定的{n}条行政处罚记录于{today}前届满最短公示期，平台已预审并提醒主体；主体申请后由本单位认定单位经办人在“信用修复工作台”办理。"
                    ),
                    case_id: None,
                    record_id: None,
                    dedupe: format!("remind-unit:{unit}:{today}:{}", job.job_id),
                },
                now,
            )?;
        }
        if made > 0 {
            self.tell(
                "case.remind",
                format!("job:{}", job.job_id),
                format!("reminders={made}"),
            );
        }
        self.finish(job, now)?;
        Ok(made)
    }

    /// Items within the escalation margin of their deadline (or past it) go to the credit office;
    /// each case escalated now is told to the trail with its stage (1 near the deadline, 2 past
    /// it). Returns how many.
    fn escalate(&self, job: &store::Job, now: DateTime<Utc>) -> Result<usize, CaseError> {
        let w = &self.work;
        let wf = &w.rules.workflows;
        let today = day_of(now);
        let limit = w
            .rules
            .calendar
            .add_workdays(today, wf.escalation.before_deadline)
            .date;
        let mut n = 0;
        for case in w.store.cases_to_escalate(limit, today)? {
            let Some(due) = case.deadline else { continue };
            let kind: CaseKind = case.kind.parse().map_err(CaseError::Invalid)?;
            let state: CaseState = case.state.parse().map_err(CaseError::Invalid)?;
            let step = case.deadline_step.clone().unwrap_or_default();
            let late = due < today;
            let stage = if late { 2 } else { 1 };
            let body = format!(
                "{}申请{}（{}，{}）须于{due}前{step}{}。",
                kind.label(),
                case.case_id,
                case.unit,
                state.label(),
                if late {
                    "，现已逾期"
                } else {
                    "，即将到期"
                }
            );
            let fx = SideEffects {
                messages: vec![
                    NewMessage {
                        to_kind: "office",
                        to_key: "office".into(),
                        title: if late { "逾期督办" } else { "临期督办" }.into(),
                        body: body.clone(),
                        case_id: Some(case.case_id),
                        record_id: Some(case.record_id.clone()),
                        dedupe: format!("escalate:{}:{due}:{stage}:office", case.case_id),
                    },
                    NewMessage {
                        to_kind: "unit",
                        to_key: case.unit.clone(),
                        title: if late {
                            "事项已逾期"
                        } else {
                            "事项即将到期"
                        }
                        .into(),
                        body,
                        case_id: Some(case.case_id),
                        record_id: Some(case.record_id.clone()),
                        dedupe: format!("escalate:{}:{due}:{stage}:unit", case.case_id),
                    },
                ],
                ..Default::default()
            };
            if w.store.escalate_case(case.case_id, due, stage, &fx, now)? {
                n += 1;
                self.tell(
                    "case.escalate",
                    format!("case:{}", case.case_id),
                    format!("stage={stage}"),
                );
            }
        }
        self.finish(job, now)?;
        Ok(n)
    }

    fn tell(&self, action: &'static str, object: String, detail: String) {
        (self.trail)(&PlatformStep {
            action,
            object,
            detail,
        });
    }

    /// Forwards an objection to its source unit.
    fn forward(&self, job: &store::Job, now: DateTime<Utc>) -> Result<(), CaseError> {
        if let Some(case) = self.work.store.open_case_of("objection", &job.payload)?
            && case.state == CaseState::Submitted.as_str()
        {
            self.work.act(
                &Actor::system("forward"),
                case.case_id,
                Action::Forward,
                "",
                None,
                now,
            )?;
            self.tell(
                "case.forward",
                format!("case:{}", case.case_id),
                String::new(),
            );
        }
        self.finish(job, now)
    }

    /// Withdraws the public commitment of a repair application that was refused or withdrawn
    /// (it was signed for a repair that did not come): once, whatever retries the job gets.
    fn lapse(&self, job: &store::Job, now: DateTime<Utc>) -> Result<(), CaseError> {
        let id: i64 = job
            .key
            .parse()
            .map_err(|_| CaseError::Invalid(format!("lapse job key {}", job.key)))?;
        if let Some(case) = self.work.store.case(id)? {
            for record in crate::commitment_records(self.work.store, &case)? {
                let ended = self.work.store.lapse_commitment(
                    &record,
                    &store::Withdrawal {
                        unit: &case.unit,
                        actor: "system:commitment",
                        reason: &job.payload,
                        at: now,
                    },
                )?;
                if ended {
                    self.tell("commitment.lapse", record, job.payload.clone());
                }
            }
        }
        self.finish(job, now)
    }

    /// Shares a decided repair to the feed.
    fn share(&self, job: &store::Job, now: DateTime<Utc>) -> Result<(), CaseError> {
        let id: i64 = job
            .key
            .parse()
            .map_err(|_| CaseError::Invalid(format!("share job key {}", job.key)))?;
        if let Some(case) = self.work.store.case(id)?
            && matches!(case.state.as_str(), "approved" | "rejected")
        {
            self.work
                .act(&Actor::system("share"), id, Action::Share, "", None, now)?;
            self.tell("case.share", format!("case:{id}"), String::new());
        }
        self.finish(job, now)
    }
}
