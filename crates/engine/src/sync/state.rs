//! What a sync link keeps in the store: its spec, its change-detection marks, and per node pair
//! the base, what each side showed when last seen, and the versions and hashes that tell a
//! change from kbridge's own echo.

use kb_doc::Document;
use kb_store::{Store, SyncLinkRow, SyncPairRow};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::SyncError;

/// How a conflict (both sides changed the same part differently) is settled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Recorded with both versions; neither side is overwritten until `sync resolve`.
    #[default]
    Manual,
    PreferNotion,
    PreferConfluence,
    /// The side edited last wins the conflicting parts.
    Newest,
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Policy, String> {
        match s {
            "manual" => Ok(Policy::Manual),
            "prefer-notion" => Ok(Policy::PreferNotion),
            "prefer-confluence" => Ok(Policy::PreferConfluence),
            "newest" => Ok(Policy::Newest),
            other => Err(format!(
                "unknown conflict policy \"{other}\": use manual, prefer-notion, prefer-confluence or newest"
            )),
        }
    }
}

/// What happens on one side when the page's pair is trashed on the other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Deletion {
    /// The other side's page goes to its trash too (restorable; a restore is mirrored).
    #[default]
    Trash,
    /// The pair is forgotten; the other side's page stays as it is.
    Unlink,
}

impl std::str::FromStr for Deletion {
    type Err = String;
    fn from_str(s: &str) -> Result<Deletion, String> {
        match s {
            "trash" => Ok(Deletion::Trash),
            "unlink" => Ok(Deletion::Unlink),
            other => Err(format!(
                "unknown deletion policy \"{other}\": use trash or unlink"
            )),
        }
    }
}

/// Minutes between two reconciles (complete listings of both trees) when the link does not
/// say.
pub const RECONCILE_MINUTES: u32 = 10;

fn reconcile_default() -> u32 {
    RECONCILE_MINUTES
}

/// What a link joins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkSpec {
    /// The Notion page whose subtree is synced (normalised id, no dashes).
    pub notion_root: String,
    pub space_key: String,
    pub space_id: String,
    /// The Confluence page whose subtree is synced.
    pub confluence_root: String,
    #[serde(default)]
    pub policy: Policy,
    /// East of UTC, in minutes: the zone CQL dates are read in for the crawl account.
    #[serde(default)]
    pub utc_offset_minutes: i32,
    /// What a trash on one side does on the other.
    #[serde(default)]
    pub deletion: Deletion,
    /// Minutes between reconciles: complete listings of both trees, which find trashes,
    /// restores and Confluence moves (an incremental listing shows none of them).
    #[serde(default = "reconcile_default")]
    pub reconcile_minutes: u32,
}

impl LinkSpec {
    pub fn reconcile_ms(&self) -> i64 {
        i64::from(self.reconcile_minutes.max(1)) * 60_000
    }
}

/// Where change detection stands: each side's last poll start.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkState {
    /// RFC 3339, for Notion's search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notion_polled: Option<String>,
    /// ms since the epoch, for CQL `lastmodified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confluence_polled: Option<i64>,
    /// Passes run.
    #[serde(default)]
    pub passes: u64,
    /// ms since the epoch: the start of the last reconcile that went through without failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciled: Option<i64>,
}

/// A link as loaded.
#[derive(Clone, Debug)]
pub struct Link {
    pub name: String,
    pub spec: LinkSpec,
    pub state: LinkState,
}

/// Per pair: versions and hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairState {
    /// The title both sides agree on (Notion's; Confluence may have had to number it).
    pub title: String,
    /// The title each side showed when last seen.
    pub notion_title: String,
    pub confluence_title: String,
    /// The Notion parent (normalised id) and the Confluence parent.
    pub notion_parent: String,
    pub confluence_parent: String,
    /// Notion's `last_edited_time` when kbridge last read the page, and when it read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notion_edited: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notion_read_at: Option<String>,
    /// Hash of what Notion showed (title and document).
    pub notion_hash: String,
    /// The Confluence version last seen and the hash of what it showed.
    pub confluence_version: u64,
    pub confluence_hash: String,
    /// Hash of the base.
    pub base_hash: String,
    /// An open conflict: the pair waits for `sync resolve`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<i64>,
    /// Both pages are in their trash (a restore on either side is mirrored).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trashed: bool,
    /// Why the pair is no longer synced (a page moved out of the tree, or trashed under the
    /// `unlink` deletion policy). The pair is kept so the pages are never taken for new ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlinked: Option<String>,
}

