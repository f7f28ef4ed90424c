//! Reads against the twin's ground truth: block trees, database rows, complete properties,
//! downloads, and the same trees under the fault plan.

use std::collections::BTreeSet;

use kb_notion::{Notion, NotionVersion, dashed};
use kb_sim::NotionWorkspaceConfig;
use serde_json::Value;

use super::support::{Truth, Twin, assert_same_tree, count};

/// Every live page's block tree, compared with the truth.
async fn every_tree_matches(notion: &Notion, truth: &Truth) -> usize {
    let mut blocks = 0;
    for p in truth.pages() {
        let id = p["id"].as_str().unwrap();
        let got = notion
            .block_tree(id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_same_tree(&got, &truth.tree(id), id);
        blocks += count(&got);
    }
    blocks
}

#[tokio::test]
async fn block_trees_equal_the_ground_truth() {
    let twin = Twin::start(
        NotionWorkspaceConfig {
            pages: 14,
            depth: 6,
            ..NotionWorkspaceConfig::default()
        },
        false,
        None,
    )
    .await;
    let truth = twin.truth().await;
    for v in [NotionVersion::V2025_09_03, NotionVersion::V2022_06_28] {
        let notion = twin.client(v);
        let blocks = every_tree_matches(&notion, &truth).await;
        assert!(blocks > 100, "only {blocks} blocks");
    }
    // The walk went below toggles, columns and synced blocks, and the tree has every type.
    let notion = twin.client(NotionVersion::V2025_09_03);
    let home = truth
        .pages()
        .into_iter()
        .find(|p| p["props"]["title"][0]["plain_text"] == "Team Home")
        .unwrap();
    let tree = notion
        .block_tree(home["id"].as_str().unwrap())
        .await
        .unwrap();
    let synced = tree.iter().find(|b| b.kind == "synced_block").unwrap();
    assert!(!synced.children.is_empty(), "the original's children");
    // A single level is only the first level.
    let one = notion.children(home["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(one.len(), tree.len());
    assert!(one.iter().all(|b| b.children.is_empty()));
}

#[tokio::test]
async fn database_rows_equal_the_truth_under_both_versions() {
    // 120 rows: the queries page (100 per page).
    let twin = Twin::start(
        NotionWorkspaceConfig {
            rows: 120,
            pages: 4,
            ..NotionWorkspaceConfig::default()
        },
        false,
        None,
    )
    .await;
    let truth = twin.truth().await;
    let dbs = truth.raw["databases"].as_array().unwrap();
    assert_eq!(dbs.len(), 3);
    for v in [NotionVersion::V2025_09_03, NotionVersion::V2022_06_28] {
        let notion = twin.client(v);
        for db in dbs {
            let id = db["id"].as_str().unwrap();
            let want: BTreeSet<&str> = truth
                .pages()
                .into_iter()
                .filter(|p| p["parent"]["type"] == "database" && p["parent"]["id"] == id)
                .map(|p| p["id"].as_str().unwrap())
                .collect();
            assert_eq!(want.len(), 120, "{id}");
            let d = notion.database(id).await.unwrap();
            match v {
                NotionVersion::V2025_09_03 => {
                    assert_eq!(d.data_sources.len(), 1);
                    assert!(d.properties.is_empty());
                }
                NotionVersion::V2022_06_28 => assert!(!d.properties.is_empty()),
            }
            let rows = notion.database_rows(&d).await.unwrap();
            let got: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            assert_eq!(got.len(), want.len(), "{v} {id}: no row twice");
            assert_eq!(
                got.iter().copied().collect::<BTreeSet<_>>(),
                want,
                "{v} {id}"
            );
        }
    }
}

#[tokio::test]
async fn page_complete_returns_every_relation_past_25() {
    let twin = Twin::start(
        NotionWorkspaceConfig {
            rows: 40,
            pages: 3,
            ..NotionWorkspaceConfig::default()
        },
        false,
        None,
    )
    .await;
    let truth = twin.truth().await;
    // The first project: the row with a 30-reference relation.
    let (project, prop_id, want) = truth
        .pages()
        .into_iter()
        .find_map(|p| {
            p["props"].as_object().unwrap().iter().find_map(|(k, v)| {
                let a = v.as_array()?;
                (a.len() == 30 && a.iter().all(Value::is_string)).then(|| {
                    (
                        p["id"].as_str().unwrap().to_string(),
                        k.clone(),
                        a.iter()
                            .map(|x| x.as_str().unwrap().to_string())
                            .collect::<BTreeSet<_>>(),
                    )
                })
            })
        })
        .expect("a project with 30 tasks");
    for v in [NotionVersion::V2025_09_03, NotionVersion::V2022_06_28] {
        let notion = twin.client(v);
        let ids = |page: &kb_notion::model::Page| -> (Vec<String>, Option<bool>) {
            let (_, p) = page
                .properties
                .iter()
                .find(|(_, p)| p.id.as_deref() == Some(prop_id.as_str()))
                .unwrap();
            (
                p.value()
                    .unwrap()
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["id"].as_str().unwrap().to_string())
                    .collect(),
                p.rest.get("has_more").and_then(Value::as_bool),
            )
        };
        let cut = notion.page(&project).await.unwrap();
        let (short, more) = ids(&cut);
        assert_eq!((short.len(), more), (25, Some(true)), "{v}");
        let before = notion.stats().snapshot().requests;
        let full = notion.page_complete(&project).await.unwrap();
        let (all, more) = ids(&full);
        assert_eq!(all.len(), 30, "{v}");
        assert_eq!(more, Some(false));
        assert_eq!(all.iter().cloned().collect::<BTreeSet<_>>(), want, "{v}");
        assert!(notion.stats().snapshot().requests > before + 1);
        // The count rollup over the relation is now over all 30 related pages.
        let counts: Vec<f64> = full
            .properties
            .iter()
            .filter(|(_, p)| p.kind == "rollup")
            .filter_map(|(_, p)| {
                let r = p.value()?;
                (r["function"] == "count").then(|| r["number"].as_f64())?
            })
            .collect();
        assert!(counts.contains(&30.0), "{v}: {counts:?}");
        // A page without cut properties costs no extra request.
        let other = truth
            .pages()
            .into_iter()
            .find(|p| p["parent"]["type"] == "page")
            .unwrap();
        let before = notion.stats().snapshot().requests;
        notion
            .page_complete(other["id"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(notion.stats().snapshot().requests, before + 1);
    }
}

#[tokio::test]
async fn downloads_return_the_twins_bytes_without_the_token() {
    let twin = Twin::small().await;
    let truth = twin.truth().await;
    let notion = twin.client(NotionVersion::V2025_09_03);
    let mut checked = 0;
    for p in truth.pages() {
        let id = p["id"].as_str().unwrap();
        let tree = notion.block_tree(id).await.unwrap();
        let mut stack: Vec<&kb_doc::notion::model::Block> = tree.iter().collect();
        while let Some(b) = stack.pop() {
            stack.extend(b.children.iter());
            let Some(url) = b
                .data
                .as_ref()
                .and_then(|d| d.file.as_ref())
                .map(|f| &f.url)
            else {
                continue;
            };
            let bytes = notion.download(url).await.unwrap();
            let bid = b.id.as_deref().unwrap();
            let node = truth
                .tree(id)
                .into_iter()
                .flat_map(|n| flatten(&n))
                .find(|n| n["id"] == bid)
                .unwrap();
            let f = truth.file(node["data"]["file"]["sim_file_id"].as_str().unwrap());
            assert_eq!(bytes.len() as u64, f["bytes"]["size"].as_u64().unwrap());
            assert_eq!(
                format!("{:016x}", kb_sim::rng::fnv1a64(&bytes)),
                f["bytes"]["fnv1a64"].as_str().unwrap()
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "only {checked} files");
    assert_eq!(notion.download_stats().snapshot().requests, checked);
    // A forged signature: 403 with the hint, the URL shown without its query.
    let tree = notion
        .block_tree(truth.pages()[0]["id"].as_str().unwrap())
        .await
        .unwrap();
    let url = find_file_url(&tree).expect("a hosted file on the home page");
    let forged = format!("{}x", url);
    let e = notion.download(&forged).await.unwrap_err();
    assert_eq!(e.status(), Some(403), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("expired") && msg.contains("?…"), "{msg}");
    assert!(!msg.contains("sig="), "{msg}");
}

fn find_file_url(blocks: &[kb_doc::notion::model::Block]) -> Option<String> {
    blocks.iter().find_map(|b| {
        b.data
            .as_ref()
            .and_then(|d| d.file.as_ref())
            .map(|f| f.url.clone())
            .or_else(|| find_file_url(&b.children))
    })
}

fn flatten(n: &Value) -> Vec<Value> {
    let mut out = vec![n.clone()];
    for c in n["children"].as_array().into_iter().flatten() {
        out.extend(flatten(c));
    }
    out
}

#[tokio::test]
async fn the_fault_plan_gives_the_same_trees() {
    let twin = Twin::start(
        NotionWorkspaceConfig::default(),
        false,
        Some("429=0.05,503=0.02,reset=0.01"),
    )
    .await;
    let truth = twin.truth().await;
    let notion = twin.client(NotionVersion::V2025_09_03);
    every_tree_matches(&notion, &truth).await;
    let s = notion.stats().snapshot();
    assert!(s.retries > 0, "the plan injected no fault: {s:?}");
    assert_eq!(s.gave_up, 0);
    // Rows too.
    for db in truth.raw["databases"].as_array().unwrap() {
        let d = notion.database(db["id"].as_str().unwrap()).await.unwrap();
        assert_eq!(notion.database_rows(&d).await.unwrap().len(), 8);
    }
}

#[tokio::test]
async fn search_and_check_see_what_was_shared() {
    let twin = Twin::small().await;
    let truth = twin.truth().await;
    for (v, db_kind) in [
        (NotionVersion::V2025_09_03, "data_source"),
        (NotionVersion::V2022_06_28, "database"),
    ] {
        let notion = twin.client(v);
        let c = notion.check().await.unwrap();
        assert_eq!(c.pages as usize, truth.pages().len(), "{v}");
        assert_eq!(c.databases, 3);
        assert_eq!(c.version, v.to_string());
        assert!(c.bot_name.is_some() && !c.bot_id.is_empty());
        assert!(c.requests >= 2);
        let dbs = notion.search(None, Some(db_kind)).await.unwrap();
        assert_eq!(dbs.len(), 3, "{v}");
        let home = notion
            .search(Some("team home"), Some("page"))
            .await
            .unwrap();
        assert!(home.iter().any(|p| p["object"] == "page"), "{v}");
    }
    // Ids without dashes are the same pages.
    let notion = twin.client(NotionVersion::V2025_09_03);
    let id = truth.pages()[0]["id"].as_str().unwrap();
    let undashed = id.replace('-', "");
    assert_eq!(notion.page(&undashed).await.unwrap().id, dashed(&undashed));
}
