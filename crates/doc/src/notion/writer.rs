//! IR → Notion: block payloads shaped to Notion's request limits, as an ordered **append plan**.
//!
//! Writing happens in two stages, each public so that callers and tests can look in between:
//!
//! 1. [`blocks`] maps the document to the Notion block tree kbridge intends to create
//!    ([`model::Block`]s with their children in `children`, the shape [`super::read_blocks`]
//!    reads). Every *per-block* limit is met here: text runs of at most [`MAX_TEXT`] UTF-16 code
//!    units, rich-text arrays of at most [`MAX_RICH_TEXT`] items (and at most 150 KB of JSON),
//!    link URLs of at most [`MAX_URL`] characters, equations of at most [`MAX_EQUATION`],
//!    creation rules (a table is created with its rows, a column list with two or more columns
//!    that each hold a first block).
//! 2. [`chunk`] cuts that tree into requests: at most [`MAX_CHILDREN`] children per array, at
//!    most [`MAX_NESTING`] levels of nesting below a request's top-level blocks, at most
//!    [`MAX_BLOCKS`] blocks and [`PAYLOAD_BUDGET`] bytes of JSON per request (Notion's cap is
//!    [`MAX_PAYLOAD_BYTES`]; the difference leaves room for the page's `parent`/`properties` in a
//!    `POST /v1/pages`). Children that do not fit go into follow-up requests that append to a
//!    block created by an earlier request ([`BlockRef::Created`]).
//!
//! [`plan`] does both and adds what the caller must do besides executing the requests
//! ([`AppendPlan::attachments`] to upload, [`AppendPlan::subpages`] to create) and the
//! [`Fallback`]s. [`write_report`] is the `kbridge convert --to notion` entry point.
//!
//! ## Counting and splitting
//!
//! Notion measures strings as JavaScript does, in UTF-16 code units, so kbridge counts the same
//! way (an emoji outside the BMP counts 2; a code point never counts less than 1, so the limits
//! also hold for any count by characters). A text run longer than [`MAX_TEXT`] is split into
//! runs with the same annotations and link, always on a character boundary and, when possible
//! within 16 characters of the limit, not before a combining mark, variation selector, emoji
//! modifier or zero-width joiner (nor after a joiner), so emoji sequences stay whole. Adjacent
//! runs with identical annotations and link are merged before any splitting. A rich-text array
//! that still has more than [`MAX_RICH_TEXT`] items (or more than 150 KB of JSON) continues in
//! further blocks: paragraphs after a paragraph or heading, paragraphs as the first children of
//! a list item, to-do, toggle, quote, callout or toggleable heading, further code blocks after a
//! code block. Table cells and captions cannot continue: their text is cut (reported).
//!
//! ## The mapping
//!
//! **Exact** (Notion → IR → Notion gives the same blocks): paragraph (colour; children from
//! blocks marked `notion:indent`), heading 1–4 (colour, toggleable with the children of the
//! following `toggle_heading` expand), bulleted/numbered lists (`list_start_index`,
//! `list_format`), to-do, quote, callout with an emoji or URL icon and colour, toggle (title
//! text), code (language, caption), equation, divider, table of contents, table (header row and
//! column), column list (width ratios; up to [`MAX_COLUMNS`] columns), image/file/pdf/video/audio/embed/bookmark with external
//! or `file_upload` sources, link to page (page or database), synced block (original and
//! duplicate), breadcrumb/template/tab re-emitted from their source, rich text with all
//! annotations, text and background colours, links (URLs and `/<id>` page links), page, database,
//! user, date, template and custom-emoji mentions, inline equations.
//!
//! **Approximate** (kept, with the change named; not reported unless said): a callout without
//! icon gets its kind's emoji and colour (info ℹ️ blue, note 📝 grey, tip 💡 grey, warning ⚠️
//! yellow, error ❗ red, success ✅ green; a panel's `bgColor` gives the nearest background);
//! several paragraphs in a table cell become lines of one cell; a column with no block gets an
//! empty paragraph; image sizes and alt text are not kept; Confluence code languages get their
//! Notion names (`cpp` → `c++`, `js` → `javascript`…); Confluence sidebar layouts give width
//! ratios; Notion-hosted files (expiring URLs) are uploaded again
//! ([`AppendPlan::attachments`]); CSS colours become the nearest Notion colour (reported once:
//! `span:color`), and a span with both a colour and a background keeps the colour (reported once:
//! `span:background`); a toggle's title is plain text.
//!
//! **Fallback** (reported, readable stand-in): headings 5–6 (`heading_4`), a callout's title (a
//! bold first line), paragraph and heading alignment (dropped), table-cell spans (empty cells
//! beside the spanning cell), non-text table-cell content (its plain text), a layout with more
//! than [`MAX_COLUMNS`] cells (the rest merged into the last column), nested layouts (cells one
//! after the other), a column whose first block is a table or too big (an empty paragraph before
//! it), a table of contents' parameters (dropped), subscript/superscript/small/big/inline-comment
//! marks (their text, reported once each), anchors (nothing, once), statuses (`[TEXT]` on the
//! status colour), Jira macros (the key as text), placeholders (italic grey text), emoji without
//! a character (`:shortname:`), dates that are not ISO 8601 (text), links to pages without a
//! Notion id, to attachments, blog posts, spaces, content, shortcuts, same-page anchors, users
//! without a Notion id, or to relative or over-long URLs (their text), link previews and link
//! mentions (a text link / a bookmark), inline images (an image block after the paragraph; their
//! text in cells and captions), unknown code languages (`plain text`), over-long equations
//! (LaTeX code, code text inline), text over 100 rich-text items (continued in further blocks,
//! `<node>:long_text`), cut cell and caption text, child pages and child databases (not created
//! by append: listed in [`AppendPlan::subpages`]), Confluence excerpts (their content), includes
//! and `children` macros (a note or link paragraph), Page Properties (their table; the engine
//! sets the page's properties), Page Properties Reports (a link to the database when known,
//! else a note), Notion blocks the API cannot create (`unsupported`, `meeting_notes`…: their
//! text and children), other formats' extensions (a `code` block captioned `confluence macro:
//! NAME` holding its text, else its content, else a code block of its source).
//!
//! Ids are symbolic and never invented: page and user links need Notion ids (the engine maps
//! Confluence ids first); `notion:id` attributes are not written.
//!
//! Nothing here panics on any IR: nesting deeper than 40 blocks (or 64 inline levels) is written
//! as text.

use std::collections::{HashSet, VecDeque};

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::is_notion_id;
use super::model::{
    self, Annotations, BlockData, COLOR_NAMES, DateValue, ExternalFile, Icon, IdRef, Mention,
    RareData, RichText, RichTextKind, TextContent,
};
use crate::ir::{self, Attrs, Document, Inline, LinkTarget, Mark};
use crate::report::{Fallback, Written};
use crate::text;

type NBlock = model::Block;

/// Most UTF-16 code units in one `text.content` (Notion: 2000 characters, counted as JS does).
pub const MAX_TEXT: usize = 2000;
/// Most UTF-16 code units in a link URL (`text.link.url`) and any other URL.
pub const MAX_URL: usize = 2000;
/// Most UTF-16 code units in an `equation.expression`.
pub const MAX_EQUATION: usize = 1000;
/// Most items in any rich-text array.
pub const MAX_RICH_TEXT: usize = 100;
/// Most blocks in any `children` array of a request.
pub const MAX_CHILDREN: usize = 100;
/// Most levels of nesting below a request's top-level blocks (top-level → children →
/// grandchildren, and no deeper).
pub const MAX_NESTING: usize = 2;
/// Most blocks (at every level) in one request.
pub const MAX_BLOCKS: usize = 1000;
/// Notion's cap on a request body, in bytes of JSON.
pub const MAX_PAYLOAD_BYTES: usize = 500_000;
/// What kbridge puts in one request body at most (compact JSON, bytes): 50 KB under
/// [`MAX_PAYLOAD_BYTES`], for the `parent`, `properties`, `icon` and `cover` a caller adds to a
/// `POST /v1/pages`.
pub const PAYLOAD_BUDGET: usize = 450_000;
/// Most columns kbridge puts in a column list; the cells past it go into the last column.
///
/// Notion documents no limit, and a real page of the corpus has eight columns: this is a
/// readability choice (Confluence layouts have at most five cells), not an API limit.
pub const MAX_COLUMNS: usize = 5;

/// JSON bytes of one block's rich-text array before it continues in another block.
const RICH_TEXT_BYTES: usize = 150_000;
/// JSON bytes of a caption (cut beyond).
const CAPTION_BYTES: usize = 20_000;
/// JSON bytes of one table row's cells (cut beyond).
const ROW_BYTES: usize = 150_000;
/// A column's first block is created with its column list: when larger than this it gets an
/// empty paragraph before it, so that five columns always fit in one request.
const COLUMN_FIRST_BYTES: usize = 60_000;
/// Block nesting written structurally; deeper content becomes text. A backstop only: every
/// document goes through [`crate::depth::limit`] first, which keeps it within the policy.
const MAX_DEPTH: usize = 2 * crate::depth::MAX_BLOCK_DEPTH;
/// Inline nesting flattened structurally; deeper content becomes text (backstop, as above).
const MAX_INLINE_DEPTH: usize = 2 * crate::depth::MAX_INLINE_DEPTH;
/// Widest `colspan` expanded into empty cells.
const MAX_COLSPAN: u32 = 64;
/// Bytes charged for adding a child to a block in a request: `,"children":[` + `]`, or a comma.
const CHILD_OVERHEAD: usize = 15;
/// `{"children":[` + `]}`.
const BODY_OVERHEAD: usize = 14;

/// Block types `PATCH /v1/blocks/{id}/children` can create (SDK `BlockObjectRequest`).
const CREATABLE: &[&str] = &[
    "audio",
    "bookmark",
    "breadcrumb",
    "bulleted_list_item",
    "callout",
    "code",
    "column_list",
    "column",
    "divider",
    "embed",
    "equation",
    "file",
    "heading_1",
    "heading_2",
    "heading_3",
    "heading_4",
    "image",
    "link_to_page",
    "numbered_list_item",
    "paragraph",
    "pdf",
    "quote",
    "synced_block",
    "tab",
    "table",
    "table_row",
    "table_of_contents",
    "template",
    "to_do",
    "toggle",
    "video",
];

/// Notion's code languages (SDK `LanguageRequest`).
const LANGUAGES: &[&str] = &[
    "abap",
    "abc",
    "agda",
    "arduino",
    "ascii art",
    "assembly",
    "bash",
    "basic",
    "bnf",
    "c",
    "c#",
    "c++",
    "clojure",
    "coffeescript",
    "coq",
    "css",
    "dart",
    "dhall",
    "diff",
    "docker",
    "ebnf",
    "elixir",
    "elm",
    "erlang",
    "f#",
    "flow",
    "fortran",
    "gherkin",
    "glsl",
    "go",
    "graphql",
    "groovy",
    "haskell",
    "hcl",
    "html",
    "idris",
    "java",
    "javascript",
    "json",
    "julia",
    "kotlin",
    "latex",
    "less",
    "lisp",
    "livescript",
    "llvm ir",
    "lua",
    "makefile",
    "markdown",
    "markup",
    "matlab",
    "mathematica",
    "mermaid",
    "nix",
    "notion formula",
    "objective-c",
    "ocaml",
    "pascal",
    "perl",
    "php",
    "plain text",
    "powershell",
    "prolog",
    "protobuf",
    "purescript",
    "python",
    "r",
    "racket",
    "reason",
    "ruby",
    "rust",
    "sass",
    "scala",
    "scheme",
    "scss",
    "shell",
    "smalltalk",
    "solidity",
    "sql",
    "swift",
    "toml",
    "typescript",
    "vb.net",
    "verilog",
    "vhdl",
    "visual basic",
    "webassembly",
    "xml",
    "yaml",
    "java/c/c++/c#",
];

// ============================================================================== public types

/// Where the plan's top-level blocks go. Serialized like Notion's `parent` objects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlanParent {
    /// Append to an existing page (or any block that takes children):
    /// `PATCH /v1/blocks/{page_id}/children`.
    PageId { page_id: String },
    /// The first request creates the page: `POST /v1/pages` whose body holds the first
    /// `children`; the caller adds `parent` and `properties` (title) to that body.
    NewPage,
}

/// The block a request appends to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockRef {
    /// The plan's parent: the given page, or the page created by request 0.
    Parent,
    /// A block created by an earlier request: `path[0]` indexes that request's `children` (the
    /// id is `results[path[0]].id` of its response); each further index picks a child of the
    /// block before, in the order the request nested them (the client lists that block's
    /// children, `GET /v1/blocks/{id}/children`, to learn the id).
    Created { request: usize, path: Vec<usize> },
}

/// One request of an [`AppendPlan`]. Serialized as
/// `{"method", "path", "target", "body": {"children": [request-shaped blocks]}}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Where `children` go.
    pub target: BlockRef,
    /// True for the `POST /v1/pages` that creates the page ([`PlanParent::NewPage`], request 0).
    pub create_page: bool,
    /// The endpoint: `/v1/pages`, `/v1/blocks/<page id>/children`, or
    /// `/v1/blocks/{id}/children` where `{id}` is the id `target` resolves to.
    pub path: String,
    /// The blocks created, each with the children created with it (in `children`; in the
    /// request JSON they sit inside the type object, see [`request_block`]).
    pub children: Vec<NBlock>,
}

