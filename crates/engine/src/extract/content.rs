//! Pages and blog posts of one space: the bulk listing (first run), the CQL window and the
//! trashed listing (incremental runs), the id sweep (`--reconcile`), then the details of what
//! changed and the restrictions.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures_util::StreamExt as _;
use kb_confluence::{ContentKind, Wanted, keys};
use kb_store::{Batch, Expect, Filter, Row};
use serde_json::{Value, json};

use super::run::Ctx;
use super::{ExtractError, Progress, Result};

/// The two kinds of space content with the same life: pages and blog posts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Kind {
    pub table: &'static str,
    pub api: ContentKind,
    /// The owner column of the sub-tables (`page_id`, `blog_post_id`).
    pub owner: &'static str,
    pub labels: &'static str,
    pub versions: &'static str,
    pub properties: &'static str,
    /// Statuses listed (trashed included: the replica keeps them, as Confluence does).
    pub statuses: &'static [&'static str],
    /// `content_type` in `content_restrictions`.
    pub restriction_type: &'static str,
}

pub(crate) const PAGES: Kind = Kind {
    table: "pages",
    api: ContentKind::Page,
    owner: "page_id",
    labels: "page_labels",
    versions: "page_versions",
    properties: "page_content_properties",
    statuses: &["current", "archived", "trashed"],
    restriction_type: "page",
};

pub(crate) const BLOG_POSTS: Kind = Kind {
    table: "blog_posts",
    api: ContentKind::BlogPost,
    owner: "blog_post_id",
    labels: "blog_post_labels",
    versions: "blog_post_versions",
    properties: "blog_post_content_properties",
    statuses: &["current", "trashed"],
    restriction_type: "blogpost",
};

/// The space being read (its id and key: the flavour picks which its routes take).
pub(crate) use kb_confluence::SpaceRef;

/// The checkpoint of a listing: `listing` (with where to resume), `listed` (the listing ran to
/// its end; what follows it, details, restrictions and the page tree, has not finished yet), or
/// `done` (later runs are incremental from `hwm`).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ListState {
    /// The listing and everything after it finished at least once.
    pub done: bool,
    /// The listing ran to its end, but the phases after it may not have.
    pub listed: bool,
    /// Where an unfinished listing resumes.
    pub next: Option<String>,
    /// The newest modification seen (epoch ms).
    pub hwm: i64,
    /// When the current full listing began (RFC 3339): the rows it rewrote carry a later
    /// `synced_at`, so what it no longer saw is found in the store, even after a resume.
    pub pass: Option<String>,
}

impl ListState {
    pub fn from_json(v: Option<&Value>) -> ListState {
        let Some(v) = v else {
            return ListState::default();
        };
        let state = v.get("state").and_then(Value::as_str);
        ListState {
            done: state == Some("done"),
            listed: state == Some("listed"),
            next: v.get("next").and_then(Value::as_str).map(str::to_string),
            hwm: v.get("hwm").and_then(Value::as_i64).unwrap_or(0),
            pass: v.get("pass").and_then(Value::as_str).map(str::to_string),
        }
    }

    pub fn to_json(&self) -> Value {
        let state = if self.done {
            "done"
        } else if self.listed {
            "listed"
        } else {
            "listing"
        };
        let mut v = json!({ "state": state, "next": self.next, "hwm": self.hwm });
        if let Some(p) = &self.pass {
            v["pass"] = json!(p);
        }
        v
    }
}

/// The listing of a kind in a space, by the flavour's cheapest route.
async fn listing(
    ctx: &Ctx,
    kind: Kind,
    space: &SpaceRef,
    statuses: &[&str],
    body: bool,
) -> Result<kb_confluence::Listing, kb_http::HttpError> {
    ctx.client
        .content_listing(kind.api, space, statuses, body)
        .await
}

/// Epoch ms of an object's last modification (`version.createdAt`, else `createdAt`).
pub(crate) fn modified_ms(v: &Value) -> i64 {
    keys::version_created_at(v)
        .or_else(|| v.get("createdAt").and_then(Value::as_str))
        .and_then(kb_confluence::cql::parse_iso_ms)
        .unwrap_or(0)
}

