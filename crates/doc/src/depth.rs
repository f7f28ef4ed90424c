//! The one depth policy every reader, writer and the IR JSON obey.
//!
//! Neither service documents a limit on how deep a page nests: Notion's API nests at most 2
//! levels per append request, but pages nest deeper through further appends (90 nested to-dos
//! were seen); Confluence accepts any well-formed storage. What bounds kbridge is its own
//! readers: the storage reader refuses XML nested deeper than [`STORAGE_MAX_ELEMENTS`] (hostile
//! input), and a writer must never emit what its reader refuses. So the numbers are derived from
//! that one bound:
//!
//! - an IR *container level* (a list item, a task, a quote, a callout, an expand, a table cell,
//!   a layout cell, a caption, a macro body) costs at most [`STORAGE_ELEMENTS_PER_LEVEL`] storage
//!   elements (`<table><tbody><tr><td>`), an inline level at most 2 (`<ac:link><ac:link-body>`);
//! - [`MAX_BLOCK_DEPTH`] containers and [`MAX_INLINE_DEPTH`] inline levels therefore fit in
//!   `STORAGE_MAX_ELEMENTS` with room for the leaf and its marks (checked at compile time below).
//!
//! Every writer (storage, Markdown, Notion, IR JSON) first applies [`limit`]: content nested
//! deeper is *lifted* to the deepest allowed level, in document order and with its text
//! (list and task markers become text: `• `, `1. `, `[x] `), and each place is reported as a
//! `deep_nesting` [`Fallback`] naming the top-level block and the start of the lifted text. The
//! readers bound their own recursion ([`READ_DEPTH`], one level past the limit) so that deep
//! service input never overflows the stack and what they lift is always seen, and reported, by
//! the writer that flattens it.

use std::borrow::Cow;

use crate::ir::*;
use crate::report::Fallback;

/// Containers nested inside each other that every format writes structurally.
pub const MAX_BLOCK_DEPTH: usize = 48;
/// Inline levels (marks, spans, links nested in each other) written structurally; deeper inline
/// content becomes its text.
pub const MAX_INLINE_DEPTH: usize = 24;
/// Storage elements one IR container level costs at most (`<table><tbody><tr><td>`).
pub const STORAGE_ELEMENTS_PER_LEVEL: usize = 4;
/// Storage elements one inline level costs at most (`<ac:link><ac:link-body>`).
pub const STORAGE_ELEMENTS_PER_INLINE: usize = 2;
/// XML nesting the storage reader accepts; deeper is an error (no real page nests this deep).
pub const STORAGE_MAX_ELEMENTS: usize = 256;
/// Container levels a reader builds before it lifts deeper content itself (one past the limit,
/// so that the writer that flattens it sees and reports it).
pub const READ_DEPTH: usize = MAX_BLOCK_DEPTH + 1;

const _: () = assert!(
    STORAGE_ELEMENTS_PER_LEVEL * MAX_BLOCK_DEPTH
        + STORAGE_ELEMENTS_PER_INLINE * MAX_INLINE_DEPTH
        + 16
        <= STORAGE_MAX_ELEMENTS
);

/// The fallback node name of every flattening.
pub const NODE: &str = "deep_nesting";

/// `doc` within the policy: borrowed when it already is, else a flattened copy, with one
/// `deep_nesting` fallback per place that was lifted.
pub fn limit(doc: &Document) -> (Cow<'_, Document>, Vec<Fallback>) {
    if !exceeds(&doc.blocks) {
        return (Cow::Borrowed(doc), Vec::new());
    }
    let mut d = doc.clone();
    let mut fallbacks = Vec::new();
    for (i, b) in d.blocks.iter_mut().enumerate() {
        let mut f = Flattener {
            top: i + 1,
            out: &mut fallbacks,
        };
        f.block(b, 1);
    }
    (Cow::Owned(d), fallbacks)
}

/// True when `blocks` nest deeper than the policy (checked without recursion).
pub fn exceeds(blocks: &[Block]) -> bool {
    // (blocks, containers above them)
    let mut stack: Vec<(&[Block], usize)> = vec![(blocks, 0)];
    let mut inl: Vec<(&[Inline], usize, usize)> = Vec::new();
    while let Some((bs, d)) = stack.pop() {
        for b in bs {
            let kids = children(b);
            if !kids.is_empty() && d >= MAX_BLOCK_DEPTH {
                return true;
            }
            for k in kids {
                stack.push((k, d + 1));
            }
            for xs in inlines_of(b) {
                inl.push((xs, 1, d + 1));
            }
        }
        while let Some((xs, id, d)) = inl.pop() {
            for x in xs {
                let (sub, blocks) = inline_children(x);
                if (sub.is_some() || !blocks.is_empty()) && id > MAX_INLINE_DEPTH {
                    return true;
                }
                if let Some(s) = sub {
                    inl.push((s, id + 1, d));
                }
                for bs in blocks {
                    if d >= MAX_BLOCK_DEPTH {
                        return true;
                    }
                    stack.push((bs, d));
                }
            }
        }
    }
    false
}

