//! Writes: pages (create, update with version + 1, look up by title), attachments (create or
//! replace, several files in one multipart request) and labels — what `kbridge migrate` needs.

use kb_http::{HttpError, Method, Part, Request};
use serde_json::{Value, json};

use crate::client::Confluence;

/// A page to create.
#[derive(Clone, Debug)]
pub struct NewPage<'a> {
    pub space_id: &'a str,
    /// The parent page; `None` puts the page at the top of the space.
    pub parent_id: Option<&'a str>,
    pub title: &'a str,
    /// The body in storage format.
    pub storage: &'a str,
}

/// A page's new state, written as version `version`.
#[derive(Clone, Debug)]
pub struct PageUpdate<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub parent_id: Option<&'a str>,
    pub storage: &'a str,
    /// The new version number: the current one + 1 (Confluence refuses anything else with 409).
    pub version: u64,
    /// The version comment ("kbridge migrate from Notion").
    pub message: &'a str,
}

/// A file to attach.
#[derive(Clone, Copy, Debug)]
pub struct Upload<'a> {
    pub filename: &'a str,
    pub media_type: &'a str,
    pub bytes: &'a [u8],
}

impl NewPage<'_> {
    /// True when `current` (a page read back with its storage body) is this create as
    /// Confluence applied it: same space, title, parent and body. A create whose answer was
    /// lost, then refused as a duplicate title, is kbridge's own write when this holds.
    pub fn applied_in(&self, current: &Value) -> bool {
        crate::keys::space_id(current).as_deref() == Some(self.space_id)
            && same_page(current, self.title, self.parent_id, self.storage)
    }
}

impl PageUpdate<'_> {
    /// True when `current` (the page read back with its storage body) is this update as
    /// Confluence applied it: the version number sent, and the title, parent and body sent.
    /// An update retried after a lost answer gets 409 from its own echo; this tells the echo
    /// from a version someone else wrote.
    pub fn applied_in(&self, current: &Value) -> bool {
        crate::keys::id(current).as_deref() == Some(self.id)
            && crate::keys::version_number(current) == Some(self.version)
            && same_page(current, self.title, self.parent_id, self.storage)
    }
}

/// The one comparison of a page read back with what was sent (a parent of `None` is not
/// compared: the write did not set one).
fn same_page(current: &Value, title: &str, parent: Option<&str>, storage: &str) -> bool {
    crate::keys::title(current) == Some(title)
        && parent.is_none_or(|p| crate::keys::parent_id(current).as_deref() == Some(p))
        && current
            .pointer("/body/storage/value")
            .and_then(Value::as_str)
            == Some(storage)
}

impl Confluence {
    fn v2_url(&self, path: &str) -> Result<kb_http::Url, HttpError> {
        self.http()
            .url(&format!("api/v2/{}", path.trim_start_matches('/')))
    }

    fn v1_url(&self, path: &str) -> Result<kb_http::Url, HttpError> {
        self.http()
            .url(&format!("rest/api/{}", path.trim_start_matches('/')))
    }

    /// `POST /pages`: creates a page (never retried once it may have reached the server; the
    /// caller recovers a page created by a lost response with [`Confluence::page_by_title`]).
    pub async fn create_page(&self, page: &NewPage<'_>) -> Result<Value, HttpError> {
        if self.flavour() == crate::config::Flavour::DataCenter {
            return self.dc_create_page(page).await;
        }
        let mut body = json!({
            "spaceId": page.space_id,
            "status": "current",
            "title": page.title,
            "body": {"representation": "storage", "value": page.storage},
        });
        if let Some(p) = page.parent_id {
            body["parentId"] = json!(p);
        }
        let req = Request::json(Method::POST, self.v2_url("pages")?, &body)
            .object(format!("new page \"{}\"", page.title));
        self.http().json(&req).await
    }

    /// `PUT /pages/{id}`: writes a new version.
    pub async fn update_page(&self, page: &PageUpdate<'_>) -> Result<Value, HttpError> {
        if self.flavour() == crate::config::Flavour::DataCenter {
            return self.dc_update_page(page).await;
        }
        let mut body = json!({
            "id": page.id,
            "status": "current",
            "title": page.title,
            "body": {"representation": "storage", "value": page.storage},
            "version": {"number": page.version, "message": page.message},
        });
        if let Some(p) = page.parent_id {
            body["parentId"] = json!(p);
        }
        let req = Request::json(
            Method::PUT,
            self.v2_url(&format!("pages/{}", page.id))?,
            &body,
        )
        .object(format!("page {} (\"{}\")", page.id, page.title));
        self.http().json(&req).await
    }

