//! The twin, the client, the stores and the ground truth the tests compare with.

use std::collections::BTreeMap;

use kb_confluence::{Confluence, ConfluenceConfig};
use kb_sim::{SimConfig, SimHandle};
use kb_store::Store;
use serde_json::{Value, json};

/// A twin with a generated site of `pages` pages.
pub async fn twin(pages: usize, seed: u64) -> SimHandle {
    let mut cfg = SimConfig::default();
    cfg.workspace.pages = pages;
    cfg.workspace.seed = seed;
    kb_sim::start(cfg).await.expect("the twin starts")
}

/// A client for the twin's admin account, fast enough for tests (the twin has no limit
/// unless one is configured).
pub fn client(sim: &SimHandle) -> Confluence {
    let c = &sim.credentials()[0];
    let mut cfg = ConfluenceConfig::new(
        &sim.confluence_url(),
        c.email.clone(),
        c.token.clone().into(),
    )
    .expect("config");
    cfg.rate = 2000.0;
    cfg.burst = 200;
    cfg.concurrency = 8;
    let mut retry = cfg.retry.clone();
    retry.base = std::time::Duration::from_millis(20);
    retry.cap = std::time::Duration::from_millis(200);
    // The twin's faults ask for 1–3 s; kb-http's own tests show Retry-After is honoured, here
    // a short cap keeps the suite fast.
    retry.max_retry_after = std::time::Duration::from_millis(100);
    cfg.retry = retry;
    Confluence::new(cfg).expect("client")
}

