//! The writes added for replication work: `PUT /tasks/{id}`, `POST /inline-comments` (anchored
//! in the page body), `PUT`/`DELETE` of footer and inline comments, v2 `DELETE
//! /attachments/{id}`, and the v1 restriction writes and content history.
//!
//! Task status changes and inline-comment markers rewrite the current version's body in place,
//! without a new page version (as ticking a task box or highlighting text in the view does;
//! the version behaviour of the real service is not documented, see docs/sim.md).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::api::*;
use super::events::{self, Action};
use super::render::{self, CommentShape};
use super::v1::{
    Expand, content_for, content_v1, offsets, restriction_v1, user_v1, v1_page, version_v1,
};
use super::write::{field, id_field, no_content, object, storage_body, version_fields};
use super::{Data, admits};
use crate::model::*;
use crate::time::iso;

type R = Result<Response, ApiError>;

/// A comment body (`{representation: storage, value}` or `{storage: {value}}`), required.
fn comment_body(v: &Value) -> Result<String, ApiError> {
    storage_body(v.get("body"))?.ok_or_else(|| ApiError::bad_request("body is required"))
}

/// Replaces the current version's body of content `id` in place.
fn rewrite_body(d: &mut Dataset, id: u64, body: String) {
    if let Some(c) = d.contents.get_mut(&id)
        && let Some(v) = c.versions.last_mut()
    {
        v.body = Body::new(body);
    }
}

// ---------------------------------------------------------------------------------------------
// Tasks

/// The body with the `ac:task-status` of the task whose `ac:task-id` is `local` set to
/// `status`; `None` when the body has no such task.
pub fn set_task_status(body: &str, local: &str, status: &str) -> Option<String> {
    let id_tag = format!("<ac:task-id>{local}</ac:task-id>");
    let at = body.find(&id_tag)?;
    let end_task = body[at..].find("</ac:task>").map_or(body.len(), |i| at + i);
    let open = "<ac:task-status>";
    let s = at + body[at..end_task].find(open)? + open.len();
    let e = s + body[s..end_task].find("</ac:task-status>")?;
    Some(format!("{}{status}{}", &body[..s], &body[e..]))
}

pub async fn update_task(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> R {
    let id = path_id(&id)?;
    let fmt = body_format(&ctx.q, "body-format", LIST_BODY_FORMATS)?;
    let v = object(&bytes)?;
    let status = match field(&v, "status").as_deref() {
        Some(s @ ("complete" | "incomplete")) => s.to_string(),
        Some(s) => {
            return Err(ApiError::bad_request(format!(
                "Provided value {{{s}}} for 'status' is not valid. Valid values are: [complete, incomplete]"
            )));
        }
        None => return Err(ApiError::bad_request("status is required")),
    };
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let t = data
        .d
        .tasks
        .get(&id)
        .filter(|t| {
            data.d
                .contents
                .get(&t.content_id)
                .is_some_and(|c| matches!(c.status, Status::Current | Status::Archived))
                && data.can_view(&ctx.caller, t.content_id)
        })
        .ok_or_else(ApiError::not_found)?;
    let (content_id, local) = (t.content_id, t.local_id.clone());
    if !data.can_edit(&ctx.caller, content_id) {
        return Err(ApiError::forbidden(
            "You do not have permission to edit the content this task is in",
        ));
    }
    let body = data.d.contents[&content_id]
        .current()
        .body
        .as_str()
        .to_string();
    let new_body = set_task_status(&body, &local, &status).ok_or_else(|| {
        ApiError::conflict(format!(
            "Task {id} is no longer in the body of content {content_id}"
        ))
    })?;
    let who = ctx.caller.account_id.clone();
    let changed = new_body != body;
    rewrite_body(&mut data.d, content_id, new_body);
    let t = data.d.tasks.get_mut(&id).expect("found");
    if t.status != status {
        t.status = status.clone();
        t.updated_at = now;
        if status == "complete" {
            t.completed_by = Some(who.clone());
            t.completed_at = Some(now);
        } else {
            t.completed_by = None;
            t.completed_at = None;
        }
    }
    if changed {
        events::emit(
            &ctx.sim,
            events::content(&ctx.sim, &data.d, content_id, Action::Updated, &who, now),
        );
    }
    ok(render::task(&data.d, &data.d.tasks[&id], fmt))
}

// ---------------------------------------------------------------------------------------------
// Inline comments

/// The characters of a storage body's text (outside tags and CDATA, entities decoded) with
/// their byte ranges and the text node they belong to.
fn text_chars(body: &str) -> Vec<(char, usize, usize, usize)> {
    let b = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut node = 0;
    while i < b.len() {
        if body[i..].starts_with("<![CDATA[") {
            i = body[i..].find("]]>").map_or(b.len(), |e| i + e + 3);
            node += 1;
        } else if b[i] == b'<' {
            let mut quote = None;
            let mut j = i + 1;
            while j < b.len() {
                match (quote, b[j]) {
                    (None, b'"' | b'\'') => quote = Some(b[j]),
                    (Some(q), c) if c == q => quote = None,
                    (None, b'>') => break,
                    _ => {}
                }
                j += 1;
            }
            i = j + 1;
            node += 1;
        } else if b[i] == b'&'
            && let Some(semi) = body[i..].find(';').filter(|s| *s <= 10)
        {
            let ent = &body[i + 1..i + semi];
            let ch = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ if ent.starts_with("#x") => u32::from_str_radix(&ent[2..], 16)
                    .ok()
                    .and_then(char::from_u32),
                _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            };
            match ch {
                Some(c) => {
                    out.push((c, i, i + semi + 1, node));
                    i += semi + 1;
                }
                None => {
                    out.push(('&', i, i + 1, node));
                    i += 1;
                }
            }
        } else {
            let c = body[i..].chars().next().unwrap_or('\u{fffd}');
            let n = c.len_utf8();
            out.push((c, i, i + n, node));
            i += n;
        }
    }
    out
}