    /// `GET /pages/{id}?body-format=storage`.
    pub async fn page_with_body(&self, id: &str) -> Result<Value, HttpError> {
        if self.flavour() == crate::config::Flavour::DataCenter {
            return self.dc_page_with_body(id).await;
        }
        let req = self
            .v2(&format!("pages/{id}"))?
            .query("body-format", "storage")
            .object(format!("page {id}"));
        self.get(req).await
    }

    /// The current page titled `title` in the space, if any (`GET /pages?space-id&title`).
    pub async fn page_by_title(
        &self,
        space_id: &str,
        title: &str,
    ) -> Result<Option<Value>, HttpError> {
        if self.flavour() == crate::config::Flavour::DataCenter {
            return self.dc_page_by_title(space_id, title).await;
        }
        let req = self
            .v2("pages")?
            .query("space-id", space_id)
            .query("title", title)
            .query("status", "current")
            .object(format!("page \"{title}\" in space {space_id}"));
        let v = self.get(req).await?;
        Ok(v.get("results")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .cloned())
    }

    /// Attaches files to a page in one request (`PUT /rest/api/content/{id}/child/attachment`:
    /// a file of the same name gets a new version instead of a duplicate), as minor edits.
    /// Returns the attachments as the API describes them.
    pub async fn put_attachments(
        &self,
        page_id: &str,
        files: &[Upload<'_>],
    ) -> Result<Vec<Value>, HttpError> {
        if files.is_empty() {
            return Ok(Vec::new());
        }
        if self.flavour() == crate::config::Flavour::DataCenter {
            return self.dc_put_attachments(page_id, files).await;
        }
        let mut parts: Vec<Part<'_>> = files
            .iter()
            .map(|f| Part {
                name: "file",
                filename: Some(f.filename),
                content_type: Some(f.media_type),
                data: f.bytes,
            })
            .collect();
        parts.push(Part {
            name: "minorEdit",
            filename: None,
            content_type: None,
            data: b"true",
        });
        let url = self.v1_url(&format!("content/{page_id}/child/attachment"))?;
        let names: Vec<&str> = files.iter().map(|f| f.filename).collect();
        let req = Request::multipart(Method::PUT, url, &parts)
            .header(
                kb_http::header::HeaderName::from_static("x-atlassian-token"),
                kb_http::header::HeaderValue::from_static("no-check"),
            )
            .object(format!(
                "attachments {} of page {page_id}",
                names.join(", ")
            ));
        let v: Value = self.http().json(&req).await?;
        Ok(v.get("results")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// Adds labels (global prefix) to content (`POST /rest/api/content/{id}/label`); labels it
    /// already has are left alone.
    pub async fn add_labels(&self, content_id: &str, labels: &[&str]) -> Result<(), HttpError> {
        if labels.is_empty() {
            return Ok(());
        }
        let body = Value::Array(
            labels
                .iter()
                .map(|l| json!({"prefix": "global", "name": l}))
                .collect(),
        );
        let req = Request::json(
            Method::POST,
            self.v1_url(&format!("content/{content_id}/label"))?,
            &body,
        )
        .idempotent(true)
        .object(format!("labels of content {content_id}"));
        let _: Value = self.http().json(&req).await?;
        Ok(())
    }

    /// Downloads an attachment's bytes from its `downloadLink` (relative to `/wiki`, or absolute
    /// on the site).
    pub async fn download(&self, link: &str) -> Result<Vec<u8>, HttpError> {
        let url = if link.starts_with("/wiki/") || link.contains("://") {
            self.http().resolve(link)?
        } else {
            self.http().url(link.trim_start_matches('/'))?
        };
        // Named, so that a 404 says this file is gone, not that the site is not Confluence.
        let what = format!("the attachment file {}", url.path());
        let req = Request::get(url).endpoint("GET download").object(what);
        let resp = self.http().send(&req).await?;
        Ok(resp.body)
    }
}
