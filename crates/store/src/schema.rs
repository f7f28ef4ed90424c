//! The table catalog: every replicated table as data. DDL for both dialects, the upserts and the
//! typed reads are generated from it, and a row's typed columns are extracted from its raw JSON
//! by the `source` of each column.
//!
//! Table names are those of Sling's Confluence connector, plus `group_members`, `page_ancestors`
//! and `content_restrictions`. Every table also has `raw` (the object's JSON exactly as the API
//! sent it; JSONB on PostgreSQL, TEXT on SQLite) and `synced_at` (when kbridge last wrote it).

/// The SQL type of a typed column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// A string; JSON numbers are accepted and kept as their decimal text (v1 ids are numbers).
    Text,
    /// A 64-bit integer; only JSON integers are accepted.
    Integer,
    /// A JSON boolean.
    Boolean,
    /// An instant: an RFC 3339 string (any offset) or epoch milliseconds, stored in UTC with
    /// millisecond precision (`TIMESTAMPTZ` on PostgreSQL, `YYYY-MM-DDTHH:MM:SS.sssZ` text on
    /// SQLite, which sorts in time order).
    Timestamp,
    /// Any JSON value (JSONB on PostgreSQL, TEXT on SQLite).
    Json,
}

impl ColumnType {
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Integer => "integer",
            ColumnType::Boolean => "boolean",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Json => "json",
        }
    }
}

/// Where a typed column's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A JSON pointer (RFC 6901) into the object's raw JSON, e.g. `/version/number`.
    Json(&'static str),
    /// A key of the row's context, supplied by the caller (e.g. the page id of a page's label,
    /// whose JSON does not contain it).
    Context(&'static str),
    /// The first of these that is present and not null.
    FirstOf(&'static [Source]),
}

/// One typed column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: &'static str,
    pub ty: ColumnType,
    pub source: Source,
    /// A row without a value here is rejected (primary-key columns are always required).
    pub required: bool,
    /// An index on this column (parent ids used by deletion sweeps and joins).
    pub indexed: bool,
}

/// One replicated table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDef {
    pub name: &'static str,
    /// What the table holds and which endpoint fills it (for the docs).
    pub doc: &'static str,
    pub columns: &'static [ColumnDef],
    /// Column names, in key order.
    pub primary_key: &'static [&'static str],
    /// An integer column holding the object's version: an upsert carrying an older version than
    /// the stored row is ignored (same or newer versions overwrite).
    pub version_column: Option<&'static str>,
}

impl TableDef {
    pub fn column(&self, name: &str) -> Option<&'static ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }
    pub fn is_key(&self, name: &str) -> bool {
        self.primary_key.contains(&name)
    }
}

/// The columns every table has besides its typed ones.
pub const RAW_COLUMN: &str = "raw";
pub const SYNCED_AT_COLUMN: &str = "synced_at";

const fn col(name: &'static str, ty: ColumnType, source: Source) -> ColumnDef {
    ColumnDef {
        name,
        ty,
        source,
        required: false,
        indexed: false,
    }
}
const fn key(name: &'static str, ty: ColumnType, source: Source) -> ColumnDef {
    ColumnDef {
        name,
        ty,
        source,
        required: true,
        indexed: false,
    }
}
/// A required parent reference, indexed.
const fn parent(name: &'static str, source: Source) -> ColumnDef {
    ColumnDef {
        name,
        ty: ColumnType::Text,
        source,
        required: true,
        indexed: true,
    }
}
/// An optional reference, indexed.
const fn reference(name: &'static str, source: Source) -> ColumnDef {
    ColumnDef {
        name,
        ty: ColumnType::Text,
        source,
        required: false,
        indexed: true,
    }
}
const fn text(name: &'static str, ptr: &'static str) -> ColumnDef {
    col(name, ColumnType::Text, Source::Json(ptr))
}
const fn int(name: &'static str, ptr: &'static str) -> ColumnDef {
    col(name, ColumnType::Integer, Source::Json(ptr))
}
const fn boolean(name: &'static str, ptr: &'static str) -> ColumnDef {
    col(name, ColumnType::Boolean, Source::Json(ptr))
}
const fn ts(name: &'static str, ptr: &'static str) -> ColumnDef {
    col(name, ColumnType::Timestamp, Source::Json(ptr))
}
const fn json(name: &'static str, ptr: &'static str) -> ColumnDef {
    col(name, ColumnType::Json, Source::Json(ptr))
}
const ID: ColumnDef = key("id", ColumnType::Text, Source::Json("/id"));

