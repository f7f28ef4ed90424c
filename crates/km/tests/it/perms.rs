//! Permission exactness: for every user (and anonymous), the articles km lets them find equal
//! what the twin lets them read through the API — 0 leaks, 0 false denials — on a site with
//! many users and groups, an anonymous space and restrictions at random depths (some the
//! crawler cannot pass); again after a membership change and a restriction change.

use std::collections::BTreeSet;

use base64::Engine as _;
use kb_km::KmConfig;
use kb_search::SearchIndex;
use serde_json::{Value, json};

use crate::support::{self, s};

/// What `auth` (None: anonymous) can list through v2: current pages and blog posts.
pub(crate) async fn api_readable(
    sim: &kb_sim::SimHandle,
    auth: Option<(&str, &str)>,
) -> BTreeSet<String> {
    let http = reqwest::Client::new();
    let mut out = BTreeSet::new();
    for (kind, path) in [("page", "pages"), ("blogpost", "blogposts")] {
        let mut next = Some(format!("/wiki/api/v2/{path}?status=current&limit=250"));
        while let Some(p) = next.take() {
            let mut req = http.get(format!("{}{p}", sim.url()));
            if let Some((email, token)) = auth {
                let b =
                    base64::engine::general_purpose::STANDARD.encode(format!("{email}:{token}"));
                req = req.header("Authorization", format!("Basic {b}"));
            }
            let r = req.send().await.unwrap();
            assert!(r.status().is_success(), "{p}: {}", r.status());
            let v: Value = r.json().await.unwrap();
            for x in v["results"].as_array().unwrap() {
                out.insert(format!("{kind}:{}", s(&x["id"])));
            }
            next = v["_links"]["next"].as_str().map(str::to_string);
        }
    }
    out
}

/// The twin's users that can sign in (not the unlicensed account), with their tokens.
pub(crate) fn users(d: &Value, sim: &kb_sim::SimHandle) -> Vec<(String, String, String)> {
    let creds = sim.credentials();
    d["users"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != kb_sim::generator::UNLICENSED_USER)
        .map(|(i, u)| {
            let account = s(&u["accountId"]);
            let (email, token) = match creds.iter().find(|c| c.user == i) {
                Some(c) => (c.email.clone(), c.token.clone()),
                None => (
                    s(&u["email"]),
                    kb_sim::confluence::perms::user_token(&account),
                ),
            };
            (account, email, token)
        })
        .collect()
}

/// Compares km with the twin for every user and anonymous; returns the number of pairs checked.
async fn assert_exact(
    sim: &kb_sim::SimHandle,
    store: &kb_store::Store,
    index: &SearchIndex,
    d: &Value,
    when: &str,
) -> usize {
    let admin = &sim.credentials()[0];
    let crawler = api_readable(sim, Some((&admin.email, &admin.token))).await;
    let universe: BTreeSet<String> = store
        .ids("km_articles", &kb_store::Filter::all())
        .await
        .unwrap()
        .into_iter()
        .collect();
    // km holds exactly what the crawler can read (it cannot import what it cannot see).
    assert_eq!(
        universe, crawler,
        "{when}: km's articles against the crawler's view"
    );
    let mut pairs = 0;
    let mut who: Vec<(String, Option<(String, String)>)> = users(d, sim)
        .into_iter()
        .map(|(a, e, t)| (a, Some((e, t))))
        .collect();
    who.push(("anonymous".into(), None));
    let mut differing_views = BTreeSet::new();
    for (account, auth) in &who {
        let oracle = api_readable(sim, auth.as_ref().map(|(e, t)| (e.as_str(), t.as_str()))).await;
        let km = support::readable(store, index, account).await;
        let leaks: Vec<_> = km.difference(&oracle).collect();
        let expected: BTreeSet<String> = oracle.intersection(&crawler).cloned().collect();
        let denials: Vec<_> = expected.difference(&km).collect();
        assert!(
            leaks.is_empty(),
            "{when}: {account} finds {} articles they cannot read: {:?}",
            leaks.len(),
            &leaks[..leaks.len().min(5)]
        );
        assert!(
            denials.is_empty(),
            "{when}: {account} misses {} articles they can read: {:?}",
            denials.len(),
            &denials[..denials.len().min(5)]
        );
        differing_views.insert(km.len());
        pairs += universe.len();
    }
    // The site is not trivial: users see different amounts.
    assert!(
        differing_views.len() >= 5,
        "{when}: views {differing_views:?}"
    );
    pairs
}

