//! The store itself: opening either backend, committing batches, reading back.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::batch::{Batch, CheckpointWrite, CommitSummary, Expect, Filter, IdMapEntry, Op, Row};
use crate::conn::{Conn, Kind};
use crate::error::{Conflict, Result, StoreError, redact_url};
use crate::extract::{Extracted, SqlValue, convert, extract, key_values};
use crate::migrate;
use crate::schema::{ColumnType, RAW_COLUMN, SYNCED_AT_COLUMN, TABLES, TableDef, table};
use crate::sql::{Dialect, MAX_PARAMS, q};
use crate::time;

/// The default SQLite file, in the working directory.
pub const DEFAULT_SQLITE_FILE: &str = "kbridge.db";

/// A store: cheap to clone (a pool inside), `Send + Sync`, usable across `tokio::spawn`.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// The embedded backend: one SQLite file in WAL mode (or a private in-memory database).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    db: Arc<str>,
}

/// The server backend: PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    db: Arc<str>,
}

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Checkpoint {
    pub scope: String,
    pub endpoint: String,
    pub value: Value,
    /// `YYYY-MM-DDTHH:MM:SS.sssZ`.
    pub updated_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
    fn parse(s: &str) -> Option<RunStatus> {
        [
            RunStatus::Running,
            RunStatus::Succeeded,
            RunStatus::Failed,
            RunStatus::Interrupted,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEnd {
    pub status: RunStatus,
    /// Items per endpoint (`{"pages": 512, …}`).
    pub counts: Value,
    /// Requests per endpoint, 429s, retries….
    pub requests: Value,
    /// The errors met (a JSON array of objects or strings).
    pub errors: Value,
}

/// A recorded run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Run {
    pub id: i64,
    pub job: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub status: RunStatus,
    pub counts: Value,
    pub requests: Value,
    pub errors: Value,
    /// The process that ran it (`host:pid:start`, [`run_owner`]).
    pub owner: Option<String>,
    /// Its last sign of life ([`Store::keep_run_alive`]).
    pub heartbeat_at: Option<String>,
}

/// A row of the id map as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct IdMapped {
    pub target_id: String,
    pub content_hash: Option<String>,
    pub updated_at: String,
}

/// A record a lenient commit could not store ([`Store::commit_quarantining`]): kept with the
/// reason and the raw JSON until a later copy of it stores.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Quarantined {
    /// The table the record was for (`pages`, `comments`…).
    pub kind: String,
    /// Its primary key as a JSON array (`["42"]`), or `sha256:…` of its JSON when even the key
    /// cannot be read.
    pub record_id: String,
    /// The object as errors name it (`id=42`).
    pub object: String,
    /// Why it cannot be stored (`field raw/title: contains U+0000 …`).
    pub reason: String,
    /// The object's JSON exactly as the API sent it.
    pub raw: Value,
    /// The caller's context values of the row.
    pub context: Map<String, Value>,
    /// How many commits tried to store it.
    pub attempts: i64,
    pub first_seen: String,
    pub last_seen: String,
}

/// The file downloaded for an attachment version (`extract --files`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentFile {
    pub attachment_id: String,
    /// The attachment version the file is of.
    pub version: i64,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    pub size: i64,
    /// Where it is, relative to the files folder (`sha256/ab/abcdef…`).
    pub path: String,
}

fn db_err(db: &str, doing: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
    let db = db.to_string();
    let doing = doing.into();
    move |source| StoreError::Db { db, doing, source }
}

/// A pooled connection of either backend as a [`Conn`], bound to `$c` for `$body`.
macro_rules! with_conn {
    ($store:expr, $c:ident, $db:ident => $body:expr) => {
        match $store {
            Store::Sqlite(s) => {
                let $db: &str = &s.db;
                let mut pc = s.pool.acquire().await.map_err(db_err($db, "connecting"))?;
                let mut $c = Conn::Sqlite(&mut *pc);
                $body
            }
            Store::Postgres(s) => {
                let $db: &str = &s.db;
                let mut pc = s.pool.acquire().await.map_err(db_err($db, "connecting"))?;
                let mut $c = Conn::Postgres(&mut *pc);
                $body
            }
        }
    };
}

/// `$body` (a `Result`) inside a write transaction, committed when it is `Ok` and rolled back
/// otherwise. SQLite transactions take the write lock at `BEGIN` (`IMMEDIATE`), so two writers
/// queue on the busy timeout instead of failing halfway.
macro_rules! in_tx {
    ($store:expr, $c:ident, $db:ident => $body:expr) => {
        match $store {
            Store::Sqlite(s) => {
                let $db: &str = &s.db;
                let mut tx = s
                    .pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(db_err($db, "beginning a transaction"))?;
                let r = {
                    let mut $c = Conn::Sqlite(&mut *tx);
                    $body
                };
                match r {
                    Ok(v) => {
                        tx.commit().await.map_err(db_err($db, "committing"))?;
                        Ok(v)
                    }
                    Err(e) => {
                        let _ = tx.rollback().await;
                        Err(e)
                    }
                }
            }
            Store::Postgres(s) => {
                let $db: &str = &s.db;
                let mut tx = s
                    .pool
                    .begin()
                    .await
                    .map_err(db_err($db, "beginning a transaction"))?;
                let r = {
                    let mut $c = Conn::Postgres(&mut *tx);
                    $body
                };
                match r {
                    Ok(v) => {
                        tx.commit().await.map_err(db_err($db, "committing"))?;
                        Ok(v)
                    }
                    Err(e) => {
                        let _ = tx.rollback().await;
                        Err(e)
                    }
                }
            }
        }
    };
}

fn unknown_table(name: &str) -> StoreError {
    StoreError::UnknownTable {
        table: name.to_string(),
        known: TABLES.iter().map(|t| t.name).collect::<Vec<_>>().join(", "),
    }
}

fn table_def(name: &str) -> Result<&'static TableDef> {
    table(name).ok_or_else(|| unknown_table(name))
}

fn kind(ty: ColumnType) -> Kind {
    match ty {
        ColumnType::Text | ColumnType::Timestamp => Kind::Text,
        ColumnType::Integer => Kind::Int,
        ColumnType::Boolean => Kind::Bool,
        ColumnType::Json => Kind::Json,
    }
}

/// `ORDER BY` the primary key, the same on both backends (byte order for text).
fn order_by(d: Dialect, t: &TableDef) -> String {
    let parts: Vec<String> = t
        .primary_key
        .iter()
        .map(|k| {
            let is_text = t.column(k).is_some_and(|c| c.ty == ColumnType::Text);
            match (d, is_text) {
                (Dialect::Postgres, true) => format!("{} COLLATE \"C\"", q(k)),
                _ => q(k),
            }
        })
        .collect();
    format!(" ORDER BY {}", parts.join(", "))
}

/// A filter checked against the table and converted to bound values.
fn filter_values(t: &TableDef, f: &Filter) -> Result<(Vec<&'static str>, Vec<SqlValue>)> {
    if !f.is_equality() {
        return Err(StoreError::BadRow {
            table: t.name.into(),
            object: "(filter)".into(),
            field: "(filter)".into(),
            problem: "a replace-set names its set by equalities only (no `any`, `within` or \
                      `synced_before`)"
                .into(),
        });
    }
    let mut cols = Vec::new();
    let mut vals = Vec::new();
    for (name, v) in &f.eq {
        let c = column_of(t, name)?;
        let sv = filter_value(t, c, v)?;
        cols.push(c.name);
        vals.push(sv);
    }
    Ok((cols, vals))
}

