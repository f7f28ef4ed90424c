//! `extract`: Confluence replicated into the store, incrementally, at the lowest API cost.
//!
//! # How a run goes
//!
//! 1. **Spaces** (one bulk listing), then per space its labels, permissions and properties
//!    (one listing each, on full and `--reconcile` runs).
//! 2. Per space, **pages and blog posts**:
//!    - *first run* (no finished checkpoint): the bulk listing `/pages?space-id=…&status=…
//!      &body-format=storage&limit=250`, each API page committed with its cursor, so a killed
//!      run resumes where it stopped; content the store holds but the listing no longer has was
//!      purged and is deleted (only when the listing ran start to finish in this process);
//!    - *incremental run*: CQL `lastmodified >= high-water mark − overlap` (the overlap covers
//!      the account's time zone: CQL dates are local), deduplicated on (id, version) against
//!      the store; the trashed listing for deletions (and the pages whose parent was trashed,
//!      which Confluence moves up); the changed ids fetched back in bulk by `id=`;
//!    - `--reconcile`: an id sweep (the listing without bodies) finds moves, purges and
//!      anything a window missed.
//! 3. **Details** of content that changed: one `GET /pages/{id}?include-versions&
//!    include-properties&include-labels` per changed page (the dedicated listings only when an
//!    included list says `hasMore`). Whether a page's details are current is read from the
//!    store (its versions table against its version), so this phase needs no checkpoint and
//!    resumes by itself.
//! 4. **Restrictions** from the CQL pass's `restrictions.*` expansion (one request per 250
//!    pages), **ancestors** and **child pages** derived from the parent links (no request).
//! 5. Site-wide bulk listings: **attachments**, **footer and inline comments** (replies find
//!    their container through their root comment), **tasks** (per space), **custom content**
//!    (per configured type), **groups** and their members.
//!
//! Every commit is one store transaction holding rows and checkpoint (compare-and-set), so a
//! `kill -9` at any moment loses nothing that was committed and duplicates nothing.

pub mod plan;

mod content;
mod derive;
mod files;
mod run;
mod site;
mod window;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kb_http::HttpError;
use kb_store::StoreError;
use serde::Serialize;

pub(crate) use files::PROGRESS_TIMEOUT;
pub use run::extract;

/// What to extract and how.
#[derive(Clone, Debug)]
pub struct ExtractOptions {
    /// Space keys to extract (empty: every space the account can read).
    pub spaces: Vec<String>,
    /// Tables to fill (`None`: every table of [`plan::ENDPOINTS`]).
    pub endpoints: Option<BTreeSet<String>>,
    /// Version histories and details are fetched only for content modified at or after this
    /// instant (epoch ms); current objects are replicated whatever their age, since the bulk
    /// listings cost the same. `None`: no bound.
    pub since: Option<i64>,
    /// Ignore finished checkpoints and list everything again (still idempotent).
    pub full: bool,
    /// Sweep ids to find moves and purges, and re-list per-space metadata.
    pub reconcile: bool,
    /// Per-item requests in flight (the site limiter bounds them further).
    pub concurrency: usize,
    /// How far back an incremental CQL window reaches before the high-water mark.
    pub overlap: Duration,
    /// The account's UTC offset in minutes (CQL dates are in the user's time zone).
    pub utc_offset_minutes: i32,
    /// Custom content types to list (`/custom-content?type=…` needs the type).
    pub custom_content_types: Vec<String>,
    /// Download attachment files into this folder (content-addressed, `sha256/ab/abcdef…`).
    pub files: Option<std::path::PathBuf>,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            spaces: Vec::new(),
            endpoints: None,
            since: None,
            full: false,
            reconcile: false,
            concurrency: 4,
            overlap: Duration::from_secs(3600),
            utc_offset_minutes: 0,
            custom_content_types: Vec::new(),
            files: None,
        }
    }
}

impl ExtractOptions {
    /// Whether `table` is selected.
    pub fn wants(&self, table: &str) -> bool {
        self.endpoints.as_ref().is_none_or(|e| e.contains(table))
    }

    /// Whether any of `tables` is selected.
    pub fn wants_any(&self, tables: &[&str]) -> bool {
        tables.iter().any(|t| self.wants(t))
    }
}

