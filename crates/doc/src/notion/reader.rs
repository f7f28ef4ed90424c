//! Notion → IR.
//!
//! Input is a block tree: blocks with the children kbridge fetched for them (`children` on the
//! block object), or children embedded in the payload as some captures hold them. The API has no
//! list containers, so consecutive list items (and to-dos) are grouped into one IR list.
//! Rich-text runs become an inline tree nested in a canonical order (link > colour span > strong
//! > emphasis > strike > underline > code), adjacent runs sharing a wrapper sharing one node.

use serde_json::{Map, Value};

use super::model::{self, Annotations, FileSource, Icon, Mention, RichText, RichTextKind};
use crate::ir::*;
use crate::{ReadError, text};

const FORMAT: &str = "notion";

/// Notion's colours as CSS, so other formats can show them.
pub(crate) const COLORS: &[(&str, &str)] = &[
    ("gray", "#787774"),
    ("brown", "#9f6b53"),
    ("orange", "#d9730d"),
    ("yellow", "#cb912f"),
    ("green", "#448361"),
    ("blue", "#337ea9"),
    ("purple", "#9065b0"),
    ("pink", "#c14c8a"),
    ("red", "#d44c47"),
    ("gray_background", "#f1f1ef"),
    ("brown_background", "#f4eeee"),
    ("orange_background", "#fbecdd"),
    ("yellow_background", "#fbf3db"),
    ("green_background", "#edf3ec"),
    ("blue_background", "#e7f3f8"),
    ("purple_background", "#f6f3f9"),
    ("pink_background", "#faf1f5"),
    ("red_background", "#fdebec"),
];

fn css(color: &str) -> Option<&'static str> {
    COLORS.iter().find(|(n, _)| *n == color).map(|(_, c)| *c)
}

/// Reads what the Notion API returns, as JSON text: a block-children list response
/// (`{"object":"list","results":[…]}`), a single block, an array of blocks, or a page object with
/// a `children` tree.
pub fn read_json(input: &str) -> Result<Document, ReadError> {
    let value: Value = serde_json::from_str(input).map_err(|e| json_error(input, &e))?;
    let blocks: Vec<model::Block> = match &value {
        Value::Array(_) => from_value(input, value)?,
        Value::Object(m) => match m.get("object").and_then(Value::as_str) {
            Some("list") => {
                let results = m
                    .get("results")
                    .cloned()
                    .unwrap_or(Value::Array(Vec::new()));
                from_value(input, results)?
            }
            Some("page") => {
                let page: model::Page = from_value(input, value)?;
                return Ok(read_page(&page));
            }
            _ => vec![from_value(input, value)?],
        },
        _ => {
            return Err(ReadError::at(
                FORMAT,
                input,
                0,
                "expected a Notion block, an array of blocks, a list response or a page object",
            ));
        }
    };
    Ok(read_blocks(&blocks))
}

fn json_error(input: &str, e: &serde_json::Error) -> ReadError {
    // serde_json counts lines and columns from 1; turn them into an offset for ReadError.
    let mut offset = 0;
    for (i, line) in input.split_inclusive('\n').enumerate() {
        if i + 1 == e.line() {
            offset += line
                .char_indices()
                .nth(e.column().saturating_sub(1))
                .map_or(line.len(), |(b, _)| b);
            break;
        }
        offset += line.len();
    }
    ReadError::at(
        FORMAT,
        input,
        offset,
        format!("{e} (the input must be Notion API JSON)"),
    )
}

fn from_value<T: serde::de::DeserializeOwned>(input: &str, v: Value) -> Result<T, ReadError> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        ReadError::at(FORMAT, input, 0, format!("at `{path}`: {}", e.inner()))
    })
}

/// Reads a page: its properties (as a Page Properties table first, when it has any besides the
/// title) and its blocks.
pub fn read_page(page: &model::Page) -> Document {
    read_page_with(page, &ReadOptions::default())
}

/// Names a page or database by its id (`None`: unknown).
pub type TitleResolver<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// What the caller can tell the reader beyond the input.
#[derive(Clone, Copy, Default)]
pub struct ReadOptions<'a> {
    /// The title of a page (or database) by its id, for `link_to_page` targets the input does
    /// not name (the API gives only the id). The input's own `child_page` / `child_database`
    /// blocks and the page being read are used first. Without a title the link keeps the id,
    /// and the Markdown writer shows it as a notion.so link and reports it.
    pub page_title: Option<&'a TitleResolver<'a>>,
}

/// [`read_page`] with [`ReadOptions`].
pub fn read_page_with(page: &model::Page, opts: &ReadOptions<'_>) -> Document {
    let mut r = R::new(opts, &page.children);
    let title = page.title();
    if !title.is_empty() {
        r.titles.insert(title_key(&page.id), title);
    }
    let refs: Vec<&model::Block> = page.children.iter().collect();
    let mut doc = Document {
        blocks: r.blocks(&refs),
    };
    if let Some(props) = properties_to_ir(page) {
        doc.blocks.insert(0, Block::PageProperties(props));
    }
    doc
}

/// Reads a sequence of sibling blocks (with their children) into a document.
pub fn read_blocks(blocks: &[model::Block]) -> Document {
    read_blocks_with(blocks, &ReadOptions::default())
}

