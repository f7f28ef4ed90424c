//! Sync's change signals against the twin's real webhook deliveries: a receiver on loopback
//! verifies each delivery with `kb_engine::sync::signals` before reading it; forged, unsigned
//! and wrongly keyed bodies are refused; duplicates collapse in the queue; kbridge's own bot
//! edits are recognised as echoes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use kb_engine::sync::signals::{self, Delivery, HintQueue, Service, SignalError};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::support::{admin, dataset, twin};

#[derive(Clone, Default)]
struct Inbox(Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>);

async fn receive(
    State(inbox): State<Inbox>,
    Path(hook): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    inbox.0.lock().unwrap().push((hook, headers, body));
    StatusCode::OK
}

impl Inbox {
    async fn wait(&self, hook: &str, n: usize) -> Vec<(HeaderMap, Bytes)> {
        for _ in 0..400 {
            let v: Vec<_> = self
                .0
                .lock()
                .unwrap()
                .iter()
                .filter(|(h, _, _)| h == hook)
                .map(|(_, hd, b)| (hd.clone(), b.clone()))
                .collect();
            if v.len() >= n {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{hook}: fewer than {n} deliveries");
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

async fn post_json(url: String, body: Value) -> u16 {
    reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn notion_deliveries_are_verified_then_queued_once_and_echoes_recognised() {
    let inbox = Inbox::default();
    let app = Router::new()
        .route("/hook/{name}", post(receive))
        .with_state(inbox.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    let sim = twin(20, 3).await;
    assert_eq!(
        post_json(
            format!("{}/__sim/webhooks", sim.url()),
            json!({"url": format!("http://{addr}/hook/notion"), "kind": "notion", "duplicate": 1.0}),
        )
        .await,
        201
    );
    // The first delivery is the unsigned verification request: the operator's token.
    let first = inbox.wait("notion", 1).await;
    let (h, body) = &first[0];
    assert!(header(h, "x-notion-signature").is_none());
    let token = match signals::notion(body, None, None).expect("a verification request") {
        Delivery::Verification { token } => token,
        d => panic!("expected the verification request, got {d:?}"),
    };
    assert!(token.expose_secret().starts_with("secret_"));

    let bot = "2e6c1b74-5fa0-4b5d-9c77-9c3b2a4d8e33";
    let events = [
        (
            "0c4a9f52-3d8e-4f3b-9a55-7a1f0e2b6c11",
            "person",
            "5a5a5a5a-1111-4222-8333-444444444444",
        ),
        ("1d5b0a63-4e9f-4a4c-8b66-8b2a1f3c7d22", "bot", bot),
    ];
    for (i, (page, kind, author)) in events.iter().enumerate() {
        let status = post_json(
            format!("{}/__sim/notion/events", sim.url()),
            json!({
                "type": "page.content_updated",
                "entity": {"id": page, "type": "page"},
                "parent": {"id": "7d5b0a63-4e9f-4a4c-8b66-8b2a1f3c7d22", "type": "page"},
                "authors": [{"id": author, "type": kind}],
                "timestamp": 1_750_000_000_000i64 + i as i64 * 1000,
            }),
        )
        .await;
        assert_eq!(status, 202);
    }
    // Two events, each delivered twice (duplicate = 1.0), after the verification request.
    let all = inbox.wait("notion", 5).await;
    let mut queue = HintQueue::default();
    let mut fresh = 0;
    for (h, body) in &all[1..] {
        let sig = header(h, "x-notion-signature");
        assert!(sig.is_some(), "every event is signed");
        match signals::notion(body, sig, Some(&token)).expect("verified") {
            Delivery::Hints(hints) => {
                for hint in hints {
                    assert_eq!(hint.service, Service::Notion);
                    fresh += usize::from(queue.push(hint));
                }
            }
            d => panic!("expected hints, got {d:?}"),
        }
        // Forged: one byte changed, or the right body with another key.
        let mut forged = body.to_vec();
        let at = forged.len() / 2;
        forged[at] ^= 0x01;
        assert_eq!(
            signals::notion(&forged, sig, Some(&token)).unwrap_err(),
            SignalError::BadSignature("Notion")
        );
        let other = SecretString::from("secret_not_the_token".to_string());
        assert!(matches!(
            signals::notion(body, sig, Some(&other)),
            Err(SignalError::BadSignature(_))
        ));
        // Unsigned: refused, unless it is nothing but a verification request.
        assert!(matches!(
            signals::notion(body, None, Some(&token)),
            Err(SignalError::Unsigned(_))
        ));
        assert!(matches!(
            signals::notion(body, sig, None),
            Err(SignalError::NoSecret(_))
        ));
    }
    assert_eq!(fresh, 2, "each event id is queued once");
    let hints = queue.drain();
    assert_eq!(hints.len(), 2);
    assert_eq!(
        hints[0].entity_id, "0c4a9f523d8e4f3b9a557a1f0e2b6c11",
        "ids normalised, oldest first"
    );
    assert_eq!(
        hints[0].parent_id.as_deref(),
        Some("7d5b0a634e9f4a4c8b668b2a1f3c7d22")
    );
    assert_eq!(hints[0].at_ms, 1_750_000_000_000);
    assert!(!hints[0].is_own_echo(bot), "a person's edit is not an echo");
    assert!(hints[1].is_own_echo(bot), "the bot's own edit is");
    assert!(queue.is_empty());
}

#[tokio::test]
async fn confluence_dc_deliveries_are_verified_with_the_secret() {
    let inbox = Inbox::default();
    let app = Router::new()
        .route("/hook/{name}", post(receive))
        .with_state(inbox.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    let sim = twin(20, 4).await;
    assert_eq!(
        post_json(
            format!("{}/__sim/webhooks", sim.url()),
            json!({"url": format!("http://{addr}/hook/dc"), "kind": "confluence_dc", "secret": "dc-secret", "events": ["page_updated"]}),
        )
        .await,
        201
    );
    let d = dataset(&sim).await;
    let page = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "page" && c["status"] == "current")
        .expect("a page")["id"]
        .clone();
    let pid = page
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| page.to_string());
    admin(
        &sim,
        &format!("pages/{pid}/edit"),
        json!({"append": "<p>a human edit</p>"}),
    )
    .await;
    let got = inbox.wait("dc", 1).await;
    let (h, body) = &got[0];
    let secret = SecretString::from("dc-secret".to_string());
    let sig = header(h, "x-hub-signature");
    match signals::confluence_dc(body, sig, Some(&secret)).expect("verified") {
        Delivery::Hints(hints) => {
            assert_eq!(hints.len(), 1);
            assert_eq!(hints[0].entity_id, pid);
            assert_eq!(hints[0].entity_type, "page");
            assert_eq!(hints[0].event, "page_updated");
            assert!(hints[0].at_ms > 0);
        }
        d => panic!("expected hints, got {d:?}"),
    }
    let wrong = SecretString::from("not-the-secret".to_string());
    assert!(matches!(
        signals::confluence_dc(body, sig, Some(&wrong)),
        Err(SignalError::BadSignature(_))
    ));
    assert!(matches!(
        signals::confluence_dc(body, None, Some(&secret)),
        Err(SignalError::Unsigned(_))
    ));
    assert!(matches!(
        signals::confluence_dc(body, sig, None),
        Err(SignalError::NoSecret(_))
    ));
}

#[test]
fn automation_requests_need_the_shared_secret_and_a_page_id() {
    let secret = SecretString::from("s3cret-header-value".to_string());
    let body = br#"{"event":"page_updated","pageId":"98765"}"#;
    match signals::confluence_automation(body, Some("s3cret-header-value"), Some(&secret)).unwrap()
    {
        Delivery::Hints(h) => assert_eq!(
            (h[0].entity_id.as_str(), h[0].event.as_str()),
            ("98765", "page_updated")
        ),
        d => panic!("{d:?}"),
    }
    assert!(matches!(
        signals::confluence_automation(body, Some("s3cret-header-valuE"), Some(&secret)),
        Err(SignalError::BadSignature(_))
    ));
    assert!(matches!(
        signals::confluence_automation(body, None, Some(&secret)),
        Err(SignalError::Unsigned(_))
    ));
    let e = signals::confluence_automation(
        br#"{"event":"x"}"#,
        Some("s3cret-header-value"),
        Some(&secret),
    )
    .unwrap_err();
    assert!(e.to_string().contains("{{page.id}}"), "{e}");
    // A verification-shaped body with anything else in it is not accepted unsigned.
    assert!(matches!(
        signals::notion(
            br#"{"verification_token":"secret_x","type":"page.deleted"}"#,
            None,
            None
        ),
        Err(SignalError::Unsigned(_))
    ));
}

/// Events that say a page moved, was trashed or restored ask for a reconcile; content edits
/// do not.
#[test]
fn structural_events_are_told_from_edits() {
    let secret = SecretString::from("s3cret-header-value".to_string());
    let hint = |event: &str| {
        let body = format!(r#"{{"event":"{event}","pageId":"98765"}}"#);
        match signals::confluence_automation(
            body.as_bytes(),
            Some("s3cret-header-value"),
            Some(&secret),
        )
        .unwrap()
        {
            Delivery::Hints(h) => h[0].clone(),
            d => panic!("{d:?}"),
        }
    };
    for e in [
        "page_moved",
        "page_removed",
        "page_trashed",
        "page_restored",
    ] {
        assert!(hint(e).is_structural(), "{e}");
    }
    for e in ["page_updated", "page_created", "page_changed"] {
        assert!(!hint(e).is_structural(), "{e}");
    }
    let mut h = hint("page_updated");
    for e in ["page.moved", "page.deleted", "page.undeleted"] {
        h.event = e.into();
        assert!(h.is_structural(), "{e}");
    }
    h.event = "page.content_updated".into();
    assert!(!h.is_structural());
}
