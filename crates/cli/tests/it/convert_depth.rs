//! `convert --to ir` writes JSON that `convert --from ir` reads back, however deep the page
//! (issue 11, item 9: 60 nested lists used to exceed serde_json's recursion limit).

use crate::{p, run, write};

#[test]
fn sixty_nested_lists_go_to_ir_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("deep.xhtml");
    write(
        &src,
        format!("{}deep{}", "<ul><li>".repeat(60), "</li></ul>".repeat(60)),
    );
    let json = dir.path().join("deep.json");
    let summary = dir.path().join("summary.json");
    let sj = format!("--summary-json={}", p(&summary));
    let r = run(&["convert", "--to", "ir", p(&src), "-o", p(&json), &sj]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    // Past the depth policy the IR writer lifts the deepest levels, and the report says where.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert!(summary["fallbacks"].as_u64().unwrap() >= 1, "{summary}");
    assert_eq!(
        summary["files"][0]["fallbacks"][0]["node"], "deep_nesting",
        "{summary}"
    );
    let back = dir.path().join("back.xhtml");
    let r = run(&[
        "convert",
        "--from",
        "ir",
        "--to",
        "storage",
        p(&json),
        "-o",
        p(&back),
    ]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let out = std::fs::read_to_string(&back).unwrap();
    assert_eq!(
        out.matches("<ul>").count(),
        kb_doc::depth::MAX_BLOCK_DEPTH,
        "{out}"
    );
    assert!(out.contains("deep"));
}
