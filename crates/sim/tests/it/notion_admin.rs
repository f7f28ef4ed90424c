//! The Notion generator (deterministic, every block type, deep trees, three related
//! databases) and the admin edits and API writes that append to the change log.

use std::collections::BTreeSet;

use kb_sim::NotionWorkspaceConfig;
use kb_sim::notion::generator::generate;
use reqwest::Method;
use serde_json::{Value, json};

use crate::notion_support::*;

#[test]
fn the_generator_is_deterministic_and_complete() {
    let cfg = NotionWorkspaceConfig {
        pages: 20,
        depth: 7,
        rows: 100,
        users: 6,
    };
    let a = generate(&cfg, 7).to_json();
    let b = generate(&cfg, 7).to_json();
    assert_eq!(a, b);
    assert_ne!(a, generate(&cfg, 8).to_json());
    // depth: walk up from every page of the tree
    let pages = a["pages"].as_array().unwrap();
    let parent = |id: &str| {
        pages.iter().find(|p| p["id"] == id).and_then(|p| {
            (p["parent"]["type"] == "page").then(|| p["parent"]["id"].as_str().unwrap().to_string())
        })
    };
    let depth = pages
        .iter()
        .map(|p| {
            let mut d = 0;
            let mut cur = p["id"].as_str().unwrap().to_string();
            while let Some(x) = parent(&cur) {
                d += 1;
                cur = x;
            }
            d
        })
        .max()
        .unwrap();
    assert!(depth >= 7, "depth {depth}");
    // every common block type
    let types: BTreeSet<&str> = a["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    for ty in [
        "paragraph",
        "heading_1",
        "heading_2",
        "heading_3",
        "bulleted_list_item",
        "numbered_list_item",
        "to_do",
        "toggle",
        "quote",
        "callout",
        "code",
        "equation",
        "divider",
        "table",
        "table_row",
        "column_list",
        "column",
        "image",
        "file",
        "bookmark",
        "link_to_page",
        "synced_block",
        "table_of_contents",
    ] {
        assert!(types.contains(ty), "no {ty}: {types:?}");
    }
    let blocks = a["blocks"].as_array().unwrap();
    assert!(
        blocks
            .iter()
            .any(|b| b["type"] == "heading_2" && b["data"]["is_toggleable"] == true)
    );
    assert!(
        blocks.iter().any(
            |b| b["type"] == "synced_block" && b["data"]["synced_from"]["block_id"].is_string()
        )
    );
    let mentions: BTreeSet<&str> = blocks
        .iter()
        .flat_map(|b| b["data"]["rich_text"].as_array().into_iter().flatten())
        .filter(|r| r["type"] == "mention")
        .map(|r| r["mention"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(mentions, BTreeSet::from(["date", "page", "user"]));
    let marks: BTreeSet<&str> = blocks
        .iter()
        .flat_map(|b| b["data"]["rich_text"].as_array().into_iter().flatten())
        .flat_map(|r| {
            r["annotations"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, v)| **v == true)
                .map(|(k, _)| k.as_str())
        })
        .collect();
    for m in ["bold", "italic", "strikethrough", "code"] {
        assert!(marks.contains(m), "{marks:?}");
    }
    // three related databases with 100 rows each and every common property type
    let dbs = a["databases"].as_array().unwrap();
    assert_eq!(dbs.len(), 3);
    let mut kinds = BTreeSet::new();
    for d in dbs {
        assert_eq!(rows(&a, d["id"].as_str().unwrap()).len(), 100);
        for p in d["properties"].as_array().unwrap() {
            kinds.insert(p["type"].as_str().unwrap().to_string());
            if p["type"] == "relation" {
                let target = p["config"]["database_id"].as_str().unwrap();
                let synced = p["config"]["dual_property"]["synced_property_id"]
                    .as_str()
                    .unwrap();
                let other = dbs.iter().find(|x| x["id"] == target).unwrap();
                assert!(
                    other["properties"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|q| q["id"] == synced && q["type"] == "relation"),
                    "dual"
                );
            }
        }
        for r in rows(&a, d["id"].as_str().unwrap()) {
            assert!(
                !r["children"].as_array().unwrap().is_empty(),
                "rows have content"
            );
        }
    }
    for k in [
        "title",
        "rich_text",
        "number",
        "select",
        "multi_select",
        "status",
        "date",
        "checkbox",
        "url",
        "email",
        "phone_number",
        "people",
        "files",
        "relation",
        "rollup",
        "formula",
        "created_time",
        "last_edited_time",
        "created_by",
        "last_edited_by",
    ] {
        assert!(kinds.contains(k), "no {k} property");
    }
    // files have real bytes
    for f in a["files"].as_array().unwrap() {
        assert!(f["bytes"]["size"].as_u64().unwrap() > 100);
    }
}

async fn changes(t: &NTwin, since: u64) -> Vec<Value> {
    let r: Value = t
        .http
        .get(format!("{}/__sim/notion/changes?since={since}", t.origin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["changes"].as_array().unwrap().clone()
}

#[tokio::test]
async fn edits_through_the_api_and_the_admin_append_change_records() {
    let t = NTwin::small().await;
    let mut rx = t.handle.sim.notion.subscribe();
    let ds = t.dataset().await;
    let pages = ds["pages"].as_array().unwrap();
    let page = pages
        .iter()
        .find(|p| p["parent"]["type"] == "page")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let home = pages
        .iter()
        .find(|p| p["parent"]["type"] == "workspace")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let person = ds["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["bot"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        changes(&t, 0).await.is_empty(),
        "generated history is not in the log"
    );

    // admin edits, as a person
    t.admin(
        &format!("/__sim/notion/pages/{page}/edit"),
        &json!({"append": "added by a human", "title": "Renamed", "author": person}),
    )
    .await;
    t.admin(
        &format!("/__sim/notion/pages/{page}/move"),
        &json!({"parent_id": home}),
    )
    .await;
    t.admin(&format!("/__sim/notion/pages/{page}/delete"), &json!({}))
        .await;
    t.admin(&format!("/__sim/notion/pages/{page}/restore"), &json!({}))
        .await;
    let tasks = db(&ds, "Tasks");
    let row = rows(&ds, tasks["id"].as_str().unwrap())[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    t.admin(
        &format!("/__sim/notion/pages/{row}/edit"),
        &json!({"property": {"name": "Hours", "value": 3}}),
    )
    .await;
    // the API, as the bot
    let p = t.ok(V2025, Method::POST, "/v1/pages", Some(&json!({"parent": {"page_id": page}, "properties": {"title": {"title": [{"text": {"content": "New"}}]}}}))).await;
    let new = p["id"].as_str().unwrap().to_string();
    t.ok(
        V2025,
        Method::PATCH,
        &format!("/v1/blocks/{new}/children"),
        Some(&json!({"children": [{"paragraph": {"rich_text": [{"text": {"content": "x"}}]}}]})),
    )
    .await;
    t.ok(
        V2025,
        Method::POST,
        "/v1/comments",
        Some(&json!({"parent": {"page_id": new}, "rich_text": [{"text": {"content": "c"}}]})),
    )
    .await;

    let log = changes(&t, 0).await;
    let kinds: Vec<&str> = log
        .iter()
        .map(|c| c["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "page.content_updated",
            "page.properties_updated",
            "page.moved",
            "page.deleted",
            "page.undeleted",
            "page.properties_updated",
            "data_source.content_updated",
            "page.created",
            "page.content_updated",
            "comment.created",
        ]
    );
    let seqs: Vec<u64> = log.iter().map(|c| c["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
    assert!(
        log.windows(2)
            .all(|w| w[0]["timestamp_ms"].as_i64() <= w[1]["timestamp_ms"].as_i64())
    );
    assert_eq!(log[0]["entity_id"], page.as_str());
    assert_eq!(log[0]["authors"], json!([{"id": person, "type": "person"}]));
    assert_eq!(log[0]["data"]["updated_blocks"][0]["type"], "paragraph");
    assert_eq!(log[1]["data"]["updated_properties"], json!(["title"]));
    assert_eq!(log[2]["parent"], json!({"id": home, "type": "page"}));
    assert_eq!(log[5]["parent"]["type"], "database");
    assert_eq!(log[5]["parent"]["data_source_id"], tasks["data_source_id"]);
    // a row's change is also a change of its data source
    assert_eq!(log[6]["entity_type"], "data_source");
    assert_eq!(log[6]["entity_id"], tasks["data_source_id"]);
    assert_eq!(log[6]["data"]["updated_pages"], json!([row]));
    let bot = t.get(V2025, "/v1/users/me").await["id"].clone();
    assert_eq!(log[7]["authors"], json!([{"id": bot, "type": "bot"}]));
    assert_eq!(log[7]["entity_type"], "page");
    assert_eq!(log[9]["entity_type"], "comment");
    assert_eq!(log[9]["data"]["page_id"], new.as_str());
    assert_eq!(changes(&t, 7).await.len(), 3);
    // subscribers saw the same records, and the accessor returns them
    for want in &log {
        let got = serde_json::to_value(rx.recv().await.unwrap()).unwrap();
        assert_eq!(&got, want);
    }
    assert_eq!(t.handle.sim.notion.changes().len(), 10);
    // the ground truth shows the edits
    let ds = t.dataset().await;
    let p = ds["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == page.as_str())
        .unwrap();
    assert_eq!(p["props"]["title"][0]["plain_text"], "Renamed");
    assert_eq!(p["parent"], json!({"type": "page", "id": home}));
    let api = t.get(V2025, &format!("/v1/pages/{row}")).await;
    assert_eq!(api["properties"]["Hours"]["number"], 3);
    // the dataset with block trees nests the appended paragraph under the new page
    let trees: Value = t
        .http
        .get(format!("{}/__sim/notion/dataset?trees=true", t.origin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let np = trees["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == new.as_str())
        .unwrap();
    assert_eq!(np["tree"][0]["type"], "paragraph");
    assert_eq!(np["tree"][0]["data"]["rich_text"][0]["plain_text"], "x");
    let parent = trees["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == page.as_str())
        .unwrap();
    assert!(
        parent["tree"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["id"] == new.as_str() && b["type"] == "child_page")
    );
    // stats count the routes by template
    let stats: Value = t
        .http
        .get(format!("{}/__sim/stats", t.origin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n = |route: &str| {
        stats["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["route"] == route)
            .map(|r| r["count"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(n("/v1/pages"), 1);
    assert_eq!(n("/v1/blocks/{id}/children"), 1);
    assert_eq!(n("/v1/pages/{id}"), 1);
    // reset: back to the generated workspace, log empty
    t.http
        .post(format!("{}/__sim/reset", t.origin))
        .send()
        .await
        .unwrap();
    assert!(changes(&t, 0).await.is_empty());
    assert_eq!(t.dataset().await, t.dataset().await);
    t.fails(
        V2025,
        Method::GET,
        &format!("/v1/pages/{new}"),
        None,
        404,
        "object_not_found",
    )
    .await;
}
