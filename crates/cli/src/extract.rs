//! `kbridge extract confluence`: replicate a Confluence site into SQLite (default `kbridge.db`)
//! or PostgreSQL. Flags override `kbridge.toml`, which overrides the defaults; the API token
//! comes only from `CONFLUENCE_API_TOKEN`.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use kb_config::resolve::{ConfluenceFlags, ExtractFlags};
use kb_confluence::Confluence;
use kb_engine::extract::{ExtractReport, Progress, extract, plan};
use kb_store::Store;

pub const AFTER_HELP: &str = "\
Environment:
  CONFLUENCE_URL        the site, e.g. https://acme.atlassian.net
  CONFLUENCE_EMAIL      the Atlassian account's email
  CONFLUENCE_API_TOKEN  an API token of that account (never a flag: it would land in the shell history)
  KBRIDGE_STORE         the store URL (default kbridge.db)

The first run lists everything; later runs read only what changed (CQL lastmodified windows and
the trash). --reconcile also sweeps ids (moves, purges) and re-reads space metadata and groups.
A killed run continues from its last committed checkpoint when run again.

Examples:
  kbridge extract confluence --spaces ENG,OPS
  kbridge extract confluence --store postgres://kbridge@localhost/kbridge --json
  kbridge extract confluence --endpoints pages,page_labels --since 2026-01-01";

#[derive(Args, Debug)]
pub struct ExtractArgs {
    #[command(subcommand)]
    source: Source,
}

#[derive(Subcommand, Debug)]
enum Source {
    /// Replicate Confluence Cloud: spaces, pages, blog posts, attachments, comments, labels,
    /// versions, properties, tasks, custom content, restrictions, groups.
    #[command(after_help = AFTER_HELP)]
    Confluence(ConfluenceArgs),
}

#[derive(Args, Debug, Default)]
struct ConfluenceArgs {
    /// The site (default: $CONFLUENCE_URL, then kbridge.toml).
    #[arg(long)]
    url: Option<String>,
    /// The account's email (default: $CONFLUENCE_EMAIL, then kbridge.toml).
    #[arg(long)]
    email: Option<String>,
    /// Where to write: a SQLite file or `postgres://…` (default: $KBRIDGE_STORE, then
    /// kbridge.toml, then kbridge.db).
    #[arg(long, env = "KBRIDGE_STORE")]
    store: Option<String>,
    /// Space keys to extract, comma-separated (default: every space the token can read).
    #[arg(long, value_delimiter = ',')]
    spaces: Vec<String>,
    /// Tables to fill, comma-separated (default: all; see `--list-endpoints`).
    #[arg(long, value_delimiter = ',')]
    endpoints: Vec<String>,
    /// Fetch version histories and details only for content modified since this date
    /// (YYYY-MM-DD; default: one year ago; `all` for no bound).
    #[arg(long, alias = "anchor-date")]
    since: Option<String>,
    /// List everything again, ignoring finished checkpoints (still idempotent).
    #[arg(long)]
    full: bool,
    /// Also sweep ids (moves, purges) and re-read space metadata and groups.
    #[arg(long)]
    reconcile: bool,
    /// Requests per second for the site, at most (default: no ceiling; the pacing learns
    /// each endpoint's limit from the server's answers).
    #[arg(long)]
    rate: Option<f64>,
    /// Requests in flight at most (default 4).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Custom content types to list, comma-separated (the API needs the type).
    #[arg(long, value_delimiter = ',')]
    custom_content_types: Vec<String>,
    /// The account's UTC offset for CQL dates, e.g. +02:00 (default +00:00).
    #[arg(long, allow_hyphen_values = true)]
    utc_offset: Option<String>,
    /// Also download attachment files into this folder, content-addressed
    /// (DIR/sha256/ab/abcdef…) and verified by size; later runs download only new versions.
    #[arg(long, value_name = "DIR")]
    files: Option<PathBuf>,
    /// The configuration file (default: kbridge.toml if it exists).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print the report as one JSON object on stdout (no progress bars).
    #[arg(long)]
    json: bool,
    /// Print the tables and where their rows come from, and exit.
    #[arg(long)]
    list_endpoints: bool,
}

