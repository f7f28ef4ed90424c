//! kb-km: Confluence as a knowledge base. A sync runs an incremental `extract` (so km never
//! costs more requests than extract), then transforms the replica: filters, the field mapping,
//! transformation rules, the layered access lists, articles and their bodies (Markdown, HTML,
//! plain text) in the store, and the kb-search index (ids, titles, metadata, access; bodies
//! stay in the store). Runs are recorded with their counts, the integration log says what
//! happened to which object, failed items are retried by the next run, and a guard refuses to
//! delete more than a configured share of a space.
//!
//! **Permissions are Confluence's, exactly, and fail closed** ([`access`]): the space's View
//! AND every restricted level from the top restricted ancestor down to the content; anything
//! whose restrictions were not read is visible to no one. Group membership is applied at query
//! time from `km_members`, so a membership change needs a permission sync, not a reindex.
//!
//! It must never decide access by anything but the replica's permissions (no admin bypass),
//! never report a run with failures as a success, and never speak HTTP itself: extract and the
//! Confluence client do.

pub mod access;
pub mod attachments;
pub mod config;
mod import;
pub mod log;
pub mod schedule;
pub mod transform;
mod util;

use std::collections::HashSet;

use kb_confluence::Confluence;
use kb_engine::extract::{ExtractOptions, ExtractReport, extract};
use kb_search::SearchIndex;
use kb_store::{Filter, RunEnd, RunStatus, Store, StoreError};
use serde::Serialize;
use serde_json::json;

pub use access::{Levels, Searcher};
pub use config::KmConfig;
pub use import::{ImportCounts, ImportOptions};
pub use log::LogLine;

/// Why a km operation stopped.
#[derive(Debug, thiserror::Error)]
pub enum KmError {
    #[error("km: the store: {0}")]
    Store(#[from] StoreError),
    #[error("km: {0}")]
    Search(#[from] kb_search::SearchError),
    #[error("km: the extract before the import failed: {0}")]
    Extract(#[from] kb_engine::extract::ExtractError),
    #[error("km: the CQL filter {cql:?} failed: {reason}")]
    Cql { cql: String, reason: String },
    #[error("km: {0}")]
    Input(String),
    /// The delete guard refused the deletions of these spaces (nothing of them was deleted).
    #[error(
        "km: refused to delete more than the allowed share of space(s) {}: see `kbridge km logs --level error`",
        spaces.join(", ")
    )]
    DeleteGuard {
        spaces: Vec<String>,
        counts: Box<ImportCounts>,
    },
}

/// What a sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// The km run (in the store's `runs`, job `km sync`).
    pub run_id: i64,
    /// `succeeded` or `failed` (a run with any failed item never succeeds).
    pub status: String,
    pub counts: ImportCounts,
    /// Requests the extract made (km itself makes none, except a CQL filter's).
    pub requests: u64,
    /// The extract's run and its requests per endpoint.
    pub extract_run_id: i64,
    pub extract_requests: std::collections::BTreeMap<String, u64>,
    /// Lines at warn and error level in the integration log.
    pub warnings: usize,
    pub errors: usize,
}

/// What a sync reads.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Re-read permissions (space permissions, restrictions of all content, groups and their
    /// members) instead of content changes: the permission sync.
    pub permissions: bool,
    /// Options of the extract before the import (spaces come from the filters).
    pub extract: ExtractOptions,
}

/// One incremental pass: extract, then import from the replica. The run is recorded (job
/// `km sync`) with its counts and ends `failed` when anything failed.
pub async fn sync(
    client: &Confluence,
    store: &Store,
    index: &mut SearchIndex,
    cfg: &KmConfig,
    opts: &SyncOptions,
) -> Result<SyncReport, KmError> {
    let job = if opts.permissions {
        "km permissions"
    } else {
        "km sync"
    };
    let run_id = store.start_run(job).await?;
    let _alive = store.keep_run_alive(run_id);
    let mut log = log::RunLog::new(run_id);
    let before = client.stats();
    let outcome = run(client, store, index, cfg, opts, run_id, &mut log).await;
    let after = client.stats();
    let requests = after.requests.saturating_sub(before.requests);
    let mut report = SyncReport {
        run_id,
        requests,
        ..SyncReport::default()
    };
    let error = match &outcome {
        Ok((counts, ex)) => {
            report.counts = counts.clone();
            report.extract_run_id = ex.run_id;
            report.extract_requests = ex.requests.clone();
            None
        }
        Err(e) => {
            if let KmError::DeleteGuard { counts, .. } = e {
                report.counts = (**counts).clone();
            }
            log.error(
                "run",
                &e.to_string(),
                "see the lines above; the next run retries",
            );
            Some(e.to_string())
        }
    };
    let failed = error.is_some() || report.counts.failed > 0;
    report.status = if failed { "failed" } else { "succeeded" }.into();
    report.warnings = log.count("warn");
    report.errors = log.count("error");
    let flushed = log.flush(store).await;
    let end = RunEnd {
        status: if failed {
            RunStatus::Failed
        } else {
            RunStatus::Succeeded
        },
        counts: json!(report.counts),
        requests: json!({"total": requests, "extract_run": report.extract_run_id}),
        errors: json!(error.into_iter().collect::<Vec<_>>()),
    };
    store.finish_run(run_id, &end).await?;
    flushed?;
    outcome?;
    Ok(report)
}

