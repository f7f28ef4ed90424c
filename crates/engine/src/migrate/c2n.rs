//! Confluence → Notion: the page tree of a space (or of one page) becomes nested Notion pages
//! under a Notion page, in the same order.
//!
//! Two phases. First every Notion page is created with its title only, parents first (Notion
//! links need page ids). Then each body is written through an append plan
//! ([`kb_doc::notion::plan`]) whose links to migrated pages name their Notion pages, and whose
//! images and files are the page's attachments, downloaded from Confluence and uploaded to
//! Notion. Links to pages outside the migrated set keep their Confluence URL.
//!
//! Per Confluence page the state in the store (a checkpoint of scope [`scope`], endpoint = the
//! Confluence id; and the id map) says how far it got: `creating` (a create was sent, its answer
//! may be lost: the page is found again among the parent's `child_page` blocks by its title,
//! titles being unique in a Confluence space), the Notion id, the hash of the plan last written
//! completely, `writing` (a body write started and did not finish: the page may hold part of
//! it, so it is cleared and written again), the uploads done for that write, and the top-level
//! blocks written (an update finds them unchanged, or reports a conflict). Each step commits
//! its state right after the write it records, so a re-run repeats at most the one write whose
//! answer was lost, and an unchanged source causes no write.

use std::collections::{BTreeMap, HashMap, HashSet};

use kb_confluence::{Confluence, ContentKind, ContentQuery};
use kb_doc::notion::{AppendPlan, AttachmentSource, BlockRef, PlanParent};
use kb_doc::visit::{VisitMut, visit_document};
use kb_doc::{Block, Document, ImageSource, Inline, LinkTarget};
use kb_notion::Notion;
use kb_store::{Batch, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::n2c::media_type;
use super::transform::norm_id;
use super::verify::{PageParity, ParityReport};
use super::{MigrateError, MigrateProgress, MigrateReport, PageOutcome, ProgressFn};

/// Options of a Confluence → Notion migration.
#[derive(Clone, Debug)]
pub struct ConfluenceToNotion {
    /// The Confluence space key: every current page of the space.
    pub space: Option<String>,
    /// One Confluence page id: that page and its descendants.
    pub page: Option<String>,
    /// The Notion page the tree goes under.
    pub to: String,
    /// Print the plan, write nothing.
    pub plan_only: bool,
    /// Overwrite Notion pages edited since kbridge wrote them (default: report them as
    /// conflicts and leave them alone).
    pub force: bool,
}

/// The store scope of the per-page state of migrations under a Notion page.
pub fn scope(to: &str) -> String {
    format!(
        "migrate:confluence-to-notion:{}",
        norm_id(to).unwrap_or_else(|| to.to_string())
    )
}

/// A page's migration state, as stored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NotionPageState {
    /// The title the Notion page was created with.
    pub title: String,
    /// The Notion page, once created: read from the id map (the one record of pairs), never
    /// written into the checkpoint (older stores had it there: read once, moved).
    #[serde(default, skip_serializing)]
    pub notion_id: Option<String>,
    /// True between sending a create and recording its answer.
    #[serde(default)]
    pub creating: bool,
    /// The hash of the plan last written completely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// The hash of a plan whose write started and did not finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writing: Option<String>,
    /// Requests of the `writing` plan done (for the report; a resumed write starts over).
    #[serde(default)]
    pub requests_done: usize,
    /// Uploads done for the `writing` plan: placeholder → Notion file upload id.
    #[serde(default)]
    pub uploads: BTreeMap<String, String>,
    /// The top-level blocks kbridge wrote (with `hash`).
    #[serde(default)]
    pub blocks: Vec<String>,
}

impl super::n2c::Paired for NotionPageState {
    fn target(&mut self) -> &mut Option<String> {
        &mut self.notion_id
    }
}

/// A page of a `--plan`.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedNotionPage {
    pub confluence_id: String,
    pub title: String,
    /// Levels below the root.
    pub depth: usize,
    /// Attachments uploaded for it.
    pub files: usize,
    /// Links to other migrated pages.
    pub links: usize,
    /// Requests of its append plan.
    pub appends: usize,
    /// The Notion page it is already migrated to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exists: Option<String>,
}

/// One Confluence page of the migrated tree.
#[derive(Clone, Debug)]
struct Node {
    id: String,
    title: String,
    parent: Option<usize>,
    depth: usize,
    body: String,
}

/// The Confluence side: the space, every page of it (for link targets) and the migrated tree.
struct Source {
    key: String,
    /// Title → page id, every current page of the space.
    by_title: HashMap<String, String>,
    nodes: Vec<Node>,
}

