//! The official Notion JS SDK (`@notionhq/client`, pinned in
//! `tests/clients/notion-js/package.json`) against the twin, changed only in its `baseUrl`:
//! users, search, block children through `iteratePaginatedAPI`, append, a data source query
//! with a filter and a sort, an error. Expectations come from the ground truth.

use std::path::{Path, PathBuf};
use std::process::Command;

use kb_sim::NotionWorkspaceConfig;
use serde_json::{Value, json};

use crate::notion_support::*;

pub fn skip_or_fail(why: &str) {
    if std::env::var("KBRIDGE_REQUIRE_CORPUS").as_deref() == Ok("1") {
        panic!("the Notion SDK check cannot run: {why}");
    }
    eprintln!("SKIPPED: the Notion SDK check: {why}");
}

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/notion-js")
}

/// The SDK installed in `tests/clients/notion-js` (`npm ci` when missing, one caller at a
/// time); `None`, after saying why, when node or npm are absent.
pub fn ensure_sdk() -> Option<PathBuf> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if Command::new("node").arg("--version").output().is_err() {
        skip_or_fail("node is not installed");
        return None;
    }
    let dir = dir();
    if !dir.join("node_modules/@notionhq/client").exists() {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                skip_or_fail(&format!(
                    "npm ci failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                ));
                return None;
            }
            Err(e) => {
                skip_or_fail(&format!("npm is not installed: {e}"));
                return None;
            }
        }
    }
    Some(dir)
}

