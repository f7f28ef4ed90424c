//! The connector interface: what a job asks of a Confluence site in its own terms ("the pages
//! of space S", "what changed in S since T", "the details of page P"), and the flavour decides
//! the requests. Cloud answers from REST v2 (and the v1 CQL search, groups and restrictions);
//! Data Center from REST v1 with offsets (`content/scan` from 7.18), its objects normalised into
//! the shapes the store keeps ([`crate::dc`]), so the engine never builds a URL and never cares
//! which flavour it reads.

use std::sync::Arc;

use kb_http::{HttpError, Pagination, Request};
use serde_json::{Value, json};

use crate::client::{Confluence, ContentKind, ContentQuery, Listing, Normalise, V2_LIMIT};
use crate::config::Flavour;
use crate::dc;

/// A space as jobs know it: its id and its key (Cloud routes take the id, Data Center's the
/// key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceRef {
    pub id: String,
    pub key: String,
}

/// The per-space listings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpaceList {
    Labels,
    Permissions,
    Properties,
}

/// Which included lists of a content object to read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Wanted {
    pub versions: bool,
    pub labels: bool,
    pub properties: bool,
}

/// The versions, labels and properties of one content object (`None`: not asked for).
#[derive(Clone, Debug, Default)]
pub struct Details {
    pub versions: Option<Vec<Value>>,
    pub labels: Option<Vec<Value>>,
    pub properties: Option<Vec<Value>>,
}

/// What a Data Center server says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerInfo {
    /// `9.0.1` (from `/rest/applinks/1.0/manifest`), if the server tells it.
    pub version: Option<String>,
    /// Whether `GET /rest/api/content/scan` exists (7.18+), probed when the version is unknown.
    pub scan: bool,
}

