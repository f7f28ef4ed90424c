//! Two-way sync between a Notion tree and a Confluence tree (`kbridge sync`).
//!
//! A *link* joins a Notion page's subtree with a Confluence page's subtree; its node pairs keep
//! the base both sides last agreed on and what each side showed when last seen. Each pass
//! ([`run_pass`]) finds what changed (one search and one CQL listing when nothing did), reads
//! only those pages, merges each against its base with [`kb_doc::merge`], and writes the side
//! that is behind: Notion by a minimal block patch that keeps block ids ([`patch`]), Confluence
//! as version + 1. A conflict is recorded with both versions and, under the default `manual`
//! policy, neither side is overwritten until [`resolve`]. Change signals from webhooks
//! ([`signals`]) are hints that a pass is due; the polls are the truth.
//!
//! No process-global state: everything a pass needs comes in its [`SyncContext`], so a daemon
//! can host several links.

mod pass;
pub mod patch;
pub mod signals;
pub mod state;
mod structure;

use std::collections::HashMap;

use kb_doc::Document;
use serde::Serialize;
use serde_json::Value;

pub use pass::{SyncContext, SyncReport, lift, run_pass};
pub use state::{Deletion, Link, LinkSpec, LinkState, Pair, PairState, Policy};

use crate::migrate::source::{NodeKind, walk};
use crate::migrate::transform::norm_id;
use state::doc_hash;

/// What stops a whole sync command (a single page's failure is in [`SyncReport::errors`]).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Notion(#[from] kb_notion::NotionError),
    #[error(transparent)]
    Confluence(#[from] kb_confluence::ConfluenceError),
    #[error(transparent)]
    Http(#[from] kb_http::HttpError),
    #[error(transparent)]
    Store(#[from] kb_store::StoreError),
    #[error("{0}")]
    Input(String),
    #[error("the sync state in the store is damaged: {0}")]
    Corrupt(String),
}

/// `kbridge sync init`.
#[derive(Clone, Debug)]
pub struct InitOptions {
    pub name: String,
    /// The Notion page (id or URL id) whose subtree is synced.
    pub notion_root: String,
    pub space_key: String,
    /// The Confluence page; `None`: the page an earlier migration paired with the Notion root.
    pub confluence_root: Option<String>,
    pub policy: Policy,
    pub utc_offset_minutes: i32,
    /// What a trash on one side does on the other (`trash` by default).
    pub deletion: Deletion,
    /// Both trees full and unpaired: pair them by title path (without it, `init` prints the
    /// plan and writes nothing).
    pub adopt: bool,
}

/// How `init` paired the two trees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartMode {
    /// From an earlier migration's pairs.
    #[default]
    Migration,
    /// One side held only its root: the passes copy the other side's pages into it.
    CopyToConfluence,
    CopyToNotion,
    /// Both full, paired by the path of titles below the roots.
    TitlePath,
}

/// One pair `init` found by title path.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedPair {
    pub path: String,
    pub notion_id: String,
    pub confluence_id: String,
}

/// What `init` found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct InitReport {
    pub link: String,
    pub confluence_root: String,
    /// Node pairs adopted from an earlier migration.
    pub adopted: usize,
    /// Notion pages of the tree without a Confluence counterpart (not synced until paired).
    pub unpaired: Vec<String>,
    /// Database rows and databases, which this version does not sync yet.
    pub skipped_databases: usize,
    pub mode: StartMode,
    /// Title-path pairing: the pairs found; with `written: false` nothing was stored.
    pub plan: Vec<PlannedPair>,
    /// Confluence pages of the tree without a Notion counterpart by title path.
    pub unpaired_confluence: Vec<String>,
    /// Whether the link was stored (false: a title-path plan shown without `--adopt`).
    pub written: bool,
}

