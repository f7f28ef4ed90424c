//! `kbridge bench codecs`: throughput and peak memory of the codecs as a function of input size,
//! printed as JSON.
//!
//! Each size runs in a fresh child process (`kbridge bench codecs-once`) so that its peak
//! resident set (`VmHWM` from `/proc/self/status`) belongs to that size alone. The input is a
//! storage body repeated to the requested size: by default the sample page shipped in
//! `examples/runbook.xhtml`, or any body given with `--input`.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use kb_doc::{markdown, storage};
use serde_json::json;

const SAMPLE: &str = include_str!("../../../examples/runbook.xhtml");

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Subcommand, Debug)]
enum BenchWhat {
    /// Storage read, storage write and Markdown write at several input sizes: time, MB/s and
    /// peak memory per size, as JSON on stdout.
    Codecs {
        /// Storage body to repeat up to each size (default: the shipped examples/runbook.xhtml).
        #[arg(long)]
        input: Option<std::path::PathBuf>,
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
    /// One extraction in this process (used by `extract`; prints one JSON object).
    #[command(hide = true)]
    ExtractOnce(crate::bench_extract::ExtractOnceArgs),
    /// One measurement in this process (used by `codecs`; prints one JSON object).
    #[command(hide = true)]
    CodecsOnce {
        #[arg(long)]
        input: Option<std::path::PathBuf>,
        #[arg(long)]
        bytes: u64,
    },
}

pub fn run(args: BenchArgs) -> Result<bool> {
    match args.what {
        BenchWhat::Codecs { input, sizes } => codecs(input, sizes),
        BenchWhat::Extract(a) => crate::bench_extract::run(a),
        BenchWhat::Migrate(a) => crate::bench_migrate::run(a),
        BenchWhat::ExtractOnce(a) => crate::bench_extract::once(a),
        BenchWhat::CodecsOnce { input, bytes } => {
            let v = once(input, bytes)?;
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

fn load(input: Option<&std::path::Path>) -> Result<String> {
    match input {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("{}: cannot read the benchmark input", p.display())),
        None => Ok(SAMPLE.to_string()),
    }
}

fn once(input: Option<std::path::PathBuf>, bytes: u64) -> Result<serde_json::Value> {
    let unit = load(input.as_deref())?;
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
    let out = storage::write(&doc);
    let write_s = t.elapsed().as_secs_f64();
    let out_len = out.len();
    drop(out);
    let t = Instant::now();
    let md = markdown::write(&doc);
    let md_s = t.elapsed().as_secs_f64();
    let md_len = md.len();
    drop(md);
    let peak = peak_rss();
    let mib = body.len() as f64 / (1024.0 * 1024.0);
    Ok(json!({
        "input_bytes": body.len(),
        "storage_read_s": read_s,
        "storage_read_mib_s": mib / read_s,
        "storage_write_s": write_s,
        "storage_write_mib_s": mib / write_s,
        "markdown_write_s": md_s,
        "markdown_write_mib_s": mib / md_s,
        "written_storage_bytes": out_len,
        "written_markdown_bytes": md_len,
        "rss_before_read_bytes": baseline,
        "peak_rss_after_read_bytes": after_read,
        "peak_rss_bytes": peak,
        "peak_over_baseline_per_input_byte": match (peak, baseline) {
            (Some(p), Some(b)) => json!((p.saturating_sub(b)) as f64 / body.len() as f64),
            _ => serde_json::Value::Null,
        },
    }))
}

fn codecs(input: Option<std::path::PathBuf>, sizes: Vec<u64>) -> Result<bool> {
    let exe = std::env::current_exe()
        .context("cannot find the kbridge executable to run measurements")?;
    let mut runs = Vec::new();
    for mib in &sizes {
        let mut cmd = Command::new(&exe);
        cmd.args([
            "bench",
            "codecs-once",
            "--bytes",
            &(mib * 1024 * 1024).to_string(),
        ]);
        if let Some(p) = &input {
            cmd.arg("--input").arg(p);
        }
        let out = cmd
            .output()
            .context("cannot run a benchmark child process")?;
        if !out.status.success() {
            bail!(
                "benchmark at {mib} MiB failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .context("a benchmark child printed something that is not JSON")?;
        eprintln!(
            "{mib:>4} MiB: read {:.0} MiB/s, peak {:.0} MiB",
            v["storage_read_mib_s"].as_f64().unwrap_or(0.0),
            v["peak_rss_bytes"].as_f64().unwrap_or(0.0) / 1048576.0
        );
        runs.push(v);
    }
    // Linearity: the extra memory per input byte should stay flat as the input grows.
    let ratios: Vec<f64> = runs
        .iter()
        .filter_map(|r| r["peak_over_baseline_per_input_byte"].as_f64())
        .collect();
    let (lo, hi) = ratios
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
    let report = json!({
        "benchmark": "codecs",
        "input": input.as_ref().map_or("examples/runbook.xhtml (built in)".to_string(), |p| p.display().to_string()),
        "kbridge_version": env!("CARGO_PKG_VERSION"),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "runs": runs,
        "memory_per_input_byte_min": if ratios.is_empty() { serde_json::Value::Null } else { json!(lo) },
        "memory_per_input_byte_max": if ratios.is_empty() { serde_json::Value::Null } else { json!(hi) },
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(true)
}
