//! The job kinds the daemon hosts, behind one trait: [`JobKind`]. Each kind turns a configured
//! job (`kb_config::Job`, the closed enum of `kbridge.toml`) into a run of the same kb-engine
//! function the CLI calls, and reports counts, requests and errors.
//!
//! Adding a kind (km, sync) means: a variant of `kb_config::Job`, a `struct … ;` implementing
//! [`JobKind`] here (its [`JobKind::kind`] is the variant's `kind` tag), and one line in
//! [`registry`]. The runner, the scheduler, the API and the UI need nothing else.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use kb_config::resolve::{ConfluenceFlags, ExtractFlags, NotionFlags};
use kb_config::{ConfigFile, Env, Job};
use kb_confluence::Confluence;
use kb_engine::migrate::{ConfluenceToNotion, MigrateProgress, MigrateReport, NotionToConfluence};
use kb_notion::Notion;
use kb_search::SearchIndex;
use kb_store::Store;
use serde_json::{Value, json};

/// A boxed future. The engine's futures are not `Send` (its store transactions borrow across
/// awaits in ways the compiler cannot prove `Send`), so the runner drives each run on a
/// blocking thread of the runtime (`Handle::block_on`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Log levels of run logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Where a run writes its log lines: level, object (a table, a page, a space), message.
pub type LogFn = Arc<dyn Fn(Level, Option<&str>, &str) + Send + Sync>;

/// The process environment (or a test's), as kb-config reads it.
pub type EnvFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What a run gets.
pub struct JobContext {
    pub store: Store,
    /// `kbridge.toml` with the connections added through the API.
    pub config: ConfigFile,
    pub env: EnvFn,
    pub now: jiff::Timestamp,
    pub log: LogFn,
    /// The knowledge base's search index (one per process: km jobs write it, km search reads it).
    pub km_index: Arc<KmIndex>,
}

/// The km search index, opened on first use and shared by km runs and km search (a tantivy
/// index has one writer per folder: one daemon process per index folder).
pub struct KmIndex {
    dir: std::path::PathBuf,
    index: tokio::sync::Mutex<Option<SearchIndex>>,
}

impl KmIndex {
    /// The index in `[km] index`, else `kbridge-index` beside a SQLite store, else in the
    /// current folder (as `kbridge km`).
    pub fn for_config(config: &ConfigFile, store_url: &str) -> KmIndex {
        let dir = match config.km.as_ref().and_then(|k| k.index.clone()) {
            Some(d) => d,
            None if !store_url.contains("://") => match std::path::Path::new(store_url).parent() {
                Some(p) => p.join("kbridge-index"),
                None => std::path::PathBuf::from("kbridge-index"),
            },
            None => std::path::PathBuf::from("kbridge-index"),
        };
        KmIndex {
            dir,
            index: tokio::sync::Mutex::new(None),
        }
    }

    /// The index, opened if it is not yet; waits while a km run writes it.
    pub async fn lock(&self) -> Result<tokio::sync::MappedMutexGuard<'_, SearchIndex>, JobError> {
        let mut g = self.index.lock().await;
        if g.is_none() {
            let idx = SearchIndex::open(&self.dir).map_err(|e| {
                JobError(format!("the km search index {}: {e}", self.dir.display()))
            })?;
            *g = Some(idx);
        }
        tokio::sync::MutexGuard::try_map(g, |o| o.as_mut())
            .map_err(|_| JobError("the km search index is not open".into()))
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobOutcome {
    /// Items per table or stream.
    pub counts: Value,
    /// Requests per endpoint or service, with `rate_limited` and `retries` where known.
    pub requests: Value,
    /// What failed (pages with their ids, …); non-empty means the run failed.
    pub errors: Vec<String>,
    /// The engine's own run id in the store's `runs` table, if it keeps one.
    pub store_run: Option<i64>,
}

/// Why a run could not run at all (a bad connection, an unreachable service…).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JobError(pub String);

/// A kind of job the daemon can run.
pub trait JobKind: Send + Sync {
    /// The `kind` tag of the job in `kbridge.toml` (`extract`, `migrate_notion_to_confluence`…).
    fn kind(&self) -> &'static str;
    /// Runs `job` (always of this kind). Dropping the future stops the run at its last
    /// committed checkpoint (the engine commits each batch with its checkpoint).
    fn run<'a>(
        &'a self,
        job: &'a Job,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, Result<JobOutcome, JobError>>;
}

/// The `kind` tag of a job.
pub fn kind_of(job: &Job) -> &'static str {
    match job {
        Job::Extract(_) => "extract",
        Job::MigrateNotionToConfluence(_) => "migrate_notion_to_confluence",
        Job::MigrateConfluenceToNotion(_) => "migrate_confluence_to_notion",
        Job::Km(_) => "km",
        Job::Sync(_) => "sync",
    }
}

