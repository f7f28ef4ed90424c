//! The webhook receivers: every signed route of the router refuses unsigned and forged
//! deliveries with 401 and processes nothing (no run queued); a verified change queues one run
//! of the sync job, durably, before its 200; a second hint while that run is open is not a
//! second run. No secret is ever answered.

use std::collections::HashMap;

use axum::http::StatusCode;
use hmac::{KeyInit, Mac};
use kb_config::{ConfigFile, Job, SyncJob};
use kb_serve::api::{Access, routes};
use serde_json::{Value, json};

use crate::support::{daemon, send};

const NOTION_SECRET: &str = "notion-verification-token-0123456789";
const CONF_SECRET: &str = "confluence-shared-secret-9876543210";

fn hub(key: &str, body: &[u8]) -> String {
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}

fn post(
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> axum::http::Request<axum::body::Body> {
    let mut b = axum::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json");
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    let mut req = b.body(axum::body::Body::from(body.to_vec())).unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [10, 9, 0, 1],
            40000,
        ))));
    req
}

/// Each signed route: a change body, the header it is signed with, and how to sign it.
type Signer = Box<dyn Fn(&[u8]) -> String>;

fn delivery(path: &str) -> (Vec<u8>, &'static str, Signer) {
    match path {
        "/webhooks/notion" => (
            json!({"id": "ev-1", "type": "page.content_updated", "timestamp": "2026-03-04T10:00:00Z",
                   "entity": {"id": "0123456789abcdef0123456789abcdef", "type": "page"},
                   "authors": [{"id": "user-1", "type": "person"}]})
            .to_string()
            .into_bytes(),
            "x-notion-signature",
            Box::new(|b| hub(NOTION_SECRET, b)),
        ),
        "/webhooks/confluence" => (
            json!({"event": "page_updated", "pageId": "12345"}).to_string().into_bytes(),
            "x-kbridge-secret",
            Box::new(|_| CONF_SECRET.to_string()),
        ),
        "/webhooks/confluence-dc" => (
            json!({"event": "page_updated", "page": {"id": 12345}, "timestamp": 1}).to_string().into_bytes(),
            "x-hub-signature",
            Box::new(|b| hub(CONF_SECRET, b)),
        ),
        other => panic!("the signed route {other} has no case here: add how it is signed"),
    }
}

fn config() -> ConfigFile {
    let mut c = ConfigFile::default();
    c.jobs
        .insert("twoway".into(), Job::Sync(SyncJob::default()));
    c
}

fn env() -> HashMap<String, String> {
    HashMap::from([
        (
            "KBRIDGE_NOTION_WEBHOOK_TOKEN".to_string(),
            NOTION_SECRET.to_string(),
        ),
        (
            "KBRIDGE_CONFLUENCE_WEBHOOK_SECRET".to_string(),
            CONF_SECRET.to_string(),
        ),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_signed_route_refuses_unsigned_and_forged_deliveries_and_queues_nothing() {
    let d = daemon(config(), env(), "2026-03-04T10:00:00Z").await;
    let signed: Vec<_> = routes()
        .into_iter()
        .filter(|r| r.access == Access::Signed)
        .map(|r| r.path)
        .collect();
    assert_eq!(signed.len(), 3, "{signed:?}");
    for path in &signed {
        let (body, header, sign) = delivery(path);
        let good = sign(&body);
        let forged_body = {
            let mut b = body.clone();
            b.extend_from_slice(b" ");
            b
        };
        for (what, headers, b) in [
            ("unsigned", vec![], body.clone()),
            (
                "a wrong signature",
                vec![(header, "sha256=00ff".to_string())],
                body.clone(),
            ),
            (
                "a signature of another body",
                vec![(header, good.clone())],
                forged_body,
            ),
            (
                "the admin token instead",
                vec![("authorization", format!("Bearer {}", crate::support::TOKEN))],
                body.clone(),
            ),
        ] {
            if what == "a signature of another body" && header == "x-kbridge-secret" {
                // An Automation rule sends a shared secret, not a signature of the body.
                continue;
            }
            let (s, text) = send(&d.sh, post(path, &headers, &b)).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{path} with {what}: {text}");
            assert!(
                !text.contains(NOTION_SECRET) && !text.contains(CONF_SECRET),
                "{text}"
            );
        }
    }
    assert!(
        d.sh.db.runs(Some("twoway"), 10).await.unwrap().is_empty(),
        "a refused delivery queued a run"
    );
    // Without the secret configured nothing can be verified: refused too.
    let d2 = daemon(config(), HashMap::new(), "2026-03-04T10:00:00Z").await;
    for path in &signed {
        let (body, header, sign) = delivery(path);
        let (s, _) = send(&d2.sh, post(path, &[(header, sign(&body))], &body)).await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "{path} without a configured secret"
        );
    }
    assert!(d2.sh.db.runs(Some("twoway"), 10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_hint_queues_the_sync_job_once() {
    let d = daemon(config(), env(), "2026-03-04T10:00:00Z").await;
    let (body, header, sign) = delivery("/webhooks/notion");
    let (s, text) = send(
        &d.sh,
        post("/webhooks/notion", &[(header, sign(&body))], &body),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["queued"][0]["job"], "twoway", "{v}");
    let runs = d.sh.db.runs(Some("twoway"), 10).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let first = serde_json::to_value(&runs[0]).unwrap();
    assert_eq!(first["trigger"], "webhook:notion", "{first}");
    assert_eq!(first["status"], "queued", "{first}");
    // More hints while that run is open: accepted, no second run.
    for path in [
        "/webhooks/confluence",
        "/webhooks/confluence-dc",
        "/webhooks/notion",
    ] {
        let (body, header, sign) = delivery(path);
        let (s, text) = send(&d.sh, post(path, &[(header, sign(&body))], &body)).await;
        assert_eq!(s, StatusCode::OK, "{path}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["queued"], json!([]), "{path}: {v}");
    }
    assert_eq!(d.sh.db.runs(Some("twoway"), 10).await.unwrap().len(), 1);
    let (_, m) = crate::support::call(&d.sh, "GET", "/metrics", None).await;
    let m = m.as_str().unwrap().to_string();
    assert!(
        m.contains("kbridge_webhook_deliveries_total{source=\"notion\",outcome=\"accepted\"} 2"),
        "{m}"
    );
    crate::support::assert_no_secret_anywhere(&d, &[NOTION_SECRET, CONF_SECRET], "twoway", 1).await;
}
