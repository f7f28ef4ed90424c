//! `kbridge config check`: every problem of a configuration at once, each naming its key,
//! without contacting any service (that is `kbridge check`).

use std::fmt;

use crate::load::ConfigError;
use crate::model::{ConfigFile, Connection, Job};
use crate::resolve::{parse_offset, parse_since};

/// One problem of a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path, e.g. `jobs.nightly.connection`.
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Every problem of `file` (empty: it is usable as far as kbridge can tell offline).
pub fn check(file: &ConfigFile) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut add = |key: String, message: String| out.push(Problem { key, message });
    if let Some(s) = &file.confluence {
        if file.connections.contains_key("confluence") {
            add(
                "confluence".into(),
                "both [confluence] and [connections.confluence] exist: keep one".into(),
            );
        }
        check_url(&mut add, "confluence.url", s.url.as_deref());
        check_rate(&mut add, "confluence.rate", s.rate);
        check_concurrency(&mut add, "confluence.concurrency", s.concurrency);
        check_token(
            &mut add,
            "confluence",
            s.token_env.as_deref(),
            s.token_file.is_some(),
        );
        check_extract(
            &mut add,
            "confluence",
            s.since.as_deref(),
            s.utc_offset.as_deref(),
        );
    }
    if let Some(s) = &file.notion {
        if file.connections.contains_key("notion") {
            add(
                "notion".into(),
                "both [notion] and [connections.notion] exist: keep one".into(),
            );
        }
        check_url(&mut add, "notion.url", s.url.as_deref());
        check_rate(&mut add, "notion.rate", s.rate);
        check_version(&mut add, "notion.version", s.version.as_deref());
        check_token(
            &mut add,
            "notion",
            s.token_env.as_deref(),
            s.token_file.is_some(),
        );
    }
    for (name, c) in &file.connections {
        let k = |f: &str| format!("connections.{name}.{f}");
        match c {
            Connection::ConfluenceCloud(c) => {
                check_url(&mut add, &k("url"), Some(&c.url));
                if !c.email.contains('@') {
                    add(k("email"), "is not an email address".into());
                }
                check_rate(&mut add, &k("rate"), c.rate);
                check_concurrency(&mut add, &k("concurrency"), c.concurrency);
                check_token(
                    &mut add,
                    &format!("connections.{name}"),
                    c.token_env.as_deref(),
                    c.token_file.is_some(),
                );
            }
            Connection::Notion(c) => {
                check_url(&mut add, &k("url"), c.url.as_deref());
                check_rate(&mut add, &k("rate"), c.rate);
                check_version(&mut add, &k("version"), c.version.as_deref());
                check_token(
                    &mut add,
                    &format!("connections.{name}"),
                    c.token_env.as_deref(),
                    c.token_file.is_some(),
                );
            }
        }
    }
    for (name, job) in &file.jobs {
        let k = |f: &str| format!("jobs.{name}.{f}");
        match job {
            Job::Extract(j) => {
                check_ref(
                    &mut add,
                    file,
                    &k("connection"),
                    j.connection.as_deref(),
                    Kind::Confluence,
                );
                check_extract(
                    &mut add,
                    &format!("jobs.{name}"),
                    j.since.as_deref(),
                    j.utc_offset.as_deref(),
                );
            }
            Job::MigrateNotionToConfluence(j) => {
                check_ref(
                    &mut add,
                    file,
                    &k("notion"),
                    j.notion.as_deref(),
                    Kind::Notion,
                );
                check_ref(
                    &mut add,
                    file,
                    &k("confluence"),
                    j.confluence.as_deref(),
                    Kind::Confluence,
                );
                if j.from.iter().all(|f| f.trim().is_empty()) {
                    add(
                        k("from"),
                        "is empty: give the Notion page or database ids to migrate".into(),
                    );
                }
                if j.space.trim().is_empty() {
                    add(k("space"), "is empty: give the Confluence space key".into());
                }
            }
            Job::MigrateConfluenceToNotion(j) => {
                check_ref(
                    &mut add,
                    file,
                    &k("confluence"),
                    j.confluence.as_deref(),
                    Kind::Confluence,
                );
                check_ref(
                    &mut add,
                    file,
                    &k("notion"),
                    j.notion.as_deref(),
                    Kind::Notion,
                );
                if j.space.is_some() == j.page.is_some() {
                    add(
                        format!("jobs.{name}"),
                        "give exactly one of `space` (a whole space) and `page` (a page and its descendants)".into(),
                    );
                }
                if j.to.trim().is_empty() {
                    add(
                        k("to"),
                        "is empty: give the Notion page the tree goes under".into(),
                    );
                }
            }
            Job::Km(j) => {
                check_ref(
                    &mut add,
                    file,
                    &k("connection"),
                    j.connection.as_deref(),
                    Kind::Confluence,
                );
                if let Some(w) = &j.what
                    && !matches!(w.as_str(), "content" | "permissions")
                {
                    add(k("what"), "use content or permissions".into());
                }
            }
            Job::Sync(j) => {
                check_ref(
                    &mut add,
                    file,
                    &k("notion"),
                    j.notion.as_deref(),
                    Kind::Notion,
                );
                check_ref(
                    &mut add,
                    file,
                    &k("confluence"),
                    j.confluence.as_deref(),
                    Kind::Confluence,
                );
                if j.links.iter().any(|l| l.trim().is_empty()) {
                    add(
                        k("links"),
                        "holds an empty name: give link names or leave it out for every link"
                            .into(),
                    );
                }
            }
        }
    }
    if let Some(km) = &file.km {
        if let Err(m) = km.check() {
            add("km".into(), m);
        }
        let mut seen = std::collections::BTreeSet::new();
        for j in &km.jobs {
            if j.name.trim().is_empty() {
                add(
                    "km.jobs".into(),
                    "a job has no name: give each [[km.jobs]] a name".into(),
                );
            } else if file.jobs.contains_key(&j.name) {
                add(
                    format!("km.jobs.{}", j.name),
                    "a [jobs] entry has the same name: rename one (kbridge serve runs both by name)".into(),
                );
            } else if !seen.insert(j.name.as_str()) {
                add(
                    format!("km.jobs.{}", j.name),
                    "two [[km.jobs]] have this name: rename one".into(),
                );
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Confluence,
    Notion,
}

fn check_ref(
    add: &mut impl FnMut(String, String),
    file: &ConfigFile,
    key: &str,
    name: Option<&str>,
    kind: Kind,
) {
    let default = match kind {
        Kind::Confluence => "confluence",
        Kind::Notion => "notion",
    };
    let n = name.unwrap_or(default);
    match (file.connections.get(n), kind) {
        (Some(Connection::ConfluenceCloud(_)), Kind::Confluence)
        | (Some(Connection::Notion(_)), Kind::Notion) => {}
        (Some(_), _) => add(
            key.to_string(),
            format!("the connection {n:?} is not a {default} connection"),
        ),
        // The default sections may be left out: the environment can supply them.
        (None, _) if n == default => {}
        (None, _) => add(
            key.to_string(),
            format!("there is no connection {n:?}: add [connections.{n}] or fix the name"),
        ),
    }
}

fn check_url(add: &mut impl FnMut(String, String), key: &str, url: Option<&str>) {
    let Some(u) = url else { return };
    let with_scheme = if u.contains("://") {
        u.to_string()
    } else {
        format!("https://{u}")
    };
    match url::Url::parse(&with_scheme) {
        Ok(p) if matches!(p.scheme(), "http" | "https") && p.host().is_some() => {
            if !p.username().is_empty() || p.password().is_some() {
                add(
                    key.to_string(),
                    "holds credentials: remove them from the URL (the token comes from the environment)".into(),
                );
            }
        }
        _ => add(
            key.to_string(),
            "is not an http(s) URL: give e.g. https://acme.atlassian.net".into(),
        ),
    }
}

fn check_rate(add: &mut impl FnMut(String, String), key: &str, rate: Option<f64>) {
    if let Some(r) = rate
        && !(r > 0.0 && r.is_finite())
    {
        add(
            key.to_string(),
            format!("{r} is not a rate: give a positive number of requests per second"),
        );
    }
}

fn check_concurrency(add: &mut impl FnMut(String, String), key: &str, n: Option<usize>) {
    if n == Some(0) {
        add(
            key.to_string(),
            "0 requests in flight cannot make progress: give at least 1".into(),
        );
    }
}

fn check_version(add: &mut impl FnMut(String, String), key: &str, v: Option<&str>) {
    if let Some(v) = v
        && !matches!(v, "2025-09-03" | "2022-06-28")
    {
        add(
            key.to_string(),
            format!("{v:?} is not supported: give 2025-09-03 or 2022-06-28"),
        );
    }
}

fn check_token(
    add: &mut impl FnMut(String, String),
    section: &str,
    token_env: Option<&str>,
    has_file: bool,
) {
    if has_file && token_env.is_some() {
        add(
            section.to_string(),
            "both token_env and token_file are set: keep one".into(),
        );
    }
    if let Some(n) = token_env
        && (n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        add(
            format!("{section}.token_env"),
            "is not an environment variable's name (letters, digits and _): it names the variable holding the token, never the token".into(),
        );
    }
}

fn check_extract(
    add: &mut impl FnMut(String, String),
    prefix: &str,
    since: Option<&str>,
    offset: Option<&str>,
) {
    let key = |f: &str| format!("{prefix}.{f}");
    if let Some(s) = since
        && let Err(ConfigError::Invalid { message, .. }) = parse_since(&key("since"), s)
    {
        add(key("since"), message);
    }
    if let Some(o) = offset
        && let Err(ConfigError::Invalid { message, .. }) = parse_offset(&key("utc_offset"), o)
    {
        add(key("utc_offset"), message);
    }
}
