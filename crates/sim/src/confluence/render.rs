//! The v2 response shapes, field for field as in Atlassian's OpenAPI spec (`PageBulk`,
//! `PageSingle`, `BlogPostBulk`, `SpaceBulk`, `AttachmentBulk`, `FooterCommentModel`, `Task`…).
//! Fields the spec does not mark nullable are left out rather than sent as `null`.

use std::borrow::Cow;
use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::api::BodyFormat;
use super::view::ViewCtx;
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

/// A v2 `body` in the representation asked for; `ctx` says what the body is on (for the
/// links of `view` and `export_view`).
pub fn body(v: &str, fmt: Option<BodyFormat>, ctx: ViewCtx) -> Value {
    serde_json::to_value(BodyOut::of(v, fmt, ctx)).unwrap_or(Value::Null)
}

/// Confluence's tiny link: the id's little-endian bytes in base64, `/`→`-`, `+`→`_`, trailing
/// `A`s and padding dropped.
pub fn tinyui(id: u64) -> String {
    TinyUi(id).to_string()
}

/// A title as it appears in a web UI path (`Release+notes`).
pub fn title_slug(t: &str) -> String {
    form_urlencoded::byte_serialize(t.as_bytes()).collect()
}

pub fn webui(d: &Dataset, c: &Content) -> String {
    WebUi {
        key: space_key(d, c),
        c,
    }
    .to_string()
}

fn space_key<'a>(d: &'a Dataset, c: &Content) -> &'a str {
    d.space(c.space_id).map(|s| s.key.as_str()).unwrap_or("")
}

pub fn parent_type(d: &Dataset, c: &Content) -> Option<&'static str> {
    c.parent_id
        .and_then(|p| d.contents.get(&p))
        .map(|p| p.kind.as_str())
}

// ---------------------------------------------------------------------------------------------
// Typed output for the hot shapes: serialized straight to the response, no intermediate
// `Value` and no allocation per field.

macro_rules! display_as_str {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

/// An id as a JSON string.
pub struct Sid(pub u64);

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
display_as_str!(Sid);

/// A timestamp as `2024-07-30T08:52:50.426Z`.
pub struct Iso(pub i64);

impl fmt::Display for Iso {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = crate::time::parts(self.0);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            p.year, p.month, p.day, p.hour, p.minute, p.second, p.milli
        )
    }
}
display_as_str!(Iso);

pub struct WebUi<'a> {
    key: &'a str,
    c: &'a Content,
}

impl fmt::Display for WebUi<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (key, c) = (self.key, self.c);
        match c.kind {
            ContentKind::Page => write!(f, "/spaces/{key}/pages/{}/", c.id)?,
            ContentKind::Blogpost => {
                let p = crate::time::parts(c.created_at);
                write!(
                    f,
                    "/spaces/{key}/blog/{:04}/{:02}/{:02}/{}/",
                    p.year, p.month, p.day, c.id
                )?
            }
            ContentKind::Folder => return write!(f, "/spaces/{key}/folder/{}", c.id),
        }
        for piece in form_urlencoded::byte_serialize(c.title.as_bytes()) {
            f.write_str(piece)?;
        }
        Ok(())
    }
}
display_as_str!(WebUi<'_>);

pub struct EditUi(u64);

impl fmt::Display for EditUi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/pages/resumedraft.action?draftId={}", self.0)
    }
}
display_as_str!(EditUi);

pub struct TinyUi(u64);

impl fmt::Display for TinyUi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use base64::Engine as _;
        let bytes = self.0.to_le_bytes();
        let n = bytes
            .iter()
            .rposition(|b| *b != 0)
            .map_or(1, |i| i + 1)
            .max(4);
        let mut buf = [0u8; 12];
        let len = base64::engine::general_purpose::STANDARD
            .encode_slice(&bytes[..n], &mut buf)
            .unwrap_or(0);
        let enc = std::str::from_utf8(&buf[..len]).unwrap_or("");
        f.write_str("/x/")?;
        for ch in enc.trim_end_matches('=').trim_end_matches('A').chars() {
            fmt::Write::write_char(
                f,
                match ch {
                    '/' => '-',
                    '+' => '_',
                    c => c,
                },
            )?;
        }
        Ok(())
    }
}

