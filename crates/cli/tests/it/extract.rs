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
