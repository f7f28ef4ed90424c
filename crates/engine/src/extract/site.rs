//! Spaces and their metadata, and the site-wide bulk listings: attachments, comments, tasks,
//! custom content, groups.

use std::collections::HashMap;

use futures_util::StreamExt as _;

use kb_confluence::{ContentKind, SpaceList, SpacePermissions, keys};
use kb_store::{Batch, Expect, Filter, Row};
use serde_json::{Value, json};

use super::content::{BLOG_POSTS, ListState, PAGES, SpaceRef, expect, modified_ms};
use super::run::Ctx;
use super::{ExtractError, Progress, Result};

/// Whether a listing that has an incremental form must run in full this time.
async fn needs_full(ctx: &Ctx, scope: &str, endpoint: &str) -> Result<(bool, Option<Value>)> {
    let v = ctx
        .store
        .checkpoint(scope, endpoint)
        .await
        .map_err(ExtractError::store("reading a checkpoint"))?;
    let done = ListState::from_json(v.as_ref()).done;
    Ok((ctx.opts.full || ctx.opts.reconcile || !done, v))
}

/// The spaces to extract (all readable ones, or those named), stored.
pub(crate) async fn spaces(ctx: &Ctx) -> Result<Vec<SpaceRef>> {
    ctx.progress(Progress::Phase {
        what: "spaces".into(),
    });
    let listing = ctx
        .client
        .space_listing(&ctx.opts.spaces)
        .map_err(ExtractError::http("listing spaces"))?;
    let items = listing
        .all()
        .await
        .map_err(ExtractError::http("listing spaces"))?;
    let mut out = Vec::new();
    let mut batch = Batch::new();
    for item in &items {
        let (Some(id), Some(key)) = (keys::id(item), keys::space_key(item)) else {
            ctx.warn(format!("a space without an id or key was skipped: {item}"));
            continue;
        };
        out.push(SpaceRef {
            id,
            key: key.to_string(),
        });
        if ctx.opts.wants("spaces") {
            batch.upsert(Row::new("spaces", item.clone()));
        }
    }
    let missing: Vec<&String> = ctx
        .opts
        .spaces
        .iter()
        // Space keys are case-sensitive (as the API's `keys=` filter and migrate treat them).
        .filter(|k| !out.iter().any(|s| s.key == **k))
        .collect();
    if !missing.is_empty() {
        let list = missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if out.is_empty() {
            return Err(ExtractError::Input(format!(
                "no space with the key(s) {list} exists or the account can read it: check the keys (they are case-sensitive) and the account's space permissions"
            )));
        }
        ctx.warn(format!(
            "space(s) {list} not found or not readable by the account: skipped (check the keys: they are case-sensitive; and the space permissions)"
        ));
    }
    // Which Confluence this replica is of: the flavour and the server's version, beside the
    // site's checkpoints (the tables are the same for both flavours). A fact about the site,
    // not progress: written unconditionally, so extracts of different spaces of one site
    // running at once (serve's workers) do not refuse each other's identical record.
    let scope = ctx.scope("");
    let prev = ctx
        .store
        .checkpoint(&scope, "site")
        .await
        .map_err(ExtractError::store("reading a checkpoint"))?;
    let info = ctx.client.server_info().await;
    let site = json!({
        "flavour": ctx.client.flavour().as_str(),
        "version": info.version,
        "scan": info.scan,
    });
    let rows = batch.len() as u64;
    if prev.as_ref() != Some(&site) {
        batch.checkpoint(&scope, "site", Expect::Any, site);
    }
    ctx.commit(&batch, "spaces").await?;
    ctx.rows("spaces", rows);
    ctx.progress(Progress::PhaseDone {
        what: "spaces".into(),
    });
    Ok(out)
}

/// A space's labels, permissions and properties (full and reconcile runs).
pub(crate) async fn space_metadata(ctx: &Ctx, space: &SpaceRef) -> Result<()> {
    let scope = ctx.scope(&space.id);
    let (full, cp) = needs_full(ctx, &scope, "space_metadata").await?;
    if !full {
        return Ok(());
    }
    let mut batch = Batch::new();
    for table in ["space_labels", "space_permissions", "space_properties"] {
        if !ctx.opts.wants(table) {
            continue;
        }
        if table == "space_permissions" {
            // Cloud's REST v2, Data Center 9.1+'s REST or, up to 9.0, JSON-RPC.
            match ctx.client.read_space_permissions(space).await {
                Ok(SpacePermissions::Read { items, .. }) => {
                    ctx.rows(table, items.len() as u64);
                    let rows = items
                        .into_iter()
                        .map(|i| Row::new(table, i).with("space_id", space.id.as_str()))
                        .collect();
                    batch.replace_set(table, Filter::all().eq("space_id", space.id.as_str()), rows);
                }
                // Reading space permissions needs space-admin rights: say so and go on.
                Ok(SpacePermissions::Refused { source, reason }) => ctx.warn(format!(
                    "{table} of space {} could not be read from {} ({reason}); the table keeps what it had",
                    space.key,
                    source.describe()
                )),
                Err(e) => {
                    return Err(ExtractError::http(format!(
                        "listing {table} of space {}",
                        space.key
                    ))(e));
                }
            }
            continue;
        }
        let what = match table {
            "space_labels" => SpaceList::Labels,
            _ => SpaceList::Properties,
        };
        let Some(listing) = ctx
            .client
            .space_list(what, space)
            .map_err(ExtractError::http("building a request"))?
        else {
            ctx.warn(format!(
                "{table} of space {}: {} has no REST listing of them; the table keeps what it had",
                space.key,
                ctx.client.flavour()
            ));
            continue;
        };
        match listing.all().await {
            Ok(items) => {
                ctx.rows(table, items.len() as u64);
                let rows = items
                    .into_iter()
                    .map(|i| Row::new(table, i).with("space_id", space.id.as_str()))
                    .collect();
                batch.replace_set(table, Filter::all().eq("space_id", space.id.as_str()), rows);
            }
            // Listing space permissions needs space-admin rights: say so and go on.
            Err(e) if matches!(e.status(), Some(401 | 403)) => ctx.warn(format!(
                "{table} of space {} could not be read ({e}); the table keeps what it had",
                space.key
            )),
            Err(e) => {
                return Err(ExtractError::http(format!(
                    "listing {table} of space {}",
                    space.key
                ))(e));
            }
        }
    }
    batch.checkpoint(
        &scope,
        "space_metadata",
        expect(&cp),
        json!({"state": "done"}),
    );
    ctx.commit(&batch, &format!("metadata of space {}", space.key))
        .await
}