/// A pair as loaded: ids, state, and the three documents.
#[derive(Clone, Debug)]
pub struct Pair {
    pub notion_id: String,
    pub confluence_id: String,
    pub state: PairState,
    pub base: Document,
    pub notion_seen: Document,
    pub confluence_seen: Document,
}

/// A document as its hash with the title: what tells one version from another.
pub fn doc_hash(title: &str, doc: &Document) -> Result<String, SyncError> {
    let json = kb_doc::ir_json::write(doc)
        .map_err(|e| SyncError::Input(format!("a document does not serialise: {e}")))?;
    let mut h = Sha256::new();
    h.update(title.as_bytes());
    h.update([0]);
    h.update(json.as_bytes());
    Ok(hex::encode(h.finalize()))
}

/// Documents are kept as their IR JSON text inside a JSON string: no nesting limit applies.
fn doc_value(doc: &Document) -> Result<Value, SyncError> {
    kb_doc::ir_json::write(doc)
        .map(Value::String)
        .map_err(|e| SyncError::Input(format!("a document does not serialise: {e}")))
}

fn value_doc(v: &Option<Value>, what: &str, pair: &str) -> Result<Document, SyncError> {
    match v {
        Some(Value::String(s)) => kb_doc::ir_json::read(s).map_err(|e| {
            SyncError::Corrupt(format!("the {what} of sync pair {pair} does not read: {e}"))
        }),
        _ => Err(SyncError::Corrupt(format!(
            "the {what} of sync pair {pair} is missing"
        ))),
    }
}

pub async fn load_link(store: &Store, name: &str) -> Result<Link, SyncError> {
    let row = store.sync_link(name).await?.ok_or_else(|| {
        SyncError::Input(format!(
            "there is no sync link \"{name}\": make it with `kbridge sync init --name {name} …`, or list the links with `kbridge sync status`"
        ))
    })?;
    let spec = serde_json::from_value(row.spec.clone())
        .map_err(|e| SyncError::Corrupt(format!("the spec of sync link {name}: {e}")))?;
    let state = serde_json::from_value(row.state.clone())
        .map_err(|e| SyncError::Corrupt(format!("the state of sync link {name}: {e}")))?;
    Ok(Link {
        name: row.name,
        spec,
        state,
    })
}

pub async fn save_link(store: &Store, link: &Link) -> Result<(), SyncError> {
    store
        .put_sync_link(&SyncLinkRow {
            name: link.name.clone(),
            spec: serde_json::to_value(&link.spec).map_err(|e| SyncError::Input(e.to_string()))?,
            state: serde_json::to_value(&link.state)
                .map_err(|e| SyncError::Input(e.to_string()))?,
            created_at: String::new(),
            updated_at: String::new(),
        })
        .await?;
    Ok(())
}

pub async fn save_link_state(store: &Store, link: &Link) -> Result<(), SyncError> {
    let state = serde_json::to_value(&link.state).map_err(|e| SyncError::Input(e.to_string()))?;
    store.put_sync_link_state(&link.name, &state).await?;
    Ok(())
}

pub async fn load_pairs(store: &Store, link: &str) -> Result<Vec<Pair>, SyncError> {
    let mut out = Vec::new();
    for r in store.sync_pairs(link).await? {
        let at = format!("{}/{}", r.notion_id, r.confluence_id);
        out.push(Pair {
            state: serde_json::from_value(r.state.clone())
                .map_err(|e| SyncError::Corrupt(format!("the state of sync pair {at}: {e}")))?,
            base: value_doc(&r.base, "base", &at)?,
            notion_seen: value_doc(&r.notion_seen, "Notion document", &at)?,
            confluence_seen: value_doc(&r.confluence_seen, "Confluence document", &at)?,
            notion_id: r.notion_id,
            confluence_id: r.confluence_id,
        });
    }
    Ok(out)
}

pub async fn save_pair(store: &Store, link: &str, p: &Pair) -> Result<(), SyncError> {
    store
        .put_sync_pair(&SyncPairRow {
            link: link.to_string(),
            notion_id: p.notion_id.clone(),
            confluence_id: p.confluence_id.clone(),
            state: serde_json::to_value(&p.state).map_err(|e| SyncError::Input(e.to_string()))?,
            base: Some(doc_value(&p.base)?),
            notion_seen: Some(doc_value(&p.notion_seen)?),
            confluence_seen: Some(doc_value(&p.confluence_seen)?),
        })
        .await?;
    Ok(())
}
