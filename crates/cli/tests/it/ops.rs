//! Operable and safe, as a user runs the binary: secrets in `kbridge.toml` are named, never
//! echoed; each connection-failure class gives its own code and hint, naming the setting, in
//! `check`, `extract` and `migrate`, after a short bounded retry; logs go to stderr, one JSON
//! object per event with `--log-format json`; and nothing is said twice.

use super::{Run, run_service};

/// A loopback URL where nothing listens (the port was free a moment ago).
fn nobody_listening() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

const SECRET: &str = "ATATT3xFfGF0-Sup3r-S3cret-Value";

#[test]
fn a_secret_in_kbridge_toml_is_named_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let url = nobody_listening();
    let env = [
        ("CONFLUENCE_URL", url.as_str()),
        ("CONFLUENCE_EMAIL", "a@b.c"),
        ("CONFLUENCE_API_TOKEN", "t"),
    ];
    std::fs::write(
        dir.path().join("kbridge.toml"),
        format!("[confluence]\nurl = \"https://acme.atlassian.net\"\napi_token = \"{SECRET}\"\n"),
    )
    .unwrap();
    for args in [
        &["extract", "confluence"][..],
        &[
            "migrate",
            "notion-to-confluence",
            "--from",
            "0123456789abcdef0123456789abcdef",
            "--space",
            "ENG",
        ][..],
    ] {
        let r = run_service(Some(dir.path()), &env, args);
        assert_eq!(r.status, 1, "{args:?}: {}", r.stderr);
        assert!(
            !r.stderr.contains("Sup3r") && !r.stdout.contains("Sup3r"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains("error[config_secret_in_file]"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains("line 3") && r.stderr.contains("confluence.api_token"),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains("CONFLUENCE_API_TOKEN_FILE"),
            "{}",
            r.stderr
        );
        assert_eq!(
            r.stderr.matches("api_token").count(),
            1,
            "said once: {}",
            r.stderr
        );
    }
    // A value of the wrong type: the key named, the value not shown.
    std::fs::write(
        dir.path().join("kbridge.toml"),
        format!("[confluence]\nrate = \"{SECRET}\"\n"),
    )
    .unwrap();
    let r = run_service(Some(dir.path()), &env, &["extract", "confluence"]);
    assert_eq!(r.status, 1);
    assert!(!r.stderr.contains("Sup3r"), "{}", r.stderr);
    assert!(
        r.stderr.contains("error[config_invalid]") && r.stderr.contains("confluence.rate"),
        "{}",
        r.stderr
    );

    // The token from a secrets file: accepted (the run gets as far as the network).
    let secret_file = dir.path().join("token.txt");
    std::fs::write(&secret_file, "kbridge-sim-token\n").unwrap();
    std::fs::remove_file(dir.path().join("kbridge.toml")).unwrap();
    let r = run_service(
        Some(dir.path()),
        &[
            ("CONFLUENCE_URL", url.as_str()),
            ("CONFLUENCE_EMAIL", "a@b.c"),
            ("CONFLUENCE_API_TOKEN_FILE", secret_file.to_str().unwrap()),
        ],
        &["check", "confluence"],
    );
    assert!(
        r.stderr.contains("error[connection_refused]"),
        "{}",
        r.stderr
    );
}

/// One run per command against `url` (for both services), with request events logged as JSON.
fn each_command(url: &str) -> Vec<(String, Run)> {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("CONFLUENCE_URL", url),
        ("CONFLUENCE_EMAIL", "a@b.c"),
        ("CONFLUENCE_API_TOKEN", "t"),
        ("NOTION_URL", url),
        ("NOTION_TOKEN", "secret_t"),
    ];
    let log = ["-vv", "--log-format", "json"];
    let commands: Vec<Vec<&str>> = vec![
        vec!["check", "confluence"],
        vec!["check", "notion"],
        vec!["extract", "confluence"],
        vec![
            "migrate",
            "notion-to-confluence",
            "--from",
            "0123456789abcdef0123456789abcdef",
            "--space",
            "ENG",
        ],
    ];
    commands
        .into_iter()
        .map(|mut c| {
            let name = c[..2].join(" ");
            c.extend(log);
            (name, run_service(Some(dir.path()), &env, &c))
        })
        .collect()
}

