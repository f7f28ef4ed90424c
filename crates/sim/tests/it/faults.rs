//! The fault plan and the rate limits are enforced: 429 with `Retry-After`, 503, slow answers,
//! reset connections, truncated bodies, deterministic by seed.

use std::time::{Duration, Instant};

use kb_sim::{SimConfig, WorkspaceConfig};
use reqwest::Method;
use serde_json::json;

use crate::support::{ADMIN, Twin};

async fn with_faults(plan: &str, seed: u64) -> Twin {
    Twin::start(SimConfig {
        faults: plan.parse().unwrap(),
        workspace: WorkspaceConfig {
            seed,
            pages: 20,
            ..WorkspaceConfig::default()
        },
        ..SimConfig::default()
    })
    .await
}

async fn statuses(twin: &Twin, n: usize) -> Vec<u16> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(twin.get("/wiki/api/v2/spaces").await.status.as_u16());
    }
    v
}

#[tokio::test]
async fn faults_429_and_503_carry_retry_after_and_are_deterministic() {
    let twin = with_faults("429=1", 7).await;
    let r = twin.get("/wiki/api/v2/pages").await;
    assert_eq!(r.status, 429);
    let ra: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3).contains(&ra));
    assert_eq!(r.json["errors"][0]["code"], "TOO_MANY_REQUESTS");
    // Introspection is never faulted, and counts what the clients saw.
    let stats = twin
        .http
        .get(twin.url("/__sim/stats"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(stats["requests"][0]["status"], 429);
    assert_eq!(stats["requests"][0]["route"], "/wiki/api/v2/pages");
    assert_eq!(
        twin.handle
            .sim
            .stats
            .count("GET", "/wiki/api/v2/pages", 429),
        1
    );

    let a = statuses(&with_faults("503=0.4", 11).await, 60).await;
    let b = statuses(&with_faults("503=0.4", 11).await, 60).await;
    let c = statuses(&with_faults("503=0.4", 12).await, 60).await;
    assert_eq!(a, b, "same seed, same faults");
    assert_ne!(a, c, "another seed, other faults");
    let n503 = a.iter().filter(|s| **s == 503).count();
    assert!((10..=40).contains(&n503), "about 40 % of 60: {n503}");
    assert!(a.iter().all(|s| *s == 200 || *s == 503));
    let t = with_faults("503=1", 1).await;
    let r = t.get("/wiki/rest/api/group").await;
    assert_eq!(r.status, 503);
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(r.json["statusCode"], 503, "v1 paths fail in the v1 shape");
}

#[tokio::test]
async fn slow_reset_and_truncate() {
    let twin = with_faults("slow=1:150ms", 7).await;
    let t0 = Instant::now();
    assert_eq!(twin.get("/wiki/api/v2/spaces").await.status, 200);
    assert!(t0.elapsed() >= Duration::from_millis(150));

    let twin = with_faults("reset=1", 7).await;
    let err = twin
        .http
        .get(twin.url("/wiki/api/v2/spaces"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await;
    assert!(err.is_err(), "a reset connection gives no answer: {err:?}");

    let twin = with_faults("truncate=1", 7).await;
    let r = twin
        .http
        .get(twin.url("/wiki/api/v2/pages?body-format=storage"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let announced = r.content_length().unwrap();
    assert!(announced > 0);
    assert!(r.bytes().await.is_err(), "the body stops half way");

    // The plan can be changed at run time.
    let set = twin.admin_post("/__sim/faults", &json!({"plan": ""})).await;
    assert_eq!(set["plan"], "");
    assert_eq!(twin.get("/wiki/api/v2/spaces").await.status, 200);
    let bad = twin
        .http
        .post(twin.url("/__sim/faults"))
        .json(&json!({"plan": "418=2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn per_endpoint_burst_limits_answer_429_with_retry_after() {
    let twin = Twin::start(SimConfig {
        rate_limits: "GET:/wiki/api/v2/spaces=5".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let mut remaining = Vec::new();
    for _ in 0..5 {
        let r = twin.get("/wiki/api/v2/spaces").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.headers["x-ratelimit-limit"], "5");
        remaining.push(
            r.headers["x-ratelimit-remaining"]
                .to_str()
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
    }
    assert_eq!(remaining, vec![4, 3, 2, 1, 0]);
    let r = twin.get("/wiki/api/v2/spaces").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(r.headers["x-ratelimit-nearlimit"], "true");
    assert!(
        r.headers["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .ends_with('Z')
    );
    // Other endpoints have their own buckets (and this one is not limited at all).
    let r = twin.get("/wiki/api/v2/pages").await;
    assert_eq!(r.status, 200);
    assert!(!r.headers.contains_key("x-ratelimit-limit"));

    // A fast refill: 20/s with a burst of 1 is back after 50 ms.
    twin.admin_post("/__sim/rate-limits", &json!({"spec": "get=20/1"}))
        .await;
    assert_eq!(twin.get("/wiki/api/v2/pages").await.status, 200);
    assert_eq!(twin.get("/wiki/api/v2/pages").await.status, 429);
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(twin.get("/wiki/api/v2/pages").await.status, 200);
}

#[tokio::test]
async fn faults_scoped_to_one_route_leave_the_others_alone() {
    let twin = Twin::start(SimConfig {
        faults: "GET:/wiki/api/v2/spaces:503=1".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    for _ in 0..5 {
        let r = twin.get("/wiki/api/v2/spaces").await;
        assert_eq!(r.status, 503);
        assert!(r.headers.get("retry-after").is_some());
        assert_eq!(r.json["errors"][0]["status"], 503);
        assert_eq!(twin.get("/wiki/api/v2/pages").await.status, 200);
        assert_eq!(twin.get("/wiki/rest/api/space").await.status, 200);
    }
    // Another method on the same route is not faulted.
    let post = twin
        .send(
            reqwest::Method::POST,
            "/wiki/api/v2/spaces",
            &serde_json::json!({}),
        )
        .await;
    assert_ne!(post.status, 503);
    // Replaced at run time: a prefix scope, every method, and an unscoped part.
    let r = twin
        .http
        .post(twin.url("/__sim/faults"))
        .json(&serde_json::json!({"plan": "/wiki/rest/*:500=1;GET:/wiki/api/v2/pages:429=0"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let plan: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        plan["plan"],
        "/wiki/rest/*:500=1;GET:/wiki/api/v2/pages:429=0"
    );
    assert_eq!(twin.get("/wiki/rest/api/space").await.status, 500);
    let v1 = twin.get("/wiki/rest/api/content").await;
    assert_eq!(v1.status, 500);
    assert_eq!(v1.json["statusCode"], 500, "the v1 error shape");
    assert_eq!(twin.get("/wiki/api/v2/spaces").await.status, 200);
    // A scope with nothing after it is refused with the entry named.
    let bad = twin
        .http
        .post(twin.url("/__sim/faults"))
        .json(&serde_json::json!({"plan": "GET:/wiki/api/v2/pages"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("GET:/wiki/api/v2/pages"));
}

/// `lost-answer`: the write is committed, then the answer is lost (a reset connection, or a
/// gateway 502/504); a retry that looks before writing again finds the first write.
#[tokio::test]
async fn lost_answer_commits_the_write_then_loses_the_answer() {
    let twin = Twin::start(SimConfig {
        faults: "POST:/wiki/api/v2/pages:lost-answer=1".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let spaces = twin.ok("/wiki/api/v2/spaces?limit=1").await;
    let space = spaces["results"][0]["id"].as_str().unwrap().to_string();
    let sent = twin
        .http
        .post(twin.url("/wiki/api/v2/pages"))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .json(
            &json!({"spaceId": space, "status": "current", "title": "Lost answer",
            "body": {"representation": "storage", "value": "<p>one</p>"}}),
        )
        .send()
        .await;
    assert!(sent.is_err(), "the answer is lost: {sent:?}");
    // The page exists anyway: the handler ran and committed.
    let found = twin
        .ok(&format!(
            "/wiki/api/v2/spaces/{space}/pages?title=Lost%20answer&body-format=storage"
        ))
        .await;
    let page = &found["results"][0];
    assert_eq!(page["title"], "Lost answer", "{found}");
    assert_eq!(page["body"]["storage"]["value"], "<p>one</p>");
    let id = page["id"].as_str().unwrap().to_string();
    // A gateway's 502 in place of the answer, on an update: version 2 is committed.
    let set = twin
        .admin_post(
            "/__sim/faults",
            &json!({"plan": "PUT:/wiki/api/v2/pages/{id}:lost-answer=1:502"}),
        )
        .await;
    assert_eq!(set["plan"], "PUT:/wiki/api/v2/pages/{id}:lost-answer=1:502");
    let r = twin
        .send(
            reqwest::Method::PUT,
            &format!("/wiki/api/v2/pages/{id}"),
            &json!({"id": id,
            "status": "current", "title": "Lost answer", "body": {"representation": "storage",
            "value": "<p>two</p>"}, "version": {"number": 2}}),
        )
        .await;
    assert_eq!(r.status, 502, "{}", r.json);
    assert_eq!(r.json["errors"][0]["code"], "BAD_GATEWAY");
    let now = twin
        .ok(&format!("/wiki/api/v2/pages/{id}?body-format=storage"))
        .await;
    assert_eq!(now["version"]["number"], 2);
    assert_eq!(now["body"]["storage"]["value"], "<p>two</p>");
    // v1 paths lose their answers in the v1 shape, and 504 works too.
    twin.admin_post(
        "/__sim/faults",
        &json!({"plan": "/wiki/rest/*:lost-answer=1:504"}),
    )
    .await;
    let v1 = twin.get("/wiki/rest/api/space").await;
    assert_eq!(v1.status, 504);
    assert_eq!(v1.json["statusCode"], 504);
    assert_eq!(
        twin.handle
            .sim
            .stats
            .count("PUT", "/wiki/api/v2/pages/{id}", 502),
        1
    );
}

#[tokio::test]
async fn lost_answer_on_the_notion_twin_commits_then_drops_the_connection() {
    use crate::notion_support::{NTwin, V2025};
    let t = NTwin::start(SimConfig {
        faults: "POST:/v1/pages:lost-answer=1".parse().unwrap(),
        notion: kb_sim::notion::NotionConfig {
            rate: None,
            ..kb_sim::notion::NotionConfig::default()
        },
        ..SimConfig::default()
    })
    .await;
    let ds = t.dataset().await;
    let home = ds["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["parent"]["type"] == "workspace")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sent = t
        .http
        .post(format!("{}/v1/pages", t.origin))
        .bearer_auth(&t.token)
        .header("Notion-Version", V2025)
        .json(&json!({"parent": {"page_id": home},
            "properties": {"title": {"title": [{"text": {"content": "Lost on the way"}}]}}}))
        .send()
        .await;
    assert!(sent.is_err(), "the answer is lost: {sent:?}");
    let kids = t
        .get(V2025, &format!("/v1/blocks/{home}/children?page_size=100"))
        .await;
    let made: Vec<_> = kids["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["child_page"]["title"] == "Lost on the way")
        .collect();
    assert_eq!(made.len(), 1, "committed once: {kids}");
    // As a gateway 504 in the Notion error shape.
    t.admin(
        "/__sim/faults",
        &json!({"plan": "POST:/v1/pages:lost-answer=1:504"}),
    )
    .await;
    let r = t
        .call(
            V2025,
            reqwest::Method::POST,
            "/v1/pages",
            Some(&json!({"parent": {"page_id": home},
            "properties": {"title": {"title": [{"text": {"content": "Second"}}]}}})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 504);
    assert_eq!(r.json["code"], "gateway_timeout");
    let kids = t
        .get(V2025, &format!("/v1/blocks/{home}/children?page_size=100"))
        .await;
    assert!(
        kids["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["child_page"]["title"] == "Second")
    );
}

fn header_num(r: &crate::support::Reply, name: &str, key: &str) -> u64 {
    // `"global-app-quota";q=65000;w=3600` → the number after `key=`.
    let v = r.headers[name].to_str().unwrap();
    v.split(';')
        .find_map(|p| p.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("{name}: {v}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_points_quota_charges_per_object_and_answers_429_until_the_window_ends() {
    // Both with `realistic` (Atlassian's numbers) and a small pool to exhaust.
    let real = Twin::start(SimConfig {
        rate_limits: "realistic".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let r = real.get("/wiki/api/v2/pages?limit=5").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["beta-ratelimit-policy"],
        "\"global-app-quota\";q=65000;w=3600"
    );
    // A listing of 5 pages costs 1 + 5; the per-endpoint burst headers are there too.
    assert_eq!(header_num(&r, "beta-ratelimit", "r"), 65_000 - 6);
    assert_eq!(r.headers["x-ratelimit-limit"], "100");
    let t = header_num(&r, "beta-ratelimit", "t");
    assert!((1..=3600).contains(&t), "{t}");
    // Identity objects cost 2 each: the groups listing.
    let groups = real.get("/wiki/rest/api/group?limit=3").await;
    assert_eq!(groups.status, 200, "{}", groups.json);
    let n = groups.json["results"].as_array().unwrap().len() as u64;
    assert_eq!(
        header_num(&groups, "beta-ratelimit", "r"),
        65_000 - 6 - (1 + 2 * n)
    );
    // A write costs the base only.
    let space = real.ok("/wiki/api/v2/spaces?limit=1").await["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = header_num(
        &real.get("/wiki/api/v2/spaces?limit=1").await,
        "beta-ratelimit",
        "r",
    );
    let w = real
        .send(
            Method::POST,
            "/wiki/api/v2/pages",
            &json!({"spaceId": space, "title": "Metered", "body": {"representation": "storage", "value": "<p>x</p>"}}),
        )
        .await;
    assert_eq!(w.status, 200, "{}", w.json);
    assert_eq!(header_num(&w, "beta-ratelimit", "r"), before - 1);

    let twin = Twin::start(SimConfig {
        rate_limits: "points=40".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let window = |r: &crate::support::Reply| header_num(r, "beta-ratelimit", "t");
    let mut spent = 0;
    let last = loop {
        let r = twin.get("/wiki/api/v2/pages?limit=7").await;
        if r.status == 429 {
            break r;
        }
        assert_eq!(r.status, 200, "{}", r.json);
        assert!(
            r.headers.get("x-ratelimit-limit").is_none(),
            "no burst limit here"
        );
        spent += 8;
        assert_eq!(
            header_num(&r, "beta-ratelimit", "r"),
            40u64.saturating_sub(spent)
        );
        assert!(spent < 100, "the pool never ran out");
    };
    // 40 points: five listings (8 each), then the pool is empty.
    assert_eq!(spent, 40);
    let r = last;
    assert_eq!(r.json["errors"][0]["status"], 429, "{}", r.json);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(r.headers["beta-retry-after"], r.headers["retry-after"]);
    assert_eq!(
        retry,
        window(&r),
        "Retry-After is the time to the top of the hour"
    );
    assert!((1..=3600).contains(&retry));
    assert_eq!(
        r.headers["ratelimit-reason"],
        "confluence-quota-global-based"
    );
    assert_eq!(r.headers["x-ratelimit-nearlimit"], "true");
    let reset = r.headers["x-ratelimit-reset"].to_str().unwrap();
    assert!(
        reset.ends_with(":00Z"),
        "the pool refills on the hour: {reset}"
    );
    // Every endpoint shares the pool, v1 in its own error shape; /__sim is never metered.
    let v1 = twin.get("/wiki/rest/api/space").await;
    assert_eq!(v1.status, 429);
    assert_eq!(v1.json["statusCode"], 429, "{}", v1.json);
    assert!(
        !twin.dataset().await["spaces"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A new spec (or a reset) refills it.
    twin.admin_post("/__sim/rate-limits", &json!({"spec": "points=40/3600"}))
        .await;
    assert_eq!(twin.get("/wiki/api/v2/pages?limit=7").await.status, 200);
}