async fn run(
    client: &Confluence,
    store: &Store,
    index: &mut SearchIndex,
    cfg: &KmConfig,
    opts: &SyncOptions,
    run_id: i64,
    log: &mut log::RunLog,
) -> Result<(ImportCounts, ExtractReport), KmError> {
    let mut ex = opts.extract.clone();
    if ex.spaces.is_empty() {
        ex.spaces = cfg.filters.spaces_include.clone();
    }
    if opts.permissions {
        ex.reconcile = true;
        ex.endpoints = Some(
            [
                "spaces",
                "space_permissions",
                "content_restrictions",
                "groups",
                "group_members",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        );
    }
    let report = extract(client, store, &ex, None).await?;
    for w in &report.warnings {
        log.warn("extract", w, "see `kbridge extract` in docs/extract.md");
    }
    let cql_ids = match &cfg.filters.cql {
        Some(cql) => Some(cql_ids(client, cql).await?),
        None => None,
    };
    let iopts = ImportOptions {
        site_url: client
            .site()
            .wiki()
            .as_str()
            .trim_end_matches('/')
            .to_string(),
        cql_ids,
        files: ex.files.clone(),
    };
    let counts = import::import(store, index, cfg, &iopts, run_id, log).await?;
    log.info(
        "run",
        &format!(
            "{} added, {} updated, {} deleted, {} unchanged, {} skipped by filters, {} failed, {} readable by no one",
            counts.added,
            counts.updated,
            counts.deleted,
            counts.unchanged,
            counts.skipped_by_filter,
            counts.failed,
            counts.closed
        ),
    );
    Ok((counts, report))
}

async fn cql_ids(client: &Confluence, cql: &str) -> Result<HashSet<String>, KmError> {
    let fail = |e: kb_http::HttpError| KmError::Cql {
        cql: cql.to_string(),
        reason: e.to_string(),
    };
    let hits = client
        .content_search(cql, &[])
        .map_err(fail)?
        .all()
        .await
        .map_err(fail)?;
    Ok(hits
        .iter()
        .filter_map(|h| util::text(h.get("id")))
        .collect())
}

/// Imports from the replica alone (no extract): what `sync` does after its extract. Recorded
/// as a run of job `km import`.
pub async fn import_only(
    store: &Store,
    index: &mut SearchIndex,
    cfg: &KmConfig,
    opts: &ImportOptions,
) -> Result<(i64, ImportCounts), KmError> {
    let run_id = store.start_run("km import").await?;
    let _alive = store.keep_run_alive(run_id);
    let mut log = log::RunLog::new(run_id);
    let outcome = import::import(store, index, cfg, opts, run_id, &mut log).await;
    let failed = outcome.as_ref().map_or(true, |c| c.failed > 0);
    let flushed = log.flush(store).await;
    store
        .finish_run(
            run_id,
            &RunEnd {
                status: if failed {
                    RunStatus::Failed
                } else {
                    RunStatus::Succeeded
                },
                counts: outcome.as_ref().map(|c| json!(c)).unwrap_or(json!({})),
                requests: json!({"total": 0}),
                errors: json!(
                    outcome
                        .as_ref()
                        .err()
                        .map(|e| e.to_string())
                        .into_iter()
                        .collect::<Vec<_>>()
                ),
            },
        )
        .await?;
    flushed?;
    Ok((run_id, outcome?))
}

/// Rebuilds the index from the store's articles and access lists (`kbridge km reindex`).
pub async fn reindex(store: &Store, index: &mut SearchIndex) -> Result<u64, KmError> {
    index.clear()?;
    let mut levels: std::collections::HashMap<String, Vec<(i64, String)>> =
        std::collections::HashMap::new();
    for r in store
        .select(
            "km_access",
            &["article_id", "level", "principal"],
            &Filter::all(),
        )
        .await?
    {
        if let (Some(a), Some(l), Some(p)) = (
            util::text(r.first()),
            r.get(1).and_then(serde_json::Value::as_i64),
            util::text(r.get(2)),
        ) {
            levels.entry(a).or_default().push((l, p));
        }
    }
    let cols = [
        "id",
        "kind",
        "title",
        "tags",
        "category",
        "space_key",
        "author",
        "updated_at",
        "body_text",
    ];
    let mut after: Option<serde_json::Value> = None;
    let mut n = 0u64;
    loop {
        let rows = store
            .select_page(
                "km_articles",
                &cols,
                &Filter::all(),
                after.as_ref(),
                Some(1000),
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.first().cloned();
        let mut batch = Vec::with_capacity(rows.len());
        for r in &rows {
            let Some(id) = util::text(r.first()) else {
                continue;
            };
            let access = access_of(levels.get(&id));
            batch.push(kb_search::Article {
                id: id.clone(),
                kind: util::text(r.get(1)).unwrap_or_else(|| "page".into()),
                title: util::text(r.get(2)).unwrap_or_default(),
                body: util::text(r.get(8)).unwrap_or_default(),
                tags: r
                    .get(3)
                    .and_then(|t| t.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
                category: util::text(r.get(4)).unwrap_or_default(),
                space: util::text(r.get(5)).unwrap_or_default(),
                author: util::text(r.get(6)),
                updated_ms: util::text(r.get(7))
                    .and_then(|t| util::parse_instant(&t))
                    .unwrap_or(0),
                access,
            });
        }
        n += index.upsert(&batch)?.written as u64;
        if rows.len() < 1000 {
            break;
        }
    }
    index.commit()?;
    Ok(n)
}

/// The stored access rows of an article back into levels (missing or odd: unknown).
fn access_of(rows: Option<&Vec<(i64, String)>>) -> kb_search::Access {
    let Some(rows) = rows else {
        return kb_search::Access::Unknown;
    };
    if rows.iter().any(|(_, p)| p == kb_search::NOBODY) && rows.len() == 1 {
        return kb_search::Access::Unknown;
    }
    let max = rows.iter().map(|(l, _)| *l).max().unwrap_or(-1);
    if max < 0 || max as usize >= kb_search::MAX_LEVELS {
        return kb_search::Access::Unknown;
    }
    let mut levels = vec![std::collections::BTreeSet::new(); max as usize + 1];
    for (l, p) in rows {
        if p != kb_search::OPEN {
            levels[*l as usize].insert(p.clone());
        }
    }
    // Level 0 (the space) is never open; a level that lost its rows cannot be read back.
    if levels[0].is_empty() {
        return kb_search::Access::Unknown;
    }
    kb_search::Access::Levels(levels)
}

/// A search request.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub text: String,
    pub tags: Vec<String>,
    pub categories: Vec<String>,
    pub spaces: Vec<String>,
    pub authors: Vec<String>,
    pub kinds: Vec<String>,
    pub limit: usize,
    pub offset: usize,
    /// Snippets from the stored plain text.
    pub snippets: bool,
    /// Facet counts (tags, categories, spaces, authors) of every readable match: a pass over
    /// all of them, so only when shown.
    pub facets: bool,
}

/// One hit, with what the store knows of it.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub id: String,
    pub title: String,
    pub score: f32,
    pub url: Option<String>,
    pub snippet: Option<String>,
}

/// The answer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SearchAnswer {
    pub total: usize,
    pub hits: Vec<SearchHit>,
    pub facets: serde_json::Value,
    /// The principals searched as.
    pub principals: Vec<String>,
}