use ColumnType as T;
use Source::{Context as Ctx, FirstOf, Json as J};

/// The `version` object of v2 content (`Version` in the spec).
macro_rules! version_columns {
    () => {
        [
            int("version_number", "/version/number"),
            ts("version_created_at", "/version/createdAt"),
            text("version_author_id", "/version/authorId"),
            text("version_message", "/version/message"),
            boolean("version_minor_edit", "/version/minorEdit"),
        ]
    };
}

const SPACES: TableDef = TableDef {
    name: "spaces",
    doc: "spaces (`GET /wiki/api/v2/spaces`)",
    columns: &[
        ID,
        text("key", "/key"),
        text("name", "/name"),
        text("type", "/type"),
        text("status", "/status"),
        text("author_id", "/authorId"),
        text("homepage_id", "/homepageId"),
        text("current_active_alias", "/currentActiveAlias"),
        ts("created_at", "/createdAt"),
        text("description", "/description/plain/value"),
        text("webui_link", "/_links/webui"),
    ],
    primary_key: &["id"],
    version_column: None,
};

const PAGES: TableDef = TableDef {
    name: "pages",
    doc: "pages of every status (`GET /wiki/api/v2/pages?body-format=storage`)",
    columns: &{
        let v = version_columns!();
        [
            ID,
            text("status", "/status"),
            text("title", "/title"),
            parent("space_id", J("/spaceId")),
            reference("parent_id", J("/parentId")),
            text("parent_type", "/parentType"),
            int("position", "/position"),
            text("author_id", "/authorId"),
            text("owner_id", "/ownerId"),
            text("last_owner_id", "/lastOwnerId"),
            text("subtype", "/subtype"),
            ts("created_at", "/createdAt"),
            v[0],
            v[1],
            v[2],
            v[3],
            v[4],
            text("body_storage", "/body/storage/value"),
            text("webui_link", "/_links/webui"),
        ]
    },
    primary_key: &["id"],
    version_column: Some("version_number"),
};

const BLOG_POSTS: TableDef = TableDef {
    name: "blog_posts",
    doc: "blog posts (`GET /wiki/api/v2/blogposts?body-format=storage`)",
    columns: &{
        let v = version_columns!();
        [
            ID,
            text("status", "/status"),
            text("title", "/title"),
            parent("space_id", J("/spaceId")),
            text("author_id", "/authorId"),
            ts("created_at", "/createdAt"),
            v[0],
            v[1],
            v[2],
            v[3],
            v[4],
            text("body_storage", "/body/storage/value"),
            text("webui_link", "/_links/webui"),
        ]
    },
    primary_key: &["id"],
    version_column: Some("version_number"),
};

const ATTACHMENTS: TableDef = TableDef {
    name: "attachments",
    doc: "attachments of pages, blog posts and custom content (`GET /wiki/api/v2/attachments`)",
    columns: &{
        let v = version_columns!();
        [
            ID,
            text("status", "/status"),
            text("title", "/title"),
            ts("created_at", "/createdAt"),
            reference("page_id", J("/pageId")),
            reference("blog_post_id", J("/blogPostId")),
            reference("custom_content_id", J("/customContentId")),
            text("media_type", "/mediaType"),
            text("media_type_description", "/mediaTypeDescription"),
            text("comment", "/comment"),
            text("file_id", "/fileId"),
            int("file_size", "/fileSize"),
            text("webui_link", "/webuiLink"),
            text("download_link", "/downloadLink"),
            v[0],
            v[1],
            v[2],
            v[3],
            v[4],
        ]
    },
    primary_key: &["id"],
    version_column: Some("version_number"),
};

