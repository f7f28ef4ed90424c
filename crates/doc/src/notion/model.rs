//! Serde types for Notion API objects (Notion-Version 2025-09-03, also reading 2022-06-28
//! payloads): blocks, rich text, pages, property values, databases and data sources.
//!
//! They are lenient by design: every object keeps the fields it does not model in `extra`, an
//! unknown block type keeps its whole payload, and fields that changed between API versions are
//! read in both spellings (`archived` and `in_trash`; a database's `properties` and its
//! `data_sources`). Writing one back produces what was read.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

fn is_false(b: &bool) -> bool {
    !*b
}

/// `{"object":"user","id":…}` (partial) or a full user.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Text colours and backgrounds (`red`, `red_background`, `default`…). Notion's own names are
/// held without an allocation ([`color`]); any other string read from the API is kept as it is.
pub type Color = std::borrow::Cow<'static, str>;

/// Notion's colour names (text and background).
pub const COLOR_NAMES: &[&str] = &[
    "default",
    "gray",
    "brown",
    "orange",
    "yellow",
    "green",
    "blue",
    "purple",
    "pink",
    "red",
    "default_background",
    "gray_background",
    "brown_background",
    "orange_background",
    "yellow_background",
    "green_background",
    "blue_background",
    "purple_background",
    "pink_background",
    "red_background",
];

/// `name` as a [`Color`]: borrowed from [`COLOR_NAMES`] when it is one of them (no allocation
/// per rich-text run), else owned.
pub fn color(name: &str) -> Color {
    match COLOR_NAMES.iter().find(|n| **n == name) {
        Some(n) => Color::Borrowed(n),
        None => Color::Owned(name.to_string()),
    }
}

