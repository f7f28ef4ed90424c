//! REST v2 reads (`/wiki/api/v2/…`).

use axum::extract::Path;
use axum::response::Response;
use serde_json::{Value, json};

use super::Data;
use super::api::*;
use super::render::{self, CommentShape, sid};
use crate::model::*;

type R = Result<Response, ApiError>;

/// `(field, descending)` from a `sort` parameter restricted to `allowed` field names.
pub(super) fn sort(q: &Query, allowed: &[&str], default: &str) -> Result<(String, bool), ApiError> {
    let mut values: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
    values.extend(allowed.iter().map(|a| format!("-{a}")));
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    let s = q
        .one_of("sort", &refs)?
        .unwrap_or_else(|| default.to_string());
    Ok(match s.strip_prefix('-') {
        Some(f) => (f.to_string(), true),
        None => (s, false),
    })
}

fn content_key(c: &Content, field: &str) -> Key {
    let v = match field {
        "created-date" => SortVal::I(c.created_at),
        "modified-date" => SortVal::I(c.modified_at),
        "title" => SortVal::S(c.title.clone()),
        "child-position" => SortVal::I(c.position as i64),
        _ => SortVal::I(c.id as i64),
    };
    (v, c.id)
}

/// Content of `kind` the caller can see, by id, or a 404.
pub(super) fn find<'a>(
    data: &'a Data,
    ctx: &Ctx,
    id: u64,
    kind: ContentKind,
) -> Result<&'a Content, ApiError> {
    data.d
        .contents
        .get(&id)
        .filter(|c| c.kind == kind && c.status != Status::Deleted && data.can_view(&ctx.caller, id))
        .ok_or_else(ApiError::not_found)
}

pub(super) fn kind_of(path: &str) -> ContentKind {
    if path.contains("/blogposts") {
        ContentKind::Blogpost
    } else if path.contains("/folders") {
        ContentKind::Folder
    } else {
        ContentKind::Page
    }
}

const PAGE_SORTS: &[&str] = &["id", "created-date", "modified-date", "title"];
const BLOG_SORTS: &[&str] = &["id", "created-date", "modified-date"];
const COMMENT_SORTS: &[&str] = &["created-date", "modified-date"];

/// The shared listing of pages or blog posts (`/pages`, `/blogposts`, `/spaces/{id}/…`).
fn list_content(ctx: &Ctx, kind: ContentKind, space: Option<u64>) -> R {
    let q = &ctx.q;
    let limit = q.limit(25, 250)?;
    let (statuses, sorts): (&[&str], &[&str]) = match kind {
        ContentKind::Blogpost => (&["current", "deleted", "trashed", "draft"], BLOG_SORTS),
        _ => (
            &["current", "archived", "deleted", "trashed", "draft"],
            PAGE_SORTS,
        ),
    };
    let mut status: Vec<Status> = q
        .list_of("status", statuses)?
        .iter()
        .filter_map(|s| Status::parse(s))
        .collect();
    if status.is_empty() {
        status = if kind == ContentKind::Blogpost {
            vec![Status::Current]
        } else {
            vec![Status::Current, Status::Archived]
        };
    }
    let ids = q.ids("id")?;
    let mut space_ids = q.ids("space-id")?;
    if let Some(s) = space {
        space_ids = vec![s];
    }
    let title = q.get("title").map(str::to_string);
    let root_only = matches!(
        q.one_of("depth", &["all", "root"])?.as_deref(),
        Some("root")
    );
    if kind == ContentKind::Page {
        q.one_of("subtype", &["live", "page"])?;
    }
    let fmt = body_format(q, "body-format", LIST_BODY_FORMATS)?;
    let (field, desc) = sort(q, sorts, "id")?;
    let data = ctx.conf().read();
    let d = &data.d;
    if let Some(s) = space
        && d.space(s).is_none()
    {
        return Err(ApiError::not_found());
    }
    let live_only = q.get("subtype") == Some("live");
    let hidden = data.hidden(&ctx.caller);
    let keep = |c: &Content| {
        !(c.kind != kind
            || !status.contains(&c.status)
            || (!ids.is_empty() && !ids.contains(&c.id))
            || (!space_ids.is_empty() && !space_ids.contains(&c.space_id))
            || title.as_ref().is_some_and(|t| *t != c.title)
            || (root_only && c.parent_id.is_some())
            || live_only)
            && hidden.sees(c.id)
    };
    if field == "id" {
        let after = ctx.id_cursor()?;
        let (page, next) = ctx.take_page(
            id_range(&d.contents, after, desc).filter(|c| keep(c)),
            |c| c.id,
            limit,
        );
        let results = page
            .into_iter()
            .map(|c| render::content_out(d, c, c.current(), fmt, true))
            .collect::<Vec<_>>();
        return ctx.list(results, next, limit);
    }
    // Sorted listings walk the per-sort index from the cursor on and stop after `limit + 1`.
    let field_key: &'static str = match field.as_str() {
        "created-date" => "created-date",
        "modified-date" => "modified-date",
        _ => "title",
    };
    let order = data.sorted_ids(kind, field_key);
    let key_of = |id: &u64| content_key(&d.contents[id], field_key);
    let after = ctx.cursor()?;
    let candidates: Box<dyn Iterator<Item = &u64>> = match (&after, desc) {
        (None, false) => Box::new(order.iter()),
        (None, true) => Box::new(order.iter().rev()),
        (Some(a), false) => Box::new(order[order.partition_point(|id| key_of(id) <= *a)..].iter()),
        (Some(a), true) => Box::new(
            order[..order.partition_point(|id| key_of(id) < *a)]
                .iter()
                .rev(),
        ),
    };
    let mut page: Vec<&Content> = candidates
        .map(|id| &d.contents[id])
        .filter(|c| keep(c))
        .take(limit + 1)
        .collect();
    let more = page.len() > limit;
    page.truncate(limit);
    let next = if more {
        page.last()
            .map(|c| ctx.encode_cursor(&content_key(c, field_key)))
    } else {
        None
    };
    let results = page
        .into_iter()
        .map(|c| render::content_out(d, c, c.current(), fmt, true))
        .collect::<Vec<_>>();
    ctx.list(results, next, limit)
}

