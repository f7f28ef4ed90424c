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

/// `doc` within the policy: borrowed when it already is, else a copy with deeper content
/// lifted, and one `deep_nesting` fallback per place that was lifted. The copy is made without
/// recursing past the limit, so any document, however deep, is safe to write.
pub fn limit(doc: &Document) -> (Cow<'_, Document>, Vec<Fallback>) {
    if !exceeds(&doc.blocks) {
        return (Cow::Borrowed(doc), Vec::new());
    }
    let mut fallbacks = Vec::new();
    let mut blocks = Vec::with_capacity(doc.blocks.len());
    for (i, b) in doc.blocks.iter().enumerate() {
        let mut f = Flattener {
            top: i + 1,
            out: &mut fallbacks,
        };
        blocks.extend(f.blocks(std::slice::from_ref(b), 1));
    }
    (Cow::Owned(Document { blocks }), fallbacks)
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

fn para(s: impl Into<String>) -> Block {
    Block::Paragraph {
        content: vec![Inline::text(s)],
        align: None,
        attrs: Attrs::new(),
    }
}

impl Flattener<'_> {
    fn report(&mut self, what: String, text: &str) {
        let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let snippet: String = text.chars().take(40).collect();
        let more = if text.chars().count() > 40 { "…" } else { "" };
        self.out.push(Fallback {
            node: NODE.into(),
            rendered_as: format!("{what} (top-level block {}, \"{snippet}{more}\")", self.top),
            extension: false,
        });
    }

    /// Copies `bs`, which sit at container level `d` (top level: 1).
    fn blocks(&mut self, bs: &[Block], d: usize) -> Vec<Block> {
        let mut out = Vec::with_capacity(bs.len());
        for b in bs {
            if children(b).is_empty() {
                out.push(self.leaf(b, d));
            } else if d >= MAX_BLOCK_DEPTH {
                // The deepest container allowed: its children must be leaves.
                out.push(shallow(b, &mut |kids: &[Block]| {
                    if kids
                        .iter()
                        .any(|k| !children(k).is_empty() || inline_has_blocks(k))
                    {
                        let lifted = self.lift(kids);
                        self.report(
                            format!(
                                "content nested deeper than {MAX_BLOCK_DEPTH} levels, lifted to \
                                 level {MAX_BLOCK_DEPTH}"
                            ),
                            &crate::text::blocks_to_text(&lifted),
                        );
                        lifted
                    } else {
                        kids.iter().map(|k| self.leaf(k, usize::MAX)).collect()
                    }
                }));
            } else {
                out.push(shallow(b, &mut |kids: &[Block]| self.blocks(kids, d + 1)));
            }
        }
        out
    }

    /// A copy of a leaf block at level `d` (`usize::MAX`: nothing may nest below it).
    fn leaf(&mut self, b: &Block, d: usize) -> Block {
        match b {
            Block::Paragraph {
                content,
                align,
                attrs,
            } => Block::Paragraph {
                content: self.inlines(content, 1, d),
                align: *align,
                attrs: attrs.clone(),
            },
            Block::Plain { content } => Block::Plain {
                content: self.inlines(content, 1, d),
            },
            Block::Heading {
                level,
                content,
                align,
                attrs,
            } => Block::Heading {
                level: *level,
                content: self.inlines(content, 1, d),
                align: *align,
                attrs: attrs.clone(),
            },
            Block::File(f) => Block::File(FileRef {
                target: f.target.clone(),
                caption: f.caption.as_ref().map(|x| self.inlines(x, 1, d)),
                params: f.params.clone(),
                attrs: f.attrs.clone(),
            }),
            Block::Embed(e) => Block::Embed(Embed {
                url: e.url.clone(),
                kind: e.kind.clone(),
                caption: e.caption.as_ref().map(|x| self.inlines(x, 1, d)),
                attrs: e.attrs.clone(),
            }),
            other => other.clone(),
        }
    }

    /// A copy of inline level `id` at block level `d`.
    fn inlines(&mut self, xs: &[Inline], id: usize, d: usize) -> Vec<Inline> {
        let mut out = Vec::with_capacity(xs.len());
        for x in xs {
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
                self.report(
                    format!(
                        "inline content nested deeper than {MAX_INLINE_DEPTH} levels, kept as \
                         its text"
                    ),
                    &t,
                );
                out.push(Inline::text(t));
                continue;
            }
            out.push(match x {
                Inline::Mark {
                    mark,
                    content,
                    attrs,
                } => Inline::Mark {
                    mark: mark.clone(),
                    content: self.inlines(content, id + 1, d),
                    attrs: attrs.clone(),
                },
                Inline::Span {
                    style,
                    content,
                    attrs,
                } => Inline::Span {
                    style: style.clone(),
                    content: self.inlines(content, id + 1, d),
                    attrs: attrs.clone(),
                },
                Inline::Link(l) => {
                    let content = self.inlines(&l.content, id + 1, d);
                    Inline::Link(Box::new(Link {
                        target: l.target.clone(),
                        anchor: l.anchor.clone(),
                        content,
                        plain_body: l.plain_body,
                        attrs: l.attrs.clone(),
                    }))
                }
                Inline::Image(i) if i.caption.is_some() => {
                    let caption = i.caption.as_ref().map(|c| self.blocks(c, d + 1));
                    let mut c = shallow_image(i);
                    c.caption = caption;
                    Inline::Image(Box::new(c))
                }
                Inline::Extension(e) if !e.body.is_empty() => {
                    let body = self.blocks(&e.body, d + 1);
                    let mut c = shallow_extension(e);
                    c.body = body;
                    Inline::Extension(Box::new(c))
                }
                other => other.clone(),
            });
        }
        out
    }

    /// `blocks` as leaves only, in document order, without recursion: a container becomes its
    /// title (if any) and its children; list and task markers become text on the item's first
    /// leaf; inline captions and macro bodies become their text.
    fn lift(&mut self, blocks: &[Block]) -> Vec<Block> {
        let mut out = Vec::new();
        // Work in reverse order: (block, marker to put before its first text).
        let mut stack: Vec<(Option<&Block>, Option<String>)> =
            blocks.iter().rev().map(|b| (Some(b), None)).collect();
        while let Some((b, mut marker)) = stack.pop() {
            let Some(b) = b else {
                // A marker with nothing to carry it (an empty item).
                if let Some(m) = marker {
                    out.push(para(m.trim_end()));
                }
                continue;
            };
            let mut next: Vec<(Option<&Block>, Option<String>)> = Vec::new();
            let mut head: Option<&str> = None;
            match b {
                Block::List(l) => {
                    let start = l.start.unwrap_or(1);
                    for (n, it) in l.items.iter().enumerate() {
                        let m = if l.ordered {
                            format!("{}. ", start + n as u64)
                        } else {
                            "• ".to_string()
                        };
                        item(&mut next, &it.blocks, m);
                    }
                }
                Block::TaskList { items, .. } => {
                    for it in items {
                        let m = if it.done { "[x] " } else { "[ ] " };
                        item(&mut next, &it.body, m.to_string());
                    }
                }
                Block::Callout(c) => {
                    head = c.title.as_deref();
                    next.extend(c.blocks.iter().map(|b| (Some(b), None)));
                }
                Block::Expand(e) => {
                    head = e.title.as_deref();
                    next.extend(e.blocks.iter().map(|b| (Some(b), None)));
                }
                Block::Extension(e) if !e.body.is_empty() => {
                    head = e.text.as_deref();
                    next.extend(e.body.iter().map(|b| (Some(b), None)));
                }
                Block::Image(i) if i.caption.is_some() => {
                    out.push(Block::Image(shallow_image(i)));
                    for c in i.caption.iter().flatten() {
                        next.push((Some(c), None));
                    }
                }
                _ if !children(b).is_empty() => {
                    for kids in children(b) {
                        next.extend(kids.iter().map(|b| (Some(b), None)));
                    }
                }
                leaf => {
                    let mut l = self.leaf(leaf, usize::MAX);
                    if let Some(m) = marker.take() {
                        match inlines_of_mut(&mut l).into_iter().next() {
                            Some(xs) => xs.insert(0, Inline::text(m)),
                            None => out.push(para(m.trim_end())),
                        }
                    }
                    out.push(l);
                    continue;
                }
            }
            if let Some(h) = head.filter(|h| !h.is_empty()) {
                out.push(para(h));
            }
            if let Some(m) = marker {
                match next.first_mut() {
                    Some((_, slot @ None)) => *slot = Some(m),
                    _ => next.insert(0, (None, Some(m))),
                }
            }
            stack.extend(next.into_iter().rev());
        }
        out
    }
}

