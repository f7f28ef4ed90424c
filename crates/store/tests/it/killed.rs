//! A writer killed with SIGKILL in the middle of a batch leaves the database exactly at its last
//! committed checkpoint: every row of every committed batch, nothing of the one in flight.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use kb_store::{Batch, Filter, Row, Store};
use serde_json::json;

use crate::support::{Ctx, page};

const ROWS_PER_BATCH: usize = 300;
const URL_VAR: &str = "KB_STORE_KILLED_WRITER_URL";

/// Commits batches `1, 2, …` until killed: each writes `ROWS_PER_BATCH` pages `b{k}-{i}` and
/// moves the checkpoint from `k - 1` to `k`, then prints `committed k`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper: run as a child process by killed_writer_leaves_the_last_checkpoint"]
async fn writer_child() {
    let Ok(url) = std::env::var(URL_VAR) else {
        return;
    };
    let store = Store::open(&url).await.unwrap();
    for k in 1u64.. {
        let mut b = Batch::new();
        b.upsert_all((0..ROWS_PER_BATCH).map(|i| {
            Row::new(
                "pages",
                page(&format!("b{k:06}-{i:04}"), "9", 1, &"body ".repeat(50)),
            )
        }));
        b.advance_checkpoint(
            "space:9",
            "pages",
            (k > 1).then(|| json!({"batch": k - 1})),
            json!({"batch": k}),
        );
        store.commit(&b).await.unwrap();
        println!("committed {k}");
    }
}

pub async fn killed_writer_leaves_the_last_checkpoint(ctx: Ctx) {
    // The child owns the database while it runs.
    ctx.store.close().await;
    let url = ctx.url.clone();
    let last_seen = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "killed::writer_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(URL_VAR, &url)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0u64;
        while seen < 5 {
            let line = lines
                .next()
                .expect("the writer stopped before committing 5 batches")
                .unwrap();
            // the first line may carry the harness's "test … " prefix
            if let Some((_, k)) = line.split_once("committed ") {
                seen = k.trim().parse().unwrap();
            }
        }
        // It is writing batch 6 (or later) now: SIGKILL, no chance to clean up.
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success());
        seen
    })
    .await
    .unwrap();

    let store = Store::open(&ctx.url).await.unwrap();
    let checkpoint = store
        .checkpoint("space:9", "pages")
        .await
        .unwrap()
        .expect("a checkpoint");
    let k = checkpoint["batch"].as_u64().unwrap();
    assert!(
        k >= last_seen,
        "checkpoint {k} is behind the reported {last_seen}"
    );
    let ids = store.ids("pages", &Filter::all()).await.unwrap();
    assert_eq!(
        ids.len(),
        k as usize * ROWS_PER_BATCH,
        "exactly the rows of batches 1..={k}"
    );
    let newest = format!("b{k:06}-");
    let beyond = format!("b{:06}-", k + 1);
    assert!(ids.iter().any(|id| id.starts_with(&newest)));
    assert!(
        !ids.iter().any(|id| id.as_str() >= beyond.as_str()),
        "rows of an uncommitted batch"
    );
    // and the store takes writes again, from the checkpoint
    let mut b = Batch::new();
    b.advance_checkpoint(
        "space:9",
        "pages",
        Some(checkpoint),
        json!({"batch": k + 1}),
    );
    store.commit(&b).await.unwrap();
}
