//! The conformance suite: every function here runs against both backends.

use kb_store::schema::{RAW_COLUMN, SYNCED_AT_COLUMN};
use kb_store::{
    Batch, Expect, Filter, IdMapEntry, Row, RunEnd, RunStatus, SCHEMA_VERSION, Store, StoreError,
    TABLES,
};
use serde_json::{Value, json};

pub use crate::killed::killed_writer_leaves_the_last_checkpoint;
pub use crate::twin::typed_columns_match_the_twin;

use crate::support::{Backend, Ctx, label, page};

async fn titles(store: &Store) -> Vec<(String, i64)> {
    store
        .rows_typed("pages")
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r["title"].as_str().unwrap().to_string(),
                r["version_number"].as_i64().unwrap(),
            )
        })
        .collect()
}

pub async fn migrations_apply_and_reapply(ctx: Ctx) {
    let s = &ctx.store;
    assert_eq!(s.schema_version().await.unwrap(), SCHEMA_VERSION);
    assert_eq!(
        s.migrate().await.unwrap(),
        Vec::<i64>::new(),
        "nothing left to apply"
    );
    // every table has exactly the catalog's columns, then raw and synced_at
    for t in TABLES {
        let mut want: Vec<String> = t.columns.iter().map(|c| c.name.to_string()).collect();
        want.push(RAW_COLUMN.into());
        want.push(SYNCED_AT_COLUMN.into());
        assert_eq!(s.table_columns(t.name).await.unwrap(), want, "{}", t.name);
    }
    for (meta, col) in [
        ("checkpoints", "value"),
        ("runs", "counts"),
        ("id_map", "content_hash"),
        ("attachment_files", "sha256"),
        ("schema_migrations", "version"),
    ] {
        let cols = s.table_columns(meta).await.unwrap();
        assert!(cols.iter().any(|c| c == col), "{meta}: {cols:?}");
    }
    let mut b = Batch::new();
    b.upsert(Row::new("pages", page("1", "9", 1, "Home")));
    s.commit(&b).await.unwrap();
    s.close().await;
    // opening again migrates nothing and keeps the data
    let again = Store::open(&ctx.url).await.unwrap();
    assert_eq!(again.schema_version().await.unwrap(), SCHEMA_VERSION);
    assert_eq!(again.counts().await.unwrap()["pages"], 1);
    assert_eq!(again.counts().await.unwrap().len(), TABLES.len());
}

pub async fn newer_schema_is_refused(ctx: Ctx) {
    ctx.store.close().await;
    ctx.exec_raw(
        "INSERT INTO schema_migrations (version, name, applied_at, kbridge_version) \
         VALUES (999, 'from the future', '2030-01-01T00:00:00.000Z', '9.0.0')",
    )
    .await;
    let err = Store::open(&ctx.url).await.unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found: 999, known, .. } if known == SCHEMA_VERSION),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("newer kbridge") && msg.contains("upgrade kbridge"),
        "{msg}"
    );
}

pub async fn upserts_are_idempotent(ctx: Ctx) {
    let s = &ctx.store;
    let mut b = Batch::new();
    b.upsert(Row::new("pages", page("10", "9", 2, "A")))
        .upsert(Row::new("pages", page("11", "9", 1, "B")))
        .upsert(Row::new("page_labels", label("7", "howto")).with("page_id", "10"));
    let first = s.commit(&b).await.unwrap();
    assert_eq!(first.written, 3);
    let raw_before = s.rows_raw("pages").await.unwrap();
    let second = s.commit(&b).await.unwrap();
    assert_eq!(second.written, 3, "same version: rewritten, not duplicated");
    let counts = s.counts().await.unwrap();
    assert_eq!((counts["pages"], counts["page_labels"]), (2, 1));
    assert_eq!(s.rows_raw("pages").await.unwrap(), raw_before);
    // the same row twice in one batch is one row
    let mut twice = Batch::new();
    twice
        .upsert(Row::new("pages", page("12", "9", 1, "C")))
        .upsert(Row::new("pages", page("12", "9", 1, "C")));
    let sum = s.commit(&twice).await.unwrap();
    assert_eq!((sum.written, sum.stale), (1, 1));
    assert_eq!(s.counts().await.unwrap()["pages"], 3);
}

pub async fn older_versions_never_overwrite_newer(ctx: Ctx) {
    let s = &ctx.store;
    let mut b = Batch::new();
    b.upsert(Row::new("pages", page("20", "9", 3, "v3")));
    s.commit(&b).await.unwrap();

    let mut older = Batch::new();
    older.upsert(Row::new("pages", page("20", "9", 2, "v2")));
    let sum = s.commit(&older).await.unwrap();
    assert_eq!((sum.written, sum.stale), (0, 1));
    assert_eq!(titles(s).await, [("v3".to_string(), 3)]);

    let mut newer = Batch::new();
    newer.upsert(Row::new("pages", page("20", "9", 4, "v4")));
    s.commit(&newer).await.unwrap();
    assert_eq!(titles(s).await, [("v4".to_string(), 4)]);

    // in one batch, newest first: the newest still wins
    let mut mixed = Batch::new();
    mixed
        .upsert(Row::new("pages", page("20", "9", 6, "v6")))
        .upsert(Row::new("pages", page("20", "9", 5, "v5")));
    let sum = s.commit(&mixed).await.unwrap();
    assert_eq!((sum.written, sum.stale), (1, 1));
    assert_eq!(titles(s).await, [("v6".to_string(), 6)]);

    // a row without a version does not replace a versioned one
    let mut unversioned = page("20", "9", 0, "no version");
    unversioned.as_object_mut().unwrap().remove("version");
    let mut b = Batch::new();
    b.upsert(Row::new("pages", unversioned));
    s.commit(&b).await.unwrap();
    assert_eq!(titles(s).await, [("v6".to_string(), 6)]);
    // and the raw JSON is the v6 one, whole
    assert_eq!(
        s.rows_raw("pages").await.unwrap(),
        [page("20", "9", 6, "v6")]
    );
    // tables without a version column take the latest write
    let mut b = Batch::new();
    b.upsert(Row::new(
        "groups",
        json!({"id": "g1", "name": "old", "type": "group"}),
    ));
    s.commit(&b).await.unwrap();
    let mut b = Batch::new();
    b.upsert(Row::new(
        "groups",
        json!({"id": "g1", "name": "new", "type": "group"}),
    ));
    s.commit(&b).await.unwrap();
    assert_eq!(s.rows_typed("groups").await.unwrap()[0]["name"], "new");
}

