//! The daemon's tables (store migration 7): connections and jobs added through the API or
//! loaded from `kbridge.toml`, the run queue with leases and fencing tokens, and run logs.
//! One SQL text for both backends through sqlx's `Any` driver (parameters `$1, $2, …` in
//! order of appearance); the claim adds `FOR UPDATE SKIP LOCKED` on PostgreSQL.
//!
//! Times are epoch milliseconds. Nothing here holds a secret: a connection's spec names the
//! environment variable or file of its token.

use serde::Serialize;
use serde_json::Value;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Row};

use crate::error::ServeError;

/// Which database the daemon shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The daemon's view of the store's database.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// A stored connection.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionRow {
    pub name: String,
    /// The connection as in `kbridge.toml` (`kind`, url, email, `token_env`…): no secret.
    pub spec: Value,
    /// `file` (from kbridge.toml) or `api`.
    pub origin: String,
    pub updated_at: i64,
}

/// A stored job with its schedule state.
#[derive(Debug, Clone, Serialize)]
pub struct JobRow {
    pub name: String,
    pub spec: Value,
    pub schedule: Option<Value>,
    pub paused: bool,
    pub origin: String,
    /// The next scheduled time (without jitter), epoch ms.
    pub next_due_at: Option<i64>,
    /// The last scheduled time a run was queued for.
    pub last_due_at: Option<i64>,
    pub updated_at: i64,
}

/// A run of the queue.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    pub id: i64,
    pub job: String,
    pub kind: String,
    /// `schedule`, `catch_up`, `manual`, `resume` or `webhook:SOURCE`.
    pub trigger: String,
    pub due_at: Option<i64>,
    pub queued_at: i64,
    /// `queued`, `running`, `succeeded`, `failed`, `interrupted`.
    pub status: String,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub worker: Option<String>,
    pub lease_until: Option<i64>,
    pub fence: i64,
    pub counts: Value,
    pub requests: Value,
    pub errors: Value,
    /// The engine's own run id (the store's `runs` table), when it keeps one.
    pub store_run: Option<i64>,
}

/// A run claimed by a worker: only writes carrying its fence count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: i64,
    pub job: String,
    pub kind: String,
    pub trigger: String,
    pub fence: i64,
}

/// One log line of a run.
#[derive(Debug, Clone, Serialize)]
pub struct LogRow {
    pub id: i64,
    pub run_id: i64,
    pub at: i64,
    pub level: String,
    pub object: Option<String>,
    pub message: String,
}

/// Filters of the log listing.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub run_id: Option<i64>,
    pub level: Option<String>,
    /// A substring of the object (a table, a page title, a space).
    pub object: Option<String>,
    pub limit: i64,
}

const RUN_COLS: &str = "\"id\", \"job\", \"kind\", \"trigger\", \"due_at\", \"queued_at\", \"status\", \"started_at\", \"ended_at\", \"worker\", \"lease_until\", \"fence\", \"counts\", \"requests\", \"errors\", \"store_run\"";
const JOB_COLS: &str = "\"name\", \"spec\", \"schedule\", \"paused\", \"origin\", \"next_due_at\", \"last_due_at\", \"updated_at\"";

fn json(doing: &'static str, s: &str) -> Result<Value, ServeError> {
    serde_json::from_str(s).map_err(|e| ServeError::Corrupt {
        what: format!("{doing}: stored JSON cannot be read ({e})"),
    })
}

impl Db {
    /// Opens a pool on the store's database (`kbridge.db`, `sqlite:…` or `postgres://…`).
    /// The store must have been opened first (it applies the migrations).
    pub async fn open(store_url: &str) -> Result<Db, ServeError> {
        sqlx::any::install_default_drivers();
        let (url, backend) =
            if store_url.starts_with("postgres://") || store_url.starts_with("postgresql://") {
                (store_url.to_string(), Backend::Postgres)
            } else {
                let path = store_url
                    .strip_prefix("sqlite://")
                    .or_else(|| store_url.strip_prefix("sqlite:"))
                    .unwrap_or(store_url);
                (format!("sqlite://{path}"), Backend::Sqlite)
            };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .connect(&url)
            .await
            .map_err(|source| ServeError::Db {
                doing: format!("opening {}", kb_store::redact_url(store_url)),
                source,
            })?;
        if backend == Backend::Sqlite {
            for pragma in ["PRAGMA busy_timeout = 10000", "PRAGMA foreign_keys = ON"] {
                sqlx::query(pragma)
                    .execute(&pool)
                    .await
                    .map_err(|source| ServeError::Db {
                        doing: "setting up SQLite".into(),
                        source,
                    })?;
            }
        }
        Ok(Db { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), ServeError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db("checking the database"))
    }