/// Every kind the daemon hosts.
pub fn registry() -> Vec<Box<dyn JobKind>> {
    vec![
        Box::new(Extract),
        Box::new(NotionToConfluenceKind),
        Box::new(ConfluenceToNotionKind),
        Box::new(KmKind),
        Box::new(SyncKind),
    ]
}

/// The kind that runs `job`.
pub fn kind_for<'r>(registry: &'r [Box<dyn JobKind>], job: &Job) -> Option<&'r dyn JobKind> {
    let k = kind_of(job);
    registry.iter().find(|r| r.kind() == k).map(|b| b.as_ref())
}

/// A client's request events into the run log: 429 pauses, retries, near-limit answers and
/// give-ups as info lines naming the endpoint; routine answers only in the run's counts. Each is
/// also logged once on the daemon's own log.
fn http_log(log: LogFn) -> kb_confluence::kb_http::EventCallback {
    Arc::new(move |e: &kb_confluence::kb_http::Event| {
        e.log();
        if let Some(line) = e.summary() {
            log(Level::Info, None, &line);
        }
    })
}

pub(crate) fn confluence(
    ctx: &JobContext,
    name: Option<&str>,
) -> Result<(Confluence, usize), JobError> {
    let env = ctx.env.clone();
    let get = move |k: &str| env(k);
    let (cfg, _) = kb_engine::connect::confluence(
        &ctx.config,
        name,
        &ConfluenceFlags::default(),
        &Env::new(&get),
    )
    .map_err(|e| {
        JobError(format!(
            "the Confluence connection {:?}: {e}",
            name.unwrap_or("confluence")
        ))
    })?;
    let concurrency = cfg.concurrency;
    let c = Confluence::build(cfg, Some(http_log(ctx.log.clone()))).map_err(|e| {
        JobError(format!(
            "the Confluence connection {:?}: {e}",
            name.unwrap_or("confluence")
        ))
    })?;
    Ok((c, concurrency))
}

pub(crate) fn notion(ctx: &JobContext, name: Option<&str>) -> Result<Notion, JobError> {
    let env = ctx.env.clone();
    let get = move |k: &str| env(k);
    let cfg =
        kb_engine::connect::notion(&ctx.config, name, &NotionFlags::default(), &Env::new(&get))
            .map_err(|e| {
                JobError(format!(
                    "the Notion connection {:?}: {e}",
                    name.unwrap_or("notion")
                ))
            })?;
    Notion::with_events(cfg, http_log(ctx.log.clone())).map_err(|e| {
        JobError(format!(
            "the Notion connection {:?}: {e}",
            name.unwrap_or("notion")
        ))
    })
}

/// `kind = "extract"`: `kb_engine::extract::extract`, as `kbridge extract confluence`.
pub struct Extract;

