//! Plumbing shared by the Confluence handlers: the request context, error bodies in the real
//! service's two shapes (v2 and v1), query-parameter parsing with the real 400s, and cursor
//! pagination (`limit` 1–250, opaque cursor bound to the request's filters, relative
//! `_links.next` that includes `/wiki`, and the `Link` header).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::{Caller, Confluence};
use crate::server::Sim;

/// Which of Confluence's two error shapes a failure is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `{"errors":[{"status","code","title","detail"}]}` (REST v2).
    V2,
    /// `{"statusCode","data":{…},"message","reason"}` (REST v1).
    V1,
}

impl Flavor {
    pub fn of_path(path: &str) -> Flavor {
        if path.starts_with("/wiki/rest/") {
            Flavor::V1
        } else {
            Flavor::V2
        }
    }
}

/// An error answer with the body the real service sends.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub flavor: Flavor,
    /// Extra headers (`Retry-After` on 429/503).
    pub headers: Vec<(header::HeaderName, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            flavor: Flavor::V2,
            headers: Vec::new(),
        }
    }
    pub fn v1(mut self) -> Self {
        self.flavor = Flavor::V1;
        self
    }
    pub fn flavor(mut self, f: Flavor) -> Self {
        self.flavor = f;
        self
    }
    pub fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST_PARAMETER",
            message,
        )
    }
    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "Not Found")
    }
    pub fn not_found_msg(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, "CONFLICT", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
    }
    pub fn unauthorized() -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Unauthorized")
    }
    pub fn not_implemented(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_IMPLEMENTED, "NOT_IMPLEMENTED", message)
    }
    pub fn body(&self) -> Value {
        match self.flavor {
            Flavor::V2 => json!({
                "errors": [{
                    "status": self.status.as_u16(),
                    "code": self.code,
                    "title": self.message,
                    "detail": null,
                }]
            }),
            Flavor::V1 => json!({
                "statusCode": self.status.as_u16(),
                "data": {
                    "authorized": !matches!(self.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                    "valid": self.status != StatusCode::BAD_REQUEST,
                    "allowedInReadOnlyMode": true,
                    "errors": [],
                    "successful": false,
                },
                "message": self.message,
                "reason": self.status.canonical_reason().unwrap_or(""),
            }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = json_response(self.status, &self.body());
        for (k, v) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(v) {
                r.headers_mut().insert(k.clone(), v);
            }
        }
        r
    }
}

pub fn json_response(status: StatusCode, v: &Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    r
}

pub fn ok(v: Value) -> Result<Response, ApiError> {
    Ok(json_response(StatusCode::OK, &v))
}

/// Query parameters in request order. Repeated names and comma-separated values are both
/// accepted for list parameters, as the real API does.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(q: Option<&str>) -> Query {
        Query {
            pairs: q
                .map(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// All values of a list parameter, split on commas, empty parts dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }
    /// A list of numeric ids (`id`, `space-id`…); anything else is a 400.
    pub fn ids(&self, name: &str) -> Result<Vec<u64>, ApiError> {
        self.list(name)
            .iter()
            .map(|s| {
                s.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!("Provided value {{{s}}} for '{name}' is not the correct type. Expected type is Long"))
                })
            })
            .collect()
    }
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::bad_request(format!(
                "Provided value {{{v}}} for '{name}' is not the correct type. Expected type is Boolean"
            ))),
        }
    }
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!("Provided value {{{v}}} for '{name}' is not the correct type. Expected type is Integer"))
            }),
        }
    }
    /// A parameter that must be one of `allowed` when present.
    pub fn one_of(&self, name: &str, allowed: &[&str]) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if allowed.contains(&v) => Ok(Some(v.to_string())),
            Some(v) => Err(ApiError::bad_request(format!(
                "Provided value {{{v}}} for '{name}' is not valid. Valid values are: [{}]",
                allowed.join(", ")
            ))),
        }
    }
    /// Every value of a list parameter must be in `allowed`.
    pub fn list_of(&self, name: &str, allowed: &[&str]) -> Result<Vec<String>, ApiError> {
        let v = self.list(name);
        for s in &v {
            if !allowed.contains(&s.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "Provided value {{{s}}} for '{name}' is not valid. Valid values are: [{}]",
                    allowed.join(", ")
                )));
            }
        }
        Ok(v)
    }
    /// v2 `limit`: 1..=`max` (400 outside), `default` when absent.
    pub fn limit(&self, default: usize, max: usize) -> Result<usize, ApiError> {
        match self.get("limit") {
            None => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= 1 && n as usize <= max => Ok(n as usize),
                Ok(n) if n < 1 => Err(ApiError::bad_request(format!(
                    "Provided value {{{n}}} for 'limit' must be greater than 0"
                ))),
                Ok(n) => Err(ApiError::bad_request(format!(
                    "Provided value {{{n}}} for 'limit' must be less than or equal to {max}"
                ))),
                Err(_) => Err(ApiError::bad_request(format!(
                    "Provided value {{{v}}} for 'limit' is not the correct type. Expected type is Integer"
                ))),
            },
        }
    }
}