/// What the store holds of one object: its version and status.
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    pub version: i64,
    pub status: String,
}

/// The stored rows of a kind in one space, by id.
async fn stored_rows(ctx: &Ctx, kind: Kind, space: &SpaceRef) -> Result<HashMap<String, Stored>> {
    let rows = ctx
        .store
        .select(
            kind.table,
            &["id", "version_number", "status"],
            &Filter::all().eq("space_id", space.id.as_str()),
        )
        .await
        .map_err(ExtractError::store(format!(
            "reading the stored {} of space {}",
            kind.table, space.key
        )))?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let id = r.first()?.as_str()?.to_string();
            let version = r.get(1).and_then(Value::as_i64).unwrap_or(0);
            let status = r.get(2).and_then(Value::as_str).unwrap_or("").to_string();
            Some((id, Stored { version, status }))
        })
        .collect())
}

/// Reads one kind of content of one space into the store. Returns the ids whose details
/// (versions, labels, properties, restrictions) must be fetched and whether the structure
/// changed (for the derived tables).
pub(crate) async fn sync_space(
    ctx: &Ctx,
    kind: Kind,
    space: &SpaceRef,
    window: Option<&super::window::Window>,
) -> Result<Changes> {
    let scope = ctx.scope(&space.id);
    let cp_value = ctx
        .store
        .checkpoint(&scope, kind.table)
        .await
        .map_err(ExtractError::store("reading a checkpoint"))?;
    let state = ListState::from_json(cp_value.as_ref());
    let mut changes = if state.listed && !ctx.opts.full {
        // The listing finished but a later phase did not: redo only the later phases.
        Changes {
            structure: true,
            full: true,
            end: ListState {
                done: true,
                ..state.clone()
            },
            checkpoint: cp_value,
            ..Changes::default()
        }
    } else if ctx.opts.full || !state.done {
        let resume = if ctx.opts.full && (state.done || state.listed) {
            None
        } else {
            state.next.clone()
        };
        full_listing(ctx, kind, space, cp_value, resume, state.hwm).await?
    } else {
        ctx.report(|r| r.incremental = true);
        incremental(ctx, kind, space, cp_value, state, window).await?
    };
    changes.end.pass = None;
    Ok(changes)
}

/// Marks a space's content done once every phase after its listing has finished: the next run
/// is incremental from the new high-water mark.
pub(crate) async fn finish(
    ctx: &Ctx,
    kind: Kind,
    space: &SpaceRef,
    changes: &Changes,
) -> Result<()> {
    let mut batch = Batch::new();
    batch.checkpoint(
        ctx.scope(&space.id),
        kind.table,
        expect(&changes.checkpoint),
        changes.end.to_json(),
    );
    ctx.commit(&batch, &format!("{} of {}", kind.table, space.key))
        .await
}

/// What a space's listing changed.
#[derive(Default, Debug)]
pub(crate) struct Changes {
    /// Content whose restrictions come with this pass (CQL expansion), keyed by id.
    pub restrictions: HashMap<String, Value>,
    /// Whether parents, positions, titles or statuses may have changed (derived tables).
    pub structure: bool,
    /// Whether every object was listed (restrictions then need the full CQL pass).
    pub full: bool,
    /// What an incremental run read again (the page tree is rewritten below them).
    pub refetched: Vec<String>,
    /// The checkpoint to write once every phase is done, and the one it replaces.
    pub end: ListState,
    pub checkpoint: Option<Value>,
}

