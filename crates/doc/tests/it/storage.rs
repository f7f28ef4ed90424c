//! Storage codec on our own fixtures: every element of the vocabulary maps to the IR node it
//! should, round-trips to a fixed point and stays semantically equal; the writer obeys storage's
//! rules; and a proptest checks `read(write(doc)) == doc` over generated documents.

use kb_doc::*;
use proptest::prelude::*;

use crate::xmlnorm;

/// Reads, checks the fixed point and semantic equality, and returns the IR.
fn round_trip(src: &str) -> Document {
    let ir = storage::read(src).unwrap_or_else(|e| panic!("read failed: {e}\n{src}"));
    let out = storage::write(&ir);
    let ir2 = storage::read(&out).unwrap_or_else(|e| panic!("re-read failed: {e}\n{out}"));
    assert_eq!(ir, ir2, "not a fixed point\n--- written\n{out}");
    if let Some(d) = xmlnorm::first_diff(&xmlnorm::parse(src), &xmlnorm::parse(&out)) {
        panic!(
            "written storage differs from the source: {d}\n--- source\n{src}\n--- written\n{out}"
        );
    }
    ir
}

fn one(src: &str) -> Block {
    let mut d = round_trip(src);
    assert_eq!(d.blocks.len(), 1, "expected one block: {:#?}", d.blocks);
    d.blocks.remove(0)
}

fn para_inlines(b: Block) -> Vec<Inline> {
    match b {
        Block::Paragraph { content, .. } => content,
        other => panic!("expected a paragraph, got {other:#?}"),
    }
}

/// Whitespace between blocks: spaces and line breaks are insignificant, a no-break space is
/// content (HTML renders it) and survives a round trip.
#[test]
fn a_no_break_space_between_blocks_is_content() {
    let d = storage::read("<p>a</p>\n  \t<p>b</p>").unwrap();
    assert_eq!(d.blocks.len(), 2, "{d:?}");
    let d = storage::read("<p>a</p>&nbsp;<p>b</p>").unwrap();
    assert_eq!(d.blocks.len(), 3, "{d:?}");
    assert!(
        matches!(&d.blocks[1], Block::Plain { content } if content == &vec![Inline::text("\u{a0}")]),
        "{d:?}"
    );
    assert_eq!(storage::read(&storage::write(&d)).unwrap(), d);
}

#[test]
fn text_styles_headings_alignment() {
    let b = one(
        r#"<p style="text-align: center;" local-id="p1">A <strong>b</strong> <em>c</em> <u>d</u> <s>e</s> <code>f</code> <sub>g</sub><sup>h</sup> <small>i</small> <big>j</big></p>"#,
    );
    let Block::Paragraph {
        content,
        align,
        attrs,
    } = b
    else {
        panic!()
    };
    assert_eq!(align, Some(Align::Center));
    assert_eq!(attrs.get("local-id").map(String::as_str), Some("p1"));
    assert!(
        !attrs.contains_key("style"),
        "a modelled style is not kept twice"
    );
    let marks: Vec<&Mark> = content
        .iter()
        .filter_map(|i| match i {
            Inline::Mark { mark, .. } => Some(mark),
            _ => None,
        })
        .collect();
    assert_eq!(
        marks,
        [
            &Mark::Strong,
            &Mark::Emphasis,
            &Mark::Underline,
            &Mark::Strike,
            &Mark::Code,
            &Mark::Subscript,
            &Mark::Superscript,
            &Mark::Small,
            &Mark::Big
        ]
    );
    for level in 1..=6 {
        let b = one(&format!(
            "<h{level} style=\"text-align: right;\">T</h{level}>"
        ));
        assert!(
            matches!(b, Block::Heading { level: l, align: Some(Align::Right), .. } if l == level)
        );
    }
    // Alternate spellings are kept.
    let inl = para_inlines(one("<p><b>x</b><i>y</i><del>z</del><tt>w</tt></p>"));
    assert!(
        matches!(&inl[0], Inline::Mark { mark: Mark::Strong, attrs, .. } if attrs["kb:tag"] == "b")
    );
    assert!(
        matches!(&inl[2], Inline::Mark { mark: Mark::Strike, attrs, .. } if attrs["kb:tag"] == "del")
    );
}

