//! kb-doc's single integration-test binary (one binary per crate keeps link time down).

mod corpus;
mod ir_json;
mod lenient;
mod markdown;
mod notion;
mod notion_writer;
mod robustness;
mod snapshots;
mod storage;
mod support;
mod xmlnorm;
