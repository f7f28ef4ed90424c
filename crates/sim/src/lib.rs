//! `kb-sim` holds kbridge's API twins: local HTTP servers that answer like Confluence Cloud and
//! Notion, so that tests, benchmarks and `kbridge quickstart` run against something that behaves
//! like the real services without reaching them. It has five parts: deterministic workspace
//! generators ([`generator`] for Confluence, [`notion::generator`] for Notion) that build a site
//! from a seed, with page bodies written from kb-doc IR documents or taken from a corpus; the
//! Confluence Cloud twin ([`confluence`]: REST v2 and the v1 endpoints still needed, cursor
//! pagination, Basic auth, real error bodies, writes with version checks); the Notion twin
//! ([`notion`]: `/v1` with Bearer integration tokens, `Notion-Version` shapes, Notion's cursors,
//! limits and errors, file uploads, a change log); the machinery around them ([`server`]:
//! start-up on loopback, per-endpoint rate limits, a seeded fault plan, request counts, the
//! ground-truth datasets and admin edits under `/__sim`); and [`webhooks`]: events of every
//! change POSTed to registered receivers in the Confluence DC, Confluence Cloud app and Notion
//! shapes, signed, delayed, duplicated or reordered on demand.
//!
//! It must never be a dependency of product code (only of the CLI's `sim`/`quickstart` and of
//! tests), never listen anywhere but where it is told (loopback by default), never reach the
//! network except to POST webhooks to the receivers it was given, never log or echo a
//! request's credentials or a receiver's secret, and never panic on a request: bad input gets
//! the error body the real service would send.

pub mod confluence;
pub mod dc;
pub mod faults;
pub mod files;
pub mod generator;
pub mod model;
pub mod notion;
pub mod ratelimit;
pub mod relevance;
pub mod rng;
pub mod server;
pub mod storage;
pub mod time;
pub mod webhooks;

pub use confluence::Credential;
pub use faults::FaultPlan;
pub use generator::{Corpus, WorkspaceConfig};
pub use notion::{NotionChange, NotionConfig, NotionWorkspaceConfig};
pub use ratelimit::RateLimits;
pub use server::{BackgroundSim, SimConfig, SimError, SimHandle, start};
pub use webhooks::{NotionEventInput, NotionRef, ReceiverConfig, ReceiverKind, Webhooks};
