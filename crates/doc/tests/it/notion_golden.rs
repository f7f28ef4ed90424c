//! The JSON kbridge sends to Notion, pinned against golden files generated from the writer
//! before its memory work (issue 11, item 9): the append plan of the shipped example page and of
//! a dense body in full, and FNV-1a hashes of the plan of every corpus page and of the model's
//! own serialization of every corpus Notion object (the corpus is others' text and is not copied
//! into the repository, so only hashes of it are kept).
//!
//! `KB_BLESS_GOLDEN=1 cargo test -p kb-doc --test it notion_golden` rewrites the files; do that
//! only for an intended change of the JSON and review the diff.

use std::fmt::Write as _;
use std::path::PathBuf;

use kb_doc::notion::{self, PlanParent, model};
use kb_doc::storage;
use serde_json::Value;

use crate::support::{corpus_dir, examples_dir, files_with_suffix};

/// The dense body of `kbridge bench codecs --dense`: a new IR node every few bytes.
const DENSE: &str = "<p><strong>a</strong> <em>b</em> <code>c</code> <u>d</u> \
<a href=\"https://x.example/\">e</a></p><ul><li>x</li><li>y</li></ul>\
<table><tbody><tr><td>1</td><td>2</td></tr></tbody></table>";

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/golden")
}

fn bless() -> bool {
    std::env::var_os("KB_BLESS_GOLDEN").is_some()
}

/// Compares `actual` with the golden file `name` (or writes it when blessing).
fn check(name: &str, actual: &str) {
    let path = golden_dir().join(name);
    if bless() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (generate it with KB_BLESS_GOLDEN=1)",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name}: the JSON differs from the golden file from line {}:\n  golden: {}\n  now:    {}",
            first + 1,
            expected.lines().nth(first).unwrap_or("<end>"),
            actual.lines().nth(first).unwrap_or("<end>")
        );
    }
}

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `write_report` (which converts and writes request by request) prints exactly the plan that
/// [`notion::plan`] builds whole, and reports the same fallbacks in the same order.
fn same_report(doc: &kb_doc::Document) {
    let plan = notion::plan(doc, PlanParent::NewPage);
    let w = notion::write_report(doc);
    assert_eq!(w.output, serde_json::to_string(&plan).unwrap() + "\n");
    assert_eq!(w.fallbacks, plan.fallbacks);
}

/// One line per request (method, path, target and the compact body Notion receives), then the
/// attachments, subpages and fallbacks.
fn plan_lines(body: &str, parent: PlanParent) -> String {
    let doc = storage::read(body).unwrap();
    same_report(&doc);
    let plan = notion::plan(&doc, parent);
    let mut out = String::new();
    for r in &plan.requests {
        writeln!(
            out,
            "{} {} {}",
            r.method(),
            r.path,
            serde_json::to_string(&r.target).unwrap()
        )
        .unwrap();
        writeln!(out, "{}", serde_json::to_string(&r.body()).unwrap()).unwrap();
        // The request's serialization (as `kbridge convert --to notion` prints it) holds the
        // same body.
        let v = serde_json::to_value(r).unwrap();
        assert_eq!(v["body"], r.body());
    }
    writeln!(
        out,
        "attachments {}",
        serde_json::to_string(&plan.attachments).unwrap()
    )
    .unwrap();
    writeln!(
        out,
        "subpages {}",
        serde_json::to_string(&plan.subpages).unwrap()
    )
    .unwrap();
    writeln!(
        out,
        "fallbacks {}",
        serde_json::to_string(&plan.fallbacks).unwrap()
    )
    .unwrap();
    out
}

#[test]
fn the_example_pages_plan_is_unchanged() {
    let body = std::fs::read_to_string(examples_dir().join("runbook.xhtml")).unwrap();
    check(
        "notion_plan_runbook.txt",
        &plan_lines(&body, PlanParent::NewPage),
    );
    let under = PlanParent::PageId {
        page_id: "0123456789abcdef0123456789abcdef".into(),
    };
    check("notion_plan_runbook_append.txt", &plan_lines(&body, under));
}

#[test]
fn a_dense_bodys_plan_is_unchanged() {
    // 60 units: 240 top-level blocks, so the plan has several requests.
    let body = DENSE.repeat(60);
    let lines = plan_lines(&body, PlanParent::NewPage);
    assert!(lines.matches("/v1/blocks/").count() >= 2, "{lines}");
    check("notion_plan_dense.txt", &lines);
}

