//! The v2 response shapes, field for field as in Atlassian's OpenAPI spec (`PageBulk`,
//! `PageSingle`, `BlogPostBulk`, `SpaceBulk`, `AttachmentBulk`, `FooterCommentModel`, `Task`…).
//! Fields the spec does not mark nullable are left out rather than sent as `null`.

use serde_json::{Map, Value, json};

use super::api::BodyFormat;
use crate::model::*;
use crate::time::iso;

pub fn sid(id: u64) -> Value {
    Value::String(id.to_string())
}

pub fn att_id(id: u64) -> String {
    format!("att{id}")
}

/// `Version` (v2).
pub fn version(v: &Version) -> Value {
    json!({
        "createdAt": iso(v.created_at),
        "message": v.message,
        "number": v.number,
        "minorEdit": v.minor_edit,
        "authorId": v.author_id,
    })
}

pub fn body(v: &str, fmt: Option<BodyFormat>) -> Value {
    match fmt {
        Some(BodyFormat::Storage) => json!({"storage": {"representation": "storage", "value": v}}),
        None => json!({}),
    }
}

/// Confluence's tiny link: the id's little-endian bytes in base64, `/`→`-`, `+`→`_`, trailing
/// `A`s and padding dropped.
pub fn tinyui(id: u64) -> String {
    use base64::Engine as _;
    let bytes = id.to_le_bytes();
    let n = bytes
        .iter()
        .rposition(|b| *b != 0)
        .map_or(1, |i| i + 1)
        .max(4);
    let s = base64::engine::general_purpose::STANDARD.encode(&bytes[..n]);
    let s = s.replace('/', "-").replace('+', "_");
    format!("/x/{}", s.trim_end_matches('=').trim_end_matches('A'))
}

/// A title as it appears in a web UI path (`Release+notes`).
pub fn title_slug(t: &str) -> String {
    form_urlencoded::byte_serialize(t.as_bytes()).collect()
}

pub fn webui(d: &Dataset, c: &Content) -> String {
    let key = d.space(c.space_id).map(|s| s.key.as_str()).unwrap_or("");
    match c.kind {
        ContentKind::Page => format!("/spaces/{key}/pages/{}/{}", c.id, title_slug(&c.title)),
        ContentKind::Blogpost => {
            let p = crate::time::parts(c.created_at);
            format!(
                "/spaces/{key}/blog/{:04}/{:02}/{:02}/{}/{}",
                p.year,
                p.month,
                p.day,
                c.id,
                title_slug(&c.title)
            )
        }
        ContentKind::Folder => format!("/spaces/{key}/folder/{}", c.id),
    }
}

fn content_links(d: &Dataset, c: &Content) -> Value {
    json!({
        "webui": webui(d, c),
        "editui": format!("/pages/resumedraft.action?draftId={}", c.id),
        "tinyui": tinyui(c.id),
    })
}

pub fn parent_type(d: &Dataset, c: &Content) -> Option<&'static str> {
    c.parent_id
        .and_then(|p| d.contents.get(&p))
        .map(|p| p.kind.as_str())
}

/// `PageBulk` (lists) or the common part of `PageSingle`, at version `v`.
pub fn page(
    d: &Dataset,
    c: &Content,
    v: &Version,
    fmt: Option<BodyFormat>,
    include_version: bool,
) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), sid(c.id));
    m.insert(
        "status".into(),
        json!(if v.number == c.current().number {
            c.status.as_str()
        } else {
            "historical"
        }),
    );
    m.insert("title".into(), json!(v.title));
    m.insert("spaceId".into(), sid(c.space_id));
    if let Some(p) = c.parent_id {
        m.insert("parentId".into(), sid(p));
        if let Some(t) = parent_type(d, c) {
            m.insert("parentType".into(), json!(t));
        }
    }
    m.insert("position".into(), json!(c.position));
    m.insert("authorId".into(), json!(c.author_id));
    m.insert("ownerId".into(), json!(c.owner_id));
    m.insert("lastOwnerId".into(), Value::Null);
    m.insert("createdAt".into(), json!(iso(c.created_at)));
    if include_version {
        m.insert("version".into(), version(v));
    }
    m.insert("body".into(), body(v.body.as_str(), fmt));
    m.insert("_links".into(), content_links(d, c));
    Value::Object(m)
}

