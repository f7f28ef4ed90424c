//! The Confluence Data Center twin: the same site as the Cloud twin, served the way Confluence
//! Data Center 9.0 serves it, under the context path `/confluence` (the spec's own server is
//! `http://{baseurl}/confluence`):
//!
//! - `/confluence/rest/api/…`: space, content (offsets), `content/scan` (cursor, pages only),
//!   `content/{id}`, `content/search` (CQL, offsets), labels, properties, child attachments,
//!   restrictions, groups and members by group **name**, the current user, users by
//!   username or key; the writes in 9.0's shapes (`POST`/`PUT /content`, labels, attachments
//!   with `X-Atlassian-Token: no-check`); the JSON-RPC remote API (module `rpc`); plus
//!   `/confluence/rest/applinks/1.0/manifest` (the version) and attachment downloads;
//! - auth: a personal access token as `Authorization: Bearer` ([`pat_for`]) or Basic
//!   `username:password` (the username is the email's local part, the password the Cloud
//!   token); a wrong one is a 401 in Data Center's error shape;
//! - users are `{type, username, userKey, displayName, profilePicture, _links}` (no account
//!   ids), groups `{type, name, _links}` (no ids), attachments have numeric ids;
//! - `limit`s are capped silently ([`CONTENT_CAP`], [`SEARCH_CAP`]) and `_links.next` is
//!   relative to the context, computed from what was returned;
//! - rate limiting is per user, one bucket for the site, with Data Center's headers
//!   (`X-RateLimit-Limit`, `-Remaining`, `-Interval-Seconds`, `-FillRate`, `Retry-After`).
//!
//! The answers come from the Cloud twin's v1 handlers over the same data, reshaped here; the
//! DC contract tests validate every route the client uses against the Data Center 9.0 spec.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::confluence::api::{ApiError, Ctx, json_response};
use crate::confluence::{Credential, v1};
use crate::server::Sim;

mod rpc;

/// The context path of the Data Center twin.
pub const CONTEXT: &str = "/confluence";
/// The version the twin reports.
pub const VERSION: &str = "9.0.1";
/// The most items a content listing or scan answers, whatever `limit` asks.
pub const CONTENT_CAP: usize = 50;
/// The most hits a CQL search answers.
pub const SEARCH_CAP: usize = 50;

/// The personal access token of a twin account.
pub fn pat_for(c: &Credential) -> String {
    format!("pat-{}", c.token)
}

/// The Data Center username of a twin account (the email's local part).
pub fn username_for(c: &Credential) -> String {
    c.email.split('@').next().unwrap_or(&c.email).to_string()
}

/// A stable user key for an account id (Data Center's 32-hex `userKey`).
pub fn user_key(account_id: &str) -> String {
    let h = crate::rng::fnv1a64(account_id.as_bytes());
    let g = crate::rng::fnv1a64(format!("k{account_id}").as_bytes());
    format!("{h:016x}{g:016x}")
}

fn dc_error(status: StatusCode, message: &str) -> Response {
    let mut e = ApiError::new(status, "ERROR", message.to_string()).v1();
    if status == StatusCode::UNAUTHORIZED {
        e = e.header(header::WWW_AUTHENTICATE, "Basic realm=\"Confluence\"");
    }
    e.into_response()
}

