use std::collections::BTreeMap;

use kb_search::{Access, Article, Query, SearchError, SearchIndex};

use super::{article, level};

fn everyone() -> Access {
    Access::Levels(vec![level(&["g:all"])])
}

fn corpus() -> Vec<Article> {
    let mut a = vec![
        article(
            "runbook",
            "Database failover runbook",
            "When the primary database fails, promote the replica and repoint the connection pool.",
            everyone(),
        ),
        article(
            "backup",
            "Backups",
            "Nightly backups of the database run at 02:00; restores are tested monthly.",
            everyone(),
        ),
        article(
            "deploy",
            "Release process",
            "Deployments go out on Tuesdays after the change advisory board approves them.",
            everyone(),
        ),
        article(
            "salary",
            "Salary bands",
            "Compensation and salary bands per level; the database of offers is in HR.",
            Access::Levels(vec![level(&["g:all"]), level(&["g:hr"])]),
        ),
    ];
    a[0].tags = vec!["ops".into(), "database".into()];
    a[1].tags = vec!["ops".into()];
    a[2].tags = vec!["release".into()];
    a[2].author = Some("alice".into());
    a[2].space = "REL".into();
    a[2].category = "Releases".into();
    a[3].tags = vec!["hr".into(), "database".into()];
    a
}

fn index() -> SearchIndex {
    let mut ix = SearchIndex::in_memory().unwrap();
    ix.upsert(&corpus()).unwrap();
    ix.commit().unwrap();
    ix
}

fn q(text: &str) -> Query {
    Query {
        text: text.into(),
        principals: vec!["g:all".into()],
        ..Default::default()
    }
}

fn ids(ix: &SearchIndex, query: &Query) -> Vec<String> {
    ix.search(query, &|_| None)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.id)
        .collect()
}

#[test]
fn title_matches_rank_first_and_all_words_are_required() {
    let ix = index();
    let r = ids(&ix, &q("database"));
    assert_eq!(r.first().map(String::as_str), Some("runbook"), "{r:?}");
    assert!(r.contains(&"backup".to_string()));
    assert!(
        !r.contains(&"salary".to_string()),
        "restricted to g:hr: {r:?}"
    );
    assert_eq!(ids(&ix, &q("database nightly")), ["backup"]);
    assert!(ids(&ix, &q("database tuesdays")).is_empty());
    // Stemming: "deployment" finds "Deployments"; "backup" finds "backups".
    assert_eq!(ids(&ix, &q("deployment")), ["deploy"]);
    assert_eq!(ids(&ix, &q("backup")), ["backup"]);
}

#[test]
fn phrases_prefixes_and_exclusions() {
    let ix = index();
    assert_eq!(ids(&ix, &q("\"promote the replica\"")), ["runbook"]);
    assert!(ids(&ix, &q("\"replica the promote\"")).is_empty());
    assert_eq!(ids(&ix, &q("advis*")), ["deploy"]);
    let mut r = ids(&ix, &q("data*"));
    r.sort();
    assert_eq!(r, ["backup", "runbook"]);
    assert_eq!(ids(&ix, &q("database -nightly")), ["runbook"]);
    // Odd input is read leniently, never an error or a panic.
    for odd in [
        "\"unclosed",
        "title:",
        "*",
        "((",
        "a:b:c",
        "\\",
        "-",
        "AND OR",
    ] {
        let _ = ix.search(&q(odd), &|_| None).unwrap();
    }
}

#[test]
fn filters_and_facets_count_only_readable_matches() {
    let ix = index();
    let all = Query {
        principals: vec!["g:all".into()],
        ..Default::default()
    };
    let r = ix.search(&all, &|_| None).unwrap();
    assert_eq!(r.total, 3);
    assert_eq!(
        r.facets.tags,
        BTreeMap::from([
            ("database".to_string(), 1),
            ("ops".to_string(), 2),
            ("release".to_string(), 1)
        ]),
        "the g:hr page's tags are not counted"
    );
    assert_eq!(
        r.facets.spaces,
        BTreeMap::from([("ENG".into(), 2), ("REL".into(), 1)])
    );
    assert_eq!(r.facets.authors, BTreeMap::from([("alice".into(), 1)]));
    // Without facets: the same hits and total, no counts.
    let bare = ix
        .search(
            &Query {
                skip_facets: true,
                ..all.clone()
            },
            &|_| None,
        )
        .unwrap();
    assert_eq!(bare.total, r.total);
    assert_eq!(bare.hits, r.hits);
    assert!(bare.facets.tags.is_empty() && bare.facets.spaces.is_empty());
    let hr = Query {
        principals: vec!["g:all".into(), "g:hr".into()],
        tags: vec!["database".into()],
        ..Default::default()
    };
    let mut got = ids(&ix, &hr);
    got.sort();
    assert_eq!(got, ["runbook", "salary"]);
    let f = Query {
        spaces: vec!["REL".into()],
        ..all.clone()
    };
    assert_eq!(ids(&ix, &f), ["deploy"]);
    let f = Query {
        authors: vec!["alice".into()],
        categories: vec!["Releases".into()],
        kinds: vec!["page".into()],
        ..all.clone()
    };
    assert_eq!(ids(&ix, &f), ["deploy"]);
    let f = Query {
        kinds: vec!["blogpost".into()],
        ..all.clone()
    };
    assert!(ids(&ix, &f).is_empty());
    // Paging: offset and limit over a stable total.
    let p = Query {
        limit: 1,
        offset: 1,
        ..all
    };
    let r = ix.search(&p, &|_| None).unwrap();
    assert_eq!((r.total, r.hits.len()), (3, 1));
}

#[test]
fn snippets_highlight_matches_in_the_text_from_the_store() {
    let ix = index();
    let bodies: BTreeMap<String, String> = corpus().into_iter().map(|a| (a.id, a.body)).collect();
    let r = ix
        .search(&q("replica"), &|id| bodies.get(id).cloned())
        .unwrap();
    let s = r.hits[0].snippet.as_deref().unwrap();
    assert!(s.contains("<b>replica</b>"), "{s}");
    let r = ix.search(&q("replica"), &|_| None).unwrap();
    assert_eq!(r.hits[0].snippet, None, "no body, no snippet");
}

#[test]
fn an_index_on_disk_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut ix = SearchIndex::open(dir.path()).unwrap();
        ix.upsert(&corpus()).unwrap();
        ix.commit().unwrap();
        // Uncommitted changes are not durable.
        ix.delete(&["backup".to_string()]);
    }
    let ix = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(ix.len(), 4);
    assert_eq!(ids(&ix, &q("nightly")), ["backup"]);
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    assert!(matches!(
        SearchIndex::open(&file),
        Err(SearchError::Open { .. })
    ));
}