/// The Confluence page an earlier migration paired with Notion page `nid` (either direction).
/// The Confluence page an earlier migration paired with Notion page `nid` (either direction):
/// `("notion", id, "confluence:SPACE", page)` from Notion → Confluence, `("confluence", page,
/// "notion:PARENT", id)` from Confluence → Notion (plain `confluence` / `notion` before the
/// systems were qualified).
fn paired_confluence(
    rows: &[(String, String, String, String)],
    nid: &str,
    space_key: &str,
) -> Option<String> {
    let into_space =
        |t: &str| t == "confluence" || t.strip_prefix("confluence:") == Some(space_key);
    let into_notion = |t: &str| t == "notion" || t.starts_with("notion:");
    rows.iter().find_map(|(ss, si, ts, ti)| {
        if ss == "notion" && into_space(ts) && norm_id(si).as_deref() == Some(nid) {
            Some(ti.clone())
        } else if ss == "confluence" && into_notion(ts) && norm_id(ti).as_deref() == Some(nid) {
            Some(si.clone())
        } else {
            None
        }
    })
}

/// Makes link `opts.name` from the pairs an earlier `kbridge migrate` (either direction) left
/// in the store: every page of the Notion tree that has a Confluence counterpart is paired,
/// each side's current content recorded as what it shows, the Notion side as the base. Writes
/// nothing to either service.
pub async fn init(
    cx: &SyncContext<'_>,
    opts: &InitOptions,
    now_ms: i64,
) -> Result<InitReport, SyncError> {
    if cx.store.sync_link(&opts.name).await?.is_some() {
        return Err(SyncError::Input(format!(
            "sync link \"{}\" exists already: pick another --name, or remove it with `kbridge sync remove {}`",
            opts.name, opts.name
        )));
    }
    let root = norm_id(&opts.notion_root).ok_or_else(|| {
        SyncError::Input(format!(
            "\"{}\" is not a Notion page id: give the 32-hex id from the page's URL",
            opts.notion_root
        ))
    })?;
    let space = cx
        .confluence
        .spaces_for_keys(&[opts.space_key.as_str()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| SyncError::Input(format!("no Confluence space {}", opts.space_key)))?;
    let space_id = kb_confluence::keys::id(&space).ok_or_else(|| {
        SyncError::Input(format!("Confluence space {} has no id", opts.space_key))
    })?;
    let id_map = cx.store.id_map_entries().await?;
    let confluence_root = match &opts.confluence_root {
        Some(c) if c.is_empty() || !c.chars().all(|ch| ch.is_ascii_digit()) => {
            return Err(SyncError::Input(format!(
                "\"{c}\" is not a Confluence page id: give the number from the page's URL (--confluence {}:123456)",
                opts.space_key
            )));
        }
        Some(c) => c.clone(),
        None => paired_confluence(&id_map, &root, &opts.space_key).ok_or_else(|| {
            SyncError::Input(format!(
                "Notion page {root} was not migrated to Confluence by this store: run `kbridge migrate notion-to-confluence --from {root} --space {}` (or the other direction) first, or give --confluence {}:PAGE_ID",
                opts.space_key, opts.space_key
            ))
        })?,
    };
    let link = Link {
        name: opts.name.clone(),
        spec: LinkSpec {
            notion_root: root.clone(),
            space_key: opts.space_key.clone(),
            space_id,
            confluence_root: confluence_root.clone(),
            policy: opts.policy,
            utc_offset_minutes: opts.utc_offset_minutes,
            deletion: opts.deletion,
            reconcile_minutes: state::RECONCILE_MINUTES,
        },
        state: LinkState::default(),
    };
    let mut report = InitReport {
        link: opts.name.clone(),
        confluence_root: confluence_root.clone(),
        ..Default::default()
    };
    // Each page's edit time, listed before the tree is read: an edit made while it is read
    // has a later time and is found by the first pass.
    let mut edited: HashMap<String, String> = HashMap::new();
    for v in cx
        .notion
        .pages_edited_since("1970-01-01T00:00:00.000Z")
        .await?
    {
        if let (Some(id), Some(t)) = (
            v.get("id").and_then(Value::as_str).and_then(norm_id),
            v.get("last_edited_time").and_then(Value::as_str),
        ) {
            edited.insert(id, t.to_string());
        }
    }
    let nodes = walk(cx.notion, &root).await?;
    let mut found: Vec<(usize, String)> = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        if n.kind != NodeKind::Page {
            report.skipped_databases += 1;
            continue;
        }
        let cid = if n.id == root {
            Some(confluence_root.clone())
        } else {
            paired_confluence(&id_map, &n.id, &opts.space_key)
        };
        match cid {
            Some(c) => found.push((i, c)),
            None => report.unpaired.push(n.id.clone()),
        }
    }
    // No migration pairs below the root: copy into an empty side, or pair by title path.
    if found.len() <= 1 {
        let conf = confluence_tree(cx, &confluence_root).await?;
        let notion_pages: Vec<usize> = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.kind == NodeKind::Page && n.id != root)
            .map(|(i, _)| i)
            .collect();
        match (notion_pages.is_empty(), conf.is_empty()) {
            (true, true) => {}
            (false, true) => {
                report.mode = StartMode::CopyToConfluence;
                report.unpaired.clear();
            }
            (true, false) => report.mode = StartMode::CopyToNotion,
            (false, false) => {
                report.mode = StartMode::TitlePath;
                report.unpaired.clear();
                found.retain(|(i, _)| nodes[*i].id == root);
                let notion_path = |mut i: usize| {
                    let mut parts = Vec::new();
                    while nodes[i].id != root {
                        parts.push(nodes[i].title.clone());
                        match nodes[i].parent {
                            Some(p) => i = p,
                            None => break,
                        }
                    }
                    parts.reverse();
                    parts.join(" / ")
                };
                let conf_path = |id: &str| {
                    let mut parts = Vec::new();
                    let mut cur = id.to_string();
                    while let Some((t, parent)) = conf.get(&cur) {
                        parts.push(t.clone());
                        match parent {
                            Some(p) if *p != confluence_root => cur = p.clone(),
                            _ => break,
                        }
                    }
                    parts.reverse();
                    parts.join(" / ")
                };
                let mut by_path: HashMap<String, Vec<String>> = HashMap::new();
                for id in conf.keys() {
                    by_path.entry(conf_path(id)).or_default().push(id.clone());
                }
                let mut taken = std::collections::HashSet::new();
                for &i in &notion_pages {
                    let path = notion_path(i);
                    match by_path.get(&path).map(Vec::as_slice) {
                        Some([cid]) => {
                            taken.insert(cid.clone());
                            report.plan.push(PlannedPair {
                                path,
                                notion_id: nodes[i].id.clone(),
                                confluence_id: cid.clone(),
                            });
                            found.push((i, cid.clone()));
                        }
                        _ => report.unpaired.push(nodes[i].id.clone()),
                    }
                }
                let mut rest: Vec<String> = conf
                    .keys()
                    .filter(|c| !taken.contains(*c))
                    .cloned()
                    .collect();
                rest.sort();
                report.unpaired_confluence = rest;
                report.plan.sort_by(|a, b| a.path.cmp(&b.path));
                if !opts.adopt {
                    return Ok(report);
                }
            }
        }
    }
    // Titles first: links in either body name pages by them.
    let mut conf_pages = HashMap::new();
    for (_, cid) in &found {
        conf_pages.insert(cid.clone(), cx.confluence.page_with_body(cid).await?);
    }
    let title_of = |cid: &str| -> Result<String, SyncError> {
        conf_pages
            .get(cid)
            .and_then(|p| kb_confluence::keys::title(p))
            .map(str::to_string)
            .ok_or_else(|| SyncError::Input(format!("Confluence page {cid} has no title")))
    };
    let mut notion_of_title = HashMap::new();
    for (i, cid) in &found {
        notion_of_title.insert(title_of(cid)?, nodes[*i].id.clone());
    }
    state::save_link(cx.store, &link).await?;
    report.written = true;
    for (i, cid) in &found {
        let n = &nodes[*i];
        let page = &conf_pages[cid];
        let storage = page
            .pointer("/body/storage/value")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                SyncError::Input(format!(
                    "Confluence page {cid} came without its storage body"
                ))
            })?;
        let mut cdoc = kb_doc::storage::read_reported(storage)
            .map_err(|e| SyncError::Input(format!("Confluence page {cid}: {e}")))?
            .document;
        pass::canonical_links(&mut cdoc, &opts.space_key, &notion_of_title);
        let ctitle = title_of(cid)?;
        let mut ndoc = n.doc.clone();
        pass::unsigned_files(&mut ndoc);
        let parent = |i: Option<usize>| i.map(|p| nodes[p].id.clone()).unwrap_or_default();
        let mut pair = Pair {
            notion_id: n.id.clone(),
            confluence_id: cid.clone(),
            state: PairState {
                title: n.title.clone(),
                notion_title: n.title.clone(),
                confluence_title: ctitle.clone(),
                notion_parent: parent(n.parent),
                confluence_parent: kb_confluence::keys::parent_id(page).unwrap_or_default(),
                notion_edited: edited.get(&n.id).cloned(),
                notion_read_at: edited
                    .contains_key(&n.id)
                    .then(|| kb_store::time::format_millis(now_ms)),
                notion_hash: doc_hash(&n.title, &ndoc)?,
                confluence_version: kb_confluence::keys::version_number(page).ok_or_else(|| {
                    SyncError::Input(format!("Confluence page {cid} has no version"))
                })?,
                confluence_hash: doc_hash(&ctitle, &cdoc)?,
                base_hash: doc_hash(&n.title, &ndoc)?,
                conflict: None,
                trashed: false,
                unlinked: None,
            },
            base: ndoc.clone(),
            notion_seen: ndoc,
            confluence_seen: cdoc,
        };
        // Copying: the full side's root shows as an edit of the empty side's, so the first
        // pass writes it over; its pages follow, a level a pass, as new pages.
        match report.mode {
            StartMode::CopyToConfluence => {
                pair.base = pair.confluence_seen.clone();
                pair.notion_seen = pair.confluence_seen.clone();
                pair.state.base_hash = pair.state.confluence_hash.clone();
                pair.state.notion_hash = String::new();
                pair.state.notion_edited = None;
            }
            StartMode::CopyToNotion => {
                pair.confluence_seen = pair.notion_seen.clone();
                pair.state.confluence_hash = String::new();
                pair.state.confluence_version = 0;
            }
            _ => {}
        }
        state::save_pair(cx.store, &opts.name, &pair).await?;
        report.adopted += 1;
    }
    // Changes from now on are the next pass's (copying: everything is).
    let mut link = link;
    if report.mode != StartMode::CopyToConfluence && report.mode != StartMode::CopyToNotion {
        link.state.notion_polled = Some(kb_store::time::format_millis(now_ms));
        link.state.confluence_polled = Some(now_ms);
    }
    link.state.reconciled = Some(now_ms);
    state::save_link_state(cx.store, &link).await?;
    Ok(report)
}

