//! IR → GFM.
//!
//! The writer renders every node. What GFM expresses exactly is written so that
//! [`super::read`] gives the same IR back (see the canonical forms in [`super`]); the rest gets a
//! readable fallback recorded in [`Written::fallbacks`].
//!
//! Inline text is escaped so that it reads back unchanged: Markdown-special ASCII punctuation
//! gets a backslash, and what a backslash cannot protect (spaces at a line start or end, a line
//! feed inside a heading or a table cell, a carriage return) becomes a numeric character
//! reference. Emphasis delimiters (`**`, `*`, `__`, `_`, `~~`) are used only when the CommonMark
//! flanking rules guarantee they parse back as written; otherwise the mark is written as inline
//! HTML (`<strong>`, `<em>`, `<del>`), which the reader also understands.

use std::borrow::Cow;

use crate::ir::*;
use crate::report::{Fallback, Written};
use crate::text;

/// Nesting (blocks and inlines counted together) past which the writer stops rendering
/// structure and writes the plain text of what is below: a backstop only, never reached after
/// [`crate::depth::limit`], which every document goes through first.
const MAX_DEPTH: usize = 2 * (crate::depth::MAX_BLOCK_DEPTH + crate::depth::MAX_INLINE_DEPTH);

pub(crate) fn write(doc: &Document) -> Written {
    let (doc, mut fallbacks) = crate::depth::limit(doc);
    let mut w = Writer::default();
    let mut output = w.blocks(doc.blocks.iter(), Mode::Loose);
    if !output.is_empty() {
        output.push('\n');
    }
    fallbacks.append(&mut w.fallbacks);
    Written { output, fallbacks }
}

/// How the blocks of one container are separated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Blank lines between blocks (documents, quotes, loose list items, HTML table cells).
    Loose,
    /// Items of a tight list: `Block::Plain` is the item text, blocks follow on the next line
    /// where Markdown allows it.
    Tight,
}

/// Class of a character for the emphasis flanking rules.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cls {
    /// Whitespace, or a line start/end.
    Space,
    /// ASCII punctuation.
    Punct,
    /// Letters and digits.
    Word,
    /// Anything else (non-ASCII symbols and punctuation): may be punctuation or not.
    Other,
}

fn classify(c: char) -> Cls {
    if c.is_whitespace() {
        Cls::Space
    } else if c.is_ascii_punctuation() {
        Cls::Punct
    } else if c.is_alphanumeric() {
        Cls::Word
    } else {
        Cls::Other
    }
}

/// What follows an inline sequence: its class, and the character when it is known.
#[derive(Clone, Copy, Debug)]
struct After {
    cls: Cls,
    ch: Option<char>,
}

const END: After = After {
    cls: Cls::Space,
    ch: None,
};

/// Inline rendering context.
#[derive(Clone, Copy, Default, Debug)]
struct ICtx {
    /// The content must stay on one line (headings, pipe-table cells).
    single_line: bool,
    /// Inside a pipe-table cell: `|` must be escaped everywhere, code spans included.
    table: bool,
    /// Inside link text: a nested link is written as its text.
    in_link: bool,
    /// Delimiter characters of the enclosing marks still open (`*`, `_`, `~`): a nested mark
    /// must not reuse them, or its delimiters could close the outer one.
    open: [bool; 3],
}

fn delim_slot(c: Option<char>) -> Option<usize> {
    match c {
        Some('*') => Some(0),
        Some('_') => Some(1),
        Some('~') => Some(2),
        _ => None,
    }
}

#[derive(Default)]
struct Writer {
    fallbacks: Vec<Fallback>,
    depth: usize,
    /// Set while rendering a throw-away copy (no fallbacks recorded).
    quiet: bool,
}

/// Characters escaped with a backslash wherever they appear in text.
fn always_escaped(c: char) -> bool {
    matches!(
        c,
        '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '~' | '$' | '|'
    )
}

/// Characters escaped at the start of a line (block markers).
fn line_start_escaped(c: char) -> bool {
    matches!(c, '#' | '>' | '-' | '+' | '=')
}

/// True when `s` (just after a `&`) starts like a character reference: `name;`, `#123;`, `#x1F;`.
fn looks_like_entity(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'#') {
        i = 1;
        if matches!(b.get(1), Some(b'x') | Some(b'X')) {
            i = 2;
        }
    }
    let start = i;
    while i < b.len() && i < 40 && b[i].is_ascii_alphanumeric() {
        i += 1;
    }
    i > start && b.get(i) == Some(&b';')
}

/// Escapes text for inline Markdown. `start`/`end`: the text begins/ends a line (or a
/// delimited span), where leading/trailing spaces would be stripped and block markers would
/// be recognised.
fn escape_text(t: &str, start: bool, end: bool, ctx: ICtx, out: &mut String) {
    let mut line_start = start;
    let mut it = t.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let next = it.peek().map(|&(_, n)| n);
        let at_line_end = match next {
            None => end,
            Some('\n') => !ctx.single_line,
            _ => false,
        };
        if c == '\n' && !ctx.single_line && (line_start || at_line_end) {
            // An empty line would end the paragraph, a final line feed would be stripped.
            out.push_str("&#10;");
            line_start = false;
            continue;
        }
        if line_start {
            line_start = false;
            match c {
                ' ' => {
                    out.push_str("&#32;");
                    continue;
                }
                '\t' => {
                    out.push_str("&#9;");
                    continue;
                }
                // Block markers only matter on real lines (not in headings or table cells).
                c if line_start_escaped(c) && !ctx.single_line => {
                    out.push('\\');
                    out.push(c);
                    continue;
                }
                '0'..='9' if !ctx.single_line => {
                    // `12.` / `12)` would start an ordered list.
                    let rest = &t[i..];
                    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                    if matches!(rest.as_bytes().get(digits), Some(b'.') | Some(b')')) {
                        out.push_str(&rest[..digits]);
                        out.push('\\');
                        out.push(rest.as_bytes()[digits] as char);
                        for _ in 0..digits {
                            it.next();
                        }
                        continue;
                    }
                }
                _ => {}
            }
        }
        match c {
            '\n' => {
                if ctx.single_line {
                    out.push_str("&#10;");
                } else {
                    out.push('\n');
                    line_start = true;
                }
            }
            '\r' => out.push_str("&#13;"),
            '\0' => out.push('\u{FFFD}'),
            ' ' if at_line_end => out.push_str("&#32;"),
            '\t' if at_line_end => out.push_str("&#9;"),
            '&' if looks_like_entity(&t[i + 1..]) => out.push_str("\\&"),
            // `!` right before a link would make it an image.
            '!' if next.is_none() => out.push_str("\\!"),
            c if always_escaped(c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

/// Escapes text for an HTML attribute value or element content.
fn escape_html(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\n' => o.push_str("&#10;"),
            '\r' => o.push_str("&#13;"),
            c => o.push(c),
        }
    }
    o
}

/// Percent-encodes a file name, page title or anchor for a relative link.
pub(crate) fn encode_path(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        let keep = if c.is_ascii() {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '-' | '.' | '_' | '~' | '!' | '\'' | '+' | ',' | ';' | '=' | '@'
                )
        } else {
            !c.is_whitespace() && !c.is_control()
        };
        if keep {
            o.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                o.push_str(&format!("%{b:02X}"));
            }
        }
    }
    o
}

