//! GFM → IR, on pulldown-cmark's event stream.
//!
//! Total: every input gives a document. Nesting deeper than [`MAX_DEPTH`] (blocks and inline
//! spans together) is flattened into the deepest container, so hostile input cannot overflow
//! the stack and the IR handed to writers stays shallow.

use pulldown_cmark::{
    Alignment, BlockQuoteKind, CodeBlockKind, Event, LinkType, Options, Parser, Tag,
};

use crate::ir::*;

/// Deepest nesting the reader builds, block containers and inline levels counted together:
/// one block level past [`crate::depth::MAX_BLOCK_DEPTH`] plus the inline levels, so that what
/// the reader lifts is always seen, and reported, by the writer that applies the policy.
pub const MAX_DEPTH: usize = crate::depth::READ_DEPTH + crate::depth::MAX_INLINE_DEPTH + 1;

pub(crate) fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_MATH
        | Options::ENABLE_GFM
}

pub(crate) fn read(input: &str) -> Document {
    // CommonMark §2.3: U+0000 is replaced by U+FFFD (the writer cannot write it either).
    let cleaned;
    let input = if input.contains('\0') {
        cleaned = input.replace('\0', "\u{FFFD}");
        cleaned.as_str()
    } else {
        input
    };
    let (front, input) = split_front_matter(input);
    let events: Vec<Event<'_>> = Parser::new_ext(input, options()).collect();
    let mut r = Reader {
        ev: events,
        i: 0,
        depth: 0,
    };
    let mut blocks: Vec<Block> = front.map(Block::Extension).into_iter().collect();
    // A stray End at top level cannot happen (events are balanced), but never loop forever.
    while r.i < r.ev.len() {
        blocks.extend(r.blocks());
    }
    Document {
        blocks: fold_html(blocks, 0),
    }
}

/// YAML front matter (`---` … `---` or `...` at the very start) → an extension keeping it, and
/// the rest of the input.
fn split_front_matter(input: &str) -> (Option<Extension>, &str) {
    let body = input.strip_prefix('\u{feff}').unwrap_or(input);
    let mut lines = body.split_inclusive('\n');
    let Some(first) = lines.next() else {
        return (None, input);
    };
    if first.trim_end() != "---" || !first.ends_with('\n') {
        return (None, input);
    }
    let mut end = first.len();
    let mut yaml = String::new();
    for (n, line) in lines.enumerate() {
        let bare = line.trim_end();
        if n == 0 && bare.is_empty() {
            return (None, input);
        }
        if n > 0 && (bare == "---" || bare == "...") {
            let source = format!("{}{}\n", &body[..end], bare);
            let x = Extension {
                format: "markdown".into(),
                kind: "front_matter".into(),
                name: "yaml".into(),
                params: Params::new(),
                body: vec![],
                text: Some(yaml),
                source: Some(source),
                attrs: Attrs::new(),
            };
            return (Some(x), &body[end + line.len()..]);
        }
        yaml.push_str(line);
        end += line.len();
    }
    (None, input)
}

struct Reader<'a> {
    ev: Vec<Event<'a>>,
    i: usize,
    depth: usize,
}

fn is_block_event(e: &Event<'_>) -> bool {
    match e {
        Event::Start(t) => !matches!(
            t,
            Tag::Emphasis
                | Tag::Strong
                | Tag::Strikethrough
                | Tag::Superscript
                | Tag::Subscript
                | Tag::Link { .. }
                | Tag::Image { .. }
        ),
        Event::End(_) | Event::Rule => true,
        _ => false,
    }
}

