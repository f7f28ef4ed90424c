//! kb-notion: a client for the Notion API on kb-http — a pinned `Notion-Version` (2025-09-03 by
//! default, 2022-06-28 selectable), the Bearer token from `NOTION_TOKEN`, Notion's 3 requests/s
//! with `Retry-After` honoured, cursor pagination, whole block trees, databases (data sources)
//! and their rows, property values beyond the 25 references page retrieval gives, file
//! downloads and uploads, and the execution of the codec's append plans
//! ([`kb_doc::notion::plan`]). It reuses the codec's models ([`kb_doc::notion::model`]) rather
//! than defining its own.
//!
//! It must never import the store or the engine, never send the token anywhere but the API
//! (downloads of signed file URLs go without it), never let the token into an error, a log line
//! or `Debug` output, and never retry a write that may have reached Notion (a create or an
//! append sent twice would duplicate content); reads, queries and property updates are retried.
//!
//! # Use
//!
//! ```no_run
//! # async fn f() -> Result<(), kb_notion::NotionError> {
//! use kb_notion::{Notion, NotionConfig};
//! let notion = Notion::new(NotionConfig::from_env()?)?;
//! let page = notion.page_complete("1f2e3d4c5b6a79888776655443322110").await?;
//! let blocks = notion.block_tree(&page.id).await?;
//! let doc = kb_doc::notion::read_blocks(&blocks);
//! # let _ = doc; Ok(()) }
//! ```

mod check;
mod client;
mod config;
mod error;
mod write;

pub use check::NotionCheck;
pub use client::{MAX_TREE_DEPTH, Notion, PAGE_SIZE, TRUNCATED_AT, dashed, shown_url};
pub use config::{
    DEFAULT_URL, ENV_TOKEN, ENV_URL, ENV_VERSION, NotionConfig, NotionVersion, parse_base_url,
};
pub use error::NotionError;
pub use write::{MAX_FILENAME_BYTES, MAX_SINGLE_PART, NewPage, PlanOutcome, PlanProgress};

pub use kb_doc::notion::model;
pub use kb_http;
