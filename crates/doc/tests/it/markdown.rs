//! Markdown (GFM): writer output for every node kind, reader examples, fallbacks, and the
//! round-trip property `read(write(doc)) == doc` over Markdown's expressible subset.

use kb_doc::*;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Builders

fn t(s: &str) -> Inline {
    Inline::text(s)
}

fn mark(m: Mark, content: Vec<Inline>) -> Inline {
    Inline::mark(m, content)
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

fn plain(content: Vec<Inline>) -> Block {
    Block::Plain { content }
}

fn h(level: u8, content: Vec<Inline>) -> Block {
    Block::Heading {
        level,
        content,
        align: None,
        attrs: Attrs::new(),
    }
}

fn link(target: LinkTarget, anchor: Option<&str>, content: Vec<Inline>) -> Inline {
    Inline::link(Link {
        target,
        anchor: anchor.map(str::to_string),
        content,
        plain_body: false,
        attrs: Attrs::new(),
    })
}

fn item(blocks: Vec<Block>) -> ListItem {
    ListItem {
        blocks,
        attrs: Attrs::new(),
    }
}

fn list(ordered: bool, start: Option<u64>, items: Vec<ListItem>) -> Block {
    Block::List(List {
        ordered,
        start,
        items,
        attrs: Attrs::new(),
    })
}

fn task(done: bool, body: Vec<Block>) -> TaskItem {
    TaskItem {
        done,
        id: None,
        uuid: None,
        body,
        attrs: Attrs::new(),
    }
}

fn cell(header: bool, blocks: Vec<Block>) -> TableCell {
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

fn table(rows: Vec<TableRow>) -> Block {
    Block::Table(Table {
        columns: None,
        rows,
        attrs: Attrs::new(),
    })
}

fn code(language: Option<&str>, title: Option<&str>, text: &str) -> Block {
    Block::Code(Code {
        language: language.map(str::to_string),
        title: title.map(str::to_string),
        text: text.to_string(),
        noformat: false,
        params: Params::new(),
        attrs: Attrs::new(),
    })
}

fn math(tex: &str) -> Math {
    Math {
        tex: tex.to_string(),
        macro_name: None,
        params: Params::new(),
        attrs: Attrs::new(),
    }
}

fn image(source: ImageSource, alt: Option<&str>, caption: Option<Vec<Block>>) -> Image {
    Image {
        source,
        alt: alt.map(str::to_string),
        width: None,
        height: None,
        caption,
        caption_attrs: Attrs::new(),
        marks: vec![],
        attrs: Attrs::new(),
    }
}

fn attachment(name: &str) -> ImageSource {
    ImageSource::Attachment {
        filename: name.to_string(),
        container: None,
        attrs: Attrs::new(),
    }
}

fn callout(kind: CalloutKind, title: Option<&str>, blocks: Vec<Block>) -> Block {
    Block::Callout(Callout {
        kind,
        title: title.map(str::to_string),
        icon: None,
        blocks,
        params: Params::new(),
        form: CalloutForm::Macro,
        attrs: Attrs::new(),
    })
}

fn expand(title: Option<&str>, blocks: Vec<Block>) -> Block {
    Block::Expand(Expand {
        title: title.map(str::to_string),
        blocks,
        params: Params::new(),
        attrs: Attrs::new(),
    })
}

fn ext(format: &str, kind: &str, name: &str) -> Extension {
    Extension {
        format: format.into(),
        kind: kind.into(),
        name: name.into(),
        params: Params::new(),
        body: vec![],
        text: None,
        source: None,
        attrs: Attrs::new(),
    }
}

fn doc(blocks: Vec<Block>) -> Document {
    Document { blocks }
}

/// Writes `blocks`, checks the output, and returns the report.
fn writes(blocks: Vec<Block>, expected: &str) -> Written {
    let w = markdown::write_report(&doc(blocks));
    assert_eq!(w.output, expected, "\n--- got\n{}\n---", w.output);
    w
}

/// Writes `blocks`, checks the output and that it reads back as the same blocks.
fn round_trips(blocks: Vec<Block>, expected: &str) {
    let d = doc(blocks);
    let out = markdown::write(&d);
    assert_eq!(out, expected, "\n--- got\n{out}\n---");
    let back = markdown::read(&out);
    assert_eq!(back, d, "\n--- markdown\n{out}\n---");
}

fn inline_round_trips(content: Vec<Inline>, expected_line: &str) {
    round_trips(vec![p(content)], &format!("{expected_line}\n"));
}

fn fallback_nodes(w: &Written) -> Vec<&str> {
    w.fallbacks.iter().map(|f| f.node.as_str()).collect()
}

// ---------------------------------------------------------------------------------------------
// Writer: blocks

#[test]
fn paragraphs_and_headings() {
    round_trips(vec![pt("Hello"), pt("world")], "Hello\n\nworld\n");
    round_trips(
        vec![
            h(1, vec![t("One")]),
            h(3, vec![t("Three "), mark(Mark::Emphasis, vec![t("it")])]),
            h(6, vec![]),
        ],
        "# One\n\n### Three *it*\n\n######\n",
    );
    // A closing `#` sequence and line breaks inside a heading.
    round_trips(vec![h(2, vec![t("C#")])], "## C\\#\n");
    round_trips(vec![h(2, vec![t("a #")])], "## a \\#\n");
    round_trips(
        vec![h(
            2,
            vec![
                t("a"),
                Inline::Break {
                    attrs: Attrs::new(),
                },
                t("b\nc"),
            ],
        )],
        "## a<br>b&#10;c\n",
    );
    // Levels out of range are clamped.
    let w = markdown::write(&doc(vec![h(9, vec![t("x")])]));
    assert_eq!(w, "###### x\n");
}

#[test]
fn plain_renders_like_a_paragraph() {
    writes(vec![plain(vec![t("loose text")])], "loose text\n");
    // …and reads back as a paragraph outside list items.
    assert_eq!(markdown::read("loose text\n"), doc(vec![pt("loose text")]));
}

#[test]
fn bullet_and_ordered_lists() {
    round_trips(
        vec![list(
            false,
            None,
            vec![
                item(vec![plain(vec![t("a")])]),
                item(vec![plain(vec![t("b")])]),
            ],
        )],
        "- a\n- b\n",
    );
    round_trips(
        vec![list(
            true,
            Some(3),
            vec![
                item(vec![plain(vec![t("three")])]),
                item(vec![plain(vec![t("four")])]),
            ],
        )],
        "3. three\n4. four\n",
    );
    round_trips(
        vec![list(true, None, vec![item(vec![plain(vec![t("one")])])])],
        "1. one\n",
    );
    // Nested, tight.
    round_trips(
        vec![list(
            false,
            None,
            vec![item(vec![
                plain(vec![t("outer")]),
                list(
                    true,
                    None,
                    vec![
                        item(vec![plain(vec![t("inner")])]),
                        item(vec![plain(vec![t("second")])]),
                    ],
                ),
            ])],
        )],
        "- outer\n  1. inner\n  2. second\n",
    );
    // Loose: items hold paragraphs.
    round_trips(
        vec![list(
            false,
            None,
            vec![item(vec![pt("a"), pt("a2")]), item(vec![pt("b")])],
        )],
        "- a\n\n  a2\n\n- b\n",
    );
    // Ten items: continuation lines follow each marker's width.
    let items: Vec<ListItem> = (0..10)
        .map(|i| {
            item(vec![
                plain(vec![t(&format!("i{i}"))]),
                code(None, None, "x"),
            ])
        })
        .collect();
    let out = markdown::write(&doc(vec![list(true, Some(1), items.clone())]));
    assert!(out.contains("10. i9\n    ```\n    x\n    ```"), "{out}");
    assert_eq!(markdown::read(&out), doc(vec![list(true, None, items)]));
    // An empty item.
    round_trips(
        vec![list(
            false,
            None,
            vec![item(vec![]), item(vec![plain(vec![t("b")])])],
        )],
        "-\n- b\n",
    );
}

#[test]
fn adjacent_lists_get_different_markers() {
    let a = list(false, None, vec![item(vec![plain(vec![t("a")])])]);
    let b = list(false, None, vec![item(vec![plain(vec![t("b")])])]);
    let c = list(false, None, vec![item(vec![plain(vec![t("c")])])]);
    round_trips(vec![a.clone(), b, c], "- a\n\n* b\n\n- c\n");
    let o1 = list(true, None, vec![item(vec![plain(vec![t("x")])])]);
    let o2 = list(true, Some(2), vec![item(vec![plain(vec![t("y")])])]);
    round_trips(vec![o1, o2], "1. x\n\n2) y\n");
    let tasks = Block::TaskList {
        items: vec![task(false, vec![plain(vec![t("t")])])],
        attrs: Attrs::new(),
    };
    round_trips(vec![a, tasks], "- a\n\n* [ ] t\n");
}

#[test]
fn task_lists() {
    round_trips(
        vec![Block::TaskList {
            items: vec![
                task(false, vec![plain(vec![t("todo")])]),
                task(
                    true,
                    vec![
                        plain(vec![t("done")]),
                        list(false, None, vec![item(vec![plain(vec![t("sub")])])]),
                    ],
                ),
            ],
            attrs: Attrs::new(),
        }],
        "- [ ] todo\n- [x] done\n  - sub\n",
    );
    round_trips(
        vec![Block::TaskList {
            items: vec![task(false, vec![pt("a")]), task(true, vec![pt("b")])],
            attrs: Attrs::new(),
        }],
        "- [ ] a\n\n- [x] b\n",
    );
    // Text that looks like a check box is escaped.
    round_trips(
        vec![list(
            false,
            None,
            vec![item(vec![plain(vec![t("[x] not a task")])])],
        )],
        "- \\[x\\] not a task\n",
    );
}

#[test]
fn quotes_and_nested_blocks() {
    round_trips(
        vec![Block::Quote {
            blocks: vec![pt("a"), code(None, None, "x\n\ny"), pt("b")],
            attrs: Attrs::new(),
        }],
        "> a\n>\n> ```\n> x\n>\n> y\n> ```\n>\n> b\n",
    );
    // Two quotes in a row stay two quotes.
    let q = |s: &str| Block::Quote {
        blocks: vec![pt(s)],
        attrs: Attrs::new(),
    };
    round_trips(vec![q("one"), q("two")], "> one\n\n> two\n");
    round_trips(
        vec![Block::Quote {
            blocks: vec![q("deeper")],
            attrs: Attrs::new(),
        }],
        "> > deeper\n",
    );
}

#[test]
fn code_blocks() {
    round_trips(
        vec![code(Some("rust"), None, "fn main() {}")],
        "```rust\nfn main() {}\n```\n",
    );
    round_trips(vec![code(None, None, "")], "```\n```\n");
    round_trips(
        vec![code(None, None, "trailing\n")],
        "```\ntrailing\n\n```\n",
    );
    // Fences longer than any backtick run inside; the title as an info-string attribute.
    round_trips(
        vec![code(Some("md"), Some("Read me.md"), "```js\nx\n```")],
        "````md title=\"Read me.md\"\n```js\nx\n```\n````\n",
    );
    round_trips(vec![code(None, Some("t"), "x")], "```title=\"t\"\nx\n```\n");
    // An info string with a backtick needs a tilde fence.
    round_trips(vec![code(Some("a`b"), None, "x")], "~~~a`b\nx\n~~~\n");
}

#[test]
fn tables_pipe_form() {
    let d = table(vec![
        row(vec![
            cell(true, vec![plain(vec![t("Name")])]),
            cell(true, vec![plain(vec![t("Value")])]),
        ]),
        row(vec![
            cell(false, vec![plain(vec![t("a|b")])]),
            cell(
                false,
                vec![plain(vec![
                    mark(Mark::Code, vec![t("x|y")]),
                    t(" "),
                    mark(Mark::Strong, vec![t("z")]),
                ])],
            ),
        ]),
        row(vec![
            cell(false, vec![]),
            cell(
                false,
                vec![plain(vec![
                    t(" pad "),
                    Inline::Break {
                        attrs: Attrs::new(),
                    },
                    t("2"),
                ])],
            ),
        ]),
    ]);
    round_trips(
        vec![d],
        "| Name | Value |\n| --- | --- |\n| a\\|b | `x\\|y` **z** |\n|  | &#32;pad&#32;<br>2 |\n",
    );
    // Alignment.
    let mut aligned = Table {
        columns: None,
        rows: vec![row(vec![
            cell(true, vec![plain(vec![t("l")])]),
            cell(true, vec![plain(vec![t("c")])]),
            cell(true, vec![plain(vec![t("n")])]),
        ])],
        attrs: Attrs::new(),
    };
    aligned
        .attrs
        .insert("kb:align".into(), "left,center,".into());
    round_trips(
        vec![Block::Table(aligned)],
        "| l | c | n |\n| :-- | :-: | --- |\n",
    );
}

fn w_out(b: &Block) -> String {
    markdown::write(&doc(vec![b.clone()]))
}

/// A table only HTML can hold: spans, a header column, block content, an empty cell and a
/// table in a cell.
fn d_complex() -> Block {
    let mut wide = cell(true, vec![pt("wide")]);
    wide.colspan = Some(2);
    let mut tall = cell(true, vec![pt("tall")]);
    tall.rowspan = Some(2);
    let inner = table(vec![row(vec![cell(false, vec![pt("in")])])]);
    table(vec![
        row(vec![wide]),
        row(vec![
            tall,
            cell(
                false,
                vec![
                    list(false, None, vec![item(vec![plain(vec![t("x")])])]),
                    inner,
                ],
            ),
        ]),
        row(vec![
            cell(false, vec![]),
            cell(false, vec![expand(Some("more"), vec![pt("hidden")])]),
        ]),
    ])
}

#[test]
fn tables_html_fallback() {
    // No header row. Plain text stays on the tag's line; other content is Markdown between
    // blank lines.
    let d = table(vec![row(vec![
        cell(false, vec![plain(vec![t("a < b")])]),
        cell(false, vec![]),
        cell(false, vec![pt("para")]),
        cell(
            false,
            vec![plain(vec![t("x "), mark(Mark::Strong, vec![t("y")])])],
        ),
    ])]);
    let w = writes(
        vec![d.clone()],
        "<table>\n<tr>\n<td>a &lt; b</td>\n<td></td>\n<td>\n\npara\n\n</td>\n<td>\n\nx **y**\n\n</td>\n</tr>\n</table>\n",
    );
    assert_eq!(fallback_nodes(&w), ["table"]);
    // The last cell's Plain comes back as a paragraph (Markdown between blank lines).
    let mut expected = d;
    if let Block::Table(tb) = &mut expected {
        tb.rows[0].cells[3].blocks = vec![p(vec![t("x "), mark(Mark::Strong, vec![t("y")])])];
    }
    assert_eq!(markdown::read(&w.output), doc(vec![expected]));
    // Spans and block content.
    let mut spanning = cell(true, vec![pt("wide")]);
    spanning.colspan = Some(2);
    let d = table(vec![
        row(vec![spanning]),
        row(vec![
            cell(
                false,
                vec![list(false, None, vec![item(vec![plain(vec![t("x")])])])],
            ),
            cell(false, vec![plain(vec![t("y")])]),
        ]),
    ]);
    writes(
        vec![d],
        "<table>\n<tr>\n<th colspan=\"2\">\n\nwide\n\n</th>\n</tr>\n<tr>\n<td>\n\n- x\n\n</td>\n<td>y</td>\n</tr>\n</table>\n",
    );
    // …and reads back as the same table (cells hold paragraphs: blank lines around them).
    let back = markdown::read(&w_out(&d_complex()));
    assert_eq!(back, doc(vec![d_complex()]));
    // The Markdown inside the cells is still Markdown when read.
    let back = markdown::read("<table>\n<tr>\n<td>\n\n**b**\n\n</td>\n</tr>\n</table>\n");
    assert_eq!(
        back,
        doc(vec![table(vec![row(vec![cell(
            false,
            vec![p(vec![mark(Mark::Strong, vec![t("b")])])]
        )])])])
    );
    // Hand-written HTML tables with text cells read as tables too…
    let mut head = Table {
        columns: None,
        rows: vec![
            TableRow {
                cells: vec![cell(true, vec![plain(vec![t("k")])])],
                section: RowSection::Head,
                attrs: Attrs::new(),
            },
            row(vec![cell(false, vec![plain(vec![t("a & b")])])]),
        ],
        attrs: Attrs::new(),
    };
    assert_eq!(
        markdown::read(
            "<table><thead><tr><th>k</th></tr></thead>\n<tbody><tr><td> a &amp; b </td></tr></tbody></table>\n"
        ),
        doc(vec![Block::Table(head.clone())])
    );
    // …but HTML that is not only a table's structure stays HTML.
    head.rows.clear();
    let d = markdown::read("<table><tr><td><b>x</b></td></tr></table>\n");
    assert!(
        matches!(&d.blocks[0], Block::Extension(x) if x.name == "table"),
        "{d:?}"
    );
}

#[test]
fn divider_math_and_toc() {
    round_trips(
        vec![
            pt("a"),
            Block::Divider {
                attrs: Attrs::new(),
            },
            pt("b"),
        ],
        "a\n\n---\n\nb\n",
    );
    round_trips(vec![Block::Math(math("E = mc^2"))], "$$E = mc^2$$\n");
    // TeX that `$$…$$` cannot hold goes in a ```math block.
    round_trips(
        vec![Block::Math(math("a\n\nb $x$"))],
        "```math\na\n\nb $x$\n```\n",
    );
    let w = writes(vec![Block::Toc(MacroInfo::default())], "[TOC]\n");
    assert_eq!(fallback_nodes(&w), ["toc"]);
    assert_eq!(
        markdown::read("[TOC]\n"),
        doc(vec![Block::Toc(MacroInfo::default())])
    );
}

#[test]
fn images() {
    round_trips(
        vec![Block::Image(image(
            ImageSource::Url {
                url: "https://x.org/a.png".into(),
            },
            Some("A *b*"),
            None,
        ))],
        "![A \\*b\\*](https://x.org/a.png)\n",
    );
    // Attachments: the file name as a relative path; the caption as an italic line.
    round_trips(
        vec![Block::Image(image(
            attachment("my pic (1).png"),
            None,
            Some(vec![p(vec![
                t("The "),
                mark(Mark::Strong, vec![t("caption")]),
            ])]),
        ))],
        "![](my%20pic%20%281%29.png)\n*The __caption__*\n",
    );
    // Inline images.
    inline_round_trips(
        vec![
            t("see "),
            Inline::image(image(attachment("a.png"), Some("alt"), None)),
            t(" here"),
        ],
        "see ![alt](a.png) here",
    );
}

#[test]
fn callouts_fall_back_to_labelled_quotes() {
    let w = writes(
        vec![callout(
            CalloutKind::Warning,
            None,
            vec![pt("Careful."), pt("Really.")],
        )],
        "> **Warning:** Careful.\n>\n> Really.\n",
    );
    assert_eq!(fallback_nodes(&w), ["callout:warning"]);
    // The label is the title when there is one.
    writes(
        vec![callout(CalloutKind::Info, Some("Heads up"), vec![pt("x")])],
        "> **Heads up:** x\n",
    );
    // A callout not starting with a paragraph gets the label on a line of its own.
    writes(
        vec![callout(CalloutKind::Tip, None, vec![code(None, None, "x")])],
        "> **Tip:**\n>\n> ```\n> x\n> ```\n",
    );
    // The writer's form (label = kind) reads back as a callout.
    for kind in [
        CalloutKind::Info,
        CalloutKind::Note,
        CalloutKind::Tip,
        CalloutKind::Warning,
        CalloutKind::Error,
        CalloutKind::Success,
    ] {
        let d = doc(vec![callout(
            kind,
            None,
            vec![
                p(vec![t("x "), mark(Mark::Emphasis, vec![t("y")])]),
                code(None, None, "z"),
            ],
        )]);
        assert_eq!(markdown::read(&markdown::write(&d)), d);
    }
    // GitHub alerts read as callouts too.
    assert_eq!(
        markdown::read("> [!WARNING]\n> Hot.\n"),
        doc(vec![callout(CalloutKind::Warning, None, vec![pt("Hot.")])])
    );
    // Bold text that is not a kind label stays a quote.
    assert!(matches!(
        markdown::read("> **Heads up:** x\n").blocks[0],
        Block::Quote { .. }
    ));
}

#[test]
fn expands_become_details() {
    let d = vec![expand(
        Some("More <info>"),
        vec![pt("inside"), expand(None, vec![pt("deeper")])],
    )];
    let out = "<details>\n<summary>More &lt;info&gt;</summary>\n\ninside\n\n<details>\n\ndeeper\n\n</details>\n\n</details>\n";
    let w = writes(d.clone(), out);
    assert_eq!(fallback_nodes(&w), ["expand", "expand"]);
    assert_eq!(markdown::read(out), doc(d));
}

#[test]
fn layouts_write_cells_in_order() {
    let cellb = |s: &str| LayoutCell {
        blocks: vec![pt(s)],
        width: None,
        attrs: Attrs::new(),
    };
    let l = Block::Layout(Layout {
        sections: vec![
            LayoutSection {
                kind: "two_equal".into(),
                cells: vec![cellb("left"), cellb("right")],
                attrs: Attrs::new(),
            },
            LayoutSection {
                kind: "single".into(),
                cells: vec![cellb("below")],
                attrs: Attrs::new(),
            },
        ],
        attrs: Attrs::new(),
    });
    let w = writes(vec![l], "left\n\nright\n\nbelow\n");
    assert_eq!(fallback_nodes(&w), ["layout"]);
}

#[test]
fn confluence_macros_fall_back_readably() {
    let page = LinkTarget::Page {
        title: Some("Runbook".into()),
        space_key: Some("OPS".into()),
        id: None,
        attrs: Attrs::new(),
    };
    let mut report = MacroInfo::default();
    report.params.set("cql", "label = \"kb\"");
    let w = writes(
        vec![
            Block::ChildPages(ChildPages {
                page: None,
                params: Params::new(),
                attrs: Attrs::new(),
            }),
            Block::ChildPages(ChildPages {
                page: Some(page.clone()),
                params: Params::new(),
                attrs: Attrs::new(),
            }),
            Block::Include(Include {
                target: page.clone(),
                excerpt: false,
                params: Params::new(),
                attrs: Attrs::new(),
            }),
            Block::Include(Include {
                target: page,
                excerpt: true,
                params: Params::new(),
                attrs: Attrs::new(),
            }),
            Block::Excerpt(Excerpt {
                blocks: vec![pt("the gist")],
                params: Params::new(),
                attrs: Attrs::new(),
            }),
            Block::PagePropertiesReport(report),
        ],
        "*Child pages*\n\n\
         *Child pages of [Runbook](../OPS/Runbook.md)*\n\n\
         *Content included from [Runbook](../OPS/Runbook.md)*\n\n\
         *Excerpt included from [Runbook](../OPS/Runbook.md)*\n\n\
         the gist\n\n\
         *Page properties report (cql: label = \"kb\")*\n",
    );
    assert_eq!(
        fallback_nodes(&w),
        [
            "child_pages",
            "child_pages",
            "include",
            "excerpt_include",
            "excerpt",
            "page_properties_report"
        ]
    );
    // Page properties: their table.
    let props = PageProperties::from_rows(vec![("Owner".into(), vec![plain(vec![t("Ana")])])]);
    let w = writes(
        vec![Block::PageProperties(props)],
        "<table>\n<tr>\n<th>Owner</th>\n<td>Ana</td>\n</tr>\n</table>\n",
    );
    assert_eq!(fallback_nodes(&w), ["page_properties", "table"]);
}

#[test]
fn files_and_embeds_become_links() {
    let file = Block::File(FileRef {
        target: LinkTarget::Attachment {
            filename: "spec v2.pdf".into(),
            container: None,
            attrs: Attrs::new(),
        },
        caption: None,
        params: Params::new(),
        attrs: Attrs::new(),
    });
    let embed = Block::Embed(Embed {
        url: "https://youtu.be/x".into(),
        kind: "video".into(),
        caption: None,
        attrs: Attrs::new(),
    });
    let captioned = Block::Embed(Embed {
        url: "https://example.org/(x)".into(),
        kind: "bookmark".into(),
        caption: Some(vec![t("Example")]),
        attrs: Attrs::new(),
    });
    let w = writes(
        vec![file, embed, captioned],
        "[spec v2.pdf](spec%20v2.pdf)\n\n<https://youtu.be/x>\n\n[Example](<https://example.org/(x)>)\n",
    );
    assert_eq!(
        fallback_nodes(&w),
        ["file", "embed:video", "embed:bookmark"]
    );
    // The file link reads back as a link to the attachment.
    let back = markdown::read("[spec v2.pdf](spec%20v2.pdf)\n");
    assert_eq!(
        back,
        doc(vec![p(vec![link(
            LinkTarget::Attachment {
                filename: "spec v2.pdf".into(),
                container: None,
                attrs: Attrs::new()
            },
            None,
            vec![t("spec v2.pdf")]
        )])])
    );
}

#[test]
fn extensions() {
    // Plain-text body → a fenced block named after the macro.
    let mut jira = ext("storage", "macro", "jira");
    jira.text = Some("PROJ-1 `x`".into());
    jira.source = Some("<ac:structured-macro ac:name=\"jira\"/>".into());
    // Rich body → the body.
    let mut section = ext("storage", "macro", "section");
    section.body = vec![pt("inside")];
    // Source only.
    let mut unknown = ext("notion", "block", "synced_block");
    unknown.source = Some("{\"type\":\"synced_block\"}".into());
    let w = writes(
        vec![
            Block::Extension(jira),
            Block::Extension(section),
            Block::Extension(unknown),
        ],
        "```confluence-macro:jira\nPROJ-1 `x`\n```\n\ninside\n\n```notion-block:synced_block\n{\"type\":\"synced_block\"}\n```\n",
    );
    assert_eq!(
        w.fallbacks
            .iter()
            .map(|f| (f.node.as_str(), f.extension))
            .collect::<Vec<_>>(),
        [
            ("extension:macro:jira", true),
            ("extension:macro:section", true),
            ("extension:block:synced_block", true)
        ]
    );
    // Markdown's own extensions (raw HTML) are reproduced verbatim, without a fallback.
    let html = "<div align=\"center\">\n  <b>hi</b>\n</div>\n";
    let d = markdown::read(html);
    assert!(
        matches!(&d.blocks[0], Block::Extension(x) if x.format == "markdown" && x.kind == "html" && x.name == "div")
    );
    let w = markdown::write_report(&d);
    assert_eq!(w.output, html);
    assert!(w.fallbacks.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Writer: inlines

#[test]
fn marks() {
    inline_round_trips(
        vec![
            mark(Mark::Strong, vec![t("b")]),
            t(" "),
            mark(Mark::Emphasis, vec![t("i")]),
            t(" "),
            mark(Mark::Strike, vec![t("s")]),
            t(" "),
            mark(Mark::Code, vec![t("c")]),
        ],
        "**b** *i* ~~s~~ `c`",
    );
    inline_round_trips(
        vec![
            mark(Mark::Underline, vec![t("u")]),
            mark(Mark::Subscript, vec![t("2")]),
            mark(Mark::Superscript, vec![t("3")]),
            mark(Mark::Small, vec![t("s")]),
            mark(Mark::Big, vec![t("B")]),
        ],
        "<u>u</u><sub>2</sub><sup>3</sup><small>s</small><big>B</big>",
    );
    // Nesting.
    inline_round_trips(
        vec![mark(
            Mark::Strong,
            vec![mark(Mark::Emphasis, vec![t("both")])],
        )],
        "**_both_**",
    );
    inline_round_trips(
        vec![mark(
            Mark::Emphasis,
            vec![mark(Mark::Strong, vec![t("both")])],
        )],
        "*__both__*",
    );
    inline_round_trips(
        vec![t("in"), mark(Mark::Strong, vec![t("side")]), t("word")],
        "in**side**word",
    );
    // Where delimiters would not parse back, HTML.
    inline_round_trips(
        vec![t("a"), mark(Mark::Strong, vec![t("\"q\"")]), t("b")],
        "a<strong>\"q\"</strong>b",
    );
    inline_round_trips(
        vec![mark(Mark::Emphasis, vec![t(" pad ")])],
        "*&#32;pad&#32;*",
    );
    inline_round_trips(
        vec![
            mark(Mark::Strong, vec![t("a")]),
            mark(Mark::Strong, vec![t("b")]),
        ],
        "**a**__b__",
    );
    inline_round_trips(
        vec![
            mark(Mark::Emphasis, vec![t("a")]),
            mark(Mark::Emphasis, vec![t("b")]),
            mark(Mark::Emphasis, vec![t("c")]),
        ],
        "*a*_b_*c*",
    );
    inline_round_trips(
        vec![
            mark(Mark::Code, vec![t("a")]),
            mark(Mark::Code, vec![t("b")]),
        ],
        "`a`<code>b</code>",
    );
    inline_round_trips(vec![mark(Mark::Strong, vec![])], "<strong></strong>");
    inline_round_trips(
        vec![t("x"), mark(Mark::Strike, vec![t("y")]), t("z")],
        "x~~y~~z",
    );
}

#[test]
fn code_spans() {
    inline_round_trips(vec![mark(Mark::Code, vec![t("a`b")])], "``a`b``");
    inline_round_trips(vec![mark(Mark::Code, vec![t("`tick")])], "`` `tick ``");
    inline_round_trips(vec![mark(Mark::Code, vec![t(" both ")])], "`  both  `");
    inline_round_trips(vec![mark(Mark::Code, vec![t("  ")])], "`  `");
    inline_round_trips(vec![mark(Mark::Code, vec![t("*not em*")])], "`*not em*`");
    // What a code span cannot hold: HTML.
    inline_round_trips(
        vec![mark(Mark::Code, vec![t("two\nlines")])],
        "<code>two\nlines</code>",
    );
    inline_round_trips(
        vec![mark(Mark::Code, vec![mark(Mark::Strong, vec![t("b")])])],
        "<code>**b**</code>",
    );
}

#[test]
fn escaping() {
    inline_round_trips(
        vec![t("*a* _b_ `c` [d](e) <f> ~g~ $h$ a|b \\ &amp; &")],
        "\\*a\\* \\_b\\_ \\`c\\` \\[d\\](e) \\<f> \\~g\\~ \\$h\\$ a\\|b \\\\ \\&amp; &",
    );
    // Block markers at line starts.
    for (text, md) in [
        ("# no heading", "\\# no heading"),
        ("> no quote", "\\> no quote"),
        ("- no item", "\\- no item"),
        ("+ no item", "\\+ no item"),
        ("1. no item", "1\\. no item"),
        ("2) no item", "2\\) no item"),
        ("=", "\\="),
        ("---", "\\---"),
        ("    not code", "&#32;   not code"),
        ("```", "\\`\\`\\`"),
        ("<div>", "\\<div>"),
        ("[x]: /url", "\\[x\\]: /url"),
    ] {
        inline_round_trips(vec![t(text)], md);
    }
    // …and after line breaks.
    inline_round_trips(vec![t("a\n# b\n---\n  c")], "a\n\\# b\n\\---\n&#32; c");
    inline_round_trips(
        vec![
            t("a"),
            Inline::Break {
                attrs: Attrs::new(),
            },
            t("- b"),
        ],
        "a\\\n\\- b",
    );
    // Spaces that would be stripped, line feeds that would end the paragraph.
    inline_round_trips(vec![t(" lead and trail ")], "&#32;lead and trail&#32;");
    inline_round_trips(vec![t("two  \nspaces")], "two &#32;\nspaces");
    inline_round_trips(vec![t("a\n\nb")], "a&#10;\nb");
    inline_round_trips(vec![t("\nx\n")], "&#10;x&#10;");
    inline_round_trips(vec![t("tab\there\r")], "tab\there&#13;");
    // Non-ASCII text is written as is.
    inline_round_trips(vec![t("café 中文 🙂 — «x»")], "café 中文 🙂 — «x»");
}

#[test]
fn hard_breaks() {
    let br = || Inline::Break {
        attrs: Attrs::new(),
    };
    inline_round_trips(vec![t("a"), br(), t("b")], "a\\\nb");
    inline_round_trips(vec![t("a  "), br(), t("b")], "a &#32;\\\nb");
    inline_round_trips(vec![t("a"), br(), br(), t("b")], "a\\\n\\\nb");
    // At the start or end of a paragraph a backslash break would not be one.
    inline_round_trips(vec![br(), t("a")], "<br>a");
    inline_round_trips(vec![t("a"), br()], "a<br>");
    // Inside a list item, continuation lines are indented.
    round_trips(
        vec![list(
            false,
            None,
            vec![item(vec![plain(vec![t("a"), br(), t("b")])])],
        )],
        "- a\\\n  b\n",
    );
}

#[test]
fn links() {
    inline_round_trips(
        vec![link(
            LinkTarget::url("https://example.org/a_b*c"),
            None,
            vec![t("site")],
        )],
        "[site](https://example.org/a_b*c)",
    );
    inline_round_trips(
        vec![link(
            LinkTarget::url("https://example.org/a b"),
            None,
            vec![t("space")],
        )],
        "[space](<https://example.org/a b>)",
    );
    inline_round_trips(
        vec![link(
            LinkTarget::url("https://x.org/p(1)"),
            None,
            vec![t("paren")],
        )],
        "[paren](<https://x.org/p(1)>)",
    );
    inline_round_trips(
        vec![link(
            LinkTarget::url("https://x.org/?a=1&amp;b"),
            None,
            vec![t("amp")],
        )],
        "[amp](https://x.org/?a=1\\&amp;b)",
    );
    inline_round_trips(
        vec![link(
            LinkTarget::SamePage,
            Some("Section 2"),
            vec![t("below")],
        )],
        "[below](#Section%202)",
    );
    inline_round_trips(
        vec![link(
            LinkTarget::page_titled("Release notes"),
            None,
            vec![t("notes")],
        )],
        "[notes](Release%20notes.md)",
    );
    inline_round_trips(
        vec![link(
            LinkTarget::Page {
                title: Some("Home".into()),
                space_key: Some("ENG".into()),
                id: None,
                attrs: Attrs::new(),
            },
            Some("top"),
            vec![mark(Mark::Strong, vec![t("home")])],
        )],
        "[**home**](../ENG/Home.md#top)",
    );
    inline_round_trips(
        vec![link(
            LinkTarget::Attachment {
                filename: "data.csv".into(),
                container: None,
                attrs: Attrs::new(),
            },
            None,
            vec![t("data")],
        )],
        "[data](data.csv)",
    );
    // Empty link text: the target's name.
    let out = markdown::write(&doc(vec![p(vec![
        link(LinkTarget::url("https://example.org"), None, vec![]),
        t(" "),
        link(LinkTarget::page_titled("Some page"), None, vec![]),
        t(" "),
        link(LinkTarget::SamePage, Some("anchor"), vec![]),
        t(" "),
        link(
            LinkTarget::Attachment {
                filename: "a_b.txt".into(),
                container: None,
                attrs: Attrs::new(),
            },
            None,
            vec![],
        ),
        t(" "),
        link(
            LinkTarget::Page {
                title: None,
                space_key: None,
                id: Some("123".into()),
                attrs: Attrs::new(),
            },
            None,
            vec![],
        ),
    ])]));
    assert_eq!(
        out,
        "<https://example.org> [Some page](Some%20page.md) [anchor](#anchor) [a\\_b.txt](a_b.txt) [123](?pageId=123)\n"
    );
    // User mentions are text.
    let user = LinkTarget::User {
        account_id: Some("5b10ac".into()),
        userkey: None,
        username: Some("ana".into()),
        attrs: Attrs::new(),
    };
    let w = writes(
        vec![p(vec![
            link(user.clone(), None, vec![]),
            t(" and "),
            link(user, None, vec![t("@Ana Lima")]),
        ])],
        "@ana and @Ana Lima\n",
    );
    assert_eq!(fallback_nodes(&w), ["mention:user", "mention:user"]);
}

#[test]
fn other_inlines() {
    let w = writes(
        vec![p(vec![
            Inline::emoji(Emoji {
                text: Some("🙂".into()),
                shortname: Some(":slight_smile:".into()),
                ..Emoji::default()
            }),
            t(" "),
            Inline::emoji(Emoji {
                shortname: Some(":thumbs_up:".into()),
                ..Emoji::default()
            }),
            t(" "),
            Inline::emoji(Emoji {
                name: Some("tick".into()),
                ..Emoji::default()
            }),
            t(" "),
            Inline::status(Status {
                text: "IN PROGRESS".into(),
                colour: Some("Blue".into()),
                params: Params::new(),
                attrs: Attrs::new(),
            }),
            t(" "),
            Inline::Date {
                date: "2026-01-02".into(),
                attrs: Attrs::new(),
            },
            t(" "),
            Inline::Placeholder {
                text: "Type here".into(),
                attrs: Attrs::new(),
            },
            t(" "),
            Inline::Jira({
                let mut m = MacroInfo::default();
                m.params.set("key", "PROJ-12");
                m
            }),
        ])],
        "🙂 :thumbs\\_up: :tick: **\\[IN PROGRESS\\]** 2026-01-02 *Type here* PROJ-12\n",
    );
    assert_eq!(
        fallback_nodes(&w),
        [
            "emoji",
            "emoji",
            "emoji",
            "status",
            "date",
            "placeholder",
            "jira"
        ]
    );
    // Math and anchors round-trip.
    inline_round_trips(
        vec![t("area "), Inline::math(math("\\pi r^2")), t(" here")],
        "area $\\pi r^2$ here",
    );
    inline_round_trips(
        vec![
            Inline::Anchor {
                name: "sec-1".into(),
                params: Params::new(),
                attrs: Attrs::new(),
            },
            t("Section"),
        ],
        "<a id=\"sec-1\"></a>Section",
    );
    // Inline math `$…$` cannot hold: a code span.
    let w = writes(vec![p(vec![Inline::math(math(" x$ "))])], "`$ x$ $`\n");
    assert_eq!(fallback_nodes(&w), ["math"]);
    // Coloured spans.
    inline_round_trips(
        vec![Inline::Span {
            style: Box::new(SpanStyle {
                color: Some("#ff0000".into()),
                background: None,
                strike: false,
                underline: true,
            }),
            content: vec![t("red")],
            attrs: Attrs::new(),
        }],
        "<span style=\"color: #ff0000; text-decoration: underline\">red</span>",
    );
    // Inline extensions: Markdown's own verbatim, others as text.
    let mut x = ext("storage", "macro", "unknown-inline");
    x.text = Some("value".into());
    let w = writes(vec![p(vec![t("a "), Inline::extension(x)])], "a value\n");
    assert!(w.fallbacks[0].extension);
    let d = markdown::read("a <kbd>K</kbd> <!-- note -->\n");
    let w = markdown::write_report(&d);
    assert_eq!(w.output, "a <kbd>K</kbd> <!-- note -->\n");
    assert!(w.fallbacks.is_empty());
}

#[test]
fn math_spanning_lines() {
    // Math text is raw: a line feed is fine unless the next line would start a block.
    inline_round_trips(
        vec![t("a "), Inline::math(math("x +\n  y"))],
        "a $x +\n  y$",
    );
    inline_round_trips(vec![Inline::math(math("x\n*"))], "$x\n*$");
    let w = writes(vec![p(vec![Inline::math(math("x\n- y"))])], "`$x - y$`\n");
    assert_eq!(fallback_nodes(&w), ["math"]);
    // `$$…$$` inside a paragraph is inline math too (for TeX `$…$` cannot hold).
    inline_round_trips(vec![t("see "), Inline::math(math(" x "))], "see $$ x $$");
}

#[test]
fn inline_comment_markers_keep_their_text() {
    let w = writes(
        vec![p(vec![
            t("see "),
            mark(Mark::InlineComment { id: "c1".into() }, vec![t("this")]),
        ])],
        "see this\n",
    );
    assert_eq!(fallback_nodes(&w), ["inline_comment"]);
}

#[test]
fn headings_and_cells_need_no_block_marker_escapes() {
    round_trips(vec![h(3, vec![t("1. Install")])], "### 1. Install\n");
    round_trips(vec![h(2, vec![t("- > + = x")])], "## - > + = x\n");
}

#[test]
fn empty_document_and_empty_paragraphs() {
    assert_eq!(markdown::write(&Document::default()), "");
    assert_eq!(markdown::read(""), Document::default());
    // An empty paragraph has nothing to write.
    assert_eq!(markdown::write(&doc(vec![p(vec![]), pt("x")])), "x\n");
}

// ---------------------------------------------------------------------------------------------
// Reader

#[test]
fn reads_common_markdown() {
    let md = "# Title\n\nSome *em*, __strong__, ~~gone~~ and `code`.\nNext line.  \nBroken.\n\n* a\n* b\n\n10. ten\n11. eleven\n\n";
    assert_eq!(
        markdown::read(md),
        doc(vec![
            h(1, vec![t("Title")]),
            p(vec![
                t("Some "),
                mark(Mark::Emphasis, vec![t("em")]),
                t(", "),
                mark(Mark::Strong, vec![t("strong")]),
                t(", "),
                mark(Mark::Strike, vec![t("gone")]),
                t(" and "),
                mark(Mark::Code, vec![t("code")]),
                t(".\nNext line."),
                Inline::Break {
                    attrs: Attrs::new()
                },
                t("Broken."),
            ]),
            list(
                false,
                None,
                vec![
                    item(vec![plain(vec![t("a")])]),
                    item(vec![plain(vec![t("b")])])
                ]
            ),
            list(
                true,
                Some(10),
                vec![
                    item(vec![plain(vec![t("ten")])]),
                    item(vec![plain(vec![t("eleven")])])
                ]
            ),
        ])
    );
}

#[test]
fn reads_setext_headings_indented_code_and_autolinks() {
    assert_eq!(
        markdown::read("Title\n=====\n\n    indented\n\n<mailto:a@b.c> <a@b.c>\n"),
        doc(vec![
            h(1, vec![t("Title")]),
            code(None, None, "indented"),
            p(vec![
                link(
                    LinkTarget::url("mailto:a@b.c"),
                    None,
                    vec![t("mailto:a@b.c")]
                ),
                t(" "),
                link(LinkTarget::url("mailto:a@b.c"), None, vec![t("a@b.c")]),
            ]),
        ])
    );
}

#[test]
fn reads_tables() {
    let md = "| a | b |\n|:-|-:|\n| 1 |\n";
    let mut expected = Table {
        columns: None,
        rows: vec![
            row(vec![
                cell(true, vec![plain(vec![t("a")])]),
                cell(true, vec![plain(vec![t("b")])]),
            ]),
            row(vec![
                cell(false, vec![plain(vec![t("1")])]),
                cell(false, vec![]),
            ]),
        ],
        attrs: Attrs::new(),
    };
    expected
        .attrs
        .insert("kb:align".into(), "left,right".into());
    assert_eq!(markdown::read(md), doc(vec![Block::Table(expected)]));
}

#[test]
fn reads_inline_html() {
    assert_eq!(
        markdown::read(
            "H<sub>2</sub>O, <b>bold <i>it</i></b>, <s>x</s>, <span style=\"color: red; font-size: 2em\">c</span>, <a href=\"https://x.org\">x</a>, <br/>, <u>never closed\n"
        ),
        doc(vec![p(vec![
            t("H"),
            mark(Mark::Subscript, vec![t("2")]),
            t("O, "),
            mark(
                Mark::Strong,
                vec![t("bold "), mark(Mark::Emphasis, vec![t("it")])]
            ),
            t(", "),
            mark(Mark::Strike, vec![t("x")]),
            t(", "),
            Inline::Span {
                style: Box::new(SpanStyle {
                    color: Some("red".into()),
                    ..SpanStyle::default()
                }),
                content: vec![t("c")],
                attrs: [("style".to_string(), "font-size: 2em".to_string())]
                    .into_iter()
                    .collect(),
            },
            t(", "),
            link(LinkTarget::url("https://x.org"), None, vec![t("x")]),
            t(", "),
            Inline::Break {
                attrs: Attrs::new()
            },
            t(", "),
            Inline::extension(Extension {
                format: "markdown".into(),
                kind: "html".into(),
                name: "u".into(),
                params: Params::new(),
                body: vec![],
                text: None,
                source: Some("<u>".into()),
                attrs: Attrs::new(),
            }),
            t("never closed"),
        ])])
    );
    // A closing tag without an opening one is kept verbatim.
    let d = markdown::read("a </em> b\n");
    assert!(
        matches!(&d.blocks[0], Block::Paragraph { content, .. } if matches!(&content[1], Inline::Extension(x) if x.source.as_deref() == Some("</em>")))
    );
}

#[test]
fn reads_mixed_task_lists_as_lists() {
    assert_eq!(
        markdown::read("- [ ] task\n- plain\n"),
        doc(vec![list(
            false,
            None,
            vec![
                item(vec![plain(vec![t("[ ] task")])]),
                item(vec![plain(vec![t("plain")])])
            ]
        )])
    );
}

#[test]
fn reads_html_blocks_and_footnote_references_as_text() {
    let d = markdown::read("<!-- hidden -->\n\ntext[^1]\n");
    assert!(
        matches!(&d.blocks[0], Block::Extension(x) if x.name == "comment" && x.source.as_deref() == Some("<!-- hidden -->\n"))
    );
    assert_eq!(d.blocks[1], pt("text[^1]"));
}

#[test]
fn front_matter_is_kept() {
    let md = "---\ntitle: Runbook\nlabels: [ops]\n---\n\n# Body\n";
    let d = markdown::read(md);
    let Block::Extension(x) = &d.blocks[0] else {
        panic!("{d:?}")
    };
    assert_eq!(
        (x.format.as_str(), x.kind.as_str(), x.name.as_str()),
        ("markdown", "front_matter", "yaml")
    );
    assert_eq!(x.text.as_deref(), Some("title: Runbook\nlabels: [ops]\n"));
    assert_eq!(d.blocks[1], h(1, vec![t("Body")]));
    assert_eq!(markdown::write(&d), md);
    // Only at the very start, and never empty.
    assert!(matches!(
        markdown::read("x\n\n---\na\n---\n").blocks[1],
        Block::Divider { .. }
    ));
    assert!(matches!(
        markdown::read("---\n\na\n---\n").blocks[0],
        Block::Divider { .. }
    ));
}

#[test]
fn reader_is_total() {
    for input in [
        "\0",
        "<",
        "*",
        "`",
        "[",
        "](",
        "<a href=\"x",
        "<details>\n\nx",
        "</details>",
        "| a |\n|---|\n| `b",
        "- [",
        "$$",
        "$x",
        "> > > - 1. ```",
        "&#0; &#xFFFFFF; &bogus;",
        "\u{feff}# bom",
        "line\r\nwindows\r\n",
        "<u><b></u></b>",
    ] {
        let d = markdown::read(input);
        let again = markdown::write(&d);
        // Whatever was read writes back to Markdown that reads as the same document.
        assert_eq!(markdown::read(&again), d, "{input:?} → {again:?}");
    }
}

#[test]
fn deep_nesting_is_flattened_not_overflowed() {
    let input = format!("{} deep\n", ">".repeat(5000));
    let d = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let d = markdown::read(&input);
            let out = markdown::write(&d);
            assert!(out.contains("deep"));
            assert!(text::to_text(&d).contains("deep"));
            d
        })
        .unwrap()
        .join()
        .unwrap();
    // The depth is bounded.
    let mut depth = 0;
    let mut blocks = &d.blocks;
    while let Some(Block::Quote { blocks: inner, .. }) = blocks.first() {
        depth += 1;
        blocks = inner;
    }
    assert!(depth <= markdown::MAX_DEPTH, "{depth}");
}

// ---------------------------------------------------------------------------------------------
// Real-world Markdown (md2conf's inputs in the shared corpus): reading is stable, i.e. what the
// writer makes of a read document reads back as the same document.

#[test]
fn corpus_markdown_reads_to_a_fixed_point() {
    let Some(dir) = crate::support::corpus_dir("confluence-storage/md2conf") else {
        return;
    };
    let files = crate::support::files_with_suffix(&dir, ".source.md");
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        let d1 = markdown::read(&src);
        let out = markdown::write(&d1);
        let d2 = markdown::read(&out);
        if d1 != d2 {
            let j1 = serde_json::to_string_pretty(&d1).unwrap();
            let j2 = serde_json::to_string_pretty(&d2).unwrap();
            let line = j1
                .lines()
                .zip(j2.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            failures.push(format!(
                "{}: first differing JSON line {line}: {:?} vs {:?}\n--- written\n{out}",
                f.display(),
                j1.lines().nth(line),
                j2.lines().nth(line)
            ));
        }
        // The text survives.
        assert_eq!(text::to_text(&d1), text::to_text(&d2), "{}", f.display());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Confluence pages written as Markdown keep their text: every word of the page's plain text is
/// in the plain text of the Markdown read back (fallbacks may add words: labels, brackets).
#[test]
fn corpus_storage_pages_keep_their_text_through_markdown() {
    let Some(dir) = crate::support::corpus_dir("confluence-storage/real-cloud") else {
        return;
    };
    let files = crate::support::files_with_suffix(&dir, ".xhtml");
    let mut failures = Vec::new();
    let mut checked = 0;
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        let Ok(d) = storage::read(&src) else { continue };
        checked += 1;
        let md = markdown::write(&d);
        let back = text::to_text(&markdown::read(&md));
        let haystack: String = back.split_whitespace().collect::<Vec<_>>().join(" ");
        let original = text::to_text(&d);
        let missing: Vec<&str> = original
            .split_whitespace()
            .filter(|w| !haystack.contains(w))
            .take(5)
            .collect();
        if !missing.is_empty() {
            failures.push(format!("{}: missing {missing:?}", f.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        checked * 10 >= files.len() * 9,
        "only {checked} of {} pages read",
        files.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Property: read(write(doc)) == doc over Markdown's expressible subset

/// Text with Markdown-special characters, whitespace in awkward places and non-ASCII.
fn text_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,6}( [a-z]{1,6}){0,2}",
        3 => "[a-zA-Z0-9 *_`\\[\\]<>#|~$&!+=.:()\"'\\\\{}^@%;/-]{1,10}",
        1 => "[a-z \n\t#>*+=1.-]{1,8}",
        1 => "[a-z]{0,3}[é中🙂—«»\u{a0}][a-z ]{0,3}",
        1 => "&(amp|lt|#32|#x41);[a-z]{0,2}",
    ]
}

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}"
}

fn url() -> impl Strategy<Value = String> {
    "https://ex\\.org/[a-z0-9/_.*&?=~%() -]{0,12}"
}

fn leaf_inline() -> impl Strategy<Value = Inline> {
    prop_oneof![
        8 => text_strategy().prop_map(Inline::text),
        2 => "[a-z *`|\\\\_<$#-]{1,8}".prop_map(|s| mark(Mark::Code, vec![t(&s)])),
        1 => Just(Inline::Break { attrs: Attrs::new() }),
        1 => "\\\\?[a-z]{1,3}(\\^\\{[0-9]\\}| [+=] [a-z]|\\\\\\$){0,2}".prop_map(|s| Inline::math(math(&s))),
        1 => word().prop_map(|n| Inline::Anchor { name: n, params: Params::new(), attrs: Attrs::new() }),
        1 => (prop_oneof![url().prop_map(|u| ImageSource::Url { url: u }), text_strategy().prop_map(|f| attachment(&f))],
              proptest::option::of(text_strategy()))
            .prop_map(|(src, alt)| Inline::image(image(src, alt.as_deref(), None))),
    ]
}

fn link_target() -> impl Strategy<Value = (LinkTarget, Option<String>)> {
    prop_oneof![
        url().prop_map(|u| (LinkTarget::url(u), None)),
        text_strategy().prop_map(|a| (LinkTarget::SamePage, Some(a))),
        (
            text_strategy(),
            proptest::option::of(word()),
            proptest::option::of(word())
        )
            .prop_map(|(title, space, anchor)| (
                LinkTarget::Page {
                    title: Some(title),
                    space_key: space,
                    id: None,
                    attrs: Attrs::new()
                },
                anchor
            )),
        (
            "[a-z ]{1,5}\\.(pdf|png|csv|txt)",
            proptest::option::of(word())
        )
            .prop_map(|(f, a)| (
                LinkTarget::Attachment {
                    filename: f,
                    container: None,
                    attrs: Attrs::new()
                },
                a
            )),
    ]
}

fn inline_strategy() -> impl Strategy<Value = Inline> {
    leaf_inline().prop_recursive(3, 24, 4, |inner| {
        let content = prop::collection::vec(inner.clone(), 0..4);
        prop_oneof![
            (
                prop_oneof![
                    Just(Mark::Strong),
                    Just(Mark::Emphasis),
                    Just(Mark::Strike),
                    Just(Mark::Underline),
                    Just(Mark::Subscript),
                    Just(Mark::Superscript),
                    Just(Mark::Small),
                    Just(Mark::Big),
                    Just(Mark::Code),
                ],
                content.clone()
            )
                .prop_map(|(m, c)| mark(m, c)),
            (link_target(), prop::collection::vec(inner, 1..3)).prop_map(
                |((target, anchor), c)| {
                    Inline::link(Link {
                        target,
                        anchor,
                        content: strip_links(c),
                        plain_body: false,
                        attrs: Attrs::new(),
                    })
                }
            ),
            (
                proptest::option::of("#[0-9a-f]{6}|red"),
                proptest::option::of("yellow"),
                any::<bool>(),
                any::<bool>(),
                content
            )
                .prop_map(|(color, background, strike, underline, c)| Inline::Span {
                    style: Box::new(SpanStyle {
                        color,
                        background,
                        strike,
                        underline
                    }),
                    content: c,
                    attrs: Attrs::new(),
                }),
        ]
    })
}

/// Links cannot nest in Markdown: the generator keeps nested links' text only.
fn strip_links(xs: Vec<Inline>) -> Vec<Inline> {
    xs.into_iter()
        .flat_map(|x| match x {
            Inline::Link(l) => strip_links(l.content),
            Inline::Mark {
                mark,
                content,
                attrs,
            } => vec![Inline::Mark {
                mark,
                content: strip_links(content),
                attrs,
            }],
            Inline::Span {
                style,
                content,
                attrs,
            } => vec![Inline::Span {
                style,
                content: strip_links(content),
                attrs,
            }],
            other => vec![other],
        })
        .collect()
}

fn inlines() -> impl Strategy<Value = Vec<Inline>> {
    prop::collection::vec(inline_strategy(), 1..5)
}

fn leaf_block() -> impl Strategy<Value = Block> {
    prop_oneof![
        6 => inlines().prop_map(p),
        2 => (1u8..=6, prop::collection::vec(inline_strategy(), 0..3)).prop_map(|(l, c)| h(l, c)),
        2 => (proptest::option::of("[a-z][a-z0-9+#-]{0,5}"), proptest::option::of("[a-zA-Z0-9 .\"`\\\\&_-]{0,8}"), "([a-z `~{}<>*\\\\-]{0,10}\n){0,3}[a-z `~]{0,6}")
            .prop_map(|(l, ti, tx)| code(l.as_deref(), ti.as_deref(), &tx)),
        1 => Just(Block::Divider { attrs: Attrs::new() }),
        1 => "[a-z0-9 ^_{}\\\\+=$\n]{0,12}".prop_map(|tex| Block::Math(math(&tex))),
        1 => (prop_oneof![url().prop_map(|u| ImageSource::Url { url: u }), text_strategy().prop_map(|f| attachment(&f))],
              proptest::option::of(text_strategy()),
              proptest::option::of(inlines()))
            .prop_map(|(src, alt, cap)| Block::Image(image(src, alt.as_deref(), cap.map(|c| vec![p(c)])))),
        1 => table_strategy(),
        1 => prop_oneof![Just(("div", "<div align=\"center\">\n  <b>x</b>\n</div>\n")), Just(("comment", "<!-- note -->\n")), Just(("hr", "<hr>\n"))]
            .prop_map(|(name, src)| Block::Extension(Extension {
                format: "markdown".into(),
                kind: "html".into(),
                name: name.into(),
                params: Params::new(),
                body: vec![],
                text: None,
                source: Some(src.to_string()),
                attrs: Attrs::new(),
            })),
    ]
}

fn table_strategy() -> impl Strategy<Value = Block> {
    (
        1usize..4,
        0usize..3,
        proptest::option::of(prop::collection::vec(
            prop_oneof![Just(""), Just("left"), Just("center"), Just("right")],
            3,
        )),
    )
        .prop_flat_map(|(cols, body_rows, align)| {
            let cell_content = prop::collection::vec(
                proptest::option::of(prop::collection::vec(inline_strategy(), 1..3)),
                cols,
            );
            (
                prop::collection::vec(cell_content, body_rows + 1),
                Just(align),
                Just(cols),
            )
        })
        .prop_map(|(rows, align, cols)| {
            let rows = rows
                .into_iter()
                .enumerate()
                .map(|(ri, cells)| {
                    row(cells
                        .into_iter()
                        .map(|c| cell(ri == 0, c.map(|c| vec![plain(c)]).unwrap_or_default()))
                        .collect())
                })
                .collect();
            let mut t = Table {
                columns: None,
                rows,
                attrs: Attrs::new(),
            };
            if let Some(a) = align.filter(|a| a[..cols].iter().any(|x| !x.is_empty())) {
                t.attrs.insert("kb:align".into(), a[..cols].join(","));
            }
            Block::Table(t)
        })
}

/// Tables only HTML can hold (the writer falls back to `<table>` with Markdown cells).
fn html_table_strategy(
    inner: impl Strategy<Value = Block> + Clone,
) -> impl Strategy<Value = Block> {
    let cell_s = (
        any::<bool>(),
        proptest::option::of(2u32..4),
        proptest::option::of(2u32..4),
        prop_oneof![
            3 => prop::collection::vec(inner, 0..2),
            // Text right in the cell.
            1 => "[a-z<>&\"*]{1,5}( [a-z]{1,4})?".prop_map(|s| vec![plain(vec![t(&s)])]),
        ],
    )
        .prop_map(|(header, colspan, rowspan, blocks)| TableCell {
            header,
            colspan,
            rowspan,
            blocks,
            attrs: Attrs::new(),
        });
    prop::collection::vec(prop::collection::vec(cell_s, 1..3).prop_map(row), 1..3).prop_map(
        |mut rows| {
            // Make sure a pipe table cannot hold it: the first cell is a data cell.
            if let Some(c) = rows.first_mut().and_then(|r| r.cells.first_mut()) {
                c.header = false;
            }
            table(rows)
        },
    )
}

fn block_strategy() -> impl Strategy<Value = Block> {
    leaf_block().prop_recursive(3, 32, 4, |inner| {
        let tight_item =
            (inlines(), proptest::option::of(inner.clone())).prop_map(|(c, nested)| {
                let mut blocks = vec![plain(c)];
                // Only blocks that can follow an item's text on the next line keep a list tight.
                match nested {
                    // An ordered list must start at 1 to interrupt the text.
                    Some(Block::List(mut l)) => {
                        l.start = None;
                        blocks.push(Block::List(l));
                    }
                    Some(b @ (Block::Code(_) | Block::Heading { .. } | Block::Quote { .. })) => {
                        blocks.push(b)
                    }
                    _ => {}
                }
                item(blocks)
            });
        let loose_item = prop::collection::vec(inner.clone(), 1..3).prop_map(|mut blocks| {
            blocks.insert(0, pt("para"));
            item(blocks)
        });
        prop_oneof![
            (
                any::<bool>(),
                proptest::option::of(0u64..20),
                prop::collection::vec(tight_item, 1..4)
            )
                .prop_map(|(ordered, start, items)| list(
                    ordered,
                    if ordered {
                        start.filter(|&s| s != 1)
                    } else {
                        None
                    },
                    items
                )),
            (any::<bool>(), prop::collection::vec(loose_item, 1..3))
                .prop_map(|(ordered, items)| list(ordered, None, items)),
            prop::collection::vec((any::<bool>(), inlines()), 1..4).prop_map(|items| {
                Block::TaskList {
                    items: items
                        .into_iter()
                        .map(|(d, c)| task(d, vec![plain(c)]))
                        .collect(),
                    attrs: Attrs::new(),
                }
            }),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|blocks| Block::Quote {
                blocks,
                attrs: Attrs::new()
            }),
            (
                prop_oneof![
                    Just(CalloutKind::Info),
                    Just(CalloutKind::Note),
                    Just(CalloutKind::Warning),
                    Just(CalloutKind::Panel)
                ],
                prop::collection::vec(inner.clone(), 0..3)
            )
                .prop_map(|(k, blocks)| callout(k, None, blocks)),
            (
                proptest::option::of(text_strategy()),
                prop::collection::vec(inner.clone(), 0..3)
            )
                .prop_map(|(title, blocks)| expand(title.as_deref(), blocks)),
            html_table_strategy(inner),
        ]
    })
}

/// Brings a generated document into the reader's canonical form (see `kb_doc::markdown`):
/// merged text, no empty text, no paragraph that is only an image or `[TOC]`.
fn canonical(doc: Document) -> Document {
    fn inl(xs: Vec<Inline>) -> Vec<Inline> {
        let mut out: Vec<Inline> = Vec::new();
        for x in xs {
            let x = match x {
                Inline::Mark {
                    mark,
                    content,
                    attrs,
                } => Inline::Mark {
                    mark,
                    content: inl(content),
                    attrs,
                },
                Inline::Span {
                    style,
                    content,
                    attrs,
                } => Inline::Span {
                    style,
                    content: inl(content),
                    attrs,
                },
                Inline::Link(mut l) => {
                    l.content = inl(l.content);
                    Inline::Link(l)
                }
                Inline::Text { text } if text.is_empty() => continue,
                other => other,
            };
            if let (Some(Inline::Text { text: prev }), Inline::Text { text }) = (out.last_mut(), &x)
            {
                prev.push_str(text);
                continue;
            }
            out.push(x);
        }
        out
    }
    fn para(content: Vec<Inline>) -> Vec<Inline> {
        let mut c = inl(content);
        let lone = matches!(c.as_slice(), [Inline::Image(_)] | [Inline::Break { .. }])
            || matches!(c.as_slice(), [Inline::Text { text }] if text == "[TOC]")
            || matches!(c.as_slice(), [Inline::Image(_), Inline::Text { text }, Inline::Mark { mark: Mark::Emphasis, .. }] if text == "\n");
        if lone || c.is_empty() {
            c.push(t("."));
            c = inl(c);
        }
        c
    }
    fn blocks(bs: Vec<Block>) -> Vec<Block> {
        bs.into_iter().map(block).collect()
    }
    fn block(b: Block) -> Block {
        match b {
            Block::Paragraph {
                content,
                align,
                attrs,
            } => Block::Paragraph {
                content: para(content),
                align,
                attrs,
            },
            Block::Plain { content } => Block::Plain {
                content: para(content),
            },
            Block::Heading {
                level,
                content,
                align,
                attrs,
            } => Block::Heading {
                level,
                content: inl(content),
                align,
                attrs,
            },
            Block::List(mut l) => {
                for i in &mut l.items {
                    i.blocks = blocks(std::mem::take(&mut i.blocks));
                }
                Block::List(l)
            }
            Block::TaskList { mut items, attrs } => {
                for i in &mut items {
                    i.body = blocks(std::mem::take(&mut i.body));
                }
                Block::TaskList { items, attrs }
            }
            Block::Quote { blocks: bs, attrs } => Block::Quote {
                blocks: blocks(bs),
                attrs,
            },
            Block::Callout(mut c) => {
                c.blocks = blocks(c.blocks);
                Block::Callout(c)
            }
            Block::Expand(mut e) => {
                e.blocks = blocks(e.blocks);
                Block::Expand(e)
            }
            Block::Table(mut t) => {
                for r in &mut t.rows {
                    for c in &mut r.cells {
                        c.blocks = blocks(std::mem::take(&mut c.blocks));
                    }
                }
                Block::Table(t)
            }
            Block::Image(mut img) => {
                img.caption = img.caption.map(blocks);
                Block::Image(img)
            }
            other => other,
        }
    }
    Document {
        blocks: blocks(doc.blocks),
    }
}

fn doc_strategy() -> impl Strategy<Value = Document> {
    prop::collection::vec(block_strategy(), 0..6).prop_map(|blocks| canonical(Document { blocks }))
}

proptest! {
    // 512 cases by default; `PROPTEST_CASES=…` runs more.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn markdown_round_trips(d in doc_strategy()) {
        let out = markdown::write(&d);
        let back = markdown::read(&out);
        prop_assert_eq!(&back, &d, "\n--- markdown\n{}\n--- as string: {:?}", out, out);
    }

    /// Whatever the reader makes of Markdown-like input, the writer writes it so that it reads
    /// back the same.
    #[test]
    fn writing_what_was_read_is_stable(input in "[a-z #>*_`\\[\\]()<>|~:.\n1-]{0,80}") {
        // A link without text is written with its target's name as text (by design).
        let input = input.replace("[]", "[x]");
        let d1 = markdown::read(&input);
        let out = markdown::write(&d1);
        let d2 = markdown::read(&out);
        prop_assert_eq!(&d2, &d1, "\n--- input\n{}\n--- written\n{}\n---", input, out);
    }

    #[test]
    fn writing_what_was_read_is_stable_with_math(input in "[a-z $|{}\\\\*_`]{0,40}") {
        let d1 = markdown::read(&input);
        let out = markdown::write(&d1);
        let d2 = markdown::read(&out);
        prop_assert_eq!(&d2, &d1, "\n--- input\n{}\n--- written\n{}\n---", input, out);
    }
}