/// Where `selection` occurs in the body's text, each occurrence inside one text node, as byte
/// ranges (non-overlapping, in order).
pub fn find_selection(body: &str, selection: &str) -> Vec<(usize, usize)> {
    let sel: Vec<char> = selection.chars().collect();
    if sel.is_empty() {
        return Vec::new();
    }
    let cs = text_chars(body);
    let mut out = Vec::new();
    let mut k = 0;
    while k + sel.len() <= cs.len() {
        let node = cs[k].3;
        if cs[k..k + sel.len()]
            .iter()
            .zip(&sel)
            .all(|(c, s)| c.0 == *s && c.3 == node)
        {
            out.push((cs[k].1, cs[k + sel.len() - 1].2));
            k += sel.len();
        } else {
            k += 1;
        }
    }
    out
}

/// Removes the marker `ac:ref="marker"` from a body, keeping its text.
pub fn unwrap_marker(body: &str, marker: &str) -> Option<String> {
    let attr = format!("ac:ref=\"{marker}\"");
    let a = body.find(&attr)?;
    let open = body[..a].rfind('<')?;
    if !body[open..].starts_with("<ac:inline-comment-marker") {
        return None;
    }
    let open_end = a + body[a..].find('>')? + 1;
    let close_tag = "</ac:inline-comment-marker>";
    let close = open_end + body[open_end..].find(close_tag)?;
    Some(format!(
        "{}{}{}",
        &body[..open],
        &body[open_end..close],
        &body[close + close_tag.len()..]
    ))
}

fn int_field(v: &Value, k: &str) -> Result<Option<i64>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x.as_i64().map(Some).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Provided value {{{x}}} for '{k}' is not the correct type. Expected type is Integer"
            ))
        }),
    }
}

