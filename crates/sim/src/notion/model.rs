//! The Notion twin's ground truth: users, pages, blocks, databases (each with one data source),
//! comments, hosted files and file uploads, as plain data.
//!
//! Values are kept close to the API's response shapes (rich text items complete, select options
//! as `{id, name, color}`), so rendering is mostly copying. What Notion computes (formulas,
//! rollups, created/edited times and authors as properties) is computed when rendered, from the
//! data, so a test can check it against this dataset. Relations and people are stored as ids.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::model::Bytes;

/// Timestamps are kept in ms; the API shows them rounded down to the minute, as Notion does.
pub fn iso_minute(ms: i64) -> String {
    crate::time::iso(ms - ms.rem_euclid(60_000))
}

fn ser_time<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&iso_minute(*ms))
}

#[derive(Clone, Debug, Serialize)]
pub struct NUser {
    pub id: String,
    pub name: String,
    pub avatar_url: Option<String>,
    /// People only.
    pub email: Option<String>,
    /// A bot (an integration) rather than a person.
    pub bot: bool,
}

/// Where a page, block or database sits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Parent {
    Workspace,
    Page(String),
    Block(String),
    /// A database row: the database (its one data source is found from it).
    Database(String),
}

impl Parent {
    pub fn id(&self) -> Option<&str> {
        match self {
            Parent::Workspace => None,
            Parent::Page(i) | Parent::Block(i) | Parent::Database(i) => Some(i),
        }
    }
}

/// A page: an ordinary page (one property, `title`) or a database row (the data source's
/// properties). Stored values are keyed by property id; computed ones are absent.
#[derive(Clone, Debug, Serialize)]
pub struct NPage {
    pub id: String,
    pub parent: Parent,
    /// Property id → stored value, in the API's value shape (people and relations: id lists;
    /// hosted files: `{name, type:"file", file:{sim_file_id}}`).
    pub props: BTreeMap<String, Value>,
    pub icon: Option<Value>,
    pub cover: Option<Value>,
    /// Block ids of the page's content, in order (subpages and child databases included).
    pub children: Vec<String>,
    #[serde(serialize_with = "ser_time")]
    pub created_time: i64,
    pub created_by: String,
    #[serde(serialize_with = "ser_time")]
    pub last_edited_time: i64,
    pub last_edited_by: String,
    pub in_trash: bool,
}

/// A block (not a page: a `child_page` block is the page itself, a `child_database` block the
/// database).
#[derive(Clone, Debug, Serialize)]
pub struct NBlock {
    pub id: String,
    pub parent: Parent,
    #[serde(rename = "type")]
    pub kind: String,
    /// The type object (`block[type]`) without children.
    pub data: Value,
    pub children: Vec<String>,
    #[serde(serialize_with = "ser_time")]
    pub created_time: i64,
    pub created_by: String,
    #[serde(serialize_with = "ser_time")]
    pub last_edited_time: i64,
    pub last_edited_by: String,
    pub in_trash: bool,
}

/// How a computed property is computed.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Computed {
    /// `function` over property `target` (an id in the related data source) of the pages in
    /// relation property `relation` (an id here).
    Rollup {
        relation: String,
        target: String,
        function: String,
    },
    /// One of the twin's fixed formulas (see `render::formula`).
    Formula { name: String },
}

#[derive(Clone, Debug, Serialize)]
pub struct PropSchema {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The type's configuration as the API shows it (select options, number format, relation
    /// target…). Relations: `{database_id, dual_property:{synced_property_id, …}}`.
    pub config: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub computed: Option<Computed>,
}

/// A database and its one data source.
#[derive(Clone, Debug, Serialize)]
pub struct NDatabase {
    pub id: String,
    pub data_source_id: String,
    pub parent: Parent,
    pub title: String,
    pub description: String,
    pub is_inline: bool,
    pub icon: Option<Value>,
    pub properties: Vec<PropSchema>,
    #[serde(serialize_with = "ser_time")]
    pub created_time: i64,
    pub created_by: String,
    #[serde(serialize_with = "ser_time")]
    pub last_edited_time: i64,
    pub last_edited_by: String,
    pub in_trash: bool,
}

