//! kb-confluence: one connector interface, two flavours: Confluence Cloud (REST v2 and the v1
//! endpoints still needed: CQL search, groups, restrictions, the current user) and Confluence
//! Data Center 7.x–9.x (REST v1 with offsets, `content/scan`, a personal access token or
//! Basic), its configuration, its pacing ([`pacing`]) and the connection check. Jobs ask in
//! their own terms (`content_listing`, `changed_since`, `content_details`…, in `connector`)
//! and the flavour decides the requests; Data Center's objects come back in the store's
//! (Cloud v2) shapes ([`dc`]). It runs every request through kb-http (limiter, retries, pagination) and returns raw
//! `serde_json::Value` objects — the store keeps the raw JSON — with small accessors
//! ([`keys`]) for the keys the engine needs.
//!
//! It must never import the store or the engine, never glue a `next` link onto the `/wiki`
//! base (links resolve against the site origin: the `/wiki/wiki` trap), and never let the API
//! token out: it lives in a `SecretString`, becomes a sensitive header once, and no error,
//! log line or `Debug` output contains it.
//!
//! # Use
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::TryStreamExt;
//! use kb_confluence::{Confluence, ConfluenceConfig, ContentQuery};
//! let site = Confluence::new(ConfluenceConfig::from_env()?)?;
//! let mut pages = site.pages(&ContentQuery::in_spaces(&["65537"]).with_body())?.pages();
//! while let Some(page) = pages.try_next().await? {
//!     // store page.items and page.next (the resume token) in one transaction
//! }
//! # Ok(()) }
//! ```

mod check;
mod client;
mod config;
mod connector;
pub mod cql;
pub mod dc;
mod dc_write;
pub mod keys;
pub mod pacing;
mod space_perms;
mod write;

pub use check::{CheckError, CheckReport};
pub use client::{
    Confluence, ConfluenceError, ContentKind, ContentQuery, Listing, Normalise, SEARCH_EXPAND,
    V1_GROUP_LIMIT, V1_SEARCH_LIMIT, V2_LIMIT,
};
pub use config::{
    AuthScheme, ConfigError, ConfluenceConfig, ENV_EMAIL, ENV_FLAVOUR, ENV_PASSWORD, ENV_PAT,
    ENV_TOKEN, ENV_URL, ENV_USERNAME, Flavour, MEDIA_ORIGINS, NO_CEILING, SiteUrl,
};
pub use connector::{
    DC_LIMIT, Details, FolderInfo, ServerInfo, SpaceList, SpaceRef, Wanted, cql_type, version_tuple,
};
pub use cql::CqlQuery;
pub use kb_http;
pub use space_perms::{PermissionSource, SpacePermissions, dc_permission_operation};
pub use write::{NewPage, PageUpdate, Upload};
