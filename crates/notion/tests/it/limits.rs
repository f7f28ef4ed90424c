//! The limiter: at Notion's 3 requests/s the client never draws a 429 from the twin, whose
//! bucket is Notion's (3/s, burst 10).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kb_notion::{Notion, NotionVersion};
use kb_sim::NotionWorkspaceConfig;

use super::support::Twin;

#[tokio::test]
async fn the_default_pace_never_draws_a_429() {
    let twin = Twin::start(NotionWorkspaceConfig::default(), true, None).await;
    let truth = twin.truth().await;
    let mut cfg = twin.config(NotionVersion::V2025_09_03);
    let defaults = kb_notion::NotionConfig::new(cfg.base_url.clone(), cfg.token.clone());
    cfg.rate = defaults.rate;
    cfg.burst = defaults.burst;
    cfg.concurrency = defaults.concurrency;
    assert_eq!(cfg.rate, 3.0);
    let notion = Notion::new(cfg).unwrap();
    // More requests than the burst, several in flight.
    let mut pages = 0;
    for p in truth.pages() {
        notion.block_tree(p["id"].as_str().unwrap()).await.unwrap();
        pages += 1;
    }
    let s = notion.stats().snapshot();
    assert!(s.requests > 30, "{s:?}");
    assert_eq!(s.with_status(429), 0, "{s:?}");
    assert_eq!(s.rate_limited, 0);
    assert_eq!(s.retries, 0);
    assert_eq!(pages, truth.pages().len());
}

#[tokio::test]
async fn a_faster_client_is_paused_by_the_429_and_still_gets_everything() {
    let twin = Twin::start(NotionWorkspaceConfig::default(), true, None).await;
    let truth = twin.truth().await;
    // Twice Notion's rate: the twin refuses some, Retry-After pauses the whole bucket.
    let mut cfg = twin.config(NotionVersion::V2025_09_03);
    cfg.rate = 6.0;
    cfg.burst = 20;
    cfg.concurrency = 4;
    // Events reach the callback as they are counted.
    let paused = Arc::new(AtomicU64::new(0));
    let seen = paused.clone();
    let cb: kb_notion::kb_http::EventCallback = Arc::new(move |e| {
        if matches!(e, kb_notion::kb_http::Event::RateLimited { .. }) {
            seen.fetch_add(1, Ordering::Relaxed);
        }
    });
    let notion = Notion::with_events(cfg, cb).unwrap();
    for p in truth.pages() {
        let id = p["id"].as_str().unwrap();
        let got = notion.block_tree(id).await.unwrap();
        super::support::assert_same_tree(&got, &truth.tree(id), id);
    }
    let s = notion.stats().snapshot();
    assert!(s.rate_limited > 0, "{s:?}");
    assert_eq!(paused.load(Ordering::Relaxed), s.rate_limited);
    assert_eq!(s.gave_up, 0);
}
