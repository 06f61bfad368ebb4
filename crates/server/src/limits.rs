//! Rate limits: a token bucket per key (API token, account, or client address), refilled
//! continuously; an empty bucket answers 429 with `Retry-After`. In memory, per replica.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A bucket refills completely within a minute (its rate is its capacity per minute), so one
/// idle that long is the same as none: it can be forgotten.
const FULL_AFTER: Duration = Duration::from_secs(60);
/// Buckets kept before idle ones are swept out …
const SWEEP_ABOVE: usize = 200_000;
/// … at most this often, so that a flood of distinct addresses, all active, does not make
/// every request scan them all.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct RateLimiter(Mutex<Buckets>);

#[derive(Default)]
struct Buckets {
    by_key: HashMap<String, (f64, Instant)>,
    swept: Option<Instant>,
}

impl RateLimiter {
    /// Takes one request from `key`'s bucket of `per_minute`; `Err(seconds to wait)` when empty.
    pub fn take(&self, key: &str, per_minute: u32) -> Result<(), u64> {
        self.take_at(key, per_minute, Instant::now())
    }

    fn take_at(&self, key: &str, per_minute: u32, now: Instant) -> Result<(), u64> {
        let cap = per_minute.max(1) as f64;
        let rate = cap / 60.0;
        let mut b = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if b.by_key.len() > SWEEP_ABOVE
            && b.swept
                .is_none_or(|t| now.saturating_duration_since(t) >= SWEEP_EVERY)
        {
            b.by_key
                .retain(|_, (_, at)| now.saturating_duration_since(*at) < FULL_AFTER);
            b.swept = Some(now);
        }
        let (tokens, at) = b.by_key.entry(key.to_string()).or_insert((cap, now));
        let refill = now.saturating_duration_since(*at).as_secs_f64() * rate;
        *tokens = (*tokens + refill).min(cap);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_key
            .len()
    }
}

/// Failed logins per client address within a window: an address that failed this often is
/// refused further tries until the window ends. The per-account lock alone let one anonymous
/// script keep every account — the administrator's and the auditor's too — locked, five wrong
/// passwords each, a quarter of an hour at a time.
#[derive(Default)]
pub struct FailureWindow(Mutex<HashMap<String, (u32, Instant)>>);

impl FailureWindow {
    /// Seconds until `key` may try again, when it failed `limit` times within `window`.
    pub fn blocked(&self, key: &str, limit: u32, window: Duration) -> Option<u64> {
        self.blocked_at(key, limit, window, Instant::now())
    }

    fn blocked_at(&self, key: &str, limit: u32, window: Duration, now: Instant) -> Option<u64> {
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (n, since) = m.get(key)?;
        let left = window.saturating_sub(now.saturating_duration_since(*since));
        (*n >= limit && !left.is_zero()).then(|| left.as_secs().max(1))
    }

    /// Counts a failure of `key`; a window that has run out starts again.
    pub fn failed(&self, key: &str, window: Duration) {
        self.failed_at(key, window, Instant::now());
    }

    fn failed_at(&self, key: &str, window: Duration, now: Instant) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > SWEEP_ABOVE {
            m.retain(|_, (_, since)| now.saturating_duration_since(*since) < window);
        }
        let e = m.entry(key.to_string()).or_insert((0, now));
        if now.saturating_duration_since(e.1) >= window {
            *e = (0, now);
        }
        e.0 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_that_failed_too_often_waits_out_its_window() {
        let w = FailureWindow::default();
        let (t0, win) = (Instant::now(), Duration::from_secs(900));
        for _ in 0..3 {
            assert_eq!(w.blocked_at("a", 3, win, t0), None);
            w.failed_at("a", win, t0);
        }
        let wait = w.blocked_at("a", 3, win, t0 + Duration::from_secs(100));
        assert_eq!(wait, Some(800));
        assert_eq!(w.blocked_at("b", 3, win, t0), None);
        // The window over, the address starts again.
        let later = t0 + win;
        assert_eq!(w.blocked_at("a", 3, win, later), None);
        w.failed_at("a", win, later);
        assert_eq!(w.blocked_at("a", 3, win, later), None);
    }

    #[test]
    fn a_bucket_empties_and_says_how_long_to_wait() {
        let l = RateLimiter::default();
        for _ in 0..5 {
            l.take("k", 5).unwrap();
        }
        let wait = l.take("k", 5).unwrap_err();
        assert!((1..=12).contains(&wait), "{wait}");
        l.take("other", 5).unwrap();
    }

    /// Addresses seen once are forgotten once their buckets would be full again, however many
    /// came (before, a bucket used once was kept for ever, and every request then scanned them
    /// all), while a bucket still refilling is kept.
    #[test]
    fn buckets_idle_for_a_minute_are_forgotten_and_busy_ones_kept() {
        let l = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..=SWEEP_ABOVE {
            l.take_at(&format!("ip{i}"), 600, t0).unwrap();
        }
        // An address that empties its bucket a minute later (its first request sweeps: the
        // others are 59 s idle, not yet full, and stay).
        let late = t0 + FULL_AFTER - Duration::from_secs(1);
        for _ in 0..3 {
            l.take_at("busy", 3, late).unwrap();
        }
        assert_eq!(l.len(), SWEEP_ABOVE + 2);
        // The next sweep may come only after SWEEP_EVERY; by then the first ones are full.
        l.take_at("new", 600, late + SWEEP_EVERY).unwrap();
        assert_eq!(l.len(), 2, "only the busy bucket and the new one are left");
        assert!(l.take_at("busy", 3, late + SWEEP_EVERY).is_err());
    }
}
