//! `kbridge verify`: the parity report of a migration. It re-reads both sides — the Notion tree
//! and the Confluence pages the id map points to — and says per page whether the page is
//! there, its text and structure match what the source says, every link to a migrated page
//! resolves to that page, and every file is attached with the same size.

use std::collections::{BTreeMap, HashMap};

use kb_confluence::{Confluence, ContentKind, ContentQuery};
use kb_doc::visit::{VisitMut, visit_document};
use kb_doc::{Document, Inline, LinkTarget};
use kb_notion::Notion;
use kb_store::Store;
use serde::Serialize;
use serde_json::Value;

use super::MigrateError;
pub use super::c2n::verify as confluence_to_notion;
use super::n2c::{load_states, read_nodes, render, scope};
use super::source::NodeKind;

/// One page's parity.
#[derive(Clone, Debug, Serialize)]
pub struct PageParity {
    pub notion_id: String,
    pub kind: NodeKind,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confluence_id: Option<String>,
    pub present: bool,
    pub text: bool,
    pub structure: bool,
    /// Links to migrated pages the source has.
    pub links: usize,
    /// Of those, links in the Confluence page that name the right page of the space.
    pub links_resolved: usize,
    /// Files the source has.
    pub files: usize,
    /// Of those, attachments of the Confluence page with the same name and size.
    pub files_attached: usize,
    /// What differs, in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl PageParity {
    pub fn ok(&self) -> bool {
        self.present
            && self.text
            && self.structure
            && self.links == self.links_resolved
            && self.files == self.files_attached
    }

    /// Text and structure of the page as read back (`actual`) against what the migration
    /// writes (`expected`), both normalised through the IR.
    pub(crate) fn compare(&mut self, actual: &Document, expected: &Document) {
        self.text =
            squash(&kb_doc::text::to_text(actual)) == squash(&kb_doc::text::to_text(expected));
        if !self.text {
            self.problems.push("text differs".into());
        }
        self.structure = shape(actual) == shape(expected);
        if !self.structure {
            self.problems.push("block structure differs".into());
        }
    }

    /// One link the source has: resolved when `found` (the links read back, each counted once)
    /// holds `want` and `right` says it reaches the migrated page; else `problem` is reported.
    pub(crate) fn link(
        &mut self,
        found: &mut Vec<String>,
        want: &str,
        right: bool,
        problem: impl FnOnce() -> String,
    ) {
        match found.iter().position(|f| f == want) {
            Some(i) if right => {
                found.swap_remove(i);
                self.links_resolved += 1;
            }
            _ => self.problems.push(problem()),
        }
    }
}

/// Totals of a parity report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ParitySummary {
    pub pages: usize,
    pub present: usize,
    pub text_equal: usize,
    pub structure_equal: usize,
    pub links: usize,
    pub links_resolved: usize,
    pub files: usize,
    pub files_attached: usize,
}

/// The parity report.
#[derive(Clone, Debug, Serialize)]
pub struct ParityReport {
    /// The verification's row in the store's `runs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
    /// This verification's requests by service.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, u64>,
    pub ok: bool,
    pub summary: ParitySummary,
    pub pages: Vec<PageParity>,
}

/// Re-reads a Notion → Confluence migration of `from` into `space` and compares.
pub async fn notion_to_confluence(
    store: &Store,
    notion: &Notion,
    conf: &Confluence,
    from: &[String],
    space: &str,
) -> Result<ParityReport, MigrateError> {
    super::recorded_verify(
        store,
        "verify notion-to-confluence",
        notion,
        conf,
        notion_to_confluence_job(store, notion, conf, from, space),
    )
    .await
}

