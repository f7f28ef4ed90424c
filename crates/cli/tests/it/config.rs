//! `kbridge config check` and `kbridge config reference`.

use super::{p, run, run_service, write};

#[test]
fn config_check_lists_every_problem_with_its_key_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("kbridge.toml");
    write(
        &f,
        "[confluence]\nurl = \"https://acme.atlassian.net\"\nconcurrency = 0\n[jobs.nightly]\nkind = \"extract\"\nconnection = \"acme\"\nsince = \"yesterday\"\n",
    );
    let r = run(&["config", "check", p(&f)]);
    assert_eq!(r.status, 1, "{}", r.stderr);
    assert!(r.stderr.contains("3 problem(s)"), "{}", r.stderr);
    for key in [
        "confluence.concurrency:",
        "jobs.nightly.connection:",
        "jobs.nightly.since:",
    ] {
        assert_eq!(
            r.stderr.matches(key).count(),
            1,
            "{key} once in {}",
            r.stderr
        );
    }
    // The default file is kbridge.toml in the current folder.
    write(&f, "[store]\nurl = \"x.db\"\n[notion]\nrate = 2\n");
    let r = run_service(Some(dir.path()), &[], &["config", "check"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.stdout.contains("kbridge.toml: OK"), "{}", r.stdout);
}

#[test]
fn config_check_never_prints_a_value_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("kbridge.toml");
    write(
        &f,
        "[confluence]\nemail = \"me@acme.com\" api_token = \"ATATT3xFfGF0abcdef\"\n",
    );
    let r = run(&["config", "check", p(&f)]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("kbridge.toml line 2"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("ATATT3x") && !r.stdout.contains("ATATT3x"),
        "{}",
        r.stderr
    );
    write(&f, "[confluence]\napi_token = \"ATATT3xFfGF0abcdef\"\n");
    let r = run(&["config", "check", p(&f)]);
    assert_eq!(r.status, 1);
    assert!(
        r.stderr.contains("secrets never go in kbridge.toml"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("ATATT3x"), "{}", r.stderr);
}

#[test]
fn config_reference_prints_the_documented_reference() {
    let r = run(&["config", "reference"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/config.md"),
    )
    .unwrap();
    assert!(
        doc.contains(r.stdout.trim()),
        "docs/config.md holds what `config reference` prints"
    );
    let r = run(&["config", "reference", "--json-schema"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v.pointer("/properties/connections").is_some(), "{v}");
}

#[test]
fn extract_and_migrate_read_the_same_settings_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("kbridge.toml"),
        "[confluence]\nurl = \"http://127.0.0.1:9\"\nemail = \"a@b.c\"\nconcurrency = 0\n",
    );
    let env = [("CONFLUENCE_API_TOKEN", "t"), ("NOTION_TOKEN", "secret_t")];
    // Before: extract refused concurrency 0 from the flag only; migrate silently made it 1.
    for args in [
        &["extract", "confluence"][..],
        &[
            "migrate",
            "notion-to-confluence",
            "--from",
            "0123456789abcdef0123456789abcdef",
            "--space",
            "X",
        ][..],
        &[
            "verify",
            "notion-to-confluence",
            "--from",
            "0123456789abcdef0123456789abcdef",
            "--space",
            "X",
        ][..],
    ] {
        let r = run_service(Some(dir.path()), &env, args);
        assert_eq!(r.status, 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(
                "kbridge.toml confluence.concurrency: 0 requests in flight cannot make progress"
            ),
            "{args:?}: {}",
            r.stderr
        );
    }
    let r = run_service(
        Some(dir.path()),
        &env,
        &["extract", "confluence", "--concurrency", "0"],
    );
    assert!(
        r.stderr.contains("--concurrency: 0 requests in flight"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_token_env_named_in_the_file_is_the_one_read() {
    let sim = kb_sim::BackgroundSim::start(kb_sim::SimConfig::default()).unwrap();
    let url = sim.handle.confluence_url();
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("kbridge.toml"),
        format!(
            "[confluence]\nurl = \"{url}\"\nemail = \"admin@example.com\"\ntoken_env = \"ACME_CONFLUENCE_TOKEN\"\nendpoints = [\"spaces\"]\n"
        ),
    );
    // The default variable is not read when the file names another one.
    let r = run_service(
        Some(dir.path()),
        &[("CONFLUENCE_API_TOKEN", "kbridge-sim-token")],
        &["extract", "confluence", "--json"],
    );
    assert_eq!(r.status, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("ACME_CONFLUENCE_TOKEN is not set"),
        "{}",
        r.stderr
    );
    let r = run_service(
        Some(dir.path()),
        &[("ACME_CONFLUENCE_TOKEN", "kbridge-sim-token")],
        &["extract", "confluence", "--json"],
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v["rows"]["spaces"].as_u64().unwrap() >= 1, "{v}");
    // A token file works the same way.
    let token = dir.path().join("token");
    write(&token, "kbridge-sim-token\n");
    write(
        &dir.path().join("kbridge.toml"),
        format!(
            "[confluence]\nurl = \"{url}\"\nemail = \"admin@example.com\"\ntoken_file = {:?}\nendpoints = [\"spaces\"]\n",
            p(&token)
        ),
    );
    let r = run_service(Some(dir.path()), &[], &["extract", "confluence", "--json"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
}