/// A link destination as Markdown source: `<…>` when the URL has spaces, brackets or
/// parentheses, else the URL with backslash escapes.
fn dest(url: &str) -> String {
    let url: String = url
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let pointy = url.is_empty()
        || url
            .chars()
            .any(|c| c == ' ' || c.is_control() || matches!(c, '<' | '>' | '(' | ')'));
    let mut o = String::with_capacity(url.len() + 2);
    if pointy {
        o.push('<');
    }
    for (i, c) in url.char_indices() {
        match c {
            '\\' | '<' | '>' | '|' | '$' | '`' => {
                o.push('\\');
                o.push(c);
            }
            '&' if looks_like_entity(&url[i + 1..]) => o.push_str("\\&"),
            c => o.push(c),
        }
    }
    if pointy {
        o.push('>');
    }
    o
}

/// True when `url` can be written as an autolink `<url>` and read back unchanged.
fn autolinkable(url: &str) -> bool {
    let Some(scheme) = crate::util::uri_scheme(url) else {
        return false;
    };
    let colon = scheme.len();
    let scheme_ok = (2..=32).contains(&scheme.len());
    scheme_ok
        && url.len() > colon + 1
        && !url.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    '<' | '>' | '|' | '`' | '\\' | '&' | '$' | '*' | '_' | '~' | '[' | ']'
                )
        })
}

/// Balanced braces (ignoring backslash-escaped ones): a math span's delimiters must sit in the
/// same brace context.
fn braces_balanced(tex: &str) -> bool {
    let mut depth = 0i64;
    let mut it = tex.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                it.next();
            }
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// Every `$` in `tex` is backslash-escaped or inside braces (so it does not end the span).
fn dollars_escaped(tex: &str) -> bool {
    let mut depth = 0usize;
    let mut it = tex.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                it.next();
            }
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '$' if depth == 0 => return false,
            _ => {}
        }
    }
    true
}

/// Whether the lines after the first of a math span's raw text (followed by `closer`) stay in
/// the paragraph: a line feed is allowed (not on one-line contexts) when the next line cannot
/// start a block.
fn math_lines_ok(tex: &str, closer: &str, single_line: bool) -> bool {
    if !tex.contains('\n') {
        return true;
    }
    let n = tex.split('\n').count();
    !single_line
        && tex.split('\n').enumerate().skip(1).all(|(i, line)| {
            let line = if i + 1 == n {
                format!("{line}{closer}")
            } else {
                line.to_string()
            };
            !line.starts_with('\t') && !raw_line_may_start_block(&line)
        })
}

/// `$tex$` reads back as the same inline math (its text is raw, whitespace included).
fn inline_math_ok(tex: &str, single_line: bool) -> bool {
    let first = tex.chars().next();
    let last = tex.chars().last();
    first.is_some_and(|c| !c.is_ascii_whitespace())
        && last.is_some_and(|c| !c.is_ascii_whitespace())
        && math_text_ok(tex)
        && math_lines_ok(tex, "$", single_line)
}

/// Rules for any math span's text: no unescaped `$` outside braces, balanced braces, no final
/// escaping backslash, no carriage return.
fn math_text_ok(tex: &str) -> bool {
    tex.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 0
        && !tex.contains('\r')
        && dollars_escaped(tex)
        && braces_balanced(tex)
}

/// Whether a paragraph continuation line starting like `line` could start a block (or be a
/// setext underline) instead.
fn may_start_block(line: &str) -> bool {
    let b = line.as_bytes();
    let Some(&c) = b.first() else { return true };
    let then_space = |i: usize| b.get(i).is_none_or(|c| *c == b' ' || *c == b'\t');
    // Only `c` and spaces (a thematic break or a setext underline).
    let only = |c: u8| b.iter().all(|&x| x == c || x == b' ' || x == b'\t');
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    match c {
        b' ' | b'\t' | b'>' | b'|' => true,
        b'#' => {
            let hashes = b.iter().take_while(|&&x| x == b'#').count();
            hashes <= 6 && then_space(hashes)
        }
        b'<' => b
            .get(1)
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?')),
        b'`' => line.starts_with("```"),
        b'~' => line.starts_with("~~~"),
        b'=' => only(b'='),
        b'-' | b'+' | b'*' => then_space(1) || only(c),
        b'_' => only(b'_'),
        b'0'..=b'9' => matches!(b.get(digits), Some(b'.') | Some(b')')) && then_space(digits + 1),
        _ => false,
    }
}

/// Like [`may_start_block`] for a line of raw HTML, whose indentation is kept as written.
fn raw_line_may_start_block(line: &str) -> bool {
    let trimmed = line.trim_start_matches([' ', '\t']);
    let indent: usize = line[..line.len() - trimmed.len()]
        .chars()
        .map(|c| if c == '\t' { 4 } else { 1 })
        .sum();
    trimmed.is_empty() || indent < 4 && may_start_block(trimmed)
}

/// `$$tex$$` (a paragraph of its own, or inside a paragraph) reads back as the same display
/// math.
fn display_math_ok(tex: &str, single_line: bool) -> bool {
    !tex.is_empty() && math_text_ok(tex) && math_lines_ok(tex, "$$", single_line)
}

