//! `kbridge check confluence [--json]`: does the configuration reach a Confluence site (Cloud
//! or Data Center), as whom, and how many spaces can the token read; for Data Center also the
//! server version, whether `content/scan` is used, where space permissions come from, and
//! hints. The site and the account come from `CONFLUENCE_URL` / `CONFLUENCE_EMAIL` (or
//! `--url` / `--email`), the flavour from `--flavor` / `CONFLUENCE_FLAVOR` (a `CONFLUENCE_PAT`
//! or `CONFLUENCE_USERNAME` means Data Center), secrets only from the environment
//! (`CONFLUENCE_API_TOKEN`, `CONFLUENCE_PAT`, `CONFLUENCE_PASSWORD`), never from a flag (it
//! would land in the shell history).
//! A Cloud connection is resolved as extract and migrate resolve it (`crate::settings`,
//! kb-config): flags, then the environment, then `kbridge.toml` (or `--config FILE`).
//!
//! `kbridge check notion [--json]`: the same for Notion: which integration the token is, in
//! which workspace, and how many pages and databases were shared with it, resolved the same
//! way (`--url`, `--notion-version`, `NOTION_URL`, `NOTION_VERSION`, `kbridge.toml`).

use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use kb_confluence::{
    Confluence, ConfluenceConfig, ENV_EMAIL, ENV_FLAVOUR, ENV_PAT, ENV_URL, ENV_USERNAME,
};
use serde::Serialize;

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(subcommand)]
    target: Target,
}

#[derive(Subcommand, Debug)]
enum Target {
    /// Test the connection to Confluence (Cloud or Data Center) and report what the token can
    /// read.
    ///
    /// Cloud reads CONFLUENCE_URL, CONFLUENCE_EMAIL and CONFLUENCE_API_TOKEN; Data Center
    /// CONFLUENCE_URL and CONFLUENCE_PAT (or CONFLUENCE_USERNAME and CONFLUENCE_PASSWORD).
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
    /// The configuration file (default: kbridge.toml if it exists).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
struct ConfluenceArgs {
    /// The site, e.g. https://acme.atlassian.net (default: $CONFLUENCE_URL).
    #[arg(long)]
    url: Option<String>,
    /// The Atlassian account's email (default: $CONFLUENCE_EMAIL).
    #[arg(long)]
    email: Option<String>,
    /// cloud or dc (default: $CONFLUENCE_FLAVOR; a CONFLUENCE_PAT or CONFLUENCE_USERNAME means
    /// dc).
    #[arg(long)]
    flavor: Option<String>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// The configuration file (default: kbridge.toml if it exists).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
}

pub fn run(args: CheckArgs) -> Result<bool> {
    match args.target {
        Target::Confluence(a) => confluence(a),
        Target::Notion(a) => notion(a),
    }
}

fn confluence(a: ConfluenceArgs) -> Result<bool> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    // Data Center is configured from flags and the environment; Cloud also from kbridge.toml.
    let dc = a.flavor.is_some()
        || [ENV_FLAVOUR, ENV_PAT, ENV_USERNAME]
            .iter()
            .any(|k| env(k).is_some());
    let mut cfg = if dc {
        let url = a.url.clone();
        let email = a.email.clone();
        let flavor = a.flavor.clone();
        ConfluenceConfig::from_lookup(|k| match k {
            ENV_URL => url.clone().or_else(|| env(ENV_URL)),
            ENV_EMAIL => email.clone().or_else(|| env(ENV_EMAIL)),
            ENV_FLAVOUR => flavor.clone().or_else(|| env(ENV_FLAVOUR)),
            _ => env(k),
        })
        .context("check confluence")?
    } else {
        let file = crate::settings::load(a.config.as_ref()).context("check confluence")?;
        let flags = kb_config::resolve::ConfluenceFlags {
            url: a.url.clone().map(|v| (v, "--url")),
            email: a.email.clone().map(|v| (v, "--email")),
            rate: None,
            concurrency: None,
        };
        crate::settings::confluence(&file, &flags)
            .context("check confluence")?
            .0
    };
    quick(&mut cfg.retry, &mut cfg.timeout);
    let site = Confluence::new(cfg).context("check confluence")?;
    let report = report("check confluence", a.json, site.check(), |report| {
        println!("Confluence {}: OK", report.site);
        let dc = report.flavour == "dc";
        println!("  flavour   {}", if dc { "Data Center" } else { "Cloud" });
        if dc {
            println!(
                "  version   {}{}",
                report.version.as_deref().unwrap_or("unknown"),
                if report.scan {
                    " (content/scan)"
                } else {
                    " (offsets, no content/scan)"
                }
            );
            println!(
                "  user      {} ({}, key {})",
                report.display_name.as_deref().unwrap_or("?"),
                report.username.as_deref().unwrap_or("?"),
                report.account_id.as_deref().unwrap_or("?")
            );
        } else {
            println!(
                "  account   {} ({})",
                report.display_name.as_deref().unwrap_or("?"),
                report.account_id.as_deref().unwrap_or("no account id")
            );
        }
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
        let api = if dc { "REST v1 " } else { "REST v2 " };
        match &report.v2_error {
            None => println!("  {api}  reachable"),
            Some(e) => println!("  {api}  NOT reachable: {e}"),
        }
        println!("  space permissions  {}", report.space_permissions);
        for h in &report.hints {
            println!("  hint      {h}");
        }
        println!("  requests  {}", report.requests);
    })?;
    Ok(report.v2)
}

/// A check should answer quickly: a few attempts, short waits.
fn quick(retry: &mut kb_notion::kb_http::RetryPolicy, timeout: &mut Option<Duration>) {
    retry.max_attempts = 3;
    retry.max_elapsed = Duration::from_secs(30);
    *timeout = Some(Duration::from_secs(20));
}

/// Runs a check on a fresh runtime and prints its report: as JSON with `"ok": true` (`--json`)
/// or as text. A failure prints `{"ok": false, "error"}` with `--json` and becomes the error.
fn report<R, E>(
    what: &str,
    json: bool,
    check: impl Future<Output = std::result::Result<R, E>>,
    text: impl FnOnce(&R),
) -> Result<R>
where
    R: Serialize,
    E: std::error::Error + Send + Sync + 'static,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match rt.block_on(check) {
        Ok(report) => {
            if json {
                let mut v = serde_json::to_value(&report)?;
                v["ok"] = serde_json::Value::Bool(true);
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                text(&report);
            }
            Ok(report)
        }
        Err(e) => {
            let e = anyhow::Error::new(e);
            if json {
                let r = crate::errors::render(&e);
                let v = serde_json::json!({
                    "ok": false,
                    "code": r.code,
                    "error": r.message,
                    "hint": r.hint,
                });
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            Err(e.context(what.to_string()))
        }
    }
}

fn notion(a: NotionArgs) -> Result<bool> {
    use kb_notion::Notion;
    let file = crate::settings::load(a.config.as_ref()).context("check notion")?;
    let flags = kb_config::resolve::NotionFlags {
        url: a.url.clone().map(|v| (v, "--url")),
        version: a.notion_version.clone().map(|v| (v, "--notion-version")),
        rate: None,
    };
    let mut cfg = crate::settings::notion(&file, &flags).context("check notion")?;
    quick(&mut cfg.retry, &mut cfg.timeout);
    let notion = Notion::new(cfg).context("check notion")?;
    report("check notion", a.json, notion.check(), |report| {
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
    })?;
    Ok(true)
}
