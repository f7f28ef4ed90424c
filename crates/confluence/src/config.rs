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
/// The env var holding a Data Center personal access token (sent as `Bearer`, 7.9+).
pub const ENV_PAT: &str = "CONFLUENCE_PAT";
/// The env vars of Data Center Basic auth (username and password).
pub const ENV_USERNAME: &str = "CONFLUENCE_USERNAME";
pub const ENV_PASSWORD: &str = "CONFLUENCE_PASSWORD";
/// The env var naming the flavour (`cloud` or `dc`); without it, a PAT or a username means
/// Data Center.
pub const ENV_FLAVOUR: &str = "CONFLUENCE_FLAVOR";

/// Which Confluence a site is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Flavour {
    /// Confluence Cloud (`https://<site>.atlassian.net/wiki`, REST v2 + v1, email + API token).
    #[default]
    Cloud,
    /// Confluence Server / Data Center 7.x–9.x (`https://host[/context]`, REST v1 with offsets,
    /// a personal access token or username + password).
    DataCenter,
}

impl Flavour {
    /// `cloud` or `dc` (as stored and shown).
    pub fn as_str(self) -> &'static str {
        match self {
            Flavour::Cloud => "cloud",
            Flavour::DataCenter => "dc",
        }
    }

    /// `cloud`, `dc`, `datacenter`, `data_center`, `server`.
    pub fn parse(s: &str) -> Option<Flavour> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', ' '], "_")
            .as_str()
        {
            "cloud" => Some(Flavour::Cloud),
            "dc" | "datacenter" | "data_center" | "server" => Some(Flavour::DataCenter),
            _ => None,
        }
    }
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavour::Cloud => "Confluence Cloud",
            Flavour::DataCenter => "Confluence Data Center",
        })
    }
}

