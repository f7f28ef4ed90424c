//! The scheduler on a hand-moved clock: fires on time (and not before), never queues a second
//! run of a job with one open, catches up once after downtime, pauses and resumes, spreads by
//! its jitter, and of two daemons ticking at once only one queues.

use std::collections::HashMap;

use jiff::SignedDuration;
use kb_config::{ConfigFile, ExtractJob, Job, ScheduleSection};
use kb_serve::Clock;
use kb_serve::runner::{Ended, drain};
use kb_serve::scheduler::tick;

use crate::support::{daemon, daemon_at, ts};

/// One extract job `sync` with schedule `every` (no connection: its runs fail at once, which
/// is all the scheduler needs).
fn config(every: &str, jitter: Option<u32>) -> ConfigFile {
    let mut c = ConfigFile::default();
    c.jobs
        .insert("sync".into(), Job::Extract(ExtractJob::default()));
    c.schedules.insert(
        "sync".into(),
        ScheduleSection {
            every: every.into(),
            time_zone: Some("Europe/Paris".into()),
            jitter_seconds: jitter,
            paused: false,
        },
    );
    c
}

fn queued(t: &kb_serve::scheduler::Tick) -> Vec<(&str, &str)> {
    t.queued
        .iter()
        .map(|(j, _, tr)| (j.as_str(), tr.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fires_on_time_and_not_before() {
    let d = daemon(
        config("hourly :30", None),
        HashMap::new(),
        "2026-03-04T10:20:00Z",
    )
    .await;
    // First sight: the next time is computed, nothing runs.
    assert!(
        tick(&d.sh.db, d.clock.now())
            .await
            .unwrap()
            .queued
            .is_empty()
    );
    d.clock.set(ts("2026-03-04T10:29:59Z"));
    assert!(
        tick(&d.sh.db, d.clock.now())
            .await
            .unwrap()
            .queued
            .is_empty()
    );
    d.clock.set(ts("2026-03-04T10:30:00Z"));
    let t = tick(&d.sh.db, d.clock.now()).await.unwrap();
    assert_eq!(queued(&t), vec![("sync", "schedule")]);
    // A second tick in the same minute queues nothing more.
    d.clock.set(ts("2026-03-04T10:30:40Z"));
    assert!(
        tick(&d.sh.db, d.clock.now())
            .await
            .unwrap()
            .queued
            .is_empty()
    );
    let job = d.sh.db.job("sync").await.unwrap().unwrap();
    assert_eq!(
        job.next_due_at,
        Some(ts("2026-03-04T11:30:00Z").as_millisecond())
    );
    assert_eq!(
        job.last_due_at,
        Some(ts("2026-03-04T10:30:00Z").as_millisecond())
    );
    let runs = d.sh.db.runs(Some("sync"), 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].due_at,
        Some(ts("2026-03-04T10:30:00Z").as_millisecond())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_two_runs_of_one_job() {
    let d = daemon(
        config("hourly", None),
        HashMap::new(),
        "2026-03-04T10:20:00Z",
    )
    .await;
    tick(&d.sh.db, d.clock.now()).await.unwrap();
    d.clock.set(ts("2026-03-04T11:00:00Z"));
    assert_eq!(tick(&d.sh.db, d.clock.now()).await.unwrap().queued.len(), 1);
    // The 11:00 run has not run yet at 12:00: the 12:00 time is skipped, not stacked.
    d.clock.set(ts("2026-03-04T12:00:00Z"));
    let t = tick(&d.sh.db, d.clock.now()).await.unwrap();
    assert!(t.queued.is_empty());
    assert_eq!(t.skipped_overlap, vec!["sync".to_string()]);
    // Run now is refused too while it is open.
    assert_eq!(
        d.sh.db
            .enqueue("sync", "extract", "manual", None, 0)
            .await
            .unwrap(),
        None
    );
    // Once it ended (it fails: no connection), the next time runs.
    let done = drain(&d.sh).await.unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].1, Ended::Finished("failed".into()));
    let run = d.sh.db.run(done[0].0).await.unwrap().unwrap();
    assert!(
        run.errors.to_string().contains("confluence"),
        "{:?}",
        run.errors
    );
    d.clock.set(ts("2026-03-04T13:00:00Z"));
    assert_eq!(
        queued(&tick(&d.sh.db, d.clock.now()).await.unwrap()),
        vec![("sync", "schedule")]
    );
    assert_eq!(d.sh.db.runs(Some("sync"), 10).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_missed_during_downtime_runs_once_on_start() {
    let d = daemon(
        config("daily 02:00", None),
        HashMap::new(),
        "2026-03-04T10:00:00Z",
    )
    .await;
    tick(&d.sh.db, d.clock.now()).await.unwrap();
    let url = d.store_url.clone();
    d.sh.db.close().await;
    d.sh.store.close().await;
    // Three days later the daemon starts again on the same store.
    let d2 = daemon_at(
        d.dir,
        url.clone(),
        config("daily 02:00", None),
        HashMap::new(),
        "2026-03-07T12:00:00Z",
    )
    .await;
    let t = tick(&d2.sh.db, d2.clock.now()).await.unwrap();
    assert_eq!(
        queued(&t),
        vec![("sync", "catch_up")],
        "once, not three times"
    );
    // Its next time is the first after now (Paris is UTC+1 in March before the change).
    let job = d2.sh.db.job("sync").await.unwrap().unwrap();
    assert_eq!(
        job.next_due_at,
        Some(ts("2026-03-08T01:00:00Z").as_millisecond())
    );
    drain(&d2.sh).await.unwrap();
    assert!(
        tick(&d2.sh.db, d2.clock.now())
            .await
            .unwrap()
            .queued
            .is_empty()
    );
    // A second daemon on the same store (a second worker) ticking at the same time: one run.
    let d3 = daemon_at(
        tempfile::tempdir().unwrap(),
        url,
        config("daily 02:00", None),
        HashMap::new(),
        "2026-03-08T01:00:00Z",
    )
    .await;
    d2.clock.set(ts("2026-03-08T01:00:00Z"));
    let (a, b) = tokio::join!(
        tick(&d2.sh.db, d2.clock.now()),
        tick(&d3.sh.db, d3.clock.now())
    );
    assert_eq!(a.unwrap().queued.len() + b.unwrap().queued.len(), 1);
    // One missed time is not a catch-up: trigger `schedule`.
    assert_eq!(
        d2.sh.db.runs(Some("sync"), 1).await.unwrap()[0].trigger,
        "schedule"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paused_jobs_do_not_run_and_resume_from_the_next_time() {
    let d = daemon(
        config("hourly", None),
        HashMap::new(),
        "2026-03-04T10:20:00Z",
    )
    .await;
    tick(&d.sh.db, d.clock.now()).await.unwrap();
    assert!(d.sh.db.set_paused("sync", true).await.unwrap());
    for h in 11..15 {
        d.clock.set(ts(&format!("2026-03-04T{h}:00:00Z")));
        assert!(
            tick(&d.sh.db, d.clock.now())
                .await
                .unwrap()
                .queued
                .is_empty(),
            "{h}:00 paused"
        );
    }
    d.clock.set(ts("2026-03-04T14:10:00Z"));
    assert!(d.sh.db.set_paused("sync", false).await.unwrap());
    // Resuming does not replay the paused hours.
    assert!(
        tick(&d.sh.db, d.clock.now())
            .await
            .unwrap()
            .queued
            .is_empty()
    );
    assert_eq!(
        d.sh.db.job("sync").await.unwrap().unwrap().next_due_at,
        Some(ts("2026-03-04T15:00:00Z").as_millisecond())
    );
    d.clock.set(ts("2026-03-04T15:00:00Z"));
    assert_eq!(tick(&d.sh.db, d.clock.now()).await.unwrap().queued.len(), 1);
    assert!(!d.sh.db.set_paused("nope", true).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jitter_delays_within_its_bound() {
    let d = daemon(
        config("hourly", Some(600)),
        HashMap::new(),
        "2026-03-04T10:20:00Z",
    )
    .await;
    tick(&d.sh.db, d.clock.now()).await.unwrap();
    // Step through 11:00 … 11:10 minute by minute: the run is queued once, not before 11:00,
    // and at the latest at 11:10.
    let mut fired = None;
    for m in 0..=10 {
        d.clock
            .set(ts("2026-03-04T11:00:00Z") + SignedDuration::from_mins(m));
        if !tick(&d.sh.db, d.clock.now())
            .await
            .unwrap()
            .queued
            .is_empty()
        {
            assert!(fired.is_none());
            fired = Some(m);
        }
    }
    assert!(fired.is_some(), "queued within the jitter");
    assert_eq!(d.sh.db.runs(Some("sync"), 10).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_for_no_job_or_a_bad_schedule_stops_the_start() {
    let mut c = config("daily 02:00", None);
    c.schedules.insert(
        "ghost".into(),
        ScheduleSection {
            every: "hourly".into(),
            ..Default::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("k.db").to_str().unwrap().to_string();
    let e = open_err(url.clone(), c).await;
    assert!(
        e.contains("schedules.ghost") && e.contains("[jobs.ghost]"),
        "{e}"
    );
    let e = open_err(url, config("daily 2h", None)).await;
    assert!(e.contains("schedules.sync") && e.contains("HH:MM"), "{e}");
}

async fn open_err(url: String, c: ConfigFile) -> String {
    let clock = std::sync::Arc::new(kb_serve::ManualClock::new(ts("2026-03-04T10:00:00Z")));
    match kb_serve::Shared::open(kb_serve::ServeOptions {
        store_url: url,
        config: c,
        admin_token: crate::support::TOKEN.to_string().into(),
        env: std::sync::Arc::new(|_| None),
        clock,
        worker: "w".into(),
        lease: std::time::Duration::from_secs(30),
    })
    .await
    {
        Ok(_) => panic!("opened"),
        Err(e) => e.to_string(),
    }
}
