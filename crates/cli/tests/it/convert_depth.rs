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
    let r = run(&["convert", "--to", "ir", p(&src), "-o", p(&json)]);
    assert_eq!(r.status, 0, "{}", r.stderr);
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
    assert_eq!(out.matches("<ul>").count(), 60, "{out}");
    assert!(out.contains("deep"));
}
