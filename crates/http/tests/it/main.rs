//! kb-http's integration tests (one test binary): real HTTP servers on loopback (small axum
//! apps and raw sockets) and tokio's paused clock, so that every timing assertion is exact and
//! no test waits on the wall clock.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing, with its place

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use kb_http::{Client, LimiterConfig, RetryPolicy, SiteConfig, Url};
use tokio::time::Instant;

mod connections;
mod downloads;
mod origins;
mod pagination;
mod retries;
mod secrets;

/// Serves `app` on a free loopback port of the current runtime; returns its base URL.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

/// When each request arrived (path and query), by the runtime's (paused) clock.
#[derive(Clone, Default)]
pub struct Arrivals(Arc<Mutex<Vec<(String, Instant)>>>);

impl Arrivals {
    pub fn push(&self, what: impl Into<String>) {
        self.0.lock().unwrap().push((what.into(), Instant::now()));
    }
    pub fn all(&self) -> Vec<(String, Instant)> {
        self.0.lock().unwrap().clone()
    }
    pub fn of(&self, prefix: &str) -> Vec<Instant> {
        self.all()
            .into_iter()
            .filter(|(p, _)| p.starts_with(prefix))
            .map(|(_, t)| t)
            .collect()
    }
}

/// A site config for tests: fast limiter, no request timeout (a pending timer would make the
/// paused clock jump while a request waits on the socket), a fixed jitter seed.
pub fn site(base: &str) -> SiteConfig {
    let mut cfg = SiteConfig::new(Url::parse(&format!("{base}/")).unwrap());
    cfg.limits = LimiterConfig {
        rate: 1000.0,
        burst: 1000,
        concurrency: 4,
    };
    cfg.timeout = None;
    cfg.connect_timeout = None;
    cfg.retry = RetryPolicy {
        jitter_seed: Some(42),
        ..RetryPolicy::default()
    };
    cfg
}

pub fn client(base: &str) -> Client {
    Client::new(site(base)).unwrap()
}

pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}
