use std::collections::{BTreeMap, BTreeSet};

use kb_search::{Access, MAX_LEVELS, OPEN, Query, SearchIndex};
use proptest::prelude::*;

use super::{article, level};

fn visible(ix: &SearchIndex, principals: &[&str]) -> BTreeSet<String> {
    let q = Query {
        principals: principals.iter().map(|p| p.to_string()).collect(),
        limit: 10_000,
        ..Default::default()
    };
    let r = ix.search(&q, &|_| None).expect("search");
    assert_eq!(r.total, r.hits.len(), "one page holds every hit here");
    r.hits.into_iter().map(|h| h.id).collect()
}

#[test]
fn a_member_of_a_parents_group_named_on_the_child_passes_both_levels() {
    // Elastic's intersection of identity sets locks this user out; Onyx's nearest-ancestor
    // rule lets g:eng members who are not u:alice in.
    let mut ix = SearchIndex::in_memory().unwrap();
    let levels = vec![level(&["g:staff"]), level(&["g:eng"]), level(&["u:alice"])];
    ix.upsert(&[article("p1", "Payroll", "salaries", Access::Levels(levels))])
        .unwrap();
    ix.commit().unwrap();
    assert_eq!(
        visible(&ix, &["u:alice", "g:staff", "g:eng"]),
        BTreeSet::from(["p1".to_string()])
    );
    assert!(
        visible(&ix, &["u:bob", "g:staff", "g:eng"]).is_empty(),
        "bob fails the page's own level"
    );
    assert!(
        visible(&ix, &["u:alice", "g:staff"]).is_empty(),
        "alice outside g:eng fails the ancestor"
    );
    assert!(
        visible(&ix, &["u:alice", "g:eng"]).is_empty(),
        "no space permission, no page"
    );
}

#[test]
fn unknown_or_too_deep_access_is_visible_to_no_one() {
    let mut ix = SearchIndex::in_memory().unwrap();
    let deep = vec![level(&["u:a"]); MAX_LEVELS + 1];
    let up = ix
        .upsert(&[
            article("unknown", "Secret", "x", Access::Unknown),
            article("deep", "Deep", "x", Access::Levels(deep)),
            article("none", "No levels", "x", Access::Levels(vec![])),
            article(
                "open",
                "Open",
                "x",
                Access::Levels(vec![level(&["anonymous"])]),
            ),
        ])
        .unwrap();
    ix.commit().unwrap();
    assert_eq!(up.written, 4);
    assert_eq!(up.closed, ["unknown", "deep", "none"], "reported as closed");
    for who in [
        &["u:a", "anonymous"][..],
        &["__nobody__", OPEN, "anonymous"][..],
        &[][..],
    ] {
        let v = visible(&ix, who);
        assert!(
            !v.contains("unknown") && !v.contains("deep") && !v.contains("none"),
            "{who:?}: {v:?}"
        );
    }
    assert_eq!(
        visible(&ix, &["anonymous"]),
        BTreeSet::from(["open".to_string()])
    );
    assert!(
        visible(&ix, &[]).is_empty(),
        "a searcher with no principals sees nothing"
    );
}

#[test]
fn access_changes_are_picked_up_by_an_upsert_and_deletes_remove() {
    let mut ix = SearchIndex::in_memory().unwrap();
    ix.upsert(&[article(
        "p",
        "Plan",
        "q3",
        Access::Levels(vec![level(&["g:all"])]),
    )])
    .unwrap();
    ix.commit().unwrap();
    assert_eq!(visible(&ix, &["g:all"]).len(), 1);
    ix.upsert(&[article(
        "p",
        "Plan",
        "q3",
        Access::Levels(vec![level(&["g:all"]), level(&["u:cfo"])]),
    )])
    .unwrap();
    ix.commit().unwrap();
    assert_eq!(ix.len(), 1, "replaced, not added");
    assert!(visible(&ix, &["g:all"]).is_empty());
    assert_eq!(visible(&ix, &["g:all", "u:cfo"]).len(), 1);
    ix.delete(&["p".to_string()]);
    ix.commit().unwrap();
    assert!(visible(&ix, &["g:all", "u:cfo"]).is_empty());
    assert_eq!(ix.len(), 0);
}

/// A random site: articles with 1..=4 levels drawn from users and groups (or open), users
/// with random groups; the oracle is the rule itself, applied by brute force.
fn site() -> impl Strategy<Value = (Vec<Vec<Vec<usize>>>, Vec<Vec<usize>>)> {
    let lvl = prop::collection::vec(0usize..14, 0..3); // 0..8 users, 8..13 groups, 13 anonymous
    let doc = prop::collection::vec(lvl, 1..=4);
    let docs = prop::collection::vec(doc, 1..40);
    let users = prop::collection::vec(prop::collection::vec(0usize..5, 0..3), 8);
    (docs, users)
}

fn principal(i: usize) -> String {
    match i {
        0..8 => format!("u:{i}"),
        8..13 => format!("g:{}", i - 8),
        _ => "anonymous".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn every_user_sees_exactly_what_the_rule_allows((docs, users) in site()) {
        let mut ix = SearchIndex::in_memory().unwrap();
        let articles: Vec<_> = docs
            .iter()
            .enumerate()
            .map(|(n, levels)| {
                let levels = levels
                    .iter()
                    .map(|l| l.iter().map(|&i| principal(i)).collect())
                    .collect();
                article(&format!("a{n}"), "t", "b", Access::Levels(levels))
            })
            .collect();
        ix.upsert(&articles).unwrap();
        ix.commit().unwrap();
        for (u, groups) in users.iter().enumerate() {
            let mut ps: Vec<String> = vec![format!("u:{u}"), "anonymous".into()];
            ps.extend(groups.iter().map(|g| format!("g:{g}")));
            let mine: BTreeSet<&String> = ps.iter().collect();
            let expected: BTreeSet<String> = articles
                .iter()
                .filter(|a| match &a.access {
                    Access::Levels(ls) => ls.iter().all(|l| l.is_empty() || l.iter().any(|p| mine.contains(p))),
                    Access::Unknown => false,
                })
                .map(|a| a.id.clone())
                .collect();
            let refs: Vec<&str> = ps.iter().map(String::as_str).collect();
            let got = visible(&ix, &refs);
            prop_assert_eq!(&got, &expected, "user {} with {:?}", u, ps);
        }
        // Facet counts agree with the hits for one user.
        let q = Query { principals: vec!["u:0".into(), "anonymous".into()], limit: 1000, ..Default::default() };
        let r = ix.search(&q, &|_| None).unwrap();
        let by_space: BTreeMap<String, u64> = if r.total > 0 { BTreeMap::from([("ENG".to_string(), r.total as u64)]) } else { BTreeMap::new() };
        prop_assert_eq!(r.facets.spaces, by_space);
    }
}
