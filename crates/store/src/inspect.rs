//! Looking at what a store URL holds *without changing it*: no file is created, no migration
//! runs, nothing is written. `quickstart` uses it to refuse a database it did not make before
//! touching it.

use std::path::Path;
use std::str::FromStr;

use sqlx::Row as _;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::error::{Result, StoreError, redact_url};
use crate::schema::{META_TABLES, TABLES};

/// What a store URL points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    /// Nothing there yet (no file).
    Absent,
    /// An empty file or a database without tables.
    Empty,
    /// A kbridge store and nothing else; `marked` tells whether it holds the checkpoint asked
    /// about.
    Kbridge {
        /// The checkpoint `(scope, endpoint)` given to [`inspect`] is there.
        marked: bool,
    },
    /// A database with tables kbridge did not make (listed, at most 10).
    Foreign {
        /// Some of its tables.
        tables: Vec<String>,
    },
}

/// The tables a kbridge store may hold: the catalog, the meta tables, the migrations' own.
fn is_kbridge_table(name: &str) -> bool {
    TABLES.iter().any(|t| t.name == name)
        || META_TABLES.contains(&name)
        || crate::schema_km::KM_TABLES.iter().any(|t| t.name == name)
        || name.starts_with("sqlite_")
}

/// Inspects `url` read-only. `marker` is a checkpoint `(scope, endpoint)` to look for.
pub async fn inspect(url: &str, marker: (&str, &str)) -> Result<Existing> {
    let lower = url.to_ascii_lowercase();
    let open_err = |source: sqlx::Error| StoreError::Open {
        db: redact_url(url),
        hint: "it is not a database kbridge can read",
        source,
    };
    let tables_and_marker = |tables: Vec<String>, marked: bool| {
        if tables.is_empty() {
            Existing::Empty
        } else if tables.iter().any(|t| t == "schema_migrations")
            && tables.iter().all(|t| is_kbridge_table(t))
        {
            Existing::Kbridge { marked }
        } else {
            // Without kbridge's migration table even a table named like one of ours is not ours.
            let ours = tables.iter().any(|t| t == "schema_migrations");
            Existing::Foreign {
                tables: tables
                    .into_iter()
                    .filter(|t| !(t.starts_with("sqlite_") || (ours && is_kbridge_table(t))))
                    .take(10)
                    .collect(),
            }
        }
    };
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        let opts = PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl {
            url: redact_url(url),
            reason: e.to_string(),
        })?;
        let mut c = opts.connect().await.map_err(open_err)?;
        let tables: Vec<String> = sqlx::query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
        )
        .fetch_all(&mut c)
        .await
        .map_err(open_err)?
        .iter()
        // A name that cannot be read must not be skipped: the database would look like ours.
        .map(|r| r.try_get::<String, _>(0))
        .collect::<std::result::Result<_, _>>()
        .map_err(open_err)?;
        let marked = tables.iter().any(|t| t == "checkpoints")
            && sqlx::query(
                "SELECT 1 FROM \"checkpoints\" WHERE \"scope\" = $1 AND \"endpoint\" = $2",
            )
            .bind(marker.0)
            .bind(marker.1)
            .fetch_optional(&mut c)
            .await
            .map_err(open_err)?
            .is_some();
        let _ = c.close().await;
        return Ok(tables_and_marker(tables, marked));
    }
    if lower == "sqlite::memory:" || lower == ":memory:" {
        return Ok(Existing::Absent);
    }
    let opts = if lower.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl {
            url: redact_url(url),
            reason: e.to_string(),
        })?
    } else {
        let path = Path::new(url);
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Absent),
            Err(e) => return Err(open_err(sqlx::Error::Io(e))),
            Ok(m) if m.len() == 0 => return Ok(Existing::Empty),
            Ok(_) => SqliteConnectOptions::new().filename(path),
        }
    };
    let filename = opts.get_filename().to_path_buf();
    if !filename.as_os_str().is_empty() && !filename.exists() {
        return Ok(Existing::Absent);
    }
    let mut c = opts
        .read_only(true)
        .create_if_missing(false)
        .connect()
        .await
        .map_err(open_err)?;
    let tables: Vec<String> = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table'")
        .fetch_all(&mut c)
        .await
        .map_err(open_err)?
        .iter()
        // A name that cannot be read must not be skipped: the database would look like ours.
        .map(|r| r.try_get::<String, _>(0))
        .collect::<std::result::Result<_, _>>()
        .map_err(open_err)?;
    let marked = tables.iter().any(|t| t == "checkpoints")
        && sqlx::query("SELECT 1 FROM \"checkpoints\" WHERE \"scope\" = ?1 AND \"endpoint\" = ?2")
            .bind(marker.0)
            .bind(marker.1)
            .fetch_optional(&mut c)
            .await
            .map_err(open_err)?
            .is_some();
    let _ = c.close().await;
    Ok(tables_and_marker(tables, marked))
}