/// [`read_blocks`] with [`ReadOptions`].
pub fn read_blocks_with(blocks: &[model::Block], opts: &ReadOptions<'_>) -> Document {
    let refs: Vec<&model::Block> = blocks.iter().collect();
    Document {
        blocks: R::new(opts, blocks).blocks(&refs),
    }
}

/// A Notion id as a map key: its hex digits, lower case (ids come with and without dashes).
fn title_key(id: &str) -> String {
    id.chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The reader's state: how many container levels deep it is, and whether it is lifting (past
/// [`crate::depth::READ_DEPTH`] every block is read without its children, which follow it as
/// siblings: bounded recursion on any service input; the writers report the flattening).
struct R<'a> {
    depth: std::cell::Cell<usize>,
    flat: std::cell::Cell<bool>,
    /// Titles the input carries (child pages and databases, the page itself), by [`title_key`].
    titles: std::collections::HashMap<String, String>,
    resolve: Option<&'a TitleResolver<'a>>,
}

impl<'a> R<'a> {
    fn new(opts: &ReadOptions<'a>, blocks: &[model::Block]) -> Self {
        let mut titles = std::collections::HashMap::new();
        let mut stack: Vec<&model::Block> = blocks.iter().collect();
        while let Some(b) = stack.pop() {
            if matches!(b.kind.as_str(), "child_page" | "child_database")
                && let (Some(id), Some(t)) = (&b.id, b.data.as_ref().and_then(|d| d.title.as_ref()))
                && !t.is_empty()
            {
                titles.insert(title_key(id), t.clone());
            }
            stack.extend(b.all_children());
        }
        R {
            depth: Default::default(),
            flat: Default::default(),
            titles,
            resolve: opts.page_title,
        }
    }

    /// The title of the page or database `id`, when the input or the caller knows it.
    fn title_of(&self, id: &str) -> Option<String> {
        self.titles
            .get(&title_key(id))
            .cloned()
            .or_else(|| self.resolve.and_then(|f| f(id)))
            .filter(|t| !t.is_empty())
    }
}

fn base_attrs(b: &model::Block) -> Attrs {
    let mut a = Attrs::new();
    if let Some(id) = &b.id {
        a.insert("notion:id".into(), id.clone());
    }
    if let Some(c) = b
        .data
        .as_ref()
        .and_then(|d| d.color.as_ref())
        .filter(|c| *c != "default")
    {
        a.insert("notion:color".into(), c.to_string());
    }
    a
}

fn is_list_kind(k: &str) -> bool {
    matches!(k, "bulleted_list_item" | "numbered_list_item" | "to_do")
}

