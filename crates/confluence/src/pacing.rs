//! The client's own pacing: one budget per endpoint class, rates learned from the server.
//!
//! Atlassian meters Cloud per endpoint (method and route) and in points; Data Center meters
//! per user with one token bucket for the whole site. So a request belongs to a *class*: on
//! Cloud its endpoint label (`GET /wiki/api/v2/pages/{id}`), on Data Center the whole site;
//! downloads are a class of their own on both. Each class has a rate (requests/s, every
//! attempt pays) and each request costs points: identity and access endpoints (users, groups,
//! permissions, restrictions) cost 2, the others 1.
//!
//! The rate of a class is adaptive (`--rate` is only a ceiling):
//! - it starts at [`START_RATE`] and rises by 25 % per [`RAISE_EVERY`] while answers show no
//!   push-back, up to the rate where the server last pushed back (first guess: 95 % of
//!   `X-RateLimit-Limit` per second, a bucket that refills in a second), then by 3 % only;
//! - push-back is `X-RateLimit-NearLimit: true` or `X-RateLimit-Remaining` under 20 % of
//!   `X-RateLimit-Limit`: the rate drops to 90 % of the server's refill rate as measured from
//!   the drain of `Remaining` (tokens back plus tokens taken, per second), or by 20 % when it
//!   cannot be measured (at most once per half second); between 20 % and 50 % left it holds;
//! - a 429 does the same (halving without a measure) and pauses the class for `Retry-After`
//!   (or `Beta-Retry-After`), one second without either: the other classes go on;
//! - Data Center's `X-RateLimit-FillRate` per `X-RateLimit-Interval-Seconds` is the exact
//!   sustained rate: the class adopts 95 % of it.
//!
//! It runs on `tokio::time`, so tests can pause the clock.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kb_http::header::HeaderMap;
use kb_http::{Pacer, Request};
use tokio::time::Instant;

/// Requests per second a class starts at.
pub const START_RATE: f64 = 10.0;
/// How often a class's rate may rise (by 25 % up to where the server pushed back, 1 % above).
pub const RAISE_EVERY: Duration = Duration::from_millis(100);
/// How much a class's rate may rise per [`RAISE_EVERY`] above where the server pushed back.
pub const ABOVE_CAP: f64 = 1.03;
/// The rate a class never goes above, ceiling or not (a bound that keeps the arithmetic finite).
pub const MAX_RATE: f64 = 1.0e6;
/// The rate a class never goes below.
pub const MIN_RATE: f64 = 0.2;

/// How requests are grouped into budgets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Classes {
    /// One budget per endpoint (Confluence Cloud's burst limits).
    PerEndpoint,
    /// One budget for the site (Data Center's per-user bucket), downloads apart.
    Site,
}

/// What one class has learned.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassState {
    /// The class (an endpoint label, `site` or `download`).
    pub class: String,
    /// Its current rate (requests/s).
    pub rate: f64,
    /// The rate at which the server last pushed back, if it did.
    pub cap: Option<f64>,
    /// 429s seen.
    pub rate_limited: u64,
    /// Answers with push-back headers.
    pub pushed_back: u64,
}

struct Class {
    rate: f64,
    cap: Option<f64>,
    /// The theoretical arrival time of the next request (GCRA).
    tat: Instant,
    paused_until: Option<Instant>,
    last_cut: Option<Instant>,
    /// Set from Data Center's fill-rate headers: the rate is known, not probed.
    learned: bool,
    rate_limited: u64,
    pushed_back: u64,
    /// Answers seen.
    answers: u64,
    /// The start of the window over which the server's refill rate is measured: when, the
    /// `Remaining` then and the answers then.
    window: Option<(Instant, f64, u64)>,
    /// The server's refill rate as measured from the drain of `Remaining`.
    server_rate: Option<f64>,
    last_raise: Option<Instant>,
}

/// Per-class adaptive pacing (see the module docs).
pub struct AdaptivePacer {
    ceiling: f64,
    /// The longest pause a `Retry-After` may impose (the retry policy's `max_retry_after`).
    max_pause: Duration,
    classes: Classes,
    state: Mutex<HashMap<String, Class>>,
}

impl std::fmt::Debug for AdaptivePacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdaptivePacer")
            .field("ceiling", &self.ceiling)
            .field("classes", &self.classes)
            .finish_non_exhaustive()
    }
}

/// The budget class of a request.
pub fn class_of(classes: Classes, req: &Request) -> String {
    let e = &req.endpoint;
    if e.contains("/download/") || e.ends_with("/download") {
        return "download".into();
    }
    match classes {
        Classes::PerEndpoint => e.clone(),
        Classes::Site => "site".into(),
    }
}

