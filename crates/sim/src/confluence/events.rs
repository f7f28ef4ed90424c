//! Webhook events of Confluence changes: the entity summaries (Cloud app payload shape) and the
//! event names, built from the dataset by the write handlers and handed to
//! [`crate::webhooks::Webhooks`]. Nothing is built when no receiver is registered.
//!
//! Names follow Confluence's (Connect and DC alike): `page_created`, `page_updated`,
//! `page_removed` (sent to the trash), `page_trashed` (purged from the trash: the names look
//! swapped, and are), `page_restored`, `page_moved`, and the same for `blog_*`; custom content
//! uses `content_*`; `comment_created|updated|removed`,
//! `attachment_created|updated|removed|trashed`, `label_added|removed`,
//! `content_permissions_updated`.

use serde_json::{Value, json};

use super::render::title_slug;
use crate::model::*;
use crate::server::Sim;
use crate::webhooks::ConfluenceEvent;

/// What happened to a page, blog post or custom content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Created,
    Updated,
    /// To the trash.
    Removed,
    /// Purged from the trash.
    Trashed,
    Restored,
    Moved,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Removed => "removed",
            Action::Trashed => "trashed",
            Action::Restored => "restored",
            Action::Moved => "moved",
        }
    }
}

fn base(sim: &Sim) -> String {
    format!("http://{}/wiki", sim.addr)
}

fn space_key(d: &Dataset, space: u64) -> String {
    d.space(space).map(|s| s.key.clone()).unwrap_or_default()
}

/// The Cloud summary of a page or blog post (`page` / `blog` entity).
pub fn content_entity(d: &Dataset, c: &Content, base: &str) -> Value {
    let v = c.current();
    let key = space_key(d, c.space_id);
    let link = match c.kind {
        ContentKind::Blogpost => format!("{base}/spaces/{key}/blog/{}", c.id),
        ContentKind::Folder => format!("{base}/spaces/{key}/folder/{}", c.id),
        ContentKind::Page => format!(
            "{base}/spaces/{key}/pages/{}/{}",
            c.id,
            title_slug(&c.title)
        ),
    };
    json!({
        "id": c.id.to_string(),
        "title": c.title,
        "spaceKey": key,
        "contentType": c.kind.as_str(),
        "version": v.number,
        "creatorAccountId": c.author_id,
        "lastModifierAccountId": v.author_id,
        "creationDate": c.created_at,
        "modificationDate": v.created_at,
        "self": link,
    })
}

fn custom_entity(d: &Dataset, cc: &CustomContent, base: &str) -> Value {
    let v = cc.current();
    let key = space_key(d, cc.space_id);
    json!({
        "id": cc.id.to_string(),
        "title": cc.title,
        "spaceKey": key,
        "contentType": cc.kind,
        "version": v.number,
        "creatorAccountId": cc.author_id,
        "lastModifierAccountId": v.author_id,
        "creationDate": cc.created_at,
        "modificationDate": v.created_at,
        "self": format!("{base}/spaces/{key}/customcontent/{}", cc.id),
    })
}

/// The payload key of a content kind (`page`, `blog`, `content`).
fn entity_key(kind: ContentKind) -> &'static str {
    match kind {
        ContentKind::Page => "page",
        ContentKind::Blogpost => "blog",
        ContentKind::Folder => "content",
    }
}

fn prefix(kind: ContentKind) -> &'static str {
    match kind {
        ContentKind::Page => "page",
        ContentKind::Blogpost => "blog",
        ContentKind::Folder => "content",
    }
}

/// A page, blog post or folder event; `None` when nobody listens or the content is gone.
pub fn content(
    sim: &Sim,
    d: &Dataset,
    id: u64,
    action: Action,
    user: &str,
    at: i64,
) -> Option<ConfluenceEvent> {
    if !sim.webhooks.active() {
        return None;
    }
    let base = base(sim);
    if let Some(cc) = d.custom_contents.get(&id) {
        return Some(ConfluenceEvent {
            event: format!("content_{}", action.as_str()),
            timestamp: at,
            user: user.to_string(),
            entities: vec![("content".into(), custom_entity(d, cc, &base))],
            extra: Vec::new(),
        });
    }
    let c = d.contents.get(&id)?;
    let mut extra = Vec::new();
    if action == Action::Updated {
        extra.push(("updateTrigger".to_string(), json!("edit_page")));
    }
    Some(ConfluenceEvent {
        event: format!("{}_{}", prefix(c.kind), action.as_str()),
        timestamp: at,
        user: user.to_string(),
        entities: vec![(entity_key(c.kind).into(), content_entity(d, c, &base))],
        extra,
    })
}

