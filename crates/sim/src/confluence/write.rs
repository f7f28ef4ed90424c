//! REST v2 writes: pages, blog posts, folders, footer comments, content and space properties.
//!
//! Each write checks what the real service checks (required fields, the version being
//! current + 1, unique titles in a space, the parent existing in the same space, view and edit
//! restrictions), stamps the change with the twin's clock and re-derives the page's tasks from
//! its new body.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::api::*;
use super::events::{self, Action};
use super::render;
use super::v2::{find, kind_of};
use super::{Data, admits};
use crate::model::*;
use crate::storage::{self, TaskSpec};

type R = Result<Response, ApiError>;

/// A string field that may also arrive as a number (ids).
pub(super) fn field(v: &Value, k: &str) -> Option<String> {
    match v.get(k)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn object(bytes: &[u8]) -> Result<Value, ApiError> {
    let v: Value = parse_body(bytes, Flavor::V2)?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "The request body must be a JSON object",
        ));
    }
    Ok(v)
}

pub(super) fn id_field(v: &Value, k: &str) -> Result<Option<u64>, ApiError> {
    match field(v, k) {
        None => Ok(None),
        Some(s) => s.parse::<u64>().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "Provided value {{{s}}} for '{k}' is not the correct type. Expected type is Long"
            ))
        }),
    }
}

/// The storage value of a write body, flat (`{representation, value}`) or nested
/// (`{storage: {…}}`). Other representations are not implemented by the twin (501); a body
/// kb-doc cannot read is a 400, as Confluence rejects unparsable XHTML.
pub(super) fn storage_body(v: Option<&Value>) -> Result<Option<String>, ApiError> {
    let Some(b) = v else { return Ok(None) };
    if b.is_null() {
        return Ok(None);
    }
    let (repr, value) = if let Some(r) = b.get("representation") {
        (r.as_str().unwrap_or("").to_string(), b.get("value"))
    } else if let Some(inner) = b.get("storage") {
        ("storage".to_string(), inner.get("value"))
    } else if b.get("atlas_doc_format").is_some() {
        ("atlas_doc_format".to_string(), None)
    } else if b.get("wiki").is_some() {
        ("wiki".to_string(), None)
    } else {
        return Err(ApiError::bad_request(
            "Body must give a representation and a value",
        ));
    };
    match repr.as_str() {
        "storage" => {}
        "atlas_doc_format" | "wiki" => {
            return Err(ApiError::not_implemented(format!(
                "kbridge sim: writing the {repr} representation is not implemented by the twin yet; use storage"
            )));
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "Unsupported body representation: {other}"
            )));
        }
    }
    let value = value
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("Body value must be a string"))?;
    if value.len() > 5 * 1024 * 1024 {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "REQUEST_ENTITY_TOO_LARGE",
            "Request body is over 5 MB",
        ));
    }
    // The service's own check (well-formed XHTML with Confluence's namespaces), never
    // kbridge's reader: the twin holds any body the service would.
    super::xhtml::check(value).map_err(ApiError::bad_request)?;
    Ok(Some(value.to_string()))
}

/// `version.number` (required, 400 without) and `version.message` of an update body.
pub(super) fn version_fields(v: &Value) -> Result<(i64, String), ApiError> {
    let version = v.get("version");
    let number = version
        .and_then(|x| x.get("number"))
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::bad_request("version.number is required"))?;
    let message = version
        .and_then(|x| x.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    Ok((number, message))
}

fn title_taken(d: &Dataset, space: u64, title: &str, except: Option<u64>) -> bool {
    d.contents.values().any(|c| {
        c.space_id == space
            && c.kind == ContentKind::Page
            && matches!(c.status, Status::Current | Status::Archived)
            && c.title == title
            && Some(c.id) != except
    })
}

fn title_conflict() -> ApiError {
    ApiError::bad_request(
        "A page with this title already exists: A page already exists with the same TITLE in this space",
    )
}

/// The parent a new or moved page gets: it must be a live page or folder of the same space.
fn check_parent(data: &Data, ctx: &Ctx, space: u64, parent: u64) -> Result<(), ApiError> {
    let ok = data.d.contents.get(&parent).is_some_and(|p| {
        p.space_id == space
            && p.kind != ContentKind::Blogpost
            && matches!(p.status, Status::Current | Status::Archived)
    }) && data.can_view(&ctx.caller, parent);
    if ok {
        Ok(())
    } else {
        Err(ApiError::not_found_msg(format!(
            "The parent content with id {parent} was not found"
        )))
    }
}