pub async fn create_inline_comment(ctx: Ctx, bytes: Bytes) -> R {
    let v = object(&bytes)?;
    let page = id_field(&v, "pageId")?;
    let blog = id_field(&v, "blogPostId")?;
    let parent = id_field(&v, "parentCommentId")?;
    let given = [page, blog, parent].iter().filter(|x| x.is_some()).count();
    if given != 1 {
        return Err(ApiError::bad_request(
            "Exactly one of pageId, blogPostId or parentCommentId is required",
        ));
    }
    let body = comment_body(&v)?;
    let props = v.get("inlineCommentProperties").filter(|p| !p.is_null());
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let who = ctx.caller.account_id.clone();
    let id = data.d.alloc_content_id();
    let mut comment = Comment {
        id,
        kind: CommentKind::Inline,
        container_id: 0,
        parent_comment_id: None,
        status: Status::Current,
        author_id: who.clone(),
        created_at: now,
        versions: vec![Version {
            number: 1,
            message: String::new(),
            minor_edit: false,
            author_id: who.clone(),
            created_at: now,
            title: String::new(),
            body: Body::new(body),
        }],
        resolution_status: Some("open".into()),
        marker_ref: None,
        original_selection: None,
    };
    if let Some(p) = parent {
        let pc = data
            .d
            .comments
            .get(&p)
            .filter(|c| {
                c.kind == CommentKind::Inline
                    && c.parent_comment_id.is_none()
                    && data.can_view_any(&ctx.caller, c.container_id)
            })
            .ok_or_else(|| ApiError::not_found_msg(format!("No inline comment with id {p}")))?;
        comment.container_id = pc.container_id;
        comment.parent_comment_id = Some(p);
        comment.resolution_status = pc.resolution_status.clone();
    } else {
        let cid = page.or(blog).expect("one given");
        let kind = if page.is_some() {
            ContentKind::Page
        } else {
            ContentKind::Blogpost
        };
        let c = super::v2::find(&data, &ctx, cid, kind)?;
        if c.status != Status::Current {
            return Err(ApiError::not_found());
        }
        let props = props.ok_or_else(|| {
            ApiError::bad_request(
                "inlineCommentProperties (textSelection, textSelectionMatchCount, textSelectionMatchIndex) is required for a top-level inline comment",
            )
        })?;
        let selection = props
            .get("textSelection")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ApiError::bad_request("inlineCommentProperties.textSelection is required")
            })?
            .to_string();
        let count = int_field(props, "textSelectionMatchCount")?.ok_or_else(|| {
            ApiError::bad_request("inlineCommentProperties.textSelectionMatchCount is required")
        })?;
        let index = int_field(props, "textSelectionMatchIndex")?.ok_or_else(|| {
            ApiError::bad_request("inlineCommentProperties.textSelectionMatchIndex is required")
        })?;
        let body = c.current().body.as_str().to_string();
        let found = find_selection(&body, &selection);
        if found.is_empty() {
            return Err(ApiError::bad_request(format!(
                "The text selection {selection:?} was not found in the body of content {cid}"
            )));
        }
        if count != found.len() as i64 {
            return Err(ApiError::bad_request(format!(
                "textSelectionMatchCount is {count} but {selection:?} occurs {} times in content {cid}",
                found.len()
            )));
        }
        if index < 0 || index >= count {
            return Err(ApiError::bad_request(format!(
                "textSelectionMatchIndex must be between 0 and {}",
                count - 1
            )));
        }
        let (s, e) = found[index as usize];
        let marker = crate::rng::Rng::stream(data.d.seed ^ id, now as u64).uuid();
        let new_body = format!(
            "{}<ac:inline-comment-marker ac:ref=\"{marker}\">{}</ac:inline-comment-marker>{}",
            &body[..s],
            &body[s..e],
            &body[e..]
        );
        rewrite_body(&mut data.d, cid, new_body);
        comment.container_id = cid;
        comment.marker_ref = Some(marker);
        comment.original_selection = Some(selection);
    }
    data.d.comments.insert(id, comment);
    data.reindex();
    events::emit(
        &ctx.sim,
        events::comment(&ctx.sim, &data.d, id, Action::Created, &who, now),
    );
    let out = render::comment(
        &data.d,
        &data.d.comments[&id],
        Some(BodyFormat::Storage),
        CommentShape::Full,
    );
    let mut r = json_response(StatusCode::CREATED, &ctx.with_base(out));
    if let Ok(h) = HeaderValue::from_str(&format!("/wiki/api/v2/inline-comments/{id}")) {
        r.headers_mut().insert(header::LOCATION, h);
    }
    Ok(r)
}

fn comment_kind(path: &str) -> CommentKind {
    if path.contains("/inline-comments/") {
        CommentKind::Inline
    } else {
        CommentKind::Footer
    }
}

/// `PUT /footer-comments/{id}` and `PUT /inline-comments/{id}`: a new version (current + 1,
/// else 409) and, for inline comments, `resolved`.
pub async fn update_comment(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> R {
    let id = path_id(&id)?;
    let kind = comment_kind(&ctx.path);
    let v = object(&bytes)?;
    let (number, message) = version_fields(&v)?;
    let body = comment_body(&v)?;
    let resolved = match v.get("resolved") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) if kind == CommentKind::Inline => Some(*b),
        Some(Value::Bool(_)) => {
            return Err(ApiError::bad_request(
                "resolved applies to inline comments only",
            ));
        }
        Some(x) => {
            return Err(ApiError::bad_request(format!(
                "Provided value {{{x}}} for 'resolved' is not the correct type. Expected type is Boolean"
            )));
        }
    };
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let c = data
        .d
        .comments
        .get(&id)
        .filter(|c| c.kind == kind && data.can_view_any(&ctx.caller, c.container_id))
        .ok_or_else(ApiError::not_found)?;
    let cur = c.current().number;
    if number != cur as i64 + 1 {
        return Err(ApiError::conflict(format!(
            "Version must be incremented when updating a comment. Current Version: [{cur}]. Provided version: [{number}]"
        )));
    }
    if resolved.is_some() && c.resolution_status.as_deref() == Some("dangling") {
        return Err(ApiError::bad_request(
            "A dangling comment cannot be resolved or reopened",
        ));
    }
    let who = ctx.caller.account_id.clone();
    let c = data.d.comments.get_mut(&id).expect("found");
    c.versions.push(Version {
        number: number as u32,
        message,
        minor_edit: false,
        author_id: who.clone(),
        created_at: now,
        title: String::new(),
        body: Body::new(body),
    });
    if let Some(r) = resolved {
        let was = c.resolution_status.clone().unwrap_or_else(|| "open".into());
        c.resolution_status = Some(match (r, was.as_str()) {
            (true, _) => "resolved".into(),
            (false, "resolved") => "reopened".into(),
            (false, w) => w.to_string(),
        });
    }
    events::emit(
        &ctx.sim,
        events::comment(&ctx.sim, &data.d, id, Action::Updated, &who, now),
    );
    let out = render::comment(
        &data.d,
        &data.d.comments[&id],
        Some(BodyFormat::Storage),
        CommentShape::Full,
    );
    // The spec gives the inline answer `_links.base`, the footer one none.
    if kind == CommentKind::Inline {
        ok(ctx.with_base(out))
    } else {
        ok(out)
    }
}

