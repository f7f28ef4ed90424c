//! The calls. Listings are [`Listing`]s: a request and its pagination, to stream from the
//! start or from a saved token. Items are raw `serde_json::Value` objects (the store keeps the
//! raw JSON); [`crate::keys`] reads the few keys the engine needs.

use std::sync::Arc;

use futures_util::{StreamExt as _, TryStreamExt as _};
use kb_http::{
    Auth, Client, EventCallback, HttpError, Method, PageStream, Pagination, Request, SiteConfig,
    StatsSnapshot,
};
use serde_json::Value;

use crate::config::{
    AuthScheme, ConfigError, ConfluenceConfig, ENV_EMAIL, ENV_PASSWORD, ENV_PAT, ENV_TOKEN,
    ENV_USERNAME, Flavour, SiteUrl,
};

/// Anything that can go wrong talking to Confluence.
#[derive(Debug, thiserror::Error)]
pub enum ConfluenceError {
    /// The configuration cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A request failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// Space keys that name no space the account can read.
    #[error(
        "{site}: no space with key {} that the account can read: check the keys (they are case-sensitive) and the account's space permissions",
        keys.join(", ")
    )]
    UnknownSpaces {
        /// The site.
        site: String,
        /// The keys not found.
        keys: Vec<String>,
    },
}

impl ConfluenceError {
    /// The HTTP status behind the error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ConfluenceError::Http(e) => e.status(),
            ConfluenceError::Config(_) | ConfluenceError::UnknownSpaces { .. } => None,
        }
    }
}

/// The largest page v2 serves.
pub const V2_LIMIT: u32 = 250;
/// The page size of v1 CQL search (Cloud caps expanded searches lower; the answer's `limit`
/// says what was served and pagination follows `_links.next` either way).
pub const V1_SEARCH_LIMIT: u32 = 250;
/// The page size of v1 group listings.
pub const V1_GROUP_LIMIT: u32 = 200;

/// The kinds of content whose sub-resources (versions, labels, properties…) have v2 routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContentKind {
    Page,
    BlogPost,
    Attachment,
    CustomContent,
    FooterComment,
    InlineComment,
}

impl ContentKind {
    /// The v2 path segment (`pages`, `blogposts`, …).
    pub fn segment(self) -> &'static str {
        match self {
            ContentKind::Page => "pages",
            ContentKind::BlogPost => "blogposts",
            ContentKind::Attachment => "attachments",
            ContentKind::CustomContent => "custom-content",
            ContentKind::FooterComment => "footer-comments",
            ContentKind::InlineComment => "inline-comments",
        }
    }

    /// Words for error messages.
    pub fn noun(self) -> &'static str {
        match self {
            ContentKind::Page => "page",
            ContentKind::BlogPost => "blog post",
            ContentKind::Attachment => "attachment",
            ContentKind::CustomContent => "custom content",
            ContentKind::FooterComment => "footer comment",
            ContentKind::InlineComment => "inline comment",
        }
    }
}

/// Filters of the bulk content lists (`/pages`, `/blogposts`, `/attachments`, …).
#[derive(Clone, Debug, Default)]
pub struct ContentQuery {
    /// `space-id` (several are comma-joined; empty: every space).
    pub space_ids: Vec<String>,
    /// `status` (empty: the API's default, current and archived for pages).
    pub statuses: Vec<String>,
    /// Ask for the `storage` body (pages, blog posts, comments, custom content).
    pub body: bool,
    /// `sort` (e.g. `id`, `-modified-date`).
    pub sort: Option<String>,
    /// Page size (default and maximum 250).
    pub limit: Option<u32>,
}

impl ContentQuery {
    /// Every status v2 accepts for pages (trashed included, deleted too, for reconciliation).
    pub fn in_spaces(space_ids: &[impl AsRef<str>]) -> ContentQuery {
        ContentQuery {
            space_ids: space_ids.iter().map(|s| s.as_ref().to_string()).collect(),
            ..ContentQuery::default()
        }
    }