/// `page_moved` with the old and new parents.
pub fn moved(
    sim: &Sim,
    d: &Dataset,
    id: u64,
    old_parent: Option<u64>,
    user: &str,
    at: i64,
) -> Option<ConfluenceEvent> {
    let mut e = content(sim, d, id, Action::Moved, user, at)?;
    let base = base(sim);
    let new_parent = d.contents.get(&id).and_then(|c| c.parent_id);
    for (k, p) in [("oldParent", old_parent), ("newParent", new_parent)] {
        if let Some(pc) = p.and_then(|p| d.contents.get(&p)) {
            e.extra.push((k.into(), content_entity(d, pc, &base)));
        }
    }
    Some(e)
}

/// `comment_created|updated|removed`.
pub fn comment(
    sim: &Sim,
    d: &Dataset,
    id: u64,
    action: Action,
    user: &str,
    at: i64,
) -> Option<ConfluenceEvent> {
    if !sim.webhooks.active() {
        return None;
    }
    let base = base(sim);
    let cm = d.comments.get(&id)?;
    let v = cm.current();
    let container = d.contents.get(&cm.container_id);
    let mut entity = json!({
        "id": cm.id.to_string(),
        "contentType": "comment",
        "spaceKey": container.map(|c| space_key(d, c.space_id)).unwrap_or_default(),
        "creatorAccountId": cm.author_id,
        "lastModifierAccountId": v.author_id,
        "creationDate": cm.created_at,
        "modificationDate": v.created_at,
        "version": v.number,
        "self": format!("{base}/rest/api/content/{}", cm.id),
    });
    if let Some(c) = container {
        entity["parent"] = content_entity(d, c, &base);
    }
    if let Some(p) = cm.parent_comment_id {
        entity["inReplyTo"] = json!({"id": p.to_string()});
    }
    Some(ConfluenceEvent {
        event: format!("comment_{}", action.as_str()),
        timestamp: at,
        user: user.to_string(),
        entities: vec![("comment".into(), entity)],
        extra: Vec::new(),
    })
}

/// `attachment_created|updated|removed|trashed`: `attachedTo` and `attachments`.
pub fn attachment(
    sim: &Sim,
    d: &Dataset,
    id: u64,
    action: Action,
    user: &str,
    at: i64,
) -> Option<ConfluenceEvent> {
    if !sim.webhooks.active() {
        return None;
    }
    let base = base(sim);
    let a = d.attachments.get(&id)?;
    let v = a.current();
    let att = json!({
        "id": a.id.to_string(),
        "fileName": a.title,
        "mediaType": a.media_type,
        "fileSize": v.bytes.0.len(),
        "version": v.number,
        "creatorAccountId": a.author_id,
        "lastModifierAccountId": v.author_id,
        "creationDate": a.created_at,
        "modificationDate": v.created_at,
        "self": format!("{base}/rest/api/content/att{}", a.id),
    });
    let mut entities = Vec::new();
    if let Some(c) = d.contents.get(&a.container_id) {
        entities.push(("attachedTo".to_string(), content_entity(d, c, &base)));
    }
    entities.push(("attachments".to_string(), json!([att])));
    Some(ConfluenceEvent {
        event: format!("attachment_{}", action.as_str()),
        timestamp: at,
        user: user.to_string(),
        entities,
        extra: Vec::new(),
    })
}

/// `label_added|removed` on content `id`.
pub fn label(
    sim: &Sim,
    d: &Dataset,
    content_id: u64,
    label: &Label,
    added: bool,
    user: &str,
    at: i64,
) -> Option<ConfluenceEvent> {
    if !sim.webhooks.active() {
        return None;
    }
    let base = base(sim);
    let c = d.contents.get(&content_id)?;
    Some(ConfluenceEvent {
        event: if added {
            "label_added"
        } else {
            "label_removed"
        }
        .into(),
        timestamp: at,
        user: user.to_string(),
        entities: vec![
            (
                "label".into(),
                json!({"name": label.name, "prefix": label.prefix, "labelId": label.id.to_string()}),
            ),
            ("labeled".into(), content_entity(d, c, &base)),
        ],
        extra: Vec::new(),
    })
}

/// `content_permissions_updated` of content `id`.
pub fn permissions(
    sim: &Sim,
    d: &Dataset,
    content_id: u64,
    user: &str,
    at: i64,
) -> Option<ConfluenceEvent> {
    if !sim.webhooks.active() {
        return None;
    }
    let base = base(sim);
    let c = d.contents.get(&content_id)?;
    Some(ConfluenceEvent {
        event: "content_permissions_updated".into(),
        timestamp: at,
        user: user.to_string(),
        entities: vec![("content".into(), content_entity(d, c, &base))],
        extra: vec![("type".into(), json!(c.kind.as_str()))],
    })
}

/// Hands an event, if any, to the receivers.
pub fn emit(sim: &Sim, e: Option<ConfluenceEvent>) {
    if let Some(e) = e {
        sim.webhooks.emit_confluence(&e);
    }
}
