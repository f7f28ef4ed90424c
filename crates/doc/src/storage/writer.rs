//! IR → Confluence storage format.
//!
//! Output is a body fragment as the API takes it: no root, no XML declaration, `ac:`/`ri:`
//! prefixes undeclared, non-ASCII as literal UTF-8, plain-text bodies in CDATA (with `]]>`
//! split across sections), unmodelled attributes re-emitted from each node's attribute bag.

use std::fmt::Write as _;

use super::reader::{format_style, parse_style};
use crate::ir::*;
use crate::report::Fallback;

pub(crate) struct W {
    pub out: String,
    pub fallbacks: Vec<Fallback>,
}

fn esc_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if is_xml_char(c) => out.push(c),
            // Characters XML 1.0 cannot hold at all are replaced visibly rather than producing
            // a body Confluence rejects.
            _ => out.push('\u{FFFD}'),
        }
    }
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn esc_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

fn cdata(out: &mut String, s: &str) {
    out.push_str("<![CDATA[");
    let mut clean = String::with_capacity(s.len());
    for c in s.chars() {
        clean.push(if is_xml_char(c) { c } else { '\u{FFFD}' });
    }
    out.push_str(&clean.replace("]]>", "]]]]><![CDATA[>"));
    out.push_str("]]>");
}

impl W {
    pub fn new() -> Self {
        W {
            out: String::new(),
            fallbacks: Vec::new(),
        }
    }

    fn fallback(
        &mut self,
        node: impl Into<String>,
        rendered_as: impl Into<String>,
        extension: bool,
    ) {
        self.fallbacks.push(Fallback {
            node: node.into(),
            rendered_as: rendered_as.into(),
            extension,
        });
    }

    fn attr(&mut self, k: &str, v: &str) {
        self.out.push(' ');
        self.out.push_str(k);
        self.out.push_str("=\"");
        esc_attr(&mut self.out, v);
        self.out.push('"');
    }

