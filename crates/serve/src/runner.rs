//! The job runner: claims queued runs (or runs whose lease expired) and runs them through
//! their [`JobKind`](crate::jobs::JobKind), with a heartbeat that renews the lease; every write
//! about a run carries its fencing token, so a worker that lost its lease can no longer record
//! anything. Progress goes to the run's log; the end to the run's row (status, counts,
//! requests, errors) and to the metrics.
//!
//! Stopping (SIGTERM): a running job is dropped at an await point; what the engine committed
//! stays with its checkpoint (each batch is one transaction), the run goes back to the queue
//! (`resume`) and the next start continues it from there.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kb_config::Job;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::Shared;
use crate::db::Claim;
use crate::error::ServeError;
use crate::jobs::{JobContext, Level, LogFn, kind_for};

/// How a run ended, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// `succeeded` or `failed` (recorded).
    Finished(String),
    /// Stopped by the daemon's shutdown; queued again.
    Requeued,
    /// The lease was lost (another worker owns the run now); nothing recorded.
    LeaseLost,
}

/// Claims and runs queued runs one after the other until none is left; the ids run (tests,
/// and `kbridge serve --once`).
pub async fn drain(sh: &Arc<Shared>) -> Result<Vec<(i64, Ended)>, ServeError> {
    let (_keep, stop) = watch::channel(false);
    let mut done = Vec::new();
    while let Some(c) = claim(sh).await? {
        let id = c.id;
        done.push((id, execute(sh, c, stop.clone()).await?));
    }
    Ok(done)
}

async fn claim(sh: &Arc<Shared>) -> Result<Option<Claim>, ServeError> {
    let now = sh.clock.now().as_millisecond();
    sh.db
        .claim(&sh.worker, now, now + sh.lease.as_millis() as i64)
        .await
}