    /// Sets the `status` filter.
    pub fn statuses(mut self, statuses: &[&str]) -> ContentQuery {
        self.statuses = statuses.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Asks for the `storage` body.
    pub fn with_body(mut self) -> ContentQuery {
        self.body = true;
        self
    }

    /// Sets the page size (1–250).
    pub fn limit(mut self, limit: u32) -> ContentQuery {
        self.limit = Some(limit);
        self
    }

    /// Sets the `sort` order.
    pub fn sort(mut self, sort: &str) -> ContentQuery {
        self.sort = Some(sort.to_string());
        self
    }

    pub(crate) fn apply(&self, mut req: Request) -> Request {
        if !self.space_ids.is_empty() {
            req = req.query("space-id", self.space_ids.join(","));
        }
        if !self.statuses.is_empty() {
            req = req.query("status", self.statuses.join(","));
        }
        if self.body {
            req = req.query("body-format", "storage");
        }
        if let Some(s) = &self.sort {
            req = req.query("sort", s);
        }
        req.query("limit", self.limit.unwrap_or(V2_LIMIT).to_string())
    }
}

/// Turns an item of a flavour's answer into the shape the store keeps (Data Center's v1
/// objects into Cloud v2's), or drops it (`None`: an item the listing does not cover, e.g. an
/// inline comment in the footer-comment listing, which the other listing has).
pub type Normalise = Arc<dyn Fn(Value) -> Option<Value> + Send + Sync>;

/// One listing: the first request and how it pages.
#[derive(Clone)]
pub struct Listing {
    client: Client,
    /// The first request (change its query to change the page size or filters).
    pub request: Request,
    /// How it pages.
    pub pagination: Pagination,
    /// Applied to every item (Data Center: v1 shapes into the store's).
    pub normalise: Option<Normalise>,
}

impl Listing {
    /// The pages from the start.
    pub fn pages(self) -> PageStream<Value> {
        self.resume(None)
    }

    /// The pages from a saved [`kb_http::Page::next`] token (`None`: from the start).
    pub fn resume(self, token: Option<String>) -> PageStream<Value> {
        let s = self.client.pages_from(self.request, self.pagination, token);
        match self.normalise {
            None => s,
            Some(f) => s
                .map_ok(move |mut page| {
                    page.items = page.items.into_iter().filter_map(|v| f(v)).collect();
                    page
                })
                .boxed(),
        }
    }

    /// Every item, page after page (small listings and tests).
    pub async fn all(self) -> Result<Vec<Value>, HttpError> {
        let mut out = Vec::new();
        let mut s = self.pages();
        while let Some(page) = s.try_next().await? {
            out.extend(page.items);
        }
        Ok(out)
    }
}

/// A Confluence Cloud site. Cheap to clone (clones share the limiter and the counters).
#[derive(Clone)]
pub struct Confluence {
    pub(crate) http: Client,
    pub(crate) site: SiteUrl,
    pub(crate) flavour: Flavour,
    pub(crate) auth: AuthScheme,
    /// Data Center: what the server said about itself (read once).
    pub(crate) server: Arc<tokio::sync::OnceCell<crate::connector::ServerInfo>>,
    /// Data Center: user keys by username, as looked up (`None`: no such user).
    pub(crate) user_keys: Arc<std::sync::Mutex<std::collections::HashMap<String, Option<String>>>>,
    /// Space keys by space id, as listed (Data Center's routes take the key).
    pub(crate) space_keys: Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
    pacer: Option<Arc<crate::pacing::AdaptivePacer>>,
}

impl std::fmt::Debug for Confluence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Confluence")
            .field("site", &self.site)
            .field("http", &self.http)
            .finish()
    }
}

