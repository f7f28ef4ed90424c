//! One depth policy for every codec (`kb_doc::depth`): what a writer emits its reader accepts,
//! nesting past the limit is flattened visibly and reported (a `deep_nesting` fallback with its
//! place), and no reader overflows the stack on deep service input.

use kb_doc::notion::model;
use kb_doc::*;

fn t(s: &str) -> Inline {
    Inline::text(s)
}

fn para(s: &str) -> Block {
    Block::Paragraph {
        content: vec![t(s)],
        align: None,
        attrs: Attrs::new(),
    }
}

/// Runs `f` on a thread with the 2 MiB stack test threads get.
fn on_small_stack(name: &str, f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name(name.into())
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap_or_else(|_| panic!("{name} panicked"));
}

/// `n` to-dos, each the only child of the one before: what Notion returns for a page whose
/// to-dos were nested by appends (the API nests 2 levels per request, pages nest deeper).
fn nested_todos(n: usize) -> Vec<model::Block> {
    let leaf = |i: usize| -> model::Block {
        serde_json::from_value(serde_json::json!({
            "object": "block", "id": format!("{:032x}", i + 1), "type": "to_do",
            "has_children": false,
            "to_do": {"checked": i % 2 == 0, "color": "default",
                      "rich_text": [{"type": "text", "text": {"content": format!("level {i}")},
                                     "plain_text": format!("level {i}"),
                                     "annotations": {"bold": false, "italic": false, "strikethrough": false,
                                                     "underline": false, "code": false, "color": "default"}}]}
        }))
        .unwrap()
    };
    let mut b = leaf(n - 1);
    for i in (0..n - 1).rev() {
        let mut outer = leaf(i);
        outer.has_children = true;
        outer.children = vec![b];
        b = outer;
    }
    vec![b]
}

/// `n` bullet lists, each inside the only item of the one before, `level i` in each item.
fn nested_lists(n: usize) -> Document {
    let mut inner = vec![para(&format!("level {}", n - 1))];
    for i in (0..n - 1).rev() {
        inner = vec![
            para(&format!("level {i}")),
            Block::List(List {
                ordered: false,
                start: None,
                items: vec![ListItem {
                    blocks: inner,
                    attrs: Attrs::new(),
                }],
                attrs: Attrs::new(),
            }),
        ];
    }
    // The outermost list.
    Document {
        blocks: vec![Block::List(List {
            ordered: false,
            start: None,
            items: vec![ListItem {
                blocks: inner,
                attrs: Attrs::new(),
            }],
            attrs: Attrs::new(),
        })],
    }
}

fn deep_fallbacks(fbs: &[Fallback]) -> Vec<&Fallback> {
    fbs.iter().filter(|f| f.node == "deep_nesting").collect()
}

fn has_all_levels(text: &str, n: usize) {
    for i in 0..n {
        assert!(
            text.contains(&format!("level {i}")),
            "level {i} lost:\n{text}"
        );
    }
}

#[test]
fn ninety_nested_notion_todos_written_as_storage_read_back() {
    on_small_stack("todos", || {
        let doc = notion::read_blocks(&nested_todos(90));
        let w = storage::write_report(&doc);
        let back = storage::read(&w.output).unwrap_or_else(|e| {
            panic!("the storage writer emitted a body its reader rejects: {e}")
        });
        has_all_levels(&text::to_text(&back), 90);
        assert!(
            !deep_fallbacks(&w.fallbacks).is_empty(),
            "flattening must be reported: {:?}",
            w.fallbacks
        );
    });
}

#[test]
fn markdown_nesting_past_the_limit_is_reported() {
    on_small_stack("markdown", || {
        let mut input = String::new();
        for i in 0..80 {
            input.push_str(&"  ".repeat(i));
            input.push_str(&format!("- level {i}\n"));
        }
        let doc = markdown::read(&input);
        has_all_levels(&text::to_text(&doc), 80);
        for (name, fbs) in [
            ("markdown", markdown::write_report(&doc).fallbacks),
            ("storage", storage::write_report(&doc).fallbacks),
            ("notion", notion::write_report(&doc).fallbacks),
        ] {
            assert!(
                !deep_fallbacks(&fbs).is_empty(),
                "{name}: 80 levels read from Markdown, flattening not reported: {fbs:?}"
            );
        }
    });
}

#[test]
fn notion_reader_is_bounded_on_deep_service_input() {
    on_small_stack("notion reader", || {
        let blocks = nested_todos(3000);
        let doc = notion::read_blocks(&blocks);
        has_all_levels(&text::to_text(&doc), 3000);
        let w = storage::write_report(&doc);
        storage::read(&w.output).unwrap();
        assert!(!deep_fallbacks(&w.fallbacks).is_empty());
        let w = markdown::write_report(&doc);
        has_all_levels(&w.output, 3000);
        let nb = notion::blocks(&doc);
        has_all_levels(&text::to_text(&notion::read_blocks(&nb.blocks)), 3000);
        // Deep model trees are dropped without recursion overflow too.
        drop(blocks);
    });
}

#[test]
fn ir_json_written_reads_back_at_sixty_nested_lists() {
    on_small_stack("ir json", || {
        let doc = nested_lists(60);
        let json = ir_json::write(&doc).unwrap();
        let back = ir_json::read(&json)
            .unwrap_or_else(|e| panic!("convert --to ir wrote JSON --from ir cannot read: {e}"));
        has_all_levels(&text::to_text(&back), 60);
    });
}
