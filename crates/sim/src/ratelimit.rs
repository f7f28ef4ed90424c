//! Per-endpoint burst limits, as Confluence Cloud applies to API-token traffic: one token bucket
//! per (method, route template). A request that finds its bucket empty answers 429 with
//! `Retry-After` (whole seconds) and `X-RateLimit-Reset`; every limited answer carries
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining` and, below 20 % left, `X-RateLimit-NearLimit`.
//!
//! Spec syntax (`--rate-limit`): comma-separated `KEY=RATE[/BURST]`, where KEY is a method
//! (`get`, `post`, `put`, `delete`, or `all`) or `METHOD:/route/template` for one endpoint
//! (`GET:/wiki/api/v2/pages`), RATE is requests per second and BURST the bucket size (default:
//! one second's worth). `realistic` is Atlassian's documented burst: GET and POST 100/s, PUT and
//! DELETE 50/s per endpoint.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limit {
    pub per_second: f64,
    pub burst: u32,
}

impl Limit {
    /// `RATE[/BURST]`: requests per second and bucket size (default one second's worth).
    pub fn parse(s: &str) -> Result<Limit, &'static str> {
        let (rate, burst) = match s.split_once('/') {
            Some((r, b)) => (r, Some(b)),
            None => (s, None),
        };
        let per_second: f64 = rate
            .trim()
            .parse()
            .map_err(|_| "the rate is not a number")?;
        if !(per_second > 0.0 && per_second.is_finite()) {
            return Err("the rate must be more than 0");
        }
        let burst = match burst {
            Some(b) => b
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|b| *b > 0)
                .ok_or("the burst must be a whole number above 0")?,
            None => (per_second.ceil() as u32).max(1),
        };
        Ok(Limit { per_second, burst })
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RateLimits {
    /// Method (upper case, or `*`) → limit.
    pub methods: Vec<(String, Limit)>,
    /// (method, route template) → limit; wins over `methods`.
    pub routes: Vec<(String, String, Limit)>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "bad rate limit {entry:?}: {why} (expected e.g. get=100,put=50/10 or GET:/wiki/api/v2/pages=5)"
)]
pub struct RateLimitError {
    pub entry: String,
    pub why: String,
}

impl FromStr for RateLimits {
    type Err = RateLimitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = RateLimits::default();
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let err = |why: &str| RateLimitError {
                entry: entry.into(),
                why: why.into(),
            };
            if entry == "realistic" {
                for (m, r) in [
                    ("GET", 100.0),
                    ("POST", 100.0),
                    ("PUT", 50.0),
                    ("DELETE", 50.0),
                ] {
                    out.methods.push((
                        m.into(),
                        Limit {
                            per_second: r,
                            burst: r as u32,
                        },
                    ));
                }
                continue;
            }
            let (key, val) = entry.rsplit_once('=').ok_or_else(|| err("missing '='"))?;
            let limit = Limit::parse(val).map_err(err)?;
            match key.split_once(':') {
                Some((m, route)) if route.starts_with('/') => {
                    out.routes
                        .push((m.trim().to_ascii_uppercase(), route.trim().into(), limit))
                }
                Some(_) => return Err(err("a route must start with /")),
                None => {
                    let m = key.trim().to_ascii_uppercase();
                    let m = if m == "ALL" { "*".to_string() } else { m };
                    if !matches!(
                        m.as_str(),
                        "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "*"
                    ) {
                        return Err(err("unknown method"));
                    }
                    out.methods.push((m, limit));
                }
            }
        }
        Ok(out)
    }
}

impl RateLimits {
    pub fn is_empty(&self) -> bool {
        self.methods.is_empty() && self.routes.is_empty()
    }

    pub fn limit_for(&self, method: &str, route: &str) -> Option<Limit> {
        self.routes
            .iter()
            .find(|(m, r, _)| m == method && r == route)
            .map(|x| x.2)
            .or_else(|| self.methods.iter().find(|(m, _)| m == method).map(|x| x.1))
            .or_else(|| self.methods.iter().find(|(m, _)| m == "*").map(|x| x.1))
    }
}

/// The verdict on one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Until a token is back (0 when allowed).
    pub retry_after: Duration,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets for a [`RateLimits`] configuration.
pub struct Limiter {
    pub limits: Mutex<RateLimits>,
    buckets: Mutex<HashMap<(String, String), Bucket>>,
}

impl Limiter {
    pub fn new(limits: RateLimits) -> Limiter {
        Limiter {
            limits: Mutex::new(limits),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn set(&self, limits: RateLimits) {
        *self.limits.lock().unwrap_or_else(|e| e.into_inner()) = limits;
        self.reset();
    }

    pub fn reset(&self) {
        self.buckets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Takes a token for `method route`, if the endpoint is limited at all.
    pub fn check(&self, method: &str, route: &str) -> Option<Verdict> {
        let limit = self
            .limits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .limit_for(method, route)?;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = buckets
            .entry((method.to_string(), route.to_string()))
            .or_insert(Bucket {
                tokens: limit.burst as f64,
                last: now,
            });
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * limit.per_second).min(limit.burst as f64);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Some(Verdict {
                allowed: true,
                limit: limit.burst,
                remaining: b.tokens.floor() as u32,
                retry_after: Duration::ZERO,
            })
        } else {
            let wait = (1.0 - b.tokens) / limit.per_second;
            Some(Verdict {
                allowed: false,
                limit: limit.burst,
                remaining: 0,
                retry_after: Duration::from_secs_f64(wait),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        let r: RateLimits = "get=100,put=50/10,GET:/wiki/api/v2/pages=5"
            .parse()
            .unwrap();
        assert_eq!(
            r.limit_for("GET", "/wiki/api/v2/spaces"),
            Some(Limit {
                per_second: 100.0,
                burst: 100
            })
        );
        assert_eq!(
            r.limit_for("PUT", "/x"),
            Some(Limit {
                per_second: 50.0,
                burst: 10
            })
        );
        assert_eq!(
            r.limit_for("GET", "/wiki/api/v2/pages"),
            Some(Limit {
                per_second: 5.0,
                burst: 5
            })
        );
        assert_eq!(r.limit_for("DELETE", "/x"), None);
        let all: RateLimits = "all=2".parse().unwrap();
        assert!(all.limit_for("DELETE", "/x").is_some());
        assert_eq!("realistic".parse::<RateLimits>().unwrap().methods.len(), 4);
        for bad in ["get", "get=0", "get=x", "fetch=1", "get=1/0", "GET:pages=1"] {
            assert!(bad.parse::<RateLimits>().is_err(), "{bad}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn buckets_empty_and_refill() {
        let l = Limiter::new("get=2".parse().unwrap());
        assert!(l.check("GET", "/a").unwrap().allowed);
        let v = l.check("GET", "/a").unwrap();
        assert!(v.allowed);
        assert_eq!(v.remaining, 0);
        let v = l.check("GET", "/a").unwrap();
        assert!(!v.allowed);
        assert!(v.retry_after > Duration::ZERO && v.retry_after <= Duration::from_millis(500));
        // Another endpoint has its own bucket.
        assert!(l.check("GET", "/b").unwrap().allowed);
        tokio::time::advance(Duration::from_millis(600)).await;
        assert!(l.check("GET", "/a").unwrap().allowed);
        assert_eq!(l.check("POST", "/a"), None);
    }
}
