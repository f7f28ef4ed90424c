//! The `/v1` endpoints.

use std::cmp::Ordering as Ord_;
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::api::*;
use super::model::*;
use super::render::{Ctx, normalize_rich, user, visible};
use super::validate::{self, MAX_PAYLOAD, check_children, check_rich};
use super::{Caller, Notion};
use crate::server::Sim;

type S = State<Arc<Sim>>;
type C = Extension<Caller>;

pub(crate) fn ctx<'a>(sim: &'a Sim, ws: &'a Workspace, v: Version) -> Ctx<'a> {
    Ctx {
        ws,
        v,
        notion: &sim.notion,
        origin: format!("http://{}", sim.addr),
    }
}

pub(crate) fn query(q: &Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

pub(crate) fn qget<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(a, _)| a == k).map(|(_, b)| b.as_str())
}

/// Records a page event by the caller's bot, with no event data.
fn page_event(
    sim: &Sim,
    ws: &Workspace,
    c: &Caller,
    event: &str,
    id: &str,
    parent: &Parent,
    now: i64,
) {
    sim.notion.record(
        event,
        id,
        "page",
        change_parent(ws, parent),
        author(c),
        now,
        json!({}),
    );
}

pub(crate) fn author(c: &Caller) -> ChangeAuthor {
    ChangeAuthor {
        id: c.bot_id.clone(),
        kind: "bot".into(),
    }
}

/// A change's `parent` field for an object with parent `p`.
pub(crate) fn change_parent(ws: &Workspace, p: &Parent) -> Option<Value> {
    Some(match p {
        Parent::Workspace => json!({"id": "workspace", "type": "space"}),
        Parent::Page(id) => json!({"id": id, "type": "page"}),
        Parent::Block(id) => json!({"id": id, "type": "block"}),
        Parent::Database(id) => json!({
            "id": id, "type": "database",
            "data_source_id": ws.databases.get(id).map(|d| d.data_source_id.clone()),
        }),
    })
}

// ------------------------------------------------------------------------------------- search

fn timestamp_sort(v: Option<&Value>) -> Result<bool, NError> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(s) => {
            if s.get("timestamp").and_then(Value::as_str) != Some("last_edited_time") {
                return Err(NError::body(format_args!(
                    "body.sort.timestamp should be `\"last_edited_time\"`, instead was `{}`",
                    short(s.get("timestamp").unwrap_or(&Value::Null))
                )));
            }
            match s.get("direction").and_then(Value::as_str) {
                Some("ascending") => Ok(true),
                Some("descending") => Ok(false),
                other => Err(NError::body(format_args!(
                    "body.sort.direction should be either `\"ascending\"` or `\"descending\"`, instead was `{}`",
                    other
                        .map(|o| format!("\"{o}\""))
                        .unwrap_or_else(|| "undefined".into())
                ))),
            }
        }
    }
}

pub async fn search(State(sim): S, Extension(c): C, body: Bytes) -> R {
    let b = body_object(&body)?;
    let q = match b.get("query") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.to_lowercase(),
        Some(o) => {
            return Err(NError::body(format_args!(
                "body.query should be a string, instead was `{}`",
                short(o)
            )));
        }
    };
    let db_word = match c.version {
        Version::V2022 => "database",
        Version::V2025 => "data_source",
    };
    let filter = match b.get("filter") {
        None | Some(Value::Null) => None,
        Some(f) => {
            if f.get("property").and_then(Value::as_str) != Some("object") {
                return Err(NError::body(format_args!(
                    "body.filter.property should be `\"object\"`, instead was `{}`",
                    short(f.get("property").unwrap_or(&Value::Null))
                )));
            }
            match f.get("value").and_then(Value::as_str) {
                Some("page") => Some("page"),
                Some(x) if x == db_word => Some("db"),
                _ => {
                    return Err(NError::body(format_args!(
                        "body.filter.value should be either `\"page\"` or `\"{db_word}\"`, instead was `{}`",
                        short(f.get("value").unwrap_or(&Value::Null))
                    )));
                }
            }
        }
    };
    let asc = timestamp_sort(b.get("sort"))?;
    let size = page_size(b.get("page_size"), "body")?;
    let cursor = start_cursor(b.get("start_cursor"), "body")?;
    let ws = sim.notion.read();
    let r = ctx(&sim, &ws, c.version);
    // (edited minute, id, value)
    // (edited minute, id, object): rendered only for the page of results sent.
    enum Hit<'a> {
        Page(&'a NPage),
        Db(&'a NDatabase),
    }
    let mut items: Vec<(i64, String, Hit)> = Vec::new();
    if filter != Some("db") {
        for p in ws.pages.values() {
            if p.in_trash || !visible(&ws, &c, &p.id) {
                continue;
            }
            if !q.is_empty() && !plain(p.props.get("title")).to_lowercase().contains(&q) {
                continue;
            }
            items.push((p.last_edited_time / 60_000, p.id.clone(), Hit::Page(p)));
        }
    }
    if filter != Some("page") {
        for d in ws.databases.values() {
            if d.in_trash || !visible(&ws, &c, &d.id) {
                continue;
            }
            if !q.is_empty() && !d.title.to_lowercase().contains(&q) {
                continue;
            }
            let id = match c.version {
                Version::V2022 => d.id.clone(),
                Version::V2025 => d.data_source_id.clone(),
            };
            items.push((d.last_edited_time / 60_000, id, Hit::Db(d)));
        }
    }
    items.sort_by(|a, b| {
        let o = a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1));
        if asc { o } else { o.reverse() }
    });
    let items: Vec<(String, Hit)> = items.into_iter().map(|(_, id, v)| (id, v)).collect();
    let (page, next) = page_by_id(items, cursor.as_deref(), size)?;
    let page: Vec<Value> = page
        .into_iter()
        .map(|h| match (h, c.version) {
            (Hit::Page(p), _) => r.page(p),
            (Hit::Db(d), Version::V2022) => r.database(d),
            (Hit::Db(d), Version::V2025) => r.data_source(d),
        })
        .collect();
    let ty = match c.version {
        Version::V2022 => "page_or_database",
        Version::V2025 => "page_or_data_source",
    };
    ok(list(page, next, ty, json!({})))
}

// -------------------------------------------------------------------------------------- users

pub async fn users(State(sim): S, Extension(c): C, RawQuery(q): RawQuery) -> R {
    if c.restricted {
        // The restricted integration has no user-information capability.
        return Err(NError::restricted());
    }
    let q = query(&q);
    let size = page_size(qget(&q, "page_size").map(|s| json!(s)).as_ref(), "query")?;
    let cursor = qget(&q, "start_cursor").map(str::to_string);
    let ws = sim.notion.read();
    let items: Vec<(String, Value)> = ws
        .users
        .iter()
        .map(|u| (u.id.clone(), user(u, false)))
        .collect();
    let (page, next) = page_by_id(items, cursor.as_deref(), size)?;
    ok(list(page, next, "user", json!({})))
}

pub async fn me(State(sim): S, Extension(c): C) -> R {
    let ws = sim.notion.read();
    let u = ws.user(&c.bot_id).ok_or_else(NError::unauthorized)?;
    ok(user(u, true))
}