async fn full_listing(
    ctx: &Ctx,
    kind: Kind,
    space: &SpaceRef,
    mut cp_value: Option<Value>,
    resume: Option<String>,
    hwm: i64,
) -> Result<Changes> {
    let scope = ctx.scope(&space.id);
    let what = format!("{} of {}", kind.table, space.key);
    ctx.progress(Progress::Phase { what: what.clone() });
    // The server's clock before the listing began: everything modified before it is in the
    // listing, so the mark is at least that even when the newest item is old (a space without
    // recent blog posts does not drag the next run's window back to its last one). A resumed
    // listing began in an earlier run: only its items count.
    let started = resume
        .is_none()
        .then(|| ctx.client.server_clock_ms())
        .flatten();
    let l = listing(ctx, kind, space, kind.statuses, true)
        .await
        .map_err(ExtractError::http(format!("listing {what}")))?;
    // A resumed listing purges by the pass it continues (a checkpoint without one: no purge).
    let (mut stream, pass) = ctx.open_pass(l, resume, cp_value.as_ref(), &what).await?;
    let mut state = ListState {
        hwm,
        pass: pass.clone(),
        ..ListState::default()
    };
    while let Some(page) = stream.next().await? {
        let mut batch = Batch::new();
        let n = page.items.len() as u64;
        for item in page.items {
            if keys::id(&item).is_none() {
                ctx.warn(format!("{what}: an item without an id was skipped: {item}"));
                continue;
            }
            state.hwm = state.hwm.max(modified_ms(&item));
            batch.upsert(Row::new(kind.table, item));
        }
        state.next = page.next.clone();
        let value = state.to_json();
        batch.checkpoint(&scope, kind.table, expect(&cp_value), value.clone());
        ctx.commit(&batch, &what).await?;
        ctx.rows(kind.table, n);
        cp_value = Some(value);
    }

    // Purged content: stored, but no longer listed under any status: the rows of the space
    // this pass did not rewrite (found in the store, not held in memory).
    if let Some(pass) = &pass {
        let gone = ctx
            .store
            .ids(
                kind.table,
                &Filter::all()
                    .eq("space_id", space.id.as_str())
                    .synced_before(pass.as_str()),
            )
            .await
            .map_err(ExtractError::store(format!("finding purged {what}")))?;
        delete_content(ctx, kind, &gone).await?;
    }
    state.listed = true;
    state.next = None;
    let listed = state.to_json();
    let mut batch = Batch::new();
    batch.checkpoint(&scope, kind.table, expect(&cp_value), listed.clone());
    ctx.commit(&batch, &what).await?;
    ctx.progress(Progress::PhaseDone { what });
    Ok(Changes {
        structure: true,
        full: true,
        end: ListState {
            done: true,
            hwm: state.hwm.max(started.unwrap_or(i64::MIN)),
            ..ListState::default()
        },
        checkpoint: Some(listed),
        ..Changes::default()
    })
}

