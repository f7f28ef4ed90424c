//! `kbridge migrate`: whole trees between Notion and Confluence.
//!
//! Notion → Confluence reads the Notion tree (pages, nested subpages, databases and their rows)
//! into the IR, decides every page's Confluence title first (titles are unique in a space, and
//! storage-format links name pages by title), resolves links and files against that plan, and
//! writes each page once, parents before children. Each step's outcome is committed to the store
//! with the page (the id map and a per-page checkpoint), so a re-run writes only what changed and
//! a killed run resumes without duplicates.
//!
//! Confluence → Notion ([`c2n`]) creates every Notion page first (title only, parents first),
//! then writes each body through an append plan with links resolved to the Notion pages and the
//! attachments it uses uploaded; its per-page state lives in the store the same way.

pub mod c2n;
pub mod n2c;
mod runlog;
pub mod source;
pub mod transform;
pub mod verify;
mod words;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use c2n::{ConfluenceToNotion, NotionPageState, PlannedNotionPage};
pub use n2c::{NotionToConfluence, PageState};
pub use source::NodeKind;

/// What went wrong, for the whole run (a single page's failure is in [`MigrateReport::errors`]).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Notion(#[from] kb_notion::NotionError),
    #[error(transparent)]
    Confluence(#[from] kb_confluence::ConfluenceError),
    #[error(transparent)]
    Http(#[from] kb_http::HttpError),
    #[error(transparent)]
    Store(#[from] kb_store::StoreError),
    #[error("{0}")]
    Input(String),
    #[error("file \"{name}\" of page \"{page}\": {message}")]
    File {
        name: String,
        page: String,
        message: String,
    },
}

/// What happened to one page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PageOutcome {
    Created,
    Updated,
    Unchanged,
    Conflict,
}

/// Progress of a migration.
#[derive(Clone, Debug)]
pub enum MigrateProgress {
    /// Reading the source tree.
    Reading,
    /// The source tree is read.
    Read { pages: usize },
    /// A page is done.
    Page { title: String, outcome: PageOutcome },
}

pub type ProgressFn = Arc<dyn Fn(&MigrateProgress) + Send + Sync>;

impl PageOutcome {
    /// Its name in logs and JSON (`created`, `updated`, `unchanged`, `conflict`).
    pub fn as_str(self) -> &'static str {
        match self {
            PageOutcome::Created => "created",
            PageOutcome::Updated => "updated",
            PageOutcome::Unchanged => "unchanged",
            PageOutcome::Conflict => "conflict",
        }
    }
}

impl MigrateProgress {
    /// The step as an event of the job's one stream ([`crate::events`]): reading the source
    /// is a phase, each page a `page_done`.
    pub fn event(&self) -> crate::events::Event {
        use crate::events::Event;
        match self {
            MigrateProgress::Reading => Event::Phase {
                what: "reading the source tree".into(),
            },
            MigrateProgress::Read { pages } => Event::PhaseDone {
                what: format!("reading the source tree ({pages} pages)"),
            },
            MigrateProgress::Page { title, outcome } => Event::Page {
                title: title.clone(),
                outcome: outcome.as_str().into(),
            },
        }
    }
}

/// A page of a `--plan`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PlannedPage {
    pub notion_id: String,
    pub kind: NodeKind,
    /// Its title in Confluence.
    pub title: String,
    /// Levels below the root.
    pub depth: usize,
    pub files: usize,
    /// Links to other migrated pages.
    pub links: usize,
    /// The Confluence page it is already migrated to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exists: Option<String>,
}

/// What a migration did (or, with `--plan`, would do).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct MigrateReport {
    /// The run's row in the store's `runs` (none for `--plan`, which writes nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
    /// Pages (and databases and rows) in the source tree.
    pub pages: usize,
    pub created: usize,
    pub updated: usize,
    /// Pages found again after a create whose answer was lost.
    pub adopted: usize,
    /// Files attached.
    pub files: usize,
    /// Write requests sent.
    pub writes: usize,
    /// Links resolved to migrated pages.
    pub links: usize,
    /// Links to Notion pages outside the migrated tree (kept as Notion URLs).
    pub external_links: usize,
    /// What the writer rendered approximately, by IR node kind.
    pub fallbacks: BTreeMap<String, usize>,
    /// This job's requests by service (`notion`, `notion_files`, `confluence`); per endpoint,
    /// with 429s and retries, in its `runs` row.
    pub requests: BTreeMap<String, u64>,
    /// Source id → target id, for every page migrated.
    pub ids: BTreeMap<String, String>,
    /// The plan (`--plan` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<PlannedPage>,
    /// The plan of a Confluence → Notion migration (`--plan` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notion_plan: Vec<PlannedNotionPage>,
    /// Requests a run would send, by kind (Confluence → Notion `--plan` only).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub estimated_requests: BTreeMap<String, u64>,
    pub conflicts: Vec<String>,
    pub errors: Vec<String>,
    /// Malformed source markup read leniently, per page and place (the page was migrated with
    /// what could be read: unclosed elements closed, stray end tags dropped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recoveries: Vec<String>,
}

