//! The glue between kb-config's resolved settings and the clients' configurations: every
//! command that talks to a service reads `kbridge.toml`, the environment and its flags here,
//! so precedence, defaults and value checks are the same everywhere.

use std::path::PathBuf;

use anyhow::Result;
use kb_config::resolve::{self, ConfluenceFlags, ConfluenceSettings, NotionFlags};
use kb_config::{ConfigFile, Env};
use kb_confluence::ConfluenceConfig;
use kb_notion::NotionConfig;

/// The process environment, as kb-config reads it.
pub(crate) fn process_env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

/// `--config FILE`, else `kbridge.toml` when it exists.
pub(crate) fn load(path: Option<&PathBuf>) -> Result<ConfigFile> {
    Ok(kb_config::load(path.map(PathBuf::as_path))?.0)
}

/// The store URL (flag, `$KBRIDGE_STORE`, `[store] url`, `kbridge.db`).
pub(crate) fn store_url(file: &ConfigFile, flag: Option<String>) -> String {
    resolve::store(file, flag, &Env::new(&process_env)).value
}

/// The default Confluence connection's client configuration (kb_engine::connect).
pub(crate) fn confluence(
    file: &ConfigFile,
    flags: &ConfluenceFlags,
) -> Result<(ConfluenceConfig, ConfluenceSettings)> {
    kb_engine::connect::confluence(file, None, flags, &Env::new(&process_env)).map_err(unwrap)
}

/// The error inside, as the CLI's renderer knows it (its codes and hints).
fn unwrap(e: kb_engine::connect::ConnectError) -> anyhow::Error {
    use kb_engine::connect::ConnectError;
    match e {
        ConnectError::Config(e) => e.into(),
        ConnectError::Notion(e) => e.into(),
        ConnectError::Confluence { source_of, error } => {
            anyhow::Error::from(error).context(format!("the Confluence site ({source_of})"))
        }
    }
}

/// The default Notion connection's client configuration (kb_engine::connect).
pub(crate) fn notion(file: &ConfigFile, flags: &NotionFlags) -> Result<NotionConfig> {
    kb_engine::connect::notion(file, None, flags, &Env::new(&process_env)).map_err(unwrap)
}
