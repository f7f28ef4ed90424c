//! `kbridge km`: the knowledge base. `sync` (one incremental pass: extract, then import from
//! the replica; `--permissions` for the permission sync), `search` (as a user, a role or
//! anonymous), `reindex` (the index rebuilt from the store), `logs` (the integration log).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use kb_config::resolve::ConfluenceFlags;
use kb_confluence::Confluence;
use kb_km::{KmConfig, SearchRequest, Searcher, SyncOptions};
use kb_search::SearchIndex;
use kb_store::Store;

pub const AFTER_HELP: &str = "\
The knowledge base lives in the store (tables km_*, see docs/km.md) and its search index in a
folder (--index, default kbridge-index beside a SQLite store). Its configuration (filters,
mapping, transformation rules, roles, the delete guard, [[km.jobs]]) is the [km] table of
--km-config (default kbridge-km.toml when it exists).

Examples:
  kbridge km sync --json
  kbridge km sync --permissions
  kbridge km search \"deploy rollback\" --as 712020:abcd --tag runbook
  kbridge km search \"*\" --as role:support --json
  kbridge km logs --level warn";

#[derive(Args, Debug)]
pub struct KmArgs {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// One incremental pass: extract, then import the replica into the knowledge base.
    #[command(after_help = AFTER_HELP)]
    Sync(SyncArgs),
    /// Search as a user (account id), `role:NAME` or `anonymous`.
    #[command(after_help = AFTER_HELP)]
    Search(SearchArgs),
    /// Rebuild the search index from the store.
    Reindex(CommonArgs),
    /// The integration log.
    Logs(LogsArgs),
}

#[derive(Args, Debug, Default, Clone)]
struct CommonArgs {
    /// The store: a SQLite file or `postgres://…` (default: $KBRIDGE_STORE, kbridge.toml,
    /// kbridge.db).
    #[arg(long, env = "KBRIDGE_STORE")]
    store: Option<String>,
    /// The search index folder.
    #[arg(long)]
    index: Option<PathBuf>,
    /// The configuration file (default: kbridge.toml if it exists).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The km configuration (`[km]` table; default: kbridge.toml's `[km]`, else kbridge-km.toml
    /// if it exists).
    #[arg(long)]
    km_config: Option<PathBuf>,
    /// One JSON object on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct SyncArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The site (default: $CONFLUENCE_URL, then kbridge.toml).
    #[arg(long)]
    url: Option<String>,
    /// The account's email (default: $CONFLUENCE_EMAIL, then kbridge.toml).
    #[arg(long)]
    email: Option<String>,
    /// The permission sync: space permissions, every restriction, groups and members re-read.
    #[arg(long)]
    permissions: bool,
}

#[derive(Args, Debug)]
struct SearchArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Words, "phrases", prefix*, -excluded; empty or `*` matches everything readable.
    query: String,
    /// Who searches: an account id, `role:NAME` or `anonymous`.
    #[arg(long = "as", value_name = "USER|role:NAME")]
    who: String,
    /// Only articles with this tag (repeatable: all of them).
    #[arg(long)]
    tag: Vec<String>,
    /// Only these spaces (keys).
    #[arg(long, value_delimiter = ',')]
    space: Vec<String>,
    /// Only these categories.
    #[arg(long)]
    category: Vec<String>,
    /// Only these authors.
    #[arg(long)]
    author: Vec<String>,
    /// Only these kinds (page, blogpost, attachment).
    #[arg(long, value_delimiter = ',')]
    kind: Vec<String>,
    /// Hits per page.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// Hits to skip.
    #[arg(long, default_value_t = 0)]
    offset: usize,
}

#[derive(Args, Debug)]
struct LogsArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Only this run.
    #[arg(long)]
    run: Option<i64>,
    /// At or above this level: info, warn, error.
    #[arg(long)]
    level: Option<String>,
}

pub fn run(args: KmArgs) -> Result<bool> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match args.cmd {
        Cmd::Sync(a) => rt.block_on(sync(a)),
        Cmd::Search(a) => rt.block_on(search(a)),
        Cmd::Reindex(a) => rt.block_on(reindex(a)),
        Cmd::Logs(a) => rt.block_on(logs(a)),
    }
}

