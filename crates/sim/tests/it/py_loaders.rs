//! The document loaders people point at Confluence, unmodified, against the twin, in venvs made
//! as the atlassian-python-api test makes its own (`python_client.rs`; pinned requirements under
//! `tests/clients/{langchain,llamaindex}`; `SKIPPED` without python3 or an index, a failure
//! under `KBRIDGE_REQUIRE_CORPUS=1`):
//!
//! - langchain-community's `ConfluenceLoader` over a space with `include_comments=True` and
//!   `include_attachments=True`: its PDF path renders the generated PDFs with poppler and reads
//!   them back with tesseract (both Debian packages `.ci/run` installs), so the PDFs' text must
//!   survive a real rasteriser and OCR; DOCX through docx2txt, images through tesseract;
//! - llama-index-readers-confluence's `ConfluenceReader` in its default mode (a space's pages
//!   with `body.export_view`), then a page's subtree with `include_children=True` (the
//!   `child/page` and `child/folder` walks).
//!
//! The scripts compare what they load with the ground truth the test computes from the twin's
//! dataset (and from the files' bytes through lopdf and zip), never with the twin's answers.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::process::Command;

use serde_json::{Value, json};

use crate::python_client::{client_dir, ensure_venv_for, run, skip_or_fail_for};
use crate::support::{ADMIN, Twin};

/// The venv's python for client `name`, or `None` after `skip_or_fail`.
async fn venv(name: &'static str, what: &str, tools: &[&str]) -> Option<std::path::PathBuf> {
    if run(Command::new("python3").arg("--version")).is_err() {
        skip_or_fail_for(what, "python3 is not installed");
        return None;
    }
    for t in tools {
        if run(Command::new(t).arg("-v")).is_err() && run(Command::new(t).arg("--version")).is_err()
        {
            skip_or_fail_for(what, &format!("{t} is not installed (see .ci/run)"));
            return None;
        }
    }
    let reqs = client_dir(name).join("requirements.txt");
    match tokio::task::spawn_blocking(move || ensure_venv_for(name, &reqs))
        .await
        .expect("join")
    {
        Ok(p) => Some(p),
        Err(e) => {
            skip_or_fail_for(what, &format!("cannot prepare the venv: {e}"));
            None
        }
    }
}

