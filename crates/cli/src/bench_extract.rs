//! `kbridge bench extract`: a full and an incremental extraction of a generated site, against a
//! twin started in this process, printed as JSON.
//!
//! The twin runs here; each extraction runs in a child process (`kbridge bench extract-once`) so
//! that its peak resident set (`VmHWM`) is the extractor's alone. With `--rate R` the twin's
//! per-endpoint limit and the client's ceiling are both R, so a correct limiter meets no 429,
//! and the wall time can be compared with requests ÷ rate. Without `--rate` the twin applies
//! `--limits` (default `bursts`: Atlassian's documented per-endpoint burst limits) and the
//! client has no ceiling: its pacing learns the limits, and the wall time is compared with the
//! server-side minimum (the requests of the busiest limited endpoint ÷ its limit).

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// Settings of one benchmark.
#[derive(clap::Args, Debug)]
pub struct ExtractBenchArgs {
    /// Pages of the generated site.
    #[arg(long, default_value_t = 10_000)]
    pages: usize,
    /// Spaces of the generated site.
    #[arg(long, default_value_t = 3)]
    spaces: usize,
    /// Seed of the generated site.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Requests per second: the client's ceiling and the twin's per-endpoint limit (default:
    /// no ceiling, the twin applies `--limits`).
    #[arg(long)]
    rate: Option<f64>,
    /// The twin's limits when no `--rate` is given (kb-sim's `--rate-limit` syntax).
    #[arg(long, default_value = "bursts")]
    limits: String,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// The store (default: a fresh SQLite file in a temporary directory).
    #[arg(long)]
    store: Option<String>,
    /// Skip the incremental run.
    #[arg(long)]
    no_incremental: bool,
    /// Also download the attachment files (into a temporary folder).
    #[arg(long)]
    files: bool,
    /// With `--files`: make one attachment's file this many MB first (the twin's
    /// `/__sim/confluence/attachments/{id}/bytes`), to measure a large download's memory.
    #[arg(long, value_name = "MB")]
    large_file: Option<u64>,
}

/// One extraction in this process (used by `extract`; prints one JSON object).
#[derive(clap::Args, Debug)]
pub struct ExtractOnceArgs {
    #[arg(long)]
    url: String,
    #[arg(long)]
    store: String,
    /// The client's ceiling (default: none).
    #[arg(long)]
    rate: Option<f64>,
    #[arg(long)]
    concurrency: usize,
    #[arg(long)]
    reconcile: bool,
    /// Download attachment files into this folder.
    #[arg(long)]
    files: Option<std::path::PathBuf>,
}

