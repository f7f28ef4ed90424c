//! km hosted by the daemon: `[[km.jobs]]` become scheduled jobs, a km job run now imports the
//! twin's site with its counts, and km search as a user (API and UI) finds exactly what that
//! user may read through the twin's own API — nothing more, nothing less.

use std::collections::{BTreeSet, HashMap};

use axum::http::StatusCode;
use base64::Engine as _;
use kb_config::km::{KmConfig, KmJob};
use kb_config::{ConfigFile, ConfluenceCloudConnection, Connection};
use kb_serve::runner::{Ended, drain};
use kb_sim::{SimConfig, SimHandle};
use serde_json::Value;

use crate::support::{TOKEN, call, daemon, request, send};

const TOKEN_VAR: &str = "WIKI_TOKEN";

pub(crate) async fn twin() -> SimHandle {
    let mut cfg = SimConfig::default();
    cfg.workspace.pages = 40;
    cfg.workspace.seed = 5;
    cfg.workspace.users = 12;
    cfg.permissions = Some(kb_sim::confluence::perms::PermScenario::default());
    kb_sim::start(cfg).await.expect("the twin starts")
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What `auth` can list through the twin's v2 API (the oracle): current pages and blog posts.
pub(crate) async fn api_readable(sim: &SimHandle, email: &str, token: &str) -> BTreeSet<String> {
    let http = reqwest::Client::new();
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{email}:{token}"));
    let mut out = BTreeSet::new();
    for (kind, path) in [("page", "pages"), ("blogpost", "blogposts")] {
        let mut next = Some(format!("/wiki/api/v2/{path}?status=current&limit=250"));
        while let Some(p) = next.take() {
            let r = http
                .get(format!("{}{p}", sim.url()))
                .header("Authorization", format!("Basic {b}"))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{p}: {}", r.status());
            let v: Value = r.json().await.unwrap();
            for x in v["results"].as_array().unwrap() {
                out.insert(format!("{kind}:{}", s(&x["id"])));
            }
            next = v["_links"]["next"].as_str().map(str::to_string);
        }
    }
    out
}

/// The twin's users that can sign in: (account id, email, token).
pub(crate) async fn users(sim: &SimHandle) -> Vec<(String, String, String)> {
    let d: Value = reqwest::get(format!("{}/__sim/confluence/dataset", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let creds = sim.credentials();
    d["users"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != kb_sim::generator::UNLICENSED_USER)
        .map(|(i, u)| {
            let account = s(&u["accountId"]);
            let (email, token) = match creds.iter().find(|c| c.user == i) {
                Some(c) => (c.email.clone(), c.token.clone()),
                None => (
                    s(&u["email"]),
                    kb_sim::confluence::perms::user_token(&account),
                ),
            };
            (account, email, token)
        })
        .collect()
}

fn config(sim: &SimHandle) -> ConfigFile {
    let mut c = ConfigFile::default();
    c.connections.insert(
        "confluence".into(),
        Connection::ConfluenceCloud(ConfluenceCloudConnection {
            url: sim.confluence_url(),
            email: sim.credentials()[0].email.clone(),
            token_env: Some(TOKEN_VAR.into()),
            token_file: None,
            rate: Some(5000.0),
            concurrency: Some(8),
        }),
    );
    c.km = Some(KmConfig {
        jobs: vec![
            KmJob {
                name: "kb".into(),
                schedule: "daily 03:00".into(),
                what: "content".into(),
            },
            KmJob {
                name: "kb-perms".into(),
                schedule: "0 */6 * * *".into(),
                what: "permissions".into(),
            },
        ],
        ..KmConfig::default()
    });
    c
}

async fn search_ids(d: &crate::support::Daemon, who: &str) -> BTreeSet<String> {
    let (st, v) = call(
        &d.sh,
        "GET",
        &format!("/api/v1/km/search?as={who}&q=*&limit=1000"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let hits = v["hits"].as_array().unwrap();
    assert_eq!(v["total"].as_u64(), Some(hits.len() as u64), "{v}");
    hits.iter().map(|h| s(&h["id"])).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn km_jobs_run_in_the_daemon_and_search_as_a_user_finds_only_their_pages() {
    let sim = twin().await;
    let env = HashMap::from([(TOKEN_VAR.to_string(), sim.credentials()[0].token.clone())]);
    let d = daemon(config(&sim), env, "2026-03-04T10:00:00Z").await;

    // [[km.jobs]] are the daemon's jobs, with their schedules.
    let (_, jobs) = call(&d.sh, "GET", "/api/v1/jobs", None).await;
    let jobs = jobs["jobs"].as_array().unwrap().clone();
    let kb = jobs.iter().find(|j| j["name"] == "kb").expect("job kb");
    assert_eq!(kb["job"]["kind"], "km", "{kb}");
    assert_eq!(kb["schedule"]["every"], "daily 03:00", "{kb}");
    let perms = jobs
        .iter()
        .find(|j| j["name"] == "kb-perms")
        .expect("kb-perms");
    assert_eq!(perms["job"]["what"], "permissions", "{perms}");
    assert_eq!(perms["schedule"]["every"], "cron 0 */6 * * *", "{perms}");

    // Search before any import: nothing, and `as` is required.
    let (st, v) = call(&d.sh, "GET", "/api/v1/km/search?q=x", None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(v.to_string().contains("as=ACCOUNT_ID"), "{v}");

    // Run the content job now: it imports what the crawler can read, with counts.
    let (st, v) = call(&d.sh, "POST", "/api/v1/jobs/kb/run", None).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    let run = v["run"].as_i64().unwrap();
    let done = drain(&d.sh).await.unwrap();
    assert_eq!(done, vec![(run, Ended::Finished("succeeded".into()))]);
    let (_, r) = call(&d.sh, "GET", &format!("/api/v1/runs/{run}"), None).await;
    let admin = &sim.credentials()[0];
    let crawler = api_readable(&sim, &admin.email, &admin.token).await;
    assert!(crawler.len() > 10, "{crawler:?}");
    assert_eq!(
        r["counts"]["added"].as_u64(),
        Some(crawler.len() as u64),
        "{r}"
    );
    for k in ["updated", "deleted", "skipped", "failed"] {
        assert!(r["counts"][k].as_u64().is_some(), "{k}: {r}");
    }
    assert_eq!(r["counts"]["failed"], 0, "{r}");
    assert!(r["store_run"].as_i64().is_some(), "{r}");

    // The permission job, then the content job again: nothing new, nothing lost.
    call(&d.sh, "POST", "/api/v1/jobs/kb-perms/run", None).await;
    call(&d.sh, "POST", "/api/v1/jobs/kb/run", None).await;
    let done = drain(&d.sh).await.unwrap();
    assert_eq!(done.len(), 2, "{done:?}");
    assert!(
        done.iter()
            .all(|(_, e)| *e == Ended::Finished("succeeded".into())),
        "{done:?}"
    );
    let (_, runs) = call(&d.sh, "GET", "/api/v1/runs?job=kb&limit=1", None).await;
    let last = &runs["runs"][0];
    assert_eq!(last["counts"]["added"], 0, "{last}");
    assert!(last["counts"]["unchanged"].as_u64().unwrap() > 0, "{last}");

    // Search as each user: exactly what the twin lets them read (of what the crawler saw).
    let mut views = BTreeSet::new();
    for (account, email, token) in users(&sim).await {
        let oracle: BTreeSet<String> = api_readable(&sim, &email, &token)
            .await
            .intersection(&crawler)
            .cloned()
            .collect();
        let found = search_ids(&d, &account).await;
        assert_eq!(found, oracle, "search as {account}");
        views.insert(found.len());
    }
    assert!(views.len() >= 3, "users see different amounts: {views:?}");

    // The UI page shows the same hits for a user.
    let (account, email, token) = users(&sim).await.into_iter().nth(3).unwrap();
    let oracle: BTreeSet<String> = api_readable(&sim, &email, &token)
        .await
        .intersection(&crawler)
        .cloned()
        .collect();
    let (st, html) = send(
        &d.sh,
        request(
            "GET",
            &format!("/ui/search?as={account}&q=&limit=1000"),
            Some(TOKEN),
            None,
            [127, 0, 0, 1],
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{html}");
    let shown: BTreeSet<String> = html
        .split("data-id=\"")
        .skip(1)
        .filter_map(|x| x.split('"').next())
        .map(str::to_string)
        .collect();
    assert_eq!(shown, oracle, "the UI's hits for {account}");
    assert!(html.contains(&format!("{} results for {account}", oracle.len())));

    let (_, m) = call(&d.sh, "GET", "/metrics", None).await;
    let m = m.as_str().unwrap().to_string();
    assert!(m.contains("kbridge_km_search_seconds_count"), "{m}");
    // No token in any answer, page or row (km's tables included).
    crate::support::assert_no_secret_anywhere(&d, &[&admin.token], "kb", run).await;
    assert!(
        crate::support::db_holds(&d, TOKEN_VAR),
        "the check finds what is there"
    );
    assert!(
        m.contains("kbridge_job_runs_total{kind=\"km\",status=\"succeeded\"} 3"),
        "{m}"
    );
}