async fn read_source(conf: &Confluence, opts: &ConfluenceToNotion) -> Result<Source, MigrateError> {
    let (space_id, key) = match (&opts.space, &opts.page) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(MigrateError::Input(
                "give either --space KEY (a whole space) or --page ID (a page and its descendants)"
                    .into(),
            ));
        }
        (Some(k), None) => {
            let s = conf
                .spaces_for_keys(&[k.as_str()])
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    MigrateError::Input(format!(
                        "space {k} not found: check the key (it is in the space's URL, /wiki/spaces/KEY) and that the account can read it"
                    ))
                })?;
            let id = kb_confluence::keys::id(&s)
                .ok_or_else(|| MigrateError::Input(format!("space {k} has no id")))?;
            (id, k.clone())
        }
        (None, Some(p)) => {
            let page = conf.page_with_body(p).await.map_err(|e| {
                MigrateError::Input(format!(
                    "Confluence page {p} cannot be read ({e}): give the id of a current page the account can read with --page"
                ))
            })?;
            let sid = kb_confluence::keys::space_id(&page)
                .ok_or_else(|| MigrateError::Input(format!("page {p} has no space")))?;
            let space = conf.space(&sid).await?;
            let key = space
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            (sid, key)
        }
    };
    let q = ContentQuery::default().statuses(&["current"]).with_body();
    let listed = conf.space_pages(&space_id, &q)?.all().await?;
    struct P {
        title: String,
        parent: Option<String>,
        position: i64,
        body: String,
    }
    let mut pages: HashMap<String, P> = HashMap::new();
    for p in &listed {
        let Some(id) = kb_confluence::keys::id(p) else {
            continue;
        };
        pages.insert(
            id,
            P {
                title: kb_confluence::keys::title(p).unwrap_or("").to_string(),
                parent: kb_confluence::keys::parent_id(p),
                position: p.get("position").and_then(Value::as_i64).unwrap_or(0),
                body: p
                    .pointer("/body/storage/value")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            },
        );
    }
    let mut kids: HashMap<Option<&str>, Vec<&str>> = HashMap::new();
    for (id, p) in &pages {
        let parent = p
            .parent
            .as_deref()
            .filter(|pid| pages.contains_key(*pid) && *pid != id.as_str());
        kids.entry(parent).or_default().push(id.as_str());
    }
    for v in kids.values_mut() {
        v.sort_by_key(|id| (pages[*id].position, id.parse::<u64>().unwrap_or(u64::MAX)));
    }
    let roots: Vec<&str> = match &opts.page {
        Some(p) => {
            if !pages.contains_key(p.as_str()) {
                return Err(MigrateError::Input(format!(
                    "page {p} is not a current page of space {key}: give a current page with --page"
                )));
            }
            vec![p.as_str()]
        }
        None => kids.get(&None).cloned().unwrap_or_default(),
    };
    // Depth first, children in position order: parents before children.
    let mut nodes: Vec<Node> = Vec::new();
    let mut stack: Vec<(&str, Option<usize>, usize)> =
        roots.iter().rev().map(|r| (*r, None, 0)).collect();
    let mut seen: HashSet<&str> = HashSet::new();
    while let Some((id, parent, depth)) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let p = &pages[id];
        let at = nodes.len();
        nodes.push(Node {
            id: id.to_string(),
            title: p.title.clone(),
            parent,
            depth,
            body: p.body.clone(),
        });
        if let Some(k) = kids.get(&Some(id)) {
            for c in k.iter().rev() {
                stack.push((c, Some(at), depth + 1));
            }
        }
    }
    let by_title = pages
        .iter()
        .map(|(id, p)| (p.title.clone(), id.clone()))
        .collect();
    Ok(Source {
        key,
        by_title,
        nodes,
    })
}

async fn save(
    store: &Store,
    scope: &str,
    conf_id: &str,
    state: &NotionPageState,
) -> Result<(), MigrateError> {
    let mut b = Batch::new();
    b.set_checkpoint(
        scope,
        conf_id,
        serde_json::to_value(state).unwrap_or(Value::Null),
    );
    if let Some(t) = &state.notion_id {
        b.map_id(super::n2c::pair_entry(
            scope,
            conf_id,
            t,
            state.hash.as_deref(),
        ));
    }
    store.commit(&b).await?;
    Ok(())
}

/// The Notion title of a Confluence page (Notion titles have no length limit worth meeting
/// here; an empty one would make the page unfindable by title).
fn notion_title(t: &str) -> String {
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() { "Untitled".into() } else { t }
}

/// A page's document resolved for Notion: what [`resolve`] found.
#[derive(Clone, Debug, Default)]
struct Resolved {
    /// Confluence ids of the migrated pages it links to (once per link).
    internal_links: Vec<String>,
    /// Links to pages outside the migrated set, kept as Confluence URLs.
    external_links: usize,
}