/// A copy of a container with its child sequences made by `fill` (their other fields cloned).
fn shallow(b: &Block, fill: &mut dyn FnMut(&[Block]) -> Vec<Block>) -> Block {
    match b {
        Block::List(l) => Block::List(List {
            ordered: l.ordered,
            start: l.start,
            items: l
                .items
                .iter()
                .map(|i| ListItem {
                    blocks: fill(&i.blocks),
                    attrs: i.attrs.clone(),
                })
                .collect(),
            attrs: l.attrs.clone(),
        }),
        Block::TaskList { items, attrs } => Block::TaskList {
            items: items
                .iter()
                .map(|i| TaskItem {
                    done: i.done,
                    id: i.id.clone(),
                    uuid: i.uuid.clone(),
                    body: fill(&i.body),
                    attrs: i.attrs.clone(),
                })
                .collect(),
            attrs: attrs.clone(),
        },
        Block::Quote { blocks, attrs } => Block::Quote {
            blocks: fill(blocks),
            attrs: attrs.clone(),
        },
        Block::Callout(c) => Block::Callout(Callout {
            kind: c.kind,
            title: c.title.clone(),
            icon: c.icon.clone(),
            blocks: fill(&c.blocks),
            params: c.params.clone(),
            form: c.form.clone(),
            attrs: c.attrs.clone(),
        }),
        Block::Table(t) => Block::Table(Table {
            columns: t.columns.clone(),
            rows: t
                .rows
                .iter()
                .map(|r| TableRow {
                    cells: r
                        .cells
                        .iter()
                        .map(|c| TableCell {
                            header: c.header,
                            colspan: c.colspan,
                            rowspan: c.rowspan,
                            blocks: fill(&c.blocks),
                            attrs: c.attrs.clone(),
                        })
                        .collect(),
                    section: r.section,
                    attrs: r.attrs.clone(),
                })
                .collect(),
            attrs: t.attrs.clone(),
        }),
        Block::Layout(l) => Block::Layout(Layout {
            sections: l
                .sections
                .iter()
                .map(|s| LayoutSection {
                    kind: s.kind.clone(),
                    cells: s
                        .cells
                        .iter()
                        .map(|c| LayoutCell {
                            blocks: fill(&c.blocks),
                            width: c.width,
                            attrs: c.attrs.clone(),
                        })
                        .collect(),
                    attrs: s.attrs.clone(),
                })
                .collect(),
            attrs: l.attrs.clone(),
        }),
        Block::Expand(e) => Block::Expand(Expand {
            title: e.title.clone(),
            blocks: fill(&e.blocks),
            params: e.params.clone(),
            attrs: e.attrs.clone(),
        }),
        Block::Image(i) => {
            let mut c = shallow_image(i);
            c.caption = i.caption.as_ref().map(|x| fill(x));
            Block::Image(c)
        }
        Block::Excerpt(e) => Block::Excerpt(Excerpt {
            blocks: fill(&e.blocks),
            params: e.params.clone(),
            attrs: e.attrs.clone(),
        }),
        Block::PageProperties(p) => Block::PageProperties(PageProperties {
            blocks: fill(&p.blocks),
            params: p.params.clone(),
            attrs: p.attrs.clone(),
        }),
        Block::Extension(e) => {
            let mut c = shallow_extension(e);
            c.body = fill(&e.body);
            Block::Extension(c)
        }
        other => other.clone(),
    }
}