pub async fn replace_set_deletes_what_vanished(ctx: Ctx) {
    let s = &ctx.store;
    let lab = |page: &str, id: &str, name: &str| {
        Row::new("page_labels", label(id, name)).with("page_id", page)
    };
    let mut b = Batch::new();
    b.upsert_all([
        lab("42", "1", "a"),
        lab("42", "2", "b"),
        lab("42", "3", "c"),
        lab("43", "1", "a"),
    ]);
    s.commit(&b).await.unwrap();

    let mut r = Batch::new();
    r.replace_set(
        "page_labels",
        Filter::all().eq("page_id", "42"),
        vec![lab("42", "2", "b-renamed"), lab("42", "4", "d")],
    );
    let sum = s.commit(&r).await.unwrap();
    assert_eq!((sum.written, sum.deleted), (2, 2));
    assert_eq!(
        s.keys("page_labels", &Filter::all()).await.unwrap(),
        [
            vec![json!("42"), json!("2")],
            vec![json!("42"), json!("4")],
            vec![json!("43"), json!("1")]
        ],
        "page 43's labels are untouched"
    );
    let names: Vec<Value> = s
        .rows_typed("page_labels")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, [json!("b-renamed"), json!("d"), json!("a")]);

    // an empty set empties the group
    let mut r = Batch::new();
    r.replace_set("page_labels", Filter::all().eq("page_id", "42"), vec![]);
    assert_eq!(s.commit(&r).await.unwrap().deleted, 2);
    assert_eq!(s.counts().await.unwrap()["page_labels"], 1);

    // a row outside the filter is a mistake, refused
    let mut r = Batch::new();
    r.replace_set(
        "page_labels",
        Filter::all().eq("page_id", "43"),
        vec![lab("44", "9", "x")],
    );
    let err = s.commit(&r).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::BadRow { field, .. } if field == "page_id"),
        "{err}"
    );
    assert_eq!(s.counts().await.unwrap()["page_labels"], 1);
    // a filter on an unknown column is named
    let mut r = Batch::new();
    r.replace_set("page_labels", Filter::all().eq("pageId", "43"), vec![]);
    let msg = s.commit(&r).await.unwrap_err().to_string();
    assert!(msg.contains("pageId") && msg.contains("page_id"), "{msg}");
}

pub async fn deletes_by_key(ctx: Ctx) {
    let s = &ctx.store;
    let mut b = Batch::new();
    b.upsert(Row::new("pages", page("30", "9", 1, "x")))
        .upsert(Row::new("pages", page("31", "9", 1, "y")))
        .upsert(
            Row::new("page_versions", json!({"number": 1, "authorId": "u", "createdAt": "2024-01-01T00:00:00Z", "message": "", "minorEdit": false}))
                .with("page_id", "30"),
        )
        .upsert(
            Row::new("page_versions", json!({"number": 2, "authorId": "u", "createdAt": "2024-01-02T00:00:00Z", "message": "", "minorEdit": true}))
                .with("page_id", "30"),
        );
    s.commit(&b).await.unwrap();
    let mut d = Batch::new();
    d.delete("pages", vec![json!("30")])
        .delete("page_versions", vec![json!("30"), json!(1)])
        .delete("pages", vec![json!("nope")]);
    assert_eq!(s.commit(&d).await.unwrap().deleted, 2);
    assert_eq!(s.ids("pages", &Filter::all()).await.unwrap(), ["31"]);
    assert_eq!(
        s.keys("page_versions", &Filter::all()).await.unwrap(),
        [vec![json!("30"), json!(2)]]
    );
    let mut bad = Batch::new();
    bad.delete("page_versions", vec![json!("30")]);
    let msg = s.commit(&bad).await.unwrap_err().to_string();
    assert!(
        msg.contains("page_versions") && msg.contains("2 values, 1 given"),
        "{msg}"
    );
}