/// The routes of the Data Center twin.
pub fn routes(sim: Arc<Sim>) -> Router<Arc<Sim>> {
    let api = format!("{CONTEXT}/rest/api");
    Router::new()
        .route(&format!("{api}/space"), get(spaces))
        .route(&format!("{api}/space/{{key}}"), get(space))
        .route(&format!("{api}/space/{{key}}/labels"), get(space_labels))
        .route(
            &format!("{api}/space/{{key}}/property"),
            get(space_properties),
        )
        .route(
            &format!("{api}/content"),
            get(contents).post(crate::confluence::v1w::create),
        )
        .route(&format!("{api}/content/scan"), get(scan))
        .route(&format!("{api}/content/search"), get(search))
        .route(
            &format!("{api}/content/{{id}}"),
            get(content)
                .put(crate::confluence::v1w::update)
                .delete(crate::confluence::v1w::delete),
        )
        .route(
            &format!("{api}/content/{{id}}/history"),
            get(crate::confluence::edits::history),
        )
        .route(
            &format!("{api}/content/{{id}}/label"),
            get(labels).post(v1::add_labels),
        )
        .route(&format!("{api}/content/{{id}}/property"), get(properties))
        .route(
            &format!("{api}/content/{{id}}/child/attachment"),
            get(attachments)
                .post(v1::upload_attachments)
                .put(v1::upload_attachments),
        )
        .route(
            &format!("{api}/content/{{id}}/child/attachment/{{att}}/data"),
            post(v1::upload_attachment_data),
        )
        .route(
            &format!("{api}/content/{{id}}/restriction/byOperation"),
            get(restrictions),
        )
        .route(&format!("{api}/group"), get(groups))
        .route(&format!("{api}/group/{{name}}/member"), get(members))
        .route(&format!("{api}/user/current"), get(current_user))
        .route(&format!("{api}/user"), get(user))
        .route(
            &format!("{CONTEXT}/rpc/json-rpc/confluenceservice-v2"),
            post(rpc::envelope),
        )
        .route(
            &format!("{CONTEXT}/rpc/json-rpc/confluenceservice-v2/{{method}}"),
            post(rpc::light),
        )
        .route(
            &format!("{CONTEXT}/rest/applinks/1.0/manifest"),
            get(manifest),
        )
        .route(
            &format!("{CONTEXT}/download/attachments/{{id}}/{{name}}"),
            get(download),
        )
        .layer(axum::middleware::from_fn_with_state(sim, dc_layer))
}

/// Auth, per-user rate limiting, counting and the Data Center shapes, in front of every route.
async fn dc_layer(State(sim): State<Arc<Sim>>, mut req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    let method = req.method().as_str().to_string();
    // One bucket per user for the whole site (Data Center's rate limiting).
    let limit = sim
        .limiter
        .limits
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .limit_for(&method, CONTEXT);
    let verdict = sim.limiter.check(&method, CONTEXT);
    let rate_headers = |r: &mut Response, remaining: u32| {
        if let Some(l) = limit {
            let h = r.headers_mut();
            h.insert("x-ratelimit-limit", HeaderValue::from(l.burst));
            h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
            h.insert("x-ratelimit-interval-seconds", HeaderValue::from(1));
            if let Ok(v) = HeaderValue::from_str(&format!("{}", l.per_second)) {
                h.insert("x-ratelimit-fillrate", v);
            }
        }
    };
    if let Some(v) = verdict
        && !v.allowed
    {
        let secs = v.retry_after.as_secs_f64().ceil().max(1.0) as u64;
        let mut r = dc_error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        rate_headers(&mut r, 0);
        sim.stats.record(&method, &route, 429);
        return r;
    }
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let caller = match cloud_header(&sim, auth.as_deref()) {
        Some(h) => sim.confluence.authenticate(Some(&h)),
        None => Err(ApiError::unauthorized()),
    };
    let mut resp = match caller {
        Ok(c) => {
            req.extensions_mut().insert(c);
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
                .unwrap_or_else(|| sim.addr.to_string());
            let resp = next.run(req).await;
            let usernames: std::collections::HashMap<String, String> = {
                let data = sim.confluence.read();
                data.d
                    .users
                    .iter()
                    .map(|u| {
                        let name = u.email.split('@').next().unwrap_or(&u.email);
                        (u.account_id.clone(), name.to_ascii_lowercase())
                    })
                    .collect()
            };
            reshape(resp, &host, &usernames).await
        }
        Err(e) if e.status == StatusCode::FORBIDDEN => dc_error(
            StatusCode::FORBIDDEN,
            "User is not permitted to use Confluence",
        ),
        Err(_) => dc_error(StatusCode::UNAUTHORIZED, "Authentication failed"),
    };
    if let Some(v) = verdict {
        rate_headers(&mut resp, v.remaining);
    }
    sim.stats.record(&method, &route, resp.status().as_u16());
    resp
}

/// The Cloud twin's Basic header for Data Center credentials (a PAT, or username:password).
fn cloud_header(sim: &Sim, header: Option<&str>) -> Option<String> {
    let (scheme, rest) = header?.split_once(' ')?;
    let creds = &sim.confluence.credentials;
    let cred = if scheme.eq_ignore_ascii_case("bearer") {
        creds.iter().find(|c| pat_for(c) == rest.trim())?
    } else if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (user, password) = raw.split_once(':')?;
        creds
            .iter()
            .find(|c| username_for(c).eq_ignore_ascii_case(user) && c.token == password)?
    } else {
        return None;
    };
    let raw = format!("{}:{}", cred.email, cred.token);
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    ))
}

