//! A fresh store of either backend per test, and raw SQL access for checks from outside.

use kb_store::{Dialect, Store};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Ctx {
    pub backend: Backend,
    pub store: Store,
    /// What `Store::open` was given.
    pub url: String,
    /// Keeps the SQLite file's directory alive.
    pub _dir: Option<tempfile::TempDir>,
}

impl Ctx {
    /// A fresh, migrated store; `None` (the harness said `SKIPPED`) without PostgreSQL binaries.
    pub async fn new(backend: Backend, test: &str) -> Option<Ctx> {
        let (url, dir) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = dir.path().join("kbridge.db").display().to_string();
                (url, Some(dir))
            }
            Backend::Postgres => {
                let url = tokio::task::spawn_blocking({
                    let test = test.to_string();
                    move || kb_testkit::postgres::database(&test)
                })
                .await
                .unwrap()?;
                (url, None)
            }
        };
        let store = Store::open(&url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
        let expected = match backend {
            Backend::Sqlite => Dialect::Sqlite,
            Backend::Postgres => Dialect::Postgres,
        };
        assert_eq!(store.dialect(), expected);
        Some(Ctx {
            backend,
            store,
            url,
            _dir: dir,
        })
    }

    /// Runs SQL on the database behind the store's back (a separate connection).
    pub async fn exec_raw(&self, sql: &'static str) {
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", self.url))
                    .await
                    .unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }
}

/// A page in the v2 shape (`PageBulk`).
pub fn page(id: &str, space: &str, version: i64, title: &str) -> Value {
    json!({
        "id": id,
        "status": "current",
        "title": title,
        "spaceId": space,
        "parentId": "1",
        "parentType": "page",
        "position": 3,
        "authorId": "712020:aaaa",
        "ownerId": "712020:aaaa",
        "createdAt": "2024-03-01T10:00:00.000Z",
        "version": {
            "createdAt": "2024-03-02T11:00:00.000Z",
            "message": "",
            "number": version,
            "minorEdit": false,
            "authorId": "712020:bbbb"
        },
        "body": {"storage": {"value": format!("<p>{title} v{version}</p>"), "representation": "storage"}},
        "_links": {"webui": format!("/spaces/ENG/pages/{id}"), "editui": "", "tinyui": ""}
    })
}

/// A label (`Label`).
pub fn label(id: &str, name: &str) -> Value {
    json!({"id": id, "name": name, "prefix": "global"})
}