/// `BlogPostBulk` / the common part of `BlogPostSingle`.
pub fn blogpost(
    d: &Dataset,
    c: &Content,
    v: &Version,
    fmt: Option<BodyFormat>,
    include_version: bool,
) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), sid(c.id));
    m.insert(
        "status".into(),
        json!(if v.number == c.current().number {
            c.status.as_str()
        } else {
            "historical"
        }),
    );
    m.insert("title".into(), json!(v.title));
    m.insert("spaceId".into(), sid(c.space_id));
    m.insert("authorId".into(), json!(c.author_id));
    m.insert("createdAt".into(), json!(iso(c.created_at)));
    if include_version {
        m.insert("version".into(), version(v));
    }
    m.insert("body".into(), body(v.body.as_str(), fmt));
    m.insert("_links".into(), content_links(d, c));
    Value::Object(m)
}

pub fn content(
    d: &Dataset,
    c: &Content,
    v: &Version,
    fmt: Option<BodyFormat>,
    include_version: bool,
) -> Value {
    match c.kind {
        ContentKind::Blogpost => blogpost(d, c, v, fmt, include_version),
        _ => page(d, c, v, fmt, include_version),
    }
}

/// `FolderSingle`.
pub fn folder(d: &Dataset, c: &Content) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), sid(c.id));
    m.insert("type".into(), json!("folder"));
    m.insert("status".into(), json!(c.status.as_str()));
    m.insert("title".into(), json!(c.title));
    if let Some(p) = c.parent_id {
        m.insert("parentId".into(), sid(p));
        if let Some(t) = parent_type(d, c) {
            m.insert("parentType".into(), json!(t));
        }
    }
    m.insert("position".into(), json!(c.position));
    m.insert("authorId".into(), json!(c.author_id));
    m.insert("ownerId".into(), json!(c.owner_id));
    m.insert("createdAt".into(), json!(iso(c.created_at)));
    m.insert("spaceId".into(), sid(c.space_id));
    m.insert("version".into(), version(c.current()));
    m.insert("_links".into(), json!({"webui": webui(d, c)}));
    Value::Object(m)
}

/// `SpaceBulk` / the common part of `SpaceSingle`.
pub fn space(s: &Space, description: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), sid(s.id));
    m.insert("key".into(), json!(s.key));
    m.insert("name".into(), json!(s.name));
    m.insert("type".into(), json!(s.kind));
    m.insert("status".into(), json!(s.status.as_str()));
    m.insert("authorId".into(), json!(s.author_id));
    m.insert("createdAt".into(), json!(iso(s.created_at)));
    if let Some(h) = s.homepage_id {
        m.insert("homepageId".into(), sid(h));
    }
    if description {
        m.insert(
            "description".into(),
            json!({"plain": {"representation": "plain", "value": s.description}}),
        );
    }
    m.insert(
        "_links".into(),
        json!({"webui": format!("/spaces/{}", s.key)}),
    );
    Value::Object(m)
}

pub fn label(l: &Label) -> Value {
    json!({"id": sid(l.id), "name": l.name, "prefix": l.prefix})
}

/// `ContentProperty`.
pub fn property(p: &Property) -> Value {
    json!({
        "id": sid(p.id),
        "key": p.key,
        "value": p.value,
        "version": {
            "createdAt": iso(p.version.created_at),
            "message": p.version.message,
            "number": p.version.number,
            "minorEdit": p.version.minor_edit,
            "authorId": p.version.author_id,
        },
    })
}

/// `SpaceProperty`.
pub fn space_property(p: &Property) -> Value {
    json!({
        "id": sid(p.id),
        "key": p.key,
        "value": p.value,
        "createdAt": iso(p.version.created_at),
        "createdBy": p.version.author_id,
        "version": {
            "createdAt": iso(p.version.created_at),
            "createdBy": p.version.author_id,
            "message": p.version.message,
            "number": p.version.number,
        },
    })
}