/// The Cloud v1 answer in Data Center's shapes and links.
async fn reshape(
    resp: Response,
    host: &str,
    usernames: &std::collections::HashMap<String, String>,
) -> Response {
    let (parts, body) = resp.into_parts();
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return dc_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not read the answer",
        );
    };
    if !is_json {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let text = String::from_utf8_lossy(&bytes)
        .replace(
            &format!("http://{host}/wiki"),
            &format!("http://{host}{CONTEXT}"),
        )
        .replace(
            "\"context\":\"/wiki\"",
            &format!("\"context\":\"{CONTEXT}\""),
        )
        // Data Center's attachment ids are numbers, in links too.
        .replace("/rest/api/content/att", "/rest/api/content/")
        // A self link made of the base and the request path has the context once.
        .replace(&format!("{CONTEXT}{CONTEXT}/"), &format!("{CONTEXT}/"));
    let Ok(mut v) = serde_json::from_str::<Value>(&text) else {
        return Response::from_parts(parts, Body::from(text));
    };
    dc_shapes(&mut v, usernames);
    if let Some(next) = v.pointer_mut("/_links/next")
        && let Some(s) = next.as_str()
    {
        *next = json!(dc_next(s));
    }
    json_response(parts.status, &v)
}

/// A `next` link relative to the context, without Cloud's search cursor.
fn dc_next(s: &str) -> String {
    let rel = s.strip_prefix(CONTEXT).unwrap_or(s);
    let (path, query) = rel.split_once('?').unwrap_or((rel, ""));
    // Cloud's search links say `next=true&cursor=…`; Data Center's are plain offsets (the
    // scan's own `cursor` stays).
    let cloud_cursor = form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == "next");
    let kept: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| !(cloud_cursor && (k == "cursor" || k == "next")))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    format!("{path}?{q}")
}

/// Cloud's v1 objects as Data Center's: users by user key, groups without ids, numeric
/// attachment ids, no Cloud-only fields.
fn dc_shapes(v: &mut Value, usernames: &std::collections::HashMap<String, String>) {
    match v {
        Value::Array(a) => a.iter_mut().for_each(|x| dc_shapes(x, usernames)),
        Value::Object(m) => {
            if let Some(Value::String(account)) = m.get("accountId").cloned() {
                *v = dc_user(&account, m, usernames.get(&account));
                return;
            }
            let kind = m.get("type").and_then(Value::as_str).map(str::to_string);
            match kind.as_deref() {
                Some("group") => {
                    m.remove("id");
                }
                Some("attachment") => {
                    if let Some(Value::String(id)) = m.get("id")
                        && let Some(n) = id.strip_prefix("att")
                    {
                        let n = n.to_string();
                        m.insert("id".into(), json!(n));
                    }
                    if let Some(ext) = m.get_mut("extensions").and_then(Value::as_object_mut) {
                        ext.remove("fileId");
                        ext.remove("collectionName");
                    }
                }
                _ => {}
            }
            for k in CLOUD_ONLY {
                m.remove(*k);
            }
            // Data Center has no folders: a page under one hangs under the folder's parent.
            if let Some(Value::Array(chain)) = m.get_mut("ancestors") {
                chain.retain(|a| a.get("type").and_then(Value::as_str) != Some("folder"));
            }
            for (_, x) in m.iter_mut() {
                dc_shapes(x, usernames);
            }
        }
        _ => {}
    }
}

/// Fields of Cloud's v1 answers that Data Center does not send.
const CLOUD_ONLY: &[&str] = &[
    "macroRenderedOutput",
    "childTypes",
    "schedulePublishDate",
    "schedulePublishInfo",
    "cqlQuery",
    "searchDuration",
    "totalCount",
    "archivedResultCount",
    "friendlyWhen",
    "contentTypeModified",
];

fn dc_user(account_id: &str, cloud: &Map<String, Value>, username: Option<&String>) -> Value {
    let name = cloud
        .get("displayName")
        .cloned()
        .unwrap_or_else(|| json!("Unknown user"));
    let key = user_key(account_id);
    let username = username.cloned().unwrap_or_else(|| key.clone());
    json!({
        "type": cloud.get("type").cloned().unwrap_or(json!("known")),
        "username": username,
        "userKey": key,
        "profilePicture": {"path": "/confluence/images/icons/profilepics/default.svg", "width": 48, "height": 48, "isDefault": true},
        "displayName": name,
        "_links": {"self": format!("{CONTEXT}/rest/api/user?key={key}")},
    })
}

