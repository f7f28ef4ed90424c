//! REST v2 custom content reads: `/custom-content` (by app type), `/custom-content/{id}` and
//! its `labels`, `properties` and `versions`, and the per-container lists under spaces, pages
//! and blog posts. Custom content is visible when its container is (page restrictions apply
//! through it); bodies are served in `storage` only, `raw` and `atlas_doc_format` are a 501.

use axum::extract::Path;
use axum::response::Response;
use serde_json::{Value, json};

use super::Data;
use super::api::*;
use super::render::{self, sid};
use super::v2::{find, included, kind_of, label_list, sort};
use crate::model::*;
use crate::time::iso;

type R = Result<Response, ApiError>;

const SORTS: &[&str] = &["id", "created-date", "modified-date", "title"];
const BODY_FORMATS: &[&str] = &["raw", "storage", "atlas_doc_format"];
const SINGLE_FORMATS: &[&str] = &[
    "raw",
    "storage",
    "atlas_doc_format",
    "view",
    "export_view",
    "anonymous_export_view",
];

/// Whether `caller` may see custom content `cc`: its container chain must be visible.
pub fn visible(data: &Data, hidden: &super::Hidden, cc: &CustomContent) -> bool {
    let mut cur = cc.container_id;
    let mut hops = 0;
    while let Some(id) = cur {
        if let Some(parent) = data.d.custom_contents.get(&id) {
            cur = parent.container_id;
        } else {
            return data.d.contents.contains_key(&id)
                && data.d.contents[&id].status != Status::Deleted
                && hidden.sees(id);
        }
        hops += 1;
        if hops > 1000 {
            return false;
        }
    }
    true
}

fn webui(d: &Dataset, cc: &CustomContent) -> String {
    let key = d.space(cc.space_id).map(|s| s.key.as_str()).unwrap_or("");
    format!("/spaces/{key}/customcontent/{}", cc.id)
}

/// `CustomContentBulk` (and the common part of `CustomContentSingle`) at version `v`.
pub fn out(d: &Dataset, cc: &CustomContent, v: &Version, fmt: Option<BodyFormat>) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), sid(cc.id));
    m.insert("type".into(), json!(cc.kind));
    let status = if v.number == cc.current().number {
        cc.status.as_str()
    } else {
        "historical"
    };
    m.insert("status".into(), json!(status));
    m.insert("title".into(), json!(v.title));
    m.insert("spaceId".into(), sid(cc.space_id));
    if let Some(c) = cc.container_id {
        let key = if d.custom_contents.contains_key(&c) {
            "customContentId"
        } else if d
            .contents
            .get(&c)
            .is_some_and(|x| x.kind == ContentKind::Blogpost)
        {
            "blogPostId"
        } else {
            "pageId"
        };
        m.insert(key.into(), sid(c));
    }
    m.insert("authorId".into(), json!(cc.author_id));
    m.insert("createdAt".into(), json!(iso(cc.created_at)));
    m.insert("version".into(), render::version(v));
    m.insert(
        "body".into(),
        render::body(
            v.body.as_str(),
            fmt,
            super::view::ViewCtx {
                d,
                container: None,
                absolute: None,
            },
        ),
    );
    m.insert("_links".into(), json!({"webui": webui(d, cc)}));
    Value::Object(m)
}

/// The app type asked for: required, as on Cloud (400 without it).
fn type_param(q: &Query) -> Result<String, ApiError> {
    q.get("type")
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::bad_request(
                "The 'type' query parameter is required: the custom content type of an app, e.g. ac:com.example.app:diagram",
            )
        })
}

/// Where a listing takes its candidates from.
enum Scope {
    All,
    Space(u64),
    Container(u64),
}

fn list(ctx: &Ctx, scope: Scope) -> R {
    let q = &ctx.q;
    let kind = type_param(q)?;
    let limit = q.limit(25, 250)?;
    let ids = q.ids("id")?;
    let space_ids = q.ids("space-id")?;
    let fmt = body_format(q, "body-format", BODY_FORMATS)?;
    let (field, desc) = sort(q, SORTS, "id")?;
    let data = ctx.conf().read();
    let d = &data.d;
    match scope {
        Scope::Space(s) if d.space(s).is_none() => return Err(ApiError::not_found()),
        Scope::Container(c) => {
            find(&data, ctx, c, kind_of(&ctx.path))?;
        }
        _ => {}
    }
    let hidden = data.hidden(&ctx.caller);
    let mut items = Vec::new();
    for cc in d.custom_contents.values() {
        let in_scope = match scope {
            Scope::All => true,
            Scope::Space(s) => cc.space_id == s,
            Scope::Container(c) => cc.container_id == Some(c),
        };
        if !in_scope
            || cc.kind != kind
            || cc.status != Status::Current
            || (!ids.is_empty() && !ids.contains(&cc.id))
            || (!space_ids.is_empty() && !space_ids.contains(&cc.space_id))
            || !visible(&data, &hidden, cc)
        {
            continue;
        }
        let key = match field.as_str() {
            "created-date" => SortVal::I(cc.created_at),
            "modified-date" => SortVal::I(cc.current().created_at),
            "title" => SortVal::S(cc.title.clone()),
            _ => SortVal::I(cc.id as i64),
        };
        items.push(((key, cc.id), cc));
    }
    let (page, next) = ctx.paginate(items, desc, limit)?;
    let results = page
        .into_iter()
        .map(|cc| out(d, cc, cc.current(), fmt))
        .collect();
    ctx.list(results, next, limit)
}