/// A column of `t`, or an error naming the known ones.
fn column_of(t: &TableDef, name: &str) -> Result<&'static crate::schema::ColumnDef> {
    t.column(name).ok_or_else(|| StoreError::UnknownColumn {
        table: t.name.into(),
        column: name.to_string(),
        known: t
            .columns
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// One filter value converted for column `c` (never null).
fn filter_value(t: &TableDef, c: &crate::schema::ColumnDef, v: &Value) -> Result<SqlValue> {
    let bad = |problem: String| StoreError::BadRow {
        table: t.name.into(),
        object: "(filter)".into(),
        field: c.name.into(),
        problem,
    };
    let sv = convert(c, Some(v).filter(|v| !v.is_null())).map_err(bad)?;
    if sv.is_null() {
        return Err(bad("a filter value cannot be null".into()));
    }
    Ok(sv)
}

/// The conditions of a read filter (` WHERE …`, or empty) with their values, parameters
/// numbered from `args.len() + 1`.
fn where_clause(d: Dialect, t: &TableDef, f: &Filter, args: &mut Vec<SqlValue>) -> Result<String> {
    let parts = conditions(d, t, f, args)?;
    Ok(if parts.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", parts.join(" AND "))
    })
}

fn conditions(
    d: Dialect,
    t: &TableDef,
    f: &Filter,
    args: &mut Vec<SqlValue>,
) -> Result<Vec<String>> {
    let mut parts = Vec::new();
    for (name, v) in &f.eq {
        let c = column_of(t, name)?;
        args.push(filter_value(t, c, v)?);
        parts.push(format!("{} = {}", q(c.name), d.param(c.ty, args.len())));
    }
    for (name, values) in &f.any {
        let c = column_of(t, name)?;
        if values.is_empty() {
            parts.push("1 = 0".into());
            continue;
        }
        let mut ps = Vec::with_capacity(values.len());
        for v in values {
            args.push(filter_value(t, c, v)?);
            ps.push(d.param(c.ty, args.len()));
        }
        parts.push(format!("{} IN ({})", q(c.name), ps.join(", ")));
    }
    for w in &f.within {
        let c = column_of(t, &w.column)?;
        let inner = table_def(&w.table)?;
        let key = column_of(inner, &w.key)?;
        let sub = conditions(d, inner, &w.filter, args)?;
        let sub = if sub.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", sub.join(" AND "))
        };
        parts.push(format!(
            "{} IN (SELECT {} FROM {}{sub})",
            q(c.name),
            q(key.name),
            q(inner.name)
        ));
    }
    if let Some(instant) = &f.synced_before {
        let norm = crate::time::normalize(instant).ok_or_else(|| StoreError::BadRow {
            table: t.name.into(),
            object: "(filter)".into(),
            field: SYNCED_AT_COLUMN.into(),
            problem: format!("{instant:?} is not an RFC 3339 date-time"),
        })?;
        args.push(SqlValue::Text(Some(norm)));
        parts.push(format!(
            "{} < {}",
            q(SYNCED_AT_COLUMN),
            d.param(ColumnType::Timestamp, args.len())
        ));
    }
    Ok(parts)
}

/// A batch checked and converted before the transaction begins: a bad row rejects the batch
/// without touching the database.
enum Prepared<'b> {
    Upserts {
        table: &'static TableDef,
        rows: Vec<Extracted>,
    },
    Delete {
        table: &'static TableDef,
        key: Vec<SqlValue>,
    },
    Replace {
        table: &'static TableDef,
        filter: (Vec<&'static str>, Vec<SqlValue>),
        rows: Vec<Extracted>,
        /// Keys (as JSON text) of the set's rows that were quarantined: their stored copy
        /// stays.
        spared: Vec<String>,
    },
    Checkpoint(&'b CheckpointWrite),
    MapId(&'b IdMapEntry),
}

fn extract_row(t: &'static TableDef, row: &Row) -> Result<Extracted> {
    if row.table != t.name {
        return Err(StoreError::BadRow {
            table: t.name.into(),
            object: crate::extract::describe_object(t, row),
            field: "table".into(),
            problem: format!("the row is for table {:?}", row.table),
        });
    }
    extract(t, row)
}

/// What a lenient commit ([`Store::commit_quarantining`]) sets aside and stores.
#[derive(Default)]
struct Held {
    /// Rows that cannot be stored, for the quarantine.
    quarantined: Vec<Quarantined>,
    /// The rows that store, by table and key (JSON text): they leave the quarantine.
    stored: Vec<(&'static str, String)>,
}

fn key_text(key: &[Value]) -> String {
    Value::Array(key.to_vec()).to_string()
}

/// Text safe in every backend's text column: PostgreSQL refuses U+0000.
fn storable(s: &str) -> String {
    s.replace('\0', "\\u0000")
}

impl Held {
    /// Sets `row` aside if `err` is a problem with the row itself (else it stays an error).
    /// Returns the key of the quarantined row, when it has one.
    fn quarantine(&mut self, t: &TableDef, row: &Row, err: StoreError) -> Result<Option<String>> {
        let StoreError::BadRow {
            object,
            field,
            problem,
            ..
        } = err
        else {
            return Err(err);
        };
        let key = crate::extract::key_of(t, row).map(|k| key_text(&k));
        let raw = row.raw.to_string();
        let record_id = key.clone().unwrap_or_else(|| {
            use sha2::Digest as _;
            format!(
                "sha256:{}",
                hex::encode(sha2::Sha256::digest(raw.as_bytes()))
            )
        });
        self.quarantined.push(Quarantined {
            kind: t.name.to_string(),
            record_id,
            object: storable(&object),
            reason: storable(&format!("field {field}: {problem}")),
            raw: row.raw.clone(),
            context: row.context.clone(),
            attempts: 1,
            first_seen: String::new(),
            last_seen: String::new(),
        });
        Ok(key)
    }
}

fn prepare<'b>(batch: &'b Batch, mut held: Option<&mut Held>) -> Result<Vec<Prepared<'b>>> {
    let mut out: Vec<Prepared<'_>> = Vec::new();
    for op in &batch.ops {
        match op {
            Op::Upsert(row) => {
                let t = table_def(&row.table)?;
                let e = match (extract(t, row), held.as_deref_mut()) {
                    (Ok(e), held) => {
                        if let Some(h) = held {
                            h.stored.push((t.name, key_text(&e.key)));
                        }
                        e
                    }
                    (Err(err), Some(h)) => {
                        h.quarantine(t, row, err)?;
                        continue;
                    }
                    (Err(err), None) => return Err(err),
                };
                match out.last_mut() {
                    Some(Prepared::Upserts { table, rows }) if table.name == t.name => rows.push(e),
                    _ => out.push(Prepared::Upserts {
                        table: t,
                        rows: vec![e],
                    }),
                }
            }
            Op::Delete { table, key } => {
                let t = table_def(table)?;
                out.push(Prepared::Delete {
                    table: t,
                    key: key_values(t, key)?,
                });
            }
            Op::ReplaceSet {
                table,
                filter,
                rows,
            } => {
                let t = table_def(table)?;
                let filter = filter_values(t, filter)?;
                let mut extracted = Vec::with_capacity(rows.len());
                let mut spared = Vec::new();
                for row in rows {
                    let e = match (extract_row(t, row), held.as_deref_mut()) {
                        (Ok(e), held) => {
                            if let Some(h) = held {
                                h.stored.push((t.name, key_text(&e.key)));
                            }
                            e
                        }
                        (Err(err), Some(h)) if row.table == t.name => {
                            spared.extend(h.quarantine(t, row, err)?);
                            continue;
                        }
                        (Err(err), _) => return Err(err),
                    };
                    for (col, want) in filter.0.iter().zip(&filter.1) {
                        let i = t.columns.iter().position(|c| c.name == *col).unwrap_or(0);
                        if e.values[i] != *want {
                            return Err(StoreError::BadRow {
                                table: t.name.into(),
                                object: crate::extract::describe_object(t, row),
                                field: col.to_string(),
                                problem: format!(
                                    "the row has {} but the replace-set is for {}",
                                    e.values[i].to_json(),
                                    want.to_json()
                                ),
                            });
                        }
                    }
                    extracted.push(e);
                }
                out.push(Prepared::Replace {
                    table: t,
                    filter,
                    rows: extracted,
                    spared,
                });
            }
            Op::Checkpoint(c) => out.push(Prepared::Checkpoint(c)),
            Op::MapId(m) => out.push(Prepared::MapId(m)),
        }
    }
    Ok(out)
}

/// One row per key: the newest version wins, the later of two equal versions wins, a row without
/// a version never replaces one with a version. Returns the rows kept and how many were dropped.
fn dedupe(rows: Vec<Extracted>) -> (Vec<Extracted>, u64) {
    let mut index: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    let mut kept: Vec<Extracted> = Vec::with_capacity(rows.len());
    let mut dropped = 0;
    for r in rows {
        let k = Value::Array(r.key.clone()).to_string();
        match index.get(&k) {
            None => {
                index.insert(k, kept.len());
                kept.push(r);
            }
            Some(&i) => {
                dropped += 1;
                let replace = match (kept[i].version, r.version) {
                    (None, _) => true,
                    (Some(_), None) => false,
                    (Some(old), Some(new)) => new >= old,
                };
                if replace {
                    kept[i] = r;
                }
            }
        }
    }
    (kept, dropped)
}

async fn upsert_rows(
    c: &mut Conn<'_>,
    db: &str,
    t: &TableDef,
    rows: Vec<Extracted>,
    now: &str,
    summary: &mut CommitSummary,
) -> Result<()> {
    let d = c.dialect();
    let (rows, dropped) = dedupe(rows);
    summary.stale += dropped;
    let width = t.columns.len() + 2;
    let per_chunk = (MAX_PARAMS / width).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Extracted> = rows.by_ref().take(per_chunk).collect();
        let n = chunk.len() as u64;
        let mut args = Vec::with_capacity(chunk.len() * width);
        for r in chunk {
            args.extend(r.values);
            args.push(SqlValue::Text(Some(r.raw)));
            args.push(SqlValue::Text(Some(now.to_string())));
        }
        let written = c
            .execute(&d.upsert(t, n as usize), &args)
            .await
            .map_err(db_err(db, format!("writing {n} rows to {}", t.name)))?;
        summary.written += written;
        summary.stale += n.saturating_sub(written);
    }
    Ok(())
}