/// Something that happened during a run: the job's one event type ([`crate::events`]).
pub use crate::events::Event as Progress;

/// Receives the run's events ([`Progress`]): the clients' and the engine's, one stream.
pub type ProgressFn = crate::events::EventFn;

/// What a run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ExtractReport {
    pub run_id: i64,
    /// Whether any space was read incrementally (else every listing was full).
    pub incremental: bool,
    /// Rows written per table.
    pub rows: BTreeMap<String, u64>,
    /// Rows deleted per table.
    pub deleted: BTreeMap<String, u64>,
    /// Requests per endpoint label (`GET /wiki/api/v2/pages`), as counted by the client.
    pub requests: BTreeMap<String, u64>,
    pub requests_total: u64,
    pub rate_limited: u64,
    pub retries: u64,
    pub wall_seconds: f64,
    /// Attachment files downloaded (`--files`) and their bytes.
    pub files_downloaded: u64,
    pub file_bytes: u64,
    /// Attachment files that could not be downloaded in this run (each also a warning and an
    /// error of the run's row); the next run with `--files` tries them again.
    pub files_failed: Vec<FileFailure>,
    /// What could not be read (the run went on without it).
    pub warnings: Vec<String>,
    /// Records that could not be stored (a bad value): kept in the store's quarantine with
    /// their raw JSON and retried by the next runs; the rest of their batch was stored.
    pub quarantined: Vec<QuarantineNote>,
    /// Quarantined records that stored in this run and left the quarantine.
    pub released: u64,
}

/// An attachment file this run could not download (the run went on without it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileFailure {
    pub attachment_id: String,
    pub reason: String,
}

/// A record this run could not store (see [`kb_store::Store::commit_quarantining`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuarantineNote {
    /// The table (`pages`, `page_versions`…).
    pub table: String,
    /// The object as errors name it (`id=42`).
    pub object: String,
    pub reason: String,
    /// How many commits have tried to store it.
    pub attempts: i64,
}

impl std::fmt::Display for QuarantineNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "quarantined {} {}: {} (attempt {})",
            self.table, self.object, self.reason, self.attempts
        )
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("{doing}: {source}")]
    Http {
        doing: String,
        #[source]
        source: HttpError,
    },
    #[error("{doing}: {source}")]
    Store {
        doing: String,
        #[source]
        source: StoreError,
    },
    #[error("{0}")]
    Input(String),
    /// An attachment file could not be downloaded correctly or written.
    #[error("{0}")]
    Files(String),
}

impl ExtractError {
    pub(crate) fn http(doing: impl Into<String>) -> impl FnOnce(HttpError) -> ExtractError {
        let doing = doing.into();
        move |source| ExtractError::Http { doing, source }
    }

    pub(crate) fn store(doing: impl Into<String>) -> impl FnOnce(StoreError) -> ExtractError {
        let doing = doing.into();
        move |source| ExtractError::Store { doing, source }
    }
}

pub(crate) type Result<T, E = ExtractError> = std::result::Result<T, E>;

/// A table name given to `endpoints` that extract does not fill.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a table kbridge extracts")]
pub struct UnknownEndpoint(pub String);

/// The options of a run from resolved settings (kb-config's `resolve::extract`) and the
/// connection's concurrency; one place for the CLI and the daemon.
pub fn options(
    settings: kb_config::resolve::ExtractSettings,
    full: bool,
    concurrency: usize,
) -> Result<ExtractOptions, UnknownEndpoint> {
    let mut opts = ExtractOptions {
        spaces: settings.spaces,
        full,
        reconcile: settings.reconcile,
        concurrency,
        since: settings.since.map(|t| t.as_millisecond()),
        custom_content_types: settings.custom_content_types,
        files: settings.files,
        utc_offset_minutes: settings.utc_offset_minutes,
        ..ExtractOptions::default()
    };
    if !settings.endpoints.is_empty() {
        let set: BTreeSet<String> = settings.endpoints.into_iter().collect();
        if let Some(e) = set.iter().find(|e| plan::endpoint(e).is_none()) {
            return Err(UnknownEndpoint(e.clone()));
        }
        opts.endpoints = Some(set);
    }
    Ok(opts)
}