/// A child process running the ignored test `test` of this binary with `env` (to be killed).
pub fn spawn_child(test: &str, env: &[(&str, &std::ffi::OsStr)]) -> std::process::Child {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--ignored", "--exact", test, "--test-threads=1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// In a child process: the store at `$KB_CHILD_STORE` and a client of the twin at
/// `$KB_CHILD_URL` at `rate` requests/s (`None` outside a child).
pub async fn child_setup(rate: f64) -> Option<(Confluence, Store)> {
    let (Ok(url), Ok(store)) = (
        std::env::var("KB_CHILD_URL"),
        std::env::var("KB_CHILD_STORE"),
    ) else {
        return None;
    };
    let mut cfg = ConfluenceConfig::new(
        &url,
        "admin@example.com",
        "kbridge-sim-token".to_string().into(),
    )
    .unwrap();
    cfg.rate = rate;
    cfg.burst = (rate / 10.0).ceil() as u32;
    let client = Confluence::new(cfg).unwrap();
    Some((client, Store::open(&store).await.unwrap()))
}

/// A fresh SQLite store in `dir`.
pub async fn sqlite(dir: &std::path::Path) -> Store {
    Store::open(dir.join("kbridge.db").to_str().unwrap())
        .await
        .expect("sqlite store")
}

/// A fresh PostgreSQL store, or `None` (after a visible SKIPPED line) without PostgreSQL.
pub async fn postgres(hint: &str) -> Option<Store> {
    let url = kb_testkit::postgres::database(hint)?;
    Some(Store::open(&url).await.expect("postgres store"))
}

/// The twin's ground truth.
pub async fn dataset(sim: &SimHandle) -> Value {
    reqwest::get(format!("{}/__sim/confluence/dataset", sim.url()))
        .await
        .expect("dataset")
        .json()
        .await
        .expect("dataset json")
}

/// A call to the twin's REST API (`path` under `/wiki`) as its admin user, as another client
/// would make it.
pub fn api(sim: &SimHandle, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    let c = &sim.credentials()[0];
    reqwest::Client::new()
        .request(method, format!("{}/{path}", sim.confluence_url()))
        .basic_auth(&c.email, Some(&c.token))
}

/// An admin edit, as a human would make it.
pub async fn admin(sim: &SimHandle, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{}/__sim/confluence/{path}", sim.url()))
        .json(&body)
        .send()
        .await
        .expect("admin call");
    assert!(r.status().is_success(), "admin {path}: {}", r.status());
    r.json().await.expect("admin json")
}

/// Epoch ms as the store writes timestamps.
pub fn ts(ms: &Value) -> Value {
    match ms.as_i64() {
        Some(ms) => json!(kb_store::time::format_millis(ms)),
        None => Value::Null,
    }
}

/// A table's rows, keyed by their key columns, with chosen columns as JSON.
pub type Rows = BTreeMap<String, BTreeMap<String, Value>>;

fn norm(v: &Value) -> Value {
    match v {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        v => v.clone(),
    }
}

/// The stored rows of `table` projected on `cols`, keyed by `key` columns.
pub async fn stored(store: &Store, table: &str, key: &[&str], cols: &[&str]) -> Rows {
    let mut all: Vec<&str> = key.to_vec();
    all.extend(cols);
    let rows = store
        .select(table, &all, &kb_store::Filter::all())
        .await
        .expect("select");
    rows.into_iter()
        .map(|r| {
            let k = r[..key.len()]
                .iter()
                .map(|v| norm(v).as_str().unwrap_or("null").to_string())
                .collect::<Vec<_>>()
                .join("/");
            let m = cols
                .iter()
                .zip(&r[key.len()..])
                .map(|(c, v)| (c.to_string(), norm(v)))
                .collect();
            (k, m)
        })
        .collect()
}

/// Builds an expected row.
pub fn row(key: &[&Value], cols: &[(&str, Value)]) -> (String, BTreeMap<String, Value>) {
    (
        key.iter()
            .map(|v| norm(v).as_str().unwrap_or("null").to_string())
            .collect::<Vec<_>>()
            .join("/"),
        cols.iter().map(|(c, v)| (c.to_string(), norm(v))).collect(),
    )
}

/// The first differences between two tables, if any.
pub fn diff_rows(table: &str, got: &Rows, want: &Rows) -> Option<String> {
    let missing: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    let differ: Vec<String> = want
        .iter()
        .filter_map(|(k, w)| {
            let g = got.get(k)?;
            (g != w).then(|| format!("{k}: stored {g:?}, truth {w:?}"))
        })
        .take(5)
        .collect();
    (!(missing.is_empty() && extra.is_empty() && differ.is_empty())).then(|| {
        format!(
            "{table}: {} rows stored, {} in the ground truth; missing {:?}; extra {:?}; different {:?}",
            got.len(),
            want.len(),
            missing.iter().take(10).collect::<Vec<_>>(),
            extra.iter().take(10).collect::<Vec<_>>(),
            differ
        )
    })
}

/// The twin's faults ask for 1–3 s; kb-http's own tests show Retry-After is honoured, here a
/// short cap keeps the suite fast.
pub fn fast_retry(mut retry: kb_http::RetryPolicy) -> kb_http::RetryPolicy {
    retry.base = std::time::Duration::from_millis(20);
    retry.cap = std::time::Duration::from_millis(200);
    retry.max_retry_after = std::time::Duration::from_millis(100);
    retry
}

/// In a migration child process: Notion and Confluence clients of the twins at
/// `$KB_CHILD_URL` (300 requests/s, short retry waits) and the store at `$KB_CHILD_STORE`
/// (`None` outside a child).
pub async fn child_clients() -> Option<(kb_notion::Notion, Confluence, Store)> {
    let (Ok(url), Ok(store)) = (
        std::env::var("KB_CHILD_URL"),
        std::env::var("KB_CHILD_STORE"),
    ) else {
        return None;
    };
    let base = url.trim_end_matches('/');
    let mut ncfg = kb_notion::NotionConfig::new(
        format!("{base}/v1").parse().unwrap(),
        kb_sim::NotionConfig::default().token.into(),
    );
    ncfg.rate = 300.0;
    ncfg.burst = 30;
    ncfg.retry = fast_retry(ncfg.retry);
    let mut ccfg = ConfluenceConfig::new(
        &format!("{base}/wiki"),
        "admin@example.com",
        "kbridge-sim-token".to_string().into(),
    )
    .unwrap();
    ccfg.rate = 300.0;
    ccfg.burst = 30;
    ccfg.retry = fast_retry(ccfg.retry);
    Some((
        kb_notion::Notion::new(ncfg).unwrap(),
        Confluence::new(ccfg).unwrap(),
        Store::open(&store).await.unwrap(),
    ))
}

/// Starts the child test `test` once per threshold and `kill -9`s it as soon as
/// `progress(store)` reaches the threshold (or it finished, or two minutes passed); returns how
/// many times it was killed mid-run.
pub async fn kill_children<F, Fut>(
    test: &str,
    env: &[(&str, &std::ffi::OsStr)],
    thresholds: &[usize],
    progress: F,
) -> usize
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut kills = 0;
    for &wait in thresholds {
        let mut child = spawn_child(test, env);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while progress().await < wait
            && std::time::Instant::now() < deadline
            && child.try_wait().unwrap().is_none()
        {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
    }
    kills
}

/// How many writes (any method but GET) the twin answered with `status` in its place: with a
/// `lost-answer=…:504` fault plan, the writes it committed and whose answer it then lost.
pub async fn writes_answered(sim: &SimHandle, status: u16) -> u64 {
    let v: Value = reqwest::get(format!("{}/__sim/stats", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] != "GET" && r["status"] == status)
        .map(|r| r["count"].as_u64().unwrap())
        .sum()
}