display_as_str!(TinyUi);

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionOut<'a> {
    created_at: Iso,
    message: &'a str,
    number: u32,
    minor_edit: bool,
    author_id: &'a str,
}

impl<'a> VersionOut<'a> {
    pub fn of(v: &'a Version) -> Self {
        VersionOut {
            created_at: Iso(v.created_at),
            message: &v.message,
            number: v.number,
            minor_edit: v.minor_edit,
            author_id: &v.author_id,
        }
    }
}

#[derive(Serialize)]
pub struct StorageOut<'a> {
    representation: &'static str,
    value: Cow<'a, str>,
}

#[derive(Serialize)]
pub struct BodyOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    storage: Option<StorageOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    view: Option<StorageOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    export_view: Option<StorageOut<'a>>,
}

impl<'a> BodyOut<'a> {
    /// The body in `fmt`: storage as held, `view`/`export_view` rendered from it
    /// ([`super::view`]).
    pub fn of(v: &'a str, fmt: Option<BodyFormat>, ctx: ViewCtx) -> Self {
        let mut b = BodyOut {
            storage: None,
            view: None,
            export_view: None,
        };
        match fmt {
            None => {}
            Some(BodyFormat::Storage) => {
                b.storage = Some(StorageOut {
                    representation: "storage",
                    value: Cow::Borrowed(v),
                })
            }
            Some(BodyFormat::View) => {
                b.view = Some(StorageOut {
                    representation: "view",
                    value: Cow::Owned(super::view::render(v, ctx)),
                })
            }
            Some(BodyFormat::ExportView) => {
                b.export_view = Some(StorageOut {
                    representation: "export_view",
                    value: Cow::Owned(super::view::render(v, ctx)),
                })
            }
        }
        b
    }
}

#[derive(Serialize)]
pub struct ContentLinks<'a> {
    webui: WebUi<'a>,
    editui: EditUi,
    tinyui: TinyUi,
}

/// `PageBulk` / `BlogPostBulk` and the common part of `PageSingle` / `BlogPostSingle`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContentOut<'a> {
    id: Sid,
    status: &'static str,
    title: &'a str,
    space_id: Sid,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<Sid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<i32>,
    author_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner_id: Option<&'a str>,
    /// `null` on pages (nullable in the spec), absent on blog posts.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_owner_id: Option<()>,
    created_at: Iso,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<VersionOut<'a>>,
    body: BodyOut<'a>,
    #[serde(rename = "_links")]
    links: ContentLinks<'a>,
}

/// A page or blog post at version `v`.
pub fn content_out<'a>(
    d: &'a Dataset,
    c: &'a Content,
    v: &'a Version,
    fmt: Option<BodyFormat>,
    include_version: bool,
) -> ContentOut<'a> {
    let page = c.kind != ContentKind::Blogpost;
    ContentOut {
        id: Sid(c.id),
        status: if v.number == c.current().number {
            c.status.as_str()
        } else {
            "historical"
        },
        title: &v.title,
        space_id: Sid(c.space_id),
        parent_id: if page { c.parent_id.map(Sid) } else { None },
        parent_type: if page { parent_type(d, c) } else { None },
        position: page.then_some(c.position),
        author_id: &c.author_id,
        owner_id: page.then_some(c.owner_id.as_str()),
        last_owner_id: page.then_some(()),
        created_at: Iso(c.created_at),
        version: include_version.then(|| VersionOut::of(v)),
        body: BodyOut::of(
            v.body.as_str(),
            fmt,
            ViewCtx {
                d,
                container: Some(c.id),
                absolute: None,
            },
        ),
        links: ContentLinks {
            webui: WebUi {
                key: space_key(d, c),
                c,
            },
            editui: EditUi(c.id),
            tinyui: TinyUi(c.id),
        },
    }
}