async fn delete_keys(
    c: &mut Conn<'_>,
    db: &str,
    t: &TableDef,
    keys: Vec<Vec<SqlValue>>,
) -> Result<u64> {
    let d = c.dialect();
    let k = t.primary_key.len();
    let mut deleted = 0;
    for chunk in keys.chunks((MAX_PARAMS / k).max(1)) {
        let args: Vec<SqlValue> = chunk.iter().flatten().cloned().collect();
        deleted += c
            .execute(&d.delete_keys(t, chunk.len()), &args)
            .await
            .map_err(db_err(db, format!("deleting from {}", t.name)))?;
    }
    Ok(deleted)
}

async fn select_keys(
    c: &mut Conn<'_>,
    db: &str,
    t: &TableDef,
    clause: &str,
    args: &[SqlValue],
) -> Result<Vec<Vec<Value>>> {
    let d = c.dialect();
    let cols: Vec<String> = t.primary_key.iter().map(|k| q(k)).collect();
    let kinds: Vec<Kind> = t
        .primary_key
        .iter()
        .map(|k| kind(t.column(k).map(|c| c.ty).unwrap_or(ColumnType::Text)))
        .collect();
    let sql = format!(
        "SELECT {} FROM {}{}{}",
        cols.join(", "),
        q(t.name),
        clause,
        order_by(d, t)
    );
    c.fetch(db, &sql, args, &kinds).await
}

async fn write_checkpoint(
    c: &mut Conn<'_>,
    db: &str,
    w: &CheckpointWrite,
    now: &str,
) -> Result<()> {
    let d = c.dialect();
    let value = SqlValue::Text(Some(w.value.to_string()));
    let args = [
        SqlValue::Text(Some(w.scope.clone())),
        SqlValue::Text(Some(w.endpoint.clone())),
        value,
        SqlValue::Text(Some(now.to_string())),
    ];
    let insert = format!(
        "INSERT INTO \"checkpoints\" (\"scope\", \"endpoint\", \"value\", \"updated_at\") VALUES ($1, $2, {}, {})",
        d.param(ColumnType::Json, 3),
        d.param(ColumnType::Timestamp, 4)
    );
    let doing = || format!("writing checkpoint {}/{}", w.scope, w.endpoint);
    let conflict = |found: Option<Value>| {
        StoreError::CheckpointConflict(Box::new(Conflict {
            scope: w.scope.clone(),
            endpoint: w.endpoint.clone(),
            expected: match &w.expect {
                Expect::Value(v) => Some(v.clone()),
                _ => None,
            },
            found,
        }))
    };
    if w.clear {
        let found = read_checkpoint(c, db, &w.scope, &w.endpoint, true).await?;
        let matches = match &w.expect {
            Expect::Any => true,
            Expect::Absent => found.is_none(),
            Expect::Value(v) => found.as_ref() == Some(v),
        };
        if !matches {
            return Err(conflict(found));
        }
        let sql = "DELETE FROM \"checkpoints\" WHERE \"scope\" = $1 AND \"endpoint\" = $2";
        c.execute(sql, &args[..2])
            .await
            .map_err(db_err(db, doing()))?;
        return Ok(());
    }
    match &w.expect {
        Expect::Any => {
            let sql = format!(
                "{insert} ON CONFLICT (\"scope\", \"endpoint\") DO UPDATE SET \"value\" = excluded.\"value\", \"updated_at\" = excluded.\"updated_at\""
            );
            c.execute(&sql, &args).await.map_err(db_err(db, doing()))?;
        }
        Expect::Absent => {
            let sql = format!("{insert} ON CONFLICT (\"scope\", \"endpoint\") DO NOTHING");
            let n = c.execute(&sql, &args).await.map_err(db_err(db, doing()))?;
            if n == 0 {
                let found = read_checkpoint(c, db, &w.scope, &w.endpoint, false).await?;
                return Err(conflict(found));
            }
        }
        Expect::Value(expected) => {
            let found = read_checkpoint(c, db, &w.scope, &w.endpoint, true).await?;
            if found.as_ref() != Some(expected) {
                return Err(conflict(found));
            }
            let sql = format!(
                "UPDATE \"checkpoints\" SET \"value\" = {}, \"updated_at\" = {} WHERE \"scope\" = $1 AND \"endpoint\" = $2",
                d.param(ColumnType::Json, 3),
                d.param(ColumnType::Timestamp, 4)
            );
            c.execute(&sql, &args).await.map_err(db_err(db, doing()))?;
        }
    }
    Ok(())
}

async fn read_checkpoint(
    c: &mut Conn<'_>,
    db: &str,
    scope: &str,
    endpoint: &str,
    for_update: bool,
) -> Result<Option<Value>> {
    let d = c.dialect();
    let lock = if for_update && d == Dialect::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {} FROM \"checkpoints\" WHERE \"scope\" = $1 AND \"endpoint\" = $2{lock}",
        d.read(ColumnType::Json, "value")
    );
    let rows = c
        .fetch(
            db,
            &sql,
            &[
                SqlValue::Text(Some(scope.to_string())),
                SqlValue::Text(Some(endpoint.to_string())),
            ],
            &[Kind::Json],
        )
        .await?;
    Ok(rows.into_iter().next().and_then(|mut r| r.pop()))
}

async fn apply(c: &mut Conn<'_>, db: &str, ops: Vec<Prepared<'_>>) -> Result<CommitSummary> {
    let now = time::now();
    let mut summary = CommitSummary::default();
    for op in ops {
        match op {
            Prepared::Upserts { table, rows } => {
                upsert_rows(c, db, table, rows, &now, &mut summary).await?;
            }
            Prepared::Delete { table, key } => {
                summary.deleted += delete_keys(c, db, table, vec![key]).await?;
            }
            Prepared::Replace {
                table,
                filter,
                rows,
                spared,
            } => {
                let keep: HashSet<String> = rows
                    .iter()
                    .map(|r| Value::Array(r.key.clone()).to_string())
                    .chain(spared)
                    .collect();
                upsert_rows(c, db, table, rows, &now, &mut summary).await?;
                let clause = c.dialect().filter_clause(table, &filter.0, 1);
                let gone: Vec<Vec<SqlValue>> = select_keys(c, db, table, &clause, &filter.1)
                    .await?
                    .into_iter()
                    .filter(|k| !keep.contains(&Value::Array(k.clone()).to_string()))
                    .map(|k| key_values(table, &k))
                    .collect::<Result<_>>()?;
                if !gone.is_empty() {
                    summary.deleted += delete_keys(c, db, table, gone).await?;
                }
            }
            Prepared::Checkpoint(w) => {
                write_checkpoint(c, db, w, &now).await?;
                summary.checkpoints += 1;
            }
            Prepared::MapId(m) => {
                let d = c.dialect();
                let sql = format!(
                    "INSERT INTO \"id_map\" (\"source_system\", \"source_id\", \"target_system\", \"target_id\", \"content_hash\", \"updated_at\") \
                     VALUES ($1, $2, $3, $4, $5, {}) ON CONFLICT (\"source_system\", \"source_id\", \"target_system\") DO UPDATE SET \
                     \"target_id\" = excluded.\"target_id\", \"content_hash\" = excluded.\"content_hash\", \"updated_at\" = excluded.\"updated_at\"",
                    d.param(ColumnType::Timestamp, 6)
                );
                let args = [
                    SqlValue::Text(Some(m.source_system.clone())),
                    SqlValue::Text(Some(m.source_id.clone())),
                    SqlValue::Text(Some(m.target_system.clone())),
                    SqlValue::Text(Some(m.target_id.clone())),
                    SqlValue::Text(m.content_hash.clone()),
                    SqlValue::Text(Some(now.clone())),
                ];
                c.execute(&sql, &args)
                    .await
                    .map_err(db_err(db, "writing the id map"))?;
            }
        }
    }
    Ok(summary)
}

