//! The `runs` row of a migrate or verify job, and its own request counts.
//!
//! A job's requests are the clients' counters at its end minus those at its start (the
//! clients may have served other jobs before: quickstart extracts with the same Confluence
//! client), per service and per endpoint, with 429s and retries.

use std::collections::BTreeMap;

use kb_confluence::Confluence;
use kb_http::StatsSnapshot;
use kb_notion::Notion;
use kb_store::{RunEnd, RunStatus, Store};
use serde_json::{Value, json};

use super::MigrateError;

/// The counters of both clients at one instant.
#[derive(Clone, Debug)]
pub(crate) struct Counters {
    notion: StatsSnapshot,
    notion_files: StatsSnapshot,
    confluence: StatsSnapshot,
}

impl Counters {
    pub(crate) fn now(notion: &Notion, conf: &Confluence) -> Counters {
        Counters {
            notion: notion.stats().snapshot(),
            notion_files: notion.download_stats().snapshot(),
            confluence: conf.stats(),
        }
    }

    /// What happened since `self`, per service.
    pub(crate) fn since(&self, notion: &Notion, conf: &Confluence) -> JobRequests {
        let now = Counters::now(notion, conf);
        let mut by_service = BTreeMap::new();
        by_service.insert("notion".to_string(), delta(&self.notion, &now.notion));
        by_service.insert(
            "notion_files".to_string(),
            delta(&self.notion_files, &now.notion_files),
        );
        by_service.insert(
            "confluence".to_string(),
            delta(&self.confluence, &now.confluence),
        );
        JobRequests { by_service }
    }
}

/// A job's own requests, per service.
#[derive(Clone, Debug, Default)]
pub(crate) struct JobRequests {
    pub by_service: BTreeMap<String, StatsSnapshot>,
}

impl JobRequests {
    /// Requests per service (the report's `requests`).
    pub(crate) fn totals(&self) -> BTreeMap<String, u64> {
        self.by_service
            .iter()
            .filter(|(k, s)| s.requests > 0 || k.as_str() != "notion_files")
            .map(|(k, s)| (k.clone(), s.requests))
            .collect()
    }

    /// As the `runs` row keeps them: per service, per endpoint, 429s and retries.
    pub(crate) fn to_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        for (service, s) in &self.by_service {
            let by_endpoint: BTreeMap<&String, u64> = s
                .by_endpoint
                .iter()
                .map(|(e, m)| (e, m.values().sum()))
                .filter(|(_, n)| *n > 0)
                .collect();
            out.insert(
                service.clone(),
                json!({
                    "total": s.requests,
                    "rate_limited": s.rate_limited,
                    "retries": s.retries,
                    "gave_up": s.gave_up,
                    "by_endpoint": by_endpoint,
                }),
            );
        }
        Value::Object(out)
    }
}

fn delta(before: &StatsSnapshot, after: &StatsSnapshot) -> StatsSnapshot {
    let mut by_endpoint = BTreeMap::new();
    for (e, statuses) in &after.by_endpoint {
        let mut m = BTreeMap::new();
        for (status, n) in statuses {
            let was = before
                .by_endpoint
                .get(e)
                .and_then(|b| b.get(status))
                .copied()
                .unwrap_or(0);
            if *n > was {
                m.insert(*status, n - was);
            }
        }
        if !m.is_empty() {
            by_endpoint.insert(e.clone(), m);
        }
    }
    StatsSnapshot {
        requests: after.requests.saturating_sub(before.requests),
        rate_limited: after.rate_limited.saturating_sub(before.rate_limited),
        retries: after.retries.saturating_sub(before.retries),
        gave_up: after.gave_up.saturating_sub(before.gave_up),
        near_limit: after.near_limit.saturating_sub(before.near_limit),
        by_endpoint,
    }
}

/// A job's `runs` row: started with the job, finished with its outcome. A process stopped by
/// SIGINT/SIGTERM marks it `interrupted` (`Store::interrupt_own_runs`); one killed outright is
/// marked `interrupted` by the next run that starts.
pub(crate) struct RunLog {
    store: Store,
    pub id: i64,
    start: Counters,
    /// The run's heartbeat while the job works (dropped with the log).
    _alive: kb_store::RunHeartbeat,
}

impl RunLog {
    pub(crate) async fn start(
        store: &Store,
        job: &str,
        notion: &Notion,
        conf: &Confluence,
    ) -> Result<RunLog, MigrateError> {
        let start = Counters::now(notion, conf);
        let id = store.start_run(job).await?;
        Ok(RunLog {
            store: store.clone(),
            id,
            start,
            _alive: store.keep_run_alive(id),
        })
    }

    /// The job's requests so far.
    pub(crate) fn requests(&self, notion: &Notion, conf: &Confluence) -> JobRequests {
        self.start.since(notion, conf)
    }

    /// Records how the job ended: `failed` when it stopped or `failed` says so (pages that
    /// failed); `notes` (page errors, conflicts, differences) go to the row's errors.
    pub(crate) async fn finish(
        &self,
        requests: &JobRequests,
        counts: Value,
        notes: Vec<Value>,
        failed: bool,
        stopped: Option<&MigrateError>,
    ) -> Result<(), MigrateError> {
        let mut errors = notes;
        if let Some(e) = stopped {
            errors.push(json!(e.to_string()));
        }
        let end = RunEnd {
            status: if failed || stopped.is_some() {
                RunStatus::Failed
            } else {
                RunStatus::Succeeded
            },
            counts,
            requests: requests.to_json(),
            errors: Value::Array(errors),
        };
        self.store.finish_run(self.id, &end).await?;
        Ok(())
    }
}
