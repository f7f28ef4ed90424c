//! The twin's ground truth: every object the Confluence twin serves, as plain data.
//!
//! The generator builds a [`Dataset`], the HTTP handlers read and change it, and
//! `GET /__sim/confluence/dataset` serializes it so that a test can compare a replica with what
//! the twin really holds. Ids are numbers here and numeric strings on the wire (attachment ids
//! get their `att` prefix when rendered).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// Lifecycle status of content (`ContentStatus` in the v2 spec).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Current,
    Archived,
    Draft,
    Trashed,
    Deleted,
    Historical,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Current => "current",
            Status::Archived => "archived",
            Status::Draft => "draft",
            Status::Trashed => "trashed",
            Status::Deleted => "deleted",
            Status::Historical => "historical",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "current" => Status::Current,
            "archived" => Status::Archived,
            "draft" => Status::Draft,
            "trashed" => Status::Trashed,
            "deleted" => Status::Deleted,
            "historical" => Status::Historical,
            _ => return None,
        })
    }
}

/// What a content item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContentKind {
    Page,
    Blogpost,
    Folder,
}

impl ContentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContentKind::Page => "page",
            ContentKind::Blogpost => "blogpost",
            ContentKind::Folder => "folder",
        }
    }
}

/// A storage-format body shared between versions that did not change it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body(pub Arc<str>);

