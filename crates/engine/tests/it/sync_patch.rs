//! The Notion block patch, as a pure function: applied to a model of a page's blocks (ids and
//! texts, with Notion's rules: `after` names a predecessor, no insert before the first block),
//! it always leaves the page showing the document, keeps every block it can, and never touches
//! a child page.

use kb_doc::notion::model::Block;
use kb_engine::sync::patch::{Step, plan};
use proptest::prelude::*;
use serde_json::{Value, json};

fn para(id: Option<&str>, text: &str) -> Block {
    let mut v = json!({
        "object": "block", "type": "paragraph", "has_children": false,
        "paragraph": {"rich_text": [{"type": "text", "text": {"content": text}, "plain_text": text}]},
    });
    if let Some(id) = id {
        v["id"] = json!(id);
    }
    serde_json::from_value(v).unwrap()
}

fn child_page(id: &str, title: &str) -> Block {
    serde_json::from_value(json!({
        "object": "block", "id": id, "type": "child_page", "has_children": false,
        "child_page": {"title": title},
    }))
    .unwrap()
}

fn doc(texts: &[&str]) -> kb_doc::Document {
    let blocks: Vec<Block> = texts.iter().map(|t| para(None, t)).collect();
    kb_doc::notion::read_blocks(&blocks)
}

/// A page as Notion holds it: (id, text) in order.
type Page = Vec<(String, String)>;

fn text_of_request(b: &Block) -> String {
    let v = kb_doc::notion::request_block(b);
    let kind = v["type"].as_str().unwrap().to_string();
    v[&kind]["rich_text"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|t| t["text"]["content"].as_str().unwrap_or(""))
                .collect()
        })
        .unwrap_or_else(|| format!("<{kind}>"))
}

/// Applies `steps` as Notion would; new blocks get ids `new-N`.
fn apply(page: &mut Page, steps: &[Step]) {
    let mut n = 0;
    for s in steps {
        match s {
            Step::Update { id, body } => {
                let kind = body.as_object().unwrap().keys().next().unwrap().clone();
                let text: String = body[&kind]["rich_text"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t: &Value| t["text"]["content"].as_str().unwrap().to_string())
                    .collect();
                let b = page
                    .iter_mut()
                    .find(|(i, _)| i == id)
                    .expect("updates a block there");
                b.1 = text;
            }
            Step::Delete { id } => {
                let at = page
                    .iter()
                    .position(|(i, _)| i == id)
                    .expect("deletes a block there");
                page.remove(at);
            }
            Step::Insert { after, blocks } => {
                let at = match after {
                    Some(a) => {
                        page.iter()
                            .position(|(i, _)| i == a)
                            .expect("after a block there")
                            + 1
                    }
                    None => {
                        assert!(
                            page.is_empty(),
                            "an insert without predecessor goes at the end: only right on an empty page"
                        );
                        0
                    }
                };
                for (k, b) in blocks.iter().enumerate() {
                    n += 1;
                    page.insert(at + k, (format!("new-{n}"), text_of_request(b)));
                }
            }
        }
    }
}

fn current(texts: &[&str]) -> (Vec<Block>, Page) {
    let blocks = texts
        .iter()
        .enumerate()
        .map(|(i, t)| para(Some(&format!("b{i}")), t))
        .collect();
    let page = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("b{i}"), t.to_string()))
        .collect();
    (blocks, page)
}

fn texts(page: &Page) -> Vec<String> {
    page.iter().map(|(_, t)| t.clone()).collect()
}

#[test]
fn an_unchanged_page_needs_nothing_and_an_edit_is_one_update_in_place() {
    let (blocks, _) = current(&["one", "two", "three"]);
    assert!(plan(&blocks, &doc(&["one", "two", "three"])).is_empty());
    let p = plan(&blocks, &doc(&["one", "two edited", "three"]));
    assert_eq!(p.steps.len(), 1, "{:?}", p.steps);
    assert!(matches!(&p.steps[0], Step::Update { id, .. } if id == "b1"));
    assert_eq!(p.kept, 2);
}

#[test]
fn inserts_go_after_their_predecessor_and_at_the_top_the_first_block_makes_room() {
    let (blocks, mut page) = current(&["one", "two"]);
    let p = plan(&blocks, &doc(&["one", "one and a half", "two"]));
    assert_eq!(p.steps.len(), 1);
    assert!(matches!(&p.steps[0], Step::Insert { after: Some(a), .. } if a == "b0"));
    apply(&mut page, &p.steps);
    assert_eq!(texts(&page), ["one", "one and a half", "two"]);

    let (blocks, mut page) = current(&["one", "two"]);
    let p = plan(&blocks, &doc(&["zero", "one", "two"]));
    apply(&mut page, &p.steps);
    assert_eq!(texts(&page), ["zero", "one", "two"]);
    assert!(
        page.iter().any(|(id, _)| id == "b1"),
        "the rest keep their ids"
    );
}

#[test]
fn a_child_page_block_is_never_touched() {
    let blocks = vec![
        para(Some("b0"), "intro"),
        child_page("c1", "Subpage"),
        para(Some("b2"), "outro"),
    ];
    // The document as the other side shows it: no child-page block at all.
    let p = plan(&blocks, &doc(&["intro edited", "outro"]));
    for s in &p.steps {
        match s {
            Step::Update { id, .. } | Step::Delete { id } => assert_ne!(id, "c1", "{s:?}"),
            Step::Insert { .. } => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn the_patched_page_shows_the_document(
        have in prop::collection::vec("[a-d]{1,2}", 0..8),
        want in prop::collection::vec("[a-d]{1,2}", 0..8),
    ) {
        let have_refs: Vec<&str> = have.iter().map(String::as_str).collect();
        let want_refs: Vec<&str> = want.iter().map(String::as_str).collect();
        let (blocks, mut page) = current(&have_refs);
        let p = plan(&blocks, &doc(&want_refs));
        apply(&mut page, &p.steps);
        prop_assert_eq!(texts(&page), want.clone());
        // Never more writes than replacing every block.
        prop_assert!(p.steps.len() <= have.len() + want.len().max(1));
        // Blocks whose text did not change keep their ids when nothing moved around them.
        if have == want {
            prop_assert!(p.steps.is_empty());
        }
    }
}