/// `DELETE /footer-comments/{id}` and `DELETE /inline-comments/{id}`: the comment and its
/// replies go; an inline comment's marker is taken out of the body (its text stays).
pub async fn delete_comment(ctx: Ctx, Path(id): Path<String>) -> R {
    let id = path_id(&id)?;
    let kind = comment_kind(&ctx.path);
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let c = data
        .d
        .comments
        .get(&id)
        .filter(|c| c.kind == kind && data.can_view_any(&ctx.caller, c.container_id))
        .ok_or_else(ApiError::not_found)?;
    let (container, marker) = (c.container_id, c.marker_ref.clone());
    let ev = events::comment(
        &ctx.sim,
        &data.d,
        id,
        Action::Removed,
        &ctx.caller.account_id,
        now,
    );
    if let Some(m) = marker
        && let Some(body) = data
            .d
            .contents
            .get(&container)
            .and_then(|c| unwrap_marker(c.current().body.as_str(), &m))
    {
        rewrite_body(&mut data.d, container, body);
    }
    data.d
        .comments
        .retain(|k, c| *k != id && c.parent_comment_id != Some(id));
    data.reindex();
    events::emit(&ctx.sim, ev);
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// Attachments

/// `DELETE /attachments/{id}[?purge=true]`: to the trash, or out of it for good.
pub async fn delete_attachment(ctx: Ctx, Path(id): Path<String>) -> R {
    let aid = super::v2::attachment_id(&id)?;
    let purge = ctx.q.bool("purge", false)?;
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let a = data
        .d
        .attachments
        .get(&aid)
        .filter(|a| data.can_view_any(&ctx.caller, a.id))
        .ok_or_else(ApiError::not_found)?;
    if !data.can_edit(&ctx.caller, a.container_id) {
        return Err(ApiError::forbidden(
            "You do not have permission to delete this attachment",
        ));
    }
    let who = ctx.caller.account_id.clone();
    match (purge, a.status) {
        (false, Status::Current | Status::Archived) => {
            data.d.attachments.get_mut(&aid).expect("found").status = Status::Trashed;
            events::emit(
                &ctx.sim,
                events::attachment(&ctx.sim, &data.d, aid, Action::Removed, &who, now),
            );
        }
        (false, _) => {
            return Err(ApiError::bad_request(
                "The attachment is already in the trash; use purge=true",
            ));
        }
        (true, Status::Trashed) => {
            let ev = events::attachment(&ctx.sim, &data.d, aid, Action::Trashed, &who, now);
            data.d.attachments.remove(&aid);
            data.d.comments.retain(|_, c| c.container_id != aid);
            events::emit(&ctx.sim, ev);
        }
        (true, _) => {
            return Err(ApiError::bad_request(
                "Only trashed attachments can be purged; delete it first",
            ));
        }
    }
    data.reindex();
    Ok(no_content())
}

// ---------------------------------------------------------------------------------------------
// v1 restrictions

/// The users and groups of a restriction in a v1 request: `{user: [...] | {results: [...]},
/// group: [...] | {results: [...]}}`; users by `accountId`, groups by `id` or `name`.
fn subjects(data: &Data, r: &Value) -> Result<Subjects, ApiError> {
    let list = |v: Option<&Value>| -> Vec<Value> {
        match v {
            Some(Value::Array(a)) => a.clone(),
            Some(Value::Object(o)) => o
                .get("results")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    };
    let mut out = Subjects::default();
    for u in list(r.get("user")) {
        let id = u
            .get("accountId")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::bad_request("Each user needs an accountId").v1())?;
        if data.d.user(id).is_none() {
            return Err(ApiError::bad_request(format!("No user with accountId {id}")).v1());
        }
        if !out.users.iter().any(|x| x == id) {
            out.users.push(id.to_string());
        }
    }
    for g in list(r.get("group")) {
        let found = data.d.groups.iter().find(|x| {
            g.get("id").and_then(Value::as_str) == Some(x.id.as_str())
                || g.get("name").and_then(Value::as_str) == Some(x.name.as_str())
        });
        let found = found.ok_or_else(|| ApiError::bad_request(format!("No group {}", g)).v1())?;
        if !out.groups.contains(&found.id) {
            out.groups.push(found.id.clone());
        }
    }
    Ok(out)
}

/// The (operation, subjects) pairs of a v1 restrictions request (an array, one object, or
/// `{results: [...]}`).
fn restriction_request(data: &Data, bytes: &[u8]) -> Result<Vec<(String, Subjects)>, ApiError> {
    let v: Value = parse_body(bytes, Flavor::V1)?;
    let items = match v {
        Value::Array(a) => a,
        Value::Object(ref o) if o.contains_key("results") => {
            o["results"].as_array().cloned().unwrap_or_default()
        }
        o @ Value::Object(_) => vec![o],
        _ => {
            return Err(ApiError::bad_request(
                "Expected an array of restrictions ({operation, restrictions: {user, group}})",
            )
            .v1());
        }
    };
    let mut out = Vec::new();
    for it in items {
        let op = it
            .get("operation")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::bad_request("Each restriction needs an operation").v1())?;
        if !matches!(op, "read" | "update") {
            return Err(ApiError::bad_request(format!(
                "Invalid operation key: {op}; use read or update"
            ))
            .v1());
        }
        let r = it.get("restrictions").cloned().unwrap_or(json!({}));
        out.push((op.to_string(), subjects(data, &r)?));
    }
    Ok(out)
}

