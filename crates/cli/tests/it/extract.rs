//! `kbridge extract confluence`: against the twin, into a SQLite file; errors that name the
//! object and the fix.

use super::{Run, run_service};

fn extract(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut all = vec!["extract", "confluence"];
    all.extend_from_slice(args);
    run_service(Some(dir), env, &all)
}

#[test]
fn extract_confluence_into_the_default_sqlite_file() {
    let sim = kb_sim::BackgroundSim::start(kb_sim::SimConfig::default()).unwrap();
    let url = sim.handle.confluence_url();
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("CONFLUENCE_URL", url.as_str()),
        ("CONFLUENCE_EMAIL", "admin@example.com"),
        ("CONFLUENCE_API_TOKEN", "kbridge-sim-token"),
    ];
    let r = extract(dir.path(), &env, &["--json", "--since", "all"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("one JSON object");
    assert_eq!(v["incremental"], false);
    assert!(v["rows"]["pages"].as_u64().unwrap() >= 60, "{v}");
    assert!(v["requests_total"].as_u64().unwrap() > 0);
    assert!(
        dir.path().join("kbridge.db").is_file(),
        "the default store is kbridge.db here"
    );

    // The second run is incremental, with a readable summary.
    let r = extract(dir.path(), &env, &[]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.stdout.contains("(incremental)"), "{}", r.stdout);
    assert!(r.stdout.contains("requests by endpoint"), "{}", r.stdout);

    // The same from kbridge.toml, into another file, for one space and two tables.
    std::fs::write(
        dir.path().join("kbridge.toml"),
        format!(
            "[store]\nurl = \"other.db\"\n\n[confluence]\nurl = \"{url}\"\nemail = \"admin@example.com\"\nspaces = [\"ENG\"]\nendpoints = [\"spaces\", \"pages\"]\n"
        ),
    )
    .unwrap();
    let r = extract(
        dir.path(),
        &[("CONFLUENCE_API_TOKEN", "kbridge-sim-token")],
        &["--json"],
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["rows"]["spaces"], 1, "{v}");
    assert!(v["rows"].get("page_versions").is_none(), "{v}");
    assert!(dir.path().join("other.db").is_file());
}

#[test]
fn extract_errors_name_the_object_and_the_fix() {
    let sim = kb_sim::BackgroundSim::start(kb_sim::SimConfig::default()).unwrap();
    let url = sim.handle.confluence_url();
    let dir = tempfile::tempdir().unwrap();
    let env = |token: &'static str| {
        [
            ("CONFLUENCE_URL", url.clone()),
            ("CONFLUENCE_EMAIL", "admin@example.com".to_string()),
            ("CONFLUENCE_API_TOKEN", token.to_string()),
        ]
    };
    let refs = |e: &[(&'static str, String); 3]| -> Vec<(&'static str, String)> { e.to_vec() };
    let run = |e: Vec<(&'static str, String)>, args: &[&str]| {
        let e: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
        extract(dir.path(), &e, args)
    };

    // A wrong token: the env vars named, the token nowhere.
    let r = run(refs(&env("wrong-TOKEN-77")), &[]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("CONFLUENCE_API_TOKEN"), "{}", r.stderr);
    assert!(!r.stderr.contains("wrong-TOKEN-77") && !r.stdout.contains("wrong-TOKEN-77"));

    // A space key that does not exist.
    let r = run(refs(&env("kbridge-sim-token")), &["--spaces", "NOPE"]);
    assert_eq!(r.status, 1);
    assert!(
        r.stderr.contains("NOPE") && r.stderr.contains("space"),
        "{}",
        r.stderr
    );

    // Bad flags.
    let r = run(
        refs(&env("kbridge-sim-token")),
        &["--since", "last tuesday"],
    );
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("YYYY-MM-DD"), "{}", r.stderr);
    let r = run(
        refs(&env("kbridge-sim-token")),
        &["--endpoints", "pages,pagez"],
    );
    assert_eq!(r.status, 1);
    assert!(
        r.stderr.contains("pagez") && r.stderr.contains("--list-endpoints"),
        "{}",
        r.stderr
    );

    // Missing configuration.
    let r = run(Vec::new(), &[]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("CONFLUENCE_URL"), "{}", r.stderr);

    // The table list.
    let r = run(Vec::new(), &["--list-endpoints"]);
    assert_eq!(r.status, 0);
    for t in [
        "pages",
        "page_labels",
        "content_restrictions",
        "group_members",
    ] {
        assert!(r.stdout.contains(t), "{}", r.stdout);
    }
}

/// SIGTERM (and Ctrl-C) in the middle of an extract: the process ends with a message that says
/// what to do, its run is `interrupted` (not `running` forever), and the next run completes
/// (issue 11, item 7).
#[test]
fn a_terminated_extract_is_recorded_interrupted() {
    let sim = kb_sim::BackgroundSim::start(kb_sim::SimConfig::default()).unwrap();
    let url = sim.handle.confluence_url();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kbridge.db");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kbridge"))
        .args(["extract", "confluence", "--rate", "15"])
        .current_dir(dir.path())
        .env("CONFLUENCE_URL", url.as_str())
        .env("CONFLUENCE_EMAIL", "admin@example.com")
        .env("CONFLUENCE_API_TOKEN", "kbridge-sim-token")
        .env_remove("KBRIDGE_STORE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let runs = |db: &std::path::Path| {
        rt.block_on(async {
            let s = kb_store::Store::open(db.to_str().unwrap()).await.ok()?;
            let r = s.runs().await.ok();
            s.close().await;
            r
        })
    };
    // Wait until the run is under way (its row exists), then terminate it.
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
    assert_eq!(after.len(), 1);
    assert_eq!(
        after[0].status,
        kb_store::RunStatus::Interrupted,
        "{after:?}"
    );
    assert!(after[0].ended_at.is_some());

    // The next run continues and succeeds; the interrupted one stays interrupted.
    let env = [
        ("CONFLUENCE_URL", url.as_str()),
        ("CONFLUENCE_EMAIL", "admin@example.com"),
        ("CONFLUENCE_API_TOKEN", "kbridge-sim-token"),
    ];
    let r = extract(dir.path(), &env, &["--json"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let after = runs(&db).unwrap();
    let status: Vec<_> = after.iter().map(|r| r.status).collect();
    assert_eq!(
        status,
        [
            kb_store::RunStatus::Interrupted,
            kb_store::RunStatus::Succeeded
        ]
    );
}
