//! Import from the replica: articles equal the readable current content, incremental runs
//! rewrite only what changed, failures are retried, the delete guard holds.

use std::collections::BTreeSet;

use kb_km::KmConfig;
use kb_search::SearchIndex;
use kb_store::{Batch, Filter, Row};
use serde_json::{Value, json};

use crate::support::{self, s};

/// Current pages and blog posts of the ground truth, as article ids.
fn current(d: &Value) -> Vec<String> {
    d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "current" && (c["type"] == "page" || c["type"] == "blogpost"))
        .map(|c| format!("{}:{}", s(&c["type"]), s(&c["id"])))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_imports_every_current_page_then_rewrites_only_what_changed() {
    let sim = support::twin(220, 5, false).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let mut index = SearchIndex::open(&dir.path().join("index")).unwrap();
    let cfg = KmConfig::default();

    let first = support::sync(&sim, &store, &mut index, &cfg, false).await;
    assert_eq!(first.status, "succeeded", "{first:?}");
    let d = support::dataset(&sim).await;
    let want = current(&d);
    let stored = store.ids("km_articles", &Filter::all()).await.unwrap();
    // Every current page and blog post the crawler can read (the admin passes the generated
    // restrictions) is an article, and nothing else.
    let mut want_sorted = want.clone();
    want_sorted.sort();
    let mut got = stored.clone();
    got.sort();
    assert_eq!(got, want_sorted);
    assert_eq!(first.counts.added as usize, want.len());
    assert_eq!(first.counts.failed, 0);

    // Mapping defaults: title, creator, labels → tags, space name → category; bodies.
    let page = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["type"] == "page"
                && c["status"] == "current"
                && !c["labels"].as_array().unwrap().is_empty()
        })
        .unwrap();
    let row = &store
        .rows_typed_where(
            "km_articles",
            &Filter::all().eq("id", format!("page:{}", s(&page["id"]))),
        )
        .await
        .unwrap()[0];
    assert_eq!(row["title"], page["title"]);
    assert_eq!(row["author"], page["authorId"]);
    let space = d["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sp| sp["id"] == page["spaceId"])
        .unwrap();
    assert_eq!(row["category"], space["name"]);
    let label_names: Vec<String> = page["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let l = d["labels"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == *l)
                .unwrap();
            s(&l["name"])
        })
        .collect();
    let mut label_names = label_names;
    label_names.sort();
    label_names.dedup();
    assert_eq!(row["tags"], json!(label_names));
    assert!(row["body_markdown"].as_str().unwrap().len() > 10);
    assert!(row["body_html"].as_str().unwrap().contains('<'));
    assert!(!row["body_text"].as_str().unwrap().is_empty());
    assert_eq!(row["content_hash"].as_str().unwrap().len(), 64);

    // No change: nothing rewritten.
    let again = support::sync(&sim, &store, &mut index, &cfg, false).await;
    assert_eq!(
        (
            again.counts.added,
            again.counts.updated,
            again.counts.deleted
        ),
        (0, 0, 0),
        "{again:?}"
    );
    assert_eq!(again.counts.unchanged as usize, want.len());
    // And it costs at most 5 requests (the extract's quiet run: spaces, the one change
    // window, the trash of pages and of blog posts).
    assert!(
        again.requests <= 5,
        "a no-change km sync cost {} requests: {:?}",
        again.requests,
        again.extract_requests
    );

    // 10 edits: exactly 10 articles rewritten; the edit is searchable.
    let pages: Vec<&Value> = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "page" && c["status"] == "current")
        .collect();
    let edited: Vec<String> = pages
        .iter()
        .skip(3)
        .step_by(11)
        .take(10)
        .map(|p| s(&p["id"]))
        .collect();
    for id in &edited {
        support::edit(
            &sim,
            &format!("pages/{id}/edit"),
            json!({"append": "<p>zyxwvut quarterly</p>"}),
        )
        .await;
    }
    let third = support::sync(&sim, &store, &mut index, &cfg, false).await;
    assert_eq!(
        (
            third.counts.added,
            third.counts.updated,
            third.counts.deleted
        ),
        (0, 10, 0),
        "{third:?}"
    );
    let hits = kb_km::search(
        &store,
        &index,
        &kb_km::Searcher::User(s(&d["users"][0]["accountId"])),
        &kb_km::SearchRequest {
            text: "zyxwvut".into(),
            limit: 50,
            snippets: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let mut found: Vec<String> = hits
        .hits
        .iter()
        .map(|h| h.id.trim_start_matches("page:").to_string())
        .collect();
    found.sort();
    let mut e = edited.clone();
    e.sort();
    assert_eq!(found, e);
    assert!(
        hits.hits[0]
            .snippet
            .as_deref()
            .unwrap()
            .contains("<b>zyxwvut</b>")
    );

    // A deletion in Confluence removes the article from the store and the index.
    let gone = &edited[0];
    support::edit(&sim, &format!("pages/{gone}/delete"), json!({})).await;
    let fourth = support::sync(&sim, &store, &mut index, &cfg, false).await;
    assert!(fourth.counts.deleted >= 1, "{fourth:?}");
    assert!(
        store
            .ids(
                "km_articles",
                &Filter::all().eq("id", format!("page:{gone}"))
            )
            .await
            .unwrap()
            .is_empty()
    );
    let all = support::readable(&store, &index, &s(&d["users"][0]["accountId"])).await;
    assert!(!all.contains(&format!("page:{gone}")));

    // The runs are recorded with their counts.
    let runs = store.runs().await.unwrap();
    let km: Vec<_> = runs.iter().filter(|r| r.job == "km sync").collect();
    assert_eq!(km.len(), 4);
    assert_eq!(km[2].counts["updated"], 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_cannot_be_read_fails_the_run_and_is_retried_by_the_next() {
    let sim = support::twin(60, 8, false).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let mut index = SearchIndex::in_memory().unwrap();
    let cfg = KmConfig::default();
    // The replica first, then a page whose body went missing from it.
    kb_engine::extract::extract(&support::admin(&sim), &store, &Default::default(), None)
        .await
        .unwrap();
    let raw = store.rows_raw("pages").await.unwrap();
    let victim = raw
        .iter()
        .find(|p| p["status"] == "current")
        .unwrap()
        .clone();
    let id = s(&victim["id"]);
    let mut broken = victim.clone();
    broken["body"] = json!({});
    let mut b = Batch::new();
    b.upsert(Row::new("pages", broken));
    store.commit(&b).await.unwrap();

    let opts = kb_km::ImportOptions::default();
    let (run, counts) = kb_km::import_only(&store, &mut index, &cfg, &opts)
        .await
        .unwrap();
    assert_eq!(counts.failed, 1);
    let runs = store.runs().await.unwrap();
    let r = runs.iter().find(|r| r.id == run).unwrap();
    assert_eq!(
        r.status,
        kb_store::RunStatus::Failed,
        "a run with a failure never succeeds"
    );
    assert_eq!(
        store.ids("km_failures", &Filter::all()).await.unwrap(),
        vec![format!("page:{id}")]
    );
    let errors = kb_km::log::read(&store, Some(run), Some("error"))
        .await
        .unwrap();
    assert!(
        errors
            .iter()
            .any(|l| l.object == format!("page:{id}") && !l.hint.is_empty()),
        "{errors:?}"
    );

    // Unchanged, it fails again (retried, attempts counted) …
    let (_, again) = kb_km::import_only(&store, &mut index, &cfg, &opts)
        .await
        .unwrap();
    assert_eq!(again.failed, 1);
    assert_eq!(
        store
            .select("km_failures", &["attempts"], &Filter::all())
            .await
            .unwrap()[0][0],
        json!(2)
    );
    // … and once the replica has it again, it is imported and the failure cleared.
    let mut b = Batch::new();
    b.upsert(Row::new("pages", victim));
    store.commit(&b).await.unwrap();
    let (run3, fixed) = kb_km::import_only(&store, &mut index, &cfg, &opts)
        .await
        .unwrap();
    assert_eq!((fixed.failed, fixed.added), (0, 1), "{fixed:?}");
    assert!(
        store
            .ids("km_failures", &Filter::all())
            .await
            .unwrap()
            .is_empty()
    );
    let runs = store.runs().await.unwrap();
    assert_eq!(
        runs.iter().find(|r| r.id == run3).unwrap().status,
        kb_store::RunStatus::Succeeded
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delete_guard_refuses_to_empty_a_space_in_one_run() {
    let sim = support::twin(120, 9, false).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let mut index = SearchIndex::in_memory().unwrap();
    kb_engine::extract::extract(&support::admin(&sim), &store, &Default::default(), None)
        .await
        .unwrap();
    let opts = kb_km::ImportOptions::default();
    let mut cfg = KmConfig::default();
    let (_, first) = kb_km::import_only(&store, &mut index, &cfg, &opts)
        .await
        .unwrap();
    let before = store
        .ids("km_articles", &Filter::all())
        .await
        .unwrap()
        .len();
    assert_eq!(before as u64, first.added);
    // Excluding a whole space would delete all of its articles: refused, nothing deleted.
    cfg.filters.spaces_exclude = vec!["ENG".into()];
    let err = kb_km::import_only(&store, &mut index, &cfg, &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(err, kb_km::KmError::DeleteGuard { ref spaces, .. } if spaces == &vec!["ENG".to_string()]),
        "{err}"
    );
    assert_eq!(
        store
            .ids("km_articles", &Filter::all())
            .await
            .unwrap()
            .len(),
        before
    );
    let lines = kb_km::log::read(&store, None, Some("error")).await.unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.object == "space:ENG" && l.message.contains("refused")),
        "{lines:?}"
    );
    let runs = store.runs().await.unwrap();
    assert_eq!(runs.last().unwrap().status, kb_store::RunStatus::Failed);
    // Allowed explicitly, the same run deletes them.
    cfg.max_delete_share = 1.0;
    let (_, done) = kb_km::import_only(&store, &mut index, &cfg, &opts)
        .await
        .unwrap();
    assert!(done.deleted > 0);
    let left = store.rows_typed("km_articles").await.unwrap();
    assert!(left.iter().all(|r| r["space_key"] != "ENG"));
    assert_eq!(left.len() as u64, before as u64 - done.deleted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachment_text_is_stored_and_indexed_with_its_article() {
    let sim = support::twin(80, 12, false).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let mut index = SearchIndex::in_memory().unwrap();
    let files = dir.path().join("files");
    let opts = kb_km::SyncOptions {
        extract: kb_engine::extract::ExtractOptions {
            files: Some(files.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let cfg = KmConfig::default();
    let r = kb_km::sync(&support::admin(&sim), &store, &mut index, &cfg, &opts)
        .await
        .unwrap();
    assert_eq!(r.status, "succeeded", "{r:?}");
    let atts = store.rows_typed("km_attachments").await.unwrap();
    assert!(
        atts.iter().any(|a| a["extraction"] == "unsupported"),
        "images have no text"
    );
    assert!(
        !atts
            .iter()
            .any(|a| a["extraction"].as_str().unwrap().starts_with("error")),
        "the twin's files are all readable"
    );
    let d = support::dataset(&sim).await;
    // Every kind of text the twin's files gave: text, PDF and Word documents.
    for kind in ["text", "pdf", "docx"] {
        let texts: Vec<_> = atts.iter().filter(|a| a["extraction"] == kind).collect();
        assert!(
            !texts.is_empty(),
            "no {kind} attachment among {}",
            atts.len()
        );
        let a = texts[0];
        let text = a["text"].as_str().unwrap();
        // A word of the file's text, as the index tokenizes it.
        let word = text
            .split(|c: char| !c.is_alphanumeric())
            .find(|w| w.len() >= 4 && w.chars().all(char::is_alphabetic))
            .unwrap_or_else(|| panic!("no word in the {kind} text {text:?}"));
        let hits = kb_km::search(
            &store,
            &index,
            &kb_km::Searcher::User(s(&d["users"][0]["accountId"])),
            &kb_km::SearchRequest {
                text: word.to_string(),
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(
            hits.hits
                .iter()
                .any(|h| Value::String(h.id.clone()) == a["article_id"]),
            "{kind}: {word:?} in {:?}",
            a["article_id"]
        );
    }
}

/// Current attachments in the ground truth whose container is one of `articles` (the pages
/// and blog posts the crawler can read), as article ids.
fn current_attachments(d: &Value, articles: &[String]) -> BTreeSet<String> {
    let live: BTreeSet<String> = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["status"] == "current"
                && articles.contains(&format!("{}:{}", s(&c["type"]), s(&c["id"])))
        })
        .map(|c| s(&c["id"]))
        .collect();
    d["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == "current" && live.contains(&s(&a["containerId"])))
        .map(|a| format!("attachment:att{}", s(&a["id"])))
        .collect()
}

fn attachment_articles(ids: &[String]) -> BTreeSet<String> {
    ids.iter()
        .filter(|i| i.starts_with("attachment:"))
        .cloned()
        .collect()
}

/// The access rows of an article as (level, principal) pairs.
async fn access_of(store: &kb_store::Store, id: &str) -> BTreeSet<(i64, String)> {
    store
        .rows_typed_where("km_access", &Filter::all().eq("article_id", id))
        .await
        .unwrap()
        .iter()
        .map(|r| (r["level"].as_i64().unwrap(), s(&r["principal"])))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_become_articles_of_their_own_when_asked_and_follow_their_container() {
    let sim = support::twin(80, 12, true).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let mut index = SearchIndex::in_memory().unwrap();
    let opts = kb_km::SyncOptions {
        extract: kb_engine::extract::ExtractOptions {
            files: Some(dir.path().join("files")),
            ..Default::default()
        },
        ..Default::default()
    };
    let admin = support::admin(&sim);

    // Pages and blog posts only (the default): no attachment is an article.
    let pages_only = KmConfig::default();
    let r = kb_km::sync(&admin, &store, &mut index, &pages_only, &opts)
        .await
        .unwrap();
    assert_eq!(r.status, "succeeded", "{r:?}");
    let ids = store.ids("km_articles", &Filter::all()).await.unwrap();
    assert!(attachment_articles(&ids).is_empty());
    let pages = ids.len();
    let page_ids = ids.clone();

    // With `attachment` among the content types, every current attachment of a current page
    // or blog post is an article; the pages are not rewritten.
    let mut cfg = KmConfig::default();
    cfg.filters.content_types.push("attachment".into());
    let r = kb_km::sync(&admin, &store, &mut index, &cfg, &opts)
        .await
        .unwrap();
    assert_eq!(r.status, "succeeded", "{r:?}");
    let d = support::dataset(&sim).await;
    // (Pages behind restrictions the crawler cannot pass are not articles, nor their files.)
    let want = current_attachments(&d, &page_ids);
    assert!(want.len() >= 10, "{}", want.len());
    let ids = store.ids("km_articles", &Filter::all()).await.unwrap();
    assert_eq!(attachment_articles(&ids), want);
    assert_eq!(r.counts.added as usize, want.len(), "{r:?}");
    assert_eq!(r.counts.updated, 0, "{r:?}");
    assert_eq!(ids.len(), pages + want.len());

    // An article of a PDF: its file name, its container, its text found by search, and its
    // container's access, level by level.
    let arts = store.rows_typed("km_articles").await.unwrap();
    let pdf = arts
        .iter()
        .find(|a| a["kind"] == "attachment" && a["custom_fields"]["extraction"] == "pdf")
        .expect("a PDF attachment article");
    let aid = s(&pdf["id"]);
    let num = aid.trim_start_matches("attachment:att");
    let truth = d["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| s(&a["id"]) == num)
        .unwrap();
    assert_eq!(pdf["title"], truth["title"]);
    let container = d["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == truth["containerId"])
        .unwrap();
    let container_id = format!("{}:{}", s(&container["type"]), s(&container["id"]));
    assert_eq!(pdf["custom_fields"]["container"], json!(container_id));
    let own = access_of(&store, &aid).await;
    assert!(!own.is_empty());
    assert_eq!(own, access_of(&store, &container_id).await);
    let text = s(&pdf["body_text"]);
    let word = text
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| w.len() >= 4 && w.chars().all(char::is_alphabetic))
        .unwrap_or_else(|| panic!("no word in {text:?}"));
    let hits = kb_km::search(
        &store,
        &index,
        &kb_km::Searcher::User(s(&d["users"][0]["accountId"])),
        &kb_km::SearchRequest {
            text: word.to_string(),
            limit: 1000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        hits.hits.iter().any(|h| h.id == aid),
        "{word:?} finds {aid}"
    );
    // Whoever cannot read the container cannot find its attachment.
    for u in d["users"].as_array().unwrap() {
        let who = s(&u["accountId"]);
        let readable = support::readable(&store, &index, &who).await;
        for a in &want {
            let row = arts.iter().find(|r| s(&r["id"]) == *a).unwrap();
            let c = s(&row["custom_fields"]["container"]);
            assert_eq!(
                readable.contains(a),
                readable.contains(&c),
                "{who}: {a} and its container {c}"
            );
        }
    }

    // Deleted in Confluence by someone else: the next run deletes its article only.
    let admin_cred = &sim.credentials()[0];
    let resp = reqwest::Client::new()
        .delete(format!("{}/wiki/api/v2/attachments/att{num}", sim.url()))
        .basic_auth(&admin_cred.email, Some(&admin_cred.token))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    // Trashing a file creates no version and no `lastmodified` of anything: the window of a
    // quiet run cannot see it (docs/extract.md); the reconciling run does.
    let reconcile = kb_km::SyncOptions {
        extract: kb_engine::extract::ExtractOptions {
            reconcile: true,
            ..opts.extract.clone()
        },
        ..Default::default()
    };
    let r = kb_km::sync(&admin, &store, &mut index, &cfg, &reconcile)
        .await
        .unwrap();
    assert_eq!(r.status, "succeeded", "{r:?}");
    assert_eq!(r.counts.deleted, 1, "{r:?}");
    let ids = store.ids("km_articles", &Filter::all()).await.unwrap();
    let mut left = want.clone();
    left.remove(&aid);
    assert_eq!(attachment_articles(&ids), left);

    // And a run with nothing new rewrites nothing.
    let r = kb_km::sync(&admin, &store, &mut index, &cfg, &opts)
        .await
        .unwrap();
    assert_eq!(
        (r.counts.added, r.counts.updated, r.counts.deleted),
        (0, 0, 0),
        "{r:?}"
    );
}
