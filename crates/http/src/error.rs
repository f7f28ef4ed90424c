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
    #[error("{method} {url}: no complete answer within {}s", timeout.as_secs_f64())]
    Timeout {
        method: String,
        url: String,
        timeout: Duration,
    },
    /// The connection failed, was reset, or the body was cut short.
    #[error("{method} {url}: {kind}: {message}")]
    Transport {
        method: String,
        url: String,
        kind: TransportKind,
        message: String,
    },
    /// The retry policy gave up (attempts or time); `last` is the final failure.
    #[error("{method} {url}: gave up after {attempts} attempts in {:.1}s: {last}", elapsed.as_secs_f64())]
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

/// The kinds of transport failure, all retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// Could not connect (DNS, refused, TLS).
    Connect,
    /// The request could not be sent or the connection dropped before an answer (reset).
    Request,
    /// The body was cut short or could not be read.
    Body,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "cannot connect",
            TransportKind::Request => "the connection failed before an answer",
            TransportKind::Body => "the answer was cut short",
        })
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

    /// The hint attached to a status error, if any.
    pub fn hint(&self) -> Option<&str> {
        match self.root() {
            HttpError::Status(s) => s.hint.as_deref(),
            _ => None,
        }
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
