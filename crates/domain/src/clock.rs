//! Time as the platform sees it: China Standard Time (UTC+8), behind a trait the tests can set.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// Today's date in Beijing time.
    fn today(&self) -> NaiveDate {
        beijing(self.now()).date_naive()
    }
}

pub fn beijing(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    t.with_timezone(&cst)
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// To the microsecond, as both stores keep a time: an answer given at once (nanoseconds)
    /// and the same thing read back later (microseconds) showed two different times.
    fn now(&self) -> DateTime<Utc> {
        use chrono::SubsecRound;
        Utc::now().trunc_subsecs(6)
    }
}

/// A clock the tests move by hand.
#[derive(Debug)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn at(t: DateTime<Utc>) -> Self {
        FixedClock(AtomicI64::new(t.timestamp_micros()))
    }
    /// Noon, Beijing time, on the given day.
    pub fn on(day: NaiveDate) -> Self {
        let t = day
            .and_hms_opt(4, 0, 0)
            .map(|n| n.and_utc())
            .unwrap_or_default();
        Self::at(t)
    }
    pub fn set(&self, t: DateTime<Utc>) {
        self.0.store(t.timestamp_micros(), Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.0.load(Ordering::SeqCst)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::{Clock, SystemClock};

    #[test]
    fn the_system_clock_reads_to_the_microsecond() {
        let t = SystemClock.now();
        assert_eq!(t.timestamp_subsec_nanos() % 1000, 0, "{t:?}");
    }
}
