//! One place for precedence and defaults: a flag beats the environment, which beats
//! `kbridge.toml`, which beats the default. Every resolved value remembers where it came from
//! (so `kbridge config check` can say, and errors name the right place), and every check of a
//! value (a positive rate, a date, an offset) is made here once for every command.

use std::fmt;
use std::path::PathBuf;

use secrecy::SecretString;

use crate::load::ConfigError;
use crate::model::{ConfigFile, Connection, ExtractJob};

/// The defaults, in one place.
pub mod defaults {
    /// The store when none is given: a SQLite file in the current folder.
    pub const STORE: &str = "kbridge.db";
    /// Confluence requests per second at most: none by default (`None`). The client's
    /// adaptive pacing learns each endpoint's limit from the server's answers; a rate
    /// (`--rate`, `confluence.rate`) is only a ceiling.
    pub const CONFLUENCE_RATE: Option<f64> = None;
    /// Confluence requests in flight.
    pub const CONFLUENCE_CONCURRENCY: usize = 4;
    /// The environment variable of the Confluence Cloud API token.
    pub const CONFLUENCE_TOKEN_ENV: &str = "CONFLUENCE_API_TOKEN";
    /// Notion requests per second (Notion's documented average).
    pub const NOTION_RATE: f64 = 3.0;
    /// The environment variable of the Notion integration token.
    pub const NOTION_TOKEN_ENV: &str = "NOTION_TOKEN";
    /// How far back extract fetches version histories and details by default, in days.
    pub const SINCE_DAYS: i64 = 365;
}

/// Environment variables kbridge reads (besides the tokens, whose names can be configured).
pub mod env {
    /// The store URL.
    pub const STORE: &str = "KBRIDGE_STORE";
    /// The Confluence site.
    pub const CONFLUENCE_URL: &str = "CONFLUENCE_URL";
    /// The Confluence account's email.
    pub const CONFLUENCE_EMAIL: &str = "CONFLUENCE_EMAIL";
    /// The Notion API's base URL.
    pub const NOTION_URL: &str = "NOTION_URL";
    /// The Notion-Version.
    pub const NOTION_VERSION: &str = "NOTION_VERSION";
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag (its name, e.g. `--rate`).
    Flag(&'static str),
    /// An environment variable (its name).
    Env(String),
    /// `kbridge.toml` (the key path, e.g. `confluence.rate`).
    File(String),
    /// kbridge's default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(n) => write!(f, "{n}"),
            Source::Env(n) => write!(f, "${n}"),
            Source::File(k) => write!(f, "kbridge.toml {k}"),
            Source::Default => write!(f, "default"),
        }
    }
}

/// A resolved value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting<T> {
    /// The value.
    pub value: T,
    /// Its source.
    pub source: Source,
}

/// The first of flag, environment, file; else the default.
pub fn pick_or<T>(
    flag: Option<(T, &'static str)>,
    env: Option<(T, &str)>,
    file: Option<(T, String)>,
    default: T,
) -> Setting<T> {
    pick(flag, env, file, None).unwrap_or(Setting {
        value: default,
        source: Source::Default,
    })
}

/// The first of flag, environment, file, default (`None` when none is there).
pub fn pick<T>(
    flag: Option<(T, &'static str)>,
    env: Option<(T, &str)>,
    file: Option<(T, String)>,
    default: Option<T>,
) -> Option<Setting<T>> {
    if let Some((value, n)) = flag {
        return Some(Setting {
            value,
            source: Source::Flag(n),
        });
    }
    if let Some((value, n)) = env {
        return Some(Setting {
            value,
            source: Source::Env(n.to_string()),
        });
    }
    if let Some((value, k)) = file {
        return Some(Setting {
            value,
            source: Source::File(k),
        });
    }
    default.map(|value| Setting {
        value,
        source: Source::Default,
    })
}

/// Reads environment variables; an empty or blank value counts as unset.
pub struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl<'a> Env<'a> {
    /// Wraps a lookup (`&|k| std::env::var(k).ok()` in the binary, a map in tests).
    pub fn new(get: &'a dyn Fn(&str) -> Option<String>) -> Env<'a> {
        Env(get)
    }

    /// The variable's value, when set and not blank.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    fn pair<'n>(&self, name: &'n str) -> Option<(String, &'n str)> {
        self.get(name).map(|v| (v, name))
    }
}

/// Where a secret is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// The first line of a file.
    File(PathBuf),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(n) => write!(f, "${n}"),
            SecretSource::File(p) => write!(f, "the file {}", p.display()),
        }
    }
}