fn restriction_answer(ctx: &Ctx, data: &Data, id: u64) -> R {
    let c = &data.d.contents[&id];
    let results = vec![
        restriction_v1(&data.d, id, "read", &c.restrictions.read, &ctx.base),
        restriction_v1(&data.d, id, "update", &c.restrictions.update, &ctx.base),
    ];
    let hash = crate::rng::fnv1a64(
        serde_json::to_string(&c.restrictions)
            .unwrap_or_default()
            .as_bytes(),
    );
    ok(json!({
        "results": results, "start": 0, "limit": 100, "size": 2,
        "restrictionsHash": format!("{hash:016x}"),
        "_links": {"base": ctx.base, "context": "/wiki", "self": format!("{}/rest/api/content/{id}/restriction", ctx.base)},
    }))
}

/// The content of a v1 restriction write, checked for edit rights (403).
fn restrictable(data: &Data, ctx: &Ctx, id: &str) -> Result<u64, ApiError> {
    let c = content_for(data, ctx, id)?;
    if !admits(&c.restrictions.update, &ctx.caller) {
        return Err(ApiError::forbidden(
            "You do not have permission to change the restrictions of this content",
        )
        .v1());
    }
    Ok(c.id)
}

fn after_restriction_change(ctx: &Ctx, data: &mut Data, id: u64, now: i64) {
    data.reindex();
    events::emit(
        &ctx.sim,
        events::permissions(&ctx.sim, &data.d, id, &ctx.caller.account_id, now),
    );
}

/// `PUT /content/{id}/restriction`: the given operations' restrictions replace all existing
/// ones. `POST`: they are added.
async fn write_restrictions(ctx: Ctx, id: String, bytes: Bytes, replace: bool) -> R {
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let cid = restrictable(&data, &ctx, &id)?;
    let req = restriction_request(&data, &bytes)?;
    let c = data.d.contents.get_mut(&cid).expect("found");
    if replace {
        c.restrictions = Restrictions::default();
    }
    for (op, s) in req {
        let target = if op == "read" {
            &mut c.restrictions.read
        } else {
            &mut c.restrictions.update
        };
        for u in s.users {
            if !target.users.contains(&u) {
                target.users.push(u);
            }
        }
        for g in s.groups {
            if !target.groups.contains(&g) {
                target.groups.push(g);
            }
        }
    }
    after_restriction_change(&ctx, &mut data, cid, now);
    restriction_answer(&ctx, &data, cid)
}

pub async fn put_restrictions(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> R {
    write_restrictions(ctx, id, bytes, true).await
}

pub async fn post_restrictions(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> R {
    write_restrictions(ctx, id, bytes, false).await
}

/// `DELETE /content/{id}/restriction`: every restriction removed.
pub async fn delete_restrictions(ctx: Ctx, Path(id): Path<String>) -> R {
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let cid = restrictable(&data, &ctx, &id)?;
    data.d.contents.get_mut(&cid).expect("found").restrictions = Restrictions::default();
    after_restriction_change(&ctx, &mut data, cid, now);
    restriction_answer(&ctx, &data, cid)
}

fn op_subjects<'a>(c: &'a mut Content, op: &str) -> Result<&'a mut Subjects, ApiError> {
    match op {
        "read" => Ok(&mut c.restrictions.read),
        "update" => Ok(&mut c.restrictions.update),
        other => Err(ApiError::bad_request(format!(
            "Invalid operation key: {other}; use read or update"
        ))
        .v1()),
    }
}

