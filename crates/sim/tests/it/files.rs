//! Generated attachments are real files: PDFs whose text a PDF library extracts, PNG and JPEG
//! images that decode, DOCX archives with their text in `word/document.xml`, CSV with one
//! header and rows of its width, and text; the twin serves them byte for byte.

use std::io::Read as _;

use kb_sim::WorkspaceConfig;
use kb_sim::generator::generate;

use crate::support::{ADMIN, Twin};

fn check(media_type: &str, bytes: &[u8], what: &str) {
    match media_type {
        "image/png" => {
            let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
                .unwrap_or_else(|e| panic!("{what}: PNG does not decode: {e}"));
            assert!(img.width() >= 4 && img.height() >= 4, "{what}");
        }
        "image/jpeg" => {
            let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg)
                .unwrap_or_else(|e| panic!("{what}: JPEG does not decode: {e}"));
            assert!(img.width() >= 8 && img.height() >= 8, "{what}");
            assert_eq!(img.width() % 8, 0, "{what}");
        }
        "application/pdf" => {
            let doc = lopdf::Document::load_mem(bytes)
                .unwrap_or_else(|e| panic!("{what}: PDF does not load: {e}"));
            let text = doc
                .extract_text(&[1])
                .unwrap_or_else(|e| panic!("{what}: no text: {e}"));
            let words = text.split_whitespace().count();
            assert!(words >= 8, "{what}: {words} words extracted: {text:?}");
        }
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes))
                .unwrap_or_else(|e| panic!("{what}: DOCX is not a zip: {e}"));
            let mut xml = String::new();
            z.by_name("word/document.xml")
                .unwrap_or_else(|e| panic!("{what}: {e}"))
                .read_to_string(&mut xml)
                .unwrap();
            assert!(
                xml.contains("<w:t xml:space=\"preserve\">"),
                "{what}: {xml}"
            );
            assert!(z.by_name("[Content_Types].xml").is_ok(), "{what}");
        }
        "text/csv" => {
            let s = std::str::from_utf8(bytes).unwrap();
            let mut lines = s.lines();
            let width = lines.next().unwrap().split(',').count();
            let mut rows = 0;
            for l in lines {
                assert_eq!(l.split(',').count(), width, "{what}: {l}");
                rows += 1;
            }
            assert!(rows >= 2, "{what}");
        }
        t if t.starts_with("text/") => {
            assert!(std::str::from_utf8(bytes).is_ok(), "{what}: not UTF-8");
        }
        _ => {}
    }
}

#[test]
fn generated_attachments_are_real_files() {
    let d = generate(&WorkspaceConfig {
        pages: 150,
        ..WorkspaceConfig::default()
    });
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for a in d.attachments.values() {
        for v in &a.versions {
            check(
                &a.media_type,
                &v.bytes.0,
                &format!("{} v{}", a.title, v.number),
            );
        }
        *kinds.entry(a.media_type.clone()).or_default() += 1;
    }
    for t in [
        "image/png",
        "image/jpeg",
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "text/csv",
        "text/plain",
    ] {
        assert!(kinds.get(t).is_some_and(|n| *n > 0), "no {t}: {kinds:?}");
    }
}

#[tokio::test]
async fn the_twin_serves_the_real_files_byte_for_byte() {
    let twin = Twin::small().await;
    let d = twin.dataset().await;
    let mut seen = std::collections::BTreeSet::new();
    for a in d["attachments"].as_array().unwrap() {
        let mt = a["mediaType"].as_str().unwrap().to_string();
        if !seen.insert(mt.clone()) {
            continue;
        }
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
        let bytes = r.bytes().await.unwrap();
        assert_eq!(
            bytes.len() as u64,
            a["versions"].as_array().unwrap().last().unwrap()["bytes"]["size"]
                .as_u64()
                .unwrap(),
            "{path}"
        );
        check(&mt, &bytes, &path);
    }
    assert!(seen.len() >= 4, "{seen:?}");
}
