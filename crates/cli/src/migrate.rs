//! `kbridge migrate notion-to-confluence --from ID --space KEY [--parent PAGE_ID] [--plan]`,
//! `kbridge migrate confluence-to-notion --space KEY | --page ID --to PAGE_ID [--plan]`, and
//! `kbridge verify` of both.
//!
//! Secrets only from the environment: `NOTION_TOKEN`, `CONFLUENCE_API_TOKEN`. Sites, the
//! account, rates and the store from flags, then the environment, then `kbridge.toml`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use kb_config::resolve::{ConfluenceFlags, NotionFlags};
use kb_confluence::Confluence;
use kb_engine::events::EventFn;
use kb_engine::migrate::{
    ConfluenceToNotion, MigrateProgress, MigrateReport, NotionToConfluence, PageOutcome,
    ProgressFn, c2n, n2c,
};
use kb_notion::Notion;
use kb_store::Store;

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[command(subcommand)]
    direction: Direction,
}

#[derive(Subcommand, Debug)]
enum Direction {
    /// A Notion page or database, with everything below it, into a Confluence space: nested
    /// pages become the page tree, databases a page with a Page Properties Report and one child
    /// page per row, links between migrated pages Confluence links, files attachments.
    ///
    /// Re-runs write only what changed; an interrupted run continues where it stopped.
    NotionToConfluence(N2cArgs),
    /// A Confluence space (or one page and its descendants) under a Notion page: the page tree
    /// becomes nested Notion pages in the same order, links between migrated pages Notion page
    /// links, the attachments the pages show file uploads, other links Confluence URLs.
    ///
    /// Re-runs write only what changed (a changed page is rewritten in place); an interrupted
    /// run continues where it stopped.
    ConfluenceToNotion(C2nArgs),
}

#[derive(Args, Debug)]
pub(crate) struct C2nSource {
    /// The Confluence space key: every current page of the space.
    #[arg(long, conflicts_with = "page", required_unless_present = "page")]
    space: Option<String>,
    /// One Confluence page id: that page and its descendants.
    #[arg(long)]
    page: Option<String>,
    /// The Notion page (id or URL) the tree goes under; share it with the integration first.
    #[arg(long)]
    to: String,
}

#[derive(Args, Debug)]
struct C2nArgs {
    #[command(flatten)]
    source: C2nSource,
    #[command(flatten)]
    run: RunFlags,
    #[command(flatten)]
    conn: Connections,
}

