//! The two primitives every store operation is written with — run a statement, fetch rows — for
//! a connection of either backend. Everything above them is backend-neutral.

use serde_json::Value;
use sqlx::{AssertSqlSafe, PgConnection, Row as _, SqliteConnection};

use crate::error::{Result, StoreError};
use crate::extract::SqlValue;
use crate::sql::Dialect;

/// How to decode one selected column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Int,
    Bool,
    /// Text holding JSON, handed out parsed.
    Json,
}

pub(crate) enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                SqlValue::Text(v) => q.bind(v.as_deref()),
                SqlValue::Int(v) => q.bind(*v),
                SqlValue::Bool(v) => q.bind(*v),
            };
        }
        q
    }};
}

impl Conn<'_> {
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs `sql`; the number of rows it changed.
    pub(crate) async fn execute(
        &mut self,
        sql: &str,
        args: &[SqlValue],
    ) -> std::result::Result<u64, sqlx::Error> {
        match self {
            Conn::Sqlite(c) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_owned())), args);
                Ok(q.execute(&mut **c).await?.rows_affected())
            }
            Conn::Postgres(c) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_owned())), args);
                Ok(q.execute(&mut **c).await?.rows_affected())
            }
        }
    }

    /// Runs `sql` and decodes every row's columns by `kinds` (NULL is `Value::Null`).
    pub(crate) async fn fetch(
        &mut self,
        db: &str,
        sql: &str,
        args: &[SqlValue],
        kinds: &[Kind],
    ) -> Result<Vec<Vec<Value>>> {
        let err = |source| StoreError::Db {
            db: db.to_string(),
            doing: format!("reading ({})", first_words(sql)),
            source,
        };
        let mut out = Vec::new();
        match self {
            Conn::Sqlite(c) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_owned())), args);
                for row in q.fetch_all(&mut **c).await.map_err(err)? {
                    let mut vals = Vec::with_capacity(kinds.len());
                    for (i, k) in kinds.iter().enumerate() {
                        let v = match k {
                            Kind::Text | Kind::Json => row
                                .try_get::<Option<String>, _>(i)
                                .map(|v| v.map(Value::String)),
                            // SQLite keeps booleans as integers
                            Kind::Int => {
                                row.try_get::<Option<i64>, _>(i).map(|v| v.map(Value::from))
                            }
                            Kind::Bool => row
                                .try_get::<Option<i64>, _>(i)
                                .map(|v| v.map(|b| Value::Bool(b != 0))),
                        }
                        .map_err(err)?;
                        vals.push(finish(db, *k, v)?);
                    }
                    out.push(vals);
                }
            }
            Conn::Postgres(c) => {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_owned())), args);
                for row in q.fetch_all(&mut **c).await.map_err(err)? {
                    let mut vals = Vec::with_capacity(kinds.len());
                    for (i, k) in kinds.iter().enumerate() {
                        let v = match k {
                            Kind::Text | Kind::Json => row
                                .try_get::<Option<String>, _>(i)
                                .map(|v| v.map(Value::String)),
                            Kind::Int => {
                                row.try_get::<Option<i64>, _>(i).map(|v| v.map(Value::from))
                            }
                            Kind::Bool => row
                                .try_get::<Option<bool>, _>(i)
                                .map(|v| v.map(Value::Bool)),
                        }
                        .map_err(err)?;
                        vals.push(finish(db, *k, v)?);
                    }
                    out.push(vals);
                }
            }
        }
        Ok(out)
    }
}

fn finish(db: &str, kind: Kind, v: Option<Value>) -> Result<Value> {
    match (kind, v) {
        (_, None) => Ok(Value::Null),
        (Kind::Json, Some(Value::String(s))) => {
            serde_json::from_str(&s).map_err(|e| StoreError::Corrupt {
                db: db.to_string(),
                what: format!("a JSON column holds invalid JSON ({e}): was it edited by hand?"),
            })
        }
        (_, Some(v)) => Ok(v),
    }
}

/// The statement's first words, for error messages (never its parameters).
pub(crate) fn first_words(sql: &str) -> String {
    let s: String = sql.split_whitespace().take(6).collect::<Vec<_>>().join(" ");
    if s.len() > 80 {
        format!("{}…", &s[..s.floor_char_boundary(80)])
    } else {
        s
    }
}