const TASKS: TableDef = TableDef {
    name: "tasks",
    doc: "tasks of pages and blog posts (`GET /wiki/api/v2/tasks?body-format=storage`)",
    columns: &[
        ID,
        text("local_id", "/localId"),
        reference("space_id", J("/spaceId")),
        reference("page_id", J("/pageId")),
        reference("blog_post_id", J("/blogPostId")),
        text("status", "/status"),
        text("body_storage", "/body/storage/value"),
        text("created_by", "/createdBy"),
        text("assigned_to", "/assignedTo"),
        text("completed_by", "/completedBy"),
        ts("created_at", "/createdAt"),
        ts("updated_at", "/updatedAt"),
        ts("due_at", "/dueAt"),
        ts("completed_at", "/completedAt"),
    ],
    primary_key: &["id"],
    version_column: None,
};

const GROUPS: TableDef = TableDef {
    name: "groups",
    doc: "user groups (`GET /wiki/rest/api/group`)",
    columns: &[ID, text("name", "/name"), text("type", "/type")],
    primary_key: &["id"],
    version_column: None,
};

const CUSTOM_CONTENT: TableDef = TableDef {
    name: "custom_content",
    doc: "custom content of every type (`GET /wiki/api/v2/custom-content?type=…`)",
    columns: &{
        let v = version_columns!();
        [
            ID,
            text("type", "/type"),
            text("status", "/status"),
            text("title", "/title"),
            reference("space_id", J("/spaceId")),
            reference("page_id", J("/pageId")),
            reference("blog_post_id", J("/blogPostId")),
            reference("custom_content_id", J("/customContentId")),
            text("author_id", "/authorId"),
            ts("created_at", "/createdAt"),
            v[0],
            v[1],
            v[2],
            v[3],
            v[4],
            text("body_storage", "/body/storage/value"),
        ]
    },
    primary_key: &["id"],
    version_column: Some("version_number"),
};

/// Footer comments of a page or a blog post: `container` is `page_id` or `blog_post_id`, taken
/// from the JSON (`/pageId`, `/blogPostId`) or, for replies (whose JSON holds only the parent
/// comment), from the context.
macro_rules! footer_comments {
    ($name:literal, $doc:literal, $container:literal, $ptr:literal) => {
        TableDef {
            name: $name,
            doc: $doc,
            columns: &{
                let v = version_columns!();
                [
                    ID,
                    parent($container, FirstOf(&[J($ptr), Ctx($container)])),
                    reference("parent_comment_id", J("/parentCommentId")),
                    text("status", "/status"),
                    text("title", "/title"),
                    v[0],
                    v[1],
                    v[2],
                    v[3],
                    v[4],
                    text("body_storage", "/body/storage/value"),
                    text("webui_link", "/_links/webui"),
                ]
            },
            primary_key: &["id"],
            version_column: Some("version_number"),
        }
    };
}

macro_rules! inline_comments {
    ($name:literal, $doc:literal, $container:literal, $ptr:literal) => {
        TableDef {
            name: $name,
            doc: $doc,
            columns: &{
                let v = version_columns!();
                [
                    ID,
                    parent($container, FirstOf(&[J($ptr), Ctx($container)])),
                    reference("parent_comment_id", J("/parentCommentId")),
                    text("status", "/status"),
                    text("title", "/title"),
                    text("resolution_status", "/resolutionStatus"),
                    text("resolution_last_modifier_id", "/resolutionLastModifierId"),
                    ts("resolution_last_modified_at", "/resolutionLastModifiedAt"),
                    text("inline_marker_ref", "/properties/inlineMarkerRef"),
                    text(
                        "inline_original_selection",
                        "/properties/inlineOriginalSelection",
                    ),
                    v[0],
                    v[1],
                    v[2],
                    v[3],
                    v[4],
                    text("body_storage", "/body/storage/value"),
                    text("webui_link", "/_links/webui"),
                ]
            },
            primary_key: &["id"],
            version_column: Some("version_number"),
        }
    };
}

