//! Attachment text: the files extract downloaded (`extract --files`, content-addressed, in
//! `attachment_files`) read and turned into text for the index, with their container article.
//! Plain text, Markdown and CSV are read as UTF-8; HTML has its tags removed and entities
//! decoded; PDF text comes from `lopdf`, Word (`.docx`) text from its `word/document.xml`; other
//! types (images, spreadsheets, presentations) are recorded as `unsupported` (no text).

use std::collections::HashMap;
use std::path::Path;

use kb_store::{Filter, Store, StoreError};

use crate::util::text;

/// One attachment of a container, with its text when it has some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentText {
    pub id: String,
    pub file_name: String,
    pub media_type: Option<String>,
    pub sha256: Option<String>,
    pub size: Option<i64>,
    pub path: Option<String>,
    /// `text`, `html`, `pdf`, `docx`, `unsupported`, `no file` (not downloaded), `not read`
    /// (text extraction turned off), or `error: …`.
    pub extraction: String,
    pub text: Option<String>,
    /// When it was first uploaded, its version's time and author, and the version.
    pub created: Option<String>,
    pub modified: Option<String>,
    pub author: Option<String>,
    pub version: Option<i64>,
    /// Its page in Confluence and its download path (site-relative).
    pub webui: Option<String>,
    pub download: Option<String>,
}

/// The current attachments per container id, their text extracted from `files` (the folder
/// given to `extract --files`) when `read_text`; without a folder, no text.
pub async fn load(
    store: &Store,
    files: Option<&Path>,
    read_text: bool,
) -> Result<HashMap<String, Vec<AttachmentText>>, StoreError> {
    let rows = store
        .select(
            "attachments",
            &[
                "id",
                "status",
                "title",
                "page_id",
                "blog_post_id",
                "media_type",
                "created_at",
                "version_created_at",
                "version_author_id",
                "version_number",
                "webui_link",
                "download_link",
            ],
            &Filter::all().eq("status", "current"),
        )
        .await?;
    let ids: Vec<&str> = rows.iter().filter_map(|r| r.first()?.as_str()).collect();
    let mut stored: HashMap<String, kb_store::AttachmentFile> = HashMap::new();
    for chunk in ids.chunks(500) {
        for f in store.attachment_files(chunk).await? {
            stored.insert(f.attachment_id.clone(), f);
        }
    }
    let mut out: HashMap<String, Vec<AttachmentText>> = HashMap::new();
    for r in &rows {
        let (Some(id), Some(name)) = (text(r.first()), text(r.get(2))) else {
            continue;
        };
        let Some(container) = text(r.get(3)).or_else(|| text(r.get(4))) else {
            continue;
        };
        let media = text(r.get(5));
        let file = stored.get(&id);
        let (extraction, body) = match (files, file) {
            _ if !read_text => ("not read".to_string(), None),
            (Some(dir), Some(f)) => match std::fs::read(dir.join(&f.path)) {
                Ok(bytes) => match extract_text(&name, media.as_deref(), &bytes) {
                    Ok(Some((kind, t))) => (kind.to_string(), Some(t)),
                    Ok(None) => ("unsupported".to_string(), None),
                    Err(e) => (format!("error: {e}"), None),
                },
                Err(e) => (format!("error: cannot read {}: {e}", f.path), None),
            },
            _ => ("no file".to_string(), None),
        };
        out.entry(container).or_default().push(AttachmentText {
            id,
            file_name: name,
            media_type: media,
            sha256: file.map(|f| f.sha256.clone()),
            size: file.map(|f| f.size),
            path: file.map(|f| f.path.clone()),
            extraction,
            text: body,
            created: text(r.get(6)),
            modified: text(r.get(7)),
            author: text(r.get(8)),
            version: r.get(9).and_then(serde_json::Value::as_i64),
            webui: text(r.get(10)),
            download: text(r.get(11)),
        });
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| a.id.cmp(&b.id));
    }
    Ok(out)
}

/// The text of a file by its name and media type: `Ok(None)` for a type km does not read.
pub fn extract_text(
    name: &str,
    media_type: Option<&str>,
    bytes: &[u8],
) -> Result<Option<(&'static str, String)>, String> {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let media = media_type.unwrap_or("").to_ascii_lowercase();
    let utf8 = || {
        std::str::from_utf8(bytes)
            .map(|s| s.trim_start_matches('\u{feff}').to_string())
            .map_err(|e| format!("{name} is not UTF-8 text: {e}"))
    };
    if matches!(ext.as_str(), "html" | "htm") || media == "text/html" {
        return Ok(Some(("html", strip_html(&utf8()?))));
    }
    if matches!(
        ext.as_str(),
        "txt" | "md" | "markdown" | "csv" | "log" | "json"
    ) || media.starts_with("text/")
    {
        return Ok(Some(("text", utf8()?)));
    }
    if ext == "pdf" || media == "application/pdf" {
        return pdf_text(bytes)
            .map(|t| Some(("pdf", t)))
            .map_err(|e| format!("{name} is not a readable PDF: {e}"));
    }
    if ext == "docx"
        || media == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    {
        return docx_text(bytes)
            .map(|t| Some(("docx", t)))
            .map_err(|e| format!("{name} is not a readable Word document: {e}"));
    }
    Ok(None)
}