/// `GET|PUT|DELETE /content/{id}/restriction/byOperation/{op}/user?accountId=`.
async fn user_restriction(ctx: Ctx, id: String, op: String, change: Option<bool>) -> R {
    let account = ctx
        .q
        .get("accountId")
        .ok_or_else(|| ApiError::bad_request("accountId is required").v1())?
        .to_string();
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let cid = match change {
        None => content_for(&data, &ctx, &id)?.id,
        Some(_) => restrictable(&data, &ctx, &id)?,
    };
    if data.d.user(&account).is_none() {
        return Err(ApiError::not_found_msg(format!("No user with accountId {account}")).v1());
    }
    let c = data.d.contents.get_mut(&cid).expect("found");
    let s = op_subjects(c, &op)?;
    let present = s.users.contains(&account);
    match change {
        None if present => return Ok(empty_ok()),
        None => {
            return Err(ApiError::not_found_msg(format!(
                "User {account} is not in the {op} restriction of content {cid}"
            ))
            .v1());
        }
        Some(true) if !present => s.users.push(account),
        Some(false) if present => s.users.retain(|u| *u != account),
        Some(false) => {
            return Err(ApiError::not_found_msg(format!(
                "User {account} is not in the {op} restriction of content {cid}"
            ))
            .v1());
        }
        Some(true) => {}
    }
    after_restriction_change(&ctx, &mut data, cid, now);
    Ok(empty_ok())
}

fn empty_ok() -> Response {
    let mut r = Response::new(axum::body::Body::empty());
    *r.status_mut() = StatusCode::OK;
    r
}

pub async fn get_user_restriction(ctx: Ctx, Path((id, op)): Path<(String, String)>) -> R {
    user_restriction(ctx, id, op, None).await
}
pub async fn put_user_restriction(ctx: Ctx, Path((id, op)): Path<(String, String)>) -> R {
    user_restriction(ctx, id, op, Some(true)).await
}
pub async fn delete_user_restriction(ctx: Ctx, Path((id, op)): Path<(String, String)>) -> R {
    user_restriction(ctx, id, op, Some(false)).await
}

/// `GET|PUT|DELETE /content/{id}/restriction/byOperation/{op}/byGroupId/{groupId}`.
async fn group_restriction(
    ctx: Ctx,
    id: String,
    op: String,
    group: String,
    change: Option<bool>,
) -> R {
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let cid = match change {
        None => content_for(&data, &ctx, &id)?.id,
        Some(_) => restrictable(&data, &ctx, &id)?,
    };
    if !data.d.groups.iter().any(|g| g.id == group) {
        return Err(ApiError::not_found_msg(format!("No group with id {group}")).v1());
    }
    let c = data.d.contents.get_mut(&cid).expect("found");
    let s = op_subjects(c, &op)?;
    let present = s.groups.contains(&group);
    let missing = || {
        ApiError::not_found_msg(format!(
            "Group {group} is not in the {op} restriction of content {cid}"
        ))
        .v1()
    };
    match change {
        None if present => return Ok(empty_ok()),
        None => return Err(missing()),
        Some(true) if !present => s.groups.push(group.clone()),
        Some(false) if present => s.groups.retain(|g| *g != group),
        Some(false) => return Err(missing()),
        Some(true) => {}
    }
    after_restriction_change(&ctx, &mut data, cid, now);
    Ok(empty_ok())
}

pub async fn get_group_restriction(
    ctx: Ctx,
    Path((id, op, g)): Path<(String, String, String)>,
) -> R {
    group_restriction(ctx, id, op, g, None).await
}
pub async fn put_group_restriction(
    ctx: Ctx,
    Path((id, op, g)): Path<(String, String, String)>,
) -> R {
    group_restriction(ctx, id, op, g, Some(true)).await
}
pub async fn delete_group_restriction(
    ctx: Ctx,
    Path((id, op, g)): Path<(String, String, String)>,
) -> R {
    group_restriction(ctx, id, op, g, Some(false)).await
}

// ---------------------------------------------------------------------------------------------
// v1 history

/// `GET /wiki/rest/api/content/{id}/history`.
pub async fn history(ctx: Ctx, Path(id): Path<String>) -> R {
    let data = ctx.conf().read();
    let c = content_for(&data, &ctx, &id)?;
    let d = &data.d;
    let base = &ctx.base;
    let sid = c.id.to_string();
    let v = c.current();
    let mut m = Map::new();
    m.insert(
        "latest".into(),
        json!(matches!(c.status, Status::Current | Status::Archived)),
    );
    m.insert("createdBy".into(), user_v1(d, &c.author_id, base));
    m.insert("ownedBy".into(), user_v1(d, &c.owner_id, base));
    m.insert("createdDate".into(), json!(iso(c.created_at)));
    m.insert(
        "lastUpdated".into(),
        version_v1(
            d,
            &sid,
            v.number,
            &v.author_id,
            v.created_at,
            &v.message,
            v.minor_edit,
            base,
        ),
    );
    if c.versions.len() > 1 {
        let p = &c.versions[c.versions.len() - 2];
        m.insert(
            "previousVersion".into(),
            version_v1(
                d,
                &sid,
                p.number,
                &p.author_id,
                p.created_at,
                &p.message,
                p.minor_edit,
                base,
            ),
        );
    }
    let mut publishers: Vec<&str> = c.versions.iter().map(|v| v.author_id.as_str()).collect();
    publishers.sort_unstable();
    publishers.dedup();
    m.insert(
        "contributors".into(),
        json!({"publishers": {
            "users": publishers.iter().map(|a| user_v1(d, a, base)).collect::<Vec<_>>(),
            "userAccountIds": publishers,
        }}),
    );
    m.insert(
        "_expandable".into(),
        json!({"lastUpdated": "", "previousVersion": "", "contributors": "", "nextVersion": ""}),
    );
    m.insert(
        "_links".into(),
        json!({"self": format!("{base}/rest/api/content/{sid}/history"), "base": base, "context": "/wiki"}),
    );
    ok(Value::Object(m))
}

