//! v1 content writes (`POST /wiki/rest/api/content`, `PUT`/`DELETE /content/{id}`, comments as
//! content of type `comment`, `…/property/{key}`), as the v1 spec defines them and as
//! atlassian-python-api's `create_page`, `update_page`, `remove_page` and `add_comment` send
//! them. Each is translated into the v2 write it stands for, so the checks (well-formed
//! storage, unique titles, version + 1, permissions), the events and the webhooks are one and
//! the same; answers and errors are in v1's shapes.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::api::*;
use super::edits::comment_v1;
use super::v1::{Expand, content_v1};
use super::write::{self, object};
use crate::model::*;
use crate::time::iso;

type R = Result<Response, ApiError>;

/// A request context for the v2 write standing for a v1 one.
fn sub(ctx: &Ctx, path: String, q: &[(&str, &str)]) -> Ctx {
    Ctx {
        sim: ctx.sim.clone(),
        caller: ctx.caller.clone(),
        q: Query {
            pairs: q
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
        path,
        base: ctx.base.clone(),
    }
}

/// The JSON of a v2 answer.
async fn answer_json(r: Response) -> Result<Value, ApiError> {
    let bytes = axum::body::to_bytes(r.into_body(), 64 << 20)
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(e.to_string()))
}

fn v1<T>(r: Result<T, ApiError>) -> Result<T, ApiError> {
    r.map_err(ApiError::v1)
}

fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// The parent named by v1's `ancestors` (the last one), if any.
fn parent_of(v: &Value) -> Result<Option<u64>, ApiError> {
    match v.get("ancestors") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => {
            match a.last() {
                None => Ok(None),
                Some(x) => x.get("id").and_then(id_of).map(Some).ok_or_else(|| {
                    ApiError::bad_request("ancestors[].id must be a content id").v1()
                }),
            }
        }
        Some(_) => Err(ApiError::bad_request("ancestors must be an array").v1()),
    }
}

fn kind_of_type(t: &str) -> Option<ContentKind> {
    match t {
        "page" => Some(ContentKind::Page),
        "blogpost" => Some(ContentKind::Blogpost),
        _ => None,
    }
}

fn content_expand() -> Expand {
    Expand(
        ["body.storage", "version", "space", "history", "ancestors"]
            .into_iter()
            .map(str::to_string)
            .collect(),
    )
}

fn comment_expand() -> Expand {
    Expand(
        ["body.storage", "version", "container", "ancestors"]
            .into_iter()
            .map(str::to_string)
            .collect(),
    )
}

/// Renders content `id` in v1's shape, as a write answers it.
fn content_answer(ctx: &Ctx, id: u64) -> R {
    let data = ctx.conf().read();
    let c = data
        .d
        .contents
        .get(&id)
        .ok_or_else(|| ApiError::not_found().v1())?;
    let v = content_v1(&data, c, &content_expand(), &ctx.base)?;
    Ok(axum::Json(v).into_response())
}

fn comment_answer(ctx: &Ctx, id: u64) -> R {
    let data = ctx.conf().read();
    let c = data
        .d
        .comments
        .get(&id)
        .ok_or_else(|| ApiError::not_found().v1())?;
    let v = comment_v1(&data, c, &comment_expand(), &ctx.base)?;
    Ok(axum::Json(v).into_response())
}

