//! The client and its reads: pages (with complete property values), block children and whole
//! block trees, databases and their rows, search, file downloads.

use std::fmt;
use std::sync::Arc;

use futures_util::StreamExt as _;
use futures_util::TryStreamExt as _;
use kb_doc::notion::model::{self, Block, Database, Page, PropertyValue};
use kb_http::header::HeaderValue;
use kb_http::{
    Auth, Client, EventCallback, HttpError, Method, Pagination, Request, SiteConfig, Stats, Url,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::config::{ENV_TOKEN, ENV_URL, NotionConfig, NotionVersion};
use crate::error::NotionError;

/// Notion's largest page size.
pub const PAGE_SIZE: u32 = 100;
/// References a page retrieval gives per property before it truncates.
pub const TRUNCATED_AT: usize = 25;
/// Deepest block tree walked (Notion pages are far shallower; deeper means a loop).
pub const MAX_TREE_DEPTH: usize = 128;

pub(crate) struct Inner {
    pub(crate) http: Client,
    /// Downloads of signed file URLs: no credentials, its own pacing.
    pub(crate) files: Client,
    pub(crate) version: NotionVersion,
    pub(crate) concurrency: usize,
}

/// A Notion integration speaking one `Notion-Version`. Cheap to clone (clones share the
/// limiter and the counters).
#[derive(Clone)]
pub struct Notion {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Notion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notion")
            .field("version", &self.inner.version)
            .field("http", &self.inner.http)
            .finish()
    }
}

/// The hint of a status error: what to do, naming the env var or the sharing step.
fn hint(base: &str, status: u16, req: &Request) -> Option<String> {
    match status {
        401 => Some(format!(
            "check {ENV_TOKEN}: it must be the secret of an internal integration (https://www.notion.so/my-integrations); it may have been revoked or rotated"
        )),
        403 => Some(match &req.object {
            Some(o) => format!(
                "the integration may not do this on {o}: enable the capability it needs (read content, update content, insert content, read user information) in the integration's settings"
            ),
            None => "the integration lacks a capability this call needs (e.g. read user information): enable it in the integration's settings".into(),
        }),
        404 => Some(match &req.object {
            Some(o) => format!(
                "{o} does not exist or is not shared with the integration: share the page with the integration (••• → Connections) and check the id"
            ),
            None => format!("is {base} the Notion API? Check {ENV_URL}"),
        }),
        409 => Some("a conflicting edit happened at the same time: run again".into()),
        _ => None,
    }
}

fn download_hint(status: u16, _req: &Request) -> Option<String> {
    match status {
        403 => Some(
            "the signed URL has expired (Notion file URLs last one hour) or is not valid: read the block or page again for a fresh URL and download it at once".into(),
        ),
        404 => Some("the file is gone: read the block or page again".into()),
        _ => None,
    }
}

/// Decodes `v` as `T`, naming `object` and the JSON path on failure.
pub(crate) fn decode<T: DeserializeOwned>(object: &str, v: Value) -> Result<T, NotionError> {
    serde_path_to_error::deserialize(v).map_err(|e| NotionError::Decode {
        object: object.to_string(),
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// A listing's decode error (`results[3].…`) re-told about `object`.
fn listing_error(object: &str, e: HttpError) -> NotionError {
    match e {
        HttpError::Decode { path, message, .. } => NotionError::Decode {
            object: object.to_string(),
            path,
            message,
        },
        other => NotionError::Http(other),
    }
}

/// The id as the API writes it (with dashes), or as given when it is not 32 hex digits.
pub fn dashed(id: &str) -> String {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    if hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    } else {
        id.to_string()
    }
}

/// A path segment for an id: refuses anything that could leave the segment.
fn seg(id: &str, what: &str) -> Result<String, NotionError> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(NotionError::Config(format!(
            "{what} id {id:?} is not a Notion id (32 hex digits, dashes allowed): copy it from the page's URL"
        )));
    }
    Ok(id.to_string())
}

