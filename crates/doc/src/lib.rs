//! `kb-doc` is kbridge's document model and its codecs: one pivot representation (the IR in
//! [`ir`]) that every format is read into and written from, like Pandoc's AST, with readers and
//! writers for Confluence storage XML ([`storage`]), Markdown ([`markdown`]) and plain text
//! ([`text`]).
//!
//! This crate must never do I/O, spawn tasks, read a clock or talk to a service: codecs are pure
//! functions from text to IR and back, so they stay fast, fuzzable and property-testable. It must
//! never resolve links against a live system (links stay symbolic), never drop content it does not
//! understand (it becomes an [`ir::Extension`]), and never panic on bad input (readers return an
//! error with a position, or keep the raw input).

pub mod depth;
pub mod error;
pub mod ir;
pub mod ir_json;
pub mod markdown;
pub mod merge;
pub mod notion;
pub mod report;
pub mod storage;
pub mod text;
mod util;
pub mod visit;

pub use error::ReadError;
pub use ir::*;
pub use report::{Fallback, Recovered, Recovery, Written};
