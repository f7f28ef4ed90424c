//! Typed errors. Every variant names the request (method and URL, with secrets removed) and
//! says what failed; status errors also carry the service's own message and a hint on what to
//! do, which the client of a given service fills in (see [`crate::Hints`]).

use std::fmt;
use std::time::Duration;

/// What went wrong with one request (after the retries the policy allows).
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The service answered with a status that is not a success and is not retried (or the
    /// retries ran out on it: then it is the `last` of [`HttpError::RetriesExhausted`]).
    #[error("{0}")]
    Status(Box<StatusError>),
    /// The body is not the JSON the caller expected.
    #[error("{method} {url}: the response does not decode at `{path}`: {message}")]
    Decode {
        method: String,
        url: String,
        /// The JSON path of the offending value (`results[3].version.number`), `.` for the root.
        path: String,
        message: String,
    },
    /// No complete answer within the configured request timeout.
    #[error("{method} {url}: no complete answer within {}s{}", timeout.as_secs_f64(), suffix(hint))]
    Timeout {
        method: String,
        url: String,
        timeout: Duration,
        /// Which setting to check (the site's URL setting, when the client knows it).
        hint: Option<String>,
    },
    /// The connection failed, was reset, or the body was cut short.
    #[error("{method} {url}: {kind}: {message}{}", suffix(hint))]
    Transport {
        method: String,
        url: String,
        kind: TransportKind,
        message: String,
        /// What to check, by the kind of failure (e.g. "check CONFLUENCE_URL: …").
        hint: Option<String>,
    },
    /// A link (a `next` page, a download, a redirect) leads away from the configured site to
    /// an origin that is not a known file host: not followed, so the credentials never reach
    /// it.
    #[error(
        "{method} {url}: refused: the link leads away from {site}, the only origin the credentials go to, to a host that is not a known file host"
    )]
    ForeignOrigin {
        method: String,
        url: String,
        /// The configured site's origin.
        site: String,
    },
    /// The retry policy gave up (attempts or time); `last` is the final failure.
    #[error("{last} (gave up after {attempts} attempts in {:.1}s)", elapsed.as_secs_f64())]
    RetriesExhausted {
        method: String,
        url: String,
        attempts: u32,
        elapsed: Duration,
        last: Box<HttpError>,
    },
    /// A URL that cannot be used (a bad base URL, a `next` link that does not resolve).
    #[error("invalid URL {url:?}: {message}")]
    InvalidUrl { url: String, message: String },
    /// A client that cannot be built (bad configuration).
    #[error("cannot build the HTTP client: {0}")]
    Config(String),
}

/// An answer with a failing status: what was asked, what came back, what to do.
#[derive(Clone, Debug)]
pub struct StatusError {
    pub method: String,
    /// The URL without credentials or secret query parameters.
    pub url: String,
    pub status: u16,
    /// What was asked for, in words ("page 123"), when the caller said.
    pub object: Option<String>,
    /// The service's own error message, taken from the body.
    pub message: Option<String>,
    /// What to do about it, set by the service's client (e.g. which env vars to check).
    pub hint: Option<String>,
    /// The `Retry-After` the service sent with it, if any.
    pub retry_after: Option<Duration>,
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&status_message(
            &self.method,
            &self.url,
            self.status,
            self.object.as_deref(),
            self.message.as_deref(),
            self.hint.as_deref(),
        ))
    }
}

fn suffix(hint: &Option<String>) -> String {
    hint.as_deref()
        .map(|h| format!(": {h}"))
        .unwrap_or_default()
}

/// The kinds of transport failure. The connection failures are told apart, each with its own
/// hint: a name that does not resolve, a port where nothing listens, `https://` to a server
/// that speaks plain HTTP, another TLS failure, a connection that does not open in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// The host name does not resolve.
    Dns,
    /// Nothing listens at the host and port (connection refused).
    Refused,
    /// `https://` to a server that answers in plain HTTP.
    TlsToPlainHttp,
    /// The TLS handshake failed (a certificate that is not trusted, a protocol mismatch).
    Tls,
    /// The connection did not open within the connect timeout.
    ConnectTimeout,
    /// Could not connect, for another reason.
    Connect,
    /// The request could not be sent or the connection dropped before an answer (reset).
    Request,
    /// The body was cut short or could not be read.
    Body,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Dns => "cannot connect: the host name does not resolve",
            // The cause that follows says "Connection refused (os error 111)".
            TransportKind::Refused => "cannot connect",
            TransportKind::TlsToPlainHttp => {
                "cannot connect: TLS to a server that speaks plain HTTP"
            }
            TransportKind::Tls => "cannot connect: the TLS handshake failed",
            TransportKind::ConnectTimeout => "cannot connect: no connection within the timeout",
            TransportKind::Connect => "cannot connect",
            TransportKind::Request => "the connection failed before an answer",
            TransportKind::Body => "the answer was cut short",
        })
    }
}