pub async fn pages(ctx: Ctx) -> R {
    list_content(&ctx, ContentKind::Page, None)
}

pub async fn blogposts(ctx: Ctx) -> R {
    list_content(&ctx, ContentKind::Blogpost, None)
}

pub async fn space_pages(ctx: Ctx, Path(id): Path<String>) -> R {
    let id = path_id(&id)?;
    list_content(&ctx, ContentKind::Page, Some(id))
}

pub async fn space_blogposts(ctx: Ctx, Path(id): Path<String>) -> R {
    let id = path_id(&id)?;
    list_content(&ctx, ContentKind::Blogpost, Some(id))
}

/// `{results ≤ 50, meta {hasMore, cursor?}, _links {self}}` for `include-*` flags.
pub(super) fn included(results: Vec<Value>, self_link: String) -> Value {
    let has_more = results.len() > 50;
    let results: Vec<Value> = results.into_iter().take(50).collect();
    json!({"results": results, "meta": {"hasMore": has_more}, "_links": {"self": self_link}})
}

/// `GET /pages/{id}` and `GET /blogposts/{id}`.
fn single_content(ctx: &Ctx, id: &str, kind: ContentKind) -> R {
    let id = path_id(id)?;
    let q = &ctx.q;
    let fmt = body_format(q, "body-format", SINGLE_BODY_FORMATS)?;
    let statuses: &[&str] = &[
        "current",
        "archived",
        "trashed",
        "deleted",
        "historical",
        "draft",
    ];
    let mut status: Vec<Status> = q
        .list_of("status", statuses)?
        .iter()
        .filter_map(|s| Status::parse(s))
        .collect();
    if status.is_empty() {
        status = vec![Status::Current, Status::Archived];
    }
    let version = q.int("version")?;
    let include_version = q.bool("include-version", true)?;
    let include_labels = q.bool("include-labels", false)?;
    let include_properties = q.bool("include-properties", false)?;
    let include_versions = q.bool("include-versions", false)?;
    for f in [
        "include-operations",
        "include-likes",
        "include-favorited-by-current-user-status",
        "include-webresources",
        "include-collaborators",
        "include-direct-children",
        "get-draft",
    ] {
        q.bool(f, false)?;
    }
    let data = ctx.conf().read();
    let d = &data.d;
    let c = find(&data, ctx, id, kind)?;
    let v = match version {
        Some(n) => c
            .versions
            .iter()
            .find(|v| v.number as i64 == n)
            .ok_or_else(ApiError::not_found)?,
        None => {
            if !status.contains(&c.status) {
                return Err(ApiError::not_found());
            }
            c.current()
        }
    };
    let mut out = render::content(d, c, v, fmt, include_version);
    let plural = if kind == ContentKind::Blogpost {
        "blogposts"
    } else {
        "pages"
    };
    if include_labels {
        let ls = c
            .labels
            .iter()
            .filter_map(|l| d.labels.get(l))
            .map(render::label)
            .collect();
        out["labels"] = included(ls, format!("/wiki/api/v2/{plural}/{id}/labels"));
    }
    if include_properties {
        let ps = c.properties.iter().map(render::property).collect();
        out["properties"] = included(ps, format!("/wiki/api/v2/{plural}/{id}/properties"));
    }
    if include_versions {
        let vs = c.versions.iter().rev().map(render::version).collect();
        out["versions"] = included(vs, format!("/wiki/api/v2/{plural}/{id}/versions"));
    }
    ok(ctx.with_base(out))
}

pub async fn page(ctx: Ctx, Path(id): Path<String>) -> R {
    single_content(&ctx, &id, ContentKind::Page)
}

pub async fn blogpost(ctx: Ctx, Path(id): Path<String>) -> R {
    single_content(&ctx, &id, ContentKind::Blogpost)
}

pub async fn folder(ctx: Ctx, Path(id): Path<String>) -> R {
    let id = path_id(&id)?;
    for f in [
        "include-collaborators",
        "include-direct-children",
        "include-operations",
        "include-properties",
    ] {
        ctx.q.bool(f, false)?;
    }
    let data = ctx.conf().read();
    let c = find(&data, &ctx, id, ContentKind::Folder)?;
    if c.status == Status::Trashed {
        return Err(ApiError::not_found());
    }
    ok(ctx.with_base(render::folder(&data.d, c)))
}