/// Every corpus storage page's plan, and every corpus Notion object as the model writes it back
/// (kb-notion and the engine serialize these) and as a plan after reading it.
#[test]
fn corpus_plans_and_model_json_are_unchanged() {
    let (Some(real), Some(md2conf), Some(nd)) = (
        corpus_dir("confluence-storage/real-cloud"),
        corpus_dir("confluence-storage/md2conf"),
        corpus_dir("notion-api/notion-renderer"),
    ) else {
        return;
    };
    let mut out = String::new();
    let mut pages = files_with_suffix(&real, ".xhtml");
    pages.extend(files_with_suffix(&md2conf, ".xml"));
    pages.sort();
    for p in &pages {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let body = std::fs::read_to_string(p).unwrap();
        let h = match storage::read(&body) {
            Ok(_) => fnv(&plan_lines(&body, PlanParent::NewPage)),
            Err(_) => 0,
        };
        writeln!(out, "storage {name} {h:016x}").unwrap();
    }
    let mut files = Vec::new();
    let mut stack = vec![nd.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 90);
    for f in &files {
        let rel = f.strip_prefix(&nd).unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(f).unwrap();
        let v: Value = serde_json::from_str(&src).unwrap();
        // The model's own JSON: blocks, block lists, rich text, pages.
        let model_json = if v.get("object").and_then(Value::as_str) == Some("block") {
            serde_json::from_value::<model::Block>(v.clone())
                .ok()
                .map(|b| serde_json::to_string(&b).unwrap())
        } else if v.get("object").and_then(Value::as_str) == Some("page") {
            serde_json::from_value::<model::Page>(v.clone())
                .ok()
                .map(|b| serde_json::to_string(&b).unwrap())
        } else if v.get("object").and_then(Value::as_str) == Some("list") {
            serde_json::from_value::<Vec<model::Block>>(v["results"].clone())
                .ok()
                .map(|b| serde_json::to_string(&b).unwrap())
        } else if v.is_array() {
            serde_json::from_value::<Vec<model::RichText>>(v.clone())
                .ok()
                .map(|b| serde_json::to_string(&b).unwrap())
        } else if v.get("type").is_some() && v.get("annotations").is_some() {
            serde_json::from_value::<model::RichText>(v.clone())
                .ok()
                .map(|b| serde_json::to_string(&b).unwrap())
        } else {
            None
        };
        let mh = model_json.as_deref().map_or(0, fnv);
        // What the writer makes of it after reading.
        let ph = match notion::read_json(&src) {
            Ok(doc) => {
                same_report(&doc);
                let plan = notion::plan(&doc, PlanParent::NewPage);
                fnv(&serde_json::to_string(&plan).unwrap())
            }
            Err(_) => 0,
        };
        writeln!(out, "notion {rel} model {mh:016x} plan {ph:016x}").unwrap();
        // Request-shaped blocks of the blocks as read (the shape kb-notion appends).
        if let Some(m) = &model_json
            && v.get("object").and_then(Value::as_str) == Some("block")
        {
            let b: model::Block = serde_json::from_str(m).unwrap();
            let rh = fnv(&notion::request_block(&b).to_string());
            writeln!(out, "request {rel} {rh:016x}").unwrap();
        }
    }
    check("notion_corpus_hashes.txt", &out);
}

/// Fallbacks keep the order of a whole-tree conversion when the plan is streamed: those of the
/// walk first (a heading 5 two blocks after the layout, converted after the layout is finished),
/// then those of finishing the blocks (a column whose first block is a table), in `plan` and in
/// `write_report` alike.
#[test]
fn streamed_fallbacks_keep_their_order() {
    let body = "<ac:layout><ac:layout-section ac:type=\"two_equal\">\
<ac:layout-cell><table><tbody><tr><td>1</td></tr></tbody></table></ac:layout-cell>\
<ac:layout-cell><p>b</p></ac:layout-cell></ac:layout-section></ac:layout>\
<p>between</p><p>and</p><h5>five</h5><p>after</p>";
    let doc = storage::read(body).unwrap();
    same_report(&doc);
    let f = notion::plan(&doc, PlanParent::NewPage).fallbacks;
    let column = f.iter().position(|x| x.node == "column");
    let heading = f
        .iter()
        .position(|x| x.node.contains('5') || x.node.contains("heading"));
    assert!(
        matches!((heading, column), (Some(h), Some(c)) if h < c),
        "{f:#?}"
    );
}