/// Writes the quarantined records of a lenient commit and releases the stored ones, in the
/// commit's transaction.
async fn hold(
    c: &mut Conn<'_>,
    db: &str,
    held: Held,
    summary: &mut CommitSummary,
) -> Result<Vec<Quarantined>> {
    let d = c.dialect();
    let now = time::now();
    let upsert = format!(
        "INSERT INTO \"quarantine\" (\"kind\", \"record_id\", \"object\", \"reason\", \"raw\", \"context\", \"attempts\", \"first_seen\", \"last_seen\") \
         VALUES ($1, $2, $3, $4, $5, $6, 1, {ts}, {ts}) ON CONFLICT (\"kind\", \"record_id\") DO UPDATE SET \
         \"object\" = excluded.\"object\", \"reason\" = excluded.\"reason\", \"raw\" = excluded.\"raw\", \
         \"context\" = excluded.\"context\", \"last_seen\" = excluded.\"last_seen\", \
         \"attempts\" = \"quarantine\".\"attempts\" + 1 \
         RETURNING \"attempts\", {first}",
        ts = d.param(ColumnType::Timestamp, 7),
        first = d.read(ColumnType::Timestamp, "first_seen"),
    );
    let mut out = Vec::with_capacity(held.quarantined.len());
    for mut q in held.quarantined {
        let args = [
            SqlValue::Text(Some(q.kind.clone())),
            SqlValue::Text(Some(q.record_id.clone())),
            SqlValue::Text(Some(q.object.clone())),
            SqlValue::Text(Some(q.reason.clone())),
            SqlValue::Text(Some(q.raw.to_string())),
            SqlValue::Text(Some(Value::Object(q.context.clone()).to_string())),
            SqlValue::Text(Some(now.clone())),
        ];
        let r = c
            .fetch(db, &upsert, &args, &[Kind::Int, Kind::Text])
            .await?;
        let r = r.into_iter().next().ok_or_else(|| StoreError::Corrupt {
            db: db.to_string(),
            what: format!("quarantining {} {} returned nothing", q.kind, q.object),
        })?;
        let corrupt = |what: &str| StoreError::Corrupt {
            db: db.to_string(),
            what: format!("quarantining {} {}: {what}", q.kind, q.object),
        };
        q.attempts = r[0]
            .as_i64()
            .ok_or_else(|| corrupt("no attempt count came back"))?;
        q.first_seen = r[1]
            .as_str()
            .ok_or_else(|| corrupt("no first_seen came back"))?
            .to_string();
        q.last_seen = now.clone();
        tracing::debug!(
            table = %q.kind,
            object = %q.object,
            reason = %q.reason,
            attempts = q.attempts,
            "A record could not be stored and was quarantined."
        );
        summary.quarantined += 1;
        out.push(q);
    }
    if !held.stored.is_empty() {
        let present = c
            .fetch(
                db,
                "SELECT \"kind\", \"record_id\" FROM \"quarantine\"",
                &[],
                &[Kind::Text, Kind::Text],
            )
            .await?;
        if !present.is_empty() {
            let present: HashSet<(String, String)> = present
                .into_iter()
                .filter_map(|r| Some((r[0].as_str()?.to_string(), r[1].as_str()?.to_string())))
                .collect();
            let release = "DELETE FROM \"quarantine\" WHERE \"kind\" = $1 AND \"record_id\" = $2";
            let mut seen = HashSet::new();
            for (table, key) in &held.stored {
                let k = (table.to_string(), key.clone());
                if !present.contains(&k) || !seen.insert(k) {
                    continue;
                }
                let args = [
                    SqlValue::Text(Some(table.to_string())),
                    SqlValue::Text(Some(key.clone())),
                ];
                summary.released += c
                    .execute(release, &args)
                    .await
                    .map_err(db_err(db, "releasing a record from the quarantine"))?;
            }
        }
    }
    Ok(out)
}

/// A quarantine row as read back.
fn quarantined_row(db: &str, r: Vec<Value>) -> Result<Quarantined> {
    let text = |i: usize| -> Result<String> {
        r[i].as_str()
            .map(str::to_string)
            .ok_or_else(|| StoreError::Corrupt {
                db: db.to_string(),
                what: format!("a quarantine row has no column {i} ({:?})", r[i]),
            })
    };
    let context = match &r[5] {
        Value::Object(m) => m.clone(),
        other => {
            return Err(StoreError::Corrupt {
                db: db.to_string(),
                what: format!("a quarantine row's context is not a JSON object: {other}"),
            });
        }
    };
    Ok(Quarantined {
        kind: text(0)?,
        record_id: text(1)?,
        object: text(2)?,
        reason: text(3)?,
        raw: r[4].clone(),
        context,
        attempts: r[6].as_i64().ok_or_else(|| StoreError::Corrupt {
            db: db.to_string(),
            what: "a quarantine row has no attempt count".into(),
        })?,
        first_seen: text(7)?,
        last_seen: text(8)?,
    })
}

