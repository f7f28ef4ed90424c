//! From the replica to articles: filters, mapping, transformation, access, then the store and
//! the index. Incremental by a source hash: content whose inputs (version, body, title, labels,
//! properties, access, the configuration) did not change is not rewritten.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use kb_search::SearchIndex;
use kb_store::{Batch, Filter, Row, Store};
use serde::Serialize;
use serde_json::{Value, json};

use crate::KmError;
use crate::access::{AccessData, Levels};
use crate::config::KmConfig;
use crate::log::RunLog;
use crate::transform;
use crate::util::{hash, parse_instant, text};

/// How many articles are written per store transaction and index commit.
const CHUNK: usize = 2000;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    /// New articles.
    pub added: u64,
    /// Articles rewritten because their source changed.
    pub updated: u64,
    /// Articles removed (their source is gone, no longer current, or filtered out).
    pub deleted: u64,
    /// Content left out by the filters.
    pub skipped_by_filter: u64,
    /// Content that could not be imported (retried by the next run).
    pub failed: u64,
    /// Articles whose source did not change.
    pub unchanged: u64,
    /// Articles indexed as readable by no one (access unknown).
    pub closed: u64,
}

/// Options of one import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The site's `/wiki` URL, for article links.
    pub site_url: String,
    /// Content ids the CQL filter returned (`None`: no CQL filter).
    pub cql_ids: Option<HashSet<String>>,
    /// The folder `extract --files` downloads attachments into (their text is indexed with
    /// their container article).
    pub files: Option<std::path::PathBuf>,
}

struct Item {
    kind: &'static str,
    id: String,
    title: String,
    space_id: String,
    parent_id: Option<String>,
    creator: Option<String>,
    owner: Option<String>,
    modifier: Option<String>,
    created: Option<String>,
    modified: Option<String>,
    version: Option<i64>,
    body: Option<String>,
    webui: Option<String>,
}

const PAGE_COLUMNS: &[&str] = &[
    "id",
    "status",
    "title",
    "space_id",
    "parent_id",
    "author_id",
    "owner_id",
    "version_author_id",
    "created_at",
    "version_created_at",
    "version_number",
    "body_storage",
    "webui_link",
];
const BLOG_COLUMNS: &[&str] = &[
    "id",
    "status",
    "title",
    "space_id",
    "author_id",
    "version_author_id",
    "created_at",
    "version_created_at",
    "version_number",
    "body_storage",
    "webui_link",
];

fn item(kind: &'static str, r: &[Value]) -> Option<(String, Item)> {
    let col = |name: &str| {
        let cols = if kind == "page" {
            PAGE_COLUMNS
        } else {
            BLOG_COLUMNS
        };
        cols.iter().position(|c| *c == name).and_then(|i| r.get(i))
    };
    let status = text(col("status"))?;
    Some((
        status,
        Item {
            kind,
            id: text(col("id"))?,
            title: text(col("title"))?,
            space_id: text(col("space_id"))?,
            parent_id: text(col("parent_id")),
            creator: text(col("author_id")),
            owner: text(col("owner_id")),
            modifier: text(col("version_author_id")),
            created: text(col("created_at")),
            modified: text(col("version_created_at")),
            version: col("version_number").and_then(Value::as_i64),
            body: text(col("body_storage")),
            webui: text(col("webui_link")),
        },
    ))
}

/// Everything of the replica an import reads besides the content rows.
struct Context {
    spaces: HashMap<String, (String, String)>,
    labels: HashMap<String, Vec<String>>,
    props: HashMap<String, Vec<(String, Value)>>,
    titles: HashMap<String, String>,
    attachments: HashMap<String, Vec<crate::attachments::AttachmentText>>,
    access: AccessData,
    fingerprint: String,
}

