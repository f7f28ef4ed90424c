//! Stage 2 of the storage reader: the element tree → IR.
//!
//! Two contexts: *block* (page body, list item, table cell, macro body…) and *inline* (inside a
//! paragraph, heading, link body…). In block context, inline content that is not wrapped in a
//! paragraph becomes [`Block::Plain`], and whitespace-only text between blocks is insignificant.
//! Anything that does not fit the model becomes an [`Extension`]: macros keep their exact source,
//! unknown elements keep their name, attributes and (parsed) children.

use super::tree::{Elem, Node, Tree};
use crate::ir::*;

pub(crate) struct Ctx<'a> {
    pub input: &'a str,
    pub t: &'a Tree<'a>,
}

const FORMAT: &str = "storage";

/// Elements that are inline content (everything else in block context is a block).
fn is_inline_elem(t: &Tree, e: &Elem) -> bool {
    match e.name {
        "strong"
        | "b"
        | "em"
        | "i"
        | "u"
        | "s"
        | "del"
        | "strike"
        | "code"
        | "tt"
        | "sub"
        | "sup"
        | "small"
        | "big"
        | "span"
        | "a"
        | "br"
        | "ac:link"
        | "ac:emoticon"
        | "time"
        | "ac:placeholder"
        | "ac:inline-comment-marker"
        | "img"
        | "font"
        | "abbr"
        | "cite"
        | "q"
        | "kbd"
        | "var"
        | "samp"
        | "mark"
        | "ins" => true,
        "ac:structured-macro" => matches!(
            t.attr(e, "ac:name").unwrap_or(""),
            "status" | "anchor" | "jira" | "eazy-math-inline" | "mathinline" | "easy-math-inline"
        ),
        // An image inside mixed content stays inline; a standalone one is a block (decided by caller).
        _ => false,
    }
}

fn attrs_except(t: &Tree, e: &Elem, skip: &[&str]) -> Attrs {
    let all = t.attrs(e);
    if all.is_empty() {
        return Attrs::new();
    }
    Attrs::from_pairs(
        all.iter()
            .filter(|(k, _)| !skip.contains(k))
            .map(|(k, v)| (*k, v.to_string())),
    )
}

fn all_attrs(t: &Tree, e: &Elem) -> Attrs {
    attrs_except(t, e, &[])
}

/// Splits a `style` attribute into its declarations.
pub(crate) fn parse_style(style: &str) -> Vec<(String, String)> {
    style
        .split(';')
        .filter_map(|d| {
            let (k, v) = d.split_once(':')?;
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim().to_string();
            if k.is_empty() { None } else { Some((k, v)) }
        })
        .collect()
}