pub async fn checkpoint_compare_and_set(ctx: Ctx) {
    let s = &ctx.store;
    assert_eq!(s.checkpoint("space:ENG", "pages").await.unwrap(), None);
    let cp1 = json!({"high_water": "2024-03-01T10:00:00.000Z", "cursor": null, "ids": [1, 2]});
    let mut b = Batch::new();
    b.advance_checkpoint("space:ENG", "pages", None, cp1.clone());
    s.commit(&b).await.unwrap();
    assert_eq!(
        s.checkpoint("space:ENG", "pages").await.unwrap(),
        Some(cp1.clone())
    );

    // expecting none when there is one: conflict, with both values named
    let mut b = Batch::new();
    b.upsert(Row::new("pages", page("50", "9", 1, "lost")))
        .advance_checkpoint("space:ENG", "pages", None, json!({"x": 1}));
    let err = s.commit(&b).await.unwrap_err();
    match &err {
        StoreError::CheckpointConflict(c) => {
            assert_eq!(
                (c.scope.as_str(), c.endpoint.as_str()),
                ("space:ENG", "pages")
            );
            assert_eq!(c.expected, None);
            assert_eq!(c.found, Some(cp1.clone()));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("space:ENG/pages"), "{err}");
    assert_eq!(
        s.counts().await.unwrap()["pages"],
        0,
        "the batch's rows were rolled back"
    );

    // the right expectation (keys in another order: compared as JSON) moves it on
    let same_in_other_order: Value = serde_json::from_str(
        r#"{"ids": [1, 2], "cursor": null, "high_water": "2024-03-01T10:00:00.000Z"}"#,
    )
    .unwrap();
    let cp2 = json!({"high_water": "2024-03-02T00:00:00.000Z"});
    let mut b = Batch::new();
    b.upsert(Row::new("pages", page("51", "9", 1, "kept")))
        .advance_checkpoint("space:ENG", "pages", Some(same_in_other_order), cp2.clone());
    let sum = s.commit(&b).await.unwrap();
    assert_eq!((sum.written, sum.checkpoints), (1, 1));

    // a stale expectation (a replayed batch) conflicts
    let mut b = Batch::new();
    b.advance_checkpoint("space:ENG", "pages", Some(cp1.clone()), json!({"x": 2}));
    assert!(matches!(
        s.commit(&b).await.unwrap_err(),
        StoreError::CheckpointConflict(c) if c.found == Some(cp2.clone())
    ));
    assert_eq!(
        s.checkpoint("space:ENG", "pages").await.unwrap(),
        Some(cp2.clone())
    );

    // Expect::Any overwrites; other scopes are independent; all are listed in order
    let mut b = Batch::new();
    b.checkpoint("space:ENG", "blog_posts", Expect::Any, json!(7))
        .set_checkpoint("space:ENG", "blog_posts", json!(8))
        .set_checkpoint("site", "groups", json!("done"));
    s.commit(&b).await.unwrap();
    let all = s.checkpoints().await.unwrap();
    let listed: Vec<(&str, &str, &Value)> = all
        .iter()
        .map(|c| (c.scope.as_str(), c.endpoint.as_str(), &c.value))
        .collect();
    assert_eq!(
        listed,
        [
            ("site", "groups", &json!("done")),
            ("space:ENG", "blog_posts", &json!(8)),
            ("space:ENG", "pages", &cp2)
        ]
    );
    assert!(
        all.iter()
            .all(|c| kb_store::time::parse_rfc3339(&c.updated_at).is_some()),
        "{all:?}"
    );

    // clearing: compare-and-set too
    let mut b = Batch::new();
    b.clear_checkpoint("site", "groups", Expect::Value(json!("other")));
    assert!(matches!(
        s.commit(&b).await.unwrap_err(),
        StoreError::CheckpointConflict(c) if c.found == Some(json!("done"))
    ));
    let mut b = Batch::new();
    b.clear_checkpoint("site", "groups", Expect::Value(json!("done")))
        .clear_checkpoint("site", "never-written", Expect::Absent)
        .clear_checkpoint("space:ENG", "blog_posts", Expect::Any);
    s.commit(&b).await.unwrap();
    assert_eq!(s.checkpoint("site", "groups").await.unwrap(), None);
    assert_eq!(s.checkpoints().await.unwrap().len(), 1);
}

pub async fn failing_batch_leaves_nothing(ctx: Ctx) {
    let s = &ctx.store;
    let mut setup = Batch::new();
    setup
        .upsert(Row::new("pages", page("60", "9", 1, "before")))
        .set_checkpoint("s", "pages", json!(1));
    s.commit(&setup).await.unwrap();
    let before_pages = s.rows_raw("pages").await.unwrap();

    // a bad row at the end rejects rows, deletes, replace-sets and checkpoints before it
    let mut b = Batch::new();
    b.upsert(Row::new("pages", page("60", "9", 2, "after")))
        .upsert(Row::new("pages", page("61", "9", 1, "new")))
        .delete("pages", vec![json!("60")])
        .replace_set("page_labels", Filter::all().eq("page_id", "60"), vec![])
        .set_checkpoint("s", "pages", json!(2))
        .map_id(IdMapEntry {
            source_system: "notion".into(),
            source_id: "n1".into(),
            target_system: "confluence".into(),
            target_id: "60".into(),
            content_hash: None,
        })
        .upsert(Row::new("page_labels", label("1", "a"))); // no page_id
    let err = s.commit(&b).await.unwrap_err();
    assert!(matches!(err, StoreError::BadRow { .. }), "{err:?}");
    assert_eq!(s.rows_raw("pages").await.unwrap(), before_pages);
    assert_eq!(s.checkpoint("s", "pages").await.unwrap(), Some(json!(1)));
    assert_eq!(
        s.mapped_id("notion", "n1", "confluence").await.unwrap(),
        None
    );

    // a failure inside the transaction (the checkpoint conflict comes after the writes) rolls
    // back what was already written
    let mut b = Batch::new();
    b.upsert(Row::new("pages", page("60", "9", 2, "after")))
        .upsert(Row::new("pages", page("61", "9", 1, "new")))
        .delete("pages", vec![json!("60")])
        .advance_checkpoint("s", "pages", Some(json!(0)), json!(2));
    assert!(matches!(
        s.commit(&b).await.unwrap_err(),
        StoreError::CheckpointConflict(_)
    ));
    assert_eq!(s.rows_raw("pages").await.unwrap(), before_pages);
    assert_eq!(s.checkpoint("s", "pages").await.unwrap(), Some(json!(1)));

    // an unknown table is named, with the known ones
    let mut b = Batch::new();
    b.upsert(Row::new("pagez", json!({"id": "1"})));
    let msg = s.commit(&b).await.unwrap_err().to_string();
    assert!(
        msg.contains("\"pagez\"") && msg.contains("page_labels"),
        "{msg}"
    );
    assert!(matches!(
        s.rows_raw("nope").await.unwrap_err(),
        StoreError::UnknownTable { .. }
    ));
    // the store still works
    assert_eq!(s.counts().await.unwrap()["pages"], 1);
}

pub async fn bad_rows_are_named(ctx: Ctx) {
    let s = &ctx.store;
    let cases: Vec<(Row, &str, &str)> = vec![
        (
            Row::new("pages", json!({"title": "no id", "spaceId": "9"})),
            "id (JSON /id)",
            "primary-key field is missing",
        ),
        (
            Row::new("page_labels", label("5", "x")),
            "page_id",
            "Row::with(\"page_id\"",
        ),
        (
            Row::new("attachments", json!({"id": "att1", "fileSize": "big"})),
            "file_size",
            "expected an integer",
        ),
        (
            Row::new(
                "pages",
                json!({"id": "1", "spaceId": "9", "createdAt": "last tuesday"}),
            ),
            "created_at",
            "RFC 3339",
        ),
        (
            Row::new("pages", json!({"id": "1", "spaceId": {"id": "9"}})),
            "space_id",
            "found an object",
        ),
        (
            Row::new("pages", json!(["not", "an", "object"])),
            "raw",
            "JSON object",
        ),
    ];
    for (row, field, problem) in cases {
        let mut b = Batch::new();
        b.upsert(row.clone());
        let err = s.commit(&b).await.unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, StoreError::BadRow { .. })
                && msg.contains(&row.table)
                && msg.contains(field)
                && msg.contains(problem),
            "{row:?}: {msg}"
        );
    }
    assert!(s.counts().await.unwrap().values().all(|n| *n == 0));
}

