//! Notion endpoints added for the 2025-09-03 SDK: moving a page (`POST /pages/{id}/move`), a
//! single comment (`GET /comments/{id}`), the list of file uploads (`GET /file_uploads`), custom
//! emojis (`GET /custom_emojis`, none in a generated workspace) and a data source's templates
//! (`GET /data_sources/{id}/templates`, none either), in the SDK's response shapes.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use serde_json::{Value, json};

use super::Caller;
use super::api::*;
use super::model::*;
use super::render::visible;
use crate::server::Sim;
use std::sync::Arc;

type S = State<Arc<Sim>>;
type C = Extension<Caller>;

/// `POST /v1/pages/{id}/move` with `{parent: {page_id}}`: the page (and its subtree) moves to
/// the end of the new parent's content. A page cannot move under itself or a descendant;
/// database rows and moves into a data source are not implemented by the twin (a 400 that
/// says so).
pub async fn move_page(State(sim): S, Extension(c): C, Path(raw): Path<String>, body: Bytes) -> R {
    let id = path_id(&raw, "page_id")?;
    let b = body_object(&body)?;
    let parent = b
        .get("parent")
        .and_then(Value::as_object)
        .ok_or_else(|| NError::body("body.parent should be an object, instead was `undefined`."))?;
    if parent.contains_key("data_source_id") {
        return Err(NError::validation(
            "kbridge sim: moving a page into a data source is not implemented by the twin yet",
        ));
    }
    let to_raw = parent
        .get("page_id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            NError::body("body.parent.page_id should be defined, instead was `undefined`.")
        })?;
    let to = norm_id(to_raw)
        .ok_or_else(|| NError::body("body.parent.page_id should be a valid uuid"))?;
    let now = sim.notion.now();
    let mut ws = sim.notion.write();
    let p = ws
        .pages
        .get(&id)
        .filter(|p| !p.in_trash && visible(&ws, &c, &id))
        .ok_or_else(|| NError::not_found("page", &id))?;
    if matches!(p.parent, Parent::Database(_)) {
        return Err(NError::validation(
            "kbridge sim: moving a database row is not implemented by the twin yet",
        ));
    }
    let old = p.parent.clone();
    if ws.pages.get(&to).is_none_or(|t| t.in_trash) || !visible(&ws, &c, &to) {
        return Err(NError::not_found("page", &to));
    }
    // No loops: the target is not the page or one of its descendants.
    let mut cur = Some(to.clone());
    let mut hops = 0;
    while let Some(x) = cur {
        if x == id {
            return Err(NError::validation(
                "The page cannot be moved into itself or one of its descendants.",
            ));
        }
        cur = ws.pages.get(&x).and_then(|q| match &q.parent {
            Parent::Page(pp) => Some(pp.clone()),
            Parent::Block(bid) => ws
                .blocks
                .get(bid)
                .and_then(|b| b.parent.id().map(str::to_string)),
            _ => None,
        });
        hops += 1;
        if hops > 10_000 {
            break;
        }
    }
    if let Some(oid) = old.id().map(str::to_string) {
        if let Some(op) = ws.pages.get_mut(&oid) {
            op.children.retain(|k| *k != id);
        }
        if let Some(ob) = ws.blocks.get_mut(&oid) {
            ob.children.retain(|k| *k != id);
        }
    }
    if let Some(tp) = ws.pages.get_mut(&to) {
        tp.children.push(id.clone());
    }
    if let Some(p) = ws.pages.get_mut(&id) {
        p.parent = Parent::Page(to.clone());
        p.last_edited_time = now;
        p.last_edited_by = c.bot_id.clone();
    }
    let cp = super::handlers::change_parent(&ws, &Parent::Page(to.clone()));
    let v = super::handlers::ctx(&sim, &ws, c.version).page(&ws.pages[&id]);
    drop(ws);
    sim.notion.record(
        "page.moved",
        &id,
        "page",
        cp,
        super::handlers::author(&c),
        now,
        json!({}),
    );
    ok(v)
}

/// `GET /v1/comments/{id}`.
pub async fn comment(State(sim): S, Extension(c): C, Path(raw): Path<String>) -> R {
    let id = path_id(&raw, "comment_id")?;
    let ws = sim.notion.read();
    let x = ws
        .comments
        .get(&id)
        .filter(|x| x.parent.id().is_some_and(|p| visible(&ws, &c, p)))
        .ok_or_else(|| NError::not_found("comment", &id))?;
    ok(super::handlers::ctx(&sim, &ws, c.version).comment(x))
}

/// `GET /v1/file_uploads` (`status`, `start_cursor`, `page_size`): the integration's uploads,
/// newest first, as Notion lists them.
pub async fn uploads(State(sim): S, Extension(c): C, RawQuery(q): RawQuery) -> R {
    let q = super::handlers::query(&q);
    let status = super::handlers::qget(&q, "status").map(str::to_string);
    if let Some(s) = &status
        && !matches!(s.as_str(), "pending" | "uploaded" | "expired" | "failed")
    {
        return Err(NError::validation(format!(
            "query.status should be one of `pending`, `uploaded`, `expired`, `failed`, instead was `{s}`."
        )));
    }
    let size = page_size(
        super::handlers::qget(&q, "page_size")
            .map(|s| json!(s))
            .as_ref(),
        "query",
    )?;
    let cursor = super::handlers::qget(&q, "start_cursor").map(str::to_string);
    let ws = sim.notion.read();
    let now = sim.notion.expiry_now_ms();
    let r = super::handlers::ctx(&sim, &ws, c.version);
    let mut us: Vec<NUpload> = ws
        .uploads
        .values()
        .map(|u| {
            let mut u = u.clone();
            if u.status == "pending" && now > u.expiry_time {
                u.status = "expired".into();
            }
            u
        })
        .filter(|u| status.as_ref().is_none_or(|s| *s == u.status))
        .collect();
    us.sort_by(|a, b| b.created_time.cmp(&a.created_time).then(a.id.cmp(&b.id)));
    let items: Vec<(String, Value)> = us.iter().map(|u| (u.id.clone(), r.upload(u))).collect();
    let (page, next) = page_by_id(items, cursor.as_deref(), size)?;
    ok(list(page, next, "file_upload", json!({})))
}

/// `GET /v1/custom_emojis` (`name`, `start_cursor`, `page_size`): a generated workspace has none.
pub async fn custom_emojis(RawQuery(q): RawQuery) -> R {
    let q = super::handlers::query(&q);
    page_size(
        super::handlers::qget(&q, "page_size")
            .map(|s| json!(s))
            .as_ref(),
        "query",
    )?;
    ok(
        json!({"object": "list", "type": "custom_emoji", "results": [], "has_more": false, "next_cursor": null}),
    )
}

/// `GET /v1/data_sources/{id}/templates` (`name`, `start_cursor`, `page_size`): the data source
/// must exist (404); generated data sources have no templates.
pub async fn templates(
    State(sim): S,
    Extension(c): C,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> R {
    if c.version == Version::V2022 {
        return Err(NError::invalid_url());
    }
    let id = path_id(&raw, "data_source_id")?;
    let q = super::handlers::query(&q);
    page_size(
        super::handlers::qget(&q, "page_size")
            .map(|s| json!(s))
            .as_ref(),
        "query",
    )?;
    let ws = sim.notion.read();
    ws.database_of_source(&id)
        .filter(|d| visible(&ws, &c, &d.id))
        .ok_or_else(|| NError::not_found("data source", &id))?;
    ok(json!({"templates": [], "has_more": false, "next_cursor": null}))
}