/// The body representation asked for with `body-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    Storage,
    /// HTML rendered from storage ([`super::view`]).
    View,
    /// The same HTML (the twin's export has site-relative links on v2).
    ExportView,
}

/// Parses `body-format` (or `name`): `storage`, `view` and `export_view` are served (where the
/// endpoint allows them), `none` means no body; the other real representations are a 501 from
/// the twin (not yet implemented); anything else is a 400.
pub fn body_format(
    q: &Query,
    name: &str,
    allowed: &[&str],
) -> Result<Option<BodyFormat>, ApiError> {
    match q.get(name) {
        None => Ok(None),
        Some("storage") => Ok(Some(BodyFormat::Storage)),
        // Not in the spec, but atlassian-python-api sends it to mean "no body".
        Some("none") => Ok(None),
        Some("view") if allowed.contains(&"view") => Ok(Some(BodyFormat::View)),
        Some("export_view") if allowed.contains(&"export_view") => Ok(Some(BodyFormat::ExportView)),
        Some(v) if allowed.contains(&v) => Err(ApiError::not_implemented(format!(
            "kbridge sim: {name}={v} is not implemented by the twin yet; use storage"
        ))),
        Some(v) => Err(ApiError::bad_request(format!(
            "Provided value {{{v}}} for '{name}' is not valid. Valid values are: [{}]",
            allowed.join(", ")
        ))),
    }
}

pub const LIST_BODY_FORMATS: &[&str] = &["storage", "atlas_doc_format"];
pub const SINGLE_BODY_FORMATS: &[&str] = &[
    "storage",
    "atlas_doc_format",
    "view",
    "export_view",
    "anonymous_export_view",
    "styled_view",
    "editor",
];

/// A sort value: what a listing is ordered by before the id tie-break.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortVal {
    I(i64),
    S(String),
}

/// Position in a listing: sort value, then id.
pub type Key = (SortVal, u64);

/// Everything a handler needs about the request.
pub struct Ctx {
    pub sim: Arc<Sim>,
    pub caller: Caller,
    pub q: Query,
    /// The request path (`/wiki/api/v2/pages`).
    pub path: String,
    /// `_links.base`: the site's `/wiki` URL as the client reached it.
    pub base: String,
}

impl FromRequestParts<Arc<Sim>> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        sim: &Arc<Sim>,
    ) -> Result<Self, Self::Rejection> {
        let path = parts.uri.path().to_string();
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized().flavor(Flavor::of_path(&path)))?;
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| sim.addr.to_string());
        Ok(Ctx {
            sim: sim.clone(),
            caller,
            q: Query::parse(parts.uri.query()),
            path,
            base: format!("http://{host}/wiki"),
        })
    }
}

impl Ctx {
    pub fn conf(&self) -> &Confluence {
        &self.sim.confluence
    }

    /// A stable hash of what the request filters on (path and every parameter but `cursor`
    /// and `limit`): a cursor only continues the listing it came from.
    fn fingerprint(&self) -> u64 {
        let mut pairs: Vec<&(String, String)> = self
            .q
            .pairs
            .iter()
            .filter(|(k, _)| k != "cursor" && k != "limit" && k != "start")
            .collect();
        pairs.sort();
        let mut s = self.path.clone();
        for (k, v) in pairs {
            s.push('\u{1f}');
            s.push_str(k);
            s.push('=');
            s.push_str(v);
        }
        crate::rng::fnv1a64(s.as_bytes())
    }

    pub fn encode_cursor(&self, key: &Key) -> String {
        let val = match &key.0 {
            SortVal::I(i) => format!("i{i}"),
            SortVal::S(s) => format!("s{s}"),
        };
        URL_SAFE_NO_PAD.encode(format!("{:016x}:{}:{}", self.fingerprint(), key.1, val))
    }

    /// The position the `cursor` parameter continues from, checked against this request's
    /// filters.
    pub fn cursor(&self) -> Result<Option<Key>, ApiError> {
        let Some(c) = self.q.get("cursor") else {
            return Ok(None);
        };
        let bad = || {
            ApiError::bad_request(
                "Invalid cursor: it is malformed, expired, or was issued for different parameters",
            )
        };
        let raw = URL_SAFE_NO_PAD
            .decode(c.trim_end_matches('='))
            .map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let mut it = raw.splitn(3, ':');
        let (fp, id, val) = (
            it.next().ok_or_else(bad)?,
            it.next().ok_or_else(bad)?,
            it.next().ok_or_else(bad)?,
        );
        if u64::from_str_radix(fp, 16).ok() != Some(self.fingerprint()) {
            return Err(bad());
        }
        let id: u64 = id.parse().map_err(|_| bad())?;
        let val = match val.split_at_checked(1) {
            Some(("i", n)) => SortVal::I(n.parse().map_err(|_| bad())?),
            Some(("s", s)) => SortVal::S(s.to_string()),
            _ => return Err(bad()),
        };
        Ok(Some((val, id)))
    }

    /// For listings in id order: the id the cursor continues after.
    pub fn id_cursor(&self) -> Result<Option<u64>, ApiError> {
        match self.cursor()? {
            None => Ok(None),
            Some((SortVal::I(v), id)) if v == id as i64 => Ok(Some(id)),
            Some(_) => Err(ApiError::bad_request(
                "Invalid cursor: it was issued for a different sort order",
            )),
        }
    }