/// The hint of a status error on Data Center.
fn dc_hint(site: &SiteUrl, scheme: AuthScheme, status: u16, req: &Request) -> Option<String> {
    let creds = match scheme {
        AuthScheme::Bearer => format!(
            "check {ENV_PAT} (a personal access token from your Confluence profile → Personal Access Tokens, Confluence 7.9+; tokens can expire)"
        ),
        AuthScheme::Basic => format!(
            "check {ENV_USERNAME} and {ENV_PASSWORD} (or use {ENV_PAT}, a personal access token)"
        ),
    };
    match status {
        401 => Some(creds),
        403 => Some(match &req.object {
            Some(o) => format!(
                "the user may not read {o}: check its space permissions and the content's restrictions on {site}"
            ),
            None => format!(
                "{site} refused the user: {creds}; a site with the \"API Token Authentication\" app refuses passwords (use {ENV_PAT}), and an administrator may have disabled the REST API or the user"
            ),
        }),
        404 => Some(match &req.object {
            Some(o) => format!(
                "{o} does not exist or the user cannot see it: check the id and the space permissions"
            ),
            None => format!(
                "is {site} the Data Center base URL, with its context path (e.g. https://host/confluence)? Check {}",
                crate::config::ENV_URL
            ),
        }),
        _ => None,
    }
}

/// The hint of a status error: what to check, naming the env vars or the object.
fn hint(site: &SiteUrl, status: u16, req: &Request) -> Option<String> {
    match status {
        401 => Some(format!(
            "check {ENV_EMAIL} and {ENV_TOKEN} (the account's email and an API token from https://id.atlassian.com/manage-profile/security/api-tokens; tokens expire)"
        )),
        403 => Some(match &req.object {
            Some(o) => format!(
                "the account may not read {o}: check its space permissions and the content's restrictions, and that it has Confluence access on {site}"
            ),
            None => format!(
                "the account has no Confluence access on {site} (unlicensed) or lacks a permission this call needs: check its product access in admin.atlassian.com"
            ),
        }),
        404 => Some(match &req.object {
            Some(o) => format!(
                "{o} does not exist or the account cannot see it: check the id and the space permissions"
            ),
            None => format!(
                "is {site} a Confluence Cloud site? Check {}",
                crate::config::ENV_URL
            ),
        }),
        410 => Some("this API has been removed from Confluence Cloud".into()),
        _ => None,
    }
}

impl Confluence {
    /// A client for the configured site.
    pub fn new(cfg: ConfluenceConfig) -> Result<Confluence, ConfluenceError> {
        Confluence::build(cfg, None)
    }

    /// A client whose events (requests, 429s, retries) also go to `on_event`.
    pub fn build(
        cfg: ConfluenceConfig,
        on_event: Option<EventCallback>,
    ) -> Result<Confluence, ConfluenceError> {
        cfg.validate()?;
        let mut site_cfg = SiteConfig::new(cfg.site.wiki().clone());
        let classes = match cfg.flavour {
            Flavour::Cloud => crate::pacing::Classes::PerEndpoint,
            Flavour::DataCenter => crate::pacing::Classes::Site,
        };
        let pacer = cfg.adaptive.then(|| {
            Arc::new(
                crate::pacing::AdaptivePacer::new(cfg.rate, classes)
                    .with_max_pause(cfg.retry.max_retry_after),
            )
        });
        if let Some(p) = &pacer {
            // The classes pace; the site limiter only bounds the requests in flight.
            site_cfg.limits.rate = 1.0e6;
            site_cfg.limits.burst = 1_000_000;
            site_cfg.pacer = Some(p.clone());
        } else {
            site_cfg.limits.rate = cfg.rate;
            site_cfg.limits.burst = cfg.burst.max(1);
        }
        site_cfg.limits.concurrency = cfg.concurrency;
        site_cfg.timeout = cfg.timeout;
        site_cfg.retry = cfg.retry.clone();
        site_cfg.auth = Some(match cfg.auth {
            AuthScheme::Basic => Auth::basic(&cfg.email, &cfg.token)?,
            AuthScheme::Bearer => Auth::bearer(&cfg.token)?,
        });
        site_cfg.media_origins = cfg.media_origins.clone();
        site_cfg.url_setting = Some(crate::config::ENV_URL.into());
        site_cfg.default_headers.insert(
            kb_http::header::ACCEPT,
            kb_http::header::HeaderValue::from_static("application/json"),
        );
        let site = cfg.site.clone();
        let hint_site = site.clone();
        let (flavour, scheme) = (cfg.flavour, cfg.auth);
        let hints: kb_http::Hints = Arc::new(move |status, req| match flavour {
            Flavour::Cloud => hint(&hint_site, status, req),
            Flavour::DataCenter => dc_hint(&hint_site, scheme, status, req),
        });
        let http = Client::build(site_cfg, Some(hints), on_event)?;
        Ok(Confluence {
            http,
            site,
            flavour,
            auth: scheme,
            server: Arc::new(tokio::sync::OnceCell::new()),
            user_keys: Arc::default(),
            space_keys: Arc::default(),
            pacer,
        })
    }

