//! `kbridge check confluence`: against the twin, with the site and credentials in the env.

use super::{Run, run_service};

fn check(env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut all = vec!["check", "confluence"];
    all.extend_from_slice(args);
    run_service(None, env, &all)
}

/// A loopback URL where nothing listens (the port was free a moment ago).
fn nobody_listening() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

/// A refused token: exit 1, a 401 naming `var` (as text and as JSON), the token nowhere.
fn refused(text: Run, json: Run, var: &str, token: &str) {
    assert_eq!(text.status, 1);
    assert!(
        text.stderr.contains(var) && text.stderr.contains("401"),
        "{}",
        text.stderr
    );
    for r in [&text, &json] {
        assert!(!r.stderr.contains(token) && !r.stdout.contains(token));
    }
    assert_eq!(json.status, 1);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(v["ok"], false);
    // The message and its one hint, as the code the failure has.
    let said = format!(
        "{} {}",
        v["error"].as_str().unwrap(),
        v["hint"].as_str().unwrap_or("")
    );
    assert!(said.contains(var), "{v}");
    assert_eq!(v["code"], "unauthorized", "{v}");
}

#[test]
fn check_confluence_against_the_twin() {
    let sim = kb_sim::BackgroundSim::start(kb_sim::SimConfig::default()).unwrap();
    let url = sim.handle.confluence_url();
    let ok = [
        ("CONFLUENCE_URL", url.as_str()),
        ("CONFLUENCE_EMAIL", "admin@example.com"),
        ("CONFLUENCE_API_TOKEN", "kbridge-sim-token"),
    ];
    let r = check(&ok, &[]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.stdout.contains(": OK"), "{}", r.stdout);
    assert!(r.stdout.contains("spaces    3 readable"), "{}", r.stdout);
    assert!(r.stdout.contains("REST v2   reachable"), "{}", r.stdout);

    let r = check(&ok, &["--json"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(v["ok"], true);
    assert_eq!(v["spaces"], 3);
    assert_eq!(v["v2"], true);
    assert_eq!(v["site"], url.as_str());

    // The URL may come as a flag, in another spelling.
    let r = check(&ok[1..], &["--url", &format!("{}/", sim.handle.url())]);
    assert_eq!(r.status, 0, "{}", r.stderr);

    // A wrong token: exit 1, the env vars named, the token nowhere.
    let bad = [ok[0], ok[1], ("CONFLUENCE_API_TOKEN", "wrong-TOKEN-55")];
    refused(
        check(&bad, &[]),
        check(&bad, &["--json"]),
        "CONFLUENCE_API_TOKEN",
        "wrong-TOKEN-55",
    );

    // The unlicensed account.
    let r = check(
        &[
            ok[0],
            ("CONFLUENCE_EMAIL", "unlicensed@example.com"),
            ("CONFLUENCE_API_TOKEN", "kbridge-sim-unlicensed-token"),
        ],
        &[],
    );
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("no Confluence access"), "{}", r.stderr);

    // No token at all.
    let r = check(&ok[..2], &[]);
    assert_eq!(r.status, 1);
    assert!(
        r.stderr.contains("CONFLUENCE_API_TOKEN is not set"),
        "{}",
        r.stderr
    );
}

#[test]
fn check_confluence_on_a_wrong_site_names_the_cause_and_the_setting() {
    let url = nobody_listening();
    let r = check(
        &[
            ("CONFLUENCE_URL", &url),
            ("CONFLUENCE_EMAIL", "a@b.c"),
            ("CONFLUENCE_API_TOKEN", "t"),
        ],
        &[],
    );
    assert_eq!(r.status, 1);
    // Not "is it a Confluence site?": nothing listens there, and the hint says so.
    assert!(
        r.stderr.contains("error[connection_refused]")
            && r.stderr
                .contains("hint: check CONFLUENCE_URL: nothing listens"),
        "{}",
        r.stderr
    );
    let r = check(
        &[
            ("CONFLUENCE_URL", "https://acme.atlassian.net/jira"),
            ("CONFLUENCE_EMAIL", "a@b.c"),
            ("CONFLUENCE_API_TOKEN", "t"),
        ],
        &[],
    );
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("has no /wiki"), "{}", r.stderr);
}

