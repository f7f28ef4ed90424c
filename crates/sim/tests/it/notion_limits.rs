//! Notion's average of three requests per second per integration (on by default), 429
//! `rate_limited` with `Retry-After`; the fault plan applies to `/v1` too.

use std::time::Duration;

use kb_sim::notion::NotionConfig;
use kb_sim::{FaultPlan, SimConfig};
use reqwest::Method;

use crate::notion_support::*;

/// Sends `n` requests spaced by `gap`; returns the 429 answers.
async fn pace(t: &NTwin, n: usize, gap: Duration) -> Vec<NReply> {
    let mut limited = Vec::new();
    for _ in 0..n {
        let r = t.call(V2025, Method::GET, "/v1/users/me", None).await;
        if r.status == 429 {
            limited.push(r);
        } else {
            assert_eq!(r.status, 200, "{}", r.json);
        }
        tokio::time::sleep(gap).await;
    }
    limited
}

#[tokio::test]
async fn ten_requests_a_second_are_rate_limited_with_retry_after() {
    // The default configuration: Notion's limit is on.
    let t = NTwin::start(SimConfig::default()).await;
    let limited = pace(&t, 40, Duration::from_millis(100)).await;
    assert!(
        !limited.is_empty(),
        "10 requests/s for 4 s must meet the 3/s average"
    );
    for r in &limited {
        assert_eq!(r.json["object"], "error");
        assert_eq!(r.json["code"], "rate_limited");
        assert_eq!(r.json["status"], 429);
        let ra: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(ra >= 1, "Retry-After in whole seconds");
    }
    // A 429 counts in the stats under its route.
    let stats: serde_json::Value = t
        .http
        .get(format!("{}/__sim/stats", t.origin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        stats["requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["route"] == "/v1/users/me" && r["status"] == 429)
    );
}

#[tokio::test]
async fn three_requests_a_second_or_fewer_are_not_limited() {
    let t = NTwin::start(SimConfig::default()).await;
    // 2.5 requests/s, past the burst.
    let limited = pace(&t, 16, Duration::from_millis(400)).await;
    assert!(limited.is_empty(), "{} limited", limited.len());
    // The other integration has its own bucket.
    let restricted = t.handle.notion_restricted_token().to_string();
    let r = t
        .raw(
            Method::GET,
            "/v1/users/me",
            Some(&restricted),
            Some(V2025),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn the_rate_can_be_raised_and_faults_apply_to_v1() {
    let t = NTwin::start(SimConfig {
        notion: NotionConfig {
            rate: None,
            ..Default::default()
        },
        faults: "503=1".parse::<FaultPlan>().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let r = t.call(V2025, Method::GET, "/v1/users", None).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json["object"], "error");
    assert_eq!(r.json["code"], "service_unavailable");
    assert!(r.headers.contains_key("retry-after"));
    t.admin("/__sim/faults", &serde_json::json!({"plan": ""}))
        .await;
    // Off: a burst of 30 passes.
    let limited = pace(&t, 30, Duration::ZERO).await;
    assert!(limited.is_empty());
    // Back on at run time, tight: the burst of one is spent at once.
    t.admin(
        "/__sim/notion/rate",
        &serde_json::json!({"per_second": 0.5, "burst": 1}),
    )
    .await;
    let limited = pace(&t, 3, Duration::ZERO).await;
    assert_eq!(limited.len(), 2);
}
