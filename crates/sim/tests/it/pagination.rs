//! Cursor pagination never skips or repeats, over seeds, limits, filters and sorts; `next`
//! links resolve against the site origin (not `…/wiki`), carry the filters, and agree with the
//! `Link` header.

use std::collections::BTreeSet;

use kb_sim::WorkspaceConfig;
use proptest::prelude::*;
use serde_json::Value;

use crate::support::{Twin, ids};

fn set(v: Vec<String>) -> BTreeSet<String> {
    v.into_iter().collect()
}

/// Ground truth: ids of dataset contents of `kind` whose status is in `statuses`.
fn truth(d: &Value, kind: &str, statuses: &[&str], space: Option<&str>) -> BTreeSet<String> {
    d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == kind && statuses.contains(&c["status"].as_str().unwrap()))
        .filter(|c| space.is_none_or(|s| c["spaceId"].as_u64().unwrap().to_string() == s))
        .map(|c| c["id"].as_u64().unwrap().to_string())
        .collect()
}

fn no_repeats(v: &[String]) {
    let s: BTreeSet<&String> = v.iter().collect();
    assert_eq!(s.len(), v.len(), "an item was repeated");
}

async fn check_site(seed: u64, pages: usize, limit: usize) {
    let twin = Twin::with(WorkspaceConfig {
        seed,
        pages,
        spaces: 2,
        ..WorkspaceConfig::default()
    })
    .await;
    let d = twin.dataset().await;

    let all = ids(&twin
        .collect_v2(&format!("/wiki/api/v2/pages?limit={limit}"))
        .await);
    no_repeats(&all);
    assert_eq!(set(all), truth(&d, "page", &["current", "archived"], None));

    let every = ids(&twin
        .collect_v2(&format!(
            "/wiki/api/v2/pages?limit={limit}&status=current,archived,trashed"
        ))
        .await);
    no_repeats(&every);
    assert_eq!(
        set(every),
        truth(&d, "page", &["current", "archived", "trashed"], None)
    );

    // Sorted listings stay sorted across pages.
    let by_mod = twin
        .collect_v2(&format!(
            "/wiki/api/v2/pages?limit={limit}&sort=-modified-date"
        ))
        .await;
    let stamps: Vec<&str> = by_mod
        .iter()
        .map(|p| p["version"]["createdAt"].as_str().unwrap())
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] >= w[1]),
        "not sorted by -modified-date"
    );
    assert_eq!(
        by_mod.len(),
        truth(&d, "page", &["current", "archived"], None).len()
    );
    let by_title = twin
        .collect_v2(&format!("/wiki/api/v2/pages?limit={limit}&sort=title"))
        .await;
    let titles: Vec<&str> = by_title
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.windows(2).all(|w| w[0] <= w[1]),
        "not sorted by title"
    );
    no_repeats(&ids(&by_title));

    let space = d["spaces"][1]["id"].as_u64().unwrap().to_string();
    let in_space = ids(&twin
        .collect_v2(&format!("/wiki/api/v2/spaces/{space}/pages?limit={limit}"))
        .await);
    no_repeats(&in_space);
    assert_eq!(
        set(in_space),
        truth(&d, "page", &["current", "archived"], Some(&space))
    );

    let blogs = ids(&twin
        .collect_v2(&format!("/wiki/api/v2/blogposts?limit={limit}"))
        .await);
    assert_eq!(set(blogs), truth(&d, "blogpost", &["current"], None));

    let atts = ids(&twin
        .collect_v2(&format!("/wiki/api/v2/attachments?limit={limit}"))
        .await);
    no_repeats(&atts);
    let att_truth: BTreeSet<String> = d["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("att{}", a["id"]))
        .collect();
    assert_eq!(set(atts), att_truth);

    let comments = ids(&twin
        .collect_v2(&format!("/wiki/api/v2/footer-comments?limit={limit}"))
        .await);
    no_repeats(&comments);
    let c_truth: BTreeSet<String> = d["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "footer")
        .map(|c| c["id"].to_string())
        .collect();
    assert_eq!(set(comments), c_truth);

    // Descendants of a homepage, five levels down: every page and folder below it, once.
    let home = d["spaces"][0]["homepageId"].as_u64().unwrap();
    let desc = twin
        .collect_v2(&format!(
            "/wiki/api/v2/pages/{home}/descendants?depth=5&limit={limit}"
        ))
        .await;
    let desc_ids = ids(&desc);
    no_repeats(&desc_ids);
    let mut below = BTreeSet::new();
    let contents = d["contents"].as_array().unwrap();
    let mut frontier = vec![home];
    for _ in 0..5 {
        let mut next = Vec::new();
        for c in contents {
            if c["parentId"]
                .as_u64()
                .is_some_and(|p| frontier.contains(&p))
                && matches!(c["status"].as_str(), Some("current" | "archived"))
            {
                below.insert(c["id"].as_u64().unwrap().to_string());
                next.push(c["id"].as_u64().unwrap());
            }
        }
        frontier = next;
    }
    assert_eq!(set(desc_ids), below);
    // Top to bottom: a parent always comes before its children.
    for (i, item) in desc.iter().enumerate() {
        if let Some(p) = item["parentId"].as_str()
            && p != home.to_string()
        {
            assert!(
                desc[..i].iter().any(|x| x["id"] == p),
                "parent {p} after its child"
            );
        }
    }

    // v1 CQL search pages with start/limit; `next` is relative to `_links.base`.
    let mut seen = Vec::new();
    let mut next = Some(format!(
        "/wiki/rest/api/content/search?cql=type%3Dpage&limit={limit}"
    ));
    while let Some(path) = next.take() {
        let v = twin.ok(&path).await;
        seen.extend(ids(v["results"].as_array().unwrap()));
        if let Some(n) = v["_links"]["next"].as_str() {
            assert!(n.starts_with("/rest/api/content/search?"), "{n}");
            let full = format!("{}{n}", v["_links"]["base"].as_str().unwrap());
            next = Some(full.strip_prefix(&twin.origin).unwrap().to_string());
        }
    }
    no_repeats(&seen);
    assert_eq!(set(seen), truth(&d, "page", &["current"], None));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn listings_never_skip_or_repeat(seed in 0u64..10_000, pages in 20usize..120, limit in prop_oneof![1usize..5, 5usize..40, Just(250usize)]) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(check_site(seed, pages, limit));
    }
}