/// The flags of a migration run, either direction.
#[derive(Args, Debug)]
struct RunFlags {
    /// Read the source and print the plan (tree, titles, files, links, approximations,
    /// estimated requests and time); write nothing.
    #[arg(long)]
    plan: bool,
    /// Overwrite target pages edited since kbridge wrote them.
    #[arg(long)]
    force: bool,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
pub(crate) struct Connections {
    /// Where the id map and progress live: a SQLite file or `postgres://…` (default:
    /// $KBRIDGE_STORE, then kbridge.toml, then kbridge.db).
    #[arg(long, env = "KBRIDGE_STORE")]
    pub(crate) store: Option<String>,
    /// The Confluence site (default: $CONFLUENCE_URL, then kbridge.toml).
    #[arg(long)]
    pub(crate) confluence_url: Option<String>,
    /// The Atlassian account's email (default: $CONFLUENCE_EMAIL, then kbridge.toml).
    #[arg(long)]
    pub(crate) email: Option<String>,
    /// The Notion API URL (default: $NOTION_URL, then kbridge.toml, then
    /// https://api.notion.com).
    #[arg(long)]
    pub(crate) notion_url: Option<String>,
    /// Notion-Version: 2025-09-03 (default) or 2022-06-28.
    #[arg(long)]
    pub(crate) notion_version: Option<String>,
    /// Confluence requests per second, at most (default: no ceiling; the pacing learns each
    /// endpoint's limit from the server's answers).
    #[arg(long)]
    pub(crate) confluence_rate: Option<f64>,
    /// Notion requests per second (default 3, Notion's limit).
    #[arg(long)]
    pub(crate) notion_rate: Option<f64>,
    /// The configuration file (default: kbridge.toml if it exists).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct N2cArgs {
    /// The Notion page or database id (or its URL) at the top of the tree; repeat it (or
    /// separate with commas) to migrate several trees side by side.
    #[arg(long, required = true, value_delimiter = ',')]
    from: Vec<String>,
    /// The Confluence space key.
    #[arg(long)]
    space: String,
    /// The Confluence page id the tree goes under (default: the top of the space).
    #[arg(long)]
    parent: Option<String>,
    #[command(flatten)]
    run: RunFlags,
    #[command(flatten)]
    conn: Connections,
}

pub fn run(args: MigrateArgs) -> Result<bool> {
    match args.direction {
        Direction::NotionToConfluence(a) => notion_to_confluence(a),
        Direction::ConfluenceToNotion(a) => confluence_to_notion(a),
    }
}

/// The clients and the store URL from flags, environment and kbridge.toml.
pub(crate) struct Clients {
    pub(crate) notion: Notion,
    pub(crate) confluence: Confluence,
    pub(crate) store_url: String,
    pub(crate) notion_rate: f64,
    pub(crate) confluence_rate: f64,
    /// The job's one event sink (the clients' request events and the engine's steps).
    pub(crate) sink: EventFn,
    /// Its events counted by kind (the `events` of `--json`).
    pub(crate) counts: Arc<kb_engine::events::Counts>,
}

pub(crate) fn clients(c: &Connections, what: &str) -> Result<Clients> {
    let file = crate::settings::load(c.config.as_ref())?;
    let (ccfg, _) = crate::settings::confluence(
        &file,
        &ConfluenceFlags {
            url: c.confluence_url.clone().map(|v| (v, "--confluence-url")),
            email: c.email.clone().map(|v| (v, "--email")),
            rate: c.confluence_rate.map(|v| (v, "--confluence-rate")),
            concurrency: None,
        },
    )
    .with_context(|| what.to_string())?;
    let ncfg = crate::settings::notion(
        &file,
        &NotionFlags {
            url: c.notion_url.clone().map(|v| (v, "--notion-url")),
            version: c.notion_version.clone().map(|v| (v, "--notion-version")),
            rate: c.notion_rate.map(|v| (v, "--notion-rate")),
        },
    )
    .with_context(|| what.to_string())?;
    let store_url = crate::settings::store_url(&file, c.store.clone());
    // Both clients' request events go to the one sink (logged once, counted).
    let (sink, counts) = crate::logging::sink(None);
    let events = crate::logging::http_events(sink.clone());
    Ok(Clients {
        sink,
        counts,
        notion_rate: ncfg.rate,
        confluence_rate: ccfg.rate,
        notion: Notion::with_events(ncfg, events.clone()).with_context(|| what.to_string())?,
        confluence: Confluence::build(ccfg, Some(events)).with_context(|| what.to_string())?,
        store_url,
    })
}

impl Clients {
    /// Runs `job` on a fresh runtime with the store open, and closes the store after.
    fn with_store<T>(
        &self,
        job: impl AsyncFnOnce(&Store) -> Result<T, kb_engine::migrate::MigrateError>,
    ) -> Result<T> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        rt.block_on(async {
            let store = Store::open(&self.store_url).await.with_context(|| {
                format!(
                    "cannot open the store {}",
                    kb_store::redact_url(&self.store_url)
                )
            })?;
            // SIGINT/SIGTERM: the job is dropped (each page's state was committed after its
            // write; the write in flight is found again by the next run) and its run is marked
            // interrupted.
            let r = tokio::select! {
                r = job(&store) => r.map_err(anyhow::Error::from),
                signal = crate::extract::stop_signal() => {
                    store
                        .interrupt_own_runs(&format!("interrupted by {signal}"))
                        .await
                        .context("recording the interrupted run")?;
                    Err(anyhow::anyhow!(
                        "interrupted by {signal}: what was written stays recorded; run the same command again to continue"
                    ))
                }
            };
            store.close().await;
            r
        })
    }
}

/// The job's steps on its one event stream (logged once by the sink: `-v` shows each page),
/// plus progress lines on a terminal (not with `--json` or when stderr is not one).
fn progress(sink: EventFn, wanted: bool, source: &'static str) -> ProgressFn {
    let lines = wanted && std::io::stderr().is_terminal();
    Arc::new(move |p: &MigrateProgress| {
        sink(&p.event());
        if !lines {
            return;
        }
        match p {
            MigrateProgress::Reading => eprintln!("reading the {source} tree…"),
            MigrateProgress::Read { pages } => eprintln!("{pages} pages read; writing…"),
            MigrateProgress::Page { title, outcome } => {
                if *outcome != PageOutcome::Unchanged {
                    eprintln!("  {outcome:?}: {title}");
                }
            }
        }
    })
}