impl SecretSource {
    fn of(token_env: Option<&String>, token_file: Option<&PathBuf>, default_env: &str) -> Self {
        match (token_file, token_env) {
            (Some(p), _) => SecretSource::File(p.clone()),
            (None, Some(n)) => SecretSource::Env(n.clone()),
            (None, None) => SecretSource::Env(default_env.to_string()),
        }
    }

    /// Reads the secret. Its value never appears in an error.
    pub fn read(&self, env: &Env<'_>, what: &str, how: &str) -> Result<SecretString, ConfigError> {
        match self {
            SecretSource::Env(n) => match (env.get(n), env.get(&format!("{n}_FILE"))) {
                (Some(v), _) => Ok(SecretString::from(v.trim().to_string())),
                // `NAME_FILE`: a file holding the secret (mounted secrets, Docker style).
                (None, Some(path)) => SecretSource::File(PathBuf::from(path)).read(env, what, how),
                (None, None) => Err(ConfigError::Missing {
                    what: n.clone(),
                    hint: format!(
                        "export {n} with {what} ({how}), or {n}_FILE naming a file that holds it"
                    ),
                }),
            },
            SecretSource::File(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Invalid {
                    key: "token_file".into(),
                    message: format!("cannot read {}: {e}", p.display()),
                })?;
                let line = text.lines().next().unwrap_or("").trim().to_string();
                if line.is_empty() {
                    return Err(ConfigError::Invalid {
                        key: "token_file".into(),
                        message: format!("{} is empty: put {what} on its first line", p.display()),
                    });
                }
                Ok(SecretString::from(line))
            }
        }
    }
}

/// The store URL: `--store`, `$KBRIDGE_STORE`, `[store] url`, `kbridge.db`.
pub fn store(file: &ConfigFile, flag: Option<String>, env: &Env<'_>) -> Setting<String> {
    pick_or(
        flag.map(|v| (v, "--store")),
        env.pair(env::STORE),
        file.store
            .as_ref()
            .and_then(|s| s.url.clone())
            .map(|v| (v, "store.url".to_string())),
        defaults::STORE.to_string(),
    )
}

