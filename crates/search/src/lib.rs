//! kb-search: the knowledge base's search index, on tantivy. It holds ids, titles, metadata and
//! the access lists of articles, and indexes (without storing) their text: bodies stay in the
//! store and are handed back for snippets. Queries are BM25 over title (boosted) and body, with
//! phrases (`"…"`), prefixes (`deploy*`), filters and exact facet counts on tags, category,
//! author, space and kind.
//!
//! **Access is exact and fails closed.** Confluence read access is a conjunction of
//! disjunctions: the space's View permission AND, for every restricted ancestor and the page
//! itself, any principal of that level's read restriction. The index keeps one multi-valued field
//! per level (`acl_0` the space, `acl_1…` the restricted levels, top down), with the sentinel
//! [`OPEN`] on levels without a restriction; a query ANDs, per level, "one of the searcher's
//! principals or OPEN". Group membership is applied at query time (the caller passes the
//! searcher's expanded principals), so membership changes need no reindex. An article whose
//! access is unknown ([`Access::Unknown`]), or deeper than [`MAX_LEVELS`], is indexed so that no
//! principal matches: it is in no one's results until its access is known.
//!
//! It must never decide access by anything but these fields (no bypass, no "admin sees all"),
//! never store bodies, and never talk to the store or a service: the caller passes articles in
//! and text lookups for snippets.

mod index;

pub use index::{
    Access, Article, Facets, Hit, MAX_LEVELS, NOBODY, OPEN, Principal, Query, Results, SearchError,
    SearchIndex, Upserted,
};
