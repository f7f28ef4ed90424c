//! The run: the context every phase shares, and the order of the phases.

use std::sync::Mutex;
use std::time::Instant;

use futures_util::{StreamExt as _, TryStreamExt as _};
use kb_confluence::{Confluence, Listing};
use kb_http::{Page, PageStream};
use kb_store::{Batch, RunEnd, RunStatus, Store};
use serde_json::{Value, json};

use super::content::{self, BLOG_POSTS, Kind, ListState, PAGES, SpaceRef};
use super::{
    ExtractError, ExtractOptions, ExtractReport, Progress, ProgressFn, Result, derive, site,
};

/// What every phase of a run shares.
pub(crate) struct Ctx {
    pub client: Confluence,
    pub store: Store,
    pub opts: ExtractOptions,
    progress: Option<ProgressFn>,
    report: Mutex<ExtractReport>,
    /// Checkpoint scopes are per site, so one store can hold several sites' checkpoints.
    site: String,
}

impl Ctx {
    /// The checkpoint scope of a space (or of the site for `""`).
    pub fn scope(&self, space_id: &str) -> String {
        if space_id.is_empty() {
            format!("confluence:{}", self.site)
        } else {
            format!("confluence:{}:space:{space_id}", self.site)
        }
    }

    /// Hands `p` to the run's sink, which logs it; without a sink, logs it here.
    pub fn progress(&self, p: Progress) {
        match &self.progress {
            Some(f) => f(&p),
            None => p.log(),
        }
    }

    pub fn warn(&self, message: String) {
        self.report(|r| r.warnings.push(message.clone()));
        self.progress(Progress::Warning { message });
    }

    pub fn report(&self, f: impl FnOnce(&mut ExtractReport)) {
        f(&mut self.report.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub fn rows(&self, table: &str, n: u64) {
        let mut total = 0;
        self.report(|r| {
            content::merge_counts(&mut r.rows, table, n);
            total = r.rows[table];
        });
        self.progress(Progress::Rows {
            table: table.to_string(),
            added: n,
            total,
        });
    }

    /// An attachment file stored (`--files`).
    pub fn file_stored(&self, file: &kb_store::AttachmentFile) {
        self.report(|r| {
            r.files_downloaded += 1;
            r.file_bytes += file.size as u64;
        });
        self.progress(Progress::FileStored {
            attachment_id: file.attachment_id.clone(),
            bytes: file.size as u64,
        });
    }

    /// An attachment file that could not be downloaded: in the report (and so the run's row)
    /// with its id; the run goes on and the next one tries it again.
    pub fn file_failed(&self, attachment_id: &str, reason: String) {
        self.report(|r| {
            r.files_failed.push(super::FileFailure {
                attachment_id: attachment_id.to_string(),
                reason: reason.clone(),
            })
        });
        self.progress(Progress::FileFailed {
            attachment_id: attachment_id.to_string(),
            reason,
        });
    }

    pub fn deleted(&self, table: &str, n: u64) {
        if n > 0 {
            self.report(|r| content::merge_counts(&mut r.deleted, table, n));
        }
    }

    pub async fn commit(&self, batch: &Batch, what: &str) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let (summary, held) = self
            .store
            .commit_quarantining(batch)
            .await
            .map_err(ExtractError::store(format!("storing {what}")))?;
        self.held(summary, held);
        Ok(())
    }

    /// Notes the records a commit quarantined (once per record in the report) and released.
    pub fn held(&self, summary: kb_store::CommitSummary, held: Vec<kb_store::Quarantined>) {
        for q in &held {
            self.progress(Progress::Warning {
                message: format!(
                    "{} {} could not be stored and was quarantined: {}",
                    q.kind, q.object, q.reason
                ),
            });
        }
        self.report(|r| r.released += summary.released);
    }

    /// The ids of the quarantined records of `table` in space `space_id` (to fetch again).
    pub async fn quarantined_ids(&self, table: &str, space_id: &str) -> Result<Vec<String>> {
        Ok(self
            .store
            .quarantine()
            .await
            .map_err(ExtractError::store("reading the quarantine"))?
            .into_iter()
            .filter(|q| q.kind == table && q.raw["spaceId"].as_str() == Some(space_id))
            .filter_map(|q| q.raw["id"].as_str().map(str::to_string))
            .collect())
    }
}

/// A listing opened from a saved token, its first page already read.
pub(crate) struct Resumed {
    first: Option<Page<Value>>,
    rest: PageStream<Value>,
    ended: bool,
    what: String,
    /// Whether the listing continues a saved token (else it starts at the beginning).
    pub resumed: bool,
}

impl Resumed {
    /// Reads the next page while the caller works on this one (a task reads one page ahead): a listing read to its end costs the same requests, but its latency
    /// overlaps the caller's commits. Not for listings that may stop early (the page read
    /// ahead would be a wasted request).
    pub fn prefetch(mut self) -> Resumed {
        if self.ended {
            return self;
        }
        let mut rest = std::mem::replace(&mut self.rest, futures_util::stream::empty().boxed());
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            // A slot first, then the request: one page ahead at most.
            while let Ok(slot) = tx.reserve().await {
                let Some(item) = rest.next().await else { break };
                let failed = item.is_err();
                slot.send(item);
                if failed {
                    break;
                }
            }
        });
        self.rest = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed();
        self
    }

    /// The next page, or `None` at the end.
    pub async fn next(&mut self) -> Result<Option<Page<Value>>> {
        if let Some(p) = self.first.take() {
            return Ok(Some(p));
        }
        if self.ended {
            return Ok(None);
        }
        let p = self
            .rest
            .try_next()
            .await
            .map_err(ExtractError::http(format!("listing {}", self.what)))?;
        self.ended = p.is_none();
        Ok(p)
    }
}

