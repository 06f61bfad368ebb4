//! Rate limits: a token bucket per key (API token, account, or client address), refilled
//! continuously; an empty bucket answers 429 with `Retry-After`. In memory, per replica.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Default)]
pub struct RateLimiter(Mutex<HashMap<String, (f64, Instant)>>);

impl RateLimiter {
    /// Takes one request from `key`'s bucket of `per_minute`; `Err(seconds to wait)` when empty.
    pub fn take(&self, key: &str, per_minute: u32) -> Result<(), u64> {
        let cap = per_minute.max(1) as f64;
        let rate = cap / 60.0;
        let now = Instant::now();
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 200_000 {
            m.retain(|_, (tokens, at)| *tokens < cap || now.duration_since(*at).as_secs() < 60);
        }
        let (tokens, at) = m.entry(key.to_string()).or_insert((cap, now));
        let refill = now.duration_since(*at).as_secs_f64() * rate;
        *tokens = (*tokens + refill).min(cap);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
