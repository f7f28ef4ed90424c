//! The REST v1 endpoints kbridge still needs on Cloud (`/wiki/rest/api/…`): CQL content search
//! with `expand`, groups and members, users, content restrictions, labels (add/remove), page
//! move, attachment upload (multipart, XSRF header required) and download.
//!
//! v1 pages with offsets: `start`/`limit`, and `_links.next` is relative to `_links.base`
//! (`/rest/api/…`, without `/wiki`), unlike v2's `next`, which already includes `/wiki`.

use axum::body::{Body, Bytes};
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::api::*;
use super::events::{self, Action};
use super::render::{self, att_id, sid};
use super::view::{self, ViewCtx};
use super::write::{no_content, would_loop};
use super::{Data, admits};
use crate::model::*;
use crate::time::iso;

type R = Result<Response, ApiError>;

fn v1<T>(r: Result<T, ApiError>) -> Result<T, ApiError> {
    r.map_err(|e| e.v1())
}

/// v1 offset parameters: `start` ≥ 0 and `limit` (silently capped at `max`, as Cloud does).
pub(super) fn offsets(q: &Query, default: usize, max: usize) -> Result<(usize, usize), ApiError> {
    let start = match q.int("start").map_err(ApiError::v1)? {
        None => 0,
        Some(n) if n >= 0 => n as usize,
        Some(n) => {
            return Err(ApiError::bad_request(format!("start must be 0 or more, was {n}")).v1());
        }
    };
    let limit = match q.int("limit").map_err(ApiError::v1)? {
        None => default,
        Some(n) if n >= 0 => (n as usize).min(max),
        Some(n) => {
            return Err(ApiError::bad_request(format!("limit must be 0 or more, was {n}")).v1());
        }
    };
    Ok((start, limit))
}

/// A v1 list: `{results, start, limit, size, _links {base, context, self, next?}}`.
fn v1_list(
    ctx: &Ctx,
    results: Vec<Value>,
    start: usize,
    limit: usize,
    more: bool,
    extra: Map<String, Value>,
) -> R {
    v1_list_cursor(ctx, results, start, limit, more, extra, None)
}

/// One offset page (`start`, `limit`) of `all`, each item rendered by `render`, as a v1 list.
pub(super) fn v1_page<T>(
    ctx: &Ctx,
    all: &[T],
    start: usize,
    limit: usize,
    extra: Map<String, Value>,
    render: impl FnMut(&T) -> Result<Value, ApiError>,
) -> R {
    let results = all
        .iter()
        .skip(start)
        .take(limit)
        .map(render)
        .collect::<Result<Vec<_>, _>>()?;
    let more = start + results.len() < all.len() && limit > 0;
    v1_list(ctx, results, start, limit, more, extra)
}

/// [`v1_list`] whose `next` link also carries `next=true&cursor=…` (Cloud's search links).
fn v1_list_cursor(
    ctx: &Ctx,
    results: Vec<Value>,
    start: usize,
    limit: usize,
    more: bool,
    extra: Map<String, Value>,
    cursor: Option<String>,
) -> R {
    ok(v1_list_value(
        ctx, results, start, limit, more, extra, cursor,
    )?)
}

/// The body of [`v1_list_cursor`].
fn v1_list_value(
    ctx: &Ctx,
    results: Vec<Value>,
    start: usize,
    limit: usize,
    more: bool,
    extra: Map<String, Value>,
    cursor: Option<String>,
) -> Result<Value, ApiError> {
    let rel = ctx
        .path
        .strip_prefix("/wiki")
        .unwrap_or(&ctx.path)
        .to_string();
    let self_q: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(ctx.q.pairs.iter())
        .finish();
    let mut links = json!({
        "base": ctx.base,
        "context": "/wiki",
        "self": if self_q.is_empty() { format!("{}{rel}", ctx.base) } else { format!("{}{rel}?{self_q}", ctx.base) },
    });
    if more {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        if let Some(c) = &cursor {
            ser.append_pair("next", "true");
            ser.append_pair("cursor", c);
        }
        for (k, v) in &ctx.q.pairs {
            if !matches!(k.as_str(), "start" | "limit" | "cursor" | "next") {
                ser.append_pair(k, v);
            }
        }
        ser.append_pair("limit", &limit.to_string());
        ser.append_pair("start", &(start + limit).to_string());
        links["next"] = json!(format!("{rel}?{}", ser.finish()));
    }
    let mut out =
        json!({"results": results, "start": start, "limit": limit, "size": results.len()});
    for (k, v) in extra {
        out[k] = v;
    }
    out["_links"] = links;
    Ok(out)
}

/// [`v1_list_cursor`] with results already serialized (cached renderings), spliced in.
#[allow(clippy::too_many_arguments)]
fn v1_list_cursor_raw(
    ctx: &Ctx,
    raw: Vec<std::sync::Arc<str>>,
    start: usize,
    limit: usize,
    more: bool,
    extra: Map<String, Value>,
    cursor: Option<String>,
) -> R {
    let n = raw.len();
    let mut v = v1_list_value(ctx, Vec::new(), start, limit, more, extra, cursor)?;
    v["size"] = json!(n);
    let body = serde_json::to_string(&v).unwrap_or_default();
    let head = "{\"results\":[]";
    let Some(rest) = body.strip_prefix(head) else {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "kbridge sim: could not assemble a search answer",
        )
        .v1());
    };
    let mut out =
        String::with_capacity(body.len() + raw.iter().map(|r| r.len() + 1).sum::<usize>());
    out.push_str("{\"results\":[");
    for (i, r) in raw.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r);
    }
    out.push(']');
    out.push_str(rest);
    let mut resp = Response::new(Body::from(out));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    Ok(resp)
}

pub fn user_v1(d: &Dataset, account_id: &str, base: &str) -> Value {
    let name = d
        .user(account_id)
        .map(|u| u.display_name.clone())
        .unwrap_or_else(|| "Unknown user".into());
    json!({
        "type": "known",
        "accountId": account_id,
        "accountType": "atlassian",
        "email": "",
        "publicName": name,
        "profilePicture": {"path": format!("/wiki/aa-avatar/{account_id}"), "width": 48, "height": 48, "isDefault": true},
        "displayName": name,
        "isExternalCollaborator": false,
        "_expandable": {"operations": "", "personalSpace": ""},
        "_links": {"self": format!("{base}/rest/api/user?accountId={account_id}")},
    })
}

fn group_v1(g: &Group, base: &str) -> Value {
    json!({"type": "group", "name": g.name, "id": g.id, "_links": {"self": format!("{base}/rest/api/group/by-id?id={}", g.id)}})
}

#[allow(clippy::too_many_arguments)]
pub(super) fn version_v1(
    d: &Dataset,
    id: &str,
    v_number: u32,
    author: &str,
    at: i64,
    message: &str,
    minor: bool,
    base: &str,
) -> Value {
    json!({
        "by": user_v1(d, author, base),
        "when": iso(at),
        "friendlyWhen": iso(at),
        "message": message,
        "number": v_number,
        "minorEdit": minor,
        "contentTypeModified": false,
        "_expandable": {"collaborators": "", "content": format!("/rest/api/content/{id}")},
        "_links": {"self": format!("{base}/rest/api/content/{id}/version/{v_number}")},
    })
}

