//! Tables computed from the parent links of the stored pages, without a request per page:
//! `child_pages` (the direct children of each page, as `GET /pages/{id}/children` would list
//! them) and `page_ancestors` (highest first, as `GET /pages/{id}/ancestors`). Folders between
//! pages are read once each (`GET /folders/{id}`), since no page row describes them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use kb_store::{Batch, Filter, Row};
use serde_json::{Value, json};

use super::content::SpaceRef;
use super::run::Ctx;
use super::{ExtractError, Progress, Result};

#[derive(Clone, Debug)]
struct Node {
    parent: Option<String>,
    parent_type: Option<String>,
    position: Option<i64>,
    title: Value,
    status: Value,
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

const TREE_COLUMNS: &[&str] = &[
    "id",
    "parent_id",
    "parent_type",
    "position",
    "title",
    "status",
];

fn node(r: &[Value]) -> Option<(String, Node)> {
    Some((
        text(r.first())?,
        Node {
            parent: text(r.get(1)),
            parent_type: text(r.get(2)),
            position: r.get(3).and_then(Value::as_i64),
            title: r.get(4).cloned().unwrap_or(Value::Null),
            status: r.get(5).cloned().unwrap_or(Value::Null),
        },
    ))
}

/// Rewrites `child_pages` and `page_ancestors` rows of the pages of one space: of every page
/// (`affected` = `None`, after a full listing), or of the pages re-read by an incremental run
/// and everything below them (a moved or trashed page changes its subtree's ancestors).
/// A full rewrite walks the space 500 pages at a time, reading the parents above them from the
/// store, so memory does not grow with the space; commits are of 500 pages.
pub(crate) async fn page_tree(
    ctx: &Ctx,
    space: &SpaceRef,
    affected: Option<&[String]>,
) -> Result<()> {
    if !ctx.opts.wants_any(&["child_pages", "page_ancestors"]) {
        return Ok(());
    }
    let what = format!("page tree of {}", space.key);
    ctx.progress(Progress::Phase { what: what.clone() });
    let in_space = Filter::all().eq("space_id", space.id.as_str());
    let read_err = || ExtractError::store(format!("reading the pages of {}", space.key));
    let mut tree = Tree::default();
    match affected {
        None => {
            let mut after: Option<Value> = None;
            loop {
                let rows = ctx
                    .store
                    .select_page("pages", TREE_COLUMNS, &in_space, after.as_ref(), Some(500))
                    .await
                    .map_err(read_err())?;
                let Some(last) = rows.last() else { break };
                after = last.first().cloned();
                let mut pages: BTreeMap<String, Node> =
                    rows.iter().filter_map(|r| node(r)).collect();
                let targets: Vec<String> = pages.keys().cloned().collect();
                // The pages above this chunk, level by level.
                loop {
                    let missing: BTreeSet<String> = pages
                        .values()
                        .filter(|n| n.parent_type.as_deref() == Some("page"))
                        .filter_map(|n| n.parent.clone())
                        .filter(|p| !pages.contains_key(p))
                        .collect();
                    if missing.is_empty() {
                        break;
                    }
                    let found = ctx
                        .store
                        .select(
                            "pages",
                            TREE_COLUMNS,
                            &in_space
                                .clone()
                                .any("id", missing.iter().map(String::as_str)),
                        )
                        .await
                        .map_err(read_err())?;
                    let before = pages.len();
                    pages.extend(found.iter().filter_map(|r| node(r)));
                    if pages.len() == before {
                        break;
                    }
                }
                tree.write(ctx, space, &mut pages, &targets, &what).await?;
            }
        }
        Some(ids) => {
            let rows = ctx
                .store
                .select("pages", TREE_COLUMNS, &in_space)
                .await
                .map_err(read_err())?;
            let mut pages: BTreeMap<String, Node> = rows.iter().filter_map(|r| node(r)).collect();
            // The affected pages and their descendants.
            let targets: Vec<String> = {
                let mut kids: HashMap<&str, Vec<&str>> = HashMap::new();
                for (id, n) in &pages {
                    if let Some(p) = &n.parent {
                        kids.entry(p.as_str()).or_default().push(id.as_str());
                    }
                }
                let mut out: BTreeSet<String> = BTreeSet::new();
                let mut todo: Vec<&str> = ids.iter().map(String::as_str).collect();
                while let Some(id) = todo.pop() {
                    if out.insert(id.to_string()) {
                        todo.extend(kids.get(id).into_iter().flatten().copied());
                    }
                }
                out.into_iter().collect()
            };
            for chunk in targets.chunks(500) {
                tree.write(ctx, space, &mut pages, chunk, &what).await?;
            }
        }
    }
    ctx.rows("child_pages", tree.children);
    ctx.rows("page_ancestors", tree.ancestors);
    ctx.progress(Progress::PhaseDone { what });
    Ok(())
}

/// The folders read so far and the rows written.
#[derive(Default)]
struct Tree {
    folders: HashMap<String, kb_confluence::FolderInfo>,
    /// Parents not stored in the space.
    absent: HashSet<String>,
    children: u64,
    ancestors: u64,
}

impl Tree {
    /// Rewrites the rows of `targets` (one commit), their parents found in `pages`.
    async fn write(
        &mut self,
        ctx: &Ctx,
        space: &SpaceRef,
        pages: &mut BTreeMap<String, Node>,
        targets: &[String],
        what: &str,
    ) -> Result<()> {
        let want_children = ctx.opts.wants("child_pages");
        let want_ancestors = ctx.opts.wants("page_ancestors");
        let live = |n: &Node| matches!(n.status.as_str(), Some("current" | "archived"));
        let mut batch = Batch::new();
        for id in targets {
            let Some(n) = pages.get(id).cloned() else {
                // No longer in this space (purged or moved away): its rows go.
                batch.replace_set(
                    "child_pages",
                    Filter::all().eq("id", id.as_str()),
                    Vec::new(),
                );
                batch.replace_set(
                    "page_ancestors",
                    Filter::all().eq("page_id", id.as_str()),
                    Vec::new(),
                );
                continue;
            };
            if want_children {
                let mut rows = Vec::new();
                if let (Some(parent), Some("page")) = (&n.parent, n.parent_type.as_deref())
                    && live(&n)
                {
                    rows.push(
                        Row::new(
                            "child_pages",
                            json!({
                                "id": id,
                                "status": n.status,
                                "title": n.title,
                                "spaceId": space.id,
                                "childPosition": n.position,
                            }),
                        )
                        .with("parent_id", parent.as_str()),
                    );
                }
                self.children += rows.len() as u64;
                batch.replace_set("child_pages", Filter::all().eq("id", id.as_str()), rows);
            }
            if want_ancestors {
                // Walk up: pages from the map, folders from the API (once each).
                // (id, type, folder title): a folder has no row of its own, so its title is
                // kept in the ancestor row's raw (km's parent-title category reads it).
                let mut chain: Vec<(String, String, Option<String>)> = Vec::new();
                let mut cur = n.parent.clone().zip(n.parent_type.clone());
                while let Some((pid, ptype)) = cur {
                    if chain.iter().any(|(c, _, _)| *c == pid) || chain.len() > 1000 {
                        ctx.warn(format!("page {id}: its parent chain loops at {pid}"));
                        break;
                    }
                    let at = chain.len();
                    chain.push((pid.clone(), ptype.clone(), None));
                    cur = match ptype.as_str() {
                        "page" => {
                            if !pages.contains_key(&pid) && !self.absent.contains(&pid) {
                                // Above a folder: a page the chunk's walk did not bring.
                                match stored_page(ctx, space, &pid).await? {
                                    Some(n) => {
                                        pages.insert(pid.clone(), n);
                                    }
                                    None => {
                                        self.absent.insert(pid.clone());
                                    }
                                }
                            }
                            pages
                                .get(&pid)
                                .and_then(|p| p.parent.clone().zip(p.parent_type.clone()))
                        }
                        "folder" => {
                            if !self.folders.contains_key(&pid) {
                                let f = folder(ctx, &pid).await?;
                                self.folders.insert(pid.clone(), f);
                            }
                            let f = &self.folders[&pid];
                            chain[at].2 = f.title.clone();
                            f.parent_id.clone().zip(f.parent_type.clone())
                        }
                        _ => None,
                    };
                }
                chain.reverse();
                let rows: Vec<Row> = chain
                    .into_iter()
                    .enumerate()
                    .map(|(i, (a, t, title))| {
                        let mut raw = json!({"id": a, "type": t});
                        if let Some(title) = title {
                            raw["title"] = Value::String(title);
                        }
                        Row::new("page_ancestors", raw)
                            .with("page_id", id.as_str())
                            .with("depth", i as i64 + 1)
                    })
                    .collect();
                self.ancestors += rows.len() as u64;
                batch.replace_set(
                    "page_ancestors",
                    Filter::all().eq("page_id", id.as_str()),
                    rows,
                );
            }
        }
        ctx.commit(&batch, what).await
    }
}

/// A stored page of the space, for its parent link.
async fn stored_page(ctx: &Ctx, space: &SpaceRef, id: &str) -> Result<Option<Node>> {
    let rows = ctx
        .store
        .select(
            "pages",
            TREE_COLUMNS,
            &Filter::all().eq("space_id", space.id.as_str()).eq("id", id),
        )
        .await
        .map_err(ExtractError::store(format!("reading page {id}")))?;
    Ok(rows.first().and_then(|r| node(r)).map(|(_, n)| n))
}

/// A folder's parent and title.
async fn folder(ctx: &Ctx, id: &str) -> Result<kb_confluence::FolderInfo> {
    match ctx
        .client
        .folder(id)
        .await
        .map_err(ExtractError::http(format!("reading folder {id}")))?
    {
        Some(parent) => {
            folder_restrictions(ctx, id).await?;
            Ok(parent)
        }
        None => {
            ctx.warn(format!(
                "folder {id} could not be read (404): ancestors above it are missing"
            ));
            Ok(kb_confluence::FolderInfo::default())
        }
    }
}

/// A folder's read and update restrictions (`content/{id}/restriction/byOperation`, one request
/// per folder read): the CQL pass that brings pages' restrictions does not list folders, and a
/// restricted folder hides everything under it.
async fn folder_restrictions(ctx: &Ctx, id: &str) -> Result<()> {
    if !ctx.opts.wants("content_restrictions") {
        return Ok(());
    }
    match ctx.client.content_restrictions(id).await {
        Ok(v) => {
            let mut batch = Batch::new();
            super::content::restriction_rows_of(
                "folder",
                id,
                &json!({ "restrictions": v }),
                &mut batch,
            );
            ctx.commit(&batch, &format!("restrictions of folder {id}"))
                .await
        }
        Err(e) if e.status() == Some(404) => {
            ctx.warn(format!(
                "the restrictions of folder {id} could not be read (404): the pages under it stay hidden in km"
            ));
            Ok(())
        }
        Err(e) => Err(ExtractError::http(format!(
            "reading the restrictions of folder {id}"
        ))(e)),
    }
}