impl Store {
    /// Opens (creating it if needed) and migrates the store at `url`: a file path
    /// (`kbridge.db`), `sqlite://PATH`, `sqlite::memory:` or `postgres://…`/`postgresql://…`.
    pub async fn open(url: &str) -> Result<Store> {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Store::open_postgres(url).await
        } else if lower == "sqlite::memory:" || lower == ":memory:" {
            Store::open_sqlite_options(
                SqliteConnectOptions::new().in_memory(true),
                "sqlite::memory:".into(),
                true,
            )
            .await
        } else if lower.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl {
                url: redact_url(url),
                reason: e.to_string(),
            })?;
            Store::open_sqlite_options(opts, redact_url(url), false).await
        } else if url.contains("://") {
            Err(StoreError::BadUrl {
                url: redact_url(url),
                reason: "only sqlite and postgres stores exist".into(),
            })
        } else if url.is_empty() {
            Err(StoreError::BadUrl {
                url: String::new(),
                reason: "the URL is empty".into(),
            })
        } else {
            Store::open_sqlite(Path::new(url)).await
        }
    }

    /// Opens the SQLite file at `path`, creating it if needed.
    pub async fn open_sqlite(path: &Path) -> Result<Store> {
        Store::open_sqlite_options(
            SqliteConnectOptions::new().filename(path),
            path.display().to_string(),
            false,
        )
        .await
    }

    async fn open_sqlite_options(
        opts: SqliteConnectOptions,
        db: String,
        memory: bool,
    ) -> Result<Store> {
        let mut opts = opts
            .create_if_missing(true)
            .busy_timeout(Duration::from_secs(30))
            // Children may arrive before their parents (bulk endpoints first): no foreign keys.
            .foreign_keys(false);
        if !memory {
            // WAL: readers never block the writer; NORMAL sync is durable against a killed
            // process (the last transactions can be lost only on power failure).
            opts = opts
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
        }
        let pool_opts = if memory {
            // One connection holds the in-memory database for the life of the store.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(4)
        };
        let pool = pool_opts
            .connect_with(opts)
            .await
            .map_err(|source| StoreError::Open {
                db: db.clone(),
                hint: "check that the directory exists and is writable, and that the file is a \
                       SQLite database",
                source,
            })?;
        let store = Store::Sqlite(SqliteStore {
            pool,
            db: db.into(),
        });
        store.migrate().await?;
        Ok(store)
    }

    /// Opens a PostgreSQL database (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`; the
    /// password may also come from `PGPASSWORD`).
    pub async fn open_postgres(url: &str) -> Result<Store> {
        let db = redact_url(url);
        let opts = PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl {
            url: db.clone(),
            reason: e.to_string(),
        })?;
        let open_err = |source| StoreError::Open {
            db: db.clone(),
            hint: "check that the server is running and the URL's host, port, user, password \
                   and database are right (create the database first: createdb NAME)",
            source,
        };
        // One connection first: a wrong host, password or database fails at once, where the
        // pool would retry until its acquire timeout.
        PgConnection::connect_with(&opts)
            .await
            .map_err(open_err)?
            .close()
            .await
            .map_err(open_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts)
            .await
            .map_err(open_err)?;
        let store = Store::Postgres(PgStore {
            pool,
            db: db.into(),
        });
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations (done by `open`; idempotent). Returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        in_tx!(self, c, db => migrate::run(&mut c, db).await)
    }

    /// The schema version of the database.
    pub async fn schema_version(&self) -> Result<i64> {
        with_conn!(self, c, db => {
            let rows = c
                .fetch(db, "SELECT MAX(\"version\") FROM \"schema_migrations\"", &[], &[Kind::Int])
                .await?;
            Ok(rows.first().and_then(|r| r[0].as_i64()).unwrap_or(0))
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Store::Sqlite(_) => Dialect::Sqlite,
            Store::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The database, for messages: a path or a URL without its password.
    pub fn describe(&self) -> &str {
        match self {
            Store::Sqlite(s) => &s.db,
            Store::Postgres(s) => &s.db,
        }
    }

    /// Closes the pool (waits for connections in use).
    pub async fn close(&self) {
        match self {
            Store::Sqlite(s) => s.pool.close().await,
            Store::Postgres(s) => s.pool.close().await,
        }
    }

    /// Commits `batch` in one transaction: every operation or none. Rows are checked before the
    /// transaction begins; a bad row, a checkpoint conflict or a database error leaves the
    /// database as it was.
    pub async fn commit(&self, batch: &Batch) -> Result<CommitSummary> {
        let ops = prepare(batch, None)?;
        if ops.is_empty() {
            return Ok(CommitSummary::default());
        }
        in_tx!(self, c, db => apply(&mut c, db, ops).await)
    }

    /// Commits `batch` like [`Store::commit`], except that a row that cannot be stored (a bad
    /// value: U+0000, a wrong type, a date that is not one, a missing key) does not reject the
    /// batch: it is recorded in the quarantine (its table, key, reason and raw JSON) and the
    /// rest lands, in the same transaction. A quarantined record that stores later (in any
    /// lenient commit) leaves the quarantine. Returns what was done and the records
    /// quarantined by this commit (with their attempt counts).
    pub async fn commit_quarantining(
        &self,
        batch: &Batch,
    ) -> Result<(CommitSummary, Vec<Quarantined>)> {
        let mut held = Held::default();
        let ops = prepare(batch, Some(&mut held))?;
        if ops.is_empty() && held.quarantined.is_empty() {
            return Ok((CommitSummary::default(), Vec::new()));
        }
        in_tx!(self, c, db => async {
            let mut summary = apply(&mut c, db, ops).await?;
            let quarantined = hold(&mut c, db, held, &mut summary).await?;
            Ok((summary, quarantined))
        }.await)
    }

    /// Every quarantined record, by table and key.
    pub async fn quarantine(&self) -> Result<Vec<Quarantined>> {
        let d = self.dialect();
        let sql = format!(
            "SELECT \"kind\", \"record_id\", \"object\", \"reason\", \"raw\", \"context\", \"attempts\", {}, {} \
             FROM \"quarantine\" ORDER BY \"kind\"{c}, \"record_id\"{c}",
            d.read(ColumnType::Timestamp, "first_seen"),
            d.read(ColumnType::Timestamp, "last_seen"),
            c = if d == Dialect::Postgres {
                " COLLATE \"C\""
            } else {
                ""
            }
        );
        let kinds = [
            Kind::Text,
            Kind::Text,
            Kind::Text,
            Kind::Text,
            Kind::Json,
            Kind::Json,
            Kind::Int,
            Kind::Text,
            Kind::Text,
        ];
        let rows = with_conn!(self, c, db => c.fetch(db, &sql, &[], &kinds).await)?;
        rows.into_iter()
            .map(|r| quarantined_row(self.describe(), r))
            .collect()
    }

    /// Tries to store every quarantined record again from its raw JSON (what a run does first:
    /// a record that a newer kbridge can store leaves; the others count one more attempt).
    /// Records whose source sends a corrected copy leave when that copy stores.
    pub async fn retry_quarantine(&self) -> Result<(CommitSummary, Vec<Quarantined>)> {
        let held = self.quarantine().await?;
        if held.is_empty() {
            return Ok((CommitSummary::default(), Vec::new()));
        }
        let mut batch = Batch::new();
        for q in held {
            batch.upsert(Row {
                table: q.kind,
                context: q.context,
                raw: q.raw,
            });
        }
        self.commit_quarantining(&batch).await
    }

    /// The checkpoint of `scope` and `endpoint`.
    pub async fn checkpoint(&self, scope: &str, endpoint: &str) -> Result<Option<Value>> {
        with_conn!(self, c, db => read_checkpoint(&mut c, db, scope, endpoint, false).await)
    }

    /// Every checkpoint, by scope and endpoint.
    pub async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        let d = self.dialect();
        let sql = format!(
            "SELECT \"scope\", \"endpoint\", {}, {} FROM \"checkpoints\" ORDER BY \"scope\"{c}, \"endpoint\"{c}",
            d.read(ColumnType::Json, "value"),
            d.read(ColumnType::Timestamp, "updated_at"),
            c = if d == Dialect::Postgres {
                " COLLATE \"C\""
            } else {
                ""
            }
        );
        let rows = with_conn!(self, c, db => c.fetch(db, &sql, &[], &[Kind::Text, Kind::Text, Kind::Json, Kind::Text]).await)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let mut it = r.into_iter();
                let s = |v: Option<Value>| match v {
                    Some(Value::String(s)) => s,
                    _ => String::new(),
                };
                Checkpoint {
                    scope: s(it.next()),
                    endpoint: s(it.next()),
                    value: it.next().unwrap_or(Value::Null),
                    updated_at: s(it.next()),
                }
            })
            .collect())
    }

    /// The raw JSON of every row of `table`, ordered by primary key.
    pub async fn rows_raw(&self, table: &str) -> Result<Vec<Value>> {
        self.rows_raw_where(table, &Filter::all()).await
    }

    /// The raw JSON of the rows of `table` matching `filter`, ordered by primary key.
    pub async fn rows_raw_where(&self, table: &str, filter: &Filter) -> Result<Vec<Value>> {
        let t = table_def(table)?;
        let d = self.dialect();
        let mut args = Vec::new();
        let sql = format!(
            "SELECT {} FROM {}{}{}",
            d.read(ColumnType::Json, RAW_COLUMN),
            q(t.name),
            where_clause(d, t, filter, &mut args)?,
            order_by(d, t)
        );
        let rows = with_conn!(self, c, db => c.fetch(db, &sql, &args, &[Kind::Json]).await)?;
        Ok(rows.into_iter().filter_map(|mut r| r.pop()).collect())
    }

    /// The typed columns of every row of `table` (catalog order; timestamps as
    /// `YYYY-MM-DDTHH:MM:SS.sssZ`, JSON columns parsed), ordered by primary key.
    pub async fn rows_typed(&self, table: &str) -> Result<Vec<Map<String, Value>>> {
        self.rows_typed_where(table, &Filter::all()).await
    }

    /// The typed columns of the rows of `table` matching `filter`, ordered by primary key.
    pub async fn rows_typed_where(
        &self,
        table: &str,
        filter: &Filter,
    ) -> Result<Vec<Map<String, Value>>> {
        let t = table_def(table)?;
        let d = self.dialect();
        let mut args = Vec::new();
        let cols: Vec<String> = t.columns.iter().map(|c| d.read(c.ty, c.name)).collect();
        let kinds: Vec<Kind> = t.columns.iter().map(|c| kind(c.ty)).collect();
        let sql = format!(
            "SELECT {} FROM {}{}{}",
            cols.join(", "),
            q(t.name),
            where_clause(d, t, filter, &mut args)?,
            order_by(d, t)
        );
        let rows = with_conn!(self, c, db => c.fetch(db, &sql, &args, &kinds).await)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                t.columns
                    .iter()
                    .map(|c| c.name.to_string())
                    .zip(r)
                    .collect()
            })
            .collect())
    }

    /// The primary keys of the rows of `table` matching `filter`, ordered.
    pub async fn keys(&self, table: &str, filter: &Filter) -> Result<Vec<Vec<Value>>> {
        let t = table_def(table)?;
        let d = self.dialect();
        let mut args = Vec::new();
        let clause = where_clause(d, t, filter, &mut args)?;
        with_conn!(self, c, db => select_keys(&mut c, db, t, &clause, &args).await)
    }

    /// The object ids (the last primary-key column, as text) of the rows of `table` matching
    /// `filter`: what a deletion sweep compares with the ids the API still lists.
    pub async fn ids(&self, table: &str, filter: &Filter) -> Result<Vec<String>> {
        Ok(self
            .keys(table, filter)
            .await?
            .into_iter()
            .filter_map(|mut k| match k.pop() {
                Some(Value::String(s)) => Some(s),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
            .collect())
    }

    /// Chosen typed columns of the rows of `table` matching `filter`, ordered by primary key
    /// (timestamps as `YYYY-MM-DDTHH:MM:SS.sssZ`, JSON columns parsed): what a job needs to
    /// compare with an API listing without loading every row's raw JSON.
    pub async fn select(
        &self,
        table: &str,
        columns: &[&str],
        filter: &Filter,
    ) -> Result<Vec<Vec<Value>>> {
        self.select_page(table, columns, filter, None, None).await
    }

    /// [`Store::select`] a page at a time, for tables with a one-column primary key: at most
    /// `limit` rows whose key comes after `after` (in the order of the key), so a job can walk
    /// a big table with flat memory.
    pub async fn select_page(
        &self,
        table: &str,
        columns: &[&str],
        filter: &Filter,
        after: Option<&Value>,
        limit: Option<usize>,
    ) -> Result<Vec<Vec<Value>>> {
        let t = table_def(table)?;
        let d = self.dialect();
        let mut cols = Vec::with_capacity(columns.len());
        let mut kinds = Vec::with_capacity(columns.len());
        for name in columns {
            let c = column_of(t, name)?;
            cols.push(d.read(c.ty, c.name));
            kinds.push(kind(c.ty));
        }
        let mut args = Vec::new();
        let mut clause = where_clause(d, t, filter, &mut args)?;
        if let Some(after) = after {
            let [k] = t.primary_key else {
                return Err(StoreError::BadRow {
                    table: t.name.into(),
                    object: "(filter)".into(),
                    field: t.primary_key.join(", "),
                    problem: "paging by key needs a one-column primary key".into(),
                });
            };
            let c = column_of(t, k)?;
            args.push(filter_value(t, c, after)?);
            let collate = if d == Dialect::Postgres && c.ty == ColumnType::Text {
                " COLLATE \"C\""
            } else {
                ""
            };
            clause.push_str(if clause.is_empty() {
                " WHERE "
            } else {
                " AND "
            });
            clause.push_str(&format!(
                "{}{collate} > {}",
                q(c.name),
                d.param(c.ty, args.len())
            ));
        }
        let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
        let sql = format!(
            "SELECT {} FROM {}{clause}{}{limit}",
            cols.join(", "),
            q(t.name),
            order_by(d, t)
        );
        with_conn!(self, c, db => c.fetch(db, &sql, &args, &kinds).await)
    }

    /// The largest `value` per `key` over the whole table (`SELECT key, MAX(value) … GROUP BY
    /// key`), e.g. the newest stored version number of each page: one row per key, not per row.
    pub async fn max_by(&self, table: &str, key: &str, value: &str) -> Result<Vec<(Value, Value)>> {
        let t = table_def(table)?;
        let d = self.dialect();
        let (k, v) = (column_of(t, key)?, column_of(t, value)?);
        let sql = format!(
            "SELECT {}, MAX({}) FROM {} GROUP BY {}",
            d.read(k.ty, k.name),
            q(v.name),
            q(t.name),
            q(k.name)
        );
        let rows =
            with_conn!(self, c, db => c.fetch(db, &sql, &[], &[kind(k.ty), kind(v.ty)]).await)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let mut it = r.into_iter();
                Some((it.next()?, it.next()?))
            })
            .collect())
    }

    /// Rows per catalog table.
    pub async fn counts(&self) -> Result<BTreeMap<String, u64>> {
        let sql = TABLES
            .iter()
            .map(|t| format!("SELECT '{}', COUNT(*) FROM {}", t.name, q(t.name)))
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let rows =
            with_conn!(self, c, db => c.fetch(db, &sql, &[], &[Kind::Text, Kind::Int]).await)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((r[0].as_str()?.to_string(), r[1].as_u64()?)))
            .collect())
    }

    /// The columns of a table in the database (introspection: the conformance suite checks
    /// they are the catalog's).
    pub async fn table_columns(&self, table: &str) -> Result<Vec<String>> {
        let sql = match self.dialect() {
            Dialect::Sqlite => "SELECT \"name\" FROM pragma_table_info($1) ORDER BY \"cid\"",
            Dialect::Postgres => {
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
            }
        };
        let rows = with_conn!(self, c, db => c.fetch(db, sql, &[SqlValue::Text(Some(table.to_string()))], &[Kind::Text]).await)?;
        Ok(rows
            .into_iter()
            .filter_map(|mut r| r.pop()?.as_str().map(str::to_string))
            .collect())
    }

    /// Records the start of a run of `job`; its id. The run's owner is this process
    /// (`host:pid:start`, see [`run_owner`]); runs left `running` by a process that ended
    /// without finishing them (kill -9, a crash, a lost machine) are marked `interrupted` first:
    /// on this host when their process is gone, elsewhere when their heartbeat is older than
    /// [`RUN_LEASE`].
    pub async fn start_run(&self, job: &str) -> Result<i64> {
        let d = self.dialect();
        let now = time::now();
        let owner = run_owner();
        let running = format!(
            "SELECT \"id\", \"owner\", {} FROM \"runs\" WHERE \"status\" = 'running'",
            d.read(ColumnType::Timestamp, "heartbeat_at")
        );
        let interrupt = format!(
            "UPDATE \"runs\" SET \"status\" = 'interrupted', \"ended_at\" = {}, \"errors\" = {} \
             WHERE \"id\" = $3 AND \"status\" = 'running'",
            d.param(ColumnType::Timestamp, 1),
            d.param(ColumnType::Json, 2),
        );
        let sql = format!(
            "INSERT INTO \"runs\" (\"job\", \"started_at\", \"status\", \"counts\", \"requests\", \"errors\", \"owner\", \"heartbeat_at\") \
             VALUES ($1, {}, 'running', {}, {}, {}, $6, {}) RETURNING \"id\"",
            d.param(ColumnType::Timestamp, 2),
            d.param(ColumnType::Json, 3),
            d.param(ColumnType::Json, 4),
            d.param(ColumnType::Json, 5),
            d.param(ColumnType::Timestamp, 7),
        );
        let args = [
            SqlValue::Text(Some(job.to_string())),
            SqlValue::Text(Some(now.clone())),
            SqlValue::Text(Some("{}".into())),
            SqlValue::Text(Some("{}".into())),
            SqlValue::Text(Some("[]".into())),
            SqlValue::Text(Some(owner)),
            SqlValue::Text(Some(now.clone())),
        ];
        let now_ms = time::parse_rfc3339(&now);
        let rows = in_tx!(self, c, db => async {
            let open = c
                .fetch(db, &running, &[], &[Kind::Int, Kind::Text, Kind::Text])
                .await?;
            for r in open {
                let Some(id) = r[0].as_i64() else { continue };
                let owner = r[1].as_str();
                let heartbeat = r[2].as_str().and_then(time::parse_rfc3339);
                if !run_abandoned(owner, heartbeat, now_ms) {
                    continue;
                }
                let why = format!(
                    "interrupted: its process ({}) ended without finishing the run",
                    owner.unwrap_or("an older kbridge")
                );
                c.execute(
                    &interrupt,
                    &[
                        SqlValue::Text(Some(now.clone())),
                        SqlValue::Text(Some(serde_json::json!([why]).to_string())),
                        SqlValue::Int(Some(id)),
                    ],
                )
                .await
                .map_err(db_err(db, "marking an abandoned run interrupted"))?;
                tracing::warn!(run = id, owner, "A run left running by an ended process was marked interrupted.");
            }
            c.fetch(db, &sql, &args, &[Kind::Int]).await
        }.await)?;
        rows.first()
            .and_then(|r| r[0].as_i64())
            .ok_or_else(|| StoreError::Corrupt {
                db: self.describe().to_string(),
                what: "starting a run returned no id".into(),
            })
    }

    /// Marks every `running` run of this process (owner [`run_owner`]) `interrupted`, with
    /// `reason` in its errors: what a process does when it is told to stop (SIGINT, SIGTERM)
    /// after dropping its jobs, whose committed batches stay. The number of runs marked.
    pub async fn interrupt_own_runs(&self, reason: &str) -> Result<u64> {
        let d = self.dialect();
        let sql = format!(
            "UPDATE \"runs\" SET \"status\" = 'interrupted', \"ended_at\" = {}, \"heartbeat_at\" = {}, \
             \"errors\" = {} WHERE \"status\" = 'running' AND \"owner\" = $4",
            d.param(ColumnType::Timestamp, 1),
            d.param(ColumnType::Timestamp, 2),
            d.param(ColumnType::Json, 3),
        );
        let now = time::now();
        let args = [
            SqlValue::Text(Some(now.clone())),
            SqlValue::Text(Some(now)),
            SqlValue::Text(Some(serde_json::json!([reason]).to_string())),
            SqlValue::Text(Some(run_owner())),
        ];
        in_tx!(self, c, db => c.execute(&sql, &args).await.map_err(db_err(db, "marking runs interrupted")))
    }

    /// Refreshes the heartbeat of run `id` while it is `running`: whether it still is (another
    /// host may have taken it for abandoned after [`RUN_LEASE`] without one).
    pub async fn heartbeat_run(&self, id: i64) -> Result<bool> {
        let d = self.dialect();
        let sql = format!(
            "UPDATE \"runs\" SET \"heartbeat_at\" = {} WHERE \"id\" = $2 AND \"status\" = 'running'",
            d.param(ColumnType::Timestamp, 1),
        );
        let args = [SqlValue::Text(Some(time::now())), SqlValue::Int(Some(id))];
        let n = in_tx!(self, c, db => c.execute(&sql, &args).await.map_err(db_err(db, "refreshing a run's heartbeat")))?;
        Ok(n > 0)
    }

    /// Keeps run `id` alive for the runs of other hosts: its heartbeat is refreshed every fifth
    /// of [`RUN_LEASE`] until the guard is dropped (a job holds it for its whole run), so a run
    /// longer than the lease is never taken for abandoned while its process works.
    pub fn keep_run_alive(&self, id: i64) -> RunHeartbeat {
        self.keep_run_alive_every(id, RUN_LEASE / 5)
    }

    /// [`Store::keep_run_alive`] with its period given (tests).
    pub fn keep_run_alive_every(&self, id: i64, every: std::time::Duration) -> RunHeartbeat {
        let store = self.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is immediate: the run was just started (or updated).
            tick.tick().await;
            loop {
                tick.tick().await;
                match store.heartbeat_run(id).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        tracing::warn!(run = id, error = %e, "A run's heartbeat could not be written; retrying at the next beat.")
                    }
                }
            }
        });
        RunHeartbeat { task }
    }

    /// Records how run `id` ended.
    pub async fn finish_run(&self, id: i64, end: &RunEnd) -> Result<()> {
        self.write_run(id, end, true).await
    }

    /// Records the progress of run `id` (counts, requests, errors so far); it stays `running`
    /// unless `progress.status` says otherwise, and has no end time.
    pub async fn update_run(&self, id: i64, progress: &RunEnd) -> Result<()> {
        self.write_run(id, progress, false).await
    }

    async fn write_run(&self, id: i64, end: &RunEnd, ended: bool) -> Result<()> {
        let d = self.dialect();
        let ended_at = d.param(ColumnType::Timestamp, 1);
        let sql = format!(
            "UPDATE \"runs\" SET \"ended_at\" = {ended_at}, \"status\" = $2, \"counts\" = {}, \"requests\" = {}, \"errors\" = {}, \
             \"heartbeat_at\" = {} WHERE \"id\" = $6",
            d.param(ColumnType::Json, 3),
            d.param(ColumnType::Json, 4),
            d.param(ColumnType::Json, 5),
            d.param(ColumnType::Timestamp, 7),
        );
        let args = [
            SqlValue::Text(ended.then(time::now)),
            SqlValue::Text(Some(end.status.as_str().to_string())),
            SqlValue::Text(Some(end.counts.to_string())),
            SqlValue::Text(Some(end.requests.to_string())),
            SqlValue::Text(Some(end.errors.to_string())),
            SqlValue::Int(Some(id)),
            SqlValue::Text(Some(time::now())),
        ];
        let n = in_tx!(self, c, db => c.execute(&sql, &args).await.map_err(db_err(db, "finishing a run")))?;
        if n == 0 {
            return Err(StoreError::UnknownRun {
                db: self.describe().to_string(),
                id,
            });
        }
        Ok(())
    }

    /// Every recorded run, oldest first.
    pub async fn runs(&self) -> Result<Vec<Run>> {
        let d = self.dialect();
        let sql = format!(
            "SELECT \"id\", \"job\", {}, {}, \"status\", {}, {}, {}, \"owner\", {} FROM \"runs\" ORDER BY \"id\"",
            d.read(ColumnType::Timestamp, "started_at"),
            d.read(ColumnType::Timestamp, "ended_at"),
            d.read(ColumnType::Json, "counts"),
            d.read(ColumnType::Json, "requests"),
            d.read(ColumnType::Json, "errors"),
            d.read(ColumnType::Timestamp, "heartbeat_at"),
        );
        let kinds = [
            Kind::Int,
            Kind::Text,
            Kind::Text,
            Kind::Text,
            Kind::Text,
            Kind::Json,
            Kind::Json,
            Kind::Json,
            Kind::Text,
            Kind::Text,
        ];
        let rows = with_conn!(self, c, db => c.fetch(db, &sql, &[], &kinds).await)?;
        rows.into_iter()
            .map(|r| {
                let text = |v: &Value| v.as_str().map(str::to_string);
                let status_text = text(&r[4]).unwrap_or_default();
                Ok(Run {
                    id: r[0].as_i64().unwrap_or(0),
                    job: text(&r[1]).unwrap_or_default(),
                    started_at: text(&r[2]).unwrap_or_default(),
                    ended_at: text(&r[3]),
                    status: RunStatus::parse(&status_text).ok_or_else(|| StoreError::Corrupt {
                        db: self.describe().to_string(),
                        what: format!("run {} has the unknown status {status_text:?}", r[0]),
                    })?,
                    counts: r[5].clone(),
                    requests: r[6].clone(),
                    errors: r[7].clone(),
                    owner: text(&r[8]),
                    heartbeat_at: text(&r[9]),
                })
            })
            .collect()
    }

    /// The counterpart in `target_system` of `source_id` of `source_system`.
    pub async fn mapped_id(
        &self,
        source_system: &str,
        source_id: &str,
        target_system: &str,
    ) -> Result<Option<IdMapped>> {
        let d = self.dialect();
        let sql = format!(
            "SELECT \"target_id\", \"content_hash\", {} FROM \"id_map\" \
             WHERE \"source_system\" = $1 AND \"source_id\" = $2 AND \"target_system\" = $3",
            d.read(ColumnType::Timestamp, "updated_at")
        );
        let args = [
            SqlValue::Text(Some(source_system.to_string())),
            SqlValue::Text(Some(source_id.to_string())),
            SqlValue::Text(Some(target_system.to_string())),
        ];
        let rows = with_conn!(self, c, db => c.fetch(db, &sql, &args, &[Kind::Text, Kind::Text, Kind::Text]).await)?;
        let what = format!("the id map row of {source_system} {source_id} in {target_system}");
        rows.into_iter()
            .next()
            .map(|r| id_mapped(self.describe(), &what, &r))
            .transpose()
    }

    /// Every pair of the id map from `source_system` into `target_system`, by source id.
    pub async fn id_map(
        &self,
        source_system: &str,
        target_system: &str,
    ) -> Result<BTreeMap<String, IdMapped>> {
        let d = self.dialect();
        let sql = format!(
            "SELECT \"target_id\", \"content_hash\", {}, \"source_id\" FROM \"id_map\" \
             WHERE \"source_system\" = $1 AND \"target_system\" = $2",
            d.read(ColumnType::Timestamp, "updated_at")
        );
        let args = [
            SqlValue::Text(Some(source_system.to_string())),
            SqlValue::Text(Some(target_system.to_string())),
        ];
        let kinds = [Kind::Text, Kind::Text, Kind::Text, Kind::Text];
        let rows = with_conn!(self, c, db => c.fetch(db, &sql, &args, &kinds).await)?;
        rows.into_iter()
            .map(|r| {
                let source = r[3].as_str().map(str::to_string).ok_or_else(|| {
                    StoreError::Corrupt {
                        db: self.describe().to_string(),
                        what: format!(
                            "an id map row of {source_system} in {target_system} has no source id"
                        ),
                    }
                })?;
                let what = format!("the id map row of {source_system} {source} in {target_system}");
                Ok((source, id_mapped(self.describe(), &what, &r)?))
            })
            .collect()
    }
}