    /// The site's URLs.
    pub fn site(&self) -> &SiteUrl {
        &self.site
    }

    /// The underlying kb-http client (limiter, counters).
    pub fn http(&self) -> &Client {
        &self.http
    }

    /// What the adaptive pacing has learned per endpoint class (empty with fixed pacing).
    pub fn pacing(&self) -> Vec<crate::pacing::ClassState> {
        self.pacer
            .as_ref()
            .map(|p| p.snapshot())
            .unwrap_or_default()
    }

    /// Requests, 429s and retries so far.
    pub fn stats(&self) -> StatsSnapshot {
        self.http.stats().snapshot()
    }

    /// The site's clock as of its newest answer (`Date`, epoch ms); see
    /// [`kb_http::Client::server_clock_ms`].
    pub fn server_clock_ms(&self) -> Option<i64> {
        self.http.server_clock_ms()
    }

    fn request(&self, path: &str) -> Result<Request, HttpError> {
        Ok(Request::get(self.http.url(path)?))
    }

    /// A v2 GET (`path` below `/wiki/api/v2/`).
    pub fn v2(&self, path: &str) -> Result<Request, HttpError> {
        self.request(&format!("api/v2/{}", path.trim_start_matches('/')))
    }

    /// A v1 GET (`path` below `/wiki/rest/api/`).
    pub fn v1(&self, path: &str) -> Result<Request, HttpError> {
        self.request(&format!("rest/api/{}", path.trim_start_matches('/')))
    }

    pub(crate) fn listing(&self, request: Request, pagination: Pagination) -> Listing {
        Listing {
            client: self.http.clone(),
            request,
            pagination,
            normalise: None,
        }
    }

    fn v2_list(&self, path: &str) -> Result<Listing, HttpError> {
        let req = self.v2(path)?.query("limit", V2_LIMIT.to_string());
        Ok(self.listing(req, Pagination::Links))
    }

    /// Any request and pagination as a [`Listing`] (for calls this crate does not name).
    pub fn custom_listing(&self, request: Request, pagination: Pagination) -> Listing {
        self.listing(request, pagination)
    }

    /// One GET, decoded as JSON.
    pub async fn get(&self, req: Request) -> Result<Value, HttpError> {
        self.http.json(&req).await
    }

    // ---------------------------------------------------------------------------------------
    // Spaces

    /// `GET /spaces` (all the account can read), by id.
    pub fn spaces(&self) -> Result<Listing, HttpError> {
        let req = self.v2("spaces")?.query("sort", "id");
        let req = req.query("limit", V2_LIMIT.to_string());
        Ok(self.listing(req, Pagination::Links))
    }

    /// `GET /spaces?keys=…`.
    pub fn spaces_by_key(&self, keys: &[impl AsRef<str>]) -> Result<Listing, HttpError> {
        let keys: Vec<&str> = keys.iter().map(|k| k.as_ref()).collect();
        let req = self
            .v2("spaces")?
            .query("keys", keys.join(","))
            .query("limit", V2_LIMIT.to_string())
            .object(format!("spaces {}", keys.join(", ")));
        Ok(self.listing(req, Pagination::Links))
    }