/// The request's query with `limit` capped at `cap` (silently, as Data Center does).
fn capped(mut ctx: Ctx, cap: usize) -> Ctx {
    let mut seen = false;
    for (k, v) in ctx.q.pairs.iter_mut() {
        if k == "limit" {
            seen = true;
            if v.parse::<usize>().is_ok_and(|n| n > cap) {
                *v = cap.to_string();
            }
        }
    }
    if !seen {
        ctx.q.pairs.push(("limit".into(), 25.min(cap).to_string()));
    }
    ctx
}

type R = Result<Response, ApiError>;

async fn spaces(ctx: Ctx) -> R {
    v1::spaces(capped(ctx, 100)).await
}

async fn space(ctx: Ctx, key: Path<String>) -> R {
    v1::space(ctx, key).await
}

async fn contents(ctx: Ctx) -> R {
    v1::contents(capped(ctx, CONTENT_CAP)).await
}

async fn search(ctx: Ctx) -> R {
    v1::search(capped(ctx, SEARCH_CAP)).await
}

async fn content(ctx: Ctx, id: Path<String>) -> R {
    v1::content(ctx, id).await
}

/// `GET …/content/{id}/label`: of a page or blog post, or of an attachment (Data Center
/// attachments are content too).
async fn labels(ctx: Ctx, id: Path<String>) -> R {
    let attachment = {
        let data = ctx.conf().read();
        crate::confluence::api::path_id(&id.0).ok().and_then(|n| {
            let a = data.d.attachments.get(&n)?;
            let seen = data.can_view(&ctx.caller, a.container_id);
            Some(seen.then(|| {
                a.labels
                    .iter()
                    .filter_map(|l| data.d.labels.get(l))
                    .map(label_json)
                    .collect::<Vec<_>>()
            }))
        })
    };
    match attachment {
        Some(Some(all)) => offset_page(&ctx, all, 200),
        Some(None) => Err(ApiError::not_found_msg(format!(
            "No content found with id: ContentId{{id={}}}",
            id.0
        ))
        .v1()),
        None => v1::labels(ctx, id).await,
    }
}

async fn attachments(ctx: Ctx, id: Path<String>) -> R {
    v1::list_attachments(capped(ctx, CONTENT_CAP), id).await
}

async fn restrictions(ctx: Ctx, id: Path<String>) -> R {
    v1::restrictions_by_operation(ctx, id).await
}

async fn groups(ctx: Ctx) -> R {
    v1::groups(ctx).await
}

async fn current_user(ctx: Ctx) -> R {
    v1::current_user(ctx).await
}

/// `GET /confluence/rest/api/user?username=…` (or `key=…`): one user, 404 when unknown.
async fn user(ctx: Ctx) -> R {
    let by_name = ctx.q.get("username").map(str::to_ascii_lowercase);
    let by_key = ctx.q.get("key").map(str::to_string);
    if by_name.is_none() && by_key.is_none() {
        return Err(ApiError::bad_request("Either a username or a key must be given").v1());
    }
    let found = {
        let data = ctx.conf().read();
        data.d
            .users
            .iter()
            .find(|u| {
                let name = u.email.split('@').next().unwrap_or(&u.email);
                by_name
                    .as_deref()
                    .is_some_and(|n| name.eq_ignore_ascii_case(n))
                    || by_key.as_deref() == Some(user_key(&u.account_id).as_str())
            })
            .map(|u| json!({"type": "known", "accountId": u.account_id, "displayName": u.display_name}))
    };
    match found {
        Some(u) => Ok(json_response(StatusCode::OK, &u)),
        None => {
            let what = match (by_name, by_key) {
                (Some(n), _) => format!("username: {n}"),
                (None, Some(k)) => format!("key: {k}"),
                (None, None) => String::new(),
            };
            Err(ApiError::not_found_msg(format!("No user found with {what}")).v1())
        }
    }
}

async fn download(ctx: Ctx, p: Path<(String, String)>) -> R {
    v1::download(ctx, p).await
}