/// The child block sequences of a container (empty for a leaf).
fn children(b: &Block) -> Vec<&[Block]> {
    match b {
        Block::List(l) => l.items.iter().map(|i| i.blocks.as_slice()).collect(),
        Block::TaskList { items, .. } => items.iter().map(|i| i.body.as_slice()).collect(),
        Block::Quote { blocks, .. } => vec![blocks],
        Block::Callout(c) => vec![&c.blocks],
        Block::Table(t) => t
            .rows
            .iter()
            .flat_map(|r| r.cells.iter().map(|c| c.blocks.as_slice()))
            .collect(),
        Block::Layout(l) => l
            .sections
            .iter()
            .flat_map(|s| s.cells.iter().map(|c| c.blocks.as_slice()))
            .collect(),
        Block::Expand(e) => vec![&e.blocks],
        Block::Image(i) => i.caption.iter().map(Vec::as_slice).collect(),
        Block::Excerpt(e) => vec![&e.blocks],
        Block::PageProperties(p) => vec![&p.blocks],
        Block::Extension(e) if !e.body.is_empty() => vec![&e.body],
        _ => Vec::new(),
    }
}

/// The inline sequences a block holds directly.
fn inlines_of(b: &Block) -> Vec<&[Inline]> {
    match b {
        Block::Paragraph { content, .. }
        | Block::Plain { content }
        | Block::Heading { content, .. } => vec![content],
        Block::File(f) => f.caption.iter().map(Vec::as_slice).collect(),
        Block::Embed(e) => e.caption.iter().map(Vec::as_slice).collect(),
        _ => Vec::new(),
    }
}

/// An inline's nested inlines, and the block sequences it holds (captions, macro bodies).
fn inline_children(x: &Inline) -> (Option<&[Inline]>, Vec<&[Block]>) {
    match x {
        Inline::Mark { content, .. } | Inline::Span { content, .. } => (Some(content), vec![]),
        Inline::Link(l) => (Some(&l.content), vec![]),
        Inline::Image(i) => (None, i.caption.iter().map(Vec::as_slice).collect()),
        Inline::Extension(e) if !e.body.is_empty() => (None, vec![&e.body]),
        _ => (None, vec![]),
    }
}

struct Flattener<'a> {
    top: usize,
    out: &'a mut Vec<Fallback>,
}

impl Flattener<'_> {
    fn report(&mut self, what: &str, lifted: &[Block]) {
        let text: String = crate::text::blocks_to_text(lifted)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let snippet: String = text.chars().take(40).collect();
        let more = if text.chars().count() > 40 { "…" } else { "" };
        self.out.push(Fallback {
            node: NODE.into(),
            rendered_as: format!(
                "{what} nested deeper than {MAX_BLOCK_DEPTH} levels, lifted to level \
                 {MAX_BLOCK_DEPTH} (top-level block {}, \"{snippet}{more}\")",
                self.top
            ),
            extension: false,
        });
    }

    /// `b` sits inside `d - 1` containers.
    fn block(&mut self, b: &mut Block, d: usize) {
        for xs in inlines_of_mut(b) {
            self.inlines(xs, 1, d);
        }
        if d >= MAX_BLOCK_DEPTH {
            // `b` is the deepest container allowed: its children must be leaves.
            for kids in children_mut(b) {
                if kids
                    .iter()
                    .any(|k| !children(k).is_empty() || inline_has_blocks(k))
                {
                    let lifted = lift(std::mem::take(kids));
                    self.report("content", &lifted);
                    *kids = lifted;
                }
                for k in kids.iter_mut() {
                    for xs in inlines_of_mut(k) {
                        self.inlines(xs, 1, usize::MAX);
                    }
                }
            }
            return;
        }
        for kids in children_mut(b) {
            for k in kids.iter_mut() {
                self.block(k, d + 1);
            }
        }
    }

    /// Inline level `id`, at block depth `d` (`usize::MAX`: no blocks allowed below).
    fn inlines(&mut self, xs: &mut [Inline], id: usize, d: usize) {
        for x in xs.iter_mut() {
            let deep = match x {
                Inline::Mark { .. } | Inline::Span { .. } | Inline::Link(_) => {
                    id > MAX_INLINE_DEPTH
                }
                Inline::Image(i) => i.caption.is_some() && d >= MAX_BLOCK_DEPTH,
                Inline::Extension(e) => !e.body.is_empty() && d >= MAX_BLOCK_DEPTH,
                _ => false,
            };
            if deep {
                let t = crate::text::inlines_to_text(std::slice::from_ref(x));
                let snippet: String = t.chars().take(40).collect();
                self.out.push(Fallback {
                    node: NODE.into(),
                    rendered_as: format!(
                        "inline content nested deeper than {MAX_INLINE_DEPTH} levels, kept as \
                         its text (top-level block {}, \"{snippet}\")",
                        self.top
                    ),
                    extension: false,
                });
                *x = Inline::text(t);
                continue;
            }
            match x {
                Inline::Mark { content, .. } | Inline::Span { content, .. } => {
                    self.inlines(content, id + 1, d)
                }
                Inline::Link(l) => self.inlines(&mut l.content, id + 1, d),
                Inline::Image(i) => {
                    if let Some(c) = &mut i.caption {
                        for b in c {
                            self.block(b, d.saturating_add(1));
                        }
                    }
                }
                Inline::Extension(e) => {
                    for b in &mut e.body {
                        self.block(b, d.saturating_add(1));
                    }
                }
                _ => {}
            }
        }
    }
}

