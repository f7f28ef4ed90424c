//! kb-config's integration tests: parsing, redaction, precedence, checks, the generated docs.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing, with its place

mod config;
