//! Sync hosted by the daemon: a linked tree, the same paragraph edited differently on both
//! sides (by plain HTTP, as humans), the `sync` job's run fails naming the conflict, the API
//! and the Sync page show it side by side, a resolve without CSRF is refused and changes
//! nothing, a resolve for Notion writes Notion's paragraph to Confluence and closes it.

use std::collections::HashMap;

use axum::http::StatusCode;
use jiff::SignedDuration;
use kb_config::{
    ConfigFile, ConfluenceCloudConnection, Connection, Job, NotionConnection, SyncJob,
};
use kb_engine::migrate::{self, NotionToConfluence};
use kb_engine::sync::{self, InitOptions, Policy, SyncContext};
use kb_serve::Clock as _;
use kb_serve::runner::{Ended, drain};
use kb_sim::{SimConfig, SimHandle};
use serde_json::{Value, json};

use crate::support::{TOKEN, call, daemon, request, send};

pub(crate) async fn twins() -> SimHandle {
    let mut cfg = SimConfig::default();
    cfg.workspace.pages = 12;
    cfg.workspace.seed = 5;
    cfg.notion.workspace = kb_sim::NotionWorkspaceConfig {
        pages: 20,
        depth: 6,
        rows: 0,
        users: 4,
    };
    cfg.notion.rate = None;
    kb_sim::start(cfg).await.expect("the twins start")
}

pub(crate) fn config(sim: &SimHandle) -> ConfigFile {
    let mut c = ConfigFile::default();
    c.connections.insert(
        "notion".into(),
        Connection::Notion(NotionConnection {
            url: Some(sim.notion_url()),
            token_env: Some("NOTES_TOKEN".into()),
            rate: Some(2000.0),
            ..Default::default()
        }),
    );
    c.connections.insert(
        "confluence".into(),
        Connection::ConfluenceCloud(ConfluenceCloudConnection {
            url: sim.confluence_url(),
            email: sim.credentials()[0].email.clone(),
            token_env: Some("WIKI_TOKEN".into()),
            token_file: None,
            rate: Some(2000.0),
            concurrency: Some(8),
        }),
    );
    c.jobs.insert(
        "twoway".into(),
        Job::Sync(SyncJob {
            links: vec!["docs".into()],
            ..Default::default()
        }),
    );
    c
}

fn notion_req(sim: &SimHandle, m: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(m, format!("{}/{path}", sim.notion_url()))
        .bearer_auth(sim.notion_token())
        .header("Notion-Version", "2025-09-03")
}