// ---------------------------------------------------------------------------------------------
// Spaces

pub async fn spaces(ctx: Ctx) -> R {
    let q = &ctx.q;
    let limit = q.limit(25, 250)?;
    let ids = q.ids("ids")?;
    let keys = q.list("keys");
    let kind = q.one_of(
        "type",
        &[
            "global",
            "collaboration",
            "knowledge_base",
            "personal",
            "system",
            "onboarding",
            "xflow_sample_space",
        ],
    )?;
    let status = q.one_of("status", &["current", "archived"])?;
    let labels = q.list("labels");
    let desc_fmt = q.one_of("description-format", &["plain", "view"])?;
    q.bool("include-icon", false)?;
    let (field, desc) = sort(q, &["id", "key", "name"], "id")?;
    let data = ctx.conf().read();
    let d = &data.d;
    let mut items = Vec::new();
    for s in &d.spaces {
        if !super::perms::can_view_space(s, &ctx.caller)
            || (!ids.is_empty() && !ids.contains(&s.id))
            || (!keys.is_empty() && !keys.contains(&s.key))
            || kind.as_ref().is_some_and(|k| *k != s.kind)
            || status.as_ref().is_some_and(|st| st != s.status.as_str())
            || (!labels.is_empty()
                && !s
                    .labels
                    .iter()
                    .any(|l| d.labels.get(l).is_some_and(|l| labels.contains(&l.name))))
        {
            continue;
        }
        let key = match field.as_str() {
            "key" => SortVal::S(s.key.clone()),
            "name" => SortVal::S(s.name.clone()),
            _ => SortVal::I(s.id as i64),
        };
        items.push(((key, s.id), s));
    }
    let (page, next) = ctx.paginate(items, desc, limit)?;
    let results = page
        .into_iter()
        .map(|s| {
            let mut v = render::space(s, false);
            v["currentActiveAlias"] = json!(s.key);
            describe(&mut v, s, desc_fmt.as_deref());
            v
        })
        .collect();
    ctx.list(results, next, limit)
}

fn describe(v: &mut Value, s: &Space, fmt: Option<&str>) {
    match fmt {
        Some("plain") => {
            v["description"] = json!({"plain": {"representation": "plain", "value": s.description}})
        }
        Some("view") => {
            v["description"] = json!({"view": {"representation": "view", "value": format!("<p>{}</p>", s.description)}})
        }
        _ => {}
    }
}

pub(super) fn find_space<'a>(
    data: &'a Data,
    caller: &super::Caller,
    id: &str,
) -> Result<&'a Space, ApiError> {
    let id = path_id(id)?;
    data.d
        .space(id)
        .filter(|s| super::perms::can_view_space(s, caller))
        .ok_or_else(ApiError::not_found)
}

pub async fn space(ctx: Ctx, Path(id): Path<String>) -> R {
    let q = &ctx.q;
    let desc_fmt = q.one_of("description-format", &["plain", "view"])?;
    let include_labels = q.bool("include-labels", false)?;
    let include_properties = q.bool("include-properties", false)?;
    let include_permissions = q.bool("include-permissions", false)?;
    for f in [
        "include-icon",
        "include-operations",
        "include-role-assignments",
    ] {
        q.bool(f, false)?;
    }
    let data = ctx.conf().read();
    let d = &data.d;
    let s = find_space(&data, &ctx.caller, &id)?;
    let mut v = render::space(s, false);
    describe(&mut v, s, desc_fmt.as_deref());
    if include_labels {
        let ls = s
            .labels
            .iter()
            .filter_map(|l| d.labels.get(l))
            .map(render::label)
            .collect();
        v["labels"] = included(ls, format!("/wiki/api/v2/spaces/{}/labels", s.id));
    }
    if include_properties {
        let ps = s.properties.iter().map(render::space_property).collect();
        v["properties"] = included(ps, format!("/wiki/api/v2/spaces/{}/properties", s.id));
    }
    if include_permissions {
        let ps = s.permissions.iter().map(render::space_permission).collect();
        v["permissions"] = included(ps, format!("/wiki/api/v2/spaces/{}/permissions", s.id));
    }
    ok(ctx.with_base(v))
}

pub(super) fn label_list(ctx: &Ctx, ids: Vec<u64>, d: &Dataset) -> R {
    let q = &ctx.q;
    let limit = q.limit(25, 250)?;
    let prefixes = q.list_of("prefix", &["my", "team", "global", "system"])?;
    let (field, desc) = sort(q, &["created-date", "id", "name"], "id")?;
    let mut items = Vec::new();
    for id in ids {
        let Some(l) = d.labels.get(&id) else { continue };
        if !prefixes.is_empty() && !prefixes.contains(&l.prefix) {
            continue;
        }
        let key = if field == "name" {
            SortVal::S(l.name.clone())
        } else {
            SortVal::I(l.id as i64)
        };
        items.push(((key, l.id), l));
    }
    let (page, next) = ctx.paginate(items, desc, limit)?;
    ctx.list(page.into_iter().map(render::label).collect(), next, limit)
}