pub async fn get_user(State(sim): S, Extension(c): C, Path(raw): Path<String>) -> R {
    if c.restricted {
        return Err(NError::restricted());
    }
    let id = path_id(&raw, "user_id")?;
    let ws = sim.notion.read();
    let u = ws.user(&id).ok_or_else(|| NError::not_found("user", &id))?;
    ok(user(u, false))
}

// -------------------------------------------------------------------------------------- pages

fn find_page<'a>(ws: &'a Workspace, c: &Caller, raw: &str) -> Result<&'a NPage, NError> {
    let id = path_id(raw, "page_id")?;
    ws.pages
        .get(&id)
        .filter(|p| visible(ws, c, &p.id))
        .ok_or_else(|| NError::not_found("page", &id))
}

pub async fn page(
    State(sim): S,
    Extension(c): C,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> R {
    let q = query(&q);
    let only: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "filter_properties" || k == "filter_properties[]")
        .map(|(_, v)| v.as_str())
        .collect();
    let ws = sim.notion.read();
    let p = find_page(&ws, &c, &id)?;
    let mut v = ctx(&sim, &ws, c.version).page(p);
    if !only.is_empty()
        && let Some(props) = v.get_mut("properties").and_then(Value::as_object_mut)
    {
        props.retain(|_, x| only.contains(&x["id"].as_str().unwrap_or("")));
    }
    ok(v)
}