/// The error block (the lines from `error[`) and the JSON log events before it.
fn split(r: &Run) -> (String, Vec<serde_json::Value>) {
    let mut events = Vec::new();
    let mut error = String::new();
    for line in r.stderr.lines() {
        if !error.is_empty() || line.starts_with("error[") {
            error.push_str(line);
            error.push('\n');
        } else {
            events.push(
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}")),
            );
        }
    }
    (error, events)
}

fn assert_class(url: &str, code: &str, hint_words: &str) {
    for (name, r) in each_command(url) {
        assert_eq!(r.status, 1, "{name}: {}", r.stderr);
        let (error, events) = split(&r);
        assert!(
            error.starts_with(&format!("error[{code}]:")),
            "{name}: {}",
            r.stderr
        );
        let hint = error
            .lines()
            .find_map(|l| l.strip_prefix("  hint: "))
            .unwrap_or_else(|| panic!("{name}: no hint: {error}"));
        assert!(
            hint.contains("CONFLUENCE_URL") || hint.contains("NOTION_URL"),
            "{name}: the setting is not named: {hint}"
        );
        assert!(hint.contains(hint_words), "{name}: {hint}");
        assert_eq!(
            error.matches(hint).count(),
            1,
            "{name}: the hint twice: {error}"
        );
        // A short bounded retry: at most 3 attempts (waits of at most 0.5 s and 1 s between
        // them, so the answer comes within 3 s), logged as events.
        let attempts = events
            .iter()
            .filter(|e| e["message"] == "request done")
            .count();
        assert!(
            (1..=3).contains(&attempts),
            "{name}: {attempts} attempts: {}",
            r.stderr
        );
        // Nothing said twice: no line of the error block repeats, no clause repeats.
        let first = error.lines().next().unwrap();
        for clause in first.split(": ").filter(|c| c.len() > 12) {
            assert_eq!(
                first.matches(clause).count(),
                1,
                "{name}: {clause:?} twice in {first}"
            );
        }
    }
}

#[test]
fn a_refused_connection_names_the_setting_in_every_command() {
    assert_class(&nobody_listening(), "connection_refused", "nothing listens");
}

#[test]
fn https_to_a_plain_http_server_names_the_setting_in_every_command() {
    let sim = kb_sim::BackgroundSim::start(kb_sim::SimConfig::default()).unwrap();
    let https = sim.handle.url().replace("http://", "https://");
    assert_class(&https, "connection_tls_plain_http", "plain HTTP");
}

#[test]
fn a_host_that_does_not_resolve_names_the_setting_in_every_command() {
    assert_class(
        "http://no-such-host.invalid",
        "connection_dns",
        "does not resolve",
    );
}