/// Command-line overrides of a Confluence connection, with the flags' names in this command.
#[derive(Debug, Clone, Default)]
pub struct ConfluenceFlags {
    /// The site (`--url` or `--confluence-url`).
    pub url: Option<(String, &'static str)>,
    /// The email (`--email`).
    pub email: Option<(String, &'static str)>,
    /// The rate (`--rate` or `--confluence-rate`).
    pub rate: Option<(f64, &'static str)>,
    /// The concurrency (`--concurrency`).
    pub concurrency: Option<(usize, &'static str)>,
}

/// A Confluence Cloud connection, resolved.
#[derive(Debug, Clone)]
pub struct ConfluenceSettings {
    /// The connection's name (`confluence` for the `[confluence]` section).
    pub name: String,
    /// The site as given (the client parses it).
    pub url: Setting<String>,
    /// The account's email.
    pub email: Setting<String>,
    /// Where the API token is read from.
    pub token: SecretSource,
    /// Requests per second, at most (`None`: no ceiling, the pacing learns from the server).
    pub rate: Option<Setting<f64>>,
    /// Requests in flight at most.
    pub concurrency: Setting<usize>,
}

impl ConfluenceSettings {
    /// Reads the API token.
    pub fn token(&self, env: &Env<'_>) -> Result<SecretString, ConfigError> {
        self.token.read(
            env,
            "the API token",
            "https://id.atlassian.com/manage-profile/security/api-tokens",
        )
    }
}

/// The Confluence connection `name` (`None`: the `[confluence]` section), with flags and
/// environment applied. The environment's `CONFLUENCE_URL`/`CONFLUENCE_EMAIL` apply only to the
/// default connection.
pub fn confluence(
    file: &ConfigFile,
    name: Option<&str>,
    flags: &ConfluenceFlags,
    env: &Env<'_>,
) -> Result<ConfluenceSettings, ConfigError> {
    struct Base {
        url: Option<(String, String)>,
        email: Option<(String, String)>,
        token: SecretSource,
        rate: Option<(f64, String)>,
        concurrency: Option<(usize, String)>,
        default_conn: bool,
    }
    let base = match name {
        None | Some("confluence") if !file.connections.contains_key("confluence") => {
            let s = file.confluence.clone().unwrap_or_default();
            let k = |f: &str| format!("confluence.{f}");
            Base {
                url: s.url.map(|v| (v, k("url"))),
                email: s.email.map(|v| (v, k("email"))),
                token: SecretSource::of(
                    s.token_env.as_ref(),
                    s.token_file.as_ref(),
                    defaults::CONFLUENCE_TOKEN_ENV,
                ),
                rate: s.rate.map(|v| (v, k("rate"))),
                concurrency: s.concurrency.map(|v| (v, k("concurrency"))),
                default_conn: true,
            }
        }
        other => {
            let n = other.unwrap_or("confluence");
            let k = |f: &str| format!("connections.{n}.{f}");
            match file.connections.get(n) {
                Some(Connection::ConfluenceCloud(c)) => Base {
                    url: Some((c.url.clone(), k("url"))),
                    email: Some((c.email.clone(), k("email"))),
                    token: SecretSource::of(
                        c.token_env.as_ref(),
                        c.token_file.as_ref(),
                        defaults::CONFLUENCE_TOKEN_ENV,
                    ),
                    rate: c.rate.map(|v| (v, k("rate"))),
                    concurrency: c.concurrency.map(|v| (v, k("concurrency"))),
                    default_conn: false,
                },
                Some(_) => {
                    return Err(ConfigError::Invalid {
                        key: format!("connections.{n}"),
                        message: "is not a Confluence connection: give one with kind = \"confluence_cloud\"".into(),
                    });
                }
                None => {
                    return Err(ConfigError::Missing {
                        what: format!("the connection {n:?}"),
                        hint: format!(
                            "add [connections.{n}] with kind = \"confluence_cloud\", url and email to kbridge.toml"
                        ),
                    });
                }
            }
        }
    };
    let envp = |n: &'static str| if base.default_conn { env.pair(n) } else { None };
    let url = pick(flags.url.clone(), envp(env::CONFLUENCE_URL), base.url, None).ok_or_else(|| {
        ConfigError::Missing {
            what: env::CONFLUENCE_URL.into(),
            hint: "give the site, e.g. https://<site>.atlassian.net (flag --url, or [confluence] url in kbridge.toml)".into(),
        }
    })?;
    let email = pick(flags.email.clone(), envp(env::CONFLUENCE_EMAIL), base.email, None)
        .ok_or_else(|| ConfigError::Missing {
            what: env::CONFLUENCE_EMAIL.into(),
            hint: "give the Atlassian account's email (flag --email, or [confluence] email in kbridge.toml)".into(),
        })?;
    let rate = pick(flags.rate, None, base.rate, defaults::CONFLUENCE_RATE);
    if let Some(r) = &rate {
        check_rate(r)?;
    }
    let concurrency = pick_or(
        flags.concurrency,
        None,
        base.concurrency,
        defaults::CONFLUENCE_CONCURRENCY,
    );
    check_concurrency(&concurrency)?;
    Ok(ConfluenceSettings {
        name: name.unwrap_or("confluence").to_string(),
        url,
        email,
        token: base.token,
        rate,
        concurrency,
    })
}

/// Command-line overrides of a Notion connection.
#[derive(Debug, Clone, Default)]
pub struct NotionFlags {
    /// `--notion-url`
    pub url: Option<(String, &'static str)>,
    /// `--notion-version`
    pub version: Option<(String, &'static str)>,
    /// `--notion-rate`
    pub rate: Option<(f64, &'static str)>,
}

/// A Notion connection, resolved. `url` and `version` are `None` for the client's defaults.
#[derive(Debug, Clone)]
pub struct NotionSettings {
    /// The connection's name.
    pub name: String,
    /// The API's base URL, when not the default.
    pub url: Option<Setting<String>>,
    /// The Notion-Version, when not the default.
    pub version: Option<Setting<String>>,
    /// Where the token is read from.
    pub token: SecretSource,
    /// Requests per second, at most.
    pub rate: Setting<f64>,
}

impl NotionSettings {
    /// Reads the integration token.
    pub fn token(&self, env: &Env<'_>) -> Result<SecretString, ConfigError> {
        self.token.read(
            env,
            "the internal integration secret",
            "https://www.notion.so/my-integrations; share the pages with the integration",
        )
    }
}

/// The Notion connection `name` (`None`: the `[notion]` section).
pub fn notion(
    file: &ConfigFile,
    name: Option<&str>,
    flags: &NotionFlags,
    env: &Env<'_>,
) -> Result<NotionSettings, ConfigError> {
    let (url, version, token, rate, default_conn) = match name {
        None | Some("notion") if !file.connections.contains_key("notion") => {
            let s = file.notion.clone().unwrap_or_default();
            (
                s.url.map(|v| (v, "notion.url".to_string())),
                s.version.map(|v| (v, "notion.version".to_string())),
                SecretSource::of(
                    s.token_env.as_ref(),
                    s.token_file.as_ref(),
                    defaults::NOTION_TOKEN_ENV,
                ),
                s.rate.map(|v| (v, "notion.rate".to_string())),
                true,
            )
        }
        other => {
            let n = other.unwrap_or("notion");
            let k = |f: &str| format!("connections.{n}.{f}");
            match file.connections.get(n) {
                Some(Connection::Notion(c)) => (
                    c.url.clone().map(|v| (v, k("url"))),
                    c.version.clone().map(|v| (v, k("version"))),
                    SecretSource::of(
                        c.token_env.as_ref(),
                        c.token_file.as_ref(),
                        defaults::NOTION_TOKEN_ENV,
                    ),
                    c.rate.map(|v| (v, k("rate"))),
                    false,
                ),
                Some(_) => {
                    return Err(ConfigError::Invalid {
                        key: format!("connections.{n}"),
                        message: "is not a Notion connection: give one with kind = \"notion\""
                            .into(),
                    });
                }
                None => {
                    return Err(ConfigError::Missing {
                        what: format!("the connection {n:?}"),
                        hint: format!(
                            "add [connections.{n}] with kind = \"notion\" to kbridge.toml"
                        ),
                    });
                }
            }
        }
    };
    let envp = |n: &'static str| if default_conn { env.pair(n) } else { None };
    let rate = pick_or(flags.rate, None, rate, defaults::NOTION_RATE);
    check_rate(&rate)?;
    Ok(NotionSettings {
        name: name.unwrap_or("notion").to_string(),
        url: pick(flags.url.clone(), envp(env::NOTION_URL), url, None),
        version: pick(
            flags.version.clone(),
            envp(env::NOTION_VERSION),
            version,
            None,
        ),
        token,
        rate,
    })
}

/// Command-line overrides of an extraction.
#[derive(Debug, Clone, Default)]
pub struct ExtractFlags {
    /// `--spaces` (empty: not given).
    pub spaces: Vec<String>,
    /// `--endpoints` (empty: not given).
    pub endpoints: Vec<String>,
    /// `--since`
    pub since: Option<String>,
    /// `--custom-content-types` (empty: not given).
    pub custom_content_types: Vec<String>,
    /// `--utc-offset`
    pub utc_offset: Option<String>,
    /// `--files`
    pub files: Option<PathBuf>,
    /// `--reconcile`
    pub reconcile: bool,
}

/// What an extraction reads, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractSettings {
    /// Space keys (empty: every readable space).
    pub spaces: Vec<String>,
    /// Tables (empty: all).
    pub endpoints: Vec<String>,
    /// The lower bound of version histories and details (`None`: no bound).
    pub since: Option<jiff::Timestamp>,
    /// Custom content types.
    pub custom_content_types: Vec<String>,
    /// The account's UTC offset, in minutes.
    pub utc_offset_minutes: i32,
    /// Where attachment files go, when downloaded.
    pub files: Option<PathBuf>,
    /// Whether to sweep ids and re-read space metadata.
    pub reconcile: bool,
}

/// The extraction's settings: flags over the `[confluence]` section (or the job `job`), and the
/// defaults; `now` is the run's clock (the default `since` is one year before it).
pub fn extract(
    file: &ConfigFile,
    job: Option<&ExtractJob>,
    flags: &ExtractFlags,
    now: jiff::Timestamp,
) -> Result<ExtractSettings, ConfigError> {
    let from_section;
    let (j, prefix) = match job {
        Some(j) => (j, "job"),
        None => {
            let s = file.confluence.clone().unwrap_or_default();
            from_section = ExtractJob {
                connection: None,
                spaces: s.spaces,
                endpoints: s.endpoints,
                since: s.since,
                custom_content_types: s.custom_content_types,
                utc_offset: s.utc_offset,
                files: s.files,
                reconcile: false,
            };
            (&from_section, "confluence")
        }
    };
    let list = |flag: &Vec<String>, filev: &Vec<String>| -> Vec<String> {
        let v = if flag.is_empty() { filev } else { flag };
        v.iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let since_key = if flags.since.is_some() {
        "--since".to_string()
    } else {
        format!("kbridge.toml {prefix}.since")
    };
    let since = match flags.since.as_deref().or(j.since.as_deref()) {
        Some(s) => parse_since(&since_key, s)?,
        None => Some(
            now.checked_sub(jiff::SignedDuration::from_hours(defaults::SINCE_DAYS * 24))
                .unwrap_or(jiff::Timestamp::MIN),
        ),
    };
    let offset_key = if flags.utc_offset.is_some() {
        "--utc-offset".to_string()
    } else {
        format!("kbridge.toml {prefix}.utc_offset")
    };
    let utc_offset_minutes = match flags.utc_offset.as_deref().or(j.utc_offset.as_deref()) {
        Some(o) => parse_offset(&offset_key, o)?,
        None => 0,
    };
    Ok(ExtractSettings {
        spaces: list(&flags.spaces, &j.spaces),
        endpoints: list(&flags.endpoints, &j.endpoints),
        since,
        custom_content_types: list(&flags.custom_content_types, &j.custom_content_types),
        utc_offset_minutes,
        files: flags.files.clone().or(j.files.clone()),
        reconcile: flags.reconcile || j.reconcile,
    })
}

fn check_rate(r: &Setting<f64>) -> Result<(), ConfigError> {
    if r.value > 0.0 && r.value.is_finite() {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            key: r.source.to_string(),
            message: format!(
                "{} is not a rate: give a positive number of requests per second",
                r.value
            ),
        })
    }
}

fn check_concurrency(n: &Setting<usize>) -> Result<(), ConfigError> {
    if n.value >= 1 {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            key: n.source.to_string(),
            message: "0 requests in flight cannot make progress: give at least 1".into(),
        })
    }
}

/// `YYYY-MM-DD` (midnight UTC) or `all` (`None`).
pub fn parse_since(key: &str, s: &str) -> Result<Option<jiff::Timestamp>, ConfigError> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    let bad = || ConfigError::Invalid {
        key: key.to_string(),
        message: format!("{s:?} is not a date: use YYYY-MM-DD (e.g. 2026-01-31) or `all`"),
    };
    if s.len() != 10 {
        return Err(bad());
    }
    let date: jiff::civil::Date = s.parse().map_err(|_| bad())?;
    let ts = date
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|_| bad())?
        .timestamp();
    Ok(Some(ts))
}

/// `+HH:MM` or `-HH:MM` → minutes east of UTC.
pub fn parse_offset(key: &str, s: &str) -> Result<i32, ConfigError> {
    let bad = || ConfigError::Invalid {
        key: key.to_string(),
        message: format!("{s:?} is not a UTC offset: use +HH:MM or -HH:MM (e.g. +02:00)"),
    };
    let b = s.trim().as_bytes();
    if b.len() != 6 || b[3] != b':' || !(b[0] == b'+' || b[0] == b'-') {
        return Err(bad());
    }
    let digits = |x: &[u8]| -> Option<i32> {
        x.iter().try_fold(0i32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + i32::from(c - b'0'))
        })
    };
    let (h, m) = (
        digits(&b[1..3]).ok_or_else(bad)?,
        digits(&b[4..6]).ok_or_else(bad)?,
    );
    if h > 14 || m > 59 || (h == 14 && m > 0) {
        return Err(bad());
    }
    let minutes = h * 60 + m;
    Ok(if b[0] == b'-' { -minutes } else { minutes })
}
