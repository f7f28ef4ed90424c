//! kb-config's integration tests: parsing, redaction, precedence, checks, the generated docs.

mod config;
