//! `kbridge bench migrate`: a Notion → Confluence migration of a generated workspace against
//! the twins in-process, at the configured rates, printing JSON: requests per migrated page by
//! kind on each API against the minimum the APIs allow, wall time against requests ÷ rate, 429s.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use kb_confluence::{Confluence, ConfluenceConfig};
use kb_engine::migrate::{NodeKind, NotionToConfluence, n2c};
use kb_notion::{Notion, NotionConfig};
use kb_sim::ratelimit::Limit;
use kb_sim::{NotionWorkspaceConfig, RateLimits, SimConfig};
use serde_json::{Value, json};

#[derive(Args, Debug)]
pub struct MigrateBenchArgs {
    /// Pages in the Notion page tree.
    #[arg(long, default_value_t = 200)]
    pages: usize,
    /// Depth of the page tree.
    #[arg(long, default_value_t = 6)]
    depth: usize,
    /// Rows in each of the three databases.
    #[arg(long, default_value_t = 100)]
    rows: usize,
    /// Notion requests per second: the twin's limit, and the client's pace (Notion's real
    /// limit is 3).
    #[arg(long, default_value_t = 3.0)]
    notion_rate: f64,
    /// Confluence requests per second: the twin's limit and the client's pace.
    #[arg(long, default_value_t = 10.0)]
    confluence_rate: f64,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// The download client's pace (kb-notion's default for file URLs).
const DOWNLOAD_RATE: f64 = 20.0;

pub fn run(a: MigrateBenchArgs) -> Result<bool> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let out = rt.block_on(bench(a))?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(true)
}

