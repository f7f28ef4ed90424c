//! Names carried exactly between the services: page titles and attachment file names with
//! quotes, dots, slashes, reserved URL characters, non-ASCII and control characters go Notion →
//! Confluence → Notion. The Notion source is written with raw HTTP requests (not kbridge's
//! client), so the engine meets names it did not produce. On Confluence, every attachment is
//! stored under exactly the name the body references; back in Notion, every file keeps it.

use std::collections::{BTreeMap, BTreeSet};

use kb_confluence::{ContentKind, ContentQuery};
use kb_engine::migrate::{self, ConfluenceToNotion, NotionToConfluence};
use serde_json::{Value, json};

use crate::migrate::{notion, roots, space_key, twins};
use crate::support;

/// Names that broke some path between the services, or could.
const FILE_NAMES: &[&str] = &[
    "a \"quoted\" name.txt",
    "it's a 'single' one.txt",
    "dots..in..name.txt",
    "..",
    "50% off #1?&x=y.txt",
    "back\\slash.txt",
    "slash/in/name.txt",
    "tab\there.txt",
    "ünïcødé ✓ 文件.txt",
    "<angle> & amp;.txt",
    "trailing dot.",
    " leading space.txt",
];

const TITLES: &[&str] = &[
    "Quotes \"and\" 'apostrophes'",
    "Reserved #?&% / : characters",
    "Ünïcødé ✓ 标题 🎉",
    "<Angle> & entities &amp;",
];

async fn notion_post(sim: &kb_sim::SimHandle, path: &str, body: &Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{}/{path}", sim.notion_url()))
        .bearer_auth(sim.notion_token())
        .header("Notion-Version", "2025-09-03")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert!(status.is_success(), "POST {path}: {status} {v}");
    v
}

/// A file uploaded through the Notion API by hand: its upload id.
async fn upload(sim: &kb_sim::SimHandle, name: &str, bytes: Vec<u8>) -> String {
    let u = notion_post(
        sim,
        "file_uploads",
        &json!({"mode": "single_part", "filename": name, "content_type": "text/plain"}),
    )
    .await;
    let id = u["id"].as_str().unwrap().to_string();
    // The file part carries a plain name: the upload's name is the one given at creation.
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name("upload.txt")
        .mime_str("text/plain")
        .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/file_uploads/{id}/send", sim.notion_url()))
        .bearer_auth(sim.notion_token())
        .header("Notion-Version", "2025-09-03")
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "send {name}: {}", r.status());
    id
}

fn title_prop(t: &str) -> Value {
    json!({"title": {"title": [{"type": "text", "text": {"content": t}}]}})
}

fn paragraph(text: &str) -> Value {
    json!({"type": "paragraph", "paragraph": {"rich_text": [{"type": "text", "text": {"content": text}}]}})
}