/// Runs `script` of client `name` with the expectations; returns stdout, panics on failure.
async fn run_script(
    python: std::path::PathBuf,
    name: &str,
    script: &str,
    twin: &Twin,
    expected: &Value,
) -> String {
    let file = std::env::temp_dir().join(format!(
        "kbridge-{name}-{}-{}.json",
        std::process::id(),
        twin.handle.addr().port()
    ));
    std::fs::write(&file, serde_json::to_vec(expected).unwrap()).expect("write expected");
    let script = client_dir(name).join(script);
    let out = tokio::task::spawn_blocking(move || {
        let out = Command::new(python)
            .arg(&script)
            .arg(&file)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .output()
            .expect("run the script");
        let _ = std::fs::remove_file(&file);
        out
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} disagrees with the ground truth ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Words (letters only, 4 or more) of the text nodes of a storage body, tags as spaces;
/// CDATA sections and macro parameters left out.
fn storage_words(body: &str) -> Vec<String> {
    let mut text = String::new();
    let mut rest = body;
    while let Some(i) = rest.find('<') {
        text.push_str(&rest[..i]);
        text.push(' ');
        rest = &rest[i..];
        let end = if rest.starts_with("<![CDATA[") {
            rest.find("]]>").map(|e| e + 3)
        } else if rest.starts_with("<ac:parameter") {
            rest.find("</ac:parameter>").map(|e| e + 15)
        } else {
            rest.find('>').map(|e| e + 1)
        };
        rest = &rest[end.unwrap_or(rest.len())..];
    }
    text.push_str(rest);
    text.split_whitespace()
        .filter(|w| w.chars().count() >= 4 && w.chars().all(char::is_alphabetic))
        .map(str::to_string)
        .collect()
}

fn current_body(c: &Value) -> String {
    c["versions"].as_array().unwrap().last().unwrap()["body"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn download(twin: &Twin, a: &Value) -> Vec<u8> {
    let path = format!(
        "/wiki/download/attachments/{}/{}",
        a["containerId"],
        a["title"].as_str().unwrap()
    );
    let r = twin
        .http
        .get(twin.url(&path))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.bytes().await.unwrap().to_vec()
}

const PDF: &str = "application/pdf";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

fn ascii_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 4)
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn langchain_confluence_loader_reads_pages_comments_and_attachments() {
    let what = "langchain ConfluenceLoader";
    let Some(python) = venv("langchain", what, &["tesseract", "pdftoppm"]).await else {
        return;
    };
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let contents = d["contents"].as_array().unwrap();
    let attachments = d["attachments"].as_array().unwrap();
    let comments = d["comments"].as_array().unwrap();
    let public = |c: &Value| {
        c["type"] == "page"
            && c["status"] == "current"
            && c["restrictions"]["read"]["users"]
                .as_array()
                .unwrap()
                .is_empty()
            && c["restrictions"]["read"]["groups"]
                .as_array()
                .unwrap()
                .is_empty()
    };
    let files_of = |c: &Value, mt: &str| -> Vec<Value> {
        attachments
            .iter()
            .filter(|a| {
                a["containerId"] == c["id"] && a["status"] == "current" && a["mediaType"] == mt
            })
            .cloned()
            .collect()
    };
    let footer_of = |c: &Value| -> Vec<Value> {
        comments
            .iter()
            .filter(|x| {
                x["containerId"] == c["id"] && x["status"] == "current" && x["type"] == "footer"
            })
            .cloned()
            .collect()
    };
    // The first space with a public page holding a PDF, one holding a DOCX and one with
    // footer comments.
    let space = d["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            let mine: Vec<&Value> = contents
                .iter()
                .filter(|c| c["spaceId"] == s["id"] && public(c))
                .collect();
            mine.iter().any(|c| !files_of(c, PDF).is_empty())
                && mine.iter().any(|c| !files_of(c, DOCX).is_empty())
                && mine.iter().any(|c| !footer_of(c).is_empty())
        })
        .expect("a space with PDFs, DOCX files and comments");
    let mine: Vec<&Value> = contents
        .iter()
        .filter(|c| c["spaceId"] == space["id"] && public(c))
        .collect();
    let pages: BTreeMap<String, Value> = mine
        .iter()
        .map(|c| (c["id"].to_string(), c["title"].clone()))
        .collect();
    let mut checks = Vec::new();
    let mut ocr = Vec::new();
    let pdf_page = mine.iter().find(|c| !files_of(c, PDF).is_empty()).unwrap();
    for a in files_of(pdf_page, PDF) {
        let bytes = download(&twin, &a).await;
        let doc = lopdf::Document::load_mem(&bytes).expect("a PDF");
        let text = doc.extract_text(&[1]).expect("PDF text");
        let words = ascii_words(&text);
        assert!(words.len() >= 3, "{text}");
        ocr.push(json!({"id": pdf_page["id"].to_string(), "words": words}));
        checks.push(json!({"id": pdf_page["id"].to_string(), "words": [a["title"]], "what": "PDF attachment title"}));
    }
    let docx_page = mine.iter().find(|c| !files_of(c, DOCX).is_empty()).unwrap();
    for a in files_of(docx_page, DOCX) {
        let bytes = download(&twin, &a).await;
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
        let mut xml = String::new();
        z.by_name("word/document.xml")
            .unwrap()
            .read_to_string(&mut xml)
            .unwrap();
        let words: Vec<String> = storage_words(&xml).into_iter().take(12).collect();
        assert!(!words.is_empty(), "{xml}");
        checks
            .push(json!({"id": docx_page["id"].to_string(), "words": words, "what": "DOCX text"}));
    }
    let commented = mine.iter().find(|c| !footer_of(c).is_empty()).unwrap();
    for x in footer_of(commented) {
        let words: Vec<String> = storage_words(&current_body(&x))
            .into_iter()
            .take(8)
            .collect();
        checks.push(
            json!({"id": commented["id"].to_string(), "words": words, "what": "comment text"}),
        );
    }
    let expected = json!({
        "url": twin.base,
        "username": ADMIN.0,
        "password": ADMIN.1,
        "space": space["key"],
        "pages": pages,
        "checks": checks,
        "ocr": ocr,
    });
    let stdout = run_script(python, "langchain", "loader.py", &twin, &expected).await;
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok: ")).count(),
        3 + checks.len() + ocr.len(),
        "every check ran:\n{stdout}"
    );
    // It read comments with the view representation and downloaded the files.
    let stats = twin.stats().await;
    let ok = |route: &str| crate::support::ok_count(&stats, route);
    assert!(
        ok("/wiki/rest/api/content/{id}/child/{kind}") >= pages.len() as u64,
        "{stats}"
    );
    assert!(ok("/wiki/download/attachments/{id}/{name}") >= 2, "{stats}");
    assert!(
        ok("/wiki/rest/api/content/{id}/restriction/byOperation") >= 1
            || ok("/wiki/rest/api/content/{id}/restriction") >= 1,
        "{stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llama_index_confluence_reader_reads_a_space_and_a_subtree() {
    let what = "llama-index ConfluenceReader";
    let Some(python) = venv("llamaindex", what, &[]).await else {
        return;
    };
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let contents = d["contents"].as_array().unwrap();
    let current_page = |c: &Value| c["type"] == "page" && c["status"] == "current";
    // The space with a folder (pages under it are reached only through child/folder).
    let space = d["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            contents.iter().any(|c| {
                c["spaceId"] == s["id"] && c["type"] == "folder" && c["status"] == "current"
            })
        })
        .expect("a space with a folder");
    let pages: BTreeMap<String, Value> = contents
        .iter()
        .filter(|c| c["spaceId"] == space["id"] && current_page(c))
        .map(|c| {
            // Words of plain paragraphs (no markup inside), which every HTML-to-text keeps whole.
            let body = current_body(c);
            let mut words = Vec::new();
            for part in body.split("<p>").skip(1) {
                if let Some(end) = part.find("</p>") {
                    let p = &part[..end];
                    if !p.contains('<') && !p.contains('&') {
                        words.extend(storage_words(p));
                    }
                }
            }
            words.truncate(6);
            (
                c["id"].to_string(),
                json!({"title": c["title"], "words": words}),
            )
        })
        .collect();
    assert!(
        pages
            .values()
            .filter(|p| !p["words"].as_array().unwrap().is_empty())
            .count()
            > 3,
        "pages with words to look for"
    );
    // The subtree of the homepage: pages below it, through folders (current ones only).
    let root = space["homepageId"].clone();
    let mut subtree = Vec::new();
    let mut todo = vec![root.clone()];
    while let Some(p) = todo.pop() {
        for c in contents
            .iter()
            .filter(|c| c["parentId"] == p && c["status"] == "current")
        {
            if c["type"] == "page" {
                subtree.push(c["id"].to_string());
            }
            if c["type"] == "page" || c["type"] == "folder" {
                todo.push(c["id"].clone());
            }
        }
    }
    let under_folder = contents.iter().any(|c| {
        current_page(c)
            && contents.iter().any(|f| {
                f["id"] == c["parentId"] && f["type"] == "folder" && f["status"] == "current"
            })
            && subtree.contains(&c["id"].to_string())
    });
    assert!(under_folder, "the subtree reaches a page through a folder");
    let expected = json!({
        "url": twin.base,
        "username": ADMIN.0,
        "password": ADMIN.1,
        "space": space["key"],
        "pages": pages,
        "root": root.to_string(),
        "subtree": subtree,
    });
    let stdout = run_script(python, "llamaindex", "reader.py", &twin, &expected).await;
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok: ")).count(),
        5,
        "every check ran:\n{stdout}"
    );
}
