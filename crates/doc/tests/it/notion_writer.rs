//! The Notion writer (IR → Notion blocks → append plan): one test per mapping, the request
//! limits and the plan's executability proven by proptest (an in-memory Notion executes the plan
//! and must rebuild the intended tree), the reader round trip over the corpus, and the runbook.

use std::collections::HashMap;

use kb_doc::notion::{self, AppendPlan, BlockRef, PlanParent};
use kb_doc::*;
use proptest::prelude::*;
use serde_json::{Value, json};

// ============================================================================================
// Helpers

fn t(s: &str) -> Inline {
    Inline::text(s)
}

fn p(content: Vec<Inline>) -> Block {
    Block::Paragraph {
        content,
        align: None,
        attrs: Attrs::new(),
    }
}

fn pt(s: &str) -> Block {
    p(vec![t(s)])
}

fn plain(s: &str) -> Block {
    Block::Plain {
        content: vec![t(s)],
    }
}

fn attrs(pairs: &[(&str, &str)]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn doc(blocks: Vec<Block>) -> Document {
    Document { blocks }
}

/// The intended blocks (stage 1) as request JSON, and the fallbacks.
fn write(blocks: Vec<Block>) -> (Vec<Value>, Vec<Fallback>) {
    let nb = notion::blocks(&doc(blocks));
    (
        nb.blocks.iter().map(notion::request_block).collect(),
        nb.fallbacks,
    )
}

fn one(blocks: Vec<Block>) -> Value {
    let (v, _) = write(blocks);
    assert_eq!(v.len(), 1, "{v:#?}");
    v.into_iter().next().unwrap()
}

fn link(target: LinkTarget, content: Vec<Inline>, a: Attrs) -> Inline {
    Inline::link(Link {
        target,
        anchor: None,
        content,
        plain_body: false,
        attrs: a,
    })
}

fn page_target(id: &str) -> LinkTarget {
    LinkTarget::Page {
        title: Some("Runbooks".into()),
        space_key: None,
        id: Some(id.into()),
        attrs: Attrs::new(),
    }
}

const PAGE_ID: &str = "2712e341-754a-41ae-a9ce-4c0bb4b18c52";

/// The rich text of a request-shaped block.
fn rich(b: &Value) -> &Vec<Value> {
    let k = b["type"].as_str().unwrap();
    b[k]["rich_text"]
        .as_array()
        .unwrap_or_else(|| panic!("no rich_text in {b:#}"))
}

fn texts(rt: &[Value]) -> String {
    rt.iter()
        .map(|r| match r["type"].as_str() {
            Some("text") => r["text"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            Some("equation") => r["equation"]["expression"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            _ => r["plain_text"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

fn kids(b: &Value) -> &Vec<Value> {
    let k = b["type"].as_str().unwrap();
    b[k]["children"]
        .as_array()
        .unwrap_or_else(|| panic!("no children in {b:#}"))
}

fn has_fallback(f: &[Fallback], node: &str) -> bool {
    f.iter().any(|x| x.node == node)
}

fn ann(r: &Value) -> (bool, bool, bool, bool, bool, String) {
    let a = &r["annotations"];
    (
        a["bold"].as_bool().unwrap(),
        a["italic"].as_bool().unwrap(),
        a["strikethrough"].as_bool().unwrap(),
        a["underline"].as_bool().unwrap(),
        a["code"].as_bool().unwrap(),
        a["color"].as_str().unwrap().to_string(),
    )
}

// ============================================================================================
// Blocks

#[test]
fn paragraph_colour_and_indented_children() {
    let children = vec![
        pt("para"),
        Block::Paragraph {
            content: vec![t("child one")],
            align: None,
            attrs: attrs(&[("notion:indent", "1")]),
        },
        Block::Paragraph {
            content: vec![t("grandchild")],
            align: None,
            attrs: attrs(&[("notion:indent", "2")]),
        },
        Block::List(List {
            ordered: false,
            start: None,
            items: vec![ListItem {
                blocks: vec![plain("child item")],
                attrs: Attrs::new(),
            }],
            attrs: attrs(&[("notion:indent", "1")]),
        }),
        Block::Paragraph {
            content: vec![t("red")],
            align: Some(Align::Center),
            attrs: attrs(&[("notion:color", "red_background"), ("notion:id", "x")]),
        },
    ];
    let (v, f) = write(children);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["type"], "paragraph");
    let c = kids(&v[0]);
    assert_eq!(c.len(), 2);
    assert_eq!(texts(rich(&c[0])), "child one");
    assert_eq!(texts(rich(&kids(&c[0])[0])), "grandchild");
    assert_eq!(c[1]["type"], "bulleted_list_item");
    assert_eq!(v[1]["paragraph"]["color"], "red_background");
    assert!(
        v[1]["paragraph"].get("id").is_none() && v[1].get("id").is_none(),
        "notion:id is not written"
    );
    assert!(has_fallback(&f, "paragraph:align"));
}

#[test]
fn headings_levels_and_toggles() {
    let h = |level: u8, a: Attrs| Block::Heading {
        level,
        content: vec![t("H")],
        align: None,
        attrs: a,
    };
    let (v, f) = write(vec![
        h(1, Attrs::new()),
        h(4, Attrs::new()),
        h(6, Attrs::new()),
        h(2, attrs(&[("notion:toggleable", "true")])),
        Block::Expand(Expand {
            title: None,
            blocks: vec![pt("inside")],
            params: Params::new(),
            attrs: attrs(&[("notion:block", "toggle_heading")]),
        }),
        h(
            3,
            attrs(&[("notion:toggleable", "true"), ("notion:color", "blue")]),
        ),
        h(3, Attrs::new()),
    ]);
    let kinds: Vec<&str> = v.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "heading_1",
            "heading_4",
            "heading_4",
            "heading_2",
            "heading_3",
            "heading_3"
        ]
    );
    assert!(has_fallback(&f, "heading:h6"));
    assert_eq!(v[3]["heading_2"]["is_toggleable"], true);
    assert_eq!(texts(rich(&kids(&v[3])[0])), "inside");
    assert_eq!(
        v[4]["heading_3"]["is_toggleable"], true,
        "toggleable without children"
    );
    assert_eq!(v[4]["heading_3"]["color"], "blue");
    assert!(
        v[5]["heading_3"].get("is_toggleable").is_none(),
        "a plain heading is not toggleable"
    );
}

#[test]
fn lists_items_and_start() {
    let item = |blocks: Vec<Block>| ListItem {
        blocks,
        attrs: Attrs::new(),
    };
    let (v, _) = write(vec![Block::List(List {
        ordered: true,
        start: Some(3),
        items: vec![
            item(vec![plain("three"), pt("child para")]),
            ListItem {
                blocks: vec![pt("four")],
                attrs: attrs(&[("notion:color", "green")]),
            },
            item(vec![Block::List(List {
                ordered: false,
                start: None,
                items: vec![item(vec![plain("nested")])],
                attrs: Attrs::new(),
            })]),
        ],
        attrs: attrs(&[("notion:list_format", "roman")]),
    })]);
    assert_eq!(v.len(), 3);
    assert!(v.iter().all(|b| b["type"] == "numbered_list_item"));
    assert_eq!(v[0]["numbered_list_item"]["list_start_index"], 3);
    assert!(v[1]["numbered_list_item"].get("list_start_index").is_none());
    assert_eq!(v[0]["numbered_list_item"]["list_format"], "roman");
    assert_eq!(texts(rich(&v[0])), "three");
    assert_eq!(texts(rich(&kids(&v[0])[0])), "child para");
    assert_eq!(v[1]["numbered_list_item"]["color"], "green");
    assert_eq!(
        rich(&v[2]).len(),
        0,
        "an item starting with a list has empty text"
    );
    assert_eq!(kids(&v[2])[0]["type"], "bulleted_list_item");
    // start 1 is not written
    let (v, _) = write(vec![Block::List(List {
        ordered: true,
        start: Some(1),
        items: vec![item(vec![plain("a")])],
        attrs: Attrs::new(),
    })]);
    assert!(v[0]["numbered_list_item"].get("list_start_index").is_none());
}

#[test]
fn tasks_quotes_and_toggles() {
    let (v, _) = write(vec![
        Block::TaskList {
            items: vec![
                TaskItem {
                    done: true,
                    id: None,
                    uuid: None,
                    body: vec![plain("done")],
                    attrs: Attrs::new(),
                },
                TaskItem {
                    done: false,
                    id: None,
                    uuid: None,
                    body: vec![plain("todo"), pt("sub")],
                    attrs: Attrs::new(),
                },
            ],
            attrs: Attrs::new(),
        },
        Block::Quote {
            blocks: vec![pt("quoted"), pt("more")],
            attrs: attrs(&[("notion:color", "gray")]),
        },
        Block::Expand(Expand {
            title: Some("Details".into()),
            blocks: vec![pt("hidden")],
            params: Params::new(),
            attrs: Attrs::new(),
        }),
    ]);
    assert_eq!(v[0]["to_do"]["checked"], true);
    assert_eq!(v[1]["to_do"]["checked"], false);
    assert_eq!(texts(rich(&kids(&v[1])[0])), "sub");
    assert_eq!(texts(rich(&v[2])), "quoted");
    assert_eq!(v[2]["quote"]["color"], "gray");
    assert_eq!(texts(rich(&kids(&v[2])[0])), "more");
    assert_eq!(v[3]["type"], "toggle");
    assert_eq!(texts(rich(&v[3])), "Details");
    assert_eq!(texts(rich(&kids(&v[3])[0])), "hidden");
}

fn callout(kind: CalloutKind, title: Option<&str>, icon: Option<&str>, a: Attrs) -> Block {
    Block::Callout(Callout {
        kind,
        title: title.map(str::to_string),
        icon: icon.map(str::to_string),
        blocks: vec![pt("body"), pt("second")],
        params: Params::new(),
        form: CalloutForm::Macro,
        attrs: a,
    })
}

#[test]
fn callouts_icons_colours_and_titles() {
    let (v, f) = write(vec![
        callout(
            CalloutKind::Info,
            Some("Before you start"),
            None,
            Attrs::new(),
        ),
        callout(CalloutKind::Warning, None, None, Attrs::new()),
        callout(
            CalloutKind::Panel,
            None,
            Some("🚀"),
            attrs(&[("notion:color", "purple_background")]),
        ),
        callout(
            CalloutKind::Tip,
            None,
            Some("https://example.com/i.png"),
            Attrs::new(),
        ),
        callout(CalloutKind::Panel, None, None, Attrs::new()),
    ]);
    let c = &v[0]["callout"];
    assert_eq!(c["icon"], json!({"type": "emoji", "emoji": "ℹ️"}));
    assert_eq!(c["color"], "blue_background");
    let rt = rich(&v[0]);
    assert_eq!(texts(rt), "Before you start\nbody");
    assert_eq!(rt[0]["annotations"]["bold"], true);
    assert_eq!(texts(rich(&kids(&v[0])[0])), "second");
    assert!(has_fallback(&f, "callout:title"));
    assert_eq!(v[1]["callout"]["icon"]["emoji"], "⚠️");
    assert_eq!(v[1]["callout"]["color"], "yellow_background");
    assert_eq!(v[2]["callout"]["icon"]["emoji"], "🚀");
    assert_eq!(v[2]["callout"]["color"], "purple_background");
    assert_eq!(
        v[3]["callout"]["icon"],
        json!({"type": "external", "external": {"url": "https://example.com/i.png"}})
    );
    assert!(
        v[3]["callout"].get("color").is_none(),
        "an icon-bearing callout (read from Notion) keeps its colour"
    );
    assert!(v[4]["callout"].get("icon").is_none());
}

#[test]
fn code_languages_captions_and_long_code() {
    let code = |language: Option<&str>, text: &str| {
        Block::Code(Code {
            language: language.map(str::to_string),
            title: Some("promote.sh".into()),
            text: text.into(),
            noformat: false,
            params: Params::new(),
            attrs: Attrs::new(),
        })
    };
    let (v, f) = write(vec![
        code(None, "x"),
        code(Some("cpp"), "x"),
        code(Some("csharp"), "x"),
        code(Some("fsharp"), "x"),
        code(Some("objc"), "x"),
        code(Some("rust"), "x"),
        code(Some("brainfuck"), "x"),
    ]);
    let langs: Vec<&str> = v
        .iter()
        .map(|b| b["code"]["language"].as_str().unwrap())
        .collect();
    assert_eq!(
        langs,
        [
            "plain text",
            "c++",
            "c#",
            "f#",
            "objective-c",
            "rust",
            "plain text"
        ]
    );
    assert!(has_fallback(&f, "code:brainfuck"));
    assert_eq!(
        texts(v[0]["code"]["caption"].as_array().unwrap()),
        "promote.sh"
    );
    // 450k characters: runs of 2000, 100 runs at most per block → several code blocks
    let long = "0123456789".repeat(45_000);
    let (v, f) = write(vec![code(Some("bash"), &long)]);
    assert!(v.len() >= 3, "{}", v.len());
    let mut all = String::new();
    for b in &v {
        assert_eq!(b["code"]["language"], "bash");
        let rt = rich(b);
        assert!(rt.len() <= 100);
        assert!(
            rt.iter()
                .all(|r| r["text"]["content"].as_str().unwrap().len() <= 2000)
        );
        all.push_str(&texts(rt));
    }
    assert_eq!(all, long);
    assert!(
        v[1]["code"].get("caption").is_none(),
        "the caption is on the first block only"
    );
    assert!(has_fallback(&f, "code:long_text"));
}

#[test]
fn math_divider_toc() {
    let math = |tex: &str| {
        Block::Math(Math {
            tex: tex.into(),
            macro_name: None,
            params: Params::new(),
            attrs: Attrs::new(),
        })
    };
    let (v, f) = write(vec![
        math("e^{i\\pi}+1=0"),
        math(&"x+".repeat(600)),
        Block::Divider {
            attrs: Attrs::new(),
        },
        Block::Toc(MacroInfo {
            params: Params::new(),
            attrs: attrs(&[("notion:color", "gray")]),
        }),
    ]);
    assert_eq!(
        v[0],
        json!({"type": "equation", "equation": {"expression": "e^{i\\pi}+1=0"}})
    );
    assert_eq!(v[1]["type"], "code");
    assert_eq!(v[1]["code"]["language"], "latex");
    assert!(has_fallback(&f, "math"));
    assert_eq!(v[2], json!({"type": "divider", "divider": {}}));
    assert_eq!(
        v[3],
        json!({"type": "table_of_contents", "table_of_contents": {"color": "gray"}})
    );
}

fn cell(blocks: Vec<Block>, header: bool) -> TableCell {
    TableCell {
        header,
        colspan: None,
        rowspan: None,
        blocks,
        attrs: Attrs::new(),
    }
}

fn row(cells: Vec<TableCell>) -> TableRow {
    TableRow {
        cells,
        section: RowSection::Body,
        attrs: Attrs::new(),
    }
}

#[test]
fn tables_headers_spans_and_cell_content() {
    let (v, f) = write(vec![Block::Table(Table {
        columns: None,
        rows: vec![
            row(vec![
                cell(vec![plain("k")], true),
                cell(vec![plain("v")], true),
            ]),
            row(vec![
                cell(vec![plain("a")], true),
                cell(vec![pt("one"), pt("two")], false),
            ]),
        ],
        attrs: Attrs::new(),
    })]);
    let tb = &v[0]["table"];
    assert_eq!(tb["table_width"], 2);
    assert_eq!(tb["has_column_header"], true);
    assert_eq!(tb["has_row_header"], true);
    let rows = kids(&v[0]);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        texts(rows[1]["table_row"]["cells"][1].as_array().unwrap()),
        "one\ntwo"
    );
    assert!(f.is_empty(), "{f:?}");

    // Attributes from the reader win; spans become empty cells; a list in a cell becomes text.
    let mut span = cell(vec![plain("wide")], false);
    span.colspan = Some(2);
    span.rowspan = Some(2);
    let list = Block::List(List {
        ordered: false,
        start: None,
        items: vec![ListItem {
            blocks: vec![plain("li")],
            attrs: Attrs::new(),
        }],
        attrs: Attrs::new(),
    });
    let (v, f) = write(vec![Block::Table(Table {
        columns: None,
        rows: vec![
            row(vec![span, cell(vec![plain("c")], false)]),
            row(vec![cell(vec![list], false)]),
            row(vec![cell(vec![plain("x")], false)]),
        ],
        attrs: attrs(&[
            ("notion:has_column_header", "false"),
            ("notion:has_row_header", "true"),
        ]),
    })]);
    let tb = &v[0]["table"];
    assert_eq!(tb["table_width"], 3);
    assert_eq!(tb["has_column_header"], false);
    assert_eq!(tb["has_row_header"], true);
    let rows = kids(&v[0]);
    let cells = |r: &Value| -> Vec<String> {
        r["table_row"]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| texts(c.as_array().unwrap()))
            .collect()
    };
    assert_eq!(cells(&rows[0]), ["wide", "", "c"]);
    assert_eq!(
        cells(&rows[1]),
        ["", "", "li"],
        "the rowspan covers two cells of the second row"
    );
    assert_eq!(cells(&rows[2]), ["x", "", ""]);
    assert!(has_fallback(&f, "table:span"));
    assert!(has_fallback(&f, "table:cell:list"));
    // A table without cells writes nothing.
    let (v, f) = write(vec![Block::Table(Table {
        columns: None,
        rows: vec![row(vec![])],
        attrs: Attrs::new(),
    })]);
    assert!(v.is_empty() && has_fallback(&f, "table"));
}

fn layout(cells: Vec<(Vec<Block>, Option<f64>)>) -> Block {
    Block::Layout(Layout {
        sections: vec![LayoutSection {
            kind: String::new(),
            cells: cells
                .into_iter()
                .map(|(blocks, width)| LayoutCell {
                    blocks,
                    width,
                    attrs: Attrs::new(),
                })
                .collect(),
            attrs: Attrs::new(),
        }],
        attrs: Attrs::new(),
    })
}

#[test]
fn layouts_become_column_lists() {
    let v = one(vec![layout(vec![
        (vec![pt("left")], Some(0.25)),
        (vec![], Some(0.75)),
    ])]);
    assert_eq!(v["type"], "column_list");
    let cols = kids(&v);
    assert_eq!(cols.len(), 2);
    assert_eq!(cols[0]["column"]["width_ratio"], 0.25);
    assert_eq!(texts(rich(&kids(&cols[0])[0])), "left");
    assert_eq!(
        kids(&cols[1]).len(),
        1,
        "an empty column gets an empty paragraph"
    );
    // one cell: its blocks inline
    let (v, _) = write(vec![layout(vec![(vec![pt("a"), pt("b")], None)])]);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["type"], "paragraph");
    // seven cells: five columns, the rest merged into the last
    let cells: Vec<(Vec<Block>, Option<f64>)> =
        (0..7).map(|i| (vec![pt(&format!("c{i}"))], None)).collect();
    let (v, f) = write(vec![layout(cells)]);
    let cols = kids(&v[0]);
    assert_eq!(cols.len(), 5);
    let last: Vec<String> = kids(&cols[4]).iter().map(|b| texts(rich(b))).collect();
    assert_eq!(last, ["c4", "c5", "c6"]);
    assert!(has_fallback(&f, "layout:7_columns"));
    // A layout inside a column is flattened; a table first in a column gets a paragraph before it.
    let table = Block::Table(Table {
        columns: None,
        rows: vec![row(vec![cell(vec![plain("t")], false)])],
        attrs: Attrs::new(),
    });
    let inner = layout(vec![(vec![pt("x")], None), (vec![pt("y")], None)]);
    let (v, f) = write(vec![layout(vec![(vec![table], None), (vec![inner], None)])]);
    let cols = kids(&v[0]);
    assert_eq!(kids(&cols[0])[0]["type"], "paragraph");
    assert_eq!(kids(&cols[0])[1]["type"], "table");
    let second: Vec<&str> = kids(&cols[1])
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(second, ["paragraph", "paragraph"]);
    assert!(has_fallback(&f, "layout") && has_fallback(&f, "column"));
}

fn image(source: ImageSource, a: Attrs) -> Image {
    Image {
        source,
        alt: None,
        width: None,
        height: None,
        caption: Some(vec![p(vec![
            t("the "),
            Inline::mark(Mark::Strong, vec![t("diagram")]),
        ])]),
        caption_attrs: Attrs::new(),
        marks: vec![],
        attrs: a,
    }
}

#[test]
fn images_files_and_embeds() {
    let att = ImageSource::Attachment {
        filename: "arch.png".into(),
        container: None,
        attrs: Attrs::new(),
    };
    let nb = notion::blocks(&doc(vec![
        Block::Image(image(
            ImageSource::Url {
                url: "https://x.org/a.png".into(),
            },
            Attrs::new(),
        )),
        Block::Image(image(att.clone(), Attrs::new())),
        Block::Image(image(att, Attrs::new())),
        Block::Image(image(
            ImageSource::Url {
                url: "file_upload:abc".into(),
            },
            attrs(&[("notion:source", "file_upload")]),
        )),
        Block::Image(image(
            ImageSource::Url {
                url: "https://prod-files-secure.s3.amazonaws.com/x.png?X-Amz-Expires=3600".into(),
            },
            attrs(&[("notion:source", "file")]),
        )),
        Block::Image(image(
            ImageSource::Url {
                url: "relative/a.png".into(),
            },
            Attrs::new(),
        )),
    ]));
    let v: Vec<Value> = nb.blocks.iter().map(notion::request_block).collect();
    assert_eq!(v[0]["image"]["type"], "external");
    assert_eq!(v[0]["image"]["external"]["url"], "https://x.org/a.png");
    assert_eq!(
        texts(v[0]["image"]["caption"].as_array().unwrap()),
        "the diagram"
    );
    assert_eq!(v[0]["image"]["caption"][1]["annotations"]["bold"], true);
    assert_eq!(
        v[1]["image"],
        json!({"type": "file_upload", "file_upload": {"id": "kbridge-attachment:arch.png"}, "caption": v[1]["image"]["caption"]})
    );
    assert_eq!(v[3]["image"]["file_upload"]["id"], "abc");
    assert!(
        v[4]["image"]["file_upload"]["id"]
            .as_str()
            .unwrap()
            .starts_with("kbridge-url:https://prod-files")
    );
    assert_eq!(
        v[5]["type"], "paragraph",
        "an image without a usable address"
    );
    assert!(has_fallback(&nb.fallbacks, "image"));
    assert_eq!(
        nb.attachments.len(),
        2,
        "one per file: {:?}",
        nb.attachments
    );
    let j = serde_json::to_value(&nb.attachments).unwrap();
    assert_eq!(
        j[0],
        json!({"placeholder": "kbridge-attachment:arch.png", "source": {"kind": "attachment", "filename": "arch.png"}})
    );
    assert_eq!(j[1]["source"]["kind"], "url");

    let file = |target: LinkTarget, a: Attrs| {
        Block::File(FileRef {
            target,
            caption: Some(vec![t("cap")]),
            params: Params::new(),
            attrs: a,
        })
    };
    let embed = |kind: &str, url: &str| {
        Block::Embed(Embed {
            url: url.into(),
            kind: kind.into(),
            caption: None,
            attrs: Attrs::new(),
        })
    };
    let (v, f) = write(vec![
        file(
            LinkTarget::url("https://x.org/r.pdf"),
            attrs(&[("notion:block", "pdf")]),
        ),
        file(
            LinkTarget::url("https://x.org/f.zip"),
            attrs(&[("notion:name", "f.zip")]),
        ),
        file(
            LinkTarget::Attachment {
                filename: "spec.docx".into(),
                container: None,
                attrs: Attrs::new(),
            },
            Attrs::new(),
        ),
        file(LinkTarget::page_titled("Elsewhere"), Attrs::new()),
        embed("video", "https://youtu.be/x"),
        embed("audio", "https://x.org/a.mp3"),
        embed("embed", "https://x.org/e"),
        embed("bookmark", "https://x.org/b"),
        embed("link_preview", "https://github.com/x/y/pull/1"),
        embed("block", "https://x.org/card"),
    ]);
    assert_eq!(v[0]["type"], "pdf");
    assert_eq!(v[0]["pdf"]["external"]["url"], "https://x.org/r.pdf");
    assert_eq!(texts(v[0]["pdf"]["caption"].as_array().unwrap()), "cap");
    assert_eq!(v[1]["file"]["name"], "f.zip");
    assert_eq!(
        v[2]["file"]["file_upload"]["id"],
        "kbridge-attachment:spec.docx"
    );
    assert_eq!(v[3]["type"], "paragraph");
    assert!(has_fallback(&f, "file"));
    assert_eq!(
        v[4],
        json!({"type": "video", "video": {"type": "external", "external": {"url": "https://youtu.be/x"}}})
    );
    assert_eq!(v[5]["type"], "audio");
    assert_eq!(
        v[6],
        json!({"type": "embed", "embed": {"url": "https://x.org/e"}})
    );
    assert_eq!(
        v[7],
        json!({"type": "bookmark", "bookmark": {"url": "https://x.org/b"}})
    );
    assert_eq!(v[8]["type"], "bookmark");
    assert!(has_fallback(&f, "embed:link_preview"));
    assert_eq!(v[9]["type"], "bookmark");
}

#[test]
fn page_links_child_pages_and_synced_blocks() {
    let lp = |target: LinkTarget, la: Attrs, pa: Attrs| Block::Paragraph {
        content: vec![link(target, vec![], la)],
        align: None,
        attrs: pa,
    };
    let nb = notion::blocks(&doc(vec![
        lp(
            page_target(PAGE_ID),
            Attrs::new(),
            attrs(&[("notion:block", "link_to_page")]),
        ),
        lp(
            page_target(PAGE_ID),
            attrs(&[("notion:target", "database")]),
            attrs(&[("notion:block", "link_to_page")]),
        ),
        lp(
            page_target(PAGE_ID),
            Attrs::new(),
            attrs(&[("notion:block", "child_page")]),
        ),
        lp(
            page_target(PAGE_ID),
            Attrs::new(),
            attrs(&[("notion:block", "child_database")]),
        ),
        Block::Excerpt(Excerpt {
            blocks: vec![pt("shared")],
            params: Params::new(),
            attrs: attrs(&[("notion:block", "synced_block")]),
        }),
        Block::Include(Include {
            target: LinkTarget::Content {
                id: PAGE_ID.into(),
                attrs: Attrs::new(),
            },
            excerpt: true,
            params: Params::new(),
            attrs: attrs(&[("notion:block", "synced_block")]),
        }),
        Block::Excerpt(Excerpt {
            blocks: vec![pt("excerpt body")],
            params: Params::new(),
            attrs: Attrs::new(),
        }),
        Block::Include(Include {
            target: LinkTarget::page_titled("Shared"),
            excerpt: false,
            params: Params::new(),
            attrs: Attrs::new(),
        }),
    ]));
    let v: Vec<Value> = nb.blocks.iter().map(notion::request_block).collect();
    assert_eq!(
        v[0],
        json!({"type": "link_to_page", "link_to_page": {"type": "page_id", "page_id": PAGE_ID}})
    );
    assert_eq!(
        v[1],
        json!({"type": "link_to_page", "link_to_page": {"type": "database_id", "database_id": PAGE_ID}})
    );
    assert_eq!(nb.subpages.len(), 2);
    assert_eq!(
        serde_json::to_value(&nb.subpages[0]).unwrap(),
        json!({"kind": "page", "title": "Runbooks", "id": PAGE_ID})
    );
    assert_eq!(nb.subpages[1].kind, "database");
    assert!(has_fallback(&nb.fallbacks, "child_page"));
    assert_eq!(v[2]["type"], "synced_block");
    assert_eq!(v[2]["synced_block"]["synced_from"], Value::Null);
    assert!(
        v[2]["synced_block"]
            .as_object()
            .unwrap()
            .contains_key("synced_from"),
        "an original says synced_from: null"
    );
    assert_eq!(texts(rich(&kids(&v[2])[0])), "shared");
    assert_eq!(
        v[3],
        json!({"type": "synced_block", "synced_block": {"synced_from": {"type": "block_id", "block_id": PAGE_ID}}})
    );
    assert_eq!(texts(rich(&v[4])), "excerpt body");
    assert!(has_fallback(&nb.fallbacks, "excerpt"));
    assert_eq!(texts(rich(&v[5])), "Included from Shared");
    assert!(has_fallback(&nb.fallbacks, "include"));
}

#[test]
fn properties_reports_and_extensions() {
    let props = PageProperties::from_rows(vec![("Owner".into(), vec![plain("Ops")])]);
    let ext =
        |format: &str, name: &str, text: Option<&str>, body: Vec<Block>, source: Option<&str>| {
            Block::Extension(Extension {
                format: format.into(),
                kind: if format == "notion" {
                    "block".into()
                } else {
                    "macro".into()
                },
                name: name.into(),
                params: Params::new(),
                body,
                text: text.map(str::to_string),
                source: source.map(str::to_string),
                attrs: Attrs::new(),
            })
        };
    let (v, f) = write(vec![
        Block::PageProperties(props),
        Block::PagePropertiesReport(MacroInfo {
            params: Params::new(),
            attrs: Attrs::new(),
        }),
        Block::PagePropertiesReport(MacroInfo {
            params: Params::new(),
            attrs: attrs(&[("notion:database", PAGE_ID)]),
        }),
        ext(
            "notion",
            "breadcrumb",
            None,
            vec![],
            Some(
                r#"{"object":"block","id":"b1","type":"breadcrumb","breadcrumb":{},"has_children":false}"#,
            ),
        ),
        ext(
            "notion",
            "tab",
            None,
            vec![pt("tab item")],
            Some(r#"{"object":"block","id":"b2","type":"tab","tab":{},"has_children":true}"#),
        ),
        ext(
            "notion",
            "unsupported:form",
            None,
            vec![],
            Some(
                r#"{"object":"block","id":"b3","type":"unsupported","unsupported":{"block_type":"form"}}"#,
            ),
        ),
        ext(
            "notion",
            "meeting_notes",
            None,
            vec![pt("summary")],
            Some(
                r#"{"object":"block","type":"meeting_notes","meeting_notes":{"title":"Standup"}}"#,
            ),
        ),
        ext(
            "storage",
            "roadmap-planner",
            Some("raw text"),
            vec![],
            Some("<ac:structured-macro/>"),
        ),
        ext(
            "storage",
            "panel-x",
            None,
            vec![pt("panel body")],
            Some("<ac:structured-macro/>"),
        ),
        ext(
            "storage",
            "gadget",
            None,
            vec![],
            Some("<ac:structured-macro ac:name=\"gadget\"/>"),
        ),
    ]);
    let kinds: Vec<&str> = v.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "table",
            "paragraph",
            "link_to_page",
            "breadcrumb",
            "tab",
            "paragraph",
            "code",
            "paragraph",
            "code"
        ]
    );
    assert!(has_fallback(&f, "page_properties") && has_fallback(&f, "page_properties_report"));
    assert_eq!(v[2]["link_to_page"]["database_id"], PAGE_ID);
    assert_eq!(v[3], json!({"type": "breadcrumb", "breadcrumb": {}}));
    assert_eq!(texts(rich(&kids(&v[4])[0])), "tab item");
    assert_eq!(
        texts(rich(&v[5])),
        "summary",
        "meeting notes: skipped, children kept"
    );
    assert!(
        f.iter()
            .any(|x| x.node == "extension:notion:unsupported:form" && x.extension)
    );
    assert_eq!(v[6]["code"]["language"], "plain text");
    assert_eq!(texts(rich(&v[6])), "raw text");
    assert_eq!(
        texts(v[6]["code"]["caption"].as_array().unwrap()),
        "confluence macro: roadmap-planner"
    );
    assert_eq!(texts(rich(&v[7])), "panel body");
    assert_eq!(
        texts(rich(&v[8])),
        "<ac:structured-macro ac:name=\"gadget\"/>"
    );
    assert!(
        f.iter()
            .any(|x| x.node == "extension:macro:roadmap-planner" && x.extension)
    );
}

