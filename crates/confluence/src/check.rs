//! `check()`: does the configuration reach a Confluence site (Cloud or Data Center), as whom,
//! and what can it read? Each failure is told apart and comes with what to do, in the terms of
//! the site's flavour (Data Center: `CONFLUENCE_PAT` and the context path, never
//! `atlassian.net`).

use futures_util::TryStreamExt as _;
use kb_http::HttpError;
use serde::Serialize;

use crate::client::Confluence;
use crate::config::{
    AuthScheme, ENV_EMAIL, ENV_PASSWORD, ENV_PAT, ENV_TOKEN, ENV_URL, ENV_USERNAME, Flavour,
};
use crate::keys;

/// What to check after a 401, by flavour and scheme.
fn credentials_hint(flavour: Flavour, scheme: AuthScheme) -> String {
    match (flavour, scheme) {
        (Flavour::Cloud, _) => format!(
            "check {ENV_EMAIL} and {ENV_TOKEN} (an API token from https://id.atlassian.com/manage-profile/security/api-tokens; tokens expire)"
        ),
        (Flavour::DataCenter, AuthScheme::Bearer) => format!(
            "check {ENV_PAT} (a personal access token: your Confluence profile → Personal Access Tokens, Confluence 7.9+; tokens can expire or be revoked)"
        ),
        (Flavour::DataCenter, AuthScheme::Basic) => format!(
            "check {ENV_USERNAME} and {ENV_PASSWORD}, or use {ENV_PAT} (a personal access token, Confluence 7.9+)"
        ),
    }
}

fn not_confluence_hint(flavour: Flavour) -> String {
    match flavour {
        Flavour::Cloud => format!(
            "is it a Confluence Cloud site? Check {ENV_URL} (e.g. https://<site>.atlassian.net)"
        ),
        Flavour::DataCenter => format!(
            "is it the Data Center base URL with its context path? Check {ENV_URL} (e.g. https://confluence.example.com or https://example.com/confluence)"
        ),
    }
}

fn forbidden_hint(flavour: Flavour) -> String {
    match flavour {
        Flavour::Cloud => {
            "the account has no Confluence access (unlicensed?): give it Confluence product access in admin.atlassian.com".into()
        }
        Flavour::DataCenter => format!(
            "the user may not use Confluence (no can-use permission, disabled, or a site with the \"API Token Authentication\" app that refuses passwords: use {ENV_PAT})"
        ),
    }
}

/// What the token can do on the site.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The site's Confluence base URL.
    pub site: String,
    /// `cloud` or `dc`.
    pub flavour: String,
    /// The server's version (Data Center, when it tells it).
    pub version: Option<String>,
    /// Whether `content/scan` is used for page listings (Data Center 7.18+).
    pub scan: bool,
    /// Where space permissions come from on this site (and whether kbridge reads them).
    pub space_permissions: String,
    /// The account id (Cloud) or user key (Data Center).
    pub account_id: Option<String>,
    /// The Data Center username.
    pub username: Option<String>,
    pub display_name: Option<String>,
    /// Spaces the token can read (through v2), `None` when v2 is not reachable.
    pub spaces: Option<u64>,
    /// Keys of the first spaces (up to 20), to show.
    pub space_keys: Vec<String>,
    /// Whether the content API answered (REST v2 on Cloud, REST v1 on Data Center).
    pub v2: bool,
    /// Why it did not answer, if it did not.
    pub v2_error: Option<String>,
    /// What to know about this site, one line each (Data Center hints).
    pub hints: Vec<String>,
    /// Requests the check made.
    pub requests: u64,
}

/// Why the check failed, one variant per cause.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// No connection: the error carries the kind (DNS, refused, TLS to plain HTTP, timeout)
    /// and its hint, naming `CONFLUENCE_URL`.
    #[error("cannot reach {site}: {error}")]
    Unreachable {
        site: String,
        #[source]
        error: HttpError,
    },
    #[error(
        "{site} has no Confluence REST API (404 for the current user): {}", not_confluence_hint(*flavour)
    )]
    NotConfluence {
        site: String,
        flavour: Flavour,
        error: HttpError,
    },
    #[error("{site} refused the credentials (401): {}", credentials_hint(*flavour, *scheme))]
    Unauthorized {
        site: String,
        flavour: Flavour,
        scheme: AuthScheme,
        error: HttpError,
    },
    #[error("{site}: 403: {} ({error})", forbidden_hint(*flavour))]
    Unlicensed {
        site: String,
        flavour: Flavour,
        error: HttpError,
    },
    #[error("{site}: the check failed: {error}")]
    Other { site: String, error: HttpError },
}