fn de_color<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Color, D::Error> {
    let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
    Ok(color(&s))
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotations {
    #[serde(default)]
    pub bold: bool,
    #[serde(default)]
    pub italic: bool,
    #[serde(default)]
    pub strikethrough: bool,
    #[serde(default)]
    pub underline: bool,
    #[serde(default)]
    pub code: bool,
    #[serde(default = "default_color", deserialize_with = "de_color")]
    pub color: Color,
}

pub(crate) fn default_color() -> Color {
    Color::Borrowed("default")
}

impl Annotations {
    pub fn is_plain(&self) -> bool {
        !self.bold
            && !self.italic
            && !self.strikethrough
            && !self.underline
            && !self.code
            && self.color == "default"
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub url: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextContent {
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Equation {
    pub expression: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DateValue {
    pub start: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdRef {
    pub id: String,
}

/// A mention inside rich text. Unknown mention types keep their payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Mention {
    User {
        user: User,
    },
    Page {
        page: IdRef,
    },
    Database {
        database: IdRef,
    },
    Date {
        date: DateValue,
    },
    LinkPreview {
        link_preview: Map<String, Value>,
    },
    LinkMention {
        link_mention: Map<String, Value>,
    },
    TemplateMention {
        template_mention: Map<String, Value>,
    },
    CustomEmoji {
        custom_emoji: Map<String, Value>,
    },
    #[serde(untagged)]
    Other(Map<String, Value>),
}

/// What one rich-text item holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RichTextKind {
    Text {
        text: TextContent,
    },
    Equation {
        equation: Equation,
    },
    /// Boxed: a mention is rare and its payload is large (a rich-text run stays small).
    Mention {
        mention: Box<Mention>,
    },
    /// A rich-text type this version does not know, kept whole.
    #[serde(untagged)]
    Other(Box<Map<String, Value>>),
}

/// One rich-text run: uniform annotations over its content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RichText {
    #[serde(flatten)]
    pub kind: RichTextKind,
    #[serde(default)]
    pub annotations: Annotations,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plain_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

impl RichText {
    /// A plain text run.
    pub fn text(s: impl Into<String>) -> Self {
        RichText {
            kind: RichTextKind::Text {
                text: TextContent {
                    content: s.into(),
                    link: None,
                },
            },
            annotations: Annotations {
                color: default_color(),
                ..Default::default()
            },
            plain_text: None,
            href: None,
        }
    }
    /// The run's visible text.
    pub fn plain(&self) -> String {
        match (&self.plain_text, &self.kind) {
            (_, RichTextKind::Text { text }) => text.content.clone(),
            (Some(p), _) => p.clone(),
            (None, RichTextKind::Equation { equation }) => equation.expression.clone(),
            (None, RichTextKind::Mention { .. } | RichTextKind::Other(_)) => String::new(),
        }
    }
}

/// Hosted (`file`), external or uploaded file reference, as used by media blocks, icons, covers
/// and `files` properties.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FileSource {
    /// Notion-hosted: a pre-signed URL valid for an hour.
    File {
        file: HostedFile,
    },
    External {
        external: ExternalFile,
    },
    FileUpload {
        file_upload: IdRef,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostedFile {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_time: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExternalFile {
    pub url: String,
}

impl FileSource {
    pub fn url(&self) -> Option<&str> {
        match self {
            FileSource::File { file } => Some(&file.url),
            FileSource::External { external } => Some(&external.url),
            FileSource::FileUpload { .. } => None,
        }
    }
}

/// A page or callout icon.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Icon {
    Emoji {
        emoji: String,
    },
    External {
        external: ExternalFile,
    },
    File {
        file: HostedFile,
    },
    CustomEmoji {
        custom_emoji: Map<String, Value>,
    },
    #[serde(untagged)]
    Other(Map<String, Value>),
}

/// The type-specific payload of a block (`block[block.type]`). One type serves every block
/// type: each field exists on the types that have it; what no field models stays in `extra`.
///
/// The fields most blocks have (text, colour, to-do and toggle flags, table rows and headers)
/// are held inline; the others sit in [`RareData`], boxed and allocated only when one of them
/// is set, so that a block of a big page stays small. `BlockData` dereferences to its
/// `RareData` (an empty one when none is set), so `data.caption` reads any field, and writing
/// one (`data.caption = …`) allocates the box when needed. The JSON is one flat object, keys in
/// the order of the fields of the Notion API (rare and common interleaved as the API has them).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(from = "Wire")]
pub struct BlockData {
    pub rich_text: Option<Vec<RichText>>,
    pub color: Option<Color>,
    pub is_toggleable: bool,
    pub checked: Option<bool>,
    /// `table_row`.
    pub cells: Option<Vec<Vec<RichText>>>,
    /// `table`.
    pub table_width: Option<u32>,
    pub has_column_header: Option<bool>,
    pub has_row_header: Option<bool>,
    /// Every other field, when one is set.
    pub rare: Option<Box<RareData>>,
    pub extra: Map<String, Value>,
}

/// The fields of [`BlockData`] few blocks have.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RareData {
    /// Pre-2022-02-22 spelling of `rich_text`.
    pub text: Option<Vec<RichText>>,
    pub list_start_index: Option<u64>,
    pub list_format: Option<String>,
    pub icon: Option<Icon>,
    pub language: Option<String>,
    pub caption: Option<Vec<RichText>>,
    pub expression: Option<String>,
    pub url: Option<String>,
    pub name: Option<String>,
    pub title: Option<String>,
    /// Media blocks: `type` + `file` / `external` / `file_upload`.
    pub source_type: Option<String>,
    pub file: Option<HostedFile>,
    pub external: Option<ExternalFile>,
    pub file_upload: Option<IdRef>,
    /// `column`.
    pub width_ratio: Option<f64>,
    /// `synced_block`: `null` for an original, `{type:"block_id", block_id}` for a duplicate.
    pub synced_from: Option<Map<String, Value>>,
    /// `link_to_page`: `page_id` / `database_id` / `comment_id`.
    pub page_id: Option<String>,
    pub database_id: Option<String>,
    /// `unsupported`: the underlying type.
    pub block_type: Option<String>,
    /// Children embedded in the payload (request shape, and some captured fixtures).
    pub children: Option<Vec<Block>>,
    /// `column_list.columns` / `table.table_rows` (embedded children in captured fixtures).
    pub columns: Option<Vec<Block>>,
    pub table_rows: Option<Vec<Block>>,
}

static NO_RARE: RareData = RareData {
    text: None,
    list_start_index: None,
    list_format: None,
    icon: None,
    language: None,
    caption: None,
    expression: None,
    url: None,
    name: None,
    title: None,
    source_type: None,
    file: None,
    external: None,
    file_upload: None,
    width_ratio: None,
    synced_from: None,
    page_id: None,
    database_id: None,
    block_type: None,
    children: None,
    columns: None,
    table_rows: None,
};

/// Equal when every field is (an empty [`RareData`] box equals none).
impl PartialEq for BlockData {
    fn eq(&self, o: &Self) -> bool {
        self.rich_text == o.rich_text
            && self.color == o.color
            && self.is_toggleable == o.is_toggleable
            && self.checked == o.checked
            && self.cells == o.cells
            && self.table_width == o.table_width
            && self.has_column_header == o.has_column_header
            && self.has_row_header == o.has_row_header
            && self.extra == o.extra
            && **self == **o
    }
}

impl std::ops::Deref for BlockData {
    type Target = RareData;
    fn deref(&self) -> &RareData {
        self.rare.as_deref().unwrap_or(&NO_RARE)
    }
}

impl std::ops::DerefMut for BlockData {
    fn deref_mut(&mut self) -> &mut RareData {
        self.rare.get_or_insert_with(Box::default)
    }
}

impl BlockData {
    /// A payload with the given rare fields (and no common one).
    pub fn with_rare(rare: RareData) -> Self {
        BlockData {
            rare: Some(Box::new(rare)),
            ..Default::default()
        }
    }
}

/// [`BlockData`]'s JSON, one flat object (the order of its keys is the order of these fields).
#[derive(Deserialize)]
struct Wire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rich_text: Option<Vec<RichText>>,
    /// Pre-2022-02-22 spelling of `rich_text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<Vec<RichText>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    color: Option<Color>,
    #[serde(default, skip_serializing_if = "is_false")]
    is_toggleable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    list_start_index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    list_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    icon: Option<Icon>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    caption: Option<Vec<RichText>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    /// Media blocks: `type` + `file` / `external` / `file_upload`.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    source_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<HostedFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external: Option<ExternalFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file_upload: Option<IdRef>,
    /// `table_row`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cells: Option<Vec<Vec<RichText>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    table_width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    has_column_header: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    has_row_header: Option<bool>,
    /// `column`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    width_ratio: Option<f64>,
    /// `synced_block`: `null` for an original, `{type:"block_id", block_id}` for a duplicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    synced_from: Option<Map<String, Value>>,
    /// `link_to_page`: `page_id` / `database_id` / `comment_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    page_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    database_id: Option<String>,
    /// `unsupported`: the underlying type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    block_type: Option<String>,
    /// Children embedded in the payload (request shape, and some captured fixtures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    children: Option<Vec<Block>>,
    /// `column_list.columns` / `table.table_rows` (embedded children in captured fixtures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    columns: Option<Vec<Block>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    table_rows: Option<Vec<Block>>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl From<Wire> for BlockData {
    fn from(w: Wire) -> Self {
        let rare = RareData {
            text: w.text,
            list_start_index: w.list_start_index,
            list_format: w.list_format,
            icon: w.icon,
            language: w.language,
            caption: w.caption,
            expression: w.expression,
            url: w.url,
            name: w.name,
            title: w.title,
            source_type: w.source_type,
            file: w.file,
            external: w.external,
            file_upload: w.file_upload,
            width_ratio: w.width_ratio,
            synced_from: w.synced_from,
            page_id: w.page_id,
            database_id: w.database_id,
            block_type: w.block_type,
            children: w.children,
            columns: w.columns,
            table_rows: w.table_rows,
        };
        BlockData {
            rich_text: w.rich_text,
            color: w.color,
            is_toggleable: w.is_toggleable,
            checked: w.checked,
            cells: w.cells,
            table_width: w.table_width,
            has_column_header: w.has_column_header,
            has_row_header: w.has_row_header,
            rare: (rare != NO_RARE).then(|| Box::new(rare)),
            extra: w.extra,
        }
    }
}

/// [`Wire`] borrowed from a [`BlockData`], to serialize it (the same attributes, so the same
/// JSON).
#[derive(Serialize)]
struct WireRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    rich_text: Option<&'a Vec<RichText>>,
    /// Pre-2022-02-22 spelling of `rich_text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a Vec<RichText>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    color: Option<&'a Color>,
    #[serde(skip_serializing_if = "is_false")]
    is_toggleable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    checked: Option<&'a bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    list_start_index: Option<&'a u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    list_format: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<&'a Icon>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caption: Option<&'a Vec<RichText>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expression: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a String>,
    /// Media blocks: `type` + `file` / `external` / `file_upload`.
    #[serde(skip_serializing_if = "Option::is_none", rename = "type")]
    source_type: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a HostedFile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external: Option<&'a ExternalFile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_upload: Option<&'a IdRef>,
    /// `table_row`.
    #[serde(skip_serializing_if = "Option::is_none")]
    cells: Option<&'a Vec<Vec<RichText>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    table_width: Option<&'a u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    has_column_header: Option<&'a bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    has_row_header: Option<&'a bool>,
    /// `column`.
    #[serde(skip_serializing_if = "Option::is_none")]
    width_ratio: Option<&'a f64>,
    /// `synced_block`: `null` for an original, `{type:"block_id", block_id}` for a duplicate.
    #[serde(skip_serializing_if = "Option::is_none")]
    synced_from: Option<&'a Map<String, Value>>,
    /// `link_to_page`: `page_id` / `database_id` / `comment_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    page_id: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_id: Option<&'a String>,
    /// `unsupported`: the underlying type.
    #[serde(skip_serializing_if = "Option::is_none")]
    block_type: Option<&'a String>,
    /// Children embedded in the payload (request shape, and some captured fixtures).
    #[serde(skip_serializing_if = "Option::is_none")]
    children: Option<&'a Vec<Block>>,
    /// `column_list.columns` / `table.table_rows` (embedded children in captured fixtures).
    #[serde(skip_serializing_if = "Option::is_none")]
    columns: Option<&'a Vec<Block>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    table_rows: Option<&'a Vec<Block>>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

impl Serialize for BlockData {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r: &RareData = self;
        WireRef {
            rich_text: self.rich_text.as_ref(),
            color: self.color.as_ref(),
            is_toggleable: self.is_toggleable,
            checked: self.checked.as_ref(),
            cells: self.cells.as_ref(),
            table_width: self.table_width.as_ref(),
            has_column_header: self.has_column_header.as_ref(),
            has_row_header: self.has_row_header.as_ref(),
            text: r.text.as_ref(),
            list_start_index: r.list_start_index.as_ref(),
            list_format: r.list_format.as_ref(),
            icon: r.icon.as_ref(),
            language: r.language.as_ref(),
            caption: r.caption.as_ref(),
            expression: r.expression.as_ref(),
            url: r.url.as_ref(),
            name: r.name.as_ref(),
            title: r.title.as_ref(),
            source_type: r.source_type.as_ref(),
            file: r.file.as_ref(),
            external: r.external.as_ref(),
            file_upload: r.file_upload.as_ref(),
            width_ratio: r.width_ratio.as_ref(),
            synced_from: r.synced_from.as_ref(),
            page_id: r.page_id.as_ref(),
            database_id: r.database_id.as_ref(),
            block_type: r.block_type.as_ref(),
            children: r.children.as_ref(),
            columns: r.columns.as_ref(),
            table_rows: r.table_rows.as_ref(),
            extra: &self.extra,
        }
        .serialize(s)
    }
}

impl BlockData {
    /// The block's rich text in either spelling.
    pub fn rich(&self) -> &[RichText] {
        self.rich_text
            .as_deref()
            .or(self.text.as_deref())
            .unwrap_or(&[])
    }

    /// The media source (`file`, `external`, `file_upload`), when the block has one.
    pub fn source(&self) -> Option<FileSource> {
        if let Some(f) = &self.file {
            return Some(FileSource::File { file: f.clone() });
        }
        if let Some(e) = &self.external {
            return Some(FileSource::External {
                external: e.clone(),
            });
        }
        self.file_upload
            .clone()
            .map(|u| FileSource::FileUpload { file_upload: u })
    }
}

/// A block object, with the children kbridge fetched for it (`children`, a kbridge
/// convention: the API never inlines children in responses).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Block {
    pub id: Option<String>,
    /// `type`.
    pub kind: String,
    /// `block[type]`; `None` when the object has no key named by its type (kept as unsupported).
    pub data: Option<BlockData>,
    pub has_children: bool,
    /// `in_trash` (2026-03-11) or `archived` (earlier).
    pub in_trash: bool,
    /// Children fetched for this block (plus any embedded in the payload, see
    /// [`Block::all_children`]).
    pub children: Vec<Block>,
    /// Envelope fields not modelled (`parent`, `created_time`, `last_edited_by`…).
    pub extra: Map<String, Value>,
}

impl Block {
    /// Children from every place a captured block may hold them: fetched (`children`), embedded
    /// in the payload (`<type>.children`), or the fixtures' `columns` / `table_rows`.
    pub fn all_children(&self) -> Vec<&Block> {
        let mut v: Vec<&Block> = self.children.iter().collect();
        if let Some(d) = &self.data {
            for list in [&d.children, &d.columns, &d.table_rows]
                .into_iter()
                .flatten()
            {
                v.extend(list.iter());
            }
        }
        v
    }
}

impl Serialize for Block {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = self.extra.clone();
        m.insert("object".into(), Value::String("block".into()));
        if let Some(id) = &self.id {
            m.insert("id".into(), Value::String(id.clone()));
        }
        m.insert("type".into(), Value::String(self.kind.clone()));
        if let Some(d) = &self.data {
            m.insert(
                self.kind.clone(),
                serde_json::to_value(d).map_err(serde::ser::Error::custom)?,
            );
        }
        m.insert("has_children".into(), Value::Bool(self.has_children));
        if self.in_trash {
            m.insert("in_trash".into(), Value::Bool(true));
        }
        if !self.children.is_empty() {
            m.insert(
                "children".into(),
                serde_json::to_value(&self.children).map_err(serde::ser::Error::custom)?,
            );
        }
        m.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Block {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut m = Map::deserialize(d)?;
        let id = match m.remove("id") {
            Some(Value::String(s)) => Some(s),
            None | Some(Value::Null) => None,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "block id must be a string, got {other}"
                )));
            }
        };
        let at = || {
            id.as_deref()
                .map(|i| format!("block {i}"))
                .unwrap_or_else(|| "block".into())
        };
        let kind = match m.remove("type") {
            Some(Value::String(s)) => s,
            _ => {
                return Err(D::Error::custom(format!(
                    "{}: missing string field `type`",
                    at()
                )));
            }
        };
        let data = match m.remove(&kind) {
            None => None,
            Some(v) => {
                let d: BlockData = serde_path_to_error::deserialize(v).map_err(|e| {
                    D::Error::custom(format!(
                        "{}: field `{kind}.{}`: {}",
                        at(),
                        e.path(),
                        e.inner()
                    ))
                })?;
                Some(d)
            }
        };
        let children = match m.remove("children") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => serde_path_to_error::deserialize(v).map_err(|e| {
                D::Error::custom(format!(
                    "{}: field `children.{}`: {}",
                    at(),
                    e.path(),
                    e.inner()
                ))
            })?,
        };
        let flag =
            |m: &mut Map<String, Value>, k: &str| matches!(m.remove(k), Some(Value::Bool(true)));
        let has_children = flag(&mut m, "has_children");
        let in_trash = flag(&mut m, "in_trash") | flag(&mut m, "archived");
        m.remove("object");
        Ok(Block {
            id,
            kind,
            data,
            has_children,
            in_trash,
            children,
            extra: m,
        })
    }
}