// ---------------------------------------------------------------------------------------------
// v1 children and properties (what atlassian-python-api's get_page_child_by_type,
// get_page_comments and get_page_properties call)

/// A comment as v1 `Content` (`type: comment`), with `expand` of `body.storage`, `version`,
/// `container`, `ancestors` and `extensions.inlineProperties`.
pub(super) fn comment_v1(
    data: &Data,
    c: &Comment,
    ex: &Expand,
    base: &str,
) -> Result<Value, ApiError> {
    let d = &data.d;
    let container = d.contents.get(&c.container_id);
    let mut m = Map::new();
    m.insert("id".into(), json!(c.id.to_string()));
    m.insert("type".into(), json!("comment"));
    m.insert("status".into(), json!(c.status.as_str()));
    m.insert(
        "title".into(),
        json!(format!(
            "Re: {}",
            container.map(|p| p.title.as_str()).unwrap_or("attachment")
        )),
    );
    let mut ext = Map::new();
    ext.insert(
        "location".into(),
        json!(if c.kind == CommentKind::Inline {
            "inline"
        } else {
            "footer"
        }),
    );
    if c.kind == CommentKind::Inline {
        ext.insert(
            "inlineProperties".into(),
            json!({"markerRef": c.marker_ref, "originalSelection": c.original_selection}),
        );
        ext.insert("resolution".into(), json!({"status": c.resolution_status}));
    }
    m.insert("extensions".into(), Value::Object(ext));
    let v = c.current();
    if ex.has("version") {
        m.insert(
            "version".into(),
            version_v1(
                d,
                &c.id.to_string(),
                v.number,
                &v.author_id,
                v.created_at,
                &v.message,
                v.minor_edit,
                base,
            ),
        );
    }
    if ex.has("body") {
        let ctx = super::view::ViewCtx {
            d,
            container: Some(c.container_id),
            absolute: None,
        };
        m.insert(
            "body".into(),
            super::v1::body_v1(v.body.as_str(), ex, ctx, base, c.id)?,
        );
    }
    if ex.has("container")
        && let Some(p) = container
    {
        m.insert(
            "container".into(),
            json!({"id": p.id.to_string(), "type": p.kind.as_str(), "status": p.status.as_str(), "title": p.title}),
        );
    }
    if ex.has("ancestors") {
        let mut chain = Vec::new();
        let mut cur = c.parent_comment_id;
        while let Some(p) = cur {
            let Some(pc) = d.comments.get(&p) else { break };
            chain.push(json!({"id": pc.id.to_string(), "type": "comment"}));
            cur = pc.parent_comment_id;
            if chain.len() > 1000 {
                break;
            }
        }
        chain.reverse();
        m.insert("ancestors".into(), Value::Array(chain));
    }
    m.insert(
        "_expandable".into(),
        json!({"body": "", "version": "", "container": "", "ancestors": "", "children": "", "descendants": "", "history": "", "space": ""}),
    );
    m.insert(
        "_links".into(),
        json!({
            "webui": container.map(|p| format!("{}?focusedCommentId={}", render::webui(d, p), c.id)).unwrap_or_default(),
            "self": format!("{base}/rest/api/content/{}", c.id),
        }),
    );
    Ok(Value::Object(m))
}

