//! The runner hosting the engine's jobs against the twins: an extract job run now through
//! the API ends with its counts, requests and logs; stopped mid-run it goes back to the queue
//! and the next run resumes it to the same data; a migration runs too. No secret reaches an
//! answer, a log line or the database file.

use std::collections::HashMap;

use axum::http::StatusCode;
use kb_config::{
    ConfigFile, ConfluenceCloudConnection, Connection, ExtractJob, Job, NotionConnection,
    NotionToConfluenceJob,
};
use kb_serve::runner::{Ended, drain, execute};
use kb_sim::{SimConfig, SimHandle};
use serde_json::json;

use crate::support::{call, daemon};

const TOKEN_VAR: &str = "WIKI_TOKEN";

async fn twin(pages: usize) -> SimHandle {
    let mut cfg = SimConfig::default();
    cfg.workspace.pages = pages;
    cfg.workspace.seed = 11;
    cfg.notion.rate = None;
    kb_sim::start(cfg).await.expect("the twin starts")
}

fn wiki(sim: &SimHandle, rate: f64) -> Connection {
    Connection::ConfluenceCloud(ConfluenceCloudConnection {
        url: sim.confluence_url(),
        email: sim.credentials()[0].email.clone(),
        token_env: Some(TOKEN_VAR.into()),
        token_file: None,
        rate: Some(rate),
        concurrency: Some(4),
    })
}

fn env(sim: &SimHandle) -> HashMap<String, String> {
    HashMap::from([
        (TOKEN_VAR.to_string(), sim.credentials()[0].token.clone()),
        ("NOTES_TOKEN".to_string(), sim.notion_token().to_string()),
    ])
}

fn extract_config(spaces: Vec<String>) -> ConfigFile {
    let mut c = ConfigFile::default();
    c.jobs.insert(
        "replica".into(),
        Job::Extract(ExtractJob {
            connection: Some("wiki".into()),
            spaces,
            since: Some("all".into()),
            ..Default::default()
        }),
    );
    c
}

