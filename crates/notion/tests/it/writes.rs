//! Writes: a real page of the twin read, written back through an append plan (uploads
//! included) and read again gives the same IR; a document too big for one request; pages and
//! blocks edited.

use std::collections::HashMap;

use kb_doc::notion::model::Block;
use kb_doc::notion::{AppendPlan, AttachmentSource, BlockRef, PlanParent, plan, read_blocks};
use kb_notion::{NewPage, Notion, NotionError, NotionVersion, PlanProgress};
use serde_json::{Value, json};

use super::support::{Truth, Twin, comparable};

fn title(t: &str) -> Value {
    json!({"title": {"title": [{"type": "text", "text": {"content": t}}]}})
}

fn has(blocks: &[Block], kind: &str) -> bool {
    blocks
        .iter()
        .any(|b| b.kind == kind || has(&b.children, kind))
}

/// Downloads and uploads every attachment of the plan: placeholder → upload id.
async fn upload_all(notion: &Notion, plan: &AppendPlan) -> HashMap<String, String> {
    let mut uploads = HashMap::new();
    for a in &plan.attachments {
        let AttachmentSource::Url { url } = &a.source else {
            panic!("a Notion page's attachments are hosted files: {a:?}");
        };
        let bytes = notion.download(url).await.unwrap();
        let name = url::Url::parse(url)
            .unwrap()
            .path_segments()
            .unwrap()
            .next_back()
            .unwrap()
            .to_string();
        let ct = if name.ends_with(".png") {
            "image/png"
        } else if name.ends_with(".pdf") {
            "application/pdf"
        } else {
            "application/octet-stream"
        };
        let id = notion.upload(&name, ct, &bytes).await.unwrap();
        uploads.insert(a.placeholder.clone(), id);
    }
    uploads
}

fn home(truth: &Truth) -> String {
    truth
        .pages()
        .into_iter()
        .find(|p| p["parent"]["type"] == "workspace")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_twin_page_round_trips_through_an_append_plan_with_its_image() {
    let twin = Twin::small().await;
    let truth = twin.truth().await;
    for v in [NotionVersion::V2025_09_03, NotionVersion::V2022_06_28] {
        let notion = twin.client(v);
        // A page with an image; its child pages are separate documents.
        let mut source = None;
        for p in truth.pages() {
            let tree = notion.block_tree(p["id"].as_str().unwrap()).await.unwrap();
            if has(&tree, "image") {
                source = Some(tree);
                break;
            }
        }
        let tree: Vec<Block> = source
            .expect("a page with an image")
            .into_iter()
            .filter(|b| !matches!(b.kind.as_str(), "child_page" | "child_database"))
            .collect();
        let doc = read_blocks(&tree);
        let p = plan(&doc, PlanParent::NewPage);
        assert!(!p.attachments.is_empty(), "the image is an attachment");
        // Without its uploads the plan is refused before anything is written.
        let before = notion.stats().snapshot().requests;
        let e = notion
            .execute_plan(
                &p,
                Some(NewPage {
                    parent: json!({"page_id": home(&truth)}),
                    properties: title("Round trip"),
                    icon: None,
                }),
                &HashMap::new(),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, NotionError::Plan(_)), "{e}");
        assert!(e.to_string().contains(&p.attachments[0].placeholder), "{e}");
        assert_eq!(notion.stats().snapshot().requests, before);

        let uploads = upload_all(&notion, &p).await;
        let out = notion
            .execute_plan(
                &p,
                Some(NewPage {
                    parent: json!({"page_id": home(&truth)}),
                    properties: title("Round trip"),
                    icon: Some(json!({"type": "emoji", "emoji": "🔁"})),
                }),
                &uploads,
            )
            .await
            .unwrap();
        assert_eq!(out.requests, p.requests.len());
        let back = notion.block_tree(&out.page_id).await.unwrap();
        assert_eq!(out.blocks, super::support::count(&back), "{v}");
        assert_eq!(
            comparable(&read_blocks(&back)),
            comparable(&doc),
            "{v}: the IR read back differs"
        );
        let page = notion.page(&out.page_id).await.unwrap();
        assert_eq!(page.title(), "Round trip");
        // The image is a hosted file with the uploaded bytes.
        let img = find(&back, "image").unwrap();
        let url = &img.data.as_ref().unwrap().file.as_ref().unwrap().url;
        let src = find(&tree, "image").unwrap();
        let src_url = &src.data.as_ref().unwrap().file.as_ref().unwrap().url;
        assert_eq!(
            notion.download(url).await.unwrap(),
            notion.download(src_url).await.unwrap()
        );
    }
}

fn find<'a>(blocks: &'a [Block], kind: &str) -> Option<&'a Block> {
    blocks.iter().find_map(|b| {
        if b.kind == kind {
            Some(b)
        } else {
            find(&b.children, kind)
        }
    })
}

/// Markdown for a document that needs several requests: 150 paragraphs and a list nested six
/// deep (two levels per request at most).
fn big_markdown() -> String {
    let mut md = String::from("# A long page\n\n");
    for i in 0..150 {
        md.push_str(&format!("Paragraph {i} with **bold** and `code`.\n\n"));
    }
    for i in 0..3 {
        for depth in 0..6 {
            md.push_str(&format!(
                "{}- item {i} at depth {depth}\n",
                "  ".repeat(depth)
            ));
        }
    }
    md.push_str("\nThe end.\n");
    md
}