/// Labels of one object: the label JSON has no owner, the context supplies it.
macro_rules! labels {
    ($name:literal, $doc:literal, $owner:literal) => {
        TableDef {
            name: $name,
            doc: $doc,
            columns: &[
                parent($owner, Ctx($owner)),
                key("label_id", T::Text, J("/id")),
                text("name", "/name"),
                text("prefix", "/prefix"),
            ],
            primary_key: &[$owner, "label_id"],
            version_column: None,
        }
    };
}

/// Version history of one object (`PageVersion`, `BlogPostVersion`, `AttachmentVersion`): the
/// owner comes from the context or from the embedded entity (`/page/id`…).
macro_rules! versions {
    ($name:literal, $doc:literal, $owner:literal, $entity:literal, $entity_title:literal, $body:expr) => {
        TableDef {
            name: $name,
            doc: $doc,
            columns: &[
                parent($owner, FirstOf(&[Ctx($owner), J($entity)])),
                key("number", T::Integer, J("/number")),
                ts("created_at", "/createdAt"),
                text("author_id", "/authorId"),
                text("message", "/message"),
                boolean("minor_edit", "/minorEdit"),
                text("title", $entity_title),
                $body,
            ],
            primary_key: &[$owner, "number"],
            version_column: None,
        }
    };
}

/// Content properties of one object (`ContentProperty`).
macro_rules! content_properties {
    ($name:literal, $doc:literal, $owner:literal) => {
        TableDef {
            name: $name,
            doc: $doc,
            columns: &[
                parent($owner, Ctx($owner)),
                ID,
                text("key", "/key"),
                json("value", "/value"),
                int("version_number", "/version/number"),
                ts("version_created_at", "/version/createdAt"),
                text("version_author_id", "/version/authorId"),
                text("version_message", "/version/message"),
                boolean("version_minor_edit", "/version/minorEdit"),
            ],
            primary_key: &[$owner, "id"],
            version_column: Some("version_number"),
        }
    };
}

const CHILD_PAGES: TableDef = TableDef {
    name: "child_pages",
    doc: "direct children of each page (`GET /wiki/api/v2/pages/{id}/children`); `parent_id` from the context",
    columns: &[
        parent("parent_id", Ctx("parent_id")),
        ID,
        text("status", "/status"),
        text("title", "/title"),
        reference("space_id", J("/spaceId")),
        int("child_position", "/childPosition"),
    ],
    primary_key: &["parent_id", "id"],
    version_column: None,
};

const SPACE_PERMISSIONS: TableDef = TableDef {
    name: "space_permissions",
    doc: "permission assignments of each space (`GET /wiki/api/v2/spaces/{id}/permissions`)",
    columns: &[
        parent("space_id", Ctx("space_id")),
        ID,
        text("principal_type", "/principal/type"),
        text("principal_id", "/principal/id"),
        text("operation_key", "/operation/key"),
        text("operation_target_type", "/operation/targetType"),
    ],
    primary_key: &["space_id", "id"],
    version_column: None,
};

const SPACE_PROPERTIES: TableDef = TableDef {
    name: "space_properties",
    doc: "properties of each space (`GET /wiki/api/v2/spaces/{id}/properties`)",
    columns: &[
        parent("space_id", Ctx("space_id")),
        ID,
        text("key", "/key"),
        json("value", "/value"),
        ts("created_at", "/createdAt"),
        text("created_by", "/createdBy"),
        int("version_number", "/version/number"),
        ts("version_created_at", "/version/createdAt"),
        text("version_created_by", "/version/createdBy"),
        text("version_message", "/version/message"),
    ],
    primary_key: &["space_id", "id"],
    version_column: Some("version_number"),
};

