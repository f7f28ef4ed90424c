//! Spaces and their metadata, and the site-wide bulk listings: attachments, comments, tasks,
//! custom content, groups.

use std::collections::{HashMap, HashSet};

use kb_confluence::{ContentKind, ContentQuery, keys};
use kb_http::Pagination;
use kb_store::{Batch, Filter, Row};
use serde_json::{Value, json};

use super::content::{self, BLOG_POSTS, ListState, PAGES, SpaceRef, expect, modified_ms};
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
    let listing = if ctx.opts.spaces.is_empty() {
        ctx.client.spaces()
    } else {
        ctx.client.spaces_by_key(&ctx.opts.spaces)
    }
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
        .filter(|k| !out.iter().any(|s| s.key.eq_ignore_ascii_case(k)))
        .collect();
    if !missing.is_empty() {
        let list = missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if out.is_empty() {
            return Err(ExtractError::Input(format!(
                "no space with the key(s) {list} exists or the account can read it: check the keys (case matters less than spelling) and the account's space permissions"
            )));
        }
        ctx.warn(format!(
            "space(s) {list} not found or not readable by the account: skipped (check the keys and the space permissions)"
        ));
    }
    ctx.commit(&batch, "spaces").await?;
    ctx.rows("spaces", batch.len() as u64);
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
        let listing = match table {
            "space_labels" => ctx.client.space_labels(&space.id),
            "space_permissions" => ctx.client.space_permissions(&space.id),
            _ => ctx.client.space_properties(&space.id),
        }
        .map_err(ExtractError::http("building a request"))?;
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
        let listing = ctx
            .client
            .tasks(&ContentQuery::in_spaces(&[space.id.as_str()]).with_body())
            .map_err(ExtractError::http("building a request"))?;
        let mut stream = ctx.open(listing, None, &what).await?;
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(page) = stream.next().await? {
            let mut batch = Batch::new();
            for item in page.items {
                if let Some(id) = keys::id(&item) {
                    seen.insert(id);
                    batch.upsert(Row::new("tasks", item));
                }
            }
            ctx.rows("tasks", batch.len() as u64);
            ctx.commit(&batch, &what).await?;
        }
        let mut batch = Batch::new();
        for id in ctx
            .store
            .ids("tasks", &Filter::all().eq("space_id", space.id.as_str()))
            .await
            .map_err(ExtractError::store("reading tasks"))?
        {
            if !seen.contains(&id) {
                batch.delete("tasks", vec![json!(id)]);
            }
        }
        ctx.deleted("tasks", batch.len() as u64);
        batch.checkpoint(&scope, "tasks", expect(&cp), json!({"state": "done"}));
        ctx.commit(&batch, &what).await?;
        ctx.progress(Progress::PhaseDone { what });
        return Ok(());
    }
    for (param, column, ids) in [
        ("page-id", "page_id", changed_pages),
        ("blogpost-id", "blog_post_id", changed_blog_posts),
    ] {
        for chunk in ids.chunks(250) {
            let req = ctx
                .client
                .v2("tasks")
                .map_err(ExtractError::http("building a request"))?
                .query(param, chunk.join(","))
                .query("body-format", "storage")
                .query("limit", "250");
            let items = ctx
                .client
                .custom_listing(req, Pagination::Links)
                .all()
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
pub(crate) async fn custom_content(ctx: &Ctx, space: &SpaceRef) -> Result<()> {
    if !ctx.opts.wants("custom_content") {
        return Ok(());
    }
    for t in &ctx.opts.custom_content_types {
        let what = format!("custom content {t} of {}", space.key);
        let items = match ctx
            .client
            .custom_content(
                t,
                &ContentQuery::in_spaces(&[space.id.as_str()]).with_body(),
            )
            .map_err(ExtractError::http("building a request"))?
            .all()
            .await
        {
            Ok(items) => items,
            Err(e) if matches!(e.status(), Some(400 | 404 | 501)) => {
                ctx.warn(format!("{what} could not be listed ({e}): skipped"));
                continue;
            }
            Err(e) => return Err(ExtractError::http(format!("listing {what}"))(e)),
        };
        ctx.rows("custom_content", items.len() as u64);
        let rows = items
            .into_iter()
            .map(|i| Row::new("custom_content", i))
            .collect();
        let mut batch = Batch::new();
        batch.replace_set(
            "custom_content",
            Filter::all()
                .eq("space_id", space.id.as_str())
                .eq("type", t.as_str()),
            rows,
        );
        ctx.commit(&batch, &what).await?;
    }
    Ok(())
}

/// Whether a site-wide listing runs in full (and from where), or incrementally from a mark.
struct SiteListing {
    full: bool,
    /// The listing finished but the phase after it did not (attachments' details).
    listed: bool,
    resume: Option<String>,
    hwm: i64,
    cp: Option<Value>,
}

async fn site_listing(ctx: &Ctx, endpoint: &str) -> Result<SiteListing> {
    let scope = ctx.scope("");
    let (full, cp) = needs_full(ctx, &scope, endpoint).await?;
    let st = ListState::from_json(cp.as_ref());
    Ok(SiteListing {
        full,
        listed: st.listed && !ctx.opts.full,
        resume: if full && !st.done && !ctx.opts.full {
            st.next.clone()
        } else {
            None
        },
        hwm: st.hwm,
        cp,
    })
}

/// Attachments of the extracted content, and their versions and labels.
pub(crate) async fn attachments(ctx: &Ctx, spaces: &[SpaceRef]) -> Result<()> {
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
    let owners = owners(ctx, space_ids).await?;
    let scope = ctx.scope("");
    let l = site_listing(ctx, "attachments").await?;
    let mut cp = l.cp.clone();
    let q = if l.full {
        ContentQuery::default()
    } else {
        ContentQuery::default().sort("-modified-date")
    };
    let listing = ctx
        .client
        .attachments(&q)
        .map_err(ExtractError::http("building a request"))?;
    // After a `listed` stop there is nothing to list: only the details are redone.
    let mut stream = if l.listed {
        None
    } else {
        Some(ctx.open(listing, l.resume.clone(), &what).await?)
    };
    let resumed = stream.as_ref().is_some_and(|s| s.resumed);
    let floor = l.hwm - ctx.opts.overlap.as_millis() as i64;
    let mut state = ListState {
        hwm: l.hwm,
        ..ListState::default()
    };
    let mut seen = HashSet::new();
    // (id, version number) of attachments whose versions and labels must be read.
    let mut changed: Vec<(String, i64)> = Vec::new();
    let stored = ctx
        .store
        .select(
            "attachments",
            &["id", "version_number", "page_id", "blog_post_id"],
            &Filter::all(),
        )
        .await
        .map_err(ExtractError::store("reading attachments"))?;
    // id → (version, container), for the attachments of the extracted content only.
    let stored: HashMap<String, i64> = stored
        .into_iter()
        .filter_map(|r| {
            let owner = r
                .get(2)
                .and_then(Value::as_str)
                .or(r.get(3).and_then(Value::as_str))?;
            owners.contains(owner).then_some(())?;
            Some((r.first()?.as_str()?.to_string(), r.get(1)?.as_i64()?))
        })
        .collect();
    if l.listed {
        // A run stopped after the listing: its details are read again for every attachment
        // (versions only where the store lacks them, labels in bulk).
        changed = stored.iter().map(|(id, v)| (id.clone(), *v)).collect();
    }
    let want_versions = ctx.opts.wants("attachment_versions");
    'pages: while let Some(stream) = stream.as_mut()
        && let Some(page) = stream.next().await?
    {
        let mut batch = Batch::new();
        let mut n = 0;
        let mut reached_floor = false;
        for item in &page.items {
            let Some(id) = keys::id(item) else { continue };
            let m = modified_ms(item);
            if !l.full && m < floor {
                reached_floor = true;
                break;
            }
            let Some((_, owner)) = keys::container(item) else {
                continue;
            };
            if !owners.contains(&owner) {
                continue;
            }
            state.hwm = state.hwm.max(m);
            seen.insert(id.clone());
            let version = keys::version_number(item).unwrap_or(0) as i64;
            if stored.get(&id).is_none_or(|v| *v < version) {
                changed.push((id.clone(), version));
                // A first version is the attachment's own `version`: stored with it, no request.
                if version <= 1
                    && want_versions
                    && let Some(v) = item.get("version")
                {
                    batch.replace_set(
                        "attachment_versions",
                        Filter::all().eq("attachment_id", id.as_str()),
                        vec![
                            Row::new("attachment_versions", v.clone())
                                .with("attachment_id", id.as_str()),
                        ],
                    );
                    ctx.rows("attachment_versions", 1);
                }
            }
            if ctx.opts.wants("attachments") {
                batch.upsert(Row::new("attachments", item.clone()));
                n += 1;
            }
        }
        state.next = if reached_floor {
            None
        } else {
            page.next.clone()
        };
        if l.full {
            let v = state.to_json();
            batch.checkpoint(&scope, "attachments", expect(&cp), v.clone());
            cp = Some(v);
        }
        ctx.commit(&batch, &what).await?;
        ctx.rows("attachments", n);
        if reached_floor {
            break 'pages;
        }
    }
    if l.full && !l.listed && !resumed {
        let gone: Vec<String> = stored
            .keys()
            .filter(|id| !seen.contains(*id))
            .cloned()
            .collect();
        let mut batch = Batch::new();
        for id in &gone {
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
        }
        ctx.commit(&batch, "deleting purged attachments").await?;
        ctx.deleted("attachments", gone.len() as u64);
    }
    if l.full && !l.listed {
        // The listing is complete: a kill from here on redoes only the details.
        let v = ListState {
            listed: true,
            hwm: state.hwm,
            ..ListState::default()
        }
        .to_json();
        let mut batch = Batch::new();
        batch.checkpoint(&scope, "attachments", expect(&cp), v.clone());
        ctx.commit(&batch, &what).await?;
        cp = Some(v);
    }
    attachment_details(ctx, spaces, &changed).await?;
    state.done = true;
    state.listed = false;
    state.next = None;
    let mut batch = Batch::new();
    batch.checkpoint(&scope, "attachments", expect(&cp), state.to_json());
    ctx.commit(&batch, &what).await?;
    ctx.progress(Progress::PhaseDone { what });
    Ok(())
}

/// Above this many changed attachments, their labels come from one CQL pass per space (250 per
/// request) instead of one request each.
const BULK_LABELS_FROM: usize = 50;

/// Versions (a request only when there is more than one), labels and properties of changed
/// attachments.
async fn attachment_details(
    ctx: &Ctx,
    spaces: &[SpaceRef],
    changed: &[(String, i64)],
) -> Result<()> {
    let want_labels = ctx.opts.wants("attachment_labels");
    let bulk = if want_labels && changed.len() > BULK_LABELS_FROM {
        attachment_labels_by_cql(ctx, spaces).await?
    } else {
        HashMap::new()
    };
    // Versions already stored (a first version is stored with its attachment).
    let mut have: HashMap<String, i64> = HashMap::new();
    if ctx.opts.wants("attachment_versions") {
        for (id, n) in ctx
            .store
            .max_by("attachment_versions", "attachment_id", "number")
            .await
            .map_err(ExtractError::store("reading attachment_versions"))?
        {
            if let (Some(id), Some(n)) = (id.as_str(), n.as_i64()) {
                have.insert(id.to_string(), n);
            }
        }
    }
    let mut batch = Batch::new();
    for (i, (id, n)) in changed.iter().enumerate() {
        if ctx.opts.wants("attachment_versions") && have.get(id).copied().unwrap_or(0) < *n {
            let versions =
                list_or_empty(ctx, ctx.client.versions(ContentKind::Attachment, id), id).await?;
            ctx.rows("attachment_versions", versions.len() as u64);
            let rows = versions
                .into_iter()
                .map(|v| Row::new("attachment_versions", v).with("attachment_id", id.as_str()))
                .collect();
            batch.replace_set(
                "attachment_versions",
                Filter::all().eq("attachment_id", id.as_str()),
                rows,
            );
        }
        // Content properties of attachments have no bulk source: one request per attachment,
        // so only when the table is asked for by name.
        let want_props = ctx
            .opts
            .endpoints
            .as_ref()
            .is_some_and(|e| e.contains("attachment_content_properties"));
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
                        ctx.client.content_labels(ContentKind::Attachment, id)
                    } else {
                        ctx.client.properties(ContentKind::Attachment, id)
                    };
                    list_or_empty(ctx, listing, id).await?
                }
            };
            ctx.rows(table, items.len() as u64);
            let rows = items
                .into_iter()
                .map(|v| Row::new(table, v).with("attachment_id", id.as_str()))
                .collect();
            batch.replace_set(table, Filter::all().eq("attachment_id", id.as_str()), rows);
        }
        if (i + 1) % 100 == 0 {
            ctx.commit(&batch, "attachment details").await?;
            batch = Batch::new();
        }
    }
    ctx.commit(&batch, "attachment details").await
}