/// Searches as `who`: their principals from the store, then the index.
pub async fn search(
    store: &Store,
    index: &SearchIndex,
    who: &Searcher,
    req: &SearchRequest,
) -> Result<SearchAnswer, KmError> {
    let principals = access::principals(store, who).await?;
    if principals.is_empty() {
        // Someone who may read nothing (no product access): no query at all, so not even an
        // article open at every level could match.
        return Ok(SearchAnswer::default());
    }
    let q = kb_search::Query {
        text: req.text.clone(),
        principals: principals.clone(),
        tags: req.tags.clone(),
        categories: req.categories.clone(),
        spaces: req.spaces.clone(),
        authors: req.authors.clone(),
        kinds: req.kinds.clone(),
        limit: req.limit,
        offset: req.offset,
        skip_facets: !req.facets,
    };
    let res = index.search(&q, &|_| None)?;
    let ids: Vec<serde_json::Value> = res.hits.iter().map(|h| json!(h.id)).collect();
    let mut stored = std::collections::HashMap::new();
    if !ids.is_empty() {
        // The body only for snippets: it is the largest column.
        let columns: &[&str] = if req.snippets {
            &["id", "url", "body_text"]
        } else {
            &["id", "url"]
        };
        for r in store
            .select("km_articles", columns, &Filter::all().any("id", ids))
            .await?
        {
            if let Some(id) = util::text(r.first()) {
                stored.insert(id, (util::text(r.get(1)), util::text(r.get(2))));
            }
        }
    }
    let hits = res
        .hits
        .into_iter()
        .map(|h| {
            let (url, body) = stored.remove(&h.id).unwrap_or((None, None));
            let snippet = match (req.snippets, body) {
                (true, Some(b)) if !req.text.trim().is_empty() => index.snippet(&req.text, &b),
                _ => None,
            };
            SearchHit {
                id: h.id,
                title: h.title,
                score: h.score,
                url,
                snippet,
            }
        })
        .collect();
    Ok(SearchAnswer {
        total: res.total,
        hits,
        facets: json!({
            "tags": res.facets.tags,
            "categories": res.facets.categories,
            "spaces": res.facets.spaces,
            "authors": res.facets.authors,
        }),
        principals,
    })
}
