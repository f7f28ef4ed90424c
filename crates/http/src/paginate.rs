//! Listings as streams of whole pages. Each [`Page`] carries the token to resume from
//! ([`Page::next`]), so a caller can commit a page with its checkpoint and, after a crash,
//! start the stream again from the token it saved ([`Client::pages_from`]).

use futures_util::StreamExt as _;
use futures_util::stream::{self, BoxStream};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::client::{Client, Request, set_query};
use crate::error::{HttpError, redact_url};

/// How a listing pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pagination {
    /// Follow `_links.next` (Confluence v2 and v1), falling back to a `Link: <…>; rel="next"`
    /// header. A relative link that already starts with the site's context path (`/wiki`, as
    /// v2's do) resolves against the origin; one that does not (v1's `/rest/api/…`) gets the
    /// context (`_links.context`, or the path of `_links.base`) put in front. The token is the
    /// absolute URL of the next page.
    Links,
    /// Offsets: the client adds the number of items received to `start_param`. It stops on an
    /// empty page, when `_links` exists without a `next`, when a total (`totalSize`, `total`)
    /// is reached, or on a page shorter than the limit the server reports (`limit` in the
    /// body) or was asked for. The token is the next offset.
    Offset {
        start_param: String,
        limit_param: String,
        limit: u64,
    },
    /// Notion: `has_more` and `next_cursor`; the cursor goes back as `param` (`start_cursor`)
    /// in the query of a GET or in the JSON body of a POST. The token is the cursor.
    NextCursor { param: String },
}

impl Pagination {
    /// `start`/`limit` offsets.
    pub fn offset(limit: u64) -> Pagination {
        Pagination::Offset {
            start_param: "start".into(),
            limit_param: "limit".into(),
            limit,
        }
    }

    /// Notion's `start_cursor`.
    pub fn next_cursor() -> Pagination {
        Pagination::NextCursor {
            param: "start_cursor".into(),
        }
    }
}

/// One page of a listing.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page begins (a URL, an offset or a cursor, by [`Pagination`]); `None`
    /// on the last page. Saving it with the page's items makes the listing resumable.
    pub next: Option<String>,
    /// The URL this page was read from.
    pub url: Url,
}

/// A stream of pages.
pub type PageStream<T> = BoxStream<'static, Result<Page<T>, HttpError>>;

impl Client {
    /// Pages `first` from the beginning.
    pub fn pages<T>(&self, first: Request, how: Pagination) -> PageStream<T>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.pages_from(first, how, None)
    }

    /// Pages `first` from a saved [`Page::next`] token (or from the beginning with `None`).
    /// A listing only reads, so its requests count as idempotent even when they are POSTs
    /// (Notion's queries).
    pub fn pages_from<T>(
        &self,
        first: Request,
        how: Pagination,
        resume: Option<String>,
    ) -> PageStream<T>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let client = self.clone();
        let first = first.idempotent(true);
        let start = match resume {
            None => Ok(Some(first.clone())),
            Some(token) => apply_token(&client, &first, &how, &token).map(Some),
        };
        let state = (start, client, how);
        stream::try_unfold(state, |(next, client, how)| async move {
            let Some(req) = next? else {
                return Ok(None);
            };
            let (page, following) = fetch_page::<T>(&client, &req, &how).await?;
            Ok(Some((page, (Ok(following), client, how))))
        })
        .boxed()
    }
}

fn apply_token(
    client: &Client,
    template: &Request,
    how: &Pagination,
    token: &str,
) -> Result<Request, HttpError> {
    let mut req = template.clone();
    match how {
        Pagination::Links => {
            req.url = client.resolve(token)?;
        }
        Pagination::Offset { start_param, .. } => {
            set_query(&mut req.url, start_param, Some(token));
        }
        Pagination::NextCursor { param } => {
            if req.method == reqwest::Method::GET || req.body.is_none() {
                set_query(&mut req.url, param, Some(token));
            } else {
                let mut body: Value = req
                    .body
                    .as_deref()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or_else(|| Value::Object(Default::default()));
                if let Value::Object(m) = &mut body {
                    m.insert(param.clone(), Value::String(token.to_string()));
                }
                req.body = Some(serde_json::to_vec(&body).unwrap_or_default());
            }
        }
    }
    Ok(req)
}

fn decode_error(req: &Request, url: &Url, path: String, message: impl Into<String>) -> HttpError {
    HttpError::Decode {
        method: req.method.to_string(),
        url: redact_url(url),
        path,
        message: message.into(),
    }
}

