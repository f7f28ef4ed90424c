//! `kbridge sync init|run|watch|status|conflicts|resolve|remove`: a Notion tree and a
//! Confluence tree kept equal. The state lives in the store; secrets come from the
//! environment only (`NOTION_TOKEN`, `CONFLUENCE_API_TOKEN`, and for `watch` the webhook
//! secrets `KBRIDGE_NOTION_WEBHOOK_TOKEN`, `KBRIDGE_CONFLUENCE_WEBHOOK_SECRET`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use kb_engine::sync::{self, InitOptions, Policy, SyncContext, SyncReport, Take};
use kb_store::Store;
use secrecy::SecretString;

use crate::migrate::{Clients, Connections, clients};

#[derive(Args, Debug)]
pub struct SyncArgs {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Links a Notion page's tree with the Confluence tree an earlier `kbridge migrate` made of
    /// it (either direction): every migrated page is paired, nothing is written.
    Init(InitArgs),
    /// One pass: what changed on either side since the last pass is merged and written to the
    /// other side. Exits; cron-friendly. Exit code 1 when a page failed or a conflict waits.
    Run(RunArgs),
    /// Passes every --interval, and at once when a verified webhook says something changed.
    /// SIGINT/SIGTERM finish the current pass and stop.
    Watch(WatchArgs),
    /// Links, pairs, open conflicts and the last polls.
    Status(StatusArgs),
    /// The open conflicts, each with the base and both versions (Markdown).
    Conflicts(ConflictsArgs),
    /// Settles a conflict: `--take notion`, `--take confluence`, or `--take FILE.md`.
    Resolve(ResolveArgs),
    /// Removes a link and its state from the store (neither service is touched).
    Remove(RemoveArgs),
}

#[derive(Args, Debug)]
struct InitArgs {
    /// The link's name.
    #[arg(long, default_value = "default")]
    name: String,
    /// The Notion page (id or URL id) at the top of the synced tree.
    #[arg(long)]
    notion: String,
    /// `SPACE` or `SPACE:PAGE_ID`: the Confluence space, and the page the Notion root is
    /// paired with (default: the one the migration made).
    #[arg(long)]
    confluence: String,
    /// What a conflict does: manual (default: recorded, neither side overwritten),
    /// prefer-notion, prefer-confluence, newest.
    #[arg(long, default_value = "manual")]
    policy: String,
    /// The crawl account's time zone, minutes east of UTC (CQL reads dates in it).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    utc_offset_minutes: i32,
    /// What a trash on one side does on the other: trash (default: the other page goes to
    /// its trash too, and a restore is mirrored) or unlink (the pair is forgotten, the other
    /// page stays).
    #[arg(long, default_value = "trash")]
    deletion: String,
    /// Both trees full and not migrated by this store: pair their pages by title path. Without
    /// it, `init` prints the pairing it would make and writes nothing.
    #[arg(long)]
    adopt: bool,
    /// Print the result as JSON on stdout (one object per link and pass).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    conn: Connections,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// The link (default: every link in the store).
    #[arg(long)]
    name: Option<String>,
    /// Print the result as JSON on stdout (one object per link and pass).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    conn: Connections,
}

#[derive(Args, Debug)]
struct WatchArgs {
    /// The link (default: every link in the store).
    #[arg(long)]
    name: Option<String>,
    /// Seconds between passes.
    #[arg(long, default_value_t = 60)]
    interval: u64,
    /// Where the webhook receivers listen (`POST /webhooks/notion`, `/webhooks/confluence`,
    /// `/webhooks/confluence-dc`); none without it.
    #[arg(long)]
    listen: Option<String>,
    #[command(flatten)]
    conn: Connections,
}