/// The `expand` parameter, as a set of dotted paths.
pub(super) struct Expand(pub(super) Vec<String>);

impl Expand {
    pub(super) fn parse(q: &Query) -> Expand {
        Expand(q.list("expand"))
    }
    pub(super) fn has(&self, p: &str) -> bool {
        self.0
            .iter()
            .any(|e| e == p || e.starts_with(&format!("{p}.")))
    }
}

fn space_v1(s: &Space, base: &str) -> Value {
    json!({
        "id": s.id,
        "key": s.key,
        "name": s.name,
        "type": s.kind,
        "status": s.status.as_str(),
        "_expandable": {"settings": "", "metadata": "", "operations": "", "lookAndFeel": "", "identifiers": "", "permissions": "", "icon": "", "description": "", "theme": "", "history": "", "homepage": ""},
        "_links": {"webui": format!("/spaces/{}", s.key), "self": format!("{base}/rest/api/space/{}", s.key)},
    })
}

pub(super) fn restriction_v1(d: &Dataset, id: u64, op: &str, s: &Subjects, base: &str) -> Value {
    let users: Vec<Value> = s.users.iter().map(|u| user_v1(d, u, base)).collect();
    let groups: Vec<Value> = s
        .groups
        .iter()
        .filter_map(|g| d.groups.iter().find(|x| x.id == *g))
        .map(|g| group_v1(g, base))
        .collect();
    json!({
        "operation": op,
        "restrictions": {
            "user": {"results": users, "start": 0, "limit": 100, "size": users.len()},
            "group": {"results": groups, "start": 0, "limit": 100, "size": groups.len()},
        },
        "_expandable": {"content": format!("/rest/api/content/{id}")},
        "_links": {"self": format!("{base}/rest/api/content/{id}/restriction/byOperation/{op}")},
    })
}

fn labels_v1(d: &Dataset, ids: &[u64]) -> Vec<Value> {
    ids.iter()
        .filter_map(|l| d.labels.get(l))
        .map(|l| json!({"prefix": l.prefix, "name": l.name, "id": sid(l.id), "label": l.name}))
        .collect()
}

/// A page or blog post as a v1 `Content`, with what `expand` asks for.
/// The v1 `body` of an expansion: each representation asked for (`body.storage`, `body.view`,
/// `body.export_view`, `body.anonymous_export_view`, `body.styled_view`; `body` alone is the
/// storage, as the twin always answered), the others left in `_expandable`. `editor`,
/// `atlas_doc_format` and `dynamic` are a 501.
/// The representations `body_v1` serves; any other `body.*` expansion is a 501.
const V1_BODIES: &[&str] = &[
    "storage",
    "view",
    "styled_view",
    "export_view",
    "anonymous_export_view",
];

/// A 501 for a `body.*` expansion the twin does not render (checked before a listing renders).
pub(super) fn check_body_expand(ex: &Expand) -> Result<(), ApiError> {
    for e in &ex.0 {
        if let Some(rest) = e.strip_prefix("body.") {
            let repr = rest.split('.').next().unwrap_or("");
            if !V1_BODIES.contains(&repr) {
                return Err(ApiError::not_implemented(format!(
                    "kbridge sim: expand=body.{repr} is not implemented by the twin yet; use body.storage, body.view or body.export_view"
                ))
                .v1());
            }
        }
    }
    Ok(())
}

pub(super) fn body_v1(
    storage: &str,
    ex: &Expand,
    ctx: ViewCtx,
    base: &str,
    id: u64,
) -> Result<Value, ApiError> {
    let mut body = Map::new();
    let mut asked = Vec::new();
    for e in &ex.0 {
        let Some(rest) = e.strip_prefix("body") else {
            continue;
        };
        let repr = rest.trim_start_matches('.').split('.').next().unwrap_or("");
        let repr = if repr.is_empty() { "storage" } else { repr };
        if !asked.contains(&repr) {
            asked.push(repr);
        }
    }
    for repr in asked {
        let value = match repr {
            "storage" => storage.to_string(),
            "view" | "styled_view" => view::render(storage, ctx),
            "export_view" | "anonymous_export_view" => view::render(
                storage,
                ViewCtx {
                    absolute: Some(base),
                    ..ctx
                },
            ),
            _ => {
                check_body_expand(ex)?;
                continue;
            }
        };
        let value = if repr == "styled_view" {
            format!(
                "<html><head><style>body {{ font-family: sans-serif; }}</style></head><body>{value}</body></html>"
            )
        } else {
            value
        };
        let mut r = json!({"value": value, "representation": repr, "embeddedContent": [],
                           "_expandable": {"content": format!("/rest/api/content/{id}")}});
        if repr != "storage" {
            r["webresource"] = json!({"_expandable": {"uris": ""}});
        }
        body.insert(repr.to_string(), r);
    }
    let mut expandable = Map::new();
    for k in [
        "editor",
        "atlas_doc_format",
        "view",
        "export_view",
        "styled_view",
        "dynamic",
        "storage",
        "editor2",
        "anonymous_export_view",
    ] {
        if !body.contains_key(k) {
            expandable.insert(k.into(), json!(""));
        }
    }
    body.insert("_expandable".into(), Value::Object(expandable));
    Ok(Value::Object(body))
}