/// The text of every page of a PDF, pages separated by a blank line.
fn pdf_text(bytes: &[u8]) -> Result<String, String> {
    let doc = lopdf::Document::load_mem(bytes).map_err(|e| e.to_string())?;
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let mut out = Vec::with_capacity(pages.len());
    for n in pages {
        let t = doc
            .extract_text(&[n])
            .map_err(|e| format!("page {n}: {e}"))?;
        out.push(t.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    Ok(out.join("\n\n"))
}

/// The text of a Word document: the runs (`w:t`) of `word/document.xml`, a line per paragraph,
/// tabs and breaks kept as whitespace.
fn docx_text(bytes: &[u8]) -> Result<String, String> {
    use quick_xml::events::Event;
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .map_err(|e| format!("word/document.xml: {e}"))?
        .read_to_string(&mut xml)
        .map_err(|e| format!("word/document.xml: {e}"))?;
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut out = String::new();
    let mut in_text = false;
    loop {
        match reader
            .read_event()
            .map_err(|e| format!("word/document.xml: {e}"))?
        {
            Event::Start(e) if e.name().as_ref() == "w:t" => in_text = true,
            Event::End(e) => match e.name().as_ref() {
                "w:t" => in_text = false,
                "w:p" => out.push('\n'),
                _ => {}
            },
            Event::Empty(e) => match e.name().as_ref() {
                "w:tab" => out.push('\t'),
                "w:br" | "w:cr" => out.push('\n'),
                _ => {}
            },
            Event::Text(t) if in_text => out.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_text => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    out.push(c);
                } else {
                    let name: &str = &r;
                    if let Some(c) = quick_xml::escape::resolve_predefined_entity(name) {
                        out.push_str(c);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out.trim_end().to_string())
}

/// Text of HTML: tags, comments, scripts and styles removed, common entities decoded.
fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let lower = tail.get(..8).unwrap_or(tail).to_ascii_lowercase();
        let end = if tail.starts_with("<!--") {
            tail.find("-->").map(|e| e + 3)
        } else if lower.starts_with("<script") || lower.starts_with("<style") {
            let close = if lower.starts_with("<script") {
                "</script>"
            } else {
                "</style>"
            };
            tail.to_ascii_lowercase()
                .find(close)
                .map(|e| e + close.len())
        } else {
            tail.find('>').map(|e| e + 1)
        };
        match end {
            Some(e) => {
                out.push(' ');
                rest = &tail[e..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_of_txt_md_csv_and_html() {
        let t = |n: &str, b: &str| {
            extract_text(n, None, b.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(
            t("a.txt", "plain words"),
            Some(("text", "plain words".into()))
        );
        assert_eq!(
            t("a.md", "# Title\nbody"),
            Some(("text", "# Title\nbody".into()))
        );
        assert_eq!(t("a.csv", "k,v\nx,1"), Some(("text", "k,v\nx,1".into())));
        assert_eq!(
            t(
                "a.html",
                "<html><head><style>p{}</style></head><body><p>Fish &amp; chips</p><!-- x --><script>var a</script></body></html>"
            ),
            Some(("html", "Fish & chips".into()))
        );
        assert_eq!(t("a.png", "\u{89}PNG"), None);
        assert!(extract_text("a.pdf", None, b"%PDF-1.4 not really").is_err());
        assert!(extract_text("a.docx", None, b"PK not a zip").is_err());
        assert!(extract_text("a.txt", None, &[0xff, 0xfe, 0x00]).is_err());
    }

    #[test]
    fn text_of_pdf_and_docx_written_by_other_code() {
        let lines = vec![
            "Quarterly runbook review".to_string(),
            "Rotate the signing keys & check 'quotes'".to_string(),
        ];
        let pdf = kb_sim::files::pdf(&lines);
        let (kind, t) = extract_text("review.pdf", Some("application/pdf"), &pdf)
            .unwrap()
            .unwrap();
        assert_eq!(kind, "pdf");
        for l in &lines {
            assert!(t.contains(l.as_str()), "{l:?} in {t:?}");
        }
        let docx = kb_sim::files::docx(&lines).unwrap();
        let (kind, t) = extract_text("review.docx", None, &docx).unwrap().unwrap();
        assert_eq!(kind, "docx");
        assert_eq!(t, lines.join("\n"));
    }
}
