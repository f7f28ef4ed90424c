//! Against the twin's own per-endpoint limit (`GET /wiki/api/v2/pages` at 5 requests/s): a
//! client that goes faster gets 429s, pauses and still reads everything; a client whose
//! limiter stays under the twin's limit gets no 429 at all. These run on the real clock (the
//! twin's buckets refill in real time), a few seconds each; nothing about time is asserted.

use std::collections::BTreeSet;

use kb_confluence::ContentQuery;
use kb_sim::SimConfig;

use super::*;

async fn list_all_spaces_at_once(
    c: &kb_confluence::Confluence,
    space_ids: &[String],
) -> BTreeSet<String> {
    let statuses = ["current", "archived", "trashed"];
    let lists = space_ids.iter().map(|s| {
        let q = ContentQuery::in_spaces(&[s]).statuses(&statuses);
        ids_of(paged(c.pages(&q).unwrap(), 4))
    });
    let mut all = BTreeSet::new();
    for (ids, _, _) in futures_util::future::join_all(lists).await {
        all.extend(ids);
    }
    all
}

#[tokio::test]
async fn the_twins_rate_limit_is_honoured() {
    let sim = kb_sim::start(SimConfig {
        rate_limits: "GET:/wiki/api/v2/pages=5/5".parse().unwrap(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let d = dataset(&sim.url()).await;
    let space_ids: Vec<String> = truth(&d, "spaces", |_| true).into_iter().collect();
    let want = truth(&d, "contents", |v| {
        v["type"] == "page" && status_in(v, &["current", "archived", "trashed"])
    });

    // Too fast: 429s, each pausing the whole client, then everything read.
    let fast = client(&sim.confluence_url(), ADMIN);
    assert_eq!(list_all_spaces_at_once(&fast, &space_ids).await, want);
    let s = fast.stats();
    let twin_429 = sim.sim.stats.count("GET", "/wiki/api/v2/pages", 429);
    assert!(s.rate_limited > 0, "{s:?}");
    assert_eq!(s.rate_limited, twin_429, "every 429 the twin sent was seen");
    assert_eq!(s.retries, s.rate_limited);
    assert_eq!(s.gave_up, 0);

    // Under the limit: not one 429.
    let mut cfg = config(&sim.confluence_url(), ADMIN);
    cfg.rate = 4.0;
    cfg.burst = 4;
    let calm = kb_confluence::Confluence::new(cfg).unwrap();
    // Let the twin's bucket fill up again first.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(list_all_spaces_at_once(&calm, &space_ids).await, want);
    let s = calm.stats();
    assert_eq!(s.rate_limited, 0, "{s:?}");
    assert_eq!(
        sim.sim.stats.count("GET", "/wiki/api/v2/pages", 429),
        twin_429
    );
}