async fn notion_to_confluence_job(
    store: &Store,
    notion: &Notion,
    conf: &Confluence,
    from: &[String],
    space: &str,
) -> Result<ParityReport, MigrateError> {
    let space_obj = conf
        .spaces_for_keys(&[space])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| MigrateError::Input(format!("space {space} not found")))?;
    let space_id = kb_confluence::keys::id(&space_obj).unwrap_or_default();
    let nodes = read_nodes(notion, from).await?;
    let states: HashMap<String, super::n2c::PageState> = load_states(store, &scope(space)).await?;
    // Titles as the migration chose them; a page never migrated keeps its Notion title, so
    // links to it are counted and reported unresolved.
    let titles: HashMap<String, String> = nodes
        .iter()
        .map(|n| {
            let t = states
                .get(&n.id)
                .map(|s| s.title.clone())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| n.title.clone());
            (n.id.clone(), t)
        })
        .collect();
    let listed = conf
        .space_pages(&space_id, &ContentQuery::default())?
        .all()
        .await?;
    let id_of_title: HashMap<&str, &str> = listed
        .iter()
        .filter_map(|p| {
            Some((
                kb_confluence::keys::title(p)?,
                p.get("id").and_then(Value::as_str)?,
            ))
        })
        .collect();

    let mut pages = Vec::with_capacity(nodes.len());
    for node in &nodes {
        let (written, prepared) = render(node, &titles, space);
        let target = states.get(&node.id).and_then(|s| s.target_id.clone());
        let mut p = PageParity {
            notion_id: node.id.clone(),
            kind: node.kind,
            title: titles[&node.id].clone(),
            confluence_id: target.clone(),
            present: false,
            text: false,
            structure: false,
            links: prepared.internal_links.len(),
            links_resolved: 0,
            files: prepared.files.len(),
            files_attached: 0,
            problems: Vec::new(),
        };
        let Some(id) = target else {
            p.problems
                .push("not migrated (no Confluence page in the id map)".into());
            pages.push(p);
            continue;
        };
        let page = match conf.page_with_body(&id).await {
            Ok(v) => v,
            Err(e) => {
                p.problems
                    .push(format!("Confluence page {id} cannot be read: {e}"));
                pages.push(p);
                continue;
            }
        };
        p.present = true;
        let Some(body) = page.pointer("/body/storage/value").and_then(Value::as_str) else {
            p.problems.push(format!(
                "Confluence page {id} came back without its storage body"
            ));
            pages.push(p);
            continue;
        };
        let (actual, expected) = match (
            kb_doc::storage::read(body),
            kb_doc::storage::read(&written.output),
        ) {
            (Ok(a), Ok(e)) => (a, e),
            (Err(e), _) => {
                p.problems.push(format!(
                    "the body of Confluence page {id} cannot be read: {e}"
                ));
                pages.push(p);
                continue;
            }
            (_, Err(e)) => {
                p.problems
                    .push(format!("the body kbridge writes cannot be read back: {e}"));
                pages.push(p);
                continue;
            }
        };
        p.compare(&actual, &expected);
        // And against the Notion source itself, read independently of kb-doc: lost words
        // differ (a page written empty, a block the writer dropped).
        match super::words::storage_words(body, true) {
            Ok(target) => {
                let lost = super::words::missing(&node.source_words, &target);
                if let Some(problem) = super::words::problem(&lost) {
                    p.text = false;
                    p.problems.push(problem);
                }
            }
            Err(e) => {
                p.text = false;
                p.problems.push(format!(
                    "the body of Confluence page {id} cannot be read: {e}"
                ));
            }
        }
        // Links: each expected target title must be linked, and name this page's counterpart.
        let mut found = page_links(&actual, space);
        for nid in &prepared.internal_links {
            let want = &titles[nid];
            let right = states.get(nid).and_then(|s| s.target_id.as_deref());
            p.link(
                &mut found,
                want,
                right.is_some() && id_of_title.get(want.as_str()).copied() == right,
                || format!("link to \"{want}\" does not reach its migrated page"),
            );
        }
        // Files: same name and size as the Notion file.
        if !prepared.files.is_empty() {
            let atts = conf
                .content_attachments(ContentKind::Page, &id)?
                .all()
                .await?;
            let sizes: BTreeMap<&str, u64> = atts
                .iter()
                .filter_map(|a| {
                    Some((
                        kb_confluence::keys::title(a)?,
                        a.get("fileSize").and_then(Value::as_u64)?,
                    ))
                })
                .collect();
            for f in &prepared.files {
                let source = notion.download(&f.url).await.map(|b| b.len() as u64);
                match (sizes.get(f.filename.as_str()), source) {
                    (Some(a), Ok(s)) if *a == s => p.files_attached += 1,
                    (None, _) => p
                        .problems
                        .push(format!("file {} is not attached", f.filename)),
                    (Some(a), Ok(s)) => p.problems.push(format!(
                        "file {}: {a} bytes attached, {s} in Notion",
                        f.filename
                    )),
                    (Some(_), Err(e)) => p
                        .problems
                        .push(format!("file {}: Notion copy unreadable: {e}", f.filename)),
                }
            }
        }
        pages.push(p);
    }
    Ok(ParityReport::of(pages))
}

impl ParityReport {
    /// The report of `pages`, with its totals.
    pub fn of(pages: Vec<PageParity>) -> ParityReport {
        let mut s = ParitySummary {
            pages: pages.len(),
            ..Default::default()
        };
        for p in &pages {
            s.present += usize::from(p.present);
            s.text_equal += usize::from(p.text);
            s.structure_equal += usize::from(p.structure);
            s.links += p.links;
            s.links_resolved += p.links_resolved;
            s.files += p.files;
            s.files_attached += p.files_attached;
        }
        ParityReport {
            run_id: None,
            requests: BTreeMap::new(),
            ok: pages.iter().all(PageParity::ok),
            summary: s,
            pages,
        }
    }
}

/// Text with runs of white space as one space, trimmed.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The document's block and inline kinds in order (what "structure" compares).
fn shape(doc: &Document) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(t)) = m.get("type") {
                    out.push(t.clone());
                }
                for (k, x) in m {
                    if k != "attrs" && k != "params" {
                        walk(x, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&serde_json::to_value(doc).unwrap_or(Value::Null), &mut out);
    out
}

/// The titles of the links to pages of `space` (or of no named space) in `doc`.
fn page_links(doc: &Document, space: &str) -> Vec<String> {
    struct Links<'a>(Vec<String>, &'a str);
    impl VisitMut for Links<'_> {
        fn inline(&mut self, i: &mut Inline) {
            if let Inline::Link(l) = i
                && let LinkTarget::Page {
                    title: Some(t),
                    space_key,
                    ..
                } = &l.target
                && space_key.as_deref().is_none_or(|k| k == self.1)
            {
                self.0.push(t.clone());
            }
        }
    }
    let mut v = Links(Vec::new(), space);
    let mut d = doc.clone();
    visit_document(&mut d, &mut v);
    v.0
}
