//! kb-sim's integration tests (one test binary): real HTTP over loopback against twins started
//! in-process on `127.0.0.1:0`, with a real client (reqwest, plain HTTP).

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing, with its place

mod auth;
mod contract;
mod cql;
mod dc_contract;
mod dc_python;
mod dc_rpc;
mod edits;
mod faults;
mod files;
mod generator;
mod notion_admin;
mod notion_api;
mod notion_blocks;
mod notion_extra;
mod notion_files;
mod notion_limits;
mod notion_pagination;
mod notion_query;
mod notion_schema;
mod notion_sdk;
mod notion_support;
mod pagination;
mod py_loaders;
mod python_client;
mod representations;
mod support;
mod v1;
mod v1_writes;
mod webhooks;
mod writes;