pub async fn raw_json_round_trips(ctx: Ctx) {
    let s = &ctx.store;
    let odd = json!({
        "id": "70",
        "spaceId": "9",
        "title": "Ünïcödé 한국어 日本語 \"quotes\" \\ back\tslash\n",
        "emoji": "🦀",
        "big": i64::MAX,
        "huge": u64::MAX,
        "negative": -42,
        "float": 1.5,
        "tiny": 1e-7,
        "nested": {"a": [1, [2, [3, {}]], []], "b": null, "c": false},
        "empty": {},
        "version": {"number": 1},
        "body": {"storage": {"value": "<p>&amp; &lt;ac:structured-macro ac:name=\"toc\"/&gt;</p>", "representation": "storage"}}
    });
    let mut b = Batch::new();
    b.upsert(Row::new("pages", odd.clone()));
    s.commit(&b).await.unwrap();
    let back = s.rows_raw("pages").await.unwrap();
    assert_eq!(back, std::slice::from_ref(&odd));
    let typed = &s.rows_typed("pages").await.unwrap()[0];
    assert_eq!(typed["title"], odd["title"]);
    assert_eq!(typed["body_storage"], odd["body"]["storage"]["value"]);
    // ordered by primary key, byte order on both backends
    let mut b = Batch::new();
    for id in ["b", "B", "a", "10", "9", "é"] {
        b.upsert(Row::new("groups", json!({"id": id, "name": id})));
    }
    s.commit(&b).await.unwrap();
    assert_eq!(
        s.ids("groups", &Filter::all()).await.unwrap(),
        ["10", "9", "B", "a", "b", "é"]
    );
}

pub async fn large_batches_commit_in_chunks(ctx: Ctx) {
    let s = &ctx.store;
    // more rows than one statement can bind: several multi-row statements, one transaction
    let n = 5000;
    let mut b = Batch::new();
    b.upsert_all(
        (0..n).map(|i| Row::new("pages", page(&format!("p{i:05}"), "9", 1, &format!("t{i}")))),
    );
    b.set_checkpoint("space:9", "pages", json!({"done": n}));
    let sum = s.commit(&b).await.unwrap();
    assert_eq!(sum.written, n as u64);
    assert_eq!(s.counts().await.unwrap()["pages"], n as u64);
    // again: idempotent
    s.commit(&b).await.unwrap();
    let ids = s
        .ids("pages", &Filter::all().eq("space_id", "9"))
        .await
        .unwrap();
    assert_eq!(ids.len(), n);
    assert_eq!(ids.first().map(String::as_str), Some("p00000"));
    assert_eq!(ids.last().map(String::as_str), Some("p04999"));
    // a replace-set over thousands of rows deletes the vanished ones
    let mut r = Batch::new();
    r.replace_set(
        "pages",
        Filter::all().eq("space_id", "9"),
        (0..n)
            .filter(|i| i % 2 == 0)
            .map(|i| Row::new("pages", page(&format!("p{i:05}"), "9", 1, &format!("t{i}"))))
            .collect(),
    );
    assert_eq!(s.commit(&r).await.unwrap().deleted, (n / 2) as u64);
    assert_eq!(s.counts().await.unwrap()["pages"], (n / 2) as u64);
}

