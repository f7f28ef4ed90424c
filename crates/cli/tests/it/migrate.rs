//! `kbridge migrate notion-to-confluence`, `kbridge verify` and `kbridge quickstart` as a user
//! runs them, against twins on loopback.

use serde_json::Value;

use super::{Run, run_service};

fn twins() -> kb_sim::BackgroundSim {
    let mut cfg = kb_sim::SimConfig::default();
    cfg.workspace.pages = 12;
    cfg.notion.workspace = kb_sim::NotionWorkspaceConfig {
        pages: 12,
        depth: 6,
        rows: 4,
        users: 3,
    };
    cfg.notion.rate = None;
    kb_sim::BackgroundSim::start(cfg).unwrap()
}

fn env(sim: &kb_sim::BackgroundSim) -> Vec<(&'static str, String)> {
    vec![
        ("CONFLUENCE_URL", sim.handle.confluence_url()),
        ("CONFLUENCE_EMAIL", "admin@example.com".into()),
        ("CONFLUENCE_API_TOKEN", "kbridge-sim-token".into()),
        ("NOTION_URL", sim.handle.notion_url()),
        ("NOTION_TOKEN", sim.handle.notion_token().to_string()),
    ]
}

fn kb(dir: &std::path::Path, env: &[(&'static str, String)], args: &[&str]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut all = args.to_vec();
    all.extend(["--notion-rate", "500", "--confluence-rate", "500"]);
    run_service(Some(dir), &env, &all)
}

/// The workspace's two top-level Notion pages, from the twin's ground truth.
fn roots(sim: &kb_sim::BackgroundSim) -> String {
    let url = format!("{}/__sim/notion/dataset", sim.handle.url());
    let truth: Value = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() });
    let ids: Vec<&str> = truth["pages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["parent"]["type"] == "workspace")
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    ids.join(",")
}

#[test]
fn plan_migrate_verify_and_rerun_from_the_command_line() {
    let sim = twins();
    let dir = tempfile::tempdir().unwrap();
    let env = env(&sim);
    let from = roots(&sim);
    let n2c = |verb: &'static str, extra: &'static str| {
        let mut v = vec![
            verb,
            "notion-to-confluence",
            "--from",
            from.as_str(),
            "--space",
            "ENG",
        ];
        if !extra.is_empty() {
            v.push(extra);
        }
        v
    };
    let r = kb(dir.path(), &env, &n2c("migrate", "--plan"));
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.stdout.contains("plan: "), "{}", r.stdout);
    assert!(r.stdout.contains("nothing was written"), "{}", r.stdout);
    assert!(
        r.stdout.contains("[database]") && r.stdout.contains("[row]"),
        "{}",
        r.stdout
    );

    let mut args = n2c("migrate", "--json");
    args.extend(["-v", "--log-format", "json"]);
    let r = kb(dir.path(), &env, &args);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let pages = v["pages"].as_u64().unwrap();
    assert!(pages > 20, "{v}");
    assert_eq!(v["created"].as_u64(), Some(pages));
    // The migration's steps are on the job's one event stream, with the clients' requests:
    // each page one `page_done` log line (JSON, on stderr) and counted in the report's events.
    let events: Vec<Value> = r
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let done: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "page_done")
        .collect();
    assert_eq!(done.len() as u64, pages, "{}", r.stderr);
    assert!(
        done.iter()
            .all(|e| e["outcome"] == "created" && e["title"].is_string() && e["level"] == "INFO"),
        "{done:?}"
    );
    assert!(
        events.iter().any(|e| e["event"] == "phase_started"),
        "{}",
        r.stderr
    );
    assert_eq!(v["events"]["page_done"].as_u64(), Some(pages), "{v}");
    assert!(
        v["events"]["request_done"].as_u64().unwrap() >= v["writes"].as_u64().unwrap(),
        "{v}"
    );
    assert_eq!(v["store"], "kbridge.db");
    assert!(dir.path().join("kbridge.db").exists());
    assert!(
        !r.stdout.contains("secret_kbridge") && !r.stderr.contains("secret_kbridge"),
        "no token in the output"
    );

    let r = kb(dir.path(), &env, &n2c("verify", ""));
    assert_eq!(r.status, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains(&format!("parity: {pages} pages, {pages} present")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.trim_end().ends_with("OK"), "{}", r.stdout);

    let r = kb(dir.path(), &env, &n2c("migrate", "--json"));
    assert_eq!(r.status, 0, "{}", r.stderr);
    let again: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(
        (again["writes"].as_u64(), again["created"].as_u64()),
        (Some(0), Some(0))
    );
}