impl Request {
    /// `POST` (create the page) or `PATCH` (append children).
    pub fn method(&self) -> &'static str {
        if self.create_page { "POST" } else { "PATCH" }
    }

    /// The request body: `{"children": [...]}`.
    pub fn body(&self) -> Value {
        serde_json::to_value(Body(&self.children)).unwrap_or(Value::Null)
    }
}

impl Serialize for Request {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("method", self.method())?;
        m.serialize_entry("path", &self.path)?;
        m.serialize_entry("target", &self.target)?;
        m.serialize_entry("body", &Body(&self.children))?;
        m.end()
    }
}

/// A file the caller uploads (`POST /v1/file_uploads`…) before executing the plan, then writes
/// the upload's id wherever a block's `file_upload.id` equals `placeholder`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attachment {
    /// The stand-in id in the requests: `kbridge-attachment:<file name>` (prefixed with the
    /// container's name and a slash when the file is on another page) or `kbridge-url:<url>`.
    pub placeholder: String,
    /// Where the bytes come from.
    pub source: AttachmentSource,
}

/// Where an [`Attachment`]'s bytes come from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttachmentSource {
    /// A Confluence attachment: of this page, or of `container`.
    Attachment {
        filename: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        container: Option<LinkTarget>,
    },
    /// A Notion-hosted file (its URL expires within the hour): download and upload again.
    Url { url: String },
}

/// A child page or database the document shows, which append cannot create: the caller creates
/// it (`POST /v1/pages`, `POST /v1/databases`) under the page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Subpage {
    /// `page` or `database`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The id it had where it was read (a Notion id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The blocks kbridge intends to create for a document ([`blocks`]), before request shaping.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NotionBlocks {
    /// Top-level blocks, children in `children` (the fetched-tree shape the reader reads).
    pub blocks: Vec<NBlock>,
    pub attachments: Vec<Attachment>,
    pub subpages: Vec<Subpage>,
    pub fallbacks: Vec<Fallback>,
}

/// An ordered list of requests that creates a document in Notion, and what the caller must do
/// besides. Execute the requests in order; a request's [`BlockRef::Created`] target always
/// refers to an earlier request. Serialized (`kbridge convert --to notion`) as
/// `{"parent", "requests": [...], "attachments": [...], "subpages": [...], "fallbacks": [...]}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AppendPlan {
    pub parent: PlanParent,
    pub requests: Vec<Request>,
    /// Files to upload first; their placeholders sit in `file_upload.id` of the requests.
    pub attachments: Vec<Attachment>,
    /// Child pages and databases to create separately.
    pub subpages: Vec<Subpage>,
    /// What could not be written exactly.
    pub fallbacks: Vec<Fallback>,
}

// ============================================================================== entry points

/// The append plan for `doc` under `parent`.
pub fn plan(doc: &Document, parent: PlanParent) -> AppendPlan {
    let NotionBlocks {
        blocks,
        attachments,
        subpages,
        fallbacks,
    } = blocks(doc);
    let requests = chunk(blocks, &parent);
    AppendPlan {
        parent,
        requests,
        attachments,
        subpages,
        fallbacks,
    }
}

/// `kbridge convert --to notion`: the plan for a new page ([`PlanParent::NewPage`]) as compact
/// JSON (one line and a newline; the serialization of [`plan`]'s [`AppendPlan`], byte for byte),
/// and its fallbacks. The requests are converted, cut and written one after the other, so the
/// page's Notion blocks are never all held at once.
pub fn write_report(doc: &Document) -> Written {
    let (doc, depth_fallbacks) = crate::depth::limit(doc);
    let streamed = Streamed {
        blocks: &doc.blocks,
        conv: std::cell::RefCell::new(Conv::default()),
        depth_fallbacks,
        fallbacks: std::cell::RefCell::new(Vec::new()),
    };
    let mut output = match serde_json::to_string(&streamed) {
        Ok(s) => s,
        // Only a map with non-string keys fails to serialize, and the plan has none.
        Err(e) => format!("{{\"error\": {:?}}}", e.to_string()),
    };
    output.push('\n');
    Written {
        output,
        fallbacks: streamed.fallbacks.into_inner(),
    }
}

/// The JSON of [`plan`]`(doc, PlanParent::NewPage)` (the same bytes), produced while the
/// document is converted: each top-level block is converted when the request that takes it is
/// cut, and each request is written and dropped as soon as it is complete, so the Notion blocks
/// of the whole page are never held at once (peak memory on big pages).
struct Streamed<'a> {
    blocks: &'a [ir::Block],
    conv: std::cell::RefCell<Conv>,
    depth_fallbacks: Vec<Fallback>,
    /// Every fallback, once the requests are written.
    fallbacks: std::cell::RefCell<Vec<Fallback>>,
}

impl Serialize for Streamed<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The fields of `AppendPlan`, in its order.
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("parent", &PlanParent::NewPage)?;
        m.serialize_entry("requests", &StreamedRequests(self))?;
        let mut conv = self.conv.borrow_mut();
        let mut fallbacks = self.depth_fallbacks.clone();
        fallbacks.append(&mut conv.take_fallbacks());
        m.serialize_entry("attachments", &conv.attachments)?;
        m.serialize_entry("subpages", &conv.subpages)?;
        m.serialize_entry("fallbacks", &fallbacks)?;
        *self.fallbacks.borrow_mut() = fallbacks;
        m.end()
    }
}

struct StreamedRequests<'s, 'a>(&'s Streamed<'a>);

impl Serialize for StreamedRequests<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut conv = self.0.conv.borrow_mut();
        let mut seq = s.serialize_seq(None)?;
        chunk_with(
            TopLevel::new(&mut conv, self.0.blocks),
            &PlanParent::NewPage,
            |r| seq.serialize_element(&r),
        )?;
        seq.end()
    }
}

/// Stage 1: the Notion block tree for `doc`, meeting every per-block limit and creation rule
/// (see the module docs), without request shaping.
pub fn blocks(doc: &Document) -> NotionBlocks {
    let (doc, mut fallbacks) = crate::depth::limit(doc);
    let mut c = Conv::default();
    let blocks: Vec<NBlock> = TopLevel::new(&mut c, &doc.blocks).collect();
    fallbacks.append(&mut c.take_fallbacks());
    NotionBlocks {
        blocks,
        attachments: c.attachments,
        subpages: c.subpages,
        fallbacks,
    }
}

/// The document's top-level Notion blocks, converted and finished one at a time: stage 1 as an
/// iterator, so that requests can be cut and written while the rest of the document is not yet
/// converted (peak memory on big pages). The last converted block is held back until the next
/// one is known, because an indented block (`notion:indent`) attaches to it.
struct TopLevel<'a> {
    conv: &'a mut Conv,
    bs: &'a [ir::Block],
    /// The next IR block to convert.
    i: usize,
    /// Converted, not finished.
    pending: Vec<NBlock>,
    /// Finished, not yet taken.
    ready: VecDeque<NBlock>,
}

impl<'a> TopLevel<'a> {
    fn new(conv: &'a mut Conv, bs: &'a [ir::Block]) -> Self {
        TopLevel {
            conv,
            bs,
            i: 0,
            pending: Vec::new(),
            ready: VecDeque::new(),
        }
    }
}

impl Iterator for TopLevel<'_> {
    type Item = NBlock;

    fn next(&mut self) -> Option<NBlock> {
        loop {
            if let Some(b) = self.ready.pop_front() {
                return Some(b);
            }
            if self.pending.len() > 1 {
                let last = self.pending.pop();
                let done = std::mem::take(&mut self.pending);
                self.pending.extend(last);
                self.ready = self.conv.finish(done).into();
            } else if self.i < self.bs.len() {
                self.i += self.conv.step(self.bs, self.i, 0, &mut self.pending);
            } else if self.pending.is_empty() {
                return None;
            } else {
                let done = std::mem::take(&mut self.pending);
                self.ready = self.conv.finish(done).into();
            }
        }
    }
}

/// Inline content as Notion rich text: runs merged and split to [`MAX_TEXT`] (the array is not
/// cut to [`MAX_RICH_TEXT`]: that is the caller's choice), and what fell back. Inline images
/// become their file name or URL as text.
pub fn rich_text(inlines: &[Inline]) -> (Vec<RichText>, Vec<Fallback>) {
    let mut c = Conv::default();
    let mut r = Runs {
        text_only: true,
        ..Runs::default()
    };
    c.inlines(inlines, &Style::default(), None, 0, &mut r);
    (split_long(r.items), c.fallbacks)
}

/// A block and its children in request shape: `{"type": T, T: {…, "children": [...]}}` (the
/// children nested inside the type object, as append and create-page requests take them).
pub fn request_block(b: &NBlock) -> Value {
    serde_json::to_value(ReqBlock(b)).unwrap_or(Value::Null)
}

/// The length of `s` as Notion counts it (UTF-16 code units, like a JavaScript string).
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

// ============================================================================== request JSON

struct Body<'a>(&'a [NBlock]);

impl Serialize for Body<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("children", &Children(self.0))?;
        m.end()
    }
}

struct Children<'a>(&'a [NBlock]);

impl Serialize for Children<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(Some(self.0.len()))?;
        for b in self.0 {
            q.serialize_element(&ReqBlock(b))?;
        }
        q.end()
    }
}

struct ReqBlock<'a>(&'a NBlock);

impl Serialize for ReqBlock<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("type", &self.0.kind)?;
        m.serialize_entry(&self.0.kind, &ReqData(self.0))?;
        m.end()
    }
}

struct ReqData<'a>(&'a NBlock);

