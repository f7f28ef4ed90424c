//! Typed internal events (in the manner of Vector's): one per notable outcome of a request.
//! Each is counted in the client's [`Stats`] and handed to the client's sink (the callback,
//! which then logs it, with the job's other events, through [`Event::log`]); a client without
//! a sink logs its events itself. Either way an event is logged once.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::retry::RetryReason;

/// Something that happened to a request.
#[derive(Clone, Debug)]
pub enum Event {
    /// An attempt got an answer (any status) or failed without one (`status` 0).
    RequestDone {
        /// The endpoint label, e.g. `GET /wiki/api/v2/pages/{id}/versions`.
        endpoint: String,
        status: u16,
        elapsed: Duration,
        attempt: u32,
    },
    /// A 429: the site's bucket is paused for `pause`.
    RateLimited {
        endpoint: String,
        retry_after: Option<Duration>,
        pause: Duration,
    },
    /// Attempt `attempt` failed for `reason`; the next starts after `delay`.
    Retried {
        endpoint: String,
        attempt: u32,
        reason: RetryReason,
        delay: Duration,
    },
    /// The service says the quota is nearly used up (`X-RateLimit-NearLimit: true`, or its
    /// `X-Beta-` form): a sign to slow down before the 429s start.
    NearLimit { endpoint: String },
    /// The retry policy gave up after `attempts` attempts.
    GaveUp {
        endpoint: String,
        attempts: u32,
        reason: String,
    },
}

impl Event {
    /// The event's kind, as logs and counts name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::RequestDone { .. } => "request_done",
            Event::RateLimited { .. } => "rate_limited",
            Event::Retried { .. } => "retried",
            Event::NearLimit { .. } => "near_limit",
            Event::GaveUp { .. } => "gave_up",
        }
    }

    /// One line for a run log: `None` for a routine answer, otherwise what happened and to
    /// which endpoint (429 pauses, retries, near-limit answers, give-ups).
    pub fn summary(&self) -> Option<String> {
        match self {
            Event::RequestDone { .. } => None,
            Event::RateLimited {
                endpoint,
                retry_after,
                pause,
            } => Some(match retry_after {
                Some(r) => format!(
                    "{endpoint}: rate limited (429, Retry-After {} ms); the site's requests pause {} ms",
                    r.as_millis(),
                    pause.as_millis()
                ),
                None => format!(
                    "{endpoint}: rate limited (429); the site's requests pause {} ms",
                    pause.as_millis()
                ),
            }),
            Event::Retried {
                endpoint,
                attempt,
                reason,
                delay,
            } => Some(format!(
                "{endpoint}: attempt {attempt} failed ({reason}); retrying in {} ms",
                delay.as_millis()
            )),
            Event::NearLimit { endpoint } => Some(format!(
                "{endpoint}: the service's rate limit is nearly reached"
            )),
            Event::GaveUp {
                endpoint,
                attempts,
                reason,
            } => Some(format!(
                "{endpoint}: gave up after {attempts} attempts: {reason}"
            )),
        }
    }

    /// Logs the event (debug for routine answers, info for 429s, retries and give-ups: the
    /// failure itself reaches the user once, as the caller's error or a report entry). Each
    /// line carries the event's kind as `event`.
    pub fn log(&self) {
        let event = self.kind();
        match self {
            Event::RequestDone {
                endpoint,
                status,
                elapsed,
                attempt,
            } => tracing::debug!(
                event,
                endpoint = endpoint.as_str(),
                status,
                elapsed_ms = elapsed.as_millis() as u64,
                attempt,
                "request done"
            ),
            Event::RateLimited {
                endpoint,
                retry_after,
                pause,
            } => tracing::info!(
                event,
                endpoint = endpoint.as_str(),
                retry_after_ms = retry_after.map(|d| d.as_millis() as u64),
                pause_ms = pause.as_millis() as u64,
                "rate limited: the site's requests pause"
            ),
            Event::Retried {
                endpoint,
                attempt,
                reason,
                delay,
            } => tracing::info!(
                event,
                endpoint = endpoint.as_str(),
                attempt,
                reason = %reason,
                delay_ms = delay.as_millis() as u64,
                "retrying"
            ),
            Event::NearLimit { endpoint } => tracing::info!(
                event,
                endpoint = endpoint.as_str(),
                "the service's rate limit is nearly reached"
            ),
            Event::GaveUp {
                endpoint,
                attempts,
                reason,
                // Info, not warn: the failure itself reaches the user once, as the caller's error
                // or a report entry; a warning here would say it twice.
            } => tracing::info!(
                event,
                endpoint = endpoint.as_str(),
                attempts,
                reason = reason.as_str(),
                "gave up"
            ),
        }
    }
}

/// Counters of one client (one site), cheap to update from many tasks.
#[derive(Default)]
pub struct Stats {
    requests: AtomicU64,
    rate_limited: AtomicU64,
    retries: AtomicU64,
    gave_up: AtomicU64,
    near_limit: AtomicU64,
    by_endpoint: Mutex<BTreeMap<String, BTreeMap<u16, u64>>>,
}

/// A copy of the counters, serialisable as JSON.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Attempts sent (retries included).
    pub requests: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Attempts that were retried.
    pub retries: u64,
    /// Requests the policy gave up on.
    pub gave_up: u64,
    /// Answers that said the rate limit was nearly reached.
    pub near_limit: u64,
    /// Attempts per endpoint label and status (0: no answer).
    pub by_endpoint: BTreeMap<String, BTreeMap<u16, u64>>,
}

impl StatsSnapshot {
    /// Attempts on one endpoint label, all statuses.
    pub fn requests_for(&self, endpoint: &str) -> u64 {
        self.by_endpoint
            .get(endpoint)
            .map(|m| m.values().sum())
            .unwrap_or(0)
    }

    /// Attempts that got `status`, all endpoints.
    pub fn with_status(&self, status: u16) -> u64 {
        self.by_endpoint
            .values()
            .filter_map(|m| m.get(&status))
            .sum()
    }
}

impl Stats {
    pub(crate) fn record(&self, event: &Event) {
        match event {
            Event::RequestDone {
                endpoint, status, ..
            } => {
                self.requests.fetch_add(1, Ordering::Relaxed);
                let mut m = self.by_endpoint.lock().unwrap_or_else(|e| e.into_inner());
                *m.entry(endpoint.clone())
                    .or_default()
                    .entry(*status)
                    .or_default() += 1;
            }
            Event::RateLimited { .. } => {
                self.rate_limited.fetch_add(1, Ordering::Relaxed);
            }
            Event::Retried { .. } => {
                self.retries.fetch_add(1, Ordering::Relaxed);
            }
            Event::GaveUp { .. } => {
                self.gave_up.fetch_add(1, Ordering::Relaxed);
            }
            Event::NearLimit { .. } => {
                self.near_limit.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            gave_up: self.gave_up.load(Ordering::Relaxed),
            near_limit: self.near_limit.load(Ordering::Relaxed),
            by_endpoint: self
                .by_endpoint
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// The counters as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.snapshot()).unwrap_or(serde_json::Value::Null)
    }
}