/// Resolves page links of `doc`: to the Notion page of a migrated page (`notion_of`:
/// Confluence id → Notion id), else to the page's Confluence URL.
fn resolve(
    doc: &mut Document,
    src: &Source,
    notion_of: &HashMap<String, String>,
    wiki: &str,
) -> Resolved {
    struct V<'a> {
        src: &'a Source,
        notion_of: &'a HashMap<String, String>,
        wiki: &'a str,
        out: Resolved,
    }
    impl VisitMut for V<'_> {
        fn inline(&mut self, i: &mut Inline) {
            let Inline::Link(l) = i else {
                return;
            };
            let LinkTarget::Page {
                title,
                space_key,
                id,
                ..
            } = &l.target
            else {
                return;
            };
            let here = space_key.as_deref().is_none_or(|k| k == self.src.key);
            let conf_id = id
                .clone()
                .filter(|i| i.chars().all(|c| c.is_ascii_digit()))
                .or_else(|| {
                    title
                        .as_ref()
                        .filter(|_| here)
                        .and_then(|t| self.src.by_title.get(t).cloned())
                });
            let title = title.clone();
            if let Some(cid) = &conf_id
                && let Some(nid) = self.notion_of.get(cid)
            {
                if l.content.is_empty()
                    && let Some(t) = &title
                {
                    l.content = vec![Inline::text(t.clone())];
                }
                l.target = LinkTarget::Page {
                    title,
                    space_key: None,
                    id: Some(nid.clone()),
                    attrs: Default::default(),
                };
                self.out.internal_links.push(cid.clone());
                return;
            }
            let key = space_key.clone().unwrap_or_else(|| self.src.key.clone());
            let url = match &conf_id {
                Some(cid) => format!("{}/spaces/{key}/pages/{cid}", self.wiki),
                None => display_url(self.wiki, &key, title.as_deref().unwrap_or("")),
            };
            if l.content.is_empty()
                && let Some(t) = &title
            {
                l.content = vec![Inline::text(t.clone())];
            }
            l.target = LinkTarget::Url { url };
            self.out.external_links += 1;
        }
    }
    let mut v = V {
        src,
        notion_of,
        wiki,
        out: Resolved::default(),
    };
    visit_document(doc, &mut v);
    v.out
}

/// The Confluence attachment an [`AttachmentSource`] names, as (container page id, file name).
fn attachment_key(source: &AttachmentSource, page: &str, src: &Source) -> Option<(String, String)> {
    let AttachmentSource::Attachment {
        filename,
        container,
    } = source
    else {
        return None;
    };
    Some((owner_of(container.as_ref(), page, src)?, filename.clone()))
}

/// The page of the space holding an attachment: `page` itself, or the container page.
fn owner_of(container: Option<&LinkTarget>, page: &str, src: &Source) -> Option<String> {
    match container {
        None => Some(page.to_string()),
        Some(LinkTarget::Page {
            title: Some(t),
            space_key,
            ..
        }) if space_key.as_deref().is_none_or(|k| k == src.key) => src.by_title.get(t).cloned(),
        _ => None,
    }
}

/// A page's document for Notion and its plan (parent: its Notion page, or a stand-in when it
/// has none yet, for `--plan`).
///
/// A body that cannot be read is an error naming the page and the place, never an empty page.
fn prepare(
    node: &Node,
    src: &Source,
    notion_of: &HashMap<String, String>,
    wiki: &str,
) -> Result<(Document, AppendPlan, Resolved, Vec<String>), MigrateError> {
    let read = kb_doc::storage::read_reported(&node.body).map_err(|e| {
        MigrateError::Input(format!(
            "its Confluence body cannot be read ({e}); fix the page in Confluence (or report the body to kbridge) and run again: it was not migrated"
        ))
    })?;
    let recoveries: Vec<String> = read
        .recoveries
        .iter()
        .map(|r| format!("page \"{}\" (Confluence {}): {r}", node.title, node.id))
        .collect();
    let mut doc = read.document;
    let resolved = resolve(&mut doc, src, notion_of, wiki);
    let page_id = notion_of
        .get(&node.id)
        .cloned()
        .unwrap_or_else(|| "00000000000000000000000000000000".into());
    let plan = kb_doc::notion::plan(&doc, PlanParent::PageId { page_id });
    Ok((doc, plan, resolved, recoveries))
}

fn plan_hash(title: &str, plan: &AppendPlan) -> String {
    let mut h = Sha256::new();
    h.update(title.as_bytes());
    h.update([0]);
    h.update(serde_json::to_vec(&plan.requests).unwrap_or_default());
    hex::encode(h.finalize())
}

/// The site's `/wiki` URL without its trailing slash, for links to pages left behind.
fn wiki_base(conf: &Confluence) -> String {
    conf.site()
        .wiki()
        .as_str()
        .trim_end_matches('/')
        .to_string()
}

/// Runs the migration (or only plans it), recorded in the store's `runs` (not a plan) with
/// its own request counts.
pub async fn run(
    store: &Store,
    notion: &Notion,
    conf: &Confluence,
    opts: &ConfluenceToNotion,
    progress: Option<ProgressFn>,
) -> Result<MigrateReport, MigrateError> {
    super::recorded(
        store,
        "migrate confluence-to-notion",
        notion,
        conf,
        opts.plan_only,
        run_job(store, notion, conf, opts, progress),
    )
    .await
}