#[tokio::test]
async fn the_official_js_sdk_works_against_the_twin() {
    let Some(dir) = tokio::task::spawn_blocking(ensure_sdk).await.unwrap() else {
        return;
    };
    let t = NTwin::with(NotionWorkspaceConfig {
        pages: 8,
        rows: 30,
        ..Default::default()
    })
    .await;
    let ds = t.dataset().await;
    let home = ds["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["parent"]["type"] == "workspace"
                && p["props"]["title"][0]["plain_text"] == "Team Home"
        })
        .unwrap();
    let tasks = db(&ds, "Tasks");
    let (hours, done) = (prop_id(tasks, "Hours"), prop_id(tasks, "Done"));
    let mut done_rows: Vec<&Value> = rows(&ds, tasks["id"].as_str().unwrap())
        .into_iter()
        .filter(|r| r["props"][&done] == true)
        .collect();
    done_rows.sort_by(|a, b| {
        b["props"][&hours]
            .as_f64()
            .partial_cmp(&a["props"][&hours].as_f64())
            .unwrap()
            .then_with(|| a["id"].as_str().cmp(&b["id"].as_str()))
    });
    let me = t.get(V2025, "/v1/users/me").await;
    // The markdown of Team Home: its first block (a heading) and its subpages, from the dataset.
    let pages = ds["pages"].as_array().unwrap();
    let blocks = ds["blocks"].as_array().unwrap();
    let first = blocks
        .iter()
        .find(|b| b["id"] == home["children"][0])
        .expect("a first block");
    assert_eq!(first["type"], "heading_1");
    let plain = |rt: &Value| -> String {
        rt.as_array()
            .unwrap()
            .iter()
            .map(|r| r["plain_text"].as_str().unwrap())
            .collect()
    };
    let first_line = format!("# {}", plain(&first["data"]["rich_text"]));
    let subpages: Vec<String> = home["children"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| pages.iter().find(|p| p["id"] == *k))
        .map(|p| plain(&p["props"]["title"]))
        .collect();
    assert!(!subpages.is_empty());
    // The page the SDK moves: the first subpage of Team Home, under the other top-level page.
    let move_page = home["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| pages.iter().any(|p| p["id"] == **k))
        .expect("a subpage")
        .clone();
    let move_to = pages
        .iter()
        .find(|p| {
            p["parent"]["type"] == "workspace" && p["id"] != home["id"] && p["in_trash"] == false
        })
        .expect("another top-level page")["id"]
        .clone();
    // Views: a table, and a board when the data source has a select or status property.
    let views: serde_json::Map<String, Value> = ds["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let board = d["properties"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["type"] == "select" || p["type"] == "status");
            let types = if board {
                json!(["table", "board"])
            } else {
                json!(["table"])
            };
            (d["id"].as_str().unwrap().to_string(), types)
        })
        .collect();
    // Rollup filter: tasks whose project (show_original of its status) has the first task's
    // project's status.
    let projects = db(&ds, "Projects");
    let (k_project, p_status) = (prop_id(tasks, "Project"), prop_id(projects, "Status"));
    let status_of = |k: &Value| -> Vec<String> {
        k["props"][&k_project]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|id| {
                pages
                    .iter()
                    .find(|p| p["id"] == *id && p["in_trash"] == false)
            })
            .filter_map(|p| p["props"][&p_status]["name"].as_str().map(str::to_string))
            .collect()
    };
    let live_tasks: Vec<&Value> = rows(&ds, tasks["id"].as_str().unwrap())
        .into_iter()
        .filter(|r| r["in_trash"] == false)
        .collect();
    let status = live_tasks
        .iter()
        .find_map(|k| status_of(k).into_iter().next())
        .expect("a task in a project with a status");
    let rollup_rows: Vec<Value> = live_tasks
        .iter()
        .filter(|k| status_of(k).contains(&status))
        .map(|k| k["id"].clone())
        .collect();
    let expected = json!({
        "user_ids": ds["users"].as_array().unwrap().iter().map(|u| u["id"].clone()).collect::<Vec<_>>(),
        "bot_id": me["id"],
        "search_query": "team home",
        "search_hit": home["id"],
        "data_source_ids": ds["databases"].as_array().unwrap().iter().map(|d| d["data_source_id"].clone()).collect::<Vec<_>>(),
        "page_id": home["id"],
        "children_ids": home["children"],
        "append_texts": ["first from the SDK", "second from the SDK", "third ✓"],
        "tasks_data_source": tasks["data_source_id"],
        "done_tasks_by_hours": done_rows.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(),
        "missing_page": "0f0e0d0c-0b0a-4000-8000-000000000000",
        "markdown_first_line": first_line,
        "markdown_subpages": subpages,
        "views": views,
        "rollup_status": status,
        "rollup_rows": rollup_rows,
        "move_page": move_page,
        "move_to": move_to,
        "comment_text": "a comment from the SDK ✓",
    });
    let file = std::env::temp_dir().join(format!("kb-sim-notion-sdk-{}.json", std::process::id()));
    std::fs::write(&file, expected.to_string()).unwrap();
    let origin = t.origin.clone();
    let token = t.token.clone();
    let script = dir.join("script.mjs");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .arg(origin)
            .arg(token)
            .arg(&file)
            .current_dir(dir)
            .output()
    })
    .await
    .unwrap()
    .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the SDK script failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(summary["ok"], true);
    assert_eq!(summary["users"], ds["users"].as_array().unwrap().len());
    assert_eq!(
        summary["children"],
        home["children"].as_array().unwrap().len()
    );
    assert_eq!(summary["appended"], 3);
    assert_eq!(summary["query"], done_rows.len());
    assert_eq!(summary["rollup"], rollup_rows.len());
    assert_eq!(
        summary["views"],
        views
            .values()
            .map(|v| v.as_array().unwrap().len())
            .sum::<usize>()
    );
    assert!(summary["markdown_lines"].as_u64().unwrap() > subpages.len() as u64);
    // The twin saw the SDK's calls: the move, the comment and the upload are in its dataset.
    let log = t.handle.sim.notion.changes();
    let kinds: Vec<&str> = log.iter().map(|c| c.event_type.as_str()).collect();
    assert!(kinds.contains(&"page.content_updated"), "{kinds:?}");
    let after = t.dataset().await;
    let moved = after["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == move_page)
        .unwrap();
    assert_eq!(moved["parent"]["id"], move_to, "{moved}");
    assert!(summary["comment"].is_string());
    assert!(summary["uploads"].as_u64().unwrap() >= 1);
}
