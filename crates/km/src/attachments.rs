//! Attachment text: the files extract downloaded (`extract --files`, content-addressed, in
//! `attachment_files`) read and turned into text for the index, with their container article.
//! Plain text, Markdown and CSV are read as UTF-8; HTML has its tags removed and entities
//! decoded; other types (images, PDF, Office) are recorded as `unsupported` (no text).

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
    /// `text`, `html`, `unsupported`, `no file` (not downloaded), or `error: …`.
    pub extraction: String,
    pub text: Option<String>,
}

/// The current attachments per container id, their text extracted from `files` (the folder
/// given to `extract --files`); without a folder, no text.
pub async fn load(
    store: &Store,
    files: Option<&Path>,
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
    Ok(None)
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
        assert!(extract_text("a.txt", None, &[0xff, 0xfe, 0x00]).is_err());
    }
}