pub async fn space_labels(ctx: Ctx, Path(id): Path<String>) -> R {
    let data = ctx.conf().read();
    let s = find_space(&data, &ctx.caller, &id)?;
    label_list(&ctx, s.labels.clone(), &data.d)
}

pub async fn space_content_labels(ctx: Ctx, Path(id): Path<String>) -> R {
    let data = ctx.conf().read();
    let s = find_space(&data, &ctx.caller, &id)?;
    let mut ids: Vec<u64> = data
        .d
        .contents
        .values()
        .filter(|c| {
            c.space_id == s.id && c.status != Status::Deleted && data.can_view(&ctx.caller, c.id)
        })
        .flat_map(|c| c.labels.iter().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    label_list(&ctx, ids, &data.d)
}

pub async fn labels(ctx: Ctx) -> R {
    let wanted = ctx.q.ids("label-id")?;
    let data = ctx.conf().read();
    let ids = data
        .d
        .labels
        .keys()
        .copied()
        .filter(|id| wanted.is_empty() || wanted.contains(id))
        .collect();
    label_list(&ctx, ids, &data.d)
}

pub async fn space_permissions(ctx: Ctx, Path(id): Path<String>) -> R {
    let limit = ctx.q.limit(25, 250)?;
    let data = ctx.conf().read();
    let s = find_space(&data, &ctx.caller, &id)?;
    let items = s
        .permissions
        .iter()
        .map(|p| ((SortVal::I(p.id as i64), p.id), p))
        .collect();
    let (page, next) = ctx.paginate(items, false, limit)?;
    ctx.list(
        page.into_iter().map(render::space_permission).collect(),
        next,
        limit,
    )
}

pub async fn space_properties(ctx: Ctx, Path(id): Path<String>) -> R {
    let limit = ctx.q.limit(25, 250)?;
    let key = ctx.q.get("key").map(str::to_string);
    let data = ctx.conf().read();
    let s = find_space(&data, &ctx.caller, &id)?;
    let items = s
        .properties
        .iter()
        .filter(|p| key.as_ref().is_none_or(|k| *k == p.key))
        .map(|p| ((SortVal::I(p.id as i64), p.id), p))
        .collect();
    let (page, next) = ctx.paginate(items, false, limit)?;
    ctx.list(
        page.into_iter().map(render::space_property).collect(),
        next,
        limit,
    )
}

pub async fn space_property(ctx: Ctx, Path((id, pid)): Path<(String, String)>) -> R {
    let pid = path_id(&pid)?;
    let data = ctx.conf().read();
    let s = find_space(&data, &ctx.caller, &id)?;
    let p = s
        .properties
        .iter()
        .find(|p| p.id == pid)
        .ok_or_else(ApiError::not_found)?;
    ok(render::space_property(p))
}

// ---------------------------------------------------------------------------------------------
// Sub-resources of pages and blog posts

pub async fn content_versions(ctx: Ctx, Path(id): Path<String>) -> R {
    let id = path_id(&id)?;
    let kind = kind_of(&ctx.path);
    let limit = ctx.q.limit(25, 250)?;
    let fmt = body_format(&ctx.q, "body-format", LIST_BODY_FORMATS)?;
    let (_, desc) = sort(&ctx.q, &["modified-date"], "-modified-date")?;
    let data = ctx.conf().read();
    let c = find(&data, &ctx, id, kind)?;
    let items = c
        .versions
        .iter()
        .map(|v| ((SortVal::I(v.number as i64), c.id), v))
        .collect();
    let (page, next) = ctx.paginate(items, desc, limit)?;
    ctx.list(
        page.into_iter()
            .map(|v| render::content_version(&data.d, c, v, fmt))
            .collect(),
        next,
        limit,
    )
}

pub async fn content_version(ctx: Ctx, Path((id, n)): Path<(String, String)>) -> R {
    let id = path_id(&id)?;
    let n = path_id(&n)?;
    let data = ctx.conf().read();
    let c = find(&data, &ctx, id, kind_of(&ctx.path))?;
    let v = c
        .versions
        .iter()
        .find(|v| v.number as u64 == n)
        .ok_or_else(ApiError::not_found)?;
    ok(render::detailed_version(c, v))
}

fn attachment_list(ctx: &Ctx, data: &Data, source: Source<'_>) -> R {
    let q = &ctx.q;
    let d = &data.d;
    let limit = q.limit(50, 250)?;
    let mut status: Vec<Status> = q
        .list_of("status", &["current", "archived", "trashed"])?
        .iter()
        .filter_map(|s| Status::parse(s))
        .collect();
    if status.is_empty() {
        status = vec![Status::Current, Status::Archived];
    }
    let media = q.get("mediaType").map(str::to_string);
    let filename = q.get("filename").map(str::to_string);
    let sorted = q.get("sort").is_some();
    let (field, desc) = sort(q, &["created-date", "modified-date"], "created-date")?;
    let hidden = data.hidden(&ctx.caller);
    let keep = |a: &Attachment| {
        status.contains(&a.status)
            && media.as_ref().is_none_or(|m| *m == a.media_type)
            && filename.as_ref().is_none_or(|f| *f == a.title)
            && data.d.contents.contains_key(&a.container_id)
            && hidden.sees(a.container_id)
    };
    let modified = field == "modified-date";
    let order = sorted.then_some((
        |a: &Attachment| {
            if modified {
                a.current().created_at
            } else {
                a.created_at
            }
        },
        desc,
    ));
    let (page, next) = source.page(ctx, &d.attachments, keep, |a| a.id, order, limit)?;
    ctx.list(
        page.into_iter()
            .map(|a| render::attachment_out(d, a, a.current()))
            .collect::<Vec<_>>(),
        next,
        limit,
    )
}

/// Where a listing's candidates come from: a whole id-keyed map, or a sorted id list.
#[derive(Clone, Copy)]
pub(super) enum Source<'a> {
    All,
    Ids(&'a [u64]),
}

impl<'a> Source<'a> {
    fn iter<V>(
        self,
        m: &'a std::collections::BTreeMap<u64, V>,
    ) -> Box<dyn Iterator<Item = &'a V> + 'a> {
        match self {
            Source::All => Box::new(m.values()),
            Source::Ids(ids) => Box::new(ids.iter().filter_map(move |i| m.get(i))),
        }
    }

    /// One page of the values that pass `keep`: in id order from the request's cursor on or,
    /// with `order` (a date key and whether descending), sorted by that key; and the next
    /// page's cursor.
    fn page<V>(
        self,
        ctx: &Ctx,
        m: &'a std::collections::BTreeMap<u64, V>,
        keep: impl Fn(&V) -> bool,
        id: impl Fn(&V) -> u64,
        order: Option<(impl Fn(&V) -> i64, bool)>,
        limit: usize,
    ) -> Result<(Vec<&'a V>, Option<String>), ApiError> {
        let Some((key, desc)) = order else {
            let after = ctx.id_cursor()?;
            return Ok(match self {
                Source::All => ctx.take_page(
                    id_range(m, after, false).filter(|v| keep(v)),
                    |v| id(v),
                    limit,
                ),
                Source::Ids(ids) => ctx.take_page(
                    ids_after(ids, after)
                        .iter()
                        .filter_map(|i| m.get(i))
                        .filter(|v| keep(v)),
                    |v| id(v),
                    limit,
                ),
            });
        };
        let items = self
            .iter(m)
            .filter(|v| keep(v))
            .map(|v| ((SortVal::I(key(v)), id(v)), v))
            .collect();
        ctx.paginate(items, desc, limit)
    }
}

pub async fn content_attachments(ctx: Ctx, Path(id): Path<String>) -> R {
    let id = path_id(&id)?;
    let data = ctx.conf().read();
    find(&data, &ctx, id, kind_of(&ctx.path))?;
    let empty = Vec::new();
    let ids = data.ix.attachments.get(&id).unwrap_or(&empty);
    attachment_list(&ctx, &data, Source::Ids(ids))
}

pub async fn attachments(ctx: Ctx) -> R {
    let data = ctx.conf().read();
    attachment_list(&ctx, &data, Source::All)
}

/// An attachment id as the API spells it: `att123` or `123`.
pub(super) fn attachment_id(s: &str) -> Result<u64, ApiError> {
    path_id(s.strip_prefix("att").unwrap_or(s))
}

pub async fn attachment(ctx: Ctx, Path(id): Path<String>) -> R {
    let id = attachment_id(&id)?;
    let version = ctx.q.int("version")?;
    for f in [
        "include-labels",
        "include-properties",
        "include-operations",
        "include-versions",
        "include-collaborators",
    ] {
        ctx.q.bool(f, false)?;
    }
    ctx.q.bool("include-version", true)?;
    let data = ctx.conf().read();
    let a = data
        .d
        .attachments
        .get(&id)
        .filter(|a| data.can_view(&ctx.caller, a.container_id))
        .ok_or_else(ApiError::not_found)?;
    let v = match version {
        Some(n) => a
            .versions
            .iter()
            .find(|v| v.number as i64 == n)
            .ok_or_else(ApiError::not_found)?,
        None => a.current(),
    };
    ok(ctx.with_base(render::attachment(&data.d, a, v)))
}

pub async fn content_labels(ctx: Ctx, Path(id): Path<String>) -> R {
    let id = path_id(&id)?;
    let data = ctx.conf().read();
    let c = find(&data, &ctx, id, kind_of(&ctx.path))?;
    label_list(&ctx, c.labels.clone(), &data.d)
}

pub async fn content_properties(ctx: Ctx, Path(id): Path<String>) -> R {
    let id = path_id(&id)?;
    let limit = ctx.q.limit(25, 250)?;
    let key = ctx.q.get("key").map(str::to_string);
    let (field, desc) = sort(&ctx.q, &["key"], "key")?;
    let data = ctx.conf().read();
    let c = find(&data, &ctx, id, kind_of(&ctx.path))?;
    let items = c
        .properties
        .iter()
        .filter(|p| key.as_ref().is_none_or(|k| *k == p.key))
        .map(|p| {
            let k = if field == "key" {
                SortVal::S(p.key.clone())
            } else {
                SortVal::I(p.id as i64)
            };
            ((k, p.id), p)
        })
        .collect();
    let (page, next) = ctx.paginate(items, desc, limit)?;
    ctx.list(
        page.into_iter().map(render::property).collect(),
        next,
        limit,
    )
}

pub async fn content_property(ctx: Ctx, Path((id, pid)): Path<(String, String)>) -> R {
    let id = path_id(&id)?;
    let pid = path_id(&pid)?;
    let data = ctx.conf().read();
    let c = find(&data, &ctx, id, kind_of(&ctx.path))?;
    let p = c
        .properties
        .iter()
        .find(|p| p.id == pid)
        .ok_or_else(ApiError::not_found)?;
    ok(render::property(p))
}

/// Comment listings: `roots` are the candidates, already restricted to one container or not.
fn comment_list(
    ctx: &Ctx,
    data: &Data,
    source: Source<'_>,
    kind: CommentKind,
    shape: CommentShape,
) -> R {
    let q = &ctx.q;
    let d = &data.d;
    let limit = q.limit(25, 250)?;
    let fmt = body_format(q, "body-format", LIST_BODY_FORMATS)?;
    let mut status: Vec<Status> = q
        .list_of(
            "status",
            &[
                "current",
                "archived",
                "trashed",
                "deleted",
                "historical",
                "draft",
            ],
        )?
        .iter()
        .filter_map(|s| Status::parse(s))
        .collect();
    if status.is_empty() {
        status = vec![Status::Current];
    }
    let resolution = if kind == CommentKind::Inline {
        q.list_of(
            "resolution-status",
            &["resolved", "open", "dangling", "reopened"],
        )?
    } else {
        Vec::new()
    };
    let sorted = q.get("sort").is_some();
    let (field, desc) = sort(q, COMMENT_SORTS, "created-date")?;
    let hidden = data.hidden(&ctx.caller);
    let keep = |c: &Comment| {
        c.kind == kind
            && status.contains(&c.status)
            && (resolution.is_empty()
                || c.resolution_status
                    .as_ref()
                    .is_some_and(|r| resolution.contains(r)))
            && data.sees_any(&hidden, c.container_id)
    };
    let modified = field == "modified-date";
    let order = sorted.then_some((
        |c: &Comment| {
            if modified {
                c.current().created_at
            } else {
                c.created_at
            }
        },
        desc,
    ));
    let (page, next) = source.page(ctx, &d.comments, keep, |c| c.id, order, limit)?;
    ctx.list(
        page.into_iter()
            .map(|c| render::comment_out(d, c, fmt, shape))
            .collect::<Vec<_>>(),
        next,
        limit,
    )
}

fn container_comments(ctx: &Ctx, id: &str, kind: CommentKind) -> R {
    let id = path_id(id)?;
    let data = ctx.conf().read();
    find(&data, ctx, id, kind_of(&ctx.path))?;
    let empty = Vec::new();
    let ids = data.ix.comments.get(&id).unwrap_or(&empty);
    comment_list(
        ctx,
        &data,
        Source::Ids(ids),
        kind,
        CommentShape::OfContainer,
    )
}

pub async fn content_footer_comments(ctx: Ctx, Path(id): Path<String>) -> R {
    container_comments(&ctx, &id, CommentKind::Footer)
}

pub async fn content_inline_comments(ctx: Ctx, Path(id): Path<String>) -> R {
    container_comments(&ctx, &id, CommentKind::Inline)
}

pub async fn footer_comments(ctx: Ctx) -> R {
    let data = ctx.conf().read();
    comment_list(
        &ctx,
        &data,
        Source::All,
        CommentKind::Footer,
        CommentShape::Full,
    )
}

pub async fn inline_comments(ctx: Ctx) -> R {
    let data = ctx.conf().read();
    comment_list(
        &ctx,
        &data,
        Source::All,
        CommentKind::Inline,
        CommentShape::Full,
    )
}

fn single_comment(ctx: &Ctx, id: &str, kind: CommentKind) -> R {
    let id = path_id(id)?;
    let fmt = body_format(&ctx.q, "body-format", SINGLE_BODY_FORMATS)?;
    for f in [
        "include-properties",
        "include-operations",
        "include-likes",
        "include-versions",
    ] {
        ctx.q.bool(f, false)?;
    }
    let data = ctx.conf().read();
    let c = data
        .d
        .comments
        .get(&id)
        .filter(|c| c.kind == kind && data.can_view_any(&ctx.caller, c.container_id))
        .ok_or_else(ApiError::not_found)?;
    let mut v = render::comment(&data.d, c, fmt, CommentShape::Full);
    if fmt.is_none() {
        v["body"] = json!({});
    }
    ok(ctx.with_base(v))
}

pub async fn footer_comment(ctx: Ctx, Path(id): Path<String>) -> R {
    single_comment(&ctx, &id, CommentKind::Footer)
}

pub async fn inline_comment(ctx: Ctx, Path(id): Path<String>) -> R {
    single_comment(&ctx, &id, CommentKind::Inline)
}

pub async fn comment_children(ctx: Ctx, Path(id): Path<String>) -> R {
    let id = path_id(&id)?;
    let kind = if ctx.path.contains("/inline-comments/") {
        CommentKind::Inline
    } else {
        CommentKind::Footer
    };
    let data = ctx.conf().read();
    data.d
        .comments
        .get(&id)
        .filter(|c| c.kind == kind && data.can_view_any(&ctx.caller, c.container_id))
        .ok_or_else(ApiError::not_found)?;
    let empty = Vec::new();
    let ids = data.ix.replies.get(&id).unwrap_or(&empty);
    comment_list(&ctx, &data, Source::Ids(ids), kind, CommentShape::Reply)
}

// ---------------------------------------------------------------------------------------------
// Tasks

pub async fn tasks(ctx: Ctx) -> R {
    let q = &ctx.q;
    let limit = q.limit(25, 250)?;
    let fmt = body_format(q, "body-format", LIST_BODY_FORMATS)?;
    q.bool("include-blank-tasks", true)?;
    let status = q.one_of("status", &["complete", "incomplete"])?;
    let task_ids = q.ids("task-id")?;
    let space_ids = q.ids("space-id")?;
    let page_ids = q.ids("page-id")?;
    let blog_ids = q.ids("blogpost-id")?;
    let created_by = q.list("created-by");
    let assigned_to = q.list("assigned-to");
    let completed_by = q.list("completed-by");
    let window = |name: &str| -> Result<(Option<i64>, Option<i64>), ApiError> {
        Ok((
            q.int(&format!("{name}-from"))?,
            q.int(&format!("{name}-to"))?,
        ))
    };
    let created = window("created-at")?;
    let due = window("due-at")?;
    let completed = window("completed-at")?;
    let within = |t: Option<i64>, (from, to): (Option<i64>, Option<i64>)| -> bool {
        if from.is_none() && to.is_none() {
            return true;
        }
        t.is_some_and(|t| from.is_none_or(|f| t >= f) && to.is_none_or(|x| t <= x))
    };
    let data = ctx.conf().read();
    let d = &data.d;
    let mut items = Vec::new();
    for t in d.tasks.values() {
        let kind = d.contents.get(&t.content_id).map(|c| c.kind);
        if status.as_ref().is_some_and(|s| *s != t.status)
            || (!task_ids.is_empty() && !task_ids.contains(&t.id))
            || (!space_ids.is_empty() && !space_ids.contains(&t.space_id))
            || !(page_ids.is_empty()
                || kind == Some(ContentKind::Page) && page_ids.contains(&t.content_id))
            || !(blog_ids.is_empty()
                || kind == Some(ContentKind::Blogpost) && blog_ids.contains(&t.content_id))
            || (!created_by.is_empty() && !created_by.contains(&t.created_by))
            || (!assigned_to.is_empty()
                && !t
                    .assigned_to
                    .as_ref()
                    .is_some_and(|a| assigned_to.contains(a)))
            || (!completed_by.is_empty()
                && !t
                    .completed_by
                    .as_ref()
                    .is_some_and(|a| completed_by.contains(a)))
            || !within(Some(t.created_at), created)
            || !within(t.due_at, due)
            || !within(t.completed_at, completed)
            || !task_visible(&data, t)
            || !data.can_view(&ctx.caller, t.content_id)
        {
            continue;
        }
        items.push(((SortVal::I(t.id as i64), t.id), t));
    }
    let (page, next) = ctx.paginate(items, false, limit)?;
    ctx.list(
        page.into_iter().map(|t| render::task(d, t, fmt)).collect(),
        next,
        limit,
    )
}

/// Tasks of trashed or purged content are not listed.
fn task_visible(data: &Data, t: &Task) -> bool {
    data.d
        .contents
        .get(&t.content_id)
        .is_some_and(|c| matches!(c.status, Status::Current | Status::Archived))
}

pub async fn task(ctx: Ctx, Path(id): Path<String>) -> R {
    let id = path_id(&id)?;
    let fmt = body_format(&ctx.q, "body-format", LIST_BODY_FORMATS)?;
    let data = ctx.conf().read();
    let t = data
        .d
        .tasks
        .get(&id)
        .filter(|t| task_visible(&data, t) && data.can_view(&ctx.caller, t.content_id))
        .ok_or_else(ApiError::not_found)?;
    ok(render::task(&data.d, t, fmt))
}

// ---------------------------------------------------------------------------------------------
// Hierarchy

/// The hierarchy node a path names (a page under `/pages`, a folder under `/folders`).
fn node<'a>(ctx: &Ctx, data: &'a Data, id: &str) -> Result<&'a Content, ApiError> {
    let id = path_id(id)?;
    let c = find(data, ctx, id, kind_of(&ctx.path))?;
    if matches!(c.status, Status::Trashed | Status::Deleted) {
        return Err(ApiError::not_found());
    }
    Ok(c)
}

