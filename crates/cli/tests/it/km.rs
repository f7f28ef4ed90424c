//! `kbridge km` as a user runs it: sync from a Confluence twin with users, groups and read
//! restrictions, search as several users (each gets exactly what the twin lets that user list
//! through the API), a second sync that changes nothing, the integration log, and a bad
//! configuration named once.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Run, run_service};

fn kb(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    run_service(Some(dir), env, args)
}

fn json(r: &Run) -> Value {
    assert_eq!(r.status, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

/// What `email:token` (None: anonymous) can list through v2: current pages and blog posts.
fn api_readable(sim: &kb_sim::BackgroundSim, auth: Option<(&str, &str)>) -> BTreeSet<String> {
    block_on(async {
        let http = reqwest::Client::new();
        let mut out = BTreeSet::new();
        for (kind, path) in [("page", "pages"), ("blogpost", "blogposts")] {
            let mut next = Some(format!("/wiki/api/v2/{path}?status=current&limit=250"));
            while let Some(p) = next.take() {
                let mut req = http.get(format!("{}{p}", sim.handle.url()));
                if let Some((email, token)) = auth {
                    req = req.basic_auth(email, Some(token));
                }
                let v: Value = req.send().await.unwrap().json().await.unwrap();
                let results = v["results"].as_array();
                for x in results.unwrap_or_else(|| panic!("{p} as {auth:?}: {v}")) {
                    out.insert(format!("{kind}:{}", x["id"].as_str().unwrap()));
                }
                next = v["_links"]["next"].as_str().map(str::to_string);
            }
        }
        out
    })
}

/// The admin's account id (reads everything the crawler reads).
fn s_account(d: &Value) -> String {
    d["users"][0]["accountId"].as_str().unwrap().to_string()
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn search(dir: &std::path::Path, env: &[(&str, &str)], who: &str) -> BTreeSet<String> {
    let v = json(&kb(
        dir,
        env,
        &[
            "km",
            "search",
            "*",
            "--as",
            who,
            "--kind",
            "page,blogpost",
            "--limit",
            "100000",
            "--json",
        ],
    ));
    let hits = v["hits"].as_array().unwrap();
    assert_eq!(v["total"].as_u64().unwrap() as usize, hits.len());
    hits.iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn km_sync_search_as_users_rerun_and_logs() {
    let mut cfg = kb_sim::SimConfig::default();
    cfg.workspace.pages = 150;
    cfg.workspace.seed = 31;
    cfg.workspace.users = 8;
    cfg.permissions = Some(kb_sim::confluence::perms::PermScenario::default());
    let sim = kb_sim::BackgroundSim::start(cfg).unwrap();
    let creds = sim.handle.credentials();
    let admin = &creds[0];
    let url = sim.handle.confluence_url();
    let env = [
        ("CONFLUENCE_URL", url.as_str()),
        ("CONFLUENCE_EMAIL", admin.email.as_str()),
        ("CONFLUENCE_API_TOKEN", admin.token.as_str()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let first = json(&kb(dir.path(), &env, &["km", "sync", "--json"]));
    assert_eq!(first["status"], "succeeded", "{first}");
    assert!(first["counts"]["added"].as_u64().unwrap() > 100, "{first}");
    assert!(!first["store"].as_str().unwrap().is_empty());

    // Each user finds exactly what the twin lets that user list; anonymous too.
    let d: Value = block_on(async {
        reqwest::get(format!("{}/__sim/confluence/dataset", sim.handle.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let mut checked = 0;
    for c in creds.iter().take(6) {
        let account = d["users"][c.user]["accountId"]
            .as_str()
            .unwrap()
            .to_string();
        // A user without product access may not use Confluence at all (the twin answers 403
        // to every read): nothing, not even what anonymous access grants.
        let want = if c.user == kb_sim::generator::UNLICENSED_USER {
            BTreeSet::new()
        } else {
            api_readable(&sim, Some((&c.email, &c.token)))
        };
        let got = search(dir.path(), &env, &account);
        assert_eq!(got, want, "user {account} (twin user {})", c.user);
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} users with their own tokens");
    let anon = search(dir.path(), &env, "anonymous");
    assert_eq!(anon, api_readable(&sim, None), "anonymous");
    let everyone = search(
        dir.path(),
        &env,
        d["users"][admin.user]["accountId"].as_str().unwrap(),
    );
    assert!(
        anon.len() < everyone.len(),
        "anonymous reads less than the admin"
    );

    // Nothing changed: nothing rewritten.
    let again = json(&kb(dir.path(), &env, &["km", "sync", "--json"]));
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(
        (
            again["counts"]["added"].as_u64(),
            again["counts"]["updated"].as_u64()
        ),
        (Some(0), Some(0)),
        "{again}"
    );

    // The integration log of the first run, as JSON lines or one object.
    let logs = kb(
        dir.path(),
        &env,
        &[
            "km",
            "logs",
            "--json",
            "--run",
            &first["run_id"].to_string(),
        ],
    );
    assert_eq!(logs.status, 0, "{}", logs.stderr);
    for line in logs.stdout.lines().filter(|l| !l.trim().is_empty()) {
        let _: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }

    // `[km]` inside kbridge.toml: a space left out there is left out of the knowledge base
    // (its articles deleted, the delete guard opened for it), and kbridge-km.toml beside it is
    // refused.
    let gone_space = d["spaces"][0]["key"].as_str().unwrap().to_string();
    std::fs::write(
        dir.path().join("kbridge.toml"),
        format!(
            "[km]\nmax_delete_share = 1.0\n\n[km.filters]\nspaces_exclude = [\"{gone_space}\"]\n"
        ),
    )
    .unwrap();
    let third = json(&kb(dir.path(), &env, &["km", "sync", "--json"]));
    assert_eq!(third["status"], "succeeded", "{third}");
    assert!(third["counts"]["deleted"].as_u64().unwrap() > 0, "{third}");
    let left = search(dir.path(), &env, &s_account(&d));
    let in_space: BTreeSet<String> = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| d["spaces"][0]["id"] == c["spaceId"])
        .map(|c| {
            let id = match &c["id"] {
                Value::String(x) => x.clone(),
                other => other.to_string(),
            };
            format!("{}:{id}", c["type"].as_str().unwrap())
        })
        .collect();
    assert!(!left.is_empty());
    assert!(left.is_disjoint(&in_space), "{gone_space} is left out");
    std::fs::write(dir.path().join("kbridge-km.toml"), "[km]\n").unwrap();
    let both = kb(dir.path(), &env, &["km", "sync"]);
    assert_ne!(both.status, 0);
    assert!(both.stderr.contains("two places"), "{}", both.stderr);
    std::fs::remove_file(dir.path().join("kbridge-km.toml")).unwrap();
    std::fs::remove_file(dir.path().join("kbridge.toml")).unwrap();

    // A configuration with an unknown key: its file and key named, once, and a non-zero exit.
    let bad = dir.path().join("bad-km.toml");
    std::fs::write(&bad, "[km]\nno_such_setting = 1\n").unwrap();
    let r = kb(
        dir.path(),
        &env,
        &["km", "sync", "--km-config", bad.to_str().unwrap()],
    );
    assert_ne!(r.status, 0);
    assert!(r.stderr.contains("no_such_setting"), "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("no_such_setting").count(),
        1,
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(&admin.token), "the token never shows");
}
