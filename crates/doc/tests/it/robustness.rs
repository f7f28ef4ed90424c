//! Robustness: readers are lenient and total. Whatever the input, they return a document or an
//! error with a sane position (1-based line and column, consistent with the byte offset), never
//! a panic or a stack overflow; and whatever a reader returns, the writers can write it and the
//! written storage reads back.
//!
//! The property tests run the same functions as the fuzz targets in `fuzz/` (which need nightly
//! and cargo-fuzz), on stable, within `cargo test`.

use kb_doc::{Document, ReadError, markdown, storage, text};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// What the fuzz targets do

/// Checks a reader error's position: line and column from 1, offset inside the input, and all
/// three describing the same place.
fn check_error(e: &ReadError, input: &[u8]) {
    assert!(e.line >= 1, "line must be ≥ 1: {e:?}");
    assert!(e.column >= 1, "column must be ≥ 1: {e:?}");
    assert!(
        e.offset <= input.len(),
        "offset {} beyond the input ({} bytes): {e:?}",
        e.offset,
        input.len()
    );
    assert!(
        !e.message.is_empty(),
        "an error must say what is wrong: {e:?}"
    );
    // The line and column must be those of the offset (in the valid UTF-8 prefix).
    let valid = match std::str::from_utf8(input) {
        Ok(s) => s,
        Err(u) => std::str::from_utf8(&input[..u.valid_up_to()]).unwrap(),
    };
    let expected = ReadError::at(e.format, valid, e.offset, "");
    assert_eq!(
        (e.line, e.column),
        (expected.line, expected.column),
        "line/column do not match byte offset {}: {e:?}",
        e.offset
    );
}

/// `fuzz/fuzz_targets/storage_read.rs`: read bytes; when they read, write and read again.
fn storage_target(bytes: &[u8]) {
    match storage::read_bytes(bytes) {
        Err(e) => check_error(&e, bytes),
        Ok(doc) => {
            let written = storage::write(&doc);
            if let Err(e) = storage::read(&written) {
                panic!(
                    "the storage writer produced output its reader rejects: {e}\n--- input\n{}\n--- written\n{written}",
                    String::from_utf8_lossy(bytes)
                );
            }
            // The other writers must cope with whatever the reader produced.
            let _ = markdown::write(&doc);
            let _ = text::to_text(&doc);
        }
    }
}