/// `POST /wiki/rest/api/content`: a page, blog post or comment.
pub async fn create(ctx: Ctx, bytes: Bytes) -> R {
    let v = v1(object(&bytes))?;
    let ty = v.get("type").and_then(Value::as_str).unwrap_or("");
    if ty == "comment" {
        return create_comment(&ctx, &v).await;
    }
    let kind = kind_of_type(ty).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Content type '{ty}' is not supported here; use page, blogpost or comment"
        ))
        .v1()
    })?;
    let key = v
        .pointer("/space/key")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("Space key is required (space.key)").v1())?;
    let space_id = {
        let data = ctx.conf().read();
        data.d
            .spaces
            .iter()
            .find(|s| s.key == key)
            .map(|s| s.id)
            .ok_or_else(|| ApiError::not_found_msg(format!("No space with key : {key}")).v1())?
    };
    let mut body = json!({
        "spaceId": space_id.to_string(),
        "status": v.get("status").and_then(Value::as_str).unwrap_or("current"),
    });
    if let Some(t) = v.get("title") {
        body["title"] = t.clone();
    }
    if let Some(b) = v.get("body") {
        body["body"] = b.clone();
    }
    if let Some(p) = parent_of(&v)? {
        body["parentId"] = json!(p.to_string());
    }
    let path = match kind {
        ContentKind::Blogpost => "/wiki/api/v2/blogposts",
        _ => "/wiki/api/v2/pages",
    };
    let s = sub(&ctx, path.into(), &[]);
    let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let r = v1(if kind == ContentKind::Blogpost {
        write::create_blogpost(s, Bytes::from(bytes)).await
    } else {
        write::create_page(s, Bytes::from(bytes)).await
    })?;
    let out = v1(answer_json(r).await)?;
    let id = out
        .get("id")
        .and_then(id_of)
        .ok_or_else(|| ApiError::bad_request("the created content has no id").v1())?;
    content_answer(&ctx, id)
}

async fn create_comment(ctx: &Ctx, v: &Value) -> R {
    let container = v
        .pointer("/container/id")
        .and_then(id_of)
        .ok_or_else(|| ApiError::bad_request("A comment needs container.id").v1())?;
    let mut body = json!({});
    if let Some(b) = v.get("body") {
        body["body"] = b.clone();
    }
    if let Some(p) = parent_of(v)? {
        body["parentCommentId"] = json!(p.to_string());
    } else {
        let kind = {
            let data = ctx.conf().read();
            data.d.contents.get(&container).map(|c| c.kind)
        };
        match kind {
            Some(ContentKind::Blogpost) => body["blogPostId"] = json!(container.to_string()),
            Some(ContentKind::Page) => body["pageId"] = json!(container.to_string()),
            _ => {
                return Err(ApiError::not_found_msg(format!(
                    "No content with id {container} to comment on"
                ))
                .v1());
            }
        }
    }
    let s = sub(ctx, "/wiki/api/v2/footer-comments".into(), &[]);
    let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let r = v1(write::create_footer_comment(s, Bytes::from(bytes)).await)?;
    let out = v1(answer_json(r).await)?;
    let id = out
        .get("id")
        .and_then(id_of)
        .ok_or_else(|| ApiError::bad_request("the created comment has no id").v1())?;
    comment_answer(ctx, id)
}

/// `PUT /wiki/rest/api/content/{id}`: a new version (`version.number` must be current + 1,
/// else 409), a new title, body or parent (`ancestors`); `status: current` restores trashed
/// content. A comment's body is updated the same way.
pub async fn update(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> R {
    let cid = v1(path_id(&id))?;
    let v = v1(object(&bytes))?;
    let (content, comment) = {
        let data = ctx.conf().read();
        (
            data.d
                .contents
                .get(&cid)
                .map(|c| (c.kind, c.title.clone(), c.current().body.clone())),
            data.d.comments.get(&cid).map(|c| c.kind),
        )
    };
    let number = v
        .pointer("/version/number")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::bad_request("version.number is required").v1())?;
    let message = v
        .pointer("/version/message")
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Some(kind) = comment {
        let mut body = json!({"version": {"number": number, "message": message}});
        if let Some(b) = v.get("body") {
            body["body"] = b.clone();
        }
        let seg = if kind == CommentKind::Inline {
            "inline-comments"
        } else {
            "footer-comments"
        };
        let s = sub(&ctx, format!("/wiki/api/v2/{seg}/{cid}"), &[]);
        let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
        v1(super::edits::update_comment(s, Path(id), Bytes::from(bytes)).await)?;
        return comment_answer(&ctx, cid);
    }
    let (kind, title, current) = content.ok_or_else(|| ApiError::not_found().v1())?;
    if kind == ContentKind::Folder {
        return Err(ApiError::bad_request("Folders are updated through /wiki/api/v2/folders").v1());
    }
    let mut body = json!({
        "id": cid.to_string(),
        "status": v.get("status").and_then(Value::as_str).unwrap_or("current"),
        "title": v.get("title").and_then(Value::as_str).unwrap_or(&title),
        "version": {"number": number, "message": message},
    });
    // v1 lets an update leave the body out (a title change); v2 needs it, so the current
    // one is sent.
    body["body"] = match v.get("body") {
        Some(b) if !b.is_null() => b.clone(),
        _ => json!({"representation": "storage", "value": current.as_str()}),
    };
    if let Some(p) = parent_of(&v)? {
        body["parentId"] = json!(p.to_string());
    }
    let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let r = if kind == ContentKind::Blogpost {
        let s = sub(&ctx, format!("/wiki/api/v2/blogposts/{cid}"), &[]);
        write::update_blogpost(s, Path(id), Bytes::from(bytes)).await
    } else {
        let s = sub(&ctx, format!("/wiki/api/v2/pages/{cid}"), &[]);
        write::update_page(s, Path(id), Bytes::from(bytes)).await
    };
    v1(r)?;
    content_answer(&ctx, cid)
}