async fn run_job(
    store: &Store,
    notion: &Notion,
    conf: &Confluence,
    opts: &ConfluenceToNotion,
    progress: Option<ProgressFn>,
) -> Result<MigrateReport, MigrateError> {
    let say = |p: MigrateProgress| {
        if let Some(f) = &progress {
            f(&p)
        }
    };
    let to = check_to(notion, &opts.to).await?;
    say(MigrateProgress::Reading);
    let src = read_source(conf, opts).await?;
    say(MigrateProgress::Read {
        pages: src.nodes.len(),
    });
    let scope = scope(&to);
    let mut states: HashMap<String, NotionPageState> =
        super::n2c::load_states(store, &scope).await?;
    let wiki = wiki_base(conf);
    let mut report = MigrateReport {
        pages: src.nodes.len(),
        ..Default::default()
    };

    if opts.plan_only {
        let notion_of = notion_ids(&src, &states, true);
        let mut est: BTreeMap<String, u64> = BTreeMap::new();
        for node in &src.nodes {
            let (_, plan, resolved) = match prepare(node, &src, &notion_of, &wiki) {
                Ok((d, p, r, recovered)) => {
                    report.recoveries.extend(recovered);
                    (d, p, r)
                }
                Err(e) => {
                    report.errors.push(format!(
                        "page \"{}\" (Confluence {}): {e}",
                        node.title, node.id
                    ));
                    continue;
                }
            };
            for f in &plan.fallbacks {
                *report.fallbacks.entry(f.node.clone()).or_default() += 1;
            }
            let exists = states.get(&node.id).and_then(|s| s.notion_id.clone());
            let found: Vec<(String, String)> = plan
                .attachments
                .iter()
                .filter_map(|a| attachment_key(&a.source, &node.id, &src))
                .collect();
            let files = found.len();
            let done = states.get(&node.id).and_then(|s| s.hash.clone())
                == Some(plan_hash(&notion_title(&node.title), &plan));
            if exists.is_none() {
                *est.entry("notion_create_page".into()).or_default() += 1;
            }
            if !done {
                *est.entry("notion_append".into()).or_default() += plan.requests.len() as u64;
                *est.entry("notion_upload".into()).or_default() += 2 * files as u64;
                if !found.is_empty() {
                    let owners: HashSet<&String> = found.iter().map(|(o, _)| o).collect();
                    *est.entry("confluence_attachment_list".into()).or_default() +=
                        owners.len() as u64;
                }
                *est.entry("confluence_download".into()).or_default() += files as u64;
            }
            report.links += resolved.internal_links.len();
            report.external_links += resolved.external_links;
            report.notion_plan.push(PlannedNotionPage {
                confluence_id: node.id.clone(),
                title: notion_title(&node.title),
                depth: node.depth,
                files,
                links: resolved.internal_links.len(),
                appends: plan.requests.len(),
                exists,
            });
        }
        report.estimated_requests = est;
        return Ok(report);
    }

    // Phase 1: every page exists in Notion, parents first.
    let mut children_of: HashMap<String, Vec<kb_doc::notion::model::Block>> = HashMap::new();
    for node in &src.nodes {
        let parent = match node.parent {
            Some(p) => match states
                .get(&src.nodes[p].id)
                .and_then(|s| s.notion_id.clone())
            {
                Some(id) => id,
                None => {
                    report.errors.push(format!(
                        "page \"{}\" (Confluence {}): skipped because its parent page was not created",
                        node.title, node.id
                    ));
                    continue;
                }
            },
            None => to.clone(),
        };
        let mut state = states.remove(&node.id).unwrap_or_default();
        let r = create(
            store,
            notion,
            &scope,
            node,
            &parent,
            &mut state,
            &states,
            &mut children_of,
            &mut report,
        )
        .await;
        if let Err(e) = r {
            report.errors.push(format!(
                "page \"{}\" (Confluence {}): {e}",
                node.title, node.id
            ));
        }
        states.insert(node.id.clone(), state);
    }

    // Phase 2: bodies, with links resolved to the Notion pages.
    let notion_of = notion_ids(&src, &states, false);
    let mut attachment_lists: HashMap<String, Vec<Value>> = HashMap::new();
    for node in &src.nodes {
        let Some(mut state) = states.remove(&node.id) else {
            continue;
        };
        if state.notion_id.is_none() {
            states.insert(node.id.clone(), state);
            continue;
        }
        let job = BodyJob {
            store,
            notion,
            conf,
            scope: &scope,
            src: &src,
            node,
            notion_of: &notion_of,
            wiki: &wiki,
            force: opts.force,
        };
        match job
            .run(&mut state, &mut attachment_lists, &mut report)
            .await
        {
            Ok(outcome) => say(MigrateProgress::Page {
                title: node.title.clone(),
                outcome,
            }),
            Err(e) => report.errors.push(format!(
                "page \"{}\" (Confluence {}): {e}",
                node.title, node.id
            )),
        }
        states.insert(node.id.clone(), state);
    }
    report.ids = src
        .nodes
        .iter()
        .filter_map(|n| Some((n.id.clone(), states.get(&n.id)?.notion_id.clone()?)))
        .collect();
    Ok(report)
}

/// The Notion page `--to` names, normalised, once it is known to be readable.
async fn check_to(notion: &Notion, to: &str) -> Result<String, MigrateError> {
    let id = super::transform::notion_url_id(to)
        .or_else(|| norm_id(to))
        .ok_or_else(|| {
            MigrateError::Input(format!(
                "--to {to:?} is not a Notion page id: give the 32-character id or the page's URL"
            ))
        })?;
    notion.page(&id).await.map_err(|e| {
        MigrateError::Input(format!(
            "--to {to}: the Notion page cannot be read ({e}): give a page the integration can see (share the page with the integration in Notion)"
        ))
    })?;
    Ok(id)
}