pub async fn concurrent_writers_across_tasks(ctx: Ctx) {
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = ctx.store.clone();
        tasks.push(tokio::spawn(async move {
            for k in 0..10 {
                let mut b = Batch::new();
                b.upsert_all((0..20).map(|i| {
                    Row::new(
                        "pages",
                        page(&format!("w{w}-{k}-{i}"), &format!("s{w}"), 1, "x"),
                    )
                }));
                b.advance_checkpoint(
                    format!("writer:{w}"),
                    "pages",
                    (k > 0).then(|| json!(k - 1)),
                    json!(k),
                );
                store.commit(&b).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let s = &ctx.store;
    assert_eq!(s.counts().await.unwrap()["pages"], 4 * 10 * 20);
    for w in 0..4 {
        assert_eq!(
            s.checkpoint(&format!("writer:{w}"), "pages").await.unwrap(),
            Some(json!(9))
        );
        assert_eq!(
            s.ids("pages", &Filter::all().eq("space_id", format!("s{w}")))
                .await
                .unwrap()
                .len(),
            200
        );
    }
}

pub async fn runs_are_recorded(ctx: Ctx) {
    let s = &ctx.store;
    let a = s.start_run("extract confluence").await.unwrap();
    let b = s.start_run("extract confluence").await.unwrap();
    assert!(b > a);
    let end = RunEnd {
        status: RunStatus::Succeeded,
        counts: json!({"pages": 512, "spaces": 3}),
        requests: json!({"GET /wiki/api/v2/pages": 3, "429": 0}),
        errors: json!([]),
    };
    let progress = RunEnd {
        status: RunStatus::Running,
        counts: json!({"pages": 250}),
        requests: json!({"GET /wiki/api/v2/pages": 1}),
        errors: json!([]),
    };
    s.update_run(a, &progress).await.unwrap();
    let mid = &s.runs().await.unwrap()[0];
    assert_eq!(
        (mid.status, &mid.counts, &mid.ended_at),
        (RunStatus::Running, &progress.counts, &None)
    );
    s.finish_run(a, &end).await.unwrap();
    let failed = RunEnd {
        status: RunStatus::Failed,
        counts: json!({}),
        requests: json!({}),
        errors: json!([{"endpoint": "pages", "error": "401 from …: check CONFLUENCE_API_TOKEN"}]),
    };
    s.finish_run(b, &failed).await.unwrap();
    let c = s.start_run("migrate").await.unwrap();
    let runs = s.runs().await.unwrap();
    // what `--json` prints
    let shown = serde_json::to_value(&runs[1]).unwrap();
    assert_eq!(
        (&shown["status"], &shown["errors"]),
        (&json!("failed"), &failed.errors)
    );
    assert_eq!(runs.len(), 3);
    assert_eq!((runs[0].id, runs[0].status), (a, RunStatus::Succeeded));
    assert_eq!(runs[0].counts, end.counts);
    assert_eq!(runs[0].requests, end.requests);
    assert!(runs[0].ended_at.as_deref() >= Some(runs[0].started_at.as_str()));
    assert_eq!(
        (runs[1].status, &runs[1].errors),
        (RunStatus::Failed, &failed.errors)
    );
    assert_eq!((runs[2].id, runs[2].status), (c, RunStatus::Running));
    assert_eq!(runs[2].job, "migrate");
    assert_eq!(runs[2].ended_at, None);
    let err = s.update_run(c + 100, &end).await.unwrap_err();
    assert!(matches!(err, StoreError::UnknownRun { .. }), "{err}");
    let err = s.finish_run(c + 100, &end).await.unwrap_err();
    assert!(matches!(err, StoreError::UnknownRun { .. }), "{err}");
}

pub async fn id_map_round_trips(ctx: Ctx) {
    let s = &ctx.store;
    let entry = |target: &str, hash: Option<&str>| IdMapEntry {
        source_system: "notion".into(),
        source_id: "a1b2".into(),
        target_system: "confluence".into(),
        target_id: target.into(),
        content_hash: hash.map(str::to_string),
    };
    let mut b = Batch::new();
    b.map_id(entry("100", Some("h1")));
    s.commit(&b).await.unwrap();
    let got = s
        .mapped_id("notion", "a1b2", "confluence")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.target_id.as_str(), got.content_hash.as_deref()),
        ("100", Some("h1"))
    );
    let mut b = Batch::new();
    b.map_id(entry("101", None));
    s.commit(&b).await.unwrap();
    let got = s
        .mapped_id("notion", "a1b2", "confluence")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.target_id.as_str(), got.content_hash), ("101", None));
    assert_eq!(s.mapped_id("notion", "a1b2", "notion").await.unwrap(), None);
}

pub async fn ids_and_keys_filter(ctx: Ctx) {
    let s = &ctx.store;
    let mut b = Batch::new();
    for (id, space) in [("1", "A"), ("2", "B"), ("3", "A")] {
        b.upsert(Row::new("pages", page(id, space, 1, id)));
    }
    b.upsert(
        Row::new("page_ancestors", json!({"id": "1", "type": "page"}))
            .with("page_id", "3")
            .with("depth", 1),
    );
    s.commit(&b).await.unwrap();
    assert_eq!(
        s.ids("pages", &Filter::all().eq("space_id", "A"))
            .await
            .unwrap(),
        ["1", "3"]
    );
    let raw_a = s
        .rows_raw_where("pages", &Filter::all().eq("space_id", "A"))
        .await
        .unwrap();
    assert_eq!(raw_a, [page("1", "A", 1, "1"), page("3", "A", 1, "3")]);
    let typed_b = s
        .rows_typed_where("pages", &Filter::all().eq("space_id", "B"))
        .await
        .unwrap();
    assert_eq!(typed_b.len(), 1);
    assert_eq!(typed_b[0]["id"], "2");
    assert_eq!(
        s.ids("pages", &Filter::all().eq("space_id", "A").eq("title", "3"))
            .await
            .unwrap(),
        ["3"]
    );
    assert_eq!(
        s.ids("page_ancestors", &Filter::all().eq("depth", 1))
            .await
            .unwrap(),
        ["1"]
    );
    let err = s
        .ids("pages", &Filter::all().eq("depth", 1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownColumn { .. }), "{err}");
    let err = s
        .ids("page_ancestors", &Filter::all().eq("depth", "one"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("expected an integer"), "{err}");
    if ctx.backend == Backend::Postgres {
        // the typed columns are real PostgreSQL types
        let url = ctx.url.clone();
        let types = tokio::task::spawn_blocking(move || {
            let name = url.rsplit('/').next().unwrap().to_string();
            kb_testkit::postgres::server().unwrap().psql(
                &name,
                "SELECT column_name || ':' || data_type FROM information_schema.columns \
                 WHERE table_name = 'pages' AND column_name IN ('created_at', 'raw', 'position', 'version_minor_edit') \
                 ORDER BY column_name",
            )
        })
        .await
        .unwrap();
        assert_eq!(
            types.lines().collect::<Vec<_>>(),
            [
                "created_at:timestamp with time zone",
                "position:bigint",
                "raw:jsonb",
                "version_minor_edit:boolean"
            ]
        );
    }
}

pub async fn select_and_max_by(ctx: Ctx) {
    let s = &ctx.store;
    let mut b = Batch::new();
    for (id, space, v) in [("1", "A", 3), ("2", "B", 1), ("3", "A", 2)] {
        b.upsert(Row::new("pages", page(id, space, v, &format!("t{id}"))));
    }
    for (page_id, n) in [("1", 1), ("1", 3), ("1", 2), ("3", 1)] {
        b.upsert(
            Row::new(
                "page_versions",
                json!({"number": n, "createdAt": "2024-03-01T10:00:00.000Z"}),
            )
            .with("page_id", page_id),
        );
    }
    s.commit(&b).await.unwrap();
    // Chosen columns of the matching rows, by primary key, typed.
    let rows = s
        .select(
            "pages",
            &["id", "version_number", "title"],
            &Filter::all().eq("space_id", "A"),
        )
        .await
        .unwrap();
    assert_eq!(
        rows,
        [
            vec![json!("1"), json!(3), json!("t1")],
            vec![json!("3"), json!(2), json!("t3")]
        ]
    );
    // The newest number per page, one row each.
    let mut newest = s
        .max_by("page_versions", "page_id", "number")
        .await
        .unwrap();
    newest.sort_by(|a, b| a.0.as_str().cmp(&b.0.as_str()));
    assert_eq!(newest, [(json!("1"), json!(3)), (json!("3"), json!(1))]);
    // Unknown columns are named.
    let err = s
        .select("pages", &["id", "colour"], &Filter::all())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownColumn { .. }), "{err}");
    let err = s.max_by("pages", "id", "colour").await.unwrap_err();
    assert!(matches!(err, StoreError::UnknownColumn { .. }), "{err}");
}