impl JobKind for Extract {
    fn kind(&self) -> &'static str {
        "extract"
    }

    fn run<'a>(
        &'a self,
        job: &'a Job,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, Result<JobOutcome, JobError>> {
        Box::pin(async move {
            let Job::Extract(j) = job else {
                return Err(JobError(format!("not an extract job: {}", kind_of(job))));
            };
            let (client, concurrency) = confluence(ctx, j.connection.as_deref())?;
            let settings = kb_config::resolve::extract(
                &ctx.config,
                Some(j),
                &ExtractFlags::default(),
                ctx.now,
            )
            .map_err(|e| JobError(e.to_string()))?;
            let opts = kb_engine::extract::options(settings, false, concurrency).map_err(|e| {
                JobError(format!(
                    "endpoints: {e}: `kbridge extract confluence --list-endpoints` lists them"
                ))
            })?;
            let log = ctx.log.clone();
            let progress: kb_engine::extract::ProgressFn = Arc::new(move |p| {
                use kb_engine::extract::Progress;
                match p {
                    Progress::Phase { what } => log(Level::Info, None, &format!("started {what}")),
                    Progress::PhaseDone { what } => {
                        log(Level::Info, None, &format!("finished {what}"))
                    }
                    Progress::Rows {
                        table,
                        added,
                        total,
                    } => log(
                        Level::Info,
                        Some(table),
                        &format!("{added} rows written ({total} in this run)"),
                    ),
                    Progress::Warning { message } => log(Level::Warn, None, message),
                    Progress::FileFailed {
                        attachment_id,
                        reason,
                    } => log(
                        Level::Warn,
                        None,
                        &format!(
                            "the file of attachment {attachment_id} was not downloaded: {reason}"
                        ),
                    ),
                    Progress::Page { title, outcome } => log(Level::Info, Some(title), outcome),
                    // Requests are logged by their client (`http_log`) and counted in the
                    // run's row; stored files in its counts.
                    Progress::Http(_) | Progress::FileStored { .. } => {}
                }
            });
            let r = kb_engine::extract::extract(&client, &ctx.store, &opts, Some(progress))
                .await
                .map_err(|e| JobError(e.to_string()))?;
            let mut requests = json!({
                "total": r.requests_total,
                "rate_limited": r.rate_limited,
                "retries": r.retries,
            });
            requests["by_endpoint"] = json!(r.requests);
            Ok(JobOutcome {
                counts: json!({"rows": r.rows, "deleted": r.deleted, "files_downloaded": r.files_downloaded, "warnings": r.warnings.len()}),
                requests,
                errors: Vec::new(),
                store_run: Some(r.run_id),
            })
        })
    }
}

fn migrate_outcome(r: MigrateReport) -> JobOutcome {
    let unchanged = r
        .pages
        .saturating_sub(r.created + r.updated + r.errors.len() + r.conflicts.len());
    let mut errors = r.errors.clone();
    errors.extend(r.conflicts.iter().map(|c| format!("conflict: {c}")));
    JobOutcome {
        counts: json!({
            "pages": r.pages, "created": r.created, "updated": r.updated, "unchanged": unchanged,
            "adopted": r.adopted, "files": r.files, "links": r.links, "external_links": r.external_links,
        }),
        requests: json!({"by_service": r.requests, "writes": r.writes}),
        errors,
        store_run: None,
    }
}

fn migrate_progress(log: LogFn) -> kb_engine::migrate::ProgressFn {
    Arc::new(move |p: &MigrateProgress| match p {
        MigrateProgress::Reading => log(Level::Info, None, "reading the source tree"),
        MigrateProgress::Read { pages } => {
            log(Level::Info, None, &format!("{pages} pages read; writing"))
        }
        MigrateProgress::Page { title, outcome } => log(Level::Info, Some(title), outcome.as_str()),
    })
}

/// `kind = "migrate_notion_to_confluence"`: `kb_engine::migrate::n2c::run`.
pub struct NotionToConfluenceKind;