/// The km configuration: `--km-config FILE`, else the `[km]` table of `kbridge.toml` (checked
/// when it was loaded), else `kbridge-km.toml`, else the defaults. Both of the last two present
/// is refused: one place says what km does.
fn km_config(c: &CommonArgs) -> Result<KmConfig> {
    let path = match &c.km_config {
        Some(p) => p.clone(),
        None => {
            let p = PathBuf::from("kbridge-km.toml");
            if let Some(km) = crate::settings::load(c.config.as_ref())?.km {
                if p.exists() {
                    return Err(crate::errors::UserError::new(
                        "setting_invalid",
                        "the km configuration is in two places: the [km] table of kbridge.toml and kbridge-km.toml",
                    )
                    .hint("keep one: move kbridge-km.toml's settings into kbridge.toml's [km] table and delete it, or pass --km-config")
                    .into());
                }
                return Ok(km);
            }
            if !p.exists() {
                return Ok(KmConfig::default());
            }
            p
        }
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the km configuration {}", path.display()))?;
    KmConfig::from_toml(&path.display().to_string(), &text).map_err(|e| {
        crate::errors::UserError::new("setting_invalid", e.to_string())
            .hint("docs/km.md lists every [km] setting")
            .into()
    })
}

async fn open(c: &CommonArgs) -> Result<(Store, SearchIndex, String)> {
    let file = crate::settings::load(c.config.as_ref())?;
    let url = crate::settings::store_url(&file, c.store.clone());
    let store = Store::open(&url)
        .await
        .with_context(|| format!("cannot open the store {}", kb_store::redact_url(&url)))?;
    let dir = match &c.index {
        Some(d) => d.clone(),
        None if !url.contains("://") => PathBuf::from(&url)
            .parent()
            .map(|p| p.join("kbridge-index"))
            .unwrap_or_else(|| PathBuf::from("kbridge-index")),
        None => PathBuf::from("kbridge-index"),
    };
    let index = SearchIndex::open(&dir).context("km")?;
    Ok((store, index, url))
}

async fn sync(a: SyncArgs) -> Result<bool> {
    let cfg = km_config(&a.common)?;
    let file = crate::settings::load(a.common.config.as_ref())?;
    let flags = ConfluenceFlags {
        url: a.url.clone().map(|v| (v, "--url")),
        email: a.email.clone().map(|v| (v, "--email")),
        rate: None,
        concurrency: None,
    };
    let (ccfg, _) = crate::settings::confluence(&file, &flags).context("km sync")?;
    let client = Confluence::new(ccfg).context("km sync")?;
    let (store, mut index, url) = open(&a.common).await?;
    let opts = SyncOptions {
        permissions: a.permissions,
        ..SyncOptions::default()
    };
    let r = kb_km::sync(&client, &store, &mut index, &cfg, &opts).await;
    store.close().await;
    let r = r.context("km sync")?;
    if a.common.json {
        let mut v = serde_json::to_value(&r)?;
        v["store"] = serde_json::Value::String(kb_store::redact_url(&url));
        println!("{}", serde_json::to_string(&v)?);
    } else {
        let c = &r.counts;
        println!(
            "km sync: run {} {}: {} added, {} updated, {} deleted, {} unchanged, {} skipped by filters, {} failed, {} readable by no one; {} requests",
            r.run_id,
            r.status,
            c.added,
            c.updated,
            c.deleted,
            c.unchanged,
            c.skipped_by_filter,
            c.failed,
            c.closed,
            r.requests
        );
        if r.warnings + r.errors > 0 {
            println!(
                "  {} warnings, {} errors: kbridge km logs --run {}",
                r.warnings, r.errors, r.run_id
            );
        }
    }
    Ok(r.status == "succeeded")
}

async fn search(a: SearchArgs) -> Result<bool> {
    let (store, index, _) = open(&a.common).await?;
    let text = if a.query.trim() == "*" {
        String::new()
    } else {
        a.query.clone()
    };
    let req = SearchRequest {
        text,
        tags: a.tag,
        categories: a.category,
        spaces: a.space,
        authors: a.author,
        kinds: a.kind,
        limit: a.limit,
        offset: a.offset,
        snippets: true,
        facets: true,
    };
    let ans = kb_km::search(&store, &index, &Searcher::parse(&a.who), &req).await;
    store.close().await;
    let ans = ans.context("km search")?;
    if a.common.json {
        println!("{}", serde_json::to_string(&ans)?);
    } else {
        println!("{} results", ans.total);
        for h in &ans.hits {
            println!("{:>7.3}  {}  {}", h.score, h.id, h.title);
            if let Some(u) = &h.url {
                println!("         {u}");
            }
            if let Some(s) = &h.snippet {
                println!("         {s}");
            }
        }
    }
    Ok(true)
}

async fn reindex(a: CommonArgs) -> Result<bool> {
    let (store, mut index, _) = open(&a).await?;
    let n = kb_km::reindex(&store, &mut index).await;
    store.close().await;
    let n = n.context("km reindex")?;
    if a.json {
        println!("{}", serde_json::json!({"indexed": n}));
    } else {
        println!("km reindex: {n} articles indexed");
    }
    Ok(true)
}

async fn logs(a: LogsArgs) -> Result<bool> {
    if let Some(l) = &a.level
        && !matches!(l.as_str(), "info" | "warn" | "error")
    {
        return Err(crate::errors::UserError::new(
            "setting_invalid",
            format!("--level {l:?}: use info, warn or error"),
        )
        .into());
    }
    let (store, _, _) = open(&a.common).await?;
    let lines = kb_km::log::read(&store, a.run, a.level.as_deref()).await;
    store.close().await;
    let lines = lines.context("km logs")?;
    if a.common.json {
        println!("{}", serde_json::to_string(&lines)?);
    } else {
        for l in &lines {
            println!(
                "run {} {} {:<5} {}: {}",
                l.run_id, l.at, l.level, l.object, l.message
            );
            if !l.hint.is_empty() {
                println!("    hint: {}", l.hint);
            }
        }
    }
    Ok(true)
}