impl Notion {
    /// A client for the configured API.
    pub fn new(cfg: NotionConfig) -> Result<Notion, NotionError> {
        Notion::build(cfg, None)
    }

    /// A client whose events (requests, 429s, retries) also go to `cb`.
    pub fn with_events(cfg: NotionConfig, cb: EventCallback) -> Result<Notion, NotionError> {
        Notion::build(cfg, Some(cb))
    }

    fn build(cfg: NotionConfig, on_event: Option<EventCallback>) -> Result<Notion, NotionError> {
        cfg.validate()?;
        let base = crate::config::parse_base_url(cfg.base_url.as_str())?;
        let mut site = SiteConfig::new(base.clone());
        site.limits.rate = cfg.rate;
        site.limits.burst = cfg.burst.max(1);
        site.limits.concurrency = cfg.concurrency;
        site.retry = cfg.retry.clone();
        site.timeout = cfg.timeout;
        site.auth = Some(Auth::bearer(&cfg.token)?);
        site.url_setting = Some(crate::config::ENV_URL.into());
        site.service_error_shape = Some(crate::error::is_notion_error);
        let version = HeaderValue::from_static(cfg.version.as_str());
        site.default_headers.insert("notion-version", version);
        site.default_headers.insert(
            kb_http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        let shown = base.as_str().trim_end_matches('/').to_string();
        let hints: kb_http::Hints = Arc::new(move |status, req| hint(&shown, status, req));
        let http = Client::build(site, Some(hints), on_event.clone())?;
        // Signed file URLs (S3 on Notion, `/__files` on the twin): never the token, and a pace
        // of their own (file hosts are not the API's 3 requests/s).
        let mut fsite = SiteConfig::new(base);
        fsite.limits.rate = 20.0;
        fsite.limits.burst = 20;
        fsite.limits.concurrency = cfg.concurrency.max(1);
        fsite.retry = cfg.retry.clone();
        fsite.timeout = cfg.timeout.map(|t| t * 4);
        let fhints: kb_http::Hints = Arc::new(download_hint);
        let files = Client::build(fsite, Some(fhints), on_event)?;
        Ok(Notion {
            inner: Arc::new(Inner {
                http,
                files,
                version: cfg.version,
                concurrency: cfg.concurrency.max(1),
            }),
        })
    }

    /// Requests, 429s and retries to the API so far (downloads not included).
    pub fn stats(&self) -> &Stats {
        self.inner.http.stats()
    }

    /// The counters of file downloads.
    pub fn download_stats(&self) -> &Stats {
        self.inner.files.stats()
    }

    /// The pinned `Notion-Version`.
    pub fn version(&self) -> NotionVersion {
        self.inner.version
    }

    /// The underlying kb-http client of the API (limiter, counters).
    pub fn http(&self) -> &Client {
        &self.inner.http
    }

    pub(crate) fn url(&self, path: &str) -> Result<Url, NotionError> {
        Ok(self.inner.http.url(&format!("v1/{path}"))?)
    }

    /// One request, decoded as JSON.
    pub(crate) async fn call(&self, req: Request) -> Result<Value, NotionError> {
        Ok(self.inner.http.json(&req).await?)
    }

    pub(crate) fn get(&self, path: &str, object: String) -> Result<Request, NotionError> {
        Ok(Request::get(self.url(path)?).object(object))
    }

    pub(crate) fn send_json(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        object: String,
    ) -> Result<Request, NotionError> {
        Ok(Request::json(method, self.url(path)?, body).object(object))
    }

    /// Every item of a cursor listing.
    pub(crate) async fn list<T>(&self, req: Request, object: &str) -> Result<Vec<T>, NotionError>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let mut out = Vec::new();
        let mut pages = self.inner.http.pages::<T>(req, Pagination::next_cursor());
        while let Some(page) = pages
            .try_next()
            .await
            .map_err(|e| listing_error(object, e))?
        {
            out.extend(page.items);
        }
        Ok(out)
    }