impl JobKind for NotionToConfluenceKind {
    fn kind(&self) -> &'static str {
        "migrate_notion_to_confluence"
    }

    fn run<'a>(
        &'a self,
        job: &'a Job,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, Result<JobOutcome, JobError>> {
        Box::pin(async move {
            let Job::MigrateNotionToConfluence(j) = job else {
                return Err(JobError(format!(
                    "not a Notion → Confluence job: {}",
                    kind_of(job)
                )));
            };
            let n = notion(ctx, j.notion.as_deref())?;
            let (c, _) = confluence(ctx, j.confluence.as_deref())?;
            let from = j
                .from
                .iter()
                .map(|f| {
                    kb_engine::migrate::transform::notion_url_id(f)
                        .or_else(|| kb_engine::migrate::transform::norm_id(f))
                        .ok_or_else(|| JobError(format!("from {f:?} is not a Notion page or database id: give the 32-character id or the page's URL")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let opts = NotionToConfluence {
                from,
                space: j.space.clone(),
                parent: j.parent.clone(),
                plan_only: false,
                force: false,
            };
            let r = kb_engine::migrate::n2c::run(
                &ctx.store,
                &n,
                &c,
                &opts,
                Some(migrate_progress(ctx.log.clone())),
            )
            .await
            .map_err(|e| JobError(e.to_string()))?;
            Ok(migrate_outcome(r))
        })
    }
}

/// `kind = "migrate_confluence_to_notion"`: `kb_engine::migrate::c2n::run`.
pub struct ConfluenceToNotionKind;

impl JobKind for ConfluenceToNotionKind {
    fn kind(&self) -> &'static str {
        "migrate_confluence_to_notion"
    }

    fn run<'a>(
        &'a self,
        job: &'a Job,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, Result<JobOutcome, JobError>> {
        Box::pin(async move {
            let Job::MigrateConfluenceToNotion(j) = job else {
                return Err(JobError(format!(
                    "not a Confluence → Notion job: {}",
                    kind_of(job)
                )));
            };
            if j.space.is_some() == j.page.is_some() {
                return Err(JobError("give one of `space` and `page`".into()));
            }
            let n = notion(ctx, j.notion.as_deref())?;
            let (c, _) = confluence(ctx, j.confluence.as_deref())?;
            let opts = ConfluenceToNotion {
                space: j.space.clone(),
                page: j.page.clone(),
                to: j.to.clone(),
                plan_only: false,
                force: false,
            };
            let r = kb_engine::migrate::c2n::run(
                &ctx.store,
                &n,
                &c,
                &opts,
                Some(migrate_progress(ctx.log.clone())),
            )
            .await
            .map_err(|e| JobError(e.to_string()))?;
            Ok(migrate_outcome(r))
        })
    }
}

/// `kind = "km"` (and each `[[km.jobs]]`): `kb_km::sync`, as `kbridge km sync`, with the
/// `[km]` configuration. A run with any failed item fails.
pub struct KmKind;

impl JobKind for KmKind {
    fn kind(&self) -> &'static str {
        "km"
    }

    fn run<'a>(
        &'a self,
        job: &'a Job,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, Result<JobOutcome, JobError>> {
        Box::pin(async move {
            let Job::Km(j) = job else {
                return Err(JobError(format!("not a km job: {}", kind_of(job))));
            };
            let permissions = match j.what.as_deref() {
                None | Some("content") => false,
                Some("permissions") => true,
                Some(w) => {
                    return Err(JobError(format!(
                        "what = {w:?}: use content or permissions"
                    )));
                }
            };
            // No [km] table: km's documented defaults (every field of [km] has one).
            let cfg = match &ctx.config.km {
                Some(k) => k.clone(),
                None => kb_km::KmConfig::default(),
            };
            let (client, _) = confluence(ctx, j.connection.as_deref())?;
            let mut index = ctx.km_index.lock().await?;
            let opts = kb_km::SyncOptions {
                permissions,
                ..kb_km::SyncOptions::default()
            };
            ctx.log.as_ref()(
                Level::Info,
                None,
                if permissions {
                    "started the permission sync"
                } else {
                    "started the incremental pass (extract, then import)"
                },
            );
            let r = kb_km::sync(&client, &ctx.store, &mut index, &cfg, &opts).await;
            drop(index);
            let r = r.map_err(|e| JobError(e.to_string()))?;
            // The integration log's warnings and errors, into the run's log.
            let lines = kb_km::log::read(&ctx.store, Some(r.run_id), Some("warn"))
                .await
                .map_err(|e| JobError(format!("the km log of run {}: {e}", r.run_id)))?;
            for l in &lines {
                let level = if l.level == "error" {
                    Level::Error
                } else {
                    Level::Warn
                };
                let msg = if l.hint.is_empty() {
                    l.message.clone()
                } else {
                    format!("{} ({})", l.message, l.hint)
                };
                ctx.log.as_ref()(level, Some(&l.object), &msg);
            }
            let c = &r.counts;
            let mut errors: Vec<String> = lines
                .iter()
                .filter(|l| l.level == "error")
                .map(|l| format!("{}: {}", l.object, l.message))
                .collect();
            if (c.failed > 0 || r.status != "succeeded") && errors.is_empty() {
                errors.push(format!(
                    "km run {} {}: {} items failed (kbridge km logs --run {})",
                    r.run_id, r.status, c.failed, r.run_id
                ));
            }
            Ok(JobOutcome {
                counts: json!({
                    "added": c.added, "updated": c.updated, "deleted": c.deleted,
                    "skipped": c.skipped_by_filter, "failed": c.failed,
                    "unchanged": c.unchanged, "closed": c.closed,
                }),
                requests: json!({
                    "total": r.requests,
                    "extract_run": r.extract_run_id,
                    "by_endpoint": r.extract_requests,
                }),
                errors,
                store_run: Some(r.run_id),
            })
        })
    }
}

