//! Per-endpoint burst limits, as Confluence Cloud applies to API-token traffic: one token bucket
//! per (method, route template). A request that finds its bucket empty answers 429 with
//! `Retry-After` (whole seconds) and `X-RateLimit-Reset`; every limited answer carries
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining` and, below 20 % left, `X-RateLimit-NearLimit`.
//!
//! Spec syntax (`--rate-limit`): comma-separated `KEY=RATE[/BURST]`, where KEY is a method
//! (`get`, `post`, `put`, `delete`, or `all`) or `METHOD:/route/template` for one endpoint
//! (`GET:/wiki/api/v2/pages`), RATE is requests per second and BURST the bucket size (default:
//! one second's worth). `points=QUOTA[/SECONDS]` adds Atlassian's points-based quota: every
//! request costs points (see [`points_cost`]) from a pool of QUOTA per window of SECONDS
//! (default 3600, windows aligned on the UTC clock, so an hourly pool resets at the top of each
//! hour); an empty pool answers 429 until the window ends. `realistic` is Atlassian's
//! published numbers: GET and POST 100/s, PUT and DELETE 50/s per endpoint, and the Tier 1
//! global pool of 65,000 points per hour; `bursts` is the burst part alone.

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
    /// The points quota, if any.
    pub points: Option<Points>,
}

/// A points pool: `quota` points per window of `window_secs` (aligned on the UTC clock).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Points {
    pub quota: u64,
    pub window_secs: u64,
}

/// Atlassian's Tier 1 "global pool": 65,000 points an hour (reference/confluence-api.md §2).
pub const REALISTIC_POINTS: Points = Points {
    quota: 65_000,
    window_secs: 3600,
};

/// Whether a route serves identity or access objects (users, groups, permissions,
/// restrictions), which cost 2 points each instead of 1.
pub fn identity_route(route: &str) -> bool {
    ["/user", "/group", "/permission", "/restriction"]
        .iter()
        .any(|k| route.contains(k))
}

/// What one answered request costs, as Atlassian's points model charges it: a base of 1, plus,
/// for reads, 1 point per object returned (`objects`: the length of `results`, or 1 for a
/// single object), 2 per object on identity and access routes. Writes and failed requests cost
/// the base only.
pub fn points_cost(method: &str, route: &str, status: u16, objects: usize) -> u64 {
    if method != "GET" || !(200..300).contains(&status) {
        return 1;
    }
    let each = if identity_route(route) { 2 } else { 1 };
    1 + each * objects as u64
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
            if entry == "realistic" || entry == "bursts" {
                if entry == "realistic" {
                    out.points = Some(REALISTIC_POINTS);
                }
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
            if key.trim() == "points" {
                let (q, w) = match val.split_once('/') {
                    Some((q, w)) => (q, Some(w)),
                    None => (val, None),
                };
                let quota = q
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|q| *q > 0)
                    .ok_or_else(|| err("the points quota must be a whole number above 0"))?;
                let window_secs = match w {
                    Some(w) => w
                        .trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|w| *w > 0)
                        .ok_or_else(|| err("the points window must be whole seconds above 0"))?,
                    None => 3600,
                };
                out.points = Some(Points { quota, window_secs });
                continue;
            }
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
        self.methods.is_empty() && self.routes.is_empty() && self.points.is_none()
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

/// The state of the points pool at one moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PointsState {
    pub quota: u64,
    pub window_secs: u64,
    pub remaining: u64,
    /// Until the pool refills, in ms (at least 1).
    pub reset_in_ms: i64,
    /// When it refills (ms since the epoch).
    pub reset_at_ms: i64,
}

impl PointsState {
    /// Whole seconds until the refill, rounded up (what `Retry-After` says).
    pub fn reset_secs(&self) -> u64 {
        (self.reset_in_ms as u64).div_ceil(1000).max(1)
    }
}

/// Token buckets for a [`RateLimits`] configuration, and its points pool.
pub struct Limiter {
    pub limits: Mutex<RateLimits>,
    buckets: Mutex<HashMap<(String, String), Bucket>>,
    /// (window index, points used in it).
    pool: Mutex<(i64, u64)>,
}

impl Limiter {
    pub fn new(limits: RateLimits) -> Limiter {
        Limiter {
            limits: Mutex::new(limits),
            buckets: Mutex::new(HashMap::new()),
            pool: Mutex::new((i64::MIN, 0)),
        }
    }

    /// The points pool at `now_ms` (`None` when there is no quota).
    pub fn points(&self, now_ms: i64) -> Option<PointsState> {
        let p = self
            .limits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .points?;
        let window_ms = (p.window_secs as i64).saturating_mul(1000);
        let index = now_ms.div_euclid(window_ms);
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.0 != index {
            *pool = (index, 0);
        }
        let reset_at_ms = (index + 1) * window_ms;
        Some(PointsState {
            quota: p.quota,
            window_secs: p.window_secs,
            remaining: p.quota.saturating_sub(pool.1),
            reset_in_ms: (reset_at_ms - now_ms).max(1),
            reset_at_ms,
        })
    }

    /// Charges `cost` points at `now_ms` and returns the pool after it.
    pub fn charge(&self, now_ms: i64, cost: u64) -> Option<PointsState> {
        self.points(now_ms)?;
        {
            let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
            pool.1 = pool.1.saturating_add(cost);
        }
        self.points(now_ms)
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
        *self.pool.lock().unwrap_or_else(|e| e.into_inner()) = (i64::MIN, 0);
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
        let real = "realistic".parse::<RateLimits>().unwrap();
        assert_eq!(real.methods.len(), 4);
        assert_eq!(real.points, Some(REALISTIC_POINTS));
        let bursts = "bursts".parse::<RateLimits>().unwrap();
        assert_eq!((bursts.methods, bursts.points), (real.methods, None));
        assert_eq!(
            "points=50/60".parse::<RateLimits>().unwrap().points,
            Some(Points {
                quota: 50,
                window_secs: 60
            })
        );
        assert_eq!(
            "points=7".parse::<RateLimits>().unwrap().points,
            Some(Points {
                quota: 7,
                window_secs: 3600
            })
        );
        for bad in [
            "get",
            "get=0",
            "get=x",
            "fetch=1",
            "get=1/0",
            "GET:pages=1",
            "points=0",
            "points=x",
            "points=5/0",
            "points=5/x",
        ] {
            assert!(bad.parse::<RateLimits>().is_err(), "{bad}");
        }
    }

    #[test]
    fn points_are_charged_per_object_and_the_pool_refills_on_the_hour() {
        assert_eq!(points_cost("GET", "/wiki/api/v2/pages", 200, 25), 26);
        assert_eq!(points_cost("GET", "/wiki/rest/api/group", 200, 10), 21);
        assert_eq!(points_cost("GET", "/wiki/rest/api/user", 200, 1), 3);
        assert_eq!(
            points_cost("GET", "/wiki/rest/api/content/{id}/restriction", 200, 2),
            5
        );
        assert_eq!(points_cost("POST", "/wiki/api/v2/pages", 200, 1), 1);
        assert_eq!(points_cost("GET", "/wiki/api/v2/pages/{id}", 404, 1), 1);
        let l = Limiter::new("points=100".parse().unwrap());
        let hour = 3_600_000_i64;
        let t = 1_800_000_000_000_i64 - 1_800_000_000_000 % hour + 600_000; // 10 min past
        let s = l.points(t).unwrap();
        assert_eq!((s.remaining, s.reset_in_ms), (100, hour - 600_000));
        assert_eq!(l.charge(t, 60).unwrap().remaining, 40);
        assert_eq!(l.charge(t + 1000, 60).unwrap().remaining, 0);
        assert_eq!(l.points(t + 2000).unwrap().reset_secs(), 3000 - 2);
        // The top of the next hour: a full pool again.
        let next = t - 600_000 + hour;
        assert_eq!(l.points(next).unwrap().remaining, 100);
        assert!(Limiter::new(RateLimits::default()).points(t).is_none());
        l.reset();
        assert_eq!(l.points(next).unwrap().remaining, 100);
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