pub(crate) fn format_style(decls: &[(String, String)]) -> String {
    decls
        .iter()
        .map(|(k, v)| format!("{k}: {v};"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Takes the declarations named in `take` out of the element's style; the rest stays in `attrs`.
fn take_style(attrs: &mut Attrs, take: &[&str]) -> Vec<(String, String)> {
    let Some(style) = attrs.get("style") else {
        return Vec::new();
    };
    let decls = parse_style(style);
    let (taken, rest): (Vec<_>, Vec<_>) = decls
        .into_iter()
        .partition(|(k, _)| take.contains(&k.as_str()));
    if taken.is_empty() {
        return taken;
    }
    if rest.is_empty() {
        attrs.remove("style");
    } else {
        attrs.insert("style".into(), format_style(&rest));
    }
    taken
}

fn parse_align(v: &str) -> Option<Align> {
    match v {
        "left" => Some(Align::Left),
        "center" => Some(Align::Center),
        "right" => Some(Align::Right),
        "justify" => Some(Align::Justify),
        _ => None,
    }
}

/// Reads the alignment out of a block's style; unknown values stay in the style.
fn take_align(attrs: &mut Attrs) -> Option<Align> {
    let style = attrs.get("style")?;
    let decls = parse_style(style);
    let (i, a) = decls.iter().enumerate().find_map(|(i, (k, v))| {
        (k == "text-align")
            .then(|| parse_align(v).map(|a| (i, a)))
            .flatten()
    })?;
    let rest: Vec<_> = decls
        .into_iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, d)| d)
        .collect();
    if rest.is_empty() {
        attrs.remove("style");
    } else {
        attrs.insert("style".into(), format_style(&rest));
    }
    Some(a)
}

impl<'a> Ctx<'a> {
    // ---------------------------------------------------------------- block context

    pub fn blocks(&self, nodes: &[Node]) -> Vec<Block> {
        let mut out = Vec::new();
        let mut run: Vec<Inline> = Vec::new();
        for (i, n) in nodes.iter().enumerate() {
            match n {
                Node::Elem(e)
                    if !is_inline_elem(self.t, e) && !self.is_inline_image(e, nodes, i) =>
                {
                    flush_run(&mut run, &mut out);
                    out.push(self.block(e));
                }
                Node::Raw { kind, source } => {
                    flush_run(&mut run, &mut out);
                    out.push(Block::Extension(raw_extension(kind, source)));
                }
                _ => self.inline_node(n, &mut run),
            }
        }
        flush_run(&mut run, &mut out);
        out
    }

    /// An `ac:image` is a block unless it sits in a run of inline content (text around it).
    fn is_inline_image(&self, e: &Elem, siblings: &[Node], i: usize) -> bool {
        if e.name != "ac:image" {
            return false;
        }
        // Inline when an adjacent sibling is non-whitespace text or an inline element.
        let neighbour_inline = |n: Option<&Node>| match n {
            Some(Node::Text(t)) => !t.trim().is_empty(),
            Some(Node::CData(_)) | Some(Node::Entity(_)) => true,
            Some(Node::Elem(x)) => is_inline_elem(self.t, x),
            _ => false,
        };
        neighbour_inline(i.checked_sub(1).and_then(|j| siblings.get(j)))
            || neighbour_inline(siblings.get(i + 1))
    }

    fn block(&self, e: &Elem) -> Block {
        match e.name {
            "p" => {
                let mut attrs = all_attrs(self.t, e);
                let align = take_align(&mut attrs);
                Block::Paragraph {
                    content: self.inlines(self.t.kids(e)),
                    align,
                    attrs,
                }
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let mut attrs = all_attrs(self.t, e);
                let align = take_align(&mut attrs);
                let level = e.name.as_bytes()[1] - b'0';
                Block::Heading {
                    level,
                    content: self.inlines(self.t.kids(e)),
                    align,
                    attrs,
                }
            }
            "ul" | "ol" => self.list(e).unwrap_or_else(|| self.element_ext(e)),
            "blockquote" => Block::Quote {
                blocks: self.blocks(self.t.kids(e)),
                attrs: all_attrs(self.t, e),
            },
            "hr" if !e.has_kids() => Block::Divider {
                attrs: all_attrs(self.t, e),
            },
            "pre" => match self.t.text_only(e) {
                Some(text) => {
                    let mut attrs = all_attrs(self.t, e);
                    attrs.insert("kb:tag".into(), "pre".into());
                    Block::Code(Code {
                        language: None,
                        title: None,
                        text,
                        noformat: true,
                        params: Params::new(),
                        attrs,
                    })
                }
                None => self.element_ext(e),
            },
            "table" => self.table(e).unwrap_or_else(|| self.element_ext(e)),
            "ac:structured-macro" => self.macro_block(e),
            "ac:task-list" => self
                .task_list(e)
                .unwrap_or_else(|| self.source_ext(e, "element")),
            "ac:layout" => self
                .layout(e)
                .unwrap_or_else(|| self.source_ext(e, "element")),
            "ac:image" => match self.image(e) {
                Some(img) => Block::Image(img),
                None => self.source_ext(e, "element"),
            },
            "ac:adf-extension" => self.adf_extension(e),
            "ac:macro" => self.source_ext(e, "macro"),
            _ => self.element_ext(e),
        }
    }

    /// An element the IR does not model: name, attributes and parsed children, no source (the
    /// writer rebuilds it, so changes to the children are kept).
    fn element_ext(&self, e: &Elem) -> Block {
        Block::Extension(self.element_extension(e))
    }

    /// An unknown element: name, attributes and parsed children (blocks, so block elements
    /// inside a paragraph survive too), no source: the writer rebuilds it, so changes to the
    /// children are kept.
    fn element_extension(&self, e: &Elem) -> Extension {
        Extension {
            format: FORMAT.into(),
            kind: "element".into(),
            name: e.name.to_string(),
            params: Params::new(),
            body: self.blocks(self.t.kids(e)),
            text: None,
            source: None,
            attrs: all_attrs(self.t, e),
        }
    }

    /// Something kept verbatim (a macro or element whose structure the IR cannot hold).
    fn source_extension(&self, e: &Elem, kind: &str) -> Extension {
        let body = match self.t.child(e, "ac:rich-text-body") {
            Some(b) => self.blocks(self.t.kids(b)),
            None if e.name.starts_with("ac:")
                && e.name != "ac:structured-macro"
                && e.name != "ac:macro" =>
            {
                self.blocks(self.t.kids(e))
            }
            None => Vec::new(),
        };
        let text = self
            .t
            .child(e, "ac:plain-text-body")
            .and_then(|b| self.t.text_only(b));
        let mut params = Params::new();
        for p in self.t.elems(e).filter(|c| c.name == "ac:parameter") {
            if let Some(v) = self.t.text_only(p) {
                params.set(self.t.attr(p, "ac:name").unwrap_or(""), v);
            }
        }
        let name = match e.name {
            "ac:structured-macro" | "ac:macro" => {
                self.t.attr(e, "ac:name").unwrap_or("").to_string()
            }
            n => n.to_string(),
        };
        Extension {
            format: FORMAT.into(),
            kind: kind.into(),
            name,
            params,
            body,
            text,
            // A recovered element's source is not well-formed: the writer rebuilds it instead.
            source: self
                .t
                .source_is_exact(e)
                .then(|| e.source(self.input).to_string()),
            attrs: Attrs::new(),
        }
    }

    fn source_ext(&self, e: &Elem, kind: &str) -> Block {
        Block::Extension(self.source_extension(e, kind))
    }

    fn list(&self, e: &Elem) -> Option<Block> {
        if !self.t.only_elements(e) || self.t.elems(e).any(|c| c.name != "li") {
            return None;
        }
        let mut attrs = all_attrs(self.t, e);
        let start = match attrs.get("start").map(|s| s.parse::<u64>()) {
            Some(Ok(n)) => {
                attrs.remove("start");
                Some(n)
            }
            _ => None,
        };
        let items = self
            .t
            .elems(e)
            .map(|li| ListItem {
                blocks: self.blocks(self.t.kids(li)),
                attrs: all_attrs(self.t, li),
            })
            .collect();
        Some(Block::List(List {
            ordered: e.name == "ol",
            start,
            items,
            attrs,
        }))
    }

    fn table(&self, e: &Elem) -> Option<Block> {
        if !self.t.only_elements(e) {
            return None;
        }
        let mut attrs = all_attrs(self.t, e);
        let mut columns = None;
        let mut rows = Vec::new();
        let mut bare_rows = false;
        let mut sections_seen = false;
        for c in self.t.elems(e) {
            match c.name {
                "colgroup" => {
                    if columns.is_some() || (c.attr_count() != 0) || !self.t.only_elements(c) {
                        return None;
                    }
                    let mut cols = Vec::new();
                    for col in self.t.elems(c) {
                        if col.name != "col" || col.has_kids() {
                            return None;
                        }
                        cols.push(all_attrs(self.t, col));
                    }
                    columns = Some(cols);
                }
                "tbody" | "thead" | "tfoot" => {
                    if (c.attr_count() != 0) || !self.t.only_elements(c) {
                        return None;
                    }
                    sections_seen = true;
                    let section = match c.name {
                        "thead" => RowSection::Head,
                        "tfoot" => RowSection::Foot,
                        _ => RowSection::Body,
                    };
                    for tr in self.t.elems(c) {
                        rows.push(self.row(tr, section)?);
                    }
                }
                "tr" => {
                    bare_rows = true;
                    rows.push(self.row(c, RowSection::Body)?);
                }
                _ => return None,
            }
        }
        if bare_rows {
            if sections_seen {
                return None;
            }
            attrs.insert("kb:bare-rows".into(), "true".into());
        }
        Some(Block::Table(Table {
            columns,
            rows,
            attrs,
        }))
    }

    fn row(&self, tr: &Elem, section: RowSection) -> Option<TableRow> {
        if tr.name != "tr" || !self.t.only_elements(tr) {
            return None;
        }
        let mut cells = Vec::new();
        for c in self.t.elems(tr) {
            let header = match c.name {
                "th" => true,
                "td" => false,
                _ => return None,
            };
            let mut attrs = all_attrs(self.t, c);
            let mut span = |name: &str| match attrs.get(name).map(|v| v.parse::<u32>()) {
                Some(Ok(n)) => {
                    attrs.remove(name);
                    Some(n)
                }
                _ => None,
            };
            let colspan = span("colspan");
            let rowspan = span("rowspan");
            cells.push(TableCell {
                header,
                colspan,
                rowspan,
                blocks: self.blocks(self.t.kids(c)),
                attrs,
            });
        }
        Some(TableRow {
            cells,
            section,
            attrs: all_attrs(self.t, tr),
        })
    }

    fn task_list(&self, e: &Elem) -> Option<Block> {
        if !self.t.only_elements(e) {
            return None;
        }
        let mut items = Vec::new();
        for t in self.t.elems(e) {
            if t.name != "ac:task" || !self.t.only_elements(t) {
                return None;
            }
            let (mut id, mut uuid, mut done, mut body) = (None, None, None, None);
            for c in self.t.elems(t) {
                if c.attr_count() != 0 {
                    return None;
                }
                match c.name {
                    "ac:task-id" if id.is_none() => id = Some(self.t.text_only(c)?),
                    "ac:task-uuid" if uuid.is_none() => uuid = Some(self.t.text_only(c)?),
                    "ac:task-status" if done.is_none() => {
                        done = Some(match self.t.text_only(c)?.trim() {
                            "complete" => true,
                            "incomplete" => false,
                            _ => return None,
                        })
                    }
                    "ac:task-body" if body.is_none() => body = Some(self.blocks(self.t.kids(c))),
                    _ => return None,
                }
            }
            items.push(TaskItem {
                done: done?,
                id,
                uuid,
                body: body.unwrap_or_default(),
                attrs: all_attrs(self.t, t),
            });
        }
        Some(Block::TaskList {
            items,
            attrs: all_attrs(self.t, e),
        })
    }

    fn layout(&self, e: &Elem) -> Option<Block> {
        if !self.t.only_elements(e) {
            return None;
        }
        let mut sections = Vec::new();
        for s in self.t.elems(e) {
            if s.name != "ac:layout-section" || !self.t.only_elements(s) {
                return None;
            }
            let kind = self.t.attr(s, "ac:type").unwrap_or("").to_string();
            let mut cells = Vec::new();
            for c in self.t.elems(s) {
                if c.name != "ac:layout-cell" {
                    return None;
                }
                cells.push(LayoutCell {
                    blocks: self.blocks(self.t.kids(c)),
                    width: None,
                    attrs: all_attrs(self.t, c),
                });
            }
            sections.push(LayoutSection {
                kind,
                cells,
                attrs: attrs_except(self.t, s, &["ac:type"]),
            });
        }
        Some(Block::Layout(Layout {
            sections,
            attrs: all_attrs(self.t, e),
        }))
    }

    fn image(&self, e: &Elem) -> Option<Image> {
        if !self.t.only_elements(e) {
            return None;
        }
        let mut source = None;
        let mut caption = None;
        let mut caption_attrs = Attrs::new();
        let mut marks = Vec::new();
        for c in self.t.elems(e) {
            match c.name {
                "ri:attachment" if source.is_none() => {
                    let (filename, container, attrs) = self.attachment(c)?;
                    source = Some(ImageSource::Attachment {
                        filename,
                        container,
                        attrs,
                    });
                }
                "ri:url" if source.is_none() => {
                    if c.attr_count() != 1 || c.has_kids() {
                        return None;
                    }
                    source = Some(ImageSource::Url {
                        url: self.t.attr(c, "ri:value")?.to_string(),
                    });
                }
                "ac:caption" if caption.is_none() => {
                    caption = Some(self.blocks(self.t.kids(c)));
                    caption_attrs = all_attrs(self.t, c);
                }
                "ac:adf-mark" if !c.has_kids() => marks.push(all_attrs(self.t, c)),
                _ => return None,
            }
        }
        let get = |k: &str| self.t.attr(e, k).map(str::to_string);
        Some(Image {
            source: source?,
            alt: get("ac:alt"),
            width: get("ac:width"),
            height: get("ac:height"),
            caption,
            caption_attrs,
            marks,
            attrs: attrs_except(self.t, e, &["ac:alt", "ac:width", "ac:height"]),
        })
    }

    /// `ri:attachment` → (filename, container, other attributes).
    fn attachment(&self, c: &Elem) -> Option<(String, Option<Box<LinkTarget>>, Attrs)> {
        if !self.t.only_elements(c) {
            return None;
        }
        let filename = self.t.attr(c, "ri:filename")?.to_string();
        let mut container = None;
        for k in self.t.elems(c) {
            if container.is_some() {
                return None;
            }
            container = Some(Box::new(self.resource(k)?));
        }
        Some((
            filename,
            container,
            attrs_except(self.t, c, &["ri:filename"]),
        ))
    }

    /// A resource identifier element (`ri:*`) → a symbolic target.
    fn resource(&self, r: &Elem) -> Option<LinkTarget> {
        let get = |k: &str| self.t.attr(r, k).map(str::to_string);
        if r.name != "ri:attachment" && r.has_kids() {
            return None;
        }
        Some(match r.name {
            "ri:page" => LinkTarget::Page {
                title: get("ri:content-title"),
                space_key: get("ri:space-key"),
                id: get("ri:content-id"),
                attrs: attrs_except(
                    self.t,
                    r,
                    &["ri:content-title", "ri:space-key", "ri:content-id"],
                ),
            },
            "ri:blog-post" => LinkTarget::BlogPost {
                title: get("ri:content-title")?,
                space_key: get("ri:space-key"),
                posting_day: get("ri:posting-day"),
                attrs: attrs_except(
                    self.t,
                    r,
                    &["ri:content-title", "ri:space-key", "ri:posting-day"],
                ),
            },
            "ri:attachment" => {
                let (filename, container, attrs) = self.attachment(r)?;
                LinkTarget::Attachment {
                    filename,
                    container,
                    attrs,
                }
            }
            "ri:user" => LinkTarget::User {
                account_id: get("ri:account-id"),
                userkey: get("ri:userkey"),
                username: get("ri:username"),
                attrs: attrs_except(self.t, r, &["ri:account-id", "ri:userkey", "ri:username"]),
            },
            "ri:space" => LinkTarget::Space {
                key: get("ri:space-key")?,
                attrs: attrs_except(self.t, r, &["ri:space-key"]),
            },
            "ri:content-entity" => LinkTarget::Content {
                id: get("ri:content-id")?,
                attrs: attrs_except(self.t, r, &["ri:content-id"]),
            },
            "ri:shortcut" => LinkTarget::Shortcut {
                key: get("ri:key")?,
                parameter: get("ri:parameter")?,
                attrs: attrs_except(self.t, r, &["ri:key", "ri:parameter"]),
            },
            "ri:url" => {
                if r.attr_count() != 1 {
                    return None;
                }
                LinkTarget::Url {
                    url: get("ri:value")?,
                }
            }
            _ => return None,
        })
    }

    fn adf_extension(&self, e: &Elem) -> Block {
        self.adf_panel(e)
            .map(Block::Callout)
            .unwrap_or_else(|| self.source_ext(e, "adf-extension"))
    }

    fn adf_panel(&self, e: &Elem) -> Option<Callout> {
        if (e.attr_count() != 0) || !self.t.only_elements(e) {
            return None;
        }
        let mut node = None;
        let mut fallback = None;
        for c in self.t.elems(e) {
            match c.name {
                "ac:adf-node" if node.is_none() => node = Some(c),
                "ac:adf-fallback" if fallback.is_none() && c.attr_count() == 0 => {
                    let src = c.source(self.input);
                    // Keep the inner markup verbatim.
                    let inner = src
                        .strip_prefix("<ac:adf-fallback>")
                        .and_then(|s| s.strip_suffix("</ac:adf-fallback>"))?;
                    fallback = Some(inner.to_string());
                }
                _ => return None,
            }
        }
        let node = node?;
        if self.t.attr(node, "type") != Some("panel")
            || node.attr_count() != 1
            || !self.t.only_elements(node)
        {
            return None;
        }
        let mut params = Params::new();
        let mut blocks = None;
        for c in self.t.elems(node) {
            match c.name {
                "ac:adf-attribute" if c.attr_count() == 1 => {
                    params.set(self.t.attr(c, "key")?, self.t.text_only(c)?)
                }
                "ac:adf-content" if blocks.is_none() && c.attr_count() == 0 => {
                    blocks = Some(self.blocks(self.t.kids(c)))
                }
                _ => return None,
            }
        }
        let kind = CalloutKind::parse(params.get("panel-type")?)?;
        params.remove("panel-type");
        Some(Callout {
            kind,
            title: None,
            icon: None,
            blocks: blocks.unwrap_or_default(),
            params,
            form: CalloutForm::AdfPanel { fallback },
            attrs: Attrs::new(),
        })
    }

    // ---------------------------------------------------------------- macros

    /// Splits a structured macro into parameters (text values; `None` when a parameter holds
    /// markup or the macro has unexpected children), rich body and plain body.
    fn macro_parts<'e>(&self, e: &'e Elem<'a>) -> Option<MacroParts<'e, 'a>> {
        let mut parts = MacroParts {
            params: Params::new(),
            rich: None,
            plain: None,
            complex: Vec::new(),
        };
        for n in self.t.kids(e) {
            match n {
                Node::Text(t) if t.trim().is_empty() => {}
                Node::Elem(c) => match c.name {
                    "ac:parameter" => {
                        if c.attr_count() != 1 {
                            return None;
                        }
                        let name = self.t.attr(c, "ac:name")?.to_string();
                        match self.t.text_only(c) {
                            Some(v) => parts.params.0.push((name, v)),
                            None => parts.complex.push((name, c)),
                        }
                    }
                    "ac:rich-text-body" if parts.rich.is_none() && c.attr_count() == 0 => {
                        parts.rich = Some(c)
                    }
                    "ac:plain-text-body" if parts.plain.is_none() && c.attr_count() == 0 => {
                        parts.plain = Some(self.t.text_only(c)?)
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
        Some(parts)
    }

    fn macro_block(&self, e: &Elem) -> Block {
        self.known_macro_block(e)
            .unwrap_or_else(|| self.source_ext(e, "macro"))
    }

    fn known_macro_block(&self, e: &Elem) -> Option<Block> {
        let name = self.t.attr(e, "ac:name")?;
        let mut p = self.macro_parts(e)?;
        let attrs = attrs_except(self.t, e, &["ac:name"]);
        let rich = |p: &MacroParts| p.rich.map(|r| self.blocks(self.t.kids(r)));
        Some(match name {
            "info" | "note" | "tip" | "warning" | "panel" => {
                if !p.complex.is_empty() || p.plain.is_some() {
                    return None;
                }
                let blocks = rich(&p)?;
                let title = p.params.remove("title");
                Block::Callout(Callout {
                    kind: CalloutKind::parse(name)?,
                    title,
                    icon: None,
                    blocks,
                    params: p.params,
                    form: CalloutForm::Macro,
                    attrs,
                })
            }
            "code" | "noformat" => {
                if !p.complex.is_empty() || p.rich.is_some() {
                    return None;
                }
                let language = if name == "code" {
                    p.params.remove("language")
                } else {
                    None
                };
                let title = p.params.remove("title");
                Block::Code(Code {
                    language,
                    title,
                    text: p.plain.take().unwrap_or_default(),
                    noformat: name == "noformat",
                    params: p.params,
                    attrs,
                })
            }
            "expand" => {
                if !p.complex.is_empty() || p.plain.is_some() {
                    return None;
                }
                let blocks = rich(&p)?;
                Block::Expand(Expand {
                    title: p.params.remove("title"),
                    blocks,
                    params: p.params,
                    attrs,
                })
            }
            "toc" | "detailssummary" => {
                if !p.complex.is_empty() || p.plain.is_some() || p.rich.is_some() {
                    return None;
                }
                let info = MacroInfo {
                    params: p.params,
                    attrs,
                };
                if name == "toc" {
                    Block::Toc(info)
                } else {
                    Block::PagePropertiesReport(info)
                }
            }
            "excerpt" | "details" => {
                if !p.complex.is_empty() || p.plain.is_some() {
                    return None;
                }
                let blocks = rich(&p)?;
                if name == "excerpt" {
                    Block::Excerpt(Excerpt {
                        blocks,
                        params: p.params,
                        attrs,
                    })
                } else {
                    Block::PageProperties(PageProperties {
                        blocks,
                        params: p.params,
                        attrs,
                    })
                }
            }
            "children" => {
                if p.plain.is_some() || p.rich.is_some() || p.complex.len() > 1 {
                    return None;
                }
                let page = match p.complex.first() {
                    Some((n, el)) if n == "page" => Some(self.param_link_target(el)?),
                    Some(_) => return None,
                    None => None,
                };
                Block::ChildPages(ChildPages {
                    page,
                    params: p.params,
                    attrs,
                })
            }
            "include" | "excerpt-include" => {
                if p.plain.is_some()
                    || p.rich.is_some()
                    || p.complex.len() != 1
                    || !p.complex[0].0.is_empty()
                {
                    return None;
                }
                let target = self.param_link_target(p.complex[0].1)?;
                Block::Include(Include {
                    target,
                    excerpt: name == "excerpt-include",
                    params: p.params,
                    attrs,
                })
            }
            "view-file" => {
                if p.plain.is_some()
                    || p.rich.is_some()
                    || p.complex.len() != 1
                    || p.complex[0].0 != "name"
                {
                    return None;
                }
                let el = p.complex[0].1;
                let only = single_child_elem(self.t, el)?;
                if only.name != "ri:attachment" {
                    return None;
                }
                let target = self.resource(only)?;
                Block::File(FileRef {
                    target,
                    caption: None,
                    params: p.params,
                    attrs,
                })
            }
            "easy-math-block" | "mathblock" => {
                if !p.complex.is_empty() || p.rich.is_some() || p.plain.is_some() {
                    return None;
                }
                let tex = p.params.remove("body")?;
                Block::Math(Math {
                    tex,
                    macro_name: Some(name.to_string()),
                    params: p.params,
                    attrs,
                })
            }
            _ => return None,
        })
    }

    /// A parameter whose value is `<ac:link><ri:page …/></ac:link>` (or a bare `ri:*`).
    fn param_link_target(&self, el: &Elem) -> Option<LinkTarget> {
        let only = single_child_elem(self.t, el)?;
        match only.name {
            "ac:link" => {
                if only.attr_count() != 0 {
                    return None;
                }
                let r = single_child_elem(self.t, only)?;
                self.resource(r)
            }
            n if n.starts_with("ri:") => self.resource(only),
            _ => None,
        }
    }

    fn macro_inline(&self, e: &Elem) -> Inline {
        self.known_macro_inline(e)
            .unwrap_or_else(|| Inline::extension(self.source_extension(e, "macro")))
    }

    fn known_macro_inline(&self, e: &Elem) -> Option<Inline> {
        let name = self.t.attr(e, "ac:name")?;
        let mut p = self.macro_parts(e)?;
        if !p.complex.is_empty() || p.rich.is_some() || p.plain.is_some() {
            return None;
        }
        let attrs = attrs_except(self.t, e, &["ac:name"]);
        Some(match name {
            "status" => {
                let text = p.params.remove("title").unwrap_or_default();
                let colour = p.params.remove("colour");
                Inline::status(Status {
                    text,
                    colour,
                    params: p.params,
                    attrs,
                })
            }
            "anchor" => {
                let name = p.params.remove("")?;
                Inline::Anchor {
                    name,
                    params: p.params,
                    attrs,
                }
            }
            "jira" => Inline::Jira(MacroInfo {
                params: p.params,
                attrs,
            }),
            "eazy-math-inline" | "easy-math-inline" | "mathinline" => {
                let tex = p.params.remove("body")?;
                Inline::math(Math {
                    tex,
                    macro_name: Some(name.to_string()),
                    params: p.params,
                    attrs,
                })
            }
            _ => return None,
        })
    }

    // ---------------------------------------------------------------- inline context

    pub fn inlines(&self, nodes: &[Node]) -> Vec<Inline> {
        let mut out = Vec::with_capacity(nodes.len());
        for n in nodes {
            self.inline_node(n, &mut out);
        }
        out
    }

    fn inline_node(&self, n: &Node, out: &mut Vec<Inline>) {
        match n {
            Node::Text(t) => push_text(out, t),
            Node::CData(t) => push_text(out, t),
            Node::Entity(name) => out.push(Inline::extension(Extension {
                format: FORMAT.into(),
                kind: "entity".into(),
                name: (*name).to_string(),
                params: Params::new(),
                body: Vec::new(),
                text: None,
                source: Some(format!("&{name};")),
                attrs: Attrs::new(),
            })),
            Node::Raw { kind, source } => out.push(Inline::extension(raw_extension(kind, source))),
            Node::Elem(e) => out.push(self.inline_elem(e)),
        }
    }

    fn mark(&self, e: &Elem, mark: Mark, canonical: &str) -> Inline {
        let mut attrs = all_attrs(self.t, e);
        if e.name != canonical {
            attrs.insert("kb:tag".into(), e.name.to_string());
        }
        Inline::Mark {
            mark,
            content: self.inlines(self.t.kids(e)),
            attrs,
        }
    }

    fn inline_elem(&self, e: &Elem) -> Inline {
        match e.name {
            "strong" | "b" => self.mark(e, Mark::Strong, "strong"),
            "em" | "i" => self.mark(e, Mark::Emphasis, "em"),
            "u" => self.mark(e, Mark::Underline, "u"),
            "s" | "del" | "strike" => self.mark(e, Mark::Strike, "s"),
            "code" | "tt" => self.mark(e, Mark::Code, "code"),
            "sub" => self.mark(e, Mark::Subscript, "sub"),
            "sup" => self.mark(e, Mark::Superscript, "sup"),
            "small" => self.mark(e, Mark::Small, "small"),
            "big" => self.mark(e, Mark::Big, "big"),
            "ac:inline-comment-marker" => match self.t.attr(e, "ac:ref") {
                Some(r) => Inline::Mark {
                    mark: Mark::InlineComment { id: r.to_string() },
                    content: self.inlines(self.t.kids(e)),
                    attrs: attrs_except(self.t, e, &["ac:ref"]),
                },
                None => self.inline_element_ext(e),
            },
            "span" => {
                let mut attrs = all_attrs(self.t, e);
                let taken = take_style(
                    &mut attrs,
                    &["color", "background-color", "text-decoration"],
                );
                let mut style = SpanStyle::default();
                let mut leftover = Vec::new();
                for (k, v) in taken {
                    match k.as_str() {
                        "color" if style.color.is_none() => style.color = Some(v),
                        "background-color" if style.background.is_none() => {
                            style.background = Some(v)
                        }
                        "text-decoration"
                            if !style.strike
                                && !style.underline
                                && v.split_whitespace()
                                    .all(|w| w == "line-through" || w == "underline") =>
                        {
                            style.strike = v.split_whitespace().any(|w| w == "line-through");
                            style.underline = v.split_whitespace().any(|w| w == "underline");
                        }
                        _ => leftover.push((k, v)),
                    }
                }
                if !leftover.is_empty() {
                    // Keep what we could not model, in front of any remaining declarations.
                    let mut all = leftover;
                    if let Some(rest) = attrs.get("style") {
                        all.extend(parse_style(rest));
                    }
                    attrs.insert("style".into(), format_style(&all));
                }
                Inline::Span {
                    style: Box::new(style),
                    content: self.inlines(self.t.kids(e)),
                    attrs,
                }
            }
            "a" => match self.t.attr(e, "href") {
                Some(href) => Inline::link(Link {
                    target: LinkTarget::Url {
                        url: href.to_string(),
                    },
                    anchor: None,
                    content: self.inlines(self.t.kids(e)),
                    plain_body: false,
                    attrs: attrs_except(self.t, e, &["href"]),
                }),
                None => self.inline_element_ext(e),
            },
            "br" if !e.has_kids() => Inline::Break {
                attrs: all_attrs(self.t, e),
            },
            "time" if !e.has_kids() && self.t.attr(e, "datetime").is_some() => Inline::Date {
                date: self.t.attr(e, "datetime").unwrap_or_default().to_string(),
                attrs: attrs_except(self.t, e, &["datetime"]),
            },
            "ac:emoticon" if !e.has_kids() => {
                let get = |k: &str| self.t.attr(e, k).map(str::to_string);
                Inline::emoji(Emoji {
                    text: get("ac:emoji-fallback"),
                    shortname: get("ac:emoji-shortname"),
                    name: get("ac:name"),
                    id: get("ac:emoji-id"),
                    attrs: attrs_except(
                        self.t,
                        e,
                        &[
                            "ac:emoji-fallback",
                            "ac:emoji-shortname",
                            "ac:name",
                            "ac:emoji-id",
                        ],
                    ),
                })
            }
            "ac:placeholder" => match self.t.text_only(e) {
                Some(text) => Inline::Placeholder {
                    text,
                    attrs: all_attrs(self.t, e),
                },
                None => self.inline_element_ext(e),
            },
            "ac:link" => self
                .link(e)
                .unwrap_or_else(|| Inline::extension(self.source_extension(e, "element"))),
            "ac:image" => match self.image(e) {
                Some(img) => Inline::image(img),
                None => Inline::extension(self.source_extension(e, "element")),
            },
            "ac:structured-macro" => self.macro_inline(e),
            "ac:macro" => Inline::extension(self.source_extension(e, "macro")),
            "ac:adf-extension" | "ac:task-list" | "ac:layout" => {
                Inline::extension(self.source_extension(e, "element"))
            }
            _ => self.inline_element_ext(e),
        }
    }

    fn inline_element_ext(&self, e: &Elem) -> Inline {
        Inline::extension(self.element_extension(e))
    }

    fn link(&self, e: &Elem) -> Option<Inline> {
        if !self.t.only_elements(e) {
            return None;
        }
        let mut target = None;
        let mut content = None;
        let mut plain_body = false;
        for c in self.t.elems(e) {
            match c.name {
                n if n.starts_with("ri:") && target.is_none() => target = Some(self.resource(c)?),
                "ac:plain-text-link-body" if content.is_none() && c.attr_count() == 0 => {
                    let t = self.t.text_only(c)?;
                    plain_body = true;
                    content = Some(if t.is_empty() {
                        Vec::new()
                    } else {
                        vec![Inline::Text { text: t }]
                    });
                }
                "ac:link-body" if content.is_none() && c.attr_count() == 0 => {
                    content = Some(self.inlines(self.t.kids(c)))
                }
                _ => return None,
            }
        }
        let mut attrs = attrs_except(self.t, e, &["ac:anchor"]);
        let anchor = self.t.attr(e, "ac:anchor").map(str::to_string);
        let target = match target {
            Some(LinkTarget::Url { url }) => {
                attrs.insert("kb:form".into(), "ri:url".into());
                LinkTarget::Url { url }
            }
            Some(t) => t,
            None => LinkTarget::SamePage,
        };
        if content.as_ref().is_some_and(|c| c.is_empty()) && !plain_body {
            // `<ac:link-body></ac:link-body>` — remember the empty body.
            attrs.insert("kb:empty-body".into(), "true".into());
        }
        Some(Inline::link(Link {
            target,
            anchor,
            content: content.unwrap_or_default(),
            plain_body,
            attrs,
        }))
    }
}

struct MacroParts<'e, 'a> {
    params: Params,
    rich: Option<&'e Elem<'a>>,
    plain: Option<String>,
    /// Parameters whose value holds markup (`ri:page`, `ac:link`…).
    complex: Vec<(String, &'e Elem<'a>)>,
}

fn single_child_elem<'e, 'a>(t: &'e Tree<'a>, e: &'e Elem<'a>) -> Option<&'e Elem<'a>> {
    if !t.only_elements(e) {
        return None;
    }
    let mut it = t.elems(e);
    let first = it.next()?;
    if it.next().is_some() {
        None
    } else {
        Some(first)
    }
}

fn raw_extension(kind: &str, source: &str) -> Extension {
    Extension {
        format: FORMAT.into(),
        kind: kind.to_string(),
        name: kind.to_string(),
        params: Params::new(),
        body: Vec::new(),
        text: None,
        source: Some(source.to_string()),
        attrs: Attrs::new(),
    }
}

fn push_text(out: &mut Vec<Inline>, t: &str) {
    if t.is_empty() {
        return;
    }
    if let Some(Inline::Text { text }) = out.last_mut() {
        text.push_str(t);
    } else {
        out.push(Inline::Text {
            text: t.to_string(),
        });
    }
}

/// Ends a run of inline content in block context: a run of XML whitespace alone (space, tab,
/// line breaks) is insignificant; a no-break space is content, as in HTML.
fn flush_run(run: &mut Vec<Inline>, out: &mut Vec<Block>) {
    if run.is_empty() {
        return;
    }
    let all_ws = run.iter().all(|i| {
        matches!(i, Inline::Text { text } if text.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')))
    });
    if all_ws {
        run.clear();
        return;
    }
    out.push(Block::Plain {
        content: std::mem::take(run),
    });
}