fn notion_to_confluence(a: N2cArgs) -> Result<bool> {
    const WHAT: &str = "migrate notion-to-confluence";
    let cl = clients(&a.conn, WHAT)?;
    let from = parse_roots(&a.from)?;
    let opts = NotionToConfluence {
        from,
        space: a.space.clone(),
        parent: a.parent.clone(),
        plan_only: a.run.plan,
        force: a.run.force,
    };
    let progress = progress(cl.sink.clone(), !a.run.json, "Notion");
    let store_url = cl.store_url.clone();
    let report = cl
        .with_store(async |store| {
            n2c::run(store, &cl.notion, &cl.confluence, &opts, Some(progress)).await
        })
        .context(WHAT)?;
    if a.run.json {
        let mut v = serde_json::to_value(&report)?;
        v["store"] = serde_json::Value::String(kb_store::redact_url(&store_url));
        v["events"] = serde_json::to_value(cl.counts.snapshot())?;
        if a.run.plan {
            v["estimate"] = estimate(&report, &cl);
        }
        println!("{}", serde_json::to_string(&v)?);
    } else if a.run.plan {
        print_plan(&report, &cl);
    } else {
        print_summary(&report, &store_url);
    }
    Ok(report.errors.is_empty() && report.conflicts.is_empty())
}

/// Requests and time a migration of the plan would take: per page one create, one attachment
/// upload when it has files and one label request for a database row; the reads already made.
fn estimate(r: &MigrateReport, cl: &Clients) -> serde_json::Value {
    let todo: Vec<_> = r.plan.iter().filter(|p| p.exists.is_none()).collect();
    let writes: usize = todo
        .iter()
        .map(|p| {
            1 + usize::from(p.files > 0) + usize::from(p.kind == kb_engine::migrate::NodeKind::Row)
        })
        .sum();
    let files: usize = todo.iter().map(|p| p.files).sum();
    let notion_reads = r.requests.get("notion").copied().unwrap_or(0) as f64;
    let confluence_reads = r.requests.get("confluence").copied().unwrap_or(0) as f64;
    // Without a ceiling the pace is the server's: the estimate takes the pacing's start.
    let confluence_rate = if cl.confluence_rate.is_finite() {
        cl.confluence_rate
    } else {
        kb_confluence::pacing::START_RATE
    };
    let secs = notion_reads / cl.notion_rate
        + (writes as f64 + confluence_reads) / confluence_rate
        + files as f64 / cl.notion_rate;
    serde_json::json!({
        "pages_to_create": todo.len(),
        "confluence_writes": writes,
        "file_downloads": files,
        "notion_reads": notion_reads,
        "seconds": (secs * 10.0).round() / 10.0,
    })
}

fn print_plan(r: &MigrateReport, cl: &Clients) {
    println!("plan: {} pages", r.pages);
    for p in &r.plan {
        let mut extra = Vec::new();
        if p.files > 0 {
            extra.push(format!("{} files", p.files));
        }
        if p.links > 0 {
            extra.push(format!("{} links", p.links));
        }
        if let Some(id) = &p.exists {
            extra.push(format!("already page {id}"));
        }
        let kind = match p.kind {
            kb_engine::migrate::NodeKind::Page => "",
            kb_engine::migrate::NodeKind::Database => " [database]",
            kb_engine::migrate::NodeKind::Row => " [row]",
        };
        println!(
            "{}{}{kind}{}",
            "  ".repeat(p.depth + 1),
            p.title,
            if extra.is_empty() {
                String::new()
            } else {
                format!("  ({})", extra.join(", "))
            }
        );
    }
    if !r.fallbacks.is_empty() {
        println!("approximations:");
        for (k, n) in &r.fallbacks {
            println!("  {k}: {n}");
        }
    }
    let e = estimate(r, cl);
    println!(
        "estimate: {} Confluence writes, {} file downloads, about {} s at {} Notion and {} Confluence requests/s; nothing was written",
        e["confluence_writes"],
        e["file_downloads"],
        e["seconds"],
        cl.notion_rate,
        cl.confluence_rate
    );
}

fn print_summary(r: &MigrateReport, store: &str) {
    println!(
        "migrate notion-to-confluence: {} pages: {} created, {} updated, {} unchanged; {} files attached; {} links resolved, {} kept as Notion URLs",
        r.pages,
        r.created,
        r.updated,
        r.pages
            .saturating_sub(r.created + r.updated + r.errors.len() + r.conflicts.len()),
        r.files,
        r.links,
        r.external_links
    );
    println!(
        "requests: {} Notion, {} Confluence ({} writes); id map in {}",
        r.requests.get("notion").copied().unwrap_or(0),
        r.requests.get("confluence").copied().unwrap_or(0),
        r.writes,
        kb_store::redact_url(store)
    );
    for c in &r.conflicts {
        println!("conflict: {c}");
    }
    for e in &r.errors {
        println!("error: {e}");
    }
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(subcommand)]
    direction: VerifyDirection,
}

