//! Background work, every few seconds: repair and objection jobs (reminders, escalation,
//! forwarding, sharing, the SMS/email outbox — see `workflows::scheduler`); and for joint reward
//! and punishment: the check index catches
//! up with the store, record events become alerts for subscribed units, due alerts are
//! delivered, and once a day list entries past their validity are moved off their lists.
//! Every step is idempotent, so a restart or a second replica repeats nothing.

use std::time::Duration;

use workflows::scheduler::PlatformStep;

use crate::{Shared, today};

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct JobsReport {
    pub index_changes: usize,
    pub alerts_made: usize,
    pub delivered: usize,
    pub delivery_attempts: usize,
    /// Due alerts the pass's delivery budget left for the next pass.
    pub delivery_left: usize,
    pub expired: usize,
    /// Entries past their rectification deadline (their deciding units told once each).
    pub rectification_overdue: usize,
    /// Repair and objection jobs (reminders, escalation, forwarding, sharing, outbox).
    pub cases: workflows::scheduler::TickReport,
}

/// One pass of every job (the tests drive this directly, with their own clock).
pub fn run_once(state: &Shared) -> Result<JobsReport, store::StoreError> {
    let now = state.clock.now();
    let mut r = JobsReport::default();
    // The jobs write (expiry, case steps, alerts) and trace what they write: while the trail
    // cannot be written, a pass waits, unless it can write that the trail works again.
    if state.metrics.audit_failing() {
        let probe = jobs_entry(
            "audit.resumed",
            "jobs",
            Some("审计日志写入失败后，后台任务执行前确认审计日志可以写入".into()),
        );
        match state.audit.record_blocking(probe) {
            Ok(_) => state.metrics.audit_written(),
            Err(e) => {
                state.metrics.audit_lost();
                return Err(store::StoreError::Refused(format!(
                    "审计日志无法写入，后台任务本轮暂停：{e}"
                )));
            }
        }
    }
    let lists = state.lists.lists();
    // Expiry is a day's business: once per day (and at start).
    let day = today(now);
    let due = {
        let mut last = state.expiry_day.lock().unwrap_or_else(|p| p.into_inner());
        let due = *last != Some(day);
        *last = Some(day);
        due
    };
    if due {
        // Expiries are in the trail as soon as they are committed, whatever follows.
        let expired = state.store.expire_due(
            &lists,
            &store::ListChange {
                named_unit: None,
                unit: None,
                actor: "system:expiry",
                reason: "",
                at: now,
                today: day,
                rewarding: &[],
            },
            &mut |id| {
                trail(
                    state,
                    &PlatformStep {
                        action: "list.expire",
                        object: id,
                        detail: "到期移出".into(),
                    },
                )
            },
        );
        let expired = expired.map(|n| r.expired = n);
        match expired.and_then(|_| rectification_overdue(state, day, now)) {
            Ok(o) => r.rectification_overdue = o,
            Err(e) => {
                // Try again on the next pass.
                *state.expiry_day.lock().unwrap_or_else(|p| p.into_inner()) = None;
                return Err(e);
            }
        }
    }
    r.index_changes = follow_lists_once(state, now)?;
    r.alerts_made = joint::alerts::detect(&state.store, &state.platform, &state.rules, now)?;
    r.cases = workflows::scheduler::Scheduler {
        work: crate::api::cases::casework(state),
        sender: state.sender.as_ref(),
        worker: &state.worker,
        trail: &|s| trail(state, s),
    }
    .tick(now)?;
    // Last, and within its budget: receivers that are slow or down hold nothing above.
    let d = joint::alerts::deliver_due(
        &state.platform,
        &state.keys,
        now,
        &state.config.public_url,
        &state.config.webhooks(),
    )?;
    r.delivered = d.delivered;
    r.delivery_attempts = d.attempted;
    r.delivery_left = d.left;
    Ok(r)
}

/// A step the platform took on its own (no one's request) into the audit trail, as
/// `system:jobs`.
fn trail(state: &Shared, s: &PlatformStep) {
    let entry = jobs_entry(
        s.action,
        &s.object,
        (!s.detail.is_empty()).then(|| s.detail.clone()),
    );
    match state.audit.record_blocking(entry) {
        Ok(_) => state.metrics.audit_written(),
        Err(err) => {
            // Counted and flagged as a request's lost entry is: the next pass waits for the
            // trail (`run_once`), and so do requests' writes.
            state.metrics.audit_lost();
            eprintln!("audit append failed for a platform step: {err}");
        }
    }
}

