use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, Occur, Query as TQuery, QueryParser, RegexQuery, TermQuery,
    TermSetQuery,
};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};

/// The sentinel of a level without a read restriction: every searcher passes it.
pub const OPEN: &str = "__open__";
/// The value of level 0 for an article whose access is unknown: no searcher holds it (and a
/// searcher passing it gains nothing). A caller may put it in a level that no one passes.
pub const NOBODY: &str = "__nobody__";
/// How many levels an article's access can have (the space, then restricted ancestors and the
/// page). An article with more is indexed as unknown (fails closed) and reported.
pub const MAX_LEVELS: usize = 12;
/// Bumped whenever the schema changes; an index of another version must be rebuilt.
const SCHEMA_VERSION: &str = "kb-search-1";

/// A principal: `u:<account id>`, `g:<group id>`, `anonymous`, or any other stable token the
/// caller uses (roles). Searchers pass theirs, with their groups expanded.
pub type Principal = String;

/// Who can read an article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The levels, top down: each a set of principals any of which passes it; an empty set
    /// means "no restriction at this level" (it is stored as [`OPEN`]).
    Levels(Vec<BTreeSet<Principal>>),
    /// Not known (its restrictions could not be read): visible to no one.
    Unknown,
}

/// What the index holds of one article.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// The article's unique id (e.g. `page:123`).
    pub id: String,
    /// `page`, `blogpost`, `attachment`…
    pub kind: String,
    /// The title (boosted in ranking).
    pub title: String,
    /// The plain text: indexed, not stored.
    pub body: String,
    /// Tags (labels).
    pub tags: Vec<String>,
    /// The category (by default the space's name).
    pub category: String,
    /// The space key.
    pub space: String,
    /// The author, when known.
    pub author: Option<String>,
    /// Last updated, epoch milliseconds.
    pub updated_ms: i64,
    /// Who can read it.
    pub access: Access,
}

/// A search.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// The text: words (all must match), `"phrases"`, `prefix*`, `-excluded`; empty matches
    /// everything the searcher can read.
    pub text: String,
    /// The searcher's principals (account, expanded groups, roles; `anonymous` applies to all).
    pub principals: Vec<Principal>,
    /// Only articles with all of these tags.
    pub tags: Vec<String>,
    /// Only these categories (any of them).
    pub categories: Vec<String>,
    /// Only these spaces (any of them).
    pub spaces: Vec<String>,
    /// Only these authors (any of them).
    pub authors: Vec<String>,
    /// Only these kinds (any of them).
    pub kinds: Vec<String>,
    /// How many hits to return (default 10 when 0).
    pub limit: usize,
    /// How many hits to skip.
    pub offset: usize,
    /// Leave the facet counts out (they cost a pass over every readable match).
    pub skip_facets: bool,
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The article's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// BM25 score.
    pub score: f32,
    /// A fragment of the body with the matches in `<b>…</b>` (HTML-escaped), when the body
    /// was available.
    pub snippet: Option<String>,
}

/// Counts of the matching, readable articles per value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facets {
    /// Per tag.
    pub tags: BTreeMap<String, u64>,
    /// Per category.
    pub categories: BTreeMap<String, u64>,
    /// Per space.
    pub spaces: BTreeMap<String, u64>,
    /// Per author.
    pub authors: BTreeMap<String, u64>,
}

/// The answer to a search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Results {
    /// How many readable articles match (all pages of results).
    pub total: usize,
    /// This page of results, best first.
    pub hits: Vec<Hit>,
    /// Facet counts over all matching, readable articles.
    pub facets: Facets,
}

/// What an upsert did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upserted {
    /// Articles written.
    pub written: usize,
    /// Ids of articles indexed as unreadable because their access was unknown or too deep.
    pub closed: Vec<String>,
}