#[test]
fn colour_and_strike_spans() {
    let inl = para_inlines(one(
        r#"<p><span style="color: rgb(255,86,48);">red</span><span style="background-color: rgb(254,222,200);">hi</span><span style="text-decoration: line-through;">old</span><span style="color: red; font-size: 12px;">x</span></p>"#,
    ));
    let styles: Vec<&SpanStyle> = inl
        .iter()
        .filter_map(|i| match i {
            Inline::Span { style, .. } => Some(&**style),
            _ => None,
        })
        .collect();
    assert_eq!(styles[0].color.as_deref(), Some("rgb(255,86,48)"));
    assert_eq!(styles[1].background.as_deref(), Some("rgb(254,222,200)"));
    assert!(styles[2].strike);
    match &inl[3] {
        Inline::Span { style, attrs, .. } => {
            assert_eq!(style.color.as_deref(), Some("red"));
            assert_eq!(
                attrs["style"], "font-size: 12px;",
                "unmodelled declarations stay in the bag"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn lists_with_start_and_mixed_content() {
    let b = one(
        r#"<ol start="3"><li><p>one</p><ul><li>nested <strong>x</strong></li></ul></li><li>two</li></ol>"#,
    );
    let Block::List(l) = b else { panic!() };
    assert!(l.ordered);
    assert_eq!(l.start, Some(3));
    assert_eq!(l.items.len(), 2);
    assert!(matches!(&l.items[0].blocks[1], Block::List(inner) if !inner.ordered));
    assert!(matches!(&l.items[1].blocks[0], Block::Plain { .. }));
}

#[test]
fn tables_with_colgroup_spans_and_headers() {
    let b = one(
        r#"<table data-layout="default" data-table-width="760"><colgroup><col style="width: 200.0px;" /><col style="width: 560.0px;" /></colgroup><tbody><tr><th><p>Key</p></th><th><p>Value</p></th></tr><tr><td colspan="2" rowspan="1"><p>wide</p></td></tr><tr><th>k</th><td /></tr></tbody></table>"#,
    );
    let Block::Table(t) = b else { panic!() };
    assert_eq!(t.columns.as_ref().unwrap().len(), 2);
    assert!(t.has_header_row());
    assert_eq!(t.rows[1].cells[0].colspan, Some(2));
    assert_eq!(t.rows[1].cells[0].rowspan, Some(1));
    assert!(t.rows[2].cells[1].blocks.is_empty());
    assert_eq!(t.attrs["data-layout"], "default");
    // thead/tbody sections survive.
    let Block::Table(t) =
        one("<table><thead><tr><th>h</th></tr></thead><tbody><tr><td>d</td></tr></tbody></table>")
    else {
        panic!()
    };
    assert_eq!(t.rows[0].section, RowSection::Head);
}

#[test]
fn every_link_target_and_body_form() {
    let src = concat!(
        r#"<p>"#,
        r#"<ac:link><ri:page ri:content-title="Page Title" ri:space-key="ENG" ri:version-at-save="3" /><ac:plain-text-link-body><![CDATA[Text & <more>]]></ac:plain-text-link-body></ac:link>"#,
        r#"<ac:link><ri:attachment ri:filename="a b.pdf"><ri:page ri:content-title="Other" /></ri:attachment></ac:link>"#,
        r#"<ac:link ac:anchor="sec"><ac:plain-text-link-body><![CDATA[Anchor]]></ac:plain-text-link-body></ac:link>"#,
        r#"<ac:link ac:anchor="a2"><ri:page ri:content-title="P" /></ac:link>"#,
        r#"<ac:link><ri:page ri:content-title="Home" ri:space-key="S" /><ac:link-body>Some <strong>Rich</strong> Text</ac:link-body></ac:link>"#,
        r#"<ac:link><ri:user ri:account-id="557058:abc" ri:local-id="u1" /></ac:link>"#,
        r#"<ac:link><ri:user ri:userkey="ff80" /></ac:link>"#,
        r#"<ac:link><ri:blog-post ri:content-title="News" ri:space-key="S" ri:posting-day="2026/01/02" /></ac:link>"#,
        r#"<ac:link><ri:space ri:space-key="DOC" /></ac:link>"#,
        r#"<ac:link><ri:content-entity ri:content-id="123" /></ac:link>"#,
        r#"<ac:link><ri:shortcut ri:key="jira" ri:parameter="ABC-1" /></ac:link>"#,
        r#"<ac:link><ri:url ri:value="https://example.com/x" /></ac:link>"#,
        r#"<ac:link ac:card-appearance="inline"><ri:page ri:content-title="Card" /></ac:link>"#,
        r#"<a href="https://example.com/?a=1&amp;b=2">ext</a>"#,
        r#"<a data-card-appearance="inline" href="https://x.test/" local-id="l1">https://x.test/</a>"#,
        r#"</p>"#
    );
    let inl = para_inlines(one(src));
    let links: Vec<&Link> = inl
        .iter()
        .filter_map(|i| match i {
            Inline::Link(l) => Some(&**l),
            _ => None,
        })
        .collect();
    assert_eq!(links.len(), 15);
    assert!(
        matches!(&links[0].target, LinkTarget::Page { title: Some(t), space_key: Some(k), attrs, .. } if t == "Page Title" && k == "ENG" && attrs["ri:version-at-save"] == "3")
    );
    assert!(links[0].plain_body);
    assert_eq!(links[0].content, vec![Inline::text("Text & <more>")]);
    assert!(
        matches!(&links[1].target, LinkTarget::Attachment { filename, container: Some(c), .. } if filename == "a b.pdf" && matches!(**c, LinkTarget::Page { .. }))
    );
    assert!(
        matches!(links[2].target, LinkTarget::SamePage)
            && links[2].anchor.as_deref() == Some("sec")
    );
    assert!(links[3].content.is_empty() && links[3].anchor.as_deref() == Some("a2"));
    assert!(!links[4].plain_body && links[4].content.len() == 3);
    assert!(
        matches!(&links[5].target, LinkTarget::User { account_id: Some(a), .. } if a == "557058:abc")
    );
    assert!(matches!(
        &links[6].target,
        LinkTarget::User {
            userkey: Some(_),
            ..
        }
    ));
    assert!(matches!(
        &links[7].target,
        LinkTarget::BlogPost {
            posting_day: Some(_),
            ..
        }
    ));
    assert!(matches!(&links[8].target, LinkTarget::Space { key, .. } if key == "DOC"));
    assert!(matches!(&links[9].target, LinkTarget::Content { id, .. } if id == "123"));
    assert!(
        matches!(&links[10].target, LinkTarget::Shortcut { key, parameter, .. } if key == "jira" && parameter == "ABC-1")
    );
    assert!(matches!(&links[11].target, LinkTarget::Url { url } if url == "https://example.com/x"));
    assert_eq!(links[12].attrs["ac:card-appearance"], "inline");
    assert!(
        matches!(&links[13].target, LinkTarget::Url { url } if url == "https://example.com/?a=1&b=2")
    );
    assert_eq!(links[14].attrs["data-card-appearance"], "inline");
}

#[test]
fn images_attachment_url_caption_sizes() {
    let b = one(
        r##"<ac:image ac:align="center" ac:layout="center" ac:alt="shot.png" ac:width="760" ac:height="400" ac:original-width="1355" ac:custom-width="true"><ri:attachment ri:filename="shot.png" ri:version-at-save="1" /><ac:caption ac:local-id="c1"><p>The <strong>caption</strong></p></ac:caption><ac:adf-mark key="border" size="2" color="#091e4224" /></ac:image>"##,
    );
    let Block::Image(img) = b else { panic!() };
    assert!(
        matches!(&img.source, ImageSource::Attachment { filename, attrs, .. } if filename == "shot.png" && attrs["ri:version-at-save"] == "1")
    );
    assert_eq!(img.alt.as_deref(), Some("shot.png"));
    assert_eq!(img.width.as_deref(), Some("760"));
    assert_eq!(img.height.as_deref(), Some("400"));
    assert_eq!(img.attrs["ac:layout"], "center");
    assert_eq!(img.caption.as_ref().unwrap().len(), 1);
    assert_eq!(img.caption_attrs["ac:local-id"], "c1");
    assert_eq!(img.marks[0]["key"], "border");
    let b = one(r#"<ac:image><ri:url ri:value="https://example.com/logo.png" /></ac:image>"#);
    assert!(matches!(
        b,
        Block::Image(Image {
            source: ImageSource::Url { .. },
            ..
        })
    ));
    // Inline image among text stays inline.
    let inl = para_inlines(one(
        r#"<p>see <ac:image ac:height="16"><ri:attachment ri:filename="i.png" /></ac:image> here</p>"#,
    ));
    assert!(matches!(inl[1], Inline::Image(_)));
}

#[test]
fn task_lists_with_status_and_dates() {
    let b = one(
        r#"<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-uuid>u-1</ac:task-uuid><ac:task-status>complete</ac:task-status><ac:task-body><strong>Done</strong> by <ac:link><ri:user ri:account-id="a1" /></ac:link> on <time datetime="2026-10-26" /></ac:task-body></ac:task><ac:task><ac:task-id>2</ac:task-id><ac:task-status>incomplete</ac:task-status><ac:task-body>todo</ac:task-body></ac:task></ac:task-list>"#,
    );
    let Block::TaskList { items, .. } = b else {
        panic!()
    };
    assert!(items[0].done && !items[1].done);
    assert_eq!(items[0].uuid.as_deref(), Some("u-1"));
    let Block::Plain { content } = &items[0].body[0] else {
        panic!()
    };
    assert!(
        content
            .iter()
            .any(|i| matches!(i, Inline::Date { date, .. } if date == "2026-10-26"))
    );
}

#[test]
fn emoticons_placeholders_comments_markers() {
    let inl = para_inlines(one(
        r#"<p><ac:emoticon ac:name="tick" /> <ac:emoticon ac:emoji-fallback="💡" ac:emoji-id="1f4a1" ac:emoji-shortname=":bulb:" ac:name="light-on" /> <ac:placeholder ac:type="mention">Type @</ac:placeholder> <ac:inline-comment-marker ac:ref="c0ffee">marked</ac:inline-comment-marker><br /></p>"#,
    ));
    assert!(matches!(&inl[0], Inline::Emoji(e) if e.name.as_deref() == Some("tick")));
    assert!(
        matches!(&inl[2], Inline::Emoji(e) if e.shortname.as_deref() == Some(":bulb:") && e.text.as_deref() == Some("💡"))
    );
    assert!(
        matches!(&inl[4], Inline::Placeholder { text, attrs } if text == "Type @" && attrs["ac:type"] == "mention")
    );
    assert!(
        matches!(&inl[6], Inline::Mark { mark: Mark::InlineComment { id }, .. } if id == "c0ffee")
    );
    assert!(matches!(&inl[7], Inline::Break { .. }));
}

#[test]
fn layouts() {
    let b = one(
        r#"<ac:layout><ac:layout-section ac:type="two_equal" ac:breakout-mode="default"><ac:layout-cell><p>left</p></ac:layout-cell><ac:layout-cell><p>right</p></ac:layout-cell></ac:layout-section><ac:layout-section ac:type="fixed-width"><ac:layout-cell><p>one</p></ac:layout-cell></ac:layout-section></ac:layout>"#,
    );
    let Block::Layout(l) = b else { panic!() };
    assert_eq!(l.sections.len(), 2);
    assert_eq!(l.sections[0].kind, "two_equal");
    assert_eq!(l.sections[0].cells.len(), 2);
    assert_eq!(l.sections[0].attrs["ac:breakout-mode"], "default");
}

#[test]
fn adf_extension_panels() {
    let src = r#"<ac:adf-extension><ac:adf-node type="panel"><ac:adf-attribute key="panel-type">note</ac:adf-attribute><ac:adf-attribute key="local-id">x1</ac:adf-attribute><ac:adf-content><p>purple</p></ac:adf-content></ac:adf-node><ac:adf-fallback><div class="panel"><p>purple</p></div></ac:adf-fallback></ac:adf-extension>"#;
    let Block::Callout(c) = one(src) else {
        panic!()
    };
    assert_eq!(c.kind, CalloutKind::Note);
    assert!(matches!(&c.form, CalloutForm::AdfPanel { fallback: Some(f) } if f.contains("panel")));
    assert_eq!(c.params.get("local-id"), Some("x1"));
    // Other ADF nodes are kept whole.
    let src = r#"<ac:adf-extension><ac:adf-node type="decision-list"><ac:adf-content><p>d</p></ac:adf-content></ac:adf-node></ac:adf-extension>"#;
    let Block::Extension(e) = one(src) else {
        panic!()
    };
    assert_eq!(e.kind, "adf-extension");
    assert_eq!(e.source.as_deref(), Some(src));
}

#[test]
fn common_macros() {
    let code = one(
        r#"<ac:structured-macro ac:name="code" ac:schema-version="1" ac:macro-id="m1"><ac:parameter ac:name="language">bash</ac:parameter><ac:parameter ac:name="title">Run</ac:parameter><ac:parameter ac:name="linenumbers">true</ac:parameter><ac:plain-text-body><![CDATA[if [ a < b ] && true; then echo "]]]]><![CDATA[>"; fi]]></ac:plain-text-body></ac:structured-macro>"#,
    );
    let Block::Code(c) = code else { panic!() };
    assert_eq!(c.language.as_deref(), Some("bash"));
    assert_eq!(c.title.as_deref(), Some("Run"));
    assert_eq!(c.text, r#"if [ a < b ] && true; then echo "]]>"; fi"#);
    assert_eq!(c.params.get("linenumbers"), Some("true"));
    assert_eq!(c.attrs["ac:macro-id"], "m1");
    assert!(matches!(
        one(
            r#"<ac:structured-macro ac:name="noformat"><ac:plain-text-body><![CDATA[raw]]></ac:plain-text-body></ac:structured-macro>"#
        ),
        Block::Code(Code { noformat: true, .. })
    ));
    for (name, kind) in [
        ("info", CalloutKind::Info),
        ("note", CalloutKind::Note),
        ("tip", CalloutKind::Tip),
        ("warning", CalloutKind::Warning),
        ("panel", CalloutKind::Panel),
    ] {
        let b = one(&format!(
            r#"<ac:structured-macro ac:name="{name}"><ac:parameter ac:name="title">T</ac:parameter><ac:rich-text-body><p>body</p></ac:rich-text-body></ac:structured-macro>"#
        ));
        assert!(matches!(b, Block::Callout(Callout { kind: k, title: Some(_), .. }) if k == kind));
    }
    assert!(matches!(
        one(
            r#"<ac:structured-macro ac:name="expand"><ac:parameter ac:name="title">More</ac:parameter><ac:rich-text-body><p>x</p></ac:rich-text-body></ac:structured-macro>"#
        ),
        Block::Expand(Expand { title: Some(_), .. })
    ));
    assert!(matches!(
        one(
            r#"<ac:structured-macro ac:name="toc"><ac:parameter ac:name="maxLevel">2</ac:parameter></ac:structured-macro>"#
        ),
        Block::Toc(_)
    ));
    assert!(matches!(
        one(
            r#"<ac:structured-macro ac:name="excerpt"><ac:parameter ac:name="hidden">true</ac:parameter><ac:rich-text-body><p>x</p></ac:rich-text-body></ac:structured-macro>"#
        ),
        Block::Excerpt(_)
    ));
    assert!(matches!(
        one(
            r#"<ac:structured-macro ac:name="include"><ac:parameter ac:name=""><ac:link><ri:page ri:content-title="Shared" ri:space-key="S" /></ac:link></ac:parameter></ac:structured-macro>"#
        ),
        Block::Include(Include { excerpt: false, .. })
    ));
    assert!(matches!(
        one(
            r#"<ac:structured-macro ac:name="excerpt-include"><ac:parameter ac:name=""><ac:link><ri:page ri:content-title="Shared" /></ac:link></ac:parameter><ac:parameter ac:name="nopanel">true</ac:parameter></ac:structured-macro>"#
        ),
        Block::Include(Include { excerpt: true, .. })
    ));
    assert!(matches!(
        one(
            r#"<ac:structured-macro ac:name="children"><ac:parameter ac:name="all">true</ac:parameter><ac:parameter ac:name="page"><ac:link><ri:page ri:content-title="Parent" /></ac:link></ac:parameter></ac:structured-macro>"#
        ),
        Block::ChildPages(ChildPages { page: Some(_), .. })
    ));
    assert!(matches!(
        one(r#"<ac:structured-macro ac:name="children" />"#),
        Block::ChildPages(ChildPages { page: None, .. })
    ));
    assert!(matches!(
        one(
            r#"<ac:structured-macro ac:name="view-file"><ac:parameter ac:name="name"><ri:attachment ri:filename="spec.pdf" ri:version-at-save="1" /></ac:parameter><ac:parameter ac:name="height">250</ac:parameter></ac:structured-macro>"#
        ),
        Block::File(_)
    ));
    assert!(matches!(
        one(
            r#"<ac:structured-macro ac:name="detailssummary" ac:schema-version="3"><ac:parameter ac:name="cql">label = "x"</ac:parameter></ac:structured-macro>"#
        ),
        Block::PagePropertiesReport(_)
    ));
    let Block::PageProperties(pp) = one(
        r#"<ac:structured-macro ac:name="details"><ac:parameter ac:name="id">p1</ac:parameter><ac:rich-text-body><table><tbody><tr><th><p>Owner</p></th><td><p><ac:link><ri:user ri:account-id="a1" /></ac:link></p></td></tr><tr><th>Status</th><td><ac:structured-macro ac:name="status"><ac:parameter ac:name="title">DONE</ac:parameter><ac:parameter ac:name="colour">Green</ac:parameter></ac:structured-macro></td></tr></tbody></table></ac:rich-text-body></ac:structured-macro>"#,
    ) else {
        panic!()
    };
    let rows = pp.rows();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, "Owner");
    assert_eq!(rows[1].0, "Status");
    // Inline macros.
    let inl = para_inlines(one(
        r#"<p><ac:structured-macro ac:name="status" ac:schema-version="1"><ac:parameter ac:name="title">IN PROGRESS</ac:parameter><ac:parameter ac:name="colour">Blue</ac:parameter><ac:parameter ac:name="subtle">true</ac:parameter></ac:structured-macro><ac:structured-macro ac:name="anchor"><ac:parameter ac:name="">top</ac:parameter></ac:structured-macro><ac:structured-macro ac:name="jira"><ac:parameter ac:name="server">System JIRA</ac:parameter><ac:parameter ac:name="key">ABC-12</ac:parameter></ac:structured-macro></p>"#,
    ));
    assert!(
        matches!(&inl[0], Inline::Status(s) if s.text == "IN PROGRESS" && s.colour.as_deref() == Some("Blue"))
    );
    assert!(matches!(&inl[1], Inline::Anchor { name, .. } if name == "top"));
    assert!(matches!(&inl[2], Inline::Jira(m) if m.params.get("key") == Some("ABC-12")));
}

#[test]
fn unknown_macros_and_elements_round_trip_as_extensions() {
    let src = r#"<ac:structured-macro ac:name="roadmap-planner" ac:schema-version="1" ac:macro-id="r1"><ac:parameter ac:name="timeline">{"a":1}</ac:parameter><ac:parameter ac:name="page"><ri:page ri:content-title="X" /></ac:parameter><ac:rich-text-body><p>inside <strong>text</strong></p></ac:rich-text-body></ac:structured-macro>"#;
    let Block::Extension(e) = one(src) else {
        panic!()
    };
    assert_eq!(
        (e.format.as_str(), e.kind.as_str(), e.name.as_str()),
        ("storage", "macro", "roadmap-planner")
    );
    assert_eq!(e.params.get("timeline"), Some(r#"{"a":1}"#));
    assert_eq!(e.source.as_deref(), Some(src));
    assert_eq!(text::blocks_to_text(&e.body).trim(), "inside text");
    // Legacy ac:macro, unknown XHTML elements, template variables.
    assert!(matches!(
        one(
            r#"<ac:macro ac:name="excerpt-include"><ac:default-parameter>Page</ac:default-parameter></ac:macro>"#
        ),
        Block::Extension(_)
    ));
    let Block::Extension(div) = one(r#"<div class="box"><p>in a div</p></div>"#) else {
        panic!()
    };
    assert_eq!((div.kind.as_str(), div.name.as_str()), ("element", "div"));
    assert!(div.source.is_none() && div.body.len() == 1);
    round_trip(
        r#"<p>Name: <at:var at:name="MyText" /></p><at:declarations><at:string at:name="MyText" /></at:declarations>"#,
    );
}

#[test]
fn fragments_as_the_api_returns_them() {
    // No root, undeclared prefixes, HTML named entities, numeric references, CDATA, void and
    // self-closing elements, whitespace between blocks.
    let src = "<h2>Overview</h2>\n<p>a&nbsp;b &rarr; c &ldquo;q&rdquo; &mdash; &#8212; &#x2014; &lt;tag&gt; &amp;</p>\n<p>line<br />break<br/></p><hr /><p />";
    let d = round_trip(src);
    assert_eq!(d.blocks.len(), 5);
    let Block::Paragraph { content, .. } = &d.blocks[1] else {
        panic!()
    };
    assert_eq!(
        content,
        &vec![Inline::text("a\u{a0}b → c “q” — — — <tag> &")]
    );
    // HTML-style void elements without a slash are accepted too.
    let d = storage::read("<p>a<br>b</p><hr><p>c</p>").unwrap();
    assert_eq!(d.blocks.len(), 3);
    assert!(
        matches!(&d.blocks[0], Block::Paragraph { content, .. } if matches!(content[1], Inline::Break { .. }))
    );
    // An unknown entity is kept verbatim.
    let d = round_trip("<p>x &bogus; y</p>");
    let Block::Paragraph { content, .. } = &d.blocks[0] else {
        panic!()
    };
    assert!(matches!(&content[1], Inline::Extension(e) if e.source.as_deref() == Some("&bogus;")));
}

#[test]
fn writer_splits_cdata_and_escapes() {
    let doc = Document {
        blocks: vec![
            Block::Code(Code {
                language: Some("xml".into()),
                title: None,
                text: "a ]]> b ]]>".into(),
                noformat: false,
                params: Params::new(),
                attrs: Attrs::new(),
            }),
            Block::Paragraph {
                content: vec![Inline::text("1 < 2 & 3 > 2")],
                align: None,
                attrs: Attrs::new(),
            },
        ],
    };
    let out = storage::write(&doc);
    assert!(
        out.contains("<![CDATA[a ]]]]><![CDATA[> b ]]]]><![CDATA[>]]>"),
        "{out}"
    );
    assert!(out.contains("<p>1 &lt; 2 &amp; 3 &gt; 2</p>"), "{out}");
    assert!(!out.contains("xmlns"), "prefixes stay undeclared");
    assert_eq!(storage::read(&out).unwrap(), doc);
}

#[test]
fn writer_fallbacks_are_reported() {
    let doc = Document {
        blocks: vec![
            Block::Callout(Callout {
                kind: CalloutKind::Error,
                title: None,
                icon: None,
                blocks: vec![Block::Paragraph {
                    content: vec![Inline::text("boom")],
                    align: None,
                    attrs: Attrs::new(),
                }],
                params: Params::new(),
                form: CalloutForm::Macro,
                attrs: Attrs::new(),
            }),
            Block::Math(Math {
                tex: "e^{i\\pi}".into(),
                macro_name: None,
                params: Params::new(),
                attrs: Attrs::new(),
            }),
            Block::Extension(Extension {
                format: "notion".into(),
                kind: "block".into(),
                name: "breadcrumb".into(),
                params: Params::new(),
                body: vec![],
                text: None,
                source: Some("{\"type\":\"breadcrumb\"}".into()),
                attrs: Attrs::new(),
            }),
        ],
    };
    let w = storage::write_report(&doc);
    assert!(
        w.output
            .contains(r#"<ac:adf-attribute key="panel-type">error</ac:adf-attribute>"#),
        "{}",
        w.output
    );
    assert!(w.fallbacks.iter().any(|f| f.node == "math"));
    assert!(
        w.fallbacks
            .iter()
            .any(|f| f.extension && f.node.contains("breadcrumb"))
    );
    let back = storage::read(&w.output).unwrap();
    assert!(matches!(&back.blocks[0], Block::Callout(c) if c.kind == CalloutKind::Error));
}

#[test]
fn malformed_input_errors_name_the_place() {
    let e = storage::read("<p>one</p>\n<p>two <strong>x</p>").unwrap_err();
    assert_eq!((e.line, e.format), (2, "storage"));
    assert!(
        e.message.contains("</p>") && e.message.contains("<strong>"),
        "{e}"
    );
    let e = storage::read("<p>open").unwrap_err();
    assert!(e.message.contains("never closed"), "{e}");
    assert_eq!((e.line, e.column), (1, 1));
    let e = storage::read("x</p>").unwrap_err();
    assert_eq!(e.column, 2);
    let deep = "<div>".repeat(300) + &"</div>".repeat(300);
    let e = storage::read(&deep).unwrap_err();
    assert!(e.message.contains("nested deeper"), "{e}");
    let e = storage::read_bytes(b"<p>ok</p>\n<p>\xff</p>").unwrap_err();
    assert_eq!((e.line, e.column), (2, 4));
    assert!(e.message.contains("UTF-8"));
}

// ------------------------------------------------------------------------------ proptest

/// Text that storage holds exactly (any XML character; no CR, which XML normalises).
fn txt() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-zA-Z0-9 <>&\"'\\]\\[;:#*_`~|\u{a0}é한글💡.,!?-]{1,12}")
        .unwrap()
}

fn attrs() -> impl Strategy<Value = Attrs> {
    proptest::collection::btree_map(
        prop_oneof![Just("local-id".to_string()), Just("data-x".to_string())],
        "[a-z0-9<&\" ]{0,6}",
        0..2,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn leaf_inline() -> impl Strategy<Value = Inline> {
    prop_oneof![
        4 => txt().prop_map(Inline::text),
        1 => Just(Inline::Break { attrs: Attrs::new() }),
        1 => "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(|d| Inline::Date { date: d, attrs: Attrs::new() }),
        1 => (txt(), proptest::option::of(prop_oneof![Just("Green".to_string()), Just("Red".to_string())]))
            .prop_map(|(t, c)| Inline::status(Status { text: t, colour: c, params: Params::new(), attrs: Attrs::new() })),
        1 => "[a-z]{1,8}".prop_map(|n| Inline::emoji(Emoji { name: Some(n), ..Default::default() })),
        1 => txt().prop_map(|n| Inline::Anchor { name: n, params: Params::new(), attrs: Attrs::new() }),
        1 => (txt(), txt()).prop_map(|(t, u)| Inline::link(Link {
            target: LinkTarget::page_titled(u), anchor: None, content: vec![Inline::text(t)], plain_body: true, attrs: Attrs::new(),
        })),
        1 => txt().prop_map(|u| Inline::link(Link {
            target: LinkTarget::User { account_id: Some(u), userkey: None, username: None, attrs: Attrs::new() },
            anchor: None, content: vec![], plain_body: false, attrs: Attrs::new(),
        })),
    ]
}

fn inline() -> impl Strategy<Value = Inline> {
    leaf_inline().prop_recursive(3, 16, 3, |inner| {
        let content = proptest::collection::vec(inner, 1..3);
        prop_oneof![
            (
                prop_oneof![
                    Just(Mark::Strong),
                    Just(Mark::Emphasis),
                    Just(Mark::Underline),
                    Just(Mark::Strike),
                    Just(Mark::Code),
                    Just(Mark::Subscript),
                    Just(Mark::Superscript)
                ],
                content.clone(),
                attrs()
            )
                .prop_map(|(mark, content, attrs)| Inline::Mark {
                    mark,
                    content,
                    attrs
                }),
            (
                proptest::option::of("#[0-9a-f]{6}"),
                proptest::option::of("#[0-9a-f]{6}"),
                any::<bool>(),
                content.clone()
            )
                .prop_map(|(color, background, strike, content)| Inline::Span {
                    style: Box::new(SpanStyle {
                        color,
                        background,
                        strike,
                        underline: false
                    }),
                    content,
                    attrs: Attrs::new()
                }),
            (txt(), content).prop_map(|(u, content)| Inline::link(Link {
                target: LinkTarget::url(format!("https://example.com/{u}")),
                anchor: None,
                content,
                plain_body: false,
                attrs: Attrs::new()
            })),
        ]
    })
}

/// Canonical inline sequences: no empty text, no adjacent text nodes.
fn canon(v: Vec<Inline>) -> Vec<Inline> {
    let mut out: Vec<Inline> = Vec::new();
    for i in v {
        let i = match i {
            Inline::Mark {
                mark,
                content,
                attrs,
            } => Inline::Mark {
                mark,
                content: canon(content),
                attrs,
            },
            Inline::Span {
                style,
                content,
                attrs,
            } => Inline::Span {
                style,
                content: canon(content),
                attrs,
            },
            Inline::Link(mut l) => {
                l.content = canon(l.content);
                Inline::Link(l)
            }
            other => other,
        };
        match (out.last_mut(), i) {
            (Some(Inline::Text { text: a }), Inline::Text { text: b }) => a.push_str(&b),
            (_, i) => out.push(i),
        }
    }
    out
}

fn inlines() -> impl Strategy<Value = Vec<Inline>> {
    proptest::collection::vec(inline(), 1..5).prop_map(canon)
}

/// Loose text between blocks (a `Plain`): XML whitespace alone there is insignificant (as
/// between `<p>` elements), so it is outside storage's expressible subset; a no-break space
/// is content.
fn plain() -> impl Strategy<Value = Block> {
    inlines()
        .prop_filter("whitespace-only text between blocks", |c| {
            !c.iter()
                .all(|i| matches!(i, Inline::Text { text } if text.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))))
        })
        .prop_map(|content| Block::Plain { content })
}

fn para() -> impl Strategy<Value = Block> {
    (
        inlines(),
        proptest::option::of(prop_oneof![Just(Align::Center), Just(Align::Right)]),
        attrs(),
    )
        .prop_map(|(content, align, attrs)| Block::Paragraph {
            content,
            align,
            attrs,
        })
}

fn leaf_block() -> impl Strategy<Value = Block> {
    prop_oneof![
        4 => para(),
        1 => (1u8..=6, inlines()).prop_map(|(level, content)| Block::Heading { level, content, align: None, attrs: Attrs::new() }),
        1 => (proptest::option::of("[a-z]{1,6}"), "[ -~\n]{0,30}").prop_map(|(language, text)| Block::Code(Code {
            language, title: None, text, noformat: false, params: Params::new(), attrs: Attrs::new(),
        })),
        1 => Just(Block::Divider { attrs: Attrs::new() }),
        1 => Just(Block::Toc(MacroInfo::default())),
        1 => (txt(), any::<bool>()).prop_map(|(f, caption)| Block::Image(Image {
            source: ImageSource::Attachment { filename: f, container: None, attrs: Attrs::new() },
            alt: None, width: Some("300".into()), height: None,
            caption: caption.then(|| vec![Block::Paragraph { content: vec![Inline::text("cap")], align: None, attrs: Attrs::new() }]),
            caption_attrs: Attrs::new(), marks: vec![], attrs: Attrs::new(),
        })),
    ]
}

/// Canonical block sequences: a `Plain` never sits next to another `Plain` (they would read
/// back as one) nor next to a block image (text beside an image makes it an inline image).
fn no_adjacent_plain(v: Vec<Block>) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for b in v {
        let plain = matches!(b, Block::Plain { .. });
        let image = matches!(b, Block::Image(_));
        match out.last() {
            Some(Block::Plain { .. }) if plain || image => continue,
            Some(Block::Image(_)) if plain => continue,
            _ => out.push(b),
        }
    }
    out
}

fn block() -> impl Strategy<Value = Block> {
    leaf_block().prop_recursive(3, 24, 3, |inner| {
        let blocks = proptest::collection::vec(prop_oneof![3 => inner, 1 => plain()], 1..3)
            .prop_map(no_adjacent_plain);
        prop_oneof![
            (
                any::<bool>(),
                proptest::option::of(1u64..20),
                proptest::collection::vec(blocks.clone(), 1..3)
            )
                .prop_map(|(ordered, start, items)| Block::List(List {
                    ordered,
                    start: if ordered { start } else { None },
                    items: items
                        .into_iter()
                        .map(|blocks| ListItem {
                            blocks,
                            attrs: Attrs::new()
                        })
                        .collect(),
                    attrs: Attrs::new()
                })),
            blocks.clone().prop_map(|blocks| Block::Quote {
                blocks,
                attrs: Attrs::new()
            }),
            (
                prop_oneof![
                    Just(CalloutKind::Info),
                    Just(CalloutKind::Note),
                    Just(CalloutKind::Tip),
                    Just(CalloutKind::Warning)
                ],
                proptest::option::of(txt()),
                blocks.clone()
            )
                .prop_map(|(kind, title, blocks)| Block::Callout(Callout {
                    kind,
                    title,
                    icon: None,
                    blocks,
                    params: Params::new(),
                    form: CalloutForm::Macro,
                    attrs: Attrs::new()
                })),
            (proptest::option::of(txt()), blocks.clone()).prop_map(
                |(title, blocks)| Block::Expand(Expand {
                    title,
                    blocks,
                    params: Params::new(),
                    attrs: Attrs::new()
                })
            ),
            (1usize..3, 1usize..3, blocks.clone(), any::<bool>()).prop_map(
                |(r, c, cell, header)| Block::Table(Table {
                    columns: None,
                    rows: (0..r)
                        .map(|ri| TableRow {
                            cells: (0..c)
                                .map(|_| TableCell {
                                    header: header && ri == 0,
                                    colspan: None,
                                    rowspan: None,
                                    blocks: cell.clone(),
                                    attrs: Attrs::new()
                                })
                                .collect(),
                            section: RowSection::Body,
                            attrs: Attrs::new()
                        })
                        .collect(),
                    attrs: Attrs::new()
                })
            ),
            (
                proptest::collection::vec(blocks.clone(), 1..3),
                any::<bool>()
            )
                .prop_map(|(cells, two)| Block::Layout(Layout {
                    sections: vec![LayoutSection {
                        kind: if two {
                            "two_equal".into()
                        } else {
                            "single".into()
                        },
                        cells: cells
                            .into_iter()
                            .map(|blocks| LayoutCell {
                                blocks,
                                width: None,
                                attrs: Attrs::new()
                            })
                            .collect(),
                        attrs: Attrs::new()
                    }],
                    attrs: Attrs::new()
                })),
            (proptest::collection::vec((any::<bool>(), inlines()), 1..3)).prop_map(|items| {
                Block::TaskList {
                    items: items
                        .into_iter()
                        .enumerate()
                        .map(|(i, (done, content))| TaskItem {
                            done,
                            id: Some((i + 1).to_string()),
                            uuid: None,
                            body: vec![Block::Plain { content }],
                            attrs: Attrs::new(),
                        })
                        .collect(),
                    attrs: Attrs::new(),
                }
            }),
            blocks.prop_map(|blocks| Block::PageProperties(PageProperties {
                blocks,
                params: Params::new(),
                attrs: Attrs::new()
            })),
        ]
    })
}

fn document() -> impl Strategy<Value = Document> {
    proptest::collection::vec(prop_oneof![4 => block(), 1 => plain()], 0..6).prop_map(|b| {
        Document {
            blocks: no_adjacent_plain(b),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `storage::read(storage::write(doc)) == doc` over documents in storage's expressible subset.
    #[test]
    fn storage_write_then_read_is_identity(doc in document()) {
        let out = storage::write(&doc);
        let back = storage::read(&out).map_err(|e| TestCaseError::fail(format!("{e}\n{out}")))?;
        prop_assert_eq!(&back, &doc, "written: {}", out);
        // The JSON form of the IR round-trips too.
        let json = serde_json::to_string(&doc).unwrap();
        let from_json: Document = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}\n{json}")))?;
        prop_assert_eq!(from_json, doc);
    }
}
