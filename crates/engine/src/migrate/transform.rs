//! What the codecs leave symbolic, resolved for one target: links between migrated pages become
//! links to the pages' Confluence titles (or stay Notion URLs when the page is not migrated),
//! Notion-hosted files become attachments of the page. Pure: no I/O.

use std::collections::{BTreeMap, HashMap};

use kb_doc::visit::{VisitMut, visit_document};
use kb_doc::{Attrs, Block, Document, FileRef, Image, ImageSource, Inline, LinkTarget};

/// A Notion id in one spelling: 32 lower-case hex digits, no dashes. `None` if `s` is not one.
pub fn norm_id(s: &str) -> Option<String> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    (hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| hex.to_lowercase())
}

/// The Notion id a link URL points at: `https://www.notion.so/Title-<id>`, `notion.so/<id>`,
/// or the relative `/<id>` Notion itself writes for page links.
pub fn notion_url_id(url: &str) -> Option<String> {
    let rest = if let Some(r) = url.strip_prefix('/') {
        r
    } else {
        let after = url.split_once("://").map(|(_, r)| r)?;
        let (host, path) = after.split_once('/')?;
        if !(host == "notion.so" || host.ends_with(".notion.so") || host.ends_with(".notion.site"))
        {
            return None;
        }
        path
    };
    let path = rest.split(['?', '#']).next()?;
    let last = path.rsplit('/').next()?;
    let tail = last.rsplit('-').next()?;
    norm_id(tail).or_else(|| norm_id(last))
}

/// The public URL of a Notion page, for links to pages outside the migrated set.
pub fn notion_url(id: &str) -> String {
    format!(
        "https://www.notion.so/{}",
        norm_id(id).unwrap_or_else(|| id.to_string())
    )
}

/// A file the page needs as an attachment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileNeed {
    /// The attachment's file name on the page (unique on the page).
    pub filename: String,
    /// Where to download it now (a signed URL that expires).
    pub url: String,
    /// What identifies the bytes across runs: the URL without its query (Notion's signed URLs
    /// change on every read; the path names the stored file).
    pub key: String,
    /// The Notion block that holds the file, to ask for a fresh URL when this one expired.
    pub block_id: Option<String>,
}

/// What [`prepare`] found.
#[derive(Clone, Debug, Default)]
pub struct Prepared {
    pub files: Vec<FileNeed>,
    /// Links resolved to a migrated page, by Notion id (normalised).
    pub internal_links: Vec<String>,
    /// Links to Notion pages outside the migrated set, kept as Notion URLs.
    pub external_notion_links: usize,
    /// Mentions of Notion users, written as their names (`@Name`): a Notion user id is no
    /// Confluence account, and a mention of it would show as an unknown user.
    pub user_mentions: usize,
}

/// Resolves `doc` for Confluence space `space_key`: `titles` maps every migrated page's Notion
/// id (normalised, [`norm_id`]) to its title in Confluence.
pub fn prepare(doc: &mut Document, titles: &HashMap<String, String>, space_key: &str) -> Prepared {
    let mut v = Resolve {
        titles,
        space_key,
        out: Prepared::default(),
        names: BTreeMap::new(),
    };
    visit_document(doc, &mut v);
    v.out
}

struct Resolve<'a> {
    titles: &'a HashMap<String, String>,
    space_key: &'a str,
    out: Prepared,
    /// File name → key, to keep names unique on the page.
    names: BTreeMap<String, String>,
}

impl Resolve<'_> {
    fn page(&mut self, id: &str) -> LinkTarget {
        match self.titles.get(id) {
            Some(title) => {
                self.out.internal_links.push(id.to_string());
                LinkTarget::Page {
                    title: Some(title.clone()),
                    space_key: Some(self.space_key.to_string()),
                    id: None,
                    attrs: Attrs::new(),
                }
            }
            None => {
                self.out.external_notion_links += 1;
                LinkTarget::Url {
                    url: notion_url(id),
                }
            }
        }
    }

    fn target(&mut self, t: &mut LinkTarget) {
        let id = match t {
            LinkTarget::Page { id: Some(id), .. } => norm_id(id),
            LinkTarget::Url { url } => notion_url_id(url),
            _ => None,
        };
        if let Some(id) = id {
            *t = self.page(&id);
        }
    }

    /// The attachment name for a hosted file at `url`, registering the need once per file.
    fn file(&mut self, url: &str, attrs: &Attrs) -> String {
        let key = url.split('?').next().unwrap_or(url).to_string();
        if let Some((name, _)) = self.names.iter().find(|(_, k)| **k == key) {
            return name.clone();
        }
        let base = attrs
            .get("notion:name")
            .cloned()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| file_name(&key));
        let mut name = base.clone();
        let mut n = 2;
        while self.names.contains_key(&name) {
            name = numbered(&base, n);
            n += 1;
        }
        self.names.insert(name.clone(), key.clone());
        self.out.files.push(FileNeed {
            filename: name.clone(),
            url: url.to_string(),
            key,
            block_id: attrs.get("notion:id").cloned(),
        });
        name
    }
}

fn hosted(attrs: &Attrs) -> bool {
    attrs.get("notion:source").is_some_and(|s| s == "file")
}

impl Resolve<'_> {
    /// A hosted image becomes an attachment of the page.
    fn image(&mut self, img: &mut Image) {
        if hosted(&img.attrs)
            && let ImageSource::Url { url } = &img.source
        {
            let url = url.clone();
            img.source = ImageSource::Attachment {
                filename: self.file(&url, &img.attrs),
                container: None,
                attrs: Attrs::new(),
            };
        }
    }

    /// A link or file reference: to a hosted file, an attachment; to a Notion page, resolved.
    fn link(&mut self, t: &mut LinkTarget, attrs: &Attrs) {
        match t {
            LinkTarget::Url { url } if hosted(attrs) => {
                let url = url.clone();
                *t = attachment(self.file(&url, attrs));
            }
            _ => self.target(t),
        }
    }
}

