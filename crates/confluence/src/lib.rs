//! kb-confluence: a client for Confluence Cloud (REST v2 and the v1 endpoints still needed:
//! CQL search, groups, restrictions, labels, moves, attachment uploads), its models, and the
//! connection check. It runs every request through kb-http (limiter, retries, pagination).
//!
//! It must never import the store or the engine: it returns typed records and raw JSON.