/// Confluence id → Notion id of every page migrated (with stand-ins for pages not created yet
/// when `placeholders`, so a plan counts their links).
fn notion_ids(
    src: &Source,
    states: &HashMap<String, NotionPageState>,
    placeholders: bool,
) -> HashMap<String, String> {
    src.nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let id = states.get(&n.id).and_then(|s| s.notion_id.clone());
            let id = id.or_else(|| placeholders.then(|| format!("{:032x}", i + 1)))?;
            Some((n.id.clone(), norm_id(&id).unwrap_or(id)))
        })
        .collect()
}

/// The Notion page of `node`: created (title only) unless the state has it, or found again
/// after a create whose answer was lost.
#[allow(clippy::too_many_arguments)]
async fn create(
    store: &Store,
    notion: &Notion,
    scope: &str,
    node: &Node,
    parent: &str,
    state: &mut NotionPageState,
    others: &HashMap<String, NotionPageState>,
    children_of: &mut HashMap<String, Vec<kb_doc::notion::model::Block>>,
    report: &mut MigrateReport,
) -> Result<(), MigrateError> {
    if state.notion_id.is_some() {
        return Ok(());
    }
    let title = notion_title(&node.title);
    let claimed: HashSet<String> = others
        .values()
        .filter_map(|s| s.notion_id.as_deref().and_then(norm_id))
        .collect();
    if state.creating
        && let Some(found) = find_child(notion, parent, &state.title, &claimed, children_of).await?
    {
        state.notion_id = Some(found);
        state.creating = false;
        save(store, scope, &node.id, state).await?;
        report.adopted += 1;
        return Ok(());
    }
    state.title = title.clone();
    state.creating = true;
    save(store, scope, &node.id, state).await?;
    let created = notion
        .create_page(
            json!({"page_id": kb_notion::dashed(parent)}),
            json!({"title": {"title": [{"type": "text", "text": {"content": title}}]}}),
            Vec::new(),
        )
        .await;
    let id = match created {
        Ok(p) => norm_id(&p.id).unwrap_or(p.id),
        // The request may have reached Notion: the page is among the parent's children, or
        // it was not created.
        Err(e) if e.status().is_none_or(|s| s >= 500) => {
            children_of.remove(parent);
            match find_child(notion, parent, &title, &claimed, children_of).await? {
                Some(found) => {
                    report.adopted += 1;
                    found
                }
                None => return Err(e.into()),
            }
        }
        Err(e) => return Err(e.into()),
    };
    children_of.remove(parent);
    state.notion_id = Some(id);
    state.creating = false;
    save(store, scope, &node.id, state).await?;
    report.created += 1;
    report.writes += 1;
    Ok(())
}

/// A `child_page` of `parent` titled `title` that no other page's state claims.
async fn find_child(
    notion: &Notion,
    parent: &str,
    title: &str,
    claimed: &HashSet<String>,
    children_of: &mut HashMap<String, Vec<kb_doc::notion::model::Block>>,
) -> Result<Option<String>, MigrateError> {
    if !children_of.contains_key(parent) {
        let kids = notion.children(parent).await?;
        children_of.insert(parent.to_string(), kids);
    }
    Ok(children_of[parent]
        .iter()
        .filter(|b| b.kind == "child_page" && !b.in_trash)
        .filter(|b| b.data.as_ref().and_then(|d| d.title.as_deref()) == Some(title))
        .filter_map(|b| b.id.as_deref().and_then(norm_id))
        .find(|id| !claimed.contains(id)))
}

struct BodyJob<'a> {
    store: &'a Store,
    notion: &'a Notion,
    conf: &'a Confluence,
    scope: &'a str,
    src: &'a Source,
    node: &'a Node,
    notion_of: &'a HashMap<String, String>,
    wiki: &'a str,
    force: bool,
}

