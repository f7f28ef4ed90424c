//! `check()`: does the token reach the Notion API, as which integration, in which workspace,
//! and what was shared with it?

use serde::Serialize;
use serde_json::Value;

use crate::client::Notion;
use crate::error::NotionError;

/// What the integration can see.
#[derive(Clone, Debug, Serialize)]
pub struct NotionCheck {
    /// The API's base URL.
    pub api: String,
    /// The pinned `Notion-Version`.
    pub version: String,
    /// The integration's bot user.
    pub bot_id: String,
    pub bot_name: Option<String>,
    /// The workspace the integration belongs to.
    pub workspace_name: Option<String>,
    /// The largest file the workspace accepts, in bytes, when Notion says.
    pub max_file_upload_bytes: Option<u64>,
    /// Pages shared with the integration (search).
    pub pages: u64,
    /// Databases (2022-06-28) or data sources (2025-09-03) shared with it.
    pub databases: u64,
    /// Titles of the first shared pages and databases (up to 20), to show.
    pub titles: Vec<String>,
    /// Requests the check made.
    pub requests: u64,
}

impl Notion {
    /// Who am I (`GET /v1/users/me`) and what was shared with me (`POST /v1/search`, every
    /// page). A wrong token is a 401 naming `NOTION_TOKEN`; an API that cannot be reached says
    /// to check `NOTION_URL`.
    pub async fn check(&self) -> Result<NotionCheck, NotionError> {
        let before = self.stats().snapshot().requests;
        let api = self
            .http()
            .config()
            .base_url
            .as_str()
            .trim_end_matches('/')
            .to_string();
        let me = match self
            .call(self.get("users/me", "the integration's bot user".into())?)
            .await
        {
            Ok(v) => v,
            Err(NotionError::Http(e))
                if e.is_transport() || matches!(e.root(), kb_http::HttpError::Timeout { .. }) =>
            {
                return Err(NotionError::Unreachable {
                    url: api,
                    error: Box::new(e),
                });
            }
            Err(e) => return Err(e),
        };
        let bot = &me["bot"];
        let mut report = NotionCheck {
            api,
            version: self.version().to_string(),
            bot_id: me["id"].as_str().unwrap_or_default().to_string(),
            bot_name: me["name"].as_str().map(str::to_string),
            workspace_name: bot["workspace_name"].as_str().map(str::to_string),
            max_file_upload_bytes: bot["workspace_limits"]["max_file_upload_size_in_bytes"]
                .as_u64(),
            pages: 0,
            databases: 0,
            titles: Vec::new(),
            requests: 0,
        };
        if report.bot_id.is_empty() {
            return Err(NotionError::Decode {
                object: "users/me".into(),
                path: "id".into(),
                message: "no bot user id: is NOTION_URL the Notion API?".into(),
            });
        }
        for item in self.search(None, None).await? {
            match item["object"].as_str() {
                Some("page") => report.pages += 1,
                Some("database" | "data_source") => report.databases += 1,
                _ => continue,
            }
            if report.titles.len() < 20 {
                report.titles.push(title_of(&item));
            }
        }
        report.requests = self.stats().snapshot().requests - before;
        Ok(report)
    }
}

/// The title of a search result: a page's title property, a database's `title`.
fn title_of(item: &Value) -> String {
    let runs = |v: &Value| -> String {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["plain_text"].as_str())
            .collect()
    };
    if item["title"].is_array() {
        return runs(&item["title"]);
    }
    item["properties"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .find(|p| p["type"] == "title")
        .map(|p| runs(&p["title"]))
        .unwrap_or_default()
}