    // ------------------------------------------------------------------------------ pages

    /// `GET /v1/pages/{id}`: property lists may be cut at 25 references (see
    /// [`Notion::page_complete`]).
    pub async fn page(&self, id: &str) -> Result<Page, NotionError> {
        let object = format!("page {id}");
        let req = self.get(&format!("pages/{}", seg(id, "page")?), object.clone())?;
        decode(&object, self.call(req).await?)
    }

    /// The page with every truncated property completed through the property-item endpoint
    /// (relations/people/rich_text/title beyond 25 references), so nothing is lost.
    pub async fn page_complete(&self, id: &str) -> Result<Page, NotionError> {
        let mut page = self.page(id).await?;
        self.complete_properties(&mut page).await?;
        Ok(page)
    }

    /// Completes `page`'s properties that page retrieval may have cut: relations and people
    /// marked `has_more` (or holding 25 references), titles and rich text of 25 items or more;
    /// and when a relation was cut, the rollups (computed over the first 25 related pages
    /// only) from the property-item endpoint's aggregate.
    pub async fn complete_properties(&self, page: &mut Page) -> Result<(), NotionError> {
        let pid = seg(&page.id, "page")?;
        let mut relation_cut = false;
        let mut todo = Vec::new();
        for (i, (_, p)) in page.properties.0.iter().enumerate() {
            if cut(p) {
                relation_cut |= p.kind == "relation";
                todo.push(i);
            }
        }
        if relation_cut {
            for (i, (_, p)) in page.properties.0.iter().enumerate() {
                if p.kind == "rollup" {
                    todo.push(i);
                }
            }
        }
        for i in todo {
            let (name, prop) = &page.properties.0[i];
            let Some(prop_id) = prop.id.clone() else {
                return Err(NotionError::Decode {
                    object: format!("page {}", page.id),
                    path: format!("properties.{name}.id"),
                    message: "a property without an id cannot be completed".into(),
                });
            };
            let object = format!("property {name:?} of page {}", page.id);
            let full = self
                .property_item(&pid, &prop_id, &prop.kind, &object)
                .await?;
            let entry = &mut page.properties.0[i].1;
            entry.rest.insert(entry.kind.clone(), full);
            if entry.kind == "relation" {
                entry.rest.insert("has_more".into(), Value::Bool(false));
            } else {
                entry.rest.remove("has_more");
            }
        }
        Ok(())
    }

    /// The whole value of one property: a paginated list's items joined (title, rich text,
    /// relation, people), a rollup's aggregate, else the single item's value.
    async fn property_item(
        &self,
        page_id: &str,
        prop_id: &str,
        kind: &str,
        object: &str,
    ) -> Result<Value, NotionError> {
        // Property ids are URL-encoded already (`%3EQQn`); decode, then let the URL encode once.
        let raw = kb_http::percent_decode(prop_id);
        let mut url = self.url(&format!("pages/{page_id}/properties/"))?;
        url.path_segments_mut()
            .map_err(|_| NotionError::Config("the API URL cannot take paths".into()))?
            .pop_if_empty()
            .push(&raw);
        let first = Request::get(url)
            .query("page_size", PAGE_SIZE.to_string())
            .object(object.to_string())
            .endpoint("GET /v1/pages/{id}/properties/{property_id}");
        let mut values = Vec::new();
        let mut rollup = None;
        let mut single = None;
        let mut req = Some(first);
        let mut guard = 0;
        while let Some(r) = req.take() {
            guard += 1;
            let v = self.call(r.clone()).await?;
            if v.get("object").and_then(Value::as_str) != Some("list") {
                single = Some(v.get(kind).cloned().unwrap_or(Value::Null));
                break;
            }
            for item in v["results"].as_array().into_iter().flatten() {
                if let Some(x) = item.get(kind) {
                    values.push(x.clone());
                } else if let Some(t) = item.get("type").and_then(Value::as_str)
                    && let Some(x) = item.get(t)
                {
                    values.push(json!({"type": t, t: x}));
                }
            }
            if let Some(r) = v["property_item"].get("rollup") {
                rollup = Some(r.clone());
            }
            let more = v["has_more"].as_bool().unwrap_or(false);
            match v["next_cursor"].as_str() {
                Some(c) if more && !c.is_empty() && guard < 10_000 => {
                    req = Some(r.set_query("start_cursor", c));
                }
                _ => {}
            }
        }
        Ok(match (kind, single, rollup) {
            (_, Some(s), _) => s,
            ("rollup", None, Some(r)) => r,
            _ => Value::Array(values),
        })
    }