async fn context(store: &Store, cfg: &KmConfig, opts: &ImportOptions) -> Result<Context, KmError> {
    let mut spaces = HashMap::new();
    for r in store
        .select("spaces", &["id", "key", "name"], &Filter::all())
        .await?
    {
        if let (Some(id), Some(key)) = (text(r.first()), text(r.get(1))) {
            let name = text(r.get(2)).unwrap_or_else(|| key.clone());
            spaces.insert(id, (key, name));
        }
    }
    let mut labels: HashMap<String, Vec<String>> = HashMap::new();
    for (table, owner) in [
        ("page_labels", "page_id"),
        ("blog_post_labels", "blog_post_id"),
        ("attachment_labels", "attachment_id"),
    ] {
        for r in store
            .select(table, &[owner, "name"], &Filter::all())
            .await?
        {
            if let (Some(o), Some(n)) = (text(r.first()), text(r.get(1))) {
                labels.entry(o).or_default().push(n);
            }
        }
    }
    for l in labels.values_mut() {
        l.sort();
        l.dedup();
    }
    let mut props: HashMap<String, Vec<(String, Value)>> = HashMap::new();
    if !cfg.mapping.content_properties.is_empty() {
        for (table, owner) in [
            ("page_content_properties", "page_id"),
            ("blog_post_content_properties", "blog_post_id"),
        ] {
            for r in store
                .select(table, &[owner, "key", "value"], &Filter::all())
                .await?
            {
                if let (Some(o), Some(k)) = (text(r.first()), text(r.get(1)))
                    && cfg.mapping.content_properties.contains(&k)
                {
                    props
                        .entry(o)
                        .or_default()
                        .push((k, r.get(2).cloned().unwrap_or(Value::Null)));
                }
            }
        }
    }
    let mut titles = HashMap::new();
    if cfg.mapping.category == "parent_title" {
        for r in store
            .select("pages", &["id", "title"], &Filter::all())
            .await?
        {
            if let (Some(id), Some(t)) = (text(r.first()), text(r.get(1))) {
                titles.insert(id, t);
            }
        }
        // Folders have no row of their own: extract keeps their titles in the ancestor rows.
        for raw in store
            .rows_raw_where(
                "page_ancestors",
                &Filter::all().eq("ancestor_type", "folder"),
            )
            .await?
        {
            if let (Some(id), Some(t)) = (text(raw.get("id")), text(raw.get("title"))) {
                titles.insert(id, t);
            }
        }
    }
    let access = AccessData::load(store).await?;
    let attachments = if cfg.rules.attachment_text || wants_attachments(cfg) {
        crate::attachments::load(store, opts.files.as_deref(), cfg.rules.attachment_text).await?
    } else {
        HashMap::new()
    };
    let fingerprint = serde_json::to_string(&(&cfg.mapping, &cfg.rules))
        .map_err(|e| KmError::Input(format!("the configuration cannot be serialized: {e}")))?;
    Ok(Context {
        spaces,
        labels,
        props,
        titles,
        attachments,
        access,
        fingerprint,
    })
}

/// Whether attachments are articles of their own (`content_types` has `attachment`).
fn wants_attachments(cfg: &KmConfig) -> bool {
    cfg.filters.content_types.iter().any(|t| t == "attachment")
}

/// The filters' verdict on one item (`Some(reason)`: left out).
fn filtered(cfg: &KmConfig, ctx: &Context, it: &Item, opts: &ImportOptions) -> Option<String> {
    if !cfg.filters.content_types.iter().any(|t| t == it.kind) {
        return Some(format!("content type {}", it.kind));
    }
    filtered_but_type(cfg, ctx, it, opts)
}

/// The filters' verdict on one item, its content type aside (an attachment's container is
/// judged by this, so `content_types = ["attachment"]` imports the files of pages that are
/// not articles themselves).
fn filtered_but_type(
    cfg: &KmConfig,
    ctx: &Context,
    it: &Item,
    opts: &ImportOptions,
) -> Option<String> {
    let f = &cfg.filters;
    let key = ctx.spaces.get(&it.space_id).map(|(k, _)| k.as_str());
    if !f.spaces_include.is_empty() && !key.is_some_and(|k| f.spaces_include.iter().any(|s| s == k))
    {
        return Some("space not included".into());
    }
    if key.is_some_and(|k| f.spaces_exclude.iter().any(|s| s == k)) {
        return Some("space excluded".into());
    }
    let labels = ctx.labels.get(&it.id).map(Vec::as_slice).unwrap_or(&[]);
    if !f.labels_include.is_empty() && !labels.iter().any(|l| f.labels_include.contains(l)) {
        return Some("no included label".into());
    }
    if let Some(l) = labels.iter().find(|l| f.labels_exclude.contains(l)) {
        return Some(format!("label {l} excluded"));
    }
    if let Some(reason) = filtered_dates(cfg, it.created.as_deref(), it.modified.as_deref()) {
        return Some(reason);
    }
    let chain = ctx.access.ancestors.get(&it.id);
    let in_subtree = |root: &String| it.id == *root || chain.is_some_and(|c| c.contains(root));
    if !f.subtrees_include.is_empty() && !f.subtrees_include.iter().any(in_subtree) {
        return Some("outside the included subtrees".into());
    }
    if let Some(r) = f.subtrees_exclude.iter().find(|r| in_subtree(r)) {
        return Some(format!("in the excluded subtree of {r}"));
    }
    if let Some(ids) = &opts.cql_ids
        && !ids.contains(&it.id)
    {
        return Some("not returned by the CQL filter".into());
    }
    None
}

