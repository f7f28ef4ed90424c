//! How a failure reaches the user: one block on stderr,
//!
//! ```text
//! error[connection_refused]: check confluence: cannot reach http://127.0.0.1:9/wiki: GET …: connection refused …
//!   hint: check CONFLUENCE_URL: nothing listens at 127.0.0.1:9 (…)
//! ```
//!
//! with a stable code (`docs/errors.md`), the message once (a cause already spelled out by
//! the error that wraps it is not repeated), and one hint. The code and the hint come from the
//! first typed error in the chain that has them (kb-http's, the clients', the engine's, the
//! CLI's own [`UserError`]). Secrets never reach this point: errors carry redacted URLs, and
//! configuration errors name keys, never values.

use std::error::Error as StdError;
use std::fmt;

use kb_http::HttpError;

/// An error of the CLI's own, with its code and hint.
#[derive(Debug)]
pub struct UserError {
    pub code: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

impl UserError {
    pub fn new(code: &'static str, message: impl Into<String>) -> UserError {
        UserError {
            code,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> UserError {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for UserError {}

/// An error as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rendered {
    pub code: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error[{}]: {}", self.code, self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// The HTTP failure a link of the chain holds, looking inside the clients' and the engine's
/// wrappers (`#[error(transparent)]` ones hide it from `source()`).
fn http_of<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a HttpError> {
    if let Some(h) = e.downcast_ref::<HttpError>() {
        return Some(h);
    }
    if let Some(n) = e.downcast_ref::<kb_notion::NotionError>() {
        return n.http();
    }
    if let Some(kb_confluence::ConfluenceError::Http(h)) =
        e.downcast_ref::<kb_confluence::ConfluenceError>()
    {
        return Some(h);
    }
    if let Some(c) = e.downcast_ref::<kb_confluence::CheckError>() {
        return Some(c.http());
    }
    if let Some(m) = e.downcast_ref::<kb_engine::migrate::MigrateError>() {
        use kb_engine::migrate::MigrateError as M;
        return match m {
            M::Http(h) => Some(h),
            M::Notion(n) => n.http(),
            M::Confluence(kb_confluence::ConfluenceError::Http(h)) => Some(h),
            _ => None,
        };
    }
    None
}

/// The code and hint a link of the chain gives, if it is a typed error that has them.
fn code_of(e: &(dyn StdError + 'static)) -> Option<(&'static str, Option<String>)> {
    if let Some(u) = e.downcast_ref::<UserError>() {
        return Some((u.code, u.hint.clone()));
    }
    if let Some(c) = e.downcast_ref::<kb_confluence::CheckError>() {
        use kb_confluence::CheckError as C;
        // These say what to do in their own words already.
        let code = match c {
            C::NotConfluence { .. } => "not_confluence",
            C::Unauthorized { .. } => "unauthorized",
            C::Unlicensed { .. } => "unlicensed",
            C::Unreachable { error, .. } | C::Other { error, .. } => {
                return Some((error.code(), error.hint().map(str::to_string)));
            }
        };
        return Some((code, None));
    }
    if let Some(h) = http_of(e) {
        return Some((h.code(), h.hint().map(str::to_string)));
    }
    if let Some(c) = e.downcast_ref::<kb_config::ConfigError>() {
        return Some((c.code(), c.hint()));
    }
    if let Some(c) = e.downcast_ref::<kb_confluence::ConfigError>() {
        return Some((
            match c {
                kb_confluence::ConfigError::Missing { .. } => "config_missing",
                _ => "config_invalid",
            },
            None,
        ));
    }
    if let Some(n) = e.downcast_ref::<kb_notion::NotionError>() {
        use kb_notion::NotionError as N;
        return Some((
            match n {
                N::Config(_) => "config_invalid",
                N::Decode { .. } => "unexpected_answer",
                N::Download { .. } => "download_failed",
                N::Upload { .. } => "upload_refused",
                _ => "notion_error",
            },
            None,
        ));
    }
    if e.downcast_ref::<kb_store::StoreError>().is_some() {
        return Some(("store_error", None));
    }
    if let Some(m) = e.downcast_ref::<kb_engine::migrate::MigrateError>() {
        use kb_engine::migrate::MigrateError as M;
        return Some((
            match m {
                M::Input(_) => "invalid_input",
                M::File { .. } => "file_failed",
                M::Store(_) => "store_error",
                _ => "migrate_error",
            },
            None,
        ));
    }
    None
}

/// Renders the chain of `e`: the code and hint of its first typed link, each message once.
pub fn render(e: &anyhow::Error) -> Rendered {
    let mut parts: Vec<String> = Vec::new();
    let mut code = None;
    for link in e.chain() {
        if code.is_none() {
            code = code_of(link);
        }
        let text = link.to_string();
        let text = text.trim();
        if text.is_empty() || parts.iter().any(|p| p.contains(text)) {
            // Already said by the error that wraps it.
            continue;
        }
        match parts.last_mut() {
            // A context that the cause repeats in full ("cannot open the store X" over
            // "cannot open the store X: why"): the cause says it once.
            Some(last) if text.contains(last.as_str()) => *last = text.to_string(),
            _ => parts.push(text.to_string()),
        }
    }
    let mut message = parts.join(": ");
    // The PostgreSQL server's error ends with its C source line ("… at line 334"): the
    // message alone is what the user needs.
    message = without_server_line(&message);
    let (code, hint) = code.unwrap_or(("error", None));
    let hint = hint.filter(|h| !h.trim().is_empty());
    if let Some(h) = &hint {
        // The hint is shown on its own line, not also at the end of the message.
        message = message.replace(&format!(": {h}"), "");
    }
    Rendered {
        code,
        message,
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_spelled_out_by_its_wrapper_is_not_repeated() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "reading spaces: {}", self.0)
            }
        }
        impl StdError for Outer {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let inner = std::io::Error::other("disk on fire");
        let e = anyhow::Error::new(Outer(inner)).context("extract confluence");
        let r = render(&e);
        assert_eq!(
            r.message,
            "extract confluence: reading spaces: disk on fire"
        );
        assert_eq!(r.message.matches("disk on fire").count(), 1);
        assert_eq!(r.code, "error");
    }

    #[test]
    fn a_user_error_gives_its_code_and_hint_once() {
        let e = anyhow::Error::new(
            UserError::new("config_invalid", "kbridge.toml line 3: bad").hint("fix it"),
        )
        .context("extract");
        let r = render(&e);
        assert_eq!(r.code, "config_invalid");
        assert_eq!(r.hint.as_deref(), Some("fix it"));
        assert_eq!(
            r.to_string(),
            "error[config_invalid]: extract: kbridge.toml line 3: bad\n  hint: fix it"
        );
    }
}

/// Drops the " at line N" sqlx appends to a PostgreSQL server error (the server's C source
/// line) when the error reaches here as text only.
fn without_server_line(message: &str) -> String {
    const DB: &str = "error returned from database: ";
    let Some(start) = message.find(DB).map(|i| i + DB.len()) else {
        return message.to_string();
    };
    let rest = &message[start..];
    let end = rest.find("; ").unwrap_or(rest.len());
    let Some(at) = rest[..end].rfind(" at line ") else {
        return message.to_string();
    };
    let digits = &rest[at + " at line ".len()..end];
    let n = digits.chars().take_while(char::is_ascii_digit).count();
    if n == 0 || n != digits.trim_end_matches([':', ')']).len() {
        return message.to_string();
    }
    format!(
        "{}{}",
        &message[..start + at],
        &rest[at + " at line ".len() + n..]
    )
}

#[cfg(test)]
mod server_line_tests {
    #[test]
    fn the_postgres_source_line_is_dropped_and_nothing_else() {
        let m = "cannot open the store postgres://h/x: error returned from database: password authentication failed for user \"u\" at line 334; check the URL";
        assert_eq!(
            super::without_server_line(m),
            "cannot open the store postgres://h/x: error returned from database: password authentication failed for user \"u\"; check the URL"
        );
        let kept = "kbridge.toml line 3: expected a value at line 3 of the table";
        assert_eq!(super::without_server_line(kept), kept);
    }
}