fn longest_run(s: &str, ch: char) -> usize {
    let mut best = 0;
    let mut cur = 0;
    for c in s.chars() {
        if c == ch {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

/// Prefixes every line of `body`: `first` on the first line, `rest` on the others; empty lines
/// get the prefixes trimmed of trailing spaces.
fn prefix_lines(body: &str, first: &str, rest: &str) -> String {
    let mut o = String::with_capacity(body.len() + 16);
    for (i, line) in body.split('\n').enumerate() {
        if i > 0 {
            o.push('\n');
        }
        let p = if i == 0 { first } else { rest };
        if line.is_empty() {
            o.push_str(p.trim_end());
        } else {
            o.push_str(p);
            o.push_str(line);
        }
    }
    o
}

/// A readable name for a link target (empty link text, file cards, includes).
pub(crate) fn target_label(t: &LinkTarget, anchor: Option<&str>) -> String {
    t.name(anchor).unwrap_or_else(|| {
        match t {
            LinkTarget::User { .. } => "user",
            LinkTarget::Page { .. } => "page",
            _ => "",
        }
        .to_string()
    })
}

/// The Markdown destination of a link target, or `None` when it is not a link (a user).
fn target_dest(t: &LinkTarget, anchor: Option<&str>) -> Option<String> {
    let frag = |s: &mut String| {
        if let Some(a) = anchor {
            s.push('#');
            s.push_str(&encode_path(a));
        }
    };
    let page = |space: Option<&str>, title: &str| {
        let mut s = String::new();
        if let Some(k) = space {
            s.push_str("../");
            s.push_str(&encode_path(k));
            s.push('/');
        }
        s.push_str(&encode_path(title));
        s.push_str(".md");
        s
    };
    let mut s = match t {
        LinkTarget::Url { url } => {
            let mut s = url.clone();
            if let Some(a) = anchor {
                s.push('#');
                s.push_str(a);
            }
            return Some(s);
        }
        LinkTarget::SamePage => String::new(),
        LinkTarget::Page {
            title: Some(title),
            space_key,
            ..
        } => page(space_key.as_deref(), title),
        // A Notion page known only by its id (a `link_to_page` whose title the input does not
        // carry): a link that opens it in Notion.
        LinkTarget::Page {
            title: None,
            id: Some(id),
            ..
        } if crate::notion::is_notion_id(id) => {
            format!("https://www.notion.so/{}", id.replace('-', ""))
        }
        LinkTarget::Page {
            title: None,
            id: Some(id),
            ..
        } => format!("?pageId={}", encode_path(id)),
        LinkTarget::Page { .. } => String::new(),
        LinkTarget::BlogPost {
            title, space_key, ..
        } => page(space_key.as_deref(), title),
        LinkTarget::Attachment { filename, .. } => encode_path(filename),
        LinkTarget::User { .. } => return None,
        LinkTarget::Space { key, .. } => format!("../{}/", encode_path(key)),
        LinkTarget::Content { id, .. } => format!("?contentId={}", encode_path(id)),
        LinkTarget::Shortcut { key, parameter, .. } => {
            format!("{}:{}", encode_path(key), encode_path(parameter))
        }
    };
    frag(&mut s);
    if s.is_empty() {
        s.push('#');
    }
    Some(s)
}

fn callout_label(c: &Callout) -> String {
    if let Some(t) = c.title.as_deref().filter(|t| !t.trim().is_empty()) {
        return t.to_string();
    }
    if c.kind == CalloutKind::Panel
        && let Some(i) = c.icon.as_deref().filter(|i| !i.trim().is_empty())
    {
        return i.to_string();
    }
    kind_label(c.kind).to_string()
}

/// The bold label a callout is written with (`> **Note:** …`).
pub(crate) fn kind_label(k: CalloutKind) -> &'static str {
    match k {
        CalloutKind::Info => "Info",
        CalloutKind::Note => "Note",
        CalloutKind::Tip => "Tip",
        CalloutKind::Warning => "Warning",
        CalloutKind::Error => "Error",
        CalloutKind::Success => "Success",
        CalloutKind::Panel => "Panel",
    }
}

/// Span style as a CSS declaration list.
fn span_css(style: &SpanStyle, attrs: &Attrs) -> String {
    let mut decls: Vec<String> = Vec::new();
    if let Some(c) = &style.color {
        decls.push(format!("color: {c}"));
    }
    if let Some(b) = &style.background {
        decls.push(format!("background-color: {b}"));
    }
    match (style.strike, style.underline) {
        (true, true) => decls.push("text-decoration: line-through underline".into()),
        (true, false) => decls.push("text-decoration: line-through".into()),
        (false, true) => decls.push("text-decoration: underline".into()),
        (false, false) => {}
    }
    if let Some(rest) = attrs.get("style") {
        let rest = rest.trim().trim_end_matches(';').trim();
        if !rest.is_empty() {
            decls.push(rest.to_string());
        }
    }
    decls.join("; ")
}

/// Whether a block, written right after a paragraph line without a blank line, starts a new
/// block (rather than continuing the paragraph).
fn interrupts_paragraph(b: &Block) -> bool {
    match b {
        Block::Heading { .. }
        | Block::Code(_)
        | Block::Quote { .. }
        | Block::Callout(_)
        | Block::Expand(_) => true,
        Block::Table(t) => !t.rows.is_empty(),
        Block::TaskList { items, .. } => !items.is_empty(),
        Block::List(l) => {
            let first_nonempty = l.items.first().is_some_and(|i| !i.blocks.is_empty());
            first_nonempty && (!l.ordered || l.start.unwrap_or(1) == 1)
        }
        _ => false,
    }
}

/// Whether a block ends so that the next line starts a new block on its own.
fn closed_block(b: &Block) -> bool {
    matches!(
        b,
        Block::Heading { .. } | Block::Code(_) | Block::Divider { .. }
    )
}

/// True when a pipe table expresses `t` exactly.
fn simple_table(t: &Table) -> bool {
    let Some(head) = t.rows.first() else {
        return false;
    };
    let n = head.cells.len();
    if n == 0 {
        return false;
    }
    t.rows.iter().enumerate().all(|(ri, r)| {
        r.cells.len() == n
            && r.section != RowSection::Foot
            && (ri == 0 || r.section == RowSection::Body)
            && r.cells.iter().all(|c| {
                c.header == (ri == 0)
                    && c.colspan.unwrap_or(1) == 1
                    && c.rowspan.unwrap_or(1) == 1
                    && matches!(
                        c.blocks.as_slice(),
                        [] | [Block::Plain { .. }] | [Block::Paragraph { .. }]
                    )
            })
    })
}

fn cell_inlines(c: &TableCell) -> &[Inline] {
    match c.blocks.as_slice() {
        [Block::Plain { content }] | [Block::Paragraph { content, .. }] => content,
        _ => &[],
    }
}

impl Writer {
    fn fallback(
        &mut self,
        node: impl Into<String>,
        rendered_as: impl Into<String>,
        extension: bool,
    ) {
        if !self.quiet {
            self.fallbacks.push(Fallback {
                node: node.into(),
                rendered_as: rendered_as.into(),
                extension,
            });
        }
    }

    // ---------------------------------------------------------------------------------------
    // Blocks

    /// Renders a block sequence (no trailing newline).
    fn blocks<'b>(&mut self, blocks: impl IntoIterator<Item = &'b Block>, mode: Mode) -> String {
        let mut out = String::new();
        let mut prev: Option<&Block> = None;
        // The marker of the list just written: a list right after another one must use a
        // different marker, or the two merge.
        let mut last_marker: Option<char> = None;
        self.depth += 1;
        for b in blocks {
            let (s, marker) = if self.depth > MAX_DEPTH {
                (self.too_deep(b), None)
            } else {
                self.block(b, mode, last_marker)
            };
            if s.is_empty() {
                continue;
            }
            last_marker = marker;
            if let Some(p) = prev {
                out.push_str(match mode {
                    Mode::Loose => "\n\n",
                    Mode::Tight => {
                        let both_plain =
                            matches!(p, Block::Plain { .. }) && matches!(b, Block::Plain { .. });
                        if !both_plain && (closed_block(p) || interrupts_paragraph(b)) {
                            "\n"
                        } else {
                            "\n\n"
                        }
                    }
                });
            }
            out.push_str(&s);
            prev = Some(b);
        }
        self.depth -= 1;
        out
    }

    fn too_deep(&mut self, b: &Block) -> String {
        self.fallback(
            "deep_nesting",
            format!("plain text below depth {MAX_DEPTH}"),
            false,
        );
        let t = text::blocks_to_text(std::slice::from_ref(b));
        let mut out = String::new();
        escape_text(&t, true, true, ICtx::default(), &mut out);
        out
    }

    /// Renders one block; returns the text and, for lists, the marker used.
    fn block(
        &mut self,
        b: &Block,
        mode: Mode,
        last_marker: Option<char>,
    ) -> (String, Option<char>) {
        let s = match b {
            Block::Paragraph { content, .. } | Block::Plain { content } => self.paragraph(content),
            Block::Heading { level, content, .. } => self.heading(*level, content),
            Block::List(l) => {
                let marker = if l.ordered {
                    if last_marker == Some('.') { ')' } else { '.' }
                } else if last_marker == Some('-') {
                    '*'
                } else {
                    '-'
                };
                let s = self.list(l, marker);
                return (s, Some(marker));
            }
            Block::TaskList { items, .. } => {
                let marker = if last_marker == Some('-') { '*' } else { '-' };
                let s = self.task_list(items, marker);
                return (s, Some(marker));
            }
            Block::Quote { blocks, .. } => {
                let inner = self.blocks(blocks.iter(), Mode::Loose);
                prefix_lines(&inner, "> ", "> ")
            }
            Block::Callout(c) => self.callout(c),
            Block::Code(c) => self.code_block(c),
            Block::Math(m) => self.math_block(m),
            Block::Divider { .. } => "---".to_string(),
            Block::Table(t) => self.table(t),
            Block::Layout(l) => {
                self.fallback("layout", "the cells' content one after the other", false);
                let all = l
                    .sections
                    .iter()
                    .flat_map(|s| s.cells.iter())
                    .flat_map(|c| c.blocks.iter());
                self.blocks(all, Mode::Loose)
            }
            Block::Expand(e) => self.expand(e),
            Block::Image(img) => self.image_block(img),
            Block::File(f) => {
                self.fallback("file", "a link to the file", false);
                // The link says the file's name (a Notion file block's `name`), then its
                // caption.
                let mut content: Vec<Inline> = crate::util::file_name(&f.attrs)
                    .map(|n| vec![Inline::text(n)])
                    .unwrap_or_default();
                if let Some(c) = &f.caption {
                    if !content.is_empty() {
                        content.push(Inline::text(" — "));
                    }
                    content.extend(c.iter().cloned());
                }
                let link = Inline::link(Link {
                    target: f.target.clone(),
                    anchor: None,
                    content,
                    plain_body: false,
                    attrs: Attrs::new(),
                });
                self.paragraph(std::slice::from_ref(&link))
            }
            Block::Embed(e) => {
                self.fallback(format!("embed:{}", e.kind), "a link to the URL", false);
                let link = Inline::link(Link {
                    target: LinkTarget::url(e.url.clone()),
                    anchor: None,
                    content: e.caption.clone().unwrap_or_default(),
                    plain_body: false,
                    attrs: Attrs::new(),
                });
                self.paragraph(std::slice::from_ref(&link))
            }
            Block::Toc(_) => {
                self.fallback("toc", "a [TOC] line", false);
                "[TOC]".to_string()
            }
            Block::ChildPages(c) => {
                self.fallback("child_pages", "an italic note", false);
                let mut content = vec![Inline::text("Child pages")];
                if let Some(p) = &c.page {
                    content.push(Inline::text(" of "));
                    content.push(Inline::link(Link::new(p.clone())));
                }
                self.paragraph(&[Inline::mark(Mark::Emphasis, content)])
            }
            Block::Excerpt(e) => {
                self.fallback("excerpt", "its body", false);
                self.blocks(e.blocks.iter(), mode)
            }
            Block::Include(inc) => {
                self.fallback(
                    if inc.excerpt {
                        "excerpt_include"
                    } else {
                        "include"
                    },
                    "an italic note linking the page",
                    false,
                );
                let what = if inc.excerpt {
                    "Excerpt included from "
                } else {
                    "Content included from "
                };
                let content = vec![
                    Inline::text(what),
                    Inline::link(Link::new(inc.target.clone())),
                ];
                self.paragraph(&[Inline::mark(Mark::Emphasis, content)])
            }
            Block::PageProperties(p) => {
                self.fallback("page_properties", "its body (the properties table)", false);
                self.blocks(p.blocks.iter(), Mode::Loose)
            }
            Block::PagePropertiesReport(m) => {
                self.fallback("page_properties_report", "an italic note", false);
                let mut t = "Page properties report".to_string();
                let params: Vec<String> =
                    m.params.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                if !params.is_empty() {
                    t.push_str(" (");
                    t.push_str(&params.join(", "));
                    t.push(')');
                }
                self.paragraph(&[Inline::mark(Mark::Emphasis, vec![Inline::text(t)])])
            }
            Block::Extension(x) => self.extension_block(x, mode),
        };
        (s, None)
    }

    fn paragraph(&mut self, content: &[Inline]) -> String {
        let mut out = String::new();
        self.inlines(content, &mut out, ICtx::default(), END);
        out
    }

    fn heading(&mut self, level: u8, content: &[Inline]) -> String {
        let level = level.clamp(1, 6) as usize;
        let mut out = "#".repeat(level);
        let mut body = String::new();
        self.inlines(
            content,
            &mut body,
            ICtx {
                single_line: true,
                ..ICtx::default()
            },
            END,
        );
        if let Some(rest) = body.strip_suffix('#') {
            // A closing sequence would be stripped (unless the `#` is escaped already).
            if rest.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 0 {
                body.pop();
                body.push_str("\\#");
            }
        }
        if !body.is_empty() {
            out.push(' ');
            out.push_str(&body);
        }
        out
    }

    fn list(&mut self, l: &List, marker: char) -> String {
        if l.items.is_empty() {
            self.fallback("list", "nothing (an empty list)", false);
            return String::new();
        }
        let tight = !l.items.iter().any(|i| {
            i.blocks
                .iter()
                .any(|b| matches!(b, Block::Paragraph { .. }))
        });
        let mode = if tight { Mode::Tight } else { Mode::Loose };
        let len = l.items.len() as u64;
        let start = l.start.unwrap_or(1).min(999_999_999u64.saturating_sub(len));
        let mut out = String::new();
        for (i, item) in l.items.iter().enumerate() {
            if i > 0 {
                out.push_str(if tight { "\n" } else { "\n\n" });
            }
            let m = if l.ordered {
                format!("{}{} ", start + i as u64, marker)
            } else {
                format!("{marker} ")
            };
            let body = self.blocks(item.blocks.iter(), mode);
            out.push_str(&item_text(&m, m.len(), &body));
        }
        out
    }

    fn task_list(&mut self, items: &[TaskItem], marker: char) -> String {
        if items.is_empty() {
            self.fallback("task_list", "nothing (an empty task list)", false);
            return String::new();
        }
        let tight = !items
            .iter()
            .any(|i| i.body.iter().any(|b| matches!(b, Block::Paragraph { .. })));
        let mode = if tight { Mode::Tight } else { Mode::Loose };
        let mut out = String::new();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(if tight { "\n" } else { "\n\n" });
            }
            let m = format!("{marker} [{}] ", if item.done { 'x' } else { ' ' });
            let body = self.blocks(item.body.iter(), mode);
            out.push_str(&item_text(&m, 2, &body));
        }
        out
    }

    fn callout(&mut self, c: &Callout) -> String {
        let label = callout_label(c);
        self.fallback(
            format!("callout:{}", c.kind.as_str()),
            format!("a blockquote labelled **{label}:**"),
            false,
        );
        // An icon the label does not already say (a Notion callout's emoji) leads the line.
        let icon = c
            .icon
            .as_deref()
            .filter(|i| !i.trim().is_empty() && *i != label);
        let strong = Inline::mark(Mark::Strong, vec![Inline::text(format!("{label}:"))]);
        let lead: Vec<Inline> = match icon {
            Some(i) => vec![Inline::text(format!("{i} ")), strong],
            None => vec![strong],
        };
        let inner = match c.blocks.split_first() {
            Some((Block::Paragraph { content, .. } | Block::Plain { content }, rest)) => {
                let mut first = lead;
                first.push(Inline::text(" "));
                first.extend(content.iter().cloned());
                let mut s = self.paragraph(&first);
                let r = self.blocks(rest.iter(), Mode::Loose);
                if !r.is_empty() {
                    s.push_str("\n\n");
                    s.push_str(&r);
                }
                s
            }
            _ => {
                let mut s = self.paragraph(&lead);
                let r = self.blocks(c.blocks.iter(), Mode::Loose);
                if !r.is_empty() {
                    s.push_str("\n\n");
                    s.push_str(&r);
                }
                s
            }
        };
        prefix_lines(&inner, "> ", "> ")
    }

    fn code_block(&mut self, c: &Code) -> String {
        let clean = |s: &str| s.replace(['\n', '\r'], " ");
        let mut info = String::new();
        if let Some(l) = c.language.as_deref().filter(|l| !l.is_empty()) {
            info.push_str(&clean(l));
        }
        if let Some(t) = &c.title {
            if !info.is_empty() {
                info.push(' ');
            }
            info.push_str("title=\"");
            info.push_str(&clean(t));
            info.push('"');
        }
        let fence_char = if info.contains('`') { '~' } else { '`' };
        let n = (longest_run(&c.text, fence_char) + 1).max(3);
        let fence: String = std::iter::repeat_n(fence_char, n).collect();
        let mut out = fence.clone();
        for (i, ch) in info.char_indices() {
            match ch {
                '\\' => out.push_str("\\\\"),
                '&' if looks_like_entity(&info[i + 1..]) => out.push_str("\\&"),
                ch => out.push(ch),
            }
        }
        out.push('\n');
        if !c.text.is_empty() {
            out.push_str(&c.text);
            out.push('\n');
        }
        out.push_str(&fence);
        out
    }

    fn math_block(&mut self, m: &Math) -> String {
        if !m.tex.contains('\n') && display_math_ok(&m.tex, true) {
            format!("$${}$$", m.tex)
        } else {
            let n = (longest_run(&m.tex, '`') + 1).max(3);
            let fence = "`".repeat(n);
            let mut out = format!("{fence}math\n");
            if !m.tex.is_empty() {
                out.push_str(&m.tex);
                out.push('\n');
            }
            out.push_str(&fence);
            out
        }
    }

    fn table(&mut self, t: &Table) -> String {
        if t.rows.is_empty() {
            self.fallback("table", "nothing (a table without rows)", false);
            return String::new();
        }
        if !simple_table(t) {
            self.fallback(
                "table",
                "an HTML <table> (spans, header column or block content)",
                false,
            );
            return self.html_table(t);
        }
        let ncols = t.rows[0].cells.len();
        let aligns: Vec<String> = t
            .attrs
            .get("kb:align")
            .map(|a| a.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_default();
        let ctx = ICtx {
            single_line: true,
            table: true,
            ..ICtx::default()
        };
        let mut out = String::new();
        for (ri, row) in t.rows.iter().enumerate() {
            if ri > 0 {
                out.push('\n');
            }
            out.push('|');
            for cell in &row.cells {
                let mut s = String::new();
                self.inlines(cell_inlines(cell), &mut s, ctx, END);
                out.push(' ');
                out.push_str(&s);
                out.push_str(" |");
            }
            if ri == 0 {
                out.push_str("\n|");
                for ci in 0..ncols {
                    out.push_str(match aligns.get(ci).map(String::as_str) {
                        Some("left") => " :-- |",
                        Some("center") => " :-: |",
                        Some("right") => " --: |",
                        _ => " --- |",
                    });
                }
            }
        }
        out
    }

    fn html_table(&mut self, t: &Table) -> String {
        let mut out = String::from("<table>");
        for row in &t.rows {
            out.push_str("\n<tr>");
            for cell in &row.cells {
                let tag = if cell.header { "th" } else { "td" };
                out.push_str("\n<");
                out.push_str(tag);
                if let Some(c) = cell.colspan.filter(|&c| c != 1) {
                    out.push_str(&format!(" colspan=\"{c}\""));
                }
                if let Some(r) = cell.rowspan.filter(|&r| r != 1) {
                    out.push_str(&format!(" rowspan=\"{r}\""));
                }
                out.push('>');
                if let [Block::Plain { content }] = cell.blocks.as_slice()
                    && let [Inline::Text { text }] = content.as_slice()
                    && !text.is_empty()
                    && text.trim() == text
                    && !text.contains(['\n', '\r'])
                {
                    // Text directly in the cell (`<td>x</td>`), as the reader reads it back.
                    out.push_str(&escape_html(text));
                    out.push_str("</");
                    out.push_str(tag);
                    out.push('>');
                    continue;
                }
                let body = self.blocks(cell.blocks.iter(), Mode::Loose);
                if !body.is_empty() {
                    out.push_str("\n\n");
                    out.push_str(&body);
                    out.push_str("\n\n");
                }
                out.push_str("</");
                out.push_str(tag);
                out.push('>');
            }
            out.push_str("\n</tr>");
        }
        out.push_str("\n</table>");
        out
    }

    fn expand(&mut self, e: &Expand) -> String {
        self.fallback("expand", "an HTML <details> element", false);
        let mut out = String::from("<details>\n");
        if let Some(t) = &e.title {
            out.push_str("<summary>");
            out.push_str(&escape_html(t));
            out.push_str("</summary>\n");
        }
        let body = self.blocks(e.blocks.iter(), Mode::Loose);
        if !body.is_empty() {
            out.push('\n');
            out.push_str(&body);
            out.push('\n');
        }
        out.push_str("\n</details>");
        out
    }

    fn image_block(&mut self, img: &Image) -> String {
        let mut out = String::new();
        self.image(img, &mut out, ICtx::default());
        if let Some(cap) = &img.caption {
            let content = blocks_as_inlines(cap);
            if !content.is_empty() {
                out.push('\n');
                self.inlines(
                    &[Inline::mark(Mark::Emphasis, content)],
                    &mut out,
                    ICtx::default(),
                    END,
                );
            }
        }
        out
    }

    fn extension_block(&mut self, x: &Extension, mode: Mode) -> String {
        if x.format == "markdown"
            && let Some(src) = &x.source
        {
            return src.trim_end_matches(['\n', '\r']).to_string();
        }
        let family = match x.format.as_str() {
            "storage" => "confluence",
            f => f,
        };
        let info = format!("{family}-{}:{}", x.kind, x.name).replace(['\n', '\r', '`', ' '], "-");
        if let Some(t) = &x.text {
            self.fallback(
                format!("extension:{}:{}", x.kind, x.name),
                "a fenced block holding its text",
                true,
            );
            return fenced(&info, t);
        }
        if !x.body.is_empty() {
            self.fallback(format!("extension:{}:{}", x.kind, x.name), "its body", true);
            return self.blocks(x.body.iter(), mode);
        }
        self.fallback(
            format!("extension:{}:{}", x.kind, x.name),
            "a fenced block holding its source",
            true,
        );
        fenced(&info, x.source.as_deref().unwrap_or(""))
    }

    // ---------------------------------------------------------------------------------------
    // Inlines

    fn inlines(&mut self, xs: &[Inline], out: &mut String, ctx: ICtx, after: After) {
        self.depth += 1;
        for (i, x) in xs.iter().enumerate() {
            let next = xs.get(i + 1);
            let start = i == 0 || out.is_empty() || out.ends_with('\n');
            let end = match next {
                None => true,
                Some(Inline::Break { .. }) => true,
                Some(Inline::Text { text }) => text.is_empty() || text.starts_with(['\n', '\r']),
                _ => false,
            };
            let next_after = match next {
                None => after,
                Some(n) => first_after(n, ctx),
            };
            if self.depth > MAX_DEPTH {
                self.fallback(
                    "deep_nesting",
                    format!("plain text below depth {MAX_DEPTH}"),
                    false,
                );
                escape_text(
                    &text::inlines_to_text(std::slice::from_ref(x)),
                    start,
                    end,
                    ctx,
                    out,
                );
                continue;
            }
            self.inline(x, out, ctx, start, end, next_after, next.is_none());
        }
        self.depth -= 1;
    }

    #[allow(clippy::too_many_arguments)]
    fn inline(
        &mut self,
        x: &Inline,
        out: &mut String,
        ctx: ICtx,
        start: bool,
        end: bool,
        after: After,
        last: bool,
    ) {
        match x {
            Inline::Text { text } => escape_text(text, start, end, ctx, out),
            Inline::Mark { mark, content, .. } => self.mark(mark, content, out, ctx, after),
            Inline::Span {
                style,
                content,
                attrs,
            } => {
                let css = span_css(style, attrs);
                let open = if css.is_empty() {
                    String::new()
                } else {
                    format!(" style=\"{}\"", escape_html(&css))
                };
                self.html_wrap("span", &open, content, out, ctx);
            }
            Inline::Link(l) => self.link(l, out, ctx, start, end, after),
            Inline::Image(img) => self.image(img, out, ctx),
            Inline::Emoji(e) => {
                let t = e
                    .text
                    .clone()
                    .or_else(|| {
                        e.shortname.as_ref().map(|s| {
                            if s.starts_with(':') {
                                s.clone()
                            } else {
                                format!(":{s}:")
                            }
                        })
                    })
                    .or_else(|| e.name.as_ref().map(|n| format!(":{n}:")))
                    .or_else(|| e.id.clone())
                    .unwrap_or_default();
                self.fallback("emoji", "its text", false);
                escape_text(&t, start, end, ctx, out);
            }
            Inline::Status(s) => {
                self.fallback("status", "bold [TEXT]", false);
                let content = vec![Inline::text(format!("[{}]", s.text))];
                self.mark(&Mark::Strong, &content, out, ctx, after);
            }
            Inline::Date { date, .. } => {
                self.fallback("date", "the date text", false);
                escape_text(date, start, end, ctx, out);
            }
            Inline::Break { .. } => {
                // A backslash break needs text on both sides (and one before `]` after a
                // delimiter run is not read as a break): else `<br>`.
                if ctx.single_line || start && out.is_empty() || last {
                    out.push_str("<br>");
                } else {
                    out.push_str("\\\n");
                }
            }
            Inline::Math(m) => {
                let delim = if inline_math_ok(&m.tex, ctx.single_line) {
                    Some("$")
                } else if display_math_ok(&m.tex, ctx.single_line) || m.tex.is_empty() {
                    // `$$…$$` inside a paragraph is inline math too.
                    Some("$$")
                } else {
                    None
                };
                if let Some(d) = delim {
                    out.push_str(d);
                    if ctx.table {
                        out.push_str(&m.tex.replace('|', "\\|"));
                    } else {
                        out.push_str(&m.tex);
                    }
                    out.push_str(d);
                } else {
                    self.fallback("math", "a code span", false);
                    self.code_span_text(
                        &format!("${}$", m.tex.replace(['\n', '\r'], " ")),
                        out,
                        ctx,
                    );
                }
            }
            Inline::Anchor { name, .. } => {
                out.push_str("<a id=\"");
                out.push_str(&escape_html(name));
                out.push_str("\"></a>");
            }
            Inline::Placeholder { text, .. } => {
                self.fallback("placeholder", "italic text", false);
                self.mark(
                    &Mark::Emphasis,
                    &[Inline::text(text.clone())],
                    out,
                    ctx,
                    after,
                );
            }
            Inline::Jira(m) => {
                self.fallback("jira", "the issue key as text", false);
                escape_text(&jira_text(m), start, end, ctx, out);
            }
            Inline::Extension(x) => {
                if x.format == "markdown"
                    && let Some(src) = &x.source
                {
                    if ctx.single_line || src.split('\n').skip(1).any(raw_line_may_start_block) {
                        // Raw HTML spanning lines: inside a tag a line feed is a space.
                        out.push_str(&src.replace(['\n', '\r'], " "));
                    } else {
                        out.push_str(src);
                    }
                    return;
                }
                self.fallback(format!("extension:{}:{}", x.kind, x.name), "its text", true);
                escape_text(&inline_extension_text(x), start, end, ctx, out);
            }
        }
    }

    fn mark(&mut self, mark: &Mark, content: &[Inline], out: &mut String, ctx: ICtx, after: After) {
        match mark {
            Mark::Strong => self.delimited(&["**", "__"], "strong", content, out, ctx, after),
            Mark::Emphasis => self.delimited(&["*", "_"], "em", content, out, ctx, after),
            Mark::Strike => self.delimited(&["~~"], "del", content, out, ctx, after),
            Mark::Underline => self.html_wrap("u", "", content, out, ctx),
            Mark::Subscript => self.html_wrap("sub", "", content, out, ctx),
            Mark::Superscript => self.html_wrap("sup", "", content, out, ctx),
            Mark::Small => self.html_wrap("small", "", content, out, ctx),
            Mark::Big => self.html_wrap("big", "", content, out, ctx),
            Mark::Code => match content {
                [Inline::Text { text }]
                    if !text.is_empty() && !text.contains(['\n', '\r']) && !out.ends_with('`') =>
                {
                    self.code_span_text(text, out, ctx)
                }
                _ => self.html_wrap("code", "", content, out, ctx),
            },
            Mark::InlineComment { .. } => {
                self.fallback(
                    "inline_comment",
                    "its text (the comment marker is dropped)",
                    false,
                );
                self.inlines(content, out, ctx, after);
            }
        }
    }

    /// Writes a mark with a delimiter run when the flanking rules guarantee it reads back,
    /// else as an HTML element.
    #[allow(clippy::too_many_arguments)]
    fn delimited(
        &mut self,
        cands: &[&'static str],
        tag: &str,
        content: &[Inline],
        out: &mut String,
        ctx: ICtx,
        after: After,
    ) {
        if let Some(d) = pick_delimiter(cands, content, out, after, ctx) {
            out.push_str(d);
            let ch = d.chars().next();
            let mut inner = ctx;
            if let Some(i) = delim_slot(ch) {
                inner.open[i] = true;
            }
            self.inlines(
                content,
                out,
                inner,
                After {
                    cls: Cls::Punct,
                    ch,
                },
            );
            out.push_str(d);
        } else {
            self.html_wrap(tag, "", content, out, ctx);
        }
    }

    fn html_wrap(
        &mut self,
        tag: &str,
        attrs: &str,
        content: &[Inline],
        out: &mut String,
        ctx: ICtx,
    ) {
        out.push('<');
        out.push_str(tag);
        out.push_str(attrs);
        out.push('>');
        self.inlines(
            content,
            out,
            ctx,
            After {
                cls: Cls::Punct,
                ch: Some('<'),
            },
        );
        out.push_str("</");
        out.push_str(tag);
        out.push('>');
    }

    fn code_span_text(&mut self, text: &str, out: &mut String, ctx: ICtx) {
        let t = if ctx.table {
            text.replace('|', "\\|")
        } else {
            text.to_string()
        };
        let n = longest_run(&t, '`') + 1;
        let fence = "`".repeat(n);
        let pad = t.starts_with('`')
            || t.ends_with('`')
            || (t.starts_with(' ') && t.ends_with(' ') && !t.chars().all(|c| c == ' '));
        out.push_str(&fence);
        if pad {
            out.push(' ');
        }
        out.push_str(&t);
        if pad {
            out.push(' ');
        }
        out.push_str(&fence);
    }

    fn link(
        &mut self,
        l: &Link,
        out: &mut String,
        ctx: ICtx,
        start: bool,
        end: bool,
        after: After,
    ) {
        if let LinkTarget::User { .. } = l.target {
            self.fallback("mention:user", "@name text", false);
            if l.content.is_empty() {
                // The user's name when the source gave it (a Notion mention), else the id.
                let name = l
                    .attrs
                    .get("notion:name")
                    .filter(|n| !n.trim().is_empty())
                    .cloned()
                    .unwrap_or_else(|| target_label(&l.target, None));
                escape_text(&format!("@{name}"), start, end, ctx, out);
            } else {
                self.inlines(&l.content, out, ctx, after);
            }
            return;
        }
        if ctx.in_link {
            // Links cannot nest: keep the text.
            if l.content.is_empty() {
                escape_text(
                    &target_label(&l.target, l.anchor.as_deref()),
                    start,
                    end,
                    ctx,
                    out,
                );
            } else {
                self.inlines(&l.content, out, ctx, after);
            }
            return;
        }
        let Some(d) = target_dest(&l.target, l.anchor.as_deref()) else {
            return;
        };
        if let LinkTarget::Page {
            title: None,
            id: Some(id),
            ..
        } = &l.target
            && crate::notion::is_notion_id(id)
        {
            self.fallback(
                "link:notion_page",
                format!(
                    "a notion.so link to page {id}: the input does not carry its title (convert \
                     the page with its linked pages, or migrate them together)"
                ),
                false,
            );
        }
        if l.content.is_empty()
            && let LinkTarget::Url { .. } = l.target
            && autolinkable(&d)
        {
            out.push('<');
            out.push_str(&d);
            out.push('>');
            return;
        }
        out.push('[');
        let inner = ICtx {
            in_link: true,
            ..ctx
        };
        if l.content.is_empty() {
            let label = target_label(&l.target, l.anchor.as_deref());
            escape_text(&label, true, true, inner, out);
        } else {
            self.inlines(
                &l.content,
                out,
                inner,
                After {
                    cls: Cls::Punct,
                    ch: Some(']'),
                },
            );
        }
        out.push_str("](");
        out.push_str(&dest(&d));
        out.push(')');
    }

    fn image(&mut self, img: &Image, out: &mut String, ctx: ICtx) {
        let src = match &img.source {
            ImageSource::Url { url } => url.clone(),
            ImageSource::Attachment { filename, .. } => encode_path(filename),
        };
        out.push_str("![");
        if let Some(alt) = &img.alt {
            escape_text(
                alt,
                true,
                true,
                ICtx {
                    in_link: true,
                    ..ctx
                },
                out,
            );
        }
        out.push_str("](");
        out.push_str(&dest(&src));
        out.push(')');
    }
}

/// An item: the marker before the first line, continuation lines indented by `indent`.
fn item_text(marker: &str, indent: usize, body: &str) -> String {
    if body.is_empty() {
        return marker.trim_end().to_string();
    }
    prefix_lines(body, marker, &" ".repeat(indent))
}

fn fenced(info: &str, text: &str) -> String {
    let n = (longest_run(text, '`') + 1).max(3);
    let fence = "`".repeat(n);
    let mut out = format!("{fence}{info}\n");
    if !text.is_empty() {
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    out.push_str(&fence);
    out
}

fn jira_text(m: &MacroInfo) -> String {
    if let Some(k) = m.params.get("key") {
        return k.to_string();
    }
    if let Some(q) = m.params.get("jqlQuery") {
        return format!("Jira: {q}");
    }
    "Jira".to_string()
}

fn inline_extension_text(x: &Extension) -> String {
    if let Some(t) = &x.text {
        return t.clone();
    }
    if !x.body.is_empty() {
        return text::blocks_to_text(&x.body);
    }
    if let Some(s) = &x.source {
        return s.clone();
    }
    format!("[{}]", x.name)
}

/// The inline content of caption blocks: paragraphs joined by line breaks.
fn blocks_as_inlines(blocks: &[Block]) -> Vec<Inline> {
    let mut out: Vec<Inline> = Vec::new();
    for b in blocks {
        let part: Vec<Inline> = match b {
            Block::Paragraph { content, .. }
            | Block::Plain { content }
            | Block::Heading { content, .. } => content.clone(),
            other => {
                let t = text::blocks_to_text(std::slice::from_ref(other));
                if t.is_empty() {
                    vec![]
                } else {
                    vec![Inline::text(t)]
                }
            }
        };
        if part.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(Inline::Break {
                attrs: Attrs::new(),
            });
        }
        out.extend(part);
    }
    out
}

/// The plain string a text-like inline is written from (escaped as text), if it is one.
fn text_like(x: &Inline) -> Option<Cow<'_, str>> {
    match x {
        Inline::Text { text } => Some(Cow::Borrowed(text)),
        Inline::Date { date, .. } => Some(Cow::Borrowed(date)),
        Inline::Jira(m) => Some(Cow::Owned(jira_text(m))),
        Inline::Emoji(e) => match (&e.text, &e.shortname, &e.name, &e.id) {
            (Some(t), ..) => Some(Cow::Borrowed(t)),
            (None, Some(_), ..) | (None, None, Some(_), _) => Some(Cow::Borrowed(":")),
            (None, None, None, id) => id.as_deref().map(Cow::Borrowed),
        },
        Inline::Extension(x) if !(x.format == "markdown" && x.source.is_some()) => {
            Some(Cow::Owned(inline_extension_text(x)))
        }
        _ => None,
    }
}

