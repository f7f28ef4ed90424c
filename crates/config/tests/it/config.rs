use std::collections::HashMap;
use std::path::PathBuf;

use kb_config::resolve::{self, ConfluenceFlags, ExtractFlags, NotionFlags, SecretSource};
use kb_config::{ConfigError, ConfigFile, Connection, Env, Job, Source, check, parse, reference};
use proptest::prelude::*;
use secrecy::ExposeSecret;

fn env_of(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn parse_err(text: &str) -> ConfigError {
    match parse(text, "kbridge.toml") {
        Ok(f) => panic!("{text:?} parsed: {f:?}"),
        Err(e) => e,
    }
}

#[test]
fn a_wrong_type_names_the_key_and_line_but_never_the_value() {
    let e = parse_err("[store]\nurl = \"kbridge.db\"\n[confluence]\nrate = \"s3cr3t-t0ken\"\n");
    let s = e.to_string();
    assert!(!s.contains("s3cr3t"), "{s}");
    assert!(s.contains("kbridge.toml line 4"), "{s}");
    assert!(s.contains("confluence.rate"), "{s}");
    assert!(s.contains("expected"), "{s}");
    assert_eq!(e.code(), "config_invalid");
    // Numbers are values too.
    let s = parse_err("[confluence]\nconcurrency = -987654\n").to_string();
    assert!(!s.contains("987654"), "{s}");
    assert!(s.contains("confluence.concurrency"), "{s}");
}

#[test]
fn a_token_written_into_the_file_is_refused_without_being_echoed() {
    let e = parse_err(
        "[confluence]\nurl = \"https://a.atlassian.net\"\napi_token = \"ATATT3xFfGF0-very-secret\"\n",
    );
    let s = e.to_string();
    assert!(!s.contains("ATATT3x"), "{s}");
    assert!(!s.contains("very-secret"), "{s}");
    assert!(s.contains("api_token"), "{s}");
    assert!(s.contains("secrets never go in kbridge.toml"), "{s}");
    assert!(s.contains("line 3"), "{s}");
    assert_eq!(e.code(), "config_secret_in_file");
    let hint = e.hint().expect("a hint");
    assert!(
        hint.contains("CONFLUENCE_API_TOKEN_FILE") && !hint.contains("ATATT"),
        "{hint}"
    );
}

#[test]
fn a_syntax_error_on_a_line_holding_a_token_does_not_print_the_line() {
    let e = parse_err("[notion]\nrate = 3 token = \"secret_abcdefSECRET\"\n");
    let s = e.to_string();
    assert!(!s.contains("SECRET"), "{s}");
    assert!(s.contains("kbridge.toml line 2"), "{s}");
    assert!(s.contains("(syntax)"), "{s}");
    let e = parse_err("[notion\nversion = \"2025-09-03\"\n");
    assert!(e.to_string().contains("kbridge.toml line 1"), "{e}");
}

proptest! {
    #[test]
    fn no_parse_error_ever_contains_the_value(secret in "[A-Za-z0-9_]{12,30}", key in 0usize..6) {
        let lines = [
            format!("[confluence]\nrate = \"{secret}\"\n"),
            format!("[confluence]\n{secret} = \"{secret}\"\n"),
            format!("[notion]\nurl = [\"{secret}\"]\n"),
            format!("[connections.x]\nkind = \"confluence_cloud\"\nurl = \"u\"\nemail = 3\ntoken = \"{secret}\"\n"),
            format!("[store]\nurl = \"{secret}\" \"{secret}\"\n"),
            format!("[jobs.a]\nkind = \"extract\"\nreconcile = \"{secret}\"\n"),
        ];
        let text = &lines[key];
        if let Err(e) = parse(text, "f.toml") {
            let s = e.to_string();
            // A key may legitimately be named after the secret (case 1): the key, not a value.
            if key != 1 {
                prop_assert!(!s.contains(&secret), "{}", s);
            }
        }
    }

    #[test]
    fn date_and_offset_parsing_never_panics(s in "\\PC{0,24}") {
        let _ = resolve::parse_since("k", &s);
        let _ = resolve::parse_offset("k", &s);
    }
}

#[test]
fn the_whole_model_parses_with_named_connections_and_jobs() {
    let f = parse(
        r#"
[store]
url = "postgres://kbridge@localhost/kbridge"

[connections.acme]
kind = "confluence_cloud"
url = "https://acme.atlassian.net"
email = "ops@acme.com"
token_env = "ACME_TOKEN"
rate = 20

[connections.ws]
kind = "notion"
token_file = "/run/secrets/notion"

[jobs.nightly]
kind = "extract"
connection = "acme"
spaces = ["ENG", "OPS"]
since = "2026-01-01"

[jobs.handbook]
kind = "migrate_notion_to_confluence"
notion = "ws"
confluence = "acme"
from = ["0123456789abcdef0123456789abcdef"]
space = "HB"

[jobs.back]
kind = "migrate_confluence_to_notion"
confluence = "acme"
notion = "ws"
space = "ENG"
to = "0123456789abcdef0123456789abcdef"
"#,
        "kbridge.toml",
    )
    .expect("parses");
    assert!(matches!(
        f.connections.get("acme"),
        Some(Connection::ConfluenceCloud(c)) if c.rate == Some(20.0) && c.email == "ops@acme.com"
    ));
    assert!(matches!(f.jobs.get("nightly"), Some(Job::Extract(j)) if j.spaces == ["ENG", "OPS"]));
    assert_eq!(check(&f), vec![], "a valid file has no problems");

    // The same file, written back and read again, is the same model.
    let text = toml::to_string(&f).expect("serialises");
    assert_eq!(parse(&text, "again").expect("re-parses"), f);

    let err =
        parse_err("[connections.x]\nkind = \"confluence_clod\"\nurl = \"u\"\nemail = \"e\"\n");
    assert!(
        err.to_string().contains("confluence_clod") || err.to_string().contains("variant"),
        "{err}"
    );
    assert!(
        err.hint()
            .is_some_and(|h| h.contains("kbridge config reference")),
        "{err}"
    );
}

#[test]
fn check_names_every_problem_with_its_key() {
    let f = parse(
        r#"
[confluence]
url = "ftp://nowhere"
rate = 0
concurrency = 0
since = "last year"
utc_offset = "+25:00"
token_env = "ATATT-looks-like-a-token"

[notion]
version = "2021-08-16"

[connections.ws]
kind = "notion"

[jobs.a]
kind = "extract"
connection = "ws"

[jobs.b]
kind = "migrate_confluence_to_notion"
space = "ENG"
page = "123"
to = ""

[jobs.c]
kind = "migrate_notion_to_confluence"
notion = "missing"
from = []
space = "X"
"#,
        "kbridge.toml",
    )
    .expect("parses: the problems are in the values");
    let problems = check(&f);
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for k in [
        "confluence.url",
        "confluence.rate",
        "confluence.concurrency",
        "confluence.since",
        "confluence.utc_offset",
        "confluence.token_env",
        "notion.version",
        "jobs.a.connection",
        "jobs.b",
        "jobs.b.to",
        "jobs.c.notion",
        "jobs.c.from",
    ] {
        assert!(keys.contains(&k), "no problem for {k}: {problems:#?}");
    }
    assert_eq!(problems.len(), 12, "{problems:#?}");
    assert!(
        !problems.iter().any(|p| p.message.contains("ATATT")),
        "a token_env value is never echoed: {problems:#?}"
    );
}

#[test]
fn precedence_is_flag_then_environment_then_file_then_default() {
    let file = parse(
        "[store]\nurl = \"file.db\"\n[confluence]\nurl = \"https://file.atlassian.net\"\nemail = \"file@x.com\"\nrate = 5\n",
        "kbridge.toml",
    )
    .expect("parses");
    let vars = env_of(&[
        ("CONFLUENCE_URL", "https://env.atlassian.net"),
        ("KBRIDGE_STORE", "env.db"),
        ("CONFLUENCE_EMAIL", "   "),
    ]);
    let get = |k: &str| vars.get(k).cloned();
    let env = Env::new(&get);

    let store = resolve::store(&file, None, &env);
    assert_eq!(
        (store.value.as_str(), store.source),
        ("env.db", Source::Env("KBRIDGE_STORE".into()))
    );
    let store = resolve::store(&file, Some("flag.db".into()), &env);
    assert_eq!(
        (store.value.as_str(), store.source),
        ("flag.db", Source::Flag("--store"))
    );
    let none = HashMap::<String, String>::new();
    let get_none = |k: &str| none.get(k).cloned();
    let store = resolve::store(&ConfigFile::default(), None, &Env::new(&get_none));
    assert_eq!(
        (store.value.as_str(), store.source),
        ("kbridge.db", Source::Default)
    );

    let c = resolve::confluence(&file, None, &ConfluenceFlags::default(), &env).expect("resolves");
    assert_eq!(c.url.value, "https://env.atlassian.net");
    assert_eq!(c.url.source, Source::Env("CONFLUENCE_URL".into()));
    assert_eq!(
        c.email.value, "file@x.com",
        "a blank variable counts as unset"
    );
    assert_eq!(c.email.source, Source::File("confluence.email".into()));
    let rate = c.rate.as_ref().expect("the file's rate");
    assert_eq!(
        (rate.value, &rate.source),
        (5.0, &Source::File("confluence.rate".into()))
    );
    // Without a rate anywhere there is no ceiling: the pacing learns the site's limits.
    let no_rate = parse(
        "[confluence]\nurl = \"https://file.atlassian.net\"\nemail = \"file@x.com\"\n",
        "kbridge.toml",
    )
    .expect("parses");
    let bare =
        resolve::confluence(&no_rate, None, &ConfluenceFlags::default(), &env).expect("resolves");
    assert!(bare.rate.is_none(), "{:?}", bare.rate);
    assert_eq!(
        (c.concurrency.value, &c.concurrency.source),
        (4, &Source::Default)
    );
    assert_eq!(c.token, SecretSource::Env("CONFLUENCE_API_TOKEN".into()));

    let flags = ConfluenceFlags {
        url: Some(("https://flag.atlassian.net".into(), "--url")),
        rate: Some((2.5, "--rate")),
        ..Default::default()
    };
    let c = resolve::confluence(&file, None, &flags, &env).expect("resolves");
    assert_eq!(
        (c.url.value.as_str(), c.url.source),
        ("https://flag.atlassian.net", Source::Flag("--url"))
    );
    let rate = c.rate.expect("the flag's rate");
    assert_eq!((rate.value, rate.source), (2.5, Source::Flag("--rate")));
}

#[test]
fn zero_concurrency_and_bad_rates_are_refused_the_same_way_from_every_source() {
    let get = |_: &str| None;
    let env = Env::new(&get);
    let base = "[confluence]\nurl = \"https://a.atlassian.net\"\nemail = \"a@b.c\"\n";
    let file = parse(&format!("{base}concurrency = 0\n"), "kbridge.toml").expect("parses");
    let e =
        resolve::confluence(&file, None, &ConfluenceFlags::default(), &env).expect_err("refused");
    assert!(
        e.to_string()
            .contains("kbridge.toml confluence.concurrency"),
        "{e}"
    );
    let file = parse(base, "kbridge.toml").expect("parses");
    let flags = ConfluenceFlags {
        concurrency: Some((0, "--concurrency")),
        ..Default::default()
    };
    let e = resolve::confluence(&file, None, &flags, &env).expect_err("refused");
    assert!(e.to_string().starts_with("--concurrency:"), "{e}");
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let flags = ConfluenceFlags {
            rate: Some((bad, "--rate")),
            ..Default::default()
        };
        let e = resolve::confluence(&file, None, &flags, &env).expect_err("refused");
        assert!(e.to_string().contains("positive number"), "{e}");
    }
    let nflags = NotionFlags {
        rate: Some((0.0, "--notion-rate")),
        ..Default::default()
    };
    let e = resolve::notion(&file, None, &nflags, &env).expect_err("refused");
    assert!(e.to_string().starts_with("--notion-rate:"), "{e}");
}