pub(super) fn content_v1(
    data: &Data,
    c: &Content,
    ex: &Expand,
    base: &str,
) -> Result<Value, ApiError> {
    let d = &data.d;
    let mut m = Map::new();
    m.insert("id".into(), sid(c.id));
    m.insert("type".into(), json!(c.kind.as_str()));
    m.insert("status".into(), json!(c.status.as_str()));
    m.insert("title".into(), json!(c.title));
    let mut expandable = Map::new();
    let mut later = |k: &str, v: String, m: &mut Map<String, Value>| {
        if !m.contains_key(k) {
            expandable.insert(k.to_string(), json!(v));
        }
    };
    if ex.has("space")
        && let Some(s) = d.space(c.space_id)
    {
        m.insert("space".into(), space_v1(s, base));
    }
    if ex.has("version") {
        let v = c.current();
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
    if ex.has("history") {
        m.insert(
            "history".into(),
            json!({"latest": true, "createdBy": user_v1(d, &c.author_id, base), "createdDate": iso(c.created_at),
                   "_links": {"self": format!("{base}/rest/api/content/{}/history", c.id)}}),
        );
    }
    if ex.has("ancestors") {
        let mut chain = Vec::new();
        let mut cur = c.parent_id;
        while let Some(p) = cur {
            let Some(pc) = d.contents.get(&p) else { break };
            chain.push(json!({
                "id": sid(pc.id), "type": pc.kind.as_str(), "status": pc.status.as_str(), "title": pc.title,
                "_links": {"webui": render::webui(d, pc), "self": format!("{base}/rest/api/content/{}", pc.id)},
                "_expandable": {"container": "", "version": "", "body": "", "ancestors": "", "space": ""},
            }));
            cur = pc.parent_id;
            if chain.len() > 10_000 {
                break;
            }
        }
        chain.reverse();
        m.insert("ancestors".into(), Value::Array(chain));
    }
    if ex.has("body") {
        let ctx = ViewCtx {
            d,
            container: Some(c.id),
            absolute: None,
        };
        m.insert(
            "body".into(),
            body_v1(c.current().body.as_str(), ex, ctx, base, c.id)?,
        );
    }
    if ex.has("metadata") {
        let mut meta = Map::new();
        if ex.has("metadata.labels") {
            let ls = labels_v1(d, &c.labels);
            meta.insert("labels".into(), json!({"results": ls, "start": 0, "limit": 200, "size": ls.len(), "_links": {"self": format!("{base}/rest/api/content/{}/label", c.id)}}));
        }
        if ex.has("metadata.properties") {
            let mut props = Map::new();
            for p in &c.properties {
                props.insert(p.key.clone(), json!({"id": sid(p.id), "key": p.key, "value": p.value, "version": {"number": p.version.number}}));
            }
            meta.insert("properties".into(), Value::Object(props));
        }
        meta.insert("_expandable".into(), json!({"currentuser": "", "comments": "", "sourceTemplateEntityId": "", "simple": "", "likes": ""}));
        m.insert("metadata".into(), Value::Object(meta));
    }
    if ex.has("restrictions") {
        let mut r = Map::new();
        for (op, s) in [
            ("read", &c.restrictions.read),
            ("update", &c.restrictions.update),
        ] {
            if ex.has(&format!("restrictions.{op}")) {
                r.insert(op.into(), restriction_v1(d, c.id, op, s, base));
            }
        }
        r.insert(
            "_links".into(),
            json!({"self": format!("{base}/rest/api/content/{}/restriction/byOperation", c.id)}),
        );
        m.insert("restrictions".into(), Value::Object(r));
    }
    if ex.has("container")
        && let Some(s) = d.space(c.space_id)
    {
        m.insert("container".into(), space_v1(s, base));
    }
    if c.kind == ContentKind::Page {
        m.insert("extensions".into(), json!({"position": c.position}));
    }
    for k in [
        "container",
        "metadata",
        "restrictions",
        "history",
        "body",
        "version",
        "descendants",
        "space",
        "childTypes",
        "operations",
        "schedulePublishDate",
        "children",
        "schedulePublishInfo",
        "ancestors",
    ] {
        later(k, format!("/rest/api/content/{}/{k}", c.id), &mut m);
    }
    m.insert("_expandable".into(), Value::Object(expandable));
    m.insert(
        "_links".into(),
        json!({
            "webui": render::webui(d, c),
            "editui": format!("/pages/resumedraft.action?draftId={}", c.id),
            "tinyui": render::tinyui(c.id),
            "self": format!("{base}/rest/api/content/{}", c.id),
        }),
    );
    Ok(Value::Object(m))
}

/// `GET /wiki/rest/api/content/search?cql=…&expand=…`.
/// Which v1 search answers: `content/search` (Content objects) or `search` (SearchResult
/// wrappers around them).
#[derive(Clone, Copy, PartialEq, Eq)]
enum SearchKind {
    Content,
    Site,
}

/// `GET /wiki/rest/api/content/search?cql=…&expand=…`.
pub async fn search(ctx: Ctx) -> R {
    cql_search(&ctx, SearchKind::Content)
}

/// `GET /wiki/rest/api/search?cql=…` (the site search: each hit wraps its content).
pub async fn site_search(ctx: Ctx) -> R {
    cql_search(&ctx, SearchKind::Site)
}

fn cql_search(ctx: &Ctx, kind: SearchKind) -> R {
    let cql_text = ctx
        .q
        .get("cql")
        .ok_or_else(|| ApiError::bad_request("CQL query parameter is required").v1())?
        .to_string();
    // A `cursor` (from a `next` link) takes precedence over `start`.
    let (mut start, limit) = offsets(&ctx.q, 25, 250)?;
    if let Some(c) = ctx.q.get("cursor")
        && let Some(off) = decode_offset(c)
    {
        start = off;
    }
    let ex = Expand::parse(&ctx.q);
    check_body_expand(&ex)?;
    let conf = ctx.conf();
    let query = super::cql::parse(&cql_text, conf.now()).map_err(|e| {
        ApiError::bad_request(format!("Could not parse cql : {cql_text} ({e})")).v1()
    })?;
    let types = query.types();
    for t in &types {
        match t.as_str() {
            "page" | "blogpost" | "attachment" | "comment" => {}
            "folder" | "whiteboard" | "database" | "embed" | "space" | "user" => {
                return Err(ApiError::not_implemented(format!(
                    "kbridge sim: CQL type={t} is not implemented by the twin yet"
                ))
                .v1());
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "Could not parse cql : unknown type {other}"
                ))
                .v1());
            }
        }
    }
    let data = conf.read();
    let d = &data.d;
    let hidden = data.hidden(&ctx.caller);
    // Every hit in order, computed once per query text, caller and change (queries with
    // `now()`-style functions move with the clock and are computed each time).
    // Attachments and comments are searched when a `type` clause names them.
    let attachments = types.iter().any(|t| t == "attachment");
    let comments = types.iter().any(|t| t == "comment");
    let compute = || -> Vec<u64> {
        use super::cql::Item;
        let mut hits: Vec<Item<'_>> = d
            .contents
            .values()
            .filter(|c| {
                super::cql::searchable(c.kind) && c.status == Status::Current && hidden.sees(c.id)
            })
            .map(Item::content)
            .filter(|i| query.matches_item(d, i))
            .collect();
        if attachments {
            hits.extend(
                d.attachments
                    .values()
                    .filter(|a| a.status == Status::Current && data.sees_any(&hidden, a.id))
                    .filter_map(|a| Item::attachment(d, a))
                    .filter(|i| query.matches_item(d, i)),
            );
        }
        if comments {
            hits.extend(
                d.comments
                    .values()
                    .filter(|c| c.status == Status::Current && data.sees_any(&hidden, c.id))
                    .filter_map(|c| Item::comment(d, c))
                    .filter(|i| query.matches_item(d, i)),
            );
        }
        hits.sort_by(cql_order(&query.order));
        hits.into_iter().map(|c| c.id).collect()
    };
    let lower = cql_text.to_ascii_lowercase();
    let timeless = !["now(", "startofday(", "endofday("]
        .iter()
        .any(|f| lower.replace(' ', "").contains(f));
    let hits = if timeless {
        data.cql_hits(&cql_text, &ctx.caller.account_id, compute)
    } else {
        std::sync::Arc::new(compute())
    };
    let total = hits.len();
    let page: Vec<u64> = hits.iter().skip(start).take(limit).copied().collect();
    let more = start + page.len() < total && limit > 0;
    let mut extra = Map::new();
    extra.insert("totalSize".into(), json!(total));
    extra.insert("cqlQuery".into(), json!(cql_text));
    extra.insert("searchDuration".into(), json!(1));
    let cursor = more.then(|| encode_offset(start + limit));
    // Pages and blog posts come from the rendering cache (per answer kind, expansion set
    // and base URL).
    let site = kind == SearchKind::Site;
    let variant = crate::rng::fnv1a64(format!("{site}|{:?}|{}", ex.0, ctx.base).as_bytes());
    let mut raw = Vec::with_capacity(page.len());
    for id in &page {
        let s = if let Some(c) = d.contents.get(id) {
            data.rendered(c.id, variant, || {
                content_v1(&data, c, &ex, &ctx.base).map(|v| {
                    let v = if site {
                        let hit = (
                            c.title.clone(),
                            render::webui(d, c),
                            c.space_id,
                            c.kind.as_str(),
                            c.modified_at,
                        );
                        site_hit(d, hit, v)
                    } else {
                        v
                    };
                    serde_json::to_string(&v).unwrap_or_default()
                })
            })?
        } else if site {
            // Attachments and comments in the site search: rendered each time.
            let Some((v, hit)) = other_hit(&data, *id, &ex, &ctx.base) else {
                continue;
            };
            serde_json::to_string(&site_hit(d, hit, v))
                .unwrap_or_default()
                .into()
        } else if let Some(a) = d.attachments.get(id) {
            serde_json::to_string(&attachment_v1_expanded(d, a, &ex, &ctx.base))
                .unwrap_or_default()
                .into()
        } else if let Some(cm) = d.comments.get(id) {
            serde_json::to_string(&super::edits::comment_v1(&data, cm, &ex, &ctx.base)?)
                .unwrap_or_default()
                .into()
        } else {
            continue;
        };
        raw.push(s);
    }
    // Cloud's search `next` links carry a cursor; it encodes the next offset.
    v1_list_cursor_raw(ctx, raw, start, limit, more, extra, cursor)
}

