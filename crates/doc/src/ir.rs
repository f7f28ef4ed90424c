//! The document model (IR) every format is read into and written from.
//!
//! Design rules (see `DESIGN.md`):
//! - it models knowledge-base content, not HTML: block and inline nodes with a meaning;
//! - links point at *symbolic* targets ([`LinkTarget`]); resolving them is the engine's job;
//! - nothing is dropped: what is not modelled becomes an [`Extension`] (name, parameters, body and
//!   original source) and every node carries an attribute bag ([`Attrs`]) for format-specific
//!   attributes it does not model (`local-id`, `ac:macro-id`, widths…);
//! - block nesting follows the source; inline formatting is a tree of [`Inline::Mark`] and
//!   [`Inline::Span`] nodes (like Pandoc), so a source's element nesting survives a round trip.
//!   Formats with flat annotated runs (Notion) flatten the tree and rebuild it in a canonical order.
//!
//! Attribute keys starting with `kb:` are kbridge's own hints (for example `kb:tag = "b"` on a
//! [`Mark::Strong`] read from `<b>`) and keys starting with `notion:` are Notion facts kept for the
//! Notion writer; [`Attrs::is_hint`] tells them apart and no writer emits them as attributes.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Unmodelled attributes of a node, by their name in the source format (`local-id`,
/// `ac:macro-id`, `data-layout`, `style` leftovers…). Writers re-emit them verbatim.
///
/// A map kept as a vector sorted by key: nodes usually carry zero to three attributes, and a
/// `BTreeMap` would allocate a node sized for eleven. Equality and iteration order are by key,
/// like a `BTreeMap`; the API mirrors the parts of it that kbridge uses. Serialized as a JSON
/// object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Attrs(Vec<(Cow<'static, str>, String)>);

/// Attribute names common enough in real bodies to be shared rather than allocated per node.
const COMMON_KEYS: &[&str] = &[
    "local-id",
    "ac:local-id",
    "ac:macro-id",
    "ac:schema-version",
    "data-layout",
    "ri:version-at-save",
    "ac:original-width",
    "ac:original-height",
    "ac:layout",
    "ac:align",
    "ac:custom-width",
    "key",
    "size",
    "color",
    "style",
    "data-highlight-colour",
    "data-table-width",
    "ac:card-appearance",
    "ac:breakout-mode",
    "ac:breakout-width",
    "class",
    "data-card-appearance",
    "ac:border",
    "ac:title",
    "ac:thumbnail",
];

fn intern(key: &str) -> Cow<'static, str> {
    match COMMON_KEYS.iter().find(|k| **k == key) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(key.to_string()),
    }
}

impl Attrs {
    pub const fn new() -> Self {
        Attrs(Vec::new())
    }
    /// True for keys that are kbridge's notes rather than attributes of any format: `kb:` hints
    /// and facts carried over from another format (`notion:`). Writers never emit them.
    pub fn is_hint(key: &str) -> bool {
        key.starts_with("kb:") || key.starts_with("notion:")
    }
    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_ref().cmp(key))
    }
    pub fn get(&self, key: &str) -> Option<&String> {
        self.find(key).ok().map(|i| &self.0[i].1)
    }
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }
    /// Sets `key`, returning the previous value.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (intern_owned(key), value));
                None
            }
        }
    }
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.find(key).ok().map(|i| self.0.remove(i).1)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &String)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
    /// Builds a bag from borrowed names (common names are shared, not allocated).
    pub fn from_pairs<'k>(pairs: impl Iterator<Item = (&'k str, String)>) -> Self {
        let (lo, hi) = pairs.size_hint();
        let mut v: Vec<(Cow<'static, str>, String)> = Vec::with_capacity(hi.unwrap_or(lo));
        for (k, val) in pairs {
            v.push((intern(k), val));
        }
        Self::from_vec(v)
    }
    fn from_vec(mut v: Vec<(Cow<'static, str>, String)>) -> Self {
        if !v.is_sorted_by(|a, b| a.0 < b.0) {
            // Last value wins for a repeated key, as with a map.
            v.reverse();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v.dedup_by(|a, b| a.0 == b.0);
        }
        Attrs(v)
    }
}

fn intern_owned(key: String) -> Cow<'static, str> {
    match COMMON_KEYS.iter().find(|k| **k == key) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(key),
    }
}