#[test]
fn named_connections_resolve_and_wrong_names_say_how_to_fix_them() {
    let file = parse(
        "[connections.acme]\nkind = \"confluence_cloud\"\nurl = \"https://acme.atlassian.net\"\nemail = \"o@acme.com\"\ntoken_env = \"ACME_TOKEN\"\n[connections.ws]\nkind = \"notion\"\nrate = 2\n",
        "kbridge.toml",
    )
    .expect("parses");
    let vars = env_of(&[
        ("CONFLUENCE_URL", "https://ignored.atlassian.net"),
        ("ACME_TOKEN", " tok-123 "),
    ]);
    let get = |k: &str| vars.get(k).cloned();
    let env = Env::new(&get);
    let c = resolve::confluence(&file, Some("acme"), &ConfluenceFlags::default(), &env)
        .expect("resolves");
    assert_eq!(
        c.url.value, "https://acme.atlassian.net",
        "the environment applies to the default connection only"
    );
    assert_eq!(c.token(&env).expect("token").expose_secret(), "tok-123");
    let n = resolve::notion(&file, Some("ws"), &NotionFlags::default(), &env).expect("resolves");
    assert_eq!(n.rate.value, 2.0);
    let e = resolve::confluence(&file, Some("ws"), &ConfluenceFlags::default(), &env)
        .expect_err("a Notion connection");
    assert!(e.to_string().contains("confluence_cloud"), "{e}");
    let e = resolve::confluence(&file, Some("nope"), &ConfluenceFlags::default(), &env)
        .expect_err("missing");
    assert!(e.to_string().contains("[connections.nope]"), "{e}");
    // NAME_FILE names a file holding the secret.
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("t");
    std::fs::write(&f, "secret_in_a_file\n").expect("write");
    let vars2 = env_of(&[("NOTION_TOKEN_FILE", f.to_str().expect("utf-8"))]);
    let get2 = |k: &str| vars2.get(k).cloned();
    let env2 = Env::new(&get2);
    assert_eq!(
        n.token(&env2).expect("from the file").expose_secret(),
        "secret_in_a_file"
    );
    let e = n.token(&env).expect_err("NOTION_TOKEN is not set");
    assert!(e.to_string().contains("NOTION_TOKEN"), "{e}");
    assert_eq!(e.code(), "setting_missing");
}

