//! `[km]`: what km imports and how: filters, the field mapping, transformation rules, group →
//! role mapping, the delete guard and the scheduled km jobs (`[[km.jobs]]`, run by `kbridge
//! serve`). Every field has a default; unknown fields are refused. kb-km re-exports these types
//! (`kb_km::config`).

use std::collections::BTreeMap;

use croner::parser::{CronParser, Seconds};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The knowledge-base configuration (`[km]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KmConfig {
    /// What is imported.
    pub filters: Filters,
    /// How Confluence fields become article fields.
    pub mapping: Mapping,
    /// How bodies are transformed.
    pub rules: Rules,
    /// Role name → group names or ids whose members hold the role (`--as role:NAME`).
    pub roles: BTreeMap<String, Vec<String>>,
    /// A run refuses to delete more than this share of a space's articles (0–1); the run
    /// fails and deletes nothing in that space.
    pub max_delete_share: f64,
    /// Deletions below this count are never refused (a small space losing 2 of 3 pages).
    pub delete_guard_min: usize,
    /// Scheduled jobs (`[[km.jobs]]`), run by the daemon.
    pub jobs: Vec<KmJob>,
    /// The groups (names or ids) that give product access: a user in none of them may not use
    /// Confluence at all (the API refuses them every read) and finds nothing. When none of
    /// these groups is in the replica, no user finds anything (fail closed) and the permission
    /// sync says so.
    pub product_access: Vec<String>,
    /// The search index folder `kbridge serve` uses (default `kbridge-index` beside a SQLite
    /// store, else in the current folder; `kbridge km` takes `--index`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<std::path::PathBuf>,
}

impl Default for KmConfig {
    fn default() -> Self {
        KmConfig {
            filters: Filters::default(),
            mapping: Mapping::default(),
            rules: Rules::default(),
            roles: BTreeMap::new(),
            max_delete_share: 0.5,
            delete_guard_min: 10,
            jobs: Vec::new(),
            product_access: vec!["confluence-users".into()],
            index: None,
        }
    }
}

/// A scheduled km job.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KmJob {
    /// The job's name.
    pub name: String,
    /// `hourly`, `daily HH:MM`, `weekly mon HH:MM` or a five-field cron expression.
    pub schedule: String,
    /// `content` (incremental import) or `permissions` (permission sync).
    #[serde(default = "content")]
    pub what: String,
}

fn content() -> String {
    "content".into()
}

/// Filters: content is imported when every filter lets it through.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Filters {
    /// `page`, `blogpost`, `attachment`.
    pub content_types: Vec<String>,
    /// Only content with at least one of these labels (empty: no condition).
    pub labels_include: Vec<String>,
    /// Never content with any of these labels.
    pub labels_exclude: Vec<String>,
    /// Only content created at or after this instant (RFC 3339 or `YYYY-MM-DD`).
    pub created_after: Option<String>,
    /// Only content last modified at or after this instant.
    pub modified_after: Option<String>,
    /// Only these space keys (empty: every space).
    pub spaces_include: Vec<String>,
    /// Never these space keys.
    pub spaces_exclude: Vec<String>,
    /// Only these pages and their descendants (page ids; empty: no condition).
    pub subtrees_include: Vec<String>,
    /// Never these pages and their descendants.
    pub subtrees_exclude: Vec<String>,
    /// Only content this CQL query returns (asked of Confluence once per run, 250 per request).
    pub cql: Option<String>,
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            content_types: vec!["page".into(), "blogpost".into()],
            labels_include: Vec::new(),
            labels_exclude: Vec::new(),
            created_after: None,
            modified_after: None,
            spaces_include: Vec::new(),
            spaces_exclude: Vec::new(),
            subtrees_include: Vec::new(),
            subtrees_exclude: Vec::new(),
            cql: None,
        }
    }
}

/// The field mapping. Defaults: Title → title, Creator → author, Last modified → last
/// updated, Labels → tags, Space → category.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Mapping {
    /// `title`.
    pub title: String,
    /// `creator`, `last_modifier` or `owner`.
    pub author: String,
    /// `last_modified` or `created`.
    pub updated: String,
    /// `labels` or `none`.
    pub tags: String,
    /// `space_name`, `space_key` or `parent_title`.
    pub category: String,
    /// Page Properties keys (the rows of a `details` macro) to copy into custom fields.
    pub page_properties: Vec<String>,
    /// Content property keys to copy into custom fields (their JSON value).
    pub content_properties: Vec<String>,
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping {
            title: "title".into(),
            author: "creator".into(),
            updated: "last_modified".into(),
            tags: "labels".into(),
            category: "space_name".into(),
            page_properties: Vec::new(),
            content_properties: Vec::new(),
        }
    }
}

/// What to do with a macro.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MacroRule {
    /// Its text, as paragraphs (the default for unknown macros).
    Text,
    /// Its body as a code block.
    Code,
    /// Dropped, with a visible marker `[macro NAME removed]`.
    Drop,
    /// Its storage source, as a raw code block.
    Raw,
}

/// How tables are written into the Markdown body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TableRule {
    /// Markdown pipe tables.
    Markdown,
    /// An HTML table.
    Html,
    /// One `column: value` line per cell, rows separated by a blank line.
    Flatten,
}

/// Transformation rules.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Per macro name.
    pub macros: BTreeMap<String, MacroRule>,
    /// Tables.
    pub tables: TableRule,
    /// Extract and index attachment text (txt, md, csv, html, pdf, docx).
    pub attachment_text: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            macros: BTreeMap::new(),
            tables: TableRule::Markdown,
            attachment_text: true,
        }
    }
}

/// Reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum KmConfigError {
    /// The TOML is not a valid km configuration.
    #[error("{file}: the [km] configuration is not valid: {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// Why (the field and what is wrong).
        reason: String,
    },
}

impl KmConfig {
    /// The `[km]` table of a TOML document (the whole document when it has no `[km]`).
    pub fn from_toml(file: &str, text: &str) -> Result<KmConfig, KmConfigError> {
        let invalid = |reason: String| KmConfigError::Invalid {
            file: file.to_string(),
            reason,
        };
        let v: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| invalid(e.to_string()))?;
        let km = match v.get("km") {
            Some(km) => km.clone(),
            None => toml::Value::Table(v),
        };
        let cfg: KmConfig = km
            .try_into()
            .map_err(|e: toml::de::Error| invalid(e.to_string()))?;
        cfg.check().map_err(invalid)?;
        Ok(cfg)
    }

    /// Checks values serde cannot: shares, enum-like strings, dates, schedules.
    pub fn check(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.max_delete_share) {
            return Err(format!(
                "max_delete_share = {}: use a share between 0 and 1",
                self.max_delete_share
            ));
        }
        for t in &self.filters.content_types {
            if !matches!(t.as_str(), "page" | "blogpost" | "attachment") {
                return Err(format!(
                    "filters.content_types: {t:?} is not a content type: use page, blogpost or attachment"
                ));
            }
        }
        for (name, d) in [
            ("created_after", &self.filters.created_after),
            ("modified_after", &self.filters.modified_after),
        ] {
            if let Some(d) = d
                && !is_instant(d)
            {
                return Err(format!(
                    "filters.{name} = {d:?}: use an RFC 3339 instant or YYYY-MM-DD"
                ));
            }
        }
        let m = &self.mapping;
        for (field, value, allowed) in [
            (
                "author",
                &m.author,
                &["creator", "last_modifier", "owner"][..],
            ),
            ("updated", &m.updated, &["last_modified", "created"][..]),
            ("tags", &m.tags, &["labels", "none"][..]),
            (
                "category",
                &m.category,
                &["space_name", "space_key", "parent_title"][..],
            ),
            ("title", &m.title, &["title"][..]),
        ] {
            if !allowed.contains(&value.as_str()) {
                return Err(format!(
                    "mapping.{field} = {value:?}: use one of {}",
                    allowed.join(", ")
                ));
            }
        }
        for j in &self.jobs {
            schedule_every(&j.schedule).map_err(|e| format!("km.jobs {:?}: {e}", j.name))?;
            if !matches!(j.what.as_str(), "content" | "permissions") {
                return Err(format!(
                    "km.jobs {:?}: what = {:?}: use content or permissions",
                    j.name, j.what
                ));
            }
        }
        Ok(())
    }
}

/// An RFC 3339 instant or a `YYYY-MM-DD` date.
fn is_instant(s: &str) -> bool {
    s.parse::<jiff::Timestamp>().is_ok()
        || (s.len() == 10 && s.parse::<jiff::civil::Date>().is_ok())
}

/// A km job's schedule (`hourly`, `daily HH:MM`, `weekly DAY HH:MM` or a bare five-field cron
/// expression) in the form of `[schedules.JOB] every` (`cron …` for the bare expression),
/// checked: the error says what is wrong and what is accepted.
pub fn schedule_every(s: &str) -> Result<String, String> {
    const FORMS: &str =
        "use hourly, daily HH:MM, weekly DAY HH:MM (DAY mon…sun) or five cron fields";
    let words: Vec<&str> = s.split_whitespace().collect();
    let hm = |t: &str| -> Result<(u32, u32), String> {
        let (h, m) = t
            .split_once(':')
            .ok_or_else(|| format!("{t:?} is not a time: use HH:MM"))?;
        match (h.parse::<u32>(), m.parse::<u32>()) {
            (Ok(h), Ok(m)) if h < 24 && m < 60 => Ok((h, m)),
            _ => Err(format!("{t:?} is not a time of day: use HH:MM")),
        }
    };
    let (every, pattern) = match words.as_slice() {
        ["hourly"] => ("hourly".to_string(), "0 * * * *".to_string()),
        ["daily", t] => {
            let (h, m) = hm(t)?;
            (format!("daily {h:02}:{m:02}"), format!("{m} {h} * * *"))
        }
        ["weekly", d, t] => {
            let days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
            let day = days
                .iter()
                .position(|x| x.eq_ignore_ascii_case(&d[..d.len().min(3)]))
                .ok_or_else(|| format!("{d:?} is not a day: use mon, tue, …"))?;
            let (h, m) = hm(t)?;
            (
                format!("weekly {} {h:02}:{m:02}", days[day]),
                format!("{m} {h} * * {day}"),
            )
        }
        ["cron", rest @ ..] if rest.len() == 5 => (words.join(" "), rest.join(" ")),
        fields if fields.len() == 5 => (format!("cron {}", fields.join(" ")), fields.join(" ")),
        _ => return Err(format!("{s:?} is not a schedule: {FORMS}")),
    };
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .build()
        .parse(&pattern)
        .map_err(|e| format!("{s:?}: {e}; {FORMS}"))?;
    Ok(every)
}
