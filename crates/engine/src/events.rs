//! The one event stream of a job (in the manner of Vector's internal events): the clients'
//! request events (answers, retries, 429 pauses, give-ups) and the engine's own (phases, rows
//! stored, files stored or failed, warnings) as one typed [`Event`], handed to one sink. The
//! sink renders them: the CLI's logs (`tracing`, through [`Event::log`], the one place an
//! event becomes a log line), its progress bars and its counts ([`Counts`]); the daemon's run
//! log. An event is logged by its sink, once; a job run without a sink logs its events itself.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// Something that happened during a job.
#[derive(Clone, Debug)]
pub enum Event {
    /// A request's outcome, from a client (kb-http): an answer, a retry, a 429 pause, a
    /// near-limit answer, a give-up.
    Http(kb_http::Event),
    /// A phase began (`what` e.g. `pages of ENG`).
    Phase { what: String },
    /// Rows committed to a table (`total` so far in this run).
    Rows {
        table: String,
        added: u64,
        total: u64,
    },
    /// A phase ended.
    PhaseDone { what: String },
    /// Something was skipped or could not be read; the job goes on.
    Warning { message: String },
    /// A migrated page is done (`outcome`: created, updated, unchanged, conflict, failed).
    Page { title: String, outcome: String },
    /// An attachment file was stored (`extract --files`).
    FileStored { attachment_id: String, bytes: u64 },
    /// An attachment file could not be downloaded; the job goes on and the next run tries it
    /// again.
    FileFailed {
        attachment_id: String,
        reason: String,
    },
}

/// Receives [`Event`]s.
pub type EventFn = Arc<dyn Fn(&Event) + Send + Sync>;

impl Event {
    /// The event's kind, as logs and counts name it (`retried`, `phase_started`…).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Http(e) => e.kind(),
            Event::Phase { .. } => "phase_started",
            Event::Rows { .. } => "rows_stored",
            Event::PhaseDone { .. } => "phase_done",
            Event::Warning { .. } => "warning",
            Event::Page { .. } => "page_done",
            Event::FileStored { .. } => "file_stored",
            Event::FileFailed { .. } => "file_failed",
        }
    }

    /// Logs the event through `tracing` (debug for routine steps, info for phases, retries
    /// and 429 pauses, warn for what the run went on without). Each log line carries the
    /// event's kind as `event`.
    pub fn log(&self) {
        let event = self.kind();
        match self {
            Event::Http(e) => e.log(),
            Event::Phase { what } => {
                tracing::info!(target: "kb_engine", event, what = what.as_str(), "phase started")
            }
            Event::PhaseDone { what } => {
                tracing::info!(target: "kb_engine", event, what = what.as_str(), "phase done")
            }
            Event::Rows {
                table,
                added,
                total,
            } => tracing::debug!(
                target: "kb_engine",
                event,
                table = table.as_str(),
                added,
                total,
                "rows stored"
            ),
            Event::Warning { message } => tracing::warn!(target: "kb_engine", event, "{message}"),
            Event::Page { title, outcome } => {
                if outcome == "unchanged" {
                    tracing::debug!(target: "kb_engine", event, title = title.as_str(), outcome = outcome.as_str(), "page done")
                } else {
                    tracing::info!(target: "kb_engine", event, title = title.as_str(), outcome = outcome.as_str(), "page done")
                }
            }
            Event::FileStored {
                attachment_id,
                bytes,
            } => tracing::debug!(
                target: "kb_engine",
                event,
                attachment_id = attachment_id.as_str(),
                bytes,
                "file stored"
            ),
            Event::FileFailed {
                attachment_id,
                reason,
            } => tracing::warn!(
                target: "kb_engine",
                event,
                attachment_id = attachment_id.as_str(),
                "the file of attachment {attachment_id} was not downloaded: {reason} (the next run tries it again)"
            ),
        }
    }
}

/// Events counted by kind.
#[derive(Default)]
pub struct Counts(Mutex<BTreeMap<&'static str, u64>>);

impl Counts {
    /// Counts `e`.
    pub fn record(&self, e: &Event) {
        *self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(e.kind())
            .or_default() += 1;
    }

    /// The counts now, by kind.
    pub fn snapshot(&self) -> CountsSnapshot {
        CountsSnapshot(self.0.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

/// A copy of [`Counts`], serialisable as a JSON object (kind → count).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CountsSnapshot(pub BTreeMap<&'static str, u64>);

impl CountsSnapshot {
    /// How many events of `kind` there were.
    pub fn get(&self, kind: &str) -> u64 {
        self.0.get(kind).copied().unwrap_or(0)
    }
}
