//! The extraction plan: every table `kbridge extract confluence` fills, where its rows come from,
//! and what that costs in requests.
//!
//! The plan is data, not code paths: [`ENDPOINTS`] lists each table with its [`Source`]. The
//! executor walks it in order (parents before children), and `--plan` / the benchmark read the
//! same list to estimate requests, so the estimate and the run cannot drift apart.
//!
//! The rule that keeps the API bill low: **bulk endpoints first**. A global v2 list filtered by
//! space returns 250 objects per request, and one CQL `content/search` page with `expand`
//! returns labels, ancestors, properties and restrictions of up to 250 pages; only what no bulk
//! endpoint returns (version history of content that changed, group members, per-space lists) is
//! fetched per item, with bounded concurrency.

use std::fmt;

/// Where a table's rows come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A v2 global listing (`/pages?space-id=…`, `/footer-comments`, …): 250 rows per request.
    Bulk,
    /// A field of the CQL `content/search` pass (one request per 250 pages or blog posts).
    Cql,
    /// Computed from rows already fetched (no request), e.g. `child_pages` from `parentId`.
    Derived,
    /// One listing per space.
    PerSpace,
    /// One listing per parent object, only for parents that changed (new or a new version).
    PerChangedItem,
    /// One listing per parent object, always (nothing bulk exists).
    PerItem,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Bulk => "bulk",
            Source::Cql => "cql",
            Source::Derived => "derived",
            Source::PerSpace => "per space",
            Source::PerChangedItem => "per changed item",
            Source::PerItem => "per item",
        })
    }
}

/// One table of the replica and how it is filled.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    /// Table name (Sling's Confluence connector names, plus a few of ours).
    pub name: &'static str,
    pub source: Source,
    /// The API call(s) behind it, for `--plan` and the docs.
    pub api: &'static str,
    /// Which objects it hangs under (for per-item sources and for `--endpoints` closure).
    pub parent: Option<&'static str>,
}

const fn ep(
    name: &'static str,
    source: Source,
    api: &'static str,
    parent: Option<&'static str>,
) -> Endpoint {
    Endpoint {
        name,
        source,
        api,
        parent,
    }
}

/// Every table, parents before children.
pub const ENDPOINTS: &[Endpoint] = &[
    ep("spaces", Source::Bulk, "GET /api/v2/spaces", None),
    ep(
        "space_labels",
        Source::PerSpace,
        "GET /api/v2/spaces/{id}/labels",
        Some("spaces"),
    ),
    ep(
        "space_permissions",
        Source::PerSpace,
        "GET /api/v2/spaces/{id}/permissions",
        Some("spaces"),
    ),
    ep(
        "space_properties",
        Source::PerSpace,
        "GET /api/v2/spaces/{id}/properties",
        Some("spaces"),
    ),
    ep(
        "pages",
        Source::Bulk,
        "GET /api/v2/pages?space-id=…&body-format=storage",
        Some("spaces"),
    ),
    ep(
        "blog_posts",
        Source::Bulk,
        "GET /api/v2/blogposts?space-id=…&body-format=storage",
        Some("spaces"),
    ),
    ep(
        "child_pages",
        Source::Derived,
        "pages.parentId, pages.position",
        Some("pages"),
    ),
    ep(
        "page_ancestors",
        Source::Derived,
        "the parentId chain (folders: GET /api/v2/folders/{id})",
        Some("pages"),
    ),
    ep(
        "page_labels",
        Source::Cql,
        "GET /rest/api/content/search?expand=metadata.labels",
        Some("pages"),
    ),
    ep(
        "page_content_properties",
        Source::Cql,
        "GET /rest/api/content/search?expand=metadata.properties",
        Some("pages"),
    ),
    ep(
        "content_restrictions",
        Source::Cql,
        "GET /rest/api/content/search?expand=restrictions.*.restrictions.*",
        Some("pages"),
    ),
    ep(
        "page_versions",
        Source::PerChangedItem,
        "GET /api/v2/pages/{id}/versions (only version > 1)",
        Some("pages"),
    ),
    ep(
        "blog_post_labels",
        Source::Cql,
        "GET /rest/api/content/search?expand=metadata.labels",
        Some("blog_posts"),
    ),
    ep(
        "blog_post_content_properties",
        Source::Cql,
        "GET /rest/api/content/search?expand=metadata.properties",
        Some("blog_posts"),
    ),
    ep(
        "blog_post_versions",
        Source::PerChangedItem,
        "GET /api/v2/blogposts/{id}/versions (only version > 1)",
        Some("blog_posts"),
    ),
    ep("attachments", Source::Bulk, "GET /api/v2/attachments", None),
    ep(
        "attachment_labels",
        Source::PerChangedItem,
        "GET /api/v2/attachments/{id}/labels",
        Some("attachments"),
    ),
    ep(
        "attachment_versions",
        Source::PerChangedItem,
        "GET /api/v2/attachments/{id}/versions (only version > 1)",
        Some("attachments"),
    ),
    ep(
        "attachment_content_properties",
        Source::PerChangedItem,
        "GET /api/v2/attachments/{id}/properties",
        Some("attachments"),
    ),
    ep(
        "page_footer_comments",
        Source::Bulk,
        "GET /api/v2/footer-comments?body-format=storage",
        None,
    ),
    ep(
        "page_inline_comments",
        Source::Bulk,
        "GET /api/v2/inline-comments?body-format=storage",
        None,
    ),
    ep(
        "blog_post_footer_comments",
        Source::Bulk,
        "GET /api/v2/footer-comments (same listing)",
        None,
    ),
    ep(
        "blog_post_inline_comments",
        Source::Bulk,
        "GET /api/v2/inline-comments (same listing)",
        None,
    ),
    ep(
        "tasks",
        Source::Bulk,
        "GET /api/v2/tasks?space-id=…",
        Some("spaces"),
    ),
    ep(
        "custom_content",
        Source::Bulk,
        "GET /api/v2/custom-content?type=…&space-id=…",
        Some("spaces"),
    ),
    ep("groups", Source::Bulk, "GET /rest/api/group", None),
    ep(
        "group_members",
        Source::PerItem,
        "GET /rest/api/group/{id}/membersByGroupId",
        Some("groups"),
    ),
];

/// Looks a table up by name.
pub fn endpoint(name: &str) -> Option<&'static Endpoint> {
    ENDPOINTS.iter().find(|e| e.name == name)
}
