//! `kb_store::inspect`: what a URL holds, read-only, on both backends.

use kb_store::{Batch, Existing, Store, inspect};

const MARK: (&str, &str) = ("quickstart", "store");

async fn lifecycle(url: &str, files: Option<&std::path::Path>) {
    let before = inspect(url, MARK).await.unwrap();
    assert!(
        matches!(before, Existing::Absent | Existing::Empty),
        "{before:?}"
    );
    if let Some(p) = files {
        assert!(!p.exists(), "inspecting creates nothing");
    }
    let store = Store::open(url).await.unwrap();
    store.close().await;
    assert_eq!(
        inspect(url, MARK).await.unwrap(),
        Existing::Kbridge { marked: false }
    );
    let store = Store::open(url).await.unwrap();
    let mut b = Batch::new();
    b.set_checkpoint(MARK.0, MARK.1, serde_json::json!({"seed": 1}));
    store.commit(&b).await.unwrap();
    store.close().await;
    assert_eq!(
        inspect(url, MARK).await.unwrap(),
        Existing::Kbridge { marked: true }
    );
}

#[tokio::test]
async fn sqlite_files_are_inspected_without_being_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.db");
    let url = path.to_str().unwrap().to_string();
    lifecycle(&url, Some(&path)).await;
    let bytes = std::fs::read(&path).unwrap();
    let _ = inspect(&url, MARK).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "read-only");
    std::fs::write(dir.path().join("empty.db"), b"").unwrap();
    assert_eq!(
        inspect(dir.path().join("empty.db").to_str().unwrap(), MARK)
            .await
            .unwrap(),
        Existing::Empty
    );
    std::fs::write(dir.path().join("text.db"), b"not sqlite").unwrap();
    assert!(
        inspect(dir.path().join("text.db").to_str().unwrap(), MARK)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn postgres_databases_are_inspected_read_only() {
    let Some(url) = kb_testkit::postgres::database("inspect") else {
        return;
    };
    lifecycle(&url, None).await;
    let Some(other) = kb_testkit::postgres::database("inspect_foreign") else {
        return;
    };
    let server = kb_testkit::postgres::server().unwrap();
    let name = other.rsplit('/').next().unwrap();
    server.psql(
        name,
        "CREATE TABLE pages (id int); CREATE TABLE invoices (id int);",
    );
    match inspect(&other, MARK).await.unwrap() {
        Existing::Foreign { tables } => {
            assert!(
                tables.contains(&"invoices".to_string()) && tables.contains(&"pages".to_string()),
                "{tables:?}"
            );
        }
        e => panic!("{e:?}"),
    }
}