#[test]
fn a_token_file_is_read_and_its_value_never_shown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("token");
    std::fs::write(&path, "secret_from_file\nsecond line\n").expect("write");
    let file = parse(
        &format!(
            "[notion]\ntoken_file = {:?}\n",
            path.to_str().expect("utf-8 path")
        ),
        "kbridge.toml",
    )
    .expect("parses");
    let get = |_: &str| None;
    let env = Env::new(&get);
    let n = resolve::notion(&file, None, &NotionFlags::default(), &env).expect("resolves");
    let t = n.token(&env).expect("reads the file");
    assert_eq!(t.expose_secret(), "secret_from_file");
    assert!(!format!("{t:?} {n:?}").contains("secret_from_file"));
    std::fs::write(&path, "\n").expect("write");
    let e = n.token(&env).expect_err("empty");
    assert!(e.to_string().contains("is empty"), "{e}");
}

#[test]
fn extract_settings_default_to_one_year_back_and_flags_win() {
    let now: jiff::Timestamp = "2026-12-07T10:00:00Z".parse().expect("timestamp");
    let file = parse(
        "[confluence]\nspaces = [\"ENG\", \" OPS \"]\nutc_offset = \"-05:30\"\n",
        "kbridge.toml",
    )
    .expect("parses");
    let s = resolve::extract(&file, None, &ExtractFlags::default(), now).expect("resolves");
    assert_eq!(s.spaces, ["ENG", "OPS"]);
    assert_eq!(s.utc_offset_minutes, -330);
    assert_eq!(
        s.since.map(|t| t.to_string()),
        Some("2025-12-07T10:00:00Z".to_string())
    );
    let flags = ExtractFlags {
        spaces: vec!["PROD".into()],
        since: Some("all".into()),
        ..Default::default()
    };
    let s = resolve::extract(&file, None, &flags, now).expect("resolves");
    assert_eq!((s.spaces, s.since), (vec!["PROD".to_string()], None));
    let flags = ExtractFlags {
        since: Some("2026-02-30".into()),
        ..Default::default()
    };
    let e = resolve::extract(&file, None, &flags, now).expect_err("no 30 February");
    assert!(e.to_string().starts_with("--since:"), "{e}");
    let s = resolve::parse_since("k", "2026-01-31")
        .expect("a date")
        .expect("bounded");
    assert_eq!(s.as_millisecond(), 1_769_817_600_000);
}

