//! Reading `kbridge.toml`. A parse error names the file, the line and the key, and never
//! echoes a value: the offending line may hold something that should never have been written
//! there (a token), and TOML's own error text quotes it.

use std::path::{Path, PathBuf};

use crate::model::ConfigFile;

/// The file read when `--config` is not given (and only if it exists).
pub const DEFAULT_FILE: &str = "kbridge.toml";

/// A configuration that cannot be read or used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The file exists (or was asked for) and cannot be read.
    #[error("cannot read the configuration file {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// The file is not valid TOML or does not fit the model.
    #[error("{path} line {line}: {key}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The line (1-based; 0 when TOML did not say).
        line: usize,
        /// The key path, e.g. `confluence.rate` (`(syntax)` for a TOML syntax error).
        key: String,
        /// What is wrong, without any value from the file.
        message: String,
        /// What to do, when there is one clear fix.
        hint: Option<String>,
    },
    /// The file holds what looks like a secret (a `token`, `password`… key): refused, its value
    /// never shown.
    #[error("{path} line {line}: {key}: secrets never go in kbridge.toml")]
    SecretInFile {
        /// The file.
        path: String,
        /// The line (1-based).
        line: usize,
        /// The key path, e.g. `confluence.api_token`.
        key: String,
        /// The environment variable the token belongs in.
        env: &'static str,
    },
    /// A setting has a value kbridge cannot use (from a flag, the environment or the file).
    #[error("{key}: {message}")]
    Invalid {
        /// Where the setting came from and its name, e.g. `--rate` or `kbridge.toml confluence.rate`.
        key: String,
        /// What is wrong and what to give instead.
        message: String,
    },
    /// A required setting is missing everywhere.
    #[error("{what} is not set: {hint}")]
    Missing {
        /// The setting.
        what: String,
        /// Where to set it.
        hint: String,
    },
}

impl ConfigError {
    /// A stable code for the kind of error (for `--json` output and the docs).
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::Read { .. } => "config_unreadable",
            ConfigError::Parse { .. } => "config_invalid",
            ConfigError::SecretInFile { .. } => "config_secret_in_file",
            ConfigError::Invalid { .. } => "setting_invalid",
            ConfigError::Missing { .. } => "setting_missing",
        }
    }

    /// The one thing to do, when the message does not already say it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ConfigError::Parse { hint, .. } => hint.clone(),
            ConfigError::SecretInFile { env, .. } => Some(format!(
                "remove it and give the token in the environment: {env}, or {env}_FILE naming a file that holds it (or token_file = PATH in the section)"
            )),
            _ => None,
        }
    }
}

/// Reads the configuration: `path` when given (it must exist), else `kbridge.toml` in the
/// current folder when it exists, else the empty configuration. Returns the file it read.
pub fn load(path: Option<&Path>) -> Result<(ConfigFile, Option<PathBuf>), ConfigError> {
    let (path, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_FILE), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((ConfigFile::default(), None));
        }
        Err(e) => {
            return Err(ConfigError::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            });
        }
    };
    let file = parse(&text, &path.display().to_string())?;
    Ok((file, Some(path)))
}

/// Parses a configuration's text; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<ConfigFile, ConfigError> {
    let err = |line: usize, key: String, raw: &str| {
        if let Some(field) = unknown_field(raw)
            && is_secret_name(field)
        {
            return ConfigError::SecretInFile {
                path: origin.to_string(),
                line,
                env: if key.starts_with("notion") {
                    "NOTION_TOKEN"
                } else {
                    "CONFLUENCE_API_TOKEN"
                },
                key,
            };
        }
        let message = redact(raw);
        let hint = hint_for(raw);
        ConfigError::Parse {
            path: origin.to_string(),
            line,
            key,
            message,
            hint,
        }
    };
    let de = toml::de::Deserializer::parse(text).map_err(|e| {
        err(
            line_of(text, e.span().map(|s| s.start)),
            "(syntax)".to_string(),
            e.message(),
        )
    })?;
    serde_path_to_error::deserialize::<_, ConfigFile>(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.inner();
        err(
            line_of(text, inner.span().map(|s| s.start)),
            if key == "." {
                "(top level)".into()
            } else {
                key
            },
            inner.message(),
        )
    })
}

/// The 1-based line of a byte offset (0 when unknown).
fn line_of(text: &str, offset: Option<usize>) -> usize {
    match offset {
        Some(o) => {
            text.as_bytes()[..o.min(text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1
        }
        None => 0,
    }
}

/// serde's messages quote the value they refused ("invalid type: string \"s3cr3t\", expected
/// u32", "invalid value: integer `-1`, …"): keep the kinds and the expectation, drop the value.
pub(crate) fn redact(message: &str) -> String {
    let first = message.lines().next().unwrap_or("").trim();
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = first.strip_prefix(prefix) {
            let (found, expected) = match rest.split_once(", expected") {
                Some((f, e)) => (f, Some(e)),
                None => (rest, None),
            };
            let kind = found
                .split([' ', '`', '"'])
                .find(|w| !w.is_empty())
                .unwrap_or("value");
            let mut out = format!("{}{kind}", prefix);
            if let Some(e) = expected {
                out.push_str(", expected");
                out.push_str(&strip_quoted(e));
            }
            return out;
        }
    }
    strip_quoted(first)
}

/// Replaces every double-quoted part of a message by `"…"` (TOML and serde quote values in
/// double quotes; they put names in backticks).
fn strip_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut inside = false;
    for c in s.chars() {
        if c == '"' {
            if inside {
                out.push_str("…\"");
            } else {
                out.push('"');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    if inside {
        out.push_str("…\"");
    }
    out
}

/// One fix for the errors that have one.
fn unknown_field(raw: &str) -> Option<&str> {
    raw.strip_prefix("unknown field `")
        .and_then(|r| r.split('`').next())
}

fn hint_for(raw: &str) -> Option<String> {
    match unknown_field(raw) {
        Some(_) => Some("`kbridge config reference` lists every key".to_string()),
        None if raw.starts_with("unknown variant") => {
            Some("`kbridge config reference` lists the kinds".to_string())
        }
        None => None,
    }
}

fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["token", "password", "secret", "api_key", "apikey"]
        .iter()
        .any(|s| n.contains(s))
        && !matches!(n.as_str(), "token_env" | "token_file")
}