impl R<'_> {
    fn blocks(&self, blocks: &[&model::Block]) -> Vec<Block> {
        let d = self.depth.get();
        if d >= crate::depth::READ_DEPTH {
            return self.lifted(blocks);
        }
        self.depth.set(d + 1);
        let out = self.blocks_here(blocks);
        self.depth.set(d);
        out
    }

    /// A block's children, or none while lifting.
    fn kids<'b>(&self, b: &'b model::Block) -> Vec<&'b model::Block> {
        if self.flat.get() {
            Vec::new()
        } else {
            b.all_children()
        }
    }

    /// `blocks` and all their descendants as siblings, in document order, without recursion.
    fn lifted(&self, blocks: &[&model::Block]) -> Vec<Block> {
        let mut out = Vec::new();
        let mut stack: Vec<&model::Block> = blocks.iter().rev().copied().collect();
        let was = self.flat.replace(true);
        while let Some(b) = stack.pop() {
            if b.kind != "table" {
                stack.extend(b.all_children().into_iter().rev());
            }
            if matches!(b.kind.as_str(), "column_list" | "column") {
                continue;
            }
            if is_list_kind(&b.kind) && b.data.is_some() {
                out.push(self.list(&[b]));
            } else {
                self.block(b, &mut out);
            }
        }
        self.flat.set(was);
        out
    }

    fn blocks_here(&self, blocks: &[&model::Block]) -> Vec<Block> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < blocks.len() {
            let b = blocks[i];
            if is_list_kind(&b.kind) && b.data.is_some() {
                let mut j = i;
                while j < blocks.len() && blocks[j].kind == b.kind && blocks[j].data.is_some() {
                    j += 1;
                }
                out.push(self.list(&blocks[i..j]));
                i = j;
                continue;
            }
            self.block(b, &mut out);
            i += 1;
        }
        out
    }

    /// A container's blocks: its own rich text as a first `Plain` (always, so that a writer can
    /// tell it from a child paragraph), then its children.
    fn container(&self, b: &model::Block, d: &model::BlockData) -> Vec<Block> {
        let mut v = vec![Block::Plain {
            content: inlines(d.rich()),
        }];
        v.extend(self.blocks(&self.kids(b)));
        v
    }

    fn list(&self, items: &[&model::Block]) -> Block {
        let first = items[0];
        let d0 = first.data.as_ref();
        if first.kind == "to_do" {
            let items = items
                .iter()
                .map(|b| {
                    let d = b.data.clone().unwrap_or_default();
                    TaskItem {
                        done: d.checked.unwrap_or(false),
                        id: None,
                        uuid: None,
                        body: self.container(b, &d),
                        attrs: base_attrs(b),
                    }
                })
                .collect();
            return Block::TaskList {
                items,
                attrs: Attrs::new(),
            };
        }
        let ordered = first.kind == "numbered_list_item";
        let mut attrs = Attrs::new();
        if let Some(f) = d0.and_then(|d| d.list_format.as_ref()) {
            attrs.insert("notion:list_format".into(), f.clone());
        }
        let items = items
            .iter()
            .map(|b| {
                let d = b.data.clone().unwrap_or_default();
                ListItem {
                    blocks: self.container(b, &d),
                    attrs: base_attrs(b),
                }
            })
            .collect();
        Block::List(List {
            ordered,
            start: if ordered {
                d0.and_then(|d| d.list_start_index).filter(|&n| n != 1)
            } else {
                None
            },
            items,
            attrs,
        })
    }

    fn block(&self, b: &model::Block, out: &mut Vec<Block>) {
        let Some(d) = &b.data else {
            out.push(Block::Extension(extension(
                b,
                "no payload under the key named by its type",
                Vec::new(),
            )));
            return;
        };
        let mut attrs = base_attrs(b);
        let kids = || self.blocks(&self.kids(b));
        match b.kind.as_str() {
            "paragraph" => {
                out.push(Block::Paragraph {
                    content: inlines(d.rich()),
                    align: None,
                    attrs,
                });
                // Children of a paragraph are indented under it; deeper levels already carry
                // their depth from the inner paragraph.
                for mut c in kids() {
                    bump_indent(&mut c);
                    out.push(c);
                }
            }
            "heading_1" | "heading_2" | "heading_3" | "heading_4" => {
                let level = b.kind.as_bytes()[8] - b'0';
                let toggled = d.is_toggleable;
                if toggled {
                    attrs.insert("notion:toggleable".into(), "true".into());
                }
                out.push(Block::Heading {
                    level,
                    content: inlines(d.rich()),
                    align: None,
                    attrs,
                });
                let children = kids();
                if toggled && !children.is_empty() {
                    let mut a = Attrs::new();
                    a.insert("notion:block".into(), "toggle_heading".into());
                    out.push(Block::Expand(Expand {
                        title: None,
                        blocks: children,
                        params: Params::new(),
                        attrs: a,
                    }));
                } else {
                    out.extend(children);
                }
            }
            "quote" => out.push(Block::Quote {
                blocks: self.container(b, d),
                attrs,
            }),
            "callout" => {
                let icon = d.icon.as_ref().and_then(icon_text);
                let kind = icon.as_deref().map_or(CalloutKind::Panel, callout_kind);
                out.push(Block::Callout(Callout {
                    kind,
                    title: None,
                    icon,
                    blocks: self.container(b, d),
                    params: Params::new(),
                    form: CalloutForm::Macro,
                    attrs,
                }))
            }
            "toggle" => out.push(Block::Expand(Expand {
                title: Some(text::inlines_to_text(&inlines(d.rich()))),
                blocks: kids(),
                params: Params::new(),
                attrs,
            })),
            "code" => {
                let language = d.language.as_deref().and_then(ir_language);
                let caption = d.caption.as_deref().map(plain).filter(|c| !c.is_empty());
                out.push(Block::Code(Code {
                    language,
                    title: caption,
                    text: plain(d.rich()),
                    noformat: false,
                    params: Params::new(),
                    attrs,
                }))
            }
            "equation" => out.push(Block::Math(Math {
                tex: d.expression.clone().unwrap_or_default(),
                macro_name: None,
                params: Params::new(),
                attrs,
            })),
            "divider" => out.push(Block::Divider { attrs }),
            "table_of_contents" => out.push(Block::Toc(MacroInfo {
                params: Params::new(),
                attrs,
            })),
            "table" => out.push(self.table(b, d, attrs)),
            "column_list" => {
                let cells = self
                    .kids(b)
                    .into_iter()
                    .map(|c| LayoutCell {
                        blocks: self.blocks(&self.kids(c)),
                        width: c.data.as_ref().and_then(|d| d.width_ratio),
                        attrs: base_attrs(c),
                    })
                    .collect();
                out.push(Block::Layout(Layout {
                    sections: vec![LayoutSection {
                        kind: String::new(),
                        cells,
                        attrs: Attrs::new(),
                    }],
                    attrs,
                }))
            }
            "image" => {
                let (url, source) = media(d);
                attrs.insert("notion:source".into(), source);
                let caption = d.caption.as_deref().filter(|c| !c.is_empty()).map(|c| {
                    vec![Block::Paragraph {
                        content: inlines(c),
                        align: None,
                        attrs: Attrs::new(),
                    }]
                });
                out.push(Block::Image(Image {
                    source: ImageSource::Url { url },
                    alt: None,
                    width: None,
                    height: None,
                    caption,
                    caption_attrs: Attrs::new(),
                    marks: Vec::new(),
                    attrs,
                }))
            }
            "file" | "pdf" => {
                let (url, source) = media(d);
                attrs.insert("notion:source".into(), source);
                if b.kind == "pdf" {
                    attrs.insert("notion:block".into(), "pdf".into());
                }
                if let Some(n) = &d.name {
                    attrs.insert("notion:name".into(), n.clone());
                }
                out.push(Block::File(FileRef {
                    target: LinkTarget::Url { url },
                    caption: d.caption.as_deref().filter(|c| !c.is_empty()).map(inlines),
                    params: Params::new(),
                    attrs,
                }))
            }
            "video" | "audio" | "embed" | "bookmark" | "link_preview" => {
                let url = match &d.url {
                    Some(u) => u.clone(),
                    None => {
                        let (url, source) = media(d);
                        attrs.insert("notion:source".into(), source);
                        url
                    }
                };
                out.push(Block::Embed(Embed {
                    url,
                    kind: b.kind.clone(),
                    caption: d.caption.as_deref().filter(|c| !c.is_empty()).map(inlines),
                    attrs,
                }))
            }
            "child_page" | "child_database" => {
                attrs.insert("notion:block".into(), b.kind.clone());
                let target = LinkTarget::Page {
                    title: d.title.clone().filter(|t| !t.is_empty()),
                    space_key: None,
                    id: b.id.clone(),
                    attrs: Attrs::new(),
                };
                out.push(link_paragraph(target, Attrs::new(), attrs))
            }
            "link_to_page" => {
                attrs.insert("notion:block".into(), "link_to_page".into());
                let mut link_attrs = Attrs::new();
                let id = match (&d.page_id, &d.database_id) {
                    (Some(p), _) => Some(p.clone()),
                    (None, Some(db)) => {
                        link_attrs.insert("notion:target".into(), "database".into());
                        Some(db.clone())
                    }
                    (None, None) => None,
                };
                match id {
                    Some(id) => out.push(link_paragraph(
                        LinkTarget::Page {
                            title: self.title_of(&id),
                            space_key: None,
                            id: Some(id),
                            attrs: Attrs::new(),
                        },
                        link_attrs,
                        attrs,
                    )),
                    None => out.push(Block::Extension(extension(
                        b,
                        "link_to_page without a page or database",
                        Vec::new(),
                    ))),
                }
            }
            "synced_block" => {
                attrs.insert("notion:block".into(), "synced_block".into());
                let from = d
                    .synced_from
                    .as_ref()
                    .and_then(|m| m.get("block_id"))
                    .and_then(Value::as_str);
                match from {
                    None => {
                        let mut params = Params::new();
                        if let Some(id) = &b.id {
                            params.set("name", id.clone());
                        }
                        out.push(Block::Excerpt(Excerpt {
                            blocks: kids(),
                            params,
                            attrs,
                        }))
                    }
                    // A duplicate whose content was fetched (the API serves the original's
                    // children under it) keeps that content: an excerpt holding a copy, marked
                    // with its original. Without its children it stays a reference.
                    Some(orig) if !self.kids(b).is_empty() => {
                        attrs.insert("notion:synced_from".into(), orig.to_string());
                        out.push(Block::Excerpt(Excerpt {
                            blocks: kids(),
                            params: Params::new(),
                            attrs,
                        }))
                    }
                    Some(orig) => out.push(Block::Include(Include {
                        target: LinkTarget::Content {
                            id: orig.to_string(),
                            attrs: Attrs::new(),
                        },
                        excerpt: true,
                        params: Params::new(),
                        attrs,
                    })),
                }
            }
            _ => {
                let body = kids();
                out.push(Block::Extension(extension(b, "", body)))
            }
        }
    }

    fn table(&self, b: &model::Block, d: &model::BlockData, mut attrs: Attrs) -> Block {
        let col_header = d.has_column_header.unwrap_or(false);
        let row_header = d.has_row_header.unwrap_or(false);
        attrs.insert("notion:has_column_header".into(), col_header.to_string());
        attrs.insert("notion:has_row_header".into(), row_header.to_string());
        if let Some(w) = d.table_width {
            attrs.insert("notion:table_width".into(), w.to_string());
        }
        let rows = b
            .all_children()
            .into_iter()
            .enumerate()
            .map(|(ri, r)| {
                let cells = r
                    .data
                    .as_ref()
                    .and_then(|d| d.cells.clone())
                    .unwrap_or_default();
                TableRow {
                    cells: cells
                        .iter()
                        .enumerate()
                        .map(|(ci, c)| TableCell {
                            header: (col_header && ri == 0) || (row_header && ci == 0),
                            colspan: None,
                            rowspan: None,
                            blocks: if c.is_empty() {
                                Vec::new()
                            } else {
                                vec![Block::Plain {
                                    content: inlines(c),
                                }]
                            },
                            attrs: Attrs::new(),
                        })
                        .collect(),
                    section: RowSection::Body,
                    attrs: base_attrs(r),
                }
            })
            .collect();
        Block::Table(Table {
            columns: None,
            rows,
            attrs,
        })
    }
}

