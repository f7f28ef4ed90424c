//! One sync pass over a link: find what changed on each side since the last pass (one request
//! per side when nothing did), read only those pages, merge each against its base, and write
//! the side that is behind — Notion by a minimal block patch, Confluence as version + 1.
//!
//! Each side's edit is found by comparing what it shows now with what it showed when last seen
//! (`notion_seen`, `confluence_seen`), never with the other side's rendering: the two formats
//! do not say everything alike, so a side's change is lifted onto the base first
//! ([`lift`]) and only then merged with the other side's.

use std::collections::{BTreeMap, HashMap};

use kb_confluence::{Confluence, NewPage, PageUpdate};
use kb_doc::merge::{Side, merge};
use kb_doc::notion::model::{Block, Page};
use kb_doc::visit::{VisitMut, visit_document};
use kb_doc::{Document, Inline, LinkTarget};
use kb_notion::Notion;
use kb_store::Store;
use serde::Serialize;
use serde_json::{Value, json};

use super::SyncError;
use super::patch::{self, Step};
use super::state::{self, Link, Pair, PairState, Policy, doc_hash};
use super::structure;
use crate::migrate::transform::{norm_id, prepare};

/// How far back each poll looks before the previous one started: Notion rounds
/// `last_edited_time` to the minute and CQL reads dates in the account's zone.
pub const NOTION_OVERLAP_MS: i64 = 5 * 60_000;
/// The CQL window's overlap (versions tell a seen page from a changed one).
pub const CONFLUENCE_OVERLAP_MS: i64 = 5 * 60_000;

/// The services and the store a pass works with.
pub struct SyncContext<'a> {
    pub store: &'a Store,
    pub notion: &'a Notion,
    pub confluence: &'a Confluence,
}

/// What a pass did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SyncReport {
    pub link: String,
    /// Pairs whose pages were read because a side showed a change.
    pub checked: usize,
    /// Pairs written to Notion / to Confluence.
    pub to_notion: usize,
    pub to_confluence: usize,
    /// Pairs where both sides changed and the edits merged.
    pub merged: usize,
    /// Pages created on the other side.
    pub created_in_notion: usize,
    pub created_in_confluence: usize,
    /// Pages moved, trashed and restored to mirror the other side; pairs unlinked.
    pub moved_in_notion: usize,
    pub moved_in_confluence: usize,
    pub trashed_in_notion: usize,
    pub trashed_in_confluence: usize,
    pub restored_in_notion: usize,
    pub restored_in_confluence: usize,
    pub unlinked: usize,
    /// Whether this pass was a reconcile (complete listings of both trees).
    pub reconciled: bool,
    /// Notion blocks updated in place, inserted, deleted.
    pub blocks_updated: usize,
    pub blocks_inserted: usize,
    pub blocks_deleted: usize,
    /// Conflicts recorded (ids), and pairs waiting on an open one.
    pub conflicts: Vec<i64>,
    pub waiting: usize,
    /// Requests by service.
    pub requests: BTreeMap<String, u64>,
    /// Failures, each naming its page; the pass goes on with the other pages.
    pub errors: Vec<String>,
}

/// What one side shows now, read and put in the canonical (Notion) form.
struct Seen {
    title: String,
    doc: Document,
    hash: String,
    /// Notion: the first-level blocks with their ids; Confluence: none.
    blocks: Vec<Block>,
    /// Confluence: the version number and its date; Notion: 0 and `last_edited_time`.
    version: u64,
    when: Option<String>,
}

fn ms_rfc3339(ms: i64) -> String {
    kb_store::time::format_millis(ms)
}

fn dashed(id: &str) -> String {
    kb_notion::dashed(id)
}

/// The edit one side made (`seen` → `now`) applied onto `base`. Parts the side did not touch
/// keep the base's version, so what a format cannot say is not taken for an edit.
pub fn lift(seen: &Document, now: &Document, base: &Document) -> Document {
    if seen == now {
        return base.clone();
    }
    if seen == base {
        return now.clone();
    }
    merge(seen, now, base).resolve(Side::Ours)
}

