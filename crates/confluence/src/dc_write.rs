//! What `migrate` and `verify` ask of a Data Center site, in Data Center 9.0's terms: pages are
//! written with `POST /rest/api/content` (`space.key`, `ancestors`) and `PUT
//! /rest/api/content/{id}` (the next version number), read with `GET /rest/api/content/{id}`
//! and found by title with `GET /rest/api/content?spaceKey&title`; the answers come back in
//! the store's (Cloud v2) shapes ([`crate::dc`]). Attachments and labels use the v1 routes
//! both flavours share ([`crate::write`]). Routes take the space key; ids are mapped to keys
//! from the spaces listed ([`Confluence::spaces_for_keys`], or all of them once).

use std::sync::Arc;

use kb_http::{HttpError, Method, Pagination, Part, Request};
use serde_json::{Value, json};

use crate::client::{Confluence, ContentQuery, Listing};
use crate::connector::DC_LIMIT;
use crate::dc;
use crate::write::{NewPage, PageUpdate, Upload};

/// What a page read for migrate expands.
const DC_PAGE_EXPAND: &str = "body.storage,version,ancestors,space,history";

fn decode(v: Value, what: &str, req: &Request) -> Result<Value, HttpError> {
    dc::content(v).ok_or_else(|| HttpError::Decode {
        method: req.method.to_string(),
        url: req.url.to_string(),
        path: ".".into(),
        message: format!("{what}: not a content object"),
    })
}

impl Confluence {
    /// Remembers the keys of listed spaces (normalised, `{id, key}`).
    pub(crate) fn remember_spaces(&self, spaces: &[Value]) {
        let mut m = self.space_keys.lock().unwrap_or_else(|e| e.into_inner());
        for s in spaces {
            if let (Some(id), Some(key)) = (crate::keys::id(s), crate::keys::space_key(s)) {
                m.insert(id, key.to_string());
            }
        }
    }

    fn known_key(&self, space_id: &str) -> Option<String> {
        self.space_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(space_id)
            .cloned()
    }

    /// The key of space `id`: remembered, or found by listing every readable space once.
    async fn dc_space_key(&self, space_id: &str) -> Result<String, HttpError> {
        if let Some(k) = self.known_key(space_id) {
            return Ok(k);
        }
        let all = self.space_listing(&[])?.all().await?;
        self.remember_spaces(&all);
        self.known_key(space_id)
            .ok_or_else(|| HttpError::InvalidUrl {
                url: format!("space {space_id}"),
                message: "no readable space has this id: check the id and the account's space permissions".into(),
            })
    }

    /// A space by id (Data Center's routes know spaces by key).
    pub(crate) async fn dc_space_by_id(&self, space_id: &str) -> Result<Value, HttpError> {
        let key = self.dc_space_key(space_id).await?;
        let listed = self
            .space_listing(std::slice::from_ref(&key))?
            .all()
            .await?;
        listed
            .into_iter()
            .find(|s| crate::keys::id(s).as_deref() == Some(space_id))
            .ok_or_else(|| HttpError::InvalidUrl {
                url: format!("space {space_id}"),
                message: format!("space {key} is no longer readable"),
            })
    }

    /// The pages of a space (`GET /rest/api/content?type=page&spaceKey=`, offsets); the space
    /// must have been listed first (its key is looked up by id).
    pub(crate) fn dc_space_pages(
        &self,
        space_id: &str,
        q: &ContentQuery,
    ) -> Result<Listing, HttpError> {
        let key = self
            .known_key(space_id)
            .ok_or_else(|| HttpError::InvalidUrl {
                url: format!("space {space_id}"),
                message: "the space's key is not known yet: list the space first".into(),
            })?;
        let expand = if q.body {
            DC_PAGE_EXPAND
        } else {
            "version,ancestors,space,history"
        };
        let status = match q.statuses.as_slice() {
            [] => "current".to_string(),
            [one] => one.clone(),
            _ => "any".to_string(),
        };
        let req = Request::get(self.http.url("rest/api/content")?)
            .query("type", "page")
            .query("spaceKey", &key)
            .query("status", &status)
            .query("expand", expand)
            .query("limit", DC_LIMIT.to_string())
            .object(format!("space {key}"));
        let statuses = q.statuses.clone();
        let mut l = self.listing(req, Pagination::Links);
        l.normalise = Some(Arc::new(move |v| {
            let v = dc::content(v)?;
            let st = v.get("status").and_then(Value::as_str).unwrap_or("current");
            (statuses.is_empty() || statuses.iter().any(|s| s == st)).then_some(v)
        }));
        Ok(l)
    }

    /// `GET /rest/api/content/{id}/child/attachment` (offsets), as v2's attachments.
    pub(crate) fn dc_attachments(&self, id: &str) -> Result<Listing, HttpError> {
        let req = Request::get(
            self.http
                .url(&format!("rest/api/content/{id}/child/attachment"))?,
        )
        .query("expand", "version,container,history")
        .query("limit", DC_LIMIT.to_string())
        .object(format!("attachments of content {id}"));
        let mut l = self.listing(req, Pagination::Links);
        l.normalise = Some(Arc::new(dc::attachment));
        Ok(l)
    }