/// Children the hierarchy endpoints show: current or archived, visible to the caller.
fn visible_children<'a>(ctx: &Ctx, data: &'a Data, id: u64) -> impl Iterator<Item = &'a Content> {
    data.ix
        .children
        .get(&id)
        .into_iter()
        .flatten()
        .filter_map(|c| data.d.contents.get(c))
        .filter(|c| {
            matches!(c.status, Status::Current | Status::Archived)
                && data.can_view(&ctx.caller, c.id)
        })
}

pub async fn page_children(ctx: Ctx, Path(id): Path<String>) -> R {
    let limit = ctx.q.limit(25, 250)?;
    let (field, desc) = sort(
        &ctx.q,
        &["created-date", "id", "child-position", "modified-date"],
        "child-position",
    )?;
    let data = ctx.conf().read();
    let c = node(&ctx, &data, &id)?;
    let items = visible_children(&ctx, &data, c.id)
        .filter(|c| c.kind == ContentKind::Page)
        .map(|c| (content_key(c, &field), c))
        .collect();
    let (page, next) = ctx.paginate(items, desc, limit)?;
    let results = page
        .into_iter()
        .map(|c| json!({"id": sid(c.id), "status": c.status.as_str(), "title": c.title, "spaceId": sid(c.space_id), "childPosition": c.position}))
        .collect();
    ctx.list(results, next, limit)
}