/// `kind = "sync"`: `kb_engine::sync::run_pass` for each link, as `kbridge sync run`. A pass
/// with a failed page or a new conflict fails (the conflict waits for its resolve button).
pub struct SyncKind;

impl JobKind for SyncKind {
    fn kind(&self) -> &'static str {
        "sync"
    }

    fn run<'a>(
        &'a self,
        job: &'a Job,
        ctx: &'a JobContext,
    ) -> BoxFuture<'a, Result<JobOutcome, JobError>> {
        Box::pin(async move {
            let Job::Sync(j) = job else {
                return Err(JobError(format!("not a sync job: {}", kind_of(job))));
            };
            let n = notion(ctx, j.notion.as_deref())?;
            let (c, _) = confluence(ctx, j.confluence.as_deref())?;
            let links = if j.links.is_empty() {
                let all: Vec<String> = ctx
                    .store
                    .sync_links()
                    .await
                    .map_err(|e| JobError(format!("the sync links: {e}")))?
                    .into_iter()
                    .map(|l| l.name)
                    .collect();
                if all.is_empty() {
                    return Err(JobError(
                        "there is no sync link in this store: make one with `kbridge sync init`"
                            .into(),
                    ));
                }
                all
            } else {
                j.links.clone()
            };
            let cx = kb_engine::sync::SyncContext {
                store: &ctx.store,
                notion: &n,
                confluence: &c,
            };
            let mut counts = serde_json::Map::new();
            let mut requests = serde_json::Map::new();
            let mut errors = Vec::new();
            for name in &links {
                ctx.log.as_ref()(Level::Info, Some(name), "pass started");
                match kb_engine::sync::run_pass(&cx, name, ctx.now.as_millisecond()).await {
                    Ok(r) => {
                        counts.insert(
                            name.clone(),
                            json!({
                                "checked": r.checked, "to_notion": r.to_notion,
                                "to_confluence": r.to_confluence, "merged": r.merged,
                                "conflicts": r.conflicts.len(), "waiting": r.waiting,
                                "created_in_notion": r.created_in_notion,
                                "created_in_confluence": r.created_in_confluence,
                            }),
                        );
                        requests.insert(name.clone(), json!(r.requests));
                        for e in &r.errors {
                            ctx.log.as_ref()(Level::Error, Some(name), e);
                            errors.push(format!("{name}: {e}"));
                        }
                        for id in &r.conflicts {
                            let m = format!(
                                "conflict {id}: both sides changed; resolve it on the Sync page"
                            );
                            ctx.log.as_ref()(Level::Warn, Some(name), &m);
                            errors.push(format!("{name}: {m}"));
                        }
                    }
                    Err(e) => {
                        ctx.log.as_ref()(Level::Error, Some(name), &e.to_string());
                        errors.push(format!("{name}: {e}"));
                    }
                }
            }
            Ok(JobOutcome {
                counts: Value::Object(counts),
                requests: Value::Object(requests),
                errors,
                store_run: None,
            })
        })
    }
}