/// Points a request costs: identity and access endpoints 2, the others 1.
pub fn cost_of(req: &Request) -> f64 {
    let e = req.endpoint.to_ascii_lowercase();
    let identity = [
        "/user",
        "/group",
        "/permission",
        "/restriction",
        "/users-bulk",
    ]
    .iter()
    .any(|k| e.contains(k));
    if identity { 2.0 } else { 1.0 }
}

impl AdaptivePacer {
    /// A pacer whose classes never exceed `ceiling` requests/s (`f64::INFINITY`: no ceiling,
    /// only the server's push-back bounds a class).
    pub fn new(ceiling: f64, classes: Classes) -> AdaptivePacer {
        let ceiling = if ceiling > 0.0 && !ceiling.is_nan() {
            ceiling
        } else {
            START_RATE
        };
        AdaptivePacer {
            ceiling,
            max_pause: Duration::from_secs(60),
            classes,
            state: Mutex::new(HashMap::new()),
        }
    }

    /// Caps the pause of one `Retry-After` (default 60 s).
    pub fn with_max_pause(mut self, max: Duration) -> AdaptivePacer {
        self.max_pause = max;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Class>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fresh(&self, now: Instant) -> Class {
        Class {
            rate: START_RATE.min(self.ceiling),
            cap: None,
            tat: now,
            paused_until: None,
            last_cut: None,
            learned: false,
            rate_limited: 0,
            pushed_back: 0,
            answers: 0,
            window: None,
            server_rate: None,
            last_raise: None,
        }
    }

    /// What every class has learned so far, by class name.
    pub fn snapshot(&self) -> Vec<ClassState> {
        let mut out: Vec<ClassState> = self
            .lock()
            .iter()
            .map(|(k, c)| ClassState {
                class: k.clone(),
                rate: c.rate,
                cap: c.cap,
                rate_limited: c.rate_limited,
                pushed_back: c.pushed_back,
            })
            .collect();
        out.sort_by(|a, b| a.class.cmp(&b.class));
        out
    }

    /// Reserves the next slot of `class` for `cost` points; returns when it starts, or
    /// `None` to look again after a pause.
    fn reserve(&self, class: &str, cost: f64) -> Instant {
        let now = Instant::now();
        let mut all = self.lock();
        let c = all
            .entry(class.to_string())
            .or_insert_with(|| self.fresh(now));
        let mut earliest = now;
        if let Some(p) = c.paused_until {
            if p > now {
                earliest = p;
            } else {
                c.paused_until = None;
            }
        }
        let start = c.tat.max(earliest);
        c.tat = start + Duration::from_secs_f64(cost / c.rate.max(MIN_RATE));
        start
    }

    fn paused(&self, class: &str) -> Option<Instant> {
        let now = Instant::now();
        self.lock()
            .get(class)
            .and_then(|c| c.paused_until)
            .filter(|p| *p > now)
    }

    fn learn(&self, class: &str, status: u16, headers: &HeaderMap) {
        let now = Instant::now();
        let mut all = self.lock();
        let c = all
            .entry(class.to_string())
            .or_insert_with(|| self.fresh(now));
        let num = |name: &str| -> Option<f64> {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        // Data Center tells the sustained rate outright.
        if let (Some(fill), Some(interval)) = (
            num("x-ratelimit-fillrate"),
            num("x-ratelimit-interval-seconds"),
        ) && fill > 0.0
            && interval > 0.0
        {
            c.rate = (0.95 * fill / interval).clamp(MIN_RATE, self.ceiling);
            c.cap = Some(c.rate);
            c.learned = true;
        }
        c.answers += 1;
        let (limit, remaining) = (num("x-ratelimit-limit"), num("x-ratelimit-remaining"));
        // The server's refill rate: tokens back plus tokens taken, over the time between two
        // answers of a window whose bucket was not full at either end (a full bucket wastes
        // its refill).
        if let (Some(l), Some(r)) = (limit, remaining)
            && l > 0.0
            && r < 0.9 * l
        {
            match c.window {
                Some((t0, r0, a0)) if now - t0 >= Duration::from_millis(250) => {
                    let taken = (c.answers - a0) as f64;
                    let secs = (now - t0).as_secs_f64();
                    if taken >= 5.0 {
                        let est = (r - r0 + taken) / secs;
                        if est > 0.0 {
                            c.server_rate = Some(est);
                        }
                    }
                    c.window = Some((now, r, c.answers));
                }
                Some(_) => {}
                None => c.window = Some((now, r, c.answers)),
            }
        } else {
            c.window = None;
        }
        // After push-back: just under the measured rate when there is one, else a cut.
        let cut = |rate: f64, server: Option<f64>, factor: f64| match server {
            Some(s) => (0.9 * s).min(rate),
            None => rate * factor,
        };
        if status == 429 {
            c.rate_limited += 1;
            let wait = kb_http::retry_after(headers)
                .unwrap_or(Duration::from_secs(1))
                .min(self.max_pause);
            let until = now + wait;
            if c.paused_until.is_none_or(|p| p < until) {
                c.paused_until = Some(until);
            }
            if c.tat < until {
                c.tat = until;
            }
            if !c.learned
                && c.last_cut
                    .is_none_or(|t| now - t >= Duration::from_millis(500))
            {
                // Back under where it was refused, then quickly up again to just below it:
                // a 429 that was not about the load (a burst elsewhere) costs little.
                c.cap = Some(c.server_rate.map_or(c.rate * 0.9, |s| 0.9 * s));
                c.rate = cut(c.rate, c.server_rate, 0.5).max(MIN_RATE);
                c.last_cut = Some(now);
            }
            return;
        }
        if c.learned {
            return;
        }
        let near = ["x-ratelimit-nearlimit", "x-beta-ratelimit-nearlimit"]
            .iter()
            .any(|h| {
                headers
                    .get(*h)
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
            });
        let low = matches!((limit, remaining), (Some(l), Some(r)) if l > 0.0 && r < 0.2 * l);
        let comfortable = match (limit, remaining) {
            (Some(l), Some(r)) if l > 0.0 => r >= 0.5 * l,
            _ => true,
        };
        if near || low {
            c.pushed_back += 1;
            if c.last_cut
                .is_none_or(|t| now - t >= Duration::from_millis(500))
            {
                c.rate = cut(c.rate, c.server_rate, 0.8).max(MIN_RATE);
                c.cap = Some(c.rate);
                c.last_cut = Some(now);
            }
        } else if comfortable
            && (200..300).contains(&status)
            && c.last_raise.is_none_or(|t| now - t >= RAISE_EVERY)
        {
            // A bucket of `Limit` tokens usually refills in about a second: until the server
            // pushes back, that is the first guess of its rate.
            if c.cap.is_none()
                && let Some(l) = limit.filter(|l| *l >= 1.0)
            {
                c.cap = Some(0.95 * l);
            }
            c.rate = match c.cap {
                Some(cap) if c.rate >= cap => c.rate * ABOVE_CAP,
                Some(cap) => (c.rate * 1.25).min(cap),
                None => c.rate * 1.25,
            }
            .min(self.ceiling)
            .min(MAX_RATE);
            c.last_raise = Some(now);
        }
    }
}

impl Pacer for AdaptivePacer {
    fn acquire<'a>(&'a self, req: &'a Request) -> futures_util::future::BoxFuture<'a, ()> {
        Box::pin(async move {
            let class = class_of(self.classes, req);
            let cost = cost_of(req);
            loop {
                let at = self.reserve(&class, cost);
                tokio::time::sleep_until(at).await;
                // A 429 may have paused the class while this request waited for its slot.
                match self.paused(&class) {
                    Some(p) => tokio::time::sleep_until(p).await,
                    None => return,
                }
            }
        })
    }

    fn observe(&self, req: &Request, status: u16, headers: &HeaderMap) {
        self.learn(&class_of(self.classes, req), status, headers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kb_http::Url;
    use kb_http::header::HeaderValue;

    fn req(path: &str) -> Request {
        Request::get(Url::parse(&format!("http://site.test{path}")).unwrap())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_rises_until_pushed_back_then_holds_below() {
        let p = AdaptivePacer::new(1000.0, Classes::PerEndpoint);
        let r = req("/wiki/api/v2/pages/1");
        for _ in 0..30 {
            p.acquire(&r).await;
            p.observe(&r, 200, &headers(&[]));
            tokio::time::advance(RAISE_EVERY).await;
        }
        let s = &p.snapshot()[0];
        assert!(s.rate > 100.0, "{s:?}");
        let before = s.rate;
        p.observe(&r, 200, &headers(&[("x-ratelimit-nearlimit", "true")]));
        let s = &p.snapshot()[0];
        assert!((s.rate - before * 0.8).abs() < 1e-6, "{s:?}");
        assert_eq!(s.cap, Some(s.rate));
        // Above the cap, it probes by 3 % only, once per RAISE_EVERY.
        let at_cap = s.rate;
        tokio::time::advance(RAISE_EVERY).await;
        p.observe(&r, 200, &headers(&[]));
        p.observe(&r, 200, &headers(&[]));
        assert!((p.snapshot()[0].rate - at_cap * ABOVE_CAP).abs() < 1e-6);
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_header_is_the_first_guess_and_the_drain_measures_the_rate() {
        let p = AdaptivePacer::new(1000.0, Classes::PerEndpoint);
        let r = req("/wiki/api/v2/pages/1");
        for _ in 0..20 {
            p.acquire(&r).await;
            p.observe(
                &r,
                200,
                &headers(&[("x-ratelimit-limit", "40"), ("x-ratelimit-remaining", "39")]),
            );
            tokio::time::advance(RAISE_EVERY).await;
        }
        let s = &p.snapshot()[0];
        assert_eq!(s.cap, Some(38.0));
        // About 15 raises above the guess at 3 % each: well under the 1000/s ceiling.
        assert!(
            s.rate < 38.0 * 1.6,
            "it probes slowly above the guess: {s:?}"
        );
        // Remaining drains by 10 while 30 answers came in one second: the server refills 20/s.
        let mut remaining: f64 = 30.0;
        for _ in 0..30 {
            tokio::time::advance(Duration::from_millis(1000 / 30)).await;
            remaining -= 1.0 / 3.0;
            let rem = format!("{}", remaining.floor());
            p.observe(
                &r,
                200,
                &headers(&[("x-ratelimit-limit", "40"), ("x-ratelimit-remaining", &rem)]),
            );
        }
        p.observe(
            &r,
            200,
            &headers(&[("x-ratelimit-limit", "40"), ("x-ratelimit-remaining", "5")]),
        );
        let s = &p.snapshot()[0];
        assert!((s.rate - 18.0).abs() < 2.5, "{s:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_only_its_class_for_retry_after() {
        let p = AdaptivePacer::new(1000.0, Classes::PerEndpoint);
        let pages = req("/wiki/api/v2/pages");
        let spaces = req("/wiki/api/v2/spaces");
        p.acquire(&pages).await;
        p.observe(&pages, 429, &headers(&[("retry-after", "3")]));
        let t0 = Instant::now();
        p.acquire(&spaces).await;
        assert_eq!(Instant::now() - t0, Duration::ZERO, "another class goes on");
        p.acquire(&pages).await;
        assert_eq!((Instant::now() - t0).as_secs(), 3);
        let s = p.snapshot();
        let pages_state = s.iter().find(|c| c.class.ends_with("/pages")).unwrap();
        assert_eq!(pages_state.rate, START_RATE / 2.0);
        assert_eq!(
            pages_state.cap,
            Some(START_RATE * 0.9),
            "it comes back quickly"
        );
        assert_eq!(pages_state.rate_limited, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn beta_retry_after_is_obeyed() {
        let p = AdaptivePacer::new(1000.0, Classes::PerEndpoint);
        let r = req("/wiki/api/v2/pages");
        p.acquire(&r).await;
        p.observe(&r, 429, &headers(&[("beta-retry-after", "2")]));
        let t0 = Instant::now();
        p.acquire(&r).await;
        assert_eq!((Instant::now() - t0).as_secs(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn data_center_fill_rate_is_adopted_and_identity_costs_two() {
        let p = AdaptivePacer::new(1000.0, Classes::Site);
        let r = req("/confluence/rest/api/content");
        p.acquire(&r).await;
        p.observe(
            &r,
            200,
            &headers(&[
                ("x-ratelimit-fillrate", "20"),
                ("x-ratelimit-interval-seconds", "2"),
            ]),
        );
        let s = &p.snapshot()[0];
        assert_eq!(s.class, "site");
        assert!((s.rate - 9.5).abs() < 1e-9, "{s:?}");
        // The user endpoint shares the site's budget at twice the price.
        let u = req("/confluence/rest/api/user/current");
        assert_eq!(cost_of(&u), 2.0);
        let t0 = Instant::now();
        p.acquire(&u).await;
        p.acquire(&u).await;
        p.acquire(&u).await;
        let waited = (Instant::now() - t0).as_secs_f64();
        assert!((waited - 4.0 / 9.5 - 1.0 / 9.5).abs() < 0.01, "{waited}");
    }

    #[tokio::test(start_paused = true)]
    async fn downloads_have_their_own_budget_and_the_ceiling_holds() {
        let p = AdaptivePacer::new(12.0, Classes::Site);
        let d = req("/confluence/download/attachments/1/a.png");
        assert_eq!(class_of(Classes::Site, &d), "download");
        for _ in 0..50 {
            p.acquire(&d).await;
            p.observe(&d, 200, &headers(&[]));
        }
        assert_eq!(p.snapshot()[0].rate, 12.0);
    }
}