pub async fn page_property(
    State(sim): S,
    Extension(c): C,
    Path((id, prop)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> R {
    let q = query(&q);
    let size = page_size(qget(&q, "page_size").map(|s| json!(s)).as_ref(), "query")?;
    let cursor = qget(&q, "start_cursor").map(str::to_string);
    let ws = sim.notion.read();
    let p = find_page(&ws, &c, &id)?;
    let r = ctx(&sim, &ws, c.version);
    let schema = match r.db_of(p) {
        Some(db) => db.prop_by_id(&prop).or_else(|| db.prop(&prop)).cloned(),
        None if prop == "title" => Some(PropSchema {
            id: "title".into(),
            name: "title".into(),
            kind: "title".into(),
            config: json!({}),
            computed: None,
        }),
        None => None,
    }
    .ok_or_else(|| NError::not_found("property", &prop))?;
    let item = |kind: &str, v: Value| {
        let mut o = json!({"object": "property_item", "id": schema.id, "type": kind});
        o[kind] = v;
        o
    };
    let next_url = |next: &Option<String>| {
        next.as_ref().map(|n| {
            format!(
                "{}/v1/pages/{}/properties/{}?start_cursor={n}",
                r.origin, p.id, schema.id
            )
        })
    };
    match schema.kind.as_str() {
        "title" | "rich_text" | "relation" | "people" => {
            let values: Vec<Value> = match r.db_of(p) {
                Some(db) => r.raw_value(p, db, &schema, false),
                None => p.props.get("title").cloned().unwrap_or(json!([])),
            }
            .as_array()
            .cloned()
            .unwrap_or_default();
            let items: Vec<Value> = values.into_iter().map(|v| item(&schema.kind, v)).collect();
            let scope = format!("{}/{}", p.id, schema.id);
            let (page, next) = page_by_offset(items, &scope, cursor.as_deref(), size)?;
            let mut pi = json!({"type": schema.kind, "id": schema.id, "next_url": next_url(&next)});
            pi[&schema.kind] = json!({});
            ok(list(page, next, "property_item", pi))
        }
        "rollup" => {
            let db = r.db_of(p).expect("rollups are in databases");
            let Some(Computed::Rollup {
                relation, target, ..
            }) = &schema.computed
            else {
                return ok(item(
                    "rollup",
                    json!({"type": "unsupported", "unsupported": {}}),
                ));
            };
            let agg = r.raw_value(p, db, &schema, false);
            // The rolled-up values, one property item per related page.
            let target_db = db
                .prop_by_id(relation)
                .and_then(|s| s.config.get("database_id"))
                .and_then(Value::as_str)
                .and_then(|d| ws.databases.get(d));
            let mut items = Vec::new();
            if let Some(tdb) = target_db
                && let Some(ts) = tdb.prop_by_id(target)
            {
                for rid in p
                    .props
                    .get(relation)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if let Some(rp) = ws.pages.get(rid).filter(|x| !x.in_trash) {
                        let v = r.raw_value(rp, tdb, ts, false);
                        let mut o =
                            json!({"object": "property_item", "id": ts.id, "type": ts.kind});
                        o[&ts.kind] = match ts.kind.as_str() {
                            "title" | "rich_text" => v
                                .as_array()
                                .and_then(|a| a.first().cloned())
                                .unwrap_or(Value::Null),
                            _ => v,
                        };
                        items.push(o);
                    }
                }
            }
            let scope = format!("{}/{}", p.id, schema.id);
            let (page, next) = page_by_offset(items, &scope, cursor.as_deref(), size)?;
            ok(list(
                page,
                next.clone(),
                "property_item",
                json!({"type": "rollup", "id": schema.id, "next_url": next_url(&next), "rollup": agg}),
            ))
        }
        _ => {
            let db = r.db_of(p).expect("non-title properties are in databases");
            let v = r.raw_value(p, db, &schema, false);
            ok(item(&schema.kind, v))
        }
    }
}

/// The value to store for one property of a request, and the relation change it makes.
fn prop_from_request(
    ws: &Workspace,
    s: &PropSchema,
    v: &Value,
    path: &str,
) -> Result<Value, NError> {
    let expected = || NError::validation(format!("{} is expected to be {}.", s.name, s.kind));
    let inner = v.get(&s.kind).ok_or_else(expected)?;
    let limit = |n: usize, max: usize| -> Result<(), NError> {
        if n > max {
            Err(NError::body(format_args!(
                "{path}.{}.length should be ≤ `{max}`, instead was `{n}`",
                s.kind
            )))
        } else {
            Ok(())
        }
    };
    let option = |o: &Value| -> Result<Value, NError> {
        let opts = s.config["options"].as_array().cloned().unwrap_or_default();
        let hit = opts.iter().find(|x| {
            (o.get("name").is_some() && x["name"] == o["name"])
                || (o.get("id").is_some() && x["id"] == o["id"])
        });
        match hit {
            Some(x) => Ok(json!({"id": x["id"], "name": x["name"], "color": x["color"]})),
            None => Err(NError::validation(format!(
                "Invalid {} option {} for property {}; existing options: {}.",
                s.kind,
                short(o),
                s.name,
                opts.iter()
                    .filter_map(|x| x["name"].as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    };
    Ok(match s.kind.as_str() {
        "title" | "rich_text" => {
            check_rich(inner, &format!("{path}.{}", s.kind))?;
            Value::Array(
                inner
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| normalize_rich(ws, x))
                    .collect(),
            )
        }
        "number" => match inner {
            Value::Null | Value::Number(_) => inner.clone(),
            _ => return Err(expected()),
        },
        "checkbox" => match inner {
            Value::Bool(_) => inner.clone(),
            _ => return Err(expected()),
        },
        "url" | "email" | "phone_number" => match inner {
            Value::Null => Value::Null,
            Value::String(x) => {
                let max = if s.kind == "url" { 2000 } else { 200 };
                limit(x.encode_utf16().count(), max)?;
                inner.clone()
            }
            _ => return Err(expected()),
        },
        "select" | "status" => match inner {
            Value::Null if s.kind == "select" => Value::Null,
            Value::Object(_) => option(inner)?,
            _ => return Err(expected()),
        },
        "multi_select" => {
            let a = inner.as_array().ok_or_else(expected)?;
            limit(a.len(), 100)?;
            Value::Array(a.iter().map(option).collect::<Result<_, _>>()?)
        }
        "date" => match inner {
            Value::Null => Value::Null,
            Value::Object(m) => {
                let start = m.get("start").and_then(Value::as_str).unwrap_or("");
                if crate::time::parse_iso(start).is_none() {
                    return Err(NError::body(format_args!(
                        "{path}.date.start should be a valid ISO 8601 date string, instead was `{}`",
                        short(m.get("start").unwrap_or(&Value::Null))
                    )));
                }
                json!({"start": start, "end": m.get("end").cloned().unwrap_or(Value::Null),
                       "time_zone": m.get("time_zone").cloned().unwrap_or(Value::Null)})
            }
            _ => return Err(expected()),
        },
        "people" => {
            let a = inner.as_array().ok_or_else(expected)?;
            limit(a.len(), 100)?;
            let mut ids = Vec::new();
            for u in a {
                let id = u
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(norm_id)
                    .ok_or_else(expected)?;
                if ws.user(&id).is_none() {
                    return Err(NError::not_found("user", &id));
                }
                ids.push(json!(id));
            }
            Value::Array(ids)
        }
        "relation" => {
            let a = inner.as_array().ok_or_else(expected)?;
            limit(a.len(), 100)?;
            let target = s.config["database_id"].as_str().unwrap_or("");
            let mut ids = Vec::new();
            for x in a {
                let id = x
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(norm_id)
                    .ok_or_else(expected)?;
                match ws.pages.get(&id) {
                    Some(p) if p.parent == Parent::Database(target.into()) => {
                        if !ids.contains(&json!(id)) {
                            ids.push(json!(id))
                        }
                    }
                    _ => return Err(NError::not_found("page", &id)),
                }
            }
            Value::Array(ids)
        }
        "files" => {
            let a = inner.as_array().ok_or_else(expected)?;
            let mut out = Vec::new();
            for (i, f) in a.iter().enumerate() {
                let name = f.get("name").and_then(Value::as_str).unwrap_or("");
                if let Some(e) = f.get("external") {
                    out.push(json!({"name": name, "type": "external", "external": {"url": e.get("url").cloned().unwrap_or(Value::Null)}}));
                } else if let Some(u) = f.get("file_upload") {
                    let fid = validate::file_upload_file(
                        ws,
                        u,
                        &format!("{path}.files[{i}].file_upload"),
                    )?;
                    let name = if name.is_empty() {
                        ws.files
                            .get(&fid)
                            .map(|x| x.name.clone())
                            .unwrap_or_default()
                    } else {
                        name.to_string()
                    };
                    out.push(json!({"name": name, "type": "file", "file": {"sim_file_id": fid}}));
                } else {
                    return Err(expected());
                }
            }
            Value::Array(out)
        }
        _ => {
            return Err(NError::validation(format!(
                "{} is a {} property, which cannot be set through the API.",
                s.name, s.kind
            )));
        }
    })
}

/// The property ids a request changed, and the (page, property id) pairs its dual relations
/// changed on other pages.
type PropChanges = (Vec<String>, Vec<(String, String)>);

/// Applies `props` (a request's `properties`) to page `pid`; returns the ids of properties
/// changed (and the other pages whose dual relations changed, with their property id).
fn apply_props(
    ws: &mut Workspace,
    pid: &str,
    props: &Map<String, Value>,
) -> Result<PropChanges, NError> {
    let page = ws
        .pages
        .get(pid)
        .cloned()
        .ok_or_else(|| NError::not_found("page", pid))?;
    let db = match &page.parent {
        Parent::Database(d) => ws.databases.get(d).cloned(),
        _ => None,
    };
    let mut values: Vec<(PropSchema, Value)> = Vec::new();
    for (k, v) in props {
        let s = match &db {
            Some(db) => db.prop(k).cloned(),
            None if k == "title" => Some(PropSchema {
                id: "title".into(),
                name: k.clone(),
                kind: "title".into(),
                config: json!({}),
                computed: None,
            }),
            None => None,
        }
        .ok_or_else(|| NError::validation(format!("{k} is not a property that exists.")))?;
        let stored = prop_from_request(ws, &s, v, &format!("body.properties.{k}"))?;
        values.push((s, stored));
    }
    let mut changed = Vec::new();
    let mut others = Vec::new();
    for (s, new) in values {
        let old = ws.pages.get(pid).and_then(|p| p.props.get(&s.id).cloned());
        if s.kind == "relation"
            && let (Some(target), Some(synced)) = (
                s.config["database_id"].as_str(),
                s.config["dual_property"]["synced_property_id"].as_str(),
            )
            && ws.databases.contains_key(target)
        {
            let ids = |v: &Option<Value>| -> Vec<String> {
                v.as_ref()
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            };
            let before = ids(&old);
            let after = ids(&Some(new.clone()));
            for r in before.iter().filter(|r| !after.contains(r)) {
                if let Some(rp) = ws.pages.get_mut(r)
                    && let Some(Value::Array(a)) = rp.props.get_mut(synced)
                {
                    a.retain(|x| x.as_str() != Some(pid));
                    others.push((r.clone(), synced.to_string()));
                }
            }
            for r in after.iter().filter(|r| !before.contains(r)) {
                if let Some(rp) = ws.pages.get_mut(r) {
                    let a = rp.props.entry(synced.to_string()).or_insert(json!([]));
                    if let Value::Array(a) = a
                        && !a.iter().any(|x| x.as_str() == Some(pid))
                    {
                        a.push(json!(pid));
                    }
                    others.push((r.clone(), synced.to_string()));
                }
            }
        }
        if let Some(p) = ws.pages.get_mut(pid) {
            p.props.insert(s.id.clone(), new);
        }
        changed.push(s.id.clone());
    }
    Ok((changed, others))
}

fn icon_or_cover(ws: &Workspace, v: &Value, path: &str) -> Result<Option<Value>, NError> {
    match v {
        Value::Null => Ok(None),
        Value::Object(m) => {
            if let Some(u) = m.get("file_upload") {
                let fid = validate::file_upload_file(ws, u, &format!("{path}.file_upload"))?;
                return Ok(Some(json!({"type": "file", "file": {"sim_file_id": fid}})));
            }
            if let Some(e) = m.get("emoji") {
                return Ok(Some(json!({"type": "emoji", "emoji": e})));
            }
            if let Some(e) = m.get("external") {
                return Ok(Some(
                    json!({"type": "external", "external": {"url": e.get("url").cloned().unwrap_or(Value::Null)}}),
                ));
            }
            Err(NError::body(format_args!(
                "{path}.external should be defined, instead was `undefined`"
            )))
        }
        other => Err(NError::body(format_args!(
            "{path} should be an object or `null`, instead was `{}`",
            short(other)
        ))),
    }
}

/// `parent` of a create-page request.
fn parse_parent(ws: &Workspace, c: &Caller, b: &Map<String, Value>) -> Result<Parent, NError> {
    let p = b
        .get("parent")
        .ok_or_else(|| NError::body("body.parent should be defined, instead was `undefined`"))?;
    let id_of = |k: &str| p.get(k).and_then(Value::as_str).map(|s| (s, norm_id(s)));
    if let Some((raw, id)) = id_of("page_id") {
        let id = id.ok_or_else(|| {
            NError::body(format_args!(
                "body.parent.page_id should be a valid uuid, instead was `\"{raw}\"`"
            ))
        })?;
        let pg = ws
            .pages
            .get(&id)
            .filter(|x| visible(ws, c, &x.id))
            .ok_or_else(|| NError::not_found("page", &id))?;
        if pg.in_trash {
            return Err(NError::archived());
        }
        return Ok(Parent::Page(id));
    }
    if let Some((raw, id)) = id_of("database_id") {
        let id = id.ok_or_else(|| {
            NError::body(format_args!(
                "body.parent.database_id should be a valid uuid, instead was `\"{raw}\"`"
            ))
        })?;
        ws.databases
            .get(&id)
            .filter(|d| visible(ws, c, &d.id))
            .ok_or_else(|| NError::not_found("database", &id))?;
        return Ok(Parent::Database(id));
    }
    if let Some((raw, id)) = id_of("data_source_id") {
        if c.version == Version::V2022 {
            return Err(NError::body(
                "body.parent.data_source_id should be not present, instead was a data source id (data sources need Notion-Version 2025-09-03)",
            ));
        }
        let id = id.ok_or_else(|| {
            NError::body(format_args!(
                "body.parent.data_source_id should be a valid uuid, instead was `\"{raw}\"`"
            ))
        })?;
        let d = ws
            .database_of_source(&id)
            .filter(|d| visible(ws, c, &d.id))
            .ok_or_else(|| NError::not_found("data source", &id))?;
        return Ok(Parent::Database(d.id.clone()));
    }
    if p.get("workspace") == Some(&json!(true)) {
        return Ok(Parent::Workspace);
    }
    Err(NError::body(format_args!(
        "body.parent.page_id should be defined, instead was `undefined`; or body.parent.database_id, body.parent.data_source_id, body.parent.workspace (was `{}`)",
        short(p)
    )))
}

pub async fn create_page(State(sim): S, Extension(c): C, body: Bytes) -> R {
    payload_limit(&body)?;
    let b = body_object(&body)?;
    let now = sim.notion.now();
    let mut ws = sim.notion.write();
    let parent = parse_parent(&ws, &c, &b)?;
    let children = match b.get("children") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => check_children(&ws, Some(v), "body.children", 1, &mut 0)?,
    };
    let icon = match b.get("icon") {
        Some(v) => icon_or_cover(&ws, v, "body.icon")?,
        None => None,
    };
    let cover = match b.get("cover") {
        Some(v) => icon_or_cover(&ws, v, "body.cover")?,
        None => None,
    };
    let props = match b.get("properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(o) => {
            return Err(NError::body(format_args!(
                "body.properties should be an object, instead was `{}`",
                short(o)
            )));
        }
    };
    let id = ws.new_id();
    let mut initial = BTreeMap::new();
    initial.insert("title".to_string(), json!([]));
    if let Parent::Database(d) = &parent
        && let Some(db) = ws.databases.get(d)
    {
        for s in &db.properties {
            let empty = match s.kind.as_str() {
                "rich_text" | "multi_select" | "people" | "relation" | "files" => json!([]),
                "checkbox" => json!(false),
                "title" | "rollup" | "formula" | "created_time" | "last_edited_time"
                | "created_by" | "last_edited_by" => continue,
                _ => Value::Null,
            };
            initial.insert(s.id.clone(), empty);
        }
    }
    ws.pages.insert(
        id.clone(),
        NPage {
            id: id.clone(),
            parent: parent.clone(),
            props: initial,
            icon,
            cover,
            children: Vec::new(),
            created_time: now,
            created_by: c.bot_id.clone(),
            last_edited_time: now,
            last_edited_by: c.bot_id.clone(),
            in_trash: false,
        },
    );
    let others = match apply_props(&mut ws, &id, &props) {
        Ok((_, o)) => o,
        Err(e) => {
            ws.pages.remove(&id);
            return Err(e);
        }
    };
    let kids = validate::insert(&mut ws, &Parent::Page(id.clone()), children, &c.bot_id, now);
    if let Some(p) = ws.pages.get_mut(&id) {
        p.children = kids;
    }
    if let Parent::Page(pp) = &parent
        && let Some(p) = ws.pages.get_mut(pp)
    {
        p.children.push(id.clone());
    }
    touch_others(&mut ws, &sim.notion, &others, &c, now);
    let cp = change_parent(&ws, &parent);
    let v = ctx(&sim, &ws, c.version).page(&ws.pages[&id]);
    let row = super::row_source(&ws, &id);
    drop(ws);
    sim.notion
        .record("page.created", &id, "page", cp, author(&c), now, json!({}));
    sim.notion.record_row(row, &id, author(&c), now);
    ok(v)
}

/// Pages whose dual relation changed get a new edit time and a `page.properties_updated`.
fn touch_others(ws: &mut Workspace, n: &Notion, others: &[(String, String)], c: &Caller, now: i64) {
    let mut seen: Vec<&str> = Vec::new();
    for (pid, prop) in others {
        if seen.contains(&pid.as_str()) {
            continue;
        }
        seen.push(pid);
        let props: Vec<String> = others
            .iter()
            .filter(|(p, _)| p == pid)
            .map(|(_, x)| x.clone())
            .collect();
        let _ = prop;
        if let Some(p) = ws.pages.get_mut(pid) {
            p.last_edited_time = now;
            p.last_edited_by = c.bot_id.clone();
            let parent = p.parent.clone();
            n.record(
                "page.properties_updated",
                pid,
                "page",
                change_parent(ws, &parent),
                author(c),
                now,
                json!({"updated_properties": props}),
            );
        }
    }
}

pub async fn update_page(
    State(sim): S,
    Extension(c): C,
    Path(raw): Path<String>,
    body: Bytes,
) -> R {
    let b = body_object(&body)?;
    let now = sim.notion.now();
    let mut ws = sim.notion.write();
    let pid = find_page(&ws, &c, &raw)?.id.clone();
    let trash = match (b.get("in_trash"), b.get("archived")) {
        (Some(Value::Bool(x)), _) | (None, Some(Value::Bool(x))) => Some(*x),
        (None, None) | (Some(Value::Null), _) | (None, Some(Value::Null)) => None,
        (Some(o), _) | (None, Some(o)) => {
            return Err(NError::body(format_args!(
                "body.in_trash should be a boolean, instead was `{}`",
                short(o)
            )));
        }
    };
    let was_trashed = ws.pages[&pid].in_trash;
    let edits = b.contains_key("properties") || b.contains_key("icon") || b.contains_key("cover");
    if was_trashed && trash != Some(false) && edits {
        return Err(NError::archived());
    }
    let icon = match b.get("icon") {
        Some(v) => Some(icon_or_cover(&ws, v, "body.icon")?),
        None => None,
    };
    let cover = match b.get("cover") {
        Some(v) => Some(icon_or_cover(&ws, v, "body.cover")?),
        None => None,
    };
    let props = match b.get("properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(o) => {
            return Err(NError::body(format_args!(
                "body.properties should be an object, instead was `{}`",
                short(o)
            )));
        }
    };
    let (changed, others) = apply_props(&mut ws, &pid, &props)?;
    let mut events: Vec<(&str, Value)> = Vec::new();
    {
        let p = ws.pages.get_mut(&pid).expect("found");
        if let Some(i) = icon {
            p.icon = i;
        }
        if let Some(cv) = cover {
            p.cover = cv;
        }
        if edits {
            p.last_edited_time = now;
            p.last_edited_by = c.bot_id.clone();
            events.push((
                "page.properties_updated",
                json!({"updated_properties": changed}),
            ));
        }
        match trash {
            Some(true) if !p.in_trash => {
                p.in_trash = true;
                p.last_edited_time = now;
                events.push(("page.deleted", json!({})));
            }
            Some(false) if p.in_trash => {
                p.in_trash = false;
                p.last_edited_time = now;
                events.push(("page.undeleted", json!({})));
            }
            _ => {}
        }
    }
    touch_others(&mut ws, &sim.notion, &others, &c, now);
    let parent = ws.pages[&pid].parent.clone();
    let cp = change_parent(&ws, &parent);
    let v = ctx(&sim, &ws, c.version).page(&ws.pages[&pid]);
    let row = super::row_source(&ws, &pid);
    drop(ws);
    let any = !events.is_empty();
    for (e, d) in events {
        sim.notion
            .record(e, &pid, "page", cp.clone(), author(&c), now, d);
    }
    if any {
        sim.notion.record_row(row, &pid, author(&c), now);
    }
    ok(v)
}

fn payload_limit(body: &[u8]) -> Result<(), NError> {
    if body.len() > MAX_PAYLOAD {
        return Err(NError::validation(format!(
            "Request body too large: {} bytes, the limit is {MAX_PAYLOAD} bytes.",
            body.len()
        )));
    }
    Ok(())
}

// ------------------------------------------------------------------------------------- blocks

pub async fn block(State(sim): S, Extension(c): C, Path(raw): Path<String>) -> R {
    let id = path_id(&raw, "block_id")?;
    let ws = sim.notion.read();
    if !visible(&ws, &c, &id) {
        return Err(NError::not_found("block", &id));
    }
    let r = ctx(&sim, &ws, c.version);
    r.any_block(&id)
        .map(|mut v| {
            synced_has_children(&r, &mut v);
            v
        })
        .ok_or_else(|| NError::not_found("block", &id))
        .and_then(ok)
}

/// A synced block duplicate shows its original's children.
fn synced_source<'a>(ws: &'a Workspace, id: &str) -> &'a [String] {
    let Some(b) = ws.blocks.get(id) else {
        return ws
            .pages
            .get(id)
            .map(|p| p.children.as_slice())
            .unwrap_or(&[]);
    };
    if b.kind == "synced_block"
        && let Some(orig) = b.data["synced_from"]["block_id"].as_str()
        && let Some(o) = ws.blocks.get(orig)
    {
        return &o.children;
    }
    &b.children
}