impl Store {
    /// The recorded files of these attachments (those without one are absent).
    pub async fn attachment_files(&self, ids: &[&str]) -> Result<Vec<AttachmentFile>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let ps: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT \"attachment_id\", \"version_number\", \"sha256\", \"size\", \"path\" \
                 FROM \"attachment_files\" WHERE \"attachment_id\" IN ({})",
                ps.join(", ")
            );
            let args: Vec<SqlValue> = chunk
                .iter()
                .map(|id| SqlValue::Text(Some(id.to_string())))
                .collect();
            let kinds = [Kind::Text, Kind::Int, Kind::Text, Kind::Int, Kind::Text];
            let rows = with_conn!(self, c, db => c.fetch(db, &sql, &args, &kinds).await)?;
            out.extend(rows.into_iter().map(|r| AttachmentFile {
                attachment_id: r[0].as_str().unwrap_or_default().to_string(),
                version: r[1].as_i64().unwrap_or(0),
                sha256: r[2].as_str().unwrap_or_default().to_string(),
                size: r[3].as_i64().unwrap_or(0),
                path: r[4].as_str().unwrap_or_default().to_string(),
            }));
        }
        Ok(out)
    }

    /// Records the file of an attachment version; a record of a newer version is kept.
    pub async fn record_attachment_file(&self, f: &AttachmentFile) -> Result<()> {
        let d = self.dialect();
        let sql = format!(
            "INSERT INTO \"attachment_files\" (\"attachment_id\", \"version_number\", \"sha256\", \
             \"size\", \"path\", \"updated_at\") VALUES ($1, $2, $3, $4, $5, {}) \
             ON CONFLICT (\"attachment_id\") DO UPDATE SET \"version_number\" = excluded.\"version_number\", \
             \"sha256\" = excluded.\"sha256\", \"size\" = excluded.\"size\", \"path\" = excluded.\"path\", \
             \"updated_at\" = excluded.\"updated_at\" \
             WHERE excluded.\"version_number\" >= \"attachment_files\".\"version_number\"",
            d.param(ColumnType::Timestamp, 6)
        );
        let args = [
            SqlValue::Text(Some(f.attachment_id.clone())),
            SqlValue::Int(Some(f.version)),
            SqlValue::Text(Some(f.sha256.clone())),
            SqlValue::Int(Some(f.size)),
            SqlValue::Text(Some(f.path.clone())),
            SqlValue::Text(Some(time::now())),
        ];
        with_conn!(self, c, db => c
            .execute(&sql, &args)
            .await
            .map_err(db_err(db, format!("recording the file of attachment {}", f.attachment_id))))?;
        Ok(())
    }
}

