//! Scale-out on a real PostgreSQL: three daemons (workers) share one database and its run
//! queue. 20 jobs, one worker dies holding a claim (no heartbeat, like kill -9): every job
//! ends exactly once, no run is claimed by two workers at once, the dead worker's run is taken
//! over after its lease with a new fencing token (its late writes are refused), and the
//! replica equals a single-worker run.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kb_config::{ConfigFile, ConfluenceCloudConnection, Connection, ExtractJob, Job};
use kb_serve::runner::{Ended, drain};
use kb_serve::{Clock, ManualClock, ServeOptions, Shared};
use serde_json::json;

use crate::support::{TOKEN, ts};

async fn worker(
    url: &str,
    config: ConfigFile,
    env: HashMap<String, String>,
    name: &str,
    clock: Arc<ManualClock>,
) -> Arc<Shared> {
    Shared::open(ServeOptions {
        store_url: url.to_string(),
        config,
        admin_token: TOKEN.to_string().into(),
        env: Arc::new(move |k| env.get(k).cloned()),
        clock,
        worker: name.into(),
        lease: Duration::from_secs(30),
    })
    .await
    .expect("a worker opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_on_postgres_run_every_job_exactly_once() {
    let Some(url) = kb_testkit::postgres::database("serve_workers") else {
        return;
    };
    let mut sc = kb_sim::SimConfig::default();
    sc.workspace.spaces = 20;
    sc.workspace.pages = 60;
    sc.workspace.seed = 21;
    let sim = kb_sim::start(sc).await.unwrap();
    let cred = &sim.credentials()[0];
    let env = HashMap::from([("WIKI_TOKEN".to_string(), cred.token.clone())]);
    let mut config = ConfigFile::default();
    config.connections.insert(
        "wiki".into(),
        Connection::ConfluenceCloud(ConfluenceCloudConnection {
            url: sim.confluence_url(),
            email: cred.email.clone(),
            token_env: Some("WIKI_TOKEN".into()),
            token_file: None,
            rate: Some(2000.0),
            concurrency: Some(4),
        }),
    );
    let get = |k: &str| env.get(k).cloned();
    let (cc, _) = kb_engine::connect::confluence(
        &config,
        Some("wiki"),
        &Default::default(),
        &kb_config::Env::new(&get),
    )
    .unwrap();
    let keys: Vec<String> = kb_confluence::Confluence::new(cc)
        .unwrap()
        .spaces()
        .unwrap()
        .all()
        .await
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), 20);
    for k in &keys {
        config.jobs.insert(
            format!("space-{k}"),
            Job::Extract(ExtractJob {
                connection: Some("wiki".into()),
                spaces: vec![k.clone()],
                endpoints: vec!["pages".into(), "page_labels".into()],
                since: Some("all".into()),
                ..Default::default()
            }),
        );
    }
    let clock = Arc::new(ManualClock::new(ts("2026-03-04T10:00:00Z")));
    let w1 = worker(&url, config.clone(), env.clone(), "w1", clock.clone()).await;
    let w2 = worker(&url, config.clone(), env.clone(), "w2", clock.clone()).await;
    let w3 = worker(&url, config.clone(), env.clone(), "w3", clock.clone()).await;
    let now = clock.now().as_millisecond();
    for k in &keys {
        w1.db
            .enqueue(&format!("space-{k}"), "extract", "manual", None, now)
            .await
            .unwrap()
            .unwrap();
    }
    // w1 claims a run and dies with it (no heartbeat, no end).
    let dead = w1.db.claim("w1", now, now + 30_000).await.unwrap().unwrap();

    // w2 and w3 drain the queue at the same time: each run claimed by one of them only.
    let (a, b) = tokio::join!(drain(&w2), drain(&w3));
    let (a, b) = (a.unwrap(), b.unwrap());
    let ids_a: BTreeSet<i64> = a.iter().map(|(i, _)| *i).collect();
    let ids_b: BTreeSet<i64> = b.iter().map(|(i, _)| *i).collect();
    assert!(
        ids_a.is_disjoint(&ids_b),
        "a run was claimed by two workers"
    );
    assert_eq!(
        ids_a.len() + ids_b.len(),
        19,
        "all but the dead worker's run"
    );
    assert!(!ids_a.contains(&dead.id) && !ids_b.contains(&dead.id));
    let mut failed = Vec::new();
    for (id, e) in a.iter().chain(&b) {
        if *e != Ended::Finished("succeeded".into()) {
            let r = w3.db.run(*id).await.unwrap().unwrap();
            failed.push((r.job, r.errors));
        }
    }
    assert!(failed.is_empty(), "runs that did not succeed: {failed:?}");

    // Before its lease expires nobody takes it; after, w2 does, with a new fence.
    assert!(
        w2.db
            .claim("w2", now + 10_000, now + 40_000)
            .await
            .unwrap()
            .is_none()
    );
    clock.set(ts("2026-03-04T10:00:31Z"));
    let done = drain(&w2).await.unwrap();
    assert_eq!(done, vec![(dead.id, Ended::Finished("succeeded".into()))]);
    let r = w2.db.run(dead.id).await.unwrap().unwrap();
    assert_eq!((r.worker.as_deref(), r.fence), (Some("w2"), dead.fence + 1));
    // The dead worker's late writes are refused by the fence.
    assert!(!w1.db.heartbeat(&dead, now + 90_000).await.unwrap());
    assert!(
        !w1.db
            .write_run(
                &dead,
                "failed",
                &json!({}),
                &json!({}),
                &json!([]),
                None,
                Some(now)
            )
            .await
            .unwrap()
    );
    assert!(!w1.db.requeue(&dead).await.unwrap());

    // Every job ended exactly once, succeeded.
    let runs = w3.db.runs(None, 1000).await.unwrap();
    let mut per_job: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in &runs {
        per_job.entry(&r.job).or_default().push(&r.status);
    }
    assert_eq!(per_job.len(), 20);
    assert!(
        per_job.values().all(|s| s == &vec!["succeeded"]),
        "{per_job:?}"
    );

    // The replica equals one worker's run of the same jobs into a fresh store.
    let single = kb_testkit::postgres::database("serve_single").unwrap();
    let w = worker(&single, config, env, "solo", clock.clone()).await;
    for k in &keys {
        w.db.enqueue(&format!("space-{k}"), "extract", "manual", None, now)
            .await
            .unwrap();
    }
    assert!(
        drain(&w)
            .await
            .unwrap()
            .iter()
            .all(|(_, e)| *e == Ended::Finished("succeeded".into()))
    );
    for t in ["pages", "page_labels"] {
        let mut x: Vec<String> = w1
            .store
            .rows_raw(t)
            .await
            .unwrap()
            .iter()
            .map(|v| v["id"].to_string())
            .collect();
        let mut y: Vec<String> = w
            .store
            .rows_raw(t)
            .await
            .unwrap()
            .iter()
            .map(|v| v["id"].to_string())
            .collect();
        x.sort();
        y.sort();
        assert!(!y.is_empty() || t != "pages");
        assert_eq!(x, y, "{t}");
    }
}