impl Serialize for ReqData<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut fields = match &self.0.data {
            Some(d) => serde_json::to_value(d).map_err(serde::ser::Error::custom)?,
            None => Value::Object(Map::new()),
        };
        // Requests may leave out `annotations` when they are all default: a third of the bytes
        // of plain text runs.
        if let Value::Object(m) = &mut fields {
            for (k, v) in m.iter_mut() {
                match (k.as_str(), v) {
                    ("rich_text" | "caption", Value::Array(items)) => {
                        items.iter_mut().for_each(plain_annotations)
                    }
                    ("cells", Value::Array(cells)) => {
                        for c in cells {
                            if let Value::Array(items) = c {
                                items.iter_mut().for_each(plain_annotations);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut m = s.serialize_map(None)?;
        if let Value::Object(fields) = &fields {
            for (k, v) in fields {
                m.serialize_entry(k, v)?;
            }
        }
        if !self.0.children.is_empty() {
            m.serialize_entry("children", &Children(&self.0.children))?;
        }
        m.end()
    }
}

/// Drops a rich-text item's `annotations` when they are the defaults.
fn plain_annotations(item: &mut Value) {
    if let Value::Object(m) = item
        && m.get("annotations").is_some_and(|a| {
            serde_json::from_value::<Annotations>(a.clone()).is_ok_and(|a| a.is_plain())
        })
    {
        m.remove("annotations");
    }
}

/// Counts the bytes a value serializes to, without building the text.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn json_len<T: Serialize + ?Sized>(v: &T) -> usize {
    let mut c = Counter(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// Bytes of a block's own request JSON (without its children).
fn own_len(b: &NBlock) -> usize {
    if b.children.is_empty() {
        json_len(&ReqBlock(b))
    } else {
        let shallow = NBlock {
            children: Vec::new(),
            ..b.clone()
        };
        json_len(&ReqBlock(&shallow))
    }
}

// ============================================================================== stage 2: chunking

/// A block with its own request size, its children sized too.
struct SizedBlock {
    block: NBlock,
    own: usize,
    kids: Vec<SizedBlock>,
}

fn sized(mut b: NBlock) -> SizedBlock {
    let kids = std::mem::take(&mut b.children);
    b.has_children = false;
    let own = json_len(&ReqBlock(&b));
    SizedBlock {
        block: b,
        own,
        kids: kids.into_iter().map(sized).collect(),
    }
}

/// Levels of children a block must be created with.
fn need(kind: &str) -> usize {
    match kind {
        "table" => 1,
        "column_list" => 2,
        _ => 0,
    }
}

/// Blocks and bytes a block needs at the least when created: itself and the children it must be
/// created with (a table's first row; a column list's columns with their first blocks).
fn min_cost(s: &SizedBlock) -> (usize, usize) {
    match s.block.kind.as_str() {
        "table" => match s.kids.first() {
            Some(r) => (2, s.own + CHILD_OVERHEAD + r.own),
            None => (1, s.own),
        },
        "column_list" => {
            let (mut blocks, mut bytes) = (1, s.own);
            for c in s.kids.iter().take(MAX_CHILDREN) {
                blocks += 1;
                bytes += CHILD_OVERHEAD + c.own;
                if let Some(f) = c.kids.first() {
                    blocks += 1;
                    bytes += CHILD_OVERHEAD + f.own;
                }
            }
            (blocks, bytes)
        }
        _ => (1, s.own),
    }
}

/// What is left of a request's limits. `reserved` is held back for children that must still be
/// created (the columns of a column list being filled): optional children do not get it.
struct Budget {
    blocks: usize,
    bytes: usize,
    reserved: (usize, usize),
}

impl Budget {
    fn new() -> Self {
        Budget {
            blocks: MAX_BLOCKS,
            bytes: PAYLOAD_BUDGET - BODY_OVERHEAD,
            reserved: (0, 0),
        }
    }
    fn fits(&self, blocks: usize, bytes: usize) -> bool {
        blocks + self.reserved.0 <= self.blocks && bytes + self.reserved.1 <= self.bytes
    }
    fn spend(&mut self, blocks: usize, bytes: usize) {
        self.blocks = self.blocks.saturating_sub(blocks);
        self.bytes = self.bytes.saturating_sub(bytes);
    }
    fn reserve(&mut self, (blocks, bytes): (usize, usize)) {
        self.reserved = (self.reserved.0 + blocks, self.reserved.1 + bytes);
    }
    fn release(&mut self, (blocks, bytes): (usize, usize)) {
        self.reserved = (
            self.reserved.0.saturating_sub(blocks),
            self.reserved.1.saturating_sub(bytes),
        );
    }
}

/// What a column needs at creation: itself and its first block.
fn column_min(c: &SizedBlock) -> (usize, usize) {
    match c.kids.first() {
        Some(f) => (2, CHILD_OVERHEAD + c.own + CHILD_OVERHEAD + f.own),
        None => (1, CHILD_OVERHEAD + c.own),
    }
}

/// Blocks still to append under one target, in order.
struct Task {
    target: BlockRef,
    items: VecDeque<SizedBlock>,
}

/// Stage 2: cuts a block tree (children in `children`) into requests that each meet every
/// per-request limit, in an executable order: every parent's children arrive in document order,
/// and every target is created by an earlier request.
pub fn chunk(blocks: Vec<NBlock>, parent: &PlanParent) -> Vec<Request> {
    let mut requests = Vec::new();
    let done: Result<(), std::convert::Infallible> = chunk_with(blocks.into_iter(), parent, |r| {
        requests.push(r);
        Ok(())
    });
    match done {
        Ok(()) => requests,
        Err(e) => match e {},
    }
}

/// [`chunk`] over top-level blocks taken from an iterator as they are needed, handing each
/// request to `emit` as soon as it is complete (it is never needed again: later requests refer
/// to it by index only). Stops at the first error of `emit`.
fn chunk_with<E>(
    blocks: impl Iterator<Item = NBlock>,
    parent: &PlanParent,
    mut emit: impl FnMut(Request) -> Result<(), E>,
) -> Result<(), E> {
    let mut top = blocks.map(sized);
    let mut emitted = 0usize;
    let mut queue: VecDeque<Task> = VecDeque::new();
    // The parent's task comes first and draws its items from `top`; every later task is a
    // block's deferred children.
    let mut first = Some(Task {
        target: BlockRef::Parent,
        items: VecDeque::new(),
    });
    loop {
        let (mut task, lazy) = match first.take() {
            Some(t) => (t, true),
            None => match queue.pop_front() {
                Some(t) => (t, false),
                None => break,
            },
        };
        let refill = |items: &mut VecDeque<SizedBlock>,
                      top: &mut dyn Iterator<Item = SizedBlock>| {
            if lazy
                && items.is_empty()
                && let Some(b) = top.next()
            {
                items.push_back(b);
            }
        };
        loop {
            refill(&mut task.items, &mut top);
            if task.items.is_empty() {
                break;
            }
            let req = emitted;
            let mut budget = Budget::new();
            let mut children: Vec<NBlock> = Vec::new();
            let mut deferred: Vec<Task> = Vec::new();
            while children.len() < MAX_CHILDREN {
                refill(&mut task.items, &mut top);
                let Some(front) = task.items.front() else {
                    break;
                };
                let (b, by) = min_cost(front);
                if !children.is_empty() && !budget.fits(b, by + 1) {
                    break;
                }
                let Some(node) = task.items.pop_front() else {
                    break;
                };
                // The blocks move into requests: give back the queue's room as it empties, or
                // the page's blocks are held twice until the last request (peak memory).
                if task.items.capacity() > 64 && task.items.len() < task.items.capacity() / 4 {
                    task.items.shrink_to_fit();
                }
                budget.spend(0, 1);
                let path = vec![children.len()];
                children.push(take(node, 0, path, req, &mut budget, &mut deferred));
            }
            let create_page = req == 0 && *parent == PlanParent::NewPage;
            emit(Request {
                path: request_path(&task.target, create_page, parent),
                target: task.target.clone(),
                create_page,
                children,
            })?;
            emitted += 1;
            queue.extend(deferred);
        }
    }
    if emitted == 0 && *parent == PlanParent::NewPage {
        emit(Request {
            target: BlockRef::Parent,
            create_page: true,
            path: "/v1/pages".into(),
            children: Vec::new(),
        })?;
    }
    Ok(())
}

fn request_path(target: &BlockRef, create_page: bool, parent: &PlanParent) -> String {
    match (create_page, target, parent) {
        (true, _, _) => "/v1/pages".into(),
        (false, BlockRef::Parent, PlanParent::PageId { page_id }) => {
            format!("/v1/blocks/{page_id}/children")
        }
        _ => "/v1/blocks/{id}/children".into(),
    }
}

/// Puts `node` at `level` of request `req` (at `path`) with as many of its children as the
/// nesting, children and budget limits allow; the rest become a follow-up task.
fn take(
    node: SizedBlock,
    level: usize,
    path: Vec<usize>,
    req: usize,
    budget: &mut Budget,
    deferred: &mut Vec<Task>,
) -> NBlock {
    let SizedBlock {
        mut block,
        own,
        kids,
    } = node;
    budget.spend(1, own);
    let mut kids: VecDeque<SizedBlock> = kids.into();
    let mut taken: Vec<NBlock> = Vec::new();
    let columns = block.kind == "column_list";
    if columns && level < MAX_NESTING {
        // Every column must be created with its first block: hold their room back while the
        // earlier columns take optional blocks.
        kids.iter()
            .take(MAX_CHILDREN)
            .for_each(|c| budget.reserve(column_min(c)));
    }
    if level < MAX_NESTING {
        while taken.len() < MAX_CHILDREN {
            let Some(c) = kids.front() else { break };
            let idx = taken.len();
            let required = match block.kind.as_str() {
                "table" | "column" => idx == 0,
                "column_list" => true,
                _ => false,
            };
            if columns {
                budget.release(column_min(c));
            }
            if !required {
                let (b, by) = min_cost(c);
                if level + 1 + need(&c.block.kind) > MAX_NESTING
                    || !budget.fits(b, by + CHILD_OVERHEAD)
                {
                    break;
                }
            }
            let Some(c) = kids.pop_front() else { break };
            budget.spend(0, CHILD_OVERHEAD);
            let mut p = path.clone();
            p.push(idx);
            taken.push(take(c, level + 1, p, req, budget, deferred));
        }
    }
    if !kids.is_empty() {
        deferred.push(Task {
            target: BlockRef::Created { request: req, path },
            items: kids,
        });
    }
    block.has_children = !taken.is_empty();
    block.children = taken;
    block
}

// ============================================================================== stage 1: IR → blocks

fn nb(kind: &str, data: BlockData, children: Vec<NBlock>) -> NBlock {
    NBlock {
        id: None,
        kind: kind.to_string(),
        data: Some(data),
        has_children: !children.is_empty(),
        in_trash: false,
        children,
        extra: Map::new(),
    }
}

fn paragraph(rich: Vec<RichText>, color: Option<model::Color>) -> NBlock {
    nb(
        "paragraph",
        BlockData {
            rich_text: Some(rich),
            color,
            ..BlockData::default()
        },
        Vec::new(),
    )
}

fn plain_rt(s: &str) -> RichText {
    RichText::text(s)
}

fn is_color(c: &str) -> bool {
    COLOR_NAMES.contains(&c)
}

/// A block colour from `notion:color` (a Notion colour name other than `default`).
fn color_attr(a: &Attrs) -> Option<model::Color> {
    a.get("notion:color")
        .filter(|c| is_color(c) && !c.starts_with("default"))
        .map(|c| model::color(c))
}

fn attr<'a>(a: &'a Attrs, k: &str) -> Option<&'a str> {
    a.get(k).map(String::as_str)
}

/// The attribute bag of a block, when it has one.
fn block_attrs(b: &ir::Block) -> Option<&Attrs> {
    use ir::Block as B;
    Some(match b {
        B::Paragraph { attrs, .. } | B::Heading { attrs, .. } | B::Quote { attrs, .. } => attrs,
        B::TaskList { attrs, .. } | B::Divider { attrs } => attrs,
        B::List(l) => &l.attrs,
        B::Callout(c) => &c.attrs,
        B::Code(c) => &c.attrs,
        B::Math(m) => &m.attrs,
        B::Table(t) => &t.attrs,
        B::Layout(l) => &l.attrs,
        B::Expand(e) => &e.attrs,
        B::Image(i) => &i.attrs,
        B::File(f) => &f.attrs,
        B::Embed(e) => &e.attrs,
        B::Toc(m) | B::PagePropertiesReport(m) => &m.attrs,
        B::ChildPages(c) => &c.attrs,
        B::Excerpt(e) => &e.attrs,
        B::Include(i) => &i.attrs,
        B::PageProperties(p) => &p.attrs,
        B::Extension(e) => &e.attrs,
        B::Plain { .. } => return None,
    })
}

fn kind_name(b: &ir::Block) -> &'static str {
    use ir::Block as B;
    match b {
        B::Paragraph { .. } => "paragraph",
        B::Plain { .. } => "plain",
        B::Heading { .. } => "heading",
        B::List(_) => "list",
        B::TaskList { .. } => "task_list",
        B::Quote { .. } => "quote",
        B::Callout(_) => "callout",
        B::Code(_) => "code",
        B::Math(_) => "math",
        B::Divider { .. } => "divider",
        B::Table(_) => "table",
        B::Layout(_) => "layout",
        B::Expand(_) => "expand",
        B::Image(_) => "image",
        B::File(_) => "file",
        B::Embed(_) => "embed",
        B::Toc(_) => "toc",
        B::ChildPages(_) => "child_pages",
        B::Excerpt(_) => "excerpt",
        B::Include(_) => "include",
        B::PageProperties(_) => "page_properties",
        B::PagePropertiesReport(_) => "page_properties_report",
        B::Extension(_) => "extension",
    }
}

/// The blocks of a container: its text (a first `Plain` or `Paragraph`), and the rest.
fn split_first(blocks: &[ir::Block]) -> (&[Inline], &[ir::Block]) {
    match blocks.split_first() {
        Some((ir::Block::Plain { content } | ir::Block::Paragraph { content, .. }, rest)) => {
            (content, rest)
        }
        _ => (&[], blocks),
    }
}

/// Types whose blocks take children in a request.
fn takes_children(b: &NBlock) -> bool {
    match b.kind.as_str() {
        "paragraph" | "bulleted_list_item" | "numbered_list_item" | "to_do" | "toggle"
        | "quote" | "callout" | "column" | "column_list" | "table" | "tab" | "template" => true,
        "heading_1" | "heading_2" | "heading_3" | "heading_4" => {
            b.data.as_ref().is_some_and(|d| d.is_toggleable)
        }
        "synced_block" => b.data.as_ref().is_none_or(|d| d.synced_from.is_none()),
        _ => false,
    }
}

/// Text formatting in force while flattening inlines.
#[derive(Clone, Debug, Default, PartialEq)]
struct Style {
    bold: bool,
    italic: bool,
    strike: bool,
    underline: bool,
    code: bool,
    color: Option<String>,
}

impl Style {
    fn ann(&self) -> Annotations {
        Annotations {
            bold: self.bold,
            italic: self.italic,
            strikethrough: self.strike,
            underline: self.underline,
            code: self.code,
            color: self
                .color
                .as_deref()
                .map_or_else(model::default_color, model::color),
        }
    }
}

/// Rich text collected from inlines, and image blocks met on the way.
#[derive(Default)]
struct Runs {
    items: Vec<RichText>,
    images: Vec<NBlock>,
    /// Images become text (in cells and captions).
    text_only: bool,
}

fn push_text(r: &mut Runs, s: &str, st: &Style, link: Option<&str>) {
    if s.is_empty() {
        return;
    }
    let ann = st.ann();
    if let Some(last) = r.items.last_mut()
        && last.annotations == ann
        && let RichTextKind::Text { text } = &mut last.kind
        && text.link.as_ref().map(|l| l.url.as_str()) == link
    {
        text.content.push_str(s);
        return;
    }
    r.items.push(RichText {
        kind: RichTextKind::Text {
            text: TextContent {
                content: s.to_string(),
                link: link.map(|u| model::Link { url: u.to_string() }),
            },
        },
        annotations: ann,
        plain_text: None,
        href: None,
    });
}

fn push_mention(r: &mut Runs, mention: Mention, st: &Style, plain_text: Option<String>) {
    r.items.push(RichText {
        kind: RichTextKind::Mention {
            mention: Box::new(mention),
        },
        annotations: st.ann(),
        plain_text,
        href: None,
    });
}

/// Splits text runs longer than [`MAX_TEXT`].
fn split_long(items: Vec<RichText>) -> Vec<RichText> {
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        let long = matches!(&it.kind, RichTextKind::Text { text } if text.content.len() > MAX_TEXT && utf16_len(&text.content) > MAX_TEXT);
        if !long {
            out.push(it);
            continue;
        }
        let RichText {
            kind, annotations, ..
        } = it;
        let RichTextKind::Text { text } = kind else {
            continue;
        };
        for piece in split_units(&text.content, MAX_TEXT) {
            out.push(RichText {
                kind: RichTextKind::Text {
                    text: TextContent {
                        content: piece.to_string(),
                        link: text.link.clone(),
                    },
                },
                annotations: annotations.clone(),
                plain_text: None,
                href: None,
            });
        }
    }
    out
}

/// Characters a piece should not end before (they attach to the character before them).
fn attaches_to_previous(c: char) -> bool {
    matches!(c,
        '\u{200d}'
        | '\u{0300}'..='\u{036f}'
        | '\u{1ab0}'..='\u{1aff}'
        | '\u{1dc0}'..='\u{1dff}'
        | '\u{20d0}'..='\u{20ff}'
        | '\u{fe00}'..='\u{fe0f}'
        | '\u{fe20}'..='\u{fe2f}'
        | '\u{1f3fb}'..='\u{1f3ff}'
        | '\u{e0020}'..='\u{e007f}'
        | '\u{e0100}'..='\u{e01ef}')
}

fn good_cut(s: &str, i: usize) -> bool {
    let next = s[i..].chars().next();
    let prev = s[..i].chars().next_back();
    !(next.is_some_and(attaches_to_previous) || prev == Some('\u{200d}'))
}

/// Splits `s` into pieces of at most `max` UTF-16 code units, on character boundaries.
fn split_units(s: &str, max: usize) -> Vec<&str> {
    let max = max.max(2);
    let mut out = Vec::new();
    let mut rest = s;
    while utf16_len(rest) > max {
        let mut units = 0;
        let mut cut = 0;
        for (i, c) in rest.char_indices() {
            if units + c.len_utf16() > max {
                break;
            }
            units += c.len_utf16();
            cut = i + c.len_utf8();
        }
        let mut best = cut;
        for _ in 0..16 {
            if best == 0 || good_cut(rest, best) {
                break;
            }
            best = rest[..best]
                .char_indices()
                .next_back()
                .map_or(0, |(i, _)| i);
        }
        if best == 0 || !good_cut(rest, best) {
            best = cut;
        }
        if best == 0 {
            // Unreachable with max ≥ 2 (a character is at most 2 units); never loop forever.
            best = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        out.push(&rest[..best]);
        rest = &rest[best..];
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest);
    }
    out
}

/// Bytes a character takes inside a JSON string.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Cuts a rich-text array to [`MAX_RICH_TEXT`] items and `max_bytes` of JSON; true when cut.
fn truncate(items: Vec<RichText>, max_bytes: usize) -> (Vec<RichText>, bool) {
    let mut out = Vec::new();
    let mut bytes = 2;
    for mut it in items {
        if out.len() == MAX_RICH_TEXT {
            return (out, true);
        }
        let n = json_len(&it) + 1;
        if bytes + n <= max_bytes {
            bytes += n;
            out.push(it);
            continue;
        }
        if let RichTextKind::Text { text } = &mut it.kind {
            let content = std::mem::take(&mut text.content);
            let overhead = json_len(&it) + 1;
            let mut room = max_bytes.saturating_sub(bytes + overhead);
            let mut end = 0;
            for (i, c) in content.char_indices() {
                let l = escaped_len(c);
                if l > room {
                    break;
                }
                room -= l;
                end = i + c.len_utf8();
            }
            if end > 0
                && let RichTextKind::Text { text } = &mut it.kind
            {
                text.content = content[..end].to_string();
                out.push(it);
            }
        }
        return (out, true);
    }
    (out, false)
}

/// Parses a CSS colour: `#rgb`, `#rrggbb` (also inside `var(--x, #hex)`), `rgb()`/`rgba()`, or a
/// few names.
fn parse_css(c: &str) -> Option<(u8, u8, u8)> {
    let c = c.trim().to_ascii_lowercase();
    if let Some(i) = c.find("rgb") {
        let inner = c[i..].split_once('(')?.1.split(')').next()?;
        let parts: Vec<f64> = inner
            .split(|ch: char| ch == ',' || ch == '/' || ch.is_whitespace())
            .filter(|p| !p.is_empty())
            .take(3)
            .map(|p| match p.strip_suffix('%') {
                Some(pc) => pc.parse::<f64>().map(|v| v * 2.55),
                None => p.parse::<f64>(),
            })
            .collect::<Result<_, _>>()
            .ok()?;
        if parts.len() < 3 {
            return None;
        }
        let u = |v: f64| v.clamp(0.0, 255.0).round() as u8;
        return Some((u(parts[0]), u(parts[1]), u(parts[2])));
    }
    if let Some(i) = c.find('#') {
        let hex: String = c[i + 1..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect();
        let h = |s: &str| u8::from_str_radix(s, 16).ok();
        return match hex.len() {
            3 | 4 => {
                let d: Vec<u8> = hex
                    .chars()
                    .take(3)
                    .filter_map(|ch| h(&format!("{ch}{ch}")))
                    .collect();
                (d.len() == 3).then(|| (d[0], d[1], d[2]))
            }
            6 | 8 => Some((h(&hex[0..2])?, h(&hex[2..4])?, h(&hex[4..6])?)),
            _ => None,
        };
    }
    Some(match c.as_str() {
        "black" => (0, 0, 0),
        "white" => (255, 255, 255),
        "red" => (255, 0, 0),
        "green" => (0, 128, 0),
        "blue" => (0, 0, 255),
        "yellow" => (255, 255, 0),
        "orange" => (255, 165, 0),
        "purple" => (128, 0, 128),
        "pink" => (255, 192, 203),
        "brown" => (165, 42, 42),
        "gray" | "grey" => (128, 128, 128),
        _ => return None,
    })
}

fn parse_hex(h: &str) -> (u8, u8, u8) {
    parse_css(h).unwrap_or((0, 0, 0))
}

/// Hue (degrees), saturation and value of an RGB colour.
fn hsv((r, g, b): (u8, u8, u8)) -> (f64, f64, f64) {
    let (r, g, b) = (r as f64 / 255.0, g as f64 / 255.0, b as f64 / 255.0);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let d = max - min;
    let h = if d == 0.0 {
        0.0
    } else if max == r {
        60.0 * ((g - b) / d).rem_euclid(6.0)
    } else if max == g {
        60.0 * ((b - r) / d + 2.0)
    } else {
        60.0 * ((r - g) / d + 4.0)
    };
    let s = if max == 0.0 { 0.0 } else { d / max };
    (h, s, max)
}

/// The nearest Notion colour name to a CSS colour (text colours, or backgrounds), and whether it
/// is exactly that colour. Notion's own colours (as the reader writes them) match exactly; others
/// go by lightness and saturation (dark text → `default`, greyish → `gray`) and then by hue.
fn nearest_color(css: &str, background: bool) -> Option<(String, bool)> {
    let rgb = parse_css(css)?;
    let palette = super::reader::COLORS
        .iter()
        .filter(|(n, _)| n.ends_with("_background") == background);
    if let Some((n, _)) = palette.clone().find(|(_, hex)| parse_hex(hex) == rgb) {
        return Some((n.to_string(), true));
    }
    let (h, s, v) = hsv(rgb);
    let grey = if background {
        (s < 0.04).then_some(if v > 0.97 {
            "default"
        } else {
            "gray_background"
        })
    } else if v < 0.35 {
        Some("default")
    } else {
        (s < 0.2).then_some("gray")
    };
    if let Some(g) = grey {
        return Some((g.to_string(), false));
    }
    let mut best: Option<(&str, f64)> = None;
    for (name, hex) in palette.filter(|(n, _)| !n.starts_with("gray")) {
        let (ch, cs, cv) = hsv(parse_hex(hex));
        let dh = (h - ch).abs();
        let dh = dh.min(360.0 - dh);
        let d = dh * dh + 0.1 * (((s - cs) * 100.0).powi(2) + ((v - cv) * 100.0).powi(2));
        if best.is_none_or(|(_, bd)| d < bd) {
            best = Some((name, d));
        }
    }
    best.map(|(n, _)| (n.to_string(), false))
}

fn is_http(u: &str) -> bool {
    let l = u.get(..8).unwrap_or(u).to_ascii_lowercase();
    (l.starts_with("https://") || l.starts_with("http://")) && u.len() > 8
}

/// A URL Notion takes as an external file, embed or bookmark.
fn external_ok(u: &str) -> bool {
    is_http(u) && utf16_len(u) <= MAX_URL && !u.chars().any(char::is_whitespace)
}

/// A URL a text link can hold: with a scheme, or a Notion page path (`/<id>`, `/<id>#<block>`).
fn link_ok(u: &str) -> bool {
    if u.is_empty() || utf16_len(u) > MAX_URL || u.chars().any(char::is_whitespace) {
        return false;
    }
    if let Some(rest) = u.strip_prefix('/') {
        return is_notion_id(rest.split('#').next().unwrap_or_default());
    }
    crate::util::uri_scheme(u).is_some_and(|scheme| u.len() > scheme.len() + 1)
}

/// `YYYY-MM-DD`, optionally followed by a time.
fn iso_date(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || b[10] == b'T' || b[10] == b' ')
}

/// Text that is an emoji (or a short emoji sequence), not a name or an id.
fn looks_emoji(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= 10
        && s.chars().all(|c| !c.is_ascii() && !c.is_alphanumeric())
}

/// The Notion language for an IR code language, and whether it is known.
fn notion_language(l: Option<&str>) -> (String, bool) {
    let Some(l) = l.map(str::trim).filter(|l| !l.is_empty()) else {
        return ("plain text".into(), true);
    };
    let low = l.to_ascii_lowercase();
    let mapped = match low.as_str() {
        "cpp" | "c++" | "cc" | "cxx" => "c++",
        "csharp" | "cs" | "c#" => "c#",
        "fsharp" | "fs" | "f#" => "f#",
        "objc" | "objectivec" | "objective-c" | "obj-c" => "objective-c",
        "text" | "none" | "plain" | "plaintext" | "plain text" | "txt" | "nohighlight" => {
            "plain text"
        }
        "js" | "jsx" | "node" => "javascript",
        "ts" | "tsx" => "typescript",
        "sh" | "zsh" | "console" | "shell-session" => "shell",
        "ps" | "ps1" | "pwsh" => "powershell",
        "py" | "python3" => "python",
        "rb" => "ruby",
        "rs" => "rust",
        "kt" => "kotlin",
        "golang" => "go",
        "yml" => "yaml",
        "md" => "markdown",
        "dockerfile" => "docker",
        "tex" => "latex",
        "vb" | "vbnet" => "visual basic",
        "html/xml" | "xhtml" => "html",
        "javafx" => "java",
        "make" => "makefile",
        "proto" => "protobuf",
        "hs" => "haskell",
        "ex" | "exs" => "elixir",
        "erl" => "erlang",
        "clj" => "clojure",
        "ml" => "ocaml",
        "tf" | "terraform" => "hcl",
        "gql" => "graphql",
        "sol" => "solidity",
        "wasm" => "webassembly",
        other => other,
    };
    if LANGUAGES.contains(&mapped) {
        (mapped.to_string(), true)
    } else {
        ("plain text".into(), false)
    }
}

/// The stage-1 converter.
#[derive(Default)]
struct Conv {
    fallbacks: Vec<Fallback>,
    once: HashSet<(String, String)>,
    attachments: Vec<Attachment>,
    subpages: Vec<Subpage>,
    /// Inside a column (column lists do not nest).
    in_column: bool,
    /// Fallbacks of [`Conv::finish`] (with whether each is reported once per document), kept
    /// apart so that the report lists them after every fallback of the walk, as when the whole
    /// tree was walked before it was finished: see [`Conv::take_fallbacks`].
    fin_fallbacks: Vec<(Fallback, bool)>,
    fin_once: HashSet<(String, String)>,
}

impl Conv {
    fn fb(&mut self, node: impl Into<String>, rendered_as: impl Into<String>) {
        self.fallbacks.push(Fallback {
            node: node.into(),
            rendered_as: rendered_as.into(),
            extension: false,
        });
    }

    fn fb_ext(&mut self, node: impl Into<String>, rendered_as: impl Into<String>) {
        self.fallbacks.push(Fallback {
            node: node.into(),
            rendered_as: rendered_as.into(),
            extension: true,
        });
    }

    /// A fallback of [`Conv::finish`].
    fn fin_fb(&mut self, node: &str, rendered_as: &str) {
        self.fin_fallbacks.push((
            Fallback {
                node: node.into(),
                rendered_as: rendered_as.into(),
                extension: false,
            },
            false,
        ));
    }

    /// A fallback of [`Conv::finish`], reported once per document.
    fn fin_fb_once(&mut self, node: &str, rendered_as: &str) {
        if self
            .fin_once
            .insert((node.to_string(), rendered_as.to_string()))
        {
            self.fin_fallbacks.push((
                Fallback {
                    node: node.into(),
                    rendered_as: rendered_as.into(),
                    extension: false,
                },
                true,
            ));
        }
    }

    /// Every fallback so far: the walk's, then the finishing's (a once-per-document one only
    /// when the walk did not report it).
    fn take_fallbacks(&mut self) -> Vec<Fallback> {
        let mut out = std::mem::take(&mut self.fallbacks);
        for (f, once) in std::mem::take(&mut self.fin_fallbacks) {
            if !once || !self.once.contains(&(f.node.clone(), f.rendered_as.clone())) {
                out.push(f);
            }
        }
        out
    }

    /// Reports a fallback once per document.
    fn fb_once(&mut self, node: &str, rendered_as: &str) {
        if self
            .once
            .insert((node.to_string(), rendered_as.to_string()))
        {
            self.fb(node, rendered_as);
        }
    }

    // --------------------------------------------------------------------------- block sequences

    fn blocks(&mut self, bs: &[ir::Block], depth: usize) -> Vec<NBlock> {
        let mut out: Vec<NBlock> = Vec::new();
        if depth > MAX_DEPTH {
            let t = text::blocks_to_text(bs);
            if !t.is_empty() {
                self.fb_once(
                    "deep_nesting",
                    &format!("paragraphs of its text (nesting deeper than {MAX_DEPTH} blocks)"),
                );
                let mut r = Runs::default();
                push_text(&mut r, &t, &Style::default(), None);
                self.text_block("paragraph", r, BlockData::default(), Vec::new(), &mut out);
            }
            return out;
        }
        let mut i = 0;
        while i < bs.len() {
            i += self.step(bs, i, depth, &mut out);
        }
        out
    }

    /// Converts `bs[i]` (with `bs[i + 1]` when it is the expand of a toggleable heading) onto
    /// `out`, attaching indented blocks to the last one; returns how many blocks it used.
    fn step(&mut self, bs: &[ir::Block], i: usize, depth: usize, out: &mut Vec<NBlock>) -> usize {
        let b = &bs[i];
        let mut produced = Vec::new();
        let mut step = 1;
        let toggle_children = match (b, bs.get(i + 1)) {
            (ir::Block::Heading { attrs, .. }, Some(ir::Block::Expand(e)))
                if attr(attrs, "notion:toggleable") == Some("true")
                    && attr(&e.attrs, "notion:block") == Some("toggle_heading") =>
            {
                Some(&e.blocks)
            }
            _ => None,
        };
        match (b, toggle_children) {
            (
                ir::Block::Heading {
                    level,
                    content,
                    align,
                    attrs,
                },
                Some(kids),
            ) => {
                step = 2;
                self.heading(
                    *level,
                    content,
                    *align,
                    attrs,
                    Some(kids),
                    depth,
                    &mut produced,
                );
            }
            _ => self.block(b, depth, &mut produced),
        }
        let indent = block_attrs(b)
            .and_then(|a| attr(a, "notion:indent"))
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        if indent > 0 && !produced.is_empty() {
            if let Err(p) = attach(out, produced, indent) {
                self.fb_once(
                    "indented block",
                    "a block after the paragraph (not its child)",
                );
                out.extend(p);
            }
        } else {
            out.extend(produced);
        }
        step
    }

    fn block(&mut self, b: &ir::Block, depth: usize, out: &mut Vec<NBlock>) {
        use ir::Block as B;
        match b {
            B::Paragraph {
                content,
                align,
                attrs,
            } => {
                if self.special_paragraph(content, attrs, out) {
                    return;
                }
                if matches!(align, Some(a) if *a != ir::Align::Left) {
                    self.fb_once(
                        "paragraph:align",
                        "a paragraph without alignment (Notion has none)",
                    );
                }
                let r = self.runs(content);
                let data = BlockData {
                    color: color_attr(attrs),
                    ..BlockData::default()
                };
                self.text_block("paragraph", r, data, Vec::new(), out);
            }
            B::Plain { content } => {
                let r = self.runs(content);
                self.text_block("paragraph", r, BlockData::default(), Vec::new(), out);
            }
            B::Heading {
                level,
                content,
                align,
                attrs,
            } => self.heading(*level, content, *align, attrs, None, depth, out),
            B::List(l) => {
                let kind = if l.ordered {
                    "numbered_list_item"
                } else {
                    "bulleted_list_item"
                };
                let format = attr(&l.attrs, "notion:list_format")
                    .filter(|f| matches!(*f, "numbers" | "letters" | "roman"))
                    .filter(|_| l.ordered);
                for (i, item) in l.items.iter().enumerate() {
                    let mut data = BlockData {
                        color: color_attr(&item.attrs),
                        ..BlockData::default()
                    };
                    if l.ordered && i == 0 {
                        data.list_start_index = l.start.filter(|&s| s != 1);
                    }
                    data.list_format = format.map(str::to_string);
                    self.container(kind, data, &item.blocks, depth, out);
                }
            }
            B::TaskList { items, .. } => {
                for item in items {
                    let data = BlockData {
                        color: color_attr(&item.attrs),
                        checked: Some(item.done),
                        ..BlockData::default()
                    };
                    self.container("to_do", data, &item.body, depth, out);
                }
            }
            B::Quote { blocks, attrs } => {
                let data = BlockData {
                    color: color_attr(attrs),
                    ..BlockData::default()
                };
                self.container("quote", data, blocks, depth, out);
            }
            B::Callout(c) => self.callout(c, depth, out),
            B::Code(c) => self.code(c, out),
            B::Math(m) => {
                if utf16_len(&m.tex) <= MAX_EQUATION {
                    out.push(nb(
                        "equation",
                        BlockData {
                            rare: Some(Box::new(RareData {
                                expression: Some(m.tex.clone()),
                                ..Default::default()
                            })),
                            ..BlockData::default()
                        },
                        vec![],
                    ));
                } else {
                    self.fb("math", "a LaTeX code block (over 1000 characters)");
                    self.code_blocks(&m.tex, "latex".into(), None, out);
                }
            }
            B::Divider { .. } => out.push(nb("divider", BlockData::default(), Vec::new())),
            B::Table(t) => self.table(t, out),
            B::Layout(l) => self.layout(l, depth, out),
            B::Expand(e) => {
                let mut r = Runs::default();
                if let Some(t) = &e.title {
                    push_text(&mut r, t, &Style::default(), None);
                }
                let children = self.blocks(&e.blocks, depth + 1);
                let data = BlockData {
                    color: color_attr(&e.attrs),
                    ..BlockData::default()
                };
                self.text_block("toggle", r, data, children, out);
            }
            B::Image(img) => self.image(img, out),
            B::File(f) => self.file(f, out),
            B::Embed(e) => self.embed(e, out),
            B::Toc(m) => {
                if !m.params.is_empty() {
                    self.fb("toc", "a table of contents (its parameters are not kept)");
                }
                out.push(nb(
                    "table_of_contents",
                    BlockData {
                        color: color_attr(&m.attrs),
                        ..BlockData::default()
                    },
                    vec![],
                ));
            }
            B::ChildPages(_) => {
                self.fb(
                    "child_pages",
                    "a note paragraph (Notion lists child pages as blocks of their own)",
                );
                self.note("Child pages of this page (Confluence children macro)", out);
            }
            B::Excerpt(e) => {
                let kids = self.blocks(&e.blocks, depth + 1);
                if attr(&e.attrs, "notion:block") == Some("synced_block") {
                    let mut data = BlockData::default();
                    data.extra.insert("synced_from".into(), Value::Null);
                    out.push(nb("synced_block", data, kids));
                } else {
                    self.fb("excerpt", "its content");
                    out.extend(kids);
                }
            }
            B::Include(inc) => match (&inc.target, inc.excerpt, attr(&inc.attrs, "notion:block")) {
                (LinkTarget::Content { id, .. }, true, Some("synced_block")) => {
                    let mut from = Map::new();
                    from.insert("type".into(), Value::String("block_id".into()));
                    from.insert("block_id".into(), Value::String(id.clone()));
                    out.push(nb(
                        "synced_block",
                        BlockData {
                            rare: Some(Box::new(RareData {
                                synced_from: Some(from),
                                ..Default::default()
                            })),
                            ..BlockData::default()
                        },
                        vec![],
                    ));
                }
                (target, excerpt, _) => {
                    let what = if excerpt {
                        "excerpt_include"
                    } else {
                        "include"
                    };
                    self.fb(what, "a paragraph linking to the included page");
                    let content = vec![
                        Inline::mark(Mark::Emphasis, vec![Inline::text("Included from ")]),
                        Inline::link(ir::Link::new(target.clone())),
                    ];
                    let r = self.runs(&content);
                    self.text_block("paragraph", r, BlockData::default(), Vec::new(), out);
                }
            },
            B::PageProperties(p) => {
                self.fb(
                    "page_properties",
                    "its table (the engine sets the page's database properties)",
                );
                out.extend(self.blocks(&p.blocks, depth + 1));
            }
            B::PagePropertiesReport(m) => {
                match m.attrs.get("notion:database").filter(|id| is_notion_id(id)) {
                    Some(id) => {
                        self.fb("page_properties_report", "a link to the database");
                        let data = BlockData {
                            rare: Some(Box::new(RareData {
                                source_type: Some("database_id".into()),
                                database_id: Some(id.clone()),
                                ..Default::default()
                            })),
                            ..BlockData::default()
                        };
                        out.push(nb("link_to_page", data, vec![]));
                    }
                    None => {
                        self.fb(
                            "page_properties_report",
                            "a note paragraph (a Notion database view replaces it)",
                        );
                        self.note(
                            "Page Properties Report (Confluence detailssummary macro)",
                            out,
                        );
                    }
                }
            }
            B::Extension(x) => self.extension(x, depth, out),
        }
    }

    /// An italic grey note paragraph.
    fn note(&mut self, s: &str, out: &mut Vec<NBlock>) {
        let mut r = Runs::default();
        let st = Style {
            italic: true,
            color: Some("gray".into()),
            ..Style::default()
        };
        push_text(&mut r, s, &st, None);
        out.push(paragraph(r.items, None));
    }

    /// `link_to_page`, `child_page` and `child_database` paragraphs (one link to a page, marked
    /// with `notion:block`). True when handled.
    fn special_paragraph(
        &mut self,
        content: &[Inline],
        attrs: &Attrs,
        out: &mut Vec<NBlock>,
    ) -> bool {
        let [Inline::Link(l)] = content else {
            return false;
        };
        let LinkTarget::Page { id, title, .. } = &l.target else {
            return false;
        };
        let which = attr(attrs, "notion:block").or_else(|| attr(&l.attrs, "notion:block"));
        match which {
            Some("link_to_page") => {
                let Some(id) = id.as_ref().filter(|i| is_notion_id(i)) else {
                    return false;
                };
                let database = attr(&l.attrs, "notion:target") == Some("database");
                let data = if database {
                    BlockData {
                        rare: Some(Box::new(RareData {
                            source_type: Some("database_id".into()),
                            database_id: Some(id.clone()),
                            ..Default::default()
                        })),
                        ..BlockData::default()
                    }
                } else {
                    BlockData {
                        rare: Some(Box::new(RareData {
                            source_type: Some("page_id".into()),
                            page_id: Some(id.clone()),
                            ..Default::default()
                        })),
                        ..BlockData::default()
                    }
                };
                out.push(nb("link_to_page", data, vec![]));
                true
            }
            Some(k @ ("child_page" | "child_database")) => {
                let kind = if k == "child_page" {
                    "page"
                } else {
                    "database"
                };
                self.subpages.push(Subpage {
                    kind: kind.into(),
                    title: title.clone(),
                    id: id.clone(),
                });
                self.fb(
                    k,
                    "nothing here: listed in the plan's subpages (append cannot create it)",
                );
                true
            }
            _ => false,
        }
    }

    fn runs(&mut self, content: &[Inline]) -> Runs {
        let mut r = Runs::default();
        self.inlines(content, &Style::default(), None, 0, &mut r);
        r
    }

    /// Splits a rich-text array into arrays that each fit one block.
    fn fit(&mut self, items: Vec<RichText>, node: &str) -> Vec<Vec<RichText>> {
        let items = split_long(items);
        let mut chunks: Vec<Vec<RichText>> = Vec::new();
        let mut cur: Vec<RichText> = Vec::new();
        let mut bytes = 2;
        for it in items {
            let n = json_len(&it) + 1;
            if !cur.is_empty() && (cur.len() == MAX_RICH_TEXT || bytes + n > RICH_TEXT_BYTES) {
                chunks.push(std::mem::take(&mut cur));
                bytes = 2;
            }
            cur.push(it);
            bytes += n;
        }
        chunks.push(cur);
        if chunks.len() > 1 {
            self.fb(
                format!("{node}:long_text"),
                format!(
                    "{} blocks (Notion takes 100 rich-text items, kbridge 150 KB of text, per block)",
                    chunks.len()
                ),
            );
        }
        chunks
    }

    /// A rich-text array cut to a caption's size.
    fn caption(&mut self, items: Vec<RichText>) -> Option<Vec<RichText>> {
        if items.is_empty() {
            return None;
        }
        let (items, cut) = truncate(split_long(items), CAPTION_BYTES);
        if cut {
            self.fb("caption", "its text cut to fit Notion's limits");
        }
        Some(items)
    }

    fn caption_blocks(&mut self, blocks: &[ir::Block]) -> Option<Vec<RichText>> {
        let mut r = Runs {
            text_only: true,
            ..Runs::default()
        };
        for (i, b) in blocks.iter().enumerate() {
            if i > 0 {
                push_text(&mut r, "\n", &Style::default(), None);
            }
            match b {
                ir::Block::Plain { content } | ir::Block::Paragraph { content, .. } => {
                    self.inlines(content, &Style::default(), None, 0, &mut r)
                }
                other => push_text(
                    &mut r,
                    &text::blocks_to_text(std::slice::from_ref(other)),
                    &Style::default(),
                    None,
                ),
            }
        }
        self.caption(r.items)
    }

    fn caption_inlines(&mut self, content: &[Inline]) -> Option<Vec<RichText>> {
        let mut r = Runs {
            text_only: true,
            ..Runs::default()
        };
        self.inlines(content, &Style::default(), None, 0, &mut r);
        self.caption(r.items)
    }

    /// A text block: its rich text (continued in further blocks when too long), its children,
    /// and the images its text held.
    fn text_block(
        &mut self,
        kind: &str,
        r: Runs,
        mut data: BlockData,
        children: Vec<NBlock>,
        out: &mut Vec<NBlock>,
    ) {
        let Runs { items, images, .. } = r;
        let mut chunks = self.fit(items, kind).into_iter();
        data.rich_text = Some(chunks.next().unwrap_or_default());
        let cont: Vec<NBlock> = chunks.map(|c| paragraph(c, data.color.clone())).collect();
        let mut block = nb(kind, data, Vec::new());
        if takes_children(&block) && kind != "paragraph" {
            let mut kids = cont;
            kids.extend(images);
            kids.extend(children);
            block.has_children = !kids.is_empty();
            block.children = kids;
            out.push(block);
        } else {
            block.has_children = !children.is_empty();
            block.children = children;
            out.push(block);
            out.extend(cont);
            out.extend(images);
        }
    }

    /// A list item, to-do or quote: the first `Plain`/`Paragraph` is its text, the rest its
    /// children.
    fn container(
        &mut self,
        kind: &str,
        data: BlockData,
        blocks: &[ir::Block],
        depth: usize,
        out: &mut Vec<NBlock>,
    ) {
        let (content, rest) = split_first(blocks);
        let r = self.runs(content);
        let children = self.blocks(rest, depth + 1);
        self.text_block(kind, r, data, children, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn heading(
        &mut self,
        level: u8,
        content: &[Inline],
        align: Option<ir::Align>,
        attrs: &Attrs,
        toggle_children: Option<&Vec<ir::Block>>,
        depth: usize,
        out: &mut Vec<NBlock>,
    ) {
        let kind = match level {
            0 | 1 => "heading_1",
            2 => "heading_2",
            3 => "heading_3",
            4 => "heading_4",
            _ => {
                self.fb(
                    format!("heading:h{level}"),
                    "heading_4 (Notion has four heading levels)",
                );
                "heading_4"
            }
        };
        if matches!(align, Some(a) if a != ir::Align::Left) {
            self.fb_once(
                "heading:align",
                "a heading without alignment (Notion has none)",
            );
        }
        let toggleable =
            attr(attrs, "notion:toggleable") == Some("true") || toggle_children.is_some();
        let children = toggle_children
            .map(|bs| self.blocks(bs, depth + 1))
            .unwrap_or_default();
        let data = BlockData {
            color: color_attr(attrs),
            is_toggleable: toggleable,
            ..BlockData::default()
        };
        let r = self.runs(content);
        self.text_block(kind, r, data, children, out);
    }

    fn callout(&mut self, c: &ir::Callout, depth: usize, out: &mut Vec<NBlock>) {
        let kind_icon = || -> Option<Icon> {
            let e = match c.kind {
                ir::CalloutKind::Info => "ℹ️",
                ir::CalloutKind::Note => "📝",
                ir::CalloutKind::Tip => "💡",
                ir::CalloutKind::Warning => "⚠️",
                ir::CalloutKind::Error => "❗",
                ir::CalloutKind::Success => "✅",
                ir::CalloutKind::Panel => return None,
            };
            Some(Icon::Emoji { emoji: e.into() })
        };
        let icon = match c.icon.as_deref() {
            Some(s) if external_ok(s) => Some(Icon::External {
                external: ExternalFile { url: s.into() },
            }),
            Some(s) if looks_emoji(s) => Some(Icon::Emoji { emoji: s.into() }),
            Some(_) => {
                self.fb(
                    "callout:icon",
                    "the panel kind's emoji (the icon is not an emoji or a URL)",
                );
                kind_icon()
            }
            None => kind_icon(),
        };
        let color = color_attr(&c.attrs).or_else(|| {
            if c.icon.is_some() {
                return None;
            }
            match c.kind {
                ir::CalloutKind::Info => Some("blue_background".into()),
                ir::CalloutKind::Note | ir::CalloutKind::Tip => Some("gray_background".into()),
                ir::CalloutKind::Warning => Some("yellow_background".into()),
                ir::CalloutKind::Error => Some("red_background".into()),
                ir::CalloutKind::Success => Some("green_background".into()),
                ir::CalloutKind::Panel => c
                    .params
                    .get("bgColor")
                    .and_then(|bg| nearest_color(bg, true))
                    .map(|(n, _)| model::color(&n))
                    .filter(|n| n != "default"),
            }
        });
        let (content, rest) = split_first(&c.blocks);
        let mut inl: Vec<Inline> = Vec::new();
        if let Some(t) = c.title.as_ref().filter(|t| !t.is_empty()) {
            self.fb("callout:title", "a bold first line");
            inl.push(Inline::mark(Mark::Strong, vec![Inline::text(t.clone())]));
            if !content.is_empty() {
                inl.push(Inline::Break {
                    attrs: Attrs::new(),
                });
            }
        }
        inl.extend(content.iter().cloned());
        let r = self.runs(&inl);
        let children = self.blocks(rest, depth + 1);
        let data = BlockData {
            color,
            rare: Some(Box::new(RareData {
                icon,
                ..Default::default()
            })),
            ..BlockData::default()
        };
        self.text_block("callout", r, data, children, out);
    }

    fn code(&mut self, c: &ir::Code, out: &mut Vec<NBlock>) {
        let (language, known) = notion_language(c.language.as_deref());
        if !known {
            self.fb(
                format!("code:{}", c.language.as_deref().unwrap_or_default()),
                "a plain text code block (Notion has no such language)",
            );
        }
        let caption = c
            .title
            .as_deref()
            .filter(|t| !t.is_empty())
            .and_then(|t| self.caption(vec![plain_rt(t)]));
        self.code_blocks(&c.text, language, caption, out);
    }

    fn code_blocks(
        &mut self,
        text: &str,
        language: String,
        caption: Option<Vec<RichText>>,
        out: &mut Vec<NBlock>,
    ) {
        let items = if text.is_empty() {
            Vec::new()
        } else {
            vec![plain_rt(text)]
        };
        let mut caption = caption;
        for chunk in self.fit(items, "code") {
            let data = BlockData {
                rich_text: Some(chunk),
                rare: Some(Box::new(RareData {
                    language: Some(language.clone()),
                    caption: caption.take(),
                    ..Default::default()
                })),
                ..BlockData::default()
            };
            out.push(nb("code", data, Vec::new()));
        }
    }

    // --------------------------------------------------------------------------- tables

    fn table(&mut self, t: &ir::Table, out: &mut Vec<NBlock>) {
        let mut grid: Vec<Vec<Vec<RichText>>> = Vec::with_capacity(t.rows.len());
        let mut carry: Vec<u32> = Vec::new();
        let mut spans = false;
        for row in &t.rows {
            let mut cells: Vec<Vec<RichText>> = Vec::new();
            let mut col = 0usize;
            let mut it = row.cells.iter();
            loop {
                while col < carry.len() && carry[col] > 0 {
                    carry[col] -= 1;
                    cells.push(Vec::new());
                    col += 1;
                }
                let Some(cell) = it.next() else { break };
                let cs = cell.colspan.unwrap_or(1).clamp(1, MAX_COLSPAN) as usize;
                let rs = cell.rowspan.unwrap_or(1).max(1);
                if cs > 1 || rs > 1 {
                    spans = true;
                }
                cells.push(self.cell(&cell.blocks));
                cells.extend((1..cs).map(|_| Vec::new()));
                if carry.len() < col + cs {
                    carry.resize(col + cs, 0);
                }
                for slot in &mut carry[col..col + cs] {
                    *slot = (*slot).max(rs - 1);
                }
                col += cs;
            }
            while col < carry.len() {
                if carry[col] > 0 {
                    carry[col] -= 1;
                }
                cells.push(Vec::new());
                col += 1;
            }
            grid.push(cells);
        }
        let width = grid.iter().map(Vec::len).max().unwrap_or(0);
        if width == 0 {
            if !t.rows.is_empty() {
                self.fb("table", "nothing (a table without cells)");
            }
            return;
        }
        if spans {
            self.fb(
                "table:span",
                "empty cells beside the spanning cell (Notion cells do not span)",
            );
        }
        let cell_bytes = (ROW_BYTES / width).min(RICH_TEXT_BYTES);
        let mut cut_any = false;
        let rows: Vec<NBlock> = grid
            .into_iter()
            .map(|cells| {
                let mut row: Vec<Vec<RichText>> = cells
                    .into_iter()
                    .map(|c| {
                        let (c, cut) = truncate(c, cell_bytes);
                        cut_any |= cut;
                        c
                    })
                    .collect();
                row.resize_with(width, Vec::new);
                nb(
                    "table_row",
                    BlockData {
                        cells: Some(row),
                        ..BlockData::default()
                    },
                    Vec::new(),
                )
            })
            .collect();
        if cut_any {
            self.fb("table:cell", "its text cut to fit Notion's limits");
        }
        let flag = |k: &str, default: bool| match attr(&t.attrs, k) {
            Some("true") => true,
            Some("false") => false,
            _ => default,
        };
        let data = BlockData {
            table_width: Some(u32::try_from(width).unwrap_or(u32::MAX)),
            has_column_header: Some(flag("notion:has_column_header", t.has_header_row())),
            has_row_header: Some(flag("notion:has_row_header", t.has_header_column())),
            ..BlockData::default()
        };
        out.push(nb("table", data, rows));
    }

    /// A table cell's rich text (not yet cut): paragraphs become lines, other blocks their text.
    fn cell(&mut self, blocks: &[ir::Block]) -> Vec<RichText> {
        let mut r = Runs {
            text_only: true,
            ..Runs::default()
        };
        for (i, b) in blocks.iter().enumerate() {
            if i > 0 {
                push_text(&mut r, "\n", &Style::default(), None);
            }
            match b {
                ir::Block::Plain { content } | ir::Block::Paragraph { content, .. } => {
                    self.inlines(content, &Style::default(), None, 0, &mut r)
                }
                other => {
                    self.fb(
                        format!("table:cell:{}", kind_name(other)),
                        "its plain text (Notion cells hold text only)",
                    );
                    push_text(
                        &mut r,
                        &text::blocks_to_text(std::slice::from_ref(other)),
                        &Style::default(),
                        None,
                    );
                }
            }
        }
        split_long(r.items)
    }

    // --------------------------------------------------------------------------- layouts

    fn layout(&mut self, l: &ir::Layout, depth: usize, out: &mut Vec<NBlock>) {
        for s in &l.sections {
            match s.cells.len() {
                0 => {}
                1 => {
                    let kids = self.blocks(&s.cells[0].blocks, depth + 1);
                    out.extend(kids);
                }
                n => {
                    if self.in_column {
                        self.fb(
                            "layout",
                            "its cells one after the other (Notion columns do not nest)",
                        );
                        for c in &s.cells {
                            let kids = self.blocks(&c.blocks, depth + 1);
                            out.extend(kids);
                        }
                        continue;
                    }
                    let preset: &[f64] = match s.kind.as_str() {
                        "two_left_sidebar" => &[0.3, 0.7],
                        "two_right_sidebar" => &[0.7, 0.3],
                        "three_with_sidebars" => &[0.25, 0.5, 0.25],
                        _ => &[],
                    };
                    let was = std::mem::replace(&mut self.in_column, true);
                    let mut cols: Vec<(Option<f64>, Vec<NBlock>)> = Vec::new();
                    for (i, cell) in s.cells.iter().enumerate() {
                        let w = cell
                            .width
                            .or_else(|| (preset.len() == n).then(|| preset[i]))
                            .filter(|w| w.is_finite() && *w > 0.0 && *w <= 1.0);
                        let kids = self.blocks(&cell.blocks, depth + 1);
                        match cols.last_mut() {
                            Some(last) if i >= MAX_COLUMNS => {
                                last.0 = match (last.0, w) {
                                    (Some(a), Some(b)) => Some((a + b).min(1.0)),
                                    _ => None,
                                };
                                last.1.extend(kids);
                            }
                            _ => cols.push((w, kids)),
                        }
                    }
                    self.in_column = was;
                    if n > MAX_COLUMNS {
                        self.fb(
                            format!("layout:{n}_columns"),
                            format!(
                                "{MAX_COLUMNS} columns, the cells past the fifth in the last one"
                            ),
                        );
                    }
                    let columns = cols
                        .into_iter()
                        .map(|(w, kids)| {
                            nb(
                                "column",
                                BlockData {
                                    rare: Some(Box::new(RareData {
                                        width_ratio: w,
                                        ..Default::default()
                                    })),
                                    ..BlockData::default()
                                },
                                kids,
                            )
                        })
                        .collect();
                    out.push(nb("column_list", BlockData::default(), columns));
                }
            }
        }
    }

    // --------------------------------------------------------------------------- media

    fn attachment(&mut self, filename: &str, container: Option<&LinkTarget>) -> String {
        let placeholder = match container.and_then(|c| c.name(None)) {
            Some(c) => format!("kbridge-attachment:{c}/{filename}"),
            None => format!("kbridge-attachment:{filename}"),
        };
        if !self
            .attachments
            .iter()
            .any(|a| a.placeholder == placeholder)
        {
            self.attachments.push(Attachment {
                placeholder: placeholder.clone(),
                source: AttachmentSource::Attachment {
                    filename: filename.to_string(),
                    container: container.cloned(),
                },
            });
        }
        placeholder
    }

    fn hosted(&mut self, url: &str) -> String {
        let placeholder = format!("kbridge-url:{url}");
        if !self
            .attachments
            .iter()
            .any(|a| a.placeholder == placeholder)
        {
            self.attachments.push(Attachment {
                placeholder: placeholder.clone(),
                source: AttachmentSource::Url { url: url.into() },
            });
        }
        placeholder
    }

    /// The source of a media block from a URL (with the reader's `notion:source`): an upload
    /// (`file_upload:<id>`, or a Notion-hosted file to upload again) or an external URL.
    fn url_source(&mut self, url: &str, attrs: &Attrs) -> Option<BlockData> {
        match attr(attrs, "notion:source") {
            Some("file_upload")
                if url
                    .strip_prefix("file_upload:")
                    .is_some_and(|id| !id.is_empty()) =>
            {
                Some(upload_data(url.trim_start_matches("file_upload:")))
            }
            Some("file") if !url.is_empty() => {
                let p = self.hosted(url);
                Some(upload_data(&p))
            }
            _ if external_ok(url) => Some(BlockData {
                rare: Some(Box::new(RareData {
                    source_type: Some("external".into()),
                    external: Some(ExternalFile { url: url.into() }),
                    ..Default::default()
                })),
                ..BlockData::default()
            }),
            _ => None,
        }
    }

    /// A paragraph standing for a media block that cannot be written (its link, or its text).
    fn media_paragraph(
        &mut self,
        node: &str,
        target: LinkTarget,
        caption: &[Inline],
        out: &mut Vec<NBlock>,
    ) {
        self.fb(node, "a paragraph with a link (no usable address)");
        let link = Inline::link(ir::Link {
            target,
            anchor: None,
            content: caption.to_vec(),
            plain_body: false,
            attrs: Attrs::new(),
        });
        let r = self.runs(&[link]);
        self.text_block("paragraph", r, BlockData::default(), Vec::new(), out);
    }

    fn image(&mut self, img: &ir::Image, out: &mut Vec<NBlock>) {
        let data = match &img.source {
            ir::ImageSource::Url { url } => self.url_source(url, &img.attrs),
            ir::ImageSource::Attachment {
                filename,
                container,
                ..
            } => {
                let p = self.attachment(filename, container.as_deref());
                Some(upload_data(&p))
            }
        };
        match data {
            Some(mut data) => {
                data.caption = img.caption.as_deref().and_then(|c| self.caption_blocks(c));
                out.push(nb("image", data, Vec::new()));
            }
            None => {
                let ir::ImageSource::Url { url } = &img.source else {
                    return;
                };
                let alt: Vec<Inline> = img.alt.iter().map(|a| Inline::text(a.clone())).collect();
                self.media_paragraph("image", LinkTarget::url(url.clone()), &alt, out);
            }
        }
    }

    fn file(&mut self, f: &ir::FileRef, out: &mut Vec<NBlock>) {
        let kind = if attr(&f.attrs, "notion:block") == Some("pdf") {
            "pdf"
        } else {
            "file"
        };
        let data = match &f.target {
            LinkTarget::Url { url } => self.url_source(url, &f.attrs),
            LinkTarget::Attachment {
                filename,
                container,
                ..
            } => {
                let p = self.attachment(filename, container.as_deref());
                Some(upload_data(&p))
            }
            _ => None,
        };
        let caption = f.caption.as_deref().unwrap_or_default();
        match data {
            Some(mut data) => {
                data.caption = self.caption_inlines(caption);
                if kind == "file" {
                    data.name = f.attrs.get("notion:name").cloned();
                }
                out.push(nb(kind, data, Vec::new()));
            }
            None => self.media_paragraph(kind, f.target.clone(), caption, out),
        }
    }

    fn embed(&mut self, e: &ir::Embed, out: &mut Vec<NBlock>) {
        let (kind, media) = match e.kind.as_str() {
            k @ ("video" | "audio" | "image" | "pdf" | "file") => (k, true),
            "embed" => ("embed", false),
            "bookmark" | "block" => ("bookmark", false),
            "link_preview" => {
                self.fb(
                    "embed:link_preview",
                    "a bookmark (link previews cannot be created)",
                );
                ("bookmark", false)
            }
            other => {
                self.fb(format!("embed:{other}"), "a bookmark");
                ("bookmark", false)
            }
        };
        let caption = e.caption.as_deref().unwrap_or_default();
        let data = if media {
            self.url_source(&e.url, &e.attrs)
        } else if external_ok(&e.url) {
            Some(BlockData {
                rare: Some(Box::new(RareData {
                    url: Some(e.url.clone()),
                    ..Default::default()
                })),
                ..BlockData::default()
            })
        } else {
            None
        };
        match data {
            Some(mut data) => {
                data.caption = self.caption_inlines(caption);
                out.push(nb(kind, data, Vec::new()));
            }
            None => self.media_paragraph(
                &format!("embed:{}", e.kind),
                LinkTarget::url(e.url.clone()),
                caption,
                out,
            ),
        }
    }

    // --------------------------------------------------------------------------- extensions

    fn extension(&mut self, x: &ir::Extension, depth: usize, out: &mut Vec<NBlock>) {
        if x.format == "notion" {
            let parsed = x
                .source
                .as_deref()
                .and_then(|s| serde_json::from_str::<NBlock>(s).ok());
            if let Some(b) = parsed
                && CREATABLE.contains(&b.kind.as_str())
                && b.data.is_some()
            {
                let mut b = self.sanitize(b);
                b.children = self.blocks(&x.body, depth + 1);
                b.has_children = !b.children.is_empty();
                out.push(b);
                return;
            }
            let mut kids = self.blocks(&x.body, depth + 1);
            if kids.is_empty()
                && let Some(t) = x.text.as_deref().filter(|t| !t.is_empty())
            {
                let mut r = Runs::default();
                push_text(&mut r, t, &Style::default(), None);
                self.text_block("paragraph", r, BlockData::default(), Vec::new(), &mut kids);
            }
            let how = if kids.is_empty() {
                "nothing (Notion cannot create it through the API)"
            } else {
                "its text and children (Notion cannot create the block itself through the API)"
            };
            self.fb_ext(format!("extension:notion:{}", x.name), how);
            out.extend(kids);
            return;
        }
        let node = format!("extension:{}:{}", x.kind, x.name);
        let label = match (x.format.as_str(), x.kind.as_str()) {
            ("storage", "macro") => format!("confluence macro: {}", x.name),
            ("storage", k) => format!("confluence {k}: {}", x.name),
            (f, k) => format!("{f} {k}: {}", x.name),
        };
        let caption = self.caption(vec![plain_rt(&label)]);
        if let Some(t) = x.text.as_deref() {
            self.fb_ext(node, "a code block with its text");
            self.code_blocks(t, "plain text".into(), caption, out);
        } else if !x.body.is_empty() {
            self.fb_ext(node, "its content");
            let kids = self.blocks(&x.body, depth + 1);
            out.extend(kids);
        } else if let Some(src) = x.source.as_deref() {
            self.fb_ext(node, "a code block with its source");
            self.code_blocks(src, "plain text".into(), caption, out);
        } else {
            self.fb_ext(node, "a note paragraph");
            self.note(&format!("[{label}]"), out);
        }
    }

    /// A block read from Notion made creatable: no id or envelope, request-only fields, rich
    /// text within limits, hosted files uploaded again.
    fn sanitize(&mut self, mut b: NBlock) -> NBlock {
        b.id = None;
        b.extra = Map::new();
        b.in_trash = false;
        b.children = Vec::new();
        b.has_children = false;
        if let Some(d) = &mut b.data {
            d.children = None;
            d.columns = None;
            d.table_rows = None;
            // Fields the block type's request shape does not have (response-only, or a
            // renderer's additions) would fail validation.
            d.extra = Map::new();
            if d.rich_text.is_none()
                && let Some(t) = d.text.take()
            {
                d.rich_text = Some(t);
            }
            d.text = None;
            let clean = |v: Vec<RichText>| -> Vec<RichText> {
                let v: Vec<RichText> = v
                    .into_iter()
                    .map(|mut r| {
                        r.href = None;
                        if !matches!(r.kind, RichTextKind::Mention { .. }) {
                            r.plain_text = None;
                        }
                        r
                    })
                    .collect();
                truncate(split_long(v), RICH_TEXT_BYTES).0
            };
            d.rich_text = d.rich_text.take().map(clean);
            d.caption = d.caption.take().map(clean);
            d.cells = d
                .cells
                .take()
                .map(|cells| cells.into_iter().map(clean).collect());
            if let Some(f) = d.file.take() {
                let p = self.hosted(&f.url);
                d.source_type = Some("file_upload".into());
                d.file_upload = Some(IdRef { id: p });
            }
        }
        b
    }

    // --------------------------------------------------------------------------- inlines

    fn inlines(
        &mut self,
        xs: &[Inline],
        st: &Style,
        link: Option<&str>,
        depth: usize,
        r: &mut Runs,
    ) {
        if depth > MAX_INLINE_DEPTH {
            self.fb_once(
                "deep_nesting",
                &format!("its text (inline nesting deeper than {MAX_INLINE_DEPTH} levels)"),
            );
            push_text(r, &text::inlines_to_text(xs), st, link);
            return;
        }
        for x in xs {
            match x {
                Inline::Text { text } => push_text(r, text, st, link),
                Inline::Mark { mark, content, .. } => {
                    let mut s = st.clone();
                    match mark {
                        Mark::Strong => s.bold = true,
                        Mark::Emphasis => s.italic = true,
                        Mark::Underline => s.underline = true,
                        Mark::Strike => s.strike = true,
                        Mark::Code => s.code = true,
                        Mark::Subscript => {
                            self.fb_once("mark:subscript", "its text (Notion has no subscript)")
                        }
                        Mark::Superscript => {
                            self.fb_once("mark:superscript", "its text (Notion has no superscript)")
                        }
                        Mark::Small => {
                            self.fb_once("mark:small", "its text (Notion has no small text)")
                        }
                        Mark::Big => self.fb_once("mark:big", "its text (Notion has no big text)"),
                        Mark::InlineComment { .. } => self.fb_once(
                            "mark:inline_comment",
                            "its text (comments are not carried over)",
                        ),
                    }
                    self.inlines(content, &s, link, depth + 1, r);
                }
                Inline::Span {
                    style,
                    content,
                    attrs,
                } => {
                    let s = self.span_style(st, style, attrs);
                    self.inlines(content, &s, link, depth + 1, r);
                }
                Inline::Link(l) => self.link(l, st, link, depth, r),
                Inline::Image(img) => {
                    if r.text_only {
                        self.fb("image:inline", "its caption, alt text or address as text");
                        let t = img
                            .caption
                            .as_deref()
                            .map(text::blocks_to_text)
                            .filter(|t| !t.is_empty())
                            .or_else(|| img.alt.clone())
                            .unwrap_or_else(|| match &img.source {
                                ir::ImageSource::Url { url } => url.clone(),
                                ir::ImageSource::Attachment { filename, .. } => filename.clone(),
                            });
                        push_text(r, &t, st, link);
                    } else {
                        self.fb("image:inline", "an image block after its paragraph");
                        let mut v = Vec::new();
                        self.image(img, &mut v);
                        r.images.extend(v);
                    }
                }
                Inline::Emoji(e) => self.emoji(e, st, link, r),
                Inline::Status(s) => {
                    self.fb("status", "[TEXT] on the status colour");
                    let mut s2 = st.clone();
                    s2.color = Some(status_color(s.colour.as_deref()).into());
                    push_text(r, &format!("[{}]", s.text), &s2, link);
                }
                Inline::Date { date, attrs } => {
                    if iso_date(date) {
                        let mention = Mention::Date {
                            date: DateValue {
                                start: date.clone(),
                                end: attrs.get("notion:end").cloned(),
                                time_zone: attrs.get("notion:time_zone").cloned(),
                            },
                        };
                        let shown = match attrs.get("notion:end") {
                            Some(e) => format!("{date} → {e}"),
                            None => date.clone(),
                        };
                        push_mention(r, mention, st, Some(shown));
                    } else {
                        self.fb("date", "its text (not an ISO 8601 date)");
                        push_text(r, date, st, link);
                    }
                }
                Inline::Break { .. } => push_text(r, "\n", st, link),
                Inline::Math(m) => {
                    if m.tex.is_empty() {
                        continue;
                    }
                    if utf16_len(&m.tex) <= MAX_EQUATION {
                        r.items.push(RichText {
                            kind: RichTextKind::Equation {
                                equation: model::Equation {
                                    expression: m.tex.clone(),
                                },
                            },
                            annotations: st.ann(),
                            plain_text: None,
                            href: None,
                        });
                    } else {
                        self.fb("math:inline", "code text (over 1000 characters)");
                        let s = Style {
                            code: true,
                            ..st.clone()
                        };
                        push_text(r, &m.tex, &s, link);
                    }
                }
                Inline::Anchor { .. } => {
                    self.fb_once("anchor", "nothing (Notion has no named anchors)")
                }
                Inline::Placeholder { text, attrs } => self.placeholder(text, attrs, st, link, r),
                Inline::Jira(m) => {
                    self.fb("jira", "the issue key as text");
                    let t = match (m.params.get("key"), m.params.get("jqlQuery")) {
                        (Some(k), _) => k.to_string(),
                        (None, Some(q)) => format!("Jira: {q}"),
                        (None, None) => "Jira issues".into(),
                    };
                    push_text(r, &t, st, link);
                }
                Inline::Extension(x) => {
                    self.fb_ext(format!("extension:{}:{}", x.kind, x.name), "its text");
                    let t = x
                        .text
                        .clone()
                        .unwrap_or_else(|| text::blocks_to_text(&x.body));
                    push_text(r, &t, st, link);
                }
            }
        }
    }

    fn span_style(&mut self, st: &Style, style: &ir::SpanStyle, attrs: &Attrs) -> Style {
        let mut s = st.clone();
        if style.strike {
            s.strike = true;
        }
        if style.underline {
            s.underline = true;
        }
        if let Some(c) = attrs.get("notion:color").filter(|c| is_color(c)) {
            s.color = Some(c.clone());
            return s;
        }
        let fg = style.color.as_deref().map(|c| (c, nearest_color(c, false)));
        let bg = style
            .background
            .as_deref()
            .map(|c| (c, nearest_color(c, true)));
        for (_, got) in fg.iter().chain(bg.iter()) {
            match got {
                None => self.fb_once("span:color", "uncoloured text (colour not understood)"),
                Some((_, false)) => self.fb_once("span:color", "the nearest Notion colour"),
                Some((_, true)) => {}
            }
        }
        let fg = fg.and_then(|(_, g)| g).map(|(n, _)| n);
        let bg = bg.and_then(|(_, g)| g).map(|(n, _)| n);
        match (fg, bg) {
            (Some(f), Some(b)) => {
                if b != "default" && f != "default" {
                    self.fb_once(
                        "span:background",
                        "the text colour only (a Notion run has one colour)",
                    );
                }
                s.color = Some(if f == "default" { b } else { f });
            }
            (Some(c), None) | (None, Some(c)) => s.color = Some(c),
            (None, None) => {}
        }
        s
    }

    fn link(&mut self, l: &ir::Link, st: &Style, outer: Option<&str>, depth: usize, r: &mut Runs) {
        let named;
        let content: &[Inline] = if l.content.is_empty() {
            // A person by the name Notion showed (as the Markdown and storage writers do).
            let person = match &l.target {
                LinkTarget::User { .. } => attr(&l.attrs, "notion:name")
                    .filter(|n| !n.trim().is_empty())
                    .map(|n| format!("@{n}")),
                _ => None,
            };
            named = [Inline::text(person.unwrap_or_else(|| {
                l.target.name(l.anchor.as_deref()).unwrap_or_default()
            }))];
            &named
        } else {
            &l.content
        };
        let text_only = |w: &mut Self, node: &str, why: &str, r: &mut Runs| {
            w.fb(node, why);
            w.inlines(content, st, outer, depth + 1, r);
        };
        match &l.target {
            LinkTarget::Url { url } => {
                if let Some(m @ ("link_preview" | "link_mention")) =
                    attr(&l.attrs, "notion:mention")
                {
                    self.fb_once(
                        &format!("mention:{m}"),
                        "a text link (the API does not create link mentions)",
                    );
                }
                let u = match &l.anchor {
                    Some(a) if !url.contains('#') && !a.is_empty() => format!("{url}#{a}"),
                    _ => url.clone(),
                };
                if link_ok(&u) {
                    self.inlines(content, st, Some(&u), depth + 1, r);
                } else {
                    text_only(
                        self,
                        "link",
                        "its text (the URL is relative, empty or longer than 2000 characters)",
                        r,
                    );
                }
            }
            LinkTarget::Page {
                id: Some(id),
                title,
                ..
            } if is_notion_id(id) => match attr(&l.attrs, "notion:mention") {
                Some(k @ ("page" | "database")) => {
                    let mention = if k == "page" {
                        Mention::Page {
                            page: IdRef { id: id.clone() },
                        }
                    } else {
                        Mention::Database {
                            database: IdRef { id: id.clone() },
                        }
                    };
                    push_mention(r, mention, st, title.clone());
                }
                _ => {
                    let mut u = format!("/{}", id.replace('-', ""));
                    if let Some(a) = l.anchor.as_ref().filter(|a| !a.is_empty()) {
                        u.push('#');
                        u.push_str(a);
                    }
                    if link_ok(&u) {
                        self.inlines(content, st, Some(&u), depth + 1, r);
                    } else {
                        text_only(
                            self,
                            "link:page",
                            "its text (the anchor is not a Notion block id)",
                            r,
                        );
                    }
                }
            },
            LinkTarget::Page { .. } => text_only(
                self,
                "link:page",
                "its text (no Notion page id yet: the engine resolves links first)",
                r,
            ),
            LinkTarget::User {
                account_id: Some(id),
                ..
            } if is_notion_id(id) => {
                let name = l.attrs.get("notion:name").map(|n| format!("@{n}"));
                let user = model::User {
                    id: id.clone(),
                    name: None,
                    extra: Map::new(),
                };
                push_mention(r, Mention::User { user }, st, name);
            }
            LinkTarget::User { .. } => text_only(
                self,
                "link:user",
                "its text (no Notion user id: the engine maps users first)",
                r,
            ),
            LinkTarget::SamePage => text_only(
                self,
                "link:same_page",
                "its text (Notion has no named anchors)",
                r,
            ),
            LinkTarget::Attachment { .. } => text_only(self, "link:attachment", "its text", r),
            LinkTarget::BlogPost { .. } => text_only(self, "link:blog_post", "its text", r),
            LinkTarget::Space { .. } => text_only(self, "link:space", "its text", r),
            LinkTarget::Content { .. } => text_only(self, "link:content", "its text", r),
            LinkTarget::Shortcut { .. } => text_only(self, "link:shortcut", "its text", r),
        }
    }

    fn emoji(&mut self, e: &ir::Emoji, st: &Style, link: Option<&str>, r: &mut Runs) {
        if e.attrs.contains_key("notion:url")
            && let Some(id) = e.id.as_ref().filter(|i| !i.is_empty())
        {
            let mut m = Map::new();
            m.insert("id".into(), Value::String(id.clone()));
            push_mention(
                r,
                Mention::CustomEmoji { custom_emoji: m },
                st,
                e.shortname.clone(),
            );
            return;
        }
        if let Some(t) = e.text.as_ref().filter(|t| !t.is_empty()) {
            push_text(r, t, st, link);
            return;
        }
        let name = e
            .shortname
            .clone()
            .or_else(|| e.name.as_ref().map(|n| format!(":{n}:")));
        if let Some(n) = name {
            self.fb("emoji", "its :shortname: as text");
            let n = if n.starts_with(':') {
                n
            } else {
                format!(":{n}:")
            };
            push_text(r, &n, st, link);
        }
    }

    fn placeholder(
        &mut self,
        t: &str,
        attrs: &Attrs,
        st: &Style,
        link: Option<&str>,
        r: &mut Runs,
    ) {
        if attr(attrs, "notion:mention") == Some("template_mention") {
            let mut m = Map::new();
            match attr(attrs, "notion:template") {
                Some(v @ ("today" | "now")) => {
                    m.insert("type".into(), Value::String("template_mention_date".into()));
                    m.insert("template_mention_date".into(), Value::String(v.into()));
                }
                Some("me") => {
                    m.insert("type".into(), Value::String("template_mention_user".into()));
                    m.insert("template_mention_user".into(), Value::String("me".into()));
                }
                _ => {}
            }
            if !m.is_empty() {
                let plain = Some(t.to_string()).filter(|t| !t.is_empty());
                push_mention(
                    r,
                    Mention::TemplateMention {
                        template_mention: m,
                    },
                    st,
                    plain,
                );
                return;
            }
        }
        if t.is_empty() {
            return;
        }
        self.fb("placeholder", "italic grey text");
        let s = Style {
            italic: true,
            color: Some("gray".into()),
            ..st.clone()
        };
        push_text(r, t, &s, link);
    }

    // --------------------------------------------------------------------------- creation rules

    /// Makes the tree creatable: column lists with two or more columns that each start with a
    /// small childless block, tables with rows, children only under blocks that take them.
    fn finish(&mut self, blocks: Vec<NBlock>) -> Vec<NBlock> {
        let mut out = Vec::with_capacity(blocks.len());
        for mut b in blocks {
            let kids = std::mem::take(&mut b.children);
            let kids = self.finish(kids);
            match b.kind.as_str() {
                "column_list" => {
                    let mut cols: Vec<NBlock> = Vec::new();
                    for k in kids {
                        if k.kind == "column" {
                            cols.push(k);
                        } else if let Some(last) = cols.last_mut() {
                            last.children.push(k);
                        } else {
                            cols.push(nb("column", BlockData::default(), vec![k]));
                        }
                    }
                    if cols.len() < 2 {
                        for c in cols {
                            out.extend(c.children);
                        }
                        continue;
                    }
                    for c in &mut cols {
                        let first_ok = c.children.first().is_some_and(|f| {
                            need(&f.kind) == 0
                                && f.children.is_empty()
                                && own_len(f) <= COLUMN_FIRST_BYTES
                        });
                        if !first_ok {
                            if !c.children.is_empty() {
                                self.fin_fb_once(
                                    "column",
                                    "an empty first paragraph (a column is created with its first block, which must be small and childless)",
                                );
                            }
                            c.children.insert(0, paragraph(Vec::new(), None));
                        }
                        c.has_children = true;
                    }
                    b.children = cols;
                }
                "table" => {
                    if kids.is_empty() {
                        self.fin_fb("table", "nothing (a table without rows)");
                        continue;
                    }
                    b.children = kids;
                }
                _ if !kids.is_empty() && !takes_children(&b) => {
                    b.has_children = false;
                    out.push(b);
                    out.extend(kids);
                    continue;
                }
                _ => b.children = kids,
            }
            b.has_children = !b.children.is_empty();
            out.push(b);
        }
        out
    }
}

fn upload_data(id: &str) -> BlockData {
    BlockData::with_rare(RareData {
        source_type: Some("file_upload".into()),
        file_upload: Some(IdRef { id: id.into() }),
        ..RareData::default()
    })
}

/// Background colour for a Confluence status colour.
fn status_color(c: Option<&str>) -> &'static str {
    match c.map(str::to_ascii_lowercase).as_deref() {
        Some("red") => "red_background",
        Some("yellow") => "yellow_background",
        Some("green") => "green_background",
        Some("blue") => "blue_background",
        Some("purple") => "purple_background",
        _ => "gray_background",
    }
}

/// Makes `produced` the last children of the paragraph `indent` levels down the chain of last
/// blocks of `out` (the reader's `notion:indent` convention). Gives them back when there is no
/// such paragraph.
fn attach(out: &mut [NBlock], produced: Vec<NBlock>, indent: usize) -> Result<(), Vec<NBlock>> {
    let Some(mut parent) = out.last_mut() else {
        return Err(produced);
    };
    for _ in 1..indent {
        match parent.children.last_mut() {
            Some(c) => parent = c,
            None => return Err(produced),
        }
    }
    if parent.kind != "paragraph" {
        return Err(produced);
    }
    parent.children.extend(produced);
    parent.has_children = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_units_respects_limits_and_boundaries() {
        let s = "a".repeat(1999) + "😀" + "b";
        let parts = split_units(&s, 2000);
        assert!(parts.iter().all(|p| utf16_len(p) <= 2000));
        assert_eq!(parts.concat(), s);
        assert_eq!(
            parts[0].len(),
            1999,
            "the emoji does not fit in the first piece"
        );
        // an emoji + variation selector stays whole
        let s = "x".repeat(1999) + "\u{2764}\u{fe0f}";
        let parts = split_units(&s, 2000);
        assert_eq!(parts[1], "\u{2764}\u{fe0f}");
    }

    #[test]
    fn css_colours() {
        assert_eq!(
            nearest_color("rgb(191,38,0)", false)
                .map(|c| c.0)
                .as_deref(),
            Some("red")
        );
        assert_eq!(nearest_color("#d44c47", false), Some(("red".into(), true)));
        assert_eq!(
            nearest_color("#fdebec", true),
            Some(("red_background".into(), true))
        );
        assert_eq!(
            nearest_color("rgb(222,235,255)", true)
                .map(|c| c.0)
                .as_deref(),
            Some("blue_background")
        );
        assert_eq!(
            nearest_color("rgb(255,0,0)", true).map(|c| c.0).as_deref(),
            Some("red_background")
        );
        assert_eq!(
            nearest_color("#ffffff", true).map(|c| c.0).as_deref(),
            Some("default")
        );
        assert_eq!(
            nearest_color("var(--ds-background-accent-blue-subtlest, #e9f2ff)", true)
                .map(|c| c.0)
                .as_deref(),
            Some("blue_background")
        );
        assert_eq!(
            nearest_color("#000", false).map(|c| c.0).as_deref(),
            Some("default")
        );
        for (css, want) in [
            ("rgb(255,86,48)", "red"),
            ("rgb(54,179,126)", "green"),
            ("rgb(0,82,204)", "blue"),
            ("rgb(101,84,192)", "purple"),
            ("rgb(151,160,175)", "gray"),
            ("rgb(23,43,77)", "default"),
            ("#ff8b00", "orange"),
        ] {
            assert_eq!(
                nearest_color(css, false).map(|c| c.0).as_deref(),
                Some(want),
                "{css}"
            );
        }
        assert_eq!(nearest_color("nonsense", false), None);
    }

    #[test]
    fn languages() {
        assert_eq!(notion_language(None), ("plain text".into(), true));
        assert_eq!(notion_language(Some("cpp")), ("c++".into(), true));
        assert_eq!(notion_language(Some("csharp")), ("c#".into(), true));
        assert_eq!(notion_language(Some("bash")), ("bash".into(), true));
        assert_eq!(
            notion_language(Some("brainfuck")),
            ("plain text".into(), false)
        );
    }
}