/// The Confluence pages below `root` (not `root` itself): id → (title, parent id).
async fn confluence_tree(
    cx: &SyncContext<'_>,
    root: &str,
) -> Result<HashMap<String, (String, Option<String>)>, SyncError> {
    let cql = format!("ancestor = {root} and type = page");
    let mut out = HashMap::new();
    for v in cx
        .confluence
        .content_search(&cql, &["ancestors"])?
        .all()
        .await?
    {
        let id = kb_confluence::keys::id(&v)
            .ok_or_else(|| SyncError::Input(format!("a CQL result without an id: {v}")))?;
        let title = kb_confluence::keys::title(&v)
            .ok_or_else(|| SyncError::Input(format!("Confluence page {id} has no title")))?
            .to_string();
        let parent = v
            .get("ancestors")
            .and_then(Value::as_array)
            .and_then(|a| a.last())
            .and_then(kb_confluence::keys::id);
        out.insert(id, (title, parent));
    }
    Ok(out)
}

/// A recorded conflict, for `sync conflicts`.
#[derive(Clone, Debug, Serialize)]
pub struct ConflictView {
    pub id: i64,
    pub link: String,
    pub notion_id: String,
    pub confluence_id: String,
    pub created_at: String,
    pub resolved: Option<String>,
    /// Markdown of the base and both versions.
    pub base: String,
    pub notion: String,
    pub confluence: String,
    pub titles: Value,
}

