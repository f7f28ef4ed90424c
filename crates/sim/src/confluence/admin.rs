//! `/__sim/…`: introspection and control of the twin, without auth, faults or rate limits.
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /__sim/health` | `{"status":"ok"}` |
//! | `GET /__sim/stats` | request counts per method, route template and status |
//! | `POST /__sim/reset` | back to the generated dataset; counts, buckets and fault sequence cleared |
//! | `GET /__sim/confluence/dataset[?bodies=false]` | the ground truth as JSON |
//! | `POST /__sim/confluence/pages/{id}/edit` | a human edit: `{title?, body?, append?, message?, author?}` |
//! | `POST /__sim/confluence/pages/{id}/move` | a human move: `{parentId}` (same space) |
//! | `POST /__sim/confluence/pages/{id}/delete[?purge=true]` | to the trash (or purged from it) |
//! | `GET`/`POST /__sim/faults` | the fault plan; `{"plan": "429=0.05,…"}` replaces it |
//! | `POST /__sim/rate-limits` | `{"spec": "get=100,…"}` replaces the rate limits |
//! | `GET`/`POST /__sim/webhooks`, `DELETE /__sim/webhooks/{id}`, `GET /__sim/webhooks/deliveries`, `POST /__sim/notion/events` | webhook receivers and deliveries ([`crate::webhooks`]) |

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::api::{ApiError, Flavor, Query, json_response, parse_body, path_id};
use super::events::{self, Action};
use super::write::{sync_tasks, trash_or_purge, would_loop};
use crate::model::*;
use crate::server::Sim;

type R = Result<Response, ApiError>;

pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route(
            "/__sim/health",
            get(|| async { json_response(StatusCode::OK, &json!({"status": "ok"})) }),
        )
        .route("/__sim/stats", get(stats))
        .route("/__sim/reset", post(reset))
        .route("/__sim/confluence/dataset", get(dataset))
        .route("/__sim/confluence/pages/{id}/edit", post(edit))
        .route("/__sim/confluence/pages/{id}/move", post(move_page))
        .route("/__sim/confluence/pages/{id}/delete", post(delete))
        .route("/__sim/faults", get(faults).post(set_faults))
        .route("/__sim/rate-limits", post(set_rate_limits))
}

async fn stats(State(sim): State<Arc<Sim>>) -> Response {
    let mut v = sim.stats.snapshot();
    v["webhooks"] = sim.webhooks.counts();
    json_response(StatusCode::OK, &v)
}

async fn reset(State(sim): State<Arc<Sim>>) -> Response {
    sim.reset();
    json_response(StatusCode::OK, &json!({"reset": true}))
}

async fn dataset(State(sim): State<Arc<Sim>>, RawQuery(q): RawQuery) -> R {
    let q = Query::parse(q.as_deref());
    let bodies = q.bool("bodies", true)?;
    let v = sim.confluence.read().d.to_json(bodies);
    Ok(json_response(StatusCode::OK, &v))
}

fn object(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    parse_body(bytes, Flavor::V2)
}

/// Who a human edit is by: `author` if given, else the first ordinary user.
fn editor(d: &Dataset, v: &Value) -> Result<String, ApiError> {
    match v.get("author").and_then(Value::as_str) {
        Some(a) => d
            .user(a)
            .map(|u| u.account_id.clone())
            .ok_or_else(|| ApiError::bad_request(format!("No user {a}"))),
        None => Ok(d
            .users
            .get(3)
            .or(d.users.first())
            .map(|u| u.account_id.clone())
            .unwrap_or_default()),
    }
}

async fn edit(State(sim): State<Arc<Sim>>, Path(id): Path<String>, bytes: Bytes) -> R {
    let id = path_id(&id)?;
    let v = object(&bytes)?;
    let now = sim.confluence.now();
    let mut data = sim.confluence.write();
    let who = editor(&data.d, &v)?;
    let c = data
        .d
        .contents
        .get(&id)
        .filter(|c| c.kind != ContentKind::Folder)
        .ok_or_else(ApiError::not_found)?;
    let mut body = c.current().body.as_str().to_string();
    if let Some(b) = v.get("body").and_then(Value::as_str) {
        super::xhtml::check(b).map_err(ApiError::bad_request)?;
        body = b.to_string();
    }
    if let Some(a) = v.get("append").and_then(Value::as_str) {
        body.push_str(&crate::storage::p(&crate::storage::esc(a)));
    }
    let title = v
        .get("title")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| c.title.clone());
    let message = v
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let c = data.d.contents.get_mut(&id).expect("checked");
    let number = c.current().number + 1;
    c.versions.push(Version {
        number,
        message,
        minor_edit: false,
        author_id: who.clone(),
        created_at: now,
        title: title.clone(),
        body: Body::new(body.clone()),
    });
    c.title = title;
    sync_tasks(&mut data.d, id, &body, &who, now);
    data.reindex();
    events::emit(
        &sim,
        events::content(&sim, &data.d, id, Action::Updated, &who, now),
    );
    let c = &data.d.contents[&id];
    Ok(json_response(
        StatusCode::OK,
        &json!({"id": id.to_string(), "version": c.current().number, "lastModified": crate::time::iso(now)}),
    ))
}

async fn move_page(State(sim): State<Arc<Sim>>, Path(id): Path<String>, bytes: Bytes) -> R {
    let id = path_id(&id)?;
    let v = object(&bytes)?;
    let parent = v
        .get("parentId")
        .and_then(|p| {
            p.as_str()
                .map(str::to_string)
                .or_else(|| p.as_u64().map(|n| n.to_string()))
        })
        .ok_or_else(|| ApiError::bad_request("parentId is required"))?;
    let parent = path_id(&parent)?;
    let now = sim.confluence.now();
    let mut data = sim.confluence.write();
    let who = editor(&data.d, &v)?;
    let c = data
        .d
        .contents
        .get(&id)
        .filter(|c| c.kind == ContentKind::Page)
        .ok_or_else(ApiError::not_found)?;
    let space = c.space_id;
    let p = data
        .d
        .contents
        .get(&parent)
        .ok_or_else(ApiError::not_found)?;
    if p.space_id != space || p.kind == ContentKind::Blogpost {
        return Err(ApiError::bad_request(
            "The new parent must be a page or folder in the same space",
        ));
    }
    if would_loop(&data.d, id, parent) {
        return Err(ApiError::bad_request(
            "A page cannot be moved under itself or one of its descendants",
        ));
    }
    let pos = data
        .ix
        .children
        .get(&parent)
        .into_iter()
        .flatten()
        .filter_map(|k| data.d.contents.get(k))
        .map(|k| k.position + 1)
        .max()
        .unwrap_or(0);
    let c = data.d.contents.get_mut(&id).expect("checked");
    let old_parent = c.parent_id;
    c.parent_id = Some(parent);
    c.position = pos;
    data.reindex();
    events::emit(
        &sim,
        events::moved(&sim, &data.d, id, old_parent, &who, now),
    );
    Ok(json_response(
        StatusCode::OK,
        &json!({"id": id.to_string(), "parentId": parent.to_string()}),
    ))
}

async fn delete(State(sim): State<Arc<Sim>>, Path(id): Path<String>, RawQuery(q): RawQuery) -> R {
    let id = path_id(&id)?;
    let q = Query::parse(q.as_deref());
    let purge = q.bool("purge", false)?;
    let now = sim.confluence.now();
    let mut data = sim.confluence.write();
    let who = editor(&data.d, &json!({}))?;
    let action = if purge {
        Action::Trashed
    } else {
        Action::Removed
    };
    let ev = events::content(&sim, &data.d, id, action, &who, now);
    trash_or_purge(&mut data, id, purge, false)?;
    events::emit(&sim, ev);
    Ok(json_response(
        StatusCode::OK,
        &json!({"id": id.to_string(), "purged": purge}),
    ))
}

async fn faults(State(sim): State<Arc<Sim>>) -> Response {
    let plan = sim
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .to_string();
    json_response(StatusCode::OK, &json!({"plan": plan}))
}

async fn set_faults(State(sim): State<Arc<Sim>>, bytes: Bytes) -> R {
    let v = object(&bytes)?;
    let plan = v.get("plan").and_then(Value::as_str).unwrap_or("");
    let plan: crate::faults::FaultPlan = plan
        .parse()
        .map_err(|e: crate::faults::FaultPlanError| ApiError::bad_request(e.to_string()))?;
    let text = plan.to_string();
    *sim.faults.lock().unwrap_or_else(|e| e.into_inner()) = plan;
    Ok(json_response(StatusCode::OK, &json!({"plan": text})))
}

async fn set_rate_limits(State(sim): State<Arc<Sim>>, bytes: Bytes) -> R {
    let v = object(&bytes)?;
    let spec = v.get("spec").and_then(Value::as_str).unwrap_or("");
    let limits: crate::ratelimit::RateLimits = spec
        .parse()
        .map_err(|e: crate::ratelimit::RateLimitError| ApiError::bad_request(e.to_string()))?;
    sim.limiter.set(limits);
    Ok(json_response(StatusCode::OK, &json!({"spec": spec})))
}