#[derive(Args, Debug)]
struct StatusArgs {
    /// Print the result as JSON on stdout (one object per link and pass).
    #[arg(long)]
    json: bool,
    /// The store: a SQLite file or `postgres://…` (default: $KBRIDGE_STORE, then
    /// kbridge.toml, then kbridge.db).
    #[arg(long, env = "KBRIDGE_STORE")]
    store: Option<String>,
    /// The configuration file (default: kbridge.toml if it exists).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
struct ConflictsArgs {
    /// The link (default: every link in the store).
    #[arg(long)]
    name: Option<String>,
    /// Also the resolved ones.
    #[arg(long)]
    all: bool,
    /// Print the result as JSON on stdout (one object per link and pass).
    #[arg(long)]
    json: bool,
    /// The store: a SQLite file or `postgres://…` (default: $KBRIDGE_STORE, then
    /// kbridge.toml, then kbridge.db).
    #[arg(long, env = "KBRIDGE_STORE")]
    store: Option<String>,
    /// The configuration file (default: kbridge.toml if it exists).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
struct ResolveArgs {
    /// The conflict's id (`kbridge sync conflicts`).
    id: i64,
    /// notion, confluence, or a Markdown file with the settled text.
    #[arg(long)]
    take: String,
    /// Print the result as JSON on stdout (one object per link and pass).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    conn: Connections,
}

#[derive(Args, Debug)]
struct RemoveArgs {
    /// The link's name.
    name: String,
    /// The store: a SQLite file or `postgres://…` (default: $KBRIDGE_STORE, then
    /// kbridge.toml, then kbridge.db).
    #[arg(long, env = "KBRIDGE_STORE")]
    store: Option<String>,
    /// The configuration file (default: kbridge.toml if it exists).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn open(url: &str) -> Result<Store> {
    Store::open(url)
        .await
        .with_context(|| format!("cannot open the store {}", kb_store::redact_url(url)))
}

fn store_only(store: &Option<String>, config: &Option<std::path::PathBuf>) -> Result<String> {
    let file = crate::settings::load(config.as_ref())?;
    Ok(crate::settings::store_url(&file, store.clone()))
}

pub fn run(args: SyncArgs) -> Result<bool> {
    match args.cmd {
        Cmd::Init(a) => init(a),
        Cmd::Run(a) => run_once(a),
        Cmd::Watch(a) => watch(a),
        Cmd::Status(a) => status(a),
        Cmd::Conflicts(a) => conflicts(a),
        Cmd::Resolve(a) => resolve(a),
        Cmd::Remove(a) => remove(a),
    }
}

fn init(a: InitArgs) -> Result<bool> {
    const WHAT: &str = "sync init";
    let policy: Policy = a.policy.parse().map_err(anyhow::Error::msg)?;
    let deletion: sync::Deletion = a.deletion.parse().map_err(anyhow::Error::msg)?;
    let (space, page) = match a.confluence.split_once(':') {
        Some((s, p)) => (s.to_string(), Some(p.to_string())),
        None => (a.confluence.clone(), None),
    };
    if space.is_empty() {
        bail!("--confluence needs a space key: --confluence KEY or KEY:PAGE_ID");
    }
    let cl = clients(&a.conn, WHAT)?;
    let opts = InitOptions {
        name: a.name.clone(),
        notion_root: a.notion.clone(),
        space_key: space,
        confluence_root: page,
        policy,
        utc_offset_minutes: a.utc_offset_minutes,
        deletion,
        adopt: a.adopt,
    };
    let report = runtime()?.block_on(async {
        let store = open(&cl.store_url).await?;
        let cx = context(&cl, &store);
        let r = sync::init(&cx, &opts, now_ms()).await;
        store.close().await;
        r.context(WHAT)
    })?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else if !report.written {
        println!(
            "sync link \"{}\" (not stored): both trees hold pages and this store migrated none of them; paired by title path they would be:",
            report.link
        );
        for p in &report.plan {
            println!(
                "  {}  Notion {}  <->  Confluence {}",
                p.path, p.notion_id, p.confluence_id
            );
        }
        println!(
            "  {} Notion and {} Confluence pages without a counterpart by title path (not synced).",
            report.unpaired.len(),
            report.unpaired_confluence.len()
        );
        println!("Nothing was written. Run the same command with --adopt to store this pairing.");
    } else {
        println!(
            "sync link \"{}\": {} page pairs adopted (Confluence root {}).",
            report.link, report.adopted, report.confluence_root
        );
        match report.mode {
            sync::StartMode::CopyToConfluence => println!(
                "  The Confluence tree is empty: the passes copy the Notion pages into it, one level of pages a pass."
            ),
            sync::StartMode::CopyToNotion => println!(
                "  The Notion tree is empty: the passes copy the Confluence pages into it, one level of pages a pass."
            ),
            _ => {}
        }
        if !report.unpaired.is_empty() {
            println!(
                "  {} Notion pages have no Confluence counterpart and are not synced: migrate them first ({}…).",
                report.unpaired.len(),
                report.unpaired[0]
            );
        }
        if report.skipped_databases > 0 {
            println!(
                "  {} databases and rows are not synced by this version.",
                report.skipped_databases
            );
        }
        println!("Next: `kbridge sync run --name {}`.", report.link);
    }
    Ok(true)
}

fn context<'a>(cl: &'a Clients, store: &'a Store) -> SyncContext<'a> {
    SyncContext {
        store,
        notion: &cl.notion,
        confluence: &cl.confluence,
    }
}

async fn link_names(store: &Store, name: &Option<String>) -> Result<Vec<String>> {
    Ok(match name {
        Some(n) => vec![n.clone()],
        None => {
            let all: Vec<String> = store
                .sync_links()
                .await?
                .into_iter()
                .map(|l| l.name)
                .collect();
            if all.is_empty() {
                bail!("there is no sync link in this store: make one with `kbridge sync init`");
            }
            all
        }
    })
}

fn print_pass(r: &SyncReport) {
    println!(
        "{}: {} pages looked at, {} written to Notion ({} blocks updated in place, {} inserted, {} deleted), {} to Confluence, {} merged, {} created in Notion, {} in Confluence; requests: Notion {}, Confluence {}.",
        r.link,
        r.checked,
        r.to_notion,
        r.blocks_updated,
        r.blocks_inserted,
        r.blocks_deleted,
        r.to_confluence,
        r.merged,
        r.created_in_notion,
        r.created_in_confluence,
        r.requests.get("notion").copied().unwrap_or(0),
        r.requests.get("confluence").copied().unwrap_or(0),
    );
    for id in &r.conflicts {
        println!(
            "  conflict {id}: both sides changed the same part; see `kbridge sync conflicts`, settle with `kbridge sync resolve {id} --take notion|confluence|FILE`"
        );
    }
    if r.waiting > 0 {
        println!(
            "  {} pages wait for an open conflict to be resolved.",
            r.waiting
        );
    }
    for e in &r.errors {
        eprintln!("  error: {e}");
    }
}

/// One pass of every named link; whether all passed without failures or conflicts.
async fn pass_all(cx: &SyncContext<'_>, names: &[String], json: bool) -> Result<bool> {
    let mut ok = true;
    for name in names {
        let run = cx.store.start_run(&format!("sync {name}")).await?;
        let alive = cx.store.keep_run_alive(run);
        let r = sync::run_pass(cx, name, now_ms()).await;
        drop(alive);
        let end = match &r {
            Ok(rep) => kb_store::RunEnd {
                status: if rep.errors.is_empty() {
                    kb_store::RunStatus::Succeeded
                } else {
                    kb_store::RunStatus::Failed
                },
                counts: serde_json::json!({
                    "checked": rep.checked, "to_notion": rep.to_notion,
                    "to_confluence": rep.to_confluence, "merged": rep.merged,
                    "conflicts": rep.conflicts.len(),
                    "created_in_notion": rep.created_in_notion,
                    "created_in_confluence": rep.created_in_confluence,
                }),
                requests: serde_json::to_value(&rep.requests)?,
                errors: serde_json::to_value(&rep.errors)?,
            },
            Err(e) => kb_store::RunEnd {
                status: kb_store::RunStatus::Failed,
                counts: serde_json::json!({}),
                requests: serde_json::json!({}),
                errors: serde_json::json!([e.to_string()]),
            },
        };
        cx.store.finish_run(run, &end).await?;
        let r = r.with_context(|| format!("sync run of link {name}"))?;
        ok &= r.errors.is_empty() && r.conflicts.is_empty() && r.waiting == 0;
        if json {
            println!("{}", serde_json::to_string(&r)?);
        } else {
            print_pass(&r);
        }
    }
    Ok(ok)
}

fn run_once(a: RunArgs) -> Result<bool> {
    let cl = clients(&a.conn, "sync run")?;
    runtime()?.block_on(async {
        let store = open(&cl.store_url).await?;
        let cx = context(&cl, &store);
        let names = link_names(&store, &a.name).await?;
        let r = tokio::select! {
            r = pass_all(&cx, &names, a.json) => r,
            signal = crate::extract::stop_signal() => {
                store.interrupt_own_runs(&format!("interrupted by {signal}")).await?;
                Err(anyhow::anyhow!("interrupted by {signal}: every page written so far is recorded; run `kbridge sync run` again to continue"))
            }
        };
        store.close().await;
        r
    })
}

/// Webhook secrets and the wake-up for `watch`.
struct Receivers {
    /// The integration's bot: events only it authored are kbridge's own writes.
    bot_id: Option<String>,
    notion_token: std::sync::Mutex<Option<SecretString>>,
    confluence_secret: Option<SecretString>,
    wake: tokio::sync::Notify,
    /// A verified event said a page moved, was trashed or restored: the next pass reconciles.
    structural: std::sync::atomic::AtomicBool,
}

fn env_secret(name: &str) -> Option<SecretString> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(SecretString::from)
}

async fn receive(
    rx: Arc<Receivers>,
    kind: &'static str,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    use axum::http::StatusCode;
    use kb_engine::sync::signals::{self, Delivery};
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let got = match kind {
        "notion" => {
            let token = rx
                .notion_token
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            signals::notion(&body, h("x-notion-signature"), token.as_ref())
        }
        "confluence" => signals::confluence_automation(
            &body,
            h(signals::AUTOMATION_SECRET_HEADER),
            rx.confluence_secret.as_ref(),
        ),
        _ => signals::confluence_dc(&body, h("x-hub-signature"), rx.confluence_secret.as_ref()),
    };
    match got {
        Ok(Delivery::Verification { token }) => {
            use secrecy::ExposeSecret as _;
            // Shown once to the operator, who pastes it into Notion's UI; never logged.
            eprintln!(
                "Notion webhook verification token: {} — paste it into the subscription in Notion, and set KBRIDGE_NOTION_WEBHOOK_TOKEN to it for later runs.",
                token.expose_secret()
            );
            *rx.notion_token.lock().unwrap_or_else(|e| e.into_inner()) = Some(token);
            StatusCode::OK
        }
        Ok(Delivery::Hints(h)) => {
            let own = rx
                .bot_id
                .as_deref()
                .is_some_and(|bot| h.iter().all(|x| x.is_own_echo(bot)));
            if own {
                tracing::debug!(
                    service = kind,
                    "webhook: kbridge's own write, no pass needed"
                );
            } else {
                tracing::info!(service = kind, hints = h.len(), "webhook: a pass is due");
                if h.iter().any(|x| x.is_structural()) {
                    rx.structural
                        .store(true, std::sync::atomic::Ordering::SeqCst);
                }
                rx.wake.notify_one();
            }
            StatusCode::OK
        }
        Err(e) => {
            tracing::warn!(service = kind, error = %e, "webhook refused; nothing processed");
            StatusCode::UNAUTHORIZED
        }
    }
}

fn watch(a: WatchArgs) -> Result<bool> {
    if a.interval == 0 {
        bail!("--interval must be at least 1 second");
    }
    let cl = clients(&a.conn, "sync watch")?;
    runtime()?.block_on(async {
        let store = open(&cl.store_url).await?;
        let names = link_names(&store, &a.name).await?;
        let bot_id = match cl.notion.me().await {
            Ok(u) => Some(kb_engine::sync::signals::normalise_id(&u.id)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot learn the integration's bot id; every Notion event wakes a pass");
                None
            }
        };
        let rx = Arc::new(Receivers {
            bot_id,
            notion_token: std::sync::Mutex::new(env_secret("KBRIDGE_NOTION_WEBHOOK_TOKEN")),
            confluence_secret: env_secret("KBRIDGE_CONFLUENCE_WEBHOOK_SECRET"),
            wake: tokio::sync::Notify::new(),
            structural: std::sync::atomic::AtomicBool::new(false),
        });
        if let Some(addr) = &a.listen {
            use axum::routing::post;
            let route = |kind: &'static str| {
                let rx = rx.clone();
                post(move |headers, body| receive(rx.clone(), kind, headers, body))
            };
            let app = axum::Router::new()
                .route("/webhooks/notion", route("notion"))
                .route("/webhooks/confluence", route("confluence"))
                .route("/webhooks/confluence-dc", route("confluence-dc"));
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            let bound = listener
                .local_addr()
                .with_context(|| format!("cannot listen on {addr}"))?;
            eprintln!(
                "webhook receivers on http://{bound}/webhooks/{{notion,confluence,confluence-dc}}"
            );
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!(error = %e, "the webhook receivers stopped");
                }
            });
        }
        let cx = context(&cl, &store);
        let stop = crate::extract::stop_signal();
        tokio::pin!(stop);
        loop {
            // A pass is never cut: the stop signal is looked at between passes.
            if rx.structural.swap(false, std::sync::atomic::Ordering::SeqCst) {
                for n in &names {
                    if let Err(e) = sync::reconcile_soon(&store, n).await {
                        eprintln!("error: sync link {n}: {e:#}");
                    }
                }
            }
            if let Err(e) = pass_all(&cx, &names, false).await {
                eprintln!("error: {e:#}");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(a.interval)) => {}
                _ = rx.wake.notified() => {}
                signal = &mut stop => {
                    eprintln!("stopped by {signal}");
                    break;
                }
            }
        }
        store.close().await;
        Ok(true)
    })
}

