//! The daemon's errors. None carries a secret: database errors name what was being done and
//! the store without its password; connection errors come from kb-config, which never echoes
//! a value of the file.

/// Why a daemon operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{doing}: {source}")]
    Db {
        doing: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(transparent)]
    Store(#[from] kb_store::StoreError),
    #[error("the store holds something kbridge cannot read: {what}")]
    Corrupt { what: String },
    #[error("{what}: {fix}")]
    Invalid { what: String, fix: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Start(String),
}
