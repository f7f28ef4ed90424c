//! kb-km integration tests: km against the Confluence twin (real HTTP on loopback) and real
//! stores (SQLite files; PostgreSQL started by kb-testkit).

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing, with its place

mod dc;
mod import;
mod perms;
mod relevance;
mod rules;
mod support;
