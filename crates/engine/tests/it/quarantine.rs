//! One bad value never aborts an extract: the record is quarantined (kind, id, reason, raw JSON),
//! the rest of its batch lands, the run says "completed with N quarantined", the record is
//! retried by the next runs and leaves the quarantine once a corrected copy stores.

use kb_store::Store;
use serde_json::{Value, json};

use crate::extract::{options, run};
use crate::support;

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

async fn bad_values_are_quarantined_and_the_rest_stored(store: Store, seed: u64) {
    let sim = support::twin(80, seed).await;
    let d = support::dataset(&sim).await;
    let contents: Vec<&Value> = d["contents"].as_array().unwrap().iter().collect();
    let pages: Vec<&&Value> = contents
        .iter()
        .filter(|c| c["type"] == "page" && c["status"] == "current")
        .collect();
    let (bad_title, bad_message) = (s(&pages[3]["id"]), s(&pages[7]["id"]));
    support::admin(
        &sim,
        &format!("pages/{bad_title}/edit"),
        json!({"title": "Broken\u{0}title"}),
    )
    .await;
    support::admin(
        &sim,
        &format!("pages/{bad_message}/edit"),
        json!({"append": "edited", "message": "a message with \u{0} inside"}),
    )
    .await;

    let first = run(&sim, &store, &options()).await;
    let held = store.quarantine().await.unwrap();
    assert!(
        held.iter()
            .any(|q| q.kind == "pages" && q.record_id == format!("[\"{bad_title}\"]")),
        "{held:#?}"
    );
    assert!(
        held.iter().all(|q| q.reason.contains("U+0000")),
        "{held:#?}"
    );
    let nul = held
        .iter()
        .find(|q| q.record_id == format!("[\"{bad_title}\"]"))
        .unwrap();
    assert_eq!(nul.raw["title"], "Broken\u{0}title", "the raw JSON is kept");
    assert!(
        held.iter()
            .any(|q| q.raw.to_string().contains("a message with")),
        "the bad version message is quarantined: {held:#?}"
    );
    assert_eq!(
        first.quarantined.len(),
        held.len(),
        "{:?}",
        first.quarantined
    );
    assert!(
        first
            .quarantined
            .iter()
            .any(|q| q.object.contains(&bad_title) && q.reason.contains("U+0000")),
        "{:?}",
        first.quarantined
    );
    // Every other page is stored.
    let stored = store.ids("pages", &kb_store::Filter::all()).await.unwrap();
    let want: Vec<String> = contents
        .iter()
        .filter(|c| c["type"] == "page")
        .map(|c| s(&c["id"]))
        .filter(|id| *id != bad_title && *id != bad_message)
        .collect();
    for id in &want {
        assert!(stored.contains(id), "page {id} was stored");
    }
    assert!(!stored.contains(&bad_title));
    assert!(
        !stored.contains(&bad_message),
        "its version message holds U+0000"
    );
    // The run's row says so.
    let runs = store.runs().await.unwrap();
    let last = runs.last().unwrap();
    assert_eq!(last.status, kb_store::RunStatus::Succeeded);
    assert_eq!(last.counts["quarantined"], json!(held.len()), "{last:?}");
    assert!(
        last.errors.to_string().contains("quarantined"),
        "{}",
        last.errors
    );

    // The next run retries them: still bad, one more attempt, and no failure.
    let second = run(&sim, &store, &options()).await;
    assert!(!second.quarantined.is_empty());
    let again = store.quarantine().await.unwrap();
    let nul = again
        .iter()
        .find(|q| q.record_id == format!("[\"{bad_title}\"]"))
        .unwrap();
    assert!(nul.attempts >= 2, "{nul:?}");

    // Corrected at the source: the next run stores them and the quarantine is empty.
    support::admin(
        &sim,
        &format!("pages/{bad_title}/edit"),
        json!({"title": "Mended title"}),
    )
    .await;
    support::admin(
        &sim,
        &format!("pages/{bad_message}/edit"),
        json!({"append": "mended", "message": "mended"}),
    )
    .await;
    let mut opts = options();
    opts.reconcile = true;
    let third = run(&sim, &store, &opts).await;
    let left = store.quarantine().await.unwrap();
    // A bad version stays in the history of the page: it is retried from its raw JSON.
    assert!(left.iter().all(|q| q.kind == "page_versions"), "{left:#?}");
    assert!(third.quarantined.len() == left.len());
    let stored = store.ids("pages", &kb_store::Filter::all()).await.unwrap();
    assert!(stored.contains(&bad_title) && stored.contains(&bad_message));
    let titles = store.rows_raw("pages").await.unwrap();
    assert!(titles.iter().any(|p| p["title"] == "Mended title"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_value_is_quarantined_and_the_rest_stored_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    bad_values_are_quarantined_and_the_rest_stored(store, 41).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_value_is_quarantined_and_the_rest_stored_on_postgres() {
    let Some(store) = support::postgres("extract_quarantine").await else {
        return;
    };
    bad_values_are_quarantined_and_the_rest_stored(store, 43).await;
}
