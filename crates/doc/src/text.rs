//! Plain-text rendering, for search indexing and for comparing content across formats.
//!
//! Rules (deterministic, no markup):
//! - blocks are separated by one line feed; blocks with no text are skipped;
//! - list and task items are on lines of their own (no bullets, numbers or check boxes);
//! - table rows are lines, cells are separated by a tab (line feeds inside a cell become spaces);
//! - captions, extension text/bodies, link text (or the target's title, file name or URL when the
//!   link has no text), status text, emoji (text, else short name), dates and math (TeX) count
//!   as text; images' alt text, placeholders (template instructions), anchors, tables of
//!   contents and other parameter-only macros do not;
//! - whitespace inside text is kept as it is: callers normalise it when they compare.
use crate::ir::*;

/// Nesting past which blocks are no longer descended into structurally (hostile documents):
/// the text is still collected, with an explicit stack.
const MAX_DEPTH: usize = 200;

/// The plain text of a document.
pub fn to_text(doc: &Document) -> String {
    blocks_to_text(&doc.blocks)
}

/// The plain text of a block sequence: one block per line (see the module rules).
pub fn blocks_to_text(blocks: &[Block]) -> String {
    let mut out = String::new();
    push_blocks(blocks, &mut out, 0);
    out
}

/// The plain text of inline content (line breaks become line feeds).
pub fn inlines_to_text(inlines: &[Inline]) -> String {
    let mut out = String::new();
    push_inlines(inlines, &mut out, 0);
    out
}

/// Appends `part` as a new line of `out` (nothing when it is empty).
fn push_line(out: &mut String, part: &str) {
    if part.is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(part);
}

fn push_blocks(blocks: &[Block], out: &mut String, depth: usize) {
    for b in blocks {
        let t = block_text(b, depth + 1);
        push_line(out, &t);
    }
}

fn sub(blocks: &[Block], depth: usize) -> String {
    let mut s = String::new();
    push_blocks(blocks, &mut s, depth);
    s
}

fn block_text(b: &Block, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return deep_text(b);
    }
    match b {
        Block::Paragraph { content, .. }
        | Block::Plain { content }
        | Block::Heading { content, .. } => inline_seq(content, depth),
        Block::List(l) => {
            let mut s = String::new();
            for item in &l.items {
                push_line(&mut s, &sub(&item.blocks, depth));
            }
            s
        }
        Block::TaskList { items, .. } => {
            let mut s = String::new();
            for item in items {
                push_line(&mut s, &sub(&item.body, depth));
            }
            s
        }
        Block::Quote { blocks, .. } => sub(blocks, depth),
        Block::Callout(c) => {
            let mut s = String::new();
            if let Some(t) = &c.title {
                push_line(&mut s, t);
            }
            push_line(&mut s, &sub(&c.blocks, depth));
            s
        }
        Block::Code(c) => c.text.clone(),
        Block::Math(m) => m.tex.clone(),
        Block::Divider { .. } => String::new(),
        Block::Table(t) => table_text(t, depth),
        Block::Layout(l) => {
            let mut s = String::new();
            for cell in l.sections.iter().flat_map(|sec| sec.cells.iter()) {
                push_line(&mut s, &sub(&cell.blocks, depth));
            }
            s
        }
        Block::Expand(e) => {
            let mut s = String::new();
            if let Some(t) = &e.title {
                push_line(&mut s, t);
            }
            push_line(&mut s, &sub(&e.blocks, depth));
            s
        }
        Block::Image(img) => img
            .caption
            .as_ref()
            .map(|c| sub(c, depth))
            .unwrap_or_default(),
        Block::File(f) => match &f.caption {
            Some(c) if !c.is_empty() => inline_seq(c, depth),
            // The name the writers show for the file (a Notion file block's `name`).
            _ => match crate::util::file_name(&f.attrs) {
                Some(name) => name.to_string(),
                None => target_text(&f.target, None),
            },
        },
        Block::Embed(e) => match &e.caption {
            Some(c) if !c.is_empty() => inline_seq(c, depth),
            _ => e.url.clone(),
        },
        Block::Toc(_)
        | Block::ChildPages(_)
        | Block::PagePropertiesReport(_)
        | Block::Include(_) => String::new(),
        Block::Excerpt(e) => sub(&e.blocks, depth),
        Block::PageProperties(p) => sub(&p.blocks, depth),
        Block::Extension(x) => extension_text(x, depth),
    }
}

