//! `kbridge bench codecs`: throughput and peak memory of the codecs as a function of input size,
//! printed as JSON.
//!
//! Each (target format, size) runs in a fresh child process (`kbridge bench codecs-once`) so that
//! its peak resident set (`VmHWM` from `/proc/self/status`) belongs to that path alone: storage
//! read, then one writer (storage, markdown, notion, ir). The input is a storage body repeated
//! to the requested size: by default the sample page shipped in `examples/runbook.xhtml`,
//! `--dense` for a body made only of short marked-up runs, lists and table cells (the most IR
//! nodes per input byte), or any body given with `--input`.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use kb_doc::{ir_json, markdown, notion, storage};
use serde_json::json;

const SAMPLE: &str = include_str!("../../../examples/runbook.xhtml");

/// Dense markup: every few bytes a new IR node (marks, links, list items, table cells).
const DENSE: &str = "<p><strong>a</strong> <em>b</em> <code>c</code> <u>d</u> \
<a href=\"https://x.example/\">e</a></p><ul><li>x</li><li>y</li></ul>\
<table><tbody><tr><td>1</td><td>2</td></tr></tbody></table>";

/// The formats every size is written to.
/// `notion` is the append plan's JSON as `kbridge convert --to notion` writes it (converted and
/// written request by request); `notion-plan` is the whole plan held in memory, as migrate holds
/// it while it sends the requests (written: the request bodies, one at a time).
const TARGETS: &[&str] = &["storage", "markdown", "notion", "notion-plan", "ir"];

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Subcommand, Debug)]
enum BenchWhat {
    /// Storage read, then each writer (storage, markdown, notion, ir) at several input sizes:
    /// time, MB/s and peak memory per input byte for every target, as JSON on stdout.
    Codecs {
        /// Storage body to repeat up to each size (default: the shipped examples/runbook.xhtml).
        #[arg(long, conflicts_with = "dense")]
        input: Option<std::path::PathBuf>,
        /// Repeat a built-in dense body (short marked-up runs, list items, table cells).
        #[arg(long)]
        dense: bool,
        /// Target formats, comma-separated.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "storage,markdown,notion,notion-plan,ir"
        )]
        to: Vec<String>,
        /// Input sizes in MiB, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16,32")]
        sizes: Vec<u64>,
    },
    /// A full, an incremental and a reconciling extraction of a generated site against a twin
    /// started in this process: requests by endpoint, wall time against requests ÷ rate,
    /// pages/s, 429s, peak memory of the extractor, and what a per-item fan-out would cost.
    Extract(crate::bench_extract::ExtractBenchArgs),
    /// A Notion → Confluence migration of a generated workspace against the twins at the given
    /// rates: requests per page against the APIs' minimum, wall time against requests ÷ rate.
    Migrate(crate::bench_migrate::MigrateBenchArgs),
    /// The knowledge base over a generated site with permissions and a labelled relevance set:
    /// import and index (articles/s, index size, peak memory), a no-change sync and 10 edits
    /// (requests, articles rewritten), search latency p50/p99 as random users, recall@10 and
    /// MRR@10 of the labelled queries.
    Km(crate::bench_km::KmBenchArgs),
    /// One km phase in this process (used by `km`; prints one JSON object).
    #[command(hide = true)]
    KmOnce(crate::bench_km::KmOnceArgs),
    /// One extraction in this process (used by `extract`; prints one JSON object).
    #[command(hide = true)]
    ExtractOnce(crate::bench_extract::ExtractOnceArgs),
    /// One measurement in this process (used by `codecs`; prints one JSON object).
    #[command(hide = true)]
    CodecsOnce {
        #[arg(long)]
        input: Option<std::path::PathBuf>,
        #[arg(long)]
        dense: bool,
        #[arg(long)]
        to: String,
        #[arg(long)]
        bytes: u64,
    },
}

pub fn run(args: BenchArgs) -> Result<bool> {
    match args.what {
        BenchWhat::Codecs {
            input,
            dense,
            to,
            sizes,
        } => codecs(input, dense, to, sizes),
        BenchWhat::Extract(a) => crate::bench_extract::run(a),
        BenchWhat::Migrate(a) => crate::bench_migrate::run(a),
        BenchWhat::ExtractOnce(a) => crate::bench_extract::once(a),
        BenchWhat::Km(a) => crate::bench_km::run(a),
        BenchWhat::KmOnce(a) => crate::bench_km::once(a),
        BenchWhat::CodecsOnce {
            input,
            dense,
            to,
            bytes,
        } => {
            let v = once(input, dense, &to, bytes)?;
            println!("{v}");
            Ok(true)
        }
    }
}

/// Peak resident set size of this process in bytes (Linux `VmHWM`).
pub(crate) fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn load(input: Option<&std::path::Path>, dense: bool) -> Result<String> {
    if dense {
        return Ok(DENSE.to_string());
    }
    match input {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("{}: cannot read the benchmark input", p.display())),
        None => Ok(SAMPLE.to_string()),
    }
}

