//! The glue between kb-config's resolved settings and the clients' configurations: every
//! command that talks to a service reads `kbridge.toml`, the environment and its flags here,
//! so precedence, defaults and value checks are the same everywhere.

use std::path::PathBuf;

use anyhow::{Context, Result};
use kb_config::resolve::{self, ConfluenceFlags, ConfluenceSettings, NotionFlags};
use kb_config::{ConfigFile, Env};
use kb_confluence::{ConfluenceConfig, ENV_EMAIL, ENV_TOKEN, ENV_URL};
use kb_notion::NotionConfig;
use secrecy::ExposeSecret;

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

/// The default Confluence connection's client configuration.
pub(crate) fn confluence(
    file: &ConfigFile,
    flags: &ConfluenceFlags,
) -> Result<(ConfluenceConfig, ConfluenceSettings)> {
    let env = Env::new(&process_env);
    let s = resolve::confluence(file, None, flags, &env)?;
    let token = s.token(&env)?;
    let mut cfg = ConfluenceConfig::from_lookup(|k| match k {
        ENV_URL => Some(s.url.value.clone()),
        ENV_EMAIL => Some(s.email.value.clone()),
        ENV_TOKEN => Some(token.expose_secret().to_string()),
        _ => None,
    })
    .with_context(|| format!("the Confluence site ({})", s.url.source))?;
    cfg.rate = s.rate.value;
    cfg.burst = (s.rate.value.ceil() as u32).max(1);
    cfg.concurrency = s.concurrency.value;
    Ok((cfg, s))
}

/// The default Notion connection's client configuration.
pub(crate) fn notion(file: &ConfigFile, flags: &NotionFlags) -> Result<NotionConfig> {
    let env = Env::new(&process_env);
    let s = resolve::notion(file, None, flags, &env)?;
    let token = s.token(&env)?;
    let mut cfg = NotionConfig::from_lookup(|k| match k {
        kb_notion::ENV_TOKEN => Some(token.expose_secret().to_string()),
        kb_notion::ENV_URL => s.url.as_ref().map(|u| u.value.clone()),
        kb_notion::ENV_VERSION => s.version.as_ref().map(|v| v.value.clone()),
        _ => None,
    })?;
    cfg.rate = s.rate.value;
    cfg.burst = cfg.burst.max((s.rate.value.ceil() as u32).max(1));
    Ok(cfg)
}