/// `GET /confluence/rest/api/group/{groupName}/member` (Data Center knows groups by name).
async fn members(ctx: Ctx, Path(name): Path<String>) -> R {
    let id = {
        let data = ctx.conf().read();
        data.d
            .groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.id.clone())
            .ok_or_else(|| {
                ApiError::not_found_msg(format!("No group found with name : {name}")).v1()
            })?
    };
    v1::group_members(ctx, Path(id)).await
}

/// `GET /confluence/rest/applinks/1.0/manifest`: what the server is.
async fn manifest(ctx: Ctx) -> R {
    let base = ctx.base.replace("/wiki", CONTEXT);
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "id": "kbridge-sim-dc",
            "name": "kbridge sim (Confluence Data Center twin)",
            "typeId": "confluence",
            "version": VERSION,
            "buildNumber": 9012,
            "applinksVersion": "9.0.0",
            "url": base,
        }),
    ))
}

/// `GET /confluence/rest/api/content/scan` (7.18+): the pages of a space (or of the site) in id
/// order, `status` current (default), trashed or any; `cursor` is `content:false:<last id>`.
async fn scan(ctx: Ctx) -> R {
    let limit = match ctx.q.get("limit") {
        None => 25,
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("limit must be a number, was {l}")).v1())?,
    }
    .min(CONTENT_CAP);
    let after: u64 = match ctx.q.get("cursor") {
        None => 0,
        Some(c) => c
            .strip_prefix("content:false:")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| ApiError::bad_request(format!("Invalid cursor: {c}")).v1())?,
    };
    let status = ctx.q.get("status").unwrap_or("current").to_string();
    if !matches!(status.as_str(), "current" | "trashed" | "any" | "archived") {
        return Err(ApiError::bad_request(format!("Unsupported status: {status}")).v1());
    }
    let key = ctx.q.get("spaceKey").map(str::to_string);
    let ids: Vec<u64> = {
        let data = ctx.conf().read();
        let d = &data.d;
        let space_id = match &key {
            Some(k) => Some(
                d.spaces
                    .iter()
                    .find(|s| s.key == *k)
                    .map(|s| s.id)
                    .ok_or_else(|| {
                        ApiError::not_found_msg(format!("No space with key : {k}")).v1()
                    })?,
            ),
            None => None,
        };
        let hidden = data.hidden(&ctx.caller);
        let mut ids: Vec<u64> = d
            .contents
            .values()
            .filter(|c| {
                c.kind == crate::model::ContentKind::Page
                    && c.id > after
                    && space_id.is_none_or(|s| s == c.space_id)
                    && hidden.sees(c.id)
                    && match status.as_str() {
                        "any" => matches!(
                            c.status,
                            crate::model::Status::Current
                                | crate::model::Status::Trashed
                                | crate::model::Status::Archived
                        ),
                        s => c.status.as_str() == s,
                    }
            })
            .map(|c| c.id)
            .collect();
        ids.sort_unstable();
        ids
    };
    let page: Vec<u64> = ids.iter().take(limit).copied().collect();
    let more = ids.len() > page.len();
    let mut results = Vec::with_capacity(page.len());
    for id in &page {
        let mut q = ctx.q.pairs.clone();
        q.retain(|(k, _)| k == "expand");
        q.push(("status".into(), "any".into()));
        let one = Ctx {
            sim: ctx.sim.clone(),
            caller: ctx.caller.clone(),
            q: crate::confluence::api::Query { pairs: q },
            path: format!("{CONTEXT}/rest/api/content/{id}"),
            base: ctx.base.clone(),
        };
        let r = v1::content(one, Path(id.to_string())).await?;
        let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .map_err(|_| ApiError::bad_request("could not render content").v1())?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|_| ApiError::bad_request("could not render content").v1())?;
        results.push(v);
    }
    let cursor = format!("content:false:{after}");
    let mut out = json!({
        "results": results,
        "limit": limit,
        "size": page.len(),
        "cursor": cursor,
        "_links": {"base": ctx.base, "context": "/wiki", "self": format!("{}/rest/api/content/scan", ctx.base)},
    });
    if after > 0 {
        out["prevCursor"] = json!(format!("content:true:{after}"));
    }
    if more && let Some(last) = page.last() {
        let next_cursor = format!("content:false:{last}");
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &ctx.q.pairs {
            if k != "cursor" && k != "limit" {
                ser.append_pair(k, v);
            }
        }
        ser.append_pair("cursor", &next_cursor);
        ser.append_pair("limit", &limit.to_string());
        out["nextCursor"] = json!(next_cursor);
        out["_links"]["next"] = json!(format!("/rest/api/content/scan?{}", ser.finish()));
    }
    Ok(json_response(StatusCode::OK, &out))
}

