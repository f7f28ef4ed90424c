//! kb-engine integration tests: jobs against the API twins (real HTTP on loopback) and real
//! stores (SQLite files, and PostgreSQL started by kb-testkit).

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing, with its place

mod extract;
mod extract_dc;
mod files;
mod migrate;
mod migrate_c2n;
mod migrate_dc;
mod migrate_honest;
mod names;
mod odd_bodies;
mod quarantine;
mod support;
mod sync_init;
mod sync_pass;
mod sync_patch;
mod sync_signals;
mod sync_soak;
mod sync_structure;