/// Runs `job` (a migration) between its `runs` row's start and end (no row for `--plan`), with
/// the report's requests counted for this job alone.
pub(crate) async fn recorded<F>(
    store: &kb_store::Store,
    name: &str,
    notion: &kb_notion::Notion,
    conf: &kb_confluence::Confluence,
    plan_only: bool,
    job: F,
) -> Result<MigrateReport, MigrateError>
where
    F: std::future::Future<Output = Result<MigrateReport, MigrateError>>,
{
    let start = runlog::Counters::now(notion, conf);
    let log = if plan_only {
        None
    } else {
        Some(runlog::RunLog::start(store, name, notion, conf).await?)
    };
    let outcome = job.await;
    let requests = start.since(notion, conf);
    let Some(log) = log else {
        return outcome.map(|mut r| {
            r.requests = requests.totals();
            r
        });
    };
    match outcome {
        Ok(mut r) => {
            r.requests = requests.totals();
            r.run_id = Some(log.id);
            let counts = serde_json::json!({
                "pages": r.pages,
                "created": r.created,
                "updated": r.updated,
                "adopted": r.adopted,
                "files": r.files,
                "writes": r.writes,
                "conflicts": r.conflicts.len(),
                "errors": r.errors.len(),
            });
            let notes = r
                .errors
                .iter()
                .map(|e| serde_json::json!(e))
                .chain(
                    r.conflicts
                        .iter()
                        .map(|c| serde_json::json!(format!("conflict: {c}"))),
                )
                .collect();
            log.finish(&requests, counts, notes, !r.errors.is_empty(), None)
                .await?;
            Ok(r)
        }
        Err(e) => {
            // The job's error comes first; a failure to record it is logged.
            if let Err(rec) = log
                .finish(&requests, serde_json::json!({}), Vec::new(), true, Some(&e))
                .await
            {
                tracing::warn!(
                    run = log.id,
                    "the end of the run could not be recorded: {rec}"
                );
            }
            Err(e)
        }
    }
}

/// Runs `job` (a verification) between its `runs` row's start and end.
pub(crate) async fn recorded_verify<F>(
    store: &kb_store::Store,
    name: &str,
    notion: &kb_notion::Notion,
    conf: &kb_confluence::Confluence,
    job: F,
) -> Result<verify::ParityReport, MigrateError>
where
    F: std::future::Future<Output = Result<verify::ParityReport, MigrateError>>,
{
    let log = runlog::RunLog::start(store, name, notion, conf).await?;
    let outcome = job.await;
    let requests = log.requests(notion, conf);
    match outcome {
        Ok(mut r) => {
            r.run_id = Some(log.id);
            r.requests = requests.totals();
            let counts = serde_json::json!({
                "pages": r.summary.pages,
                "present": r.summary.present,
                "text_equal": r.summary.text_equal,
                "structure_equal": r.summary.structure_equal,
                "links": r.summary.links,
                "links_resolved": r.summary.links_resolved,
                "files": r.summary.files,
                "files_attached": r.summary.files_attached,
                "ok": r.ok,
            });
            let notes = r
                .pages
                .iter()
                .filter(|p| !p.ok())
                .map(|p| {
                    serde_json::json!(format!(
                        "{} ({}): {}",
                        p.title,
                        p.notion_id,
                        p.problems.join("; ")
                    ))
                })
                .collect();
            log.finish(&requests, counts, notes, false, None).await?;
            Ok(r)
        }
        Err(e) => {
            if let Err(rec) = log
                .finish(&requests, serde_json::json!({}), Vec::new(), true, Some(&e))
                .await
            {
                tracing::warn!(
                    run = log.id,
                    "the end of the run could not be recorded: {rec}"
                );
            }
            Err(e)
        }
    }
}
