//! `kbridge quickstart [--serve]`: everything at once against the built-in twins. It starts
//! the Confluence and Notion twins on loopback with a generated workspace, replicates the
//! Confluence site into `kbridge.db`, migrates the Notion workspace into a Confluence space,
//! checks the migration with the parity report, and says what happened and where the data is.

use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use kb_confluence::{Confluence, ConfluenceConfig};
use kb_engine::extract::{ExtractOptions, extract};
use kb_engine::migrate::{NotionToConfluence, n2c, verify};
use kb_notion::{Notion, NotionConfig};
use kb_sim::ratelimit::Limit;
use kb_sim::{NotionWorkspaceConfig, SimConfig};
use kb_store::Store;
use serde_json::Value;

#[derive(Args, Debug)]
pub struct QuickstartArgs {
    /// Where the data goes: a SQLite file or `postgres://…`. A file that an earlier quickstart
    /// made is replaced; any other non-empty store is refused.
    #[arg(long, default_value = kb_store::DEFAULT_SQLITE_FILE)]
    store: String,
    /// The seed of the generated workspaces.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Pages of the generated Confluence site.
    #[arg(long, default_value_t = 300)]
    pages: usize,
    /// Pages of the generated Notion page tree (depth 6, three related databases besides).
    #[arg(long, default_value_t = 60)]
    notion_pages: usize,
    /// Rows in each of the three Notion databases.
    #[arg(long, default_value_t = 20)]
    notion_rows: usize,
    /// Keep the twins running afterwards (until Ctrl-C), to explore with other commands.
    #[arg(long)]
    serve: bool,
}

/// The marker a quickstart leaves in its store, so that the next one may replace it.
const MARKER: (&str, &str) = ("quickstart", "store");

pub fn run(a: QuickstartArgs) -> Result<bool> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(quickstart(a))
}

/// Opens the store, replacing an earlier quickstart's SQLite file; refuses any other data
/// *before touching it* (nothing is created or migrated in a database quickstart did not make).
async fn open_store(url: &str) -> Result<Store> {
    use kb_store::Existing;
    let shown = kb_store::redact_url(url);
    let refuse = |what: String| {
        anyhow::anyhow!(
            "the store {shown} {what}, which quickstart did not make, and was left untouched: run quickstart in an empty folder, or pass --store with a new file"
        )
    };
    let existing = kb_store::inspect(url, MARKER)
        .await
        .with_context(|| format!("cannot look into the store {shown}"))?;
    match existing {
        Existing::Absent | Existing::Empty => {}
        Existing::Kbridge { marked: true } if !url.contains("://") => {
            for suffix in ["", "-wal", "-shm"] {
                let p = format!("{url}{suffix}");
                if Path::new(&p).exists() {
                    std::fs::remove_file(&p)
                        .with_context(|| format!("cannot replace the earlier quickstart's {p}"))?;
                }
            }
        }
        Existing::Kbridge { .. } => return Err(refuse("holds kbridge data".into())),
        Existing::Foreign { tables } => {
            return Err(refuse(format!(
                "is a database with other tables ({})",
                tables.join(", ")
            )));
        }
    }
    Store::open(url)
        .await
        .with_context(|| format!("cannot open the store {shown}"))
}