/// Tasks of a space: the whole bulk listing on full runs, else those of the content that
/// changed (by `page-id` / `blogpost-id`, 250 per request).
pub(crate) async fn tasks(
    ctx: &Ctx,
    space: &SpaceRef,
    changed_pages: &[String],
    changed_blog_posts: &[String],
) -> Result<()> {
    if !ctx.opts.wants("tasks") {
        return Ok(());
    }
    let scope = ctx.scope(&space.id);
    let (full, cp) = needs_full(ctx, &scope, "tasks").await?;
    let what = format!("tasks of {}", space.key);
    if full {
        ctx.progress(Progress::Phase { what: what.clone() });
        // Page by page (memory stays flat), then the space's tasks no longer listed go.
        let Some(listing) = ctx
            .client
            .task_listing(space)
            .map_err(ExtractError::http("building a request"))?
        else {
            tracing::debug!(space = %space.key, "The flavour has no task API: no tasks listed.");
            return Ok(());
        };
        let pass = kb_store::time::now();
        let mut stream = ctx.open(listing, None, &what).await?.prefetch();
        while let Some(page) = stream.next().await? {
            let mut batch = Batch::new();
            for item in page.items {
                if keys::id(&item).is_some() {
                    batch.upsert(Row::new("tasks", item));
                }
            }
            ctx.rows("tasks", batch.len() as u64);
            ctx.commit(&batch, &what).await?;
        }
        // The space's tasks this listing did not rewrite: gone.
        let mut batch = Batch::new();
        for id in ctx
            .store
            .ids(
                "tasks",
                &Filter::all()
                    .eq("space_id", space.id.as_str())
                    .synced_before(pass.as_str()),
            )
            .await
            .map_err(ExtractError::store("reading tasks"))?
        {
            batch.delete("tasks", vec![json!(id)]);
        }
        ctx.deleted("tasks", batch.len() as u64);
        batch.checkpoint(&scope, "tasks", expect(&cp), json!({"state": "done"}));
        ctx.commit(&batch, &what).await?;
        ctx.progress(Progress::PhaseDone { what });
        return Ok(());
    }
    for (kind, column, ids) in [
        (ContentKind::Page, "page_id", changed_pages),
        (ContentKind::BlogPost, "blog_post_id", changed_blog_posts),
    ] {
        for chunk in ids.chunks(250) {
            let items = ctx
                .client
                .tasks_of(kind, chunk)
                .await
                .map_err(ExtractError::http(format!("listing {what}")))?;
            let mut by_owner: HashMap<String, Vec<Row>> =
                chunk.iter().map(|id| (id.clone(), Vec::new())).collect();
            for item in items {
                let owner = item
                    .get(if column == "page_id" {
                        "pageId"
                    } else {
                        "blogPostId"
                    })
                    .and_then(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .or_else(|| v.as_u64().map(|n| n.to_string()))
                    });
                if let Some(o) = owner {
                    by_owner.entry(o).or_default().push(Row::new("tasks", item));
                }
            }
            let mut batch = Batch::new();
            for (owner, rows) in by_owner {
                ctx.rows("tasks", rows.len() as u64);
                batch.replace_set("tasks", Filter::all().eq(column, owner.as_str()), rows);
            }
            ctx.commit(&batch, &what).await?;
        }
    }
    Ok(())
}

