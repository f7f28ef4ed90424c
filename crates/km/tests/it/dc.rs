//! Permission exactness over the Confluence **Data Center** twin: km synced from Data Center
//! (PAT, REST v1, space permissions from JSON-RPC, users by user key, groups by name) lets
//! every user find exactly what the twin lets them read — 0 leaks, 0 false denials — on the
//! permission scenario (many users and groups, an anonymous space, restrictions at random
//! depths, some the crawler cannot pass).

use std::collections::BTreeSet;

use kb_confluence::{Confluence, ConfluenceConfig};
use kb_km::{KmConfig, SyncOptions};
use kb_search::SearchIndex;

use crate::perms::{api_readable, users};
use crate::support;

fn dc_admin(sim: &kb_sim::SimHandle) -> Confluence {
    let c = &sim.credentials()[0];
    let mut cfg =
        ConfluenceConfig::data_center_pat(&sim.dc_url(), kb_sim::dc::pat_for(c).into()).unwrap();
    cfg.rate = 5000.0;
    cfg.concurrency = 8;
    let mut retry = cfg.retry.clone();
    retry.base = std::time::Duration::from_millis(20);
    retry.cap = std::time::Duration::from_millis(200);
    retry.max_retry_after = std::time::Duration::from_millis(100);
    cfg.retry = retry;
    Confluence::new(cfg).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn km_over_data_center_returns_exactly_what_each_user_may_read() {
    let sim = support::twin(400, 23, true).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let mut index = SearchIndex::open(&dir.path().join("index")).unwrap();
    let d = support::dataset(&sim).await;
    let report = kb_km::sync(
        &dc_admin(&sim),
        &store,
        &mut index,
        &KmConfig::default(),
        &SyncOptions::default(),
    )
    .await
    .expect("km sync from Data Center");
    assert_eq!(report.status, "succeeded", "{report:?}");
    assert!(report.counts.added >= 250, "{report:?}");
    // Space permissions came from JSON-RPC, keyed as Data Center keys them.
    let perms = store
        .select(
            "space_permissions",
            &["principal_type", "principal_id"],
            &kb_store::Filter::all(),
        )
        .await
        .unwrap();
    assert!(!perms.is_empty());
    let admin = &sim.credentials()[0];
    let crawler = api_readable(&sim, Some((&admin.email, &admin.token))).await;
    let universe: BTreeSet<String> = store
        .ids("km_articles", &kb_store::Filter::all())
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(universe, crawler, "km holds what the crawler can read");
    let mut views = BTreeSet::new();
    let mut who: Vec<(String, Option<(String, String)>)> = users(&d, &sim)
        .into_iter()
        .map(|(a, e, t)| (kb_sim::dc::user_key(&a), Some((e, t))))
        .collect();
    who.push(("anonymous".into(), None));
    for (key, auth) in &who {
        let oracle = api_readable(&sim, auth.as_ref().map(|(e, t)| (e.as_str(), t.as_str()))).await;
        let km = support::readable(&store, &index, key).await;
        let expected: BTreeSet<String> = oracle.intersection(&crawler).cloned().collect();
        let leaks: Vec<_> = km.difference(&oracle).collect();
        let denials: Vec<_> = expected.difference(&km).collect();
        assert!(
            leaks.is_empty(),
            "{key} finds {} they cannot read: {:?}",
            leaks.len(),
            &leaks[..leaks.len().min(5)]
        );
        assert!(
            denials.is_empty(),
            "{key} misses {} they can read: {:?}",
            denials.len(),
            &denials[..denials.len().min(5)]
        );
        views.insert(km.len());
    }
    assert!(views.len() >= 5, "users see different amounts: {views:?}");
}