fn link_paragraph(target: LinkTarget, link_attrs: Attrs, attrs: Attrs) -> Block {
    Block::Paragraph {
        content: vec![Inline::link(Link {
            target,
            anchor: None,
            content: Vec::new(),
            plain_body: false,
            attrs: link_attrs,
        })],
        align: None,
        attrs,
    }
}

/// Adds one level to a block's `notion:indent`.
fn bump_indent(b: &mut Block) {
    if let Some(a) = attrs_mut(b) {
        let n = a
            .get("notion:indent")
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0);
        a.insert("notion:indent".into(), (n + 1).to_string());
    }
}

fn attrs_mut(b: &mut Block) -> Option<&mut Attrs> {
    Some(match b {
        Block::Paragraph { attrs, .. }
        | Block::Heading { attrs, .. }
        | Block::Quote { attrs, .. } => attrs,
        Block::TaskList { attrs, .. } | Block::Divider { attrs } => attrs,
        Block::List(l) => &mut l.attrs,
        Block::Callout(c) => &mut c.attrs,
        Block::Code(c) => &mut c.attrs,
        Block::Math(m) => &mut m.attrs,
        Block::Table(t) => &mut t.attrs,
        Block::Layout(l) => &mut l.attrs,
        Block::Expand(e) => &mut e.attrs,
        Block::Image(i) => &mut i.attrs,
        Block::File(f) => &mut f.attrs,
        Block::Embed(e) => &mut e.attrs,
        Block::Toc(m) | Block::PagePropertiesReport(m) => &mut m.attrs,
        Block::ChildPages(c) => &mut c.attrs,
        Block::Excerpt(e) => &mut e.attrs,
        Block::Include(i) => &mut i.attrs,
        Block::PageProperties(p) => &mut p.attrs,
        Block::Extension(e) => &mut e.attrs,
        Block::Plain { .. } => return None,
    })
}

