//! Helpers for the Notion twin's tests: a twin with its rate limit off (unless a test asks),
//! and a client that speaks Bearer + `Notion-Version`.

use kb_sim::notion::NotionConfig;
use kb_sim::{NotionWorkspaceConfig, SimConfig, SimHandle};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;

pub const V2022: &str = "2022-06-28";
pub const V2025: &str = "2025-09-03";

pub struct NTwin {
    pub handle: SimHandle,
    pub http: reqwest::Client,
    pub origin: String,
    pub token: String,
}

pub struct NReply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl NTwin {
    pub async fn start(cfg: SimConfig) -> NTwin {
        let handle = kb_sim::start(cfg).await.expect("the twin starts");
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        NTwin {
            origin: handle.url(),
            token: handle.notion_token().to_string(),
            handle,
            http,
        }
    }

    /// A workspace of this size, rate limit off.
    pub async fn with(ws: NotionWorkspaceConfig) -> NTwin {
        NTwin::start(SimConfig {
            notion: NotionConfig {
                workspace: ws,
                rate: None,
                ..NotionConfig::default()
            },
            ..SimConfig::default()
        })
        .await
    }

    pub async fn small() -> NTwin {
        NTwin::with(NotionWorkspaceConfig::default()).await
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        version: Option<&str>,
        body: Option<&Value>,
    ) -> NReply {
        let mut rb = self.http.request(method, format!("{}{path}", self.origin));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(v) = version {
            rb = rb.header("Notion-Version", v);
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
        NReply {
            status,
            headers,
            json,
        }
    }

    pub async fn call(&self, v: &str, method: Method, path: &str, body: Option<&Value>) -> NReply {
        self.raw(method, path, Some(&self.token.clone()), Some(v), body)
            .await
    }

    /// A call that must answer 200.
    pub async fn ok(&self, v: &str, method: Method, path: &str, body: Option<&Value>) -> Value {
        let r = self.call(v, method.clone(), path, body).await;
        assert_eq!(r.status, StatusCode::OK, "{method} {path}: {}", r.json);
        r.json
    }

    pub async fn get(&self, v: &str, path: &str) -> Value {
        self.ok(v, Method::GET, path, None).await
    }

    /// A 400 with this code; returns the message.
    pub async fn fails(
        &self,
        v: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        status: u16,
        code: &str,
    ) -> String {
        let r = self.call(v, method.clone(), path, body).await;
        assert_eq!(r.status.as_u16(), status, "{method} {path}: {}", r.json);
        assert_eq!(r.json["object"], "error", "{}", r.json);
        assert_eq!(r.json["code"], code, "{}", r.json);
        assert_eq!(r.json["status"], status, "{}", r.json);
        assert!(r.json["request_id"].is_string(), "{}", r.json);
        r.json["message"].as_str().unwrap_or("").to_string()
    }

    pub async fn dataset(&self) -> Value {
        let r = self
            .http
            .get(format!("{}/__sim/notion/dataset", self.origin))
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }

    pub async fn admin(&self, path: &str, body: &Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.origin))
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// Every result of a paginated GET (`?page_size=`), following `next_cursor`.
    pub async fn collect_get(&self, v: &str, path: &str, size: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        let sep = if path.contains('?') { '&' } else { '?' };
        loop {
            let mut p = format!("{path}{sep}page_size={size}");
            if let Some(c) = &cursor {
                p.push_str(&format!("&start_cursor={c}"));
            }
            let page = self.get(v, &p).await;
            assert_eq!(page["object"], "list");
            let results = page["results"].as_array().unwrap();
            assert!(results.len() <= size);
            out.extend(results.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => {
                    assert_eq!(page["has_more"], true);
                    assert_eq!(results.len(), size, "a page before the last is full");
                    cursor = Some(c.to_string())
                }
                None => {
                    assert_eq!(page["has_more"], false);
                    break;
                }
            }
        }
        out
    }

    /// Every result of a paginated POST (search, queries).
    pub async fn collect_post(&self, v: &str, path: &str, body: &Value, size: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut b = body.clone();
            b["page_size"] = size.into();
            if let Some(c) = &cursor {
                b["start_cursor"] = c.clone().into();
            }
            let page = self.ok(v, Method::POST, path, Some(&b)).await;
            let results = page["results"].as_array().unwrap();
            assert!(results.len() <= size);
            out.extend(results.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => {
                    assert_eq!(results.len(), size);
                    cursor = Some(c.to_string())
                }
                None => break,
            }
        }
        out
    }
}

/// Ids of a list of objects.
pub fn ids(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

/// The ground truth's database by title.
pub fn db<'a>(ds: &'a Value, title: &str) -> &'a Value {
    ds["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["title"] == title)
        .unwrap_or_else(|| panic!("no database {title}"))
}

/// Rows (pages) of a database in the ground truth.
pub fn rows<'a>(ds: &'a Value, db_id: &str) -> Vec<&'a Value> {
    ds["pages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["parent"]["type"] == "database" && p["parent"]["id"] == db_id)
        .collect()
}

/// The property id of `name` in a ground-truth database.
pub fn prop_id(db: &Value, name: &str) -> String {
    db["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no property {name}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}