/// The Notion source: one page per title under a new root; the first holds every file and a
/// link to each other page.
async fn source(sim: &kb_sim::SimHandle, under: &str) -> (String, Vec<String>, String) {
    let root = notion_post(
        sim,
        "pages",
        &json!({"parent": {"page_id": under}, "properties": title_prop("Names root")}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ids = Vec::new();
    for t in &TITLES[1..] {
        let p = notion_post(
            sim,
            "pages",
            &json!({"parent": {"page_id": root}, "properties": title_prop(t),
                    "children": [paragraph(&format!("The page {t}."))]}),
        )
        .await;
        ids.push(p["id"].as_str().unwrap().to_string());
    }
    // A mention of a Notion user, by the name Notion gives it.
    let users: Value = reqwest::Client::new()
        .get(format!("{}/users", sim.notion_url()))
        .bearer_auth(sim.notion_token())
        .header("Notion-Version", "2025-09-03")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let person = users["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["type"] == "person")
        .unwrap()
        .clone();
    let mut children = vec![
        paragraph("Files with odd names follow."),
        json!({"type": "paragraph", "paragraph": {"rich_text": [
            {"type": "text", "text": {"content": "Owner: "}},
            {"type": "mention", "mention": {"type": "user", "user": {"id": person["id"]}}}
        ]}}),
    ];
    for (i, name) in FILE_NAMES.iter().enumerate() {
        let id = upload(sim, name, format!("file {i}: {name}\n").into_bytes()).await;
        children.push(json!({"type": "file", "file": {"type": "file_upload",
            "file_upload": {"id": id}, "name": name}}));
    }
    for id in &ids {
        children.push(json!({"type": "paragraph", "paragraph": {"rich_text": [
            {"type": "text", "text": {"content": "See "}},
            {"type": "mention", "mention": {"type": "page", "page": {"id": id}}}
        ]}}));
    }
    let first = notion_post(
        sim,
        "pages",
        &json!({"parent": {"page_id": root}, "properties": title_prop(TITLES[0]),
                "children": children}),
    )
    .await;
    ids.insert(0, first["id"].as_str().unwrap().to_string());
    (root, ids, person["name"].as_str().unwrap().to_string())
}

/// Every `ri:filename` a storage body references.
fn referenced(storage: &str) -> BTreeSet<String> {
    let mut doc = kb_doc::storage::read(storage).unwrap();
    let mut out = BTreeSet::new();
    struct Names<'a>(&'a mut BTreeSet<String>);
    impl Names<'_> {
        fn target(&mut self, t: &kb_doc::LinkTarget) {
            if let kb_doc::LinkTarget::Attachment { filename, .. } = t {
                self.0.insert(filename.clone());
            }
        }
    }
    impl kb_doc::visit::VisitMut for Names<'_> {
        fn block(&mut self, b: &mut kb_doc::Block) {
            if let kb_doc::Block::File(f) = b {
                self.target(&f.target);
            }
        }
        fn inline(&mut self, i: &mut kb_doc::Inline) {
            if let kb_doc::Inline::Link(l) = i {
                self.target(&l.target);
            }
        }
    }
    kb_doc::visit::visit_document(&mut doc, &mut Names(&mut out));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_survive_notion_to_confluence_and_back() {
    let sim = twins(4, 2).await;
    let (n, c) = (notion(&sim), support::client(&sim));
    let under = roots(&n).await[0].clone();
    let (root, ids, user) = source(&sim, &under).await;
    let (key, space_id) = space_key(&c).await;
    let dir = tempfile::tempdir().unwrap();
    let store = support::sqlite(dir.path()).await;
    let opts = NotionToConfluence {
        from: vec![root.clone()],
        space: key.clone(),
        parent: None,
        plan_only: false,
        force: false,
    };
    let r = migrate::n2c::run(&store, &n, &c, &opts, None)
        .await
        .unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);

    // Confluence: the titles exactly, and each attachment under the name its body references.
    let pages = c
        .space_pages(&space_id, &ContentQuery::default())
        .unwrap()
        .all()
        .await
        .unwrap();
    let by_title: BTreeMap<&str, &str> = pages
        .iter()
        .map(|p| (p["title"].as_str().unwrap(), p["id"].as_str().unwrap()))
        .collect();
    for t in TITLES {
        assert!(
            by_title.contains_key(t),
            "no page titled {t:?}: {by_title:?}"
        );
    }
    let files_page = by_title[TITLES[0]];
    let body = c.page_with_body(files_page).await.unwrap();
    let storage = body["body"]["storage"]["value"].as_str().unwrap();
    // The Notion user is named, not a mention of an account Confluence does not have.
    assert!(storage.contains(&format!("Owner: @{user}")), "{storage}");
    assert!(!storage.contains("ri:user"), "{storage}");
    let refs = referenced(storage);
    let stored: BTreeSet<String> = c
        .content_attachments(ContentKind::Page, files_page)
        .unwrap()
        .all()
        .await
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(refs, stored, "referenced names = stored names");
    assert_eq!(stored.len(), FILE_NAMES.len(), "{stored:?}");
    let want: BTreeSet<String> = FILE_NAMES.iter().map(|s| s.to_string()).collect();
    assert_eq!(stored, want, "every name exactly");
    let parity = migrate::verify::notion_to_confluence(&store, &n, &c, &opts.from, &key)
        .await
        .unwrap();
    assert!(parity.ok, "{:#?}", parity.pages.iter().find(|p| !p.ok()));

    // And back: Confluence → a new Notion page keeps the titles and every file's name.
    let to = notion_post(
        &sim,
        "pages",
        &json!({"parent": {"page_id": under}, "properties": title_prop("Back from Confluence")}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let back = ConfluenceToNotion {
        space: None,
        page: Some(by_title["Names root"].to_string()),
        to: to.clone(),
        plan_only: false,
        force: false,
    };
    let r = migrate::c2n::run(&store, &n, &c, &back, None)
        .await
        .unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let nid = &r.ids[files_page];
    let blocks: Value = reqwest::Client::new()
        .get(format!(
            "{}/blocks/{nid}/children?page_size=100",
            sim.notion_url()
        ))
        .bearer_auth(sim.notion_token())
        .header("Notion-Version", "2025-09-03")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: BTreeSet<String> = blocks["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "file")
        .map(|b| b["file"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, want, "every file keeps its name in Notion");
    let mut titles = BTreeSet::new();
    for id in r.ids.values() {
        titles.insert(n.page(id).await.unwrap().title());
    }
    for t in TITLES {
        assert!(titles.contains(*t), "{t:?} not among {titles:?}");
    }
    assert_eq!(ids.len(), TITLES.len());
    sim.shutdown().await;
}