/// A block the IR does not model, kept whole (its JSON without children) with its children read.
fn extension(b: &model::Block, note: &str, body: Vec<Block>) -> Extension {
    let mut shallow = b.clone();
    shallow.children.clear();
    if let Some(d) = &mut shallow.data {
        d.children = None;
        d.columns = None;
        d.table_rows = None;
    }
    let name = match (
        &b.kind[..],
        b.data.as_ref().and_then(|d| d.block_type.as_ref()),
    ) {
        ("unsupported", Some(t)) => format!("unsupported:{t}"),
        (k, _) => k.to_string(),
    };
    let mut attrs = base_attrs(b);
    if !note.is_empty() {
        attrs.insert("notion:problem".into(), note.into());
    }
    let text = b
        .data
        .as_ref()
        .map(|d| plain(d.rich()))
        .filter(|t| !t.is_empty());
    Extension {
        format: FORMAT.into(),
        kind: "block".into(),
        name,
        params: Params::new(),
        body,
        text,
        source: serde_json::to_string(&shallow).ok(),
        attrs,
    }
}

fn source_kind(s: &FileSource) -> &'static str {
    match s {
        FileSource::File { .. } => "file",
        FileSource::External { .. } => "external",
        FileSource::FileUpload { .. } => "file_upload",
    }
}

/// URL and source kind of a media block.
fn media(d: &model::BlockData) -> (String, String) {
    match d.source() {
        Some(FileSource::FileUpload { file_upload }) => (
            format!("file_upload:{}", file_upload.id),
            "file_upload".into(),
        ),
        Some(s) => (
            s.url().unwrap_or_default().to_string(),
            source_kind(&s).into(),
        ),
        None => (d.url.clone().unwrap_or_default(), "external".into()),
    }
}

fn icon_text(i: &Icon) -> Option<String> {
    match i {
        Icon::Emoji { emoji } => Some(emoji.clone()),
        Icon::External { external } => Some(external.url.clone()),
        Icon::File { file } => Some(file.url.clone()),
        Icon::CustomEmoji { custom_emoji } => custom_emoji
            .get("name")
            .and_then(Value::as_str)
            .map(|n| format!(":{n}:")),
        Icon::Other(_) => None,
    }
}

/// The Confluence-like panel kind a callout's icon suggests.
fn callout_kind(icon: &str) -> CalloutKind {
    match icon.trim_end_matches('\u{fe0f}') {
        "ℹ" | "💬" => CalloutKind::Info,
        "💡" => CalloutKind::Tip,
        "⚠" | "🚧" => CalloutKind::Warning,
        "❗" | "🚨" | "⛔" | "❌" | "🛑" => CalloutKind::Error,
        "✅" | "✔" => CalloutKind::Success,
        "📝" | "🗒" | "📌" => CalloutKind::Note,
        _ => CalloutKind::Panel,
    }
}

/// Notion code language → the IR's (Confluence-style) name.
fn ir_language(l: &str) -> Option<String> {
    Some(
        match l {
            "plain text" | "" => return None,
            "c++" => "cpp",
            "c#" => "csharp",
            "f#" => "fsharp",
            "objective-c" => "objc",
            other => other,
        }
        .to_string(),
    )
}

fn plain(r: &[RichText]) -> String {
    r.iter().map(RichText::plain).collect()
}

// ------------------------------------------------------------------------- rich text

/// One run, with its wrappers from the outside in.
struct Run {
    wrappers: Vec<Wrapper>,
    leaf: Inline,
}

#[derive(Clone, PartialEq)]
enum Wrapper {
    Link(LinkTarget, Option<String>),
    Color(String),
    Mark(Mark),
}

fn wrappers(a: &Annotations, link: Option<(LinkTarget, Option<String>)>) -> Vec<Wrapper> {
    let mut w = Vec::new();
    if let Some((t, anchor)) = link {
        w.push(Wrapper::Link(t, anchor));
    }
    if a.color != "default" && !a.color.is_empty() {
        w.push(Wrapper::Color(a.color.to_string()));
    }
    for (on, m) in [
        (a.bold, Mark::Strong),
        (a.italic, Mark::Emphasis),
        (a.strikethrough, Mark::Strike),
        (a.underline, Mark::Underline),
        (a.code, Mark::Code),
    ] {
        if on {
            w.push(Wrapper::Mark(m));
        }
    }
    w
}

