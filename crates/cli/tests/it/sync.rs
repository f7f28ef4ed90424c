//! `kbridge sync` as a user runs it: migrate, link, pass, edit, pass, status, conflicts.

use serde_json::{Value, json};

use super::{Run, run_service};

fn env(sim: &kb_sim::BackgroundSim) -> Vec<(&'static str, String)> {
    vec![
        ("CONFLUENCE_URL", sim.handle.confluence_url()),
        ("CONFLUENCE_EMAIL", "admin@example.com".into()),
        ("CONFLUENCE_API_TOKEN", "kbridge-sim-token".into()),
        ("NOTION_URL", sim.handle.notion_url()),
        ("NOTION_TOKEN", sim.handle.notion_token().to_string()),
    ]
}

fn kb(dir: &std::path::Path, env: &[(&'static str, String)], args: &[&str], rates: bool) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut all = args.to_vec();
    if rates {
        all.extend(["--notion-rate", "500", "--confluence-rate", "500"]);
    }
    run_service(Some(dir), &env, &all)
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn link_pass_edit_pass_from_the_command_line() {
    let mut cfg = kb_sim::SimConfig::default();
    cfg.workspace.pages = 10;
    cfg.notion.workspace = kb_sim::NotionWorkspaceConfig {
        pages: 10,
        depth: 4,
        rows: 0,
        users: 2,
    };
    cfg.notion.rate = None;
    let sim = kb_sim::BackgroundSim::start(cfg).unwrap();
    let e = env(&sim);
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let conf = sim.handle.confluence_url();
    let (root, key) = block_on(async {
        let found: Value = http
            .post(format!("{}/search", sim.handle.notion_url()))
            .bearer_auth(sim.handle.notion_token())
            .header("Notion-Version", "2025-09-03")
            .json(&json!({"query": "Team Home", "filter": {"property": "object", "value": "page"}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let root = found["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["parent"]["type"] == "workspace")
            .map(|p| p["id"].as_str().unwrap().to_string())
            .expect("Team Home");
        let spaces: Value = http
            .get(format!("{conf}/api/v2/spaces"))
            .basic_auth("admin@example.com", Some("kbridge-sim-token"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            root,
            spaces["results"][0]["key"].as_str().unwrap().to_string(),
        )
    });

    let r = kb(dir.path(), &e, &["sync", "run"], true);
    assert_eq!(r.status, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("sync init"),
        "names the fix: {}",
        r.stderr
    );

    let r = kb(
        dir.path(),
        &e,
        &[
            "migrate",
            "notion-to-confluence",
            "--from",
            &root,
            "--space",
            &key,
        ],
        true,
    );
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    let r = kb(
        dir.path(),
        &e,
        &[
            "sync",
            "init",
            "--name",
            "docs",
            "--notion",
            &root,
            "--confluence",
            &key,
            "--json",
        ],
        true,
    );
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    let init: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert!(init["adopted"].as_u64().unwrap() >= 2, "{init}");
    let cid = init["confluence_root"].as_str().unwrap().to_string();

    let r = kb(dir.path(), &e, &["sync", "run", "--json"], true);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    let pass: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(pass["to_notion"], 0, "{pass}");
    assert_eq!(pass["to_confluence"], 0, "{pass}");

    // A human adds a paragraph in Confluence.
    block_on(async {
        let p: Value = http
            .get(format!("{conf}/api/v2/pages/{cid}?body-format=storage"))
            .basic_auth("admin@example.com", Some("kbridge-sim-token"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let storage = p["body"]["storage"]["value"].as_str().unwrap();
        let r = http
            .put(format!("{conf}/api/v2/pages/{cid}"))
            .basic_auth("admin@example.com", Some("kbridge-sim-token"))
            .json(&json!({
                "id": cid, "status": "current", "title": p["title"],
                "body": {"representation": "storage", "value": format!("<p>Added from the command line test.</p>{storage}")},
                "version": {"number": p["version"]["number"].as_u64().unwrap() + 1},
            }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    });
    let r = kb(dir.path(), &e, &["sync", "run", "--name", "docs"], true);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("1 written to Notion"), "{}", r.stdout);

    let r = kb(dir.path(), &e, &["sync", "status", "--json"], false);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    let st: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(st[0]["name"], "docs");
    assert_eq!(st[0]["open_conflicts"], 0);
    let r = kb(dir.path(), &e, &["sync", "conflicts"], false);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("No open conflicts"), "{}", r.stdout);
    let r = kb(
        dir.path(),
        &e,
        &["sync", "resolve", "99", "--take", "notion"],
        true,
    );
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("no open conflict 99"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("kbridge-sim-token") && !r.stdout.contains("kbridge-sim-token"),
        "no secret in the output"
    );
    let r = kb(
        dir.path(),
        &e,
        &[
            "sync",
            "init",
            "--name",
            "x",
            "--notion",
            &root,
            "--confluence",
            &key,
            "--policy",
            "loudest",
        ],
        true,
    );
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("prefer-notion"), "{}", r.stderr);
    let r = kb(dir.path(), &e, &["sync", "remove", "docs"], false);
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);
    let r = kb(dir.path(), &e, &["sync", "status"], false);
    assert!(r.stdout.contains("No sync links"), "{}", r.stdout);
}