/// The created-after and modified-after filters.
fn filtered_dates(cfg: &KmConfig, created: Option<&str>, modified: Option<&str>) -> Option<String> {
    let f = &cfg.filters;
    for (bound, value, name) in [
        (&f.created_after, created, "created"),
        (&f.modified_after, modified, "modified"),
    ] {
        if let Some(b) = bound.as_deref().and_then(parse_instant) {
            match value.and_then(parse_instant) {
                Some(v) if v >= b => {}
                _ => return Some(format!("{name} before {}", bound.as_deref().unwrap_or(""))),
            }
        }
    }
    None
}

/// A page or blog post whose attachments become articles.
struct Container {
    kind: &'static str,
    space_id: String,
    title: String,
    levels: Levels,
}

/// The stored state of an article.
struct Existing {
    source_hash: Option<String>,
    space_key: Option<String>,
}

/// Imports the replica into the knowledge base and the index; `log` collects the integration
/// log of run `run_id`.
pub async fn import(
    store: &Store,
    index: &mut SearchIndex,
    cfg: &KmConfig,
    opts: &ImportOptions,
    run_id: i64,
    log: &mut RunLog,
) -> Result<ImportCounts, KmError> {
    let ctx = context(store, cfg, opts).await?;
    sync_principals(store, cfg, log).await?;
    let mut existing: HashMap<String, Existing> = HashMap::new();
    for r in store
        .select(
            "km_articles",
            &["id", "source_hash", "space_key"],
            &Filter::all(),
        )
        .await?
    {
        if let Some(id) = text(r.first()) {
            existing.insert(
                id,
                Existing {
                    source_hash: text(r.get(1)),
                    space_key: text(r.get(2)),
                },
            );
        }
    }
    let failed_before: HashSet<String> = store
        .ids("km_failures", &Filter::all())
        .await?
        .into_iter()
        .collect();
    let mut counts = ImportCounts::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut pending: Vec<Prepared> = Vec::new();
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut succeeded: Vec<String> = Vec::new();
    // Current containers that pass the filters (their type aside), for attachment articles.
    let mut containers: HashMap<String, Container> = HashMap::new();
    for (kind, table, columns) in [
        ("page", "pages", PAGE_COLUMNS),
        ("blogpost", "blog_posts", BLOG_COLUMNS),
    ] {
        let mut after: Option<Value> = None;
        loop {
            let rows = store
                .select_page(table, columns, &Filter::all(), after.as_ref(), Some(1000))
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.first().cloned();
            let mut todo: Vec<(Item, String, Levels, String, bool)> = Vec::new();
            for r in &rows {
                let Some((status, it)) = item(kind, r) else {
                    let id = text(r.first()).unwrap_or_else(|| "(no id)".into());
                    log.error(
                        &format!("{kind}:{id}"),
                        "the replica row lacks its id, title, space or status",
                        "run `kbridge extract confluence --reconcile` to read it again",
                    );
                    counts.failed += 1;
                    failures.push((format!("{kind}:{id}"), "incomplete replica row".into()));
                    continue;
                };
                // Drafts, archived, trashed and historical content is not in the knowledge base.
                if status != "current" {
                    continue;
                }
                let aid = format!("{kind}:{}", it.id);
                if wants_attachments(cfg)
                    && ctx.attachments.contains_key(&it.id)
                    && filtered_but_type(cfg, &ctx, &it, opts).is_none()
                {
                    containers.insert(
                        it.id.clone(),
                        Container {
                            kind,
                            space_id: it.space_id.clone(),
                            title: it.title.clone(),
                            levels: ctx
                                .access
                                .levels(&it.id, &it.space_id, it.parent_id.is_some()),
                        },
                    );
                }
                if let Some(reason) = filtered(cfg, &ctx, &it, opts) {
                    counts.skipped_by_filter += 1;
                    tracing::debug!(article = %aid, reason, "left out by a filter");
                    continue;
                }
                seen.insert(aid.clone());
                let has_parent = it.parent_id.is_some();
                let levels = ctx.access.levels(&it.id, &it.space_id, has_parent);
                let source_hash = source_hash(&ctx, &it, &levels);
                let prev = existing.get(&aid);
                if prev.is_some_and(|e| e.source_hash.as_deref() == Some(source_hash.as_str()))
                    && !failed_before.contains(&aid)
                {
                    counts.unchanged += 1;
                    continue;
                }
                todo.push((it, aid, levels, source_hash, prev.is_some()));
            }
            // The transformations of this page of rows, on every core (they are pure).
            let prepared = prepare_all(cfg, &ctx, opts, &todo, run_id);
            for ((_, aid, _, _, had), result) in todo.drain(..).zip(prepared) {
                match result {
                    Ok(p) => {
                        if let Levels::Unknown(why) = &p.levels {
                            counts.closed += 1;
                            log.warn(
                                &aid,
                                &format!("readable by no one until its access is known: {why}"),
                                "run `kbridge km sync --permissions` (a permission sync reads restrictions and memberships again)",
                            );
                        }
                        for w in &p.warnings {
                            log.warn(&aid, w, "see docs/km.md, transformation rules");
                        }
                        if had {
                            counts.updated += 1;
                        } else {
                            counts.added += 1;
                        }
                        succeeded.push(aid.clone());
                        pending.push(p);
                    }
                    Err(e) => {
                        counts.failed += 1;
                        log.error(&aid, &e, "fix the page in Confluence, or leave it out with a filter; it is retried by every run");
                        failures.push((aid.clone(), e));
                    }
                }
                if pending.len() >= CHUNK {
                    write(store, index, &mut pending).await?;
                }
            }
            if rows.len() < 1000 {
                break;
            }
        }
    }
    write(store, index, &mut pending).await?;

    // Attachments as articles of their own: the files of the containers that passed.
    let mut ids: Vec<&String> = containers.keys().collect();
    ids.sort();
    for cid in ids {
        let c = &containers[cid];
        for a in ctx.attachments.get(cid).into_iter().flatten() {
            let aid = format!("attachment:{}", a.id);
            if let Some(reason) = filtered_dates(cfg, a.created.as_deref(), a.modified.as_deref()) {
                counts.skipped_by_filter += 1;
                tracing::debug!(article = %aid, reason, "left out by a filter");
                continue;
            }
            seen.insert(aid.clone());
            let source_hash = attachment_hash(&ctx, a, cid, c);
            let prev = existing.get(&aid);
            if prev.is_some_and(|e| e.source_hash.as_deref() == Some(source_hash.as_str()))
                && !failed_before.contains(&aid)
            {
                counts.unchanged += 1;
                continue;
            }
            match prepare_attachment(cfg, &ctx, opts, a, cid, c, &aid, source_hash, run_id) {
                Ok(p) => {
                    if let Levels::Unknown(why) = &p.levels {
                        counts.closed += 1;
                        log.warn(
                            &aid,
                            &format!("readable by no one until its container's access is known: {why}"),
                            "run `kbridge km sync --permissions` (a permission sync reads restrictions and memberships again)",
                        );
                    }
                    for w in &p.warnings {
                        log.warn(&aid, w, "the article holds the file's name and metadata only; see docs/km.md, attachments");
                    }
                    if prev.is_some() {
                        counts.updated += 1;
                    } else {
                        counts.added += 1;
                    }
                    succeeded.push(aid.clone());
                    pending.push(p);
                }
                Err(e) => {
                    counts.failed += 1;
                    log.error(
                        &aid,
                        &e,
                        "run `kbridge extract confluence --reconcile`; it is retried by every run",
                    );
                    failures.push((aid.clone(), e));
                }
            }
            if pending.len() >= CHUNK {
                write(store, index, &mut pending).await?;
            }
        }
    }
    write(store, index, &mut pending).await?;

    // Deletions, with the guard per space.
    let mut per_space: BTreeMap<String, (Vec<String>, usize)> = BTreeMap::new();
    for (id, e) in &existing {
        let space = e.space_key.clone().unwrap_or_else(|| "(no space)".into());
        let entry = per_space.entry(space).or_default();
        entry.1 += 1;
        if !seen.contains(id) {
            entry.0.push(id.clone());
        }
    }
    let mut refused = Vec::new();
    let mut batch = Batch::new();
    let mut gone = Vec::new();
    for (space, (ids, total)) in per_space {
        if ids.is_empty() {
            continue;
        }
        let share = ids.len() as f64 / total.max(1) as f64;
        if ids.len() >= cfg.delete_guard_min && share > cfg.max_delete_share {
            log.error(
                &format!("space:{space}"),
                &format!(
                    "refused to delete {} of its {total} articles ({:.0} %, more than max_delete_share = {:.0} %)",
                    ids.len(),
                    share * 100.0,
                    cfg.max_delete_share * 100.0
                ),
                "if the deletions are meant, raise max_delete_share for one run; else check the replica (a failed extract, a lost permission)",
            );
            refused.push(space);
            continue;
        }
        for id in ids {
            batch.delete("km_articles", vec![json!(id)]);
            batch.replace_set(
                "km_access",
                Filter::all().eq("article_id", id.as_str()),
                Vec::new(),
            );
            gone.push(id);
        }
    }
    counts.deleted = gone.len() as u64;
    // Failures: recorded (attempts counted), and cleared once an item succeeds.
    let attempts: HashMap<String, i64> = store
        .select("km_failures", &["object", "attempts"], &Filter::all())
        .await?
        .into_iter()
        .filter_map(|r| Some((text(r.first())?, r.get(1).and_then(Value::as_i64)?)))
        .collect();
    for (object, message) in &failures {
        let n = attempts.get(object).copied().unwrap_or(0) + 1;
        batch.upsert(Row::new(
            "km_failures",
            json!({"object": object, "runId": run_id, "attempts": n, "message": message}),
        ));
    }
    for id in succeeded.iter().chain(gone.iter()) {
        if failed_before.contains(id) {
            batch.delete("km_failures", vec![json!(id)]);
        }
    }
    index.delete(&gone);
    index.commit()?;
    store.commit(&batch).await?;
    if !refused.is_empty() {
        return Err(KmError::DeleteGuard {
            spaces: refused,
            counts: Box::new(counts),
        });
    }
    Ok(counts)
}

