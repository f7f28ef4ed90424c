//! The retry policy: what is retried, after how long, and when to give up.
//!
//! - 429 and 503: the service's `Retry-After` (seconds or an HTTP date) or `Beta-Retry-After`;
//!   without one, exponential backoff with full jitter (a random delay between 0 and
//!   `base · 2^(attempt-1)`, capped at [`RetryPolicy::cap`]). A 429 also pauses the site's
//!   whole bucket.
//! - Other 5xx (except 501 Not Implemented) and 408: linear backoff (`step · attempt`, capped).
//! - Connection failures, resets, bodies cut short and timeouts: exponential with full jitter.
//! - Every other 4xx (and 501): no retry, a typed error at once.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// How often and how long to retry. `Default` suits a long extraction: 8 attempts, 15 minutes.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (1 = never retry).
    pub max_attempts: u32,
    /// No new attempt starts once this much time has passed since the first one.
    pub max_elapsed: Duration,
    /// First step of the exponential backoff.
    pub base: Duration,
    /// Step of the linear backoff (other 5xx).
    pub step: Duration,
    /// No computed delay is longer than this (60 s). A `Retry-After` is honoured up to
    /// [`RetryPolicy::max_retry_after`].
    pub cap: Duration,
    /// A `Retry-After` longer than this is taken as this.
    pub max_retry_after: Duration,
    /// Seed of the jitter generator (`None`: from the clock).
    pub jitter_seed: Option<u64>,
    /// Attempts in all for a failed connection (refused, timed out) while the site has not
    /// answered once yet: a wrong URL shows in a second or two instead of after the whole
    /// policy. Once the site has answered, connection failures get `max_attempts`. A name that
    /// does not resolve, or TLS to a plain-HTTP server, is not retried before a first answer.
    pub cold_connect_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            max_elapsed: Duration::from_secs(15 * 60),
            base: Duration::from_millis(500),
            step: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(15 * 60),
            jitter_seed: None,
            cold_connect_attempts: 3,
        }
    }
}

/// Why an attempt is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryReason {
    /// 429 Too Many Requests.
    RateLimited,
    /// 503 Service Unavailable.
    Unavailable,
    /// Another retryable status (other 5xx, 408).
    ServerError(u16),
    /// Connection failure, reset or cut body.
    Transport,
    /// The request timed out.
    Timeout,
}

impl std::fmt::Display for RetryReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RetryReason::RateLimited => f.write_str("429 rate limited"),
            RetryReason::Unavailable => f.write_str("503 unavailable"),
            RetryReason::ServerError(s) => write!(f, "{s} server error"),
            RetryReason::Transport => f.write_str("connection failed"),
            RetryReason::Timeout => f.write_str("timed out"),
        }
    }
}

/// Whether a status is retried, and why.
pub fn classify_status(status: u16) -> Option<RetryReason> {
    match status {
        429 => Some(RetryReason::RateLimited),
        503 => Some(RetryReason::Unavailable),
        501 => None,
        408 | 500..=599 => Some(RetryReason::ServerError(status)),
        _ => None,
    }
}

/// The delay a response asks for: `Retry-After`, else `Beta-Retry-After`, as whole (or
/// fractional) seconds or an HTTP date. A date in the past means no wait.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    for name in ["retry-after", "beta-retry-after"] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok())
            && let Some(d) = parse_retry_after(v, SystemTime::now())
        {
            return Some(d);
        }
    }
    None
}

/// Parses one `Retry-After` value (seconds or an HTTP date) relative to `now`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
        return None;
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1`, after attempt `attempt` (1-based) failed for
    /// `reason`, given the `Retry-After` the answer carried.
    pub fn delay(
        &self,
        reason: RetryReason,
        attempt: u32,
        retry_after: Option<Duration>,
        jitter: &Jitter,
    ) -> Duration {
        match reason {
            RetryReason::RateLimited | RetryReason::Unavailable => match retry_after {
                Some(d) => d.min(self.max_retry_after),
                None => self.exponential(attempt, jitter),
            },
            RetryReason::ServerError(_) => match retry_after {
                Some(d) => d.min(self.max_retry_after),
                None => (self.step * attempt).min(self.cap),
            },
            RetryReason::Transport | RetryReason::Timeout => self.exponential(attempt, jitter),
        }
    }

    /// Full jitter: uniform in `[0, min(cap, base · 2^(attempt-1))]`.
    fn exponential(&self, attempt: u32, jitter: &Jitter) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let ceiling = self
            .base
            .checked_mul(1u32 << exp)
            .unwrap_or(self.cap)
            .min(self.cap);
        ceiling.mul_f64(jitter.unit())
    }
}

/// A small seeded generator for jitter (SplitMix64), so kb-http needs no `rand`.
pub struct Jitter(Mutex<u64>);

impl Jitter {
    /// A generator from `seed` (`None`: from the clock).
    pub fn new(seed: Option<u64>) -> Jitter {
        let seed = seed.unwrap_or_else(|| {
            let t = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            t ^ (&t as *const u64 as u64)
        });
        Jitter(Mutex::new(seed))
    }

    fn next(&self) -> u64 {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 1.5 ", now),
            Some(Duration::from_millis(1500))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(42));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(42))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(42));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn beta_retry_after_is_read_when_retry_after_is_absent() {
        let mut h = HeaderMap::new();
        h.insert("beta-retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
    }

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify_status(429), Some(RetryReason::RateLimited));
        assert_eq!(classify_status(503), Some(RetryReason::Unavailable));
        assert_eq!(classify_status(502), Some(RetryReason::ServerError(502)));
        assert_eq!(classify_status(501), None);
        for s in [400, 401, 403, 404, 409, 422] {
            assert_eq!(classify_status(s), None, "{s}");
        }
    }

    #[test]
    fn backoff_is_jittered_capped_and_linear_for_5xx() {
        let p = RetryPolicy::default();
        let j = Jitter::new(Some(1));
        for attempt in 1..40 {
            let d = p.delay(RetryReason::RateLimited, attempt, None, &j);
            assert!(d <= p.cap, "{d:?}");
            let ceiling = p.base.saturating_mul(1 << (attempt - 1).min(30)).min(p.cap);
            assert!(d <= ceiling, "attempt {attempt}: {d:?} > {ceiling:?}");
        }
        assert_eq!(
            p.delay(RetryReason::ServerError(500), 3, None, &j),
            Duration::from_secs(3)
        );
        assert_eq!(p.delay(RetryReason::ServerError(500), 100, None, &j), p.cap);
        assert_eq!(
            p.delay(
                RetryReason::RateLimited,
                1,
                Some(Duration::from_secs(9)),
                &j
            ),
            Duration::from_secs(9)
        );
        // The jitter spreads: not every draw is the same.
        let draws: std::collections::BTreeSet<u128> = (0..20)
            .map(|_| p.delay(RetryReason::Transport, 5, None, &j).as_micros())
            .collect();
        assert!(draws.len() > 10);
    }
}