fn table_text(t: &Table, depth: usize) -> String {
    let mut s = String::new();
    for row in &t.rows {
        let cells: Vec<String> = row
            .cells
            .iter()
            .map(|c| sub(&c.blocks, depth).replace('\n', " "))
            .collect();
        let line = cells.join("\t");
        if !line.trim().is_empty() {
            push_line(&mut s, &line);
        }
    }
    s
}

fn extension_text(x: &Extension, depth: usize) -> String {
    if let Some(t) = &x.text {
        return t.clone();
    }
    sub(&x.body, depth)
}

fn inline_seq(xs: &[Inline], depth: usize) -> String {
    let mut s = String::new();
    push_inlines(xs, &mut s, depth);
    s
}

fn push_inlines(xs: &[Inline], out: &mut String, depth: usize) {
    for x in xs {
        if depth > MAX_DEPTH {
            out.push_str(&deep_inline_text(x));
            continue;
        }
        match x {
            Inline::Text { text } => out.push_str(text),
            Inline::Mark { content, .. } | Inline::Span { content, .. } => {
                push_inlines(content, out, depth + 1)
            }
            Inline::Link(l) => {
                if let Some(name) = crate::util::notion_user_label(l) {
                    out.push_str(&name);
                } else if l.content.is_empty() {
                    out.push_str(&target_text(&l.target, l.anchor.as_deref()));
                } else {
                    push_inlines(&l.content, out, depth + 1);
                }
            }
            Inline::Image(img) => {
                if let Some(c) = &img.caption {
                    out.push_str(&sub(c, depth + 1));
                }
            }
            Inline::Emoji(e) => {
                if let Some(t) = e.text.as_ref().or(e.shortname.as_ref()).or(e.name.as_ref()) {
                    out.push_str(t);
                }
            }
            Inline::Status(s) => out.push_str(&s.text),
            Inline::Date { date, .. } => out.push_str(date),
            Inline::Break { .. } => out.push('\n'),
            Inline::Math(m) => out.push_str(&m.tex),
            Inline::Anchor { .. } | Inline::Placeholder { .. } => {}
            Inline::Jira(m) => {
                if let Some(k) = m.params.get("key") {
                    out.push_str(k);
                }
            }
            Inline::Extension(x) => out.push_str(&extension_text(x, depth + 1)),
        }
    }
}

/// What an empty link shows: the target's title, file name, URL…
fn target_text(t: &LinkTarget, anchor: Option<&str>) -> String {
    t.name(anchor).unwrap_or_default()
}

// -------------------------------------------------------------------------------------------
// Past MAX_DEPTH: the same text, collected with an explicit stack (no recursion), so hostile
// nesting cannot overflow the stack. Structure (line per block) is kept for text-bearing
// leaves.