/// Class and character of the first character `x` is written with (at the start of a span).
fn first_info(x: &Inline, boundary: bool, ctx: ICtx) -> (Cls, Option<char>) {
    if let Some(t) = text_like(x) {
        let Some(c) = t.chars().next() else {
            return (Cls::Other, None);
        };
        if boundary && (c == ' ' || c == '\t' || line_start_escaped(c) || c.is_ascii_digit()) {
            // `&#32;`, `\#`, or digits (a following `.` gets the backslash).
            return if c.is_ascii_digit() {
                (Cls::Word, Some(c))
            } else {
                (Cls::Punct, Some('\\'))
            };
        }
        if always_escaped(c) || c == '&' || c == '\r' {
            return (Cls::Punct, None);
        }
        if c == '\n' && (ctx.single_line || boundary) {
            return (Cls::Punct, Some('&'));
        }
        return (classify(c), Some(c));
    }
    match x {
        Inline::Link(l) if matches!(l.target, LinkTarget::User { .. }) => match l.content.first() {
            Some(f) => first_info(f, boundary, ctx),
            None => (Cls::Punct, Some('@')),
        },
        Inline::Extension(x) => match x.source.as_deref().and_then(|s| s.chars().next()) {
            Some(c) => (classify(c), Some(c)),
            None => (Cls::Other, None),
        },
        // Marks, spans, links, images, breaks, math, anchors…: all start with ASCII
        // punctuation (a delimiter, `<`, `[`, `!`, `\`, `$`, a backtick).
        _ => (Cls::Punct, None),
    }
}

