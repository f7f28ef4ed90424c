//! Reading a Notion tree: the root page or database, its nested subpages and databases, and
//! every database's rows, in document order (parents before children), each read into the IR.

use kb_doc::Document;
use kb_doc::notion::model::{Block as NBlock, Database, Page};
use kb_notion::{Notion, NotionError};

use super::transform::norm_id;

/// What a node of the migrated tree is in Notion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Page,
    Database,
    Row,
}

/// One page (or database) to migrate.
#[derive(Clone, Debug)]
pub struct Node {
    /// The Notion id, normalised (32 lower-case hex digits).
    pub id: String,
    pub kind: NodeKind,
    /// The parent node's index in the walk (`None` for the root).
    pub parent: Option<usize>,
    /// The Notion title (may be empty).
    pub title: String,
    /// The page read into the IR (a row: its properties as a Page Properties table first).
    pub doc: Document,
    /// The label a database's rows carry (databases and rows).
    pub db_label: Option<String>,
    /// The database schema's property names other than the title (databases).
    pub headings: Vec<String>,
    /// The words of the page's blocks, read from their rich text without kb-doc's reader
    /// (`verify` requires each on the migrated page).
    pub source_words: Vec<String>,
}

/// A page or database still to read.
struct Pending {
    id: String,
    /// `None` for the root, whose kind is asked.
    kind: Option<NodeKind>,
    /// The parent node's index.
    parent: Option<usize>,
    /// The database label, for rows.
    label: Option<String>,
    /// The page when already known: a row from its database's query, a subpage from its
    /// `child_page` block (which holds the title).
    known: Option<Page>,
}

/// Reads the tree below `root` (a page or database id).
pub async fn walk(notion: &Notion, root: &str) -> Result<Vec<Node>, NotionError> {
    let mut out: Vec<Node> = Vec::new();
    let mut stack = vec![Pending {
        id: root.to_string(),
        kind: None,
        parent: None,
        label: None,
        known: None,
    }];
    while let Some(Pending {
        id,
        kind,
        parent,
        label,
        known,
    }) = stack.pop()
    {
        let (kind, known) = match kind {
            Some(k) => (k, known),
            None => root_kind(notion, &id).await?,
        };
        let index = out.len();
        let mut children: Vec<(String, NodeKind, Option<String>)> = Vec::new();
        match kind {
            NodeKind::Page | NodeKind::Row => {
                let mut page = match known {
                    Some(mut p) => {
                        if kind == NodeKind::Row {
                            notion.complete_properties(&mut p).await?;
                        }
                        p
                    }
                    None => notion.page(&id).await?,
                };
                let blocks = notion.block_tree(&id).await?;
                subdocuments(&blocks, &mut children);
                page.children = blocks;
                let doc = kb_doc::notion::read_page(&page);
                let source_words = super::words::notion_words(&page.children, true);
                out.push(Node {
                    id: norm_id(&page.id).unwrap_or_else(|| page.id.clone()),
                    kind,
                    parent,
                    title: page.title(),
                    doc,
                    db_label: label,
                    headings: Vec::new(),
                    source_words,
                });
            }
            NodeKind::Database => {
                let db = notion.database(&id).await?;
                let schema = schema(notion, &db).await?;
                let rows = notion.database_rows(&db).await?;
                let db_label = kb_doc::notion::database_label(&db);
                let headings: Vec<String> = schema
                    .properties
                    .iter()
                    .filter(|(_, cfg)| {
                        cfg.get("type").and_then(serde_json::Value::as_str) != Some("title")
                    })
                    .map(|(n, _)| n.clone())
                    .collect();
                let title: String = db.title.iter().map(|r| r.plain()).collect();
                let mut report_src = schema.clone();
                report_src.title = db.title.clone();
                let doc = Document {
                    blocks: vec![kb_doc::notion::database_report(&report_src)],
                };
                out.push(Node {
                    id: norm_id(&db.id).unwrap_or_else(|| db.id.clone()),
                    kind,
                    parent,
                    title,
                    doc,
                    db_label: Some(db_label.clone()),
                    headings,
                    source_words: Vec::new(),
                });
                // Rows in the query's order, after any child pages of the database.
                for r in rows.into_iter().rev() {
                    stack.push(Pending {
                        id: r.id.clone(),
                        kind: Some(NodeKind::Row),
                        parent: Some(index),
                        label: Some(db_label.clone()),
                        known: Some(r),
                    });
                }
            }
        }
        for (cid, ckind, title) in children.into_iter().rev() {
            // A subpage's `child_page` block says all a page without properties needs.
            let known = title
                .filter(|_| ckind == NodeKind::Page)
                .map(|t| titled(&cid, &t));
            stack.push(Pending {
                id: cid,
                kind: Some(ckind),
                parent: Some(index),
                label: None,
                known,
            });
        }
    }
    Ok(out)
}

/// Whether `id` is a page (then with the page) or a database: asked as a page first.
async fn root_kind(notion: &Notion, id: &str) -> Result<(NodeKind, Option<Page>), NotionError> {
    match notion.page(id).await {
        Ok(p) => Ok((NodeKind::Page, Some(p))),
        Err(e) if matches!(e.status(), Some(400 | 404)) => match notion.database(id).await {
            Ok(_) => Ok((NodeKind::Database, None)),
            Err(_) => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// The database's property schema: on 2025-09-03 the first data source holds it.
async fn schema(notion: &Notion, db: &Database) -> Result<Database, NotionError> {
    if !db.properties.is_empty() {
        return Ok(db.clone());
    }
    match db
        .data_sources
        .first()
        .and_then(|d| d.get("id"))
        .and_then(serde_json::Value::as_str)
    {
        Some(ds) => notion.data_source(ds).await,
        None => Ok(db.clone()),
    }
}

/// The child pages and databases shown in `blocks`, in document order, at any depth.
fn subdocuments<'a>(
    blocks: impl IntoIterator<Item = &'a NBlock>,
    out: &mut Vec<(String, NodeKind, Option<String>)>,
) {
    for b in blocks {
        let title = b.data.as_ref().and_then(|d| d.title.clone());
        match (b.kind.as_str(), &b.id) {
            ("child_page", Some(id)) => out.push((id.clone(), NodeKind::Page, title)),
            ("child_database", Some(id)) => out.push((id.clone(), NodeKind::Database, title)),
            _ => subdocuments(b.all_children(), out),
        }
    }
}

/// A page known only by id and title (a subpage: pages outside databases have no other
/// properties).
fn titled(id: &str, title: &str) -> Page {
    let rich =
        serde_json::json!([{"type": "text", "text": {"content": title}, "plain_text": title}]);
    let prop = kb_doc::notion::model::PropertyValue {
        id: Some("title".into()),
        kind: "title".into(),
        rest: serde_json::Map::from_iter([("title".to_string(), rich)]),
    };
    Page {
        id: id.to_string(),
        properties: kb_doc::notion::model::indexmap_lite::OrderedMap(vec![("title".into(), prop)]),
        ..Page::default()
    }
}
