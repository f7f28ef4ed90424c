//! kb-serve: `kbridge serve`, the daemon. One process hosts the scheduler ([`scheduler`]), the
//! job runner ([`runner`]) over a run queue in the store ([`db`], store migration 7), the admin
//! JSON API and web UI ([`api`]) and `/metrics` ([`metrics`]). The jobs are the engine's
//! (extract, both migrate directions), behind one trait ([`jobs::JobKind`]) so more kinds
//! (km, sync) plug in without touching the rest.
//!
//! It must never store, log or answer a secret (connections name the environment variable or
//! file of their token), never answer an admin route without the admin token (compared in
//! constant time), never run two runs of one job at once, and never read the clock except
//! through its [`clock::Clock`] (tests move time by hand).

pub mod api;
pub mod clock;
pub mod db;
pub mod error;
pub mod jobs;
pub mod metrics;
pub mod overview;
pub mod runner;
pub mod schedule;
pub mod scheduler;
pub mod ui;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kb_config::{ConfigFile, Connection};
use kb_store::Store;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

pub use clock::{Clock, ManualClock, SystemClock};
pub use db::Db;
pub use error::ServeError;
pub use jobs::{EnvFn, JobKind};

/// The environment variable holding the admin token.
pub const ADMIN_TOKEN_ENV: &str = "KBRIDGE_ADMIN_TOKEN";

/// How the daemon is started.
pub struct ServeOptions {
    /// The store (SQLite file or `postgres://…`).
    pub store_url: String,
    /// `kbridge.toml` (its connections, jobs and schedules are loaded into the store).
    pub config: ConfigFile,
    /// The admin token (from `KBRIDGE_ADMIN_TOKEN`).
    pub admin_token: SecretString,
    /// Where secrets referenced by connections are read.
    pub env: EnvFn,
    pub clock: Arc<dyn Clock>,
    /// This worker's name (host:pid by default).
    pub worker: String,
    /// How long a claimed run stays this worker's without a heartbeat.
    pub lease: Duration,
}

/// What the daemon's parts share.
pub struct Shared {
    pub db: Db,
    pub store: Store,
    pub registry: Vec<Box<dyn JobKind>>,
    pub config: ConfigFile,
    pub env: EnvFn,
    pub clock: Arc<dyn Clock>,
    pub worker: String,
    pub lease: Duration,
    pub metrics: metrics::Metrics,
    /// The km search index (km jobs write it, km search reads it).
    pub km_index: Arc<jobs::KmIndex>,
    /// Notion's verification token once a verification request arrived (until then
    /// `KBRIDGE_NOTION_WEBHOOK_TOKEN`).
    pub(crate) notion_webhook_token: std::sync::Mutex<Option<SecretString>>,
    /// SHA-256 of the admin token (compared in constant time; the token itself is not kept).
    pub(crate) token_digest: [u8; 32],
    pub(crate) auth: api::AuthState,
}

impl Shared {
    /// Opens the store (migrations), the daemon's pool, and loads `kbridge.toml`'s
    /// connections and jobs (origin `file`); schedules are checked here, once.
    pub async fn open(o: ServeOptions) -> Result<Arc<Shared>, ServeError> {
        if o.admin_token.expose_secret().trim().len() < 16 {
            return Err(ServeError::Start(format!(
                "{ADMIN_TOKEN_ENV} is missing or shorter than 16 characters: set it to a long random value (e.g. `openssl rand -hex 32`)"
            )));
        }
        let store = Store::open(&o.store_url).await?;
        let db = Db::open(&o.store_url).await?;
        let sh = Arc::new(Shared {
            db,
            store,
            registry: jobs::registry(),
            notion_webhook_token: std::sync::Mutex::new(None),
            km_index: Arc::new(jobs::KmIndex::for_config(&o.config, &o.store_url)),
            token_digest: Sha256::digest(o.admin_token.expose_secret().trim().as_bytes()).into(),
            config: o.config,
            env: o.env,
            clock: o.clock,
            worker: o.worker,
            lease: o.lease,
            metrics: metrics::Metrics::default(),
            auth: api::AuthState::default(),
        });
        sh.load_file().await?;
        Ok(sh)
    }

