//! The integration log: level, object, message, hint, run — one line per notable outcome,
//! stored in `km_log` with the run.

use kb_store::{Batch, Filter, Row, Store, StoreError};
use serde::Serialize;
use serde_json::json;

use crate::util::text;

/// One line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    pub run_id: i64,
    pub at: String,
    /// `info`, `warn` or `error`.
    pub level: String,
    /// What it is about (`page:123`, `space:ENG`, `run`).
    pub object: String,
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

/// The lines of one run, written at its end (and when it fails).
#[derive(Debug)]
pub struct RunLog {
    run_id: i64,
    lines: Vec<LogLine>,
    written: usize,
}

impl RunLog {
    pub fn new(run_id: i64) -> RunLog {
        RunLog {
            run_id,
            lines: Vec::new(),
            written: 0,
        }
    }
    fn push(&mut self, level: &str, object: &str, message: &str, hint: &str) {
        match level {
            "error" => tracing::error!(object, hint, "{message}"),
            "warn" => tracing::warn!(object, hint, "{message}"),
            _ => tracing::info!(object, "{message}"),
        }
        self.lines.push(LogLine {
            run_id: self.run_id,
            at: kb_store::time::now(),
            level: level.into(),
            object: object.into(),
            message: message.into(),
            hint: hint.into(),
        });
    }
    pub fn info(&mut self, object: &str, message: &str) {
        self.push("info", object, message, "");
    }
    pub fn warn(&mut self, object: &str, message: &str, hint: &str) {
        self.push("warn", object, message, hint);
    }
    pub fn error(&mut self, object: &str, message: &str, hint: &str) {
        self.push("error", object, message, hint);
    }
    /// Lines at `level`.
    pub fn count(&self, level: &str) -> usize {
        self.lines.iter().filter(|l| l.level == level).count()
    }
    /// Writes the lines not written yet.
    pub async fn flush(&mut self, store: &Store) -> Result<(), StoreError> {
        let mut b = Batch::new();
        for (i, l) in self.lines.iter().enumerate().skip(self.written) {
            b.upsert(Row::new(
                "km_log",
                json!({
                    "id": format!("{}:{:06}", l.run_id, i),
                    "runId": l.run_id,
                    "at": l.at,
                    "level": l.level,
                    "object": l.object,
                    "message": l.message,
                    "hint": l.hint,
                }),
            ));
        }
        store.commit(&b).await?;
        self.written = self.lines.len();
        Ok(())
    }
}

fn rank(level: &str) -> u8 {
    match level {
        "error" => 2,
        "warn" => 1,
        _ => 0,
    }
}

/// The stored log, optionally of one run and at or above a level, oldest first.
pub async fn read(
    store: &Store,
    run: Option<i64>,
    min_level: Option<&str>,
) -> Result<Vec<LogLine>, StoreError> {
    let filter = match run {
        Some(r) => Filter::all().eq("run_id", r),
        None => Filter::all(),
    };
    let rows = store
        .select(
            "km_log",
            &["run_id", "at", "level", "object", "message", "hint"],
            &filter,
        )
        .await?;
    let min = min_level.map(rank).unwrap_or(0);
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(LogLine {
                run_id: r.first()?.as_i64()?,
                at: text(r.get(1))?,
                level: text(r.get(2))?,
                object: text(r.get(3))?,
                message: text(r.get(4))?,
                hint: text(r.get(5)).unwrap_or_default(),
            })
        })
        .filter(|l| rank(&l.level) >= min)
        .collect())
}
