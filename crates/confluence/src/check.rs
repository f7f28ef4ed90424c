//! `check()`: does the configuration reach a Confluence Cloud site, as whom, and what can it
//! read? Each failure is told apart and comes with what to do.

use futures_util::TryStreamExt as _;
use kb_http::HttpError;
use serde::Serialize;

use crate::client::Confluence;
use crate::config::{ENV_EMAIL, ENV_TOKEN, ENV_URL};
use crate::keys;

/// What the token can do on the site.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The site's Confluence base URL.
    pub site: String,
    pub account_id: Option<String>,
    pub display_name: Option<String>,
    /// Spaces the token can read (through v2), `None` when v2 is not reachable.
    pub spaces: Option<u64>,
    /// Keys of the first spaces (up to 20), to show.
    pub space_keys: Vec<String>,
    /// Whether REST v2 answered.
    pub v2: bool,
    /// Why v2 did not answer, if it did not.
    pub v2_error: Option<String>,
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
        "{site} has no Confluence REST API (404 for the current user): is it a Confluence Cloud site? Check {ENV_URL} (e.g. https://<site>.atlassian.net)"
    )]
    NotConfluence { site: String, error: HttpError },
    #[error(
        "{site} refused the credentials (401): check {ENV_EMAIL} and {ENV_TOKEN} (an API token from https://id.atlassian.com/manage-profile/security/api-tokens; tokens expire)"
    )]
    Unauthorized { site: String, error: HttpError },
    #[error(
        "{site}: the account has no Confluence access (403, unlicensed?): give it Confluence product access in admin.atlassian.com ({error})"
    )]
    Unlicensed { site: String, error: HttpError },
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
                return Err(match e.status() {
                    Some(401) => CheckError::Unauthorized { site, error: e },
                    Some(403) => CheckError::Unlicensed { site, error: e },
                    Some(404) | Some(405) | Some(410) => {
                        CheckError::NotConfluence { site, error: e }
                    }
                    _ if e.is_transport() => CheckError::Unreachable { site, error: e },
                    _ => CheckError::Other { site, error: e },
                });
            }
        };
        // A site that answers JSON without an account is not Confluence.
        let account_id = keys::str_field(&me, "accountId").map(str::to_string);
        let display_name = keys::str_field(&me, "displayName")
            .or_else(|| keys::str_field(&me, "publicName"))
            .map(str::to_string);
        let mut report = CheckReport {
            site: site.clone(),
            account_id,
            display_name,
            spaces: None,
            space_keys: Vec::new(),
            v2: false,
            v2_error: None,
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
        let mut pages = self.spaces()?.pages();
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
