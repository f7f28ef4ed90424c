//! Where the site is and how to talk to it.

use std::fmt;
use std::time::Duration;

use kb_http::{RetryPolicy, SecretString, Url};

/// The env var holding the site URL.
pub const ENV_URL: &str = "CONFLUENCE_URL";
/// The env var holding the account's email.
pub const ENV_EMAIL: &str = "CONFLUENCE_EMAIL";
/// The env var holding the API token.
pub const ENV_TOKEN: &str = "CONFLUENCE_API_TOKEN";

/// Where Confluence Cloud serves attachment bytes: a download on the site redirects there with
/// a short-lived token in the URL, so it is fetched without the site's credentials.
pub const MEDIA_ORIGINS: &[&str] = &["https://api.media.atlassian.com"];

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required setting is missing.
    #[error("{var} is not set: {what}")]
    Missing {
        var: &'static str,
        what: &'static str,
    },
    /// The site URL cannot be a Confluence site.
    #[error(
        "{url:?} is not a Confluence site URL: {why}; give https://<site>.atlassian.net (with or without /wiki)"
    )]
    BadUrl { url: String, why: String },
    /// A pacing setting is out of range.
    #[error("invalid setting {name}: {why}")]
    Invalid { name: &'static str, why: String },
}

/// A site's URLs: the origin (`https://x.atlassian.net`) and the Confluence base
/// (`https://x.atlassian.net/wiki/`). `next` links resolve against the origin, API paths
/// against the base — never one glued onto the other (the `/wiki/wiki` trap).
#[derive(Clone, PartialEq, Eq)]
pub struct SiteUrl {
    origin: Url,
    wiki: Url,
}

impl SiteUrl {
    /// Accepts `https://x.atlassian.net`, `…/wiki`, trailing slashes, and a page URL copied
    /// from the browser (`…/wiki/spaces/ENG/pages/1`: everything after `/wiki` is dropped).
    /// Without a scheme, `https://` is assumed.
    pub fn parse(input: &str) -> Result<SiteUrl, ConfigError> {
        let bad = |why: &str| ConfigError::BadUrl {
            url: without_userinfo(input),
            why: why.to_string(),
        };
        let url = kb_http::parse_service_url(input, "CONFLUENCE_EMAIL and CONFLUENCE_API_TOKEN")
            .map_err(|why| bad(&why))?;
        let segments: Vec<String> = url
            .path_segments()
            .map(|s| s.filter(|x| !x.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        let context: Vec<String> = match segments.iter().position(|s| s == "wiki") {
            Some(i) => segments[..=i].to_vec(),
            None if segments.is_empty() => vec!["wiki".to_string()],
            None => {
                return Err(bad(&format!(
                    "its path /{} has no /wiki",
                    segments.join("/")
                )));
            }
        };
        let mut origin = url.clone();
        origin.set_path("/");
        let mut wiki = url;
        wiki.set_path(&format!("/{}/", context.join("/")));
        Ok(SiteUrl { origin, wiki })
    }

    /// `https://x.atlassian.net/`
    pub fn origin(&self) -> &Url {
        &self.origin
    }

    /// `https://x.atlassian.net/wiki/`
    pub fn wiki(&self) -> &Url {
        &self.wiki
    }

    /// `https://x.atlassian.net/wiki` (no trailing slash), as users write it.
    pub fn display(&self) -> String {
        self.wiki.as_str().trim_end_matches('/').to_string()
    }
}

/// The input as typed, minus any `user:password@` (it goes into error messages).
fn without_userinfo(input: &str) -> String {
    match (input.find("://"), input.find('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://{}", &input[..scheme_end], &input[at + 1..])
        }
        (None, Some(at)) if !input[..at].contains('/') => input[at + 1..].to_string(),
        _ => input.to_string(),
    }
}

impl fmt::Debug for SiteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SiteUrl({})", self.display())
    }
}

impl fmt::Display for SiteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// How to reach and pace one Confluence Cloud site.
#[derive(Clone)]
pub struct ConfluenceConfig {
    /// The site.
    pub site: SiteUrl,
    /// The Atlassian account's email (Basic auth user).
    pub email: String,
    /// The API token (Basic auth password). Never logged or shown.
    pub token: SecretString,
    /// With adaptive pacing (the default): the ceiling of each endpoint class's rate, which is
    /// learned from the server's answers. With fixed pacing: sustained requests per second for
    /// the whole site. Default 10 (conservative for API tokens, whose burst limit is far
    /// higher): the CLI raises it when `--rate` is not given.
    pub rate: f64,
    /// Pace each endpoint class by what the server says (`Retry-After`, `X-RateLimit-*`),
    /// up to `rate` (default); `false`: one fixed bucket of `rate` for the whole site.
    pub adaptive: bool,
    /// Requests that may go at once after a quiet period (default 10).
    pub burst: u32,
    /// Requests in flight at most (default 4).
    pub concurrency: usize,
    /// Time allowed for one attempt, body included (default 60 s).
    pub timeout: Option<Duration>,
    /// When and how long to retry.
    pub retry: RetryPolicy,
    /// Origins a download may lead to, fetched without the credentials (default
    /// [`MEDIA_ORIGINS`]); any other origin than the site's is refused.
    pub media_origins: Vec<Url>,
}

