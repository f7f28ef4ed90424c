//! `/__sim/notion/…`: the Notion ground truth, the change log, and edits as a person makes them
//! in the Notion app (no auth, faults or rate limits).
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /__sim/notion/dataset[?trees=true]` | the workspace as JSON (with each page's block tree) |
//! | `GET /__sim/notion/changes[?since=SEQ]` | the change log (after `since`) |
//! | `POST /__sim/notion/pages/{id}/edit` | `{append?, replace?, title?, property?: {name, value}, author?}` |
//! | `POST /__sim/notion/pages/{id}/move` | `{parent_id}` (a page) |
//! | `POST /__sim/notion/pages/{id}/delete`, `…/restore` | to the trash and back |
//! | `POST /__sim/notion/advance` | `{seconds}`: moves the clock file URLs and uploads expire by |
//! | `POST /__sim/notion/rate` | `{per_second, burst}` or `{off: true}` |

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::api::{NError, body_object, json_response, norm_id};
use super::handlers::change_parent;
use super::model::*;
use super::render::normalize_rich;
use crate::ratelimit::Limit;
use crate::server::Sim;

type R = Result<Response, AdminError>;

/// An admin request's error: a plain `{"error": …}` body, or a Notion error (bad JSON).
pub enum AdminError {
    Plain(StatusCode, String),
    Notion(NError),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self {
            AdminError::Plain(status, msg) => json_response(status, &json!({"error": msg})),
            AdminError::Notion(e) => e.into_response_with("admin"),
        }
    }
}

fn err(status: StatusCode, msg: impl Into<String>) -> AdminError {
    AdminError::Plain(status, msg.into())
}

fn nerr(e: NError) -> AdminError {
    AdminError::Notion(e)
}

pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/__sim/notion/dataset", get(dataset))
        .route("/__sim/notion/changes", get(changes))
        .route("/__sim/notion/pages/{id}/edit", post(edit))
        .route("/__sim/notion/pages/{id}/move", post(move_page))
        .route("/__sim/notion/pages/{id}/delete", post(delete))
        .route("/__sim/notion/pages/{id}/restore", post(restore))
        .route("/__sim/notion/advance", post(advance))
        .route("/__sim/notion/rate", post(rate))
        .route("/__sim/notion/clock", post(clock))
}

/// The ground truth; `?trees=true` adds to each page its content as a nested `tree`
/// (`{id, type, data, in_trash, children}`; subpages and child databases as leaves).
async fn dataset(State(sim): State<Arc<Sim>>, RawQuery(q): RawQuery) -> R {
    let trees = match form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "trees")
        .map(|(_, v)| v.into_owned())
        .as_deref()
    {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(err(
                StatusCode::BAD_REQUEST,
                format!("trees must be true or false, not {other:?}"),
            ));
        }
    };
    let ws = sim.notion.read();
    let mut v = ws.to_json();
    if trees && let Some(pages) = v.get_mut("pages").and_then(Value::as_array_mut) {
        for p in pages {
            let id = p["id"].as_str().unwrap_or("").to_string();
            let kids = ws
                .pages
                .get(&id)
                .map(|x| x.children.clone())
                .unwrap_or_default();
            p["tree"] = Value::Array(kids.iter().map(|k| tree(&ws, k, 0)).collect());
        }
    }
    Ok(json_response(StatusCode::OK, &v))
}

fn tree(ws: &Workspace, id: &str, depth: usize) -> Value {
    if let Some(b) = ws.blocks.get(id) {
        let children: Vec<Value> = if depth < 64 {
            b.children.iter().map(|c| tree(ws, c, depth + 1)).collect()
        } else {
            Vec::new()
        };
        return json!({"id": id, "type": b.kind, "data": b.data, "in_trash": b.in_trash, "children": children});
    }
    if let Some(p) = ws.pages.get(id) {
        return json!({"id": id, "type": "child_page", "data": {"title": plain(p.props.get("title"))}, "in_trash": p.in_trash, "children": []});
    }
    match ws.databases.get(id) {
        Some(d) => {
            json!({"id": id, "type": "child_database", "data": {"title": d.title}, "in_trash": d.in_trash, "children": []})
        }
        None => json!({"id": id, "type": "missing", "children": []}),
    }
}

async fn changes(State(sim): State<Arc<Sim>>, RawQuery(q): RawQuery) -> R {
    let since = match form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "since")
    {
        Some((_, v)) => v.parse::<u64>().map_err(|_| {
            err(
                StatusCode::BAD_REQUEST,
                "since must be a whole number (a seq)",
            )
        })?,
        None => 0,
    };
    let list: Vec<NotionChange> = sim
        .notion
        .changes()
        .into_iter()
        .filter(|c| c.seq > since)
        .collect();
    Ok(json_response(StatusCode::OK, &json!({"changes": list})))
}

/// Who edits: `author` (a person's id) or the first person.
fn editor(ws: &Workspace, b: &Map<String, Value>) -> Result<String, AdminError> {
    match b.get("author").and_then(Value::as_str) {
        Some(a) => {
            let id = norm_id(a).unwrap_or_default();
            ws.user(&id)
                .filter(|u| !u.bot)
                .map(|u| u.id.clone())
                .ok_or_else(|| err(StatusCode::BAD_REQUEST, format!("no person with id {a}")))
        }
        None => ws
            .users
            .iter()
            .find(|u| !u.bot)
            .map(|u| u.id.clone())
            .ok_or_else(|| err(StatusCode::BAD_REQUEST, "the workspace has no people")),
    }
}

fn page_id(ws: &Workspace, raw: &str) -> Result<String, AdminError> {
    norm_id(raw)
        .filter(|id| ws.pages.contains_key(id))
        .ok_or_else(|| err(StatusCode::NOT_FOUND, format!("no page {raw}")))
}

/// Stores a paragraph of `text` under page `page` (not yet listed in its children).
fn paragraph(ws: &mut Workspace, page: &str, text: &str, who: &str, now: i64) -> String {
    let data = json!({"rich_text": [normalize_rich(ws, &json!({"type": "text", "text": {"content": text}}))], "color": "default"});
    let ids = super::validate::insert(
        ws,
        &Parent::Page(page.to_string()),
        vec![super::validate::NewBlock {
            kind: "paragraph".into(),
            data,
            children: vec![],
        }],
        who,
        now,
    );
    ids.into_iter().next().unwrap_or_default()
}

async fn edit(State(sim): State<Arc<Sim>>, Path(raw): Path<String>, body: Bytes) -> R {
    let b = body_object(&body).map_err(nerr)?;
    let now = sim.notion.now();
    let n = &sim.notion;
    let mut ws = n.write();
    let id = page_id(&ws, &raw)?;
    let who = editor(&ws, &b)?;
    let person = ChangeAuthor {
        id: who.clone(),
        kind: "person".into(),
    };
    let mut updated_blocks = Vec::new();
    let mut updated_props = Vec::new();
    if let Some(t) = b.get("replace").and_then(Value::as_str) {
        let old = ws.pages[&id].children.clone();
        for c in &old {
            if let Some(bl) = ws.blocks.get_mut(c) {
                bl.in_trash = true;
                updated_blocks.push(json!({"id": c, "type": bl.kind}));
            }
        }
        let keep: Vec<String> = old
            .into_iter()
            .filter(|c| !ws.blocks.contains_key(c))
            .collect();
        let nb = paragraph(&mut ws, &id, t, &who, now);
        updated_blocks.push(json!({"id": nb, "type": "paragraph"}));
        let p = ws.pages.get_mut(&id).expect("found");
        p.children = std::iter::once(nb).chain(keep).collect();
    }
    if let Some(t) = b.get("append").and_then(Value::as_str) {
        let nb = paragraph(&mut ws, &id, t, &who, now);
        updated_blocks.push(json!({"id": nb, "type": "paragraph"}));
        ws.pages.get_mut(&id).expect("found").children.push(nb);
    }
    if let Some(t) = b.get("title").and_then(Value::as_str) {
        let v = json!([normalize_rich(
            &ws,
            &json!({"type": "text", "text": {"content": t}})
        )]);
        ws.pages
            .get_mut(&id)
            .expect("found")
            .props
            .insert("title".into(), v);
        updated_props.push(json!("title"));
    }
    if let Some(pv) = b.get("property") {
        let name = pv.get("name").and_then(Value::as_str).unwrap_or("");
        let value = pv.get("value").cloned().unwrap_or(Value::Null);
        let Parent::Database(d) = ws.pages[&id].parent.clone() else {
            return Err(err(
                StatusCode::BAD_REQUEST,
                "property edits need a database row",
            ));
        };
        let s = ws.databases[&d]
            .prop(name)
            .cloned()
            .ok_or_else(|| err(StatusCode::BAD_REQUEST, format!("no property {name}")))?;
        if matches!(
            s.kind.as_str(),
            "relation"
                | "formula"
                | "rollup"
                | "created_time"
                | "last_edited_time"
                | "created_by"
                | "last_edited_by"
        ) {
            return Err(err(
                StatusCode::BAD_REQUEST,
                format!(
                    "{name} is a {} property; the admin edit sets stored values only (not relations)",
                    s.kind
                ),
            ));
        }
        ws.pages
            .get_mut(&id)
            .expect("found")
            .props
            .insert(s.id.clone(), value);
        updated_props.push(json!(s.id));
    }
    let p = ws.pages.get_mut(&id).expect("found");
    p.last_edited_time = now;
    p.last_edited_by = who.clone();
    let parent = p.parent.clone();
    let cp = change_parent(&ws, &parent);
    let row = super::row_source(&ws, &id);
    drop(ws);
    if !updated_blocks.is_empty() {
        n.record(
            "page.content_updated",
            &id,
            "page",
            cp.clone(),
            person.clone(),
            now,
            json!({"updated_blocks": updated_blocks}),
        );
    }
    if !updated_props.is_empty() {
        n.record(
            "page.properties_updated",
            &id,
            "page",
            cp,
            person.clone(),
            now,
            json!({"updated_properties": updated_props}),
        );
        n.record_row(row, &id, person, now);
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({"id": id, "last_edited_time": crate::time::iso(now)}),
    ))
}

async fn move_page(State(sim): State<Arc<Sim>>, Path(raw): Path<String>, body: Bytes) -> R {
    let b = body_object(&body).map_err(nerr)?;
    let now = sim.notion.now();
    let n = &sim.notion;
    let mut ws = n.write();
    let id = page_id(&ws, &raw)?;
    let who = editor(&ws, &b)?;
    let target = b
        .get("parent_id")
        .and_then(Value::as_str)
        .and_then(norm_id)
        .filter(|t| ws.pages.contains_key(t))
        .ok_or_else(|| err(StatusCode::BAD_REQUEST, "parent_id must be a page id"))?;
    if ws.is_under(&target, &id) {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "a page cannot move under itself or its descendants",
        ));
    }
    if matches!(ws.pages[&id].parent, Parent::Database(_)) {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "database rows do not move between pages",
        ));
    }
    if let Some(old) = ws.pages[&id].parent.id().map(str::to_string)
        && let Some(op) = ws.pages.get_mut(&old)
    {
        op.children.retain(|c| *c != id);
    }
    ws.pages
        .get_mut(&target)
        .expect("checked")
        .children
        .push(id.clone());
    let p = ws.pages.get_mut(&id).expect("found");
    p.parent = Parent::Page(target.clone());
    p.last_edited_time = now;
    p.last_edited_by = who.clone();
    let cp = change_parent(&ws, &Parent::Page(target.clone()));
    drop(ws);
    n.record(
        "page.moved",
        &id,
        "page",
        cp,
        ChangeAuthor {
            id: who,
            kind: "person".into(),
        },
        now,
        json!({}),
    );
    Ok(json_response(
        StatusCode::OK,
        &json!({"id": id, "parent_id": target}),
    ))
}

async fn trash(sim: &Sim, raw: &str, body: &[u8], to: bool) -> R {
    let b = body_object(body).map_err(nerr)?;
    let now = sim.notion.now();
    let n = &sim.notion;
    let mut ws = n.write();
    let id = page_id(&ws, raw)?;
    let who = editor(&ws, &b)?;
    let p = ws.pages.get_mut(&id).expect("found");
    let changed = p.in_trash != to;
    p.in_trash = to;
    p.last_edited_time = now;
    p.last_edited_by = who.clone();
    let parent = p.parent.clone();
    let cp = change_parent(&ws, &parent);
    let row = super::row_source(&ws, &id);
    drop(ws);
    if changed {
        let e = if to { "page.deleted" } else { "page.undeleted" };
        let person = ChangeAuthor {
            id: who,
            kind: "person".into(),
        };
        n.record(e, &id, "page", cp, person.clone(), now, json!({}));
        n.record_row(row, &id, person, now);
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({"id": id, "in_trash": to}),
    ))
}

async fn delete(State(sim): State<Arc<Sim>>, Path(raw): Path<String>, body: Bytes) -> R {
    trash(&sim, &raw, &body, true).await
}

async fn restore(State(sim): State<Arc<Sim>>, Path(raw): Path<String>, body: Bytes) -> R {
    trash(&sim, &raw, &body, false).await
}

async fn advance(State(sim): State<Arc<Sim>>, body: Bytes) -> R {
    let b = body_object(&body).map_err(nerr)?;
    let s = b
        .get("seconds")
        .and_then(Value::as_i64)
        .filter(|s| *s >= 0)
        .ok_or_else(|| {
            err(
                StatusCode::BAD_REQUEST,
                "seconds must be a whole number ≥ 0",
            )
        })?;
    let skew = sim.notion.skew_ms.fetch_add(s * 1000, Ordering::Relaxed) + s * 1000;
    Ok(json_response(
        StatusCode::OK,
        &json!({"skew_seconds": skew / 1000}),
    ))
}

/// `{"advance_seconds": N}`: the twin's timestamps run N seconds ahead of the wall clock from
/// now on (cumulative). File-URL expiry has its own knob (`/__sim/notion/advance`).
async fn clock(State(sim): State<Arc<Sim>>, body: Bytes) -> R {
    let b = body_object(&body).map_err(nerr)?;
    let s = b
        .get("advance_seconds")
        .and_then(Value::as_i64)
        .filter(|s| *s >= 0)
        .ok_or_else(|| {
            err(
                StatusCode::BAD_REQUEST,
                "advance_seconds must be a whole number ≥ 0",
            )
        })?;
    let skew = sim
        .notion
        .clock_skew_ms
        .fetch_add(s * 1000, Ordering::Relaxed)
        + s * 1000;
    Ok(json_response(
        StatusCode::OK,
        &json!({"clock_skew_seconds": skew / 1000}),
    ))
}

async fn rate(State(sim): State<Arc<Sim>>, body: Bytes) -> R {
    let b = body_object(&body).map_err(nerr)?;
    if b.get("off") == Some(&json!(true)) {
        sim.notion.set_rate(None);
        return Ok(json_response(StatusCode::OK, &json!({"rate": null})));
    }
    let per_second = b
        .get("per_second")
        .and_then(Value::as_f64)
        .filter(|r| *r > 0.0 && r.is_finite())
        .ok_or_else(|| {
            err(
                StatusCode::BAD_REQUEST,
                "per_second must be a number above 0 (or send {\"off\": true})",
            )
        })?;
    let burst = b
        .get("burst")
        .and_then(Value::as_u64)
        .map(|x| x as u32)
        .unwrap_or((per_second.ceil() as u32).max(1))
        .max(1);
    sim.notion.set_rate(Some(Limit { per_second, burst }));
    Ok(json_response(
        StatusCode::OK,
        &json!({"per_second": per_second, "burst": burst}),
    ))
}

impl IntoResponse for NotionChange {
    fn into_response(self) -> Response {
        json_response(
            StatusCode::OK,
            &serde_json::to_value(self).unwrap_or(Value::Null),
        )
    }
}