/// An attachment or comment as a v1 object with its site-search facts.
type HitFacts = (String, String, u64, &'static str, i64);

fn other_hit(data: &Data, id: u64, ex: &Expand, base: &str) -> Option<(Value, HitFacts)> {
    let d = &data.d;
    if let Some(a) = d.attachments.get(&id) {
        let v = attachment_v1(d, a, base);
        let webui = v["_links"]["webui"].as_str().unwrap_or("").to_string();
        let space = d.contents.get(&a.container_id).map_or(0, |c| c.space_id);
        return Some((
            v,
            (
                a.title.clone(),
                webui,
                space,
                "attachment",
                a.current().created_at,
            ),
        ));
    }
    let cm = d.comments.get(&id)?;
    // The expansion was checked by the search (`check_body_expand`).
    let v = super::edits::comment_v1(data, cm, ex, base).ok()?;
    let webui = v["_links"]["webui"].as_str().unwrap_or("").to_string();
    let title = v["title"].as_str().unwrap_or("").to_string();
    let space = super::cql::Item::comment(d, cm).map_or(0, |i| i.space_id);
    Some((v, (title, webui, space, "comment", cm.current().created_at)))
}

/// The `ORDER BY` comparison of CQL hits (id last).
fn cql_order(
    order: &[(String, bool)],
) -> impl Fn(&super::cql::Item<'_>, &super::cql::Item<'_>) -> std::cmp::Ordering + '_ {
    move |a, b| {
        for (f, desc) in order {
            let o = match f.as_str() {
                "lastmodified" => a.modified.cmp(&b.modified),
                "created" => a.created.cmp(&b.created),
                "title" => a.title.cmp(b.title),
                _ => a.id.cmp(&b.id),
            };
            let o = if *desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        a.id.cmp(&b.id)
    }
}

/// A site-search hit wrapping its content: (title, web UI path, space id, type, modified).
fn site_hit(
    d: &Dataset,
    (title, url, space_id, kind, modified): (String, String, u64, &str, i64),
    content: Value,
) -> Value {
    let space = d.space(space_id);
    json!({
        "content": content,
        "title": title,
        "excerpt": "",
        "url": url,
        "resultGlobalContainer": {
            "title": space.map(|s| s.name.as_str()).unwrap_or(""),
            "displayUrl": format!("/spaces/{}", space.map(|s| s.key.as_str()).unwrap_or("")),
        },
        "breadcrumbs": [],
        "entityType": "content",
        "iconCssClass": format!("aui-icon content-type-{kind}"),
        "lastModified": iso(modified),
        "friendlyLastModified": iso(modified),
        "score": 0.0,
    })
}

// ---------------------------------------------------------------------------------------------
// Spaces and content (deprecated on Cloud, still what many Python clients call)

fn space_full_v1(data: &Data, s: &Space, ex: &Expand, base: &str) -> Result<Value, ApiError> {
    let mut v = space_v1(s, base);
    if ex.has("description") {
        v["description"] = json!({"plain": {"value": s.description, "representation": "plain", "embeddedContent": []}});
    }
    if ex.has("homepage")
        && let Some(h) = s.homepage_id.and_then(|h| data.d.contents.get(&h))
    {
        v["homepage"] = content_v1(data, h, &Expand(Vec::new()), base)?;
    }
    if ex.has("metadata.labels") {
        let ls = labels_v1(&data.d, &s.labels);
        v["metadata"] =
            json!({"labels": {"results": ls, "start": 0, "limit": 200, "size": ls.len()}});
    }
    Ok(v)
}

/// `GET /wiki/rest/api/space` (`spaceKey`, `type`, `status`, `label`, `start`, `limit`, `expand`).
pub async fn spaces(ctx: Ctx) -> R {
    let (start, limit) = offsets(&ctx.q, 25, 1000)?;
    let keys = ctx.q.list("spaceKey");
    let ids = v1(ctx.q.ids("spaceId"))?;
    let kind = v1(ctx.q.one_of("type", &["global", "personal"]))?;
    let status = v1(ctx.q.one_of("status", &["current", "archived"]))?;
    let labels = ctx.q.list("label");
    let ex = Expand::parse(&ctx.q);
    let data = ctx.conf().read();
    let d = &data.d;
    let all: Vec<&Space> = d
        .spaces
        .iter()
        .filter(|s| {
            super::perms::can_view_space(s, &ctx.caller)
                && (keys.is_empty() || keys.contains(&s.key))
                && (ids.is_empty() || ids.contains(&s.id))
                && kind.as_ref().is_none_or(|k| *k == s.kind)
                && status.as_ref().is_none_or(|st| st == s.status.as_str())
                && (labels.is_empty()
                    || s.labels
                        .iter()
                        .any(|l| d.labels.get(l).is_some_and(|l| labels.contains(&l.name))))
        })
        .collect();
    v1_page(&ctx, &all, start, limit, Map::new(), |s| {
        space_full_v1(&data, s, &ex, &ctx.base)
    })
}

/// `GET /wiki/rest/api/space/{spaceKey}`.
pub async fn space(ctx: Ctx, Path(key): Path<String>) -> R {
    let ex = Expand::parse(&ctx.q);
    let data = ctx.conf().read();
    let s = data
        .d
        .spaces
        .iter()
        .find(|s| s.key == key && super::perms::can_view_space(s, &ctx.caller))
        .ok_or_else(|| ApiError::not_found_msg(format!("No space with key : {key}")).v1())?;
    ok(space_full_v1(&data, s, &ex, &ctx.base)?)
}

/// `GET /wiki/rest/api/content` (`type`, `spaceKey`, `title`, `status`, `postingDay`, `expand`,
/// `start`, `limit`), in id order.
pub async fn contents(ctx: Ctx) -> R {
    let (start, limit) = offsets(&ctx.q, 25, 1000)?;
    if start > 100_000 {
        return Err(ApiError::bad_request("Start of this size is no longer supported").v1());
    }
    let kind = match v1(ctx.q.one_of("type", &["page", "blogpost"]))?.as_deref() {
        Some("blogpost") => ContentKind::Blogpost,
        _ => ContentKind::Page,
    };
    let key = ctx.q.get("spaceKey").map(str::to_string);
    let title = ctx.q.get("title").map(str::to_string);
    let statuses: Vec<String> = ctx.q.list("status");
    let posting_day = ctx.q.get("postingDay").map(str::to_string);
    let ex = Expand::parse(&ctx.q);
    let data = ctx.conf().read();
    let d = &data.d;
    let space_id = match &key {
        Some(k) => Some(
            d.spaces
                .iter()
                .find(|s| s.key == *k)
                .map(|s| s.id)
                .ok_or_else(|| ApiError::not_found_msg(format!("No space with key : {k}")).v1())?,
        ),
        None => None,
    };
    let hidden = data.hidden(&ctx.caller);
    let status_ok = |c: &Content| {
        if statuses.is_empty() {
            c.status == Status::Current
        } else {
            statuses
                .iter()
                .any(|s| s == "any" && c.status != Status::Deleted || s == c.status.as_str())
        }
    };
    let all: Vec<&Content> = d
        .contents
        .values()
        .filter(|c| {
            c.kind == kind
                && status_ok(c)
                && space_id.is_none_or(|s| s == c.space_id)
                && title.as_ref().is_none_or(|t| *t == c.title)
                && posting_day
                    .as_ref()
                    .is_none_or(|p| crate::time::posting_day(c.created_at).replace('/', "-") == *p)
                && hidden.sees(c.id)
        })
        .collect();
    v1_page(&ctx, &all, start, limit, Map::new(), |c| {
        content_v1(&data, c, &ex, &ctx.base)
    })
}

/// `GET /wiki/rest/api/content/{id}` (`expand`, `status`).
pub async fn content(ctx: Ctx, Path(id): Path<String>) -> R {
    let statuses = ctx.q.list("status");
    if let Some(v) = v1(ctx.q.int("version"))? {
        return Err(ApiError::not_implemented(format!("kbridge sim: version={v} of v1 content is not implemented by the twin yet; use /wiki/api/v2/pages/{{id}}?version=")).v1());
    }
    let ex = Expand::parse(&ctx.q);
    let data = ctx.conf().read();
    let c = content_for(&data, &ctx, &id)?;
    let ok_status = if statuses.is_empty() {
        matches!(c.status, Status::Current | Status::Archived)
    } else {
        statuses
            .iter()
            .any(|s| s == "any" || s == c.status.as_str())
    };
    if !ok_status {
        return Err(ApiError::not_found_msg(format!(
            "No content found with id: ContentId{{id={}}}",
            c.id
        ))
        .v1());
    }
    ok(content_v1(&data, c, &ex, &ctx.base)?)
}

fn encode_offset(n: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("_sa_{n}"))
}