    /// One page from `items` already in order, filtered and after the cursor: the fast path of
    /// id-ordered listings, which stops after `limit + 1` items instead of scanning everything.
    pub fn take_page<T>(
        &self,
        items: impl Iterator<Item = T>,
        id: impl Fn(&T) -> u64,
        limit: usize,
    ) -> (Vec<T>, Option<String>) {
        let mut v: Vec<T> = items.take(limit + 1).collect();
        let more = v.len() > limit;
        v.truncate(limit);
        let next = if more {
            v.last().map(|t| {
                let i = id(t);
                self.encode_cursor(&(SortVal::I(i as i64), i))
            })
        } else {
            None
        };
        (v, next)
    }

    /// One page of `items` (unordered, already filtered) after the request's cursor, in
    /// `desc`ending or ascending key order, and the cursor of the next page if there is one.
    pub fn paginate<T>(
        &self,
        mut items: Vec<(Key, T)>,
        desc: bool,
        limit: usize,
    ) -> Result<(Vec<T>, Option<String>), ApiError> {
        if let Some(after) = self.cursor()? {
            items.retain(|(k, _)| if desc { *k < after } else { *k > after });
        }
        let cmp = |a: &(Key, T), b: &(Key, T)| if desc { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) };
        if items.len() > limit + 1 {
            items.select_nth_unstable_by(limit, cmp);
            items.truncate(limit + 1);
        }
        items.sort_by(cmp);
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more {
            items.last().map(|(k, _)| self.encode_cursor(k))
        } else {
            None
        };
        Ok((items.into_iter().map(|(_, t)| t).collect(), next))
    }

    /// The relative `next` URL: this path, the original filters, the limit and the cursor.
    pub fn next_link(&self, limit: usize, cursor: &str) -> String {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.q.pairs {
            if k != "cursor" && k != "limit" {
                ser.append_pair(k, v);
            }
        }
        ser.append_pair("limit", &limit.to_string());
        ser.append_pair("cursor", cursor);
        format!("{}?{}", self.path, ser.finish())
    }

    /// A v2 list answer: `results`, `_links {next?, base}` and the `Link` header.
    pub fn list<T: serde::Serialize>(
        &self,
        results: Vec<T>,
        next: Option<String>,
        limit: usize,
    ) -> Result<Response, ApiError> {
        #[derive(serde::Serialize)]
        struct Links<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            next: Option<&'a str>,
            base: &'a str,
        }
        #[derive(serde::Serialize)]
        struct List<'a, T> {
            results: Vec<T>,
            #[serde(rename = "_links")]
            links: Links<'a>,
        }
        let next = next.map(|c| self.next_link(limit, &c));
        let body = serde_json::to_vec(&List {
            results,
            links: Links {
                next: next.as_deref(),
                base: &self.base,
            },
        })
        .unwrap_or_default();
        let mut r = (StatusCode::OK, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        );
        if let Some(n) = next
            && let Ok(v) = HeaderValue::from_str(&format!(
                "<{n}>; rel=\"next\", <{}>; rel=\"base\"",
                self.base
            ))
        {
            r.headers_mut().insert(header::LINK, v);
        }
        Ok(r)
    }

    /// `{…, "_links": {…, "base"}}` for single-object answers.
    pub fn with_base(&self, mut v: Value) -> Value {
        if let Some(l) = v.get_mut("_links").and_then(Value::as_object_mut) {
            l.insert("base".into(), Value::String(self.base.clone()));
        }
        v
    }
}

/// Parses a path id (`/pages/{id}`): a 400 when it is not a number, as the real API does.
pub fn path_id(s: &str) -> Result<u64, ApiError> {
    s.parse::<u64>().map_err(|_| {
        ApiError::bad_request(format!(
            "Provided value {{{s}}} for 'id' is not the correct type. Expected type is Long"
        ))
    })
}

/// Parses a JSON request body into `T`, with a 400 that says what is wrong.
pub fn parse_body<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    flavor: Flavor,
) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!("Could not parse the request body as JSON: {e}"))
            .flavor(flavor)
    })
}

/// The values of an id-keyed map after `after`, ascending or descending.
pub fn id_range<V>(
    m: &std::collections::BTreeMap<u64, V>,
    after: Option<u64>,
    desc: bool,
) -> Box<dyn Iterator<Item = &V> + '_> {
    match (desc, after) {
        (false, None) => Box::new(m.values()),
        (false, Some(a)) => Box::new(m.range(a.saturating_add(1)..).map(|(_, v)| v)),
        (true, None) => Box::new(m.values().rev()),
        (true, Some(a)) => Box::new(m.range(..a).rev().map(|(_, v)| v)),
    }
}

/// The ids of a sorted id list after `after` (ascending).
pub fn ids_after(ids: &[u64], after: Option<u64>) -> &[u64] {
    match after {
        None => ids,
        Some(a) => &ids[ids.partition_point(|x| *x <= a)..],
    }
}