fn next_position(data: &Data, parent: Option<u64>, space: u64) -> i32 {
    let sibs = match parent {
        Some(p) => data.ix.children.get(&p),
        None => data.ix.roots.get(&space),
    };
    sibs.into_iter()
        .flatten()
        .filter_map(|id| data.d.contents.get(id))
        .map(|c| c.position + 1)
        .max()
        .unwrap_or(0)
}

/// Re-derives a page's tasks from its body: same `ac:task-id` keeps its task id.
pub(super) fn sync_tasks(d: &mut Dataset, content_id: u64, body: &str, who: &str, now: i64) {
    let specs: Vec<TaskSpec> = storage::tasks(body);
    let space_id = d.contents.get(&content_id).map(|c| c.space_id).unwrap_or(0);
    let existing: Vec<u64> = d
        .tasks
        .values()
        .filter(|t| t.content_id == content_id)
        .map(|t| t.id)
        .collect();
    for id in &existing {
        let local = d.tasks[id].local_id.clone();
        if !specs.iter().any(|s| s.local_id == local) {
            d.tasks.remove(id);
        }
    }
    for s in specs {
        let found = d
            .tasks
            .values()
            .find(|t| t.content_id == content_id && t.local_id == s.local_id)
            .map(|t| t.id);
        match found {
            Some(id) => {
                let t = d.tasks.get_mut(&id).expect("found above");
                let status = if s.done { "complete" } else { "incomplete" };
                if t.status != status
                    || t.body != s.body
                    || t.assigned_to != s.assignee
                    || t.due_at != s.due
                {
                    if s.done && t.status != "complete" {
                        t.completed_by = Some(who.to_string());
                        t.completed_at = Some(now);
                    } else if !s.done {
                        t.completed_by = None;
                        t.completed_at = None;
                    }
                    t.status = status.into();
                    t.body = s.body;
                    t.assigned_to = s.assignee;
                    t.due_at = s.due;
                    t.updated_at = now;
                }
            }
            None => {
                let id = d.alloc_aux_id();
                d.tasks.insert(
                    id,
                    Task {
                        id,
                        local_id: s.local_id,
                        content_id,
                        space_id,
                        status: if s.done { "complete" } else { "incomplete" }.into(),
                        body: s.body,
                        created_by: who.to_string(),
                        assigned_to: s.assignee,
                        completed_by: s.done.then(|| who.to_string()),
                        created_at: now,
                        updated_at: now,
                        due_at: s.due,
                        completed_at: s.done.then_some(now),
                    },
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pages and blog posts

pub(super) fn create_content(ctx: &Ctx, bytes: &[u8], kind: ContentKind) -> R {
    let v = object(bytes)?;
    let root_level = ctx.q.bool("root-level", false)?;
    ctx.q.bool("private", false)?;
    ctx.q.bool("embedded", false)?;
    let status = match field(&v, "status").as_deref() {
        None | Some("current") => Status::Current,
        Some("draft") => Status::Draft,
        Some(s) => return Err(ApiError::bad_request(format!("Invalid status: {s}"))),
    };
    let space_id =
        id_field(&v, "spaceId")?.ok_or_else(|| ApiError::bad_request("spaceId is required"))?;
    let title = field(&v, "title").filter(|t| !t.trim().is_empty());
    if title.is_none() && status == Status::Current {
        return Err(ApiError::bad_request(
            "Title is required when the status is current",
        ));
    }
    let title = title.unwrap_or_default();
    if title.chars().count() > 255 {
        return Err(ApiError::bad_request(
            "Title must be 255 characters or fewer",
        ));
    }
    let parent = if kind == ContentKind::Page {
        id_field(&v, "parentId")?
    } else {
        None
    };
    if root_level && parent.is_some() {
        return Err(ApiError::bad_request(
            "parentId may not be supplied when root-level is true",
        ));
    }
    let body = storage_body(v.get("body"))?.unwrap_or_default();
    let created_at = match (kind, field(&v, "createdAt")) {
        (ContentKind::Blogpost, Some(s)) => Some(
            crate::time::parse_iso(&s)
                .ok_or_else(|| ApiError::bad_request(format!("Invalid createdAt: {s}")))?,
        ),
        _ => None,
    };
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let space = data
        .d
        .space(space_id)
        .ok_or_else(|| ApiError::not_found_msg(format!("No space with id {space_id}")))?;
    let homepage = space.homepage_id;
    let parent = match (kind, parent) {
        (ContentKind::Page, Some(p)) => {
            check_parent(&data, ctx, space_id, p)?;
            Some(p)
        }
        (ContentKind::Page, None) if !root_level => homepage.filter(|h| data.live(*h)),
        _ => None,
    };
    if kind == ContentKind::Page
        && status == Status::Current
        && title_taken(&data.d, space_id, &title, None)
    {
        return Err(title_conflict());
    }
    let position = if kind == ContentKind::Page {
        next_position(&data, parent, space_id)
    } else {
        0
    };
    let id = data.d.alloc_content_id();
    let who = ctx.caller.account_id.clone();
    data.d.contents.insert(
        id,
        Content {
            id,
            kind,
            status,
            title: title.clone(),
            space_id,
            parent_id: parent,
            position,
            author_id: who.clone(),
            owner_id: who.clone(),
            created_at: created_at.unwrap_or(now),
            versions: vec![Version {
                number: 1,
                message: String::new(),
                minor_edit: false,
                author_id: who.clone(),
                created_at: now,
                title,
                body: Body::new(body.clone()),
            }],
            labels: Vec::new(),
            properties: Vec::new(),
            restrictions: Restrictions::default(),
            modified_at: 0,
        },
    );
    sync_tasks(&mut data.d, id, &body, &who, now);
    data.reindex();
    events::emit(
        &ctx.sim,
        events::content(&ctx.sim, &data.d, id, Action::Created, &who, now),
    );
    let c = &data.d.contents[&id];
    ok(ctx.with_base(render::content(
        &data.d,
        c,
        c.current(),
        Some(BodyFormat::Storage),
        true,
    )))
}

pub async fn create_page(ctx: Ctx, bytes: Bytes) -> R {
    create_content(&ctx, &bytes, ContentKind::Page)
}

pub async fn create_blogpost(ctx: Ctx, bytes: Bytes) -> R {
    create_content(&ctx, &bytes, ContentKind::Blogpost)
}

fn update_content(ctx: &Ctx, id: &str, bytes: &[u8], kind: ContentKind) -> R {
    let id = path_id(id)?;
    let v = object(bytes)?;
    let missing: Vec<&str> = ["id", "status", "title", "body", "version"]
        .into_iter()
        .filter(|k| v.get(*k).is_none_or(Value::is_null))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Missing required fields: {}",
            missing.join(", ")
        )));
    }
    if id_field(&v, "id")? != Some(id) {
        return Err(ApiError::bad_request(
            "The id in the body does not match the id in the path",
        ));
    }
    let status = match field(&v, "status").as_deref() {
        Some("current") => Status::Current,
        Some("draft") => {
            return Err(ApiError::bad_request(
                "kbridge sim: turning published content back into a draft is not supported",
            ));
        }
        Some(s) => return Err(ApiError::bad_request(format!("Invalid status: {s}"))),
        None => unreachable!("checked above"),
    };
    let title = field(&v, "title")
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("Title is required"))?;
    let number = v
        .get("version")
        .and_then(|x| x.get("number"))
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::bad_request("version.number is required"))?;
    let message = v
        .get("version")
        .and_then(|x| x.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let minor = v
        .get("version")
        .and_then(|x| x.get("minorEdit"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let body = storage_body(v.get("body"))?;
    let new_parent = if kind == ContentKind::Page {
        id_field(&v, "parentId")?
    } else {
        None
    };
    let new_space = id_field(&v, "spaceId")?;
    let owner = field(&v, "ownerId");
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let c = data
        .d
        .contents
        .get(&id)
        .filter(|c| c.kind == kind && c.status != Status::Deleted)
        .ok_or_else(ApiError::not_found)?;
    if !data.can_view(&ctx.caller, id) || !admits(&c.restrictions.update, &ctx.caller) {
        return Err(ApiError::not_found());
    }
    let (space_id, cur_number, cur_parent, was) =
        (c.space_id, c.current().number, c.parent_id, c.status);
    // Restoring from the trash: the body is ignored.
    if was == Status::Trashed && status == Status::Current {
        let c = data.d.contents.get_mut(&id).expect("checked");
        c.status = Status::Current;
        data.reindex();
        let who = &ctx.caller.account_id;
        events::emit(
            &ctx.sim,
            events::content(&ctx.sim, &data.d, id, Action::Restored, who, now),
        );
        let c = &data.d.contents[&id];
        return ok(ctx.with_base(render::content(
            &data.d,
            c,
            c.current(),
            Some(BodyFormat::Storage),
            true,
        )));
    }
    if number != cur_number as i64 + 1 {
        return Err(ApiError::conflict(format!(
            "Version must be incremented when updating a page. Current Version: [{cur_number}]. Provided version: [{number}]"
        )));
    }
    if new_space.is_some_and(|s| s != space_id) {
        return Err(ApiError::bad_request(
            "Moving content to a different space is not supported by this endpoint",
        ));
    }
    if kind == ContentKind::Page && title_taken(&data.d, space_id, &title, Some(id)) {
        return Err(title_conflict());
    }
    let mut position = None;
    if let Some(p) = new_parent
        && Some(p) != cur_parent
    {
        check_parent(&data, ctx, space_id, p)?;
        if would_loop(&data.d, id, p) {
            return Err(ApiError::bad_request(
                "A page cannot be moved under itself or one of its descendants",
            ));
        }
        position = Some(next_position(&data, Some(p), space_id));
    }
    if let Some(o) = &owner
        && data.d.user(o).is_none()
    {
        return Err(ApiError::bad_request(format!(
            "No user with account id {o}"
        )));
    }
    let who = ctx.caller.account_id.clone();
    let c = data.d.contents.get_mut(&id).expect("checked");
    let body = body
        .map(Body::new)
        .unwrap_or_else(|| c.current().body.clone());
    let body_text = body.as_str().to_string();
    c.versions.push(Version {
        number: number as u32,
        message,
        minor_edit: minor,
        author_id: who.clone(),
        created_at: now,
        title: title.clone(),
        body,
    });
    c.title = title;
    if let Some(pos) = position {
        c.parent_id = new_parent;
        c.position = pos;
    }
    if let Some(o) = owner {
        c.owner_id = o;
    }
    sync_tasks(&mut data.d, id, &body_text, &who, now);
    data.reindex();
    events::emit(
        &ctx.sim,
        events::content(&ctx.sim, &data.d, id, Action::Updated, &who, now),
    );
    if position.is_some() {
        events::emit(
            &ctx.sim,
            events::moved(&ctx.sim, &data.d, id, cur_parent, &who, now),
        );
    }
    let c = &data.d.contents[&id];
    ok(ctx.with_base(render::content(
        &data.d,
        c,
        c.current(),
        Some(BodyFormat::Storage),
        true,
    )))
}

/// Whether making `parent` the parent of `id` would put `id` under itself.
pub(super) fn would_loop(d: &Dataset, id: u64, parent: u64) -> bool {
    let mut cur = Some(parent);
    let mut hops = 0;
    while let Some(p) = cur {
        if p == id || hops > 10_000 {
            return true;
        }
        cur = d.contents.get(&p).and_then(|c| c.parent_id);
        hops += 1;
    }
    false
}

pub async fn update_page(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> R {
    update_content(&ctx, &id, &bytes, ContentKind::Page)
}

pub async fn update_blogpost(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> R {
    update_content(&ctx, &id, &bytes, ContentKind::Blogpost)
}

/// Sends content to the trash (its children move up to its parent, as in Confluence), or with
/// `purge=true` removes trashed content for good, with its comments, attachments and tasks.
pub(super) fn trash_or_purge(
    data: &mut Data,
    id: u64,
    purge: bool,
    draft: bool,
) -> Result<(), ApiError> {
    let c = data.d.contents.get(&id).ok_or_else(ApiError::not_found)?;
    let (status, parent, space) = (c.status, c.parent_id, c.space_id);
    if draft {
        if status != Status::Draft {
            return Err(ApiError::bad_request("The content is not a draft"));
        }
        remove_content(&mut data.d, id);
    } else if purge {
        if status != Status::Trashed {
            return Err(ApiError::bad_request(
                "Only trashed content can be purged; delete it first",
            ));
        }
        remove_content(&mut data.d, id);
    } else {
        match status {
            Status::Current | Status::Archived => {}
            Status::Trashed => {
                return Err(ApiError::bad_request(
                    "The content is already in the trash; use purge=true",
                ));
            }
            _ => return Err(ApiError::not_found()),
        }
        let kids: Vec<u64> = data.ix.children.get(&id).cloned().unwrap_or_default();
        let mut pos = next_position(data, parent, space);
        for k in kids {
            if let Some(kc) = data.d.contents.get_mut(&k) {
                kc.parent_id = parent;
                kc.position = pos;
                pos += 1;
            }
        }
        data.d.contents.get_mut(&id).expect("checked").status = Status::Trashed;
    }
    data.reindex();
    Ok(())
}

fn remove_content(d: &mut Dataset, id: u64) {
    d.contents.remove(&id);
    d.custom_contents
        .retain(|_, cc| cc.container_id != Some(id));
    let atts: Vec<u64> = d
        .attachments
        .values()
        .filter(|a| a.container_id == id)
        .map(|a| a.id)
        .collect();
    d.comments
        .retain(|_, c| c.container_id != id && !atts.contains(&c.container_id));
    for a in atts {
        d.attachments.remove(&a);
    }
    d.tasks.retain(|_, t| t.content_id != id);
}

fn delete_content(ctx: &Ctx, id: &str, kind: ContentKind) -> R {
    let id = path_id(id)?;
    let purge = ctx.q.bool("purge", false)?;
    let draft = ctx.q.bool("draft", false)?;
    let mut data = ctx.conf().write();
    let c = data
        .d
        .contents
        .get(&id)
        .filter(|c| c.kind == kind)
        .ok_or_else(ApiError::not_found)?;
    if !data.can_view(&ctx.caller, id) || !admits(&c.restrictions.update, &ctx.caller) {
        return Err(ApiError::not_found());
    }
    let now = ctx.conf().now();
    let action = if purge || draft {
        Action::Trashed
    } else {
        Action::Removed
    };
    let ev = events::content(&ctx.sim, &data.d, id, action, &ctx.caller.account_id, now);
    trash_or_purge(&mut data, id, purge, draft)?;
    events::emit(&ctx.sim, ev);
    Ok(no_content())
}

pub fn no_content() -> Response {
    let mut r = Response::new(axum::body::Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

pub async fn delete_page(ctx: Ctx, Path(id): Path<String>) -> R {
    delete_content(&ctx, &id, ContentKind::Page)
}

pub async fn delete_blogpost(ctx: Ctx, Path(id): Path<String>) -> R {
    delete_content(&ctx, &id, ContentKind::Blogpost)
}

pub async fn delete_folder(ctx: Ctx, Path(id): Path<String>) -> R {
    delete_content(&ctx, &id, ContentKind::Folder)
}

pub async fn create_folder(ctx: Ctx, bytes: Bytes) -> R {
    let v = object(&bytes)?;
    let space_id =
        id_field(&v, "spaceId")?.ok_or_else(|| ApiError::bad_request("spaceId is required"))?;
    let title = field(&v, "title")
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("Title is required"))?;
    let parent = id_field(&v, "parentId")?;
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let space = data
        .d
        .space(space_id)
        .ok_or_else(|| ApiError::not_found_msg(format!("No space with id {space_id}")))?;
    let parent = match parent {
        Some(p) => {
            check_parent(&data, &ctx, space_id, p)?;
            Some(p)
        }
        None => space.homepage_id.filter(|h| data.live(*h)),
    };
    let position = next_position(&data, parent, space_id);
    let id = data.d.alloc_content_id();
    let who = ctx.caller.account_id.clone();
    data.d.contents.insert(
        id,
        Content {
            id,
            kind: ContentKind::Folder,
            status: Status::Current,
            title: title.clone(),
            space_id,
            parent_id: parent,
            position,
            author_id: who.clone(),
            owner_id: who.clone(),
            created_at: now,
            versions: vec![Version {
                number: 1,
                message: String::new(),
                minor_edit: false,
                author_id: who,
                created_at: now,
                title,
                body: Body::new(""),
            }],
            labels: Vec::new(),
            properties: Vec::new(),
            restrictions: Restrictions::default(),
            modified_at: 0,
        },
    );
    data.reindex();
    events::emit(
        &ctx.sim,
        events::content(
            &ctx.sim,
            &data.d,
            id,
            Action::Created,
            &ctx.caller.account_id,
            now,
        ),
    );
    ok(ctx.with_base(render::folder(&data.d, &data.d.contents[&id])))
}

// ---------------------------------------------------------------------------------------------
// Comments

pub async fn create_footer_comment(ctx: Ctx, bytes: Bytes) -> R {
    let v = object(&bytes)?;
    let page = id_field(&v, "pageId")?;
    let blog = id_field(&v, "blogPostId")?;
    let parent = id_field(&v, "parentCommentId")?;
    let attachment = match field(&v, "attachmentId") {
        Some(s) => Some(super::v2::attachment_id(&s)?),
        None => None,
    };
    if field(&v, "customContentId").is_some() {
        return Err(ApiError::not_implemented(
            "kbridge sim: custom content is not implemented by the twin yet",
        ));
    }
    let given = [page, blog, parent, attachment]
        .iter()
        .filter(|x| x.is_some())
        .count();
    if given != 1 {
        return Err(ApiError::bad_request(
            "Exactly one of pageId, blogPostId, attachmentId or parentCommentId is required",
        ));
    }
    let body =
        storage_body(v.get("body"))?.ok_or_else(|| ApiError::bad_request("body is required"))?;
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let (container, parent_id) = if let Some(p) = parent {
        let pc = data
            .d
            .comments
            .get(&p)
            .filter(|c| c.kind == CommentKind::Footer)
            .ok_or_else(ApiError::not_found)?;
        (pc.container_id, Some(p))
    } else if let Some(a) = attachment {
        let at = data.d.attachments.get(&a).ok_or_else(ApiError::not_found)?;
        (at.id, None)
    } else {
        let id = page.or(blog).expect("one given");
        let kind = if page.is_some() {
            ContentKind::Page
        } else {
            ContentKind::Blogpost
        };
        let c = find(&data, &ctx, id, kind)?;
        if c.status != Status::Current {
            return Err(ApiError::not_found());
        }
        (id, None)
    };
    if !data.can_view_any(&ctx.caller, container) {
        return Err(ApiError::not_found());
    }
    let id = data.d.alloc_content_id();
    let who = ctx.caller.account_id.clone();
    data.d.comments.insert(
        id,
        Comment {
            id,
            kind: CommentKind::Footer,
            container_id: container,
            parent_comment_id: parent_id,
            status: Status::Current,
            author_id: who.clone(),
            created_at: now,
            versions: vec![Version {
                number: 1,
                message: String::new(),
                minor_edit: false,
                author_id: who,
                created_at: now,
                title: String::new(),
                body: Body::new(body),
            }],
            resolution_status: None,
            marker_ref: None,
            original_selection: None,
        },
    );
    data.reindex();
    events::emit(
        &ctx.sim,
        events::comment(
            &ctx.sim,
            &data.d,
            id,
            Action::Created,
            &ctx.caller.account_id,
            now,
        ),
    );
    let out = render::comment(
        &data.d,
        &data.d.comments[&id],
        Some(BodyFormat::Storage),
        render::CommentShape::Full,
    );
    let mut r = json_response(StatusCode::CREATED, &ctx.with_base(out));
    if let Ok(h) = HeaderValue::from_str(&format!("/wiki/api/v2/footer-comments/{id}")) {
        r.headers_mut().insert(header::LOCATION, h);
    }
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// Properties

fn property_key(v: &Value) -> Result<String, ApiError> {
    let key = field(v, "key")
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::bad_request("key is required"))?;
    if key.chars().count() > 255 {
        return Err(ApiError::bad_request(
            "Property key must be 255 characters or fewer",
        ));
    }
    Ok(key)
}

fn editable<'a>(
    data: &'a mut Data,
    ctx: &Ctx,
    id: u64,
    kind: ContentKind,
) -> Result<&'a mut Content, ApiError> {
    find(data, ctx, id, kind)?;
    if !data.can_edit(&ctx.caller, id) {
        return Err(ApiError::not_found());
    }
    Ok(data.d.contents.get_mut(&id).expect("found"))
}

/// Adds a new property (version 1) to `props`; 409 when `key` is taken on `owner`.
fn add_property<'a>(
    props: &'a mut Vec<Property>,
    id: u64,
    key: String,
    value: Value,
    author_id: String,
    now: i64,
    owner: &str,
) -> Result<&'a Property, ApiError> {
    if props.iter().any(|p| p.key == key) {
        return Err(ApiError::conflict(format!(
            "A property with key '{key}' already exists on {owner}"
        )));
    }
    props.push(Property {
        id,
        key,
        value,
        version: PropertyVersion {
            number: 1,
            message: String::new(),
            minor_edit: false,
            author_id,
            created_at: now,
        },
    });
    Ok(props.last().expect("just pushed"))
}

pub async fn create_property(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> R {
    let id = path_id(&id)?;
    let kind = kind_of(&ctx.path);
    let v = object(&bytes)?;
    let key = property_key(&v)?;
    let value = v.get("value").cloned().unwrap_or(Value::Null);
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let pid = data.d.alloc_aux_id();
    let c = editable(&mut data, &ctx, id, kind)?;
    let author = ctx.caller.account_id.clone();
    let p = add_property(
        &mut c.properties,
        pid,
        key,
        value,
        author,
        now,
        &format!("content {id}"),
    )?;
    let out = render::property(p);
    ok(out)
}

pub async fn update_property(ctx: Ctx, Path((id, pid)): Path<(String, String)>, bytes: Bytes) -> R {
    let id = path_id(&id)?;
    let pid = path_id(&pid)?;
    let kind = kind_of(&ctx.path);
    let v = object(&bytes)?;
    let key = property_key(&v)?;
    let (number, message) = version_fields(&v)?;
    let value = v.get("value").cloned().unwrap_or(Value::Null);
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let c = editable(&mut data, &ctx, id, kind)?;
    if c.properties.iter().any(|p| p.key == key && p.id != pid) {
        return Err(ApiError::conflict(format!(
            "A property with key '{key}' already exists on content {id}"
        )));
    }
    let p = c
        .properties
        .iter_mut()
        .find(|p| p.id == pid)
        .ok_or_else(ApiError::not_found)?;
    if number != p.version.number as i64 + 1 {
        return Err(ApiError::conflict(format!(
            "Version must be incremented when updating a property. Current Version: [{}]. Provided version: [{number}]",
            p.version.number
        )));
    }
    p.key = key;
    p.value = value;
    p.version = PropertyVersion {
        number: number as u32,
        message,
        minor_edit: false,
        author_id: ctx.caller.account_id.clone(),
        created_at: now,
    };
    ok(render::property(p))
}

pub async fn delete_property(ctx: Ctx, Path((id, pid)): Path<(String, String)>) -> R {
    let id = path_id(&id)?;
    let pid = path_id(&pid)?;
    let kind = kind_of(&ctx.path);
    let mut data = ctx.conf().write();
    let c = editable(&mut data, &ctx, id, kind)?;
    let before = c.properties.len();
    c.properties.retain(|p| p.id != pid);
    if c.properties.len() == before {
        return Err(ApiError::not_found());
    }
    Ok(no_content())
}

pub async fn create_space_property(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> R {
    let id = path_id(&id)?;
    let v = object(&bytes)?;
    let key = property_key(&v)?;
    let value = v.get("value").cloned().unwrap_or(Value::Null);
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let pid = data.d.alloc_aux_id();
    let s = data.d.space_mut(id).ok_or_else(ApiError::not_found)?;
    let author = ctx.caller.account_id.clone();
    let p = add_property(
        &mut s.properties,
        pid,
        key,
        value,
        author,
        now,
        &format!("space {id}"),
    )?;
    let out = render::space_property(p);
    let mut r = json_response(StatusCode::CREATED, &out);
    if let Ok(h) = HeaderValue::from_str(&format!("/wiki/api/v2/spaces/{id}/properties/{pid}")) {
        r.headers_mut().insert(header::LOCATION, h);
    }
    Ok(r)
}