fn status(a: StatusArgs) -> Result<bool> {
    let url = store_only(&a.store, &a.config)?;
    let st = runtime()?.block_on(async {
        let store = open(&url).await?;
        let r = sync::status(&store).await;
        store.close().await;
        r.context("sync status")
    })?;
    if a.json {
        println!("{}", serde_json::to_string(&st)?);
    } else if st.is_empty() {
        println!("No sync links in this store; make one with `kbridge sync init`.");
    } else {
        for l in &st {
            println!(
                "{}: Notion {} ⇄ Confluence {} page {} ({:?}), {} pairs, {} open conflicts, {} passes, last polls: Notion {}, Confluence {}",
                l.name,
                l.notion_root,
                l.space_key,
                l.confluence_root,
                l.policy,
                l.pairs,
                l.open_conflicts,
                l.passes,
                l.last_notion_poll.as_deref().unwrap_or("never"),
                l.last_confluence_poll.as_deref().unwrap_or("never"),
            );
        }
    }
    Ok(true)
}

fn conflicts(a: ConflictsArgs) -> Result<bool> {
    let url = store_only(&a.store, &a.config)?;
    let list = runtime()?.block_on(async {
        let store = open(&url).await?;
        let r = sync::conflicts(&store, a.name.as_deref(), !a.all).await;
        store.close().await;
        r.context("sync conflicts")
    })?;
    if a.json {
        println!("{}", serde_json::to_string(&list)?);
        return Ok(true);
    }
    if list.is_empty() {
        println!("No open conflicts.");
    }
    for c in &list {
        println!(
            "conflict {} (link {}, Notion page {}, Confluence page {}, {}){}",
            c.id,
            c.link,
            c.notion_id,
            c.confluence_id,
            c.created_at,
            c.resolved
                .as_deref()
                .map(|r| format!(" — resolved: {r}"))
                .unwrap_or_default()
        );
        let diff = similar::TextDiff::from_lines(&c.notion, &c.confluence);
        println!("--- notion\n+++ confluence");
        print!("{}", diff.unified_diff().context_radius(2));
    }
    Ok(true)
}