fn decode_offset(c: &str) -> Option<usize> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c.trim_end_matches('='))
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("_sa_")?
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------------
// Groups and users

pub async fn groups(ctx: Ctx) -> R {
    let (start, limit) = offsets(&ctx.q, 200, 200)?;
    v1(ctx.q.one_of("accessType", &["user", "admin", "site-admin"]))?;
    let data = ctx.conf().read();
    let all = &data.d.groups;
    let mut extra = Map::new();
    extra.insert("totalSize".into(), json!(all.len()));
    v1_page(&ctx, all, start, limit, extra, |g| {
        Ok(group_v1(g, &ctx.base))
    })
}

pub async fn group_by_id(ctx: Ctx) -> R {
    let id = ctx
        .q
        .get("id")
        .ok_or_else(|| ApiError::bad_request("id is required").v1())?;
    let data = ctx.conf().read();
    let g = data
        .d
        .groups
        .iter()
        .find(|g| g.id == id)
        .ok_or_else(|| ApiError::not_found_msg(format!("No group with id {id}")).v1())?;
    ok(group_v1(g, &ctx.base))
}

pub async fn group_members(ctx: Ctx, Path(id): Path<String>) -> R {
    if let Some(l) = v1(ctx.q.int("limit"))?
        && l > 200
    {
        return Err(ApiError::bad_request("The limit must not be more than 200").v1());
    }
    let (start, limit) = offsets(&ctx.q, 200, 200)?;
    let total_size = v1(ctx.q.bool("shouldReturnTotalSize", false))?;
    let data = ctx.conf().read();
    let g = data
        .d
        .groups
        .iter()
        .find(|g| g.id == id)
        .ok_or_else(|| ApiError::not_found_msg(format!("No group with id {id}")).v1())?;
    let mut extra = Map::new();
    if total_size {
        extra.insert("totalSize".into(), json!(g.members.len()));
    }
    v1_page(&ctx, &g.members, start, limit, extra, |a| {
        Ok(user_v1(&data.d, a, &ctx.base))
    })
}

pub async fn user(ctx: Ctx) -> R {
    let id = ctx
        .q
        .get("accountId")
        .ok_or_else(|| ApiError::bad_request("accountId is required").v1())?;
    let data = ctx.conf().read();
    data.d
        .user(id)
        .ok_or_else(|| ApiError::not_found_msg(format!("No user with accountId {id}")).v1())?;
    ok(user_v1(&data.d, id, &ctx.base))
}

pub async fn current_user(ctx: Ctx) -> R {
    let data = ctx.conf().read();
    ok(user_v1(&data.d, &ctx.caller.account_id, &ctx.base))
}

// ---------------------------------------------------------------------------------------------
// Restrictions and labels

pub(super) fn content_for<'a>(
    data: &'a Data,
    ctx: &Ctx,
    id: &str,
) -> Result<&'a Content, ApiError> {
    let id = path_id(id).map_err(ApiError::v1)?;
    data.d
        .contents
        .get(&id)
        .filter(|c| c.status != Status::Deleted && data.can_view(&ctx.caller, id))
        .ok_or_else(|| {
            ApiError::not_found_msg(format!("No content found with id: ContentId{{id={id}}}")).v1()
        })
}

pub async fn restrictions(ctx: Ctx, Path(id): Path<String>) -> R {
    let (start, limit) = offsets(&ctx.q, 100, 100)?;
    let data = ctx.conf().read();
    let c = content_for(&data, &ctx, &id)?;
    let all = [
        restriction_v1(&data.d, c.id, "read", &c.restrictions.read, &ctx.base),
        restriction_v1(&data.d, c.id, "update", &c.restrictions.update, &ctx.base),
    ];
    let results: Vec<Value> = all.into_iter().skip(start).take(limit).collect();
    let mut extra = Map::new();
    let hash = crate::rng::fnv1a64(
        serde_json::to_string(&c.restrictions)
            .unwrap_or_default()
            .as_bytes(),
    );
    extra.insert("restrictionsHash".into(), json!(format!("{hash:016x}")));
    v1_list(&ctx, results, start, limit, false, extra)
}

pub async fn restrictions_by_operation(ctx: Ctx, Path(id): Path<String>) -> R {
    let data = ctx.conf().read();
    let c = content_for(&data, &ctx, &id)?;
    ok(json!({
        "read": restriction_v1(&data.d, c.id, "read", &c.restrictions.read, &ctx.base),
        "update": restriction_v1(&data.d, c.id, "update", &c.restrictions.update, &ctx.base),
        "_links": {"base": ctx.base, "context": "/wiki"},
    }))
}

