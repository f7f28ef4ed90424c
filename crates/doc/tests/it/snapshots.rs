//! Snapshot tests (insta) of storage → Markdown.
//!
//! Our own example page is snapshotted whole. The shared corpus is others' prose and must not be
//! copied into this repository, so corpus snapshots mask it: every letter of every text value in
//! the IR becomes `x` (digits, punctuation and the Markdown syntax stay), which keeps what the
//! snapshot is for — the structure the Markdown writer produces — reviewable.

use kb_doc::{Document, markdown, storage};

use crate::support::{corpus_dir, examples_dir};

/// Keys whose string values are identifiers of the format, not prose.
const KEEP: &[&str] = &[
    "type", "kind", "mark", "format", "section", "colour", "language", "align", "form",
];

fn mask(v: &mut serde_json::Value, key: &str) {
    match v {
        serde_json::Value::String(s) if !KEEP.contains(&key) => {
            *s = s
                .chars()
                .map(|c| if c.is_alphabetic() { 'x' } else { c })
                .collect();
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| mask(x, key)),
        serde_json::Value::Object(m) => {
            // Attribute bags and parameters: keys stay (they are vocabulary), values are masked.
            for (k, x) in m.iter_mut() {
                mask(x, k);
            }
        }
        _ => {}
    }
}

fn masked(doc: &Document) -> Document {
    let mut v = serde_json::to_value(doc).unwrap();
    mask(&mut v, "");
    serde_json::from_value(v).unwrap()
}

#[test]
fn snapshot_example_runbook_to_markdown() {
    let src = std::fs::read_to_string(examples_dir().join("runbook.xhtml")).unwrap();
    let doc = storage::read(&src).unwrap();
    insta::assert_snapshot!("runbook_md", markdown::write(&doc));
}

/// A representative set: tables with colgroups, layouts, code, info/note panels, ADF note panels,
/// images with captions, status, toc, expand, inline-comment markers, emoji, mentions; plus
/// md2conf's admonitions, task lists, math, anchors and unknown macros.
const PAGES: &[&str] = &[
    "real-cloud/544112828.xhtml",
    "real-cloud/544376265.xhtml",
    "real-cloud/544379719.xhtml",
    "real-cloud/883654669.xhtml",
    "real-cloud/1454342158.xhtml",
    "real-cloud/544382364.xhtml",
    "md2conf/admonition.xml",
    "md2conf/tasklist.xml",
    "md2conf/math.xml",
    "md2conf/table.xml",
    "md2conf/anchors.xml",
    "md2conf/collapsed.xml",
];

#[test]
fn snapshot_corpus_pages_to_markdown_masked() {
    let Some(root) = corpus_dir("confluence-storage") else {
        return;
    };
    for page in PAGES {
        let src =
            std::fs::read_to_string(root.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        let doc = storage::read(&src).unwrap_or_else(|e| panic!("{page}: {e}"));
        let name = page.replace(['/', '.'], "_");
        insta::assert_snapshot!(name, markdown::write(&masked(&doc)));
    }
}