/// `DELETE /wiki/rest/api/content/{id}`: current content goes to the trash;
/// `?status=trashed` purges trashed content; a comment is deleted. 204.
pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> R {
    let cid = v1(path_id(&id))?;
    let (content, comment) = {
        let data = ctx.conf().read();
        (
            data.d.contents.get(&cid).map(|c| c.kind),
            data.d.comments.get(&cid).map(|c| c.kind),
        )
    };
    if let Some(kind) = comment {
        let seg = if kind == CommentKind::Inline {
            "inline-comments"
        } else {
            "footer-comments"
        };
        let s = sub(&ctx, format!("/wiki/api/v2/{seg}/{cid}"), &[]);
        v1(super::edits::delete_comment(s, Path(id)).await)?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let kind = content.ok_or_else(|| ApiError::not_found().v1())?;
    let purge = match ctx.q.get("status") {
        None | Some("current") => false,
        Some("trashed") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "status={other} is not valid here; use trashed to purge"
            ))
            .v1());
        }
    };
    let q: &[(&str, &str)] = if purge { &[("purge", "true")] } else { &[] };
    let r = match kind {
        ContentKind::Blogpost => {
            let s = sub(&ctx, format!("/wiki/api/v2/blogposts/{cid}"), q);
            write::delete_blogpost(s, Path(id)).await
        }
        ContentKind::Folder => {
            let s = sub(&ctx, format!("/wiki/api/v2/folders/{cid}"), q);
            write::delete_folder(s, Path(id)).await
        }
        _ => {
            let s = sub(&ctx, format!("/wiki/api/v2/pages/{cid}"), q);
            write::delete_page(s, Path(id)).await
        }
    };
    v1(r)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The v2 route segment of content `id` (`pages` or `blogposts`) and its property `key`'s id.
fn property_target(
    ctx: &Ctx,
    cid: u64,
    key: &str,
) -> Result<(&'static str, Option<u64>), ApiError> {
    let data = ctx.conf().read();
    let c = data
        .d
        .contents
        .get(&cid)
        .filter(|c| c.kind != ContentKind::Folder)
        .ok_or_else(|| ApiError::not_found().v1())?;
    let seg = if c.kind == ContentKind::Blogpost {
        "blogposts"
    } else {
        "pages"
    };
    Ok((
        seg,
        c.properties.iter().find(|p| p.key == key).map(|p| p.id),
    ))
}

