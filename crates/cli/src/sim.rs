//! `kbridge sim`: runs the local API twins (Confluence Cloud and Notion) on loopback until
//! Ctrl-C.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use kb_sim::notion::NotionConfig;
use kb_sim::ratelimit::Limit;
use kb_sim::{
    Corpus, Credential, FaultPlan, NotionWorkspaceConfig, RateLimits, SimConfig, WorkspaceConfig,
};

pub const AFTER_HELP: &str = "\
Examples:
  kbridge sim                                  # a small site on a free port
  kbridge sim --seed 7 --pages 10000 --port 8089
  kbridge sim --corpus ../shared/corpus/confluence-storage/real-cloud
  kbridge sim --faults 429=0.05,503=0.02,reset=0.01,slow=0.02:2s,truncate=0.005
  kbridge sim --rate-limit realistic           # Atlassian's per-endpoint bursts and hourly points
  kbridge sim --rate-limit bursts              # the per-endpoint bursts alone
  kbridge sim --notion-pages 200 --notion-depth 6 --notion-rows 150
  kbridge sim --notion-rate off                # no Notion rate limit (default 3/s, burst 10)

Point a Confluence client at the printed base URL (…/wiki) with Basic auth (email:api_token),
a Notion client at …/v1 with `Authorization: Bearer <token>` and `Notion-Version` (the JS SDK's
baseUrl is the origin, without /v1).
Introspection: GET /__sim/stats, GET /__sim/confluence/dataset, GET /__sim/notion/dataset,
GET /__sim/notion/changes, POST /__sim/reset (docs/sim.md).";

#[derive(Args, Debug)]
pub struct SimArgs {
    /// Port to listen on (0 = a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on. The twin has no TLS and fixed test credentials: keep it on loopback.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Seed of the generated workspace and of the fault plan (same seed, same site).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Number of spaces.
    #[arg(long, default_value_t = 3)]
    spaces: usize,
    /// Number of pages in all spaces together (homepages included).
    #[arg(long, default_value_t = 60)]
    pages: usize,
    /// Maximum depth of a page below its space homepage.
    #[arg(long, default_value_t = 4)]
    depth: usize,
    /// Maximum number of children per page.
    #[arg(long, default_value_t = 6)]
    fanout: usize,
    /// Blog posts per space.
    #[arg(long, default_value_t = 3)]
    blogposts: usize,
    /// Users besides the three fixed accounts.
    #[arg(long, default_value_t = 9)]
    users: usize,
    /// Take page bodies from the .xhtml/.xml/.html files of this folder instead of generating
    /// them (e.g. ../shared/corpus/confluence-storage/real-cloud).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Fraction (0-1) of generated pages whose body is odd but valid storage kbridge's writer
    /// never produces (unknown macros, nested layouts, CDATA, rare entities, legacy macros).
    #[arg(long, default_value_t = 0.2)]
    odd_bodies: f64,
    /// Fault plan, e.g. 429=0.05,503=0.02,reset=0.01,slow=0.02:2s,truncate=0.005.
    #[arg(long, default_value = "")]
    faults: String,
    /// Rate limits: `realistic` (Atlassian's per-endpoint bursts and 65,000 points an hour),
    /// `bursts` (the bursts alone), or e.g. get=100,put=50/10,GET:/wiki/api/v2/pages=5,points=65000.
    #[arg(long, default_value = "")]
    rate_limit: String,
    /// A webhook receiver, KIND=URL (KIND: confluence_dc, confluence_cloud or notion); repeatable.
    /// Secrets, delays, duplication and reordering: POST /__sim/webhooks (docs/sim.md).
    #[arg(long = "webhook")]
    webhooks: Vec<String>,
    /// API token of the admin account (admin@example.com); default kbridge-sim-token.
    #[arg(long, env = "KBRIDGE_SIM_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Pages in the Notion page tree (database rows not counted).
    #[arg(long, default_value_t = 12)]
    notion_pages: usize,
    /// Deepest level of the Notion page tree.
    #[arg(long, default_value_t = 4)]
    notion_depth: usize,
    /// Rows in each of the three Notion databases (Teams, Projects, Tasks).
    #[arg(long, default_value_t = 8)]
    notion_rows: usize,
    /// Notion people besides the integration bots.
    #[arg(long, default_value_t = 5)]
    notion_users: usize,
    /// The Notion integration token; default secret_kbridge_sim_notion_token.
    #[arg(long, env = "KBRIDGE_SIM_NOTION_TOKEN", hide_env_values = true)]
    notion_token: Option<String>,
    /// Notion's per-integration rate limit: RATE[/BURST] requests per second, or `off`.
    #[arg(long, default_value = "3/10")]
    notion_rate: String,
    /// Print the start-up information as one JSON line on stdout (for scripts).
    #[arg(long)]
    json: bool,
}