impl Body {
    pub fn new(s: impl Into<Arc<str>>) -> Self {
        Body(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Body {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Attachment bytes; the dataset JSON shows their size and FNV-1a hash, not the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bytes(pub Arc<[u8]>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Bytes", 2)?;
        st.serialize_field("size", &self.0.len())?;
        st.serialize_field("fnv1a64", &format!("{:016x}", crate::rng::fnv1a64(&self.0)))?;
        st.end()
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub account_id: String,
    pub display_name: String,
    pub email: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    /// Account ids.
    pub members: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpacePermission {
    pub id: u64,
    /// `user` or `group`.
    pub principal_type: String,
    pub principal_id: String,
    /// `read`, `create`, `delete`, `administer`…
    pub operation: String,
    /// `space`, `page`, `blogpost`, `comment`, `attachment`.
    pub target_type: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Space {
    pub id: u64,
    pub key: String,
    pub name: String,
    /// `global` or `personal`.
    #[serde(rename = "type")]
    pub kind: String,
    pub status: Status,
    pub author_id: String,
    pub created_at: i64,
    pub homepage_id: Option<u64>,
    pub description: String,
    pub labels: Vec<u64>,
    pub properties: Vec<Property>,
    pub permissions: Vec<SpacePermission>,
}

/// One version of a page, blog post, folder or comment.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    pub number: u32,
    pub message: String,
    pub minor_edit: bool,
    pub author_id: String,
    pub created_at: i64,
    /// The title at this version (empty for comments).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    pub body: Body,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyVersion {
    pub number: u32,
    pub message: String,
    pub minor_edit: bool,
    pub author_id: String,
    pub created_at: i64,
}

/// A content or space property: a key with any JSON value.
#[derive(Clone, Debug, Serialize)]
pub struct Property {
    pub id: u64,
    pub key: String,
    pub value: serde_json::Value,
    pub version: PropertyVersion,
}

/// Users and groups a restriction admits; both empty = no restriction.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Subjects {
    /// Account ids.
    pub users: Vec<String>,
    /// Group ids.
    pub groups: Vec<String>,
}

impl Subjects {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty()
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Restrictions {
    pub read: Subjects,
    pub update: Subjects,
}

/// A page, blog post or folder.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: ContentKind,
    pub status: Status,
    pub title: String,
    pub space_id: u64,
    pub parent_id: Option<u64>,
    pub position: i32,
    pub author_id: String,
    pub owner_id: String,
    pub created_at: i64,
    /// Oldest first; the last one is the current version.
    pub versions: Vec<Version>,
    pub labels: Vec<u64>,
    pub properties: Vec<Property>,
    pub restrictions: Restrictions,
    /// A copy of the current version's `created_at`, kept beside the hot fields for listings
    /// that sort or filter by modification time; refreshed by [`Dataset::refresh`].
    #[serde(skip)]
    pub modified_at: i64,
}

impl Content {
    pub fn current(&self) -> &Version {
        self.versions
            .last()
            .expect("content has at least one version")
    }
    pub fn last_modified(&self) -> i64 {
        self.current().created_at
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CommentKind {
    Footer,
    Inline,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: CommentKind,
    /// The page, blog post or attachment the comment is on.
    pub container_id: u64,
    pub parent_comment_id: Option<u64>,
    pub status: Status,
    pub author_id: String,
    pub created_at: i64,
    pub versions: Vec<Version>,
    /// Inline comments: `open`, `resolved`, `reopened` or `dangling`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution_status: Option<String>,
    /// Inline comments: the `ac:ref` of the marker in the page body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_selection: Option<String>,
}

impl Comment {
    pub fn current(&self) -> &Version {
        self.versions
            .last()
            .expect("comment has at least one version")
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentVersion {
    pub number: u32,
    pub created_at: i64,
    pub author_id: String,
    pub message: String,
    pub minor_edit: bool,
    pub bytes: Bytes,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: u64,
    pub container_id: u64,
    /// The file name.
    pub title: String,
    pub media_type: String,
    pub file_id: String,
    pub comment: String,
    pub status: Status,
    pub created_at: i64,
    pub author_id: String,
    pub versions: Vec<AttachmentVersion>,
    pub labels: Vec<u64>,
}

impl Attachment {
    pub fn current(&self) -> &AttachmentVersion {
        self.versions
            .last()
            .expect("attachment has at least one version")
    }
}

/// Custom content of an app (`ac:com.example.app:diagram`…): versioned like a page, in a space
/// and optionally under a page, blog post or other custom content.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomContent {
    pub id: u64,
    /// The app's content type key.
    #[serde(rename = "type")]
    pub kind: String,
    pub status: Status,
    pub title: String,
    pub space_id: u64,
    /// The page, blog post or custom content it lives under; `None` for space-level content.
    pub container_id: Option<u64>,
    pub author_id: String,
    pub created_at: i64,
    /// Oldest first; the last one is the current version.
    pub versions: Vec<Version>,
    pub labels: Vec<u64>,
    pub properties: Vec<Property>,
}

impl CustomContent {
    pub fn current(&self) -> &Version {
        self.versions
            .last()
            .expect("custom content has at least one version")
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Label {
    pub id: u64,
    pub name: String,
    pub prefix: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: u64,
    /// The `ac:task-id` in the body.
    pub local_id: String,
    pub content_id: u64,
    pub space_id: u64,
    /// `complete` or `incomplete`.
    pub status: String,
    /// The task body as storage XML.
    pub body: String,
    pub created_by: String,
    pub assigned_to: Option<String>,
    pub completed_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub due_at: Option<i64>,
    pub completed_at: Option<i64>,
}

fn values<S: Serializer, T: Serialize>(m: &BTreeMap<u64, T>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(m.values())
}

/// Everything the Confluence twin holds.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dataset {
    pub seed: u64,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub spaces: Vec<Space>,
    #[serde(serialize_with = "values")]
    pub contents: BTreeMap<u64, Content>,
    #[serde(serialize_with = "values")]
    pub comments: BTreeMap<u64, Comment>,
    #[serde(serialize_with = "values")]
    pub attachments: BTreeMap<u64, Attachment>,
    #[serde(serialize_with = "values")]
    pub labels: BTreeMap<u64, Label>,
    #[serde(serialize_with = "values")]
    pub tasks: BTreeMap<u64, Task>,
    /// Apps' custom content (ids from the content id space).
    #[serde(serialize_with = "values")]
    pub custom_contents: BTreeMap<u64, CustomContent>,
    /// Next id for content, comments and attachments (one id space, as in Confluence).
    #[serde(skip)]
    pub next_content_id: u64,
    /// Next id for labels, properties, tasks and permissions.
    #[serde(skip)]
    pub next_aux_id: u64,
}

impl Dataset {
    pub fn alloc_content_id(&mut self) -> u64 {
        let id = self.next_content_id;
        self.next_content_id += 1;
        id
    }
    pub fn alloc_aux_id(&mut self) -> u64 {
        let id = self.next_aux_id;
        self.next_aux_id += 1;
        id
    }
    pub fn space(&self, id: u64) -> Option<&Space> {
        self.spaces.iter().find(|s| s.id == id)
    }
    pub fn space_mut(&mut self, id: u64) -> Option<&mut Space> {
        self.spaces.iter_mut().find(|s| s.id == id)
    }
    pub fn user(&self, account_id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.account_id == account_id)
    }
    /// The label with this prefix and name, created if new.
    pub fn intern_label(&mut self, prefix: &str, name: &str) -> u64 {
        if let Some(l) = self
            .labels
            .values()
            .find(|l| l.prefix == prefix && l.name == name)
        {
            return l.id;
        }
        let id = self.alloc_aux_id();
        self.labels.insert(
            id,
            Label {
                id,
                name: name.to_string(),
                prefix: prefix.to_string(),
            },
        );
        id
    }

    /// Recomputes derived fields ([`Content::modified_at`]) after changes.
    pub fn refresh(&mut self) {
        for c in self.contents.values_mut() {
            c.modified_at = c.last_modified();
        }
    }

    /// The ground truth as JSON; `bodies = false` leaves out body texts (useful for big sets).
    pub fn to_json(&self, bodies: bool) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if !bodies {
            strip_key(&mut v, "body");
        }
        v
    }
}

fn strip_key(v: &mut serde_json::Value, key: &str) {
    match v {
        serde_json::Value::Object(m) => {
            m.remove(key);
            for x in m.values_mut() {
                strip_key(x, key);
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| strip_key(x, key)),
        _ => {}
    }
}

/// Lookups derived from a [`Dataset`], rebuilt after every change.
#[derive(Debug, Default)]
pub struct Index {
    /// Parent id → child pages and folders, by position then id.
    pub children: HashMap<u64, Vec<u64>>,
    /// Space id → its top-level pages and folders.
    pub roots: HashMap<u64, Vec<u64>>,
    /// Container id → top-level comments on it, by id.
    pub comments: HashMap<u64, Vec<u64>>,
    /// Comment id → replies, by id.
    pub replies: HashMap<u64, Vec<u64>>,
    /// Container id → attachments, by id.
    pub attachments: HashMap<u64, Vec<u64>>,
    /// Space key → space id.
    pub space_keys: HashMap<String, u64>,
    /// Content id → the content on its path (itself and its ancestors) with a read restriction;
    /// content with none on its path is absent (visible to every licensed user).
    pub guards: HashMap<u64, Vec<u64>>,
}

impl Index {
    pub fn build(d: &Dataset) -> Index {
        let mut ix = Index::default();
        for c in d.contents.values() {
            if matches!(c.kind, ContentKind::Blogpost) || c.status == Status::Deleted {
                continue;
            }
            match c.parent_id {
                Some(p) => ix.children.entry(p).or_default().push(c.id),
                None => ix.roots.entry(c.space_id).or_default().push(c.id),
            }
        }
        for v in ix.children.values_mut().chain(ix.roots.values_mut()) {
            v.sort_by_key(|id| (d.contents[id].position, *id));
        }
        for c in d.comments.values() {
            match c.parent_comment_id {
                Some(p) => ix.replies.entry(p).or_default().push(c.id),
                None => ix.comments.entry(c.container_id).or_default().push(c.id),
            }
        }
        for a in d.attachments.values() {
            ix.attachments.entry(a.container_id).or_default().push(a.id);
        }
        for s in &d.spaces {
            ix.space_keys.insert(s.key.clone(), s.id);
        }
        for c in d.contents.values() {
            let mut guards = Vec::new();
            let mut cur = Some(c.id);
            let mut hops = 0;
            while let Some(i) = cur {
                let Some(x) = d.contents.get(&i) else { break };
                if !x.restrictions.read.is_empty() {
                    guards.push(i);
                }
                cur = x.parent_id;
                hops += 1;
                if hops > 10_000 {
                    break;
                }
            }
            if !guards.is_empty() {
                ix.guards.insert(c.id, guards);
            }
        }
        ix
    }
}