/// Tells each deciding unit, once per entry and deadline, of its entries still on their lists
/// after the rectification deadline it set: 盐政办发〔2020〕33号 三 calls for 约谈 of those who
/// do not rectify in time. Returns how many entries are past their deadline (a unit already
/// told of one is not told again).
fn rectification_overdue(
    state: &Shared,
    day: chrono::NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, store::StoreError> {
    let mut n = 0;
    for e in state
        .lists
        .rectification_overdue(day, &state.rules.calendar)
    {
        let Some(deadline) = e.rectify_by else {
            continue;
        };
        let deadline_text = deadline_shown(state, deadline);
        let unit = state
            .rules
            .units
            .find(&e.deciding_unit)
            .map_or_else(|| e.source_unit.clone(), |u| u.name.clone());
        let list = state
            .rules
            .catalog
            .class_by_code(&e.class_code)
            .map_or(e.class_code.clone(), |c| c.name.clone());
        state.store.remind_unit(
            &store::NewMessage {
                to_kind: "unit",
                to_key: unit,
                title: "名单整改逾期".into(),
                body: format!(
                    "{}（{}，文书号{}）的整改期限{}已过，仍在名单上。请依规约谈督促整改，或继续实施相应措施（盐政办发〔2020〕33号 三）。",
                    e.subject_name, list, e.decision_no, deadline_text
                ),
                case_id: None,
                record_id: Some(e.record_id.clone()),
                dedupe: format!("rectify-overdue:{}:{deadline}", e.record_id),
            },
            now,
        )?;
        n += 1;
    }
    Ok(n)
}

/// Brings this process's list index up to what the store holds: hourly rebuilt whole, in
/// between following what changed. Returns the entries read.
pub fn follow_lists_once(
    state: &Shared,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, store::StoreError> {
    follow_lists_at(state, now, true)
}

/// What the follower compares: every class's newest change, the newest submission, the
/// exceptions' count, newest and revoked.
type ChangesStamp = (store::ChangesStamp, (i64, i64, i64));

fn changes_stamp(state: &Shared) -> Result<ChangesStamp, store::StoreError> {
    Ok((
        state.store.changes_stamp(&state.rules.catalog.codes())?,
        state.platform.exceptions_stamp()?,
    ))
}

/// [`follow_lists_once`]; `full` false: without the read-back of recent single actions (see
/// `ListIndex::refresh_quick`).
fn follow_lists_at(
    state: &Shared,
    now: chrono::DateTime<chrono::Utc>,
    full: bool,
) -> Result<usize, store::StoreError> {
    let rebuild = {
        let mut last = state.index_built.lock().unwrap_or_else(|p| p.into_inner());
        let due = rebuild_due(*last, now);
        if due {
            *last = Some(now);
        }
        due
    };
    if rebuild {
        state
            .lists
            .rebuild(&state.store, &state.platform, &state.rules)
    } else if full {
        state
            .lists
            .refresh(&state.store, &state.platform, &state.rules)
    } else {
        state
            .lists
            .refresh_quick(&state.store, &state.platform, &state.rules)
    }
}

/// An entry of the platform's own (no one's request), as `system:jobs`.
fn jobs_entry(action: &str, object: &str, detail: Option<String>) -> store::NewAuditEntry {
    store::NewAuditEntry {
        actor: "system:jobs".into(),
        role: "system".into(),
        action: action.into(),
        object: Some(object.into()),
        outcome: "ok".into(),
        detail,
        ..Default::default()
    }
}

/// Whether the list index, last built at `built`, is to be rebuilt whole (hourly: a safety net
/// under the incremental refresh).
fn rebuild_due(
    built: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    built.is_none_or(|t| now - t >= chrono::Duration::hours(1))
}

/// Every second, whether or not this process runs the jobs: a change another server on the
/// same database made (a delisting, a revocation, an exception) reaches this one's checks
/// within about a second — the process that made it sees it at once. It reads only what came
/// after the cursor: reading back the last two minutes' single actions (one committed after a
/// later-stamped change was read) is the jobs' pass's every five seconds, this follower's every
/// half minute on a server without the jobs, and the hourly rebuild's — done every second it
/// read a large import's rows again and again, under the index's lock the checks wait on
/// (measured: PostgreSQL checks 12,649/s → 5,580/s).
pub async fn follow_lists(state: Shared) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<ChangesStamp> = None;
    let mut n = 0u64;
    loop {
        tick.tick().await;
        let (s, seen) = (state.clone(), last.take());
        // A server that does not run the jobs reads back recent single actions itself, every
        // half minute (one committed late, behind a newer one, moves no stamp).
        let read_back = !state.config.run_jobs && n.is_multiple_of(30);
        n += 1;
        // Nothing changed since the last look (a few index seeks say so), no read-back and no
        // rebuild due: nothing is read and the index is not locked — the checks' latency does
        // not pay for the follower.
        let r = tokio::task::spawn_blocking(move || {
            let stamp = changes_stamp(&s)?;
            let at = s.clock.now();
            let built = *s.index_built.lock().unwrap_or_else(|p| p.into_inner());
            if seen.as_ref() != Some(&stamp) || read_back || rebuild_due(built, at) {
                follow_lists_at(&s, at, read_back)?;
            }
            // The red list's count as shown is read again when the lists changed (a subject
            // newly on a serious list leaves it), not only with the five-minute figures.
            if seen.is_some() && seen.as_ref() != Some(&stamp) {
                s.red_shown.store(-1, std::sync::atomic::Ordering::Relaxed);
            }
            Ok::<_, store::StoreError>(stamp)
        })
        .await;
        // A failed look leaves no stamp: the next one reads.
        match r {
            Ok(Ok(stamp)) => last = Some(stamp),
            Ok(Err(e)) => eprintln!("{} list index: {e}", chrono::Utc::now().to_rfc3339()),
            Err(_) => {}
        }
    }
}

pub async fn run(state: Shared) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        let s = state.clone();
        let r = tokio::task::spawn_blocking(move || run_once(&s)).await;
        if let Ok(Err(e)) = r {
            eprintln!("{} joint jobs: {e}", chrono::Utc::now().to_rfc3339());
        }
    }
}

/// A rectification deadline as pages and messages show it: the day set, and the working day it
/// runs to when it falls on a day off (民法典 第二百零三条), as checks and this job count it.
pub fn deadline_shown(state: &Shared, deadline: chrono::NaiveDate) -> String {
    let moved = state.rules.calendar.next_workday_on_or_after(deadline);
    if moved == deadline {
        deadline.to_string()
    } else {
        format!("{deadline}（遇休息日顺延至{moved}）")
    }
}
