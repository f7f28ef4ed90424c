//! Notion's wire conventions: the error body, `Notion-Version`, ids with or without dashes,
//! JSON bodies, and cursor pagination (`{"object":"list", …, "next_cursor", "has_more"}`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The API versions the twin speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `2022-06-28`: databases hold the schema and rows.
    V2022,
    /// `2025-09-03`: databases are containers of data sources.
    V2025,
}

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        match s.trim() {
            "2022-06-28" => Some(Version::V2022),
            "2025-09-03" => Some(Version::V2025),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2022 => "2022-06-28",
            Version::V2025 => "2025-09-03",
        }
    }
}

/// A request id: `xxxxxxxx-xxxx-…` from a per-twin counter (never random, never secret).
pub fn request_id(seq: u64) -> String {
    crate::rng::Rng::stream(0x7265_7175_6573_7400, seq).uuid()
}

/// An error in Notion's shape: `{"object":"error","status","code","message","request_id"}`.
#[derive(Debug, Clone)]
pub struct NError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl NError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> NError {
        NError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn validation(message: impl Into<String>) -> NError {
        NError::new(StatusCode::BAD_REQUEST, "validation_error", message)
    }
    /// `body failed validation: <path> should be …`.
    pub fn body(detail: impl std::fmt::Display) -> NError {
        NError::validation(format!("body failed validation: {detail}."))
    }
    pub fn invalid_json() -> NError {
        NError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "Error parsing JSON body.",
        )
    }
    pub fn unauthorized() -> NError {
        NError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "API token is invalid.",
        )
    }
    pub fn restricted() -> NError {
        NError::new(
            StatusCode::FORBIDDEN,
            "restricted_resource",
            "Insufficient permissions for this endpoint.",
        )
    }
    /// `Could not find page with ID: … Make sure the relevant pages and databases are shared
    /// with your integration.`
    pub fn not_found(what: &str, id: &str) -> NError {
        NError::new(
            StatusCode::NOT_FOUND,
            "object_not_found",
            format!(
                "Could not find {what} with ID: {id}. Make sure the relevant pages and databases are shared with your integration."
            ),
        )
    }
    pub fn invalid_url() -> NError {
        NError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_url",
            "Invalid request URL.",
        )
    }
    pub fn conflict() -> NError {
        NError::new(
            StatusCode::CONFLICT,
            "conflict_error",
            "Conflict occurred while saving. Please try again.",
        )
    }
    pub fn archived() -> NError {
        NError::validation(
            "Can't edit block that is archived. You must unarchive the block before editing.",
        )
    }
    pub fn rate_limited(secs: u64) -> NError {
        let mut e = NError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "You have been rate limited. Please try again in a few minutes.",
        );
        e.retry_after = Some(secs);
        e
    }
    pub fn into_response_with(self, rid: &str) -> Response {
        let v = json!({
            "object": "error",
            "status": self.status.as_u16(),
            "code": self.code,
            "message": self.message,
            "request_id": rid,
        });
        let mut r = json_response(self.status, &v);
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

/// The request id travels to error bodies through this extension-free path: errors made in
/// handlers are turned into responses by the layer, which knows the id.
impl IntoResponse for NError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut r = status.into_response();
        r.extensions_mut().insert(self);
        r
    }
}

pub fn json_response(status: StatusCode, v: &Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

pub type R = Result<Response, NError>;

pub fn ok(v: Value) -> R {
    Ok(json_response(StatusCode::OK, &v))
}

/// A Notion id from a path or body: 32 hex digits, dashes anywhere; normalised to the dashed
/// lowercase form. `what` names the field in the error (`path.page_id`).
pub fn norm_id(raw: &str) -> Option<String> {
    let hex: String = raw.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

pub fn path_id(raw: &str, field: &str) -> Result<String, NError> {
    norm_id(raw).ok_or_else(|| {
        NError::validation(format!(
            "path failed validation: path.{field} should be a valid uuid, instead was `{}`.",
            serde_json::to_string(raw).unwrap_or_default()
        ))
    })
}

/// A JSON body: empty = `{}`, malformed = `invalid_json`, not an object = `validation_error`.
pub fn body_object(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, NError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Default::default());
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|_| NError::invalid_json())?;
    match v {
        Value::Object(m) => Ok(m),
        other => Err(NError::body(format_args!(
            "body should be an object, instead was `{}`",
            short(&other)
        ))),
    }
}