/// Custom content of a space, per configured type.
pub(crate) async fn custom_content(ctx: &Ctx, spaces: &[SpaceRef]) -> Result<()> {
    if !ctx.opts.wants("custom_content") || spaces.is_empty() {
        return Ok(());
    }
    // One listing per type for up to 100 spaces (v2 `space-id`), each space's set replaced.
    for t in &ctx.opts.custom_content_types {
        for chunk in spaces.chunks(100) {
            let keys: Vec<&str> = chunk.iter().map(|s| s.key.as_str()).collect();
            let what = format!("custom content {t} of {}", keys.join(", "));
            let Some(listing) = ctx
                .client
                .custom_content_listing(t, chunk)
                .map_err(ExtractError::http("building a request"))?
            else {
                tracing::debug!(kind = %t, "The flavour lists no custom content.");
                continue;
            };
            let items = match listing.all().await {
                Ok(items) => items,
                Err(e) if matches!(e.status(), Some(400 | 404 | 501)) => {
                    ctx.warn(format!("{what} could not be listed ({e}): skipped"));
                    continue;
                }
                Err(e) => return Err(ExtractError::http(format!("listing {what}"))(e)),
            };
            let mut by_space: HashMap<&str, Vec<Row>> =
                chunk.iter().map(|s| (s.id.as_str(), Vec::new())).collect();
            let mut n = 0;
            for i in items {
                match keys::space_id(&i)
                    .as_deref()
                    .and_then(|id| by_space.get_mut(id))
                {
                    Some(rows) => {
                        rows.push(Row::new("custom_content", i));
                        n += 1;
                    }
                    None => ctx.warn(format!(
                        "custom content {:?} of type {t} names no extracted space (spaceId {:?}): not stored",
                        keys::id(&i),
                        i.get("spaceId")
                    )),
                }
            }
            ctx.rows("custom_content", n);
            let mut batch = Batch::new();
            for (space_id, rows) in by_space {
                batch.replace_set(
                    "custom_content",
                    Filter::all()
                        .eq("space_id", space_id)
                        .eq("type", t.as_str()),
                    rows,
                );
            }
            ctx.commit(&batch, &what).await?;
        }
    }
    Ok(())
}

/// Whether a site-wide listing runs in full (and from where), or incrementally from a mark.
///
/// A site-wide listing (attachments, comments) stores only the rows of the extracted spaces,
/// so what it covered is kept per space: each space has its own checkpoint of the listing
/// (`done` and its high-water mark) beside the site's (the cursor and pass of a listing under
/// way). A space without one, new to the store or left out by a `--spaces` run, makes the
/// listing run in full; an incremental window starts at the oldest mark of the spaces.
struct SiteListing {
    full: bool,
    resume: Option<String>,
    hwm: i64,
    cp: Option<Value>,
    /// Each space's checkpoint of the listing, as read (for the compare-and-set at the end).
    spaces: Vec<(String, Option<Value>)>,
}

async fn site_listing(ctx: &Ctx, endpoint: &str, space_ids: &[String]) -> Result<SiteListing> {
    let scope = ctx.scope("");
    let (mut full, cp) = needs_full(ctx, &scope, endpoint).await?;
    let st = ListState::from_json(cp.as_ref());
    let mut spaces = Vec::with_capacity(space_ids.len());
    let mut hwm: Option<i64> = None;
    for id in space_ids {
        let v = ctx
            .store
            .checkpoint(&ctx.scope(id), endpoint)
            .await
            .map_err(ExtractError::store("reading a checkpoint"))?;
        let s = ListState::from_json(v.as_ref());
        if s.done {
            hwm = Some(hwm.map_or(s.hwm, |h| h.min(s.hwm)));
        } else {
            full = true;
        }
        spaces.push((id.clone(), v));
    }
    // A listing under way resumes only for the spaces it began with: the rows of the others
    // before its cursor were not stored.
    let same_spaces = cp.as_ref().and_then(|v| v.get("spaces")) == Some(&spaces_json(space_ids));
    Ok(SiteListing {
        full,
        resume: if full && !st.done && !ctx.opts.full && same_spaces {
            st.next.clone()
        } else {
            None
        },
        hwm: hwm.unwrap_or(0),
        cp,
        spaces,
    })
}

/// The floor (high-water mark minus the overlap) of a site-wide listing that runs
/// incrementally this time, or `None` when it runs in full.
pub(crate) async fn incremental_floor(
    ctx: &Ctx,
    endpoint: &str,
    space_ids: &[String],
) -> Result<Option<i64>> {
    let l = site_listing(ctx, endpoint, space_ids).await?;
    if l.full {
        return Ok(None);
    }
    if endpoint == "attachments" && ctx.opts.files.is_some() {
        let v = ctx
            .store
            .checkpoint(&ctx.scope(""), "attachment_files")
            .await
            .map_err(ExtractError::store("reading a checkpoint"))?;
        if !ListState::from_json(v.as_ref()).done {
            return Ok(None);
        }
    }
    Ok(Some(l.hwm - ctx.opts.overlap.as_millis() as i64))
}

const COMMENT_TABLES: [&str; 4] = [
    "page_footer_comments",
    "blog_post_footer_comments",
    "page_inline_comments",
    "blog_post_inline_comments",
];

/// Whether the run's window shows that nothing of `cql_type` changed since `floor`: every hit
/// of the type at or after the floor (the overlap always brings the newest ones back) is
/// already stored at its version in one of `tables`.
async fn quiet(
    ctx: &Ctx,
    window: Option<&super::window::Window>,
    cql_type: &str,
    floor: i64,
    tables: &[&str],
) -> Result<bool> {
    let Some(hits) = window.and_then(|w| w.changed(cql_type, floor)) else {
        return Ok(false);
    };
    let mut stored: HashMap<String, i64> = HashMap::new();
    for chunk in hits.chunks(500) {
        for table in tables {
            let rows = ctx
                .store
                .select(
                    table,
                    &["id", "version_number"],
                    &Filter::all().any("id", chunk.iter().map(|(id, _)| id.as_str())),
                )
                .await
                .map_err(ExtractError::store(format!("reading {table}")))?;
            for r in rows {
                if let (Some(id), Some(v)) = (
                    r.first().and_then(Value::as_str),
                    r.get(1).and_then(Value::as_i64),
                ) {
                    stored.insert(id.to_string(), v);
                }
            }
        }
    }
    Ok(hits
        .iter()
        .all(|(id, v)| stored.get(id).is_some_and(|s| s >= v)))
}

