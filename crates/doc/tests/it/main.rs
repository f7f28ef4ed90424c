//! kb-doc's single integration-test binary (one binary per crate keeps link time down).

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing, with its place

mod corpus;
mod depth;
mod ir_json;
mod lenient;
mod markdown;
mod merge;
mod names;
mod notion;
mod notion_golden;
mod notion_names;
mod notion_writer;
mod robustness;
mod snapshots;
mod storage;
mod support;
mod xmlnorm;