fn check_notion(env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut all = vec!["check", "notion"];
    all.extend_from_slice(args);
    run_service(None, env, &all)
}

#[test]
fn check_notion_against_the_twin() {
    let sim = kb_sim::BackgroundSim::start(kb_sim::SimConfig::default()).unwrap();
    let url = sim.handle.url();
    let token = sim.handle.notion_token().to_string();
    let ok = [
        ("NOTION_URL", url.as_str()),
        ("NOTION_TOKEN", token.as_str()),
    ];
    let r = check_notion(&ok, &[]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("(Notion-Version 2025-09-03): OK"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("integration kbridge sim integration"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(" pages, 3 databases ("), "{}", r.stdout);

    let r = check_notion(&ok, &["--json", "--notion-version", "2022-06-28"]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(v["ok"], true);
    assert_eq!(v["version"], "2022-06-28");
    assert_eq!(v["databases"], 3);
    assert!(v["pages"].as_u64().unwrap() > 10);

    // The URL as a flag, in the `/v1` spelling.
    let r = check_notion(&ok[1..], &["--url", &sim.handle.notion_url()]);
    assert_eq!(r.status, 0, "{}", r.stderr);

    // A wrong token: exit 1, NOTION_TOKEN named, the token nowhere.
    let bad = [ok[0], ("NOTION_TOKEN", "secret_wrong-TOKEN-55")];
    refused(
        check_notion(&bad, &[]),
        check_notion(&bad, &["--json"]),
        "check NOTION_TOKEN",
        "wrong-TOKEN-55",
    );

    // No token, an unknown version.
    let r = check_notion(&ok[..1], &[]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("NOTION_TOKEN is not set"), "{}", r.stderr);
    let r = check_notion(&ok, &["--notion-version", "2021-08-16"]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("2021-08-16"), "{}", r.stderr);
}

#[test]
fn check_notion_without_an_api_says_check_notion_url() {
    let url = nobody_listening();
    let r = check_notion(&[("NOTION_URL", &url), ("NOTION_TOKEN", "t")], &[]);
    assert_eq!(r.status, 1);
    assert!(r.stderr.contains("check NOTION_URL"), "{}", r.stderr);
}

/// `kbridge check` reads the site and account from kbridge.toml as extract and migrate do
/// (issue 12): only the token is in the environment.
#[test]
fn check_reads_the_connection_from_kbridge_toml() {
    let sim = kb_sim::BackgroundSim::start(kb_sim::SimConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kbridge.toml"),
        format!(
            "[confluence]\nurl = \"{}\"\nemail = \"admin@example.com\"\n\n[notion]\nurl = \"{}\"\n",
            sim.handle.confluence_url(),
            sim.handle.notion_url()
        ),
    )
    .unwrap();
    let r = run_service(
        Some(dir.path()),
        &[("CONFLUENCE_API_TOKEN", "kbridge-sim-token")],
        &["check", "confluence", "--json"],
    );
    assert_eq!(r.status, 0, "{}\n{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(v["ok"], true, "{v}");
    let token = sim.handle.notion_token().to_string();
    let r = run_service(
        Some(dir.path()),
        &[("NOTION_TOKEN", token.as_str())],
        &["check", "notion", "--json"],
    );
    assert_eq!(r.status, 0, "{}\n{}", r.stdout, r.stderr);
    // --config names another file.
    let other = dir.path().join("other.toml");
    std::fs::rename(dir.path().join("kbridge.toml"), &other).unwrap();
    let r = run_service(
        None,
        &[("CONFLUENCE_API_TOKEN", "kbridge-sim-token")],
        &["check", "confluence", "--config", other.to_str().unwrap()],
    );
    assert_eq!(r.status, 0, "{}\n{}", r.stdout, r.stderr);
}
