//! A daemon on a fresh SQLite store with a hand-moved clock, and a tower client for its router.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kb_config::ConfigFile;
use kb_serve::{ManualClock, ServeOptions, Shared};
use serde_json::Value;
use tower::ServiceExt;

pub const TOKEN: &str = "test-admin-token-0123456789abcdef";

pub fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

pub struct Daemon {
    pub sh: Arc<Shared>,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    pub store_url: String,
}

pub async fn daemon(config: ConfigFile, env: HashMap<String, String>, now: &str) -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let store_url = dir.path().join("kbridge.db").to_str().unwrap().to_string();
    daemon_at(dir, store_url, config, env, now).await
}

pub async fn daemon_at(
    dir: tempfile::TempDir,
    store_url: String,
    config: ConfigFile,
    env: HashMap<String, String>,
    now: &str,
) -> Daemon {
    let clock = Arc::new(ManualClock::new(ts(now)));
    let sh = Shared::open(ServeOptions {
        store_url: store_url.clone(),
        config,
        admin_token: TOKEN.to_string().into(),
        env: Arc::new(move |k| env.get(k).cloned()),
        clock: clock.clone(),
        worker: "test-worker".into(),
        lease: Duration::from_secs(30),
    })
    .await
    .expect("the daemon opens");
    Daemon {
        sh,
        clock,
        dir,
        store_url,
    }
}

/// A request from `ip` (the failed-login limiter counts per address).
pub fn request(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    ip: [u8; 4],
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let mut req = match body {
        Some(v) => b
            .header("content-type", "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    req
}

pub async fn send(sh: &Arc<Shared>, req: Request<Body>) -> (StatusCode, String) {
    let resp = kb_serve::api::router(sh.clone())
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// An admin JSON call.
pub async fn call(
    sh: &Arc<Shared>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (s, b) = send(sh, request(method, path, Some(TOKEN), body, [127, 0, 0, 1])).await;
    let v = serde_json::from_str(&b).unwrap_or(Value::String(b));
    (s, v)
}

/// Whether the SQLite file (with its WAL) holds `needle`.
pub fn db_holds(d: &Daemon, needle: &str) -> bool {
    let mut hay = Vec::new();
    for ext in ["", "-wal", "-shm"] {
        if let Ok(b) = std::fs::read(format!("{}{ext}", d.store_url)) {
            hay.extend(b);
        }
    }
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// No secret in any answer of any GET route of the router (the API, the UI's pages, the
/// probes, `/metrics`; `{name}` and `{id}` filled with `name` and `id`, km search as
/// anonymous) nor anywhere in the database file. A new route or table is covered without
/// touching this list.
pub async fn assert_no_secret_anywhere(d: &Daemon, secrets: &[&str], name: &str, id: i64) {
    let mut checked = 0;
    for r in kb_serve::api::routes() {
        if r.method != axum::http::Method::GET {
            continue;
        }
        let mut path = r
            .path
            .replace("{name}", name)
            .replace("{id}", &id.to_string());
        if path == "/api/v1/km/search" || path == "/ui/search" {
            path.push_str("?as=anonymous&q=*");
        }
        let (_, body) = send(
            &d.sh,
            request("GET", &path, Some(TOKEN), None, [127, 0, 0, 1]),
        )
        .await;
        for s in secrets {
            assert!(!body.contains(s), "a secret in the answer of GET {path}");
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked} GET routes checked");
    for s in secrets {
        assert!(!db_holds(d, s), "a secret in the database file");
    }
}