/// A value as Notion quotes it in messages: JSON, cut to 50 characters with `...`.
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 50 {
        let cut: String = s.chars().take(47).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// `page_size`: 1–100, default 100.
pub fn page_size(v: Option<&Value>, where_: &str) -> Result<usize, NError> {
    match v {
        None | Some(Value::Null) => Ok(100),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(x @ 1..=100) => Ok(x as usize),
            Some(x) if x > 100 => Err(NError::validation(format!(
                "{where_} failed validation: {where_}.page_size should be ≤ `100`, instead was `{x}`."
            ))),
            _ => Err(NError::validation(format!(
                "{where_} failed validation: {where_}.page_size should be a positive integer, instead was `{n}`."
            ))),
        },
        Some(Value::String(s)) => match s.parse::<u64>() {
            Ok(x) => page_size(Some(&json!(x)), where_),
            Err(_) => Err(NError::validation(format!(
                "{where_} failed validation: {where_}.page_size should be a number, instead was `{}`.",
                serde_json::to_string(s).unwrap_or_default()
            ))),
        },
        Some(other) => Err(NError::validation(format!(
            "{where_} failed validation: {where_}.page_size should be a number, instead was `{}`.",
            short(other)
        ))),
    }
}

/// A start cursor: `None`, or the string given.
pub fn start_cursor(v: Option<&Value>, where_: &str) -> Result<Option<String>, NError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(NError::validation(format!(
            "{where_} failed validation: {where_}.start_cursor should be a string, instead was `{}`.",
            short(other)
        ))),
    }
}

pub fn bad_cursor() -> NError {
    NError::validation("The start_cursor provided is invalid.")
}

/// One page of `items` (already filtered and sorted), each with its id. Notion's cursors are
/// the id of the next result: a stale or foreign one is a 400.
pub fn page_by_id<T>(
    items: Vec<(String, T)>,
    cursor: Option<&str>,
    size: usize,
) -> Result<(Vec<T>, Option<String>), NError> {
    let start = match cursor {
        None => 0,
        Some(c) => {
            let c = norm_id(c).ok_or_else(bad_cursor)?;
            items
                .iter()
                .position(|(id, _)| *id == c)
                .ok_or_else(bad_cursor)?
        }
    };
    let mut it = items.into_iter().skip(start);
    let page: Vec<T> = it.by_ref().take(size).map(|x| x.1).collect();
    let next = it.next().map(|x| x.0);
    Ok((page, next))
}

/// One page of `items` by offset, for lists without ids (property items); the cursor is an
/// opaque token bound to `scope`.
pub fn page_by_offset<T>(
    items: Vec<T>,
    scope: &str,
    cursor: Option<&str>,
    size: usize,
) -> Result<(Vec<T>, Option<String>), NError> {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let tag = format!("{:016x}", crate::rng::fnv1a64(scope.as_bytes()));
    let start = match cursor {
        None => 0,
        Some(c) => {
            let raw = engine.decode(c).map_err(|_| bad_cursor())?;
            let raw = String::from_utf8(raw).map_err(|_| bad_cursor())?;
            let (t, off) = raw.split_once(':').ok_or_else(bad_cursor)?;
            if t != tag {
                return Err(bad_cursor());
            }
            let off: usize = off.parse().map_err(|_| bad_cursor())?;
            if off > items.len() {
                return Err(bad_cursor());
            }
            off
        }
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(size).collect();
    let end = start + page.len();
    let next = (end < total).then(|| engine.encode(format!("{tag}:{end}")));
    Ok((page, next))
}

/// `{"object":"list","results":…,"next_cursor","has_more","type":ty,ty:{}}`.
pub fn list(results: Vec<Value>, next: Option<String>, ty: &str, extra: Value) -> Value {
    let mut v = json!({
        "object": "list",
        "results": results,
        "next_cursor": next,
        "has_more": next.is_some(),
        "type": ty,
    });
    v[ty] = extra;
    v
}