/// Notion-hosted file URLs without their signature: Notion signs them anew on every read (they
/// expire within the hour), so a signed URL would make every read look like an edit.
pub(crate) fn unsigned_files(doc: &mut Document) {
    use kb_doc::{Attrs, Block, ImageSource};
    fn hosted(a: &Attrs) -> bool {
        a.get("notion:source").is_some_and(|s| s == "file")
    }
    fn cut(url: &mut String) {
        if let Some(q) = url.find('?') {
            url.truncate(q);
        }
    }
    struct V;
    impl VisitMut for V {
        fn block(&mut self, b: &mut Block) {
            match b {
                Block::Image(img) if hosted(&img.attrs) => {
                    if let ImageSource::Url { url } = &mut img.source {
                        cut(url)
                    }
                }
                Block::File(f) if hosted(&f.attrs) => {
                    if let LinkTarget::Url { url } = &mut f.target {
                        cut(url)
                    }
                }
                Block::Embed(e) if hosted(&e.attrs) => cut(&mut e.url),
                _ => {}
            }
        }
        fn inline(&mut self, i: &mut Inline) {
            match i {
                Inline::Link(l) if hosted(&l.attrs) => {
                    if let LinkTarget::Url { url } = &mut l.target {
                        cut(url)
                    }
                }
                Inline::Image(img) if hosted(&img.attrs) => {
                    if let ImageSource::Url { url } = &mut img.source {
                        cut(url)
                    }
                }
                _ => {}
            }
        }
    }
    visit_document(doc, &mut V);
}

/// Confluence links to paired pages in the Notion form (`Page { id }`), so both sides'
/// documents compare.
pub(crate) fn canonical_links(
    doc: &mut Document,
    space_key: &str,
    notion_of_title: &HashMap<String, String>,
) {
    struct V<'a> {
        key: &'a str,
        by_title: &'a HashMap<String, String>,
    }
    impl VisitMut for V<'_> {
        fn inline(&mut self, i: &mut Inline) {
            let Inline::Link(l) = i else { return };
            let LinkTarget::Page {
                title: Some(t),
                space_key,
                id: None,
                ..
            } = &l.target
            else {
                return;
            };
            if space_key.as_deref().is_some_and(|k| k != self.key) {
                return;
            }
            if let Some(nid) = self.by_title.get(t) {
                l.target = LinkTarget::Page {
                    title: None,
                    space_key: None,
                    id: Some(dashed(nid)),
                    attrs: Default::default(),
                };
            }
        }
    }
    visit_document(
        doc,
        &mut V {
            key: space_key,
            by_title: notion_of_title,
        },
    );
}

/// The two title maps links are resolved with: Notion id → Confluence title, and back.
fn title_maps(pairs: &[Pair]) -> (HashMap<String, String>, HashMap<String, String>) {
    pairs
        .iter()
        .map(|p| {
            let t = p.state.confluence_title.clone();
            ((p.notion_id.clone(), t.clone()), (t, p.notion_id.clone()))
        })
        .unzip()
}

/// What Confluence shows after kbridge wrote `storage`, in the canonical form.
fn written_doc(
    storage: &str,
    link: &Link,
    notion_of_title: &HashMap<String, String>,
) -> Result<Document, SyncError> {
    let mut doc = kb_doc::storage::read(storage)
        .map_err(|e| SyncError::Input(format!("the storage kbridge wrote does not read: {e}")))?;
    canonical_links(&mut doc, &link.spec.space_key, notion_of_title);
    Ok(doc)
}