async fn fetch_page<T: DeserializeOwned>(
    client: &Client,
    req: &Request,
    how: &Pagination,
) -> Result<(Page<T>, Option<Request>), HttpError> {
    let resp = client.send(req).await?;
    let body: Value = resp.json(&req.method)?;
    let (raw_items, listing) = match body {
        Value::Array(items) => (items, None),
        Value::Object(mut m) => match m.remove("results") {
            Some(Value::Array(items)) => (items, Some(m)),
            Some(other) => {
                return Err(decode_error(
                    req,
                    &resp.url,
                    "results".into(),
                    format!("expected an array, found {}", kind(&other)),
                ));
            }
            None => {
                return Err(decode_error(
                    req,
                    &resp.url,
                    ".".into(),
                    "a listing has no `results` array",
                ));
            }
        },
        other => {
            return Err(decode_error(
                req,
                &resp.url,
                ".".into(),
                format!("expected a listing object, found {}", kind(&other)),
            ));
        }
    };
    let count = raw_items.len() as u64;
    let mut items = Vec::with_capacity(raw_items.len());
    for (i, item) in raw_items.into_iter().enumerate() {
        let t = serde_path_to_error::deserialize::<_, T>(item).map_err(|e| {
            let inner = e.path().to_string();
            let path = if inner == "." {
                format!("results[{i}]")
            } else {
                format!("results[{i}].{inner}")
            };
            decode_error(req, &resp.url, path, e.inner().to_string())
        })?;
        items.push(t);
    }
    let listing = listing.unwrap_or_default();
    let token = match how {
        Pagination::Links => next_link(client, &listing, &resp.headers, req, &resp.url)?,
        Pagination::Offset {
            start_param,
            limit_param,
            limit,
        } => {
            let start: u64 = query_value(&req.url, start_param)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let asked: u64 = query_value(&req.url, limit_param)
                .and_then(|s| s.parse().ok())
                .unwrap_or(*limit);
            let served = listing
                .get("limit")
                .and_then(|l| l.as_u64())
                .unwrap_or(asked);
            let total = ["totalSize", "total"]
                .iter()
                .find_map(|k| listing.get(*k).and_then(|t| t.as_u64()));
            let links_say_last = listing
                .get("_links")
                .and_then(|l| l.as_object())
                .is_some_and(|l| !l.contains_key("next"));
            let done = count == 0
                || links_say_last
                || total.is_some_and(|t| start + count >= t)
                || (total.is_none() && count < served.min(asked).max(1));
            (!done).then(|| (start + count).to_string())
        }
        Pagination::NextCursor { .. } => {
            let more = listing
                .get("has_more")
                .and_then(|h| h.as_bool())
                .unwrap_or(false);
            match listing.get("next_cursor").and_then(|c| c.as_str()) {
                Some(c) if more && !c.is_empty() => Some(c.to_string()),
                _ => None,
            }
        }
    };
    let following = match &token {
        Some(t) => {
            let next = apply_token(client, req, how, t)?;
            if next.url == req.url && next.body == req.body {
                return Err(decode_error(
                    req,
                    &resp.url,
                    "_links.next".into(),
                    "the next page is the page just read (the listing would never end)",
                ));
            }
            Some(next)
        }
        None => None,
    };
    Ok((
        Page {
            items,
            next: match (how, &following) {
                (Pagination::Links, Some(r)) => Some(r.url.to_string()),
                _ => token,
            },
            url: req.url.clone(),
        },
        following,
    ))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn query_value(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// The next page's URL from `_links.next` or the `Link` header.
fn next_link(
    client: &Client,
    listing: &serde_json::Map<String, Value>,
    headers: &reqwest::header::HeaderMap,
    req: &Request,
    url: &Url,
) -> Result<Option<String>, HttpError> {
    let links = listing.get("_links").and_then(|l| l.as_object());
    let next = links
        .and_then(|l| l.get("next"))
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .or_else(|| link_header_next(headers));
    let Some(next) = next.filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if !next.starts_with('/') {
        // Absolute (or, oddly, relative to the current URL): let the URL parser decide.
        return url
            .join(&next)
            .map(|u| Some(u.to_string()))
            .map_err(|e| decode_error(req, url, "_links.next".into(), e.to_string()));
    }
    // The context path: `_links.context`, else the path of `_links.base`.
    let context = links
        .and_then(|l| l.get("context"))
        .and_then(|c| c.as_str())
        .map(str::to_string)
        .or_else(|| {
            links
                .and_then(|l| l.get("base"))
                .and_then(|b| b.as_str())
                .and_then(|b| Url::parse(b).ok())
                .map(|b| b.path().to_string())
        })
        .map(|c| c.trim_end_matches('/').to_string())
        .unwrap_or_default();
    let path = if context.is_empty()
        || next == context
        || next.starts_with(&format!("{context}/"))
        || next.starts_with(&format!("{context}?"))
    {
        next
    } else {
        format!("{context}{next}")
    };
    // Against the origin of the URL that answered (a path starting with '/' replaces the path).
    let _ = client;
    url.join(&path)
        .map(|u| Some(u.to_string()))
        .map_err(|e| decode_error(req, url, "_links.next".into(), e.to_string()))
}

/// `Link: </wiki/api/v2/pages?cursor=…>; rel="next", <…>; rel="base"` → the `next` target.
pub fn link_header_next(headers: &reqwest::header::HeaderMap) -> Option<String> {
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(v) = value.to_str() else { continue };
        for part in v.split(',') {
            let part = part.trim();
            let Some((target, params)) = part.split_once(';') else {
                continue;
            };
            let target = target.trim().trim_start_matches('<').trim_end_matches('>');
            let is_next = params.split(';').any(|p| {
                let p = p.trim().to_ascii_lowercase();
                p == "rel=\"next\"" || p == "rel=next"
            });
            if is_next {
                return Some(target.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_is_parsed() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::LINK,
            "</wiki/api/v2/pages?cursor=abc>; rel=\"next\", <https://x.atlassian.net/wiki>; rel=\"base\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            link_header_next(&h).as_deref(),
            Some("/wiki/api/v2/pages?cursor=abc")
        );
    }
}