fn resolve(a: ResolveArgs) -> Result<bool> {
    let take = match a.take.as_str() {
        "notion" => Take::Notion,
        "confluence" => Take::Confluence,
        file => {
            let text = std::fs::read_to_string(file).with_context(|| {
                format!("--take {file}: not notion, confluence, or a readable Markdown file")
            })?;
            Take::Document(kb_doc::markdown::read(&text))
        }
    };
    let cl = clients(&a.conn, "sync resolve")?;
    let r = runtime()?.block_on(async {
        let store = open(&cl.store_url).await?;
        let cx = context(&cl, &store);
        let r = sync::resolve(&cx, a.id, take, now_ms()).await;
        store.close().await;
        r.context("sync resolve")
    })?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "conflict {} settled: written to Notion {}, to Confluence {}.",
            a.id, r.to_notion, r.to_confluence
        );
    }
    Ok(true)
}

fn remove(a: RemoveArgs) -> Result<bool> {
    let url = store_only(&a.store, &a.config)?;
    let removed = runtime()?.block_on(async {
        let store = open(&url).await?;
        let r = store.delete_sync_link(&a.name).await;
        store.close().await;
        r.context("sync remove")
    })?;
    if !removed {
        bail!("there is no sync link \"{}\" in this store", a.name);
    }
    println!(
        "sync link \"{}\" removed (neither service was touched).",
        a.name
    );
    Ok(true)
}