    // ------------------------------------------------------------------------------ blocks

    /// One level of children, all pages of the cursor.
    pub async fn children(&self, block_id: &str) -> Result<Vec<Block>, NotionError> {
        let object = format!("children of block {block_id}");
        let req = self
            .get(
                &format!("blocks/{}/children", seg(block_id, "block")?),
                format!("block {block_id}"),
            )?
            .query("page_size", PAGE_SIZE.to_string());
        self.list(req, &object).await
    }

    /// The whole block tree below a page or block: `children` filled recursively wherever
    /// `has_children`, except below `child_page` and `child_database` (separate documents).
    /// Level by level, up to `concurrency` listings at once, order kept. A synced-block
    /// duplicate gets the children the API lists for it (its original's).
    pub async fn block_tree(&self, id: &str) -> Result<Vec<Block>, NotionError> {
        let mut top = self.children(id).await?;
        let mut level: Vec<Vec<usize>> = (0..top.len())
            .filter(|&i| descend(&top[i]))
            .map(|i| vec![i])
            .collect();
        let mut depth = 1;
        while !level.is_empty() {
            depth += 1;
            if depth > MAX_TREE_DEPTH {
                return Err(NotionError::TooDeep {
                    id: id.to_string(),
                    depth: MAX_TREE_DEPTH,
                });
            }
            let ids: Vec<String> = level
                .iter()
                .map(|p| at(&mut top, p).id.clone().unwrap_or_default())
                .collect();
            let fetched: Vec<Vec<Block>> = futures_util::stream::iter(ids)
                .map(|bid| async move { self.children(&bid).await })
                .buffered(self.inner.concurrency)
                .try_collect()
                .await?;
            let mut next = Vec::new();
            for (path, kids) in level.into_iter().zip(fetched) {
                let node = at(&mut top, &path);
                for (j, k) in kids.iter().enumerate() {
                    if descend(k) {
                        let mut p = path.clone();
                        p.push(j);
                        next.push(p);
                    }
                }
                node.children = kids;
            }
            level = next;
        }
        Ok(top)
    }

    // ------------------------------------------------------------------------------ databases

    /// `GET /v1/databases/{id}`: under 2025-09-03 the container with its `data_sources`, under
    /// 2022-06-28 the database with its schema.
    pub async fn database(&self, id: &str) -> Result<Database, NotionError> {
        let object = format!("database {id}");
        let req = self.get(
            &format!("databases/{}", seg(id, "database")?),
            object.clone(),
        )?;
        decode(&object, self.call(req).await?)
    }

    /// `GET /v1/data_sources/{id}` (2025-09-03): the schema and its relations' data sources.
    pub async fn data_source(&self, id: &str) -> Result<Database, NotionError> {
        let object = format!("data source {id}");
        let req = self.get(
            &format!("data_sources/{}", seg(id, "data source")?),
            object.clone(),
        )?;
        decode(&object, self.call(req).await?)
    }

