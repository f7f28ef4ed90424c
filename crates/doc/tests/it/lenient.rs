//! Lenient, reported storage reading (issue 11, item 1): malformed markup is recovered as an
//! HTML parser would (close what is open, keep the text), each recovery is reported with its
//! place, and what still cannot be read is an error, never an empty document.

use kb_doc::{Recovery, storage, text};

use crate::support::{corpus_dir, files_with_suffix};

fn lenient(src: &str) -> (kb_doc::Document, Vec<Recovery>) {
    let r = storage::read_reported(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    (r.document, r.recoveries)
}

fn plain(doc: &kb_doc::Document) -> String {
    text::to_text(doc)
}

#[test]
fn unclosed_strong_keeps_its_text_and_reports_the_place() {
    let src = "<p>one</p>\n<p>bold <strong>never closed</p><p>after</p>";
    assert!(
        storage::read(src).is_err(),
        "the strict reader stays strict"
    );
    let (doc, rec) = lenient(src);
    let t = plain(&doc);
    for w in ["one", "bold", "never closed", "after"] {
        assert!(t.contains(w), "lost {w:?}: {t:?}");
    }
    assert!(!rec.is_empty(), "the recovery must be reported");
    assert_eq!((rec[0].line, rec[0].column), (2, 9), "{rec:?}");
    assert!(rec[0].what.contains("<strong>"), "{rec:?}");
}

#[test]
fn unclosed_at_the_end_is_closed_and_reported() {
    let (doc, rec) = lenient("<p>start <em>emph");
    assert!(plain(&doc).contains("start emph"), "{:?}", plain(&doc));
    assert_eq!(rec.len(), 2, "both open elements are reported: {rec:?}");
}

#[test]
fn stray_close_tag_is_dropped_and_reported() {
    let (doc, rec) = lenient("<p>a</p></div><p>b</p>");
    let t = plain(&doc);
    assert!(t.contains('a') && t.contains('b'), "{t:?}");
    assert_eq!(rec.len(), 1, "{rec:?}");
    assert_eq!((rec[0].line, rec[0].column, rec[0].offset), (1, 9, 8));
    assert!(rec[0].what.contains("</div>"), "{rec:?}");
}

#[test]
fn undefined_entity_is_kept_and_reported() {
    let (doc, rec) = lenient("<p>x &notanentity; y</p>");
    let out = storage::write(&doc);
    assert!(out.contains("&notanentity;"), "kept verbatim: {out}");
    assert_eq!(rec.len(), 1, "{rec:?}");
    assert_eq!(rec[0].column, 6);
    let (_, rec) = lenient("<p>bad &#xD800; ref</p>");
    assert_eq!(rec.len(), 1, "{rec:?}");
}

#[test]
fn bad_attributes_keep_the_element_and_are_reported() {
    let (doc, rec) = lenient(r#"<p>a <a href="x" title=oops>link</a> b</p>"#);
    let t = plain(&doc);
    assert!(t.contains("link") && t.contains('b'), "{t:?}");
    assert!(!rec.is_empty(), "{rec:?}");
    assert!(rec[0].what.contains("<a>"), "{rec:?}");
}

#[test]
fn truncated_input_keeps_everything_before_the_cut() {
    for src in [
        "<p>text before <strong>bo",
        "<p>text before <stro",
        "<p>text before</p><ac:structured-macro ac:name=\"info\"><ac:rich-text-body><p>in",
        "<p>text before <!-- comm",
        "<p>text before <![CDATA[ abc",
    ] {
        let (doc, rec) = lenient(src);
        assert!(
            plain(&doc).contains("text before"),
            "{src:?}: {:?}",
            plain(&doc)
        );
        assert!(!rec.is_empty(), "{src:?}");
        for r in &rec {
            assert!(
                r.offset <= src.len() && r.line >= 1 && r.column >= 1,
                "{r:?}"
            );
        }
    }
}

#[test]
fn what_cannot_be_read_still_fails() {
    let deep = "<div>".repeat(storage::MAX_DEPTH + 5);
    assert!(storage::read_reported(&deep).is_err());
    assert!(storage::read_bytes_reported(b"<p>\xff</p>").is_err());
}

/// A sequence: the recovered document, written and read again, reads strictly with nothing
/// left to recover.
#[test]
fn a_recovered_body_writes_storage_that_reads_strictly() {
    let src = "<p>a <strong>b</p></td><p>c &nope; <em>d";
    let (doc, rec) = lenient(src);
    assert!(rec.len() >= 3, "{rec:?}");
    let out = storage::write(&doc);
    let again = storage::read(&out).expect("written storage reads strictly");
    assert_eq!(again, doc);
    let (_, rec2) = lenient(&out);
    assert!(rec2.iter().all(|r| r.what.contains("entity")), "{rec2:?}");
}

/// Every corpus body reads leniently to exactly what the strict reader reads, with no recovery.
#[test]
fn corpus_reads_leniently_without_recoveries() {
    let Some(real) = corpus_dir("confluence-storage/real-cloud") else {
        return;
    };
    let files = files_with_suffix(&real, ".xhtml");
    assert!(!files.is_empty());
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let strict = storage::read(&src).unwrap();
        let (doc, rec) = lenient(&src);
        assert_eq!(doc, strict, "{f:?}");
        assert!(
            rec.iter().all(|r| r.what.contains("entity")),
            "{f:?}: {rec:?}"
        );
    }
}

proptest::proptest! {
    /// Tag soup (unclosed, stray and misnested tags, macros, entities, bad attributes, cuts):
    /// the lenient reader never panics, every recovery has a sane place, and what it read
    /// writes storage that the strict reader reads back to the same document.
    #[test]
    fn tag_soup_recovers_and_writes_strict_storage(
        parts in proptest::collection::vec(proptest::prop_oneof![
            proptest::strategy::Just("<p>".to_string()),
            proptest::strategy::Just("</p>".to_string()),
            proptest::strategy::Just("<strong>".to_string()),
            proptest::strategy::Just("</strong>".to_string()),
            proptest::strategy::Just("</div>".to_string()),
            proptest::strategy::Just("<ac:structured-macro ac:name=\"x\"><ac:rich-text-body>".to_string()),
            proptest::strategy::Just("</ac:rich-text-body></ac:structured-macro>".to_string()),
            proptest::strategy::Just("<a href=\"u\" title=bad>".to_string()),
            proptest::strategy::Just("&nope;".to_string()),
            proptest::strategy::Just("&#xD800;".to_string()),
            proptest::strategy::Just("<!-- c".to_string()),
            proptest::strategy::Just("<".to_string()),
            "[a-z ]{0,6}",
        ], 0..24)
    ) {
        let src: String = parts.concat();
        if let Ok(r) = storage::read_reported(&src) {
            for x in &r.recoveries {
                proptest::prop_assert!(x.offset <= src.len() && x.line >= 1 && x.column >= 1);
            }
            let out = storage::write(&r.document);
            let back = storage::read(&out);
            proptest::prop_assert!(back.is_ok(), "{src:?} -> {out:?}: {back:?}");
        }
    }
}