/// An id map row (`target_id`, `content_hash`, `updated_at`) read back; a missing target or
/// time is corruption, named.
fn id_mapped(db: &str, what: &str, r: &[Value]) -> Result<IdMapped> {
    let corrupt = |field: &str| StoreError::Corrupt {
        db: db.to_string(),
        what: format!("{what} has no {field}"),
    };
    Ok(IdMapped {
        target_id: r[0]
            .as_str()
            .ok_or_else(|| corrupt("target_id"))?
            .to_string(),
        content_hash: r[1].as_str().map(str::to_string),
        updated_at: r[2]
            .as_str()
            .ok_or_else(|| corrupt("updated_at"))?
            .to_string(),
    })
}

/// Compile-time check: the store and every future it returns can cross `tokio::spawn`.
#[allow(dead_code)]
fn futures_are_send(store: Store, end: RunEnd) {
    fn send_sync<T: Send + Sync + 'static>(_: &T) {}
    fn send<T: Send>(_: T) {}
    let batch = Batch::new();
    let filter = Filter::all();
    send_sync(&store);
    send(store.commit(&batch));
    send(store.checkpoint("", ""));
    send(store.checkpoints());
    send(store.rows_raw(""));
    send(store.rows_typed(""));
    send(store.rows_raw_where("", &filter));
    send(store.rows_typed_where("", &filter));
    send(store.keys("", &filter));
    send(store.ids("", &filter));
    send(store.counts());
    send(store.start_run(""));
    send(store.finish_run(0, &end));
    send(store.update_run(0, &end));
    send(store.runs());
    send(store.mapped_id("", "", ""));
    send(store.id_map("", ""));
    send(store.quarantine());
    send(store.commit_quarantining(&batch));
    send(store.migrate());
    send(Store::open(""));
}

