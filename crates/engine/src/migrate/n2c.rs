//! Notion → Confluence: plan the titles, then write each page once, parents first.
//!
//! Per page the state in the store (a checkpoint of scope [`scope`], endpoint = the Notion id)
//! says how far it got: `creating` (a create was sent; its answer may be lost), the Confluence
//! id and version, the hash of the last body written, the files attached (by their Notion
//! file key) and whether the labels are set. Each step commits the state change in its own
//! transaction, right after the write it records, so a re-run repeats at most the one write
//! whose answer was lost — and a lost create is found again by its title under its parent.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures_util::TryStreamExt;
use kb_confluence::{Confluence, ContentQuery, NewPage, PageUpdate, Upload};
use kb_notion::Notion;
use kb_store::{Batch, IdMapEntry, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::source::{Node, NodeKind, walk};
use super::transform::{FileNeed, norm_id, prepare};
use super::{MigrateError, MigrateProgress, MigrateReport, PageOutcome, PlannedPage, ProgressFn};

/// Options of a Notion → Confluence migration.
#[derive(Clone, Debug)]
pub struct NotionToConfluence {
    /// The Notion pages or databases at the top of the trees (each goes under `parent`).
    pub from: Vec<String>,
    /// The Confluence space key.
    pub space: String,
    /// The Confluence page the tree goes under (default: the top of the space).
    pub parent: Option<String>,
    /// Print the plan, write nothing.
    pub plan_only: bool,
    /// Overwrite pages edited in Confluence since kbridge wrote them (default: report them as
    /// conflicts and leave them alone).
    pub force: bool,
}

/// The store scope of the per-page state of migrations into a space (one per space, whatever
/// the roots: a page migrated once is found again when a later run starts elsewhere).
pub fn scope(space: &str) -> String {
    format!("migrate:notion-to-confluence:{space}")
}

/// A page's migration state, as stored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PageState {
    /// The Confluence title kbridge chose.
    pub title: String,
    /// The Confluence page, once created: read from the id map (the one record of pairs),
    /// never written into the checkpoint (older stores had it there: read once, moved).
    #[serde(default, skip_serializing)]
    pub target_id: Option<String>,
    /// The version kbridge last wrote.
    #[serde(default)]
    pub version: u64,
    /// True between sending a create and recording its answer.
    #[serde(default)]
    pub creating: bool,
    /// The hash of the last title, parent and body written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// Attached files: name → Notion file key.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Labels set.
    #[serde(default)]
    pub labels: Vec<String>,
}

/// A page of the target space, as listed.
#[derive(Clone, Debug)]
struct Existing {
    id: String,
    parent: Option<String>,
}