fn attachment(filename: String) -> LinkTarget {
    LinkTarget::Attachment {
        filename,
        container: None,
        attrs: Attrs::new(),
    }
}

impl VisitMut for Resolve<'_> {
    fn block(&mut self, b: &mut Block) {
        match b {
            Block::Image(img) => self.image(img),
            Block::File(f) => self.link(&mut f.target, &f.attrs),
            // A hosted video or audio file: Confluence has no player for an expiring URL, so
            // the file is attached and shown as a file.
            Block::Embed(e) if hosted(&e.attrs) => {
                let url = e.url.clone();
                let target = attachment(self.file(&url, &e.attrs));
                *b = Block::File(FileRef {
                    target,
                    caption: e.caption.take(),
                    params: Default::default(),
                    attrs: std::mem::take(&mut e.attrs),
                });
            }
            _ => {}
        }
    }

    fn inline(&mut self, i: &mut Inline) {
        match i {
            Inline::Link(l) if matches!(l.target, LinkTarget::User { .. }) => {
                // A Notion user: the storage writer writes a named one as its name; one Notion
                // did not name keeps its id, visibly (never a mention of an unknown account).
                if l.attrs
                    .get("notion:name")
                    .is_none_or(|n| n.trim().is_empty())
                {
                    let name = match &l.target {
                        LinkTarget::User {
                            account_id: Some(id),
                            ..
                        } => {
                            format!("(Notion user {id})")
                        }
                        _ => "(a Notion user)".to_string(),
                    };
                    l.attrs.insert("notion:name".into(), name);
                }
                self.out.user_mentions += 1;
            }
            Inline::Link(l) => self.link(&mut l.target, &l.attrs),
            Inline::Image(img) => self.image(img),
            _ => {}
        }
    }
}

/// The last path segment of a URL, percent-decoded, made safe as an attachment name.
fn file_name(url_path: &str) -> String {
    let last = url_path.rsplit('/').next().unwrap_or_default();
    let decoded = kb_http::percent_decode(last);
    let clean: String = decoded
        .chars()
        .map(|c| {
            if c.is_control() || c == '/' || c == '\\' {
                '_'
            } else {
                c
            }
        })
        .collect();
    if clean.trim().is_empty() {
        "file".into()
    } else {
        clean
    }
}

fn numbered(base: &str, n: usize) -> String {
    match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem} ({n}).{ext}"),
        _ => format!("{base} ({n})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_urls() {
        let id = "2712e341754a4b6f9c3d8e0f1a2b3c4d";
        assert_eq!(notion_url_id(&format!("/{id}")).as_deref(), Some(id));
        assert_eq!(
            notion_url_id(&format!("https://www.notion.so/Team-Home-{id}?pvs=4")).as_deref(),
            Some(id)
        );
        assert_eq!(
            notion_url_id("https://example.com/2712e341754a4b6f9c3d8e0f1a2b3c4d"),
            None
        );
        assert_eq!(
            norm_id("2712E341-754a-4b6f-9c3d-8e0f1a2b3c4d").as_deref(),
            Some(id)
        );
    }

    #[test]
    fn links_resolve_or_stay_notion_urls_and_files_become_attachments() {
        let inside = "11111111111111111111111111111111";
        let outside = "22222222222222222222222222222222";
        let json = serde_json::json!([
            {"object":"block","id":"33333333-3333-3333-3333-333333333333","type":"paragraph","paragraph":{"rich_text":[
                {"type":"mention","mention":{"type":"page","page":{"id":inside}},"plain_text":"In","annotations":{}},
                {"type":"text","text":{"content":"out","link":{"url":format!("/{outside}")}},"plain_text":"out","annotations":{}}
            ]}},
            {"object":"block","id":"44444444-4444-4444-4444-444444444444","type":"image","image":{"type":"file","file":{"url":"https://files.example/s3/abc/diagram%201.png?X-Amz=1","expiry_time":"2026-01-01T00:00:00.000Z"}}},
            {"object":"block","id":"55555555-5555-5555-5555-555555555555","type":"image","image":{"type":"file","file":{"url":"https://files.example/s3/def/diagram%201.png?X-Amz=2","expiry_time":"2026-01-01T00:00:00.000Z"}}}
        ]);
        let blocks: Vec<kb_doc::notion::model::Block> = serde_json::from_value(json).unwrap();
        let mut doc = kb_doc::notion::read_blocks(&blocks);
        let titles = HashMap::from([(inside.to_string(), "Inside page".to_string())]);
        let p = prepare(&mut doc, &titles, "ENG");
        assert_eq!(p.internal_links, vec![inside.to_string()]);
        assert_eq!(p.external_notion_links, 1);
        let names: Vec<&str> = p.files.iter().map(|f| f.filename.as_str()).collect();
        assert_eq!(names, ["diagram 1.png", "diagram 1 (2).png"]);
        assert_eq!(
            p.files[0].key,
            "https://files.example/s3/abc/diagram%201.png"
        );
        let storage = kb_doc::storage::write(&doc);
        assert!(
            storage.contains("ri:content-title=\"Inside page\" ri:space-key=\"ENG\""),
            "{storage}"
        );
        assert!(
            storage.contains(&format!("https://www.notion.so/{outside}")),
            "{storage}"
        );
        assert!(
            storage.contains("<ri:attachment ri:filename=\"diagram 1 (2).png\""),
            "{storage}"
        );
        assert!(!storage.contains("X-Amz"), "no signed URL left: {storage}");
    }
}
