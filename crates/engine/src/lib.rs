//! kb-engine: the jobs. `extract` replicates Confluence into the store along an endpoint plan
//! (parents before children, bulk endpoints before per-item ones), committing each batch with
//! its checkpoint. Later: `migrate`, `sync`, `km`.
//!
//! It wires clients to the store; it must never speak HTTP itself or write SQL.

pub mod extract;
pub mod migrate;