// ============================================================================================
// Rich text

#[test]
fn annotations_colours_and_marks() {
    let span = |style: SpanStyle, a: Attrs, content: Vec<Inline>| Inline::Span {
        style: Box::new(style),
        content,
        attrs: a,
    };
    let content = vec![
        Inline::mark(
            Mark::Strong,
            vec![
                t("b "),
                Inline::mark(
                    Mark::Emphasis,
                    vec![Inline::mark(
                        Mark::Strike,
                        vec![Inline::mark(
                            Mark::Underline,
                            vec![Inline::mark(Mark::Code, vec![t("all")])],
                        )],
                    )],
                ),
            ],
        ),
        span(
            SpanStyle::default(),
            attrs(&[("notion:color", "red_background")]),
            vec![t("bg")],
        ),
        span(
            SpanStyle {
                color: Some("rgb(255,86,48)".into()),
                ..SpanStyle::default()
            },
            Attrs::new(),
            vec![t("css")],
        ),
        span(
            SpanStyle {
                strike: true,
                underline: true,
                ..SpanStyle::default()
            },
            Attrs::new(),
            vec![t("su")],
        ),
        span(
            SpanStyle {
                color: Some("#337ea9".into()),
                background: Some("#fbf3db".into()),
                ..SpanStyle::default()
            },
            Attrs::new(),
            vec![t("both")],
        ),
        Inline::mark(Mark::Subscript, vec![t("2")]),
        Inline::mark(Mark::Subscript, vec![t("3")]),
        t("a"),
        Inline::Break {
            attrs: Attrs::new(),
        },
        t("b"),
        Inline::Anchor {
            name: "x".into(),
            params: Params::new(),
            attrs: Attrs::new(),
        },
        Inline::math(Math {
            tex: "x^2".into(),
            macro_name: None,
            params: Params::new(),
            attrs: Attrs::new(),
        }),
    ];
    let (rt, f) = notion::rich_text(&content);
    let rt: Vec<Value> = rt
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    assert_eq!(texts(&rt[..1]), "b ");
    assert_eq!(
        ann(&rt[0]),
        (true, false, false, false, false, "default".into())
    );
    assert_eq!(
        ann(&rt[1]),
        (true, true, true, true, true, "default".into())
    );
    assert_eq!(ann(&rt[2]).5, "red_background");
    assert_eq!(
        ann(&rt[3]).5,
        "red",
        "nearest Notion colour of a Confluence red"
    );
    assert_eq!(
        ann(&rt[4]),
        (false, false, true, true, false, "default".into())
    );
    assert_eq!(ann(&rt[5]).5, "blue", "colour over background");
    assert_eq!(
        texts(&rt[6..7]),
        "23a\nb",
        "marks without a Notion form keep their text; runs merge"
    );
    assert_eq!(
        rt[7],
        json!({"type": "equation", "equation": {"expression": "x^2"}, "annotations": rt[7]["annotations"]})
    );
    assert_eq!(
        f.iter().filter(|x| x.node == "mark:subscript").count(),
        1,
        "reported once"
    );
    assert!(
        has_fallback(&f, "anchor")
            && has_fallback(&f, "span:background")
            && has_fallback(&f, "span:color")
    );
}