fn is_container_start(t: &Tag<'_>) -> bool {
    !matches!(
        t,
        Tag::Paragraph
            | Tag::Heading { .. }
            | Tag::CodeBlock(_)
            | Tag::HtmlBlock
            | Tag::Table(_)
            | Tag::MetadataBlock(_)
            | Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
            | Tag::Link { .. }
            | Tag::Image { .. }
    )
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Option<Event<'a>> {
        let e = self.ev.get_mut(self.i)?;
        self.i += 1;
        Some(std::mem::replace(e, Event::Text("".into())))
    }

    fn peek(&self) -> Option<&Event<'a>> {
        self.ev.get(self.i)
    }

    /// Blocks up to (and consuming) the End of the enclosing container.
    fn blocks(&mut self) -> Vec<Block> {
        self.depth += 1;
        let mut out: Vec<Block> = Vec::new();
        // Containers opened past MAX_DEPTH whose End must be skipped.
        let mut flat = 0usize;
        while let Some(ev) = self.peek() {
            if !is_block_event(ev) {
                let content = self.inlines_until_block();
                if !content.is_empty() {
                    out.push(inline_block(content, true));
                }
                continue;
            }
            let Some(ev) = self.next() else { break };
            match ev {
                Event::End(_) => {
                    if flat > 0 {
                        flat -= 1;
                        continue;
                    }
                    break;
                }
                Event::Rule => out.push(Block::Divider {
                    attrs: Attrs::new(),
                }),
                Event::Start(tag) => {
                    if self.depth > MAX_DEPTH && is_container_start(&tag) {
                        flat += 1;
                        continue;
                    }
                    self.start_block(tag, &mut out);
                }
                _ => {}
            }
        }
        self.depth -= 1;
        out
    }

    fn start_block(&mut self, tag: Tag<'a>, out: &mut Vec<Block>) {
        match tag {
            Tag::Paragraph => {
                let content = self.inlines_until_end();
                if !content.is_empty() {
                    out.push(inline_block(content, false));
                }
            }
            Tag::Heading { level, .. } => {
                let content = self.inlines_until_end();
                out.push(Block::Heading {
                    level: level as u8,
                    content,
                    align: None,
                    attrs: Attrs::new(),
                });
            }
            Tag::BlockQuote(kind) => {
                let blocks = fold_html(self.blocks(), self.depth);
                out.push(quote(kind, blocks));
            }
            Tag::CodeBlock(kind) => {
                let text = self.raw_text_until_end();
                out.push(code_block(kind, text));
            }
            Tag::HtmlBlock => {
                let mut source = self.raw_text_until_end();
                // One final line feed, however the input ended.
                source.truncate(source.trim_end_matches(['\n', '\r']).len());
                source.push('\n');
                out.push(Block::Extension(html_extension(source)));
            }
            Tag::List(start) => {
                let b = self.list(start);
                out.push(b);
            }
            Tag::Table(aligns) => {
                let t = self.table(&aligns);
                out.push(Block::Table(t));
            }
            Tag::Item => {
                // An item outside a list cannot happen; keep its content.
                let blocks = self.blocks();
                out.extend(blocks);
            }
            Tag::MetadataBlock(_) => {
                let source = self.raw_text_until_end();
                out.push(Block::Code(Code {
                    language: Some("yaml".into()),
                    title: None,
                    text: source,
                    noformat: false,
                    params: Params::new(),
                    attrs: Attrs::new(),
                }));
            }
            // Footnote definitions, definition lists, table parts out of place…: their content.
            _ => {
                let blocks = self.blocks();
                out.extend(blocks);
            }
        }
    }

    /// Text of a code or HTML block, consuming its End.
    fn raw_text_until_end(&mut self) -> String {
        let mut s = String::new();
        let mut level = 0usize;
        while let Some(ev) = self.next() {
            match ev {
                Event::End(_) if level == 0 => break,
                Event::End(_) => level -= 1,
                Event::Start(_) => level += 1,
                Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) | Event::Code(t) => {
                    s.push_str(&t)
                }
                _ => {}
            }
        }
        s
    }

    fn list(&mut self, start: Option<u64>) -> Block {
        let mut items: Vec<(Option<bool>, Vec<Block>)> = Vec::new();
        while let Some(ev) = self.next() {
            match ev {
                Event::Start(Tag::Item) => {
                    let task = self.take_task_marker();
                    let blocks = fold_html(self.blocks(), self.depth);
                    items.push((task, blocks));
                }
                Event::End(_) => break,
                _ => {}
            }
        }
        if !items.is_empty() && items.iter().all(|(t, _)| t.is_some()) {
            return Block::TaskList {
                items: items
                    .into_iter()
                    .map(|(t, body)| TaskItem {
                        done: t == Some(true),
                        id: None,
                        uuid: None,
                        body,
                        attrs: Attrs::new(),
                    })
                    .collect(),
                attrs: Attrs::new(),
            };
        }
        let items = items
            .into_iter()
            .map(|(t, mut blocks)| {
                if let Some(done) = t {
                    prepend_marker_text(&mut blocks, done);
                }
                ListItem {
                    blocks,
                    attrs: Attrs::new(),
                }
            })
            .collect();
        Block::List(List {
            ordered: start.is_some(),
            start: start.filter(|&s| s != 1),
            items,
            attrs: Attrs::new(),
        })
    }

    /// Consumes the task marker at the start of an item (tight: first event; loose: first
    /// event of the first paragraph).
    fn take_task_marker(&mut self) -> Option<bool> {
        match self.ev.get(self.i) {
            Some(Event::TaskListMarker(b)) => {
                let b = *b;
                self.i += 1;
                Some(b)
            }
            Some(Event::Start(Tag::Paragraph)) => match self.ev.get(self.i + 1) {
                Some(Event::TaskListMarker(b)) => {
                    let b = *b;
                    self.ev[self.i + 1] = Event::Text("".into());
                    Some(b)
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn table(&mut self, aligns: &[Alignment]) -> Table {
        let mut rows = Vec::new();
        while let Some(ev) = self.next() {
            match ev {
                Event::Start(Tag::TableHead) => rows.push(self.row(true)),
                Event::Start(Tag::TableRow) => rows.push(self.row(false)),
                Event::End(_) => break,
                _ => {}
            }
        }
        let mut attrs = Attrs::new();
        if aligns.iter().any(|a| *a != Alignment::None) {
            let v: Vec<&str> = aligns
                .iter()
                .map(|a| match a {
                    Alignment::None => "",
                    Alignment::Left => "left",
                    Alignment::Center => "center",
                    Alignment::Right => "right",
                })
                .collect();
            attrs.insert("kb:align".into(), v.join(","));
        }
        Table {
            columns: None,
            rows,
            attrs,
        }
    }

    fn row(&mut self, header: bool) -> TableRow {
        let mut cells = Vec::new();
        while let Some(ev) = self.next() {
            match ev {
                Event::Start(Tag::TableCell) => {
                    let content = self.inlines_until_end();
                    let blocks = if content.is_empty() {
                        vec![]
                    } else {
                        vec![Block::Plain { content }]
                    };
                    cells.push(TableCell {
                        header,
                        colspan: None,
                        rowspan: None,
                        blocks,
                        attrs: Attrs::new(),
                    });
                }
                Event::End(_) => break,
                _ => {}
            }
        }
        TableRow {
            cells,
            section: RowSection::Body,
            attrs: Attrs::new(),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Inlines

    /// Inline content up to (and consuming) the End of the enclosing element.
    fn inlines_until_end(&mut self) -> Vec<Inline> {
        self.inlines(true)
    }

    /// Inline content up to (not consuming) the next block-level event (tight list items).
    fn inlines_until_block(&mut self) -> Vec<Inline> {
        self.inlines(false)
    }

    fn inlines(&mut self, until_end: bool) -> Vec<Inline> {
        self.depth += 1;
        let mut c = Collector::default();
        let mut flat = 0usize;
        while let Some(ev) = self.peek() {
            if !until_end && flat == 0 && is_block_event(ev) {
                break;
            }
            let Some(ev) = self.next() else { break };
            match ev {
                Event::End(_) => {
                    if flat > 0 {
                        flat -= 1;
                        continue;
                    }
                    if until_end {
                        break;
                    }
                }
                Event::Start(tag) => {
                    if self.depth > MAX_DEPTH {
                        flat += 1;
                        continue;
                    }
                    self.start_inline(tag, &mut c);
                }
                Event::Text(t) => c.text(&t),
                Event::Code(t) => {
                    c.push(Inline::mark(Mark::Code, vec![Inline::text(t.to_string())]))
                }
                Event::InlineMath(t) => c.push(Inline::math(math(t.to_string()))),
                Event::DisplayMath(t) => {
                    let mut m = math(t.to_string());
                    m.attrs.insert(DISPLAY.into(), "true".into());
                    c.push(Inline::math(m));
                }
                Event::Html(t) | Event::InlineHtml(t) => c.html(&t),
                Event::FootnoteReference(t) => c.text(&format!("[^{t}]")),
                Event::SoftBreak => c.text("\n"),
                Event::HardBreak => c.push(Inline::Break {
                    attrs: Attrs::new(),
                }),
                Event::Rule => {}
                Event::TaskListMarker(done) => c.text(if done { "[x] " } else { "[ ] " }),
            }
        }
        self.depth -= 1;
        c.finish()
    }

    fn start_inline(&mut self, tag: Tag<'a>, c: &mut Collector) {
        match tag {
            Tag::Emphasis => c.push(Inline::mark(Mark::Emphasis, self.inlines_until_end())),
            Tag::Strong => c.push(Inline::mark(Mark::Strong, self.inlines_until_end())),
            Tag::Strikethrough => c.push(Inline::mark(Mark::Strike, self.inlines_until_end())),
            Tag::Superscript => c.push(Inline::mark(Mark::Superscript, self.inlines_until_end())),
            Tag::Subscript => c.push(Inline::mark(Mark::Subscript, self.inlines_until_end())),
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => {
                // Links do not nest: an inner link (an autolink in link text) keeps its text.
                let content = unlink(self.inlines_until_end());
                let url = if link_type == LinkType::Email && !dest_url.contains(':') {
                    format!("mailto:{dest_url}")
                } else {
                    dest_url.to_string()
                };
                let (target, anchor) = link_target(&url);
                c.push(Inline::link(Link {
                    target,
                    anchor,
                    content,
                    plain_body: false,
                    attrs: Attrs::new(),
                }));
            }
            Tag::Image { dest_url, .. } => {
                let content = self.inlines_until_end();
                let alt = crate::text::inlines_to_text(&content);
                c.push(Inline::image(image(&dest_url, alt)));
            }
            // Block tags inside inline content do not happen; keep their text.
            _ => {
                let inner = self.inlines_until_end();
                for x in inner {
                    c.push(x);
                }
            }
        }
    }
}

/// Replaces links inside `xs` by their content (the depth is bounded by [`MAX_DEPTH`]).
fn unlink(xs: Vec<Inline>) -> Vec<Inline> {
    fn has_link(xs: &[Inline]) -> bool {
        xs.iter().any(|x| match x {
            Inline::Link(_) => true,
            Inline::Mark { content, .. } | Inline::Span { content, .. } => has_link(content),
            _ => false,
        })
    }
    if !has_link(&xs) {
        return xs;
    }
    let mut out = Vec::with_capacity(xs.len());
    for x in xs {
        match x {
            Inline::Link(l) => {
                for y in unlink(l.content) {
                    push_merged(&mut out, y);
                }
            }
            Inline::Mark {
                mark,
                content,
                attrs,
            } => out.push(Inline::Mark {
                mark,
                content: unlink(content),
                attrs,
            }),
            Inline::Span {
                style,
                content,
                attrs,
            } => out.push(Inline::Span {
                style,
                content: unlink(content),
                attrs,
            }),
            other => push_merged(&mut out, other),
        }
    }
    out
}

/// Attribute marking a math span read from `$$…$$` (removed before the IR is returned).
const DISPLAY: &str = "kb:display";

fn math(tex: String) -> Math {
    Math {
        tex,
        macro_name: None,
        params: Params::new(),
        attrs: Attrs::new(),
    }
}

/// A paragraph (or a tight item's text) with the block forms Markdown has no other syntax
/// for: a lone image (optionally followed by an italic caption line) is an image block, a lone
/// `$$…$$` a display equation, a lone `[TOC]` a table of contents.
fn inline_block(mut content: Vec<Inline>, plain: bool) -> Block {
    match content.as_slice() {
        [Inline::Image(_)] => {
            if let Some(Inline::Image(img)) = content.pop() {
                return Block::Image(*img);
            }
        }
        [
            Inline::Image(_),
            Inline::Text { text },
            Inline::Mark {
                mark: Mark::Emphasis,
                ..
            },
        ] if text == "\n" => {
            if let (Some(Inline::Mark { content: cap, .. }), _, Some(Inline::Image(mut img))) =
                (content.pop(), content.pop(), content.pop())
            {
                let mut cap = cap;
                strip_display(&mut cap);
                img.caption = Some(vec![Block::Paragraph {
                    content: cap,
                    align: None,
                    attrs: Attrs::new(),
                }]);
                return Block::Image(*img);
            }
        }
        [Inline::Math(m)] if m.attrs.contains_key(DISPLAY) => {
            if let Some(Inline::Math(mut m)) = content.pop() {
                m.attrs.remove(DISPLAY);
                return Block::Math(*m);
            }
        }
        [Inline::Text { text }] if text == "[TOC]" => return Block::Toc(MacroInfo::default()),
        _ => {}
    }
    strip_display(&mut content);
    if plain {
        Block::Plain { content }
    } else {
        Block::Paragraph {
            content,
            align: None,
            attrs: Attrs::new(),
        }
    }
}

fn strip_display(xs: &mut Vec<Inline>) {
    for x in xs {
        match x {
            Inline::Math(m) => {
                m.attrs.remove(DISPLAY);
            }
            Inline::Mark { content, .. } | Inline::Span { content, .. } => strip_display(content),
            Inline::Link(l) => strip_display(&mut l.content),
            _ => {}
        }
    }
}

fn quote(kind: Option<BlockQuoteKind>, mut blocks: Vec<Block>) -> Block {
    let callout = |kind: CalloutKind, blocks: Vec<Block>| {
        Block::Callout(Callout {
            kind,
            title: None,
            icon: None,
            blocks,
            params: Params::new(),
            form: CalloutForm::Macro,
            attrs: Attrs::new(),
        })
    };
    if let Some(k) = kind {
        let kind = match k {
            BlockQuoteKind::Note => CalloutKind::Note,
            BlockQuoteKind::Tip => CalloutKind::Tip,
            BlockQuoteKind::Important => CalloutKind::Info,
            BlockQuoteKind::Warning => CalloutKind::Warning,
            BlockQuoteKind::Caution => CalloutKind::Error,
        };
        return callout(kind, blocks);
    }
    // `> **Note:** …`, the writer's callout form.
    if let Some(Block::Paragraph { content, .. }) = blocks.first_mut()
        && let Some(kind) = label_kind(content)
    {
        content.remove(0);
        match content.first_mut() {
            Some(Inline::Text { text }) if text.starts_with(' ') => {
                text.remove(0);
                if text.is_empty() {
                    content.remove(0);
                }
            }
            _ => {}
        }
        if content.is_empty() {
            blocks.remove(0);
        }
        return callout(kind, blocks);
    }
    Block::Quote {
        blocks,
        attrs: Attrs::new(),
    }
}

/// The callout kind named by a paragraph starting with `**Label:**` (and then a space or
/// nothing).
fn label_kind(content: &[Inline]) -> Option<CalloutKind> {
    let Some(Inline::Mark {
        mark: Mark::Strong,
        content: inner,
        attrs,
    }) = content.first()
    else {
        return None;
    };
    let [Inline::Text { text }] = inner.as_slice() else {
        return None;
    };
    if !attrs.is_empty() {
        return None;
    }
    match content.get(1) {
        None => {}
        Some(Inline::Text { text }) if text.starts_with(' ') => {}
        _ => return None,
    }
    let label = text.strip_suffix(':')?;
    [
        CalloutKind::Info,
        CalloutKind::Note,
        CalloutKind::Tip,
        CalloutKind::Warning,
        CalloutKind::Error,
        CalloutKind::Success,
        CalloutKind::Panel,
    ]
    .into_iter()
    .find(|k| super::writer::kind_label(*k) == label)
}

fn code_block(kind: CodeBlockKind<'_>, mut text: String) -> Block {
    if text.ends_with('\n') {
        text.pop();
    }
    let (language, title) = match kind {
        CodeBlockKind::Indented => (None, None),
        CodeBlockKind::Fenced(info) => parse_info(&info),
    };
    if language.as_deref() == Some("math") && title.is_none() {
        return Block::Math(math(text));
    }
    Block::Code(Code {
        language,
        title,
        text,
        noformat: false,
        params: Params::new(),
        attrs: Attrs::new(),
    })
}

/// `lang title="x"` → (language, title).
fn parse_info(info: &str) -> (Option<String>, Option<String>) {
    let info = info.trim();
    let mut title = None;
    let mut rest = info;
    if let Some(pos) = info.find("title=\"") {
        let after = &info[pos + 7..];
        if let Some(end) = after.rfind('"') {
            title = Some(after[..end].to_string());
            rest = &info[..pos];
        }
    }
    let language = rest
        .split_whitespace()
        .next()
        .filter(|l| !l.contains('='))
        .map(str::to_string);
    (language, title)
}

fn html_extension(source: String) -> Extension {
    let name = html_name(&source);
    Extension {
        format: "markdown".into(),
        kind: "html".into(),
        name,
        params: Params::new(),
        body: vec![],
        text: None,
        source: Some(source),
        attrs: Attrs::new(),
    }
}

fn html_name(source: &str) -> String {
    let s = source.trim_start();
    if s.starts_with("<!--") {
        return "comment".into();
    }
    let s = s.strip_prefix('<').unwrap_or("");
    let s = s.strip_prefix('/').unwrap_or(s);
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect::<String>()
        .to_ascii_lowercase()
}

// ---------------------------------------------------------------------------------------------
// Links and images

fn has_scheme(s: &str) -> bool {
    crate::util::uri_scheme(s).is_some()
}

/// Decodes `%XX` escapes (invalid ones stay as they are; invalid UTF-8 is replaced).
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A link destination → a symbolic target and anchor.
///
/// `#x` → same page; an absolute URL (with a scheme) or a path from the root → URL;
/// `Title.md` (optionally `../SPACE/Title.md`, `#anchor`) → a page by title; a relative file
/// name with an extension → an attachment; another relative name without an extension → a
/// page by title; anything else → URL.
fn link_target(url: &str) -> (LinkTarget, Option<String>) {
    if let Some(a) = url.strip_prefix('#') {
        let a = percent_decode(a);
        return (
            LinkTarget::SamePage,
            if a.is_empty() { None } else { Some(a) },
        );
    }
    if url.is_empty() || has_scheme(url) || url.starts_with(['/', '?', '\\']) {
        return (LinkTarget::url(url), None);
    }
    let (path, anchor) = match url.split_once('#') {
        Some((p, a)) => (p, Some(percent_decode(a))),
        None => (url, None),
    };
    let path = path.strip_prefix("./").unwrap_or(path);
    if path.contains('?') {
        return (LinkTarget::url(url), None);
    }
    let lower = path.to_ascii_lowercase();
    if let Some(stem) = lower.strip_suffix(".md").map(|s| &path[..s.len()]) {
        let segs: Vec<&str> = stem.split('/').collect();
        let title = percent_decode(segs.last().copied().unwrap_or(""));
        let space_key = match segs.as_slice() {
            ["..", key, _] => Some(percent_decode(key)),
            _ => None,
        };
        return (
            LinkTarget::Page {
                title: Some(title),
                space_key,
                id: None,
                attrs: Attrs::new(),
            },
            anchor,
        );
    }
    if path.is_empty() || path.contains('/') {
        return (LinkTarget::url(url), None);
    }
    let name = percent_decode(path);
    if path.contains('.') {
        (
            LinkTarget::Attachment {
                filename: name,
                container: None,
                attrs: Attrs::new(),
            },
            anchor,
        )
    } else {
        (LinkTarget::page_titled(name), anchor)
    }
}

fn image(url: &str, alt: String) -> Image {
    let source = if url.is_empty() || has_scheme(url) || url.starts_with(['/', '?', '#', '\\']) {
        ImageSource::Url {
            url: url.to_string(),
        }
    } else {
        let path = url.strip_prefix("./").unwrap_or(url);
        ImageSource::Attachment {
            filename: percent_decode(path),
            container: None,
            attrs: Attrs::new(),
        }
    };
    Image {
        source,
        alt: if alt.is_empty() { None } else { Some(alt) },
        width: None,
        height: None,
        caption: None,
        caption_attrs: Attrs::new(),
        marks: vec![],
        attrs: Attrs::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Inline HTML: element pairs that map to IR marks become marks; the rest is kept verbatim.

enum FrameKind {
    Mark(Mark),
    Span(SpanStyle, Attrs),
    Link(String),
    Anchor(String),
}

struct Frame {
    tag: String,
    raw: String,
    kind: FrameKind,
    content: Vec<Inline>,
}

#[derive(Default)]
struct Collector {
    root: Vec<Inline>,
    stack: Vec<Frame>,
}

fn push_merged(v: &mut Vec<Inline>, x: Inline) {
    if let Inline::Text { text } = &x {
        if text.is_empty() {
            return;
        }
        if let Some(Inline::Text { text: prev }) = v.last_mut() {
            prev.push_str(text);
            return;
        }
    }
    v.push(x);
}

impl Collector {
    fn cur(&mut self) -> &mut Vec<Inline> {
        match self.stack.last_mut() {
            Some(f) => &mut f.content,
            None => &mut self.root,
        }
    }

    fn push(&mut self, x: Inline) {
        push_merged(self.cur(), x);
    }

    fn text(&mut self, t: &str) {
        if t.is_empty() {
            return;
        }
        if let Some(Inline::Text { text }) = self.cur().last_mut() {
            text.push_str(t);
            return;
        }
        self.cur().push(Inline::text(t));
    }

    fn raw(&mut self, source: &str) {
        let name = html_name(source);
        self.push(Inline::extension(Extension {
            format: "markdown".into(),
            kind: "html".into(),
            name,
            params: Params::new(),
            body: vec![],
            text: None,
            source: Some(source.to_string()),
            attrs: Attrs::new(),
        }));
    }

    fn html(&mut self, source: &str) {
        let Some(tag) = parse_tag(source) else {
            self.raw(source);
            return;
        };
        match tag {
            HtmlTag::Open {
                name,
                attrs,
                self_closing,
            } => {
                if name == "br" {
                    self.push(Inline::Break {
                        attrs: Attrs::new(),
                    });
                    return;
                }
                if self_closing || self.stack.len() >= MAX_DEPTH {
                    self.raw(source);
                    return;
                }
                let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                let kind = match name.as_str() {
                    "strong" | "b" => FrameKind::Mark(Mark::Strong),
                    "em" | "i" => FrameKind::Mark(Mark::Emphasis),
                    "del" | "s" | "strike" => FrameKind::Mark(Mark::Strike),
                    "u" | "ins" => FrameKind::Mark(Mark::Underline),
                    "sub" => FrameKind::Mark(Mark::Subscript),
                    "sup" => FrameKind::Mark(Mark::Superscript),
                    "small" => FrameKind::Mark(Mark::Small),
                    "big" => FrameKind::Mark(Mark::Big),
                    "code" => FrameKind::Mark(Mark::Code),
                    "span" => {
                        let (style, rest) = parse_style(get("style").as_deref().unwrap_or(""));
                        let mut a = Attrs::new();
                        if !rest.is_empty() {
                            a.insert("style".into(), rest);
                        }
                        FrameKind::Span(style, a)
                    }
                    "a" => match (get("href"), get("id").or_else(|| get("name"))) {
                        (Some(h), _) => FrameKind::Link(h),
                        (None, Some(id)) => FrameKind::Anchor(id),
                        _ => {
                            self.raw(source);
                            return;
                        }
                    },
                    _ => {
                        self.raw(source);
                        return;
                    }
                };
                self.stack.push(Frame {
                    tag: name,
                    raw: source.to_string(),
                    kind,
                    content: Vec::new(),
                });
            }
            HtmlTag::Close { name } => {
                let Some(pos) = self.stack.iter().rposition(|f| f.tag == name) else {
                    self.raw(source);
                    return;
                };
                // Frames opened inside and never closed: their tags are kept verbatim.
                while self.stack.len() > pos + 1 {
                    self.unwind_top();
                }
                let Some(f) = self.stack.pop() else { return };
                let inline = match f.kind {
                    FrameKind::Mark(m) => vec![Inline::Mark {
                        mark: m,
                        content: f.content,
                        attrs: Attrs::new(),
                    }],
                    FrameKind::Span(style, attrs) => vec![Inline::Span {
                        style: Box::new(style),
                        content: f.content,
                        attrs,
                    }],
                    FrameKind::Link(href) => {
                        let (target, anchor) = link_target(&href);
                        let content = unlink(f.content);
                        vec![Inline::link(Link {
                            target,
                            anchor,
                            content,
                            plain_body: false,
                            attrs: Attrs::new(),
                        })]
                    }
                    FrameKind::Anchor(name) => {
                        let mut v = vec![Inline::Anchor {
                            name,
                            params: Params::new(),
                            attrs: Attrs::new(),
                        }];
                        v.extend(f.content);
                        v
                    }
                };
                for x in inline {
                    self.push(x);
                }
            }
        }
    }

    /// Closes the innermost open frame as raw HTML followed by its content.
    fn unwind_top(&mut self) {
        if let Some(f) = self.stack.pop() {
            self.raw(&f.raw);
            for x in f.content {
                self.push(x);
            }
        }
    }

    fn finish(mut self) -> Vec<Inline> {
        while !self.stack.is_empty() {
            self.unwind_top();
        }
        self.root
    }
}

enum HtmlTag {
    Open {
        name: String,
        attrs: Vec<(String, String)>,
        self_closing: bool,
    },
    Close {
        name: String,
    },
}

/// Parses one HTML tag (`<name a="v" b='v' c=v d>`, `</name>`, `<name/>`).
fn parse_tag(s: &str) -> Option<HtmlTag> {
    let s = s.trim();
    let inner = s.strip_prefix('<')?.strip_suffix('>')?;
    if let Some(rest) = inner.strip_prefix('/') {
        let name = rest.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return None;
        }
        return Some(HtmlTag::Close {
            name: name.to_ascii_lowercase(),
        });
    }
    let (inner, self_closing) = match inner.strip_suffix('/') {
        Some(i) => (i, true),
        None => (inner, false),
    };
    let name_len = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(inner.len());
    if name_len == 0 {
        return None;
    }
    let name = inner[..name_len].to_ascii_lowercase();
    let mut rest = &inner[name_len..];
    let mut attrs = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let n = rest
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(rest.len());
        if n == 0 {
            return None;
        }
        let key = rest[..n].to_ascii_lowercase();
        rest = rest[n..].trim_start();
        if let Some(r) = rest.strip_prefix('=') {
            let r = r.trim_start();
            let (val, after) = if let Some(q) = r.strip_prefix('"') {
                let end = q.find('"')?;
                (&q[..end], &q[end + 1..])
            } else if let Some(q) = r.strip_prefix('\'') {
                let end = q.find('\'')?;
                (&q[..end], &q[end + 1..])
            } else {
                let end = r.find(char::is_whitespace).unwrap_or(r.len());
                (&r[..end], &r[end..])
            };
            attrs.push((key, decode_entities(val)));
            rest = after;
        } else {
            attrs.push((key, String::new()));
        }
    }
    Some(HtmlTag::Open {
        name,
        attrs,
        self_closing,
    })
}

/// Decodes the character references an HTML attribute may hold (numeric and the basic named
/// ones; others stay as written).
pub(crate) fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let end = after.find(';').filter(|&e| e <= 32);
        let decoded = end.and_then(|e| {
            let name = &after[..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let v = match num.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok()?,
                        None => num.parse::<u32>().ok()?,
                    };
                    char::from_u32(v)
                }
            }?;
            Some((c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `color: red; background-color: x; text-decoration: underline; other: y` → the modelled
/// style and the remaining declarations.
fn parse_style(css: &str) -> (SpanStyle, String) {
    let mut style = SpanStyle::default();
    let mut rest: Vec<String> = Vec::new();
    for decl in css.split(';') {
        let decl = decl.trim();
        if decl.is_empty() {
            continue;
        }
        let Some((k, v)) = decl.split_once(':') else {
            rest.push(decl.to_string());
            continue;
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        match k.as_str() {
            "color" if style.color.is_none() => style.color = Some(v.to_string()),
            "background-color" if style.background.is_none() => {
                style.background = Some(v.to_string())
            }
            "text-decoration" | "text-decoration-line"
                if v.split_whitespace()
                    .all(|w| w == "underline" || w == "line-through")
                    && !style.strike
                    && !style.underline =>
            {
                for w in v.split_whitespace() {
                    if w == "underline" {
                        style.underline = true;
                    } else {
                        style.strike = true;
                    }
                }
            }
            _ => rest.push(decl.to_string()),
        }
    }
    (style, rest.join("; "))
}

fn prepend_marker_text(blocks: &mut Vec<Block>, done: bool) {
    let marker = if done { "[x] " } else { "[ ] " };
    match blocks.first_mut() {
        Some(Block::Plain { content }) | Some(Block::Paragraph { content, .. }) => {
            match content.first_mut() {
                Some(Inline::Text { text }) => text.insert_str(0, marker),
                _ => content.insert(0, Inline::text(marker)),
            }
        }
        _ => blocks.insert(
            0,
            Block::Plain {
                content: vec![Inline::text(marker.trim_end())],
            },
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// HTML blocks around Markdown: `<table>` … `</table>` → Table, `<details>` … → Expand.

/// Folds the HTML constructs the writer wraps around Markdown (tables with Markdown cells,
/// `<details>`) back into IR blocks. Anything that does not have exactly their shape stays as
/// it was.
/// `depth`: the nesting the blocks are at (folding nests them further, up to [`MAX_DEPTH`]).
fn fold_html(blocks: Vec<Block>, depth: usize) -> Vec<Block> {
    fold_details(fold_tables(blocks, depth), depth)
}

fn html_source(b: &Block) -> Option<&str> {
    match b {
        Block::Extension(x) if x.format == "markdown" && x.kind == "html" => x.source.as_deref(),
        _ => None,
    }
}

enum Tok {
    Open(String, Vec<(String, String)>),
    Close(String),
    Text(String),
}

/// Splits an HTML block into tags and text; `None` for comments and anything not a plain tag.
fn html_tokens(src: &str) -> Option<Vec<Tok>> {
    let mut toks = Vec::new();
    let mut rest = src;
    while !rest.is_empty() {
        match rest.find('<') {
            Some(0) => {
                let end = rest.find('>')?;
                match parse_tag(&rest[..=end])? {
                    HtmlTag::Open { name, attrs, .. } => toks.push(Tok::Open(name, attrs)),
                    HtmlTag::Close { name } => toks.push(Tok::Close(name)),
                }
                rest = &rest[end + 1..];
            }
            Some(pos) => {
                toks.push(Tok::Text(decode_entities(&rest[..pos])));
                rest = &rest[pos..];
            }
            None => {
                toks.push(Tok::Text(decode_entities(rest)));
                rest = "";
            }
        }
    }
    Some(toks)
}

fn fold_tables(blocks: Vec<Block>, depth: usize) -> Vec<Block> {
    let starts_table = |b: &Block| {
        html_source(b).is_some_and(|s| s.trim_start().to_ascii_lowercase().starts_with("<table"))
    };
    if !blocks.iter().any(starts_table) {
        return blocks;
    }
    let mut out = Vec::with_capacity(blocks.len());
    let mut i = 0;
    while i < blocks.len() {
        if starts_table(&blocks[i])
            && let Some((table, used)) = html_table(&blocks[i..], depth + 1)
        {
            out.push(table);
            i += used;
            continue;
        }
        out.push(blocks[i].clone());
        i += 1;
    }
    out
}

/// An HTML table spread over HTML blocks with Markdown blocks in its cells; returns the table
/// and how many blocks it used.
fn html_table(blocks: &[Block], depth: usize) -> Option<(Block, usize)> {
    if depth > MAX_DEPTH {
        return None;
    }
    struct Cell {
        cell: TableCell,
        blocks: Vec<Block>,
        text: String,
    }
    let mut rows: Vec<TableRow> = Vec::new();
    let mut row: Option<Vec<TableCell>> = None;
    let mut cell: Option<Cell> = None;
    let mut section = RowSection::Body;
    let mut open = false;
    let mut k = 0;
    while k < blocks.len() {
        let b = &blocks[k];
        k += 1;
        let Some(src) = html_source(b) else {
            // Markdown between the tags belongs to the open cell.
            cell.as_mut()?.blocks.push(b.clone());
            continue;
        };
        if let Some(c) = cell.as_mut() {
            let head = src.trim_start().to_ascii_lowercase();
            if head.starts_with("<table") {
                // A table in a cell.
                let (inner, used) = html_table(&blocks[k - 1..], depth + 1)?;
                c.blocks.push(inner);
                k += used - 1;
                continue;
            }
            let structural = [
                "</td", "</th", "<td", "<th", "<tr", "</tr", "</table", "<tbody", "</tbody",
                "<thead", "</thead", "<tfoot", "</tfoot",
            ];
            if !structural.iter().any(|t| head.starts_with(t)) {
                // Other HTML in a cell is the cell's content.
                c.blocks.push(b.clone());
                continue;
            }
        }
        let toks = html_tokens(src)?;
        let mut closed = false;
        for tok in toks {
            if closed {
                match tok {
                    Tok::Text(t) if t.trim().is_empty() => continue,
                    _ => return None,
                }
            }
            match tok {
                Tok::Text(t) => match cell.as_mut() {
                    Some(c) => c.text.push_str(&t),
                    None if t.trim().is_empty() => {}
                    None => return None,
                },
                Tok::Open(name, attrs) => match name.as_str() {
                    "table" if !open => open = true,
                    "thead" | "tbody" | "tfoot" if open && row.is_none() => {
                        section = match name.as_str() {
                            "thead" => RowSection::Head,
                            "tfoot" => RowSection::Foot,
                            _ => RowSection::Body,
                        };
                    }
                    "tr" if open && row.is_none() => row = Some(Vec::new()),
                    "th" | "td" if row.is_some() && cell.is_none() => {
                        let span = |k: &str| {
                            attrs
                                .iter()
                                .find(|(n, _)| n == k)
                                .and_then(|(_, v)| v.trim().parse::<u32>().ok())
                                .filter(|&v| v != 1)
                        };
                        let rest: Attrs = attrs
                            .iter()
                            .filter(|(n, _)| n != "colspan" && n != "rowspan")
                            .cloned()
                            .collect();
                        cell = Some(Cell {
                            cell: TableCell {
                                header: name == "th",
                                colspan: span("colspan"),
                                rowspan: span("rowspan"),
                                blocks: vec![],
                                attrs: rest,
                            },
                            blocks: vec![],
                            text: String::new(),
                        });
                    }
                    _ => return None,
                },
                Tok::Close(name) => match name.as_str() {
                    "th" | "td" => {
                        let mut c = cell.take()?;
                        let text = c.text.trim();
                        if !text.is_empty() {
                            if !c.blocks.is_empty() {
                                return None;
                            }
                            c.blocks.push(Block::Plain {
                                content: vec![Inline::text(text)],
                            });
                        }
                        c.cell.blocks = fold_html(c.blocks, depth + 1);
                        row.as_mut()?.push(c.cell);
                    }
                    "tr" if cell.is_none() => {
                        let cells = row.take()?;
                        rows.push(TableRow {
                            cells,
                            section,
                            attrs: Attrs::new(),
                        });
                    }
                    "thead" | "tbody" | "tfoot" if row.is_none() => section = RowSection::Body,
                    "table" if row.is_none() && cell.is_none() && open => closed = true,
                    _ => return None,
                },
            }
        }
        if closed {
            let table = Table {
                columns: None,
                rows,
                attrs: Attrs::new(),
            };
            return Some((Block::Table(table), k));
        }
    }
    None
}

// `<details><summary>…</summary>` … `</details>` HTML blocks around Markdown → Expand.

/// The title of an opening `<details>` HTML block: `Some(None)` without a summary, `None` when
/// the block is something else.
fn details_open(b: &Block) -> Option<Option<String>> {
    let Block::Extension(x) = b else { return None };
    if x.format != "markdown" || x.kind != "html" {
        return None;
    }
    let src = x.source.as_deref()?.trim();
    let rest = src.strip_prefix("<details>")?.trim();
    if rest.is_empty() {
        return Some(None);
    }
    let inner = rest.strip_prefix("<summary>")?.strip_suffix("</summary>")?;
    if inner.contains('<') {
        return None;
    }
    Some(Some(decode_entities(inner)))
}

fn details_close(b: &Block) -> bool {
    matches!(b, Block::Extension(x) if x.format == "markdown" && x.kind == "html"
        && x.source.as_deref().map(str::trim) == Some("</details>"))
}

fn fold_details(blocks: Vec<Block>, depth: usize) -> Vec<Block> {
    if !blocks.iter().any(details_close) {
        return blocks;
    }
    // Stack of open <details>: (title, blocks collected so far, the opening block).
    let mut stack: Vec<(Option<String>, Vec<Block>, Block)> = Vec::new();
    let mut out: Vec<Block> = Vec::new();
    // Openers past MAX_DEPTH, kept raw with their closers.
    let mut skipped = 0usize;
    for b in blocks {
        if let Some(title) = details_open(&b) {
            if stack.len() + depth < MAX_DEPTH {
                stack.push((title, Vec::new(), b));
                continue;
            }
            skipped += 1;
        } else if details_close(&b) && skipped > 0 {
            skipped -= 1;
        } else if details_close(&b)
            && let Some((title, inner, _)) = stack.pop()
        {
            let e = Block::Expand(Expand {
                title,
                blocks: inner,
                params: Params::new(),
                attrs: Attrs::new(),
            });
            match stack.last_mut() {
                Some((_, v, _)) => v.push(e),
                None => out.push(e),
            }
            continue;
        }
        match stack.last_mut() {
            Some((_, v, _)) => v.push(b),
            None => out.push(b),
        }
    }
    // Unclosed: keep the opening block and the content as they were.
    let mut rest: Vec<Block> = Vec::new();
    while let Some((_, inner, open)) = stack.pop() {
        let mut v = vec![open];
        v.extend(inner);
        v.append(&mut rest);
        rest = v;
    }
    out.extend(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        assert_eq!(percent_decode("a%20b%2Fc%zz%4"), "a b/c%zz%4");
        assert_eq!(decode_entities("a&amp;b&#32;&#x41;&bogus;"), "a&b A&bogus;");
    }

    #[test]
    fn targets() {
        assert_eq!(link_target("#x").0, LinkTarget::SamePage);
        assert_eq!(
            link_target("https://a/b#c"),
            (LinkTarget::url("https://a/b#c"), None)
        );
        assert_eq!(
            link_target("My%20Page.md#s"),
            (LinkTarget::page_titled("My Page"), Some("s".into()))
        );
        assert!(
            matches!(link_target("../ENG/X.md").0, LinkTarget::Page { space_key: Some(ref k), .. } if k == "ENG")
        );
        assert!(
            matches!(link_target("a%20b.pdf").0, LinkTarget::Attachment { ref filename, .. } if filename == "a b.pdf")
        );
    }
}