#[test]
fn docs_config_md_holds_the_reference_generated_from_the_model() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/config.md");
    let doc = std::fs::read_to_string(&path).expect("docs/config.md exists");
    let generated = reference::markdown();
    let (Some(b), Some(e)) = (doc.find(reference::BEGIN), doc.find(reference::END)) else {
        panic!(
            "docs/config.md lacks the markers {} … {}",
            reference::BEGIN,
            reference::END
        );
    };
    let current = doc[b + reference::BEGIN.len()..e].trim();
    if current != generated.trim() {
        if std::env::var_os("KBRIDGE_UPDATE_DOCS").is_some() {
            let updated = format!(
                "{}{}\n\n{}\n\n{}",
                &doc[..b],
                reference::BEGIN,
                generated.trim(),
                &doc[e..]
            );
            std::fs::write(&path, updated).expect("write docs/config.md");
        } else {
            panic!(
                "docs/config.md's reference differs from the model (crates/config/src/model.rs): run `KBRIDGE_UPDATE_DOCS=1 cargo test -p kb-config` and commit the result"
            );
        }
    }
    // Every key of the model is documented.
    for key in [
        "`token_env`",
        "`since`",
        "`kind = \"confluence_cloud\"`",
        "`[jobs.NAME]`",
    ] {
        assert!(generated.contains(key), "{key} missing from the reference");
    }
}