pub async fn direct_children(ctx: Ctx, Path(id): Path<String>) -> R {
    let limit = ctx.q.limit(25, 250)?;
    let (field, desc) = sort(
        &ctx.q,
        &[
            "created-date",
            "id",
            "modified-date",
            "child-position",
            "title",
        ],
        "child-position",
    )?;
    let data = ctx.conf().read();
    let c = node(&ctx, &data, &id)?;
    let items = visible_children(&ctx, &data, c.id)
        .map(|c| (content_key(c, &field), c))
        .collect();
    let (page, next) = ctx.paginate(items, desc, limit)?;
    let results = page
        .into_iter()
        .map(|c| {
            json!({"id": sid(c.id), "status": c.status.as_str(), "title": c.title, "type": c.kind.as_str(), "spaceId": sid(c.space_id), "childPosition": c.position})
        })
        .collect();
    ctx.list(results, next, limit)
}

pub async fn descendants(ctx: Ctx, Path(id): Path<String>) -> R {
    let limit = ctx.q.limit(25, 250)?;
    let depth = match ctx.q.int("depth")? {
        None => 2,
        Some(n @ 1..=5) => n as usize,
        Some(n) => {
            return Err(ApiError::bad_request(format!(
                "Provided value {{{n}}} for 'depth' must be between 1 and 5"
            )));
        }
    };
    let data = ctx.conf().read();
    let root = node(&ctx, &data, &id)?;
    // Top to bottom: a pre-order walk, each node before its children.
    let mut order: Vec<(&Content, usize)> = Vec::new();
    let mut stack: Vec<(u64, usize)> = vec![(root.id, 0)];
    while let Some((id, d)) = stack.pop() {
        if id != root.id {
            order.push((&data.d.contents[&id], d));
        }
        if d < depth {
            let kids: Vec<u64> = visible_children(&ctx, &data, id).map(|c| c.id).collect();
            stack.extend(kids.into_iter().rev().map(|k| (k, d + 1)));
        }
    }
    // The cursor is a position in this order; it continues after the id it names when that id
    // is still there.
    let start = match ctx.cursor()? {
        None => 0,
        Some((SortVal::I(pos), last)) => match order.iter().position(|(c, _)| c.id == last) {
            Some(i) => i + 1,
            None => (pos.max(0) as usize + 1).min(order.len()),
        },
        Some(_) => return Err(ApiError::bad_request("Invalid cursor")),
    };
    let end = (start + limit).min(order.len());
    let next = (end < order.len())
        .then(|| ctx.encode_cursor(&(SortVal::I(end as i64 - 1), order[end - 1].0.id)));
    let results = order[start..end]
        .iter()
        .map(|(c, d)| {
            let mut v = json!({"id": sid(c.id), "status": c.status.as_str(), "title": c.title, "type": c.kind.as_str(), "depth": d, "childPosition": c.position});
            if let Some(p) = c.parent_id {
                v["parentId"] = sid(p);
            }
            v
        })
        .collect();
    ctx.list(results, next, limit)
}

pub async fn ancestors(ctx: Ctx, Path(id): Path<String>) -> R {
    let limit = ctx.q.limit(25, 250)?;
    let data = ctx.conf().read();
    let c = find(&data, &ctx, path_id(&id)?, kind_of(&ctx.path))?;
    let mut chain = Vec::new();
    let mut cur = c.parent_id;
    while let Some(p) = cur {
        let Some(pc) = data.d.contents.get(&p) else {
            break;
        };
        chain.push(pc);
        cur = pc.parent_id;
        if chain.len() > 10_000 {
            break;
        }
    }
    // The nearest `limit` ancestors, highest first.
    chain.truncate(limit);
    chain.reverse();
    let results: Vec<Value> = chain
        .into_iter()
        .map(|a| json!({"id": sid(a.id), "type": a.kind.as_str()}))
        .collect();
    // The spec gives `/pages/{id}/ancestors` a `_links` and `/folders/{id}/ancestors` none.
    if kind_of(&ctx.path) == ContentKind::Folder {
        return ok(json!({"results": results}));
    }
    ok(json!({"results": results, "_links": {"base": ctx.base}}))
}
