//! Notion → Markdown and storage keep what the input carries (issue 11, item 11): the title of
//! a `link_to_page` target when the input (or the caller) knows it, a readable, reported link
//! when nothing does, and the page properties table with the title property and people names.

use kb_doc::notion::{self, model};
use kb_doc::*;
use serde_json::json;

const LINKED: &str = "2712e341-754a-4b6f-9c3d-8e0f1a2b3c4d";
const UNKNOWN: &str = "9c0ffee0-0000-4000-8000-00000000beef";

fn rt(s: &str) -> serde_json::Value {
    json!([{"type": "text", "text": {"content": s}, "plain_text": s}])
}

fn page() -> model::Page {
    serde_json::from_value(json!({
        "object": "page", "id": "11111111-2222-4333-8444-555555555555",
        "properties": {
            "Name": {"id": "title", "type": "title", "title": rt("Release plan")},
            "Owner": {"id": "p%3Ao", "type": "people", "people": [
                {"object": "user", "id": "5a1e0c9e-0000-4000-8000-000000000001", "name": "Ada Lovelace"},
                {"object": "user", "id": "5a1e0c9e-0000-4000-8000-000000000002", "name": "Grace Hopper"}
            ]},
            "Status": {"id": "s", "type": "select", "select": {"name": "Draft", "color": "gray"}}
        },
        "children": [
            {"object": "block", "id": LINKED, "type": "child_page", "has_children": false,
             "child_page": {"title": "Launch checklist"}},
            {"object": "block", "id": "a1", "type": "link_to_page", "has_children": false,
             "link_to_page": {"type": "page_id", "page_id": LINKED}},
            {"object": "block", "id": "a2", "type": "link_to_page", "has_children": false,
             "link_to_page": {"type": "page_id", "page_id": UNKNOWN}}
        ]
    }))
    .unwrap()
}

#[test]
fn link_to_page_carries_the_title_the_input_has() {
    let doc = notion::read_page(&page());
    let md = markdown::write(&doc);
    // Once for the child page itself, once for the link to it.
    assert_eq!(
        md.matches("[Launch checklist](Launch%20checklist.md)")
            .count(),
        2,
        "the linked page's title, from the child_page block of the same input: {md}"
    );
    assert!(!md.contains(&format!("[{LINKED}]")), "{md}");
    let st = storage::write(&doc);
    assert_eq!(
        st.matches("ri:content-title=\"Launch checklist\"").count(),
        2,
        "{st}"
    );
}

#[test]
fn link_to_page_without_a_title_is_a_readable_reported_link() {
    let doc = notion::read_page(&page());
    let w = markdown::write_report(&doc);
    let plain = UNKNOWN.replace('-', "");
    assert!(
        !w.output.contains("?pageId="),
        "not a dead `?pageId=` link: {}",
        w.output
    );
    assert!(
        w.output
            .contains(&format!("(https://www.notion.so/{plain})")),
        "a link that opens the page in Notion: {}",
        w.output
    );
    assert!(
        w.fallbacks
            .iter()
            .any(|f| f.node == "link:notion_page" && f.rendered_as.contains(UNKNOWN)),
        "and says so: {:?}",
        w.fallbacks
    );
}

#[test]
fn page_properties_show_the_title_and_people_names() {
    let doc = notion::read_page(&page());
    for (name, out) in [
        ("markdown", markdown::write(&doc)),
        ("storage", storage::write(&doc)),
    ] {
        assert!(
            out.contains("Name"),
            "{name}: the title property's row: {out}"
        );
        assert!(out.contains("Release plan"), "{name}: the title: {out}");
        assert!(
            out.contains("Ada Lovelace") && out.contains("Grace Hopper"),
            "{name}: people by name: {out}"
        );
        if name == "markdown" {
            assert!(!out.contains("5a1e0c9e"), "{name}: not by id: {out}");
        } else {
            // A Notion user is no Confluence account: storage shows the name as text, never a
            // `ri:user` with a Notion id (an unknown user in Confluence).
            assert!(out.contains("@Ada Lovelace, @Grace Hopper"), "{out}");
            assert!(!out.contains("ri:user"), "{out}");
        }
    }
}
#[test]
fn a_title_resolver_names_pages_the_input_does_not() {
    let resolve = |id: &str| (id == UNKNOWN).then(|| "Found elsewhere".to_string());
    let doc = notion::read_page_with(
        &page(),
        &notion::ReadOptions {
            page_title: Some(&resolve),
        },
    );
    let md = markdown::write(&doc);
    assert!(md.contains("[Found elsewhere]"), "{md}");
    assert!(md.contains("[Launch checklist]"), "{md}");
}
