//! What can go wrong talking to Notion, each variant naming the object and what to do.

use kb_http::HttpError;

/// Anything that can go wrong talking to Notion.
#[derive(Debug, thiserror::Error)]
pub enum NotionError {
    /// A request failed (its message carries Notion's own message and a hint: 401 → check
    /// `NOTION_TOKEN`, 404 → share the page with the integration…).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The configuration cannot be used.
    #[error("{0}")]
    Config(String),
    /// An answer does not have the shape expected for `object`.
    #[error(
        "{object}: the answer does not decode at `{path}`: {message} (is the Notion-Version right? kbridge speaks 2025-09-03 and 2022-06-28)"
    )]
    Decode {
        /// What was read ("page 1f2…", "children of block 3a…").
        object: String,
        /// The JSON path of the bad value (`properties.Tasks.relation[3].id`).
        path: String,
        message: String,
    },
    /// An append plan that cannot be executed as given.
    #[error("append plan: {0}")]
    Plan(String),
    /// The API is not reachable at all (the error's hint names `NOTION_URL` and the kind of
    /// failure: DNS, refused, TLS to plain HTTP, timeout).
    #[error("cannot reach the Notion API at {url}: {error}")]
    Unreachable {
        url: String,
        #[source]
        error: Box<HttpError>,
    },
    /// A file download failed (the URL is shown without its query: signed URLs carry
    /// signatures).
    #[error("download of {url} failed: {message}{}", hint.as_deref().map(|h| format!(": {h}")).unwrap_or_default())]
    Download {
        url: String,
        status: Option<u16>,
        message: String,
        hint: Option<String>,
    },
    /// A file the upload API cannot take.
    #[error("cannot upload {filename}: {why}")]
    Upload { filename: String, why: String },
    /// A block tree deeper than any page Notion can hold (a loop in the answers).
    #[error(
        "block {id}: the tree is deeper than {depth} levels; the answers loop (report this page)"
    )]
    TooDeep { id: String, depth: usize },
}

impl NotionError {
    /// The HTTP status behind the error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            NotionError::Http(e) => e.status(),
            NotionError::Unreachable { error, .. } => error.status(),
            NotionError::Download { status, .. } => *status,
            _ => None,
        }
    }

    /// The HTTP failure behind the error, if there was one.
    pub fn http(&self) -> Option<&HttpError> {
        match self {
            NotionError::Http(e) => Some(e),
            NotionError::Unreachable { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The hint (what to do) of a status or connection error.
    pub fn hint(&self) -> Option<&str> {
        match self {
            NotionError::Http(e) => e.hint(),
            NotionError::Unreachable { error, .. } => error.hint(),
            NotionError::Download { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }
}

/// Whether an error answer has Notion's shape (`{"object":"error","code":…,"message":…}`):
/// one that does not comes from another server, so a wrong `NOTION_URL`, not a wrong token.
pub(crate) fn is_notion_error(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .is_ok_and(|v| v["object"] == "error" && v["code"].is_string())
}
