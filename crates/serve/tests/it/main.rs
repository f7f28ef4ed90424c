//! kb-serve's integration tests: the router's routes and their access, the scheduler on a
//! hand-moved clock, the runner hosting extract and migrate against the twins.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing, with its place

mod api;
mod browser;
mod km;
mod runner;
mod scheduler;
mod support;
mod sync;
mod ui;
mod webhooks;
mod workers;