pub async fn restriction_for_operation(ctx: Ctx, Path((id, op)): Path<(String, String)>) -> R {
    let data = ctx.conf().read();
    let c = content_for(&data, &ctx, &id)?;
    let s = match op.as_str() {
        "read" => &c.restrictions.read,
        "update" => &c.restrictions.update,
        other => {
            return Err(ApiError::bad_request(format!(
                "Invalid operation key: {other}; use read or update"
            ))
            .v1());
        }
    };
    ok(restriction_v1(&data.d, c.id, &op, s, &ctx.base))
}

pub async fn labels(ctx: Ctx, Path(id): Path<String>) -> R {
    let (start, limit) = offsets(&ctx.q, 200, 200)?;
    let prefix = v1(ctx.q.one_of("prefix", &["global", "my", "team"]))?;
    let data = ctx.conf().read();
    let c = content_for(&data, &ctx, &id)?;
    let all: Vec<Value> = labels_v1(&data.d, &c.labels)
        .into_iter()
        .filter(|l| prefix.as_ref().is_none_or(|p| l["prefix"] == *p))
        .collect();
    v1_page(&ctx, &all, start, limit, Map::new(), |l| Ok(l.clone()))
}

const LABEL_FORBIDDEN: &[char] = &[
    ' ', ':', ';', ',', '.', '?', '&', '[', ']', '(', ')', '#', '^', '*', '@', '!', '/', '\\', '<',
    '>', '"', '\'',
];

pub async fn add_labels(ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> R {
    let v: Value = parse_body(&bytes, Flavor::V1)?;
    let items: Vec<Value> = match v {
        Value::Array(a) => a,
        o @ Value::Object(_) => vec![o],
        _ => return Err(ApiError::bad_request("Expected a label or an array of labels").v1()),
    };
    let mut wanted = Vec::new();
    for it in &items {
        let name = it
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_lowercase();
        let prefix = it
            .get("prefix")
            .and_then(Value::as_str)
            .unwrap_or("global")
            .to_string();
        if name.is_empty() {
            return Err(ApiError::bad_request("Label name is required").v1());
        }
        if name.chars().count() > 255 || name.contains(LABEL_FORBIDDEN) {
            return Err(ApiError::bad_request(format!(
                "Label '{name}' contains invalid characters or is too long"
            ))
            .v1());
        }
        if !matches!(prefix.as_str(), "global" | "my" | "team") {
            return Err(ApiError::bad_request(format!("Invalid label prefix: {prefix}")).v1());
        }
        wanted.push((prefix, name));
    }
    let now = ctx.conf().now();
    let mut data = ctx.conf().write();
    let c = content_for(&data, &ctx, &id)?;
    let cid = c.id;
    if !admits(&c.restrictions.update, &ctx.caller) {
        return Err(ApiError::forbidden("You do not have permission to edit this content").v1());
    }
    let mut ids = Vec::new();
    for (p, n) in wanted {
        ids.push(data.d.intern_label(&p, &n));
    }
    let c = data.d.contents.get_mut(&cid).expect("found");
    let mut added = Vec::new();
    for l in ids {
        if !c.labels.contains(&l) {
            c.labels.push(l);
            added.push(l);
        }
    }
    for l in added {
        if let Some(label) = data.d.labels.get(&l) {
            events::emit(
                &ctx.sim,
                events::label(
                    &ctx.sim,
                    &data.d,
                    cid,
                    label,
                    true,
                    &ctx.caller.account_id,
                    now,
                ),
            );
        }
    }
    let all = labels_v1(&data.d, &data.d.contents[&cid].labels);
    ok(
        json!({"results": all, "start": 0, "limit": 200, "size": all.len(), "_links": {"base": ctx.base, "context": "/wiki", "self": format!("{}/rest/api/content/{cid}/label", ctx.base)}}),
    )
}

fn remove_label_named(ctx: &Ctx, id: &str, name: &str) -> R {
    let now = ctx.conf().now();
    let mut data = ctx.conf().write();
    let c = content_for(&data, ctx, id)?;
    let cid = c.id;
    if !admits(&c.restrictions.update, &ctx.caller) {
        return Err(ApiError::forbidden("You do not have permission to edit this content").v1());
    }
    let lid = c
        .labels
        .iter()
        .copied()
        .find(|l| data.d.labels.get(l).is_some_and(|l| l.name == name));
    let Some(lid) = lid else {
        return Err(
            ApiError::not_found_msg(format!("Label '{name}' is not on content {cid}")).v1(),
        );
    };
    data.d
        .contents
        .get_mut(&cid)
        .expect("found")
        .labels
        .retain(|l| *l != lid);
    if let Some(label) = data.d.labels.get(&lid) {
        events::emit(
            &ctx.sim,
            events::label(
                &ctx.sim,
                &data.d,
                cid,
                label,
                false,
                &ctx.caller.account_id,
                now,
            ),
        );
    }
    Ok(no_content())
}

pub async fn remove_label(ctx: Ctx, Path((id, label)): Path<(String, String)>) -> R {
    remove_label_named(&ctx, &id, &label)
}

pub async fn remove_label_query(ctx: Ctx, Path(id): Path<String>) -> R {
    let name = ctx
        .q
        .get("name")
        .ok_or_else(|| ApiError::bad_request("name is required").v1())?
        .to_string();
    remove_label_named(&ctx, &id, &name)
}

// ---------------------------------------------------------------------------------------------
// Move

/// `PUT /wiki/rest/api/content/{id}/move/{before|after|append}/{targetId}`.
pub async fn move_page(
    ctx: Ctx,
    Path((id, position, target)): Path<(String, String, String)>,
) -> R {
    let id = path_id(&id).map_err(ApiError::v1)?;
    let target = path_id(&target).map_err(ApiError::v1)?;
    if !matches!(position.as_str(), "before" | "after" | "append") {
        return Err(ApiError::bad_request(format!(
            "Invalid position: {position}; use before, after or append"
        ))
        .v1());
    }
    let now = ctx.conf().now();
    let mut data = ctx.conf().write();
    let page = |data: &Data, i: u64| {
        data.d
            .contents
            .get(&i)
            .filter(|c| {
                c.kind == ContentKind::Page
                    && matches!(c.status, Status::Current | Status::Archived)
                    && data.can_view(&ctx.caller, i)
            })
            .cloned()
    };
    let not_found = |i: u64| {
        ApiError::not_found_msg(format!("No content found with id: ContentId{{id={i}}}")).v1()
    };
    let p = page(&data, id).ok_or_else(|| not_found(id))?;
    let t = page(&data, target).ok_or_else(|| not_found(target))?;
    if !admits(&p.restrictions.update, &ctx.caller) {
        return Err(ApiError::forbidden("You do not have permission to move this page").v1());
    }
    let new_parent = if position == "append" {
        Some(target)
    } else {
        t.parent_id
    };
    if id == target || new_parent.is_some_and(|np| would_loop(&data.d, id, np)) {
        return Err(ApiError::bad_request("The move would create a parent-child loop").v1());
    }
    let space = t.space_id;
    if space != p.space_id
        && data.d.contents.values().any(|c| {
            c.space_id == space
                && c.kind == ContentKind::Page
                && c.title == p.title
                && c.status == Status::Current
        })
    {
        return Err(ApiError::bad_request("A page with this title already exists in the target space; rename the page before moving it").v1());
    }
    // The new sibling order.
    let mut sibs: Vec<u64> = match new_parent {
        Some(np) => data.ix.children.get(&np).cloned().unwrap_or_default(),
        None => data.ix.roots.get(&space).cloned().unwrap_or_default(),
    };
    sibs.retain(|s| *s != id);
    match position.as_str() {
        "append" => sibs.push(id),
        "before" => {
            let i = sibs.iter().position(|s| *s == target).unwrap_or(0);
            sibs.insert(i, id);
        }
        _ => {
            let i = sibs
                .iter()
                .position(|s| *s == target)
                .map_or(sibs.len(), |i| i + 1);
            sibs.insert(i, id);
        }
    }
    for (i, s) in sibs.iter().enumerate() {
        if let Some(c) = data.d.contents.get_mut(s) {
            c.position = i as i32;
        }
    }
    // The page and its subtree move to the target's space.
    let mut subtree = vec![id];
    let mut i = 0;
    while i < subtree.len() {
        if let Some(k) = data.ix.children.get(&subtree[i]) {
            subtree.extend(k.iter().copied());
        }
        i += 1;
    }
    for s in &subtree {
        if let Some(c) = data.d.contents.get_mut(s) {
            c.space_id = space;
        }
    }
    for tk in data.d.tasks.values_mut() {
        if subtree.contains(&tk.content_id) {
            tk.space_id = space;
        }
    }
    data.d.contents.get_mut(&id).expect("found").parent_id = new_parent;
    data.reindex();
    events::emit(
        &ctx.sim,
        events::moved(
            &ctx.sim,
            &data.d,
            id,
            p.parent_id,
            &ctx.caller.account_id,
            now,
        ),
    );
    ok(json!({"pageId": id.to_string()}))
}

// ---------------------------------------------------------------------------------------------
// Attachments

/// An attachment as v1 `Content` with what `expand` asks for (`metadata.labels`).
fn attachment_v1_expanded(d: &Dataset, a: &Attachment, ex: &Expand, base: &str) -> Value {
    let mut v = attachment_v1(d, a, base);
    if ex.has("metadata.labels") {
        let ls = labels_v1(d, &a.labels);
        v["metadata"]["labels"] = json!({"results": ls, "start": 0, "limit": 200, "size": ls.len(), "_links": {"self": format!("{base}/rest/api/content/{}/label", att_id(a.id))}});
    }
    v
}

fn attachment_v1(d: &Dataset, a: &Attachment, base: &str) -> Value {
    let v = a.current();
    let container = d.contents.get(&a.container_id);
    json!({
        "id": att_id(a.id),
        "type": "attachment",
        "status": a.status.as_str(),
        "title": a.title,
        "version": version_v1(d, &att_id(a.id), v.number, &v.author_id, v.created_at, &v.message, v.minor_edit, base),
        "container": container.map(|c| json!({"id": sid(c.id), "type": c.kind.as_str(), "status": c.status.as_str(), "title": c.title})).unwrap_or(Value::Null),
        "metadata": {"mediaType": a.media_type, "comment": a.comment, "_expandable": {"currentuser": "", "properties": "", "frontend": "", "editorHtml": ""}},
        "extensions": {
            "mediaType": a.media_type,
            "fileSize": v.bytes.0.len(),
            "comment": a.comment,
            "mediaTypeDescription": render::attachment(d, a, v)["mediaTypeDescription"].clone(),
            "fileId": a.file_id,
            "collectionName": format!("contentId-{}", a.container_id),
        },
        "_expandable": {"childTypes": "", "operations": "", "schedulePublishDate": "", "children": "", "restrictions": "", "history": "", "ancestors": "", "body": "", "descendants": "", "space": ""},
        "_links": {
            "webui": format!("/pages/viewpageattachments.action?pageId={}&preview=%2F{}%2F{}", a.container_id, a.container_id, a.id),
            "download": render::download_link(a, v),
            "self": format!("{base}/rest/api/content/{}", att_id(a.id)),
        },
    })
}

pub async fn list_attachments(ctx: Ctx, Path(id): Path<String>) -> R {
    let (start, limit) = offsets(&ctx.q, 25, 200)?;
    let filename = ctx.q.get("filename").map(str::to_string);
    let media = ctx.q.get("mediaType").map(str::to_string);
    let data = ctx.conf().read();
    let c = content_for(&data, &ctx, &id)?;
    let all: Vec<&Attachment> = data
        .ix
        .attachments
        .get(&c.id)
        .into_iter()
        .flatten()
        .filter_map(|a| data.d.attachments.get(a))
        .filter(|a| {
            a.status == Status::Current
                && filename.as_ref().is_none_or(|f| *f == a.title)
                && media.as_ref().is_none_or(|m| *m == a.media_type)
        })
        .collect();
    v1_page(&ctx, &all, start, limit, Map::new(), |a| {
        Ok(attachment_v1(&data.d, a, &ctx.base))
    })
}

/// The XSRF check the real service does on multipart uploads.
fn xsrf(headers: &HeaderMap) -> Result<(), ApiError> {
    let ok = headers
        .get("x-atlassian-token")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("no-check") || v.eq_ignore_ascii_case("nocheck"));
    if ok {
        Ok(())
    } else {
        Err(ApiError::forbidden("XSRF check failed").v1())
    }
}