/// The worker loop: up to `concurrency` runs at once, polling the queue every `poll`, until
/// `stop` turns true; then it waits for the running jobs to stop at a checkpoint.
pub async fn work(
    sh: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    concurrency: usize,
    poll: Duration,
) {
    let mut set = JoinSet::new();
    loop {
        if *stop.borrow() {
            break;
        }
        while set.len() < concurrency.max(1) {
            match claim(&sh).await {
                Ok(Some(c)) => {
                    let sh = sh.clone();
                    let stop = stop.clone();
                    set.spawn(async move {
                        let id = c.id;
                        if let Err(e) = execute(&sh, c, stop).await {
                            tracing::error!(run = id, error = %e, "recording a run failed");
                        }
                    });
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming a run failed; trying again");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            Some(_) = set.join_next(), if !set.is_empty() => {}
            _ = stop.changed() => {}
        }
    }
    while set.join_next().await.is_some() {}
}

enum Outcome {
    Done(Result<crate::jobs::JobOutcome, crate::jobs::JobError>),
    Stopped,
    Lost,
}

/// Runs one claimed run to its end.
pub async fn execute(
    sh: &Arc<Shared>,
    claim: Claim,
    mut stop: watch::Receiver<bool>,
) -> Result<Ended, ServeError> {
    let now_ms = || sh.clock.now().as_millisecond();
    let fail = async |why: String| -> Result<Ended, ServeError> {
        sh.db.log(claim.id, now_ms(), "error", None, &why).await?;
        sh.db
            .write_run(
                &claim,
                "failed",
                &json!({}),
                &json!({}),
                &json!([why]),
                None,
                Some(now_ms()),
            )
            .await?;
        sh.metrics.run_finished(&claim.kind, "failed", 0.0);
        Ok(Ended::Finished("failed".into()))
    };
    let Some(row) = sh.db.job(&claim.job).await? else {
        return fail(format!("the job {:?} no longer exists", claim.job)).await;
    };
    let job: Job = match serde_json::from_value(row.spec.clone()) {
        Ok(j) => j,
        Err(e) => {
            return fail(format!(
                "the job {:?} cannot be read ({e}): save it again",
                claim.job
            ))
            .await;
        }
    };
    if kind_for(&sh.registry, &job).is_none() {
        return fail(format!("no runner hosts jobs of kind {:?}", claim.kind)).await;
    }
    let config = match sh.config_with_connections().await {
        Ok(c) => c,
        Err(e) => return fail(e.to_string()).await,
    };

    // Log lines go through a channel (the engine's progress callbacks are synchronous) to one
    // writer, which is awaited before the run's end is recorded: no line is lost.
    let (tx, mut rx) = mpsc::unbounded_channel::<(i64, Level, Option<String>, String)>();
    let clock = sh.clock.clone();
    let log: LogFn = Arc::new(move |level, object, message| {
        let _ = tx.send((
            clock.now().as_millisecond(),
            level,
            object.map(str::to_string),
            message.to_string(),
        ));
    });
    let writer = {
        let db = sh.db.clone();
        let id = claim.id;
        tokio::spawn(async move {
            let mut failed = 0u64;
            while let Some((at, level, object, message)) = rx.recv().await {
                if db
                    .log(id, at, level.as_str(), object.as_deref(), &message)
                    .await
                    .is_err()
                {
                    failed += 1;
                }
            }
            failed
        })
    };
    log(
        Level::Info,
        None,
        &format!(
            "run {} of job {:?} started ({}, worker {})",
            claim.id, claim.job, claim.trigger, sh.worker
        ),
    );
    sh.metrics.run_started(&claim.kind);
    let ctx = JobContext {
        store: sh.store.clone(),
        config,
        env: sh.env.clone(),
        now: sh.clock.now(),
        log: log.clone(),
        km_index: sh.km_index.clone(),
    };
    let started = Instant::now();
    // The engine's futures are not Send: the run is driven on a blocking thread of this
    // runtime, with its heartbeat and the stop signal.
    let handle = tokio::runtime::Handle::current();
    let outcome = {
        let sh = sh.clone();
        let claim = claim.clone();
        tokio::task::spawn_blocking(move || {
            handle.block_on(async move {
                let heartbeat = async {
                    loop {
                        tokio::time::sleep(sh.lease / 3).await;
                        let until = sh.clock.now().as_millisecond() + sh.lease.as_millis() as i64;
                        match sh.db.heartbeat(&claim, until).await {
                            Ok(true) => {}
                            Ok(false) => return,
                            Err(e) => tracing::warn!(run = claim.id, error = %e, "renewing the lease failed"),
                        }
                    }
                };
                let Some(kind) = kind_for(&sh.registry, &job) else {
                    return (Outcome::Done(Err(crate::jobs::JobError("no runner for this kind".into()))), ctx);
                };
                let o = tokio::select! {
                    r = kind.run(&job, &ctx) => Outcome::Done(r),
                    _ = stop.wait_for(|s| *s) => Outcome::Stopped,
                    () = heartbeat => Outcome::Lost,
                };
                (o, ctx)
            })
        })
        .await
    };
    let (outcome, ctx) = match outcome {
        Ok(o) => o,
        Err(e) => {
            drop(log);
            let _ = writer.await;
            return fail(format!("the run's task ended abnormally: {e}")).await;
        }
    };
    let secs = started.elapsed().as_secs_f64();
    let ended = match outcome {
        Outcome::Done(r) => {
            let (status, counts, requests, errors, store_run) = match r {
                Ok(o) => {
                    for e in &o.errors {
                        log(Level::Error, None, e);
                    }
                    let status = if o.errors.is_empty() {
                        "succeeded"
                    } else {
                        "failed"
                    };
                    (status, o.counts, o.requests, o.errors, o.store_run)
                }
                Err(e) => {
                    log(Level::Error, None, &e.0);
                    ("failed", json!({}), json!({}), vec![e.0], None)
                }
            };
            log(
                Level::Info,
                None,
                &format!("run {} {status} in {secs:.1} s", claim.id),
            );
            drop(ctx);
            drop(log);
            let lost_lines = writer.await.unwrap_or(0);
            let mut errors = Value::from(errors);
            if lost_lines > 0
                && let Some(a) = errors.as_array_mut()
            {
                a.push(json!(format!(
                    "{lost_lines} log lines could not be written"
                )));
            }
            if sh
                .db
                .write_run(
                    &claim,
                    status,
                    &counts,
                    &requests,
                    &errors,
                    store_run,
                    Some(now_ms()),
                )
                .await?
            {
                sh.metrics.run_finished(&claim.kind, status, secs);
                sh.metrics.rows_written(&counts);
                sh.metrics.requests(
                    if claim.kind == "extract" {
                        "confluence"
                    } else {
                        "all"
                    },
                    &requests,
                );
                Ended::Finished(status.into())
            } else {
                Ended::LeaseLost
            }
        }
        Outcome::Stopped => {
            log(
                Level::Warn,
                None,
                "stopped by the daemon's shutdown at its last checkpoint; the next start resumes it",
            );
            drop(ctx);
            drop(log);
            let _ = writer.await;
            sh.store
                .interrupt_own_runs("interrupted: kbridge serve stopped; it resumes the run")
                .await?;
            sh.db.requeue(&claim).await?;
            Ended::Requeued
        }
        Outcome::Lost => {
            log(
                Level::Warn,
                None,
                "the lease was lost (another worker took the run over); this worker stopped",
            );
            drop(ctx);
            drop(log);
            let _ = writer.await;
            Ended::LeaseLost
        }
    };
    Ok(ended)
}
