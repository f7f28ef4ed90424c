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
            "to_do": {"checked": i.is_multiple_of(2), "color": "default",
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

// ---------------------------------------------------------------------------------------------
// Every format pair, and generated deep documents for every reader and writer.

/// One container of each kind around `inner`.
fn wrap(kind: u8, i: usize, inner: Vec<Block>) -> Block {
    let mut blocks = vec![para(&format!("level {i}"))];
    blocks.extend(inner);
    match kind % 7 {
        0 => Block::List(List {
            ordered: i.is_multiple_of(2),
            start: None,
            items: vec![ListItem {
                blocks,
                attrs: Attrs::new(),
            }],
            attrs: Attrs::new(),
        }),
        1 => Block::TaskList {
            items: vec![TaskItem {
                done: i.is_multiple_of(3),
                id: None,
                uuid: None,
                body: blocks,
                attrs: Attrs::new(),
            }],
            attrs: Attrs::new(),
        },
        2 => Block::Quote {
            blocks,
            attrs: Attrs::new(),
        },
        3 => Block::Table(Table {
            columns: None,
            rows: vec![TableRow {
                cells: vec![TableCell {
                    header: false,
                    colspan: None,
                    rowspan: None,
                    blocks,
                    attrs: Attrs::new(),
                }],
                section: RowSection::Body,
                attrs: Attrs::new(),
            }],
            attrs: Attrs::new(),
        }),
        4 => Block::Expand(Expand {
            title: Some(format!("expand {i}")),
            blocks,
            params: Params::default(),
            attrs: Attrs::new(),
        }),
        5 => Block::Callout(Callout {
            kind: CalloutKind::Info,
            title: None,
            icon: None,
            blocks,
            params: Params::default(),
            form: CalloutForm::Macro,
            attrs: Attrs::new(),
        }),
        _ => Block::Layout(Layout {
            sections: vec![LayoutSection {
                kind: "two_equal".into(),
                cells: vec![
                    LayoutCell {
                        blocks,
                        width: None,
                        attrs: Attrs::new(),
                    },
                    LayoutCell {
                        blocks: vec![para(&format!("beside {i}"))],
                        width: None,
                        attrs: Attrs::new(),
                    },
                ],
                attrs: Attrs::new(),
            }],
            attrs: Attrs::new(),
        }),
    }
}

fn nest(kinds: &[u8]) -> Document {
    let mut inner = vec![para(&format!("level {}", kinds.len()))];
    for (i, k) in kinds.iter().enumerate().rev() {
        inner = vec![wrap(*k, i, inner)];
    }
    Document { blocks: inner }
}

/// Writes `doc` in every format and reads each output back with its own reader.
fn through_every_format(doc: &Document) -> Vec<(&'static str, Vec<Fallback>, Document)> {
    let st = storage::write_report(doc);
    let st_back = storage::read(&st.output)
        .unwrap_or_else(|e| panic!("storage: the writer emitted what its reader rejects: {e}"));
    let md = markdown::write_report(doc);
    let md_back = markdown::read(&md.output);
    let nb = notion::blocks(doc);
    let nb_back = notion::read_blocks(&nb.blocks);
    let ir = ir_json::write_report(doc).unwrap();
    let ir_back = ir_json::read(&ir.output)
        .unwrap_or_else(|e| panic!("ir: the writer emitted what its reader rejects: {e}"));
    vec![
        ("storage", st.fallbacks, st_back),
        ("markdown", md.fallbacks, md_back),
        ("notion", nb.fallbacks, nb_back),
        ("ir", ir.fallbacks, ir_back),
    ]
}

fn deep_places(fbs: &[Fallback]) -> Vec<String> {
    deep_fallbacks(fbs)
        .into_iter()
        .map(|f| f.rendered_as.clone())
        .collect()
}

/// Deep input in each format's own syntax, read by its reader.
fn deep_sources(n: usize) -> Vec<(&'static str, Document)> {
    let storage_src = format!(
        "{}<p>level {}</p>{}",
        (0..n)
            .map(|i| format!("<ul><li><p>level {i}</p>"))
            .collect::<String>(),
        n,
        "</li></ul>".repeat(n)
    );
    let mut md_src = String::new();
    for i in 0..=n {
        md_src.push_str(&"  ".repeat(i));
        md_src.push_str(&format!("- level {i}\n"));
    }
    let mut lists = nested_lists(n + 1);
    // Hand-made IR JSON (the IR writer would already flatten it).
    let ir_src = serde_json::to_string(&lists).unwrap();
    lists.blocks.clear();
    vec![
        ("storage", storage::read(&storage_src).unwrap()),
        ("markdown", markdown::read(&md_src)),
        ("notion", notion::read_blocks(&nested_todos(n + 1))),
        ("ir", ir_json::read(&ir_src).unwrap()),
    ]
}

#[test]
fn deep_input_through_every_format_pair_is_readable_and_reports_the_same_flattening() {
    on_small_stack("pairs", || {
        let n = 70;
        for (from, doc) in deep_sources(n) {
            let outs = through_every_format(&doc);
            let first = deep_places(&outs[0].1);
            assert!(
                !first.is_empty(),
                "{from} → storage: flattening not reported"
            );
            for (to, fbs, back) in &outs {
                assert_eq!(
                    deep_places(fbs),
                    first,
                    "{from} → {to}: a different flattening is reported"
                );
                has_all_levels(&text::to_text(back), n + 1);
                // What was read back is within the policy: writing it again flattens nothing.
                assert!(
                    !depth::exceeds(&back.blocks),
                    "{from} → {to}: read back deeper than the policy"
                );
                for (again, fbs2, _) in through_every_format(back) {
                    assert!(
                        deep_places(&fbs2).is_empty(),
                        "{from} → {to} → {again}: flattened twice: {fbs2:?}"
                    );
                }
            }
        }
    });
}

#[test]
fn every_container_kind_at_the_limit_round_trips_without_flattening() {
    on_small_stack("at the limit", || {
        for k in 0..7u8 {
            let kinds = vec![k; depth::MAX_BLOCK_DEPTH];
            let doc = nest(&kinds);
            assert!(!depth::exceeds(&doc.blocks), "kind {k}");
            for (to, fbs, back) in through_every_format(&doc) {
                assert!(deep_places(&fbs).is_empty(), "kind {k} → {to}: {fbs:?}");
                has_all_levels(&text::to_text(&back), depth::MAX_BLOCK_DEPTH + 1);
            }
        }
    });
}

mod generated {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Any mix of containers, any depth: every writer's output is accepted by its reader,
        /// nothing is lost from the text, and flattening is reported exactly when the policy
        /// is exceeded.
        #[test]
        fn writers_emit_what_readers_accept(kinds in prop::collection::vec(0u8..7, 0..120)) {
            let (ok, msg) = std::thread::Builder::new()
                .stack_size(2 * 1024 * 1024)
                .spawn(move || {
                    let doc = nest(&kinds);
                    let deep = depth::exceeds(&doc.blocks);
                    for (to, fbs, back) in through_every_format(&doc) {
                        if deep_places(&fbs).is_empty() == deep {
                            return (false, format!("{to}: deep={deep}, fallbacks {fbs:?}"));
                        }
                        let t = text::to_text(&back);
                        for i in 0..=kinds.len() {
                            if !t.contains(&format!("level {i}")) {
                                return (false, format!("{to}: level {i} lost"));
                            }
                        }
                    }
                    (true, String::new())
                })
                .unwrap()
                .join()
                .unwrap();
            prop_assert!(ok, "{}", msg);
        }

        /// Deep Markdown and Notion service input never overflows the readers.
        #[test]
        fn readers_survive_generated_depth(n in 0usize..600, indent in 1usize..5) {
            let ok = std::thread::Builder::new()
                .stack_size(2 * 1024 * 1024)
                .spawn(move || {
                    let mut md = String::new();
                    for i in 0..n {
                        md.push_str(&" ".repeat(i * indent.min(2) + i % indent));
                        md.push_str("- x\n");
                    }
                    let _ = markdown::read(&md);
                    let _ = markdown::read(&format!("{}x\n", "> ".repeat(n)));
                    if n > 0 {
                        let d = notion::read_blocks(&nested_todos(n));
                        let _ = storage::write_report(&d);
                    }
                })
                .unwrap()
                .join()
                .is_ok();
            prop_assert!(ok);
        }
    }
}