/// `off` or `RATE[/BURST]` (requests per second, bucket size).
fn parse_notion_rate(s: &str) -> Result<Option<Limit>> {
    if s.trim() == "off" {
        return Ok(None);
    }
    Limit::parse(s).map(Some).map_err(|why| {
        anyhow::anyhow!("--notion-rate {s:?}: {why}; expected `off` or RATE[/BURST], e.g. 3/10")
    })
}

pub fn run(args: SimArgs) -> Result<bool> {
    let notion_rate = parse_notion_rate(&args.notion_rate)?;
    let mut notion = NotionConfig {
        workspace: NotionWorkspaceConfig {
            pages: args.notion_pages,
            depth: args.notion_depth,
            rows: args.notion_rows,
            users: args.notion_users,
        },
        rate: notion_rate,
        ..NotionConfig::default()
    };
    if let Some(t) = &args.notion_token {
        anyhow::ensure!(!t.is_empty(), "--notion-token: the token must not be empty");
        anyhow::ensure!(
            *t != notion.restricted_token,
            "--notion-token: use another token than the restricted integration's"
        );
        notion.token = t.clone();
    }
    let faults: FaultPlan = args.faults.parse().context("--faults")?;
    let rate_limits: RateLimits = args.rate_limit.parse().context("--rate-limit")?;
    let webhooks = args
        .webhooks
        .iter()
        .map(|w| w.parse::<kb_sim::ReceiverConfig>())
        .collect::<Result<Vec<_>, _>>()
        .context("--webhook")?;
    let corpus = match &args.corpus {
        Some(dir) => Some(Arc::new(
            Corpus::load(dir).with_context(|| "--corpus: check the folder holds storage files")?,
        )),
        None => None,
    };
    let mut credentials = SimConfig::default_credentials();
    if let Some(t) = &args.token {
        anyhow::ensure!(!t.is_empty(), "--token: the token must not be empty");
        credentials[0] = Credential {
            token: t.clone(),
            ..credentials[0].clone()
        };
    }
    if !(0.0..=1.0).contains(&args.odd_bodies) {
        anyhow::bail!(
            "--odd-bodies {}: give a fraction between 0 and 1 (0 turns odd bodies off)",
            args.odd_bodies
        );
    }
    let cfg = SimConfig {
        bind: SocketAddr::new(args.bind, args.port),
        workspace: WorkspaceConfig {
            seed: args.seed,
            spaces: args.spaces,
            pages: args.pages,
            depth: args.depth,
            fanout: args.fanout,
            blogposts_per_space: args.blogposts,
            users: args.users,
            corpus,
            odd_bodies: args.odd_bodies,
            ..WorkspaceConfig::default()
        },
        credentials,
        faults,
        rate_limits,
        notion,
        webhooks,
        permissions: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let started = Instant::now();
        let handle = kb_sim::start(cfg.clone()).await.context("cannot start the twins; try another --port")?;
        let ready = started.elapsed();
        let (spaces, pages, blogposts, attachments, comments) = {
            let data = handle.sim.confluence.read();
            let d = &data.d;
            let count = |k| d.contents.values().filter(|c| c.kind == k).count();
            (
                d.spaces.len(),
                count(kb_sim::model::ContentKind::Page),
                count(kb_sim::model::ContentKind::Blogpost),
                d.attachments.len(),
                d.comments.len(),
            )
        };
        let (n_pages, n_dbs, n_blocks, n_users) = {
            let ws = handle.sim.notion.read();
            (ws.pages.len(), ws.databases.len(), ws.blocks.len(), ws.users.len())
        };
        let notion_url = handle.notion_url();
        let rate = cfg.notion.rate.map(|l| serde_json::json!({"per_second": l.per_second, "burst": l.burst}));
        let base = handle.confluence_url();
        if args.json {
            let creds: Vec<_> = handle
                .credentials()
                .iter()
                .map(|c| serde_json::json!({"email": c.email, "token": c.token, "licensed": c.licensed}))
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "confluence": {"base_url": base, "site_url": handle.url(), "credentials": creds},
                    "notion": {
                        "base_url": notion_url, "sdk_base_url": handle.url(),
                        "versions": ["2022-06-28", "2025-09-03"],
                        "tokens": [
                            {"token": handle.notion_token(), "restricted": false},
                            {"token": handle.notion_restricted_token(), "restricted": true},
                        ],
                        "pages": n_pages, "databases": n_dbs, "rows_per_database": args.notion_rows,
                        "blocks": n_blocks, "users": n_users, "rate_limit": rate,
                    },
                    "introspection": format!("{}/__sim", handle.url()),
                    "ready_ms": ready.as_millis() as u64,
                    "seed": args.seed,
                    "spaces": spaces, "pages": pages, "blogposts": blogposts, "attachments": attachments, "comments": comments,
                })
            );
        } else {
            println!(
                "kbridge sim: Confluence Cloud twin ready in {:.2} s (seed {}: {spaces} spaces, {pages} pages, {blogposts} blog posts, {attachments} attachments, {comments} comments)",
                ready.as_secs_f64(),
                args.seed
            );
            println!("  Confluence base URL  {base}");
            println!("  REST v2              {base}/api/v2");
            println!("  REST v1              {base}/rest/api");
            println!("  credentials (Basic auth, email:api_token):");
            for (c, what) in handle.credentials().iter().zip(["admin", "guest: outside every page restriction", "no Confluence access: 403"]) {
                println!("    {}:{}  ({what})", c.email, c.token);
            }
            println!(
                "kbridge sim: Notion twin: {n_pages} pages ({} rows in {n_dbs} databases), {n_blocks} blocks, {n_users} users",
                n_dbs * args.notion_rows
            );
            println!("  Notion base URL      {notion_url}  (Notion-Version 2022-06-28 or 2025-09-03; JS SDK baseUrl {})", handle.url());
            println!("  Notion tokens (Authorization: Bearer …):");
            println!("    {}  (full integration)", handle.notion_token());
            println!("    {}  (restricted: shared with part of the workspace)", handle.notion_restricted_token());
            match cfg.notion.rate {
                Some(l) => println!("  Notion rate limit    {} requests/s per integration, burst {}", l.per_second, l.burst),
                None => println!("  Notion rate limit    off"),
            }
            println!("  introspection        {}/__sim/stats, {}/__sim/confluence/dataset, {}/__sim/notion/dataset, POST {}/__sim/reset", handle.url(), handle.url(), handle.url(), handle.url());
            if !cfg.faults.is_empty() {
                println!("  fault plan           {}", cfg.faults);
            }
            if !cfg.rate_limits.is_empty() {
                println!("  rate limits          {}", args.rate_limit);
            }
            println!("Press Ctrl-C to stop.");
        }
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        handle.shutdown().await;
        Ok(true)
    })
}