async fn quickstart(a: QuickstartArgs) -> Result<bool> {
    let started = std::time::Instant::now();
    // The twins: Notion's limit is raised from 3 to 100 requests/s so the tour takes seconds;
    // the clients below speak at the twins' pace, as they would to the real services.
    let mut cfg = SimConfig::default();
    cfg.workspace.pages = a.pages;
    cfg.workspace.seed = a.seed;
    cfg.notion.workspace = NotionWorkspaceConfig {
        pages: a.notion_pages.max(2),
        depth: 6,
        rows: a.notion_rows.max(1),
        users: 5,
    };
    let notion_rate = Limit {
        per_second: 100.0,
        burst: 20,
    };
    cfg.notion.rate = Some(notion_rate);
    let sim = kb_sim::start(cfg).await.context("cannot start the twins")?;
    println!(
        "twins: Confluence {} and Notion {} (seed {})",
        sim.confluence_url(),
        sim.notion_url(),
        a.seed
    );

    let store = open_store(&a.store).await?;
    let mut b = kb_store::Batch::new();
    b.set_checkpoint(MARKER.0, MARKER.1, serde_json::json!({"seed": a.seed}));
    store.commit(&b).await?;

    let cred = &sim.credentials()[0];
    let mut ccfg = ConfluenceConfig::new(
        &sim.confluence_url(),
        cred.email.clone(),
        cred.token.clone().into(),
    )
    .context("twin configuration")?;
    ccfg.rate = 200.0;
    ccfg.burst = 50;
    ccfg.concurrency = 8;
    let conf = Confluence::new(ccfg)?;
    let mut ncfg = NotionConfig::new(
        sim.notion_url().parse()?,
        sim.notion_token().to_string().into(),
    );
    ncfg.rate = notion_rate.per_second * 0.9;
    ncfg.burst = notion_rate.burst / 2;
    let notion = Notion::new(ncfg)?;

    // 1. extract
    println!(
        "\n1. kbridge extract confluence: the whole site into {}",
        kb_store::redact_url(&a.store)
    );
    let opts = ExtractOptions {
        concurrency: 8,
        ..ExtractOptions::default()
    };
    let ex = extract(&conf, &store, &opts, None)
        .await
        .context("extract")?;
    let rows: u64 = ex.rows.values().sum();
    let biggest: Vec<String> = {
        let mut v: Vec<(&String, &u64)> = ex.rows.iter().filter(|(_, n)| **n > 0).collect();
        v.sort_by(|x, y| y.1.cmp(x.1));
        v.iter().take(6).map(|(t, n)| format!("{t} {n}")).collect()
    };
    println!(
        "   {rows} rows in {} tables from {} requests in {:.1} s ({})",
        ex.rows.values().filter(|n| **n > 0).count(),
        ex.requests_total,
        ex.wall_seconds,
        biggest.join(", ")
    );
    if !ex.quarantined.is_empty() {
        println!(
            "   completed with {} quarantined (logged above; kept with their raw JSON in the \
             store's quarantine table, retried by the next extract)",
            ex.quarantined.len()
        );
    }

    // 2. migrate
    let roots: Vec<String> = notion
        .search(None, Some("page"))
        .await?
        .into_iter()
        .filter(|p| p.pointer("/parent/type").and_then(Value::as_str) == Some("workspace"))
        .filter_map(|p| p.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    let spaces = conf.spaces()?.all().await?;
    let space = spaces
        .first()
        .and_then(|s| s.get("key").and_then(Value::as_str))
        .context("the Confluence twin has no space")?
        .to_string();
    println!(
        "\n2. kbridge migrate notion-to-confluence: {} top-level Notion pages into space {space}",
        roots.len()
    );
    let mig_opts = NotionToConfluence {
        from: roots.clone(),
        space: space.clone(),
        parent: None,
        plan_only: false,
        force: false,
    };
    let m = n2c::run(&store, &notion, &conf, &mig_opts, None)
        .await
        .context("migrate")?;
    println!(
        "   {} pages (databases and rows included): {} created, {} updated; {} files attached; {} links resolved, {} kept as Notion URLs; {} writes",
        m.pages, m.created, m.updated, m.files, m.links, m.external_links, m.writes
    );
    for e in m.errors.iter().chain(&m.conflicts) {
        println!("   problem: {e}");
    }

    // 3. verify
    println!("\n3. kbridge verify notion-to-confluence: both sides re-read and compared");
    let parity = verify::notion_to_confluence(&store, &notion, &conf, &roots, &space)
        .await
        .context("verify")?;
    println!("   parity: {}", crate::migrate::parity_summary(&parity));
    if !parity.ok {
        crate::migrate::print_parity(&parity, false);
    }

    let shown = kb_store::redact_url(&a.store);
    println!(
        "\ndone in {:.1} s. The data is in {shown}:",
        started.elapsed().as_secs_f64()
    );
    if !a.store.contains("://") {
        println!("   sqlite3 {shown} 'select title from pages limit 5'");
        println!("   sqlite3 {shown} \"select source_id, target_id from id_map limit 5\"");
    }
    let ok = parity.ok && m.errors.is_empty() && m.conflicts.is_empty();
    if a.serve {
        println!(
            "\nThe twins keep running (Ctrl-C stops them). Point other commands at them:\n   export CONFLUENCE_URL={} CONFLUENCE_EMAIL={} CONFLUENCE_API_TOKEN=<the twin's token, see docs/sim.md>\n   export NOTION_URL={} NOTION_TOKEN=<the twin's token, see docs/sim.md>",
            sim.confluence_url(),
            cred.email,
            sim.notion_url()
        );
        store.close().await;
        tokio::signal::ctrl_c().await.ok();
    } else {
        store.close().await;
    }
    sim.shutdown().await;
    Ok(ok)
}