/// `(major, minor)` of a version string (`9.0.1` → `(9, 0)`).
pub fn version_tuple(v: &str) -> Option<(u32, u32)> {
    let mut it = v.trim().split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// The page size asked of Data Center (servers cap it silently; pagination follows `next`).
pub const DC_LIMIT: u32 = 200;

/// What a Data Center content listing expands.
const DC_CONTENT_EXPAND: &str = "body.storage,version,ancestors,space,history";
const DC_CONTENT_EXPAND_NO_BODY: &str = "version,ancestors,space,history";

/// Space ids per v2 listing with a `space-id` filter (`maxItems` 100 in the Cloud v2 spec).
const TRASH_SPACES_PER_REQUEST: usize = 100;

fn quoted_keys(spaces: &[SpaceRef]) -> String {
    spaces
        .iter()
        .map(|s| crate::cql::quote(&s.key))
        .collect::<Vec<_>>()
        .join(",")
}

fn normalised(mut l: Listing, f: Normalise) -> Listing {
    l.normalise = Some(f);
    l
}

fn keep_statuses(statuses: &[&str], f: fn(Value) -> Option<Value>) -> Normalise {
    let statuses: Vec<String> = statuses.iter().map(|s| s.to_string()).collect();
    Arc::new(move |v| {
        let v = f(v)?;
        let st = v.get("status").and_then(Value::as_str).unwrap_or("current");
        (statuses.is_empty() || statuses.iter().any(|s| s == st)).then_some(v)
    })
}

impl Confluence {
    /// Cloud or Data Center.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// Data Center: the server's version and capabilities (asked once; Cloud: empty).
    pub async fn server_info(&self) -> ServerInfo {
        if self.flavour == Flavour::Cloud {
            return ServerInfo::default();
        }
        self.server
            .get_or_init(|| async {
                let version =
                    match self.dc_get("rest/applinks/1.0/manifest") {
                        Ok(req) => self.get(req).await.ok().and_then(|v| {
                            v.get("version").and_then(Value::as_str).map(str::to_string)
                        }),
                        Err(_) => None,
                    };
                let scan = match version.as_deref().and_then(version_tuple) {
                    Some(v) => v >= (7, 18),
                    None => match self.dc_get("rest/api/content/scan") {
                        Ok(req) => self.get(req.query("limit", "1")).await.is_ok(),
                        Err(_) => false,
                    },
                };
                ServerInfo { version, scan }
            })
            .await
            .clone()
    }

    fn dc_get(&self, path: &str) -> Result<Request, HttpError> {
        Ok(Request::get(self.http.url(path)?))
    }

    fn dc_list(&self, path: &str, f: Normalise) -> Result<Listing, HttpError> {
        let req = self.dc_get(path)?.query("limit", DC_LIMIT.to_string());
        Ok(normalised(self.listing(req, Pagination::Links), f))
    }

    /// The spaces to read: every readable one, or those of `keys`.
    pub fn space_listing(&self, keys: &[String]) -> Result<Listing, HttpError> {
        match self.flavour {
            Flavour::Cloud if keys.is_empty() => self.spaces(),
            Flavour::Cloud => self.spaces_by_key(keys),
            Flavour::DataCenter => {
                let mut req = self
                    .dc_get("rest/api/space")?
                    .query("limit", DC_LIMIT.to_string())
                    .query("expand", "description.plain,homepage");
                for k in keys {
                    req = req.query("spaceKey", k);
                }
                if !keys.is_empty() {
                    req = req.object(format!("spaces {}", keys.join(", ")));
                }
                Ok(normalised(
                    self.listing(req, Pagination::Links),
                    Arc::new(dc::space),
                ))
            }
        }
    }

    /// A space's labels, permissions or properties; `None` when the flavour has no REST
    /// listing of it (space permissions on Data Center up to 9.0).
    pub fn space_list(
        &self,
        what: SpaceList,
        space: &SpaceRef,
    ) -> Result<Option<Listing>, HttpError> {
        match (self.flavour, what) {
            (Flavour::Cloud, SpaceList::Labels) => self.space_labels(&space.id).map(Some),
            (Flavour::Cloud, SpaceList::Permissions) => self.space_permissions(&space.id).map(Some),
            (Flavour::Cloud, SpaceList::Properties) => self.space_properties(&space.id).map(Some),
            (Flavour::DataCenter, SpaceList::Labels) => self
                .dc_list(
                    &format!("rest/api/space/{}/labels", space.key),
                    Arc::new(dc::label),
                )
                .map(Some),
            (Flavour::DataCenter, SpaceList::Properties) => self
                .dc_list(
                    &format!("rest/api/space/{}/property", space.key),
                    Arc::new(dc::property),
                )
                .map(Some),
            (Flavour::DataCenter, SpaceList::Permissions) => Ok(None),
        }
    }

    /// Every page or blog post of a space with one of `statuses`, with or without bodies:
    /// Cloud's bulk v2 listing; Data Center's `content/scan` (pages, 7.18+) or
    /// `/rest/api/content` offsets.
    pub async fn content_listing(
        &self,
        kind: ContentKind,
        space: &SpaceRef,
        statuses: &[&str],
        body: bool,
    ) -> Result<Listing, HttpError> {
        match self.flavour {
            Flavour::Cloud => {
                let mut q = ContentQuery::in_spaces(&[space.id.as_str()]).statuses(statuses);
                q.body = body;
                match kind {
                    ContentKind::Page => self.pages(&q),
                    _ => self.blogposts(&q),
                }
            }
            Flavour::DataCenter => {
                let expand = if body {
                    DC_CONTENT_EXPAND
                } else {
                    DC_CONTENT_EXPAND_NO_BODY
                };
                let status =
                    if statuses.contains(&"trashed") && statuses.iter().any(|s| *s != "trashed") {
                        "any"
                    } else if statuses == ["trashed"] {
                        "trashed"
                    } else {
                        "current"
                    };
                let scan = kind == ContentKind::Page && self.server_info().await.scan;
                let req = if scan {
                    self.dc_get("rest/api/content/scan")?
                } else {
                    self.dc_get("rest/api/content")?.query(
                        "type",
                        if kind == ContentKind::Page {
                            "page"
                        } else {
                            "blogpost"
                        },
                    )
                };
                let req = req
                    .query("spaceKey", &space.key)
                    .query("status", status)
                    .query("expand", expand)
                    .query("limit", DC_LIMIT.to_string())
                    .object(format!("space {}", space.key));
                Ok(normalised(
                    self.listing(req, Pagination::Links),
                    keep_statuses(statuses, dc::content),
                ))
            }
        }
    }

    /// What changed in a space since `from_ms` (CQL `lastmodified`, minute-granular, in the
    /// account's time zone `utc_offset_minutes`), oldest first, with `expand`.
    pub fn changed_since(
        &self,
        kind: ContentKind,
        space: &SpaceRef,
        from_ms: i64,
        utc_offset_minutes: i32,
        expand: &[&str],
    ) -> Result<Listing, HttpError> {
        let cql = format!(
            "space = {} and type = {} and lastmodified >= \"{}\" order by lastmodified asc",
            crate::cql::quote(&space.key),
            cql_type(kind),
            crate::cql::cql_datetime(from_ms, utc_offset_minutes)
        );
        self.search(&cql, expand)
    }

    /// Everything of `types` (CQL type names: `page`, `blogpost`, `attachment`, `comment`)
    /// modified in any of `spaces` since `from_ms`, oldest first, as CQL hits with `expand`
    /// plus `space` (each hit names its space): one window for a whole incremental run.
    pub fn changed_in_spaces(
        &self,
        types: &[&str],
        spaces: &[SpaceRef],
        from_ms: i64,
        utc_offset_minutes: i32,
        expand: &[&str],
    ) -> Result<Listing, HttpError> {
        let cql = format!(
            "space in ({}) and type in ({}) and lastmodified >= \"{}\" order by lastmodified asc",
            quoted_keys(spaces),
            types.join(","),
            crate::cql::cql_datetime(from_ms, utc_offset_minutes)
        );
        let mut expand = expand.to_vec();
        if !expand.contains(&"space") {
            expand.push("space");
        }
        self.search(&cql, &expand)
    }

    /// The trashed pages or blog posts of several spaces at once (Cloud: `space-id` takes up
    /// to 100 ids, so one listing per 100 spaces); `None` where the flavour lists the trash
    /// one space at a time (Data Center).
    pub fn trash_of_spaces(
        &self,
        kind: ContentKind,
        spaces: &[SpaceRef],
    ) -> Result<Option<Vec<Listing>>, HttpError> {
        if self.flavour != Flavour::Cloud {
            return Ok(None);
        }
        let mut out = Vec::new();
        for chunk in spaces.chunks(TRASH_SPACES_PER_REQUEST) {
            let ids: Vec<&str> = chunk.iter().map(|s| s.id.as_str()).collect();
            let q = ContentQuery::in_spaces(&ids).statuses(&["trashed"]);
            out.push(match kind {
                ContentKind::Page => self.pages(&q)?,
                _ => self.blogposts(&q)?,
            });
        }
        Ok(Some(out))
    }

    /// Every page or blog post of a space as CQL hits with `expand` (restrictions).
    pub fn space_search(
        &self,
        kind: ContentKind,
        space: &SpaceRef,
        expand: &[&str],
    ) -> Result<Listing, HttpError> {
        let cql = format!(
            "space = {} and type = {}",
            crate::cql::quote(&space.key),
            cql_type(kind)
        );
        self.search(&cql, expand)
    }

    /// A CQL search whose hits are normalised for the flavour.
    pub fn search(&self, cql: &str, expand: &[&str]) -> Result<Listing, HttpError> {
        let l = self.content_search(cql, expand)?;
        Ok(match self.flavour {
            Flavour::Cloud => l,
            Flavour::DataCenter => normalised(l, Arc::new(dc::hit)),
        })
    }

    /// Pages or blog posts by id, with bodies, in any of `statuses` (what is gone is not
    /// returned).
    pub async fn content_by_ids(
        &self,
        kind: ContentKind,
        ids: &[String],
        statuses: &[&str],
    ) -> Result<Vec<Value>, HttpError> {
        let mut out = Vec::new();
        match self.flavour {
            Flavour::Cloud => {
                for chunk in ids.chunks(V2_LIMIT as usize) {
                    let req = self
                        .v2(kind.segment())?
                        .query("id", chunk.join(","))
                        .query("status", statuses.join(","))
                        .query("body-format", "storage")
                        .query("limit", V2_LIMIT.to_string());
                    out.extend(self.listing(req, Pagination::Links).all().await?);
                }
            }
            Flavour::DataCenter => {
                for id in ids {
                    let req = self
                        .dc_get(&format!("rest/api/content/{id}"))?
                        .query("status", "any")
                        .query("expand", DC_CONTENT_EXPAND)
                        .object(format!("{} {id}", kind.noun()));
                    match self.get(req).await {
                        Ok(v) => out.extend(dc::content(v)),
                        Err(e) if e.status() == Some(404) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(out)
    }

    /// The versions, labels and properties of one page or blog post; `None` when it is gone.
    /// Cloud: one `GET /pages/{id}` with the included lists (the dedicated listings only when
    /// a list has more). Data Center: the content with its labels, and its properties; 9.0's
    /// REST has no version listing, so the versions are the current one.
    pub async fn content_details(
        &self,
        kind: ContentKind,
        id: &str,
        statuses: &[&str],
        want: Wanted,
    ) -> Result<Option<Details>, HttpError> {
        let gone = |e: &HttpError| e.status() == Some(404);
        match self.flavour {
            Flavour::Cloud => {
                let req = self
                    .v2(&format!("{}/{id}", kind.segment()))?
                    .query("status", statuses.join(","))
                    .query("include-version", "false")
                    .query("include-versions", "true")
                    .query("include-labels", "true")
                    .query("include-properties", "true")
                    .object(format!("{} {id}", kind.noun()));
                let v = match self.get(req).await {
                    Ok(v) => v,
                    Err(e) if gone(&e) => return Ok(None),
                    Err(e) => return Err(e),
                };
                let mut d = Details::default();
                for (field, wanted) in [
                    ("versions", want.versions),
                    ("labels", want.labels),
                    ("properties", want.properties),
                ] {
                    if !wanted {
                        continue;
                    }
                    let included = v.get(field);
                    let more = included
                        .and_then(|l| l.pointer("/meta/hasMore"))
                        .and_then(Value::as_bool)
                        .unwrap_or(included.is_none());
                    // Inline only when the answer holds the whole list; anything else
                    // (cut, or without `results`) is listed, never taken for empty.
                    let inline = included
                        .and_then(|l| l.get("results"))
                        .and_then(Value::as_array)
                        .filter(|_| !more);
                    let items = if let Some(inline) = inline {
                        inline.clone()
                    } else {
                        let l = match field {
                            "versions" => self.versions(kind, id)?,
                            "labels" => self.content_labels(kind, id)?,
                            _ => self.properties(kind, id)?,
                        };
                        match l.all().await {
                            Ok(items) => items,
                            Err(e) if gone(&e) => return Ok(None),
                            Err(e) => return Err(e),
                        }
                    };
                    match field {
                        "versions" => d.versions = Some(items),
                        "labels" => d.labels = Some(items),
                        _ => d.properties = Some(items),
                    }
                }
                Ok(Some(d))
            }
            Flavour::DataCenter => {
                let req = self
                    .dc_get(&format!("rest/api/content/{id}"))?
                    .query("status", "any")
                    .query("expand", "version,metadata.labels")
                    .object(format!("{} {id}", kind.noun()));
                let v = match self.get(req).await {
                    Ok(v) => v,
                    Err(e) if gone(&e) => return Ok(None),
                    Err(e) => return Err(e),
                };
                let mut d = Details::default();
                if want.versions {
                    let entity = if kind == ContentKind::Page {
                        "page"
                    } else {
                        "blogpost"
                    };
                    d.versions = Some(match v.get("version") {
                        Some(ver) => {
                            let mut n = dc::version(ver);
                            n[entity] = json!({"id": id, "title": v.get("title")});
                            vec![n]
                        }
                        None => Vec::new(),
                    });
                }
                if want.labels {
                    let included = v.pointer("/metadata/labels");
                    let complete = included.is_some_and(|l| l.pointer("/_links/next").is_none());
                    d.labels = Some(if complete {
                        included
                            .and_then(|l| l.get("results"))
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .cloned()
                            .filter_map(dc::label)
                            .collect()
                    } else {
                        match self
                            .dc_list(&format!("rest/api/content/{id}/label"), Arc::new(dc::label))?
                            .all()
                            .await
                        {
                            Ok(items) => items,
                            Err(e) if gone(&e) => return Ok(None),
                            Err(e) => return Err(e),
                        }
                    });
                }
                if want.properties {
                    let l = self.dc_list(
                        &format!("rest/api/content/{id}/property"),
                        Arc::new(dc::property),
                    )?;
                    d.properties = Some(match l.all().await {
                        Ok(items) => items,
                        Err(e) if gone(&e) => return Ok(None),
                        Err(e) => return Err(e),
                    });
                }
                Ok(Some(d))
            }
        }
    }

    /// A folder's parent and title (`GET /api/v2/folders/{id}`); `None` when it is gone (404).
    /// Data Center has no folders: an empty answer.
    pub async fn folder(&self, id: &str) -> Result<Option<FolderInfo>, HttpError> {
        if self.flavour == Flavour::DataCenter {
            return Ok(Some(FolderInfo::default()));
        }
        let req = self
            .v2(&format!("folders/{id}"))?
            .object(format!("folder {id}"));
        let text = |v: Option<&Value>| match v? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        match self.get(req).await {
            Ok(v) => Ok(Some(FolderInfo {
                parent_id: text(v.get("parentId")),
                parent_type: text(v.get("parentType")),
                title: text(v.get("title")),
            })),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The attachments of the content of `spaces` (Cloud: site-wide, the caller keeps those of
    /// its spaces), newest first when `newest_first`.
    pub fn attachment_listing(
        &self,
        spaces: &[SpaceRef],
        newest_first: bool,
    ) -> Result<Listing, HttpError> {
        match self.flavour {
            Flavour::Cloud => {
                let q = if newest_first {
                    ContentQuery::default().sort("-modified-date")
                } else {
                    ContentQuery::default()
                };
                self.attachments(&q)
            }
            Flavour::DataCenter => {
                let order = if newest_first {
                    " order by lastmodified desc"
                } else {
                    ""
                };
                let cql = format!(
                    "type = attachment and space in ({}){order}",
                    quoted_keys(spaces)
                );
                let l = self.content_search(&cql, &["version", "container", "history"])?;
                Ok(normalised(l, Arc::new(dc::attachment)))
            }
        }
    }

    /// Footer (`inline` false) or inline comments of the content of `spaces` (Cloud:
    /// site-wide), with bodies, newest first when `newest_first`.
    pub fn comment_listing(
        &self,
        inline: bool,
        spaces: &[SpaceRef],
        newest_first: bool,
    ) -> Result<Listing, HttpError> {
        match self.flavour {
            Flavour::Cloud => {
                let mut q = ContentQuery::default().with_body();
                if newest_first {
                    q = q.sort("-modified-date");
                }
                if inline {
                    self.inline_comments(&q)
                } else {
                    self.footer_comments(&q)
                }
            }
            Flavour::DataCenter => {
                let order = if newest_first {
                    " order by lastmodified desc"
                } else {
                    ""
                };
                let cql = format!(
                    "type = comment and space in ({}){order}",
                    quoted_keys(spaces)
                );
                let l = self.content_search(
                    &cql,
                    &[
                        "body.storage",
                        "version",
                        "container",
                        "ancestors",
                        "extensions.inlineProperties",
                        "extensions.resolution",
                    ],
                )?;
                Ok(normalised(
                    l,
                    Arc::new(move |v| {
                        if dc::is_inline(&v) == inline {
                            dc::comment(v)
                        } else {
                            None
                        }
                    }),
                ))
            }
        }
    }

    /// The tasks of a space; `None` where the flavour has no task API (Data Center).
    pub fn task_listing(&self, space: &SpaceRef) -> Result<Option<Listing>, HttpError> {
        match self.flavour {
            Flavour::Cloud => self
                .tasks(&ContentQuery::in_spaces(&[space.id.as_str()]).with_body())
                .map(Some),
            Flavour::DataCenter => Ok(None),
        }
    }

    /// The tasks of some pages or blog posts (Cloud; Data Center: none).
    pub async fn tasks_of(
        &self,
        kind: ContentKind,
        ids: &[String],
    ) -> Result<Vec<Value>, HttpError> {
        if self.flavour == Flavour::DataCenter {
            return Ok(Vec::new());
        }
        let param = if kind == ContentKind::Page {
            "page-id"
        } else {
            "blogpost-id"
        };
        let mut out = Vec::new();
        for chunk in ids.chunks(V2_LIMIT as usize) {
            let req = self
                .v2("tasks")?
                .query(param, chunk.join(","))
                .query("body-format", "storage")
                .query("limit", V2_LIMIT.to_string());
            out.extend(self.listing(req, Pagination::Links).all().await?);
        }
        Ok(out)
    }

    /// Custom content of type `kind` in any of `spaces` (at most 100, the v2 `space-id` cap);
    /// `None` on Data Center, whose REST lists pages and blog posts only (app content types
    /// are the apps' own APIs).
    pub fn custom_content_listing(
        &self,
        kind: &str,
        spaces: &[SpaceRef],
    ) -> Result<Option<Listing>, HttpError> {
        let ids: Vec<&str> = spaces.iter().map(|s| s.id.as_str()).collect();
        match self.flavour {
            Flavour::Cloud => self
                .custom_content(kind, &ContentQuery::in_spaces(&ids).with_body())
                .map(Some),
            Flavour::DataCenter => Ok(None),
        }
    }

    /// Every group (Data Center groups are known by name: their `id` is the name).
    pub fn group_listing(&self) -> Result<Listing, HttpError> {
        match self.flavour {
            Flavour::Cloud => self.groups(),
            Flavour::DataCenter => self.dc_list("rest/api/group", Arc::new(dc::group)),
        }
    }

    /// The members of a group (Data Center: `accountId` is the user key).
    pub fn group_member_listing(&self, group_id: &str) -> Result<Listing, HttpError> {
        match self.flavour {
            Flavour::Cloud => self.group_members(group_id),
            Flavour::DataCenter => {
                let name: String =
                    url::form_urlencoded::byte_serialize(group_id.as_bytes()).collect();
                let mut l =
                    self.dc_list(&format!("rest/api/group/{name}/member"), Arc::new(dc::user))?;
                l.request = l.request.object(format!("group {group_id}"));
                Ok(l)
            }
        }
    }

    /// An attachment's versions (`None` on Data Center, whose REST has no version listing:
    /// the attachment's own version is stored), labels and properties.
    pub fn attachment_versions(&self, id: &str) -> Result<Option<Listing>, HttpError> {
        match self.flavour {
            Flavour::Cloud => self.versions(ContentKind::Attachment, id).map(Some),
            Flavour::DataCenter => Ok(None),
        }
    }

    /// An attachment's labels.
    pub fn attachment_labels(&self, id: &str) -> Result<Listing, HttpError> {
        match self.flavour {
            Flavour::Cloud => self.content_labels(ContentKind::Attachment, id),
            Flavour::DataCenter => {
                self.dc_list(&format!("rest/api/content/{id}/label"), Arc::new(dc::label))
            }
        }
    }

    /// An attachment's content properties.
    pub fn attachment_properties(&self, id: &str) -> Result<Listing, HttpError> {
        match self.flavour {
            Flavour::Cloud => self.properties(ContentKind::Attachment, id),
            Flavour::DataCenter => self.dc_list(
                &format!("rest/api/content/{id}/property"),
                Arc::new(dc::property),
            ),
        }
    }

    /// The request that downloads an attachment's file from its `downloadLink` (relative to
    /// the site's base: `/wiki` on Cloud, the context path on Data Center).
    pub fn download_request(&self, link: &str, attachment_id: &str) -> Result<Request, HttpError> {
        let link = download_path(self.flavour, link, attachment_id);
        let url = self.http.url(link.trim_start_matches('/'))?;
        let label = match self.flavour {
            Flavour::Cloud => "GET /wiki/download/attachments",
            Flavour::DataCenter => "GET /download/attachments",
        };
        Ok(Request::get(url)
            .endpoint(label)
            .object(format!("attachment {attachment_id}")))
    }
}

/// The path to download an attachment from: its `downloadLink`, unless the file's name is a dot
/// segment (`.` or `..`, also percent-encoded), which every URL parser resolves away
/// (`/download/attachments/1/..` is `/download/attachments/`): then, on Cloud, the download
/// route by attachment id, which carries no name. Data Center has no such route; the link is
/// kept and its failure names the file.
pub fn download_path<'a>(
    flavour: Flavour,
    link: &'a str,
    attachment_id: &str,
) -> std::borrow::Cow<'a, str> {
    let path = link.split(['?', '#']).next().unwrap_or(link);
    let mut segments = path.rsplit('/');
    let last = kb_http::percent_decode(segments.next().unwrap_or(""));
    let container = segments.next().filter(|c| !c.is_empty());
    match (flavour, container) {
        (Flavour::Cloud, Some(container)) if last == "." || last == ".." => {
            let att = attachment_id.trim_start_matches("att");
            std::borrow::Cow::Owned(format!(
                "rest/api/content/{container}/child/attachment/att{att}/download"
            ))
        }
        _ => std::borrow::Cow::Borrowed(link),
    }
}

/// The CQL `type` of a kind.
pub fn cql_type(kind: ContentKind) -> &'static str {
    match kind {
        ContentKind::Page => "page",
        ContentKind::BlogPost => "blogpost",
        ContentKind::Attachment => "attachment",
        ContentKind::FooterComment | ContentKind::InlineComment => "comment",
        ContentKind::CustomContent => "custom",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segment_names_download_by_id_on_cloud() {
        let l = "/download/attachments/12/..?version=1&api=v2";
        assert_eq!(
            download_path(Flavour::Cloud, l, "att99"),
            "rest/api/content/12/child/attachment/att99/download"
        );
        assert_eq!(
            download_path(Flavour::Cloud, "/download/attachments/12/%2E?v=1", "99"),
            "rest/api/content/12/child/attachment/att99/download"
        );
        let plain = "/download/attachments/12/a..b.txt?version=1";
        assert_eq!(download_path(Flavour::Cloud, plain, "att9"), plain);
        assert_eq!(download_path(Flavour::DataCenter, l, "att9"), l);
    }

    #[test]
    fn versions_compare() {
        assert_eq!(version_tuple("9.0.1"), Some((9, 0)));
        assert!(version_tuple("7.18.3").unwrap() >= (7, 18));
        assert!(version_tuple("7.9").unwrap() < (7, 18));
        assert_eq!(version_tuple("x"), None);
    }
}

/// What a folder read gives: where it hangs and its title.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FolderInfo {
    pub parent_id: Option<String>,
    pub parent_type: Option<String>,
    pub title: Option<String>,
}
