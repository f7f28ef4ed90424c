//! Codec throughput over the real-world storage corpus, concatenated as one workload.
//!
//! Workload: every `../shared/corpus/confluence-storage/real-cloud/*.xhtml` and
//! `../shared/corpus/confluence-storage/md2conf/*.xml` (relative to the repository root); when
//! that folder is absent, `examples/*.xhtml` (with a note on stderr). Every group reports
//! `Throughput::Bytes` of the storage *input*, so the groups compare directly:
//!
//! - `bare_quick_xml_scan`: quick-xml pulling every event with all checks off: the floor a
//!   storage reader built on quick-xml cannot beat;
//! - `storage_read`: `storage::read` of each body;
//! - `storage_write`: `storage::write` of the pre-read IR;
//! - `markdown_write`: `markdown::write` of the pre-read IR;
//! - `markdown_read`: `markdown::read` of the md2conf Markdown sources (its own input bytes).
//!
//! Run: `cargo bench -p kb-doc --bench codecs` (see docs/benchmarks.md).

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing, with its place

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kb_doc::{Document, markdown, storage};
use quick_xml::Reader;
use quick_xml::events::Event;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Workload {
    /// (file name, storage body)
    storage: Vec<(String, String)>,
    markdown: Vec<String>,
}

fn load() -> Workload {
    let corpus = kb_testkit::shared_path("corpus/confluence-storage");
    let mut paths = kb_testkit::files_with_suffix(&corpus.join("real-cloud"), ".xhtml");
    paths.extend(kb_testkit::files_with_suffix(
        &corpus.join("md2conf"),
        ".xml",
    ));
    let md_paths = kb_testkit::files_with_suffix(&corpus.join("md2conf"), ".md");
    if paths.is_empty() {
        eprintln!(
            "note: {} not found; benchmarking examples/*.xhtml instead (figures are not comparable \
             with docs/benchmarks.md)",
            corpus.display()
        );
        paths = kb_testkit::files_with_suffix(&repo_root().join("examples"), ".xhtml");
    }
    let read =
        |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    Workload {
        storage: paths
            .iter()
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    read(p),
                )
            })
            .collect(),
        markdown: md_paths.iter().map(read).collect(),
    }
}

/// Pulls every event out of quick-xml with every check off; returns the event count.
fn scan(body: &str) -> usize {
    let mut reader = Reader::from_str(body);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.check_comments = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.expand_empty_elements = false;
    config.trim_text_start = false;
    config.trim_text_end = false;
    let mut events = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(event) => {
                black_box(&event);
                events += 1;
            }
        }
    }
    events
}

fn codecs(c: &mut Criterion) {
    let w = load();
    let total: u64 = w.storage.iter().map(|(_, s)| s.len() as u64).sum();
    let events: usize = w.storage.iter().map(|(_, s)| scan(s)).sum();

    // Pre-read IR for the writers; a body the reader rejects is left out (and said so).
    let mut docs: Vec<Document> = Vec::with_capacity(w.storage.len());
    let mut docs_bytes = 0u64;
    for (name, body) in &w.storage {
        match storage::read(body) {
            Ok(doc) => {
                docs_bytes += body.len() as u64;
                docs.push(doc);
            }
            Err(e) => {
                eprintln!("note: {name} does not read ({e}); left out of the writer benchmarks")
            }
        }
    }
    eprintln!(
        "workload: {} storage bodies, {total} bytes, {events} quick-xml events; {} read into the IR; \
         {} Markdown sources",
        w.storage.len(),
        docs.len(),
        w.markdown.len()
    );

    let mut g = c.benchmark_group("bare_quick_xml_scan");
    g.throughput(Throughput::Bytes(total));
    g.bench_function("corpus", |b| {
        b.iter(|| {
            w.storage
                .iter()
                .map(|(_, s)| scan(black_box(s)))
                .sum::<usize>()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("storage_read");
    g.throughput(Throughput::Bytes(total));
    g.bench_function("corpus", |b| {
        b.iter(|| {
            for (_, s) in &w.storage {
                let _ = black_box(storage::read(black_box(s)));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("storage_write");
    g.throughput(Throughput::Bytes(docs_bytes));
    g.bench_function("corpus", |b| {
        b.iter(|| {
            for d in &docs {
                black_box(storage::write(black_box(d)));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("markdown_write");
    g.throughput(Throughput::Bytes(docs_bytes));
    g.bench_function("corpus", |b| {
        b.iter(|| {
            for d in &docs {
                black_box(markdown::write(black_box(d)));
            }
        })
    });
    g.finish();

    if !w.markdown.is_empty() {
        let md_total: u64 = w.markdown.iter().map(|s| s.len() as u64).sum();
        let mut g = c.benchmark_group("markdown_read");
        g.throughput(Throughput::Bytes(md_total));
        g.bench_function("md2conf_sources", |b| {
            b.iter(|| {
                for s in &w.markdown {
                    black_box(markdown::read(black_box(s)));
                }
            })
        });
        g.finish();
    }

    // Notion JSON → IR → storage, over the corpus's block fixtures (their own JSON bytes).
    let notion = notion_blocks();
    if !notion.is_empty() {
        let n_total: u64 = notion.iter().map(|s| s.len() as u64).sum();
        eprintln!(
            "workload: {} Notion block files, {n_total} bytes",
            notion.len()
        );
        let mut g = c.benchmark_group("notion_to_storage");
        g.throughput(Throughput::Bytes(n_total));
        g.bench_function("corpus_blocks", |b| {
            b.iter(|| {
                for s in &notion {
                    if let Ok(doc) = kb_doc::notion::read_json(black_box(s)) {
                        black_box(storage::write(&doc));
                    }
                }
            })
        });
        g.finish();
        let mut g = c.benchmark_group("notion_read");
        g.throughput(Throughput::Bytes(n_total));
        g.bench_function("corpus_blocks", |b| {
            b.iter(|| {
                for s in &notion {
                    let _ = black_box(kb_doc::notion::read_json(black_box(s)));
                }
            })
        });
        g.finish();
    }
}

/// The Notion corpus's block fixtures (`../shared/corpus/notion-api/*/Blocks/*.json`).
fn notion_blocks() -> Vec<String> {
    let root = kb_testkit::shared_path("corpus/notion-api/notion-renderer/Blocks");
    let v: Vec<String> = kb_testkit::files_with_suffix(&root, ".json")
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    if v.is_empty() {
        eprintln!(
            "note: {} not found; the Notion benchmarks are skipped",
            root.display()
        );
    }
    v
}

criterion_group!(benches, codecs);
criterion_main!(benches);