pub async fn read_filters_and_pages(ctx: Ctx) {
    let s = &ctx.store;
    let mut b = Batch::new();
    for (id, space) in [("1", "A"), ("2", "B"), ("3", "A"), ("4", "C")] {
        b.upsert(Row::new("pages", page(id, space, 1, id)));
    }
    for (page_id, label_id) in [("1", "l1"), ("2", "l2"), ("3", "l3"), ("4", "l4")] {
        b.upsert(Row::new("page_labels", label(label_id, "x")).with("page_id", page_id));
    }
    s.commit(&b).await.unwrap();
    // A column among values; an empty list matches nothing.
    assert_eq!(
        s.ids("pages", &Filter::all().any("id", ["3", "4", "9"]))
            .await
            .unwrap(),
        ["3", "4"]
    );
    assert!(
        s.ids("pages", &Filter::all().any("id", Vec::<String>::new()))
            .await
            .unwrap()
            .is_empty()
    );
    // A column among another table's keys: the labels of the pages of spaces A and C.
    let within = Filter::all().within(
        "page_id",
        "pages",
        "id",
        Filter::all().any("space_id", ["A", "C"]),
    );
    let rows = s
        .select("page_labels", &["label_id", "page_id"], &within)
        .await
        .unwrap();
    assert_eq!(
        rows,
        [
            vec![json!("l1"), json!("1")],
            vec![json!("l3"), json!("3")],
            vec![json!("l4"), json!("4")]
        ]
    );
    // Not written since an instant: rows a later pass did not touch.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let pass = kb_store::time::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let mut b = Batch::new();
    b.upsert(Row::new("pages", page("3", "A", 2, "3b")));
    s.commit(&b).await.unwrap();
    assert_eq!(
        s.ids(
            "pages",
            &Filter::all()
                .eq("space_id", "A")
                .synced_before(pass.as_str())
        )
        .await
        .unwrap(),
        ["1"]
    );
    let err = s
        .ids("pages", &Filter::all().synced_before("yesterday"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("yesterday"), "{err}");
    // Paging by key: two at a time, after the last key seen.
    let mut seen = Vec::new();
    let mut after: Option<Value> = None;
    loop {
        let page = s
            .select_page("pages", &["id"], &Filter::all(), after.as_ref(), Some(2))
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = Some(page.last().unwrap()[0].clone());
        seen.extend(page.into_iter().map(|r| r[0].clone()));
    }
    assert_eq!(seen, [json!("1"), json!("2"), json!("3"), json!("4")]);
    // A replace-set names its set by equalities only.
    let mut b = Batch::new();
    b.replace_set(
        "page_labels",
        Filter::all().any("page_id", ["1"]),
        Vec::new(),
    );
    let err = s.commit(&b).await.unwrap_err();
    assert!(err.to_string().contains("equalities"), "{err}");
    assert_eq!(s.ids("page_labels", &Filter::all()).await.unwrap().len(), 4);
}

pub async fn attachment_files_are_recorded(ctx: Ctx) {
    let s = &ctx.store;
    let file = |version: i64, sha: &str| kb_store::AttachmentFile {
        attachment_id: "att7".into(),
        version,
        sha256: sha.into(),
        size: 3,
        path: format!("sha256/{}/{sha}", &sha[..2]),
    };
    assert!(s.attachment_files(&["att7"]).await.unwrap().is_empty());
    s.record_attachment_file(&file(2, "bb22")).await.unwrap();
    assert_eq!(
        s.attachment_files(&["att7", "att8"]).await.unwrap(),
        [file(2, "bb22")]
    );
    // An older version never replaces a newer record; a newer one does.
    s.record_attachment_file(&file(1, "aa11")).await.unwrap();
    assert_eq!(
        s.attachment_files(&["att7"]).await.unwrap(),
        [file(2, "bb22")]
    );
    s.record_attachment_file(&file(3, "cc33")).await.unwrap();
    assert_eq!(
        s.attachment_files(&["att7"]).await.unwrap(),
        [file(3, "cc33")]
    );
}

/// A run whose process ended without finishing it (kill -9, a crash) is marked `interrupted`
/// by the next run; a run whose process lives stays `running` (issue 11, item 7).
pub async fn abandoned_runs_are_marked_interrupted(ctx: Ctx) {
    let s = &ctx.store;
    let alive = s.start_run("extract confluence").await.unwrap();
    let abandoned = s.start_run("migrate notion-to-confluence").await.unwrap();
    // The owner of `abandoned`: a real process of this host that has ended.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let sql = format!(
        "UPDATE runs SET owner = '{}:{dead_pid}:1' WHERE id = {abandoned}",
        host.trim()
    );
    ctx.exec_raw(Box::leak(sql.into_boxed_str())).await;
    let next = s.start_run("extract confluence").await.unwrap();
    let runs = s.runs().await.unwrap();
    let status = |id: i64| runs.iter().find(|r| r.id == id).unwrap().status;
    assert_eq!(status(alive), RunStatus::Running, "its process is this one");
    assert_eq!(status(abandoned), RunStatus::Interrupted);
    assert_eq!(status(next), RunStatus::Running);
    let r = runs.iter().find(|r| r.id == abandoned).unwrap();
    assert!(r.ended_at.is_some());
    assert!(
        r.errors.to_string().contains("ended without finishing"),
        "{}",
        r.errors
    );
    // Told to stop: this process's runs are interrupted, with the reason.
    assert_eq!(
        s.interrupt_own_runs("interrupted by SIGTERM")
            .await
            .unwrap(),
        2
    );
    let runs = s.runs().await.unwrap();
    let r = runs.iter().find(|r| r.id == next).unwrap();
    assert_eq!(r.status, RunStatus::Interrupted);
    assert!(r.errors.to_string().contains("SIGTERM"), "{}", r.errors);
    assert_eq!(s.interrupt_own_runs("again").await.unwrap(), 0);
    // Finishing stays possible for the live one.
    s.finish_run(
        alive,
        &RunEnd {
            status: RunStatus::Succeeded,
            counts: json!({}),
            requests: json!({}),
            errors: json!([]),
        },
    )
    .await
    .unwrap();
}