/// How the credentials are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthScheme {
    /// `Basic base64(email:token)` (Cloud) or `base64(username:password)` (Data Center).
    #[default]
    Basic,
    /// `Bearer <personal access token>` (Data Center 7.9+).
    Bearer,
}

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
    /// The site URL cannot be a Data Center base URL.
    #[error(
        "{url:?} is not a Confluence Data Center URL: {why}; give the base URL with its context path, e.g. https://confluence.example.com or https://example.com/confluence"
    )]
    BadDcUrl { url: String, why: String },
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

    /// A Data Center base URL: any context path is kept (`https://confluence.acme.com`,
    /// `https://acme.com/confluence`); a page URL copied from the browser loses what follows
    /// the context (`/display/…`, `/pages/…`, `/spaces/…`, `/rest/…`). No `/wiki` is added.
    pub fn parse_dc(input: &str) -> Result<SiteUrl, ConfigError> {
        let bad = |why: &str| ConfigError::BadDcUrl {
            url: without_userinfo(input),
            why: why.to_string(),
        };
        let url = kb_http::parse_service_url(
            input,
            "CONFLUENCE_PAT, or CONFLUENCE_USERNAME and CONFLUENCE_PASSWORD",
        )
        .map_err(|why| bad(&why))?;
        let segments: Vec<String> = url
            .path_segments()
            .map(|s| s.filter(|x| !x.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        const UI: &[&str] = &[
            "display",
            "pages",
            "spaces",
            "rest",
            "plugins",
            "dashboard.action",
            "x",
            "login.action",
        ];
        let end = segments
            .iter()
            .position(|s| UI.contains(&s.as_str()) || s.ends_with(".action"))
            .unwrap_or(segments.len());
        let context = &segments[..end];
        let mut origin = url.clone();
        origin.set_path("/");
        let mut wiki = url;
        if context.is_empty() {
            wiki.set_path("/");
        } else {
            wiki.set_path(&format!("/{}/", context.join("/")));
        }
        Ok(SiteUrl { origin, wiki })
    }

    /// `https://x.atlassian.net/`
    pub fn origin(&self) -> &Url {
        &self.origin
    }

    /// `https://x.atlassian.net/wiki/` (Data Center: the base with its context path,
    /// `https://acme.com/confluence/`).
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

/// A [`ConfluenceConfig::rate`] that sets no ceiling on the adaptive pacing (each endpoint
/// class's rate is learned from the server's answers only). Fixed pacing needs a finite rate.
pub const NO_CEILING: f64 = f64::INFINITY;

/// How to reach and pace one Confluence site (Cloud or Data Center).
#[derive(Clone)]
pub struct ConfluenceConfig {
    /// Cloud or Data Center.
    pub flavour: Flavour,
    /// The site.
    pub site: SiteUrl,
    /// The Atlassian account's email (Cloud), or the username (Data Center Basic auth); empty
    /// with a personal access token.
    pub email: String,
    /// The API token (Cloud), password or personal access token (Data Center). Never logged
    /// or shown.
    pub token: SecretString,
    /// Basic or Bearer (a Data Center personal access token).
    pub auth: AuthScheme,
    /// With adaptive pacing (the default): the ceiling of each endpoint class's rate, which is
    /// learned from the server's answers. With fixed pacing: sustained requests per second for
    /// the whole site (then it must be set: no default suits every site). Default
    /// [`NO_CEILING`]: the pace is left to the server's answers, as the CLI and the daemon do
    /// when no `rate` is given.
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
            .field("flavour", &self.flavour)
            .field("site", &self.site)
            .field("auth", &self.auth)
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
            flavour: Flavour::Cloud,
            site: SiteUrl::parse(site)?,
            email: email.trim().to_string(),
            token,
            auth: AuthScheme::Basic,
            rate: NO_CEILING,
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

    /// A Data Center site with a personal access token (`Authorization: Bearer`).
    pub fn data_center_pat(site: &str, pat: SecretString) -> Result<ConfluenceConfig, ConfigError> {
        let mut c = ConfluenceConfig::new("https://placeholder.invalid", "-", pat)?;
        c.flavour = Flavour::DataCenter;
        c.site = SiteUrl::parse_dc(site)?;
        c.email = String::new();
        c.auth = AuthScheme::Bearer;
        c.media_origins = Vec::new();
        Ok(c)
    }

    /// A Data Center site with a username and password (Basic).
    pub fn data_center_basic(
        site: &str,
        username: impl Into<String>,
        password: SecretString,
    ) -> Result<ConfluenceConfig, ConfigError> {
        let username = username.into();
        if username.trim().is_empty() {
            return Err(ConfigError::Missing {
                var: ENV_USERNAME,
                what: "the Data Center username (or give CONFLUENCE_PAT, a personal access token)",
            });
        }
        let mut c = ConfluenceConfig::data_center_pat(site, password)?;
        c.email = username.trim().to_string();
        c.auth = AuthScheme::Basic;
        Ok(c)
    }

    /// From `CONFLUENCE_URL`, `CONFLUENCE_EMAIL` and `CONFLUENCE_API_TOKEN` (or
    /// `CONFLUENCE_API_TOKEN_FILE`, the path of a file that holds it) for Cloud; for Data
    /// Center (`CONFLUENCE_FLAVOR=dc`, or `CONFLUENCE_PAT` / `CONFLUENCE_USERNAME` set),
    /// `CONFLUENCE_URL` and `CONFLUENCE_PAT` (or `CONFLUENCE_USERNAME` and
    /// `CONFLUENCE_PASSWORD`; each secret also as `…_FILE`).
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
        let flavour = match get(ENV_FLAVOUR).filter(|v| !v.trim().is_empty()) {
            Some(v) => Flavour::parse(&v).ok_or(ConfigError::Invalid {
                name: ENV_FLAVOUR,
                why: "give cloud or dc".into(),
            })?,
            None if get(ENV_PAT).is_some()
                || get(&format!("{ENV_PAT}_FILE")).is_some()
                || get(ENV_USERNAME).is_some() =>
            {
                Flavour::DataCenter
            }
            None => Flavour::Cloud,
        };
        if flavour == Flavour::DataCenter {
            let url = need(
                ENV_URL,
                "the Data Center base URL, e.g. https://confluence.example.com or https://example.com/confluence",
            )?;
            let secret = |var: &'static str| {
                kb_http::secret_from_env(&get, var)
                    .map_err(|why| ConfigError::Invalid { name: var, why })
            };
            if let Some(pat) = secret(ENV_PAT)? {
                return ConfluenceConfig::data_center_pat(&url, pat);
            }
            let user = need(
                ENV_USERNAME,
                "CONFLUENCE_PAT (a personal access token: profile → Personal Access Tokens, Confluence 7.9+) or CONFLUENCE_USERNAME and CONFLUENCE_PASSWORD",
            )?;
            let password = secret(ENV_PASSWORD)?.ok_or(ConfigError::Missing {
                var: ENV_PASSWORD,
                what: "the password of CONFLUENCE_USERNAME (or use CONFLUENCE_PAT, a personal access token)",
            })?;
            return ConfluenceConfig::data_center_basic(&url, user, password);
        }
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
        let no_ceiling = self.adaptive && self.rate == NO_CEILING;
        let positive = self.rate.is_finite() && self.rate > 0.0;
        if !self.adaptive && self.rate == NO_CEILING {
            return Err(ConfigError::Invalid {
                name: "rate",
                why: "fixed pacing needs a rate: set requests per second, or keep adaptive pacing"
                    .into(),
            });
        }
        if !(no_ceiling || positive) {
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
    fn data_center_urls_keep_their_context_path() {
        for (s, base) in [
            (
                "https://confluence.acme.com",
                "https://confluence.acme.com/",
            ),
            (
                "https://confluence.acme.com/",
                "https://confluence.acme.com/",
            ),
            (
                "https://acme.com/confluence",
                "https://acme.com/confluence/",
            ),
            (
                "https://acme.com/confluence/",
                "https://acme.com/confluence/",
            ),
            ("https://acme.com/wiki", "https://acme.com/wiki/"),
            (
                "https://acme.com/confluence/display/ENG/Home",
                "https://acme.com/confluence/",
            ),
            (
                "https://acme.com/confluence/pages/viewpage.action?pageId=1",
                "https://acme.com/confluence/",
            ),
            ("https://acme.com/c/f/spaces/ENG", "https://acme.com/c/f/"),
            (
                "http://127.0.0.1:8090/confluence",
                "http://127.0.0.1:8090/confluence/",
            ),
        ] {
            let u = SiteUrl::parse_dc(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(u.wiki().as_str(), base, "{s}");
            assert!(
                !u.wiki().as_str().ends_with("/wiki/") || s.contains("/wiki"),
                "{s}"
            );
        }
        let e = SiteUrl::parse_dc("https://me:pw@acme.com/confluence")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("CONFLUENCE_PAT") && !e.contains("pw") && !e.contains("atlassian.net"),
            "{e}"
        );
    }

    #[test]
    fn data_center_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let c = ConfluenceConfig::from_lookup(env(&[
            (ENV_URL, "https://acme.com/confluence"),
            (ENV_PAT, "pat-SECRET"),
        ]))
        .unwrap();
        assert_eq!(
            (c.flavour, c.auth),
            (Flavour::DataCenter, AuthScheme::Bearer)
        );
        assert_eq!(c.site.wiki().as_str(), "https://acme.com/confluence/");
        assert!(!format!("{c:?}").contains("pat-SECRET"));
        let c = ConfluenceConfig::from_lookup(env(&[
            (ENV_URL, "https://confluence.acme.com"),
            (ENV_USERNAME, "jdoe"),
            (ENV_PASSWORD, "pw"),
        ]))
        .unwrap();
        assert_eq!(
            (c.flavour, c.auth, c.email.as_str()),
            (Flavour::DataCenter, AuthScheme::Basic, "jdoe")
        );
        let e = ConfluenceConfig::from_lookup(env(&[
            (ENV_URL, "https://confluence.acme.com"),
            (ENV_FLAVOUR, "dc"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(e.contains(ENV_PAT) && e.contains(ENV_USERNAME), "{e}");
        let e = ConfluenceConfig::from_lookup(env(&[(ENV_URL, "x"), (ENV_FLAVOUR, "onprem")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains(ENV_FLAVOUR), "{e}");
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
            ENV_TOKEN => Some("tok-SECRET-123".into()),
            _ => None,
        })
        .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("tok-SECRET-123"), "{dbg}");
        assert!(dbg.contains("acme.atlassian.net/wiki"), "{dbg}");
    }
}
