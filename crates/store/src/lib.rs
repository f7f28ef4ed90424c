//! kb-store: where replicated records, id maps, checkpoints and run history live. One [`Store`],
//! two backends: SQLite (the embedded default, `kbridge.db`) and PostgreSQL, with the same
//! schema — generated from one catalog of tables ([`schema`]) — and one conformance suite run
//! against both.
//!
//! A writer hands the store a [`Batch`]: upserts of objects (their raw JSON plus a context; the
//! typed columns are extracted by the catalog), deletes, replace-sets and checkpoint updates with
//! compare-and-set. A batch is one transaction: the checkpoint is published atomically with the
//! rows it covers (Quickwit's rule), so a killed run resumes from a checkpoint whose data is all
//! there. Upserts are idempotent and an older version of an object never replaces a newer one.
//!
//! It must never call an API, hold a secret or write one (errors show URLs without their
//! password), and never write part of a batch.

mod batch;
mod conn;
mod error;
mod extract;
mod inspect;
mod migrate;
pub mod schema;
mod schema_km;
mod sql;
mod store;
pub mod time;

pub use batch::{
    Batch, CheckpointWrite, CommitSummary, Context, Expect, Filter, IdMapEntry, Op, Row, Within,
};
pub use error::{Conflict, Result, StoreError, redact_url};
pub use inspect::{Existing, inspect};
pub use migrate::SCHEMA_VERSION;
pub use schema::{ColumnDef, ColumnType, Source, TABLES, TableDef};
pub use schema_km::KM_TABLES;
pub use sql::Dialect;
pub use store::{
    AttachmentFile, Checkpoint, DEFAULT_SQLITE_FILE, IdMapped, PgStore, Quarantined, RUN_LEASE,
    Run, RunEnd, RunHeartbeat, RunStatus, SqliteStore, Store, SyncConflictRow, SyncLinkRow,
    SyncPairRow, run_owner,
};