#[tokio::test]
async fn next_links_include_wiki_and_keep_the_filters() {
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let space = d["spaces"][0]["id"].as_u64().unwrap();
    let r = twin
        .get(&format!(
            "/wiki/api/v2/pages?space-id={space}&sort=-created-date&body-format=storage&limit=3"
        ))
        .await;
    let next = r.json["_links"]["next"]
        .as_str()
        .expect("more than 3 pages")
        .to_string();
    assert!(next.starts_with("/wiki/api/v2/pages?"), "{next}");
    for kept in [
        format!("space-id={space}"),
        "sort=-created-date".into(),
        "body-format=storage".into(),
        "limit=3".into(),
        "cursor=".into(),
    ] {
        assert!(next.contains(&kept), "{next} lacks {kept}");
    }
    // Resolved against the origin, it works; glued onto the /wiki base it is the classic
    // /wiki/wiki mistake and answers 404.
    let ok = twin.get(&next).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json["results"].as_array().unwrap().len(), 3);
    assert!(ok.json["results"][0]["body"]["storage"]["value"].is_string());
    let wrong = twin.get(&format!("/wiki{next}")).await;
    assert_eq!(wrong.status, 404);
    assert_eq!(wrong.json["errors"][0]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn cursors_are_bound_to_their_filters_and_validated() {
    let twin = Twin::small().await;
    let r = twin.get("/wiki/api/v2/pages?limit=2&sort=title").await;
    let next = r.json["_links"]["next"].as_str().unwrap();
    let cursor = next.split("cursor=").nth(1).unwrap();
    // The same cursor with other filters, or mangled, is a 400 with the real error shape.
    for path in [
        format!("/wiki/api/v2/pages?limit=2&sort=-title&cursor={cursor}"),
        format!("/wiki/api/v2/blogposts?limit=2&sort=title&cursor={cursor}"),
        "/wiki/api/v2/pages?cursor=%%%".into(),
        "/wiki/api/v2/pages?cursor=bm90LWEtY3Vyc29y".into(),
    ] {
        let bad = twin.get(&path).await;
        assert_eq!(bad.status, 400, "{path}");
        assert_eq!(bad.json["errors"][0]["status"], 400);
        assert_eq!(bad.json["errors"][0]["code"], "INVALID_REQUEST_PARAMETER");
    }
    // A different limit with the same cursor is fine.
    let other_limit = twin
        .get(&format!(
            "/wiki/api/v2/pages?limit=5&sort=title&cursor={cursor}"
        ))
        .await;
    assert_eq!(other_limit.status, 200);
    assert_eq!(other_limit.json["results"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn limits_are_validated_and_defaulted() {
    let twin = Twin::with(WorkspaceConfig {
        pages: 300,
        spaces: 1,
        ..WorkspaceConfig::default()
    })
    .await;
    for bad in ["0", "251", "-1", "ten", "1.5"] {
        let r = twin.get(&format!("/wiki/api/v2/pages?limit={bad}")).await;
        assert_eq!(r.status, 400, "limit={bad}");
        assert!(
            r.json["errors"][0]["title"]
                .as_str()
                .unwrap()
                .contains("limit")
        );
    }
    assert_eq!(
        twin.ok("/wiki/api/v2/pages").await["results"]
            .as_array()
            .unwrap()
            .len(),
        25
    );
    assert_eq!(
        twin.ok("/wiki/api/v2/pages?limit=250").await["results"]
            .as_array()
            .unwrap()
            .len(),
        250
    );
    assert_eq!(
        twin.ok("/wiki/api/v2/attachments").await["results"]
            .as_array()
            .unwrap()
            .len(),
        50,
        "attachments default to 50"
    );
    let last = twin.ok("/wiki/api/v2/spaces?limit=250").await;
    assert!(
        last["_links"].get("next").is_none(),
        "no next on the last page"
    );
}
