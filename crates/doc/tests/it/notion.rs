//! Notion reader: our own fixtures for every block type and rich-text feature, bad input, and
//! the shared corpus of real Notion API JSON (enumerated, so new files are covered).

use kb_doc::notion::{self, model};
use kb_doc::*;
use serde_json::{Value, json};

use crate::support::corpus_dir;

fn rt(text: &str) -> Value {
    json!({"type": "text", "text": {"content": text, "link": null},
           "annotations": {"bold": false, "italic": false, "strikethrough": false, "underline": false, "code": false, "color": "default"},
           "plain_text": text, "href": null})
}

fn rt_ann(text: &str, ann: Value) -> Value {
    let mut v = rt(text);
    for (k, x) in ann.as_object().unwrap() {
        v["annotations"][k] = x.clone();
    }
    v
}

fn block(id: &str, kind: &str, data: Value) -> Value {
    json!({"object": "block", "id": id, "type": kind, kind: data, "has_children": false, "archived": false,
           "parent": {"type": "page_id", "page_id": "p"}})
}

fn with_children(mut b: Value, children: Vec<Value>) -> Value {
    b["has_children"] = json!(true);
    b["children"] = json!(children);
    b
}

fn read(v: Value) -> Document {
    notion::read_json(&v.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

/// Reads Notion JSON, writes storage, reads storage back: must not fail, and the text survives.
fn through_storage(doc: &Document) -> Document {
    let out = storage::write(doc);
    storage::read(&out)
        .unwrap_or_else(|e| panic!("storage written from Notion does not read back: {e}\n{out}"))
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

#[test]
fn every_block_type_maps_to_its_ir_node() {
    let page = json!([
        block(
            "b1",
            "paragraph",
            json!({"rich_text": [rt("Hello "), rt_ann("world", json!({"bold": true}))], "color": "default"})
        ),
        block(
            "b2",
            "heading_1",
            json!({"rich_text": [rt("H1")], "is_toggleable": false, "color": "default"})
        ),
        block(
            "b3",
            "heading_4",
            json!({"rich_text": [rt("H4")], "is_toggleable": false, "color": "default"})
        ),
        with_children(
            block(
                "b4",
                "heading_2",
                json!({"rich_text": [rt("Toggle me")], "is_toggleable": true, "color": "default"})
            ),
            vec![block(
                "b4a",
                "paragraph",
                json!({"rich_text": [rt("hidden")]})
            )]
        ),
        block(
            "b5",
            "bulleted_list_item",
            json!({"rich_text": [rt("one")], "color": "default"})
        ),
        with_children(
            block(
                "b6",
                "bulleted_list_item",
                json!({"rich_text": [rt("two")], "color": "default"})
            ),
            vec![block(
                "b6a",
                "numbered_list_item",
                json!({"rich_text": [rt("nested")], "list_start_index": 3})
            )]
        ),
        block(
            "b7",
            "numbered_list_item",
            json!({"rich_text": [rt("first")], "list_start_index": 4})
        ),
        block(
            "b8",
            "to_do",
            json!({"rich_text": [rt("done")], "checked": true})
        ),
        block(
            "b9",
            "to_do",
            json!({"rich_text": [rt("open")], "checked": false})
        ),
        block("b10", "toggle", json!({"rich_text": [rt("More")]})),
        with_children(
            block("b11", "quote", json!({"rich_text": [rt("quoted")]})),
            vec![block(
                "b11a",
                "paragraph",
                json!({"rich_text": [rt("child")]})
            )]
        ),
        block(
            "b12",
            "callout",
            json!({"rich_text": [rt("careful")], "icon": {"type": "emoji", "emoji": "⚠️"}, "color": "yellow_background"})
        ),
        block(
            "b13",
            "code",
            json!({"rich_text": [rt("fn main() {}")], "language": "rust", "caption": [rt("main.rs")]})
        ),
        block("b14", "equation", json!({"expression": "e^{i\\pi}+1=0"})),
        block("b15", "divider", json!({})),
        with_children(
            block(
                "b16",
                "table",
                json!({"table_width": 2, "has_column_header": true, "has_row_header": false})
            ),
            vec![
                block("r1", "table_row", json!({"cells": [[rt("K")], [rt("V")]]})),
                block("r2", "table_row", json!({"cells": [[rt("a")], []]})),
            ]
        ),
        with_children(
            block("b17", "column_list", json!({})),
            vec![
                with_children(
                    block("c1", "column", json!({"width_ratio": 0.25})),
                    vec![block(
                        "c1a",
                        "paragraph",
                        json!({"rich_text": [rt("left")]})
                    )]
                ),
                with_children(
                    block("c2", "column", json!({"width_ratio": 0.75})),
                    vec![block(
                        "c2a",
                        "paragraph",
                        json!({"rich_text": [rt("right")]})
                    )]
                ),
            ]
        ),
        block(
            "b18",
            "image",
            json!({"type": "external", "external": {"url": "https://example.com/a.png"}, "caption": [rt("An image")]})
        ),
        block(
            "b19",
            "file",
            json!({"type": "file", "file": {"url": "https://s3.example/f.pdf", "expiry_time": "2026-01-01T00:00:00Z"}, "caption": [], "name": "spec.pdf"})
        ),
        block(
            "b20",
            "pdf",
            json!({"type": "external", "external": {"url": "https://example.com/x.pdf"}, "caption": []})
        ),
        block(
            "b21",
            "video",
            json!({"type": "external", "external": {"url": "https://youtu.be/x"}, "caption": []})
        ),
        block(
            "b22",
            "audio",
            json!({"type": "external", "external": {"url": "https://example.com/a.mp3"}, "caption": []})
        ),
        block(
            "b23",
            "embed",
            json!({"url": "https://example.com/embed", "caption": []})
        ),
        block(
            "b24",
            "bookmark",
            json!({"url": "https://example.com", "caption": [rt("site")]})
        ),
        block(
            "b25",
            "link_preview",
            json!({"url": "https://github.com/x/y/pull/1"})
        ),
        block("b26", "child_page", json!({"title": "Sub page"})),
        block("b27", "child_database", json!({"title": "Tasks DB"})),
        block(
            "b28",
            "link_to_page",
            json!({"type": "page_id", "page_id": "abc"})
        ),
        with_children(
            block("b29", "synced_block", json!({"synced_from": null})),
            vec![block(
                "b29a",
                "paragraph",
                json!({"rich_text": [rt("synced text")]})
            )]
        ),
        block(
            "b30",
            "synced_block",
            json!({"synced_from": {"type": "block_id", "block_id": "b29"}})
        ),
        block("b31", "table_of_contents", json!({"color": "default"})),
        block("b32", "breadcrumb", json!({})),
        block("b33", "template", json!({"rich_text": [rt("Add a task")]})),
        with_children(
            block("b34", "tab", json!({})),
            vec![block(
                "b34a",
                "paragraph",
                json!({"rich_text": [rt("in a tab")]})
            )]
        ),
        block("b35", "unsupported", json!({"block_type": "form"})),
    ]);
    let doc = read(page);
    let b = &doc.blocks;
    let kinds: Vec<&str> = b
        .iter()
        .map(|x| match x {
            Block::Paragraph { .. } => "paragraph",
            Block::Heading { .. } => "heading",
            Block::List(_) => "list",
            Block::TaskList { .. } => "task_list",
            Block::Expand(_) => "expand",
            Block::Quote { .. } => "quote",
            Block::Callout(_) => "callout",
            Block::Code(_) => "code",
            Block::Math(_) => "math",
            Block::Divider { .. } => "divider",
            Block::Table(_) => "table",
            Block::Layout(_) => "layout",
            Block::Image(_) => "image",
            Block::File(_) => "file",
            Block::Embed(_) => "embed",
            Block::Excerpt(_) => "excerpt",
            Block::Include(_) => "include",
            Block::Toc(_) => "toc",
            Block::Extension(_) => "extension",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "paragraph",
            "heading",
            "heading",
            "heading",
            "expand",
            "list",
            "list",
            "task_list",
            "expand",
            "quote",
            "callout",
            "code",
            "math",
            "divider",
            "table",
            "layout",
            "image",
            "file",
            "file",
            "embed",
            "embed",
            "embed",
            "embed",
            "embed",
            "paragraph",
            "paragraph",
            "paragraph",
            "excerpt",
            "include",
            "toc",
            "extension",
            "extension",
            "extension",
            "extension"
        ]
    );
    // Details.
    assert!(matches!(&b[2], Block::Heading { level: 4, .. }));
    assert!(matches!(&b[3], Block::Heading { attrs, .. } if attrs["notion:toggleable"] == "true"));
    assert!(
        matches!(&b[4], Block::Expand(e) if e.attrs["notion:block"] == "toggle_heading" && e.blocks.len() == 1)
    );
    let Block::List(l) = &b[5] else { panic!() };
    assert!(!l.ordered && l.items.len() == 2);
    assert!(matches!(&l.items[1].blocks[1], Block::List(n) if n.ordered && n.start == Some(3)));
    assert!(matches!(&b[6], Block::List(l) if l.ordered && l.start == Some(4)));
    let Block::TaskList { items, .. } = &b[7] else {
        panic!()
    };
    assert!(items[0].done && !items[1].done);
    assert!(matches!(&b[8], Block::Expand(e) if e.title.as_deref() == Some("More")));
    let Block::Callout(c) = &b[10] else { panic!() };
    assert_eq!(
        (c.kind, c.icon.as_deref()),
        (CalloutKind::Warning, Some("⚠️"))
    );
    assert_eq!(c.attrs["notion:color"], "yellow_background");
    assert!(
        matches!(&b[11], Block::Code(c) if c.language.as_deref() == Some("rust") && c.title.as_deref() == Some("main.rs"))
    );
    let Block::Table(t) = &b[14] else { panic!() };
    assert!(t.has_header_row() && t.rows.len() == 2 && t.rows[1].cells[1].blocks.is_empty());
    let Block::Layout(lay) = &b[15] else { panic!() };
    assert_eq!(
        lay.sections[0]
            .cells
            .iter()
            .map(|c| c.width)
            .collect::<Vec<_>>(),
        [Some(0.25), Some(0.75)]
    );
    assert!(
        matches!(&b[17], Block::File(f) if f.attrs["notion:source"] == "file" && f.attrs["notion:name"] == "spec.pdf")
    );
    assert!(matches!(&b[18], Block::File(f) if f.attrs["notion:block"] == "pdf"));
    assert!(matches!(&b[23], Block::Embed(e) if e.kind == "link_preview"));
    assert!(
        matches!(&b[24], Block::Paragraph { attrs, .. } if attrs["notion:block"] == "child_page")
    );
    assert!(matches!(&b[27], Block::Excerpt(e) if e.blocks.len() == 1));
    assert!(
        matches!(&b[28], Block::Include(i) if matches!(&i.target, LinkTarget::Content { id, .. } if id == "b29"))
    );
    assert!(
        matches!(&b[33], Block::Extension(e) if e.name == "unsupported:form" && e.format == "notion")
    );
    assert!(matches!(&b[32], Block::Extension(e) if e.name == "tab" && e.body.len() == 1));
    // Every block keeps its id.
    assert!(matches!(&b[0], Block::Paragraph { attrs, .. } if attrs["notion:id"] == "b1"));
    // And the whole page writes storage that reads back with every word.
    let back = through_storage(&doc);
    let t1 = words(&text::to_text(&doc));
    let t2 = words(&text::to_text(&back));
    for w in [
        "Hello", "world", "hidden", "nested", "quoted", "careful", "fn", "K", "left", "right",
        "synced",
    ] {
        assert!(
            t1.contains(&w.to_string()) && t2.contains(&w.to_string()),
            "{w} lost: {t2:?}"
        );
    }
}

#[test]
fn rich_text_annotations_links_and_mentions() {
    let doc = read(json!([block(
        "p",
        "paragraph",
        json!({"rich_text": [
            rt_ann("bold ", json!({"bold": true})),
            rt_ann("bold italic", json!({"bold": true, "italic": true})),
            rt(" "),
            rt_ann("red", json!({"color": "red"})),
            rt_ann("hl", json!({"color": "yellow_background", "underline": true})),
            rt_ann("gone", json!({"strikethrough": true})),
            rt_ann("x()", json!({"code": true})),
            {"type": "text", "text": {"content": "site", "link": {"url": "https://example.com"}}, "annotations": {"bold": true}, "plain_text": "site"},
            {"type": "text", "text": {"content": "inner", "link": {"url": "/2712e341754a41aea9ce4c0bb4b18c52#abc"}}, "plain_text": "inner"},
            {"type": "equation", "equation": {"expression": "x^2"}, "plain_text": "x^2"},
            {"type": "mention", "mention": {"type": "user", "user": {"object": "user", "id": "u1", "name": "Ada"}}, "plain_text": "@Ada"},
            {"type": "mention", "mention": {"type": "page", "page": {"id": "pg1"}}, "plain_text": "Roadmap"},
            {"type": "mention", "mention": {"type": "database", "database": {"id": "db1"}}, "plain_text": "Tasks"},
            {"type": "mention", "mention": {"type": "date", "date": {"start": "2026-01-02", "end": "2026-01-05", "time_zone": null}}, "plain_text": "2026-01-02 → 2026-01-05"},
            {"type": "mention", "mention": {"type": "link_preview", "link_preview": {"url": "https://github.com/a/b"}}, "plain_text": "https://github.com/a/b"},
            {"type": "mention", "mention": {"type": "link_mention", "link_mention": {"href": "https://x.test", "title": "X"}}, "plain_text": "X"},
            {"type": "mention", "mention": {"type": "template_mention", "template_mention": {"type": "template_mention_date", "template_mention_date": "today"}}, "plain_text": "@Today"},
            {"type": "mention", "mention": {"type": "custom_emoji", "custom_emoji": {"id": "e1", "name": "party", "url": "https://e/1.png"}}, "plain_text": ":party:"},
            {"type": "mention", "mention": {"type": "future_thing", "future_thing": {}}, "plain_text": "?"},
        ]})
    )]));
    let Block::Paragraph { content, .. } = &doc.blocks[0] else {
        panic!()
    };
    // Adjacent bold runs share one Strong node; italic nests inside it.
    let Inline::Mark {
        mark: Mark::Strong,
        content: inner,
        ..
    } = &content[0]
    else {
        panic!("{:#?}", content[0])
    };
    assert_eq!(inner[0], Inline::text("bold "));
    assert!(matches!(
        &inner[1],
        Inline::Mark {
            mark: Mark::Emphasis,
            ..
        }
    ));
    assert!(
        matches!(&content[2], Inline::Span { style, attrs, .. } if style.color.as_deref() == Some("#d44c47") && attrs["notion:color"] == "red")
    );
    assert!(
        matches!(&content[3], Inline::Span { style, content, .. } if style.background.is_some() && matches!(&content[0], Inline::Mark { mark: Mark::Underline, .. }))
    );
    assert!(matches!(
        &content[4],
        Inline::Mark {
            mark: Mark::Strike,
            ..
        }
    ));
    assert!(matches!(
        &content[5],
        Inline::Mark {
            mark: Mark::Code,
            ..
        }
    ));
    // Link outermost, bold inside it.
    assert!(
        matches!(&content[6], Inline::Link(l) if matches!(&l.target, LinkTarget::Url { url } if url == "https://example.com") && matches!(&l.content[0], Inline::Mark { mark: Mark::Strong, .. }))
    );
    assert!(
        matches!(&content[7], Inline::Link(l) if matches!(&l.target, LinkTarget::Page { id: Some(i), .. } if i == "2712e341754a41aea9ce4c0bb4b18c52") && l.anchor.as_deref() == Some("abc"))
    );
    assert!(matches!(&content[8], Inline::Math(m) if m.tex == "x^2"));
    assert!(
        matches!(&content[9], Inline::Link(l) if matches!(&l.target, LinkTarget::User { account_id: Some(a), .. } if a == "u1") && l.attrs["notion:name"] == "Ada")
    );
    assert!(
        matches!(&content[10], Inline::Link(l) if matches!(&l.target, LinkTarget::Page { title: Some(t), id: Some(i), .. } if t == "Roadmap" && i == "pg1"))
    );
    assert!(matches!(&content[11], Inline::Link(l) if l.attrs["notion:mention"] == "database"));
    assert!(
        matches!(&content[12], Inline::Date { date, attrs } if date == "2026-01-02" && attrs["notion:end"] == "2026-01-05")
    );
    assert!(matches!(&content[13], Inline::Link(l) if l.attrs["notion:mention"] == "link_preview"));
    assert!(
        matches!(&content[14], Inline::Link(l) if matches!(&l.target, LinkTarget::Url { url } if url == "https://x.test"))
    );
    assert!(
        matches!(&content[15], Inline::Placeholder { text, attrs } if text == "@Today" && attrs["notion:template"] == "today")
    );
    assert!(matches!(&content[16], Inline::Emoji(e) if e.shortname.as_deref() == Some(":party:")));
    assert!(
        matches!(&content[17], Inline::Extension(e) if e.kind == "mention" && e.text.as_deref() == Some("?"))
    );
    // Storage keeps the colours as CSS and not the notion: hints.
    let out = storage::write(&doc);
    assert!(
        out.contains("color: #d44c47;") && !out.contains("notion:"),
        "{out}"
    );
    through_storage(&doc);
}

#[test]
fn input_shapes_the_api_returns() {
    let b = block("x", "paragraph", json!({"rich_text": [rt("hi")]}));
    let list = json!({"object": "list", "results": [b.clone(), b.clone()], "next_cursor": null, "has_more": false});
    assert_eq!(read(list).blocks.len(), 2);
    assert_eq!(read(json!([b.clone()])).blocks.len(), 1);
    assert_eq!(read(b.clone()).blocks.len(), 1);
    // Children embedded in the payload (request shape and captured fixtures).
    let embedded = json!({"object": "block", "id": "t", "type": "toggle", "has_children": true,
        "toggle": {"rich_text": [rt("T")], "children": [b.clone()]}});
    assert!(matches!(&read(embedded).blocks[0], Block::Expand(e) if e.blocks.len() == 1));
    // A page with properties and children, 2025-09-03 shape (`in_trash`).
    let page = json!({"object": "page", "id": "pg", "in_trash": false, "parent": {"type": "data_source_id", "data_source_id": "ds"},
        "properties": {
            "Name": {"id": "title", "type": "title", "title": [rt("Launch")]},
            "Status": {"id": "s", "type": "status", "status": {"id": "1", "name": "In progress", "color": "blue"}},
            "Owner": {"id": "o", "type": "people", "people": [{"object": "user", "id": "u9", "name": "Lin"}]},
            "Related": {"id": "r", "type": "relation", "relation": [{"id": "p1"}, {"id": "p2"}], "has_more": false},
            "Score": {"id": "f", "type": "formula", "formula": {"type": "number", "number": 42}},
            "Total": {"id": "ro", "type": "rollup", "rollup": {"type": "number", "number": 7, "function": "sum"}},
            "Tags": {"id": "t", "type": "multi_select", "multi_select": [{"name": "a", "color": "red"}, {"name": "b", "color": "green"}]},
            "Due": {"id": "d", "type": "date", "date": {"start": "2026-02-01", "end": null, "time_zone": null}},
            "Done": {"id": "c", "type": "checkbox", "checkbox": true},
            "Key": {"id": "k", "type": "unique_id", "unique_id": {"prefix": "OPS", "number": 12}},
            "Where": {"id": "w", "type": "place", "place": {"lat": 1.5, "lon": 2.5, "name": "Office"}},
            "Later": {"id": "z", "type": "something_new", "something_new": {"x": 1}}
        },
        "children": [b.clone()]});
    let doc = read(page);
    let Block::PageProperties(pp) = &doc.blocks[0] else {
        panic!("{:#?}", doc.blocks)
    };
    let rows = pp.rows();
    let names: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
    // The title property first, as Notion shows it.
    assert_eq!(
        names,
        [
            "Name", "Status", "Owner", "Related", "Score", "Total", "Tags", "Due", "Done", "Key",
            "Where", "Later"
        ]
    );
    let cell = |i: usize| text::blocks_to_text(rows[i].1).trim().to_string();
    assert_eq!(
        (
            cell(1).as_str(),
            cell(4).as_str(),
            cell(5).as_str(),
            cell(8).as_str(),
            cell(9).as_str(),
            cell(10).as_str()
        ),
        ("In progress", "42", "7", "Yes", "OPS-12", "Office")
    );
    let rel = &rows[3].1[0];
    let Block::Plain { content } = rel else {
        panic!()
    };
    assert_eq!(
        content
            .iter()
            .filter(|i| matches!(i, Inline::Link(l) if matches!(l.target, LinkTarget::Page { .. })))
            .count(),
        2
    );
    // Page Properties write as Confluence's details macro.
    let out = storage::write(&doc);
    assert!(out.contains(r#"ac:name="details""#), "{out}");
    assert_eq!(doc.blocks.len(), 2);
}

#[test]
fn database_schema_becomes_a_properties_report() {
    let db: model::Database = serde_json::from_value(
        json!({"object": "database", "id": "db1", "title": [rt("Team Tasks")],
        "properties": {"Name": {"id": "title", "name": "Name", "type": "title", "title": {}},
                       "Owner": {"id": "o", "name": "Owner", "type": "people", "people": {}},
                       "Due": {"id": "d", "name": "Due", "type": "date", "date": {}}}}),
    )
    .unwrap();
    let Block::PagePropertiesReport(r) = notion::database_report(&db) else {
        panic!()
    };
    assert_eq!(r.params.get("cql"), Some("label = \"team-tasks\""));
    assert_eq!(r.params.get("headings"), Some("Owner,Due"));
    let out = storage::write(&Document {
        blocks: vec![Block::PagePropertiesReport(r)],
    });
    assert!(out.contains(r#"ac:name="detailssummary""#));
}

#[test]
fn bad_input_gives_clear_errors_or_preserved_nodes() {
    // Truncated JSON: position.
    let e = notion::read_json("{\"object\": \"block\", \"type\": \"paragraph\"").unwrap_err();
    assert_eq!(e.format, "notion");
    assert!(e.line >= 1 && e.column > 1, "{e}");
    // Wrong type of a field: names the block id and the field.
    let e = notion::read_json(
        &json!([block("bad-id", "paragraph", json!({"rich_text": "oops"}))]).to_string(),
    )
    .unwrap_err();
    assert!(
        e.message.contains("bad-id") && e.message.contains("rich_text"),
        "{e}"
    );
    // A type naming a missing key: preserved as an Extension saying so.
    let d =
        read(json!([{"object": "block", "id": "m1", "type": "callout", "has_children": false}]));
    assert!(
        matches!(&d.blocks[0], Block::Extension(e) if e.name == "callout" && e.attrs.contains_key("notion:problem"))
    );
    // Missing type.
    let e = notion::read_json(r#"[{"object":"block","id":"n1"}]"#).unwrap_err();
    assert!(
        e.message.contains("n1") && e.message.contains("type"),
        "{e}"
    );
    // Not Notion at all.
    assert!(notion::read_json("42").is_err());
    // 2000-level nesting: an error (JSON depth), never a stack overflow.
    // (Built as text: a 2000-deep serde_json::Value would itself overflow when serialized.)
    let leaf = block("leaf", "paragraph", json!({"rich_text": [rt("x")]})).to_string();
    let mut s = String::new();
    for i in 0..2000 {
        s.push_str(&format!(r#"{{"object":"block","id":"n{i}","type":"toggle","toggle":{{"rich_text":[]}},"has_children":true,"children":["#));
    }
    s.push_str(&leaf);
    s.push_str(&"]}".repeat(2000));
    let r = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || notion::read_json(&s).map(|_| ()))
        .unwrap()
        .join()
        .unwrap();
    let e = r.unwrap_err();
    assert!(
        e.message.contains("recursion") || e.message.contains("deep"),
        "{e}"
    );
}

// ------------------------------------------------------------------------- the shared corpus

fn json_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

/// Every JSON file of the Notion corpus deserializes into its model; every block fixture reads
/// into the IR, writes storage, and that storage reads back keeping the block's text.
#[test]
fn corpus_notion_json_deserializes_and_converts() {
    let Some(dir) = corpus_dir("notion-api") else {
        return;
    };
    let files = json_files(&dir);
    assert!(
        files.len() >= 90,
        "only {} Notion corpus files",
        files.len()
    );
    let mut failures = Vec::new();
    let mut blocks_checked = 0;
    for f in &files {
        let rel = f.strip_prefix(&dir).unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(f).unwrap();
        let v: Value = serde_json::from_str(&src).unwrap();
        let folder = rel.split('/').nth(1).unwrap_or("");
        let r: Result<(), String> = match folder {
            "Blocks" => match notion::read_json(&src) {
                Ok(doc) => {
                    blocks_checked += 1;
                    let out = storage::write(&doc);
                    match storage::read(&out) {
                        Ok(back) => {
                            let t1 = words(&text::to_text(&doc));
                            let t2 = words(&text::to_text(&back));
                            match t1.iter().find(|w| !t2.contains(w)) {
                                Some(w) => Err(format!("word {w:?} lost through storage")),
                                None => Ok(()),
                            }
                        }
                        Err(e) => Err(format!("storage does not read back: {e}")),
                    }
                }
                Err(e) => Err(e.to_string()),
            },
            "Property" if v.get("type").is_some() => {
                serde_json::from_value::<model::PropertyValue>(v)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            "Property" => {
                serde_json::from_value::<model::indexmap_lite::OrderedMap<model::PropertyValue>>(v)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            "RichText" | "Common" if v.is_array() => {
                serde_json::from_value::<Vec<model::RichText>>(v)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            "RichText" => serde_json::from_value::<model::RichText>(v)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            "Common" if v.get("external").is_some() => {
                serde_json::from_value::<model::FileSource>(v)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            "Common" => serde_json::from_value::<model::RichText>(v)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            "Page" | "Database" => {
                let items = if v.is_array() {
                    v.as_array().unwrap().clone()
                } else {
                    vec![v]
                };
                items
                    .into_iter()
                    .try_for_each(|i| match i.get("object").and_then(Value::as_str) {
                        Some("database") => serde_json::from_value::<model::Database>(i)
                            .map(|_| ())
                            .map_err(|e| e.to_string()),
                        _ => serde_json::from_value::<model::Page>(i)
                            .map(|p| {
                                let _ = notion::read_page(&p);
                            })
                            .map_err(|e| e.to_string()),
                    })
            }
            other => Err(format!("unexpected corpus folder {other:?}")),
        };
        if let Err(e) = r {
            failures.push(format!("{rel}: {e}"));
        }
    }
    assert!(
        blocks_checked >= 40,
        "only {blocks_checked} block fixtures converted"
    );
    assert!(
        failures.is_empty(),
        "{} of {} files failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// Block types the mapping table marks exact for Notion → storage → Notion.
const EXACT: &[&str] = &[
    "paragraph",
    "heading_1",
    "heading_2",
    "heading_3",
    "bulleted_list_item",
    "numbered_list_item",
    "to_do",
    "quote",
    "code",
    "divider",
    "table",
    "table_row",
    "table_of_contents",
    "image",
];

fn kinds_in(blocks: &[&model::Block], out: &mut Vec<String>) {
    for b in blocks {
        let toggle = b.data.as_ref().is_some_and(|d| d.is_toggleable);
        // Children under a paragraph are indentation, which storage has no element for.
        let indented = b.kind == "paragraph" && !b.all_children().is_empty();
        out.push(match (toggle, indented) {
            (true, _) => format!("{} (toggleable)", b.kind),
            (_, true) => "paragraph (with children)".to_string(),
            _ => b.kind.clone(),
        });
        kinds_in(&b.all_children(), out);
    }
}

/// A block tree's shape and content at the character level: for each block its type, and for
/// each character of its rich text the annotations and link it carries (so runs split or merged
/// differently still compare equal).
fn fingerprint(blocks: &[&model::Block], depth: usize, out: &mut Vec<String>) {
    for b in blocks {
        out.push(format!("{}{}", "  ".repeat(depth), b.kind));
        if let Some(d) = &b.data {
            let mut line = String::new();
            for r in d.rich().iter().chain(d.cells.iter().flatten().flatten()) {
                let a = &r.annotations;
                let link = match &r.kind {
                    model::RichTextKind::Text { text } => text
                        .link
                        .as_ref()
                        .map(|l| l.url.clone())
                        .unwrap_or_default(),
                    model::RichTextKind::Mention { mention } => {
                        format!("mention:{}", serde_json::to_string(mention).unwrap())
                    }
                    model::RichTextKind::Equation { equation } => {
                        format!("equation:{}", equation.expression)
                    }
                    model::RichTextKind::Other(o) => format!("other:{o:?}"),
                };
                let flags = format!(
                    "{}{}{}{}{}/{}/{}",
                    a.bold as u8,
                    a.italic as u8,
                    a.strikethrough as u8,
                    a.underline as u8,
                    a.code as u8,
                    a.color,
                    link
                );
                for c in r.plain().chars() {
                    line.push_str(&format!("[{c}|{flags}]"));
                }
            }
            if !line.is_empty() {
                out.push(format!("{}  {line}", "  ".repeat(depth)));
            }
        }
        fingerprint(&b.all_children(), depth + 1, out);
    }
}

/// Notion → storage → IR → Notion keeps all text, marks, links and structure of the blocks the
/// mapping marks exact, for every corpus block fixture made only of such blocks (the others are
/// listed; their mappings are approximate or fallbacks by design, see docs/mapping.md).
#[test]
fn corpus_notion_through_storage_keeps_text_marks_links_and_structure() {
    let Some(dir) = corpus_dir("notion-api") else {
        return;
    };
    let files: Vec<_> = json_files(&dir)
        .into_iter()
        .filter(|f| f.to_string_lossy().contains("/Blocks/"))
        .collect();
    let (mut checked, mut skipped, mut failures) = (0, Vec::new(), Vec::new());
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(f).unwrap();
        let v: Value = serde_json::from_str(&src).unwrap();
        let originals: Vec<model::Block> = match v {
            Value::Array(_) => serde_json::from_value(v).unwrap(),
            _ => vec![serde_json::from_value(v).unwrap()],
        };
        let mut kinds = Vec::new();
        kinds_in(&originals.iter().collect::<Vec<_>>(), &mut kinds);
        if let Some(k) = kinds.iter().find(|k| !EXACT.contains(&k.as_str())) {
            skipped.push(format!("{name} ({k})"));
            continue;
        }
        checked += 1;
        let ir = notion::read_blocks(&originals);
        let direct = notion::blocks(&ir).blocks;
        let via_storage = notion::blocks(&storage::read(&storage::write(&ir)).unwrap()).blocks;
        let (mut a, mut b) = (Vec::new(), Vec::new());
        fingerprint(&direct.iter().collect::<Vec<_>>(), 0, &mut a);
        fingerprint(&via_storage.iter().collect::<Vec<_>>(), 0, &mut b);
        if a != b {
            let i = a
                .iter()
                .zip(&b)
                .position(|(x, y)| x != y)
                .unwrap_or(a.len().min(b.len()));
            failures.push(format!(
                "{name}: first difference at line {i}:\n  direct:  {:?}\n  storage: {:?}",
                a.get(i).map(|s| s.chars().take(300).collect::<String>()),
                b.get(i).map(|s| s.chars().take(300).collect::<String>())
            ));
        }
    }
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "Notion → storage → Notion: {checked} fixtures checked, {} left out for approximate mappings: {}",
        skipped.len(),
        skipped.join(", ")
    );
    assert!(
        checked >= 14,
        "only {checked} fixtures are made of exact blocks"
    );
    assert!(
        failures.is_empty(),
        "{} fixtures changed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rich_text_through_storage_back_to_notion() {
    let src = json!([block(
        "p",
        "paragraph",
        json!({"rich_text": [
            rt_ann("bold ", json!({"bold": true})),
            rt_ann("bold italic", json!({"bold": true, "italic": true})),
            rt_ann("red", json!({"color": "red"})),
            rt_ann("hl", json!({"color": "yellow_background", "underline": true})),
            rt_ann("gone", json!({"strikethrough": true})),
            rt_ann("x()", json!({"code": true})),
            {"type": "text", "text": {"content": "site", "link": {"url": "https://example.com"}}, "annotations": {"bold": true}, "plain_text": "site"},
            {"type": "mention", "mention": {"type": "page", "page": {"id": "pg1"}}, "plain_text": "Roadmap"},
            {"type": "mention", "mention": {"type": "date", "date": {"start": "2026-01-02"}}, "plain_text": "2026-01-02"},
        ]})
    )]);
    let originals: Vec<model::Block> = serde_json::from_value(src).unwrap();
    let ir = notion::read_blocks(&originals);
    let direct = notion::blocks(&ir).blocks;
    let via = notion::blocks(&storage::read(&storage::write(&ir)).unwrap()).blocks;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    fingerprint(&direct.iter().collect::<Vec<_>>(), 0, &mut a);
    fingerprint(&via.iter().collect::<Vec<_>>(), 0, &mut b);
    assert_eq!(a, b);
}

/// A Notion user mention has no Confluence account to point at: storage shows the user's name
/// as text (and says so), where it used to be `ri:user` with a Notion id, an unknown user.
#[test]
fn a_notion_user_mention_is_its_name_in_storage() {
    let src = json!([block(
        "p",
        "paragraph",
        json!({"rich_text": [
            rt("Ask "),
            {"type": "mention", "mention": {"type": "user", "user": {"object": "user", "id": "u1"}}, "plain_text": "@Ada"},
        ]})
    )]);
    let originals: Vec<model::Block> = serde_json::from_value(src).unwrap();
    let ir = notion::read_blocks(&originals);
    let w = storage::write_report(&ir);
    assert!(w.output.contains("Ask @Ada"), "{}", w.output);
    assert!(!w.output.contains("ri:user"), "{}", w.output);
    assert!(
        w.fallbacks
            .iter()
            .any(|f| f.node == "user mention (Notion)"),
        "{:?}",
        w.fallbacks
    );
    assert_eq!(text::to_text(&ir).trim(), "Ask @Ada");
}

#[test]
fn nested_paragraph_children_keep_their_depth_and_uploads_their_id() {
    let para = |id: &str, t: &str| block(id, "paragraph", json!({"rich_text": [rt(t)]}));
    let doc = read(json!([with_children(
        para("a", "top"),
        vec![with_children(para("b", "one"), vec![para("c", "two")])]
    )]));
    let depth = |i: usize| match &doc.blocks[i] {
        Block::Paragraph { attrs, .. } => attrs.get("notion:indent").cloned(),
        _ => None,
    };
    assert_eq!(
        (depth(0), depth(1), depth(2)),
        (None, Some("1".into()), Some("2".into()))
    );
    // The writer nests them back.
    let back = notion::blocks(&doc).blocks;
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].children.len(), 1);
    assert_eq!(back[0].children[0].children.len(), 1);
    // A video uploaded through the API keeps its upload id.
    let doc = read(json!([block(
        "v",
        "video",
        json!({"type": "file_upload", "file_upload": {"id": "up-1"}, "caption": []})
    )]));
    assert!(
        matches!(&doc.blocks[0], Block::Embed(e) if e.url == "file_upload:up-1" && e.attrs["notion:source"] == "file_upload")
    );
}

#[test]
fn a_synced_block_duplicate_keeps_the_content_it_shows() {
    // Before: only "Excerpt included from [id]" was left, the content dropped.
    let dup = json!({"object": "list", "results": [{
        "object": "block", "id": "b2", "type": "synced_block", "has_children": true,
        "synced_block": {"synced_from": {"type": "block_id", "block_id": "orig-block-1"}},
        "children": [{
            "object": "block", "id": "c1", "type": "paragraph", "has_children": false,
            "paragraph": {"rich_text": [{"type": "text", "text": {"content": "Shared release checklist"}, "plain_text": "Shared release checklist"}]}
        }]
    }]});
    let doc = read(dup);
    let storage = kb_doc::storage::write(&doc);
    assert!(storage.contains("Shared release checklist"), "{storage}");
    let md = kb_doc::markdown::write(&doc);
    assert!(md.contains("Shared release checklist"), "{md:?}");
    match &doc.blocks[0] {
        Block::Excerpt(e) => {
            assert_eq!(
                e.attrs.get("notion:synced_from").map(String::as_str),
                Some("orig-block-1")
            );
        }
        b => panic!("{b:?}"),
    }
    // Without its children (not fetched) it stays a reference to the original.
    let bare = json!({"object": "list", "results": [{
        "object": "block", "id": "b3", "type": "synced_block", "has_children": true,
        "synced_block": {"synced_from": {"type": "block_id", "block_id": "orig-block-1"}}
    }]});
    assert!(matches!(read(bare).blocks[0], Block::Include(_)));
}

/// Notion → Markdown and storage keep what the input carries (compared with notion-to-md on the
/// same blocks): a user mention's name, a file block's name, a callout's icon, the title of a
/// `link_to_page` target when the page knows it (issue 11, item 11).
#[test]
fn notion_to_markdown_and_storage_keep_names_and_icons() {
    let page = json!({"object": "list", "results": [
        {"object": "block", "id": "p1", "type": "paragraph", "has_children": false,
         "paragraph": {"rich_text": [
            {"type": "text", "text": {"content": "Ask "}, "plain_text": "Ask "},
            {"type": "mention", "mention": {"type": "user", "user": {"object": "user", "id": "5a1e0c9e-0000-4000-8000-000000000001", "name": "Ada Lovelace"}}, "plain_text": "@Ada Lovelace"}
         ]}},
        {"object": "block", "id": "f1", "type": "file", "has_children": false,
         "file": {"type": "external", "external": {"url": "https://files.example.com/x/9f2c"}, "name": "Quarterly report.pdf", "caption": []}},
        {"object": "block", "id": "c1", "type": "callout", "has_children": false,
         "callout": {"rich_text": [{"type": "text", "text": {"content": "Mind the gap"}, "plain_text": "Mind the gap"}], "icon": {"type": "emoji", "emoji": "🚧"}, "color": "default"}}
    ]});
    let doc = read(page);
    let md = kb_doc::markdown::write(&doc);
    assert!(
        md.contains("@Ada Lovelace"),
        "the user's name, not the id: {md}"
    );
    assert!(!md.contains("5a1e0c9e"), "{md}");
    assert!(md.contains("Quarterly report.pdf"), "the file's name: {md}");
    assert!(md.contains("🚧"), "the callout's icon: {md}");
    let storage = kb_doc::storage::write(&doc);
    assert!(storage.contains("Quarterly report.pdf"), "{storage}");
    assert!(storage.contains("🚧"), "{storage}");
}