/// [`content_out`] as a `Value`, for single answers that get more fields.
pub fn content(
    d: &Dataset,
    c: &Content,
    v: &Version,
    fmt: Option<BodyFormat>,
    include_version: bool,
) -> Value {
    serde_json::to_value(content_out(d, c, v, fmt, include_version)).unwrap_or(Value::Null)
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

/// `/pages/viewpageattachments.action?pageId=…&preview=%2F…%2F…`.
struct AttachmentWebUi(u64, u64);

impl fmt::Display for AttachmentWebUi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "/pages/viewpageattachments.action?pageId={}&preview=%2F{}%2F{}",
            self.0, self.0, self.1
        )
    }
}
display_as_str!(AttachmentWebUi);

/// `/download/attachments/{container}/{name}?version=…&modificationDate=…&api=v2`.
struct Download<'a>(&'a Attachment, &'a AttachmentVersion);

impl fmt::Display for Download<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, v) = (self.0, self.1);
        write!(f, "/download/attachments/{}/", a.container_id)?;
        for piece in form_urlencoded::byte_serialize(a.title.as_bytes()) {
            f.write_str(if piece == "+" { "%20" } else { piece })?;
        }
        write!(
            f,
            "?version={}&modificationDate={}&api=v2",
            v.number, v.created_at
        )
    }
}
display_as_str!(Download<'_>);

/// The relative (to `/wiki`) download path of an attachment version.
pub fn download_link(a: &Attachment, v: &AttachmentVersion) -> String {
    Download(a, v).to_string()
}

pub fn media_type_description(mt: &str) -> &'static str {
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

#[derive(Serialize)]
struct AttachmentLinks<'a> {
    webui: AttachmentWebUi,
    download: Download<'a>,
}

/// `AttachmentBulk` and the common part of `AttachmentSingle`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentOut<'a> {
    id: AttId,
    status: &'static str,
    title: &'a str,
    created_at: Iso,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_id: Option<Sid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blog_post_id: Option<Sid>,
    media_type: &'a str,
    media_type_description: &'static str,
    comment: &'a str,
    file_id: &'a str,
    file_size: usize,
    webui_link: AttachmentWebUi,
    download_link: Download<'a>,
    version: AttachmentVersionOut<'a>,
    #[serde(rename = "_links")]
    links: AttachmentLinks<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AttachmentVersionOut<'a> {
    created_at: Iso,
    message: &'a str,
    number: u32,
    minor_edit: bool,
    author_id: &'a str,
}

/// An attachment id as the API spells it (`att123`).
pub struct AttId(pub u64);

impl fmt::Display for AttId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "att{}", self.0)
    }
}
display_as_str!(AttId);

pub fn attachment_out<'a>(
    d: &Dataset,
    a: &'a Attachment,
    v: &'a AttachmentVersion,
) -> AttachmentOut<'a> {
    let blog = d
        .contents
        .get(&a.container_id)
        .is_some_and(|c| c.kind == ContentKind::Blogpost);
    AttachmentOut {
        id: AttId(a.id),
        status: a.status.as_str(),
        title: &a.title,
        created_at: Iso(a.created_at),
        page_id: (!blog).then_some(Sid(a.container_id)),
        blog_post_id: blog.then_some(Sid(a.container_id)),
        media_type: &a.media_type,
        media_type_description: media_type_description(&a.media_type),
        comment: &a.comment,
        file_id: &a.file_id,
        file_size: v.bytes.0.len(),
        webui_link: AttachmentWebUi(a.container_id, a.id),
        download_link: Download(a, v),
        version: AttachmentVersionOut {
            created_at: Iso(v.created_at),
            message: &v.message,
            number: v.number,
            minor_edit: v.minor_edit,
            author_id: &v.author_id,
        },
        links: AttachmentLinks {
            webui: AttachmentWebUi(a.container_id, a.id),
            download: Download(a, v),
        },
    }
}

/// [`attachment_out`] as a `Value`.
pub fn attachment(d: &Dataset, a: &Attachment, v: &AttachmentVersion) -> Value {
    serde_json::to_value(attachment_out(d, a, v)).unwrap_or(Value::Null)
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

struct CommentTitle<'a>(Option<&'a str>);

impl fmt::Display for CommentTitle<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Re: {}", self.0.unwrap_or("attachment"))
    }
}
display_as_str!(CommentTitle<'_>);

struct CommentWebUi<'a> {
    container: Option<WebUi<'a>>,
    id: u64,
}

