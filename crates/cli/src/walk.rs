//! A small IR walker: finds every [`Extension`] node of a document.
//!
//! kb-doc has no visitor yet; this belongs there once it has one (the matches below are
//! exhaustive on purpose, so a new IR node kind breaks the build here instead of being missed).
//! The walk uses an explicit stack, so a deeply nested document cannot overflow the call stack.

use kb_doc::{Block, Document, Extension, Inline};

enum Node<'a> {
    Block(&'a Block),
    Inline(&'a Inline),
}

/// Every Extension node of `doc`, in document order (including Extensions nested in the body of
/// another Extension, in captions and in link text).
pub fn extensions(doc: &Document) -> Vec<&Extension> {
    let mut found = Vec::new();
    let mut stack: Vec<Node<'_>> = Vec::new();
    push_blocks(&mut stack, &doc.blocks);
    while let Some(node) = stack.pop() {
        match node {
            Node::Block(b) => block(b, &mut stack, &mut found),
            Node::Inline(i) => inline(i, &mut stack, &mut found),
        }
    }
    found
}

// Children are pushed in reverse so that popping visits them in document order.
fn push_blocks<'a>(stack: &mut Vec<Node<'a>>, blocks: &'a [Block]) {
    stack.extend(blocks.iter().rev().map(Node::Block));
}

fn push_inlines<'a>(stack: &mut Vec<Node<'a>>, inlines: &'a [Inline]) {
    stack.extend(inlines.iter().rev().map(Node::Inline));
}

fn block<'a>(b: &'a Block, stack: &mut Vec<Node<'a>>, found: &mut Vec<&'a Extension>) {
    match b {
        Block::Paragraph { content, .. }
        | Block::Plain { content }
        | Block::Heading { content, .. } => push_inlines(stack, content),
        Block::List(list) => {
            for item in list.items.iter().rev() {
                push_blocks(stack, &item.blocks);
            }
        }
        Block::TaskList { items, .. } => {
            for item in items.iter().rev() {
                push_blocks(stack, &item.body);
            }
        }
        Block::Quote { blocks, .. } => push_blocks(stack, blocks),
        Block::Callout(c) => push_blocks(stack, &c.blocks),
        Block::Table(t) => {
            for row in t.rows.iter().rev() {
                for cell in row.cells.iter().rev() {
                    push_blocks(stack, &cell.blocks);
                }
            }
        }
        Block::Layout(l) => {
            for section in l.sections.iter().rev() {
                for cell in section.cells.iter().rev() {
                    push_blocks(stack, &cell.blocks);
                }
            }
        }
        Block::Expand(e) => push_blocks(stack, &e.blocks),
        Block::Image(img) => {
            if let Some(caption) = &img.caption {
                push_blocks(stack, caption);
            }
        }
        Block::File(f) => {
            if let Some(caption) = &f.caption {
                push_inlines(stack, caption);
            }
        }
        Block::Embed(e) => {
            if let Some(caption) = &e.caption {
                push_inlines(stack, caption);
            }
        }
        Block::Excerpt(e) => push_blocks(stack, &e.blocks),
        Block::PageProperties(p) => push_blocks(stack, &p.blocks),
        Block::Extension(ext) => {
            found.push(ext);
            push_blocks(stack, &ext.body);
        }
        Block::Code(_)
        | Block::Math(_)
        | Block::Divider { .. }
        | Block::Toc(_)
        | Block::ChildPages(_)
        | Block::Include(_)
        | Block::PagePropertiesReport(_) => {}
    }
}

fn inline<'a>(i: &'a Inline, stack: &mut Vec<Node<'a>>, found: &mut Vec<&'a Extension>) {
    match i {
        Inline::Mark { content, .. } | Inline::Span { content, .. } => push_inlines(stack, content),
        Inline::Link(link) => push_inlines(stack, &link.content),
        Inline::Image(img) => {
            if let Some(caption) = &img.caption {
                push_blocks(stack, caption);
            }
        }
        Inline::Extension(ext) => {
            found.push(ext);
            push_blocks(stack, &ext.body);
        }
        Inline::Text { .. }
        | Inline::Emoji(_)
        | Inline::Status(_)
        | Inline::Date { .. }
        | Inline::Break { .. }
        | Inline::Math(_)
        | Inline::Anchor { .. }
        | Inline::Placeholder { .. }
        | Inline::Jira(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kb_doc::{Attrs, Params};

    fn ext(name: &str, body: Vec<Block>) -> Extension {
        Extension {
            format: "storage".into(),
            kind: "macro".into(),
            name: name.into(),
            params: Params::new(),
            body,
            text: None,
            source: None,
            attrs: Attrs::new(),
        }
    }

    #[test]
    fn finds_nested_extensions_in_document_order() {
        let inner = Block::Paragraph {
            content: vec![
                Inline::text("a"),
                Inline::mark(
                    kb_doc::Mark::Strong,
                    vec![Inline::extension(ext("inline-one", vec![]))],
                ),
            ],
            align: None,
            attrs: Attrs::new(),
        };
        let doc = Document {
            blocks: vec![
                Block::Quote {
                    blocks: vec![inner],
                    attrs: Attrs::new(),
                },
                Block::Extension(ext("outer", vec![Block::Extension(ext("nested", vec![]))])),
                Block::Divider {
                    attrs: Attrs::new(),
                },
            ],
        };
        let names: Vec<_> = extensions(&doc).iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["inline-one", "outer", "nested"]);
    }

    #[test]
    fn empty_document_has_none() {
        assert!(extensions(&Document::default()).is_empty());
    }
}