/// `permission/check` agrees with the listings on a sample (the oracle is consistent).
async fn check_sample(sim: &kb_sim::SimHandle, d: &Value) {
    let admin = &sim.credentials()[0];
    let http = reqwest::Client::new();
    let us = users(d, sim);
    let contents: Vec<&Value> = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "current" && c["type"] == "page")
        .collect();
    let crawler = api_readable(sim, Some((&admin.email, &admin.token))).await;
    let mut checked = 0;
    for (i, (account, email, token)) in us.iter().enumerate().step_by(4) {
        let mine = api_readable(sim, Some((email, token))).await;
        for c in contents.iter().skip(i).step_by(97) {
            let id = s(&c["id"]);
            if !crawler.contains(&format!("page:{id}")) {
                continue;
            }
            let r = http
                .post(format!("{}/wiki/rest/api/content/{id}/permission/check", sim.url()))
                .basic_auth(&admin.email, Some(&admin.token))
                .json(&json!({"subject": {"type": "user", "identifier": account}, "operation": "read"}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            let v: Value = r.json().await.unwrap();
            assert_eq!(
                v["hasPermission"],
                json!(mine.contains(&format!("page:{id}"))),
                "{account} on {id}"
            );
            checked += 1;
        }
    }
    assert!(checked > 50, "{checked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn km_search_returns_exactly_what_each_user_may_read() {
    let sim = support::twin(2000, 23, true).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let mut index = SearchIndex::open(&dir.path().join("index")).unwrap();
    let cfg = KmConfig::default();
    let d = support::dataset(&sim).await;
    assert!(users(&d, &sim).len() >= 20);
    assert!(d["groups"].as_array().unwrap().len() >= 8);
    let first = support::sync(&sim, &store, &mut index, &cfg, false).await;
    assert_eq!(first.status, "succeeded", "{first:?}");
    assert!(first.counts.added >= 1500, "{first:?}");
    assert_eq!(
        first.counts.closed, 0,
        "every restriction of what the crawler sees was read"
    );
    check_sample(&sim, &d).await;
    let pairs = assert_exact(&sim, &store, &index, &d, "after the first sync").await;
    assert!(pairs >= 20 * 1500);

    // A membership change and a restriction change, through the API.
    let admin = &sim.credentials()[0];
    let http = reqwest::Client::new();
    let team = d["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "team-1")
        .unwrap();
    let member = s(&team["members"][0]);
    let r = http
        .delete(format!(
            "{}/wiki/rest/api/group/userByGroupId?groupId={}&accountId={member}",
            sim.url(),
            s(&team["id"])
        ))
        .basic_auth(&admin.email, Some(&admin.token))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let outsider = users(&d, &sim)
        .into_iter()
        .map(|u| u.0)
        .find(|a| {
            !team["members"].as_array().unwrap().contains(&json!(a))
                && *a != s(&d["users"][0]["accountId"])
        })
        .unwrap();
    let r = http
        .post(format!(
            "{}/wiki/rest/api/group/userByGroupId?groupId={}",
            sim.url(),
            s(&team["id"])
        ))
        .basic_auth(&admin.email, Some(&admin.token))
        .json(&json!({"accountId": outsider}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    // A page with children gets a read restriction naming the admin and one group.
    let parent = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["type"] == "page"
                && c["status"] == "current"
                && c["restrictions"]["read"]["users"]
                    .as_array()
                    .unwrap()
                    .is_empty()
                && d["contents"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|x| x["parentId"] == c["id"])
                    .count()
                    >= 2
                && !c["parentId"].is_null()
        })
        .unwrap();
    let body = json!([{"operation": "read", "restrictions": {
        "user": [{"accountId": s(&d["users"][0]["accountId"])}],
        "group": [{"id": s(&team["id"])}]}}]);
    let r = http
        .put(format!(
            "{}/wiki/rest/api/content/{}/restriction",
            sim.url(),
            s(&parent["id"])
        ))
        .basic_auth(&admin.email, Some(&admin.token))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());

    // Before a permission sync km is stale: the changes matter to someone …
    let d2 = support::dataset(&sim).await;
    let mut stale = 0;
    for (account, email, token) in users(&d2, &sim) {
        let oracle = api_readable(&sim, Some((&email, &token))).await;
        let km = support::readable(&store, &index, &account).await;
        let crawler_view: BTreeSet<String> = store
            .ids("km_articles", &kb_store::Filter::all())
            .await
            .unwrap()
            .into_iter()
            .collect();
        if km
            != oracle
                .intersection(&crawler_view)
                .cloned()
                .collect::<BTreeSet<_>>()
        {
            stale += 1;
        }
    }
    assert!(
        stale >= 1,
        "the membership and restriction changes changed nobody's view"
    );
    let perm = support::sync(&sim, &store, &mut index, &cfg, true).await;
    assert_eq!(perm.status, "succeeded", "{perm:?}");
    assert!(
        perm.counts.updated >= 1,
        "the restriction change rewrote the subtree: {perm:?}"
    );
    // … after it, exact again.
    assert_exact(
        &sim,
        &store,
        &index,
        &d2,
        "after a membership and a restriction change",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_whose_restrictions_were_not_read_is_visible_to_no_one() {
    let sim = support::twin(150, 31, true).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let mut index = SearchIndex::in_memory().unwrap();
    let cfg = KmConfig::default();
    kb_engine::extract::extract(&support::admin(&sim), &store, &Default::default(), None)
        .await
        .unwrap();
    // The replica lost the record that a parent page's restrictions were read.
    let anc = store
        .select(
            "page_ancestors",
            &["page_id", "ancestor_id"],
            &kb_store::Filter::all(),
        )
        .await
        .unwrap();
    let parent = s(&anc
        .iter()
        .find(|r| anc.iter().filter(|x| x[1] == r[1]).count() >= 3)
        .unwrap()[1]);
    let below: BTreeSet<String> = anc
        .iter()
        .filter(|r| s(&r[1]) == parent)
        .map(|r| format!("page:{}", s(&r[0])))
        .collect();
    let mut b = kb_store::Batch::new();
    b.delete("restriction_reads", vec![json!(parent)]);
    store.commit(&b).await.unwrap();
    let opts = kb_km::ImportOptions::default();
    let (run, counts) = kb_km::import_only(&store, &mut index, &cfg, &opts)
        .await
        .unwrap();
    assert!(counts.closed as usize > below.len(), "{counts:?}");
    let d = support::dataset(&sim).await;
    let mut who: Vec<String> = users(&d, &sim).into_iter().map(|u| u.0).collect();
    who.push("anonymous".into());
    for u in &who {
        let km = support::readable(&store, &index, u).await;
        assert!(
            km.is_disjoint(&below),
            "{u} finds content under {parent} whose restrictions are unknown"
        );
        assert!(!km.contains(&format!("page:{parent}")));
    }
    let warns = kb_km::log::read(&store, Some(run), Some("warn"))
        .await
        .unwrap();
    assert!(
        warns
            .iter()
            .any(|l| l.message.contains(&parent) && l.hint.contains("permission")),
        "{warns:?}"
    );
    // A permission sync reads the restrictions again: visible once more to those allowed.
    let perm = support::sync(&sim, &store, &mut index, &cfg, true).await;
    assert_eq!(perm.counts.closed, 0, "{perm:?}");
    assert_exact(&sim, &store, &index, &d, "after the permission sync").await;
}