impl NDatabase {
    pub fn prop(&self, key: &str) -> Option<&PropSchema> {
        self.properties
            .iter()
            .find(|p| p.name == key)
            .or_else(|| self.properties.iter().find(|p| p.id == key))
    }
    pub fn prop_by_id(&self, id: &str) -> Option<&PropSchema> {
        self.properties.iter().find(|p| p.id == id)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct NComment {
    pub id: String,
    pub discussion_id: String,
    /// `Page` or `Block`.
    pub parent: Parent,
    pub rich_text: Vec<Value>,
    #[serde(serialize_with = "ser_time")]
    pub created_time: i64,
    pub created_by: String,
}

/// Bytes hosted by the twin (generated images and files, completed uploads).
#[derive(Clone, Debug, Serialize)]
pub struct NFile {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub bytes: Bytes,
}

#[derive(Clone, Debug, Serialize)]
pub struct NUpload {
    pub id: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    /// `pending`, `uploaded`, `expired`, `failed`.
    pub status: String,
    pub content_length: Option<u64>,
    /// The hosted file once sent.
    pub file_id: Option<String>,
    pub created_by: String,
    #[serde(serialize_with = "ser_time")]
    pub created_time: i64,
    #[serde(serialize_with = "ser_time")]
    pub expiry_time: i64,
}

fn values<S: Serializer, T: Serialize>(m: &BTreeMap<String, T>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(m.values())
}

/// Everything the Notion twin holds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Workspace {
    pub seed: u64,
    pub users: Vec<NUser>,
    #[serde(serialize_with = "values")]
    pub pages: BTreeMap<String, NPage>,
    #[serde(serialize_with = "values")]
    pub blocks: BTreeMap<String, NBlock>,
    #[serde(serialize_with = "values")]
    pub databases: BTreeMap<String, NDatabase>,
    #[serde(serialize_with = "values")]
    pub comments: BTreeMap<String, NComment>,
    #[serde(serialize_with = "values")]
    pub files: BTreeMap<String, NFile>,
    #[serde(serialize_with = "values")]
    pub uploads: BTreeMap<String, NUpload>,
    /// Pages shared with the restricted integration (each with its subtree).
    pub restricted_roots: Vec<String>,
    /// The generator's id stream position: ids of objects created later continue it.
    #[serde(skip)]
    pub next_id: u64,
}

impl Workspace {
    /// A fresh id, deterministic from the seed and the number of ids handed out.
    pub fn new_id(&mut self) -> String {
        self.next_id += 1;
        crate::rng::Rng::stream(self.seed ^ 0x4e07_1011, self.next_id).uuid()
    }

    pub fn user(&self, id: &str) -> Option<&NUser> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn database_of_source(&self, ds: &str) -> Option<&NDatabase> {
        self.databases.values().find(|d| d.data_source_id == ds)
    }

    /// The page whose content a block belongs to (walking up through blocks).
    pub fn page_of(&self, id: &str) -> Option<String> {
        let mut cur = id.to_string();
        for _ in 0..10_000 {
            if self.pages.contains_key(&cur) {
                return Some(cur);
            }
            let b = self.blocks.get(&cur)?;
            cur = b.parent.id()?.to_string();
        }
        None
    }

    /// Whether `id` (page, block or database) is `root` or below it.
    pub fn is_under(&self, id: &str, root: &str) -> bool {
        let mut cur = id.to_string();
        for _ in 0..10_000 {
            if cur == root {
                return true;
            }
            let parent = if let Some(p) = self.pages.get(&cur) {
                p.parent.clone()
            } else if let Some(b) = self.blocks.get(&cur) {
                b.parent.clone()
            } else if let Some(d) = self.databases.get(&cur) {
                d.parent.clone()
            } else {
                return false;
            };
            match parent.id() {
                Some(p) => cur = p.to_string(),
                None => return false,
            }
        }
        false
    }

    /// The plain title of a page (its title property) or database.
    pub fn title_of(&self, id: &str) -> Option<String> {
        if let Some(p) = self.pages.get(id) {
            return Some(plain(p.props.get("title")));
        }
        self.databases.get(id).map(|d| d.title.clone())
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The plain text of a rich text array.
pub fn plain(v: Option<&Value>) -> String {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("plain_text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// A change to the workspace, as Notion reports it in webhook events (`page.created`,
/// `page.content_updated`, `comment.created`…). The log of these is append-only.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct NotionChange {
    /// Position in the log, from 1.
    pub seq: u64,
    /// The webhook event type.
    pub event_type: String,
    pub entity_id: String,
    /// `page`, `block`, `database`, `data_source`, `comment`, `file_upload`.
    pub entity_type: String,
    /// The entity's parent: `{id, type}` with type `page`, `database`, `block`, `space`
    /// (workspace), plus `data_source_id` for rows.
    pub parent: Option<Value>,
    /// Who made it: `{id, type: "person"|"bot"}`.
    pub authors: Vec<ChangeAuthor>,
    /// ISO 8601, ms precision.
    pub timestamp: String,
    pub timestamp_ms: i64,
    /// Event-specific data: `updated_blocks`, `updated_properties`, `page_id`…
    pub data: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ChangeAuthor {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}
