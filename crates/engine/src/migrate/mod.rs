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
    /// Requests by service.
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