impl Confluence {
    /// Who am I (v1 `/user/current`), how many spaces can I read (v2 `/spaces`), and is v2
    /// there at all.
    pub async fn check(&self) -> Result<CheckReport, CheckError> {
        let site = self.site().display();
        let before = self.stats().requests;
        let me = match self.current_user().await {
            Ok(v) => v,
            Err(e) => {
                let site = site.clone();
                let flavour = self.flavour();
                return Err(match e.status() {
                    Some(401) => CheckError::Unauthorized {
                        site,
                        flavour,
                        scheme: self.auth,
                        error: e,
                    },
                    Some(403) => CheckError::Unlicensed {
                        site,
                        flavour,
                        error: e,
                    },
                    Some(404) | Some(405) | Some(410) => CheckError::NotConfluence {
                        site,
                        flavour,
                        error: e,
                    },
                    _ if e.is_transport() => CheckError::Unreachable { site, error: e },
                    _ => CheckError::Other { site, error: e },
                });
            }
        };
        // A site that answers JSON without an account is not Confluence.
        let account_id = keys::str_field(&me, "accountId")
            .or_else(|| keys::str_field(&me, "userKey"))
            .map(str::to_string);
        let display_name = keys::str_field(&me, "displayName")
            .or_else(|| keys::str_field(&me, "publicName"))
            .map(str::to_string);
        let flavour = self.flavour();
        let info = self.server_info().await;
        let mut hints = Vec::new();
        let space_permissions = self.permission_source().await.describe().to_string();
        if flavour == Flavour::DataCenter {
            if info.version.is_none() {
                hints.push("the server did not tell its version (/rest/applinks/1.0/manifest): capabilities are probed".to_string());
            }
            if !info.scan {
                hints.push("no content/scan (before 7.18): pages are listed by offsets, slower on big spaces".to_string());
            }
            if self.auth == AuthScheme::Basic {
                hints.push(format!("Basic auth with a password: prefer {ENV_PAT} (a personal access token, 7.9+); sites with the API Token Authentication app refuse passwords"));
            }
            hints.push("tasks, custom content and version histories are not offered by Data Center's REST: extract stores the current version only".to_string());
            hints.push("rate limiting (if an admin enabled it) is per user: kbridge paces by X-RateLimit-FillRate and Retry-After".to_string());
        }
        let mut report = CheckReport {
            site: site.clone(),
            flavour: flavour.as_str().to_string(),
            version: info.version.clone(),
            scan: info.scan,
            space_permissions,
            account_id,
            username: keys::str_field(&me, "username").map(str::to_string),
            display_name,
            spaces: None,
            space_keys: Vec::new(),
            v2: false,
            v2_error: None,
            hints,
            requests: 0,
        };
        match self.count_spaces(&mut report).await {
            Ok(n) => {
                report.spaces = Some(n);
                report.v2 = true;
            }
            Err(e) => report.v2_error = Some(e.to_string()),
        }
        report.requests = self.stats().requests - before;
        Ok(report)
    }

    async fn count_spaces(&self, report: &mut CheckReport) -> Result<u64, HttpError> {
        let mut n = 0u64;
        let mut pages = self.space_listing(&[])?.pages();
        while let Some(page) = pages.try_next().await? {
            for s in &page.items {
                if report.space_keys.len() < 20
                    && let Some(k) = keys::space_key(s)
                {
                    report.space_keys.push(k.to_string());
                }
            }
            n += page.items.len() as u64;
        }
        Ok(n)
    }
}

impl CheckError {
    /// The HTTP failure behind it.
    pub fn http(&self) -> &HttpError {
        match self {
            CheckError::Unreachable { error, .. }
            | CheckError::NotConfluence { error, .. }
            | CheckError::Unauthorized { error, .. }
            | CheckError::Unlicensed { error, .. }
            | CheckError::Other { error, .. } => error,
        }
    }
}