#[derive(Subcommand, Debug)]
enum VerifyDirection {
    /// Re-read a Notion → Confluence migration on both sides and report per page whether it is
    /// there, its text and structure match, its links reach the migrated pages and its files
    /// are attached with the same size. Exit code 1 when anything differs.
    NotionToConfluence(VerifyN2cArgs),
    /// Re-read a Confluence → Notion migration on both sides and report per page whether it is
    /// there, its text and structure match, its links reach the migrated pages and its files
    /// are uploaded with the same size. Exit code 1 when anything differs.
    ConfluenceToNotion(VerifyC2nArgs),
}

#[derive(Args, Debug)]
struct VerifyC2nArgs {
    #[command(flatten)]
    source: C2nSource,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// List every page, not only those that differ.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    conn: Connections,
}

#[derive(Args, Debug)]
struct VerifyN2cArgs {
    /// The Notion pages or databases the migration started from.
    #[arg(long, required = true, value_delimiter = ',')]
    from: Vec<String>,
    /// The Confluence space key.
    #[arg(long)]
    space: String,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// List every page, not only those that differ.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    conn: Connections,
}

pub fn verify(args: VerifyArgs) -> Result<bool> {
    match args.direction {
        VerifyDirection::NotionToConfluence(a) => verify_n2c(a),
        VerifyDirection::ConfluenceToNotion(a) => verify_c2n(a),
    }
}

fn parse_roots(from: &[String]) -> Result<Vec<String>> {
    from.iter()
        .map(|f| {
            kb_engine::migrate::transform::notion_url_id(f)
                .or_else(|| kb_engine::migrate::transform::norm_id(f))
                .with_context(|| {
                    format!(
                        "--from {f:?} is not a Notion page or database id: give the 32-character id or the page's URL"
                    )
                })
        })
        .collect()
}

fn verify_n2c(a: VerifyN2cArgs) -> Result<bool> {
    const WHAT: &str = "verify notion-to-confluence";
    let cl = clients(&a.conn, WHAT)?;
    let from = parse_roots(&a.from)?;
    let report = cl
        .with_store(async |store| {
            kb_engine::migrate::verify::notion_to_confluence(
                store,
                &cl.notion,
                &cl.confluence,
                &from,
                &a.space,
            )
            .await
        })
        .context(WHAT)?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_parity(&report, a.all);
    }
    Ok(report.ok)
}

pub(crate) fn print_parity(r: &kb_engine::migrate::verify::ParityReport, all: bool) {
    let mark = |b: bool| if b { "ok" } else { "DIFF" };
    println!(
        "{:<44} {:<8} {:<5} {:<9} {:>9} {:>7}",
        "page", "present", "text", "structure", "links", "files"
    );
    for p in r.pages.iter().filter(|p| all || !p.ok()) {
        let title: String = p.title.chars().take(42).collect();
        println!(
            "{:<44} {:<8} {:<5} {:<9} {:>9} {:>7}",
            title,
            mark(p.present),
            mark(p.text),
            mark(p.structure),
            format!("{}/{}", p.links_resolved, p.links),
            format!("{}/{}", p.files_attached, p.files)
        );
        for problem in &p.problems {
            println!("    {problem}");
        }
    }
    println!("parity: {}", parity_summary(r));
}

/// The parity report's totals in one line.
pub(crate) fn parity_summary(r: &kb_engine::migrate::verify::ParityReport) -> String {
    let s = &r.summary;
    format!(
        "{} pages, {} present, {} with equal text, {} with equal structure, {}/{} links resolved, {}/{} files attached: {}",
        s.pages,
        s.present,
        s.text_equal,
        s.structure_equal,
        s.links_resolved,
        s.links,
        s.files_attached,
        s.files,
        if r.ok { "OK" } else { "DIFFERENCES" }
    )
}

impl C2nSource {
    fn options(&self, plan_only: bool, force: bool) -> ConfluenceToNotion {
        ConfluenceToNotion {
            space: self.space.clone(),
            page: self.page.clone(),
            to: self.to.clone(),
            plan_only,
            force,
        }
    }
}

