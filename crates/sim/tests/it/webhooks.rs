//! Webhooks: real receivers (an axum server on loopback in the test) registered with the twin
//! get the events of API and admin writes in the DC, Cloud and Notion shapes, signed; the
//! delivery log, retries, duplication, reordering and delay behave as configured.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::Twin;

#[derive(Clone, Debug)]
struct Hit {
    hook: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Hit {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook bodies are JSON")
    }
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|h| h.to_str().unwrap().to_string())
    }
}

#[derive(Clone, Default)]
struct Inbox {
    hits: Arc<Mutex<Vec<Hit>>>,
    /// Per hook, how many more requests answer 500 before it accepts.
    fail: Arc<Mutex<std::collections::HashMap<String, u32>>>,
}

impl Inbox {
    fn of(&self, hook: &str) -> Vec<Hit> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.hook == hook)
            .cloned()
            .collect()
    }
    /// Waits (up to 20 s, polling) until `hook` got at least `n` requests.
    async fn wait(&self, hook: &str, n: usize) -> Vec<Hit> {
        for _ in 0..400 {
            let v = self.of(hook);
            if v.len() >= n {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{hook} got {} requests, expected {n}", self.of(hook).len());
    }
}

async fn receive(
    State(inbox): State<Inbox>,
    Path(hook): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    inbox.hits.lock().unwrap().push(Hit {
        hook: hook.clone(),
        headers,
        body,
    });
    let mut fail = inbox.fail.lock().unwrap();
    match fail.get_mut(&hook) {
        Some(n) if *n > 0 => {
            *n -= 1;
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::NO_CONTENT,
    }
}

/// A receiver server on loopback; returns its base URL.
async fn receiver(inbox: Inbox) -> String {
    let app = Router::new()
        .route("/hook/{name}", post(receive))
        .with_state(inbox);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    format!("http://{addr}/hook")
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}

async fn register(twin: &Twin, body: Value) -> u64 {
    let r = twin
        .http
        .post(twin.url("/__sim/webhooks"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{body}");
    r.json::<Value>().await.unwrap()["id"].as_u64().unwrap()
}

async fn deliveries(twin: &Twin) -> Vec<Value> {
    let v: Value = twin
        .http
        .get(twin.url("/__sim/webhooks/deliveries"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["deliveries"].as_array().unwrap().clone()
}

fn storage(s: &str) -> Value {
    json!({"representation": "storage", "value": s})
}

#[tokio::test]
async fn confluence_writes_reach_dc_and_cloud_receivers_signed() {
    let inbox = Inbox::default();
    let url = receiver(inbox.clone()).await;
    let twin = Twin::small().await;
    register(
        &twin,
        json!({"url": format!("{url}/dc"), "kind": "confluence_dc", "secret": "dc-secret"}),
    )
    .await;
    register(
        &twin,
        json!({"url": format!("{url}/cloud"), "kind": "confluence_cloud", "secret": "app-secret"}),
    )
    .await;
    // Only page events reach this one.
    register(
        &twin,
        json!({"url": format!("{url}/pages-only"), "kind": "confluence_dc", "events": ["page_created"]}),
    )
    .await;
    let d = twin.dataset().await;
    let space = d["spaces"][0]["id"].to_string();
    let space_key = d["spaces"][0]["key"].as_str().unwrap().to_string();
    // API: create, update, trash; a label; a footer comment; an admin edit.
    let p = twin
        .send(
            Method::POST,
            "/wiki/api/v2/pages",
            &json!({"spaceId": space, "title": "Hooked", "body": storage("<p>a</p>")}),
        )
        .await;
    assert_eq!(p.status, 200);
    let pid = p.json["id"].as_str().unwrap().to_string();
    let u = twin
        .send(
            Method::PUT,
            &format!("/wiki/api/v2/pages/{pid}"),
            &json!({"id": pid, "status": "current", "title": "Hooked", "body": storage("<p>b</p>"), "version": {"number": 2}}),
        )
        .await;
    assert_eq!(u.status, 200);
    let l = twin
        .send(
            Method::POST,
            &format!("/wiki/rest/api/content/{pid}/label"),
            &json!([{"prefix": "global", "name": "hooked"}]),
        )
        .await;
    assert_eq!(l.status, 200);
    let c = twin
        .send(
            Method::POST,
            "/wiki/api/v2/footer-comments",
            &json!({"pageId": pid, "body": storage("<p>c</p>")}),
        )
        .await;
    assert_eq!(c.status, 201);
    twin.admin_post(
        &format!("/__sim/confluence/pages/{pid}/edit"),
        &json!({"append": "by a human"}),
    )
    .await;
    let del = twin
        .call_as(
            Some(crate::support::ADMIN),
            Method::DELETE,
            &format!("/wiki/api/v2/pages/{pid}"),
            None,
        )
        .await;
    assert_eq!(del.status, 204);
    let expected = [
        "page_created",
        "page_updated",
        "label_added",
        "comment_created",
        "page_updated",
        "page_removed",
    ];
    let dc = inbox.wait("dc", expected.len()).await;
    let names: Vec<String> = dc
        .iter()
        .map(|h| h.json()["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, expected);
    let pid_n: u64 = pid.parse().unwrap();
    let admin = d["users"][0]["accountId"].clone();
    for (i, h) in dc.iter().enumerate() {
        // X-Hub-Signature is the HMAC of the raw body.
        assert_eq!(
            h.header("x-hub-signature"),
            Some(hmac_hex("dc-secret", &h.body))
        );
        let v = h.json();
        assert!(v["timestamp"].as_i64().unwrap() > 1_600_000_000_000);
        if i != 4 {
            assert_eq!(v["userKey"], admin, "API calls are by the admin");
        }
    }
    // ID-only entities, ids as numbers.
    assert_eq!(dc[0].json()["page"], json!({"id": pid_n}));
    assert_eq!(dc[2].json()["labeled"], json!({"id": pid_n}));
    assert_eq!(dc[2].json()["label"]["name"], "hooked");
    assert!(dc[3].json()["comment"]["id"].is_u64());
    // The admin edit is by another user than the API calls.
    assert_ne!(dc[4].json()["userKey"], dc[0].json()["userKey"]);

    let cloud = inbox.wait("cloud", expected.len()).await;
    for (h, name) in cloud.iter().zip(expected) {
        let v = h.json();
        assert_eq!(v["event"], name);
        assert_eq!(v["accountType"], "atlassian");
        // A Connect JWT signed with the shared secret.
        let auth = h.header("authorization").expect("JWT");
        let token = auth.strip_prefix("JWT ").expect("JWT scheme");
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(b"app-secret").unwrap();
        m.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[2])
            .unwrap();
        m.verify_slice(&sig)
            .expect("the JWT verifies with the shared secret");
    }
    let created = cloud[0].json();
    assert_eq!(created["page"]["id"], pid.as_str());
    assert_eq!(created["page"]["title"], "Hooked");
    assert_eq!(created["page"]["spaceKey"], space_key.as_str());
    assert_eq!(created["page"]["version"], 1);
    assert_eq!(cloud[1].json()["page"]["version"], 2);
    assert_eq!(cloud[1].json()["updateTrigger"], "edit_page");
    assert_eq!(cloud[3].json()["comment"]["parent"]["id"], pid.as_str());

    let only = inbox.wait("pages-only", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(inbox.of("pages-only").len(), 1, "filtered to page_created");
    assert_eq!(only[0].json()["event"], "page_created");
    assert!(
        only[0].header("x-hub-signature").is_none(),
        "no secret, no signature"
    );

    // The log and the stats count them.
    let log = deliveries(&twin).await;
    assert!(log.iter().filter(|d| d["delivered"] == true).count() >= 13);
    let stats: Value = twin
        .http
        .get(twin.url("/__sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        stats["webhooks"]["delivered"].as_u64().unwrap() >= 13,
        "{stats}"
    );
}

#[tokio::test]
async fn purge_move_and_attachment_events_carry_their_entities() {
    let inbox = Inbox::default();
    let url = receiver(inbox.clone()).await;
    let twin = Twin::small().await;
    register(
        &twin,
        json!({"url": format!("{url}/dc"), "kind": "confluence_dc"}),
    )
    .await;
    let d = twin.dataset().await;
    let space = &d["spaces"][0];
    let pages: Vec<&Value> = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "page" && c["status"] == "current" && c["spaceId"] == space["id"])
        .collect();
    let (a, b) = (
        pages[3]["id"].as_u64().unwrap(),
        pages[4]["id"].as_u64().unwrap(),
    );
    twin.admin_post(
        &format!("/__sim/confluence/pages/{a}/move"),
        &json!({"parentId": space["homepageId"].to_string()}),
    )
    .await;
    twin.admin_post(&format!("/__sim/confluence/pages/{b}/delete"), &json!({}))
        .await;
    twin.admin_post(
        &format!("/__sim/confluence/pages/{b}/delete?purge=true"),
        &json!({}),
    )
    .await;
    let hits = inbox.wait("dc", 3).await;
    let v: Vec<Value> = hits.iter().map(Hit::json).collect();
    assert_eq!(v[0]["event"], "page_moved");
    assert_eq!(v[0]["page"]["id"], a);
    assert_eq!(v[0]["newParent"]["id"], space["homepageId"]);
    assert_eq!(v[1]["event"], "page_removed", "to the trash");
    assert_eq!(v[2]["event"], "page_trashed", "purged");
    assert_eq!(v[2]["page"]["id"], b);
}

#[tokio::test]
async fn notion_receivers_are_verified_then_get_signed_envelopes() {
    let inbox = Inbox::default();
    let url = receiver(inbox.clone()).await;
    let twin = Twin::small().await;
    register(
        &twin,
        json!({"url": format!("{url}/notion"), "kind": "notion"}),
    )
    .await;
    let first = inbox.wait("notion", 1).await;
    assert!(first[0].header("x-notion-signature").is_none(), "unsigned");
    let token = first[0].json()["verification_token"]
        .as_str()
        .expect("a verification token")
        .to_string();
    assert!(token.starts_with("secret_"));
    let r = twin
        .http
        .post(twin.url("/__sim/notion/events"))
        .json(&json!({
            "type": "page.content_updated",
            "entity": {"id": "0c4a9f52-3d8e-4f3b-9a55-7a1f0e2b6c11", "type": "page"},
            "parent": {"id": "1d5b0a63-4e9f-4a4c-8b66-8b2a1f3c7d22", "type": "page"},
            "authors": [{"id": "2e6c1b74-5fa0-4b5d-9c77-9c3b2a4d8e33", "type": "person"}],
            "timestamp": 1_750_000_000_000i64,
            "data": {"updated_blocks": [{"id": "3f7d2c85-60b1-4c6e-8d88-ad4c3b5e9f44", "type": "block"}]},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // Malformed events are 400s that say what is wrong.
    let bad = twin
        .http
        .post(twin.url("/__sim/notion/events"))
        .json(&json!({"entity": {"id": "x", "type": "page"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("type"));
    let hits = inbox.wait("notion", 2).await;
    let ev = &hits[1];
    assert_eq!(
        ev.header("x-notion-signature"),
        Some(hmac_hex(&token, &ev.body)),
        "signed with the verification token"
    );
    let v = ev.json();
    for k in [
        "id",
        "timestamp",
        "workspace_id",
        "workspace_name",
        "subscription_id",
        "integration_id",
        "type",
        "authors",
        "accessible_by",
        "attempt_number",
        "api_version",
        "entity",
        "data",
    ] {
        assert!(v.get(k).is_some(), "envelope field {k}: {v}");
    }
    assert_eq!(v["type"], "page.content_updated");
    assert_eq!(v["attempt_number"], 1);
    assert_eq!(v["timestamp"], "2025-06-15T15:06:40.000Z");
    assert_eq!(v["entity"]["type"], "page");
    assert_eq!(v["data"]["parent"]["type"], "page");
    assert_eq!(v["data"]["updated_blocks"][0]["type"], "block");
    assert_eq!(v["authors"][0]["type"], "person");
    assert_eq!(ev.header("x-sim-event-id").as_deref(), v["id"].as_str());
    // Confluence changes do not reach a Notion receiver.
    twin.admin_post(
        &format!(
            "/__sim/confluence/pages/{}/edit",
            twin.dataset().await["spaces"][0]["homepageId"]
        ),
        &json!({"append": "x"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(inbox.of("notion").len(), 2);
}

#[tokio::test]
async fn notion_twin_changes_become_signed_notion_webhooks() {
    let inbox = Inbox::default();
    let url = receiver(inbox.clone()).await;
    let twin = Twin::small().await;
    register(
        &twin,
        json!({"url": format!("{url}/notion"), "kind": "notion"}),
    )
    .await;
    let first = inbox.wait("notion", 1).await;
    let token = first[0].json()["verification_token"]
        .as_str()
        .expect("a verification token")
        .to_string();
    let d: Value = twin
        .http
        .get(twin.url("/__sim/notion/dataset"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page = d["pages"][0]["id"]
        .as_str()
        .expect("a Notion page")
        .to_string();
    twin.admin_post(
        &format!("/__sim/notion/pages/{page}/edit"),
        &json!({"append": "edited by a human"}),
    )
    .await;
    let hits = inbox.wait("notion", 2).await;
    let ev = &hits[1];
    assert_eq!(
        ev.header("x-notion-signature"),
        Some(hmac_hex(&token, &ev.body)),
        "signed with the verification token"
    );
    let v = ev.json();
    assert_eq!(v["type"], "page.content_updated", "{v}");
    assert_eq!(v["entity"]["id"], page.as_str());
    assert_eq!(v["entity"]["type"], "page");
}

#[tokio::test]
async fn failed_deliveries_are_retried_and_logged() {
    let inbox = Inbox::default();
    inbox.fail.lock().unwrap().insert("flaky".into(), 2);
    inbox.fail.lock().unwrap().insert("down".into(), 1000);
    let url = receiver(inbox.clone()).await;
    let twin = Twin::small().await;
    let flaky = register(
        &twin,
        json!({"url": format!("{url}/flaky"), "kind": "confluence_dc", "max_attempts": 4, "backoff_ms": 10}),
    )
    .await;
    let down = register(
        &twin,
        json!({"url": format!("{url}/down"), "kind": "confluence_cloud", "backoff_ms": 10}),
    )
    .await;
    let home = twin.dataset().await["spaces"][0]["homepageId"].clone();
    twin.admin_post(
        &format!("/__sim/confluence/pages/{home}/edit"),
        &json!({"append": "x"}),
    )
    .await;
    inbox.wait("flaky", 3).await;
    inbox.wait("down", 1).await;
    let mut log = Vec::new();
    for _ in 0..200 {
        log = deliveries(&twin).await;
        if log.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let of = |r: u64| log.iter().find(|d| d["receiver"] == r).cloned().unwrap();
    let f = of(flaky);
    assert_eq!(f["attempts"], 3, "{f}");
    assert_eq!(f["status"], 204);
    assert_eq!(f["delivered"], true);
    assert_eq!(f["event"], "page_updated");
    // Cloud apps' webhooks are best effort: one attempt.
    let d = of(down);
    assert_eq!(d["attempts"], 1, "{d}");
    assert_eq!(d["status"], 500);
    assert_eq!(d["delivered"], false);
    let hits = inbox.of("flaky");
    assert_eq!(hits.len(), 3);
    assert!(
        hits.iter().all(|h| h.body == hits[0].body),
        "retries send the same body"
    );
}

/// Registers a receiver with `extra` settings, adds `n` labels (`l0`…) to a page in one request
/// (so that the `n` events are emitted together, whatever the machine's load), and returns
/// `event id|label name` in the order the receiver got them.
async fn labels_seen(seed: u64, extra: Value, n: usize) -> Vec<String> {
    let inbox = Inbox::default();
    let url = receiver(inbox.clone()).await;
    let twin = Twin::with(kb_sim::WorkspaceConfig {
        seed,
        ..kb_sim::WorkspaceConfig::default()
    })
    .await;
    let mut body = json!({"url": format!("{url}/r"), "kind": "confluence_dc"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    register(&twin, body).await;
    let home = twin.dataset().await["spaces"][0]["homepageId"].clone();
    let labels: Vec<Value> = (0..n)
        .map(|i| json!({"prefix": "global", "name": format!("l{i}")}))
        .collect();
    let r = twin
        .send(
            Method::POST,
            &format!("/wiki/rest/api/content/{home}/label"),
            &Value::Array(labels),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    let dup = extra
        .get("duplicate")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let want = if dup >= 1.0 { 2 * n } else { n };
    let hits = inbox.wait("r", want).await;
    hits.iter()
        .map(|h| {
            let v = h.json();
            assert_eq!(v["event"], "label_added");
            assert_eq!(h.header("x-sim-event-id").map(|s| s.len()), Some(36));
            format!(
                "{}|{}",
                h.header("x-sim-event-id").unwrap(),
                v["label"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn duplicates_repeat_the_event_id_and_reordering_is_a_seeded_shuffle() {
    // duplicate = 1: every event twice, back to back, same id and body.
    let seen = labels_seen(7, json!({"duplicate": 1.0}), 3).await;
    assert_eq!(seen.len(), 6);
    for pair in seen.chunks(2) {
        assert_eq!(pair[0], pair[1]);
    }
    // In order without reordering.
    let plain = labels_seen(7, json!({}), 6).await;
    let names = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|s| s.split('|').nth(1).unwrap().to_string())
            .collect()
    };
    let emitted: Vec<String> = (0..6).map(|i| format!("l{i}")).collect();
    assert_eq!(names(&plain), emitted);
    // reorder = 6 over 6 events: a permutation, the same for the same seed (ids included).
    let a = labels_seen(7, json!({"reorder": 6}), 6).await;
    let b = labels_seen(7, json!({"reorder": 6}), 6).await;
    assert_ne!(names(&a), emitted, "reordered");
    let mut sorted = names(&a);
    sorted.sort();
    assert_eq!(sorted, emitted, "a permutation: nothing lost or added");
    assert_eq!(a, b, "same seed, same order and event ids");
}

#[tokio::test]
async fn a_delayed_receiver_has_not_got_what_a_prompt_one_has() {
    let inbox = Inbox::default();
    let url = receiver(inbox.clone()).await;
    let twin = Twin::small().await;
    register(
        &twin,
        json!({"url": format!("{url}/prompt"), "kind": "confluence_dc"}),
    )
    .await;
    register(
        &twin,
        json!({"url": format!("{url}/late"), "kind": "confluence_dc", "delay_ms": 3_600_000}),
    )
    .await;
    let home = twin.dataset().await["spaces"][0]["homepageId"].clone();
    twin.admin_post(
        &format!("/__sim/confluence/pages/{home}/edit"),
        &json!({"append": "x"}),
    )
    .await;
    inbox.wait("prompt", 1).await;
    assert!(
        inbox.of("late").is_empty(),
        "an hour's delay has not passed"
    );
}

#[tokio::test]
async fn receivers_are_listed_without_secrets_removed_and_bad_ones_refused() {
    let twin = Twin::small().await;
    let id = register(
        &twin,
        json!({"url": "http://127.0.0.1:9/x", "kind": "confluence_dc", "secret": "do-not-show"}),
    )
    .await;
    let list = twin
        .http
        .get(twin.url("/__sim/webhooks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!list.contains("do-not-show"), "{list}");
    let v: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(v["receivers"][0]["id"], id);
    assert_eq!(v["receivers"][0]["hasSecret"], true);
    for bad in [
        json!({"url": "http://127.0.0.1:9/x", "kind": "jira"}),
        json!({"url": "not a url", "kind": "notion"}),
        json!({"url": "http://127.0.0.1:9/x", "kind": "notion", "duplicate": 2.0}),
        json!({"url": "http://127.0.0.1:9/x", "kind": "notion", "colour": "red"}),
    ] {
        let r = twin
            .http
            .post(twin.url("/__sim/webhooks"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let msg = r.text().await.unwrap();
        assert!(msg.contains("webhook receiver"), "{msg}");
    }
    let del = twin
        .http
        .delete(twin.url(&format!("/__sim/webhooks/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 200);
    let again = twin
        .http
        .delete(twin.url(&format!("/__sim/webhooks/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn receivers_from_the_config_are_registered_at_start() {
    let inbox = Inbox::default();
    let url = receiver(inbox.clone()).await;
    let mut r =
        kb_sim::ReceiverConfig::new(kb_sim::ReceiverKind::ConfluenceDc, format!("{url}/cfg"));
    r.secret = Some("s".into());
    let twin = Twin::start(kb_sim::SimConfig {
        webhooks: vec![r],
        ..kb_sim::SimConfig::default()
    })
    .await;
    let home = twin.dataset().await["spaces"][0]["homepageId"].clone();
    twin.admin_post(
        &format!("/__sim/confluence/pages/{home}/edit"),
        &json!({"append": "x"}),
    )
    .await;
    let h = inbox.wait("cfg", 1).await;
    assert_eq!(
        h[0].header("x-hub-signature"),
        Some(hmac_hex("s", &h[0].body))
    );
}
