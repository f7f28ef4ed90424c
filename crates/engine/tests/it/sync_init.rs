//! `sync init` start modes without an earlier migration in the store: one side empty (the
//! passes copy the other side into it), both full (pairing by title path, shown as a plan,
//! stored only with `adopt`).

use kb_engine::migrate::{self, NotionToConfluence};
use kb_engine::sync::{self, InitOptions, Policy, StartMode, SyncContext};
use serde_json::{Value, json};

use crate::migrate::{notion, space_key, twins};
use crate::support;
use crate::sync_pass::{Clock, Human, write_paragraphs};

fn norm(id: &str) -> String {
    kb_engine::migrate::transform::norm_id(id).unwrap()
}

fn opts(root: &str, key: &str, cid: &str, adopt: bool) -> InitOptions {
    InitOptions {
        name: "docs".into(),
        notion_root: root.to_string(),
        space_key: key.to_string(),
        confluence_root: Some(cid.to_string()),
        policy: Policy::Manual,
        utc_offset_minutes: 0,
        deletion: sync::Deletion::Trash,
        adopt,
    }
}

async fn team_home(n: &kb_notion::Notion) -> String {
    let found = n.search(Some("Team Home"), Some("page")).await.unwrap();
    norm(
        found
            .iter()
            .find(|p| p["parent"]["type"] == "workspace")
            .and_then(|p| p["id"].as_str())
            .unwrap(),
    )
}

/// Writes (every request but GETs and Notion's search) the twins served.
async fn writes_served(h: &Human) -> u64 {
    let v: Value = reqwest::get(format!("{}/__sim/stats", h.sim_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            let route = r["route"].as_str().unwrap();
            (route.starts_with("/v1/") || route.starts_with("/wiki/"))
                && r["method"] != "GET"
                && route != "/v1/search"
        })
        .map(|r| r["count"].as_u64().unwrap())
        .sum()
}

/// Both trees full (migrated by another store, so this one knows no pair): `init` shows the
/// title-path plan and stores nothing; with `adopt` it stores it, and edits then sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_full_trees_are_paired_by_title_path_only_with_adopt() {
    let sim = twins(30, 0).await;
    let clock = Clock::default();
    let (n, c) = (notion(&sim), support::client(&sim));
    let (key, _) = space_key(&c).await;
    let root = team_home(&n).await;
    let h = Human::new(&sim);
    let paras = write_paragraphs(&h, &kb_notion::dashed(&root)).await;
    let dir = tempfile::tempdir().unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other = support::sqlite(other_dir.path()).await;
    let m = migrate::n2c::run(
        &other,
        &n,
        &c,
        &NotionToConfluence {
            from: vec![root.clone()],
            space: key.clone(),
            parent: None,
            plan_only: false,
            force: false,
        },
        None,
    )
    .await
    .unwrap();
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    let truth = other.id_map_entries().await.unwrap();
    let cid_of = |nid: &str| {
        truth
            .iter()
            .find(|(ss, si, _, _)| ss == "notion" && norm(si) == nid)
            .map(|(_, _, _, ti)| ti.clone())
    };
    let croot = cid_of(&root).expect("the root was migrated");

    let store = support::sqlite(dir.path()).await;
    let cx = SyncContext {
        store: &store,
        notion: &n,
        confluence: &c,
    };
    let before = writes_served(&h).await;
    let plan = sync::init(&cx, &opts(&root, &key, &croot, false), clock.now())
        .await
        .unwrap();
    assert_eq!(plan.mode, StartMode::TitlePath, "{plan:?}");
    assert!(!plan.written, "{plan:?}");
    assert!(plan.plan.len() >= 5, "{plan:?}");
    for p in &plan.plan {
        assert_eq!(
            cid_of(&p.notion_id).as_deref(),
            Some(p.confluence_id.as_str()),
            "{p:?} is the pair the migration made"
        );
    }
    assert!(
        store.sync_links().await.unwrap().is_empty(),
        "nothing stored"
    );
    assert_eq!(
        writes_served(&h).await,
        before,
        "nothing written to the services"
    );

    let done = sync::init(&cx, &opts(&root, &key, &croot, true), clock.now())
        .await
        .unwrap();
    assert!(done.written, "{done:?}");
    assert_eq!(done.adopted, 1 + plan.plan.len(), "{done:?}");
    clock.minute_later(&sim).await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.to_notion, r.to_confluence), (0, 0), "{r:?}");
    // An edit in Confluence reaches Notion through the adopted pair.
    h.edit_confluence(&croot, &paras[1].1, "Edited after adoption")
        .await;
    let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!((r.to_notion, r.to_confluence), (1, 0), "{r:?}");
    let kids = h.children(&kb_notion::dashed(&root)).await;
    assert!(
        kids.iter().any(|b| b["id"] == paras[1].0.as_str()
            && b["paragraph"]["rich_text"][0]["plain_text"] == "Edited after adoption"),
        "{kids:?}"
    );
}

/// The Confluence side is an empty page: the passes copy the Notion tree into it, a level a
/// pass, then stop writing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_side_is_filled_by_copying() {
    let sim = twins(30, 0).await;
    let clock = Clock::default();
    let (n, c) = (notion(&sim), support::client(&sim));
    let (key, space_id) = space_key(&c).await;
    let root = team_home(&n).await;
    let h = Human::new(&sim);
    write_paragraphs(&h, &kb_notion::dashed(&root)).await;
    // A human makes the empty Confluence page to sync into.
    let r = h
        .http
        .post(format!("{}/api/v2/pages", h.conf_url))
        .basic_auth(&h.email, Some(&h.token))
        .json(&json!({
            "spaceId": space_id, "status": "current", "title": "Team Home (synced)",
            "body": {"representation": "storage", "value": ""},
        }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let croot = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let cx = SyncContext {
        store: &store,
        notion: &n,
        confluence: &c,
    };
    let init = sync::init(&cx, &opts(&root, &key, &croot, false), clock.now())
        .await
        .unwrap();
    assert_eq!(init.mode, StartMode::CopyToConfluence, "{init:?}");
    assert!(init.written && init.unpaired.is_empty(), "{init:?}");
    let pages = kb_engine::migrate::source::walk(&n, &root)
        .await
        .unwrap()
        .into_iter()
        .filter(|x| x.kind == kb_engine::migrate::source::NodeKind::Page)
        .count();
    let mut created = 0;
    let mut quiet = 0;
    for _ in 0..12 {
        clock.minute_later(&sim).await;
        let r = sync::run_pass(&cx, "docs", clock.now()).await.unwrap();
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        created += r.created_in_confluence;
        if r.created_in_confluence + r.to_confluence + r.to_notion == 0 {
            quiet += 1;
            if quiet == 2 {
                break;
            }
        }
    }
    assert_eq!(quiet, 2, "the copy settles");
    assert_eq!(created + 1, pages, "every Notion page is copied once");
    assert_eq!(
        sync::state::load_pairs(&store, "docs").await.unwrap().len(),
        pages
    );
    let body = h.conf_page(&croot).await["body"]["storage"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        body.contains("Bravo paragraph about the pager rota"),
        "{body}"
    );
}