struct Upload {
    name: String,
    media_type: String,
    bytes: Vec<u8>,
}

/// The files, comments and `minorEdit` of a multipart upload.
async fn read_upload(
    mp: Result<Multipart, MultipartRejection>,
) -> Result<(Vec<Upload>, Vec<String>, bool), ApiError> {
    let mut mp = mp.map_err(|e| {
        ApiError::bad_request(format!("Expected a multipart/form-data body: {e}")).v1()
    })?;
    let mut files = Vec::new();
    let mut comments = Vec::new();
    let mut minor = false;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(ApiError::bad_request(format!("Malformed multipart body: {e}")).v1());
            }
        };
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "file" => {
                let fname = field
                    .file_name()
                    .map(str::to_string)
                    .filter(|f| !f.is_empty())
                    .ok_or_else(|| ApiError::bad_request("Each file part needs a filename").v1())?;
                let ct = field.content_type().map(str::to_string);
                let bytes = field.bytes().await.map_err(|e| {
                    ApiError::bad_request(format!("Malformed multipart body: {e}")).v1()
                })?;
                let media_type = match ct.as_deref() {
                    None | Some("application/octet-stream") => {
                        crate::generator::media_type_of(&fname).to_string()
                    }
                    Some(t) => t.to_string(),
                };
                files.push(Upload {
                    name: fname,
                    media_type,
                    bytes: bytes.to_vec(),
                });
            }
            "comment" => comments.push(field.text().await.map_err(|e| {
                ApiError::bad_request(format!("Malformed multipart body: {e}")).v1()
            })?),
            "minorEdit" => {
                minor = field
                    .text()
                    .await
                    .map(|t| t.trim().eq_ignore_ascii_case("true"))
                    .unwrap_or(false)
            }
            _ => {
                let _ = field.bytes().await;
            }
        }
    }
    if files.is_empty() {
        return Err(ApiError::bad_request("At least one file part is required").v1());
    }
    Ok((files, comments, minor))
}