/// The guard of [`Store::keep_run_alive`]: the heartbeats stop when it is dropped.
#[derive(Debug)]
pub struct RunHeartbeat {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RunHeartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How long a run on another host may go without a heartbeat (`update_run`, `finish_run`)
/// before the next run takes it for abandoned.
pub const RUN_LEASE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// This process as a run's owner: `host:pid:start`, the start being the process's start time
/// in clock ticks since boot (`/proc/PID/stat`), so a reused pid is not taken for the owner.
pub fn run_owner() -> String {
    let pid = std::process::id();
    format!(
        "{}:{pid}:{}",
        host_name(),
        process_start(pid).unwrap_or_else(|| "?".into())
    )
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Field 22 of `/proc/PID/stat` (after the parenthesised command name), `None` if there is no
/// such process or no `/proc`.
fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19).map(str::to_string)
}

/// Whether a `running` run was left by a process that is gone: no owner (an older kbridge),
/// an owner on this host whose process ended (or whose pid now belongs to another process), or
/// an owner elsewhere whose heartbeat is older than the lease.
fn run_abandoned(owner: Option<&str>, heartbeat_ms: Option<i64>, now_ms: Option<i64>) -> bool {
    let Some(owner) = owner else { return true };
    let mut parts = owner.rsplitn(3, ':');
    let (start, pid, host) = (parts.next(), parts.next(), parts.next());
    if host == Some(host_name().as_str())
        && std::path::Path::new("/proc/self").exists()
        && let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok())
    {
        return match process_start(pid) {
            None => true,
            Some(s) => start.is_some_and(|want| want != "?" && want != s),
        };
    }
    match (heartbeat_ms, now_ms) {
        (Some(h), Some(n)) => n - h > RUN_LEASE.as_millis() as i64,
        _ => false,
    }
}

mod sync;
pub use sync::{SyncConflictRow, SyncLinkRow, SyncPairRow};