    /// The spaces of `keys`, in that order; keys that name no readable space are one
    /// [`ConfluenceError::UnknownSpaces`] listing them all.
    pub async fn spaces_for_keys(
        &self,
        keys: &[impl AsRef<str>],
    ) -> Result<Vec<Value>, ConfluenceError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(V2_LIMIT as usize) {
            let listing = match self.flavour {
                Flavour::Cloud => self.spaces_by_key(chunk)?,
                Flavour::DataCenter => {
                    let chunk: Vec<String> = chunk.iter().map(|k| k.as_ref().to_string()).collect();
                    self.space_listing(&chunk)?
                }
            };
            found.extend(listing.all().await?);
        }
        self.remember_spaces(&found);
        let mut out = Vec::new();
        let mut missing = Vec::new();
        for k in keys {
            match found
                .iter()
                .find(|s| crate::keys::space_key(s) == Some(k.as_ref()))
            {
                Some(s) => out.push(s.clone()),
                None => missing.push(k.as_ref().to_string()),
            }
        }
        if missing.is_empty() {
            Ok(out)
        } else {
            Err(ConfluenceError::UnknownSpaces {
                site: self.site.display(),
                keys: missing,
            })
        }
    }

    /// `GET /spaces/{id}`.
    pub async fn space(&self, id: &str) -> Result<Value, HttpError> {
        if self.flavour == Flavour::DataCenter {
            return self.dc_space_by_id(id).await;
        }
        let req = self
            .v2(&format!("spaces/{id}"))?
            .query("description-format", "plain")
            .object(format!("space {id}"));
        self.get(req).await
    }

    /// `GET /spaces/{id}/labels`.
    pub fn space_labels(&self, space_id: &str) -> Result<Listing, HttpError> {
        self.sub_list(
            &format!("spaces/{space_id}/labels"),
            format!("space {space_id}"),
        )
    }

    /// `GET /spaces/{id}/content/labels`: labels used by the space's content.
    pub fn space_content_labels(&self, space_id: &str) -> Result<Listing, HttpError> {
        self.sub_list(
            &format!("spaces/{space_id}/content/labels"),
            format!("space {space_id}"),
        )
    }

    /// `GET /spaces/{id}/permissions`.
    pub fn space_permissions(&self, space_id: &str) -> Result<Listing, HttpError> {
        self.sub_list(
            &format!("spaces/{space_id}/permissions"),
            format!("space {space_id}"),
        )
    }

    /// `GET /spaces/{id}/properties`.
    pub fn space_properties(&self, space_id: &str) -> Result<Listing, HttpError> {
        self.sub_list(
            &format!("spaces/{space_id}/properties"),
            format!("space {space_id}"),
        )
    }

    fn sub_list(&self, path: &str, object: String) -> Result<Listing, HttpError> {
        let mut l = self.v2_list(path)?;
        l.request = l.request.object(object);
        Ok(l)
    }

    // ---------------------------------------------------------------------------------------
    // Bulk lists (the cheap way: one listing for a whole space)

    /// `GET /pages?space-id=…&body-format=storage&limit=250&status=…`.
    pub fn pages(&self, q: &ContentQuery) -> Result<Listing, HttpError> {
        Ok(self.listing(q.apply(self.v2("pages")?), Pagination::Links))
    }

    /// `GET /blogposts?space-id=…`.
    pub fn blogposts(&self, q: &ContentQuery) -> Result<Listing, HttpError> {
        Ok(self.listing(q.apply(self.v2("blogposts")?), Pagination::Links))
    }

    /// `GET /spaces/{id}/pages` (`depth=root` gives the space's top-level pages).
    pub fn space_pages(&self, space_id: &str, q: &ContentQuery) -> Result<Listing, HttpError> {
        if self.flavour == Flavour::DataCenter {
            return self.dc_space_pages(space_id, q);
        }
        let mut q = q.clone();
        q.space_ids.clear();
        let req = q
            .apply(self.v2(&format!("spaces/{space_id}/pages"))?)
            .object(format!("space {space_id}"));
        Ok(self.listing(req, Pagination::Links))
    }

    /// `GET /footer-comments` (every footer comment the account can read, replies included).
    pub fn footer_comments(&self, q: &ContentQuery) -> Result<Listing, HttpError> {
        let mut q = q.clone();
        q.space_ids.clear(); // v2 has no space filter on comment lists
        Ok(self.listing(q.apply(self.v2("footer-comments")?), Pagination::Links))
    }

    /// `GET /inline-comments`.
    pub fn inline_comments(&self, q: &ContentQuery) -> Result<Listing, HttpError> {
        let mut q = q.clone();
        q.space_ids.clear();
        Ok(self.listing(q.apply(self.v2("inline-comments")?), Pagination::Links))
    }

    /// `GET /attachments`.
    pub fn attachments(&self, q: &ContentQuery) -> Result<Listing, HttpError> {
        let mut q = q.clone();
        q.space_ids.clear();
        q.body = false;
        Ok(self.listing(q.apply(self.v2("attachments")?), Pagination::Links))
    }

    /// `GET /labels`.
    pub fn labels(&self) -> Result<Listing, HttpError> {
        self.v2_list("labels")
    }

    /// `GET /tasks?space-id=…&body-format=storage&include-blank-tasks=true`.
    pub fn tasks(&self, q: &ContentQuery) -> Result<Listing, HttpError> {
        let mut q = q.clone();
        q.statuses.clear(); // a task's status is complete|incomplete, not the content's
        let req = q
            .apply(self.v2("tasks")?)
            .query("include-blank-tasks", "true");
        Ok(self.listing(req, Pagination::Links))
    }

    /// `GET /custom-content?type=…&space-id=…` (the app's content type is required).
    pub fn custom_content(&self, kind: &str, q: &ContentQuery) -> Result<Listing, HttpError> {
        let req = q
            .apply(self.v2("custom-content")?.query("type", kind))
            .object(format!("custom content of type {kind}"));
        Ok(self.listing(req, Pagination::Links))
    }

    // ---------------------------------------------------------------------------------------
    // Per content

    fn of(&self, kind: ContentKind, id: &str, tail: &str) -> Result<Listing, HttpError> {
        self.sub_list(
            &format!("{}/{id}/{tail}", kind.segment()),
            format!("{} {id}", kind.noun()),
        )
    }

    /// `GET /{pages|blogposts|attachments|…}/{id}`.
    pub async fn content(
        &self,
        kind: ContentKind,
        id: &str,
        body: bool,
    ) -> Result<Value, HttpError> {
        let mut req = self
            .v2(&format!("{}/{id}", kind.segment()))?
            .object(format!("{} {id}", kind.noun()));
        if body && kind != ContentKind::Attachment {
            req = req.query("body-format", "storage");
        }
        self.get(req).await
    }

    /// `GET /{kind}/{id}/versions`.
    pub fn versions(&self, kind: ContentKind, id: &str) -> Result<Listing, HttpError> {
        self.of(kind, id, "versions")
    }

    /// `GET /{kind}/{id}/properties` (comments: `/comments/{id}/properties`).
    pub fn properties(&self, kind: ContentKind, id: &str) -> Result<Listing, HttpError> {
        match kind {
            ContentKind::FooterComment | ContentKind::InlineComment => self.sub_list(
                &format!("comments/{id}/properties"),
                format!("{} {id}", kind.noun()),
            ),
            _ => self.of(kind, id, "properties"),
        }
    }

    /// `GET /{kind}/{id}/labels`.
    pub fn content_labels(&self, kind: ContentKind, id: &str) -> Result<Listing, HttpError> {
        self.of(kind, id, "labels")
    }

    /// `GET /{kind}/{id}/attachments`.
    pub fn content_attachments(&self, kind: ContentKind, id: &str) -> Result<Listing, HttpError> {
        if self.flavour == Flavour::DataCenter {
            return self.dc_attachments(id);
        }
        self.of(kind, id, "attachments")
    }

    /// `GET /{kind}/{id}/footer-comments`.
    pub fn content_footer_comments(
        &self,
        kind: ContentKind,
        id: &str,
    ) -> Result<Listing, HttpError> {
        self.of(kind, id, "footer-comments")
    }

    /// `GET /{kind}/{id}/inline-comments`.
    pub fn content_inline_comments(
        &self,
        kind: ContentKind,
        id: &str,
    ) -> Result<Listing, HttpError> {
        self.of(kind, id, "inline-comments")
    }

    /// `GET /pages/{id}/direct-children` (pages, folders, whiteboards…, in child position).
    pub fn direct_children(&self, page_id: &str) -> Result<Listing, HttpError> {
        self.of(ContentKind::Page, page_id, "direct-children")
    }

    /// `GET /pages/{id}/children` (deprecated; pages only).
    pub fn child_pages(&self, page_id: &str) -> Result<Listing, HttpError> {
        self.of(ContentKind::Page, page_id, "children")
    }

    /// `GET /pages/{id}/descendants?depth=…` (1–5).
    pub fn descendants(&self, page_id: &str, depth: u8) -> Result<Listing, HttpError> {
        let mut l = self.of(ContentKind::Page, page_id, "descendants")?;
        l.request = l.request.query("depth", depth.clamp(1, 5).to_string());
        Ok(l)
    }

    /// `GET /pages/{id}/ancestors` (one answer, highest first).
    pub fn ancestors(&self, page_id: &str) -> Result<Listing, HttpError> {
        self.of(ContentKind::Page, page_id, "ancestors")
    }

    // ---------------------------------------------------------------------------------------
    // v1

    /// `GET /rest/api/user/current`: who the token belongs to.
    pub async fn current_user(&self) -> Result<Value, HttpError> {
        self.get(self.v1("user/current")?).await
    }

    /// `GET /rest/api/content/search?cql=…&expand=…`, paged by `_links.next`.
    pub fn content_search(&self, cql: &str, expand: &[&str]) -> Result<Listing, HttpError> {
        let mut req = self
            .v1("content/search")?
            .query("cql", cql)
            .query("limit", V1_SEARCH_LIMIT.to_string());
        if !expand.is_empty() {
            req = req.query("expand", expand.join(","));
        }
        Ok(self.listing(req, Pagination::Links))
    }

    /// `GET /rest/api/group`.
    pub fn groups(&self) -> Result<Listing, HttpError> {
        let req = self.v1("group")?.query("limit", V1_GROUP_LIMIT.to_string());
        Ok(self.listing(req, Pagination::Links))
    }

    /// `GET /rest/api/group/{groupId}/membersByGroupId`.
    pub fn group_members(&self, group_id: &str) -> Result<Listing, HttpError> {
        let req = self
            .v1(&format!("group/{group_id}/membersByGroupId"))?
            .query("limit", V1_GROUP_LIMIT.to_string())
            .object(format!("group {group_id}"));
        Ok(self.listing(req, Pagination::Links))
    }

    /// `GET /rest/api/content/{id}/restriction/byOperation` (read and update, users and groups).
    pub async fn content_restrictions(&self, content_id: &str) -> Result<Value, HttpError> {
        let req = self
            .v1(&format!("content/{content_id}/restriction/byOperation"))?
            .object(format!("content {content_id}"));
        self.get(req).await
    }

    /// A write or any other method on a v2 path with a JSON body (for later jobs).
    pub async fn send_json(
        &self,
        method: Method,
        v2_path: &str,
        body: &Value,
    ) -> Result<Value, HttpError> {
        let url = self
            .http
            .url(&format!("api/v2/{}", v2_path.trim_start_matches('/')))?;
        let req = Request::json(method, url, body);
        self.http.json(&req).await
    }
}

/// The expansions a CQL extraction asks for: the body, version, labels, ancestors, read
/// restrictions (users and groups), the space and the history.
pub const SEARCH_EXPAND: &[&str] = &[
    "version",
    "body.storage",
    "metadata.labels",
    "metadata.properties",
    "ancestors",
    "space",
    "history",
    "restrictions.read.restrictions.user",
    "restrictions.read.restrictions.group",
    "restrictions.update.restrictions.user",
    "restrictions.update.restrictions.group",
];