fn conflict_doc(detail: &Value, key: &str, id: i64) -> Result<Document, SyncError> {
    let text = detail
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| SyncError::Corrupt(format!("conflict {id} has no {key} version")))?;
    kb_doc::ir_json::read(text)
        .map_err(|e| SyncError::Corrupt(format!("conflict {id}: the {key} version: {e}")))
}

/// The conflicts of `link` (all links when `None`).
pub async fn conflicts(
    store: &kb_store::Store,
    link: Option<&str>,
    open_only: bool,
) -> Result<Vec<ConflictView>, SyncError> {
    let mut out = Vec::new();
    for c in store.sync_conflicts(link, open_only).await? {
        let md = |k: &str| -> Result<String, SyncError> {
            Ok(kb_doc::markdown::write(&conflict_doc(&c.detail, k, c.id)?))
        };
        out.push(ConflictView {
            id: c.id,
            link: c.link.clone(),
            notion_id: c.notion_id.clone(),
            confluence_id: c.confluence_id.clone(),
            created_at: c.created_at.clone(),
            resolved: c.resolution.clone(),
            base: md("base")?,
            notion: md("notion")?,
            confluence: md("confluence")?,
            titles: c.detail.get("title").cloned().unwrap_or(Value::Null),
        });
    }
    Ok(out)
}

