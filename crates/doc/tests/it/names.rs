//! Names carried exactly through the codecs, for arbitrary Unicode: Notion JSON → IR → storage →
//! IR → Notion blocks, and storage → IR → Notion blocks → IR → storage, keep every page title a
//! link names, every file name, every user mention's name and every link target. Quotes, `..`,
//! `/`, `#?&%`, markup characters and control characters included (a control character XML
//! cannot hold is the one exception: it is written as U+FFFD, the same in every place, never
//! dropped silently and never an unreadable body).

use kb_doc::notion::{self, model};
use kb_doc::*;
use proptest::prelude::*;
use serde_json::{Value, json};

/// A name: arbitrary Unicode with the characters that broke paths before mixed in.
fn name() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        "\"", "'", "..", "/", "\\", "#", "?", "&", "%", "%20", "<", ">", "&amp;", "]]>", "\t",
        "\u{1}", "\u{7f}", "\u{200b}", "🎉", "文件", " ",
    ]);
    prop::collection::vec(
        prop_oneof![
            3 => "\\PC{1,6}".prop_map(|s| s),
            2 => special.prop_map(str::to_string),
        ],
        1..6,
    )
    .prop_map(|v| v.concat())
    .prop_filter("a name with a visible character", |s| {
        s.chars().any(|c| !c.is_whitespace() && !c.is_control())
    })
}

/// What XML 1.0 can hold of a name: the characters it forbids become U+FFFD.
fn xml_safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 => '\u{fffd}',
            '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

fn rt_text(s: &str) -> Value {
    json!({"type": "text", "text": {"content": s, "link": null}, "plain_text": s, "href": null,
           "annotations": {"bold": false, "italic": false, "strikethrough": false,
                           "underline": false, "code": false, "color": "default"}})
}

fn notion_page(file: &str, user: &str, title: &str, url_word: &str) -> Value {
    let enc: String = url_word
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let url = format!("https://example.com/a/{enc}?q={enc}#{enc}");
    json!([
        {"object": "block", "id": "b1", "type": "paragraph", "has_children": false,
         "paragraph": {"rich_text": [
            rt_text("See "),
            {"type": "mention", "plain_text": format!("@{user}"), "href": null,
             "annotations": {"bold": false, "italic": false, "strikethrough": false,
                             "underline": false, "code": false, "color": "default"},
             "mention": {"type": "user", "user": {"object": "user", "id": "0c5f3b0e-1111-4222-8333-444455556666", "name": user}}},
            rt_text(" and "),
            {"type": "mention", "plain_text": title, "href": "https://www.notion.so/1a2b3c4d5e6f47788899aabbccddeeff",
             "annotations": {"bold": false, "italic": false, "strikethrough": false,
                             "underline": false, "code": false, "color": "default"},
             "mention": {"type": "page", "page": {"id": "1a2b3c4d-5e6f-4778-8899-aabbccddeeff"}}},
            {"type": "text", "text": {"content": "link", "link": {"url": url}}, "plain_text": "link", "href": url,
             "annotations": {"bold": false, "italic": false, "strikethrough": false,
                             "underline": false, "code": false, "color": "default"}}
         ], "color": "default"}},
        {"object": "block", "id": "b2", "type": "file", "has_children": false,
         "file": {"type": "external", "external": {"url": "https://files.example.com/x/blob.bin"},
                  "name": file, "caption": []}}
    ])
}

/// The names a document carries: link targets (URLs, page titles/ids, attachment names), the
/// file names of file blocks, and user mentions' names.
#[derive(Debug, Default, PartialEq)]
struct Names {
    urls: Vec<String>,
    pages: Vec<String>,
    files: Vec<String>,
    text: String,
}

