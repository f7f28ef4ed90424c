//! Three-way merge of documents in the IR, for two-way sync: given the *base* both sides last
//! agreed on and the two current versions, keep every edit that does not collide with another.
//!
//! The rule is the conservative one of diff3, applied block by block and, inside a block both
//! sides edited, down to the words:
//! - blocks are aligned by content (an LCS over content hashes, from the `similar` crate), so
//!   an edit, an insert or a removal on one side is taken when the other side left that part
//!   alone;
//! - both sides made the same change: taken once;
//! - both sides edited the *same* block: containers (lists, task lists, quotes, panels,
//!   expands) merge their children the same way; paragraphs and headings merge their text as
//!   word runs (diff3 again), so edits to different words of one paragraph both apply;
//! - an edit next to an insertion on the other side merges;
//! - anything else that both sides changed differently is a [`Piece::Conflict`] holding the
//!   base and both versions, and nothing of it is guessed.
//!
//! Pure: no I/O, no clock. Policies (`prefer` one side, `newest`) are applied by the caller
//! through [`Merge::resolve`].

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use serde::Serialize;
use similar::{Algorithm, DiffOp, capture_diff_slices};

use crate::ir::{Block, Callout, Document, Expand, Inline, List, ListItem, TaskItem};

/// Which side a conflict is settled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The first version given to [`merge`].
    Ours,
    /// The second.
    Theirs,
}

/// A part of the merged document.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece<T> {
    /// Merged without a collision.
    Clean(T),
    /// Both sides changed this part differently.
    Conflict {
        /// What both sides agreed on before.
        base: Vec<T>,
        /// The first side's version of the part.
        ours: Vec<T>,
        /// The second side's.
        theirs: Vec<T>,
    },
}

/// The result of [`merge`]: the document as pieces, clean or conflicting.
#[derive(Clone, Debug, PartialEq)]
pub struct Merge {
    /// In document order.
    pub pieces: Vec<Piece<Block>>,
}

impl Merge {
    /// Whether nothing collided.
    pub fn is_clean(&self) -> bool {
        self.pieces.iter().all(|p| matches!(p, Piece::Clean(_)))
    }

    /// How many conflicting parts there are.
    pub fn conflicts(&self) -> usize {
        self.pieces
            .iter()
            .filter(|p| matches!(p, Piece::Conflict { .. }))
            .count()
    }

    /// The merged document when it is clean.
    pub fn clean(&self) -> Option<Document> {
        self.is_clean().then(|| self.resolve(Side::Ours))
    }

    /// The merged document with every conflict settled for `side`.
    pub fn resolve(&self, side: Side) -> Document {
        let mut blocks = Vec::new();
        for p in &self.pieces {
            match p {
                Piece::Clean(b) => blocks.push(b.clone()),
                Piece::Conflict { ours, theirs, .. } => blocks.extend(
                    match side {
                        Side::Ours => ours,
                        Side::Theirs => theirs,
                    }
                    .iter()
                    .cloned(),
                ),
            }
        }
        Document { blocks }
    }
}

/// Merges `ours` and `theirs`, both derived from `base`.
pub fn merge(base: &Document, ours: &Document, theirs: &Document) -> Merge {
    Merge {
        pieces: merge_seq(&base.blocks, &ours.blocks, &theirs.blocks),
    }
}

/// A node of a sequence that can be merged when both sides edited it.
trait Node: Clone + PartialEq + Serialize {
    fn merge3(base: &Self, ours: &Self, theirs: &Self) -> Option<Self>;
}

/// The value both changes agree on: equal sides, or the side that changed when the other did not.
fn pick3<T: PartialEq + Clone>(base: &T, ours: &T, theirs: &T) -> Option<T> {
    if ours == theirs || theirs == base {
        Some(ours.clone())
    } else if ours == base {
        Some(theirs.clone())
    } else {
        None
    }
}

fn key<T: Serialize>(v: &T) -> u64 {
    let mut h = DefaultHasher::new();
    match serde_json::to_vec(v) {
        Ok(bytes) => bytes.hash(&mut h),
        // Unserialisable nodes do not occur in the IR; hash their address so that they are
        // never taken for another node.
        Err(_) => (v as *const T as usize).hash(&mut h),
    }
    h.finish()
}

/// Above this many cells (after the common ends are set aside), [`matching`] uses the plain
/// LCS instead of the edit-distance alignment.
const ALIGN_CELLS: usize = 4_000_000;

