//! Clients from the configuration model: a connection of `kbridge.toml` (or its default
//! section), with flags and the environment applied by kb-config, turned into a client
//! configuration. One place for the CLI and the daemon alike (moved here from the CLI's
//! settings so `kbridge serve` builds the same clients).

use kb_config::resolve::{self, ConfluenceFlags, ConfluenceSettings, NotionFlags};
use kb_config::{ConfigFile, Env};
use kb_confluence::{ConfluenceConfig, ENV_EMAIL, ENV_TOKEN, ENV_URL};
use kb_notion::NotionConfig;
use secrecy::ExposeSecret;

/// Why a client configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Config(#[from] kb_config::ConfigError),
    #[error("the Confluence site ({source_of}): {error}")]
    Confluence {
        /// Where the site's URL came from.
        source_of: String,
        error: kb_confluence::ConfigError,
    },
    #[error(transparent)]
    Notion(#[from] kb_notion::NotionError),
}

/// The client configuration of the Confluence connection `name` (`None`: the default one).
pub fn confluence(
    file: &ConfigFile,
    name: Option<&str>,
    flags: &ConfluenceFlags,
    env: &Env<'_>,
) -> Result<(ConfluenceConfig, ConfluenceSettings), ConnectError> {
    let s = resolve::confluence(file, name, flags, env)?;
    let token = s.token(env)?;
    let mut cfg = ConfluenceConfig::from_lookup(|k| match k {
        ENV_URL => Some(s.url.value.clone()),
        ENV_EMAIL => Some(s.email.value.clone()),
        ENV_TOKEN => Some(token.expose_secret().to_string()),
        _ => None,
    })
    .map_err(|error| ConnectError::Confluence {
        source_of: s.url.source.to_string(),
        error,
    })?;
    match &s.rate {
        Some(rate) => {
            cfg.rate = rate.value;
            cfg.burst = (rate.value.ceil() as u32).max(1);
        }
        // No ceiling: each endpoint class's rate is learned from the server's answers.
        None => cfg.rate = kb_confluence::NO_CEILING,
    }
    cfg.concurrency = s.concurrency.value;
    Ok((cfg, s))
}

/// The client configuration of the Notion connection `name` (`None`: the default one).
pub fn notion(
    file: &ConfigFile,
    name: Option<&str>,
    flags: &NotionFlags,
    env: &Env<'_>,
) -> Result<NotionConfig, ConnectError> {
    let s = resolve::notion(file, name, flags, env)?;
    let token = s.token(env)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The default sets no ceiling (the adaptive pacing learns from the server); `--rate`
    /// is a ceiling when given.
    #[test]
    fn the_confluence_rate_is_a_ceiling_only_when_given() {
        let file = kb_config::parse(
            "[confluence]\nurl = \"https://acme.atlassian.net\"\nemail = \"a@b.c\"\n",
            "kbridge.toml",
        )
        .expect("parses");
        let get = |k: &str| (k == "CONFLUENCE_API_TOKEN").then(|| "t".to_string());
        let env = Env::new(&get);
        let (cfg, s) =
            confluence(&file, None, &ConfluenceFlags::default(), &env).expect("resolves");
        assert!(s.rate.is_none());
        assert_eq!(cfg.rate, kb_confluence::NO_CEILING);
        assert!(cfg.adaptive);
        cfg.validate()
            .expect("no ceiling is valid with adaptive pacing");
        let flags = ConfluenceFlags {
            rate: Some((25.0, "--rate")),
            ..Default::default()
        };
        let (cfg, _) = confluence(&file, None, &flags, &env).expect("resolves");
        assert_eq!((cfg.rate, cfg.burst), (25.0, 25));
        let mut fixed = cfg.clone();
        fixed.adaptive = false;
        fixed.rate = kb_confluence::NO_CEILING;
        assert!(fixed.validate().is_err(), "fixed pacing needs a rate");
    }
}