/// How `sync resolve` settles a conflict.
#[derive(Clone, Debug)]
pub enum Take {
    Notion,
    Confluence,
    /// A document the operator wrote (Markdown).
    Document(Document),
}

/// Settles conflict `id`: the chosen version becomes the base and is written to both sides
/// (a side that shows it already is left alone), then the pair syncs again.
pub async fn resolve(
    cx: &SyncContext<'_>,
    id: i64,
    take: Take,
    now_ms: i64,
) -> Result<SyncReport, SyncError> {
    let c = cx
        .store
        .sync_conflicts(None, true)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| {
            SyncError::Input(format!(
                "there is no open conflict {id}: list them with `kbridge sync conflicts`"
            ))
        })?;
    let (doc, how) = match take {
        Take::Notion => (conflict_doc(&c.detail, "notion", id)?, "take notion"),
        Take::Confluence => (
            conflict_doc(&c.detail, "confluence", id)?,
            "take confluence",
        ),
        Take::Document(d) => (d, "take file"),
    };
    let link = state::load_link(cx.store, &c.link).await?;
    let mut pairs = state::load_pairs(cx.store, &c.link).await?;
    let p = pairs
        .iter_mut()
        .find(|p| p.notion_id == c.notion_id)
        .ok_or_else(|| {
            SyncError::Corrupt(format!(
                "conflict {id} names Notion page {}, which is not paired in link {}",
                c.notion_id, c.link
            ))
        })?;
    let mut report = pass::write_both(cx, &link, p, &doc, now_ms).await?;
    p.state.conflict = None;
    state::save_pair(cx.store, &link.name, p).await?;
    cx.store.resolve_sync_conflict(id, how).await?;
    report.link = link.name.clone();
    Ok(report)
}

/// Makes the next pass of link `name` a reconcile (complete listings, which find moves,
/// trashes and restores): for a webhook that says one happened.
pub async fn reconcile_soon(store: &kb_store::Store, name: &str) -> Result<(), SyncError> {
    let mut link = state::load_link(store, name).await?;
    if link.state.reconciled.is_some() {
        link.state.reconciled = None;
        state::save_link_state(store, &link).await?;
    }
    Ok(())
}

/// One line per link for `sync status`.
#[derive(Clone, Debug, Serialize)]
pub struct LinkStatus {
    pub name: String,
    pub notion_root: String,
    pub space_key: String,
    pub confluence_root: String,
    pub policy: Policy,
    pub pairs: usize,
    pub open_conflicts: usize,
    pub last_notion_poll: Option<String>,
    pub last_confluence_poll: Option<String>,
    pub passes: u64,
}

/// Every link's status.
pub async fn status(store: &kb_store::Store) -> Result<Vec<LinkStatus>, SyncError> {
    let mut out = Vec::new();
    for row in store.sync_links().await? {
        let link = state::load_link(store, &row.name).await?;
        let pairs = store.sync_pairs(&row.name).await?.len();
        let open = store.sync_conflicts(Some(&row.name), true).await?.len();
        out.push(LinkStatus {
            name: link.name.clone(),
            notion_root: link.spec.notion_root.clone(),
            space_key: link.spec.space_key.clone(),
            confluence_root: link.spec.confluence_root.clone(),
            policy: link.spec.policy,
            pairs,
            open_conflicts: open,
            last_notion_poll: link.state.notion_polled.clone(),
            last_confluence_poll: link
                .state
                .confluence_polled
                .map(kb_store::time::format_millis),
            passes: link.state.passes,
        });
    }
    Ok(out)
}
