//! kb-engine: the jobs. `extract` replicates Confluence into the store along an endpoint plan
//! (parents before children, bulk endpoints before per-item ones), committing each batch with
//! its checkpoint. `migrate` moves trees between Notion and Confluence; `sync` (being built) keeps
//! them equal. Later: `km`.
//!
//! It wires clients to the store; it must never speak HTTP itself or write SQL.

pub mod connect;
pub mod events;
pub mod extract;
pub mod migrate;
pub mod sync;