    /// All rows (pages) of a database: under 2025-09-03 through its data source(s)
    /// (`POST /v1/data_sources/{id}/query`), under 2022-06-28 `POST /v1/databases/{id}/query`;
    /// every page of the cursor, in the API's default order. Queries only read, so they are
    /// retried like GETs.
    pub async fn database_rows(&self, db: &Database) -> Result<Vec<Page>, NotionError> {
        let body = json!({"page_size": PAGE_SIZE});
        match self.inner.version {
            NotionVersion::V2022_06_28 => {
                let object = format!("rows of database {}", db.id);
                let req = self
                    .send_json(
                        Method::POST,
                        &format!("databases/{}/query", seg(&db.id, "database")?),
                        &body,
                        format!("database {}", db.id),
                    )?
                    .idempotent(true);
                self.list(req, &object).await
            }
            NotionVersion::V2025_09_03 => {
                if db.data_sources.is_empty() {
                    return Err(NotionError::Decode {
                        object: format!("database {}", db.id),
                        path: "data_sources".into(),
                        message: "no data source: read the database with Notion-Version 2025-09-03 (Notion::database) before asking for its rows".into(),
                    });
                }
                let mut rows = Vec::new();
                for (i, ds) in db.data_sources.iter().enumerate() {
                    let Some(ds_id) = ds.get("id").and_then(Value::as_str) else {
                        return Err(NotionError::Decode {
                            object: format!("database {}", db.id),
                            path: format!("data_sources[{i}].id"),
                            message: "missing string".into(),
                        });
                    };
                    let object = format!("rows of data source {ds_id} (database {})", db.id);
                    let req = self
                        .send_json(
                            Method::POST,
                            &format!("data_sources/{}/query", seg(ds_id, "data source")?),
                            &body,
                            format!("data source {ds_id} of database {}", db.id),
                        )?
                        .idempotent(true);
                    rows.extend(self.list::<Page>(req, &object).await?);
                }
                Ok(rows)
            }
        }
    }

    /// `POST /v1/search`, every page of the cursor: `query` matches titles; `filter_object` is
    /// `page`, or `data_source` (2025-09-03) / `database` (2022-06-28).
    pub async fn search(
        &self,
        query: Option<&str>,
        filter_object: Option<&str>,
    ) -> Result<Vec<Value>, NotionError> {
        let mut body = json!({"page_size": PAGE_SIZE});
        if let Some(q) = query {
            body["query"] = json!(q);
        }
        if let Some(f) = filter_object {
            body["filter"] = json!({"property": "object", "value": f});
        }
        let req = self
            .send_json(Method::POST, "search", &body, "search".into())?
            .idempotent(true);
        self.list(req, "search results").await
    }

    /// `POST /v1/search` for pages, newest edit first, read until a page edited before
    /// `since` (RFC 3339) shows up: the pages edited at or after `since`, with their
    /// `last_edited_time` (rounded to the minute by Notion: give `since` an overlap). A quiet
    /// workspace costs one request.
    pub async fn pages_edited_since(&self, since: &str) -> Result<Vec<Value>, NotionError> {
        let body = json!({
            "page_size": PAGE_SIZE,
            "filter": {"property": "object", "value": "page"},
            "sort": {"timestamp": "last_edited_time", "direction": "descending"},
        });
        let req = self
            .send_json(Method::POST, "search", &body, "search".into())?
            .idempotent(true);
        let mut out = Vec::new();
        let mut pages = self
            .inner
            .http
            .pages::<Value>(req, Pagination::next_cursor());
        while let Some(page) = pages
            .try_next()
            .await
            .map_err(|e| listing_error("recently edited pages", e))?
        {
            let mut older = false;
            for v in page.items {
                let edited = v
                    .get("last_edited_time")
                    .and_then(Value::as_str)
                    .ok_or_else(|| NotionError::Decode {
                        object: format!(
                            "search result {}",
                            v.get("id").and_then(Value::as_str).unwrap_or("(no id)")
                        ),
                        path: "last_edited_time".into(),
                        message: "missing or not a string".into(),
                    })?;
                let ms = |t: &str| {
                    t.parse::<jiff::Timestamp>()
                        .ok()
                        .map(|t| t.as_millisecond())
                };
                let before = match (ms(edited), ms(since)) {
                    (Some(e), Some(s)) => e < s,
                    _ => edited < since,
                };
                if before {
                    older = true;
                } else {
                    out.push(v);
                }
            }
            if older {
                break;
            }
        }
        Ok(out)
    }