#[test]
fn links_and_mentions() {
    let user = LinkTarget::User {
        account_id: Some(PAGE_ID.into()),
        userkey: None,
        username: None,
        attrs: Attrs::new(),
    };
    let conf_user = LinkTarget::User {
        account_id: Some("712020:5e8f".into()),
        userkey: None,
        username: None,
        attrs: Attrs::new(),
    };
    let content = vec![
        link(
            LinkTarget::url("https://x.org"),
            vec![t("site")],
            Attrs::new(),
        ),
        link(page_target(PAGE_ID), vec![t("internal")], Attrs::new()),
        link(
            page_target(PAGE_ID),
            vec![],
            attrs(&[("notion:mention", "page")]),
        ),
        link(
            page_target(PAGE_ID),
            vec![],
            attrs(&[("notion:mention", "database")]),
        ),
        link(LinkTarget::page_titled("By title"), vec![], Attrs::new()),
        link(user, vec![], attrs(&[("notion:name", "Ada")])),
        link(conf_user, vec![t("@Bob")], Attrs::new()),
        link(LinkTarget::SamePage, vec![t("anchor")], Attrs::new()),
        link(
            LinkTarget::Attachment {
                filename: "f.pdf".into(),
                container: None,
                attrs: Attrs::new(),
            },
            vec![],
            Attrs::new(),
        ),
        link(
            LinkTarget::url("/wiki/relative"),
            vec![t("rel")],
            Attrs::new(),
        ),
        link(
            LinkTarget::url(format!("https://x.org/{}", "a".repeat(2100))),
            vec![t("long")],
            Attrs::new(),
        ),
        Inline::Date {
            date: "2026-09-14".into(),
            attrs: attrs(&[
                ("notion:end", "2026-09-15"),
                ("notion:time_zone", "Europe/Paris"),
            ]),
        },
        Inline::Date {
            date: "next week".into(),
            attrs: Attrs::new(),
        },
        Inline::Placeholder {
            text: "@Today".into(),
            attrs: attrs(&[
                ("notion:mention", "template_mention"),
                ("notion:template", "today"),
            ]),
        },
        Inline::Placeholder {
            text: "@Me".into(),
            attrs: attrs(&[
                ("notion:mention", "template_mention"),
                ("notion:template", "me"),
            ]),
        },
        Inline::Placeholder {
            text: "type here".into(),
            attrs: Attrs::new(),
        },
        Inline::emoji(Emoji {
            text: Some("🙂".into()),
            ..Emoji::default()
        }),
        Inline::emoji(Emoji {
            shortname: Some(":warning:".into()),
            ..Emoji::default()
        }),
        Inline::emoji(Emoji {
            shortname: Some(":party:".into()),
            id: Some("e1".into()),
            attrs: attrs(&[("notion:url", "https://x/e.png")]),
            ..Emoji::default()
        }),
        Inline::status(Status {
            text: "DONE".into(),
            colour: Some("Green".into()),
            params: Params::new(),
            attrs: Attrs::new(),
        }),
        Inline::Jira(MacroInfo {
            params: Params(vec![("key".into(), "OPS-1".into())]),
            attrs: Attrs::new(),
        }),
    ];
    let (rt, f) = notion::rich_text(&content);
    let rt: Vec<Value> = rt
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    let find = |s: &str| {
        rt.iter()
            .find(|r| r["text"]["content"].as_str().is_some_and(|c| c.contains(s)))
            .unwrap_or_else(|| panic!("{s} in {rt:#?}"))
    };
    assert_eq!(find("site")["text"]["link"]["url"], "https://x.org");
    assert_eq!(
        find("internal")["text"]["link"]["url"],
        format!("/{}", PAGE_ID.replace('-', ""))
    );
    let mentions: Vec<&Value> = rt
        .iter()
        .filter(|r| r["type"] == "mention")
        .map(|r| &r["mention"])
        .collect();
    assert_eq!(
        *mentions[0],
        json!({"type": "page", "page": {"id": PAGE_ID}})
    );
    assert_eq!(
        *mentions[1],
        json!({"type": "database", "database": {"id": PAGE_ID}})
    );
    assert_eq!(
        *mentions[2],
        json!({"type": "user", "user": {"id": PAGE_ID}})
    );
    assert_eq!(
        *mentions[3],
        json!({"type": "date", "date": {"start": "2026-09-14", "end": "2026-09-15", "time_zone": "Europe/Paris"}})
    );
    assert_eq!(
        *mentions[4],
        json!({"type": "template_mention", "template_mention": {"type": "template_mention_date", "template_mention_date": "today"}})
    );
    assert_eq!(
        *mentions[5],
        json!({"type": "template_mention", "template_mention": {"type": "template_mention_user", "template_mention_user": "me"}})
    );
    assert_eq!(
        *mentions[6],
        json!({"type": "custom_emoji", "custom_emoji": {"id": "e1"}})
    );
    assert_eq!(mentions.len(), 7);
    let all = texts(&rt);
    for s in [
        "By title",
        "@Bob",
        "anchor",
        "f.pdf",
        "rel",
        "long",
        "next week",
        "type here",
        "🙂",
        ":warning:",
        "[DONE]",
        "OPS-1",
    ] {
        assert!(all.contains(s), "{s} in {all}");
    }
    assert!(find("rel")["text"].get("link").is_none());
    assert_eq!(find("[DONE]")["annotations"]["color"], "green_background");
    assert_eq!(find("type here")["annotations"]["italic"], true);
    for node in [
        "link:page",
        "link:user",
        "link:same_page",
        "link:attachment",
        "link",
        "date",
        "placeholder",
        "emoji",
        "status",
        "jira",
    ] {
        assert!(has_fallback(&f, node), "{node}: {f:#?}");
    }
}