/// Runs the migration (or only plans it), recorded in the store's `runs` (not a plan) with
/// its own request counts.
pub async fn run(
    store: &Store,
    notion: &Notion,
    conf: &Confluence,
    opts: &NotionToConfluence,
    progress: Option<ProgressFn>,
) -> Result<MigrateReport, MigrateError> {
    super::recorded(
        store,
        "migrate notion-to-confluence",
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
    opts: &NotionToConfluence,
    progress: Option<ProgressFn>,
) -> Result<MigrateReport, MigrateError> {
    let say = |p: MigrateProgress| {
        if let Some(f) = &progress {
            f(&p)
        }
    };
    let space = conf
        .spaces_for_keys(&[opts.space.as_str()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| MigrateError::Input(format!("space {} not found", opts.space)))?;
    let space_id = kb_confluence::keys::id(&space)
        .ok_or_else(|| MigrateError::Input(format!("space {} has no id", opts.space)))?;
    if let Some(p) = &opts.parent {
        let page = conf.page_with_body(p).await?;
        if kb_confluence::keys::space_id(&page).as_deref() != Some(space_id.as_str()) {
            return Err(MigrateError::Input(format!(
                "parent page {p} is not in space {}: pass a page of that space with --parent",
                opts.space
            )));
        }
    }

    say(MigrateProgress::Reading);
    let nodes = read_nodes(notion, &opts.from).await?;
    say(MigrateProgress::Read { pages: nodes.len() });

    let scope = scope(&opts.space);
    let mut states: HashMap<String, PageState> = load_states(store, &scope).await?;

    // The space's pages: titles taken by others, and pages a lost create made.
    let mut existing: HashMap<String, Existing> = HashMap::new();
    let mut listing = conf
        .space_pages(&space_id, &ContentQuery::default())?
        .pages();
    while let Some(page) = listing.try_next().await? {
        for p in page.items {
            if let (Some(id), Some(title)) =
                (kb_confluence::keys::id(&p), kb_confluence::keys::title(&p))
            {
                existing.insert(
                    title.to_string(),
                    Existing {
                        id,
                        parent: kb_confluence::keys::parent_id(&p),
                    },
                );
            }
        }
    }

    let titles = assign_titles(&nodes, &states, &existing);
    let by_id: HashMap<String, String> = nodes
        .iter()
        .zip(&titles)
        .map(|(n, t)| (n.id.clone(), t.clone()))
        .collect();

    let mut report = MigrateReport {
        pages: nodes.len(),
        ..Default::default()
    };
    for (i, node) in nodes.iter().enumerate() {
        let title = &titles[i];
        let (written, prepared) = render(node, &by_id, &opts.space);
        for f in &written.fallbacks {
            *report.fallbacks.entry(f.node.clone()).or_default() += 1;
        }
        let labels: Vec<String> = match node.kind {
            NodeKind::Row => node.db_label.iter().cloned().collect(),
            _ => Vec::new(),
        };
        let parent_target = match node.parent {
            Some(p) => states.get(&nodes[p].id).and_then(|s| s.target_id.clone()),
            None => opts.parent.clone(),
        };
        if opts.plan_only {
            report.plan.push(PlannedPage {
                notion_id: node.id.clone(),
                kind: node.kind,
                title: title.clone(),
                depth: depth(&nodes, i),
                files: prepared.files.len(),
                links: prepared.internal_links.len(),
                exists: states.get(&node.id).and_then(|s| s.target_id.clone()),
            });
            continue;
        }
        if node.parent.is_some() && parent_target.is_none() {
            report.errors.push(format!(
                "{} \"{title}\" (Notion {}): skipped because its parent page was not created",
                kind_noun(node.kind),
                node.id
            ));
            continue;
        }
        let hash = body_hash(title, parent_target.as_deref(), &written.output);
        let page = PageJob {
            store,
            conf,
            notion,
            scope: &scope,
            space_id: &space_id,
            node,
            title,
            parent: parent_target.as_deref(),
            storage: &written.output,
            hash: &hash,
            files: &prepared.files,
            labels: &labels,
            force: opts.force,
        };
        // The state as far as the page got, also when a later step failed: its children
        // still go under it.
        let state = states.entry(node.id.clone()).or_default();
        match page.run(state, &existing, &mut report).await {
            Ok(outcome) => say(MigrateProgress::Page {
                title: title.clone(),
                outcome,
            }),
            Err(e) => {
                report.errors.push(format!(
                    "{} \"{title}\" (Notion {}): {e}",
                    kind_noun(node.kind),
                    node.id
                ));
            }
        }
        report.links += prepared.internal_links.len();
        report.external_links += prepared.external_notion_links;
    }
    report.ids = nodes
        .iter()
        .filter_map(|n| Some((n.id.clone(), states.get(&n.id)?.target_id.clone()?)))
        .collect();
    Ok(report)
}

/// The trees below `from`, as one list in walk order, each page once (a root inside another
/// root's tree keeps the first place it was found).
pub(crate) async fn read_nodes(
    notion: &Notion,
    from: &[String],
) -> Result<Vec<Node>, MigrateError> {
    if from.is_empty() {
        return Err(MigrateError::Input(
            "nothing to migrate: give a Notion page or database with --from".into(),
        ));
    }
    let mut nodes: Vec<Node> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for root in from {
        if norm_id(root).is_some_and(|r| at.contains_key(&r)) {
            continue;
        }
        let walked = walk(notion, root).await?;
        let mut index = Vec::with_capacity(walked.len());
        for mut n in walked {
            if let Some(&i) = at.get(&n.id) {
                index.push(i);
                continue;
            }
            n.parent = n.parent.map(|p| index[p]);
            at.insert(n.id.clone(), nodes.len());
            index.push(nodes.len());
            nodes.push(n);
        }
    }
    Ok(nodes)
}

/// A migration state whose page pair lives in the id map.
pub(crate) trait Paired: Default {
    /// The target page of the pair.
    fn target(&mut self) -> &mut Option<String>;
}

impl Paired for PageState {
    fn target(&mut self) -> &mut Option<String> {
        &mut self.target_id
    }
}

/// The id map systems of the pairs of a migration scope: `("notion", "confluence:ENG")` for
/// `migrate:notion-to-confluence:ENG`, `("confluence", "notion:<id>")` for
/// `migrate:confluence-to-notion:<id>` (one page may be migrated into several trees).
pub(crate) fn pair_systems(scope: &str) -> (&'static str, String) {
    match scope.strip_prefix("migrate:confluence-to-notion:") {
        Some(to) => ("confluence", format!("notion:{to}")),
        None => (
            "notion",
            format!(
                "confluence:{}",
                scope
                    .strip_prefix("migrate:notion-to-confluence:")
                    .unwrap_or(scope)
            ),
        ),
    }
}

/// The id map entry of a page's pair, to commit with its state.
pub(crate) fn pair_entry(
    scope: &str,
    source_id: &str,
    target_id: &str,
    hash: Option<&str>,
) -> IdMapEntry {
    let (source_system, target_system) = pair_systems(scope);
    IdMapEntry {
        source_system: source_system.into(),
        source_id: source_id.to_string(),
        target_system,
        target_id: target_id.to_string(),
        content_hash: hash.map(str::to_string),
    }
}

/// The per-page states of the migrations of `scope`, each with its pair from the id map (the
/// one record of which page is whose): a pair without a state is a page migrated before
/// (its state starts over, the page is updated, never created again); a state of an older
/// store that still holds its pair moves the pair into the id map.
pub(crate) async fn load_states<S: serde::de::DeserializeOwned + Paired>(
    store: &Store,
    scope: &str,
) -> Result<HashMap<String, S>, MigrateError> {
    let (source_system, target_system) = pair_systems(scope);
    let pairs = store.id_map(source_system, &target_system).await?;
    let mut states: HashMap<String, S> = read_states(store, scope).await?;
    let mut legacy = Batch::new();
    for (id, state) in states.iter_mut() {
        match (pairs.get(id), state.target().clone()) {
            (Some(p), _) => *state.target() = Some(p.target_id.clone()),
            (None, Some(t)) => {
                legacy.map_id(pair_entry(scope, id, &t, None));
            }
            (None, None) => {}
        }
    }
    for (id, p) in &pairs {
        states.entry(id.clone()).or_insert_with(|| {
            let mut s = S::default();
            *s.target() = Some(p.target_id.clone());
            s
        });
    }
    if !legacy.is_empty() {
        store.commit(&legacy).await?;
    }
    Ok(states)
}

async fn read_states<S: serde::de::DeserializeOwned>(
    store: &Store,
    scope: &str,
) -> Result<HashMap<String, S>, MigrateError> {
    let mut out = HashMap::new();
    for c in store.checkpoints().await? {
        if c.scope != scope {
            continue;
        }
        // A state that cannot be read would make its page look never migrated (a duplicate
        // on the next run): stop and name it.
        let state = serde_json::from_value(c.value).map_err(|e| {
            MigrateError::Input(format!(
                "the stored migration state of {} (scope {scope}) cannot be read: {e}; \
                 restore the store from a backup, or delete that checkpoint to migrate the \
                 page as new",
                c.endpoint
            ))
        })?;
        out.insert(c.endpoint, state);
    }
    Ok(out)
}

fn kind_noun(k: NodeKind) -> &'static str {
    match k {
        NodeKind::Page => "page",
        NodeKind::Database => "database",
        NodeKind::Row => "database row",
    }
}

fn depth(nodes: &[Node], mut i: usize) -> usize {
    let mut d = 0;
    while let Some(p) = nodes[i].parent {
        d += 1;
        i = p;
    }
    d
}

/// A node's Confluence body, with links resolved through `titles` (Notion id → title) and
/// hosted files turned into attachments.
pub(crate) fn render(
    node: &Node,
    titles: &HashMap<String, String>,
    space: &str,
) -> (kb_doc::Written, super::transform::Prepared) {
    let mut doc = node.doc.clone();
    if node.kind == NodeKind::Database {
        set_report_scope(&mut doc, node, space);
    }
    let prepared = prepare(&mut doc, titles, space);
    (kb_doc::storage::write_report(&doc), prepared)
}

/// The report lists the database's rows in this space only.
fn set_report_scope(doc: &mut kb_doc::Document, node: &Node, space: &str) {
    for b in &mut doc.blocks {
        if let kb_doc::Block::PagePropertiesReport(m) = b
            && let Some(label) = &node.db_label
        {
            m.params.set("cql", report_cql(label, space));
        }
    }
}

/// The Page Properties Report's query: the database's label, in one space, both quoted once.
pub(crate) fn report_cql(label: &str, space: &str) -> String {
    use kb_confluence::cql::quote;
    format!("label = {} and space = {}", quote(label), quote(space))
}

fn body_hash(title: &str, parent: Option<&str>, storage: &str) -> String {
    let mut h = Sha256::new();
    h.update(title.as_bytes());
    h.update([0]);
    h.update(parent.unwrap_or("").as_bytes());
    h.update([0]);
    h.update(storage.as_bytes());
    hex::encode(h.finalize())
}

/// Confluence titles for every node: the title kbridge chose before when it is still what the
/// Notion title asks for, else the Notion title (or "Untitled"), made unique in the space by a
/// number — never a title a page outside this migration holds.
fn assign_titles(
    nodes: &[Node],
    states: &HashMap<String, PageState>,
    existing: &HashMap<String, Existing>,
) -> Vec<String> {
    let ours: HashSet<&str> = states
        .values()
        .filter_map(|s| s.target_id.as_deref())
        .collect();
    let creating: HashSet<&str> = states
        .values()
        .filter(|s| s.creating)
        .map(|s| s.title.as_str())
        .collect();
    let foreign = |t: &str| {
        existing
            .get(t)
            .is_some_and(|e| !ours.contains(e.id.as_str()) && !creating.contains(t))
    };
    let wanted: Vec<String> = nodes.iter().map(|n| base_title(&n.title)).collect();
    let mut taken: HashSet<String> = HashSet::new();
    let mut out = vec![String::new(); nodes.len()];
    // Keep earlier choices first, so a new page never takes an existing page's title.
    for (i, n) in nodes.iter().enumerate() {
        if let Some(s) = states.get(&n.id)
            && !s.title.is_empty()
            && title_fits(&s.title, &wanted[i])
            && !taken.contains(&s.title)
            && !foreign(&s.title)
        {
            taken.insert(s.title.clone());
            out[i] = s.title.clone();
        }
    }
    for (i, _) in nodes.iter().enumerate() {
        if !out[i].is_empty() {
            continue;
        }
        let base = &wanted[i];
        let mut t = base.clone();
        let mut k = 2;
        while taken.contains(&t) || foreign(&t) {
            t = format!("{base} ({k})");
            k += 1;
        }
        taken.insert(t.clone());
        out[i] = t;
    }
    out
}

/// Confluence's title limit is 255 characters.
fn base_title(notion: &str) -> String {
    let t = notion.split_whitespace().collect::<Vec<_>>().join(" ");
    let t = if t.is_empty() {
        "Untitled".to_string()
    } else {
        t
    };
    t.chars().take(240).collect()
}

/// `chosen` is `wanted`, or `wanted` with a number added.
fn title_fits(chosen: &str, wanted: &str) -> bool {
    chosen == wanted
        || chosen
            .strip_prefix(wanted)
            .and_then(|r| r.strip_prefix(" ("))
            .and_then(|r| r.strip_suffix(')'))
            .is_some_and(|n| n.parse::<u32>().is_ok())
}

struct PageJob<'a> {
    store: &'a Store,
    conf: &'a Confluence,
    notion: &'a Notion,
    scope: &'a str,
    space_id: &'a str,
    node: &'a Node,
    title: &'a str,
    parent: Option<&'a str>,
    storage: &'a str,
    hash: &'a str,
    files: &'a [FileNeed],
    labels: &'a [String],
    force: bool,
}