impl TransportKind {
    /// True for the failures before a connection opened: the server never saw the request.
    pub fn is_connect(self) -> bool {
        !matches!(self, TransportKind::Request | TransportKind::Body)
    }

    /// The stable code of the failure (see `docs/errors.md`).
    pub fn code(self) -> &'static str {
        match self {
            TransportKind::Dns => "connection_dns",
            TransportKind::Refused => "connection_refused",
            TransportKind::TlsToPlainHttp => "connection_tls_plain_http",
            TransportKind::Tls => "connection_tls",
            TransportKind::ConnectTimeout => "connection_timeout",
            TransportKind::Connect => "connection_failed",
            TransportKind::Request => "connection_reset",
            TransportKind::Body => "body_cut_short",
        }
    }

    /// What to check, `setting` being where the URL came from (`CONFLUENCE_URL`), or the URL.
    pub fn hint(self, setting: &str, url: &url::Url) -> String {
        let host = url.host_str().unwrap_or("?");
        let port = url.port_or_known_default().unwrap_or(0);
        match self {
            TransportKind::Dns => format!(
                "check {setting}: {host} does not resolve (a typo in the host name? the network's DNS?)"
            ),
            TransportKind::Refused => format!(
                "check {setting}: nothing listens at {host}:{port} (the port, http or https, a service that is not running?)"
            ),
            TransportKind::TlsToPlainHttp => format!(
                "check {setting}: {host}:{port} speaks plain HTTP, not HTTPS (use http://, or the server's HTTPS port)"
            ),
            TransportKind::Tls => format!(
                "check {setting}: the TLS handshake with {host}:{port} failed (a certificate the system does not trust? a proxy?)"
            ),
            TransportKind::ConnectTimeout => format!(
                "check {setting}: {host}:{port} accepted no connection in time (a firewall, a proxy, the network?)"
            ),
            TransportKind::Connect => format!("check {setting} and the network"),
            TransportKind::Request | TransportKind::Body => format!(
                "the connection to {host} broke: check the network (and {setting}), then run again"
            ),
        }
    }
}