fn inline_has_blocks(b: &Block) -> bool {
    inlines_of(b).iter().any(|xs| {
        xs.iter().any(|x| {
            let (_, bs) = inline_children(x);
            !bs.is_empty()
        })
    })
}

fn children_mut(b: &mut Block) -> Vec<&mut Vec<Block>> {
    match b {
        Block::List(l) => l.items.iter_mut().map(|i| &mut i.blocks).collect(),
        Block::TaskList { items, .. } => items.iter_mut().map(|i| &mut i.body).collect(),
        Block::Quote { blocks, .. } => vec![blocks],
        Block::Callout(c) => vec![&mut c.blocks],
        Block::Table(t) => t
            .rows
            .iter_mut()
            .flat_map(|r| r.cells.iter_mut().map(|c| &mut c.blocks))
            .collect(),
        Block::Layout(l) => l
            .sections
            .iter_mut()
            .flat_map(|s| s.cells.iter_mut().map(|c| &mut c.blocks))
            .collect(),
        Block::Expand(e) => vec![&mut e.blocks],
        Block::Image(i) => i.caption.iter_mut().collect(),
        Block::Excerpt(e) => vec![&mut e.blocks],
        Block::PageProperties(p) => vec![&mut p.blocks],
        Block::Extension(e) if !e.body.is_empty() => vec![&mut e.body],
        _ => Vec::new(),
    }
}

fn inlines_of_mut(b: &mut Block) -> Vec<&mut Vec<Inline>> {
    match b {
        Block::Paragraph { content, .. }
        | Block::Plain { content }
        | Block::Heading { content, .. } => vec![content],
        Block::File(f) => f.caption.iter_mut().collect(),
        Block::Embed(e) => e.caption.iter_mut().collect(),
        _ => Vec::new(),
    }
}

