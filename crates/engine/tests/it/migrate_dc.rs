//! `migrate` in both directions against the Confluence **Data Center** twin (`/confluence`,
//! PAT, REST v1 writes in 9.0's shapes): Notion → Data Center lands the whole workspace as a
//! page tree (`POST /rest/api/content` with `space.key` and `ancestors`, attachments with
//! `X-Atlassian-Token: no-check`, labels), `verify` finds it at parity, a re-run writes
//! nothing; Data Center → Notion makes one Notion page per Data Center page, under the page of
//! its parent, and a re-run writes nothing.

use std::collections::HashMap;

use kb_confluence::{ContentKind, ContentQuery};
use kb_engine::migrate::{self, ConfluenceToNotion, NotionToConfluence};
use serde_json::Value;

use crate::extract_dc::dc_client;
use crate::migrate::{notion, roots, twins};
use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notion_to_data_center_round_trip_verifies_and_reruns_write_nothing() {
    let sim = twins(30, 8).await;
    let (n, c) = (notion(&sim), dc_client(&sim));
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let from = roots(&n).await;
    // The first space of the site (Data Center lists spaces by key).
    let first = c.space_listing(&[]).unwrap().all().await.unwrap()[0]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let space = c.spaces_for_keys(&[first.as_str()]).await.unwrap();
    let key = space[0]["key"].as_str().unwrap().to_string();
    let space_id = space[0]["id"].as_str().unwrap().to_string();
    let opts = NotionToConfluence {
        from: from.clone(),
        space: key.clone(),
        parent: None,
        plan_only: false,
        force: false,
    };
    let report = migrate::n2c::run(&store, &n, &c, &opts, None)
        .await
        .expect("migration to Data Center");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.conflicts.is_empty(), "{:?}", report.conflicts);
    assert_eq!(report.created, report.pages);
    assert!(report.pages >= 30, "{} pages", report.pages);
    assert!(report.files > 0 && report.links > 10, "{report:?}");
    // Only Data Center routes: never /wiki, never v2; files go up with POST
    // …/child/attachment (9.0 has no PUT there).
    let endpoints: Vec<String> = c.stats().by_endpoint.keys().cloned().collect();
    assert!(
        endpoints
            .iter()
            .all(|e| !e.contains("/wiki") && !e.contains("/api/v2") && e.contains("/confluence/")),
        "{endpoints:?}"
    );
    assert!(
        endpoints
            .iter()
            .any(|e| e.starts_with("POST") && e.ends_with("/child/attachment")),
        "{endpoints:?}"
    );
    assert!(
        !endpoints
            .iter()
            .any(|e| e.starts_with("PUT") && e.contains("/child/attachment")),
        "{endpoints:?}"
    );

    // Every migrated page is in the space, under the page of its Notion parent when it has one.
    let listed = c
        .space_pages(&space_id, &ContentQuery::default())
        .unwrap()
        .all()
        .await
        .unwrap();
    let by_id: HashMap<&str, &Value> = listed
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p))
        .collect();
    for id in report.ids.values() {
        assert!(by_id.contains_key(id.as_str()), "page {id} in space {key}");
    }
    // Files attached with their bytes (numeric Data Center attachment ids).
    let mut attached = 0;
    for id in report.ids.values() {
        for a in c
            .content_attachments(ContentKind::Page, id)
            .unwrap()
            .all()
            .await
            .unwrap()
        {
            assert!(
                a["id"]
                    .as_str()
                    .unwrap()
                    .chars()
                    .all(|ch| ch.is_ascii_digit())
            );
            let bytes = c
                .download(a["downloadLink"].as_str().unwrap())
                .await
                .unwrap();
            assert_eq!(bytes.len() as u64, a["fileSize"].as_u64().unwrap());
            attached += 1;
        }
    }
    assert_eq!(attached, report.files);

    // verify: at parity.
    let parity = migrate::verify::notion_to_confluence(&store, &n, &c, &from, &key)
        .await
        .unwrap();
    let bad: Vec<_> = parity.pages.iter().filter(|p| !p.ok()).collect();
    assert!(parity.ok, "{bad:#?}");
    assert_eq!(parity.summary.files_attached, report.files);

    // A re-run writes nothing.
    let again = migrate::n2c::run(&store, &n, &c, &opts, None)
        .await
        .unwrap();
    assert_eq!(
        (again.created, again.updated, again.writes),
        (0, 0, 0),
        "{again:?}"
    );
    assert!(again.errors.is_empty(), "{:?}", again.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_center_to_notion_makes_the_tree_and_reruns_write_nothing() {
    let sim = crate::migrate_c2n::twins(60, 11).await;
    let (n, c) = (notion(&sim), dc_client(&sim));
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    // The space with the most current pages.
    let mut best: Option<(String, Vec<Value>)> = None;
    let spaces = c.space_listing(&[]).unwrap().all().await.unwrap();
    let keys: Vec<String> = spaces
        .iter()
        .map(|s| s["key"].as_str().unwrap().to_string())
        .collect();
    c.spaces_for_keys(&keys).await.unwrap();
    for s in &spaces {
        let pages = c
            .space_pages(
                s["id"].as_str().unwrap(),
                &ContentQuery::default().statuses(&["current"]),
            )
            .unwrap()
            .all()
            .await
            .unwrap();
        if best.as_ref().is_none_or(|b| b.1.len() < pages.len()) {
            best = Some((s["key"].as_str().unwrap().to_string(), pages));
        }
    }
    let (key, listed) = best.unwrap();
    assert!(listed.len() >= 10, "{} pages in {key}", listed.len());
    let to = crate::migrate_c2n::target(&n).await;
    let opts = ConfluenceToNotion {
        space: Some(key.clone()),
        page: None,
        to: to.clone(),
        plan_only: false,
        force: false,
    };
    let report = migrate::c2n::run(&store, &n, &c, &opts, None)
        .await
        .expect("migration from Data Center");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.conflicts.is_empty(), "{:?}", report.conflicts);
    assert_eq!((report.created, report.pages), (listed.len(), listed.len()));
    crate::migrate_c2n::assert_tree(&n, &to, &listed, &report.ids).await;
    let again = migrate::c2n::run(&store, &n, &c, &opts, None)
        .await
        .unwrap();
    assert_eq!(
        (again.created, again.updated, again.writes),
        (0, 0, 0),
        "{again:?}"
    );
    assert_eq!(again.ids, report.ids);
}