enum Item<'a> {
    Block(&'a Block),
    Inline(&'a Inline),
    Line,
}

fn deep_text(b: &Block) -> String {
    let mut out = String::new();
    let mut stack = vec![Item::Block(b)];
    walk(&mut stack, &mut out);
    out
}

fn deep_inline_text(x: &Inline) -> String {
    let mut out = String::new();
    let mut stack = vec![Item::Inline(x)];
    walk(&mut stack, &mut out);
    out
}

fn walk<'a>(stack: &mut Vec<Item<'a>>, out: &mut String) {
    fn line(out: &mut String) {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
    }
    while let Some(item) = stack.pop() {
        match item {
            Item::Line => line(out),
            Item::Inline(x) => match x {
                Inline::Mark { content, .. } | Inline::Span { content, .. } => {
                    stack.extend(content.iter().rev().map(Item::Inline));
                }
                Inline::Link(l)
                    if !l.content.is_empty() && crate::util::notion_user_label(l).is_none() =>
                {
                    stack.extend(l.content.iter().rev().map(Item::Inline))
                }
                Inline::Image(img) => {
                    if let Some(c) = &img.caption {
                        stack.extend(c.iter().rev().map(Item::Block));
                    }
                }
                Inline::Extension(x) if x.text.is_none() => {
                    stack.extend(x.body.iter().rev().map(Item::Block))
                }
                other => {
                    let mut s = String::new();
                    push_inlines(std::slice::from_ref(other), &mut s, 0);
                    out.push_str(&s);
                }
            },
            Item::Block(b) => {
                let children: Vec<&'a Block> = match b {
                    Block::Paragraph { content, .. }
                    | Block::Plain { content }
                    | Block::Heading { content, .. } => {
                        stack.push(Item::Line);
                        stack.extend(content.iter().rev().map(Item::Inline));
                        stack.push(Item::Line);
                        continue;
                    }
                    Block::List(l) => l.items.iter().flat_map(|i| i.blocks.iter()).collect(),
                    Block::TaskList { items, .. } => {
                        items.iter().flat_map(|i| i.body.iter()).collect()
                    }
                    Block::Quote { blocks, .. } => blocks.iter().collect(),
                    Block::Callout(c) => c.blocks.iter().collect(),
                    Block::Table(t) => t
                        .rows
                        .iter()
                        .flat_map(|r| r.cells.iter())
                        .flat_map(|c| c.blocks.iter())
                        .collect(),
                    Block::Layout(l) => l
                        .sections
                        .iter()
                        .flat_map(|s| s.cells.iter())
                        .flat_map(|c| c.blocks.iter())
                        .collect(),
                    Block::Expand(e) => e.blocks.iter().collect(),
                    Block::Image(img) => img.caption.iter().flat_map(|c| c.iter()).collect(),
                    Block::Excerpt(e) => e.blocks.iter().collect(),
                    Block::PageProperties(p) => p.blocks.iter().collect(),
                    Block::Extension(x) if x.text.is_none() => x.body.iter().collect(),
                    leaf => {
                        let s = block_text(leaf, 0);
                        line(out);
                        out.push_str(&s);
                        line(out);
                        continue;
                    }
                };
                for c in children.into_iter().rev() {
                    stack.push(Item::Line);
                    stack.push(Item::Block(c));
                }
            }
        }
    }
    while out.ends_with('\n') {
        out.pop();
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

    fn plain(s: &str) -> Block {
        Block::Plain {
            content: vec![Inline::text(s)],
        }
    }

    fn cell(s: &str) -> TableCell {
        TableCell {
            header: false,
            colspan: None,
            rowspan: None,
            blocks: vec![plain(s)],
            attrs: Attrs::new(),
        }
    }

    #[test]
    fn blocks_are_lines() {
        let doc = Document {
            blocks: vec![
                Block::Heading {
                    level: 1,
                    content: vec![Inline::text("Title")],
                    align: None,
                    attrs: Attrs::new(),
                },
                p("one"),
                Block::Divider {
                    attrs: Attrs::new(),
                },
                p("two"),
            ],
        };
        assert_eq!(to_text(&doc), "Title\none\ntwo");
    }

    #[test]
    fn marks_and_links_are_text() {
        let content = vec![
            Inline::text("a "),
            Inline::mark(Mark::Strong, vec![Inline::text("b")]),
            Inline::text(" "),
            Inline::link(Link::new(LinkTarget::page_titled("Home"))),
            Inline::text(" "),
            Inline::link(Link {
                target: LinkTarget::url("https://x"),
                anchor: None,
                content: vec![Inline::text("site")],
                plain_body: false,
                attrs: Attrs::new(),
            }),
            Inline::Break {
                attrs: Attrs::new(),
            },
            Inline::status(Status {
                text: "DONE".into(),
                colour: None,
                params: Params::new(),
                attrs: Attrs::new(),
            }),
            Inline::emoji(Emoji {
                text: Some("🙂".into()),
                ..Emoji::default()
            }),
            Inline::emoji(Emoji {
                shortname: Some(":x:".into()),
                ..Emoji::default()
            }),
            Inline::Date {
                date: "2024-01-02".into(),
                attrs: Attrs::new(),
            },
            Inline::Placeholder {
                text: "type here".into(),
                attrs: Attrs::new(),
            },
            Inline::Anchor {
                name: "a".into(),
                params: Params::new(),
                attrs: Attrs::new(),
            },
        ];
        assert_eq!(
            inlines_to_text(&content),
            "a b Home site\nDONE🙂:x:2024-01-02"
        );
    }

    #[test]
    fn lists_tables_and_containers() {
        let list = Block::List(List {
            ordered: true,
            start: None,
            items: vec![
                ListItem {
                    blocks: vec![plain("a")],
                    attrs: Attrs::new(),
                },
                ListItem {
                    blocks: vec![plain("b"), p("c")],
                    attrs: Attrs::new(),
                },
            ],
            attrs: Attrs::new(),
        });
        let table = Block::Table(Table {
            columns: None,
            rows: vec![
                TableRow {
                    cells: vec![cell("k"), cell("v")],
                    section: RowSection::Body,
                    attrs: Attrs::new(),
                },
                TableRow {
                    cells: vec![cell("x"), cell("y\nz")],
                    section: RowSection::Body,
                    attrs: Attrs::new(),
                },
            ],
            attrs: Attrs::new(),
        });
        let callout = Block::Callout(Callout {
            kind: CalloutKind::Note,
            title: Some("Heads up".into()),
            icon: None,
            blocks: vec![p("inside")],
            params: Params::new(),
            form: CalloutForm::Macro,
            attrs: Attrs::new(),
        });
        let ext = Block::Extension(Extension {
            format: "storage".into(),
            kind: "macro".into(),
            name: "x".into(),
            params: Params::new(),
            body: vec![],
            text: Some("raw body".into()),
            source: Some("<ac:structured-macro/>".into()),
            attrs: Attrs::new(),
        });
        let code = Block::Code(Code {
            language: None,
            title: None,
            text: "fn x() {}".into(),
            noformat: false,
            params: Params::new(),
            attrs: Attrs::new(),
        });
        let img = Block::Image(Image {
            source: ImageSource::Url {
                url: "https://x/a.png".into(),
            },
            alt: Some("alt".into()),
            width: None,
            height: None,
            caption: Some(vec![p("cap")]),
            caption_attrs: Attrs::new(),
            marks: vec![],
            attrs: Attrs::new(),
        });
        let doc = Document {
            blocks: vec![
                list,
                table,
                callout,
                ext,
                code,
                img,
                Block::Toc(MacroInfo::default()),
            ],
        };
        assert_eq!(
            to_text(&doc),
            "a\nb\nc\nk\tv\nx\ty z\nHeads up\ninside\nraw body\nfn x() {}\ncap"
        );
    }

    #[test]
    fn deep_nesting_keeps_text() {
        let mut b = p("deep");
        for _ in 0..5000 {
            b = Block::Quote {
                blocks: vec![b],
                attrs: Attrs::new(),
            };
        }
        let doc = Document { blocks: vec![b] };
        let t = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let t = to_text(&doc);
                // Dropping a deep tree is recursive too; leak it in this test.
                std::mem::forget(doc);
                t
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(t, "deep");
    }
}