impl Ctx {
    /// Opens `listing` at a saved token. When the service refuses the token (a 400: the cursor
    /// expired, or was saved by another version), the listing starts over from the beginning,
    /// which is safe because upserts are idempotent, and says so.
    pub async fn open(
        &self,
        listing: Listing,
        token: Option<String>,
        what: &str,
    ) -> Result<Resumed> {
        let (request, pagination) = (listing.request.clone(), listing.pagination.clone());
        let had = token.is_some();
        let mut rest = listing.resume(token);
        let (first, resumed) = match rest.try_next().await {
            Ok(first) => (first, had),
            Err(e) if had && e.status() == Some(400) => {
                self.warn(format!(
                    "{what}: the saved cursor was refused ({e}); listing again from the start"
                ));
                rest = self.client.custom_listing(request, pagination).pages();
                let first = rest
                    .try_next()
                    .await
                    .map_err(ExtractError::http(format!("listing {what}")))?;
                (first, false)
            }
            Err(e) => return Err(ExtractError::http(format!("listing {what}"))(e)),
        };
        Ok(Resumed {
            ended: first.is_none(),
            first,
            rest,
            what: what.to_string(),
            resumed,
        })
    }
}

impl Ctx {
    /// Opens a listing read to its end (a full pass, whose purge compares `synced_at` with
    /// when it began): reads ahead, and returns the instant the pass began, to keep in its
    /// checkpoint (`pass`): the saved one when it resumes a saved token (`None` if the
    /// checkpoint has none), now otherwise.
    pub async fn open_pass(
        &self,
        listing: Listing,
        token: Option<String>,
        checkpoint: Option<&Value>,
        what: &str,
    ) -> Result<(Resumed, Option<String>)> {
        let started = kb_store::time::now();
        let saved = ListState::from_json(checkpoint).pass;
        let stream = self.open(listing, token, what).await?.prefetch();
        let pass = if stream.resumed { saved } else { Some(started) };
        Ok((stream, pass))
    }
}

/// Replicates the Confluence site behind `client` into `store`.
///
/// The run is recorded in the store's `runs` table (also when it fails). On error, what was
/// committed stays committed with its checkpoint: running again continues from there.
pub async fn extract(
    client: &Confluence,
    store: &Store,
    opts: &ExtractOptions,
    progress: Option<ProgressFn>,
) -> Result<ExtractReport> {
    if let Some(e) = &opts.endpoints {
        for name in e {
            if super::plan::endpoint(name).is_none() {
                let known: Vec<&str> = super::plan::ENDPOINTS.iter().map(|e| e.name).collect();
                return Err(ExtractError::Input(format!(
                    "unknown endpoint {name:?}: choose among {}",
                    known.join(", ")
                )));
            }
        }
    }
    let started = Instant::now();
    let before = client.stats();
    let run_id = store
        .start_run("extract confluence")
        .await
        .map_err(ExtractError::store("recording the run"))?;
    let _alive = store.keep_run_alive(run_id);
    let ctx = Ctx {
        client: client.clone(),
        store: store.clone(),
        opts: opts.clone(),
        progress,
        report: Mutex::new(ExtractReport {
            run_id,
            ..ExtractReport::default()
        }),
        site: client.site().display(),
    };
    // Quarantined records first: what a newer kbridge can store leaves the quarantine.
    let outcome = match store.retry_quarantine().await {
        Ok((summary, held)) => {
            ctx.held(summary, held);
            phases(&ctx).await
        }
        Err(e) => Err(ExtractError::store("retrying the quarantined records")(e)),
    };
    let mut report = ctx.report.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // What is still quarantined once the run is over (every record was retried by it).
    let outcome = match (outcome, store.quarantine().await) {
        (Ok(()), Ok(held)) => {
            report.quarantined = held
                .into_iter()
                .map(|q| super::QuarantineNote {
                    table: q.kind,
                    object: q.object,
                    reason: q.reason,
                    attempts: q.attempts,
                })
                .collect();
            Ok(())
        }
        (Ok(()), Err(e)) => Err(ExtractError::store("reading the quarantine")(e)),
        (Err(e), _) => Err(e),
    };
    let after = client.stats();
    report.requests = after
        .by_endpoint
        .keys()
        .map(|e| (e.clone(), after.requests_for(e) - before.requests_for(e)))
        .filter(|(_, n)| *n > 0)
        .collect();
    report.requests_total = report.requests.values().sum();
    report.rate_limited = after.rate_limited.saturating_sub(before.rate_limited);
    report.retries = after.retries.saturating_sub(before.retries);
    report.wall_seconds = started.elapsed().as_secs_f64();
    let mut errors: Vec<Value> = report.warnings.iter().map(|w| json!(w)).collect();
    errors.extend(report.files_failed.iter().map(|f| {
        json!(format!(
            "the file of attachment {} was not downloaded: {} (the next run tries it again)",
            f.attachment_id, f.reason
        ))
    }));
    errors.extend(report.quarantined.iter().map(|q| json!(q.to_string())));
    let mut counts = json!(report.rows);
    counts["quarantined"] = json!(report.quarantined.len());
    counts["released"] = json!(report.released);
    if ctx.opts.files.is_some() {
        counts["files_downloaded"] = json!(report.files_downloaded);
        counts["files_failed"] = json!(report.files_failed.len());
    }
    if let Err(e) = &outcome {
        errors.push(json!(e.to_string()));
    }
    let end = RunEnd {
        status: if outcome.is_ok() {
            RunStatus::Succeeded
        } else {
            RunStatus::Failed
        },
        counts,
        requests: json!({
            "by_endpoint": report.requests,
            "total": report.requests_total,
            "rate_limited": report.rate_limited,
            "retries": report.retries,
        }),
        errors: Value::Array(errors),
    };
    let recorded = store.finish_run(run_id, &end).await;
    outcome?;
    recorded.map_err(ExtractError::store("recording the end of the run"))?;
    Ok(report)
}

