//! `kbridge serve`: the daemon (kb-serve) — scheduler, job runner, admin API and web UI,
//! `/metrics` — until SIGTERM or Ctrl-C, which let running jobs stop at their last checkpoint
//! (a restart resumes them).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use kb_serve::{ADMIN_TOKEN_ENV, ServeOptions, Shared, SystemClock};

pub const AFTER_HELP: &str = "\
Environment:
  KBRIDGE_ADMIN_TOKEN   the admin token every route but /healthz and /readyz requires
                        (`Authorization: Bearer …`, or the UI's login); at least 16 characters
  KBRIDGE_STORE         the store URL (default kbridge.db)
  and the token variables the connections name (`token_env`), never stored.

Jobs and connections come from kbridge.toml ([jobs.NAME], [connections.NAME]) and from the API
or the UI (kept in the store); [schedules.JOB] says when a job runs (docs/serve.md).

Examples:
  KBRIDGE_ADMIN_TOKEN=$(openssl rand -hex 32) kbridge serve --listen 127.0.0.1:8080
  kbridge serve --store postgres://kbridge@db/kbridge --worker   # one more worker, no HTTP";

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The configuration file (default: kbridge.toml if it exists).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where the admin API and UI listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The store: a SQLite file or `postgres://…` (default: $KBRIDGE_STORE, then kbridge.toml,
    /// then kbridge.db).
    #[arg(long, env = "KBRIDGE_STORE")]
    store: Option<String>,
    /// A worker only: the scheduler and the runner, no HTTP (several share one PostgreSQL).
    #[arg(long)]
    worker: bool,
    /// Runs at once in this process.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Seconds a claimed run stays this process's without a heartbeat (then another worker
    /// takes it over).
    #[arg(long, default_value_t = 60)]
    lease: u64,
}

pub fn run(a: ServeArgs) -> Result<bool> {
    let file = crate::settings::load(a.config.as_ref())?;
    let store_url = crate::settings::store_url(&file, a.store.clone());
    let token = std::env::var(ADMIN_TOKEN_ENV).unwrap_or_default();
    if a.worker && !store_url.starts_with("postgres") {
        return Err(crate::errors::UserError::new(
            "setting_invalid",
            "--worker shares a PostgreSQL store with other workers; this store is SQLite",
        )
        .hint("run one `kbridge serve` on SQLite, or give --store postgres://…")
        .into());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let sh = Shared::open(ServeOptions {
            store_url: store_url.clone(),
            config: file,
            admin_token: token.into(),
            env: Arc::new(crate::settings::process_env),
            clock: Arc::new(SystemClock),
            worker: kb_store::run_owner(),
            lease: Duration::from_secs(a.lease.max(3)),
        })
        .await
        .map_err(|e| match e {
            kb_serve::ServeError::Start(m) => {
                anyhow::Error::from(crate::errors::UserError::new("setting_invalid", m))
            }
            kb_serve::ServeError::Invalid { what, fix } => anyhow::Error::from(
                crate::errors::UserError::new("setting_invalid", what).hint(fix),
            ),
            e => anyhow::Error::from(e),
        })
        .context("kbridge serve")?;
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let listen = (!a.worker).then_some(a.listen);
        if let Some(l) = listen {
            eprintln!(
                "kbridge serve: admin API and UI on http://{l} (store {})",
                kb_store::redact_url(&store_url)
            );
        }
        let daemon = tokio::spawn(kb_serve::serve(sh, listen, a.concurrency, stop));
        let signal = crate::extract::stop_signal().await;
        eprintln!("kbridge serve: {signal}: stopping running jobs at their last checkpoint");
        let _ = stop_tx.send(true);
        daemon
            .await
            .context("kbridge serve")?
            .context("kbridge serve")?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(true)
}
