//! The IR's JSON form (what `convert --to ir` writes) reads back whatever the readers produce,
//! however deep (issue 11, item 9: serde_json's recursion limit of 128 rejected 60 nested lists).

use kb_doc::{depth, ir_json, storage};

fn nested_lists(n: usize) -> String {
    format!("{}deep{}", "<ul><li>".repeat(n), "</li></ul>".repeat(n))
}

#[test]
fn sixty_nested_lists_round_trip_through_ir_json() {
    let doc = storage::read(&nested_lists(60)).unwrap();
    let w = ir_json::write_report(&doc).unwrap();
    let back = ir_json::read(&w.output).expect("the IR JSON reader reads what the writer wrote");
    // Past the depth policy the writer lifts, and says so, like every other writer.
    assert_eq!(back, *depth::limit(&doc).0);
    assert!(
        w.fallbacks.iter().any(|f| f.node == depth::NODE),
        "{:?}",
        w.fallbacks
    );
    assert!(kb_doc::text::to_text(&back).contains("deep"));
}

#[test]
fn deepest_storage_body_round_trips_through_ir_json() {
    // The deepest list nesting the storage reader accepts (two elements per level).
    let n = storage::MAX_DEPTH / 2;
    let doc = storage::read(&nested_lists(n)).unwrap();
    let json = ir_json::write(&doc).unwrap();
    assert_eq!(ir_json::read(&json).unwrap(), *depth::limit(&doc).0);
}

#[test]
fn hostile_ir_json_depth_is_an_error_not_a_stack_overflow() {
    let json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = ir_json::read(&json).unwrap_err();
    assert!(e.message.contains("deeper"), "{e}");
    assert_eq!(e.format, "ir");
    let e = ir_json::read("{\"blocks\": [").unwrap_err();
    assert!(e.line >= 1 && e.column >= 1, "{e}");
}

/// Valid-shaped IR nested up to the guard (and past it) reads or fails cleanly, never
/// overflows the stack of a test thread.
#[test]
fn hand_made_deep_ir_json_reads_or_fails_cleanly() {
    for n in [150usize, 210, 400] {
        let one = r#"{"type":"list","ordered":false,"items":[{"blocks":["#;
        let close = "]}]}";
        let json = format!("{{\"blocks\":[{}{}]}}", one.repeat(n), close.repeat(n));
        match ir_json::read(&json) {
            Ok(d) => assert_eq!(d.blocks.len(), 1, "n={n}"),
            Err(e) => assert!(e.message.contains("deeper"), "n={n}: {e}"),
        }
    }
}