pub(crate) async fn conf_page(sim: &SimHandle, id: &str) -> Value {
    let c = &sim.credentials()[0];
    reqwest::Client::new()
        .get(format!(
            "{}/api/v2/pages/{id}?body-format=storage",
            sim.confluence_url()
        ))
        .basic_auth(&c.email, Some(&c.token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn edit_confluence(sim: &SimHandle, id: &str, old: &str, new: &str) {
    let c = &sim.credentials()[0];
    let p = conf_page(sim, id).await;
    let storage = p["body"]["storage"]["value"].as_str().unwrap();
    assert!(storage.contains(old), "{storage}");
    let r = reqwest::Client::new()
        .put(format!("{}/api/v2/pages/{id}", sim.confluence_url()))
        .basic_auth(&c.email, Some(&c.token))
        .json(&json!({
            "id": id, "status": "current", "title": p["title"],
            "body": {"representation": "storage", "value": storage.replacen(old, new, 1)},
            "version": {"number": p["version"]["number"].as_u64().unwrap() + 1},
        }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

async fn minute_later(sim: &SimHandle, d: &crate::support::Daemon) {
    let r = reqwest::Client::new()
        .post(format!("{}/__sim/notion/clock", sim.url()))
        .json(&json!({"advance_seconds": 61}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    d.clock.advance(SignedDuration::from_secs(61));
}

pub(crate) const TEXTS: [&str; 3] = [
    "Alpha paragraph one",
    "Bravo paragraph two",
    "Charlie paragraph three",
];

pub(crate) fn env(sim: &SimHandle) -> HashMap<String, String> {
    HashMap::from([
        ("WIKI_TOKEN".to_string(), sim.credentials()[0].token.clone()),
        ("NOTES_TOKEN".to_string(), sim.notion_token().to_string()),
    ])
}

/// A Notion tree migrated and linked (`docs`), passed quietly by the daemon's `twoway` job,
/// then the same paragraph edited differently on both sides and passed again: one open
/// conflict. Returns the Confluence root page's id.
pub(crate) async fn with_conflict(sim: &SimHandle, d: &crate::support::Daemon) -> String {
    // A tree with three paragraphs, migrated and linked (as `kbridge migrate` and `sync init`).
    let n = {
        let mut cfg = kb_notion::NotionConfig::new(
            sim.notion_url().parse().unwrap(),
            sim.notion_token().to_string().into(),
        );
        cfg.rate = 2000.0;
        kb_notion::Notion::new(cfg).unwrap()
    };
    let c = {
        let cr = &sim.credentials()[0];
        let mut cfg = kb_confluence::ConfluenceConfig::new(
            &sim.confluence_url(),
            cr.email.clone(),
            cr.token.clone().into(),
        )
        .unwrap();
        cfg.rate = 2000.0;
        kb_confluence::Confluence::new(cfg).unwrap()
    };
    let spaces = c.spaces().unwrap().all().await.unwrap();
    let key = spaces[0]["key"].as_str().unwrap().to_string();
    let found = n.search(Some("Team Home"), Some("page")).await.unwrap();
    let root = found
        .iter()
        .find(|p| p["parent"]["type"] == "workspace")
        .and_then(|p| p["id"].as_str())
        .unwrap()
        .to_string();
    let texts = TEXTS;
    let children: Vec<Value> = texts
        .iter()
        .map(|t| json!({"type": "paragraph", "paragraph": {"rich_text": [{"type": "text", "text": {"content": t}}]}}))
        .collect();
    let r: Value = notion_req(
        sim,
        reqwest::Method::PATCH,
        &format!("blocks/{root}/children"),
    )
    .json(&json!({"children": children}))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let p1 = r["results"][0]["id"].as_str().unwrap().to_string();
    let store = d.sh.store.clone();
    let m = migrate::n2c::run(
        &store,
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
    let cx = SyncContext {
        store: &store,
        notion: &n,
        confluence: &c,
    };
    let init = sync::init(
        &cx,
        &InitOptions {
            name: "docs".into(),
            notion_root: root.clone(),
            space_key: key,
            confluence_root: None,
            policy: Policy::Manual,
            utc_offset_minutes: 0,
            deletion: Default::default(),
            adopt: false,
        },
        d.clock.now().as_millisecond(),
    )
    .await
    .unwrap();
    let cid = init.confluence_root.clone();

    // The daemon's sync job passes quietly until the humans edit.
    for _ in 0..2 {
        call(&d.sh, "POST", "/api/v1/jobs/twoway/run", None).await;
        let done = drain(&d.sh).await.unwrap();
        assert_eq!(done[0].1, Ended::Finished("succeeded".into()), "{done:?}");
        minute_later(sim, d).await;
    }

    // The same paragraph edited differently on both sides.
    let r = notion_req(sim, reqwest::Method::PATCH, &format!("blocks/{p1}"))
        .json(&json!({"paragraph": {"rich_text": [{"type": "text", "text": {"content": "Notion says this"}}]}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    edit_confluence(sim, &cid, texts[0], "Confluence says that").await;
    call(&d.sh, "POST", "/api/v1/jobs/twoway/run", None).await;
    let done = drain(&d.sh).await.unwrap();
    let (run, ended) = &done[0];
    assert_eq!(
        *ended,
        Ended::Finished("failed".into()),
        "a conflict fails the run"
    );
    let (_, r) = call(&d.sh, "GET", &format!("/api/v1/runs/{run}"), None).await;
    assert_eq!(r["counts"]["docs"]["conflicts"], 1, "{r}");
    assert!(r["errors"].to_string().contains("conflict"), "{r}");

    cid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_is_shown_side_by_side_and_resolved_from_the_daemon() {
    let sim = twins().await;
    let now = jiff::Timestamp::now().to_string();
    let d = daemon(config(&sim), env(&sim), &now).await;

    // Before any link: no links, no conflicts.
    let (s, v) = call(&d.sh, "GET", "/api/v1/sync/links", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["links"], json!([]), "{v}");

    let cid = with_conflict(&sim, &d).await;
    let texts = TEXTS;

    // The API and the page show it side by side.
    let (_, v) = call(&d.sh, "GET", "/api/v1/sync/conflicts", None).await;
    let list = v["conflicts"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    let id = list[0]["id"].as_i64().unwrap();
    assert!(
        list[0]["notion"]
            .as_str()
            .unwrap()
            .contains("Notion says this")
    );
    assert!(
        list[0]["confluence"]
            .as_str()
            .unwrap()
            .contains("Confluence says that")
    );
    assert!(list[0]["base"].as_str().unwrap().contains(texts[0]));
    let (_, v) = call(&d.sh, "GET", "/api/v1/sync/links", None).await;
    assert_eq!(v["links"][0]["open_conflicts"], 1, "{v}");
    let (s, html) = send(
        &d.sh,
        request("GET", "/ui/sync", Some(TOKEN), None, [127, 0, 0, 1]),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains(&format!("id=\"conflict-{id}\"")), "{html}");
    for side in ["Notion says this", "Confluence says that", texts[0]] {
        assert!(html.contains(side), "{side} on the page");
    }
    assert!(html.contains(&format!("/ui/sync/conflicts/{id}/resolve")));

    // A form post without a session's CSRF token is refused and changes nothing.
    let mut req = request(
        "POST",
        &format!("/ui/sync/conflicts/{id}/resolve"),
        Some(TOKEN),
        None,
        [127, 0, 0, 1],
    );
    *req.body_mut() = axum::body::Body::from("take=notion");
    req.headers_mut().insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    let (s, _) = send(&d.sh, req).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, v) = call(&d.sh, "GET", "/api/v1/sync/conflicts", None).await;
    assert_eq!(v["conflicts"].as_array().unwrap().len(), 1);

    // A wrong side names the fix; then resolved for Notion.
    let (s, v) = call(
        &d.sh,
        "POST",
        &format!("/api/v1/sync/conflicts/{id}/resolve"),
        Some(json!({"take": "both"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = call(
        &d.sh,
        "POST",
        &format!("/api/v1/sync/conflicts/{id}/resolve"),
        Some(json!({"take": "notion"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["report"]["to_confluence"], 1, "{v}");
    let storage = conf_page(&sim, &cid).await["body"]["storage"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(storage.contains("Notion says this"), "{storage}");
    assert!(!storage.contains("Confluence says that"), "{storage}");
    let (_, v) = call(&d.sh, "GET", "/api/v1/sync/conflicts", None).await;
    assert_eq!(v["conflicts"], json!([]), "{v}");
    // Resolving it again: it is not open any more.
    let (s, _) = call(
        &d.sh,
        "POST",
        &format!("/api/v1/sync/conflicts/{id}/resolve"),
        Some(json!({"take": "notion"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // The next pass is quiet again.
    minute_later(&sim, &d).await;
    call(&d.sh, "POST", "/api/v1/jobs/twoway/run", None).await;
    let done = drain(&d.sh).await.unwrap();
    assert_eq!(done[0].1, Ended::Finished("succeeded".into()), "{done:?}");
    // No token in any answer, page or row (the sync tables included).
    let wiki = sim.credentials()[0].token.clone();
    crate::support::assert_no_secret_anywhere(
        &d,
        &[&wiki, sim.notion_token()],
        "twoway",
        done[0].0,
    )
    .await;
}
