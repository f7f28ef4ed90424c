//! The minimal patch that turns a Notion page's blocks into a document: blocks that still say
//! the same are kept, a block whose text changed is updated in place (`PATCH /v1/blocks/{id}`,
//! so its id, comments and the links to it survive), new blocks are appended after their
//! predecessor, and blocks that went away are deleted. Never delete-and-recreate a page.
//!
//! Pure: the planner compares request-shaped blocks. A block read from Notion is put through
//! the codec (read, then written) before the comparison, so it compares in the shape the
//! writer gives the document's blocks.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use kb_doc::Document;
use kb_doc::notion::model::Block;
use kb_doc::notion::{blocks, read_blocks, request_block};
use serde_json::Value;

/// One step of a patch, in the order to send.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// `PATCH /v1/blocks/{id}` with `body` (`{"<type>": {…}}`, no children).
    Update { id: String, body: Value },
    /// Append `blocks` (the writer's blocks, children included) after block `after`
    /// (`None`: at the top of the page).
    Insert {
        after: Option<String>,
        blocks: Vec<Block>,
    },
    /// `DELETE /v1/blocks/{id}`.
    Delete { id: String },
}

/// A planned patch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Patch {
    pub steps: Vec<Step>,
    /// Blocks kept as they are.
    pub kept: usize,
}

impl Patch {
    /// Whether a step would create or change a file block: sync does not carry files yet.
    pub fn brings_files(&self) -> bool {
        self.steps.iter().any(|s| match s {
            Step::Update { body, .. } => body.to_string().contains("kbridge-"),
            Step::Insert { blocks, .. } => blocks
                .iter()
                .any(|b| request_block(b).to_string().contains("\"file_upload\"")),
            Step::Delete { .. } => false,
        })
    }

    /// Whether the page already shows the document.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Blocks updated in place.
    pub fn updates(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s, Step::Update { .. }))
            .count()
    }
}

fn hash(v: &Value) -> u64 {
    let mut h = DefaultHasher::new();
    v.to_string().hash(&mut h);
    h.finish()
}

/// A Notion block as the writer would write it: read (without its id) and written again. A
/// block the codec turns into several (or none) has no single counterpart: `None`.
fn canonical(b: &Block) -> Option<Value> {
    fn strip(b: &Block) -> Block {
        let mut c = b.clone();
        c.id = None;
        c.extra.clear();
        c.children = b.children.iter().map(strip).collect();
        c
    }
    let mut doc = read_blocks(&[strip(b)]);
    super::pass::unsigned_files(&mut doc);
    let mut nb = blocks(&doc).blocks;
    (nb.len() == 1).then(|| request_block(&nb.remove(0)))
}

/// The body of an in-place update of a block to `desired`: its type object without children.
/// `None` when the block cannot be updated in place (it has children, or a type whose
/// content the update endpoint does not take).
fn update_body(desired: &Value) -> Option<Value> {
    let kind = desired.get("type")?.as_str()?;
    const IN_PLACE: &[&str] = &[
        "paragraph",
        "heading_1",
        "heading_2",
        "heading_3",
        "bulleted_list_item",
        "numbered_list_item",
        "to_do",
        "quote",
        "callout",
        "code",
        "equation",
        "divider",
    ];
    if !IN_PLACE.contains(&kind) {
        return None;
    }
    let mut obj = desired.get(kind)?.as_object()?.clone();
    if obj
        .get("children")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty())
    {
        return None;
    }
    obj.remove("children");
    // The icon of a callout is kept as it is; only its text and color are sent.
    obj.remove("icon");
    Some(serde_json::json!({ kind: obj }))
}

/// The patch from `current` (a page's first-level blocks, with their ids and fetched
/// children) to `doc`.
pub fn plan(current: &[Block], doc: &Document) -> Patch {
    let desired: Vec<Block> = blocks(doc).blocks;
    let want: Vec<Value> = desired.iter().map(request_block).collect();
    let have: Vec<Option<Value>> = current.iter().map(canonical).collect();
    // A current block without a single counterpart never matches: a unique key per block.
    let hk: Vec<u64> = have
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Some(v) => hash(v),
            None => u64::MAX - i as u64,
        })
        .collect();
    let wk: Vec<u64> = want.iter().map(hash).collect();
    let mut m = kb_doc::merge::align(&hk, &wk);
    // Notion cannot insert before a page's first block (`after` names a predecessor): when
    // the document starts with new blocks, the first block joins them in the first gap (it
    // is updated in place to the first of them, or recreated after them).
    if let Some(Some(y)) = m.first().copied()
        && y > 0
        && have[0].is_some()
    {
        m[0] = None;
    }
    let mut patch = Patch::default();
    let mut after: Option<String> = None;
    let (mut i, mut j) = (0, 0);
    loop {
        // The next kept pair at or after (i, j).
        let next = (i..current.len()).find_map(|x| m[x].filter(|&y| y >= j).map(|y| (x, y)));
        let (x, y) = next.unwrap_or((current.len(), desired.len()));
        // The gap: current[i..x] becomes desired[j..y].
        let (old, new) = (&current[i..x], j..y);
        let pairs = old.len().min(new.len());
        let mut pending: Vec<Block> = Vec::new();
        let flush = |pending: &mut Vec<Block>, after: &Option<String>, steps: &mut Vec<Step>| {
            if !pending.is_empty() {
                steps.push(Step::Insert {
                    after: after.clone(),
                    blocks: std::mem::take(pending),
                });
            }
        };
        for (k, b) in old.iter().enumerate() {
            let Some(id) = b.id.clone().filter(|_| have[i + k].is_some()) else {
                // A block the codec cannot write back (a child page, a synced block, an
                // unsupported block), or one without an id: never touched.
                flush(&mut pending, &after, &mut patch.steps);
                if b.id.is_some() {
                    after = b.id.clone();
                }
                patch.kept += 1;
                continue;
            };
            let target = (k < pairs).then(|| j + k);
            let same_kind = target.is_some_and(|t| {
                want[t].get("type").and_then(Value::as_str) == Some(b.kind.as_str())
                    && b.children.is_empty()
                    && !b.has_children
            });
            match (target, same_kind) {
                (Some(t), true) if update_body(&want[t]).is_some() => {
                    flush(&mut pending, &after, &mut patch.steps);
                    if let Some(body) = update_body(&want[t]) {
                        patch.steps.push(Step::Update {
                            id: id.clone(),
                            body,
                        });
                    }
                    after = Some(id);
                }
                (t, _) => {
                    patch.steps.push(Step::Delete { id });
                    if let Some(t) = t {
                        pending.push(desired[t].clone());
                    }
                }
            }
        }
        for t in new.clone().skip(pairs) {
            pending.push(desired[t].clone());
        }
        flush(&mut pending, &after, &mut patch.steps);
        if x == current.len() {
            break;
        }
        patch.kept += 1;
        after = current[x].id.clone();
        (i, j) = (x + 1, y + 1);
    }
    // Inserts after a deleted block would have no anchor: a deletion is sent after the
    // inserts that follow it.
    // An insert with no predecessor goes after the page's first block, which the patch
    // deletes (it is in the first gap).
    let first = current.first().and_then(|b| b.id.clone());
    for s in &mut patch.steps {
        if let Step::Insert { after, .. } = s
            && after.is_none()
        {
            after.clone_from(&first);
        }
    }
    let (deletes, others): (Vec<Step>, Vec<Step>) = patch
        .steps
        .into_iter()
        .partition(|s| matches!(s, Step::Delete { .. }));
    patch.steps = others.into_iter().chain(deletes).collect();
    patch
}