fn status_message(
    method: &str,
    url: &str,
    status: u16,
    object: Option<&str>,
    message: Option<&str>,
    hint: Option<&str>,
) -> String {
    let mut s = format!("{status} {} from {method} {url}", reason(status));
    if let Some(o) = object {
        s.push_str(&format!(" ({o})"));
    }
    if let Some(m) = message {
        s.push_str(&format!(": {m}"));
    }
    if let Some(h) = hint {
        s.push_str(&format!(": {h}"));
    }
    s
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

impl HttpError {
    /// The HTTP status of the failure, looking through [`HttpError::RetriesExhausted`].
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status(s) => Some(s.status),
            HttpError::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// The failure itself, looking through [`HttpError::RetriesExhausted`].
    pub fn root(&self) -> &HttpError {
        match self {
            HttpError::RetriesExhausted { last, .. } => last.root(),
            e => e,
        }
    }

    /// True for failures where no answer came (connect, reset, cut body, timeout).
    pub fn is_transport(&self) -> bool {
        matches!(
            self.root(),
            HttpError::Transport { .. } | HttpError::Timeout { .. }
        )
    }

    /// The kind of transport failure, if it is one.
    pub fn transport_kind(&self) -> Option<TransportKind> {
        match self.root() {
            HttpError::Transport { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// The hint of the failure (what to do), if any: a status error's (from the service's
    /// client), a connection failure's (naming the URL setting).
    pub fn hint(&self) -> Option<&str> {
        match self.root() {
            HttpError::Status(s) => s.hint.as_deref(),
            HttpError::Transport { hint, .. } | HttpError::Timeout { hint, .. } => hint.as_deref(),
            HttpError::ForeignOrigin { .. } => Some(FOREIGN_HINT),
            _ => None,
        }
    }

    /// The stable code of the failure (`docs/errors.md`): `connection_refused`,
    /// `unauthorized`, `not_found`, `rate_limited`, `foreign_origin`…
    pub fn code(&self) -> &'static str {
        match self.root() {
            HttpError::Status(s) => status_code(s.status),
            HttpError::Decode { .. } => "unexpected_answer",
            HttpError::Timeout { .. } => "timeout",
            HttpError::Transport { kind, .. } => kind.code(),
            HttpError::ForeignOrigin { .. } => "foreign_origin",
            HttpError::RetriesExhausted { .. } => "retries_exhausted",
            HttpError::InvalidUrl { .. } => "invalid_url",
            HttpError::Config(_) => "client_config",
        }
    }
}

const FOREIGN_HINT: &str = "kbridge sends credentials only to the configured site and follows links elsewhere only to known file hosts; if the site is right, report the link";

/// The stable code of a status.
pub fn status_code(status: u16) -> &'static str {
    match status {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 | 410 => "not_supported",
        408 => "timeout",
        409 => "conflict",
        413 => "too_large",
        429 => "rate_limited",
        500..=599 => "server_error",
        _ => "http_error",
    }
}

/// Takes the service's message out of an error body: Confluence v2
/// (`{"errors":[{"title","detail"}]}`), Confluence v1 (`{"message"}`), Notion
/// (`{"object":"error","message"}`), Jira-style `errorMessages`, or a short plain-text body.
pub fn service_message(body: &[u8]) -> Option<String> {
    const MAX: usize = 300;
    let clip = |s: &str| -> Option<String> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        if s.chars().count() > MAX {
            Some(format!("{}…", s.chars().take(MAX).collect::<String>()))
        } else {
            Some(s.to_string())
        }
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        let text = String::from_utf8_lossy(body);
        // HTML error pages say nothing useful in their first line.
        if text.trim_start().starts_with('<') {
            return None;
        }
        return clip(&text);
    };
    if let Some(errors) = v.get("errors").and_then(|e| e.as_array()) {
        let parts: Vec<String> = errors
            .iter()
            .filter_map(|e| {
                let title = e.get("title").and_then(|t| t.as_str());
                let detail = e.get("detail").and_then(|t| t.as_str());
                let message = e.get("message").and_then(|t| t.as_str());
                match (title.or(message), detail) {
                    (Some(t), Some(d)) if !d.is_empty() => Some(format!("{t} ({d})")),
                    (Some(t), _) => Some(t.to_string()),
                    (None, Some(d)) => Some(d.to_string()),
                    (None, None) => None,
                }
            })
            .collect();
        if !parts.is_empty() {
            return clip(&parts.join("; "));
        }
    }
    if let Some(msgs) = v.get("errorMessages").and_then(|e| e.as_array()) {
        let parts: Vec<&str> = msgs.iter().filter_map(|m| m.as_str()).collect();
        if !parts.is_empty() {
            return clip(&parts.join("; "));
        }
    }
    for key in ["message", "error_description", "error", "reason", "title"] {
        if let Some(m) = v.get(key).and_then(|m| m.as_str()) {
            return clip(m);
        }
    }
    None
}

/// Whether a query parameter's name says it holds a secret: `token`, `key`, `api_key`,
/// `*token`, `*secret*`, `*password*`, `signature`, `sig`, `auth`, `code`… (but not `keys`,
/// `space-key` or `cursor`).
fn is_secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    const EXACT: &[&str] = &[
        "key",
        "apikey",
        "api_key",
        "api-key",
        "secret",
        "password",
        "passwd",
        "pwd",
        "signature",
        "sig",
        "auth",
        "authorization",
        "code",
        "jwt",
    ];
    EXACT.contains(&n.as_str())
        || n.ends_with("token")
        || n.contains("secret")
        || n.contains("password")
}

/// A URL fit for logs and errors: no user info, and the values of query parameters whose name
/// says they hold a secret replaced by `REDACTED`.
pub fn redact_url(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    if u.query_pairs().any(|(k, _)| is_secret_param(&k)) {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let secret = is_secret_param(&k);
                (
                    k.into_owned(),
                    if secret {
                        "REDACTED".to_string()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_each_service_shape() {
        let v2 = br#"{"errors":[{"status":401,"code":"UNAUTHORIZED","title":"Unauthorized","detail":null}]}"#;
        assert_eq!(service_message(v2).as_deref(), Some("Unauthorized"));
        let v1 = br#"{"statusCode":403,"message":"Current user not permitted to use Confluence"}"#;
        assert_eq!(
            service_message(v1).as_deref(),
            Some("Current user not permitted to use Confluence")
        );
        let notion = br#"{"object":"error","status":400,"code":"validation_error","message":"body.children should be an array"}"#;
        assert_eq!(
            service_message(notion).as_deref(),
            Some("body.children should be an array")
        );
        assert_eq!(service_message(b"<html>oops</html>"), None);
        assert_eq!(
            service_message(b"plain words").as_deref(),
            Some("plain words")
        );
    }

    #[test]
    fn urls_lose_their_secrets() {
        let u = url::Url::parse(
            "https://me:pw@x.example/a?api_token=s3cr3t&limit=5&keys=ENG&key=k3y&access_token=t0k&cursor=abc",
        )
        .unwrap();
        let r = redact_url(&u);
        for secret in ["s3cr3t", "pw", "k3y", "t0k"] {
            assert!(!r.contains(secret), "{secret} in {r}");
        }
        for kept in ["limit=5", "keys=ENG", "cursor=abc"] {
            assert!(r.contains(kept), "{kept} not in {r}");
        }
    }
}
