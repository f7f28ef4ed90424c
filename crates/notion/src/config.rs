//! Where the Notion API is, which version to speak and how fast.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use kb_http::{RetryPolicy, SecretString, Url};

use crate::error::NotionError;

/// The env var holding the integration's secret.
pub const ENV_TOKEN: &str = "NOTION_TOKEN";
/// The env var holding the API's base URL (default `https://api.notion.com`).
pub const ENV_URL: &str = "NOTION_URL";
/// The env var holding the `Notion-Version` to pin (default 2025-09-03).
pub const ENV_VERSION: &str = "NOTION_VERSION";
/// Notion's API.
pub const DEFAULT_URL: &str = "https://api.notion.com";

/// The `Notion-Version` sent with every request. Versions differ in shapes (databases and data
/// sources, parents, search filters), so one client speaks one version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NotionVersion {
    /// Multi-source databases: rows are queried through data sources.
    #[default]
    V2025_09_03,
    /// Databases hold their schema and are queried directly.
    V2022_06_28,
}

impl NotionVersion {
    /// `2025-09-03`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotionVersion::V2025_09_03 => "2025-09-03",
            NotionVersion::V2022_06_28 => "2022-06-28",
        }
    }
}

impl fmt::Display for NotionVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NotionVersion {
    type Err = NotionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "2025-09-03" => Ok(NotionVersion::V2025_09_03),
            "2022-06-28" => Ok(NotionVersion::V2022_06_28),
            other => Err(NotionError::Config(format!(
                "Notion-Version {other:?} is not supported: set {ENV_VERSION} to 2025-09-03 (default) or 2022-06-28"
            ))),
        }
    }
}

/// How to reach and pace the Notion API.
#[derive(Clone)]
pub struct NotionConfig {
    /// The API's origin (`https://api.notion.com`); a trailing `/v1` is accepted and dropped.
    pub base_url: Url,
    /// The integration's secret (Bearer). Never logged or shown.
    pub token: SecretString,
    /// The pinned `Notion-Version`.
    pub version: NotionVersion,
    /// Sustained requests per second (default 3: Notion's documented average).
    pub rate: f64,
    /// Requests that may go at once after a quiet period (default 8, under the twin's 10:
    /// Notion allows "some bursts" without a number).
    pub burst: u32,
    /// Requests in flight at most (default 3).
    pub concurrency: usize,
    /// When and how long to retry.
    pub retry: RetryPolicy,
    /// Time allowed for one attempt, body included (default 60 s).
    pub timeout: Option<Duration>,
}

impl fmt::Debug for NotionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotionConfig")
            .field("base_url", &kb_http::redact_url(&self.base_url))
            .field("token", &"<redacted>")
            .field("version", &self.version)
            .field("rate", &self.rate)
            .field("burst", &self.burst)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl NotionConfig {
    /// A configuration with the default version and pacing.
    pub fn new(base_url: Url, token: SecretString) -> NotionConfig {
        NotionConfig {
            base_url,
            token,
            version: NotionVersion::default(),
            rate: 3.0,
            burst: 8,
            concurrency: 3,
            retry: RetryPolicy::default(),
            timeout: Some(Duration::from_secs(60)),
        }
    }

    /// From `NOTION_TOKEN` (required; or `NOTION_TOKEN_FILE`, a file that holds it), `NOTION_URL`
    /// and `NOTION_VERSION`.
    pub fn from_env() -> Result<NotionConfig, NotionError> {
        NotionConfig::from_lookup(|k| std::env::var(k).ok())
    }

    /// As [`NotionConfig::from_env`], reading variables through `get`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<NotionConfig, NotionError> {
        let val = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let token = kb_http::secret_from_env(&get, ENV_TOKEN)
            .map_err(NotionError::Config)?
            .ok_or_else(|| {
                NotionError::Config(format!(
                    "{ENV_TOKEN} is not set: give the internal integration secret from https://www.notion.so/my-integrations (or {ENV_TOKEN}_FILE, the path of a file that holds it; and share the pages with the integration: ••• → Connections)"
                ))
            })?;
        let url = match val(ENV_URL) {
            Some(u) => parse_base_url(&u)?,
            None => parse_base_url(DEFAULT_URL)?,
        };
        let mut cfg = NotionConfig::new(url, token);
        if let Some(v) = val(ENV_VERSION) {
            cfg.version = v.parse()?;
        }
        Ok(cfg)
    }

    /// Checks the pacing settings.
    pub fn validate(&self) -> Result<(), NotionError> {
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return Err(NotionError::Config(format!(
                "rate {} is not a positive number of requests per second",
                self.rate
            )));
        }
        if self.concurrency == 0 {
            return Err(NotionError::Config(
                "concurrency 0: at least one request must be allowed in flight".into(),
            ));
        }
        Ok(())
    }
}

/// `https://api.notion.com`, `…/v1`, `…/v1/`, or a host without scheme (`https://` assumed):
/// the origin the API paths (`/v1/…`) go below.
pub fn parse_base_url(input: &str) -> Result<Url, NotionError> {
    let bad = |why: &str| {
        NotionError::Config(format!(
            "{ENV_URL} {input:?} is not a Notion API URL: {why}; give https://api.notion.com (the default) or the twin's http://127.0.0.1:PORT"
        ))
    };
    let mut url = kb_http::parse_service_url(input, "NOTION_TOKEN").map_err(|why| bad(&why))?;
    let path = url.path().trim_end_matches('/').to_string();
    let path = path.strip_suffix("/v1").unwrap_or(&path).to_string();
    url.set_path(&format!("{path}/"));
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_in_every_spelling() {
        for s in [
            "https://api.notion.com",
            "https://api.notion.com/",
            "https://api.notion.com/v1",
            "https://api.notion.com/v1/",
            "api.notion.com",
        ] {
            assert_eq!(
                parse_base_url(s).unwrap().as_str(),
                "https://api.notion.com/",
                "{s}"
            );
        }
        assert!(
            parse_base_url("ftp://x")
                .unwrap_err()
                .to_string()
                .contains("NOTION_URL")
        );
    }

    #[test]
    fn env_needs_the_token_and_hides_it() {
        let e = NotionConfig::from_lookup(|_| None).unwrap_err().to_string();
        assert!(e.contains("NOTION_TOKEN is not set"), "{e}");
        let c = NotionConfig::from_lookup(|k| match k {
            ENV_TOKEN => Some("secret_ABC123".into()),
            ENV_VERSION => Some("2022-06-28".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.version, NotionVersion::V2022_06_28);
        assert_eq!(c.base_url.as_str(), "https://api.notion.com/");
        assert!(!format!("{c:?}").contains("secret_ABC123"));
        let e = NotionConfig::from_lookup(|k| match k {
            ENV_TOKEN => Some("t".into()),
            ENV_VERSION => Some("2021-08-16".into()),
            _ => None,
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("2021-08-16") && e.contains("2025-09-03"), "{e}");
        assert_eq!(
            "2025-09-03".parse::<NotionVersion>().unwrap().to_string(),
            "2025-09-03"
        );
    }
}
