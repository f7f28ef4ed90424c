//! The binary's logs: one `tracing` subscriber, on stderr, so that every event the crates
//! emit (kb-http's requests, 429 pauses, retries and give-ups; the engine's warnings) reaches
//! the user once. Progress bars share stderr: every log line is written with the bars
//! suspended ([`bars`] is the one `MultiProgress` of the process), so neither garbles the other.
//!
//! Levels: warnings by default, `-q` errors only, `-v` info (retries, 429 pauses), `-vv` debug
//! (every request), `-vvv` trace; `RUST_LOG`, when set, decides instead (`RUST_LOG=kb_http=debug`).
//! `--log-format json` prints one JSON object per event (`timestamp`, `level`, `target`, the
//! event's fields, `message`).

use std::io::Write;
use std::sync::OnceLock;

use clap::{Args, ValueEnum};
use indicatif::MultiProgress;
use tracing_subscriber::EnvFilter;

/// How log lines look.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line of text per event.
    #[default]
    Text,
    /// One JSON object per event.
    Json,
}

/// The logging flags, accepted after any subcommand.
#[derive(Args, Debug, Clone, Default)]
pub struct LogArgs {
    /// More on stderr: -v retries and 429 pauses, -vv every request, -vvv everything.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr (and, for convert, no per-file details or totals).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log lines as text or as one JSON object per event.
    #[arg(long, value_enum, default_value_t, global = true)]
    pub log_format: LogFormat,
}

static BARS: OnceLock<MultiProgress> = OnceLock::new();

/// The process's progress bars: add bars here so that log lines suspend them.
pub fn bars() -> &'static MultiProgress {
    BARS.get_or_init(MultiProgress::new)
}

/// stderr, with the progress bars (if any) suspended for each write.
struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match BARS.get() {
            Some(m) => m.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The crates whose events are the product's (others stay at `warn`: sqlx, hyper…).
const OURS: &[&str] = &[
    "kbridge",
    "kb_http",
    "kb_confluence",
    "kb_notion",
    "kb_engine",
    "kb_store",
    "kb_doc",
    "kb_sim",
];

fn filter(args: &LogArgs) -> (EnvFilter, Option<String>) {
    if let Ok(spec) = std::env::var("RUST_LOG")
        && !spec.trim().is_empty()
    {
        match EnvFilter::try_new(&spec) {
            Ok(f) => return (f, None),
            Err(e) => {
                let bad = format!(
                    "RUST_LOG={spec:?} is not a filter ({e}): ignored; e.g. RUST_LOG=kb_http=debug"
                );
                return (levels(args), Some(bad));
            }
        }
    }
    (levels(args), None)
}

fn levels(args: &LogArgs) -> EnvFilter {
    let level = if args.quiet {
        "error"
    } else {
        match args.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let others = if args.verbose >= 3 { "debug" } else { "warn" };
    let mut spec = if args.quiet {
        "error".to_string()
    } else {
        others.to_string()
    };
    for c in OURS {
        spec.push_str(&format!(",{c}={level}"));
    }
    EnvFilter::new(spec)
}

/// Installs the subscriber (once, at start).
pub fn init(args: &LogArgs) {
    let (filter, warning) = filter(args);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LogWriter);
    let installed = match args.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false)
            .try_init(),
    };
    if installed.is_ok()
        && let Some(w) = warning
    {
        tracing::warn!("{w}");
    }
}

/// The one sink of a job's events ([`kb_engine::events`]): each event is logged once (the
/// subscriber above, on stderr), counted, and handed to `render` (progress bars). Give the
/// returned callback to the engine, and [`http_events`] of it to the clients, so requests and
/// the engine's steps are one stream.
pub fn sink(
    render: Option<kb_engine::events::EventFn>,
) -> (
    kb_engine::events::EventFn,
    std::sync::Arc<kb_engine::events::Counts>,
) {
    let counts = std::sync::Arc::new(kb_engine::events::Counts::default());
    let c = counts.clone();
    let f: kb_engine::events::EventFn = std::sync::Arc::new(move |e| {
        e.log();
        c.record(e);
        if let Some(r) = &render {
            r(e);
        }
    });
    (f, counts)
}

/// A client's event callback feeding `sink` (its events become [`kb_engine::events::Event::Http`]).
pub fn http_events(sink: kb_engine::events::EventFn) -> kb_http::EventCallback {
    std::sync::Arc::new(move |e: &kb_http::Event| sink(&kb_engine::events::Event::Http(e.clone())))
}
