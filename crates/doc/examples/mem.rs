//! Peak resident memory per input byte of each codec path, phase by phase (Linux: `VmHWM`, reset
//! between phases through `/proc/self/clear_refs`). Used to profile `kbridge bench codecs`'
//! memory figures:
//!
//! ```text
//! cargo run --release -p kb-doc --example mem -- notion 16 [BODY.xhtml]
//! ```
//!
//! Targets: `storage`, `markdown`, `ir`, `text`, `notion-report` (the plan's JSON as
//! `kbridge convert --to notion` writes it, streamed), `notion-plan` (the whole plan in memory,
//! as migrate holds it) and `notion` (the whole-tree stages one by one: blocks, requests, JSON).

fn status(key: &str) -> usize {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn phase(name: &str, base: usize, input: usize) {
    let peak = status("VmHWM:");
    eprintln!(
        "{name:<28} peak {:>8.1} MiB  ({:>5.2} per input byte over the baseline), resident now {:>8.1} MiB",
        peak as f64 / 1048576.0,
        peak.saturating_sub(base) as f64 / input as f64,
        status("VmRSS:") as f64 / 1048576.0
    );
    // Resets the high-water mark to the current resident set.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() {
    sizes();
    let mut args = std::env::args().skip(1);
    let target = args.next().unwrap_or_else(|| "notion".into());
    let mib: usize = args.next().map_or(8, |s| s.parse().expect("MiB"));
    let unit = match args.next() {
        Some(p) => std::fs::read_to_string(p).expect("input"),
        None => include_str!("../../../examples/runbook.xhtml").to_string(),
    };
    let mut body = String::with_capacity(mib << 20);
    while body.len() < mib << 20 {
        body.push_str(&unit);
    }
    let n = body.len();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let base = status("VmRSS:");
    let doc = kb_doc::storage::read(&body).expect("storage");
    phase("storage read", base, n);
    let out_len = match target.as_str() {
        "storage" => kb_doc::storage::write_report(&doc).output.len(),
        "markdown" => kb_doc::markdown::write_report(&doc).output.len(),
        "ir" => kb_doc::ir_json::write(&doc).expect("json").len(),
        // The whole-tree path (`plan`, which migrate uses), phase by phase.
        "notion" => {
            let nb = kb_doc::notion::blocks(&doc);
            phase("notion blocks", base, n);
            let requests = kb_doc::notion::chunk(nb.blocks, &kb_doc::notion::PlanParent::NewPage);
            phase("notion chunk (requests)", base, n);
            let s = serde_json::to_string(&requests).expect("json");
            phase("notion plan JSON", base, n);
            s.len()
        }
        // `kbridge convert --to notion` and `kbridge bench codecs --to notion`: streamed.
        "notion-report" => kb_doc::notion::write_report(&doc).output.len(),
        // The whole plan held at once, as migrate holds it.
        "notion-plan" => {
            let plan = kb_doc::notion::plan(&doc, kb_doc::notion::PlanParent::NewPage);
            phase("notion plan", base, n);
            plan.requests.len()
        }
        "text" => kb_doc::text::to_text(&doc).len(),
        t => panic!("unknown target {t}"),
    };
    phase(&format!("{target} write"), base, n);
    eprintln!("input {n} bytes, output {out_len} bytes");
}

#[allow(dead_code)]
fn sizes() {
    use kb_doc::notion::model;
    eprintln!(
        "Block {} BlockData {} RichText {} Inline {} ir::Block {}",
        std::mem::size_of::<model::Block>(),
        std::mem::size_of::<model::BlockData>(),
        std::mem::size_of::<model::RichText>(),
        std::mem::size_of::<kb_doc::Inline>(),
        std::mem::size_of::<kb_doc::Block>()
    );
    eprintln!(
        "Icon {} HostedFile {} ExternalFile {} IdRef {} Color {} Annotations {} RichTextKind {} Map {} RareData {}",
        std::mem::size_of::<Option<model::Icon>>(),
        std::mem::size_of::<Option<model::HostedFile>>(),
        std::mem::size_of::<Option<model::ExternalFile>>(),
        std::mem::size_of::<Option<model::IdRef>>(),
        std::mem::size_of::<Option<model::Color>>(),
        std::mem::size_of::<model::Annotations>(),
        std::mem::size_of::<model::RichTextKind>(),
        std::mem::size_of::<serde_json::Map<String, serde_json::Value>>(),
        std::mem::size_of::<model::RareData>()
    );
}
