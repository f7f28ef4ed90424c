//! kb-confluence's integration tests (one test binary), all against the Confluence twin
//! (`kb_sim`) over real HTTP on loopback, compared with the twin's ground truth
//! (`/__sim/confluence/dataset`).

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing, with its place

use std::collections::BTreeSet;

use futures_util::TryStreamExt as _;
use kb_confluence::{Confluence, ConfluenceConfig, Listing};
use kb_http::SecretString;
use serde_json::Value;

mod check;
mod datacenter;
mod errors;
mod faults;
mod ground_truth;
mod ratelimit;

pub const ADMIN: (&str, &str) = ("admin@example.com", "kbridge-sim-token");
pub const GUEST: (&str, &str) = ("guest@example.com", "kbridge-sim-guest-token");
pub const UNLICENSED: (&str, &str) = ("unlicensed@example.com", "kbridge-sim-unlicensed-token");

/// A config for the twin at `wiki_url` as `who`, paced fast (the twin has no limit unless a
/// test sets one).
pub fn config(wiki_url: &str, who: (&str, &str)) -> ConfluenceConfig {
    let mut c = ConfluenceConfig::new(wiki_url, who.0, SecretString::from(who.1)).unwrap();
    c.rate = 500.0;
    c.burst = 500;
    c.concurrency = 4;
    c.retry.jitter_seed = Some(7);
    c
}

pub fn client(wiki_url: &str, who: (&str, &str)) -> Confluence {
    Confluence::new(config(wiki_url, who)).unwrap()
}

/// The twin's ground truth (without bodies).
pub async fn dataset(origin: &str) -> Value {
    reqwest::get(format!("{origin}/__sim/confluence/dataset?bodies=false"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The twin's request counts.
pub async fn sim_stats(origin: &str) -> Value {
    reqwest::get(format!("{origin}/__sim/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A listing with a smaller page size, so that small sites page too.
pub fn paged(mut l: Listing, limit: u32) -> Listing {
    kb_http::set_query(&mut l.request.url, "limit", Some(&limit.to_string()));
    l
}

/// Every item of a listing, checking that no id comes twice; returns the ids and the pages.
pub async fn ids_of(l: Listing) -> (BTreeSet<String>, Vec<Value>, usize) {
    let mut s = l.pages();
    let mut ids = BTreeSet::new();
    let mut items = Vec::new();
    let mut pages = 0;
    while let Some(page) = s.try_next().await.unwrap() {
        pages += 1;
        for item in page.items {
            let id = kb_confluence::keys::id(&item)
                .or_else(|| {
                    item.get("accountId")
                        .and_then(|a| a.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| panic!("an item without id: {item}"));
            assert!(ids.insert(id.clone()), "{id} listed twice");
            items.push(item);
        }
    }
    (ids, items, pages)
}

/// Ids (as strings) of the dataset's `section` items that satisfy `keep`.
pub fn truth(d: &Value, section: &str, keep: impl Fn(&Value) -> bool) -> BTreeSet<String> {
    d[section]
        .as_array()
        .unwrap_or_else(|| panic!("no {section} in the dataset"))
        .iter()
        .filter(|v| keep(v))
        .map(|v| match &v["id"] {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            other => panic!("id {other}"),
        })
        .collect()
}

pub fn status_in(v: &Value, statuses: &[&str]) -> bool {
    statuses.contains(&v["status"].as_str().unwrap_or(""))
}

/// Content of the dataset with a read restriction (users or groups).
pub fn restricted(v: &Value) -> bool {
    let r = &v["restrictions"]["read"];
    ["users", "groups"]
        .iter()
        .any(|k| r[k].as_array().is_some_and(|a| !a.is_empty()))
}

/// A site big enough that some pages carry read restrictions (about 5 % of pages do).
pub fn bigger_site() -> kb_sim::SimConfig {
    let mut cfg = kb_sim::SimConfig::default();
    cfg.workspace.pages = 200;
    cfg
}