impl BodyJob<'_> {
    async fn run(
        &self,
        state: &mut NotionPageState,
        attachment_lists: &mut HashMap<String, Vec<Value>>,
        report: &mut MigrateReport,
    ) -> Result<PageOutcome, MigrateError> {
        let page_id = state.notion_id.clone().unwrap_or_default();
        let (_, plan, resolved, recovered) =
            prepare(self.node, self.src, self.notion_of, self.wiki)?;
        report.recoveries.extend(recovered);
        for f in &plan.fallbacks {
            *report.fallbacks.entry(f.node.clone()).or_default() += 1;
        }
        report.links += resolved.internal_links.len();
        report.external_links += resolved.external_links;
        let title = notion_title(&self.node.title);
        let hash = plan_hash(&title, &plan);
        if state.hash.as_deref() == Some(hash.as_str()) && state.writing.is_none() {
            return Ok(PageOutcome::Unchanged);
        }
        if state.title != title {
            // Renamed in Confluence: the same Notion page takes the new title.
            self.notion
                .update_page(
                    &page_id,
                    json!({"properties": {"title": {"title": [{"type": "text", "text": {"content": title}}]}}}),
                )
                .await?;
            report.writes += 1;
            state.title = title;
            save(self.store, self.scope, &self.node.id, state).await?;
        }
        let first = state.hash.is_none() && state.writing.is_none();
        if !first {
            // The page holds an earlier body (or part of one): it goes, unless someone
            // changed it since kbridge wrote it.
            let kids = self.notion.children(&page_id).await?;
            let body: Vec<String> = kids
                .iter()
                .filter(|b| b.kind != "child_page" && b.kind != "child_database")
                .filter_map(|b| b.id.as_deref().and_then(norm_id))
                .collect();
            if state.writing.is_none() && !self.force {
                let ours: Vec<String> = state.blocks.iter().filter_map(|b| norm_id(b)).collect();
                if body != ours {
                    report.conflicts.push(format!(
                        "Notion page {page_id} (\"{}\") was edited in Notion since kbridge wrote it: left alone; re-run with --force to overwrite",
                        state.title
                    ));
                    return Ok(PageOutcome::Conflict);
                }
            }
            if state.writing.as_deref() != Some(hash.as_str()) {
                state.uploads.clear();
            }
            state.writing = Some(hash.clone());
            state.requests_done = 0;
            state.blocks.clear();
            save(self.store, self.scope, &self.node.id, state).await?;
            for b in &body {
                self.notion.delete_block(b).await?;
                report.writes += 1;
            }
        } else {
            state.writing = Some(hash.clone());
            save(self.store, self.scope, &self.node.id, state).await?;
        }

        // Uploads: each attachment the plan uses, once per write.
        let mut uploads: HashMap<String, String> = HashMap::new();
        for a in &plan.attachments {
            if let Some(id) = state.uploads.get(&a.placeholder) {
                uploads.insert(a.placeholder.clone(), id.clone());
                continue;
            }
            let Some((owner, filename)) = attachment_key(&a.source, &self.node.id, self.src) else {
                return Err(MigrateError::File {
                    name: a.placeholder.clone(),
                    page: self.node.title.clone(),
                    message: "the attachment is not on a page of this space: attach it to the page in Confluence, or link to it".into(),
                });
            };
            if !attachment_lists.contains_key(&owner) {
                let list = self
                    .conf
                    .content_attachments(ContentKind::Page, &owner)?
                    .all()
                    .await?;
                attachment_lists.insert(owner.clone(), list);
            }
            let Some(att) = attachment_lists[&owner]
                .iter()
                .find(|x| kb_confluence::keys::title(x) == Some(filename.as_str()))
            else {
                return Err(MigrateError::File {
                    name: filename.clone(),
                    page: self.node.title.clone(),
                    message: format!(
                        "page {owner} has no attachment of that name: attach it in Confluence or remove the reference"
                    ),
                });
            };
            let file_error = |message: String| MigrateError::File {
                name: filename.clone(),
                page: self.node.title.clone(),
                message,
            };
            let link = att
                .get("downloadLink")
                .and_then(Value::as_str)
                .ok_or_else(|| file_error("Confluence listed the attachment without a downloadLink: check that the account may download it".into()))?;
            let bytes = self.fetch_file(att, link, &filename).await?;
            let media = att
                .get("mediaType")
                .and_then(Value::as_str)
                .unwrap_or_else(|| media_type(&filename));
            let id = self
                .notion
                .upload(&filename, media, &bytes)
                .await
                .map_err(|e| MigrateError::File {
                    name: filename.clone(),
                    page: self.node.title.clone(),
                    message: e.to_string(),
                })?;
            report.writes += 2;
            report.files += 1;
            state.uploads.insert(a.placeholder.clone(), id.clone());
            save(self.store, self.scope, &self.node.id, state).await?;
            uploads.insert(a.placeholder.clone(), id);
        }

        let mut progress = kb_notion::PlanProgress::default();
        let outcome = match self
            .notion
            .execute_plan_resumable(&plan, None, &uploads, &mut progress, &mut |_| true)
            .await
        {
            Ok(o) => o,
            Err(e) => {
                // The next attempt clears the page and uploads again: an upload not attached
                // within the hour expires.
                report.writes += progress.done();
                state.uploads.clear();
                save(self.store, self.scope, &self.node.id, state).await?;
                return Err(e.into());
            }
        };
        report.writes += outcome.requests;
        state.blocks = plan
            .requests
            .iter()
            .zip(&progress.created)
            .filter(|(r, _)| r.target == BlockRef::Parent)
            .flat_map(|(_, c)| c.clone().unwrap_or_default())
            .filter_map(|b| norm_id(&b))
            .collect();
        state.requests_done = progress.done();
        state.hash = Some(hash);
        state.writing = None;
        state.uploads.clear();
        save(self.store, self.scope, &self.node.id, state).await?;
        if first {
            Ok(PageOutcome::Created)
        } else {
            report.updated += 1;
            Ok(PageOutcome::Updated)
        }
    }
}