#[test]
fn inline_images_follow_their_paragraph() {
    let img = image(
        ImageSource::Url {
            url: "https://x.org/i.png".into(),
        },
        Attrs::new(),
    );
    let (v, f) = write(vec![p(vec![
        t("see "),
        Inline::image(img.clone()),
        t(" here"),
    ])]);
    assert_eq!(v.len(), 2);
    assert_eq!(texts(rich(&v[0])), "see  here");
    assert_eq!(v[1]["type"], "image");
    assert!(has_fallback(&f, "image:inline"));
    // In a list item the image is the item's first child.
    let (v, _) = write(vec![Block::List(List {
        ordered: false,
        start: None,
        items: vec![ListItem {
            blocks: vec![p(vec![t("x"), Inline::image(img)])],
            attrs: Attrs::new(),
        }],
        attrs: Attrs::new(),
    })]);
    assert_eq!(kids(&v[0])[0]["type"], "image");
}

#[test]
fn long_text_splits_on_char_boundaries_keeping_annotations() {
    // 2999 ASCII then an astral emoji straddling the 2000/4000 limits, bold and linked.
    let s = format!(
        "{}😀{}👨‍👩‍👧{}",
        "a".repeat(1999),
        "b".repeat(1997),
        "c".repeat(3000)
    );
    let content = vec![link(
        LinkTarget::url("https://x.org"),
        vec![Inline::mark(Mark::Strong, vec![t(&s)])],
        Attrs::new(),
    )];
    let v = one(vec![p(content)]);
    let rt = rich(&v);
    assert!(rt.len() >= 4);
    for r in rt {
        let c = r["text"]["content"].as_str().unwrap();
        assert!(notion::utf16_len(c) <= 2000, "{}", notion::utf16_len(c));
        assert_eq!(r["annotations"]["bold"], true);
        assert_eq!(r["text"]["link"]["url"], "https://x.org");
    }
    assert_eq!(texts(rt), s);
    assert!(
        rt.iter().all(|r| !r["text"]["content"]
            .as_str()
            .unwrap()
            .starts_with('\u{200d}')),
        "ZWJ sequences stay whole"
    );
}

