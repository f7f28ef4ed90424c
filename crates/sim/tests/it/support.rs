//! Shared helpers: a twin on loopback with a real HTTP client, and the spec location.

use std::path::PathBuf;

use kb_sim::{SimConfig, SimHandle, WorkspaceConfig};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;

pub const ADMIN: (&str, &str) = ("admin@example.com", "kbridge-sim-token");
pub const GUEST: (&str, &str) = ("guest@example.com", "kbridge-sim-guest-token");
pub const UNLICENSED: (&str, &str) = ("unlicensed@example.com", "kbridge-sim-unlicensed-token");

/// A running twin and a client for it.
pub struct Twin {
    pub handle: SimHandle,
    pub http: reqwest::Client,
    /// `http://127.0.0.1:PORT` (the site origin).
    pub origin: String,
    /// `http://127.0.0.1:PORT/wiki`.
    pub base: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Twin {
    pub async fn start(cfg: SimConfig) -> Twin {
        let handle = kb_sim::start(cfg).await.expect("the twin starts");
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        Twin {
            origin: handle.url(),
            base: handle.confluence_url(),
            handle,
            http,
        }
    }

    pub async fn with(workspace: WorkspaceConfig) -> Twin {
        Twin::start(SimConfig {
            workspace,
            ..SimConfig::default()
        })
        .await
    }

    /// The default small site (seed 7, 60 pages).
    pub async fn small() -> Twin {
        Twin::start(SimConfig::default()).await
    }

    /// `path` is absolute (`/wiki/api/v2/pages`) and resolved against the origin.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    pub async fn call_as(
        &self,
        who: Option<(&str, &str)>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        let mut rb = self.http.request(method, self.url(path));
        if let Some((u, p)) = who {
            rb = rb.basic_auth(u, Some(p));
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{path}: not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        Reply {
            status,
            headers,
            json,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call_as(Some(ADMIN), Method::GET, path, None).await
    }

    /// A GET that must answer 200; returns the JSON.
    pub async fn ok(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.json);
        r.json
    }

    pub async fn send(&self, method: Method, path: &str, body: &Value) -> Reply {
        self.call_as(Some(ADMIN), method, path, Some(body)).await
    }

    pub async fn admin_post(&self, path: &str, body: &Value) -> Value {
        let r = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("admin call");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.expect("json")
    }

    /// The twin's request counters (`/__sim/stats`).
    pub async fn stats(&self) -> Value {
        self.ok("/__sim/stats").await
    }

    pub async fn dataset(&self) -> Value {
        let r = self
            .http
            .get(self.url("/__sim/confluence/dataset"))
            .send()
            .await
            .expect("dataset");
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.expect("json")
    }

    /// Every item of a v2 listing, following `_links.next` (resolved against the origin) and
    /// checking the `Link` header says the same.
    pub async fn collect_v2(&self, first: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = Some(first.to_string());
        let mut pages = 0;
        while let Some(path) = next.take() {
            let r = self.get(&path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.json);
            out.extend(
                r.json["results"]
                    .as_array()
                    .expect("results")
                    .iter()
                    .cloned(),
            );
            assert_eq!(r.json["_links"]["base"], self.base.as_str());
            let link = r
                .headers
                .get("link")
                .map(|h| h.to_str().unwrap().to_string());
            match r.json["_links"]["next"].as_str() {
                Some(n) => {
                    assert!(
                        n.starts_with("/wiki/api/v2/") && !n.starts_with("/wiki/wiki"),
                        "{n}"
                    );
                    assert_eq!(
                        link.as_deref(),
                        Some(
                            format!("<{n}>; rel=\"next\", <{}>; rel=\"base\"", self.base).as_str()
                        )
                    );
                    next = Some(n.to_string());
                }
                None => assert!(link.is_none(), "a last page has no Link header: {link:?}"),
            }
            pages += 1;
            assert!(pages < 100_000, "pagination does not end");
        }
        out
    }
}

/// Answers 200 to `route` (a route template, e.g. `/wiki/rest/api/content/{id}`) in `stats`.
pub fn ok_count(stats: &Value, route: &str) -> u64 {
    stats["requests"]
        .as_array()
        .expect("stats.requests")
        .iter()
        .filter(|r| r["route"] == route && r["status"] == 200)
        .map(|r| r["count"].as_u64().expect("a count"))
        .sum()
}

pub fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_string())
        .collect()
}

/// `../shared/reference/specs/<name>`, if present (see [`kb_testkit::shared`] for the skip and
/// `KBRIDGE_REQUIRE_CORPUS` policy).
pub fn spec_file(name: &str) -> Option<PathBuf> {
    kb_testkit::shared(&format!("reference/specs/{name}"))
}

/// The shared real-world corpus folder `../shared/corpus/<sub>`, if present.
pub fn corpus_dir(sub: &str) -> Option<PathBuf> {
    kb_testkit::shared(&format!("corpus/{sub}"))
}