const GROUP_MEMBERS: TableDef = TableDef {
    name: "group_members",
    doc: "members of each group (`GET /wiki/rest/api/group/{groupId}/membersByGroupId`, v1 `User`)",
    columns: &[
        parent("group_id", Ctx("group_id")),
        key("account_id", T::Text, J("/accountId")),
        text("account_type", "/accountType"),
        text("type", "/type"),
        text("display_name", "/displayName"),
        text("public_name", "/publicName"),
        text("email", "/email"),
    ],
    primary_key: &["group_id", "account_id"],
    version_column: None,
};

const PAGE_ANCESTORS: TableDef = TableDef {
    name: "page_ancestors",
    doc: "ancestors of each page, highest first (`GET /wiki/api/v2/pages/{id}/ancestors`); `depth` (1 = the space root side) from the context; a folder ancestor's `raw` also holds its `title` (folders have no table of their own)",
    columns: &[
        parent("page_id", Ctx("page_id")),
        key("ancestor_id", T::Text, J("/id")),
        text("ancestor_type", "/type"),
        col("depth", T::Integer, Ctx("depth")),
    ],
    primary_key: &["page_id", "ancestor_id"],
    version_column: None,
};

const CONTENT_RESTRICTIONS: TableDef = TableDef {
    name: "content_restrictions",
    doc: "read and update restrictions of pages and blog posts, one row per user or group \
          (`GET /wiki/rest/api/content/{id}/restriction/byOperation/{operation}`; the raw JSON is \
          the v1 `User` or `Group`, the context gives content id and type, operation and subject type)",
    columns: &[
        parent("content_id", Ctx("content_id")),
        col("content_type", T::Text, Ctx("content_type")),
        key("operation", T::Text, Ctx("operation")),
        key("subject_type", T::Text, Ctx("subject_type")),
        key("subject_id", T::Text, FirstOf(&[J("/accountId"), J("/id")])),
        col(
            "subject_name",
            T::Text,
            FirstOf(&[J("/displayName"), J("/name")]),
        ),
    ],
    primary_key: &["content_id", "operation", "subject_type", "subject_id"],
    version_column: None,
};

