//! The twin, clients for its accounts, stores and the ground truth.

use std::collections::BTreeSet;

use kb_confluence::{Confluence, ConfluenceConfig};
use kb_km::{KmConfig, SyncOptions, SyncReport};
use kb_search::SearchIndex;
use kb_sim::{SimConfig, SimHandle};
use kb_store::Store;
use serde_json::Value;

/// A twin of `pages` pages; with `perms`, the permission scenario and 20 more users.
pub async fn twin(pages: usize, seed: u64, perms: bool) -> SimHandle {
    let mut cfg = SimConfig::default();
    cfg.workspace.pages = pages;
    cfg.workspace.seed = seed;
    if perms {
        cfg.workspace.users = 20;
        cfg.permissions = Some(kb_sim::confluence::perms::PermScenario::default());
    }
    kb_sim::start(cfg).await.expect("the twin starts")
}

fn config(url: &str, email: &str, token: &str) -> ConfluenceConfig {
    let mut cfg =
        ConfluenceConfig::new(url, email.to_string(), token.to_string().into()).expect("config");
    cfg.rate = 5000.0;
    cfg.burst = 500;
    cfg.concurrency = 8;
    let mut retry = cfg.retry.clone();
    retry.base = std::time::Duration::from_millis(20);
    retry.cap = std::time::Duration::from_millis(200);
    retry.max_retry_after = std::time::Duration::from_millis(100);
    cfg.retry = retry;
    cfg
}

/// The crawler: the twin's admin account.
pub fn admin(sim: &SimHandle) -> Confluence {
    let c = &sim.credentials()[0];
    Confluence::new(config(&sim.confluence_url(), &c.email, &c.token)).expect("client")
}

/// A fresh SQLite store in `dir`.
pub async fn sqlite(dir: &std::path::Path) -> Store {
    Store::open(dir.join("kbridge.db").to_str().unwrap())
        .await
        .expect("sqlite store")
}

/// The twin's ground truth.
pub async fn dataset(sim: &SimHandle) -> Value {
    reqwest::get(format!("{}/__sim/confluence/dataset", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// An admin edit, as a human would make it.
pub async fn edit(sim: &SimHandle, path: &str, body: Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/__sim/confluence/{path}", sim.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "admin {path}: {}", r.status());
}

/// One km sync.
pub async fn sync(
    sim: &SimHandle,
    store: &Store,
    index: &mut SearchIndex,
    cfg: &KmConfig,
    permissions: bool,
) -> SyncReport {
    let opts = SyncOptions {
        permissions,
        ..SyncOptions::default()
    };
    kb_km::sync(&admin(sim), store, index, cfg, &opts)
        .await
        .expect("km sync")
}

/// Every article id `who` can find with a match-all query.
pub async fn readable(store: &Store, index: &SearchIndex, who: &str) -> BTreeSet<String> {
    let req = kb_km::SearchRequest {
        limit: 100_000,
        ..Default::default()
    };
    let a = kb_km::search(store, index, &kb_km::Searcher::parse(who), &req)
        .await
        .unwrap();
    assert_eq!(a.total, a.hits.len());
    a.hits.into_iter().map(|h| h.id).collect()
}

pub fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