impl fmt::Debug for ConfluenceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfluenceConfig")
            .field("site", &self.site)
            .field("email", &self.email)
            .field("token", &"<redacted>")
            .field("rate", &self.rate)
            .field("adaptive", &self.adaptive)
            .field("burst", &self.burst)
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ConfluenceConfig {
    /// A configuration with the default pacing.
    pub fn new(
        site: &str,
        email: impl Into<String>,
        token: SecretString,
    ) -> Result<ConfluenceConfig, ConfigError> {
        let email = email.into();
        if email.trim().is_empty() {
            return Err(ConfigError::Missing {
                var: ENV_EMAIL,
                what: "the email of the Atlassian account the API token belongs to",
            });
        }
        Ok(ConfluenceConfig {
            site: SiteUrl::parse(site)?,
            email: email.trim().to_string(),
            token,
            rate: 10.0,
            adaptive: true,
            burst: 10,
            concurrency: 4,
            timeout: Some(Duration::from_secs(60)),
            retry: RetryPolicy::default(),
            media_origins: MEDIA_ORIGINS
                .iter()
                .filter_map(|o| Url::parse(o).ok())
                .collect(),
        })
    }

    /// From `CONFLUENCE_URL`, `CONFLUENCE_EMAIL` and `CONFLUENCE_API_TOKEN` (or
    /// `CONFLUENCE_API_TOKEN_FILE`, the path of a file that holds it).
    pub fn from_env() -> Result<ConfluenceConfig, ConfigError> {
        ConfluenceConfig::from_lookup(|k| std::env::var(k).ok())
    }

    /// As [`ConfluenceConfig::from_env`], reading variables through `get` (for tests and for
    /// layering a config file under the environment).
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<ConfluenceConfig, ConfigError> {
        let need = |var: &'static str, what: &'static str| {
            get(var)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing { var, what })
        };
        let url = need(ENV_URL, "the site URL, e.g. https://<site>.atlassian.net")?;
        let email = need(
            ENV_EMAIL,
            "the email of the Atlassian account the API token belongs to",
        )?;
        let token = kb_http::secret_from_env(&get, ENV_TOKEN)
            .map_err(|why| ConfigError::Invalid {
                name: ENV_TOKEN,
                why,
            })?
            .ok_or(ConfigError::Missing {
                var: ENV_TOKEN,
                what: "an API token from https://id.atlassian.com/manage-profile/security/api-tokens (or CONFLUENCE_API_TOKEN_FILE, the path of a file that holds it)",
            })?;
        ConfluenceConfig::new(&url, email, token)
    }

    /// Checks the pacing settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return Err(ConfigError::Invalid {
                name: "rate",
                why: format!(
                    "{} is not a positive number of requests per second",
                    self.rate
                ),
            });
        }
        if self.concurrency == 0 {
            return Err(ConfigError::Invalid {
                name: "concurrency",
                why: "at least one request must be allowed in flight".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_urls_in_every_spelling() {
        for s in [
            "https://acme.atlassian.net",
            "https://acme.atlassian.net/",
            "https://acme.atlassian.net/wiki",
            "https://acme.atlassian.net/wiki/",
            "https://acme.atlassian.net/wiki//",
            "acme.atlassian.net",
            "https://acme.atlassian.net/wiki/spaces/ENG/pages/123/Title?x=1#frag",
        ] {
            let u = SiteUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(u.wiki().as_str(), "https://acme.atlassian.net/wiki/", "{s}");
            assert_eq!(u.origin().as_str(), "https://acme.atlassian.net/", "{s}");
            assert_eq!(u.display(), "https://acme.atlassian.net/wiki");
        }
        let local = SiteUrl::parse("http://127.0.0.1:8089/wiki").unwrap();
        assert_eq!(local.wiki().as_str(), "http://127.0.0.1:8089/wiki/");
    }

    #[test]
    fn bad_site_urls_say_why() {
        for (s, why) in [
            ("", "empty"),
            ("ftp://acme.atlassian.net", "http"),
            ("https://acme.atlassian.net/jira", "/wiki"),
            ("https://me:pw@acme.atlassian.net", "CONFLUENCE_API_TOKEN"),
        ] {
            let e = SiteUrl::parse(s).unwrap_err().to_string();
            assert!(e.contains(why), "{s}: {e}");
            assert!(e.contains("atlassian.net (with or without /wiki)"), "{e}");
            assert!(!e.contains("pw"), "{e}");
        }
    }

    #[test]
    fn env_lookup_names_the_missing_variable() {
        let e = ConfluenceConfig::from_lookup(|k| {
            (k == ENV_URL).then(|| "https://acme.atlassian.net".to_string())
        })
        .unwrap_err();
        assert!(e.to_string().contains(ENV_EMAIL), "{e}");
        let e = ConfluenceConfig::from_lookup(|k| match k {
            ENV_URL => Some("https://acme.atlassian.net".into()),
            ENV_EMAIL => Some("me@acme.test".into()),
            _ => None,
        })
        .unwrap_err();
        assert!(e.to_string().contains(ENV_TOKEN), "{e}");
        let c = ConfluenceConfig::from_lookup(|k| match k {
            ENV_URL => Some("acme.atlassian.net/wiki/".into()),
            ENV_EMAIL => Some("me@acme.test".into()),
            _ => Some("tok-SECRET-123".into()),
        })
        .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("tok-SECRET-123"), "{dbg}");
        assert!(dbg.contains("acme.atlassian.net/wiki"), "{dbg}");
    }
}
