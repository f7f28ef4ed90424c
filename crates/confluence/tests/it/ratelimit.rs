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

/// Every page of the twin read by id, `rounds` times, 8 at a time.
async fn read_each_page(c: &kb_confluence::Confluence, ids: &[String], rounds: usize) -> usize {
    use futures_util::StreamExt as _;
    let work: Vec<&String> = (0..rounds).flat_map(|_| ids.iter()).collect();
    let n = work.len();
    let read: Vec<_> = futures_util::stream::iter(work)
        .map(|id| async move {
            c.content(kb_confluence::ContentKind::Page, id, false)
                .await
                .unwrap()
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert_eq!(read.len(), n);
    n
}

/// Against the twin's realistic per-endpoint limits (here scaled down to 40/s per endpoint so the
/// test stays short), with no rate given (ceiling 1000/s): the adaptive pacing learns the
/// endpoint's limit from `X-RateLimit-*`, keeps 429s under 1 % of the requests, and a fixed
/// 1000/s bucket, the old behaviour, gets far more of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_pacing_learns_the_endpoint_limit() {
    let mut cfg = bigger_site();
    cfg.rate_limits = "get=40/40".parse().unwrap();
    let sim = kb_sim::start(cfg).await.unwrap();
    let d = dataset(&sim.url()).await;
    let ids: Vec<String> = truth(&d, "contents", |v| {
        v["type"] == "page" && status_in(v, &["current"])
    })
    .into_iter()
    .take(80)
    .collect();
    let route = "/wiki/api/v2/pages/{id}";

    let mut fast = config(&sim.confluence_url(), ADMIN);
    fast.rate = 1000.0;
    let adaptive = kb_confluence::Confluence::new(fast.clone()).unwrap();
    let n = read_each_page(&adaptive, &ids, 3).await;
    let s = adaptive.stats();
    let limited = sim.sim.stats.count("GET", route, 429);
    assert!(
        (limited as f64) < 0.01 * n as f64,
        "{limited} 429s for {n} requests: {s:?} {:?}",
        adaptive.pacing()
    );
    // The class learned a rate near the twin's limit, not the ceiling.
    let class = adaptive
        .pacing()
        .into_iter()
        .find(|c| c.class == "GET /wiki/api/v2/pages/{id}")
        .unwrap();
    assert!(class.rate < 60.0 && class.pushed_back > 0, "{class:?}");
    // It did not collapse far below the limit either (how fast that is in wall time is
    // `kbridge bench extract`'s figure, not a test's).
    assert!(class.rate > 20.0, "{class:?}");

    // The fixed bucket at the same ceiling: a 429 storm.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    sim.sim.stats.reset();
    fast.adaptive = false;
    fast.burst = 1000;
    let fixed = kb_confluence::Confluence::new(fast).unwrap();
    read_each_page(&fixed, &ids, 3).await;
    // How many depends on the machine's speed; that the twin pushes back at all is what shows
    // the adaptive client's near-zero count is its own doing.
    let storm = sim.sim.stats.count("GET", route, 429);
    assert!(storm > limited, "fixed: {storm}, adaptive: {limited}");
}