#[test]
fn migrate_errors_name_the_object_and_the_fix() {
    let sim = twins();
    let dir = tempfile::tempdir().unwrap();
    let env = env(&sim);
    let from = roots(&sim);
    let first = from.split(',').next().unwrap();

    let r = kb(
        dir.path(),
        &env,
        &[
            "migrate",
            "notion-to-confluence",
            "--from",
            "not-an-id",
            "--space",
            "ENG",
        ],
    );
    assert_eq!(r.status, 1);
    assert!(
        r.stderr
            .contains("\"not-an-id\" is not a Notion page or database id"),
        "{}",
        r.stderr
    );

    let r = kb(
        dir.path(),
        &env,
        &[
            "migrate",
            "notion-to-confluence",
            "--from",
            first,
            "--space",
            "NOPE",
        ],
    );
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("NOPE"), "{}", r.stderr);

    let no_token: Vec<(&'static str, String)> = env
        .iter()
        .filter(|(k, _)| *k != "NOTION_TOKEN")
        .cloned()
        .collect();
    let r = kb(
        dir.path(),
        &no_token,
        &[
            "migrate",
            "notion-to-confluence",
            "--from",
            first,
            "--space",
            "ENG",
        ],
    );
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("NOTION_TOKEN"), "{}", r.stderr);

    let mut bad = env.clone();
    for (k, v) in &mut bad {
        if *k == "NOTION_TOKEN" {
            *v = "secret_wrong".into();
        }
    }
    let r = kb(
        dir.path(),
        &bad,
        &[
            "migrate",
            "notion-to-confluence",
            "--from",
            first,
            "--space",
            "ENG",
        ],
    );
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("check NOTION_TOKEN"), "{}", r.stderr);
    assert!(!r.stderr.contains("secret_wrong"), "{}", r.stderr);
}

#[test]
fn quickstart_leaves_its_store_and_replaces_only_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let small = [
        "quickstart",
        "--pages",
        "30",
        "--notion-pages",
        "8",
        "--notion-rows",
        "3",
    ];
    let r = run_service(Some(dir.path()), &[], &small);
    assert_eq!(r.status, 0, "{}\n{}", r.stdout, r.stderr);
    for step in [
        "1. kbridge extract confluence",
        "2. kbridge migrate",
        "3. kbridge verify",
        "files attached: OK",
    ] {
        assert!(r.stdout.contains(step), "{step}: {}", r.stdout);
    }
    assert!(dir.path().join("kbridge.db").exists());
    // Again in the same folder: the earlier quickstart's store is replaced.
    let r = run_service(Some(dir.path()), &[], &small);
    assert_eq!(r.status, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("files attached: OK"), "{}", r.stdout);
    // Someone else's data is not touched.
    let other = tempfile::tempdir().unwrap();
    let sim = twins();
    let r = run_service(
        Some(other.path()),
        &[
            ("CONFLUENCE_URL", &sim.handle.confluence_url()),
            ("CONFLUENCE_EMAIL", "admin@example.com"),
            ("CONFLUENCE_API_TOKEN", "kbridge-sim-token"),
        ],
        &["extract", "confluence", "--spaces", "ENG"],
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    let before = std::fs::metadata(other.path().join("kbridge.db"))
        .unwrap()
        .len();
    let r = run_service(Some(other.path()), &[], &small);
    assert_eq!(r.status, 1);
    assert!(
        r.stderr
            .contains("holds kbridge data, which quickstart did not make, and was left untouched"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::metadata(other.path().join("kbridge.db"))
            .unwrap()
            .len(),
        before
    );
}

#[test]
fn quickstart_refuses_a_foreign_sqlite_database_before_touching_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kbridge.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::ConnectOptions as _;
        let mut c = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        // Before: quickstart added its 27 tables, then failed on this one.
        sqlx::query("CREATE TABLE pages (id INTEGER PRIMARY KEY, mine TEXT)")
            .execute(&mut c)
            .await
            .unwrap();
        sqlx::query("INSERT INTO pages (mine) VALUES ('precious')")
            .execute(&mut c)
            .await
            .unwrap();
    });
    let before = std::fs::read(&db).unwrap();
    let r = run_service(Some(dir.path()), &[], &["quickstart", "--pages", "10"]);
    assert_eq!(r.status, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("is a database with other tables (pages)")
            && r.stderr.contains("left untouched"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "not one byte changed");
    for suffix in ["-wal", "-shm"] {
        assert!(!dir.path().join(format!("kbridge.db{suffix}")).exists());
    }
    // A file that is not a database at all is refused the same way.
    std::fs::write(&db, "my notes, not a database\n").unwrap();
    let r = run_service(Some(dir.path()), &[], &["quickstart", "--pages", "10"]);
    assert_eq!(r.status, 1);
    assert!(
        r.stderr.contains("cannot look into the store"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&db).unwrap(),
        "my notes, not a database\n"
    );
}