/// A link URL in rich text: Notion's internal page links (`/<id>`, `/<id>#<block>`) become page
/// targets.
fn link_target(url: &str) -> (LinkTarget, Option<String>) {
    if let Some(rest) = url.strip_prefix('/') {
        let (id, anchor) = match rest.split_once('#') {
            Some((i, a)) => (i, Some(a.to_string())),
            None => (rest, None),
        };
        if super::is_notion_id(id) {
            return (
                LinkTarget::Page {
                    title: None,
                    space_key: None,
                    id: Some(id.to_string()),
                    attrs: Attrs::new(),
                },
                anchor,
            );
        }
    }
    (
        LinkTarget::Url {
            url: url.to_string(),
        },
        None,
    )
}

fn run(r: &RichText) -> Run {
    let plain_text = r.plain_text.clone().unwrap_or_default();
    match &r.kind {
        RichTextKind::Text { text } => {
            let link = text.link.as_ref().map(|l| link_target(&l.url));
            Run {
                wrappers: wrappers(&r.annotations, link),
                leaf: Inline::text(text.content.clone()),
            }
        }
        RichTextKind::Equation { equation } => Run {
            wrappers: wrappers(&r.annotations, None),
            leaf: Inline::math(Math {
                tex: equation.expression.clone(),
                macro_name: None,
                params: Params::new(),
                attrs: Attrs::new(),
            }),
        },
        RichTextKind::Mention { mention } => Run {
            wrappers: wrappers(&r.annotations, None),
            leaf: mention_inline(mention, &plain_text),
        },
        RichTextKind::Other(m) => Run {
            wrappers: Vec::new(),
            leaf: Inline::extension(Extension {
                format: FORMAT.into(),
                kind: "rich_text".into(),
                name: m
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_string(),
                params: Params::new(),
                body: Vec::new(),
                text: Some(plain_text),
                source: serde_json::to_string(m).ok(),
                attrs: Attrs::new(),
            }),
        },
    }
}

fn str_of<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str)
}

fn mention_inline(m: &Mention, plain_text: &str) -> Inline {
    let mut attrs = Attrs::new();
    let page = |id: &str, kind: &str| {
        let mut a = Attrs::new();
        a.insert("notion:mention".into(), kind.into());
        let title = Some(plain_text.to_string()).filter(|t| !t.is_empty() && t != "Untitled");
        Inline::link(Link {
            target: LinkTarget::Page {
                title,
                space_key: None,
                id: Some(id.to_string()),
                attrs: Attrs::new(),
            },
            anchor: None,
            content: Vec::new(),
            plain_body: false,
            attrs: a,
        })
    };
    match m {
        Mention::User { user } => {
            let name = user
                .name
                .as_deref()
                .unwrap_or(plain_text)
                .trim_start_matches('@');
            user_link(&user.id, Some(name))
        }
        Mention::Page { page: p } => page(&p.id, "page"),
        Mention::Database { database } => page(&database.id, "database"),
        Mention::Date { date } => {
            if let Some(e) = &date.end {
                attrs.insert("notion:end".into(), e.clone());
            }
            if let Some(z) = &date.time_zone {
                attrs.insert("notion:time_zone".into(), z.clone());
            }
            Inline::Date {
                date: date.start.clone(),
                attrs,
            }
        }
        Mention::LinkPreview { link_preview: lp } | Mention::LinkMention { link_mention: lp } => {
            let kind = if matches!(m, Mention::LinkPreview { .. }) {
                "link_preview"
            } else {
                "link_mention"
            };
            attrs.insert("notion:mention".into(), kind.into());
            let url = str_of(lp, "url")
                .or_else(|| str_of(lp, "href"))
                .unwrap_or_default()
                .to_string();
            let content = if plain_text.is_empty() {
                Vec::new()
            } else {
                vec![Inline::text(plain_text)]
            };
            Inline::link(Link {
                target: LinkTarget::Url { url },
                anchor: None,
                content,
                plain_body: false,
                attrs,
            })
        }
        Mention::TemplateMention {
            template_mention: t,
        } => {
            attrs.insert("notion:mention".into(), "template_mention".into());
            let value = str_of(t, "template_mention_date")
                .or_else(|| str_of(t, "template_mention_user"))
                .unwrap_or("");
            attrs.insert("notion:template".into(), value.into());
            Inline::Placeholder {
                text: plain_text.to_string(),
                attrs,
            }
        }
        Mention::CustomEmoji { custom_emoji: e } => {
            if let Some(u) = str_of(e, "url") {
                attrs.insert("notion:url".into(), u.into());
            }
            Inline::emoji(Emoji {
                text: None,
                shortname: str_of(e, "name").map(|n| format!(":{n}:")),
                name: None,
                id: str_of(e, "id").map(str::to_string),
                attrs,
            })
        }
        Mention::Other(o) => Inline::extension(Extension {
            format: FORMAT.into(),
            kind: "mention".into(),
            name: str_of(o, "type").unwrap_or("unknown").to_string(),
            params: Params::new(),
            body: Vec::new(),
            text: Some(plain_text.to_string()),
            source: serde_json::to_string(o).ok(),
            attrs,
        }),
    }
}

/// Rich text → inline tree.
pub(crate) fn inlines(rich: &[RichText]) -> Vec<Inline> {
    let runs: Vec<Run> = rich.iter().map(run).collect();
    build(runs, 0)
}