impl std::ops::Index<&str> for Attrs {
    type Output = String;
    fn index(&self, key: &str) -> &String {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no attribute {key:?}"),
        }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Attrs {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self::from_vec(
            iter.into_iter()
                .map(|(k, v)| (intern_owned(k.into()), v.into()))
                .collect(),
        )
    }
}

impl<'a> IntoIterator for &'a Attrs {
    type Item = (&'a str, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Cow<'static, str>, String)>,
        fn(&'a (Cow<'static, str>, String)) -> (&'a str, &'a String),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl Serialize for Attrs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_pairs(self.0.iter().map(|(k, v)| (k.as_ref(), v)), s)
    }
}

impl<'de> Deserialize<'de> for Attrs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_pairs(d, "attribute").map(|v| v.into_iter().collect())
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Ordered macro parameters (`ac:parameter`), name → text value. Order is kept so that a
/// round trip reproduces the source; serialized as a JSON object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn new() -> Self {
        Self(Vec::new())
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Sets `name` (replacing an existing value in place, else appending).
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k == name)?;
        Some(self.0.remove(i).1)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Serializes ordered name/value pairs as a JSON object.
fn serialize_pairs<'a, S: serde::Serializer>(
    pairs: impl ExactSizeIterator<Item = (&'a str, &'a String)>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

/// Reads a JSON object of string values as pairs, in document order.
fn deserialize_pairs<'de, D: serde::Deserializer<'de>>(
    d: D,
    what: &'static str,
) -> Result<Vec<(String, String)>, D::Error> {
    struct V(&'static str);
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "an object of {} names to string values", self.0)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            let mut v = Vec::new();
            while let Some((k, val)) = a.next_entry::<String, String>()? {
                v.push((k, val));
            }
            Ok(v)
        }
    }
    d.deserialize_map(V(what))
}

impl Serialize for Params {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_pairs(self.0.iter().map(|(k, v)| (k.as_str(), v)), s)
    }
}

impl<'de> Deserialize<'de> for Params {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_pairs(d, "parameter").map(Params)
    }
}

/// A whole page body.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub blocks: Vec<Block>,
}

/// Paragraph and heading alignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    Left,
    Center,
    Right,
    Justify,
}

