//! What km imports and how: the `[km]` configuration. The types live in kb-config
//! ([`kb_config::km`]) so that `kbridge.toml`'s `[km]` table, `kbridge config check` and the
//! generated reference cover them; this module re-exports them for existing callers.

pub use kb_config::km::{
    Filters, KmConfig, KmConfigError as ConfigError, KmJob, MacroRule, Mapping, Rules, TableRule,
    schedule_every,
};