/// A search failure.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// tantivy failed.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index directory holds an index of another schema.
    #[error(
        "the search index at {path} was made by another version of kbridge: run `kbridge km reindex` to rebuild it from the store"
    )]
    OtherVersion {
        /// The directory.
        path: String,
    },
    /// The index directory cannot be opened.
    #[error("cannot open the search index at {path}: {reason}")]
    Open {
        /// The directory.
        path: String,
        /// Why.
        reason: String,
    },
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    kind: Field,
    title: Field,
    body: Field,
    tag: Field,
    category: Field,
    space: Field,
    author: Field,
    updated: Field,
    facets: Field,
    version: Field,
    acl: [Field; MAX_LEVELS],
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |stored: bool| {
        let idx = TextFieldIndexing::default()
            .set_tokenizer("en_stem")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let o = TextOptions::default().set_indexing_options(idx);
        if stored { o.set_stored() } else { o }
    };
    let id = b.add_text_field("id", STRING | STORED);
    let kind = b.add_text_field("kind", STRING);
    let title = b.add_text_field("title", text(true));
    let body = b.add_text_field("body", text(false));
    let tag = b.add_text_field("tag", STRING);
    let category = b.add_text_field("category", STRING);
    let space = b.add_text_field("space", STRING);
    let author = b.add_text_field("author", STRING);
    let updated = b.add_i64_field("updated", INDEXED | FAST);
    let facets = b.add_facet_field("facets", FacetOptions::default());
    let version = b.add_text_field("schema_version", STRING | STORED);
    let acl = std::array::from_fn(|i| b.add_text_field(&format!("acl_{i}"), STRING));
    (
        b.build(),
        Fields {
            id,
            kind,
            title,
            body,
            tag,
            category,
            space,
            author,
            updated,
            facets,
            version,
            acl,
        },
    )
}

/// The index: one writer, one reader reloaded after each commit.
pub struct SearchIndex {
    index: Index,
    writer: IndexWriter,
    reader: IndexReader,
    f: Fields,
}

impl SearchIndex {
    /// An index in memory (tests, benchmarks).
    pub fn in_memory() -> Result<SearchIndex, SearchError> {
        let (schema, f) = schema();
        SearchIndex::with(Index::create_in_ram(schema), f)
    }

    /// Opens the index in `dir`, creating it when the folder is empty or missing. An index of
    /// another schema version is an error that says how to rebuild it.
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        let open_err = |e: &dyn std::fmt::Display| SearchError::Open {
            path: dir.display().to_string(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| open_err(&e))?;
        let (schema, f) = schema();
        let mmap = tantivy::directory::MmapDirectory::open(dir).map_err(|e| open_err(&e))?;
        let exists = Index::exists(&mmap).map_err(|e| open_err(&e))?;
        let index = if exists {
            let index = Index::open(mmap)?;
            if index.schema() != schema {
                return Err(SearchError::OtherVersion {
                    path: dir.display().to_string(),
                });
            }
            index
        } else {
            Index::create(mmap, schema, tantivy::IndexSettings::default())?
        };
        SearchIndex::with(index, f)
    }