pub fn once(a: ExtractOnceArgs) -> Result<bool> {
    let mut cfg = kb_confluence::ConfluenceConfig::new(
        &a.url,
        "admin@example.com",
        "kbridge-sim-token".to_string().into(),
    )?;
    match a.rate {
        Some(rate) => {
            cfg.rate = rate;
            // Half the twin's burst: requests leave the client evenly but reach the twin with
            // network and scheduling jitter; the margin absorbs it (with equal bursts a few
            // arrive early).
            cfg.burst = ((rate / 2.0).ceil() as u32).max(1);
        }
        None => cfg.rate = kb_confluence::NO_CEILING,
    }
    cfg.concurrency = a.concurrency;
    let client = kb_confluence::Confluence::new(cfg)?;
    let opts = kb_engine::extract::ExtractOptions {
        concurrency: a.concurrency,
        reconcile: a.reconcile,
        files: a.files,
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = rt.block_on(async {
        let store = kb_store::Store::open(&a.store).await?;
        let r = kb_engine::extract::extract(&client, &store, &opts, None).await;
        store.close().await;
        anyhow::Ok(r?)
    })?;
    let mut v = serde_json::to_value(&report)?;
    v["peak_rss_bytes"] = json!(crate::bench::peak_rss());
    println!("{v}");
    Ok(true)
}

fn child(
    exe: &std::path::Path,
    url: &str,
    store: &str,
    a: &ExtractBenchArgs,
    reconcile: bool,
    files: Option<&std::path::Path>,
) -> Result<Value> {
    let mut cmd = Command::new(exe);
    cmd.args(["bench", "extract-once", "--url", url, "--store", store])
        .args(["--concurrency", &a.concurrency.to_string()]);
    if let Some(rate) = a.rate {
        cmd.args(["--rate", &rate.to_string()]);
    }
    if reconcile {
        cmd.arg("--reconcile");
    }
    if let Some(dir) = files {
        cmd.arg("--files").arg(dir);
    }
    let out = cmd
        .output()
        .context("cannot run the extraction child process")?;
    if !out.status.success() {
        bail!(
            "the extraction failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    serde_json::from_slice(&out.stdout)
        .context("the extraction child printed something that is not JSON")
}

/// What a per-item fan-out (the way peers walk the API: list pages, then ask each page for its
/// labels, versions, properties, comments, attachments, children, ancestors and restrictions,
/// and each attachment for its labels, versions and properties) would cost for this site.
fn fanout(d: &Value) -> (u64, Value) {
    let contents = d["contents"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let count = |t: &str| {
        contents
            .iter()
            .filter(|c| c["type"] == t && c["status"] != "deleted")
            .count() as u64
    };
    let pages = count("page");
    let blogs = count("blogpost");
    let atts = d["attachments"].as_array().map_or(0, |a| a.len() as u64);
    let spaces = d["spaces"].as_array().map_or(0, |a| a.len() as u64);
    let groups = d["groups"].as_array().map_or(0, |a| a.len() as u64);
    // 25 per listing page, the default page size the peers keep.
    let lists = spaces * 2 + pages.div_ceil(25) + blogs.div_ceil(25);
    let total = spaces * 3 // labels, permissions, properties
        + lists
        + pages * 10 // page, labels, versions, properties, footer, inline, attachments, children, ancestors, restrictions
        + blogs * 8 // the same without children and ancestors
        + atts * 3 // labels, versions, properties
        + 1 + groups; // groups and their members
    (
        total,
        json!({
            "formula": "3·spaces + listings at 25/page + 10·pages + 8·blog posts + 3·attachments + 1 + groups",
            "spaces": spaces, "pages": pages, "blog_posts": blogs, "attachments": atts, "groups": groups,
        }),
    )
}

/// The server-side minimum of a run: for each endpoint the twin limits, its requests ÷ its
/// limit; the largest (the busiest limited endpoint) and that endpoint's label.
fn server_minimum(limits: &kb_sim::RateLimits, by_endpoint: &Value) -> (f64, Value) {
    let mut best = (0.0, Value::Null);
    for (label, n) in by_endpoint.as_object().into_iter().flatten() {
        let Some((method, path)) = label.split_once(' ') else {
            continue;
        };
        let (Some(n), Some(limit)) = (n.as_f64(), limits.limit_for(method, path)) else {
            continue;
        };
        let secs = n / limit.per_second;
        if secs > best.0 {
            best = (secs, json!(label));
        }
    }
    best
}

pub fn run(a: ExtractBenchArgs) -> Result<bool> {
    if let Some(r) = a.rate
        && (r.is_nan() || r <= 0.0)
    {
        bail!("--rate must be a positive number of requests per second");
    }
    let twin_limits = match a.rate {
        Some(r) => format!("get={r}/{r}", r = r.ceil() as u64),
        None => a.limits.clone(),
    };
    let limits: kb_sim::RateLimits = twin_limits
        .parse()
        .map_err(|e| anyhow::anyhow!("--limits {twin_limits:?}: {e}"))?;
    let exe = std::env::current_exe().context("cannot find the kbridge executable")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
    let store = a
        .store
        .clone()
        .unwrap_or_else(|| tmp.path().join("bench.db").display().to_string());
    rt.block_on(async {
        let mut cfg = kb_sim::SimConfig::default();
        cfg.workspace.pages = a.pages;
        cfg.workspace.spaces = a.spaces;
        cfg.workspace.seed = a.seed;
        cfg.rate_limits = limits.clone();
        let t = Instant::now();
        let sim = kb_sim::start(cfg).await?;
        let startup = t.elapsed().as_secs_f64();
        let http = reqwest::Client::new();
        let d: Value = http
            .get(format!(
                "{}/__sim/confluence/dataset?bodies=false",
                sim.url()
            ))
            .send()
            .await?
            .json()
            .await?;
        let (fan, fan_detail) = fanout(&d);
        let mut large = Value::Null;
        if let Some(mb) = a.large_file {
            if !a.files {
                bail!("--large-file needs --files");
            }
            let att = d["attachments"]
                .as_array()
                .and_then(|l| l.iter().find(|x| x["status"] == "current"))
                .context("the generated site has no current attachment")?;
            let id = match &att["id"] {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            let size = mb * 1024 * 1024;
            let r = http
                .post(format!("{}/__sim/confluence/attachments/{id}/bytes", sim.url()))
                .json(&json!({ "size": size }))
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("the twin refused the large file: {}", r.status());
            }
            large = json!({"attachment_id": id, "bytes": size});
        }
        eprintln!(
            "twin ready in {startup:.1} s; full extraction of {} pages ({})…",
            a.pages,
            match a.rate {
                Some(r) => format!("{r} req/s"),
                None => format!("no ceiling, twin limits {twin_limits}"),
            }
        );
        let url = sim.confluence_url();
        let exe2 = exe.clone();
        let store2 = store.clone();
        let files = a.files.then(|| tmp.path().join("files"));
        let files = files.as_deref();
        let full = tokio::task::block_in_place(|| child(&exe2, &url, &store2, &a, false, files))?;
        let summary = |r: &Value| {
            let requests = r["requests_total"].as_f64().unwrap_or(0.0);
            let wall = r["wall_seconds"].as_f64().unwrap_or(0.0);
            let (ideal, busiest) = server_minimum(&limits, &r["requests"]);
            let rate_limited = r["rate_limited"].as_f64().unwrap_or(0.0);
            json!({
                "requests_total": r["requests_total"],
                "requests_by_endpoint": r["requests"],
                "rows": r["rows"],
                "wall_seconds": wall,
                "server_minimum_seconds": ideal,
                "busiest_limited_endpoint": busiest,
                "wall_over_ideal": if ideal > 0.0 { json!(wall / ideal) } else { Value::Null },
                "rate_limited_share": if requests > 0.0 { json!(rate_limited / requests) } else { Value::Null },
                "pages_per_second": a.pages as f64 / wall.max(1e-9),
                "rate_limited": r["rate_limited"],
                "retries": r["retries"],
                "peak_rss_bytes": r["peak_rss_bytes"],
                "warnings": r["warnings"].as_array().map_or(0, Vec::len),
                "files_downloaded": r["files_downloaded"],
                "file_bytes": r["file_bytes"],
            })
        };
        let full_requests = full["requests_total"].as_u64().unwrap_or(0);
        let mut out = json!({
            "benchmark": "extract",
            "kbridge_version": env!("CARGO_PKG_VERSION"),
            "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
            "pages": a.pages,
            "seed": a.seed,
            "rate": a.rate,
            "twin_limits": twin_limits,
            "concurrency": a.concurrency,
            "twin_startup_seconds": startup,
            "large_file": large,
            "full": summary(&full),
            "requests_per_1000_pages": full_requests as f64 * 1000.0 / a.pages as f64,
            "per_item_fanout_requests": fan,
            "per_item_fanout": fan_detail,
            "fanout_over_ours": fan as f64 / full_requests.max(1) as f64,
        });
        if !a.no_incremental {
            // A human edits 10 pages, trashes 2 and moves 1.
            let pages: Vec<&Value> = d["contents"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .filter(|c| {
                    c["type"] == "page" && c["status"] == "current" && !c["parentId"].is_null()
                })
                .collect();
            let id = |v: &Value| match v {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            let is_parent = |p: &Value| pages.iter().any(|c| c["parentId"] == p["id"]);
            let leaves: Vec<&&Value> = pages.iter().filter(|p| !is_parent(p)).collect();
            if pages.len() < 20 || leaves.len() < 4 {
                bail!("the site is too small for the incremental run (use --pages 100 or more)");
            }
            let admin = |path: String, body: Value| {
                let http = http.clone();
                let base = sim.url();
                async move {
                    let r = http
                        .post(format!("{base}/__sim/confluence/{path}"))
                        .json(&body)
                        .send()
                        .await?;
                    if !r.status().is_success() {
                        bail!("admin {path}: {}", r.status());
                    }
                    anyhow::Ok(())
                }
            };
            let step = pages.len() / 10;
            for p in pages.iter().step_by(step.max(1)).take(10) {
                admin(
                    format!("pages/{}/edit", id(&p["id"])),
                    json!({"append": "<p>edited by the benchmark</p>"}),
                )
                .await?;
            }
            for p in leaves.iter().rev().take(2) {
                admin(format!("pages/{}/delete", id(&p["id"])), json!({})).await?;
            }
            let mover = leaves[0];
            let target = pages
                .iter()
                .find(|p| {
                    p["spaceId"] == mover["spaceId"]
                        && p["id"] != mover["id"]
                        && p["id"] != mover["parentId"]
                })
                .context("no page to move under")?;
            admin(
                format!("pages/{}/move", id(&mover["id"])),
                json!({"parentId": id(&target["id"])}),
            )
            .await?;
            let url = sim.confluence_url();
            let inc = tokio::task::block_in_place(|| child(&exe, &url, &store, &a, false, files))?;
            let rec = tokio::task::block_in_place(|| child(&exe, &url, &store, &a, true, files))?;
            out["incremental"] = json!({
                "changes": "10 pages edited, 2 trashed, 1 moved",
                "run": summary(&inc),
                "reconcile_run_after_it": summary(&rec),
            });
        }
        sim.shutdown().await;
        anyhow::Ok(out)
    })
    .map(|out| {
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        true
    })
}
