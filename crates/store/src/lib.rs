//! kb-store: where replicated records, id maps, checkpoints and run history live. One `Store`
//! trait, two backends: SQLite (the embedded default, `kbridge.db`) and PostgreSQL, with the same
//! schema and one conformance suite run against both.
//!
//! It must never call an API: it takes records and checkpoints and commits them atomically.