/// The version number of a Confluence page as the service sent it; without one the page's
/// state cannot be recorded honestly (a guess would make the next run's update conflict).
fn version_of(page: &Value, id: &str) -> Result<u64, MigrateError> {
    kb_confluence::keys::version_number(page).ok_or_else(|| {
        MigrateError::Input(format!(
            "Confluence page {id} came back without a version number; run again (the page is \
             recorded and will be read again)"
        ))
    })
}

impl PageJob<'_> {
    /// The Confluence page of this job's state.
    fn target(&self, state: &PageState) -> Result<String, MigrateError> {
        state.target_id.clone().ok_or_else(|| {
            MigrateError::Input(format!(
                "page \"{}\" (Notion {}) has no Confluence page recorded",
                self.title, self.node.id
            ))
        })
    }

    async fn save(&self, state: &PageState) -> Result<(), MigrateError> {
        let mut b = Batch::new();
        b.set_checkpoint(
            self.scope,
            &self.node.id,
            serde_json::to_value(state).unwrap_or(Value::Null),
        );
        if let Some(t) = &state.target_id {
            b.map_id(pair_entry(
                self.scope,
                &self.node.id,
                t,
                state.hash.as_deref(),
            ));
        }
        self.store.commit(&b).await?;
        Ok(())
    }

    async fn run(
        &self,
        state: &mut PageState,
        existing: &HashMap<String, Existing>,
        report: &mut MigrateReport,
    ) -> Result<PageOutcome, MigrateError> {
        let mut outcome = PageOutcome::Unchanged;
        // A create whose answer was lost: the page is there under its title and parent.
        if state.target_id.is_none()
            && state.creating
            && let Some(e) = existing.get(&state.title)
            && e.parent.as_deref() == self.parent.or(e.parent.as_deref())
        {
            let page = self.conf.page_with_body(&e.id).await?;
            state.target_id = Some(e.id.clone());
            state.version = version_of(&page, &e.id)?;
            state.creating = false;
            state.hash = None;
            self.save(state).await?;
            report.adopted += 1;
        }
        if state.target_id.is_none() {
            state.title = self.title.to_string();
            state.creating = true;
            self.save(state).await?;
            let new = NewPage {
                space_id: self.space_id,
                parent_id: self.parent,
                title: self.title,
                storage: self.storage,
            };
            let created = match self.conf.create_page(&new).await {
                Ok(v) => v,
                // The request may have reached Confluence (a reset, a timeout, a 5xx), or a
                // retry met its own page (a duplicate title, 400/409): it is kbridge's when the
                // page under that title is what was sent.
                Err(e) if e.status().is_none_or(|s| s >= 500 || s == 400 || s == 409) => {
                    match self.conf.page_by_title(self.space_id, self.title).await? {
                        Some(p) => {
                            let id = kb_confluence::keys::id(&p).ok_or_else(|| {
                                MigrateError::Input(format!(
                                    "the page titled \"{}\" has no id",
                                    self.title
                                ))
                            })?;
                            let current = self.conf.page_with_body(&id).await?;
                            if !new.applied_in(&current) {
                                return Err(e.into());
                            }
                            report.adopted += 1;
                            current
                        }
                        None => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            };
            let id = kb_confluence::keys::id(&created).ok_or_else(|| {
                MigrateError::Input(format!(
                    "Confluence answered the create of \"{}\" without a page id; check the \
                     space for the page and run again",
                    self.title
                ))
            })?;
            state.target_id = Some(id.clone());
            state.version = version_of(&created, &id)?;
            state.creating = false;
            state.hash = Some(self.hash.to_string());
            self.save(state).await?;
            report.created += 1;
            report.writes += 1;
            outcome = PageOutcome::Created;
        } else if state.hash.as_deref() != Some(self.hash) {
            let id = self.target(state)?;
            let update = PageUpdate {
                id: &id,
                title: self.title,
                parent_id: self.parent,
                storage: self.storage,
                version: state.version + 1,
                message: "kbridge migrate from Notion",
            };
            let updated = match self.conf.update_page(&update).await {
                Ok(v) => v,
                Err(e) if e.status() == Some(409) => {
                    let current = self.conf.page_with_body(&id).await?;
                    if update.applied_in(&current) {
                        // The echo of this very write (applied, its answer lost, retried).
                        current
                    } else {
                        // Someone wrote a version kbridge did not: overwrite only when told to.
                        let v = version_of(&current, &id)?;
                        if !self.force {
                            report.conflicts.push(format!(
                            "page {id} (\"{}\") was edited in Confluence (version {v}, kbridge wrote {}): left alone; re-run with --force to overwrite",
                            self.title, state.version
                        ));
                            return Ok(PageOutcome::Conflict);
                        }
                        self.conf
                            .update_page(&PageUpdate {
                                id: &id,
                                title: self.title,
                                parent_id: self.parent,
                                storage: self.storage,
                                version: v + 1,
                                message: "kbridge migrate from Notion (--force)",
                            })
                            .await?
                    }
                }
                Err(e) => return Err(e.into()),
            };
            state.title = self.title.to_string();
            state.version = version_of(&updated, &id)?;
            state.hash = Some(self.hash.to_string());
            self.save(state).await?;
            report.updated += 1;
            report.writes += 1;
            outcome = PageOutcome::Updated;
        }
        let id = self.target(state)?;

        // Files: the ones not attached yet, or whose Notion file changed, in one request.
        let due: Vec<&FileNeed> = self
            .files
            .iter()
            .filter(|f| state.files.get(&f.filename) != Some(&f.key))
            .collect();
        if !due.is_empty() {
            let mut blobs = Vec::with_capacity(due.len());
            for f in &due {
                blobs.push(
                    self.notion
                        .download(&f.url)
                        .await
                        .map_err(|e| MigrateError::File {
                            name: f.filename.clone(),
                            page: self.title.to_string(),
                            message: e.to_string(),
                        })?,
                );
            }
            let uploads: Vec<Upload<'_>> = due
                .iter()
                .zip(&blobs)
                .map(|(f, b)| Upload {
                    filename: &f.filename,
                    media_type: media_type(&f.filename),
                    bytes: b,
                })
                .collect();
            let stored = self.conf.put_attachments(&id, &uploads).await?;
            // Confluence names an attachment from the multipart header; the body references
            // the name kbridge sent. Each must be stored under exactly that name, or the page
            // would point at a file that is not there.
            let titles: Vec<&str> = stored
                .iter()
                .filter_map(|a| kb_confluence::keys::title(a))
                .collect();
            for f in &due {
                if !titles.contains(&f.filename.as_str()) {
                    return Err(MigrateError::File {
                        name: f.filename.clone(),
                        page: self.title.to_string(),
                        message: format!(
                            "Confluence did not store the file under that name (it answered {}): rename the file in Notion and run again",
                            if titles.is_empty() {
                                "no attachment".to_string()
                            } else {
                                titles.join(", ")
                            }
                        ),
                    });
                }
            }
            for f in &due {
                state.files.insert(f.filename.clone(), f.key.clone());
            }
            self.save(state).await?;
            report.files += due.len();
            report.writes += 1;
            if outcome == PageOutcome::Unchanged {
                outcome = PageOutcome::Updated;
            }
        }
        let missing: Vec<&str> = self
            .labels
            .iter()
            .filter(|l| !state.labels.contains(l))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            self.conf.add_labels(&id, &missing).await?;
            state.labels.extend(missing.iter().map(|s| s.to_string()));
            self.save(state).await?;
            report.writes += 1;
        }
        Ok(outcome)
    }
}

/// A media type from a file name's extension (Confluence shows images inline by it).
pub fn media_type(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" | "md" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod report_tests {
    use super::report_cql;

    /// The twin's CQL parser (not kbridge's) judges the query.
    #[tokio::test]
    async fn the_report_query_is_valid_cql_for_any_space_key() {
        let sim = kb_sim::start(kb_sim::SimConfig::default()).await.unwrap();
        let c = &sim.credentials()[0];
        let http = reqwest::Client::new();
        for space in ["ENG", "~5f1a2b", "Q\"A"] {
            let cql = report_cql("kb-db-tasks", space);
            assert_eq!(cql.matches("\"\"").count(), 0, "{cql}");
            let r = http
                .get(format!("{}/rest/api/content/search", sim.confluence_url()))
                .query(&[("cql", cql.as_str())])
                .basic_auth(&c.email, Some(&c.token))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{cql}: {}", r.text().await.unwrap());
        }
    }
}