/// Class of the last character `x` is written with (at the end of a span).
fn last_cls(x: &Inline, ctx: ICtx) -> Cls {
    if let Some(t) = text_like(x) {
        let Some(c) = t.chars().last() else {
            return Cls::Other;
        };
        return match c {
            // A character reference (`&#32;`, `&#10;`…) ends with `;`.
            ' ' | '\t' | '\r' | '\n' => Cls::Punct,
            c => classify(c),
        };
    }
    match x {
        Inline::Link(l) if matches!(l.target, LinkTarget::User { .. }) => match l.content.last() {
            Some(l) => last_cls(l, ctx),
            None => Cls::Other,
        },
        Inline::Extension(x) => match x.source.as_deref().and_then(|s| s.chars().last()) {
            Some(c) => classify(c),
            None => Cls::Other,
        },
        Inline::Break { .. } => {
            if ctx.single_line {
                Cls::Punct
            } else {
                // `\` + line feed (or `<br>` at the end of a block: conservatively a space).
                Cls::Space
            }
        }
        _ => Cls::Punct,
    }
}

fn first_after(x: &Inline, ctx: ICtx) -> After {
    let (cls, ch) = first_info(x, false, ctx);
    After { cls, ch }
}

/// Picks a delimiter that the flanking rules make open before `content` and close after it,
/// given what precedes (`out`) and what follows (`after`). `None`: write HTML instead.
fn pick_delimiter(
    cands: &[&'static str],
    content: &[Inline],
    out: &str,
    after: After,
    ctx: ICtx,
) -> Option<&'static str> {
    let (first, last) = match (content.first(), content.last()) {
        (Some(f), Some(l)) => (first_info(f, true, ctx).0, last_cls(l, ctx)),
        _ => return None,
    };
    let prev_ch = out.chars().last();
    let prev = prev_ch.map_or(Cls::Space, classify);
    let next = after.cls;
    let space_or_punct = |c: Cls| matches!(c, Cls::Space | Cls::Punct);
    for &d in cands {
        let dc = d.chars().next();
        if prev_ch == dc || after.ch == dc || delim_slot(dc).is_some_and(|i| ctx.open[i]) {
            continue;
        }
        let mut left = match first {
            Cls::Word => true,
            Cls::Punct | Cls::Other => space_or_punct(prev),
            Cls::Space => false,
        };
        let mut right = match last {
            Cls::Word => true,
            Cls::Punct | Cls::Other => space_or_punct(next),
            Cls::Space => false,
        };
        if dc == Some('_') {
            left &= space_or_punct(prev);
            right &= space_or_punct(next);
        }
        if left && right {
            return Some(d);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(t: &str) -> String {
        let mut o = String::new();
        escape_text(t, true, true, ICtx::default(), &mut o);
        o
    }

    #[test]
    fn escapes_specials_and_line_starts() {
        assert_eq!(esc("a*b_c"), "a\\*b\\_c");
        assert_eq!(esc("# x"), "\\# x");
        assert_eq!(esc("1. x"), "1\\. x");
        assert_eq!(esc(" x "), "&#32;x&#32;");
        assert_eq!(esc("a\n- b"), "a\n\\- b");
        assert_eq!(esc("&amp; & x"), "\\&amp; & x");
    }

    #[test]
    fn encodes_paths() {
        assert_eq!(encode_path("a b/c.png"), "a%20b%2Fc.png");
        assert_eq!(encode_path("é.txt"), "é.txt");
    }
}