pub async fn all(ctx: Ctx) -> R {
    list(&ctx, Scope::All)
}

pub async fn of_space(ctx: Ctx, Path(id): Path<String>) -> R {
    let id = path_id(&id)?;
    list(&ctx, Scope::Space(id))
}

pub async fn of_content(ctx: Ctx, Path(id): Path<String>) -> R {
    let id = path_id(&id)?;
    list(&ctx, Scope::Container(id))
}

/// Custom content the caller can see, by path id, or a 404.
fn find_custom<'a>(data: &'a Data, ctx: &Ctx, id: &str) -> Result<&'a CustomContent, ApiError> {
    let id = path_id(id)?;
    let hidden = data.hidden(&ctx.caller);
    data.d
        .custom_contents
        .get(&id)
        .filter(|cc| cc.status != Status::Deleted && visible(data, &hidden, cc))
        .ok_or_else(ApiError::not_found)
}

pub async fn single(ctx: Ctx, Path(id): Path<String>) -> R {
    let q = &ctx.q;
    let fmt = body_format(q, "body-format", SINGLE_FORMATS)?;
    let version = q.int("version")?;
    let include_labels = q.bool("include-labels", false)?;
    let include_properties = q.bool("include-properties", false)?;
    let include_versions = q.bool("include-versions", false)?;
    let include_version = q.bool("include-version", true)?;
    for f in ["include-operations", "include-collaborators"] {
        q.bool(f, false)?;
    }
    let data = ctx.conf().read();
    let d = &data.d;
    let cc = find_custom(&data, &ctx, &id)?;
    let v = match version {
        Some(n) => cc
            .versions
            .iter()
            .find(|v| v.number as i64 == n)
            .ok_or_else(ApiError::not_found)?,
        None => cc.current(),
    };
    let mut o = out(d, cc, v, fmt);
    if !include_version && let Some(m) = o.as_object_mut() {
        m.remove("version");
    }
    if include_labels {
        let ls = cc
            .labels
            .iter()
            .filter_map(|l| d.labels.get(l))
            .map(render::label)
            .collect();
        o["labels"] = included(ls, format!("/wiki/api/v2/custom-content/{}/labels", cc.id));
    }
    if include_properties {
        let ps = cc.properties.iter().map(render::property).collect();
        o["properties"] = included(
            ps,
            format!("/wiki/api/v2/custom-content/{}/properties", cc.id),
        );
    }
    if include_versions {
        let vs = cc.versions.iter().rev().map(render::version).collect();
        o["versions"] = included(
            vs,
            format!("/wiki/api/v2/custom-content/{}/versions", cc.id),
        );
    }
    o["_links"]["base"] = json!(ctx.base);
    ok(o)
}

pub async fn labels(ctx: Ctx, Path(id): Path<String>) -> R {
    let data = ctx.conf().read();
    let cc = find_custom(&data, &ctx, &id)?;
    label_list(&ctx, cc.labels.clone(), &data.d)
}

pub async fn properties(ctx: Ctx, Path(id): Path<String>) -> R {
    let limit = ctx.q.limit(25, 250)?;
    let key = ctx.q.get("key").map(str::to_string);
    let (_, desc) = sort(&ctx.q, &["key"], "key")?;
    let data = ctx.conf().read();
    let cc = find_custom(&data, &ctx, &id)?;
    let items = cc
        .properties
        .iter()
        .filter(|p| key.as_ref().is_none_or(|k| *k == p.key))
        .map(|p| ((SortVal::S(p.key.clone()), p.id), p))
        .collect();
    let (page, next) = ctx.paginate(items, desc, limit)?;
    ctx.list(
        page.into_iter().map(render::property).collect(),
        next,
        limit,
    )
}

pub async fn versions(ctx: Ctx, Path(id): Path<String>) -> R {
    let limit = ctx.q.limit(25, 250)?;
    let fmt = body_format(&ctx.q, "body-format", BODY_FORMATS)?;
    let (_, desc) = sort(&ctx.q, &["modified-date"], "-modified-date")?;
    let data = ctx.conf().read();
    let cc = find_custom(&data, &ctx, &id)?;
    let items = cc
        .versions
        .iter()
        .map(|v| ((SortVal::I(v.number as i64), cc.id), v))
        .collect();
    let (page, next) = ctx.paginate(items, desc, limit)?;
    let results = page
        .into_iter()
        .map(|v| {
            let mut entity = json!({"id": sid(cc.id), "title": v.title});
            if fmt.is_some() {
                entity["body"] = render::body(
                    v.body.as_str(),
                    fmt,
                    super::view::ViewCtx {
                        d: &data.d,
                        container: None,
                        absolute: None,
                    },
                );
            }
            let mut o = render::version(v);
            o["custom"] = entity;
            o
        })
        .collect();
    ctx.list(results, next, limit)
}

pub async fn version(ctx: Ctx, Path((id, n)): Path<(String, String)>) -> R {
    let n = path_id(&n)?;
    let data = ctx.conf().read();
    let cc = find_custom(&data, &ctx, &id)?;
    let v = cc
        .versions
        .iter()
        .find(|v| v.number as u64 == n)
        .ok_or_else(ApiError::not_found)?;
    ok(render::detailed_version_of(cc.current().number, v))
}
