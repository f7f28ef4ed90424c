//! `kbridge check confluence [--json]`: does the configuration reach a Confluence Cloud site,
//! as whom, and how many spaces can the token read. The site and the account come from
//! `CONFLUENCE_URL` / `CONFLUENCE_EMAIL` (or `--url` / `--email`), the token only from
//! `CONFLUENCE_API_TOKEN`, never from a flag (it would land in the shell history).
//!
//! `kbridge check notion [--json]`: the same for Notion: which integration the token is, in
//! which workspace, and how many pages and databases were shared with it. The token only from
//! `NOTION_TOKEN`; the API URL from `NOTION_URL` or `--url`, the version from `NOTION_VERSION`
//! or `--notion-version`.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use kb_confluence::{Confluence, ConfluenceConfig, ENV_EMAIL, ENV_URL};

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(subcommand)]
    target: Target,
}

#[derive(Subcommand, Debug)]
enum Target {
    /// Test the connection to Confluence Cloud and report what the token can read.
    ///
    /// Reads CONFLUENCE_URL, CONFLUENCE_EMAIL and CONFLUENCE_API_TOKEN.
    Confluence(ConfluenceArgs),
    /// Test the connection to the Notion API and report what was shared with the integration.
    ///
    /// Reads NOTION_TOKEN, NOTION_URL (default https://api.notion.com) and NOTION_VERSION.
    Notion(NotionArgs),
}

#[derive(Args, Debug)]
struct NotionArgs {
    /// The API's base URL (default: $NOTION_URL, else https://api.notion.com).
    #[arg(long)]
    url: Option<String>,
    /// The Notion-Version to speak: 2025-09-03 or 2022-06-28 (default: $NOTION_VERSION, else
    /// 2025-09-03).
    #[arg(long = "notion-version")]
    notion_version: Option<String>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct ConfluenceArgs {
    /// The site, e.g. https://acme.atlassian.net (default: $CONFLUENCE_URL).
    #[arg(long)]
    url: Option<String>,
    /// The Atlassian account's email (default: $CONFLUENCE_EMAIL).
    #[arg(long)]
    email: Option<String>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(args: CheckArgs) -> Result<bool> {
    match args.target {
        Target::Confluence(a) => confluence(a),
        Target::Notion(a) => notion(a),
    }
}

fn confluence(a: ConfluenceArgs) -> Result<bool> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let url = a.url.clone();
    let email = a.email.clone();
    let mut cfg = ConfluenceConfig::from_lookup(|k| match k {
        ENV_URL => url.clone().or_else(|| env(ENV_URL)),
        ENV_EMAIL => email.clone().or_else(|| env(ENV_EMAIL)),
        _ => env(k),
    })
    .context("check confluence")?;
    // A check should answer quickly: a few attempts, short waits.
    cfg.retry.max_attempts = 3;
    cfg.retry.max_elapsed = std::time::Duration::from_secs(30);
    cfg.timeout = Some(std::time::Duration::from_secs(20));
    let site = Confluence::new(cfg).context("check confluence")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match rt.block_on(site.check()) {
        Ok(report) => {
            if a.json {
                let mut v = serde_json::to_value(&report)?;
                v["ok"] = serde_json::Value::Bool(true);
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("Confluence {}: OK", report.site);
                println!(
                    "  account   {} ({})",
                    report.display_name.as_deref().unwrap_or("?"),
                    report.account_id.as_deref().unwrap_or("no account id")
                );
                match report.spaces {
                    Some(n) => {
                        let keys = report.space_keys.join(", ");
                        let more = if (n as usize) > report.space_keys.len() {
                            ", …"
                        } else {
                            ""
                        };
                        println!("  spaces    {n} readable ({keys}{more})");
                    }
                    None => println!("  spaces    unknown"),
                }
                match &report.v2_error {
                    None => println!("  REST v2   reachable"),
                    Some(e) => println!("  REST v2   NOT reachable: {e}"),
                }
                println!("  requests  {}", report.requests);
            }
            Ok(report.v2)
        }
        Err(e) => {
            if a.json {
                let v = serde_json::json!({"ok": false, "error": e.to_string()});
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            Err(anyhow::Error::new(e).context("check confluence"))
        }
    }
}

fn notion(a: NotionArgs) -> Result<bool> {
    use kb_notion::{ENV_URL as NOTION_URL, ENV_VERSION, Notion, NotionConfig};
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let url = a.url.clone();
    let version = a.notion_version.clone();
    let mut cfg = NotionConfig::from_lookup(|k| match k {
        NOTION_URL => url.clone().or_else(|| env(NOTION_URL)),
        ENV_VERSION => version.clone().or_else(|| env(ENV_VERSION)),
        _ => env(k),
    })
    .context("check notion")?;
    // A check should answer quickly: a few attempts, short waits.
    cfg.retry.max_attempts = 3;
    cfg.retry.max_elapsed = std::time::Duration::from_secs(30);
    cfg.timeout = Some(std::time::Duration::from_secs(20));
    let notion = Notion::new(cfg).context("check notion")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match rt.block_on(notion.check()) {
        Ok(report) => {
            if a.json {
                let mut v = serde_json::to_value(&report)?;
                v["ok"] = serde_json::Value::Bool(true);
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "Notion {} (Notion-Version {}): OK",
                    report.api, report.version
                );
                println!(
                    "  integration {} ({})",
                    report.bot_name.as_deref().unwrap_or("?"),
                    report.bot_id
                );
                println!(
                    "  workspace   {}",
                    report.workspace_name.as_deref().unwrap_or("?")
                );
                let shown = report.titles.join(", ");
                let more = if (report.pages + report.databases) as usize > report.titles.len() {
                    ", …"
                } else {
                    ""
                };
                println!(
                    "  shared      {} pages, {} databases ({shown}{more})",
                    report.pages, report.databases
                );
                if report.pages + report.databases == 0 {
                    println!(
                        "              nothing is shared: open a page in Notion, ••• → Connections, add the integration"
                    );
                }
                if let Some(n) = report.max_file_upload_bytes {
                    println!("  uploads     up to {n} bytes per file");
                }
                println!("  requests    {}", report.requests);
            }
            Ok(true)
        }
        Err(e) => {
            if a.json {
                let v = serde_json::json!({"ok": false, "error": e.to_string()});
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            Err(anyhow::Error::new(e).context("check notion"))
        }
    }
}