#[test]
fn more_than_100_runs_continue_in_the_next_block() {
    let content: Vec<Inline> = (0..250)
        .map(|i| {
            if i % 2 == 0 {
                Inline::mark(Mark::Strong, vec![t(&format!("b{i}"))])
            } else {
                t(&format!("p{i}"))
            }
        })
        .collect();
    let (v, f) = write(vec![
        p(content.clone()),
        Block::List(List {
            ordered: false,
            start: None,
            items: vec![ListItem {
                blocks: vec![p(content)],
                attrs: Attrs::new(),
            }],
            attrs: Attrs::new(),
        }),
    ]);
    // the paragraph: 3 paragraphs; the list item: one item with 2 continuation children
    assert_eq!(v.len(), 4);
    assert!(
        v[..3]
            .iter()
            .all(|b| b["type"] == "paragraph" && rich(b).len() <= 100)
    );
    let joined: String = v[..3].iter().map(|b| texts(rich(b))).collect();
    let want: String = (0..250)
        .map(|i| {
            if i % 2 == 0 {
                format!("b{i}")
            } else {
                format!("p{i}")
            }
        })
        .collect();
    assert_eq!(joined, want);
    assert_eq!(v[3]["type"], "bulleted_list_item");
    assert_eq!(kids(&v[3]).len(), 2);
    assert!(
        has_fallback(&f, "paragraph:long_text") && has_fallback(&f, "bulleted_list_item:long_text")
    );
}

// ============================================================================================
// The append plan

#[test]
fn plan_paths_and_parents() {
    let d = doc((0..250).map(|i| pt(&format!("p{i}"))).collect());
    let plan = notion::plan(
        &d,
        PlanParent::PageId {
            page_id: PAGE_ID.into(),
        },
    );
    assert_eq!(plan.requests.len(), 3);
    for r in &plan.requests {
        assert_eq!(r.method(), "PATCH");
        assert_eq!(r.path, format!("/v1/blocks/{PAGE_ID}/children"));
        assert_eq!(r.target, BlockRef::Parent);
    }
    assert_eq!(plan.requests[2].children.len(), 50);
    let plan = notion::plan(&d, PlanParent::NewPage);
    assert_eq!(plan.requests[0].method(), "POST");
    assert_eq!(plan.requests[0].path, "/v1/pages");
    assert_eq!(plan.requests[1].path, "/v1/blocks/{id}/children");
    let j = serde_json::to_value(&plan).unwrap();
    assert_eq!(j["parent"], json!({"type": "new_page"}));
    assert_eq!(j["requests"][1]["target"], json!({"type": "parent"}));
    assert_eq!(j["requests"][0]["body"]["children"][0]["type"], "paragraph");
    // An empty document still creates the page; appending nothing needs no request.
    assert_eq!(
        notion::plan(&doc(vec![]), PlanParent::NewPage)
            .requests
            .len(),
        1
    );
    assert!(
        notion::plan(
            &doc(vec![]),
            PlanParent::PageId {
                page_id: PAGE_ID.into()
            }
        )
        .requests
        .is_empty()
    );
}