/// A page property value (`page.properties[name]`): `{id, type, <type>: value}`. Read-only and
/// unknown types keep their value as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PropertyValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl PropertyValue {
    /// The value under the key named by the type.
    pub fn value(&self) -> Option<&Value> {
        self.rest.get(&self.kind)
    }
}

/// A page object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub id: String,
    #[serde(default)]
    pub properties: indexmap_lite::OrderedMap<PropertyValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<Icon>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub in_trash: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
    /// Blocks kbridge fetched for the page (not part of the API's page object).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Block>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Page {
    /// The page title: the text of its `title` property.
    pub fn title(&self) -> String {
        self.properties
            .iter()
            .find(|(_, p)| p.kind == "title")
            .and_then(|(_, p)| p.value())
            .and_then(|v| serde_json::from_value::<Vec<RichText>>(v.clone()).ok())
            .map(|r| r.iter().map(RichText::plain).collect())
            .unwrap_or_default()
    }
}

/// A database (2022-06-28: with `properties`, the schema) or data source (2025-09-03).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Database {
    pub id: String,
    #[serde(default)]
    pub title: Vec<RichText>,
    /// The schema: property name → configuration (`{id, name, type, <type>: {…}}`). Databases
    /// under 2025-09-03 have none (see `data_sources`); data sources do.
    #[serde(default)]
    pub properties: indexmap_lite::OrderedMap<Map<String, Value>>,
    /// 2025-09-03: the database's data sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_sources: Vec<Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// JSON objects whose key order matters to people (property order), without a dependency.