/// The tables a page or blog post listing feeds (it runs when any of them is wanted).
pub(crate) fn content_tables(kind: Kind) -> [&'static str; 7] {
    [
        kind.table,
        kind.versions,
        kind.labels,
        kind.properties,
        "content_restrictions",
        "child_pages",
        "page_ancestors",
    ]
}

async fn phases(ctx: &Ctx) -> Result<()> {
    let spaces = site::spaces(ctx).await?;
    if spaces.is_empty() {
        ctx.warn("no space to extract: the account can read none of the requested spaces".into());
    }
    // Two lanes share the site's rate and concurrency: the details of listed content (one
    // request per changed page: rate-bound) run beside the listings, derived tables and
    // site-wide listings (a chain of requests: latency-bound), so the rate budget the chain
    // leaves is used. A space's content is marked done only when both lanes finished it.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Kind, SpaceRef)>();
    let details_lane = async {
        while let Some((kind, space)) = rx.recv().await {
            content::stale_details(ctx, kind, &space).await?;
        }
        Ok::<_, ExtractError>(())
    };
    // One change window for the whole run (Cloud): the incremental listings below take their
    // hits and trash from it instead of asking per space.
    let window = super::window::search(ctx, &spaces).await?;
    let chain = async {
        let mut finished = Vec::new();
        for space in &spaces {
            site::space_metadata(ctx, space).await?;
            let mut changed: Vec<Vec<String>> = Vec::new();
            for kind in [PAGES, BLOG_POSTS] {
                if !ctx.opts.wants_any(&content_tables(kind)) {
                    changed.push(Vec::new());
                    continue;
                }
                let changes = content::sync_space(ctx, kind, space, window.as_ref()).await?;
                if changes.full {
                    // Tasks are listed whole after a full listing: no ids needed.
                    let _ = tx.send((kind, space.clone()));
                    changed.push(Vec::new());
                } else {
                    // Few after an incremental window; the tasks of these are read again.
                    changed.push(content::stale_details(ctx, kind, space).await?);
                }
                content::restrictions(
                    ctx,
                    kind,
                    space,
                    &changes.restrictions,
                    changes.full || ctx.opts.reconcile,
                )
                .await?;
                if kind.table == "pages" && changes.structure {
                    let affected = (!changes.full).then_some(changes.refetched.as_slice());
                    derive::page_tree(ctx, space, affected).await?;
                }
                finished.push((kind, space.clone(), changes));
            }
            site::tasks(ctx, space, &changed[0], &changed[1]).await?;
        }
        site::custom_content(ctx, &spaces).await?;
        drop(tx);
        site::attachments(ctx, &spaces, window.as_ref()).await?;
        site::comments(ctx, &spaces, window.as_ref()).await?;
        site::groups(ctx).await?;
        Ok::<_, ExtractError>(finished)
    };
    let ((), finished) = tokio::try_join!(details_lane, chain)?;
    for (kind, space, changes) in &finished {
        content::finish(ctx, *kind, space, changes).await?;
    }
    Ok(())
}