/// The spaces a site-wide listing under way stores rows of, kept in its checkpoint.
fn spaces_json(space_ids: &[String]) -> Value {
    let mut ids: Vec<&str> = space_ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    json!(ids)
}

/// A site-wide listing's checkpoint while under way: its state and the spaces it covers.
fn site_state(state: &ListState, space_ids: &[String]) -> Value {
    let mut v = state.to_json();
    v["spaces"] = spaces_json(space_ids);
    v
}

/// The end of a site-wide listing: every extracted space is covered up to `hwm`.
fn mark_spaces(ctx: &Ctx, batch: &mut Batch, endpoint: &str, l: &SiteListing, hwm: i64) {
    for (id, old) in &l.spaces {
        batch.checkpoint(
            ctx.scope(id),
            endpoint,
            expect(old),
            json!({"state": "done", "hwm": hwm}),
        );
    }
}

/// Attachments of the extracted content, and their versions and labels: each API page of the
/// site-wide listing is committed with the details of its changed attachments and its
/// checkpoint in one transaction, so nothing site-sized is held in memory and a killed run
/// resumes with nothing missing.
pub(crate) async fn attachments(
    ctx: &Ctx,
    spaces: &[SpaceRef],
    window: Option<&super::window::Window>,
) -> Result<()> {
    let space_ids: Vec<String> = spaces.iter().map(|s| s.id.clone()).collect();
    let space_ids = space_ids.as_slice();
    let tables = [
        "attachments",
        "attachment_versions",
        "attachment_labels",
        "attachment_content_properties",
    ];
    if !ctx.opts.wants_any(&tables) {
        return Ok(());
    }
    let what = "attachments".to_string();
    ctx.progress(Progress::Phase { what: what.clone() });
    if ctx.client.flavour() == kb_confluence::Flavour::DataCenter {
        // Data Center lists attachments and comments by CQL, which searches current content
        // only: those of archived and trashed pages are not found. Said, not hidden.
        let mut n = 0;
        for table in ["pages", "blog_posts"] {
            n += ctx
                .store
                .ids(
                    table,
                    &Filter::all()
                        .any("space_id", space_ids.iter().map(String::as_str))
                        .any("status", ["archived", "trashed"]),
                )
                .await
                .map_err(ExtractError::store(format!("reading {table}")))?
                .len();
        }
        if n > 0 {
            ctx.warn(format!(
                "Confluence Data Center: the attachments and comments of {n} archived or trashed pages and blog posts are not listed (CQL searches current content only)"
            ));
        }
    }
    let scope = ctx.scope("");
    // A `listed` checkpoint (left by an earlier version, whose details came after the whole
    // listing) lists again from the start: only missing details are read.
    let mut l = site_listing(ctx, "attachments", space_ids).await?;
    // `--files`: until one full pass has downloaded every file, the listing runs in full.
    let files_cp = match &ctx.opts.files {
        Some(dir) => {
            super::files::clear_partial(dir).map_err(ExtractError::Files)?;
            let v = ctx
                .store
                .checkpoint(&scope, "attachment_files")
                .await
                .map_err(ExtractError::store("reading a checkpoint"))?;
            if !ListState::from_json(v.as_ref()).done && !l.full {
                l.full = true;
                l.resume = None;
            }
            Some(v)
        }
        None => None,
    };
    if !l.full
        && quiet(
            ctx,
            window,
            "attachment",
            l.hwm - ctx.opts.overlap.as_millis() as i64,
            &["attachments"],
        )
        .await?
    {
        // The run's window shows no attachment changed since this listing's floor: the mark
        // moves up to what the window saw.
        if let Some(w) = window
            && w.newest() > l.hwm
        {
            let mut batch = Batch::new();
            mark_spaces(ctx, &mut batch, "attachments", &l, w.newest());
            ctx.commit(&batch, &what).await?;
        }
        ctx.progress(Progress::PhaseDone { what });
        return Ok(());
    }
    // A full listing from the start: the server's clock before it is a mark (see
    // `content::full_listing`).
    let started = (l.full && l.resume.is_none())
        .then(|| ctx.client.server_clock_ms())
        .flatten()
        .unwrap_or(i64::MIN);
    let mut cp = l.cp.clone();
    let mut files_failed = 0;
    let listing = ctx
        .client
        .attachment_listing(spaces, !l.full)
        .map_err(ExtractError::http("building a request"))?;
    let (mut stream, pass) = if l.full {
        ctx.open_pass(listing, l.resume.clone(), cp.as_ref(), &what)
            .await?
    } else {
        (ctx.open(listing, None, &what).await?, None)
    };
    let floor = l.hwm - ctx.opts.overlap.as_millis() as i64;
    let mut state = ListState {
        hwm: l.hwm,
        pass: pass.clone(),
        ..ListState::default()
    };
    while let Some(page) = stream.next().await? {
        let mut reached_floor = false;
        let mut items: Vec<(String, String, Value)> = Vec::new();
        for item in page.items {
            let Some(id) = keys::id(&item) else { continue };
            if !l.full && modified_ms(&item) < floor {
                reached_floor = true;
                break;
            }
            let Some((_, owner)) = keys::container(&item) else {
                continue;
            };
            items.push((id, owner, item));
        }
        // Only the attachments of the extracted content.
        let containers: Vec<String> = items.iter().map(|(_, o, _)| o.clone()).collect();
        let owners = stored_owners(ctx, space_ids, &containers).await?;
        items.retain(|(_, o, _)| owners.contains_key(o));
        let ids: Vec<&str> = items.iter().map(|(id, _, _)| id.as_str()).collect();
        let stored: HashMap<String, i64> = ctx
            .store
            .select(
                "attachments",
                &["id", "version_number"],
                &Filter::all().any("id", ids),
            )
            .await
            .map_err(ExtractError::store("reading attachments"))?
            .into_iter()
            .filter_map(|r| Some((r.first()?.as_str()?.to_string(), r.get(1)?.as_i64()?)))
            .collect();
        if let Some(dir) = &ctx.opts.files {
            let wanted = items
                .iter()
                .filter_map(|(_, _, item)| super::files::Wanted::of(item))
                .collect();
            files_failed += super::files::download(ctx, dir, wanted).await?;
        }
        let mut batch = Batch::new();
        let mut changed: Vec<(String, i64, Option<Value>)> = Vec::new();
        let mut n = 0;
        for (id, _, item) in items {
            state.hwm = state.hwm.max(modified_ms(&item));
            let version = keys::version_number(&item).unwrap_or(0) as i64;
            if stored.get(&id).is_none_or(|v| *v < version) {
                // A first version is the attachment's own `version`: stored with it (so is
                // the current one where there is no version listing: Data Center).
                let first = (version <= 1
                    || ctx.client.flavour() == kb_confluence::Flavour::DataCenter)
                    .then(|| item.get("version").cloned())
                    .flatten();
                changed.push((id.clone(), version, first));
            }
            if ctx.opts.wants("attachments") {
                batch.upsert(Row::new("attachments", item));
                n += 1;
            }
        }
        attachment_details(ctx, &changed, &mut batch).await?;
        state.next = if reached_floor {
            None
        } else {
            page.next.clone()
        };
        if l.full {
            let v = site_state(&state, space_ids);
            batch.checkpoint(&scope, "attachments", expect(&cp), v.clone());
            cp = Some(v);
        }
        ctx.commit(&batch, &what).await?;
        ctx.rows("attachments", n);
        if reached_floor {
            break;
        }
    }
    if let Some(pass) = &pass {
        // Attachments of the extracted content this pass did not rewrite: gone.
        let mut batch = Batch::new();
        let mut gone = 0;
        for (column, table) in [("page_id", "pages"), ("blog_post_id", "blog_posts")] {
            for id in ctx
                .store
                .ids(
                    "attachments",
                    &Filter::all()
                        .within(
                            column,
                            table,
                            "id",
                            Filter::all().any("space_id", space_ids.iter().map(String::as_str)),
                        )
                        .synced_before(pass.as_str()),
                )
                .await
                .map_err(ExtractError::store("finding purged attachments"))?
            {
                batch.delete("attachments", vec![json!(id)]);
                for t in [
                    "attachment_versions",
                    "attachment_labels",
                    "attachment_content_properties",
                ] {
                    batch.replace_set(
                        t,
                        Filter::all().eq("attachment_id", id.as_str()),
                        Vec::new(),
                    );
                }
                gone += 1;
            }
        }
        ctx.commit(&batch, "deleting purged attachments").await?;
        ctx.deleted("attachments", gone);
    }
    state.done = true;
    state.next = None;
    state.pass = None;
    let mut batch = Batch::new();
    batch.checkpoint(&scope, "attachments", expect(&cp), state.to_json());
    mark_spaces(ctx, &mut batch, "attachments", &l, state.hwm.max(started));
    if let Some(v) = &files_cp {
        // A file that failed keeps the checkpoint open: the next run lists the attachments in
        // full again and downloads what has no file yet (the others are not fetched twice).
        let files_state = if files_failed == 0 {
            json!({"state": "done"})
        } else {
            json!({"state": "retry", "failed": files_failed})
        };
        batch.checkpoint(&scope, "attachment_files", expect(v), files_state);
    }
    ctx.commit(&batch, &what).await?;
    ctx.progress(Progress::PhaseDone { what });
    Ok(())
}