/// A run on another host is taken for abandoned only when its heartbeat is older than the
/// lease: a job that keeps its run alive is never interrupted under it, however long it runs.
pub async fn long_runs_keep_their_heartbeat(ctx: Ctx) {
    let s = &ctx.store;
    let kept = s.start_run("extract confluence").await.unwrap();
    let left = s.start_run("migrate confluence-to-notion").await.unwrap();
    // Both look like runs of another host whose last heartbeat is an hour old.
    for id in [kept, left] {
        let sql = format!(
            "UPDATE runs SET owner = 'elsewhere.example:4242:1', heartbeat_at = '2020-01-01T00:00:00Z' WHERE id = {id}"
        );
        ctx.exec_raw(Box::leak(sql.into_boxed_str())).await;
    }
    let beat = |id: i64| async move {
        s.runs()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.id == id)
            .unwrap()
            .heartbeat_at
    };
    let old = beat(kept).await;
    let guard = s.keep_run_alive_every(kept, std::time::Duration::from_millis(20));
    // Wait (bounded) for the first beat: the period is real time, the check is the row.
    let mut refreshed = false;
    for _ in 0..250 {
        if beat(kept).await != old {
            refreshed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refreshed, "the heartbeat was not refreshed");
    let next = s.start_run("extract confluence").await.unwrap();
    let runs = s.runs().await.unwrap();
    let status = |id: i64| runs.iter().find(|r| r.id == id).unwrap().status;
    assert_eq!(
        status(kept),
        RunStatus::Running,
        "kept alive by its heartbeat"
    );
    assert_eq!(
        status(left),
        RunStatus::Interrupted,
        "no heartbeat for an hour"
    );
    assert_eq!(status(next), RunStatus::Running);
    // A run that is no longer running takes no heartbeat.
    assert!(!s.heartbeat_run(left).await.unwrap());
    assert!(s.heartbeat_run(kept).await.unwrap());
    drop(guard);
}

pub async fn sync_state_round_trips(ctx: Ctx) {
    use kb_store::{SyncLinkRow, SyncPairRow};
    use serde_json::json;
    let s = &ctx.store;
    let link = |state: serde_json::Value| SyncLinkRow {
        name: "docs".into(),
        spec: json!({"notion": "n-root", "confluence": {"space": "ENG"}}),
        state,
        created_at: String::new(),
        updated_at: String::new(),
    };
    s.put_sync_link(&link(json!({}))).await.unwrap();
    let first = s.sync_link("docs").await.unwrap().unwrap();
    assert_eq!(first.spec["confluence"]["space"], "ENG");
    s.put_sync_link(&link(json!({"hw": "2026-12-07T10:00:00.000Z"})))
        .await
        .unwrap();
    s.put_sync_link_state("docs", &json!({"hw": "2026-12-07T11:00:00.000Z"}))
        .await
        .unwrap();
    let again = s.sync_link("docs").await.unwrap().unwrap();
    assert_eq!(again.state["hw"], "2026-12-07T11:00:00.000Z");
    assert_eq!(
        again.created_at, first.created_at,
        "replacing keeps created_at"
    );
    assert!(s.put_sync_link_state("nope", &json!({})).await.is_err());
    assert_eq!(s.sync_link("nope").await.unwrap(), None);

    let pair = |c: &str, base: Option<serde_json::Value>| SyncPairRow {
        link: "docs".into(),
        notion_id: "n1".into(),
        confluence_id: c.into(),
        state: json!({"confluence_version": 3}),
        base,
        notion_seen: None,
        confluence_seen: Some(json!({"blocks": ["x \u{0} \"quoted\" ü"]})),
    };
    s.put_sync_pair(&pair("100", Some(json!({"blocks": []}))))
        .await
        .unwrap();
    s.put_sync_pair(&pair("100", None)).await.unwrap();
    let pairs = s.sync_pairs("docs").await.unwrap();
    assert_eq!(
        pairs,
        vec![pair("100", None)],
        "upsert by Notion id, JSON exact"
    );
    // A second Notion page paired to the same Confluence page is refused.
    let mut other = pair("100", None);
    other.notion_id = "n2".into();
    assert!(s.put_sync_pair(&other).await.is_err());

    let a = s
        .add_sync_conflict("docs", "n1", "100", &json!({"ours": 1}))
        .await
        .unwrap();
    let b = s
        .add_sync_conflict("docs", "n1", "100", &json!({"ours": 2}))
        .await
        .unwrap();
    assert!(b > a);
    assert!(s.resolve_sync_conflict(a, "take notion").await.unwrap());
    assert!(
        !s.resolve_sync_conflict(a, "take confluence").await.unwrap(),
        "resolved once"
    );
    let open = s.sync_conflicts(Some("docs"), true).await.unwrap();
    assert_eq!(open.iter().map(|c| c.id).collect::<Vec<_>>(), vec![b]);
    let all = s.sync_conflicts(None, false).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].resolution.as_deref(), Some("take notion"));
    assert!(all[0].resolved_at.is_some());

    assert!(s.delete_sync_link("docs").await.unwrap());
    assert!(s.sync_pairs("docs").await.unwrap().is_empty());
    assert!(s.sync_conflicts(None, false).await.unwrap().is_empty());
}

