//! Access: every admin route answers 401 without or with a wrong token (the test walks the
//! route table the router is built from); the probes answer without; failed logins are
//! rate-limited; bodies carrying secrets are refused without echoing them.

use std::collections::HashMap;

use axum::http::StatusCode;
use kb_config::ConfigFile;
use kb_serve::api::{Access, routes};
use serde_json::json;

use crate::support::{TOKEN, call, daemon, request, send};

fn concrete(path: &str) -> String {
    path.replace("{name}", "nightly").replace("{id}", "1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_refuses_a_missing_or_wrong_token() {
    let d = daemon(
        ConfigFile::default(),
        HashMap::new(),
        "2026-03-04T10:00:00Z",
    )
    .await;
    let table = routes();
    let admin: Vec<_> = table.iter().filter(|r| r.access == Access::Admin).collect();
    assert!(
        admin.len() >= 18,
        "the table lists the admin routes: {}",
        admin.len()
    );
    let mut ip = 1u8;
    for r in &admin {
        let path = concrete(r.path);
        for token in [
            None,
            Some("wrong-token-0123456789abcdef0000"),
            Some(""),
            Some(&TOKEN[..TOKEN.len() - 1]),
        ] {
            ip = ip.wrapping_add(1);
            let body = (r.method != "GET" && r.method != "DELETE").then(|| json!({}));
            let (status, text) = send(
                &d.sh,
                request(r.method.as_str(), &path, token, body, [10, 0, 1, ip]),
            )
            .await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{} {path} with {token:?}: {text}",
                r.method
            );
            assert!(!text.contains(TOKEN), "the token is never echoed");
        }
    }
    // A path that is no route is no way around it either.
    let (status, _) = send(
        &d.sh,
        request("GET", "/api/v1/nothing-here", None, None, [10, 0, 2, 1]),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // With the token the same routes answer something else than 401.
    for r in &admin {
        let body = (r.method != "GET" && r.method != "DELETE").then(|| json!({}));
        let (status, _) = send(
            &d.sh,
            request(
                r.method.as_str(),
                &concrete(r.path),
                Some(TOKEN),
                body,
                [10, 0, 3, 1],
            ),
        )
        .await;
        assert_ne!(
            status,
            StatusCode::UNAUTHORIZED,
            "{} {} with the token",
            r.method,
            r.path
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_answer_without_a_token() {
    let d = daemon(
        ConfigFile::default(),
        HashMap::new(),
        "2026-03-04T10:00:00Z",
    )
    .await;
    let public: Vec<_> = routes()
        .into_iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| r.path)
        .collect();
    assert!(
        public.contains(&"/healthz") && public.contains(&"/readyz"),
        "{public:?}"
    );
    let (s, b) = send(&d.sh, request("GET", "/healthz", None, None, [10, 1, 0, 1])).await;
    assert_eq!((s, b.trim()), (StatusCode::OK, "ok"));
    let (s, b) = send(&d.sh, request("GET", "/readyz", None, None, [10, 1, 0, 1])).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b.contains("\"ready\":true"), "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_rate_limited_per_address() {
    let d = daemon(
        ConfigFile::default(),
        HashMap::new(),
        "2026-03-04T10:00:00Z",
    )
    .await;
    let ip = [10, 2, 0, 1];
    for i in 0..10 {
        let (s, _) = send(
            &d.sh,
            request(
                "GET",
                "/api/v1/jobs",
                Some("guess-{i}-0123456789abcdef"),
                None,
                ip,
            ),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // The 11th is refused even with the right token; another address is not affected.
    let (s, _) = send(&d.sh, request("GET", "/api/v1/jobs", Some(TOKEN), None, ip)).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let (s, _) = send(
        &d.sh,
        request("GET", "/api/v1/jobs", Some(TOKEN), None, [10, 2, 0, 2]),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // Five minutes later the address may try again.
    d.clock.advance(jiff::SignedDuration::from_mins(6));
    let (s, _) = send(&d.sh, request("GET", "/api/v1/jobs", Some(TOKEN), None, ip)).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_with_a_secret_in_it_is_refused_without_echoing_it() {
    let d = daemon(
        ConfigFile::default(),
        HashMap::new(),
        "2026-03-04T10:00:00Z",
    )
    .await;
    let secret = "ATATT3xFfGF0-very-secret-token";
    let (s, v) = call(
        &d.sh,
        "PUT",
        "/api/v1/connections/wiki",
        Some(json!({"kind": "confluence_cloud", "url": "https://acme.atlassian.net", "email": "a@example.com", "token": secret})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `token`"),
        "{v}"
    );
    assert!(!v.to_string().contains(secret));
    // A secret in the wrong place (a number field) is not echoed either.
    let (s, v) = call(
        &d.sh,
        "PUT",
        "/api/v1/connections/wiki",
        Some(json!({"kind": "confluence_cloud", "url": "https://acme.atlassian.net", "email": "a@example.com", "rate": secret})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(!v.to_string().contains(secret), "{v}");
    // The right shape names the variable.
    let (s, v) = call(
        &d.sh,
        "PUT",
        "/api/v1/connections/wiki",
        Some(json!({"kind": "confluence_cloud", "url": "https://acme.atlassian.net", "email": "a@example.com", "token_env": "WIKI_TOKEN"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = call(&d.sh, "GET", "/api/v1/connections", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["connections"][0]["spec"]["token_env"], "WIKI_TOKEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_saved_checked_paused_and_run_by_hand() {
    let d = daemon(
        ConfigFile::default(),
        HashMap::new(),
        "2026-03-04T10:00:00Z",
    )
    .await;
    let (s, v) = call(
        &d.sh,
        "PUT",
        "/api/v1/jobs/nightly",
        Some(json!({"job": {"kind": "extract", "spaces": ["ENG"]}, "schedule": {"every": "daily 25:00"}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"].as_str().unwrap().contains("not HH:MM"), "{v}");
    let (s, v) = call(
        &d.sh,
        "PUT",
        "/api/v1/jobs/nightly",
        Some(json!({"job": {"kind": "extract", "spaces": ["ENG"]}, "schedule": {"every": "daily 02:00", "time_zone": "Europe/Paris"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "pending");
    let (s, v) = call(&d.sh, "POST", "/api/v1/jobs/nightly/run", None).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let run = v["run"].as_i64().unwrap();
    // Never twice at once.
    let (s, v) = call(&d.sh, "POST", "/api/v1/jobs/nightly/run", None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["error"].as_str().unwrap().contains(&run.to_string()));
    let (s, v) = call(&d.sh, "POST", "/api/v1/jobs/nightly/pause", None).await;
    assert_eq!((s, v["paused"].as_bool()), (StatusCode::OK, Some(true)));
    let (_, v) = call(&d.sh, "GET", "/api/v1/overview", None).await;
    assert_eq!(v["jobs"][0]["status"], "paused", "{v}");
    let (s, v) = call(&d.sh, "GET", &format!("/api/v1/runs/{run}"), None).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("queued")));
    let (s, _) = call(&d.sh, "GET", "/api/v1/runs/99999", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = call(&d.sh, "GET", "/metrics", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        v.as_str().unwrap().contains("kbridge_admin_requests_total"),
        "{v}"
    );
}

#[test]
fn openapi_json_lists_exactly_the_api_routes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut documented = std::collections::BTreeSet::new();
    for (p, ops) in doc["paths"].as_object().unwrap() {
        for m in ops
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "parameters")
        {
            documented.insert((m.to_uppercase(), p.clone()));
        }
    }
    let served: std::collections::BTreeSet<_> = routes()
        .iter()
        .filter(|r| {
            ["/api/", "/metrics", "/healthz", "/readyz", "/webhooks/"]
                .iter()
                .any(|p| r.path.starts_with(p))
        })
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(
        served, documented,
        "docs/openapi.json and the route table differ"
    );
    // The public ones are marked so.
    for p in ["/healthz", "/readyz"] {
        assert_eq!(doc["paths"][p]["get"]["security"], json!([]), "{p}");
    }
    for r in routes().iter().filter(|r| r.access == Access::Signed) {
        assert_eq!(
            doc["paths"][r.path]["post"]["security"],
            json!([]),
            "{}",
            r.path
        );
    }
}