/// Of these container ids, those of stored pages (`true`) and blog posts (`false`) of the
/// extracted spaces: one query per kind for a listing page, instead of a site-sized set.
async fn stored_owners(
    ctx: &Ctx,
    space_ids: &[String],
    ids: &[String],
) -> Result<HashMap<String, bool>> {
    let mut ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for (kind, is_page) in [(PAGES, true), (BLOG_POSTS, false)] {
        for chunk in ids.chunks(500) {
            let found = ctx
                .store
                .ids(
                    kind.table,
                    &Filter::all()
                        .any("id", chunk.iter().copied())
                        .any("space_id", space_ids.iter().map(String::as_str)),
                )
                .await
                .map_err(ExtractError::store(format!("reading {}", kind.table)))?;
            out.extend(found.into_iter().map(|id| (id, is_page)));
        }
    }
    Ok(out)
}

/// Above this many changed attachments in a listing page, their labels come from one CQL
/// search (`id in (…)`, 250 per request) instead of one request each.
const BULK_LABELS_FROM: usize = 50;

/// Versions (a request only when there is more than one), labels and properties of changed
/// attachments `(id, version, the first version when it is the only one)`, added to `batch`.
/// The requests run concurrently (bounded by `--concurrency`).
async fn attachment_details(
    ctx: &Ctx,
    changed: &[(String, i64, Option<Value>)],
    batch: &mut Batch,
) -> Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let want_versions = ctx.opts.wants("attachment_versions");
    let want_labels = ctx.opts.wants("attachment_labels");
    // Content properties of attachments have no bulk source: one request per attachment, so
    // only when the table is asked for by name.
    let want_props = ctx
        .opts
        .endpoints
        .as_ref()
        .is_some_and(|e| e.contains("attachment_content_properties"));
    let bulk = if want_labels && changed.len() > BULK_LABELS_FROM {
        let ids: Vec<&str> = changed.iter().map(|(id, _, _)| id.as_str()).collect();
        attachment_labels_by_cql(ctx, &ids).await?
    } else {
        HashMap::new()
    };
    let results = futures_util::stream::iter(changed.iter())
        .map(|(id, _, first)| {
            let bulk = &bulk;
            async move {
                let mut ops: Vec<(&'static str, Vec<Value>)> = Vec::new();
                if want_versions {
                    let versions = match first {
                        Some(v) => vec![v.clone()],
                        None => match ctx
                            .client
                            .attachment_versions(id)
                            .map_err(ExtractError::http("building a request"))?
                        {
                            Some(l) => list_or_empty(ctx, Ok(l), id).await?,
                            None => Vec::new(),
                        },
                    };
                    ops.push(("attachment_versions", versions));
                }
                for (table, wanted) in [
                    ("attachment_labels", want_labels),
                    ("attachment_content_properties", want_props),
                ] {
                    if !wanted {
                        continue;
                    }
                    let items = match bulk.get(id) {
                        Some(labels) if table == "attachment_labels" => labels.clone(),
                        _ => {
                            let listing = if table == "attachment_labels" {
                                ctx.client.attachment_labels(id)
                            } else {
                                ctx.client.attachment_properties(id)
                            };
                            list_or_empty(ctx, listing, id).await?
                        }
                    };
                    ops.push((table, items));
                }
                Ok::<_, ExtractError>((id, ops))
            }
        })
        .buffer_unordered(ctx.opts.concurrency.max(1));
    futures_util::pin_mut!(results);
    while let Some(r) = results.next().await {
        let (id, ops) = r?;
        for (table, items) in ops {
            ctx.rows(table, items.len() as u64);
            let rows = items
                .into_iter()
                .map(|v| Row::new(table, v).with("attachment_id", id.as_str()))
                .collect();
            batch.replace_set(table, Filter::all().eq("attachment_id", id.as_str()), rows);
        }
    }
    Ok(())
}