    fn opt_attr(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.attr(k, v);
        }
    }

    /// Writes the bag, skipping kbridge hints (`kb:*`) and keys in `skip`.
    fn attrs(&mut self, a: &Attrs, skip: &[&str]) {
        for (k, v) in a {
            if Attrs::is_hint(k) || skip.contains(&k) {
                continue;
            }
            self.attr(k, v);
        }
    }

    /// `style` made of modelled declarations followed by the bag's own `style`.
    fn style_attr(&mut self, mut decls: Vec<(String, String)>, a: &Attrs) {
        if let Some(rest) = a.get("style") {
            if decls.is_empty() {
                self.attr("style", rest);
                return;
            }
            decls.extend(parse_style(rest));
        }
        if !decls.is_empty() {
            let s = format_style(&decls);
            self.attr("style", &s);
        }
    }

    fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
    }

    fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn text(&mut self, s: &str) {
        esc_text(&mut self.out, s);
    }

    // ---------------------------------------------------------------- blocks

    pub fn blocks(&mut self, blocks: &[Block]) {
        for b in blocks {
            self.block(b);
        }
    }

    fn block(&mut self, b: &Block) {
        match b {
            Block::Paragraph {
                content,
                align,
                attrs,
            } => self.text_block("p", content, *align, attrs),
            Block::Plain { content } => self.inlines(content),
            Block::Heading {
                level,
                content,
                align,
                attrs,
            } => {
                let tag = format!("h{}", (*level).clamp(1, 6));
                self.text_block(&tag, content, *align, attrs)
            }
            Block::List(l) => {
                let tag = if l.ordered { "ol" } else { "ul" };
                self.open(tag);
                if let Some(s) = l.start {
                    self.attr("start", &s.to_string());
                }
                self.attrs(&l.attrs, &["start"]);
                self.out.push('>');
                for it in &l.items {
                    self.container("li", &it.attrs, &it.blocks);
                }
                self.close(tag);
            }
            Block::TaskList { items, attrs } => {
                self.open("ac:task-list");
                self.attrs(attrs, &[]);
                self.out.push('>');
                for t in items {
                    self.open("ac:task");
                    self.attrs(&t.attrs, &[]);
                    self.out.push('>');
                    if let Some(id) = &t.id {
                        self.simple("ac:task-id", id);
                    }
                    if let Some(u) = &t.uuid {
                        self.simple("ac:task-uuid", u);
                    }
                    self.simple(
                        "ac:task-status",
                        if t.done { "complete" } else { "incomplete" },
                    );
                    self.container("ac:task-body", &Attrs::new(), &t.body);
                    self.close("ac:task");
                }
                self.close("ac:task-list");
            }
            Block::Quote { blocks, attrs } => self.container("blockquote", attrs, blocks),
            Block::Callout(c) => self.callout(c),
            Block::Code(c) => self.code(c),
            Block::Math(m) => self.math(m, true),
            Block::Divider { attrs } => {
                self.open("hr");
                self.attrs(attrs, &[]);
                self.out.push_str(" />");
            }
            Block::Table(t) => self.table(t),
            Block::Layout(l) => self.layout(l),
            Block::Expand(e) => {
                let mut params = Params::new();
                if let Some(t) = &e.title {
                    params.set("title", t.clone());
                }
                params.0.extend(e.params.0.iter().cloned());
                self.macro_start("expand", &e.attrs, &params);
                self.rich_body(&e.blocks);
                self.close("ac:structured-macro");
            }
            Block::Image(img) => self.image(img),
            Block::File(f) => self.file(f),
            Block::Embed(e) => {
                let appearance = match e.kind.as_str() {
                    "embed" | "video" | "audio" | "pdf" => "embed",
                    _ => "block",
                };
                if e.kind != "block" && e.kind != "embed" {
                    self.fallback(
                        format!("embed:{}", e.kind),
                        format!("Smart Link ({appearance} card)"),
                        false,
                    );
                }
                self.out.push_str("<p>");
                self.open("a");
                self.attr("href", &e.url);
                self.attr("data-card-appearance", appearance);
                self.attrs(&e.attrs, &["href", "data-card-appearance"]);
                self.out.push('>');
                self.text(&e.url);
                self.out.push_str("</a></p>");
                if let Some(c) = &e.caption {
                    self.out.push_str("<p>");
                    self.inlines(c);
                    self.out.push_str("</p>");
                }
            }
            Block::Toc(m) => self.param_macro("toc", m),
            Block::PagePropertiesReport(m) => self.param_macro("detailssummary", m),
            Block::ChildPages(c) => {
                self.macro_start("children", &c.attrs, &c.params);
                if let Some(p) = &c.page {
                    self.out.push_str("<ac:parameter ac:name=\"page\">");
                    self.link_param(p);
                    self.out.push_str("</ac:parameter>");
                }
                self.close("ac:structured-macro");
            }
            Block::Excerpt(e) => {
                self.macro_start("excerpt", &e.attrs, &e.params);
                self.rich_body(&e.blocks);
                self.close("ac:structured-macro");
            }
            Block::Include(i) => {
                let name = if i.excerpt {
                    "excerpt-include"
                } else {
                    "include"
                };
                self.macro_start(name, &i.attrs, &Params::new());
                self.out.push_str("<ac:parameter ac:name=\"\">");
                self.link_param(&i.target);
                self.out.push_str("</ac:parameter>");
                self.params(&i.params);
                self.close("ac:structured-macro");
            }
            Block::PageProperties(p) => {
                self.macro_start("details", &p.attrs, &p.params);
                self.rich_body(&p.blocks);
                self.close("ac:structured-macro");
            }
            Block::Extension(e) => self.extension(e),
        }
    }

    fn text_block(&mut self, tag: &str, content: &[Inline], align: Option<Align>, attrs: &Attrs) {
        self.open(tag);
        let decls = match align {
            Some(a) => vec![("text-align".to_string(), align_str(a).to_string())],
            None => Vec::new(),
        };
        self.style_attr(decls, attrs);
        self.attrs(attrs, &["style"]);
        if content.is_empty() {
            self.out.push_str(" />");
            return;
        }
        self.out.push('>');
        self.inlines(content);
        self.close(tag);
    }

    /// `<tag attrs>blocks</tag>`, self-closing when empty.
    fn container(&mut self, tag: &str, attrs: &Attrs, blocks: &[Block]) {
        self.open(tag);
        self.attrs(attrs, &[]);
        if blocks.is_empty() {
            self.out.push_str(" />");
            return;
        }
        self.out.push('>');
        self.blocks(blocks);
        self.close(tag);
    }

    fn simple(&mut self, tag: &str, text: &str) {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        self.text(text);
        self.close(tag);
    }

    fn macro_start(&mut self, name: &str, attrs: &Attrs, params: &Params) {
        self.open("ac:structured-macro");
        self.attr("ac:name", name);
        self.attrs(attrs, &["ac:name"]);
        self.out.push('>');
        self.params(params);
    }

    fn params(&mut self, params: &Params) {
        for (k, v) in params.iter() {
            self.out.push_str("<ac:parameter");
            self.attr("ac:name", k);
            self.out.push('>');
            self.text(v);
            self.out.push_str("</ac:parameter>");
        }
    }

    fn rich_body(&mut self, blocks: &[Block]) {
        if blocks.is_empty() {
            self.out.push_str("<ac:rich-text-body />");
            return;
        }
        self.out.push_str("<ac:rich-text-body>");
        self.blocks(blocks);
        self.out.push_str("</ac:rich-text-body>");
    }

    fn param_macro(&mut self, name: &str, m: &MacroInfo) {
        self.macro_start(name, &m.attrs, &m.params);
        self.close("ac:structured-macro");
    }

    fn callout(&mut self, c: &Callout) {
        let adf = match (&c.form, c.kind) {
            (CalloutForm::AdfPanel { fallback }, _) => Some(fallback.as_deref()),
            // Cloud has no legacy macro for these panel types; its own storage uses the ADF form.
            (CalloutForm::Macro, CalloutKind::Error | CalloutKind::Success) => Some(None),
            _ => None,
        };
        if let Some(fallback) = adf {
            if c.title.is_some() {
                self.fallback("callout.title", "first paragraph of an ADF panel", false);
            }
            self.out
                .push_str("<ac:adf-extension><ac:adf-node type=\"panel\">");
            self.out.push_str("<ac:adf-attribute key=\"panel-type\">");
            self.text(c.kind.as_str());
            self.out.push_str("</ac:adf-attribute>");
            for (k, v) in c.params.iter() {
                self.out.push_str("<ac:adf-attribute");
                self.attr("key", k);
                self.out.push('>');
                self.text(v);
                self.out.push_str("</ac:adf-attribute>");
            }
            self.out.push_str("<ac:adf-content>");
            if let Some(t) = &c.title {
                self.out.push_str("<p><strong>");
                self.text(t);
                self.out.push_str("</strong></p>");
            }
            self.blocks(&c.blocks);
            self.out.push_str("</ac:adf-content></ac:adf-node>");
            if let Some(f) = fallback {
                self.out.push_str("<ac:adf-fallback>");
                self.out.push_str(f);
                self.out.push_str("</ac:adf-fallback>");
            }
            self.out.push_str("</ac:adf-extension>");
            return;
        }
        let mut params = Params::new();
        if let Some(t) = &c.title {
            params.set("title", t.clone());
        }
        params.0.extend(c.params.0.iter().cloned());
        // The icon is kept on every kind (Confluence keeps a macro's parameters; a panel
        // shows it), so a Notion callout's emoji is not lost.
        if let Some(icon) = &c.icon
            && params.get("panelIconText").is_none()
        {
            params.set("panelIconText", icon.clone());
        }
        self.macro_start(c.kind.as_str(), &c.attrs, &params);
        self.rich_body(&c.blocks);
        self.close("ac:structured-macro");
    }

    fn code(&mut self, c: &Code) {
        if c.attrs.get("kb:tag").map(String::as_str) == Some("pre") {
            self.open("pre");
            self.attrs(&c.attrs, &[]);
            self.out.push('>');
            self.text(&c.text);
            self.close("pre");
            return;
        }
        let mut params = Params::new();
        if let Some(l) = &c.language {
            params.set("language", l.clone());
        }
        if let Some(t) = &c.title {
            params.set("title", t.clone());
        }
        params.0.extend(c.params.0.iter().cloned());
        self.macro_start(
            if c.noformat { "noformat" } else { "code" },
            &c.attrs,
            &params,
        );
        self.out.push_str("<ac:plain-text-body>");
        cdata(&mut self.out, &c.text);
        self.out.push_str("</ac:plain-text-body>");
        self.close("ac:structured-macro");
    }

    fn math(&mut self, m: &Math, block: bool) {
        let name = match &m.macro_name {
            Some(n) => n.as_str(),
            None => {
                self.fallback(
                    if block { "math" } else { "inline_math" },
                    "easy-math macro (needs a math app on the Confluence site)",
                    false,
                );
                if block {
                    "easy-math-block"
                } else {
                    "eazy-math-inline"
                }
            }
        };
        let mut params = Params::new();
        params.set("body", m.tex.clone());
        params.0.extend(m.params.0.iter().cloned());
        self.macro_start(name, &m.attrs, &params);
        self.close("ac:structured-macro");
    }

    fn table(&mut self, t: &Table) {
        self.open("table");
        self.attrs(&t.attrs, &[]);
        self.out.push('>');
        if let Some(cols) = &t.columns {
            self.out.push_str("<colgroup>");
            for c in cols {
                self.open("col");
                self.attrs(c, &[]);
                self.out.push_str(" />");
            }
            self.out.push_str("</colgroup>");
        }
        let bare = t.attrs.get("kb:bare-rows").is_some();
        let mut i = 0;
        while i < t.rows.len() {
            let section = t.rows[i].section;
            let mut j = i;
            while j < t.rows.len() && t.rows[j].section == section {
                j += 1;
            }
            let tag = match section {
                RowSection::Head => "thead",
                RowSection::Body => "tbody",
                RowSection::Foot => "tfoot",
            };
            let wrap = !(bare && section == RowSection::Body);
            if wrap {
                self.out.push('<');
                self.out.push_str(tag);
                self.out.push('>');
            }
            for r in &t.rows[i..j] {
                self.open("tr");
                self.attrs(&r.attrs, &[]);
                self.out.push('>');
                for c in &r.cells {
                    let tag = if c.header { "th" } else { "td" };
                    self.open(tag);
                    if let Some(n) = c.colspan {
                        self.attr("colspan", &n.to_string());
                    }
                    if let Some(n) = c.rowspan {
                        self.attr("rowspan", &n.to_string());
                    }
                    self.attrs(&c.attrs, &["colspan", "rowspan"]);
                    if c.blocks.is_empty() {
                        self.out.push_str(" />");
                    } else {
                        self.out.push('>');
                        self.blocks(&c.blocks);
                        self.close(tag);
                    }
                }
                self.close("tr");
            }
            if wrap {
                self.close(tag);
            }
            i = j;
        }
        self.close("table");
    }

    fn layout(&mut self, l: &Layout) {
        self.open("ac:layout");
        self.attrs(&l.attrs, &[]);
        self.out.push('>');
        for s in &l.sections {
            let kind = if s.kind.is_empty() {
                match s.cells.len() {
                    0 | 1 => "single",
                    2 => "two_equal",
                    3 => "three_equal",
                    4 => "four_equal",
                    _ => {
                        self.fallback("layout", "five_equal section (Cloud only)", false);
                        "five_equal"
                    }
                }
            } else {
                s.kind.as_str()
            };
            self.open("ac:layout-section");
            self.attr("ac:type", kind);
            self.attrs(&s.attrs, &["ac:type"]);
            self.out.push('>');
            for c in &s.cells {
                self.container("ac:layout-cell", &c.attrs, &c.blocks);
            }
            self.close("ac:layout-section");
        }
        self.close("ac:layout");
    }

    fn image(&mut self, img: &Image) {
        self.open("ac:image");
        self.opt_attr("ac:alt", img.alt.as_deref());
        self.opt_attr("ac:height", img.height.as_deref());
        self.opt_attr("ac:width", img.width.as_deref());
        self.attrs(&img.attrs, &["ac:alt", "ac:height", "ac:width"]);
        self.out.push('>');
        match &img.source {
            ImageSource::Attachment {
                filename,
                container,
                attrs,
            } => self.attachment(filename, container.as_deref(), attrs),
            ImageSource::Url { url } => {
                self.out.push_str("<ri:url");
                self.attr("ri:value", url);
                self.out.push_str(" />");
            }
        }
        if let Some(c) = &img.caption {
            self.container("ac:caption", &img.caption_attrs, c);
        }
        for m in &img.marks {
            self.open("ac:adf-mark");
            self.attrs(m, &[]);
            self.out.push_str(" />");
        }
        self.close("ac:image");
    }

    fn attachment(&mut self, filename: &str, container: Option<&LinkTarget>, attrs: &Attrs) {
        self.out.push_str("<ri:attachment");
        self.attr("ri:filename", filename);
        self.attrs(attrs, &["ri:filename"]);
        match container {
            Some(c) => {
                self.out.push('>');
                self.resource(c);
                self.out.push_str("</ri:attachment>");
            }
            None => self.out.push_str(" />"),
        }
    }

    /// Writes a resource identifier. Returns false when the target has no `ri:` form.
    fn resource(&mut self, t: &LinkTarget) -> bool {
        match t {
            LinkTarget::Url { url } => {
                self.out.push_str("<ri:url");
                self.attr("ri:value", url);
                self.out.push_str(" />");
            }
            LinkTarget::Page {
                title,
                space_key,
                id,
                attrs,
            } => {
                self.out.push_str("<ri:page");
                self.opt_attr("ri:content-id", id.as_deref());
                self.opt_attr("ri:content-title", title.as_deref());
                self.opt_attr("ri:space-key", space_key.as_deref());
                self.attrs(attrs, &[]);
                self.out.push_str(" />");
            }
            LinkTarget::BlogPost {
                title,
                space_key,
                posting_day,
                attrs,
            } => {
                self.out.push_str("<ri:blog-post");
                self.attr("ri:content-title", title);
                self.opt_attr("ri:posting-day", posting_day.as_deref());
                self.opt_attr("ri:space-key", space_key.as_deref());
                self.attrs(attrs, &[]);
                self.out.push_str(" />");
            }
            LinkTarget::Attachment {
                filename,
                container,
                attrs,
            } => self.attachment(filename, container.as_deref(), attrs),
            LinkTarget::User {
                account_id,
                userkey,
                username,
                attrs,
            } => {
                self.out.push_str("<ri:user");
                self.opt_attr("ri:account-id", account_id.as_deref());
                self.opt_attr("ri:userkey", userkey.as_deref());
                self.opt_attr("ri:username", username.as_deref());
                self.attrs(attrs, &[]);
                self.out.push_str(" />");
            }
            LinkTarget::Space { key, attrs } => {
                self.out.push_str("<ri:space");
                self.attr("ri:space-key", key);
                self.attrs(attrs, &[]);
                self.out.push_str(" />");
            }
            LinkTarget::Content { id, attrs } => {
                self.out.push_str("<ri:content-entity");
                self.attr("ri:content-id", id);
                self.attrs(attrs, &[]);
                self.out.push_str(" />");
            }
            LinkTarget::Shortcut {
                key,
                parameter,
                attrs,
            } => {
                self.out.push_str("<ri:shortcut");
                self.attr("ri:key", key);
                self.attr("ri:parameter", parameter);
                self.attrs(attrs, &[]);
                self.out.push_str(" />");
            }
            LinkTarget::SamePage => return false,
        }
        true
    }

    /// A macro parameter that points at a page: `<ac:link><ri:page …/></ac:link>`.
    fn link_param(&mut self, t: &LinkTarget) {
        match t {
            LinkTarget::Page { .. } | LinkTarget::BlogPost { .. } => {
                self.out.push_str("<ac:link>");
                self.resource(t);
                self.out.push_str("</ac:link>");
            }
            _ => {
                self.resource(t);
            }
        }
    }

    fn file(&mut self, f: &FileRef) {
        match &f.target {
            LinkTarget::Attachment { .. } => {
                self.macro_start("view-file", &f.attrs, &Params::new());
                self.out.push_str("<ac:parameter ac:name=\"name\">");
                self.resource(&f.target);
                self.out.push_str("</ac:parameter>");
                self.params(&f.params);
                self.close("ac:structured-macro");
            }
            other => {
                self.fallback("file", "a paragraph with a link to the file", false);
                self.out.push_str("<p>");
                let mut link = Link::new(other.clone());
                if let Some(name) = crate::util::file_name(&f.attrs) {
                    link.content = vec![Inline::text(name)];
                }
                self.link(&link);
                self.out.push_str("</p>");
            }
        }
        if let Some(c) = &f.caption {
            self.fallback("file.caption", "a paragraph after the file", false);
            self.out.push_str("<p>");
            self.inlines(c);
            self.out.push_str("</p>");
        }
    }

    fn extension(&mut self, e: &Extension) {
        if e.format == "storage" {
            if let Some(src) = &e.source {
                self.out.push_str(src);
                return;
            }
            match e.kind.as_str() {
                "element" => {
                    self.open(&e.name);
                    self.attrs(&e.attrs, &[]);
                    if e.body.is_empty() && e.text.is_none() {
                        self.out.push_str(" />");
                        return;
                    }
                    self.out.push('>');
                    if let Some(t) = &e.text {
                        self.text(t);
                    }
                    self.blocks(&e.body);
                    self.close(&e.name);
                    return;
                }
                "macro" => {
                    self.macro_start(&e.name, &e.attrs, &e.params);
                    if let Some(t) = &e.text {
                        self.out.push_str("<ac:plain-text-body>");
                        cdata(&mut self.out, t);
                        self.out.push_str("</ac:plain-text-body>");
                    } else if !e.body.is_empty() {
                        self.rich_body(&e.body);
                    }
                    self.close("ac:structured-macro");
                    return;
                }
                _ => {}
            }
        }
        // Foreign content: keep it readable.
        let node = format!("extension:{}:{}:{}", e.format, e.kind, e.name);
        if !e.body.is_empty() {
            self.fallback(node, "its content, unwrapped", true);
            self.blocks(&e.body);
        } else {
            let text = e.text.as_deref().or(e.source.as_deref()).unwrap_or("");
            self.fallback(node, "a noformat block holding its source", true);
            let mut params = Params::new();
            params.set("title", format!("{} {} ({})", e.format, e.kind, e.name));
            self.macro_start("noformat", &Attrs::new(), &params);
            self.out.push_str("<ac:plain-text-body>");
            cdata(&mut self.out, text);
            self.out.push_str("</ac:plain-text-body>");
            self.close("ac:structured-macro");
        }
    }

    // ---------------------------------------------------------------- inlines

    pub fn inlines(&mut self, inlines: &[Inline]) {
        for i in inlines {
            self.inline(i);
        }
    }

    fn inline(&mut self, i: &Inline) {
        match i {
            Inline::Text { text } => self.text(text),
            Inline::Mark {
                mark,
                content,
                attrs,
            } => {
                let (tag, extra): (&str, Option<(&str, &str)>) = match mark {
                    Mark::Strong => ("strong", None),
                    Mark::Emphasis => ("em", None),
                    Mark::Underline => ("u", None),
                    Mark::Strike => ("s", None),
                    Mark::Code => ("code", None),
                    Mark::Subscript => ("sub", None),
                    Mark::Superscript => ("sup", None),
                    Mark::Small => ("small", None),
                    Mark::Big => ("big", None),
                    Mark::InlineComment { id } => {
                        ("ac:inline-comment-marker", Some(("ac:ref", id.as_str())))
                    }
                };
                let tag = attrs
                    .get("kb:tag")
                    .map(String::as_str)
                    .unwrap_or(tag)
                    .to_string();
                self.open(&tag);
                if let Some((k, v)) = extra {
                    self.attr(k, v);
                }
                self.attrs(attrs, &[]);
                if content.is_empty() {
                    self.out.push_str(" />");
                } else {
                    self.out.push('>');
                    self.inlines(content);
                    self.close(&tag);
                }
            }
            Inline::Span {
                style,
                content,
                attrs,
            } => {
                self.open("span");
                let mut decls = Vec::new();
                if let Some(c) = &style.color {
                    decls.push(("color".to_string(), c.clone()));
                }
                if let Some(c) = &style.background {
                    decls.push(("background-color".to_string(), c.clone()));
                }
                match (style.underline, style.strike) {
                    (true, true) => {
                        decls.push(("text-decoration".into(), "underline line-through".into()))
                    }
                    (true, false) => decls.push(("text-decoration".into(), "underline".into())),
                    (false, true) => decls.push(("text-decoration".into(), "line-through".into())),
                    (false, false) => {}
                }
                self.style_attr(decls, attrs);
                self.attrs(attrs, &["style"]);
                if content.is_empty() {
                    self.out.push_str(" />");
                } else {
                    self.out.push('>');
                    self.inlines(content);
                    self.close("span");
                }
            }
            Inline::Link(l) => self.link(l),
            Inline::Image(img) => self.image(img),
            Inline::Emoji(e) => self.emoji(e),
            Inline::Status(s) => {
                let mut params = Params::new();
                if !s.text.is_empty() {
                    params.set("title", s.text.clone());
                }
                if let Some(c) = &s.colour {
                    params.set("colour", c.clone());
                }
                params.0.extend(s.params.0.iter().cloned());
                self.macro_start("status", &s.attrs, &params);
                self.close("ac:structured-macro");
            }
            Inline::Date { date, attrs } => {
                self.open("time");
                self.attr("datetime", date);
                self.attrs(attrs, &["datetime"]);
                self.out.push_str(" />");
            }
            Inline::Break { attrs } => {
                self.open("br");
                self.attrs(attrs, &[]);
                self.out.push_str(" />");
            }
            Inline::Math(m) => self.math(m, false),
            Inline::Anchor {
                name,
                params,
                attrs,
            } => {
                let mut p = Params::new();
                p.set("", name.clone());
                p.0.extend(params.0.iter().cloned());
                self.macro_start("anchor", attrs, &p);
                self.close("ac:structured-macro");
            }
            Inline::Placeholder { text, attrs } => {
                self.open("ac:placeholder");
                self.attrs(attrs, &[]);
                self.out.push('>');
                self.text(text);
                self.close("ac:placeholder");
            }
            Inline::Jira(m) => self.param_macro("jira", m),
            Inline::Extension(e) => self.extension(e),
        }
    }

    fn emoji(&mut self, e: &Emoji) {
        if e.name.is_none() && e.shortname.is_none() && e.id.is_none() {
            // A bare emoji character (Notion): the character itself is exact.
            if let Some(t) = &e.text {
                self.text(t);
            }
            return;
        }
        self.out.push_str("<ac:emoticon");
        // Cloud writes emoji without a legacy emoticon name as `blue-star` + emoji attributes.
        self.attr("ac:name", e.name.as_deref().unwrap_or("blue-star"));
        self.opt_attr("ac:emoji-shortname", e.shortname.as_deref());
        self.opt_attr("ac:emoji-id", e.id.as_deref());
        self.opt_attr("ac:emoji-fallback", e.text.as_deref());
        self.attrs(&e.attrs, &[]);
        self.out.push_str(" />");
    }

    fn link(&mut self, l: &Link) {
        // A Notion user (the Notion reader keeps the name it was given): a Notion user id is no
        // Confluence account, and a mention of it shows as an unknown user. Its name, as text.
        if let Some(name) = crate::util::notion_user_label(l) {
            self.text(&name);
            self.fallback("user mention (Notion)", "the user's name as text", false);
            return;
        }
        if let LinkTarget::Url { url } = &l.target
            && l.attrs.get("kb:form").map(String::as_str) != Some("ri:url")
        {
            self.open("a");
            let mut href = url.clone();
            if let Some(a) = &l.anchor {
                let _ = write!(href, "#{a}");
            }
            self.attr("href", &href);
            self.attrs(&l.attrs, &["href"]);
            if l.content.is_empty() {
                self.out.push_str(" />");
            } else {
                self.out.push('>');
                self.inlines(&l.content);
                self.close("a");
            }
            return;
        }
        self.open("ac:link");
        self.opt_attr("ac:anchor", l.anchor.as_deref());
        self.attrs(&l.attrs, &["ac:anchor"]);
        let empty = matches!(l.target, LinkTarget::SamePage)
            && l.content.is_empty()
            && !l.plain_body
            && !l.attrs.contains_key("kb:empty-body");
        if empty {
            self.out.push_str(" />");
            return;
        }
        self.out.push('>');
        self.resource(&l.target);
        let all_text = l.content.iter().all(|i| matches!(i, Inline::Text { .. }));
        if l.plain_body && all_text {
            self.out.push_str("<ac:plain-text-link-body>");
            let t: String = l
                .content
                .iter()
                .map(|i| match i {
                    Inline::Text { text } => text.as_str(),
                    _ => "",
                })
                .collect();
            cdata(&mut self.out, &t);
            self.out.push_str("</ac:plain-text-link-body>");
        } else if !l.content.is_empty() || l.attrs.contains_key("kb:empty-body") {
            self.out.push_str("<ac:link-body>");
            self.inlines(&l.content);
            self.out.push_str("</ac:link-body>");
        } else if let LinkTarget::User { .. } = l.target
            && let Some(name) = l.attrs.get("notion:name").filter(|n| !n.trim().is_empty())
        {
            // A Notion person (mention or people property): its account id means nothing to
            // Confluence, so the name Notion showed is the link text.
            self.out.push_str("<ac:plain-text-link-body>");
            cdata(&mut self.out, &format!("@{name}"));
            self.out.push_str("</ac:plain-text-link-body>");
        }
        self.close("ac:link");
    }
}

fn align_str(a: Align) -> &'static str {
    match a {
        Align::Left => "left",
        Align::Center => "center",
        Align::Right => "right",
        Align::Justify => "justify",
    }
}
