//! The shape of `kbridge.toml`. Every field's doc comment is its entry in the configuration
//! reference (`docs/config.md`, generated from these types by [`crate::reference`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `kbridge.toml`: where kbridge keeps its state, the services it talks to, and the jobs it runs.
/// Secrets are never in this file: a connection names the environment variable or the file
/// that holds its token.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The store: the replica, id maps, checkpoints and runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreSection>,
    /// The Confluence site used when no connection is named (the connection called
    /// `confluence`), and the defaults of `kbridge extract confluence`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confluence: Option<ConfluenceSection>,
    /// The Notion workspace used when no connection is named (the connection called `notion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notion: Option<NotionSection>,
    /// Named connections, `[connections.NAME]`, that jobs refer to by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub connections: BTreeMap<String, Connection>,
    /// Named jobs, `[jobs.NAME]`: what to run, against which connections.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub jobs: BTreeMap<String, Job>,
    /// When `kbridge serve` runs a job, `[schedules.JOB]` (JOB a name of `[jobs]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub schedules: BTreeMap<String, ScheduleSection>,
    /// The knowledge base (`kbridge km`): filters, field mapping, transformation rules, roles,
    /// the delete guard and the scheduled km jobs (`[[km.jobs]]`, run by `kbridge serve`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub km: Option<crate::km::KmConfig>,
}

/// `[schedules.JOB]`: when `kbridge serve` runs the job JOB.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSection {
    /// `hourly` (on the hour), `hourly :MM`, `daily HH:MM`, `weekly DAY HH:MM` (DAY one of
    /// `mon` … `sun`) or `cron MIN HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK` (five fields).
    pub every: String,
    /// The IANA time zone the times are in, e.g. `Europe/Paris` (default `UTC`); a daily run
    /// keeps its wall-clock time across daylight-saving changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Start each run up to this many seconds after its time (the same delay for a job and a
    /// time, so restarts do not move it; default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_seconds: Option<u32>,
    /// Start with the schedule paused (resume it from the API or the UI).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
}

/// `[store]`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// A SQLite file (default `kbridge.db` in the current folder) or a PostgreSQL URL
    /// (`postgres://user@host/db`; the password from `PGPASSWORD` or `~/.pgpass`, never here).
    /// Flag `--store`, environment `KBRIDGE_STORE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `[confluence]`: the default Confluence Cloud site and the defaults of `kbridge extract`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfluenceSection {
    /// The site, e.g. `https://acme.atlassian.net` (with or without `/wiki`).
    /// Flag `--url` (`--confluence-url` in migrate), environment `CONFLUENCE_URL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The Atlassian account's email. Flag `--email`, environment `CONFLUENCE_EMAIL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The environment variable holding the API token (default `CONFLUENCE_API_TOKEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// A file holding the API token (its first line), instead of the environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Requests per second to the site, at most (default: no ceiling; the pacing learns each
    /// endpoint's limit from the server's answers). Flag `--rate` (`--confluence-rate` in
    /// migrate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Requests in flight at most (default 4). Flag `--concurrency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    /// extract: space keys to replicate (default: every space the token can read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spaces: Vec<String>,
    /// extract: tables to fill (default: all; `kbridge extract confluence --list-endpoints`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
    /// extract: fetch version histories and details only for content modified since this date,
    /// `YYYY-MM-DD`, or `all` for no bound (default: one year before the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// extract: custom content types to list (the API needs the type).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_content_types: Vec<String>,
    /// extract: the account's UTC offset for CQL dates, `+HH:MM` or `-HH:MM` (default `+00:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset: Option<String>,
    /// extract: also download attachment files into this folder, content-addressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<PathBuf>,
}

/// `[notion]`: the default Notion workspace.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotionSection {
    /// The API's base URL (default `https://api.notion.com`). Flag `--notion-url`,
    /// environment `NOTION_URL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The `Notion-Version`: `2025-09-03` (default) or `2022-06-28`. Flag `--notion-version`,
    /// environment `NOTION_VERSION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The environment variable holding the integration token (default `NOTION_TOKEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// A file holding the integration token (its first line), instead of the environment
    /// variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Requests per second, at most (default 3, Notion's average limit). Flag `--notion-rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
}

