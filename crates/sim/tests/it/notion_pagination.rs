//! Notion pagination never skips or repeats: block children, users, search and data source
//! queries, over seeds and page sizes, against the ground truth; cursors are validated.

use kb_sim::NotionWorkspaceConfig;
use proptest::prelude::*;
use reqwest::Method;
use serde_json::json;

use crate::notion_support::*;

fn run<F: std::future::Future<Output = ()>>(f: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn listings_page_through_everything_once(seed in 0u64..1000, size in 1usize..=100, pages in 3usize..30, rows in 1usize..60) {
        run(async move {
            let t = NTwin::start(kb_sim::SimConfig {
                workspace: kb_sim::WorkspaceConfig { seed, pages: 5, spaces: 1, ..Default::default() },
                notion: kb_sim::NotionConfig {
                    workspace: NotionWorkspaceConfig { pages, rows, depth: 4, users: 4 },
                    rate: None,
                    ..Default::default()
                },
                ..Default::default()
            }).await;
            let ds = t.dataset().await;
            // users, in the twin's order
            let users = t.collect_get(V2025, "/v1/users", size).await;
            let want: Vec<String> = ds["users"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_string()).collect();
            assert_eq!(ids(&users), want);
            // block children of every page of the tree: exactly its live children, in order
            for p in ds["pages"].as_array().unwrap().iter().filter(|p| p["parent"]["type"] != "database") {
                let id = p["id"].as_str().unwrap();
                let got = t.collect_get(V2025, &format!("/v1/blocks/{id}/children"), size).await;
                let want: Vec<String> = p["children"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
                assert_eq!(ids(&got), want, "children of {id}");
            }
            // search: every live page and data source once, newest edit first
            let found = t.collect_post(V2025, "/v1/search", &json!({}), size).await;
            let mut got = ids(&found);
            let n = got.len();
            got.sort();
            got.dedup();
            assert_eq!(got.len(), n, "no repeats");
            assert_eq!(n, ds["pages"].as_array().unwrap().len() + 3);
            let times: Vec<String> = found.iter().map(|x| x["last_edited_time"].as_str().unwrap().to_string()).collect();
            assert!(times.windows(2).all(|w| w[0] >= w[1]), "sorted by last_edited_time descending");
            // a data source query sorted by a property
            let tasks = db(&ds, "Tasks");
            let q = t.collect_post(V2025, &format!("/v1/data_sources/{}/query", tasks["data_source_id"].as_str().unwrap()),
                &json!({"sorts": [{"property": "Hours", "direction": "ascending"}]}), size).await;
            assert_eq!(q.len(), rows);
            let hours: Vec<f64> = q.iter().map(|r| r["properties"]["Hours"]["number"].as_f64().unwrap()).collect();
            assert!(hours.windows(2).all(|w| w[0] <= w[1]));
            let mut got = ids(&q);
            got.sort();
            let mut want: Vec<String> = rows_of(&ds, tasks);
            want.sort();
            assert_eq!(got, want);
        });
    }
}

fn rows_of(ds: &serde_json::Value, d: &serde_json::Value) -> Vec<String> {
    rows(ds, d["id"].as_str().unwrap())
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn cursors_and_page_sizes_are_validated() {
    let t = NTwin::small().await;
    let page = t.get(V2025, "/v1/users?page_size=2").await;
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    // A cursor from one listing is not valid in another.
    let ds = t.dataset().await;
    let home = ds["pages"][0]["id"].as_str().unwrap().to_string();
    let m = t
        .fails(
            V2025,
            Method::GET,
            &format!("/v1/blocks/{home}/children?start_cursor={cursor}"),
            None,
            400,
            "validation_error",
        )
        .await;
    assert_eq!(m, "The start_cursor provided is invalid.");
    for bad in ["0", "101", "x", "-1"] {
        t.fails(
            V2025,
            Method::GET,
            &format!("/v1/users?page_size={bad}"),
            None,
            400,
            "validation_error",
        )
        .await;
    }
    for body in [
        json!({"page_size": 0}),
        json!({"page_size": 101}),
        json!({"start_cursor": 5}),
        json!({"start_cursor": "nope"}),
    ] {
        t.fails(
            V2025,
            Method::POST,
            "/v1/search",
            Some(&body),
            400,
            "validation_error",
        )
        .await;
    }
    // page_size 100 is the default and the maximum.
    let all = t.get(V2025, "/v1/users").await;
    assert_eq!(
        all["results"].as_array().unwrap().len(),
        ds["users"].as_array().unwrap().len()
    );
}
