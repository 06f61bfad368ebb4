//! Checks are recorded in groups: one writer thread gathers what arrives close together and
//! commits it — the checks and their audit entries — in one transaction, and each request waits
//! for its own row, so thousands of checks a second are each durable before their answer leaves.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use store::{CheckRow, NewAuditEntry, Store, StoreError};

struct Job {
    row: CheckRow,
    audit: NewAuditEntry,
    reply: tokio::sync::oneshot::Sender<Result<i64, String>>,
}

#[derive(Clone)]
pub struct CheckLog {
    tx: Sender<Job>,
    /// Checks sent to the writer and not yet answered (a metrics gauge).
    pub queue: Arc<AtomicUsize>,
}

const GROUP: usize = 1024;
/// How long the writer waits for one more check before it commits the group (measured at 1 M
/// organisations: 500 µs idled the writer, 50 µs made groups too small).
const LINGER: Duration = Duration::from_micros(150);

impl CheckLog {
    /// Starts the writer thread on the platform store. `in_flight` counts the requests the
    /// server is handling: a group is committed as soon as every one of them is waiting in it.
    pub fn start(platform: Arc<Store>, in_flight: Arc<AtomicUsize>) -> CheckLog {
        let (tx, rx) = mpsc::channel::<Job>();
        let queue = Arc::new(AtomicUsize::new(0));
        let q = queue.clone();
        std::thread::Builder::new()
            .name("xy-checks".into())
            .spawn(move || writer(platform, rx, in_flight, q))
            .expect("spawn check writer");
        CheckLog { tx, queue }
    }

    /// Records a check with its audit entry (a check is a sensitive read) and waits until both
    /// are committed; returns the check's number.
    pub async fn record(&self, row: CheckRow, audit: NewAuditEntry) -> Result<i64, StoreError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.queue.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(Job { row, audit, reply }).is_err() {
            self.queue.fetch_sub(1, Ordering::Relaxed);
            return Err(StoreError::Refused("核查记录写入线程已停止".into()));
        }
        rx.await
            .map_err(|_| StoreError::Refused("核查记录写入线程已停止".into()))?
            .map_err(StoreError::Refused)
    }
}

fn writer(
    store: Arc<Store>,
    rx: Receiver<Job>,
    in_flight: Arc<AtomicUsize>,
    queue: Arc<AtomicUsize>,
) {
    while let Ok(first) = rx.recv() {
        let jobs = store.gather_group(&rx, first, GROUP, LINGER, &in_flight);
        let mut rows = Vec::with_capacity(jobs.len());
        let mut audit = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        for j in jobs {
            rows.push(j.row);
            audit.push(j.audit);
            replies.push(j.reply);
        }
        let result = store.record_checks_audited(&rows, &mut audit, chrono::Utc::now());
        queue.fetch_sub(replies.len(), Ordering::Relaxed);
        match result {
            Ok(ids) => {
                for (reply, id) in replies.into_iter().zip(ids) {
                    let _ = reply.send(Ok(id));
                }
            }
            // One check the store refuses must not fail those gathered with it: written
            // again one at a time.
            Err(_) if rows.len() > 1 => {
                for ((row, entry), reply) in rows.into_iter().zip(audit).zip(replies) {
                    let mut one = vec![entry];
                    let r = store
                        .record_checks_audited(
                            std::slice::from_ref(&row),
                            &mut one,
                            chrono::Utc::now(),
                        )
                        .map(|ids| ids.first().copied().unwrap_or_default())
                        .map_err(|e| e.to_string());
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(msg.clone()));
                }
            }
        }
    }
}
