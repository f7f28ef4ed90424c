//! kb-notion against the Notion twin (kb-sim), over real HTTP on loopback: one test binary.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing, with its place

mod errors;
mod limits;
mod reads;
mod support;
mod writes;