/// `GET /wiki/rest/api/content/{id}/child/{type}`: `page` and `folder` (by position), `comment`
/// (`depth=all` for replies too, `location` footer/inline/resolved) and `attachment`.
pub async fn children_v1(ctx: Ctx, Path((id, kind)): Path<(String, String)>) -> R {
    let (start, limit) = offsets(&ctx.q, 25, 200)?;
    let ex = Expand::parse(&ctx.q);
    let data = ctx.conf().read();
    let c = content_for(&data, &ctx, &id)?;
    let cid = c.id;
    match kind.as_str() {
        "page" | "folder" => {
            let want = if kind == "page" {
                ContentKind::Page
            } else {
                ContentKind::Folder
            };
            let hidden = data.hidden(&ctx.caller);
            let kids: Vec<&Content> = data
                .ix
                .children
                .get(&cid)
                .into_iter()
                .flatten()
                .filter_map(|k| data.d.contents.get(k))
                .filter(|k| k.kind == want && k.status == Status::Current && hidden.sees(k.id))
                .collect();
            v1_page(&ctx, &kids, start, limit, Map::new(), |k| {
                content_v1(&data, k, &ex, &ctx.base)
            })
        }
        "comment" => {
            let all = match ctx.q.get("depth") {
                None | Some("") | Some("root") => false,
                Some("all") => true,
                Some(other) => {
                    return Err(ApiError::bad_request(format!(
                        "Invalid depth: {other}; use all or leave it out"
                    ))
                    .v1());
                }
            };
            let locations = ctx.q.list("location");
            for l in &locations {
                if !matches!(l.as_str(), "footer" | "inline" | "resolved") {
                    return Err(ApiError::bad_request(format!(
                        "Invalid location: {l}; use footer, inline or resolved"
                    ))
                    .v1());
                }
            }
            let mut ids: Vec<u64> = data.ix.comments.get(&cid).cloned().unwrap_or_default();
            if all {
                let mut i = 0;
                while i < ids.len() {
                    if let Some(r) = data.ix.replies.get(&ids[i]) {
                        ids.extend(r.iter().copied());
                    }
                    i += 1;
                }
                ids.sort_unstable();
            }
            let comments: Vec<&Comment> = ids
                .iter()
                .filter_map(|i| data.d.comments.get(i))
                .filter(|c| {
                    c.status == Status::Current
                        && (locations.is_empty()
                            || locations.iter().any(|l| match l.as_str() {
                                "footer" => c.kind == CommentKind::Footer,
                                "inline" => c.kind == CommentKind::Inline,
                                _ => c.resolution_status.as_deref() == Some("resolved"),
                            }))
                })
                .collect();
            v1_page(&ctx, &comments, start, limit, Map::new(), |c| {
                comment_v1(&data, c, &ex, &ctx.base)
            })
        }
        other => Err(ApiError::bad_request(format!(
            "Invalid child type: {other}; use page, comment or attachment"
        ))
        .v1()),
    }
}

/// `GET /wiki/rest/api/content/{id}/property` (v1 content properties).
pub async fn properties_v1(ctx: Ctx, Path(id): Path<String>) -> R {
    let (start, limit) = offsets(&ctx.q, 10, 200)?;
    let data = ctx.conf().read();
    let c = content_for(&data, &ctx, &id)?;
    let cid = c.id;
    let base = ctx.base.clone();
    v1_page(&ctx, &c.properties, start, limit, Map::new(), |p| {
        Ok(json!({
            "id": p.id.to_string(),
            "key": p.key,
            "value": p.value,
            "version": {"when": iso(p.version.created_at), "message": p.version.message, "number": p.version.number, "minorEdit": p.version.minor_edit},
            "_links": {"self": format!("{base}/rest/api/content/{cid}/property/{}", p.key)},
            "_expandable": {"content": format!("/rest/api/content/{cid}")},
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_are_found_in_text_only_and_within_one_node() {
        let body = "<p>alpha <strong>beta</strong> alpha &amp; beta</p><ac:structured-macro ac:name=\"code\"><ac:plain-text-body><![CDATA[alpha]]></ac:plain-text-body></ac:structured-macro><p title=\"alpha\">alph<em>a</em></p>";
        let found = find_selection(body, "alpha");
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(&body[found[0].0..found[0].1], "alpha");
        let amp = find_selection(body, "alpha & beta");
        assert_eq!(amp.len(), 1);
        assert_eq!(&body[amp[0].0..amp[0].1], "alpha &amp; beta");
        assert!(find_selection(body, "beta alpha").is_empty());
    }

    #[test]
    fn task_status_and_markers_rewrite_in_place() {
        let body = "<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>incomplete</ac:task-status><ac:task-body>a</ac:task-body></ac:task><ac:task><ac:task-id>2</ac:task-id><ac:task-status>incomplete</ac:task-status><ac:task-body>b</ac:task-body></ac:task></ac:task-list>";
        let b = set_task_status(body, "2", "complete").unwrap();
        assert!(b.contains("<ac:task-id>2</ac:task-id><ac:task-status>complete</ac:task-status>"));
        assert!(
            b.contains("<ac:task-id>1</ac:task-id><ac:task-status>incomplete</ac:task-status>")
        );
        assert!(set_task_status(body, "3", "complete").is_none());
        let m = "<p>x <ac:inline-comment-marker ac:ref=\"r1\">y</ac:inline-comment-marker> z</p>";
        assert_eq!(unwrap_marker(m, "r1").unwrap(), "<p>x y z</p>");
        assert!(unwrap_marker(m, "r2").is_none());
    }
}