    fn with(index: Index, f: Fields) -> Result<SearchIndex, SearchError> {
        let writer = index.writer(50_000_000)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            writer,
            reader,
            f,
        })
    }

    /// Adds or replaces articles (by id). Visible to searches after [`commit`](Self::commit).
    pub fn upsert(&mut self, articles: &[Article]) -> Result<Upserted, SearchError> {
        let mut out = Upserted::default();
        for a in articles {
            let f = self.f;
            self.writer.delete_term(Term::from_field_text(f.id, &a.id));
            let mut d = doc!(
                f.id => a.id.as_str(),
                f.kind => a.kind.as_str(),
                f.title => a.title.as_str(),
                f.body => a.body.as_str(),
                f.category => a.category.as_str(),
                f.space => a.space.as_str(),
                f.updated => a.updated_ms,
                f.version => SCHEMA_VERSION,
            );
            for t in &a.tags {
                d.add_text(f.tag, t);
                d.add_facet(f.facets, Facet::from_path(["tag", t.as_str()]));
            }
            d.add_facet(
                f.facets,
                Facet::from_path(["category", a.category.as_str()]),
            );
            d.add_facet(f.facets, Facet::from_path(["space", a.space.as_str()]));
            if let Some(au) = &a.author {
                d.add_text(f.author, au);
                d.add_facet(f.facets, Facet::from_path(["author", au.as_str()]));
            }
            let levels = match &a.access {
                Access::Levels(l) if !l.is_empty() && l.len() <= MAX_LEVELS => Some(l),
                _ => None,
            };
            match levels {
                Some(levels) => {
                    for (i, field) in f.acl.iter().enumerate() {
                        match levels.get(i) {
                            Some(set) if !set.is_empty() => {
                                for p in set {
                                    d.add_text(*field, p);
                                }
                            }
                            _ => d.add_text(*field, OPEN),
                        }
                    }
                }
                None => {
                    // Fail closed: level 0 holds a value no searcher has, and no OPEN.
                    d.add_text(f.acl[0], NOBODY);
                    for field in &f.acl[1..] {
                        d.add_text(*field, OPEN);
                    }
                    out.closed.push(a.id.clone());
                }
            }
            self.writer.add_document(d)?;
            out.written += 1;
        }
        Ok(out)
    }

    /// Removes articles by id.
    pub fn delete(&mut self, ids: &[String]) {
        for id in ids {
            self.writer
                .delete_term(Term::from_field_text(self.f.id, id));
        }
    }

    /// Removes every article (before a rebuild).
    pub fn clear(&mut self) -> Result<(), SearchError> {
        self.writer.delete_all_documents()?;
        Ok(())
    }

    /// Makes the changes so far durable and visible.
    pub fn commit(&mut self) -> Result<(), SearchError> {
        self.writer.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// How many articles the index holds (readable or not).
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Searches as the searcher whose principals `q` names. `body_of` returns an article's
    /// text (from the store) for its snippet; `None` leaves the snippet out.
    pub fn search(
        &self,
        q: &Query,
        body_of: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Results, SearchError> {
        let f = self.f;
        let searcher = self.reader.searcher();
        let text_query = self.text_query(&q.text);
        let mut must: Vec<(Occur, Box<dyn TQuery>)> = vec![(Occur::Must, text_query.box_clone())];
        // Access: per level, one of the searcher's principals or OPEN. A level that every
        // document of the index (deleted ones too) holds as OPEN passes everyone: left out.
        let all_docs: u64 = searcher
            .segment_readers()
            .iter()
            .map(|r| u64::from(r.max_doc()))
            .sum();
        for field in f.acl {
            if searcher.doc_freq(&Term::from_field_text(field, OPEN))? == all_docs {
                continue;
            }
            // The sentinels are never a searcher's: a caller passing them gains nothing.
            let terms = q
                .principals
                .iter()
                .map(String::as_str)
                .filter(|p| *p != OPEN && *p != NOBODY)
                .chain([OPEN])
                .map(|p| Term::from_field_text(field, p));
            must.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
        }
        for t in &q.tags {
            must.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.tag, t),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        for (field, values) in [
            (f.category, &q.categories),
            (f.space, &q.spaces),
            (f.author, &q.authors),
            (f.kind, &q.kinds),
        ] {
            if !values.is_empty() {
                let terms = values.iter().map(|v| Term::from_field_text(field, v));
                must.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
            }
        }
        let query = BooleanQuery::new(must);
        let limit = if q.limit == 0 { 10 } else { q.limit };
        let mut facet_collector = FacetCollector::for_field("facets");
        for root in ["/tag", "/category", "/space", "/author"] {
            facet_collector.add_facet(root);
        }
        let top_docs = TopDocs::with_limit(limit)
            .and_offset(q.offset)
            .order_by_score();
        let (top, total, facet_counts) = if q.skip_facets {
            let (top, total) = searcher.search(&query, &(top_docs, Count))?;
            (top, total, None)
        } else {
            let (top, total, f) = searcher.search(&query, &(top_docs, Count, facet_collector))?;
            (top, total, Some(f))
        };
        // Made on the first hit whose body the caller gives.
        let mut snippets: Option<Option<SnippetGenerator>> = None;
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr)?;
            let get = |field: Field| {
                d.get_first(field)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            let (Some(id), Some(title)) = (get(f.id), get(f.title)) else {
                continue;
            };
            let snippet = match body_of(&id) {
                Some(body) => snippets
                    .get_or_insert_with(|| {
                        SnippetGenerator::create(&searcher, &*text_query, f.body).ok()
                    })
                    .as_ref()
                    .and_then(|g| {
                        let s = g.snippet(&body);
                        (!s.fragment().is_empty()).then(|| s.to_html())
                    }),
                None => None,
            };
            hits.push(Hit {
                id,
                title,
                score,
                snippet,
            });
        }
        let mut facets = Facets::default();
        for (root, out) in [
            ("/tag", &mut facets.tags),
            ("/category", &mut facets.categories),
            ("/space", &mut facets.spaces),
            ("/author", &mut facets.authors),
        ] {
            for (facet, n) in facet_counts.iter().flat_map(|c| c.get(root)) {
                if let Some(last) = facet.to_path().last() {
                    out.insert((*last).to_string(), n);
                }
            }
        }
        Ok(Results {
            total,
            hits,
            facets,
        })
    }

    /// A snippet of `body` (text fetched from the store) for the query text `text`: the best
    /// fragment with the matches in `<b>…</b>`, HTML-escaped; `None` when nothing matches.
    pub fn snippet(&self, text: &str, body: &str) -> Option<String> {
        let searcher = self.reader.searcher();
        let q = self.text_query(text);
        let g = SnippetGenerator::create(&searcher, &*q, self.f.body).ok()?;
        let s = g.snippet(body);
        (!s.fragment().is_empty()).then(|| s.to_html())
    }

    /// Words and phrases through tantivy's parser (all words required, title boosted 3×);
    /// `word*` as a prefix on title and body; empty text matches everything.
    fn text_query(&self, text: &str) -> Box<dyn TQuery> {
        let f = self.f;
        let mut prefixes = Vec::new();
        let mut rest = Vec::new();
        let mut in_quotes = false;
        for word in text.split_whitespace() {
            let quotes = word.matches('"').count();
            if !in_quotes && quotes == 0 && word.len() > 1 && word.ends_with('*') {
                let p: String = word
                    .trim_end_matches('*')
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .flat_map(char::to_lowercase)
                    .collect();
                if !p.is_empty() {
                    prefixes.push(p);
                    continue;
                }
            }
            if quotes % 2 == 1 {
                in_quotes = !in_quotes;
            }
            rest.push(word);
        }
        let mut clauses: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
        let rest = rest.join(" ");
        if !rest.trim().is_empty() {
            let mut parser = QueryParser::for_index(&self.index, vec![f.title, f.body]);
            parser.set_conjunction_by_default();
            parser.set_field_boost(f.title, 3.0);
            // Lenient: a stray quote or colon is read as text rather than refused.
            let (q, _errors) = parser.parse_query_lenient(&rest);
            clauses.push((Occur::Must, q));
        }
        for p in prefixes {
            let pattern = format!("{}.*", regex_escape(&p));
            let mut either: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
            for (field, boost) in [(f.title, 3.0), (f.body, 1.0)] {
                if let Ok(r) = RegexQuery::from_pattern(&pattern, field) {
                    either.push((Occur::Should, Box::new(BoostQuery::new(Box::new(r), boost))));
                }
            }
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(either))));
        }
        if clauses.is_empty() {
            Box::new(AllQuery)
        } else {
            Box::new(BooleanQuery::new(clauses))
        }
    }
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~\"@<>".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