/// The exit status of an extract that completed with quarantined records: every other row was
/// stored, the quarantined ones are retried by the next run.
pub const QUARANTINED_EXIT: u8 = 3;

/// How an extract ended, when it did not fail.
pub enum Outcome {
    /// `true`: everything stored.
    Done(bool),
    /// Completed, with records in the quarantine ([`QUARANTINED_EXIT`]).
    Quarantined,
}

pub fn run(args: ExtractArgs) -> Result<Outcome> {
    match args.source {
        Source::Confluence(a) => confluence(a),
    }
}

fn confluence(a: ConfluenceArgs) -> Result<Outcome> {
    if a.list_endpoints {
        println!("{:<32} {:<18} api", "table", "source");
        for e in plan::ENDPOINTS {
            println!("{:<32} {:<18} {}", e.name, e.source.to_string(), e.api);
        }
        return Ok(Outcome::Done(true));
    }
    let file = crate::settings::load(a.config.as_ref())?;
    let flags = ConfluenceFlags {
        url: a.url.clone().map(|v| (v, "--url")),
        email: a.email.clone().map(|v| (v, "--email")),
        rate: a.rate.map(|v| (v, "--rate")),
        concurrency: a.concurrency.map(|v| (v, "--concurrency")),
    };
    let (cfg, _) = crate::settings::confluence(&file, &flags).context("extract confluence")?;
    let now = jiff::Timestamp::now();
    let settings = kb_config::resolve::extract(
        &file,
        None,
        &ExtractFlags {
            spaces: a.spaces.clone(),
            endpoints: a.endpoints.clone(),
            since: a.since.clone(),
            custom_content_types: a.custom_content_types.clone(),
            utc_offset: a.utc_offset.clone(),
            files: a.files.clone(),
            reconcile: a.reconcile,
        },
        now,
    )?;

    let opts = kb_engine::extract::options(settings, a.full, cfg.concurrency).map_err(|e| {
        crate::errors::UserError::new("setting_invalid", format!("--endpoints: {e}"))
            .hint("`kbridge extract confluence --list-endpoints` lists them")
    })?;
    let store_url = crate::settings::store_url(&file, a.store.clone());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let bars = (!a.json && std::io::stderr().is_terminal()).then(Bars::new);
    // One stream: the client's request events and the engine's, logged, counted and drawn
    // by one sink.
    let (sink, counts) = crate::logging::sink(bars.as_ref().map(|b| b.callback()));
    let client = Confluence::build(cfg, Some(crate::logging::http_events(sink.clone())))
        .context("extract confluence")?;
    let progress = Some(sink);
    let report = rt.block_on(async {
        let store = Store::open(&store_url).await.with_context(|| {
            format!("cannot open the store {}", kb_store::redact_url(&store_url))
        })?;
        // SIGINT/SIGTERM: the extraction is dropped (what it committed stays, with its
        // checkpoint; the batch in flight rolls back) and its run is marked interrupted.
        let r = tokio::select! {
            r = extract(&client, &store, &opts, progress) => r.map_err(anyhow::Error::from),
            signal = stop_signal() => {
                store
                    .interrupt_own_runs(&format!("interrupted by {signal}"))
                    .await
                    .context("recording the interrupted run")?;
                Err(anyhow::anyhow!(
                    "interrupted by {signal}: what was committed stays; run `kbridge extract confluence` again to continue"
                ))
            }
        };
        store.close().await;
        r
    });
    if let Some(b) = &bars {
        b.finish();
    }
    let report = report.context("extract confluence")?;
    if a.json {
        let mut v = serde_json::to_value(&report)?;
        v["store"] = serde_json::Value::String(kb_store::redact_url(&store_url));
        v["events"] = serde_json::to_value(counts.snapshot())?;
        println!("{}", serde_json::to_string(&v)?);
    } else {
        print_summary(&report, &store_url);
    }
    if report.quarantined.is_empty() {
        Ok(Outcome::Done(true))
    } else {
        Ok(Outcome::Quarantined)
    }
}

