//! Each job's status against its schedule, as Airbyte shows connections:
//!
//! - `paused`: its schedule is paused;
//! - `running` / `queued`: a run is open;
//! - `failing`: its last ended run failed (or was interrupted and not resumed);
//! - `delayed`: scheduled, and no run succeeded since the scheduled time before the last one
//!   (more than one interval without a success);
//! - `pending`: scheduled, never run, its first time not reached yet; `manual`: no schedule, never run;
//! - `ok`: otherwise.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::Shared;
use crate::db::{JobRow, RunRow};
use crate::error::ServeError;
use crate::schedule::Schedule;

/// The status of `job` at `now`, from its runs (newest first).
pub fn status(
    job: &JobRow,
    schedule: Option<&Schedule>,
    runs: &[RunRow],
    now: Timestamp,
) -> &'static str {
    if job.paused {
        return "paused";
    }
    if let Some(r) = runs
        .iter()
        .find(|r| r.status == "running" || r.status == "queued")
    {
        return if r.status == "running" {
            "running"
        } else {
            "queued"
        };
    }
    let ended: Vec<&RunRow> = runs
        .iter()
        .filter(|r| r.ended_at.is_some() || r.status == "interrupted")
        .collect();
    if ended.first().is_some_and(|last| last.status != "succeeded") {
        return "failing";
    }
    let Some(s) = schedule else {
        return if ended.is_empty() { "manual" } else { "ok" };
    };
    let last_ok = ended
        .iter()
        .find(|r| r.status == "succeeded")
        .and_then(|r| r.started_at.or(Some(r.queued_at)));
    let prev = s.last_at_or_before(now);
    let before_prev = prev
        .and_then(|p| p.checked_sub(SignedDuration::from_millis(1)).ok())
        .and_then(|p| s.last_at_or_before(p));
    match (last_ok, before_prev) {
        (None, _) if job.last_due_at.is_none() => "pending",
        (None, _) => "delayed",
        (Some(ok), Some(bp)) if ok < bp.as_millisecond() => "delayed",
        _ => "ok",
    }
}

/// Every job with its status, last run and next time; and the counts of runs by status.
pub async fn overview(sh: &Shared) -> Result<Value, ServeError> {
    let now = sh.clock.now();
    let mut jobs = Vec::new();
    let mut by_status = std::collections::BTreeMap::<&str, u64>::new();
    for j in sh.db.jobs().await? {
        let runs = sh.db.runs(Some(&j.name), 20).await?;
        let schedule = crate::scheduler::schedule_of(&j).ok().flatten();
        let st = status(&j, schedule.as_ref(), &runs, now);
        *by_status.entry(st).or_default() += 1;
        let next = j
            .next_due_at
            .and_then(|m| Timestamp::from_millisecond(m).ok())
            .map(|t| t.to_string());
        jobs.push(json!({
            "name": j.name,
            "kind": j.spec.get("kind"),
            "schedule": j.schedule.as_ref().and_then(|s| s.get("every")),
            "status": st,
            "next_due_at": next,
            "last_run": runs.first(),
        }));
    }
    Ok(json!({"now": now.to_string(), "worker": sh.worker, "jobs": jobs, "by_status": by_status}))
}
