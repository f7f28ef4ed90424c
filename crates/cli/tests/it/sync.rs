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

/// Twins, a migrated tree and its root: (sim, env, dir, Notion root, space key).
fn migrated() -> (
    kb_sim::BackgroundSim,
    Vec<(&'static str, String)>,
    tempfile::TempDir,
    String,
    String,
) {
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

    (sim, e, dir, root, key)
}

#[test]
fn link_pass_edit_pass_from_the_command_line() {
    let (sim, e, dir, root, key) = migrated();
    let http = reqwest::Client::new();
    let conf = sim.handle.confluence_url();
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

fn signed(token: &str, body: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// `sync watch --listen`: forged and unsigned deliveries are refused and start nothing, the
/// one-time verification request is answered, a signed delivery wakes a pass at once (the
/// interval is an hour), and SIGTERM stops it after the pass.
#[test]
fn watch_passes_on_a_verified_webhook_and_refuses_forged_ones() {
    use std::io::{BufRead, BufReader};
    let (_sim, e, dir, root, key) = migrated();
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
        &["sync", "init", "--notion", &root, "--confluence", &key],
        true,
    );
    assert_eq!(r.status, 0, "{}{}", r.stdout, r.stderr);

    let token = "whsec-test-token";
    let mut cmd = std::process::Command::new(super::KBRIDGE);
    cmd.current_dir(dir.path())
        .args([
            "sync",
            "watch",
            "--interval",
            "3600",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--notion-rate", "500", "--confluence-rate", "500"])
        .env_remove("KBRIDGE_STORE")
        .envs(e.iter().map(|(k, v)| (*k, v.as_str())))
        .env("KBRIDGE_NOTION_WEBHOOK_TOKEN", token)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let (out_tx, out_rx) = std::sync::mpsc::channel::<String>();
    let (err_tx, err_rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = out_tx.send(l);
        }
    });
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = err_tx.send(l);
        }
    });
    let wait = std::time::Duration::from_secs(60);
    let url = loop {
        let l = err_rx
            .recv_timeout(wait)
            .expect("watch says where it listens");
        if let Some(rest) = l.strip_prefix("webhook receivers on ") {
            break rest.split("/webhooks").next().unwrap().to_string();
        }
    };
    // The first pass runs at start.
    let first = out_rx.recv_timeout(wait).expect("a pass at start");
    assert!(first.starts_with("default:"), "{first}");

    let post = |body: &str, sig: Option<String>| -> u16 {
        block_on(async {
            let mut r = reqwest::Client::new()
                .post(format!("{url}/webhooks/notion"))
                .body(body.to_string());
            if let Some(s) = sig {
                r = r.header("X-Notion-Signature", s);
            }
            r.send().await.unwrap().status().as_u16()
        })
    };
    let event = json!({
        "id": "evt-1", "type": "page.content_updated", "timestamp": "2026-12-07T10:00:00.000Z",
        "entity": {"id": root, "type": "page"},
        "authors": [{"id": "0c1b1d5e-0000-4000-8000-000000000001", "type": "person"}],
    })
    .to_string();
    assert_eq!(post(&event, Some(signed("wrong", &event))), 401, "forged");
    assert_eq!(post(&event, None), 401, "unsigned");
    assert!(
        out_rx
            .recv_timeout(std::time::Duration::from_millis(500))
            .is_err(),
        "a refused delivery starts no pass"
    );
    assert_eq!(post(&event, Some(signed(token, &event))), 200, "signed");
    let second = out_rx
        .recv_timeout(wait)
        .expect("a signed delivery wakes a pass");
    assert!(second.starts_with("default:"), "{second}");
    // A new subscription's verification: its token signs what follows.
    let verification = json!({"verification_token": "vt-shown-once"}).to_string();
    assert_eq!(post(&verification, None), 200);
    assert_eq!(
        post(&event, Some(signed(token, &event))),
        401,
        "the old token"
    );
    assert_eq!(post(&event, Some(signed("vt-shown-once", &event))), 200);
    let third = out_rx
        .recv_timeout(wait)
        .expect("signed with the new token");
    assert!(third.starts_with("default:"), "{third}");

    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = err_rx.try_iter().collect();
    let all = rest.join("\n");
    assert!(all.contains("stopped by SIGTERM"), "{all}");
    assert!(
        all.contains("vt-shown-once"),
        "the verification token is shown: {all}"
    );
    assert!(
        !all.contains(token),
        "the configured secret is never printed"
    );
    assert!(!all.contains("kbridge-sim-token"));
}
