//! Opening: what each URL means, and errors that name the database without its password.

use kb_store::{Batch, Dialect, Row, Store, StoreError};
use serde_json::json;

#[tokio::test]
async fn bad_urls_are_named() {
    for url in ["mysql://kb@db/kb", "", "https://example.com/kb.db"] {
        let err = Store::open(url).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StoreError::BadUrl { .. }), "{url}: {err:?}");
        assert!(
            msg.contains("sqlite::memory:") && msg.contains("postgres://"),
            "{msg}"
        );
    }
}

#[tokio::test]
async fn unreachable_postgres_is_named_without_its_password() {
    // port 1 on loopback: nothing listens there
    let err = Store::open("postgres://kb:s3cret-pw@127.0.0.1:1/kb?sslmode=disable")
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(!msg.contains("s3cret-pw"), "{msg}");
    assert!(
        msg.contains("postgres://kb@127.0.0.1:1/kb") && msg.contains("server is running"),
        "{msg}"
    );
    assert!(
        !format!("{err:?}").contains("s3cret-pw"),
        "Debug leaks the password"
    );
}

#[tokio::test]
async fn sqlite_in_a_missing_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/kbridge.db");
    let err = Store::open(&path.display().to_string()).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("no/such/dir/kbridge.db") && msg.contains("writable"),
        "{msg}"
    );
    // the sqlite:// form names the same file
    let url = format!("sqlite://{}", dir.path().join("kb.db").display());
    let s = Store::open(&url).await.unwrap();
    assert_eq!(s.dialect(), Dialect::Sqlite);
    assert!(dir.path().join("kb.db").is_file());
}

#[tokio::test]
async fn memory_store_keeps_its_data_while_open() {
    let s = Store::open("sqlite::memory:").await.unwrap();
    let mut b = Batch::new();
    b.upsert(Row::new("groups", json!({"id": "g", "name": "n"})));
    s.commit(&b).await.unwrap();
    // later calls use the same (only) connection, so the same database
    for _ in 0..3 {
        assert_eq!(s.counts().await.unwrap()["groups"], 1);
    }
    let other = Store::open("sqlite::memory:").await.unwrap();
    assert_eq!(
        other.counts().await.unwrap()["groups"],
        0,
        "each memory store is private"
    );
}
