//! The store's errors: each names the database (never its password), the object and the fix.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store URL is not one kbridge understands.
    #[error(
        "unsupported store URL {url}: {reason}; use a file path (kbridge.db), sqlite://PATH, \
         sqlite::memory: or postgres://USER@HOST/DATABASE"
    )]
    BadUrl { url: String, reason: String },

    /// The database could not be opened or reached.
    #[error("cannot open the store {db}: {source}; {hint}")]
    Open {
        db: String,
        hint: &'static str,
        #[source]
        source: sqlx::Error,
    },

    /// The database was written by a newer kbridge.
    #[error(
        "the store {db} has schema version {found}, newer than the {known} this kbridge knows: \
         it was written by a newer kbridge; upgrade kbridge (or point --store at another database)"
    )]
    TooNew { db: String, found: i64, known: i64 },

    /// A migration failed; nothing of it was applied.
    #[error("migration {version} ({name}) of the store {db} failed and was rolled back: {source}")]
    Migration {
        db: String,
        version: i64,
        name: &'static str,
        #[source]
        source: sqlx::Error,
    },

    /// A row of a batch is not valid for its table; the whole batch was rejected.
    #[error(
        "bad row for table {table}, object {object}: field {field}: {problem}; the batch was not written"
    )]
    BadRow {
        table: String,
        object: String,
        field: String,
        problem: String,
    },

    /// A batch or a read names a table the catalog does not have.
    #[error("unknown table {table:?}: the store has {known}")]
    UnknownTable { table: String, known: String },

    /// A filter, key or read names a column the table does not have.
    #[error("table {table} has no column {column:?}: it has {known}")]
    UnknownColumn {
        table: String,
        column: String,
        known: String,
    },

    /// A checkpoint's stored value was not the one the batch expected (another writer, or a
    /// replay of an old batch); the whole batch was rolled back.
    #[error(
        "checkpoint conflict on {}/{}: expected {}, found {}; another writer advanced it or this \
         batch is stale: reload the checkpoint and resume from it",
        .0.scope, .0.endpoint, show(&.0.expected), show(&.0.found)
    )]
    CheckpointConflict(Box<Conflict>),

    /// No run with this id.
    #[error("no run {id} in the store {db}")]
    UnknownRun { db: String, id: i64 },

    /// Any other database failure.
    #[error("store {db}: {doing} failed: {source}")]
    Db {
        db: String,
        doing: String,
        #[source]
        source: sqlx::Error,
    },

    /// A value read back from the database is not what the store wrote (a hand-edited row).
    #[error("store {db}: {what}")]
    Corrupt { db: String, what: String },
}

/// The two sides of a [`StoreError::CheckpointConflict`].
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub scope: String,
    pub endpoint: String,
    /// `None`: the batch expected no checkpoint.
    pub expected: Option<Value>,
    /// `None`: there was none.
    pub found: Option<Value>,
}

fn show(v: &Option<Value>) -> String {
    match v {
        None => "no checkpoint".to_string(),
        Some(v) => v.to_string(),
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// `url` without its password (`postgres://user:secret@host/db` → `postgres://user@host/db`, a
/// `password=` query parameter dropped).
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{user}@{host}")
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| {
                    let k = kv.split('=').next().unwrap_or("").to_ascii_lowercase();
                    k != "password" && k != "sslpassword"
                })
                .collect();
            if kept.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_string(),
    };
    match scheme {
        Some(s) => format!("{s}://{authority}{tail}"),
        None => format!("{authority}{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_shown() {
        assert_eq!(
            redact_url("postgres://kb:s3cret@db.example:5432/kb?sslmode=require"),
            "postgres://kb@db.example:5432/kb?sslmode=require"
        );
        assert_eq!(
            redact_url("postgresql://db/kb?user=kb&password=s3cret"),
            "postgresql://db/kb?user=kb"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
        assert_eq!(redact_url("kbridge.db"), "kbridge.db");
        assert_eq!(
            redact_url("postgres://a:b:c@h/d"),
            "postgres://a@h/d",
            "everything after the user is the password"
        );
    }
}