/// The labels of attachments by id from CQL (`type = attachment and id in (…)`, expanded
/// `metadata.labels`). Attachments it does not return (of archived or trashed content) are
/// asked one by one by the caller.
async fn attachment_labels_by_cql(ctx: &Ctx, ids: &[&str]) -> Result<HashMap<String, Vec<Value>>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(250) {
        // CQL knows attachments by their numeric content id (v2's `att123` is `123`).
        let numeric: Vec<&str> = chunk
            .iter()
            .map(|id| id.strip_prefix("att").unwrap_or(id))
            .collect();
        let cql = format!("type = attachment and id in ({})", numeric.join(","));
        let what = format!("labels of {} attachments", chunk.len());
        let listing = ctx
            .client
            .search(&cql, &["metadata.labels"])
            .map_err(ExtractError::http(what.clone()))?;
        let mut stream = match ctx.open(listing, None, &what).await {
            Ok(s) => s,
            // A site whose CQL cannot search attachments: one request per attachment instead.
            Err(ExtractError::Http { source, .. })
                if matches!(source.status(), Some(400 | 501)) =>
            {
                ctx.warn(format!(
                    "{what}: CQL could not search attachments ({source}); reading them one by one"
                ));
                return Ok(out);
            }
            Err(e) => return Err(e),
        };
        while let Some(page) = stream.next().await? {
            for h in page.items {
                let Some(id) = keys::id(&h) else { continue };
                if h.pointer("/metadata/labels/_links/next").is_some() {
                    continue;
                }
                let labels = h
                    .pointer("/metadata/labels/results")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                out.insert(id, labels);
            }
        }
    }
    Ok(out)
}