    // ---- connections

    pub async fn put_connection(
        &self,
        name: &str,
        spec: &Value,
        origin: &str,
        now: i64,
    ) -> Result<(), ServeError> {
        sqlx::query(
            "INSERT INTO \"serve_connections\" (\"name\", \"spec\", \"origin\", \"updated_at\") VALUES ($1, $2, $3, $4) \
             ON CONFLICT (\"name\") DO UPDATE SET \"spec\" = excluded.\"spec\", \"origin\" = excluded.\"origin\", \"updated_at\" = excluded.\"updated_at\"",
        )
        .bind(name)
        .bind(spec.to_string())
        .bind(origin)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db("saving a connection"))?;
        Ok(())
    }

    pub async fn connections(&self) -> Result<Vec<ConnectionRow>, ServeError> {
        let rows = sqlx::query(
            "SELECT \"name\", \"spec\", \"origin\", \"updated_at\" FROM \"serve_connections\" ORDER BY \"name\"",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing connections"))?;
        rows.iter()
            .map(|r| {
                Ok(ConnectionRow {
                    name: r.try_get(0).map_err(db("reading a connection"))?,
                    spec: json(
                        "a connection",
                        &r.try_get::<String, _>(1)
                            .map_err(db("reading a connection"))?,
                    )?,
                    origin: r.try_get(2).map_err(db("reading a connection"))?,
                    updated_at: r.try_get(3).map_err(db("reading a connection"))?,
                })
            })
            .collect()
    }

    pub async fn delete_connection(&self, name: &str) -> Result<bool, ServeError> {
        let n = sqlx::query("DELETE FROM \"serve_connections\" WHERE \"name\" = $1")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(db("deleting a connection"))?
            .rows_affected();
        Ok(n > 0)
    }

    // ---- jobs

    /// Saves a job's spec and schedule. A changed schedule clears the next due time (the
    /// scheduler computes it again); pause and the last due time stay.
    pub async fn put_job(
        &self,
        name: &str,
        spec: &Value,
        schedule: Option<&Value>,
        paused: Option<bool>,
        origin: &str,
        now: i64,
    ) -> Result<(), ServeError> {
        let schedule = schedule.map(Value::to_string);
        let mut tx = self.pool.begin().await.map_err(db("saving a job"))?;
        let old: Option<(Option<String>,)> =
            sqlx::query_as("SELECT \"schedule\" FROM \"serve_jobs\" WHERE \"name\" = $1")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db("saving a job"))?;
        match old {
            None => {
                sqlx::query(
                    "INSERT INTO \"serve_jobs\" (\"name\", \"spec\", \"schedule\", \"paused\", \"origin\", \"updated_at\") VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(name)
                .bind(spec.to_string())
                .bind(schedule)
                .bind(i64::from(paused.unwrap_or(false)))
                .bind(origin)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db("saving a job"))?;
            }
            Some((old_schedule,)) => {
                let changed = old_schedule != schedule;
                sqlx::query(
                    "UPDATE \"serve_jobs\" SET \"spec\" = $1, \"schedule\" = $2, \"origin\" = $3, \"updated_at\" = $4, \
                     \"next_due_at\" = CASE WHEN $5 = 1 THEN NULL ELSE \"next_due_at\" END WHERE \"name\" = $6",
                )
                .bind(spec.to_string())
                .bind(schedule)
                .bind(origin)
                .bind(now)
                .bind(i64::from(changed))
                .bind(name)
                .execute(&mut *tx)
                .await
                .map_err(db("saving a job"))?;
                if let Some(p) = paused {
                    self.set_paused_in(&mut tx, name, p).await?;
                }
            }
        }
        tx.commit().await.map_err(db("saving a job"))?;
        Ok(())
    }

    async fn set_paused_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        name: &str,
        paused: bool,
    ) -> Result<bool, ServeError> {
        // Resuming clears the next due time: the runs missed while paused are not caught up.
        let n = sqlx::query(
            "UPDATE \"serve_jobs\" SET \"paused\" = $1, \"next_due_at\" = CASE WHEN $2 = 0 THEN NULL ELSE \"next_due_at\" END WHERE \"name\" = $3",
        )
        .bind(i64::from(paused))
        .bind(i64::from(paused))
        .bind(name)
        .execute(&mut **tx)
        .await
        .map_err(db("pausing a job"))?
        .rows_affected();
        Ok(n > 0)
    }

    /// Pauses or resumes a job's schedule; false if there is no such job.
    pub async fn set_paused(&self, name: &str, paused: bool) -> Result<bool, ServeError> {
        let mut tx = self.pool.begin().await.map_err(db("pausing a job"))?;
        let found = self.set_paused_in(&mut tx, name, paused).await?;
        tx.commit().await.map_err(db("pausing a job"))?;
        Ok(found)
    }

    pub async fn delete_job(&self, name: &str) -> Result<bool, ServeError> {
        let n = sqlx::query("DELETE FROM \"serve_jobs\" WHERE \"name\" = $1")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(db("deleting a job"))?
            .rows_affected();
        Ok(n > 0)
    }

    pub async fn jobs(&self) -> Result<Vec<JobRow>, ServeError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOB_COLS} FROM \"serve_jobs\" ORDER BY \"name\""
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing jobs"))?;
        rows.iter().map(job_row).collect()
    }

    pub async fn job(&self, name: &str) -> Result<Option<JobRow>, ServeError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOB_COLS} FROM \"serve_jobs\" WHERE \"name\" = $1"
        )))
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("reading a job"))?;
        row.as_ref().map(job_row).transpose()
    }

    /// Moves a job's next due time from `from` to `to` (compare-and-set: of several workers
    /// ticking at once, one wins), recording `last_due` when a run was queued for it.
    pub async fn advance_job(
        &self,
        name: &str,
        from: Option<i64>,
        to: Option<i64>,
        last_due: Option<i64>,
    ) -> Result<bool, ServeError> {
        let n = sqlx::query(
            "UPDATE \"serve_jobs\" SET \"next_due_at\" = $1, \"last_due_at\" = COALESCE($2, \"last_due_at\") \
             WHERE \"name\" = $3 AND ((\"next_due_at\" IS NULL AND $4 IS NULL) OR \"next_due_at\" = $5)",
        )
        .bind(to)
        .bind(last_due)
        .bind(name)
        .bind(from)
        .bind(from)
        .execute(&self.pool)
        .await
        .map_err(db("advancing a schedule"))?
        .rows_affected();
        Ok(n > 0)
    }

    // ---- the run queue

    /// Queues a run of `job`; `None` when the job already has a run queued or running (never
    /// two at once: a unique index on open runs decides, for every worker alike).
    pub async fn enqueue(
        &self,
        job: &str,
        kind: &str,
        trigger: &str,
        due_at: Option<i64>,
        now: i64,
    ) -> Result<Option<i64>, ServeError> {
        let r = sqlx::query(
            "INSERT INTO \"serve_runs\" (\"job\", \"kind\", \"trigger\", \"due_at\", \"queued_at\", \"status\") \
             VALUES ($1, $2, $3, $4, $5, 'queued') RETURNING \"id\"",
        )
        .bind(job)
        .bind(kind)
        .bind(trigger)
        .bind(due_at)
        .bind(now)
        .fetch_one(&self.pool)
        .await;
        match r {
            Ok(row) => Ok(Some(row.try_get(0).map_err(db("queueing a run"))?)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(source) => Err(ServeError::Db {
                doing: "queueing a run".into(),
                source,
            }),
        }
    }

    /// Claims the oldest queued run, or a running one whose lease expired (its worker died):
    /// it becomes `running` under `worker` until `lease_until`, with a new fencing token.
    pub async fn claim(
        &self,
        worker: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<Claim>, ServeError> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.pool.begin().await.map_err(db("claiming a run"))?;
        if self.backend == Backend::Sqlite {
            // Take the write lock now, so two claims never read the same queued run.
            sqlx::query("UPDATE \"serve_runs\" SET \"id\" = \"id\" WHERE 0 = 1")
                .execute(&mut *tx)
                .await
                .map_err(db("claiming a run"))?;
        }
        let pick = sqlx::query(AssertSqlSafe(format!(
            "SELECT \"id\" FROM \"serve_runs\" WHERE \"status\" = 'queued' OR (\"status\" = 'running' AND \"lease_until\" < $1) \
             ORDER BY \"id\" LIMIT 1{lock}"
        )))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("claiming a run"))?;
        let Some(pick) = pick else {
            tx.commit().await.map_err(db("claiming a run"))?;
            return Ok(None);
        };
        let id: i64 = pick.try_get(0).map_err(db("claiming a run"))?;
        let row = sqlx::query(
            "UPDATE \"serve_runs\" SET \"status\" = 'running', \"worker\" = $1, \"started_at\" = COALESCE(\"started_at\", $2), \
             \"lease_until\" = $3, \"fence\" = \"fence\" + 1 WHERE \"id\" = $4 RETURNING \"id\", \"job\", \"kind\", \"trigger\", \"fence\"",
        )
        .bind(worker)
        .bind(now)
        .bind(lease_until)
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db("claiming a run"))?;
        tx.commit().await.map_err(db("claiming a run"))?;
        Ok(Some(Claim {
            id: row.try_get(0).map_err(db("claiming a run"))?,
            job: row.try_get(1).map_err(db("claiming a run"))?,
            kind: row.try_get(2).map_err(db("claiming a run"))?,
            trigger: row.try_get(3).map_err(db("claiming a run"))?,
            fence: row.try_get(4).map_err(db("claiming a run"))?,
        }))
    }

    /// Extends the lease of a claimed run; false when the claim is no longer this worker's
    /// (its lease expired and another worker took the run over): the worker must stop.
    pub async fn heartbeat(&self, c: &Claim, lease_until: i64) -> Result<bool, ServeError> {
        let n = sqlx::query(
            "UPDATE \"serve_runs\" SET \"lease_until\" = $1 WHERE \"id\" = $2 AND \"fence\" = $3 AND \"status\" = 'running'",
        )
        .bind(lease_until)
        .bind(c.id)
        .bind(c.fence)
        .execute(&self.pool)
        .await
        .map_err(db("renewing a lease"))?
        .rows_affected();
        Ok(n > 0)
    }

    /// Records the progress or the end of a claimed run (fenced: false if the run is no longer
    /// this claim's).
    #[allow(clippy::too_many_arguments)]
    pub async fn write_run(
        &self,
        c: &Claim,
        status: &str,
        counts: &Value,
        requests: &Value,
        errors: &Value,
        store_run: Option<i64>,
        ended_at: Option<i64>,
    ) -> Result<bool, ServeError> {
        let n = sqlx::query(
            "UPDATE \"serve_runs\" SET \"status\" = $1, \"counts\" = $2, \"requests\" = $3, \"errors\" = $4, \
             \"store_run\" = COALESCE($5, \"store_run\"), \"ended_at\" = $6 WHERE \"id\" = $7 AND \"fence\" = $8",
        )
        .bind(status)
        .bind(counts.to_string())
        .bind(requests.to_string())
        .bind(errors.to_string())
        .bind(store_run)
        .bind(ended_at)
        .bind(c.id)
        .bind(c.fence)
        .execute(&self.pool)
        .await
        .map_err(db("recording a run"))?
        .rows_affected();
        Ok(n > 0)
    }

    /// Puts a claimed run back in the queue (the daemon is stopping: the next start resumes it
    /// from its checkpoint).
    pub async fn requeue(&self, c: &Claim) -> Result<bool, ServeError> {
        let n = sqlx::query(
            "UPDATE \"serve_runs\" SET \"status\" = 'queued', \"trigger\" = 'resume', \"worker\" = NULL, \"lease_until\" = NULL \
             WHERE \"id\" = $1 AND \"fence\" = $2",
        )
        .bind(c.id)
        .bind(c.fence)
        .execute(&self.pool)
        .await
        .map_err(db("requeueing a run"))?
        .rows_affected();
        Ok(n > 0)
    }

    pub async fn runs(&self, job: Option<&str>, limit: i64) -> Result<Vec<RunRow>, ServeError> {
        let rows = match job {
            Some(j) => sqlx::query(AssertSqlSafe(format!(
                "SELECT {RUN_COLS} FROM \"serve_runs\" WHERE \"job\" = $1 ORDER BY \"id\" DESC LIMIT $2"
            )))
            .bind(j)
            .bind(limit),
            None => sqlx::query(AssertSqlSafe(format!(
                "SELECT {RUN_COLS} FROM \"serve_runs\" ORDER BY \"id\" DESC LIMIT $1"
            )))
            .bind(limit),
        }
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing runs"))?;
        rows.iter().map(run_row).collect()
    }

    pub async fn run(&self, id: i64) -> Result<Option<RunRow>, ServeError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RUN_COLS} FROM \"serve_runs\" WHERE \"id\" = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("reading a run"))?;
        row.as_ref().map(run_row).transpose()
    }

    /// Whether `job` has a run queued or running.
    pub async fn open_run(&self, job: &str) -> Result<Option<i64>, ServeError> {
        let row = sqlx::query(
            "SELECT \"id\" FROM \"serve_runs\" WHERE \"job\" = $1 AND \"status\" IN ('queued', 'running')",
        )
        .bind(job)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("reading a run"))?;
        row.map(|r| r.try_get(0))
            .transpose()
            .map_err(db("reading a run"))
    }

    // ---- logs

    pub async fn log(
        &self,
        run_id: i64,
        at: i64,
        level: &str,
        object: Option<&str>,
        message: &str,
    ) -> Result<(), ServeError> {
        sqlx::query(
            "INSERT INTO \"serve_logs\" (\"run_id\", \"at\", \"level\", \"object\", \"message\") VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(run_id)
        .bind(at)
        .bind(level)
        .bind(object)
        .bind(message)
        .execute(&self.pool)
        .await
        .map_err(db("writing a log line"))?;
        Ok(())
    }

    pub async fn logs(&self, f: &LogFilter) -> Result<Vec<LogRow>, ServeError> {
        // Filters that are absent compare with themselves (one SQL text for every combination).
        let rows = sqlx::query(
            "SELECT \"id\", \"run_id\", \"at\", \"level\", \"object\", \"message\" FROM \"serve_logs\" \
             WHERE ($1 IS NULL OR \"run_id\" = $2) AND ($3 IS NULL OR \"level\" = $4) \
             AND ($5 IS NULL OR \"object\" LIKE $6 ESCAPE '\\') ORDER BY \"id\" LIMIT $7",
        )
        .bind(f.run_id)
        .bind(f.run_id)
        .bind(f.level.clone())
        .bind(f.level.clone())
        .bind(f.object.clone())
        .bind(f.object.as_ref().map(|o| {
            // A substring, literally: LIKE's wildcards in it are escaped (table names have `_`).
            let lit = o.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{lit}%")
        }))
        .bind(f.limit.clamp(1, 10_000))
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing logs"))?;
        rows.iter()
            .map(|r| {
                let e = db("reading a log line");
                Ok(LogRow {
                    id: r.try_get(0).map_err(&e)?,
                    run_id: r.try_get(1).map_err(&e)?,
                    at: r.try_get(2).map_err(&e)?,
                    level: r.try_get(3).map_err(&e)?,
                    object: r.try_get(4).map_err(&e)?,
                    message: r.try_get(5).map_err(&e)?,
                })
            })
            .collect()
    }
}