#[test]
fn big_tables_are_created_with_rows_then_appended() {
    let rows: Vec<TableRow> = (0..250)
        .map(|i| {
            row(vec![
                cell(vec![plain(&format!("r{i}"))], false),
                cell(vec![], false),
            ])
        })
        .collect();
    let d = doc(vec![
        pt("before"),
        Block::Table(Table {
            columns: None,
            rows,
            attrs: Attrs::new(),
        }),
    ]);
    let plan = notion::plan(&d, PlanParent::NewPage);
    let rebuilt = execute(&plan);
    assert_eq!(rebuilt, intended(&d));
    let r0 = &plan.requests[0].children[1];
    assert_eq!(r0.kind, "table");
    assert_eq!(r0.children.len(), 100);
    assert_eq!(
        plan.requests[1].target,
        BlockRef::Created {
            request: 0,
            path: vec![1]
        }
    );
    assert_eq!(plan.requests[1].children.len(), 100);
    assert_eq!(plan.requests[2].children.len(), 50);
}

fn nested_list(depth: usize) -> Block {
    let mut b = vec![plain(&format!("level {depth}"))];
    if depth > 1 {
        b.push(nested_list(depth - 1));
    }
    Block::List(List {
        ordered: false,
        start: None,
        items: vec![ListItem {
            blocks: b,
            attrs: Attrs::new(),
        }],
        attrs: Attrs::new(),
    })
}

#[test]
fn deep_trees_continue_in_follow_ups() {
    let d = doc(vec![nested_list(10), pt("after")]);
    let plan = notion::plan(
        &d,
        PlanParent::PageId {
            page_id: PAGE_ID.into(),
        },
    );
    assert_eq!(execute(&plan), intended(&d));
    // levels 10, 9, 8 in the first request, then 7, 6, 5 under the level-8 item, …
    assert_eq!(plan.requests.len(), 4);
    assert_eq!(
        plan.requests[1].target,
        BlockRef::Created {
            request: 0,
            path: vec![0, 0, 0]
        }
    );
    assert_eq!(
        plan.requests[2].target,
        BlockRef::Created {
            request: 1,
            path: vec![0, 0, 0]
        }
    );
    // a column list inside a toggle is appended to the toggle (it needs two levels under it)
    let cols = layout(vec![(vec![pt("a")], None), (vec![pt("b")], None)]);
    let d = doc(vec![Block::Expand(Expand {
        title: Some("t".into()),
        blocks: vec![pt("x"), cols],
        params: Params::new(),
        attrs: Attrs::new(),
    })]);
    let plan = notion::plan(&d, PlanParent::NewPage);
    assert_eq!(execute(&plan), intended(&d));
    assert_eq!(plan.requests.len(), 2);
    assert_eq!(plan.requests[1].children[0].kind, "column_list");
}

#[test]
fn runbook_plan_lists_its_fallbacks() {
    let src =
        std::fs::read_to_string(crate::support::examples_dir().join("runbook.xhtml")).unwrap();
    let d = storage::read(&src).unwrap();
    let w = notion::write_report(&d);
    let j: Value = serde_json::from_str(&w.output).unwrap();
    assert_eq!(j["parent"]["type"], "new_page");
    assert!(!j["requests"].as_array().unwrap().is_empty());
    assert_eq!(j["fallbacks"].as_array().unwrap().len(), w.fallbacks.len());
    for node in [
        "extension:macro:roadmap-planner",
        "jira",
        "status",
        "page_properties",
        "callout:title",
        "link:page",
        "link:user",
    ] {
        assert!(
            has_fallback(&w.fallbacks, node),
            "{node}: {:#?}",
            w.fallbacks
        );
    }
    let plan = notion::plan(&d, PlanParent::NewPage);
    for (i, r) in plan.requests.iter().enumerate() {
        check_request(&r.body()).unwrap_or_else(|e| panic!("request {i}: {e}"));
    }
    let rebuilt = execute(&plan);
    assert_eq!(rebuilt, intended(&d));
    // the image is an attachment to upload
    assert!(
        plan.attachments
            .iter()
            .any(|a| a.placeholder.starts_with("kbridge-attachment:")),
        "{:?}",
        plan.attachments
    );
    // every word of the page is in the blocks the plan creates
    let mut got = String::new();
    notion_text(&rebuilt, &mut got);
    let words: Vec<String> = text::to_text(&d)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_string)
        .collect();
    assert!(words.len() > 100);
    for w in words {
        assert!(got.contains(&w), "{w} is missing");
    }
}

// ============================================================================================
// Reader round trip: Notion → IR → Notion blocks → IR is a fixed point

/// The IR as JSON without the ids the reader records (`notion:id`, a synced block's `name`;
/// written blocks have none), and a Notion extension's source reduced to its block type (the
/// writer re-emits the block without its envelope).
fn ir_json(d: &Document) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("notion:id");
                if let Some(Value::Object(a)) = m.get_mut("attrs") {
                    a.remove("notion:id");
                    if a.is_empty() {
                        m.remove("attrs");
                    }
                }
                if m.get("params").is_some_and(|p| {
                    p.get("name").is_some() && p.as_object().is_some_and(|o| o.len() == 1)
                }) {
                    m.remove("params");
                }
                if m.get("format").and_then(Value::as_str) == Some("notion")
                    && let Some(src) = m.get("source").and_then(Value::as_str)
                {
                    let kind = serde_json::from_str::<Value>(src)
                        .ok()
                        .and_then(|s| s["type"].as_str().map(str::to_string));
                    m.insert("source".into(), json!(kind));
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(d).unwrap();
    strip(&mut v);
    v
}

fn roundtrip(d: &Document) -> Document {
    notion::read_blocks(&notion::blocks(d).blocks)
}

fn block_kinds(d: &Document) -> Vec<String> {
    ir_json(d)["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap().to_string())
        .collect()
}

/// Notion → IR → Notion blocks → IR is a fixed point for every block fixture of the corpus,
/// except the approximations docs/mapping.md names, each checked for what it does instead.
#[test]
fn reader_round_trip_is_a_fixed_point_on_the_corpus() {
    let Some(dir) = crate::support::corpus_dir("notion-api/notion-renderer/Blocks") else {
        return;
    };
    let mut exact = 0;
    for path in crate::support::files_with_suffix(&dir, ".json") {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let src = std::fs::read_to_string(&path).unwrap();
        let d1 = notion::read_json(&src).unwrap_or_else(|e| panic!("{name}: {e}"));
        let nb = notion::blocks(&d1);
        let d2 = notion::read_blocks(&nb.blocks);
        let same_text = || {
            assert_eq!(
                squash(&text::to_text(&d2)),
                squash(&text::to_text(&d1)),
                "{name}: text changed"
            )
        };
        match name.as_str() {
            // Notion-hosted files (expiring URLs) are uploaded again.
            "Audio.File.json" | "Video.File.json" | "File.File.json" => {
                assert_eq!(block_kinds(&d2), block_kinds(&d1), "{name}");
                assert!(
                    matches!(nb.attachments.as_slice(), [a] if a.placeholder.starts_with("kbridge-url:https://")),
                    "{name}"
                );
            }
            // Child pages and databases are created apart from the append.
            "ChildPage.json" | "ChildDatabase.json" => {
                assert!(d2.blocks.is_empty(), "{name}");
                assert_eq!(nb.subpages.len(), 1, "{name}");
            }
            // Link previews cannot be created: a bookmark of the same URL.
            "LinkPreview.json" => {
                assert_eq!(ir_json(&d2)["blocks"][0]["kind"], "bookmark");
                same_text();
            }
            // More than MAX_COLUMNS columns: the rest go into the last one.
            "ColumnList.json" => {
                assert_eq!(
                    ir_json(&d2)["blocks"][0]["sections"][0]["cells"]
                        .as_array()
                        .unwrap()
                        .len(),
                    notion::MAX_COLUMNS
                );
                same_text();
            }
            // The renderer's own list containers (`bulleted_list.items`, not an API type) and a
            // page holding all of the above.
            "BulletedList.json" | "NumberedList.json" | "BlockList.json" => {}
            _ => {
                assert_eq!(
                    ir_json(&d2),
                    ir_json(&d1),
                    "{name}: Notion → IR → Notion → IR changed"
                );
                assert_eq!(
                    ir_json(&roundtrip(&d2)),
                    ir_json(&d2),
                    "{name}: not a fixed point"
                );
                exact += 1;
            }
        }
    }
    assert!(exact >= 30, "only {exact} fixtures round-trip exactly");
}

/// The same over the corpus's rich-text items, each in a paragraph: annotations, colours, links,
/// equations, page and database mentions come back unchanged.
#[test]
fn reader_round_trip_of_rich_text_is_a_fixed_point() {
    let Some(dir) = crate::support::corpus_dir("notion-api/notion-renderer/RichText") else {
        return;
    };
    let mut files = crate::support::files_with_suffix(&dir, ".json");
    files.extend(crate::support::files_with_suffix(
        &dir.join("Annotation"),
        ".json",
    ));
    assert!(files.len() >= 15);
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let items = if v.is_array() { v } else { json!([v]) };
        let block = json!({"object": "block", "id": "p1", "type": "paragraph", "paragraph": {"rich_text": items}});
        let d1 = notion::read_json(&block.to_string()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!text::to_text(&d1).is_empty(), "{name}");
        let d2 = roundtrip(&d1);
        assert_eq!(
            ir_json(&d2),
            ir_json(&d1),
            "{name}: Notion → IR → Notion → IR changed"
        );
    }
}