/// Builds the inline tree from runs, grouping consecutive runs by their wrapper at `depth`.
fn build(runs: Vec<Run>, depth: usize) -> Vec<Inline> {
    let mut out: Vec<Inline> = Vec::new();
    let mut it = runs.into_iter().peekable();
    while let Some(r) = it.next() {
        let Some(w) = r.wrappers.get(depth).cloned() else {
            push_leaf(&mut out, r.leaf);
            continue;
        };
        let mut group = vec![r];
        while let Some(n) = it.peek() {
            if n.wrappers.get(depth) == Some(&w) {
                group.push(it.next().expect("peeked"));
            } else {
                break;
            }
        }
        let content = build(group, depth + 1);
        out.push(match w {
            Wrapper::Link(target, anchor) => Inline::link(Link {
                target,
                anchor,
                content,
                plain_body: false,
                attrs: Attrs::new(),
            }),
            Wrapper::Color(c) => {
                let mut style = SpanStyle::default();
                match c.strip_suffix("_background") {
                    Some(_) => style.background = css(&c).map(str::to_string),
                    None => style.color = css(&c).map(str::to_string),
                }
                let mut attrs = Attrs::new();
                attrs.insert("notion:color".into(), c);
                Inline::Span {
                    style: Box::new(style),
                    content,
                    attrs,
                }
            }
            Wrapper::Mark(m) => Inline::mark(m, content),
        });
    }
    out
}

fn push_leaf(out: &mut Vec<Inline>, leaf: Inline) {
    match (out.last_mut(), leaf) {
        (_, Inline::Text { text }) if text.is_empty() => {}
        (Some(Inline::Text { text: prev }), Inline::Text { text }) => prev.push_str(&text),
        (_, leaf) => out.push(leaf),
    }
}

// ------------------------------------------------------------------------- properties