fn db(doing: &'static str) -> impl Fn(sqlx::Error) -> ServeError {
    move |source| ServeError::Db {
        doing: doing.to_string(),
        source,
    }
}

fn job_row(r: &AnyRow) -> Result<JobRow, ServeError> {
    let e = db("reading a job");
    let schedule: Option<String> = r.try_get(2).map_err(&e)?;
    Ok(JobRow {
        name: r.try_get(0).map_err(&e)?,
        spec: json("a job", &r.try_get::<String, _>(1).map_err(&e)?)?,
        schedule: schedule.map(|s| json("a schedule", &s)).transpose()?,
        paused: r.try_get::<i64, _>(3).map_err(&e)? != 0,
        origin: r.try_get(4).map_err(&e)?,
        next_due_at: r.try_get(5).map_err(&e)?,
        last_due_at: r.try_get(6).map_err(&e)?,
        updated_at: r.try_get(7).map_err(&e)?,
    })
}

fn run_row(r: &AnyRow) -> Result<RunRow, ServeError> {
    let e = db("reading a run");
    Ok(RunRow {
        id: r.try_get(0).map_err(&e)?,
        job: r.try_get(1).map_err(&e)?,
        kind: r.try_get(2).map_err(&e)?,
        trigger: r.try_get(3).map_err(&e)?,
        due_at: r.try_get(4).map_err(&e)?,
        queued_at: r.try_get(5).map_err(&e)?,
        status: r.try_get(6).map_err(&e)?,
        started_at: r.try_get(7).map_err(&e)?,
        ended_at: r.try_get(8).map_err(&e)?,
        worker: r.try_get(9).map_err(&e)?,
        lease_until: r.try_get(10).map_err(&e)?,
        fence: r.try_get(11).map_err(&e)?,
        counts: json("a run's counts", &r.try_get::<String, _>(12).map_err(&e)?)?,
        requests: json("a run's requests", &r.try_get::<String, _>(13).map_err(&e)?)?,
        errors: json("a run's errors", &r.try_get::<String, _>(14).map_err(&e)?)?,
        store_run: r.try_get(15).map_err(&e)?,
    })
}