/// Block-level nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Paragraph {
        content: Vec<Inline>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        align: Option<Align>,
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    /// Inline content that sits directly in a block container without a paragraph wrapper
    /// (text directly inside `<li>` or `<td>`, Pandoc's `Plain`).
    Plain {
        content: Vec<Inline>,
    },
    Heading {
        /// 1–6.
        level: u8,
        content: Vec<Inline>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        align: Option<Align>,
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    List(List),
    TaskList {
        items: Vec<TaskItem>,
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    Quote {
        blocks: Vec<Block>,
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    /// Info/note/tip/warning/… panels.
    Callout(Callout),
    Code(Code),
    /// A display equation (TeX).
    Math(Math),
    Divider {
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    Table(Table),
    /// Columns: Confluence page layouts, Notion column lists.
    Layout(Layout),
    /// A collapsible section (Confluence `expand`, Notion `toggle`).
    Expand(Expand),
    Image(Image),
    /// An attached file shown as a file card (Confluence `view-file`, Notion `file`/`pdf`).
    File(FileRef),
    /// An external resource shown as a card or embed (Smart Link block/embed, Notion
    /// `bookmark`/`embed`/`video`).
    Embed(Embed),
    /// Table of contents (`toc` macro).
    Toc(MacroInfo),
    /// List of child pages (`children` macro).
    ChildPages(ChildPages),
    /// An excerpt region (`excerpt` macro).
    Excerpt(Excerpt),
    /// Content included from another page (`include`, `excerpt-include`).
    Include(Include),
    /// Page Properties (`details` macro): usually one two-column table of key/value rows.
    PageProperties(PageProperties),
    /// Page Properties Report (`detailssummary` macro).
    PagePropertiesReport(MacroInfo),
    Extension(Extension),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct List {
    pub ordered: bool,
    /// The `start` attribute as written in the source (kept as text: `"1"`, `"3"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<u64>,
    pub items: Vec<ListItem>,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListItem {
    pub blocks: Vec<Block>,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskItem {
    pub done: bool,
    /// `ac:task-id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `ac:task-uuid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// The task body: usually one [`Block::Plain`], may hold nested blocks.
    pub body: Vec<Block>,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

/// Kind of a callout panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalloutKind {
    Info,
    Note,
    Tip,
    Warning,
    Error,
    Success,
    /// A generic panel (Confluence `panel`, Notion callout with an icon and colour).
    Panel,
}

impl CalloutKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CalloutKind::Info => "info",
            CalloutKind::Note => "note",
            CalloutKind::Tip => "tip",
            CalloutKind::Warning => "warning",
            CalloutKind::Error => "error",
            CalloutKind::Success => "success",
            CalloutKind::Panel => "panel",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "info" => CalloutKind::Info,
            "note" => CalloutKind::Note,
            "tip" => CalloutKind::Tip,
            "warning" => CalloutKind::Warning,
            "error" => CalloutKind::Error,
            "success" => CalloutKind::Success,
            "panel" => CalloutKind::Panel,
            _ => return None,
        })
    }
}

/// How a callout was (or will be) expressed in Confluence storage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CalloutForm {
    /// `<ac:structured-macro ac:name="info|note|tip|warning|panel">`.
    #[default]
    Macro,
    /// Cloud's `<ac:adf-extension><ac:adf-node type="panel">` (e.g. the purple note panel).
    AdfPanel {
        /// The raw `<ac:adf-fallback>` content, re-emitted as is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fallback: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Callout {
    pub kind: CalloutKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// An icon (emoji text, or an icon id), when the source has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    pub blocks: Vec<Block>,
    /// Remaining macro parameters / ADF attributes, in source order.
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    pub params: Params,
    #[serde(default, skip_serializing_if = "is_default_form")]
    pub form: CalloutForm,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

fn is_default_form(f: &CalloutForm) -> bool {
    *f == CalloutForm::Macro
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Code {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
    /// A `noformat` block rather than a `code` block.
    #[serde(default, skip_serializing_if = "is_false")]
    pub noformat: bool,
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    pub params: Params,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Math {
    pub tex: String,
    /// The macro that carried it in storage, when read from one (e.g. `easy-math-block`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub macro_name: Option<String>,
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    pub params: Params,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowSection {
    Head,
    #[default]
    Body,
    Foot,
}

fn is_body(s: &RowSection) -> bool {
    *s == RowSection::Body
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// `<colgroup><col …/></colgroup>`: one attribute bag per column (`style="width: …"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<Attrs>>,
    pub rows: Vec<TableRow>,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

impl Table {
    /// True when every cell of the first row is a header cell.
    pub fn has_header_row(&self) -> bool {
        self.rows
            .first()
            .is_some_and(|r| !r.cells.is_empty() && r.cells.iter().all(|c| c.header))
    }
    /// True when the first cell of every row is a header cell.
    pub fn has_header_column(&self) -> bool {
        !self.rows.is_empty()
            && self
                .rows
                .iter()
                .all(|r| r.cells.first().is_some_and(|c| c.header))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableRow {
    pub cells: Vec<TableCell>,
    #[serde(default, skip_serializing_if = "is_body")]
    pub section: RowSection,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableCell {
    /// `th` rather than `td`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub header: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colspan: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rowspan: Option<u32>,
    pub blocks: Vec<Block>,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    pub sections: Vec<LayoutSection>,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayoutSection {
    /// Confluence's `ac:type` (`two_equal`, `three_with_sidebars`, `fixed-width`…).
    pub kind: String,
    pub cells: Vec<LayoutCell>,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayoutCell {
    pub blocks: Vec<Block>,
    /// Relative width (0–1) when the source gives one (Notion `width_ratio`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<f64>,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expand {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub blocks: Vec<Block>,
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    pub params: Params,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

/// Where an image's bytes live.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ImageSource {
    /// An attachment of this page (or of `container`), by file name.
    Attachment {
        filename: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        container: Option<Box<LinkTarget>>,
        /// Attributes of the `ri:attachment` element (`ri:version-at-save`…).
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    Url {
        url: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub source: ImageSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<Vec<Block>>,
    /// Attributes of the `ac:caption` element (`ac:local-id`).
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub caption_attrs: Attrs,
    /// Cloud's `<ac:adf-mark …/>` children (border…), one attribute bag each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<Attrs>,
    /// Remaining `ac:` attributes (`ac:align`, `ac:layout`, `ac:original-width`…).
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileRef {
    pub target: LinkTarget,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<Vec<Inline>>,
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    pub params: Params,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Embed {
    pub url: String,
    /// `block` (a card), `embed` (inline frame), or a Notion type name (`video`, `bookmark`…).
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<Vec<Inline>>,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

/// A parameter-only macro kept with its parameters and element attributes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MacroInfo {
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    pub params: Params,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChildPages {
    /// The parent whose children are listed (`page` parameter); `None` = this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<LinkTarget>,
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    pub params: Params,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Excerpt {
    pub blocks: Vec<Block>,
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    pub params: Params,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Include {
    pub target: LinkTarget,
    /// Only the named excerpt of the target (`excerpt-include`) rather than the whole page.
    #[serde(default, skip_serializing_if = "is_false")]
    pub excerpt: bool,
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    pub params: Params,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageProperties {
    /// The macro body; Page Properties are the rows of the first table in it
    /// (see [`PageProperties::rows`]).
    pub blocks: Vec<Block>,
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    pub params: Params,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

impl PageProperties {
    /// Builds a Page Properties table from key → value rows.
    pub fn from_rows(rows: Vec<(String, Vec<Block>)>) -> Self {
        let rows = rows
            .into_iter()
            .map(|(k, v)| TableRow {
                cells: vec![
                    TableCell {
                        header: true,
                        colspan: None,
                        rowspan: None,
                        blocks: vec![Block::Plain {
                            content: vec![Inline::text(k)],
                        }],
                        attrs: Attrs::new(),
                    },
                    TableCell {
                        header: false,
                        colspan: None,
                        rowspan: None,
                        blocks: v,
                        attrs: Attrs::new(),
                    },
                ],
                section: RowSection::Body,
                attrs: Attrs::new(),
            })
            .collect();
        PageProperties {
            blocks: vec![Block::Table(Table {
                columns: None,
                rows,
                attrs: Attrs::new(),
            })],
            params: Params::new(),
            attrs: Attrs::new(),
        }
    }

    /// The key/value rows: each row of the first table whose first cell is the key.
    pub fn rows(&self) -> Vec<(String, &[Block])> {
        let Some(table) = self.blocks.iter().find_map(|b| match b {
            Block::Table(t) => Some(t),
            _ => None,
        }) else {
            return Vec::new();
        };
        table
            .rows
            .iter()
            .filter(|r| r.cells.len() >= 2)
            .map(|r| {
                (
                    crate::text::blocks_to_text(&r.cells[0].blocks)
                        .trim()
                        .to_string(),
                    r.cells[1].blocks.as_slice(),
                )
            })
            .collect()
    }
}

/// A symbolic link target. Readers and writers never resolve these against a live system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LinkTarget {
    Url {
        url: String,
    },
    /// A page: by Confluence id, Notion id, or space key + title (any combination).
    Page {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        space_key: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Other attributes of the `ri:page` element (`ri:version-at-save`…).
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    BlogPost {
        title: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        space_key: Option<String>,
        /// `YYYY/MM/DD`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        posting_day: Option<String>,
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    Attachment {
        filename: String,
        /// The page/blog post holding it; `None` = this page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        container: Option<Box<LinkTarget>>,
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    User {
        /// Cloud `ri:account-id`, DC `ri:userkey`, legacy `ri:username`, or a Notion user id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        userkey: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    Space {
        key: String,
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    /// Content by id only (`ri:content-entity`).
    Content {
        id: String,
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    /// A Confluence shortcut link (`ri:shortcut`, e.g. key `jira`, parameter `ABC-123`).
    Shortcut {
        key: String,
        parameter: String,
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    /// An anchor on the same page (the link's own `anchor` names it).
    SamePage,
}

impl LinkTarget {
    pub fn url(url: impl Into<String>) -> Self {
        LinkTarget::Url { url: url.into() }
    }
    /// A user by account id (Cloud account id, or a Notion user id).
    pub fn user(account_id: impl Into<String>) -> Self {
        LinkTarget::User {
            account_id: Some(account_id.into()),
            userkey: None,
            username: None,
            attrs: Attrs::new(),
        }
    }
    pub fn page_titled(title: impl Into<String>) -> Self {
        LinkTarget::Page {
            title: Some(title.into()),
            space_key: None,
            id: None,
            attrs: Attrs::new(),
        }
    }

    /// A readable name for the target, for a link without text: the page title (else its id),
    /// file name, URL, user name (else key, else account id), space key, content id, the
    /// shortcut's parameter (an issue key), or the anchor for a same-page link.
    pub fn name(&self, anchor: Option<&str>) -> Option<String> {
        match self {
            LinkTarget::Url { url } => Some(url.clone()),
            LinkTarget::Page { title, id, .. } => title.clone().or_else(|| id.clone()),
            LinkTarget::BlogPost { title, .. } => Some(title.clone()),
            LinkTarget::Attachment { filename, .. } => Some(filename.clone()),
            LinkTarget::User {
                account_id,
                userkey,
                username,
                ..
            } => username
                .clone()
                .or_else(|| userkey.clone())
                .or_else(|| account_id.clone()),
            LinkTarget::Space { key, .. } => Some(key.clone()),
            LinkTarget::Content { id, .. } => Some(id.clone()),
            LinkTarget::Shortcut { parameter, .. } => Some(parameter.clone()),
            LinkTarget::SamePage => anchor.map(str::to_string),
        }
    }
}

/// Element-style inline marks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mark", rename_all = "snake_case")]
pub enum Mark {
    Strong,
    Emphasis,
    Underline,
    Strike,
    Code,
    Subscript,
    Superscript,
    Small,
    Big,
    /// An inline-comment anchor (`ac:inline-comment-marker ac:ref`, ADF `annotation`).
    InlineComment {
        id: String,
    },
}

/// Styles carried by a `<span style>` (colour, background, strike-through, underline).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanStyle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub strike: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub underline: bool,
}

impl SpanStyle {
    pub fn is_empty(&self) -> bool {
        *self == SpanStyle::default()
    }
}

/// Inline nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Inline {
    Text {
        text: String,
    },
    Mark {
        #[serde(flatten)]
        mark: Mark,
        content: Vec<Inline>,
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    /// A styled span (colour, background…). `attrs` keeps its other attributes, including any
    /// unmodelled `style` declarations.
    Span {
        #[serde(default, skip_serializing_if = "span_style_is_empty")]
        style: Box<SpanStyle>,
        content: Vec<Inline>,
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    Link(Box<Link>),
    Image(Box<Image>),
    /// Emoji or Confluence emoticon.
    Emoji(Box<Emoji>),
    /// A status lozenge.
    Status(Box<Status>),
    /// A date (`<time datetime="YYYY-MM-DD"/>`).
    Date {
        date: String,
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    /// A hard line break.
    Break {
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    /// Inline equation (TeX).
    Math(Box<Math>),
    /// A named anchor (`anchor` macro).
    Anchor {
        name: String,
        #[serde(default, skip_serializing_if = "Params::is_empty")]
        params: Params,
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    /// Template instruction text (`ac:placeholder`).
    Placeholder {
        text: String,
        #[serde(default, skip_serializing_if = "Attrs::is_empty")]
        attrs: Attrs,
    },
    /// A Jira issue or query (`jira` macro); the key or JQL is in the parameters.
    Jira(MacroInfo),
    Extension(Box<Extension>),
}

fn span_style_is_empty(s: &SpanStyle) -> bool {
    s.is_empty()
}

// Large inline variants are boxed so that the common nodes (text, marks) stay small: an
// `Inline` is 80 bytes instead of 224, which matters for pages with millions of nodes.
impl Inline {
    pub fn link(l: Link) -> Self {
        Inline::Link(Box::new(l))
    }
    pub fn image(i: Image) -> Self {
        Inline::Image(Box::new(i))
    }
    pub fn emoji(e: Emoji) -> Self {
        Inline::Emoji(Box::new(e))
    }
    pub fn status(s: Status) -> Self {
        Inline::Status(Box::new(s))
    }
    pub fn math(m: Math) -> Self {
        Inline::Math(Box::new(m))
    }
    pub fn extension(e: Extension) -> Self {
        Inline::Extension(Box::new(e))
    }
    pub fn span(style: SpanStyle, content: Vec<Inline>) -> Self {
        Inline::Span {
            style: Box::new(style),
            content,
            attrs: Attrs::new(),
        }
    }
    pub fn text(s: impl Into<String>) -> Self {
        Inline::Text { text: s.into() }
    }
    pub fn mark(mark: Mark, content: Vec<Inline>) -> Self {
        Inline::Mark {
            mark,
            content,
            attrs: Attrs::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub target: LinkTarget,
    /// The anchor (fragment) on the target page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
    /// The link text; empty means "generated from the target" (Confluence renders the title).
    pub content: Vec<Inline>,
    /// Storage only: the body was `ac:plain-text-link-body` (CDATA) rather than `ac:link-body`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub plain_body: bool,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

impl Link {
    /// A link to `target` with no text of its own (shown as the target's name), no anchor and no
    /// attributes.
    pub fn new(target: LinkTarget) -> Self {
        Link {
            target,
            anchor: None,
            content: Vec::new(),
            plain_body: false,
            attrs: Attrs::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Emoji {
    /// The emoji character(s) to show (`ac:emoji-fallback`, Notion's emoji).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `:smile:`-style short name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortname: Option<String>,
    /// Confluence emoticon name (`smile`, `tick`, `warning`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Emoji id (`ac:emoji-id`, Notion custom emoji id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub text: String,
    /// Grey, Red, Yellow, Green, Blue, Purple (Confluence spelling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    pub params: Params,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

/// Something the IR does not model, kept whole so that the writer of its own format reproduces
/// it and other writers can show a readable fallback.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Extension {
    /// Format it came from: `storage`, `notion`, `markdown`.
    pub format: String,
    /// What kind of thing it is in that format: `macro`, `element`, `adf-extension`,
    /// `entity`, `block` (Notion)…
    pub kind: String,
    /// Macro name, element name or Notion block type.
    pub name: String,
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    pub params: Params,
    /// Readable content (a rich-text body, an unknown element's children).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub body: Vec<Block>,
    /// Plain-text content (a macro's `ac:plain-text-body`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The original source, reproduced verbatim by the writer of `format`. When `None`, that
    /// writer rebuilds the node from `name`, `attrs` and `body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Attrs::is_empty")]
    pub attrs: Attrs,
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// Node sizes drive peak memory on big pages (millions of inline nodes): keep the common
    /// variants small and box the rare large ones.
    #[test]
    fn inline_nodes_stay_small() {
        assert!(
            std::mem::size_of::<Inline>() <= 80,
            "Inline is {} bytes",
            std::mem::size_of::<Inline>()
        );
    }
}