/// One bad value never rejects a lenient batch: the bad rows (U+0000, a wrong type, a date that
/// is not one, a missing key) are quarantined with their reason and raw JSON, every other row
/// lands; a retry counts an attempt; a copy that stores releases the record.
pub async fn bad_rows_are_quarantined_and_released(ctx: Ctx) {
    let s = &ctx.store;
    let mut b = Batch::new();
    b.upsert(Row::new("pages", page("1", "9", 1, "Home")));
    b.upsert(Row::new("pages", page("2", "9", 1, "Nul\u{0}Title")));
    let mut wrong_type = page("3", "9", 1, "Three");
    wrong_type["version"]["number"] = json!("three");
    b.upsert(Row::new("pages", wrong_type));
    let mut bad_date = page("4", "9", 1, "Four");
    bad_date["createdAt"] = json!("soon");
    b.upsert(Row::new("pages", bad_date));
    b.upsert(Row::new("pages", json!({"title": "no id"})));
    b.upsert(Row::new("pages", page("5", "9", 1, "Five")));
    // A replace-set keeps the stored copy of a row whose new copy is quarantined.
    let mut first = Batch::new();
    first.replace_set(
        "page_labels",
        Filter::all().eq("page_id", "1"),
        vec![
            Row::new("page_labels", label("10", "keep")).with("page_id", "1"),
            Row::new("page_labels", label("11", "old")).with("page_id", "1"),
        ],
    );
    s.commit(&first).await.unwrap();
    b.replace_set(
        "page_labels",
        Filter::all().eq("page_id", "1"),
        vec![
            Row::new("page_labels", label("10", "keep")).with("page_id", "1"),
            Row::new("page_labels", label("11", "bad\u{0}")).with("page_id", "1"),
        ],
    );
    // The strict commit refuses the whole batch.
    assert!(matches!(
        s.commit(&b).await.unwrap_err(),
        StoreError::BadRow { .. }
    ));
    let (summary, held) = s.commit_quarantining(&b).await.unwrap();
    assert_eq!(summary.quarantined, 5, "{held:?}");
    assert_eq!(
        titles(s).await,
        vec![("Home".to_string(), 1), ("Five".to_string(), 1)]
    );
    assert_eq!(s.counts().await.unwrap()["page_labels"], 2, "label 11 kept");
    let q = s.quarantine().await.unwrap();
    assert_eq!(q.len(), 5, "{q:?}");
    let by_id = |id: &str| q.iter().find(|x| x.record_id == id).unwrap();
    let nul = by_id("[\"2\"]");
    assert_eq!(nul.kind, "pages");
    assert_eq!(
        nul.raw["title"], "Nul\u{0}Title",
        "the raw JSON is kept exactly"
    );
    assert!(nul.reason.contains("U+0000") && nul.reason.contains("raw/title"));
    assert_eq!(nul.attempts, 1);
    assert!(by_id("[\"3\"]").reason.contains("version_number"));
    assert!(by_id("[\"4\"]").reason.contains("RFC 3339"));
    assert!(q.iter().any(|x| x.record_id.starts_with("sha256:")));
    let held_label = by_id("[\"1\",\"11\"]");
    assert_eq!(held_label.kind, "page_labels");
    assert_eq!(held_label.context["page_id"], "1");

    // Retried: still bad, one more attempt each; nothing else changes.
    let (again, _) = s.retry_quarantine().await.unwrap();
    assert_eq!((again.quarantined, again.released), (5, 0));
    assert!(
        s.quarantine()
            .await
            .unwrap()
            .iter()
            .all(|x| x.attempts == 2)
    );

    // A corrected copy stores and leaves the quarantine.
    let mut fixed = Batch::new();
    fixed.upsert(Row::new("pages", page("2", "9", 2, "Fixed title")));
    fixed.upsert(Row::new("page_labels", label("11", "good")).with("page_id", "1"));
    let (done, held) = s.commit_quarantining(&fixed).await.unwrap();
    assert_eq!((done.quarantined, done.released), (0, 2), "{held:?}");
    let left: Vec<String> = s
        .quarantine()
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.record_id)
        .collect();
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(!left.contains(&"[\"2\"]".to_string()));
    assert_eq!(titles(s).await.len(), 3);
}
