//! The v1 content, space and site-search endpoints Python clients call.

use std::collections::BTreeSet;

use kb_sim::WorkspaceConfig;
use serde_json::Value;

use crate::support::{Twin, ids};

/// Every item of a v1 listing, following `_links.next` resolved against `_links.base`.
async fn collect_v1(twin: &Twin, first: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(first.to_string());
    while let Some(path) = next.take() {
        let v = twin.ok(&path).await;
        out.extend(v["results"].as_array().unwrap().iter().cloned());
        assert_eq!(v["_links"]["context"], "/wiki");
        if let Some(n) = v["_links"]["next"].as_str() {
            assert!(
                n.starts_with("/rest/api/"),
                "v1 next is relative to _links.base: {n}"
            );
            let full = format!("{}{n}", v["_links"]["base"].as_str().unwrap());
            next = Some(full.strip_prefix(&twin.origin).unwrap().to_string());
        }
    }
    out
}

#[tokio::test]
async fn spaces_and_content_listings() {
    let twin = Twin::with(WorkspaceConfig {
        pages: 90,
        spaces: 2,
        ..WorkspaceConfig::default()
    })
    .await;
    let d = twin.dataset().await;
    let space = &d["spaces"][1];
    let key = space["key"].as_str().unwrap();

    let spaces = collect_v1(&twin, "/wiki/rest/api/space?limit=1&expand=homepage").await;
    assert_eq!(spaces.len(), 2);
    assert_eq!(spaces[1]["key"], key);
    assert_eq!(spaces[1]["homepage"]["id"], space["homepageId"].to_string());
    assert_eq!(
        twin.ok(&format!("/wiki/rest/api/space/{key}")).await["name"],
        space["name"]
    );
    assert_eq!(twin.get("/wiki/rest/api/space/NOPE").await.status, 404);

    let pages = collect_v1(
        &twin,
        &format!(
            "/wiki/rest/api/content?type=page&spaceKey={key}&limit=7&expand=version,ancestors"
        ),
    )
    .await;
    let want: BTreeSet<String> = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "page" && c["status"] == "current" && c["spaceId"] == space["id"])
        .map(|c| c["id"].to_string())
        .collect();
    let got = ids(&pages);
    assert_eq!(got.len(), want.len(), "no repeats");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want);
    assert!(
        pages
            .iter()
            .all(|p| p["version"]["number"].is_u64() && p["ancestors"].is_array())
    );
    let blogs = twin
        .ok(&format!(
            "/wiki/rest/api/content?type=blogpost&spaceKey={key}"
        ))
        .await;
    assert!(
        blogs["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["type"] == "blogpost")
    );
    assert_eq!(
        twin.get("/wiki/rest/api/content?start=100001").await.status,
        400,
        "Cloud refuses deep offsets"
    );

    let one = &pages[0];
    let id = one["id"].as_str().unwrap();
    let full = twin
        .ok(&format!(
            "/wiki/rest/api/content/{id}?expand=body.storage,space"
        ))
        .await;
    assert_eq!(full["space"]["key"], key);
    assert!(
        full["body"]["storage"]["value"]
            .as_str()
            .unwrap()
            .starts_with('<')
    );
    assert_eq!(
        twin.get(&format!("/wiki/rest/api/content/{id}?version=1"))
            .await
            .status,
        501
    );
}

#[tokio::test]
async fn site_search_wraps_content() {
    let twin = Twin::small().await;
    let v = twin
        .ok("/wiki/rest/api/search?cql=type%3Dblogpost&limit=2&expand=content.version")
        .await;
    let r = &v["results"][0];
    assert_eq!(r["entityType"], "content");
    assert_eq!(r["content"]["type"], "blogpost");
    assert_eq!(r["title"], r["content"]["title"]);
    assert!(r["url"].as_str().unwrap().starts_with("/spaces/"));
    assert!(v["totalSize"].as_u64().unwrap() >= 2);
    assert!(
        v["_links"]["next"]
            .as_str()
            .unwrap()
            .starts_with("/rest/api/search?next=true&cursor=")
    );
}