fn names_of_notion(blocks: &[Value]) -> Names {
    let mut n = Names::default();
    for b in blocks {
        let kind = b["type"].as_str().unwrap_or("");
        if kind == "file" {
            n.files
                .push(b["file"]["name"].as_str().unwrap_or("").to_string());
        }
        for r in b[kind]["rich_text"].as_array().into_iter().flatten() {
            if let Some(u) = r["text"]["link"]["url"].as_str() {
                // A link to a Notion page by id (`/<id>`) names that page.
                match u.strip_prefix('/') {
                    Some(id) if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) => {
                        n.pages.push(id.to_string())
                    }
                    _ => n.urls.push(u.to_string()),
                }
            }
            if let Some(id) = r["mention"]["page"]["id"].as_str() {
                n.pages.push(id.replace('-', ""));
            }
            if r["type"] == "text" {
                n.text.push_str(r["text"]["content"].as_str().unwrap_or(""));
            } else {
                n.text.push_str(r["plain_text"].as_str().unwrap_or(""));
            }
        }
    }
    n
}

fn notion_out(doc: &Document) -> Vec<Value> {
    notion::blocks(doc)
        .blocks
        .iter()
        .map(notion::request_block)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Notion → IR → storage → IR → Notion keeps the file name, the user's name, the page
    /// mentioned and the link target.
    #[test]
    fn notion_names_survive_storage(file in name(), user in name(), title in name(), word in name()) {
        let input = notion_page(&file, &user, &title, &word);
        let doc = notion::read_json(&input.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let xml = storage::write(&doc);
        let back = storage::read(&xml).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        let out = notion_out(&back);
        let got = names_of_notion(&out);
        let blocks: Vec<Value> = input.as_array().unwrap().clone();
        let want = names_of_notion(&blocks);
        // Storage has no file block: an external file is a link whose text is its name.
        prop_assert!(got.files == vec![xml_safe(&file)] || got.text.contains(&xml_safe(&file)),
            "file {:?} lost: {:?}; storage: {}", file, got, xml);
        let mut want_urls = want.urls.clone();
        want_urls.push("https://files.example.com/x/blob.bin".into());
        prop_assert_eq!(&got.urls, &want_urls, "storage: {}", xml);
        prop_assert_eq!(&got.pages, &want.pages, "storage: {}", xml);
        prop_assert!(got.text.contains(&xml_safe(&user)), "user {:?} not in {:?}; storage: {}", user, got.text, xml);
        // And straight from the IR, without storage between: exact.
        let direct = names_of_notion(&notion_out(&doc));
        prop_assert_eq!(&direct.files, &vec![file.clone()]);
        prop_assert!(direct.text.contains(&user), "user {:?} not in {:?}", user, direct.text);
    }

    /// Storage → IR → Notion keeps page titles and attachment names: the Notion writer lists
    /// each attachment under its exact name (the migration uploads it under that name) and
    /// shows a page it cannot link by its title.
    #[test]
    fn storage_names_survive_notion(file in name(), title in name(), key in "[A-Z][A-Z0-9]{0,5}") {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('"', "&quot;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('\t', "&#9;")
                .replace('\n', "&#10;")
        };
        let file = xml_safe(&file).replace('\r', "");
        let title = xml_safe(&title).replace('\r', "");
        let xml = format!(
            "<p><ac:link><ri:page ri:space-key=\"{key}\" ri:content-title=\"{}\" /></ac:link> \
             <ac:link><ri:attachment ri:filename=\"{}\" /></ac:link></p>\
             <p><ac:image><ri:attachment ri:filename=\"{}\" /></ac:image></p>",
            esc(&title), esc(&file), esc(&file)
        );
        let doc = storage::read(&xml).map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        let nb = notion::blocks(&doc);
        let names: Vec<&str> = nb
            .attachments
            .iter()
            .filter_map(|a| match &a.source {
                notion::AttachmentSource::Attachment { filename, .. } => Some(filename.as_str()),
                notion::AttachmentSource::Url { .. } => None,
            })
            .collect();
        prop_assert!(!names.is_empty() && names.iter().all(|n| *n == file), "{:?} for {:?}", names, file);
        let out = notion_out(&doc);
        let got = names_of_notion(&out);
        prop_assert!(got.text.contains(&title), "title {:?} not in {:?}", title, got.text);
        // Every block is one Notion accepts as JSON, read back by the Notion reader.
        for b in &out {
            let _: model::Block = serde_json::from_value(b.clone()).map_err(|e| TestCaseError::fail(format!("{e}: {b}")))?;
        }
    }
}