    /// Attaches files (Data Center 9.0 has no `PUT …/child/attachment`): new names in one
    /// `POST …/child/attachment`, a name the page already has as a new version with
    /// `POST …/child/attachment/{attachmentId}/data`; both with `X-Atlassian-Token: no-check`.
    /// Returns the attachments as the API describes them.
    pub(crate) async fn dc_put_attachments(
        &self,
        page_id: &str,
        files: &[Upload<'_>],
    ) -> Result<Vec<Value>, HttpError> {
        let existing: std::collections::HashMap<String, String> = self
            .dc_attachments(page_id)?
            .all()
            .await?
            .iter()
            .filter_map(|a| Some((crate::keys::title(a)?.to_string(), crate::keys::id(a)?)))
            .collect();
        let minor = Part {
            name: "minorEdit",
            filename: None,
            content_type: None,
            data: b"true",
        };
        fn file_part<'a>(f: &Upload<'a>) -> Part<'a> {
            Part {
                name: "file",
                filename: Some(f.filename),
                content_type: Some(f.media_type),
                data: f.bytes,
            }
        }
        let xsrf = |r: Request| {
            r.header(
                kb_http::header::HeaderName::from_static("x-atlassian-token"),
                kb_http::header::HeaderValue::from_static("no-check"),
            )
        };
        let mut out = Vec::new();
        let new: Vec<&Upload<'_>> = files
            .iter()
            .filter(|f| !existing.contains_key(f.filename))
            .collect();
        if !new.is_empty() {
            let mut parts: Vec<Part<'_>> = new.iter().map(|f| file_part(f)).collect();
            parts.push(minor);
            let url = self
                .http
                .url(&format!("rest/api/content/{page_id}/child/attachment"))?;
            let names: Vec<&str> = new.iter().map(|f| f.filename).collect();
            let req = xsrf(Request::multipart(Method::POST, url, &parts)).object(format!(
                "attachments {} of page {page_id}",
                names.join(", ")
            ));
            let v: Value = self.http.json(&req).await?;
            match v.get("results").and_then(Value::as_array) {
                Some(a) => out.extend(a.iter().cloned()),
                None => out.push(v),
            }
        }
        for f in files {
            let Some(att) = existing.get(f.filename) else {
                continue;
            };
            let parts = [file_part(f), minor];
            let url = self.http.url(&format!(
                "rest/api/content/{page_id}/child/attachment/{att}/data"
            ))?;
            let req = xsrf(Request::multipart(Method::POST, url, &parts))
                .object(format!("attachment {} of page {page_id}", f.filename));
            let v: Value = self.http.json(&req).await?;
            out.push(v);
        }
        Ok(out)
    }

    /// `POST /rest/api/content`.
    pub(crate) async fn dc_create_page(&self, page: &NewPage<'_>) -> Result<Value, HttpError> {
        let key = self.dc_space_key(page.space_id).await?;
        let mut body = json!({
            "type": "page",
            "status": "current",
            "title": page.title,
            "space": {"key": key},
            "body": {"storage": {"value": page.storage, "representation": "storage"}},
        });
        if let Some(p) = page.parent_id {
            body["ancestors"] = json!([{"id": p}]);
        }
        let req = Request::json(Method::POST, self.http.url("rest/api/content")?, &body)
            .query("expand", DC_PAGE_EXPAND)
            .object(format!("new page \"{}\"", page.title));
        let v: Value = self.http.json(&req).await?;
        decode(v, "the created page", &req)
    }

    /// `PUT /rest/api/content/{id}`.
    pub(crate) async fn dc_update_page(&self, page: &PageUpdate<'_>) -> Result<Value, HttpError> {
        let mut body = json!({
            "id": page.id,
            "type": "page",
            "status": "current",
            "title": page.title,
            "body": {"storage": {"value": page.storage, "representation": "storage"}},
            "version": {"number": page.version, "message": page.message},
        });
        if let Some(p) = page.parent_id {
            body["ancestors"] = json!([{"id": p}]);
        }
        let url = self.http.url(&format!("rest/api/content/{}", page.id))?;
        let req = Request::json(Method::PUT, url, &body)
            .query("expand", DC_PAGE_EXPAND)
            .object(format!("page {} (\"{}\")", page.id, page.title));
        let v: Value = self.http.json(&req).await?;
        decode(v, "the updated page", &req)
    }

    /// `GET /rest/api/content/{id}?expand=body.storage,…`.
    pub(crate) async fn dc_page_with_body(&self, id: &str) -> Result<Value, HttpError> {
        let req = Request::get(self.http.url(&format!("rest/api/content/{id}"))?)
            .query("expand", DC_PAGE_EXPAND)
            .object(format!("page {id}"));
        let v: Value = self.http.json(&req).await?;
        let page = decode(v, "the page", &req)?;
        if let Some(key) = page.get("spaceKey").and_then(Value::as_str)
            && let Some(sid) = crate::keys::space_id(&page)
        {
            self.space_keys
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(sid, key.to_string());
        }
        Ok(page)
    }

    /// `GET /rest/api/content?type=page&spaceKey&title&status=current`.
    pub(crate) async fn dc_page_by_title(
        &self,
        space_id: &str,
        title: &str,
    ) -> Result<Option<Value>, HttpError> {
        let key = self.dc_space_key(space_id).await?;
        let req = Request::get(self.http.url("rest/api/content")?)
            .query("type", "page")
            .query("spaceKey", &key)
            .query("title", title)
            .query("status", "current")
            .query("expand", DC_PAGE_EXPAND)
            .object(format!("page \"{title}\" in space {key}"));
        let v: Value = self.http.json(&req).await?;
        match v
            .get("results")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            Some(p) => decode(p.clone(), "the page found by title", &req).map(Some),
            None => Ok(None),
        }
    }
}
