//! Numbered migrations, applied in one transaction when a store is opened.
//!
//! Each migration is literal SQL per backend, frozen in `src/migrations/NNNN_name.BACKEND.sql`:
//! migration 1 is the 0.1.0 schema as it was generated from the catalog then. A change to the
//! catalog needs a new migration (`ALTER TABLE … ADD COLUMN`, new tables); the upgrade test
//! opens a database made by the 0.1.0 schema (`tests/fixtures/schema-0.1.0/`, with rows) and
//! checks that it ends with exactly the catalog's columns and every row, so a forgotten
//! migration fails the tests.

use crate::conn::Conn;
use crate::error::{Result, StoreError};
use crate::extract::SqlValue;
use crate::schema::ColumnType;
use crate::sql::Dialect;
use crate::time;

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    /// The migration's SQL for SQLite and for PostgreSQL: statements ending in `;` and a new
    /// line, frozen in `src/migrations/` (never generated from today's catalog).
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

impl Migration {
    fn statements(&self, d: Dialect) -> impl Iterator<Item = &'static str> {
        let sql = match d {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        };
        sql.split(";\n").map(str::trim).filter(|s| !s.is_empty())
    }
}

pub(crate) static MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial schema: meta tables and the Confluence catalog",
        sqlite: include_str!("migrations/0001_initial.sqlite.sql"),
        postgres: include_str!("migrations/0001_initial.postgres.sql"),
    },
    Migration {
        version: 2,
        name: "attachment_files: the downloaded file of each attachment",
        sqlite: include_str!("migrations/0002_attachment_files.sqlite.sql"),
        postgres: include_str!("migrations/0002_attachment_files.postgres.sql"),
    },
    Migration {
        version: 3,
        name: "runs: the owner (host:pid:start) and heartbeat of a run",
        sqlite: include_str!("migrations/0003_run_owner.sqlite.sql"),
        postgres: include_str!("migrations/0003_run_owner.postgres.sql"),
    },
    Migration {
        version: 4,
        name: "quarantine: records a batch could not store, with the reason and their raw JSON",
        sqlite: include_str!("migrations/0004_quarantine.sqlite.sql"),
        postgres: include_str!("migrations/0004_quarantine.postgres.sql"),
    },
    Migration {
        version: 5,
        name: "sync: links, node pairs with their base, conflicts",
        sqlite: include_str!("migrations/0005_sync.sqlite.sql"),
        postgres: include_str!("migrations/0005_sync.postgres.sql"),
    },
    Migration {
        version: 6,
        name: "km: the knowledge base (articles, access, attachments, principals, members, log, failures) and restriction_reads",
        sqlite: include_str!("migrations/0006_km.sqlite.sql"),
        postgres: include_str!("migrations/0006_km.postgres.sql"),
    },
    Migration {
        version: 7,
        name: "serve: connections, jobs, the run queue and run logs of the daemon",
        sqlite: include_str!("migrations/0007_serve.sqlite.sql"),
        postgres: include_str!("migrations/0007_serve.postgres.sql"),
    },
];

/// The schema version this kbridge writes.
pub const SCHEMA_VERSION: i64 = 7;

fn schema_migrations_ddl(d: Dialect) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS \"schema_migrations\" (\"version\" BIGINT PRIMARY KEY, \
         \"name\" TEXT NOT NULL, \"applied_at\" {} NOT NULL, \"kbridge_version\" TEXT NOT NULL)",
        d.sql_type(ColumnType::Timestamp)
    )
}

/// Applies the pending migrations on `conn`, which is inside a transaction the caller commits.
/// Returns the versions applied.
pub(crate) async fn run(conn: &mut Conn<'_>, db: &str) -> Result<Vec<i64>> {
    let d = conn.dialect();
    let fail = |version: i64, name: &'static str| {
        move |source| StoreError::Migration {
            db: db.to_string(),
            version,
            name,
            source,
        }
    };
    if d == Dialect::Postgres {
        // Two processes opening the same database migrate one after the other.
        conn.execute("SELECT pg_advisory_xact_lock(7364912026)", &[])
            .await
            .map_err(fail(0, "lock"))?;
    }
    conn.execute(&schema_migrations_ddl(d), &[])
        .await
        .map_err(fail(0, "schema_migrations"))?;
    // Every applied version, not only the highest: migrations are numbered per branch, so one
    // merged later with a lower number (a gap filled) is still applied.
    let done: std::collections::BTreeSet<i64> = conn
        .fetch(
            db,
            "SELECT \"version\" FROM \"schema_migrations\"",
            &[],
            &[crate::conn::Kind::Int],
        )
        .await?
        .iter()
        .filter_map(|r| r.first().and_then(|v| v.as_i64()))
        .collect();
    let current = done.last().copied().unwrap_or(0);
    if current > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            db: db.to_string(),
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    let mut applied = Vec::new();
    // Every migration not recorded yet, also one numbered below the newest applied (numbers
    // are handed out per feature, so a store may have met a later one first).
    for m in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
        for stmt in m.statements(d) {
            conn.execute(stmt, &[])
                .await
                .map_err(fail(m.version, m.name))?;
        }
        let insert = format!(
            "INSERT INTO \"schema_migrations\" (\"version\", \"name\", \"applied_at\", \"kbridge_version\") \
             VALUES ($1, $2, {}, $4)",
            d.param(ColumnType::Timestamp, 3)
        );
        conn.execute(
            &insert,
            &[
                SqlValue::Int(Some(m.version)),
                SqlValue::Text(Some(m.name.to_string())),
                SqlValue::Text(Some(time::now())),
                SqlValue::Text(Some(env!("CARGO_PKG_VERSION").to_string())),
            ],
        )
        .await
        .map_err(fail(m.version, m.name))?;
        tracing::info!(
            db,
            version = m.version,
            name = m.name,
            "store migration applied"
        );
        applied.push(m.version);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        // Numbers are handed out per feature, so one may be missing while its branch is
        // open; they only ever increase, and the last is the schema version.
        assert_eq!(MIGRATIONS.first().map(|m| m.version), Some(1));
        for w in MIGRATIONS.windows(2) {
            assert!(
                w[0].version < w[1].version,
                "{} before {}",
                w[0].name,
                w[1].name
            );
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }
}