/// `fuzz/fuzz_targets/markdown_read.rs`: any text is some Markdown.
fn markdown_target(bytes: &[u8]) {
    let input = String::from_utf8_lossy(bytes);
    let doc = markdown::read(&input);
    let md = markdown::write(&doc);
    let _ = markdown::read(&md);
    let xml = storage::write(&doc);
    if let Err(e) = storage::read(&xml) {
        panic!(
            "storage written from Markdown does not read back: {e}\n--- markdown\n{input}\n--- written\n{xml}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations of a valid storage body

const SNIPPET: &str = r#"<h2 local-id="a1">Rollback &amp; recovery</h2>
<p>Use <strong>care</strong>, <em>always</em> &mdash; café <code>x &lt; y</code>&nbsp;🙂</p>
<ac:structured-macro ac:name="info" ac:schema-version="1"><ac:parameter ac:name="title">Note</ac:parameter><ac:rich-text-body><p>Panel <span style="color: rgb(255,0,0);">red</span></p></ac:rich-text-body></ac:structured-macro>
<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter><ac:plain-text-body><![CDATA[if [ $a < 3 ] && true; then echo "]]]]><![CDATA[>"; fi]]></ac:plain-text-body></ac:structured-macro>
<ul><li><p>one</p><ol start="2"><li>two<br /></li></ol></li></ul>
<table><colgroup><col style="width: 10px;" /></colgroup><tbody><tr><th>k</th><td colspan="2"><p>v</p></td></tr></tbody></table>
<p><ac:link><ri:page ri:content-title="Other" ri:space-key="OPS" /><ac:plain-text-link-body><![CDATA[see]]></ac:plain-text-link-body></ac:link> <a href="https://example.org/?a=1&amp;b=2">ext</a> <ac:emoticon ac:name="tick" /> <time datetime="2026-01-02" /></p>
<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>incomplete</ac:task-status><ac:task-body>do it</ac:task-body></ac:task></ac:task-list>
<ac:image ac:width="300"><ri:attachment ri:filename="a b.png" /><ac:caption><p>cap</p></ac:caption></ac:image>
<ac:structured-macro ac:name="mystery-macro"><ac:parameter ac:name="x">1</ac:parameter></ac:structured-macro>"#;

/// Fragments inserted at random places: the characters and tokens that break XML.
const TOKENS: &[&str] = &[
    "<",
    ">",
    "&",
    ";",
    "\"",
    "'",
    "]]>",
    "<![CDATA[",
    "</p>",
    "<p>",
    "</li>",
    "<li>",
    "</ac:structured-macro>",
    "<ac:rich-text-body>",
    "</td>",
    "<!--",
    "-->",
    "&nbsp;",
    "&bogus;",
    "&#xD800;",
    "&#0;",
    "=",
    "/>",
    "<?x?>",
    "<!DOCTYPE x>",
    "\n",
    "\u{0}",
    "é",
    "ac:",
    "<ri:page ri:content-title=\"",
    "<br",
    "<ul>",
];

#[derive(Clone, Debug)]
enum Edit {
    Insert {
        at: prop::sample::Index,
        token: prop::sample::Index,
    },
    Delete {
        at: prop::sample::Index,
        len: usize,
    },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(at, token)| Edit::Insert { at, token }),
        (any::<prop::sample::Index>(), 1usize..12).prop_map(|(at, len)| Edit::Delete { at, len }),
    ]
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(edits: &[Edit]) -> String {
    let mut s = SNIPPET.to_string();
    for e in edits {
        match e {
            Edit::Insert { at, token } => {
                let i = floor_boundary(&s, at.index(s.len() + 1));
                s.insert_str(i, token.get::<&str>(TOKENS));
            }
            Edit::Delete { at, len } => {
                let start = floor_boundary(&s, at.index(s.len() + 1));
                let end = floor_boundary(&s, start + len);
                s.replace_range(start..end, "");
            }
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn storage_reader_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        storage_target(&bytes);
    }

    #[test]
    fn storage_reader_survives_xml_like_noise(parts in prop::collection::vec(prop::sample::select(TOKENS), 0..64)) {
        storage_target(parts.concat().as_bytes());
    }

    #[test]
    fn storage_reader_survives_mutated_bodies(edits in prop::collection::vec(edit(), 1..8)) {
        storage_target(apply(&edits).as_bytes());
    }

    #[test]
    fn markdown_reader_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        markdown_target(&bytes);
    }

    #[test]
    fn markdown_reader_survives_markdown_like_noise(
        parts in prop::collection::vec(
            prop::sample::select(&[
                "#", " ", "\n", "\n\n", "*", "**", "_", "`", "```", "~~~", ">", "- ", "1. ", "[", "]", "(", ")",
                "![", "|", "---", "- [ ] ", "<div>", "</div>", "&", "\\", "x", "é", "    ", "\t", "[^1]", "$", "<!--",
            ][..]),
            0..96,
        )
    ) {
        markdown_target(parts.concat().as_bytes());
    }
}

#[test]
fn the_unmutated_snippet_reads() {
    let doc = storage::read(SNIPPET).unwrap_or_else(|e| panic!("the valid snippet must read: {e}"));
    assert!(!doc.blocks.is_empty());
    storage_target(SNIPPET.as_bytes());
}

#[test]
fn the_runbook_example_reads_and_survives_the_pipeline() {
    let path = crate::support::examples_dir().join("runbook.xhtml");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc = storage::read_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(doc.blocks.len() > 10);
    storage_target(&bytes);
}

// ---------------------------------------------------------------------------------------------
// Explicit cases

/// Asserts that `input` reads into a non-empty document or fails on `line`.
fn lenient_or_error_on_line(input: &str, line: usize) {
    match storage::read(input) {
        Ok(doc) => {
            assert!(
                !doc.blocks.is_empty(),
                "{input:?}: read without error but the content was dropped"
            );
            storage_target(input.as_bytes());
        }
        Err(e) => {
            check_error(&e, input.as_bytes());
            assert_eq!(e.line, line, "{input:?}: error on the wrong line: {e}");
            assert_eq!(e.format, "storage");
        }
    }
}

#[test]
fn unclosed_tags() {
    lenient_or_error_on_line("<p>fine</p>\n<p>broken <strong>bold</p>", 2);
    lenient_or_error_on_line("<p>fine</p>\n<p>never closed", 2);
    lenient_or_error_on_line(
        "<p>fine</p>\n<ac:structured-macro ac:name=\"info\"><ac:rich-text-body><p>x</p>",
        2,
    );
    lenient_or_error_on_line("<p>fine</p>\n</p>", 2);
    lenient_or_error_on_line("<p>fine</p>\n<p attr=\"unterminated>x</p>", 2);
}

#[test]
fn stray_ampersands_and_unknown_entities() {
    for input in [
        "<p>ok</p>\n<p>fish & chips</p>",
        "<p>ok</p>\n<p>&bogus; entity</p>",
        "<p>ok</p>\n<p>a &#xZZ; b</p>",
    ] {
        match storage::read(input) {
            Ok(doc) => {
                // Lenient: the text must survive.
                let t = text::to_text(&doc);
                assert!(
                    t.contains("ok")
                        && (t.contains("chips") || t.contains("entity") || t.contains(" b")),
                    "{input:?} → {t:?}"
                );
            }
            Err(e) => {
                check_error(&e, input.as_bytes());
                assert_eq!(e.line, 2, "{input:?}: {e}");
            }
        }
    }
}

#[test]
fn invalid_utf8_is_located() {
    let input = b"<p>ok</p>\n<p>caf\xe9 cr\xe8me</p>";
    let e = storage::read_bytes(input).expect_err("Latin-1 bytes are not UTF-8");
    check_error(&e, input);
    assert!(e.message.contains("UTF-8"), "{e}");
    assert_eq!((e.line, e.column, e.offset), (2, 7, 16), "{e}");
    assert_eq!(e.format, "storage");
    assert!(
        e.to_string().starts_with("storage: line 2, column 7: "),
        "{e}"
    );
}

/// Runs `f` on a thread with the default 2 MiB stack: a recursive reader or writer overflows it
/// (and aborts the test binary) long before 10,000 levels.
fn on_small_stack(name: &str, f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name(name.into())
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap_or_else(|_| panic!("{name} panicked"));
}

const DEPTH: usize = 10_000;

fn deep_storage(name: &'static str, open: &'static str, close: &'static str) {
    on_small_stack(name, move || {
        let input = format!("{}deep{}", open.repeat(DEPTH), close.repeat(DEPTH));
        match storage::read(&input) {
            Err(e) => {
                check_error(&e, input.as_bytes());
                let m = e.message.to_lowercase();
                assert!(
                    m.contains("depth") || m.contains("deep") || m.contains("nest"),
                    "{name}: the error must name the depth: {e}"
                );
            }
            Ok(doc) => {
                // Preserved: the text is still there and every writer copes.
                let written = storage::write(&doc);
                assert!(
                    written.contains("deep"),
                    "{name}: the innermost text was dropped"
                );
                storage::read(&written)
                    .unwrap_or_else(|e| panic!("{name}: written storage does not read back: {e}"));
                let _ = markdown::write(&doc);
                assert!(text::to_text(&doc).contains("deep"));
                drop(doc);
            }
        }
    });
}

#[test]
fn storage_nesting_10000_divs() {
    deep_storage("storage divs", "<div>", "</div>");
}

#[test]
fn storage_nesting_10000_list_levels() {
    deep_storage("storage lists", "<ul><li>", "</li></ul>");
}

#[test]
fn storage_nesting_10000_macros() {
    deep_storage(
        "storage macros",
        "<ac:structured-macro ac:name=\"expand\"><ac:rich-text-body>",
        "</ac:rich-text-body></ac:structured-macro>",
    );
}

fn deep_markdown(name: &'static str, input: String) {
    on_small_stack(name, move || {
        let doc: Document = markdown::read(&input);
        let md = markdown::write(&doc);
        assert!(
            md.contains("deep"),
            "{name}: the innermost text was dropped"
        );
        let _ = markdown::read(&md);
        let xml = storage::write(&doc);
        storage::read(&xml)
            .unwrap_or_else(|e| panic!("{name}: written storage does not read back: {e}"));
        assert!(text::to_text(&doc).contains("deep"));
        drop(doc);
    });
}

#[test]
fn markdown_nesting_10000_quotes() {
    deep_markdown("markdown quotes", format!("{} deep\n", ">".repeat(DEPTH)));
}

#[test]
fn markdown_nesting_10000_list_levels() {
    // `- - - x` is a list nested in a list nested in a list, all on one line.
    deep_markdown("markdown bullets", format!("{}deep\n", "- ".repeat(DEPTH)));
    deep_markdown("markdown numbers", format!("{}deep\n", "1. ".repeat(DEPTH)));
}

#[test]
fn markdown_nesting_10000_emphasis_and_links() {
    deep_markdown(
        "markdown emphasis",
        format!("{}deep{}\n", "*_".repeat(DEPTH / 2), "_*".repeat(DEPTH / 2)),
    );
    deep_markdown(
        "markdown links",
        format!("{}deep{}\n", "[".repeat(DEPTH), "](u)".repeat(DEPTH)),
    );
}

const BIG: usize = 50 * 1024 * 1024;

fn big_text() -> String {
    let word = "lorem ipsum dolor sit amet ";
    let mut s = String::with_capacity(BIG + word.len());
    while s.len() < BIG {
        s.push_str(word);
    }
    s
}

#[test]
fn storage_50_mb_single_line_paragraph() {
    let body = big_text();
    let input = format!("<p>{body}</p>");
    let doc = storage::read(&input).unwrap_or_else(|e| panic!("a 50 MB paragraph must read: {e}"));
    assert_eq!(doc.blocks.len(), 1);
    assert_eq!(text::to_text(&doc).trim().len(), body.trim().len());
    assert!(storage::write(&doc).len() >= BIG);
}

#[test]
fn markdown_50_mb_single_line_paragraph() {
    let body = big_text();
    let doc = markdown::read(&body);
    assert_eq!(doc.blocks.len(), 1);
    assert_eq!(text::to_text(&doc).trim().len(), body.trim().len());
    assert!(markdown::write(&doc).len() >= BIG);
}