impl SyncContext<'_> {
    fn requests(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        m.insert("notion".into(), self.notion.stats().snapshot().requests);
        m.insert("confluence".into(), self.confluence.stats().requests);
        m
    }

    /// The requests sent since `before` (a [`SyncContext::requests`] snapshot), by service.
    fn requests_since(&self, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        self.requests()
            .into_iter()
            .map(|(k, v)| {
                let was = before.get(&k).copied().unwrap_or(0);
                (k, v.saturating_sub(was))
            })
            .collect()
    }

    async fn read_notion(&self, id: &str) -> Result<Seen, SyncError> {
        let mut page: Page = self.notion.page(id).await?;
        let blocks = self.notion.block_tree(id).await?;
        page.children = blocks.clone();
        let title = page.title();
        let mut doc = kb_doc::notion::read_page(&page);
        unsigned_files(&mut doc);
        let when = page
            .extra
            .get("last_edited_time")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(Seen {
            hash: doc_hash(&title, &doc)?,
            title,
            doc,
            blocks,
            version: 0,
            when,
        })
    }

    async fn read_confluence(
        &self,
        id: &str,
        link: &Link,
        notion_of_title: &HashMap<String, String>,
        errors: &mut Vec<String>,
    ) -> Result<(Seen, Value), SyncError> {
        let page = self.confluence.page_with_body(id).await?;
        let storage = page
            .pointer("/body/storage/value")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                SyncError::Input(format!(
                    "Confluence page {id} came without its storage body"
                ))
            })?;
        let read = kb_doc::storage::read_reported(storage)
            .map_err(|e| SyncError::Input(format!("Confluence page {id}: {e}")))?;
        for r in &read.recoveries {
            errors.push(format!(
                "Confluence page {id}: malformed storage read leniently: {r}"
            ));
        }
        let mut doc = read.document;
        canonical_links(&mut doc, &link.spec.space_key, notion_of_title);
        let title = kb_confluence::keys::title(&page)
            .ok_or_else(|| SyncError::Input(format!("Confluence page {id} has no title")))?
            .to_string();
        let version = kb_confluence::keys::version_number(&page).ok_or_else(|| {
            SyncError::Input(format!("Confluence page {id} has no version number"))
        })?;
        let when = kb_confluence::keys::version_created_at(&page).map(str::to_string);
        Ok((
            Seen {
                hash: doc_hash(&title, &doc)?,
                title,
                doc,
                blocks: Vec::new(),
                version,
                when,
            },
            page,
        ))
    }

    /// The storage for `doc` in the link's space: links to paired pages by their titles.
    fn storage_for(&self, doc: &Document, titles: &HashMap<String, String>, link: &Link) -> String {
        let mut d = doc.clone();
        prepare(&mut d, titles, &link.spec.space_key);
        kb_doc::storage::write(&d)
    }

    /// Patches Notion page `id` (showing `current`) to `doc` and `title`.
    async fn write_notion(
        &self,
        id: &str,
        current: &Seen,
        doc: &Document,
        title: &str,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        if current.title != title {
            self.notion
                .update_page(
                    id,
                    json!({"properties": {"title": {"title": [{"type": "text", "text": {"content": title}}]}}}),
                )
                .await?;
        }
        let plan = patch::plan(&current.blocks, doc);
        if plan.brings_files() {
            return Err(SyncError::Input(format!(
                "Notion page {id}: the change brings files, which sync does not carry yet; the page is left as it was"
            )));
        }
        for step in plan.steps {
            match step {
                Step::Update { id: bid, body } => {
                    self.notion.update_block(&bid, body).await?;
                    report.blocks_updated += 1;
                }
                Step::Delete { id: bid } => {
                    self.notion.delete_block(&bid).await?;
                    report.blocks_deleted += 1;
                }
                Step::Insert { after, blocks } => {
                    let n = blocks.len();
                    let parent = kb_doc::notion::PlanParent::PageId {
                        page_id: id.to_string(),
                    };
                    let plan = kb_doc::notion::AppendPlan {
                        requests: kb_doc::notion::chunk(blocks, &parent),
                        parent,
                        attachments: Vec::new(),
                        subpages: Vec::new(),
                        fallbacks: Vec::new(),
                    };
                    let mut progress = kb_notion::PlanProgress {
                        after,
                        ..Default::default()
                    };
                    self.notion
                        .execute_plan_resumable(
                            &plan,
                            None,
                            &HashMap::new(),
                            &mut progress,
                            &mut |_| true,
                        )
                        .await?;
                    report.blocks_inserted += n;
                }
            }
        }
        Ok(())
    }

    /// Writes `doc` to Confluence page `id` as version `version + 1`.
    #[allow(clippy::too_many_arguments)]
    async fn write_confluence(
        &self,
        id: &str,
        page: &Value,
        version: u64,
        doc: &Document,
        title: &str,
        titles: &HashMap<String, String>,
        link: &Link,
    ) -> Result<(u64, String), SyncError> {
        let storage = self.storage_for(doc, titles, link);
        let parent = kb_confluence::keys::parent_id(page);
        let update = PageUpdate {
            id,
            title,
            parent_id: parent.as_deref(),
            storage: &storage,
            version: version + 1,
            message: "kbridge sync",
        };
        match self.confluence.update_page(&update).await {
            Ok(_) => Ok((version + 1, storage)),
            Err(e) if e.status() == Some(409) => {
                // Our own update whose answer was lost, or someone else's edit.
                let now = self.confluence.page_with_body(id).await?;
                if update.applied_in(&now) {
                    Ok((version + 1, storage))
                } else {
                    Err(SyncError::Input(format!(
                        "Confluence page {id} changed while the pass merged it (409); the next pass merges again"
                    )))
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether a Notion page needs reading: edited after what was seen, or in the same minute
/// when Notion's rounding could hide a later edit.
fn notion_changed(state: &PairState, edited: &str) -> bool {
    let ms = |t: &str| {
        t.parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_millisecond())
    };
    let (Some(seen), Some(read_at), Some(e)) = (
        state.notion_edited.as_deref().and_then(ms),
        state.notion_read_at.as_deref().and_then(ms),
        ms(edited),
    ) else {
        return true;
    };
    if e != seen {
        return e > seen;
    }
    // The same time: a later edit in the same minute keeps it when Notion rounds to minutes.
    e % 60_000 == 0 && read_at < e + 60_000
}

/// Runs one pass of link `name` at `now_ms`.
pub async fn run_pass(
    cx: &SyncContext<'_>,
    name: &str,
    now_ms: i64,
) -> Result<SyncReport, SyncError> {
    let before = cx.requests();
    let mut link = state::load_link(cx.store, name).await?;
    let mut pairs = state::load_pairs(cx.store, name).await?;
    let mut report = SyncReport {
        link: name.to_string(),
        ..Default::default()
    };
    let by_notion: HashMap<String, usize> = pairs
        .iter()
        .enumerate()
        .map(|(i, p)| (p.notion_id.clone(), i))
        .collect();
    let by_conf: HashMap<String, usize> = pairs
        .iter()
        .enumerate()
        .map(|(i, p)| (p.confluence_id.clone(), i))
        .collect();

    // --- What changed: one search and one CQL listing; a reconcile lists both trees whole
    // (trashes, restores and Confluence moves show in no incremental listing).
    let reconcile = link
        .state
        .reconciled
        .is_none_or(|t| now_ms - t >= link.spec.reconcile_ms());
    report.reconciled = reconcile;
    let mut listed = structure::Listed {
        complete: reconcile,
        ..Default::default()
    };
    let live = |i: usize| structure::active(&pairs[i]);
    let notion_since = match link.state.notion_polled.as_deref() {
        Some(t) if !reconcile => kb_store::time::parse_rfc3339(t)
            .map(|ms| ms_rfc3339(ms - NOTION_OVERLAP_MS))
            .ok_or_else(|| {
                SyncError::Corrupt(format!(
                    "sync link {name}: the last Notion poll time \"{t}\" does not read"
                ))
            })?,
        _ => "1970-01-01T00:00:00.000Z".into(),
    };
    let mut notion_dirty: HashMap<usize, String> = HashMap::new();
    // New Notion pages under a synced page: (id, parent id).
    let mut notion_new: Vec<(String, String)> = Vec::new();
    for v in cx.notion.pages_edited_since(&notion_since).await? {
        let page: Page = serde_json::from_value(v)
            .map_err(|e| SyncError::Input(format!("a Notion search result: {e}")))?;
        let Some(id) = norm_id(&page.id) else {
            report.errors.push(format!(
                "Notion search returned a page with the id \"{}\"",
                page.id
            ));
            continue;
        };
        if page.in_trash || page.archived {
            continue;
        }
        let edited = page
            .extra
            .get("last_edited_time")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                SyncError::Input(format!(
                    "Notion search returned page {id} without its last_edited_time"
                ))
            })?
            .to_string();
        let parent = page
            .parent
            .as_ref()
            .and_then(|p| p.get("page_id"))
            .and_then(Value::as_str)
            .and_then(norm_id);
        if let Some(&i) = by_notion.get(&id) {
            listed.notion.insert(i, parent);
            if notion_changed(&pairs[i].state, &edited) {
                notion_dirty.insert(i, edited);
            }
        } else if let Some(parent) = parent
            && by_notion.get(&parent).is_some_and(|&k| live(k))
        {
            notion_new.push((id, parent));
        }
    }
    let conf_since = link
        .state
        .confluence_polled
        .filter(|_| !reconcile)
        .map(|ms| ms - CONFLUENCE_OVERLAP_MS);
    let root = &link.spec.confluence_root;
    let cql = match conf_since {
        Some(since) => format!(
            "(ancestor = {root} or id = {root}) and type = page and lastmodified >= {}",
            kb_confluence::cql::quote(&kb_confluence::cql::cql_datetime(
                since,
                link.spec.utc_offset_minutes
            ))
        ),
        None => format!("(ancestor = {root} or id = {root}) and type = page"),
    };
    let mut conf_dirty: Vec<usize> = Vec::new();
    // New Confluence pages under a synced page: (id, parent id).
    let mut conf_new: Vec<(String, String)> = Vec::new();
    for v in cx
        .confluence
        .content_search(&cql, &["version", "ancestors"])?
        .all()
        .await?
    {
        let Some(id) = kb_confluence::keys::id(&v) else {
            report
                .errors
                .push(format!("a CQL result without an id: {}", v));
            continue;
        };
        // A result without a version number is read: it is never taken for unchanged.
        let version = kb_confluence::keys::version_number(&v);
        let parent = v
            .get("ancestors")
            .and_then(Value::as_array)
            .and_then(|a| a.last())
            .and_then(kb_confluence::keys::id);
        if let Some(&i) = by_conf.get(&id) {
            listed.confluence.insert(i, parent);
            if version.is_none_or(|v| v > pairs[i].state.confluence_version) {
                conf_dirty.push(i);
            }
        } else if let Some(p) = parent
            && by_conf.get(&p).is_some_and(|&k| live(k))
        {
            conf_new.push((id, p));
        }
    }

    // --- Structure: moves on either side, and on a reconcile trashes and restores.
    structure::apply(cx, &link, &mut pairs, &listed, &mut report).await?;

    // Titles for links: Notion id → Confluence title, and back.
    let (titles, notion_of_title) = title_maps(&pairs);

    // --- Each changed pair.
    let mut dirty: Vec<usize> = notion_dirty.keys().copied().collect();
    dirty.extend(conf_dirty.iter().copied());
    dirty.sort_unstable();
    dirty.dedup();
    for i in dirty {
        let p = &mut pairs[i];
        if !structure::active(p) {
            continue;
        }
        if p.state.conflict.is_some() {
            report.waiting += 1;
            continue;
        }
        report.checked += 1;
        let n_changed = notion_dirty.contains_key(&i);
        let c_changed = conf_dirty.contains(&i);
        match sync_pair(
            cx,
            &link,
            p,
            n_changed,
            c_changed,
            &titles,
            &notion_of_title,
            now_ms,
            &mut report,
        )
        .await
        {
            Ok(()) => state::save_pair(cx.store, name, p).await?,
            Err(e @ SyncError::Store(_)) => return Err(e),
            Err(e) => report.errors.push(format!(
                "Notion page {} / Confluence page {}: {e}",
                p.notion_id, p.confluence_id
            )),
        }
    }

    // --- New pages, parents first (a page whose parent is new waits for the next pass).
    for (nid, parent) in notion_new {
        if let Err(e) =
            create_in_confluence(cx, &link, &mut pairs, &nid, &parent, &titles, &mut report).await
        {
            if let SyncError::Store(_) = e {
                return Err(e);
            }
            report.errors.push(format!("new Notion page {nid}: {e}"));
        }
    }
    for (id, parent) in conf_new {
        if let Err(e) = create_in_notion(
            cx,
            &link,
            &mut pairs,
            &id,
            &parent,
            &notion_of_title,
            &mut report,
        )
        .await
        {
            if let SyncError::Store(_) = e {
                return Err(e);
            }
            report.errors.push(format!("new Confluence page {id}: {e}"));
        }
    }

    // The marks advance only after a pass without failures: a failed page is looked at again.
    // Nor after a pass that created pages: pages below them, listed before their parent was
    // paired, are found by listing the same window again (a copy runs a level a pass).
    if report.errors.is_empty() && report.created_in_notion + report.created_in_confluence == 0 {
        link.state.notion_polled = Some(ms_rfc3339(now_ms));
        link.state.confluence_polled = Some(now_ms);
        if reconcile {
            link.state.reconciled = Some(now_ms);
        }
    }
    link.state.passes += 1;
    state::save_link_state(cx.store, &link).await?;
    report.requests = cx.requests_since(&before);
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn sync_pair(
    cx: &SyncContext<'_>,
    link: &Link,
    p: &mut Pair,
    n_changed: bool,
    c_changed: bool,
    titles: &HashMap<String, String>,
    notion_of_title: &HashMap<String, String>,
    now_ms: i64,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let nid = dashed(&p.notion_id);
    // Read what changed; a side whose content equals what it showed is unchanged (an echo of
    // kbridge's own write, or a change that did not touch the content).
    let mut n_now = if n_changed {
        let s = cx.read_notion(&nid).await?;
        p.state.notion_edited = s.when.clone();
        p.state.notion_read_at = Some(ms_rfc3339(now_ms));
        Some(s)
    } else {
        None
    };
    let mut c_now = if c_changed {
        let (s, page) = cx
            .read_confluence(&p.confluence_id, link, notion_of_title, &mut report.errors)
            .await?;
        Some((s, page))
    } else {
        None
    };
    let mut n_edit = n_now
        .as_ref()
        .is_some_and(|s| s.hash != p.state.notion_hash);
    let mut c_edit = c_now
        .as_ref()
        .is_some_and(|(s, _)| s.hash != p.state.confluence_hash);
    // One side changed: the other is read too before anything is merged (writing it needs
    // its current state anyway), so an edit the poll did not see there — Notion's minute
    // rounding, clocks apart — is merged, never overwritten.
    if c_edit && n_now.is_none() {
        let s = cx.read_notion(&nid).await?;
        p.state.notion_edited = s.when.clone();
        p.state.notion_read_at = Some(ms_rfc3339(now_ms));
        n_edit = s.hash != p.state.notion_hash;
        n_now = Some(s);
    }
    if n_edit && c_now.is_none() {
        let (s, page) = cx
            .read_confluence(&p.confluence_id, link, notion_of_title, &mut report.errors)
            .await?;
        c_edit = s.hash != p.state.confluence_hash;
        c_now = Some((s, page));
    }
    if let Some((s, _)) = &c_now
        && !c_edit
    {
        p.state.confluence_version = s.version;
    }
    if !n_edit && !c_edit {
        return Ok(());
    }
    let n_side = match &n_now {
        Some(s) if n_edit => lift(&p.notion_seen, &s.doc, &p.base),
        _ => p.base.clone(),
    };
    let c_side = match &c_now {
        Some((s, _)) if c_edit => lift(&p.confluence_seen, &s.doc, &p.base),
        _ => p.base.clone(),
    };
    // Titles: each side against the title it showed.
    let n_title = n_now
        .as_ref()
        .map(|s| s.title.clone())
        .filter(|t| *t != p.state.notion_title);
    let c_title = c_now
        .as_ref()
        .map(|(s, _)| s.title.clone())
        .filter(|t| *t != p.state.confluence_title);
    let base_title = p.state.title.clone();
    let m = merge(&p.base, &n_side, &c_side);
    let title_clean = match (&n_title, &c_title) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    let newest_notion = || {
        let n = n_now.as_ref().and_then(|s| s.when.as_deref()).unwrap_or("");
        let c = c_now
            .as_ref()
            .and_then(|(s, _)| s.when.as_deref())
            .unwrap_or("");
        n >= c
    };
    let settle = match link.spec.policy {
        _ if m.is_clean() && title_clean => None,
        Policy::Manual => {
            let text = |d: &Document| {
                kb_doc::ir_json::write(d)
                    .map_err(|e| SyncError::Input(format!("a document does not serialise: {e}")))
            };
            let detail = json!({
                "title": {"base": base_title, "notion": n_title, "confluence": c_title},
                "base": text(&p.base)?,
                "notion": text(&n_side)?,
                "confluence": text(&c_side)?,
                "parts": m.conflicts(),
            });
            let id = cx
                .store
                .add_sync_conflict(&link.name, &p.notion_id, &p.confluence_id, &detail)
                .await?;
            p.state.conflict = Some(id);
            report.conflicts.push(id);
            tracing::warn!(
                conflict = id,
                notion = %p.notion_id,
                confluence = %p.confluence_id,
                "both sides changed the same part; neither side is overwritten until `kbridge sync resolve`"
            );
            return Ok(());
        }
        Policy::PreferNotion => Some(Side::Ours),
        Policy::PreferConfluence => Some(Side::Theirs),
        Policy::Newest => Some(if newest_notion() {
            Side::Ours
        } else {
            Side::Theirs
        }),
    };
    let merged = match settle {
        None => m.resolve(Side::Ours),
        Some(side) => m.resolve(side),
    };
    // The new title of each side (None: it keeps its own).
    let (to_notion_title, to_conf_title) = match (&n_title, &c_title) {
        (None, None) => (None, None),
        (Some(a), None) => (None, Some(a.clone())),
        (None, Some(b)) => (Some(b.clone()), None),
        (Some(a), Some(b)) if a == b => (None, None),
        (Some(a), Some(b)) => {
            if settle == Some(Side::Theirs) {
                (Some(b.clone()), None)
            } else {
                (None, Some(a.clone()))
            }
        }
    };
    let title = to_notion_title
        .clone()
        .or(n_title.clone())
        .unwrap_or(base_title.clone());
    if n_edit && c_edit {
        report.merged += 1;
    }
    // Notion behind?
    if merged != n_side || to_notion_title.is_some() {
        let current = match n_now.take() {
            Some(s) => s,
            None => cx.read_notion(&nid).await?,
        };
        let t = to_notion_title.clone().unwrap_or(current.title.clone());
        cx.write_notion(&nid, &current, &merged, &t, report).await?;
        let after = cx.read_notion(&nid).await?;
        p.state.notion_edited = after.when.clone();
        p.state.notion_read_at = Some(ms_rfc3339(now_ms));
        p.state.notion_hash = after.hash.clone();
        p.state.notion_title = after.title.clone();
        p.notion_seen = after.doc;
        report.to_notion += 1;
    } else if let Some(s) = n_now {
        p.state.notion_hash = s.hash;
        p.state.notion_title = s.title;
        p.notion_seen = s.doc;
    }
    // Confluence behind?
    if merged != c_side || to_conf_title.is_some() {
        let (seen_version, page) = match c_now.take() {
            Some((s, page)) => (s.version, page),
            None => {
                return Err(SyncError::Input(format!(
                    "Confluence page {} was not read before writing it (a kbridge bug: report it)",
                    p.confluence_id
                )));
            }
        };
        let ctitle = to_conf_title
            .clone()
            .or_else(|| kb_confluence::keys::title(&page).map(str::to_string))
            .unwrap_or(p.state.confluence_title.clone());
        let (version, storage) = cx
            .write_confluence(
                &p.confluence_id,
                &page,
                seen_version,
                &merged,
                &ctitle,
                titles,
                link,
            )
            .await?;
        let doc = written_doc(&storage, link, notion_of_title)?;
        p.state.confluence_version = version;
        p.state.confluence_hash = doc_hash(&ctitle, &doc)?;
        p.state.confluence_title = ctitle;
        p.confluence_seen = doc;
        report.to_confluence += 1;
    } else if let Some((s, _)) = c_now {
        p.state.confluence_version = s.version;
        p.state.confluence_hash = s.hash;
        p.state.confluence_title = s.title;
        p.confluence_seen = s.doc;
    }
    p.state.title = title.clone();
    p.state.base_hash = doc_hash(&title, &merged)?;
    p.base = merged;
    Ok(())
}

async fn create_in_confluence(
    cx: &SyncContext<'_>,
    link: &Link,
    pairs: &mut Vec<Pair>,
    nid: &str,
    parent_nid: &str,
    titles: &HashMap<String, String>,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let (nid, parent_nid) = (nid.to_string(), parent_nid.to_string());
    let Some(parent) = pairs.iter().find(|p| p.notion_id == parent_nid) else {
        return Ok(());
    };
    let conf_parent = parent.confluence_id.clone();
    let seen = cx.read_notion(&dashed(&nid)).await?;
    let storage = cx.storage_for(&seen.doc, titles, link);
    let new = NewPage {
        space_id: &link.spec.space_id,
        parent_id: Some(&conf_parent),
        title: &seen.title,
        storage: &storage,
    };
    let created = match cx.confluence.create_page(&new).await {
        Ok(v) => v,
        Err(e) => {
            // A create whose answer was lost: the page is there under its title.
            match cx
                .confluence
                .page_by_title(&link.spec.space_id, &seen.title)
                .await
            {
                Ok(Some(found)) => {
                    let Some(id) = kb_confluence::keys::id(&found) else {
                        return Err(e.into());
                    };
                    let full = cx.confluence.page_with_body(&id).await?;
                    if new.applied_in(&full) {
                        full
                    } else {
                        return Err(e.into());
                    }
                }
                _ => return Err(e.into()),
            }
        }
    };
    let cid = kb_confluence::keys::id(&created)
        .ok_or_else(|| SyncError::Input("Confluence answered a create without an id".into()))?;
    let version = kb_confluence::keys::version_number(&created).ok_or_else(|| {
        SyncError::Input(format!(
            "Confluence answered the create of page {cid} without its version"
        ))
    })?;
    let cdoc = written_doc(&storage, link, &title_maps(pairs).1)?;
    let pair = Pair {
        notion_id: nid,
        confluence_id: cid,
        state: PairState {
            title: seen.title.clone(),
            notion_title: seen.title.clone(),
            confluence_title: seen.title.clone(),
            notion_parent: parent_nid,
            confluence_parent: conf_parent,
            notion_edited: seen.when.clone(),
            notion_read_at: Some(kb_store::time::now()),
            notion_hash: seen.hash.clone(),
            confluence_version: version,
            confluence_hash: doc_hash(&seen.title, &cdoc)?,
            base_hash: seen.hash.clone(),
            conflict: None,
            trashed: false,
            unlinked: None,
        },
        base: seen.doc.clone(),
        notion_seen: seen.doc,
        confluence_seen: cdoc,
    };
    state::save_pair(cx.store, &link.name, &pair).await?;
    pairs.push(pair);
    report.created_in_confluence += 1;
    Ok(())
}

async fn create_in_notion(
    cx: &SyncContext<'_>,
    link: &Link,
    pairs: &mut Vec<Pair>,
    cid: &str,
    parent_cid: &str,
    notion_of_title: &HashMap<String, String>,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let parent_cid = parent_cid.to_string();
    let Some(parent) = pairs.iter().find(|p| p.confluence_id == parent_cid) else {
        return Ok(());
    };
    let parent_nid = parent.notion_id.clone();
    let mut errors = Vec::new();
    let (seen, _) = cx
        .read_confluence(cid, link, notion_of_title, &mut errors)
        .await?;
    report.errors.extend(errors);
    let plan = kb_doc::notion::plan(&seen.doc, kb_doc::notion::PlanParent::NewPage);
    if !plan.attachments.is_empty() {
        return Err(SyncError::Input(format!(
            "Confluence page {cid} holds files, which sync does not carry yet; it is not created in Notion"
        )));
    }
    let outcome = cx
        .notion
        .execute_plan(
            &plan,
            Some(kb_notion::NewPage {
                parent: json!({"page_id": dashed(&parent_nid)}),
                properties: json!({"title": {"title": [{"type": "text", "text": {"content": seen.title}}]}}),
                icon: None,
            }),
            &HashMap::new(),
        )
        .await?;
    let nid = norm_id(&outcome.page_id).unwrap_or(outcome.page_id);
    let now = cx.read_notion(&dashed(&nid)).await?;
    let pair = Pair {
        notion_id: nid,
        confluence_id: cid.to_string(),
        state: PairState {
            title: seen.title.clone(),
            notion_title: now.title.clone(),
            confluence_title: seen.title.clone(),
            notion_parent: parent_nid,
            confluence_parent: parent_cid,
            notion_edited: now.when.clone(),
            notion_read_at: Some(kb_store::time::now()),
            notion_hash: now.hash.clone(),
            confluence_version: seen.version,
            confluence_hash: seen.hash.clone(),
            base_hash: seen.hash.clone(),
            conflict: None,
            trashed: false,
            unlinked: None,
        },
        base: seen.doc.clone(),
        notion_seen: now.doc,
        confluence_seen: seen.doc,
    };
    state::save_pair(cx.store, &link.name, &pair).await?;
    pairs.push(pair);
    report.created_in_notion += 1;
    Ok(())
}

/// Writes `doc` to both sides of pair `p` (a side already showing it is left alone) and makes
/// it the base: how a conflict is settled.
pub(super) async fn write_both(
    cx: &SyncContext<'_>,
    link: &Link,
    p: &mut Pair,
    doc: &Document,
    now_ms: i64,
) -> Result<SyncReport, SyncError> {
    let before = cx.requests();
    let mut report = SyncReport::default();
    let pairs = state::load_pairs(cx.store, &link.name).await?;
    let (titles, notion_of_title) = title_maps(&pairs);
    let nid = dashed(&p.notion_id);
    let n = cx.read_notion(&nid).await?;
    if n.doc != *doc {
        cx.write_notion(&nid, &n, doc, &n.title.clone(), &mut report)
            .await?;
        report.to_notion += 1;
    }
    let after = cx.read_notion(&nid).await?;
    p.state.notion_edited = after.when.clone();
    p.state.notion_read_at = Some(ms_rfc3339(now_ms));
    p.state.notion_hash = after.hash.clone();
    p.state.notion_title = after.title.clone();
    p.notion_seen = after.doc;
    let (c, page) = cx
        .read_confluence(&p.confluence_id, link, &notion_of_title, &mut report.errors)
        .await?;
    if c.doc != *doc {
        let (version, storage) = cx
            .write_confluence(
                &p.confluence_id,
                &page,
                c.version,
                doc,
                &c.title,
                &titles,
                link,
            )
            .await?;
        let cdoc = written_doc(&storage, link, &notion_of_title)?;
        p.state.confluence_version = version;
        p.state.confluence_hash = doc_hash(&c.title, &cdoc)?;
        p.confluence_seen = cdoc;
        report.to_confluence += 1;
    } else {
        p.state.confluence_version = c.version;
        p.state.confluence_hash = c.hash.clone();
        p.confluence_seen = c.doc;
    }
    p.state.confluence_title = c.title;
    p.state.base_hash = doc_hash(&p.state.title, doc)?;
    p.base = doc.clone();
    report.requests = cx.requests_since(&before);
    Ok(report)
}
