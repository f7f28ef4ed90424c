//! Streaming downloads: straight to a temporary file, SHA-256 on the way, a timeout on
//! progress (a slow transfer that keeps moving finishes, a stalled one fails), and flat memory
//! for a 200 MB body (measured in a child process: the peak RSS of this test binary run on the
//! one ignored test that downloads).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use futures_util::StreamExt as _;
use kb_http::{Client, DownloadOptions, HttpError, Request};
use sha2::{Digest as _, Sha256};

use super::{serve, site};

const CHUNK: usize = 64 * 1024;
const LARGE_CHUNKS: usize = 200 * 1024 * 1024 / CHUNK; // 200 MiB

fn chunk(i: usize) -> Bytes {
    Bytes::from(vec![(i % 251) as u8; CHUNK])
}

fn expected_sha(chunks: usize) -> String {
    let mut h = Sha256::new();
    for i in 0..chunks {
        h.update(chunk(i));
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `/big`: 200 MiB generated chunk by chunk; `/slow`: 5 chunks 3 s apart; `/stall`: one chunk,
/// then nothing; `/gone`: 404.
fn app() -> Router {
    Router::new()
        .route(
            "/big",
            get(|| async {
                let s = futures_util::stream::iter(0..LARGE_CHUNKS)
                    .map(|i| Ok::<_, std::io::Error>(chunk(i)));
                Body::from_stream(s)
            }),
        )
        .route(
            "/slow",
            get(|| async {
                let s = futures_util::stream::unfold(0usize, |i| async move {
                    if i == 5 {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    Some((Ok::<_, std::io::Error>(chunk(i)), i + 1))
                });
                Body::from_stream(s)
            }),
        )
        .route(
            "/stall",
            get(|| async {
                let s = futures_util::stream::unfold(0usize, |i| async move {
                    if i > 0 {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return None;
                    }
                    Some((Ok::<_, std::io::Error>(chunk(0)), 1))
                });
                Body::from_stream(s)
            }),
        )
        .route(
            "/gone",
            get(|| async {
                (StatusCode::NOT_FOUND, r#"{"message":"no such file"}"#).into_response()
            }),
        )
}

/// The child's half: download 200 MiB and print the peak RSS growth and the largest chunk.
#[tokio::test]
#[ignore = "run by large_download_streams_in_flat_memory in a child process"]
async fn child_large_download() {
    let base = serve(app()).await;
    let c = Client::new(site(&base)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let before = peak_rss_kb();
    let largest = AtomicUsize::new(0);
    let d = c
        .download(
            &Request::get(c.url("big").unwrap()),
            DownloadOptions {
                dir: dir.path(),
                progress_timeout: Duration::from_secs(30),
            },
            &|n| {
                largest.fetch_max(n, Ordering::Relaxed);
            },
        )
        .await
        .unwrap();
    let after = peak_rss_kb();
    let on_disk = std::fs::metadata(d.file.path()).unwrap().len();
    println!(
        "RESULT bytes={} on_disk={on_disk} growth_kb={} largest_chunk={} sha_ok={}",
        d.bytes,
        after.saturating_sub(before),
        largest.load(Ordering::Relaxed),
        d.sha256 == expected_sha(LARGE_CHUNKS)
    );
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn large_download_streams_in_flat_memory() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "downloads::child_large_download",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r))
        .unwrap_or_else(|| panic!("no RESULT line: {stdout}"));
    let field = |k: &str| -> String {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .unwrap()
            .to_string()
    };
    let total = (LARGE_CHUNKS * CHUNK) as u64;
    assert_eq!(field("bytes").parse::<u64>().unwrap(), total, "{line}");
    assert_eq!(field("on_disk").parse::<u64>().unwrap(), total, "{line}");
    assert_eq!(field("sha_ok"), "true", "{line}");
    let growth_mb = field("growth_kb").parse::<u64>().unwrap() / 1024;
    // Buffering the body would grow the peak by 200 MiB at least; streaming keeps it to the
    // pool's buffers.
    assert!(
        growth_mb < 32,
        "peak RSS grew by {growth_mb} MiB for a 200 MiB download: {line}"
    );
    assert!(
        field("largest_chunk").parse::<usize>().unwrap() <= 1024 * 1024,
        "{line}"
    );
}

/// A transfer that keeps moving outlives the progress timeout many times over; one that
/// stops fails with a timeout; a failing status is a status error.
#[tokio::test(start_paused = true)]
async fn the_timeout_is_on_progress_not_on_the_transfer() {
    let base = serve(app()).await;
    let mut cfg = site(&base);
    cfg.retry.max_attempts = 1;
    let c = Client::new(cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = DownloadOptions {
        dir: dir.path(),
        progress_timeout: Duration::from_secs(5),
    };
    let chunks = Mutex::new(0usize);
    let count = |_n: usize| *chunks.lock().unwrap() += 1;
    // 15 s in all, 3 s between chunks: under the 5 s progress timeout.
    let d = c
        .download(&Request::get(c.url("slow").unwrap()), opts, &count)
        .await
        .unwrap();
    assert_eq!(d.bytes, (5 * CHUNK) as u64);
    assert_eq!(d.sha256, expected_sha(5));
    assert!(*chunks.lock().unwrap() >= 5);
    drop(d); // the temporary file goes with it
    let e = c
        .download(&Request::get(c.url("stall").unwrap()), opts, &count)
        .await
        .unwrap_err();
    assert!(matches!(e.root(), HttpError::Timeout { .. }), "{e:?}");
    let e = c
        .download(&Request::get(c.url("gone").unwrap()), opts, &count)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e:?}");
    // No temporary file is left behind by the failures.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