/// The labels of every attachment CQL finds in the spaces (`type = attachment`, expanded
/// `metadata.labels`), by attachment id. Attachments it does not return (of archived or trashed
/// content) are asked one by one.
async fn attachment_labels_by_cql(
    ctx: &Ctx,
    spaces: &[SpaceRef],
) -> Result<HashMap<String, Vec<Value>>> {
    // Page by page: only the labels are kept (most attachments have none: an empty list).
    let mut out = HashMap::new();
    for space in spaces {
        let cql = format!(
            "space = {} and type = attachment",
            kb_confluence::cql::quote(&space.key)
        );
        let what = format!("labels of the attachments of {}", space.key);
        let listing = ctx
            .client
            .content_search(&cql, &["metadata.labels"])
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
                continue;
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

/// Ids of the pages and blog posts of the extracted spaces.
async fn owners(ctx: &Ctx, space_ids: &[String]) -> Result<HashSet<String>> {
    let mut set = content::stored_ids(ctx, PAGES, space_ids).await?;
    set.extend(content::stored_ids(ctx, BLOG_POSTS, space_ids).await?);
    Ok(set)
}

/// Footer and inline comments of the extracted content (site-wide listings, split by
/// container; replies go where their root comment is).
pub(crate) async fn comments(ctx: &Ctx, space_ids: &[String]) -> Result<()> {
    let owners = owners(ctx, space_ids).await?;
    let page_ids: HashSet<String> = content::stored_ids(ctx, PAGES, space_ids).await?;
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
        comment_listing(ctx, endpoint, page_table, blog_table, &owners, &page_ids).await?;
    }
    Ok(())
}

async fn comment_listing(
    ctx: &Ctx,
    endpoint: &str,
    page_table: &'static str,
    blog_table: &'static str,
    owners: &HashSet<String>,
    page_ids: &HashSet<String>,
) -> Result<()> {
    let what = endpoint.replace('-', " ");
    ctx.progress(Progress::Phase { what: what.clone() });
    let scope = ctx.scope("");
    let l = site_listing(ctx, endpoint).await?;
    let mut cp = l.cp.clone();
    let mut q = ContentQuery::default().with_body();
    if !l.full {
        q = q.sort("-modified-date");
    }
    let listing = if endpoint == "footer-comments" {
        ctx.client.footer_comments(&q)
    } else {
        ctx.client.inline_comments(&q)
    }
    .map_err(ExtractError::http("building a request"))?;
    let mut stream = ctx.open(listing, l.resume.clone(), &what).await?;
    let resumed = stream.resumed;
    let floor = l.hwm - ctx.opts.overlap.as_millis() as i64;
    let mut state = ListState {
        hwm: l.hwm,
        ..ListState::default()
    };
    // Where each comment lives: (table, container id), from this listing or the store.
    // Compact keys: hundreds of thousands of comments on a big site.
    let mut home: HashMap<IdKey, (bool, IdKey)> = HashMap::new();
    let mut seen: HashSet<IdKey> = HashSet::new();
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
        for item in &page.items {
            if !l.full && modified_ms(item) < floor {
                reached_floor = true;
                break;
            }
            items.push(item.clone());
        }
        for (i, item) in items.into_iter().enumerate() {
            let Some(id) = keys::id(&item) else { continue };
            let place = match keys::container(&item) {
                Some((_, c)) if page_ids.contains(&c) => Some((page_table, c)),
                Some((_, c)) if owners.contains(&c) => Some((blog_table, c)),
                Some(_) => {
                    outside += 1;
                    continue;
                }
                None => match keys::parent_comment_id(&item) {
                    Some(parent) => match home.get(&IdKey::of(&parent)) {
                        Some((is_page, c)) => Some((
                            if *is_page { page_table } else { blog_table },
                            c.to_string(),
                        )),
                        None => stored_home(ctx, &parent, page_table, blog_table).await?,
                    },
                    None => None,
                },
            };
            let Some((table, container)) = place else {
                orphans.push(item);
                continue;
            };
            if i >= fresh {
                state.hwm = state.hwm.max(modified_ms(&item));
            }
            seen.insert(IdKey::of(&id));
            home.insert(IdKey::of(&id), (table == page_table, IdKey::of(&container)));
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
            let v = state.to_json();
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
    if l.full && !resumed {
        let mut batch = Batch::new();
        let mut n = 0;
        for (table, owner) in [(page_table, "page_id"), (blog_table, "blog_post_id")] {
            // Only the comments of the extracted content (other spaces keep theirs).
            for r in ctx
                .store
                .select(table, &["id", owner], &Filter::all())
                .await
                .map_err(ExtractError::store(format!("reading {table}")))?
            {
                let (Some(id), Some(o)) = (
                    r.first().and_then(Value::as_str),
                    r.get(1).and_then(Value::as_str),
                ) else {
                    continue;
                };
                if owners.contains(o) && !seen.contains(&IdKey::of(id)) {
                    batch.delete(table, vec![json!(id)]);
                    n += 1;
                }
            }
        }
        ctx.commit(&batch, &format!("deleting purged {what}"))
            .await?;
        ctx.deleted(page_table, n);
    }
    state.done = true;
    state.next = None;
    let mut batch = Batch::new();
    batch.checkpoint(&scope, endpoint, expect(&cp), state.to_json());
    ctx.commit(&batch, &what).await?;
    ctx.progress(Progress::PhaseDone { what });
    Ok(())
}

/// An id kept small: numeric ids (all of Confluence's) as a number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum IdKey {
    N(u64),
    S(Box<str>),
}

impl IdKey {
    fn of(id: &str) -> IdKey {
        match id.parse::<u64>() {
            // Only when it prints back the same (no leading zeros, no sign).
            Ok(n) if n.to_string() == id => IdKey::N(n),
            _ => IdKey::S(id.into()),
        }
    }
}

impl std::fmt::Display for IdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdKey::N(n) => write!(f, "{n}"),
            IdKey::S(s) => f.write_str(s),
        }
    }
}

/// The container of a stored comment.
async fn stored_home(
    ctx: &Ctx,
    id: &str,
    page_table: &'static str,
    blog_table: &'static str,
) -> Result<Option<(&'static str, String)>> {
    for (table, owner) in [(page_table, "page_id"), (blog_table, "blog_post_id")] {
        let rows = ctx
            .store
            .select(table, &[owner], &Filter::all().eq("id", id))
            .await
            .map_err(ExtractError::store(format!("reading {table}")))?;
        if let Some(c) = rows.first().and_then(|r| r.first()).and_then(Value::as_str) {
            return Ok(Some((table, c.to_string())));
        }
    }
    Ok(None)
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
        .groups()
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
                .group_members(&id)
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
