//! kb-http: the plumbing every API client of kbridge shares: a rate limiter per site (every
//! attempt pays, a 429 pauses the whole bucket), the retry policy, cursor and offset pagination
//! as streams, request timeouts, typed errors and typed events that log and count.
//!
//! It knows HTTP, not Confluence or Notion: it must never import a codec, a store or a model of
//! either service, and it must never let a secret out: credentials are a sensitive header built
//! once ([`Auth`]), URLs in errors and logs are redacted ([`redact_url`]), and no `Debug` output
//! shows them.
//!
//! # Shape
//!
//! A [`Client`] is one site: one `reqwest::Client` (one connection pool), one [`Limiter`]
//! (token bucket + concurrency), one [`Stats`]. [`Client::send`] runs the loop
//!
//! ```text
//! loop { limiter.acquire() → send → read the whole body → classify
//!        2xx: done | 4xx: typed error | 429/503/5xx/transport: event, sleep, again }
//! ```
//!
//! so every attempt pays a token, and a 429 pauses the bucket for every task of the site.
//! [`Client::pages`] turns a listing into a stream of [`Page`]s ([`Pagination`]: `_links.next`
//! / `Link` cursors, offsets, Notion's `next_cursor`), each carrying the token to resume from.
//! See `docs/clients.md` for the policy in full.

mod client;
mod download;
mod error;
mod events;
mod limiter;
mod paginate;
mod retry;

pub use client::{
    Auth, Client, EventCallback, Hints, MAX_REDIRECTS, Pacer, Part, Request, Response, SiteConfig,
    endpoint_label, set_query,
};
pub use download::{Download, DownloadOptions};
pub use error::{HttpError, StatusError, TransportKind, redact_url, service_message, status_code};
pub use events::{Event, Stats, StatsSnapshot};
pub use limiter::{Limiter, LimiterConfig, Permit};
pub use paginate::{Page, PageStream, Pagination, link_header_next};
pub use retry::{
    Jitter, RetryPolicy, RetryReason, classify_status, parse_retry_after, retry_after,
};

pub use reqwest::Method;
pub use reqwest::header;
pub use secrecy::{ExposeSecret, SecretString};
pub use url::Url;

/// A service's base URL as a user types it: trimmed, `https://` assumed without a scheme, only
/// http(s), a host required, no credentials (`credentials` says where they go instead), query
/// and fragment dropped. The error is the reason, for the caller's own error.
pub fn parse_service_url(input: &str, credentials: &str) -> Result<Url, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("it is empty".into());
    }
    let with_scheme = if s.contains("://") {
        s.to_string()
    } else {
        format!("https://{s}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("only http:// and https:// are supported".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("it has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "credentials do not go in the URL: use {credentials}"
        ));
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// `%3E` escapes decoded (`diagram%201.png` → `diagram 1.png`); invalid escapes stay as they
/// are, invalid UTF-8 becomes U+FFFD. For URL path segments (no `+` → space).
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A secret from the environment: `var` itself, else `{var}_FILE`, the path of a file that
/// holds it (Docker and systemd secrets), trimmed. `Ok(None)` when neither is set; an error
/// (naming the variable and the path, never the content) when the file cannot be read or is
/// empty. `get` reads a variable (`std::env::var` in the binary, a map in tests).
pub fn secret_from_env(
    get: impl Fn(&str) -> Option<String>,
    var: &str,
) -> Result<Option<SecretString>, String> {
    if let Some(v) = get(var)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    {
        return Ok(Some(SecretString::from(v)));
    }
    let file_var = format!("{var}_FILE");
    let Some(path) = get(&file_var).filter(|p| !p.trim().is_empty()) else {
        return Ok(None);
    };
    let path = path.trim();
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => Ok(Some(SecretString::from(s.trim().to_string()))),
        Ok(_) => Err(format!("{file_var}: the file {path} is empty")),
        Err(e) => Err(format!("{file_var}: cannot read {path}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_comes_from_the_variable_or_its_file_never_shown() {
        let dir = std::env::temp_dir().join(format!("kb-http-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "  s3cr3t-from-file\n").unwrap();
        let path = file.to_str().unwrap().to_string();
        let get = |k: &str| match k {
            "T_FILE" => Some(path.clone()),
            _ => None,
        };
        let s = secret_from_env(get, "T").unwrap().unwrap();
        assert_eq!(s.expose_secret(), "s3cr3t-from-file");
        // The variable wins over the file.
        let both = |k: &str| match k {
            "T" => Some("direct".to_string()),
            "T_FILE" => Some(path.clone()),
            _ => None,
        };
        assert_eq!(
            secret_from_env(both, "T").unwrap().unwrap().expose_secret(),
            "direct"
        );
        assert!(secret_from_env(|_| None, "T").unwrap().is_none());
        std::fs::write(&file, "\n").unwrap();
        let e = secret_from_env(get, "T").unwrap_err();
        assert!(e.contains("T_FILE") && e.contains("empty"), "{e}");
        std::fs::remove_file(&file).unwrap();
        let e = secret_from_env(get, "T").unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
