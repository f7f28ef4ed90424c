//! The web UI (server-rendered). Sessions: a login form posts the admin token; a session
//! cookie (random, HttpOnly, SameSite=Strict) and a CSRF token per session follow.

use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header;

use crate::Shared;
use crate::api::RouteDef;

/// A logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub csrf: String,
    pub expires_at: i64,
}

#[allow(dead_code)]
pub(crate) const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// The UI's routes.
pub fn routes() -> Vec<RouteDef> {
    Vec::new()
}

/// The session of the request's cookie, if valid at `now`.
pub(crate) fn session_of(sh: &Shared, headers: &HeaderMap, now: i64) -> Option<Session> {
    let id = cookie(headers, "kb_session")?;
    let s = sh.auth.sessions.lock().unwrap_or_else(|e| e.into_inner());
    s.get(&id).filter(|s| s.expires_at > now).cloned()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

pub(crate) fn login_page(error: Option<&str>) -> String {
    let e = error
        .map(|e| format!("<p class=\"error\">{e}</p>"))
        .unwrap_or_default();
    format!(
        "<!doctype html><html><head><title>kbridge — log in</title></head><body><h1>kbridge</h1>{e}<form method=\"post\" action=\"/login\"><label>Admin token <input type=\"password\" name=\"token\"></label><button>Log in</button></form></body></html>"
    )
}