fn once(
    input: Option<std::path::PathBuf>,
    dense: bool,
    to: &str,
    bytes: u64,
) -> Result<serde_json::Value> {
    if !TARGETS.contains(&to) {
        bail!(
            "--to {to}: not a target format (one of {})",
            TARGETS.join(", ")
        );
    }
    let unit = load(input.as_deref(), dense)?;
    if unit.is_empty() {
        bail!("the benchmark input is empty");
    }
    storage::read(&unit).context("the benchmark input is not a readable storage body")?;
    let mut body = String::with_capacity(bytes as usize + unit.len());
    while (body.len() as u64) < bytes {
        body.push_str(&unit);
    }
    let baseline = peak_rss();
    let t = Instant::now();
    let doc = storage::read(&body)?;
    let read_s = t.elapsed().as_secs_f64();
    let after_read = peak_rss();
    let t = Instant::now();
    let out_len = match to {
        "storage" => storage::write_report(&doc).output.len(),
        "markdown" => markdown::write_report(&doc).output.len(),
        "notion" => notion::write_report(&doc).output.len(),
        "notion-plan" => {
            // Held whole while each request body is serialized in turn, as migrate sends them.
            let plan = notion::plan(&doc, notion::PlanParent::NewPage);
            let mut n = 0;
            for r in &plan.requests {
                n += serde_json::to_string(&r.body())
                    .context("cannot serialise a request")?
                    .len();
            }
            n
        }
        _ => ir_json::write_report(&doc)
            .context("cannot serialise the IR")?
            .output
            .len(),
    };
    let write_s = t.elapsed().as_secs_f64();
    let peak = peak_rss();
    let mib = body.len() as f64 / (1024.0 * 1024.0);
    let per_byte = |p: Option<u64>| match (p, baseline) {
        (Some(p), Some(b)) => json!((p.saturating_sub(b)) as f64 / body.len() as f64),
        _ => serde_json::Value::Null,
    };
    Ok(json!({
        "target": to,
        "input_bytes": body.len(),
        "storage_read_s": read_s,
        "storage_read_mib_s": mib / read_s,
        "write_s": write_s,
        "write_mib_s": mib / write_s,
        "written_bytes": out_len,
        "rss_before_read_bytes": baseline,
        "peak_rss_after_read_bytes": after_read,
        "peak_rss_bytes": peak,
        "read_peak_over_baseline_per_input_byte": per_byte(after_read),
        "peak_over_baseline_per_input_byte": per_byte(peak),
    }))
}

fn codecs(
    input: Option<std::path::PathBuf>,
    dense: bool,
    targets: Vec<String>,
    sizes: Vec<u64>,
) -> Result<bool> {
    let exe = std::env::current_exe()
        .context("cannot find the kbridge executable to run measurements")?;
    for t in &targets {
        if !TARGETS.contains(&t.as_str()) {
            bail!(
                "--to {t}: not a target format (one of {})",
                TARGETS.join(", ")
            );
        }
    }
    let mut runs = Vec::new();
    for (to, mib) in targets
        .iter()
        .flat_map(|t| sizes.iter().map(move |m| (t, m)))
    {
        let mut cmd = Command::new(&exe);
        cmd.args([
            "bench",
            "codecs-once",
            "--to",
            to,
            "--bytes",
            &(mib * 1024 * 1024).to_string(),
        ]);
        if let Some(p) = &input {
            cmd.arg("--input").arg(p);
        }
        if dense {
            cmd.arg("--dense");
        }
        let out = cmd
            .output()
            .context("cannot run a benchmark child process")?;
        if !out.status.success() {
            bail!(
                "benchmark {to} at {mib} MiB failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .context("a benchmark child printed something that is not JSON")?;
        eprintln!(
            "{to:>8} {mib:>4} MiB: read {:.0} MiB/s, write {:.0} MiB/s, peak {:.0} MiB, {:.1} per input byte",
            v["storage_read_mib_s"].as_f64().unwrap_or(0.0),
            v["write_mib_s"].as_f64().unwrap_or(0.0),
            v["peak_rss_bytes"].as_f64().unwrap_or(0.0) / 1048576.0,
            v["peak_over_baseline_per_input_byte"]
                .as_f64()
                .unwrap_or(0.0)
        );
        runs.push(v);
    }
    // Per target: the extra memory per input byte should stay flat as the input grows.
    let mut per_target = serde_json::Map::new();
    for t in &targets {
        let ratios: Vec<f64> = runs
            .iter()
            .filter(|r| r["target"] == t.as_str())
            .filter_map(|r| r["peak_over_baseline_per_input_byte"].as_f64())
            .collect();
        if ratios.is_empty() {
            continue;
        }
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        per_target.insert(
            t.clone(),
            json!({"memory_per_input_byte_min": lo, "memory_per_input_byte_max": hi}),
        );
    }
    let input_name = if dense {
        "dense (built in)".to_string()
    } else {
        input
            .as_ref()
            .map_or("examples/runbook.xhtml (built in)".to_string(), |p| {
                p.display().to_string()
            })
    };
    let report = json!({
        "benchmark": "codecs",
        "input": input_name,
        "kbridge_version": env!("CARGO_PKG_VERSION"),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "runs": runs,
        "targets": per_target,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(true)
}
