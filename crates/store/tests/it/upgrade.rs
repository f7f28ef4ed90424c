//! Upgrading a database made by an older kbridge: the fixtures in `tests/fixtures/` are dumps of
//! databases made by the 0.1.0 schema (migration 1 only) holding rows of every table, the meta
//! tables included. Opening one must apply every later migration, end with exactly today's
//! catalog columns (a catalog column without a migration fails here), and keep every row.

use std::collections::BTreeMap;

use kb_store::schema::{RAW_COLUMN, SYNCED_AT_COLUMN};
use kb_store::{SCHEMA_VERSION, Store, TABLES};
use serde_json::Value;

const SQLITE_0_1_0: &str = include_str!("../fixtures/schema-0.1.0/sqlite.sql");
const POSTGRES_0_1_0: &str = include_str!("../fixtures/schema-0.1.0/postgres.sql");

/// A JSON value with its object keys sorted, as text (PostgreSQL's jsonb reorders keys).
fn canonical(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let sorted: BTreeMap<&String, Value> =
                    m.iter().map(|(k, v)| (k, sort(v))).collect();
                Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(v).to_string()
}

/// Every table's raw JSON rows and the meta tables' rows, read by SQL from outside the store.
async fn snapshot_sqlite(pool: &sqlx::SqlitePool) -> BTreeMap<String, Vec<String>> {
    use sqlx::Row as _;
    let mut out = BTreeMap::new();
    for t in TABLES {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT \"raw\" FROM \"{}\"",
            t.name
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        let mut v: Vec<String> = rows
            .iter()
            .map(|r| canonical(&serde_json::from_str(&r.get::<String, _>(0)).unwrap()))
            .collect();
        v.sort();
        out.insert(t.name.to_string(), v);
    }
    for (meta, cols) in META {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {cols} FROM \"{meta}\""
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        let mut v: Vec<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
        v.sort();
        out.insert(meta.to_string(), v);
    }
    out
}

async fn snapshot_pg(pool: &sqlx::PgPool) -> BTreeMap<String, Vec<String>> {
    use sqlx::Row as _;
    let mut out = BTreeMap::new();
    for t in TABLES {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT \"raw\"::text FROM \"{}\"",
            t.name
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        let mut v: Vec<String> = rows
            .iter()
            .map(|r| canonical(&serde_json::from_str(&r.get::<String, _>(0)).unwrap()))
            .collect();
        v.sort();
        out.insert(t.name.to_string(), v);
    }
    for (meta, cols) in META_PG {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {cols} FROM \"{meta}\""
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        let mut v: Vec<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
        v.sort();
        out.insert(meta.to_string(), v);
    }
    out
}

/// The meta tables' rows as one text each (the keys and what identifies the content).
const META: &[(&str, &str)] = &[
    (
        "checkpoints",
        "\"scope\" || '|' || \"endpoint\" || '|' || \"value\"",
    ),
    (
        "id_map",
        "\"source_system\" || '|' || \"source_id\" || '|' || \"target_id\"",
    ),
    ("runs", "\"id\" || '|' || \"job\" || '|' || \"status\""),
];
const META_PG: &[(&str, &str)] = &[
    (
        "checkpoints",
        "\"scope\" || '|' || \"endpoint\" || '|' || (\"value\"->>'state')",
    ),
    (
        "id_map",
        "\"source_system\" || '|' || \"source_id\" || '|' || \"target_id\"",
    ),
    (
        "runs",
        "\"id\"::text || '|' || \"job\" || '|' || \"status\"",
    ),
];