/// Every Confluence page of the corpus (real Cloud pages and md2conf bodies) plans within the
/// limits, the plan rebuilds the intended tree, and every word of the page is in it.
#[test]
fn corpus_storage_pages_plan_within_limits_and_keep_their_words() {
    let (Some(real), Some(md2conf)) = (
        crate::support::corpus_dir("confluence-storage/real-cloud"),
        crate::support::corpus_dir("confluence-storage/md2conf"),
    ) else {
        return;
    };
    let mut files = crate::support::files_with_suffix(&real, ".xhtml");
    files.extend(crate::support::files_with_suffix(&md2conf, ".xml"));
    assert!(files.len() >= 70);
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let d = storage::read(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let plan = notion::plan(
            &d,
            PlanParent::PageId {
                page_id: PAGE_ID.into(),
            },
        );
        let rebuilt = execute(&plan);
        assert!(
            rebuilt == intended(&d),
            "{name}: the plan does not rebuild the intended tree"
        );
        let mut got = String::new();
        notion_text(&rebuilt, &mut got);
        for w in text::to_text(&d)
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            assert!(got.contains(w), "{name}: {w:?} is missing");
        }
    }
}

/// Hostile nesting (5000 quotes, 5000 nested marks) writes without overflowing the stack.
#[test]
fn hostile_nesting_writes_text() {
    let t = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let mut b = pt("deep block");
            let mut i = t("deep inline");
            for _ in 0..5000 {
                b = Block::Quote {
                    blocks: vec![b],
                    attrs: Attrs::new(),
                };
                i = Inline::mark(Mark::Strong, vec![i]);
            }
            let d = doc(vec![b, p(vec![i])]);
            let plan = notion::plan(&d, PlanParent::NewPage);
            let json = serde_json::to_string(&plan).unwrap();
            let ok = json.contains("deep block") && json.contains("deep inline");
            let fallbacks = plan
                .fallbacks
                .iter()
                .filter(|f| f.node == "deep_nesting")
                .count();
            // Dropping a deep tree is recursive too; leak it in this test.
            std::mem::forget(d);
            (ok, fallbacks)
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(t, (true, 2));
}

// ============================================================================================
// An in-memory Notion: executes a plan, checking every limit and creation rule

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The tree the writer intends, as request JSON (top-level blocks).
fn intended(d: &Document) -> Vec<Value> {
    notion::blocks(d)
        .blocks
        .iter()
        .map(notion::request_block)
        .collect()
}

fn utf16(s: &str) -> usize {
    s.encode_utf16().count()
}

fn check_rich(rt: &Value, at: &str) -> Result<(), String> {
    let items = rt.as_array().ok_or(format!("{at}: not an array"))?;
    if items.len() > 100 {
        return Err(format!("{at}: {} rich-text items", items.len()));
    }
    for (i, r) in items.iter().enumerate() {
        if let Some(c) = r["text"]["content"].as_str()
            && utf16(c) > 2000
        {
            return Err(format!("{at}[{i}]: text.content of {} units", utf16(c)));
        }
        if let Some(u) = r["text"]["link"]["url"].as_str()
            && utf16(u) > 2000
        {
            return Err(format!("{at}[{i}]: link of {} units", utf16(u)));
        }
        if let Some(e) = r["equation"]["expression"].as_str()
            && utf16(e) > 1000
        {
            return Err(format!("{at}[{i}]: equation of {} units", utf16(e)));
        }
    }
    Ok(())
}

/// Every per-request limit on a request body.
fn check_request(body: &Value) -> Result<(), String> {
    let bytes = serde_json::to_vec(body).unwrap().len();
    if bytes > 500_000 {
        return Err(format!("{bytes} bytes"));
    }
    if bytes > notion::PAYLOAD_BUDGET {
        return Err(format!("{bytes} bytes, over kbridge's budget"));
    }
    let mut count = 0;
    fn walk(children: &Value, level: usize, count: &mut usize, at: &str) -> Result<(), String> {
        let arr = children
            .as_array()
            .ok_or(format!("{at}: children not an array"))?;
        if arr.len() > 100 {
            return Err(format!("{at}: {} children", arr.len()));
        }
        if level > 2 {
            return Err(format!("{at}: nesting level {level}"));
        }
        for (i, b) in arr.iter().enumerate() {
            *count += 1;
            let k = b["type"].as_str().ok_or(format!("{at}[{i}]: no type"))?;
            let d = &b[k];
            let here = format!("{at}[{i}].{k}");
            for key in ["rich_text", "caption"] {
                if let Some(rt) = d.get(key) {
                    check_rich(rt, &format!("{here}.{key}"))?;
                }
            }
            if let Some(cells) = d.get("cells") {
                for (j, c) in cells.as_array().unwrap().iter().enumerate() {
                    check_rich(c, &format!("{here}.cells[{j}]"))?;
                }
            }
            if d.get("type").and_then(Value::as_str) == Some("file") {
                return Err(format!(
                    "{here}: a Notion-hosted file source cannot be written"
                ));
            }
            for u in [&d["url"], &d["external"]["url"]] {
                if let Some(u) = u.as_str()
                    && utf16(u) > 2000
                {
                    return Err(format!("{here}: URL of {} units", utf16(u)));
                }
            }
            if let Some(c) = d.get("children") {
                walk(c, level + 1, count, &format!("{here}.children"))?;
            }
        }
        Ok(())
    }
    walk(&body["children"], 0, &mut count, "children")?;
    if count > 1000 {
        return Err(format!("{count} blocks"));
    }
    Ok(())
}

struct Node {
    kind: String,
    /// The type object without `children`.
    data: Value,
    children: Vec<usize>,
}

fn accepts(parent: &Node, child: &str) -> Result<(), String> {
    let ok = match parent.kind.as_str() {
        "page" => child != "column" && child != "table_row",
        "column_list" => child == "column",
        "table" => child == "table_row",
        "paragraph" | "bulleted_list_item" | "numbered_list_item" | "to_do" | "toggle"
        | "quote" | "callout" | "column" | "tab" | "template" => {
            child != "column" && child != "table_row"
        }
        "heading_1" | "heading_2" | "heading_3" | "heading_4" => {
            parent.data["is_toggleable"] == true
        }
        "synced_block" => parent.data["synced_from"].is_null(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("a {} cannot hold a {child}", parent.kind))
    }
}

struct Sim {
    nodes: Vec<Node>,
    created: HashMap<(usize, Vec<usize>), usize>,
}

impl Sim {
    fn create(
        &mut self,
        req: usize,
        path: Vec<usize>,
        b: &Value,
        parent: usize,
    ) -> Result<usize, String> {
        let k = b["type"].as_str().ok_or("no type")?.to_string();
        accepts(&self.nodes[parent], &k)?;
        let mut data = b[&k].clone();
        let kids = data
            .as_object_mut()
            .and_then(|m| m.remove("children"))
            .unwrap_or(Value::Array(vec![]));
        let kids = kids.as_array().cloned().unwrap_or_default();
        match k.as_str() {
            "table" => {
                if kids.is_empty() {
                    return Err("a table created without rows".into());
                }
                let w = data["table_width"].as_u64().ok_or("no table_width")?;
                for r in &kids {
                    let n = r["table_row"]["cells"].as_array().map_or(0, Vec::len) as u64;
                    if n != w {
                        return Err(format!("a row of {n} cells in a table of width {w}"));
                    }
                }
            }
            "column_list" => {
                if kids.len() < 2 {
                    return Err("a column list created with fewer than two columns".into());
                }
                for c in &kids {
                    if c["column"]["children"].as_array().is_none_or(Vec::is_empty) {
                        return Err("a column created without a block".into());
                    }
                }
            }
            _ => {}
        }
        let id = self.nodes.len();
        self.nodes.push(Node {
            kind: k,
            data,
            children: vec![],
        });
        self.nodes[parent].children.push(id);
        self.created.insert((req, path.clone()), id);
        for (j, c) in kids.iter().enumerate() {
            let mut p = path.clone();
            p.push(j);
            self.create(req, p, c, id)?;
        }
        Ok(id)
    }