/// A named connection, `[connections.NAME]` with `kind = "…"`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Connection {
    /// Confluence Cloud: an account's email and API token (HTTP Basic).
    ConfluenceCloud(ConfluenceCloudConnection),
    /// Notion: an internal integration's token (HTTP Bearer).
    Notion(NotionConnection),
}

/// `kind = "confluence_cloud"`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfluenceCloudConnection {
    /// The site, e.g. `https://acme.atlassian.net`.
    pub url: String,
    /// The Atlassian account's email.
    pub email: String,
    /// The environment variable holding the API token (default `CONFLUENCE_API_TOKEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// A file holding the API token (its first line), instead of the environment variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Requests per second, at most (default: no ceiling; the pacing learns each endpoint's
    /// limit from the server's answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Requests in flight at most (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
}

/// `kind = "notion"`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotionConnection {
    /// The API's base URL (default `https://api.notion.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The `Notion-Version`: `2025-09-03` (default) or `2022-06-28`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The environment variable holding the integration token (default `NOTION_TOKEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// A file holding the integration token (its first line), instead of the environment
    /// variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// Requests per second, at most (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
}

/// A named job, `[jobs.NAME]` with `kind = "…"`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Replicate a Confluence site into the store (`kbridge extract confluence`).
    Extract(ExtractJob),
    /// Migrate Notion trees into a Confluence space (`kbridge migrate notion-to-confluence`).
    MigrateNotionToConfluence(NotionToConfluenceJob),
    /// Migrate a Confluence space or subtree into Notion (`kbridge migrate
    /// confluence-to-notion`).
    MigrateConfluenceToNotion(ConfluenceToNotionJob),
    /// The knowledge base's incremental pass or permission sync (`kbridge km sync`), with the
    /// `[km]` configuration.
    Km(KmSyncJob),
    /// One two-way sync pass per link (`kbridge sync run`); `kbridge serve`'s webhook
    /// receivers queue one as soon as a verified change arrives.
    Sync(SyncJob),
}

/// `kind = "sync"`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncJob {
    /// The Notion connection's name (default `notion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notion: Option<String>,
    /// The Confluence connection's name (default `confluence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confluence: Option<String>,
    /// The sync links to pass (`kbridge sync init --name`; default: every link in the store).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
}

/// `kind = "km"`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KmSyncJob {
    /// The Confluence connection's name (default `confluence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// `content` (extract, then import: the incremental pass; the default) or `permissions`
    /// (space permissions, restrictions, groups and members re-read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
}

/// `kind = "extract"`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractJob {
    /// The Confluence connection's name (default `confluence`: the `[confluence]` section).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
    /// Space keys to replicate (default: every space the token can read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spaces: Vec<String>,
    /// Tables to fill (default: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<String>,
    /// Version histories and details only for content modified since this date, `YYYY-MM-DD`,
    /// or `all` (default: one year before the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Custom content types to list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_content_types: Vec<String>,
    /// The account's UTC offset for CQL dates, `+HH:MM` or `-HH:MM` (default `+00:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset: Option<String>,
    /// Also download attachment files into this folder, content-addressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<PathBuf>,
    /// Also sweep ids (moves, purges) and re-read space metadata and groups.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reconcile: bool,
}

/// `kind = "migrate_notion_to_confluence"`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotionToConfluenceJob {
    /// The Notion connection's name (default `notion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notion: Option<String>,
    /// The Confluence connection's name (default `confluence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confluence: Option<String>,
    /// The Notion page or database ids (or URLs) at the top of the trees.
    pub from: Vec<String>,
    /// The Confluence space key.
    pub space: String,
    /// The Confluence page id the trees go under (default: the top of the space).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// `kind = "migrate_confluence_to_notion"`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfluenceToNotionJob {
    /// The Confluence connection's name (default `confluence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confluence: Option<String>,
    /// The Notion connection's name (default `notion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notion: Option<String>,
    /// The space to migrate (its whole page tree); give this or `page`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
    /// The page to migrate with its descendants; give this or `space`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// The Notion page the tree goes under.
    pub to: String,
}
