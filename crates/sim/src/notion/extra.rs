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

/// `GET /v1/pages/{id}/markdown` (`include_transcript`): the page's content as enhanced
/// markdown (`notion/markdown.rs`), in the SDK's `page_markdown` shape. A block id (one listed
/// in `unknown_block_ids`) answers that block's subtree. The twin never truncates.
pub async fn page_markdown(
    State(sim): S,
    Extension(c): C,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> R {
    let id = path_id(&raw, "page_id")?;
    let q = super::handlers::query(&q);
    if let Some(t) = super::handlers::qget(&q, "include_transcript")
        && !matches!(t, "true" | "false")
    {
        return Err(NError::validation(format!(
            "query.include_transcript should be a boolean, instead was `\"{t}\"`."
        )));
    }
    let ws = sim.notion.read();
    let known = ws.pages.get(&id).is_some_and(|p| !p.in_trash)
        || ws.blocks.get(&id).is_some_and(|b| !b.in_trash);
    if !known || !visible(&ws, &c, &id) {
        return Err(NError::not_found("page", &id));
    }
    let cx = super::handlers::ctx(&sim, &ws, c.version);
    let r = super::markdown::page_markdown(&cx, &c, &id);
    ok(json!({
        "object": "page_markdown",
        "id": id,
        "markdown": r.markdown,
        "truncated": false,
        "unknown_block_ids": r.unknown_block_ids,
    }))
}

/// The views of a database, derived from it (the twin stores none): a default table view over
/// its data source with every property shown, and, when the data source has a select or status
/// property, a board grouped by it, newest rows first.
pub(crate) fn views_of(ws: &Workspace, db: &NDatabase) -> Vec<Value> {
    let vid = |n: u64| {
        crate::rng::Rng::stream(
            ws.seed ^ 0x7_1e35 ^ n,
            crate::rng::fnv1a64(db.id.as_bytes()),
        )
        .uuid()
    };
    let hex = db.id.replace('-', "");
    let common = |id: &str, name: &str, ty: &str| {
        json!({
            "object": "view",
            "id": id,
            "parent": {"type": "database_id", "database_id": db.id},
            "name": name,
            "type": ty,
            "created_time": iso_minute(db.created_time),
            "last_edited_time": iso_minute(db.last_edited_time),
            "url": format!("https://www.notion.so/{hex}?v={}", id.replace('-', "")),
            "data_source_id": db.data_source_id,
            "created_by": {"object": "user", "id": db.created_by},
            "last_edited_by": {"object": "user", "id": db.last_edited_by},
            "filter": null,
            "sorts": null,
        })
    };
    let table_id = vid(1);
    let mut table = common(&table_id, "Default view", "table");
    table["configuration"] = json!({
        "type": "table",
        "properties": db.properties.iter().map(|p| json!({
            "property_id": p.id, "property_name": p.name, "visible": true,
        })).collect::<Vec<_>>(),
    });
    let mut out = vec![table];
    if let Some(p) = db
        .properties
        .iter()
        .find(|p| p.kind == "select" || p.kind == "status")
    {
        let board_id = vid(2);
        let mut board = common(&board_id, &format!("By {}", p.name), "board");
        let group = if p.kind == "status" {
            json!({"type": "status", "property_id": p.id, "property_name": p.name, "group_by": "option", "sort": {"type": "manual"}})
        } else {
            json!({"type": "select", "property_id": p.id, "property_name": p.name, "sort": {"type": "manual"}})
        };
        board["configuration"] = json!({"type": "board", "group_by": group});
        board["sorts"] = json!([{"timestamp": "created_time", "direction": "descending"}]);
        out.push(board);
    }
    out
}

fn views_need_2025(c: &Caller) -> Result<(), NError> {
    if c.version == Version::V2022 {
        return Err(NError::validation(
            "The views API requires Notion-Version 2025-09-03 or later.",
        ));
    }
    Ok(())
}

/// `GET /v1/views` (`database_id` or `data_source_id`, `start_cursor`, `page_size`): view
/// references `{object: "view", id}`, in the SDK's `ListDatabaseViewsResponse` shape.
pub async fn list_views(State(sim): S, Extension(c): C, RawQuery(q): RawQuery) -> R {
    views_need_2025(&c)?;
    let q = super::handlers::query(&q);
    let size = page_size(
        super::handlers::qget(&q, "page_size")
            .map(|s| json!(s))
            .as_ref(),
        "query",
    )?;
    let cursor = super::handlers::qget(&q, "start_cursor").map(str::to_string);
    let ws = sim.notion.read();
    let db = match (
        super::handlers::qget(&q, "database_id"),
        super::handlers::qget(&q, "data_source_id"),
    ) {
        (None, None) => {
            return Err(NError::validation(
                "At least one of database_id or data_source_id is required.",
            ));
        }
        (Some(d), _) => {
            let id = norm_id(d)
                .ok_or_else(|| NError::validation("query.database_id should be a valid uuid"))?;
            ws.databases
                .get(&id)
                .filter(|x| !x.in_trash)
                .ok_or_else(|| NError::not_found("database", &id))?
        }
        (None, Some(s)) => {
            let id = norm_id(s)
                .ok_or_else(|| NError::validation("query.data_source_id should be a valid uuid"))?;
            ws.database_of_source(&id)
                .filter(|x| !x.in_trash)
                .ok_or_else(|| NError::not_found("data source", &id))?
        }
    };
    if !visible(&ws, &c, &db.id) {
        return Err(NError::not_found("database", &db.id));
    }
    let items: Vec<(String, Value)> = views_of(&ws, db)
        .into_iter()
        .map(|v| {
            let id = v["id"].as_str().unwrap_or("").to_string();
            (id.clone(), json!({"object": "view", "id": id}))
        })
        .collect();
    let (page, next) = page_by_id(items, cursor.as_deref(), size)?;
    ok(list(page, next, "view", json!({})))
}

/// `GET /v1/views/{id}`: one view, in the SDK's `DataSourceViewObjectResponse` shape.
pub async fn view(State(sim): S, Extension(c): C, Path(raw): Path<String>) -> R {
    views_need_2025(&c)?;
    let id = path_id(&raw, "view_id")?;
    let ws = sim.notion.read();
    ws.databases
        .values()
        .filter(|d| !d.in_trash && visible(&ws, &c, &d.id))
        .flat_map(|d| views_of(&ws, d))
        .find(|v| v["id"] == json!(id))
        .map(ok)
        .unwrap_or_else(|| Err(NError::not_found("view", &id)))
}