fn file_holds(path: &std::path::Path, needle: &str) -> bool {
    let mut hay = Vec::new();
    for ext in ["", "-wal", "-shm"] {
        let p = format!("{}{ext}", path.display());
        if let Ok(b) = std::fs::read(&p) {
            hay.extend(b);
        }
    }
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extract_job_added_through_the_api_runs_with_counts_and_logs() {
    let sim = twin(25).await;
    let d = daemon(
        extract_config(Vec::new()),
        env(&sim),
        "2026-03-04T10:00:00Z",
    )
    .await;
    // The operator adds the connection, tests it, runs the job now.
    let spec = serde_json::to_value(wiki(&sim, 2000.0)).unwrap();
    let (s, v) = call(&d.sh, "PUT", "/api/v1/connections/wiki", Some(spec)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = call(&d.sh, "POST", "/api/v1/connections/wiki/test", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["report"]["spaces"].as_u64().unwrap() > 0, "{v}");
    let (s, v) = call(&d.sh, "POST", "/api/v1/jobs/replica/run", None).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let run = v["run"].as_i64().unwrap();
    let done = drain(&d.sh).await.unwrap();
    assert_eq!(done, vec![(run, Ended::Finished("succeeded".into()))]);

    let (_, r) = call(&d.sh, "GET", &format!("/api/v1/runs/{run}"), None).await;
    assert_eq!(r["status"], "succeeded", "{r}");
    let counts = d.sh.store.counts().await.unwrap();
    assert!(counts["pages"] > 0);
    assert_eq!(
        r["counts"]["rows"]["pages"].as_u64(),
        Some(counts["pages"]),
        "{r}"
    );
    assert!(r["requests"]["total"].as_u64().unwrap() > 0, "{r}");
    assert!(r["store_run"].as_i64().is_some());
    // Logs: the run's lines, filterable by level and object.
    let (_, l) = call(
        &d.sh,
        "GET",
        &format!("/api/v1/runs/{run}/logs?object=pages"),
        None,
    )
    .await;
    let lines = l["logs"].as_array().unwrap();
    assert!(!lines.is_empty(), "{l}");
    assert!(
        lines
            .iter()
            .all(|x| x["object"].as_str().unwrap().contains("pages"))
    );
    let (_, l) = call(
        &d.sh,
        "GET",
        &format!("/api/v1/logs?run={run}&level=error"),
        None,
    )
    .await;
    assert_eq!(l["logs"].as_array().unwrap().len(), 0, "{l}");
    let (_, o) = call(&d.sh, "GET", "/api/v1/overview", None).await;
    assert_eq!(o["jobs"][0]["status"], "ok", "{o}");
    let (_, m) = call(&d.sh, "GET", "/metrics", None).await;
    let m = m.as_str().unwrap().to_string();
    assert!(
        m.contains("kbridge_job_runs_total{kind=\"extract\",status=\"succeeded\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("kbridge_rows_written_total{table=\"pages\"}"),
        "{m}"
    );

    // No secret in any answer, log line or database row.
    let secret = sim.credentials()[0].token.clone();
    for path in [
        "/api/v1/connections",
        "/api/v1/jobs",
        "/api/v1/runs",
        "/api/v1/logs",
        "/api/v1/overview",
        "/metrics",
    ] {
        let (_, v) = call(&d.sh, "GET", path, None).await;
        assert!(!v.to_string().contains(&secret), "{path}");
    }
    crate::support::assert_no_secret_anywhere(&d, &[&secret], "replica", run).await;
    assert!(
        file_holds(&d.dir.path().join("kbridge.db"), TOKEN_VAR),
        "the check itself finds what is there"
    );

    // Run again: incremental, the same data.
    call(&d.sh, "POST", "/api/v1/jobs/replica/run", None).await;
    let again = drain(&d.sh).await.unwrap();
    assert_eq!(again[0].1, Ended::Finished("succeeded".into()));
    assert_eq!(d.sh.store.counts().await.unwrap(), counts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_run_goes_back_to_the_queue_and_resumes_to_the_same_data() {
    let sim = twin(60).await;
    // Slow enough that the stop lands mid-run.
    let mut config = extract_config(Vec::new());
    config.connections.insert("wiki".into(), wiki(&sim, 40.0));
    let d = daemon(config, env(&sim), "2026-03-04T10:00:00Z").await;
    let run =
        d.sh.db
            .enqueue("replica", "extract", "manual", None, 0)
            .await
            .unwrap()
            .unwrap();
    let claim =
        d.sh.db
            .claim("test-worker", 0, 60_000)
            .await
            .unwrap()
            .unwrap();
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let sh = d.sh.clone();
    let task = tokio::spawn(async move { execute(&sh, claim, stop).await });
    // Stop once the first rows are committed (the log says so).
    loop {
        let rows =
            d.sh.db
                .logs(&kb_serve::db::LogFilter {
                    run_id: Some(run),
                    object: Some("".into()),
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap();
        if rows.iter().any(|l| l.message.contains("rows written")) {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop_tx.send(true).unwrap();
    assert_eq!(task.await.unwrap().unwrap(), Ended::Requeued);
    let r = d.sh.db.run(run).await.unwrap().unwrap();
    assert_eq!(
        (r.status.as_str(), r.trigger.as_str()),
        ("queued", "resume")
    );
    let partial = d.sh.store.counts().await.unwrap();
    let store_runs = d.sh.store.runs().await.unwrap();
    assert_eq!(
        store_runs.last().unwrap().status,
        kb_store::RunStatus::Interrupted
    );

    // The next start resumes it.
    let done = drain(&d.sh).await.unwrap();
    assert_eq!(done, vec![(run, Ended::Finished("succeeded".into()))]);
    let resumed = d.sh.store.counts().await.unwrap();
    assert!(resumed["pages"] >= partial["pages"]);

    // The same data as one uninterrupted run into a fresh store.
    let mut config = extract_config(Vec::new());
    config.connections.insert("wiki".into(), wiki(&sim, 2000.0));
    let fresh = daemon(config, env(&sim), "2026-03-04T10:00:00Z").await;
    fresh
        .sh
        .db
        .enqueue("replica", "extract", "manual", None, 0)
        .await
        .unwrap();
    drain(&fresh.sh).await.unwrap();
    let mut a = resumed.clone();
    let mut b = fresh.sh.store.counts().await.unwrap();
    // The serve tables differ (runs, logs); the replica does not.
    for m in [&mut a, &mut b] {
        m.retain(|k, _| kb_store::TABLES.iter().any(|t| t.name == k));
    }
    assert_eq!(a, b);
    for t in ["pages", "spaces", "page_footer_comments"] {
        assert_eq!(
            d.sh.store.rows_raw(t).await.unwrap().len(),
            fresh.sh.store.rows_raw(t).await.unwrap().len(),
            "{t}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_job_runs_and_reports_per_page() {
    let sim = twin(8).await;
    let mut config = ConfigFile::default();
    config.connections.insert("wiki".into(), wiki(&sim, 2000.0));
    config.connections.insert(
        "notes".into(),
        Connection::Notion(NotionConnection {
            url: Some(sim.notion_url()),
            token_env: Some("NOTES_TOKEN".into()),
            rate: Some(2000.0),
            ..Default::default()
        }),
    );
    let d = daemon(config, env(&sim), "2026-03-04T10:00:00Z").await;
    // Roots and space from the twins, as an operator would read them.
    let cfg = d.sh.config_with_connections().await.unwrap();
    let envf = d.sh.env.clone();
    let get = move |k: &str| envf(k);
    let n = kb_notion::Notion::new(
        kb_engine::connect::notion(
            &cfg,
            Some("notes"),
            &Default::default(),
            &kb_config::Env::new(&get),
        )
        .unwrap(),
    )
    .unwrap();
    let found = n.search(None, Some("page")).await.unwrap();
    let root = found
        .iter()
        .find(|p| p["parent"]["type"] == "workspace")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (c, _) = kb_engine::connect::confluence(
        &cfg,
        Some("wiki"),
        &Default::default(),
        &kb_config::Env::new(&get),
    )
    .unwrap();
    let space = kb_confluence::Confluence::new(c)
        .unwrap()
        .spaces()
        .unwrap()
        .all()
        .await
        .unwrap()[0]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let job = serde_json::to_value(Job::MigrateNotionToConfluence(NotionToConfluenceJob {
        notion: Some("notes".into()),
        confluence: Some("wiki".into()),
        from: vec![root],
        space,
        parent: None,
    }))
    .unwrap();
    let (s, v) = call(&d.sh, "PUT", "/api/v1/jobs/move", Some(json!({"job": job}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    call(&d.sh, "POST", "/api/v1/jobs/move/run", None).await;
    let done = drain(&d.sh).await.unwrap();
    assert_eq!(
        done[0].1,
        Ended::Finished("succeeded".into()),
        "{:?}",
        d.sh.db.run(done[0].0).await.unwrap()
    );
    let r = d.sh.db.run(done[0].0).await.unwrap().unwrap();
    let created = r.counts["created"].as_u64().unwrap();
    assert!(
        created > 0 && created == r.counts["pages"].as_u64().unwrap(),
        "{:?}",
        r.counts
    );
    // Re-run: nothing to write.
    call(&d.sh, "POST", "/api/v1/jobs/move/run", None).await;
    let again = drain(&d.sh).await.unwrap();
    let r = d.sh.db.run(again[0].0).await.unwrap().unwrap();
    assert_eq!(
        (r.counts["created"].as_u64(), r.counts["updated"].as_u64()),
        (Some(0), Some(0)),
        "{:?}",
        r.counts
    );
}

/// The clients' request events reach the run's log: a 429 storm and retries are lines of the
/// run (info, naming the endpoint), not only of the daemon's stderr; routine answers are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_retries_are_in_the_run_log() {
    let mut cfg = SimConfig::default();
    cfg.workspace.pages = 15;
    cfg.workspace.seed = 12;
    cfg.faults = "429=0.15,503=0.05".parse().unwrap();
    let sim = kb_sim::start(cfg).await.expect("the twin starts");
    let mut c = extract_config(Vec::new());
    c.connections.insert("wiki".into(), wiki(&sim, 2000.0));
    let d = daemon(c, env(&sim), "2026-03-04T10:00:00Z").await;
    let (s, v) = call(&d.sh, "POST", "/api/v1/jobs/replica/run", None).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let run = v["run"].as_i64().unwrap();
    let done = drain(&d.sh).await.unwrap();
    assert_eq!(done, vec![(run, Ended::Finished("succeeded".into()))]);
    let (_, r) = call(&d.sh, "GET", &format!("/api/v1/runs/{run}"), None).await;
    let limited = r["requests"]["rate_limited"].as_u64().unwrap();
    let retries = r["requests"]["retries"].as_u64().unwrap();
    assert!(limited > 0 && retries > 0, "{r}");
    let (_, l) = call(
        &d.sh,
        "GET",
        &format!("/api/v1/runs/{run}/logs?level=info&limit=10000"),
        None,
    )
    .await;
    let lines: Vec<&str> = l["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["message"].as_str().unwrap())
        .collect();
    let rate_lines = lines
        .iter()
        .filter(|m| m.contains("rate limited (429"))
        .count();
    let retry_lines = lines.iter().filter(|m| m.contains("retrying in")).count();
    assert_eq!(rate_lines as u64, limited, "{lines:#?}");
    assert!(retry_lines > 0, "{lines:#?}");
    assert!(
        lines
            .iter()
            .filter(|m| m.contains("rate limited") || m.contains("retrying"))
            .all(|m| m.starts_with("GET /wiki")),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|m| m.contains("request done")),
        "routine answers stay out of the log"
    );
}
