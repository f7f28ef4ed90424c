//! The knowledge base's tables (`kbridge km`, migration 6) and `restriction_reads`, the
//! replica's record of which content's read restrictions were read (so km can fail closed on
//! the rest). Same machinery as the replicated catalog ([`crate::schema::TABLES`]): typed
//! columns extracted from the row's JSON or context, `raw` and `synced_at` on every table. They
//! are kept apart from `TABLES` because they are not Confluence objects (tests compare `TABLES`
//! with the twin's ground truth). Documented for users in `docs/km.md`.

use crate::schema::{ColumnDef, ColumnType, Source, TableDef};

const fn col(name: &'static str, ty: ColumnType, source: Source) -> ColumnDef {
    ColumnDef {
        name,
        ty,
        source,
        required: false,
        indexed: false,
    }
}
const fn key(name: &'static str, ptr: &'static str) -> ColumnDef {
    ColumnDef {
        name,
        ty: ColumnType::Text,
        source: Source::Json(ptr),
        required: true,
        indexed: false,
    }
}
const fn int_key(name: &'static str, ptr: &'static str) -> ColumnDef {
    ColumnDef {
        name,
        ty: ColumnType::Integer,
        source: Source::Json(ptr),
        required: true,
        indexed: false,
    }
}
const fn indexed(name: &'static str, ptr: &'static str) -> ColumnDef {
    ColumnDef {
        name,
        ty: ColumnType::Text,
        source: Source::Json(ptr),
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
const fn ts(name: &'static str, ptr: &'static str) -> ColumnDef {
    col(name, ColumnType::Timestamp, Source::Json(ptr))
}
const fn json(name: &'static str, ptr: &'static str) -> ColumnDef {
    col(name, ColumnType::Json, Source::Json(ptr))
}
/// A text column from the row's context (bodies: kept out of `raw`, so they are stored once).
const fn ctx(name: &'static str) -> ColumnDef {
    col(name, ColumnType::Text, Source::Context(name))
}

/// Articles: one per imported page, blog post or attachment.
const KM_ARTICLES: TableDef = TableDef {
    name: "km_articles",
    doc: "knowledge-base articles: one per imported page, blog post or attachment (`kbridge km sync`)",
    columns: &[
        key("id", "/id"),
        text("source", "/source"),
        indexed("source_id", "/sourceId"),
        text("kind", "/kind"),
        indexed("space_key", "/spaceKey"),
        text("url", "/url"),
        text("title", "/title"),
        text("author", "/author"),
        ts("created_at", "/created"),
        ts("updated_at", "/updated"),
        text("category", "/category"),
        json("tags", "/tags"),
        json("custom_fields", "/customFields"),
        int("source_version", "/sourceVersion"),
        text("access", "/access"),
        text("content_hash", "/contentHash"),
        text("source_hash", "/sourceHash"),
        int("run_id", "/runId"),
        ctx("body_markdown"),
        ctx("body_html"),
        ctx("body_text"),
    ],
    primary_key: &["id"],
    version_column: None,
};

/// The layered access list of each article: one row per (level, principal).
const KM_ACCESS: TableDef = TableDef {
    name: "km_access",
    doc: "who can read each article: level 0 the space's readers, then each restricted ancestor and the page, top down; a level passes with any of its principals (`__open__`: no restriction)",
    columns: &[
        ColumnDef {
            name: "article_id",
            ty: ColumnType::Text,
            source: Source::Json("/articleId"),
            required: true,
            indexed: true,
        },
        int_key("level", "/level"),
        key("principal", "/principal"),
        text("source_id", "/sourceId"),
    ],
    primary_key: &["article_id", "level", "principal"],
    version_column: None,
};

/// Attachments: stored files and their extracted text.
const KM_ATTACHMENTS: TableDef = TableDef {
    name: "km_attachments",
    doc: "attachments of the imported articles: the stored file (content-addressed) and its extracted text",
    columns: &[
        key("id", "/id"),
        indexed("article_id", "/articleId"),
        text("file_name", "/fileName"),
        text("media_type", "/mediaType"),
        text("sha256", "/sha256"),
        int("size", "/size"),
        text("path", "/path"),
        text("extraction", "/extraction"),
        ctx("text"),
    ],
    primary_key: &["id"],
    version_column: None,
};

/// Principals: users, groups, roles and `anonymous`.
const KM_PRINCIPALS: TableDef = TableDef {
    name: "km_principals",
    doc: "principals: `u:<account id>`, `g:<group id>`, `role:<name>`, `anonymous`",
    columns: &[
        key("id", "/id"),
        text("kind", "/kind"),
        text("name", "/name"),
    ],
    primary_key: &["id"],
    version_column: None,
};

/// Membership: a user in a group, a group or user in a role.
const KM_MEMBERS: TableDef = TableDef {
    name: "km_members",
    doc: "memberships: `member` (a user, or a group for roles) is in `principal` (a group or a role)",
    columns: &[
        ColumnDef {
            name: "principal",
            ty: ColumnType::Text,
            source: Source::Json("/principal"),
            required: true,
            indexed: true,
        },
        ColumnDef {
            name: "member",
            ty: ColumnType::Text,
            source: Source::Json("/member"),
            required: true,
            indexed: true,
        },
    ],
    primary_key: &["principal", "member"],
    version_column: None,
};

/// The integration log.
const KM_LOG: TableDef = TableDef {
    name: "km_log",
    doc: "the integration log: one line per notable outcome of a run (level, object, message, hint)",
    columns: &[
        key("id", "/id"),
        ColumnDef {
            name: "run_id",
            ty: ColumnType::Integer,
            source: Source::Json("/runId"),
            required: true,
            indexed: true,
        },
        ts("at", "/at"),
        text("level", "/level"),
        text("object", "/object"),
        text("message", "/message"),
        text("hint", "/hint"),
    ],
    primary_key: &["id"],
    version_column: None,
};

/// Items that failed, retried by the next run.
const KM_FAILURES: TableDef = TableDef {
    name: "km_failures",
    doc: "items a run could not import: retried by every later run until they succeed",
    columns: &[
        key("object", "/object"),
        int("run_id", "/runId"),
        int("attempts", "/attempts"),
        text("message", "/message"),
    ],
    primary_key: &["object"],
    version_column: None,
};

/// Which content's read restrictions the replica read (written by `extract`).
const RESTRICTION_READS: TableDef = TableDef {
    name: "restriction_reads",
    doc: "content whose restrictions extract read (from the CQL expansion or `restriction/byOperation`): content absent here has restrictions not known, and km shows it to no one",
    columns: &[
        key("content_id", "/contentId"),
        text("content_type", "/contentType"),
        int("version_number", "/version"),
    ],
    primary_key: &["content_id"],
    version_column: None,
};

/// The knowledge base's tables and `restriction_reads` (migration 6).
pub static KM_TABLES: &[TableDef] = &[
    KM_ARTICLES,
    KM_ACCESS,
    KM_ATTACHMENTS,
    KM_PRINCIPALS,
    KM_MEMBERS,
    KM_LOG,
    KM_FAILURES,
    RESTRICTION_READS,
];