/// `SpacePermissionAssignment`.
pub fn space_permission(p: &SpacePermission) -> Value {
    json!({
        "id": sid(p.id),
        "principal": {"type": p.principal_type, "id": p.principal_id},
        "operation": {"key": p.operation, "targetType": p.target_type},
    })
}

fn media_type_description(mt: &str) -> &'static str {
    match mt {
        "image/png" => "PNG Image",
        "image/jpeg" => "JPEG Image",
        "image/gif" => "GIF Image",
        "application/pdf" => "PDF Document",
        "text/plain" => "Text File",
        "text/csv" => "CSV File",
        _ => "File",
    }
}

/// The relative (to `/wiki`) download path of an attachment version.
pub fn download_link(a: &Attachment, v: &AttachmentVersion) -> String {
    let name: String = form_urlencoded::byte_serialize(a.title.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!(
        "/download/attachments/{}/{}?version={}&modificationDate={}&api=v2",
        a.container_id, name, v.number, v.created_at
    )
}

/// `AttachmentBulk` / the common part of `AttachmentSingle`.
pub fn attachment(d: &Dataset, a: &Attachment, v: &AttachmentVersion) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(att_id(a.id)));
    m.insert("status".into(), json!(a.status.as_str()));
    m.insert("title".into(), json!(a.title));
    m.insert("createdAt".into(), json!(iso(a.created_at)));
    match d.contents.get(&a.container_id).map(|c| c.kind) {
        Some(ContentKind::Blogpost) => m.insert("blogPostId".into(), sid(a.container_id)),
        _ => m.insert("pageId".into(), sid(a.container_id)),
    };
    m.insert("mediaType".into(), json!(a.media_type));
    m.insert(
        "mediaTypeDescription".into(),
        json!(media_type_description(&a.media_type)),
    );
    m.insert("comment".into(), json!(a.comment));
    m.insert("fileId".into(), json!(a.file_id));
    m.insert("fileSize".into(), json!(v.bytes.0.len()));
    let webui = format!(
        "/pages/viewpageattachments.action?pageId={}&preview=%2F{}%2F{}",
        a.container_id, a.container_id, a.id
    );
    let download = download_link(a, v);
    m.insert("webuiLink".into(), json!(webui));
    m.insert("downloadLink".into(), json!(download));
    m.insert(
        "version".into(),
        json!({
            "createdAt": iso(v.created_at),
            "message": v.message,
            "number": v.number,
            "minorEdit": v.minor_edit,
            "authorId": v.author_id,
        }),
    );
    m.insert(
        "_links".into(),
        json!({"webui": webui, "download": download}),
    );
    Value::Object(m)
}

/// Which comment schema to answer with: the spec has one per listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommentShape {
    /// `FooterCommentModel` / `InlineCommentModel` (global lists and single gets).
    Full,
    /// `PageCommentModel`, `BlogPostCommentModel`, `PageInlineCommentModel`… (per-content lists).
    OfContainer,
    /// `ChildrenCommentModel` / `InlineCommentChildrenModel` (replies).
    Reply,
}

