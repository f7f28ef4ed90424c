//! `kbridge extract confluence`: replicate a Confluence site into SQLite (default `kbridge.db`)
//! or PostgreSQL. Flags override `kbridge.toml`, which overrides the defaults; the API token
//! comes only from `CONFLUENCE_API_TOKEN`.

use std::collections::BTreeSet;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use kb_confluence::{Confluence, ConfluenceConfig, ENV_EMAIL, ENV_URL};
use kb_engine::extract::{ExtractOptions, ExtractReport, Progress, extract, plan};
use kb_store::Store;
use serde::Deserialize;

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
    /// Requests per second for the site (default 10).
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

/// `kbridge.toml`: the same settings as the flags (the token never).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    #[serde(default)]
    pub(crate) store: Option<StoreSection>,
    #[serde(default)]
    pub(crate) confluence: Option<ConfluenceSection>,
    /// `kbridge migrate`'s Notion side (the token only from NOTION_TOKEN).
    #[serde(default)]
    pub(crate) notion: Option<NotionSection>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotionSection {
    /// The API's base URL (default https://api.notion.com).
    pub(crate) url: Option<String>,
    /// `2025-09-03` (default) or `2022-06-28`.
    pub(crate) version: Option<String>,
    /// Requests per second (default 3, Notion's average limit).
    pub(crate) rate: Option<f64>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoreSection {
    /// A SQLite file or `postgres://…`.
    pub(crate) url: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfluenceSection {
    pub(crate) url: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) rate: Option<f64>,
    pub(crate) concurrency: Option<usize>,
    #[serde(default)]
    spaces: Vec<String>,
    #[serde(default)]
    endpoints: Vec<String>,
    since: Option<String>,
    #[serde(default)]
    custom_content_types: Vec<String>,
    utc_offset: Option<String>,
    /// Download attachment files into this folder.
    files: Option<PathBuf>,
}

pub fn run(args: ExtractArgs) -> Result<bool> {
    match args.source {
        Source::Confluence(a) => confluence(a),
    }
}

pub(crate) fn load_config(path: Option<&PathBuf>) -> Result<ConfigFile> {
    let (path, required) = match path {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("kbridge.toml"), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(ConfigFile::default());
        }
        Err(e) => bail!("cannot read the configuration file {}: {e}", path.display()),
    };
    toml::from_str(&text).with_context(|| {
        format!(
            "{} is not a valid kbridge configuration (sections [store] url; [confluence] url, email, rate, concurrency, spaces, endpoints, since, custom_content_types, utc_offset, files; [notion] url, version, rate)",
            path.display()
        )
    })
}

/// `YYYY-MM-DD` → epoch ms at 00:00 UTC.
fn parse_date(s: &str) -> Result<i64> {
    let bad = || {
        anyhow::anyhow!("--since {s:?} is not a date: use YYYY-MM-DD (e.g. 2026-01-31) or `all`")
    };
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts[..] else {
        return Err(bad());
    };
    let (y, m, d): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    kb_store::time::parse_rfc3339(&format!("{y:04}-{m:02}-{d:02}T00:00:00Z")).ok_or_else(bad)
}

/// `+HH:MM` / `-HH:MM` → minutes.
fn parse_offset(s: &str) -> Result<i32> {
    let bad = || anyhow::anyhow!("--utc-offset {s:?}: use +HH:MM or -HH:MM (e.g. +02:00)");
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 60 + m))
}

fn confluence(a: ConfluenceArgs) -> Result<bool> {
    if a.list_endpoints {
        println!("{:<32} {:<18} api", "table", "source");
        for e in plan::ENDPOINTS {
            println!("{:<32} {:<18} {}", e.name, e.source.to_string(), e.api);
        }
        return Ok(true);
    }
    let file = load_config(a.config.as_ref())?;
    let c = file.confluence.unwrap_or_default();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let url = a.url.clone().or_else(|| env(ENV_URL)).or(c.url.clone());
    let email = a
        .email
        .clone()
        .or_else(|| env(ENV_EMAIL))
        .or(c.email.clone());
    let mut cfg = ConfluenceConfig::from_lookup(|k| match k {
        ENV_URL => url.clone(),
        ENV_EMAIL => email.clone(),
        _ => env(k),
    })
    .context("extract confluence")?;
    if let Some(r) = a.rate.or(c.rate) {
        if !(r > 0.0 && r.is_finite()) {
            bail!("--rate {r}: give a positive number of requests per second");
        }
        cfg.rate = r;
        cfg.burst = (r.ceil() as u32).max(1);
    }
    if let Some(n) = a.concurrency.or(c.concurrency) {
        if n == 0 {
            bail!("--concurrency 0: give at least 1");
        }
        cfg.concurrency = n;
    }

    let mut opts = ExtractOptions {
        spaces: if a.spaces.is_empty() {
            c.spaces
        } else {
            a.spaces.clone()
        },
        full: a.full,
        reconcile: a.reconcile,
        concurrency: cfg.concurrency,
        ..ExtractOptions::default()
    };
    let endpoints = if a.endpoints.is_empty() {
        c.endpoints
    } else {
        a.endpoints.clone()
    };
    if !endpoints.is_empty() {
        let set: BTreeSet<String> = endpoints.iter().map(|e| e.trim().to_string()).collect();
        for e in &set {
            if plan::endpoint(e).is_none() {
                bail!(
                    "--endpoints: {e:?} is not a table kbridge extracts; `kbridge extract confluence --list-endpoints` lists them"
                );
            }
        }
        opts.endpoints = Some(set);
    }
    opts.since = match a.since.as_deref().or(c.since.as_deref()) {
        Some("all") => None,
        Some(s) => Some(parse_date(s)?),
        None => Some(now_ms() - 365 * 86_400_000),
    };
    opts.custom_content_types = if a.custom_content_types.is_empty() {
        c.custom_content_types
    } else {
        a.custom_content_types.clone()
    };
    opts.files = a.files.clone().or(c.files.clone());
    if let Some(o) = a.utc_offset.as_deref().or(c.utc_offset.as_deref()) {
        opts.utc_offset_minutes = parse_offset(o)?;
    }
    let store_url = a
        .store
        .clone()
        .or(file.store.and_then(|s| s.url))
        .unwrap_or_else(|| kb_store::DEFAULT_SQLITE_FILE.to_string());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let client = Confluence::new(cfg).context("extract confluence")?;
    let bars = (!a.json && std::io::stderr().is_terminal()).then(Bars::new);
    let progress = bars.as_ref().map(|b| b.callback());
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
        println!("{}", serde_json::to_string(&v)?);
    } else {
        print_summary(&report, &store_url);
    }
    Ok(true)
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

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn print_summary(r: &ExtractReport, store: &str) {
    println!(
        "extract confluence: run {} {} in {:.1} s, {} requests ({:.1}/s), {} rate-limited, {} retried",
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
    if !r.warnings.is_empty() {
        println!("  {} warning(s):", r.warnings.len());
        for w in r.warnings.iter().take(20) {
            println!("    - {w}");
        }
        if r.warnings.len() > 20 {
            println!("    … and {} more (see --json)", r.warnings.len() - 20);
        }
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
        let multi = MultiProgress::new();
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
            Progress::Warning { message } => {
                let _ = multi.println(format!("warning: {message}"));
            }
        })
    }

    fn finish(&self) {
        self.phase.finish_and_clear();
        for b in self.bars.lock().unwrap_or_else(|e| e.into_inner()).values() {
            b.finish();
        }
    }
}