fn source_hash(ctx: &Context, it: &Item, levels: &Levels) -> String {
    let labels = ctx
        .labels
        .get(&it.id)
        .map(|l| l.join(","))
        .unwrap_or_default();
    let props = ctx
        .props
        .get(&it.id)
        .map(|p| serde_json::to_string(p).unwrap_or_default())
        .unwrap_or_default();
    let space = ctx
        .spaces
        .get(&it.space_id)
        .map(|(k, n)| format!("{k}/{n}"))
        .unwrap_or_default();
    let parent_title = it
        .parent_id
        .as_ref()
        .and_then(|p| ctx.titles.get(p))
        .cloned()
        .unwrap_or_default();
    let version = it.version.map(|v| v.to_string()).unwrap_or_default();
    let files = ctx
        .attachments
        .get(&it.id)
        .map(|a| {
            a.iter()
                .map(|x| {
                    format!(
                        "{}/{}/{}",
                        x.id,
                        x.sha256.as_deref().unwrap_or("-"),
                        x.extraction
                    )
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    hash(&[
        &files,
        &ctx.fingerprint,
        it.kind,
        &it.id,
        &version,
        &it.title,
        it.body.as_deref().unwrap_or(""),
        &labels,
        &props,
        &space,
        &parent_title,
        &levels.fingerprint(),
        it.creator.as_deref().unwrap_or(""),
        it.owner.as_deref().unwrap_or(""),
        it.modifier.as_deref().unwrap_or(""),
        it.created.as_deref().unwrap_or(""),
        it.modified.as_deref().unwrap_or(""),
        it.webui.as_deref().unwrap_or(""),
    ])
}

fn attachment_hash(
    ctx: &Context,
    a: &crate::attachments::AttachmentText,
    container: &str,
    c: &Container,
) -> String {
    let space = ctx
        .spaces
        .get(&c.space_id)
        .map(|(k, n)| format!("{k}/{n}"))
        .unwrap_or_default();
    let version = a.version.map(|v| v.to_string()).unwrap_or_default();
    let labels = ctx
        .labels
        .get(&a.id)
        .map(|l| l.join(","))
        .unwrap_or_default();
    hash(&[
        &ctx.fingerprint,
        &labels,
        "attachment",
        &a.id,
        &version,
        &a.file_name,
        a.sha256.as_deref().unwrap_or("-"),
        &a.extraction,
        a.media_type.as_deref().unwrap_or(""),
        container,
        c.kind,
        &c.title,
        &space,
        &c.levels.fingerprint(),
        a.author.as_deref().unwrap_or(""),
        a.created.as_deref().unwrap_or(""),
        a.modified.as_deref().unwrap_or(""),
        a.webui.as_deref().unwrap_or(""),
        a.download.as_deref().unwrap_or(""),
    ])
}

/// An attachment as an article of its own: its file name as the title, its text (when km
/// reads its type) as the body, its container's access (attachments follow their container),
/// space and category (`parent_title`: the container's title); tags are its own labels.
#[allow(clippy::too_many_arguments)]
fn prepare_attachment(
    cfg: &KmConfig,
    ctx: &Context,
    opts: &ImportOptions,
    a: &crate::attachments::AttachmentText,
    container: &str,
    c: &Container,
    aid: &str,
    source_hash: String,
    run_id: i64,
) -> Result<Prepared, String> {
    let m = &cfg.mapping;
    let (space_key, space_name) = ctx
        .spaces
        .get(&c.space_id)
        .cloned()
        .ok_or_else(|| format!("its container's space {} is not in the replica", c.space_id))?;
    let updated = match m.updated.as_str() {
        "created" => a.created.clone(),
        _ => a.modified.clone(),
    };
    let tags: Vec<String> = match m.tags.as_str() {
        "none" => Vec::new(),
        _ => ctx.labels.get(&a.id).cloned().unwrap_or_default(),
    };
    let category = match m.category.as_str() {
        "space_key" => space_key.clone(),
        "parent_title" => c.title.clone(),
        _ => space_name.clone(),
    };
    let container_id = format!("{}:{container}", c.kind);
    let mut custom = serde_json::Map::new();
    custom.insert("container".into(), json!(container_id));
    custom.insert("mediaType".into(), json!(a.media_type));
    custom.insert("fileSize".into(), json!(a.size));
    custom.insert("extraction".into(), json!(a.extraction));
    let link = a.download.as_ref().or(a.webui.as_ref());
    let url = link.map(|w| format!("{}{}", opts.site_url.trim_end_matches('/'), w));
    let text = a.text.clone().unwrap_or_default();
    let markdown = match &a.text {
        Some(t) => format!("# {}\n\n{t}\n", a.file_name),
        None => format!("# {}\n\n(no text: {})\n", a.file_name, a.extraction),
    };
    let html = format!(
        "<h1>{}</h1>\n<pre>{}</pre>\n",
        escape_html(&a.file_name),
        escape_html(&text)
    );
    let mut warnings = Vec::new();
    if a.extraction.starts_with("error") {
        warnings.push(format!("{}: {}", a.file_name, a.extraction));
    }
    let levels = c.levels.clone();
    let content_hash = hash(&[
        &a.file_name,
        &markdown,
        &tags.join(","),
        &category,
        a.author.as_deref().unwrap_or(""),
        &serde_json::to_string(&custom).unwrap_or_default(),
        &levels.fingerprint(),
    ]);
    let access_label = match &levels {
        Levels::Known(_) => "levels",
        Levels::Unknown(_) => "unknown",
    };
    let raw = json!({
        "id": aid,
        "source": "confluence",
        "sourceId": a.id,
        "kind": "attachment",
        "spaceKey": space_key,
        "url": url,
        "title": a.file_name,
        "author": a.author,
        "created": a.created,
        "updated": updated,
        "category": category,
        "tags": tags,
        "customFields": custom,
        "sourceVersion": a.version,
        "access": access_label,
        "contentHash": content_hash,
        "sourceHash": source_hash,
        "runId": run_id,
    });
    let row = Row::new("km_articles", raw)
        .with("body_markdown", markdown)
        .with("body_html", html)
        .with("body_text", text.clone());
    let access_rows = access_rows(aid, &a.id, &levels);
    let index = kb_search::Article {
        id: aid.to_string(),
        kind: "attachment".into(),
        title: a.file_name.clone(),
        body: text,
        tags,
        category,
        space: space_key,
        author: a.author.clone(),
        updated_ms: updated.as_deref().and_then(parse_instant).unwrap_or(0),
        access: levels.to_index(),
    };
    Ok(Prepared {
        row,
        access_rows,
        index,
        levels,
        warnings,
        attachment_rows: Vec::new(),
        id: aid.to_string(),
    })
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The access rows of an article: one per principal per level (`OPEN` for an open level), or
/// `NOBODY` when its access is unknown.
fn access_rows(aid: &str, source_id: &str, levels: &Levels) -> Vec<Row> {
    let mut rows = Vec::new();
    match levels {
        Levels::Known(l) => {
            for (i, set) in l.iter().enumerate() {
                let ps: Vec<&str> = if set.is_empty() {
                    vec![kb_search::OPEN]
                } else {
                    set.iter().map(String::as_str).collect()
                };
                for p in ps {
                    rows.push(Row::new(
                        "km_access",
                        json!({"articleId": aid, "level": i, "principal": p, "sourceId": source_id}),
                    ));
                }
            }
        }
        Levels::Unknown(_) => rows.push(Row::new(
            "km_access",
            json!({"articleId": aid, "level": 0, "principal": kb_search::NOBODY, "sourceId": source_id}),
        )),
    }
    rows
}

/// An article ready to be written.
struct Prepared {
    row: Row,
    access_rows: Vec<Row>,
    index: kb_search::Article,
    levels: Levels,
    warnings: Vec<String>,
    attachment_rows: Vec<Row>,
    id: String,
}

#[allow(clippy::too_many_arguments)]
fn prepare(
    cfg: &KmConfig,
    ctx: &Context,
    opts: &ImportOptions,
    it: &Item,
    aid: &str,
    levels: Levels,
    source_hash: String,
    run_id: i64,
) -> Result<Prepared, String> {
    let m = &cfg.mapping;
    let storage = it
        .body
        .as_deref()
        .ok_or_else(|| "the replica holds no storage body for it".to_string())?;
    let out = transform::transform(storage, &cfg.rules, &m.page_properties)
        .map_err(|e| format!("its storage body cannot be read: {e}"))?;
    let (space_key, space_name) = ctx
        .spaces
        .get(&it.space_id)
        .cloned()
        .ok_or_else(|| format!("its space {} is not in the replica", it.space_id))?;
    let author = match m.author.as_str() {
        "last_modifier" => it.modifier.clone(),
        "owner" => it.owner.clone(),
        _ => it.creator.clone(),
    };
    let updated = match m.updated.as_str() {
        "created" => it.created.clone(),
        _ => it.modified.clone(),
    };
    let tags: Vec<String> = match m.tags.as_str() {
        "none" => Vec::new(),
        _ => ctx.labels.get(&it.id).cloned().unwrap_or_default(),
    };
    let category = match m.category.as_str() {
        "space_key" => space_key.clone(),
        "parent_title" => it
            .parent_id
            .as_ref()
            .and_then(|p| ctx.titles.get(p))
            .cloned()
            .unwrap_or_else(|| space_name.clone()),
        _ => space_name.clone(),
    };
    let mut custom = serde_json::Map::new();
    for (k, v) in &out.page_properties {
        custom.insert(k.clone(), json!(v));
    }
    for (k, v) in ctx.props.get(&it.id).into_iter().flatten() {
        custom.insert(k.clone(), v.clone());
    }
    let url = it
        .webui
        .as_ref()
        .map(|w| format!("{}{}", opts.site_url.trim_end_matches('/'), w));
    let content_hash = hash(&[
        &it.title,
        &out.markdown,
        &tags.join(","),
        &category,
        author.as_deref().unwrap_or(""),
        &serde_json::to_string(&custom).unwrap_or_default(),
        &levels.fingerprint(),
    ]);
    let access_label = match &levels {
        Levels::Known(_) => "levels",
        Levels::Unknown(_) => "unknown",
    };
    let raw = json!({
        "id": aid,
        "source": "confluence",
        "sourceId": it.id,
        "kind": it.kind,
        "spaceKey": space_key,
        "url": url,
        "title": it.title,
        "author": author,
        "created": it.created,
        "updated": updated,
        "category": category,
        "tags": tags,
        "customFields": custom,
        "sourceVersion": it.version,
        "access": access_label,
        "contentHash": content_hash,
        "sourceHash": source_hash,
        "runId": run_id,
    });
    let row = Row::new("km_articles", raw)
        .with("body_markdown", out.markdown.clone())
        .with("body_html", out.html.clone())
        .with("body_text", out.text.clone());
    let access_rows = access_rows(aid, &it.id, &levels);
    let mut body = out.text.clone();
    let mut attachment_rows = Vec::new();
    let mut warnings = out.warnings;
    for a in ctx.attachments.get(&it.id).into_iter().flatten() {
        if let Some(t) = &a.text {
            body.push_str("\n\n");
            body.push_str(&a.file_name);
            body.push('\n');
            body.push_str(t);
        }
        if a.extraction.starts_with("error") {
            warnings.push(format!(
                "attachment {} ({}): {}",
                a.id, a.file_name, a.extraction
            ));
        }
        attachment_rows.push(
            Row::new(
                "km_attachments",
                json!({
                    "id": format!("attachment:{}", a.id),
                    "articleId": aid,
                    "fileName": a.file_name,
                    "mediaType": a.media_type,
                    "sha256": a.sha256,
                    "size": a.size,
                    "path": a.path,
                    "extraction": a.extraction,
                }),
            )
            .with("text", a.text.clone().map_or(Value::Null, Value::String)),
        );
    }
    let index = kb_search::Article {
        id: aid.to_string(),
        kind: it.kind.to_string(),
        title: it.title.clone(),
        body,
        tags,
        category,
        space: space_key,
        author,
        updated_ms: updated.as_deref().and_then(parse_instant).unwrap_or(0),
        access: levels.to_index(),
    };
    Ok(Prepared {
        row,
        access_rows,
        index,
        levels,
        warnings,
        attachment_rows,
        id: aid.to_string(),
    })
}

/// [`prepare`] for each of `todo` (item, article id, levels, source hash), split over the
/// available cores; results in the order of `todo`.
fn prepare_all(
    cfg: &KmConfig,
    ctx: &Context,
    opts: &ImportOptions,
    todo: &[(Item, String, Levels, String, bool)],
    run_id: i64,
) -> Vec<Result<Prepared, String>> {
    let one = |(it, aid, levels, hash, _): &(Item, String, Levels, String, bool)| {
        prepare(
            cfg,
            ctx,
            opts,
            it,
            aid,
            levels.clone(),
            hash.clone(),
            run_id,
        )
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || todo.len() < 16 {
        return todo.iter().map(one).collect();
    }
    let per = todo.len().div_ceil(threads);
    std::thread::scope(|sc| {
        let handles: Vec<_> = todo
            .chunks(per)
            .map(|chunk| {
                (
                    chunk.len(),
                    sc.spawn(move || chunk.iter().map(one).collect::<Vec<_>>()),
                )
            })
            .collect();
        // One result per item, whatever happens to a thread.
        handles
            .into_iter()
            .flat_map(|(n, h)| match h.join() {
                Ok(v) => v,
                Err(_) => (0..n)
                    .map(|_| {
                        Err("its transformation panicked (a bug: please report it)".to_string())
                    })
                    .collect(),
            })
            .collect()
    })
}

/// Writes prepared articles: the index first (committed), then the store, so a run killed in
/// between rewrites them next time (their source hash is not stored yet).
async fn write(
    store: &Store,
    index: &mut SearchIndex,
    pending: &mut Vec<Prepared>,
) -> Result<(), KmError> {
    if pending.is_empty() {
        return Ok(());
    }
    let articles: Vec<kb_search::Article> = pending.iter().map(|p| p.index.clone()).collect();
    index.upsert(&articles)?;
    index.commit()?;
    let mut batch = Batch::new();
    for p in pending.drain(..) {
        batch.upsert(p.row);
        batch.replace_set(
            "km_access",
            Filter::all().eq("article_id", p.id.as_str()),
            p.access_rows,
        );
        batch.replace_set(
            "km_attachments",
            Filter::all().eq("article_id", p.id.as_str()),
            p.attachment_rows,
        );
    }
    store.commit(&batch).await?;
    Ok(())
}

/// Principals and memberships from the replica's groups, plus the configured roles.
async fn sync_principals(store: &Store, cfg: &KmConfig, log: &mut RunLog) -> Result<(), KmError> {
    let mut principals = Vec::new();
    let mut members = Vec::new();
    let mut by_name: HashMap<String, String> = HashMap::new();
    for r in store
        .select("groups", &["id", "name"], &Filter::all())
        .await?
    {
        let Some(id) = text(r.first()) else { continue };
        let name = text(r.get(1));
        if let Some(n) = &name {
            by_name.insert(n.clone(), id.clone());
        }
        principals.push(Row::new(
            "km_principals",
            json!({"id": format!("g:{id}"), "kind": "group", "name": name}),
        ));
    }
    let mut users: BTreeMap<String, Option<String>> = BTreeMap::new();
    for r in store
        .select(
            "group_members",
            &["group_id", "account_id", "display_name"],
            &Filter::all(),
        )
        .await?
    {
        let (Some(g), Some(a)) = (text(r.first()), text(r.get(1))) else {
            continue;
        };
        users.insert(a.clone(), text(r.get(2)));
        members.push(Row::new(
            "km_members",
            json!({"principal": format!("g:{g}"), "member": format!("u:{a}")}),
        ));
    }
    for (a, name) in users {
        principals.push(Row::new(
            "km_principals",
            json!({"id": format!("u:{a}"), "kind": "user", "name": name}),
        ));
    }
    principals.push(Row::new(
        "km_principals",
        json!({"id": crate::access::ANONYMOUS, "kind": "anonymous", "name": "anyone"}),
    ));
    for (role, groups) in &cfg.roles {
        principals.push(Row::new(
            "km_principals",
            json!({"id": format!("role:{role}"), "kind": "role", "name": role}),
        ));
        for g in groups {
            let id = match by_name.get(g) {
                Some(id) => id.clone(),
                None if by_name.values().any(|v| v == g) => g.clone(),
                None => {
                    log.warn(
                        &format!("role:{role}"),
                        &format!("group {g:?} is not in the replica: the role does not include it"),
                        "check the group's name in [km.roles], and that extract reads groups",
                    );
                    continue;
                }
            };
            members.push(Row::new(
                "km_members",
                json!({"principal": format!("role:{role}"), "member": format!("g:{id}")}),
            ));
        }
    }
    // Product access: which groups let their members use Confluence at all.
    let mut access = 0;
    for g in &cfg.product_access {
        let id = match by_name.get(g) {
            Some(id) => id.clone(),
            None if by_name.values().any(|v| v == g) => g.clone(),
            None => continue,
        };
        access += 1;
        members.push(Row::new(
            "km_members",
            json!({"principal": crate::access::PRODUCT_ACCESS, "member": format!("g:{id}")}),
        ));
    }
    if access == 0 {
        log.warn(
            crate::access::PRODUCT_ACCESS,
            &format!(
                "none of the product-access groups {:?} is in the replica: no user finds anything until one is",
                cfg.product_access
            ),
            "name the groups that give Confluence access in [km] product_access, and check that extract reads groups",
        );
    }
    let mut seen = BTreeSet::new();
    members.retain(|r| seen.insert(r.raw.to_string()));
    let mut batch = Batch::new();
    batch.replace_set("km_principals", Filter::all(), principals);
    batch.replace_set("km_members", Filter::all(), members);
    store.commit(&batch).await?;
    Ok(())
}