async fn bench(a: MigrateBenchArgs) -> Result<Value> {
    let mut cfg = SimConfig::default();
    cfg.workspace.pages = 20;
    cfg.workspace.seed = a.seed;
    cfg.notion.workspace = NotionWorkspaceConfig {
        pages: a.pages,
        depth: a.depth,
        rows: a.rows,
        users: 5,
    };
    cfg.notion.rate = Some(Limit {
        per_second: a.notion_rate,
        burst: 10,
    });
    cfg.rate_limits = RateLimits {
        methods: vec![(
            "*".into(),
            Limit {
                per_second: a.confluence_rate,
                burst: (a.confluence_rate.ceil() as u32).max(1),
            },
        )],
        routes: Vec::new(),
        points: None,
    };
    let sim = kb_sim::start(cfg).await.context("twins")?;
    let truth: Value = reqwest::get(format!("{}/__sim/notion/dataset?trees=true", sim.url()))
        .await?
        .json()
        .await?;

    let mut ncfg = NotionConfig::new(
        sim.notion_url().parse()?,
        sim.notion_token().to_string().into(),
    );
    ncfg.rate = a.notion_rate;
    ncfg.burst = 5;
    let notion = Notion::new(ncfg)?;
    let cred = &sim.credentials()[0];
    let mut ccfg = ConfluenceConfig::new(
        &sim.confluence_url(),
        cred.email.clone(),
        cred.token.clone().into(),
    )?;
    ccfg.rate = a.confluence_rate;
    ccfg.burst = ((a.confluence_rate / 2.0).ceil() as u32).max(1);
    let conf = Confluence::new(ccfg)?;

    let roots: Vec<String> = truth["pages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["parent"]["type"] == "workspace")
        .filter_map(|p| p["id"].as_str().map(str::to_string))
        .collect();
    let space = conf.spaces()?.all().await?[0]["key"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let dir = tempfile::tempdir()?;
    let store = kb_store::Store::open(
        dir.path()
            .join("kbridge.db")
            .to_str()
            .unwrap_or("kbridge.db"),
    )
    .await?;
    let opts = NotionToConfluence {
        from: roots,
        space,
        parent: None,
        plan_only: false,
        force: false,
    };
    let t0 = Instant::now();
    let report = n2c::run(&store, &notion, &conf, &opts, None).await?;
    let wall = t0.elapsed().as_secs_f64();
    let second = n2c::run(&store, &notion, &conf, &opts, None).await?;
    store.close().await;

    let ns = notion.stats().snapshot();
    let cs = conf.stats();
    let ds = notion.download_stats().snapshot();
    let min = minimum(&truth);
    let by_kind = |k: NodeKind| truth_count(&truth, k);
    let (pages, dbs, rows) = (
        by_kind(NodeKind::Page),
        by_kind(NodeKind::Database),
        by_kind(NodeKind::Row),
    );
    let first_notion = report.requests.get("notion").copied().unwrap_or(0);
    let first_conf = report.requests.get("confluence").copied().unwrap_or(0);
    let downloads = report.files as u64;
    let ideal = first_notion as f64 / a.notion_rate
        + first_conf as f64 / a.confluence_rate
        + downloads as f64 / DOWNLOAD_RATE;
    let confluence_writes_min = (pages + dbs + rows) as u64 + min.pages_with_files + rows as u64;
    Ok(json!({
        "workspace": {"pages": pages, "databases": dbs, "rows": rows, "depth": a.depth, "seed": a.seed},
        "rates": {"notion": a.notion_rate, "confluence": a.confluence_rate, "downloads": DOWNLOAD_RATE},
        "first_run": {
            "wall_seconds": round(wall),
            "ideal_seconds": round(ideal),
            "wall_over_ideal": round(wall / ideal.max(1e-9)),
            "notion_requests": first_notion,
            "notion_minimum": min.notion_reads,
            "notion_per_page": round(first_notion as f64 / report.pages as f64),
            "confluence_requests": first_conf,
            "confluence_writes": report.writes,
            "confluence_writes_minimum": confluence_writes_min,
            "confluence_reads": first_conf - report.writes as u64,
            "confluence_writes_per_page": round(report.writes as f64 / report.pages as f64),
            "file_downloads": downloads,
            "created": report.created,
            "files": report.files,
            "links": report.links,
            "errors": report.errors.len(),
        },
        "second_run": {
            "writes": second.writes,
            // A job's report counts its own requests (issue 11, item 10).
            "notion_requests": second.requests.get("notion").copied().unwrap_or(0),
        },
        "rate_limited": {"notion": ns.rate_limited, "confluence": cs.rate_limited, "downloads": ds.rate_limited},
        "notion_by_endpoint": by_endpoint(&ns.by_endpoint),
        "confluence_by_endpoint": by_endpoint(&cs.by_endpoint),
    }))
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn by_endpoint(m: &BTreeMap<String, BTreeMap<u16, u64>>) -> BTreeMap<String, u64> {
    m.iter()
        .map(|(k, v)| (k.clone(), v.values().sum()))
        .collect()
}

/// Pages, databases or rows of the workspace, from the twin's ground truth.
fn truth_count(truth: &Value, k: NodeKind) -> usize {
    let pages = truth["pages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    match k {
        NodeKind::Database => truth["databases"].as_array().map_or(0, Vec::len),
        NodeKind::Row => pages
            .iter()
            .filter(|p| p["in_trash"] != true && p["parent"]["type"] == "database")
            .count(),
        NodeKind::Page => pages
            .iter()
            .filter(|p| p["in_trash"] != true && p["parent"]["type"] != "database")
            .count(),
    }
}

struct Minimum {
    /// Notion requests a migration cannot do without: per page or row one children listing
    /// per 100 children of the page and of every block with children below it (not descending
    /// into subpages), the root pages' retrieval, per database its retrieval, its data
    /// source's schema and one query per 100 rows.
    notion_reads: u64,
    pages_with_files: u64,
}

fn minimum(truth: &Value) -> Minimum {
    fn listings(blocks: &[Value]) -> (u64, bool) {
        let mut n = (blocks.len() as u64).div_ceil(100).max(1);
        let mut files = false;
        for b in blocks {
            let t = b["type"].as_str().unwrap_or_default();
            if matches!(t, "image" | "file" | "pdf" | "video" | "audio")
                && b["data"]["type"] == "file"
            {
                files = true;
            }
            let kids = b["children"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            if !kids.is_empty() && t != "child_page" && t != "child_database" {
                let (k, f) = listings(kids);
                n += k;
                files |= f;
            }
        }
        (n, files)
    }
    let mut reads = 0;
    let mut with_files = 0;
    let pages = truth["pages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for p in pages.iter().filter(|p| p["in_trash"] != true) {
        let tree = p["tree"].as_array().map(Vec::as_slice).unwrap_or_default();
        let (n, files) = listings(tree);
        reads += n;
        let prop_files = p["props"].as_object().into_iter().flatten().any(|(_, v)| {
            v.as_array()
                .is_some_and(|a| a.iter().any(|f| f["type"] == "file"))
        });
        with_files += u64::from(files || prop_files);
        if p["parent"]["type"] == "workspace" {
            reads += 1;
        }
    }
    for d in truth["databases"].as_array().into_iter().flatten() {
        let rows = pages
            .iter()
            .filter(|p| p["in_trash"] != true && p["parent"]["id"] == d["id"])
            .count() as u64;
        reads += 2 + rows.div_ceil(100).max(1);
    }
    Minimum {
        notion_reads: reads,
        pages_with_files: with_files,
    }
}