/// `m[i]` = the index in the side matched to base index `i`.
///
/// The alignment is the one with the fewest edits, where replacing a node in place counts as
/// one edit, like removing or inserting one. Where equal nodes repeat (empty paragraphs, "a"
/// and "a"), a longest common subsequence alone may pair a kept node with the wrong copy and
/// turn one edit into "insert a copy here, remove the original there", which then collides
/// with an edit of the other copy on the other side; the fewest-edits alignment keeps an edit
/// an edit. Among equally short alignments it prefers keeping a node, then replacing it.
/// Very long sequences (more than [`ALIGN_CELLS`]) fall back to the LCS (Myers).
fn matching(base: &[u64], side: &[u64]) -> Vec<Option<usize>> {
    align(base, side)
}

/// The alignment [`merge`] uses, for callers that patch a sequence in place (the sync's
/// Notion block patch): `m[i]` = the index in `side` of the element kept as `base[i]`, by
/// the fewest edits (a replaced element counts once, like an insert or a removal).
pub fn align(base: &[u64], side: &[u64]) -> Vec<Option<usize>> {
    let mut m = vec![None; base.len()];
    let head = base.iter().zip(side).take_while(|(a, b)| a == b).count();
    let tail = base[head..]
        .iter()
        .rev()
        .zip(side[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    for (p, slot) in m.iter_mut().enumerate().take(head) {
        *slot = Some(p);
    }
    for d in 0..tail {
        m[base.len() - 1 - d] = Some(side.len() - 1 - d);
    }
    let (b, s) = (
        &base[head..base.len() - tail],
        &side[head..side.len() - tail],
    );
    if (b.len() + 1).saturating_mul(s.len() + 1) > ALIGN_CELLS {
        for op in capture_diff_slices(Algorithm::Myers, b, s) {
            if let DiffOp::Equal {
                old_index,
                new_index,
                len,
            } = op
            {
                for d in 0..len {
                    m[head + old_index + d] = Some(head + new_index + d);
                }
            }
        }
        return m;
    }
    // cost[i][j]: the fewest edits turning b[i..] into s[j..].
    let w = s.len() + 1;
    let mut cost = vec![0u32; (b.len() + 1) * w];
    for i in (0..=b.len()).rev() {
        for j in (0..=s.len()).rev() {
            cost[i * w + j] = if i == b.len() {
                (s.len() - j) as u32
            } else if j == s.len() {
                (b.len() - i) as u32
            } else {
                let diag = cost[(i + 1) * w + j + 1] + u32::from(b[i] != s[j]);
                diag.min(1 + cost[(i + 1) * w + j])
                    .min(1 + cost[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < b.len() && j < s.len() {
        let here = cost[i * w + j];
        if b[i] == s[j] && here == cost[(i + 1) * w + j + 1] {
            m[head + i] = Some(head + j);
            (i, j) = (i + 1, j + 1);
        } else if here == 1 + cost[(i + 1) * w + j + 1] {
            // Replaced in place: the base node is not kept.
            (i, j) = (i + 1, j + 1);
        } else if here == 1 + cost[(i + 1) * w + j] {
            i += 1;
        } else {
            j += 1;
        }
    }
    m
}

fn merge_seq<T: Node>(base: &[T], ours: &[T], theirs: &[T]) -> Vec<Piece<T>> {
    let bk: Vec<u64> = base.iter().map(key).collect();
    let ok: Vec<u64> = ours.iter().map(key).collect();
    let tk: Vec<u64> = theirs.iter().map(key).collect();
    let mo = matching(&bk, &ok);
    let mt = matching(&bk, &tk);
    let mut out = Vec::new();
    let (mut i, mut j, mut k) = (0, 0, 0);
    loop {
        // The next base node kept by both sides, at or after the current positions.
        let next = (i..base.len()).find_map(|x| match (mo[x], mt[x]) {
            (Some(y), Some(z)) if y >= j && z >= k => Some((x, y, z)),
            _ => None,
        });
        let (x, y, z) = next.unwrap_or((base.len(), ours.len(), theirs.len()));
        if x > i || y > j || z > k {
            chunk(&base[i..x], &ours[j..y], &theirs[k..z], &mut out);
        }
        if x == base.len() {
            break;
        }
        out.push(Piece::Clean(ours[y].clone()));
        (i, j, k) = (x + 1, y + 1, z + 1);
    }
    out
}

/// An unstable chunk: what lies between two nodes both sides kept.
fn chunk<T: Node>(b: &[T], o: &[T], t: &[T], out: &mut Vec<Piece<T>>) {
    let clean = |v: &[T], out: &mut Vec<Piece<T>>| out.extend(v.iter().cloned().map(Piece::Clean));
    if o == b {
        return clean(t, out);
    }
    if t == b || o == t {
        return clean(o, out);
    }
    // Same shape on all three: merge position by position.
    if b.len() == o.len() && b.len() == t.len() {
        let merged: Option<Vec<T>> = (0..b.len())
            .map(|p| pick3(&b[p], &o[p], &t[p]).or_else(|| T::merge3(&b[p], &o[p], &t[p])))
            .collect();
        if let Some(m) = merged {
            return clean(&m, out);
        }
    }
    // One side edited in place, the other only inserted around the base nodes.
    if b.len() == o.len()
        && let Some(m) = edits_into_insertions(b, o, t)
    {
        return clean(&m, out);
    }
    if b.len() == t.len()
        && let Some(m) = edits_into_insertions(b, t, o)
    {
        return clean(&m, out);
    }
    out.push(Piece::Conflict {
        base: b.to_vec(),
        ours: o.to_vec(),
        theirs: t.to_vec(),
    });
}

/// `edited` has one node per base node (edited in place); `grown` holds every base node, in
/// order, with insertions between them: apply the edits to the grown sequence.
fn edits_into_insertions<T: Node>(b: &[T], edited: &[T], grown: &[T]) -> Option<Vec<T>> {
    let mut result = grown.to_vec();
    let mut at = 0;
    for (p, base_node) in b.iter().enumerate() {
        let found = (at..grown.len()).find(|&q| grown[q] == *base_node)?;
        result[found] = edited[p].clone();
        at = found + 1;
    }
    Some(result)
}

/// A block split into what it holds (merged as a sequence) and the rest of it (its "shell").
enum Children {
    Inlines(Vec<Inline>),
    Blocks(Vec<Block>),
    Items(Vec<ListItem>),
    Tasks(Vec<TaskItem>),
}

fn split(b: &Block) -> Option<(Block, Children)> {
    let mut shell = b.clone();
    let children = match &mut shell {
        Block::Paragraph { content, .. }
        | Block::Plain { content }
        | Block::Heading { content, .. } => Children::Inlines(std::mem::take(content)),
        Block::Quote { blocks, .. }
        | Block::Callout(Callout { blocks, .. })
        | Block::Expand(Expand { blocks, .. }) => Children::Blocks(std::mem::take(blocks)),
        Block::List(List { items, .. }) => Children::Items(std::mem::take(items)),
        Block::TaskList { items, .. } => Children::Tasks(std::mem::take(items)),
        _ => return None,
    };
    Some((shell, children))
}

fn join(mut shell: Block, children: Children) -> Option<Block> {
    match (&mut shell, children) {
        (
            Block::Paragraph { content, .. }
            | Block::Plain { content }
            | Block::Heading { content, .. },
            Children::Inlines(c),
        ) => *content = c,
        (
            Block::Quote { blocks, .. }
            | Block::Callout(Callout { blocks, .. })
            | Block::Expand(Expand { blocks, .. }),
            Children::Blocks(c),
        ) => *blocks = c,
        (Block::List(List { items, .. }), Children::Items(c)) => *items = c,
        (Block::TaskList { items, .. }, Children::Tasks(c)) => *items = c,
        _ => return None,
    }
    Some(shell)
}

/// Merges three sequences completely, or not at all.
fn merge_all<T: Node>(b: &[T], o: &[T], t: &[T]) -> Option<Vec<T>> {
    merge_seq(b, o, t)
        .into_iter()
        .map(|p| match p {
            Piece::Clean(x) => Some(x),
            Piece::Conflict { .. } => None,
        })
        .collect()
}

impl Node for Block {
    fn merge3(base: &Block, ours: &Block, theirs: &Block) -> Option<Block> {
        let (bs, bc) = split(base)?;
        let (os, oc) = split(ours)?;
        let (ts, tc) = split(theirs)?;
        let shell = pick3(&bs, &os, &ts)?;
        let children = match (bc, oc, tc) {
            (Children::Inlines(b), Children::Inlines(o), Children::Inlines(t)) => {
                Children::Inlines(merge_inlines(&b, &o, &t)?)
            }
            (Children::Blocks(b), Children::Blocks(o), Children::Blocks(t)) => {
                Children::Blocks(merge_all(&b, &o, &t)?)
            }
            (Children::Items(b), Children::Items(o), Children::Items(t)) => {
                Children::Items(merge_all(&b, &o, &t)?)
            }
            (Children::Tasks(b), Children::Tasks(o), Children::Tasks(t)) => {
                Children::Tasks(merge_all(&b, &o, &t)?)
            }
            _ => return None,
        };
        join(shell, children)
    }
}

impl Node for ListItem {
    fn merge3(base: &ListItem, ours: &ListItem, theirs: &ListItem) -> Option<ListItem> {
        Some(ListItem {
            attrs: pick3(&base.attrs, &ours.attrs, &theirs.attrs)?,
            blocks: merge_all(&base.blocks, &ours.blocks, &theirs.blocks)?,
        })
    }
}

impl Node for TaskItem {
    fn merge3(base: &TaskItem, ours: &TaskItem, theirs: &TaskItem) -> Option<TaskItem> {
        let shell = |t: &TaskItem| TaskItem {
            body: Vec::new(),
            ..t.clone()
        };
        let mut merged = pick3(&shell(base), &shell(ours), &shell(theirs))?;
        merged.body = merge_all(&base.body, &ours.body, &theirs.body)?;
        Some(merged)
    }
}

/// The wrappers around a run of text, outermost first: a mark or a span without its content.
type Path = Vec<Inline>;

/// One word, one run of spaces, one punctuation character, or one atomic inline (a link, an
/// image, a mention…), with the marks around it.
#[derive(Clone, Debug, PartialEq, Serialize)]
struct Token {
    path: Path,
    atom: Inline,
}

impl Node for Token {
    fn merge3(_: &Token, _: &Token, _: &Token) -> Option<Token> {
        None
    }
}

fn merge_inlines(b: &[Inline], o: &[Inline], t: &[Inline]) -> Option<Vec<Inline>> {
    let (b, o, t) = (tokens(b), tokens(o), tokens(t));
    merge_all(&b, &o, &t).map(|m| rebuild(&m))
}

fn tokens(content: &[Inline]) -> Vec<Token> {
    let mut out = Vec::new();
    walk(content, &mut Vec::new(), &mut out);
    out
}

fn walk(content: &[Inline], path: &mut Path, out: &mut Vec<Token>) {
    for i in content {
        match i {
            Inline::Text { text } => {
                for w in words(text) {
                    out.push(Token {
                        path: path.clone(),
                        atom: Inline::Text {
                            text: w.to_string(),
                        },
                    });
                }
            }
            Inline::Mark { content, .. } | Inline::Span { content, .. } => {
                let mut wrapper = i.clone();
                if let Inline::Mark { content: c, .. } | Inline::Span { content: c, .. } =
                    &mut wrapper
                {
                    c.clear();
                }
                path.push(wrapper);
                walk(content, path, out);
                path.pop();
            }
            other => out.push(Token {
                path: path.clone(),
                atom: other.clone(),
            }),
        }
    }
}

/// Words (letters and digits), runs of white space, and single other characters.
fn words(text: &str) -> Vec<&str> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Word,
        Space,
        Other,
    }
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' || c == '\'' {
            Class::Word
        } else if c.is_whitespace() {
            Class::Space
        } else {
            Class::Other
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<Class> = None;
    for (at, c) in text.char_indices() {
        let cl = class(c);
        if let Some(p) = prev
            && (p != cl || cl == Class::Other)
        {
            out.push(&text[start..at]);
            start = at;
        }
        prev = Some(cl);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Tokens back into inlines: consecutive tokens under the same wrapper share one node, adjacent
/// text is one text node.
fn rebuild(tokens: &[Token]) -> Vec<Inline> {
    build(tokens, 0)
}

fn build(tokens: &[Token], depth: usize) -> Vec<Inline> {
    let mut out: Vec<Inline> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        match t.path.get(depth) {
            None => {
                match (&t.atom, out.last_mut()) {
                    (Inline::Text { text }, Some(Inline::Text { text: last })) => {
                        last.push_str(text)
                    }
                    (atom, _) => out.push(atom.clone()),
                }
                i += 1;
            }
            Some(wrapper) => {
                let end = (i..tokens.len())
                    .find(|&x| tokens[x].path.get(depth) != Some(wrapper))
                    .unwrap_or(tokens.len());
                let inner = build(&tokens[i..end], depth + 1);
                let mut node = wrapper.clone();
                if let Inline::Mark { content, .. } | Inline::Span { content, .. } = &mut node {
                    *content = inner;
                }
                out.push(node);
                i = end;
            }
        }
    }
    out
}
