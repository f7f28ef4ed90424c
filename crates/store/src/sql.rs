//! SQL text generated from the catalog, for each dialect. Every identifier is quoted (`groups`,
//! `key` and `position` are keywords somewhere).

use std::fmt::Write as _;

use crate::schema::{ColumnType, RAW_COLUMN, SYNCED_AT_COLUMN, TableDef};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The most parameters one statement binds (SQLite allows 32766, PostgreSQL 65535).
pub(crate) const MAX_PARAMS: usize = 30_000;

pub(crate) fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    pub(crate) fn sql_type(self, ty: ColumnType) -> &'static str {
        match (self, ty) {
            (_, ColumnType::Text) => "TEXT",
            (Dialect::Sqlite, ColumnType::Integer | ColumnType::Boolean) => "INTEGER",
            (Dialect::Postgres, ColumnType::Integer) => "BIGINT",
            (Dialect::Postgres, ColumnType::Boolean) => "BOOLEAN",
            (Dialect::Sqlite, ColumnType::Timestamp | ColumnType::Json) => "TEXT",
            (Dialect::Postgres, ColumnType::Timestamp) => "TIMESTAMPTZ",
            (Dialect::Postgres, ColumnType::Json) => "JSONB",
        }
    }

    /// The `n`-th parameter for a value of type `ty` (timestamps and JSON travel as text).
    pub(crate) fn param(self, ty: ColumnType, n: usize) -> String {
        match (self, ty) {
            (Dialect::Postgres, ColumnType::Timestamp) => format!("${n}::timestamptz"),
            (Dialect::Postgres, ColumnType::Json) => format!("${n}::jsonb"),
            _ => format!("${n}"),
        }
    }

    /// The `n`-th parameter of a many-row statement (upserts, key deletes), whose parameters
    /// appear in the text in number order. SQLite gets anonymous `?`: it resolves `$NNN` and
    /// `?NNN` names by a linear search, which makes a 30,000-parameter statement quadratic.
    pub(crate) fn bulk_param(self, ty: ColumnType, n: usize) -> String {
        match self {
            Dialect::Sqlite => "?".to_string(),
            Dialect::Postgres => self.param(ty, n),
        }
    }

    /// An expression reading column `col` of type `ty` as the store hands it out (timestamps
    /// and JSON as text).
    pub(crate) fn read(self, ty: ColumnType, col: &str) -> String {
        match (self, ty) {
            (Dialect::Postgres, ColumnType::Timestamp) => format!(
                "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
                q(col)
            ),
            (Dialect::Postgres, ColumnType::Json) => format!("{}::text", q(col)),
            _ => q(col),
        }
    }

    /// A multi-row upsert of `rows` rows: typed columns, `raw`, `synced_at`. On a key conflict the
    /// stored row is replaced unless it has a newer version than the incoming one.
    pub(crate) fn upsert(self, t: &TableDef, rows: usize) -> String {
        let mut cols: Vec<String> = t.columns.iter().map(|c| q(c.name)).collect();
        cols.push(q(RAW_COLUMN));
        cols.push(q(SYNCED_AT_COLUMN));
        let mut types: Vec<ColumnType> = t.columns.iter().map(|c| c.ty).collect();
        types.push(ColumnType::Json);
        types.push(ColumnType::Timestamp);
        let width = types.len();
        let mut s = format!("INSERT INTO {} ({}) VALUES ", q(t.name), cols.join(", "));
        for r in 0..rows {
            if r > 0 {
                s.push_str(", ");
            }
            s.push('(');
            for (i, ty) in types.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                s.push_str(&self.bulk_param(*ty, r * width + i + 1));
            }
            s.push(')');
        }
        let pk: Vec<String> = t.primary_key.iter().map(|k| q(k)).collect();
        let _ = write!(s, " ON CONFLICT ({}) DO ", pk.join(", "));
        let updates: Vec<String> = cols
            .iter()
            .zip(
                t.columns
                    .iter()
                    .map(|c| c.name)
                    .chain([RAW_COLUMN, SYNCED_AT_COLUMN]),
            )
            .filter(|(_, name)| !t.is_key(name))
            .map(|(c, _)| format!("{c} = excluded.{c}"))
            .collect();
        if updates.is_empty() {
            s.push_str("NOTHING");
        } else {
            let _ = write!(s, "UPDATE SET {}", updates.join(", "));
            if let Some(v) = t.version_column {
                // An incoming row replaces a stored one unless the stored one is newer; a row
                // without a version never replaces a versioned one.
                let _ = write!(
                    s,
                    " WHERE {tab}.{v} IS NULL OR excluded.{v} >= {tab}.{v}",
                    tab = q(t.name),
                    v = q(v)
                );
            }
        }
        s
    }

    /// `WHERE` clause (with a leading space, or empty) for `columns = $first…`.
    pub(crate) fn filter_clause(self, t: &TableDef, columns: &[&str], first: usize) -> String {
        if columns.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let ty = t.column(c).map(|c| c.ty).unwrap_or(ColumnType::Text);
                format!("{} = {}", q(c), self.param(ty, first + i))
            })
            .collect();
        format!(" WHERE {}", parts.join(" AND "))
    }

    /// `DELETE` of `n` rows by primary key.
    pub(crate) fn delete_keys(self, t: &TableDef, n: usize) -> String {
        let k = t.primary_key.len();
        let mut tuples = Vec::with_capacity(n);
        for r in 0..n {
            let ps: Vec<String> = t
                .primary_key
                .iter()
                .enumerate()
                .map(|(i, col)| {
                    let ty = t.column(col).map(|c| c.ty).unwrap_or(ColumnType::Text);
                    self.bulk_param(ty, r * k + i + 1)
                })
                .collect();
            tuples.push(if k == 1 {
                ps[0].clone()
            } else {
                format!("({})", ps.join(", "))
            });
        }
        let pk: Vec<String> = t.primary_key.iter().map(|c| q(c)).collect();
        if k == 1 {
            format!(
                "DELETE FROM {} WHERE {} IN ({})",
                q(t.name),
                pk[0],
                tuples.join(", ")
            )
        } else {
            format!(
                "DELETE FROM {} WHERE ({}) IN (VALUES {})",
                q(t.name),
                pk.join(", "),
                tuples.join(", ")
            )
        }
    }
}
