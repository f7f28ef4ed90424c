//! The scheduler: on every tick (the daemon ticks each second; tests tick by hand with a
//! [`ManualClock`](crate::clock::ManualClock)) each scheduled, unpaused job whose time (plus its
//! jitter) has come gets one queued run.
//!
//! - **No overlap**: a job with a run queued or running gets no second one (the queue's unique
//!   index decides); the occurrence is skipped and logged.
//! - **Catch-up once**: the next due time is kept in the store, so after downtime a job whose
//!   time passed runs once on start (trigger `catch_up` when more than one time was missed),
//!   and its next time is the first one after now (the missed ones are not replayed).
//! - **Pause/resume**: a paused job is not queued; resuming starts from the next time after
//!   the resume (what was missed while paused is not caught up).
//! - Several workers may tick at once (PostgreSQL): the due time moves by compare-and-set, so
//!   one of them queues the run.

use jiff::Timestamp;
use serde::Serialize;

use crate::db::{Db, JobRow};
use crate::error::ServeError;
use crate::schedule::{Schedule, ScheduleSpec};

/// What a tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tick {
    /// Runs queued: job, run id, trigger.
    pub queued: Vec<(String, i64, String)>,
    /// Jobs whose time came while a run of theirs was still open.
    pub skipped_overlap: Vec<String>,
    /// Jobs whose stored schedule cannot be used (with why).
    pub invalid: Vec<(String, String)>,
}

/// The schedule of a stored job (`None`: run only by hand).
pub fn schedule_of(job: &JobRow) -> Result<Option<Schedule>, ServeError> {
    let Some(v) = &job.schedule else {
        return Ok(None);
    };
    let spec: ScheduleSpec =
        serde_json::from_value(v.clone()).map_err(|e| ServeError::Invalid {
            what: format!("the schedule of job {:?}", job.name),
            fix: format!("{e}: give `every`, optional `time_zone` and `jitter_seconds`"),
        })?;
    Schedule::new(spec)
        .map(Some)
        .map_err(|e| ServeError::Invalid {
            what: format!("the schedule of job {:?}", job.name),
            fix: e.to_string(),
        })
}

fn kind_tag(job: &JobRow) -> String {
    job.spec
        .get("kind")
        .and_then(|k| k.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| "unknown".into())
}

/// One pass over the jobs at `now`.
pub async fn tick(db: &Db, now: Timestamp) -> Result<Tick, ServeError> {
    let mut out = Tick::default();
    let now_ms = now.as_millisecond();
    for job in db.jobs().await? {
        if job.paused {
            continue;
        }
        let schedule = match schedule_of(&job) {
            Ok(Some(s)) => s,
            Ok(None) => continue,
            Err(e) => {
                out.invalid.push((job.name.clone(), e.to_string()));
                continue;
            }
        };
        let next_ms = |after: Timestamp| schedule.next_after(after).map(|t| t.as_millisecond());
        let Some(due_ms) = job.next_due_at else {
            // First sight (or after a schedule change or a resume): the first time after now.
            db.advance_job(&job.name, None, next_ms(now), None).await?;
            continue;
        };
        let Ok(due) = Timestamp::from_millisecond(due_ms) else {
            out.invalid.push((
                job.name.clone(),
                format!("next due time {due_ms} out of range"),
            ));
            continue;
        };
        let fire_at = due
            .checked_add(schedule.jitter(&job.name, due))
            .unwrap_or(due);
        if now < fire_at {
            continue;
        }
        let missed_more = schedule.next_after(due).is_some_and(|n| n <= now);
        let trigger = if missed_more { "catch_up" } else { "schedule" };
        if !db
            .advance_job(&job.name, Some(due_ms), next_ms(now), Some(due_ms))
            .await?
        {
            continue; // another worker took this time
        }
        match db
            .enqueue(&job.name, &kind_tag(&job), trigger, Some(due_ms), now_ms)
            .await?
        {
            Some(id) => {
                tracing::info!(job = %job.name, run = id, trigger, "run queued by the schedule");
                out.queued.push((job.name.clone(), id, trigger.to_string()));
            }
            None => {
                tracing::warn!(job = %job.name, "scheduled time skipped: the previous run is still open");
                out.skipped_overlap.push(job.name.clone());
            }
        }
    }
    Ok(out)
}