pub mod indexmap_lite {
    use serde::{Deserialize, Serialize};

    /// An insertion-ordered string-keyed map, serialized as a JSON object.
    #[derive(Clone, Debug, PartialEq)]
    pub struct OrderedMap<V>(pub Vec<(String, V)>);

    impl<V> Default for OrderedMap<V> {
        fn default() -> Self {
            OrderedMap(Vec::new())
        }
    }

    impl<V> OrderedMap<V> {
        pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
            self.0.iter().map(|(k, v)| (k, v))
        }
        pub fn get(&self, k: &str) -> Option<&V> {
            self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v)
        }
        pub fn len(&self) -> usize {
            self.0.len()
        }
        pub fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    impl<V: Serialize> Serialize for OrderedMap<V> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in &self.0 {
                m.serialize_entry(k, v)?;
            }
            m.end()
        }
    }

    impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Vis<V>(std::marker::PhantomData<V>);
            impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Vis<V> {
                type Value = OrderedMap<V>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut a: A,
                ) -> Result<Self::Value, A::Error> {
                    let mut v = Vec::new();
                    while let Some((k, val)) = a.next_entry::<String, V>()? {
                        v.push((k, val));
                    }
                    Ok(OrderedMap(v))
                }
            }
            d.deserialize_map(Vis(std::marker::PhantomData))
        }
    }
}