fn label_json(l: &crate::model::Label) -> Value {
    json!({"prefix": l.prefix, "name": l.name, "id": l.id.to_string(), "label": l.name})
}

fn property_json(p: &crate::model::Property, base: &str, owner: &str) -> Value {
    json!({
        "id": p.id.to_string(),
        "key": p.key,
        "value": p.value,
        "version": {"when": crate::time::iso(p.version.created_at), "message": p.version.message, "number": p.version.number, "minorEdit": p.version.minor_edit},
        "_links": {"self": format!("{base}/rest/api/{owner}/property/{}", p.key)},
    })
}

fn offset_page(ctx: &Ctx, all: Vec<Value>, cap: usize) -> R {
    let start = ctx
        .q
        .get("start")
        .map(|s| s.parse::<usize>())
        .transpose()
        .map_err(|_| ApiError::bad_request("start must be a number").v1())?
        .unwrap_or(0);
    let limit = ctx
        .q
        .get("limit")
        .map(|s| s.parse::<usize>())
        .transpose()
        .map_err(|_| ApiError::bad_request("limit must be a number").v1())?
        .unwrap_or(25)
        .min(cap);
    let page: Vec<Value> = all.iter().skip(start).take(limit).cloned().collect();
    let mut links = json!({"base": ctx.base, "context": "/wiki", "self": format!("{}{}", ctx.base, ctx.path.trim_start_matches(CONTEXT))});
    if start + page.len() < all.len() && limit > 0 {
        links["next"] = json!(format!(
            "{}?limit={limit}&start={}",
            ctx.path,
            start + page.len()
        ));
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({"results": page, "start": start, "limit": limit, "size": page.len(), "_links": links}),
    ))
}

/// `GET /confluence/rest/api/space/{spaceKey}/labels`.
async fn space_labels(ctx: Ctx, Path(key): Path<String>) -> R {
    let all = {
        let data = ctx.conf().read();
        let s =
            data.d.spaces.iter().find(|s| s.key == key).ok_or_else(|| {
                ApiError::not_found_msg(format!("No space with key : {key}")).v1()
            })?;
        s.labels
            .iter()
            .filter_map(|id| data.d.labels.get(id))
            .map(label_json)
            .collect::<Vec<_>>()
    };
    offset_page(&ctx, all, 200)
}

/// `GET /confluence/rest/api/space/{spaceKey}/property`.
async fn space_properties(ctx: Ctx, Path(key): Path<String>) -> R {
    let all = {
        let data = ctx.conf().read();
        let s =
            data.d.spaces.iter().find(|s| s.key == key).ok_or_else(|| {
                ApiError::not_found_msg(format!("No space with key : {key}")).v1()
            })?;
        s.properties
            .iter()
            .map(|p| {
                // A space property has no id in Data Center's shape (`JsonSpaceProperty`).
                let mut v = property_json(p, &ctx.base, &format!("space/{key}"));
                if let Some(m) = v.as_object_mut() {
                    m.remove("id");
                }
                v
            })
            .collect::<Vec<_>>()
    };
    offset_page(&ctx, all, 200)
}

/// `GET /confluence/rest/api/content/{id}/property`.
async fn properties(ctx: Ctx, Path(id): Path<String>) -> R {
    let all = {
        let data = ctx.conf().read();
        let cid = crate::confluence::api::path_id(&id).map_err(ApiError::v1)?;
        let c = data
            .d
            .contents
            .get(&cid)
            .filter(|c| {
                c.status != crate::model::Status::Deleted && data.can_view(&ctx.caller, cid)
            })
            .ok_or_else(|| {
                ApiError::not_found_msg(format!("No content found with id: ContentId{{id={id}}}"))
                    .v1()
            })?;
        c.properties
            .iter()
            .map(|p| property_json(p, &ctx.base, &format!("content/{id}")))
            .collect::<Vec<_>>()
    };
    offset_page(&ctx, all, 200)
}