fn property_v1(ctx: &Ctx, cid: u64, key: &str) -> R {
    let data = ctx.conf().read();
    let c = data
        .d
        .contents
        .get(&cid)
        .filter(|c| data.can_view_any(&ctx.caller, c.id))
        .ok_or_else(|| ApiError::not_found().v1())?;
    let p = c.properties.iter().find(|p| p.key == key).ok_or_else(|| {
        ApiError::not_found_msg(format!("Cannot find content property with key: {key}")).v1()
    })?;
    let base = &ctx.base;
    Ok(axum::Json(json!({
        "id": p.id.to_string(),
        "key": p.key,
        "value": p.value,
        "version": {"when": iso(p.version.created_at), "message": p.version.message, "number": p.version.number, "minorEdit": p.version.minor_edit},
        "_links": {"self": format!("{base}/rest/api/content/{cid}/property/{}", p.key)},
        "_expandable": {"content": format!("/rest/api/content/{cid}")},
    }))
    .into_response())
}

/// `GET /wiki/rest/api/content/{id}/property/{key}`.
pub async fn get_property(ctx: Ctx, Path((id, key)): Path<(String, String)>) -> R {
    let cid = v1(path_id(&id))?;
    property_v1(&ctx, cid, &key)
}

/// `POST /wiki/rest/api/content/{id}/property`: `{key, value}`; an existing key is a 409.
pub async fn create_property(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> R {
    let cid = v1(path_id(&id))?;
    let v = v1(object(&bytes))?;
    let key = v
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("key is required").v1())?
        .to_string();
    let (seg, existing) = property_target(&ctx, cid, &key)?;
    if existing.is_some() {
        return Err(ApiError::conflict(format!(
            "Cannot add a content property with key '{key}': it already exists"
        ))
        .v1());
    }
    let body = json!({"key": key, "value": v.get("value").cloned().unwrap_or(Value::Null)});
    let s = sub(&ctx, format!("/wiki/api/v2/{seg}/{cid}/properties"), &[]);
    let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    v1(write::create_property(s, Path(id), Bytes::from(bytes)).await)?;
    property_v1(&ctx, cid, &key)
}

/// `PUT /wiki/rest/api/content/{id}/property/{key}`: `{value, version: {number}}` (current + 1,
/// else 409); a key not there yet is created, as v1 does.
pub async fn update_property(ctx: Ctx, Path((id, key)): Path<(String, String)>, bytes: Bytes) -> R {
    let cid = v1(path_id(&id))?;
    let v = v1(object(&bytes))?;
    let (seg, existing) = property_target(&ctx, cid, &key)?;
    let value = v.get("value").cloned().unwrap_or(Value::Null);
    match existing {
        None => {
            let body = json!({"key": key, "value": value});
            let s = sub(&ctx, format!("/wiki/api/v2/{seg}/{cid}/properties"), &[]);
            let bytes =
                serde_json::to_vec(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
            v1(write::create_property(s, Path(id), Bytes::from(bytes)).await)?;
        }
        Some(pid) => {
            let number = v
                .pointer("/version/number")
                .and_then(Value::as_i64)
                .ok_or_else(|| ApiError::bad_request("version.number is required").v1())?;
            let body = json!({"key": key, "value": value, "version": {"number": number, "message": v.pointer("/version/message").cloned().unwrap_or(json!(""))}});
            let s = sub(
                &ctx,
                format!("/wiki/api/v2/{seg}/{cid}/properties/{pid}"),
                &[],
            );
            let bytes =
                serde_json::to_vec(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
            v1(write::update_property(s, Path((id, pid.to_string())), Bytes::from(bytes)).await)?;
        }
    }
    property_v1(&ctx, cid, &key)
}

/// `DELETE /wiki/rest/api/content/{id}/property/{key}`: 204, 404 when absent.
pub async fn delete_property(ctx: Ctx, Path((id, key)): Path<(String, String)>) -> R {
    let cid = v1(path_id(&id))?;
    let (seg, existing) = property_target(&ctx, cid, &key)?;
    let pid = existing.ok_or_else(|| {
        ApiError::not_found_msg(format!("Cannot find content property with key: {key}")).v1()
    })?;
    let s = sub(
        &ctx,
        format!("/wiki/api/v2/{seg}/{cid}/properties/{pid}"),
        &[],
    );
    v1(write::delete_property(s, Path((id, pid.to_string()))).await)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