pub fn comment(d: &Dataset, c: &Comment, fmt: Option<BodyFormat>, shape: CommentShape) -> Value {
    let container = d.contents.get(&c.container_id);
    let title = container
        .map(|p| format!("Re: {}", p.title))
        .unwrap_or_else(|| "Re: attachment".into());
    let mut m = Map::new();
    m.insert("id".into(), sid(c.id));
    m.insert("status".into(), json!(c.status.as_str()));
    m.insert("title".into(), json!(title));
    let container_key = match container.map(|p| p.kind) {
        Some(ContentKind::Blogpost) => "blogPostId",
        Some(_) => "pageId",
        None => "attachmentId",
    };
    if shape != CommentShape::Reply {
        let v = if container_key == "attachmentId" {
            json!(att_id(c.container_id))
        } else {
            sid(c.container_id)
        };
        m.insert(container_key.into(), v);
    }
    if shape != CommentShape::OfContainer
        && let Some(p) = c.parent_comment_id
    {
        m.insert("parentCommentId".into(), sid(p));
    }
    m.insert("version".into(), version(c.current()));
    m.insert("body".into(), body(c.current().body.as_str(), fmt));
    if c.kind == CommentKind::Inline {
        if let Some(r) = &c.resolution_status {
            m.insert("resolutionStatus".into(), json!(r));
        }
        let mut props = Map::new();
        if let Some(r) = &c.marker_ref {
            props.insert("inlineMarkerRef".into(), json!(r));
        }
        if let Some(s) = &c.original_selection {
            props.insert("inlineOriginalSelection".into(), json!(s));
        }
        m.insert("properties".into(), Value::Object(props));
    }
    let webui = match container {
        Some(p) => format!("{}?focusedCommentId={}", webui(d, p), c.id),
        None => format!(
            "/pages/viewpageattachments.action?focusedCommentId={}",
            c.id
        ),
    };
    m.insert("_links".into(), json!({"webui": webui}));
    Value::Object(m)
}

/// `Task`.
pub fn task(d: &Dataset, t: &Task, fmt: Option<BodyFormat>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), sid(t.id));
    m.insert("localId".into(), json!(t.local_id));
    m.insert("spaceId".into(), sid(t.space_id));
    match d.contents.get(&t.content_id).map(|c| c.kind) {
        Some(ContentKind::Blogpost) => m.insert("blogPostId".into(), sid(t.content_id)),
        _ => m.insert("pageId".into(), sid(t.content_id)),
    };
    m.insert("status".into(), json!(t.status));
    if fmt.is_some() {
        m.insert("body".into(), body(&t.body, fmt));
    }
    m.insert("createdBy".into(), json!(t.created_by));
    if let Some(a) = &t.assigned_to {
        m.insert("assignedTo".into(), json!(a));
    }
    if let Some(a) = &t.completed_by {
        m.insert("completedBy".into(), json!(a));
    }
    m.insert("createdAt".into(), json!(iso(t.created_at)));
    m.insert("updatedAt".into(), json!(iso(t.updated_at)));
    if let Some(x) = t.due_at {
        m.insert("dueAt".into(), json!(iso(x)));
    }
    if let Some(x) = t.completed_at {
        m.insert("completedAt".into(), json!(iso(x)));
    }
    Value::Object(m)
}

/// `PageVersion` / `BlogPostVersion` (items of `…/versions`).
pub fn content_version(c: &Content, v: &Version, fmt: Option<BodyFormat>) -> Value {
    let key = if c.kind == ContentKind::Blogpost {
        "blogpost"
    } else {
        "page"
    };
    let mut entity = json!({"id": sid(c.id), "title": v.title});
    if fmt.is_some() {
        entity["body"] = body(v.body.as_str(), fmt);
    }
    json!({
        "createdAt": iso(v.created_at),
        "message": v.message,
        "number": v.number,
        "minorEdit": v.minor_edit,
        "authorId": v.author_id,
        key: entity,
    })
}

/// `DetailedVersion`.
pub fn detailed_version(c: &Content, v: &Version) -> Value {
    let mut m = Map::new();
    m.insert("number".into(), json!(v.number));
    m.insert("authorId".into(), json!(v.author_id));
    m.insert("message".into(), json!(v.message));
    m.insert("createdAt".into(), json!(iso(v.created_at)));
    m.insert("minorEdit".into(), json!(v.minor_edit));
    m.insert("contentTypeModified".into(), json!(false));
    m.insert("collaborators".into(), json!([v.author_id]));
    if v.number > 1 {
        m.insert("prevVersion".into(), json!(v.number - 1));
    }
    if v.number < c.current().number {
        m.insert("nextVersion".into(), json!(v.number + 1));
    }
    Value::Object(m)
}