    /// `GET /v1/users/me`: the integration's bot user.
    pub async fn me(&self) -> Result<model::User, NotionError> {
        let req = self.get("users/me", "the integration's bot user".into())?;
        decode("users/me", self.call(req).await?)
    }

    // ------------------------------------------------------------------------------ files

    /// Downloads a Notion-hosted or external file. Signed URLs expire (one hour on Notion):
    /// download right after reading the block. The token is never sent with a download.
    /// Errors show the URL without its query (signatures).
    pub async fn download(&self, url: &str) -> Result<Vec<u8>, NotionError> {
        let shown = shown_url(url);
        let parsed = Url::parse(url).map_err(|e| NotionError::Download {
            url: shown.clone(),
            status: None,
            message: format!("not a URL ({e})"),
            hint: Some("take the URL from the block's file.url or external.url".into()),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(NotionError::Download {
                url: shown,
                status: None,
                message: "only http:// and https:// files can be downloaded".into(),
                hint: None,
            });
        }
        let req = Request::get(parsed.clone())
            .endpoint("GET (file download)")
            .object(format!("file {shown}"));
        match self.inner.files.send(&req).await {
            Ok(r) => Ok(r.body),
            Err(e) => {
                let full = kb_http::redact_url(&parsed);
                Err(NotionError::Download {
                    url: shown.clone(),
                    status: e.status(),
                    message: e.to_string().replace(&full, &shown),
                    hint: e.hint().map(str::to_string),
                })
            }
        }
    }
}

/// A URL for messages: scheme, host and path, the query (signatures) left out.
pub fn shown_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            let had_query = u.query().is_some();
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_username("");
            let _ = u.set_password(None);
            let mut s = u.to_string();
            if had_query {
                s.push_str("?…");
            }
            s
        }
        Err(_) => url.split('?').next().unwrap_or("").to_string(),
    }
}

/// Whether a truncated list may hide references.
fn cut(p: &PropertyValue) -> bool {
    let n = p.value().and_then(Value::as_array).map_or(0, Vec::len);
    match p.kind.as_str() {
        "relation" | "people" => {
            p.rest.get("has_more").and_then(Value::as_bool) == Some(true) || n >= TRUNCATED_AT
        }
        "title" | "rich_text" => n >= TRUNCATED_AT,
        _ => false,
    }
}

/// Whether the walk lists a block's children.
fn descend(b: &Block) -> bool {
    b.has_children && !matches!(b.kind.as_str(), "child_page" | "child_database") && b.id.is_some()
}

fn at<'a>(top: &'a mut [Block], path: &[usize]) -> &'a mut Block {
    let mut node = &mut top[path[0]];
    for &i in &path[1..] {
        node = &mut node.children[i];
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_name_the_object_and_the_path() {
        let e = decode::<Page>(
            "page 1f",
            json!({"id": "1f", "properties": {"Tasks": {"id": "x", "type": 7}}}),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("page 1f:"), "{msg}");
        assert!(msg.contains("`properties.Tasks.type`"), "{msg}");
    }

    #[test]
    fn ids_and_urls() {
        assert_eq!(
            dashed("1f2e3d4c5b6a79888776655443322110"),
            "1f2e3d4c-5b6a-7988-8776-655443322110"
        );
        assert_eq!(dashed("not-an-id"), "not-an-id");
        assert!(seg("../x", "page").is_err());
        assert_eq!(kb_http::percent_decode("%3EQQn"), ">QQn");
        assert_eq!(kb_http::percent_decode("a%2"), "a%2");
        assert_eq!(
            shown_url("https://s3.example/a/b.png?X-Amz-Signature=abc&X-Amz-Expires=3600"),
            "https://s3.example/a/b.png?…"
        );
    }
}