impl BodyJob<'_> {
    /// Streams an attachment's file into a temporary file (flat memory, a timeout on progress,
    /// hashed on the way) and reads it back only when Notion can take it in one upload; a
    /// larger file fails this page (named, with the limit), not the migration.
    async fn fetch_file(
        &self,
        att: &Value,
        link: &str,
        filename: &str,
    ) -> Result<Vec<u8>, MigrateError> {
        let fail = |message: String| MigrateError::File {
            name: filename.to_string(),
            page: self.node.title.clone(),
            message,
        };
        let id = kb_confluence::keys::id(att)
            .ok_or_else(|| fail("the attachment has no id in its listing".into()))?;
        let req = self
            .conf
            .download_request(link, &id)
            .map_err(|e| fail(e.to_string()))?;
        let tmp = tempfile::tempdir().map_err(|e| {
            fail(format!(
                "cannot create a temporary folder for the download: {e}"
            ))
        })?;
        let opts = kb_http::DownloadOptions {
            dir: tmp.path(),
            progress_timeout: crate::extract::PROGRESS_TIMEOUT,
        };
        let got = self
            .conf
            .http()
            .download(&req, opts, &|_| {})
            .await
            .map_err(|e| fail(e.to_string()))?;
        if got.bytes > kb_notion::MAX_SINGLE_PART as u64 {
            return Err(fail(format!(
                "attachment {id} has {} bytes; Notion takes at most {} bytes in one upload: \
                 link to the file instead of embedding it",
                got.bytes,
                kb_notion::MAX_SINGLE_PART
            )));
        }
        std::fs::read(got.file.path())
            .map_err(|e| fail(format!("cannot read the downloaded file back: {e}")))
    }
}

/// `kbridge verify confluence-to-notion`: re-reads the Confluence tree and the Notion pages
/// the migration state points to, and compares per page presence, text and structure (both
/// sides normalised through the IR, as far as the Notion writer can say it), links (each link
/// to a migrated page reaches that page's Notion page) and files (the page's hosted files have
/// the sizes of the Confluence attachments it uses).
pub async fn verify(
    store: &Store,
    notion: &Notion,
    conf: &Confluence,
    opts: &ConfluenceToNotion,
) -> Result<ParityReport, MigrateError> {
    super::recorded_verify(
        store,
        "verify confluence-to-notion",
        notion,
        conf,
        verify_job(store, notion, conf, opts),
    )
    .await
}

async fn verify_job(
    store: &Store,
    notion: &Notion,
    conf: &Confluence,
    opts: &ConfluenceToNotion,
) -> Result<ParityReport, MigrateError> {
    let to = check_to(notion, &opts.to).await?;
    let src = read_source(conf, opts).await?;
    let states: HashMap<String, NotionPageState> =
        super::n2c::load_states(store, &scope(&to)).await?;
    let notion_of = notion_ids(&src, &states, false);
    let wiki = wiki_base(conf);
    let mut attachment_lists: HashMap<String, Vec<Value>> = HashMap::new();
    let mut pages = Vec::with_capacity(src.nodes.len());
    for node in &src.nodes {
        let target = notion_of.get(&node.id).cloned();
        let (doc, plan, resolved) = match prepare(node, &src, &notion_of, &wiki) {
            Ok((d, p, r, _)) => (d, p, r),
            Err(e) => {
                pages.push(PageParity {
                    notion_id: target.clone().unwrap_or_default(),
                    kind: super::NodeKind::Page,
                    title: node.title.clone(),
                    confluence_id: Some(node.id.clone()),
                    present: false,
                    text: false,
                    structure: false,
                    links: 0,
                    links_resolved: 0,
                    files: 0,
                    files_attached: 0,
                    problems: vec![e.to_string()],
                });
                continue;
            }
        };
        let mut p = PageParity {
            notion_id: target.clone().unwrap_or_default(),
            kind: super::NodeKind::Page,
            title: node.title.clone(),
            confluence_id: Some(node.id.clone()),
            present: false,
            text: false,
            structure: false,
            links: resolved.internal_links.len(),
            links_resolved: 0,
            files: plan.attachments.len(),
            files_attached: 0,
            problems: Vec::new(),
        };
        let Some(id) = target else {
            p.problems
                .push("not migrated (no Notion page in the migration state)".into());
            pages.push(p);
            continue;
        };
        let tree = match notion.block_tree(&id).await {
            Ok(t) => t,
            Err(e) => {
                p.problems
                    .push(format!("Notion page {id} cannot be read: {e}"));
                pages.push(p);
                continue;
            }
        };
        p.present = true;
        let body: Vec<kb_doc::notion::model::Block> = tree
            .into_iter()
            .filter(|b| b.kind != "child_page" && b.kind != "child_database")
            .collect();
        let mut actual = kb_doc::notion::read_blocks(&body);
        let mut expected = kb_doc::notion::read_blocks(&kb_doc::notion::blocks(&doc).blocks);
        let found_links = notion_links(&actual);
        let hosted = hosted_urls(&body);
        blank_sources(&mut actual);
        blank_sources(&mut expected);
        p.compare(&actual, &expected);
        // And against the source itself, read independently of kb-doc: lost words differ.
        match super::words::storage_words(&node.body, false) {
            Ok(source) => {
                let lost =
                    super::words::missing(&source, &super::words::notion_words(&body, false));
                if let Some(problem) = super::words::problem(&lost) {
                    p.text = false;
                    p.problems.push(problem);
                }
            }
            Err(e) => {
                p.text = false;
                p.problems
                    .push(format!("the Confluence body cannot be read: {e}"));
            }
        }
        let mut found = found_links;
        for cid in &resolved.internal_links {
            let want = &notion_of[cid];
            p.link(&mut found, want, true, || {
                format!("link to Confluence page {cid} does not reach its Notion page {want}")
            });
        }
        // Files: the sizes of the hosted files against those of the attachments used.
        let mut sizes: Vec<u64> = Vec::new();
        for url in &hosted {
            match notion.download(url).await {
                Ok(b) => sizes.push(b.len() as u64),
                Err(e) => p
                    .problems
                    .push(format!("a file of the Notion page cannot be read: {e}")),
            }
        }
        for a in &plan.attachments {
            let Some((owner, filename)) = attachment_key(&a.source, &node.id, &src) else {
                p.problems.push(format!(
                    "{}: not an attachment of this space",
                    a.placeholder
                ));
                continue;
            };
            if !attachment_lists.contains_key(&owner) {
                let list = conf
                    .content_attachments(ContentKind::Page, &owner)?
                    .all()
                    .await?;
                attachment_lists.insert(owner.clone(), list);
            }
            let size = attachment_lists[&owner]
                .iter()
                .find(|x| kb_confluence::keys::title(x) == Some(filename.as_str()))
                .and_then(|x| x.get("fileSize").and_then(Value::as_u64));
            match size.and_then(|s| sizes.iter().position(|x| *x == s)) {
                Some(i) => {
                    sizes.swap_remove(i);
                    p.files_attached += 1;
                }
                None => p.problems.push(format!(
                    "file {filename} is not on the Notion page with its {} bytes",
                    size.map_or("unknown".into(), |s| s.to_string())
                )),
            }
        }
        pages.push(p);
    }
    Ok(ParityReport::of(pages))
}