/// `blocks` as leaves only, in document order, without recursion: a container becomes its
/// title (if any) and its children; list and task markers become text on the item's first
/// leaf; inline images and macros keep their text.
pub fn lift(blocks: Vec<Block>) -> Vec<Block> {
    let mut out = Vec::new();
    // Work items in reverse order: (block, marker to put before its first text).
    let mut stack: Vec<(Block, Option<String>)> =
        blocks.into_iter().rev().map(|b| (b, None)).collect();
    while let Some((b, marker)) = stack.pop() {
        let mut next: Vec<(Block, Option<String>)> = Vec::new();
        let mut head: Option<String> = None;
        let mut marker = marker;
        match b {
            Block::List(l) => {
                let start = l.start.unwrap_or(1);
                for (n, it) in l.items.into_iter().enumerate() {
                    let m = if l.ordered {
                        format!("{}. ", start + n as u64)
                    } else {
                        "• ".to_string()
                    };
                    push_item(&mut next, it.blocks, m);
                }
            }
            Block::TaskList { items, .. } => {
                for it in items {
                    let m = if it.done { "[x] " } else { "[ ] " }.to_string();
                    push_item(&mut next, it.body, m);
                }
            }
            Block::Quote { blocks, .. } => next.extend(blocks.into_iter().map(|b| (b, None))),
            Block::Callout(c) => {
                head = c.title;
                next.extend(c.blocks.into_iter().map(|b| (b, None)));
            }
            Block::Table(t) => {
                for r in t.rows {
                    for c in r.cells {
                        next.extend(c.blocks.into_iter().map(|b| (b, None)));
                    }
                }
            }
            Block::Layout(l) => {
                for s in l.sections {
                    for c in s.cells {
                        next.extend(c.blocks.into_iter().map(|b| (b, None)));
                    }
                }
            }
            Block::Expand(e) => {
                head = e.title;
                next.extend(e.blocks.into_iter().map(|b| (b, None)));
            }
            Block::Image(mut i) if i.caption.is_some() => {
                let caption = i.caption.take();
                next.push((Block::Image(i), None));
                next.extend(caption.into_iter().flatten().map(|b| (b, None)));
            }
            Block::Excerpt(e) => next.extend(e.blocks.into_iter().map(|b| (b, None))),
            Block::PageProperties(p) => next.extend(p.blocks.into_iter().map(|b| (b, None))),
            Block::Extension(mut e) if !e.body.is_empty() => {
                head = e.text.take();
                next.extend(std::mem::take(&mut e.body).into_iter().map(|b| (b, None)));
            }
            mut leaf => {
                if inline_has_blocks(&leaf) {
                    for xs in inlines_of_mut(&mut leaf) {
                        let t = crate::text::inlines_to_text(xs);
                        *xs = vec![Inline::text(t)];
                    }
                }
                if let Some(m) = marker.take() {
                    prefix(&mut leaf, &m);
                }
                out.push(leaf);
                continue;
            }
        }
        if let Some(h) = head.filter(|h| !h.is_empty()) {
            next.insert(
                0,
                (
                    Block::Paragraph {
                        content: vec![Inline::text(h)],
                        align: None,
                        attrs: Attrs::new(),
                    },
                    None,
                ),
            );
        }
        if let Some(m) = marker {
            match next.first_mut() {
                Some((_, slot @ None)) => *slot = Some(m),
                _ => next.insert(
                    0,
                    (
                        Block::Paragraph {
                            content: vec![Inline::text(m.trim_end())],
                            align: None,
                            attrs: Attrs::new(),
                        },
                        None,
                    ),
                ),
            }
        }
        stack.extend(next.into_iter().rev());
    }
    out
}

fn push_item(next: &mut Vec<(Block, Option<String>)>, blocks: Vec<Block>, marker: String) {
    if blocks.is_empty() {
        next.push((
            Block::Paragraph {
                content: vec![Inline::text(marker.trim_end())],
                align: None,
                attrs: Attrs::new(),
            },
            None,
        ));
        return;
    }
    let mut it = blocks.into_iter();
    if let Some(first) = it.next() {
        next.push((first, Some(marker)));
    }
    next.extend(it.map(|b| (b, None)));
}

/// Puts `m` before the text of a leaf (or, for a leaf without text, does nothing visible: its
/// kind shows it).
fn prefix(b: &mut Block, m: &str) {
    if let Some(xs) = inlines_of_mut(b).into_iter().next() {
        xs.insert(0, Inline::text(m));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Block {
        Block::Paragraph {
            content: vec![Inline::text(s)],
            align: None,
            attrs: Attrs::new(),
        }
    }

    fn quotes(n: usize) -> Document {
        let mut b = p("deep");
        for _ in 0..n {
            b = Block::Quote {
                blocks: vec![b],
                attrs: Attrs::new(),
            };
        }
        Document { blocks: vec![b] }
    }

    #[test]
    fn at_the_limit_nothing_changes_one_past_it_is_reported() {
        let d = quotes(MAX_BLOCK_DEPTH);
        let (l, f) = limit(&d);
        assert!(matches!(l, Cow::Borrowed(_)) && f.is_empty(), "{f:?}");
        let d = quotes(MAX_BLOCK_DEPTH + 1);
        let (l, f) = limit(&d);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].rendered_as.contains("top-level block 1"), "{f:?}");
        assert!(f[0].rendered_as.contains("deep"), "{f:?}");
        assert!(!exceeds(&l.blocks));
        assert_eq!(crate::text::to_text(&l).trim(), "deep");
    }

    #[test]
    fn lifted_items_keep_their_markers() {
        let list = Block::TaskList {
            items: vec![
                TaskItem {
                    done: true,
                    id: None,
                    uuid: None,
                    body: vec![p("a")],
                    attrs: Attrs::new(),
                },
                TaskItem {
                    done: false,
                    id: None,
                    uuid: None,
                    body: vec![p("b")],
                    attrs: Attrs::new(),
                },
            ],
            attrs: Attrs::new(),
        };
        let t = crate::text::blocks_to_text(&lift(vec![list]));
        assert!(t.contains("[x] a") && t.contains("[ ] b"), "{t}");
    }
}