/// SIGTERM stops `kbridge migrate` cleanly: its run is recorded `interrupted`, and the next run
/// completes the migration with nothing lost (verify is clean) and no duplicate (issue 11,
/// item 7).
#[test]
fn a_terminated_migrate_is_recorded_interrupted_and_the_rerun_completes() {
    let sim = twins();
    let dir = tempfile::tempdir().unwrap();
    let env = env(&sim);
    let from = roots(&sim);
    let db = dir.path().join("kbridge.db");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kbridge"));
    cmd.args([
        "migrate",
        "notion-to-confluence",
        "--from",
        from.as_str(),
        "--space",
        "ENG",
        "--notion-rate",
        "20",
    ])
    .current_dir(dir.path())
    .env_remove("KBRIDGE_STORE")
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let runs = |db: &std::path::Path| {
        rt.block_on(async {
            let s = kb_store::Store::open(db.to_str().unwrap()).await.ok()?;
            let r = s.runs().await.ok();
            s.close().await;
            r
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while runs(&db).is_none_or(|r| r.is_empty()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        assert!(child.try_wait().unwrap().is_none(), "ended before SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    let after = runs(&db).unwrap();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].job, "migrate notion-to-confluence");
    assert_eq!(after[0].status, kb_store::RunStatus::Interrupted);
    assert!(after[0].ended_at.is_some());

    let args = [
        "notion-to-confluence",
        "--from",
        from.as_str(),
        "--space",
        "ENG",
    ];
    let mut migrate = vec!["migrate"];
    migrate.extend(args);
    let r = kb(dir.path(), &env, &migrate);
    assert_eq!(r.status, 0, "{}\n{}", r.stdout, r.stderr);
    let mut verify = vec!["verify"];
    verify.extend(args);
    let v = kb(dir.path(), &env, &verify);
    assert_eq!(v.status, 0, "{}\n{}", v.stdout, v.stderr);
    let after = runs(&db).unwrap();
    let seen: Vec<(&str, kb_store::RunStatus)> =
        after.iter().map(|r| (r.job.as_str(), r.status)).collect();
    assert_eq!(
        seen,
        [
            (
                "migrate notion-to-confluence",
                kb_store::RunStatus::Interrupted
            ),
            (
                "migrate notion-to-confluence",
                kb_store::RunStatus::Succeeded
            ),
            (
                "verify notion-to-confluence",
                kb_store::RunStatus::Succeeded
            ),
        ]
    );
    assert!(after[1].requests["notion"]["total"].as_u64().unwrap() > 0);
}