#[tokio::test]
async fn a_big_document_needs_follow_up_requests_to_created_blocks() {
    let twin = Twin::small().await;
    let truth = twin.truth().await;
    let notion = twin.client(NotionVersion::V2025_09_03);
    let doc = kb_doc::markdown::read(&big_markdown());
    let intended = read_blocks(&kb_doc::notion::blocks(&doc).blocks);

    // Into a new page.
    let p = plan(&doc, PlanParent::NewPage);
    let deep = p.requests.iter().any(|r| {
        matches!(&r.target, BlockRef::Created { request, path } if *request < p.requests.len() && path.len() >= 2)
    });
    assert!(p.requests.len() >= 3 && deep, "{:#?}", p.requests.len());
    let out = notion
        .execute_plan(
            &p,
            Some(NewPage {
                parent: json!({"page_id": home(&truth)}),
                properties: title("Big"),
                icon: None,
            }),
            &HashMap::new(),
        )
        .await
        .unwrap();
    let back = notion.block_tree(&out.page_id).await.unwrap();
    assert_eq!(comparable(&read_blocks(&back)), comparable(&intended));
    assert_eq!(out.blocks, super::support::count(&back));

    // Into an existing page that already has a block: the plan's blocks come after it.
    let page = notion
        .create_page(
            json!({"page_id": home(&truth)}),
            title("Existing"),
            vec![json!({"type": "paragraph", "paragraph": {"rich_text": [{"type": "text", "text": {"content": "First."}}]}})],
        )
        .await
        .unwrap();
    let p = plan(
        &doc,
        PlanParent::PageId {
            page_id: page.id.clone(),
        },
    );
    let out = notion
        .execute_plan(&p, None, &HashMap::new())
        .await
        .unwrap();
    assert_eq!(out.page_id, page.id);
    let back = notion.block_tree(&page.id).await.unwrap();
    assert_eq!(back[0].kind, "paragraph");
    assert_eq!(comparable(&read_blocks(&back[1..])), comparable(&intended));
    // Stopped after two requests, the saved progress resumes to the same page.
    let p = plan(&doc, PlanParent::NewPage);
    let mut progress = PlanProgress::default();
    let first = notion
        .execute_plan_resumable(
            &p,
            Some(NewPage {
                parent: json!({"page_id": home(&truth)}),
                properties: title("Resumed"),
                icon: None,
            }),
            &HashMap::new(),
            &mut progress,
            &mut |pr| pr.done() < 2,
        )
        .await
        .unwrap();
    assert_eq!(first.requests, 2);
    let saved = serde_json::to_string(&progress).unwrap();
    let mut progress: PlanProgress = serde_json::from_str(&saved).unwrap();
    let mut steps = 0;
    let out = notion
        .execute_plan_resumable(&p, None, &HashMap::new(), &mut progress, &mut |_| {
            steps += 1;
            true
        })
        .await
        .unwrap();
    assert_eq!(out.page_id, first.page_id);
    assert_eq!(out.requests, p.requests.len());
    assert_eq!(steps, p.requests.len() - 2);
    let back = notion.block_tree(&out.page_id).await.unwrap();
    assert_eq!(comparable(&read_blocks(&back)), comparable(&intended));
    assert_eq!(out.blocks, super::support::count(&back));
    // Progress of another plan is refused.
    let small = plan(&kb_doc::markdown::read("one\n"), PlanParent::NewPage);
    let e = notion
        .execute_plan_resumable(&small, None, &HashMap::new(), &mut progress, &mut |_| true)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not from this plan"), "{e}");

    // A plan that creates a page needs the page.
    let p = plan(&doc, PlanParent::NewPage);
    let e = notion
        .execute_plan(&p, None, &HashMap::new())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("NewPage"), "{e}");
}

#[tokio::test]
async fn pages_and_blocks_are_edited_and_deleted() {
    let twin = Twin::small().await;
    let truth = twin.truth().await;
    let notion = twin.client(NotionVersion::V2025_09_03);
    let page = notion
        .create_page(json!({"page_id": home(&truth)}), title("Scratch"), vec![])
        .await
        .unwrap();
    let made = notion
        .append_children(
            &page.id,
            vec![
                json!({"type": "paragraph", "paragraph": {"rich_text": [{"type": "text", "text": {"content": "one"}}]}}),
                json!({"type": "to_do", "to_do": {"rich_text": [{"type": "text", "text": {"content": "two"}}], "checked": true}}),
            ],
        )
        .await
        .unwrap();
    assert_eq!(made.len(), 2);
    assert_eq!(made[1].kind, "to_do");
    notion
        .delete_block(made[0].id.as_deref().unwrap())
        .await
        .unwrap();
    let kids = notion.children(&page.id).await.unwrap();
    assert_eq!(kids.len(), 1);
    assert_eq!(kids[0].id, made[1].id);
    let renamed = notion
        .update_page(&page.id, json!({"properties": title("Renamed")}))
        .await
        .unwrap();
    assert_eq!(renamed.title(), "Renamed");
    let trashed = notion
        .update_page(&page.id, json!({"in_trash": true}))
        .await
        .unwrap();
    assert!(trashed.in_trash || trashed.archived);
    // A row in a database: the parent per version.
    let db = &truth.raw["databases"][0];
    let ds = db["data_source_id"].as_str().unwrap();
    let title_prop = db["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"] == "title")
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    let mut props = serde_json::Map::new();
    props.insert(
        title_prop,
        json!({"title": [{"text": {"content": "New row"}}]}),
    );
    let row = notion
        .create_page(
            json!({"type": "data_source_id", "data_source_id": ds}),
            Value::Object(props),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(row.title(), "New row");
    let d = notion.database(db["id"].as_str().unwrap()).await.unwrap();
    let rows = notion.database_rows(&d).await.unwrap();
    assert!(rows.iter().any(|r| r.id == row.id));
}
