//! The shared limiter of one site: a token bucket (requests per second with a burst) and a
//! semaphore bounding the requests in flight. It runs on `tokio::time`, so tests can pause
//! time; a 429 pauses the whole bucket until its `Retry-After` has passed.
//!
//! The bucket is kept as a GCRA "theoretical arrival time": each caller reserves the next free
//! slot and sleeps until it, so waiters are served in order without polling.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Rate and concurrency of one site.
#[derive(Clone, Debug)]
pub struct LimiterConfig {
    /// Sustained requests per second (every attempt counts). Must be > 0.
    pub rate: f64,
    /// Requests that may go at once after a quiet period (at least 1).
    pub burst: u32,
    /// Requests in flight at most (at least 1).
    pub concurrency: usize,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        LimiterConfig {
            rate: 10.0,
            burst: 10,
            concurrency: 4,
        }
    }
}

struct Bucket {
    /// Seconds between two requests at the sustained rate.
    interval: Duration,
    /// How far ahead of the sustained rate a burst may run.
    tolerance: Duration,
    /// The theoretical arrival time of the next request.
    tat: Instant,
    /// No request starts before this instant (set by a 429).
    paused_until: Option<Instant>,
}

/// A limiter shared by every request to one site (clone the [`crate::Client`], not this).
pub struct Limiter {
    bucket: Mutex<Bucket>,
    slots: Arc<Semaphore>,
}

/// The right to send one request: holds a concurrency slot until dropped.
pub struct Permit {
    _slot: OwnedSemaphorePermit,
}

impl Limiter {
    pub fn new(cfg: &LimiterConfig) -> Limiter {
        let rate = if cfg.rate.is_finite() && cfg.rate > 0.0 {
            cfg.rate
        } else {
            1.0
        };
        let interval = Duration::from_secs_f64(1.0 / rate);
        let burst = cfg.burst.max(1);
        Limiter {
            bucket: Mutex::new(Bucket {
                interval,
                tolerance: interval * (burst - 1),
                tat: Instant::now(),
                paused_until: None,
            }),
            slots: Arc::new(Semaphore::new(cfg.concurrency.max(1))),
        }
    }

    /// Waits for a concurrency slot, then for a token (and for any pause to end).
    pub async fn acquire(&self) -> Permit {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the limiter's semaphore is never closed");
        loop {
            let at = self.reserve();
            tokio::time::sleep_until(at).await;
            // A 429 may have paused the bucket while this caller slept on an earlier slot.
            let paused = self.lock().paused_until;
            match paused {
                Some(until) if until > Instant::now() => continue,
                _ => return Permit { _slot: slot },
            }
        }
    }

    /// Reserves the next slot and returns when it starts.
    fn reserve(&self) -> Instant {
        let mut b = self.lock();
        let now = Instant::now();
        let mut tat = b.tat.max(now);
        if let Some(until) = b.paused_until {
            if until > now {
                tat = tat.max(until);
            } else {
                b.paused_until = None;
            }
        }
        let earliest = b.paused_until.unwrap_or(now).max(now);
        let start = tat.checked_sub(b.tolerance).unwrap_or(now).max(earliest);
        b.tat = tat + b.interval;
        start
    }

    /// Stops every request of the site until `delay` from now has passed (a 429's
    /// `Retry-After`). A longer pause already in force is kept.
    pub fn pause_for(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut b = self.lock();
        if b.paused_until.is_none_or(|p| p < until) {
            b.paused_until = Some(until);
        }
        // The bucket restarts empty after the pause, not with a burst saved up during it.
        let refill = until + b.tolerance;
        if b.tat < refill {
            b.tat = refill;
        }
    }

    /// When the current pause ends, if one is in force.
    pub fn paused_until(&self) -> Option<Instant> {
        let b = self.lock();
        b.paused_until.filter(|p| *p > Instant::now())
    }

    /// Requests that could start now without waiting for a slot.
    pub fn free_slots(&self) -> usize {
        self.slots.available_permits()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Bucket> {
        // A panic while holding this lock cannot leave the bucket inconsistent.
        self.bucket.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_sustained_rate() {
        let l = Limiter::new(&LimiterConfig {
            rate: 2.0,
            burst: 3,
            concurrency: 10,
        });
        let t0 = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..6 {
            let _p = l.acquire().await;
            starts.push(Instant::now() - t0);
        }
        let ms: Vec<u128> = starts.iter().map(|d| d.as_millis()).collect();
        // Three at once, then one every 500 ms.
        assert_eq!(ms, vec![0, 0, 0, 500, 1000, 1500]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_everyone() {
        let l = Limiter::new(&LimiterConfig {
            rate: 100.0,
            burst: 100,
            concurrency: 10,
        });
        let t0 = Instant::now();
        l.pause_for(Duration::from_secs(3));
        let _p = l.acquire().await;
        assert_eq!((Instant::now() - t0).as_secs(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_bounded() {
        let l = Arc::new(Limiter::new(&LimiterConfig {
            rate: 1000.0,
            burst: 1000,
            concurrency: 2,
        }));
        let a = l.acquire().await;
        let _b = l.acquire().await;
        assert_eq!(l.free_slots(), 0);
        drop(a);
        assert_eq!(l.free_slots(), 1);
    }
}