fn shallow_image(i: &Image) -> Image {
    Image {
        source: i.source.clone(),
        alt: i.alt.clone(),
        width: i.width.clone(),
        height: i.height.clone(),
        caption: None,
        caption_attrs: i.caption_attrs.clone(),
        marks: i.marks.clone(),
        attrs: i.attrs.clone(),
    }
}

fn shallow_extension(e: &Extension) -> Extension {
    Extension {
        format: e.format.clone(),
        kind: e.kind.clone(),
        name: e.name.clone(),
        params: e.params.clone(),
        body: Vec::new(),
        text: e.text.clone(),
        source: e.source.clone(),
        attrs: e.attrs.clone(),
    }
}

/// Queues a list or task item's blocks, its marker on the first.
fn item<'b>(next: &mut Vec<(Option<&'b Block>, Option<String>)>, bs: &'b [Block], m: String) {
    let mut it = bs.iter();
    match it.next() {
        Some(first) => next.push((Some(first), Some(m))),
        None => next.push((None, Some(m))),
    }
    next.extend(it.map(|b| (Some(b), None)));
}

fn inline_has_blocks(b: &Block) -> bool {
    inlines_of(b).iter().any(|xs| {
        xs.iter().any(|x| {
            let (_, bs) = inline_children(x);
            !bs.is_empty()
        })
    })
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
        let mut out = Vec::new();
        let mut f = Flattener {
            top: 1,
            out: &mut out,
        };
        let t = crate::text::blocks_to_text(&f.lift(&[list]));
        assert!(t.contains("[x] a") && t.contains("[ ] b"), "{t}");
    }
}