    async fn load_file(&self) -> Result<(), ServeError> {
        let now = self.clock.now().as_millisecond();
        for (name, c) in &self.config.connections {
            let spec = serde_json::to_value(c).map_err(|e| ServeError::Corrupt {
                what: e.to_string(),
            })?;
            self.db.put_connection(name, &spec, "file", now).await?;
        }
        for (name, job) in &self.config.jobs {
            let spec = serde_json::to_value(job).map_err(|e| ServeError::Corrupt {
                what: e.to_string(),
            })?;
            let schedule = match self.config.schedules.get(name) {
                Some(s) => {
                    let spec = schedule::ScheduleSpec {
                        every: s.every.clone(),
                        time_zone: s.time_zone.clone().unwrap_or_else(|| "UTC".into()),
                        jitter_seconds: s.jitter_seconds.unwrap_or(0),
                    };
                    schedule::Schedule::new(spec.clone()).map_err(|e| ServeError::Invalid {
                        what: format!("kbridge.toml schedules.{name}"),
                        fix: e.to_string(),
                    })?;
                    Some(serde_json::to_value(spec).map_err(|e| ServeError::Corrupt {
                        what: e.to_string(),
                    })?)
                }
                None => None,
            };
            let paused = self.config.schedules.get(name).map(|s| s.paused);
            self.db
                .put_job(
                    name,
                    &spec,
                    schedule.as_ref(),
                    paused.filter(|p| *p),
                    "file",
                    now,
                )
                .await?;
        }
        // `[[km.jobs]]`: km jobs with their schedules (in UTC, as km documents them).
        for j in self.config.km.iter().flat_map(|k| k.jobs.iter()) {
            let bad = |fix: String| ServeError::Invalid {
                what: format!("kbridge.toml km.jobs {:?}", j.name),
                fix,
            };
            if self.config.jobs.contains_key(&j.name) {
                return Err(bad("a [jobs] entry has the same name: rename one".into()));
            }
            let what = match j.what.as_str() {
                "content" | "permissions" => j.what.clone(),
                w => return Err(bad(format!("what = {w:?}: use content or permissions"))),
            };
            let every = kb_config::km::schedule_every(&j.schedule).map_err(bad)?;
            let sched = schedule::ScheduleSpec {
                every,
                time_zone: "UTC".into(),
                jitter_seconds: 0,
            };
            schedule::Schedule::new(sched.clone()).map_err(|e| bad(e.to_string()))?;
            let spec = serde_json::to_value(kb_config::Job::Km(kb_config::KmSyncJob {
                connection: None,
                what: Some(what),
            }))
            .map_err(|e| ServeError::Corrupt {
                what: e.to_string(),
            })?;
            let sched = serde_json::to_value(sched).map_err(|e| ServeError::Corrupt {
                what: e.to_string(),
            })?;
            self.db
                .put_job(&j.name, &spec, Some(&sched), None, "file", now)
                .await?;
        }
        for name in self.config.schedules.keys() {
            if !self.config.jobs.contains_key(name) {
                return Err(ServeError::Invalid {
                    what: format!("kbridge.toml schedules.{name}"),
                    fix: format!("there is no [jobs.{name}]: add it or remove the schedule"),
                });
            }
        }
        Ok(())
    }

    /// `kbridge.toml` with the stored connections (added through the API) in it.
    pub async fn config_with_connections(&self) -> Result<ConfigFile, ServeError> {
        let mut c = self.config.clone();
        for row in self.db.connections().await? {
            let conn: Connection =
                serde_json::from_value(row.spec.clone()).map_err(|e| ServeError::Invalid {
                    what: format!("the stored connection {:?}", row.name),
                    fix: format!("{e}: save it again"),
                })?;
            c.connections.insert(row.name, conn);
        }
        Ok(c)
    }

    /// Parses a stored connection's spec (for the API's test button).
    pub fn connection_spec(v: &Value) -> Result<Connection, String> {
        serde_json::from_value(v.clone()).map_err(|e| e.to_string())
    }
}

/// Runs the daemon until `stop` turns true: the scheduler ticks every second, the runner runs
/// up to `concurrency` jobs, the admin API listens on `listen` (unless `worker_only`).
pub async fn serve(
    sh: Arc<Shared>,
    listen: Option<SocketAddr>,
    concurrency: usize,
    stop: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    let server = match listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                ServeError::Start(format!(
                    "cannot listen on {addr}: {e}: give another --listen"
                ))
            })?;
            let app = api::router(sh.clone()).into_make_service_with_connect_info::<SocketAddr>();
            let mut s = stop.clone();
            Some(tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = s.wait_for(|v| *v).await;
                    })
                    .await
            }))
        }
        None => None,
    };
    let ticker = {
        let sh = sh.clone();
        let mut s = stop.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = scheduler::tick(&sh.db, sh.clock.now()).await {
                    tracing::warn!(error = %e, "the scheduler's tick failed; trying again");
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = s.wait_for(|v| *v) => break,
                }
            }
        })
    };
    runner::work(
        sh.clone(),
        stop.clone(),
        concurrency,
        Duration::from_millis(500),
    )
    .await;
    let _ = ticker.await;
    if let Some(s) = server {
        match s.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(ServeError::Start(format!("the HTTP server stopped: {e}"))),
            Err(e) => return Err(ServeError::Start(format!("the HTTP server stopped: {e}"))),
        }
    }
    sh.db.close().await;
    sh.store.close().await;
    Ok(())
}