fn synced_has_children(r: &Ctx, v: &mut Value) {
    if v["type"] == "synced_block" && v["synced_block"]["synced_from"].is_object() {
        let id = v["id"].as_str().unwrap_or("").to_string();
        let has = synced_source(r.ws, &id).iter().any(|c| r.live_child(c));
        v["has_children"] = json!(has);
    }
}

pub async fn block_children(
    State(sim): S,
    Extension(c): C,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> R {
    let id = path_id(&raw, "block_id")?;
    let q = query(&q);
    let size = page_size(qget(&q, "page_size").map(|s| json!(s)).as_ref(), "query")?;
    let cursor = qget(&q, "start_cursor").map(str::to_string);
    let ws = sim.notion.read();
    if !visible(&ws, &c, &id) || !(ws.blocks.contains_key(&id) || ws.pages.contains_key(&id)) {
        return Err(NError::not_found("block", &id));
    }
    let r = ctx(&sim, &ws, c.version);
    let items: Vec<(String, String)> = synced_source(&ws, &id)
        .iter()
        .filter(|k| r.live_child(k))
        .map(|k| (k.clone(), k.clone()))
        .collect();
    let (page, next) = page_by_id(items, cursor.as_deref(), size)?;
    let page: Vec<Value> = page
        .iter()
        .filter_map(|k| {
            r.any_block(k).map(|mut v| {
                synced_has_children(&r, &mut v);
                v
            })
        })
        .collect();
    ok(list(page, next, "block", json!({})))
}

/// Where a block's content belongs, for `page.content_updated`.
fn content_event(
    sim: &Sim,
    ws: &Workspace,
    c: &Caller,
    block_or_page: &str,
    blocks: Vec<Value>,
    now: i64,
) {
    if let Some(pid) = ws.page_of(block_or_page) {
        let parent = ws.pages[&pid].parent.clone();
        sim.notion.record(
            "page.content_updated",
            &pid,
            "page",
            change_parent(ws, &parent),
            author(c),
            now,
            json!({"updated_blocks": blocks}),
        );
    }
}

fn touch_page(ws: &mut Workspace, of: &str, who: &str, now: i64) {
    if let Some(pid) = ws.page_of(of)
        && let Some(p) = ws.pages.get_mut(&pid)
    {
        p.last_edited_time = now;
        p.last_edited_by = who.into();
    }
}

pub async fn append_children(
    State(sim): S,
    Extension(c): C,
    Path(raw): Path<String>,
    body: Bytes,
) -> R {
    let id = path_id(&raw, "block_id")?;
    payload_limit(&body)?;
    let b = body_object(&body)?;
    let now = sim.notion.now();
    let mut ws = sim.notion.write();
    if !visible(&ws, &c, &id) {
        return Err(NError::not_found("block", &id));
    }
    let (trashed, kind) = match (ws.blocks.get(&id), ws.pages.get(&id)) {
        (Some(bl), _) => (bl.in_trash, bl.kind.clone()),
        (None, Some(p)) => (p.in_trash, "child_page".into()),
        _ => return Err(NError::not_found("block", &id)),
    };
    if trashed {
        return Err(NError::archived());
    }
    const LEAVES: &[&str] = &[
        "divider",
        "image",
        "file",
        "pdf",
        "video",
        "audio",
        "bookmark",
        "embed",
        "equation",
        "code",
        "breadcrumb",
        "table_of_contents",
        "link_to_page",
        "table_row",
        "child_database",
    ];
    if LEAVES.contains(&kind.as_str()) {
        return Err(NError::validation(format!(
            "Block type {kind} does not support children."
        )));
    }
    let blocks = check_children(&ws, b.get("children"), "body.children", 1, &mut 0)?;
    // Where: `after` (≤ 2025-09-03) or `position` (2026-03-11 shape, accepted too).
    let after = match (b.get("after"), b.get("position")) {
        (Some(Value::String(a)), _) => Some(Some(norm_id(a).ok_or_else(|| {
            NError::body(format_args!(
                "body.after should be a valid uuid, instead was `\"{a}\"`"
            ))
        })?)),
        (_, Some(p)) => match p.get("type").and_then(Value::as_str) {
            Some("start") => Some(None),
            Some("after_block") => Some(Some(
                p["after_block"]["id"]
                    .as_str()
                    .and_then(norm_id)
                    .ok_or_else(|| {
                        NError::body("body.position.after_block.id should be a valid uuid")
                    })?,
            )),
            _ => None,
        },
        _ => None,
    };
    let siblings: Vec<String> = match ws.blocks.get(&id) {
        Some(bl) => bl.children.clone(),
        None => ws.pages[&id].children.clone(),
    };
    let at = match &after {
        None => siblings.len(),
        Some(None) => 0,
        Some(Some(a)) => {
            siblings.iter().position(|x| x == a).ok_or_else(|| {
                NError::validation(format!(
                    "Could not find block with ID: {a} among the children of {id}."
                ))
            })? + 1
        }
    };
    let parent = if ws.pages.contains_key(&id) {
        Parent::Page(id.clone())
    } else {
        Parent::Block(id.clone())
    };
    let new_ids = validate::insert(&mut ws, &parent, blocks, &c.bot_id, now);
    let mut all = siblings;
    for (i, n) in new_ids.iter().enumerate() {
        all.insert(at + i, n.clone());
    }
    match ws.blocks.get_mut(&id) {
        Some(bl) => {
            bl.children = all;
            bl.last_edited_time = now;
            bl.last_edited_by = c.bot_id.clone();
        }
        None => {
            if let Some(p) = ws.pages.get_mut(&id) {
                p.children = all;
            }
        }
    }
    touch_page(&mut ws, &id, &c.bot_id, now);
    let r = ctx(&sim, &ws, c.version);
    let results: Vec<Value> = new_ids.iter().filter_map(|i| r.any_block(i)).collect();
    let updated: Vec<Value> = new_ids
        .iter()
        .map(|i| json!({"id": i, "type": ws.blocks[i].kind}))
        .collect();
    content_event(&sim, &ws, &c, &id, updated, now);
    ok(list(results, None, "block", json!({})))
}

pub async fn update_block(
    State(sim): S,
    Extension(c): C,
    Path(raw): Path<String>,
    body: Bytes,
) -> R {
    let id = path_id(&raw, "block_id")?;
    let b = body_object(&body)?;
    let now = sim.notion.now();
    let mut ws = sim.notion.write();
    if !visible(&ws, &c, &id) {
        return Err(NError::not_found("block", &id));
    }
    let trash = match b.get("in_trash").or(b.get("archived")) {
        Some(Value::Bool(x)) => Some(*x),
        _ => None,
    };
    if ws.pages.contains_key(&id) && !ws.blocks.contains_key(&id) {
        // A child_page block: only trashing and restoring.
        let p = ws.pages.get_mut(&id).expect("checked");
        let ev = match trash {
            Some(true) if !p.in_trash => Some("page.deleted"),
            Some(false) if p.in_trash => Some("page.undeleted"),
            _ => None,
        };
        if let Some(t) = trash {
            p.in_trash = t;
        }
        let parent = p.parent.clone();
        let v = ctx(&sim, &ws, c.version).child_page_block(&ws.pages[&id]);
        if let Some(e) = ev {
            page_event(&sim, &ws, &c, e, &id, &parent, now);
        }
        return ok(v);
    }
    let bl = ws
        .blocks
        .get(&id)
        .cloned()
        .ok_or_else(|| NError::not_found("block", &id))?;
    if bl.in_trash && trash != Some(false) {
        return Err(NError::archived());
    }
    let mut data = bl.data.clone();
    if let Some(upd) = b.get(&bl.kind) {
        let Some(um) = upd.as_object() else {
            return Err(NError::body(format_args!(
                "body.{} should be an object, instead was `{}`",
                bl.kind,
                short(upd)
            )));
        };
        for k in ["rich_text", "caption"] {
            if let Some(rt) = um.get(k) {
                check_rich(rt, &format!("body.{}.{k}", bl.kind))?;
            }
        }
        if um.contains_key("table_width") {
            return Err(NError::validation("table_width cannot be updated."));
        }
        if um.contains_key("children") {
            return Err(NError::body(format_args!(
                "body.{}.children should be not present; append children instead",
                bl.kind
            )));
        }
        for (k, v) in um {
            data[k] = v.clone();
        }
        super::generator::normalize_data(&ws, &mut data);
    } else if let Some(other) = b
        .keys()
        .find(|k| !matches!(k.as_str(), "in_trash" | "archived" | "type"))
    {
        return Err(NError::validation(format!(
            "Block type cannot be changed: the block is a {}, the request updates {other}.",
            bl.kind
        )));
    }
    {
        let x = ws.blocks.get_mut(&id).expect("found");
        x.data = data;
        if let Some(t) = trash {
            x.in_trash = t;
        }
        x.last_edited_time = now;
        x.last_edited_by = c.bot_id.clone();
    }
    touch_page(&mut ws, &id, &c.bot_id, now);
    let v = ctx(&sim, &ws, c.version).block(&ws.blocks[&id]);
    content_event(
        &sim,
        &ws,
        &c,
        &id,
        vec![json!({"id": id, "type": bl.kind})],
        now,
    );
    ok(v)
}

pub async fn delete_block(State(sim): S, Extension(c): C, Path(raw): Path<String>) -> R {
    let id = path_id(&raw, "block_id")?;
    let now = sim.notion.now();
    let mut ws = sim.notion.write();
    if !visible(&ws, &c, &id) {
        return Err(NError::not_found("block", &id));
    }
    if let Some(p) = ws.pages.get_mut(&id) {
        let first = !p.in_trash;
        p.in_trash = true;
        let parent = p.parent.clone();
        let v = ctx(&sim, &ws, c.version).child_page_block(&ws.pages[&id]);
        if first {
            page_event(&sim, &ws, &c, "page.deleted", &id, &parent, now);
        }
        return ok(v);
    }
    let bl = ws
        .blocks
        .get_mut(&id)
        .ok_or_else(|| NError::not_found("block", &id))?;
    if bl.in_trash {
        return Err(NError::archived());
    }
    bl.in_trash = true;
    bl.last_edited_time = now;
    bl.last_edited_by = c.bot_id.clone();
    let kind = bl.kind.clone();
    touch_page(&mut ws, &id, &c.bot_id, now);
    let v = ctx(&sim, &ws, c.version).block(&ws.blocks[&id]);
    content_event(
        &sim,
        &ws,
        &c,
        &id,
        vec![json!({"id": id, "type": kind})],
        now,
    );
    ok(v)
}

// ----------------------------------------------------------------- databases and data sources

pub async fn database(State(sim): S, Extension(c): C, Path(raw): Path<String>) -> R {
    let id = path_id(&raw, "database_id")?;
    let ws = sim.notion.read();
    let d = ws
        .databases
        .get(&id)
        .filter(|d| visible(&ws, &c, &d.id))
        .ok_or_else(|| NError::not_found("database", &id))?;
    ok(ctx(&sim, &ws, c.version).database(d))
}

pub async fn data_source(State(sim): S, Extension(c): C, Path(raw): Path<String>) -> R {
    if c.version == Version::V2022 {
        return Err(NError::invalid_url());
    }
    let id = path_id(&raw, "data_source_id")?;
    let ws = sim.notion.read();
    let d = ws
        .database_of_source(&id)
        .filter(|d| visible(&ws, &c, &d.id))
        .ok_or_else(|| NError::not_found("data source", &id))?;
    ok(ctx(&sim, &ws, c.version).data_source(d))
}

pub async fn query_database(
    State(sim): S,
    Extension(c): C,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> R {
    if c.version == Version::V2025 {
        return Err(NError::invalid_url());
    }
    let id = path_id(&raw, "database_id")?;
    run_query(&sim, &c, Some(id), None, q, &body)
}

pub async fn query_data_source(
    State(sim): S,
    Extension(c): C,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> R {
    if c.version == Version::V2022 {
        return Err(NError::invalid_url());
    }
    let id = path_id(&raw, "data_source_id")?;
    run_query(&sim, &c, None, Some(id), q, &body)
}

fn run_query(
    sim: &Sim,
    c: &Caller,
    db: Option<String>,
    ds: Option<String>,
    q: Option<String>,
    body: &[u8],
) -> R {
    let b = body_object(body)?;
    let qs = query(&q);
    let only: Vec<&str> = qs
        .iter()
        .filter(|(k, _)| k == "filter_properties" || k == "filter_properties[]")
        .map(|(_, v)| v.as_str())
        .collect();
    let ws = sim.notion.read();
    let d = match (&db, &ds) {
        (Some(id), _) => ws
            .databases
            .get(id)
            .ok_or_else(|| NError::not_found("database", id))?,
        (_, Some(id)) => ws
            .database_of_source(id)
            .ok_or_else(|| NError::not_found("data source", id))?,
        _ => return Err(NError::invalid_url()),
    };
    if !visible(&ws, c, &d.id) {
        return Err(match db {
            Some(id) => NError::not_found("database", &id),
            None => NError::not_found("data source", ds.as_deref().unwrap_or("")),
        });
    }
    let filter = match b.get("filter") {
        None | Some(Value::Null) => None,
        Some(f) => Some(super::query::compile(d, f, "body.filter", 0)?),
    };
    let sorts = super::query::sorts(d, b.get("sorts"))?;
    let size = page_size(b.get("page_size"), "body")?;
    let cursor = start_cursor(b.get("start_cursor"), "body")?;
    let r = ctx(sim, &ws, c.version);
    let in_trash = b.get("in_trash") == Some(&json!(true));
    let mut rows: Vec<&NPage> = ws
        .pages
        .values()
        .filter(|p| p.parent == Parent::Database(d.id.clone()) && p.in_trash == in_trash)
        .filter(|p| {
            filter
                .as_ref()
                .is_none_or(|f| super::query::eval(&r, p, d, f))
        })
        .collect();
    super::query::sort_rows(&r, d, &sorts, &mut rows);
    let items: Vec<(String, &NPage)> = rows.into_iter().map(|p| (p.id.clone(), p)).collect();
    let (page, next) = page_by_id(items, cursor.as_deref(), size)?;
    let page: Vec<Value> = page
        .into_iter()
        .map(|p| {
            let mut v = r.page(p);
            if !only.is_empty()
                && let Some(props) = v.get_mut("properties").and_then(Value::as_object_mut)
            {
                props.retain(|_, x| only.contains(&x["id"].as_str().unwrap_or("")));
            }
            v
        })
        .collect();
    let ty = match c.version {
        Version::V2022 => "page_or_database",
        Version::V2025 => "page_or_data_source",
    };
    ok(list(page, next, ty, json!({})))
}

// ----------------------------------------------------------------------------------- comments

pub async fn comments(State(sim): S, Extension(c): C, RawQuery(q): RawQuery) -> R {
    let q = query(&q);
    let raw = qget(&q, "block_id").ok_or_else(|| {
        NError::validation(
            "query failed validation: query.block_id should be defined, instead was `undefined`.",
        )
    })?;
    let id = path_id(raw, "block_id")?;
    let size = page_size(qget(&q, "page_size").map(|s| json!(s)).as_ref(), "query")?;
    let cursor = qget(&q, "start_cursor").map(str::to_string);
    let ws = sim.notion.read();
    if !visible(&ws, &c, &id) || !(ws.pages.contains_key(&id) || ws.blocks.contains_key(&id)) {
        return Err(NError::not_found("block", &id));
    }
    let r = ctx(&sim, &ws, c.version);
    let mut cs: Vec<&NComment> = ws
        .comments
        .values()
        .filter(|x| x.parent.id() == Some(id.as_str()))
        .collect();
    cs.sort_by(|a, b| a.created_time.cmp(&b.created_time).then(a.id.cmp(&b.id)));
    let items: Vec<(String, Value)> = cs.iter().map(|x| (x.id.clone(), r.comment(x))).collect();
    let (page, next) = page_by_id(items, cursor.as_deref(), size)?;
    ok(list(page, next, "comment", json!({})))
}

pub async fn create_comment(State(sim): S, Extension(c): C, body: Bytes) -> R {
    let b = body_object(&body)?;
    let rt = b
        .get("rich_text")
        .ok_or_else(|| NError::body("body.rich_text should be defined, instead was `undefined`"))?;
    check_rich(rt, "body.rich_text")?;
    let now = sim.notion.now();
    let mut ws = sim.notion.write();
    let (parent, discussion) = if let Some(d) = b.get("discussion_id").and_then(Value::as_str) {
        let d =
            norm_id(d).ok_or_else(|| NError::body("body.discussion_id should be a valid uuid"))?;
        let first = ws
            .comments
            .values()
            .find(|x| x.discussion_id == d)
            .ok_or_else(|| NError::not_found("discussion", &d))?;
        (first.parent.clone(), d)
    } else {
        let p = b.get("parent").ok_or_else(|| {
            NError::body("body.parent should be defined, instead was `undefined`")
        })?;
        let (key, what) = if p.get("page_id").is_some() {
            ("page_id", "page")
        } else {
            ("block_id", "block")
        };
        let id = p
            .get(key)
            .and_then(Value::as_str)
            .and_then(norm_id)
            .ok_or_else(|| {
                NError::body(format_args!(
                    "body.parent.{key} should be a valid uuid, instead was `{}`",
                    short(p)
                ))
            })?;
        let exists = if what == "page" {
            ws.pages.contains_key(&id)
        } else {
            ws.blocks.contains_key(&id)
        };
        if !exists || !visible(&ws, &c, &id) {
            return Err(NError::not_found(what, &id));
        }
        let parent = if what == "page" {
            Parent::Page(id)
        } else {
            Parent::Block(id)
        };
        (parent, ws.new_id())
    };
    let id = ws.new_id();
    let rich: Vec<Value> = rt
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| normalize_rich(&ws, x))
        .collect();
    let cm = NComment {
        id: id.clone(),
        discussion_id: discussion,
        parent: parent.clone(),
        rich_text: rich,
        created_time: now,
        created_by: c.bot_id.clone(),
    };
    ws.comments.insert(id.clone(), cm);
    let v = ctx(&sim, &ws, c.version).comment(&ws.comments[&id]);
    let page_id = ws.page_of(parent.id().unwrap_or(""));
    let cp = match &parent {
        Parent::Page(p) => json!({"id": p, "type": "page"}),
        other => json!({"id": other.id(), "type": "block"}),
    };
    drop(ws);
    sim.notion.record(
        "comment.created",
        &id,
        "comment",
        Some(cp.clone()),
        author(&c),
        now,
        json!({"page_id": page_id, "parent": cp}),
    );
    ok(v)
}

// ------------------------------------------------------------------------------- file uploads

pub const MAX_UPLOAD: u64 = 20 * 1024 * 1024;

pub async fn create_upload(State(sim): S, Extension(c): C, body: Bytes) -> R {
    let b = body_object(&body)?;
    match b.get("mode").and_then(Value::as_str) {
        None | Some("single_part") => {}
        Some(m) => {
            return Err(NError::validation(format!(
                "File upload mode `{m}` is not supported by the twin (single_part only)."
            )));
        }
    }
    let filename = b
        .get("filename")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(f) = &filename
        && f.len() > 900
    {
        return Err(NError::body(format_args!(
            "body.filename.length should be ≤ `900`, instead was `{}`",
            f.len()
        )));
    }
    let now = sim.notion.now();
    let exp_base = sim.notion.expiry_now_ms();
    let mut ws = sim.notion.write();
    let id = ws.new_id();
    ws.uploads.insert(
        id.clone(),
        NUpload {
            id: id.clone(),
            filename,
            content_type: b
                .get("content_type")
                .and_then(Value::as_str)
                .map(str::to_string),
            status: "pending".into(),
            content_length: None,
            file_id: None,
            created_by: c.bot_id.clone(),
            created_time: now,
            expiry_time: exp_base + 3_600_000,
        },
    );
    let v = ctx(&sim, &ws, c.version).upload(&ws.uploads[&id]);
    drop(ws);
    sim.notion.record(
        "file_upload.created",
        &id,
        "file_upload",
        None,
        author(&c),
        now,
        json!({}),
    );
    ok(v)
}

pub async fn upload(State(sim): S, Extension(c): C, Path(raw): Path<String>) -> R {
    let id = path_id(&raw, "file_upload_id")?;
    let ws = sim.notion.read();
    let u = ws
        .uploads
        .get(&id)
        .ok_or_else(|| NError::not_found("file upload", &id))?;
    let mut u = u.clone();
    if u.status == "pending" && sim.notion.expiry_now_ms() > u.expiry_time {
        u.status = "expired".into();
    }
    ok(ctx(&sim, &ws, c.version).upload(&u))
}

pub async fn send_upload(
    State(sim): S,
    Extension(c): C,
    Path(raw): Path<String>,
    mut mp: Multipart,
) -> R {
    let id = path_id(&raw, "file_upload_id")?;
    {
        let ws = sim.notion.read();
        let u = ws
            .uploads
            .get(&id)
            .ok_or_else(|| NError::not_found("file upload", &id))?;
        if u.status != "pending" {
            return Err(NError::validation(format!(
                "File upload with ID: {id} is in status `{}`; only pending uploads take content.",
                u.status
            )));
        }
        if sim.notion.expiry_now_ms() > u.expiry_time {
            return Err(NError::validation(format!(
                "File upload with ID: {id} has expired."
            )));
        }
    }
    let mut got: Option<(String, String, Vec<u8>)> = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(NError::validation(format!(
                    "Could not read the multipart body: {e}"
                )));
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("file").to_string();
        let ct = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_string();
        let data = field
            .bytes()
            .await
            .map_err(|e| NError::validation(format!("Could not read the file part: {e}")))?;
        got = Some((name, ct, data.to_vec()));
    }
    let (name, ct, data) = got.ok_or_else(|| {
        NError::validation(
            "body failed validation: body.file should be defined, instead was `undefined`.",
        )
    })?;
    if data.len() as u64 > MAX_UPLOAD {
        return Err(NError::validation(format!(
            "The file is {} bytes; single-part uploads take at most {MAX_UPLOAD} bytes (20 MB).",
            data.len()
        )));
    }
    let now = sim.notion.now();
    let mut ws = sim.notion.write();
    let fid = ws.new_id();
    let upload = ws
        .uploads
        .get(&id)
        .cloned()
        .ok_or_else(|| NError::not_found("file upload", &id))?;
    let fname = upload.filename.clone().unwrap_or(name);
    let ctype = upload.content_type.clone().unwrap_or(ct);
    let len = data.len() as u64;
    ws.files.insert(
        fid.clone(),
        NFile {
            id: fid.clone(),
            name: fname.clone(),
            content_type: ctype.clone(),
            bytes: crate::model::Bytes(Arc::from(data.into_boxed_slice())),
        },
    );
    let u = ws.uploads.get_mut(&id).expect("found");
    u.status = "uploaded".into();
    u.file_id = Some(fid);
    u.filename = Some(fname);
    u.content_type = Some(ctype);
    u.content_length = Some(len);
    let v = ctx(&sim, &ws, c.version).upload(&ws.uploads[&id]);
    drop(ws);
    sim.notion.record(
        "file_upload.completed",
        &id,
        "file_upload",
        None,
        author(&c),
        now,
        json!({}),
    );
    ok(v)
}

fn s3_error(code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut r = (StatusCode::FORBIDDEN, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    r
}

/// `GET /__files/{id}/{name}?expires=&sig=`: a hosted file, while its signed URL is valid.
pub async fn download(
    State(sim): S,
    Path((id, _name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = query(&q);
    let Some(exp) = qget(&q, "expires").and_then(|e| e.parse::<i64>().ok()) else {
        return s3_error(
            "AccessDenied",
            "Query-string authentication requires the expires and sig parameters",
        );
    };
    let sig = qget(&q, "sig").unwrap_or("");
    let want = sim.notion.sign(&id, exp);
    if want.len() != sig.len()
        || want
            .bytes()
            .zip(sig.bytes())
            .fold(0u8, |a, (x, y)| a | (x ^ y))
            != 0
    {
        return s3_error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    }
    if sim.notion.expiry_now_ms() / 1000 > exp {
        return s3_error("AccessDenied", "Request has expired");
    }
    let ws = sim.notion.read();
    let Some(f) = ws.files.get(&id) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mut r = (StatusCode::OK, f.bytes.0.to_vec()).into_response();
    if let Ok(h) = HeaderValue::from_str(&f.content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, h);
    }
    r
}

/// Sorting helper for query results: `None` sorts last both ways.
pub fn cmp_opt<T: PartialOrd>(a: &Option<T>, b: &Option<T>, asc: bool) -> Ord_ {
    match (a, b) {
        (None, None) => Ord_::Equal,
        (None, Some(_)) => Ord_::Greater,
        (Some(_), None) => Ord_::Less,
        (Some(x), Some(y)) => {
            let o = x.partial_cmp(y).unwrap_or(Ord_::Equal);
            if asc { o } else { o.reverse() }
        }
    }
}
