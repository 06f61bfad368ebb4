//! The scheduler's jobs table. A job is unique by kind and key, so enqueueing it twice is
//! harmless; it is claimed with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so replicas never
//! take the same job; SQLite: the single writer), and it is finished in the same transaction as
//! its effects, by the runner that holds the lease — so its effects happen once, and a job whose
//! runner died is taken again when the lease runs out.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::cases::NewJob;
use crate::conn::{Conn, Val, skip_locked};
use crate::{Store, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub job_id: i64,
    pub kind: String,
    pub key: String,
    pub payload: String,
    pub attempts: i64,
}

pub(crate) fn enqueue(
    c: &mut dyn Conn,
    j: &NewJob,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "INSERT INTO jobs (kind, job_key, payload, run_at, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (kind, job_key) DO NOTHING",
        &[
            j.kind.into(),
            j.key.as_str().into(),
            j.payload.as_str().into(),
            j.run_at.into(),
            now.into(),
        ],
    )?;
    Ok(n == 1)
}

impl Store {
    /// Enqueues a job unless one of that kind and key exists (pending, running or done).
    pub fn enqueue_job(&self, j: &NewJob, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.write(|c| enqueue(c, j, now))
    }

    /// Claims up to `limit` due jobs for `worker` until `lease_until`: pending ones whose time has
    /// come, and running ones whose runner's lease ran out.
    pub fn claim_jobs(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError> {
        self.write(|c| {
            let lock = skip_locked(c);
            let rows = c.query(
                &format!(
                    "SELECT job_id, kind, job_key, payload, attempts FROM jobs
                     WHERE (state = 'pending' AND run_at <= $1)
                        OR (state = 'running' AND locked_until < $1)
                     ORDER BY run_at, job_id LIMIT $2{lock}"
                ),
                &[now.into(), Val::Int(limit)],
            )?;
            let mut out = Vec::new();
            for r in &rows {
                let id = r.i64(0)?;
                c.execute(
                    "UPDATE jobs SET state = 'running', locked_by = $1, locked_until = $2,
                        attempts = attempts + 1
                     WHERE job_id = $3",
                    &[worker.into(), lease_until.into(), Val::Int(id)],
                )?;
                out.push(Job {
                    job_id: id,
                    kind: r.text(1)?,
                    key: r.text(2)?,
                    payload: r.text(3)?,
                    attempts: r.i64(4)? + 1,
                });
            }
            Ok(out)
        })
    }

    /// Runs `effects` and marks the job done in one transaction, if `worker` still holds it.
    /// When the lease was lost (another runner took the job), nothing is written.
    pub fn finish_job<T>(
        &self,
        job_id: i64,
        worker: &str,
        now: DateTime<Utc>,
        effects: impl FnOnce(&mut dyn Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write(|c| {
            let n = c.execute(
                "UPDATE jobs SET state = 'done', done_at = $1, locked_until = NULL
                 WHERE job_id = $2 AND locked_by = $3 AND state = 'running'",
                &[now.into(), Val::Int(job_id), worker.into()],
            )?;
            if n != 1 {
                return Err(StoreError::Refused(format!(
                    "job {job_id} is no longer held by {worker}"
                )));
            }
            effects(c)
        })
    }

    /// A job failed: tried again at `retry_at`, or given up (None).
    pub fn fail_job(
        &self,
        job_id: i64,
        worker: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "UPDATE jobs SET state = $1, run_at = COALESCE($2, run_at), last_error = $3,
                    locked_by = NULL, locked_until = NULL
                 WHERE job_id = $4 AND locked_by = $5 AND state = 'running'",
                &[
                    if retry_at.is_some() {
                        "pending"
                    } else {
                        "failed"
                    }
                    .into(),
                    retry_at.into(),
                    error.into(),
                    Val::Int(job_id),
                    worker.into(),
                ],
            )?;
            Ok(())
        })
    }

    /// Job counts by kind and state (metrics and the console).
    pub fn job_counts(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state ORDER BY kind, state",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.text(0)?, r.text(1)?, r.i64(2)?)))
            .collect()
        })
    }
}