    fn render(&self, id: usize) -> Value {
        let n = &self.nodes[id];
        let mut data = n.data.clone();
        if !n.children.is_empty() {
            let kids: Vec<Value> = n.children.iter().map(|c| self.render(*c)).collect();
            data.as_object_mut()
                .unwrap()
                .insert("children".into(), Value::Array(kids));
        }
        json!({"type": n.kind, n.kind.clone(): data})
    }
}

/// Executes a plan (as its JSON) against an in-memory page, checking limits and rules; returns
/// the page's blocks as request JSON.
fn execute(plan: &AppendPlan) -> Vec<Value> {
    let j = serde_json::to_value(plan).unwrap();
    let new_page = j["parent"]["type"] == "new_page";
    let mut sim = Sim {
        nodes: vec![Node {
            kind: "page".into(),
            data: json!({}),
            children: vec![],
        }],
        created: HashMap::new(),
    };
    for (r, req) in j["requests"].as_array().unwrap().iter().enumerate() {
        let body = &req["body"];
        check_request(body).unwrap_or_else(|e| panic!("request {r}: {e}"));
        if r == 0 && new_page {
            assert_eq!(req["method"], "POST");
            assert_eq!(req["path"], "/v1/pages");
        } else {
            assert_eq!(req["method"], "PATCH");
        }
        let target = match req["target"]["type"].as_str() {
            Some("parent") => 0,
            Some("created") => {
                let from = req["target"]["request"].as_u64().unwrap() as usize;
                assert!(from < r, "request {r} targets a later request {from}");
                let path: Vec<usize> = req["target"]["path"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as usize)
                    .collect();
                *sim.created
                    .get(&(from, path.clone()))
                    .unwrap_or_else(|| panic!("request {r}: no block at {from}/{path:?}"))
            }
            other => panic!("request {r}: target {other:?}"),
        };
        for (i, c) in body["children"].as_array().unwrap().iter().enumerate() {
            sim.create(r, vec![i], c, target)
                .unwrap_or_else(|e| panic!("request {r}: {e}"));
        }
    }
    sim.nodes[0]
        .children
        .iter()
        .map(|c| sim.render(*c))
        .collect()
}

/// The text of request-shaped blocks in order (rich text, cells, children).
fn notion_text(blocks: &[Value], out: &mut String) {
    for b in blocks {
        let k = b["type"].as_str().unwrap();
        let d = &b[k];
        for key in ["rich_text", "caption"] {
            if let Some(rt) = d[key].as_array() {
                out.push_str(&texts(rt));
            }
        }
        if let Some(e) = d["expression"].as_str() {
            out.push_str(e);
        }
        if let Some(cells) = d["cells"].as_array() {
            for c in cells {
                out.push_str(&texts(c.as_array().unwrap()));
            }
        }
        if let Some(c) = d["children"].as_array() {
            notion_text(c, out);
        }
    }
}

// ============================================================================================
// Proptest: limits and executability over long, wide and deep documents

fn long_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "ab ",
        "é中",
        "😀",
        "👨‍👩‍👧",
        "x\u{301}",
        "\u{2764}\u{fe0f}",
        "\"\\\n",
        "\u{1}",
        "plain words ",
    ]);
    prop::collection::vec((pieces, 1..1200usize), 1..5)
        .prop_map(|v| v.into_iter().map(|(p, n)| p.repeat(n)).collect())
}

fn short_text() -> impl Strategy<Value = String> {
    "[a-zé😀 ]{1,12}"
}

fn inline_piece() -> impl Strategy<Value = Inline> {
    prop_oneof![
        short_text().prop_map(Inline::text),
        short_text().prop_map(|s| Inline::mark(Mark::Strong, vec![Inline::text(s)])),
        short_text().prop_map(|s| Inline::mark(
            Mark::Code,
            vec![Inline::mark(Mark::Emphasis, vec![Inline::text(s)])]
        )),
        short_text().prop_map(|s| link(
            LinkTarget::url("https://example.org/x"),
            vec![Inline::text(s)],
            Attrs::new()
        )),
        short_text().prop_map(|s| Inline::Span {
            style: Box::new(SpanStyle::default()),
            content: vec![Inline::text(s)],
            attrs: attrs(&[("notion:color", "orange")]),
        }),
        Just(Inline::Break {
            attrs: Attrs::new()
        }),
        Just(Inline::math(Math {
            tex: "a^2".into(),
            macro_name: None,
            params: Params::new(),
            attrs: Attrs::new()
        })),
    ]
}

/// Inline content: many small runs, or a few long ones.
fn inlines() -> impl Strategy<Value = Vec<Inline>> {
    prop_oneof![
        3 => prop::collection::vec(inline_piece(), 0..12),
        1 => prop::collection::vec(inline_piece(), 100..260),
        1 => (long_text(), long_text()).prop_map(|(a, b)| vec![Inline::text(a), Inline::mark(Mark::Strong, vec![Inline::text(b)])]),
    ]
}

fn leaf() -> impl Strategy<Value = Block> {
    prop_oneof![
        4 => inlines().prop_map(p),
        1 => (1u8..7, inlines()).prop_map(|(level, content)| Block::Heading { level, content, align: None, attrs: Attrs::new() }),
        1 => long_text().prop_map(|text| Block::Code(Code { language: Some("rust".into()), title: None, text, noformat: false, params: Params::new(), attrs: Attrs::new() })),
        1 => Just(Block::Divider { attrs: Attrs::new() }),
        1 => table(),
    ]
}

fn table() -> impl Strategy<Value = Block> {
    (
        1usize..4,
        prop_oneof![3 => 1usize..6, 1 => 95usize..230],
        any::<bool>(),
    )
        .prop_map(|(w, h, span)| {
            let rows = (0..h)
                .map(|i| {
                    row((0..w)
                        .map(|j| {
                            let mut c = cell(vec![plain(&format!("r{i}c{j}"))], i == 0);
                            if span && i == 1 && j == 0 {
                                c.colspan = Some(2);
                                c.rowspan = Some(2);
                            }
                            c
                        })
                        .collect())
                })
                .collect();
            Block::Table(Table {
                columns: None,
                rows,
                attrs: Attrs::new(),
            })
        })
}

fn block() -> impl Strategy<Value = Block> {
    leaf().prop_recursive(9, 400, 6, |inner| {
        let kids = prop::collection::vec(inner.clone(), 1..4);
        prop_oneof![
            (kids.clone(), any::<bool>()).prop_map(|(bs, ordered)| {
                Block::List(List {
                    ordered,
                    start: None,
                    items: bs
                        .into_iter()
                        .map(|b| ListItem {
                            blocks: vec![plain("item"), b],
                            attrs: Attrs::new(),
                        })
                        .collect(),
                    attrs: Attrs::new(),
                })
            }),
            kids.clone().prop_map(|blocks| Block::Quote {
                blocks,
                attrs: Attrs::new()
            }),
            kids.clone().prop_map(|blocks| Block::Expand(Expand {
                title: Some("more".into()),
                blocks,
                params: Params::new(),
                attrs: Attrs::new()
            })),
            kids.clone().prop_map(|blocks| Block::Callout(Callout {
                kind: CalloutKind::Note,
                title: None,
                icon: None,
                blocks,
                params: Params::new(),
                form: CalloutForm::Macro,
                attrs: Attrs::new(),
            })),
            prop::collection::vec(kids.clone(), 1..8)
                .prop_map(|cells| layout(cells.into_iter().map(|b| (b, None)).collect())),
            kids.prop_map(|bs| {
                let mut v = vec![Block::Heading {
                    level: 2,
                    content: vec![t("toggle")],
                    align: None,
                    attrs: attrs(&[("notion:toggleable", "true")]),
                }];
                v.push(Block::Expand(Expand {
                    title: None,
                    blocks: bs,
                    params: Params::new(),
                    attrs: attrs(&[("notion:block", "toggle_heading")]),
                }));
                Block::Quote {
                    blocks: v,
                    attrs: Attrs::new(),
                }
            }),
        ]
    })
}

fn document() -> impl Strategy<Value = Document> {
    prop_oneof![
        // mixed
        3 => prop::collection::vec(block(), 1..8).prop_map(doc),
        // wide: many siblings
        1 => (prop::collection::vec(inlines().prop_map(p), 100..320), block()).prop_map(|(mut v, b)| {
            v.push(b);
            doc(v)
        }),
        // deep
        1 => (5usize..11).prop_map(|n| doc(vec![nested_list(n), pt("after")])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, max_shrink_iters: 200, ..ProptestConfig::default() })]

    /// Every request meets every limit, and executing the plan in order rebuilds exactly the
    /// tree the writer intended, with all of the document's text in order.
    #[test]
    fn plans_meet_the_limits_and_rebuild_the_document(d in document(), new_page in any::<bool>()) {
        let parent = if new_page { PlanParent::NewPage } else { PlanParent::PageId { page_id: PAGE_ID.into() } };
        let plan = notion::plan(&d, parent);
        let rebuilt = execute(&plan);
        let want = intended(&d);
        prop_assert!(rebuilt == want, "the plan does not rebuild the intended tree");
        let mut got = String::new();
        notion_text(&rebuilt, &mut got);
        prop_assert_eq!(squash(&got), squash(&text::to_text(&d)));
    }
}