async fn list_or_empty(
    ctx: &Ctx,
    listing: Result<kb_confluence::Listing, kb_http::HttpError>,
    id: &str,
) -> Result<Vec<Value>> {
    let listing = listing.map_err(ExtractError::http("building a request"))?;
    let what = listing.request.url.path().to_string();
    match listing.all().await {
        Ok(v) => Ok(v),
        Err(e) if e.status() == Some(404) => {
            ctx.warn(format!(
                "{what} answered 404 (attachment {id} gone?): skipped"
            ));
            Ok(Vec::new())
        }
        Err(e) => Err(ExtractError::http(format!("listing {what}"))(e)),
    }
}

/// Footer and inline comments of the extracted content (site-wide listings, split by
/// container; replies go where their root comment is).
pub(crate) async fn comments(
    ctx: &Ctx,
    spaces: &[SpaceRef],
    window: Option<&super::window::Window>,
) -> Result<()> {
    for (endpoint, page_table, blog_table) in [
        (
            "footer-comments",
            "page_footer_comments",
            "blog_post_footer_comments",
        ),
        (
            "inline-comments",
            "page_inline_comments",
            "blog_post_inline_comments",
        ),
    ] {
        if !ctx.opts.wants_any(&[page_table, blog_table]) {
            continue;
        }
        comment_listing(ctx, endpoint, page_table, blog_table, spaces, window).await?;
    }
    Ok(())
}

/// One site-wide comment listing. Where a comment goes is decided per API page: its container
/// among the stored pages and blog posts of the extracted spaces, a reply's root among this
/// page's comments or the stored ones (one query per table), so memory does not grow with the
/// site.
async fn comment_listing(
    ctx: &Ctx,
    endpoint: &str,
    page_table: &'static str,
    blog_table: &'static str,
    spaces: &[SpaceRef],
    window: Option<&super::window::Window>,
) -> Result<()> {
    let space_ids: Vec<String> = spaces.iter().map(|s| s.id.clone()).collect();
    let space_ids = space_ids.as_slice();
    let what = endpoint.replace('-', " ");
    ctx.progress(Progress::Phase { what: what.clone() });
    let scope = ctx.scope("");
    let l = site_listing(ctx, endpoint, space_ids).await?;
    if !l.full
        && quiet(
            ctx,
            window,
            "comment",
            l.hwm - ctx.opts.overlap.as_millis() as i64,
            // CQL does not tell footer from inline comments: either table may hold a hit.
            &COMMENT_TABLES,
        )
        .await?
    {
        // The run's window shows no comment changed since this listing's floor: the mark
        // moves up to what the window saw.
        if let Some(w) = window
            && w.newest() > l.hwm
        {
            let mut batch = Batch::new();
            mark_spaces(ctx, &mut batch, endpoint, &l, w.newest());
            ctx.commit(&batch, &what).await?;
        }
        ctx.progress(Progress::PhaseDone { what });
        return Ok(());
    }
    let started = (l.full && l.resume.is_none())
        .then(|| ctx.client.server_clock_ms())
        .flatten()
        .unwrap_or(i64::MIN);
    let mut cp = l.cp.clone();
    let listing = ctx
        .client
        .comment_listing(endpoint == "inline-comments", spaces, !l.full)
        .map_err(ExtractError::http("building a request"))?;
    let (mut stream, pass) = if l.full {
        ctx.open_pass(listing, l.resume.clone(), cp.as_ref(), &what)
            .await?
    } else {
        (ctx.open(listing, None, &what).await?, None)
    };
    let floor = l.hwm - ctx.opts.overlap.as_millis() as i64;
    let mut state = ListState {
        hwm: l.hwm,
        pass: pass.clone(),
        ..ListState::default()
    };
    // Replies whose root is not placed yet (the checkpoint does not move past their page).
    let mut orphans: Vec<Value> = Vec::new();
    let mut hold: Option<Option<String>> = None;
    let mut this_page = l.resume.clone();
    let mut outside = 0u64;
    let wants = |t: &str| ctx.opts.wants(t);
    let owner_of = |t: &str| {
        if t == page_table {
            "page_id"
        } else {
            "blog_post_id"
        }
    };
    while let Some(page) = stream.next().await? {
        let mut batch = Batch::new();
        let mut reached_floor = false;
        let mut items: Vec<Value> = std::mem::take(&mut orphans);
        let fresh = items.len();
        for item in page.items {
            if !l.full && modified_ms(&item) < floor {
                reached_floor = true;
                break;
            }
            items.push(item);
        }
        let containers: Vec<String> = items
            .iter()
            .filter_map(|i| keys::container(i).map(|(_, c)| c))
            .collect();
        let owners = stored_owners(ctx, space_ids, &containers).await?;
        let parents: Vec<String> = items.iter().filter_map(keys::parent_comment_id).collect();
        // Where each comment lives (page table?, container): this page's, then the stored ones.
        let mut home = stored_homes(ctx, &parents, page_table, blog_table).await?;
        for (i, item) in items.into_iter().enumerate() {
            let Some(id) = keys::id(&item) else { continue };
            let place = match keys::container(&item) {
                Some((_, c)) => match owners.get(&c) {
                    Some(true) => Some((page_table, c)),
                    Some(false) => Some((blog_table, c)),
                    None => {
                        outside += 1;
                        continue;
                    }
                },
                None => keys::parent_comment_id(&item)
                    .and_then(|parent| home.get(&parent).cloned())
                    .map(|(is_page, c)| (if is_page { page_table } else { blog_table }, c)),
            };
            let Some((table, container)) = place else {
                orphans.push(item);
                continue;
            };
            if i >= fresh {
                state.hwm = state.hwm.max(modified_ms(&item));
            }
            home.insert(id, (table == page_table, container.clone()));
            if wants(table) {
                batch.upsert(Row::new(table, item).with(owner_of(table), container.as_str()));
                ctx.rows(table, 1);
            }
        }
        if orphans.is_empty() {
            hold = None;
        } else if hold.is_none() {
            hold = Some(this_page.clone());
        }
        let next = if reached_floor {
            None
        } else {
            page.next.clone()
        };
        state.next = match &hold {
            Some(token) => token.clone(),
            None => next.clone(),
        };
        if l.full {
            let v = site_state(&state, space_ids);
            batch.checkpoint(&scope, endpoint, expect(&cp), v.clone());
            cp = Some(v);
        }
        ctx.commit(&batch, &what).await?;
        this_page = next;
        if reached_floor {
            break;
        }
    }
    outside += orphans.len() as u64;
    if outside > 0 {
        tracing::debug!(
            outside,
            endpoint,
            "Comments outside the extracted pages and blog posts were left out."
        );
    }
    if let Some(pass) = &pass {
        // Comments of the extracted content this pass did not rewrite: gone (other spaces
        // keep theirs).
        let mut batch = Batch::new();
        let mut n = 0;
        for (table, owner, kind) in [
            (page_table, "page_id", PAGES),
            (blog_table, "blog_post_id", BLOG_POSTS),
        ] {
            for id in ctx
                .store
                .ids(
                    table,
                    &Filter::all()
                        .within(
                            owner,
                            kind.table,
                            "id",
                            Filter::all().any("space_id", space_ids.iter().map(String::as_str)),
                        )
                        .synced_before(pass.as_str()),
                )
                .await
                .map_err(ExtractError::store(format!("reading {table}")))?
            {
                batch.delete(table, vec![json!(id)]);
                n += 1;
            }
        }
        ctx.commit(&batch, &format!("deleting purged {what}"))
            .await?;
        ctx.deleted(page_table, n);
    }
    state.done = true;
    state.next = None;
    state.pass = None;
    let mut batch = Batch::new();
    batch.checkpoint(&scope, endpoint, expect(&cp), state.to_json());
    mark_spaces(ctx, &mut batch, endpoint, &l, state.hwm.max(started));
    ctx.commit(&batch, &what).await?;
    ctx.progress(Progress::PhaseDone { what });
    Ok(())
}