/// The Notion page ids links and mentions of `doc` reach (normalised; once per link).
fn notion_links(doc: &Document) -> Vec<String> {
    struct V(Vec<String>);
    impl VisitMut for V {
        fn inline(&mut self, i: &mut Inline) {
            if let Inline::Link(l) = i {
                let id = match &l.target {
                    LinkTarget::Page { id: Some(id), .. } => norm_id(id),
                    LinkTarget::Url { url } => super::transform::notion_url_id(url),
                    _ => None,
                };
                if let Some(id) = id {
                    self.0.push(id);
                }
            }
        }
    }
    let mut v = V(Vec::new());
    let mut d = doc.clone();
    visit_document(&mut d, &mut v);
    v.0
}

/// The URLs of the Notion-hosted files of `blocks` (any depth).
fn hosted_urls(blocks: &[kb_doc::notion::model::Block]) -> Vec<String> {
    let mut out = Vec::new();
    for b in blocks {
        if let Some(f) = b.data.as_ref().and_then(|d| d.file.as_ref()) {
            out.push(f.url.clone());
        }
        let kids: Vec<kb_doc::notion::model::Block> =
            b.all_children().into_iter().cloned().collect();
        out.extend(hosted_urls(&kids));
    }
    out
}

/// Image and file sources blanked: an upload placeholder and the hosted file it became are
/// the same file (their sizes are compared separately).
fn blank_sources(doc: &mut Document) {
    struct V;
    impl VisitMut for V {
        fn block(&mut self, b: &mut Block) {
            match b {
                Block::Image(img) => {
                    img.source = ImageSource::Url { url: String::new() };
                    img.attrs = Default::default();
                }
                Block::File(f) => {
                    f.target = LinkTarget::Url { url: String::new() };
                    f.attrs = Default::default();
                }
                _ => {}
            }
        }
        fn inline(&mut self, i: &mut Inline) {
            if let Inline::Image(img) = i {
                img.source = ImageSource::Url { url: String::new() };
            }
        }
    }
    visit_document(doc, &mut V);
}

/// `…/display/KEY/Title+With+Spaces`, Confluence's by-title page URL: spaces as `+`, every other
/// character that is not unreserved percent-encoded (`+`, `#`, `?`, `&`, `%`, `/`…), so the title
/// reaches Confluence exactly.
pub(crate) fn display_url(wiki: &str, key: &str, title: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let enc = |s: &str| {
        utf8_percent_encode(s, SEGMENT)
            .to_string()
            .replace("%20", "+")
    };
    format!("{wiki}/display/{}/{}", enc(key), enc(title))
}

#[cfg(test)]
mod display_tests {
    use super::display_url;

    #[test]
    fn display_links_carry_any_title_exactly() {
        for title in [
            "Q&A: what? #1 100%",
            "a+b/c",
            "Ünïcödé ☃ title",
            "..",
            "\"quoted\" 'too'",
        ] {
            let url = display_url("https://x.atlassian.net/wiki", "ENG", title);
            let last = url.rsplit('/').next().unwrap();
            for c in ['#', '?', '&', '/', ' ', '"'] {
                assert!(!last.contains(c), "{c:?} left raw in {url}");
            }
            let back = kb_http::percent_decode(&last.replace('+', "%20"));
            assert_eq!(back, title, "{url}");
            let parsed = url::Url::parse(&url).unwrap();
            assert_eq!(parsed.fragment(), None, "{url}");
            assert_eq!(parsed.query(), None, "{url}");
        }
        assert_eq!(
            display_url("https://x.atlassian.net/wiki", "ENG", "My Page"),
            "https://x.atlassian.net/wiki/display/ENG/My+Page"
        );
    }
}