impl fmt::Display for CommentWebUi<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.container {
            Some(w) => write!(f, "{w}?focusedCommentId={}", self.id),
            None => write!(
                f,
                "/pages/viewpageattachments.action?focusedCommentId={}",
                self.id
            ),
        }
    }
}
display_as_str!(CommentWebUi<'_>);

#[derive(Serialize)]
struct CommentLinks<'a> {
    webui: CommentWebUi<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InlineProps<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    inline_marker_ref: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inline_original_selection: Option<&'a str>,
}

/// The comment shapes (`FooterCommentModel`, `PageCommentModel`, `ChildrenCommentModel`, the
/// inline variants…); which fields appear depends on [`CommentShape`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentOut<'a> {
    id: Sid,
    status: &'static str,
    title: CommentTitle<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_id: Option<Sid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blog_post_id: Option<Sid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment_id: Option<AttId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_comment_id: Option<Sid>,
    version: VersionOut<'a>,
    body: BodyOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolution_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<InlineProps<'a>>,
    #[serde(rename = "_links")]
    links: CommentLinks<'a>,
}

pub fn comment_out<'a>(
    d: &'a Dataset,
    c: &'a Comment,
    fmt: Option<BodyFormat>,
    shape: CommentShape,
) -> CommentOut<'a> {
    let container = d.contents.get(&c.container_id);
    let with_container = shape != CommentShape::Reply;
    let kind = container.map(|p| p.kind);
    let inline = c.kind == CommentKind::Inline;
    CommentOut {
        id: Sid(c.id),
        status: c.status.as_str(),
        title: CommentTitle(container.map(|p| p.title.as_str())),
        page_id: (with_container && matches!(kind, Some(ContentKind::Page | ContentKind::Folder)))
            .then_some(Sid(c.container_id)),
        blog_post_id: (with_container && kind == Some(ContentKind::Blogpost))
            .then_some(Sid(c.container_id)),
        attachment_id: (with_container && kind.is_none()).then_some(AttId(c.container_id)),
        parent_comment_id: if shape != CommentShape::OfContainer {
            c.parent_comment_id.map(Sid)
        } else {
            None
        },
        version: VersionOut::of(c.current()),
        body: BodyOut::of(
            c.current().body.as_str(),
            fmt,
            ViewCtx {
                d,
                container: Some(c.container_id),
                absolute: None,
            },
        ),
        resolution_status: if inline {
            c.resolution_status.as_deref()
        } else {
            None
        },
        properties: inline.then_some(InlineProps {
            inline_marker_ref: c.marker_ref.as_deref(),
            inline_original_selection: c.original_selection.as_deref(),
        }),
        links: CommentLinks {
            webui: CommentWebUi {
                container: container.map(|p| WebUi {
                    key: space_key(d, p),
                    c: p,
                }),
                id: c.id,
            },
        },
    }
}

/// [`comment_out`] as a `Value`.
pub fn comment(d: &Dataset, c: &Comment, fmt: Option<BodyFormat>, shape: CommentShape) -> Value {
    serde_json::to_value(comment_out(d, c, fmt, shape)).unwrap_or(Value::Null)
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
        let ctx = ViewCtx {
            d,
            container: Some(t.content_id),
            absolute: None,
        };
        m.insert("body".into(), body(&t.body, fmt, ctx));
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
pub fn content_version(d: &Dataset, c: &Content, v: &Version, fmt: Option<BodyFormat>) -> Value {
    let key = if c.kind == ContentKind::Blogpost {
        "blogpost"
    } else {
        "page"
    };
    let mut entity = json!({"id": sid(c.id), "title": v.title});
    if fmt.is_some() {
        let ctx = ViewCtx {
            d,
            container: Some(c.id),
            absolute: None,
        };
        entity["body"] = body(v.body.as_str(), fmt, ctx);
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
    detailed_version_of(c.current().number, v)
}

/// `DetailedVersion` of `v` when the current version is `current`.
pub fn detailed_version_of(current: u32, v: &Version) -> Value {
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
    if v.number < current {
        m.insert("nextVersion".into(), json!(v.number + 1));
    }
    Value::Object(m)
}