/// The containers of stored comments, by comment id: (in the page table?, container id).
async fn stored_homes(
    ctx: &Ctx,
    ids: &[String],
    page_table: &'static str,
    blog_table: &'static str,
) -> Result<HashMap<String, (bool, String)>> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for (table, owner, is_page) in [
        (page_table, "page_id", true),
        (blog_table, "blog_post_id", false),
    ] {
        for chunk in ids.chunks(500) {
            for r in ctx
                .store
                .select(
                    table,
                    &["id", owner],
                    &Filter::all().any("id", chunk.iter().map(String::as_str)),
                )
                .await
                .map_err(ExtractError::store(format!("reading {table}")))?
            {
                if let (Some(id), Some(c)) = (
                    r.first().and_then(Value::as_str),
                    r.get(1).and_then(Value::as_str),
                ) {
                    out.insert(id.to_string(), (is_page, c.to_string()));
                }
            }
        }
    }
    Ok(out)
}

/// Groups and their members (full and reconcile runs).
pub(crate) async fn groups(ctx: &Ctx) -> Result<()> {
    if !ctx.opts.wants_any(&["groups", "group_members"]) {
        return Ok(());
    }
    let scope = ctx.scope("");
    let (full, cp) = needs_full(ctx, &scope, "groups").await?;
    if !full {
        return Ok(());
    }
    ctx.progress(Progress::Phase {
        what: "groups".into(),
    });
    let groups = ctx
        .client
        .group_listing()
        .map_err(ExtractError::http("building a request"))?
        .all()
        .await
        .map_err(ExtractError::http("listing groups"))?;
    let mut batch = Batch::new();
    if ctx.opts.wants("groups") {
        ctx.rows("groups", groups.len() as u64);
        batch.replace_set(
            "groups",
            Filter::all(),
            groups
                .iter()
                .map(|g| Row::new("groups", g.clone()))
                .collect(),
        );
    }
    if ctx.opts.wants("group_members") {
        for g in &groups {
            let Some(id) = keys::id(g) else { continue };
            let members = ctx
                .client
                .group_member_listing(&id)
                .map_err(ExtractError::http("building a request"))?
                .all()
                .await
                .map_err(ExtractError::http(format!(
                    "listing the members of group {id}"
                )))?;
            ctx.rows("group_members", members.len() as u64);
            batch.replace_set(
                "group_members",
                Filter::all().eq("group_id", id.as_str()),
                members
                    .into_iter()
                    .map(|m| Row::new("group_members", m).with("group_id", id.as_str()))
                    .collect(),
            );
        }
    }
    batch.checkpoint(&scope, "groups", expect(&cp), json!({"state": "done"}));
    ctx.commit(&batch, "groups").await?;
    ctx.progress(Progress::PhaseDone {
        what: "groups".into(),
    });
    Ok(())
}
