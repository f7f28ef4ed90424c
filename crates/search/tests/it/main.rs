//! kb-search's integration tests: access exactness against a brute-force oracle, fail-closed
//! cases, text queries, filters, facets, snippets, updates and persistence.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing, with its place

mod access;
mod text;

use std::collections::BTreeSet;

use kb_search::{Access, Article};

pub(crate) fn article(id: &str, title: &str, body: &str, access: Access) -> Article {
    Article {
        id: id.to_string(),
        kind: "page".into(),
        title: title.to_string(),
        body: body.to_string(),
        tags: vec![],
        category: "Engineering".into(),
        space: "ENG".into(),
        author: None,
        updated_ms: 0,
        access,
    }
}

pub(crate) fn level(ps: &[&str]) -> BTreeSet<String> {
    ps.iter().map(|p| p.to_string()).collect()
}
