//! Joint reward and punishment (联合奖惩), the heart of credit-based supervision: before a
//! department licenses, funds, procures from or honours a subject it checks it (逢办必查), and
//! applies the measures the subject's list entries carry.
//!
//! - [`index`]: the list entries in force, in memory, kept current from the store.
//! - [`check`]: one check — verdict, measures with their basis, the entries behind them, the
//!   subject's legal representative when the matter says so, exceptions.
//! - [`log`]: checks recorded in groups, each durable before its answer leaves.
//! - [`batch`]: batch review of up to a million codes, with a result line for every input line;
//!   [`xlsx`] writes its result workbook, [`par`] spreads its work over the cores.
//! - [`alerts`]: triggered alerts for subscribed subjects, delivered by signed webhooks with
//!   retries.
//!
//! The measures themselves are data (`data/measures.toml`, `domain::measures`).

pub mod alerts;
pub mod batch;
pub mod check;
pub mod index;
pub mod log;
pub mod par;
pub mod xlsx;

pub use check::{CheckError, CheckResult, Checker, Names};
pub use index::ListIndex;
pub use log::CheckLog;

/// A day in Beijing time, as the platform shows dates.
pub fn beijing_day(t: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
    domain::clock::beijing(t).date_naive()
}