fn confluence_to_notion(a: C2nArgs) -> Result<bool> {
    const WHAT: &str = "migrate confluence-to-notion";
    let cl = clients(&a.conn, WHAT)?;
    let opts = a.source.options(a.run.plan, a.run.force);
    let progress = progress(cl.sink.clone(), !a.run.json, "Confluence");
    let store_url = cl.store_url.clone();
    let report = cl
        .with_store(async |store| {
            c2n::run(store, &cl.notion, &cl.confluence, &opts, Some(progress)).await
        })
        .context(WHAT)?;
    let estimate = c2n_estimate(&report, &cl);
    if a.run.json {
        let mut v = serde_json::to_value(&report)?;
        v["store"] = serde_json::Value::String(kb_store::redact_url(&store_url));
        v["events"] = serde_json::to_value(cl.counts.snapshot())?;
        if a.run.plan {
            v["estimate"] = estimate;
        }
        println!("{}", serde_json::to_string(&v)?);
    } else if a.run.plan {
        println!("plan: {} pages", report.pages);
        for p in &report.notion_plan {
            let mut extra = Vec::new();
            if p.files > 0 {
                extra.push(format!("{} files", p.files));
            }
            if p.links > 0 {
                extra.push(format!("{} links", p.links));
            }
            extra.push(format!("{} append requests", p.appends));
            if let Some(id) = &p.exists {
                extra.push(format!("already Notion page {id}"));
            }
            println!(
                "{}{}  ({})",
                "  ".repeat(p.depth + 1),
                p.title,
                extra.join(", ")
            );
        }
        println!(
            "counts: {} pages, {} files, {} links to migrated pages, {} kept as Confluence URLs",
            report.pages,
            report.notion_plan.iter().map(|p| p.files).sum::<usize>(),
            report.links,
            report.external_links
        );
        if !report.fallbacks.is_empty() {
            println!("approximations:");
            for (k, n) in &report.fallbacks {
                println!("  {k}: {n}");
            }
        }
        let kinds: Vec<String> = report
            .estimated_requests
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        println!(
            "estimate: {} Notion and {} Confluence requests ({}), about {} s at {} Notion and {} Confluence requests/s; nothing was written",
            estimate["notion_requests"],
            estimate["confluence_requests"],
            kinds.join(", "),
            estimate["seconds"],
            cl.notion_rate,
            cl.confluence_rate
        );
    } else {
        println!(
            "migrate confluence-to-notion: {} pages: {} created, {} updated, {} unchanged; {} files uploaded; {} links resolved, {} kept as Confluence URLs",
            report.pages,
            report.created,
            report.updated,
            report.pages.saturating_sub(
                report.created + report.updated + report.errors.len() + report.conflicts.len()
            ),
            report.files,
            report.links,
            report.external_links
        );
        println!(
            "requests: {} Notion ({} writes), {} Confluence; state in {}",
            report.requests.get("notion").copied().unwrap_or(0),
            report.writes,
            report.requests.get("confluence").copied().unwrap_or(0),
            kb_store::redact_url(&store_url)
        );
        for c in &report.conflicts {
            println!("conflict: {c}");
        }
        for e in &report.errors {
            println!("error: {e}");
        }
        for r in &report.recoveries {
            println!("recovered: {r}");
        }
    }
    Ok(report.errors.is_empty() && report.conflicts.is_empty())
}

/// Requests and time a run of the plan would take: the writes and reads the plan counts, plus
/// the reads already made, each service at its rate (the run is sequential).
fn c2n_estimate(r: &MigrateReport, cl: &Clients) -> serde_json::Value {
    let by = |prefix: &str| -> u64 {
        r.estimated_requests
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, n)| *n)
            .sum()
    };
    let notion = by("notion_") + r.requests.get("notion").copied().unwrap_or(0);
    let confluence = by("confluence_") + r.requests.get("confluence").copied().unwrap_or(0);
    let secs = notion as f64 / cl.notion_rate + confluence as f64 / cl.confluence_rate;
    serde_json::json!({
        "notion_requests": notion,
        "confluence_requests": confluence,
        "seconds": (secs * 10.0).round() / 10.0,
    })
}

fn verify_c2n(a: VerifyC2nArgs) -> Result<bool> {
    const WHAT: &str = "verify confluence-to-notion";
    let cl = clients(&a.conn, WHAT)?;
    let opts = a.source.options(false, false);
    let report = cl
        .with_store(async |store| {
            kb_engine::migrate::verify::confluence_to_notion(
                store,
                &cl.notion,
                &cl.confluence,
                &opts,
            )
            .await
        })
        .context(WHAT)?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_parity(&report, a.all);
    }
    Ok(report.ok)
}