/// Every replicated table, parents before children.
pub static TABLES: &[TableDef] = &[
    SPACES,
    PAGES,
    BLOG_POSTS,
    ATTACHMENTS,
    TASKS,
    GROUPS,
    CUSTOM_CONTENT,
    footer_comments!(
        "page_footer_comments",
        "footer comments of pages and their replies (`GET /wiki/api/v2/footer-comments`, `/pages/{id}/footer-comments`, `/footer-comments/{id}/children`)",
        "page_id",
        "/pageId"
    ),
    inline_comments!(
        "page_inline_comments",
        "inline comments of pages and their replies (`GET /wiki/api/v2/inline-comments`, `/pages/{id}/inline-comments`, `/inline-comments/{id}/children`)",
        "page_id",
        "/pageId"
    ),
    labels!(
        "page_labels",
        "labels of each page (`GET /wiki/api/v2/pages/{id}/labels`)",
        "page_id"
    ),
    versions!(
        "page_versions",
        "version history of each page (`GET /wiki/api/v2/pages/{id}/versions`)",
        "page_id",
        "/page/id",
        "/page/title",
        text("body_storage", "/page/body/storage/value")
    ),
    content_properties!(
        "page_content_properties",
        "content properties of each page (`GET /wiki/api/v2/pages/{id}/properties`)",
        "page_id"
    ),
    CHILD_PAGES,
    footer_comments!(
        "blog_post_footer_comments",
        "footer comments of blog posts and their replies (`GET /wiki/api/v2/footer-comments`, `/blogposts/{id}/footer-comments`)",
        "blog_post_id",
        "/blogPostId"
    ),
    inline_comments!(
        "blog_post_inline_comments",
        "inline comments of blog posts and their replies (`GET /wiki/api/v2/inline-comments`, `/blogposts/{id}/inline-comments`)",
        "blog_post_id",
        "/blogPostId"
    ),
    labels!(
        "blog_post_labels",
        "labels of each blog post (`GET /wiki/api/v2/blogposts/{id}/labels`)",
        "blog_post_id"
    ),
    versions!(
        "blog_post_versions",
        "version history of each blog post (`GET /wiki/api/v2/blogposts/{id}/versions`)",
        "blog_post_id",
        "/blogpost/id",
        "/blogpost/title",
        text("body_storage", "/blogpost/body/storage/value")
    ),
    content_properties!(
        "blog_post_content_properties",
        "content properties of each blog post (`GET /wiki/api/v2/blogposts/{id}/properties`)",
        "blog_post_id"
    ),
    labels!(
        "attachment_labels",
        "labels of each attachment (`GET /wiki/api/v2/attachments/{id}/labels`)",
        "attachment_id"
    ),
    versions!(
        "attachment_versions",
        "version history of each attachment (`GET /wiki/api/v2/attachments/{id}/versions`)",
        "attachment_id",
        "/attachment/id",
        "/attachment/title",
        col("media_type", T::Text, J("/attachment/mediaType"))
    ),
    content_properties!(
        "attachment_content_properties",
        "content properties of each attachment (`GET /wiki/api/v2/attachments/{id}/properties`)",
        "attachment_id"
    ),
    labels!(
        "space_labels",
        "labels of each space (`GET /wiki/api/v2/spaces/{id}/labels`)",
        "space_id"
    ),
    SPACE_PERMISSIONS,
    SPACE_PROPERTIES,
    GROUP_MEMBERS,
    PAGE_ANCESTORS,
    CONTENT_RESTRICTIONS,
];

/// The table named `name`.
pub fn table(name: &str) -> Option<&'static TableDef> {
    TABLES
        .iter()
        .chain(crate::schema_km::KM_TABLES)
        .find(|t| t.name == name)
}

/// Meta tables (not replicated objects): their DDL is written by hand in `migrate.rs`.
pub const META_TABLES: &[&str] = &[
    "schema_migrations",
    "checkpoints",
    "runs",
    "id_map",
    "attachment_files",
    "quarantine",
    "sync_links",
    "sync_pairs",
    "sync_conflicts",
    // kbridge serve (migration 7)
    "serve_connections",
    "serve_jobs",
    "serve_runs",
    "serve_logs",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_well_formed() {
        let mut names = std::collections::BTreeSet::new();
        for t in TABLES {
            assert!(names.insert(t.name), "table {} twice", t.name);
            assert!(!t.primary_key.is_empty(), "{} has no key", t.name);
            let mut cols = std::collections::BTreeSet::new();
            for c in t.columns {
                assert!(cols.insert(c.name), "{}.{} twice", t.name, c.name);
                assert!(
                    c.name != RAW_COLUMN && c.name != SYNCED_AT_COLUMN,
                    "{}.{} is reserved",
                    t.name,
                    c.name
                );
            }
            for k in t.primary_key {
                let c = t.column(k).unwrap_or_else(|| panic!("{}: key {k}", t.name));
                assert!(c.required, "{}.{k} is a key but not required", t.name);
            }
            if let Some(v) = t.version_column {
                let c = t
                    .column(v)
                    .unwrap_or_else(|| panic!("{}: version {v}", t.name));
                assert_eq!(c.ty, ColumnType::Integer, "{}.{v}", t.name);
                assert!(!t.is_key(v), "{}.{v} is both key and version", t.name);
            }
        }
        assert_eq!(TABLES.len(), 27);
        assert!(META_TABLES.iter().all(|m| table(m).is_none()));
    }
}
