//! `kbridge`: the command-line entry point. It parses arguments with clap and wires the library
//! crates together; it holds no format logic of its own (codecs live in `kb-doc`).
//!
//! It must never panic on user input: every failure is reported once on stderr as
//! `error[<code>]: <what>: <why>` and `hint: <what to do>` ([`errors`]), with a non-zero exit
//! status. Logs go to stderr through one tracing subscriber ([`logging`]).

// clap turns doc comments into --help text, where a bare URL reads better than a Markdown link.
#![allow(rustdoc::bare_urls)]

mod bench;
mod bench_extract;
mod bench_km;
mod bench_migrate;
mod check;
mod config_cmd;
mod convert;
mod errors;
mod extract;
mod format;
mod km;
mod logging;
mod migrate;
mod quickstart;
mod serve;
mod settings;
mod sim;
mod sync;
mod walk;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Move knowledge between Confluence, Notion and databases without losing its shape.
#[derive(Parser, Debug)]
#[command(name = "kbridge", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    log: logging::LogArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Convert documents between Confluence storage XML, Markdown, Notion JSON, plain text and the IR (offline).
    ///
    /// Every format is read into kbridge's document model (the IR) and written out of it.
    /// Content the target cannot express is written as a readable fallback and listed in the
    /// summary on stderr; `--strict` turns any such loss into an error.
    #[command(after_help = convert::AFTER_HELP)]
    Convert(convert::ConvertArgs),
    /// Benchmarks that print JSON (speed and memory targets live here, never in tests).
    Bench(bench::BenchArgs),
    /// Run the local API twins (Confluence Cloud and Notion) on loopback until Ctrl-C.
    ///
    /// Deterministic workspaces are generated from --seed: a Confluence site (spaces, page trees,
    /// blog posts, versions, comments, attachments, labels, properties, tasks, restrictions,
    /// groups) served under /wiki/api/v2 and /wiki/rest/api with Basic auth, and a Notion
    /// workspace (pages, blocks, related databases, files) under /v1 with Bearer tokens; with
    /// their pagination, rate limits, an optional fault plan and webhooks. See docs/sim.md.
    #[command(after_help = sim::AFTER_HELP)]
    Sim(sim::SimArgs),
    /// Test a connection and report what the credentials can read (`check confluence`,
    /// `check notion`).
    Check(check::CheckArgs),
    /// Replicate a service into SQLite (default kbridge.db) or PostgreSQL (`extract confluence`).
    ///
    /// Every object (spaces, pages, blog posts, attachments, comments, labels, versions,
    /// properties, tasks, custom content, restrictions, groups) in tables named as Sling's
    /// connector names them; incremental after the first run; resumable when killed.
    Extract(extract::ExtractArgs),
    /// The knowledge base: Confluence imported, permission-exact and searchable (`km sync`,
    /// `km search`, `km reindex`, `km logs`).
    #[command(after_help = km::AFTER_HELP)]
    Km(km::KmArgs),
    /// Move a whole tree between Notion and Confluence (`migrate notion-to-confluence`).
    ///
    /// Pages, nested subpages, databases with their rows, links and files; resumable,
    /// idempotent (the id map lives in the store), with `--plan` to look before writing.
    Migrate(migrate::MigrateArgs),
    /// The parity report of a migration: both sides re-read and compared page by page
    /// (`verify notion-to-confluence`).
    Verify(migrate::VerifyArgs),
    /// Everything at once against the built-in twins: extract a generated Confluence site into
    /// kbridge.db, migrate a generated Notion workspace into Confluence, verify it, and say
    /// where the data is (`--serve` keeps the twins running).
    Quickstart(quickstart::QuickstartArgs),
    /// Check kbridge.toml offline (`config check [FILE]`) or print its reference
    /// (`config reference`).
    Config(config_cmd::ConfigArgs),
    /// Keep a Notion tree and a Confluence tree equal while people edit both (`sync init`,
    /// `sync run`, `sync watch`, `sync status`, `sync conflicts`, `sync resolve`).
    ///
    /// Each pass reads only what changed, merges both sides' edits against the version they
    /// last agreed on, and writes the side that is behind (Notion blocks patched in place);
    /// edits to the same part are recorded as conflicts, never overwritten. See docs/sync.md.
    Sync(sync::SyncArgs),
    /// The daemon: scheduler, job runner, admin API and web UI, metrics (docs/serve.md).
    #[command(after_help = serve::AFTER_HELP)]
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.log);
    let result = match cli.command {
        Command::Convert(mut args) => {
            args.quiet = cli.log.quiet;
            convert::run(args)
        }
        Command::Bench(args) => bench::run(args),
        Command::Sim(args) => sim::run(args),
        Command::Check(args) => check::run(args),
        Command::Extract(args) => match extract::run(args) {
            // Completed, with records quarantined (docs/extract.md, "Exit status").
            Ok(extract::Outcome::Quarantined) => return ExitCode::from(extract::QUARANTINED_EXIT),
            Ok(extract::Outcome::Done(ok)) => Ok(ok),
            Err(e) => Err(e),
        },
        Command::Km(args) => km::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Verify(args) => migrate::verify(args),
        Command::Quickstart(args) => quickstart::run(args),
        Command::Config(args) => config_cmd::run(args),
        Command::Sync(args) => sync::run(args),
        Command::Serve(args) => serve::run(args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{}", errors::render(&e));
            ExitCode::FAILURE
        }
    }
}