/// The first of SIGINT (Ctrl-C) and SIGTERM, by name (never, if neither can be listened to).
pub(crate) async fn stop_signal() -> &'static str {
    let int = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = async {
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    term.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = int => "SIGINT",
            _ = term => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        int.await;
        "SIGINT"
    }
}

fn print_summary(r: &ExtractReport, store: &str) {
    let held = if r.quarantined.is_empty() {
        String::new()
    } else {
        format!(" with {} quarantined", r.quarantined.len())
    };
    println!(
        "extract confluence: run {} completed{held} {} in {:.1} s, {} requests ({:.1}/s), {} rate-limited, {} retried",
        r.run_id,
        if r.incremental {
            "(incremental)"
        } else {
            "(full)"
        },
        r.wall_seconds,
        r.requests_total,
        r.requests_total as f64 / r.wall_seconds.max(0.001),
        r.rate_limited,
        r.retries
    );
    println!("  store: {}", kb_store::redact_url(store));
    if r.files_downloaded > 0 {
        println!(
            "  attachment files downloaded: {} ({} bytes)",
            r.files_downloaded, r.file_bytes
        );
    }
    println!("  {:<32} {:>10} {:>10}", "table", "written", "deleted");
    for e in plan::ENDPOINTS {
        let w = r.rows.get(e.name).copied().unwrap_or(0);
        let d = r.deleted.get(e.name).copied().unwrap_or(0);
        if w > 0 || d > 0 {
            println!("  {:<32} {:>10} {:>10}", e.name, w, d);
        }
    }
    println!("  {:<60} {:>8}", "requests by endpoint", "");
    for (k, n) in &r.requests {
        println!("  {:<60} {:>8}", k, n);
    }
    if !r.quarantined.is_empty() {
        // Each was logged once on stderr as it happened; here only how many.
        println!(
            "  {} record(s) could not be stored and are quarantined, logged on stderr (all in --json); \
             the rest was stored, the next run retries them (exit status {QUARANTINED_EXIT})",
            r.quarantined.len()
        );
    }
    if !r.files_failed.is_empty() {
        // Each was logged once on stderr (with its attachment id) as it happened.
        println!(
            "  {} attachment file(s) not downloaded, logged on stderr (all in --json); the next run tries them again",
            r.files_failed.len()
        );
    }
    if !r.warnings.is_empty() {
        // Each was logged once on stderr as it happened; here only how many.
        println!(
            "  {} warning(s), logged on stderr as they happened (all in --json)",
            r.warnings.len()
        );
    }
}

/// One progress bar per table on a terminal.
struct Bars {
    multi: MultiProgress,
    bars: Arc<Mutex<std::collections::HashMap<String, ProgressBar>>>,
    phase: ProgressBar,
}

impl Bars {
    fn new() -> Bars {
        // The process's bars: log lines suspend them.
        let multi = crate::logging::bars().clone();
        let phase = multi.add(ProgressBar::new_spinner());
        phase.enable_steady_tick(Duration::from_millis(120));
        Bars {
            multi,
            bars: Arc::new(Mutex::new(Default::default())),
            phase,
        }
    }

    fn callback(&self) -> kb_engine::extract::ProgressFn {
        let multi = self.multi.clone();
        let bars = self.bars.clone();
        let phase = self.phase.clone();
        let style =
            ProgressStyle::with_template("  {prefix:<32} {pos:>8} rows  {per_sec:>10}  {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        Arc::new(move |p: &Progress| match p {
            Progress::Phase { what } => phase.set_message(what.clone()),
            Progress::PhaseDone { .. } => {}
            Progress::Rows { table, total, .. } => {
                let mut m = bars.lock().unwrap_or_else(|e| e.into_inner());
                let bar = m.entry(table.clone()).or_insert_with(|| {
                    let b = multi.add(ProgressBar::new_spinner());
                    b.set_style(style.clone());
                    b.set_prefix(table.clone());
                    b
                });
                bar.set_position(*total);
            }
            // Logged once by the sink (tracing, on stderr above the bars).
            _ => {}
        })
    }

    fn finish(&self) {
        self.phase.finish_and_clear();
        for b in self.bars.lock().unwrap_or_else(|e| e.into_inner()).values() {
            b.finish();
        }
    }
}