/// Reads the details of the content of a space whose stored details are older than its
/// version (or missing): what this run changed, and what an interrupted run left behind. The
/// space's rows are walked 1,000 at a time (memory stays flat); returns the ids whose details
/// were read.
pub(crate) async fn stale_details(ctx: &Ctx, kind: Kind, space: &SpaceRef) -> Result<Vec<String>> {
    if !ctx
        .opts
        .wants_any(&[kind.versions, kind.labels, kind.properties])
    {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut after: Option<Value> = None;
    loop {
        let rows = ctx
            .store
            .select_page(
                kind.table,
                &["id", "version_number", "version_created_at"],
                &Filter::all().eq("space_id", space.id.as_str()),
                after.as_ref(),
                Some(1000),
            )
            .await
            .map_err(ExtractError::store(format!(
                "reading the stored {} of space {}",
                kind.table, space.key
            )))?;
        let Some(last) = rows.last() else { break };
        after = last.first().cloned();
        let ids: Vec<&str> = rows.iter().filter_map(|r| r.first()?.as_str()).collect();
        let mut newest: HashMap<String, i64> = HashMap::new();
        for r in ctx
            .store
            .select(
                kind.versions,
                &[kind.owner, "number"],
                &Filter::all().any(kind.owner, ids.iter().copied()),
            )
            .await
            .map_err(ExtractError::store(format!("reading {}", kind.versions)))?
        {
            if let (Some(o), Some(n)) = (
                r.first().and_then(Value::as_str),
                r.get(1).and_then(Value::as_i64),
            ) {
                let e = newest.entry(o.to_string()).or_insert(n);
                *e = (*e).max(n);
            }
        }
        let stale: Vec<String> = rows
            .iter()
            .filter_map(|r| {
                let id = r.first()?.as_str()?;
                let version = r.get(1).and_then(Value::as_i64).unwrap_or(0);
                let modified = r
                    .get(2)
                    .and_then(Value::as_str)
                    .and_then(kb_confluence::cql::parse_iso_ms);
                // `--since`: no details for content last modified before it.
                let recent = ctx
                    .opts
                    .since
                    .is_none_or(|since| modified.is_none_or(|ms| ms >= since));
                (newest.get(id).copied().unwrap_or(0) < version && recent).then(|| id.to_string())
            })
            .collect();
        details(ctx, kind, space, &stale).await?;
        out.extend(stale);
    }
    Ok(out)
}

pub(crate) fn expect(v: &Option<Value>) -> Expect {
    match v {
        Some(v) => Expect::Value(v.clone()),
        None => Expect::Absent,
    }
}

/// The expansions the CQL pass asks for.
pub(crate) const CQL_EXPAND: &[&str] = &[
    "version",
    "restrictions.read.restrictions.user",
    "restrictions.read.restrictions.group",
    "restrictions.update.restrictions.user",
    "restrictions.update.restrictions.group",
];

async fn incremental(
    ctx: &Ctx,
    kind: Kind,
    space: &SpaceRef,
    cp_value: Option<Value>,
    mut state: ListState,
    window: Option<&super::window::Window>,
) -> Result<Changes> {
    let what = format!("changes to {} of {}", kind.table, space.key);
    ctx.progress(Progress::Phase { what: what.clone() });
    let stored = stored_rows(ctx, kind, space).await?;
    let mut refetch: Vec<String> = Vec::new();
    let mut changes = Changes::default();

    // 1. The CQL window: everything modified since the high-water mark minus the overlap
    //    (the run's one window when it stands for this listing).
    let hits = match window.and_then(|w| w.hits(space, kind)) {
        Some(hits) => {
            state.hwm = state.hwm.max(window.map_or(0, |w| w.newest()));
            hits
        }
        None => {
            let from = state.hwm - ctx.opts.overlap.as_millis() as i64;
            let window = ctx
                .client
                .changed_since(
                    kind.api,
                    space,
                    from,
                    ctx.opts.utc_offset_minutes,
                    CQL_EXPAND,
                )
                .map_err(ExtractError::http(format!("searching {what}")))?;
            let cql = window.request.url.query().unwrap_or("").to_string();
            window
                .all()
                .await
                .map_err(ExtractError::http(format!("searching {what} ({cql})")))?
        }
    };
    for hit in hits {
        let Some(id) = keys::id(&hit) else { continue };
        let version = keys::version_number(&hit).unwrap_or(0) as i64;
        // Dedupe on (id, version): the overlap finds content already stored.
        if stored.get(&id).is_some_and(|s| s.version >= version) {
            continue;
        }
        changes.restrictions.insert(id.clone(), hit);
        refetch.push(id);
    }

    // 2. The trash: content trashed since (its children moved up to its parent).
    let trashed = match window.and_then(|w| w.trashed(space, kind)) {
        Some(t) => t,
        None => listing(ctx, kind, space, &["trashed"], false)
            .await
            .map_err(ExtractError::http(format!(
                "listing trashed {}",
                kind.table
            )))?
            .all()
            .await
            .map_err(ExtractError::http(format!(
                "listing trashed {} of {}",
                kind.table, space.key
            )))?,
    };
    let mut newly_trashed = Vec::new();
    for t in &trashed {
        let Some(id) = keys::id(t) else { continue };
        if stored.get(&id).map(|s| s.status.as_str()) != Some("trashed") {
            newly_trashed.push(id.clone());
            refetch.push(id);
        }
    }
    if !newly_trashed.is_empty() && kind.table == "pages" {
        // Their children now hang under the trashed page's parent.
        for id in &newly_trashed {
            let kids = ctx
                .store
                .ids(kind.table, &Filter::all().eq("parent_id", id.as_str()))
                .await
                .map_err(ExtractError::store("reading child pages"))?;
            refetch.extend(kids);
        }
    }

    // 3. --reconcile: the id sweep (no bodies) finds moves, purges and anything missed.
    if ctx.opts.reconcile {
        let (missed, gone) = sweep(ctx, kind, space).await?;
        refetch.extend(missed);
        delete_content(ctx, kind, &gone).await?;
        if !gone.is_empty() {
            changes.structure = true;
        }
    }

    // 4. Quarantined content of the space: read again (a corrected copy leaves).
    refetch.extend(ctx.quarantined_ids(kind.table, &space.id).await?);

    refetch.sort();
    refetch.dedup();
    changes.refetched = refetch.clone();
    if !refetch.is_empty() {
        changes.structure = true;
        let items = fetch_by_ids(ctx, kind, &refetch).await?;
        let mut batch = Batch::new();
        for item in items {
            state.hwm = state.hwm.max(modified_ms(&item));
            batch.upsert(Row::new(kind.table, item));
        }
        ctx.commit(&batch, &what).await?;
        ctx.rows(kind.table, batch.len() as u64);
    }
    state.done = true;
    state.next = None;
    changes.end = state;
    changes.checkpoint = cp_value;
    ctx.progress(Progress::PhaseDone { what });
    Ok(changes)
}

/// The id sweep: every id with its version, parent, position and status, without bodies.
/// Returns the ids whose stored row differs (to fetch again) and the stored ids no longer
/// listed under any status (purged).
async fn sweep(ctx: &Ctx, kind: Kind, space: &SpaceRef) -> Result<(Vec<String>, Vec<String>)> {
    let what = format!("sweeping {} of {}", kind.table, space.key);
    let cols: &[&str] = &[
        "id",
        "version_number",
        "status",
        "parent_id",
        "position",
        "title",
    ];
    let cols = if kind.table == "pages" {
        cols
    } else {
        &cols[..3]
    };
    let stored = ctx
        .store
        .select(
            kind.table,
            cols,
            &Filter::all().eq("space_id", space.id.as_str()),
        )
        .await
        .map_err(ExtractError::store(what.clone()))?;
    let stored: HashMap<String, Vec<Value>> = stored
        .into_iter()
        .filter_map(|r| Some((r.first()?.as_str()?.to_string(), r)))
        .collect();
    let mut missed = Vec::new();
    let mut seen = HashSet::new();
    // The listing without bodies, page by page.
    let l = listing(ctx, kind, space, kind.statuses, false)
        .await
        .map_err(ExtractError::http(what.clone()))?;
    let mut stream = ctx.open(l, None, &what).await?.prefetch();
    while let Some(page) = stream.next().await? {
        for item in &page.items {
            let Some(id) = keys::id(item) else { continue };
            seen.insert(id.clone());
            let now: Vec<Value> = vec![
                json!(id),
                json!(keys::version_number(item)),
                item.get("status").cloned().unwrap_or(Value::Null),
                item.get("parentId").cloned().unwrap_or(Value::Null),
                item.get("position").cloned().unwrap_or(Value::Null),
                item.get("title").cloned().unwrap_or(Value::Null),
            ];
            let now = &now[..cols.len()];
            if stored.get(&id).is_none_or(|s| !same_row(s, now)) {
                missed.push(id);
            }
        }
    }
    let gone = stored
        .keys()
        .filter(|id| !seen.contains(*id))
        .cloned()
        .collect();
    Ok((missed, gone))
}

/// Compares a stored row with the listing's values, numbers and numeric strings alike.
fn same_row(stored: &[Value], now: &[Value]) -> bool {
    fn norm(v: &Value) -> Value {
        match v {
            Value::Number(n) => Value::String(n.to_string()),
            v => v.clone(),
        }
    }
    stored.len() == now.len() && stored.iter().zip(now).all(|(a, b)| norm(a) == norm(b))
}

/// Content by id, with bodies (the flavour batches what it can).
async fn fetch_by_ids(ctx: &Ctx, kind: Kind, ids: &[String]) -> Result<Vec<Value>> {
    ctx.client
        .content_by_ids(kind.api, ids, kind.statuses)
        .await
        .map_err(ExtractError::http(format!(
            "fetching {} {} by id",
            ids.len(),
            kind.table
        )))
}

/// Deletes content and every row hanging under it.
pub(crate) async fn delete_content(ctx: &Ctx, kind: Kind, ids: &[String]) -> Result<()> {
    for chunk in ids.chunks(200) {
        let mut batch = Batch::new();
        for id in chunk {
            batch.delete(kind.table, vec![json!(id)]);
            for t in [kind.labels, kind.versions, kind.properties] {
                batch.replace_set(t, Filter::all().eq(kind.owner, id.as_str()), Vec::new());
            }
            batch.replace_set(
                "content_restrictions",
                Filter::all().eq("content_id", id.as_str()),
                Vec::new(),
            );
            if kind.table == "pages" {
                batch.replace_set(
                    "page_ancestors",
                    Filter::all().eq("page_id", id.as_str()),
                    Vec::new(),
                );
                batch.replace_set(
                    "child_pages",
                    Filter::all().eq("id", id.as_str()),
                    Vec::new(),
                );
            }
        }
        ctx.commit(&batch, &format!("deleting purged {}", kind.table))
            .await?;
        ctx.deleted(kind.table, chunk.len() as u64);
    }
    Ok(())
}

/// Versions, labels and properties of changed content: one request per item (the included
/// lists of `GET /pages/{id}`), with bounded concurrency; the dedicated listings only when an
/// included list has more.
async fn details(ctx: &Ctx, kind: Kind, space: &SpaceRef, ids: &[String]) -> Result<()> {
    if ids.is_empty()
        || !ctx
            .opts
            .wants_any(&[kind.versions, kind.labels, kind.properties])
    {
        return Ok(());
    }
    let what = format!(
        "history, labels and properties of {} {} of {}",
        ids.len(),
        kind.table,
        space.key
    );
    ctx.progress(Progress::Phase { what: what.clone() });
    let results = futures_util::stream::iter(ids.iter().cloned())
        .map(|id| async move {
            let r = fetch_details(ctx, kind, &id).await;
            (id, r)
        })
        .buffer_unordered(ctx.opts.concurrency.max(1));
    futures_util::pin_mut!(results);
    let mut batch = Batch::new();
    let mut pending = 0usize;
    while let Some((id, r)) = results.next().await {
        match r {
            Ok(Some(ops)) => {
                for (table, rows) in ops {
                    ctx.rows(table, rows.len() as u64);
                    batch.replace_set(table, Filter::all().eq(kind.owner, id.as_str()), rows);
                }
                pending += 1;
            }
            Ok(None) => ctx.warn(format!(
                "{} {id} vanished before its details were read",
                kind.api.noun()
            )),
            Err(e) => return Err(e),
        }
        if pending >= 50 {
            ctx.commit(&batch, &what).await?;
            batch = Batch::new();
            pending = 0;
        }
    }
    ctx.commit(&batch, &what).await?;
    ctx.progress(Progress::PhaseDone { what });
    Ok(())
}

type DetailOps = Vec<(&'static str, Vec<Row>)>;

async fn fetch_details(ctx: &Ctx, kind: Kind, id: &str) -> Result<Option<DetailOps>> {
    let want = Wanted {
        versions: ctx.opts.wants(kind.versions),
        labels: ctx.opts.wants(kind.labels),
        properties: ctx.opts.wants(kind.properties),
    };
    let Some(d) = ctx
        .client
        .content_details(kind.api, id, kind.statuses, want)
        .await
        .map_err(ExtractError::http(format!(
            "reading {} {id}",
            kind.api.noun()
        )))?
    else {
        return Ok(None);
    };
    let mut ops: DetailOps = Vec::new();
    for (table, items) in [
        (kind.versions, d.versions),
        (kind.labels, d.labels),
        (kind.properties, d.properties),
    ] {
        let Some(items) = items else { continue };
        ops.push((
            table,
            items
                .into_iter()
                .map(|i| Row::new(table, i).with(kind.owner, id))
                .collect(),
        ));
    }
    Ok(Some(ops))
}

/// Restrictions of the content of a space: the CQL pass (full) or the window's hits.
pub(crate) async fn restrictions(
    ctx: &Ctx,
    kind: Kind,
    space: &SpaceRef,
    from_window: &HashMap<String, Value>,
    full: bool,
) -> Result<()> {
    if !ctx.opts.wants("content_restrictions") {
        return Ok(());
    }
    let what = format!("restrictions of {} of {}", kind.table, space.key);
    if !full {
        let mut batch = Batch::new();
        for (id, hit) in from_window {
            restriction_rows(kind, id, hit, &mut batch);
        }
        return ctx.commit(&batch, &what).await;
    }
    ctx.progress(Progress::Phase { what: what.clone() });
    let scope = ctx.scope(&space.id);
    let endpoint = format!("content_restrictions:{}", kind.table);
    let mut cp_value = ctx
        .store
        .checkpoint(&scope, &endpoint)
        .await
        .map_err(ExtractError::store("reading a checkpoint"))?;
    let state = ListState::from_json(cp_value.as_ref());
    let resume = if state.done { None } else { state.next.clone() };
    let l = ctx
        .client
        .space_search(kind.api, space, CQL_EXPAND)
        .map_err(ExtractError::http(what.clone()))?;
    let mut stream = ctx.open(l, resume, &what).await?.prefetch();
    while let Some(page) = stream.next().await? {
        let mut batch = Batch::new();
        for hit in &page.items {
            if let Some(id) = keys::id(hit) {
                restriction_rows(kind, &id, hit, &mut batch);
            }
        }
        let value = ListState {
            done: page.next.is_none(),
            next: page.next.clone(),
            ..ListState::default()
        }
        .to_json();
        batch.checkpoint(&scope, &endpoint, expect(&cp_value), value.clone());
        ctx.commit(&batch, &what).await?;
        cp_value = Some(value);
    }
    ctx.progress(Progress::PhaseDone { what });
    Ok(())
}

/// The `content_restrictions` rows of one v1 content object with `restrictions.*` expanded:
/// one row per (operation, user or group).
fn restriction_rows(kind: Kind, id: &str, hit: &Value, batch: &mut Batch) {
    restriction_rows_of(kind.restriction_type, id, hit, batch);
}

/// [`restriction_rows`] for any content type (folders too), plus the `restriction_reads`
/// row that says they were read: km shows content whose restrictions were never read to no
/// one (fail closed).
pub(crate) fn restriction_rows_of(content_type: &str, id: &str, hit: &Value, batch: &mut Batch) {
    let mut rows = Vec::new();
    for op in ["read", "update"] {
        for (subject, path) in [("user", "user"), ("group", "group")] {
            let ptr = format!("/restrictions/{op}/restrictions/{path}/results");
            for s in hit
                .pointer(&ptr)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                rows.push(
                    Row::new("content_restrictions", s.clone())
                        .with("content_id", id)
                        .with("content_type", content_type)
                        .with("operation", op)
                        .with("subject_type", subject),
                );
            }
        }
    }
    batch.replace_set(
        "content_restrictions",
        Filter::all().eq("content_id", id),
        rows,
    );
    batch.upsert(Row::new(
        "restriction_reads",
        serde_json::json!({
            "contentId": id,
            "contentType": content_type,
            "version": keys::version_number(hit),
        }),
    ));
}

/// Counts per table, for the report.
pub(crate) fn merge_counts(into: &mut BTreeMap<String, u64>, table: &str, n: u64) {
    *into.entry(table.to_string()).or_default() += n;
}