#[test]
fn the_km_table_parses_in_kbridge_toml_and_config_check_names_its_problems() {
    let good = r#"
[km]
max_delete_share = 0.25
product_access = ["confluence-users"]
[km.filters]
spaces_include = ["ENG"]
[km.roles]
support = ["support-team"]
[[km.jobs]]
name = "km-content"
schedule = "daily 02:30"
[[km.jobs]]
name = "km-perms"
schedule = "0 */6 * * *"
what = "permissions"
"#;
    let f = parse(good, "kbridge.toml").unwrap();
    let km = f.km.as_ref().unwrap();
    assert_eq!(km.filters.spaces_include, vec!["ENG".to_string()]);
    assert_eq!(km.jobs.len(), 2);
    assert_eq!(km.jobs[0].what, "content");
    assert!(check(&f).is_empty(), "{:?}", check(&f));
    assert_eq!(
        kb_config::km::schedule_every(&km.jobs[1].schedule).unwrap(),
        "cron 0 */6 * * *"
    );
    // The same text through the km entry point (kbridge-km.toml) gives the same configuration.
    assert_eq!(
        &kb_config::km::KmConfig::from_toml("kbridge-km.toml", good).unwrap(),
        km
    );

    // Unknown fields are refused, naming the key.
    let e = parse("[km.filters]\nspace_include = [\"ENG\"]\n", "kbridge.toml").unwrap_err();
    assert!(e.to_string().contains("space_include"), "{e}");

    // A bad schedule, a bad `what`, a duplicate name: each named by `config check`.
    for (text, key, words) in [
        (
            "[[km.jobs]]\nname = \"a\"\nschedule = \"every tuesday\"\n",
            "km",
            "hourly, daily HH:MM",
        ),
        (
            "[[km.jobs]]\nname = \"a\"\nschedule = \"hourly\"\nwhat = \"everything\"\n",
            "km",
            "content or permissions",
        ),
        (
            "[jobs.a]\nkind = \"extract\"\n[[km.jobs]]\nname = \"a\"\nschedule = \"hourly\"\n",
            "km.jobs.a",
            "same name",
        ),
        ("[km]\nmax_delete_share = 2.0\n", "km", "between 0 and 1"),
    ] {
        let f = parse(text, "kbridge.toml").unwrap();
        let p = check(&f);
        assert_eq!(p.len(), 1, "{text}: {p:?}");
        assert_eq!(p[0].key, key, "{text}");
        assert!(p[0].message.contains(words), "{text}: {}", p[0].message);
    }
}

#[test]
fn km_and_sync_jobs_are_checked_like_the_others() {
    let text = r#"
[connections.wiki]
kind = "confluence_cloud"
url = "https://acme.atlassian.net"
email = "me@acme.com"
[jobs.kb]
kind = "km"
connection = "wiki"
what = "permissions"
[jobs.twoway]
kind = "sync"
links = ["docs"]
"#;
    let f = parse(text, "kbridge.toml").unwrap();
    assert!(check(&f).is_empty(), "{:?}", check(&f));
    assert!(matches!(f.jobs["kb"], Job::Km(_)));
    assert!(matches!(f.jobs["twoway"], Job::Sync(_)));
    let bad = r#"
[jobs.kb]
kind = "km"
connection = "nowhere"
what = "everything"
[jobs.twoway]
kind = "sync"
confluence = "nowhere"
links = [""]
"#;
    let f = parse(bad, "kbridge.toml").unwrap();
    let keys: Vec<String> = check(&f).into_iter().map(|p| p.key).collect();
    assert_eq!(
        keys,
        vec![
            "jobs.kb.connection",
            "jobs.kb.what",
            "jobs.twoway.confluence",
            "jobs.twoway.links"
        ],
        "{keys:?}"
    );
    // Unknown fields are refused in these jobs too.
    assert!(
        parse(
            "[jobs.kb]\nkind = \"km\"\nwhat_ = \"content\"\n",
            "kbridge.toml"
        )
        .is_err()
    );
}