/// `POST` (add only) and `PUT` (add or new version, by file name) of
/// `/wiki/rest/api/content/{id}/child/attachment`.
pub async fn upload_attachments(
    ctx: Ctx,
    method: axum::http::Method,
    headers: HeaderMap,
    Path(id): Path<String>,
    mp: Result<Multipart, MultipartRejection>,
) -> R {
    xsrf(&headers)?;
    let (files, comments, minor) = read_upload(mp).await?;
    let replace = method == axum::http::Method::PUT;
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let c = content_for(&data, &ctx, &id)?;
    if c.kind == ContentKind::Folder {
        return Err(ApiError::bad_request("Folders cannot hold attachments").v1());
    }
    if !admits(&c.restrictions.update, &ctx.caller) {
        return Err(ApiError::forbidden(
            "You do not have permission to add attachments to this content",
        )
        .v1());
    }
    let cid = c.id;
    let existing = |data: &Data, name: &str| {
        data.d
            .attachments
            .values()
            .find(|a| a.container_id == cid && a.title == name && a.status == Status::Current)
            .map(|a| a.id)
    };
    if !replace {
        for f in &files {
            if existing(&data, &f.name).is_some() {
                return Err(ApiError::bad_request(format!(
                    "Cannot add a new attachment with same file name as an existing attachment: {}",
                    f.name
                ))
                .v1());
            }
        }
    }
    let who = ctx.caller.account_id.clone();
    let mut out = Vec::new();
    for (i, f) in files.into_iter().enumerate() {
        let comment = comments.get(i).cloned().unwrap_or_default();
        let version = |n| AttachmentVersion {
            number: n,
            created_at: now,
            author_id: who.clone(),
            message: comment.clone(),
            minor_edit: minor,
            bytes: Bytes(f.bytes.clone().into()),
        };
        let found = existing(&data, &f.name);
        let aid = match found {
            Some(aid) => {
                let a = data.d.attachments.get_mut(&aid).expect("found");
                let n = a.current().number + 1;
                a.versions.push(version(n));
                a.media_type = f.media_type.clone();
                if !comment.is_empty() {
                    a.comment = comment.clone();
                }
                aid
            }
            None => {
                let aid = data.d.alloc_content_id();
                let file_id = crate::rng::Rng::stream(aid, now as u64).uuid();
                data.d.attachments.insert(
                    aid,
                    Attachment {
                        id: aid,
                        container_id: cid,
                        title: f.name.clone(),
                        media_type: f.media_type.clone(),
                        file_id,
                        comment: comment.clone(),
                        status: Status::Current,
                        created_at: now,
                        author_id: who.clone(),
                        versions: vec![version(1)],
                        labels: Vec::new(),
                    },
                );
                aid
            }
        };
        out.push(aid);
        let action = if found.is_some() {
            Action::Updated
        } else {
            Action::Created
        };
        events::emit(
            &ctx.sim,
            events::attachment(&ctx.sim, &data.d, aid, action, &who, now),
        );
    }
    data.reindex();
    let results: Vec<Value> = out
        .iter()
        .map(|a| attachment_v1(&data.d, &data.d.attachments[a], &ctx.base))
        .collect();
    v1_list(&ctx, results, 0, 25, false, Map::new())
}

/// `POST /wiki/rest/api/content/{id}/child/attachment/{attachmentId}/data`: a new version.
pub async fn upload_attachment_data(
    ctx: Ctx,
    headers: HeaderMap,
    Path((id, att)): Path<(String, String)>,
    mp: Result<Multipart, MultipartRejection>,
) -> R {
    xsrf(&headers)?;
    let (mut files, comments, minor) = read_upload(mp).await?;
    if files.len() != 1 {
        return Err(ApiError::bad_request("Exactly one file is required").v1());
    }
    let f = files.remove(0);
    let aid = super::v2::attachment_id(&att).map_err(ApiError::v1)?;
    let conf = ctx.conf();
    let now = conf.now();
    let mut data = conf.write();
    let c = content_for(&data, &ctx, &id)?;
    let cid = c.id;
    if !admits(&c.restrictions.update, &ctx.caller) {
        return Err(
            ApiError::forbidden("You do not have permission to change this attachment").v1(),
        );
    }
    let a = data
        .d
        .attachments
        .get_mut(&aid)
        .filter(|a| a.container_id == cid)
        .ok_or_else(|| {
            ApiError::not_found_msg(format!("No attachment {att} on content {cid}")).v1()
        })?;
    let n = a.current().number + 1;
    let comment = comments.first().cloned().unwrap_or_default();
    a.versions.push(AttachmentVersion {
        number: n,
        created_at: now,
        author_id: ctx.caller.account_id.clone(),
        message: comment,
        minor_edit: minor,
        bytes: Bytes(f.bytes.into()),
    });
    a.media_type = f.media_type;
    events::emit(
        &ctx.sim,
        events::attachment(
            &ctx.sim,
            &data.d,
            aid,
            Action::Updated,
            &ctx.caller.account_id,
            now,
        ),
    );
    ok(attachment_v1(&data.d, &data.d.attachments[&aid], &ctx.base))
}

fn bytes_response(a: &Attachment, v: &AttachmentVersion) -> Response {
    let mut r = Response::new(Body::from(v.bytes.0.to_vec()));
    if let Ok(h) = HeaderValue::from_str(&a.media_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, h);
    }
    let name: String = form_urlencoded::byte_serialize(a.title.as_bytes()).collect();
    if let Ok(h) = HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{name}")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, h);
    }
    *r.status_mut() = StatusCode::OK;
    r
}

fn version_param(q: &Query, a: &Attachment) -> Result<AttachmentVersion, ApiError> {
    match q.int("version").map_err(ApiError::v1)? {
        None => Ok(a.current().clone()),
        Some(n) => a
            .versions
            .iter()
            .find(|v| v.number as i64 == n)
            .cloned()
            .ok_or_else(|| ApiError::not_found_msg(format!("No version {n} of {}", a.title)).v1()),
    }
}

/// `GET /wiki/download/attachments/{containerId}/{fileName}?version=N` (the v2 `downloadLink`).
pub async fn download(ctx: Ctx, Path((id, name)): Path<(String, String)>) -> R {
    let cid = path_id(&id).map_err(ApiError::v1)?;
    let data = ctx.conf().read();
    let a = data
        .d
        .attachments
        .values()
        .find(|a| {
            a.container_id == cid
                && a.title == name
                && a.status == Status::Current
                && data.can_view(&ctx.caller, cid)
        })
        .ok_or_else(|| {
            ApiError::not_found_msg(format!("No attachment {name} on content {cid}")).v1()
        })?;
    let v = version_param(&ctx.q, a)?;
    Ok(bytes_response(a, &v))
}

/// `GET /wiki/rest/api/content/{id}/child/attachment/{attachmentId}/download`.
pub async fn download_v1(ctx: Ctx, Path((id, att)): Path<(String, String)>) -> R {
    let cid = path_id(&id).map_err(ApiError::v1)?;
    let aid = super::v2::attachment_id(&att).map_err(ApiError::v1)?;
    let data = ctx.conf().read();
    let a = data
        .d
        .attachments
        .get(&aid)
        .filter(|a| a.container_id == cid && data.can_view(&ctx.caller, cid))
        .ok_or_else(|| {
            ApiError::not_found_msg(format!("No attachment {att} on content {cid}")).v1()
        })?;
    let v = version_param(&ctx.q, a)?;
    Ok(bytes_response(a, &v))
}
