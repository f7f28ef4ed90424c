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

/// Text colours and backgrounds (`red`, `red_background`, `default`…).
pub type Color = String;

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
    #[serde(default = "default_color")]
    pub color: Color,
}

pub(crate) fn default_color() -> Color {
    "default".into()
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
    Mention {
        mention: Mention,
    },
    /// A rich-text type this version does not know, kept whole.
    #[serde(untagged)]
    Other(Map<String, Value>),
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

/// The type-specific payload of a block (`block[block.type]`). One struct serves every block
/// type: each field exists on the types that have it; what no field models stays in `extra`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rich_text: Option<Vec<RichText>>,
    /// Pre-2022-02-22 spelling of `rich_text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Vec<RichText>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<Color>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_toggleable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_start_index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<Icon>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<Vec<RichText>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Media blocks: `type` + `file` / `external` / `file_upload`.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub source_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<HostedFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_upload: Option<IdRef>,
    /// `table_row`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cells: Option<Vec<Vec<RichText>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_column_header: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_row_header: Option<bool>,
    /// `column`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width_ratio: Option<f64>,
    /// `synced_block`: `null` for an original, `{type:"block_id", block_id}` for a duplicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_from: Option<Map<String, Value>>,
    /// `link_to_page`: `page_id` / `database_id` / `comment_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_id: Option<String>,
    /// `unsupported`: the underlying type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_type: Option<String>,
    /// Children embedded in the payload (request shape, and some captured fixtures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children: Option<Vec<Block>>,
    /// `column_list.columns` / `table.table_rows` (embedded children in captured fixtures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<Block>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_rows: Option<Vec<Block>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
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