/// A page's properties (other than its title) as a Page Properties table, in the page's order.
/// Relations become links to the related pages; formulas and rollups their computed values.
pub fn properties_to_ir(page: &model::Page) -> Option<PageProperties> {
    if page.properties.iter().all(|(_, p)| p.kind == "title") {
        return None;
    }
    // The title property first (as Notion shows it), then the others in their order.
    let title = page.properties.iter().filter(|(_, p)| p.kind == "title");
    let rest = page.properties.iter().filter(|(_, p)| p.kind != "title");
    let rows: Vec<(String, Vec<Block>)> = title
        .chain(rest)
        .map(|(name, p)| {
            let content = property_inlines(p);
            let blocks = if content.is_empty() {
                Vec::new()
            } else {
                vec![Block::Plain { content }]
            };
            (name.clone(), blocks)
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut pp = PageProperties::from_rows(rows);
    pp.attrs.insert("notion:page".into(), page.id.clone());
    Some(pp)
}

fn rich_of(v: &Value) -> Vec<RichText> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn sep(out: &mut Vec<Inline>) {
    if !out.is_empty() {
        out.push(Inline::text(", "));
    }
}

/// A link to a Notion user, keeping the name Notion showed (`notion:name`).
fn user_link(id: &str, name: Option<&str>) -> Inline {
    let mut link = Link::new(LinkTarget::user(id));
    if let Some(n) = name.filter(|n| !n.is_empty()) {
        link.attrs.insert("notion:name".into(), n.into());
    }
    Inline::link(link)
}

/// A user object of a `people`/`created_by` property value.
fn user_value(u: &Value) -> Inline {
    let id = u.get("id").and_then(Value::as_str).unwrap_or_default();
    user_link(id, u.get("name").and_then(Value::as_str))
}

fn date_inlines(v: &Value) -> Vec<Inline> {
    let Ok(d) = serde_json::from_value::<model::DateValue>(v.clone()) else {
        return Vec::new();
    };
    let mut out = vec![Inline::Date {
        date: d.start,
        attrs: Attrs::new(),
    }];
    if let Some(e) = d.end {
        out.push(Inline::text(" → "));
        out.push(Inline::Date {
            date: e,
            attrs: Attrs::new(),
        });
    }
    out
}

fn number_text(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn option_status(o: &Value) -> Option<Inline> {
    let name = o.get("name")?.as_str()?.to_string();
    let colour = o.get("color").and_then(Value::as_str).map(|c| {
        match c {
            "red" | "pink" | "orange" => "Red",
            "yellow" | "brown" => "Yellow",
            "green" => "Green",
            "blue" => "Blue",
            "purple" => "Purple",
            _ => "Grey",
        }
        .to_string()
    });
    Some(Inline::status(Status {
        text: name,
        colour,
        params: Params::new(),
        attrs: Attrs::new(),
    }))
}

/// The value of one property as inline content.
fn property_inlines(p: &model::PropertyValue) -> Vec<Inline> {
    let Some(v) = p.value() else {
        return Vec::new();
    };
    value_inlines(&p.kind, v)
}

fn value_inlines(kind: &str, v: &Value) -> Vec<Inline> {
    let mut out = Vec::new();
    match kind {
        "title" | "rich_text" => out = inlines(&rich_of(v)),
        "number" => {
            let t = number_text(v);
            if !t.is_empty() {
                out.push(Inline::text(t));
            }
        }
        "select" | "status" => out.extend(option_status(v)),
        "multi_select" => {
            for o in v.as_array().into_iter().flatten() {
                if let Some(s) = option_status(o) {
                    sep(&mut out);
                    out.push(s);
                }
            }
        }
        "date" => out = date_inlines(v),
        "people" => {
            for u in v.as_array().into_iter().flatten() {
                sep(&mut out);
                out.push(user_value(u));
            }
        }
        "created_by" | "last_edited_by" => out.push(user_value(v)),
        "files" => {
            for f in v.as_array().into_iter().flatten() {
                let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
                let url = f
                    .get("file")
                    .or_else(|| f.get("external"))
                    .and_then(|x| x.get("url"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                // A Notion-hosted file says so (its URL expires), like file blocks do.
                let mut attrs = Attrs::new();
                if f.get("file").is_some() {
                    attrs.insert("notion:source".into(), "file".into());
                    if !name.is_empty() {
                        attrs.insert("notion:name".into(), name.to_string());
                    }
                }
                sep(&mut out);
                out.push(Inline::link(Link {
                    target: LinkTarget::Url {
                        url: url.to_string(),
                    },
                    anchor: None,
                    content: vec![Inline::text(name)],
                    plain_body: false,
                    attrs,
                }));
            }
        }
        "checkbox" => out.push(Inline::text(if v.as_bool() == Some(true) {
            "Yes"
        } else {
            "No"
        })),
        "url" => {
            if let Some(u) = v.as_str() {
                out.push(Inline::link(Link {
                    target: LinkTarget::url(u),
                    anchor: None,
                    content: vec![Inline::text(u)],
                    plain_body: false,
                    attrs: Attrs::new(),
                }));
            }
        }
        "email" => {
            if let Some(e) = v.as_str() {
                out.push(Inline::link(Link {
                    target: LinkTarget::url(format!("mailto:{e}")),
                    anchor: None,
                    content: vec![Inline::text(e)],
                    plain_body: false,
                    attrs: Attrs::new(),
                }));
            }
        }
        "phone_number" => {
            if let Some(t) = v.as_str() {
                out.push(Inline::text(t));
            }
        }
        "created_time" | "last_edited_time" => {
            if let Some(t) = v.as_str() {
                out.push(Inline::Date {
                    date: t.to_string(),
                    attrs: Attrs::new(),
                });
            }
        }
        "formula" => {
            let t = v.get("type").and_then(Value::as_str).unwrap_or("");
            match (t, v.get(t)) {
                ("string", Some(Value::String(s))) => out.push(Inline::text(s.clone())),
                ("number", Some(n)) => out.push(Inline::text(number_text(n))),
                ("boolean", Some(b)) => out.push(Inline::text(if b.as_bool() == Some(true) {
                    "Yes"
                } else {
                    "No"
                })),
                ("date", Some(d)) => out = date_inlines(d),
                _ => {}
            }
        }
        "relation" => {
            for r in v.as_array().into_iter().flatten() {
                if let Some(id) = r.get("id").and_then(Value::as_str) {
                    sep(&mut out);
                    let mut a = Attrs::new();
                    a.insert("notion:mention".into(), "page".into());
                    out.push(Inline::link(Link {
                        target: LinkTarget::Page {
                            title: None,
                            space_key: None,
                            id: Some(id.to_string()),
                            attrs: Attrs::new(),
                        },
                        anchor: None,
                        content: Vec::new(),
                        plain_body: false,
                        attrs: a,
                    }));
                }
            }
        }
        "rollup" => {
            let t = v.get("type").and_then(Value::as_str).unwrap_or("");
            match (t, v.get(t)) {
                ("number", Some(n)) => out.push(Inline::text(number_text(n))),
                ("date", Some(d)) => out = date_inlines(d),
                ("array", Some(Value::Array(items))) => {
                    for item in items {
                        let Some(k) = item.get("type").and_then(Value::as_str) else {
                            continue;
                        };
                        if let Some(x) = item.get(k) {
                            let part = value_inlines(k, x);
                            if !part.is_empty() {
                                sep(&mut out);
                                out.extend(part);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        "unique_id" => {
            let n = v.get("number").map(number_text).unwrap_or_default();
            let t = match v.get("prefix").and_then(Value::as_str) {
                Some(p) => format!("{p}-{n}"),
                None => n,
            };
            if !t.is_empty() {
                out.push(Inline::text(t));
            }
        }
        "verification" => {
            if let Some(s) = v.get("state").and_then(Value::as_str) {
                out.push(Inline::text(s));
            }
        }
        "place" => {
            let t = v
                .get("name")
                .or_else(|| v.get("address"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| Some(format!("{}, {}", v.get("lat")?, v.get("lon")?)));
            if let Some(t) = t {
                out.push(Inline::text(t));
            }
        }
        _ => {}
    }
    out
}

/// The label a database's rows carry in Confluence, which its Page Properties Report lists: the
/// title in lower case, runs of other characters than letters and digits as one `-`
/// (`notion-database` for an untitled one).
pub fn database_label(db: &model::Database) -> String {
    let label = plain(&db.title)
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if label.is_empty() {
        "notion-database".into()
    } else {
        label
    }
}

/// A database's schema as a Page Properties Report for the database's parent page: it lists the
/// pages labelled after the database, with the schema's property names as columns.
pub fn database_report(db: &model::Database) -> Block {
    let mut params = Params::new();
    params.set("cql", format!("label = \"{}\"", database_label(db)));
    let headings: Vec<&str> = db
        .properties
        .iter()
        .filter(|(_, cfg)| cfg.get("type").and_then(Value::as_str) != Some("title"))
        .map(|(name, _)| name.as_str())
        .collect();
    if !headings.is_empty() {
        params.set("headings", headings.join(","));
    }
    let mut attrs = Attrs::new();
    attrs.insert("notion:database".into(), db.id.clone());
    Block::PagePropertiesReport(MacroInfo { params, attrs })
}