async fn check_upgraded(store: &Store, before: &BTreeMap<String, Vec<String>>) {
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    for t in TABLES {
        let mut want: Vec<String> = t.columns.iter().map(|c| c.name.to_string()).collect();
        want.push(RAW_COLUMN.into());
        want.push(SYNCED_AT_COLUMN.into());
        assert_eq!(
            store.table_columns(t.name).await.unwrap(),
            want,
            "{}: the upgraded table lacks a catalog column (add a migration)",
            t.name
        );
        let mut got: Vec<String> = store
            .rows_raw(t.name)
            .await
            .unwrap()
            .iter()
            .map(canonical)
            .collect();
        got.sort();
        assert_eq!(
            &got, &before[t.name],
            "{}: rows survive the upgrade",
            t.name
        );
    }
    // The knowledge base's tables (migration 6) exist, empty, with their catalog columns.
    for t in kb_store::KM_TABLES {
        let mut want: Vec<String> = t.columns.iter().map(|c| c.name.to_string()).collect();
        want.push(RAW_COLUMN.into());
        want.push(SYNCED_AT_COLUMN.into());
        assert_eq!(
            store.table_columns(t.name).await.unwrap(),
            want,
            "{}",
            t.name
        );
        assert!(
            store.rows_raw(t.name).await.unwrap().is_empty(),
            "{}",
            t.name
        );
    }
    let filled = TABLES.iter().filter(|t| !before[t.name].is_empty()).count();
    assert!(
        filled >= TABLES.len() - 1,
        "the fixture fills {filled} tables"
    );
    assert!(store.table_columns("attachment_files").await.unwrap().len() > 1);
    assert!(!store.runs().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_0_1_0_sqlite_database_upgrades_with_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kbridge.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::raw_sql(SQLITE_0_1_0).execute(&pool).await.unwrap();
    let before = snapshot_sqlite(&pool).await;
    pool.close().await;
    assert!(before["pages"].len() > 1, "{:?}", before.keys());
    let store = Store::open(path.to_str().unwrap()).await.unwrap();
    check_upgraded(&store, &before).await;
    store.close().await;
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let after = snapshot_sqlite(&pool).await;
    assert_eq!(after, before, "meta tables and rows, read from outside");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_0_1_0_postgres_database_upgrades_with_every_row() {
    let Some(url) = tokio::task::spawn_blocking(|| kb_testkit::postgres::database("upgrade_0_1_0"))
        .await
        .unwrap()
    else {
        return;
    };
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::raw_sql(POSTGRES_0_1_0).execute(&pool).await.unwrap();
    pool.close().await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let before = snapshot_pg(&pool).await;
    pool.close().await;
    assert!(before["pages"].len() > 1);
    let store = Store::open(&url).await.unwrap();
    check_upgraded(&store, &before).await;
    store.close().await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    assert_eq!(snapshot_pg(&pool).await, before);
}

/// Made the fixtures (kept for the record; it writes with today's schema, so the fixtures were
/// cut back to migration 1 by hand: `DROP TABLE attachment_files`, `DELETE FROM
/// schema_migrations WHERE version > 1`, then dumped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes a fixture database at $KB_FIXTURE_URL"]
async fn make_fixture() {
    let Ok(url) = std::env::var("KB_FIXTURE_URL") else {
        return;
    };
    let handle = kb_sim::start(kb_sim::SimConfig::default()).await.unwrap();
    let twin = crate::twin::Twin {
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
        origin: handle.url(),
        _handle: handle,
    };
    let rows = crate::twin::collect(&twin).await;
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    let mut b = kb_store::Batch::new();
    for r in rows {
        let n = per.entry(r.table.clone()).or_default();
        if *n < 3 {
            *n += 1;
            b.upsert(r);
        }
    }
    b.set_checkpoint(
        "confluence:fixture",
        "spaces",
        serde_json::json!({"state": "done", "hwm": 1}),
    );
    b.map_id(kb_store::IdMapEntry {
        source_system: "notion".into(),
        source_id: "n1".into(),
        target_system: "confluence".into(),
        target_id: "c1".into(),
        content_hash: Some("abc".into()),
    });
    let store = Store::open(&url).await.unwrap();
    store.commit(&b).await.unwrap();
    let id = store.start_run("extract confluence").await.unwrap();
    store
        .finish_run(
            id,
            &kb_store::RunEnd {
                status: kb_store::RunStatus::Succeeded,
                counts: serde_json::json!({"pages": 3}),
                requests: serde_json::json!({"total": 9}),
                errors: serde_json::json!([]),
            },
        )
        .await
        .unwrap();
    store.close().await;
}