/// A 429 storm shows as events, one JSON object per line on stderr; the report stays on stdout.
#[test]
fn extract_logs_one_json_object_per_event() {
    let mut cfg = kb_sim::SimConfig::default();
    cfg.workspace.pages = 10;
    // The twin's own bucket, below the client's pace, and 429s from the fault plan too: the
    // adaptive pacing learns the bucket, so the plan makes sure the 429 events happen.
    cfg.rate_limits = "get=40/10".parse().unwrap();
    // The files of the attachments answer 404: one warning per attachment, each said once.
    cfg.faults = "429=0.2;GET:/wiki/download/attachments/{id}/{name}:404=1"
        .parse()
        .unwrap();
    let sim = kb_sim::BackgroundSim::start(cfg).unwrap();
    let url = sim.handle.confluence_url();
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    let env = [
        ("CONFLUENCE_URL", url.as_str()),
        ("CONFLUENCE_EMAIL", "admin@example.com"),
        ("CONFLUENCE_API_TOKEN", "kbridge-sim-token"),
    ];
    let r = run_service(
        Some(dir.path()),
        &env,
        &[
            "extract",
            "confluence",
            "--since",
            "all",
            "-v",
            "--log-format",
            "json",
            "--files",
            files.to_str().unwrap(),
        ],
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    let (error, events) = split(&r);
    assert!(error.is_empty(), "{error}");
    // One stream: the clients' events and the engine's, each naming its kind.
    let kinds: std::collections::BTreeSet<&str> =
        events.iter().filter_map(|e| e["event"].as_str()).collect();
    for k in [
        "rate_limited",
        "retried",
        "phase_started",
        "phase_done",
        "warning",
    ] {
        assert!(kinds.contains(k), "no {k} event: {kinds:?}");
    }
    // Nothing said twice: no warning or error text repeats, on stderr or stdout.
    let mut said = std::collections::BTreeSet::new();
    for e in &events {
        if matches!(e["level"].as_str(), Some("WARN" | "ERROR")) {
            let m = e["message"].as_str().unwrap_or_else(|| panic!("{e}"));
            assert!(said.insert(m.to_string()), "said twice: {m}");
        }
    }
    let warnings = said.len();
    assert!(warnings >= 2, "{}", r.stderr);
    for line in r.stdout.lines() {
        assert!(
            !said.iter().any(|m| line.contains(m.as_str())),
            "stdout repeats a warning: {line}"
        );
    }
    assert!(
        r.stdout.contains(&format!("{warnings} warning(s)")),
        "{}",
        r.stdout
    );
    let limited: Vec<_> = events
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("rate limited"))
        })
        .collect();
    assert!(!limited.is_empty(), "no 429 events: {}", r.stderr);
    for e in &limited {
        assert_eq!(e["level"], "INFO", "{e}");
        assert!(
            e["endpoint"]
                .as_str()
                .is_some_and(|s| s.starts_with("GET /wiki")),
            "{e}"
        );
        assert!(e["pause_ms"].is_u64(), "{e}");
        assert!(e["timestamp"].is_string(), "{e}");
    }
    assert!(
        events.iter().any(|e| e["message"] == "retrying"),
        "{}",
        r.stderr
    );
    // The report: on stdout, and no log line there.
    assert!(r.stdout.contains("requests by endpoint"), "{}", r.stdout);
    assert!(!r.stdout.contains("rate limited"), "{}", r.stdout);
    // Without -v: no info events at all.
    let r = run_service(
        Some(dir.path()),
        &env,
        &[
            "extract",
            "confluence",
            "--rate",
            "30",
            "--log-format",
            "json",
        ],
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("rate limited"), "{}", r.stderr);
}

/// A store that cannot be opened, SQLite and PostgreSQL: the failure said once, without the
/// PostgreSQL server's source line (`at line 334`), with a code.
#[test]
fn store_errors_are_said_once() {
    let sim = kb_sim::BackgroundSim::start(kb_sim::SimConfig::default()).unwrap();
    let url = sim.handle.confluence_url();
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("CONFLUENCE_URL", url.as_str()),
        ("CONFLUENCE_EMAIL", "admin@example.com"),
        ("CONFLUENCE_API_TOKEN", "kbridge-sim-token"),
    ];
    let mut stores = vec![dir.path().to_str().unwrap().to_string()]; // a folder, not a file
    if let Some(pg) = kb_testkit::postgres::server() {
        stores.push(pg.url("no_such_database"));
    }
    for store in &stores {
        let r = run_service(
            Some(dir.path()),
            &env,
            &["extract", "confluence", "--store", store],
        );
        assert_eq!(r.status, 1, "{}", r.stderr);
        let first = r
            .stderr
            .lines()
            .find(|l| l.starts_with("error["))
            .unwrap_or_else(|| panic!("{}", r.stderr));
        assert!(first.starts_with("error[store_error]"), "{}", r.stderr);
        assert!(
            !first.contains(" at line "),
            "the server's source line: {first}"
        );
        for clause in first.split(": ").filter(|c| c.len() > 12) {
            assert_eq!(
                first.matches(clause).count(),
                1,
                "{clause:?} twice in {first}"
            );
        }
    }
}
